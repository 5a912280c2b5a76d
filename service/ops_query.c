/* service/ops_query.c — search, context and answer on an engine.
 *
 * Each runs the same steps for every front-end: take a slot, parse the
 * request, open the collection on the slot's read connection, take the
 * shared index (dense and hybrid modes) for the search stage only, then
 * assemble context and answer from the result. The result objects are the
 * ones `ragd CMD --json` prints.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "answer/answer.h"
#include "core/buf.h"
#include "service/engine_internal.h"
#include "service/request.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One query in progress: what it holds until query_end. */
typedef struct {
    engine_slot *slot;
    query_req q;
    ragd_collection coll;
    search_result sr;
    bool have_sr;
    char *cache_key; /* the result cache's key, NULL when the cache is off */
    json_t *hit;     /* a cached result: nothing was searched */
} query_run;

static void query_end(ragd_engine *e, query_run *r)
{
    free(r->cache_key);
    json_decref(r->hit);
    if (r->have_sr) search_result_free(&r->sr);
    query_req_free(&r->q);
    if (r->slot) engine_slot_release(e, r->slot);
    memset(r, 0, sizeof *r);
}

/* The cache key of a search or answer request (operation, collection id,
 * the store's write generation, the other fields canonically, the
 * normalized question)
 * and a lookup: r->hit when found. */
