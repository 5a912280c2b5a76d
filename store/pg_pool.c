/* store/pg_pool.c — a bounded pool of PostgreSQL connections (store/pg.h).
 *
 * One pool per engine (or per CLI store): at most `size` connections are
 * open; a checkout takes an idle one, opens a new one while fewer than
 * `size` exist, or waits for a return. A connection comes back idle (a
 * transaction left open is rolled back); one that broke (PQstatus not OK)
 * is closed on return and a new one opened by the next checkout, and an
 * idle one found broken at checkout is reset (PQreset) or replaced. The
 * first connection creates or migrates the schema (store/pg.c).
 *
 * Thread-safety: every function may be called from any thread (state
 * under mu); a checked-out connection is used by one thread until put back.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "store/pg_internal.h"

struct store_pg_pool {
    char *url;
    size_t size;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    PGconn **idle; /* size slots */
    size_t nidle;
    size_t nopen;     /* idle + checked out */
    size_t replaced;  /* broken connections dropped (for tests and logs) */
    size_t peak_open; /* the most ever open at once */
    char store_id[64];
};

size_t store_pg_pool_default_size(void)
{
    const char *v = getenv("RAGD_STORE_POOL");
    long n = v ? strtol(v, NULL, 10) : 0;
    return n >= 1 && n <= STORE_PG_POOL_MAX ? (size_t)n : 4;
}

static store_pg_pool *pool_new(const char *url, size_t size, PGconn *c, const char *store_id)
{
    store_pg_pool *p = ragd_xcalloc(1, sizeof *p);
    p->url = ragd_xstrdup(url);
    p->size = size;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->idle = ragd_xcalloc(size, sizeof *p->idle);
    p->idle[p->nidle++] = c;
    p->nopen = p->peak_open = 1;
    snprintf(p->store_id, sizeof p->store_id, "%s", store_id);
    return p;
}

static ragd_status check_size(size_t size, ragd_error *err)
{
    if (size < 1 || size > STORE_PG_POOL_MAX)
        return ragd_error_set(err, RAGD_EUSAGE,
                              "the PostgreSQL connection pool size must be 1..%d, not %zu",
                              STORE_PG_POOL_MAX, size);
    return RAGD_OK;
}

ragd_status store_pg_pool_open(const char *url, size_t size, store_pg_pool **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = check_size(size, err);
    if (rc) return rc;
    PGconn *c = NULL;
    rc = pg_connect(url, &c, err);
    if (rc) return rc;
    store_pg tmp = {.conn = c};
    rc = pg_migrate(&tmp, err);
    if (rc) {
        PQfinish(c);
        return rc;
    }
    *out = pool_new(url, size, c, tmp.store_id);
    return RAGD_OK;
}

/* A replica cannot be migrated (it is read-only, and it replays the
 * primary's schema anyway): check that it carries this ragd's schema
 * version and the primary's store id, so a URL naming another database is
 * refused instead of silently followed. */
ragd_status store_pg_pool_open_read(const char *url, size_t size, const store_pg_pool *primary,
                                    store_pg_pool **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = check_size(size, err);
    if (rc) return rc;
    PGconn *c = NULL;
    rc = pg_connect(url, &c, err);
    if (rc) return rc;
    PGresult *r = PQexec(c, "SELECT (SELECT max(version) FROM ragd_schema), (SELECT store_id FROM "
                            "ragd_meta WHERE id = 1)");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = ragd_error_set(err, RAGD_ESTORE,
                            "--store-read: no ragd store there (has the replica replayed the "
                            "primary's schema?): %s",
                            PQerrorMessage(c));
    } else if (atoi(PQgetvalue(r, 0, 0)) != STORE_PG_SCHEMA_VERSION) {
        rc = ragd_error_set(err, RAGD_ESTORE,
                            "--store-read: the replica has schema version %s, this ragd needs %d",
                            PQgetvalue(r, 0, 0), STORE_PG_SCHEMA_VERSION);
    } else if (strcmp(PQgetvalue(r, 0, 1), primary->store_id)) {
        rc = ragd_error_set(err, RAGD_ESTORE,
                            "--store-read names another store (store id %.40s, --store has "
                            "%.40s): it must be a replica of the --store database",
                            PQgetvalue(r, 0, 1), primary->store_id);
    }
    if (!rc) *out = pool_new(url, size, c, PQgetvalue(r, 0, 1));
    PQclear(r);
    if (rc) PQfinish(c);
    return rc;
}

