/* tests/unit_vector.c — the FAISS-backed vector index against a real SQLite
 * store: brute-force equality for flat indexes, catch-up after a commit that
 * was never snapshotted, rebuild from a missing or corrupt snapshot, deletes
 * (remove_ids and HNSW tombstones), reindex with another factory, the
 * streamed build (more than a batch; trained factories) and the cached
 * verification of a snapshot. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "index/vector.h"
#include "store/store.h"

enum { DIM = 32 };

typedef struct {
    char dir[64];
    ragd_store *st;
    ragd_collection coll;
    uint64_t rng;
    /* every stored vector, by chunk id, for brute force */
    float *vecs;
    int64_t *ids;
    size_t n, cap;
} fixture;

static float frand(fixture *f)
{
    f->rng = f->rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((f->rng >> 33) & 0xFFFFFF) / (float)0x1000000 - 0.5f;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ragd-unit-vec-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    ragd_error e;
    assert_int_equal(store_open(f->dir, &f->st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    s.dim = DIM;
    assert_int_equal(store_collection_open(f->st, "vec", &s, &f->coll, &e), RAGD_OK);
    f->rng = 7;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    store_close(f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f->vecs);
    free(f->ids);
    free(f);
    return 0;
}

/* Store a document with nchunks chunks, each with a random unit vector. */
static void put_doc(fixture *f, const char *key, int nchunks)
{
    ragd_buf text = RAGD_BUF_INIT;
    store_chunk *c = calloc((size_t)nchunks, sizeof *c);
    float *v = malloc(sizeof(float) * DIM * (size_t)nchunks);
    for (int i = 0; i < nchunks; i++) {
        size_t s = text.len;
        ragd_buf_printf(&text, "chunk %d of %s. ", i, key);
        c[i].parent = -1;
        c[i].start = s;
        c[i].end = text.len - 1;
        c[i].tokens = 4;
        c[i].heading_path = "";
        for (int d = 0; d < DIM; d++)
            v[i * DIM + d] = frand(f);
        vindex_normalize(v + i * DIM, DIM);
        c[i].vec = v + i * DIM;
    }
    store_doc doc = {.key = key,
                     .text = text.data,
                     .text_len = text.len,
                     .content_hash = key,
                     .vec_model = "test",
                     .vec_dim = DIM};
    int64_t rowid;
    ragd_error e;
    assert_int_equal(
        store_doc_put(f->st, f->coll.id, &doc, NULL, 0, c, (size_t)nchunks, &rowid, &e), RAGD_OK);
    /* Record the vectors under their chunk ids. */
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st),
                                        "SELECT id FROM chunks WHERE document_id=? ORDER BY ord",
                                        -1, &q, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(q, 1, rowid);
    for (int i = 0; i < nchunks; i++) {
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        if (f->n == f->cap) {
            f->cap = f->cap ? f->cap * 2 : 256;
            f->vecs = realloc(f->vecs, sizeof(float) * DIM * f->cap);
            f->ids = realloc(f->ids, sizeof(int64_t) * f->cap);
        }
        memcpy(f->vecs + f->n * DIM, v + i * DIM, sizeof(float) * DIM);
        f->ids[f->n++] = sqlite3_column_int64(q, 0);
    }
    sqlite3_finalize(q);
    free(c);
    free(v);
    ragd_buf_free(&text);
}

static void forget_doc_vectors(fixture *f, const char *key)
{
    /* Drop from the brute-force set the ids no longer in SQLite. */
    size_t w = 0;
    for (size_t i = 0; i < f->n; i++) {
        sqlite3_stmt *q;
        sqlite3_prepare_v2(store_db(f->st), "SELECT count(*) FROM vectors WHERE chunk_id=?", -1, &q,
                           NULL);
        sqlite3_bind_int64(q, 1, f->ids[i]);
        sqlite3_step(q);
        int alive = sqlite3_column_int(q, 0);
        sqlite3_finalize(q);
        if (alive) {
            memmove(f->vecs + w * DIM, f->vecs + i * DIM, sizeof(float) * DIM);
            f->ids[w++] = f->ids[i];
        }
    }
    f->n = w;
    (void)key;
}

/* Compare vindex_search with brute force for a few random queries. */
static void check_brute_force(fixture *f, ragd_vindex *v, size_t k)
{
    for (int t = 0; t < 5; t++) {
        float q[DIM];
        for (int d = 0; d < DIM; d++)
            q[d] = frand(f);
        vindex_normalize(q, DIM);
        vindex_hit *h = NULL;
        size_t n = 0;
        ragd_error e;
        assert_int_equal(vindex_search(v, q, k, &h, &n, &e), RAGD_OK);
        size_t want = k < f->n ? k : f->n;
        assert_int_equal(n, want);
        /* Brute force scores, sorted descending. */
        float *sc = malloc(sizeof(float) * f->n);
        for (size_t i = 0; i < f->n; i++) {
            float s = 0;
            for (int d = 0; d < DIM; d++)
                s += q[d] * f->vecs[i * DIM + d];
            sc[i] = s;
        }
        for (size_t r = 0; r < n; r++) {
            /* The r-th best brute-force score equals the index's r-th score,
             * and the id returned has that score. */
            size_t best = 0;
            for (size_t i = 1; i < f->n; i++)
                if (sc[i] > sc[best]) best = i;
            assert_true(fabsf(sc[best] - h[r].score) < 1e-4f);
            size_t j = 0;
            while (j < f->n && f->ids[j] != h[r].chunk_id)
                j++;
            assert_true(j < f->n);
            assert_true(fabsf(sc[j] - h[r].score) < 1e-4f);
            sc[best] = -INFINITY;
        }
        free(sc);
        free(h);
    }
}

static void test_flat_equals_brute_force_and_catches_up(void **state)
{
    fixture *f = *state;
    ragd_error e;
    for (int i = 0; i < 20; i++) {
        char key[32];
        snprintf(key, sizeof key, "doc%d", i);
        put_doc(f, key, 10);
    }
    ragd_vindex *v = NULL;
    bool rebuilt = false;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt); /* first open: built from SQLite */
    assert_int_equal(vindex_count(v), 200);
    assert_int_equal(access(vindex_path(v), F_OK), 0);
    check_brute_force(f, v, 10);
    vindex_free(v);

    /* Commit more documents without snapshotting (as if the process died
     * between the SQLite commit and the snapshot): open catches up. */
    put_doc(f, "late1", 7);
    put_doc(f, "late2", 5);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 212);
    check_brute_force(f, v, 25);
    vindex_free(v);

    /* Simulate a crash after the snapshot was renamed but before SQLite
     * recorded it: the recorded last id is behind the file. Re-adding must
     * not duplicate vectors. */
    bool found;
    store_index_state stt;
    assert_int_equal(store_index_state_get(f->st, f->coll.id, &found, &stt, &e), RAGD_OK);
    assert_true(found);
    stt.last_chunk_id -= 12;
    assert_int_equal(store_index_state_set(f->st, f->coll.id, &stt, &e), RAGD_OK);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 212);
    check_brute_force(f, v, 10);
    vindex_free(v);
}

