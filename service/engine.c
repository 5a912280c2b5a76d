/* service/engine.c — the engine handle: writer, request slots, shared
 * vector indexes (see ragd.h for the design).
 *
 * Locks, always taken in this order: write_mu (the writer connection and
 * index loading), then an index entry's rwlock; mu guards only the slot and
 * index tables and is never held while waiting for another lock.
 */
#include "service/engine_internal.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "store/pg.h"

/* The node's name in the shared call log: opts.node, RAGD_NODE, or host:pid. */
static void engine_node_name(ragd_engine *e)
{
    const char *n = e->o.node ? e->o.node : getenv("RAGD_NODE");
    if (n && *n) {
        snprintf(e->node, sizeof e->node, "%s", n);
        return;
    }
    char host[64] = "";
    if (gethostname(host, sizeof host - 1) != 0) snprintf(host, sizeof host, "localhost");
    snprintf(e->node, sizeof e->node, "%s:%ld", host, (long)getpid());
}

ragd_status ragd_engine_open(const char *data_dir, const ragd_engine_opts *opts, ragd_engine **out,
                             ragd_error *err)
{
    *out = NULL;
    ragd_engine_opts o = {0};
    if (opts) o = *opts;
    if (!o.slots) o.slots = 8;
    if (o.slots > ENGINE_MAX_SLOTS) o.slots = ENGINE_MAX_SLOTS;
    if (o.ngenerators > RAGD_MAX_GENERATORS)
        return ragd_error_set(err, RAGD_EUSAGE, "at most %d generation models",
                              RAGD_MAX_GENERATORS);
    if (o.generator_route && o.ngenerators != 2)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--generator-route needs exactly two models (small=M1,large=M2)");
    for (size_t i = 0; i < o.ngenerators;
         i++) { /* a bad configuration fails now, not per request */
        ragd_generator *g = NULL;
        ragd_status rc = generator_new(&o.generators[i], &g, err);
        generator_free(g);
        if (rc) return rc;
    }
    if (!o.create && !o.store_url && !store_exists(data_dir))
        return ragd_error_set(err, RAGD_ENOTFOUND,
                              "no ragd data in '%s'; ingest something first (ragd ingest PATH)",
                              data_dir);
    ragd_engine *e = ragd_xcalloc(1, sizeof *e);
    e->dir = ragd_xstrdup(data_dir);
    e->o = o;
    ragd_status rc = store_open(data_dir, &e->writer, err);
    if (!rc && o.store_url)
        rc = store_pg_pool_open(o.store_url,
                                o.store_pool ? o.store_pool : store_pg_pool_default_size(),
                                &e->pgpool, err);
    if (!rc && o.store_read_url && (!o.store_url || !o.follow))
        rc = ragd_error_set(err, RAGD_EUSAGE,
                            "--store-read needs --store (the primary) and ragd serve");
    if (!rc && o.store_read_url && !store_pg_url(o.store_read_url))
        rc = ragd_error_set(err, RAGD_EUSAGE,
                            "--store-read must be a postgresql:// URL (a streaming replica of "
                            "--store)");
    /* Two connections: the follower's batches and the status scan. */
    if (!rc && o.store_read_url)
        rc = store_pg_pool_open_read(o.store_read_url, 2, e->pgpool, &e->pgread, err);
    if (!rc && o.store_url) rc = store_pg_attach_pool(e->writer, e->pgpool, !o.follow, err);
    if (!rc && e->pgread) store_pg_set_read_pool(e->writer, e->pgread);
    engine_node_name(e);
    if (rc) {
        store_close(e->writer);
        store_pg_pool_free(e->pgread);
        store_pg_pool_free(e->pgpool);
        free(e->dir);
        free(e);
        return rc;
    }
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    pthread_mutex_init(&e->write_mu, NULL);
    pthread_mutex_init(&e->auth_mu, NULL);
    pthread_cond_init(&e->jobs_cv, NULL);
    e->cache = result_cache_new(o.cache_size, o.cache_ttl_s);
    e->providers = provider_stats_new();
    e->nslots = o.slots;
    e->slots = ragd_xcalloc(e->nslots, sizeof *e->slots);
    /* Every embedder and generator of the engine shares these. */
    e->o.embed.breakers = breakers_new(o.breaker_failures, o.breaker_cooldown_s);
    if (o.store_url && o.follow && (rc = engine_sync_start(e, err))) {
        ragd_engine_free(e);
        return rc;
    }
    *out = e;
    return RAGD_OK;
}

