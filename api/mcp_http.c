/* api/mcp_http.c — the /mcp routes (see mcp_http.h).
 *
 * A POST is checked in the order a client can fix it: Origin (403),
 * Content-Type (415), Accept (406), JSON (400, parse error -32700), then
 * the session: an initialize request needs none and gets a new one in the
 * MCP-Session-Id reply header; anything else needs a live session of the
 * same key (400 / 404) and, when it sends MCP-Protocol-Version, one this
 * server speaks (400). The message then goes to the transport-independent
 * core (api/mcp.h). Protocol errors are JSON-RPC error objects in the body
 * with the HTTP status above (200 for errors of a well-formed request,
 * such as an unknown method or tool).
 *
 * Session ids are 32 hex digits from getrandom. A session records the key
 * that opened it and its negotiated protocol version; the table holds
 * MCP_MAX_SESSIONS, ending the least recently used one when full.
 */
#include "api/mcp_http.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include "api/mcp.h"
#include "core/buf.h"

typedef struct {
    char id[33];
    long long key_id;
    char version[16];
    unsigned long long used; /* tick of the last request, for LRU */
} mcp_session;

struct api_mcp_http {
    pthread_mutex_t mu;
    mcp_session *s;
    size_t n;
    unsigned long long tick;
    char **origins;
    size_t norigins;
};

api_mcp_http *api_mcp_http_new(const char *const *origins, size_t n)
{
    api_mcp_http *m = ragd_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    m->s = ragd_xcalloc(MCP_MAX_SESSIONS, sizeof *m->s);
    m->origins = ragd_xcalloc(n ? n : 1, sizeof *m->origins);
    for (size_t i = 0; i < n; i++)
        if (origins[i]) m->origins[m->norigins++] = ragd_xstrdup(origins[i]);
    return m;
}

void api_mcp_http_free(api_mcp_http *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->norigins; i++)
        free(m->origins[i]);
    free(m->origins);
    free(m->s);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const char *header(const api_call *c, const char *name)
{
    return c->conn ? MHD_lookup_connection_value(c->conn, MHD_HEADER_KIND, name) : NULL;
}

/* A JSON-RPC error as the reply, with an HTTP status. */
static ragd_status rpc_fail(api_reply *r, int status, int code, const char *msg)
{
    r->status = status;
    r->json = mcp_error(NULL, code, msg);
    return RAGD_OK;
}

static bool origin_ok(const api_call *c)
{
    const char *o = header(c, "Origin");
    if (!o) return true;
    for (size_t i = 0; i < c->mcp->norigins; i++)
        if (!strcmp(c->mcp->origins[i], "*") || !strcasecmp(c->mcp->origins[i], o)) return true;
    return false;
}

static ragd_status origin_fail(api_reply *r)
{
    return rpc_fail(r, 403, MCP_INVALID_REQUEST,
                    "Forbidden: this Origin may not call /mcp (start ragd serve with "
                    "--mcp-allow-origin ORIGIN to allow a browser origin)");
}

/* The session's index, or -1. Call with mu held. */
static long find(api_mcp_http *m, const char *id)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->s[i].id, id)) return (long)i;
    return -1;
}

static bool session_new(api_mcp_http *m, long long key_id, const char *version, char id[33])
{
    unsigned char rnd[16];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) return false;
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    pthread_mutex_lock(&m->mu);
    size_t slot = m->n;
    if (m->n == MCP_MAX_SESSIONS) {
        slot = 0;
        for (size_t i = 1; i < m->n; i++)
            if (m->s[i].used < m->s[slot].used) slot = i;
    } else {
        m->n++;
    }
    mcp_session *s = &m->s[slot];
    snprintf(s->id, sizeof s->id, "%s", id);
    s->key_id = key_id;
    snprintf(s->version, sizeof s->version, "%s", version);
    s->used = ++m->tick;
    pthread_mutex_unlock(&m->mu);
    return true;
}

/* The session named by the request's header, checked: 0 when it is live
 * and the caller's (touching it, or with remove ending it), else the
 * failure already set in r. */
