/* provider/remote.h — the remote embedding protocols (private to provider/).
 *
 * openai.c and ollama.c each turn one batch of texts into one HTTP request
 * and the reply into n vectors; embedder.c does batching, fallbacks and
 * usage accounting on top. remote.c holds what both protocols share:
 * building the "input" array and checking and copying one vector.
 *
 * A protocol function checks everything about the reply that can be wrong:
 * not JSON (http.c), no vector list, a vector count other than n, vectors of
 * different lengths, a length other than the expected dimension ("server
 * returned 512-d vectors, expected 384"), non-numbers. Each such failure is
 * RAGD_EPROVIDER with a message starting "POST <url>: ".
 */
#ifndef RAGD_PROVIDER_REMOTE_H
#define RAGD_PROVIDER_REMOTE_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "provider/http.h"

/* One batch request. All pointers borrowed. */
typedef struct {
    ragd_http *http;
    const char *endpoint; /* full URL: {base}/embeddings or {base}/api/embed */
    const char *model;
    int send_dim;   /* openai: value of "dimensions" to send, 0 = omit */
    int expect_dim; /* required vector length, 0 = accept the server's */
} remote_call;

/* One batch reply. vecs holds n * dim floats in input order (malloc'd, the
 * caller frees); tokens is the server's prompt token count, -1 if it gave
 * none. */
typedef struct {
    float *vecs;
    int dim;
    long tokens;
} remote_result;

/* POST {"model","input":[...](,"dimensions")} to c->endpoint and read
 * data[i].embedding (placed by data[i].index) and usage.prompt_tokens
 * (else usage.total_tokens). On failure res is left empty. */
ragd_status openai_embed_batch(const remote_call *c, const char *const *texts, const size_t *lens,
                               size_t n, remote_result *res, http_stats *st, ragd_error *err);

/* POST {"model","input":[...]} to c->endpoint and read "embeddings" and
 * "prompt_eval_count". On failure res is left empty. */
ragd_status ollama_embed_batch(const remote_call *c, const char *const *texts, const size_t *lens,
                               size_t n, remote_result *res, http_stats *st, ragd_error *err);

/* --- shared helpers (remote.c) -------------------------------------------- */

/* Reset res to empty and build the request body both protocols share:
 * {"model": c->model, "input": [texts]}. Returns a new reference, or NULL
 * (with err set, RAGD_EINPUT) when a text is not valid UTF-8. */
json_t *remote_request_body(const remote_call *c, const char *const *texts, const size_t *lens,
                            size_t n, remote_result *res, ragd_error *err);

/* A JSON array of the n texts (lens may be NULL: NUL-terminated). Returns
 * NULL and sets RAGD_EINPUT when a text is not valid UTF-8. */
json_t *remote_inputs(const char *const *texts, const size_t *lens, size_t n, ragd_error *err);

/* Check the JSON array vec and copy it into slot i of res, a result for n
 * vectors. The first vector copied fixes res->dim (and allocates res->vecs);
 * it must equal expect_dim when that is > 0. url names the request in
 * errors. */
ragd_status remote_take_vector(const char *url, const json_t *vec, size_t i, size_t n,
                               int expect_dim, remote_result *res, ragd_error *err);

/* Release res->vecs and reset res. */
void remote_result_clear(remote_result *res);

#endif
