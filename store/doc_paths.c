/* store/doc_paths.c — the file path each document records.
 *
 * Since schema version 5 a document that came from a file records that
 * file's absolute, lexically normalized path (documents.path, indexed per
 * collection). The ingest pipeline uses it to keep two files from sharing
 * one id (a stored id whose recorded file still exists is not taken over by
 * another file), to keep a file's id when the arguments that reach it
 * change, and --prune to compare normalized paths. Documents stored before
 * version 5 have '' until an ingest meets their file again.
 *
 * Thread-safety: as store.h (one thread per ragd_store).
 */
#include <stdlib.h>
#include <sys/stat.h>

#include "core/buf.h"
#include "store/store.h"

ragd_status store_doc_key_by_path(ragd_store *st, int64_t coll, const char *path, char **key,
                                  ragd_error *err)
{
    *key = NULL;
    if (!path || !*path) return RAGD_OK;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT doc_key FROM documents WHERE collection_id=? AND path=? "
                           "ORDER BY id LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot look up document by path");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, path, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) *key = ragd_xstrdup((const char *)sqlite3_column_text(q, 0));
    sqlite3_finalize(q);
    if (r != SQLITE_ROW && r != SQLITE_DONE)
        return store_sqlite_error(db, err, "cannot look up document by path");
    return RAGD_OK;
}

ragd_status store_doc_set_path(ragd_store *st, int64_t coll, const char *key, const char *path,
                               ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "UPDATE documents SET path=? WHERE collection_id=? AND doc_key=?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot record the document's path");
    sqlite3_bind_text(q, 1, path ? path : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, coll);
    sqlite3_bind_text(q, 3, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(db, err, "cannot record the document's path");
    return RAGD_OK;
}

bool store_exists(const char *data_dir)
{
    ragd_buf p = RAGD_BUF_INIT;
    ragd_buf_printf(&p, "%s/ragd.db", data_dir);
    struct stat sb;
    bool ok = stat(p.data, &sb) == 0 && S_ISREG(sb.st_mode);
    ragd_buf_free(&p);
    return ok;
}
