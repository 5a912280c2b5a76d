/* tests/mock_server.c — the scriptable mock model server. See mock_server.h.
 *
 * libmicrohttpd calls on_request several times per request: once to let us
 * allocate per-request state, once per chunk of the upload, and once more
 * with no data when the body is complete; only then is the request counted,
 * a behaviour taken from the script, and a reply queued. Thread-per-
 * connection mode lets a hanging handler (MOCK_HANG) block only its own
 * connection, so a client that times out and reconnects is served at once;
 * hangs wait on a condition variable that mock_server_stop broadcasts, so
 * stopping never waits for a hang to finish.
 */
#include "tests/mock_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/buf.h"
#include "core/text.h"
#include "provider/provider.h"

#define MOCK_MAX_BODY (64u * 1024u * 1024u)

typedef struct {
    mock_behavior b;
    char *message; /* owned copy of b.message */
} script_entry;

struct mock_server {
    struct MHD_Daemon *d;
    int port;
    mock_config cfg;
    char *api_key;
    char *rerank_keyword;

    pthread_mutex_t mu;
    pthread_cond_t cv; /* broadcast on stop, wakes hangs */
    int stopping;
    script_entry *script;
    size_t script_head, script_len, script_cap;
    script_entry dflt;
    long requests, connections, texts;
    char *last_body;
};

typedef struct {
    ragd_buf body;
    int too_big;
} request_ctx;

/* --- behaviours -------------------------------------------------------------- */

mock_behavior mock_ok(void)
{
    mock_behavior b = {MOCK_OK, 0, -1, 0, NULL, 0, 0};
    return b;
}

mock_behavior mock_status(int status, const char *message)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_STATUS;
    b.status = status;
    b.message = message;
    return b;
}

mock_behavior mock_retry_after(int status, int seconds, int as_date)
{
    mock_behavior b = mock_status(status, NULL);
    b.retry_after = seconds;
    b.retry_after_date = as_date;
    return b;
}

mock_behavior mock_hang(double seconds)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_HANG;
    b.hang_s = seconds;
    return b;
}

mock_behavior mock_malformed(void)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_MALFORMED;
    return b;
}

mock_behavior mock_wrong_dim(int dim)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_WRONG_DIM;
    b.dim = dim;
    return b;
}

mock_behavior mock_bad_index(void)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_BAD_INDEX;
    return b;
}

mock_behavior mock_dup_index(void)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_DUP_INDEX;
    return b;
}

mock_behavior mock_no_content(void)
{
    mock_behavior b = mock_ok();
    b.action = MOCK_NO_CONTENT;
    return b;
}

static script_entry entry_copy(mock_behavior b)
{
    script_entry e;
    e.b = b;
    e.message = b.message ? ragd_xstrdup(b.message) : NULL;
    e.b.message = e.message;
    return e;
}

/* --- replies ------------------------------------------------------------------ */

static enum MHD_Result send_text(struct MHD_Connection *c, unsigned status, char *body,
                                 const char *ctype, const char *retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", ctype);
    if (retry_after) MHD_add_response_header(r, "Retry-After", retry_after);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned status, json_t *j,
                                 const char *retry_after)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(17));
    json_decref(j);
    if (!s) return MHD_NO;
    return send_text(c, status, s, "application/json", retry_after);
}

/* An error body in the protocol's own format. */
static enum MHD_Result send_error(struct MHD_Connection *c, int ollama, unsigned status,
                                  const char *msg, const char *retry_after)
{
    json_t *j;
    if (ollama)
        j = json_pack("{s:s}", "error", msg);
    else
        j = json_pack("{s:{s:s,s:s,s:i}}", "error", "message", msg, "type",
                      status == 429 ? "rate_limit_exceeded" : "invalid_request_error", "code",
                      (int)status);
    return send_json(c, status, j, retry_after);
}

/* Parse the request and answer with vectors of dimension dim_override (0 =
 * the configured one or the request's "dimensions"). */
