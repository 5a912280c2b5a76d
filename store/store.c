/* store/store.c — opening the data directory, collections and documents.
 *
 * Every write of a document goes through store_doc_put (store/doc_write.c).
 */
#include "store/store.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/text.h"
#include "store/pg.h"
#include "store/schema.h"
#include "store/store_internal.h"

/* Prepared statements kept for the connection's lifetime (store_prepare):
 * the hot per-document statements, so ingest does not re-compile the same
 * SQL for every document and chunk. */
#define STMT_CACHE_MAX 24

typedef struct {
    sqlite3_stmt *q;
    bool busy; /* handed out, not yet released */
} cached_stmt;

struct ragd_store {
    sqlite3 *db;
    char *dir;
    store_pg *pg; /* the PostgreSQL store of record (store/pg.h), or NULL */
    cached_stmt stmts[STMT_CACHE_MAX];
    size_t nstmts;
    store_write_batch batch; /* store_batch_begin (store/doc_write.c) */
    void *lex_cache;         /* the lexical index's per-connection cache (index/lexical.c) */
    void (*lex_cache_free)(void *);
};

void *store_lexical_cache(ragd_store *st)
{
    return st->lex_cache;
}

void store_lexical_cache_set(ragd_store *st, void *cache, void (*free_fn)(void *))
{
    if (st->lex_cache && st->lex_cache_free && st->lex_cache != cache)
        st->lex_cache_free(st->lex_cache);
    st->lex_cache = cache;
    st->lex_cache_free = free_fn;
}

int store_prepare(ragd_store *st, const char *sql, sqlite3_stmt **q)
{
    *q = NULL;
    for (size_t i = 0; i < st->nstmts; i++) {
        cached_stmt *c = &st->stmts[i];
        if (!c->busy && strcmp(sqlite3_sql(c->q), sql) == 0) {
            c->busy = true;
            *q = c->q;
            return SQLITE_OK;
        }
    }
    int r = sqlite3_prepare_v2(st->db, sql, -1, q, NULL);
    if (r != SQLITE_OK || st->nstmts == STMT_CACHE_MAX) return r;
    st->stmts[st->nstmts].q = *q;
    st->stmts[st->nstmts].busy = true;
    st->nstmts++;
    return r;
}

void store_release(ragd_store *st, sqlite3_stmt *q)
{
    if (!q) return;
    for (size_t i = 0; i < st->nstmts; i++) {
        if (st->stmts[i].q == q) {
            sqlite3_reset(q);
            sqlite3_clear_bindings(q);
            st->stmts[i].busy = false;
            return;
        }
    }
    sqlite3_finalize(q);
}

/* A full disk (SQLITE_FULL, or a write failing with ENOSPC), the file size
 * limit (EFBIG, `ulimit -f`; SIGXFSZ is ignored by the CLI) or a write to a
 * read-only data directory as a message a user can act on, naming the data
 * directory; NULL otherwise. */
static const char *space_error(sqlite3 *db, char *buf, size_t n)
{
    if (!db) return NULL;
    int code = sqlite3_extended_errcode(db), sys = sqlite3_system_errno(db);
    if ((code & 0xff) != SQLITE_FULL && (code & 0xff) != SQLITE_IOERR &&
        (code & 0xff) != SQLITE_READONLY)
        return NULL;
    const char *file = sqlite3_db_filename(db, "main");
    const char *slash = file ? strrchr(file, '/') : NULL;
    char dir[RAGD_ERROR_MAX / 2];
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", (int)(slash - file), file);
    else
        snprintf(dir, sizeof dir, ".");
    /* SQLite does not always keep the errno of a short write (EFBIG came
     * back as SQLITE_IOERR_WRITE with errno 0): for write errors, look at
     * the free space and the file size limit. */
    bool write_err = code == SQLITE_IOERR_WRITE || code == SQLITE_IOERR_FSYNC ||
                     code == SQLITE_IOERR_TRUNCATE || code == SQLITE_IOERR_SHMSIZE;
    struct statvfs vfs;
    struct rlimit lim;
    const char *why = NULL;
    if ((code & 0xff) == SQLITE_READONLY)
        why = "the data directory is read-only (reading works; writing needs a writable "
              "directory)";
    else if ((code & 0xff) == SQLITE_FULL || sys == ENOSPC ||
             (write_err && statvfs(dir, &vfs) == 0 && vfs.f_bavail * vfs.f_frsize < 65536))
        why = "no space left on device";
    else if (sys == EFBIG ||
             (write_err && getrlimit(RLIMIT_FSIZE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY))
        why = "file too large (over the file size limit, ulimit -f)";
    if (!why) return NULL;
    snprintf(buf, n, "%s: %.*s", why, (int)(n / 2), dir);
    return buf;
}

ragd_status store_sqlite_error(sqlite3 *db, ragd_error *err, const char *what)
{
    char space[RAGD_ERROR_MAX];
    const char *full = space_error(db, space, sizeof space);
    if (full) return ragd_error_set(err, RAGD_EIO, "%s: %s", what, full);
    return ragd_error_set(err, RAGD_ESTORE, "%s: %s", what, db ? sqlite3_errmsg(db) : "?");
}

static ragd_status mkdir_p(const char *path, ragd_error *err)
{
    char *p = ragd_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            ragd_error_set(err, RAGD_EIO, "cannot create directory '%s': %s", p, strerror(errno));
            free(p);
            return RAGD_EIO;
        }
        *s = '/';
    }
    if (mkdir(p, 0755) != 0 && errno != EEXIST) {
        ragd_error_set(err, RAGD_EIO, "cannot create data directory '%s': %s", p, strerror(errno));
        free(p);
        return RAGD_EIO;
    }
    free(p);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return ragd_error_set(err, RAGD_EIO, "data directory '%s' is not a directory", path);
    return RAGD_OK;
}

