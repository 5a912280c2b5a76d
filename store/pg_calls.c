/* store/pg_calls.c — the answer call log and its feedback in the PostgreSQL
 * store of record (store/pg.h), shared by every node: a call answered at
 * node A can be rated at node B, and `ragd log --store` lists every node's
 * calls with the node that answered. Same rows and JSON as store/calls.c,
 * plus `node`. Each call checks one connection out of the pool (no cache,
 * no writer lock).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"

/* Run fn with a pooled connection wrapped as a store_pg. */
static ragd_status with_conn(store_pg_pool *p, ragd_status (*fn)(store_pg *, void *, ragd_error *),
                             void *ctx, ragd_error *err)
{
    store_pg pg = {.pool = p};
    ragd_status rc = pg_ensure(&pg, err);
    if (rc) return rc;
    rc = fn(&pg, ctx, err);
    /* A connection the server closed while idle: once more on a fresh one. */
    if (rc == RAGD_ESTORE && pg_conn_broken(&pg) && PQstatus(pg.conn) == CONNECTION_OK)
        rc = fn(&pg, ctx, err);
    pg_release(&pg);
    return rc;
}

typedef struct {
    const char *node;
    const store_call *c;
    int64_t id;
} insert_ctx;

static ragd_status insert_body(store_pg *pg, void *vctx, ragd_error *err)
{
    insert_ctx *x = vctx;
    const store_call *c = x->c;
    char tv[16], pt[24], ct[24], cost[40], lat[40], chk[4], red[4], now[24];
    snprintf(tv, sizeof tv, "%d", c->template_version);
    snprintf(pt, sizeof pt, "%ld", c->prompt_tokens);
    snprintf(ct, sizeof ct, "%ld", c->completion_tokens);
    snprintf(cost, sizeof cost, "%.17g", c->cost);
    snprintf(lat, sizeof lat, "%.17g", c->latency_ms);
    snprintf(chk, sizeof chk, "%d", c->check_ok ? 1 : 0);
    snprintf(red, sizeof red, "%d", c->redacted ? 1 : 0);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    char *detail = c->detail ? json_dumps(c->detail, JSON_COMPACT) : NULL;
    const char *vals[] = {x->node,
                          c->request_id,
                          c->collection,
                          c->question,
                          c->answer,
                          c->prompt ? c->prompt : "",
                          c->response ? c->response : "",
                          c->generator,
                          c->model,
                          c->template_id,
                          tv,
                          pt,
                          ct,
                          cost,
                          lat,
                          chk,
                          c->path,
                          c->route_reason,
                          c->cache ? c->cache : "miss",
                          red,
                          detail ? detail : "{}",
                          now};
    PGresult *r = pg_run(pg,
                         "INSERT INTO answer_calls(node, request_id, collection, question, answer, "
                         "prompt, response, generator, model, template_id, template_version, "
                         "prompt_tokens, completion_tokens, cost, latency_ms, check_ok, path, "
                         "route_reason, cache, redacted, detail, created_at) VALUES ($1, $2, $3, "
                         "$4, $5, $6, $7, $8, $9, $10, $11::int, $12::bigint, $13::bigint, "
                         "$14::float8, $15::float8, $16::int, $17, $18, $19, $20::int, $21, "
                         "$22::bigint) RETURNING id",
                         22, vals, NULL, NULL, 0);
    free(detail);
    ragd_status rc = pg_check(pg, r, "cannot log the answer call", err);
    if (rc) return rc;
    x->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return RAGD_OK;
}

ragd_status store_pg_call_insert(store_pg_pool *p, const char *node, const store_call *c,
                                 int64_t *id, ragd_error *err)
{
    insert_ctx x = {node ? node : "", c, 0};
    ragd_status rc = with_conn(p, insert_body, &x, err);
    if (!rc) *id = x.id;
    return rc;
}

static json_t *str_or_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? json_null() : json_string(PQgetvalue(r, row, col));
}

typedef struct {
    long limit;
    json_t *out;
} list_ctx;

