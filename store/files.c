/* store/files.c — rows of the OpenAI-compatible API (schema v5).
 *
 * `files`: uploaded files (id "file-…", name, purpose, size, SHA-256, the
 * id of the API key that uploaded it, 0 for none); the
 * bytes themselves are kept by service/ under <data>/files/<id>.
 * `vector_stores`: the name and metadata of a collection seen as a vector
 * store (a collection without a row is a vector store named after it).
 * `vector_store_files`: the files attached to a collection, with their
 * ingest status (in_progress | completed | failed), attributes (the
 * document metadata), the last error and the bytes ingested; listed in
 * attachment order (rowid) for OpenAI's cursor paging.
 *
 * Every function is one statement on the given connection; callers hold
 * the engine's write lock for writes. Results are new JSON references.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/store.h"

/* Prepare sql and bind args described by types: 't' text (NULL binds
 * NULL), 'i' int64. */
static ragd_status prep(ragd_store *st, sqlite3_stmt **q, const char *sql, const char *types,
                        const void *const *args, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    if (sqlite3_prepare_v2(db, sql, -1, q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot prepare a file statement");
    for (int i = 0; types[i]; i++) {
        if (types[i] == 't') {
            const char *s = args[i];
            if (s)
                sqlite3_bind_text(*q, i + 1, s, -1, SQLITE_TRANSIENT);
            else
                sqlite3_bind_null(*q, i + 1);
        } else {
            sqlite3_bind_int64(*q, i + 1, *(const int64_t *)args[i]);
        }
    }
    return RAGD_OK;
}

/* Run a statement that returns no rows; *changes gets the rows changed. */
static ragd_status exec(ragd_store *st, const char *sql, const char *types, const void *const *args,
                        int *changes, ragd_error *err)
{
    sqlite3_stmt *q;
    ragd_status rc = prep(st, &q, sql, types, args, err);
    if (rc) return rc;
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(store_db(st), err, "cannot write a file row");
    if (changes) *changes = sqlite3_changes(store_db(st));
    return RAGD_OK;
}

static json_t *col_json(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    json_t *j = t ? json_loads((const char *)t, 0, NULL) : NULL;
    return j ? j : json_null();
}

static json_t *file_row(sqlite3_stmt *q)
{
    return json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:s,s:s,s:I}", "id", sqlite3_column_text(q, 0),
                     "object", "file", "bytes", (json_int_t)sqlite3_column_int64(q, 3),
                     "created_at", (json_int_t)sqlite3_column_int64(q, 5), "filename",
                     sqlite3_column_text(q, 1), "purpose", sqlite3_column_text(q, 2), "status",
                     "processed", "sha256", sqlite3_column_text(q, 4), "owner_key",
                     (json_int_t)sqlite3_column_int64(q, 6));
}

#define FILE_COLS "id, filename, purpose, bytes, sha256, created_at, owner_key"

ragd_status store_file_create(ragd_store *st, const char *id, const char *filename,
                              const char *purpose, int64_t bytes, const char *sha256,
                              int64_t owner_key, ragd_error *err)
{
    int64_t now = (int64_t)time(NULL);
    const void *a[] = {id, filename, purpose, &bytes, sha256, &now, &owner_key};
    return exec(st, "INSERT INTO files(" FILE_COLS ") VALUES (?,?,?,?,?,?,?)", "tttitii", a, NULL,
                err);
}

ragd_status store_file_json(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    const void *a[] = {id};
    ragd_status rc = prep(st, &q, "SELECT " FILE_COLS " FROM files WHERE id = ?", "t", a, err);
    if (rc) return rc;
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) *out = file_row(q);
    sqlite3_finalize(q);
    if (r == SQLITE_ROW) return RAGD_OK;
    if (r == SQLITE_DONE)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "file_id", "no file '%.64s'", id);
    return store_sqlite_error(store_db(st), err, "cannot read file");
}

ragd_status store_files_json(ragd_store *st, const char *purpose, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    const void *a[] = {purpose};
    ragd_status rc = prep(st, &q,
                          "SELECT " FILE_COLS " FROM files WHERE ?1 IS NULL OR purpose = ?1 "
                          "ORDER BY created_at DESC, rowid DESC",
                          "t", a, err);
    if (rc) return rc;
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW)
        json_array_append_new(arr, file_row(q));
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return store_sqlite_error(store_db(st), err, "cannot list files");
    }
    *out = arr;
    return RAGD_OK;
}

ragd_status store_file_delete(ragd_store *st, const char *id, ragd_error *err)
{
    const void *a[] = {id};
    int n = 0;
    ragd_status rc = exec(st, "DELETE FROM files WHERE id = ?", "t", a, &n, err);
    if (!rc && !n)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "file_id", "no file '%.64s'", id);
    return rc;
}

ragd_status store_vstore_set(ragd_store *st, int64_t coll, const char *name,
                             const char *metadata_json, ragd_error *err)
{
    int64_t now = (int64_t)time(NULL);
    const void *a[] = {&coll, name, metadata_json ? metadata_json : "{}", &now};
    return exec(st,
                "INSERT INTO vector_stores(collection_id, name, metadata, created_at) VALUES "
                "(?,?,?,?) ON CONFLICT(collection_id) DO UPDATE SET name = excluded.name, "
                "metadata = excluded.metadata",
                "itti", a, NULL, err);
}

ragd_status store_vstore_json(ragd_store *st, int64_t coll, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    const void *a[] = {&coll};
    ragd_status rc = prep(st, &q,
                          "SELECT name, metadata, created_at FROM vector_stores WHERE "
                          "collection_id = ?",
                          "i", a, err);
    if (rc) return rc;
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        *out = json_pack("{s:s,s:o,s:I}", "name", sqlite3_column_text(q, 0), "metadata",
                         col_json(q, 1), "created_at", (json_int_t)sqlite3_column_int64(q, 2));
    sqlite3_finalize(q);
    if (r == SQLITE_ROW || r == SQLITE_DONE) return RAGD_OK;
    return store_sqlite_error(store_db(st), err, "cannot read vector store");
}