ragd_status store_exec(ragd_store *st, const char *sql, ragd_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        char space[RAGD_ERROR_MAX];
        const char *full = space_error(st->db, space, sizeof space);
        ragd_status rc = full ? RAGD_EIO : RAGD_ESTORE;
        if (full)
            ragd_error_set(err, rc, "%s", full);
        else
            ragd_error_set(err, rc, "%s: %s", sql, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return rc;
    }
    return RAGD_OK;
}

ragd_status store_exec_cached(ragd_store *st, const char *sql, ragd_error *err)
{
    sqlite3_stmt *q;
    if (store_prepare(st, sql, &q) != SQLITE_OK) return store_exec(st, sql, err);
    int r = sqlite3_step(q);
    ragd_status rc = RAGD_OK;
    if (r != SQLITE_DONE && r != SQLITE_ROW) {
        char space[RAGD_ERROR_MAX];
        const char *full = space_error(st->db, space, sizeof space);
        rc = full ? RAGD_EIO : RAGD_ESTORE;
        if (full)
            ragd_error_set(err, rc, "%s", full);
        else
            ragd_error_set(err, rc, "%s: %s", sql, sqlite3_errmsg(st->db));
    }
    store_release(st, q);
    return rc;
}

store_write_batch *store_write_batch_of(ragd_store *st)
{
    return &st->batch;
}

ragd_status store_savepoint_end(ragd_store *st, const char *name, ragd_status rc, ragd_error *err)
{
    char sql[128];
    if (!rc) {
        snprintf(sql, sizeof sql, "RELEASE %s", name);
        if (!(rc = store_exec(st, sql, err))) return RAGD_OK;
    }
    snprintf(sql, sizeof sql, "ROLLBACK TO %s", name);
    store_exec(st, sql, NULL);
    snprintf(sql, sizeof sql, "RELEASE %s", name);
    store_exec(st, sql, NULL);
    return rc;
}

/* Open data_dir/ragd.db with flags (| NOMUTEX: one connection per thread),
 * a busy timeout and extended result codes. `how` completes the error
 * message ("" or " for reading"). */
/* True when data_dir cannot be written (a read-only mount or permissions)
 * and ragd.db was shut down cleanly there (no -wal, no -shm). SQLite cannot
 * open a WAL database read-only without creating the -shm file, so such a
 * directory is opened with immutable=1: nobody can be writing it. */
static bool readonly_clean(const char *data_dir)
{
    if (access(data_dir, W_OK) == 0) return false;
    ragd_buf p = RAGD_BUF_INIT;
    ragd_buf_printf(&p, "%s/ragd.db-wal", data_dir);
    bool clean = access(p.data, F_OK) != 0;
    ragd_buf_free(&p);
    ragd_buf_printf(&p, "%s/ragd.db-shm", data_dir);
    clean = clean && access(p.data, F_OK) != 0;
    ragd_buf_free(&p);
    return clean;
}

/* path as an SQLite URI filename opening it read-only and immutable. */
static void immutable_uri(ragd_buf *b, const char *path)
{
    ragd_buf_puts(b, "file:");
    for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
        if (isalnum(*c) || strchr("/-._~", *c))
            ragd_buf_append(b, (const char *)c, 1);
        else
            ragd_buf_printf(b, "%%%02X", *c);
    }
    ragd_buf_puts(b, "?immutable=1");
}

/* The most of the database file a connection maps (PRAGMA mmap_size): 1 GiB. */
#define STORE_MMAP_BYTES_STR "1073741824"

