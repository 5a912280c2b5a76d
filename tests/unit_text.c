/* tests/unit_text.c — unit tests for core/text.h: UTF-8 validation,
 * normalization, folding, word/sentence segmentation, token counting,
 * grapheme boundaries and CJK spacing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

/* --- helpers ---------------------------------------------------------------- */

/* 👩‍👩‍👧, 🇫🇷, 🇩🇪 */
#define FAMILY "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7" /* 18 */
#define FLAG_FR "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7"                                        /* 8 */
#define FLAG_DE "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA"                                        /* 8 */

static bool is_ws_byte(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static bool on_cp_boundary(const char *s, size_t n, size_t p)
{
    return p == 0 || p >= n || ((unsigned char)s[p] & 0xC0) != 0x80;
}

static void dump_spans(const char *what, const char *s, const ragd_span *sp, size_t n)
{
    fprintf(stderr, "%s: %zu spans\n", what, n);
    for (size_t i = 0; i < n; i++)
        fprintf(stderr, "  [%zu] %zu..%zu \"%.*s\"\n", i, sp[i].start, sp[i].end,
                (int)(sp[i].end - sp[i].start), s + sp[i].start);
}

/* Assert spans of s are exactly `expected` (nexp NUL-terminated strings). */
static void expect_spans(const char *what, const char *s, const ragd_span *sp, size_t n,
                         const char *const *expected, size_t nexp)
{
    size_t len = strlen(s);
    bool ok = n == nexp;
    for (size_t i = 0; ok && i < n; i++) {
        size_t el = strlen(expected[i]);
        ok = sp[i].end >= sp[i].start && sp[i].end - sp[i].start == el &&
             memcmp(s + sp[i].start, expected[i], el) == 0;
    }
    if (!ok) {
        dump_spans(what, s, sp, n);
        fprintf(stderr, "  expected %zu:\n", nexp);
        for (size_t i = 0; i < nexp; i++)
            fprintf(stderr, "  [%zu] \"%s\"\n", i, expected[i]);
    }
    assert_int_equal(n, nexp);
    for (size_t i = 0; i < n; i++) {
        assert_true(sp[i].start < sp[i].end);
        assert_true(sp[i].end <= len);
        assert_true(on_cp_boundary(s, len, sp[i].start));
        assert_true(on_cp_boundary(s, len, sp[i].end));
        assert_int_equal(sp[i].end - sp[i].start, strlen(expected[i]));
        assert_memory_equal(s + sp[i].start, expected[i], strlen(expected[i]));
    }
}

static void expect_words(const char *s, const char *const *expected, size_t nexp)
{
    ragd_span *sp = NULL;
    size_t n = text_words(s, strlen(s), &sp);
    if (n == 0) assert_null(sp);
    expect_spans(s, s, sp, n, expected, nexp);
    for (size_t i = 1; i < n; i++)
        assert_true(sp[i].start >= sp[i - 1].end);
    free(sp);
}

/* Sentences: exact texts, and every span trimmed, in bounds and ordered. */
static void expect_sentences(const char *s, const char *const *expected, size_t nexp)
{
    ragd_span *sp = NULL;
    size_t len = strlen(s);
    size_t n = text_sentences(s, len, &sp);
    expect_spans(s, s, sp, n, expected, nexp);
    for (size_t i = 0; i < n; i++) {
        assert_false(is_ws_byte(s[sp[i].start]));
        assert_false(is_ws_byte(s[sp[i].end - 1]));
        if (i) assert_true(sp[i].start >= sp[i - 1].end);
        assert_int_equal(text_grapheme_floor(s, len, sp[i].start), sp[i].start);
        assert_int_equal(text_grapheme_floor(s, len, sp[i].end), sp[i].end);
    }
    free(sp);
}

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))
#define WORDS(s, ...)                                                                              \
    do {                                                                                           \
        static const char *const exp_[] = {__VA_ARGS__};                                           \
        expect_words(s, exp_, N_OF(exp_));                                                         \
    } while (0)
#define SENTENCES(s, ...)                                                                          \
    do {                                                                                           \
        static const char *const exp_[] = {__VA_ARGS__};                                           \
        expect_sentences(s, exp_, N_OF(exp_));                                                     \
    } while (0)

/* --- text_utf8_check / text_decode ---------------------------------------------- */

static void expect_valid(const char *s, size_t n)
{
    size_t bad = 12345;
    const char *why = "untouched";
    assert_true(text_utf8_check(s, n, &bad, &why));
}

