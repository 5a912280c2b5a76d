/* tests/unit_stream.c — the streamed chat completion parsers
 * (provider/stream.h) and generator_stream against the mock model server.
 *
 * Every well-formed stream is fed whole, byte by byte, and split in two at
 * every byte position (inside "\r\n", inside a multi-byte UTF-8 character,
 * inside "[DONE]"), and must give the same tokens, text, token counts and
 * finish reason each time. Malformed input (a line that is not JSON, a
 * chunk that is not an object, a content that is not a string, an error
 * event, a stream cut before its end marker, an oversized line) must give
 * RAGD_EPROVIDER with a message, never a crash. The mock server streams
 * both protocols; the streamed text equals the non-streamed one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "provider/generator.h"
#include "provider/stream.h"
#include "tests/mock_server.h"

typedef struct {
    ragd_buf joined; /* tokens joined with '|' */
    int stop_after;  /* stop at this token (0 = never) */
    int n;
} tokens;

static int on_token(void *user, const char *t, size_t n)
{
    tokens *k = user;
    if (k->joined.len) ragd_buf_putc(&k->joined, '|');
    ragd_buf_append(&k->joined, t, n);
    k->n++;
    return k->stop_after && k->n >= k->stop_after;
}

typedef struct {
    ragd_status feed, finish;
    char *text, *joined;
    long ptok, ctok;
    char finish_reason[32];
    char msg[RAGD_ERROR_MAX];
} outcome;

static void outcome_free(outcome *o)
{
    free(o->text);
    free(o->joined);
}

/* Feed in pieces of `step` bytes (0: one split at `split`). */
static outcome run(gen_stream_format fmt, const char *in, size_t step, size_t split)
{
    gen_stream s;
    tokens k = {RAGD_BUF_INIT, 0, 0};
    gen_stream_init(&s, fmt, on_token, &k);
    outcome o;
    memset(&o, 0, sizeof o);
    ragd_error err;
    ragd_error_clear(&err);
    size_t n = strlen(in);
    if (step) {
        for (size_t i = 0; i < n && !o.feed; i += step)
            o.feed = gen_stream_feed(&s, in + i, i + step <= n ? step : n - i, &err);
    } else {
        o.feed = gen_stream_feed(&s, in, split, &err);
        if (!o.feed) o.feed = gen_stream_feed(&s, in + split, n - split, &err);
    }
    if (!o.feed) o.finish = gen_stream_finish(&s, &err);
    snprintf(o.msg, sizeof o.msg, "%s", err.msg);
    o.text = gen_stream_take_text(&s);
    o.joined = k.joined.data ? ragd_buf_steal(&k.joined) : ragd_xstrdup("");
    o.ptok = s.ptok;
    o.ctok = s.ctok;
    snprintf(o.finish_reason, sizeof o.finish_reason, "%s", s.finish);
    gen_stream_free(&s);
    return o;
}

/* The stream parses to text/joined/ptok/ctok at every split. */
static void expect_everywhere(gen_stream_format fmt, const char *in, const char *text,
                              const char *joined, long ptok, long ctok, const char *finish)
{
    size_t n = strlen(in);
    for (size_t mode = 0; mode <= n + 1; mode++) {
        /* mode 0: whole; 1: byte by byte; 2..n+1: split at mode-1 */
        outcome o = mode == 0   ? run(fmt, in, n ? n : 1, 0)
                    : mode == 1 ? run(fmt, in, 1, 0)
                                : run(fmt, in, 0, mode - 1);
        if (o.feed || o.finish) fail_msg("mode %zu: %s", mode, o.msg);
        assert_string_equal(o.text, text);
        assert_string_equal(o.joined, joined);
        assert_int_equal(o.ptok, ptok);
        assert_int_equal(o.ctok, ctok);
        assert_string_equal(o.finish_reason, finish);
        outcome_free(&o);
    }
}

/* The stream fails (at feed or finish) at every split, with msg_part in
 * the message. */
static void expect_error_everywhere(gen_stream_format fmt, const char *in, const char *msg_part)
{
    size_t n = strlen(in);
    for (size_t mode = 0; mode <= n + 1; mode++) {
        outcome o = mode == 0   ? run(fmt, in, n ? n : 1, 0)
                    : mode == 1 ? run(fmt, in, 1, 0)
                                : run(fmt, in, 0, mode - 1);
        if (!o.feed && !o.finish) fail_msg("mode %zu: no error for %s", mode, in);
        if (!strstr(o.msg, msg_part)) fail_msg("mode %zu: '%s' lacks '%s'", mode, o.msg, msg_part);
        outcome_free(&o);
    }
}

