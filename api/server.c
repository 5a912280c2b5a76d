/* api/server.c — libmicrohttpd daemon, request bodies, replies, shutdown
 * (see server.h).
 *
 * A request's life: the first callback allocates its state (request id,
 * start time) and refuses a declared body over the limit (413) before
 * reading it; later callbacks append the body (a chunked body past the
 * limit is read and dropped, then 413); the last one matches the route,
 * checks the media type, parses the JSON, calls the handler, and queues
 * the reply with its headers, logs the request and counts it. The
 * completion callback frees its state (and logs a request that got no
 * reply).
 */
#include "api/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/mcp_http.h"
#include "api/metrics.h"
#include "api/ratelimit.h"
#include "api/routes.h"
#include "api/sse.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"

typedef struct {
    ragd_engine *eng;
    api_metrics *metrics;
    ratelimit *limiter;
    api_mcp_http *mcp; /* /mcp sessions and allowed origins */
    api_server_opts o;
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when inflight drops to 0 */
    long inflight;
    atomic_bool stopping;   /* SIGTERM seen: new connections are closed at once */
    unsigned long long seq; /* request counter, for generated request ids */
    unsigned int boot;      /* random per process: ids differ across restarts */
} server;

typedef struct {
    ragd_buf body;
    bool too_big;
    double t0;
    char rid[80];
    const char *route; /* pattern, for logs and metrics (static) */
    int status;
    bool logged;          /* the access-log line and metrics are written */
    long long key_id;     /* the caller's key, 0 when none */
    const char *hdr_name; /* one extra reply header (WWW-Authenticate, Retry-After) */
    char hdr_value[256];
    char method[8];
    bool openai; /* an OpenAI-compatible path: errors in OpenAI's shape */
} req_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A client's X-Request-Id is kept when it is 1..64 of [A-Za-z0-9._:-];
 * otherwise a new one is made. */
static void request_id(server *s, struct MHD_Connection *c, char out[80])
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Request-Id");
    size_t n = v ? strlen(v) : 0;
    bool ok = n > 0 && n <= 64;
    for (size_t i = 0; ok && i < n; i++)
        ok = (v[i] >= 'a' && v[i] <= 'z') || (v[i] >= 'A' && v[i] <= 'Z') ||
             (v[i] >= '0' && v[i] <= '9') || strchr("._:-", v[i]);
    if (ok) {
        snprintf(out, 80, "%s", v);
        return;
    }
    pthread_mutex_lock(&s->mu);
    unsigned long long n2 = ++s->seq;
    pthread_mutex_unlock(&s->mu);
    snprintf(out, 80, "%08x-%llx", s->boot, n2);
}

/* The access-log line and the metrics of a request, once: when its reply
 * is queued (so a client that reads /metrics next sees it counted), or at
 * completion for a request that got no reply (status 0: the client left). */
static void account(server *s, req_state *r, bool completed)
{
    if (r->logged) return;
    r->logged = true;
    double secs = now_s() - r->t0;
    char status[16], ms[32];
    snprintf(status, sizeof status, "%d", r->status);
    snprintf(ms, sizeof ms, "%.2f", secs * 1000);
    char key[24];
    snprintf(key, sizeof key, "%lld", r->key_id);
    log_write(LOG_INFO, "request", "request_id", r->rid, "method", r->method, "route", r->route,
              "status", status, "ms", ms, "key_id", key, "completed", completed ? "true" : "false",
              NULL);
    api_metrics_request(s->metrics, r->route, r->method, r->status, secs);
}

static enum MHD_Result send_reply(server *s, struct MHD_Connection *c, req_state *r, int status,
                                  char *body, const char *ctype)
{
    size_t len = strlen(body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", ctype);
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (r->hdr_name) MHD_add_response_header(resp, r->hdr_name, r->hdr_value);
    if (s->o.cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->o.cors_origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                "X-Request-Id, Mcp-Session-Id");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    r->status = status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, resp);
    MHD_destroy_response(resp);
    account(s, r, ok == MHD_YES);
    return ok;
}