static void expect_invalid(const char *s, size_t n, size_t want_off, const char *want_why)
{
    size_t bad = 12345;
    const char *why = NULL;
    assert_false(text_utf8_check(s, n, &bad, &why));
    assert_int_equal(bad, want_off);
    assert_non_null(why);
    assert_non_null(strstr(why, want_why));
    /* NULL out-parameters are allowed. */
    assert_false(text_utf8_check(s, n, NULL, NULL));
}

static void test_utf8_valid(void **state)
{
    (void)state;
    expect_valid("", 0);
    expect_valid("plain ASCII, with punctuation!\n\t~", 33);
    const char *mb = "caf\xC3\xA9 \xE2\x82\xAC \xE4\xB8\xAD\xE6\x96\x87"; /* café € 中文 */
    expect_valid(mb, strlen(mb));
    const char *emoji =
        "\xF0\x9F\x98\x80 \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7"; /* 😀 👩‍👧 */
    expect_valid(emoji, strlen(emoji));
    /* Boundary code points: U+007F, U+0080, U+07FF, U+0800, U+FFFF, U+10000, U+10FFFF,
     * and the last code points before and after the surrogate range. */
    const char *edges = "\x7F\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80"
                        "\xF4\x8F\xBF\xBF\xED\x9F\xBF\xEE\x80\x80";
    expect_valid(edges, strlen(edges));
}

static void test_utf8_invalid(void **state)
{
    (void)state;
    expect_invalid("ab\xFF"
                   "cd",
                   5, 2, "invalid UTF-8");
    expect_invalid("\xFE", 1, 0, "invalid UTF-8");
    expect_invalid("abc\xE2\x82", 5, 3, "invalid UTF-8");  /* truncated at end */
    expect_invalid("\xF0\x9F\x98", 3, 0, "invalid UTF-8"); /* truncated 4-byte */
    expect_invalid("ok \xC3", 4, 3, "invalid UTF-8");      /* lone lead byte at end */
    expect_invalid("x\xC3y", 3, 1, "invalid UTF-8");       /* missing continuation */
    expect_invalid("a\x80"
                   "b",
                   3, 1, "invalid UTF-8");                     /* stray continuation */
    expect_invalid("x\xC0\xAF", 3, 1, "invalid UTF-8");        /* overlong '/' */
    expect_invalid("\xC1\xBF", 2, 0, "invalid UTF-8");         /* overlong 2-byte */
    expect_invalid("\xE0\x80\xAF", 3, 0, "invalid UTF-8");     /* overlong 3-byte */
    expect_invalid("\xF0\x8F\xBF\xBF", 4, 0, "invalid UTF-8"); /* overlong 4-byte */
    expect_invalid("ab\xED\xA0\x80", 5, 2, "invalid UTF-8");   /* surrogate U+D800 */
    expect_invalid("\xED\xBF\xBF", 3, 0, "invalid UTF-8");     /* surrogate U+DFFF */
    expect_invalid("\xF4\x90\x80\x80", 4, 0, "invalid UTF-8"); /* U+110000 */
    expect_invalid("\xF5\x80\x80\x80", 4, 0, "invalid UTF-8");
    expect_invalid("\xF8\x88\x80\x80\x80", 5, 0, "invalid UTF-8"); /* 5-byte form */
    expect_invalid("ab\0c", 4, 2, "NUL byte");
    expect_invalid("\0", 1, 0, "NUL byte");
    /* The first offence is the one reported. */
    expect_invalid("\xC3\xA9\xFF\0", 4, 2, "invalid UTF-8");
    expect_invalid("\xC3\xA9\0\xFF", 4, 2, "NUL byte");
    /* Length is respected: a valid prefix is fine. */
    expect_valid("ab\xFF", 2);
}

static void test_decode(void **state)
{
    (void)state;
    int32_t cp = -1;
    assert_int_equal(text_decode("A", 1, 0, &cp), 1);
    assert_int_equal(cp, 'A');
    assert_int_equal(text_decode("\xC3\xA9", 2, 0, &cp), 2);
    assert_int_equal(cp, 0xE9);
    assert_int_equal(text_decode("x\xE2\x82\xAC", 4, 1, &cp), 3);
    assert_int_equal(cp, 0x20AC);
    assert_int_equal(text_decode("\xF0\x9F\x98\x80", 4, 0, &cp), 4);
    assert_int_equal(cp, 0x1F600);
    assert_int_equal(text_decode("\xF4\x8F\xBF\xBF", 4, 0, &cp), 4);
    assert_int_equal(cp, 0x10FFFF);
    assert_int_equal(text_decode("\xE2\x82\xAC", 2, 0, &cp), 0); /* n cuts it */
    assert_int_equal(text_decode("\xED\xA0\x80", 3, 0, &cp), 0);
    assert_int_equal(text_decode("\xC0\x80", 2, 0, &cp), 0);
}

