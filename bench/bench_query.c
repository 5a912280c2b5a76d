/* bench/bench_query.c — end-to-end search latency on SciFact through ragd.
 *
 * 1. Ingest: runs `ragd ingest --format jsonl --no-progress --data DIR
 *    corpus.jsonl` (the real CLI, a child process) and times it: seconds,
 *    documents/s, chunks/s, MB/s, the child's peak RSS.
 * 2. Opens the collection once (engine_open with need_dense: store, local
 *    embedder, vector index snapshot) and times that.
 * 3. For every query (queries.jsonl, 300) and --reps repetitions, in one
 *    process, interleaved query by query with a rotating start so noise hits
 *    all alike, times:
 *      raw FTS5      the lexical index alone: SELECT rowid FROM chunks_fts
 *                    WHERE chunks_fts MATCH ? ORDER BY bm25(chunks_fts)
 *                    LIMIT 50, prepared once, with the MATCH expression of
 *                    lexical_match_expr computed outside the clock;
 *      lexical_search   ragd's index function (k 50: the candidate depth);
 *      embed+vindex     the local embedder + vindex_search (k 50);
 *      retrieve_search  --mode lexical, dense, hybrid (k 10, CLI defaults);
 *      eval searches    retrieve_search as `ragd eval --k 100` calls it
 *                       (lexical and hybrid: keep_all, k 300, 300
 *                       candidates), against raw FTS5 LIMIT 100.
 *    A warm-up pass over all queries precedes the timed passes.
 * Reports p50/p90/p99/mean/QPS per measure, ratios against the index-level
 * baselines (also the median of per-query paired ratios), the mean stage
 * timings retrieve_search reports, and peak RSS.
 *
 * Skips cleanly (exit 0) when the data set is absent. See bench/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_common.h"
#include "bench/bench_json.h"
#include "core/error.h"
#include "index/lexical.h"
#include "index/vector.h"
#include "provider/provider.h"
#include "retrieve/engine.h"
#include "retrieve/retrieve.h"
#include "store/store.h"

#ifndef RAGD_BENCH_SOURCE_DIR
#define RAGD_BENCH_SOURCE_DIR "."
#endif
#ifndef RAGD_BENCH_RAGD_BIN
#define RAGD_BENCH_RAGD_BIN "build/ragd"
#endif

typedef struct {
    const char *scifact;
    const char *data;
    const char *ragd;
    const char *collection;
    int reps;
    size_t k;
    bool skip_ingest;
    bool keep;
    int cli;            /* queries per mode timed through the ragd search CLI */
    const char *json;   /* --json FILE: figures for bench/run.py */
    const char *export; /* --export DIR: chunks, vectors, queries for the peers */
    size_t max_queries; /* --max-queries N: the first N queries only (0: all) */
    const char *only;   /* --only KEYS: time only these measures (comma-separated) */
} opts;

static void usage(FILE *f)
{
    fprintf(f, "usage: bench_query [options]\n"
               "  --scifact DIR   SciFact (corpus.jsonl, queries.jsonl); default\n"
               "                  $RAGD_SHARED_DATA/scifact, else <repo>/../shared/data/scifact\n"
               "  --ragd PATH     the ragd binary used for ingest (default: this build's)\n"
               "  --data DIR      data directory (kept); default a fresh temporary one, removed\n"
               "  --skip-ingest   do not ingest: --data already holds the corpus\n"
               "  --collection C  collection (default 'default')\n"
               "  --reps N        timed passes over the queries (default 3)\n"
               "  --k K           results per search (default 10)\n"
               "  --keep          keep the temporary data directory\n"
               "  --cli N         also time N queries per mode as `ragd search` processes "
               "(default 20; 0 = skip)\n"
               "  --max-queries N only the first N queries (default: all)\n"
               "  --only KEYS     time only these measures (comma-separated JSON keys, e.g.\n"
               "                  fts5_limit100: the raw FTS5 baseline run.py pairs with each\n"
               "                  `ragd eval` process); ratios need both of their measures\n"
               "  --json FILE     also write the figures as JSON (bench/run.py)\n"
               "  --export DIR    write the collection's chunks (chunks.jsonl), their vectors\n"
               "                  (chunk_vectors.f32), the queries with their local-embedder\n"
               "                  vectors (queries.jsonl, query_vectors.f32) and raw FTS5\n"
               "                  top-100 documents per query, for bench/js and bench/pg_fts.py\n");
}