static ragd_status cache_lookup(ragd_engine *e, const json_t *req, query_kind kind, query_run *r,
                                ragd_error *err)
{
    int64_t gen = 0;
    ragd_status rc = store_write_generation(r->slot->rd, &gen, err);
    if (rc) return rc;
    json_t *opts = json_deep_copy(req);
    static const char *const SKIP[] = {"query", "stream", "request_id", "collection", NULL};
    for (int i = 0; SKIP[i]; i++)
        json_object_del(opts, SKIP[i]);
    char *oj = json_dumps(opts, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(opts);
    char *nq = cache_normalize_question(r->q.query);
    ragd_buf k = RAGD_BUF_INIT;
    ragd_buf_printf(&k, "%s|%lld|%lld|%s|%s", kind == QUERY_SEARCH ? "search" : "answer",
                    (long long)r->coll.id, (long long)gen, oj ? oj : "{}", nq);
    free(oj);
    free(nq);
    r->cache_key = ragd_buf_steal(&k);
    r->hit = result_cache_get(e->cache, kind == QUERY_SEARCH ? CACHE_SEARCH : CACHE_ANSWER,
                              r->cache_key);
    return RAGD_OK;
}

/* A query names an embedder (CLI --embedder/--embedder-model) only to
 * say what it expects: the collection's vectors were made by one model,
 * so an equal one is accepted and anything else is explained. */
static ragd_status embedder_matches(const query_req *q, const ragd_collection *c, ragd_error *err)
{
    const char *kind = c->settings.embedder[0] ? c->settings.embedder : "local";
    const char *model = c->settings.embed_model;
    const char *field = NULL, *given = NULL;
    if (q->embedder && strcmp(q->embedder, kind)) {
        field = "embedder";
        given = q->embedder;
    } else if (q->embedder_model && strcmp(q->embedder_model, model)) {
        field = "embedder_model";
        given = q->embedder_model;
    }
    if (!field) return RAGD_OK;
    return ragd_error_set_field(
        err, RAGD_ECONFLICT, field,
        "%s '%s' does not match collection '%s', whose vectors were made by the %s embedder "
        "with model '%s' (%d-d); drop the option (a collection remembers its embedder), or "
        "ingest into another collection to use '%s'",
        !strcmp(field, "embedder") ? "embedder" : "embedder model", given, c->name, kind,
        model[0] ? model : "?", c->settings.dim, given);
}

/* Slot, parse, open, (cache,) search: the common front half. */
static ragd_status query_begin(ragd_engine *e, const json_t *req, query_kind kind,
                               const json_t *attr_filter, query_run *r, ragd_error *err)
{
    memset(r, 0, sizeof *r);
    ragd_status rc = query_req_parse(req, kind, &r->q, err);
    if (rc) return rc;
    r->q.so.attr_filter = attr_filter;
    if ((rc = engine_slot_acquire(e, &r->slot, err))) return rc;
    rc = store_collection_open(r->slot->rd, r->q.collection, NULL, &r->coll, err);
    if (rc) {
        if (rc == RAGD_ENOTFOUND || rc == RAGD_EUSAGE) {
            ragd_error_with_field(err, rc == RAGD_ENOTFOUND ? RAGD_ENOTFOUND : RAGD_EINPUT,
                                  "collection");
            rc = err->code;
        }
        return rc;
    }
    if ((rc = embedder_matches(&r->q, &r->coll, err))) return rc;
    /* Attribute filters (the OpenAI-compatible search) are not part of the
     * request object the key is made of: such searches are not cached. */
    if (kind != QUERY_CONTEXT && e->o.cache_size && !attr_filter) {
        if ((rc = cache_lookup(e, req, kind, r, err))) return rc;
        if (r->hit) return RAGD_OK;
    }
    bool dense = !r->q.so.mode || strcmp(r->q.so.mode, "lexical") != 0;
    engine_index *x = NULL;
    if (dense) {
        rc = engine_slot_embedder(e, r->slot, &r->coll, &r->q.so.embedder, err);
        if (!rc) rc = engine_index_acquire(e, r->slot->rd, &r->coll, &x, err);
        if (rc) return rc;
        r->q.so.vindex = x->vi;
    }
    if ((rc = engine_slot_reranker(e, r->slot, &r->q.so.reranker, err))) {
        engine_index_release(x);
        return rc;
    }
    if (!r->q.so.reranker && (r->q.so.rerank_depth || r->q.so.min_rerank_set)) {
        engine_index_release(x);
        return ragd_error_set_field(err, RAGD_EINPUT,
                                    r->q.so.rerank_depth ? "rerank_depth" : "min_rerank",
                                    "no rerank provider is configured (--reranker-url)");
    }
    embed_usage eu;
    memset(&eu, 0, sizeof eu);
    r->q.so.embed_usage = dense ? &eu : NULL;
    rc = retrieve_search(r->slot->rd, &r->coll, r->q.query, &r->q.so, &r->sr, err);
    r->q.so.embed_usage = NULL;
    if (dense)
        provider_stats_add(e->providers, "embed", r->coll.settings.embedder,
                           r->coll.settings.embed_model, eu.calls,
                           rc == RAGD_EPROVIDER && !eu.calls ? 1 : 0, eu.tokens, 0, eu.cost);
    engine_index_release(x);
    r->q.so.vindex = NULL;
    if (!rc)
        r->have_sr = true;
    else if (rc == RAGD_EINPUT && !err->field[0])
        snprintf(err->field, sizeof err->field, "query");
    return rc;
}

ragd_status ragd_search(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    return engine_search_filtered(e, req, NULL, out, err);
}

ragd_status engine_search_filtered(ragd_engine *e, const json_t *req, const json_t *attr_filter,
                                   json_t **out, ragd_error *err)
{
    *out = NULL;
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_SEARCH, attr_filter, &r, err);
    if (!rc && r.hit) {
        *out = r.hit;
        r.hit = NULL;
        json_object_set_new(*out, "cache", json_string("hit"));
    } else if (!rc) {
        *out = search_result_json(&r.sr, &r.q.so);
        json_object_set_new(*out, "cache", json_string("miss"));
        if (r.cache_key) result_cache_put(e->cache, CACHE_SEARCH, r.cache_key, *out);
    }
    query_end(e, &r);
    return rc;
}

ragd_status ragd_context(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_CONTEXT, NULL, &r, err);
    context_result c;
    if (!rc) rc = context_assemble(r.slot->rd, &r.sr, r.q.budget, &c, err);
    if (!rc) {
        *out = context_result_json(&c, r.q.query);
        context_result_free(&c);
    }
    query_end(e, &r);
    return rc;
}

/* What a streaming answer sent so far. */
typedef struct {
    ragd_token_fn fn;
    void *user;
    ragd_buf sent;
    long pieces;
} token_relay;

static int relay(void *user, const char *t, size_t n)
{
    token_relay *tr = user;
    ragd_buf_append(&tr->sent, t, n);
    tr->pieces++;
    return tr->fn(tr->user, t, n);
}

/* A cached answer: no retrieval, no generation call, no log row (its
 * call_id is the call that produced it); a new request_id; streamed as one
 * piece. */
