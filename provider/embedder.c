/* provider/embedder.c — the embedder handle: configuration, batching, the
 * fallback chain and usage accounting over the three kinds. See provider.h.
 *
 * A handle is one "server": its kind, model, URL, HTTP client and settings.
 * The primary handle also owns its fallbacks (handles of the same shape
 * without fallbacks of their own). embedder_embed cuts the input into
 * batches of batch_size texts and sends each batch through the chain:
 *
 *   try the server that answered the previous batch of this call (the
 *   primary for the first batch), then every other server in order
 *   (primary, fallback 1, fallback 2, ...); move on only on RAGD_EPROVIDER.
 *
 * "Sticky within a call" means that when the primary is down, an ingest of
 * 10,000 texts pays the primary's retries once, not once per batch; the
 * next embedder_embed call starts from the primary again, so a recovered
 * primary is used as soon as it is back. Each batch served by a fallback
 * counts one in usage.fallbacks.
 *
 * Every vector is checked against the embedder's dimension (the configured
 * one, or the one learned by embedder_probe_dim); fallbacks are held to the
 * primary's dimension. Tokens come from the server's usage fields when it
 * sends them, else from text_count_tokens; cost = tokens * cost_per_1k / 1000
 * of the server that answered.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"
#include "provider/http.h"
#include "provider/provider.h"
#include "provider/remote.h"

#define LOCAL_MODEL "ragd-local-hash-v2"
#define LOCAL_DIM 384
#define MAX_DIM 65536
#define DEFAULT_TIMEOUT_S 30.0
#define DEFAULT_RETRIES 4
#define DEFAULT_BACKOFF_S 0.5
#define BACKOFF_CAP_S 30.0
#define DEFAULT_BATCH 64
#define PROBE_TEXT "ragd dimension probe"

typedef enum { KIND_LOCAL, KIND_OPENAI, KIND_OLLAMA } embed_kind;

struct ragd_embedder {
    embed_kind kind;
    char *model;
    char *url;      /* base URL without trailing '/'; NULL for local */
    char *endpoint; /* the URL requests go to; NULL for local */
    int dim;        /* 0 = not known yet (remote only) */
    int send_dimensions;
    int batch_size;
    double cost_per_1k;
    ragd_http *http; /* remote only */
    /* What embedder_clone needs to build an equal handle (remote only). */
    char *api_key; /* NULL for none */
    double timeout_s, backoff_base_s;
    int max_retries;             /* as configured: 0 = default, -1 = none */
    provider_breakers *breakers; /* borrowed, NULL = none */
    ragd_embedder **fallbacks;
    size_t nfallbacks, fallbacks_cap;
    /* local only: the embedding scratch, made at the first embedder_embed
     * and reused by every later call (one thread at a time per handle) */
    local_embed_scratch *ws;
};

static const char *kind_name(embed_kind k)
{
    switch (k) {
    case KIND_LOCAL:
        return "local";
    case KIND_OPENAI:
        return "openai";
    case KIND_OLLAMA:
        return "ollama";
    }
    return "?";
}

static void server_free(ragd_embedder *s)
{
    if (!s) return;
    http_free(s->http);
    local_embed_scratch_free(s->ws);
    free(s->api_key);
    free(s->model);
    free(s->url);
    free(s->endpoint);
    free(s);
}

/* Build one server handle from cfg. primary is NULL for the primary itself;
 * for a fallback it supplies the default model. */
