/* provider/remote.c — helpers shared by the OpenAI and Ollama protocols.
 * See remote.h. Vectors are validated as they are copied so that a bad
 * reply is reported precisely (which vector, what length) and never
 * truncated or padded to fit. */
#include "provider/remote.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

json_t *remote_inputs(const char *const *texts, const size_t *lens, size_t n, ragd_error *err)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *t = texts[i] ? texts[i] : "";
        size_t l = !texts[i] ? 0 : lens ? lens[i] : strlen(t);
        json_t *s = json_stringn(t, l);
        if (!s) {
            json_decref(arr);
            ragd_error_set(err, RAGD_EINPUT, "text %zu to embed is not valid UTF-8", i);
            return NULL;
        }
        json_array_append_new(arr, s);
    }
    return arr;
}

ragd_status remote_take_vector(const char *url, const json_t *vec, size_t i, size_t n,
                               int expect_dim, remote_result *res, ragd_error *err)
{
    if (!json_is_array(vec))
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "POST %s: embedding %zu is not an array of numbers", url, i);
    size_t len = json_array_size(vec);
    if (len == 0)
        return ragd_error_set(err, RAGD_EPROVIDER, "POST %s: server returned an empty vector", url);
    if (len > (1u << 20))
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "POST %s: server returned %zu-d vectors, too large", url, len);
    if (!res->vecs) {
        if (expect_dim > 0 && (size_t)expect_dim != len)
            return ragd_error_set(err, RAGD_EPROVIDER,
                                  "POST %s: server returned %zu-d vectors, expected %d", url, len,
                                  expect_dim);
        res->dim = (int)len;
        res->vecs = ragd_xcalloc(n * len, sizeof *res->vecs);
    } else if (len != (size_t)res->dim) {
        return ragd_error_set(err, RAGD_EPROVIDER,
                              "POST %s: server returned vectors of different lengths (%d and %zu)",
                              url, res->dim, len);
    }
    float *dst = res->vecs + i * len;
    for (size_t k = 0; k < len; k++) {
        json_t *x = json_array_get(vec, k);
        if (!json_is_number(x))
            return ragd_error_set(err, RAGD_EPROVIDER,
                                  "POST %s: embedding %zu has a non-number at position %zu", url, i,
                                  k);
        double v = json_number_value(x);
        if (!isfinite(v) || fabs(v) > 3.0e38)
            return ragd_error_set(
                err, RAGD_EPROVIDER,
                "POST %s: embedding %zu has an out-of-range value at position %zu", url, i, k);
        dst[k] = (float)v;
    }
    return RAGD_OK;
}

void remote_result_clear(remote_result *res)
{
    free(res->vecs);
    res->vecs = NULL;
    res->dim = 0;
    res->tokens = -1;
}

json_t *remote_request_body(const remote_call *c, const char *const *texts, const size_t *lens,
                            size_t n, remote_result *res, ragd_error *err)
{
    res->vecs = NULL;
    res->dim = 0;
    res->tokens = -1;
    json_t *input = remote_inputs(texts, lens, n, err);
    if (!input) return NULL;
    json_t *body = json_object();
    json_object_set_new(body, "model", json_string(c->model ? c->model : ""));
    json_object_set_new(body, "input", input);
    return body;
}
