/* tests/unit_text_fused.c — text_words_tokens_append (core/text.c) against
 * the reference it shortcuts: text_words plus text_token_units.
 *
 * The fused call scans ASCII stretches with the one-pass ASCII scan and
 * hands only the stretch around each non-ASCII run, widened to the nearest
 * "ASCII space, tab or newline, then an ASCII byte" restart point, to the
 * general scans. It is right only if both scans really restart afresh at
 * those points; these tests fail when a restart point is wrong (a combining
 * mark after a space, CR LF, a joiner next to a non-ASCII letter, a Prepend
 * character before a space, invalid bytes) or when a stretch's offsets,
 * unit flags or words are shifted or dropped:
 *   - every byte value alone, and every ASCII byte before and after every
 *     tricky non-ASCII piece, with one and two spaces between;
 *   - 20,000 random texts from ASCII and non-ASCII pieces (Greek, µ, ±, CJK,
 *     Hangul, combining marks, emoji ZWJ sequences and flags, NBSP, U+2019,
 *     invalid and truncated UTF-8), appended into a non-empty token buffer
 *     with a base and a reused word buffer, with and without words;
 *   - the empty text;
 *   - long texts (the ASCII pass goes in 32 KiB slices cut at restart points);
 *   - the ASCII pass's 64-byte bit-mask blocks (seventh session): runs, joiners
 *     and token starts at every alignment around block ends, every length of
 *     the last block, texts dense in joiners and over all ASCII bytes.
 * And text_sentences' abbreviation lookup (a binary search since the sixth
 * session) against the list searched linearly, for every word of one to
 * three letters and every abbreviation and near miss.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/text.h"

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

/* Compare the fused call on s[0..n) (appended after `pre` tokens already in
 * the buffer, shifted by base) with the reference; with_words false checks
 * the token-only form. */
static void check(const char *s, size_t n, size_t base, size_t pre, bool with_words, ragd_span **wb,
                  size_t *wcap)
{
    ragd_span *w1;
    size_t *t1;
    unsigned char *u1;
    size_t nw1 = text_words(s, n, &w1);
    size_t nt1 = text_token_units(s, n, &t1, &u1);
    text_tokens tv = {0};
    text_tokens_reserve(&tv, pre);
    for (size_t k = 0; k < pre; k++) {
        tv.v[k] = k;
        tv.unit[k] = 1;
    }
    tv.n = pre;
    size_t nw = 12345;
    if (with_words)
        text_words_tokens_append(s, n, base, &tv, wb, wcap, &nw);
    else
        text_words_tokens_append(s, n, base, &tv, NULL, NULL, NULL);
    bool ok = tv.n == pre + nt1 && (!with_words || nw == nw1);
    for (size_t k = 0; ok && k < pre; k++)
        ok = tv.v[k] == k && tv.unit[k] == 1;
    for (size_t k = 0; ok && k < nt1; k++)
        ok = tv.v[pre + k] == base + t1[k] && tv.unit[pre + k] == u1[k];
    for (size_t k = 0; ok && with_words && k < nw1; k++)
        ok = (*wb)[k].start == w1[k].start && (*wb)[k].end == w1[k].end;
    if (!ok) {
        fprintf(stderr, "fused scan differs (words %d) on:", (int)with_words);
        for (size_t k = 0; k < n; k++)
            fprintf(stderr, " %02X", (unsigned char)s[k]);
        fprintf(stderr, "\n  tokens %zu vs %zu, words %zu vs %zu\n", tv.n - pre, nt1, nw, nw1);
    }
    assert_true(ok);
    free(w1);
    free(t1);
    free(u1);
    free(tv.v);
    free(tv.unit);
}

static void check_all(const char *s, size_t n, ragd_span **wb, size_t *wcap)
{
    check(s, n, 0, 0, true, wb, wcap);
    check(s, n, 1000, 3, true, wb, wcap);
    check(s, n, 7, 1, false, wb, wcap);
}

