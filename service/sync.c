/* service/sync.c — the store follower of a `ragd serve` node on a
 * PostgreSQL store of record (store/pg.h, docs/scaling.md).
 *
 * One thread per engine: it holds a LISTEN ragd_changes connection and
 * wakes on a notification or every RAGD_SYNC_POLL_MS (the fallback when a
 * notification is lost or the listener is down), then applies the store's
 * changes to the node's cache on the writer connection, one batch per
 * write_mu hold so local writes and searches' index loads interleave with
 * a long catch-up. After each pass it reads the store's sequences for
 * ragd_ready (GET /readyz): the node is not ready until a pass caught up
 * once. Indexes need no call: a search sees the cache's chunk counter moved
 * and reloads (engine_index_acquire); a collection dropped in the store
 * has its loaded index and snapshot dropped (on_drop), and so has one whose
 * index factory the store changed (on_reindex: the next search rebuilds it
 * with the new factory).
 *
 * With --store-read (a streaming replica) the passes read the replica, but
 * the LISTEN connection stays on the primary: PostgreSQL delivers no
 * NOTIFY on a hot standby (LISTEN is refused there). A notification names
 * the committed sequence; when the replica has not replayed it yet, the
 * pass is repeated after 20 ms, 40 ms, … (below the poll interval) until
 * it has. Without notifications (listener down) the poll still catches up.
 * /readyz then also reports the primary's sequence and the node's lag
 * behind it (sync.lag), beside the replica's.
 *
 * Thread-safety: engine_sync_ready may be called from any thread (state
 * under s->mu); start and stop from the engine's owner.
 */
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "service/engine_internal.h"
#include "store/pg.h"

struct engine_sync {
    pthread_t thread;
    int wake[2]; /* a byte on wake[1] stops the thread */
    _Atomic bool stop;
    pthread_mutex_t mu;
    bool caught_up_once;
    json_t *status;             /* the last store_pg_status, or NULL */
    char error[RAGD_ERROR_MAX]; /* the last pass's error, "" when none */
};

static void on_reindex(void *ctx, const ragd_collection *c)
{
    ragd_engine *e = ctx;
    engine_index_forget(e, c->id);
    char *snap = vindex_snapshot_path(e->writer, c);
    unlink(snap);
    free(snap);
    log_write(LOG_INFO, "index factory changed in the store: the index is rebuilt on next use",
              "collection", c->name, "index", c->settings.index_factory, NULL);
}

static void on_drop(void *ctx, const ragd_collection *c)
{
    ragd_engine *e = ctx;
    engine_index_forget(e, c->id);
    char *snap = vindex_snapshot_path(e->writer, c);
    unlink(snap);
    free(snap);
    log_write(LOG_INFO, "collection dropped: deleted in the store", "collection", c->name, NULL);
}

/* Apply everything pending, a batch per write_mu hold; then read the
 * store's sequences. */
static void sync_pass(ragd_engine *e, struct engine_sync *s)
{
    ragd_error err = {0};
    ragd_status rc = RAGD_OK;
    bool done = false;
    for (;;) {
        pthread_mutex_lock(&e->write_mu);
        rc = store_pg_follow(e->writer, 1, &done, &err);
        pthread_mutex_unlock(&e->write_mu);
        if (rc || done || atomic_load(&s->stop)) break;
    }
    json_t *status = NULL;
    if (!rc) {
        pthread_mutex_lock(&e->write_mu);
        rc = store_pg_status(e->writer, &status, &err);
        pthread_mutex_unlock(&e->write_mu);
    }
    pthread_mutex_lock(&s->mu);
    if (rc) {
        if (strcmp(s->error, err.msg))
            log_write(LOG_WARN, "store sync failed; retrying", "error", err.msg, NULL);
        snprintf(s->error, sizeof s->error, "%s", err.msg);
    } else {
        s->error[0] = 0;
        if (done && !s->caught_up_once) {
            s->caught_up_once = true;
            log_write(LOG_INFO, "caught up with the store", NULL);
        }
        json_decref(s->status);
        s->status = status;
    }
    pthread_mutex_unlock(&s->mu);
}

/* The cache's applied sequence after the last pass (0 before one). */
static int64_t applied_now(struct engine_sync *s)
{
    pthread_mutex_lock(&s->mu);
    int64_t a = (int64_t)json_integer_value(json_object_get(s->status, "applied_seq"));
    pthread_mutex_unlock(&s->mu);
    return a;
}

