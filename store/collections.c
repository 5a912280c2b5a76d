/* store/collections.c — listing and deleting whole collections.
 *
 * A collection's rows go in one IMMEDIATE transaction: its FTS5 rows first
 * (FTS5 has no foreign keys), then the collection row, whose ON DELETE
 * CASCADE removes documents, parents, chunks, vectors, index state and
 * pending deletions. The FAISS snapshot file is derived data: the caller
 * removes it after the commit (a leftover snapshot of a deleted collection
 * is never read: a new collection of that name gets a new id and starts
 * without index state, so it is rebuilt).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#include "store/pg.h"
#include "store/store.h"
#include "store/store_internal.h"

ragd_status store_collections_json(ragd_store *st, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            db,
            "SELECT c.name, c.settings, c.created_at,"
            " (SELECT count(*) FROM documents d WHERE d.collection_id = c.id),"
            " (SELECT count(*) FROM chunks k JOIN documents d ON d.id = k.document_id"
            "   WHERE d.collection_id = c.id),"
            " (SELECT coalesce(sum(d.bytes), 0) FROM documents d"
            "   WHERE d.collection_id = c.id), c.id"
            " FROM collections c ORDER BY c.name",
            -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot list collections");
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *st_txt = (const char *)sqlite3_column_text(q, 1);
        json_t *settings = st_txt ? json_loads(st_txt, 0, NULL) : NULL;
        if (!json_is_object(settings)) {
            json_decref(settings);
            settings = json_object();
        }
        json_array_append_new(arr, json_pack("{s:s,s:o,s:I,s:I,s:I,s:I,s:I}", "name",
                                             (const char *)sqlite3_column_text(q, 0), "settings",
                                             settings, "created_at",
                                             (json_int_t)sqlite3_column_int64(q, 2), "documents",
                                             (json_int_t)sqlite3_column_int64(q, 3), "chunks",
                                             (json_int_t)sqlite3_column_int64(q, 4), "bytes",
                                             (json_int_t)sqlite3_column_int64(q, 5), "id",
                                             (json_int_t)sqlite3_column_int64(q, 6)));
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return store_sqlite_error(db, err, "cannot list collections");
    }
    *out = json_pack("{s:o}", "collections", arr);
    return RAGD_OK;
}

ragd_status store_collection_delete(ragd_store *st, int64_t coll, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_collection_delete(st, coll, err);
    ragd_status rc = store_exec(st, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    rc = store_collection_delete_rows(st, coll, err);
    if (!rc) rc = store_exec(st, "COMMIT", err);
    if (rc) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

ragd_status store_collection_delete_rows(ragd_store *st, int64_t coll, ragd_error *err)
{
    static const char *const SQL[] = {
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT k.id FROM chunks k JOIN documents d ON "
        "d.id = k.document_id WHERE d.collection_id = ?1)",
        "DELETE FROM collections WHERE id = ?1",
    };
    sqlite3 *db = store_db(st);
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; !rc && i < sizeof SQL / sizeof SQL[0]; i++) {
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db, SQL[i], -1, &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot delete collection");
            break;
        }
        sqlite3_bind_int64(q, 1, coll);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = store_sqlite_error(db, err, "cannot delete collection");
        sqlite3_finalize(q);
    }
    return rc;
}
