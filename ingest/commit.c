/* ingest/commit.c — the commit phase, on the single writer.
 *
 * In input order: the authoritative dedupe check against the store (same
 * id, same hash: unchanged), id collisions between files, a moved file's
 * path, then the summary (its keyword statistics come from the writer's
 * connection; the rest of it was computed in prepare), the embedding-cache
 * inserts and store_doc_put, which replaces the old version. Documents are
 * written in batches: one transaction holds up to INGEST_BATCH_DOCS (64)
 * documents (or INGEST_BATCH_BYTES, or INGEST_BATCH_SECONDS), each in its
 * own savepoint, so a failed document rolls back alone and a crash loses
 * at most the uncommitted batch, never half a document. A batch's counts
 * join the run's when it commits. ingest_dispatch looks up the
 * stored version when an item is made, so that a worker can skip an
 * unchanged input. Writer only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"
#include "ingest/pipeline_internal.h"

static bool is_space_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == '\v';
}

static void free_strings(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void add_usage(embed_usage *to, const embed_usage *u)
{
    to->calls += u->calls;
    to->attempts += u->attempts;
    to->retries += u->retries;
    to->fallbacks += u->fallbacks;
    to->tokens += u->tokens;
    to->texts += u->texts;
    to->cost += u->cost;
}

/* Look up what the store holds under the item's key now. Writer only. A
 * failure here only costs the shortcut: commit looks again and reports it. */
void ingest_dispatch(run *r, item *it)
{
    /* A JSONL line's id is known once parsed: prepare looks it up. */
    if (!ingest_needs_work(it) || it->kind == IT_JSONL) return;
    ragd_error e;
    char *path = NULL;
    if (store_doc_find(r->st, r->coll->id, it->key, &it->old_found, it->old_hash,
                       it->abspath ? &path : NULL, &e))
        it->old_found = false;
    /* A file already stored under another id keeps it (its arguments
     * changed: `ingest a` then `ingest a b` prefixes a's ids with "a/"). */
    if (it->abspath && (!it->old_found || (path && *path && strcmp(path, it->abspath)))) {
        char *k = NULL;
        if (!store_doc_key_by_path(r->st, r->coll->id, it->abspath, &k, &e) && k &&
            strcmp(k, it->key)) {
            free(it->key);
            it->key = k;
            k = NULL;
            if (store_doc_find(r->st, r->coll->id, it->key, &it->old_found, it->old_hash, NULL, &e))
                it->old_found = false;
        }
        free(k);
    }
    free(path);
}

/* --- batches ------------------------------------------------------------------ */

bool ingest_batch_stale(const run *r)
{
    return r->batch.open && ingest_now() - r->batch.t0 >= INGEST_BATCH_SECONDS;
}

ragd_status ingest_batch_flush(run *r)
{
    ingest_batch *b = &r->batch;
    if (!b->open) return RAGD_OK;
    ragd_error e;
    ragd_error_clear(&e);
    ragd_status rc = store_batch_commit(r->st, &e);
    if (!rc) {
        r->added += b->added;
        r->updated += b->updated;
        r->chunks += b->chunks;
        r->summary_entries += b->summary_entries;
        r->bytes += b->text_bytes;
    } else {
        /* None of the batch's documents was stored. */
        size_t i;
        json_t *l;
        json_array_foreach(b->labels, i, l) ingest_report_error(r, json_string_value(l), &e);
    }
    json_decref(b->labels);
    *b = (ingest_batch){0};
    return rc == RAGD_ESTORE ? rc : RAGD_OK;
}

/* A batch open for the next document's writes: the open one, or a new
 * one (after reporting a batch SQLite rolled back on an error). */
static ragd_status batch_ensure(run *r, ragd_error *err)
{
    ragd_status rc = RAGD_OK;
    if (r->batch.open && !store_batch_active(r->st)) rc = ingest_batch_flush(r);
    if (rc || r->batch.open) return rc;
    rc = store_batch_begin(r->st, err);
    if (rc) return rc;
    r->batch = (ingest_batch){.open = true, .t0 = ingest_now(), .labels = json_array()};
    return RAGD_OK;
}

/* After a document: commit the batch when it is full or old, or report it
 * when SQLite rolled it back. */
