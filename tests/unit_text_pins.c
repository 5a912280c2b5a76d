/* tests/unit_text_pins.c — the segmenters' boundaries pinned, and their
 * fast paths checked against the rules they shortcut.
 *
 * core/text.c segments ASCII without decoding or asking utf8proc: an ASCII
 * character followed by an ASCII character is a grapheme boundary (CR LF
 * aside), ASCII classes come from a table, text_fold lowercases ASCII runs
 * itself, and the chunkers count a window from the document's token starts
 * when it starts at a unit (text_token_units). These tests fail when a fast
 * path diverges from the slow one:
 *   - words, sentences, token starts and grapheme floors of tricky inputs
 *     (CR LF, combining marks, emoji ZWJ sequences and flags, CJK, non-ASCII
 *     punctuation and spaces, very long words, a sentence ending the text),
 *     pinned to what the code point by code point implementation gave
 *     before the fast paths (ragd at dea3f0a);
 *   - every pair of ASCII characters, and ASCII before combining marks, ZWJ,
 *     variation selectors and regional indicators, against
 *     utf8proc_grapheme_break_stateful;
 *   - text_fold against text_fold_reference (one utf8proc call);
 *   - text_token_units' promise: from a unit, counting equals the starts;
 *   - text_ascii_words_tokens (one pass) and its appending form against
 *     text_words and text_token_units;
 *   - text_sentences' eight-bytes-a-step skip at every offset;
 *   - the eight-bytes-a-step word runs against every ASCII byte after runs
 *     of every length.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/text.h"

typedef struct {
    const char *text;
    size_t words[128], nwords;
    size_t sentences[32], nsentences;
    size_t tokens[64], ntokens;
    size_t floors[128], nfloors;
} pinned;

/* Values: spans as start, end pairs; floors as the distinct values of
 * text_grapheme_floor(text, n, p) for p = 0..n. */