static void test_deletes_disappear(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "keep", 30);
    put_doc(f, "gone", 30);
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    vindex_free(v);
    assert_int_equal(store_doc_delete(f->st, f->coll.id, "gone", &e), RAGD_OK);
    forget_doc_vectors(f, "gone");
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 30);
    check_brute_force(f, v, 40); /* asks for more than exist: only live ones */
    vindex_free(v);
}

static void test_missing_and_corrupt_snapshot_rebuild(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 40);
    ragd_vindex *v = NULL;
    bool rebuilt;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    /* Corrupt: garbage bytes. */
    FILE *fp = fopen(path, "wb");
    fputs("this is not a faiss index", fp);
    fclose(fp);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 40);
    check_brute_force(f, v, 5);
    vindex_free(v);
    /* Truncated: half a real file. */
    fp = fopen(path, "rb+");
    assert_int_equal(ftruncate(fileno(fp), 100), 0);
    fclose(fp);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    vindex_free(v);
    /* Missing. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 40);
    vindex_free(v);
    free(path);
}

/* Overwrite n bytes at off in path. */
static void patch_file(const char *path, long off, const void *bytes, size_t n)
{
    FILE *fp = fopen(path, "rb+");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, off, SEEK_SET), 0);
    assert_int_equal(fwrite(bytes, 1, n, fp), n);
    assert_int_equal(fclose(fp), 0);
}

