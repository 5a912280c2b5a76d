/* store/pg_sync.c — applying a PostgreSQL store's changes to a node's local
 * SQLite cache (see store/pg.h).
 *
 * A batch reads up to SYNC_BATCH change rows after the cache's applied
 * sequence, in sequence order, in one REPEATABLE READ READ ONLY transaction
 * of the store, and applies them in one IMMEDIATE transaction of the cache
 * that also records the batch's last sequence: a crash loses a whole batch
 * or nothing, never part of one. A change row names a key, not a version:
 * the key's current state in the snapshot is applied (a document present is
 * written with its parents, chunks and vectors exactly as stored; absent,
 * it is deleted), so a key changed twice is applied once, in its newest
 * form. Collections are matched by name and by the store's collection id
 * (pg_collections): a collection dropped and created again in the store is
 * dropped and created again in the cache, with the store's settings. The
 * vector index catches up by itself: the chunk counter moved (service/
 * engine.c engine_index_acquire).
 */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/store_internal.h"

#define SYNC_BATCH 128

static ragd_status applied_seq(ragd_store *st, int64_t *seq, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *seq = 0;
    if (sqlite3_prepare_v2(db, "SELECT seq FROM pg_sync WHERE id = 1", -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the cache's sequence");
    if (sqlite3_step(q) == SQLITE_ROW) *seq = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return RAGD_OK;
}

/* Collections dropped from the cache by a batch (v), and those whose index
 * factory the store changed (rv), reported after commit. */
typedef struct {
    ragd_collection *v;
    size_t n, cap;
    ragd_collection *rv;
    size_t rn, rcap;
} drop_list;

static ragd_status local_sql(ragd_store *st, const char *sql, int64_t i1, const char *t1,
                             ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot update the cache");
    if (t1) sqlite3_bind_text(q, 1, t1, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, t1 ? 2 : 1, i1);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(db, err, "cannot update the cache");
}

/* The store's collection id the cache's collection `name` derives from (0: none). */
static int64_t local_pg_id(ragd_store *st, const char *name)
{
    sqlite3_stmt *q;
    int64_t id = 0;
    if (sqlite3_prepare_v2(store_db(st), "SELECT pg_id FROM pg_collections WHERE name = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return id;
}

static ragd_status drop_local(ragd_store *st, const char *name, drop_list *drops, ragd_error *err)
{
    ragd_collection c;
    ragd_error ie = {0};
    ragd_status rc = RAGD_OK;
    if (!store_collection_open_local(st, name, NULL, &c, &ie)) {
        rc = store_collection_delete_rows(st, c.id, err);
        if (!rc) {
            if (drops->n == drops->cap) {
                drops->cap = drops->cap ? 2 * drops->cap : 4;
                drops->v = ragd_xrealloc(drops->v, drops->cap * sizeof *drops->v);
            }
            drops->v[drops->n++] = c;
        }
    }
    if (!rc) rc = local_sql(st, "DELETE FROM pg_collections WHERE name = ?", 0, name, err);
    return rc;
}

/* Bring the cache's collection `name` in line with the store's: *pg_id
 * receives the store's id (0: the store has no such collection, and the
 * cache none either) and *local the cache's collection. */
static ragd_status sync_collection(store_pg *pg, ragd_store *st, const char *name, int64_t *pg_id,
                                   ragd_collection *local, drop_list *drops, ragd_error *err)
{
    *pg_id = 0;
    const char *vals[] = {name};
    PGresult *r =
        pg_run(pg, "SELECT id, settings FROM collections WHERE name = $1", 1, vals, NULL, NULL, 1);
    ragd_status rc = pg_check(pg, r, "cannot read collections", err);
    if (rc) return rc;
    if (!PQntuples(r)) {
        PQclear(r);
        return drop_local(st, name, drops, err);
    }
    int64_t id = pg_int8(r, 0, 0);
    ragd_settings s;
    store_settings_from_json(PQgetvalue(r, 0, 1), &s);
    PQclear(r);
    ragd_error ie = {0};
    bool have = !store_collection_open_local(st, name, NULL, local, &ie);
    if (have && local_pg_id(st, name) == id) {
        *pg_id = id;
        if (!strcmp(local->settings.index_factory, s.index_factory)) return RAGD_OK;
        /* Reindexed in the store (ragd reindex --index): take the new factory,
         * forget the index state, so the next load rebuilds with it. */
        rc = local_sql(st,
                       "UPDATE collections SET settings = json_set(settings, '$.index_factory', "
                       "?) WHERE id = ?",
                       local->id, s.index_factory, err);
        if (!rc)
            rc = local_sql(st, "DELETE FROM index_state WHERE collection_id = ?", local->id, NULL,
                           err);
        if (rc) return rc;
        snprintf(local->settings.index_factory, sizeof local->settings.index_factory, "%s",
                 s.index_factory);
        if (drops->rn == drops->rcap) {
            drops->rcap = drops->rcap ? 2 * drops->rcap : 4;
            drops->rv = ragd_xrealloc(drops->rv, drops->rcap * sizeof *drops->rv);
        }
        drops->rv[drops->rn++] = *local;
        return RAGD_OK;
    }
    if (have) rc = drop_local(st, name, drops, err);
    if (!rc) rc = store_collection_open_local(st, name, &s, local, err);
    if (!rc)
        rc = local_sql(st, "INSERT OR REPLACE INTO pg_collections(name, pg_id) VALUES (?, ?)", id,
                       name, err);
    if (!rc) *pg_id = id;
    return rc;
}

/* A batch's collections, reconciled once each (the batch reads one snapshot). */
typedef struct {
    char name[128];
    int64_t pg_id;
    ragd_collection local;
} coll_memo;

/* A document change of the batch, in sequence order. */
typedef struct {
    int64_t pg_coll;
    int64_t local_coll;
    const char *key;
} doc_change;

/* Append s to a PostgreSQL array literal as a quoted element. */
static void array_text(ragd_buf *b, const char *s)
{
    ragd_buf_putc(b, b->len > 1 ? ',' : '{');
    ragd_buf_putc(b, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') ragd_buf_putc(b, '\\');
        ragd_buf_putc(b, *s);
    }
    ragd_buf_putc(b, '"');
}

/* The first row of r (sorted by column 0, a bigint) whose id is `id`;
 * *n receives how many rows have it. */
static int rows_of(const PGresult *r, int64_t id, int *n)
{
    int lo = 0, hi = PQntuples(r);
    while (lo < hi) {
        int mid = (lo + hi) / 2;
        if (pg_int8(r, mid, 0) < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    int end = lo;
    while (end < PQntuples(r) && pg_int8(r, end, 0) == id)
        end++;
    *n = end - lo;
    return lo;
}

/* Write document row `row` of d (its parents and chunks from p and c) to
 * the cache. */
static ragd_status put_doc(ragd_store *st, int64_t local_coll, const PGresult *d, int row,
                           const PGresult *p, const PGresult *c, ragd_error *err)
{
    int64_t did = pg_int8(d, row, 0);
    store_doc doc = {0};
    doc.key = PQgetvalue(d, row, 1);
    doc.source = PQgetvalue(d, row, 2);
    doc.format = PQgetvalue(d, row, 3);
    doc.content_hash = PQgetvalue(d, row, 4);
    doc.title = PQgetvalue(d, row, 5);
    doc.metadata_json = PQgetvalue(d, row, 6);
    doc.summary_json = PQgetvalue(d, row, 7);
    doc.text = PQgetvalue(d, row, 8);
    doc.text_len = (size_t)PQgetlength(d, row, 8);
    doc.tokens = (size_t)pg_int8(d, row, 9);
    doc.vec_model = PQgetisnull(d, row, 10) ? NULL : PQgetvalue(d, row, 10);
    doc.vec_dim = pg_int4(d, row, 11);
    int np, nc;
    int p0 = rows_of(p, did, &np), c0 = rows_of(c, did, &nc);
    store_parent *ps = ragd_xcalloc(np ? (size_t)np : 1, sizeof *ps);
    store_chunk *cs = ragd_xcalloc(nc ? (size_t)nc : 1, sizeof *cs);
    size_t dim = doc.vec_dim > 0 ? (size_t)doc.vec_dim : 0;
    float *vecs = ragd_xcalloc((size_t)nc * dim + 1, sizeof *vecs);
    for (int i = 0; i < np; i++) {
        ps[i].start = (size_t)pg_int8(p, p0 + i, 1);
        ps[i].end = (size_t)pg_int8(p, p0 + i, 2);
        ps[i].tokens = (size_t)pg_int8(p, p0 + i, 3);
        ps[i].heading_path = PQgetvalue(p, p0 + i, 4);
    }
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < nc && !rc; i++) {
        int r = c0 + i;
        store_chunk *k = &cs[i];
        k->parent = pg_int4(c, r, 1);
        k->start = (size_t)pg_int8(c, r, 2);
        k->end = (size_t)pg_int8(c, r, 3);
        k->tokens = (size_t)pg_int8(c, r, 4);
        k->heading_path = PQgetvalue(c, r, 5);
        k->header = PQgetvalue(c, r, 6);
        k->meta_json = PQgetvalue(c, r, 7);
        k->summary = !PQgetisnull(c, r, 8);
        k->text = k->summary ? PQgetvalue(c, r, 8) : NULL;
        if (!PQgetisnull(c, r, 9) && dim) {
            if ((size_t)PQgetlength(c, r, 9) != dim * sizeof(float)) {
                rc = ragd_error_set(err, RAGD_ESTORE,
                                    "document '%s' chunk %d: a vector of %d bytes, not %zu",
                                    doc.key, i, PQgetlength(c, r, 9), dim * sizeof(float));
                break;
            }
            memcpy(vecs + (size_t)i * dim, PQgetvalue(c, r, 9), dim * sizeof(float));
            k->vec = vecs + (size_t)i * dim;
        }
    }
    int64_t rowid = 0;
    if (!rc)
        rc = store_doc_put_rows(st, local_coll, &doc, ps, (size_t)np, cs, (size_t)nc, &rowid, err);
    free(vecs);
    free(cs);
    free(ps);
    return rc;
}

/* Apply the batch's document changes: three queries for all of them (the
 * documents in change order, their parents, their chunks), then each
 * present document written, each absent one deleted. */
static ragd_status sync_docs(store_pg *pg, ragd_store *st, const doc_change *dc, size_t n,
                             ragd_error *err)
{
    if (!n) return RAGD_OK;
    ragd_buf ids = RAGD_BUF_INIT, keys = RAGD_BUF_INIT;
    for (size_t i = 0; i < n; i++) {
        ragd_buf_printf(&ids, "%s%lld", i ? "," : "{", (long long)dc[i].pg_coll);
        array_text(&keys, dc[i].key);
    }
    ragd_buf_putc(&ids, '}');
    ragd_buf_putc(&keys, '}');
    const char *kv[] = {ids.data, keys.data};
    PGresult *d = pg_run(pg,
                         "SELECT d.id, d.doc_key, d.source, d.format, d.content_hash, d.title, "
                         "d.metadata, d.summary, d.body, d.tokens, d.vec_model, d.vec_dim, k.n "
                         "FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS k(cid, key, n) "
                         "JOIN documents d ON d.collection_id = k.cid AND d.doc_key = k.key "
                         "ORDER BY k.n",
                         2, kv, NULL, NULL, 1);
    ragd_buf_free(&ids);
    ragd_buf_free(&keys);
    ragd_status rc = pg_check(pg, d, "cannot read the documents", err);
    if (rc) return rc;
    ragd_buf dids = RAGD_BUF_INIT;
    ragd_buf_putc(&dids, '{');
    for (int i = 0; i < PQntuples(d); i++)
        ragd_buf_printf(&dids, "%s%lld", i ? "," : "", (long long)pg_int8(d, i, 0));
    ragd_buf_putc(&dids, '}');
    const char *iv[] = {dids.data};
    PGresult *p =
        pg_run(pg,
               "SELECT document_id, start_off, end_off, tokens, heading_path FROM parents "
               "WHERE document_id = ANY($1::bigint[]) ORDER BY document_id, ord",
               1, iv, NULL, NULL, 1);
    PGresult *c = NULL;
    rc = pg_check(pg, p, "cannot read the documents' parents", err);
    if (rc) p = NULL; /* cleared by pg_check */
    if (!rc) {
        c = pg_run(pg,
                   "SELECT document_id, parent_ord, start_off, end_off, tokens, heading_path, "
                   "header, meta, summary_text, vec FROM chunks WHERE document_id = "
                   "ANY($1::bigint[]) ORDER BY document_id, idx",
                   1, iv, NULL, NULL, 1);
        rc = pg_check(pg, c, "cannot read the documents' chunks", err);
        if (rc) c = NULL;
    }
    ragd_buf_free(&dids);
    int next = 0; /* the next document row, in change order */
    for (size_t i = 0; !rc && i < n; i++) {
        if (next < PQntuples(d) && pg_int8(d, next, 12) == (int64_t)(i + 1))
            rc = put_doc(st, dc[i].local_coll, d, next++, p, c, err);
        else
            rc = store_doc_delete_rows(st, dc[i].local_coll, dc[i].key, NULL, err);
    }
    if (c) PQclear(c);
    if (p) PQclear(p);
    PQclear(d);
    return rc;
}

/* One batch: *n receives how many changes it applied (0: caught up). */
static ragd_status sync_batch(store_pg *pg, ragd_store *st, size_t *n, drop_list *drops,
                              ragd_error *err)
{
    *n = 0;
    int64_t from;
    ragd_status rc = applied_seq(st, &from, err);
    if (rc) return rc;
    rc = pg_cmd(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (rc && pg_conn_broken(pg) && PQstatus(pg->conn) == CONNECTION_OK)
        rc = pg_cmd(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", err);
    if (rc) return rc;
    char fs[24], lim[16];
    snprintf(fs, sizeof fs, "%lld", (long long)from);
    snprintf(lim, sizeof lim, "%d", SYNC_BATCH);
    const char *vals[] = {fs, lim};
    PGresult *r =
        pg_run(pg,
               "SELECT seq, collection, kind, doc_key FROM changes WHERE seq > $1::bigint "
               "ORDER BY seq LIMIT $2::int",
               2, vals, NULL, NULL, 1);
    rc = pg_check(pg, r, "cannot read the store's changes", err);
    if (rc) {
        PQclear(PQexec(pg->conn, "ROLLBACK"));
        return rc;
    }
    int rows = PQntuples(r);
    coll_memo memo[16];
    size_t nmemo = 0;
    doc_change *dc = ragd_xcalloc(rows ? (size_t)rows : 1, sizeof *dc);
    size_t ndc = 0;
    if (rows) rc = store_exec(st, "BEGIN IMMEDIATE", err);
    for (int i = 0; !rc && i < rows; i++) {
        const char *coll = PQgetvalue(r, i, 1), *kind = PQgetvalue(r, i, 2);
        if (kind[0] == 'k') {
            rc = pg_sync_key(pg, st, PQgetvalue(r, i, 3), err);
            continue;
        }
        coll_memo *m = NULL;
        for (size_t j = 0; j < nmemo && !m; j++)
            if (!strcmp(memo[j].name, coll)) m = &memo[j];
        coll_memo tmp;
        if (!m) {
            m = nmemo < sizeof memo / sizeof memo[0] ? &memo[nmemo++] : &tmp;
            snprintf(m->name, sizeof m->name, "%s", coll);
            rc = sync_collection(pg, st, coll, &m->pg_id, &m->local, drops, err);
        }
        if (!rc && m->pg_id && kind[0] == 'd')
            dc[ndc++] = (doc_change){m->pg_id, m->local.id, PQgetvalue(r, i, 3)};
    }
    if (!rc) rc = sync_docs(pg, st, dc, ndc, err);
    free(dc);
    if (rows && !rc)
        rc = local_sql(st, "UPDATE pg_sync SET seq = ? WHERE id = 1", pg_int8(r, rows - 1, 0), NULL,
                       err);
    if (rows && !rc) rc = store_exec(st, "COMMIT", err);
    if (rows && rc) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    PQclear(r);
    PQclear(PQexec(pg->conn, rc ? "ROLLBACK" : "COMMIT"));
    if (!rc) *n = (size_t)rows;
    if (rc) drops->n = drops->rn = 0; /* rolled back: nothing was dropped */
    return rc;
}

ragd_status store_pg_sync(ragd_store *st, size_t max_batches, bool *caught_up, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (caught_up) *caught_up = false;
    if (!pg) return RAGD_OK;
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    for (size_t b = 0; !rc && (!max_batches || b < max_batches); b++) {
        drop_list drops = {0};
        size_t n = 0;
        rc = sync_batch(pg, st, &n, &drops, err);
        for (size_t i = 0; i < drops.n; i++)
            if (pg->on_drop) pg->on_drop(pg->drop_ctx, &drops.v[i]);
        for (size_t i = 0; i < drops.rn; i++)
            if (pg->on_reindex) pg->on_reindex(pg->reindex_ctx, &drops.rv[i]);
        free(drops.v);
        free(drops.rv);
        if (!rc && n < SYNC_BATCH) {
            if (caught_up) *caught_up = true;
            break;
        }
    }
    pg_release(pg);
    return rc;
}

ragd_status store_pg_follow(ragd_store *st, size_t max_batches, bool *caught_up, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg || !pg->read_pool || pg->hold) return store_pg_sync(st, max_batches, caught_up, err);
    /* One thread at a time uses st (and pg), and no connection is held:
     * the batches check theirs out of the replica's pool instead. */
    store_pg_pool *primary = pg->pool;
    pg->pool = pg->read_pool;
    ragd_status rc = store_pg_sync(st, max_batches, caught_up, err);
    pg->pool = primary;
    return rc;
}

/* The newest sequence in the primary (one row: cheap), for the replica's lag. */
static ragd_status primary_seq(store_pg *pg, int64_t *seq, ragd_error *err)
{
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    PGresult *r = PQexecParams(pg->conn, "SELECT seq FROM ragd_meta WHERE id = 1", 0, NULL, NULL,
                               NULL, NULL, 1);
    rc = pg_check(pg, r, "cannot read the primary's sequence", err);
    pg_release(pg);
    if (rc) return rc;
    *seq = PQntuples(r) ? pg_int8(r, 0, 0) : 0;
    PQclear(r);
    return RAGD_OK;
}

ragd_status store_pg_status(ragd_store *st, json_t **out, ragd_error *err)
{
    *out = NULL;
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    int64_t applied, top_primary = 0;
    ragd_status rc = applied_seq(st, &applied, err);
    if (rc) return rc;
    if (pg->read_pool && !pg->hold && (rc = primary_seq(pg, &top_primary, err))) return rc;
    /* The per-collection scan of `changes` goes to the replica when there is one. */
    store_pg_pool *primary = pg->pool;
    if (pg->read_pool && !pg->hold) pg->pool = pg->read_pool;
    if ((rc = pg_ensure(pg, err))) {
        pg->pool = primary;
        return rc;
    }
    PGresult *r = PQexecParams(pg->conn,
                               "SELECT collection, max(seq), (SELECT seq FROM ragd_meta WHERE id = "
                               "1) FROM changes GROUP BY collection",
                               0, NULL, NULL, NULL, NULL, 1);
    rc = pg_check(pg, r, "cannot read the store's sequence", err);
    pg_release(pg);
    bool replica = pg->pool != primary;
    pg->pool = primary;
    if (rc) return rc;
    json_t *colls = json_object();
    int64_t top = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        json_object_set_new(colls, PQgetvalue(r, i, 0), json_integer(pg_int8(r, i, 1)));
        top = pg_int8(r, i, 2);
    }
    PQclear(r);
    *out = json_pack("{s:I,s:I,s:o}", "store_seq", (json_int_t)top, "applied_seq",
                     (json_int_t)applied, "collections", colls);
    if (replica) {
        json_object_set_new(*out, "primary_seq", json_integer((json_int_t)top_primary));
        json_object_set_new(*out, "replica_seq", json_integer((json_int_t)top));
    }
    return RAGD_OK;
}
