/* provider/rerank.c — the /rerank client. See rerank.h for the protocol.
 *
 * One request per batch; the reply is checked item by item into a "seen"
 * map so a bad index or a missing text is reported precisely ("results[3]:
 * index 7 out of range for 5 texts") rather than read out of bounds.
 */
#include "provider/rerank.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "provider/http.h"
#include "provider/remote.h"

#define RERANK_DEFAULT_BACKOFF_S 0.25
#define RERANK_BACKOFF_CAP_S 5.0

typedef enum { PROTO_TEI, PROTO_COHERE } rerank_proto;

struct ragd_reranker {
    char *endpoint; /* {url}/rerank */
    char *model;    /* NULL = none */
    rerank_proto proto;
    int batch_size;
    ragd_http *http;
};

ragd_status reranker_new(const reranker_config *cfg, ragd_reranker **out, ragd_error *err)
{
    *out = NULL;
    if (!cfg || !cfg->url || !*cfg->url)
        return ragd_error_set(err, RAGD_EUSAGE, "the reranker needs a URL (--reranker-url)");
    if (strncmp(cfg->url, "http://", 7) != 0 && strncmp(cfg->url, "https://", 8) != 0)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "reranker URL '%s' must start with http:// or https://", cfg->url);
    if (cfg->timeout_s < 0 || cfg->max_retries < -1 || cfg->backoff_base_s < 0 ||
        cfg->batch_size < 0)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "reranker: negative timeout, retries, backoff or batch size");
    const char *model = cfg->model && *cfg->model ? cfg->model : NULL;
    rerank_proto proto = model ? PROTO_COHERE : PROTO_TEI;
    if (cfg->protocol && *cfg->protocol) {
        if (!strcmp(cfg->protocol, "tei"))
            proto = PROTO_TEI;
        else if (!strcmp(cfg->protocol, "cohere"))
            proto = PROTO_COHERE;
        else
            return ragd_error_set(err, RAGD_EUSAGE, "unknown reranker protocol '%s' (tei, cohere)",
                                  cfg->protocol);
    }
    if (proto == PROTO_COHERE && !model)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "the cohere rerank protocol needs a model name (--reranker-model)");

    ragd_reranker *r = ragd_xcalloc(1, sizeof *r);
    size_t ul = strlen(cfg->url);
    while (ul && cfg->url[ul - 1] == '/')
        ul--;
    ragd_buf ep = RAGD_BUF_INIT;
    ragd_buf_printf(&ep, "%.*s/rerank", (int)ul, cfg->url);
    r->endpoint = ragd_buf_steal(&ep);
    r->model = model ? ragd_xstrdup(model) : NULL;
    r->proto = proto;
    r->batch_size = cfg->batch_size ? cfg->batch_size : RERANK_DEFAULT_BATCH;
    http_config hc = {
        .timeout_s = cfg->timeout_s > 0 ? cfg->timeout_s : RERANK_DEFAULT_TIMEOUT_S,
        .max_retries = cfg->max_retries == -1 ? 0
                       : cfg->max_retries     ? cfg->max_retries
                                              : RERANK_DEFAULT_RETRIES,
        .backoff_base_s = cfg->backoff_base_s > 0 ? cfg->backoff_base_s : RERANK_DEFAULT_BACKOFF_S,
        .backoff_cap_s = RERANK_BACKOFF_CAP_S,
        .api_key = cfg->api_key,
    };
    ragd_status rc = http_new(&hc, &r->http, err);
    if (rc != RAGD_OK) {
        reranker_free(r);
        return rc;
    }
    *out = r;
    return RAGD_OK;
}

void reranker_use_breakers(ragd_reranker *r, provider_breakers *b)
{
    if (r) http_set_breaker(r->http, breakers_get(b, r->endpoint));
}

void reranker_free(ragd_reranker *r)
{
    if (!r) return;
    http_free(r->http);
    free(r->endpoint);
    free(r->model);
    free(r);
}

const char *reranker_model(const ragd_reranker *r)
{
    return r->model;
}

const char *reranker_protocol(const ragd_reranker *r)
{
    return r->proto == PROTO_TEI ? "tei" : "cohere";
}

