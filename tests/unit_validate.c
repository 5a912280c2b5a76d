/* tests/unit_validate.c — relevance validation: each text measure on
 * hand-checked cases, and each validator rule (query gate, support,
 * duplicate, near-duplicate, doc cap, MMR) through retrieve_search on a real
 * store built from small generated documents (lexical mode: no embedder). */
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
#include "retrieve/validate.h"
#include "store/store.h"
#include "tests/unit_helpers.h"

static void test_stem_match(void **state)
{
    (void)state;
    assert_true(validate_stem_match("mutation", 8, "mutations", 9));
    assert_true(validate_stem_match("mutation", 8, "mutated", 7));
    assert_true(validate_stem_match("cell", 4, "cells", 5));
    assert_false(validate_stem_match("cat", 3, "car", 3));
    assert_false(validate_stem_match("onchocerciasis", 14, "onchocerca", 10));
}

static double phrase(const char *q, const char *t)
{
    vwords a, b;
    vwords_init(&a, q, strlen(q));
    vwords_init(&b, t, strlen(t));
    double v = validate_phrase_coverage(&a, &b);
    vwords_free(&a);
    vwords_free(&b);
    return v;
}

static void test_phrase_coverage(void **state)
{
    (void)state;
    /* Pairs: (femoropopliteal, bypass), (bypass, thrombosis). Stop words
     * between words do not break adjacency; inflection does not matter. */
    assert_true(fabs(phrase("femoropopliteal bypass thrombosis",
                            "Rates of the femoropopliteal bypass thromboses rose.") -
                     1.0) < 1e-9);
    assert_true(fabs(phrase("femoropopliteal bypass thrombosis",
                            "bypass surgery; thrombosis; femoropopliteal arteries") -
                     0.0) < 1e-9);
    assert_true(
        fabs(phrase("capital of Australia city", "the capital of Australia has a large city") -
             0.5) < 1e-9);
    /* One content word: no pairs, no phrase evidence. */
    assert_true(phrase("the thrombosis", "thrombosis") == 0.0);
    assert_true(phrase("", "anything at all") == 0.0);
}

static void sets(const char *a, const char *b, size_t width, double *jac)
{
    vwords x, y;
    vwords_init(&x, a, strlen(a));
    vwords_init(&y, b, strlen(b));
    hash_set s, t;
    if (width) {
        hash_set_shingles(&s, &x, width);
        hash_set_shingles(&t, &y, width);
    } else {
        hash_set_words(&s, &x);
        hash_set_words(&t, &y);
    }
    *jac = hash_set_jaccard(&s, &t);
    hash_set_free(&s);
    hash_set_free(&t);
    vwords_free(&x);
    vwords_free(&y);
}

static void test_shingles_and_jaccard(void **state)
{
    (void)state;
    double j;
    sets("alpha beta gamma delta epsilon", "alpha beta gamma delta epsilon", 4, &j);
    assert_true(fabs(j - 1.0) < 1e-9);
    /* 5 words -> 2 shingles each; changing the last word keeps 1 of 3. */
    sets("alpha beta gamma delta epsilon", "alpha beta gamma delta zeta", 4, &j);
    assert_true(fabs(j - 1.0 / 3.0) < 1e-9);
    /* Word sets: {alpha, beta, gamma} vs {beta, gamma, delta} = 2/4. */
    sets("alpha beta gamma", "gamma beta delta", 0, &j);
    assert_true(fabs(j - 0.5) < 1e-9);
    /* Case and stop words do not count. */
    sets("The Alpha and the BETA", "alpha beta", 0, &j);
    assert_true(fabs(j - 1.0) < 1e-9);
    sets("", "", 4, &j);
    assert_true(j == 0.0);
}

static void test_stopwords_and_size_bound(void **state)
{
    (void)state;
    const char *stop[] = {"a",    "about",  "the",      "yourselves", "don't",
                          "also", "within", "describe", "t"};
    for (size_t i = 0; i < sizeof stop / sizeof *stop; i++)
        assert_true(lexical_is_stopword(stop[i]));
    const char * not [] = {"", "aa", "cell", "zebra", "theme", "yourselvesx", "abouts"};
    for (size_t i = 0; i < sizeof not / sizeof *not ; i++)
        assert_false(lexical_is_stopword(not [i]));
    /* Spans of a longer string; the typographic apostrophe. */
    assert_true(lexical_is_stopword_n("don\xE2\x80\x99t", 7));
    assert_true(lexical_is_stopword_n("thereby", 5)); /* "there" */
    assert_false(lexical_is_stopword_n("thereby", 7));
    assert_false(lexical_is_stopword_n("cells", 5));
    assert_false(lexical_is_stopword_n("abcdefghijklmnopqrstuvwxyzabcdefghij", 36));
    uint64_t x[] = {1, 2, 3, 4, 5}, y[] = {1, 2, 3, 4, 6}, z[] = {1, 2};
    hash_set a = {x, 5}, b = {y, 5}, c = {z, 2};
    assert_true(hash_set_jaccard_at_least(&a, &b, 4.0 / 6.0));
    assert_false(hash_set_jaccard_at_least(&a, &b, 0.7));
    assert_false(hash_set_jaccard_at_least(&a, &c, 0.5)); /* 2/5 by size alone */
    assert_true(hash_set_jaccard_at_least(&a, &c, 0.4));
}

