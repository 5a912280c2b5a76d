/* store/vectors.c — chunk vectors, the embedding cache and vector index
 * bookkeeping in SQLite.
 *
 * Vectors are float32 blobs in host byte order (the data directory is not
 * meant to move between architectures of different endianness). The
 * embedding cache is keyed by (model, SHA-256 of the embedded text), so the
 * same text never costs a second provider call, across documents and
 * collections, while a chunk with that text lives; rows no live chunk uses
 * are swept (store_cache_put, below), so the cache stays bounded by the
 * live chunks plus a slack. index_state records, per collection, the FAISS factory and
 * the last chunk id its snapshot covers; deleted_chunks lists vectors the
 * snapshot still holds but SQLite no longer has.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "store/store.h"
#include "store/store_internal.h"

ragd_status store_cache_get(ragd_store *st, const char *model, int dim, char (*hashes)[65],
                            size_t n, float *out, int *found, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (store_prepare(st, "SELECT vec FROM embed_cache WHERE model=? AND text_hash=? AND dim=?",
                      &q) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read embedding cache");
    for (size_t i = 0; i < n; i++) {
        found[i] = 0;
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, hashes[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 3, dim);
        int r = sqlite3_step(q);
        if (r == SQLITE_ROW && (size_t)sqlite3_column_bytes(q, 0) == sizeof(float) * (size_t)dim) {
            memcpy(out + i * (size_t)dim, sqlite3_column_blob(q, 0), sizeof(float) * (size_t)dim);
            found[i] = 1;
        } else if (r != SQLITE_ROW && r != SQLITE_DONE) {
            store_release(st, q);
            return store_sqlite_error(db, err, "cannot read embedding cache");
        }
    }
    store_release(st, q);
    return RAGD_OK;
}

/* --- the cache's bound ------------------------------------------------------
 *
 * A cache row is live while some chunk's stored vector (table vectors,
 * same model) is its vector, byte for byte: a chunk's vector is the cached
 * one copied (a hit) or the one just cached (a miss), both normalized
 * before either is written. Matching on the vector, not the text, needs no
 * knowledge of how the embedded text was built (contextual header,
 * summary entry) and no schema change. A false match (two texts with equal
 * vectors) only keeps a row.
 *
 * When: a put checks the bound only when it inserts a row whose text hash
 * starts with one of 4 of the 256 two-hex-digit prefixes (1 row in 64 on
 * average; stateless, the same in every process sharing the file). The
 * check counts the model's rows (a range of the primary key) and the live
 * chunks (the chunks_doc index); when the rows exceed the chunks by more
 * than the slack (CACHE_SLACK_MIN, or a quarter of the chunks if more), the
 * sweep reads the model's live vectors once and deletes every row none of
 * them matches. After a sweep the rows are at most the live chunks, and the
 * next one needs a slack's worth of new rows, so its cost (one pass over
 * the vectors and the cache) is amortized over at least that many inserts.
 * The put's own rows are never swept: their document is written next. */
#define CACHE_SLACK_MIN 256
#define CACHE_CHECK_PREFIX(h) ((h)[0] == '0' && (h)[1] >= '0' && (h)[1] <= '3')

/* 64-bit digest of a vector blob (FNV-1a over 8-byte words). */
static uint64_t blob_digest(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = 1469598103934665603ull;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 1099511628211ull;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h ^ (uint64_t)n;
}

/* An open-addressing set of nonzero 64-bit digests. */
typedef struct {
    uint64_t *v;
    size_t cap, n;
} digest_set;

static void dset_add(digest_set *s, uint64_t d)
{
    if (!d) d = 1;
    if (2 * (s->n + 1) > s->cap) {
        digest_set g = {ragd_xcalloc(s->cap ? 2 * s->cap : 1024, sizeof *g.v),
                        s->cap ? 2 * s->cap : 1024, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->v[i]) dset_add(&g, s->v[i]);
        free(s->v);
        *s = g;
    }
    size_t i = (size_t)(d * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->v[i] && s->v[i] != d)
        i = (i + 1) & (s->cap - 1);
    if (!s->v[i]) {
        s->v[i] = d;
        s->n++;
    }
}

static bool dset_has(const digest_set *s, uint64_t d)
{
    if (!d) d = 1;
    if (!s->cap) return false;
    size_t i = (size_t)(d * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
    while (s->v[i]) {
        if (s->v[i] == d) return true;
        i = (i + 1) & (s->cap - 1);
    }
    return false;
}

static ragd_status count_rows(ragd_store *st, const char *sql, const char *model, int64_t *out,
                              ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot count embedding cache rows");
    if (model) sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
    int r = sqlite3_step(q);
    *out = r == SQLITE_ROW ? sqlite3_column_int64(q, 0) : 0;
    sqlite3_finalize(q);
    return r == SQLITE_ROW ? RAGD_OK
                           : store_sqlite_error(db, err, "cannot count embedding cache rows");
}

static bool in_put(char (*hashes)[65], size_t n, const char *h)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(hashes[i], h)) return true;
    return false;
}