static ragd_status db_open(const char *data_dir, int flags, const char *how, ragd_store **out,
                           ragd_error *err)
{
    *out = NULL;
    ragd_buf path = RAGD_BUF_INIT;
    ragd_buf_printf(&path, "%s/ragd.db", data_dir);
    ragd_store *st = ragd_xcalloc(1, sizeof *st);
    st->dir = ragd_xstrdup(data_dir);
    ragd_buf uri = RAGD_BUF_INIT;
    if ((flags & SQLITE_OPEN_READONLY) && readonly_clean(data_dir)) {
        immutable_uri(&uri, path.data);
        flags |= SQLITE_OPEN_URI;
    }
    int src =
        sqlite3_open_v2(uri.len ? uri.data : path.data, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL);
    ragd_buf_free(&uri);
    if (src != SQLITE_OK) {
        ragd_error_set(err, RAGD_ESTORE, "cannot open database '%s'%s: %s", path.data, how,
                       st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(src));
        ragd_buf_free(&path);
        store_close(st);
        return RAGD_ESTORE;
    }
    ragd_buf_free(&path);
    sqlite3_busy_timeout(st->db, 10000);
    sqlite3_extended_result_codes(st->db, 1);
    /* Read the database file through a shared memory map (up to
     * STORE_MMAP_BYTES_STR) instead of pread into each connection's 2 MB page
     * cache: a search's candidate lookups touch pages all over the chunks
     * table, and half of them missed that cache (docs/benchmarks.md, "Search:
     * hybrid and eval at k = 100"). The map costs no heap, is shared by every
     * connection of the process, and SQLite falls back to pread when it
     * cannot map; failing to set it is not an error. */
    sqlite3_exec(st->db, "PRAGMA mmap_size=" STORE_MMAP_BYTES_STR, NULL, NULL, NULL);
    *out = st;
    return RAGD_OK;
}

static int pragma_int(sqlite3 *db, const char *sql, int *out)
{
    sqlite3_stmt *q;
    int r = sqlite3_prepare_v2(db, sql, -1, &q, NULL);
    if (r != SQLITE_OK) return r;
    r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *out = sqlite3_column_int(q, 0);
        r = SQLITE_OK;
    }
    sqlite3_finalize(q);
    return r;
}

/* Decide, reading only, whether db (at path) is ragd's: see store_open.
 * *legacy is set for a ragd store from before the application id. */
static ragd_status identify(sqlite3 *db, const char *path, bool *legacy, ragd_error *err)
{
    *legacy = false;
    int app = 0, ver = 0, tables = 0, ours = 0;
    int r = pragma_int(db, "PRAGMA application_id", &app);
    if (r == SQLITE_OK) r = pragma_int(db, "PRAGMA user_version", &ver);
    if (r == SQLITE_OK)
        r = pragma_int(db, "SELECT count(*) FROM sqlite_master WHERE type='table'", &tables);
    if (r == SQLITE_OK)
        r = pragma_int(db,
                       "SELECT count(*) FROM sqlite_master WHERE type='table' AND name IN "
                       "('collections','documents','chunks','chunks_fts','index_state',"
                       "'deleted_chunks','vectors')",
                       &ours);
    if ((r & 0xff) == SQLITE_NOTADB)
        return ragd_error_set(err, RAGD_ESTORE,
                              "'%s' is not a ragd database (not an SQLite file); it was left "
                              "untouched: move it away or use another --data directory",
                              path);
    if (r != SQLITE_OK)
        return ragd_error_set(err, RAGD_ESTORE, "cannot read '%s': %s", path, sqlite3_errmsg(db));
    if (app != STORE_APPLICATION_ID && app != 0)
        return ragd_error_set(err, RAGD_ESTORE,
                              "'%s' is not a ragd database (an SQLite database of another "
                              "application, application_id 0x%08x); it was left untouched: move "
                              "it away or use another --data directory",
                              path, (unsigned)app);
    if (app == 0 && !(ver == 0 && tables == 0) &&
        !(ver >= 1 && ver <= STORE_SCHEMA_VERSION && ours == 7))
        return ragd_error_set(err, RAGD_ESTORE,
                              "'%s' is not a ragd database (an SQLite database ragd did not "
                              "create: user_version %d, %d tables); it was left untouched: move "
                              "it away or use another --data directory",
                              path, ver, tables);
    if (ver > STORE_SCHEMA_VERSION)
        return ragd_error_set(err, RAGD_ESTORE,
                              "database schema version %d is newer than this ragd understands "
                              "(%d); upgrade ragd",
                              ver, STORE_SCHEMA_VERSION);
    *legacy = app == 0 && ver >= 1;
    return RAGD_OK;
}

/* Identify an existing, non-empty data_dir/ragd.db through a read-only
 * connection, so that nothing is written to a file that is not ragd's. */