static void slot_clear(engine_slot *s)
{
    for (size_t i = 0; i < s->nemb; i++)
        embedder_free(s->emb[i].emb);
    s->nemb = 0;
    reranker_free(s->reranker);
    s->reranker = NULL;
    for (size_t i = 0; i < s->ngens; i++)
        generator_free(s->gens[i]);
    s->ngens = 0;
    store_close(s->rd);
    s->rd = NULL;
}

void ragd_engine_free(ragd_engine *e)
{
    if (!e) return;
    engine_sync_stop(e);
    ragd_jobs_stop(e);
    for (size_t i = 0; i < e->nslots; i++)
        slot_clear(&e->slots[i]);
    free(e->slots);
    for (size_t i = 0; i < e->nidx; i++) {
        vindex_free(e->idx[i]->vi);
        pthread_rwlock_destroy(&e->idx[i]->lock);
        free(e->idx[i]);
    }
    for (size_t i = 0; i < e->nwemb; i++)
        embedder_free(e->wemb[i].emb);
    store_close(e->writer);
    breakers_free(e->o.embed.breakers); /* after every client that holds one */
    store_pg_pool_free(e->pgread);      /* after the writer, whose store_pg uses them */
    store_pg_pool_free(e->pgpool);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    pthread_mutex_destroy(&e->write_mu);
    pthread_mutex_destroy(&e->auth_mu);
    pthread_cond_destroy(&e->jobs_cv);
    json_decref(e->keys);
    result_cache_free(e->cache);
    provider_stats_free(e->providers);
    free(e->dir);
    free(e);
}

json_t *ragd_engine_stats(ragd_engine *e)
{
    return json_pack("{s:o,s:o}", "cache", result_cache_stats(e->cache), "providers",
                     provider_stats_json(e->providers));
}

const char *ragd_engine_dir(const ragd_engine *e)
{
    return e->dir;
}

/* --- request slots ------------------------------------------------------------------ */

ragd_status engine_slot_acquire(ragd_engine *e, engine_slot **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->mu);
    engine_slot *s = NULL;
    for (;;) {
        for (size_t i = 0; i < e->nslots && !s; i++)
            if (!e->slots[i].busy) s = &e->slots[i];
        if (s) break;
        pthread_cond_wait(&e->cv, &e->mu);
    }
    s->busy = true;
    pthread_mutex_unlock(&e->mu);
    if (!s->rd) {
        ragd_status rc = store_open_reader(e->dir, &s->rd, err);
        if (rc) {
            engine_slot_release(e, s);
            return rc;
        }
    }
    *out = s;
    return RAGD_OK;
}

void engine_slot_release(ragd_engine *e, engine_slot *s)
{
    pthread_mutex_lock(&e->mu);
    s->busy = false;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
}

/* An embedder for coll in a small per-owner table (a slot's or the
 * writer's), created on first use. A collection id is reused only after a
 * collection is deleted, so entries are keyed by id and settings name. */
static ragd_status table_embedder(ragd_engine *e, engine_emb *tab, size_t *n,
                                  const ragd_collection *coll, ragd_embedder **out, ragd_error *err)
{
    for (size_t i = 0; i < *n; i++)
        if (tab[i].coll == coll->id && !strcmp(tab[i].model, coll->settings.embed_model)) {
            *out = tab[i].emb;
            return RAGD_OK;
        }
    ragd_settings s = coll->settings;
    ragd_embedder *emb = NULL;
    ragd_status rc = embedder_for_settings(&s, &e->o.embed, &emb, err);
    if (rc) return rc;
    if (*n == ENGINE_MAX_EMB) { /* full: drop the oldest */
        embedder_free(tab[0].emb);
        memmove(tab, tab + 1, (ENGINE_MAX_EMB - 1) * sizeof *tab);
        (*n)--;
    }
    tab[*n].coll = coll->id;
    snprintf(tab[*n].model, sizeof tab[*n].model, "%s", coll->settings.embed_model);
    tab[*n].emb = emb;
    (*n)++;
    *out = emb;
    return RAGD_OK;
}

