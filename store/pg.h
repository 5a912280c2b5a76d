/* store/pg.h — PostgreSQL as the system of record (docs/storage.md,
 * docs/scaling.md).
 *
 * With `--store postgresql://…` (RAGD_STORE) the documents, parents, chunks,
 * vectors and collections live in PostgreSQL; the SQLite file in --data is
 * the node's derived cache (FTS5, vectors for FAISS, the FAISS snapshot), so
 * the whole read path is unchanged. A store is attached to an opened
 * ragd_store (store_pg_attach); from then on store_collection_open,
 * store_doc_put, store_doc_delete and store_collection_delete commit to
 * PostgreSQL first (one transaction each, bound parameters only), then
 * apply the store's pending changes to the local cache (store_pg_sync).
 *
 * Change sequence: every write takes the next number of the one-row
 * ragd_meta counter as its last statement (the row lock serializes writers
 * until commit, so sequence order is commit order and a reader never skips
 * a number still in flight) and records (collection, document) -> seq in
 * `changes`, one row per key: a newer write of the same key moves the row.
 * A delete leaves its row as the tombstone. Each write sends NOTIFY
 * ragd_changes. A node keeps the last sequence it applied in its cache
 * (table pg_sync), and applies changes after it, in sequence order, in
 * batches: one local transaction per batch, reading PostgreSQL in one
 * REPEATABLE READ snapshot.
 *
 * Ownership: a store_pg belongs to the ragd_store it is attached to and is
 * freed by store_close (with its pool when store_pg_attach made one; a pool
 * given to store_pg_attach_pool stays the caller's). Thread-safety: a
 * store_pg as the ragd_store (one thread at a time); each of its operations
 * checks a connection out of its pool and returns it, so the pool may be
 * shared with other threads; a store_pg_listener is used by one thread.
 */
#ifndef RAGD_STORE_PG_H
#define RAGD_STORE_PG_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

#define STORE_PG_SCHEMA_VERSION 4
#define STORE_PG_POOL_MAX 64

typedef struct store_pg store_pg;

/* --- connection pool (store/pg_pool.c) ---
 * A bounded pool of connections to one store, shared by an engine's writer
 * (every store operation checks a connection out and gives it back) and by
 * the node-side calls that need no cache (the answer call log below), so
 * request threads do not queue behind the writer for a connection.
 * Opening connects once and creates or migrates the schema; the other
 * connections open on demand, at most `size` (1..STORE_PG_POOL_MAX) at
 * once; a checkout waits while all are in use. Broken connections are
 * reset or replaced. Thread-safety: every function, from any thread. */
typedef struct store_pg_pool store_pg_pool;
ragd_status store_pg_pool_open(const char *url, size_t size, store_pg_pool **out, ragd_error *err);
void store_pg_pool_free(store_pg_pool *p);
/* A pool on a streaming replica of primary's database (--store-read): no
 * migration (a hot standby is read-only); RAGD_ESTORE unless it carries
 * this ragd's schema version and primary's store id. */
ragd_status store_pg_pool_open_read(const char *url, size_t size, const store_pg_pool *primary,
                                    store_pg_pool **out, ragd_error *err);
/* RAGD_STORE_POOL when it is 1..STORE_PG_POOL_MAX, else 4. */
size_t store_pg_pool_default_size(void);
/* {"size","open","idle","peak_open","replaced"}. New reference. */
json_t *store_pg_pool_stats(store_pg_pool *p);

/* Whether url names a PostgreSQL store (postgresql:// or postgres://). */
bool store_pg_url(const char *url);

/* Connect to url, create or migrate its schema (table ragd_schema holds the
 * version), and attach it to st as its store of record. st's SQLite file
 * becomes a cache of it: a data directory holding documents written
 * without a store of record is refused (RAGD_ESTORE; use an empty --data),
 * a cache of another PostgreSQL database is emptied. With sync_now, apply
 * every pending change before returning. RAGD_EUSAGE for a URL that is not
 * postgresql://, RAGD_ESTORE when the server cannot be reached (libpq's
 * message). */
ragd_status store_pg_attach(ragd_store *st, const char *url, bool sync_now, ragd_error *err);

/* store_pg_attach with a pool the caller keeps (and frees after st). */
ragd_status store_pg_attach_pool(ragd_store *st, store_pg_pool *pool, bool sync_now,
                                 ragd_error *err);

/* Whether a store of record is attached to st. */
bool store_pg_attached(ragd_store *st);

/* Called by the sync after it dropped a local collection whose store
 * collection was deleted (e.g. to drop a loaded index and its snapshot). */