/* --- text_normalize ------------------------------------------------------------- */

static char *norm(const char *s, size_t n, size_t *len)
{
    char *out = NULL;
    size_t ol = 0;
    ragd_error err = {0};
    assert_int_equal(text_normalize(s, n, &out, &ol, &err), RAGD_OK);
    assert_non_null(out);
    assert_int_equal(strlen(out), ol); /* NUL-terminated, no embedded NUL */
    if (len) *len = ol;
    return out;
}

static void expect_norm(const char *in, const char *want)
{
    size_t l1 = 0, l2 = 0;
    char *a = norm(in, strlen(in), &l1);
    assert_string_equal(a, want);
    /* Idempotent. */
    char *b = norm(a, l1, &l2);
    assert_int_equal(l1, l2);
    assert_string_equal(a, b);
    free(a);
    free(b);
}

static void test_normalize(void **state)
{
    (void)state;
    expect_norm("", "");
    expect_norm("plain\ntext\n", "plain\ntext\n");
    expect_norm("a\r\nb\r\nc", "a\nb\nc");
    expect_norm("a\rb\rc\r", "a\nb\nc\n");
    expect_norm("mixed\r\n\r\nlines\r\r\n\n", "mixed\n\nlines\n\n\n");
    expect_norm("\xEF\xBB\xBF"
                "bom",
                "bom");
    expect_norm("\xEF\xBB\xBF\r\nx", "\nx");
    /* Leading BOMs are all dropped (idempotent), only leading ones. */
    expect_norm("\xEF\xBB\xBF\xEF\xBB\xBF"
                "a&",
                "a&");
    expect_norm("x\xEF\xBB\xBFy", "x\xEF\xBB\xBFy");
    /* NFD -> NFC. */
    expect_norm("e\xCC\x81", "\xC3\xA9");
    expect_norm("cafe\xCC\x81 A\xCC\x8A", "caf\xC3\xA9 \xC3\x85");
    /* Already NFC, non-Latin, emoji untouched. */
    expect_norm("\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80",
                "\xE4\xB8\xAD\xE6\x96\x87 \xF0\x9F\x98\x80");
    /* NFC is not NFKC: the fi ligature stays. */
    expect_norm("\xEF\xAC\x81", "\xEF\xAC\x81");
}

/* --- text_fold ------------------------------------------------------------------ */

static void expect_fold(const char *in, bool strip, const char *want)
{
    size_t ol = 999;
    char *f = text_fold(in, strlen(in), strip, &ol);
    assert_non_null(f);
    assert_string_equal(f, want);
    assert_int_equal(ol, strlen(want));
    free(f);
    /* out_len may be NULL. */
    f = text_fold(in, strlen(in), strip, NULL);
    assert_string_equal(f, want);
    free(f);
}

static void test_fold(void **state)
{
    (void)state;
    expect_fold("\xC3\x89"
                "COLE",
                false,
                "\xC3\xA9"
                "cole"); /* ÉCOLE -> école */
    expect_fold("\xC3\x89"
                "COLE",
                true, "ecole");
    expect_fold("E\xCC\x81"
                "cole",
                false,
                "\xC3\xA9"
                "cole"); /* decomposed input composes */
    expect_fold("E\xCC\x81"
                "cole",
                true, "ecole");
    expect_fold("\xEF\xAC\x81"
                "nance",
                false, "finance");                        /* ﬁ ligature (NFKC) */
    expect_fold("\xEF\xBC\xA8\xEF\xBD\x85", false, "he"); /* fullwidth Ｈｅ */
    expect_fold("Stra\xC3\x9F"
                "e",
                false, "strasse"); /* ß case-folds to ss */
    expect_fold("Hello World 123", false, "hello world 123");
    expect_fold("", false, "");
    expect_fold("\xCE\xA3\xCE\x99\xCE\xA3", false, "\xCF\x83\xCE\xB9\xCF\x83"); /* ΣΙΣ */
    /* Invalid input yields "". */
    size_t ol = 7;
    char *f = text_fold("a\xFF"
                        "b",
                        3, false, &ol);
    assert_string_equal(f, "");
    assert_int_equal(ol, 0);
    free(f);
}

/* text_fold_buf and text_words_reuse give text_fold's and text_words'
 * results in one reused buffer: a long text, then shorter ones (nothing of
 * the longer one may show), an invalid one (empty, false), and an empty
 * one. */