/* A Server-Sent Events reply read from st as it is produced (api/sse.h). */
static enum MHD_Result send_stream(server *s, struct MHD_Connection *c, req_state *r,
                                   api_stream *st)
{
    struct MHD_Response *resp = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, api_stream_read, st, api_stream_free);
    if (!resp) {
        api_stream_free(st);
        return MHD_NO;
    }
    MHD_add_response_header(resp, "Content-Type", "text/event-stream");
    MHD_add_response_header(resp, "X-Request-Id", r->rid);
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (s->o.cors_origin) {
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->o.cors_origin);
        MHD_add_response_header(resp, "Access-Control-Expose-Headers", "X-Request-Id");
        MHD_add_response_header(resp, "Vary", "Origin");
    }
    r->status = 200;
    enum MHD_Result ok = MHD_queue_response(c, 200, resp);
    MHD_destroy_response(resp);
    account(s, r, ok == MHD_YES);
    return ok;
}

static enum MHD_Result send_json(server *s, struct MHD_Connection *c, req_state *r, int status,
                                 json_t *j)
{
    char *body = json_dumps(j, RAGD_JSON_DUMP_FLAGS);
    json_decref(j);
    if (!body) body = ragd_xstrdup("{}");
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, body);
    ragd_buf_putc(&b, '\n');
    free(body);
    return send_reply(s, c, r, status, ragd_buf_steal(&b), "application/json");
}

static enum MHD_Result send_error(server *s, struct MHD_Connection *c, req_state *r, int status,
                                  const char *code, const char *msg, const char *field)
{
    return send_json(s, c, r, status,
                     r->openai ? api_openai_error_json(status, code, msg, field)
                               : api_error_json(code, msg, field));
}

const char *api_call_query(const api_call *c, const char *name)
{
    return c->conn ? MHD_lookup_connection_value((struct MHD_Connection *)c->conn,
                                                 MHD_GET_ARGUMENT_KIND, name)
                   : NULL;
}

/* Parse a multipart/form-data body (held whole in memory, bounded by the
 * body limit) into form. */
static ragd_status parse_form(const char *ct, const ragd_buf *body, size_t max, mp_form *form,
                              ragd_error *err)
{
    mp_parser *p = mp_parser_new(ct, max, err);
    if (!p) return RAGD_EINPUT;
    ragd_status rc = mp_feed(p, body->data, body->len, err);
    if (!rc) rc = mp_finish(p, form, err);
    mp_parser_free(p);
    return rc;
}

/* Content-Type is application/json (parameters such as charset allowed). */
static bool is_json_type(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, "application/json", 16) &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* Authenticate the caller of a non-public route (its key only: this runs
 * before the body is read, so a caller without a valid key gets 401
 * whatever the body holds, never a 400 or 415 about it). */
static ragd_status authenticate(server *s, struct MHD_Connection *c, const api_route *rt,
                                req_state *r, ragd_principal *who, ragd_error *err)
{
    memset(who, 0, sizeof *who);
    if (!rt->scope) return RAGD_OK;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *key = NULL;
    if (auth && !strncasecmp(auth, "Bearer ", 7)) {
        key = auth + 7;
        while (*key == ' ')
            key++;
    }
    ragd_status rc = ragd_authenticate(s->eng, key, who, err);
    if (rc) return rc;
    r->key_id = who->key_id;
    return RAGD_OK;
}

/* Check an authenticated caller's scope and collection. A body's
 * "collection" is read only when it is a string (a wrong type is the
 * handler's 400). */
static ragd_status authorize(const api_route *rt, const api_call *call, ragd_principal *who,
                             ragd_error *err)
{
    if (!rt->scope) return RAGD_OK;
    const char *coll = NULL;
    if (rt->coll == COLL_PATH) {
        coll = call->params[0];
    } else if (rt->coll == COLL_BODY) {
        json_t *v = json_object_get(call->body, "collection");
        coll = json_is_string(v) ? json_string_value(v) : "default";
    }
    return ragd_authorize(who, coll, rt->scope, err);
}

/* Take a rate-limit token for the caller: its key, else its address. */
static bool rate_ok(server *s, struct MHD_Connection *c, req_state *r)
{
    char client[64];
    if (r->key_id) {
        snprintf(client, sizeof client, "key:%lld", r->key_id);
    } else {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr_in *sin = ci ? (const struct sockaddr_in *)ci->client_addr : NULL;
        char ip[INET_ADDRSTRLEN] = "?";
        if (sin && sin->sin_family == AF_INET) inet_ntop(AF_INET, &sin->sin_addr, ip, sizeof ip);
        snprintf(client, sizeof client, "addr:%s", ip);
    }
    int retry = 0;
    if (ratelimit_take(s->limiter, client, now_s(), &retry)) return true;
    r->hdr_name = "Retry-After";
    snprintf(r->hdr_value, sizeof r->hdr_value, "%d", retry);
    return false;
}

