/* tests/unit_chunk_sparse.c — the semantic chunker's two vector paths agree
 * bit for bit.
 *
 * With the built-in local embedder (e == NULL) chunk_semantic works on
 * sparse rows from local_embed_sparse; with any embedder handle it embeds
 * densely through embedder_embed. Given the local embedder at
 * CHUNK_SEMANTIC_LOCAL_DIM as that handle, the dense path computes the same
 * vectors the sparse one does, so both must give the same chunks (offsets,
 * token counts, heading paths, headers) and the same embedding usage — on
 * the fixtures, on a document long enough for two embedding batches, and on
 * Markdown with code, tables, CJK and emoji. local_embed_sparse must also be
 * local_embed_text's vector, dimension by dimension.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/chunk_internal.h"
#include "ingest/ingest.h"
#include "provider/provider.h"

static const char *fixtures_dir(void)
{
    const char *f = getenv("RAGD_FIXTURES");
    return f && *f ? f : "fixtures";
}

static char *read_fixture(const char *rel, size_t *len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", fixtures_dir(), rel);
    char *raw = NULL;
    ragd_error err = {0};
    assert_int_equal(ingest_read_file(path, 0, &raw, len, &err), RAGD_OK);
    return raw;
}

/* Chunk d both ways with max tokens and the given window (0: the default)
 * and compare everything. */
static void check_same_w(const char *name, const ingest_doc *d, int max, int window)
{
    embedder_config cfg = {.kind = "local", .dim = CHUNK_SEMANTIC_LOCAL_DIM};
    ragd_embedder *e = NULL;
    ragd_error err = {0};
    assert_int_equal(embedder_new(&cfg, &e, &err), RAGD_OK);
    embed_usage us = {0}, ud = {0};
    chunk_semantic_opts os = {.max_tokens = max, .window = window, .usage = &us};
    chunk_semantic_opts od = {.max_tokens = max, .window = window, .usage = &ud};
    chunk_list ls, ld;
    assert_int_equal(chunk_semantic(d, &os, NULL, &ls, &err), RAGD_OK);
    assert_int_equal(chunk_semantic(d, &od, e, &ld, &err), RAGD_OK);
    embedder_free(e);
    if (ls.n != ld.n) fprintf(stderr, "%s (max %d): %zu vs %zu chunks\n", name, max, ls.n, ld.n);
    assert_int_equal(ls.n, ld.n);
    for (size_t i = 0; i < ls.n; i++) {
        const chunk *a = &ls.v[i], *b = &ld.v[i];
        if (a->start != b->start || a->end != b->end)
            fprintf(stderr, "%s (max %d): chunk %zu at %zu..%zu vs %zu..%zu\n", name, max, i,
                    a->start, a->end, b->start, b->end);
        assert_int_equal(a->start, b->start);
        assert_int_equal(a->end, b->end);
        assert_int_equal(a->tokens, b->tokens);
        assert_int_equal(a->parent, b->parent);
        assert_string_equal(a->heading_path, b->heading_path);
        assert_string_equal(a->header, b->header);
    }
    assert_int_equal(us.calls, ud.calls);
    assert_int_equal(us.attempts, ud.attempts);
    assert_int_equal(us.retries, ud.retries);
    assert_int_equal(us.texts, ud.texts);
    assert_int_equal(us.tokens, ud.tokens);
    assert_true(us.cost == ud.cost);
    chunk_list_free(&ls);
    chunk_list_free(&ld);
}

static void check_same(const char *name, const ingest_doc *d, int max)
{
    check_same_w(name, d, max, 0);
}

static void check_raw(const char *name, const char *raw, size_t len, const char *fmt)
{
    ingest_doc d;
    ragd_error err = {0};
    assert_int_equal(ingest_parse(raw, len, fmt, name, &d, &err), RAGD_OK);
    static const int MAX[] = {256, 64, 16};
    for (size_t k = 0; k < 3; k++)
        check_same(name, &d, MAX[k]);
    ingest_doc_free(&d);
}

