/* api/routes.c — the HTTP routes and their handlers (see routes.h). */
#include "api/routes.h"

#include "api/mcp_http.h"
#include "api/sse.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/json.h"

/* --- status mapping ------------------------------------------------------------------ */

int api_status_http(ragd_status st)
{
    switch (st) {
    case RAGD_OK:
        return 200;
    case RAGD_EINPUT:
    case RAGD_EUSAGE:
        return 400;
    case RAGD_ERANGE:
        return 422;
    case RAGD_ENOTFOUND:
        return 404;
    case RAGD_ECONFLICT:
        return 409;
    case RAGD_EPROVIDER:
        return 503;
    case RAGD_EAUTH:
        return 401;
    case RAGD_EFORBIDDEN:
        return 403;
    default:
        return 500;
    }
}

const char *api_status_code(ragd_status st)
{
    return ragd_status_api_code(st); /* one table for the CLI's --json errors and HTTP */
}

json_t *api_error_json(const char *code, const char *message, const char *field)
{
    return json_pack("{s:{s:s,s:s,s:o}}", "error", "code", code, "message", message, "field",
                     field && *field ? json_string(field) : json_null());
}

/* --- handlers -------------------------------------------------------------------------- */

static ragd_status h_healthz(api_call *c, api_reply *r, ragd_error *err)
{
    (void)c;
    (void)err;
    r->json = json_pack("{s:s}", "status", "ok");
    return RAGD_OK;
}

static ragd_status h_readyz(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_ready(c->eng, &r->json, err);
    if (!rc && !json_is_true(json_object_get(r->json, "ready"))) r->status = 503;
    return rc;
}

static ragd_status h_metrics(api_call *c, api_reply *r, ragd_error *err)
{
    (void)err;
    /* Index sizes of the loaded indexes only: /metrics never loads one. */
    json_t *idx = ragd_engine_index_report(c->eng);
    char *text = api_metrics_render(c->metrics, idx);
    json_decref(idx);
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, text);
    free(text);
    json_t *jobs = NULL;
    ragd_error je;
    ragd_buf_puts(&b, "# HELP ragd_jobs Background jobs by state.\n# TYPE ragd_jobs gauge\n");
    if (!ragd_jobs_counts(c->eng, &jobs, &je)) {
        static const char *const STATES[] = {"queued", "running", "completed", "failed", NULL};
        for (int i = 0; STATES[i]; i++)
            ragd_buf_printf(&b, "ragd_jobs{state=\"%s\"} %lld\n", STATES[i],
                            (long long)json_integer_value(json_object_get(jobs, STATES[i])));
        json_decref(jobs);
    }
    json_t *st = ragd_engine_stats(c->eng);
    api_metrics_engine(&b, st);
    json_decref(st);
    r->text = ragd_buf_steal(&b);
    r->content_type = "text/plain; version=0.0.4; charset=utf-8";
    return RAGD_OK;
}

static ragd_status h_openapi(api_call *c, api_reply *r, ragd_error *err)
{
    (void)c;
    (void)err;
    r->text = ragd_xstrdup(api_openapi_document());
    r->content_type = "application/json";
    return RAGD_OK;
}

/* The list holds only the collections the caller's key covers. */
static ragd_status h_collections_list(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_collections_list(c->eng, &r->json, err);
    if (rc || !c->who || !c->who->collections) return rc;
    json_t *all = json_object_get(r->json, "collections");
    for (size_t i = json_array_size(all); i-- > 0;) {
        ragd_error ae;
        const char *name = json_string_value(json_object_get(json_array_get(all, i), "name"));
        if (ragd_authorize(c->who, name, "read", &ae)) json_array_remove(all, i);
    }
    return RAGD_OK;
}

static ragd_status h_collections_create(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_collection_create(c->eng, c->body, &r->json, err);
    if (!rc) r->status = 201;
    return rc;
}