ragd_status store_vsfile_put(ragd_store *st, int64_t coll, const char *file_id,
                             const char *attributes_json, ragd_error *err)
{
    int64_t now = (int64_t)time(NULL);
    const void *a[] = {&coll, file_id, attributes_json ? attributes_json : "{}", &now};
    return exec(st,
                "INSERT OR REPLACE INTO vector_store_files(collection_id, file_id, status, "
                "attributes, created_at) VALUES (?,?,'in_progress',?,?)",
                "itti", a, NULL, err);
}

ragd_status store_vsfile_update(ragd_store *st, int64_t coll, const char *file_id,
                                const char *status, const char *last_error_json,
                                int64_t usage_bytes, ragd_error *err)
{
    const void *a[] = {status, last_error_json, &usage_bytes, &coll, file_id};
    return exec(st,
                "UPDATE vector_store_files SET status = ?, last_error = ?, usage_bytes = ? "
                "WHERE collection_id = ? AND file_id = ?",
                "ttiit", a, NULL, err);
}

#define VSF_COLS "file_id, status, attributes, last_error, usage_bytes, created_at, rowid"

static json_t *vsfile_row(sqlite3_stmt *q)
{
    return json_pack("{s:s,s:s,s:o,s:o,s:I,s:I}", "file_id", sqlite3_column_text(q, 0), "status",
                     sqlite3_column_text(q, 1), "attributes", col_json(q, 2), "last_error",
                     col_json(q, 3), "usage_bytes", (json_int_t)sqlite3_column_int64(q, 4),
                     "created_at", (json_int_t)sqlite3_column_int64(q, 5));
}

ragd_status store_vsfile_json(ragd_store *st, int64_t coll, const char *file_id, json_t **out,
                              ragd_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    const void *a[] = {&coll, file_id};
    ragd_status rc = prep(st, &q,
                          "SELECT " VSF_COLS " FROM vector_store_files WHERE collection_id = ? "
                          "AND file_id = ?",
                          "it", a, err);
    if (rc) return rc;
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) *out = vsfile_row(q);
    sqlite3_finalize(q);
    if (r == SQLITE_ROW) return RAGD_OK;
    if (r == SQLITE_DONE)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "file_id",
                                    "file '%.64s' is not in this vector store", file_id);
    return store_sqlite_error(store_db(st), err, "cannot read vector store file");
}

ragd_status store_vsfiles_page(ragd_store *st, int64_t coll, const char *after, const char *before,
                               long limit, bool asc, const char *status, json_t **out,
                               bool *has_more, ragd_error *err)
{
    *out = NULL;
    *has_more = false;
    /* The cursor is an attached file id; its rowid positions the page. */
    char sql[640];
    snprintf(sql, sizeof sql,
             "SELECT " VSF_COLS " FROM vector_store_files WHERE collection_id = ?1 "
             "AND (?2 IS NULL OR status = ?2) "
             "AND (?3 IS NULL OR rowid %s (SELECT rowid FROM vector_store_files WHERE "
             "collection_id = ?1 AND file_id = ?3)) "
             "AND (?4 IS NULL OR rowid %s (SELECT rowid FROM vector_store_files WHERE "
             "collection_id = ?1 AND file_id = ?4)) "
             "ORDER BY rowid %s LIMIT ?5",
             asc ? ">" : "<", asc ? "<" : ">", asc ? "ASC" : "DESC");
    int64_t lim = limit + 1;
    const void *a[] = {&coll, status, after, before, &lim};
    sqlite3_stmt *q;
    ragd_status rc = prep(st, &q, sql, "ittti", a, err);
    if (rc) return rc;
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        if ((long)json_array_size(arr) == limit) {
            *has_more = true;
            continue;
        }
        json_array_append_new(arr, vsfile_row(q));
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return store_sqlite_error(store_db(st), err, "cannot list vector store files");
    }
    *out = arr;
    return RAGD_OK;
}

ragd_status store_vsfile_delete(ragd_store *st, int64_t coll, const char *file_id, ragd_error *err)
{
    const void *a[] = {&coll, file_id};
    int n = 0;
    ragd_status rc =
        exec(st, "DELETE FROM vector_store_files WHERE collection_id = ? AND file_id = ?", "it", a,
             &n, err);
    if (!rc && !n)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "file_id",
                                    "file '%.64s' is not in this vector store", file_id);
    return rc;
}

ragd_status store_vsfile_counts(ragd_store *st, int64_t coll, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3_stmt *q;
    const void *a[] = {&coll};
    ragd_status rc = prep(st, &q,
                          "SELECT status, count(*) FROM vector_store_files WHERE collection_id = ? "
                          "GROUP BY status",
                          "i", a, err);
    if (rc) return rc;
    json_t *c = json_pack("{s:i,s:i,s:i,s:i,s:i}", "in_progress", 0, "completed", 0, "failed", 0,
                          "cancelled", 0, "total", 0);
    json_int_t total = 0;
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        json_int_t n = sqlite3_column_int64(q, 1);
        json_object_set_new(c, (const char *)sqlite3_column_text(q, 0), json_integer(n));
        total += n;
    }
    sqlite3_finalize(q);
    json_object_set_new(c, "total", json_integer(total));
    if (r != SQLITE_DONE) {
        json_decref(c);
        return store_sqlite_error(store_db(st), err, "cannot count vector store files");
    }
    *out = c;
    return RAGD_OK;
}
