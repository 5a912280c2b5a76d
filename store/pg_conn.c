/* store/pg_conn.c — the PostgreSQL backend's connections (store/pg.h):
 * connecting, the result helpers every backend file uses, the schema and
 * its migrations (keyed on table ragd_schema, run under an advisory lock
 * so nodes starting together do not race), and the LISTEN connection of a
 * node's follower.
 */
#include "store/pg_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/log.h"

/* --- connection helpers --------------------------------------------------------- */

PGresult *pg_run(store_pg *pg, const char *sql, int n, const char *const *vals, const int *lens,
                 const int *binary, int binary_out)
{
    return PQexecParams(pg->conn, sql, n, NULL, vals, lens, binary, binary_out);
}

ragd_status pg_check(store_pg *pg, PGresult *r, const char *what, ragd_error *err)
{
    ExecStatusType s = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) return RAGD_OK;
    const char *msg = r ? PQresultErrorMessage(r) : "";
    if (!msg || !*msg) msg = PQerrorMessage(pg->conn);
    char m[RAGD_ERROR_MAX / 2];
    snprintf(m, sizeof m, "%s", msg);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = 0;
    PQclear(r);
    return ragd_error_set(err, RAGD_ESTORE, "%s: %s", what, m);
}

ragd_status pg_done(store_pg *pg, PGresult *r, const char *what, ragd_error *err)
{
    ragd_status rc = pg_check(pg, r, what, err);
    if (!rc) PQclear(r);
    return rc;
}

ragd_status pg_cmd(store_pg *pg, const char *sql, ragd_error *err)
{
    char what[48];
    snprintf(what, sizeof what, "PostgreSQL store: %.20s", sql);
    return pg_done(pg, PQexec(pg->conn, sql), what, err);
}

int64_t pg_int8(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8) return 0;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return (int64_t)v;
}

int32_t pg_int4(const PGresult *r, int row, int col)
{
    const unsigned char *p = (const unsigned char *)PQgetvalue(r, row, col);
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 4) return 0;
    return (int32_t)((uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]);
}

/* --- schema ------------------------------------------------------------------------ */