static enum MHD_Result send_embeddings(mock_server *m, struct MHD_Connection *c, int ollama,
                                       const char *body, size_t len, int dim_override)
{
    json_error_t je;
    json_t *req = json_loadb(body, len, 0, &je);
    if (!json_is_object(req)) {
        json_decref(req);
        char msg[256];
        snprintf(msg, sizeof msg, "invalid JSON body: %s", je.text);
        return send_error(c, ollama, 400, msg, NULL);
    }
    json_t *model = json_object_get(req, "model");
    json_t *input = json_object_get(req, "input");
    if (!json_is_string(model) || !*json_string_value(model)) {
        json_decref(req);
        return send_error(c, ollama, 400, "model is required", NULL);
    }
    size_t n = json_is_array(input) ? json_array_size(input) : json_is_string(input) ? 1 : 0;
    if (!n) {
        json_decref(req);
        return send_error(c, ollama, 400, "input must be a string or a non-empty array of strings",
                          NULL);
    }
    for (size_t i = 0; json_is_array(input) && i < n; i++)
        if (!json_is_string(json_array_get(input, i))) {
            json_decref(req);
            return send_error(c, ollama, 400, "input must be an array of strings", NULL);
        }
    int dim = m->cfg.dim;
    json_t *dims = json_object_get(req, "dimensions");
    if (!ollama && json_is_integer(dims) && json_integer_value(dims) > 0 &&
        json_integer_value(dims) <= 65536)
        dim = (int)json_integer_value(dims);
    if (dim_override > 0) dim = dim_override;

    float *v = ragd_xmalloc((size_t)dim * sizeof *v);
    json_t *vecs = json_array();
    long tokens = 0;
    for (size_t i = 0; i < n; i++) {
        json_t *s = json_is_array(input) ? json_array_get(input, i) : input;
        const char *t = json_string_value(s);
        size_t tl = json_string_length(s);
        local_embed_text(t, tl, dim, v);
        tokens += (long)text_count_tokens(t, tl);
        json_t *a = json_array();
        for (int k = 0; k < dim; k++)
            json_array_append_new(a, json_real(v[k]));
        json_array_append_new(vecs, a);
    }
    free(v);
    pthread_mutex_lock(&m->mu);
    m->texts += (long)n;
    pthread_mutex_unlock(&m->mu);

    json_t *resp = json_object();
    json_object_set(resp, "model", model);
    if (ollama) {
        json_object_set_new(resp, "embeddings", vecs);
        if (!m->cfg.no_usage) json_object_set_new(resp, "prompt_eval_count", json_integer(tokens));
    } else {
        json_t *data = json_array();
        for (size_t k = 0; k < n; k++) {
            size_t i = m->cfg.reverse ? n - 1 - k : k;
            json_t *item = json_object();
            json_object_set_new(item, "object", json_string("embedding"));
            json_object_set_new(item, "index", json_integer((json_int_t)i));
            json_object_set(item, "embedding", json_array_get(vecs, i));
            json_array_append_new(data, item);
        }
        json_decref(vecs);
        json_object_set_new(resp, "object", json_string("list"));
        json_object_set_new(resp, "data", data);
        if (!m->cfg.no_usage)
            json_object_set_new(resp, "usage",
                                json_pack("{s:I,s:I}", "prompt_tokens", (json_int_t)tokens,
                                          "total_tokens", (json_int_t)tokens));
    }
    json_decref(req);
    return send_json(c, 200, resp, NULL);
}

/* Occurrences of keyword (ASCII case-insensitive) in t. */
static int count_keyword(const char *t, const char *kw)
{
    size_t kl = strlen(kw);
    int n = 0;
    if (!kl) return 0;
    for (const char *p = t; *p; p++)
        if (!strncasecmp(p, kw, kl)) n++;
    return n;
}

typedef struct {
    size_t index;
    double score;
} rerank_item;

