/* ingest/pipeline.c — walking paths and writing documents.
 *
 * For every input file: read (size-limited), hash the raw bytes, and compare
 * with the stored hash under the same document id. Equal: nothing to do.
 * Different or new: parse, chunk, and store_doc_put (one transaction that
 * replaces the old version). A file that fails is reported and skipped; the
 * store is never left with half a document.
 *
 * Document ids: a file given directly is keyed by its base name; a file
 * found under a directory argument by its path relative to that directory
 * ("space/mars.md"); a JSONL record by its "_id".
 *
 * User metadata (--meta key=value) is merged over a JSONL record's extra
 * fields (the user's keys win) and is part of the content hash, so changing
 * it updates the document. Paged documents (PDF) give each chunk its page in
 * the chunk's metadata: {"page": first page, "page_end": last page}.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/text.h"
#include "index/vector.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"

typedef struct {
    char *path; /* as opened */
    char *key;  /* document id */
    off_t size;
} input_file;

typedef struct {
    input_file *v;
    size_t n, cap;
} file_list;

typedef struct {
    ragd_store *st;
    const ragd_collection *coll;
    const ingest_opts *o;
    long added, updated, unchanged, skipped, failed, chunks;
    long provider_failed, cache_hits;
    embed_usage usage;
    size_t bytes, total_bytes, done_bytes;
    size_t files_done, files_total;
    json_t *errors;
    json_t *meta; /* user metadata (--meta) or NULL */
    double t0, last_progress;
    summary_ctx *sum; /* document summaries (ingest/summary.h) */
    json_t *seen;     /* document ids met in this run (a set: id -> true) */
    long pruned;
} run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void file_add(file_list *l, const char *path, const char *key, off_t size)
{
    ragd_array_grow((void **)&l->v, &l->cap, l->n + 1, sizeof *l->v);
    l->v[l->n].path = ragd_xstrdup(path);
    l->v[l->n].key = ragd_xstrdup(key);
    l->v[l->n].size = size;
    l->n++;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Recursively list dir (sorted; dot entries skipped). */
static void walk(const char *dir, const char *rel, file_list *out, run *r)
{
    DIR *dh = opendir(dir);
    if (!dh) {
        log_write(LOG_WARN, "cannot read directory", "dir", dir, NULL);
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *de;
    while ((de = readdir(dh)) != NULL) {
        if (de->d_name[0] == '.') continue;
        ragd_array_grow((void **)&names, &cap, n + 1, sizeof *names);
        names[n++] = ragd_xstrdup(de->d_name);
    }
    closedir(dh);
    if (n) qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        ragd_buf p = RAGD_BUF_INIT, k = RAGD_BUF_INIT;
        ragd_buf_printf(&p, "%s/%s", dir, names[i]);
        if (rel[0])
            ragd_buf_printf(&k, "%s/%s", rel, names[i]);
        else
            ragd_buf_puts(&k, names[i]);
        struct stat sb;
        if (stat(p.data, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            walk(p.data, k.data, out, r);
        } else {
            /* Regular files, and anything else (broken links, FIFOs) so the
             * reader reports them by name. */
            file_add(out, p.data, k.data, stat(p.data, &sb) == 0 ? sb.st_size : 0);
        }
        ragd_buf_free(&p);
        ragd_buf_free(&k);
        free(names[i]);
    }
    free(names);
    (void)r;
}

static void report_error(run *r, const char *file, const ragd_error *e)
{
    r->failed++;
    if (log_is_json())
        log_write(LOG_ERROR, e->msg, "file", file, NULL);
    else
        fprintf(stderr, "ragd: %s: %s\n", file, e->msg);
    json_array_append_new(r->errors, json_pack("{s:s,s:s}", "file", file, "error", e->msg));
}

static void progress(run *r, bool final)
{
    if (!r->o->progress) return;
    double t = now_s();
    if (!final && t - r->last_progress < (r->o->progress_tty ? 0.1 : 5.0)) return;
    /* Without a TTY, a run shorter than the period needs no progress line. */
    if (final && !r->o->progress_tty && t - r->t0 < 5.0) return;
    r->last_progress = t;
    double el = t - r->t0;
    double mbps = el > 0 ? r->done_bytes / 1048576.0 / el : 0;
    double frac = r->total_bytes ? (double)r->done_bytes / (double)r->total_bytes : 1.0;
    if (frac > 1) frac = 1;
    double eta = frac > 0 && frac < 1 ? el / frac - el : 0;
    long docs = r->added + r->updated + r->unchanged + r->skipped + r->failed;
    if (r->o->progress_tty) {
        char bar[31];
        int fill = (int)(frac * 30);
        for (int i = 0; i < 30; i++)
            bar[i] = i < fill ? '#' : '-';
        bar[30] = '\0';
        fprintf(stderr, "\r[%s] %3.0f%% %zu/%zu files %ld docs %.1f MB/s ETA %.0fs ", bar,
                frac * 100, r->files_done, r->files_total, docs, mbps, eta);
        if (final) fputc('\n', stderr);
    } else {
        char files[64], ndocs[32], pct[16], rate[32], etas[32];
        snprintf(files, sizeof files, "%zu/%zu", r->files_done, r->files_total);
        snprintf(ndocs, sizeof ndocs, "%ld", docs);
        snprintf(pct, sizeof pct, "%.0f", frac * 100);
        snprintf(rate, sizeof rate, "%.1f", mbps);
        snprintf(etas, sizeof etas, "%.0f", eta);
        log_write(LOG_INFO, "ingest progress", "percent", pct, "files", files, "docs", ndocs,
                  "mb_per_s", rate, "eta_s", etas, NULL);
    }
}

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

/* The document metadata for base_json (a JSONL record's extra fields, or
 * NULL) with the run's --meta merged over it; NULL when there is no --meta
 * (then base_json applies unchanged). Malloc'd JSON text. */
static char *merged_metadata(const run *r, const char *base_json)
{
    if (!r->meta) return NULL;
    json_t *o = base_json ? json_loads(base_json, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_update(o, r->meta);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

ragd_status ingest_meta_parse(const char *const *kv, size_t n, json_t **out, ragd_error *err)
{
    if (out) *out = NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *a = kv[i] ? kv[i] : "";
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : 0;
        bool ok = eq && klen >= 1 && klen <= 64;
        for (size_t j = 0; ok && j < klen; j++) {
            char c = a[j];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        }
        if (!ok) {
            json_decref(o);
            return ragd_error_set(err, RAGD_EUSAGE,
                                  "--meta '%s': expected KEY=VALUE with KEY of 1-64 characters "
                                  "from A-Z a-z 0-9 _ . -",
                                  a);
        }
        json_t *v = json_string(eq + 1);
        if (!v) {
            json_decref(o);
            return ragd_error_set(err, RAGD_EUSAGE, "--meta '%s': the value is not UTF-8 text", a);
        }
        char key[65];
        memcpy(key, a, klen);
        key[klen] = '\0';
        json_object_set_new(o, key, v);
    }
    if (out)
        *out = o;
    else
        json_decref(o);
    return RAGD_OK;
}

/* Store one parsed document (already known to be new or changed). */
static ragd_status store_parsed(run *r, const char *key, const char *source, const char *hash,
                                ingest_doc *d, bool existed, ragd_error *err)
{
    chunk_list cl;
    ragd_status rc = chunk_document(d, &r->coll->settings, r->o->embedder, &r->usage, &cl, err);
    if (rc) return rc;
    store_chunk *sc = ragd_xcalloc(cl.n ? cl.n : 1, sizeof *sc);
    char **cmeta = ragd_xcalloc(cl.n ? cl.n : 1, sizeof *cmeta);
    for (size_t i = 0; i < cl.n && d->npages; i++) {
        /* The page of the chunk's first and last non-space bytes. */
        size_t s = cl.v[i].start, e = cl.v[i].end;
        while (s < e && is_space_byte(d->text[s]))
            s++;
        while (e > s && is_space_byte(d->text[e - 1]))
            e--;
        ragd_buf m = RAGD_BUF_INIT;
        ragd_buf_printf(&m, "{\"page\":%d,\"page_end\":%d}", ingest_doc_page_at(d, s),
                        ingest_doc_page_at(d, e > s ? e - 1 : s));
        cmeta[i] = ragd_buf_steal(&m);
        sc[i].meta_json = cmeta[i];
    }
    for (size_t i = 0; i < cl.n; i++) {
        sc[i].parent = cl.v[i].parent;
        sc[i].start = cl.v[i].start;
        sc[i].end = cl.v[i].end;
        sc[i].tokens = cl.v[i].tokens;
        sc[i].heading_path = cl.v[i].heading_path;
        sc[i].header = cl.v[i].header;
    }
    store_parent *sp = ragd_xcalloc(cl.nparents ? cl.nparents : 1, sizeof *sp);
    for (size_t i = 0; i < cl.nparents; i++) {
        sp[i].start = cl.parents[i].start;
        sp[i].end = cl.parents[i].end;
        sp[i].tokens = cl.parents[i].tokens;
        sp[i].heading_path = cl.parents[i].heading_path;
    }
    float *vecs = NULL;
    int dim = 0;
    if (r->o->embedder && cl.n) {
        dim = embedder_dim(r->o->embedder);
        char **texts = ragd_xcalloc(cl.n, sizeof *texts);
        for (size_t i = 0; i < cl.n; i++) {
            ragd_buf t = RAGD_BUF_INIT;
            if (cl.v[i].header[0]) ragd_buf_printf(&t, "%s\n\n", cl.v[i].header);
            ragd_buf_append(&t, d->text + cl.v[i].start, cl.v[i].end - cl.v[i].start);
            texts[i] = ragd_buf_steal(&t);
        }
        vecs = ragd_xmalloc(cl.n * (size_t)(dim > 0 ? dim : 1) * sizeof *vecs);
        rc = ingest_embed_texts(r->st, r->o->embedder, (const char *const *)texts, cl.n, vecs,
                                &r->usage, &r->cache_hits, err);
        for (size_t i = 0; i < cl.n; i++)
            free(texts[i]);
        free(texts);
        if (!rc && embedder_dim(r->o->embedder) != dim)
            rc = ragd_error_set(err, RAGD_EPROVIDER, "embedding dimension changed from %d to %d",
                                dim, embedder_dim(r->o->embedder));
        if (rc) {
            free(vecs);
            free(sc);
            free(sp);
            free_strings(cmeta, cl.n);
            chunk_list_free(&cl);
            return rc;
        }
        for (size_t i = 0; i < cl.n; i++)
            sc[i].vec = vecs + i * (size_t)dim;
    }
    /* The document summary, stored beside it (NULL: stored as {}). */
    char *summary = summary_for_ingest(r->sum, key, source, d, existed);
    store_doc doc = {
        .key = key,
        .source = source,
        .format = d->format,
        .title = d->title,
        .text = d->text,
        .text_len = d->len,
        .content_hash = hash,
        .metadata_json = d->metadata_json,
        .summary_json = summary,
        .tokens = text_count_tokens(d->text, d->len),
        .vec_model = r->o->embedder ? embedder_model(r->o->embedder) : NULL,
        .vec_dim = dim,
    };
    int64_t rowid = 0;
    rc = store_doc_put(r->st, r->coll->id, &doc, sp, cl.nparents, sc, cl.n, &rowid, err);
    free(summary);
    if (!rc) {
        if (existed)
            r->updated++;
        else
            r->added++;
        r->chunks += (long)cl.n;
        r->bytes += d->len;
    }
    free(vecs);
    free(sc);
    free(sp);
    free_strings(cmeta, cl.n);
    chunk_list_free(&cl);
    return rc;
}

ragd_status ingest_embed_texts(ragd_store *st, ragd_embedder *e, const char *const *texts, size_t n,
                               float *out, embed_usage *usage, long *cache_hits, ragd_error *err)
{
    int dim = embedder_dim(e);
    const char *model = embedder_model(e);
    char(*hashes)[65] = ragd_xcalloc(n ? n : 1, sizeof *hashes);
    int *found = ragd_xcalloc(n ? n : 1, sizeof *found);
    for (size_t i = 0; i < n; i++)
        ragd_sha256_hex(texts[i], strlen(texts[i]), hashes[i]);
    ragd_status rc = store_cache_get(st, model, dim, hashes, n, out, found, err);
    size_t nmiss = 0;
    for (size_t i = 0; i < n && !rc; i++)
        nmiss += !found[i];
    if (!rc && nmiss) {
        const char **mt = ragd_xcalloc(nmiss, sizeof *mt);
        char(*mh)[65] = ragd_xcalloc(nmiss, sizeof *mh);
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (!found[i]) {
                mt[k] = texts[i];
                memcpy(mh[k], hashes[i], 65);
                k++;
            }
        float *mv = ragd_xmalloc(nmiss * (size_t)dim * sizeof *mv);
        rc = embedder_embed(e, mt, NULL, nmiss, mv, usage, err);
        if (!rc && embedder_dim(e) != dim)
            rc = ragd_error_set(err, RAGD_EPROVIDER,
                                "embedder returned %d-d vectors, the collection expects %d-d",
                                embedder_dim(e), dim);
        if (!rc) {
            for (size_t i = 0; i < nmiss; i++)
                vindex_normalize(mv + i * (size_t)dim, dim);
            rc = store_cache_put(st, model, dim, mh, nmiss, mv, err);
        }
        if (!rc) {
            k = 0;
            for (size_t i = 0; i < n; i++)
                if (!found[i])
                    memcpy(out + i * (size_t)dim, mv + (k++) * (size_t)dim,
                           (size_t)dim * sizeof *mv);
        }
        free(mv);
        free(mh);
        free(mt);
    }
    if (cache_hits) *cache_hits += (long)(n - nmiss);
    free(hashes);
    free(found);
    return rc;
}

static ragd_status ingest_record_merged(run *r, const char *label, const char *key,
                                        const char *source, const char *raw, size_t n,
                                        const char *format, const char *fallback_title,
                                        const char *hash_extra, const char *metadata_json)
{
    ragd_error e;
    ragd_error_clear(&e);
    char hash[RAGD_SHA256_HEX];
    {
        ragd_buf hb = RAGD_BUF_INIT;
        ragd_buf_append(&hb, raw, n);
        if (hash_extra) ragd_buf_puts(&hb, hash_extra);
        /* The chunking settings are part of what produced the stored rows. */
        ragd_buf_printf(&hb, "\x1f%s", format);
        ragd_sha256_hex(hb.data, hb.len, hash);
        ragd_buf_free(&hb);
    }
    bool found = false;
    char old[65] = "";
    ragd_status rc = store_doc_find(r->st, r->coll->id, key, &found, old, &e);
    if (rc) {
        report_error(r, label, &e);
        return rc;
    }
    if (found && strcmp(old, hash) == 0) {
        r->unchanged++;
        return RAGD_OK;
    }
    ingest_doc d;
    rc = ingest_parse(raw, n, format, fallback_title, &d, &e);
    if (rc == RAGD_ENOTFOUND) {
        r->skipped++;
        if (log_is_json())
            log_write(LOG_WARN, e.msg, "file", label, NULL);
        else
            fprintf(stderr, "ragd: warning: %s: %s\n", label, e.msg);
        return RAGD_OK;
    }
    if (rc) {
        report_error(r, label, &e);
        return RAGD_OK;
    }
    if (metadata_json) d.metadata_json = ragd_xstrdup(metadata_json);
    rc = store_parsed(r, key, source, hash, &d, found, &e);
    ingest_doc_free(&d);
    if (rc) {
        report_error(r, label, &e);
        if (rc == RAGD_EPROVIDER) r->provider_failed++;
        return rc == RAGD_ESTORE ? rc : RAGD_OK;
    }
    return RAGD_OK;
}

/* Ingest one text record (a file, or a JSONL line). Returns a fatal status
 * only for store failures; per-document problems are reported and counted.
 * With --meta, the merged metadata replaces metadata_json and hash_extra. */
static ragd_status ingest_record(run *r, const char *label, const char *key, const char *source,
                                 const char *raw, size_t n, const char *format,
                                 const char *fallback_title, const char *hash_extra,
                                 const char *metadata_json)
{
    /* Met, whatever happens next: --prune never removes a document whose
     * input is still there, even when this version of it fails. */
    json_object_set_new(r->seen, key, json_true());
    char *merged = merged_metadata(r, metadata_json);
    ragd_status rc =
        ingest_record_merged(r, label, key, source, raw, n, format, fallback_title,
                             merged ? merged : hash_extra, merged ? merged : metadata_json);
    free(merged);
    return rc;
}

/* A BEIR corpus.jsonl: one document per line with _id, title, text; other
 * fields become metadata. */
static ragd_status ingest_jsonl(run *r, const char *path, const char *raw, size_t n)
{
    size_t i = 0, line = 0;
    size_t base = r->done_bytes; /* progress moves through the file, not per file */
    while (i < n) {
        const char *nl = memchr(raw + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - raw) : n;
        line++;
        if (e > i) {
            ragd_buf label = RAGD_BUF_INIT;
            ragd_buf_printf(&label, "%s:%zu", path, line);
            json_error_t je;
            json_t *o = json_loadb(raw + i, e - i, 0, &je);
            const char *id = o ? json_string_value(json_object_get(o, "_id")) : NULL;
            const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
            const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
            if (!o || !json_is_object(o) || !id || !text) {
                ragd_error ee;
                ragd_error_set(&ee, RAGD_EINPUT, "%s",
                               !o ? je.text
                                  : "expected an object with string \"_id\" and \"text\"");
                report_error(r, label.data, &ee);
            } else {
                json_t *meta = json_deep_copy(o);
                json_object_del(meta, "_id");
                json_object_del(meta, "text");
                json_object_del(meta, "title");
                char *mj = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
                ragd_buf body = RAGD_BUF_INIT;
                /* The title heads the text so it is searchable and quotable. */
                if (title && *title) ragd_buf_printf(&body, "%s\n\n", title);
                ragd_buf_puts(&body, text);
                ragd_status rc = ingest_record(r, label.data, id, path, ragd_buf_str(&body),
                                               body.len, "txt", id, mj, mj);
                ragd_buf_free(&body);
                free(mj);
                json_decref(meta);
                if (rc == RAGD_ESTORE) {
                    json_decref(o);
                    ragd_buf_free(&label);
                    return rc;
                }
            }
            json_decref(o);
            ragd_buf_free(&label);
        }
        i = e + 1;
        r->done_bytes = base + (i < n ? i : n);
        progress(r, false);
    }
    r->done_bytes = base;
    return RAGD_OK;
}

static ragd_status ingest_file(run *r, const input_file *f)
{
    ragd_error e;
    ragd_error_clear(&e);
    char *raw = NULL;
    size_t n = 0;
    ragd_status rc = ingest_read_file(f->path, r->o->max_bytes, &raw, &n, &e);
    if (rc) {
        report_error(r, f->path, &e);
        return RAGD_OK;
    }
    const char *fmt = ingest_detect_format(f->path, r->o->format, raw, n < 4096 ? n : 4096, &e);
    if (!fmt) {
        free(raw);
        if (e.code == RAGD_EUSAGE) return ragd_error_set(&e, RAGD_EUSAGE, "%s", e.msg);
        report_error(r, f->path, &e);
        return RAGD_OK;
    }
    if (!strcmp(fmt, "jsonl")) {
        rc = ingest_jsonl(r, f->path, raw, n);
    } else {
        const char *slash = strrchr(f->path, '/');
        rc = ingest_record(r, f->path, f->key, f->path, raw, n, fmt, slash ? slash + 1 : f->path,
                           NULL, NULL);
    }
    free(raw);
    return rc;
}

/* --prune: delete the collection's documents that came from one of these
 * paths (source equal to a path, or under a directory path) but were not met
 * in this run — their files were deleted or renamed. */
static ragd_status prune(run *r, char *const *paths, size_t npaths, ragd_error *err)
{
    sqlite3 *db = store_db(r->st);
    json_t *gone = json_array();
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; i < npaths && !rc; i++) {
        size_t len = strlen(paths[i]);
        while (len > 1 && paths[i][len - 1] == '/')
            len--;
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db,
                               "SELECT doc_key FROM documents WHERE collection_id = ?1 AND "
                               "(source = ?2 OR substr(source, 1, length(?2) + 1) = ?2 || '/')",
                               -1, &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot list documents to prune");
            break;
        }
        sqlite3_bind_int64(q, 1, r->coll->id);
        sqlite3_bind_text(q, 2, paths[i], (int)len, SQLITE_TRANSIENT);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(q, 0);
            if (!json_object_get(r->seen, key)) json_array_append_new(gone, json_string(key));
        }
        sqlite3_finalize(q);
    }
    size_t k;
    json_t *v;
    json_array_foreach(gone, k, v)
    {
        if (rc) break;
        ragd_error e;
        ragd_status dr = store_doc_delete(r->st, r->coll->id, json_string_value(v), &e);
        if (dr == RAGD_ENOTFOUND) continue; /* listed under two paths */
        if (dr)
            rc = ragd_error_set(err, dr, "%s", e.msg);
        else
            r->pruned++;
    }
    json_decref(gone);
    return rc;
}

