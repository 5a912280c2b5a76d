/* retrieve/eval.c — BEIR evaluation: metrics and the query runner.
 * See eval.h for the metric definitions. */
#include "retrieve/eval.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/stat.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/json.h"
#include "ingest/ingest.h"

static int grade_of(const char *doc, const eval_judgement *j, size_t nj)
{
    for (size_t i = 0; i < nj; i++)
        if (!strcmp(j[i].doc_id, doc)) return j[i].grade;
    return 0;
}

static int cmp_grade_desc(const void *a, const void *b)
{
    return *(const int *)b - *(const int *)a;
}

double eval_ndcg(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj, size_t k)
{
    double dcg = 0, idcg = 0;
    for (size_t i = 0; i < n && i < k; i++) {
        int g = grade_of(ranking[i], j, nj);
        if (g > 0) dcg += g / log2((double)i + 2);
    }
    int *grades = ragd_xcalloc(nj ? nj : 1, sizeof *grades);
    for (size_t i = 0; i < nj; i++)
        grades[i] = j[i].grade;
    if (nj) qsort(grades, nj, sizeof *grades, cmp_grade_desc);
    for (size_t i = 0; i < nj && i < k; i++)
        if (grades[i] > 0) idcg += grades[i] / log2((double)i + 2);
    free(grades);
    return idcg > 0 ? dcg / idcg : 0;
}

double eval_recall(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj,
                   size_t k)
{
    size_t rel = 0, hit = 0;
    for (size_t i = 0; i < nj; i++)
        rel += j[i].grade > 0;
    if (!rel) return 0;
    for (size_t i = 0; i < n && i < k; i++)
        hit += grade_of(ranking[i], j, nj) > 0;
    return (double)hit / (double)rel;
}

double eval_mrr(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj, size_t k)
{
    for (size_t i = 0; i < n && i < k; i++)
        if (grade_of(ranking[i], j, nj) > 0) return 1.0 / (double)(i + 1);
    return 0;
}

/* --- loading ------------------------------------------------------------------- */

typedef struct {
    char *qid;
    eval_judgement *j;
    size_t n, cap;
} qrel;

typedef struct {
    qrel *v;
    size_t n, cap;
} qrels;

static qrel *qrel_get(qrels *q, const char *qid)
{
    for (size_t i = q->n; i > 0; i--)
        if (!strcmp(q->v[i - 1].qid, qid)) return &q->v[i - 1];
    ragd_array_grow((void **)&q->v, &q->cap, q->n + 1, sizeof *q->v);
    qrel *r = &q->v[q->n++];
    memset(r, 0, sizeof *r);
    r->qid = ragd_xstrdup(qid);
    return r;
}

static void qrels_free(qrels *q)
{
    for (size_t i = 0; i < q->n; i++) {
        for (size_t k = 0; k < q->v[i].n; k++)
            free((char *)q->v[i].j[k].doc_id);
        free(q->v[i].j);
        free(q->v[i].qid);
    }
    free(q->v);
}

static ragd_status load_qrels(const char *path, qrels *out, ragd_error *err)
{
    char *raw = NULL;
    size_t n = 0;
    ragd_status rc = ingest_read_file(path, 1u << 30, &raw, &n, err);
    if (rc) return ragd_error_prefix(err, "%s", path);
    size_t i = 0, line = 0;
    while (i < n) {
        char *nl = memchr(raw + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - raw) : n;
        raw[e] = '\0';
        line++;
        char *l = raw + i;
        i = e + 1;
        size_t len = strlen(l);
        if (len && l[len - 1] == '\r') l[len - 1] = '\0';
        if (!*l || (line == 1 && !strncmp(l, "query-id", 8))) continue;
        char *save = NULL;
        char *qid = strtok_r(l, "\t", &save);
        char *did = strtok_r(NULL, "\t", &save);
        char *sc = strtok_r(NULL, "\t", &save);
        if (!qid || !did || !sc) {
            free(raw);
            return ragd_error_set(err, RAGD_EINPUT,
                                  "%s:%zu: expected query-id<TAB>corpus-id<TAB>score", path, line);
        }
        qrel *q = qrel_get(out, qid);
        ragd_array_grow((void **)&q->j, &q->cap, q->n + 1, sizeof *q->j);
        q->j[q->n].doc_id = ragd_xstrdup(did);
        q->j[q->n].grade = atoi(sc);
        q->n++;
    }
    free(raw);
    return RAGD_OK;
}