static void copy_file(const char *from, const char *to)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", from, to);
    assert_int_equal(system(cmd), 0);
}

static int64_t sql_count(fixture *f, const char *sql)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(f->st), sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* Issue 12 #1: damaged header fields of a snapshot that FAISS still reads
 * (the IDMap ntotal at offset 8 crashed remove_ids / tripped an assert; the
 * metric at offset 33 gave silently wrong scores) are caught by the
 * recorded checksum and rebuilt from SQLite. */
static void test_damaged_snapshot_header_rebuilds(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 40);
    put_doc(f, "b", 20);
    ragd_vindex *v = NULL;
    bool rebuilt;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    /* A deletion pending: opening applies remove_ids to the loaded index. */
    assert_int_equal(store_doc_delete(f->st, f->coll.id, "b", &e), RAGD_OK);
    forget_doc_vectors(f, "b");
    int64_t ntotal = 1000000;
    patch_file(path, 8, &ntotal, sizeof ntotal);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 40);
    check_brute_force(f, v, 10);
    vindex_free(v);
    /* The metric byte: inner product (0) -> L2 (1). */
    unsigned char l2 = 1;
    patch_file(path, 33, &l2, 1);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    check_brute_force(f, v, 10);
    vindex_free(v);
    /* One flipped byte deep in the vector data. */
    unsigned char junk = 0x7f;
    patch_file(path, 200, &junk, 1);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    check_brute_force(f, v, 10);
    vindex_free(v);
    /* Intact: loaded, not rebuilt. */
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    vindex_free(v);
    free(path);
}

/* Issue 12 #5: an older snapshot put back (a restore from backup) does not
 * match the recorded checksum and is rebuilt; before, its missing vectors
 * were never added back. */
static void test_old_snapshot_put_back_rebuilds(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 25);
    ragd_vindex *v = NULL;
    bool rebuilt;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    ragd_buf old = RAGD_BUF_INIT;
    ragd_buf_printf(&old, "%s.backup", path);
    copy_file(path, old.data);
    put_doc(f, "b", 31);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 56);
    vindex_free(v);
    copy_file(old.data, path);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 56);
    check_brute_force(f, v, 20);
    vindex_free(v);
    ragd_buf_free(&old);
    free(path);
}

/* Issue 12 #3: a document deleted while a snapshot is being saved (after
 * the deletions were read) keeps its deleted_chunks rows, so the next open
 * removes its vectors. The concurrent `rm` is played by a trigger that
 * fires when the save records the index state. */
static void test_delete_racing_a_save_is_kept(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 30);
    put_doc(f, "b", 30);
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    vindex_free(v);
    put_doc(f, "c", 10); /* so the next open catches up and saves */
    assert_int_equal(
        store_exec(f->st,
                   "CREATE TEMP TRIGGER racing_rm AFTER UPDATE ON index_state BEGIN "
                   "INSERT OR IGNORE INTO deleted_chunks(collection_id, chunk_id) SELECT "
                   "d.collection_id, c.id FROM chunks c JOIN documents d ON d.id = c.document_id "
                   "WHERE d.doc_key = 'b'; DELETE FROM documents WHERE doc_key = 'b'; END",
                   &e),
        RAGD_OK);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    vindex_free(v);
    assert_int_equal(store_exec(f->st, "DROP TRIGGER racing_rm", &e), RAGD_OK);
    forget_doc_vectors(f, "b");
    assert_int_equal(sql_count(f, "SELECT count(*) FROM deleted_chunks"), 30);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 40);
    check_brute_force(f, v, 50);
    vindex_free(v);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM deleted_chunks"), 0);
}

