/* tests/pg_store_suite.c — the store test suite on the PostgreSQL backend
 * (CTest unit_store_pg, started by tests/pg_unit.py, which brings up a
 * throwaway cluster and passes its URL as RAGD_TEST_PG_URL; without it the
 * program exits 77 = skipped, never passed).
 *
 * The store-level operations of tests/unit_store.c — collections and their
 * settings, documents put / dedupe / replace / delete through ingest,
 * a failed put rolled back, parents and chunks read back — run here with a
 * PostgreSQL store of record attached to the SQLite cache, each test on
 * its own fresh database, and are checked both in the cache and in
 * PostgreSQL. Then what only the PostgreSQL backend has: the change
 * sequence between two caches (inserts, replacements, tombstones, vectors
 * byte for byte), keys, jobs claimed with SKIP LOCKED and taken over after
 * the lease, schema migrations, the connection pool (bounded, thread-safe,
 * broken connections replaced), the shared call log, and a reindex reaching
 * another cache.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit_files.h"

#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "store/pg.h"
#include "store/store.h"

static const char *ADMIN_URL; /* RAGD_TEST_PG_URL: database "postgres" of the cluster */

/* --- helpers ------------------------------------------------------------------------ */

static void quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static void pg_exec_ok(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PQsetNoticeProcessor(c, quiet, NULL);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_COMMAND_OK && PQresultStatus(r) != PGRES_TUPLES_OK) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
        fail();
    }
    PQclear(r);
    PQfinish(c);
}

/* The first column of the first row of sql, as an integer. */
static long long pg_num(const char *url, const char *sql)
{
    PGconn *c = PQconnectdb(url);
    assert_int_equal(PQstatus(c), CONNECTION_OK);
    PGresult *r = PQexec(c, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        fprintf(stderr, "%s: %s\n", sql, PQerrorMessage(c));
        fail();
    }
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return v;
}

/* A fresh, empty database `name` on the cluster; its URL in out. */
static void fresh_db(const char *name, char out[512])
{
    char sql[160];
    snprintf(sql, sizeof sql, "DROP DATABASE IF EXISTS %s", name);
    pg_exec_ok(ADMIN_URL, sql);
    snprintf(sql, sizeof sql, "CREATE DATABASE %s", name);
    pg_exec_ok(ADMIN_URL, sql);
    const char *at = strstr(ADMIN_URL, "/postgres?");
    assert_non_null(at);
    snprintf(out, 512, "%.*s/%s%s", (int)(at - ADMIN_URL), ADMIN_URL, name,
             at + strlen("/postgres"));
}

/* A cache directory (its own SQLite file) with the store attached. */
static ragd_store *cache_open(const char *dir, const char *url)
{
    ragd_store *st = NULL;
    ragd_error e = {0};
    assert_int_equal(store_open(dir, &st, &e), RAGD_OK);
    if (store_pg_attach(st, url, true, &e)) {
        fprintf(stderr, "attach: %s\n", e.msg);
        fail();
    }
    return st;
}

static int64_t count(ragd_store *st, const char *sql)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void sync_all(ragd_store *st)
{
    ragd_error e = {0};
    bool done = false;
    assert_int_equal(store_pg_sync(st, 0, &done, &e), RAGD_OK);
    assert_true(done);
}

/* --- the store suite of unit_store.c, on PostgreSQL ----------------------------------- */