static const pinned PINS[] = {
    {
        .text = "one\r\ntwo. Three\r\n\r\nFour",
        .words = {0, 3, 5, 8, 10, 15, 19, 23},
        .nwords = 8,
        .sentences = {0, 9, 10, 23},
        .nsentences = 4,
        .tokens = {0, 5, 8, 10, 19},
        .ntokens = 5,
        .floors = {0, 1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 17, 19, 20, 21, 22, 23},
        .nfloors = 21,
    },
    {
        .text = "Cafe\xCC\x81 na\xC3\xAFve e\xCC\x81\xCC\x81t\xC3\xA9. Re\xCC\x81sume\xCC\x81!",
        .words = {0, 6, 7, 13, 14, 22, 24, 34},
        .nwords = 8,
        .sentences = {0, 23, 24, 35},
        .nsentences = 4,
        .tokens = {0, 7, 14, 22, 24, 31, 34},
        .ntokens = 7,
        .floors = {0,  1,  2,  3,  6,  7,  8,  9,  11, 12, 13, 14,
                   19, 20, 22, 23, 24, 25, 28, 29, 30, 31, 34, 35},
        .nfloors = 24,
    },
    {
        .text =
            "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB codes \xF0\x9F\x91\x8D\xF0\x9F\x8F\xBD. "
            "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA flag\xE2\x80\x8D"
            "x",
        .words = {12, 17, 37, 41, 44, 45},
        .nwords = 6,
        .sentences = {0, 27, 28, 45},
        .nsentences = 4,
        .tokens = {0, 12, 18, 26, 28, 37, 41, 44},
        .ntokens = 8,
        .floors = {0, 11, 12, 13, 14, 15, 16, 17, 18, 26, 27, 28, 36, 37, 38, 39, 40, 44, 45},
        .nfloors = 19,
    },
    {
        .text = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xA7\xE3\x81\x99\xE3\x80\x82\xED\x95"
                "\x9C\xEA\xB5\xAD\xEC\x96\xB4\xEF\xBC\x81ok\xEF\xBC\x9F",
        .words = {0, 3, 3, 6, 6, 9, 9, 12, 12, 15, 18, 21, 21, 24, 24, 27, 30, 32},
        .nwords = 18,
        .sentences = {0, 18, 18, 30, 30, 35},
        .nsentences = 6,
        .tokens = {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 32},
        .ntokens = 12,
        .floors = {0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 30, 31, 32, 35},
        .nfloors = 14,
    },
    {
        .text = "He said \xE2\x80\x9CStop.\xE2\x80\x9D Then\xE2\x80\xA6 she left\xE2\x80\x94"
                "fast \xC2\xBBhere\xC2\xAB. Don\xE2\x80\x99t 3,14 10\xC2\xA0km. Ok",
        .words = {0,  2,  3,  7,  11, 15, 20, 24, 28, 31, 32, 36, 39,
                  43, 46, 50, 54, 61, 62, 66, 67, 69, 71, 73, 75, 77},
        .nwords = 26,
        .sentences = {0, 19, 20, 53, 54, 74, 75, 77},
        .nsentences = 8,
        .tokens = {0,  3,  8,  11, 15, 16, 20, 24, 28, 32, 36, 39, 44,
                   46, 50, 52, 54, 57, 60, 62, 63, 64, 67, 71, 73, 75},
        .ntokens = 26,
        .floors = {0,  1,  2,  3,  4,  5,  6,  7,  8,  11, 12, 13, 14, 15, 16, 19, 20,
                   21, 22, 23, 24, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 39, 40, 41,
                   42, 43, 44, 46, 47, 48, 49, 50, 52, 53, 54, 55, 56, 57, 60, 61, 62,
                   63, 64, 65, 66, 67, 68, 69, 71, 72, 73, 74, 75, 76, 77},
        .nfloors = 65,
    },
    {
        .text = "supercalifragilisticexpialidocious-antidisestablishmentarianism "
                "pneumonoultramicroscopicsilicovolcanoconiosis.",
        .words = {0, 34, 35, 63, 64, 109},
        .nwords = 6,
        .sentences = {0, 110},
        .nsentences = 2,
        .tokens = {0,  6,  12, 18, 24, 30, 34, 35,  41,  47, 53,
                   59, 64, 70, 76, 82, 88, 94, 100, 106, 109},
        .ntokens = 21,
        .floors = {0,  1,  2,  3,  4,   5,   6,   7,   8,   9,   10,  11,  12,  13,  14, 15,
                   16, 17, 18, 19, 20,  21,  22,  23,  24,  25,  26,  27,  28,  29,  30, 31,
                   32, 33, 34, 35, 36,  37,  38,  39,  40,  41,  42,  43,  44,  45,  46, 47,
                   48, 49, 50, 51, 52,  53,  54,  55,  56,  57,  58,  59,  60,  61,  62, 63,
                   64, 65, 66, 67, 68,  69,  70,  71,  72,  73,  74,  75,  76,  77,  78, 79,
                   80, 81, 82, 83, 84,  85,  86,  87,  88,  89,  90,  91,  92,  93,  94, 95,
                   96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110},
        .nfloors = 111,
    },
    {
        .text = "Ends here.",
        .words = {0, 4, 5, 9},
        .nwords = 4,
        .sentences = {0, 10},
        .nsentences = 2,
        .tokens = {0, 5, 9},
        .ntokens = 3,
        .floors = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10},
        .nfloors = 11,
    },
    {
        .text = "Dr. Smith e.g. J. Doe vs. 3.14 etc. The end?!",
        .words = {0,  2,  4,  9,  10, 11, 12, 13, 15, 16, 18,
                  21, 22, 24, 26, 30, 31, 34, 36, 39, 40, 43},
        .nwords = 22,
        .sentences = {0, 35, 36, 45},
        .nsentences = 4,
        .tokens = {0, 2, 4, 10, 11, 12, 13, 15, 16, 18, 22, 24, 26, 27, 28, 31, 34, 36, 40, 43, 44},
        .ntokens = 21,
        .floors = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12, 13, 14, 15,
                   16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31,
                   32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45},
        .nfloors = 46,
    },
    {
        .text = "a\xCC\x81"
                "b \x01\x7F"
                "c\td",
        .words = {0, 4, 7, 8, 9, 10},
        .nwords = 6,
        .sentences = {0, 10},
        .nsentences = 2,
        .tokens = {0, 5, 6, 7, 9},
        .ntokens = 5,
        .floors = {0, 3, 4, 5, 6, 7, 8, 9, 10},
        .nfloors = 9,
    },
};

static void check_list(const char *what, const char *text, const size_t *got, size_t ngot,
                       const size_t *want, size_t nwant)
{
    bool same = ngot == nwant;
    for (size_t i = 0; same && i < ngot; i++)
        same = got[i] == want[i];
    if (!same) {
        fprintf(stderr, "%s of \"%s\": got", what, text);
        for (size_t i = 0; i < ngot; i++)
            fprintf(stderr, " %zu", got[i]);
        fprintf(stderr, "\n  want");
        for (size_t i = 0; i < nwant; i++)
            fprintf(stderr, " %zu", want[i]);
        fprintf(stderr, "\n");
    }
    assert_true(same);
}

