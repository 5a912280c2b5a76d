/* store/pg_keys.c — API keys in the PostgreSQL store of record.
 *
 * A key created or revoked through any node is written to the store's
 * api_keys (one transaction, ending with the change sequence: collection
 * '', kind 'k', doc_key the key's id) and reaches every node's cache by the
 * sync, with the store's id, so `ragd keys revoke ID` means the same key
 * everywhere. Authentication keeps reading the cache (service/auth.c
 * reloads it every second), so a revocation through one node takes effect
 * on the others within the sync delay plus a second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store/pg_internal.h"
#include "store/store_internal.h"

typedef struct {
    const char *name, *hash, *grant;
    int64_t id;
} key_create_ctx;

static ragd_status key_create_body(store_pg *pg, void *vctx, ragd_error *err)
{
    key_create_ctx *k = vctx;
    char now[24];
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {k->name ? k->name : "", k->hash, k->grant, now};
    PGresult *r = pg_run(pg,
                         "INSERT INTO api_keys(name, key_hash, scopes, created_at) VALUES ($1, $2, "
                         "$3, $4::bigint) RETURNING id",
                         4, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot create the key", err);
    if (rc) return rc;
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(r, 0, 0));
    PQclear(r);
    k->id = strtoll(id, NULL, 10);
    char seq[24];
    return pg_next_seq(pg, "", 'k', id, seq, err);
}

ragd_status store_pg_key_create(ragd_store *st, const char *name, const char *hash,
                                const char *grant_json, int64_t *id, ragd_error *err)
{
    key_create_ctx k = {name, hash, grant_json, 0};
    ragd_status rc = pg_in_txn(store_pg_of(st), key_create_body, &k, err);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    if (!rc) *id = k.id;
    return rc;
}

typedef struct {
    int64_t id;
} key_revoke_ctx;

static ragd_status key_revoke_body(store_pg *pg, void *vctx, ragd_error *err)
{
    key_revoke_ctx *k = vctx;
    char id[24], now[24];
    snprintf(id, sizeof id, "%lld", (long long)k->id);
    snprintf(now, sizeof now, "%lld", (long long)time(NULL));
    const char *vals[] = {now, id};
    PGresult *r = pg_run(pg,
                         "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $1::bigint) WHERE "
                         "id = $2::bigint",
                         2, vals, NULL, NULL, 0);
    ragd_status rc = pg_check(pg, r, "cannot revoke the key", err);
    if (rc) return rc;
    bool found = atoi(PQcmdTuples(r)) > 0;
    PQclear(r);
    if (!found)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "id", "no key with id %lld",
                                    (long long)k->id);
    char seq[24];
    return pg_next_seq(pg, "", 'k', id, seq, err);
}

ragd_status store_pg_key_revoke(ragd_store *st, int64_t id, ragd_error *err)
{
    key_revoke_ctx k = {id};
    ragd_status rc = pg_in_txn(store_pg_of(st), key_revoke_body, &k, err);
    if (!rc) rc = store_pg_sync(st, 0, NULL, err);
    return rc;
}

ragd_status pg_sync_key(store_pg *pg, ragd_store *st, const char *id, ragd_error *err)
{
    const char *vals[] = {id};
    PGresult *r = pg_run(pg,
                         "SELECT id, name, key_hash, scopes, created_at, revoked_at FROM api_keys "
                         "WHERE id = $1::bigint",
                         1, vals, NULL, NULL, 1);
    ragd_status rc = pg_check(pg, r, "cannot read the key", err);
    if (rc) return rc;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    const char *sql = PQntuples(r) ? "INSERT OR REPLACE INTO api_keys(id, name, key_hash, scopes, "
                                     "created_at, revoked_at) VALUES (?,?,?,?,?,?)"
                                   : "DELETE FROM api_keys WHERE id = ?";
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
        PQclear(r);
        return store_sqlite_error(db, err, "cannot update the cached keys");
    }
    if (PQntuples(r)) {
        sqlite3_bind_int64(q, 1, pg_int8(r, 0, 0));
        sqlite3_bind_text(q, 2, PQgetvalue(r, 0, 1), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 3, PQgetvalue(r, 0, 2), -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(q, 4, PQgetvalue(r, 0, 3), -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(q, 5, pg_int8(r, 0, 4));
        if (PQgetisnull(r, 0, 5))
            sqlite3_bind_null(q, 6);
        else
            sqlite3_bind_int64(q, 6, pg_int8(r, 0, 5));
    } else {
        sqlite3_bind_int64(q, 1, strtoll(id, NULL, 10));
    }
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_sqlite_error(db, err, "cannot update the cached keys");
    sqlite3_finalize(q);
    PQclear(r);
    return rc;
}
