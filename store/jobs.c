/* store/jobs.c — background job rows.
 *
 * A job is a row of `jobs` (id, collection, kind, state, progress and
 * result as JSON, times). States: queued → running → completed | failed;
 * a running job whose process died is put back to queued when the next
 * server starts (store_jobs_requeue), so it resumes. What a job works on
 * (an ingest job's documents) is kept by the caller beside the store.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg.h"
#include "store/store.h"
#include "store/store_internal.h"

ragd_status store_job_create(ragd_store *st, const char *id, int64_t coll, const char *kind,
                             const char *progress_json, ragd_error *err)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO jobs(id, collection_id, kind, state, progress, created_at, "
                           "updated_at) VALUES (?,?,?,'queued',?,?,?)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot create job");
    sqlite3_int64 now = (sqlite3_int64)time(NULL);
    sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, coll);
    sqlite3_bind_text(q, 3, kind, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, progress_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 5, now);
    sqlite3_bind_int64(q, 6, now);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(db, err, "cannot create job");
}

ragd_status store_job_update(ragd_store *st, const char *id, const char *state,
                             const char *progress_json, const char *result_json, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_job_update(st, id, state, progress_json, result_json, err);
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "UPDATE jobs SET state = ?, progress = coalesce(?, progress), "
                           "result = coalesce(?, result), updated_at = ? WHERE id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot update job");
    sqlite3_bind_text(q, 1, state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, progress_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, result_json, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
    sqlite3_bind_text(q, 5, id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(db, err, "cannot update job");
}

static json_t *text_json(sqlite3_stmt *q, int col)
{
    const unsigned char *t = sqlite3_column_text(q, col);
    json_t *j = t ? json_loads((const char *)t, 0, NULL) : NULL;
    return j ? j : json_null();
}

ragd_status store_job_json(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_job_json(st, id, out, err);
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT j.id, coalesce(c.name, ''), j.kind, j.state, j.progress, "
                           "j.result, j.created_at, j.updated_at FROM jobs j LEFT JOIN collections "
                           "c ON c.id = j.collection_id WHERE j.id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read job");
    sqlite3_bind_text(q, 1, id, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW)
        *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "object", "job", "id",
                         (const char *)sqlite3_column_text(q, 0), "collection",
                         (const char *)sqlite3_column_text(q, 1), "kind",
                         (const char *)sqlite3_column_text(q, 2), "state",
                         (const char *)sqlite3_column_text(q, 3), "progress", text_json(q, 4),
                         "result", text_json(q, 5), "created_at",
                         (json_int_t)sqlite3_column_int64(q, 6), "updated_at",
                         (json_int_t)sqlite3_column_int64(q, 7));
    sqlite3_finalize(q);
    if (r == SQLITE_ROW) return RAGD_OK;
    if (r == SQLITE_DONE)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "id", "no job '%.64s'", id);
    return store_sqlite_error(db, err, "cannot read job");
}

ragd_status store_jobs_requeue(ragd_store *st, int *n, ragd_error *err)
{
    if (store_pg_of(st)) { /* leases: a dead node's job is claimed again when its lease ends */
        if (n) *n = 0;
        return RAGD_OK;
    }
    sqlite3 *db = store_db(st);
    ragd_status rc =
        store_exec(st, "UPDATE jobs SET state = 'queued' WHERE state = 'running'", err);
    if (!rc && n) *n = sqlite3_changes(db);
    return rc;
}

ragd_status store_job_next(ragd_store *st, char id[64], int64_t *coll, bool *found, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_job_next(st, id, coll, found, err);
    *found = false;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "SELECT id, collection_id FROM jobs WHERE state = 'queued' "
                           "ORDER BY created_at, rowid LIMIT 1",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read jobs");
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        snprintf(id, 64, "%s", (const char *)sqlite3_column_text(q, 0));
        *coll = sqlite3_column_int64(q, 1);
        *found = true;
    }
    sqlite3_finalize(q);
    return r == SQLITE_ROW || r == SQLITE_DONE ? RAGD_OK
                                               : store_sqlite_error(db, err, "cannot read jobs");
}

ragd_status store_jobs_counts(ragd_store *st, json_t **out, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_jobs_counts(st, out, err);
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT state, count(*) FROM jobs GROUP BY state", -1, &q, NULL) !=
        SQLITE_OK)
        return store_sqlite_error(db, err, "cannot count jobs");
    json_t *o = json_object();
    while (sqlite3_step(q) == SQLITE_ROW)
        json_object_set_new(o, (const char *)sqlite3_column_text(q, 0),
                            json_integer(sqlite3_column_int64(q, 1)));
    sqlite3_finalize(q);
    *out = o;
    return RAGD_OK;
}
