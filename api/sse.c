/* api/sse.c — the streamed answer reply (see sse.h).
 *
 * The queue is one growing buffer of SSE bytes with a read offset (an
 * answer is at most a few KB); the producer appends and signals, the
 * reader waits, copies and, once everything was read and the answer is
 * over, reports the end of the stream.
 */
#include "api/sse.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "api/routes.h"
#include "core/buf.h"
#include "core/json.h"

struct api_stream {
    ragd_engine *eng;
    json_t *req; /* owned reference */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    ragd_buf q;    /* SSE bytes produced so far */
    size_t read;   /* bytes handed to the reader */
    long tokens;   /* token events queued */
    bool finished; /* the answer returned; nothing more will be queued */
    bool closed;   /* the reply is being freed: stop producing */
    ragd_status rc;
    ragd_error err;
};

static void put_event(api_stream *s, const char *event, json_t *data)
{
    char *d = json_dumps(data, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(data);
    ragd_buf_printf(&s->q, "event: %s\ndata: %s\n\n", event, d ? d : "{}");
    free(d);
}

static int on_token(void *user, const char *t, size_t n)
{
    api_stream *s = user;
    json_t *txt = json_stringn(t, n);
    pthread_mutex_lock(&s->mu);
    bool stop = s->closed;
    if (!stop && txt) {
        put_event(s, "token", json_pack("{s:o}", "text", txt));
        txt = NULL;
        s->tokens++;
        pthread_cond_broadcast(&s->cv);
    }
    pthread_mutex_unlock(&s->mu);
    json_decref(txt);
    return stop;
}

static void *run(void *arg)
{
    api_stream *s = arg;
    json_t *out = NULL;
    ragd_error err;
    ragd_error_clear(&err);
    ragd_status rc = ragd_answer_stream(s->eng, s->req, on_token, s, &out, &err);
    pthread_mutex_lock(&s->mu);
    s->rc = rc;
    s->err = err;
    if (s->tokens && !s->closed) {
        if (!rc)
            put_event(s, "done", out ? json_incref(out) : json_object());
        else
            put_event(s, "error", api_error_json(api_status_code(rc), err.msg, err.field));
    }
    s->finished = true;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    json_decref(out);
    return NULL;
}

static void destroy(api_stream *s)
{
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    ragd_buf_free(&s->q);
    json_decref(s->req);
    free(s);
}

ragd_status api_answer_stream_start(ragd_engine *eng, json_t *req, api_stream **out,
                                    ragd_error *err)
{
    *out = NULL;
    api_stream *s = ragd_xcalloc(1, sizeof *s);
    s->eng = eng;
    s->req = json_incref(req);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    if (pthread_create(&s->thread, NULL, run, s)) {
        destroy(s);
        return ragd_error_set(err, RAGD_EINTERNAL, "cannot start the answer stream's thread");
    }
    pthread_mutex_lock(&s->mu);
    while (!s->tokens && !s->finished)
        pthread_cond_wait(&s->cv, &s->mu);
    bool failed_early = !s->tokens;
    pthread_mutex_unlock(&s->mu);
    if (failed_early) {
        pthread_join(s->thread, NULL);
        ragd_status rc = s->rc ? s->rc : RAGD_EINTERNAL;
        if (s->rc)
            *err = s->err;
        else
            ragd_error_set(err, rc, "the answer produced no output");
        destroy(s);
        return rc;
    }
    *out = s;
    return RAGD_OK;
}

ssize_t api_stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos; /* bytes are handed out in order: pos == s->read */
    api_stream *s = cls;
    pthread_mutex_lock(&s->mu);
    while (s->read == s->q.len && !s->finished)
        pthread_cond_wait(&s->cv, &s->mu);
    ssize_t n;
    if (s->read < s->q.len) {
        size_t k = s->q.len - s->read < max ? s->q.len - s->read : max;
        memcpy(buf, s->q.data + s->read, k);
        s->read += k;
        n = (ssize_t)k;
    } else {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

void api_stream_free(void *cls)
{
    api_stream *s = cls;
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->closed = true;
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    destroy(s);
}