static void test_fold_and_words_reuse(void **state)
{
    (void)state;
    static const char *const texts[] = {
        "\xC3\x89"
        "COLE Stra\xC3\x9F"
        "e \xEF\xAC\x81"
        "nance: don't STOP at 3.14, "
        "\xE6\xA3\x80\xE7\xB4\xA2 and more words after them",
        "Short one",
        "a\xFF"
        "b",
        "",
        "E\xCC\x81"
        "cole",
    };
    ragd_buf b = RAGD_BUF_INIT;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    for (size_t t = 0; t < sizeof texts / sizeof *texts; t++) {
        size_t n = strlen(texts[t]), want_len = 99;
        char *want = text_fold(texts[t], n, true, &want_len);
        bool ok = text_fold_buf(texts[t], n, true, &b);
        assert_int_equal(ok, t != 2); /* the invalid one */
        assert_int_equal(b.len, want_len);
        assert_string_equal(b.data, want);
        ragd_span *ww = NULL;
        size_t wn = text_words(want, want_len, &ww);
        size_t rn = text_words_reuse(b.data, b.len, &wb, &wcap);
        assert_int_equal(rn, wn);
        assert_true(wcap >= rn);
        for (size_t i = 0; i < wn; i++) {
            assert_int_equal(wb[i].start, ww[i].start);
            assert_int_equal(wb[i].end, ww[i].end);
        }
        free(ww);
        free(want);
    }
    ragd_buf_free(&b);
    free(wb);
}

/* --- text_words ----------------------------------------------------------------- */

static void test_words(void **state)
{
    (void)state;
    WORDS("don't stop", "don't", "stop");
    WORDS("it\xE2\x80\x99s fine", "it\xE2\x80\x99s", "fine"); /* typographic apostrophe */
    WORDS("3.14 and 1,000", "3.14", "and", "1,000");
    WORDS("C++ rocks", "C", "rocks");
    WORDS("\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6", /* 北京大学 */
          "\xE5\x8C\x97", "\xE4\xBA\xAC", "\xE5\xA4\xA7", "\xE5\xAD\xA6");
    WORDS("hello\xE4\xB8\x96\xE7\x95\x8C", "hello", "\xE4\xB8\x96", "\xE7\x95\x8C"); /* hello世界 */
    WORDS("\xE4\xB8\x96hello", "\xE4\xB8\x96", "hello");
    WORDS("na\xC3\xAFve caf\xC3\xA9 \xC3\x85ngstr\xC3\xB6m", "na\xC3\xAFve", "caf\xC3\xA9",
          "\xC3\x85ngstr\xC3\xB6m");
    WORDS("cafe\xCC\x81 ok", "cafe\xCC\x81", "ok"); /* decomposed accent kept in the word */
    WORDS("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82, \xD0\xBC\xD0\xB8\xD1\x80",
          "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", "\xD0\xBC\xD0\xB8\xD1\x80");
    /* Emoji are not words. */
    WORDS("I \xE2\x9D\xA4\xEF\xB8\x8F pizza \xF0\x9F\x8D\x95!", "I", "pizza");
    expect_words(FAMILY " " FLAG_FR " \xE2\x9C\x85\xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD "
                        "\xE2\x9D\xA4\xEF\xB8\x8F\xE2\x80\x8D\xF0\x9F\x94\xA5",
                 NULL, 0); /* ✅ 👍🏽 ❤️‍🔥 */
    /* Joiners only between the right neighbours. */
    WORDS("dogs' bones", "dogs", "bones");
    WORDS("'quoted'", "quoted");
    WORDS("end 3. Next 4,", "end", "3", "Next", "4");
    WORDS("v2.0.1", "v2.0.1");
    WORDS("a.b", "a", "b");
    WORDS("x1,y", "x1", "y");
}

static void test_words_empty(void **state)
{
    (void)state;
    ragd_span *sp = (ragd_span *)&sp; /* must be overwritten */
    assert_int_equal(text_words("", 0, &sp), 0);
    assert_null(sp);
    sp = (ragd_span *)&sp;
    assert_int_equal(text_words(" ,.!? \n", 7, &sp), 0);
    assert_null(sp);
}

/* --- text_sentences ------------------------------------------------------------- */

static void test_sentences_abbrev(void **state)
{
    (void)state;
    SENTENCES("Dr. Smith measured 3.14 mm at 5 p.m. on Jan. 4, e.g. near the U.S. border. "
              "Then he left.",
              "Dr. Smith measured 3.14 mm at 5 p.m. on Jan. 4, e.g. near the U.S. border.",
              "Then he left.");
    SENTENCES("J. R. R. Tolkien wrote books. He died.", "J. R. R. Tolkien wrote books.",
              "He died.");
    SENTENCES("Mr. and Mrs. Jones met Prof. Lee. They talked.", "Mr. and Mrs. Jones met Prof. Lee.",
              "They talked.");
    SENTENCES("We bought apples, pears, etc. The shop closed.", "We bought apples, pears, etc.",
              "The shop closed.");
    SENTENCES("See Fig. 3 for details. It is clear.", "See Fig. 3 for details.", "It is clear.");
}