static ragd_status answer_from_cache(query_run *r, token_relay *tr, json_t **out, ragd_error *err)
{
    json_t *a = r->hit;
    r->hit = NULL;
    json_t *u = json_object_get(a, "usage");
    if (json_is_object(u)) json_object_set_new(u, "cache", json_string("hit"));
    char rid[40];
    if (r->q.request_id)
        snprintf(rid, sizeof rid, "%s", r->q.request_id);
    else
        engine_request_id(rid);
    json_object_set_new(a, "request_id", json_string(rid));
    if (tr) {
        const char *text = json_string_value(json_object_get(a, "answer"));
        if (!text) text = "";
        if (relay(tr, text, strlen(text))) {
            json_decref(a);
            return ragd_error_set(err, RAGD_EIO, "the answer stream was closed by its receiver");
        }
        json_object_set_new(
            a, "stream",
            json_pack("{s:I,s:b}", "tokens", (json_int_t)tr->pieces, "answer_replaced", 0));
    }
    *out = a;
    return RAGD_OK;
}

/* The answer object of ar: usage.cache, the call log row, the cache entry
 * and (streaming) the stream report. */
static json_t *answer_finish(ragd_engine *e, query_run *r, token_relay *tr, answer_result *ar,
                             const context_result *c, double t0)
{
    json_t *out = answer_result_json(ar, c, r->q.query);
    json_object_set_new(json_object_get(out, "usage"), "cache", json_string("miss"));
    char rid[40];
    if (r->q.request_id)
        snprintf(rid, sizeof rid, "%s", r->q.request_id);
    else
        engine_request_id(rid);
    engine_call_log l = {rid, r->q.collection,  r->q.query, ar,
                         out, ar->route_reason, "miss",     now_ms() - t0};
    int64_t id = engine_log_answer(e, &l);
    json_object_set_new(out, "request_id", json_string(rid));
    json_object_set_new(out, "call_id", id ? json_integer(id) : json_null());
    /* A degraded answer (every provider failed) is not kept. */
    if (r->cache_key && strcmp(ar->path, "extractive_fallback"))
        result_cache_put(e->cache, CACHE_ANSWER, r->cache_key, out);
    if (tr)
        json_object_set_new(out, "stream",
                            json_pack("{s:I,s:b}", "tokens", (json_int_t)tr->pieces,
                                      "answer_replaced",
                                      strcmp(ragd_buf_str(&tr->sent), ar->answer) != 0));
    return out;
}

/* ragd_answer, streaming through tr when it is not NULL. */
static ragd_status answer_op(ragd_engine *e, const json_t *req, token_relay *tr, json_t **out,
                             ragd_error *err)
{
    *out = NULL;
    double t0 = now_ms();
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_ANSWER, NULL, &r, err);
    if (!rc && r.hit) {
        rc = answer_from_cache(&r, tr, out, err);
        query_end(e, &r);
        return rc;
    }
    context_result c;
    bool have_c = false;
    if (!rc) rc = context_assemble(r.slot->rd, &r.sr, r.q.budget, &c, err);
    if (!rc) have_c = true;
    answer_result ar;
    answer_opts ao = {.template_path = e->o.prompt_template, .route = e->o.generator_route};
    if (tr) {
        ao.on_token = relay;
        ao.token_user = tr;
    }
    if (!rc) rc = engine_slot_generators(e, r.slot, &ao.generators, &ao.ngenerators, err);
    if (!rc) rc = answer_run(&c, r.q.query, &ao, &ar, err);
    if (!rc) {
        provider_stats_add_answer(e->providers,
                                  ao.ngenerators ? generator_kind(ao.generators[0]) : NULL,
                                  json_object_get(ar.check, "steps"), ar.model, &ar.usage);
        if (tr && !tr->pieces && relay(tr, ar.answer, strlen(ar.answer)))
            rc = ragd_error_set(err, RAGD_EIO, "the answer stream was closed by its receiver");
        else
            *out = answer_finish(e, &r, tr, &ar, &c, t0);
        answer_result_free(&ar);
    }
    if (have_c) context_result_free(&c);
    query_end(e, &r);
    return rc;
}

ragd_status ragd_answer(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    return answer_op(e, req, NULL, out, err);
}

ragd_status ragd_answer_stream(ragd_engine *e, const json_t *req, ragd_token_fn on_token,
                               void *user, json_t **out, ragd_error *err)
{
    token_relay tr = {on_token, user, RAGD_BUF_INIT, 0};
    ragd_status rc = answer_op(e, req, &tr, out, err);
    ragd_buf_free(&tr.sent);
    return rc;
}
