/* retrieve/search.c — the search pipeline as small stages:
 *   plan -> candidates (lexical, dense) -> fuse -> rerank -> validate -> gate
 *   -> diversify -> cut
 * each a function with one input and one output (retrieve_search chains
 * them and times each for timing_ms).
 *
 * Candidates come from the lexical index (BM25) and/or the vector index
 * (cosine). Hybrid mode fuses them by score (BM25 relative to the query's
 * best + w_dense x cosine min-max scaled between the best and the cosine at
 * a fixed depth), or by weighted reciprocal rank fusion with --fusion rrf.
 *
 * Validation then works at two levels (measures in validate.h):
 *   - the query gate: the question counts as answerable from this
 *     collection only if one of the SEARCH_GATE_DEPTH best candidates has
 *     evidence >= min_evidence; otherwise nothing passes ("relevant": false)
 *     and answer paths must not call a generator;
 *   - per candidate, each drop recorded with its reason:
 *       score           fused score below SEARCH_MIN_SCORE_RATIO of the best;
 *       support         evidence below min_support;
 *       duplicate       the same text as a better candidate;
 *       near_duplicate  word 4-gram shingle Jaccard >= RETRIEVE_NEAR_DUP
 *                       with a better candidate;
 *       doc_cap         more than SEARCH_DOC_CAP chunks from one document.
 * Passing hits are finally ordered by maximal marginal relevance when
 * mmr_lambda < 1 (diversity), and cut to k.
 *
 * With a reranker (search_opts.reranker), a rerank stage between fusion and
 * validation (rerank_stage) scores the best RETRIEVE_RERANK_DEPTH fused
 * candidates and moves them to the front in its order. Validation then
 * changes in three ways for the reranked candidates:
 *   - the score rule is skipped: rerank scores have no common scale (TEI raw
 *     logits are often negative, probabilities are in (0, 1)), so "below 0.2
 *     of the best" means nothing for them, and judging them by their fused
 *     score would undo the rerank; candidates past the depth keep the rule,
 *     against the best fused score;
 *   - with min_rerank set, a candidate whose rerank score is below it (or
 *     that was not reranked) is dropped with reason "rerank";
 *   - MMR relevance is the rerank score min-max scaled to [0.05, 1] (0 for
 *     hits that were not reranked), since MMR divides by the largest score.
 * The evidence gate, support, duplicate and doc_cap rules are text-based and
 * apply unchanged.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"
#include "index/lexical.h"
#include "retrieve/attr_filter.h"
#include "retrieve/retrieve.h"
#include "retrieve/validate.h"
#include "retrieve/words_blob.h"

#define SEARCH_MAX_QUERY_BYTES 4096
#define SEARCH_MAX_K 1000
#define SEARCH_DOC_CAP 3
/* Candidates scoring below this share of the best candidate's score are
 * dropped (BM25 scores are only comparable within one query). */
#define SEARCH_MIN_SCORE_RATIO 0.2
/* The query gate looks at this many of the best passing candidates. */
#define SEARCH_GATE_DEPTH 10
/* Depth of the dense list whose last cosine is the floor of the min-max
 * scaling in score fusion (docs/quality.md: with the floor taken at the
 * candidate list's own end, the scaling moved with k). */
#define SEARCH_DENSE_NORM_DEPTH 1000

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

double retrieve_term_coverage(char **terms, size_t nterms, const char *text, size_t len)
{
    return retrieve_term_coverage_w(terms, NULL, nterms, text, len);
}

double retrieve_term_coverage_w(char **terms, const double *weights, size_t nterms,
                                const char *text, size_t len)
{
    vwords v;
    vwords_init(&v, text, len);
    const vwords *texts[1] = {&v};
    double c = validate_term_coverage(terms, weights, nterms, texts, 1);
    vwords_free(&v);
    return c;
}

void search_opts_init(search_opts *o)
{
    memset(o, 0, sizeof *o);
    o->min_evidence = o->min_support = o->cosine_floor = o->mmr_lambda = -1;
}

/* The candidate lookup, prepared once per connection (store_prepare). The
 * document's summary is not read here: a query's candidates share
 * documents, and json_extract of the summary (~2 KB of JSON on SciFact)
 * was a fifth of the lookup; load_summary reads it once per document. */
#define LOAD_HIT_SQL                                                                               \
    "SELECT c.parent_id, d.doc_key, d.title, c.heading_path, c.text, "                             \
    "c.start, c.end, d.metadata, "                                                                 \
    "c.ord < 0 AND json_extract(c.meta, '$.kind') = 'summary', "                                   \
    "json_extract(c.meta, '$.page'), json_extract(c.meta, '$.page_end'), c.document_id, "          \
    "c.chunk_words FROM chunks c JOIN documents d ON d.id = "                                      \
    "c.document_id WHERE c.id = ? AND d.collection_id = ?"

/* The summary's words as stored (schema v8, retrieve/words_blob.h), and the
 * summary text only when they are not (a row from before v8 whose summary
 * JSON is not valid: json_extract fails on it as it always did). */
#define LOAD_SUMMARY_SQL                                                                           \
    "SELECT summary_words, CASE WHEN summary_words IS NULL THEN "                                  \
    "json_extract(summary, '$.summary_text') END FROM documents WHERE id = ?"
#define LOAD_SUMMARY_TEXT_SQL                                                                      \
    "SELECT json_extract(summary, '$.summary_text') FROM documents WHERE id = ?"

/* Load a candidate's fields. With meta not NULL, also its document's
 * metadata JSON (malloc'd) for --filter; with doc not NULL, its document's
 * row id; with words not NULL, its content words (vwords_init_chunk of its
 * title, heading path and text) decoded from chunks.chunk_words, and
 * *have_words whether they were (false: NULL or malformed, the caller
 * folds the text). */