ragd_status store_cache_sweep(ragd_store *st, const char *model, char (*keep)[65], size_t nkeep,
                              int64_t *removed, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    digest_set live = {0};
    *removed = 0;
    if (sqlite3_prepare_v2(db, "SELECT vec FROM vectors WHERE model=?", -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot sweep the embedding cache");
    sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW)
        dset_add(&live, blob_digest(sqlite3_column_blob(q, 0), (size_t)sqlite3_column_bytes(q, 0)));
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        free(live.v);
        return store_sqlite_error(db, err, "cannot sweep the embedding cache");
    }
    /* Collect the dead rows' keys first: no delete while the scan runs. */
    char(*dead)[65] = NULL;
    size_t ndead = 0, cap = 0;
    if (sqlite3_prepare_v2(db, "SELECT text_hash, vec FROM embed_cache WHERE model=?", -1, &q,
                           NULL) != SQLITE_OK) {
        free(live.v);
        return store_sqlite_error(db, err, "cannot sweep the embedding cache");
    }
    sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *h = (const char *)sqlite3_column_text(q, 0);
        if (!h || strlen(h) != 64) continue;
        uint64_t d = blob_digest(sqlite3_column_blob(q, 1), (size_t)sqlite3_column_bytes(q, 1));
        if (dset_has(&live, d) || in_put(keep, nkeep, h)) continue;
        if (ndead == cap) {
            cap = cap ? 2 * cap : 256;
            dead = ragd_xrealloc(dead, cap * sizeof *dead);
        }
        memcpy(dead[ndead++], h, 65);
    }
    sqlite3_finalize(q);
    free(live.v);
    ragd_status rc = RAGD_OK;
    if (r != SQLITE_DONE) rc = store_sqlite_error(db, err, "cannot sweep the embedding cache");
    if (!rc && ndead) {
        if (sqlite3_prepare_v2(db, "DELETE FROM embed_cache WHERE model=? AND text_hash=?", -1, &q,
                               NULL) != SQLITE_OK) {
            free(dead);
            return store_sqlite_error(db, err, "cannot sweep the embedding cache");
        }
        for (size_t i = 0; i < ndead && !rc; i++) {
            sqlite3_reset(q);
            sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, dead[i], 64, SQLITE_STATIC);
            if (sqlite3_step(q) != SQLITE_DONE)
                rc = store_sqlite_error(db, err, "cannot sweep the embedding cache");
            else
                *removed += sqlite3_changes(db);
        }
        sqlite3_finalize(q);
    }
    free(dead);
    return rc;
}

/* The bound check of a put that inserted a sampled row (see above). */
static ragd_status cache_check_bound(ragd_store *st, const char *model, char (*hashes)[65],
                                     size_t n, ragd_error *err)
{
    int64_t rows, chunks, removed;
    ragd_status rc =
        count_rows(st, "SELECT count(*) FROM embed_cache WHERE model=?", model, &rows, err);
    if (!rc) rc = count_rows(st, "SELECT count(*) FROM chunks", NULL, &chunks, err);
    if (rc) return rc;
    int64_t slack = chunks / 4 > CACHE_SLACK_MIN ? chunks / 4 : CACHE_SLACK_MIN;
    if (rows <= chunks + slack) return RAGD_OK;
    return store_cache_sweep(st, model, hashes, n, &removed, err);
}