static ragd_status h_collection_get(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_collection_get(c->eng, c->params[0], &r->json, err);
}

static ragd_status h_collection_delete(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_collection_delete(c->eng, c->params[0], &r->json, err);
}

/* The whole list, or a page with ?limit=N[&after=ID] (sorted by id). */
static ragd_status h_documents_list(api_call *c, api_reply *r, ragd_error *err)
{
    if (!c->arg_limit && !c->arg_after)
        return ragd_documents_list(c->eng, c->params[0], &r->json, err);
    long limit = 100;
    if (c->arg_limit) {
        char *end;
        limit = strtol(c->arg_limit, &end, 10);
        if (end == c->arg_limit || *end)
            return ragd_error_set_field(err, RAGD_EINPUT, "limit", "'limit' must be an integer");
    }
    return ragd_documents_page(c->eng, c->params[0], limit, c->arg_after, &r->json, err);
}

/* 200 with the ingest report; 207 when some documents failed (listed in
 * errors); 202 with the job object for a batch run in the background. */
static ragd_status h_documents_add(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc;
    if (c->form) {
        /* multipart/form-data: 'file' parts and text fields (id, title,
         * metadata, format). */
        ragd_upload up[RAGD_MAX_UPLOADS];
        size_t n = api_form_uploads(c->form, "file", up, RAGD_MAX_UPLOADS);
        json_t *fields = api_form_fields(c->form, "file");
        rc = ragd_documents_upload(c->eng, c->params[0], up, n, fields, &r->json, err);
        json_decref(fields);
    } else {
        rc = ragd_documents_add(c->eng, c->params[0], c->body, &r->json, err);
    }
    if (rc) return rc;
    const char *obj = json_string_value(json_object_get(r->json, "object"));
    if (obj && !strcmp(obj, "job"))
        r->status = 202;
    else
        r->status = json_integer_value(json_object_get(r->json, "failed")) ? 207 : 200;
    return RAGD_OK;
}

/* A job is visible to keys that may read its collection. */
static ragd_status h_job_get(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_job_get(c->eng, c->params[0], &r->json, err);
    if (!rc && c->who)
        rc = ragd_authorize(c->who, json_string_value(json_object_get(r->json, "collection")),
                            "read", err);
    return rc;
}

static ragd_status h_document_get(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_document_get(c->eng, c->params[0], c->params[1], &r->json, err);
}

static ragd_status h_document_delete(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_document_delete(c->eng, c->params[0], c->params[1], &r->json, err);
}

static ragd_status h_search(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_search(c->eng, c->body, &r->json, err);
    if (!rc) api_metrics_stages(c->metrics, json_object_get(r->json, "timing_ms"));
    return rc;
}

static ragd_status h_context(api_call *c, api_reply *r, ragd_error *err)
{
    return ragd_context(c->eng, c->body, &r->json, err);
}

/* With "stream": true the reply is Server-Sent Events (api/sse.h): token
 * events as the answer is generated, then one done event with the whole
 * result (citations, check, and whether the final answer replaced the
 * streamed one). An error before the first token is an ordinary JSON error. */
static ragd_status h_answer(api_call *c, api_reply *r, ragd_error *err)
{
    /* The call log records the reply's X-Request-Id unless the body names one. */
    json_t *req = json_is_object(c->body) ? json_copy(c->body) : json_incref(c->body);
    if (json_is_object(req) && !json_object_get(req, "request_id") && c->request_id)
        json_object_set_new(req, "request_id", json_string(c->request_id));
    ragd_status rc = json_is_true(json_object_get(req, "stream"))
                         ? api_answer_stream_start(c->eng, req, &r->stream, err)
                         : ragd_answer(c->eng, req, &r->json, err);
    json_decref(req);
    return rc;
}

/* {call_id, rating: up|down, comment?}: 404 for an unknown call, 422 for a bad rating. */
static ragd_status h_feedback(api_call *c, api_reply *r, ragd_error *err)
{
    ragd_status rc = ragd_feedback(c->eng, c->body, &r->json, err);
    if (!rc) r->status = 201;
    return rc;
}