static ragd_status load_hit(ragd_store *st, int64_t coll, int64_t chunk_id, search_hit *h,
                            char **meta, int64_t *doc, vwords *words, bool *have_words,
                            ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (store_prepare(st, LOAD_HIT_SQL, &q) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read search hit");
    sqlite3_bind_int64(q, 1, chunk_id);
    sqlite3_bind_int64(q, 2, coll);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        ragd_status rc = r == SQLITE_DONE ? RAGD_ENOTFOUND /* a dense hit deleted since the
                                                              snapshot: skip it */
                                          : store_sqlite_error(db, err, "cannot read search hit");
        store_release(st, q);
        return rc;
    }
    h->chunk_id = chunk_id;
    h->parent_id = sqlite3_column_type(q, 0) == SQLITE_NULL ? 0 : sqlite3_column_int64(q, 0);
    h->doc_id = ragd_xstrdup((const char *)sqlite3_column_text(q, 1));
    h->title = ragd_xstrdup((const char *)sqlite3_column_text(q, 2));
    h->heading_path = ragd_xstrdup((const char *)sqlite3_column_text(q, 3));
    h->text =
        ragd_xstrndup((const char *)sqlite3_column_text(q, 4), (size_t)sqlite3_column_bytes(q, 4));
    h->start = (size_t)sqlite3_column_int64(q, 5);
    h->end = (size_t)sqlite3_column_int64(q, 6);
    if (meta) *meta = ragd_xstrdup((const char *)sqlite3_column_text(q, 7));
    h->summary = sqlite3_column_int(q, 8) != 0;
    h->page = sqlite3_column_int(q, 9);
    h->page_end = sqlite3_column_type(q, 10) == SQLITE_NULL ? h->page : sqlite3_column_int(q, 10);
    if (doc) *doc = sqlite3_column_int64(q, 11);
    if (words) {
        const void *b = sqlite3_column_blob(q, 12);
        *have_words = b && words_blob_decode(b, (size_t)sqlite3_column_bytes(q, 12), words, NULL);
    }
    store_release(st, q);
    return RAGD_OK;
}

/* Steps the cached statement sql for document doc: on RAGD_OK *q holds
 * the statement (the caller releases it with store_release) and *row
 * whether the document's row exists; on an error nothing is held. */