static ragd_status probe(const char *data_dir, ragd_error *err)
{
    ragd_buf path = RAGD_BUF_INIT;
    ragd_buf_printf(&path, "%s/ragd.db", data_dir);
    struct stat sb;
    ragd_status rc = RAGD_OK;
    if (stat(path.data, &sb) == 0 && sb.st_size > 0) {
        sqlite3 *db = NULL;
        ragd_buf uri = RAGD_BUF_INIT;
        int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX;
        if (readonly_clean(data_dir)) {
            immutable_uri(&uri, path.data);
            flags |= SQLITE_OPEN_URI;
        }
        int r = sqlite3_open_v2(uri.len ? uri.data : path.data, &db, flags, NULL);
        ragd_buf_free(&uri);
        if (r != SQLITE_OK) {
            rc = ragd_error_set(err, RAGD_ESTORE, "cannot open database '%s': %s", path.data,
                                db ? sqlite3_errmsg(db) : sqlite3_errstr(r));
        } else {
            sqlite3_busy_timeout(db, 10000);
            bool legacy;
            rc = identify(db, path.data, &legacy, err);
        }
        sqlite3_close_v2(db);
    }
    ragd_buf_free(&path);
    return rc;
}

ragd_status store_open(const char *data_dir, ragd_store **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = mkdir_p(data_dir, err);
    if (rc) return rc;
    if ((rc = probe(data_dir, err))) {
        ragd_error_prefix(err, "cannot open store in '%s'", data_dir);
        return rc;
    }
    ragd_store *st;
    ragd_buf dbpath = RAGD_BUF_INIT;
    ragd_buf_printf(&dbpath, "%s/ragd.db", data_dir);
    bool exists = access(dbpath.data, F_OK) == 0;
    ragd_buf_free(&dbpath);
    if (exists && readonly_clean(data_dir)) {
        /* A read-only data directory: reading works (immutable, see
         * readonly_clean); anything that writes fails with SQLite's
         * "attempt to write a readonly database". */
        if ((rc = db_open(data_dir, SQLITE_OPEN_READONLY, " for reading", &st, err))) return rc;
        int ver = schema_version(st->db);
        if (ver != STORE_SCHEMA_VERSION) {
            ragd_error_set(err, RAGD_ESTORE,
                           "cannot open store in '%s': its schema (version %d) needs an upgrade "
                           "to version %d, but the data directory is read-only",
                           data_dir, ver, STORE_SCHEMA_VERSION);
            store_close(st);
            return RAGD_ESTORE;
        }
        store_exec(st, "PRAGMA foreign_keys=ON", NULL);
        *out = st;
        return RAGD_OK;
    }
    if ((rc = db_open(data_dir, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, "", &st, err)))
        return rc;
    int app = 0;
    char set_app[64];
    snprintf(set_app, sizeof set_app, "PRAGMA application_id = %d", STORE_APPLICATION_ID);
    /* journal_mode returns a row; run it via exec which ignores rows. A new
     * database, or a ragd store from before the id, gets the id last. */
    if ((rc = store_exec(st, "PRAGMA journal_mode=WAL", err)) ||
        (rc = store_exec(st, "PRAGMA synchronous=NORMAL", err)) ||
        (rc = store_exec(st, "PRAGMA foreign_keys=ON", err)) ||
        (rc = schema_migrate(st->db, err)) ||
        (pragma_int(st->db, "PRAGMA application_id", &app) == SQLITE_OK &&
         app != STORE_APPLICATION_ID && (rc = store_exec(st, set_app, err)))) {
        ragd_error_prefix(err, "cannot open store in '%s'", data_dir);
        store_close(st);
        return rc;
    }
    *out = st;
    return RAGD_OK;
}

ragd_status store_open_reader(const char *data_dir, ragd_store **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = db_open(data_dir, SQLITE_OPEN_READONLY, " for reading", out, err);
    bool legacy;
    if (!rc && (rc = identify((*out)->db, data_dir, &legacy, err))) {
        store_close(*out);
        *out = NULL;
    }
    return rc;
}

void store_close(ragd_store *st)
{
    if (!st) return;
    store_pg_free(st->pg);
    store_write_batch_free(&st->batch);
    if (st->lex_cache && st->lex_cache_free) st->lex_cache_free(st->lex_cache);
    for (size_t i = 0; i < st->nstmts; i++)
        sqlite3_finalize(st->stmts[i].q);
    if (st->db) sqlite3_close_v2(st->db);
    free(st->dir);
    free(st);
}

sqlite3 *store_db(ragd_store *st)
{
    return st->db;
}

const char *store_dir(ragd_store *st)
{
    return st->dir;
}

store_pg *store_pg_of(ragd_store *st)
{
    return st->pg;
}

void store_pg_set(ragd_store *st, store_pg *pg)
{
    st->pg = pg;
}

/* --- collections ------------------------------------------------------------ */

