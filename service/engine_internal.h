/* service/engine_internal.h — the engine's parts, private to service/.
 *
 * Slots: a request takes a slot (waiting while all are busy), uses its
 * read-only SQLite connection and its per-collection embedders, and gives
 * it back. Index entries: a collection's shared FAISS index behind a
 * reader-writer lock; searches hold it shared for the dense stage.
 *
 * Thread-safety: every function may be called from any thread; the
 * writer-side ones (engine_writer_embedder, engine_index_refresh,
 * engine_index_forget) need e->write_mu held by the caller.
 */
#ifndef RAGD_SERVICE_ENGINE_INTERNAL_H
#define RAGD_SERVICE_ENGINE_INTERNAL_H

#include <pthread.h>

#include "answer/answer.h"
#include "index/vector.h"
#include "ingest/ingest.h"
#include "provider/provider.h"
#include "provider/rerank.h"
#include "service/cache.h"
#include "service/ragd.h"
#include "service/stats.h"
#include "store/pg.h"
#include "store/store.h"

#define ENGINE_MAX_SLOTS 256
#define ENGINE_MAX_EMB 8
#define ENGINE_MAX_INDEXES 1024

typedef struct {
    int64_t coll;
    char model[128];
    ragd_embedder *emb;
} engine_emb;

typedef struct {
    bool busy;
    ragd_store *rd; /* read-only connection (store_open_reader) */
    engine_emb emb[ENGINE_MAX_EMB];
    size_t nemb;
    ragd_reranker *reranker; /* created on first use when the engine has a rerank URL */
    ragd_generator *gens[RAGD_MAX_GENERATORS]; /* answer generation, created on first use */
    size_t ngens;
} engine_slot;

typedef struct {
    int64_t coll;
    pthread_rwlock_t lock;
    ragd_vindex *vi; /* NULL until first loaded; its store is the engine's writer */
    /* The store as it was when vi was loaded (written under the exclusive
     * lock): a search compares it with the store's current fingerprint to
     * notice writes by other processes (see engine_index_acquire). The
     * chunk counter alone is also advanced, atomically, by searches that
     * found the newer chunks belong to other collections. */
    _Atomic int64_t seen_seq;
    int64_t seen_deleted;
    char seen_checksum[65];
} engine_index;

struct ragd_engine {
    char *dir;
    ragd_engine_opts o;
    ragd_store *writer; /* guarded by write_mu */
    pthread_mutex_t write_mu;
    engine_emb wemb[ENGINE_MAX_EMB]; /* the writer's embedders (write_mu) */
    size_t nwemb;
    pthread_mutex_t mu; /* slots[].busy and idx[] */
    pthread_cond_t cv;
    engine_slot *slots;
    size_t nslots;
    engine_index *idx[ENGINE_MAX_INDEXES];
    size_t nidx;
    /* API keys (service/auth.c): the active keys with their hashes, reloaded
     * when older than a second, so a revocation by another process takes
     * effect within a second. Guarded by auth_mu. */
    /* Background jobs (service/jobs.c), guarded by mu; jobs_cv wakes the runner. */
    pthread_t jobs_thread;
    bool jobs_running, jobs_stop;
    pthread_cond_t jobs_cv;
    pthread_mutex_t auth_mu;
    json_t *keys;
    double keys_loaded_at;
    result_cache *cache;       /* search and answer results (service/cache.h) */
    provider_stats *providers; /* generation calls by kind and model (service/stats.h) */
    struct engine_sync *sync;  /* the store follower (service/sync.c), or NULL */
    store_pg_pool *pgpool;     /* with --store: the writer's and the call log's connections */
    store_pg_pool *pgread;     /* with --store-read: the follower's replica connections */
    char node[128];            /* this node's name in the shared call log */
};

ragd_status engine_slot_acquire(ragd_engine *e, engine_slot **out, ragd_error *err);
void engine_slot_release(ragd_engine *e, engine_slot *s);
ragd_status engine_slot_embedder(ragd_engine *e, engine_slot *s, const ragd_collection *coll,
                                 ragd_embedder **out, ragd_error *err);
ragd_status engine_slot_reranker(ragd_engine *e, engine_slot *s, ragd_reranker **out,
                                 ragd_error *err);
/* The slot's generation clients (*n = 0: extractive). */
ragd_status engine_slot_generators(ragd_engine *e, engine_slot *s, ragd_generator *const **out,
                                   size_t *n, ragd_error *err);
ragd_status engine_writer_embedder(ragd_engine *e, const ragd_collection *coll, ragd_embedder **out,
                                   ragd_error *err);

