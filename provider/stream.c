/* provider/stream.c — the SSE and NDJSON stream parsers (see stream.h).
 *
 * Bytes go into a line buffer; a line ending ("\n", "\r\n" or a lone "\r",
 * the "\r\n" pair possibly split between two feeds: skip_lf) hands the line
 * to the format's line handler. SSE collects "data:" values until a blank
 * line dispatches the event; NDJSON parses every non-blank line. A JSON
 * chunk is read by one function per format. The first error is kept in
 * s->failed, so a caller that goes on feeding gets it again.
 */
#include "provider/stream.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "provider/generator.h"

void gen_stream_init(gen_stream *s, gen_stream_format fmt, gen_token_fn on_token, void *user)
{
    memset(s, 0, sizeof *s);
    s->fmt = fmt;
    s->on_token = on_token;
    s->user = user;
    s->ptok = s->ctok = -1;
    ragd_error_clear(&s->failed);
}

void gen_stream_free(gen_stream *s)
{
    ragd_buf_free(&s->line);
    ragd_buf_free(&s->data);
    ragd_buf_free(&s->text);
}

char *gen_stream_take_text(gen_stream *s)
{
    if (!s->text.data) return ragd_xstrdup("");
    return ragd_buf_steal(&s->text);
}

static ragd_status fail(gen_stream *s, ragd_error *err, const char *what, const char *detail,
                        size_t dl)
{
    if (dl > 120) dl = 120;
    char q[128];
    size_t j = 0;
    for (size_t i = 0; i < dl; i++)
        q[j++] = (unsigned char)detail[i] < 0x20 ? ' ' : detail[i];
    q[j] = 0;
    ragd_error_set(&s->failed, RAGD_EPROVIDER, "%s%s%s%s", what, dl ? ": '" : "", q, dl ? "'" : "");
    if (err) *err = s->failed;
    return RAGD_EPROVIDER;
}

static ragd_status token(gen_stream *s, const json_t *content, ragd_error *err)
{
    if (!content || json_is_null(content)) return RAGD_OK;
    if (!json_is_string(content)) return fail(s, err, "stream chunk content is not a string", 0, 0);
    const char *t = json_string_value(content);
    size_t n = strlen(t); /* stops at an embedded NUL */
    if (!n) return RAGD_OK;
    if (s->text.len + n > GENERATOR_MAX_TEXT)
        return fail(s, err, "streamed reply longer than the 1 MiB limit", 0, 0);
    ragd_buf_append(&s->text, t, n);
    if (s->on_token && s->on_token(s->user, t, n)) {
        s->stopped = true;
        return fail(s, err, "stream stopped by the receiver", 0, 0);
    }
    return RAGD_OK;
}

static long count(const json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (long)json_integer_value(v) : -1;
}

static void set_finish(gen_stream *s, const json_t *v)
{
    if (json_is_string(v)) snprintf(s->finish, sizeof s->finish, "%s", json_string_value(v));
}

/* The server's error object: {"error":"…"} or {"error":{"message":"…"}}. */
static bool server_error(gen_stream *s, const json_t *j, ragd_error *err)
{
    json_t *e = json_object_get(j, "error");
    if (!e || json_is_null(e)) return false;
    const char *m =
        json_is_string(e) ? json_string_value(e) : json_string_value(json_object_get(e, "message"));
    if (!m) m = "(no message)";
    fail(s, err, "the server reported an error mid-stream", m, strlen(m));
    return true;
}

static ragd_status openai_chunk(gen_stream *s, const json_t *j, ragd_error *err)
{
    if (server_error(s, j, err)) return RAGD_EPROVIDER;
    json_t *usage = json_object_get(j, "usage");
    if (json_is_object(usage)) {
        s->ptok = count(usage, "prompt_tokens");
        s->ctok = count(usage, "completion_tokens");
    }
    json_t *choices = json_object_get(j, "choices");
    if (choices && !json_is_array(choices))
        return fail(s, err, "stream chunk \"choices\" is not an array", 0, 0);
    json_t *c0 = json_array_get(choices, 0);
    if (!c0) return RAGD_OK; /* the usage-only last chunk */
    set_finish(s, json_object_get(c0, "finish_reason"));
    json_t *delta = json_object_get(c0, "delta");
    if (!delta) delta = json_object_get(c0, "message"); /* a few servers repeat the whole shape */
    return token(s, json_object_get(delta, "content"), err);
}

static ragd_status ollama_chunk(gen_stream *s, const json_t *j, ragd_error *err)
{
    if (server_error(s, j, err)) return RAGD_EPROVIDER;
    ragd_status rc = token(s, json_object_get(json_object_get(j, "message"), "content"), err);
    if (rc) return rc;
    if (json_is_true(json_object_get(j, "done"))) {
        s->done = true;
        s->ptok = count(j, "prompt_eval_count");
        s->ctok = count(j, "eval_count");
        set_finish(s, json_object_get(j, "done_reason"));
    }
    return RAGD_OK;
}

