/* store/schema.c — schema and forward migrations, keyed on user_version.
 *
 * MIGRATIONS[i] takes the database from version i to i+1. Never edit a step
 * that has shipped; append a new one. Version 1 already carries the tables
 * later stages fill (vectors, embedding cache, index state, jobs, API keys,
 * request and feedback logs) so those stages need no schema rewrite.
 * Version 2 adds chunks.meta, per-chunk metadata from the loaders (a PDF
 * chunk's page), as a JSON object. Version 3 adds the coll column of the
 * lexical index; version 4 the snapshot integrity columns of index_state;
 * version 5 the tables of the OpenAI-compatible API; version 6 the answer
 * call log, its feedback and write generations; version 7 documents.path,
 * the file a document came from; version 8 chunks.chunk_words and
 * documents.summary_words, the content words search validation folds
 * (retrieve/words_blob.h), computed for existing rows by the migration.
 */
#include "store/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"
#include "retrieve/words_blob.h"
#include "store/store.h"

static const char *const MIGRATIONS[] = {
    /* 0 -> 1 */
    "CREATE TABLE collections ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  settings TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE documents ("
    "  id INTEGER PRIMARY KEY,"
    "  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    "  doc_key TEXT NOT NULL,"
    "  source TEXT NOT NULL DEFAULT '',"
    "  format TEXT NOT NULL DEFAULT '',"
    "  content_hash TEXT NOT NULL,"
    "  title TEXT NOT NULL DEFAULT '',"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  summary TEXT NOT NULL DEFAULT '{}',"
    "  text TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  tokens INTEGER NOT NULL,"
    "  ingested_at INTEGER NOT NULL,"
    "  UNIQUE(collection_id, doc_key));"
    "CREATE TABLE parents ("
    "  id INTEGER PRIMARY KEY,"
    "  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    "  ord INTEGER NOT NULL,"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL,"
    "  heading_path TEXT NOT NULL DEFAULT '',"
    "  tokens INTEGER NOT NULL);"
    "CREATE INDEX parents_doc ON parents(document_id);"
    /* AUTOINCREMENT: chunk ids are never reused, so "last chunk id covered by
     * the vector snapshot" stays meaningful after deletes. */
    "CREATE TABLE chunks ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  document_id INTEGER NOT NULL REFERENCES documents(id) ON DELETE CASCADE,"
    "  parent_id INTEGER REFERENCES parents(id) ON DELETE SET NULL,"
    "  ord INTEGER NOT NULL,"
    "  start INTEGER NOT NULL,"
    "  end INTEGER NOT NULL,"
    "  heading_path TEXT NOT NULL DEFAULT '',"
    "  header TEXT NOT NULL DEFAULT '',"
    "  tokens INTEGER NOT NULL,"
    "  text TEXT NOT NULL);"
    "CREATE INDEX chunks_doc ON chunks(document_id, ord);"
    /* Lexical index: rowid = chunks.id. The body column holds the chunk text
     * prepared for tokenizing (CJK characters spaced apart). */
    "CREATE VIRTUAL TABLE chunks_fts USING fts5(title, heading, body,"
    "  tokenize = 'porter unicode61 remove_diacritics 2');"
    "CREATE TABLE vectors ("
    "  chunk_id INTEGER PRIMARY KEY REFERENCES chunks(id) ON DELETE CASCADE,"
    "  model TEXT NOT NULL,"
    "  dim INTEGER NOT NULL,"
    "  vec BLOB NOT NULL);"
    "CREATE TABLE embed_cache ("
    "  model TEXT NOT NULL,"
    "  text_hash TEXT NOT NULL,"
    "  dim INTEGER NOT NULL,"
    "  vec BLOB NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(model, text_hash)) WITHOUT ROWID;"
    "CREATE TABLE index_state ("
    "  collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,"
    "  factory TEXT NOT NULL,"
    "  last_chunk_id INTEGER NOT NULL DEFAULT 0,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE deleted_chunks ("
    "  collection_id INTEGER NOT NULL,"
    "  chunk_id INTEGER NOT NULL,"
    "  PRIMARY KEY(collection_id, chunk_id)) WITHOUT ROWID;"
    "CREATE TABLE jobs ("
    "  id TEXT PRIMARY KEY,"
    "  collection_id INTEGER REFERENCES collections(id) ON DELETE CASCADE,"
    "  kind TEXT NOT NULL,"
    "  state TEXT NOT NULL,"
    "  progress TEXT NOT NULL DEFAULT '{}',"
    "  result TEXT,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE api_keys ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  key_hash TEXT NOT NULL UNIQUE,"
    "  scopes TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  revoked_at INTEGER);"
    "CREATE TABLE request_log ("
    "  id INTEGER PRIMARY KEY,"
    "  request_id TEXT NOT NULL,"
    "  route TEXT NOT NULL,"
    "  status INTEGER NOT NULL,"
    "  latency_ms REAL NOT NULL,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE feedback ("
    "  id INTEGER PRIMARY KEY,"
    "  request_id TEXT,"
    "  rating INTEGER,"
    "  comment TEXT,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL);",
    /* 1 -> 2 */
    "ALTER TABLE chunks ADD COLUMN meta TEXT NOT NULL DEFAULT '{}';",
    /* 2 -> 3: the lexical index gains an UNINDEXED-like "coll" column holding
     * one token "c<collection id>" per row, so a search filters by
     * collection inside FTS5 (MATCH 'coll : c5 AND ...') instead of joining
     * chunks and documents for every match. The old table stores its
     * content, so rows (with their CJK-spaced text) are copied as they are;
     * rows of chunks that no longer exist are dropped on the way. */
    "CREATE VIRTUAL TABLE chunks_fts_v3 USING fts5(title, heading, body, coll,"
    "  tokenize = 'porter unicode61 remove_diacritics 2');"
    "INSERT INTO chunks_fts_v3(rowid, title, heading, body, coll)"
    "  SELECT f.rowid, f.title, f.heading, f.body, 'c' || d.collection_id FROM chunks_fts f"
    "  JOIN chunks c ON c.id = f.rowid JOIN documents d ON d.id = c.document_id;"
    "DROP TABLE chunks_fts;"
    "ALTER TABLE chunks_fts_v3 RENAME TO chunks_fts;",
    /* 3 -> 4: the vector snapshot's integrity facts, recorded when it is
     * written and verified before FAISS reads it (docs/reliability.md):
     * SHA-256 and size of the file, dimension, vector count and metric.
     * Rows written before v4 have no checksum and are rebuilt once. */
    "ALTER TABLE index_state ADD COLUMN checksum TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE index_state ADD COLUMN file_bytes INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE index_state ADD COLUMN dim INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE index_state ADD COLUMN ntotal INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE index_state ADD COLUMN metric INTEGER NOT NULL DEFAULT -1;",
    /* 4 -> 5: the OpenAI-compatible API (store/files.c, docs/compat.md):
     * uploaded files (their bytes live in <data>/files/<id>), the vector
     * store face of a collection (name, metadata), and the files attached
     * to a vector store with their ingest status. */
    "CREATE TABLE files ("
    "  id TEXT PRIMARY KEY,"
    "  filename TEXT NOT NULL,"
    "  purpose TEXT NOT NULL,"
    "  bytes INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  owner_key INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE vector_stores ("
    "  collection_id INTEGER PRIMARY KEY REFERENCES collections(id) ON DELETE CASCADE,"
    "  name TEXT NOT NULL,"
    "  metadata TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE vector_store_files ("
    "  collection_id INTEGER NOT NULL REFERENCES collections(id) ON DELETE CASCADE,"
    "  file_id TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  attributes TEXT NOT NULL DEFAULT '{}',"
    "  last_error TEXT,"
    "  usage_bytes INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  UNIQUE(collection_id, file_id));",
    /* 5 -> 6: the answer call log (store/calls.c) with its feedback, and
     * the write generation: a counter that every insert, update or delete
     * of a document and every collection created or deleted increments,
     * from triggers, so a cache keyed on it is invalidated by any process
     * that writes. One counter for the whole store, not one per collection:
     * the lexical index's BM25 statistics span every collection, so a write
     * to one can change the scores of another. IF NOT EXISTS: a database
     * set back to an older version re-runs this step. */
    "CREATE TABLE IF NOT EXISTS answer_calls ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  request_id TEXT NOT NULL,"
    "  collection TEXT NOT NULL,"
    "  question TEXT NOT NULL,"
    "  prompt TEXT NOT NULL,"
    "  response TEXT NOT NULL,"
    "  answer TEXT NOT NULL,"
    "  generator TEXT NOT NULL,"
    "  model TEXT,"
    "  template_id TEXT NOT NULL,"
    "  template_version INTEGER NOT NULL,"
    "  prompt_tokens INTEGER NOT NULL,"
    "  completion_tokens INTEGER NOT NULL,"
    "  cost REAL NOT NULL,"
    "  latency_ms REAL NOT NULL,"
    "  check_ok INTEGER NOT NULL,"
    "  path TEXT NOT NULL,"
    "  route_reason TEXT,"
    "  cache TEXT NOT NULL DEFAULT 'miss',"
    "  redacted INTEGER NOT NULL DEFAULT 0,"
    "  detail TEXT NOT NULL DEFAULT '{}',"
    "  created_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS answer_feedback ("
    "  id INTEGER PRIMARY KEY,"
    "  call_id INTEGER NOT NULL REFERENCES answer_calls(id) ON DELETE CASCADE,"
    "  rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),"
    "  comment TEXT,"
    "  created_at INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS answer_feedback_call ON answer_feedback(call_id);"
    "CREATE TABLE IF NOT EXISTS write_counter (id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  gen INTEGER NOT NULL);"
    "INSERT OR IGNORE INTO write_counter VALUES (1, 0);"
    "CREATE TRIGGER IF NOT EXISTS gen_doc_ins AFTER INSERT ON documents BEGIN"
    "  UPDATE write_counter SET gen = gen + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS gen_doc_upd AFTER UPDATE ON documents BEGIN"
    "  UPDATE write_counter SET gen = gen + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS gen_doc_del AFTER DELETE ON documents BEGIN"
    "  UPDATE write_counter SET gen = gen + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS gen_coll_ins AFTER INSERT ON collections BEGIN"
    "  UPDATE write_counter SET gen = gen + 1; END;"
    "CREATE TRIGGER IF NOT EXISTS gen_coll_del AFTER DELETE ON collections BEGIN"
    "  UPDATE write_counter SET gen = gen + 1; END;",
    /* 6 -> 7: each document records the absolute path of the file it came
     * from, so two files never share an id and --prune compares normalized
     * paths (docs/cli.md "Document ids"). Existing documents keep their ids
     * and get '' (filled in by the next ingest that meets their file). */
    "ALTER TABLE documents ADD COLUMN path TEXT NOT NULL DEFAULT '';"
    "CREATE INDEX documents_path ON documents(collection_id, path);",
    /* 7 -> 8: the content words validation folds from each chunk's
     * "title\nheading_path\ntext" and each document's summary text, as
     * compact blobs (retrieve/words_blob.h), so a search decodes instead of
     * folding. Existing rows are filled in by schema_fill_words in the same
     * transaction; NULL stays valid (search then folds the text). */
    "ALTER TABLE chunks ADD COLUMN chunk_words BLOB;"
    "ALTER TABLE documents ADD COLUMN summary_words BLOB;",
};