static void test_fixtures_both_paths(void **state)
{
    (void)state;
    static const char *const FILES[] = {
        "topics/bees.txt",   "topics/bread.txt",   "topics/chess.txt", "topics/tides.txt",
        "topics/trains.txt", "topics/volcano.txt", "README.md",
    };
    ragd_buf all = RAGD_BUF_INIT;
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
        size_t len = 0;
        char *raw = read_fixture(FILES[i], &len);
        check_raw(FILES[i], raw, len, strstr(FILES[i], ".md") ? "md" : "txt");
        ragd_buf_append(&all, raw, len);
        ragd_buf_putc(&all, ' ');
        free(raw);
    }
    check_raw("all fixtures", all.data, all.len, "txt");
    ragd_buf_free(&all);
}

/* More than SEMANTIC_BATCH (1024) units: two batches, each centred on its
 * own mean, with units embedded twice at the edge. */
static void test_two_batches_both_paths(void **state)
{
    (void)state;
    static const char *const TOPICS[] = {"bees", "tides", "bread", "chess", "volcano", "trains"};
    ragd_buf b = RAGD_BUF_INIT;
    for (size_t round = 0; round < 16; round++)
        for (size_t t = 0; t < 6; t++) {
            char rel[64];
            snprintf(rel, sizeof rel, "topics/%s.txt", TOPICS[(t + round) % 6]);
            size_t len = 0;
            char *raw = read_fixture(rel, &len);
            for (size_t i = 0; i < len; i++)
                if (raw[i] == '\n') raw[i] = ' ';
            ragd_buf_append(&b, raw, len);
            free(raw);
        }
    ingest_doc d;
    ragd_error err = {0};
    assert_int_equal(ingest_parse(b.data, b.len, "txt", "long", &d, &err), RAGD_OK);
    ragd_buf_free(&b);
    ragd_span *sp = NULL;
    size_t ns = text_sentences(d.text, d.len, &sp);
    free(sp);
    assert_true(ns > 1024);
    check_same("two batches", &d, 512);
    ingest_doc_free(&d);
}

static void test_markdown_both_paths(void **state)
{
    (void)state;
    static const char MD[] =
        "# Guide\n\nBees make honey. They live in hives. The queen lays eggs.\n\n"
        "## Code\n\n```c\nint main(void) { return 0; }\nint x = 1;\n```\n\n"
        "| a | b |\n| --- | --- |\n| 1 | 2 |\n\n"
        "## "
        "\xE6\x97\xA5\xE6\x9C\xAC\n\n\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xA7\xE3\x81\x99"
        "\xE3\x80\x82\xE3\x81\x93\xE3\x82\x8C\xE3\x81\xAF\xE6\x9C\xAC\xE3\x81\xA7\xE3\x81\x99\xE3"
        "\x80"
        "\x82\n\nEmoji \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB codes. Caf\xC3\xA9 "
        "na\xC3\xAFve "
        "r\xC3\xA9sum\xC3\xA9. Tides rise twice a day. The moon pulls the sea. Trains run on "
        "rails. "
        "Steam engines came first.\n\n- item one is here\n- item two is there\n";
    check_raw("markdown", MD, sizeof MD - 1, "md");
}