static ragd_status parse_chunk(gen_stream *s, const char *d, size_t n, ragd_error *err)
{
    json_error_t je;
    json_t *j = json_loadb(d, n, JSON_DECODE_ANY, &je);
    if (!j) return fail(s, err, "malformed stream chunk (not JSON)", d, n);
    ragd_status rc;
    if (!json_is_object(j))
        rc = fail(s, err, "malformed stream chunk (not a JSON object)", d, n);
    else
        rc = s->fmt == GEN_STREAM_SSE ? openai_chunk(s, j, err) : ollama_chunk(s, j, err);
    json_decref(j);
    s->events++;
    return rc;
}

/* SSE: the event collected in s->data. */
static ragd_status sse_dispatch(gen_stream *s, ragd_error *err)
{
    if (!s->data.len) return RAGD_OK;
    size_t n = s->data.len - 1; /* the last data line's '\n' */
    ragd_status rc = RAGD_OK;
    if (s->done)
        ; /* nothing counts after [DONE] */
    else if (n == 6 && !memcmp(s->data.data, "[DONE]", 6))
        s->done = true;
    else
        rc = parse_chunk(s, s->data.data, n, err);
    ragd_buf_reset(&s->data);
    return rc;
}

static ragd_status sse_line(gen_stream *s, const char *l, size_t n, ragd_error *err)
{
    if (!n) return sse_dispatch(s, err);
    if (l[0] == ':') return RAGD_OK; /* a comment: keep-alive */
    const char *colon = memchr(l, ':', n);
    size_t fl = colon ? (size_t)(colon - l) : n;
    const char *v = colon ? colon + 1 : l + n;
    size_t vl = (size_t)(l + n - v);
    if (vl && *v == ' ') v++, vl--;
    if (fl == 4 && !memcmp(l, "data", 4)) {
        if (s->data.len + vl > GEN_STREAM_MAX_LINE)
            return fail(s, err, "stream event larger than 1 MiB", 0, 0);
        ragd_buf_append(&s->data, v, vl);
        ragd_buf_putc(&s->data, '\n');
    }
    return RAGD_OK; /* event, id, retry and unknown fields: ignored */
}

static ragd_status ndjson_line(gen_stream *s, const char *l, size_t n, ragd_error *err)
{
    while (n && (*l == ' ' || *l == '\t'))
        l++, n--;
    while (n && (l[n - 1] == ' ' || l[n - 1] == '\t'))
        n--;
    if (!n) return RAGD_OK;
    return parse_chunk(s, l, n, err);
}

static ragd_status end_line(gen_stream *s, ragd_error *err)
{
    ragd_status rc = s->fmt == GEN_STREAM_SSE
                         ? sse_line(s, s->line.data ? s->line.data : "", s->line.len, err)
                         : ndjson_line(s, s->line.data ? s->line.data : "", s->line.len, err);
    ragd_buf_reset(&s->line);
    return rc;
}

ragd_status gen_stream_feed(gen_stream *s, const char *bytes, size_t n, ragd_error *err)
{
    if (s->failed.code) {
        if (err) *err = s->failed;
        return s->failed.code;
    }
    size_t i = 0;
    while (i < n) {
        char c = bytes[i];
        if (s->skip_lf) {
            s->skip_lf = false;
            if (c == '\n') {
                i++;
                continue;
            }
        }
        if (c == '\n' || c == '\r') {
            s->skip_lf = c == '\r';
            i++;
            ragd_status rc = end_line(s, err);
            if (rc) return rc;
            continue;
        }
        size_t j = i;
        while (j < n && bytes[j] != '\n' && bytes[j] != '\r')
            j++;
        if (s->line.len + (j - i) > GEN_STREAM_MAX_LINE)
            return fail(s, err, "stream line longer than 1 MiB", 0, 0);
        ragd_buf_append(&s->line, bytes + i, j - i);
        i = j;
    }
    return RAGD_OK;
}

ragd_status gen_stream_finish(gen_stream *s, ragd_error *err)
{
    if (s->failed.code) {
        if (err) *err = s->failed;
        return s->failed.code;
    }
    ragd_status rc = RAGD_OK;
    if (s->line.len) rc = end_line(s, err);
    if (!rc && s->fmt == GEN_STREAM_SSE) rc = sse_dispatch(s, err);
    if (rc) return rc;
    bool complete = s->done || (s->fmt == GEN_STREAM_SSE && s->finish[0]);
    if (!complete)
        return fail(s, err,
                    s->fmt == GEN_STREAM_SSE
                        ? "the stream ended before the model finished (no finish_reason or [DONE])"
                        : "the stream ended before the model finished (no \"done\": true)",
                    0, 0);
    return RAGD_OK;
}
