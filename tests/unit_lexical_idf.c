/* tests/unit_lexical_idf.c — lexical_terms_idf's per-connection idf cache
 * (index/lexical.c) against a reference computed with plain SQL on the same
 * connection at the same moment: after ingest, after more ingest, after a
 * re-ingest that changes terms but not the row count, after a delete, inside
 * a write transaction and after its rollback, on the writing connection and
 * on a second one, with random queries over a vocabulary (ASCII, digits,
 * accents, CJK, quotes). A stale or wrong cached count fails the exact
 * comparison; a cache that never serves (the eval7 bug) fails the count of
 * statements run. */
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

#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"
#include "ingest/ingest.h"
#include "retrieve/retrieve.h"
#include "store/store.h"
#include "tests/unit_helpers.h"

typedef coll_fixture fixture;

static int setup(void **state)
{
    fixture *fx = coll_fixture_new("lexidf");
    write_doc(fx->dir, "a.txt",
              "Apple orchards use drip irrigation; growers prune trees in winter. Café owners "
              "buy the fruit in 2024.");
    write_doc(fx->dir, "b.txt", "Blue whales migrate between feeding grounds. 東京の天気は晴れ.");
    write_doc(fx->dir, "swap.txt", "alpha bravo charlie");
    coll_fixture_open(fx, 64);
    coll_fixture_ingest(fx);
    *state = fx;
    return 0;
}

/* The statements run on a connection whose SQL counts terms (trace). */
static int count_stmts;
static int trace_cb(unsigned t, void *ctx, void *p, void *x)
{
    (void)t;
    (void)ctx;
    (void)x;
    const char *sql = sqlite3_sql((sqlite3_stmt *)p);
    if (sql && strstr(sql, "SELECT count(*) FROM chunks_fts WHERE")) count_stmts++;
    return 0;
}

/* The reference: N and each df by plain SQL on db, no cache. */
/* The reference: each df by plain SQL on st's connection, no cache; N as
 * lexical_indexed_rows reads it (FTS5's averages record: inside a write
 * transaction it lags the uncommitted rows, while the counts include them,
 * with or without the cache). */
static void reference_idf(ragd_store *st, char **terms, size_t n, double *idf)
{
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    int64_t rows = 0;
    ragd_error e;
    assert_int_equal(lexical_indexed_rows(st, &rows, &e), RAGD_OK);
    double N = (double)rows;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH ? "
                                        "/* reference */",
                                        -1, &q, NULL),
                     SQLITE_OK);
    for (size_t i = 0; i < n; i++) {
        ragd_buf b = RAGD_BUF_INIT;
        bool digit = false;
        for (const char *t = terms[i]; *t; t++)
            digit |= *t >= '0' && *t <= '9';
        if (digit) ragd_buf_puts(&b, "{title heading body} : ");
        char *sp = text_space_cjk(terms[i], strlen(terms[i]));
        ragd_buf_putc(&b, '"');
        for (const char *p = sp; *p; p++) {
            if (*p == '"') ragd_buf_putc(&b, '"');
            ragd_buf_putc(&b, *p);
        }
        ragd_buf_putc(&b, '"');
        free(sp);
        sqlite3_bind_text(q, 1, b.data, (int)b.len, SQLITE_TRANSIENT);
        assert_int_equal(sqlite3_step(q), SQLITE_ROW);
        double df = (double)sqlite3_column_int64(q, 0);
        sqlite3_reset(q);
        ragd_buf_free(&b);
        if (df > N) df = N;
        idf[i] = log(1.0 + (N - df + 0.5) / (df + 0.5));
    }
    sqlite3_finalize(q);
}

/* lexical_terms_idf of query on st inside a read savepoint (as
 * retrieve_search calls it; with in_txn false in autocommit mode), equal to
 * the reference taken in the same snapshot; returns the count statements
 * it ran. */