static ragd_status summary_row(ragd_store *st, const char *sql, int64_t doc, sqlite3_stmt **q,
                               bool *row, ragd_error *err)
{
    if (store_prepare(st, sql, q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot read document summary");
    sqlite3_bind_int64(*q, 1, doc);
    int r = sqlite3_step(*q);
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        ragd_status rc = store_sqlite_error(store_db(st), err, "cannot read document summary");
        store_release(st, *q);
        *q = NULL;
        return rc;
    }
    *row = r == SQLITE_ROW;
    return RAGD_OK;
}

/* Document doc's summary text into *summary (malloc'd; "" when it has none
 * or the row is gone). Runs in the same read transaction as the candidate
 * lookups (retrieve_search), so it sees the row load_hit joined. */
static ragd_status load_summary_text(ragd_store *st, int64_t doc, char **summary, ragd_error *err)
{
    *summary = NULL;
    sqlite3_stmt *q;
    bool row;
    ragd_status rc = summary_row(st, LOAD_SUMMARY_TEXT_SQL, doc, &q, &row, err);
    if (rc) return rc;
    const unsigned char *sum = row ? sqlite3_column_text(q, 0) : NULL;
    *summary = ragd_xstrdup(sum ? (const char *)sum : "");
    store_release(st, q);
    return RAGD_OK;
}

/* Document doc's summary words into *w, *has whether it has a summary text
 * (w is then filled; released by vwords_free): decoded from
 * documents.summary_words, or folded from the summary text when that is
 * NULL or malformed (the same words). */
static ragd_status load_summary(ragd_store *st, int64_t doc, vwords *w, bool *has, ragd_error *err)
{
    *has = false;
    sqlite3_stmt *q;
    bool row;
    ragd_status rc = summary_row(st, LOAD_SUMMARY_SQL, doc, &q, &row, err);
    if (rc) return rc;
    if (!row) { /* the row is gone: no summary */
        store_release(st, q);
        return RAGD_OK;
    }
    const void *b = sqlite3_column_blob(q, 0);
    bool decoded = false;
    char *summary = NULL;
    if (sqlite3_column_type(q, 0) != SQLITE_NULL) { /* x'' is malformed, not NULL */
        decoded = b && words_blob_decode(b, (size_t)sqlite3_column_bytes(q, 0), w, has);
    } else {
        const unsigned char *sum = sqlite3_column_text(q, 1);
        summary = ragd_xstrdup(sum ? (const char *)sum : "");
    }
    store_release(st, q);
    if (decoded) {
        if (!*has) vwords_free(w);
        return RAGD_OK;
    }
    if (!summary) { /* a malformed blob: read the text */
        rc = load_summary_text(st, doc, &summary, err);
        if (rc) return rc;
    }
    *has = *summary != '\0';
    if (*has) vwords_init(w, summary, strlen(summary));
    free(summary);
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
    json_t *o = json_pack("{s:I,s:s,s:s}", "chunk_id", (json_int_t)h->chunk_id, "doc_id", h->doc_id,
                          "reason", reason);
    json_object_set_new(o, "evidence", json_real(value));
    if (h->reranked) json_object_set_new(o, "rerank_score", json_real(h->rerank_score));
    json_array_append_new(dropped, o);
}

static bool metadata_matches(const char *meta, const char *const *filters, size_t n);

/* Whether search o filters documents, and whether meta passes. */
static bool filtered(const search_opts *o)
{
    return o->nfilters || o->attr_filter;
}

static bool passes(const search_opts *o, const char *meta)
{
    return (!o->nfilters || metadata_matches(meta, o->filters, o->nfilters)) &&
           (!o->attr_filter || attr_filter_match_text(o->attr_filter, meta));
}

/* Does the document's metadata (JSON object text) satisfy every "key=value"
 * filter? Strings compare exactly; numbers and booleans by their JSON text
 * ("year=2024", "draft=false"). */
static bool metadata_matches(const char *meta, const char *const *filters, size_t n)
{
    if (!n) return true;
    json_t *m = json_loads(meta ? meta : "{}", 0, NULL);
    bool ok = m != NULL;
    for (size_t i = 0; i < n && ok; i++) {
        const char *eq = strchr(filters[i], '=');
        if (!eq) {
            ok = false;
            break;
        }
        char key[128];
        snprintf(key, sizeof key, "%.*s", (int)(eq - filters[i]), filters[i]);
        json_t *v = json_object_get(m, key);
        if (json_is_string(v)) {
            ok = !strcmp(json_string_value(v), eq + 1);
        } else if (v && !json_is_null(v)) {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            ok = t && !strcmp(t, eq + 1);
            free(t);
        } else {
            ok = false;
        }
    }
    json_decref(m);
    return ok;
}

/* A candidate from either list, before validation. */
typedef struct {
    int64_t chunk_id;
    double lex, dense, fused;
    int lex_rank, dense_rank;
    double rerank; /* the reranker's score, when reranked */
    bool reranked;
} candidate;

static int cand_by_fused(const void *a, const void *b)
{
    const candidate *x = a, *y = b;
    if (x->fused != y->fused) return x->fused < y->fused ? 1 : -1;
    return x->chunk_id < y->chunk_id ? -1 : x->chunk_id > y->chunk_id;
}

static candidate *cand_find_or_add(candidate **v, size_t *n, size_t *cap, int64_t id)
{
    for (size_t i = 0; i < *n; i++)
        if ((*v)[i].chunk_id == id) return &(*v)[i];
    ragd_array_grow((void **)v, cap, *n + 1, sizeof **v);
    candidate *c = &(*v)[(*n)++];
    memset(c, 0, sizeof *c);
    c->chunk_id = id;
    return c;
}

typedef struct {
    candidate c;
    size_t pos; /* position in fused order */
} ranked_cand;

static int cand_by_rerank(const void *a, const void *b)
{
    const ranked_cand *x = a, *y = b;
    if (x->c.reranked != y->c.reranked) return x->c.reranked ? -1 : 1;
    if (x->c.reranked && x->c.rerank != y->c.rerank) return x->c.rerank < y->c.rerank ? 1 : -1;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* The rerank stage: send the first `depth` candidates of cv (fused order)
 * that exist and pass the filters to o->reranker as title, heading path and
 * text, then reorder the scanned prefix of cv: reranked candidates best
 * first (ties in fused order), then the skipped ones. *report receives the
 * validation's "rerank" object. A reranker failure is not an error (cv
 * stays in fused order, *used false); a store error is. */
static ragd_status rerank_stage(ragd_store *st, int64_t coll, const char *query,
                                const search_opts *o, candidate *cv, size_t nc, json_t **report,
                                bool *used, ragd_error *err)
{
    size_t depth = o->rerank_depth ? o->rerank_depth : RETRIEVE_RERANK_DEPTH;
    if (depth > RERANK_MAX_TEXTS) depth = RERANK_MAX_TEXTS;
    size_t cap = depth < nc ? depth : nc, m = 0, scanned = 0;
    char **texts = ragd_xcalloc(cap ? cap : 1, sizeof *texts);
    size_t *idx = ragd_xcalloc(cap ? cap : 1, sizeof *idx);
    double *sc = ragd_xcalloc(cap ? cap : 1, sizeof *sc);
    ragd_status rc = RAGD_OK;
    for (; scanned < nc && m < cap; scanned++) {
        search_hit h = {0};
        char *meta = NULL;
        ragd_status lr = load_hit(st, coll, cv[scanned].chunk_id, &h, filtered(o) ? &meta : NULL,
                                  NULL, NULL, NULL, err);
        if (lr == RAGD_ENOTFOUND) continue;
        if ((rc = lr)) break;
        bool keep = passes(o, meta);
        free(meta);
        if (keep) {
            ragd_buf b = RAGD_BUF_INIT;
            const char *parts[3] = {h.title, h.heading_path, h.text};
            for (int p = 0; p < 3; p++)
                if (parts[p] && *parts[p]) ragd_buf_printf(&b, "%s%s", b.len ? "\n" : "", parts[p]);
            texts[m] = ragd_buf_steal(&b);
            idx[m++] = scanned;
        }
        hit_free(&h);
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    rerank_usage u = {0, 0, 0, 0};
    ragd_error rerr;
    ragd_error_clear(&rerr);
    ragd_status rr =
        rc ? rc : reranker_rerank(o->reranker, query, (const char *const *)texts, m, sc, &u, &rerr);
    double ms = ms_since(&t0);
    *used = !rr;
    if (!rc) {
        const char *model = reranker_model(o->reranker);
        *report =
            json_pack("{s:b,s:o,s:s,s:f,s:i,s:i,s:i,s:i}", "used", *used, "model",
                      model ? json_string(model) : json_null(), "protocol",
                      reranker_protocol(o->reranker), "ms", ms, "candidates", (int)(*used ? m : 0),
                      "depth", (int)depth, "calls", (int)u.calls, "retries", (int)u.retries);
        json_object_set_new(*report, "min_rerank",
                            o->min_rerank_set ? json_real(o->min_rerank) : json_null());
        if (!*used) {
            json_object_set_new(*report, "error", json_string(rerr.msg));
            log_write(LOG_WARN, "reranker failed; results keep the fused order", "error", rerr.msg,
                      NULL);
        }
    }
    if (!rc && *used && m) {
        for (size_t k = 0; k < m; k++) {
            cv[idx[k]].rerank = sc[k];
            cv[idx[k]].reranked = true;
        }
        ranked_cand *rcv = ragd_xcalloc(scanned, sizeof *rcv);
        for (size_t i = 0; i < scanned; i++)
            rcv[i] = (ranked_cand){cv[i], i};
        qsort(rcv, scanned, sizeof *rcv, cand_by_rerank);
        for (size_t i = 0; i < scanned; i++)
            cv[i] = rcv[i].c;
        free(rcv);
    }
    for (size_t k = 0; k < m; k++)
        free(texts[k]);
    free(texts);
    free(idx);
    free(sc);
    return rc;
}

/* --- the pipeline stages ----------------------------------------------------------
 * Each stage takes the previous stage's output and keeps no state of its
 * own: everything a query needs lives in its plan, its candidate list and
 * its verdicts, so concurrent searches share nothing but the store and the
 * (read-locked) index. */

/* One search's settings, resolved from search_opts and the defaults. */
typedef struct {
    const char *mode; /* static */
    bool use_lex, use_dense, rrf;
    size_t k;    /* results wanted */
    size_t kc;   /* candidates per channel */
    size_t pool; /* passing hits collected for diversity */
    double min_evidence, min_support, cos_floor, mmr, rrf_k, w_lex, w_dense;
} search_plan;

/* Candidates of both channels, fused order after stage_fuse. */
typedef struct {
    candidate *v;
    size_t n, cap;
    double dense_floor; /* cosine at SEARCH_DENSE_NORM_DEPTH; 2 = no dense list */
    double top_score;   /* the best fused score */
} cand_list;

/* What validation decided, for the gate, diversity and the report. */
typedef struct {
    json_t *dropped;
    hash_set *shingles, *wordsets; /* per collected hit (pool entries); shingles only of the
                                      passing ones, word sets only for MMR */
    neardup_index near;            /* the passing hits' shingles */
    size_t *text_len;              /* per collected hit: strlen of its text */
    size_t by_support, by_dup, by_near, by_cap, by_score, by_rerank, npassed, gate_seen;
    size_t nterms;
    double best_evidence;
    bool gate;
} verdicts;

/* Stage 0: check the query and resolve the settings. */
static ragd_status stage_plan(const ragd_collection *coll, const char *query, const search_opts *o,
                              search_plan *p, ragd_error *err)
{
    (void)coll;
    memset(p, 0, sizeof *p);
    size_t qlen = strlen(query);
    const char *why = NULL;
    if (qlen > SEARCH_MAX_QUERY_BYTES)
        return ragd_error_set(err, RAGD_EINPUT, "query too long: %zu bytes (max %d)", qlen,
                              SEARCH_MAX_QUERY_BYTES);
    if (!text_utf8_check(query, qlen, NULL, &why))
        return ragd_error_set(err, RAGD_EINPUT, "query is not valid UTF-8 text (%s)", why);
    size_t nonspace = 0;
    for (size_t i = 0; i < qlen; i++)
        nonspace += !isspace((unsigned char)query[i]);
    if (!nonspace) return ragd_error_set(err, RAGD_EINPUT, "empty query");
    bool have_dense = o->embedder && o->vindex;
    const char *mode = o->mode && *o->mode ? o->mode : (have_dense ? "hybrid" : "lexical");
    if (!strcmp(mode, "lexical")) {
        p->mode = "lexical", p->use_lex = true;
    } else if (!strcmp(mode, "dense")) {
        p->mode = "dense", p->use_dense = true;
    } else if (!strcmp(mode, "hybrid")) {
        p->mode = "hybrid", p->use_lex = p->use_dense = true;
    } else {
        return ragd_error_set(err, RAGD_EUSAGE, "unknown --mode '%s' (hybrid, dense, lexical)",
                              mode);
    }
    if (p->use_dense && !have_dense)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--mode %s needs the collection's embedder and vector index", mode);
    p->k = o->k ? o->k : 10;
    if (p->k > SEARCH_MAX_K)
        return ragd_error_set(err, RAGD_EUSAGE, "--k %zu is too large (max %d)", p->k,
                              SEARCH_MAX_K);
    p->min_evidence = o->min_evidence >= 0          ? o->min_evidence
                      : !strcmp(p->mode, "lexical") ? RETRIEVE_MIN_EVIDENCE_LEXICAL
                                                    : RETRIEVE_MIN_EVIDENCE;
    p->min_support = o->min_support >= 0 ? o->min_support : RETRIEVE_MIN_SUPPORT;
    p->cos_floor = o->cosine_floor >= 0 ? o->cosine_floor : RETRIEVE_COSINE_FLOOR;
    p->mmr = o->mmr_lambda >= 0 ? o->mmr_lambda : RETRIEVE_MMR_LAMBDA;
    p->rrf_k = o->rrf_k > 0 ? o->rrf_k : RETRIEVE_RRF_K;
    p->w_lex = o->w_lexical > 0 ? o->w_lexical : RETRIEVE_W_LEXICAL;
    p->w_dense = o->w_dense > 0 ? o->w_dense : RETRIEVE_W_DENSE;
    p->rrf = o->fusion && !strcmp(o->fusion, "rrf");
    p->kc = o->candidates ? o->candidates : (p->k * 10 > 100 ? p->k * 10 : 100);
    if (filtered(o) && !o->candidates) p->kc *= 4; /* filters drop candidates after retrieval */
    /* Collect more passing hits than k so that diversity (MMR) has
     * alternatives to choose from; evaluation keeps exactly k in fused order. */
    p->pool = o->keep_all ? p->k : (p->mmr < 1 ? 2 * p->k : p->k);
    return RAGD_OK;
}

/* Stage 1a: lexical candidates (BM25). */
static ragd_status stage_lexical(ragd_store *st, const ragd_collection *coll, const char *query,
                                 const search_plan *p, cand_list *cl, ragd_error *err)
{
    lexical_hit *lh = NULL;
    size_t nl = 0;
    ragd_status rc = lexical_search(st, coll->id, query, p->kc, &lh, &nl, err);
    if (rc) return rc;
    for (size_t i = 0; i < nl; i++) {
        candidate *c = cand_find_or_add(&cl->v, &cl->n, &cl->cap, lh[i].chunk_id);
        c->lex = lh[i].score;
        c->lex_rank = (int)i + 1;
    }
    free(lh);
    return RAGD_OK;
}

/* Stage 1b: dense candidates (cosine): embed the query, then search the
 * index deeper than the candidate list, since the cosine at a fixed depth
 * is the floor of the min-max scaling in score fusion (so the scaling, and
 * the ranking, does not depend on k). */
static ragd_status stage_dense(const ragd_collection *coll, const char *query, const search_opts *o,
                               const search_plan *p, cand_list *cl, double *ms_embed,
                               ragd_error *err)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int dim = embedder_dim(o->embedder);
    float *qv = ragd_xcalloc((size_t)(dim > 0 ? dim : 1), sizeof *qv);
    const char *texts[1] = {query};
    ragd_status rc = embedder_embed(o->embedder, texts, NULL, 1, qv, o->embed_usage, err);
    if (!rc && embedder_dim(o->embedder) != coll->settings.dim)
        rc = ragd_error_set(err, RAGD_EPROVIDER,
                            "embedder returned %d-d vectors, the collection expects %d-d",
                            embedder_dim(o->embedder), coll->settings.dim);
    *ms_embed = ms_since(&t0);
    vindex_hit *vh = NULL;
    size_t nv = 0;
    if (!rc) {
        vindex_normalize(qv, coll->settings.dim);
        size_t kd = p->kc > SEARCH_DENSE_NORM_DEPTH ? p->kc : SEARCH_DENSE_NORM_DEPTH;
        rc = vindex_search(o->vindex, qv, kd, &vh, &nv, err);
    }
    free(qv);
    if (rc) return rc;
    if (nv) cl->dense_floor = vh[nv - 1].score;
    if (nv > p->kc) nv = p->kc;
    for (size_t i = 0; i < nv; i++) {
        candidate *c = cand_find_or_add(&cl->v, &cl->n, &cl->cap, vh[i].chunk_id);
        c->dense = vh[i].score;
        c->dense_rank = (int)i + 1;
    }
    free(vh);
    return RAGD_OK;
}

/* Stage 2: fuse the two lists (score fusion or weighted RRF), or take the
 * one list; sort by the fused score. */
static void stage_fuse(const search_plan *p, cand_list *cl)
{
    double lex_max = 0, dense_max = -1, dense_min = cl->dense_floor < 2 ? cl->dense_floor : 1;
    for (size_t i = 0; i < cl->n; i++) {
        if (cl->v[i].lex_rank && cl->v[i].lex > lex_max) lex_max = cl->v[i].lex;
        if (cl->v[i].dense_rank && cl->v[i].dense > dense_max) dense_max = cl->v[i].dense;
    }
    for (size_t i = 0; i < cl->n; i++) {
        candidate *c = &cl->v[i];
        if (p->use_lex && p->use_dense && p->rrf) {
            c->fused = (c->lex_rank ? p->w_lex / (p->rrf_k + c->lex_rank) : 0) +
                       (c->dense_rank ? p->w_dense / (p->rrf_k + c->dense_rank) : 0);
        } else if (p->use_lex && p->use_dense) {
            /* Score fusion: BM25 relative to the best, cosine min-max scaled
             * over the dense list; a channel that missed the candidate adds 0. */
            double l = c->lex_rank && lex_max > 0 ? c->lex / lex_max : 0;
            double d = c->dense_rank && dense_max > dense_min
                           ? (c->dense - dense_min) / (dense_max - dense_min)
                           : 0;
            c->fused = p->w_lex * l + p->w_dense * d;
        } else {
            c->fused = p->use_lex ? c->lex : c->dense;
        }
    }
    if (cl->n) qsort(cl->v, cl->n, sizeof *cl->v, cand_by_fused);
    cl->top_score = cl->n ? cl->v[0].fused : 0;
}

/* The query's words as validation needs them. */
typedef struct {
    char **terms;
    size_t nterms;
    double *idf;          /* coverage is weighted by idf: the rare words of a question matter */
    unsigned char *found; /* per term, for the candidate being measured (cover_terms) */
    vwords words;
    validate_query_index ix; /* terms and words by first byte (validate.h) */
} query_words;

static void query_words_free(query_words *q)
{
    free(q->idf);
    free(q->found);
    validate_query_index_free(&q->ix);
    lexical_terms_free(q->terms, q->nterms);
    vwords_free(&q->words);
}

/* The folded words of a document's summary, once per document per query
 * (a document's chunks share it). */
typedef struct {
    int64_t doc;
    bool has; /* the document has a summary text */
    vwords w;
} summary_words;

typedef struct {
    summary_words *v;
    size_t n, cap;
} summary_cache;

/* The words of document doc's summary in *out (NULL when it has none),
 * reading it from the store on the document's first candidate only. */
static ragd_status summary_cache_get(summary_cache *c, ragd_store *st, int64_t doc,
                                     const vwords **out, ragd_error *err)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].doc == doc) {
            *out = c->v[i].has ? &c->v[i].w : NULL;
            return RAGD_OK;
        }
    vwords w = {0};
    bool has = false;
    ragd_status rc = load_summary(st, doc, &w, &has, err);
    if (rc) return rc;
    ragd_array_grow((void **)&c->v, &c->cap, c->n + 1, sizeof *c->v);
    summary_words *e = &c->v[c->n++];
    memset(e, 0, sizeof *e);
    e->doc = doc;
    e->has = has;
    if (has) e->w = w;
    *out = e->has ? &e->w : NULL;
    return RAGD_OK;
}