typedef void (*store_pg_drop_fn)(void *ctx, const ragd_collection *local);
void store_pg_on_drop(ragd_store *st, store_pg_drop_fn fn, void *ctx);

/* Apply up to max_batches batches (0: all) of the store's changes after
 * the cache's applied sequence to st's local cache. *caught_up (may be
 * NULL) tells whether nothing was left. */
ragd_status store_pg_sync(ragd_store *st, size_t max_batches, bool *caught_up, ragd_error *err);

/* Read replicas (--store-read, docs/scaling.md): store_pg_follow is
 * store_pg_sync reading the changes from read_pool (a replica of the
 * store, store_pg_pool_open_read; the caller's, freed after st) when one
 * is set. Writes, and the syncs that follow them, still read the primary,
 * so a node sees its own writes at once; only the follower's catch-up and
 * store_pg_status's scan go to the replica. The replica replays the
 * primary's commits in order, so its changes are a prefix of the
 * primary's: the cache's applied sequence never skips one. */
void store_pg_set_read_pool(ragd_store *st, store_pg_pool *read_pool);
ragd_status store_pg_follow(ragd_store *st, size_t max_batches, bool *caught_up, ragd_error *err);

/* {"store_seq":n,"applied_seq":n,"collections":{"name":seq,…}}: the
 * store's newest sequence, the cache's, and each collection's newest
 * change in the store (with a read pool: as the replica has them, plus
 * "primary_seq" read from the primary and "replica_seq"). New reference. */
ragd_status store_pg_status(ragd_store *st, json_t **out, ragd_error *err);

/* --- background jobs in the store (store/pg_jobs.c) ---
 * With a store attached, store_job_update/_json/_next/_counts/_requeue on
 * st act on the store's jobs table. A job is created with its documents
 * (payload_json: the JSON text the runner ingests) so any node can run it.
 * store_job_next claims the oldest job that is queued, or running with an
 * expired lease (its node died), with SELECT … FOR UPDATE SKIP LOCKED, so
 * two nodes never claim the same job; it is then running with a lease of
 * RAGD_JOB_LEASE_S seconds (default 60), renewed by every store_job_update
 * to "running" (the runner records progress after every batch).
 * store_jobs_requeue does nothing (leases replace it). */
ragd_status store_pg_job_create(ragd_store *st, const char *id, const char *coll, const char *kind,
                                const char *progress_json, const char *payload_json,
                                ragd_error *err);
/* The job's documents, parsed (new reference); RAGD_ENOTFOUND if no job. */
ragd_status store_pg_job_payload(ragd_store *st, const char *id, json_t **out, ragd_error *err);

/* Change collection coll's index factory in the store (one transaction,
 * ending with the collection's change), then sync: every node's cache gets
 * the new settings, forgets its index state, and calls on_reindex, so the
 * next search rebuilds the FAISS index with the new factory. */
ragd_status store_pg_collection_set_factory(ragd_store *st, int64_t coll, const char *factory,
                                            ragd_error *err);
/* Called by the sync after the store changed a cached collection's index
 * factory (the cache's index state is already gone). */
void store_pg_on_reindex(ragd_store *st, store_pg_drop_fn fn, void *ctx);

/* --- the answer call log, shared by every node (store/pg_calls.c) ---
 * As store_call_insert / store_calls_list / store_feedback_add
 * (store/store.h), on a pooled connection; node names the node answering
 * (listed as "node" in every call and feedback). */
ragd_status store_pg_call_insert(store_pg_pool *p, const char *node, const store_call *c,
                                 int64_t *id, ragd_error *err);
ragd_status store_pg_calls_list(store_pg_pool *p, long limit, json_t **out, ragd_error *err);
ragd_status store_pg_feedback_add(store_pg_pool *p, const char *node, int64_t call_id,
                                  const char *rating, const char *comment, int64_t *id,
                                  ragd_error *err);

/* Free a store_pg not attached to a store (NULL is a no-op). */
void store_pg_free(store_pg *pg);

/* A LISTEN ragd_changes connection: wait on its socket, then drain. */
typedef struct store_pg_listener store_pg_listener;
ragd_status store_pg_listen(const char *url, store_pg_listener **out, ragd_error *err);
int store_pg_listener_fd(store_pg_listener *l);
/* Consume input and drop pending notifications, raising *max_seq (may be
 * NULL) to the newest sequence they announce; false when the connection
 * broke (close it and listen again). */
bool store_pg_listener_drain(store_pg_listener *l, int64_t *max_seq);
void store_pg_listener_free(store_pg_listener *l);

#endif
