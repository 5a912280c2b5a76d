/* ingest/prune.c — --prune: documents whose files are gone.
 *
 * After a run over paths, the collection's documents recorded under one of
 * those paths (by absolute path, or by source for documents stored before
 * paths were recorded) that the run did not meet are deleted. Writer only.
 */
#include <stdlib.h>
#include <string.h>

#include "core/path.h"
#include "core/text.h"
#include "ingest/pipeline_internal.h"

/* --prune: delete the collection's documents that came from one of these
 * paths (source equal to a path, or under a directory path) but were not met
 * in this run — their files were deleted or renamed. */
ragd_status ingest_prune(run *r, char *const *paths, size_t npaths, ragd_error *err)
{
    sqlite3 *db = store_db(r->st);
    json_t *gone = json_array();
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; i < npaths && !rc; i++) {
        /* Recorded paths are absolute and normalized, so every spelling of
         * a path prunes the same; documents stored before paths were
         * recorded (path '') match their source as typed then. */
        char *abs = path_absolute(paths[i]);
        char *path = text_escape_invalid(abs); /* as paths are stored */
        char *typed = text_escape_invalid(paths[i]);
        free(abs);
        size_t len = strlen(typed);
        while (len > 1 && typed[len - 1] == '/')
            len--;
        sqlite3_stmt *q;
        if (sqlite3_prepare_v2(db,
                               "SELECT doc_key FROM documents WHERE collection_id = ?1 AND "
                               "((path <> '' AND (path = ?2 OR substr(path, 1, length(?2) + 1) = "
                               "rtrim(?2, '/') || '/')) OR (path = '' AND (source = ?3 OR "
                               "substr(source, 1, length(?3) + 1) = ?3 || '/')))",
                               -1, &q, NULL) != SQLITE_OK) {
            rc = store_sqlite_error(db, err, "cannot list documents to prune");
            free(path);
            free(typed);
            break;
        }
        sqlite3_bind_int64(q, 1, r->coll->id);
        sqlite3_bind_text(q, 2, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 3, typed, (int)len, SQLITE_TRANSIENT);
        free(path);
        free(typed);
        while (sqlite3_step(q) == SQLITE_ROW) {
            const char *key = (const char *)sqlite3_column_text(q, 0);
            if (!json_object_get(r->seen, key)) json_array_append_new(gone, json_string(key));
        }
        sqlite3_finalize(q);
    }
    size_t k;
    json_t *v;
    json_array_foreach(gone, k, v)
    {
        if (rc) break;
        ragd_error e;
        ragd_status dr = store_doc_delete(r->st, r->coll->id, json_string_value(v), &e);
        if (dr == RAGD_ENOTFOUND) continue; /* listed under two paths */
        if (dr)
            rc = ragd_error_set(err, dr, "%s", e.msg);
        else
            r->pruned++;
    }
    json_decref(gone);
    return rc;
}
