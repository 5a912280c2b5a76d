/* provider/generator.c — the chat completion client. See generator.h for
 * the two protocols and what a reply must look like.
 *
 * A handle holds its config (owned copies, so generator_clone can make an
 * equal handle) and one ragd_http client. Each protocol is a pair of small
 * functions: build the request body, read the reply into (content, prompt
 * tokens, completion tokens, finish reason); generator_complete does the
 * checks and the accounting both share.
 */
#include "provider/generator.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "provider/http.h"
#include "provider/stream.h"

#define GEN_DEFAULT_BACKOFF_S 0.5
#define GEN_BACKOFF_CAP_S 10.0

typedef enum { GEN_OPENAI, GEN_OLLAMA } gen_kind;

struct ragd_generator {
    gen_kind kind;
    char *url; /* base URL without trailing slashes */
    char *endpoint;
    char *model;
    char *api_key; /* NULL = none */
    double timeout_s;
    int max_retries; /* as configured (-1, 0, n) */
    double backoff_base_s;
    double cost_per_1k;
    provider_breakers *breakers; /* borrowed, NULL = none */
    ragd_http *http;
};

static char *dup_or_null(const char *s)
{
    return s && *s ? ragd_xstrdup(s) : NULL;
}

ragd_status generator_new(const generator_config *cfg, ragd_generator **out, ragd_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->kind || !*cfg->kind)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "no generation provider kind given (--generator openai|ollama)");
    gen_kind kind;
    if (!strcmp(cfg->kind, "openai"))
        kind = GEN_OPENAI;
    else if (!strcmp(cfg->kind, "ollama"))
        kind = GEN_OLLAMA;
    else
        return ragd_error_set(err, RAGD_EUSAGE, "unknown --generator '%s' (openai, ollama)",
                              cfg->kind);
    if (!cfg->url || !*cfg->url)
        return ragd_error_set(
            err, RAGD_EUSAGE, "the %s generator needs a URL (--generator-url, e.g. %s)", cfg->kind,
            kind == GEN_OPENAI ? "http://127.0.0.1:8080/v1" : "http://127.0.0.1:11434");
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "generator URL '%s' must start with http:// or https://", cfg->url);
    if (!cfg->model || !*cfg->model)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "the %s generator needs a model name (--generator-model)", cfg->kind);
    if (cfg->timeout_s < 0 || cfg->max_retries < -1 || cfg->backoff_base_s < 0 ||
        cfg->cost_per_1k < 0)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "generator: negative timeout, retries, backoff or cost");

    ragd_generator *g = ragd_xcalloc(1, sizeof *g);
    g->kind = kind;
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/')
        ul--;
    g->url = ragd_xcalloc(ul + 1, 1);
    memcpy(g->url, cfg->url, ul);
    ragd_buf ep = RAGD_BUF_INIT;
    ragd_buf_printf(&ep, "%s%s", g->url, kind == GEN_OPENAI ? "/chat/completions" : "/api/chat");
    g->endpoint = ragd_buf_steal(&ep);
    g->model = ragd_xstrdup(cfg->model);
    g->api_key = dup_or_null(cfg->api_key);
    g->timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : GENERATOR_DEFAULT_TIMEOUT_S;
    g->max_retries = cfg->max_retries;
    g->backoff_base_s = cfg->backoff_base_s > 0 ? cfg->backoff_base_s : GEN_DEFAULT_BACKOFF_S;
    g->cost_per_1k = cfg->cost_per_1k;
    http_config hc = {
        .timeout_s = g->timeout_s,
        .max_retries = cfg->max_retries == -1 ? 0
                       : cfg->max_retries     ? cfg->max_retries
                                              : GENERATOR_DEFAULT_RETRIES,
        .backoff_base_s = g->backoff_base_s,
        .backoff_cap_s = GEN_BACKOFF_CAP_S,
        .api_key = g->api_key,
    };
    ragd_status rc = http_new(&hc, &g->http, err);
    if (rc) {
        generator_free(g);
        return rc;
    }
    *out = g;
    return RAGD_OK;
}

ragd_status generator_clone(const ragd_generator *g, ragd_generator **out, ragd_error *err)
{
    generator_config c = {
        .kind = generator_kind(g),
        .url = g->url,
        .model = g->model,
        .api_key = g->api_key,
        .timeout_s = g->timeout_s,
        .max_retries = g->max_retries,
        .backoff_base_s = g->backoff_base_s,
        .cost_per_1k = g->cost_per_1k,
    };
    ragd_status rc = generator_new(&c, out, err);
    if (!rc) generator_use_breakers(*out, g->breakers);
    return rc;
}

void generator_use_breakers(ragd_generator *g, provider_breakers *r)
{
    if (!g) return;
    g->breakers = r;
    http_set_breaker(g->http, breakers_get(r, g->endpoint));
}