/* The collection's shared index, loaded on first use, returned with its
 * lock held shared: release with engine_index_release. rd is the caller's
 * read connection: when the store changed since the index was loaded in a
 * way this process did not apply (another process ingested, deleted or
 * saved a newer snapshot), the index is reloaded first, so a server sees
 * a CLI's ingest at its next search. */
ragd_status engine_index_acquire(ragd_engine *e, ragd_store *rd, const ragd_collection *coll,
                                 engine_index **out, ragd_error *err);
void engine_index_release(engine_index *x);

/* After a write to coll (write_mu held): load the caught-up index and swap
 * it in under the exclusive lock. A collection never loaded is left alone. */
ragd_status engine_index_refresh(ragd_engine *e, const ragd_collection *coll, ragd_error *err);

/* Drop a deleted collection's loaded index (write_mu held). */
void engine_index_forget(ragd_engine *e, int64_t coll);

/* Ingest documents [from, to) of docs (an array, or one document object)
 * into collection coll through the writer, then refresh its index. The
 * ingest report in *out. */
ragd_status engine_ingest_docs(ragd_engine *e, const char *coll, const json_t *docs, size_t from,
                               size_t to, json_t **out, ragd_error *err);

/* Ingest in-memory documents t[0..n) into coll through the writer, then
 * refresh its index (the locked half of engine_ingest_docs). */
ragd_status engine_ingest_texts(ragd_engine *e, const char *coll, const ingest_text *t, size_t n,
                                json_t **out, ragd_error *err);

/* Queue a job of another kind: payload is written beside the store and
 * handed back to the kind's runner; total is the progress total. */
ragd_status engine_job_submit_kind(ragd_engine *e, const char *coll, const char *kind,
                                   const json_t *payload, size_t total, json_t **out,
                                   ragd_error *err);

/* The runner of a "vector_store_file" job (service/ops_files.c): ingest
 * the file named by payload {"file_id","attributes"} into coll and record
 * the attachment's final status. RAGD_OK when the status was recorded. */
ragd_status engine_vsfile_run(ragd_engine *e, const char *coll, const json_t *payload,
                              ragd_error *err);

/* "<prefix><24 random hex digits>" into out (service/ops_files.c). */
ragd_status engine_new_id(const char *prefix, char *out, size_t size, ragd_error *err);

/* Drop f's owner_key; RAGD_ENOTFOUND when who may not see f (ragd.h). */
ragd_status engine_file_public(const ragd_principal *who, json_t *f);

/* Every uploaded file (of purpose, when not NULL), newest first, with
 * owner_key. */
ragd_status engine_files_json(ragd_engine *e, const char *purpose, json_t **out, ragd_error *err);

/* ragd_search with a typed attribute filter (NULL: none) added to the
 * request's options (service/ops_query.c). */
ragd_status engine_search_filtered(ragd_engine *e, const json_t *req, const json_t *attr_filter,
                                   json_t **out, ragd_error *err);

/* Jobs (service/jobs.c): whether the runner is on, and queue an ingest of
 * docs (checked already) into coll; *out is the job object. */
bool engine_jobs_running(ragd_engine *e);
ragd_status engine_job_submit(ragd_engine *e, const char *coll, const json_t *docs, json_t **out,
                              ragd_error *err);

/* The answer call log (service/ops_log.c). */
typedef struct {
    const char *request_id, *collection, *question;
    const answer_result *ar;
    const json_t *result; /* the answer object (usage, check.steps) */
    const char *route_reason, *cache;
    double latency_ms;
} engine_call_log;

/* A new random request id, "ans-" and 16 hex digits. */
void engine_request_id(char out[40]);

/* Write one row (unless the engine logs nothing): the call id, or 0 when
 * logging is off or failed (the failure is logged as a warning). */
int64_t engine_log_answer(ragd_engine *e, const engine_call_log *l);
/* The PostgreSQL store follower (service/sync.c): start it (opts.follow),
 * stop and join it (NULL-safe, idempotent), and add its state to a
 * ragd_ready object: "sync" {"caught_up","applied_seq","store_seq","error"}
 * and per collection "store_seq" and "lag"; not ready before it caught up
 * once. */
ragd_status engine_sync_start(ragd_engine *e, ragd_error *err);
void engine_sync_stop(ragd_engine *e);
void engine_sync_ready(ragd_engine *e, json_t *ready);

/* [{"collection_id","vectors"}] of the loaded indexes. New reference. */
json_t *engine_index_report(ragd_engine *e);

#endif
