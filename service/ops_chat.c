/* service/ops_chat.c — OpenAI-compatible models and grounded chat
 * completions (docs/compat.md).
 *
 * A model is a collection: "ragd/<collection>". A chat completion answers
 * the conversation's last user message through ragd_answer (the same
 * retrieval, validation, generation and citation check as /v1/answer).
 * Earlier turns only shape the question: when the last user message is a
 * short follow-up (fewer than CHAT_FOLLOWUP_WORDS words) and an earlier
 * user message exists, the question is that earlier user message, a
 * newline, then the last one; system and assistant messages are never
 * used (ragd's answer prompt is fixed). Streaming replays the checked
 * answer in chunks: nothing unchecked is ever sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "service/engine_internal.h"
#include "service/request.h"

#define CHAT_FOLLOWUP_WORDS 6
#define CHAT_MAX_MESSAGES 256
#define CHAT_CHUNK_WORDS 8 /* words per streamed content chunk */

ragd_status ragd_models_list(ragd_engine *e, const ragd_principal *who, json_t **out,
                             ragd_error *err)
{
    *out = NULL;
    json_t *all = NULL;
    ragd_status rc = ragd_collections_list(e, &all, err);
    if (rc) return rc;
    json_t *data = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(all, "collections"), i, c)
    {
        const char *name = json_string_value(json_object_get(c, "name"));
        ragd_error ae;
        if (who && ragd_authorize(who, name, "read", &ae)) continue;
        char id[96];
        snprintf(id, sizeof id, "ragd/%s", name);
        json_array_append_new(data,
                              json_pack("{s:s,s:s,s:O,s:s}", "id", id, "object", "model", "created",
                                        json_object_get(c, "created_at"), "owned_by", "ragd"));
    }
    json_decref(all);
    *out = json_pack("{s:s,s:o}", "object", "list", "data", data);
    return RAGD_OK;
}

ragd_status ragd_model_get(ragd_engine *e, const ragd_principal *who, const char *id, json_t **out,
                           ragd_error *err)
{
    *out = NULL;
    json_t *all = NULL;
    ragd_status rc = ragd_models_list(e, who, &all, err);
    if (rc) return rc;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(all, "data"), i, m)
    {
        if (!*out && !strcmp(json_string_value(json_object_get(m, "id")), id))
            *out = json_incref(m);
    }
    json_decref(all);
    return *out ? RAGD_OK
                : ragd_error_set_field(err, RAGD_ENOTFOUND, "model", "no model '%.80s'", id);
}

ragd_status ragd_chat_model_collection(const json_t *req, char *coll, size_t size, ragd_error *err)
{
    const char *m = json_string_value(json_object_get(req, "model"));
    if (!m || strncmp(m, "ragd/", 5) || !m[5] || strlen(m + 5) >= size || strlen(m + 5) > 64)
        return ragd_error_set_field(err, RAGD_EINPUT, "model",
                                    "'model' must be \"ragd/<collection>\" (see GET /v1/models)");
    snprintf(coll, size, "%s", m + 5);
    return RAGD_OK;
}

/* Fields OpenAI clients send that ragd accepts and ignores (documented). */
static const req_field CHAT[] = {{"model", REQ_STRING, 1, 128, true},
                                 {"messages", REQ_ARRAY, 0, 0, true},
                                 {"stream", REQ_BOOL, 0, 0, false},
                                 {"stream_options", REQ_OBJECT, 0, 0, false},
                                 {"n", REQ_INT, 1, 1, false},
                                 {"temperature", REQ_NUMBER, 0, 2, false},
                                 {"top_p", REQ_NUMBER, 0, 1, false},
                                 {"max_tokens", REQ_INT, 1, 1000000, false},
                                 {"max_completion_tokens", REQ_INT, 1, 1000000, false},
                                 {"presence_penalty", REQ_NUMBER, -2, 2, false},
                                 {"frequency_penalty", REQ_NUMBER, -2, 2, false},
                                 {"user", REQ_STRING, 0, 256, false},
                                 {"seed", REQ_INT, -9.2e18, 9.2e18, false},
                                 {"stop", REQ_ANY, 0, 0, false},
                                 {"metadata", REQ_OBJECT, 0, 0, false},
                                 {"store", REQ_BOOL, 0, 0, false},
                                 {NULL, 0, 0, 0, false}};