static int parse(int argc, char **argv, opts *o)
{
    *o =
        (opts){.ragd = RAGD_BENCH_RAGD_BIN, .collection = "default", .reps = 3, .k = 10, .cli = 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool takes = !strcmp(a, "--scifact") || !strcmp(a, "--ragd") || !strcmp(a, "--data") ||
                     !strcmp(a, "--collection") || !strcmp(a, "--reps") || !strcmp(a, "--k") ||
                     !strcmp(a, "--cli") || !strcmp(a, "--json") || !strcmp(a, "--export") ||
                     !strcmp(a, "--max-queries") || !strcmp(a, "--only");
        if (takes && !v) {
            fprintf(stderr, "bench_query: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "--scifact")) {
            o->scifact = v;
        } else if (!strcmp(a, "--ragd")) {
            o->ragd = v;
        } else if (!strcmp(a, "--data")) {
            o->data = v;
        } else if (!strcmp(a, "--collection")) {
            o->collection = v;
        } else if (!strcmp(a, "--reps")) {
            o->reps = atoi(v);
        } else if (!strcmp(a, "--k")) {
            o->k = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--cli")) {
            o->cli = atoi(v);
        } else if (!strcmp(a, "--max-queries")) {
            o->max_queries = strtoull(v, NULL, 10);
        } else if (!strcmp(a, "--json")) {
            o->json = v;
        } else if (!strcmp(a, "--only")) {
            o->only = v;
        } else if (!strcmp(a, "--export")) {
            o->export = v;
        } else if (!strcmp(a, "--skip-ingest")) {
            o->skip_ingest = true;
        } else if (!strcmp(a, "--keep")) {
            o->keep = true;
        } else {
            fprintf(stderr, "bench_query: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
        if (takes) i++;
    }
    if (o->reps <= 0 || !o->k || o->k > 1000) {
        fprintf(stderr, "bench_query: invalid --reps or --k\n");
        return 2;
    }
    if (o->skip_ingest && !o->data) {
        fprintf(stderr, "bench_query: --skip-ingest needs --data\n");
        return 2;
    }
    return 0;
}

static void die_err(const char *what, const ragd_error *e)
{
    fprintf(stderr, "bench_query: %s: %s\n", what, e->msg);
    exit(1);
}

typedef struct {
    char **text;
    char **id;
    size_t n;
} query_set;

static int load_queries(const char *path, query_set *qs)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    qs->text = NULL;
    qs->id = NULL;
    qs->n = 0;
    size_t cap = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        const char *t = o ? json_string_value(json_object_get(o, "text")) : NULL;
        if (t && *t) {
            if (qs->n == cap) {
                cap = cap ? cap * 2 : 512;
                qs->text = realloc(qs->text, cap * sizeof *qs->text);
                qs->id = realloc(qs->id, cap * sizeof *qs->id);
                if (!qs->text || !qs->id) exit(1);
            }
            const char *id = json_string_value(json_object_get(o, "_id"));
            qs->id[qs->n] = strdup(id ? id : "");
            qs->text[qs->n++] = strdup(t);
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return 0;
}

enum {
    M_FTS5,
    M_FTS5_100,
    M_LEXSEARCH,
    M_EMBEDVEC,
    M_LEXICAL,
    M_DENSE,
    M_HYBRID,
    M_EVAL_LEXICAL,
    M_EVAL_HYBRID,
    NMEAS
};
static const char *MEAS_NAME[NMEAS] = {"raw FTS5 bm25 (LIMIT 50)",
                                       "raw FTS5 bm25 (LIMIT 100)",
                                       "lexical_search (k 50)",
                                       "embed + vindex_search (k 50)",
                                       "retrieve_search --mode lexical",
                                       "retrieve_search --mode dense",
                                       "retrieve_search --mode hybrid",
                                       "retrieve_search --mode lexical as eval --k 100",
                                       "retrieve_search --mode hybrid as eval --k 100"};

typedef struct {
    double lexical, embed, dense, fuse, validate, total;
    double hits;
    size_t n;
} stage_sum;

typedef struct {
    engine *eng;
    sqlite3_stmt *fts, *fts100;
    size_t k;
    char **expr; /* per query, NULL when no content terms */
    stage_sum stages[NMEAS];
} ctx;

/* One measurement; returns seconds, or -1 when not applicable. */
static double measure(ctx *c, int m, const char *query, size_t qi, bool record)
{
    ragd_error e;
    ragd_error_clear(&e);
    double t0, t1;
    switch (m) {
    case M_FTS5:
    case M_FTS5_100: {
        if (!c->expr[qi]) return -1;
        sqlite3_stmt *q = m == M_FTS5 ? c->fts : c->fts100;
        t0 = bench_now();
        sqlite3_bind_text(q, 1, c->expr[qi], -1, SQLITE_STATIC);
        int r;
        int64_t sink = 0;
        while ((r = sqlite3_step(q)) == SQLITE_ROW)
            sink += sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        t1 = bench_now();
        if (r != SQLITE_DONE) {
            fprintf(stderr, "bench_query: FTS5 query failed: %s\n",
                    sqlite3_errmsg(store_db(c->eng->st)));
            exit(1);
        }
        (void)sink;
        return t1 - t0;
    }
    case M_LEXSEARCH: {
        lexical_hit *h = NULL;
        size_t n = 0;
        t0 = bench_now();
        if (lexical_search(c->eng->st, c->eng->coll.id, query, 50, &h, &n, &e))
            die_err("lexical_search", &e);
        free(h);
        return bench_now() - t0;
    }
    case M_EMBEDVEC: {
        int dim = c->eng->coll.settings.dim;
        float *qv = calloc((size_t)dim, sizeof *qv);
        const char *texts[1] = {query};
        vindex_hit *h = NULL;
        size_t n = 0;
        t0 = bench_now();
        if (embedder_embed(c->eng->embedder, texts, NULL, 1, qv, NULL, &e))
            die_err("embedder_embed", &e);
        vindex_normalize(qv, dim);
        if (vindex_search(c->eng->vindex, qv, 50, &h, &n, &e)) die_err("vindex_search", &e);
        free(h);
        t1 = bench_now();
        free(qv);
        return t1 - t0;
    }
    default: {
        search_opts so;
        search_opts_init(&so);
        so.k = c->k;
        so.mode = m == M_LEXICAL || m == M_EVAL_LEXICAL ? "lexical"
                  : m == M_DENSE                        ? "dense"
                                                        : "hybrid";
        if (m == M_EVAL_LEXICAL || m == M_EVAL_HYBRID) {
            /* What eval_beir asks for at --k 100 (retrieve/eval.c): 3 k chunks,
             * as many candidates, every candidate kept and marked. */
            so.k = 300;
            so.candidates = 300;
            so.keep_all = true;
        }
        so.embedder = c->eng->embedder;
        so.vindex = c->eng->vindex;
        search_result sr;
        t0 = bench_now();
        if (retrieve_search(c->eng->st, &c->eng->coll, query, &so, &sr, &e))
            die_err("retrieve_search", &e);
        t1 = bench_now();
        if (record) {
            stage_sum *s = &c->stages[m];
            s->lexical += sr.ms_lexical;
            s->embed += sr.ms_embed;
            s->dense += sr.ms_dense;
            s->fuse += sr.ms_fuse;
            s->validate += sr.ms_validate;
            s->total += sr.ms_total;
            s->hits += (double)sr.n;
            s->n++;
        }
        search_result_free(&sr);
        return t1 - t0;
    }
    }
}

/* --export DIR: what the peers index and search, so they see ragd's chunks
 * and vectors exactly: chunks.jsonl ({"id", "doc", "title", "text"} in chunk
 * id order), chunk_vectors.f32 (unit-norm float32, the same order),
 * queries.jsonl ({"id", "text", "fts": the MATCH expression, "fts5_top":
 * document keys of the raw FTS5 top 100 chunks, first occurrence order}),
 * query_vectors.f32 (local embedder, unit norm) and meta.json. */
static int export_peers(ctx *c, const query_set *qs, const char *dir)
{
    ragd_error e;
    ragd_error_clear(&e);
    char path[1200];
    mkdir(dir, 0755);
    int dim = c->eng->coll.settings.dim;
    sqlite3 *db = store_db(c->eng->st);
    sqlite3_stmt *q = NULL, *key = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.id, d.doc_key, d.title, c.text, v.vec FROM chunks c JOIN "
                           "documents d ON d.id = c.document_id LEFT JOIN vectors v ON v.chunk_id "
                           "= c.id WHERE d.collection_id = ? ORDER BY c.id",
                           -1, &q, NULL) ||
        sqlite3_prepare_v2(db,
                           "SELECT d.doc_key FROM chunks c JOIN documents d ON d.id = "
                           "c.document_id WHERE c.id = ?",
                           -1, &key, NULL)) {
        fprintf(stderr, "bench_query: export: %s\n", sqlite3_errmsg(db));
        return -1;
    }
    snprintf(path, sizeof path, "%s/chunks.jsonl", dir);
    FILE *fc = fopen(path, "w");
    snprintf(path, sizeof path, "%s/chunk_vectors.f32", dir);
    FILE *fv = fopen(path, "wb");
    if (!fc || !fv) return -1;
    float *vec = calloc((size_t)dim, sizeof *vec);
    size_t n = 0;
    sqlite3_bind_int64(q, 1, c->eng->coll.id);
    while (sqlite3_step(q) == SQLITE_ROW) {
        json_t *o = json_pack("{sIssssss}", "id", (json_int_t)sqlite3_column_int64(q, 0), "doc",
                              (const char *)sqlite3_column_text(q, 1), "title",
                              (const char *)sqlite3_column_text(q, 2), "text",
                              (const char *)sqlite3_column_text(q, 3));
        char *line = json_dumps(o, JSON_COMPACT);
        fprintf(fc, "%s\n", line);
        free(line);
        json_decref(o);
        memset(vec, 0, (size_t)dim * sizeof *vec);
        if (sqlite3_column_bytes(q, 4) == (int)(dim * sizeof(float)))
            memcpy(vec, sqlite3_column_blob(q, 4), (size_t)dim * sizeof *vec);
        vindex_normalize(vec, dim);
        fwrite(vec, sizeof *vec, (size_t)dim, fv);
        n++;
    }
    sqlite3_finalize(q);
    fclose(fc);
    fclose(fv);
    snprintf(path, sizeof path, "%s/queries.jsonl", dir);
    FILE *fq = fopen(path, "w");
    snprintf(path, sizeof path, "%s/query_vectors.f32", dir);
    fv = fopen(path, "wb");
    if (!fq || !fv) return -1;
    for (size_t i = 0; i < qs->n; i++) {
        const char *texts[1] = {qs->text[i]};
        if (embedder_embed(c->eng->embedder, texts, NULL, 1, vec, NULL, &e))
            die_err("embedder_embed", &e);
        vindex_normalize(vec, dim);
        fwrite(vec, sizeof *vec, (size_t)dim, fv);
        json_t *top = json_array();
        if (c->expr[i]) {
            sqlite3_bind_text(c->fts100, 1, c->expr[i], -1, SQLITE_STATIC);
            while (sqlite3_step(c->fts100) == SQLITE_ROW) {
                sqlite3_bind_int64(key, 1, sqlite3_column_int64(c->fts100, 0));
                if (sqlite3_step(key) == SQLITE_ROW) {
                    const char *k = (const char *)sqlite3_column_text(key, 0);
                    bool seen = false;
                    for (size_t j = 0; j < json_array_size(top) && !seen; j++)
                        seen = !strcmp(json_string_value(json_array_get(top, j)), k);
                    if (!seen) json_array_append_new(top, json_string(k));
                }
                sqlite3_reset(key);
            }
            sqlite3_reset(c->fts100);
        }
        json_t *o = json_pack("{ssssssso}", "id", qs->id[i], "text", qs->text[i], "fts",
                              c->expr[i] ? c->expr[i] : "", "fts5_top", top);
        char *line = json_dumps(o, JSON_COMPACT);
        fprintf(fq, "%s\n", line);
        free(line);
        json_decref(o);
    }
    sqlite3_finalize(key);
    fclose(fq);
    fclose(fv);
    free(vec);
    json_t *m =
        json_pack("{sisIsI}", "dim", dim, "chunks", (json_int_t)n, "queries", (json_int_t)qs->n);
    snprintf(path, sizeof path, "%s/meta.json", dir);
    int rc = json_dump_file(m, path, JSON_INDENT(2));
    json_decref(m);
    fprintf(stderr, "bench_query: exported %zu chunks and %zu queries to %s\n", n, qs->n, dir);
    return rc;
}

static const char *MEAS_KEY[NMEAS] = {
    "fts5_limit50",     "fts5_limit100",          "lexical_search_k50",
    "embed_vindex_k50", "ragd_lexical",           "ragd_dense",
    "ragd_hybrid",      "ragd_eval_lexical_k100", "ragd_eval_hybrid_k100"};

/* on[m] for every measure named in the comma-separated list (all of them
 * when it is NULL); returns -1 (with a message) for an unknown name. */
static int select_measures(const char *list, bool on[NMEAS])
{
    for (int m = 0; m < NMEAS; m++)
        on[m] = list == NULL;
    for (const char *p = list; p && *p;) {
        size_t n = strcspn(p, ",");
        int found = -1;
        for (int m = 0; m < NMEAS; m++)
            if (strlen(MEAS_KEY[m]) == n && !strncmp(MEAS_KEY[m], p, n)) found = m;
        if (found < 0) {
            fprintf(stderr, "bench_query: --only: unknown measure '%.*s'\n", (int)n, p);
            return -1;
        }
        on[found] = true;
        p += n + (p[n] == ',');
    }
    return 0;
}

static double median_ratio(const double *a, const double *b, size_t n)
{
    double *r = malloc((n ? n : 1) * sizeof *r);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (a[i] > 0 && b[i] > 0) r[m++] = a[i] / b[i];
    bench_stats s = bench_summarize(r, m);
    free(r);
    return s.p50;
}

int main(int argc, char **argv)
{
    opts o;
    int prc = parse(argc, argv, &o);
    if (prc) return prc;
    bool on[NMEAS];
    if (select_measures(o.only, on)) return 2;
    bench_mark start = bench_mark_now();
    double t_start = bench_now();

    char scifact[1024];
    const char *shared = getenv("RAGD_SHARED_DATA");
    if (o.scifact)
        snprintf(scifact, sizeof scifact, "%s", o.scifact);
    else if (shared && *shared)
        snprintf(scifact, sizeof scifact, "%s/scifact", shared);
    else
        snprintf(scifact, sizeof scifact, "%s/../shared/data/scifact", RAGD_BENCH_SOURCE_DIR);
    char corpus[1100], queries[1100];
    snprintf(corpus, sizeof corpus, "%s/corpus.jsonl", scifact);
    snprintf(queries, sizeof queries, "%s/queries.jsonl", scifact);
    if (access(corpus, R_OK) != 0 || access(queries, R_OK) != 0) {
        printf("bench_query: SciFact not found at %s (need corpus.jsonl and queries.jsonl); "
               "skipping. Use --scifact DIR or RAGD_SHARED_DATA.\n",
               scifact);
        return 0;
    }

    char tmpdir[512] = "";
    const char *data = o.data;
    if (!data) {
        if (bench_mkdtemp("ragd-bench-query", tmpdir, sizeof tmpdir)) {
            fprintf(stderr, "bench_query: cannot create a temporary directory: %s\n",
                    strerror(errno));
            return 1;
        }
        data = tmpdir;
    }

    printf("# bench_query\n\n");
    bench_print_machine(stdout);
    printf("command:");
    for (int i = 0; i < argc; i++)
        printf(" %s", argv[i]);
    printf("\ndata set: %s; data dir %s\n\n", scifact, data);
    fflush(stdout);

    /* 1. Ingest through the CLI. */
    double ingest_s = -1;
    struct rusage cru = {0};
    if (!o.skip_ingest) {
        char *args[] = {(char *)o.ragd,       "ingest", "--format",   "jsonl",
                        "--no-progress",      "--data", (char *)data, "--collection",
                        (char *)o.collection, corpus,   NULL};
        fprintf(stderr, "bench_query: %s ingest ... %s\n", o.ragd, corpus);
        int rc = bench_run_child("bench_query", args, NULL, &ingest_s, &cru);
        if (rc != 0) {
            fprintf(stderr, "bench_query: ragd ingest failed (exit %d)\n", rc);
            return 1;
        }
    }

    /* 2. Open once. */
    ragd_error e;
    ragd_error_clear(&e);
    engine eng;
    embed_choice choice;
    memset(&choice, 0, sizeof choice);
    double t0 = bench_now();
    if (engine_open(data, o.collection, &choice, true, &eng, &e)) die_err("engine_open", &e);
    double open_s = bench_now() - t0;
    int64_t ndocs = 0, nchunks = 0;
    if (store_counts(eng.st, eng.coll.id, &ndocs, &nchunks, &e)) die_err("store_counts", &e);

    query_set qs;
    if (load_queries(queries, &qs) || !qs.n) {
        fprintf(stderr, "bench_query: no queries in %s\n", queries);
        return 1;
    }
    while (o.max_queries && qs.n > o.max_queries) {
        qs.n--;
        free(qs.text[qs.n]);
        free(qs.id[qs.n]);
    }

    ctx c = {.eng = &eng, .k = o.k};
    sqlite3 *db = store_db(eng.st);
    if (sqlite3_prepare_v2(db,
                           "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY "
                           "bm25(chunks_fts) LIMIT 50",
                           -1, &c.fts, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db,
                           "SELECT rowid FROM chunks_fts WHERE chunks_fts MATCH ? ORDER BY "
                           "bm25(chunks_fts) LIMIT 100",
                           -1, &c.fts100, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_query: cannot prepare the FTS5 query: %s\n", sqlite3_errmsg(db));
        return 1;
    }
    c.expr = calloc(qs.n, sizeof *c.expr);
    size_t no_terms = 0;
    for (size_t i = 0; i < qs.n; i++) {
        c.expr[i] = lexical_match_expr(qs.text[i]);
        no_terms += c.expr[i] == NULL;
    }

    /* 3. Warm-up, then timed interleaved passes. */
    fprintf(stderr, "bench_query: warm-up pass over %zu queries\n", qs.n);
    for (size_t i = 0; i < qs.n; i++)
        for (int m = 0; m < NMEAS; m++)
            if (on[m]) measure(&c, m, qs.text[i], i, false);
    size_t ns = qs.n * (size_t)o.reps;
    double *lat[NMEAS];
    for (int m = 0; m < NMEAS; m++) {
        lat[m] = calloc(ns, sizeof(double));
        if (!lat[m]) return 1;
    }
    fprintf(stderr, "bench_query: %d timed passes x %zu queries x %d measures\n", o.reps, qs.n,
            NMEAS);
    double loop0 = bench_now();
    for (int r = 0; r < o.reps; r++)
        for (size_t i = 0; i < qs.n; i++) {
            size_t si = (size_t)r * qs.n + i;
            for (int j = 0; j < NMEAS; j++) {
                int m = (j + (int)si) % NMEAS;
                lat[m][si] = on[m] ? measure(&c, m, qs.text[i], i, true) : -1;
            }
        }
    double loop_s = bench_now() - loop0;

    /* 4. The same searches as one `ragd search` process each (process start,
     * engine_open with its snapshot load, search, JSON output). */
    static const char *const CLI_MODES[3] = {"lexical", "dense", "hybrid"};
    bench_stats cli_st[3] = {{0}};
    size_t ncli = (size_t)o.cli < qs.n ? (size_t)o.cli : qs.n;
    if (ncli) {
        fprintf(stderr, "bench_query: %zu queries x 3 modes through the ragd search CLI\n", ncli);
        double *cl = calloc(ncli, sizeof *cl);
        char kbuf[16];
        snprintf(kbuf, sizeof kbuf, "%zu", o.k);
        for (int m = 0; m < 3; m++) {
            for (size_t i = 0; i < ncli; i++) {
                char *args[] = {(char *)o.ragd,
                                "search",
                                "--json",
                                "--data",
                                (char *)data,
                                "--collection",
                                (char *)o.collection,
                                "--mode",
                                (char *)CLI_MODES[m],
                                "--k",
                                kbuf,
                                "--",
                                qs.text[i],
                                NULL};
                struct rusage ru;
                int rc = bench_run_child("bench_query", args, "/dev/null", &cl[i], &ru);
                if (rc != 0) {
                    fprintf(stderr, "bench_query: ragd search failed (exit %d)\n", rc);
                    return 1;
                }
            }
            cli_st[m] = bench_summarize(cl, ncli);
        }
        free(cl);
    }

    /* --- report --- */
    printf("## Ingest (`ragd ingest --format jsonl --no-progress`, a child process)\n\n");
    if (ingest_s >= 0) {
        double mb = bench_file_size(corpus) / 1048576.0;
        printf("| documents | chunks | corpus MB | seconds | documents/s | chunks/s | MB/s | "
               "ingest peak RSS MB |\n|---|---|---|---|---|---|---|---|\n");
        printf("| %lld | %lld | %.2f | %.2f | %.0f | %.0f | %.2f | %.0f |\n\n", (long long)ndocs,
               (long long)nchunks, mb, ingest_s, ndocs / ingest_s, nchunks / ingest_s,
               mb / ingest_s, cru.ru_maxrss / 1024.0);
    } else {
        printf("skipped (--skip-ingest): %lld documents, %lld chunks already in %s\n\n",
               (long long)ndocs, (long long)nchunks, data);
    }
    printf("engine_open (store + local embedder + vector index snapshot load, %s): %.1f ms\n\n",
           eng.coll.settings.index_factory, open_s * 1e3);

    printf("## Query latency (%zu queries x %d passes, one at a time, one process, "
           "interleaved; k = %zu)\n\n",
           qs.n, o.reps, o.k);
    if (no_terms)
        printf("%zu queries have no content terms (no FTS5 baseline for them).\n\n", no_terms);
    printf("| measure | p50 ms | p90 ms | p99 ms | mean ms | QPS |\n|---|---|---|---|---|---|\n");
    bench_stats st[NMEAS];
    for (int m = 0; m < NMEAS; m++) {
        double *v = malloc(ns * sizeof *v);
        size_t nv = 0;
        for (size_t i = 0; i < ns; i++)
            if (lat[m][i] >= 0) v[nv++] = lat[m][i];
        st[m] = bench_summarize(v, nv);
        free(v);
        if (!on[m]) continue;
        printf("| %s | %.3f | %.3f | %.3f | %.3f | %.0f |\n", MEAS_NAME[m], st[m].p50 * 1e3,
               st[m].p90 * 1e3, st[m].p99 * 1e3, st[m].mean * 1e3, st[m].n / st[m].sum);
    }
    for (int m = 0; m < 3 && ncli; m++)
        printf("| `ragd search --mode %s` process (%zu queries) | %.3f | %.3f | %.3f | %.3f | %.0f "
               "|\n",
               CLI_MODES[m], ncli, cli_st[m].p50 * 1e3, cli_st[m].p90 * 1e3, cli_st[m].p99 * 1e3,
               cli_st[m].mean * 1e3, cli_st[m].n / cli_st[m].sum);
    printf("\n## Ratios (same run)\n\n| ragd | baseline | p50 ratio | mean ratio | median of "
           "per-query ratios |\n|---|---|---|---|---|\n");
    struct {
        int a, b;
    } pairs[] = {{M_LEXICAL, M_FTS5},          {M_HYBRID, M_FTS5},         {M_LEXSEARCH, M_FTS5},
                 {M_LEXICAL, M_LEXSEARCH},     {M_DENSE, M_EMBEDVEC},      {M_HYBRID, M_LEXICAL},
                 {M_EVAL_LEXICAL, M_FTS5_100}, {M_EVAL_HYBRID, M_FTS5_100}};
    for (size_t p = 0; p < sizeof pairs / sizeof pairs[0]; p++) {
        int a = pairs[p].a, b = pairs[p].b;
        if (!on[a] || !on[b]) continue;
        printf("| %s | %s | %.2f× | %.2f× | %.2f× |\n", MEAS_NAME[a], MEAS_NAME[b],
               st[a].p50 / st[b].p50, st[a].mean / st[b].mean, median_ratio(lat[a], lat[b], ns));
    }
    printf("\n## Where retrieve_search spends its time (mean ms per query, its own timing_ms)\n\n"
           "| mode | lexical | embed | dense | fuse | validate | total | results/query |\n"
           "|---|---|---|---|---|---|---|---|\n");
    for (int m = M_LEXICAL; m <= M_EVAL_HYBRID; m++) {
        stage_sum *s = &c.stages[m];
        double n = s->n ? (double)s->n : 1;
        if (!on[m]) continue;
        printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f | %.1f |\n", MEAS_NAME[m] + 23,
               s->lexical / n, s->embed / n, s->dense / n, s->fuse / n, s->validate / n,
               s->total / n, s->hits / n);
    }
    printf("\npeak RSS of this process (ru_maxrss): %.0f MB; timed loop %.1f s; total %.1f s\n",
           bench_maxrss_mb(RUSAGE_SELF), loop_s, bench_now() - t_start);
    printf("load average at the end: %.2f (2 cores: above ~1 means other processes competed "
           "for the CPU)\n",
           bench_loadavg());

    if (o.export && export_peers(&c, &qs, o.export)) return 1;
    if (o.json) {
        json_t *j = bench_jnew(argc, argv, start);
        json_t *ms = json_object();
        for (int m = 0; m < NMEAS; m++)
            if (on[m]) json_object_set_new(ms, MEAS_KEY[m], bench_jstats(st[m]));
        json_object_set_new(j, "measures", ms);
        if (!o.only) { /* the ratios need every measure */
            bench_jset(j, "lexical_ragd_over_fts5_ratio", st[M_LEXICAL].p50 / st[M_FTS5].p50);
            bench_jset(j, "hybrid_ragd_over_fts5_ratio", st[M_HYBRID].p50 / st[M_FTS5].p50);
            bench_jset(j, "lexical_ragd_over_fts5_paired",
                       median_ratio(lat[M_LEXICAL], lat[M_FTS5], ns));
            bench_jset(j, "hybrid_ragd_over_fts5_paired",
                       median_ratio(lat[M_HYBRID], lat[M_FTS5], ns));
            bench_jset(j, "dense_ragd_over_embed_vindex_ratio",
                       st[M_DENSE].p50 / st[M_EMBEDVEC].p50);
            bench_jset(j, "eval_lexical_k100_over_fts5_top100_ratio",
                       st[M_EVAL_LEXICAL].p50 / st[M_FTS5_100].p50);
            bench_jset(j, "eval_hybrid_k100_over_fts5_top100_ratio",
                       st[M_EVAL_HYBRID].p50 / st[M_FTS5_100].p50);
        }
        if (on[M_FTS5_100]) bench_jset(j, "fts5_top100_total_s", st[M_FTS5_100].sum / o.reps);
        bench_jset(j, "engine_open_ms", open_s * 1e3);
        json_object_set_new(j, "queries", json_integer((json_int_t)qs.n));
        json_object_set_new(j, "reps", json_integer(o.reps));
        json_object_set_new(j, "chunks", json_integer(nchunks));
        json_t *stg = json_object();
        for (int m = M_LEXICAL; m <= M_EVAL_HYBRID; m++) {
            stage_sum *s = &c.stages[m];
            double n = s->n ? (double)s->n : 1;
            if (!on[m]) continue;
            json_t *so = json_object();
            bench_jset(so, "lexical_ms", s->lexical / n);
            bench_jset(so, "embed_ms", s->embed / n);
            bench_jset(so, "dense_ms", s->dense / n);
            bench_jset(so, "fuse_ms", s->fuse / n);
            bench_jset(so, "validate_ms", s->validate / n);
            bench_jset(so, "total_ms", s->total / n);
            json_object_set_new(stg, MEAS_KEY[m], so);
        }
        json_object_set_new(j, "stages", stg);
        for (int m = 0; m < 3 && ncli; m++) {
            char key[64];
            snprintf(key, sizeof key, "cli_%s", CLI_MODES[m]);
            json_object_set_new(j, key, bench_jstats(cli_st[m]));
        }
        bench_jset(j, "peak_rss_mb", bench_maxrss_mb(RUSAGE_SELF));
        if (bench_jwrite(j, o.json, "bench_query")) return 1;
    }
    for (int m = 0; m < NMEAS; m++)
        free(lat[m]);
    for (size_t i = 0; i < qs.n; i++) {
        free(qs.text[i]);
        free(qs.id[i]);
        free(c.expr[i]);
    }
    free(qs.id);
    free(qs.text);
    free(c.expr);
    sqlite3_finalize(c.fts);
    sqlite3_finalize(c.fts100);
    engine_close(&eng);
    if (tmpdir[0]) {
        if (o.keep)
            fprintf(stderr, "bench_query: kept %s\n", tmpdir);
        else
            bench_rmtree(tmpdir);
    }
    return 0;
}
