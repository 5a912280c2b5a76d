/* retrieve/search.c — the search pipeline: candidates -> fuse -> validate.
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
#include "retrieve/retrieve.h"
#include "retrieve/validate.h"

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

/* Load a candidate's fields. With meta not NULL, also its document's
 * metadata JSON (malloc'd) for --filter. */
static ragd_status load_hit(ragd_store *st, int64_t coll, int64_t chunk_id, search_hit *h,
                            char **meta, char **summary, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT c.parent_id, d.doc_key, d.title, c.heading_path, c.text, "
                           "c.start, c.end, d.metadata, json_extract(d.summary, '$.summary_text'), "
                           "c.ord < 0 AND json_extract(c.meta, '$.kind') = 'summary' "
                           "FROM chunks c JOIN documents d ON d.id = "
                           "c.document_id WHERE c.id = ? AND d.collection_id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read search hit");
    sqlite3_bind_int64(q, 1, chunk_id);
    sqlite3_bind_int64(q, 2, coll);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        /* A dense hit deleted since the snapshot: skip it. */
        if (r == SQLITE_DONE) return RAGD_ENOTFOUND;
        return store_sqlite_error(db, err, "cannot read search hit");
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
    const unsigned char *sum = sqlite3_column_text(q, 8);
    if (summary) *summary = ragd_xstrdup(sum ? (const char *)sum : "");
    h->summary = sqlite3_column_int(q, 9) != 0;
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
    json_t *o = json_pack("{s:I,s:s,s:s}", "chunk_id", (json_int_t)h->chunk_id, "doc_id", h->doc_id,
                          "reason", reason);
    json_object_set_new(o, "evidence", json_real(value));
    if (h->reranked) json_object_set_new(o, "rerank_score", json_real(h->rerank_score));
    json_array_append_new(dropped, o);
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
        ragd_status lr =
            load_hit(st, coll, cv[scanned].chunk_id, &h, o->nfilters ? &meta : NULL, NULL, err);
        if (lr == RAGD_ENOTFOUND) continue;
        if ((rc = lr)) break;
        bool keep = !o->nfilters || metadata_matches(meta, o->filters, o->nfilters);
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
    for (size_t i = 0; i < qlen; i++)
        nonspace += !isspace((unsigned char)query[i]);
    if (!nonspace) return ragd_error_set(err, RAGD_EINPUT, "empty query");
    bool have_dense = o->embedder && o->vindex;
    const char *mode = o->mode && *o->mode ? o->mode : (have_dense ? "hybrid" : "lexical");
    bool use_lex, use_dense;
    if (!strcmp(mode, "lexical")) {
        out->mode = "lexical", use_lex = true, use_dense = false;
    } else if (!strcmp(mode, "dense")) {
        out->mode = "dense", use_lex = false, use_dense = true;
    } else if (!strcmp(mode, "hybrid")) {
        out->mode = "hybrid", use_lex = true, use_dense = true;
    } else {
        return ragd_error_set(err, RAGD_EUSAGE, "unknown --mode '%s' (hybrid, dense, lexical)",
                              mode);
    }
    if (use_dense && !have_dense)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--mode %s needs the collection's embedder and vector index", mode);
    size_t k = o->k ? o->k : 10;
    if (k > SEARCH_MAX_K)
        return ragd_error_set(err, RAGD_EUSAGE, "--k %zu is too large (max %d)", k, SEARCH_MAX_K);
    double min_evidence = o->min_evidence >= 0            ? o->min_evidence
                          : !strcmp(out->mode, "lexical") ? RETRIEVE_MIN_EVIDENCE_LEXICAL
                                                          : RETRIEVE_MIN_EVIDENCE;
    double min_support = o->min_support >= 0 ? o->min_support : RETRIEVE_MIN_SUPPORT;
    double cos_floor = o->cosine_floor >= 0 ? o->cosine_floor : RETRIEVE_COSINE_FLOOR;
    double mmr = o->mmr_lambda >= 0 ? o->mmr_lambda : RETRIEVE_MMR_LAMBDA;
    double rrf_k = o->rrf_k > 0 ? o->rrf_k : RETRIEVE_RRF_K;
    double w_lex = o->w_lexical > 0 ? o->w_lexical : RETRIEVE_W_LEXICAL;
    double w_dense = o->w_dense > 0 ? o->w_dense : RETRIEVE_W_DENSE;
    size_t kc = o->candidates ? o->candidates : (k * 10 > 100 ? k * 10 : 100);
    if (o->nfilters && !o->candidates) kc *= 4; /* filters drop candidates after retrieval */
    ragd_status rc = RAGD_OK;
    candidate *cv = NULL;
    double dense_floor = 2; /* cosine at SEARCH_DENSE_NORM_DEPTH; 2 = no dense list */
    size_t nc = 0, capc = 0;

    /* Stage 1a: lexical candidates. */
    if (use_lex) {
        lexical_hit *lh = NULL;
        size_t nl = 0;
        if ((rc = lexical_search(st, coll->id, query, kc, &lh, &nl, err))) return rc;
        for (size_t i = 0; i < nl; i++) {
            candidate *c = cand_find_or_add(&cv, &nc, &capc, lh[i].chunk_id);
            c->lex = lh[i].score;
            c->lex_rank = (int)i + 1;
        }
        free(lh);
        out->ms_lexical = ms_since(&t0);
    }
    /* Stage 1b: dense candidates. */
    if (use_dense) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        int dim = embedder_dim(o->embedder);
        float *qv = ragd_xcalloc((size_t)(dim > 0 ? dim : 1), sizeof *qv);
        const char *texts[1] = {query};
        rc = embedder_embed(o->embedder, texts, NULL, 1, qv, NULL, err);
        if (!rc && embedder_dim(o->embedder) != coll->settings.dim)
            rc = ragd_error_set(err, RAGD_EPROVIDER,
                                "embedder returned %d-d vectors, the collection expects %d-d",
                                embedder_dim(o->embedder), coll->settings.dim);
        out->ms_embed = ms_since(&t1);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        vindex_hit *vh = NULL;
        size_t nv = 0;
        if (!rc) {
            vindex_normalize(qv, coll->settings.dim);
            /* Search deeper than the candidate list: the cosine at a fixed
             * depth is the floor of the min-max scaling in score fusion, so
             * the scaling (and the ranking) does not depend on k. */
            size_t kd = kc > SEARCH_DENSE_NORM_DEPTH ? kc : SEARCH_DENSE_NORM_DEPTH;
            rc = vindex_search(o->vindex, qv, kd, &vh, &nv, err);
        }
        free(qv);
        if (rc) {
            free(cv);
            return rc;
        }
        if (nv) dense_floor = vh[nv - 1].score;
        if (nv > kc) nv = kc;
        for (size_t i = 0; i < nv; i++) {
            candidate *c = cand_find_or_add(&cv, &nc, &capc, vh[i].chunk_id);
            c->dense = vh[i].score;
            c->dense_rank = (int)i + 1;
        }
        free(vh);
        out->ms_dense = ms_since(&t1);
    }
    /* Stage 2: fuse (weighted reciprocal rank fusion) or take the one list. */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    bool rrf = o->fusion && !strcmp(o->fusion, "rrf");
    double lex_max = 0, dense_max = -1, dense_min = dense_floor < 2 ? dense_floor : 1;
    for (size_t i = 0; i < nc; i++) {
        if (cv[i].lex_rank && cv[i].lex > lex_max) lex_max = cv[i].lex;
        if (cv[i].dense_rank && cv[i].dense > dense_max) dense_max = cv[i].dense;
    }
    for (size_t i = 0; i < nc; i++) {
        candidate *c = &cv[i];
        if (use_lex && use_dense && rrf) {
            c->fused = (c->lex_rank ? w_lex / (rrf_k + c->lex_rank) : 0) +
                       (c->dense_rank ? w_dense / (rrf_k + c->dense_rank) : 0);
        } else if (use_lex && use_dense) {
            /* Score fusion: BM25 relative to the best, cosine min-max scaled
             * over the dense list; a channel that missed the candidate adds 0. */
            double l = c->lex_rank && lex_max > 0 ? c->lex / lex_max : 0;
            double d = c->dense_rank && dense_max > dense_min
                           ? (c->dense - dense_min) / (dense_max - dense_min)
                           : 0;
            c->fused = w_lex * l + w_dense * d;
        } else {
            c->fused = use_lex ? c->lex : c->dense;
        }
    }
    if (nc) qsort(cv, nc, sizeof *cv, cand_by_fused);
    out->ms_fuse = ms_since(&t1);
    double top_score = nc ? cv[0].fused : 0; /* the best fused score */
    /* Stage 2b: rerank (optional). */
    json_t *rerank_report = NULL;
    bool reranked = false;
    if (o->reranker) {
        clock_gettime(CLOCK_MONOTONIC, &t1);
        rc = rerank_stage(st, coll->id, query, o, cv, nc, &rerank_report, &reranked, err);
        out->ms_rerank = ms_since(&t1);
        if (rc) {
            free(cv);
            return rc;
        }
    }

    /* Stage 3: validate. */
    clock_gettime(CLOCK_MONOTONIC, &t1);
    char **terms = NULL;
    size_t nterms = lexical_terms(query, &terms);
    /* Coverage is weighted by idf: matching the rare words of a question
     * matters, matching "study" or "cells" barely does. */
    double *idf = ragd_xcalloc(nterms ? nterms : 1, sizeof *idf);
    if ((rc = lexical_terms_idf(st, terms, nterms, idf, err))) {
        free(idf);
        lexical_terms_free(terms, nterms);
        free(cv);
        return rc;
    }
    vwords qwords;
    vwords_init(&qwords, query, qlen);
    json_t *dropped = json_array();
    /* Collect up to `pool` passing hits so that diversity (MMR) has
     * alternatives to choose from; evaluation keeps exactly k in fused order. */
    size_t pool = o->keep_all ? k : (mmr < 1 ? 2 * k : k);
    out->hits = ragd_xcalloc(pool, sizeof *out->hits);
    hash_set *shingles = ragd_xcalloc(pool, sizeof *shingles);
    hash_set *wordsets = ragd_xcalloc(pool, sizeof *wordsets);
    size_t by_support = 0, by_dup = 0, by_near = 0, by_cap = 0, by_score = 0, by_rerank = 0,
           npassed = 0;
    size_t gate_seen = 0; /* passing candidates considered by the query gate */
    double best_evidence = 0;
    bool gate = false;
    for (size_t i = 0; i < nc && out->n < pool; i++) {
        search_hit h = {0};
        char *meta = NULL;
        char *summary = NULL;
        ragd_status lr =
            load_hit(st, coll->id, cv[i].chunk_id, &h, o->nfilters ? &meta : NULL, &summary, err);
        if (lr == RAGD_ENOTFOUND) continue;
        if ((rc = lr)) break;
        if (o->nfilters) {
            /* Metadata filters select documents; they are not a relevance
             * judgement, so a filtered-out candidate is skipped silently. */
            bool keep = metadata_matches(meta, o->filters, o->nfilters);
            free(meta);
            if (!keep) {
                hit_free(&h);
                free(summary);
                continue;
            }
        }
        h.score = cv[i].reranked ? cv[i].rerank : cv[i].fused;
        h.fused_score = cv[i].fused;
        h.rerank_score = cv[i].rerank;
        h.reranked = cv[i].reranked;
        h.lexical_score = cv[i].lex;
        h.dense_score = cv[i].dense;
        h.lexical_rank = cv[i].lex_rank;
        h.dense_rank = cv[i].dense_rank;
        ragd_buf all = RAGD_BUF_INIT;
        ragd_buf_printf(&all, "%s\n%s\n%s", h.title, h.heading_path, h.text);
        vwords tw;
        vwords_init(&tw, all.data, all.len);
        ragd_buf_free(&all);
        /* Coverage also counts the document's summary: a chunk deep in a
         * document still belongs to what the document is about. Phrases
         * must be in the chunk itself. */
        vwords sw = {0};
        if (summary && *summary) vwords_init(&sw, summary, strlen(summary));
        free(summary);
        const vwords *cov_texts[2] = {&tw, &sw};
        h.coverage = validate_term_coverage(terms, idf, nterms, cov_texts, sw.folded ? 2 : 1);
        vwords_free(&sw);
        h.phrase = validate_phrase_coverage(&qwords, &tw);
        double cos_excess = use_dense && h.dense_rank ? h.dense_score - cos_floor : 0;
        h.evidence =
            h.coverage + h.phrase + RETRIEVE_COSINE_WEIGHT * (cos_excess > 0 ? cos_excess : 0);
        hash_set sh, ws;
        hash_set_shingles(&sh, &tw, 4);
        hash_set_words(&ws, &tw);
        vwords_free(&tw);
        bool dup = false, near = false;
        for (size_t s = 0; s < out->n && !dup; s++)
            dup = out->hits[s].passed && strcmp(out->hits[s].text, h.text) == 0;
        for (size_t s = 0; s < out->n && !dup && !near; s++)
            near = out->hits[s].passed &&
                   hash_set_jaccard_at_least(&shingles[s], &sh, RETRIEVE_NEAR_DUP);
        size_t per_doc = 0;
        for (size_t s = 0; s < out->n; s++)
            per_doc += out->hits[s].passed && strcmp(out->hits[s].doc_id, h.doc_id) == 0;
        /* Per candidate: some evidence of its own, not far below the best
         * candidate, not a copy of a better one, not too many per document. */
        bool support_ok = h.evidence >= min_support;
        bool score_ok = !(top_score > 0 && h.fused_score < SEARCH_MIN_SCORE_RATIO * top_score);
        if (!use_lex) score_ok = true;   /* cosine is absolute: judged by the evidence */
        if (h.reranked) score_ok = true; /* judged by the reranker (file comment) */
        bool rerank_ok =
            !(reranked && o->min_rerank_set && (!h.reranked || h.rerank_score < o->min_rerank));
        const char *reason = !score_ok                                     ? "score"
                             : !rerank_ok                                  ? "rerank"
                             : !support_ok                                 ? "support"
                             : dup                                         ? "duplicate"
                             : near                                        ? "near_duplicate"
                             : (!o->keep_all && per_doc >= SEARCH_DOC_CAP) ? "doc_cap"
                                                                           : NULL;
        if (reason) {
            drop(dropped, &h, reason, h.evidence);
            by_score += !strcmp(reason, "score");
            by_rerank += !strcmp(reason, "rerank");
            by_support += !strcmp(reason, "support");
            by_dup += !strcmp(reason, "duplicate");
            by_near += !strcmp(reason, "near_duplicate");
            by_cap += !strcmp(reason, "doc_cap");
        } else {
            /* The query gate: the question is answerable from this
             * collection only if one of its best candidates shows strong
             * evidence. */
            if (gate_seen++ < SEARCH_GATE_DEPTH) {
                if (h.evidence >= min_evidence) gate = true;
                if (h.evidence > best_evidence) best_evidence = h.evidence;
            }
            npassed++;
        }
        h.passed = reason == NULL;
        if (h.passed || o->keep_all) {
            shingles[out->n] = sh;
            wordsets[out->n] = ws;
            out->hits[out->n++] = h;
        } else {
            hash_set_free(&sh);
            hash_set_free(&ws);
            hit_free(&h);
        }
    }
    free(cv);
    free(idf);
    lexical_terms_free(terms, nterms);
    vwords_free(&qwords);
    if (!nterms) gate = false; /* no query word to be evidence of (validate.h) */
    if (!rc && !gate) {
        /* Nothing is strong enough: the query is not answerable here. */
        for (size_t i = 0; i < out->n; i++) {
            if (!out->hits[i].passed) continue;
            out->hits[i].passed = false;
            drop(dropped, &out->hits[i], "evidence", out->hits[i].evidence);
        }
        if (!o->keep_all) {
            for (size_t i = 0; i < out->n; i++)
                hit_free(&out->hits[i]);
            out->n = 0;
        }
    }
    if (!rc && gate && mmr < 1 && out->n > 1) {
        /* Diversity: reorder the passing hits by maximal marginal relevance
         * over their content words, then keep k. */
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
        validate_mmr_order(rel, wordsets, out->n, mmr, order);
        search_hit *re = ragd_xcalloc(out->n, sizeof *re);
        for (size_t i = 0; i < out->n; i++)
            re[i] = out->hits[order[i]];
        memcpy(out->hits, re, out->n * sizeof *re);
        free(re);
        free(rel);
        free(order);
    }
    for (size_t i = 0; i < pool; i++) {
        hash_set_free(&shingles[i]);
        hash_set_free(&wordsets[i]);
    }
    free(shingles);
    free(wordsets);
    if (!rc && out->n > k) {
        for (size_t i = k; i < out->n; i++)
            hit_free(&out->hits[i]);
        out->n = k;
    }
    if (rc) {
        json_decref(dropped);
        json_decref(rerank_report);
        search_result_free(out);
        return rc;
    }
    out->query = ragd_xstrdup(query);
    out->coll_id = coll->id;
    out->relevant = false;
    for (size_t i = 0; i < out->n; i++)
        out->relevant |= out->hits[i].passed;
    out->validation = json_pack(
        "{s:b,s:i,s:i,s:f,s:{s:i,s:i,s:i,s:i,s:i},s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f,s:i},s:o}",
        "relevant", out->relevant, "candidates", (int)nc, "kept", (int)out->n, "best_evidence",
        best_evidence, "dropped_by", "score", (int)by_score, "support", (int)by_support,
        "duplicate", (int)by_dup, "near_duplicate", (int)by_near, "doc_cap", (int)by_cap,
        "thresholds", "min_evidence", min_evidence, "min_support", min_support, "cosine_floor",
        cos_floor, "cosine_weight", RETRIEVE_COSINE_WEIGHT, "min_score_ratio",
        SEARCH_MIN_SCORE_RATIO, "near_duplicate", RETRIEVE_NEAR_DUP, "mmr_lambda", mmr, "doc_cap",
        SEARCH_DOC_CAP, "dropped", dropped);
    if (rerank_report) {
        json_object_set_new(json_object_get(out->validation, "dropped_by"), "rerank",
                            json_integer((json_int_t)by_rerank));
        json_object_set_new(out->validation, "rerank", rerank_report);
    }
    if (!out->relevant) {
        char msg[160];
        if (!nterms)
            snprintf(msg, sizeof msg, "%s", VALIDATE_NO_TERMS_REASON);
        else if (!nc)
            snprintf(msg, sizeof msg, "no candidate matches the query");
        else if (!npassed)
            snprintf(msg, sizeof msg, "no candidate is relevant enough to the query");
        else
            snprintf(msg, sizeof msg,
                     "no candidate shows enough evidence (best %.2f, needed %.2f): the "
                     "collection does not seem to answer this question",
                     best_evidence, min_evidence);
        json_object_set_new(out->validation, "reason", json_string(msg));
    }
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
        json_object_set_new(e, "parent_id",
                            h->parent_id ? json_integer(h->parent_id) : json_null());
        json_object_set_new(e, "heading_path", json_string(h->heading_path));
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
    return json_pack("{s:s,s:s,s:o,s:b,s:O,s:{s:f,s:f,s:f,s:f,s:f,s:f,s:f}}", "query",
                     r->query ? r->query : "", "mode", r->mode ? r->mode : "lexical", "results",
                     arr, "relevant", r->relevant, "validation", r->validation, "timing_ms",
                     "lexical", r->ms_lexical, "embed", r->ms_embed, "dense", r->ms_dense, "fuse",
                     r->ms_fuse, "rerank", r->ms_rerank, "validate", r->ms_validate, "total",
                     r->ms_total);
}
