/* store/pg.c — the PostgreSQL store of record: attaching it to a cache,
 * and the write-through of collections and documents (see store/pg.h for
 * the design; store/pg_conn.c connects and migrates, store/pg_pool.c pools
 * the connections, store/pg_sync.c applies changes to a node's cache).
 *
 * Every write is one transaction that ends with pg_next_seq(): the one-row
 * counter in ragd_meta is incremented (its row lock is held until commit,
 * so writers commit in sequence order), the key's row in `changes` moves
 * to the new number and NOTIFY ragd_changes wakes the nodes. Only bound
 * parameters reach the server (PQexecParams); document text and vectors
 * travel as binary bytea.
 */
#include "store/pg_internal.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "store/store_internal.h"

void store_pg_free(store_pg *pg)
{
    if (!pg) return;
    if (pg->hold) pg_pool_put(pg->pool, pg->conn);
    if (pg->own_pool) store_pg_pool_free(pg->pool);
    free(pg);
}

bool store_pg_attached(ragd_store *st)
{
    return st && store_pg_of(st) != NULL;
}

void store_pg_on_drop(ragd_store *st, store_pg_drop_fn fn, void *ctx)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return;
    pg->on_drop = fn;
    pg->drop_ctx = ctx;
}

void store_pg_on_reindex(ragd_store *st, store_pg_drop_fn fn, void *ctx)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return;
    pg->on_reindex = fn;
    pg->reindex_ctx = ctx;
}

/* --- the local cache's bookkeeping ---------------------------------------------- */

static ragd_status local_exec(ragd_store *st, const char *sql, ragd_error *err)
{
    return store_exec(st, sql, err);
}