static int by_score_desc(const void *a, const void *b)
{
    const rerank_item *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Answer a /rerank request in the shape it came in (TEI "texts" or Cohere
 * "documents"); action MOCK_BAD_INDEX / MOCK_DUP_INDEX spoils the indexes. */
static enum MHD_Result send_rerank(mock_server *m, struct MHD_Connection *c, const char *body,
                                   size_t len, mock_action action)
{
    json_error_t je;
    json_t *req = json_loadb(body, len, 0, &je);
    json_t *query = json_object_get(req, "query");
    json_t *texts = json_object_get(req, "texts");
    int cohere = texts == NULL;
    if (cohere) texts = json_object_get(req, "documents");
    size_t n = json_array_size(texts);
    int bad = !json_is_string(query) || !json_is_array(texts) || !n;
    for (size_t i = 0; !bad && i < n; i++)
        bad = !json_is_string(json_array_get(texts, i));
    if (!bad && cohere) {
        json_t *model = json_object_get(req, "model");
        bad = !json_is_string(model) || !*json_string_value(model);
    }
    if (bad) {
        json_decref(req);
        return send_error(c, 0, 422,
                          "need 'query' and a non-empty 'texts' (or 'model' and 'documents') "
                          "list of strings",
                          NULL);
    }
    rerank_item *it = ragd_xcalloc(n, sizeof *it);
    for (size_t i = 0; i < n; i++) {
        it[i].index = i;
        if (m->rerank_keyword)
            it[i].score =
                count_keyword(json_string_value(json_array_get(texts, i)), m->rerank_keyword);
        else
            it[i].score = cohere ? (double)(i + 1) / (double)(n + 1) : (double)i - (double)n;
    }
    qsort(it, n, sizeof *it, by_score_desc);
    if (action == MOCK_BAD_INDEX) it[0].index = n + 3;
    if (action == MOCK_DUP_INDEX && n > 1) it[n - 1].index = it[0].index;
    pthread_mutex_lock(&m->mu);
    m->texts += (long)n;
    pthread_mutex_unlock(&m->mu);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, json_pack("{s:I,s:f}", "index", (json_int_t)it[i].index,
                                             cohere ? "relevance_score" : "score", it[i].score));
    free(it);
    json_decref(req);
    json_t *resp = cohere ? json_pack("{s:s,s:o,s:{s:{s:i}}}", "id", "mock-rerank", "results", arr,
                                      "meta", "billed_units", "search_units", 1)
                          : arr;
    return send_json(c, 200, resp, NULL);
}

/* A chunk of a streamed reply: OpenAI SSE "data:" event or Ollama NDJSON line. */
static void stream_piece(ragd_buf *b, int ollama, const char *model, const char *tok, size_t n)
{
    json_t *t = json_stringn(tok, n);
    json_t *j = ollama ? json_pack("{s:s,s:{s:s,s:o},s:b}", "model", model, "message", "role",
                                   "assistant", "content", t, "done", 0)
                       : json_pack("{s:s,s:[{s:i,s:{s:o},s:n}]}", "object", "chat.completion.chunk",
                                   "choices", "index", 0, "delta", "content", t, "finish_reason");
    char *d = json_dumps(j, JSON_COMPACT);
    ragd_buf_printf(b, ollama ? "%s\n" : "data: %s\n\n", d);
    free(d);
    json_decref(j);
}

/* The whole streamed reply to text: one token per word (its leading space
 * included), a keep-alive comment (SSE), the finish chunk, usage unless
 * no_usage, [DONE] (SSE) or the "done": true line (Ollama). */
static char *stream_chat(mock_server *m, int ollama, const char *model, const char *text, long ptok,
                         long ctok)
{
    ragd_buf b = RAGD_BUF_INIT;
    if (!ollama) ragd_buf_puts(&b, ": keep-alive\n\n");
    for (const char *p = text; *p;) {
        const char *e = p;
        while (*e == ' ')
            e++;
        while (*e && *e != ' ')
            e++;
        stream_piece(&b, ollama, model, p, (size_t)(e - p));
        p = e;
    }
    json_t *j;
    if (ollama) {
        j = json_pack("{s:s,s:{s:s,s:s},s:b,s:s}", "model", model, "message", "role", "assistant",
                      "content", "", "done", 1, "done_reason", "stop");
        if (!m->cfg.no_usage) {
            json_object_set_new(j, "prompt_eval_count", json_integer(ptok));
            json_object_set_new(j, "eval_count", json_integer(ctok));
        }
    } else {
        j = json_pack("{s:s,s:[{s:i,s:{},s:s}]}", "object", "chat.completion.chunk", "choices",
                      "index", 0, "delta", "finish_reason", "stop");
    }
    char *d = json_dumps(j, JSON_COMPACT);
    ragd_buf_printf(&b, ollama ? "%s\n" : "data: %s\n\n", d);
    free(d);
    json_decref(j);
    if (!ollama) {
        if (!m->cfg.no_usage)
            ragd_buf_printf(&b,
                            "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":%ld,"
                            "\"completion_tokens\":%ld}}\n\n",
                            ptok, ctok);
        ragd_buf_puts(&b, "data: [DONE]\n\n");
    }
    return ragd_buf_steal(&b);
}

