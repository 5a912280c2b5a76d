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
 *
 * Threads (ingest.h has the contract): with workers > 1, worker threads run
 * prepare() (read, format, hash, parse, chunk, embed through a read-only
 * cache connection) and the calling thread, the only writer, runs commit()
 * in input order through a ring that bounds what is in flight. With one
 * worker both phases run inline, one input at a time: the serial path.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/path.h"
#include "core/text.h"
#include "index/vector.h"
#include "ingest/ingest.h"
#include "ingest/encoding.h"
#include "ingest/summary.h"
#include "ingest/walk.h"

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
    long inputs;          /* files, records and texts met (not JSONL end marks) */
    long summary_entries; /* documents stored with a summary entry */
    ragd_generator *gen;  /* o->generator with --summarizer llm, else NULL */
    gen_usage gusage;
    summary_llm_breaker breaker; /* stops calling a generator that is down */
    walk_stats walk;             /* what the walks met and skipped (skipped: reason -> count) */
} run;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A parser's message may quote the bad input (jansson: "invalid escape near
 * '…'") and a label may hold a file name, bytes that need not be UTF-8:
 * both are escaped (text_escape_invalid), or jansson would drop the entry
 * from the report (fuzz_load_jsonl found one missing). */
static void report_error(run *r, const char *file, const ragd_error *e)
{
    r->failed++;
    char *f = text_escape_invalid(file), *m = text_escape_invalid(e->msg);
    if (log_is_json())
        log_write(LOG_ERROR, m, "file", f, NULL);
    else
        fprintf(stderr, "ragd: %s: %s\n", f, m);
    json_array_append_new(r->errors, json_pack("{s:s,s:s}", "file", f, "error", m));
    free(f);
    free(m);
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
    return ingest_kv_parse("--meta", kv, n, out, err);
}

/* An option's name without its leading dashes, as an error field. */
static const char *opt_field(const char *opt)
{
    while (*opt == '-')
        opt++;
    return opt;
}