static int session_check(api_call *c, api_reply *r, bool remove)
{
    const char *id = header(c, "Mcp-Session-Id");
    long long key = c->who ? c->who->key_id : 0;
    if (!id || !*id) {
        rpc_fail(r, 400, MCP_INVALID_REQUEST,
                 "Bad Request: the Mcp-Session-Id header is required (send initialize first, "
                 "then the session id it returned)");
        return -1;
    }
    api_mcp_http *m = c->mcp;
    pthread_mutex_lock(&m->mu);
    long i = find(m, id);
    bool ok = i >= 0 && m->s[i].key_id == key;
    if (ok && remove)
        m->s[i] = m->s[--m->n];
    else if (ok)
        m->s[i].used = ++m->tick;
    pthread_mutex_unlock(&m->mu);
    if (!ok) {
        rpc_fail(r, 404, MCP_INVALID_REQUEST,
                 "Session not found: it ended or was never issued to this key; initialize a new "
                 "one");
        return -1;
    }
    return 0;
}

/* Content-Type is application/json (parameters allowed). */
static bool is_json_ct(const char *ct)
{
    if (!ct) return false;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, "application/json", 16) &&
           (ct[16] == '\0' || ct[16] == ';' || ct[16] == ' ');
}

/* The client takes JSON replies: no Accept, or one naming application/json
 * or a wildcard. */
static bool accepts_json(const char *acc)
{
    return !acc || strcasestr(acc, "application/json") || strstr(acc, "*/*") ||
           strcasestr(acc, "application/*");
}

static bool is_initialize(const json_t *msg)
{
    const char *m = json_string_value(json_object_get(msg, "method"));
    return m && !strcmp(m, "initialize") && json_object_get(msg, "id");
}

ragd_status api_mcp_post(api_call *c, api_reply *r, ragd_error *err)
{
    (void)err;
    if (!origin_ok(c)) return origin_fail(r);
    if (!is_json_ct(header(c, "Content-Type")))
        return rpc_fail(r, 415, MCP_INVALID_REQUEST,
                        "send the JSON-RPC message as Content-Type: application/json");
    if (!accepts_json(header(c, "Accept")))
        return rpc_fail(r, 406, MCP_INVALID_REQUEST,
                        "Not Acceptable: the client must accept application/json");
    mcp_ctx ctx = {.eng = c->eng, .who = c->who, .collection = "default"};
    json_error_t je;
    json_t *msg = c->raw_body ? json_loadb(c->raw_body, c->raw_len,
                                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je)
                              : NULL;
    if (!msg) {
        char text[320];
        snprintf(text, sizeof text, "Parse error: %s", c->raw_body ? je.text : "the body is empty");
        return rpc_fail(r, 400, MCP_PARSE_ERROR, text);
    }
    bool init = is_initialize(msg);
    if (!init) {
        const char *pv = header(c, "MCP-Protocol-Version");
        if (session_check(c, r, false)) goto out;
        if (pv && !mcp_version_supported(pv)) {
            char text[160];
            snprintf(text, sizeof text,
                     "Bad Request: unsupported MCP-Protocol-Version '%.32s' (this server speaks "
                     "%s, 2025-03-26, 2024-11-05)",
                     pv, MCP_PROTOCOL_VERSION);
            rpc_fail(r, 400, MCP_INVALID_REQUEST, text);
            goto out;
        }
    }
    mcp_outcome o;
    mcp_handle(&ctx, msg, &o);
    if (init && o.initialized) {
        char id[33];
        if (!session_new(c->mcp, c->who ? c->who->key_id : 0, o.version, id)) {
            json_decref(o.reply);
            rpc_fail(r, 503, MCP_INTERNAL_ERROR, "no randomness for a session id; retry");
            goto out;
        }
        r->header_name = "Mcp-Session-Id";
        snprintf(r->header_value, sizeof r->header_value, "%s", id);
    }
    if (!o.reply) {
        r->status = 202; /* a notification or a response: accepted, no body */
        r->text = ragd_xstrdup("");
        r->content_type = "text/plain";
    } else {
        r->status = o.kind == MCP_MSG_INVALID ? 400 : 200;
        r->json = o.reply;
    }
out:
    json_decref(msg);
    return RAGD_OK;
}

ragd_status api_mcp_delete(api_call *c, api_reply *r, ragd_error *err)
{
    (void)err;
    if (!origin_ok(c)) return origin_fail(r);
    if (session_check(c, r, true)) return RAGD_OK;
    r->status = 204;
    r->text = ragd_xstrdup("");
    r->content_type = "text/plain";
    return RAGD_OK;
}
