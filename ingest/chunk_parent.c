/* ingest/chunk_parent.c — the parent-document chunker.
 *
 * Small chunks are good to search (a focused vector, a short BM25 field) and
 * bad to read (an answer needs the surrounding section). So each document is
 * cut twice:
 *   parents   the hard heading sections (a heading that follows content
 *             starts one, exactly where the fixed chunker cuts hard), each
 *             split by the fixed rules into windows of at most parent_tokens
 *             when longer; flat text is one section, so its parents are
 *             parent_tokens windows;
 *   children  fixed windows of child_tokens (with the collection's overlap)
 *             inside each parent, never crossing its edges.
 * Children are the chunks (searched, embedded, indexed); each carries its
 * parent's index. The parents are stored as offsets into the document text,
 * and context assembly returns a hit's parent text instead of the child's.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ingest/chunk_internal.h"

ragd_status chunk_parent_document(const ingest_doc *d, const chunk_parent_opts *o, chunk_list *out,
                                  ragd_error *err)
{
    memset(out, 0, sizeof *out);
    size_t child = o->child_tokens > 0 ? (size_t)o->child_tokens : 256;
    size_t overlap = o->overlap > 0 ? (size_t)o->overlap : 0;
    size_t ptok = o->parent_tokens > 0 ? (size_t)o->parent_tokens : 1024;
    if (ptok < child) ptok = child;
    if (overlap >= child)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--overlap (%zu) must be smaller than --chunk-tokens (%zu)", overlap,
                              child);
    chunk_ctx cx;
    chunk_ctx_init(&cx, d);
    for (size_t si = 0; si < cx.nsecs; si++) {
        chunk_list pw = {0}; /* this section's parent windows */
        chunk_windows(&cx, cx.secs[si].start, cx.secs[si].end, ptok, 0, -1, &pw);
        for (size_t k = 0; k < pw.n; k++) {
            ragd_array_grow((void **)&out->parents, &out->capparents, out->nparents + 1,
                            sizeof *out->parents);
            chunk_parent *p = &out->parents[out->nparents];
            p->start = pw.v[k].start;
            p->end = pw.v[k].end;
            p->tokens = pw.v[k].tokens;
            p->heading_path = ragd_xstrdup(pw.v[k].heading_path);
            chunk_windows(&cx, p->start, p->end, child, overlap, (int)out->nparents, out);
            out->nparents++;
        }
        chunk_list_free(&pw);
    }
    chunk_ctx_free(&cx);
    return RAGD_OK;
}