static ragd_status batch_after(run *r)
{
    const ingest_batch *b = &r->batch;
    if (!b->open) return RAGD_OK;
    if (b->docs >= INGEST_BATCH_DOCS || b->bytes >= INGEST_BATCH_BYTES || ingest_batch_stale(r) ||
        !store_batch_active(r->st))
        return ingest_batch_flush(r);
    return RAGD_OK;
}

/* --- one document's rows -------------------------------------------------------- */

/* The rows of a prepared document, borrowed from the item. all[0] is
 * kept for the summary entry; the chunks (sc = all + 1) follow. */
typedef struct {
    store_chunk *all, *sc;
    store_parent *sp;
    char **cmeta;
    size_t ncmeta;
} doc_rows;

static void doc_rows_make(const item *it, doc_rows *o)
{
    const ingest_doc *d = &it->d;
    const chunk_list *cl = &it->cl;
    o->all = ragd_xcalloc(cl->n + 1, sizeof *o->all);
    o->sc = o->all + 1;
    o->cmeta = ragd_xcalloc(cl->n ? cl->n : 1, sizeof *o->cmeta);
    o->ncmeta = cl->n;
    store_chunk *sc = o->sc;
    for (size_t i = 0; i < cl->n && d->npages; i++) {
        /* The page of the chunk's first and last non-space bytes. */
        size_t s = cl->v[i].start, e = cl->v[i].end;
        while (s < e && is_space_byte(d->text[s]))
            s++;
        while (e > s && is_space_byte(d->text[e - 1]))
            e--;
        ragd_buf m = RAGD_BUF_INIT;
        ragd_buf_printf(&m, "{\"page\":%d,\"page_end\":%d}", ingest_doc_page_at(d, s),
                        ingest_doc_page_at(d, e > s ? e - 1 : s));
        o->cmeta[i] = ragd_buf_steal(&m);
        sc[i].meta_json = o->cmeta[i];
    }
    for (size_t i = 0; i < cl->n; i++) {
        sc[i].parent = cl->v[i].parent;
        sc[i].start = cl->v[i].start;
        sc[i].end = cl->v[i].end;
        sc[i].tokens = cl->v[i].tokens;
        sc[i].heading_path = cl->v[i].heading_path;
        sc[i].header = cl->v[i].header;
        if (it->vecs) sc[i].vec = it->vecs + i * (size_t)it->dim;
        if (it->cwords) {
            sc[i].words = it->cwords[i].data;
            sc[i].words_len = it->cwords[i].len;
        }
    }
    o->sp = ragd_xcalloc(cl->nparents ? cl->nparents : 1, sizeof *o->sp);
    for (size_t i = 0; i < cl->nparents; i++) {
        o->sp[i].start = cl->parents[i].start;
        o->sp[i].end = cl->parents[i].end;
        o->sp[i].tokens = cl->parents[i].tokens;
        o->sp[i].heading_path = cl->parents[i].heading_path;
    }
}

static void doc_rows_free(doc_rows *o)
{
    free(o->all);
    free(o->sp);
    free_strings(o->cmeta, o->ncmeta);
}

/* The document summary (NULL: stored as {}) and, when the document gets
 * one, the summary entry's text into *entry. The statistics-free part was
 * computed in prepare; the keyword scoring needs the writer's statistics. */
static char *doc_summary(run *r, item *it, bool existed, char **entry)
{
    char *summary = summary_for_ingest_pre(r->sum, it->key, it->source, &it->d, existed,
                                           it->pre_summary, &it->llm, it->entry ? entry : NULL);
    if (it->llm.error) {
        if (log_is_json())
            log_write(LOG_WARN, "LLM summary failed; kept the extractive summary", "file",
                      it->label, "error", it->llm.error, NULL);
        else
            fprintf(stderr,
                    "ragd: warning: %s: LLM summary failed, kept the extractive summary: %s\n",
                    it->label, it->llm.error);
    }
    return summary;
}

/* Store a prepared document (known to be new or changed) in the open
 * batch, in its own savepoint. Writer only. */