ragd_status ingest_kv_parse(const char *opt, const char *const *kv, size_t n, json_t **out,
                            ragd_error *err)
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
            return ragd_error_set_field(err, RAGD_EUSAGE, opt_field(opt),
                                        "%s '%s': expected KEY=VALUE with KEY of 1-64 characters "
                                        "from A-Z a-z 0-9 _ . -",
                                        opt, a);
        }
        json_t *v = json_string(eq + 1);
        if (!v) {
            json_decref(o);
            return ragd_error_set_field(err, RAGD_EUSAGE, opt_field(opt),
                                        "%s '%s': the value is not UTF-8 text", opt, a);
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

/* --- one input through two phases ---------------------------------------------
 *
 * Every input (a file, a JSONL record) becomes an item. prepare() is the part
 * that needs no writer: read, detect the format, hash, parse, chunk, choose
 * the summary sentences of a document that gets a summary entry, and embed
 * (embedding-cache lookups go through a read-only connection). It runs
 * on a worker thread, or inline when serial. commit() runs on the writer, in
 * input order: the authoritative dedupe check, the summary (its keyword
 * statistics come from the writer's connection) and the summary entry's
 * text, the embedding-cache inserts and store_doc_put. */

typedef enum { IT_FILE, IT_RECORD, IT_ERROR, IT_MARK, IT_SKIP } item_kind;
typedef enum { OUT_NONE, OUT_FAILED, OUT_SKIPPED, OUT_UNCHANGED, OUT_READY } item_outcome;

typedef struct {
    /* Set by the writer when the item is made. */
    /* IT_ERROR: err says why; IT_MARK: progress only (a JSONL file's end);
     * IT_SKIP: skipped with err as the warning (an empty JSONL record) */
    item_kind kind;
    char *label;   /* the file, or "file:line" of a JSONL record, for messages */
    char *key;     /* document id */
    char *source;  /* stored as the document's source */
    char *path;    /* IT_FILE: the file to read */
    char *abspath; /* IT_FILE: its absolute normalized path, recorded with the document */
    bool walked;   /* IT_FILE: found by a directory walk (may be skipped, not failed) */
    char *fallback_title;
    char *hash_extra;    /* hashed after the bytes (metadata), or NULL */
    char *metadata_json; /* the document's metadata, or NULL */
    bool old_found;      /* the store's version of key when the item was made */
    char old_hash[65];
    size_t size;                   /* input bytes, for the in-flight bound */
    size_t done_bytes, files_done; /* progress once committed */
    /* Set by prepare (IT_RECORD: raw, n and format by the writer). */
    char *raw;
    size_t n;
    const char *format; /* static */
    bool hashed;        /* read and hashed: hash is set */
    char hash[RAGD_SHA256_HEX];
    item_outcome out;
    const char *skip_reason; /* OUT_SKIPPED, IT_SKIP: the count it goes under (static) */
    char *warning;           /* printed at commit (a guessed encoding), or NULL */
    ragd_status rc;          /* OUT_FAILED */
    ragd_error err;          /* OUT_FAILED, OUT_SKIPPED, IT_ERROR, a failed read */
    ingest_doc d;
    bool have_doc;
    chunk_list cl;
    json_t *pre_summary; /* summary_extract(&d) for a document with a summary entry, or NULL */
    bool entry;          /* store a summary entry (its vector follows the chunks' in vecs) */
    float *vecs;         /* (cl.n + entry) * dim floats, or NULL without an embedder */
    int dim;
    char (*miss_hash)[65]; /* texts the cache did not have: the writer adds them */
    float *miss_vecs;
    size_t nmiss;
    embed_usage usage;
    long cache_hits;
    summary_llm llm; /* --summarizer llm: the abstract, asked for in prepare */
    gen_usage gusage;
    bool ready; /* parallel: prepared (guarded by the pool's mutex) */
} item;

/* What prepare() works with: borrowed, one per thread. */
typedef struct {
    const ragd_collection *coll;
    const ingest_opts *o;
    ragd_store *cache;       /* embedding-cache lookups: the writer's store, or a reader */
    ragd_embedder *emb;      /* o->embedder (writer) or a clone (worker); NULL: no vectors */
    pthread_mutex_t *pdf_mu; /* serializes PDF parsing when threaded, or NULL */
    ragd_generator *gen;     /* llm summaries: run's generator (writer) or a clone; or NULL */
    /* llm summaries: the run's breaker, shared by its threads */
    summary_llm_breaker *breaker;
} prep_ctx;

static item *item_new(item_kind kind, const char *label)
{
    item *it = ragd_xcalloc(1, sizeof *it);
    it->kind = kind;
    it->label = ragd_xstrdup(label);
    ragd_error_clear(&it->err);
    return it;
}

static void item_free(item *it)
{
    if (!it) return;
    free(it->label);
    free(it->key);
    free(it->source);
    free(it->path);
    free(it->abspath);
    free(it->warning);
    free(it->fallback_title);
    free(it->hash_extra);
    free(it->metadata_json);
    free(it->raw);
    if (it->have_doc) ingest_doc_free(&it->d);
    chunk_list_free(&it->cl);
    json_decref(it->pre_summary);
    free(it->vecs);
    free(it->miss_hash);
    free(it->miss_vecs);
    summary_llm_clear(&it->llm);
    free(it);
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

/* Look texts up in the embedding cache on st and embed the misses in one
 * batch. out receives all n vectors, L2-normalized; the misses' hashes and
 * vectors are handed back (*miss_hash, *miss_vecs, malloc'd; *nmiss) for
 * the writer to cache. */
static ragd_status embed_lookup(ragd_store *st, ragd_embedder *e, const char *const *texts,
                                size_t n, float *out, char (**miss_hash)[65], float **miss_vecs,
                                size_t *nmiss_out, embed_usage *usage, long *cache_hits,
                                ragd_error *err)
{
    *miss_hash = NULL;
    *miss_vecs = NULL;
    *nmiss_out = 0;
    int dim = embedder_dim(e);
    char(*hashes)[65] = ragd_xcalloc(n ? n : 1, sizeof *hashes);
    int *found = ragd_xcalloc(n ? n : 1, sizeof *found);
    for (size_t i = 0; i < n; i++)
        ragd_sha256_hex(texts[i], strlen(texts[i]), hashes[i]);
    ragd_status rc = store_cache_get(st, embedder_model(e), dim, hashes, n, out, found, err);
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
            k = 0;
            for (size_t i = 0; i < n; i++)
                if (!found[i])
                    memcpy(out + i * (size_t)dim, mv + (k++) * (size_t)dim,
                           (size_t)dim * sizeof *mv);
            *miss_hash = mh;
            *miss_vecs = mv;
            *nmiss_out = nmiss;
        } else {
            free(mv);
            free(mh);
        }
        free(mt);
    }
    if (cache_hits) *cache_hits += (long)(n - nmiss);
    free(hashes);
    free(found);
    return rc;
}

ragd_status ingest_embed_texts(ragd_store *st, ragd_embedder *e, const char *const *texts, size_t n,
                               float *out, embed_usage *usage, long *cache_hits, ragd_error *err)
{
    char(*mh)[65] = NULL;
    float *mv = NULL;
    size_t nmiss = 0;
    ragd_status rc = embed_lookup(st, e, texts, n, out, &mh, &mv, &nmiss, usage, cache_hits, err);
    if (!rc && nmiss)
        rc = store_cache_put(st, embedder_model(e), embedder_dim(e), mh, nmiss, mv, err);
    free(mh);
    free(mv);
    return rc;
}

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

/* The prepare phase (see above). Touches only the item, c's borrowed
 * handles and reentrant functions, so items prepare on several threads. */
