/* fuzz/fuzz_embed_reply.c — the embedding reply parsers (provider/openai.c,
 * provider/ollama.c, through embedder_embed and the real HTTP client).
 *
 * Input: byte 0 the HTTP status (reply_server_status), byte 1 the protocol
 * (bit 0: openai / ollama), the expected dimension (bits 1-3: 0 = learn it
 * from the reply, else 1..7) and the number of texts (bits 4-5: 1..4); the
 * rest is the reply body. No retries. Properties: RAGD_OK only with n
 * finite vectors of the expected (or learned, positive) dimension;
 * otherwise RAGD_EPROVIDER with a message, never a crash or a hang.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/reply_server.h"
#include "provider/provider.h"

static int g_port;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    g_port = reply_server_start();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    reply_server_set(reply_server_status(data[0]), (const char *)data + 2, size - 2);
    int ollama = data[1] & 1, dim = (data[1] >> 1) & 7;
    size_t n = 1 + ((data[1] >> 4) & 3);
    char url[64];
    snprintf(url, sizeof url, ollama ? "http://127.0.0.1:%d" : "http://127.0.0.1:%d/v1", g_port);
    embedder_config cfg = {.kind = ollama ? "ollama" : "openai",
                           .url = url,
                           .model = "m",
                           .dim = dim,
                           .timeout_s = 5,
                           .max_retries = -1};
    ragd_embedder *e = NULL;
    ragd_error err = {0};
    FUZZ_CHECK(embedder_new(&cfg, &e, &err) == RAGD_OK);
    const char *texts[4] = {"alpha", "beta gamma", "δέλτα", "e"};
    float *out = calloc(n * 8 > 0 ? n * 8 : 1, sizeof *out);
    ragd_status rc = dim ? RAGD_OK : embedder_probe_dim(e, NULL, &err);
    if (rc == RAGD_OK) {
        int d = embedder_dim(e);
        FUZZ_CHECK(d > 0 && (!dim || d == dim));
        if (d <= 8) {
            rc = embedder_embed(e, texts, NULL, n, out, NULL, &err);
            if (rc == RAGD_OK)
                for (size_t i = 0; i < n * (size_t)d; i++)
                    FUZZ_CHECK(isfinite(out[i]));
        }
    }
    if (rc != RAGD_OK) FUZZ_CHECK(rc == RAGD_EPROVIDER && err.msg[0]);
    free(out);
    embedder_free(e);
    return 0;
}