static void test_collection_settings_conflict(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir();
    fresh_db("t_settings", url);
    ragd_store *st = cache_open(d, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    s.chunk_tokens = 128;
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "c1", &s, &c, &e), RAGD_OK);
    assert_int_equal(c.settings.chunk_tokens, 128);
    assert_int_equal(c.settings.overlap, 16);
    assert_string_equal(c.settings.chunker, "fixed");
    assert_int_equal(pg_num(url, "SELECT count(*) FROM collections WHERE name = 'c1' AND "
                                 "settings::json->>'chunk_tokens' = '128'"),
                     1);
    ragd_settings none;
    store_settings_init(&none);
    ragd_collection c2;
    assert_int_equal(store_collection_open(st, "c1", &none, &c2, &e), RAGD_OK);
    assert_int_equal(c2.id, c.id);
    assert_int_equal(c2.settings.chunk_tokens, 128);
    s.chunk_tokens = 64;
    assert_int_equal(store_collection_open(st, "c1", &s, &c2, &e), RAGD_ECONFLICT);
    assert_non_null(strstr(e.msg, "128"));
    assert_non_null(strstr(e.msg, "64"));
    assert_int_equal(store_collection_open(st, "nope", NULL, &c2, &e), RAGD_ENOTFOUND);
    /* Deleted: gone from the store and the cache. */
    assert_int_equal(store_collection_delete(st, c.id, &e), RAGD_OK);
    assert_int_equal(store_collection_open(st, "c1", NULL, &c2, &e), RAGD_ENOTFOUND);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM collections"), 0);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_ingest_dedupe_replace_delete(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir();
    fresh_db("t_ingest", url);
    char docs[600], data[600];
    snprintf(docs, sizeof docs, "%s/docs", d);
    snprintf(data, sizeof data, "%s/data", d);
    assert_int_equal(mkdir(docs, 0755), 0);
    unit_write_file(docs, "a.md", "# Alpha\n\nThe alpha document talks about zebras.\n");
    unit_write_file(docs, "b.txt", "Bravo\n\nThe bravo document talks about giraffes.\n");
    ragd_store *st = cache_open(data, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "default", &s, &c, &e), RAGD_OK);
    char *paths[] = {docs};
    ingest_opts o = {0};
    json_t *rep = NULL;
    assert_int_equal(ingest_paths(st, &c, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "added")), 2);
    json_decref(rep);
    int64_t chunks1 = count(st, "SELECT count(*) FROM chunks");
    int64_t max1 = count(st, "SELECT max(id) FROM chunks");
    assert_true(chunks1 >= 2);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), chunks1);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM chunks"), chunks1);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM chunks WHERE vec IS NOT NULL"),
                     count(st, "SELECT count(*) FROM vectors"));
    long long seq1 = pg_num(url, "SELECT seq FROM ragd_meta");

    /* Unchanged: a no-op, chunk ids untouched, no write to the store. */
    assert_int_equal(ingest_paths(st, &c, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "unchanged")), 2);
    json_decref(rep);
    assert_int_equal(count(st, "SELECT max(id) FROM chunks"), max1);
    assert_int_equal(pg_num(url, "SELECT seq FROM ragd_meta"), seq1);

    /* Changed: replaced in the store and in the cache. */
    unit_write_file(docs, "a.md", "# Alpha\n\nThe alpha document now talks about okapis.\n");
    assert_int_equal(ingest_paths(st, &c, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "updated")), 1);
    json_decref(rep);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'zebras'"),
                     0);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'okapis'"),
                     1);
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM documents WHERE position('okapis' in "
                                 "convert_from(body, 'UTF8')) > 0"),
                     1);
    /* One change row per key: a.md moved to the newest number. */
    assert_int_equal(pg_num(url, "SELECT count(*) FROM changes WHERE kind = 'd'"), 2);
    assert_int_equal(pg_num(url, "SELECT seq FROM changes WHERE doc_key = 'a.md'"),
                     pg_num(url, "SELECT seq FROM ragd_meta"));

    /* Delete. */
    assert_int_equal(store_doc_delete(st, c.id, "a.md", &e), RAGD_OK);
    assert_int_equal(store_doc_delete(st, c.id, "a.md", &e), RAGD_ENOTFOUND);
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"),
                     count(st, "SELECT count(*) FROM chunks"));
    assert_int_equal(pg_num(url, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM changes WHERE doc_key = 'a.md'"), 1);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_failed_put_leaves_nothing(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir();
    fresh_db("t_failed", url);
    ragd_store *st = cache_open(d, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "default", &s, &c, &e), RAGD_OK);
    const char *text = "hello world";
    store_doc doc = {.key = "k", .text = text, .text_len = strlen(text), .content_hash = "h1"};
    store_chunk ok = {.parent = -1, .start = 0, .end = 5, .tokens = 1, .heading_path = ""};
    int64_t rowid;
    assert_int_equal(store_doc_put(st, c.id, &doc, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    store_chunk bad[2] = {ok, {.parent = -1, .start = 3, .end = 999, .tokens = 1}};
    doc.content_hash = "h2";
    long long seq = pg_num(url, "SELECT seq FROM ragd_meta");
    assert_int_not_equal(store_doc_put(st, c.id, &doc, NULL, 0, bad, 2, &rowid, &e), RAGD_OK);
    assert_int_equal(count(st, "SELECT count(*) FROM documents WHERE content_hash='h1'"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 1);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM documents WHERE content_hash='h1'"), 1);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM chunks"), 1);
    assert_int_equal(pg_num(url, "SELECT seq FROM ragd_meta"), seq);
    /* A statement the server rejects inside the transaction rolls back too:
     * a parent index out of range violates nothing in SQL, so use a
     * document key PostgreSQL refuses (a NUL-free but invalid UTF-8 key). */
    doc.key = "bad\xff";
    doc.content_hash = "h3";
    assert_int_not_equal(store_doc_put(st, c.id, &doc, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(pg_num(url, "SELECT seq FROM ragd_meta"), seq);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_parent_text_and_settings(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), d2[600];
    fresh_db("t_parents", url);
    ragd_store *st = cache_open(d, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    snprintf(s.chunker, sizeof s.chunker, "semantic");
    s.semantic_percentile = 75;
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "sem", &s, &c, &e), RAGD_OK);
    ragd_collection again;
    assert_int_equal(store_collection_open(st, "sem", NULL, &again, &e), RAGD_OK);
    assert_int_equal(again.settings.semantic_percentile, 75);
    s.semantic_percentile = 80;
    assert_int_equal(store_collection_open(st, "sem", &s, &again, &e), RAGD_ECONFLICT);
    assert_non_null(strstr(e.msg, "--semantic-percentile 75, not 80"));

    const char *text =
        "# Caf\xC3\xA9 \xE2\x80\x94 na\xC3\xAFve\n\nFirst part.\n\n# Two\n\nSecond \xE5\x8C\x97.";
    size_t two = (size_t)(strstr(text, "# Two") - text);
    store_doc doc = {.key = "k", .text = text, .text_len = strlen(text), .content_hash = "h"};
    store_parent parents[2] = {
        {.start = 0, .end = two - 2, .tokens = 6, .heading_path = "Caf\xC3\xA9"},
        {.start = two, .end = strlen(text), .tokens = 4, .heading_path = "Two"}};
    store_chunk chunks[2] = {
        {.parent = 0, .start = 0, .end = two - 2, .tokens = 6, .heading_path = ""},
        {.parent = 1, .start = two, .end = strlen(text), .tokens = 4, .heading_path = ""}};
    int64_t rowid;
    assert_int_equal(store_doc_put(st, c.id, &doc, parents, 2, chunks, 2, &rowid, &e), RAGD_OK);
    /* Read back from a cache built from the store alone (another node). */
    snprintf(d2, sizeof d2, "%s/other", d);
    ragd_store *st2 = cache_open(d2, url);
    ragd_collection c2;
    assert_int_equal(store_collection_open(st2, "sem", NULL, &c2, &e), RAGD_OK);
    assert_int_equal(c2.settings.semantic_percentile, 75);
    assert_string_equal(c2.settings.chunker, "semantic");
    int64_t pid = count(st2, "SELECT max(id) FROM parents");
    char *pt = NULL, *hp = NULL;
    size_t ps = 0, pe = 0;
    assert_int_equal(store_parent_text(st2, pid, &pt, &ps, &pe, &hp, &e), RAGD_OK);
    assert_string_equal(pt, "# Two\n\nSecond \xE5\x8C\x97.");
    assert_int_equal(ps, two);
    assert_int_equal(pe, strlen(text));
    assert_string_equal(hp, "Two");
    free(pt);
    free(hp);
    json_t *j1 = NULL, *j2 = NULL;
    assert_int_equal(store_chunks_json(st, c.id, "k", &j1, &e), RAGD_OK);
    assert_int_equal(store_chunks_json(st2, c2.id, "k", &j2, &e), RAGD_OK);
    assert_int_equal(json_array_size(json_object_get(j2, "parents")), 2);
    json_t *a = json_object_get(j1, "chunks"), *b = json_object_get(j2, "chunks");
    assert_int_equal(json_array_size(a), json_array_size(b));
    for (size_t i = 0; i < json_array_size(a); i++) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        assert_string_equal(json_string_value(json_object_get(x, "text")),
                            json_string_value(json_object_get(y, "text")));
        assert_int_equal(json_integer_value(json_object_get(x, "start")),
                         json_integer_value(json_object_get(y, "start")));
    }
    json_decref(j1);
    json_decref(j2);
    store_close(st2);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* --- the change sequence between two caches --------------------------------------------- */

static void test_change_sequence_two_caches(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), da[600], db[600];
    fresh_db("t_changes", url);
    snprintf(da, sizeof da, "%s/a", d);
    snprintf(db, sizeof db, "%s/b", d);
    ragd_store *a = cache_open(da, url), *b = cache_open(db, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    s.dim = 4;
    snprintf(s.embedder, sizeof s.embedder, "local");
    ragd_collection ca, cb;
    assert_int_equal(store_collection_open(a, "seq", &s, &ca, &e), RAGD_OK);
    const char *text = "vectors travel as bytes";
    float v1[4] = {0.5f, -1.25f, 3.0e-7f, 1e30f}, v2[4] = {1, 2, 3, 4};
    store_doc doc = {.key = "d1",
                     .text = text,
                     .text_len = strlen(text),
                     .content_hash = "x",
                     .vec_model = "m",
                     .vec_dim = 4};
    store_chunk ch[2] = {
        {.parent = -1, .start = 0, .end = 7, .tokens = 1, .heading_path = "", .vec = v1},
        {.parent = -1,
         .start = 8,
         .end = 14,
         .tokens = 1,
         .heading_path = "",
         .vec = v2,
         .meta_json = "{\"page\":3}"}};
    int64_t rowid;
    assert_int_equal(store_doc_put(a, ca.id, &doc, NULL, 0, ch, 2, &rowid, &e), RAGD_OK);
    doc.key = "d2";
    assert_int_equal(store_doc_put(a, ca.id, &doc, NULL, 0, ch, 1, &rowid, &e), RAGD_OK);
    /* B applies everything after its sequence. */
    sync_all(b);
    assert_int_equal(store_collection_open(b, "seq", NULL, &cb, &e), RAGD_OK);
    assert_int_equal(count(b, "SELECT count(*) FROM documents"), 2);
    assert_int_equal(count(b, "SELECT count(*) FROM chunks"), 3);
    assert_int_equal(count(b, "SELECT seq FROM pg_sync"), pg_num(url, "SELECT seq FROM ragd_meta"));
    /* Vectors byte for byte, meta as written. */
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(b),
                                        "SELECT v.vec, c.meta FROM vectors v JOIN chunks c ON "
                                        "c.id = v.chunk_id JOIN documents d ON d.id = "
                                        "c.document_id WHERE d.doc_key = 'd1' ORDER BY c.ord",
                                        -1, &q, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_int_equal(sqlite3_column_bytes(q, 0), sizeof v1);
    assert_memory_equal(sqlite3_column_blob(q, 0), v1, sizeof v1);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_memory_equal(sqlite3_column_blob(q, 0), v2, sizeof v2);
    assert_string_equal((const char *)sqlite3_column_text(q, 1), "{\"page\":3}");
    sqlite3_finalize(q);
    /* Deleted through B (the tombstone): gone from A after its sync. */
    assert_int_equal(store_doc_delete(b, cb.id, "d1", &e), RAGD_OK);
    assert_int_equal(count(a, "SELECT count(*) FROM documents"), 2);
    sync_all(a);
    assert_int_equal(count(a, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(a, "SELECT count(*) FROM chunks_fts"), 1);
    /* The status: both caches at the store's sequence. */
    json_t *sj = NULL;
    assert_int_equal(store_pg_status(a, &sj, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(sj, "store_seq")),
                     json_integer_value(json_object_get(sj, "applied_seq")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(sj, "collections"), "seq")),
                     json_integer_value(json_object_get(sj, "store_seq")));
    json_decref(sj);
    /* A collection dropped through A is dropped from B. */
    assert_int_equal(store_collection_delete(a, ca.id, &e), RAGD_OK);
    sync_all(b);
    assert_int_equal(store_collection_open(b, "seq", NULL, &cb, &e), RAGD_ENOTFOUND);
    assert_int_equal(count(b, "SELECT count(*) FROM documents"), 0);
    store_close(a);
    store_close(b);
    unit_rmrf(d);
    free(d);
}

/* --- keys and jobs --------------------------------------------------------------------------- */

static void test_keys_shared(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), da[600], db[600];
    fresh_db("t_keys", url);
    snprintf(da, sizeof da, "%s/a", d);
    snprintf(db, sizeof db, "%s/b", d);
    ragd_store *a = cache_open(da, url), *b = cache_open(db, url);
    ragd_error e;
    char key[STORE_KEY_LEN];
    int64_t id = 0;
    assert_int_equal(store_key_create(a, "ops", "admin", NULL, 0, key, &id, &e), RAGD_OK);
    assert_true(id > 0);
    sync_all(b);
    json_t *j = NULL;
    assert_int_equal(store_keys_json(b, false, &j, &e), RAGD_OK);
    json_t *k = json_array_get(json_object_get(j, "keys"), 0);
    assert_int_equal(json_integer_value(json_object_get(k, "id")), id);
    assert_true(json_is_null(json_object_get(k, "revoked_at")));
    json_decref(j);
    assert_int_equal(store_key_revoke(b, id, &e), RAGD_OK);
    sync_all(a);
    assert_int_equal(store_keys_json(a, false, &j, &e), RAGD_OK);
    k = json_array_get(json_object_get(j, "keys"), 0);
    assert_false(json_is_null(json_object_get(k, "revoked_at")));
    json_decref(j);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM api_keys WHERE revoked_at IS NOT NULL"), 1);
    store_close(a);
    store_close(b);
    unit_rmrf(d);
    free(d);
}

static void test_jobs_skip_locked_and_lease(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), da[600], db[600];
    fresh_db("t_jobs", url);
    snprintf(da, sizeof da, "%s/a", d);
    snprintf(db, sizeof db, "%s/b", d);
    setenv("RAGD_JOB_LEASE_S", "1", 1);
    ragd_store *a = cache_open(da, url), *b = cache_open(db, url);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(a, "jobs", &s, &c, &e), RAGD_OK);
    sync_all(b);
    assert_int_equal(store_pg_job_create(a, "job1", "jobs", "ingest", "{}", "[]", &e), RAGD_OK);
    assert_int_equal(store_pg_job_create(b, "job2", "jobs", "ingest", "{}", "[{\"id\":1}]", &e),
                     RAGD_OK);
    char ia[64] = "", ib[64] = "", ic[64] = "";
    int64_t coll = 0;
    bool fa = false, fb = false, fc = true;
    assert_int_equal(store_job_next(a, ia, &coll, &fa, &e), RAGD_OK);
    assert_int_equal(store_job_next(b, ib, &coll, &fb, &e), RAGD_OK);
    assert_true(fa && fb);
    assert_string_not_equal(ia, ib); /* two nodes never claim the same job */
    assert_int_equal(store_job_next(a, ic, &coll, &fc, &e), RAGD_OK);
    assert_false(fc);
    json_t *p = NULL;
    assert_int_equal(store_pg_job_payload(a, "job2", &p, &e), RAGD_OK);
    assert_int_equal(json_array_size(p), 1);
    json_decref(p);
    /* a finishes its job; b "dies": its lease ends and a takes its job over. */
    assert_int_equal(store_job_update(a, ia, "completed", "{\"done\":1}", "{}", &e), RAGD_OK);
    sleep(2);
    assert_int_equal(store_job_next(a, ic, &coll, &fc, &e), RAGD_OK);
    assert_true(fc);
    assert_string_equal(ic, ib);
    assert_int_equal(coll, c.id);
    json_t *cnt = NULL;
    assert_int_equal(store_jobs_counts(b, &cnt, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(cnt, "completed")), 1);
    assert_int_equal(json_integer_value(json_object_get(cnt, "running")), 1);
    json_decref(cnt);
    assert_int_equal(store_job_json(b, "nope", &cnt, &e), RAGD_ENOTFOUND);
    unsetenv("RAGD_JOB_LEASE_S");
    store_close(a);
    store_close(b);
    unit_rmrf(d);
    free(d);
}