void store_settings_init(ragd_settings *s)
{
    memset(s, 0, sizeof *s);
    s->overlap = -1;
}

void store_settings_defaults(ragd_settings *s)
{
    if (!s->chunker[0]) snprintf(s->chunker, sizeof s->chunker, "fixed");
    if (s->chunk_tokens <= 0) s->chunk_tokens = 256;
    if (s->overlap < 0) s->overlap = s->chunk_tokens / 8;
    if (s->overlap >= s->chunk_tokens) s->overlap = s->chunk_tokens / 2;
    if (s->parent_tokens <= 0) s->parent_tokens = 1024;
    if (s->semantic_percentile <= 0) s->semantic_percentile = 90;
    if (!s->embedder[0]) snprintf(s->embedder, sizeof s->embedder, "local");
    if (!s->embed_model[0] && !strcmp(s->embedder, "local"))
        snprintf(s->embed_model, sizeof s->embed_model, "ragd-local-hash-v2");
    if (s->dim <= 0 && !strcmp(s->embedder, "local")) s->dim = 384;
    if (!s->index_factory[0]) snprintf(s->index_factory, sizeof s->index_factory, "IDMap,Flat");
}

char *store_settings_to_json(const ragd_settings *s)
{
    json_t *o =
        json_pack("{s:s,s:i,s:i,s:i,s:s,s:s,s:s,s:i,s:s}", "chunker", s->chunker, "chunk_tokens",
                  s->chunk_tokens, "overlap", s->overlap, "parent_tokens", s->parent_tokens,
                  "embedder", s->embedder, "embed_model", s->embed_model, "embed_url", s->embed_url,
                  "dim", s->dim, "index_factory", s->index_factory);
    json_object_set_new(o, "semantic_percentile", json_integer(s->semantic_percentile));
    if (s->ef_search > 0) json_object_set_new(o, "ef_search", json_integer(s->ef_search));
    char *txt = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return txt;
}

static void copy_str(char *dst, size_t cap, json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    if (v) snprintf(dst, cap, "%s", v);
}

void store_settings_from_json(const char *txt, ragd_settings *s)
{
    store_settings_init(s);
    json_t *o = json_loads(txt, 0, NULL);
    if (o) {
        copy_str(s->chunker, sizeof s->chunker, o, "chunker");
        copy_str(s->embedder, sizeof s->embedder, o, "embedder");
        copy_str(s->embed_model, sizeof s->embed_model, o, "embed_model");
        copy_str(s->embed_url, sizeof s->embed_url, o, "embed_url");
        copy_str(s->index_factory, sizeof s->index_factory, o, "index_factory");
        s->chunk_tokens = (int)json_integer_value(json_object_get(o, "chunk_tokens"));
        if (json_is_integer(json_object_get(o, "overlap")))
            s->overlap = (int)json_integer_value(json_object_get(o, "overlap"));
        s->parent_tokens = (int)json_integer_value(json_object_get(o, "parent_tokens"));
        s->semantic_percentile = (int)json_integer_value(json_object_get(o, "semantic_percentile"));
        s->dim = (int)json_integer_value(json_object_get(o, "dim"));
        s->ef_search = (int)json_integer_value(json_object_get(o, "ef_search"));
        json_decref(o);
    }
    store_settings_defaults(s);
}

/* Compare the fields `want` specifies with the stored settings. */
static ragd_status settings_check(const char *coll, const ragd_settings *have,
                                  const ragd_settings *want, ragd_error *err)
{
#define STR_CLASH(field, flag)                                                                     \
    if (want->field[0] && strcmp(want->field, have->field) != 0)                                   \
        return ragd_error_set(err, RAGD_ECONFLICT,                                                 \
                              "collection '%s' was created with " flag " %s, not %s; use another " \
                              "--collection or omit " flag,                                        \
                              coll, have->field, want->field);
#define INT_CLASH(field, flag)                                                                     \
    if (want->field > 0 && want->field != have->field)                                             \
        return ragd_error_set(err, RAGD_ECONFLICT,                                                 \
                              "collection '%s' was created with " flag " %d, not %d; use another " \
                              "--collection or omit " flag,                                        \
                              coll, have->field, want->field);
    STR_CLASH(chunker, "--chunker")
    INT_CLASH(chunk_tokens, "--chunk-tokens")
    INT_CLASH(parent_tokens, "--parent-tokens")
    INT_CLASH(semantic_percentile, "--semantic-percentile")
    if (want->overlap >= 0 && want->overlap != have->overlap)
        return ragd_error_set(err, RAGD_ECONFLICT,
                              "collection '%s' was created with --overlap %d, not %d; use another "
                              "--collection or omit --overlap",
                              coll, have->overlap, want->overlap);
    STR_CLASH(embedder, "--embedder")
    STR_CLASH(embed_model, "--embedder-model")
    INT_CLASH(dim, "--dim")
    INT_CLASH(ef_search, "--ef-search")
#undef STR_CLASH
#undef INT_CLASH
    return RAGD_OK;
}