static void test_sparse_is_dense(void **state)
{
    (void)state;
    static const char *const TEXTS[] = {
        "The quick brown fox jumps over the lazy dog.",
        "Caf\xC3\xA9 na\xC3\xAFve r\xC3\xA9sum\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
        "the of and", /* stopwords only: no features */
        "",
        "retrieval retrieval retreival retrieval",
    };
    static const int DIMS[] = {384, 4096, 1000, 16, 1};
    for (size_t i = 0; i < sizeof TEXTS / sizeof *TEXTS; i++)
        for (size_t k = 0; k < sizeof DIMS / sizeof *DIMS; k++) {
            int dim = DIMS[k];
            float *dense = calloc((size_t)dim, sizeof *dense), *back = calloc((size_t)dim, 4);
            local_embed_text(TEXTS[i], strlen(TEXTS[i]), dim, dense);
            uint32_t *idx;
            float *val;
            size_t m = local_embed_sparse(TEXTS[i], strlen(TEXTS[i]), dim, &idx, &val);
            for (size_t j = 0; j < m; j++) {
                assert_true(idx[j] < (uint32_t)dim);
                if (j) assert_true(idx[j - 1] < idx[j]);
                assert_true(val[j] != 0);
                back[idx[j]] = val[j];
            }
            assert_memory_equal(dense, back, (size_t)dim * sizeof *dense);
            free(idx);
            free(val);
            free(dense);
            free(back);
        }
}

static ingest_doc *parse_fixtures_all(void)
{
    static const char *const FILES[] = {
        "topics/bees.txt",   "topics/bread.txt",   "topics/chess.txt", "topics/tides.txt",
        "topics/trains.txt", "topics/volcano.txt", "README.md",
    };
    ragd_buf all = RAGD_BUF_INIT;
    for (size_t i = 0; i < sizeof FILES / sizeof *FILES; i++) {
        size_t len = 0;
        char *raw = read_fixture(FILES[i], &len);
        ragd_buf_append(&all, raw, len);
        ragd_buf_putc(&all, ' ');
        free(raw);
    }
    ingest_doc *d = calloc(1, sizeof *d);
    ragd_error err = {0};
    assert_int_equal(ingest_parse(all.data, all.len, "md", "all", d, &err), RAGD_OK);
    ragd_buf_free(&all);
    return d;
}

/* Every window width: the sparse path's products come from products_fused
 * (span 2w <= 8: unrolled at w = 2, the generic lanes at 1, 3, 4) or
 * products_rows (w >= 5); each must equal the dense dotf's sums, so the
 * chunks must match the dense path's. */
static void test_windows_both_paths(void **state)
{
    (void)state;
    ingest_doc *d = parse_fixtures_all();
    static const int W[] = {1, 2, 3, 4, 5, 7};
    for (size_t k = 0; k < sizeof W / sizeof *W; k++) {
        check_same_w("windows", d, 256, W[k]);
        check_same_w("windows", d, 48, W[k]);
    }
    ingest_doc_free(d);
    free(d);
}

/* The local path keeps its scratch per thread across documents: a
 * document chunks the same after others (long and short, other windows)
 * and in other threads, concurrently, as it did first. */
typedef struct {
    const ingest_doc *d;
    int window;
    chunk_list out;
} chunk_job;

static void *chunk_job_run(void *v)
{
    chunk_job *j = v;
    ragd_error err = {0};
    for (int rep = 0; rep < 3; rep++) {
        if (rep) chunk_list_free(&j->out);
        chunk_semantic_opts o = {.max_tokens = 64, .window = j->window};
        if (chunk_semantic(j->d, &o, NULL, &j->out, &err) != RAGD_OK) return v;
    }
    return NULL;
}

static void same_chunks(const chunk_list *a, const chunk_list *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->v[i].start, b->v[i].start);
        assert_int_equal(a->v[i].end, b->v[i].end);
        assert_int_equal(a->v[i].tokens, b->v[i].tokens);
    }
}

