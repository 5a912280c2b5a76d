/* service/auth.c — API keys through the engine, and authorization.
 *
 * Keys are checked against a cache of the active keys' SHA-256 hashes,
 * reloaded from the store when it is more than AUTH_TTL_S old (so `ragd
 * keys revoke` from another process takes effect on a running server
 * within a second) and at once after a change made through this engine.
 * Hashes are compared in constant time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/hash.h"
#include "service/engine_internal.h"
#include "service/request.h"

#define AUTH_TTL_S 1.0

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int scope_rank(const char *s)
{
    return !s ? 0 : !strcmp(s, "read") ? 1 : !strcmp(s, "write") ? 2 : !strcmp(s, "admin") ? 3 : 0;
}

static const req_field KEY_FIELDS[] = {{"name", REQ_STRING, 0, 128, false},
                                       {"scope", REQ_STRING, 0, 0, true},
                                       {"collections", REQ_ARRAY, 0, 0, false},
                                       {NULL, 0, 0, 0, false}};

/* Forget the cache (auth_mu not held). */
static void keys_invalidate(ragd_engine *e)
{
    pthread_mutex_lock(&e->auth_mu);
    e->keys_loaded_at = -1e9;
    pthread_mutex_unlock(&e->auth_mu);
}

ragd_status ragd_keys_create(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = req_check_fields(req, KEY_FIELDS, err);
    static const char *const SCOPES[] = {"read", "write", "admin", NULL};
    if (!rc) rc = req_one_of(req, "scope", SCOPES, err);
    if (rc) return rc;
    json_t *colls = json_object_get(req, "collections");
    size_t n = json_array_size(colls);
    const char **names = calloc(n ? n : 1, sizeof *names);
    for (size_t i = 0; i < n && !rc; i++) {
        names[i] = json_string_value(json_array_get(colls, i));
        if (!names[i] || !*names[i])
            rc = ragd_error_set_field(err, RAGD_EINPUT, "collections",
                                      "'collections' must hold collection names");
    }
    if (!rc && colls && n == 0)
        rc = ragd_error_set_field(err, RAGD_ERANGE, "collections",
                                  "'collections' is empty; omit it for every collection");
    char key[STORE_KEY_LEN];
    int64_t id = 0;
    if (!rc) {
        pthread_mutex_lock(&e->write_mu);
        rc = store_key_create(e->writer, req_str(req, "name", ""), req_str(req, "scope", ""),
                              colls ? names : NULL, n, key, &id, err);
        pthread_mutex_unlock(&e->write_mu);
    }
    free(names);
    if (rc) return rc;
    keys_invalidate(e);
    *out = json_pack("{s:I,s:s,s:s,s:O,s:I,s:s}", "id", (json_int_t)id, "name",
                     req_str(req, "name", ""), "scope", req_str(req, "scope", ""), "collections",
                     colls ? colls : json_null(), "created_at", (json_int_t)time(NULL), "key", key);
    return RAGD_OK;
}

