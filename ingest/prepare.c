/* ingest/prepare.c — the prepare phase of one input.
 *
 * Everything an input needs before the writer: read the file (size-
 * limited), detect its format, convert legacy 8-bit text to UTF-8, hash
 * the bytes with what else produced the stored rows, and, unless the hash
 * equals the stored one, parse, chunk, choose the summary entry's
 * sentences, embed (embed_cache.c) and ask for an LLM abstract. Runs on a
 * worker thread or inline; touches only the item and its prep_ctx.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/hash.h"
#include "ingest/encoding.h"
#include "ingest/pipeline_internal.h"
#include "retrieve/words_blob.h"

static void prep_fail(item *it, ragd_status rc)
{
    it->out = OUT_FAILED;
    it->rc = rc;
}

static void prep_skip(item *it, const char *reason, const char *why)
{
    it->out = OUT_SKIPPED;
    it->skip_reason = reason;
    ragd_error_set(&it->err, RAGD_ENOTFOUND, "%s", why);
}

/* Legacy 8-bit text (Latin-1, Windows-1252) becomes UTF-8 before it is
 * hashed and parsed (ingest/encoding.h); a guess is reported at commit. */
static void convert_legacy(item *it, const ingest_opts *o)
{
    char *u = NULL;
    size_t un = 0;
    const char *used = NULL;
    ingest_to_utf8(it->raw, it->n, o->encoding, &u, &un, &used);
    if (!used) return;
    free(it->raw);
    it->raw = u;
    it->n = un;
    if (!o->encoding || !*o->encoding || !strcmp(o->encoding, "auto")) {
        ragd_buf w = RAGD_BUF_INIT;
        ragd_buf_printf(&w,
                        "not UTF-8; converted from %s (a guess: --encoding latin-1, "
                        "windows-1252 or utf-8 overrides)",
                        used);
        it->warning = ragd_buf_steal(&w);
    }
    ragd_buf hx = RAGD_BUF_INIT; /* the conversion is part of what was stored */
    if (it->hash_extra) ragd_buf_puts(&hx, it->hash_extra);
    ragd_buf_printf(&hx,
                    "\x1f"
                    "enc=%s",
                    used);
    free(it->hash_extra);
    it->hash_extra = ragd_buf_steal(&hx);
}

/* Read a file item, detect its format and bring legacy 8-bit text to
 * UTF-8. False when that settles it: failed or skipped. */
static bool read_input(item *it, const prep_ctx *c, ragd_error *e)
{
    ragd_status rc;
    rc = ingest_read_file(it->path, c->o->max_bytes, &it->raw, &it->n, e);
    if (rc) {
        prep_fail(it, rc);
        return false;
    }
    if (it->walked && it->n == 0) { /* named on the command line: an error */
        prep_skip(it, "empty", "empty file; skipped");
        return false;
    }
    it->format =
        ingest_detect_format(it->path, c->o->format, it->raw, it->n < 4096 ? it->n : 4096, e);
    if (!it->format) {
        if (it->walked && !strncmp(e->msg, "binary file", 11))
            prep_skip(it, "binary", "binary content, not a document; skipped");
        else
            prep_fail(it, e->code);
        return false;
    }
    if (!strcmp(it->format, "txt") || !strcmp(it->format, "md")) convert_legacy(it, c->o);
    return true;
}

/* The chunks' vectors, and the summary entry's after them (entry_sents:
 * its sentences), looked up in the embedding cache or embedded. */
static ragd_status embed_chunks(item *it, const prep_ctx *c, const char *entry_sents)
{
    ragd_error *e = &it->err;
    ragd_status rc;
    const chunk_list *cl = &it->cl;
    size_t nt = cl->n + (it->entry ? 1 : 0);
    int dim = embedder_dim(c->emb);
    char **texts = ragd_xcalloc(nt, sizeof *texts);
    for (size_t i = 0; i < cl->n; i++) {
        ragd_buf t = RAGD_BUF_INIT;
        if (cl->v[i].header[0]) ragd_buf_printf(&t, "%s\n\n", cl->v[i].header);
        ragd_buf_append(&t, it->d.text + cl->v[i].start, cl->v[i].end - cl->v[i].start);
        texts[i] = ragd_buf_steal(&t);
    }
    if (it->entry) {
        /* Title and summary sentences; the keywords line is left out
         * (it needs the writer's collection statistics). */
        ragd_buf t = RAGD_BUF_INIT;
        if (it->d.title && it->d.title[0]) ragd_buf_printf(&t, "%s\n\n", it->d.title);
        ragd_buf_puts(&t, entry_sents);
        texts[cl->n] = ragd_buf_steal(&t);
    }
    it->vecs = ragd_xmalloc(nt * (size_t)(dim > 0 ? dim : 1) * sizeof *it->vecs);
    it->dim = dim;
    rc = ingest_embed_lookup(c->cache, c->emb, (const char *const *)texts, nt, it->vecs,
                             &it->miss_hash, &it->miss_vecs, &it->nmiss, &it->usage,
                             &it->cache_hits, e);
    for (size_t i = 0; i < nt; i++)
        free(texts[i]);
    free(texts);
    if (!rc && embedder_dim(c->emb) != dim)
        rc = ragd_error_set(e, RAGD_EPROVIDER, "embedding dimension changed from %d to %d", dim,
                            embedder_dim(c->emb));
    return rc;
}