static void summary_cache_free(summary_cache *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->v[i].has) vwords_free(&c->v[i].w);
    free(c->v);
}

/* The measures of one loaded hit against the query: coverage (of the terms
 * q->found marks as found in the hit's words or its document's summary),
 * phrase coverage (the chunk's words tw), evidence. */
static void measure_hit(search_hit *h, query_words *q, const search_plan *p, const vwords *tw)
{
    h->coverage = validate_coverage_of(q->found, q->idf, q->nterms);
    h->phrase = validate_phrase_coverage_ix(&q->ix, &q->words, tw);
    double cos_excess = p->use_dense && h->dense_rank ? h->dense_score - p->cos_floor : 0;
    h->evidence =
        h->coverage + h->phrase + RETRIEVE_COSINE_WEIGHT * (cos_excess > 0 ? cos_excess : 0);
}

/* Which query terms hit h covers, into q->found: its own words tw first,
 * and only if one is missing its document's summary (read and split once
 * per document, and not at all when every chunk of it covers every term). */
static ragd_status cover_terms(ragd_store *st, summary_cache *sc, int64_t doc, query_words *q,
                               const vwords *tw, ragd_error *err)
{
    if (!q->nterms) return RAGD_OK;
    memset(q->found, 0, q->nterms);
    if (validate_terms_found_ix(&q->ix, q->terms, q->nterms, tw, q->found) == q->nterms)
        return RAGD_OK;
    const vwords *sw = NULL;
    ragd_status rc = summary_cache_get(sc, st, doc, &sw, err);
    if (!rc && sw) validate_terms_found_ix(&q->ix, q->terms, q->nterms, sw, q->found);
    return rc;
}

