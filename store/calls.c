/* store/calls.c — the answer call log, its feedback, write generations.
 *
 * answer_calls holds one row per answer (every generation call it made is
 * summed in its tokens and cost and listed in detail.steps); the id is the
 * call id users give `ragd feedback` and POST /v1/feedback (AUTOINCREMENT:
 * never reused). answer_feedback rows point at a call. write_counter is
 * kept by triggers (store/schema.c v5); reading it is one row.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

static void bind_text(sqlite3_stmt *q, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(q, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(q, i);
}

ragd_status store_call_insert(ragd_store *st, const store_call *c, int64_t *id, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO answer_calls(request_id, collection, question, prompt, "
                           "response, answer, generator, model, template_id, template_version, "
                           "prompt_tokens, completion_tokens, cost, latency_ms, check_ok, path, "
                           "route_reason, cache, redacted, detail, created_at) "
                           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot log the answer call");
    char *detail = c->detail ? json_dumps(c->detail, JSON_COMPACT) : NULL;
    bind_text(q, 1, c->request_id);
    bind_text(q, 2, c->collection);
    bind_text(q, 3, c->question);
    bind_text(q, 4, c->prompt ? c->prompt : "");
    bind_text(q, 5, c->response ? c->response : "");
    bind_text(q, 6, c->answer);
    bind_text(q, 7, c->generator);
    bind_text(q, 8, c->model);
    bind_text(q, 9, c->template_id);
    sqlite3_bind_int(q, 10, c->template_version);
    sqlite3_bind_int64(q, 11, c->prompt_tokens);
    sqlite3_bind_int64(q, 12, c->completion_tokens);
    sqlite3_bind_double(q, 13, c->cost);
    sqlite3_bind_double(q, 14, c->latency_ms);
    sqlite3_bind_int(q, 15, c->check_ok);
    bind_text(q, 16, c->path);
    bind_text(q, 17, c->route_reason);
    bind_text(q, 18, c->cache ? c->cache : "miss");
    sqlite3_bind_int(q, 19, c->redacted);
    bind_text(q, 20, detail ? detail : "{}");
    sqlite3_bind_int64(q, 21, (sqlite3_int64)time(NULL));
    ragd_status rc = RAGD_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_sqlite_error(db, err, "cannot log the answer call");
    else
        *id = sqlite3_last_insert_rowid(db);
    sqlite3_finalize(q);
    free(detail);
    return rc;
}

static json_t *col_str(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return t ? json_string((const char *)t) : json_null();
}

static json_t *feedback_of(sqlite3 *db, int64_t call)
{
    json_t *a = json_array();
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT rating, comment, created_at FROM answer_feedback WHERE "
                           "call_id = ? ORDER BY id",
                           -1, &q, NULL) != SQLITE_OK)
        return a;
    sqlite3_bind_int64(q, 1, call);
    while (sqlite3_step(q) == SQLITE_ROW)
        json_array_append_new(a, json_pack("{s:o,s:o,s:I}", "rating", col_str(q, 0), "comment",
                                           col_str(q, 1), "created_at",
                                           (json_int_t)sqlite3_column_int64(q, 2)));
    sqlite3_finalize(q);
    return a;
}

ragd_status store_calls_list(ragd_store *st, long limit, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, request_id, created_at, collection, question, answer, "
                           "prompt, response, generator, model, template_id, template_version, "
                           "prompt_tokens, completion_tokens, cost, latency_ms, check_ok, path, "
                           "route_reason, cache, redacted, detail FROM answer_calls "
                           "ORDER BY id DESC LIMIT ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the answer call log");
    sqlite3_bind_int64(q, 1, limit);
    json_t *calls = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        const unsigned char *d = sqlite3_column_text(q, 21);
        json_t *detail = d ? json_loads((const char *)d, 0, NULL) : NULL;
        json_t *o = json_pack(
            "{s:I,s:o,s:I,s:o,s:o,s:o,s:o,s:o,s:o,s:o,s:{s:o,s:i},s:I,s:I,s:f,s:f,s:b,s:o,s:o,"
            "s:o,s:b,s:o}",
            "call_id", (json_int_t)id, "request_id", col_str(q, 1), "created_at",
            (json_int_t)sqlite3_column_int64(q, 2), "collection", col_str(q, 3), "question",
            col_str(q, 4), "answer", col_str(q, 5), "prompt", col_str(q, 6), "response",
            col_str(q, 7), "generator", col_str(q, 8), "model", col_str(q, 9), "template", "id",
            col_str(q, 10), "version", sqlite3_column_int(q, 11), "prompt_tokens",
            (json_int_t)sqlite3_column_int64(q, 12), "completion_tokens",
            (json_int_t)sqlite3_column_int64(q, 13), "cost", sqlite3_column_double(q, 14),
            "latency_ms", sqlite3_column_double(q, 15), "check_ok", sqlite3_column_int(q, 16),
            "path", col_str(q, 17), "route_reason", col_str(q, 18), "cache", col_str(q, 19),
            "redacted", sqlite3_column_int(q, 20), "detail", detail ? detail : json_object());
        json_object_set_new(o, "feedback", feedback_of(db, id));
        json_array_append_new(calls, o);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(calls);
        return store_sqlite_error(db, err, "cannot read the answer call log");
    }
    *out = json_pack("{s:o}", "calls", calls);
    return RAGD_OK;
}

ragd_status store_feedback_add(ragd_store *st, int64_t call_id, const char *rating,
                               const char *comment, int64_t *id, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM answer_calls WHERE id = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlite_error(db, err, "cannot record feedback");
    sqlite3_bind_int64(q, 1, call_id);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r == SQLITE_DONE)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "call_id",
                                    "no answer call %lld (ragd log lists them)",
                                    (long long)call_id);
    if (r != SQLITE_ROW) return store_sqlite_error(db, err, "cannot record feedback");
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO answer_feedback(call_id, rating, comment, created_at) "
                           "VALUES (?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot record feedback");
    sqlite3_bind_int64(q, 1, call_id);
    bind_text(q, 2, rating);
    bind_text(q, 3, comment);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
    ragd_status rc = RAGD_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_sqlite_error(db, err, "cannot record feedback");
    else
        *id = sqlite3_last_insert_rowid(db);
    sqlite3_finalize(q);
    return rc;
}

ragd_status store_write_generation(ragd_store *st, int64_t *gen, ragd_error *err)
{
    *gen = 0;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT gen FROM write_counter WHERE id = 1", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the store's write generation");
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) *gen = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_sqlite_error(db, err, "cannot read the store's write generation");
    return RAGD_OK;
}