static void test_sentences_numbers(void **state)
{
    (void)state;
    SENTENCES("Pi is about 3.14159 today. Version 2.0 is out. Yes.", "Pi is about 3.14159 today.",
              "Version 2.0 is out.", "Yes.");
    SENTENCES("It costs $1,000.50 now. Cheap.", "It costs $1,000.50 now.", "Cheap.");
    SENTENCES("Step 1. Mix well.", "Step 1.", "Mix well.");
}

static void test_sentences_punct(void **state)
{
    (void)state;
    SENTENCES("Really? Yes! Good.", "Really?", "Yes!", "Good.");
    SENTENCES("What?! No way. Fine", "What?!", "No way.", "Fine");
    SENTENCES("He said \"Stop.\" Then left.", "He said \"Stop.\"", "Then left.");
    SENTENCES("(This is aside.) Next one.", "(This is aside.)", "Next one.");
    SENTENCES("She said \xE2\x80\x9CGo!\xE2\x80\x9D And went.",
              "She said \xE2\x80\x9CGo!\xE2\x80\x9D", "And went.");
    /* Ellipsis, ASCII and U+2026. */
    SENTENCES("Wait... What happened? Fine.", "Wait...", "What happened?", "Fine.");
    SENTENCES("Wait\xE2\x80\xA6 Then go.", "Wait\xE2\x80\xA6", "Then go.");
    SENTENCES("I thought... maybe not.", "I thought... maybe not.");
    /* Lowercase after a period continues; no space after a period does not end. */
    SENTENCES("See the file config.json. Then run it.", "See the file config.json.",
              "Then run it.");
    SENTENCES("Go to example.com today. ok then.", "Go to example.com today. ok then.");
    /* No terminator at all. */
    SENTENCES("no terminator here", "no terminator here");
}

static void test_sentences_cjk(void **state)
{
    (void)state;
    /* 今天很好。明天呢？我们走吧！ */
    SENTENCES("\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xBE\x88\xE5\xA5\xBD\xE3\x80\x82"
              "\xE6\x98\x8E\xE5\xA4\xA9\xE5\x91\xA2\xEF\xBC\x9F"
              "\xE6\x88\x91\xE4\xBB\xAC\xE8\xB5\xB0\xE5\x90\xA7\xEF\xBC\x81",
              "\xE4\xBB\x8A\xE5\xA4\xA9\xE5\xBE\x88\xE5\xA5\xBD\xE3\x80\x82",
              "\xE6\x98\x8E\xE5\xA4\xA9\xE5\x91\xA2\xEF\xBC\x9F",
              "\xE6\x88\x91\xE4\xBB\xAC\xE8\xB5\xB0\xE5\x90\xA7\xEF\xBC\x81");
    /* 「好。」 closing bracket stays with its sentence: 他说「好。」然后走了。 */
    SENTENCES("\xE4\xBB\x96\xE8\xAF\xB4\xE3\x80\x8C\xE5\xA5\xBD\xE3\x80\x82\xE3\x80\x8D"
              "\xE7\x84\xB6\xE5\x90\x8E\xE8\xB5\xB0\xE4\xBA\x86\xE3\x80\x82",
              "\xE4\xBB\x96\xE8\xAF\xB4\xE3\x80\x8C\xE5\xA5\xBD\xE3\x80\x82\xE3\x80\x8D",
              "\xE7\x84\xB6\xE5\x90\x8E\xE8\xB5\xB0\xE4\xBA\x86\xE3\x80\x82");
}

static void test_sentences_blocks(void **state)
{
    (void)state;
    SENTENCES("First line\nstill first.\n\nSecond para", "First line\nstill first.", "Second para");
    SENTENCES("no stop here\n\n  \t\nnext para", "no stop here", "next para");
    SENTENCES("# Title\nSome text here. More text.", "# Title", "Some text here.", "More text.");
    SENTENCES("## Heading\n\nBody text", "## Heading", "Body text");
    SENTENCES("Intro:\n- item one\n- item two\n* item three\n1. numbered\n2) other",
              "Intro:", "- item one", "- item two", "* item three", "1. numbered", "2) other");
    SENTENCES("Text before\n| a | b |\n| 1 | 2 |\nafter", "Text before", "| a | b |", "| 1 | 2 |",
              "after");
    SENTENCES("Para\n> quoted line\n```\ncode\n```", "Para", "> quoted line", "```", "code", "```");
    /* Surrounding whitespace is trimmed. */
    SENTENCES("  \n  Leading space. Trailing space.   \n\n", "Leading space.", "Trailing space.");
    /* Empty and blank input. */
    ragd_span *sp = NULL;
    assert_int_equal(text_sentences("", 0, &sp), 0);
    free(sp);
    sp = NULL;
    assert_int_equal(text_sentences(" \n\t\n ", 5, &sp), 0);
    free(sp);
}