static const char *const NON_ASCII[] = {
    "\xC3\xA9",                                     /* é */
    "e\xCC\x81",                                    /* e + combining acute */
    "\xCC\x81",                                     /* a lone combining acute */
    "\xCE\xB1\xCE\xB2",                             /* αβ */
    "\xC2\xB5",                                     /* µ */
    "\xC2\xB1",                                     /* ± */
    "\xC2\xA0",                                     /* NBSP */
    "\xE2\x80\x99",                                 /* ’ (a joiner between letters) */
    "\xE2\x80\x8B",                                 /* zero-width space */
    "\xE2\x80\xA6",                                 /* … */
    "\xE4\xB8\xAD\xE6\x96\x87",                     /* 中文 */
    "\xEA\xB0\x80",                                 /* 가 */
    "\xE1\x84\x80\xE1\x85\xA1",                     /* Hangul jamo L V */
    "\xD8\x80",                                     /* U+0600, Prepend */
    "\xD9\xA3",                                     /* Arabic-Indic digit three */
    "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB", /* woman ZWJ laptop */
    "\xF0\x9F\x87\xAB\xF0\x9F\x87\xB7",             /* flag FR */
    "\xE2\x80\x8D",                                 /* ZWJ */
    "\xEF\xB8\x8F",                                 /* VS16 */
    "\xE3\x80\x82",                                 /* 。 */
    "\xFF",                                         /* invalid byte */
    "\xC3",                                         /* truncated sequence */
    "\xE4\xB8",                                     /* truncated three-byte sequence */
    "\xED\xA0\x80",                                 /* a surrogate, invalid */
    "\xC0\xAF",                                     /* overlong, invalid */
    "\xE2\x80\xA8",                                 /* line separator */
};
#define N_NON_ASCII (sizeof NON_ASCII / sizeof *NON_ASCII)

static void test_empty_and_single_bytes(void **state)
{
    (void)state;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    check_all("", 0, &wb, &wcap);
    for (int b = 1; b < 256; b++) {
        char s[2] = {(char)b, 0};
        check_all(s, 1, &wb, &wcap);
    }
    free(wb);
}

/* Every ASCII byte right before and right after every non-ASCII piece, and
 * separated from it by a space, a tab, a newline, CR LF or two spaces; each
 * inside a short word context so joiners and runs meet the piece. */
static void test_ascii_next_to_non_ascii(void **state)
{
    (void)state;
    static const char *const GAPS[] = {"", " ", "\t", "\n", "\r\n", "  ", " \r", "\r"};
    ragd_span *wb = NULL;
    size_t wcap = 0;
    char s[96];
    for (int b = 1; b < 0x80; b++)
        for (size_t p = 0; p < N_NON_ASCII; p++)
            for (size_t g = 0; g < sizeof GAPS / sizeof *GAPS; g++) {
                const char *x = NON_ASCII[p], *gap = GAPS[g];
                /* "ab3" b gap X gap b "cd4" */
                int n = snprintf(s, sizeof s, "ab3%c%s%s%s%ccd4", b, gap, x, gap, b);
                check_all(s, (size_t)n, &wb, &wcap);
                /* X gap b gap X, and b X b */
                n = snprintf(s, sizeof s, "%s%s%c%s%s", x, gap, b, gap, x);
                check_all(s, (size_t)n, &wb, &wcap);
                n = snprintf(s, sizeof s, "1%c%s%c2 x", b, x, b);
                check_all(s, (size_t)n, &wb, &wcap);
            }
    free(wb);
}

static const char *const ASCII_PIECES[] = {
    "a",
    "Word",
    "don't",
    "x'",
    "'y",
    "3.14",
    "1,000",
    "3.",
    ".5",
    "a.b",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\r",
    "\t",
    ".",
    "!",
    "?",
    "-",
    "\x01",
    "#",
    "supercalifragilistic",
    "abcdef",
    "abcdefg",
    "0123456789012",
    "The cat sat on the mat. ",
    "e.g. ",
    "Dr. Smith ",
};
#define N_ASCII (sizeof ASCII_PIECES / sizeof *ASCII_PIECES)

/* Random texts: mostly ASCII with non-ASCII pieces here and there (as in
 * SciFact abstracts), and some dense in non-ASCII. */
static void test_random_texts(void **state)
{
    (void)state;
    uint64_t seed = 0x9E3779B97F4A7C15u;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    char buf[2048];
    for (size_t k = 0; k < 20000; k++) {
        size_t n = 0, want = rnd(&seed) % (k % 10 == 0 ? 1500 : 300);
        unsigned dense = (unsigned)(rnd(&seed) % 4); /* 0: ASCII only .. 3: dense */
        while (n < want) {
            bool na = dense && rnd(&seed) % (dense == 3 ? 2 : 12) == 0;
            const char *p =
                na ? NON_ASCII[rnd(&seed) % N_NON_ASCII] : ASCII_PIECES[rnd(&seed) % N_ASCII];
            size_t l = strlen(p);
            if (n + l + 1 > sizeof buf) break;
            memcpy(buf + n, p, l);
            n += l;
        }
        buf[n] = '\0';
        check(buf, n, k % 3 ? 0 : 12345, k % 5, k % 4 != 0, &wb, &wcap);
    }
    free(wb);
}

