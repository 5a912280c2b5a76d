/* service/ops_query.c — search, context and answer on an engine.
 *
 * Each runs the same steps for every front-end: take a slot, parse the
 * request, open the collection on the slot's read connection, take the
 * shared index (dense and hybrid modes) for the search stage only, then
 * assemble context and answer from the result. The result objects are the
 * ones `ragd CMD --json` prints.
 */
#include <string.h>

#include "answer/answer.h"
#include "service/engine_internal.h"
#include "service/request.h"

/* One query in progress: what it holds until query_end. */
typedef struct {
    engine_slot *slot;
    query_req q;
    ragd_collection coll;
    search_result sr;
    bool have_sr;
} query_run;

static void query_end(ragd_engine *e, query_run *r)
{
    if (r->have_sr) search_result_free(&r->sr);
    query_req_free(&r->q);
    if (r->slot) engine_slot_release(e, r->slot);
    memset(r, 0, sizeof *r);
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

/* Slot, parse, open, search: the common front half. */
static ragd_status query_begin(ragd_engine *e, const json_t *req, query_kind kind, query_run *r,
                               ragd_error *err)
{
    memset(r, 0, sizeof *r);
    ragd_status rc = query_req_parse(req, kind, &r->q, err);
    if (rc) return rc;
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
    bool dense = !r->q.so.mode || strcmp(r->q.so.mode, "lexical") != 0;
    engine_index *x = NULL;
    if (dense) {
        rc = engine_slot_embedder(e, r->slot, &r->coll, &r->q.so.embedder, err);
        if (!rc) rc = engine_index_acquire(e, &r->coll, &x, err);
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
    rc = retrieve_search(r->slot->rd, &r->coll, r->q.query, &r->q.so, &r->sr, err);
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
    *out = NULL;
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_SEARCH, &r, err);
    if (!rc) *out = search_result_json(&r.sr, &r.q.so);
    query_end(e, &r);
    return rc;
}

ragd_status ragd_context(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_CONTEXT, &r, err);
    context_result c;
    if (!rc) rc = context_assemble(r.slot->rd, &r.sr, r.q.budget, &c, err);
    if (!rc) {
        *out = context_result_json(&c, r.q.query);
        context_result_free(&c);
    }
    query_end(e, &r);
    return rc;
}

ragd_status ragd_answer(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    query_run r;
    ragd_status rc = query_begin(e, req, QUERY_ANSWER, &r, err);
    context_result c;
    bool have_c = false;
    if (!rc) rc = context_assemble(r.slot->rd, &r.sr, r.q.budget, &c, err);
    if (!rc) have_c = true;
    answer_result ar;
    answer_opts ao = {.template_path = e->o.prompt_template};
    if (!rc) rc = engine_slot_generators(e, r.slot, &ao.generators, &ao.ngenerators, err);
    if (!rc) rc = answer_run(&c, r.q.query, &ao, &ar, err);
    if (!rc) {
        *out = answer_result_json(&ar, &c, r.q.query);
        answer_result_free(&ar);
    }
    if (have_c) context_result_free(&c);
    query_end(e, &r);
    return rc;
}
