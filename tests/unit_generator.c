/* tests/unit_generator.c — the chat completion client (provider/generator.h)
 * against the mock model server (tests/mock_server.c) on 127.0.0.1.
 *
 * Both request shapes (OpenAI /chat/completions, Ollama /api/chat) as the
 * server receives them, replies and usage, estimated usage when the server
 * sends none, HTTP 500 then success (retried), 429 with Retry-After (the
 * wait is honoured), malformed JSON, a reply without content, a hang past
 * the timeout, a refused connection, a missing bearer key, config errors
 * naming the option to fix, and a clone used on another thread. Backoffs
 * are 10 ms; the file runs in about 3 seconds (one 1 s Retry-After).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "provider/generator.h"
#include "tests/mock_server.h"
#include "tests/unit_helpers.h"

static mock_server *start_mock(const char *key, int no_usage)
{
    mock_config mc;
    memset(&mc, 0, sizeof mc);
    mc.api_key = key;
    mc.no_usage = no_usage;
    mock_server *m = mock_server_start(&mc);
    assert_non_null(m);
    return m;
}

static generator_config cfg_for(const char *kind, int port, const char *path, char *buf, size_t sz)
{
    snprintf(buf, sz, "http://127.0.0.1:%d%s", port, path);
    generator_config c;
    memset(&c, 0, sizeof c);
    c.kind = kind;
    c.url = buf;
    c.model = "mock-chat";
    c.timeout_s = 3;
    c.backoff_base_s = 0.01;
    return c;
}

static ragd_generator *make(const generator_config *c)
{
    ragd_generator *g = NULL;
    ragd_error err;
    ragd_error_clear(&err);
    ragd_status rc = generator_new(c, &g, &err);
    if (rc) fprintf(stderr, "generator_new: %s\n", err.msg);
    assert_int_equal(rc, RAGD_OK);
    return g;
}

static const char *SYS = "You summarize documents.";
static const char *USER = "Title: Aquarium care\n\nThe nitrogen cycle converts ammonia to nitrate.";

static void test_config_errors(void **state)
{
    (void)state;
    ragd_generator *g = NULL;
    ragd_error err;
    generator_config c;
    memset(&c, 0, sizeof c);
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "--generator");
    c.kind = "extractive";
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "openai, ollama");
    c.kind = "openai";
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "--generator-url");
    c.url = "ftp://host";
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "http://");
    c.url = "http://127.0.0.1:1/v1";
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_contains(err.msg, "--generator-model");
    c.model = "m";
    c.timeout_s = -1;
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    c.timeout_s = 0;
    c.api_key = "a\nb";
    assert_int_equal(generator_new(&c, &g, &err), RAGD_EUSAGE);
    assert_null(g);
    c.api_key = NULL;
    c.url = "http://127.0.0.1:1/v1///";
    g = make(&c);
    assert_string_equal(generator_endpoint(g), "http://127.0.0.1:1/v1/chat/completions");
    assert_string_equal(generator_kind(g), "openai");
    assert_string_equal(generator_model(g), "m");
    char *t = NULL;
    assert_int_equal(generator_complete(g, SYS, USER, 0, &t, NULL, &err), RAGD_EINPUT);
    assert_int_equal(generator_complete(g, "\xff", USER, 10, &t, NULL, &err), RAGD_EINPUT);
    assert_int_equal(generator_complete(g, SYS, "\xc3", 10, &t, NULL, &err), RAGD_EINPUT);
    assert_null(t);
    generator_free(g);
    generator_free(NULL);
}

static void test_openai_shape(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, 0);
    char url[128];
    generator_config c = cfg_for("openai", mock_server_port(m), "/v1/", url, sizeof url);
    ragd_generator *g = make(&c);
    gen_usage u;
    memset(&u, 0, sizeof u);
    char *t = NULL;
    ragd_error err;
    assert_int_equal(generator_complete(g, SYS, USER, 120, &t, &u, &err), RAGD_OK);
    assert_string_equal(t, "Summary of: Title: Aquarium care The nitrogen cycle converts ammonia");
    free(t);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.attempts, 1);
    assert_int_equal(u.failures, 0);
    assert_int_equal(u.estimated, 0);
    assert_true(u.prompt_tokens > 5 && u.completion_tokens > 5);

    char *body = mock_server_last_body(m);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "model")), "mock-chat");
    assert_int_equal(json_integer_value(json_object_get(j, "max_tokens")), 120);
    assert_true(json_is_integer(json_object_get(j, "temperature")) &&
                json_integer_value(json_object_get(j, "temperature")) == 0);
    json_t *msgs = json_object_get(j, "messages");
    assert_int_equal(json_array_size(msgs), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "role")),
                        "system");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "content")),
                        SYS);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 1), "role")),
                        "user");
    assert_null(json_object_get(j, "stream"));
    json_decref(j);

    /* No system message: only the user's. */
    assert_int_equal(generator_complete(g, NULL, "hello there", 5, &t, &u, &err), RAGD_OK);
    assert_string_equal(t, "Summary of: hello there");
    free(t);
    body = mock_server_last_body(m);
    j = json_loads(body, 0, NULL);
    free(body);
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 1);
    json_decref(j);
    generator_free(g);
    mock_server_stop(m);
}