/* --- migrations ------------------------------------------------------------------------------ */

static void test_migrations(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), d2[600], d3[600];
    fresh_db("t_migrate", url);
    ragd_store *st = cache_open(d, url);
    store_close(st);
    assert_int_equal(pg_num(url, "SELECT max(version) FROM ragd_schema"), STORE_PG_SCHEMA_VERSION);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM ragd_schema"), STORE_PG_SCHEMA_VERSION);
    /* Back to version 1: the next attach migrates every step. */
    pg_exec_ok(url, "DELETE FROM ragd_schema WHERE version > 1; DROP TABLE api_keys; DROP TABLE "
                    "jobs; DROP TABLE answer_feedback; DROP TABLE answer_calls");
    snprintf(d2, sizeof d2, "%s/two", d);
    st = cache_open(d2, url);
    store_close(st);
    assert_int_equal(pg_num(url, "SELECT max(version) FROM ragd_schema"), STORE_PG_SCHEMA_VERSION);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM answer_calls"), 0);
    /* Newer than this binary: refused, left alone. */
    pg_exec_ok(url, "INSERT INTO ragd_schema VALUES (99)");
    snprintf(d3, sizeof d3, "%s/three", d);
    ragd_store *s3 = NULL;
    ragd_error e;
    assert_int_equal(store_open(d3, &s3, &e), RAGD_OK);
    assert_int_equal(store_pg_attach(s3, url, true, &e), RAGD_ESTORE);
    assert_non_null(strstr(e.msg, "schema version 99"));
    store_close(s3);
    assert_int_equal(pg_num(url, "SELECT max(version) FROM ragd_schema"), 99);
    unit_rmrf(d);
    free(d);
}

