/* ingest/chunk.c — choosing a collection's chunker, and chunk lists.
 *
 * A collection's chunker is fixed when it is created (settings.chunker):
 *   fixed     token windows with overlap (chunk_fixed.c);
 *   semantic  cuts at topic shifts found with the collection's embedder
 *             (chunk_semantic.c);
 *   parent    small children searched, whole heading sections returned
 *             (chunk_parent.c).
 * All three cut through the same machinery where they cut by size
 * (chunk_internal.h), so offsets, trimming, heading paths and the "never
 * inside a code line or table row" rule are the same everywhere.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/ingest.h"

void chunk_list_free(chunk_list *l)
{
    if (!l) return;
    for (size_t i = 0; i < l->n; i++) {
        free(l->v[i].heading_path);
        free(l->v[i].header);
    }
    for (size_t i = 0; i < l->nparents; i++)
        free(l->parents[i].heading_path);
    free(l->v);
    free(l->parents);
    memset(l, 0, sizeof *l);
}

ragd_status chunk_document(const ingest_doc *d, const ragd_settings *s, ragd_embedder *e,
                           embed_usage *usage, chunk_list *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    const char *name = s->chunker[0] ? s->chunker : "fixed";
    if (!strcmp(name, "fixed")) {
        chunk_opts o = {.max_tokens = s->chunk_tokens, .overlap = s->overlap};
        return chunk_fixed(d, &o, out, err);
    }
    if (!strcmp(name, "semantic")) {
        chunk_semantic_opts o = {
            .max_tokens = s->chunk_tokens, .percentile = s->semantic_percentile, .usage = usage};
        /* The local embedder is used at a higher dimension for chunking
         * (see CHUNK_SEMANTIC_LOCAL_DIM): pass NULL and let it make one. */
        bool local = !s->embedder[0] || !strcmp(s->embedder, "local");
        return chunk_semantic(d, &o, local ? NULL : e, out, err);
    }
    if (!strcmp(name, "parent")) {
        chunk_parent_opts o = {.child_tokens = s->chunk_tokens,
                               .overlap = s->overlap,
                               .parent_tokens = s->parent_tokens};
        return chunk_parent_document(d, &o, out, err);
    }
    return ragd_error_set(err, RAGD_EUSAGE, "unknown chunker '%s' (fixed, semantic, parent)", name);
}