void generator_free(ragd_generator *g)
{
    if (!g) return;
    http_free(g->http);
    free(g->url);
    free(g->endpoint);
    free(g->model);
    free(g->api_key);
    free(g);
}

const char *generator_kind(const ragd_generator *g)
{
    return g->kind == GEN_OPENAI ? "openai" : "ollama";
}

const char *generator_model(const ragd_generator *g)
{
    return g->model;
}

const char *generator_endpoint(const ragd_generator *g)
{
    return g->endpoint;
}

void gen_usage_add(gen_usage *to, const gen_usage *from)
{
    to->calls += from->calls;
    to->failures += from->failures;
    to->attempts += from->attempts;
    to->retries += from->retries;
    to->prompt_tokens += from->prompt_tokens;
    to->completion_tokens += from->completion_tokens;
    to->estimated += from->estimated;
    to->cost += from->cost;
}

/* --- the protocols ------------------------------------------------------------ */

static json_t *messages(json_t *sys, json_t *user)
{
    json_t *m = json_array();
    if (sys) json_array_append_new(m, json_pack("{s:s,s:o}", "role", "system", "content", sys));
    json_array_append_new(m, json_pack("{s:s,s:o}", "role", "user", "content", user));
    return m;
}

static json_t *request_body(const ragd_generator *g, json_t *sys, json_t *user, int max_tokens)
{
    json_t *b = json_object();
    json_object_set_new(b, "model", json_string(g->model));
    json_object_set_new(b, "messages", messages(sys, user));
    if (g->kind == GEN_OPENAI) {
        json_object_set_new(b, "temperature", json_integer(0));
        json_object_set_new(b, "max_tokens", json_integer(max_tokens));
    } else {
        json_object_set_new(b, "stream", json_false());
        json_object_set_new(b, "options",
                            json_pack("{s:i,s:i}", "temperature", 0, "num_predict", max_tokens));
    }
    return b;
}

/* A non-negative integer field, else -1. */
static long count_field(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) : -1;
}

/* Find the reply's content (borrowed from resp), token counts (-1 when
 * absent) and finish reason (borrowed, may be NULL). */
static ragd_status read_reply(const ragd_generator *g, const json_t *resp, const json_t **content,
                              long *ptok, long *ctok, const char **finish, ragd_error *err)
{
    const char *url = g->endpoint;
    const json_t *msg;
    *finish = NULL;
    if (!json_is_object(resp))
        return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: reply is not a JSON object", url);
    if (g->kind == GEN_OPENAI) {
        json_t *choices = json_object_get(resp, "choices");
        if (!json_is_array(choices) || !json_array_size(choices))
            return ragd_error_set(err, RAGD_EPROVIDER,
                                  "POST %s: reply has no \"choices\" (is this an OpenAI-compatible "
                                  "/chat/completions server?)",
                                  url);
        json_t *c0 = json_array_get(choices, 0);
        msg = json_object_get(c0, "message");
        *finish = json_string_value(json_object_get(c0, "finish_reason"));
        json_t *usage = json_object_get(resp, "usage");
        *ptok = count_field(usage, "prompt_tokens");
        *ctok = count_field(usage, "completion_tokens");
        if (!json_is_object(msg))
            return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: choices[0] has no \"message\"",
                                  url);
    } else {
        msg = json_object_get(resp, "message");
        *finish = json_string_value(json_object_get(resp, "done_reason"));
        *ptok = count_field(resp, "prompt_eval_count");
        *ctok = count_field(resp, "eval_count");
        if (!json_is_object(msg))
            return ragd_error_set(err, RAGD_EPROVIDER,
                                  "POST %s: reply has no \"message\" (is this an Ollama /api/chat "
                                  "server?)",
                                  url);
    }
    *content = json_object_get(msg, "content");
    if (!*content || json_is_null(*content)) {
        const char *refusal = json_string_value(json_object_get(msg, "refusal"));
        if (refusal)
            return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: the model refused: %.200s", url,
                                  refusal);
        return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: the reply message has no content",
                              url);
    }
    if (!json_is_string(*content))
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "POST %s: the reply message's content is not a string", url);
    return RAGD_OK;
}

/* The checks and accounting shared by both calls: the reply text s (its
 * first NUL ends it), token counts (-1: estimate) and finish reason. */