/* --- the connection pool and the shared call log -------------------------------------------- */

typedef struct {
    store_pg_pool *pool;
    const char *node;
    int n;
    int64_t ids[50];
    int failures;
} writer_arg;

static void *call_writer(void *arg)
{
    writer_arg *w = arg;
    for (int i = 0; i < w->n; i++) {
        char q[64];
        snprintf(q, sizeof q, "question %d of %s", i, w->node);
        store_call c = {.request_id = "r", .collection = "c", .question = q, .answer = "a"};
        ragd_error e = {0};
        if (store_pg_call_insert(w->pool, w->node, &c, &w->ids[i], &e)) w->failures++;
    }
    return NULL;
}

static void test_pool_concurrent_bounded_replaced(void **state)
{
    (void)state;
    char url[512], aurl[600];
    fresh_db("t_pool", url);
    snprintf(aurl, sizeof aurl, "%s&application_name=ragd-unit-pool", url);
    store_pg_pool *pool = NULL;
    ragd_error e;
    assert_int_equal(store_pg_pool_open(aurl, 0, &pool, &e), RAGD_EUSAGE);
    assert_int_equal(store_pg_pool_open(aurl, 2, &pool, &e), RAGD_OK);
    /* Four threads, two connections. */
    writer_arg w[4];
    pthread_t t[4];
    const char *nodes[4] = {"n1", "n2", "n3", "n4"};
    for (int i = 0; i < 4; i++) {
        w[i] = (writer_arg){.pool = pool, .node = nodes[i], .n = 50};
        assert_int_equal(pthread_create(&t[i], NULL, call_writer, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        assert_int_equal(w[i].failures, 0);
    json_t *stats = store_pg_pool_stats(pool);
    assert_true(json_integer_value(json_object_get(stats, "peak_open")) <= 2);
    assert_int_equal(json_integer_value(json_object_get(stats, "replaced")), 0);
    json_decref(stats);
    assert_int_equal(pg_num(url, "SELECT count(DISTINCT id) FROM answer_calls"), 200);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM answer_calls WHERE node = 'n3'"), 50);
    assert_true(pg_num(ADMIN_URL, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                  "'ragd-unit-pool'") <= 2);
    /* Feedback and the list. */
    int64_t fid = 0;
    assert_int_equal(store_pg_feedback_add(pool, "n9", w[0].ids[0], "up", "fine", &fid, &e),
                     RAGD_OK);
    assert_int_equal(store_pg_feedback_add(pool, "n9", 99999999, "up", NULL, &fid, &e),
                     RAGD_ENOTFOUND);
    json_t *list = NULL;
    assert_int_equal(store_pg_calls_list(pool, 1000, &list, &e), RAGD_OK);
    json_t *calls = json_object_get(list, "calls");
    assert_int_equal(json_array_size(calls), 200);
    json_t *rated = NULL; /* the threads interleave: find the rated call by id */
    for (size_t i = 0; i < json_array_size(calls); i++) {
        json_t *x = json_array_get(calls, i);
        if (i && json_integer_value(json_object_get(x, "call_id")) >=
                     json_integer_value(json_object_get(json_array_get(calls, i - 1), "call_id")))
            fail_msg("calls are not newest first");
        if (json_integer_value(json_object_get(x, "call_id")) == w[0].ids[0]) rated = x;
    }
    assert_non_null(rated);
    assert_string_equal(json_string_value(json_object_get(rated, "node")), "n1");
    json_t *fb = json_array_get(json_object_get(rated, "feedback"), 0);
    assert_string_equal(json_string_value(json_object_get(fb, "node")), "n9");
    assert_string_equal(json_string_value(json_object_get(fb, "comment")), "fine");
    json_decref(list);
    /* The server ends every connection: the next calls get fresh ones. */
    pg_exec_ok(ADMIN_URL, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                          "application_name = 'ragd-unit-pool'");
    usleep(200 * 1000);
    int64_t id = 0;
    store_call c = {.question = "after", .answer = "a"};
    assert_int_equal(store_pg_call_insert(pool, "n1", &c, &id, &e), RAGD_OK);
    assert_int_equal(store_pg_call_insert(pool, "n1", &c, &id, &e), RAGD_OK);
    stats = store_pg_pool_stats(pool);
    assert_true(json_integer_value(json_object_get(stats, "replaced")) >= 1);
    json_decref(stats);
    store_pg_pool_free(pool);
}

/* A writer store and the call log on one pool: the store's operations give
 * their connection back, so a pool of one serves both in turn. */
static void test_store_on_a_shared_pool(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir();
    fresh_db("t_shared", url);
    store_pg_pool *pool = NULL;
    ragd_error e;
    assert_int_equal(store_pg_pool_open(url, 1, &pool, &e), RAGD_OK);
    ragd_store *st = NULL;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(store_pg_attach_pool(st, pool, true, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "p", &s, &c, &e), RAGD_OK);
    int64_t id = 0;
    store_call call = {.question = "q", .answer = "a"};
    assert_int_equal(store_pg_call_insert(pool, "n", &call, &id, &e), RAGD_OK);
    const char *text = "pooled";
    store_doc doc = {.key = "k", .text = text, .text_len = strlen(text), .content_hash = "h"};
    store_chunk ok = {.parent = -1, .start = 0, .end = 6, .tokens = 1, .heading_path = ""};
    int64_t rowid;
    assert_int_equal(store_doc_put(st, c.id, &doc, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(store_pg_call_insert(pool, "n", &call, &id, &e), RAGD_OK);
    json_t *stats = store_pg_pool_stats(pool);
    assert_int_equal(json_integer_value(json_object_get(stats, "open")), 1);
    assert_int_equal(json_integer_value(json_object_get(stats, "idle")), 1);
    json_decref(stats);
    store_close(st);
    store_pg_pool_free(pool);
    unit_rmrf(d);
    free(d);
}

/* --- reindex through the store ---------------------------------------------------------------- */

static int reindexed;
static void on_reindex(void *ctx, const ragd_collection *c)
{
    (void)ctx;
    if (!strcmp(c->settings.index_factory, "IDMap,HNSW32")) reindexed++;
}

static void test_set_factory_reaches_other_caches(void **state)
{
    (void)state;
    char url[512], *d = unit_tmpdir(), da[600], db[600];
    fresh_db("t_factory", url);
    snprintf(da, sizeof da, "%s/a", d);
    snprintf(db, sizeof db, "%s/b", d);
    ragd_store *a = cache_open(da, url), *b = cache_open(db, url);
    store_pg_on_reindex(b, on_reindex, NULL);
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection ca, cb;
    assert_int_equal(store_collection_open(a, "f", &s, &ca, &e), RAGD_OK);
    sync_all(b);
    assert_int_equal(store_collection_open(b, "f", NULL, &cb, &e), RAGD_OK);
    assert_string_equal(cb.settings.index_factory, "IDMap,Flat");
    assert_int_equal(store_exec(b,
                                "INSERT INTO index_state(collection_id, factory, last_chunk_id, "
                                "updated_at) SELECT id, 'IDMap,Flat', 0, 0 FROM collections",
                                &e),
                     RAGD_OK);
    assert_int_equal(store_collection_set_factory(a, ca.id, "IDMap,HNSW32", &e), RAGD_OK);
    assert_int_equal(pg_num(url, "SELECT count(*) FROM collections WHERE "
                                 "settings::json->>'index_factory' = 'IDMap,HNSW32'"),
                     1);
    reindexed = 0;
    sync_all(b);
    assert_int_equal(reindexed, 1);
    assert_int_equal(store_collection_open(b, "f", NULL, &cb, &e), RAGD_OK);
    assert_string_equal(cb.settings.index_factory, "IDMap,HNSW32");
    assert_int_equal(cb.id, count(b, "SELECT id FROM collections"));   /* same collection */
    assert_int_equal(count(b, "SELECT count(*) FROM index_state"), 0); /* rebuilt on next use */
    sync_all(b);
    assert_int_equal(reindexed, 1); /* once */
    store_close(a);
    store_close(b);
    unit_rmrf(d);
    free(d);
}

int main(void)
{
    ADMIN_URL = getenv("RAGD_TEST_PG_URL");
    if (!ADMIN_URL || !*ADMIN_URL) {
        printf("unit_store_pg: SKIPPED: RAGD_TEST_PG_URL is not set (tests/pg_unit.py starts a "
               "cluster and sets it)\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collection_settings_conflict),
        cmocka_unit_test(test_ingest_dedupe_replace_delete),
        cmocka_unit_test(test_failed_put_leaves_nothing),
        cmocka_unit_test(test_parent_text_and_settings),
        cmocka_unit_test(test_change_sequence_two_caches),
        cmocka_unit_test(test_keys_shared),
        cmocka_unit_test(test_jobs_skip_locked_and_lease),
        cmocka_unit_test(test_migrations),
        cmocka_unit_test(test_pool_concurrent_bounded_replaced),
        cmocka_unit_test(test_store_on_a_shared_pool),
        cmocka_unit_test(test_set_factory_reaches_other_caches),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