/* The per-candidate rules (file comment): the reason h is dropped, or NULL
 * when it passes, given the hits kept so far. The near-duplicate rule is
 * only reached when the earlier rules pass; it fills *sh with the hit's
 * shingles (from tw), which a passing hit therefore always has. */
static const char *judge_hit(const search_hit *h, size_t text_len, const vwords *tw, hash_set *sh,
                             const search_result *out, verdicts *vd, const cand_list *cl,
                             const search_plan *p, const search_opts *o, bool reranked)
{
    bool score_ok = !(cl->top_score > 0 && h->fused_score < SEARCH_MIN_SCORE_RATIO * cl->top_score);
    if (!p->use_lex) score_ok = true; /* cosine is absolute: judged by the evidence */
    if (h->reranked) score_ok = true; /* judged by the reranker (file comment) */
    if (!score_ok) return "score";
    bool rerank_ok =
        !(reranked && o->min_rerank_set && (!h->reranked || h->rerank_score < o->min_rerank));
    if (!rerank_ok) return "rerank";
    if (h->evidence < p->min_support) return "support";
    /* Texts compare by length first (strcmp up to the first NUL: strlen is
     * that length): with keep_all (eval) each of ~300 candidates meets every
     * earlier passing one here. */
    for (size_t s = 0; s < out->n; s++)
        if (out->hits[s].passed && vd->text_len[s] == text_len &&
            !memcmp(out->hits[s].text, h->text, text_len))
            return "duplicate";
    hash_set_shingles(sh, tw, 4);
    if (neardup_any(&vd->near, sh, vd->shingles)) return "near_duplicate";
    if (o->keep_all) return NULL; /* no per-document cap: the count is not needed */
    size_t per_doc = 0;
    for (size_t s = 0; s < out->n; s++)
        per_doc += out->hits[s].passed && strcmp(out->hits[s].doc_id, h->doc_id) == 0;
    if (per_doc >= SEARCH_DOC_CAP) return "doc_cap";
    return NULL;
}