static void test_mmr_order(void **state)
{
    (void)state;
    /* 0 and 1 are copies; 2 is different and a little less relevant. */
    const char *texts[] = {"red apples grow orchards", "red apples grow orchards",
                           "blue whales swim oceans"};
    hash_set s[3];
    vwords w[3];
    for (int i = 0; i < 3; i++) {
        vwords_init(&w[i], texts[i], strlen(texts[i]));
        hash_set_words(&s[i], &w[i]);
    }
    double rel[3] = {1.0, 0.95, 0.9};
    size_t order[3];
    validate_mmr_order(rel, s, 3, 1.0, order); /* relevance only */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 1);
    assert_int_equal(order[2], 2);
    validate_mmr_order(rel, s, 3, 0.7, order); /* diversity pushes the copy down */
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
    assert_int_equal(order[2], 1);
    for (int i = 0; i < 3; i++) {
        hash_set_free(&s[i]);
        vwords_free(&w[i]);
    }
}

static void test_term_coverage_weighted(void **state)
{
    (void)state;
    char *terms[] = {"ivermectin", "treat", "onchocerciasis"};
    double w[] = {8.0, 1.0, 9.0};
    const char *t = "Ivermectin is used to treat river blindness.";
    assert_true(fabs(retrieve_term_coverage(terms, 3, t, strlen(t)) - 2.0 / 3.0) < 1e-9);
    assert_true(fabs(retrieve_term_coverage_w(terms, w, 3, t, strlen(t)) - 9.0 / 18.0) < 1e-9);
    /* No terms: no evidence (issue 12 #10; it was 1.0). */
    assert_true(retrieve_term_coverage(terms, 0, t, strlen(t)) == 0.0);
}

/* --- rules through retrieve_search ------------------------------------------ */

typedef coll_fixture fixture;

static int setup(void **state)
{
    fixture *fx = coll_fixture_new("validate");
    const char *orchard =
        "Apple orchards in the valley use drip irrigation to save water during the dry summer "
        "months, and growers prune the trees every winter. Netting keeps birds away from ripening "
        "fruit, and the harvest starts in late August when the first varieties colour up on the "
        "sunny slopes.";
    write_doc(fx->dir, "orchard.txt", orchard);
    write_doc(fx->dir, "orchard-copy.txt", orchard);
    /* One word changed: 4-gram shingle Jaccard 0.81. */
    char *near = ragd_xstrdup(orchard);
    memcpy(strstr(near, "slopes"), "hills.", 7);
    write_doc(fx->dir, "orchard-near.txt", near);
    free(near);
    write_doc(fx->dir, "whales.txt",
              "Blue whales migrate thousands of kilometres between feeding grounds and "
              "breeding grounds each year, guided by ocean temperature.");
    /* Many chunks of one document, all about the same thing. */
    ragd_buf b = RAGD_BUF_INIT;
    for (int i = 0; i < 30; i++)
        ragd_buf_printf(&b,
                        "Section %d. Drip irrigation lines are checked for leaks and cleaned of "
                        "mineral deposits.\n\n",
                        i);
    write_doc(fx->dir, "manual.txt", b.data);
    ragd_buf_free(&b);
    coll_fixture_open(fx, 96);
    coll_fixture_ingest(fx);
    *state = fx;
    return 0;
}

static void search(fixture *fx, const char *q, search_opts *o, search_result *r)
{
    ragd_error e;
    o->mode = "lexical";
    assert_int_equal(retrieve_search(fx->st, &fx->coll, q, o, r, &e), RAGD_OK);
}

static int dropped_for(const search_result *r, const char *doc, const char *reason)
{
    json_t *d = json_object_get(r->validation, "dropped");
    size_t i;
    json_t *x;
    int n = 0;
    json_array_foreach(d, i, x)
    {
        if ((!doc || !strcmp(json_string_value(json_object_get(x, "doc_id")), doc)) &&
            !strcmp(json_string_value(json_object_get(x, "reason")), reason))
            n++;
    }
    return n;
}

static size_t hits_of(const search_result *r, const char *doc)
{
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++)
        n += !strcmp(r->hits[i].doc_id, doc);
    return n;
}

static void test_gate_rejects_unanswerable_question(void **state)
{
    fixture *fx = *state;
    search_opts o;
    search_opts_init(&o);
    search_result r;
    /* "winter" and "prune" match the orchard text, nothing else does: the
     * candidates have some support but no candidate shows enough evidence. */
    search(fx, "winter pruning of grapevines in a vineyard", &o, &r);
    assert_false(r.relevant);
    assert_int_equal(r.n, 0);
    assert_true(dropped_for(&r, NULL, "evidence") > 0);
    assert_non_null(strstr(json_string_value(json_object_get(r.validation, "reason")), "evidence"));
    search_result_free(&r);
    search(fx, "drip irrigation in apple orchards", &o, &r);
    assert_true(r.relevant);
    assert_true(r.n > 0);
    assert_true(r.hits[0].evidence >= RETRIEVE_MIN_EVIDENCE_LEXICAL);
    search_result_free(&r);
}

/* Coverage counts a query term found in the hit's own words or in its
 * document's summary; search.c reads the summary only when the hit's words
 * leave a term uncovered, once per document. Every hit of keep_all searches
 * must have exactly validate_term_coverage over {its words, its summary's
 * words}, and the fixture must contain hits whose coverage the summary
 * raises (the manual's summary names sections its other chunks do not). */