#define CHUNK(c) "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" c "\"}}]}\n\n"

static void test_sse_tokens_any_split(void **state)
{
    (void)state;
    const char *in =
        ": keep-alive\n\n"
        "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\n\n" CHUNK(
            "The tower") "event: message\r\nid: 7\r\n" CHUNK(" is 38 m") ": ping\r\n\r\n"
                                                                         "data: "
                                                                         "{\"choices\":[{\"index\":"
                                                                         "0,\"delta\":{\"content\":"
                                                                         "\" tall "
                                                                         "\\u00e9\xe2\x80\x94[1]."
                                                                         "\"},\"finish_reason\":"
                                                                         "null}]}\r\r"
                                                                         "data: "
                                                                         "{\"choices\":[{\"index\":"
                                                                         "0,\"delta\":{},\"finish_"
                                                                         "reason\":\"stop\"}]}\n\n"
                                                                         "data: "
                                                                         "{\"choices\":[],"
                                                                         "\"usage\":{\"prompt_"
                                                                         "tokens\":100,"
                                                                         "\"completion_tokens\":"
                                                                         "20}}\n\n"
                                                                         "data: [DONE]\n\n";
    expect_everywhere(GEN_STREAM_SSE, in, "The tower is 38 m tall \xc3\xa9\xe2\x80\x94[1].",
                      "The tower| is 38 m| tall \xc3\xa9\xe2\x80\x94[1].", 100, 20, "stop");
}

static void test_sse_multiline_data_and_no_final_blank(void **state)
{
    (void)state;
    /* Two data lines make one event (joined by '\n': valid JSON white space);
     * the last event has no blank line and no [DONE], but a finish_reason. */
    const char *in = "data: {\"choices\":[{\"delta\":\ndata: {\"content\":\"Hi\"}}]}\n\n"
                     "data:{\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":"
                     "\"length\"}]}";
    expect_everywhere(GEN_STREAM_SSE, in, "Hi!", "Hi|!", -1, -1, "length");
}

static void test_sse_errors(void **state)
{
    (void)state;
    expect_error_everywhere(GEN_STREAM_SSE, CHUNK("a") "data: {not json\n\n", "not JSON");
    expect_error_everywhere(GEN_STREAM_SSE, CHUNK("a") "data: [1,2]\n\n", "not a JSON object");
    expect_error_everywhere(GEN_STREAM_SSE,
                            "data: {\"choices\":[{\"delta\":{\"content\":5}}]}\n\ndata: [DONE]\n\n",
                            "not a string");
    expect_error_everywhere(GEN_STREAM_SSE,
                            CHUNK("a") "data: {\"error\":{\"message\":\"model overloaded\"}}\n\n",
                            "model overloaded");
    expect_error_everywhere(GEN_STREAM_SSE, CHUNK("a") CHUNK("b"), "ended before");
    expect_error_everywhere(GEN_STREAM_SSE, "", "ended before");
    expect_error_everywhere(GEN_STREAM_SSE, "data: {\"choices\":7}\n\n", "not an array");

    /* A line over the limit. */
    size_t big = GEN_STREAM_MAX_LINE + 10;
    char *b = malloc(big + 1);
    memset(b, 'x', big);
    memcpy(b, "data: ", 6);
    b[big] = 0;
    outcome o = run(GEN_STREAM_SSE, b, 65536, 0);
    assert_int_equal(o.feed, RAGD_EPROVIDER);
    assert_non_null(strstr(o.msg, "longer than"));
    outcome_free(&o);
    free(b);

    /* After an error, more input gets the same error. */
    gen_stream s;
    gen_stream_init(&s, GEN_STREAM_SSE, NULL, NULL);
    ragd_error err;
    assert_int_equal(gen_stream_feed(&s, "data: x\n\n", 9, &err), RAGD_EPROVIDER);
    assert_int_equal(gen_stream_feed(&s, CHUNK("a"), strlen(CHUNK("a")), &err), RAGD_EPROVIDER);
    assert_non_null(strstr(err.msg, "not JSON"));
    gen_stream_free(&s);
}

static void test_receiver_stops(void **state)
{
    (void)state;
    gen_stream s;
    tokens k = {RAGD_BUF_INIT, 2, 0};
    gen_stream_init(&s, GEN_STREAM_SSE, on_token, &k);
    const char *in = CHUNK("a") CHUNK("b") CHUNK("c") "data: [DONE]\n\n";
    ragd_error err;
    assert_int_equal(gen_stream_feed(&s, in, strlen(in), &err), RAGD_EPROVIDER);
    assert_true(s.stopped);
    assert_int_equal(k.n, 2);
    assert_non_null(strstr(err.msg, "stopped"));
    ragd_buf_free(&k.joined);
    gen_stream_free(&s);
}