/* Random bytes (every value), short and long. */
static void test_random_bytes(void **state)
{
    (void)state;
    uint64_t seed = 77;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    char buf[600];
    for (size_t k = 0; k < 20000; k++) {
        size_t n = rnd(&seed) % (k % 2 ? 16 : sizeof buf);
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd(&seed);
            /* Half ASCII spaces and letters, so restart points occur. */
            buf[i] = r % 4 == 0 ? ' ' : r % 4 == 1 ? (char)('a' + (r >> 8) % 26) : (char)(r >> 16);
        }
        check(buf, n, 5, 2, k % 2 == 0, &wb, &wcap);
    }
    free(wb);
}

/* Long texts, so the ASCII pass runs in slices (32 KiB, cut at restart
 * points): prose with and without non-ASCII pieces, a 100 KiB word with no
 * space, and spaces only every 40,000 bytes. */
static void test_long_texts(void **state)
{
    (void)state;
    uint64_t seed = 4242;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    size_t cap = 400000;
    char *buf = malloc(cap);
    assert_non_null(buf);
    for (int k = 0; k < 8; k++) {
        size_t n = 0, want = 50000 + rnd(&seed) % 300000;
        while (n < want) {
            bool na = k % 2 && rnd(&seed) % 40 == 0;
            const char *p =
                na ? NON_ASCII[rnd(&seed) % N_NON_ASCII] : ASCII_PIECES[rnd(&seed) % N_ASCII];
            size_t l = strlen(p);
            if (n + l + 1 > cap) break;
            memcpy(buf + n, p, l);
            n += l;
        }
        check(buf, n, 3, 2, true, &wb, &wcap);
        check(buf, n, 0, 0, false, &wb, &wcap);
    }
    for (size_t i = 0; i < 100000; i++)
        buf[i] = (char)('a' + i % 26);
    check(buf, 100000, 0, 0, true, &wb, &wcap);
    for (size_t i = 0; i < 200000; i++)
        buf[i] = i % 40000 == 39999 ? ' ' : i % 7 == 3 ? '.' : (char)('0' + i % 10);
    check(buf, 200000, 0, 1, true, &wb, &wcap);
    free(buf);
    free(wb);
}

/* The ASCII pass works on 64-byte blocks of bit masks, with runs, words and
 * the every-sixth-byte token starts carried from block to block. Every
 * alignment matters: a run of 1..140 letters or digits starting at every
 * offset 0..70 (token starts every six bytes across block ends); each
 * joiner case (' between letters, . , between digits, and the near misses)
 * with its three bytes on every offset around the first two block ends;
 * random texts over a small alphabet dense in joiners, spaces and controls
 * (every length 0..300, so the last block's length takes every value); and
 * random texts over all 128 ASCII bytes. */
static void test_ascii_blocks(void **state)
{
    (void)state;
    ragd_span *wb = NULL;
    size_t wcap = 0;
    char buf[1024];
    for (size_t off = 0; off <= 70; off++)
        for (size_t len = 1; len <= 140; len++) {
            memset(buf, ' ', off);
            for (size_t k = 0; k < len; k++)
                buf[off + k] = (char)(k % 3 == 2 ? '0' + k % 10 : 'a' + k % 26);
            buf[off + len] = '.';
            check(buf, off + len + (len % 2), off, 1, true, &wb, &wcap);
            check(buf, off + len, 0, 0, false, &wb, &wcap);
        }
    static const char *const JOIN[] = {"a'b", "1'b", "a'1",  "1.2",  "1,2",   "a.2",   "1.b",
                                       "a,b", "''",  "a''b", "1..2", "x'y'z", "1.2.3", "'a'"};
    for (size_t j = 0; j < sizeof JOIN / sizeof *JOIN; j++)
        for (size_t off = 0; off <= 140; off++)
            for (int fill = 0; fill < 3; fill++) {
                for (size_t k = 0; k < off; k++)
                    buf[k] = fill == 0   ? ' '
                             : fill == 1 ? (char)('a' + k % 26)
                                         : (char)('0' + k % 10);
                size_t l = strlen(JOIN[j]);
                memcpy(buf + off, JOIN[j], l);
                check(buf, off + l, 0, 0, true, &wb, &wcap);
                buf[off + l] = 'q';
                buf[off + l + 1] = '9';
                check(buf, off + l + 2, 9, 2, true, &wb, &wcap);
            }
    static const char ALPHA[] = "aZ09'.,  \t\n\r-!\x01\x7F_";
    uint64_t seed = 0xC0FFEE;
    for (size_t k = 0; k < 30000; k++) {
        size_t n = k < 3010 ? k / 10 : rnd(&seed) % 1000;
        bool full = k % 3 == 0;
        for (size_t i = 0; i < n; i++) {
            uint64_t r = rnd(&seed);
            buf[i] = full ? (char)(r % 128) : ALPHA[r % (sizeof ALPHA - 1)];
            if (!full && r % 7 == 0) /* some long runs */
                for (size_t q = (r >> 8) % 20; q > 0 && i + 1 < n; q--)
                    buf[++i] = (char)('a' + (r >> 16) % 26);
        }
        check(buf, n, k % 2 ? 0 : 777, k % 3, k % 4 != 3, &wb, &wcap);
    }
    free(wb);
}