static void test_coverage_reads_summary_only_when_needed(void **state)
{
    fixture *fx = *state;
    sqlite3 *db = store_db(fx->st);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT json_extract(d.summary, '$.summary_text') FROM "
                                        "chunks c JOIN documents d ON d.id = c.document_id "
                                        "WHERE c.id = ?",
                                        -1, &q, NULL),
                     SQLITE_OK);
    int raised = 0, checked = 0;
    for (int n = 0; n < 30; n++) {
        char query[96];
        snprintf(query, sizeof query, "section %d drip irrigation orchards", n);
        search_opts o;
        search_opts_init(&o);
        o.k = 60;
        o.keep_all = true;
        search_result r;
        search(fx, query, &o, &r);
        char **terms = NULL;
        size_t nt = lexical_terms(query, &terms);
        double *idf = calloc(nt ? nt : 1, sizeof *idf);
        ragd_error e;
        assert_int_equal(lexical_terms_idf(fx->st, terms, nt, idf, &e), RAGD_OK);
        for (size_t i = 0; i < r.n; i++) {
            const search_hit *h = &r.hits[i];
            ragd_buf all = RAGD_BUF_INIT;
            ragd_buf_printf(&all, "%s\n%s\n%s", h->title, h->heading_path, h->text);
            vwords tw, sw;
            vwords_init(&tw, all.data, all.len);
            sqlite3_bind_int64(q, 1, h->chunk_id);
            assert_int_equal(sqlite3_step(q), SQLITE_ROW);
            const char *sum = (const char *)sqlite3_column_text(q, 0);
            bool has = sum && *sum;
            if (has) vwords_init(&sw, sum, strlen(sum));
            sqlite3_reset(q);
            const vwords *texts[2] = {&tw, has ? &sw : NULL};
            double own = validate_term_coverage(terms, idf, nt, texts, 1);
            double want = validate_term_coverage(terms, idf, nt, texts, has ? 2 : 1);
            assert_true(h->coverage == want);
            raised += want > own;
            checked++;
            vwords_free(&tw);
            if (has) vwords_free(&sw);
            ragd_buf_free(&all);
        }
        free(idf);
        lexical_terms_free(terms, nt);
        search_result_free(&r);
    }
    sqlite3_finalize(q);
    assert_true(checked > 100);
    assert_true(raised > 0);
}

/* Issue 12 #10: a query with no indexable words (punctuation, stop words,
 * emoji, a lone quote) fails validation with a reason; before, its coverage
 * counted as 1.0 and dense candidates passed. */
static void test_query_without_words_is_not_relevant(void **state)
{
    fixture *fx = *state;
    const char *queries[] = {"!!! ???", "the of and", "\xF0\x9F\x98\x80\xF0\x9F\x8E\x89", "\"",
                             "... -- ***"};
    /* Dense and hybrid need an engine with an embedder: tests/it_cli.py
     * test_query_without_words_is_not_answered covers them. */
    const char *modes[] = {"lexical"};
    for (size_t q = 0; q < sizeof queries / sizeof *queries; q++) {
        for (size_t m = 0; m < sizeof modes / sizeof *modes; m++) {
            search_opts o;
            search_opts_init(&o);
            o.mode = modes[m];
            search_result r;
            ragd_error e;
            ragd_status src = retrieve_search(fx->st, &fx->coll, queries[q], &o, &r, &e);
            if (src) fprintf(stderr, "query %s mode %s: %s\n", queries[q], modes[m], e.msg);
            assert_int_equal(src, RAGD_OK);
            if (r.relevant || r.n)
                fprintf(stderr, "query '%s' mode %s: relevant %d, %zu results\n", queries[q],
                        modes[m], (int)r.relevant, r.n);
            assert_false(r.relevant);
            assert_int_equal(r.n, 0);
            const char *why = json_string_value(json_object_get(r.validation, "reason"));
            assert_non_null(why);
            assert_non_null(strstr(why, "no searchable words"));
            search_result_free(&r);
        }
    }
    /* A real word still passes. */
    search_opts o;
    search_opts_init(&o);
    search_result r;
    ragd_error e;
    o.mode = "lexical";
    assert_int_equal(retrieve_search(fx->st, &fx->coll, "whales", &o, &r, &e), RAGD_OK);
    assert_true(r.relevant);
    search_result_free(&r);
}

static void test_duplicates_near_duplicates_and_doc_cap(void **state)
{
    fixture *fx = *state;
    search_opts o;
    search_opts_init(&o);
    o.k = 20;
    search_result r;
    search(fx, "apple orchards drip irrigation save water dry summer prune trees winter", &o, &r);
    assert_true(r.relevant);
    /* Exactly one of the three orchard texts survives. */
    size_t orchards = hits_of(&r, "orchard.txt") + hits_of(&r, "orchard-copy.txt") +
                      hits_of(&r, "orchard-near.txt");
    assert_int_equal(orchards, 1);
    assert_int_equal(dropped_for(&r, NULL, "duplicate"), 1);
    assert_int_equal(dropped_for(&r, NULL, "near_duplicate"), 1);
    search_result_free(&r);
    /* The manual has 6 matching chunks; at most 3 are kept. */
    search(fx, "drip irrigation lines leaks mineral deposits", &o, &r);
    assert_true(r.relevant);
    assert_int_equal(hits_of(&r, "manual.txt"), 3);
    assert_true(dropped_for(&r, "manual.txt", "doc_cap") > 0);
    search_result_free(&r);
}

static void test_support_floor(void **state)
{
    fixture *fx = *state;
    search_opts o;
    search_opts_init(&o);
    o.k = 20;
    o.min_evidence = 0; /* open the gate: test the per-candidate floor alone */
    o.min_support = 1.5;
    search_result r;
    search(fx, "apple orchards whales", &o, &r);
    /* Nothing covers all three words with a phrase: all fall below 1.5. */
    assert_int_equal(r.n, 0);
    assert_true(dropped_for(&r, NULL, "support") > 0);
    search_result_free(&r);
    o.min_support = 0;
    search(fx, "apple orchards whales", &o, &r);
    assert_true(r.n > 0);
    assert_int_equal(dropped_for(&r, NULL, "support"), 0);
    search_result_free(&r);
}