/* Make st's SQLite file a cache of pg (see store_pg_attach). */
static ragd_status cache_bind(ragd_store *st, store_pg *pg, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    ragd_status rc = local_exec(st,
                                "CREATE TABLE IF NOT EXISTS pg_sync(id INTEGER PRIMARY KEY CHECK "
                                "(id = 1), store_id TEXT NOT NULL, seq INTEGER NOT NULL);"
                                "CREATE TABLE IF NOT EXISTS pg_collections(name TEXT PRIMARY KEY,"
                                " pg_id INTEGER NOT NULL)",
                                err);
    if (rc) return rc;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT store_id FROM pg_sync WHERE id = 1),"
                           " (SELECT count(*) FROM collections) + (SELECT count(*) FROM api_keys)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the cache state");
    char have[64] = "";
    bool bound = false;
    int64_t ncoll = 0;
    if (sqlite3_step(q) == SQLITE_ROW) {
        bound = sqlite3_column_type(q, 0) != SQLITE_NULL;
        if (bound) snprintf(have, sizeof have, "%s", (const char *)sqlite3_column_text(q, 0));
        ncoll = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    if (bound && !strcmp(have, pg->store_id)) return RAGD_OK;
    if (!bound && ncoll > 0)
        return ragd_error_set(err, RAGD_ESTORE,
                              "the data directory '%s' holds collections or API keys stored in "
                              "SQLite, not a "
                              "cache of a PostgreSQL store; give --store an empty --data "
                              "directory",
                              store_dir(st));
    /* A fresh directory, or the cache of another database: start over. */
    rc = local_exec(st, "BEGIN IMMEDIATE", err);
    if (!rc && bound) {
        if (sqlite3_prepare_v2(db, "SELECT id FROM collections", -1, &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot empty the cache");
        } else {
            int64_t ids[256];
            size_t n = 0;
            while (n < 256 && sqlite3_step(q) == SQLITE_ROW)
                ids[n++] = sqlite3_column_int64(q, 0);
            sqlite3_finalize(q);
            for (size_t i = 0; !rc && i < n; i++)
                rc = store_collection_delete_rows(st, ids[i], err);
        }
    }
    if (!rc)
        rc = local_exec(st, "DELETE FROM pg_collections; DELETE FROM pg_sync; DELETE FROM api_keys",
                        err);
    if (!rc) {
        if (sqlite3_prepare_v2(db, "INSERT INTO pg_sync(id, store_id, seq) VALUES (1, ?, 0)", -1,
                               &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot bind the cache");
        } else {
            sqlite3_bind_text(q, 1, pg->store_id, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(q) != SQLITE_DONE)
                rc = store_sqlite_error(db, err, "cannot bind the cache");
            sqlite3_finalize(q);
        }
    }
    if (!rc) rc = local_exec(st, "COMMIT", err);
    if (rc) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Attach pool's store to st (own: the store_pg frees the pool). */
static ragd_status attach(ragd_store *st, store_pg_pool *pool, bool own, bool sync_now,
                          ragd_error *err)
{
    if (store_pg_of(st)) {
        if (own) store_pg_pool_free(pool);
        return ragd_error_set(err, RAGD_EINTERNAL, "a PostgreSQL store is already attached");
    }
    store_pg *pg = ragd_xcalloc(1, sizeof *pg);
    pg->pool = pool;
    pg->own_pool = own;
    snprintf(pg->store_id, sizeof pg->store_id, "%s", pg_pool_store_id(pool));
    ragd_status rc = cache_bind(st, pg, err);
    if (rc) {
        store_pg_free(pg);
        return rc;
    }
    store_pg_set(st, pg);
    return sync_now ? store_pg_sync(st, 0, NULL, err) : RAGD_OK;
}

ragd_status store_pg_attach(ragd_store *st, const char *url, bool sync_now, ragd_error *err)
{
    store_pg_pool *pool = NULL;
    ragd_status rc = store_pg_pool_open(url, 1, &pool, err);
    if (!rc) rc = attach(st, pool, true, sync_now, err);
    return rc;
}

void store_pg_set_read_pool(ragd_store *st, store_pg_pool *read_pool)
{
    store_pg *pg = store_pg_of(st);
    if (pg) pg->read_pool = read_pool;
}

ragd_status store_pg_attach_pool(ragd_store *st, store_pg_pool *pool, bool sync_now,
                                 ragd_error *err)
{
    return attach(st, pool, false, sync_now, err);
}

/* --- writes ------------------------------------------------------------------------ */

/* The end of every write: the next sequence number, the key's change row
 * moved to it, and the notification. Inside the caller's transaction. */
ragd_status pg_next_seq(store_pg *pg, const char *coll, char kind, const char *key, char seq[24],
                        ragd_error *err)
{
    PGresult *r = PQexec(pg->conn, "UPDATE ragd_meta SET seq = seq + 1 WHERE id = 1 RETURNING seq");
    ragd_status rc = pg_check(pg, r, "cannot take a change sequence number", err);
    if (rc) return rc;
    snprintf(seq, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    char k[2] = {kind, 0};
    const char *vals[] = {seq, coll, k, key ? key : ""};
    rc = pg_done(pg,
                 pg_run(pg,
                        "INSERT INTO changes(seq, collection, kind, doc_key) VALUES "
                        "($1::bigint, $2, $3, $4) ON CONFLICT (collection, kind, doc_key) DO "
                        "UPDATE SET seq = EXCLUDED.seq",
                        4, vals, NULL, NULL, 0),
                 "cannot record the change", err);
    if (!rc)
        rc = pg_done(pg, pg_run(pg, "SELECT pg_notify('ragd_changes', $1)", 1, vals, NULL, NULL, 0),
                     "cannot notify the nodes", err);
    return rc;
}

/* Run body(ctx) between BEGIN and COMMIT (ROLLBACK on failure). */
ragd_status pg_in_txn(store_pg *pg, ragd_status (*body)(store_pg *, void *, ragd_error *),
                      void *ctx, ragd_error *err)
{
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = pg_cmd(pg, "BEGIN", err);
    /* A pooled connection the server closed while it was idle: reset once. */
    if (rc && pg_conn_broken(pg) && PQstatus(pg->conn) == CONNECTION_OK)
        rc = pg_cmd(pg, "BEGIN", err);
    if (!rc) rc = body(pg, ctx, err);
    if (!rc) rc = pg_cmd(pg, "COMMIT", err);
    if (rc) PQclear(PQexec(pg->conn, "ROLLBACK"));
    pg_release(pg);
    return rc;
}

/* The store's id of collection name: RAGD_ENOTFOUND when it has none. */
static ragd_status coll_id(store_pg *pg, const char *name, char id[24], ragd_error *err)
{
    const char *vals[] = {name};
    PGresult *r = pg_run(pg, "SELECT id FROM collections WHERE name = $1", 1, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot read collections", err);
    if (rc) return rc;
    if (!PQntuples(r)) {
        PQclear(r);
        return ragd_error_set(err, RAGD_ENOTFOUND, "no collection named '%s' in the store", name);
    }
    snprintf(id, 24, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    return RAGD_OK;
}

/* The local collection's name (collections are shared by name). */
ragd_status pg_local_name(ragd_store *st, int64_t coll, char name[128], ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT name FROM collections WHERE id = ?", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read collections");
    sqlite3_bind_int64(q, 1, coll);
    ragd_status rc = RAGD_OK;
    if (sqlite3_step(q) == SQLITE_ROW)
        snprintf(name, 128, "%s", (const char *)sqlite3_column_text(q, 0));
    else
        rc = ragd_error_set(err, RAGD_ENOTFOUND, "no collection with id %lld", (long long)coll);
    sqlite3_finalize(q);
    return rc;
}

typedef struct {
    const char *name;
    const char *settings;
    bool created;
} coll_create_ctx;

static ragd_status coll_create_body(store_pg *pg, void *vctx, ragd_error *err)
{
    coll_create_ctx *c = vctx;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {c->name, c->settings, now};
    PGresult *r = pg_run(pg,
                         "INSERT INTO collections(name, settings, created_at) VALUES ($1, $2, "
                         "$3::bigint) ON CONFLICT (name) DO NOTHING RETURNING id",
                         3, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot create the collection", err);
    if (rc) return rc;
    c->created = PQntuples(r) > 0;
    PQclear(r);
    if (!c->created) return RAGD_OK; /* another node created it: its settings win */
    /* A dropped collection of the same name leaves a tombstone; replace it. */
    rc =
        pg_done(pg, pg_run(pg, "DELETE FROM changes WHERE collection = $1", 1, vals, NULL, NULL, 0),
                "cannot record the change", err);
    char seq[24];
    if (!rc) rc = pg_next_seq(pg, c->name, 'c', "", seq, err);
    return rc;
}

ragd_status store_pg_collection_open(ragd_store *st, const char *name, const ragd_settings *create,
                                     ragd_collection *out, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    ragd_status rc = store_pg_sync(st, 0, NULL, err);
    if (rc) return rc;
    rc = store_collection_open_local(st, name, NULL, out, err);
    if (!rc && create) rc = store_collection_open_local(st, name, create, out, err);
    if (rc != RAGD_ENOTFOUND || !create) return rc;
    ragd_settings s;
    if ((rc = store_settings_new(create, &s, err))) return rc;
    char *js = store_settings_to_json(&s);
    coll_create_ctx c = {name, js, false};
    rc = pg_in_txn(pg, coll_create_body, &c, err);
    free(js);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    if (!rc) rc = store_collection_open_local(st, name, create, out, err);
    return rc;
}

typedef struct {
    const char *name;
} coll_delete_ctx;

static ragd_status coll_delete_body(store_pg *pg, void *vctx, ragd_error *err)
{
    coll_delete_ctx *c = vctx;
    const char *vals[] = {c->name};
    PGresult *r = pg_run(pg, "DELETE FROM collections WHERE name = $1", 1, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot delete the collection", err);
    if (rc) return rc;
    bool gone = atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    if (!gone)
        return ragd_error_set(err, RAGD_ENOTFOUND, "no collection named '%s' in the store",
                              c->name);
    rc =
        pg_done(pg, pg_run(pg, "DELETE FROM changes WHERE collection = $1", 1, vals, NULL, NULL, 0),
                "cannot record the change", err);
    char seq[24];
    if (!rc) rc = pg_next_seq(pg, c->name, 'c', "", seq, err);
    return rc;
}

ragd_status store_pg_collection_delete(ragd_store *st, int64_t coll, ragd_error *err)
{
    char name[128];
    ragd_status rc = pg_local_name(st, coll, name, err);
    coll_delete_ctx c = {name};
    if (!rc) rc = pg_in_txn(store_pg_of(st), coll_delete_body, &c, err);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    return rc;
}

typedef struct {
    const char *name, *factory;
} coll_factory_ctx;

static ragd_status coll_factory_body(store_pg *pg, void *vctx, ragd_error *err)
{
    coll_factory_ctx *c = vctx;
    const char *vals[] = {c->name, c->factory};
    PGresult *r = pg_run(pg, "SELECT settings FROM collections WHERE name = $1 FOR UPDATE", 1, vals,
                         NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot read the collection", err);
    if (rc) return rc;
    if (!PQntuples(r)) {
        PQclear(r);
        return ragd_error_set(err, RAGD_ENOTFOUND, "no collection named '%s' in the store",
                              c->name);
    }
    ragd_settings s;
    store_settings_from_json(PQgetvalue(r, 0, 0), &s);
    PQclear(r);
    snprintf(s.index_factory, sizeof s.index_factory, "%s", c->factory);
    char *js = store_settings_to_json(&s);
    const char *uv[] = {c->name, js};
    rc = pg_done(
        pg,
        pg_run(pg, "UPDATE collections SET settings = $2 WHERE name = $1", 2, uv, NULL, NULL, 0),
        "cannot update the collection", err);
    free(js);
    char seq[24];
    if (!rc) rc = pg_next_seq(pg, c->name, 'c', "", seq, err);
    return rc;
}

ragd_status store_pg_collection_set_factory(ragd_store *st, int64_t coll, const char *factory,
                                            ragd_error *err)
{
    char name[128];
    ragd_status rc = pg_local_name(st, coll, name, err);
    coll_factory_ctx c = {name, factory};
    if (!rc) rc = pg_in_txn(store_pg_of(st), coll_factory_body, &c, err);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    return rc;
}

typedef struct {
    const char *coll;
    const store_doc *doc;
    const store_parent *parents;
    size_t nparents;
    const store_chunk *chunks;
    size_t nchunks;
} doc_put_ctx;

#define PG_ROWS 128 /* rows per multi-row INSERT */

/* INSERT INTO table VALUES (…),(…) for rows [0, n), ncol parameters each,
 * filled by fill(ctx, row, vals, lens, bin) with text or binary values. */
typedef void (*row_fill)(const void *ctx, size_t row, const char **vals, int *lens, int *bin,
                         char (*num)[24]);

static ragd_status insert_rows(store_pg *pg, const char *head, const char *casts[], int ncol,
                               size_t n, row_fill fill, const void *ctx, ragd_error *err)
{
    ragd_status rc = RAGD_OK;
    const char **vals = ragd_xcalloc((size_t)PG_ROWS * ncol, sizeof *vals);
    int *lens = ragd_xcalloc((size_t)PG_ROWS * ncol, sizeof *lens);
    int *bin = ragd_xcalloc((size_t)PG_ROWS * ncol, sizeof *bin);
    char(*num)[24] = ragd_xcalloc((size_t)PG_ROWS * ncol, sizeof *num);
    for (size_t from = 0; !rc && from < n; from += PG_ROWS) {
        size_t m = n - from < PG_ROWS ? n - from : PG_ROWS;
        ragd_buf sql = RAGD_BUF_INIT;
        ragd_buf_printf(&sql, "%s VALUES ", head);
        for (size_t i = 0; i < m; i++) {
            ragd_buf_printf(&sql, "%s(", i ? "," : "");
            for (int c = 0; c < ncol; c++)
                ragd_buf_printf(&sql, "%s$%zu%s", c ? "," : "", i * (size_t)ncol + (size_t)c + 1,
                                casts[c]);
            ragd_buf_printf(&sql, ")");
            fill(ctx, from + i, vals + i * ncol, lens + i * ncol, bin + i * ncol, num + i * ncol);
        }
        rc = pg_done(pg, pg_run(pg, sql.data, (int)(m * (size_t)ncol), vals, lens, bin, 0),
                     "cannot write to the store", err);
        ragd_buf_free(&sql);
    }
    free(vals);
    free(lens);
    free(bin);
    free(num);
    return rc;
}

typedef struct {
    const char *doc_id;
    const doc_put_ctx *d;
} rows_ctx;

static void text_val(const char **vals, int *lens, int *bin, int i, const char *s)
{
    vals[i] = s ? s : "";
    lens[i] = 0;
    bin[i] = 0;
}

static void num_val(const char **vals, int *lens, int *bin, char (*num)[24], int i, long long v)
{
    snprintf(num[i], 24, "%lld", v);
    text_val(vals, lens, bin, i, num[i]);
}

static void fill_parent(const void *vctx, size_t row, const char **vals, int *lens, int *bin,
                        char (*num)[24])
{
    const rows_ctx *c = vctx;
    const store_parent *p = &c->d->parents[row];
    text_val(vals, lens, bin, 0, c->doc_id);
    num_val(vals, lens, bin, num, 1, (long long)row);
    num_val(vals, lens, bin, num, 2, (long long)p->start);
    num_val(vals, lens, bin, num, 3, (long long)p->end);
    num_val(vals, lens, bin, num, 4, (long long)p->tokens);
    text_val(vals, lens, bin, 5, p->heading_path);
}

static void fill_chunk(const void *vctx, size_t row, const char **vals, int *lens, int *bin,
                       char (*num)[24])
{
    const rows_ctx *c = vctx;
    const store_chunk *k = &c->d->chunks[row];
    const store_doc *doc = c->d->doc;
    text_val(vals, lens, bin, 0, c->doc_id);
    num_val(vals, lens, bin, num, 1, (long long)row);
    num_val(vals, lens, bin, num, 2, k->parent);
    num_val(vals, lens, bin, num, 3, (long long)k->start);
    num_val(vals, lens, bin, num, 4, (long long)k->end);
    num_val(vals, lens, bin, num, 5, (long long)k->tokens);
    text_val(vals, lens, bin, 6, k->heading_path);
    text_val(vals, lens, bin, 7, k->header);
    text_val(vals, lens, bin, 8, k->meta_json ? k->meta_json : "{}");
    text_val(vals, lens, bin, 9, k->summary ? k->text : NULL);
    if (!k->summary) vals[9] = NULL;
    if (k->vec && doc->vec_dim > 0) {
        vals[10] = (const char *)k->vec;
        lens[10] = (int)(sizeof(float) * (size_t)doc->vec_dim);
        bin[10] = 1;
    } else {
        vals[10] = NULL;
        lens[10] = 0;
        bin[10] = 0;
    }
}

static ragd_status doc_put_body(store_pg *pg, void *vctx, ragd_error *err)
{
    const doc_put_ctx *d = vctx;
    const store_doc *doc = d->doc;
    char cid[24];
    ragd_status rc = coll_id(pg, d->coll, cid, err);
    if (rc) return rc;
    const char *kv[] = {cid, doc->key};
    rc = pg_done(pg,
                 pg_run(pg,
                        "DELETE FROM documents WHERE collection_id = $1::bigint AND doc_key = $2",
                        2, kv, NULL, NULL, 0),
                 "cannot replace the document", err);
    if (rc) return rc;
    char tokens[24], dim[24], now[24];
    snprintf(tokens, sizeof tokens, "%zu", doc->tokens);
    snprintf(dim, sizeof dim, "%d", doc->vec_dim);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {cid,
                          doc->key,
                          doc->source ? doc->source : "",
                          doc->format ? doc->format : "",
                          doc->content_hash ? doc->content_hash : "",
                          doc->title ? doc->title : "",
                          doc->metadata_json ? doc->metadata_json : "{}",
                          doc->summary_json ? doc->summary_json : "{}",
                          doc->text ? doc->text : "",
                          tokens,
                          doc->vec_model,
                          dim,
                          now};
    int lens[13] = {0}, bin[13] = {0};
    lens[8] = (int)doc->text_len;
    bin[8] = 1;
    PGresult *r = pg_run(pg,
                         "INSERT INTO documents(collection_id, doc_key, source, format, "
                         "content_hash, title, metadata, summary, body, tokens, vec_model, "
                         "vec_dim, ingested_at, seq) VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, "
                         "$8, $9::bytea, $10::bigint, $11, $12::int, $13::bigint, 0) RETURNING id",
                         13, vals, lens, bin, 0);
    rc = pg_check(pg, r, "cannot write the document", err);
    if (rc) return rc;
    char docid[24];
    snprintf(docid, sizeof docid, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    rows_ctx rcx = {docid, d};
    static const char *PCAST[] = {"::bigint", "::int", "::bigint", "::bigint", "::bigint", ""};
    static const char *CCAST[] = {"::bigint", "::int", "::int", "::bigint", "::bigint", "::bigint",
                                  "",         "",      "",      "",         "::bytea"};
    if (d->nparents)
        rc = insert_rows(pg,
                         "INSERT INTO parents(document_id, ord, start_off, end_off, tokens, "
                         "heading_path)",
                         PCAST, 6, d->nparents, fill_parent, &rcx, err);
    if (!rc && d->nchunks)
        rc = insert_rows(pg,
                         "INSERT INTO chunks(document_id, idx, parent_ord, start_off, end_off, "
                         "tokens, heading_path, header, meta, summary_text, vec)",
                         CCAST, 11, d->nchunks, fill_chunk, &rcx, err);
    char seq[24];
    if (!rc) rc = pg_next_seq(pg, d->coll, 'd', doc->key, seq, err);
    const char *sv[] = {seq, docid};
    if (!rc)
        rc = pg_done(pg,
                     pg_run(pg, "UPDATE documents SET seq = $1::bigint WHERE id = $2::bigint", 2,
                            sv, NULL, NULL, 0),
                     "cannot write the document", err);
    return rc;
}

/* The local row id of the document key (0 when absent). */
static int64_t local_doc_rowid(ragd_store *st, int64_t coll, const char *key)
{
    sqlite3_stmt *q;
    int64_t id = 0;
    if (sqlite3_prepare_v2(store_db(st),
                           "SELECT id FROM documents WHERE collection_id = ? AND doc_key = ?", -1,
                           &q, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return id;
}

ragd_status store_pg_doc_put(ragd_store *st, int64_t coll, const store_doc *doc,
                             const store_parent *parents, size_t nparents,
                             const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                             ragd_error *err)
{
    char name[128];
    ragd_status rc = pg_local_name(st, coll, name, err);
    for (size_t i = 0; !rc && i < nchunks; i++) {
        const store_chunk *c = &chunks[i];
        if ((c->summary && !c->text) || c->end < c->start || c->end > doc->text_len)
            rc = ragd_error_set(err, RAGD_EINTERNAL, "chunk %zu has invalid offsets or text", i);
    }
    doc_put_ctx d = {name, doc, parents, nparents, chunks, nchunks};
    if (!rc) rc = pg_in_txn(store_pg_of(st), doc_put_body, &d, err);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    if (!rc && doc_rowid) *doc_rowid = local_doc_rowid(st, coll, doc->key);
    return rc;
}

typedef struct {
    const char *coll, *key;
} doc_delete_ctx;

static ragd_status doc_delete_body(store_pg *pg, void *vctx, ragd_error *err)
{
    const doc_delete_ctx *d = vctx;
    char cid[24];
    ragd_status rc = coll_id(pg, d->coll, cid, err);
    if (rc) return rc;
    const char *kv[] = {cid, d->key};
    PGresult *r =
        pg_run(pg, "DELETE FROM documents WHERE collection_id = $1::bigint AND doc_key = $2", 2, kv,
               NULL, NULL, 0);
    rc = pg_check(pg, r, "cannot delete the document", err);
    if (rc) return rc;
    bool gone = atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    if (!gone) return ragd_error_set(err, RAGD_ENOTFOUND, "no document '%s'", d->key);
    char seq[24];
    return pg_next_seq(pg, d->coll, 'd', d->key, seq, err);
}

ragd_status store_pg_doc_delete(ragd_store *st, int64_t coll, const char *key, ragd_error *err)
{
    char name[128];
    ragd_status rc = pg_local_name(st, coll, name, err);
    doc_delete_ctx d = {name, key};
    if (!rc) rc = pg_in_txn(store_pg_of(st), doc_delete_body, &d, err);
    ragd_error se = {0};
    /* Apply even after a failure: a document another node deleted is gone here too. */
    ragd_status sr = store_pg_sync(st, 0, NULL, rc ? &se : err);
    return rc ? rc : sr;
}