static void prepare(item *it, const prep_ctx *c)
{
    ragd_error *e = &it->err;
    ragd_status rc;
    if (it->kind == IT_FILE && !it->raw) {
        rc = ingest_read_file(it->path, c->o->max_bytes, &it->raw, &it->n, e);
        if (rc) {
            prep_fail(it, rc);
            return;
        }
        if (it->walked && it->n == 0) { /* named on the command line: an error */
            prep_skip(it, "empty", "empty file; skipped");
            return;
        }
        it->format =
            ingest_detect_format(it->path, c->o->format, it->raw, it->n < 4096 ? it->n : 4096, e);
        if (!it->format) {
            if (it->walked && !strncmp(e->msg, "binary file", 11))
                prep_skip(it, "binary", "binary content, not a document; skipped");
            else
                prep_fail(it, e->code);
            return;
        }
        if (!strcmp(it->format, "txt") || !strcmp(it->format, "md")) convert_legacy(it, c->o);
    }
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
    /* The summary entry (docs/summary.md): its sentences are chosen here,
     * off the writer, so the entry is embedded with the chunks. */
    const char *entry_sents = NULL;
    if (it->cl.n >= SUMMARY_ENTRY_MIN_CHUNKS) {
        it->pre_summary = summary_extract(&it->d);
        entry_sents = json_string_value(json_object_get(it->pre_summary, "summary_text"));
        it->entry = entry_sents && *entry_sents;
    }
    if (c->emb && it->cl.n) {
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
        rc =
            embed_lookup(c->cache, c->emb, (const char *const *)texts, nt, it->vecs, &it->miss_hash,
                         &it->miss_vecs, &it->nmiss, &it->usage, &it->cache_hits, e);
        for (size_t i = 0; i < nt; i++)
            free(texts[i]);
        free(texts);
        if (!rc && embedder_dim(c->emb) != dim)
            rc = ragd_error_set(e, RAGD_EPROVIDER, "embedding dimension changed from %d to %d", dim,
                                embedder_dim(c->emb));
        if (rc) {
            prep_fail(it, rc);
            return;
        }
    }
    /* --summarizer llm: the abstract needs no collection statistics, so the
     * model is asked here, off the writer. A failure is kept for commit. */
    if (c->gen) summary_llm_run(c->gen, c->breaker, &it->d, &it->llm, &it->gusage);
    it->out = OUT_READY;
}

/* Store a prepared document (known to be new or changed). Writer only. */
static ragd_status store_ready(run *r, item *it, bool existed, ragd_error *err)
{
    ingest_doc *d = &it->d;
    chunk_list *cl = &it->cl;
    /* all[0] is kept for the summary entry; the chunks (sc) follow. */
    store_chunk *all = ragd_xcalloc(cl->n + 1, sizeof *all), *sc = all + 1;
    char **cmeta = ragd_xcalloc(cl->n ? cl->n : 1, sizeof *cmeta);
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
        cmeta[i] = ragd_buf_steal(&m);
        sc[i].meta_json = cmeta[i];
    }
    for (size_t i = 0; i < cl->n; i++) {
        sc[i].parent = cl->v[i].parent;
        sc[i].start = cl->v[i].start;
        sc[i].end = cl->v[i].end;
        sc[i].tokens = cl->v[i].tokens;
        sc[i].heading_path = cl->v[i].heading_path;
        sc[i].header = cl->v[i].header;
        if (it->vecs) sc[i].vec = it->vecs + i * (size_t)it->dim;
    }
    store_parent *sp = ragd_xcalloc(cl->nparents ? cl->nparents : 1, sizeof *sp);
    for (size_t i = 0; i < cl->nparents; i++) {
        sp[i].start = cl->parents[i].start;
        sp[i].end = cl->parents[i].end;
        sp[i].tokens = cl->parents[i].tokens;
        sp[i].heading_path = cl->parents[i].heading_path;
    }
    ragd_status rc = RAGD_OK;
    if (it->nmiss)
        rc = store_cache_put(r->st, embedder_model(r->o->embedder), it->dim, it->miss_hash,
                             it->nmiss, it->miss_vecs, err);
    if (!rc) {
        /* The document summary, stored beside it (NULL: stored as {}),
         * and the summary entry's text when the document gets one. */
        char *entry = NULL;
        char *summary =
            summary_for_ingest_llm(r->sum, it->key, it->source, d, existed, it->pre_summary,
                                   &it->llm, it->entry ? &entry : NULL);
        if (it->llm.error) {
            if (log_is_json())
                log_write(LOG_WARN, "LLM summary failed; kept the extractive summary", "file",
                          it->label, "error", it->llm.error, NULL);
            else
                fprintf(stderr,
                        "ragd: warning: %s: LLM summary failed, kept the extractive summary: %s\n",
                        it->label, it->llm.error);
        }
        if (entry) {
            all[0] = (store_chunk){.parent = -1,
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
            .tokens = text_count_tokens(d->text, d->len),
            .vec_model = r->o->embedder ? embedder_model(r->o->embedder) : NULL,
            .vec_dim = it->vecs ? it->dim : 0,
        };
        int64_t rowid = 0;
        rc = store_doc_put(r->st, r->coll->id, &doc, sp, cl->nparents, entry ? all : sc,
                           cl->n + (entry ? 1 : 0), &rowid, err);
        if (!rc && entry) r->summary_entries++;
        free(summary);
        free(entry);
    }
    if (!rc) {
        if (existed)
            r->updated++;
        else
            r->added++;
        r->chunks += (long)cl->n;
        r->bytes += d->len;
    }
    free(all);
    free(sp);
    free_strings(cmeta, cl->n);
    return rc;
}