/* The settings of a collection about to be created (defaults applied),
 * checked once here for every front-end and both stores: efSearch is an
 * HNSW parameter, meaningless on any other index. */
static ragd_status settings_check_new(const ragd_settings *s, ragd_error *err)
{
    if (s->ef_search > 0 && !strstr(s->index_factory, "HNSW"))
        return ragd_error_set_field(err, RAGD_EUSAGE, "ef_search",
                                    "--ef-search applies only to an HNSW index (--index "
                                    "HNSW32), not %s",
                                    s->index_factory);
    return RAGD_OK;
}

ragd_status store_settings_new(const ragd_settings *create, ragd_settings *out, ragd_error *err)
{
    *out = *create;
    store_settings_defaults(out);
    return settings_check_new(out, err);
}

/* Collection names appear in file names (faiss/<name>.index) and URLs. */
static bool valid_collection_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64 || s[0] == '.' || s[0] == '-') return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

ragd_status store_collection_open(ragd_store *st, const char *name, const ragd_settings *create,
                                  ragd_collection *out, ragd_error *err)
{
    if (st->pg) return store_pg_collection_open(st, name, create, out, err);
    return store_collection_open_local(st, name, create, out, err);
}

ragd_status store_collection_open_local(ragd_store *st, const char *name,
                                        const ragd_settings *create, ragd_collection *out,
                                        ragd_error *err)
{
    memset(out, 0, sizeof *out);
    if (!valid_collection_name(name))
        return ragd_error_set(err, RAGD_EUSAGE,
                              "invalid collection name '%s': use 1-64 letters, digits, '_', '-' "
                              "or '.', not starting with '.' or '-'",
                              name);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db, "SELECT id, settings FROM collections WHERE name = ?", -1, &q,
                           NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot read collections");
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        out->id = sqlite3_column_int64(q, 0);
        snprintf(out->name, sizeof out->name, "%s", name);
        store_settings_from_json((const char *)sqlite3_column_text(q, 1), &out->settings);
        sqlite3_finalize(q);
        return create ? settings_check(name, &out->settings, create, err) : RAGD_OK;
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return store_sqlite_error(st->db, err, "cannot read collections");
    if (!create) return ragd_error_set(err, RAGD_ENOTFOUND, "no collection named '%s'", name);
    ragd_settings s;
    ragd_status rc = store_settings_new(create, &s, err);
    if (rc) return rc;
    char *js = store_settings_to_json(&s);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO collections(name, settings, created_at) VALUES (?,?,?)", -1,
                           &q, NULL) != SQLITE_OK) {
        free(js);
        return store_sqlite_error(st->db, err, "cannot create collection");
    }
    sqlite3_bind_text(q, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 2, js, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
    r = sqlite3_step(q);
    sqlite3_finalize(q);
    free(js);
    if (r != SQLITE_DONE) return store_sqlite_error(st->db, err, "cannot create collection");
    out->id = sqlite3_last_insert_rowid(st->db);
    snprintf(out->name, sizeof out->name, "%s", name);
    out->settings = s;
    return RAGD_OK;
}

ragd_status store_collection_set_factory(ragd_store *st, int64_t coll, const char *factory,
                                         ragd_error *err)
{
    if (st->pg) return store_pg_collection_set_factory(st, coll, factory, err);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            st->db,
            "UPDATE collections SET settings = json_set(settings, '$.index_factory', "
            "?) WHERE id = ?",
            -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot update collection");
    sqlite3_bind_text(q, 1, factory, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, coll);
    int r = sqlite3_step(q);
    sqlite3_finalize(q);
    return r == SQLITE_DONE ? RAGD_OK : store_sqlite_error(st->db, err, "cannot update collection");
}

/* --- documents (the write path is in store/doc_write.c) ---------------------- */

ragd_status store_counts(ragd_store *st, int64_t coll, int64_t *docs, int64_t *chunks,
                         ragd_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT (SELECT count(*) FROM documents WHERE collection_id=?1),"
                           " (SELECT count(*) FROM chunks c JOIN documents d ON d.id=c.document_id"
                           "  WHERE d.collection_id=?1)",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot count documents");
    sqlite3_bind_int64(q, 1, coll);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *docs = sqlite3_column_int64(q, 0);
        *chunks = sqlite3_column_int64(q, 1);
    }
    sqlite3_finalize(q);
    return r == SQLITE_ROW ? RAGD_OK : store_sqlite_error(st->db, err, "cannot count documents");
}

/* --- JSON views ----------------------------------------------------------------- */