static void *follow_main(void *arg)
{
    ragd_engine *e = arg;
    struct engine_sync *s = e->sync;
    store_pg_listener *l = NULL;
    int64_t want = 0; /* the newest sequence a notification announced */
    int retry_ms = 0; /* with a replica: the next quick re-read's delay */
    for (;;) {
        if (!l) {
            /* On the primary even with --store-read: a hot standby accepts no LISTEN. */
            ragd_error le = {0};
            if (store_pg_listen(e->o.store_url, &l, &le)) l = NULL; /* poll only, retry later */
        }
        sync_pass(e, s);
        /* A replica may not have replayed the announced commit yet: read it
         * again soon (20 ms, doubling) until it has, rather than waiting for
         * the next poll; without a replica the first pass sees it. */
        int timeout = RAGD_SYNC_POLL_MS;
        if (e->pgread && want > applied_now(s)) {
            retry_ms = retry_ms ? 2 * retry_ms : 20;
            if (retry_ms < RAGD_SYNC_POLL_MS) timeout = retry_ms;
        } else {
            retry_ms = 0;
        }
        struct pollfd fds[2] = {{.fd = s->wake[0], .events = POLLIN},
                                {.fd = l ? store_pg_listener_fd(l) : -1, .events = POLLIN}};
        int n = poll(fds, 2, timeout);
        if (n > 0 && fds[0].revents) break;
        if (l && n > 0 && fds[1].revents) {
            retry_ms = 0;
            if (!store_pg_listener_drain(l, &want)) {
                store_pg_listener_free(l);
                l = NULL;
            }
        }
    }
    store_pg_listener_free(l);
    return NULL;
}

ragd_status engine_sync_start(ragd_engine *e, ragd_error *err)
{
    struct engine_sync *s = ragd_xcalloc(1, sizeof *s);
    if (pipe(s->wake) != 0) {
        free(s);
        return ragd_error_set(err, RAGD_EINTERNAL, "cannot create the sync thread's pipe");
    }
    pthread_mutex_init(&s->mu, NULL);
    store_pg_on_drop(e->writer, on_drop, e);
    store_pg_on_reindex(e->writer, on_reindex, e);
    e->sync = s;
    if (pthread_create(&s->thread, NULL, follow_main, e) != 0) {
        e->sync = NULL;
        close(s->wake[0]);
        close(s->wake[1]);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return ragd_error_set(err, RAGD_EINTERNAL, "cannot start the sync thread");
    }
    return RAGD_OK;
}

void engine_sync_stop(ragd_engine *e)
{
    struct engine_sync *s = e->sync;
    if (!s) return;
    atomic_store(&s->stop, true);
    char b = 1;
    if (write(s->wake[1], &b, 1) != 1) log_write(LOG_WARN, "cannot wake the sync thread", NULL);
    pthread_join(s->thread, NULL);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    json_decref(s->status);
    free(s);
    e->sync = NULL;
}

void engine_sync_ready(ragd_engine *e, json_t *ready)
{
    struct engine_sync *s = e->sync;
    if (!s || !ready) return;
    pthread_mutex_lock(&s->mu);
    json_int_t applied = (json_int_t)json_integer_value(json_object_get(s->status, "applied_seq"));
    json_int_t top = (json_int_t)json_integer_value(json_object_get(s->status, "store_seq"));
    json_t *seqs = json_object_get(s->status, "collections");
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ready, "collections"), i, c)
    {
        json_int_t cs = (json_int_t)json_integer_value(
            json_object_get(seqs, json_string_value(json_object_get(c, "name"))));
        json_object_set_new(c, "store_seq", json_integer(cs));
        json_object_set_new(c, "lag", json_integer(cs > applied ? cs - applied : 0));
    }
    json_t *sj = json_pack("{s:b,s:I,s:I}", "caught_up", s->caught_up_once, "applied_seq", applied,
                           "store_seq", top);
    json_t *prim = json_object_get(s->status, "primary_seq");
    if (prim) { /* --store-read: the replica's view above, the primary's here */
        json_int_t p = (json_int_t)json_integer_value(prim);
        json_object_set_new(sj, "read_replica", json_true());
        json_object_set(sj, "replica_seq", json_object_get(s->status, "replica_seq"));
        json_object_set_new(sj, "primary_seq", json_integer(p));
        json_object_set_new(sj, "lag", json_integer(p > applied ? p - applied : 0));
    }
    if (s->error[0]) json_object_set_new(sj, "error", json_string(s->error));
    if (e->pgpool) json_object_set_new(sj, "pool", store_pg_pool_stats(e->pgpool));
    json_object_set_new(ready, "sync", sj);
    if (!s->caught_up_once) json_object_set_new(ready, "ready", json_false());
    pthread_mutex_unlock(&s->mu);
}
