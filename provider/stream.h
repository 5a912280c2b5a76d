/* provider/stream.h — incremental parsers for streamed chat completions.
 *
 * Two wire formats, fed bytes exactly as the network delivers them (a chunk
 * may end anywhere: inside a line, a UTF-8 sequence, a "\r\n" pair):
 *
 *   GEN_STREAM_SSE     OpenAI-compatible "stream": true (OpenAI, llama.cpp,
 *                      vLLM, LM Studio): Server-Sent Events. Lines end with
 *                      "\n", "\r\n" or "\r"; "data:" lines accumulate, a blank
 *                      line dispatches the event; lines opening with ':' are
 *                      comments (keep-alives) and "event:", "id:", "retry:"
 *                      are ignored. Each event's data is "[DONE]" (the end)
 *                      or a JSON chunk: choices[0].delta.content (a token),
 *                      choices[0].finish_reason, usage.prompt_tokens /
 *                      completion_tokens (the last chunk, when sent), or
 *                      {"error":…} (the server failed mid-stream).
 *   GEN_STREAM_NDJSON  Ollama /api/chat streaming: one JSON object per line,
 *                      message.content a token, "done": true with
 *                      prompt_eval_count, eval_count and done_reason on the
 *                      last, {"error":"…"} on failure. Blank lines are skipped.
 *
 * Errors are values: a line that is not JSON, a chunk that is not an object,
 * a token that is not a string, an error object, a line longer than
 * GEN_STREAM_MAX_LINE, more text than GENERATOR_MAX_TEXT, or (at
 * gen_stream_finish) a stream that ended before its end marker ([DONE] or a
 * finish_reason; "done": true) — each RAGD_EPROVIDER with a message saying
 * which. After an error every further feed returns the same error.
 *
 * The token callback sees each token once, in order; returning non-zero
 * stops the parse (gen_stream_feed then returns RAGD_EPROVIDER "stopped by
 * the receiver" and sets `stopped`).
 *
 * Ownership: the parser owns its buffers (gen_stream_free releases them;
 * gen_stream_take_text hands the accumulated text to the caller).
 * Thread-safety: one parser per stream, used by one thread at a time.
 */
#ifndef RAGD_PROVIDER_STREAM_H
#define RAGD_PROVIDER_STREAM_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/error.h"

#define GEN_STREAM_MAX_LINE (1u << 20) /* bytes in one line (one SSE field or NDJSON object) */

typedef enum { GEN_STREAM_SSE, GEN_STREAM_NDJSON } gen_stream_format;

/* A token: text[0..len) (valid UTF-8, no NUL). Non-zero return stops. */
typedef int (*gen_token_fn)(void *user, const char *text, size_t len);

typedef struct {
    gen_stream_format fmt;
    gen_token_fn on_token; /* may be NULL */
    void *user;
    ragd_buf line;     /* the current, unfinished line */
    ragd_buf data;     /* SSE: the data lines of the current event */
    ragd_buf text;     /* every token so far */
    bool skip_lf;      /* the last byte was '\r': a following '\n' ends nothing */
    bool done;         /* the end marker was seen */
    bool stopped;      /* the callback asked to stop */
    long ptok, ctok;   /* token counts from the stream, -1 when not sent */
    char finish[32];   /* finish_reason / done_reason, "" when not sent */
    long events;       /* events (SSE) or lines (NDJSON) parsed */
    ragd_error failed; /* code != RAGD_OK after an error */
} gen_stream;

void gen_stream_init(gen_stream *s, gen_stream_format fmt, gen_token_fn on_token, void *user);
void gen_stream_free(gen_stream *s);

/* Parse the next n bytes. RAGD_OK, or RAGD_EPROVIDER (see above). */
ragd_status gen_stream_feed(gen_stream *s, const char *bytes, size_t n, ragd_error *err);

/* The stream ended: parse what is left (a last line without a newline, an
 * event without its blank line) and check the end marker was seen. */
ragd_status gen_stream_finish(gen_stream *s, ragd_error *err);

/* The text of every token so far, malloc'd (the parser's copy is emptied). */
char *gen_stream_take_text(gen_stream *s);

#endif