/* Answer a chat request (OpenAI /chat/completions or Ollama /api/chat) with
 * "Summary of: " and the first MOCK_CHAT_WORDS words of the last user
 * message; MOCK_NO_CONTENT leaves the message's content out. */
#define MOCK_CHAT_WORDS 8
static enum MHD_Result send_chat(mock_server *m, struct MHD_Connection *c, int ollama,
                                 const char *body, size_t len, mock_action action)
{
    json_error_t je;
    json_t *req = json_loadb(body, len, 0, &je);
    json_t *model = json_object_get(req, "model");
    json_t *msgs = json_object_get(req, "messages");
    const char *user = NULL;
    size_t i;
    json_t *msg;
    json_array_foreach(msgs, i, msg)
    {
        const char *role = json_string_value(json_object_get(msg, "role"));
        if (role && !strcmp(role, "user"))
            user = json_string_value(json_object_get(msg, "content"));
    }
    if (!json_is_string(model) || !*json_string_value(model) || !user) {
        json_decref(req);
        return send_error(c, ollama, 400, "need 'model' and a user message in 'messages'", NULL);
    }
    ragd_buf out = RAGD_BUF_INIT;
    ragd_buf_puts(&out, "Summary of:");
    const char *p = user;
    for (int w = 0; w < MOCK_CHAT_WORDS; w++) {
        while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
            p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\n' && *e != '\t' && *e != '\r')
            e++;
        ragd_buf_putc(&out, ' ');
        ragd_buf_append(&out, p, (size_t)(e - p));
        p = e;
    }
    long ptok = (long)text_count_tokens(user, strlen(user));
    long ctok = (long)text_count_tokens(out.data, out.len);
    if (json_is_true(json_object_get(req, "stream")) && action != MOCK_NO_CONTENT) {
        char *st = stream_chat(m, ollama, json_string_value(model), ragd_buf_str(&out), ptok, ctok);
        ragd_buf_free(&out);
        json_decref(req);
        return send_text(c, 200, st, ollama ? "application/x-ndjson" : "text/event-stream", NULL);
    }
    json_t *content = action == MOCK_NO_CONTENT ? NULL : json_string(ragd_buf_str(&out));
    ragd_buf_free(&out);
    json_t *resp;
    if (ollama) {
        json_t *m2 = json_pack("{s:s}", "role", "assistant");
        if (content) json_object_set_new(m2, "content", content);
        resp = json_pack("{s:O,s:s,s:o,s:b,s:s}", "model", model, "created_at",
                         "2026-01-01T00:00:00Z", "message", m2, "done", 1, "done_reason", "stop");
        if (!m->cfg.no_usage) {
            json_object_set_new(resp, "prompt_eval_count", json_integer(ptok));
            json_object_set_new(resp, "eval_count", json_integer(ctok));
        }
    } else {
        json_t *m2 = json_pack("{s:s}", "role", "assistant");
        if (content) json_object_set_new(m2, "content", content);
        resp = json_pack("{s:s,s:s,s:O,s:[{s:i,s:o,s:s}]}", "id", "mock-chat", "object",
                         "chat.completion", "model", model, "choices", "index", 0, "message", m2,
                         "finish_reason", "stop");
        if (!m->cfg.no_usage)
            json_object_set_new(resp, "usage",
                                json_pack("{s:I,s:I,s:I}", "prompt_tokens", (json_int_t)ptok,
                                          "completion_tokens", (json_int_t)ctok, "total_tokens",
                                          (json_int_t)(ptok + ctok)));
    }
    json_decref(req);
    return send_json(c, 200, resp, NULL);
}

/* Wait up to s seconds or until the server stops. Returns 1 if stopping. */
static int hang(mock_server *m, double s)
{
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    dl.tv_sec += (time_t)s;
    dl.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
    if (dl.tv_nsec >= 1000000000L) {
        dl.tv_sec++;
        dl.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&m->mu);
    int rc = 0;
    while (!m->stopping && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&m->cv, &m->mu, &dl);
    int stopping = m->stopping;
    pthread_mutex_unlock(&m->mu);
    return stopping;
}

