/* provider/ollama.c — Ollama's batch embedding protocol (Ollama >= 0.3).
 *
 *   POST {base}/api/embed  {"model":M,"input":["..",..]}
 *   200  {"model":M,"embeddings":[[..],..],"prompt_eval_count":T,...}
 *   4xx/5xx {"error":"model \"x\" not found, try pulling it first"}
 *
 * Vectors come back in input order. prompt_eval_count is the token count
 * when present; otherwise the embedder estimates it. (The older single-text
 * /api/embeddings endpoint is not used.)
 */
#include "provider/remote.h"

ragd_status ollama_embed_batch(const remote_call *c, const char *const *texts, const size_t *lens,
                               size_t n, remote_result *res, http_stats *st, ragd_error *err)
{
    json_t *body = remote_request_body(c, texts, lens, n, res, err);
    if (!body) return err ? err->code : RAGD_EINPUT;

    json_t *resp = NULL;
    ragd_status rc = http_post_json(c->http, c->endpoint, body, &resp, st, err);
    json_decref(body);
    if (rc != RAGD_OK) return rc;

    json_t *embs = json_object_get(resp, "embeddings");
    if (!json_is_array(embs)) {
        rc = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: reply has no \"embeddings\" array",
                            c->endpoint);
        goto done;
    }
    if (json_array_size(embs) != n) {
        rc = ragd_error_set(err, RAGD_EPROVIDER,
                            "POST %s: server returned %zu vectors for %zu inputs", c->endpoint,
                            json_array_size(embs), n);
        goto done;
    }
    for (size_t i = 0; i < n && rc == RAGD_OK; i++)
        rc =
            remote_take_vector(c->endpoint, json_array_get(embs, i), i, n, c->expect_dim, res, err);
    if (rc == RAGD_OK) {
        json_t *t = json_object_get(resp, "prompt_eval_count");
        if (json_is_integer(t) && json_integer_value(t) >= 0)
            res->tokens = (long)json_integer_value(t);
    }

done:
    json_decref(resp);
    if (rc != RAGD_OK) remote_result_clear(res);
    return rc;
}