static ragd_status server_new(const embedder_config *cfg, const ragd_embedder *primary,
                              ragd_embedder **out, ragd_error *err)
{
    *out = NULL;
    if (!cfg) return ragd_error_set(err, RAGD_EUSAGE, "embedder: no configuration");
    embed_kind kind;
    const char *k = cfg->kind && *cfg->kind ? cfg->kind : "local";
    if (strcmp(k, "local") == 0)
        kind = KIND_LOCAL;
    else if (strcmp(k, "openai") == 0)
        kind = KIND_OPENAI;
    else if (strcmp(k, "ollama") == 0)
        kind = KIND_OLLAMA;
    else
        return ragd_error_set(err, RAGD_EUSAGE,
                              "unknown embedder '%s' (expected local, openai or ollama)", k);

    if (cfg->dim < 0 || cfg->dim > MAX_DIM)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "embedder dimension %d out of range (1..%d, 0 = default)", cfg->dim,
                              MAX_DIM);
    if (cfg->timeout_s < 0 || cfg->max_retries < -1 || cfg->backoff_base_s < 0 ||
        cfg->batch_size < 0 || cfg->cost_per_1k < 0)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "embedder: negative timeout, retries, backoff, batch size or cost");

    ragd_embedder *s = ragd_xcalloc(1, sizeof *s);
    s->kind = kind;
    s->batch_size = cfg->batch_size ? cfg->batch_size : DEFAULT_BATCH;
    s->cost_per_1k = cfg->cost_per_1k;
    if (kind == KIND_LOCAL) {
        s->model = ragd_xstrdup(cfg->model && *cfg->model ? cfg->model : LOCAL_MODEL);
        s->dim = cfg->dim ? cfg->dim : LOCAL_DIM;
        *out = s;
        return RAGD_OK;
    }

    /* Remote: URL, model, HTTP client. */
    ragd_status rc;
    if (!cfg->url || !*cfg->url) {
        rc = ragd_error_set(err, RAGD_EUSAGE, "the %s embedder needs a URL (--embedder-url)", k);
        goto fail;
    }
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0) {
        rc = ragd_error_set(err, RAGD_EUSAGE,
                            "embedder URL '%s' must start with http:// or https://", cfg->url);
        goto fail;
    }
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/')
        ul--;
    s->url = ragd_xstrndup(cfg->url, ul);
    ragd_buf ep = RAGD_BUF_INIT;
    ragd_buf_printf(&ep, "%s%s", s->url, kind == KIND_OPENAI ? "/embeddings" : "/api/embed");
    s->endpoint = ragd_buf_steal(&ep);

    const char *model = cfg->model && *cfg->model ? cfg->model : primary ? primary->model : NULL;
    if (!model) {
        rc = ragd_error_set(err, RAGD_EUSAGE,
                            "the %s embedder needs a model name (--embedder-model)", k);
        goto fail;
    }
    s->model = ragd_xstrdup(model);
    s->dim = cfg->dim;
    s->api_key = cfg->api_key ? ragd_xstrdup(cfg->api_key) : NULL;
    s->timeout_s = cfg->timeout_s;
    s->backoff_base_s = cfg->backoff_base_s;
    s->max_retries = cfg->max_retries;
    s->breakers = cfg->breakers;
    s->send_dimensions = kind == KIND_OPENAI && cfg->send_dimensions;
    if (s->send_dimensions && !s->dim && !(primary && primary->dim)) {
        rc = ragd_error_set(err, RAGD_EUSAGE, "embedder: sending \"dimensions\" needs a dimension");
        goto fail;
    }

    http_config hc = {
        .timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : DEFAULT_TIMEOUT_S,
        .max_retries = cfg->max_retries == -1 ? 0
                       : cfg->max_retries     ? cfg->max_retries
                                              : DEFAULT_RETRIES,
        .backoff_base_s = cfg->backoff_base_s > 0 ? cfg->backoff_base_s : DEFAULT_BACKOFF_S,
        .backoff_cap_s = BACKOFF_CAP_S,
        .api_key = cfg->api_key,
        .breaker = breakers_get(cfg->breakers, s->endpoint),
    };
    rc = http_new(&hc, &s->http, err);
    if (rc != RAGD_OK) goto fail;
    *out = s;
    return RAGD_OK;

fail:
    server_free(s);
    return rc;
}

ragd_status embedder_new(const embedder_config *cfg, ragd_embedder **out, ragd_error *err)
{
    return server_new(cfg, NULL, out, err);
}

ragd_status embedder_add_fallback(ragd_embedder *e, const embedder_config *cfg, ragd_error *err)
{
    if (!e) return ragd_error_set(err, RAGD_EUSAGE, "embedder_add_fallback: no embedder");
    if (e->kind == KIND_LOCAL)
        return ragd_error_set(
            err, RAGD_EUSAGE,
            "the local embedder cannot fail over: fallbacks are for remote servers");
    ragd_embedder *f;
    ragd_status rc = server_new(cfg, e, &f, err);
    if (rc != RAGD_OK) return rc;
    if (f->kind == KIND_LOCAL) {
        server_free(f);
        return ragd_error_set(err, RAGD_EUSAGE,
                              "a local fallback for a %s embedder would mix vectors of two models",
                              kind_name(e->kind));
    }
    if (f->dim && e->dim && f->dim != e->dim) {
        int fd = f->dim;
        server_free(f);
        return ragd_error_set(err, RAGD_EUSAGE,
                              "fallback embedder dimension %d differs from the primary's %d", fd,
                              e->dim);
    }
    ragd_array_grow((void **)&e->fallbacks, &e->fallbacks_cap, e->nfallbacks + 1,
                    sizeof *e->fallbacks);
    e->fallbacks[e->nfallbacks++] = f;
    return RAGD_OK;
}