static enum MHD_Result dispatch(server *s, struct MHD_Connection *c, const char *url, req_state *r)
{
    if (s->o.cors_origin && !strcmp(r->method, "OPTIONS")) {
        struct MHD_Response *resp = MHD_create_response_from_buffer(0, "", MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(resp, "Access-Control-Allow-Origin", s->o.cors_origin);
        MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST, DELETE");
        MHD_add_response_header(resp, "Access-Control-Allow-Headers",
                                "Content-Type, Authorization, X-Request-Id, Mcp-Session-Id, "
                                "MCP-Protocol-Version");
        MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
        MHD_add_response_header(resp, "X-Request-Id", r->rid);
        r->status = 204;
        r->route = "preflight";
        enum MHD_Result ok = MHD_queue_response(c, 204, resp);
        MHD_destroy_response(resp);
        account(s, r, ok == MHD_YES);
        return ok;
    }
    char *params[2];
    bool known = false;
    const api_route *rt = api_route_match(r->method, url, params, &known);
    if (!rt) {
        r->route = known ? "method_not_allowed" : "not_found";
        return known ? send_error(s, c, r, 405, "method_not_allowed",
                                  "this path does not take that method; see /openapi.json", NULL)
                     : send_error(s, c, r, 404, "not_found", "no such route; see /openapi.json",
                                  NULL);
    }
    r->route = rt->pattern;
    api_call call = {.eng = s->eng, .metrics = s->metrics, .method = r->method, .conn = c};
    mp_form form = {0};
    call.params[0] = params[0];
    call.params[1] = params[1];
    call.arg_limit = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    call.arg_after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    call.conn = c;
    call.raw_body = r->body.len ? r->body.data : NULL;
    call.raw_len = r->body.len;
    call.mcp = s->mcp;
    call.request_id = r->rid;
    enum MHD_Result ok;
    ragd_principal who;
    ragd_error err;
    ragd_error_clear(&err);
    ragd_status rc = authenticate(s, c, rt, r, &who, &err);
    if (rc) {
        if (rc == RAGD_EAUTH) {
            r->hdr_name = "WWW-Authenticate";
            snprintf(r->hdr_value, sizeof r->hdr_value, "Bearer realm=\"ragd\"");
        }
        ok = send_error(s, c, r, api_status_http(rc), api_status_code(rc), err.msg, err.field);
        goto done;
    }
    if (rt->body) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!r->body.len) {
            ok = send_error(s, c, r, 400, "invalid_request", "this route needs a JSON body", NULL);
            goto done;
        }
        if (rt->body == API_BODY_FORM && mp_is_multipart(ct)) {
            ragd_error fe;
            if (parse_form(ct, &r->body, s->o.max_body, &form, &fe)) {
                ok = send_error(s, c, r, 400, "invalid_multipart", fe.msg, NULL);
                goto done;
            }
            call.form = &form;
            goto parsed;
        }
        if (!is_json_type(ct)) {
            ok = send_error(s, c, r, 415, "unsupported_media_type",
                            rt->body == API_BODY_FORM
                                ? "send the body as Content-Type: application/json or "
                                  "multipart/form-data"
                                : "send the body as Content-Type: application/json",
                            NULL);
            goto done;
        }
        json_error_t je;
        call.body = json_loadb(r->body.data, r->body.len, JSON_REJECT_DUPLICATES, &je);
        if (!call.body) {
            char msg[320];
            snprintf(msg, sizeof msg, "the body is not valid JSON: %s (line %d, column %d)",
                     je.text, je.line, je.column);
            ok = send_error(s, c, r, 400, "invalid_json", msg, NULL);
            goto done;
        }
    }