static void test_mmr_diversifies_results(void **state)
{
    fixture *fx = *state;
    search_opts o;
    search_opts_init(&o);
    o.k = 4;
    search_result plain, mmr;
    const char *q = "drip irrigation lines";
    o.min_evidence = 0;
    search(fx, q, &o, &plain);
    o.mmr_lambda = 0.3;
    search(fx, q, &o, &mmr);
    /* Relevance order: three manual chunks (the doc cap), then the orchard.
     * MMR brings the different text up to second place. */
    assert_int_equal(plain.n, 4);
    assert_int_equal(mmr.n, 4);
    for (int i = 0; i < 3; i++)
        assert_string_equal(plain.hits[i].doc_id, "manual.txt");
    assert_string_equal(plain.hits[3].doc_id, "orchard.txt");
    assert_string_equal(mmr.hits[0].doc_id, "manual.txt");
    assert_string_equal(mmr.hits[1].doc_id, "orchard.txt");
    search_result_free(&plain);
    search_result_free(&mmr);
}

/* validate_fold must be byte-identical to text_fold (utf8proc NFKC + case
 * fold) on everything: ASCII, combining marks after ASCII starters (which
 * compose with them), compatibility forms, special case folds, Hangul jamo,
 * invalid UTF-8 (the whole text folds to ""), NUL bytes. */
static void check_fold(const char *s, size_t n)
{
    size_t la = 0, lb = 0;
    char *a = text_fold(s, n, false, &la);
    char *b = validate_fold(s, n, &lb);
    if (la != lb || memcmp(a, b, la) != 0) {
        fprintf(stderr, "fold mismatch on %zu bytes:", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %02x", (unsigned char)s[i]);
        fprintf(stderr, "\n  utf8proc (%zu): %s\n  fast (%zu): %s\n", la, a, lb, b);
        fail();
    }
    assert_int_equal(b[lb], '\0');
    free(a);
    free(b);
}

static void test_fold_matches_utf8proc(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "ABC xyz 0123 !?#@[]{}~",
        "Caf\xC3\xA9 M\xC3\xA9ridien",         /* NFC */
        "Cafe\xCC\x81 Me\xCC\x81ridien",       /* NFD: e + U+0301 composes */
        "=\xCC\xB8 <\xCC\xB8 >\xCC\xB8",       /* ASCII + U+0338: ≠ ≮ ≯ */
        "A\xCC\x8A",                           /* A + ring above: å */
        "a\xCC\xA3\xCC\x87 q\xCC\x87\xCC\xA3", /* reordered marks */
        "\xCC\x81leading mark",                /* a mark with no starter */
        "\xC4\xB0stanbul I\xCC\x87",           /* İ folds to i + U+0307 */
        "STRASSE stra\xC3\x9F"
        "e",                                      /* ß -> ss */
        "\xEF\xAC\x81ne \xEF\xAC\x80",            /* ligatures fi, ff */
        "\xE2\x84\xAA \xE2\x84\xAB",              /* KELVIN SIGN, ANGSTROM SIGN */
        "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8",   /* Hangul jamo compose */
        "\xEF\xBC\xA1\xEF\xBC\xA2\xEF\xBC\xA3 x", /* fullwidth ABC */
        "\xC2\xBD \xC2\xB2 \xE2\x91\xA0",         /* ½ ² ① */
        "\xCE\xA3\xCE\x91\xCE\xA3 \xE1\xBE\xB3",  /* ΣΑΣ, ᾳ */
        "don\xE2\x80\x99t DON'T",
        "\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD ok", /* emoji + skin tone */
        "\xE6\x9D\xB1\xE4\xBA\xAC\xE3\x82\xBF\xE3\x83\xAF\xE3\x83\xBC Tokyo",
        "\xD8\xA7\xD9\x84\xD8\xB9\xD8\xB1\xD8\xA8\xD9\x8A\xD8\xA9",
        "\xC3", /* truncated at the end */
        "ab\xC3"
        "A",                /* lead byte, then ASCII */
        "x\x80y",           /* stray continuation */
        "\xC0\xAF",         /* overlong */
        "\xED\xA0\x80",     /* surrogate */
        "\xF4\x90\x80\x80", /* above U+10FFFF */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_fold(cases[i], strlen(cases[i]));
    check_fold("A\0B\xC3\x89\0", 6); /* NUL bytes are kept */
    /* Random texts from those pieces, so every piece meets every other at a
     * segment boundary (deterministic generator). */
    static const char *const pieces[] = {"A",
                                         "z",
                                         "Q",
                                         "e",
                                         "0",
                                         " ",
                                         "\n",
                                         ".",
                                         "'",
                                         "=",
                                         "<",
                                         "\xCC\x81",
                                         "\xCC\xA3",
                                         "\xCC\x87",
                                         "\xCC\xB8",
                                         "\xCC\x8A",
                                         "\xC3\xA9",
                                         "\xC3\x89",
                                         "\xC3\x9F",
                                         "\xC4\xB0",
                                         "\xEF\xAC\x81",
                                         "\xE2\x84\xAA",
                                         "\xE1\x84\x80",
                                         "\xE1\x85\xA1",
                                         "\xE1\x86\xA8",
                                         "\xEF\xBC\xA1",
                                         "\xC2\xBD",
                                         "\xCE\xA3",
                                         "\xE1\xBE\xB3",
                                         "\xE2\x80\x99",
                                         "\xE6\x9D\xB1",
                                         "\xF0\x9F\x91\x8D",
                                         "\xC3",
                                         "\x80"};
    size_t np = sizeof pieces / sizeof pieces[0];
    uint64_t r = 88172645463325252ULL;
    char buf[256];
    for (int it = 0; it < 20000; it++) {
        size_t n = 0, m = 1 + (size_t)(it % 23);
        for (size_t j = 0; j < m; j++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            /* Invalid pieces (the last two) are rare, so most texts are valid. */
            size_t k = (size_t)(r >> 8) % (np * 8);
            k = k < np * 8 - 2 * 7 ? k % (np - 2) : np - 2 + k % 2;
            size_t l = strlen(pieces[k]);
            memcpy(buf + n, pieces[k], l);
            n += l;
        }
        check_fold(buf, n);
    }
}

/* validate_words must give text_words' spans: random ASCII texts built from
 * the characters its rules treat specially (apostrophes between letters and
 * after digits, . and , between digits and elsewhere, CR LF, NUL), and texts
 * with non-ASCII (which take text_words itself). */
static void check_words(const char *s, size_t n)
{
    ragd_span *a = NULL, *b = NULL;
    size_t na = text_words(s, n, &a), nb = validate_words(s, n, &b);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].start, b[i].start);
        assert_int_equal(a[i].end, b[i].end);
    }
    free(a);
    free(b);
}