static void warn_file(const item *it, const char *msg)
{
    if (log_is_json())
        log_write(LOG_WARN, msg, "file", it->label, NULL);
    else
        fprintf(stderr, "ragd: warning: %s: %s\n", it->label, msg);
}

/* A skipped input: warned about, and counted under its reason. */
static void count_skip(run *r, const item *it)
{
    r->skipped++;
    warn_file(it, it->err.msg);
    const char *reason = it->skip_reason ? it->skip_reason : "empty";
    json_t *n = json_object_get(r->walk.skipped, reason);
    json_object_set_new(r->walk.skipped, reason, json_integer(n ? json_integer_value(n) + 1 : 1));
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

/* The commit phase, on the writer, in input order. Returns a status only
 * for failures that stop the run (store errors); per-document problems are
 * reported and counted. wctx prepares again on the writer an item whose
 * worker saw it unchanged when an earlier input of this run changed it. */
static ragd_status commit(run *r, item *it, const prep_ctx *wctx)
{
    ragd_status fatal = RAGD_OK;
    r->done_bytes = it->done_bytes;
    r->files_done = it->files_done;
    if (it->kind == IT_MARK) goto done;
    r->inputs++;
    if (it->warning) warn_file(it, it->warning);
    if (it->kind == IT_SKIP || (it->out == OUT_SKIPPED && it->skip_reason)) {
        count_skip(r, it);
        goto done;
    }
    if (it->kind == IT_ERROR || !it->hashed) {
        report_error(r, it->label, &it->err);
        goto done;
    }
    ragd_error e;
    ragd_error_clear(&e);
    if (id_collision(r, it, &e)) {
        report_error(r, it->label, &e);
        goto done;
    }
    /* Met, whatever happens next: --prune never removes a document whose
     * input is still there, even when this version of it fails. */
    json_object_set_new(r->seen, it->key,
                        json_pack("{s:s,s:s}", "path", it->abspath ? it->abspath : "", "label",
                                  it->source ? it->source : ""));
    bool found = false;
    char old[65] = "";
    char *old_path = NULL;
    ragd_status rc = store_doc_find(r->st, r->coll->id, it->key, &found, old, &old_path, &e);
    if (rc) {
        report_error(r, it->label, &e);
        fatal = rc;
        goto done;
    }
    if (found && it->abspath && *old_path && strcmp(old_path, it->abspath) &&
        stored_file_exists(old_path)) {
        ragd_error_set(&e, RAGD_EINPUT,
                       "document id '%s' already belongs to %s (ingested earlier) and two files "
                       "cannot share an id: ingest their common parent directory, or use "
                       "another --collection",
                       it->key, old_path);
        free(old_path);
        json_object_del(r->seen, it->key);
        report_error(r, it->label, &e);
        goto done;
    }
    bool path_moved = found && it->abspath && strcmp(old_path, it->abspath);
    free(old_path);
    if (found && strcmp(old, it->hash) == 0) {
        /* Unchanged; a file that moved (or was stored before paths were
         * recorded) gets its path recorded. */
        if (path_moved && (rc = store_doc_set_path(r->st, r->coll->id, it->key, it->abspath, &e))) {
            report_error(r, it->label, &e);
            fatal = rc;
            goto done;
        }
        r->unchanged++;
        goto done;
    }
    if (it->out == OUT_UNCHANGED) {
        it->old_found = found;
        memcpy(it->old_hash, old, sizeof old);
        it->out = OUT_NONE;
        prepare(it, wctx);
    }
    switch (it->out) {
    case OUT_SKIPPED:
        if (!it->skip_reason) it->skip_reason = "no text";
        count_skip(r, it);
        break;
    case OUT_READY:
        rc = store_ready(r, it, found, &e);
        if (rc) {
            report_error(r, it->label, &e);
            if (rc == RAGD_EPROVIDER) r->provider_failed++;
            if (rc == RAGD_ESTORE) fatal = rc;
        }
        break;
    default:
        report_error(r, it->label, &it->err);
        if (it->have_doc && it->rc == RAGD_EPROVIDER) r->provider_failed++;
        if (it->have_doc && it->rc == RAGD_ESTORE) fatal = it->rc;
        break;
    }
done:
    add_usage(&r->usage, &it->usage);
    gen_usage_add(&r->gusage, &it->gusage);
    r->cache_hits += it->cache_hits;
    progress(r, false);
    return fatal;
}

/* --- the inputs, in order ------------------------------------------------------ */

typedef struct {
    const file_list *files;
    size_t fi; /* the next file */
    size_t files_done, done_bytes;
    /* The JSONL file being read record by record (jf NULL: none). The
     * size limit applies to each record (line), not to the file. */
    FILE *jf;
    char *jline_buf;
    size_t jline_cap;
    size_t jpos, jline, jbase, jsize;
    const char *jpath;
    /* In-memory documents (ingest_texts), taken after the files. */
    const ingest_text *texts;
    size_t ntexts, ti;
} input_iter;

/* One line of a BEIR corpus.jsonl: _id, title, text; other fields become
 * metadata. The title heads the text so it is searchable and quotable. */
static item *jsonl_item(run *r, const char *path, size_t line, const char *s, size_t n)
{
    ragd_buf label = RAGD_BUF_INIT;
    ragd_buf_printf(&label, "%s:%zu", path, line);
    json_error_t je;
    json_t *o = json_loadb(s, n, 0, &je);
    const char *id = o ? json_string_value(json_object_get(o, "_id")) : NULL;
    const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
    const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
    item *it;
    json_t *tv = o ? json_object_get(o, "text") : NULL;
    if (o && json_is_object(o) && id && (!tv || json_is_null(tv) || (text && !*text)) &&
        (!title || !*title)) {
        /* Real BEIR corpora have records with no text: skipped, not failed. */
        it = item_new(IT_SKIP, label.data);
        it->skip_reason = "empty";
        ragd_error_set(&it->err, RAGD_ENOTFOUND, "empty record '%s' (no title or text); skipped",
                       id);
    } else if (!o || !json_is_object(o) || !id || !text) {
        it = item_new(IT_ERROR, label.data);
        ragd_error_set(&it->err, RAGD_EINPUT, "%s",
                       !o ? je.text : "expected an object with string \"_id\" and \"text\"");
    } else {
        it = item_new(IT_RECORD, label.data);
        json_t *meta = json_deep_copy(o);
        json_object_del(meta, "_id");
        json_object_del(meta, "text");
        json_object_del(meta, "title");
        char *mj = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(meta);
        ragd_buf body = RAGD_BUF_INIT;
        if (title && *title) ragd_buf_printf(&body, "%s\n\n", title);
        ragd_buf_puts(&body, text);
        it->n = body.len;
        it->raw = ragd_buf_steal(&body);
        it->format = "txt";
        it->key = ragd_xstrdup(id);
        it->source = text_escape_invalid(path);
        it->fallback_title = ragd_xstrdup(id);
        char *merged = merged_metadata(r, mj);
        if (merged) {
            free(mj);
            mj = merged;
        }
        it->hash_extra = mj;
        it->metadata_json = mj ? ragd_xstrdup(mj) : NULL;
        it->size = n;
    }
    json_decref(o);
    ragd_buf_free(&label);
    return it;
}

/* One in-memory document (ingest_texts). A title given for a plain-text
 * document heads its text, as for a BEIR record, so it is searchable and
 * quotable; Markdown and HTML keep their own title, the given one is the
 * fallback. The format "auto" (or NULL) is sniffed from the id's extension,
 * then the content. */
static item *text_item(run *r, const ingest_text *t)
{
    ragd_buf label = RAGD_BUF_INIT;
    ragd_buf_printf(&label, "document '%s'", t->id);
    ragd_error e;
    ragd_error_clear(&e);
    const char *fmt =
        ingest_detect_format(t->id, t->format && strcmp(t->format, "auto") ? t->format : NULL,
                             t->text, t->len < 4096 ? t->len : 4096, &e);
    item *it;
    if (!fmt || !strcmp(fmt, "jsonl") || (!strcmp(fmt, "pdf") && !t->upload)) {
        it = item_new(IT_ERROR, label.data);
        if (fmt)
            ragd_error_set(&it->err, RAGD_EINPUT,
                           "format '%s' is not accepted inline; upload a file", fmt);
        else
            it->err = e;
    } else {
        it = item_new(IT_RECORD, label.data);
        ragd_buf body = RAGD_BUF_INIT;
        bool plain = !strcmp(fmt, "txt");
        if (plain && t->title && *t->title && !t->upload)
            ragd_buf_printf(&body, "%s\n\n", t->title);
        ragd_buf_append(&body, t->text, t->len);
        it->n = body.len;
        it->raw = ragd_buf_steal(&body);
        if (!it->raw) it->raw = ragd_xstrdup("");
        it->format = fmt;
        it->key = ragd_xstrdup(t->id);
        it->source = ragd_xstrdup(t->source && *t->source ? t->source : t->id);
        it->fallback_title = ragd_xstrdup(t->title && *t->title ? t->title : t->id);
        char *mj = t->metadata_json ? ragd_xstrdup(t->metadata_json) : NULL;
        char *merged = merged_metadata(r, mj);
        if (merged) {
            free(mj);
            mj = merged;
        }
        it->hash_extra = mj;
        it->metadata_json = mj ? ragd_xstrdup(mj) : NULL;
        it->size = t->len;
    }
    ragd_buf_free(&label);
    return it;
}

/* Open a JSONL file for reading line by line: a regular, readable file of
 * any size (its records are limited one by one). */
static ragd_status jsonl_open(const char *path, FILE **out, ragd_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ragd_error_set(err, RAGD_EINPUT, "cannot open: %s",
                              errno == ENOENT ? "file vanished or is a broken link"
                                              : strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "not a regular file");
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "cannot open: %s", strerror(errno));
    }
    *out = f;
    return RAGD_OK;
}

