/* api/sse.h — a streamed answer as a Server-Sent Events reply (private to api/).
 *
 * api_answer_stream_start runs ragd_answer_stream on a thread of its own
 * and turns its tokens into SSE bytes in a queue:
 *
 *   event: token
 *   data: {"text":"…"}
 *
 *   … one per token …
 *
 *   event: done
 *   data: {the whole ragd_answer result, with "stream":{"tokens","answer_replaced"}}
 *
 * or, when the answer fails after tokens went out, a last "error" event
 * with {"error":{"code","message","field"}}. The start call waits until the
 * first token (or the end): an answer that fails before any token (a bad
 * request, an unknown collection) is returned as an ordinary status and
 * message, so the route answers it with a JSON error and a 4xx status, not
 * a stream.
 *
 * api_stream_read is libmicrohttpd's content reader: it blocks until bytes
 * are queued or the answer ended (like any handler, a streaming answer
 * occupies one server thread while it runs). api_stream_free (the
 * response's free callback: the reply ended or the client went away) makes
 * the next token callback return "stop", joins the thread and frees.
 *
 * Ownership: the stream holds a reference to the request body; the engine
 * is borrowed and must outlive the stream. Thread-safety: the queue is
 * guarded by the stream's mutex; one producer (the answer thread), one
 * consumer (the connection's server thread).
 */
#ifndef RAGD_API_SSE_H
#define RAGD_API_SSE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/error.h"
#include "service/ragd.h"

typedef struct api_stream api_stream;

/* Start the answer; RAGD_OK with *out once a first token is queued (or the
 * answer ended after tokens), else the answer's error (no stream). */
ragd_status api_answer_stream_start(ragd_engine *eng, json_t *req, api_stream **out,
                                    ragd_error *err);

/* Copy up to max queued bytes at stream offset pos into buf: the count, or
 * -1 (MHD_CONTENT_READER_END_OF_STREAM) when the answer ended and all was
 * read. Blocks while nothing is queued. */
ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max);

/* Stop (when still running), join and free. Takes void * for
 * libmicrohttpd. NULL is a no-op. */
void api_stream_free(void *cls);

#endif