static ragd_status store_ready(run *r, item *it, bool existed, ragd_error *err)
{
    ingest_doc *d = &it->d;
    chunk_list *cl = &it->cl;
    /* The keyword statistics are reloaded from committed documents only,
     * as when every document was its own transaction. */
    ragd_status rc = summary_ctx_due(r->sum) ? ingest_batch_flush(r) : RAGD_OK;
    if (!rc) rc = batch_ensure(r, err);
    if (rc) return rc;
    if (it->nmiss)
        rc = store_cache_put(r->st, embedder_model(r->o->embedder), it->dim, it->miss_hash,
                             it->nmiss, it->miss_vecs, err);
    if (rc) return rc;
    doc_rows rows;
    doc_rows_make(it, &rows);
    char *entry = NULL;
    char *summary = doc_summary(r, it, existed, &entry);
    if (entry) {
        rows.all[0] = (store_chunk){.parent = -1,
                                    .start = 0,
                                    .end = d->len,
                                    .tokens = text_count_tokens(entry, strlen(entry)),
                                    .heading_path = "",
                                    .header = d->title ? d->title : "",
                                    .vec = it->vecs ? it->vecs + cl->n * (size_t)it->dim : NULL,
                                    .summary = true,
                                    .text = entry};
    }
    store_doc doc = {
        .key = it->key,
        .source = it->source,
        .format = d->format,
        .title = d->title,
        .text = d->text,
        .text_len = d->len,
        .content_hash = it->hash,
        .path = it->abspath,
        .metadata_json = d->metadata_json,
        .summary_json = summary,
        .tokens = it->pre_summary ? summary_pre_tokens(it->pre_summary)
                                  : text_count_tokens(d->text, d->len),
        .vec_model = r->o->embedder ? embedder_model(r->o->embedder) : NULL,
        .vec_dim = it->vecs ? it->dim : 0,
        .known_new = !existed,
        /* Set by prepare only when this summary is assembled from
         * pre_summary's head (no LLM abstract); store_doc_put computes it
         * otherwise. */
        .summary_words = it->swords.data,
        .summary_words_len = it->swords.len,
    };
    int64_t rowid = 0;
    size_t nrows = cl->n + (entry ? 1 : 0);
    rc = store_doc_put(r->st, r->coll->id, &doc, rows.sp, cl->nparents, entry ? rows.all : rows.sc,
                       nrows, &rowid, err);
    if (!rc) {
        /* Counted in the run when the batch commits. */
        ingest_batch *b = &r->batch;
        if (entry) b->summary_entries++;
        if (existed)
            b->updated++;
        else
            b->added++;
        b->chunks += (long)cl->n;
        b->text_bytes += d->len;
        b->docs++;
        b->bytes += 2 * d->len + nrows * (size_t)(it->vecs ? it->dim : 0) * sizeof(float);
        json_array_append_new(b->labels, json_string_nocheck(it->label));
    }
    free(summary);
    free(entry);
    doc_rows_free(&rows);
    return rc;
}

/* Whether the file at a document's recorded path is still there (a
 * document whose file is gone may be taken over: the file moved). */
static bool stored_file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && !S_ISDIR(sb.st_mode);
}

/* Two different files of this run that map to one document id: an error
 * naming both (the first one met keeps the id). */
static bool id_collision(run *r, const item *it, ragd_error *e)
{
    if (!it->abspath) return false;
    json_t *prev = json_object_get(r->seen, it->key);
    const char *pp = json_string_value(json_object_get(prev, "path"));
    if (!pp || !*pp || !strcmp(pp, it->abspath)) return false;
    ragd_error_set(e, RAGD_EINPUT,
                   "document id '%s' is also the id of %s in this run; two files cannot share "
                   "an id: ingest their common parent directory (ids are then paths relative to "
                   "it), or ingest one of them into another --collection",
                   it->key, json_string_value(json_object_get(prev, "label")));
    return true;
}

/* The authoritative dedupe check against the store: *found and the stored
 * hash (old) of the item's key. True when that settles the item (another
 * file's id, or unchanged); *fatal is set on a store failure. */
