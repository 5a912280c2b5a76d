/* service/ops_log.c — the answer call log: writing a row per answer,
 * listing calls (`ragd log`) and recording feedback (`ragd feedback`,
 * POST /v1/feedback).
 *
 * Rows go through the engine's writer connection under write_mu (reader
 * connections are read-only), so a log write waits for an ingest batch in
 * progress — a few milliseconds — rather than failing. Redaction
 * (core/redact.h) is applied to every text column when the engine was
 * opened with log_redact; the result returned to the caller is never
 * changed by it.
 *
 * With a PostgreSQL store of record the log is the store's, shared by
 * every node (store/pg_calls.c): rows carry the node's name, feedback for
 * a call answered at another node works, and each call takes a pooled
 * connection instead of write_mu, so concurrent answers log concurrently.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "core/log.h"
#include "core/redact.h"
#include "service/engine_internal.h"
#include "service/request.h"

void engine_request_id(char out[40])
{
    unsigned char r[8] = {0};
    if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) memset(r, 0, sizeof r);
    snprintf(out, 40, "ans-%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4], r[5],
             r[6], r[7]);
}

/* s, or its redacted copy in *keep (freed by the caller). */
static const char *maybe_redact(bool on, const char *s, char **keep)
{
    *keep = NULL;
    if (!on || !s) return s;
    return *keep = redact_text(s, NULL);
}

int64_t engine_log_answer(ragd_engine *e, const engine_call_log *l)
{
    if (e->o.no_call_log) return 0;
    bool red = e->o.log_redact;
    const answer_result *a = l->ar;
    char *k[6];
    json_t *detail = json_pack("{s:O,s:O?}", "usage", json_object_get(l->result, "usage"), "steps",
                               json_object_get(json_object_get(l->result, "check"), "steps"));
    const char *rr = maybe_redact(red, a->repair_response, &k[5]);
    if (rr) json_object_set_new(detail, "repair_response", json_string(rr));
    store_call c = {
        .request_id = l->request_id,
        .collection = l->collection,
        .question = maybe_redact(red, l->question, &k[0]),
        .prompt = maybe_redact(red, a->prompt, &k[1]),
        .response = maybe_redact(red, a->response, &k[2]),
        .answer = maybe_redact(red, a->answer, &k[3]),
        .generator = a->generator,
        .model = a->model,
        .template_id = a->template_id,
        .path = a->path,
        .route_reason = l->route_reason,
        .cache = l->cache,
        .template_version = a->template_version,
        .prompt_tokens = a->usage.prompt_tokens,
        .completion_tokens = a->usage.completion_tokens,
        .cost = a->usage.cost,
        .latency_ms = l->latency_ms,
        .check_ok = json_is_true(json_object_get(a->check, "ok")),
        .redacted = red,
        .detail = detail,
    };
    k[4] = NULL;
    int64_t id = 0;
    ragd_error err;
    ragd_status rc;
    if (e->pgpool) {
        rc = store_pg_call_insert(e->pgpool, e->node, &c, &id, &err);
    } else {
        pthread_mutex_lock(&e->write_mu);
        rc = store_call_insert(e->writer, &c, &id, &err);
        pthread_mutex_unlock(&e->write_mu);
    }
    if (rc) {
        log_write(LOG_WARN, "cannot log the answer call", "request_id", l->request_id, "error",
                  err.msg, NULL);
        id = 0;
    }
    for (int i = 0; i < 6; i++)
        free(k[i]);
    json_decref(detail);
    return id;
}

ragd_status ragd_log_list(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    static const req_field F[] = {{"limit", REQ_INT, 1, RAGD_MAX_PAGE, false},
                                  {NULL, 0, 0, 0, false}};
    json_t *empty = NULL;
    if (!req) req = empty = json_object();
    ragd_status rc = req_check_fields(req, F, err);
    json_t *lim = json_object_get(req, "limit");
    long limit = lim ? (long)json_integer_value(lim) : 20;
    json_decref(empty);
    if (rc) return rc;
    if (e->pgpool) return store_pg_calls_list(e->pgpool, limit, out, err);
    engine_slot *s;
    if ((rc = engine_slot_acquire(e, &s, err))) return rc;
    rc = store_calls_list(s->rd, limit, out, err);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_feedback(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    static const req_field F[] = {{"call_id", REQ_INT, 1, 9e15, true},
                                  {"rating", REQ_STRING, 0, 0, true},
                                  {"comment", REQ_STRING, 0, 4096, false},
                                  {NULL, 0, 0, 0, false}};
    if (!json_is_object(req))
        return ragd_error_set(err, RAGD_EINPUT, "the feedback request must be a JSON object");
    ragd_status rc = req_check_fields(req, F, err);
    if (rc) return rc;
    const char *rating = req_str(req, "rating", "");
    if (strcmp(rating, "up") && strcmp(rating, "down"))
        return ragd_error_set_field(err, RAGD_ERANGE, "rating",
                                    "'rating' must be \"up\" or \"down\", not '%.32s'", rating);
    int64_t call = (int64_t)json_integer_value(json_object_get(req, "call_id"));
    const char *comment = req_str(req, "comment", NULL);
    int64_t id = 0;
    if (e->pgpool) {
        rc = store_pg_feedback_add(e->pgpool, e->node, call, rating, comment, &id, err);
    } else {
        pthread_mutex_lock(&e->write_mu);
        rc = store_feedback_add(e->writer, call, rating, comment, &id, err);
        pthread_mutex_unlock(&e->write_mu);
    }
    if (rc) return rc;
    *out = json_pack("{s:I,s:I,s:s,s:s?}", "feedback_id", (json_int_t)id, "call_id",
                     (json_int_t)call, "rating", rating, "comment", comment);
    return RAGD_OK;
}