/* The next input in order (false at the end): each file, and each line of
 * a JSONL file (read here, on the writer), then a mark at its end. */
static bool next_item(run *r, input_iter *in, item **out)
{
    for (;;) {
        if (in->jf) {
            ssize_t got = getline(&in->jline_buf, &in->jline_cap, in->jf);
            if (got > 0) {
                size_t n = (size_t)got;
                in->jline++;
                in->jpos += n;
                while (n && (in->jline_buf[n - 1] == '\n' || in->jline_buf[n - 1] == '\r'))
                    n--;
                if (!n) continue;
                size_t maxb = r->o->max_bytes ? r->o->max_bytes : INGEST_DEFAULT_MAX_BYTES;
                item *it;
                if (n > maxb) {
                    ragd_buf label = RAGD_BUF_INIT;
                    ragd_buf_printf(&label, "%s:%zu", in->jpath, in->jline);
                    it = item_new(IT_ERROR, label.data);
                    ragd_buf_free(&label);
                    ragd_error_set(&it->err, RAGD_EINPUT,
                                   "record too large: %.1f MB exceeds the %.1f MB limit "
                                   "(--max-bytes)",
                                   n / 1048576.0, maxb / 1048576.0);
                } else {
                    it = jsonl_item(r, in->jpath, in->jline, in->jline_buf, n);
                }
                it->files_done = in->files_done;
                it->done_bytes = in->jbase + (in->jpos < in->jsize ? in->jpos : in->jsize);
                *out = it;
                return true;
            }
            fclose(in->jf);
            in->jf = NULL;
            item *m = item_new(IT_MARK, in->jpath);
            in->files_done++;
            in->done_bytes = in->jbase + in->jsize;
            m->files_done = in->files_done;
            m->done_bytes = in->done_bytes;
            *out = m;
            return true;
        }
        if (in->fi >= in->files->n) {
            if (in->ti >= in->ntexts) return false;
            item *it = text_item(r, &in->texts[in->ti++]);
            in->files_done++;
            in->done_bytes += in->texts[in->ti - 1].len;
            it->files_done = in->files_done;
            it->done_bytes = in->done_bytes;
            *out = it;
            return true;
        }
        const input_file *f = &in->files->v[in->fi++];
        ragd_error e;
        ragd_error_clear(&e);
        /* JSONL comes only from the extension or --format: no bytes needed. */
        const char *fmt = ingest_detect_format(f->path, r->o->format, "", 0, &e);
        item *it;
        if (fmt && !strcmp(fmt, "jsonl")) {
            FILE *jf = NULL;
            if (!jsonl_open(f->path, &jf, &e)) {
                in->jf = jf;
                in->jpos = in->jline = 0;
                in->jbase = in->done_bytes;
                in->jsize = (size_t)f->size;
                in->jpath = f->path;
                continue;
            }
            it = item_new(IT_ERROR, f->path);
            it->err = e;
        } else {
            it = item_new(IT_FILE, f->path);
            it->path = ragd_xstrdup(f->path);
            /* Ids, sources and titles are valid UTF-8 (JSON output): a file
             * name that is not keeps its bytes as \xHH escapes (core/text.h). */
            it->key = text_escape_invalid(f->key);
            it->source = text_escape_invalid(f->path);
            it->abspath = text_escape_invalid(f->abs);
            it->walked = f->walked;
            const char *slash = strrchr(it->source, '/');
            it->fallback_title = ragd_xstrdup(slash ? slash + 1 : it->source);
            it->hash_extra = merged_metadata(r, NULL);
            it->metadata_json = it->hash_extra ? ragd_xstrdup(it->hash_extra) : NULL;
            it->size = (size_t)f->size;
        }
        in->files_done++;
        in->done_bytes += (size_t)f->size;
        it->files_done = in->files_done;
        it->done_bytes = in->done_bytes;
        *out = it;
        return true;
    }
}