/* MIGRATIONS[i] takes the schema from version i to i + 1. */
static const char *const MIGRATIONS[STORE_PG_SCHEMA_VERSION] = {
    "CREATE TABLE ragd_meta(id int PRIMARY KEY CHECK (id = 1), store_id text NOT NULL,"
    " seq bigint NOT NULL);"
    "INSERT INTO ragd_meta VALUES (1, md5(random()::text || clock_timestamp()::text), 0);"
    "CREATE TABLE collections(id bigserial PRIMARY KEY, name text NOT NULL UNIQUE,"
    " settings text NOT NULL, created_at bigint NOT NULL);"
    "CREATE TABLE documents(id bigserial PRIMARY KEY, collection_id bigint NOT NULL"
    " REFERENCES collections(id) ON DELETE CASCADE, doc_key text NOT NULL, source text NOT NULL,"
    " format text NOT NULL, content_hash text NOT NULL, title text NOT NULL,"
    " metadata text NOT NULL, summary text NOT NULL, body bytea NOT NULL, tokens bigint NOT NULL,"
    " vec_model text, vec_dim int NOT NULL, ingested_at bigint NOT NULL, seq bigint NOT NULL,"
    " UNIQUE (collection_id, doc_key));"
    "CREATE TABLE parents(document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    " ord int NOT NULL, start_off bigint NOT NULL, end_off bigint NOT NULL,"
    " tokens bigint NOT NULL, heading_path text NOT NULL, PRIMARY KEY (document_id, ord));"
    "CREATE TABLE chunks(document_id bigint NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    " idx int NOT NULL, parent_ord int NOT NULL, start_off bigint NOT NULL,"
    " end_off bigint NOT NULL, tokens bigint NOT NULL, heading_path text NOT NULL,"
    " header text NOT NULL, meta text NOT NULL, summary_text text, vec bytea,"
    " PRIMARY KEY (document_id, idx));"
    "CREATE TABLE changes(seq bigint PRIMARY KEY, collection text NOT NULL, kind char(1) NOT NULL,"
    " doc_key text NOT NULL, UNIQUE (collection, kind, doc_key));"
    "CREATE INDEX changes_collection ON changes(collection, seq);",
    /* 2: API keys (store/pg_keys.c); their changes have collection '' and kind 'k'. */
    "CREATE TABLE api_keys(id bigserial PRIMARY KEY, name text NOT NULL,"
    " key_hash text NOT NULL UNIQUE, scopes text NOT NULL, created_at bigint NOT NULL,"
    " revoked_at bigint);",
    /* 3: background jobs with their documents, claimed with FOR UPDATE SKIP LOCKED
     * (store/pg_jobs.c). */
    "CREATE TABLE jobs(id text PRIMARY KEY, collection text NOT NULL, kind text NOT NULL,"
    " state text NOT NULL, progress text NOT NULL, result text, payload text NOT NULL,"
    " lease_until timestamptz, created_at bigint NOT NULL, updated_at bigint NOT NULL);"
    "CREATE INDEX jobs_state ON jobs(state, created_at);",
    /* 4: the answer call log and its feedback, shared by every node (store/pg_calls.c);
     * node names the node that answered (or took the feedback). */
    "CREATE TABLE answer_calls(id bigserial PRIMARY KEY, node text NOT NULL, request_id text,"
    " collection text, question text, answer text, prompt text NOT NULL, response text NOT NULL,"
    " generator text, model text, template_id text, template_version int NOT NULL,"
    " prompt_tokens bigint NOT NULL, completion_tokens bigint NOT NULL,"
    " cost double precision NOT NULL, latency_ms double precision NOT NULL, check_ok int NOT NULL,"
    " path text, route_reason text, cache text NOT NULL, redacted int NOT NULL,"
    " detail text NOT NULL, created_at bigint NOT NULL);"
    "CREATE TABLE answer_feedback(id bigserial PRIMARY KEY, call_id bigint NOT NULL"
    " REFERENCES answer_calls(id) ON DELETE CASCADE, node text NOT NULL, rating text NOT NULL,"
    " comment text, created_at bigint NOT NULL);"
    "CREATE INDEX answer_feedback_call ON answer_feedback(call_id, id);",
};

/* Create or migrate the schema, under a transaction-scoped advisory lock
 * so nodes starting together do not race. */