static void test_words_match_text_words(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "don't stop 3.14 1,000,000 a.b 3.x x3.4 rock'n'roll 'quoted'",
        "end'",
        "9'a a'9 '' ., .5 5. 5,",
        "CRLF\r\nline\rx\n",
        "caf\xC3\xA9 d\xE2\x80\x99s"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_words(cases[i], strlen(cases[i]));
    check_words("ab\0cd", 5);
    static const char alphabet[] = "aZ09'.,- \r\n\t_()";
    uint64_t r = 0x2545F4914F6CDD1DULL;
    char buf[64];
    for (int it = 0; it < 20000; it++) {
        size_t n = (size_t)(it % 40);
        for (size_t j = 0; j < n; j++) {
            r ^= r << 13, r ^= r >> 7, r ^= r << 17;
            buf[j] = alphabet[(r >> 11) % (sizeof alphabet - 1)];
        }
        check_words(buf, n);
    }
}

/* lexical_is_stopword_n (no copy, bisection in place) against
 * lexical_is_stopword on a copy, for every stop word, its prefixes and
 * extensions, and the typographic apostrophe. */
static void test_stopword_n_matches_stopword(void **state)
{
    (void)state;
    static const char *const words[] = {"a",
                                        "about",
                                        "aren't",
                                        "doesn't",
                                        "themselves",
                                        "yourselves",
                                        "yourselvesx",
                                        "the",
                                        "then",
                                        "thenx",
                                        "theirs",
                                        "t",
                                        "s",
                                        "i",
                                        "zebra",
                                        "",
                                        "own",
                                        "ox",
                                        "within",
                                        "withi",
                                        "wit",
                                        "don\xE2\x80\x99t",
                                        "aren\xE2\x80\x99",
                                        "z",
                                        "b",
                                        "0the",
                                        "The",
                                        "mutation"};
    char buf[32];
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        for (size_t k = 0; k <= n; k++) { /* every prefix */
            memcpy(buf, words[i], k);
            buf[k] = '\0';
            char plain[32];
            size_t m = 0;
            for (size_t j = 0; j < k; j++) {
                if (j + 2 < k && !memcmp(buf + j, "\xE2\x80\x99", 3)) {
                    plain[m++] = '\'';
                    j += 2;
                } else {
                    plain[m++] = buf[j];
                }
            }
            plain[m] = '\0';
            assert_int_equal(lexical_is_stopword_n(buf, k) != 0, lexical_is_stopword(plain) != 0);
        }
    }
    size_t nsw = 0;
    const char *const *sw = lexical_stopwords(&nsw);
    assert_true(nsw > 100);
    for (size_t i = 0; i < nsw; i++) {
        if (i) assert_true(strcmp(sw[i - 1], sw[i]) < 0);
        assert_true(lexical_is_stopword_n(sw[i], strlen(sw[i])));
        assert_true(lexical_is_stopword(sw[i]));
        char x[40];
        const char *ap = strchr(sw[i], '\'');
        if (ap) { /* the same word with the typographic apostrophe */
            snprintf(x, sizeof x, "%.*s\xE2\x80\x99%s", (int)(ap - sw[i]), sw[i], ap + 1);
            assert_true(lexical_is_stopword_n(x, strlen(x)));
        }
        snprintf(x, sizeof x, "%sq", sw[i]); /* one letter more: not a stop word */
        assert_int_equal(lexical_is_stopword_n(x, strlen(x)) != 0, lexical_is_stopword(x) != 0);
    }
    assert_true(lexical_is_stopword_n("themselves", 10));
    assert_true(lexical_is_stopword_n("don\xE2\x80\x99t", 7));
    assert_false(lexical_is_stopword_n("thenx", 5));
}

static uint64_t xs(uint64_t *r)
{
    *r ^= *r << 13, *r ^= *r >> 7, *r ^= *r << 17;
    return *r;
}