static json_t *json_from_text(const unsigned char *txt)
{
    json_t *j = txt ? json_loads((const char *)txt, 0, NULL) : NULL;
    return j ? j : json_object();
}

static json_t *col_str(sqlite3_stmt *q, int i)
{
    const unsigned char *t = sqlite3_column_text(q, i);
    return json_stringn(t ? (const char *)t : "", t ? (size_t)sqlite3_column_bytes(q, i) : 0);
}

ragd_status store_docs_json(ragd_store *st, int64_t coll, json_t **out, ragd_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(
            st->db,
            "SELECT d.doc_key, d.source, d.title, (SELECT count(*) FROM chunks c "
            "WHERE c.document_id = d.id), d.bytes, d.ingested_at, d.path FROM documents d "
            "WHERE d.collection_id = ? ORDER BY d.doc_key",
            -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot list documents");
    sqlite3_bind_int64(q, 1, coll);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *d = json_object();
        json_object_set_new(d, "id", col_str(q, 0));
        json_object_set_new(d, "source", col_str(q, 1));
        json_object_set_new(d, "path", col_str(q, 6));
        json_object_set_new(d, "title", col_str(q, 2));
        json_object_set_new(d, "chunks", json_integer(sqlite3_column_int64(q, 3)));
        json_object_set_new(d, "bytes", json_integer(sqlite3_column_int64(q, 4)));
        json_object_set_new(d, "ingested_at", json_integer(sqlite3_column_int64(q, 5)));
        json_array_append_new(arr, d);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        return store_sqlite_error(st->db, err, "cannot list documents");
    }
    *out = json_pack("{s:o}", "documents", arr);
    return RAGD_OK;
}

ragd_status store_doc_json(ragd_store *st, int64_t coll, const char *key, json_t **out,
                           ragd_error *err)
{
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT doc_key, source, title, format, summary, metadata, text, bytes, "
                           "tokens, content_hash, ingested_at, path FROM documents WHERE "
                           "collection_id = ? AND doc_key = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot read document");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (r == SQLITE_DONE) return ragd_error_set(err, RAGD_ENOTFOUND, "no document '%s'", key);
        return store_sqlite_error(st->db, err, "cannot read document");
    }
    json_t *d = json_object();
    json_object_set_new(d, "id", col_str(q, 0));
    json_object_set_new(d, "source", col_str(q, 1));
    json_object_set_new(d, "path", col_str(q, 11));
    json_object_set_new(d, "title", col_str(q, 2));
    json_object_set_new(d, "format", col_str(q, 3));
    json_object_set_new(d, "summary", json_from_text(sqlite3_column_text(q, 4)));
    json_object_set_new(d, "metadata", json_from_text(sqlite3_column_text(q, 5)));
    json_object_set_new(d, "text", col_str(q, 6));
    json_object_set_new(d, "bytes", json_integer(sqlite3_column_int64(q, 7)));
    json_object_set_new(d, "tokens", json_integer(sqlite3_column_int64(q, 8)));
    json_object_set_new(d, "content_hash", col_str(q, 9));
    json_object_set_new(d, "ingested_at", json_integer(sqlite3_column_int64(q, 10)));
    sqlite3_finalize(q);
    *out = d;
    return RAGD_OK;
}

