/* api/routes_openai.c — the OpenAI-compatible routes (docs/compat.md):
 * files, vector stores and their files and search, models and chat
 * completions. Each handler converts the request (JSON body, multipart
 * form or query string) to one library call (service/ragd.h) and returns
 * its object; errors on these paths have OpenAI's shape
 * {"error":{"message","type","param","code"}} (api_openai_error_json).
 * Chat streaming frames the library's chunk objects as Server-Sent Events
 * ending in "data: [DONE]".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "core/buf.h"
#include "core/json.h"

bool api_openai_path(const char *p)
{
    static const char *const PREFIXES[] = {"/v1/files", "/v1/vector_stores", "/v1/models",
                                           "/v1/chat/", NULL};
    for (int i = 0; p && PREFIXES[i]; i++) {
        size_t n = strlen(PREFIXES[i]);
        if (!strncmp(p, PREFIXES[i], n) &&
            (p[n] == '\0' || p[n] == '/' || PREFIXES[i][n - 1] == '/'))
            return true;
    }
    return false;
}

json_t *api_openai_error_json(int status, const char *code, const char *message, const char *field)
{
    const char *type = status == 401   ? "authentication_error"
                       : status == 403 ? "permission_error"
                       : status == 429 ? "rate_limit_error"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    return json_pack("{s:{s:s,s:s,s:o,s:s}}", "error", "message", message, "type", type, "param",
                     field && *field ? json_string(field) : json_null(), "code", code);
}

size_t api_form_uploads(const mp_form *f, const char *name, ragd_upload *out, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; f && i < f->nparts; i++) {
        const mp_part *p = &f->parts[i];
        if (strcmp(p->name, name)) continue;
        if (n < max)
            out[n] = (ragd_upload){.filename = p->filename,
                                   .content_type = p->content_type,
                                   .data = p->data,
                                   .len = p->len};
        n++;
    }
    return n;
}

json_t *api_form_fields(const mp_form *f, const char *except)
{
    json_t *o = json_object();
    for (size_t i = 0; f && i < f->nparts; i++)
        if (strcmp(f->parts[i].name, except))
            json_object_set_new(o, f->parts[i].name,
                                json_stringn_nocheck(f->parts[i].data, f->parts[i].len));
    return o;
}

/* The query-string arguments named in names as a JSON object of strings. */
static json_t *query_args(const api_call *c, const char *const *names)
{
    json_t *o = json_object();
    for (int i = 0; names[i]; i++) {
        const char *v = api_call_query(c, names[i]);
        if (v) json_object_set_new(o, names[i], json_string(v));
    }
    return o;
}

static const char *const LIST_ARGS[] = {"limit",   "after",  "before", "order",
                                        "purpose", "filter", NULL};

/* --- files --- */

static ragd_status h_file_create(api_call *c, api_reply *r, ragd_error *err)
{
    if (!c->form)
        return ragd_error_set(err, RAGD_EINPUT,
                              "upload files as multipart/form-data with parts 'file' and "
                              "'purpose'");
    ragd_upload up[2];
    size_t n = api_form_uploads(c->form, "file", up, 2);
    if (n != 1)
        return ragd_error_set_field(err, RAGD_EINPUT, "file", "send exactly one 'file' part");
    const mp_part *p = mp_form_get(c->form, "purpose");
    return ragd_file_create(c->eng, c->who, &up[0], p ? p->data : NULL, &r->json, err);
}

static ragd_status h_files_list(api_call *c, api_reply *r, ragd_error *err)
{
    json_t *args = query_args(c, LIST_ARGS);
    ragd_status rc = ragd_files_list(c->eng, c->who, args, &r->json, err);
    json_decref(args);
    return rc;
}

static ragd_status h_file_get(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_file_get(c->eng, c->who, c->params[0], &r->json, err);
}

static ragd_status h_file_delete(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_file_delete(c->eng, c->who, c->params[0], &r->json, err);
}

/* --- vector stores --- */

static ragd_status h_vs_create(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_vstore_create(c->eng, c->who, c->body, &r->json, err);
}

static ragd_status h_vs_list(api_call *c, api_reply *r, ragd_error *err)
{
    json_t *args = query_args(c, LIST_ARGS);
    ragd_status rc = ragd_vstores_list(c->eng, c->who, args, &r->json, err);
    json_decref(args);
    return rc;
}

static ragd_status h_vs_get(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_vstore_get(c->eng, c->params[0], &r->json, err);
}

static ragd_status h_vs_delete(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_vstore_delete(c->eng, c->params[0], &r->json, err);
}

/* While a file ingests, tell OpenAI's polling helpers (createAndPoll) to
 * look again in 200 ms rather than their default 5 s. */