/* Issue 12 #4: a reindex whose snapshot cannot be written keeps the
 * pending deletions for the snapshot still in place. The write is made to
 * fail by a directory where the temporary file would go. */
static void test_failed_reindex_keeps_pending_deletions(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 30);
    put_doc(f, "b", 30);
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    assert_int_equal(store_doc_delete(f->st, f->coll.id, "b", &e), RAGD_OK);
    forget_doc_vectors(f, "b");
    assert_int_equal(sql_count(f, "SELECT count(*) FROM deleted_chunks"), 30);
    ragd_buf tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&tmp, "%s.tmp.%d", path, (int)getpid());
    assert_int_equal(mkdir(tmp.data, 0755), 0);
    assert_int_not_equal(vindex_rebuild(f->st, &f->coll, NULL, &v, &e), RAGD_OK);
    assert_null(v);
    assert_int_equal(rmdir(tmp.data), 0);
    assert_int_equal(sql_count(f, "SELECT count(*) FROM deleted_chunks"), 30);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 30);
    check_brute_force(f, v, 40);
    vindex_free(v);
    ragd_buf_free(&tmp);
    free(path);
}

/* Issue 12 #12 (part): a search whose snapshot write fails (full disk,
 * read-only directory) still answers from the index built in memory; the
 * next open catches up. The write is made to fail as above. */
static void test_unwritable_snapshot_still_answers(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 20);
    ragd_vindex *v = NULL;
    bool rebuilt;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    put_doc(f, "b", 15);
    ragd_buf tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&tmp, "%s.tmp.%d", path, (int)getpid());
    assert_int_equal(mkdir(tmp.data, 0755), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 35);
    check_brute_force(f, v, 10);
    vindex_free(v);
    /* No usable snapshot at all: rebuilt in memory, still answers. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 35);
    vindex_free(v);
    assert_int_equal(rmdir(tmp.data), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 35);
    check_brute_force(f, v, 10);
    vindex_free(v);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt); /* the snapshot was written again */
    vindex_free(v);
    ragd_buf_free(&tmp);
    free(path);
}

static void test_hnsw_tombstones_and_reindex(void **state)
{
    fixture *f = *state;
    ragd_error e;
    for (int i = 0; i < 10; i++) {
        char key[32];
        snprintf(key, sizeof key, "h%d", i);
        put_doc(f, key, 30);
    }
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IDMap,HNSW16", &v, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 300);
    vindex_free(v);
    assert_int_equal(store_collection_set_factory(f->st, f->coll.id, "IDMap,HNSW16", &e), RAGD_OK);
    assert_int_equal(store_doc_delete(f->st, f->coll.id, "h3", &e), RAGD_OK);
    forget_doc_vectors(f, "h3");
    /* HNSW cannot remove: the deleted ids are tombstoned, never returned. */
    assert_int_equal(vindex_open(f->st, &f->coll, &v, NULL, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 300);
    for (int t = 0; t < 10; t++) {
        float q[DIM];
        for (int d = 0; d < DIM; d++)
            q[d] = frand(f);
        vindex_normalize(q, DIM);
        vindex_hit *h = NULL;
        size_t n = 0;
        assert_int_equal(vindex_search(v, q, 300, &h, &n, &e), RAGD_OK);
        for (size_t i = 0; i < n; i++) {
            size_t j = 0;
            while (j < f->n && f->ids[j] != h[i].chunk_id)
                j++;
            assert_true(j < f->n); /* a live id */
        }
        free(h);
    }
    vindex_free(v);
    /* Reindex compacts: back to a flat index of live vectors only. */
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IDMap,Flat", &v, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 270);
    check_brute_force(f, v, 10);
    vindex_free(v);
}

/* Tombstones past a quarter of an HNSW index are compacted when it is
 * opened (bench/churn.sh -i HNSW32 found live documents hidden behind 9,500
 * tombstones); before, the index kept every deleted vector until `ragd
 * reindex`. */
static void test_hnsw_compacts_when_a_quarter_is_deleted(void **state)
{
    fixture *f = *state;
    ragd_error e;
    for (int i = 0; i < 10; i++) {
        char key[32];
        snprintf(key, sizeof key, "h%d", i);
        put_doc(f, key, 30);
    }
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IDMap,HNSW16", &v, &e), RAGD_OK);
    vindex_free(v);
    assert_int_equal(store_collection_set_factory(f->st, f->coll.id, "IDMap,HNSW16", &e), RAGD_OK);
    for (int i = 0; i < 2; i++) { /* 60 of 300: tombstoned, not yet a quarter */
        char key[32];
        snprintf(key, sizeof key, "h%d", i);
        assert_int_equal(store_doc_delete(f->st, f->coll.id, key, &e), RAGD_OK);
        forget_doc_vectors(f, key);
    }
    bool rebuilt = true;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 300);
    vindex_free(v);
    assert_int_equal(store_doc_delete(f->st, f->coll.id, "h2", &e), RAGD_OK); /* 90 of 300 */
    forget_doc_vectors(f, "h2");
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 210); /* live vectors only */
    vindex_free(v);
    /* Still HNSW, and the compacted snapshot is trusted on the next open. */
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 210);
    bool found = false;
    store_index_state stt;
    assert_int_equal(store_index_state_get(f->st, f->coll.id, &found, &stt, &e), RAGD_OK);
    assert_true(found);
    assert_string_equal(stt.factory, "IDMap,HNSW16");
    vindex_free(v);
}