static void test_pinned_boundaries(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof PINS / sizeof *PINS; k++) {
        const pinned *p = &PINS[k];
        size_t n = strlen(p->text), v[256];
        ragd_span *sp;
        size_t m = text_words(p->text, n, &sp);
        assert_true(2 * m <= 256);
        for (size_t i = 0; i < m; i++)
            v[2 * i] = sp[i].start, v[2 * i + 1] = sp[i].end;
        free(sp);
        check_list("words", p->text, v, 2 * m, p->words, p->nwords);
        m = text_sentences(p->text, n, &sp);
        for (size_t i = 0; i < m; i++)
            v[2 * i] = sp[i].start, v[2 * i + 1] = sp[i].end;
        free(sp);
        check_list("sentences", p->text, v, 2 * m, p->sentences, p->nsentences);
        size_t *ts;
        m = text_token_starts(p->text, n, &ts);
        check_list("token starts", p->text, ts, m, p->tokens, p->ntokens);
        assert_int_equal(text_count_tokens(p->text, n), m);
        free(ts);
        m = 0;
        for (size_t q = 0; q <= n; q++) {
            size_t f = text_grapheme_floor(p->text, n, q);
            if (!m || v[m - 1] != f) v[m++] = f;
        }
        check_list("grapheme floors", p->text, v, m, p->floors, p->nfloors);
    }
}

/* Is there a grapheme boundary between the two halves of a + b, by
 * text_grapheme_floor (the boundary at len(a) is its own floor) and by
 * utf8proc's stateful rule applied code point by code point? */
static void check_pair(const char *a, const char *b)
{
    char s[64];
    size_t la = strlen(a), lb = strlen(b);
    memcpy(s, a, la);
    memcpy(s + la, b, lb);
    size_t n = la + lb;
    utf8proc_int32_t state = 0, prev = -1, cp;
    bool brk = true;
    for (utf8proc_ssize_t i = 0; i < (utf8proc_ssize_t)n;) {
        utf8proc_ssize_t l =
            utf8proc_iterate((const utf8proc_uint8_t *)s + i, (utf8proc_ssize_t)n - i, &cp);
        assert_true(l > 0);
        if (prev >= 0) {
            bool b2 = utf8proc_grapheme_break_stateful(prev, cp, &state);
            if ((size_t)i == la) brk = b2;
            if (b2) state = 0; /* a new cluster starts */
        }
        prev = cp;
        i += l;
    }
    bool got = text_grapheme_floor(s, n, la) == la;
    if (got != brk)
        fprintf(stderr, "boundary in %02X.. + %02X..: text says %d, utf8proc %d\n",
                (unsigned char)a[0], (unsigned char)b[0], got, brk);
    assert_int_equal(got, brk);
}

static void test_grapheme_ascii_pairs(void **state)
{
    (void)state;
    for (int x = 1; x < 128; x++)
        for (int y = 1; y < 128; y++) {
            char a[2] = {(char)x, 0}, b[2] = {(char)y, 0};
            check_pair(a, b);
        }
    /* ASCII before what joins a cluster, and after it. */
    static const char *const JOIN[] = {
        "\xCC\x81",         /* combining acute */
        "\xE2\x80\x8D",     /* ZWJ */
        "\xEF\xB8\x8F",     /* VS16 */
        "\xF0\x9F\x8F\xBD", /* skin tone */
        "\xE0\xA4\xBE",     /* Devanagari vowel sign (SpacingMark) */
        "\xF0\x9F\x87\xA9", /* regional indicator */
        "\xE1\x85\xA1",     /* Hangul jungseong */
        "\xE6\x97\xA5",     /* CJK */
        "\xC2\xA0",         /* NBSP */
    };
    static const char *const ASCII[] = {"a",  "Z",  "0", " ",    ".",   "\n",
                                        "\r", "\t", "#", "\x01", "\x7F"};
    for (size_t i = 0; i < sizeof ASCII / sizeof *ASCII; i++)
        for (size_t j = 0; j < sizeof JOIN / sizeof *JOIN; j++) {
            check_pair(ASCII[i], JOIN[j]);
            check_pair(JOIN[j], ASCII[i]);
        }
}