/* The configuration that builds a handle equal to server s. */
static embedder_config server_config(const ragd_embedder *s)
{
    embedder_config c = {
        .kind = kind_name(s->kind),
        .url = s->url,
        .model = s->model,
        .api_key = s->api_key,
        .dim = s->dim,
        .send_dimensions = s->send_dimensions,
        .timeout_s = s->timeout_s,
        .max_retries = s->max_retries,
        .backoff_base_s = s->backoff_base_s,
        .batch_size = s->batch_size,
        .cost_per_1k = s->cost_per_1k,
        .breakers = s->breakers,
    };
    return c;
}

ragd_status embedder_clone(const ragd_embedder *e, ragd_embedder **out, ragd_error *err)
{
    *out = NULL;
    if (!e) return ragd_error_set(err, RAGD_EUSAGE, "embedder_clone: no embedder");
    embedder_config c = server_config(e);
    ragd_embedder *n;
    ragd_status rc = server_new(&c, NULL, &n, err);
    if (rc) return rc;
    n->dim = e->dim; /* learned by a probe, possibly */
    for (size_t i = 0; i < e->nfallbacks && !rc; i++) {
        ragd_embedder *f;
        embedder_config fc = server_config(e->fallbacks[i]);
        rc = server_new(&fc, n, &f, err);
        if (rc) break;
        f->dim = e->fallbacks[i]->dim;
        ragd_array_grow((void **)&n->fallbacks, &n->fallbacks_cap, n->nfallbacks + 1,
                        sizeof *n->fallbacks);
        n->fallbacks[n->nfallbacks++] = f;
    }
    if (rc) {
        embedder_free(n);
        return rc;
    }
    *out = n;
    return RAGD_OK;
}

void embedder_free(ragd_embedder *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nfallbacks; i++)
        server_free(e->fallbacks[i]);
    free(e->fallbacks);
    server_free(e);
}

bool embedder_is_local(const ragd_embedder *e)
{
    return e->kind == KIND_LOCAL;
}

const char *embedder_model(const ragd_embedder *e)
{
    return e ? e->model : NULL;
}

int embedder_dim(const ragd_embedder *e)
{
    return e ? e->dim : 0;
}

/* --- embedding ----------------------------------------------------------------- */

static size_t text_len(const char *const *texts, const size_t *lens, size_t i)
{
    if (!texts[i]) return 0; /* a NULL text is empty whatever lens says */
    return lens ? lens[i] : strlen(texts[i]);
}

static long estimate_tokens(const char *const *texts, const size_t *lens, size_t n)
{
    long t = 0;
    for (size_t i = 0; i < n; i++)
        if (texts[i]) t += (long)text_count_tokens(texts[i], text_len(texts, lens, i));
    return t;
}

/* Server k of the chain: 0 = primary, k = fallback k-1. */
static ragd_embedder *chain_server(ragd_embedder *e, size_t k)
{
    return k == 0 ? e : e->fallbacks[k - 1];
}

/* Embed one batch through the chain (see the top comment). *sticky is the
 * server to try first and becomes the one that answered. When e->dim is 0
 * (probe) it is learned from the reply. out (n * dim floats) may be NULL. */
