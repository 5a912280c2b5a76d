/* store/pg_jobs.c — background jobs in the PostgreSQL store of record (see
 * store/pg.h).
 *
 * A job row carries its documents (payload), so whichever node claims it
 * can run it. Claiming is one statement: the oldest job that is queued, or
 * running with an expired lease, is locked with FOR UPDATE SKIP LOCKED
 * (concurrent claimers skip it instead of waiting, and never get the same
 * row) and set running with a fresh lease. The runner records progress
 * after every batch, which renews the lease; a node that dies stops
 * renewing, and when the lease ends another node claims the job and
 * resumes it from its recorded progress (documents already committed are
 * unchanged no-ops).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"
#include "store/store_internal.h"

/* RAGD_JOB_LEASE_S (process configuration), 1..86400; default 60. */
static void lease_s(char out[16])
{
    const char *v = getenv("RAGD_JOB_LEASE_S");
    long s = v ? strtol(v, NULL, 10) : 0;
    snprintf(out, 16, "%ld", s >= 1 && s <= 86400 ? s : 60L);
}

static ragd_status job_create_held(ragd_store *st, const char *id, const char *coll,
                                   const char *kind, const char *progress_json,
                                   const char *payload_json, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {id, coll, kind, progress_json, payload_json, now};
    return pg_done(pg,
                   pg_run(pg,
                          "INSERT INTO jobs(id, collection, kind, state, progress, payload, "
                          "created_at, updated_at) VALUES ($1, $2, $3, 'queued', $4, $5, "
                          "$6::bigint, $6::bigint)",
                          6, vals, NULL, NULL, 0),
                   "cannot create the job", err);
}

static ragd_status job_update_held(ragd_store *st, const char *id, const char *state,
                                   const char *progress_json, const char *result_json,
                                   ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    char now[24], lease[16];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    lease_s(lease);
    const char *vals[] = {id, state, progress_json, result_json, now, lease};
    return pg_done(pg,
                   pg_run(pg,
                          "UPDATE jobs SET state = $2, progress = coalesce($3, progress), "
                          "result = coalesce($4, result), updated_at = $5::bigint, lease_until = "
                          "CASE WHEN $2 = 'running' THEN now() + $6::int * interval '1 second' "
                          "END WHERE id = $1",
                          6, vals, NULL, NULL, 0),
                   "cannot update the job", err);
}

static json_t *text_json(const PGresult *r, int col)
{
    json_t *j = PQgetisnull(r, 0, col) ? NULL : json_loads(PQgetvalue(r, 0, col), 0, NULL);
    return j ? j : json_null();
}

static ragd_status job_json_held(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    store_pg *pg = store_pg_of(st);
    ragd_status rc = RAGD_OK;
    const char *vals[] = {id};
    PGresult *r = pg_run(pg,
                         "SELECT id, collection, kind, state, progress, result, created_at, "
                         "updated_at FROM jobs WHERE id = $1",
                         1, vals, NULL, NULL, 1);
    rc = pg_check(pg, r, "cannot read the job", err);
    if (rc) return rc;
    if (!PQntuples(r)) {
        PQclear(r);
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "id", "no job '%.64s'", id);
    }
    *out = json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:I,s:I}", "object", "job", "id",
                     PQgetvalue(r, 0, 0), "collection", PQgetvalue(r, 0, 1), "kind",
                     PQgetvalue(r, 0, 2), "state", PQgetvalue(r, 0, 3), "progress", text_json(r, 4),
                     "result", text_json(r, 5), "created_at", (json_int_t)pg_int8(r, 0, 6),
                     "updated_at", (json_int_t)pg_int8(r, 0, 7));
    PQclear(r);
    return RAGD_OK;
}