/* The same generator for both checks below: pieces that stress folding and
 * counting, mixed at random (fixed seed). */
static const char *const PIECES[] = {
    "a",
    "Word",
    "ABC",
    "e\xCC\x81",
    "\xCC\x81",
    "\xCC\xA3\xCC\x81",
    "\xC3\xA9",
    "\xC3\x89",
    "\xE2\x84\xAA",             /* Kelvin sign: folds to k */
    "\xC4\xB0",                 /* I with dot above: folds to i + mark */
    "\xEF\xAC\x81",             /* fi ligature */
    "\xC3\x9F",                 /* sharp s: folds to ss */
    "\xE1\x84\x80\xE1\x85\xA1", /* Hangul L V */
    "\xE1\x86\xA8",             /* Hangul T */
    "\xEA\xB0\x80",             /* Hangul LV syllable */
    "\xE6\x97\xA5\xE6\x9C\xAC",
    "\xEF\xBC\xA1", /* fullwidth A */
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB",
    "\xF0\x9F\x87\xA9\xF0\x9F\x87\xAA",
    "\xE2\x80\x99",
    "'",
    " ",
    "  ",
    "\n",
    "\r\n",
    ".",
    "3.14",
    "1,000",
    "\xC2\xA0",
    "\xE2\x80\x8B",
    "-",
    "supercalifragilistic",
    "\xD9\x85\xD8\xB1",
    "\xE0\xA4\xA8\xE0\xA4\xBE",
};

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static size_t random_text(uint64_t *seed, char *buf, size_t cap)
{
    size_t n = 0, want = 1 + rnd(seed) % 120;
    while (n < want) {
        const char *p = PIECES[rnd(seed) % (sizeof PIECES / sizeof *PIECES)];
        size_t l = strlen(p);
        if (n + l + 1 > cap) break;
        memcpy(buf + n, p, l);
        n += l;
    }
    buf[n] = '\0';
    return n;
}

static void test_fold_pieces(void **state)
{
    (void)state;
    static const char *const FIXED[] = {
        "",
        "ABC def",
        "e\xCC\x81",
        "Cafe\xCC\x81 \xE2\x84\xAA\xC4\xB0 \xEF\xAC\x81le",
        "\xCC\x81start",
        "x\xCC\xA3\xCC\x81y",
        "\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"
        "a",
        "A\x00B",
        "bad \xFF byte",
        "cut \xE2\x82",
        "\xE2\x82 cut",
    };
    uint64_t seed = 42;
    char buf[1024];
    for (size_t k = 0; k < 3000; k++) {
        const char *s = buf;
        size_t n;
        if (k < sizeof FIXED / sizeof *FIXED) {
            s = FIXED[k];
            n = strlen(s) + (k == 7 ? 2 : 0); /* "A\0B": through the NUL */
            if (k == 7) n = 3;
        } else {
            n = random_text(&seed, buf, sizeof buf);
        }
        for (int sm = 0; sm < 2; sm++) {
            size_t l1 = 99, l2 = 77;
            char *a = text_fold(s, n, sm, &l1), *b = text_fold_reference(s, n, sm, &l2);
            if (l1 != l2 || memcmp(a, b, l1) != 0)
                fprintf(stderr, "fold of \"%.*s\" (strip %d): \"%s\" vs \"%s\"\n", (int)n, s, sm, a,
                        b);
            assert_int_equal(l1, l2);
            assert_memory_equal(a, b, l1);
            free(a);
            free(b);
        }
    }
}

static void test_token_units(void **state)
{
    (void)state;
    uint64_t seed = 7;
    char buf[1024];
    for (size_t k = 0; k < 400; k++) {
        size_t n = random_text(&seed, buf, sizeof buf);
        size_t *ts, *ts2;
        unsigned char *unit;
        size_t nt = text_token_units(buf, n, &ts, &unit);
        assert_int_equal(text_token_starts(buf, n, &ts2), nt);
        if (nt) assert_memory_equal(ts, ts2, nt * sizeof *ts);
        for (size_t t = 0; t < nt; t++) {
            if (!unit[t]) continue;
            size_t in = 0;
            for (size_t e = ts[t]; e <= n; e++) {
                while (t + in < nt && ts[t + in] < e)
                    in++;
                if (e < n && ((unsigned char)buf[e] & 0xC0) == 0x80) continue;
                assert_int_equal(text_count_tokens(buf + ts[t], e - ts[t]), in);
            }
        }
        free(ts);
        free(ts2);
        free(unit);
    }
}

