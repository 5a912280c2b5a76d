/* fuzz/fuzz_chat_reply.c — the chat completion reply parser
 * (provider/generator.c read_reply, through generator_complete and the real
 * HTTP client).
 *
 * Input: byte 0 the HTTP status (reply_server_status), byte 1 bit 0 the
 * protocol (openai / ollama); the rest is the reply body. No retries.
 * Properties (provider/generator.h): RAGD_OK only with a non-empty text
 * that is valid UTF-8, has no NUL and is at most GENERATOR_MAX_TEXT bytes,
 * and sane usage counts; otherwise RAGD_EPROVIDER with a message.
 */
#include <stdio.h>
#include <string.h>

#include "core/text.h"
#include "fuzz/fuzz.h"
#include "fuzz/reply_server.h"
#include "provider/generator.h"

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
    int ollama = data[1] & 1;
    char url[64];
    snprintf(url, sizeof url, ollama ? "http://127.0.0.1:%d" : "http://127.0.0.1:%d/v1", g_port);
    generator_config cfg = {.kind = ollama ? "ollama" : "openai",
                            .url = url,
                            .model = "m",
                            .timeout_s = 5,
                            .max_retries = -1};
    ragd_generator *g = NULL;
    ragd_error err = {0};
    FUZZ_CHECK(generator_new(&cfg, &g, &err) == RAGD_OK);
    char *text = NULL;
    gen_usage u = {0};
    ragd_status rc = generator_complete(g, "system", "a question", 64, &text, &u, &err);
    if (rc == RAGD_OK) {
        size_t n = strlen(text);
        FUZZ_CHECK(n > 0 && n <= GENERATOR_MAX_TEXT && text_utf8_check(text, n, NULL, NULL));
        FUZZ_CHECK(u.calls == 1 && u.prompt_tokens >= 0 && u.completion_tokens >= 0);
    } else {
        FUZZ_CHECK(rc == RAGD_EPROVIDER && err.msg[0] && text == NULL && u.failures == 1);
    }
    free(text);
    generator_free(g);
    return 0;
}