void store_pg_pool_free(store_pg_pool *p)
{
    if (!p) return;
    for (size_t i = 0; i < p->nidle; i++)
        PQfinish(p->idle[i]);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->idle);
    free(p->url);
    free(p);
}

const char *pg_pool_store_id(const store_pg_pool *p)
{
    return p->store_id;
}

json_t *store_pg_pool_stats(store_pg_pool *p)
{
    pthread_mutex_lock(&p->mu);
    json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:I}", "size", (json_int_t)p->size, "open",
                          (json_int_t)p->nopen, "idle", (json_int_t)p->nidle, "peak_open",
                          (json_int_t)p->peak_open, "replaced", (json_int_t)p->replaced);
    pthread_mutex_unlock(&p->mu);
    return j;
}

ragd_status pg_pool_get(store_pg_pool *p, PGconn **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&p->mu);
    while (!p->nidle && p->nopen >= p->size)
        pthread_cond_wait(&p->cv, &p->mu);
    PGconn *c = p->nidle ? p->idle[--p->nidle] : NULL;
    if (!c) {
        p->nopen++;
        if (p->nopen > p->peak_open) p->peak_open = p->nopen;
    }
    pthread_mutex_unlock(&p->mu);
    /* An idle connection whose server process ended (restart, terminate)
     * has its error and EOF waiting on the socket: reading them (without
     * blocking) marks it broken, and it is reset before use. */
    bool dead = false;
    for (int i = 0; c && i < 2 && !dead; i++) /* the FATAL message, then EOF */
        dead = !PQconsumeInput(c) || PQstatus(c) != CONNECTION_OK;
    if (dead) {
        PQreset(c);
        pthread_mutex_lock(&p->mu);
        p->replaced++;
        pthread_mutex_unlock(&p->mu);
    }
    if (c) {
        PGnotify *n;
        while ((n = PQnotifies(c)))
            PQfreemem(n);
    }
    if (c && PQstatus(c) == CONNECTION_OK) {
        *out = c;
        return RAGD_OK;
    }
    if (c) { /* could not be reset: replace it */
        PQfinish(c);
        pthread_mutex_lock(&p->mu);
        p->replaced++;
        pthread_mutex_unlock(&p->mu);
    }
    ragd_status rc = pg_connect(p->url, &c, err);
    if (rc) {
        pthread_mutex_lock(&p->mu);
        p->nopen--;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return rc;
    }
    *out = c;
    return RAGD_OK;
}

void pg_pool_put(store_pg_pool *p, PGconn *c)
{
    if (!c) return;
    if (PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) != PQTRANS_IDLE)
        PQclear(PQexec(c, "ROLLBACK"));
    bool broken = PQstatus(c) != CONNECTION_OK || PQtransactionStatus(c) != PQTRANS_IDLE;
    if (broken) PQfinish(c);
    pthread_mutex_lock(&p->mu);
    if (broken) {
        p->nopen--;
        p->replaced++;
    } else {
        p->idle[p->nidle++] = c;
    }
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

/* --- a store_pg's hold on one pooled connection ------------------------------------ */

ragd_status pg_ensure(store_pg *pg, ragd_error *err)
{
    if (pg->hold++) return RAGD_OK;
    ragd_status rc = pg_pool_get(pg->pool, &pg->conn, err);
    if (rc) pg->hold = 0;
    return rc;
}

void pg_release(store_pg *pg)
{
    if (!pg->hold || --pg->hold) return;
    pg_pool_put(pg->pool, pg->conn);
    pg->conn = NULL;
}

bool pg_conn_broken(store_pg *pg)
{
    if (PQstatus(pg->conn) == CONNECTION_OK) return false;
    PQreset(pg->conn);
    pthread_mutex_lock(&pg->pool->mu);
    pg->pool->replaced++;
    pthread_mutex_unlock(&pg->pool->mu);
    return true;
}
