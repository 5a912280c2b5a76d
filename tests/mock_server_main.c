/* tests/mock_server_main.c — mock_model_server: the mock model server
 * (tests/mock_server.c) as a standalone process, for integration tests that
 * drive build/ragd against a "remote" embedder.
 *
 * It prints the bound port on the first line of stdout (then flushes), serves
 * until SIGTERM or SIGINT, and on exit prints "requests: N" to stderr. The
 * path of the executable reaches tests in the env var RAGD_MOCK_SERVER.
 *
 *   mock_model_server [--port P] [--dim D] [--key K] [--reverse] [--no-usage]
 *                     [--rerank-keyword W] [--fail-first N]
 *                     (--status S [--retry-after SEC [--retry-after-date]] [--message M]
 *                      | --hang SEC | --malformed | --no-content | --wrong-dim D)
 *
 * A failure option applies to the first N requests with --fail-first N, and
 * to every request without it. Example: `--fail-first 2 --status 500` fails
 * twice, then answers normally. Chat routes (/chat/completions, /api/chat)
 * answer "Summary of: <first 8 words of the user message>"; --no-content
 * leaves the reply message's content out.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/mock_server.h"

static void usage(FILE *f)
{
    fputs("usage: mock_model_server [--port P] [--dim D] [--key K] [--reverse] [--no-usage]\n"
          "         [--rerank-keyword W] [--fail-first N]\n"
          "         (--status S [--retry-after SEC [--retry-after-date]] [--message M]\n"
          "          | --hang SEC | --malformed | --no-content | --wrong-dim D)\n",
          f);
}

static int need(int i, int argc, const char *opt)
{
    if (i + 1 >= argc) {
        fprintf(stderr, "mock_model_server: %s needs a value\n", opt);
        usage(stderr);
        exit(2);
    }
    return i + 1;
}

int main(int argc, char **argv)
{
    mock_config cfg;
    memset(&cfg, 0, sizeof cfg);
    mock_behavior fail = {MOCK_OK, 0, -1, 0, NULL, 0, 0};
    int fail_first = -1, have_failure = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--port"))
            cfg.port = atoi(argv[i = need(i, argc, a)]);
        else if (!strcmp(a, "--dim"))
            cfg.dim = atoi(argv[i = need(i, argc, a)]);
        else if (!strcmp(a, "--key"))
            cfg.api_key = argv[i = need(i, argc, a)];
        else if (!strcmp(a, "--reverse"))
            cfg.reverse = 1;
        else if (!strcmp(a, "--no-usage"))
            cfg.no_usage = 1;
        else if (!strcmp(a, "--rerank-keyword"))
            cfg.rerank_keyword = argv[i = need(i, argc, a)];
        else if (!strcmp(a, "--fail-first"))
            fail_first = atoi(argv[i = need(i, argc, a)]);
        else if (!strcmp(a, "--status")) {
            fail.action = MOCK_STATUS;
            fail.status = atoi(argv[i = need(i, argc, a)]);
            have_failure = 1;
        } else if (!strcmp(a, "--retry-after"))
            fail.retry_after = atoi(argv[i = need(i, argc, a)]);
        else if (!strcmp(a, "--retry-after-date"))
            fail.retry_after_date = 1;
        else if (!strcmp(a, "--message"))
            fail.message = argv[i = need(i, argc, a)];
        else if (!strcmp(a, "--hang")) {
            fail.action = MOCK_HANG;
            fail.hang_s = atof(argv[i = need(i, argc, a)]);
            have_failure = 1;
        } else if (!strcmp(a, "--malformed")) {
            fail.action = MOCK_MALFORMED;
            have_failure = 1;
        } else if (!strcmp(a, "--no-content")) {
            fail.action = MOCK_NO_CONTENT;
            have_failure = 1;
        } else if (!strcmp(a, "--wrong-dim")) {
            fail.action = MOCK_WRONG_DIM;
            fail.dim = atoi(argv[i = need(i, argc, a)]);
            have_failure = 1;
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "mock_model_server: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        }
    }
    if (fail.action == MOCK_STATUS && (fail.status < 100 || fail.status > 599)) {
        fprintf(stderr, "mock_model_server: --status must be 100..599\n");
        return 2;
    }

    /* Block the stop signals before any server thread exists, so that they
     * inherit the mask and sigwait below receives them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    mock_server *m = mock_server_start(&cfg);
    if (!m) return 1;
    if (have_failure) {
        if (fail_first >= 0)
            mock_server_push_n(m, fail, fail_first);
        else
            mock_server_set_default(m, fail);
    }
    printf("%d\n", mock_server_port(m));
    fflush(stdout);

    int sig = 0;
    sigwait(&set, &sig);
    long n = mock_server_requests(m);
    mock_server_stop(m);
    fprintf(stderr, "requests: %ld\n", n);
    return 0;
}