static void test_bad_factory(void **state)
{
    fixture *f = *state;
    ragd_error e;
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "NoSuchThing", &v, &e), RAGD_EUSAGE);
    assert_null(v);
    assert_non_null(strstr(e.msg, "NoSuchThing"));
}

/* Top hit of each stored vector (every 97th) searched for itself is that
 * vector (IVF with nprobe 1 still finds it: it lives in the list of its
 * own nearest centroid). */
static void check_self_hits(fixture *f, ragd_vindex *v)
{
    for (size_t i = 0; i < f->n; i += 97) {
        vindex_hit *h = NULL;
        size_t n = 0;
        ragd_error e;
        assert_int_equal(vindex_search(v, f->vecs + i * DIM, 1, &h, &n, &e), RAGD_OK);
        assert_int_equal(n, 1);
        assert_true(h[0].chunk_id == f->ids[i]);
        assert_true(fabsf(h[0].score - 1.0f) < 1e-3f);
        free(h);
    }
}

/* The streamed build: more vectors than one batch (8,192), a trained
 * factory (trained on a sample, then added batch by batch), and a flat
 * index sized once and filled in place: every vector is found. */
static void test_streamed_build_of_many_vectors(void **state)
{
    fixture *f = *state;
    ragd_error e;
    for (int i = 0; i < 9; i++) {
        char key[32];
        snprintf(key, sizeof key, "big%d", i);
        put_doc(f, key, 1000);
    }
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IVF16,Flat", &v, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 9000);
    assert_int_equal(vindex_last_chunk_id(v), f->ids[f->n - 1]);
    check_self_hits(f, v);
    vindex_free(v);
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IDMap,Flat", &v, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 9000);
    assert_int_equal(vindex_last_chunk_id(v), f->ids[f->n - 1]);
    check_brute_force(f, v, 10);
    vindex_free(v);
}

/* A trained factory saved empty (no vectors yet) is trained by the first
 * catch-up, on the new vectors, and then holds all of them. */
static void test_empty_trained_index_trains_on_catch_up(void **state)
{
    fixture *f = *state;
    ragd_error e;
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, "IVF8,Flat", &v, &e), RAGD_OK);
    assert_int_equal(vindex_count(v), 0);
    vindex_free(v);
    assert_int_equal(store_collection_set_factory(f->st, f->coll.id, "IVF8,Flat", &e), RAGD_OK);
    put_doc(f, "a", 600);
    bool rebuilt = true;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 600);
    check_self_hits(f, v);
    vindex_free(v);
}

/* Regression (-Wformat-truncation in the Release build): a factory whose
 * normalized form does not fit in 64 bytes was silently truncated (it
 * could name another, valid index); now it is refused. */