static int check_query(ragd_store *st, const char *query, bool in_txn)
{
    sqlite3 *db = store_db(st);
    char **terms = NULL;
    size_t nt = lexical_terms(query, &terms);
    double *got = calloc(nt + 1, sizeof *got), *want = calloc(nt + 1, sizeof *want);
    if (in_txn) assert_int_equal(sqlite3_exec(db, "SAVEPOINT t", NULL, NULL, NULL), SQLITE_OK);
    ragd_error e;
    count_stmts = 0;
    sqlite3_trace_v2(db, SQLITE_TRACE_STMT, trace_cb, NULL);
    assert_int_equal(lexical_terms_idf(st, terms, nt, got, &e), RAGD_OK);
    sqlite3_trace_v2(db, 0, NULL, NULL);
    int ran = count_stmts;
    reference_idf(st, terms, nt, want);
    if (in_txn) assert_int_equal(sqlite3_exec(db, "RELEASE t", NULL, NULL, NULL), SQLITE_OK);
    for (size_t i = 0; i < nt; i++) {
        if (got[i] != want[i])
            fprintf(stderr, "query '%s' term '%s': idf %.17g, reference %.17g\n", query, terms[i],
                    got[i], want[i]);
        assert_true(got[i] == want[i]);
    }
    free(got);
    free(want);
    lexical_terms_free(terms, nt);
    return ran;
}

static const char *QUERIES[] = {
    "apple orchards irrigation", "alpha bravo", "delta echo charlie",
    "whales migrate 2024",       "café cafe",   "東京 天気",
    "winter \"fruit\" grounds",  "zulu alpha",
};
#define NQ (sizeof QUERIES / sizeof QUERIES[0])

static void check_all(ragd_store *st)
{
    for (size_t i = 0; i < NQ; i++)
        check_query(st, QUERIES[i], true);
}

/* Ingest, search, ingest more, search again: on the writing connection and
 * on a second one, and through retrieve_search itself. */
static void test_cache_follows_ingest(void **state)
{
    fixture *fx = *state;
    ragd_error e;
    ragd_store *rd = NULL;
    assert_int_equal(store_open_reader(fx->dir, &rd, &e), RAGD_OK);
    check_all(fx->st);
    check_all(rd);
    /* Served from the cache: the same terms again run no count. */
    assert_true(check_query(fx->st, QUERIES[0], true) == 0);
    assert_true(check_query(rd, QUERIES[0], true) == 0);
    /* Also in autocommit mode (lexical_terms_idf opens its own savepoint). */
    assert_true(check_query(rd, QUERIES[0], false) == 0);
    /* More documents with the same words: N and the dfs change. */
    write_doc(fx->dir, "c.txt", "Apple irrigation for whales? Delta echo alpha.");
    write_doc(fx->dir, "d.txt", "Orchards and orchards: alpha, zulu, 東京.");
    coll_fixture_ingest(fx);
    check_all(fx->st);
    check_all(rd);
    /* A re-ingest that swaps words but keeps every row count: the cache
     * must follow the data version, not N alone. */
    int64_t n0 = 0, n1 = 0;
    assert_int_equal(lexical_indexed_rows(fx->st, &n0, &e), RAGD_OK);
    write_doc(fx->dir, "swap.txt", "delta echo zulu");
    coll_fixture_ingest(fx);
    assert_int_equal(lexical_indexed_rows(fx->st, &n1, &e), RAGD_OK);
    assert_int_equal(n0, n1);
    check_all(fx->st);
    check_all(rd);
    /* A delete. */
    assert_int_equal(store_doc_delete(fx->st, fx->coll.id, "c.txt", &e), RAGD_OK);
    check_all(rd);
    check_all(fx->st);
    /* retrieve_search on both connections gives what a fresh connection
     * (empty cache) gives. */
    ragd_store *fresh = NULL;
    for (size_t i = 0; i < NQ; i++) {
        search_opts o;
        search_opts_init(&o);
        o.mode = "lexical";
        o.k = 20;
        o.keep_all = true;
        search_result r1, r2, r3;
        assert_int_equal(store_open_reader(fx->dir, &fresh, &e), RAGD_OK);
        assert_int_equal(retrieve_search(fx->st, &fx->coll, QUERIES[i], &o, &r1, &e), RAGD_OK);
        assert_int_equal(retrieve_search(rd, &fx->coll, QUERIES[i], &o, &r2, &e), RAGD_OK);
        assert_int_equal(retrieve_search(fresh, &fx->coll, QUERIES[i], &o, &r3, &e), RAGD_OK);
        assert_int_equal(r1.n, r3.n);
        assert_int_equal(r2.n, r3.n);
        for (size_t h = 0; h < r3.n; h++) {
            assert_true(r1.hits[h].coverage == r3.hits[h].coverage);
            assert_true(r2.hits[h].coverage == r3.hits[h].coverage);
        }
        search_result_free(&r1);
        search_result_free(&r2);
        search_result_free(&r3);
        store_close(fresh);
    }
    store_close(rd);
}