static ragd_status poll_hint(ragd_status rc, api_reply *r)
{
    const char *st = json_string_value(json_object_get(r->json, "status"));
    if (!rc && st && !strcmp(st, "in_progress")) {
        r->header_name = "openai-poll-after-ms";
        snprintf(r->header_value, sizeof r->header_value, "200");
    }
    return rc;
}

static ragd_status h_vsf_attach(api_call *c, api_reply *r, ragd_error *err)
{
    return poll_hint(ragd_vstore_file_attach(c->eng, c->who, c->params[0], c->body, &r->json, err),
                     r);
}

static ragd_status h_vsf_list(api_call *c, api_reply *r, ragd_error *err)
{
    json_t *args = query_args(c, LIST_ARGS);
    ragd_status rc = ragd_vstore_files_list(c->eng, c->params[0], args, &r->json, err);
    json_decref(args);
    return rc;
}

static ragd_status h_vsf_get(api_call *c, api_reply *r, ragd_error *err)
{
    return poll_hint(ragd_vstore_file_get(c->eng, c->params[0], c->params[1], &r->json, err), r);
}

static ragd_status h_vsf_delete(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_vstore_file_delete(c->eng, c->params[0], c->params[1], &r->json, err);
}

static ragd_status h_vs_search(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_vstore_search(c->eng, c->params[0], c->body, &r->json, err);
}

/* --- models and chat --- */

static ragd_status h_models(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_models_list(c->eng, c->who, &r->json, err);
}

static ragd_status h_model_get(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_model_get(c->eng, c->who, c->params[0], &r->json, err);
}

/* The model names the collection: authorize it here (read scope). */
static ragd_status h_chat(api_call *c, api_reply *r, ragd_error *err)
{
    char coll[80];
    ragd_status rc = ragd_chat_model_collection(c->body, coll, sizeof coll, err);
    if (!rc && c->who) rc = ragd_authorize(c->who, coll, "read", err);
    if (!rc) rc = ragd_chat_completion(c->eng, c->body, &r->json, err);
    if (rc || !json_is_true(json_object_get(c->body, "stream"))) return rc;
    bool usage =
        json_is_true(json_object_get(json_object_get(c->body, "stream_options"), "include_usage"));
    json_t *chunks = ragd_chat_completion_chunks(r->json, usage);
    ragd_buf b = RAGD_BUF_INIT;
    size_t i;
    json_t *ch;
    json_array_foreach(chunks, i, ch)
    {
        char *s = json_dumps(ch, RAGD_JSON_DUMP_FLAGS);
        ragd_buf_printf(&b, "data: %s\n\n", s);
        free(s);
    }
    ragd_buf_puts(&b, "data: [DONE]\n\n");
    json_decref(chunks);
    json_decref(r->json);
    r->json = NULL;
    r->text = ragd_buf_steal(&b);
    r->content_type = "text/event-stream";
    return RAGD_OK;
}

const api_route API_OPENAI_ROUTES[] = {
    {"POST", "/v1/files", h_file_create, API_BODY_FORM, "write", COLL_NONE},
    {"GET", "/v1/files", h_files_list, API_BODY_NONE, "read", COLL_NONE},
    {"GET", "/v1/files/{c}", h_file_get, API_BODY_NONE, "read", COLL_NONE},
    {"DELETE", "/v1/files/{c}", h_file_delete, API_BODY_NONE, "write", COLL_NONE},
    {"POST", "/v1/vector_stores", h_vs_create, API_BODY_JSON, "admin", COLL_NONE},
    {"GET", "/v1/vector_stores", h_vs_list, API_BODY_NONE, "read", COLL_NONE},
    {"GET", "/v1/vector_stores/{c}", h_vs_get, API_BODY_NONE, "read", COLL_PATH},
    {"DELETE", "/v1/vector_stores/{c}", h_vs_delete, API_BODY_NONE, "admin", COLL_PATH},
    {"POST", "/v1/vector_stores/{c}/files", h_vsf_attach, API_BODY_JSON, "write", COLL_PATH},
    {"GET", "/v1/vector_stores/{c}/files", h_vsf_list, API_BODY_NONE, "read", COLL_PATH},
    {"GET", "/v1/vector_stores/{c}/files/{c}", h_vsf_get, API_BODY_NONE, "read", COLL_PATH},
    {"DELETE", "/v1/vector_stores/{c}/files/{c}", h_vsf_delete, API_BODY_NONE, "write", COLL_PATH},
    {"POST", "/v1/vector_stores/{c}/search", h_vs_search, API_BODY_JSON, "read", COLL_PATH},
    {"GET", "/v1/models", h_models, API_BODY_NONE, "read", COLL_NONE},
    {"GET", "/v1/models/{id}", h_model_get, API_BODY_NONE, "read", COLL_NONE},
    {"POST", "/v1/chat/completions", h_chat, API_BODY_JSON, "read", COLL_NONE},
    {NULL, NULL, NULL, API_BODY_NONE, NULL, COLL_NONE}};
