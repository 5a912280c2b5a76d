/* tests/unit_rerank.c — the /rerank client (provider/rerank.h) against the
 * mock model server (tests/mock_server.c) on 127.0.0.1.
 *
 * Request shapes (TEI "texts" without a model, Cohere/Jina "documents" with
 * one, or forced by protocol), both reply shapes mapped back to input order
 * through "index", batching, keyword scores, and every way a reply can be
 * wrong: malformed JSON, an out-of-range or duplicate index, HTTP 500 then
 * success (retried), a hang past the timeout, a refused connection, a
 * missing bearer key. Backoffs are 10 ms; the file runs in about a second.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provider/rerank.h"
#include "tests/mock_server.h"
#include "tests/unit_helpers.h"

static mock_server *start_mock(const char *keyword, const char *key)
{
    mock_config mc;
    memset(&mc, 0, sizeof mc);
    mc.rerank_keyword = keyword;
    mc.api_key = key;
    mock_server *m = mock_server_start(&mc);
    assert_non_null(m);
    return m;
}

static reranker_config cfg_for(int port, const char *path, const char *model, char *buf, size_t sz)
{
    snprintf(buf, sz, "http://127.0.0.1:%d%s", port, path);
    reranker_config c;
    memset(&c, 0, sizeof c);
    c.url = buf;
    c.model = model;
    c.timeout_s = 3;
    c.backoff_base_s = 0.01;
    return c;
}

static ragd_reranker *make(const reranker_config *c)
{
    ragd_reranker *r = NULL;
    ragd_error err;
    ragd_error_clear(&err);
    ragd_status rc = reranker_new(c, &r, &err);
    if (rc) fprintf(stderr, "reranker_new: %s\n", err.msg);
    assert_int_equal(rc, RAGD_OK);
    return r;
}

static const char *TEXTS[] = {"alpha text", "beta text about cats", "gamma", "cats and cats",
                              "delta"};
#define NTEXTS 5

static void test_config_errors(void **state)
{
    (void)state;
    ragd_reranker *r = NULL;
    ragd_error err;
    reranker_config c;
    memset(&c, 0, sizeof c);
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "--reranker-url");
    c.url = "ftp://host";
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "http://");
    c.url = "http://127.0.0.1:1";
    c.protocol = "grpc";
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "tei, cohere");
    c.protocol = "cohere";
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "--reranker-model");
    c.protocol = NULL;
    c.timeout_s = -1;
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_null(r);
    c.timeout_s = 0;
    c.api_key = "bad\nkey";
    assert_int_equal(reranker_new(&c, &r, &err), RAGD_EUSAGE);
    assert_null(r);
    /* Defaults: no model -> tei; a model -> cohere; trailing slashes go. */
    c.api_key = NULL;
    c.url = "http://127.0.0.1:1/v1//";
    r = make(&c);
    assert_string_equal(reranker_protocol(r), "tei");
    assert_null(reranker_model(r));
    assert_string_equal(reranker_endpoint(r), "http://127.0.0.1:1/v1/rerank");
    reranker_free(r);
    c.model = "rerank-v3.5";
    r = make(&c);
    assert_string_equal(reranker_protocol(r), "cohere");
    assert_string_equal(reranker_model(r), "rerank-v3.5");
    reranker_free(r);
    c.protocol = "tei";
    r = make(&c);
    assert_string_equal(reranker_protocol(r), "tei");
    reranker_free(r);
    reranker_free(NULL);
}

static void test_tei_shape(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, NULL);
    char url[128];
    reranker_config c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    rerank_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(reranker_rerank(r, "cats", TEXTS, NTEXTS, s, &u, &err), RAGD_OK);
    /* The mock scores TEI requests i - n (negative, like raw logits) and
     * lists them best first: the client maps them back by index. */
    for (int i = 0; i < NTEXTS; i++)
        assert_true(s[i] == (double)i - NTEXTS);
    char *body = mock_server_last_body(m);
    assert_contains(body, "\"texts\":[\"alpha text\"");
    assert_contains(body, "\"query\":\"cats\"");
    assert_contains(body, "\"truncate\":true");
    assert_null(strstr(body, "documents"));
    assert_null(strstr(body, "model"));
    free(body);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.attempts, 1);
    assert_int_equal(u.texts, NTEXTS);
    /* n = 0 is a no-op: no request. */
    assert_int_equal(reranker_rerank(r, "cats", TEXTS, 0, s, &u, &err), RAGD_OK);
    assert_int_equal(mock_server_requests(m), 1);
    reranker_free(r);
    mock_server_stop(m);
}