static bool needs_work(const item *it)
{
    return it->kind == IT_FILE || it->kind == IT_RECORD;
}

/* Look up what the store holds under the item's key now. Writer only. A
 * failure here only costs the shortcut: commit looks again and reports it. */
static void dispatch(run *r, item *it)
{
    if (!needs_work(it)) return;
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

/* --- serial and parallel drivers ------------------------------------------------- */

static ragd_status run_serial(run *r, input_iter *in, ragd_error *err)
{
    prep_ctx c = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = NULL};
    c.gen = r->gen;
    c.breaker = &r->breaker;
    ragd_status rc = RAGD_OK;
    item *it;
    while (!rc && next_item(r, in, &it)) {
        dispatch(r, it);
        if (needs_work(it)) prepare(it, &c);
        rc = commit(r, it, &c);
        item_free(it);
    }
    if (rc) ragd_error_set(err, rc, "store failure; stopped ingesting");
    return rc;
}

/* Items in flight: at most this many per worker, and raw input bytes up to
 * INFLIGHT_BYTES (at least one item whatever its size). */
#define ITEMS_PER_WORKER 4
#define INFLIGHT_BYTES (64u * 1024u * 1024u)

typedef struct pool pool;

typedef struct {
    pool *p;
    prep_ctx ctx;
    ragd_store *reader; /* owned: embedding-cache lookups */
    ragd_embedder *emb; /* owned clone of o->embedder */
    /* owned clone of the run's generator (llm summaries), or NULL */
    ragd_generator *gen;
    pthread_t th;
    bool started;
} worker;

