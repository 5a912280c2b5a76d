/* store/keys.c — API keys: created, listed, revoked; only hashes stored.
 *
 * A key is "ragd_" + 40 hex digits from the kernel's random source
 * (getrandom), shown once at creation. The api_keys row keeps its SHA-256,
 * a name, and its grant as JSON in `scopes`: {"scope":"read|write|admin",
 * "collections":[…] or null for every collection}. Revoking sets
 * revoked_at; the row stays for the record.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/hash.h"
#include "store/pg.h"
#include "store/store.h"
#include "store/store_internal.h"

ragd_status store_key_create(ragd_store *st, const char *name, const char *scope,
                             const char *const *colls, size_t ncolls, char key[STORE_KEY_LEN],
                             int64_t *id, ragd_error *err)
{
    unsigned char rnd[20];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return ragd_error_set(err, RAGD_EIO, "cannot read random bytes for a key");
    memcpy(key, "ragd_", 5);
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(key + 5 + 2 * i, 3, "%02x", rnd[i]);
    char hash[RAGD_SHA256_HEX];
    ragd_sha256_hex(key, strlen(key), hash);
    json_t *grant = json_pack("{s:s}", "scope", scope);
    if (colls) {
        json_t *a = json_array();
        for (size_t i = 0; i < ncolls; i++)
            json_array_append_new(a, json_string(colls[i]));
        json_object_set_new(grant, "collections", a);
    } else {
        json_object_set_new(grant, "collections", json_null());
    }
    char *gs = json_dumps(grant, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(grant);
    if (store_pg_of(st)) {
        ragd_status prc = store_pg_key_create(st, name, hash, gs, id, err);
        free(gs);
        return prc;
    }
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    ragd_status rc = RAGD_OK;
    if (sqlite3_prepare_v2(db,
                           "INSERT INTO api_keys(name, key_hash, scopes, created_at) "
                           "VALUES (?,?,?,?)",
                           -1, &q, NULL) != SQLITE_OK) {
        free(gs);
        return store_sqlite_error(db, err, "cannot create key");
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, gs, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 4, (sqlite3_int64)time(NULL));
    if (sqlite3_step(q) != SQLITE_DONE) rc = store_sqlite_error(db, err, "cannot create key");
    sqlite3_finalize(q);
    free(gs);
    if (!rc) *id = sqlite3_last_insert_rowid(db);
    return rc;
}

ragd_status store_keys_json(ragd_store *st, bool with_hashes, json_t **out, ragd_error *err)
{
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            db,
            "SELECT id, name, key_hash, scopes, created_at, revoked_at FROM api_keys "
            "ORDER BY id",
            -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot list keys");
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *grant = json_loads((const char *)sqlite3_column_text(q, 3), 0, NULL);
        json_t *k = json_pack(
            "{s:I,s:s,s:O,s:O,s:I,s:o}", "id", (json_int_t)sqlite3_column_int64(q, 0), "name",
            (const char *)sqlite3_column_text(q, 1), "scope",
            json_object_get(grant, "scope") ? json_object_get(grant, "scope") : json_null(),
            "collections",
            json_object_get(grant, "collections") ? json_object_get(grant, "collections")
                                                  : json_null(),
            "created_at", (json_int_t)sqlite3_column_int64(q, 4), "revoked_at",
            sqlite3_column_type(q, 5) == SQLITE_NULL
                ? json_null()
                : json_integer((json_int_t)sqlite3_column_int64(q, 5)));
        json_decref(grant);
        if (with_hashes)
            json_object_set_new(k, "key_hash",
                                json_string((const char *)sqlite3_column_text(q, 2)));
        json_array_append_new(arr, k);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return store_sqlite_error(db, err, "cannot list keys");
    }
    *out = json_pack("{s:o}", "keys", arr);
    return RAGD_OK;
}

ragd_status store_key_revoke(ragd_store *st, int64_t id, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_key_revoke(st, id, err);
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db,
                           "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot revoke key");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL));
    sqlite3_bind_int64(q, 2, id);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(db, err, "cannot revoke key");
    if (sqlite3_changes(db) == 0)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "id", "no key with id %lld",
                                    (long long)id);
    return RAGD_OK;
}