/* --- tokens --------------------------------------------------------------------- */

static void check_tokens_consistent(const char *s)
{
    size_t n = strlen(s);
    size_t *st = (size_t *)&st;
    size_t c = text_count_tokens(s, n);
    size_t k = text_token_starts(s, n, &st);
    assert_int_equal(c, k);
    if (k == 0) assert_null(st);
    for (size_t i = 0; i < k; i++) {
        assert_true(st[i] < n);
        assert_true(on_cp_boundary(s, n, st[i]));
        assert_false(is_ws_byte(s[st[i]]));
        if (i) assert_true(st[i] > st[i - 1]);
    }
    /* Counts are additive over a split at a token start (each piece is
     * counted on its own). */
    if (k >= 2) {
        size_t mid = st[k / 2];
        assert_int_equal(text_count_tokens(s, mid) + text_count_tokens(s + mid, n - mid), c);
    }
    free(st);
}

static void expect_tokens(const char *s, size_t want)
{
    assert_int_equal(text_count_tokens(s, strlen(s)), want);
    check_tokens_consistent(s);
}

static void test_tokens(void **state)
{
    (void)state;
    expect_tokens("", 0);
    expect_tokens("   \n\t  \n", 0);
    expect_tokens("\xE3\x80\x80\xC2\xA0", 0); /* ideographic space, NBSP */
    expect_tokens("a", 1);
    expect_tokens("abcdef", 1);
    expect_tokens("abcdefg", 2);
    expect_tokens("abcdefghijkl", 2);
    expect_tokens("abcdefghijklm", 3); /* 1 + (13-1)/6 */
    expect_tokens("Hello, world!", 4);
    expect_tokens("\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6", 4); /* 北京大学 */
    expect_tokens("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7", 1);
    expect_tokens("\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7", 1); /* 🇫🇷 */
    expect_tokens("\xC3\xA9t\xC3\xA9", 1);                /* été: 3 code points */
    expect_tokens("e\xCC\x81"
                  "e\xCC\x81"
                  "e\xCC\x81"
                  "e",
                  2); /* 7 code points */
    expect_tokens("!!", 2);

    size_t *st = NULL;
    assert_int_equal(text_token_starts("abcdefghijklm", 13, &st), 3);
    assert_int_equal(st[0], 0);
    assert_int_equal(st[1], 6);
    assert_int_equal(st[2], 12);
    free(st);

    static const char *const more[] = {
        "Hello, world! 3.14 and 1,000 don't",
        "\xE5\x8C\x97\xE4\xBA\xAC\xE5\xA4\xA7\xE5\xAD\xA6 and \xE6\x9D\xB1\xE4\xBA\xAC",
        "family \xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 and flag "
        "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA!",
        "na\xC3\xAFve caf\xC3\xA9 cafe\xCC\x81 supercalifragilisticexpialidocious",
        "  leading\tand\ntrailing  ",
        "\xED\x95\x9C\xEA\xB5\xAD\xEC\x96\xB4 \xED\x85\x8D\xEC\x8A\xA4\xED\x8A\xB8",
        "hello\xE4\xB8\x96\xE7\x95\x8C"
        "again",
        "x\xCC\x81\xCC\x81\xCC\x81 \xE2\x80\x8D lone zwj",
        "```c\nint main(void) { return 0; }\n```",
        "| a | b |\n|---|---|\n| 1 | 2 |",
        "\xF0\x9F\x98\x80\xF0\x9F\x98\x81\xF0\x9F\x98\x82\xE2\x9D\xA4\xEF\xB8\x8F",
    };
    for (size_t i = 0; i < N_OF(more); i++)
        check_tokens_consistent(more[i]);
}

/* --- text_grapheme_floor -------------------------------------------------------- */