static void test_ollama_shape_and_estimates(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, 0);
    char url[128];
    generator_config c = cfg_for("ollama", mock_server_port(m), "", url, sizeof url);
    c.cost_per_1k = 2.0;
    ragd_generator *g = make(&c);
    assert_contains(generator_endpoint(g), "/api/chat");
    gen_usage u;
    memset(&u, 0, sizeof u);
    char *t = NULL;
    ragd_error err;
    assert_int_equal(generator_complete(g, SYS, USER, 64, &t, &u, &err), RAGD_OK);
    assert_string_equal(t, "Summary of: Title: Aquarium care The nitrogen cycle converts ammonia");
    free(t);
    assert_int_equal(u.calls, 1);
    assert_int_equal(u.estimated, 0);
    assert_true(u.prompt_tokens > 5 && u.completion_tokens > 5);
    assert_true(u.cost > 0);
    char *body = mock_server_last_body(m);
    json_t *j = json_loads(body, 0, NULL);
    free(body);
    assert_true(json_is_false(json_object_get(j, "stream")));
    json_t *o = json_object_get(j, "options");
    assert_int_equal(json_integer_value(json_object_get(o, "num_predict")), 64);
    assert_int_equal(json_integer_value(json_object_get(o, "temperature")), 0);
    assert_null(json_object_get(j, "max_tokens"));
    assert_int_equal(json_array_size(json_object_get(j, "messages")), 2);
    json_decref(j);
    generator_free(g);
    mock_server_stop(m);

    /* A server without usage fields: counts are estimated and said to be. */
    m = start_mock(NULL, 1);
    c = cfg_for("openai", mock_server_port(m), "/v1", url, sizeof url);
    g = make(&c);
    memset(&u, 0, sizeof u);
    assert_int_equal(generator_complete(g, SYS, USER, 64, &t, &u, &err), RAGD_OK);
    free(t);
    assert_int_equal(u.estimated, 1);
    assert_true(u.prompt_tokens > 5 && u.completion_tokens > 5);
    generator_free(g);
    mock_server_stop(m);
}

static void test_500_then_success_and_429(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, 0);
    char url[128];
    generator_config c = cfg_for("openai", mock_server_port(m), "/v1", url, sizeof url);
    ragd_generator *g = make(&c);
    gen_usage u;
    memset(&u, 0, sizeof u);
    char *t = NULL;
    ragd_error err;
    mock_server_push_n(m, mock_status(500, "overloaded"), 2);
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_OK);
    assert_non_null(t);
    free(t);
    assert_int_equal(u.attempts, 3);
    assert_int_equal(u.retries, 2);
    assert_int_equal(u.calls, 1);
    assert_int_equal(mock_server_requests(m), 3);

    /* 429 with Retry-After: 1 — the client waits at least a second. */
    mock_server_push(m, mock_retry_after(429, 1, 0));
    double t0 = now_s();
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_OK);
    assert_true(now_s() - t0 >= 0.95);
    free(t);
    assert_int_equal(u.retries, 3);

    /* Retries run out: the error says how many attempts and the server's
     * message. */
    mock_server_push_n(m, mock_status(503, "model loading"), 3);
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_EPROVIDER);
    assert_null(t);
    assert_contains(err.msg, "HTTP 503");
    assert_contains(err.msg, "after 3 attempts");
    assert_contains(err.msg, "model loading");
    assert_int_equal(u.failures, 1);

    /* A 4xx is not retried (Ollama's error shape). */
    mock_server_reset(m);
    generator_free(g);
    c = cfg_for("ollama", mock_server_port(m), "", url, sizeof url);
    g = make(&c);
    mock_server_push(m, mock_status(404, "model \"x\" not found, try pulling it first"));
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 404");
    assert_contains(err.msg, "try pulling it first");
    assert_int_equal(mock_server_requests(m), 1);
    generator_free(g);
    mock_server_stop(m);
}

