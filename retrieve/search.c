/* retrieve/search.c — the search pipeline: candidates -> validate.
 *
 * Candidates come from the lexical index (BM25). The validator then decides,
 * per candidate, whether it is relevant enough to be shown or used as context,
 * and records why each dropped candidate was dropped:
 *   - score: its BM25 score is below SEARCH_MIN_SCORE_RATIO of the best one;
 *   - coverage: the candidate covers too few of the query's content terms
 *     (counted over chunk text, heading path and title);
 *   - duplicate: the same text as a better-ranked candidate;
 *   - doc_cap: more than SEARCH_DOC_CAP chunks from one document.
 * When nothing passes, the result is marked not relevant and answer paths
 * must not call a generator.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/hash.h"
#include "core/text.h"
#include "index/lexical.h"
#include "retrieve/retrieve.h"

#define SEARCH_MAX_QUERY_BYTES 4096
#define SEARCH_MAX_K 1000
#define SEARCH_DOC_CAP 3
/* Candidates scoring below this share of the best candidate's score are
 * dropped (BM25 scores are only comparable within one query). */
#define SEARCH_MIN_SCORE_RATIO 0.2

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

void search_result_free(search_result *r)
{
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->hits[i].doc_id);
        free(r->hits[i].title);
        free(r->hits[i].heading_path);
        free(r->hits[i].text);
    }
    free(r->hits);
    free(r->query);
    json_decref(r->validation);
    memset(r, 0, sizeof *r);
}

/* Common-prefix stem match: exact, plural 's', or a shared prefix of at
 * least 4 bytes that leaves at most 3 bytes of either word unmatched. */
static bool stem_match(const char *a, size_t la, const char *b, size_t lb)
{
    if (la == lb && memcmp(a, b, la) == 0) return true;
    size_t p = 0;
    while (p < la && p < lb && a[p] == b[p]) p++;
    size_t shorter = la < lb ? la : lb, longer = la < lb ? lb : la;
    if (p == shorter && longer == shorter + 1 && (la > lb ? a[la - 1] : b[lb - 1]) == 's')
        return true;
    return p >= 4 && la - p <= 3 && lb - p <= 3;
}

double retrieve_term_coverage(char **terms, size_t nterms, const char *text, size_t len)
{
    if (!nterms) return 1.0;
    size_t flen;
    char *f = text_fold(text, len, false, &flen);
    ragd_span *w = NULL;
    size_t nw = text_words(f, flen, &w);
    size_t hit = 0;
    for (size_t t = 0; t < nterms; t++) {
        const char *term = terms[t];
        size_t tl = strlen(term);
        int32_t cp = 0;
        text_decode(term, tl, 0, &cp);
        bool found = false;
        if (text_is_cjk(cp)) {
            found = memmem(f, flen, term, tl) != NULL;
        } else {
            for (size_t i = 0; i < nw && !found; i++)
                found = stem_match(term, tl, f + w[i].start, w[i].end - w[i].start);
        }
        hit += found;
    }
    free(w);
    free(f);
    return (double)hit / (double)nterms;
}

static ragd_status load_hit(ragd_store *st, int64_t chunk_id, search_hit *h, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.parent_id, d.doc_key, d.title, c.heading_path, c.text, "
                           "c.start, c.end FROM chunks c JOIN documents d ON d.id = c.document_id "
                           "WHERE c.id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read search hit");
    sqlite3_bind_int64(q, 1, chunk_id);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        return store_sqlite_error(db, err, "search hit vanished");
    }
    h->chunk_id = chunk_id;
    h->parent_id = sqlite3_column_type(q, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 0);
    h->doc_id = ragd_xstrdup((const char *)sqlite3_column_text(q, 1));
    h->title = ragd_xstrdup((const char *)sqlite3_column_text(q, 2));
    h->heading_path = ragd_xstrdup((const char *)sqlite3_column_text(q, 3));
    h->text = ragd_xstrndup((const char *)sqlite3_column_text(q, 4), (size_t)sqlite3_column_bytes(q, 4));
    h->start = (size_t)sqlite3_column_int64(q, 5);
    h->end = (size_t)sqlite3_column_int64(q, 6);
    sqlite3_finalize(q);
    return RAGD_OK;
}