static ragd_status take_reply(ragd_generator *g, const char *system, const char *user,
                              int max_tokens, const char *s, long ptok, long ctok,
                              const char *finish, char **text, gen_usage *u, ragd_error *err)
{
    size_t n = strlen(s);
    if (n > GENERATOR_MAX_TEXT) {
        n = GENERATOR_MAX_TEXT;
        while (n && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    size_t a = 0;
    while (a < n && (s[a] == ' ' || s[a] == '\n' || s[a] == '\t' || s[a] == '\r'))
        a++;
    if (a == n)
        return finish && !strcmp(finish, "length")
                   ? ragd_error_set(err, RAGD_EPROVIDER,
                                    "POST %s: empty reply: the model stopped at max_tokens (%d) "
                                    "before writing any text",
                                    g->endpoint, max_tokens)
                   : ragd_error_set(err, RAGD_EPROVIDER, "POST %s: the model replied with no text",
                                    g->endpoint);
    char *t = ragd_xmalloc(n + 1);
    memcpy(t, s, n);
    t[n] = '\0';
    *text = t;
    bool est = ptok < 0 || ctok < 0;
    if (ptok < 0)
        ptok = (long)(text_count_tokens(system ? system : "", system ? strlen(system) : 0) +
                      text_count_tokens(user ? user : "", user ? strlen(user) : 0));
    if (ctok < 0) ctok = (long)text_count_tokens(t, n);
    u->calls++;
    u->estimated += est;
    u->prompt_tokens += ptok;
    u->completion_tokens += ctok;
    u->cost += (double)(ptok + ctok) / 1000.0 * g->cost_per_1k;
    return RAGD_OK;
}

/* The request body for system/user, or RAGD_EINPUT for bad arguments. */
static ragd_status make_body(const ragd_generator *g, const char *system, const char *user,
                             int max_tokens, bool stream, json_t **body, ragd_error *err)
{
    *body = NULL;
    if (max_tokens < 1 || max_tokens > GENERATOR_MAX_TOKENS)
        return ragd_error_set(err, RAGD_EINPUT, "max_tokens must be 1..%d, not %d",
                              GENERATOR_MAX_TOKENS, max_tokens);
    json_t *js = NULL, *ju = json_string(user ? user : "");
    if (system && !(js = json_string(system))) {
        json_decref(ju);
        return ragd_error_set(err, RAGD_EINPUT, "the system message is not valid UTF-8");
    }
    if (!ju) {
        json_decref(js);
        return ragd_error_set(err, RAGD_EINPUT, "the user message is not valid UTF-8");
    }
    *body = request_body(g, js, ju, max_tokens);
    if (stream) {
        json_object_set_new(*body, "stream", json_true());
        if (g->kind == GEN_OPENAI)
            json_object_set_new(*body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    }
    return RAGD_OK;
}

ragd_status generator_complete(ragd_generator *g, const char *system, const char *user,
                               int max_tokens, char **text, gen_usage *u, ragd_error *err)
{
    *text = NULL;
    gen_usage scratch;
    memset(&scratch, 0, sizeof scratch);
    if (!u) u = &scratch;
    json_t *body;
    ragd_status rc = make_body(g, system, user, max_tokens, false, &body, err);
    if (rc) return rc;
    json_t *resp = NULL;
    http_stats hs = {0, 0};
    rc = http_post_json(g->http, g->endpoint, body, &resp, &hs, err);
    json_decref(body);
    u->attempts += hs.attempts;
    u->retries += hs.retries;

    const json_t *content = NULL;
    long ptok = -1, ctok = -1;
    const char *finish = NULL;
    if (!rc) rc = read_reply(g, resp, &content, &ptok, &ctok, &finish, err);
    if (!rc)
        rc = take_reply(g, system, user, max_tokens, json_string_value(content), ptok, ctok, finish,
                        text, u, err);
    if (rc) u->failures++;
    json_decref(resp);
    return rc;
}

static int feed_parser(void *user, const char *bytes, size_t n)
{
    return gen_stream_feed(user, bytes, n, NULL) != RAGD_OK;
}

ragd_status generator_stream(ragd_generator *g, const char *system, const char *user,
                             int max_tokens, gen_token_fn on_token, void *token_user, char **text,
                             gen_usage *u, ragd_error *err)
{
    *text = NULL;
    gen_usage scratch;
    memset(&scratch, 0, sizeof scratch);
    if (!u) u = &scratch;
    json_t *body;
    ragd_status rc = make_body(g, system, user, max_tokens, true, &body, err);
    if (rc) return rc;
    gen_stream ps;
    gen_stream_init(&ps, g->kind == GEN_OPENAI ? GEN_STREAM_SSE : GEN_STREAM_NDJSON, on_token,
                    token_user);
    http_stats hs = {0, 0};
    rc = http_post_stream(g->http, g->endpoint, body, feed_parser, &ps, &hs, err);
    json_decref(body);
    u->attempts += hs.attempts;
    u->retries += hs.retries;
    ragd_error pe;
    if (ps.failed.code || (!rc && gen_stream_finish(&ps, &pe))) {
        rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s", g->endpoint, ps.failed.msg);
    } else if (!rc) {
        char *all = gen_stream_take_text(&ps);
        rc = take_reply(g, system, user, max_tokens, all, ps.ptok, ps.ctok,
                        ps.finish[0] ? ps.finish : NULL, text, u, err);
        free(all);
    }
    if (rc) u->failures++;
    gen_stream_free(&ps);
    return rc;
}
