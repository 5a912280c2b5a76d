/* ingest/workers.c — the serial driver and the worker pool.
 *
 * Serial (one worker): each input is made, prepared and committed in turn
 * on the calling thread. Parallel: worker threads run ingest_prepare, each
 * with its own embedder clone, read-only store connection and generator
 * clone; the calling thread, the only writer, commits in input order. A
 * ring of items is the bounded queue and the reorder buffer at once; a
 * fatal commit error cancels the work still queued. The writer commits the
 * documents in batches (commit.c); a batch still open when the writer would
 * wait past INGEST_BATCH_SECONDS for the next item is committed first, and
 * the last one at the end.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ingest/pipeline_internal.h"

/* --- serial and parallel drivers ------------------------------------------------- */

/* The end of a run's inputs: the last batch committed (also after a fatal
 * error: the documents stored before it stay). */
static ragd_status drive_end(run *r, ragd_status rc, ragd_error *err)
{
    ragd_status brc = ingest_batch_flush(r);
    if (!rc) rc = brc;
    if (rc) ragd_error_set(err, rc, "store failure; stopped ingesting");
    return rc;
}

/* A porter tokenizer for a preparing thread; NULL (the keyword terms are
 * then counted on the writer) if it cannot be made. */
static summary_tokenizer *tokenizer_or_null(void)
{
    summary_tokenizer *t = NULL;
    ragd_error e;
    if (summary_tokenizer_new(&t, &e)) t = NULL;
    return t;
}

ragd_status ingest_run_serial(run *r, input_iter *in, ragd_error *err)
{
    prep_ctx c = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = NULL};
    c.gen = r->gen;
    c.breaker = &r->breaker;
    c.tok = tokenizer_or_null();
    c.meta = r->meta;
    c.lookup = r->st;
    /* Preparing may wait on the network (a remote embedder, an LLM
     * summary): then the batch is committed before each input, so no
     * write lock is held across a call; otherwise at its time bound. */
    bool remote = r->gen || (r->o->embedder && !embedder_is_local(r->o->embedder));
    ragd_status rc = RAGD_OK;
    item *it;
    while (!rc && ingest_next_item(r, in, &it)) {
        ingest_dispatch(r, it);
        if (remote || ingest_batch_stale(r)) rc = ingest_batch_flush(r);
        if (!rc && ingest_needs_work(it)) ingest_prepare(it, &c);
        if (!rc) rc = ingest_commit(r, it, &c);
        ingest_item_free(it);
    }
    summary_tokenizer_free(c.tok);
    return drive_end(r, rc, err);
}

/* Items in flight: at most this many per worker, and raw input bytes up to
 * INFLIGHT_BYTES (at least one item whatever its size). Small documents
 * (a JSONL record is ~1.5 kB) need a deep ring: at 4 per worker the
 * workers waited for the in-order writer often enough to cost ~8 % of
 * SciFact's wall time (4.24-4.73 s at 4, 3.87-4.39 s at 64, alternated);
 * the byte bound still caps memory for large files. */
#define ITEMS_PER_WORKER 64
#define INFLIGHT_BYTES (64u * 1024u * 1024u)

typedef struct pool pool;

typedef struct {
    pool *p;
    prep_ctx ctx;
    ragd_store *reader; /* owned: embedding-cache lookups */
    ragd_embedder *emb; /* owned clone of o->embedder */
    /* owned clone of the run's generator (llm summaries), or NULL */
    ragd_generator *gen;
    summary_tokenizer *tok; /* owned, or NULL */
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
    /* Committed items for a worker to free (a stack through spent_next).
     * Most of an item's memory comes from its worker's malloc arena; when
     * the writer freed it, every free that missed its tcache locked that
     * arena while the worker was allocating there, and the writer, the
     * critical path, slept on the lock: 0.46 s of SciFact's ~4 s
     * (docs/benchmarks.md, "Twelfth session"). */
    item *spent;
    worker *w;
    int nworkers;
    size_t inflight; /* raw bytes of [head, tail) (writer only) */
};

/* Free a list of spent items. Called without the pool's mutex. */
static void spent_free(item *it)
{
    while (it) {
        item *next = it->spent_next;
        ingest_item_free(it);
        it = next;
    }
}

/* Hand a committed item to the workers to free (writer only). */
static void pool_retire(pool *p, item *it)
{
    pthread_mutex_lock(&p->mu);
    it->spent_next = p->spent;
    p->spent = it;
    pthread_cond_signal(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    pool *p = w->p;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->take == p->tail && !p->spent)
            pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->spent) {
            item *spent = p->spent;
            p->spent = NULL;
            pthread_mutex_unlock(&p->mu);
            spent_free(spent);
            pthread_mutex_lock(&p->mu);
            continue;
        }
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

/* The pool and its workers, each with its own embedder clone, reader
 * (embedding-cache and stored-hash look-ups), generator clone and
 * tokenizer. */