static void hit_free(search_hit *h)
{
    free(h->doc_id);
    free(h->title);
    free(h->heading_path);
    free(h->text);
}

static void drop(json_t *dropped, const search_hit *h, const char *reason, double value)
{
    json_t *o = json_pack("{s:I,s:s,s:s}", "chunk_id", (json_int_t)h->chunk_id, "doc_id",
                          h->doc_id, "reason", reason);
    if (value >= 0) json_object_set_new(o, "coverage", json_real(value));
    json_array_append_new(dropped, o);
}

ragd_status retrieve_search(ragd_store *st, const ragd_collection *coll, const char *query,
                            const search_opts *o, search_result *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    size_t qlen = strlen(query);
    const char *why = NULL;
    if (qlen > SEARCH_MAX_QUERY_BYTES)
        return ragd_error_set(err, RAGD_EINPUT, "query too long: %zu bytes (max %d)", qlen,
                              SEARCH_MAX_QUERY_BYTES);
    if (!text_utf8_check(query, qlen, NULL, &why))
        return ragd_error_set(err, RAGD_EINPUT, "query is not valid UTF-8 text (%s)", why);
    size_t nonspace = 0;
    for (size_t i = 0; i < qlen; i++) nonspace += !isspace((unsigned char)query[i]);
    if (!nonspace) return ragd_error_set(err, RAGD_EINPUT, "empty query");
    const char *mode = o->mode && *o->mode ? o->mode : "lexical";
    if (strcmp(mode, "lexical") != 0) {
        if (!strcmp(mode, "dense") || !strcmp(mode, "hybrid"))
            return ragd_error_set(err, RAGD_EUSAGE,
                                  "--mode %s needs the vector index, which this build does not "
                                  "have yet; use --mode lexical",
                                  mode);
        return ragd_error_set(err, RAGD_EUSAGE, "unknown --mode '%s' (lexical, dense, hybrid)",
                              mode);
    }
    size_t k = o->k ? o->k : 10;
    if (k > SEARCH_MAX_K)
        return ragd_error_set(err, RAGD_EUSAGE, "--k %zu is too large (max %d)", k, SEARCH_MAX_K);
    double min_cov = o->min_coverage >= 0 ? o->min_coverage : RETRIEVE_MIN_COVERAGE;

    /* Stage 1: candidates. */
    size_t kc = k * 5 > 50 ? k * 5 : 50;
    lexical_hit *lh = NULL;
    size_t nl = 0;
    ragd_status rc = lexical_search(st, coll->id, query, kc, &lh, &nl, err);
    if (rc) return rc;
    out->ms_candidates = ms_since(&t0);

    /* Stage 2: validate. */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char **terms = NULL;
    size_t nterms = lexical_terms(query, &terms);
    json_t *dropped = json_array();
    out->hits = ragd_xcalloc(k, sizeof *out->hits);
    char (*seen)[RAGD_SHA256_HEX] = ragd_xcalloc(nl ? nl : 1, sizeof *seen);
    size_t nseen = 0;
    size_t by_cov = 0, by_dup = 0, by_cap = 0, by_score = 0;
    double top_score = nl ? lh[0].score : 0;
    for (size_t i = 0; i < nl && out->n < k; i++) {
        search_hit h = {0};
        if ((rc = load_hit(st, lh[i].chunk_id, &h, err))) break;
        h.score = lh[i].score;
        ragd_buf all = RAGD_BUF_INIT;
        ragd_buf_printf(&all, "%s\n%s\n%s", h.title, h.heading_path, h.text);
        h.coverage = retrieve_term_coverage(terms, nterms, all.data, all.len);
        ragd_buf_free(&all);
        char hash[RAGD_SHA256_HEX];
        ragd_sha256_hex(h.text, strlen(h.text), hash);
        bool dup = false;
        for (size_t s = 0; s < nseen && !dup; s++) dup = strcmp(seen[s], hash) == 0;
        size_t per_doc = 0;
        for (size_t s = 0; s < out->n; s++) per_doc += strcmp(out->hits[s].doc_id, h.doc_id) == 0;
        if (top_score > 0 && h.score < SEARCH_MIN_SCORE_RATIO * top_score) {
            drop(dropped, &h, "score", -1);
            by_score++;
            hit_free(&h);
        } else if (h.coverage < min_cov) {
            drop(dropped, &h, "coverage", h.coverage);
            by_cov++;
            hit_free(&h);
        } else if (dup) {
            drop(dropped, &h, "duplicate", -1);
            by_dup++;
            hit_free(&h);
        } else if (per_doc >= SEARCH_DOC_CAP) {
            drop(dropped, &h, "doc_cap", -1);
            by_cap++;
            hit_free(&h);
        } else {
            memcpy(seen[nseen++], hash, RAGD_SHA256_HEX);
            out->hits[out->n++] = h;
        }
    }
    free(seen);
    free(lh);
    lexical_terms_free(terms, nterms);
    if (rc) {
        json_decref(dropped);
        search_result_free(out);
        return rc;
    }
    out->query = ragd_xstrdup(query);
    out->relevant = out->n > 0;
    out->validation = json_pack(
        "{s:b,s:i,s:i,s:{s:i,s:i,s:i,s:i},s:{s:f,s:f,s:i},s:o}", "relevant", out->relevant,
        "candidates", (int)nl, "kept", (int)out->n, "dropped_by", "score", (int)by_score,
        "coverage", (int)by_cov, "duplicate", (int)by_dup, "doc_cap", (int)by_cap, "thresholds",
        "min_score_ratio", SEARCH_MIN_SCORE_RATIO, "min_coverage", min_cov, "doc_cap",
        SEARCH_DOC_CAP, "dropped", dropped);
    if (!out->relevant)
        json_object_set_new(out->validation, "reason",
                            json_string(nl ? "no candidate covers enough of the query's terms"
                                           : "no candidate matches the query's terms"));
    out->ms_validate = ms_since(&t1);
    out->ms_total = ms_since(&t0);
    return RAGD_OK;
}