static ragd_status chain_batch(ragd_embedder *e, size_t *sticky, const char *const *texts,
                               const size_t *lens, size_t n, float *out, embed_usage *u,
                               ragd_error *err)
{
    size_t nsrv = 1 + e->nfallbacks;
    ragd_buf msgs = RAGD_BUF_INIT;
    for (size_t t = 0; t < nsrv; t++) {
        size_t k = t == 0 ? *sticky : (t - 1 < *sticky ? t - 1 : t);
        ragd_embedder *s = chain_server(e, k);
        remote_call c = {
            .http = s->http,
            .endpoint = s->endpoint,
            .model = s->model,
            .send_dim = s->send_dimensions ? (s->dim ? s->dim : e->dim) : 0,
            .expect_dim = e->dim,
        };
        http_stats hs = {0, 0};
        remote_result r;
        ragd_error le;
        ragd_error_clear(&le);
        ragd_status rc = s->kind == KIND_OPENAI
                             ? openai_embed_batch(&c, texts, lens, n, &r, &hs, &le)
                             : ollama_embed_batch(&c, texts, lens, n, &r, &hs, &le);
        u->attempts += hs.attempts;
        u->retries += hs.retries;
        if (rc == RAGD_OK) {
            if (!e->dim) e->dim = r.dim;
            if (out) memcpy(out, r.vecs, n * (size_t)r.dim * sizeof *out);
            long tokens = r.tokens >= 0 ? r.tokens : estimate_tokens(texts, lens, n);
            remote_result_clear(&r);
            u->calls++;
            u->texts += (long)n;
            u->tokens += tokens;
            u->cost += (double)tokens * s->cost_per_1k / 1000.0;
            if (k != 0) {
                u->fallbacks++;
                log_write(LOG_WARN, "embedding served by a fallback server", "url", s->url,
                          "primary", e->url, NULL);
            }
            *sticky = k;
            ragd_buf_free(&msgs);
            return RAGD_OK;
        }
        if (rc != RAGD_EPROVIDER) { /* bad input: no server would take it */
            ragd_buf_free(&msgs);
            ragd_error_set(err, rc, "%s", le.msg);
            return rc;
        }
        if (msgs.len) ragd_buf_puts(&msgs, "; ");
        ragd_buf_puts(&msgs, le.msg);
    }
    ragd_error_set(err, RAGD_EPROVIDER, "%s", ragd_buf_str(&msgs));
    ragd_buf_free(&msgs);
    return RAGD_EPROVIDER;
}

ragd_status embedder_embed(ragd_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                           float *out, embed_usage *usage, ragd_error *err)
{
    embed_usage scratch;
    memset(&scratch, 0, sizeof scratch);
    embed_usage *u = usage ? usage : &scratch;
    if (!e) return ragd_error_set(err, RAGD_EUSAGE, "embedder_embed: no embedder");
    if (n == 0) return RAGD_OK;
    if (!texts || !out)
        return ragd_error_set(err, RAGD_EUSAGE, "embedder_embed: texts or out is NULL");
    size_t bs = (size_t)e->batch_size;

    if (e->kind == KIND_LOCAL) {
        size_t dim = (size_t)e->dim;
        if (!e->ws) e->ws = local_embed_scratch_new();
        for (size_t off = 0; off < n; off += bs) {
            size_t m = n - off < bs ? n - off : bs;
            for (size_t i = off; i < off + m; i++)
                local_embed_text_ws(e->ws, texts[i] ? texts[i] : "", text_len(texts, lens, i),
                                    e->dim, out + i * dim);
            long tokens = estimate_tokens(texts + off, lens ? lens + off : NULL, m);
            u->calls++;
            u->attempts++;
            u->texts += (long)m;
            u->tokens += tokens;
            u->cost += (double)tokens * e->cost_per_1k / 1000.0;
        }
        return RAGD_OK;
    }

    if (!e->dim)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "embedder %s at %s: dimension unknown, call embedder_probe_dim first",
                              e->model, e->url);
    size_t dim = (size_t)e->dim, sticky = 0;
    for (size_t off = 0; off < n; off += bs) {
        size_t m = n - off < bs ? n - off : bs;
        ragd_status rc = chain_batch(e, &sticky, texts + off, lens ? lens + off : NULL, m,
                                     out + off * dim, u, err);
        if (rc != RAGD_OK) return rc;
    }
    return RAGD_OK;
}

ragd_status embedder_probe_dim(ragd_embedder *e, embed_usage *usage, ragd_error *err)
{
    embed_usage scratch;
    memset(&scratch, 0, sizeof scratch);
    if (!e) return ragd_error_set(err, RAGD_EUSAGE, "embedder_probe_dim: no embedder");
    if (e->dim) return RAGD_OK;
    const char *probe[1] = {PROBE_TEXT};
    size_t sticky = 0;
    return chain_batch(e, &sticky, probe, NULL, 1, NULL, usage ? usage : &scratch, err);
}