ragd_status ingest_paths(ragd_store *st, const ragd_collection *coll, char *const *paths,
                         size_t npaths, const ingest_opts *o, json_t **report, ragd_error *err)
{
    *report = NULL;
    if (o->format && *o->format) {
        ragd_error fe;
        if (!ingest_detect_format("", o->format, "", 0, &fe))
            return ragd_error_set(err, fe.code, "%s", fe.msg);
    }
    json_t *meta = NULL;
    if (o->nmeta) {
        ragd_error me;
        if (ingest_meta_parse(o->meta, o->nmeta, &meta, &me))
            return ragd_error_set(err, me.code, "%s", me.msg);
    }
    summary_ctx *sum = NULL;
    {
        ragd_error se;
        if (summary_ctx_new(st, coll->id, o->summarizer, &sum, &se)) {
            json_decref(meta);
            return ragd_error_set(err, se.code, "%s", se.msg);
        }
    }
    run r = {.st = st,
             .coll = coll,
             .o = o,
             .errors = json_array(),
             .meta = meta,
             .sum = sum,
             .seen = json_object()};
    r.t0 = now_s();
    r.last_progress = r.t0;
    file_list files = {0};
    for (size_t i = 0; i < npaths; i++) {
        struct stat sb;
        const char *p = paths[i];
        if (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            size_t len = strlen(p);
            char *dir = ragd_xstrdup(p);
            while (len > 1 && dir[len - 1] == '/')
                dir[--len] = '\0';
            walk(dir, "", &files, &r);
            free(dir);
        } else {
            const char *slash = strrchr(p, '/');
            file_add(&files, p, slash && slash[1] ? slash + 1 : p,
                     stat(p, &sb) == 0 ? sb.st_size : 0);
        }
    }
    r.files_total = files.n;
    for (size_t i = 0; i < files.n; i++)
        r.total_bytes += (size_t)files.v[i].size;
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; i < files.n && !rc; i++) {
        rc = ingest_file(&r, &files.v[i]);
        if (rc == RAGD_EUSAGE)
            ragd_error_set(err, rc, "bad --format");
        else if (rc)
            ragd_error_set(err, rc, "store failure; stopped ingesting");
        r.files_done++;
        r.done_bytes += (size_t)files.v[i].size;
        progress(&r, false);
    }
    progress(&r, true);
    if (!rc && o->prune) rc = prune(&r, paths, npaths, err);
    json_decref(r.seen);
    for (size_t i = 0; i < files.n; i++) {
        free(files.v[i].path);
        free(files.v[i].key);
    }
    free(files.v);
    json_decref(meta);
    summary_ctx_free(sum);
    /* Fault injection for the crash-consistency tests: die after the SQLite
     * commits and before the snapshot, as a killed process would. */
    const char *fault = getenv("RAGD_FAULT");
    if (fault && !strcmp(fault, "before-snapshot")) _exit(99);
    /* Bring the vector index up to date and snapshot it. */
    if (!rc && o->embedder) {
        ragd_vindex *vi = NULL;
        rc = vindex_open(st, coll, &vi, NULL, err);
        vindex_free(vi);
    }
    json_t *emb = json_pack(
        "{s:s,s:s,s:i,s:I,s:I,s:I,s:I,s:I,s:f}", "embedder",
        o->embedder ? coll->settings.embedder : "none", "model",
        o->embedder ? embedder_model(o->embedder) : "", "dim",
        o->embedder ? embedder_dim(o->embedder) : 0, "calls", (json_int_t)r.usage.calls, "retries",
        (json_int_t)r.usage.retries, "tokens", (json_int_t)r.usage.tokens, "texts",
        (json_int_t)r.usage.texts, "cache_hits", (json_int_t)r.cache_hits, "cost", r.usage.cost);
    *report = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:f,s:o,s:o}", "added", (int)r.added,
                        "updated", (int)r.updated, "unchanged", (int)r.unchanged, "skipped",
                        (int)r.skipped, "failed", (int)r.failed, "pruned", (int)r.pruned, "chunks",
                        (int)r.chunks, "bytes", (json_int_t)r.bytes, "seconds", now_s() - r.t0,
                        "embedding", emb, "errors", r.errors);
    if (rc) return rc;
    if (r.provider_failed)
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "%ld document(s) not stored: the embedding provider failed",
                              r.provider_failed);
    if (r.failed)
        return ragd_error_set(err, RAGD_EINPUT, "%ld of %zu inputs failed", r.failed, files.n);
    return RAGD_OK;
}