static void test_malformed_and_no_content(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, 0);
    char url[128];
    const char *kinds[] = {"openai", "ollama"};
    for (int k = 0; k < 2; k++) {
        generator_config c =
            cfg_for(kinds[k], mock_server_port(m), k ? "" : "/v1", url, sizeof url);
        ragd_generator *g = make(&c);
        gen_usage u;
        memset(&u, 0, sizeof u);
        char *t = NULL;
        ragd_error err;
        /* Non-JSON is retried once, then reported. */
        mock_server_push_n(m, mock_malformed(), 2);
        assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_EPROVIDER);
        assert_contains(err.msg, "invalid JSON");
        assert_null(t);
        mock_server_push(m, mock_no_content());
        assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_EPROVIDER);
        assert_contains(err.msg, "no content");
        assert_contains(err.msg, k ? "/api/chat" : "/chat/completions");
        assert_null(t);
        assert_int_equal(u.failures, 2);
        assert_int_equal(u.calls, 0);
        generator_free(g);
    }
    mock_server_stop(m);
}

static void test_timeout_and_refused(void **state)
{
    (void)state;
    mock_server *m = start_mock(NULL, 0);
    mock_server_set_default(m, mock_hang(5.0));
    char url[128];
    generator_config c = cfg_for("openai", mock_server_port(m), "/v1", url, sizeof url);
    c.timeout_s = 0.3;
    c.max_retries = -1;
    ragd_generator *g = make(&c);
    char *t = NULL;
    ragd_error err;
    double t0 = now_s();
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, NULL, &err), RAGD_EPROVIDER);
    double dt = now_s() - t0;
    assert_true(dt >= 0.25 && dt < 2.0);
    assert_contains(err.msg, "timed out");
    generator_free(g);
    mock_server_stop(m);

    c = cfg_for("ollama", free_port(), "", url, sizeof url);
    g = make(&c);
    gen_usage u;
    memset(&u, 0, sizeof u);
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, &u, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "connection refused");
    assert_contains(err.msg, "after 3 attempts");
    assert_int_equal(u.failures, 1);
    generator_free(g);

    m = start_mock("sekret", 0);
    c = cfg_for("openai", mock_server_port(m), "/v1", url, sizeof url);
    g = make(&c);
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, NULL, &err), RAGD_EPROVIDER);
    assert_contains(err.msg, "HTTP 401");
    generator_free(g);
    c.api_key = "sekret";
    g = make(&c);
    assert_int_equal(generator_complete(g, SYS, USER, 50, &t, NULL, &err), RAGD_OK);
    free(t);
    generator_free(g);
    mock_server_stop(m);
}

typedef struct {
    ragd_generator *g;
    int ok;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    a->ok = 1;
    for (int i = 0; i < 5; i++) {
        char *t = NULL;
        ragd_error err;
        if (generator_complete(a->g, SYS, USER, 20, &t, NULL, &err) != RAGD_OK) a->ok = 0;
        free(t);
    }
    return NULL;
}

static void test_clone_on_threads(void **state)
{
    (void)state;
    mock_server *m = start_mock("k", 0);
    char url[128];
    generator_config c = cfg_for("ollama", mock_server_port(m), "", url, sizeof url);
    c.api_key = "k";
    ragd_generator *g = make(&c);
    thread_arg a[3];
    pthread_t th[3];
    ragd_error err;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(generator_clone(g, &a[i].g, &err), RAGD_OK);
        assert_string_equal(generator_endpoint(a[i].g), generator_endpoint(g));
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &a[i]), 0);
    }
    thread_arg self = {g, 0};
    thread_main(&self);
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_true(a[i].ok);
        generator_free(a[i].g);
    }
    assert_true(self.ok);
    assert_int_equal(mock_server_requests(m), 20);
    generator_free(g);
    mock_server_stop(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_openai_shape),
        cmocka_unit_test(test_ollama_shape_and_estimates),
        cmocka_unit_test(test_500_then_success_and_429),
        cmocka_unit_test(test_malformed_and_no_content),
        cmocka_unit_test(test_timeout_and_refused),
        cmocka_unit_test(test_clone_on_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