ragd_status store_cache_put(ragd_store *st, const char *model, int dim, char (*hashes)[65],
                            size_t n, const float *vecs, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    ragd_status rc = store_exec(st, "SAVEPOINT cache_put", err);
    if (rc) return rc;
    if (store_prepare(st,
                      "INSERT OR IGNORE INTO embed_cache(model, text_hash, dim, vec, "
                      "created_at) VALUES (?,?,?,?,?)",
                      &q) != SQLITE_OK) {
        rc = store_sqlite_error(db, err, "cannot write embedding cache");
        return store_savepoint_end(st, "cache_put", rc, err);
    }
    int64_t now = (int64_t)time(NULL);
    bool check = false;
    for (size_t i = 0; i < n && !rc; i++) {
        sqlite3_reset(q);
        sqlite3_bind_text(q, 1, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 2, hashes[i], -1, SQLITE_STATIC);
        sqlite3_bind_int(q, 3, dim);
        sqlite3_bind_blob(q, 4, vecs + i * (size_t)dim, (int)(sizeof(float) * (size_t)dim),
                          SQLITE_STATIC);
        sqlite3_bind_int64(q, 5, now);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = store_sqlite_error(db, err, "cannot write embedding cache");
        else if (sqlite3_changes(db) && CACHE_CHECK_PREFIX(hashes[i]))
            check = true;
    }
    store_release(st, q);
    if (!rc && check) rc = cache_check_bound(st, model, hashes, n, err);
    /* A failed RELEASE (the commit, on a full disk) must not leave the
     * transaction open: the next BEGIN would fail with "cannot start a
     * transaction within a transaction" instead of the real cause. */
    if (rc) return store_savepoint_end(st, "cache_put", rc, err);
    if ((rc = store_savepoint_end(st, "cache_put", RAGD_OK, err)))
        ragd_error_prefix(err, "cannot write embedding cache");
    return rc;
}