/* A ring of items in input order: [head, tail) are in flight; workers take
 * them in order at `take`; the writer commits at head once ready. The ring
 * is the bounded queue and the reorder buffer at once. */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* an item was added, or stop */
    pthread_cond_t done_cv; /* an item became ready */
    pthread_mutex_t pdf_mu;
    item **ring;
    size_t cap, head, take, tail;
    bool stop;   /* no more items: workers exit */
    bool cancel; /* a fatal error: skip the work of items still queued */
};

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->take == p->tail)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->take == p->tail) break;
        item *it = p->ring[p->take++ % p->cap];
        if (it->ready) continue;
        bool cancel = p->cancel;
        pthread_mutex_unlock(&p->mu);
        if (!cancel) prepare(it, &w->ctx);
        pthread_mutex_lock(&p->mu);
        it->ready = true;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static ragd_status run_parallel(run *r, input_iter *in, int nworkers, ragd_error *err)
{
    pool p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_mutex_init(&p.pdf_mu, NULL);
    pthread_cond_init(&p.work_cv, NULL);
    pthread_cond_init(&p.done_cv, NULL);
    p.cap = (size_t)nworkers * ITEMS_PER_WORKER;
    p.ring = ragd_xcalloc(p.cap, sizeof *p.ring);
    worker *w = ragd_xcalloc((size_t)nworkers, sizeof *w);
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < nworkers && !rc; i++) {
        w[i].p = &p;
        if (r->o->embedder) {
            rc = embedder_clone(r->o->embedder, &w[i].emb, err);
            if (!rc) rc = store_open_reader(store_dir(r->st), &w[i].reader, err);
        }
        if (!rc && r->gen) rc = generator_clone(r->gen, &w[i].gen, err);
        w[i].ctx = (prep_ctx){
            .coll = r->coll, .o = r->o, .cache = w[i].reader, .emb = w[i].emb, .pdf_mu = &p.pdf_mu};
        w[i].ctx.gen = w[i].gen;
        w[i].ctx.breaker = &r->breaker;
        if (!rc) {
            if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
                rc = ragd_error_set(err, RAGD_EINTERNAL, "cannot start an ingest worker thread");
            else
                w[i].started = true;
        }
    }
    /* The writer's own context, for an item to prepare again (see commit). */
    prep_ctx wctx = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = &p.pdf_mu};
    wctx.gen = r->gen;
    wctx.breaker = &r->breaker;
    size_t inflight = 0;
    bool more = !rc;
    for (;;) {
        while (more && !rc && p.tail - p.head < p.cap &&
               (p.tail == p.head || inflight < INFLIGHT_BYTES)) {
            item *it;
            if (!next_item(r, in, &it)) {
                more = false;
                break;
            }
            dispatch(r, it);
            inflight += it->size;
            pthread_mutex_lock(&p.mu);
            it->ready = !needs_work(it);
            p.ring[p.tail++ % p.cap] = it;
            pthread_cond_signal(&p.work_cv);
            pthread_mutex_unlock(&p.mu);
        }
        if (p.head == p.tail) break;
        pthread_mutex_lock(&p.mu);
        item *it = p.ring[p.head % p.cap];
        while (!it->ready)
            pthread_cond_wait(&p.done_cv, &p.mu);
        p.ring[p.head % p.cap] = NULL;
        p.head++;
        if (p.take < p.head) p.take = p.head; /* marks the workers have not looked at */
        pthread_mutex_unlock(&p.mu);
        inflight -= it->size;
        if (!rc) {
            rc = commit(r, it, &wctx);
            if (rc) {
                ragd_error_set(err, rc, "store failure; stopped ingesting");
                pthread_mutex_lock(&p.mu);
                p.cancel = true;
                pthread_mutex_unlock(&p.mu);
            }
        }
        item_free(it);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = true;
    pthread_cond_broadcast(&p.work_cv);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < nworkers; i++) {
        if (w[i].started) pthread_join(w[i].th, NULL);
        embedder_free(w[i].emb);
        generator_free(w[i].gen);
        store_close(w[i].reader);
    }
    free(w);
    free(p.ring);
    pthread_cond_destroy(&p.work_cv);
    pthread_cond_destroy(&p.done_cv);
    pthread_mutex_destroy(&p.pdf_mu);
    pthread_mutex_destroy(&p.mu);
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
        /* Recorded paths are absolute and normalized, so every spelling of
         * a path prunes the same; documents stored before paths were
         * recorded (path '') match their source as typed then. */
        char *abs = path_absolute(paths[i]);
        char *path = text_escape_invalid(abs); /* as paths are stored */
        char *typed = text_escape_invalid(paths[i]);
        free(abs);
        size_t len = strlen(typed);
        while (len > 1 && typed[len - 1] == '/')
            len--;
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db,
                               "SELECT doc_key FROM documents WHERE collection_id = ?1 AND "
                               "((path <> '' AND (path = ?2 OR substr(path, 1, length(?2) + 1) = "
                               "rtrim(?2, '/') || '/')) OR (path = '' AND (source = ?3 OR "
                               "substr(source, 1, length(?3) + 1) = ?3 || '/')))",
                               -1, &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot list documents to prune");
            free(path);
            free(typed);
            break;
        }
        sqlite3_bind_int64(q, 1, r->coll->id);
        sqlite3_bind_text(q, 2, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 3, typed, (int)len, SQLITE_TRANSIENT);
        free(path);
        free(typed);
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

