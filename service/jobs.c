/* service/jobs.c — background ingest jobs.
 *
 * A large batch (ragd.h RAGD_JOB_MIN_DOCS / _BYTES) is not ingested in the
 * request: its documents are written to <data>/jobs/<id>.json (fsync'd,
 * renamed into place) and a "queued" row is committed; the reply is the
 * job. One runner thread takes queued jobs in order and ingests each in
 * batches of JOB_BATCH documents through the engine's writer (so searches
 * go on between batches), recording progress after every batch. A job is
 * never lost silently: one left "running" by a process that died is queued
 * again at the next start and resumes from its recorded progress
 * (documents already committed are unchanged no-ops anyway); one whose
 * documents file is gone is marked failed with the reason. On shutdown the
 * runner stops at a batch boundary and queues its job again.
 *
 * Kinds: "ingest" (the documents above) and "vector_store_file" (one
 * uploaded file attached to a vector store: the payload is {"file_id",
 * "attributes"}; engine_vsfile_run ingests it and records the attachment's
 * status, service/ops_files.c).
 * With a PostgreSQL store of record (store/pg.h) the job row and its
 * documents live in the store instead: any node's runner may claim it
 * (FOR UPDATE SKIP LOCKED, with a lease renewed at every batch), and a job
 * whose node died is claimed by another when its lease ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/durable.h"
#include "core/log.h"
#include "service/engine_internal.h"
#include "store/pg.h"

#define JOB_BATCH 16

static void job_path(const ragd_engine *e, const char *id, ragd_buf *b)
{
    ragd_buf_printf(b, "%s/jobs/%s.json", e->dir, id);
}

bool engine_jobs_running(ragd_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool on = e->jobs_running && !e->jobs_stop;
    pthread_mutex_unlock(&e->mu);
    return on;
}

/* Write docs to the job's file durably (core/durable.h). */
static ragd_status write_payload(ragd_engine *e, const char *id, const json_t *docs,
                                 ragd_error *err)
{
    char *text = json_dumps(docs, JSON_COMPACT);
    if (!text) return ragd_error_set(err, RAGD_EIO, "cannot encode the job's documents");
    ragd_buf dir = RAGD_BUF_INIT, path = RAGD_BUF_INIT;
    ragd_buf_printf(&dir, "%s/jobs", e->dir);
    job_path(e, id, &path);
    ragd_status rc = ragd_write_durable(dir.data, path.data, text, strlen(text), err);
    free(text);
    ragd_buf_free(&dir);
    ragd_buf_free(&path);
    return rc;
}

ragd_status engine_job_submit(ragd_engine *e, const char *coll, const json_t *docs, json_t **out,
                              ragd_error *err)
{
    return engine_job_submit_kind(e, coll, "ingest", docs, json_array_size(docs), out, err);
}

ragd_status engine_job_submit_kind(ragd_engine *e, const char *coll, const char *kind,
                                   const json_t *docs, size_t total, json_t **out, ragd_error *err)
{
    *out = NULL;
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return ragd_error_set(err, RAGD_EIO, "cannot read random bytes for a job id");
    char id[40] = "job_";
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(id + 4 + 2 * i, 3, "%02x", rnd[i]);
    char progress[96];
    snprintf(progress, sizeof progress, "{\"done\":0,\"total\":%zu}", total);
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_status rc = store_collection_open(e->writer, coll, NULL, &c, err);
    if (rc == RAGD_ENOTFOUND || rc == RAGD_EUSAGE)
        rc = ragd_error_with_field(err, rc == RAGD_ENOTFOUND ? RAGD_ENOTFOUND : RAGD_EINPUT,
                                   "collection");
    if (!rc && store_pg_attached(e->writer)) { /* the documents travel with the job */
        char *payload = json_dumps(docs, JSON_COMPACT);
        rc = store_pg_job_create(e->writer, id, c.name, kind, progress, payload, err);
        free(payload);
    } else {
        if (!rc) rc = write_payload(e, id, docs, err);
        if (!rc) rc = store_job_create(e->writer, id, c.id, kind, progress, err);
    }
    if (!rc) rc = store_job_json(e->writer, id, out, err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    pthread_mutex_lock(&e->mu);
    pthread_cond_signal(&e->jobs_cv);
    pthread_mutex_unlock(&e->mu);
    return RAGD_OK;
}

/* Add a batch report's counts and errors into the job's totals. */
static void add_report(json_t *tot, const json_t *rep)
{
    static const char *const KEYS[] = {"added",  "updated", "unchanged", "skipped",
                                       "failed", "chunks",  "bytes",     NULL};
    for (int i = 0; KEYS[i]; i++)
        json_object_set_new(tot, KEYS[i],
                            json_integer(json_integer_value(json_object_get(tot, KEYS[i])) +
                                         json_integer_value(json_object_get(rep, KEYS[i]))));
    json_t *errs = json_object_get(tot, "errors");
    if (!errs) json_object_set_new(tot, "errors", errs = json_array());
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(rep, "errors"), i, x)
    {
        if (json_array_size(errs) < 100) json_array_append(errs, x);
    }
}