static ragd_status pool_start(pool *p, run *r, int nworkers, ragd_error *err)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    pthread_mutex_init(&p->pdf_mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->cap = (size_t)nworkers * ITEMS_PER_WORKER;
    p->ring = ragd_xcalloc(p->cap, sizeof *p->ring);
    p->w = ragd_xcalloc((size_t)nworkers, sizeof *p->w);
    p->nworkers = nworkers;
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < nworkers && !rc; i++) {
        worker *w = &p->w[i];
        w->p = p;
        if (r->o->embedder) {
            rc = embedder_clone(r->o->embedder, &w->emb, err);
            if (!rc) rc = store_open_reader(store_dir(r->st), &w->reader, err);
        } else {
            ragd_error re;
            /* Without it only the JSONL records' shortcut look-up is lost. */
            if (store_open_reader(store_dir(r->st), &w->reader, &re)) w->reader = NULL;
        }
        if (!rc && r->gen) rc = generator_clone(r->gen, &w->gen, err);
        w->tok = tokenizer_or_null();
        w->ctx = (prep_ctx){
            .coll = r->coll, .o = r->o, .cache = w->reader, .emb = w->emb, .pdf_mu = &p->pdf_mu};
        w->ctx.gen = w->gen;
        w->ctx.breaker = &r->breaker;
        w->ctx.tok = w->tok;
        w->ctx.meta = r->meta;
        w->ctx.lookup = w->reader;
        if (!rc) {
            if (pthread_create(&w->th, NULL, worker_main, w) != 0)
                rc = ragd_error_set(err, RAGD_EINTERNAL, "cannot start an ingest worker thread");
            else
                w->started = true;
        }
    }
    return rc;
}

static void pool_stop(pool *p)
{
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++) {
        worker *w = &p->w[i];
        if (w->started) pthread_join(w->th, NULL);
        embedder_free(w->emb);
        generator_free(w->gen);
        store_close(w->reader);
        summary_tokenizer_free(w->tok);
    }
    spent_free(p->spent); /* what the workers left, or all if none started */
    p->spent = NULL;
    free(p->w);
    free(p->ring);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    pthread_mutex_destroy(&p->pdf_mu);
    pthread_mutex_destroy(&p->mu);
}

/* Make items until the ring or the byte bound is full; false when the
 * inputs are exhausted. */
static bool pool_fill(pool *p, run *r, input_iter *in)
{
    while (p->tail - p->head < p->cap && (p->tail == p->head || p->inflight < INFLIGHT_BYTES)) {
        item *it;
        if (!ingest_next_item(r, in, &it)) return false;
        ingest_dispatch(r, it);
        p->inflight += it->size;
        pthread_mutex_lock(&p->mu);
        it->ready = !ingest_needs_work(it);
        p->ring[p->tail++ % p->cap] = it;
        pthread_cond_signal(&p->work_cv);
        pthread_mutex_unlock(&p->mu);
    }
    return true;
}

/* Wait until the item at head is prepared and take it. While waiting, an
 * open batch older than INGEST_BATCH_SECONDS is committed (*rc: its
 * status), so a slow item does not hold finished documents uncommitted. */
static item *pool_take_head(pool *p, run *r, ragd_status *rc)
{
    pthread_mutex_lock(&p->mu);
    item *it = p->ring[p->head % p->cap];
    while (!it->ready) {
        if (!r->batch.open) {
            pthread_cond_wait(&p->done_cv, &p->mu);
            continue;
        }
        double due = r->batch.t0 + INGEST_BATCH_SECONDS;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        double wait = due - ingest_now();
        if (wait > 0) {
            long ns = ts.tv_nsec + (long)(wait * 1e9);
            ts.tv_sec += ns / 1000000000L;
            ts.tv_nsec = ns % 1000000000L;
            pthread_cond_timedwait(&p->done_cv, &p->mu, &ts);
        }
        if (!it->ready && ingest_batch_stale(r)) {
            pthread_mutex_unlock(&p->mu);
            ragd_status brc = ingest_batch_flush(r);
            if (!*rc) *rc = brc;
            pthread_mutex_lock(&p->mu);
        }
    }
    p->ring[p->head % p->cap] = NULL;
    p->head++;
    if (p->take < p->head) p->take = p->head; /* marks the workers have not looked at */
    pthread_mutex_unlock(&p->mu);
    p->inflight -= it->size;
    return it;
}

ragd_status ingest_run_parallel(run *r, input_iter *in, int nworkers, ragd_error *err)
{
    pool p;
    ragd_status rc = pool_start(&p, r, nworkers, err);
    if (rc) {
        pool_stop(&p);
        return rc;
    }
    /* The writer's own context, for an item to prepare again (see commit). */
    prep_ctx wctx = {
        .coll = r->coll, .o = r->o, .cache = r->st, .emb = r->o->embedder, .pdf_mu = &p.pdf_mu};
    wctx.gen = r->gen;
    wctx.breaker = &r->breaker;
    wctx.tok = tokenizer_or_null();
    wctx.meta = r->meta;
    wctx.lookup = r->st;
    bool more = true;
    for (;;) {
        if (more && !rc) more = pool_fill(&p, r, in);
        if (p.head == p.tail) break;
        item *it = pool_take_head(&p, r, &rc);
        if (!rc) rc = ingest_commit(r, it, &wctx);
        if (rc) {
            pthread_mutex_lock(&p.mu);
            p.cancel = true;
            pthread_mutex_unlock(&p.mu);
        }
        pool_retire(&p, it);
    }
    pool_stop(&p);
    summary_tokenizer_free(wctx.tok);
    return drive_end(r, rc, err);
}