/* Check floor(p) for every p in 0..n+2 against the sorted boundary list. */
static void expect_boundaries(const char *s, size_t n, const size_t *b, size_t nb)
{
    for (size_t p = 0; p <= n + 2; p++) {
        size_t want = 0;
        for (size_t k = 0; k < nb; k++)
            if (b[k] <= p) want = b[k];
        if (p >= n) want = n;
        size_t got = text_grapheme_floor(s, n, p);
        if (got != want) fprintf(stderr, "grapheme_floor(%zu) = %zu, want %zu\n", p, got, want);
        assert_int_equal(got, want);
    }
}

static void test_grapheme_floor(void **state)
{
    (void)state;
    {
        const char *s = FAMILY;
        size_t b[] = {0, 18};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "a" FAMILY "b";
        size_t b[] = {0, 1, 19, 20};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "x" FLAG_FR FLAG_DE "y";
        size_t b[] = {0, 1, 9, 17, 18};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = FLAG_FR;
        size_t b[] = {0, 8};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "cafe\xCC\x81 ok"; /* é decomposed */
        size_t b[] = {0, 1, 2, 3, 6, 7, 8, 9};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        /* A mark after a space belongs to the space's cluster... */
        const char *s = "a \xCC\x81"
                        "b";
        size_t b[] = {0, 1, 4, 5};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        /* ...but not to a line break's (GB4). */
        const char *s = "a\n\xCC\x81"
                        "b";
        size_t b[] = {0, 1, 2, 4, 5};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "e\xCC\x81";
        size_t b[] = {0, 3};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "\xE5\x8C\x97\xE4\xBA\xAC"; /* 北京 */
        size_t b[] = {0, 3, 6};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    {
        const char *s = "line\n" FAMILY "\n" FLAG_FR " end";
        size_t b[] = {0, 1, 2, 3, 4, 5, 23, 24, 32, 33, 34, 35, 36};
        expect_boundaries(s, strlen(s), b, N_OF(b));
    }
    assert_int_equal(text_grapheme_floor("", 0, 0), 0);
    assert_int_equal(text_grapheme_floor("abc", 3, 0), 0);
    assert_int_equal(text_grapheme_floor("abc", 3, 3), 3);
    assert_int_equal(text_grapheme_floor("abc", 3, 100), 3);
}

/* Long runs without spaces or newlines, where the function cannot start its
 * scan at the beginning of the line. */
static void test_grapheme_floor_long_runs(void **state)
{
    (void)state;
    /* 700 flags (5600 bytes): boundaries every 8 bytes — pairing parity of
     * regional indicators must survive the scan starting mid-run. */
    size_t nf = 700, n = nf * 8;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < nf; i++)
        memcpy(s + i * 8, (i % 2) ? FLAG_FR : FLAG_DE, 8);
    s[n] = '\0';
    for (size_t p = 0; p <= n; p++) {
        size_t got = text_grapheme_floor(s, n, p);
        if (got != p / 8 * 8) fprintf(stderr, "flags: floor(%zu) = %zu\n", p, got);
        assert_int_equal(got, p / 8 * 8);
    }
    free(s);

    /* 400 ZWJ families (7200 bytes). */
    nf = 400, n = nf * 18;
    s = malloc(n + 1);
    for (size_t i = 0; i < nf; i++)
        memcpy(s + i * 18, FAMILY, 18);
    s[n] = '\0';
    for (size_t p = 0; p <= n; p += 1) {
        size_t got = text_grapheme_floor(s, n, p);
        assert_int_equal(got, p / 18 * 18);
    }
    free(s);

    /* One cluster longer than the scan window: a 700-long ZWJ chain
     * (4904 bytes, GB11) and a letter with 2500 combining marks (5001
     * bytes), between spaces. */
    for (int kind = 0; kind < 2; kind++) {
        {
            size_t cl = kind == 0 ? 700 * 7 + 4 : 1 + 2500 * 2;
            n = 2 + cl + 2;
            s = malloc(n + 1);
            memcpy(s, "x ", 2);
            char *q = s + 2;
            if (kind == 0) {
                for (int i = 0; i < 700; i++, q += 7)
                    memcpy(q, "\xF0\x9F\x91\xA9\xE2\x80\x8D", 7);
                memcpy(q, "\xF0\x9F\x91\xA7", 4);
            } else {
                *q++ = 'e';
                for (int i = 0; i < 2500; i++, q += 2)
                    memcpy(q, "\xCC\x81", 2);
            }
            memcpy(s + 2 + cl, " y", 2);
            s[n] = '\0';
            for (size_t p = 0; p <= n; p++) {
                size_t want = p < 1 ? 0 : p < 2 ? 1 : p < 2 + cl ? 2 : p;
                size_t got = text_grapheme_floor(s, n, p);
                if (got != want) fprintf(stderr, "cluster %d: floor(%zu) = %zu\n", kind, p, got);
                assert_int_equal(got, want);
            }
            free(s);
        }
    }

    /* A 6000-letter word: every code point is a boundary. */
    n = 6000;
    s = malloc(n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)('a' + i % 26);
    s[n] = '\0';
    for (size_t p = 0; p <= n; p += 7)
        assert_int_equal(text_grapheme_floor(s, n, p), p);
    free(s);

    /* A 2-byte letter repeated: floor never splits a code point. */
    n = 2 * 3000;
    s = malloc(n + 1);
    for (size_t i = 0; i < n; i += 2)
        memcpy(s + i, "\xC3\xA9", 2);
    s[n] = '\0';
    for (size_t p = 0; p <= n; p++)
        assert_int_equal(text_grapheme_floor(s, n, p), p / 2 * 2);
    free(s);
}