static ragd_status job_set(ragd_engine *e, const char *id, const char *state, json_t *progress,
                           json_t *result)
{
    char *p = progress ? json_dumps(progress, JSON_COMPACT) : NULL;
    char *r = result ? json_dumps(result, JSON_COMPACT) : NULL;
    ragd_error err;
    pthread_mutex_lock(&e->write_mu);
    ragd_status rc = store_job_update(e->writer, id, state, p, r, &err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) log_write(LOG_ERROR, "cannot record job state", "job", id, "error", err.msg, NULL);
    free(p);
    free(r);
    return rc;
}

static bool stopping(ragd_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool s = e->jobs_stop;
    pthread_mutex_unlock(&e->mu);
    return s;
}

/* Job rows live in the slot's cache, or, with a PostgreSQL store of record,
 * in the store (read through the writer, under write_mu). */
static ragd_status jobs_json(ragd_engine *e, engine_slot *s, const char *id, json_t **out,
                             ragd_error *err)
{
    if (!store_pg_attached(e->writer)) return store_job_json(s->rd, id, out, err);
    pthread_mutex_lock(&e->write_mu);
    ragd_status rc = store_job_json(e->writer, id, out, err);
    pthread_mutex_unlock(&e->write_mu);
    return rc;
}

static ragd_status jobs_next(ragd_engine *e, engine_slot *s, char id[64], int64_t *coll,
                             bool *found, ragd_error *err)
{
    if (!store_pg_attached(e->writer)) return store_job_next(s->rd, id, coll, found, err);
    pthread_mutex_lock(&e->write_mu);
    ragd_status rc = store_job_next(e->writer, id, coll, found, err);
    pthread_mutex_unlock(&e->write_mu);
    return rc;
}

/* Run one job to its end, or to a batch boundary when stopping. */
static void job_run(ragd_engine *e, const char *id)
{
    json_t *job = NULL;
    ragd_error err;
    engine_slot *s;
    if (engine_slot_acquire(e, &s, &err)) return;
    ragd_status rc = jobs_json(e, s, id, &job, &err);
    engine_slot_release(e, s);
    if (rc) return;
    const char *coll = json_string_value(json_object_get(job, "collection"));
    json_t *progress = json_deep_copy(json_object_get(job, "progress"));
    if (!json_is_object(progress)) {
        json_decref(progress);
        progress = json_object();
    }
    ragd_buf path = RAGD_BUF_INIT;
    job_path(e, id, &path);
    json_error_t je;
    json_t *docs = NULL;
    if (store_pg_attached(e->writer)) {
        pthread_mutex_lock(&e->write_mu);
        if (store_pg_job_payload(e->writer, id, &docs, &err)) docs = NULL;
        pthread_mutex_unlock(&e->write_mu);
    } else {
        docs = json_load_file(path.data, 0, &je);
    }
    const char *kind = json_string_value(json_object_get(job, "kind"));
    if (kind && !strcmp(kind, "vector_store_file") && json_is_object(docs) && coll && *coll) {
        /* One file: its runner records the attachment's status itself. */
        job_set(e, id, "running", NULL, NULL);
        rc = engine_vsfile_run(e, coll, docs, &err);
        json_t *res = rc ? json_pack("{s:s}", "error", err.msg) : json_pack("{s:i}", "done", 1);
        json_object_set_new(progress, "done", json_integer(1));
        job_set(e, id, rc ? "failed" : "completed", progress, res);
        json_decref(res);
        unlink(path.data);
        goto out;
    }
    if (!json_is_array(docs) || !coll || !*coll) {
        json_t *res = json_pack("{s:s}", "error",
                                !coll || !*coll ? "the collection was deleted"
                                                : "the job's documents file is missing or damaged");
        job_set(e, id, "failed", NULL, res);
        json_decref(res);
        goto out;
    }
    job_set(e, id, "running", NULL, NULL);
    size_t n = json_array_size(docs);
    size_t done = (size_t)json_integer_value(json_object_get(progress, "done"));
    json_object_set_new(progress, "total", json_integer((json_int_t)n));
    while (done < n) {
        if (stopping(e)) {
            job_set(e, id, "queued", progress, NULL);
            goto out;
        }
        size_t to = done + JOB_BATCH < n ? done + JOB_BATCH : n;
        json_t *rep = NULL;
        rc = engine_ingest_docs(e, coll, docs, done, to, &rep, &err);
        if (rc) {
            json_t *res = json_pack("{s:s,s:I}", "error", err.msg, "at", (json_int_t)done);
            job_set(e, id, "failed", progress, res);
            json_decref(res);
            goto out;
        }
        add_report(progress, rep);
        json_decref(rep);
        done = to;
        json_object_set_new(progress, "done", json_integer((json_int_t)done));
        job_set(e, id, "running", progress, NULL);
    }
    job_set(e, id, "completed", progress, progress);
    unlink(path.data);
out:
    ragd_buf_free(&path);
    json_decref(progress);
    json_decref(docs);
    json_decref(job);
}