/* In this connection's write transaction the cache is neither read nor
 * filled (its uncommitted FTS5 rows are in the counts); after a rollback
 * the counts are the committed ones again. */
static void test_cache_skipped_while_writing(void **state)
{
    fixture *fx = *state;
    ragd_error e;
    check_all(fx->st);
    sqlite3 *db = store_db(fx->st);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    check_all(fx->st); /* READ state: served from the cache */
    /* A row written straight into the index (uncommitted). */
    const char *ins = "INSERT INTO chunks_fts(rowid, title, heading, body, coll) VALUES "
                      "(999999, 'alpha', '', 'alpha zulu echo apple 2024 東京', 'c999')";
    assert_int_equal(sqlite3_exec(db, ins, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_txn_state(db, "main"), SQLITE_TXN_WRITE);
    for (size_t i = 0; i < NQ; i++)
        check_query(fx->st, QUERIES[i], false);
    assert_int_equal(sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    check_all(fx->st);
    assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, ins, NULL, NULL, NULL), SQLITE_OK);
    check_query(fx->st, QUERIES[0], false);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    check_all(fx->st);
    /* And a committed delete of a document. */
    assert_int_equal(store_doc_delete(fx->st, fx->coll.id, "a.txt", &e), RAGD_OK);
    check_all(fx->st);
}

/* Random queries over a vocabulary with shared words, digits, accents, CJK
 * and quotes, interleaved with writes on either connection. */
static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

static void test_cache_random(void **state)
{
    fixture *fx = *state;
    static const char *VOCAB[] = {"alpha", "bravo",   "charlie", "delta",  "echo", "zulu",
                                  "apple", "orchard", "whales",  "2024",   "c1",   "café",
                                  "cafe",  "東京",    "天気",    "x\"y",   "ß",    "Ǆemo",
                                  "drip",  "fruit",   "winter",  "grounds"};
    const size_t nv = sizeof VOCAB / sizeof VOCAB[0];
    ragd_error e;
    ragd_store *rd = NULL;
    assert_int_equal(store_open_reader(fx->dir, &rd, &e), RAGD_OK);
    for (int round = 0; round < 12; round++) {
        for (int qn = 0; qn < 25; qn++) {
            ragd_buf q = RAGD_BUF_INIT;
            size_t words = 1 + rnd() % 5;
            for (size_t w = 0; w < words; w++)
                ragd_buf_printf(&q, "%s%s", w ? " " : "", VOCAB[rnd() % nv]);
            check_query(rnd() % 2 ? fx->st : rd, q.data, rnd() % 4 != 0);
            ragd_buf_free(&q);
        }
        /* A write: a new document of random words, or a rewrite. */
        ragd_buf t = RAGD_BUF_INIT;
        size_t words = 1 + rnd() % 12;
        for (size_t w = 0; w < words; w++)
            ragd_buf_printf(&t, "%s%s", w ? " " : "", VOCAB[rnd() % nv]);
        char name[32];
        snprintf(name, sizeof name, "r%u.txt", rnd() % 4);
        write_doc(fx->dir, name, t.data);
        ragd_buf_free(&t);
        coll_fixture_ingest(fx);
    }
    store_close(rd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cache_follows_ingest, setup, coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_skipped_while_writing, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_cache_random, setup, coll_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