ragd_status store_index_state_get(ragd_store *st, int64_t coll, bool *found, store_index_state *out,
                                  ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *found = false;
    memset(out, 0, sizeof *out);
    out->metric = -1;
    if (sqlite3_prepare_v2(db,
                           "SELECT factory, last_chunk_id, checksum, file_bytes, ntotal, dim, "
                           "metric FROM index_state WHERE collection_id=?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read index state");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *found = true;
        const char *f = (const char *)sqlite3_column_text(q, 0);
        const char *c = (const char *)sqlite3_column_text(q, 2);
        snprintf(out->factory, sizeof out->factory, "%s", f ? f : "");
        out->last_chunk_id = sqlite3_column_int64(q, 1);
        snprintf(out->checksum, sizeof out->checksum, "%s", c ? c : "");
        out->file_bytes = sqlite3_column_int64(q, 3);
        out->ntotal = sqlite3_column_int64(q, 4);
        out->dim = sqlite3_column_int(q, 5);
        out->metric = sqlite3_column_int(q, 6);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_sqlite_error(db, err, "cannot read index state");
    return RAGD_OK;
}

ragd_status store_index_state_set(ragd_store *st, int64_t coll, const store_index_state *s,
                                  ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO index_state(collection_id, factory, last_chunk_id, "
                           "updated_at, checksum, file_bytes, ntotal, dim, metric) VALUES "
                           "(?1,?2,?3,?4,?5,?6,?7,?8,?9) ON CONFLICT(collection_id) DO UPDATE "
                           "SET factory=?2, last_chunk_id=?3, updated_at=?4, checksum=?5, "
                           "file_bytes=?6, ntotal=?7, dim=?8, metric=?9",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot write index state");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, s->factory, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 3, s->last_chunk_id);
    sqlite3_bind_int64(q, 4, (int64_t)time(NULL));
    sqlite3_bind_text(q, 5, s->checksum, -1, SQLITE_STATIC);
    sqlite3_bind_int64(q, 6, s->file_bytes);
    sqlite3_bind_int64(q, 7, s->ntotal);
    sqlite3_bind_int(q, 8, s->dim);
    sqlite3_bind_int(q, 9, s->metric);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(db, err, "cannot write index state");
}

ragd_status store_index_state_clear(ragd_store *st, int64_t coll, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "DELETE FROM index_state WHERE collection_id=?", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlite_error(db, err, "cannot clear index state");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(db, err, "cannot clear index state");
}

ragd_status store_vectors_scan(ragd_store *st, int64_t coll, int64_t after, int dim,
                               store_vector_fn fn, void *ctx, int64_t *max_id, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (max_id) *max_id = after;
    if (sqlite3_prepare_v2(db,
                           /* CROSS JOIN keeps vectors as the outer loop: a rowid range
                            * seek past `after`, already in id order, instead of walking
                            * the whole collection and sorting (a no-op catch-up at 1M
                            * vectors took 1.1 s that way). */
                           "SELECT v.chunk_id, v.dim, v.vec FROM vectors v CROSS JOIN chunks c ON "
                           "c.id = v.chunk_id CROSS JOIN documents d ON d.id = c.document_id "
                           "WHERE d.collection_id = ? AND v.chunk_id > ? ORDER BY v.chunk_id",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read vectors");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_int64(q, 2, after);
    int r;
    ragd_status rc = RAGD_OK;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(q, 0);
        int vd = sqlite3_column_int(q, 1);
        if (vd != dim || (size_t)sqlite3_column_bytes(q, 2) != sizeof(float) * (size_t)dim) {
            rc = ragd_error_set(err, RAGD_ESTORE,
                                "chunk %lld has a %d-d vector, the collection expects %d-d; run "
                                "'ragd reindex'",
                                (long long)id, vd, dim);
            break;
        }
        if (max_id) *max_id = id;
        if (fn(ctx, id, (const float *)sqlite3_column_blob(q, 2), dim)) break;
    }
    if (!rc && r != SQLITE_ROW && r != SQLITE_DONE)
        rc = store_sqlite_error(db, err, "cannot read vectors");
    sqlite3_finalize(q);
    return rc;
}

ragd_status store_deleted_list(ragd_store *st, int64_t coll, int64_t **ids, size_t *n,
                               ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *ids = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(
            db, "SELECT chunk_id FROM deleted_chunks WHERE collection_id=? ORDER BY chunk_id", -1,
            &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read deleted chunks");
    sqlite3_bind_int64(q, 1, coll);
    size_t cap = 0;
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 64;
            int64_t *nv = realloc(*ids, cap * sizeof **ids);
            if (!nv) {
                sqlite3_finalize(q);
                return ragd_error_set(err, RAGD_ENOMEM, "out of memory");
            }
            *ids = nv;
        }
        (*ids)[(*n)++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(db, err, "cannot read deleted chunks");
    return RAGD_OK;
}

ragd_status store_deleted_clear_ids(ragd_store *st, int64_t coll, const int64_t *ids, size_t n,
                                    ragd_error *err)
{
    if (!n) return RAGD_OK;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    ragd_status rc = store_exec(st, "SAVEPOINT deleted_clear", err);
    if (rc) return rc;
    if (sqlite3_prepare_v2(db, "DELETE FROM deleted_chunks WHERE collection_id=? AND chunk_id=?",
                           -1, &q, NULL) != SQLITE_OK) {
        rc = store_sqlite_error(db, err, "cannot clear deleted chunks");
    } else {
        for (size_t i = 0; i < n && !rc; i++) {
            sqlite3_reset(q);
            sqlite3_bind_int64(q, 1, coll);
            sqlite3_bind_int64(q, 2, ids[i]);
            if (sqlite3_step(q) != SQLITE_DONE)
                rc = store_sqlite_error(db, err, "cannot clear deleted chunks");
        }
        sqlite3_finalize(q);
    }
    return store_savepoint_end(st, "deleted_clear", rc, err);
}

ragd_status store_vectors_max_id(ragd_store *st, int64_t coll, int64_t *max_id, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *max_id = 0;
    if (sqlite3_prepare_v2(db,
                           "SELECT coalesce(max(v.chunk_id), 0) FROM vectors v JOIN chunks c ON "
                           "c.id = v.chunk_id JOIN documents d ON d.id = c.document_id WHERE "
                           "d.collection_id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read vectors");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) *max_id = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return r == SQLITE_ROW ? RAGD_OK : store_sqlite_error(db, err, "cannot read vectors");
}

ragd_status store_index_fingerprint_get(ragd_store *st, int64_t coll, store_index_fingerprint *out,
                                        ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    memset(out, 0, sizeof *out);
    if (sqlite3_prepare_v2(db,
                           "SELECT (SELECT seq FROM sqlite_sequence WHERE name='chunks'), "
                           "(SELECT COUNT(*) FROM deleted_chunks WHERE collection_id=?1), "
                           "(SELECT checksum FROM index_state WHERE collection_id=?1)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read the index fingerprint");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        out->chunk_seq = sqlite3_column_int64(q, 0);
        out->deleted = sqlite3_column_int64(q, 1);
        const char *c = (const char *)sqlite3_column_text(q, 2);
        snprintf(out->checksum, sizeof out->checksum, "%s", c ? c : "");
    }
    sqlite3_finalize(q);
    if (r != SQLITE_ROW) return store_sqlite_error(db, err, "cannot read the index fingerprint");
    return RAGD_OK;
}

ragd_status store_vectors_newer(ragd_store *st, int64_t coll, int64_t after, bool *out,
                                ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    *out = false;
    if (sqlite3_prepare_v2(db,
                           "SELECT 1 FROM vectors v CROSS JOIN chunks c ON c.id = v.chunk_id "
                           "CROSS JOIN documents d ON d.id = c.document_id "
                           "WHERE v.chunk_id > ?2 AND d.collection_id = ?1 LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read vectors");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_int64(q, 2, after);
    int r = sqlite3_step(q);
    *out = r == SQLITE_ROW;
    sqlite3_finalize(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_sqlite_error(db, err, "cannot read vectors");
    return RAGD_OK;
}