static int cmp_u64_test(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* validate_sort_u64 (hash sets' sort) gives qsort's order for random
 * arrays, few distinct values, sorted, reversed and organ-pipe inputs, at
 * sizes around its insertion-sort cutoff and far past it. */
static void test_sort_u64_matches_qsort(void **state)
{
    (void)state;
    uint64_t r = 0xD1B54A32D192ED03ULL;
    const size_t sizes[] = {0, 1, 2, 15, 16, 17, 33, 200, 1000, 5000};
    for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        size_t n = sizes[si];
        uint64_t *a = calloc(n + 1, sizeof *a), *b = calloc(n + 1, sizeof *b);
        for (int kind = 0; kind < 6; kind++) {
            for (size_t i = 0; i < n; i++) {
                uint64_t v = xs(&r);
                a[i] = kind == 0   ? v
                       : kind == 1 ? v % 3 /* many equal keys */
                       : kind == 2 ? i
                       : kind == 3 ? n - i
                       : kind == 4 ? (i < n / 2 ? i : n - i)
                                   : UINT64_MAX - v % 2;
            }
            memcpy(b, a, n * sizeof *a);
            validate_sort_u64(a, n);
            if (n) qsort(b, n, sizeof *b, cmp_u64_test);
            if (n) assert_memory_equal(a, b, n * sizeof *a);
        }
        free(a);
        free(b);
    }
}

/* neardup_any answers as the pairwise hash_set_jaccard_at_least loop it
 * replaces, for sets sharing a lot (around the threshold), little or nothing,
 * empty sets, singletons, and thresholds including 0 and 1. */
static void test_neardup_index_matches_pairwise(void **state)
{
    (void)state;
    const double ts[] = {0.8, 0.5, 0.95, 1.0, 0.0, 0.3};
    uint64_t r = 0x9E3779B97F4A7C15ULL;
    int total_hits = 0;
    for (size_t ti = 0; ti < sizeof ts / sizeof ts[0]; ti++) {
        for (int round = 0; round < 40; round++) {
            enum { NS = 60 };
            hash_set sets[NS];
            size_t base = 1 + xs(&r) % 120; /* a common pool of hashes */
            for (size_t i = 0; i < NS; i++) {
                size_t n = xs(&r) % 7 == 0 ? xs(&r) % 3 : 1 + xs(&r) % (base + 10);
                sets[i].h = calloc(n ? n : 1, sizeof *sets[i].h);
                sets[i].n = n;
                for (size_t j = 0; j < n; j++) /* mostly from the pool, some private */
                    sets[i].h[j] = xs(&r) % 10 ? xs(&r) % base * 0x100000001ULL : xs(&r);
                /* sort, dedupe (the hash_set invariant) */
                for (size_t a = 1; a < n; a++)
                    for (size_t b = a; b > 0 && sets[i].h[b - 1] > sets[i].h[b]; b--) {
                        uint64_t x = sets[i].h[b];
                        sets[i].h[b] = sets[i].h[b - 1];
                        sets[i].h[b - 1] = x;
                    }
                size_t m = n ? 1 : 0;
                for (size_t a = 1; a < n; a++)
                    if (sets[i].h[a] != sets[i].h[m - 1]) sets[i].h[m++] = sets[i].h[a];
                sets[i].n = m;
                if (i && xs(&r) % 4 == 0) { /* a near copy of an earlier set */
                    const hash_set *src = &sets[xs(&r) % i];
                    free(sets[i].h);
                    sets[i].h = calloc(src->n + 1, sizeof *sets[i].h);
                    size_t k = 0, drop = src->n ? xs(&r) % (src->n / 4 + 1) : 0;
                    for (size_t a = 0; a < src->n; a++)
                        if (a >= drop) sets[i].h[k++] = src->h[a];
                    sets[i].n = k;
                }
            }
            neardup_index x;
            neardup_init(&x, ts[ti]);
            int hits = 0;
            for (size_t i = 0; i < NS; i++) {
                bool want = false;
                for (size_t j = 0; j < i && !want; j++)
                    if (j % 3 != 2) want = hash_set_jaccard_at_least(&sets[j], &sets[i], ts[ti]);
                bool got = neardup_any(&x, &sets[i], sets);
                if (want != got)
                    fprintf(stderr, "t %.2f round %d set %zu: pairwise %d, index %d\n", ts[ti],
                            round, i, want, got);
                assert_int_equal(want, got);
                hits += want;
                if (i % 3 != 2) neardup_add(&x, &sets[i], (uint32_t)i); /* not every set */
            }
            neardup_free(&x);
            for (size_t i = 0; i < NS; i++)
                free(sets[i].h);
            total_hits += hits;
        }
    }
}

/* The lexical query with both restrictions spelled out, as lexical_search
 * ran it before leaving them out where they cannot matter. */
static size_t full_fts_query(ragd_store *st, int64_t coll, const char *query, size_t k,
                             int64_t *ids, double *scores)
{
    char *expr = lexical_match_expr(query);
    assert_non_null(expr);
    ragd_buf m = RAGD_BUF_INIT;
    ragd_buf_printf(&m, "coll : c%lld AND {title heading body} : (%s)", (long long)coll, expr);
    free(expr);
    char sql[256];
    snprintf(sql, sizeof sql,
             "SELECT rowid, bm25(chunks_fts, %g, %g, %g, 0.0) AS s FROM chunks_fts "
             "WHERE chunks_fts MATCH ?1 ORDER BY s LIMIT ?2",
             LEXICAL_W_TITLE, LEXICAL_W_HEADING, LEXICAL_W_BODY);
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(store_db(st), sql, -1, &q, NULL), SQLITE_OK);
    sqlite3_bind_text(q, 1, m.data, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(q, 2, (sqlite3_int64)k);
    size_t n = 0;
    while (sqlite3_step(q) == SQLITE_ROW && n < k) {
        ids[n] = sqlite3_column_int64(q, 0);
        scores[n++] = -sqlite3_column_double(q, 1);
    }
    sqlite3_finalize(q);
    ragd_buf_free(&m);
    return n;
}

static void check_lexical_same(ragd_store *st, int64_t coll, const char *query)
{
    int64_t ids[64];
    double sc[64];
    size_t n = full_fts_query(st, coll, query, 64, ids, sc);
    lexical_hit *h = NULL;
    size_t nh = 0;
    ragd_error e;
    assert_int_equal(lexical_search(st, coll, query, 64, &h, &nh, &e), RAGD_OK);
    if (nh != n) fprintf(stderr, "%s: %zu hits, full query %zu\n", query, nh, n);
    assert_int_equal(nh, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(h[i].chunk_id, ids[i]);
        assert_memory_equal(&h[i].score, &sc[i], sizeof sc[i]); /* the same bits */
    }
    free(h);
}

/* lexical_search leaves out "coll : c<id> AND" when the collection holds
 * every document, and the {title heading body} filter when no term has a
 * digit (only "c<digits>" is in that column): the results must be those of
 * the fully restricted query, ids, order and score bits, with one
 * collection, with two, and for terms that do match the coll column. */
static void test_lexical_shortcuts_change_nothing(void **state)
{
    fixture *fx = *state;
    const char *queries[] = {"drip irrigation orchard", "whales migrate", "section leaks",
                             "apple harvest August netting birds", "zzzq nothing matches"};
    char own[32], both[64];
    snprintf(own, sizeof own, "c%lld irrigation", (long long)fx->coll.id);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++)
        check_lexical_same(fx->st, fx->coll.id, queries[i]);
    check_lexical_same(fx->st, fx->coll.id, own);             /* a term equal to the coll token */
    check_lexical_same(fx->st, fx->coll.id, "C1s 2024 drip"); /* porter + digits */
    /* A second collection: now the coll restriction is needed. */
    ragd_error e;
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection other;
    assert_int_equal(store_collection_open(fx->st, "other", &s, &other, &e), RAGD_OK);
    char dir[600], p[700];
    snprintf(dir, sizeof dir, "%s/other", fx->dir);
    mkdir(dir, 0755);
    snprintf(p, sizeof p, "%s/o.txt", dir);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs("Drip irrigation for orchard whales: leaks in every section, apple netting.", f);
    fclose(f);
    ingest_opts o = {0};
    char *paths[] = {dir};
    json_t *report = NULL;
    assert_int_equal(ingest_paths(fx->st, &other, paths, 1, &o, &report, &e), RAGD_OK);
    json_decref(report);
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        check_lexical_same(fx->st, fx->coll.id, queries[i]);
        check_lexical_same(fx->st, other.id, queries[i]);
    }
    snprintf(both, sizeof both, "c%lld c%lld drip", (long long)fx->coll.id, (long long)other.id);
    check_lexical_same(fx->st, fx->coll.id, both);
    check_lexical_same(fx->st, other.id, both);
    lexical_hit *h = NULL;
    size_t nh = 0;
    assert_int_equal(lexical_search(fx->st, other.id, "drip irrigation", 64, &h, &nh, &e), RAGD_OK);
    assert_int_equal(nh, 1); /* only the other collection's chunk */
    free(h);
    /* No transaction is left open. */
    assert_true(sqlite3_get_autocommit(store_db(fx->st)));
}