/* Query texts by id, from queries.jsonl. */
static ragd_status load_queries(const char *path, json_t **out, ragd_error *err)
{
    char *raw = NULL;
    size_t n = 0;
    ragd_status rc = ingest_read_file(path, 1u << 30, &raw, &n, err);
    if (rc) return ragd_error_prefix(err, "%s", path);
    json_t *m = json_object();
    size_t i = 0, line = 0;
    while (i < n) {
        char *nl = memchr(raw + i, '\n', n - i);
        size_t e = nl ? (size_t)(nl - raw) : n;
        line++;
        if (e > i) {
            json_t *o = NULL;
            ragd_error pe;
            const char *id = NULL, *text = NULL;
            if (!ragd_json_parse_object(raw + i, e - i, &o, &pe)) {
                id = json_string_value(json_object_get(o, "_id"));
                text = json_string_value(json_object_get(o, "text"));
            }
            if (!id || !text) {
                json_decref(o);
                json_decref(m);
                free(raw);
                return ragd_error_set(err, RAGD_EINPUT, "%s:%zu: expected {\"_id\",\"text\"}", path,
                                      line);
            }
            json_object_set_new(m, id, json_string(text));
            json_decref(o);
        }
        i = e + 1;
    }
    free(raw);
    *out = m;
    return RAGD_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double percentile(double *v, size_t n, double p)
{
    if (!n) return 0;
    qsort(v, n, sizeof *v, cmp_double);
    size_t i = (size_t)ceil(p * (double)n) - 1;
    if (i >= n) i = n - 1;
    return v[i];
}

ragd_status eval_corpus_fingerprint(ragd_store *st, const ragd_collection *coll, const char *corpus,
                                    size_t max_bytes, char **out, ragd_error *err)
{
    *out = NULL;
    struct stat exe;
    if (stat("/proc/self/exe", &exe) != 0)
        return ragd_error_set(err, RAGD_EIO, "cannot identify the running binary");
    FILE *f = fopen(corpus, "rb");
    if (!f) return ragd_error_set(err, RAGD_EIO, "cannot read '%s'", corpus);
    char corpus_hex[RAGD_SHA256_HEX];
    int64_t bytes = 0;
    ragd_status rc = ragd_sha256_stream(f, corpus_hex, &bytes, err);
    fclose(f);
    if (rc) return rc;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT doc_key, content_hash FROM documents WHERE collection_id = ? "
                           "ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the collection's documents");
    sqlite3_bind_int64(q, 1, coll->id);
    ragd_buf docs = RAGD_BUF_INIT;
    int64_t ndocs = 0;
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        ragd_buf_append(&docs, (const char *)sqlite3_column_text(q, 0),
                        (size_t)sqlite3_column_bytes(q, 0));
        ragd_buf_putc(&docs, '\t');
        ragd_buf_append(&docs, (const char *)sqlite3_column_text(q, 1),
                        (size_t)sqlite3_column_bytes(q, 1));
        ragd_buf_putc(&docs, '\n');
        ndocs++;
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        ragd_buf_free(&docs);
        return store_sqlite_error(db, err, "cannot read the collection's documents");
    }
    char docs_hex[RAGD_SHA256_HEX];
    ragd_sha256_hex(docs.data ? docs.data : "", docs.len, docs_hex);
    ragd_buf_free(&docs);
    if (sqlite3_prepare_v2(db,
                           "SELECT count(*), coalesce(max(c.id), 0) FROM chunks c JOIN documents d "
                           "ON d.id = c.document_id WHERE d.collection_id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the collection's chunks");
    sqlite3_bind_int64(q, 1, coll->id);
    int64_t nchunks = 0, max_chunk = 0;
    if ((r = sqlite3_step(q)) == SQLITE_ROW) {
        nchunks = sqlite3_column_int64(q, 0);
        max_chunk = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_ROW) return store_sqlite_error(db, err, "cannot read the collection's chunks");
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_printf(&b,
                    "ragd eval corpus fingerprint 1\nbinary %lld %lld.%09ld\ncorpus %lld %s\n"
                    "max_bytes %zu\ncollection %lld documents %lld %s chunks %lld %lld\n",
                    (long long)exe.st_size, (long long)exe.st_mtim.tv_sec, exe.st_mtim.tv_nsec,
                    (long long)bytes, corpus_hex, max_bytes, (long long)coll->id, (long long)ndocs,
                    docs_hex, (long long)nchunks, (long long)max_chunk);
    *out = ragd_buf_steal(&b);
    return RAGD_OK;
}