/* The prepare phase (see above). Touches only the item, c's borrowed
 * handles and reentrant functions, so items prepare on several threads. */
/* Each chunk's chunks.chunk_words blob, as store_doc_put would compute it
 * from the row it stores (title, heading path, the text slice up to its
 * first NUL, as sqlite3_column_text + strlen see it): done here, on the
 * worker, so the serial writer only binds it. */
static void chunk_words(item *it)
{
    const ingest_doc *d = &it->d;
    const chunk_list *cl = &it->cl;
    if (!cl->n) return;
    it->cwords = ragd_xcalloc(cl->n, sizeof *it->cwords);
    it->ncwords = cl->n;
    for (size_t i = 0; i < cl->n; i++) {
        const chunk *ch = &cl->v[i];
        if (ch->end < ch->start || ch->end > d->len) continue; /* store_doc_put rejects it */
        char *tx = ragd_xstrndup(d->text + ch->start, ch->end - ch->start);
        words_blob_chunk(d->title ? d->title : "", ch->heading_path ? ch->heading_path : "", tx,
                         &it->cwords[i]);
        free(tx);
    }
}

void ingest_prepare(item *it, const prep_ctx *c)
{
    ragd_error *e = &it->err;
    ragd_status rc;
    if (it->kind == IT_JSONL) {
        ingest_jsonl_parse(it, c);
        if (it->kind != IT_RECORD) return; /* an error or an empty record: commit reports it */
    }
    if (it->kind == IT_FILE && !it->raw && !read_input(it, c, e)) return;
    if (!it->hashed) {
        ragd_buf hb = RAGD_BUF_INIT;
        ragd_buf_append(&hb, it->raw, it->n);
        if (it->hash_extra) ragd_buf_puts(&hb, it->hash_extra);
        /* The chunking settings are part of what produced the stored rows. */
        ragd_buf_printf(&hb, "\x1f%s", it->format);
        ragd_sha256_hex(hb.data, hb.len, it->hash);
        ragd_buf_free(&hb);
        it->hashed = true;
    }
    if (it->old_found && strcmp(it->old_hash, it->hash) == 0) {
        it->out = OUT_UNCHANGED; /* raw kept: commit may find it changed after all */
        return;
    }
    bool lock = c->pdf_mu && !strcmp(it->format, "pdf");
    if (lock) pthread_mutex_lock(c->pdf_mu);
    rc = ingest_parse(it->raw, it->n, it->format, it->fallback_title, &it->d, e);
    if (lock) pthread_mutex_unlock(c->pdf_mu);
    if (rc == RAGD_ENOTFOUND) {
        it->out = OUT_SKIPPED;
        return;
    }
    if (rc) {
        prep_fail(it, rc);
        return;
    }
    it->have_doc = true;
    free(it->raw);
    it->raw = NULL;
    if (it->metadata_json) it->d.metadata_json = ragd_xstrdup(it->metadata_json);
    rc = chunk_document(&it->d, &c->coll->settings, c->emb, &it->usage, &it->cl, e);
    if (rc) {
        prep_fail(it, rc);
        return;
    }
    /* The summary's statistics-free part (TextRank, language, outline, the
     * keyword terms), off the writer; a document with a summary entry
     * (docs/summary.md) has its sentences embedded with the chunks. */
    it->pre_summary = summary_prepare(&it->d, c->tok);
    /* With --summarizer llm the writer builds the object (the abstract
     * replaces fields), so serializing here would be wasted. */
    if (!c->gen) summary_pre_fix(it->pre_summary, &it->d, it->source);
    /* documents.summary_words of that summary, off the writer too. */
    if (!c->gen && summary_pre_fixed(it->pre_summary))
        words_blob_summary(summary_pre_text(it->pre_summary), &it->swords);
    const char *entry_sents = NULL;
    if (it->cl.n >= SUMMARY_ENTRY_MIN_CHUNKS) {
        entry_sents = summary_pre_text(it->pre_summary);
        it->entry = *entry_sents;
    }
    if (c->emb && it->cl.n) {
        rc = embed_chunks(it, c, entry_sents);
        if (rc) {
            prep_fail(it, rc);
            return;
        }
    }
    /* --summarizer llm: the abstract needs no collection statistics, so the
     * model is asked here, off the writer. A failure is kept for commit. */
    if (c->gen) summary_llm_run(c->gen, c->breaker, &it->d, &it->llm, &it->gusage);
    chunk_words(it);
    it->out = OUT_READY;
}