static void count_drop(verdicts *vd, const char *reason)
{
    vd->by_score += !strcmp(reason, "score");
    vd->by_rerank += !strcmp(reason, "rerank");
    vd->by_support += !strcmp(reason, "support");
    vd->by_dup += !strcmp(reason, "duplicate");
    vd->by_near += !strcmp(reason, "near_duplicate");
    vd->by_cap += !strcmp(reason, "doc_cap");
}

/* Stage 3: validate candidates in order until the pool is full: load each
 * (skipping chunks deleted meanwhile and documents the metadata filters
 * exclude), measure it, judge it, and collect it; the best passing ones
 * feed the query gate. */
static ragd_status stage_validate(ragd_store *st, const ragd_collection *coll, const char *query,
                                  const search_opts *o, const search_plan *p, const cand_list *cl,
                                  bool reranked, search_result *out, verdicts *vd, ragd_error *err)
{
    query_words q = {0};
    q.nterms = lexical_terms(query, &q.terms);
    q.idf = ragd_xcalloc(q.nterms ? q.nterms : 1, sizeof *q.idf);
    q.found = ragd_xcalloc(q.nterms ? q.nterms : 1, 1);
    vwords_init(&q.words, query, strlen(query));
    validate_query_index_init(&q.ix, q.terms, q.nterms, &q.words);
    vd->nterms = q.nterms;
    ragd_status rc = lexical_terms_idf(st, q.terms, q.nterms, q.idf, err);
    out->hits = ragd_xcalloc(p->pool, sizeof *out->hits);
    vd->shingles = ragd_xcalloc(p->pool, sizeof *vd->shingles);
    vd->wordsets = ragd_xcalloc(p->pool, sizeof *vd->wordsets);
    vd->text_len = ragd_xcalloc(p->pool, sizeof *vd->text_len);
    summary_cache sc = {0};
    neardup_init(&vd->near, RETRIEVE_NEAR_DUP);
    for (size_t i = 0; !rc && i < cl->n && out->n < p->pool; i++) {
        const candidate *c = &cl->v[i];
        search_hit h = {0};
        char *meta = NULL;
        int64_t doc = 0;
        /* The hit's content words (title, heading path, text), from which
         * coverage, phrase coverage, the duplicate rules and MMR take
         * theirs: stored at ingest, or folded here (a row from before v8). */
        vwords tw = {0};
        bool have_tw = false;
        ragd_status lr = load_hit(st, coll->id, c->chunk_id, &h, filtered(o) ? &meta : NULL, &doc,
                                  &tw, &have_tw, err);
        if (lr == RAGD_ENOTFOUND) continue;
        if ((rc = lr)) {
            if (have_tw) vwords_free(&tw);
            break;
        }
        /* Metadata filters select documents; they are not a relevance
         * judgement, so a filtered-out candidate is skipped silently. */
        bool keep = passes(o, meta);
        free(meta);
        if (!keep) {
            if (have_tw) vwords_free(&tw);
            hit_free(&h);
            continue;
        }
        h.score = c->reranked ? c->rerank : c->fused;
        h.fused_score = c->fused;
        h.rerank_score = c->rerank;
        h.reranked = c->reranked;
        h.lexical_score = c->lex;
        h.dense_score = c->dense;
        h.lexical_rank = c->lex_rank;
        h.dense_rank = c->dense_rank;
        if (!have_tw) vwords_init_chunk(&tw, h.title, h.heading_path, h.text);
        if ((rc = cover_terms(st, &sc, doc, &q, &tw, err))) {
            vwords_free(&tw);
            hit_free(&h);
            break;
        }
        measure_hit(&h, &q, p, &tw);
        hash_set sh = {0}, ws = {0};
        size_t th = strlen(h.text);
        const char *reason = judge_hit(&h, th, &tw, &sh, out, vd, cl, p, o, reranked);
        if (reason) {
            drop(vd->dropped, &h, reason, h.evidence);
            count_drop(vd, reason);
        } else {
            if (vd->gate_seen++ < SEARCH_GATE_DEPTH) {
                if (h.evidence >= p->min_evidence) vd->gate = true;
                if (h.evidence > vd->best_evidence) vd->best_evidence = h.evidence;
            }
            vd->npassed++;
        }
        h.passed = reason == NULL;
        if (h.passed || o->keep_all) {
            if (p->mmr < 1) hash_set_words(&ws, &tw);
            if (h.passed) neardup_add(&vd->near, &sh, (uint32_t)out->n);
            vd->shingles[out->n] = sh;
            vd->wordsets[out->n] = ws;
            vd->text_len[out->n] = th;
            out->hits[out->n++] = h;
        } else {
            hash_set_free(&sh);
            hit_free(&h);
        }
        vwords_free(&tw);
    }
    summary_cache_free(&sc);
    query_words_free(&q);
    if (!vd->nterms) vd->gate = false; /* no query word to be evidence of (validate.h) */
    return rc;
}