parsed:
    rc = authorize(rt, &call, &who, &err);
    if (rc) {
        ok = send_error(s, c, r, api_status_http(rc), api_status_code(rc), err.msg, err.field);
        goto done;
    }
    call.who = &who;
    if (!rate_ok(s, c, r)) {
        ok =
            send_error(s, c, r, 429, "rate_limited",
                       "too many requests for this key; retry after the Retry-After seconds", NULL);
        goto done;
    }
    api_reply rep = {.status = 200};
    rc = rt->fn(&call, &rep, &err);
    if (!rc && rep.header_name) {
        r->hdr_name = rep.header_name;
        snprintf(r->hdr_value, sizeof r->hdr_value, "%s", rep.header_value);
    }
    if (rc) {
        json_decref(rep.json);
        free(rep.text);
        int st = api_status_http(rc);
        if (rc == RAGD_EPROVIDER && st == 503) {
            /* A provider outage: when its circuit breaker is open, say when
             * the next probe goes (docs/http.md). */
            int ra = ragd_provider_retry_after(s->eng);
            if (ra > 0) {
                r->hdr_name = "Retry-After";
                snprintf(r->hdr_value, sizeof r->hdr_value, "%d", ra);
            }
        }
        if (st >= 500 && st != 503)
            log_write(LOG_ERROR, "request failed", "request_id", r->rid, "route", rt->pattern,
                      "error", err.msg, NULL);
        ok = send_error(s, c, r, st, api_status_code(rc), err.msg, err.field);
    } else if (rep.stream) {
        ok = send_stream(s, c, r, rep.stream);
    } else if (rep.text) {
        ok = send_reply(s, c, r, rep.status, rep.text, rep.content_type);
    } else {
        ok = send_json(s, c, r, rep.status, rep.json ? rep.json : json_object());
    }
done:
    ragd_principal_clear(&who);
    mp_form_free(&form);
    json_decref(call.body);
    free(params[0]);
    free(params[1]);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    (void)version;
    server *s = cls;
    req_state *r = *con_cls;
    if (!r) {
        r = ragd_xcalloc(1, sizeof *r);
        r->t0 = now_s();
        r->route = "unknown";
        r->openai = api_openai_path(url);
        snprintf(r->method, sizeof r->method, "%s", method);
        request_id(s, c, r->rid);
        *con_cls = r;
        pthread_mutex_lock(&s->mu);
        s->inflight++;
        pthread_mutex_unlock(&s->mu);
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (cl && strtoull(cl, NULL, 10) > s->o.max_body) {
            char msg[128];
            snprintf(msg, sizeof msg, "the body is larger than the limit of %zu bytes",
                     s->o.max_body);
            r->route = "too_large";
            return send_error(s, c, r, 413, "payload_too_large", msg, NULL);
        }
        return MHD_YES;
    }
    if (*upload_size) {
        if (!r->too_big && r->body.len + *upload_size > s->o.max_body) {
            r->too_big = true;
            ragd_buf_free(&r->body);
        }
        if (!r->too_big) ragd_buf_append(&r->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    if (r->too_big) {
        char msg[128];
        snprintf(msg, sizeof msg, "the body is larger than the limit of %zu bytes", s->o.max_body);
        r->route = "too_large";
        return send_error(s, c, r, 413, "payload_too_large", msg, NULL);
    }
    return dispatch(s, c, url, r);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    server *s = cls;
    req_state *r = *con_cls;
    if (!r) return;
    account(s, r, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
    ragd_buf_free(&r->body);
    free(r);
    *con_cls = NULL;
    pthread_mutex_lock(&s->mu);
    if (--s->inflight == 0) pthread_cond_broadcast(&s->idle);
    pthread_mutex_unlock(&s->mu);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_ctx;
    server *s = cls;
    api_metrics_connections(s->metrics, toe == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* The accept policy: once shutdown began, every new connection is closed
 * as soon as it is accepted (the client sees its connection closed, as if
 * refused); requests on open connections go on until the drain ends. This
 * stands in for MHD_quiesce_daemon, which libmicrohttpd 0.9.75 cannot do
 * safely on a thread pool with epoll: it removes the listen socket from
 * each worker's epoll set while the worker, awake under load, may be
 * removing it too, and the loser's ENOENT is a panic ("Failed to remove
 * listen FD from epoll set", SIGABRT at SIGTERM; tests/it_serve.py
 * test_sigterm_under_load_exits_0). Called on the worker that accepts. */
static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr;
    (void)len;
    server *s = cls;
    return atomic_load(&s->stopping) ? MHD_NO : MHD_YES;
}

static bool is_loopback(const struct in_addr *a)
{
    return (ntohl(a->s_addr) >> 24) == 127;
}

/* Wait for requests in flight to finish, at most drain_s seconds. */
static void drain(server *s)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)s->o.drain_s;
    pthread_mutex_lock(&s->mu);
    while (s->inflight > 0)
        if (pthread_cond_timedwait(&s->idle, &s->mu, &dl) == ETIMEDOUT) break;
    long left = s->inflight;
    pthread_mutex_unlock(&s->mu);
    if (left) {
        char n[32];
        snprintf(n, sizeof n, "%ld", left);
        log_write(LOG_WARN, "shutdown deadline passed with requests in flight", "requests", n,
                  NULL);
    }
}

