/* store/pg_internal.h — the PostgreSQL backend's connection and helpers,
 * shared by store/pg.c (schema, writes, listener) and store/pg_sync.c
 * (applying changes to the local cache). Private to store/.
 *
 * Ownership: PGresults returned by pg_run belong to the caller (PQclear).
 * Thread-safety: a store_pg as the ragd_store it is attached to; its
 * connection is checked out of the (thread-safe) pool by pg_ensure and
 * given back by the matching pg_release, so between two operations the
 * connection serves other threads of the engine (store/pg_pool.c).
 */
#ifndef RAGD_STORE_PG_INTERNAL_H
#define RAGD_STORE_PG_INTERNAL_H

#include <libpq-fe.h>

#include "store/pg.h"

struct store_pg {
    store_pg_pool *pool;
    bool own_pool; /* the pool is freed with the store_pg (CLI stores) */
    /* --store-read: a replica's pool the follower reads changes from (the
     * caller's; NULL: the primary's pool). Writes and the syncs that follow
     * them read the primary (a node reads its own writes at once). */
    store_pg_pool *read_pool;
    PGconn *conn; /* the checked-out connection while hold > 0, else NULL */
    int hold;
    char store_id[64]; /* ragd_meta.store_id: which database the cache derives from */
    store_pg_drop_fn on_drop;
    void *drop_ctx;
    store_pg_drop_fn on_reindex;
    void *reindex_ctx;
};

/* Check a connection out of pg's pool (nested calls share it); every
 * successful pg_ensure is paired with a pg_release. RAGD_ESTORE when no
 * connection can be opened. */
ragd_status pg_ensure(store_pg *pg, ragd_error *err);
void pg_release(store_pg *pg);
/* Whether pg's connection broke (it is then PQreset). */
bool pg_conn_broken(store_pg *pg);

/* Pool internals (store/pg_pool.c): check out / give back a connection. */
ragd_status pg_pool_get(store_pg_pool *p, PGconn **out, ragd_error *err);
void pg_pool_put(store_pg_pool *p, PGconn *c);
const char *pg_pool_store_id(const store_pg_pool *p);

/* A new connection to url (client encoding UTF8). */
ragd_status pg_connect(const char *url, PGconn **out, ragd_error *err);
/* Create or migrate the schema on pg->conn; reads pg->store_id. */
ragd_status pg_migrate(store_pg *pg, ragd_error *err);

/* PQexecParams with text parameters (lens/binary NULL) or some binary
 * ones (binary[i] non-zero: vals[i] is lens[i] raw bytes); results in
 * binary format when binary_out. NULL only when out of memory. */
PGresult *pg_run(store_pg *pg, const char *sql, int n, const char *const *vals, const int *lens,
                 const int *binary, int binary_out);

/* RAGD_OK when r succeeded (COMMAND_OK or TUPLES_OK); else RAGD_ESTORE with
 * "what: <server message>" (and r is cleared). */
ragd_status pg_check(store_pg *pg, PGresult *r, const char *what, ragd_error *err);

/* pg_check, and r cleared also on success. */
ragd_status pg_done(store_pg *pg, PGresult *r, const char *what, ragd_error *err);

/* Run a statement without parameters or results (BEGIN, COMMIT, ...). */
ragd_status pg_cmd(store_pg *pg, const char *sql, ragd_error *err);

/* Run body(pg, ctx) between BEGIN and COMMIT (ROLLBACK on failure). */
ragd_status pg_in_txn(store_pg *pg, ragd_status (*body)(store_pg *, void *, ragd_error *),
                      void *ctx, ragd_error *err);

/* The end of every write, inside its transaction: the next sequence number
 * (seq, decimal), the key's change row moved to it, NOTIFY ragd_changes. */
ragd_status pg_next_seq(store_pg *pg, const char *coll, char kind, const char *key, char seq[24],
                        ragd_error *err);

/* The cache's name of local collection id coll. */
ragd_status pg_local_name(ragd_store *st, int64_t coll, char name[128], ragd_error *err);

/* Apply API key `id`'s row as the store has it to the cache (store/pg_keys.c). */
ragd_status pg_sync_key(store_pg *pg, ragd_store *st, const char *id, ragd_error *err);

/* A big-endian integer column of a binary-format result. */
int64_t pg_int8(const PGresult *r, int row, int col);
int32_t pg_int4(const PGresult *r, int row, int col);

#endif