/* One read transaction (a savepoint) around the candidate lookups, unless
 * the caller already has one: each lookup in autocommit mode would take and
 * drop the database's shared lock and re-check the WAL. Returns whether this
 * call opened it; failing to is not an error (the lookups then run as
 * before). */
static bool step_once(ragd_store *st, const char *sql)
{
    sqlite3_stmt *q;
    if (store_prepare(st, sql, &q) != SQLITE_OK) return false;
    int r = sqlite3_step(q);
    store_release(st, q);
    return r == SQLITE_DONE;
}

static bool read_begin(ragd_store *st)
{
    return sqlite3_get_autocommit(store_db(st)) && step_once(st, "SAVEPOINT ragd_validate");
}

static void read_end(ragd_store *st, bool own)
{
    if (own && !step_once(st, "RELEASE ragd_validate")) {
        log_write(LOG_WARN, "cannot end the search's read transaction", "error",
                  sqlite3_errmsg(store_db(st)), NULL);
        sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL); /* never leave it open */
    }
}

/* Stage 4: the query gate. The question is answerable from this collection
 * only if one of its best passing candidates shows strong evidence; if none
 * does, nothing passes. */
static void stage_gate(const search_opts *o, verdicts *vd, search_result *out)
{
    if (vd->gate) return;
    for (size_t i = 0; i < out->n; i++) {
        if (!out->hits[i].passed) continue;
        out->hits[i].passed = false;
        drop(vd->dropped, &out->hits[i], "evidence", out->hits[i].evidence);
    }
    if (o->keep_all) return;
    for (size_t i = 0; i < out->n; i++)
        hit_free(&out->hits[i]);
    out->n = 0;
}

/* Stage 5: diversity. Reorder the passing hits by maximal marginal
 * relevance over their content words (reranked hits by their rerank score,
 * scaled to [0.05, 1]). */
static void stage_diversify(const search_plan *p, const verdicts *vd, bool reranked,
                            search_result *out)
{
    if (!vd->gate || p->mmr >= 1 || out->n < 2) return;
    size_t *order = ragd_xcalloc(out->n, sizeof *order);
    double *rel = ragd_xcalloc(out->n, sizeof *rel);
    double rmin = 0, rmax = 0;
    bool rseen = false;
    for (size_t i = 0; i < out->n; i++) {
        const search_hit *h = &out->hits[i];
        rel[i] = h->score;
        if (!h->reranked) continue;
        if (!rseen || h->rerank_score < rmin) rmin = h->rerank_score;
        if (!rseen || h->rerank_score > rmax) rmax = h->rerank_score;
        rseen = true;
    }
    for (size_t i = 0; reranked && i < out->n; i++) /* a positive scale for MMR */
        rel[i] = !out->hits[i].reranked ? 0
                                        : 0.05 + 0.95 * (out->hits[i].rerank_score - rmin) /
                                                     (rmax > rmin ? rmax - rmin : 1);
    validate_mmr_order(rel, vd->wordsets, out->n, p->mmr, order);
    search_hit *re = ragd_xcalloc(out->n, sizeof *re);
    for (size_t i = 0; i < out->n; i++)
        re[i] = out->hits[order[i]];
    memcpy(out->hits, re, out->n * sizeof *re);
    free(re);
    free(rel);
    free(order);
}

/* Stage 6: cut to k. */
static void stage_cut(const search_plan *p, search_result *out)
{
    for (size_t i = p->k; i < out->n; i++)
        hit_free(&out->hits[i]);
    if (out->n > p->k) out->n = p->k;
}

