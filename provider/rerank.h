/* provider/rerank.h — a remote rerank provider (cross-encoder scores).
 *
 * A reranker scores (query, text) pairs with a model that reads both
 * together, which a retriever's candidates-then-fusion order cannot do.
 * retrieve_search (retrieve.h) uses one, when given, to reorder its best
 * fused candidates; this file is only the client for the common /rerank
 * protocol:
 *
 *   POST {url}/rerank, two request shapes:
 *     tei     {"query":Q,"texts":[..],"raw_scores":false,"truncate":true}
 *             (Hugging Face text-embeddings-inference; base URL
 *             "http://host:8080"; the server serves one model);
 *     cohere  {"model":M,"query":Q,"documents":[..],"top_n":N,
 *             "return_documents":false}
 *             (Cohere "https://api.cohere.com/v1", Jina
 *             "https://api.jina.ai/v1", vLLM, Infinity, LocalAI, ...).
 *   The shape is chosen by reranker_config.protocol; without one, a
 *   configured model selects "cohere" (those APIs require a model) and no
 *   model selects "tei" (TEI takes none).
 *
 *   Either reply shape is accepted whatever was sent:
 *     [{"index":i,"score":s},..]                       (TEI)
 *     {"results":[{"index":i,"relevance_score":s},..]} (Cohere, Jina; a
 *                                                       "score" key is read
 *                                                       too)
 *   The reply must score every text exactly once: each index an integer in
 *   range, no duplicates, no missing text, every score a finite number.
 *   Anything else is RAGD_EPROVIDER ("POST <url>: ..."), never a crash and
 *   never a partial result.
 *
 * Texts are sent in batches of batch_size (TEI's default limit on texts per
 * request is 32); every batch is scored independently, so scores from
 * different batches are comparable (cross-encoder scores are absolute per
 * pair). HTTP goes through provider/http.c: per-attempt timeout, retries on
 * timeouts, connection errors, 429 and 5xx with jittered backoff honouring
 * Retry-After, no retry on other 4xx; bearer key when one is given.
 *
 * Scores are on the server's scale: probabilities in (0, 1) for TEI (with
 * raw_scores false), Cohere and Jina; a server returning raw logits gives
 * any real number, negatives included. Callers must not assume a sign.
 *
 * Ownership: reranker_new returns a handle released by reranker_free; the
 * config strings are copied. scores_out is the caller's.
 * Thread-safety: reranker_model/protocol/url are reentrant; reranker_rerank
 * uses the handle's libcurl easy handle: one thread at a time per handle.
 */
#ifndef RAGD_PROVIDER_RERANK_H
#define RAGD_PROVIDER_RERANK_H

#include <stddef.h>

#include "core/error.h"
#include "provider/breaker.h"

typedef struct ragd_reranker ragd_reranker;

typedef struct {
    const char *url;       /* base URL; "/rerank" is appended (required) */
    const char *model;     /* model name; NULL = none (TEI) */
    const char *api_key;   /* bearer key, NULL/"" for none */
    const char *protocol;  /* "tei" | "cohere" | NULL = by model (see above) */
    double timeout_s;      /* per HTTP attempt (0 -> 10 s) */
    int max_retries;       /* retries after the first attempt (0 -> 2; -1 -> none) */
    double backoff_base_s; /* first backoff ceiling (0 -> 0.25 s) */
    int batch_size;        /* texts per request (0 -> 32) */
} reranker_config;

/* Usage added to by reranker_rerank (never reset). */
typedef struct {
    long calls;    /* requests that succeeded */
    long attempts; /* requests made, retries included */
    long retries;
    long texts; /* texts scored */
} rerank_usage;

/* Defaults. */
#define RERANK_DEFAULT_TIMEOUT_S 10.0
#define RERANK_DEFAULT_RETRIES 2
#define RERANK_DEFAULT_BATCH 32
#define RERANK_MAX_TEXTS 10000 /* per reranker_rerank call */

/* Create a reranker. RAGD_EUSAGE on a bad config (no URL, not http(s), an
 * unknown protocol, "cohere" without a model, negative numbers, a key with
 * a line break); RAGD_EPROVIDER when libcurl cannot start. Does not contact
 * the server. */
ragd_status reranker_new(const reranker_config *cfg, ragd_reranker **out, ragd_error *err);

/* NULL is a no-op. */
void reranker_free(ragd_reranker *r);

/* Make r's calls go through the circuit breaker of its endpoint in b
 * (provider/breaker.h; borrowed, must outlive r; NULL = none). */
void reranker_use_breakers(ragd_reranker *r, provider_breakers *b);

/* The model name (NULL when none was configured), the protocol in use
 * ("tei" or "cohere") and the endpoint ({url}/rerank); borrowed. */
const char *reranker_model(const ragd_reranker *r);
const char *reranker_protocol(const ragd_reranker *r);
const char *reranker_endpoint(const ragd_reranker *r);

/* Score texts[0..n) against query: scores_out[i] is the server's score of
 * texts[i] (input order, whatever order the server answers in), higher is
 * more relevant. n = 0 is a no-op. Adds to *usage when not NULL. Errors:
 * RAGD_EINPUT (a text or the query is not valid UTF-8, n too large),
 * RAGD_EPROVIDER (network, server, malformed reply); on error scores_out is
 * unspecified. */
ragd_status reranker_rerank(ragd_reranker *r, const char *query, const char *const *texts, size_t n,
                            double *scores_out, rerank_usage *usage, ragd_error *err);

#endif
