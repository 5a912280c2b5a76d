/* fuzz/fuzz_rerank_reply.c — the rerank reply parser (provider/rerank.c
 * parse_reply, through reranker_rerank and the real HTTP client).
 *
 * Input: byte 0 the HTTP status (reply_server_status), byte 1 the protocol
 * (bit 0: tei / cohere) and the number of texts (bits 1-2: 1..4); the rest
 * is the reply body. No retries. Properties: RAGD_OK only with a finite
 * score for every text; otherwise RAGD_EPROVIDER with a message.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "fuzz/reply_server.h"
#include "provider/rerank.h"

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
    size_t n = 1 + ((data[1] >> 1) & 3);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", g_port);
    reranker_config cfg = {.url = url,
                           .model = "m",
                           .protocol = data[1] & 1 ? "cohere" : "tei",
                           .timeout_s = 5,
                           .max_retries = -1};
    ragd_reranker *r = NULL;
    ragd_error err = {0};
    FUZZ_CHECK(reranker_new(&cfg, &r, &err) == RAGD_OK);
    const char *texts[4] = {"one", "two", "three", "four"};
    double scores[4];
    ragd_status rc = reranker_rerank(r, "query", texts, n, scores, NULL, &err);
    if (rc == RAGD_OK)
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(isfinite(scores[i]));
    else
        FUZZ_CHECK(rc == RAGD_EPROVIDER && err.msg[0]);
    reranker_free(r);
    return 0;
}