/* The validation report: counts, thresholds, drops, and why nothing passed. */
static json_t *validation_report(const search_plan *p, const cand_list *cl, verdicts *vd,
                                 json_t *rerank_report, const search_result *out)
{
    json_t *v = json_pack(
        "{s:b,s:i,s:i,s:f,s:{s:i,s:i,s:i,s:i,s:i},s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i},s:O}",
        "relevant", out->relevant, "candidates", (int)cl->n, "kept", (int)out->n, "best_evidence",
        vd->best_evidence, "dropped_by", "score", (int)vd->by_score, "support", (int)vd->by_support,
        "duplicate", (int)vd->by_dup, "near_duplicate", (int)vd->by_near, "doc_cap",
        (int)vd->by_cap, "thresholds", "min_evidence", p->min_evidence, "min_support",
        p->min_support, "cosine_floor", p->cos_floor, "cosine_weight", RETRIEVE_COSINE_WEIGHT,
        "min_score_ratio", SEARCH_MIN_SCORE_RATIO, "near_duplicate", RETRIEVE_NEAR_DUP,
        "mmr_lambda", p->mmr, "doc_cap", SEARCH_DOC_CAP, "dropped", vd->dropped);
    if (rerank_report) {
        json_object_set_new(json_object_get(v, "dropped_by"), "rerank",
                            json_integer((json_int_t)vd->by_rerank));
        json_object_set(v, "rerank", rerank_report);
    }
    if (!out->relevant) {
        char msg[160];
        if (!vd->nterms)
            snprintf(msg, sizeof msg, "%s", VALIDATE_NO_TERMS_REASON);
        else if (!cl->n)
            snprintf(msg, sizeof msg, "no candidate matches the query");
        else if (!vd->npassed)
            snprintf(msg, sizeof msg, "no candidate is relevant enough to the query");
        else
            snprintf(msg, sizeof msg,
                     "no candidate shows enough evidence (best %.2f, needed %.2f): the "
                     "collection does not seem to answer this question",
                     vd->best_evidence, p->min_evidence);
        json_object_set_new(v, "reason", json_string(msg));
    }
    return v;
}

static void verdicts_free(verdicts *vd, size_t pool)
{
    for (size_t i = 0; vd->shingles && i < pool; i++) {
        hash_set_free(&vd->shingles[i]);
        hash_set_free(&vd->wordsets[i]);
    }
    free(vd->shingles);
    free(vd->wordsets);
    free(vd->text_len);
    neardup_free(&vd->near);
    json_decref(vd->dropped);
}

ragd_status retrieve_search(ragd_store *st, const ragd_collection *coll, const char *query,
                            const search_opts *o, search_result *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    search_plan p;
    ragd_status rc = stage_plan(coll, query, o, &p, err);
    if (rc) return rc;
    out->mode = p.mode;
    cand_list cl = {.dense_floor = 2};
    if (p.use_lex) {
        rc = stage_lexical(st, coll, query, &p, &cl, err);
        out->ms_lexical = ms_since(&t0);
    }
    if (!rc && p.use_dense) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rc = stage_dense(coll, query, o, &p, &cl, &out->ms_embed, err);
        out->ms_dense = ms_since(&t1) - out->ms_embed;
    }
    if (rc) {
        free(cl.v);
        return rc;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stage_fuse(&p, &cl);
    out->ms_fuse = ms_since(&t1);
    json_t *rerank_report = NULL;
    bool reranked = false;
    if (o->reranker) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rc = rerank_stage(st, coll->id, query, o, cl.v, cl.n, &rerank_report, &reranked, err);
        out->ms_rerank = ms_since(&t1);
    }
    verdicts vd = {.dropped = json_array()};
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc) {
        bool own = read_begin(st);
        rc = stage_validate(st, coll, query, o, &p, &cl, reranked, out, &vd, err);
        read_end(st, own);
    }
    if (!rc) stage_gate(o, &vd, out);
    out->ms_validate = ms_since(&t1);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!rc) stage_diversify(&p, &vd, reranked, out);
    if (!rc) stage_cut(&p, out);
    out->ms_diversify = ms_since(&t1);
    if (!rc) {
        out->query = ragd_xstrdup(query);
        out->coll_id = coll->id;
        for (size_t i = 0; i < out->n; i++)
            out->relevant |= out->hits[i].passed;
        out->validation = validation_report(&p, &cl, &vd, rerank_report, out);
    }
    verdicts_free(&vd, p.pool);
    json_decref(rerank_report);
    free(cl.v);
    if (rc) {
        search_result_free(out);
        return rc;
    }
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
        json_object_set_new(e, "parent_id",
                            h->parent_id ? json_integer(h->parent_id) : json_null());
        json_object_set_new(e, "heading_path", json_string(h->heading_path));
        if (h->page > 0) {
            json_object_set_new(e, "page", json_integer(h->page));
            json_object_set_new(e, "page_end", json_integer(h->page_end));
        }
        if (h->summary) json_object_set_new(e, "kind", json_string("summary"));
        json_object_set_new(e, "coverage", json_real(h->coverage));
        json_object_set_new(e, "phrase", json_real(h->phrase));
        json_object_set_new(e, "evidence", json_real(h->evidence));
        if (h->lexical_rank) json_object_set_new(e, "lexical_rank", json_integer(h->lexical_rank));
        if (h->dense_rank) {
            json_object_set_new(e, "dense_rank", json_integer(h->dense_rank));
            json_object_set_new(e, "dense_score", json_real(h->dense_score));
        }
        if (h->reranked) {
            json_object_set_new(e, "rerank_score", json_real(h->rerank_score));
            json_object_set_new(e, "fused_score", json_real(h->fused_score));
        }
        json_array_append_new(arr, e);
    }
    (void)o;
    return json_pack("{s:s,s:s,s:o,s:b,s:O,s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:f}}", "query",
                     r->query ? r->query : "", "mode", r->mode ? r->mode : "lexical", "results",
                     arr, "relevant", r->relevant, "validation", r->validation, "timing_ms",
                     "lexical", r->ms_lexical, "embed", r->ms_embed, "dense", r->ms_dense, "fuse",
                     r->ms_fuse, "rerank", r->ms_rerank, "validate", r->ms_validate, "diversify",
                     r->ms_diversify, "total", r->ms_total);
}