ragd_status store_chunks_json(ragd_store *st, int64_t coll, const char *key, json_t **out,
                              ragd_error *err)
{
    json_t *doc = NULL;
    ragd_status rc = store_doc_json(st, coll, key, &doc, err);
    if (rc) return rc;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT c.id, c.parent_id, c.ord, c.start, c.end, c.heading_path, "
                           "c.tokens, c.text, c.meta FROM chunks c JOIN documents d ON d.id = "
                           "c.document_id WHERE d.collection_id = ? AND d.doc_key = ? ORDER BY "
                           "c.ord",
                           -1, &q, NULL) != SQLITE_OK) {
        json_decref(doc);
        return store_sqlite_error(st->db, err, "cannot read chunks");
    }
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *c = json_object();
        json_object_set_new(c, "id", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(c, "parent_id",
                            sqlite3_column_type(q, 1) == SQLITE_NULL
                                ? json_null()
                                : json_integer(sqlite3_column_int64(q, 1)));
        json_object_set_new(c, "ord", json_integer(sqlite3_column_int64(q, 2)));
        json_object_set_new(c, "start", json_integer(sqlite3_column_int64(q, 3)));
        json_object_set_new(c, "end", json_integer(sqlite3_column_int64(q, 4)));
        json_object_set_new(c, "heading_path", col_str(q, 5));
        json_object_set_new(c, "tokens", json_integer(sqlite3_column_int64(q, 6)));
        json_object_set_new(c, "text", col_str(q, 7));
        json_t *meta = json_from_text(sqlite3_column_text(q, 8));
        const char *kind = json_string_value(json_object_get(meta, "kind"));
        json_object_set_new(c, "kind",
                            json_string(kind && !strcmp(kind, STORE_KIND_SUMMARY)
                                            ? STORE_KIND_SUMMARY
                                            : STORE_KIND_TEXT));
        json_object_set_new(c, "meta", meta);
        json_array_append_new(arr, c);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(arr);
        json_decref(doc);
        return store_sqlite_error(st->db, err, "cannot read chunks");
    }
    json_t *parents = json_array();
    if (sqlite3_prepare_v2(st->db,
                           "SELECT p.id, p.ord, p.start, p.end, p.heading_path, p.tokens FROM "
                           "parents p JOIN documents d ON d.id = p.document_id WHERE "
                           "d.collection_id = ? AND d.doc_key = ? ORDER BY p.ord",
                           -1, &q, NULL) != SQLITE_OK) {
        json_decref(parents);
        json_decref(arr);
        json_decref(doc);
        return store_sqlite_error(st->db, err, "cannot read parents");
    }
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        json_t *p = json_object();
        json_object_set_new(p, "id", json_integer(sqlite3_column_int64(q, 0)));
        json_object_set_new(p, "ord", json_integer(sqlite3_column_int64(q, 1)));
        json_object_set_new(p, "start", json_integer(sqlite3_column_int64(q, 2)));
        json_object_set_new(p, "end", json_integer(sqlite3_column_int64(q, 3)));
        json_object_set_new(p, "heading_path", col_str(q, 4));
        json_object_set_new(p, "tokens", json_integer(sqlite3_column_int64(q, 5)));
        json_array_append_new(parents, p);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) {
        json_decref(parents);
        json_decref(arr);
        json_decref(doc);
        return store_sqlite_error(st->db, err, "cannot read parents");
    }
    *out = json_pack("{s:O,s:O,s:o,s:o}", "doc_id", json_object_get(doc, "id"), "summary",
                     json_object_get(doc, "summary"), "chunks", arr, "parents", parents);
    json_decref(doc);
    return RAGD_OK;
}

ragd_status store_parent_text(ragd_store *st, int64_t parent_id, char **text, size_t *start,
                              size_t *end, char **heading_path, ragd_error *err)
{
    *text = NULL;
    if (heading_path) *heading_path = NULL;
    sqlite3_stmt *q;
    /* substr on a BLOB counts bytes (on TEXT it would count characters). */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT p.start, p.end, p.heading_path, substr(CAST(d.text AS BLOB), "
                           "p.start + 1, p.end - p.start) FROM parents p JOIN documents d ON "
                           "d.id = p.document_id WHERE p.id = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot read parent section");
    sqlite3_bind_int64(q, 1, parent_id);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (r == SQLITE_DONE)
            return ragd_error_set(err, RAGD_ENOTFOUND, "no parent section %lld",
                                  (long long)parent_id);
        return store_sqlite_error(st->db, err, "cannot read parent section");
    }
    if (start) *start = (size_t)sqlite3_column_int64(q, 0);
    if (end) *end = (size_t)sqlite3_column_int64(q, 1);
    if (heading_path) {
        const unsigned char *h = sqlite3_column_text(q, 2);
        *heading_path = ragd_xstrdup(h ? (const char *)h : "");
    }
    const void *b = sqlite3_column_blob(q, 3);
    *text = ragd_xstrndup(b ? (const char *)b : "", b ? (size_t)sqlite3_column_bytes(q, 3) : 0);
    sqlite3_finalize(q);
    return RAGD_OK;
}

ragd_status store_doc_text_range(ragd_store *st, int64_t coll, const char *doc_key, size_t start,
                                 size_t end, char **text, ragd_error *err)
{
    *text = NULL;
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT substr(CAST(text AS BLOB), ? + 1, ?) FROM documents WHERE "
                           "collection_id = ? AND doc_key = ?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(st->db, err, "cannot read document text");
    sqlite3_bind_int64(q, 1, (sqlite3_int64)start);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)(end > start ? end - start : 0));
    sqlite3_bind_int64(q, 3, coll);
    sqlite3_bind_text(q, 4, doc_key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r != SQLITE_ROW) {
        sqlite3_finalize(q);
        if (r == SQLITE_DONE)
            return ragd_error_set(err, RAGD_ENOTFOUND, "no document '%s'", doc_key);
        return store_sqlite_error(st->db, err, "cannot read document text");
    }
    const void *b = sqlite3_column_blob(q, 0);
    *text = ragd_xstrndup(b ? (const char *)b : "", b ? (size_t)sqlite3_column_bytes(q, 0) : 0);
    sqlite3_finalize(q);
    return RAGD_OK;
}
