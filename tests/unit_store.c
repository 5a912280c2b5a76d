/* tests/unit_store.c — schema migrations, collections, and the document
 * write path (dedupe by content hash, replace on change, delete), against a
 * real SQLite database in a temporary directory. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "index/lexical.h"
#include "ingest/ingest.h"
#include "store/schema.h"
#include "store/store.h"

static int64_t count(ragd_store *st, const char *sql)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

static void test_migrate_fresh_and_reopen(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(schema_version(store_db(st)), STORE_SCHEMA_VERSION);
    /* Every designed table exists. */
    const char *tables[] = {"collections", "documents",   "parents",     "chunks", "chunks_fts",
                            "vectors",     "embed_cache", "index_state", "jobs",   "api_keys",
                            "request_log", "feedback",    NULL};
    for (int i = 0; tables[i]; i++) {
        char sql[256];
        snprintf(sql, sizeof sql, "SELECT count(*) FROM sqlite_master WHERE name='%s'", tables[i]);
        assert_int_equal(count(st, sql), 1);
    }
    assert_int_equal(count(st, "PRAGMA foreign_keys"), 1);
    store_close(st);
    /* Reopening applies nothing and keeps the version. */
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(schema_version(store_db(st)), STORE_SCHEMA_VERSION);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_newer_schema_is_refused(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(store_exec(st, "PRAGMA user_version = 99", &e), RAGD_OK);
    store_close(st);
    assert_int_equal(store_open(d, &st, &e), RAGD_ESTORE);
    assert_null(st);
    assert_non_null(strstr(e.msg, "newer"));
    unit_rmrf(d);
    free(d);
}

static void test_data_dir_is_a_file(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    unit_write_file(d, "file", "x");
    char p[512];
    snprintf(p, sizeof p, "%s/file", d);
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_not_equal(store_open(p, &st, &e), RAGD_OK);
    assert_null(st);
    assert_non_null(strstr(e.msg, "file"));
    unit_rmrf(d);
    free(d);
}

static void test_collection_settings_conflict(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    s.chunk_tokens = 128;
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "c1", &s, &c, &e), RAGD_OK);
    assert_int_equal(c.settings.chunk_tokens, 128);
    assert_int_equal(c.settings.overlap, 16);
    assert_string_equal(c.settings.chunker, "fixed");
    /* Unspecified fields: no conflict, stored settings come back. */
    ragd_settings none;
    store_settings_init(&none);
    ragd_collection c2;
    assert_int_equal(store_collection_open(st, "c1", &none, &c2, &e), RAGD_OK);
    assert_int_equal(c2.id, c.id);
    assert_int_equal(c2.settings.chunk_tokens, 128);
    /* A different explicit value is a conflict naming both. */
    s.chunk_tokens = 64;
    assert_int_equal(store_collection_open(st, "c1", &s, &c2, &e), RAGD_ECONFLICT);
    assert_non_null(strstr(e.msg, "128"));
    assert_non_null(strstr(e.msg, "64"));
    /* Missing collection without create. */
    assert_int_equal(store_collection_open(st, "nope", NULL, &c2, &e), RAGD_ENOTFOUND);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_ingest_dedupe_replace_delete(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    char docs[600];
    snprintf(docs, sizeof docs, "%s/docs", d);
    assert_int_equal(mkdir(docs, 0755), 0);
    unit_write_file(docs, "a.md", "# Alpha\n\nThe alpha document talks about zebras.\n");
    unit_write_file(docs, "b.txt", "Bravo\n\nThe bravo document talks about giraffes.\n");
    ragd_store *st = NULL;
    ragd_error e;
    char data[600];
    snprintf(data, sizeof data, "%s/data", d);
    assert_int_equal(store_open(data, &st, &e), RAGD_OK);
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

    /* Unchanged: a no-op, chunk ids untouched. */
    assert_int_equal(ingest_paths(st, &c, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "unchanged")), 2);
    assert_int_equal(json_integer_value(json_object_get(rep, "added")), 0);
    json_decref(rep);
    assert_int_equal(count(st, "SELECT max(id) FROM chunks"), max1);

    /* Changed: replaced, old chunks and FTS rows gone. */
    unit_write_file(docs, "a.md", "# Alpha\n\nThe alpha document now talks about okapis.\n");
    assert_int_equal(ingest_paths(st, &c, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "updated")), 1);
    assert_int_equal(json_integer_value(json_object_get(rep, "unchanged")), 1);
    json_decref(rep);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'zebras'"),
                     0);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'okapis'"),
                     1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"),
                     count(st, "SELECT count(*) FROM chunks"));
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 2);

    /* Delete. */
    assert_int_equal(store_doc_delete(st, c.id, "a.md", &e), RAGD_OK);
    assert_int_equal(store_doc_delete(st, c.id, "a.md", &e), RAGD_ENOTFOUND);
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"),
                     count(st, "SELECT count(*) FROM chunks"));
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* Schema v2 -> v3: the lexical index gains the "coll" column. A v2 store is
 * made by rebuilding chunks_fts in its v2 shape (plus one orphan row) and
 * setting user_version back; reopening migrates it: every chunk keeps its
 * row and text, gains its collection token, and the orphan is gone. */
