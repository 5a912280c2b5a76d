/* ingest/workers.c — the serial driver and the worker pool.
 *
 * Serial (one worker): each input is made, prepared and committed in turn
 * on the calling thread. Parallel: worker threads run ingest_prepare, each
 * with its own embedder clone, read-only store connection and generator
 * clone; the calling thread, the only writer, commits in input order. A
 * ring of items is the bounded queue and the reorder buffer at once; a
 * fatal commit error cancels the work still queued.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "ingest/pipeline_internal.h"

/* --- serial and parallel drivers ------------------------------------------------- */

ragd_status ingest_run_serial(run *r, input_iter *in, ragd_error *err)
{
    prep_ctx c = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = NULL};
    c.gen = r->gen;
    c.breaker = &r->breaker;
    ragd_status rc = RAGD_OK;
    item *it;
    while (!rc && ingest_next_item(r, in, &it)) {
        ingest_dispatch(r, it);
        if (ingest_needs_work(it)) ingest_prepare(it, &c);
        rc = ingest_commit(r, it, &c);
        ingest_item_free(it);
    }
    if (rc) ragd_error_set(err, rc, "store failure; stopped ingesting");
    return rc;
}

/* Items in flight: at most this many per worker, and raw input bytes up to
 * INFLIGHT_BYTES (at least one item whatever its size). */
#define ITEMS_PER_WORKER 4
#define INFLIGHT_BYTES (64u * 1024u * 1024u)

typedef struct pool pool;

typedef struct {
    pool *p;
    prep_ctx ctx;
    ragd_store *reader; /* owned: embedding-cache lookups */
    ragd_embedder *emb; /* owned clone of o->embedder */
    /* owned clone of the run's generator (llm summaries), or NULL */
    ragd_generator *gen;
    pthread_t th;
    bool started;
} worker;

/* A ring of items in input order: [head, tail) are in flight; workers take
 * them in order at `take`; the writer commits at head once ready. The ring
 * is the bounded queue and the reorder buffer at once. */
struct pool {
    pthread_mutex_t mu;
    pthread_cond_t work_cv; /* an item was added, or stop */
    pthread_cond_t done_cv; /* an item became ready */
    pthread_mutex_t pdf_mu;
    item **ring;
    size_t cap, head, take, tail;
    bool stop;   /* no more items: workers exit */
    bool cancel; /* a fatal error: skip the work of items still queued */
};

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->take == p->tail)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->take == p->tail) break;
        item *it = p->ring[p->take++ % p->cap];
        if (it->ready) continue;
        bool cancel = p->cancel;
        pthread_mutex_unlock(&p->mu);
        if (!cancel) ingest_prepare(it, &w->ctx);
        pthread_mutex_lock(&p->mu);
        it->ready = true;
        pthread_cond_broadcast(&p->done_cv);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

ragd_status ingest_run_parallel(run *r, input_iter *in, int nworkers, ragd_error *err)
{
    pool p;
    memset(&p, 0, sizeof p);
    pthread_mutex_init(&p.mu, NULL);
    pthread_mutex_init(&p.pdf_mu, NULL);
    pthread_cond_init(&p.work_cv, NULL);
    pthread_cond_init(&p.done_cv, NULL);
    p.cap = (size_t)nworkers * ITEMS_PER_WORKER;
    p.ring = ragd_xcalloc(p.cap, sizeof *p.ring);
    worker *w = ragd_xcalloc((size_t)nworkers, sizeof *w);
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < nworkers && !rc; i++) {
        w[i].p = &p;
        if (r->o->embedder) {
            rc = embedder_clone(r->o->embedder, &w[i].emb, err);
            if (!rc) rc = store_open_reader(store_dir(r->st), &w[i].reader, err);
        }
        if (!rc && r->gen) rc = generator_clone(r->gen, &w[i].gen, err);
        w[i].ctx = (prep_ctx){
            .coll = r->coll, .o = r->o, .cache = w[i].reader, .emb = w[i].emb, .pdf_mu = &p.pdf_mu};
        w[i].ctx.gen = w[i].gen;
        w[i].ctx.breaker = &r->breaker;
        if (!rc) {
            if (pthread_create(&w[i].th, NULL, worker_main, &w[i]) != 0)
                rc = ragd_error_set(err, RAGD_EINTERNAL, "cannot start an ingest worker thread");
            else
                w[i].started = true;
        }
    }
    /* The writer's own context, for an item to prepare again (see commit). */
    prep_ctx wctx = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = &p.pdf_mu};
    wctx.gen = r->gen;
    wctx.breaker = &r->breaker;
    size_t inflight = 0;
    bool more = !rc;
    for (;;) {
        while (more && !rc && p.tail - p.head < p.cap &&
               (p.tail == p.head || inflight < INFLIGHT_BYTES)) {
            item *it;
            if (!ingest_next_item(r, in, &it)) {
                more = false;
                break;
            }
            ingest_dispatch(r, it);
            inflight += it->size;
            pthread_mutex_lock(&p.mu);
            it->ready = !ingest_needs_work(it);
            p.ring[p.tail++ % p.cap] = it;
            pthread_cond_signal(&p.work_cv);
            pthread_mutex_unlock(&p.mu);
        }
        if (p.head == p.tail) break;
        pthread_mutex_lock(&p.mu);
        item *it = p.ring[p.head % p.cap];
        while (!it->ready)
            pthread_cond_wait(&p.done_cv, &p.mu);
        p.ring[p.head % p.cap] = NULL;
        p.head++;
        if (p.take < p.head) p.take = p.head; /* marks the workers have not looked at */
        pthread_mutex_unlock(&p.mu);
        inflight -= it->size;
        if (!rc) {
            rc = ingest_commit(r, it, &wctx);
            if (rc) {
                ragd_error_set(err, rc, "store failure; stopped ingesting");
                pthread_mutex_lock(&p.mu);
                p.cancel = true;
                pthread_mutex_unlock(&p.mu);
            }
        }
        ingest_item_free(it);
    }
    pthread_mutex_lock(&p.mu);
    p.stop = true;
    pthread_cond_broadcast(&p.work_cv);
    pthread_mutex_unlock(&p.mu);
    for (int i = 0; i < nworkers; i++) {
        if (w[i].started) pthread_join(w[i].th, NULL);
        embedder_free(w[i].emb);
        generator_free(w[i].gen);
        store_close(w[i].reader);
    }
    free(w);
    free(p.ring);
    pthread_cond_destroy(&p.work_cv);
    pthread_cond_destroy(&p.done_cv);
    pthread_mutex_destroy(&p.pdf_mu);
    pthread_mutex_destroy(&p.mu);
    return rc;
}