/* --- the request handler ----------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)version;
    mock_server *m = cls;
    request_ctx *rq = *req_cls;
    if (!rq) {
        rq = ragd_xcalloc(1, sizeof *rq);
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_size) {
        if (rq->body.len + *upload_size > MOCK_MAX_BODY)
            rq->too_big = 1;
        else
            ragd_buf_append(&rq->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }

    /* The whole request is here. */
    const char *body = ragd_buf_str(&rq->body);
    script_entry e;
    pthread_mutex_lock(&m->mu);
    m->requests++;
    free(m->last_body);
    m->last_body = ragd_xstrdup(body);
    if (m->script_head < m->script_len)
        e = m->script[m->script_head++];
    else
        e = entry_copy(m->dflt.b);
    pthread_mutex_unlock(&m->mu);

    int chat_ollama = ends_with(url, "/api/chat");
    int chat = chat_ollama || ends_with(url, "/chat/completions");
    int ollama = ends_with(url, "/api/embed") || chat_ollama;
    int rerank = ends_with(url, "/rerank");
    enum MHD_Result ret;
    if (strcmp(method, "POST") != 0) {
        ret = send_error(c, ollama, 405, "only POST is supported", NULL);
        goto done;
    }
    if (!ollama && !rerank && !chat && !ends_with(url, "/embeddings")) {
        ret = send_error(c, 0, 404, "no such endpoint", NULL);
        goto done;
    }
    if (rq->too_big) {
        ret = send_error(c, ollama, 413, "request body too large", NULL);
        goto done;
    }
    if (m->api_key) {
        const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        char want[512];
        snprintf(want, sizeof want, "Bearer %s", m->api_key);
        if (!auth || strcmp(auth, want) != 0) {
            ret = send_error(c, ollama, 401, "invalid API key", NULL);
            goto done;
        }
    }

    switch (e.b.action) {
    case MOCK_STATUS: {
        char ra[64], *rap = NULL;
        if (e.b.retry_after >= 0) {
            if (e.b.retry_after_date) {
                time_t t = time(NULL) + e.b.retry_after;
                struct tm tm;
                gmtime_r(&t, &tm);
                strftime(ra, sizeof ra, "%a, %d %b %Y %H:%M:%S GMT", &tm);
            } else {
                snprintf(ra, sizeof ra, "%d", e.b.retry_after);
            }
            rap = ra;
        }
        const char *msg = e.b.message         ? e.b.message
                          : e.b.status == 429 ? "rate limit exceeded"
                                              : "mock server error";
        ret = send_error(c, ollama, (unsigned)e.b.status, msg, rap);
        break;
    }
    case MOCK_HANG:
        if (hang(m, e.b.hang_s)) {
            ret = send_error(c, ollama, 503, "server stopping", NULL);
            break;
        }
        ret = chat     ? send_chat(m, c, ollama, body, rq->body.len, MOCK_OK)
              : rerank ? send_rerank(m, c, body, rq->body.len, MOCK_OK)
                       : send_embeddings(m, c, ollama, body, rq->body.len, 0);
        break;
    case MOCK_MALFORMED:
        ret = send_text(c, 200, ragd_xstrdup("{\"data\": [{\"index\": 0, \"embedding\": [0.1, "),
                        "application/json", NULL);
        break;
    case MOCK_WRONG_DIM:
        ret = send_embeddings(m, c, ollama, body, rq->body.len, e.b.dim);
        break;
    case MOCK_BAD_INDEX:
    case MOCK_DUP_INDEX:
    case MOCK_NO_CONTENT:
    case MOCK_OK:
    default:
        if (chat) {
            ret = send_chat(m, c, ollama, body, rq->body.len, e.b.action);
            break;
        }
        ret = rerank ? send_rerank(m, c, body, rq->body.len, e.b.action)
                     : send_embeddings(m, c, ollama, body, rq->body.len, 0);
        break;
    }
done:
    free(e.message);
    return ret;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    (void)toe;
    request_ctx *rq = *req_cls;
    if (!rq) return;
    ragd_buf_free(&rq->body);
    free(rq);
    *req_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode toe)
{
    (void)c;
    (void)socket_ctx;
    mock_server *m = cls;
    if (toe != MHD_CONNECTION_NOTIFY_STARTED) return;
    pthread_mutex_lock(&m->mu);
    m->connections++;
    pthread_mutex_unlock(&m->mu);
}