/* The pipeline over files and directories (paths) and in-memory documents
 * (texts), in that order; see ingest_paths and ingest_texts. */
static ragd_status ingest_inputs(ragd_store *st, const ragd_collection *coll, char *const *paths,
                                 size_t npaths, const ingest_text *texts, size_t ntexts,
                                 const ingest_opts *o, json_t **report, ragd_error *err)
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
    if (summary_is_llm(o->summarizer) && !o->generator) {
        json_decref(meta);
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--summarizer llm needs a generation provider: --generator "
                              "openai|ollama with --generator-url and --generator-model");
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
             .seen = json_object(),
             .gen = summary_is_llm(o->summarizer) ? o->generator : NULL};
    r.t0 = now_s();
    r.last_progress = r.t0;
    file_list files = {0};
    walk_opts wo = {.include = o->include,
                    .ninclude = o->ninclude,
                    .exclude = o->exclude,
                    .nexclude = o->nexclude,
                    .verbose = o->verbose};
    r.walk.skipped = json_object();
    walk_inputs(paths, npaths, &wo, &files, &r.walk);
    r.files_total = files.n + ntexts;
    for (size_t i = 0; i < files.n; i++)
        r.total_bytes += (size_t)files.v[i].size;
    for (size_t i = 0; i < ntexts; i++)
        r.total_bytes += texts[i].len;
    int nworkers =
        o->workers > 1 ? (o->workers < INGEST_MAX_WORKERS ? o->workers : INGEST_MAX_WORKERS) : 1;
    input_iter in = {.files = &files, .texts = texts, .ntexts = ntexts};
    ragd_status rc = nworkers > 1 ? run_parallel(&r, &in, nworkers, err) : run_serial(&r, &in, err);
    if (in.jf) fclose(in.jf);
    free(in.jline_buf);
    progress(&r, true);
    if (!rc && o->prune && npaths) rc = prune(&r, paths, npaths, err);
    json_decref(r.seen);
    file_list_free(&files);
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
    long walk_skipped = 0;
    {
        const char *k;
        json_t *v;
        json_object_foreach(r.walk.skipped, k, v) walk_skipped += (long)json_integer_value(v);
        walk_skipped -= r.skipped; /* the commit's skips are in both */
    }
    *report = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:I,s:f,s:i,s:o,s:o}", "added",
                        (int)r.added, "updated", (int)r.updated, "unchanged", (int)r.unchanged,
                        "skipped", (int)(r.skipped + walk_skipped), "failed", (int)r.failed,
                        "pruned", (int)r.pruned, "chunks", (int)r.chunks, "summary_entries",
                        (int)r.summary_entries, "bytes", (json_int_t)r.bytes, "seconds",
                        now_s() - r.t0, "workers", nworkers, "embedding", emb, "errors", r.errors);
    json_object_set_new(*report, "skipped_by", r.walk.skipped);
    json_object_set_new(*report, "walked", json_integer(r.walk.walked));
    /* --summarizer llm: the generation provider's usage. */
    if (r.gen)
        json_object_set_new(
            *report, "generator",
            json_pack("{s:s,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:b,s:f}", "generator",
                      generator_kind(r.gen), "model", generator_model(r.gen), "calls",
                      (json_int_t)r.gusage.calls, "failures", (json_int_t)r.gusage.failures,
                      "retries", (json_int_t)r.gusage.retries, "prompt_tokens",
                      (json_int_t)r.gusage.prompt_tokens, "completion_tokens",
                      (json_int_t)r.gusage.completion_tokens, "tokens",
                      (json_int_t)(r.gusage.prompt_tokens + r.gusage.completion_tokens),
                      "tokens_estimated", r.gusage.estimated > 0, "cost", r.gusage.cost));
    if (rc) return rc;
    if (r.provider_failed)
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "%ld document(s) not stored: the embedding provider failed",
                              r.provider_failed);
    if (r.failed)
        return ragd_error_set(err, RAGD_EINPUT, "%ld of %ld inputs failed", r.failed, r.inputs);
    return RAGD_OK;
}

ragd_status ingest_paths(ragd_store *st, const ragd_collection *coll, char *const *paths,
                         size_t npaths, const ingest_opts *o, json_t **report, ragd_error *err)
{
    return ingest_inputs(st, coll, paths, npaths, NULL, 0, o, report, err);
}

ragd_status ingest_texts(ragd_store *st, const ragd_collection *coll, const ingest_text *texts,
                         size_t n, const ingest_opts *o, json_t **report, ragd_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!texts[i].id || !*texts[i].id || !texts[i].text)
            return ragd_error_set(err, RAGD_EINPUT, "document %zu needs an id and a text", i);
    return ingest_inputs(st, coll, NULL, 0, texts, n, o, report, err);
}