/* --- text_space_cjk / text_is_cjk ----------------------------------------------- */

static void test_space_cjk(void **state)
{
    (void)state;
    char *r = text_space_cjk("abc\xE5\x8C\x97\xE4\xBA\xAC"
                             "def",
                             12);
    assert_string_equal(r, "abc \xE5\x8C\x97  \xE4\xBA\xAC def");
    free(r);
    r = text_space_cjk("no cjk here", 11);
    assert_string_equal(r, "no cjk here");
    free(r);
    /* Empty input gives "", not an unterminated buffer. Dirty the heap
     * first so a missing terminator shows without ASan too. */
    for (int k = 0; k < 4; k++) {
        char *junk[4];
        for (int j = 0; j < 4; j++)
            junk[j] = malloc(64), memset(junk[j], 'J', 64);
        for (int j = 0; j < 4; j++)
            free(junk[j]);
        r = text_space_cjk("", 0);
        assert_string_equal(r, "");
        free(r);
    }
    /* Kana and hangul too; emoji and accented letters are left alone. */
    r = text_space_cjk("\xE3\x81\x82\xEA\xB0\x80\xC3\xA9\xF0\x9F\x98\x80", 12);
    assert_string_equal(r, " \xE3\x81\x82  \xEA\xB0\x80 \xC3\xA9\xF0\x9F\x98\x80");
    free(r);
    /* Respects n. */
    r = text_space_cjk("\xE5\x8C\x97xyz", 4);
    assert_string_equal(r, " \xE5\x8C\x97 x");
    free(r);

    assert_true(text_is_cjk(0x4E2D));  /* 中 */
    assert_true(text_is_cjk(0x3042));  /* あ */
    assert_true(text_is_cjk(0x30AB));  /* カ */
    assert_true(text_is_cjk(0xAC00));  /* 가 */
    assert_true(text_is_cjk(0x20000)); /* ext B */
    assert_false(text_is_cjk('a'));
    assert_false(text_is_cjk(0xE9));
    assert_false(text_is_cjk(0x3002)); /* 。 is punctuation */
    assert_false(text_is_cjk(0x1F600));
}

/* Issue 12 #6: file names that are not UTF-8 become valid UTF-8 with their
 * bytes kept as \xHH escapes; valid names are unchanged. */
static void test_escape_invalid(void **state)
{
    (void)state;
    char *a = text_escape_invalid("caf\xC3\xA9 a\\b.txt");
    assert_string_equal(a, "caf\xC3\xA9 a\\b.txt"); /* valid: untouched */
    char *b = text_escape_invalid("caf\xE9 a\\b\xC3.txt");
    assert_string_equal(b, "caf\\xE9 a\\x5Cb\\xC3.txt");
    assert_true(text_utf8_check(b, strlen(b), NULL, NULL));
    char *c = text_escape_invalid("\xED\xA0\x80\xF0\x9F\x98\x80"); /* surrogate, then emoji */
    assert_string_equal(c, "\\xED\\xA0\\x80\xF0\x9F\x98\x80");
    free(a);
    free(b);
    free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utf8_valid),
        cmocka_unit_test(test_utf8_invalid),
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_normalize),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_fold_and_words_reuse),
        cmocka_unit_test(test_words),
        cmocka_unit_test(test_words_empty),
        cmocka_unit_test(test_sentences_abbrev),
        cmocka_unit_test(test_sentences_numbers),
        cmocka_unit_test(test_sentences_punct),
        cmocka_unit_test(test_sentences_cjk),
        cmocka_unit_test(test_sentences_blocks),
        cmocka_unit_test(test_tokens),
        cmocka_unit_test(test_grapheme_floor),
        cmocka_unit_test(test_grapheme_floor_long_runs),
        cmocka_unit_test(test_space_cjk),
        cmocka_unit_test(test_escape_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