ragd_status engine_slot_embedder(ragd_engine *e, engine_slot *s, const ragd_collection *coll,
                                 ragd_embedder **out, ragd_error *err)
{
    return table_embedder(e, s->emb, &s->nemb, coll, out, err);
}

ragd_status engine_writer_embedder(ragd_engine *e, const ragd_collection *coll, ragd_embedder **out,
                                   ragd_error *err)
{
    return table_embedder(e, e->wemb, &e->nwemb, coll, out, err);
}

ragd_status engine_slot_reranker(ragd_engine *e, engine_slot *s, ragd_reranker **out,
                                 ragd_error *err)
{
    *out = NULL;
    if (!e->o.rerank.url) return RAGD_OK;
    if (!s->reranker) {
        ragd_status rc = reranker_new(&e->o.rerank, &s->reranker, err);
        if (rc) return rc;
        reranker_use_breakers(s->reranker, e->o.embed.breakers);
    }
    *out = s->reranker;
    return RAGD_OK;
}

ragd_status engine_slot_generators(ragd_engine *e, engine_slot *s, ragd_generator *const **out,
                                   size_t *n, ragd_error *err)
{
    if (s->ngens < e->o.ngenerators) {
        for (size_t i = s->ngens; i < e->o.ngenerators; i++) {
            ragd_status rc = generator_new(&e->o.generators[i], &s->gens[i], err);
            if (rc) return rc;
            generator_use_breakers(s->gens[i], e->o.embed.breakers);
            s->ngens = i + 1;
        }
    }
    *out = s->gens;
    *n = s->ngens;
    return RAGD_OK;
}

int ragd_provider_retry_after(ragd_engine *e)
{
    return e ? breakers_retry_after(e->o.embed.breakers) : 0;
}

/* --- shared vector indexes ------------------------------------------------------------- */

static engine_index *index_entry(ragd_engine *e, int64_t coll, bool create)
{
    pthread_mutex_lock(&e->mu);
    engine_index *x = NULL;
    for (size_t i = 0; i < e->nidx && !x; i++)
        if (e->idx[i]->coll == coll) x = e->idx[i];
    if (!x && create && e->nidx < ENGINE_MAX_INDEXES) {
        x = ragd_xcalloc(1, sizeof *x);
        x->coll = coll;
        pthread_rwlock_init(&x->lock, NULL);
        e->idx[e->nidx++] = x;
    }
    pthread_mutex_unlock(&e->mu);
    return x;
}

/* Load coll's index on the writer (write_mu held), with the fingerprint
 * to remember. The chunk counter is read before loading, so a chunk added
 * by another process meanwhile still shows as news; deletions and the
 * checksum after, so this load's own snapshot save is not news. A deletion
 * by another process in between may go unnoticed until the next change;
 * that costs recall only, never correctness (dense hits are re-checked in
 * SQLite). */
static ragd_status index_load(ragd_engine *e, const ragd_collection *coll, ragd_vindex **vi,
                              store_index_fingerprint *seen, ragd_error *err)
{
    store_index_fingerprint before, after;
    ragd_status rc = store_index_fingerprint_get(e->writer, coll->id, &before, err);
    if (!rc) rc = vindex_open(e->writer, coll, vi, NULL, err);
    if (rc) return rc;
    ragd_error ie = {0};
    if (store_index_fingerprint_get(e->writer, coll->id, &after, &ie)) after = before;
    *seen = after;
    seen->chunk_seq = before.chunk_seq;
    return RAGD_OK;
}

/* Swap a loaded index in (takes the exclusive lock); frees the old one. */
static void index_install(engine_index *x, ragd_vindex *nv, const store_index_fingerprint *seen)
{
    pthread_rwlock_wrlock(&x->lock);
    ragd_vindex *old = x->vi;
    x->vi = nv;
    atomic_store(&x->seen_seq, seen->chunk_seq);
    x->seen_deleted = seen->deleted;
    memcpy(x->seen_checksum, seen->checksum, sizeof x->seen_checksum);
    pthread_rwlock_unlock(&x->lock);
    vindex_free(old);
}

