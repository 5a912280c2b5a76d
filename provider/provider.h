/* provider/provider.h — embedding providers.
 *
 * One interface, three implementations:
 *   local   built-in, offline, model-free, deterministic: signed feature
 *           hashing of word unigrams, word bigrams and character n-grams
 *           with sublinear term weights, L2-normalized (provider/local.c);
 *   openai  any OpenAI-compatible POST {url}/embeddings server
 *           (OpenAI, llama.cpp, vLLM, TEI, LM Studio) (provider/openai.c);
 *   ollama  POST {url}/api/embed (provider/ollama.c).
 * Remote calls go through provider/http.c: libcurl with connection reuse,
 * a per-call timeout, retries on timeouts, connection errors, 429 and 5xx
 * with exponential backoff and full jitter that honors Retry-After, and no
 * retry on other 4xx. An embedder may carry fallbacks (same model, other
 * servers) tried in order when a call fails with RAGD_EPROVIDER.
 *
 * Every vector an embedder returns has exactly embedder_dim() floats; a
 * server answering with another dimension is an error naming both
 * dimensions (RAGD_EPROVIDER), never silently truncated.
 *
 * Ownership: embedder_new and embedder_clone return a handle released by
 * embedder_free; the config strings are copied.
 *
 * Thread-safety, per function: embedder_new, embedder_clone (of a handle no
 * other thread is changing), embedder_model and embedder_dim are reentrant;
 * embedder_embed, embedder_probe_dim, embedder_add_fallback and
 * embedder_free change the handle (a remote one owns libcurl easy handles,
 * which cannot be shared): one thread at a time per handle. For parallel
 * embedding give each thread its own embedder_clone. local_embed_text is a
 * pure function.
 */
#ifndef RAGD_PROVIDER_H
#define RAGD_PROVIDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "provider/breaker.h"

typedef struct ragd_embedder ragd_embedder;

typedef struct {
    const char *kind;  /* "local" | "openai" | "ollama" (NULL = "local") */
    const char *url;   /* base URL: "http://host:8080/v1" (openai), "http://host:11434" (ollama) */
    const char *model; /* model name; local: NULL -> "ragd-local-hash-v2" */
    const char *api_key; /* bearer key (openai), NULL for none */
    int dim;             /* local: output dimension (0 -> 384); remote: expected dimension,
                            0 = learn from the first response; openai sends "dimensions"
                            only when send_dimensions is set */
    int send_dimensions; /* openai: include "dimensions": dim in requests */
    double timeout_s;    /* per HTTP call (0 -> 30 s) */
    int max_retries;     /* retries after the first attempt (0 -> 4; -1 -> none) */
    double
        backoff_base_s; /* first backoff ceiling (0 -> 0.5 s); doubles per retry, capped at 30 s */
    int batch_size;     /* texts per request (0 -> 64) */
    double cost_per_1k; /* optional cost per 1,000 tokens, for accounting */
    provider_breakers *breakers; /* circuit breakers by endpoint (borrowed; NULL = none),
                                    shared with clones; provider/breaker.h */
} embedder_config;

/* Usage accumulated over calls. */
typedef struct {
    long calls;    /* HTTP requests that succeeded (local: batches) */
    long attempts; /* HTTP requests made, including retried ones */
    long retries;
    long fallbacks; /* times a fallback server was used */
    long tokens;    /* from the response's usage, else estimated */
    long texts;
    double cost;
} embed_usage;

/* Create an embedder. Remote kinds need url. Fails with RAGD_EUSAGE on a bad
 * config (unknown kind, missing url). Does not contact the server. */
ragd_status embedder_new(const embedder_config *cfg, ragd_embedder **out, ragd_error *err);

/* Add a fallback server (same kind rules as embedder_new; its model must
 * produce the same dimension). Fallbacks are tried in the order added. */
ragd_status embedder_add_fallback(ragd_embedder *e, const embedder_config *cfg, ragd_error *err);

void embedder_free(ragd_embedder *e);

/* A new handle equal to e: same kind, model, URL, key, timeouts, retries,
 * batch size, cost, dimension (also one learned by embedder_probe_dim) and
 * fallbacks, with its own HTTP clients (connections are not shared), so the
 * clone can embed on another thread while e is used on this one. Usage is
 * not shared either: each handle's calls add to the embed_usage they are
 * given. Fails like embedder_new (RAGD_EPROVIDER when libcurl cannot start). */