static void test_ndjson_any_split(void **state)
{
    (void)state;
    const char *in =
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"The "
        "\"},\"done\":false}\n"
        "\n"
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"ferry \xc3\xa9\"},"
        "\"done\":false}\r\n"
        "{\"model\":\"m\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},\"done\":true,"
        "\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":3}";
    expect_everywhere(GEN_STREAM_NDJSON, in, "The ferry \xc3\xa9", "The |ferry \xc3\xa9", 12, 3,
                      "stop");
}

static void test_ndjson_errors(void **state)
{
    (void)state;
    expect_error_everywhere(GEN_STREAM_NDJSON, "{\"message\":{\"content\":\"a\"}}\nnope\n",
                            "not JSON");
    expect_error_everywhere(GEN_STREAM_NDJSON, "{\"error\":\"model 'x' not found\"}\n",
                            "model 'x' not found");
    expect_error_everywhere(GEN_STREAM_NDJSON, "{\"message\":{\"content\":\"a\"},\"done\":false}\n",
                            "ended before");
    expect_error_everywhere(GEN_STREAM_NDJSON, "\"text\"\n", "not a JSON object");
}

/* --- against the mock server ------------------------------------------------------ */

static ragd_generator *gen_for(mock_server *m, const char *kind)
{
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s", mock_server_port(m),
             strcmp(kind, "openai") ? "" : "/v1");
    generator_config c = {kind, url, "mock-chat", NULL, 3, 0, 0.01, 1.0};
    ragd_generator *g = NULL;
    ragd_error err;
    assert_int_equal(generator_new(&c, &g, &err), RAGD_OK);
    return g;
}

static void stream_equals_complete(const char *kind)
{
    mock_server *m = mock_server_start(NULL);
    assert_non_null(m);
    ragd_generator *g = gen_for(m, kind);
    ragd_error err;
    char *whole = NULL, *streamed = NULL;
    gen_usage u1, u2;
    memset(&u1, 0, sizeof u1);
    memset(&u2, 0, sizeof u2);
    const char *user = "one two three four five six seven eight nine ten";
    assert_int_equal(generator_complete(g, "sys", user, 64, &whole, &u1, &err), RAGD_OK);
    tokens k = {RAGD_BUF_INIT, 0, 0};
    assert_int_equal(generator_stream(g, "sys", user, 64, on_token, &k, &streamed, &u2, &err),
                     RAGD_OK);
    assert_string_equal(whole, streamed);
    assert_true(k.n > 1); /* it came in several tokens */
    char *body = mock_server_last_body(m);
    assert_non_null(strstr(body, "\"stream\":true"));
    free(body);
    assert_int_equal(u1.prompt_tokens, u2.prompt_tokens);
    assert_int_equal(u1.completion_tokens, u2.completion_tokens);
    assert_int_equal(u2.estimated, 0);
    assert_int_equal(u2.calls, 1);

    /* A 500 before the stream starts is retried. */
    mock_server_push(m, mock_status(500, "busy"));
    free(streamed);
    streamed = NULL;
    assert_int_equal(generator_stream(g, "sys", user, 64, NULL, NULL, &streamed, &u2, &err),
                     RAGD_OK);
    assert_string_equal(whole, streamed);
    assert_int_equal(u2.retries, 1);

    /* A malformed stream is an error value. */
    mock_server_push(m, mock_malformed());
    free(streamed);
    streamed = NULL;
    assert_int_equal(generator_stream(g, "sys", user, 64, NULL, NULL, &streamed, &u2, &err),
                     RAGD_EPROVIDER);
    assert_null(streamed);
    assert_non_null(strstr(err.msg, "POST http://127.0.0.1"));
    assert_int_equal(u2.failures, 1);

    ragd_buf_free(&k.joined);
    free(whole);
    generator_free(g);
    mock_server_stop(m);
}

static void test_mock_openai_stream(void **state)
{
    (void)state;
    stream_equals_complete("openai");
}

static void test_mock_ollama_stream(void **state)
{
    (void)state;
    stream_equals_complete("ollama");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sse_tokens_any_split),
        cmocka_unit_test(test_sse_multiline_data_and_no_final_blank),
        cmocka_unit_test(test_sse_errors),
        cmocka_unit_test(test_receiver_stops),
        cmocka_unit_test(test_ndjson_any_split),
        cmocka_unit_test(test_ndjson_errors),
        cmocka_unit_test(test_mock_openai_stream),
        cmocka_unit_test(test_mock_ollama_stream),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