/* text_sentences' abbreviation lookup (a binary search over a sorted list)
 * against the list as it was, searched linearly: "See the x w. Next one."
 * is one sentence exactly when w is an abbreviation ("etc." aside, which
 * ends a sentence before a capital), for every word of 1 to 3 letters, every
 * abbreviation and every abbreviation with one letter changed, added or
 * dropped. */
static const char *const REF_ABBREVIATIONS[] = {
    "mr",  "mrs", "ms",   "dr",  "prof", "sr",   "jr",   "st",     "vs",   "etc",  "eg",  "ie",
    "cf",  "fig", "figs", "no",  "nos",  "vol",  "vols", "approx", "jan",  "feb",  "mar", "apr",
    "jun", "jul", "aug",  "sep", "sept", "oct",  "nov",  "dec",    "inc",  "ltd",  "co",  "corp",
    "us",  "uk",  "am",   "pm",  "al",   "ed",   "eds",  "est",    "dept", "univ", "mt",  "ft",
    "gen", "gov", "rev",  "ph",  "phd",  "resp", "ca",   "op",     "cit",  "ibid", "pp",  "p",
    "sec", "ch",  "art",  "eq",  "eqs",  "ref",  "refs", "min",    "max",  "avg",  "mm",  "cm",
    "km",  "kg",  "mg",   "ml",  "hr",   "hrs",  NULL};

static bool ref_abbrev(const char *w)
{
    for (int i = 0; REF_ABBREVIATIONS[i]; i++)
        if (strcmp(w, REF_ABBREVIATIONS[i]) == 0) return true;
    return false;
}

static void check_abbrev(const char *w, size_t *hits)
{
    char s[64];
    int n = snprintf(s, sizeof s, "See the x %s. Next one.", w);
    ragd_span *sp;
    size_t ns = text_sentences(s, (size_t)n, &sp);
    bool ab = ref_abbrev(w);
    size_t want = ab && strcmp(w, "etc") != 0 ? 1 : 2;
    if (ns != want) fprintf(stderr, "abbreviation \"%s\": %zu sentences\n", w, ns);
    assert_int_equal(ns, want);
    *hits += ab;
    free(sp);
}

static void test_abbreviations(void **state)
{
    (void)state;
    size_t hits = 0;
    char w[8];
    for (int a = 'a'; a <= 'z'; a++) {
        w[0] = (char)a;
        w[1] = 0;
        check_abbrev(w, &hits);
        for (int b = 'a'; b <= 'z'; b++) {
            w[1] = (char)b;
            w[2] = 0;
            check_abbrev(w, &hits);
            for (int c = 'a'; c <= 'z'; c++) {
                w[2] = (char)c;
                w[3] = 0;
                check_abbrev(w, &hits);
            }
        }
    }
    for (int i = 0; REF_ABBREVIATIONS[i]; i++) {
        const char *r = REF_ABBREVIATIONS[i];
        size_t l = strlen(r);
        check_abbrev(r, &hits);
        for (size_t p = 0; p <= l && l < 6; p++) /* one letter added */
            for (int c = 'a'; c <= 'z'; c += 5) {
                memcpy(w, r, p);
                w[p] = (char)c;
                memcpy(w + p + 1, r + p, l - p + 1);
                check_abbrev(w, &hits);
            }
        for (size_t p = 0; p < l; p++) { /* one letter changed, one dropped */
            memcpy(w, r, l + 1);
            w[p] = w[p] == 'z' ? 'a' : (char)(w[p] + 1);
            check_abbrev(w, &hits);
            memcpy(w, r, p);
            memcpy(w + p, r + p + 1, l - p);
            if (w[0]) check_abbrev(w, &hits);
        }
    }
    assert_true(hits >= 78);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_and_single_bytes),
        cmocka_unit_test(test_ascii_next_to_non_ascii),
        cmocka_unit_test(test_random_texts),
        cmocka_unit_test(test_random_bytes),
        cmocka_unit_test(test_long_texts),
        cmocka_unit_test(test_ascii_blocks),
        cmocka_unit_test(test_abbreviations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