static void test_too_long_factory_is_refused(void **state)
{
    fixture *f = *state;
    char out[64];
    const char *lng = "HNSW32,Flat,and,a,great,deal,more,text,than,fits,in,the,field";
    assert_false(vindex_factory_normalize(lng, out));
    assert_string_equal(out, VINDEX_FACTORY_TOO_LONG);
    /* 57 characters wrapped in "IDMap," fit exactly (63 + NUL). */
    char fit[58];
    memset(fit, 'x', 57);
    fit[57] = 0;
    assert_true(vindex_factory_normalize(fit, out));
    assert_int_equal(strlen(out), 63);
    assert_true(vindex_factory_normalize("Flat", out));
    assert_string_equal(out, "IDMap,Flat");
    assert_true(vindex_factory_normalize("IVF16,PQ8", out));
    assert_string_equal(out, "IVF16,PQ8");
    ragd_error e;
    ragd_vindex *v = NULL;
    assert_int_equal(vindex_rebuild(f->st, &f->coll, lng, &v, &e), RAGD_EUSAGE);
    assert_null(v);
    assert_non_null(strstr(e.msg, "too long"));
}

/* The verification cache (index/vector_verify.c): a snapshot is not
 * hashed again once verified while more than 3 s old — but any change to
 * the file afterwards (bytes written in place, an older copy put back) is
 * still caught, and a snapshot just written is never recorded. */
static void test_cached_verification_still_catches_changes(void **state)
{
    fixture *f = *state;
    ragd_error e;
    put_doc(f, "a", 40);
    ragd_vindex *v = NULL;
    bool rebuilt;
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    char *path = ragd_xstrdup(vindex_path(v));
    vindex_free(v);
    ragd_buf side = RAGD_BUF_INIT, old = RAGD_BUF_INIT;
    ragd_buf_printf(&side, "%s.verified", path);
    ragd_buf_printf(&old, "%s.old", path);
    /* Just written: verified by hashing, not recorded (too recent). */
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    vindex_free(v);
    assert_int_equal(access(side.data, F_OK), -1);
    /* An older copy, for later; then a newer snapshot. */
    char cmd[512];
    snprintf(cmd, sizeof cmd, "cp -p '%s' '%s'", path, old.data);
    assert_int_equal(system(cmd), 0);
    put_doc(f, "b", 10);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    vindex_free(v);
    usleep(3300 * 1000);
    /* Old enough: hashed once and recorded, then trusted. */
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    vindex_free(v);
    assert_int_equal(access(side.data, F_OK), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_false(rebuilt);
    assert_int_equal(vindex_count(v), 50);
    vindex_free(v);
    /* A byte changed in place after the record: caught. */
    unsigned char junk = 0x7f;
    patch_file(path, 200, &junk, 1);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 50);
    check_brute_force(f, v, 10);
    vindex_free(v);
    /* Recorded again (wait), then the older copy put back: caught. */
    usleep(3300 * 1000);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    vindex_free(v);
    assert_int_equal(access(side.data, F_OK), 0);
    assert_int_equal(rename(old.data, path), 0);
    assert_int_equal(vindex_open(f->st, &f->coll, &v, &rebuilt, &e), RAGD_OK);
    assert_true(rebuilt);
    assert_int_equal(vindex_count(v), 50);
    vindex_free(v);
    ragd_buf_free(&side);
    ragd_buf_free(&old);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flat_equals_brute_force_and_catches_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_deletes_disappear, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_and_corrupt_snapshot_rebuild, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_snapshot_header_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_old_snapshot_put_back_rebuilds, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_racing_a_save_is_kept, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_reindex_keeps_pending_deletions, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unwritable_snapshot_still_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw_tombstones_and_reindex, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hnsw_compacts_when_a_quarter_is_deleted, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_factory, setup, teardown),
        cmocka_unit_test_setup_teardown(test_streamed_build_of_many_vectors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_empty_trained_index_trains_on_catch_up, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_too_long_factory_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cached_verification_still_catches_changes, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