const api_route API_ROUTES[] = {
    {"GET", "/healthz", h_healthz, false, NULL, COLL_NONE},
    {"GET", "/readyz", h_readyz, false, NULL, COLL_NONE},
    {"GET", "/metrics", h_metrics, false, "admin", COLL_NONE},
    {"GET", "/openapi.json", h_openapi, false, NULL, COLL_NONE},
    {"GET", "/v1/collections", h_collections_list, false, "read", COLL_NONE},
    {"POST", "/v1/collections", h_collections_create, true, "admin", COLL_NONE},
    {"GET", "/v1/collections/{c}", h_collection_get, false, "read", COLL_PATH},
    {"DELETE", "/v1/collections/{c}", h_collection_delete, false, "admin", COLL_PATH},
    {"GET", "/v1/collections/{c}/documents", h_documents_list, false, "read", COLL_PATH},
    {"POST", "/v1/collections/{c}/documents", h_documents_add, API_BODY_FORM, "write", COLL_PATH},
    {"GET", "/v1/collections/{c}/documents/{id}", h_document_get, false, "read", COLL_PATH},
    {"DELETE", "/v1/collections/{c}/documents/{id}", h_document_delete, false, "write", COLL_PATH},
    {"GET", "/v1/jobs/{c}", h_job_get, false, "read", COLL_NONE},
    {"POST", "/v1/search", h_search, true, "read", COLL_BODY},
    {"POST", "/v1/context", h_context, true, "read", COLL_BODY},
    {"POST", "/v1/answer", h_answer, true, "read", COLL_BODY},
    /* MCP's streamable HTTP transport (api/mcp_http.c): each tool checks its own scope;
     * GET /mcp is the generic 405 (no server-initiated stream). */
    {"POST", "/mcp", api_mcp_post, false, "read", COLL_NONE},
    {"DELETE", "/mcp", api_mcp_delete, false, "read", COLL_NONE},
    /* The web playground (api/ui.c): the page is public; its API calls carry a key. */
    {"GET", "/ui", api_ui_page, false, NULL, COLL_NONE},
    {"POST", "/v1/feedback", h_feedback, true, "read", COLL_NONE},
    {NULL, NULL, NULL, false, NULL, COLL_NONE}};

/* Match path against pattern; on success params get malloc'd copies. */
static bool pattern_match(const char *pattern, const char *path, char *params[2])
{
    int np = 0;
    const char *p = pattern, *s = path;
    while (*p) {
        if (*p == '{') {
            bool rest = !strncmp(p, "{id}", 4);
            const char *close = strchr(p, '}');
            const char *end = rest ? s + strlen(s) : strchr(s, '/');
            if (!end) end = s + strlen(s);
            if (end == s || np == 2) goto fail;
            params[np++] = ragd_xstrndup(s, (size_t)(end - s));
            s = end;
            p = close + 1;
            continue;
        }
        if (*p != *s) goto fail;
        p++;
        s++;
    }
    if (*s == '\0') return true;
fail:
    for (int i = 0; i < np; i++) {
        free(params[i]);
        params[i] = NULL;
    }
    return false;
}

const api_route *api_route_match(const char *method, const char *path, char *params[2],
                                 bool *path_known)
{
    *path_known = false;
    params[0] = params[1] = NULL;
    const api_route *tables[] = {API_ROUTES, API_OPENAI_ROUTES};
    for (size_t t = 0; t < 2; t++)
        for (const api_route *r = tables[t]; r->method; r++) {
            if (!pattern_match(r->pattern, path, params)) continue;
            if (!strcmp(r->method, method)) return r;
            *path_known = true;
            free(params[0]);
            free(params[1]);
            params[0] = params[1] = NULL;
        }
    return NULL;
}