ragd_status eval_beir(ragd_store *st, const ragd_collection *coll, const char *dir,
                      const eval_opts *o, json_t **out, ragd_error *err)
{
    *out = NULL;
    const char *split = o->split && *o->split ? o->split : "test";
    size_t k = o->k ? o->k : 100;
    ragd_buf qp = RAGD_BUF_INIT, rp = RAGD_BUF_INIT;
    ragd_buf_printf(&qp, "%s/queries.jsonl", dir);
    ragd_buf_printf(&rp, "%s/qrels/%s.tsv", dir, split);
    qrels qr = {0};
    json_t *queries = NULL;
    ragd_status rc = load_qrels(rp.data, &qr, err);
    if (!rc) rc = load_queries(qp.data, &queries, err);
    ragd_buf_free(&qp);
    ragd_buf_free(&rp);
    if (rc) {
        qrels_free(&qr);
        return rc;
    }
    FILE *pq = NULL;
    if (o->per_query && !(pq = fopen(o->per_query, "w"))) {
        qrels_free(&qr);
        json_decref(queries);
        return ragd_error_set(err, RAGD_EIO, "cannot write '%s'", o->per_query);
    }
    search_opts so = o->search;
    so.keep_all = true;
    so.k = k * 3; /* chunks: enough for k distinct documents */
    if (!so.candidates) so.candidates = so.k;
    double sum_ndcg = 0, sum_recall = 0, sum_mrr = 0;
    size_t nq = 0, survive = 0, with_rel = 0;
    size_t rr_used = 0, rr_failed = 0; /* queries reranked / whose rerank failed */
    char rr_error[RAGD_ERROR_MAX] = "";
    double *lat = ragd_xcalloc(qr.n ? qr.n : 1, sizeof *lat);
    for (size_t i = 0; i < qr.n && !rc; i++) {
        if (o->max_queries && nq >= o->max_queries) break;
        qrel *q = &qr.v[i];
        const char *text = json_string_value(json_object_get(queries, q->qid));
        size_t nrel = 0;
        for (size_t j = 0; j < q->n; j++)
            nrel += q->j[j].grade > 0;
        if (!text || !nrel) continue;
        if (o->subset && strcmp(o->subset, "all")) {
            uint64_t hsh = 1469598103934665603ULL;
            for (const char *c = q->qid; *c; c++)
                hsh = (hsh ^ (unsigned char)*c) * 1099511628211ULL;
            bool dev = hsh % 3 == 0;
            if (dev != !strcmp(o->subset, "dev")) continue;
        }
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        search_result sr;
        ragd_error qe;
        ragd_status qrc = retrieve_search(st, coll, text, &so, &sr, &qe);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        if (qrc == RAGD_EINPUT) { /* e.g. a query with no searchable text */
            memset(&sr, 0, sizeof sr);
        } else if (qrc) {
            rc = ragd_error_set(err, qrc, "query %s: %s", q->qid, qe.msg);
            break;
        }
        lat[nq] = (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6;
        json_t *rr = json_object_get(sr.validation, "rerank");
        if (rr && json_is_true(json_object_get(rr, "used"))) {
            rr_used++;
        } else if (rr) {
            rr_failed++;
            const char *m = json_string_value(json_object_get(rr, "error"));
            snprintf(rr_error, sizeof rr_error, "%s", m ? m : "unknown error");
        }
        /* Document ranking: first appearance of each document. */
        const char **rank = ragd_xcalloc(sr.n ? sr.n : 1, sizeof *rank);
        size_t nr = 0;
        /* Validation survival: among the relevant documents of the top 10
         * (before validation), does at least one pass it? */
        bool had_rel = false, survived = false;
        for (size_t h = 0; h < sr.n; h++) {
            const char *d = sr.hits[h].doc_id;
            bool seen = false;
            for (size_t r = 0; r < nr && !seen; r++)
                seen = !strcmp(rank[r], d);
            if (!seen && nr < k) rank[nr++] = d;
        }
        for (size_t h = 0; h < sr.n; h++) {
            const char *d = sr.hits[h].doc_id;
            size_t pos = 0;
            while (pos < nr && strcmp(rank[pos], d))
                pos++;
            if (pos >= 10 || grade_of(d, q->j, q->n) <= 0) continue;
            had_rel = true;
            if (sr.hits[h].passed) survived = true;
        }
        double nd = eval_ndcg(rank, nr, q->j, q->n, 10);
        double rc100 = eval_recall(rank, nr, q->j, q->n, k);
        double mrr = eval_mrr(rank, nr, q->j, q->n, 10);
        sum_ndcg += nd;
        sum_recall += rc100;
        sum_mrr += mrr;
        with_rel += had_rel;
        survive += survived;
        if (pq) {
            json_t *line = json_pack("{s:s,s:s,s:f,s:f,s:f,s:o,s:f}", "query_id", q->qid, "query",
                                     text, "ndcg@10", nd, "recall@k", rc100, "mrr@10", mrr,
                                     "relevant_survives_validation",
                                     had_rel ? json_boolean(survived) : json_null(), "ms", lat[nq]);
            json_t *top = json_array();
            for (size_t r = 0; r < nr; r++)
                json_array_append_new(top, json_string(rank[r]));
            json_object_set_new(line, "ranking", top);
            char *s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(6));
            fprintf(pq, "%s\n", s);
            free(s);
            json_decref(line);
        }
        free(rank);
        search_result_free(&sr);
        nq++;
    }
    if (pq) fclose(pq);
    json_t *off = NULL;
    if (!rc && o->offtopic) {
        json_t *oq = NULL;
        rc = load_queries(o->offtopic, &oq, err);
        size_t total = 0, rejected = 0;
        const char *qid;
        json_t *qv;
        search_opts vo = o->search; /* the validated search users get */
        vo.keep_all = false;
        vo.k = 10;
        vo.candidates = 0;
        json_object_foreach(oq, qid, qv)
        {
            if (rc) break;
            search_result sr;
            ragd_error qe;
            ragd_status qrc = retrieve_search(st, coll, json_string_value(qv), &vo, &sr, &qe);
            if (qrc == RAGD_EINPUT) {
                total++, rejected++;
                continue;
            }
            if (qrc) {
                rc = ragd_error_set(err, qrc, "off-topic query %s: %s", qid, qe.msg);
                break;
            }
            total++;
            rejected += !sr.relevant;
            search_result_free(&sr);
        }
        json_decref(oq);
        if (!rc)
            off = json_pack("{s:i,s:i,s:f}", "queries", (int)total, "rejected", (int)rejected,
                            "share", total ? (double)rejected / total : 0);
    }
    if (!rc) {
        double p50 = percentile(lat, nq, 0.50), p99 = percentile(lat, nq, 0.99);
        char rk[32];
        snprintf(rk, sizeof rk, "recall@%zu", k);
        *out =
            json_pack("{s:f,s:f,s:f,s:i,s:f,s:f,s:s,s:s,s:s,s:s,s:{s:f,s:i}}", "ndcg@10",
                      nq ? sum_ndcg / nq : 0, rk, nq ? sum_recall / nq : 0, "mrr@10",
                      nq ? sum_mrr / nq : 0, "queries", (int)nq, "p50_ms", p50, "p99_ms", p99,
                      "mode", so.mode ? so.mode : (so.embedder ? "hybrid" : "lexical"), "split",
                      split, "subset", o->subset ? o->subset : "all", "collection", coll->name,
                      "validation", "relevant_survive", with_rel ? (double)survive / with_rel : 0,
                      "queries_with_survivor", (int)survive);
        if (off) json_object_set_new(*out, "offtopic", off);
        if (so.reranker) /* a measurement with a failing reranker must say so */
            json_object_set_new(*out, "rerank",
                                json_pack("{s:i,s:i,s:s?}", "queries_reranked", (int)rr_used,
                                          "queries_failed", (int)rr_failed, "last_error",
                                          rr_failed ? rr_error : NULL));
    } else {
        json_decref(off);
    }
    free(lat);
    qrels_free(&qr);
    json_decref(queries);
    return rc;
}