static void test_cohere_shape_and_batches(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, NULL);
    char url[128];
    reranker_config c = cfg_for(mock_server_port(m), "/v1", "jina-reranker-v2", url, sizeof url);
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    ragd_error err;
    assert_int_equal(reranker_rerank(r, "cats", TEXTS, NTEXTS, s, NULL, &err), RAGD_OK);
    for (int i = 0; i < NTEXTS; i++)
        assert_true(s[i] == (double)(i + 1) / (NTEXTS + 1));
    char *body = mock_server_last_body(m);
    assert_contains(body, "\"documents\":[\"alpha text\"");
    assert_contains(body, "\"model\":\"jina-reranker-v2\"");
    assert_contains(body, "\"top_n\":5");
    assert_contains(body, "\"return_documents\":false");
    assert_null(strstr(body, "texts"));
    free(body);
    reranker_free(r);

    /* Batches of 2: three requests, each scored on its own; keyword scores
     * from a server that counts "cats". */
    mock_server_stop(m);
    m = start_mock("cats", NULL);
    c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    c.batch_size = 2;
    r = make(&c);
    rerank_usage u;
    memset(&u, 0, sizeof u);
    assert_int_equal(reranker_rerank(r, "cats", TEXTS, NTEXTS, s, &u, &err), RAGD_OK);
    assert_int_equal(mock_server_requests(m), 3);
    assert_int_equal(u.calls, 3);
    assert_int_equal(u.texts, NTEXTS);
    const double want[NTEXTS] = {0, 1, 0, 2, 0};
    for (int i = 0; i < NTEXTS; i++)
        assert_true(s[i] == want[i]);
    reranker_free(r);
    mock_server_stop(m);
}

static void test_malformed_replies(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, NULL);
    char url[128];
    reranker_config c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    ragd_error err;

    /* Not JSON (twice: http.c retries a truncated body once). */
    mock_server_push_n(m, mock_malformed(), 2);
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "invalid JSON");
    assert_contains(err.msg, "/rerank");

    /* Valid JSON with a wrong index: out of range, then a duplicate. */
    mock_server_reset(m);
    mock_server_push(m, mock_bad_index());
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "out of range for 5 texts");
    assert_int_equal(mock_server_requests(m), 1); /* a wrong reply is not retried */

    mock_server_push(m, mock_dup_index());
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "appears twice");

    /* The same checks on the Cohere shape. */
    reranker_free(r);
    c.model = "m";
    r = make(&c);
    mock_server_push(m, mock_bad_index());
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "results[0]: index 8 out of range");
    mock_server_push(m, mock_dup_index());
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "appears twice");

    /* A 4xx from the server (the mock's reply to a request it rejects) is
     * reported with its message and not retried. */
    mock_server_reset(m);
    mock_server_push(m, mock_status(422, "batch size 5 > maximum allowed batch size 4"));
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 422");
    assert_contains(err.msg, "maximum allowed batch size");
    assert_int_equal(mock_server_requests(m), 1);
    reranker_free(r);
    mock_server_stop(m);
}

static void test_500_then_success(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, NULL);
    mock_server_push(m, mock_status(500, "warming up"));
    char url[128];
    reranker_config c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    rerank_usage u;
    memset(&u, 0, sizeof u);
    ragd_error err;
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, &u, &err), RAGD_OK);
    assert_int_equal(u.attempts, 2);
    assert_int_equal(u.retries, 1);
    assert_int_equal(u.calls, 1);
    assert_true(s[4] == -1);

    /* Failing past the retries (default 2): three attempts, then an error. */
    mock_server_reset(m);
    mock_server_set_default(m, mock_status(503, "down"));
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, &u, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 503");
    assert_contains(err.msg, "after 3 attempts");
    assert_int_equal(mock_server_requests(m), 3);
    reranker_free(r);
    mock_server_stop(m);
}

static void test_timeout(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, NULL);
    mock_server_set_default(m, mock_hang(5.0));
    char url[128];
    reranker_config c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    c.timeout_s = 0.3;
    c.max_retries = -1;
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    double dt = now_s() - t0;
    assert_true(dt >= 0.25 && dt < 2.0);
    assert_contains(err.msg, "timed out");
    reranker_free(r);
    mock_server_stop(m);
}

static void test_refused_and_key(void **state)
{
    (void)state;
    char url[128];
    reranker_config c = cfg_for(free_port(), "", NULL, url, sizeof url);
    ragd_reranker *r = make(&c);
    double s[NTEXTS];
    ragd_error err;
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "connection refused");
    reranker_free(r);

    mock_server *m = start_mock(NULL, "sekret");
    c = cfg_for(mock_server_port(m), "", NULL, url, sizeof url);
    r = make(&c);
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 401");
    reranker_free(r);
    c.api_key = "sekret";
    r = make(&c);
    assert_int_equal(reranker_rerank(r, "q", TEXTS, NTEXTS, s, NULL, &err), RAGD_OK);
    reranker_free(r);

    /* Invalid UTF-8 is the caller's input error, caught before sending. */
    const char *bad[] = {"ok", "\xff\xfe"};
    r = make(&c);
    assert_int_equal(reranker_rerank(r, "q", bad, 2, s, NULL, &err), RAGD_EINPUT);
    assert_int_equal(reranker_rerank(r, "\xc3", TEXTS, 1, s, NULL, &err), RAGD_EINPUT);
    reranker_free(r);
    mock_server_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_tei_shape),
        cmocka_unit_test(test_cohere_shape_and_batches),
        cmocka_unit_test(test_malformed_replies),
        cmocka_unit_test(test_500_then_success),
        cmocka_unit_test(test_timeout),
        cmocka_unit_test(test_refused_and_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