static void *runner(void *arg)
{
    ragd_engine *e = arg;
    while (!stopping(e)) {
        char id[64];
        int64_t coll = 0;
        bool found = false;
        ragd_error err;
        engine_slot *s;
        if (!engine_slot_acquire(e, &s, &err)) {
            if (jobs_next(e, s, id, &coll, &found, &err)) found = false;
            engine_slot_release(e, s);
        }
        if (found) {
            job_run(e, id);
            continue;
        }
        pthread_mutex_lock(&e->mu);
        if (!e->jobs_stop) {
            struct timespec dl;
            clock_gettime(CLOCK_REALTIME, &dl);
            dl.tv_sec += 1; /* poll too: jobs queued by another process */
            pthread_cond_timedwait(&e->jobs_cv, &e->mu, &dl);
        }
        pthread_mutex_unlock(&e->mu);
    }
    return NULL;
}

ragd_status ragd_jobs_start(ragd_engine *e, ragd_error *err)
{
    int n = 0;
    pthread_mutex_lock(&e->write_mu);
    ragd_status rc = store_jobs_requeue(e->writer, &n, err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    if (n) {
        char c[16];
        snprintf(c, sizeof c, "%d", n);
        log_write(LOG_WARN, "resuming jobs interrupted by a previous stop", "jobs", c, NULL);
    }
    pthread_mutex_lock(&e->mu);
    e->jobs_stop = false;
    e->jobs_running = pthread_create(&e->jobs_thread, NULL, runner, e) == 0;
    bool ok = e->jobs_running;
    pthread_mutex_unlock(&e->mu);
    return ok ? RAGD_OK : ragd_error_set(err, RAGD_EINTERNAL, "cannot start the job thread");
}

void ragd_jobs_stop(ragd_engine *e)
{
    pthread_mutex_lock(&e->mu);
    bool running = e->jobs_running;
    e->jobs_stop = true;
    pthread_cond_broadcast(&e->jobs_cv);
    pthread_mutex_unlock(&e->mu);
    if (!running) return;
    pthread_join(e->jobs_thread, NULL);
    pthread_mutex_lock(&e->mu);
    e->jobs_running = false;
    pthread_mutex_unlock(&e->mu);
}

ragd_status ragd_job_get(ragd_engine *e, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    rc = jobs_json(e, s, id, out, err);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_jobs_counts(ragd_engine *e, json_t **out, ragd_error *err)
{
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    if (store_pg_attached(e->writer)) {
        pthread_mutex_lock(&e->write_mu);
        rc = store_jobs_counts(e->writer, out, err);
        pthread_mutex_unlock(&e->write_mu);
    } else {
        rc = store_jobs_counts(s->rd, out, err);
    }
    engine_slot_release(e, s);
    return rc;
}