/* A message's text: a string, or the text parts of a content array. */
static ragd_status message_text(const json_t *m, size_t i, ragd_buf *b, ragd_error *err)
{
    char f[48];
    snprintf(f, sizeof f, "messages[%zu].content", i);
    const json_t *c = json_object_get(m, "content");
    if (json_is_string(c)) {
        ragd_buf_puts(b, json_string_value(c));
        return RAGD_OK;
    }
    if (json_is_array(c)) {
        size_t j;
        json_t *p;
        json_array_foreach(c, j, p)
        {
            const char *type = json_string_value(json_object_get(p, "type"));
            const json_t *t = json_object_get(p, "text");
            if (!type || strcmp(type, "text") || !json_is_string(t))
                return ragd_error_set_field(err, RAGD_EINPUT, f,
                                            "only text content parts are accepted");
            ragd_buf_printf(b, "%s%s", j ? "\n" : "", json_string_value(t));
        }
        return RAGD_OK;
    }
    return ragd_error_set_field(err, RAGD_EINPUT, f, "content must be a string or text parts");
}

static size_t words(const char *s)
{
    size_t n = 0;
    bool in = false;
    for (; *s; s++) {
        bool sp = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        if (!sp && !in) n++;
        in = !sp;
    }
    return n;
}

/* The question for ragd_answer from the messages (see the top comment). */
static ragd_status chat_question(const json_t *msgs, ragd_buf *q, ragd_error *err)
{
    size_t n = json_array_size(msgs);
    if (n == 0 || n > CHAT_MAX_MESSAGES)
        return ragd_error_set_field(err, RAGD_EINPUT, "messages",
                                    "'messages' must hold 1 to %d messages", CHAT_MAX_MESSAGES);
    static const char *const ROLES[] = {"system", "developer", "user", "assistant", "tool", NULL};
    long last = -1, prev = -1;
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(msgs, i);
        const char *role = json_string_value(json_object_get(m, "role"));
        bool ok = false;
        for (int r = 0; role && ROLES[r]; r++)
            ok |= !strcmp(ROLES[r], role);
        if (!json_is_object(m) || !ok) {
            char f[48];
            snprintf(f, sizeof f, "messages[%zu].role", i);
            return ragd_error_set_field(err, RAGD_EINPUT, f,
                                        "each message needs a role: system, developer, user, "
                                        "assistant or tool");
        }
        if (!strcmp(role, "user")) {
            prev = last;
            last = (long)i;
        }
    }
    if (last < 0)
        return ragd_error_set_field(err, RAGD_EINPUT, "messages",
                                    "the conversation has no user message to answer");
    ragd_buf lq = RAGD_BUF_INIT;
    ragd_status rc = message_text(json_array_get(msgs, (size_t)last), (size_t)last, &lq, err);
    if (!rc && prev >= 0 && lq.data && words(lq.data) < CHAT_FOLLOWUP_WORDS) {
        rc = message_text(json_array_get(msgs, (size_t)prev), (size_t)prev, q, err);
        ragd_buf_putc(q, '\n');
    }
    if (!rc) ragd_buf_puts(q, lq.data ? lq.data : "");
    ragd_buf_free(&lq);
    return rc;
}