ragd_status pg_migrate(store_pg *pg, ragd_error *err)
{
    ragd_status rc = pg_cmd(pg, "BEGIN", err);
    if (rc) return rc;
    rc = pg_cmd(pg,
                "SELECT pg_advisory_xact_lock(1380009796);"
                "CREATE TABLE IF NOT EXISTS ragd_schema(version int NOT NULL)",
                err);
    int version = 0;
    if (!rc) {
        PGresult *r = PQexec(pg->conn, "SELECT coalesce(max(version), 0) FROM ragd_schema");
        rc = pg_check(pg, r, "cannot read the store's schema version", err);
        if (!rc) {
            version = atoi(PQgetvalue(r, 0, 0));
            PQclear(r);
        }
    }
    if (!rc && version > STORE_PG_SCHEMA_VERSION)
        rc = ragd_error_set(err, RAGD_ESTORE,
                            "the PostgreSQL store has schema version %d, newer than this ragd "
                            "(%d): upgrade ragd",
                            version, STORE_PG_SCHEMA_VERSION);
    for (int v = version; !rc && v < STORE_PG_SCHEMA_VERSION; v++) {
        rc = pg_cmd(pg, MIGRATIONS[v], err);
        char num[16];
        snprintf(num, sizeof num, "%d", v + 1);
        const char *vals[] = {num};
        if (!rc)
            rc = pg_done(
                pg, pg_run(pg, "INSERT INTO ragd_schema VALUES ($1::int)", 1, vals, NULL, NULL, 0),
                "cannot record the schema version", err);
    }
    if (!rc) {
        PGresult *r = PQexec(pg->conn, "SELECT store_id FROM ragd_meta WHERE id = 1");
        rc = pg_check(pg, r, "cannot read the store id", err);
        if (!rc) {
            snprintf(pg->store_id, sizeof pg->store_id, "%s",
                     PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
            PQclear(r);
        }
    }
    if (!rc) rc = pg_cmd(pg, "COMMIT", err);
    if (rc) PQclear(PQexec(pg->conn, "ROLLBACK"));
    return rc;
}

bool store_pg_url(const char *url)
{
    return url && (!strncmp(url, "postgresql://", 13) || !strncmp(url, "postgres://", 11));
}

/* Server notices (a connection ended by the server, warnings) go to the
 * structured log, not raw to stderr. */
static void pg_notice(void *arg, const char *msg)
{
    (void)arg;
    char m[256];
    snprintf(m, sizeof m, "%s", msg);
    size_t n = strlen(m);
    while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
        m[--n] = 0;
    log_write(LOG_WARN, "PostgreSQL store notice", "message", m, NULL);
}

ragd_status pg_connect(const char *url, PGconn **out, ragd_error *err)
{
    *out = NULL;
    if (!store_pg_url(url))
        return ragd_error_set(err, RAGD_EUSAGE,
                              "--store must be a postgresql://USER@HOST/DB URL (leave it unset "
                              "for the SQLite store in --data)");
    PGconn *c = PQconnectdb(url);
    if (!c) return ragd_error_set(err, RAGD_ESTORE, "cannot connect to PostgreSQL: out of memory");
    if (PQstatus(c) != CONNECTION_OK) {
        char m[RAGD_ERROR_MAX / 2];
        snprintf(m, sizeof m, "%s", PQerrorMessage(c));
        size_t n = strlen(m);
        while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
            m[--n] = 0;
        PQfinish(c);
        return ragd_error_set(err, RAGD_ESTORE, "cannot connect to the PostgreSQL store: %s", m);
    }
    PQsetNoticeProcessor(c, pg_notice, NULL);
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PQsetClientEncoding(c, "UTF8");
    *out = c;
    return RAGD_OK;
}

/* --- LISTEN ----------------------------------------------------------------------- */

struct store_pg_listener {
    PGconn *conn;
};

ragd_status store_pg_listen(const char *url, store_pg_listener **out, ragd_error *err)
{
    *out = NULL;
    PGconn *c;
    ragd_status rc = pg_connect(url, &c, err);
    if (rc) return rc;
    PGresult *r = PQexec(c, "LISTEN ragd_changes");
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        rc = ragd_error_set(err, RAGD_ESTORE, "LISTEN failed: %s", PQerrorMessage(c));
        PQclear(r);
        PQfinish(c);
        return rc;
    }
    PQclear(r);
    *out = ragd_xcalloc(1, sizeof **out);
    (*out)->conn = c;
    return RAGD_OK;
}

int store_pg_listener_fd(store_pg_listener *l)
{
    return PQsocket(l->conn);
}

bool store_pg_listener_drain(store_pg_listener *l, int64_t *max_seq)
{
    if (!PQconsumeInput(l->conn) || PQstatus(l->conn) != CONNECTION_OK) return false;
    PGnotify *n;
    while ((n = PQnotifies(l->conn))) {
        long long seq = n->extra ? strtoll(n->extra, NULL, 10) : 0; /* pg_next_seq's payload */
        if (max_seq && seq > *max_seq) *max_seq = seq;
        PQfreemem(n);
    }
    return true;
}

void store_pg_listener_free(store_pg_listener *l)
{
    if (!l) return;
    PQfinish(l->conn);
    free(l);
}