static void test_cache_across_documents_and_threads(void **state)
{
    (void)state;
    ingest_doc *big = parse_fixtures_all();
    static const char SMALL[] = "Bees make honey. They live in hives. Tides rise twice a day. "
                                "The moon pulls the sea. Trains run on rails. Steam came first.";
    ingest_doc small;
    ragd_error err = {0};
    assert_int_equal(ingest_parse(SMALL, sizeof SMALL - 1, "txt", "s", &small, &err), RAGD_OK);
    chunk_job first[2] = {{.d = big, .window = 2}, {.d = &small, .window = 1}};
    for (int i = 0; i < 2; i++)
        assert_null(chunk_job_run(&first[i]));
    assert_true(first[0].out.n > 1);
    chunk_job again[4] = {{.d = &small, .window = 1},
                          {.d = big, .window = 2},
                          {.d = &small, .window = 1},
                          {.d = big, .window = 2}};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, chunk_job_run, &again[i]), 0);
    for (int i = 0; i < 4; i++) {
        void *r;
        assert_int_equal(pthread_join(th[i], &r), 0);
        assert_null(r);
    }
    for (int i = 0; i < 4; i++)
        same_chunks(&again[i].out, &first[i % 2 ? 0 : 1].out);
    for (int i = 0; i < 4; i++)
        chunk_list_free(&again[i].out);
    for (int i = 0; i < 2; i++)
        chunk_list_free(&first[i].out);
    ingest_doc_free(&small);
    ingest_doc_free(big);
    free(big);
}

/* The fused products against the one-row-at-a-time reference, bit for bit,
 * on random sparse rows: every span products_fused takes (the unrolled 4
 * and the generic 2, 6, 8), dimensions with and without a tail past
 * dim & ~7, empty rows, single entries, negative and subnormal values, rows
 * sharing many dimensions, batches shorter than a span. (Chunk comparisons
 * alone would miss a rounding slip that moves no cut.) */
static void test_products_fused_is_rows(void **state)
{
    (void)state;
    static const int DIMS[] = {4096, 100, 13, 8, 1};
    static const size_t SPANS[] = {4, 2, 6, 8, 10};
    uint64_t seed = 42;
#define RND() (seed = seed * 6364136223846793005ULL + 1442695040888963407ULL, seed >> 33)
    for (int round = 0; round < 400; round++) {
        int dim = DIMS[round % 5];
        size_t span = SPANS[(round / 5) % 5];
        size_t m = (size_t)(RND() % 40);
        uint32_t **idx = calloc(m + 1, sizeof *idx);
        float **val = calloc(m + 1, sizeof *val);
        size_t *n = calloc(m + 1, sizeof *n);
        float *meanf = calloc((size_t)dim, sizeof *meanf);
        for (int k = 0; k < dim; k++)
            meanf[k] = (float)((double)(RND() % 2001) / 1000.0 - 1.0);
        for (size_t i = 0; i < m; i++) {
            idx[i] = calloc((size_t)dim, sizeof **idx);
            val[i] = calloc((size_t)dim, sizeof **val);
            uint64_t density = RND() % 4; /* empty-ish to dense */
            for (int d = 0; d < dim; d++) {
                if (RND() % 8 > 2 * density) continue;
                idx[i][n[i]] = (uint32_t)d;
                uint64_t r = RND();
                float v = (float)((double)(r % 100001) / 50000.0 - 1.0);
                if (r % 97 == 0) v = 1e-40f; /* subnormal */
                if (r % 89 == 0) v = -v;
                val[i][n[i]++] = v == 0 ? 0.5f : v;
            }
        }
        size_t bad = chunk_semantic_products_check(
            (const uint32_t *const *)idx, (const float *const *)val, n, m, span, meanf, dim);
        if (bad) fprintf(stderr, "dim %d span %zu m %zu: %zu differ\n", dim, span, m, bad);
        assert_int_equal(bad, 0);
        for (size_t i = 0; i < m; i++) {
            free(idx[i]);
            free(val[i]);
        }
        free(idx);
        free(val);
        free(n);
        free(meanf);
    }
#undef RND
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_is_dense),
        cmocka_unit_test(test_markdown_both_paths),
        cmocka_unit_test(test_fixtures_both_paths),
        cmocka_unit_test(test_two_batches_both_paths),
        cmocka_unit_test(test_windows_both_paths),
        cmocka_unit_test(test_products_fused_is_rows),
        cmocka_unit_test(test_cache_across_documents_and_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
