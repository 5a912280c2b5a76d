/* store/store_internal.h — functions of store.c and collections.c shared
 * with the PostgreSQL backend (store/pg.c, store/pg_sync.c); not for use
 * outside store/, except the lexical cache slot below (index/lexical.c).
 *
 * The *_local and *_rows functions act on the SQLite file only, even when a
 * PostgreSQL store of record is attached: the sync (store/pg_sync.c) uses
 * them to apply the store's changes to the node's local cache. The *_rows
 * functions open no transaction (the caller holds one).
 *
 * Thread-safety and ownership: as store/store.h.
 */
#ifndef RAGD_STORE_INTERNAL_H
#define RAGD_STORE_INTERNAL_H

#include "store/pg.h"
#include "store/store.h"

/* A connection's write batch (store_batch_begin, store/doc_write.c); it
 * lives in the ragd_store. */
typedef struct store_pending_fts store_pending_fts;
typedef struct {
    bool open;              /* store_batch_begin opened the current transaction */
    store_pending_fts *fts; /* the batch's FTS5 rows, inserted before COMMIT */
    size_t nfts, capfts;
    uint64_t put_seq; /* numbers the batch's document writes */
} store_write_batch;
store_write_batch *store_write_batch_of(ragd_store *st);
void store_write_batch_free(store_write_batch *b);
/* store_exec for a statement without rows, through the statement cache
 * (BEGIN, COMMIT, SAVEPOINT ... run for every document). */
ragd_status store_exec_cached(ragd_store *st, const char *sql, ragd_error *err);

/* The lexical index's cache of this connection (index/lexical.c: its idf
 * cache), or NULL. store_lexical_cache_set hands cache over to st, which
 * calls free_fn(cache) when it is replaced or in store_close (before the
 * connection closes). Like every use of st, only by the thread using st
 * (store.h): the cache needs no lock. */
void *store_lexical_cache(ragd_store *st);
void store_lexical_cache_set(ragd_store *st, void *cache, void (*free_fn)(void *));

/* Collection settings as stored (compact JSON, sorted keys; malloc'd) and
 * back (unspecified fields get the defaults). */
char *store_settings_to_json(const ragd_settings *s);
void store_settings_from_json(const char *txt, ragd_settings *s);

/* The attached PostgreSQL store of record, or NULL; store_pg_set hands pg
 * over to st (freed by store_close). */
store_pg *store_pg_of(ragd_store *st);
void store_pg_set(ragd_store *st, store_pg *pg);

ragd_status store_collection_open_local(ragd_store *st, const char *name,
                                        const ragd_settings *create, ragd_collection *out,
                                        ragd_error *err);
ragd_status store_collection_delete_rows(ragd_store *st, int64_t coll, ragd_error *err);
ragd_status store_doc_put_rows(ragd_store *st, int64_t coll, const store_doc *doc,
                               const store_parent *parents, size_t nparents,
                               const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                               ragd_error *err);
ragd_status store_doc_delete_rows(ragd_store *st, int64_t coll, const char *key, bool *existed,
                                  ragd_error *err);

/* Write-through to PostgreSQL (store/pg.c), called by the public store
 * functions when a store of record is attached: commit there (one
 * transaction), then apply the store's pending changes to the local cache. */
ragd_status store_pg_collection_open(ragd_store *st, const char *name, const ragd_settings *create,
                                     ragd_collection *out, ragd_error *err);
ragd_status store_pg_collection_delete(ragd_store *st, int64_t coll, ragd_error *err);
ragd_status store_pg_doc_put(ragd_store *st, int64_t coll, const store_doc *doc,
                             const store_parent *parents, size_t nparents,
                             const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                             ragd_error *err);
ragd_status store_pg_doc_delete(ragd_store *st, int64_t coll, const char *key, ragd_error *err);
/* API keys (store/pg_keys.c): the secret's hash and the grant JSON as
 * store/keys.c made them; *id is the store's key id (the same on every node). */
ragd_status store_pg_key_create(ragd_store *st, const char *name, const char *hash,
                                const char *grant_json, int64_t *id, ragd_error *err);
ragd_status store_pg_key_revoke(ragd_store *st, int64_t id, ragd_error *err);
/* Jobs (store/pg_jobs.c; see store/pg.h). */
ragd_status store_pg_job_update(ragd_store *st, const char *id, const char *state,
                                const char *progress_json, const char *result_json,
                                ragd_error *err);
ragd_status store_pg_job_json(ragd_store *st, const char *id, json_t **out, ragd_error *err);
ragd_status store_pg_job_next(ragd_store *st, char id[64], int64_t *coll, bool *found,
                              ragd_error *err);
ragd_status store_pg_jobs_counts(ragd_store *st, json_t **out, ragd_error *err);

#endif