static ragd_status job_payload_held(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = RAGD_OK;
    const char *vals[] = {id};
    PGresult *r = pg_run(pg, "SELECT payload FROM jobs WHERE id = $1", 1, vals, NULL, NULL, 0);
    rc = pg_check(pg, r, "cannot read the job's documents", err);
    if (rc) return rc;
    if (PQntuples(r)) *out = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
    PQclear(r);
    return *out ? RAGD_OK : ragd_error_set(err, RAGD_ENOTFOUND, "no documents for job '%.64s'", id);
}

static ragd_status job_next_held(ragd_store *st, char id[64], int64_t *coll, bool *found,
                                 ragd_error *err)
{
    *found = false;
    *coll = 0;
    store_pg *pg = store_pg_of(st);
    ragd_status rc = RAGD_OK;
    char lease[16];
    lease_s(lease);
    const char *vals[] = {lease};
    PGresult *r = pg_run(pg,
                         "UPDATE jobs SET state = 'running', lease_until = now() + $1::int * "
                         "interval '1 second' WHERE id = (SELECT id FROM jobs WHERE state = "
                         "'queued' OR (state = 'running' AND lease_until < now()) ORDER BY "
                         "created_at, id LIMIT 1 FOR UPDATE SKIP LOCKED) RETURNING id, collection",
                         1, vals, NULL, NULL, 0);
    rc = pg_check(pg, r, "cannot claim a job", err);
    if (rc) return rc;
    if (PQntuples(r)) {
        snprintf(id, 64, "%s", PQgetvalue(r, 0, 0));
        ragd_collection c;
        ragd_error ie = {0};
        if (!store_collection_open_local(st, PQgetvalue(r, 0, 1), NULL, &c, &ie)) *coll = c.id;
        *found = true;
    }
    PQclear(r);
    return RAGD_OK;
}

static ragd_status jobs_counts_held(ragd_store *st, json_t **out, ragd_error *err)
{
    *out = NULL;
    store_pg *pg = store_pg_of(st);
    ragd_status rc = RAGD_OK;
    PGresult *r =
        pg_run(pg, "SELECT state, count(*) FROM jobs GROUP BY state", 0, NULL, NULL, NULL, 0);
    rc = pg_check(pg, r, "cannot count jobs", err);
    if (rc) return rc;
    json_t *o = json_object();
    for (int i = 0; i < PQntuples(r); i++)
        json_object_set_new(o, PQgetvalue(r, i, 0), json_integer(atoll(PQgetvalue(r, i, 1))));
    PQclear(r);
    *out = o;
    return RAGD_OK;
}

/* The public calls: each holds one pooled connection for its queries. */

ragd_status store_pg_job_create(ragd_store *st, const char *id, const char *coll, const char *kind,
                                const char *progress_json, const char *payload_json,
                                ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = job_create_held(st, id, coll, kind, progress_json, payload_json, err);
    pg_release(pg);
    return rc;
}

ragd_status store_pg_job_update(ragd_store *st, const char *id, const char *state,
                                const char *progress_json, const char *result_json, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = job_update_held(st, id, state, progress_json, result_json, err);
    pg_release(pg);
    return rc;
}

ragd_status store_pg_job_json(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = job_json_held(st, id, out, err);
    pg_release(pg);
    return rc;
}

ragd_status store_pg_job_payload(ragd_store *st, const char *id, json_t **out, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = job_payload_held(st, id, out, err);
    pg_release(pg);
    return rc;
}

ragd_status store_pg_job_next(ragd_store *st, char id[64], int64_t *coll, bool *found,
                              ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = job_next_held(st, id, coll, found, err);
    pg_release(pg);
    return rc;
}

ragd_status store_pg_jobs_counts(ragd_store *st, json_t **out, ragd_error *err)
{
    store_pg *pg = store_pg_of(st);
    if (!pg) return ragd_error_set(err, RAGD_EINTERNAL, "no PostgreSQL store attached");
    ragd_status rc = pg_ensure(pg, err);
    if (rc) return rc;
    rc = jobs_counts_held(st, out, err);
    pg_release(pg);
    return rc;
}