static void test_migrate_v2_lexical_index(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection a, b;
    assert_int_equal(store_collection_open(st, "a", &s, &a, &e), RAGD_OK);
    assert_int_equal(store_collection_open(st, "b", &s, &b, &e), RAGD_OK);
    const char *text = "zebras graze on the savanna";
    store_doc doc = {.key = "k", .text = text, .text_len = strlen(text), .content_hash = "h"};
    store_chunk ch = {
        .parent = -1, .start = 0, .end = strlen(text), .tokens = 5, .heading_path = ""};
    int64_t rowid;
    assert_int_equal(store_doc_put(st, a.id, &doc, NULL, 0, &ch, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(store_doc_put(st, b.id, &doc, NULL, 0, &ch, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(
        store_exec(
            st,
            "CREATE VIRTUAL TABLE old_fts USING fts5(title, heading, body,"
            " tokenize = 'porter unicode61 remove_diacritics 2');"
            "INSERT INTO old_fts(rowid, title, heading, body)"
            " SELECT rowid, title, heading, body FROM chunks_fts;"
            "INSERT INTO old_fts(rowid, title, heading, body) VALUES (9999, '', '', 'orphan');"
            "DROP TABLE chunks_fts; ALTER TABLE old_fts RENAME TO chunks_fts;"
            /* index_state as it was before v4 */
            "DROP TABLE index_state; CREATE TABLE index_state (collection_id INTEGER "
            "PRIMARY KEY, factory TEXT NOT NULL, last_chunk_id INTEGER NOT NULL DEFAULT 0, "
            "updated_at INTEGER NOT NULL);"
            "DROP TABLE vector_store_files; DROP TABLE vector_stores; DROP TABLE files;" /* v5 */
            /* documents as before v5 */
            "DROP INDEX documents_path; ALTER TABLE documents DROP COLUMN path;"
            "ALTER TABLE chunks DROP COLUMN chunk_words;" /* v8 */
            "ALTER TABLE documents DROP COLUMN summary_words;"
            "PRAGMA user_version = 2;",
            &e),
        RAGD_OK);
    store_close(st);
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(schema_version(store_db(st)), STORE_SCHEMA_VERSION);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 2);
    char sql[160];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'coll : c%lld AND zebras'",
             (long long)a.id);
    assert_int_equal(count(st, sql), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'orphan'"),
                     0);
    /* New rows carry the token too. */
    doc.key = "k2";
    assert_int_equal(store_doc_put(st, a.id, &doc, NULL, 0, &ch, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(count(st, sql), 2);
    /* lexical_search filters by collection inside FTS5: b's copy of the
     * text never comes back for a. */
    lexical_hit *hits = NULL;
    size_t nh = 0;
    assert_int_equal(lexical_search(st, a.id, "zebras savanna", 10, &hits, &nh, &e), RAGD_OK);
    assert_int_equal(nh, 2);
    for (size_t i = 0; i < nh; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT d.collection_id FROM chunks c JOIN documents d ON d.id = c.document_id "
                 "WHERE c.id = %lld",
                 (long long)hits[i].chunk_id);
        assert_int_equal(count(st, sql), a.id);
    }
    free(hits);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* v3 -> v4: index_state gains the snapshot's integrity facts; a row from
 * before has no checksum, so the vector index rebuilds it once. */
static void test_migrate_v3_index_state(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection a;
    assert_int_equal(store_collection_open(st, "a", &s, &a, &e), RAGD_OK);
    char sql[1024];
    snprintf(sql, sizeof sql,
             "DROP TABLE index_state;"
             "CREATE TABLE index_state ("
             "  collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,"
             "  factory TEXT NOT NULL,"
             "  last_chunk_id INTEGER NOT NULL DEFAULT 0,"
             "  updated_at INTEGER NOT NULL);"
             "INSERT INTO index_state VALUES (%lld, 'IDMap,Flat', 42, 0);"
             "DROP TABLE vector_store_files; DROP TABLE vector_stores; DROP TABLE files;"
             "DROP INDEX documents_path; ALTER TABLE documents DROP COLUMN path;"
             "ALTER TABLE chunks DROP COLUMN chunk_words;"
             "ALTER TABLE documents DROP COLUMN summary_words;"
             "PRAGMA user_version = 3;",
             (long long)a.id);
    assert_int_equal(store_exec(st, sql, &e), RAGD_OK);
    store_close(st);
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(schema_version(store_db(st)), STORE_SCHEMA_VERSION);
    bool found = false;
    store_index_state is;
    assert_int_equal(store_index_state_get(st, a.id, &found, &is, &e), RAGD_OK);
    assert_true(found);
    assert_string_equal(is.factory, "IDMap,Flat");
    assert_int_equal(is.last_chunk_id, 42);
    assert_string_equal(is.checksum, "");
    assert_int_equal(is.metric, -1);
    /* The new columns round-trip. */
    snprintf(is.checksum, sizeof is.checksum, "%064d", 7);
    is.file_bytes = 1234;
    is.ntotal = 56;
    is.dim = 32;
    is.metric = 0;
    assert_int_equal(store_index_state_set(st, a.id, &is, &e), RAGD_OK);
    store_index_state back;
    assert_int_equal(store_index_state_get(st, a.id, &found, &back, &e), RAGD_OK);
    assert_string_equal(back.checksum, is.checksum);
    assert_int_equal(back.file_bytes, 1234);
    assert_int_equal(back.ntotal, 56);
    assert_int_equal(back.dim, 32);
    assert_int_equal(back.metric, 0);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* The bytes of path (malloc'd), *n its length; NULL if missing. */
static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    ragd_buf b = RAGD_BUF_INIT;
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
        ragd_buf_append(&b, tmp, r);
    fclose(f);
    *n = b.len;
    if (!b.data) return ragd_xstrdup("");
    return ragd_buf_steal(&b);
}

/* Make d/ragd.db with sqlite3 itself (not ragd) running sql. */
static void foreign_db(const char *d, const char *sql)
{
    char p[512];
    snprintf(p, sizeof p, "%s/ragd.db", d);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

/* store_open refuses the file in d (message containing `want`) and leaves
 * it byte-for-byte unchanged, with no -wal/-shm created. */
static void assert_refused_untouched(const char *d, const char *want)
{
    char p[512], w[600];
    snprintf(p, sizeof p, "%s/ragd.db", d);
    size_t n0 = 0, n1 = 0;
    char *before = slurp(p, &n0);
    assert_non_null(before);
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_ESTORE);
    assert_null(st);
    if (!strstr(e.msg, want)) fprintf(stderr, "message: %s\n", e.msg);
    assert_non_null(strstr(e.msg, want));
    assert_int_equal(store_open_reader(d, &st, &e), RAGD_ESTORE);
    assert_null(st);
    char *after = slurp(p, &n1);
    assert_int_equal(n0, n1);
    assert_memory_equal(before, after, n0);
    snprintf(w, sizeof w, "%s-wal", p);
    assert_int_not_equal(access(w, F_OK), 0);
    snprintf(w, sizeof w, "%s-journal", p);
    assert_int_not_equal(access(w, F_OK), 0);
    free(before);
    free(after);
}

/* Issue 12 #11: a foreign SQLite file or a random file named ragd.db is
 * refused with a clear error and never modified (before, user_version 0 was
 * adopted — switched to WAL, tables added — and user_version 99 was refused
 * after journal_mode=WAL had changed its header). */
static void test_foreign_database_is_refused_untouched(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    foreign_db(d, "CREATE TABLE notes(id INTEGER PRIMARY KEY, body TEXT);"
                  "INSERT INTO notes(body) VALUES ('mine');");
    assert_refused_untouched(d, "not a ragd database");
    unit_rmrf(d);
    free(d);

    d = unit_tmpdir();
    foreign_db(d, "CREATE TABLE notes(body TEXT); PRAGMA user_version = 99;");
    assert_refused_untouched(d, "not a ragd database");
    unit_rmrf(d);
    free(d);

    d = unit_tmpdir();
    foreign_db(d, "PRAGMA application_id = 305419896;");
    assert_refused_untouched(d, "another application");
    unit_rmrf(d);
    free(d);

    d = unit_tmpdir();
    unit_write_file(d, "ragd.db", "this is a random file, not a database, but it must survive\n");
    assert_refused_untouched(d, "not an SQLite file");
    unit_rmrf(d);
    free(d);
}

/* A ragd store from before the application id (id 0, ragd's tables) opens
 * and gets the id; a new store carries it from the start. */
static void test_application_id_set_and_adopted(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(count(st, "PRAGMA application_id"), STORE_APPLICATION_ID);
    assert_int_equal(store_exec(st, "PRAGMA application_id = 0", &e), RAGD_OK);
    store_close(st);
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(count(st, "PRAGMA application_id"), STORE_APPLICATION_ID);
    assert_int_equal(schema_version(store_db(st)), STORE_SCHEMA_VERSION);
    store_close(st);
    assert_int_equal(store_open_reader(d, &st, &e), RAGD_OK);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* Every connection, writer and reader, reads the database through a memory
 * map (db_open sets PRAGMA mmap_size: the search's candidate lookups). */
static void test_connections_map_the_file(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    assert_int_equal(count(st, "PRAGMA mmap_size"), 1073741824);
    store_close(st);
    assert_int_equal(store_open_reader(d, &st, &e), RAGD_OK);
    assert_int_equal(count(st, "PRAGMA mmap_size"), 1073741824);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

static void test_failed_put_leaves_nothing(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "default", &s, &c, &e), RAGD_OK);
    const char *text = "hello world";
    store_doc doc = {.key = "k", .text = text, .text_len = strlen(text), .content_hash = "h1"};
    store_chunk ok = {.parent = -1, .start = 0, .end = 5, .tokens = 1, .heading_path = ""};
    int64_t rowid;
    assert_int_equal(store_doc_put(st, c.id, &doc, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    /* A second version whose second chunk is invalid must roll back whole,
     * leaving the first version intact. */
    store_chunk bad[2] = {ok, {.parent = -1, .start = 3, .end = 999, .tokens = 1}};
    doc.content_hash = "h2";
    assert_int_not_equal(store_doc_put(st, c.id, &doc, NULL, 0, bad, 2, &rowid, &e), RAGD_OK);
    assert_int_equal(count(st, "SELECT count(*) FROM documents WHERE content_hash='h1'"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 1);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* Batched writes: one transaction, a savepoint per document. A document
 * that fails inside the batch leaves nothing, the others commit; the same
 * key written twice in one batch leaves only the second version (no FTS
 * row of the first: FTS rows are queued until the commit); a failed
 * rewrite of a key written earlier in the batch keeps that version whole;
 * a rolled-back batch leaves nothing. */
static void test_batch_savepoints(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection c;
    assert_int_equal(store_collection_open(st, "default", &s, &c, &e), RAGD_OK);
    const char *text = "hello world";
    store_chunk ok = {.parent = -1, .start = 0, .end = 5, .tokens = 1, .heading_path = ""};
    store_chunk bad[2] = {ok, {.parent = -1, .start = 3, .end = 999, .tokens = 1}};
    int64_t rowid;
    assert_int_equal(store_batch_begin(st, &e), RAGD_OK);
    assert_true(store_batch_active(st));
    store_doc a = {.key = "a",
                   .text = text,
                   .text_len = strlen(text),
                   .content_hash = "a1",
                   .known_new = true};
    assert_int_equal(store_doc_put(st, c.id, &a, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    store_doc b = {.key = "b", .text = text, .text_len = strlen(text), .content_hash = "b1"};
    assert_int_not_equal(store_doc_put(st, c.id, &b, NULL, 0, bad, 2, &rowid, &e), RAGD_OK);
    a.content_hash = "a2";
    a.known_new = false;
    store_chunk two[2] = {ok, {.parent = -1, .start = 6, .end = 11, .tokens = 1}};
    assert_int_equal(store_doc_put(st, c.id, &a, NULL, 0, two, 2, &rowid, &e), RAGD_OK);
    a.content_hash = "a3";
    assert_int_not_equal(store_doc_put(st, c.id, &a, NULL, 0, bad, 2, &rowid, &e), RAGD_OK);
    assert_true(store_batch_active(st));
    assert_int_equal(store_batch_commit(st, &e), RAGD_OK);
    assert_false(store_batch_active(st));
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM documents WHERE content_hash='a2'"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks"), 2);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 2);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE rowid NOT IN "
                               "(SELECT id FROM chunks)"),
                     0);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'world'"),
                     1);
    /* Rolled back: nothing of the batch stays. */
    assert_int_equal(store_batch_begin(st, &e), RAGD_OK);
    store_doc x = {.key = "x",
                   .text = text,
                   .text_len = strlen(text),
                   .content_hash = "x1",
                   .known_new = true};
    assert_int_equal(store_doc_put(st, c.id, &x, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    store_batch_rollback(st);
    assert_int_equal(count(st, "SELECT count(*) FROM documents"), 1);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 2);
    /* Outside a batch, store_doc_put is its own transaction again. */
    assert_int_equal(store_doc_put(st, c.id, &x, NULL, 0, &ok, 1, &rowid, &e), RAGD_OK);
    assert_int_equal(count(st, "SELECT count(*) FROM chunks_fts"), 3);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

/* Parent sections: read back as byte slices of the document text (not
 * character slices: the text has multi-byte characters before them), and
 * the semantic_percentile setting round-trips through the settings JSON. */
static void test_parent_text_and_settings(void **state)
{
    (void)state;
    char *d = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e;
    assert_int_equal(store_open(d, &st, &e), RAGD_OK);
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
    int64_t pid = count(st, "SELECT max(id) FROM parents");
    char *pt = NULL, *hp = NULL;
    size_t ps = 0, pe = 0;
    assert_int_equal(store_parent_text(st, pid, &pt, &ps, &pe, &hp, &e), RAGD_OK);
    assert_string_equal(pt, "# Two\n\nSecond \xE5\x8C\x97.");
    assert_int_equal(ps, two);
    assert_int_equal(pe, strlen(text));
    assert_string_equal(hp, "Two");
    free(pt);
    free(hp);
    assert_int_equal(store_parent_text(st, pid - 1, &pt, NULL, NULL, NULL, &e), RAGD_OK);
    assert_memory_equal(pt, text, two - 2);
    free(pt);
    assert_int_equal(store_parent_text(st, pid + 100, &pt, NULL, NULL, NULL, &e), RAGD_ENOTFOUND);
    assert_null(pt);
    json_t *j = NULL;
    assert_int_equal(store_chunks_json(st, c.id, "k", &j, &e), RAGD_OK);
    assert_int_equal(json_array_size(json_object_get(j, "parents")), 2);
    json_t *c1 = json_array_get(json_object_get(j, "chunks"), 1);
    assert_int_equal(json_integer_value(json_object_get(c1, "parent_id")), pid);
    json_decref(j);
    store_close(st);
    unit_rmrf(d);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parent_text_and_settings),
        cmocka_unit_test(test_migrate_fresh_and_reopen),
        cmocka_unit_test(test_migrate_v2_lexical_index),
        cmocka_unit_test(test_migrate_v3_index_state),
        cmocka_unit_test(test_newer_schema_is_refused),
        cmocka_unit_test(test_foreign_database_is_refused_untouched),
        cmocka_unit_test(test_application_id_set_and_adopted),
        cmocka_unit_test(test_connections_map_the_file),
        cmocka_unit_test(test_data_dir_is_a_file),
        cmocka_unit_test(test_collection_settings_conflict),
        cmocka_unit_test(test_ingest_dedupe_replace_delete),
        cmocka_unit_test(test_failed_put_leaves_nothing),
        cmocka_unit_test(test_batch_savepoints),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