/* text_ascii_words_tokens is text_words plus text_token_units on ASCII
 * (apostrophes, decimals, controls, CR LF, long words), and refuses
 * anything else. */
static void test_ascii_words_tokens(void **state)
{
    (void)state;
    static const char *const ASCII_PIECES[] = {
        "a",
        "Word",
        "don't",
        "x'",
        "'y",
        "''",
        "3.14",
        "1,000",
        "3.",
        ".5",
        "a.b",
        "9'9",
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        ".",
        "!",
        "?",
        "-",
        "\x01",
        "\x7F",
        "#",
        "supercalifragilisticexpialidocious",
        "abcdef",
        "abcdefg",
        "0123456789012",
    };
    uint64_t seed = 99;
    char buf[1024];
    for (size_t k = 0; k < 3000; k++) {
        size_t n = 0, want = rnd(&seed) % 200;
        while (n < want) {
            const char *p = ASCII_PIECES[rnd(&seed) % (sizeof ASCII_PIECES / sizeof *ASCII_PIECES)];
            size_t l = strlen(p);
            if (n + l + 1 > sizeof buf) break;
            memcpy(buf + n, p, l);
            n += l;
        }
        buf[n] = '\0';
        ragd_span *w1, *w2;
        size_t *t1, *t2, nw2, nt2;
        unsigned char *u1, *u2;
        size_t nw1 = text_words(buf, n, &w1), nt1 = text_token_units(buf, n, &t1, &u1);
        assert_true(text_ascii_words_tokens(buf, n, &w2, &nw2, &t2, &u2, &nt2));
        if (nw1 != nw2 || nt1 != nt2) fprintf(stderr, "ascii pass differs on \"%s\"\n", buf);
        assert_int_equal(nw1, nw2);
        assert_int_equal(nt1, nt2);
        if (nw1) assert_memory_equal(w1, w2, nw1 * sizeof *w1);
        if (nt1) {
            assert_memory_equal(t1, t2, nt1 * sizeof *t1);
            assert_memory_equal(u1, u2, nt1);
        }
        free(w1);
        free(w2);
        free(t1);
        free(t2);
        free(u1);
        free(u2);
    }
    ragd_span *w;
    size_t *t, nw, nt;
    unsigned char *u;
    assert_false(text_ascii_words_tokens("caf\xC3\xA9", 5, &w, &nw, &t, &u, &nt));
    /* The ASCII test goes eight bytes a step: a non-ASCII byte anywhere. */
    for (size_t p = 0; p < 21; p++) {
        char s[22];
        memset(s, 'a', 21);
        s[21] = '\0';
        s[p] = (char)0xE9;
        assert_false(text_ascii_words_tokens(s, 21, &w, &nw, &t, &u, &nt));
    }
}

/* text_ascii_words_tokens_append, block after block into one token buffer
 * with a reused word buffer, gives each block's text_ascii_words_tokens
 * shifted by its base; a refused block leaves the buffers as they were. */
static void test_ascii_words_tokens_append(void **state)
{
    (void)state;
    static const char *const BLOCKS[] = {"Hello world, don't 3.14 go.", "x",
                                         "supercalifragilisticexpialidocious and more words here",
                                         "", "1,000 a'b 'c d' !?"};
    const char *doc = "Hello world, don't 3.14 go.\n\nx\n\nsupercalifragilisticexpialidocious "
                      "and more words here\n\n\n\n1,000 a'b 'c d' !?";
    text_tokens tv = {0};
    ragd_span *wb = NULL;
    size_t wcap = 0, base = 0;
    for (size_t b = 0; b < sizeof BLOCKS / sizeof *BLOCKS; b++) {
        size_t n = strlen(BLOCKS[b]), before = tv.n, nw;
        assert_memory_equal(doc + base, BLOCKS[b], n);
        assert_true(text_ascii_words_tokens_append(doc + base, n, base, &tv, &wb, &wcap, &nw));
        ragd_span *w1;
        size_t *t1, nt1;
        unsigned char *u1;
        size_t nw1 = text_words(BLOCKS[b], n, &w1);
        nt1 = text_token_units(BLOCKS[b], n, &t1, &u1);
        assert_int_equal(nw, nw1);
        assert_int_equal(tv.n - before, nt1);
        if (nw1) assert_memory_equal(wb, w1, nw1 * sizeof *w1);
        for (size_t k = 0; k < nt1; k++) {
            assert_int_equal(tv.v[before + k], base + t1[k]);
            assert_int_equal(tv.unit[before + k], u1[k]);
        }
        free(w1);
        free(t1);
        free(u1);
        base += n + 2;
    }
    size_t n0 = tv.n, nw = 7;
    assert_false(text_ascii_words_tokens_append("ab\xC3\xA9", 4, 0, &tv, &wb, &wcap, &nw));
    assert_int_equal(tv.n, n0);
    assert_int_equal(nw, 7);
    free(tv.v);
    free(tv.unit);
    free(wb);
}