/* --- lifecycle ----------------------------------------------------------------------- */

mock_server *mock_server_start(const mock_config *cfg)
{
    mock_server *m = ragd_xcalloc(1, sizeof *m);
    if (cfg) m->cfg = *cfg;
    if (m->cfg.dim <= 0) m->cfg.dim = 384;
    if (m->cfg.api_key) m->api_key = ragd_xstrdup(m->cfg.api_key);
    m->cfg.api_key = m->api_key;
    if (m->cfg.rerank_keyword) m->rerank_keyword = ragd_xstrdup(m->cfg.rerank_keyword);
    m->cfg.rerank_keyword = m->rerank_keyword;
    m->dflt = entry_copy(mock_ok());
    m->last_body = ragd_xstrdup("");
    pthread_mutex_init(&m->mu, NULL);
    pthread_cond_init(&m->cv, NULL);

    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)m->cfg.port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    m->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                                MHD_USE_ERROR_LOG,
                            (uint16_t)m->cfg.port, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR,
                            (struct sockaddr *)&sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, m,
                            MHD_OPTION_NOTIFY_CONNECTION, on_connection, m, MHD_OPTION_END);
    if (!m->d) {
        fprintf(stderr, "mock_server: cannot listen on 127.0.0.1:%d\n", m->cfg.port);
        mock_server_stop(m);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(m->d, MHD_DAEMON_INFO_BIND_PORT);
    m->port = info ? info->port : 0;
    if (!m->port) {
        fprintf(stderr, "mock_server: cannot read the bound port\n");
        mock_server_stop(m);
        return NULL;
    }
    return m;
}

static void clear_script(mock_server *m)
{
    for (size_t i = m->script_head; i < m->script_len; i++)
        free(m->script[i].message);
    m->script_head = m->script_len = 0;
}

void mock_server_stop(mock_server *m)
{
    if (!m) return;
    pthread_mutex_lock(&m->mu);
    m->stopping = 1;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->mu);
    if (m->d) MHD_stop_daemon(m->d);
    clear_script(m);
    free(m->script);
    free(m->dflt.message);
    free(m->last_body);
    free(m->api_key);
    free(m->rerank_keyword);
    pthread_cond_destroy(&m->cv);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

int mock_server_port(const mock_server *m)
{
    return m->port;
}

void mock_server_push(mock_server *m, mock_behavior b)
{
    script_entry e = entry_copy(b);
    pthread_mutex_lock(&m->mu);
    ragd_array_grow((void **)&m->script, &m->script_cap, m->script_len + 1, sizeof *m->script);
    m->script[m->script_len++] = e;
    pthread_mutex_unlock(&m->mu);
}

void mock_server_push_n(mock_server *m, mock_behavior b, int n)
{
    for (int i = 0; i < n; i++)
        mock_server_push(m, b);
}

void mock_server_set_default(mock_server *m, mock_behavior b)
{
    script_entry e = entry_copy(b);
    pthread_mutex_lock(&m->mu);
    free(m->dflt.message);
    m->dflt = e;
    pthread_mutex_unlock(&m->mu);
}

long mock_server_requests(mock_server *m)
{
    pthread_mutex_lock(&m->mu);
    long n = m->requests;
    pthread_mutex_unlock(&m->mu);
    return n;
}

long mock_server_connections(mock_server *m)
{
    pthread_mutex_lock(&m->mu);
    long n = m->connections;
    pthread_mutex_unlock(&m->mu);
    return n;
}

long mock_server_texts(mock_server *m)
{
    pthread_mutex_lock(&m->mu);
    long n = m->texts;
    pthread_mutex_unlock(&m->mu);
    return n;
}

char *mock_server_last_body(mock_server *m)
{
    pthread_mutex_lock(&m->mu);
    char *s = ragd_xstrdup(m->last_body);
    pthread_mutex_unlock(&m->mu);
    return s;
}

void mock_server_reset(mock_server *m)
{
    pthread_mutex_lock(&m->mu);
    clear_script(m);
    m->requests = m->connections = m->texts = 0;
    free(m->last_body);
    m->last_body = ragd_xstrdup("");
    pthread_mutex_unlock(&m->mu);
}