const char *reranker_endpoint(const ragd_reranker *r)
{
    return r->endpoint;
}

/* Read a reply for n texts into scores[0..n). */
static ragd_status parse_reply(const char *url, const json_t *resp, size_t n, double *scores,
                               ragd_error *err)
{
    const json_t *items = resp;
    const char *what = "reply";
    if (json_is_object(resp)) {
        items = json_object_get(resp, "results");
        what = "results";
    }
    if (!json_is_array(items))
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "POST %s: reply is neither a list of {\"index\",\"score\"} nor an "
                              "object with a \"results\" list",
                              url);
    if (json_array_size(items) != n)
        return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s scores %zu texts, %zu were sent",
                              url, what, json_array_size(items), n);
    unsigned char *seen = ragd_xcalloc(n ? n : 1, 1);
    ragd_status rc = RAGD_OK;
    for (size_t k = 0; k < n && !rc; k++) {
        json_t *it = json_array_get(items, k);
        json_t *ix = json_object_get(it, "index");
        json_t *sc = json_object_get(it, "relevance_score");
        if (!sc) sc = json_object_get(it, "score");
        if (!json_is_integer(ix)) {
            rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s[%zu] has no integer \"index\"",
                                url, what, k);
        } else if (json_integer_value(ix) < 0 || (size_t)json_integer_value(ix) >= n) {
            rc = ragd_error_set(err, RAGD_EPROVIDER,
                                "POST %s: %s[%zu]: index %lld out of range for %zu texts", url,
                                what, k, (long long)json_integer_value(ix), n);
        } else if (seen[json_integer_value(ix)]) {
            rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s[%zu]: index %lld appears twice",
                                url, what, k, (long long)json_integer_value(ix));
        } else if (!json_is_number(sc) || !isfinite(json_number_value(sc))) {
            rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s[%zu] has no numeric score", url,
                                what, k);
        } else {
            seen[json_integer_value(ix)] = 1;
            scores[json_integer_value(ix)] = json_number_value(sc);
        }
    }
    free(seen);
    return rc;
}

ragd_status reranker_rerank(ragd_reranker *r, const char *query, const char *const *texts, size_t n,
                            double *scores_out, rerank_usage *usage, ragd_error *err)
{
    if (!n) return RAGD_OK;
    if (n > RERANK_MAX_TEXTS)
        return ragd_error_set(err, RAGD_EINPUT, "too many texts to rerank: %zu (max %d)", n,
                              RERANK_MAX_TEXTS);
    json_t *q = json_string(query ? query : "");
    if (!q) return ragd_error_set(err, RAGD_EINPUT, "the query to rerank is not valid UTF-8");
    ragd_status rc = RAGD_OK;
    for (size_t off = 0; off < n && !rc; off += (size_t)r->batch_size) {
        size_t m = n - off < (size_t)r->batch_size ? n - off : (size_t)r->batch_size;
        json_t *docs = remote_inputs(texts + off, NULL, m, err);
        if (!docs) {
            rc = RAGD_EINPUT;
            break;
        }
        json_t *body = json_object();
        json_object_set(body, "query", q);
        if (r->proto == PROTO_TEI) {
            json_object_set_new(body, "texts", docs);
            json_object_set_new(body, "raw_scores", json_false());
            json_object_set_new(body, "truncate", json_true());
        } else {
            json_object_set_new(body, "model", json_string(r->model));
            json_object_set_new(body, "documents", docs);
            json_object_set_new(body, "top_n", json_integer((json_int_t)m));
            json_object_set_new(body, "return_documents", json_false());
        }
        json_t *resp = NULL;
        http_stats hs = {0, 0};
        rc = http_post_json(r->http, r->endpoint, body, &resp, &hs, err);
        json_decref(body);
        if (usage) {
            usage->attempts += hs.attempts;
            usage->retries += hs.retries;
        }
        if (!rc) rc = parse_reply(r->endpoint, resp, m, scores_out + off, err);
        json_decref(resp);
        if (!rc && usage) {
            usage->calls++;
            usage->texts += (long)m;
        }
    }
    json_decref(q);
    return rc;
}