json_t *search_result_json(const search_result *r, const search_opts *o)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < r->n; i++) {
        const search_hit *h = &r->hits[i];
        json_t *e = json_object();
        json_object_set_new(e, "rank", json_integer((json_int_t)i + 1));
        json_object_set_new(e, "chunk_id", json_integer(h->chunk_id));
        json_object_set_new(e, "doc_id", json_string(h->doc_id));
        json_object_set_new(e, "title", json_string(h->title));
        json_object_set_new(e, "score", json_real(h->score));
        json_object_set_new(e, "text", json_string(h->text));
        json_object_set_new(e, "start", json_integer((json_int_t)h->start));
        json_object_set_new(e, "end", json_integer((json_int_t)h->end));
        json_object_set_new(e, "parent_id", h->parent_id ? json_integer(h->parent_id) : json_null());
        json_object_set_new(e, "heading_path", json_string(h->heading_path));
        json_object_set_new(e, "coverage", json_real(h->coverage));
        json_array_append_new(arr, e);
    }
    return json_pack("{s:s,s:s,s:o,s:b,s:O,s:{s:f,s:f,s:f}}", "query", r->query ? r->query : "",
                     "mode", o && o->mode && *o->mode ? o->mode : "lexical", "results", arr,
                     "relevant", r->relevant, "validation", r->validation, "timing_ms",
                     "candidates", r->ms_candidates, "validate", r->ms_validate, "total",
                     r->ms_total);
}