/* Runs of ASCII letters and digits are measured eight bytes a step: every
 * ASCII byte after a run of every length ends it (or, letter, digit, apostrophe
 * between letters, continues it) where the byte-by-byte rule did; a
 * non-ASCII letter continues it. */
static void test_word_run_lengths(void **state)
{
    (void)state;
    for (int b = 1; b < 0x80; b++)
        for (size_t len = 1; len < 24; len++) {
            char s[40];
            memset(s, 'q', len);
            if (len > 2) s[1] = 'Z';
            if (len > 4) s[3] = '7';
            s[len] = (char)b;
            memcpy(s + len + 1, "yy", 3);
            size_t n = len + 3;
            ragd_span *w;
            size_t nw = text_words(s, n, &w);
            bool joins = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                         (b >= '0' && b <= '9') || b == '\'';
            assert_true(nw >= 1);
            assert_int_equal(w[0].start, 0);
            assert_int_equal(w[0].end, joins ? n : len);
            free(w);
            size_t *ts, nts;
            unsigned char *un;
            assert_true(text_ascii_words_tokens(s, n, &w, &nw, &ts, &un, &nts));
            assert_true(nw >= 1);
            assert_int_equal(w[0].end, joins ? n : len);
            free(w);
            free(ts);
            free(un);
            size_t c = text_count_tokens(s, n);
            size_t want = joins
                              ? (b == '\'' ? 1 + (len - 1) / 6 + 1 + 1 : 1 + (n - 1) / 6)
                              : 1 + (len - 1) / 6 + 1 + ((b == ' ' || (b >= 9 && b <= 13)) ? 0 : 1);
            if (c != want) fprintf(stderr, "byte %d after %zu letters: %zu tokens\n", b, len, c);
            assert_int_equal(c, want);
        }
    const char *u = "abcdefghij\xC3\xA9kl";
    ragd_span *w;
    assert_int_equal(text_words(u, strlen(u), &w), 1);
    assert_int_equal(w[0].end, strlen(u));
    free(w);
}

/* text_sentences jumps over a sentence's plain ASCII eight bytes a step: a
 * terminator, a blank line or a non-ASCII character at any offset in those
 * eight still ends (or joins) the sentence where it did byte by byte. */
static void test_sentence_skip_offsets(void **state)
{
    (void)state;
    static const char *const ENDS[] = {". Next one.", "! Next one.", "? Next one.", "\n\nNext one.",
                                       "\xC3\xA9. Next one."};
    for (size_t e = 0; e < sizeof ENDS / sizeof *ENDS; e++)
        for (size_t p = 3; p < 40; p++) {
            char s[96];
            memset(s, 'x', p);
            s[0] = 'T';
            if (p > 3) s[2] = ' ';
            size_t el = strlen(ENDS[e]);
            memcpy(s + p, ENDS[e], el);
            size_t n = p + el;
            size_t first_end = p + (e == 3 ? 0 : e == 4 ? 3 : 1);
            ragd_span *sp;
            size_t ns = text_sentences(s, n, &sp);
            assert_int_equal(ns, 2);
            assert_int_equal(sp[0].start, 0);
            assert_int_equal(sp[0].end, first_end);
            assert_int_equal(sp[1].end, n);
            assert_memory_equal(s + sp[1].start, "Next", 4);
            free(sp);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pinned_boundaries),
        cmocka_unit_test(test_grapheme_ascii_pairs),
        cmocka_unit_test(test_fold_pieces),
        cmocka_unit_test(test_token_units),
        cmocka_unit_test(test_ascii_words_tokens),
        cmocka_unit_test(test_ascii_words_tokens_append),
        cmocka_unit_test(test_sentence_skip_offsets),
        cmocka_unit_test(test_word_run_lengths),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
