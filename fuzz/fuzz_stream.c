/* fuzz/fuzz_stream.c — the streamed chat reply parsers (provider/stream.c):
 * SSE (OpenAI-compatible "stream": true) and NDJSON (Ollama).
 *
 * Input: byte 0 bit 0 the format (0 SSE, 1 NDJSON), bits 1–4 the token at
 * which the receiver's callback stops the parse (0: never); the rest is the
 * stream as the network would deliver it. The stream is parsed five times:
 * in one feed, one byte per feed (every boundary at once), in two random
 * splits (piece sizes, empty feeds included, from a hash of the input) and
 * split once at a position from that hash. Properties (provider/stream.h):
 *   - every split gives the same outcome as one feed: the same tokens in the
 *     same order, status of feed and finish, error message, token counts,
 *     finish reason, end marker, stop flag and number of events;
 *   - each token is non-empty valid UTF-8 without NUL, no token and not the
 *     text of all tokens is longer than the stream (JSON escapes only
 *     shrink); the taken text is exactly the tokens joined;
 *   - an error is a value: RAGD_OK or RAGD_EPROVIDER with a message, the
 *     same error again on a later feed or finish; a stop by the callback
 *     is RAGD_EPROVIDER with `stopped` set, at exactly the asked token;
 *   - finish succeeds only after an end marker ("done", [DONE], or an SSE
 *     finish_reason); token counts are -1 or ≥ 0.
 */
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "fuzz/fuzz.h"
#include "provider/stream.h"

typedef struct {
    ragd_buf toks; /* each token as a 4-byte length, then its bytes */
    int n, stop_after;
    size_t max_len, total;
} receiver;

typedef struct {
    ragd_status feed, finish;
    char msg[RAGD_ERROR_MAX];
    receiver r;
    char *text;
    long ptok, ctok, events;
    char finish_reason[32];
    bool done, stopped;
} outcome;

static int on_token(void *user, const char *t, size_t n)
{
    receiver *r = user;
    FUZZ_CHECK(n > 0 && !memchr(t, '\0', n) && text_utf8_check(t, n, NULL, NULL));
    uint32_t len = (uint32_t)n;
    ragd_buf_append(&r->toks, (const char *)&len, sizeof len);
    ragd_buf_append(&r->toks, t, n);
    if (n > r->max_len) r->max_len = n;
    r->total += n;
    r->n++;
    return r->stop_after && r->n >= r->stop_after;
}

/* A small deterministic generator (xorshift64) for the random splits. */
static uint64_t next(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

enum { WHOLE, BYTES, RANDOM, ONE_SPLIT };

static void run(outcome *o, gen_stream_format fmt, int stop_after, const char *in, size_t n,
                int mode, uint64_t seed)
{
    memset(o, 0, sizeof *o);
    o->r.stop_after = stop_after;
    gen_stream s;
    gen_stream_init(&s, fmt, on_token, &o->r);
    ragd_error err;
    ragd_error_clear(&err);
    size_t i = 0, split = n ? (size_t)(seed % (n + 1)) : 0;
    uint64_t x = seed | 1;
    while (i < n && !o->feed) {
        size_t piece = n - i;
        if (mode == BYTES)
            piece = 1;
        else if (mode == RANDOM)
            piece = (size_t)(next(&x) % 17); /* 0..16: empty feeds too */
        else if (mode == ONE_SPLIT && i < split)
            piece = split - i;
        if (piece > n - i) piece = n - i;
        o->feed = gen_stream_feed(&s, in + i, piece, &err);
        i += piece;
    }
    if (!o->feed) o->finish = gen_stream_finish(&s, &err);
    ragd_status rc = o->feed ? o->feed : o->finish;
    FUZZ_CHECK(rc == RAGD_OK || rc == RAGD_EPROVIDER);
    if (rc) {
        FUZZ_CHECK(err.code == rc && err.msg[0]);
        snprintf(o->msg, sizeof o->msg, "%s", err.msg);
        /* The error stays: a later feed or finish returns it again. */
        ragd_error again;
        ragd_error_clear(&again);
        FUZZ_CHECK(gen_stream_feed(&s, "\n", 1, &again) == rc && !strcmp(again.msg, o->msg));
        ragd_error_clear(&again);
        FUZZ_CHECK(gen_stream_finish(&s, &again) == rc && !strcmp(again.msg, o->msg));
    } else {
        FUZZ_CHECK(s.done || (fmt == GEN_STREAM_SSE && s.finish[0]));
    }
    FUZZ_CHECK(s.stopped == (stop_after && o->r.n >= stop_after));
    if (s.stopped) FUZZ_CHECK(rc == RAGD_EPROVIDER && o->r.n == stop_after);
    FUZZ_CHECK(s.ptok >= -1 && s.ctok >= -1 && memchr(s.finish, '\0', sizeof s.finish));
    o->ptok = s.ptok;
    o->ctok = s.ctok;
    o->events = s.events;
    o->done = s.done;
    o->stopped = s.stopped;
    memcpy(o->finish_reason, s.finish, sizeof s.finish);
    o->text = gen_stream_take_text(&s);
    gen_stream_free(&s);
}

static void check_same(const outcome *a, const outcome *b)
{
    FUZZ_CHECK(a->feed == b->feed && a->finish == b->finish && !strcmp(a->msg, b->msg));
    FUZZ_CHECK(a->r.n == b->r.n && a->r.toks.len == b->r.toks.len);
    FUZZ_CHECK(!a->r.toks.len || !memcmp(a->r.toks.data, b->r.toks.data, a->r.toks.len));
    FUZZ_CHECK(!strcmp(a->text, b->text));
    FUZZ_CHECK(a->ptok == b->ptok && a->ctok == b->ctok && a->events == b->events);
    FUZZ_CHECK(a->done == b->done && a->stopped == b->stopped);
    FUZZ_CHECK(!strcmp(a->finish_reason, b->finish_reason));
}

static void outcome_free(outcome *o)
{
    ragd_buf_free(&o->r.toks);
    free(o->text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    gen_stream_format fmt = data[0] & 1 ? GEN_STREAM_NDJSON : GEN_STREAM_SSE;
    int stop_after = (data[0] >> 1) & 15;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    uint64_t seed = 1469598103934665603ull; /* FNV-1a of the stream */
    for (size_t i = 0; i < n; i++)
        seed = (seed ^ (uint8_t)in[i]) * 1099511628211ull;

    outcome whole;
    run(&whole, fmt, stop_after, in, n, WHOLE, seed);
    /* No token, and not all of them together, is longer than the stream. */
    FUZZ_CHECK(whole.r.max_len <= n && whole.r.total <= n);
    /* The taken text is the tokens joined, in order. */
    FUZZ_CHECK(strlen(whole.text) == whole.r.total);
    size_t off = 0, pos = 0;
    while (off < whole.r.toks.len) {
        uint32_t len;
        memcpy(&len, whole.r.toks.data + off, sizeof len);
        off += sizeof len;
        FUZZ_CHECK(!memcmp(whole.text + pos, whole.r.toks.data + off, len));
        off += len;
        pos += len;
    }

    const int modes[] = {BYTES, RANDOM, RANDOM, ONE_SPLIT};
    for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
        outcome split;
        run(&split, fmt, stop_after, in, n, modes[m], seed + m);
        check_same(&whole, &split);
        outcome_free(&split);
    }
    outcome_free(&whole);
    return 0;
}