static ragd_status list_body(store_pg *pg, void *vctx, ragd_error *err)
{
    list_ctx *x = vctx;
    char lim[24];
    snprintf(lim, sizeof lim, "%ld", x->limit);
    const char *vals[] = {lim};
    PGresult *r = pg_run(
        pg,
        "SELECT id, request_id, created_at, collection, question, answer, prompt, response, "
        "generator, model, template_id, template_version, prompt_tokens, completion_tokens, cost, "
        "latency_ms, check_ok, path, route_reason, cache, redacted, detail, node, "
        "(SELECT coalesce(json_agg(json_build_object('rating', f.rating, 'comment', f.comment, "
        "'created_at', f.created_at, 'node', f.node) ORDER BY f.id), '[]')::text FROM "
        "answer_feedback f WHERE f.call_id = c.id) FROM answer_calls c ORDER BY id DESC LIMIT "
        "$1::bigint",
        1, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot read the answer call log", err);
    if (rc) return rc;
    json_t *calls = json_array();
    for (int i = 0; i < PQntuples(r); i++) {
        json_t *detail = json_loads(PQgetvalue(r, i, 21), 0, NULL);
        json_t *fb = json_loads(PQgetvalue(r, i, 23), 0, NULL);
        json_t *o = json_pack(
            "{s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:i},s:I,s:I,s:f,s:f,s:b,s:o,s:o,"
            "s:o,s:b,s:o,s:s,s:o}",
            "call_id", (json_int_t)strtoll(PQgetvalue(r, i, 0), NULL, 10), "request_id",
            str_or_null(r, i, 1), "created_at", (json_int_t)strtoll(PQgetvalue(r, i, 2), NULL, 10),
            "collection", str_or_null(r, i, 3), "question", str_or_null(r, i, 4), "answer",
            str_or_null(r, i, 5), "prompt", str_or_null(r, i, 6), "response", str_or_null(r, i, 7),
            "generator", str_or_null(r, i, 8), "model", str_or_null(r, i, 9), "template", "id",
            str_or_null(r, i, 10), "version", atoi(PQgetvalue(r, i, 11)), "prompt_tokens",
            (json_int_t)strtoll(PQgetvalue(r, i, 12), NULL, 10), "completion_tokens",
            (json_int_t)strtoll(PQgetvalue(r, i, 13), NULL, 10), "cost",
            strtod(PQgetvalue(r, i, 14), NULL), "latency_ms", strtod(PQgetvalue(r, i, 15), NULL),
            "check_ok", atoi(PQgetvalue(r, i, 16)), "path", str_or_null(r, i, 17), "route_reason",
            str_or_null(r, i, 18), "cache", str_or_null(r, i, 19), "redacted",
            atoi(PQgetvalue(r, i, 20)), "detail", detail ? detail : json_object(), "node",
            PQgetvalue(r, i, 22), "feedback", fb ? fb : json_array());
        json_array_append_new(calls, o);
    }
    PQclear(r);
    x->out = json_pack("{s:o}", "calls", calls);
    return RAGD_OK;
}

ragd_status store_pg_calls_list(store_pg_pool *p, long limit, json_t **out, ragd_error *err)
{
    list_ctx x = {limit, NULL};
    ragd_status rc = with_conn(p, list_body, &x, err);
    *out = rc ? NULL : x.out;
    return rc;
}

typedef struct {
    const char *node, *rating, *comment;
    int64_t call, id;
} feedback_ctx;

static ragd_status feedback_body(store_pg *pg, void *vctx, ragd_error *err)
{
    feedback_ctx *x = vctx;
    char call[24], now[24];
    snprintf(call, sizeof call, "%lld", (long long)x->call);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {call, x->node, x->rating, x->comment, now};
    /* One statement: no row when the call does not exist. */
    PGresult *r = pg_run(pg,
                         "INSERT INTO answer_feedback(call_id, node, rating, comment, created_at) "
                         "SELECT id, $2, $3, $4, $5::bigint FROM answer_calls WHERE id = "
                         "$1::bigint RETURNING id",
                         5, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot record feedback", err);
    if (rc) return rc;
    if (!PQntuples(r)) {
        PQclear(r);
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "call_id",
                                    "no answer call %lld (ragd log lists them)",
                                    (long long)x->call);
    }
    x->id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return RAGD_OK;
}

ragd_status store_pg_feedback_add(store_pg_pool *p, const char *node, int64_t call_id,
                                  const char *rating, const char *comment, int64_t *id,
                                  ragd_error *err)
{
    feedback_ctx x = {node ? node : "", rating, comment, call_id, 0};
    ragd_status rc = with_conn(p, feedback_body, &x, err);
    if (!rc) *id = x.id;
    return rc;
}
