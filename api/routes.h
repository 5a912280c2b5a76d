/* api/routes.h — the route table: method + path pattern → one library call.
 *
 * Patterns are literal segments and parameters: "{c}" matches one path
 * segment, "{id}" the rest of the path (document ids may hold '/'). Each
 * handler reads the parsed request and fills a reply; it computes nothing
 * the library should. Private to api/.
 *
 * Thread-safety: handlers are reentrant (the engine and metrics are
 * thread-safe); the table is constant.
 */
#ifndef RAGD_API_ROUTES_H
#define RAGD_API_ROUTES_H

#include <jansson.h>
#include <stdbool.h>

#include "api/metrics.h"
#include "api/multipart.h"
#include "core/error.h"
#include "service/ragd.h"

typedef struct {
    ragd_engine *eng;
    api_metrics *metrics;
    const char *method;
    const char *params[2];             /* the pattern's parameters in order (borrowed) */
    const ragd_principal *who;         /* the authenticated caller (borrowed) */
    json_t *body;                      /* the parsed JSON body, or NULL when there was none */
    const char *arg_limit, *arg_after; /* ?limit= and ?after= (borrowed), or NULL */
    const mp_form *form; /* a multipart/form-data body (API_BODY_FORM routes), or NULL */
    void *conn; /* the struct MHD_Connection, for api_call_query and header lookups (borrowed) */
    /* For routes that read the request themselves (body false; /mcp): */
    const char *raw_body; /* the body as received (borrowed; NULL when empty) */
    size_t raw_len;
    struct api_mcp_http *mcp; /* the server's MCP sessions and allowed origins (borrowed) */
    const char *request_id;   /* the X-Request-Id of the reply (borrowed) */
} api_call;

/* A query-string argument of the call (borrowed), or NULL (api/server.c). */
const char *api_call_query(const api_call *c, const char *name);

typedef struct {
    int status;               /* HTTP status (200 unless the handler says otherwise) */
    json_t *json;             /* a JSON reply (owned), or NULL */
    char *text;               /* a text reply (owned, malloc'd), or NULL */
    const char *content_type; /* for text (static) */
    const char *header_name;  /* one extra reply header (static name), or NULL */
    char header_value[256];
    struct api_stream *stream; /* a Server-Sent Events reply (api/sse.h; owned), or NULL */
} api_reply;

typedef ragd_status (*api_handler)(api_call *c, api_reply *r, ragd_error *err);

/* Where a route names its collection, for authorization. */
typedef enum { COLL_NONE, COLL_PATH, COLL_BODY } api_coll_from;

typedef struct {
    const char *method;
    const char *pattern;
    api_handler fn;
    unsigned body;      /* API_BODY_*: none (false), JSON (true), JSON or multipart */
    const char *scope;  /* read | write | admin; NULL = public (no key needed) */
    api_coll_from coll; /* COLL_PATH: the first parameter; COLL_BODY: "collection"
                           (default "default") */
} api_route;

/* What body a route takes. */
#define API_BODY_NONE 0u
#define API_BODY_JSON 1u /* == true */
#define API_BODY_FORM 2u /* application/json or multipart/form-data */

/* The route table, terminated by a {NULL} entry; API_OPENAI_ROUTES
 * (api/routes_openai.c) is searched after it. */
extern const api_route API_ROUTES[];
extern const api_route API_OPENAI_ROUTES[];

/* True for the paths of the OpenAI-compatible API (/v1/files…,
 * /v1/vector_stores…, /v1/models…, /v1/chat/…): their errors, including
 * 401/403/404/413/429 from the server itself, have OpenAI's shape. */
bool api_openai_path(const char *path);

/* The parts of form named name as uploads (at most max filled; the count
 * of such parts is returned), and every other part's text as a JSON object
 * of strings (parts named except left out). */
size_t api_form_uploads(const mp_form *f, const char *name, ragd_upload *out, size_t max);
json_t *api_form_fields(const mp_form *f, const char *except);

/* OpenAI's error object {"error":{"message","type","param","code"}} for
 * an HTTP status. New reference. */
json_t *api_openai_error_json(int http_status, const char *code, const char *message,
                              const char *field);

/* The route for method and path, with its parameters copied into params
 * (each a malloc'd string, caller frees; NULL where absent). NULL when no
 * route matches; *path_known then tells whether the path matched with
 * another method (405 rather than 404). */
const api_route *api_route_match(const char *method, const char *path, char *params[2],
                                 bool *path_known);

/* The HTTP status and stable error code ("invalid_request", "not_found",
 * …) for a library status. */
int api_status_http(ragd_status st);
const char *api_status_code(ragd_status st);

/* {"error":{"code","message","field"}} (field null when none). New reference. */
json_t *api_error_json(const char *code, const char *message, const char *field);

/* The OpenAPI 3.1 document served at /openapi.json (api/openapi.c): a
 * static string. */
const char *api_openapi_document(void);

/* GET /ui: the web playground page (api/ui.c). */
ragd_status api_ui_page(api_call *c, api_reply *r, ragd_error *err);

#endif