#define NMIGRATIONS ((int)(sizeof MIGRATIONS / sizeof MIGRATIONS[0]))

int schema_version(sqlite3 *db)
{
    sqlite3_stmt *st;
    int v = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
    }
    return v;
}

static double secs_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* One chunk read for filling, before its row is updated (a table is not
 * updated while a statement is stepping over it). */
typedef struct {
    int64_t id;
    char *heading, *text;
} fill_chunk;

int schema_fill_words(sqlite3 *db, char **errmsg)
{
    /* The summary text exactly as search's fallback reads it
     * (json_extract); an invalid summary JSON keeps NULL, so search fails
     * on it as before. */
    static const char *const DOCS =
        "SELECT id, title, CASE WHEN json_valid(summary) THEN json_extract(summary, "
        "'$.summary_text') END, json_valid(summary) FROM documents WHERE id > ? ORDER BY id "
        "LIMIT 256";
    sqlite3_stmt *dq = NULL, *cq = NULL, *du = NULL, *cu = NULL;
    int rc = sqlite3_prepare_v2(db, DOCS, -1, &dq, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(
            db, "SELECT id, heading_path, text FROM chunks WHERE document_id = ?", -1, &cq, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "UPDATE documents SET summary_words = ? WHERE id = ?", -1, &du,
                                NULL);
    if (rc == SQLITE_OK)
        rc =
            sqlite3_prepare_v2(db, "UPDATE chunks SET chunk_words = ? WHERE id = ?", -1, &cu, NULL);
    int64_t total = 0, done = 0, ndocs = 0, last = 0;
    if (rc == SQLITE_OK) {
        sqlite3_stmt *cnt;
        if (sqlite3_prepare_v2(db, "SELECT count(*) FROM chunks", -1, &cnt, NULL) == SQLITE_OK) {
            if (sqlite3_step(cnt) == SQLITE_ROW) total = sqlite3_column_int64(cnt, 0);
            sqlite3_finalize(cnt);
        }
    }
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (rc == SQLITE_OK && total >= 10000) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)total);
        log_write(LOG_INFO, "schema v8: computing the content words of every chunk", "chunks", n,
                  NULL);
    }
    ragd_buf blob = RAGD_BUF_INIT;
    int64_t next_log = 100000;
    while (rc == SQLITE_OK) {
        typedef struct {
            int64_t id;
            char *title, *summary;
            bool valid;
        } fill_doc;
        fill_doc docs[256];
        size_t nd = 0;
        sqlite3_reset(dq);
        sqlite3_bind_int64(dq, 1, last);
        int r;
        while ((r = sqlite3_step(dq)) == SQLITE_ROW && nd < 256) {
            const unsigned char *t = sqlite3_column_text(dq, 1), *s = sqlite3_column_text(dq, 2);
            docs[nd].id = sqlite3_column_int64(dq, 0);
            docs[nd].title = ragd_xstrdup(t ? (const char *)t : "");
            docs[nd].summary = ragd_xstrdup(s ? (const char *)s : "");
            docs[nd].valid = sqlite3_column_int(dq, 3) != 0;
            nd++;
        }
        if (r != SQLITE_ROW && r != SQLITE_DONE) rc = r;
        sqlite3_reset(dq);
        for (size_t d = 0; d < nd; d++) {
            if (rc == SQLITE_OK && docs[d].valid) {
                words_blob_summary(docs[d].summary, &blob);
                sqlite3_reset(du);
                sqlite3_bind_blob(du, 1, blob.data, (int)blob.len, SQLITE_STATIC);
                sqlite3_bind_int64(du, 2, docs[d].id);
                if ((r = sqlite3_step(du)) != SQLITE_DONE) rc = r;
            }
            fill_chunk *cv = NULL;
            size_t nc = 0, cap = 0;
            sqlite3_reset(cq);
            sqlite3_bind_int64(cq, 1, docs[d].id);
            while (rc == SQLITE_OK && (r = sqlite3_step(cq)) == SQLITE_ROW) {
                ragd_array_grow((void **)&cv, &cap, nc + 1, sizeof *cv);
                const unsigned char *h = sqlite3_column_text(cq, 1),
                                    *x = sqlite3_column_text(cq, 2);
                cv[nc].id = sqlite3_column_int64(cq, 0);
                cv[nc].heading = ragd_xstrdup(h ? (const char *)h : "");
                cv[nc].text = ragd_xstrdup(x ? (const char *)x : "");
                nc++;
            }
            if (rc == SQLITE_OK && r != SQLITE_DONE) rc = r;
            sqlite3_reset(cq);
            for (size_t c = 0; c < nc; c++) {
                if (rc == SQLITE_OK) {
                    words_blob_chunk(docs[d].title, cv[c].heading, cv[c].text, &blob);
                    sqlite3_reset(cu);
                    sqlite3_bind_blob(cu, 1, blob.data, (int)blob.len, SQLITE_STATIC);
                    sqlite3_bind_int64(cu, 2, cv[c].id);
                    if ((r = sqlite3_step(cu)) != SQLITE_DONE) rc = r;
                }
                free(cv[c].heading);
                free(cv[c].text);
            }
            free(cv);
            done += (int64_t)nc;
            last = docs[d].id;
            free(docs[d].title);
            free(docs[d].summary);
        }
        ndocs += (int64_t)nd;
        if (done >= next_log && rc == SQLITE_OK) {
            char a[32], b[32], s[32];
            snprintf(a, sizeof a, "%lld", (long long)done);
            snprintf(b, sizeof b, "%lld", (long long)total);
            snprintf(s, sizeof s, "%.1f", secs_since(&t0));
            log_write(LOG_INFO, "schema v8: content words", "chunks_done", a, "chunks", b,
                      "seconds", s, NULL);
            next_log = done + 100000;
        }
        if (nd < 256) break;
    }
    ragd_buf_free(&blob);
    if (rc != SQLITE_OK && errmsg) *errmsg = sqlite3_mprintf("%s", sqlite3_errmsg(db));
    sqlite3_finalize(dq);
    sqlite3_finalize(cq);
    sqlite3_finalize(du);
    sqlite3_finalize(cu);
    if (rc == SQLITE_OK && total >= 10000) {
        char a[32], b[32], s[32];
        snprintf(a, sizeof a, "%lld", (long long)done);
        snprintf(b, sizeof b, "%lld", (long long)ndocs);
        snprintf(s, sizeof s, "%.1f", secs_since(&t0));
        log_write(LOG_INFO, "schema v8: content words computed", "chunks", a, "documents", b,
                  "seconds", s, NULL);
    }
    return rc;
}

