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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
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

/* Chunk d both ways with max tokens and compare everything. */
static void check_same(const char *name, const ingest_doc *d, int max)
{
    embedder_config cfg = {.kind = "local", .dim = CHUNK_SEMANTIC_LOCAL_DIM};
    ragd_embedder *e = NULL;
    ragd_error err = {0};
    assert_int_equal(embedder_new(&cfg, &e, &err), RAGD_OK);
    embed_usage us = {0}, ud = {0};
    chunk_semantic_opts os = {.max_tokens = max, .usage = &us};
    chunk_semantic_opts od = {.max_tokens = max, .usage = &ud};
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sparse_is_dense),
        cmocka_unit_test(test_markdown_both_paths),
        cmocka_unit_test(test_fixtures_both_paths),
        cmocka_unit_test(test_two_batches_both_paths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