/* With x->lock held (shared or exclusive) and x->vi loaded: whether the
 * index still reflects the store as read through st. A failed check counts
 * as fresh (the loaded index is served; the next search checks again). */
static bool index_fresh(engine_index *x, ragd_store *st)
{
    store_index_fingerprint now;
    ragd_error ie = {0};
    if (store_index_fingerprint_get(st, x->coll, &now, &ie)) return true;
    if (now.deleted != x->seen_deleted || strcmp(now.checksum, x->seen_checksum) != 0) return false;
    int64_t seen = atomic_load(&x->seen_seq);
    if (now.chunk_seq == seen) return true;
    bool newer = false;
    if (store_vectors_newer(st, x->coll, vindex_last_chunk_id(x->vi), &newer, &ie)) return true;
    if (newer) return false;
    /* The new chunks are other collections': remember, so the next search
     * does not look again. */
    atomic_compare_exchange_strong(&x->seen_seq, &seen, now.chunk_seq);
    return true;
}

ragd_status engine_index_acquire(ragd_engine *e, ragd_store *rd, const ragd_collection *coll,
                                 engine_index **out, ragd_error *err)
{
    *out = NULL;
    engine_index *x = index_entry(e, coll->id, true);
    if (!x)
        return ragd_error_set(err, RAGD_EINTERNAL, "too many collections with loaded indexes (%d)",
                              ENGINE_MAX_INDEXES);
    pthread_rwlock_rdlock(&x->lock);
    if (x->vi && index_fresh(x, rd)) {
        *out = x;
        return RAGD_OK;
    }
    pthread_rwlock_unlock(&x->lock);
    /* First use, or the store moved on: load on the writer connection,
     * unless another thread did while this one waited for write_mu. */
    pthread_mutex_lock(&e->write_mu);
    pthread_rwlock_rdlock(&x->lock);
    bool first = !x->vi;
    bool need = first || !index_fresh(x, e->writer);
    pthread_rwlock_unlock(&x->lock);
    ragd_status rc = RAGD_OK;
    if (need) {
        ragd_vindex *nv = NULL;
        store_index_fingerprint seen;
        rc = index_load(e, coll, &nv, &seen, err);
        if (!rc) index_install(x, nv, &seen);
        if (!rc && !first)
            log_write(LOG_INFO, "index reloaded: the store changed in another process",
                      "collection", coll->name, NULL);
    }
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    pthread_rwlock_rdlock(&x->lock);
    *out = x;
    return RAGD_OK;
}

void engine_index_release(engine_index *x)
{
    if (x) pthread_rwlock_unlock(&x->lock);
}

ragd_status engine_index_refresh(ragd_engine *e, const ragd_collection *coll, ragd_error *err)
{
    engine_index *x = index_entry(e, coll->id, false);
    if (!x) return RAGD_OK; /* never loaded: the next search loads the current one */
    ragd_vindex *nv = NULL;
    store_index_fingerprint seen;
    ragd_status rc = index_load(e, coll, &nv, &seen, err);
    if (rc) return rc;
    index_install(x, nv, &seen);
    return RAGD_OK;
}

void engine_index_forget(ragd_engine *e, int64_t coll)
{
    engine_index *x = index_entry(e, coll, false);
    if (!x) return;
    pthread_rwlock_wrlock(&x->lock);
    vindex_free(x->vi);
    x->vi = NULL;
    pthread_rwlock_unlock(&x->lock);
}

json_t *engine_index_report(ragd_engine *e)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&e->mu);
    size_t n = e->nidx;
    engine_index *list[ENGINE_MAX_INDEXES];
    memcpy(list, e->idx, n * sizeof *list);
    pthread_mutex_unlock(&e->mu);
    for (size_t i = 0; i < n; i++) {
        pthread_rwlock_rdlock(&list[i]->lock);
        if (list[i]->vi)
            json_array_append_new(arr,
                                  json_pack("{s:I,s:I}", "collection_id", (json_int_t)list[i]->coll,
                                            "vectors", (json_int_t)vindex_count(list[i]->vi)));
        pthread_rwlock_unlock(&list[i]->lock);
    }
    return arr;
}

json_t *ragd_engine_index_report(ragd_engine *e)
{
    return engine_index_report(e);
}