ragd_status api_serve(ragd_engine *eng, const api_server_opts *opts, ragd_error *err)
{
    server s = {.eng = eng, .o = *opts};
    if (!s.o.host) s.o.host = "127.0.0.1";
    if (!s.o.max_body) s.o.max_body = API_DEFAULT_MAX_BODY;
    if (!s.o.max_connections) s.o.max_connections = 256;
    if (!s.o.timeout_s) s.o.timeout_s = 30;
    if (s.o.drain_s <= 0) s.o.drain_s = 10;
    if (s.o.threads <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s.o.threads = n < 1 ? 1 : n > 64 ? 64 : (int)n;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)s.o.port)};
    if (inet_pton(AF_INET, s.o.host, &sa.sin_addr) != 1)
        return ragd_error_set(err, RAGD_EUSAGE, "--listen: '%s' is not an IPv4 address", s.o.host);
    if (!is_loopback(&sa.sin_addr) && !s.o.insecure_no_auth && !ragd_auth_required(eng))
        return ragd_error_set(err, RAGD_EUSAGE,
                              "refusing to listen on %s without API keys: anyone who can reach "
                              "it could read and change every collection; create a key first "
                              "(ragd keys create --scope admin), listen on 127.0.0.1, or add "
                              "--insecure-no-auth if a proxy in front authenticates",
                              s.o.host);
    pthread_mutex_init(&s.mu, NULL);
    pthread_cond_init(&s.idle, NULL);
    s.metrics = api_metrics_new();
    s.limiter = ratelimit_new(s.o.rate_limit, s.o.rate_burst);
    {
        const char *origins[API_MAX_MCP_ORIGINS + 1];
        size_t n = 0;
        for (size_t i = 0; i < s.o.n_mcp_origins && n < API_MAX_MCP_ORIGINS; i++)
            origins[n++] = s.o.mcp_origins[i];
        if (s.o.cors_origin) origins[n++] = s.o.cors_origin;
        s.mcp = api_mcp_http_new(origins, n);
    }
    s.boot = (unsigned)(now_s() * 1e6) ^ (unsigned)getpid() << 16;
    /* Signals go to this thread's sigwait, never to a worker. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)s.o.port, on_accept, &s, on_request, &s, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s.o.threads, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)s.o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s.o.timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024), MHD_OPTION_NOTIFY_COMPLETED,
        on_completed, &s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, &s, MHD_OPTION_END);
    ragd_status rc = RAGD_OK;
    if (d && ragd_jobs_start(eng, err)) {
        MHD_stop_daemon(d);
        rc = err->code;
        goto out;
    }
    if (!d) {
        rc = ragd_error_set(err, RAGD_EIO, "cannot listen on %s:%d (in use, or not permitted)",
                            s.o.host, s.o.port);
        goto out;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    int port = info ? (int)info->port : s.o.port;
    char addr[96], threads[16];
    snprintf(addr, sizeof addr, "%s:%d", s.o.host, port);
    snprintf(threads, sizeof threads, "%d", s.o.threads);
    log_write(LOG_INFO, "listening", "address", addr, "threads", threads, "data",
              ragd_engine_dir(eng), NULL);
    if (!log_is_json()) fprintf(stderr, "ragd: listening on http://%s\n", addr);
    if (s.o.ready_file) {
        FILE *f = fopen(s.o.ready_file, "w");
        if (f) {
            fprintf(f, "%s\n", addr);
            fclose(f);
        }
    }
    int sig = 0;
    sigwait(&sigs, &sig);
    log_write(LOG_INFO, "shutting down", "signal", sig == SIGTERM ? "SIGTERM" : "SIGINT", NULL);
    atomic_store(&s.stopping, true); /* stop accepting (on_accept); in-flight requests go on */
    ragd_jobs_stop(eng);             /* at a batch boundary; the job resumes next start */
    drain(&s);
    MHD_stop_daemon(d); /* closes the listen socket and the open connections */
    log_write(LOG_INFO, "stopped", NULL);
out:
    api_metrics_free(s.metrics);
    ratelimit_free(s.limiter);
    api_mcp_http_free(s.mcp);
    pthread_mutex_destroy(&s.mu);
    pthread_cond_destroy(&s.idle);
    return rc;
}
