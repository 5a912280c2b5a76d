/* provider/openai.c — the OpenAI embeddings protocol.
 *
 *   POST {base}/embeddings  {"model":M,"input":["..",..](,"dimensions":D)}
 *   200  {"data":[{"index":i,"embedding":[..]},..],
 *         "usage":{"prompt_tokens":T,"total_tokens":T}}
 *
 * Spoken by OpenAI and by most self-hosted servers (llama.cpp, vLLM, TEI,
 * LM Studio). Vectors are placed by their "index" (servers may answer out of
 * order), falling back to array position when "index" is absent. The reply
 * must hold exactly one vector per input. Floats are requested implicitly
 * (no "encoding_format": some servers reject the field); a base64 string in
 * place of an array is reported as an error.
 */
#include <stdlib.h>

#include "core/buf.h"
#include "provider/remote.h"

static long usage_tokens(const json_t *resp)
{
    json_t *u = json_object_get(resp, "usage");
    json_t *t = json_object_get(u, "prompt_tokens");
    if (!json_is_integer(t)) t = json_object_get(u, "total_tokens");
    if (!json_is_integer(t) || json_integer_value(t) < 0) return -1;
    return (long)json_integer_value(t);
}

ragd_status openai_embed_batch(const remote_call *c, const char *const *texts, const size_t *lens,
                               size_t n, remote_result *res, http_stats *st, ragd_error *err)
{
    json_t *body = remote_request_body(c, texts, lens, n, res, err);
    if (!body) return err ? err->code : RAGD_EINPUT;
    if (c->send_dim > 0) json_object_set_new(body, "dimensions", json_integer(c->send_dim));

    json_t *resp = NULL;
    ragd_status rc = http_post_json(c->http, c->endpoint, body, &resp, st, err);
    json_decref(body);
    if (rc != RAGD_OK) return rc;

    json_t *data = json_object_get(resp, "data");
    unsigned char *seen = NULL;
    if (!json_is_array(data)) {
        rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: reply has no \"data\" array",
                            c->endpoint);
        goto done;
    }
    if (json_array_size(data) != n) {
        rc = ragd_error_set(err, RAGD_EPROVIDER,
                            "POST %s: server returned %zu vectors for %zu inputs", c->endpoint,
                            json_array_size(data), n);
        goto done;
    }
    seen = ragd_xcalloc(n ? n : 1, 1);
    for (size_t k = 0; k < n; k++) {
        json_t *item = json_array_get(data, k);
        json_t *ix = json_object_get(item, "index");
        size_t idx = k;
        if (ix) {
            if (!json_is_integer(ix) || json_integer_value(ix) < 0 ||
                (size_t)json_integer_value(ix) >= n || seen[json_integer_value(ix)]) {
                rc = ragd_error_set(err, RAGD_EPROVIDER,
                                    "POST %s: data[%zu] has a bad or duplicate \"index\"",
                                    c->endpoint, k);
                goto done;
            }
            idx = (size_t)json_integer_value(ix);
        } else if (seen[idx]) {
            rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: data[%zu] has no \"index\"",
                                c->endpoint, k);
            goto done;
        }
        seen[idx] = 1;
        rc = remote_take_vector(c->endpoint, json_object_get(item, "embedding"), idx, n,
                                c->expect_dim, res, err);
        if (rc != RAGD_OK) goto done;
    }
    res->tokens = usage_tokens(resp);

done:
    free(seen);
    json_decref(resp);
    if (rc != RAGD_OK) remote_result_clear(res);
    return rc;
}