ragd_status embedder_clone(const ragd_embedder *e, ragd_embedder **out, ragd_error *err);

/* The model name (borrowed) and the dimension (0 if not yet known for a
 * remote embedder created with dim 0). */
const char *embedder_model(const ragd_embedder *e);
int embedder_dim(const ragd_embedder *e);

/* Whether e is the built-in local embedder (no provider call: computing a
 * vector is cheaper than caching it). */
bool embedder_is_local(const ragd_embedder *e);

/* Embed texts[0..n) (lens[i] bytes each; lens may be NULL for NUL-terminated
 * strings) into out, which must hold n * dim floats where dim is the value
 * embedder_dim returns after the call (call with n = 0 first or know the
 * dimension). Batches internally by batch_size. Adds to *usage if not NULL.
 * Errors: RAGD_EPROVIDER for network/server failures (after retries and
 * fallbacks) with the server's message, RAGD_EPROVIDER for a wrong
 * dimension ("server returned 512-d vectors, collection expects 384").
 *
 * For remote embedders with dim 0, use embedder_probe_dim first. */
ragd_status embedder_embed(ragd_embedder *e, const char *const *texts, const size_t *lens, size_t n,
                           float *out, embed_usage *usage, ragd_error *err);

/* Learn the dimension of a remote embedder by embedding one short text
 * (no-op when already known). */
ragd_status embedder_probe_dim(ragd_embedder *e, embed_usage *usage, ragd_error *err);

/* --- the local embedder's feature function, exposed for tests ------------- */

/* Embed one text with the local hashing embedder into out[0..dim),
 * L2-normalized (all zeros for text without features). Pure function. */
void local_embed_text(const char *text, size_t len, int dim, float *out);

/* local_embed_text in sparse form: the nonzero dimensions of the same vector
 * in ascending order, (*idx)[k] with the value (*val)[k] (bit for bit what
 * local_embed_text stores there; every other dimension is 0), k below the
 * returned count. *idx and *val are malloc'd (NULL when the count is 0);
 * the caller frees them. Pure function. */
size_t local_embed_sparse(const char *text, size_t len, int dim, uint32_t **idx, float **val);

/* Reusable buffers for local_embed_sparse_ws: a caller embedding many texts
 * (the semantic chunker, one per sentence) allocates once instead of per
 * text, and each distinct word is hashed once per scratch (a word cache of
 * at most 8,192 words, a few MB, emptied when full; the vectors do not
 * depend on it). One thread at a time per scratch; free with
 * local_embed_scratch_free (NULL is fine). */
typedef struct local_embed_scratch local_embed_scratch;
local_embed_scratch *local_embed_scratch_new(void);
void local_embed_scratch_free(local_embed_scratch *ws);

/* local_embed_sparse with its arrays in ws: *idx and *val (NULL when the
 * count is 0) stay valid until the next call with ws or its free. */
size_t local_embed_sparse_ws(local_embed_scratch *ws, const char *text, size_t len, int dim,
                             const uint32_t **idx, const float **val);

/* local_embed_sparse_ws writing straight into the caller's row arenas:
 * the m nonzero (dimension, value) pairs (the same ones, in the same
 * order) are appended at (*idx)[*n..] and (*val)[*n..], both of capacity
 * *cap entries, realloc'd (to twice what is needed) when they do not fit;
 * *n grows by m, and *ss is the sum of (double)v * v over the appended
 * values in order (0 when m is 0). Returns m. The arrays are the caller's
 * (free them); one thread at a time per scratch. */
size_t local_embed_sparse_append(local_embed_scratch *ws, const char *text, size_t len, int dim,
                                 uint32_t **idx, float **val, size_t *n, size_t *cap, double *ss);

/* local_embed_text with its work arrays in ws (the same vector, bit for
 * bit; embedder_embed keeps one per local handle). One thread at a time
 * per scratch. */
void local_embed_text_ws(local_embed_scratch *ws, const char *text, size_t len, int dim,
                         float *out);

#endif