ragd_status ragd_keys_list(ragd_engine *e, json_t **out, ragd_error *err)
{
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    rc = store_keys_json(s->rd, false, out, err);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_key_revoke(ragd_engine *e, long long id, json_t **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_status rc = store_key_revoke(e->writer, (int64_t)id, err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    keys_invalidate(e);
    *out = json_pack("{s:I,s:b}", "id", (json_int_t)id, "revoked", 1);
    return RAGD_OK;
}

/* Make sure e->keys holds the active keys, at most AUTH_TTL_S old. The
 * cache is read and replaced only under auth_mu and never handed out:
 * jansson's reference counts are not safe to share between threads. */
static ragd_status keys_refresh(ragd_engine *e, ragd_error *err)
{
    pthread_mutex_lock(&e->auth_mu);
    double now = mono_s();
    bool fresh = e->keys && now - e->keys_loaded_at < AUTH_TTL_S;
    pthread_mutex_unlock(&e->auth_mu);
    if (fresh) return RAGD_OK;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    json_t *all = NULL;
    rc = store_keys_json(s->rd, true, &all, err);
    engine_slot_release(e, s);
    if (rc) return rc;
    json_t *active = json_array();
    size_t i;
    json_t *k;
    json_array_foreach(json_object_get(all, "keys"), i, k)
    {
        if (json_is_null(json_object_get(k, "revoked_at"))) json_array_append(active, k);
    }
    pthread_mutex_lock(&e->auth_mu);
    json_t *old = e->keys;
    e->keys = active;
    e->keys_loaded_at = now;
    pthread_mutex_unlock(&e->auth_mu);
    json_decref(old);
    json_decref(all);
    return RAGD_OK;
}

bool ragd_auth_required(ragd_engine *e)
{
    ragd_error err;
    /* A store that cannot be read fails closed: authentication required. */
    if (keys_refresh(e, &err)) return true;
    pthread_mutex_lock(&e->auth_mu);
    bool any = json_array_size(e->keys) > 0;
    pthread_mutex_unlock(&e->auth_mu);
    return any;
}

static bool same_hash(const char *a, const char *b)
{
    if (!a || !b || strlen(a) != strlen(b)) return false;
    unsigned char d = 0;
    for (size_t i = 0; a[i]; i++)
        d |= (unsigned char)(a[i] ^ b[i]);
    return d == 0;
}

ragd_status ragd_authenticate(ragd_engine *e, const char *key, ragd_principal *p, ragd_error *err)
{
    memset(p, 0, sizeof *p);
    ragd_status rc = keys_refresh(e, err);
    if (rc) return rc;
    char hash[RAGD_SHA256_HEX] = "";
    if (key && *key) ragd_sha256_hex(key, strlen(key), hash);
    pthread_mutex_lock(&e->auth_mu);
    size_t nkeys = json_array_size(e->keys);
    bool found = false;
    size_t i;
    json_t *k;
    json_array_foreach(e->keys, i, k)
    {
        if (!hash[0] || found) continue;
        if (!same_hash(json_string_value(json_object_get(k, "key_hash")), hash)) continue;
        found = true;
        p->key_id = (long long)json_integer_value(json_object_get(k, "id"));
        snprintf(p->scope, sizeof p->scope, "%s", json_string_value(json_object_get(k, "scope")));
        json_t *c = json_object_get(k, "collections");
        p->collections = json_is_array(c) ? json_deep_copy(c) : NULL;
    }
    pthread_mutex_unlock(&e->auth_mu);
    if (nkeys == 0) {
        snprintf(p->scope, sizeof p->scope, "admin");
        return RAGD_OK;
    }
    if (!key || !*key)
        return ragd_error_set(err, RAGD_EAUTH,
                              "an API key is required: send 'Authorization: Bearer KEY'");
    if (!found) return ragd_error_set(err, RAGD_EAUTH, "unknown or revoked API key");
    return RAGD_OK;
}

void ragd_principal_clear(ragd_principal *p)
{
    json_decref(p->collections);
    memset(p, 0, sizeof *p);
}

ragd_status ragd_authorize(const ragd_principal *p, const char *collection, const char *scope,
                           ragd_error *err)
{
    if (scope_rank(p->scope) < scope_rank(scope))
        return ragd_error_set(err, RAGD_EFORBIDDEN, "this key has scope '%s'; '%s' is needed",
                              p->scope, scope);
    if (collection && p->collections) {
        size_t i;
        json_t *c;
        json_array_foreach(p->collections, i, c)
        {
            if (!strcmp(json_string_value(c), collection)) return RAGD_OK;
        }
        return ragd_error_set_field(err, RAGD_EFORBIDDEN, "collection",
                                    "this key does not cover collection '%.64s'", collection);
    }
    return RAGD_OK;
}