static bool check_stored(run *r, item *it, bool *found, char old[65], ragd_status *fatal)
{
    ragd_error e;
    ragd_error_clear(&e);
    char *old_path = NULL;
    ragd_status rc = store_doc_find(r->st, r->coll->id, it->key, found, old, &old_path, &e);
    if (rc) {
        ingest_report_error(r, it->label, &e);
        *fatal = rc;
        return true;
    }
    if (*found && it->abspath && *old_path && strcmp(old_path, it->abspath) &&
        stored_file_exists(old_path)) {
        ragd_error_set(&e, RAGD_EINPUT,
                       "document id '%s' already belongs to %s (ingested earlier) and two files "
                       "cannot share an id: ingest their common parent directory, or use "
                       "another --collection",
                       it->key, old_path);
        free(old_path);
        json_object_del(r->seen, it->key);
        ingest_report_error(r, it->label, &e);
        return true;
    }
    bool path_moved = *found && it->abspath && strcmp(old_path, it->abspath);
    free(old_path);
    if (!*found || strcmp(old, it->hash) != 0) return false;
    /* Unchanged; a file that moved (or was stored before paths were
     * recorded) gets its path recorded. */
    if (path_moved && (rc = store_doc_set_path(r->st, r->coll->id, it->key, it->abspath, &e))) {
        ingest_report_error(r, it->label, &e);
        *fatal = rc;
        return true;
    }
    r->unchanged++;
    return true;
}

/* A new or changed document: stored, skipped or reported. */
static ragd_status commit_outcome(run *r, item *it, bool found)
{
    ragd_error e;
    ragd_error_clear(&e);
    ragd_status rc, fatal = RAGD_OK;
    switch (it->out) {
    case OUT_SKIPPED:
        if (!it->skip_reason) it->skip_reason = "no text";
        ingest_count_skip(r, it);
        break;
    case OUT_READY:
        rc = store_ready(r, it, found, &e);
        if (rc) {
            ingest_report_error(r, it->label, &e);
            if (rc == RAGD_EPROVIDER) r->provider_failed++;
            if (rc == RAGD_ESTORE) fatal = rc;
        }
        break;
    default:
        ingest_report_error(r, it->label, &it->err);
        if (it->have_doc && it->rc == RAGD_EPROVIDER) r->provider_failed++;
        if (it->have_doc && it->rc == RAGD_ESTORE) fatal = it->rc;
        break;
    }
    return fatal;
}

/* The commit phase, on the writer, in input order. Returns a status only
 * for failures that stop the run (store errors); per-document problems are
 * reported and counted. wctx prepares again on the writer an item whose
 * worker saw it unchanged when an earlier input of this run changed it. */
ragd_status ingest_commit(run *r, item *it, const prep_ctx *wctx)
{
    ragd_status fatal = RAGD_OK;
    r->done_bytes = it->done_bytes;
    r->files_done = it->files_done;
    if (it->kind == IT_MARK) goto done;
    r->inputs++;
    if (it->warning) ingest_warn_file(it, it->warning);
    if (it->kind == IT_SKIP || (it->out == OUT_SKIPPED && it->skip_reason)) {
        ingest_count_skip(r, it);
        goto done;
    }
    if (it->kind == IT_ERROR || !it->hashed) {
        ingest_report_error(r, it->label, &it->err);
        goto done;
    }
    ragd_error e;
    ragd_error_clear(&e);
    if (id_collision(r, it, &e)) {
        ingest_report_error(r, it->label, &e);
        goto done;
    }
    /* Met, whatever happens next: --prune never removes a document whose
     * input is still there, even when this version of it fails. */
    json_object_set_new(r->seen, it->key,
                        json_pack("{s:s,s:s}", "path", it->abspath ? it->abspath : "", "label",
                                  it->source ? it->source : ""));
    bool found = false;
    char old[65] = "";
    if (check_stored(r, it, &found, old, &fatal)) goto done;
    if (it->out == OUT_UNCHANGED) {
        it->old_found = found;
        memcpy(it->old_hash, old, sizeof old);
        it->out = OUT_NONE;
        ingest_prepare(it, wctx);
    }
    fatal = commit_outcome(r, it, found);
done:
    if (!fatal) fatal = batch_after(r);
    add_usage(&r->usage, &it->usage);
    gen_usage_add(&r->gusage, &it->gusage);
    r->cache_hits += it->cache_hits;
    ingest_progress(r, false);
    return fatal;
}