ragd_status schema_migrate(sqlite3 *db, ragd_error *err)
{
    int v = schema_version(db);
    if (v < 0) return store_sqlite_error(db, err, "cannot read schema version");
    if (v > NMIGRATIONS)
        return ragd_error_set(err, RAGD_ESTORE,
                              "database schema version %d is newer than this ragd understands "
                              "(%d); upgrade ragd",
                              v, NMIGRATIONS);
    for (; v < NMIGRATIONS; v++) {
        char *msg = NULL;
        if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK) {
            ragd_error_set(err, RAGD_ESTORE, "migration %d: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            return RAGD_ESTORE;
        }
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if (sqlite3_exec(db, MIGRATIONS[v], NULL, NULL, &msg) != SQLITE_OK ||
            (v + 1 == 8 && schema_fill_words(db, &msg) != SQLITE_OK) ||
            sqlite3_exec(db, pragma, NULL, NULL, &msg) != SQLITE_OK) {
            ragd_error_set(err, RAGD_ESTORE, "migration %d failed: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return RAGD_ESTORE;
        }
        if (sqlite3_exec(db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
            ragd_error_set(err, RAGD_ESTORE, "migration %d commit: %s", v + 1, msg ? msg : "?");
            sqlite3_free(msg);
            sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
            return RAGD_ESTORE;
        }
    }
    return RAGD_OK;
}