static int64_t docsize_rows(ragd_store *st)
{
    sqlite3_stmt *q;
    assert_int_equal(
        sqlite3_prepare_v2(store_db(st), "SELECT count(*) FROM chunks_fts_docsize", -1, &q, NULL),
        SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return n;
}

/* The idf's N comes from FTS5's averages record instead of a count(*) over
 * chunks_fts_docsize (a scan of every row per query): the two agree after
 * ingest, after a delete, after re-ingest, and with an empty index. */
static void test_indexed_rows_match_docsize_count(void **state)
{
    fixture *fx = *state;
    ragd_error e;
    int64_t n = -1;
    assert_int_equal(lexical_indexed_rows(fx->st, &n, &e), RAGD_OK);
    int64_t n0 = n;
    assert_true(n0 > 5);
    assert_int_equal(n, docsize_rows(fx->st));
    assert_int_equal(store_doc_delete(fx->st, fx->coll.id, "manual.txt", &e), RAGD_OK);
    assert_int_equal(lexical_indexed_rows(fx->st, &n, &e), RAGD_OK);
    assert_int_equal(n, docsize_rows(fx->st));
    assert_true(n > 0 && n < n0);
    char p[600];
    snprintf(p, sizeof p, "%s/docs", fx->dir);
    ingest_opts o = {0};
    char *paths[] = {p};
    json_t *report = NULL;
    assert_int_equal(ingest_paths(fx->st, &fx->coll, paths, 1, &o, &report, &e), RAGD_OK);
    json_decref(report);
    assert_int_equal(lexical_indexed_rows(fx->st, &n, &e), RAGD_OK);
    assert_int_equal(n, docsize_rows(fx->st));
    assert_int_equal(n, n0);
    /* An empty store: no averages record yet, the count answers. */
    char empty[600];
    snprintf(empty, sizeof empty, "%s/empty-store", fx->dir);
    ragd_store *st = NULL;
    assert_int_equal(store_open(empty, &st, &e), RAGD_OK);
    assert_int_equal(lexical_indexed_rows(st, &n, &e), RAGD_OK);
    assert_int_equal(n, 0);
    store_close(st);
}

/* The first-byte index (validate_query_index) gives exactly the plain
 * validate_terms_found and validate_phrase_coverage: random texts over a
 * vocabulary of shared prefixes, plurals, one-letter words, CJK and
 * accents; random starting `found` states; and hand-made word lists with
 * empty words and empty terms (the branches first_differs lets through). */
static uint64_t ix_rng = 88172645463325252ULL;
static uint32_t ix_rand(void)
{
    ix_rng ^= ix_rng << 13;
    ix_rng ^= ix_rng >> 7;
    ix_rng ^= ix_rng << 17;
    return (uint32_t)ix_rng;
}

static void check_ix(char **terms, size_t nt, const vwords *q, const vwords *t)
{
    validate_query_index x;
    validate_query_index_init(&x, terms, nt, q);
    unsigned char a[16], b[16];
    for (int start = 0; start < 4; start++) {
        for (size_t i = 0; i < nt; i++)
            a[i] = b[i] = start == 0 ? 0 : (unsigned char)(ix_rand() % 3 == 0);
        size_t na = validate_terms_found(terms, nt, t, a);
        size_t nb = validate_terms_found_ix(&x, terms, nt, t, b);
        assert_int_equal(na, nb);
        if (nt) assert_memory_equal(a, b, nt);
    }
    double pa = validate_phrase_coverage(q, t), pb = validate_phrase_coverage_ix(&x, q, t);
    assert_memory_equal(&pa, &pb, sizeof pa);
    validate_query_index_free(&x);
}

static void test_query_index_matches_plain(void **state)
{
    (void)state;
    const char *vocab[] = {"cell",    "cells",  "cellular", "celling", "mutation", "mutations",
                           "mutated", "s",      "a",        "as",      "ab",       "abcd",
                           "abcde",   "abcdxy", "zebra",    "zebras",  "日本",     "日本語",
                           "本",      "café",   "cafés",    "éclair",  "3.5",      "35",
                           "the",     "of",     "x",        "xs",      "bypass",   "thrombosis"};
    size_t nv = sizeof vocab / sizeof *vocab;
    int matched = 0;
    for (int r = 0; r < 4000; r++) {
        ragd_buf qt = RAGD_BUF_INIT, tt = RAGD_BUF_INIT;
        size_t nq = ix_rand() % 7, ntw = ix_rand() % 40;
        for (size_t i = 0; i < nq; i++)
            ragd_buf_printf(&qt, "%s ", vocab[ix_rand() % nv]);
        for (size_t i = 0; i < ntw; i++)
            ragd_buf_printf(&tt, "%s ", vocab[ix_rand() % nv]);
        char **terms = NULL;
        size_t nall = lexical_terms(qt.data ? qt.data : "", &terms);
        size_t nt = nall > 16 ? 16 : nall;
        vwords q, t;
        vwords_init(&q, qt.data ? qt.data : "", qt.len);
        vwords_init(&t, tt.data ? tt.data : "", tt.len);
        check_ix(terms, nt, &q, &t);
        matched += validate_phrase_coverage(&q, &t) > 0;
        vwords_free(&q);
        vwords_free(&t);
        lexical_terms_free(terms, nall);
        ragd_buf_free(&qt);
        ragd_buf_free(&tt);
    }
    assert_true(matched > 100);
    /* Empty words and terms. */
    char folded[] = "sxcellsab";
    ragd_span sp[] = {{0, 1}, {1, 1}, {2, 7}, {7, 7}, {7, 9}, {9, 9}};
    vwords t = {folded, sp, 6};
    ragd_span qsp[] = {{1, 1}, {0, 1}, {9, 9}, {2, 6}, {7, 8}};
    vwords q = {folded, qsp, 5};
    char *terms[] = {"s", "", "cell", "x", "日", "ab", "sx"};
    for (size_t n = 0; n <= 7; n++)
        check_ix(terms, n, &q, &t);
    vwords q1 = {folded, qsp, 1}, q0 = {folded, qsp, 0};
    check_ix(terms, 7, &q1, &t);
    check_ix(terms, 7, &q0, &t);
    vwords t0 = {folded, sp, 0};
    check_ix(terms, 7, &q, &t0);
    /* "s" found only through the empty word, and the pair ("s", "x")
     * only at the empty word before "x" (("", "x") through the empty
     * query word; ("x", "s") nowhere). */
    ragd_span sp2[] = {{2, 7}, {1, 1}, {1, 2}};
    vwords t2 = {folded, sp2, 3};
    ragd_span qsp2[] = {{9, 9}, {1, 2}, {0, 1}, {1, 2}};
    vwords q2 = {folded, qsp2, 4};
    unsigned char f[1] = {0};
    char *only_s[] = {"s"};
    assert_int_equal(validate_terms_found(only_s, 1, &t2, f), 1);
    check_ix(only_s, 1, &q2, &t2);
    check_ix(terms, 7, &q2, &t2);
    assert_true(fabs(validate_phrase_coverage(&q2, &t2) - 2.0 / 3.0) < 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stem_match),
        cmocka_unit_test(test_phrase_coverage),
        cmocka_unit_test(test_shingles_and_jaccard),
        cmocka_unit_test(test_stopwords_and_size_bound),
        cmocka_unit_test(test_mmr_order),
        cmocka_unit_test(test_term_coverage_weighted),
        cmocka_unit_test(test_fold_matches_utf8proc),
        cmocka_unit_test(test_words_match_text_words),
        cmocka_unit_test(test_stopword_n_matches_stopword),
        cmocka_unit_test(test_neardup_index_matches_pairwise),
        cmocka_unit_test(test_sort_u64_matches_qsort),
        cmocka_unit_test(test_query_index_matches_plain),
        cmocka_unit_test_setup_teardown(test_gate_rejects_unanswerable_question, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_query_without_words_is_not_relevant, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_duplicates_near_duplicates_and_doc_cap, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_support_floor, setup, coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_coverage_reads_summary_only_when_needed, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_mmr_diversifies_results, setup, coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_indexed_rows_match_docsize_count, setup,
                                        coll_fixture_teardown),
        cmocka_unit_test_setup_teardown(test_lexical_shortcuts_change_nothing, setup,
                                        coll_fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