ragd_status ragd_chat_completion(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = req_check_fields(req, CHAT, err);
    char coll[80];
    if (!rc) rc = ragd_chat_model_collection(req, coll, sizeof coll, err);
    if (rc) return rc;
    ragd_buf q = RAGD_BUF_INIT;
    if ((rc = chat_question(json_object_get(req, "messages"), &q, err))) {
        ragd_buf_free(&q);
        return rc;
    }
    json_t *areq = json_pack("{s:s,s:s}", "collection", coll, "query", q.data ? q.data : "");
    json_t *a = NULL;
    rc = ragd_answer(e, areq, &a, err);
    json_decref(areq);
    ragd_buf_free(&q);
    if (rc == RAGD_ENOTFOUND && !strcmp(err->field, "collection"))
        snprintf(err->field, sizeof err->field, "model");
    if (rc && !strcmp(err->field, "query")) /* the question comes from the messages */
        snprintf(err->field, sizeof err->field, "messages");
    if (rc) return rc;
    char id[48];
    if ((rc = engine_new_id("chatcmpl-", id, sizeof id, err))) {
        json_decref(a);
        return rc;
    }
    json_t *usage = json_object_get(a, "usage");
    json_int_t pt = json_integer_value(json_object_get(usage, "prompt_tokens"));
    json_int_t ct = json_integer_value(json_object_get(usage, "completion_tokens"));
    json_t *ext = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O,s:O}", "question",
                            json_object_get(a, "query"), "relevant", json_object_get(a, "relevant"),
                            "citations", json_object_get(a, "citations"), "sources",
                            json_object_get(a, "sources"), "check", json_object_get(a, "check"),
                            "path", json_object_get(a, "path"), "usage", usage);
    *out =
        json_pack("{s:s,s:s,s:I,s:O,s:[{s:i,s:{s:s,s:O,s:n},s:s,s:n}],s:{s:I,s:I,s:I},s:n,s:o}",
                  "id", id, "object", "chat.completion", "created", (json_int_t)time(NULL), "model",
                  json_object_get(req, "model"), "choices", "index", 0, "message", "role",
                  "assistant", "content", json_object_get(a, "answer"), "refusal", "finish_reason",
                  "stop", "logprobs", "usage", "prompt_tokens", pt, "completion_tokens", ct,
                  "total_tokens", pt + ct, "system_fingerprint", "ragd", ext);
    json_decref(a);
    return *out ? RAGD_OK : ragd_error_set(err, RAGD_EINTERNAL, "cannot build the completion");
}

static json_t *chunk_obj(const json_t *c, json_t *delta, const char *finish)
{
    return json_pack("{s:O,s:s,s:O,s:O,s:n,s:[{s:i,s:o,s:s?,s:n}]}", "id", json_object_get(c, "id"),
                     "object", "chat.completion.chunk", "created", json_object_get(c, "created"),
                     "model", json_object_get(c, "model"), "system_fingerprint", "choices", "index",
                     0, "delta", delta, "finish_reason", finish, "logprobs");
}

json_t *ragd_chat_completion_chunks(const json_t *c, bool include_usage)
{
    json_t *arr = json_array();
    json_array_append_new(
        arr, chunk_obj(c, json_pack("{s:s,s:s}", "role", "assistant", "content", ""), NULL));
    const json_t *msg =
        json_object_get(json_array_get(json_object_get(c, "choices"), 0), "message");
    const char *text = json_string_value(json_object_get(msg, "content"));
    /* Pieces of CHAT_CHUNK_WORDS words, each with the spaces after it: the
     * concatenation is the text, byte for byte. */
    const char *p = text ? text : "";
    while (*p) {
        const char *s = p;
        size_t w = 0;
        bool in = false;
        for (; *p; p++) {
            bool sp = *p == ' ' || *p == '\n' || *p == '\t';
            if (!sp && !in && w++ == CHAT_CHUNK_WORDS) break;
            in = !sp;
        }
        json_array_append_new(
            arr, chunk_obj(c, json_pack("{s:s%}", "content", s, (size_t)(p - s)), NULL));
    }
    json_t *last = chunk_obj(c, json_object(), "stop");
    json_object_set(last, "ragd", json_object_get(c, "ragd"));
    json_array_append_new(arr, last);
    if (include_usage) {
        json_t *u = chunk_obj(c, json_object(), NULL);
        json_array_clear(json_object_get(u, "choices"));
        json_object_set(u, "usage", json_object_get(c, "usage"));
        json_array_append_new(arr, u);
    }
    return arr;
}
