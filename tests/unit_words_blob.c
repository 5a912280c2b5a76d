/* tests/unit_words_blob.c — schema v8's stored content words
 * (retrieve/words_blob.h): the blob round-trips to exactly the words
 * vwords_init computes (random texts, edge cases), ingest writes the blob
 * of every chunk and document, the v7 -> v8 migration computes the same
 * blobs for a store made without them, and search results are the same
 * with the blobs, without them (NULL: the fallback) and with malformed
 * ones. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"
#include "ingest/ingest.h"
#include "retrieve/retrieve.h"
#include "retrieve/validate.h"
#include "retrieve/words_blob.h"
#include "store/schema.h"
#include "store/store.h"
#include "unit_files.h"

/* What consumers of a vwords see: the n words' bytes, and for each CJK
 * term, whether strstr finds it in the folded text. */
static void assert_same_words(const vwords *a, const vwords *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        size_t la = a->w[i].end - a->w[i].start, lb = b->w[i].end - b->w[i].start;
        assert_int_equal(la, lb);
        assert_memory_equal(a->folded + a->w[i].start, b->folded + b->w[i].start, la);
    }
}

static void check_roundtrip(const char *text, size_t len)
{
    vwords v, d;
    vwords_init(&v, text, len);
    ragd_buf b = RAGD_BUF_INIT;
    words_blob_encode(&v, true, &b);
    bool has = false;
    assert_true(words_blob_decode(b.data, b.len, &d, &has));
    assert_true(has);
    assert_same_words(&v, &d);
    /* FULL keeps the folded text byte for byte; WORDS only when no CJK. */
    bool cjk = false;
    size_t fl = strlen(v.folded);
    for (size_t i = 0; i < fl;) {
        int32_t cp = 0;
        size_t l = text_decode(v.folded, fl, i, &cp);
        cjk |= l && text_is_cjk(cp);
        i += l ? l : 1;
    }
    assert_int_equal((unsigned char)b.data[0], cjk ? WORDS_BLOB_FULL : WORDS_BLOB_WORDS);
    if (cjk) assert_string_equal(v.folded, d.folded);
    /* CJK terms (each CJK character of the text, and some absent) are
     * found in one exactly when in the other. */
    const char *probe[] = {"日", "本", "語", "中", "文", "한", "国", "の"};
    char *terms[16];
    size_t nt = 0;
    for (size_t i = 0; i < sizeof probe / sizeof *probe; i++)
        terms[nt++] = (char *)probe[i];
    unsigned char fa[16] = {0}, fb[16] = {0};
    validate_terms_found(terms, nt, &v, fa);
    validate_terms_found(terms, nt, &d, fb);
    assert_memory_equal(fa, fb, nt);
    /* Every strict prefix of a blob is rejected, never misread. */
    for (size_t n = 0; n < b.len; n++) {
        vwords x;
        assert_false(words_blob_decode(b.data, n, &x, NULL));
        assert_null(x.folded);
    }
    vwords_free(&d);
    vwords_free(&v);
    ragd_buf_free(&b);
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void test_roundtrip_matches_vwords_init(void **state)
{
    (void)state;
    const char *cases[] = {
        "",
        "a",
        "x",
        "\xC3",                                            /* one byte of a two-byte sequence */
        "\xFF\xFE invalid",                                /* invalid UTF-8: folds to "" */
        "the of and",                                      /* stop words only */
        "Hello, World! It's 3.14 or 1,000.",               /* ASCII joins */
        "Cafe\xCC\x81 na\xC3\xAFve e\xCC\x81le\xCC\x80ve", /* combining marks */
        "\xEF\xAC\x81nance \xE2\x84\xAB \xE2\x91\xA0",     /* ligature, Angstrom, circled 1 */
        "日本語のテキストと English words 混在",           /* CJK + ASCII */
        "한국어 문장 and 中文句子。",                      /* Hangul + Han */
        "Stra\xC3\x9F"
        "e GROSS \xCE\xA3\xCE\xB1\xCF\x82", /* ß, Greek final sigma */
        "emoji 👩‍👩‍👧 family\nline two\r\nthree",
        "title\nheading > sub\nbody text of a chunk",
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        check_roundtrip(cases[i], strlen(cases[i]));
    /* Random mixes of ASCII words, stop words, punctuation, accents,
     * combining marks, CJK and invalid bytes. */
    const char *atoms[] = {
        "the ", "Cell ",    "cells ",   "of ",          "3.5 ",     ", ",
        ". ",   "\n",       "\xC3\xA9", "e\xCC\x81",    "\xCC\x81", "日本",
        "語",   "한",       "ﬁ",        "\xE2\x80\x99", "don't ",   "\xF0\x9F\x98\x80",
        "\xFF", "\xE3\x81", "Zebra ",   "ÅNGSTRÖM "};
    size_t na = sizeof atoms / sizeof *atoms;
    for (int r = 0; r < 3000; r++) {
        ragd_buf t = RAGD_BUF_INIT;
        size_t n = rnd() % 40;
        for (size_t k = 0; k < n; k++)
            ragd_buf_puts(&t, atoms[rnd() % na]);
        check_roundtrip(t.data ? t.data : "", t.len);
        ragd_buf_free(&t);
    }
    /* A long text (varints past one byte). */
    ragd_buf t = RAGD_BUF_INIT;
    for (int k = 0; k < 3000; k++)
        ragd_buf_printf(&t, "word%d supercalifragilistic%d ", k, k);
    check_roundtrip(t.data, t.len);
    ragd_buf_free(&t);
}

static void test_summary_and_malformed_blobs(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    vwords v;
    bool has = true;
    words_blob_summary(NULL, &b);
    assert_true(words_blob_decode(b.data, b.len, &v, &has));
    assert_false(has);
    assert_int_equal(v.n, 0);
    vwords_free(&v);
    words_blob_summary("", &b);
    assert_true(words_blob_decode(b.data, b.len, &v, &has));
    assert_false(has);
    vwords_free(&v);
    words_blob_summary("Drip irrigation manual", &b);
    assert_true(words_blob_decode(b.data, b.len, &v, &has));
    assert_true(has);
    assert_int_equal(v.n, 3);
    vwords_free(&v);
    /* Garbage is rejected or decodes to something in bounds (ASan checks
     * the reads); a wrong kind or flag byte is rejected. */
    unsigned char g[64];
    for (int r = 0; r < 20000; r++) {
        size_t n = rnd() % sizeof g;
        for (size_t i = 0; i < n; i++)
            g[i] = (unsigned char)rnd();
        if (n && r % 2) g[0] = (unsigned char)(1 + rnd() % 2);
        if (n > 1 && r % 4 < 2) g[1] = (unsigned char)(rnd() % 2);
        if (words_blob_decode(g, n, &v, NULL)) {
            for (size_t i = 0; i < v.n; i++)
                assert_true(v.w[i].start <= v.w[i].end);
            vwords_free(&v);
        }
    }
    const unsigned char bad_kind[] = {3, 1, 0}, bad_flag[] = {1, 2, 0}, trailing[] = {1, 1, 0, 'x'};
    assert_false(words_blob_decode(bad_kind, sizeof bad_kind, &v, NULL));
    assert_false(words_blob_decode(bad_flag, sizeof bad_flag, &v, NULL));
    assert_false(words_blob_decode(trailing, sizeof trailing, &v, NULL));
    ragd_buf_free(&b);
}

/* --- on a store ---------------------------------------------------------- */

typedef struct {
    char *dir;
    ragd_store *st;
    ragd_collection coll;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof *fx);
    fx->dir = unit_tmpdir();
    ragd_error e;
    assert_int_equal(store_open(fx->dir, &fx->st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    s.chunk_tokens = 96;
    s.overlap = 0;
    assert_int_equal(store_collection_open(fx->st, "w", &s, &fx->coll, &e), RAGD_OK);
    const char *fix = getenv("RAGD_FIXTURES");
    char p[1024];
    snprintf(p, sizeof p, "%s/docs", fix ? fix : "fixtures");
    ingest_opts o = {0};
    char *paths[] = {p};
    json_t *report = NULL;
    assert_int_equal(ingest_paths(fx->st, &fx->coll, paths, 1, &o, &report, &e), RAGD_OK);
    json_decref(report);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    store_close(fx->st);
    unit_rmrf(fx->dir);
    free(fx->dir);
    free(fx);
    return 0;
}

static int64_t count(ragd_store *st, const char *sql)
{
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

static void exec(ragd_store *st, const char *sql)
{
    ragd_error e;
    assert_int_equal(store_exec(st, sql, &e), RAGD_OK);
}

/* Every stored blob is byte-equal to the one computed now from the stored
 * text (as search's fallback would read it). Returns the rows checked. */
static size_t check_blobs(ragd_store *st)
{
    sqlite3_stmt *q;
    size_t n = 0;
    ragd_buf b = RAGD_BUF_INIT;
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT d.title, c.heading_path, c.text, c.chunk_words "
                                        "FROM chunks c JOIN documents d ON d.id = c.document_id",
                                        -1, &q, NULL),
                     SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        words_blob_chunk((const char *)sqlite3_column_text(q, 0),
                         (const char *)sqlite3_column_text(q, 1),
                         (const char *)sqlite3_column_text(q, 2), &b);
        assert_int_equal(sqlite3_column_type(q, 3), SQLITE_BLOB);
        assert_int_equal((size_t)sqlite3_column_bytes(q, 3), b.len);
        assert_memory_equal(sqlite3_column_blob(q, 3), b.data, b.len);
        n++;
    }
    sqlite3_finalize(q);
    assert_int_equal(sqlite3_prepare_v2(store_db(st),
                                        "SELECT json_extract(summary, '$.summary_text'), "
                                        "summary_words FROM documents",
                                        -1, &q, NULL),
                     SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        words_blob_summary((const char *)sqlite3_column_text(q, 0), &b);
        assert_int_equal((size_t)sqlite3_column_bytes(q, 1), b.len);
        assert_memory_equal(sqlite3_column_blob(q, 1), b.data, b.len);
        n++;
    }
    sqlite3_finalize(q);
    ragd_buf_free(&b);
    return n;
}

static const char *const QUERIES[] = {
    "Which UDP port must be open for the Nordvane VPN client to reach the gateways?",
    "When was the Greyhollow light on Carrick Tarn first exhibited?",
    "how often should a bicycle chain be cleaned",
    "beekeeping calendar spring inspection",
    "café crème brûlée recipe",
    "日本語",
    "recycling collection days in Eastwick",
    "glacier survey measurements",
    "family reunion",
    "aquarium nitrogen cycle ammonia",
};

/* Every query's results (lexical, k 10 and keep_all k 100) as JSON text,
 * timings left out, concatenated. */
static char *results(fixture *fx)
{
    ragd_buf all = RAGD_BUF_INIT;
    for (size_t i = 0; i < sizeof QUERIES / sizeof *QUERIES; i++) {
        for (int keep = 0; keep < 2; keep++) {
            search_opts o;
            search_opts_init(&o);
            o.mode = "lexical";
            o.k = keep ? 100 : 10;
            o.keep_all = keep;
            search_result r;
            ragd_error e;
            assert_int_equal(retrieve_search(fx->st, &fx->coll, QUERIES[i], &o, &r, &e), RAGD_OK);
            json_t *j = search_result_json(&r, &o);
            json_object_del(j, "timing_ms");
            char *s = json_dumps(j, JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
            ragd_buf_puts(&all, s);
            ragd_buf_putc(&all, '\n');
            free(s);
            json_decref(j);
            search_result_free(&r);
        }
    }
    return ragd_buf_steal(&all);
}

static void test_ingest_writes_blobs(void **state)
{
    fixture *fx = *state;
    assert_int_equal(schema_version(store_db(fx->st)), 8);
    assert_true(count(fx->st, "SELECT count(*) FROM chunks") > 100);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM chunks WHERE chunk_words IS NULL"), 0);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM documents WHERE summary_words IS NULL"),
                     0);
    /* Some documents have a summary with words, and some chunks CJK. */
    assert_true(count(fx->st, "SELECT count(*) FROM documents WHERE length(summary_words) > 3") >
                0);
    assert_true(
        count(fx->st, "SELECT count(*) FROM chunks WHERE substr(chunk_words, 1, 1) = x'02'") > 0);
    assert_true(check_blobs(fx->st) > 100);
}

/* Ingest computes chunk_words on its workers (ingest/prepare.c) and the
 * writer only binds them: the stored blobs must equal what store_doc_put
 * computes from the stored row (check_blobs), for edge-case and random
 * texts (one byte, CJK, Hangul, combining marks, ligatures, emoji ZWJ, CR
 * LF, headings; an empty text is refused by ingest, and invalid UTF-8 or a
 * NUL byte never reaches a chunk), serial and with two workers. */
static void test_ingest_worker_blobs_match_store(void **state)
{
    fixture *fx = *state;
    static const char *const parts[] = {
        "a",
        "The ",
        "cells ",

        "caf\xc3\xa9 ",
        "e\xcc\x81 ",
        "\xe4\xb8\xad\xe6\x96\x87",
        "\xea\xb0\x80 ",
        "\n\n",
        "# H\n",
        "## Sub\n",
        "\xef\xac\x81 ",
        "Stra\xc3\x9f"
        "e ",
        "of ",
        "p53 ",
        "\r\n",
        ". ",
        "\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x92\xbb ",
    };
    const size_t np = sizeof parts / sizeof parts[0];
    unsigned seed = 12345;
    for (int workers = 1; workers <= 2; workers++) {
        enum { N = 40 };
        ingest_text t[N];
        char *texts[N], *ids[N];
        size_t lens[N];
        memset(t, 0, sizeof t);
        for (int i = 0; i < N; i++) {
            ragd_buf b = RAGD_BUF_INIT;
            size_t nparts = i == 0 ? 1 : i == 1 ? 1 : (size_t)(rand_r(&seed) % 400);
            for (size_t k = 0; k < nparts; k++) {
                const char *pp = parts[rand_r(&seed) % np];
                ragd_buf_puts(&b, pp);
            }
            if (i == 1) ragd_buf_puts(&b, "x");
            lens[i] = b.len;
            texts[i] = ragd_buf_steal(&b);
            ids[i] = malloc(32);
            snprintf(ids[i], 32, "r%d-%d", workers, i);
            t[i].id = ids[i];
            t[i].text = texts[i];
            t[i].len = lens[i];
            t[i].format = i % 2 ? "md" : "txt";
        }
        ingest_opts o = {0};
        o.workers = workers;
        json_t *report = NULL;
        ragd_error e;
        assert_int_equal(ingest_texts(fx->st, &fx->coll, t, N, &o, &report, &e), RAGD_OK);
        json_decref(report);
        for (int i = 0; i < N; i++) {
            free(texts[i]);
            free(ids[i]);
        }
    }
    assert_int_equal(count(fx->st, "SELECT count(*) FROM chunks WHERE chunk_words IS NULL"), 0);
    assert_true(check_blobs(fx->st) > 200);
}

/* The fallback: with the blobs NULL (a store migrated without them, or
 * rows a future writer leaves empty) or malformed, search folds the text
 * and gives the same results. */
static void test_null_and_malformed_blobs_fall_back(void **state)
{
    fixture *fx = *state;
    char *with = results(fx);
    exec(fx->st, "UPDATE chunks SET chunk_words = NULL; UPDATE documents SET summary_words = NULL");
    char *without = results(fx);
    assert_string_equal(with, without);
    exec(fx->st, "UPDATE chunks SET chunk_words = x'0101'; "
                 "UPDATE documents SET summary_words = x'09'");
    char *bad = results(fx);
    assert_string_equal(with, bad);
    exec(fx->st, "UPDATE chunks SET chunk_words = x''; UPDATE documents SET summary_words = x''");
    char *empty = results(fx);
    assert_string_equal(with, empty);
    free(empty);
    /* Half of them back (mixed rows within one query). */
    exec(fx->st, "UPDATE chunks SET chunk_words = NULL WHERE id % 2 = 0");
    assert_int_equal(schema_fill_words(store_db(fx->st), NULL), SQLITE_OK);
    exec(fx->st, "UPDATE chunks SET chunk_words = NULL WHERE id % 3 = 0; "
                 "UPDATE documents SET summary_words = NULL WHERE id % 2 = 1");
    char *mixed = results(fx);
    assert_string_equal(with, mixed);
    free(with);
    free(without);
    free(bad);
    free(mixed);
}

/* v7 -> v8 on a store in v7's shape (the two columns dropped, user_version
 * 7): reopening migrates it and computes every blob, byte-equal to what
 * ingest writes; results equal before and after. */
static void test_migrate_v7_fills_blobs(void **state)
{
    fixture *fx = *state;
    char *before = results(fx);
    exec(fx->st, "CREATE TABLE saved AS SELECT id, chunk_words FROM chunks;"
                 "CREATE TABLE saved_docs AS SELECT id, summary_words FROM documents;"
                 "ALTER TABLE chunks DROP COLUMN chunk_words;"
                 "ALTER TABLE documents DROP COLUMN summary_words;"
                 "PRAGMA user_version = 7;");
    store_close(fx->st);
    ragd_error e;
    assert_int_equal(store_open(fx->dir, &fx->st, &e), RAGD_OK);
    assert_int_equal(schema_version(store_db(fx->st)), 8);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM chunks WHERE chunk_words IS NULL"), 0);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM chunks c JOIN saved s ON s.id = c.id "
                                   "WHERE s.chunk_words IS NOT c.chunk_words"),
                     0);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM documents d JOIN saved_docs s ON "
                                   "s.id = d.id WHERE s.summary_words IS NOT d.summary_words"),
                     0);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM saved"),
                     count(fx->st, "SELECT count(*) FROM chunks"));
    check_blobs(fx->st);
    assert_int_equal(store_collection_open(fx->st, "w", NULL, &fx->coll, &e), RAGD_OK);
    char *after = results(fx);
    assert_string_equal(before, after);
    free(before);
    free(after);
    /* A summary JSON that is not valid keeps NULL (search fails on it as
     * before v8 rather than quietly seeing no summary). */
    exec(fx->st,
         "UPDATE documents SET summary = '{oops' WHERE id = (SELECT min(id) FROM documents);"
         "UPDATE documents SET summary_words = NULL");
    assert_int_equal(schema_fill_words(store_db(fx->st), NULL), SQLITE_OK);
    assert_int_equal(count(fx->st, "SELECT count(*) FROM documents WHERE summary_words IS NULL"),
                     1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_roundtrip_matches_vwords_init),
        cmocka_unit_test(test_summary_and_malformed_blobs),
        cmocka_unit_test_setup_teardown(test_ingest_writes_blobs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ingest_worker_blobs_match_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_null_and_malformed_blobs_fall_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v7_fills_blobs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
