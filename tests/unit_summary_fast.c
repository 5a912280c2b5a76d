/* tests/unit_summary_fast.c — the summarizer's fast paths against the slow
 * references they replaced.
 *
 * TextRank's vocabulary (tr_vocab, ingest/textrank.c) must number words
 * exactly as the hmap it replaced (core/hmap.h: an id per key in insertion
 * order, vocab.n - 1 when added): same id for every word, same size, on
 * random words from pieces (ASCII, one byte, empty, NUL bytes, non-ASCII,
 * invalid UTF-8, CJK, combining marks) across many table growths.
 *
 * put_lower (ingest/words.c) copies a leading ASCII run in one go: same
 * bytes as the code-point-by-code-point loop it replaced, appended to an
 * empty or a non-empty buffer.
 *
 * stop_find (ingest/words.c) rejects a word first on (length, first byte):
 * same answer and language mask as the plain map lookup (stop_find_ref) on
 * stop words of every list, their folded and typographic-apostrophe forms,
 * and random words. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/text.h"

#include "core/hmap.h"
#include "ingest/summary_internal.h"

/* The reference: an hmap numbering its keys by insertion (textrank.c
 * before the arena). */
static int64_t ref_id(hmap *m, const char *p, size_t len)
{
    bool added;
    int64_t *v = hmap_put(m, p, len, &added);
    if (added) *v = (int64_t)m->n - 1;
    return *v;
}

static void check_word(tr_vocab *v, hmap *m, const char *p, size_t len)
{
    int64_t a = tr_vocab_id(v, p, len), b = ref_id(m, p, len);
    if (a != b) {
        fprintf(stderr, "id %lld vs %lld for %zu bytes:", (long long)a, (long long)b, len);
        for (size_t i = 0; i < len; i++)
            fprintf(stderr, " %02X", (unsigned char)p[i]);
        fprintf(stderr, "\n");
        fail();
    }
    assert_int_equal(tr_vocab_size(v), m->n);
}

static void test_vocab_edges(void **state)
{
    (void)state;
    tr_vocab *v = tr_vocab_new();
    hmap m = {0};
    static const struct {
        const char *s;
        size_t n;
    } w[] = {
        {"", 0},
        {"a", 1},
        {"ab", 2},
        {"a\0b", 3},
        {"a\0c", 3},
        {"\0", 1},
        {"\xC3\xA9t\xC3\xA9", 6},
        {"e\xCC\x81", 3},
        {"\xE4\xB8\xAD", 3},
        {"\xE4\xB8\xAD\xE6\x96\x87", 6},
        {"\xFF", 1},
        {"\xC3", 1},
        {"ab", 2},
        {"", 0},
        {"a\0b", 3},
        {"\xE4\xB8\xAD", 3},
    };
    for (size_t i = 0; i < sizeof w / sizeof *w; i++)
        check_word(v, &m, w[i].s, w[i].n);
    assert_int_equal(tr_vocab_size(v), 12);
    tr_vocab_free(v);
    tr_vocab_free(NULL);
    hmap_free(&m);
    /* An empty vocabulary. */
    v = tr_vocab_new();
    assert_int_equal(tr_vocab_size(v), 0);
    tr_vocab_free(v);
}

static void test_vocab_random(void **state)
{
    (void)state;
    static const char *const piece[] = {"a",
                                        "b",
                                        "e",
                                        "z",
                                        "q",
                                        "th",
                                        "ing",
                                        "'",
                                        "-",
                                        "1",
                                        "\xC3\xA9",
                                        "\xCC\x81",
                                        "\xE4\xB8\xAD",
                                        "\xE6\x96\x87",
                                        "\xE3\x81\x82",
                                        "\xF0\x9F\x98\x80",
                                        "\xFF",
                                        "\x80",
                                        "\xCE\xB1"};
    const size_t np = sizeof piece / sizeof *piece;
    uint64_t seed = 42;
    char buf[64];
    for (int doc = 0; doc < 40; doc++) {
        tr_vocab *v = tr_vocab_new();
        hmap m = {0};
        /* From a few words to ~20,000 (several growths of both tables). */
        size_t nwords = (size_t)(doc % 8 == 7 ? 20000 : 50 + doc * 40);
        for (size_t k = 0; k < nwords; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            size_t parts = (size_t)(seed >> 60) % 6, n = 0;
            for (size_t j = 0; j < parts; j++) {
                seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
                const char *p = piece[(seed >> 33) % np];
                size_t pl = strlen(p);
                memcpy(buf + n, p, pl);
                n += pl;
            }
            if (n && (seed >> 20) % 50 == 0) buf[(seed >> 8) % n] = '\0'; /* a NUL inside */
            check_word(v, &m, buf, n);
        }
        tr_vocab_free(v);
        hmap_free(&m);
    }
}

/* put_lower before the ASCII run (words.c). */
static void put_lower_ref(ragd_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x80) {
            ragd_buf_putc(b, (char)tolower(c));
            i++;
            continue;
        }
        int32_t cp;
        size_t l = text_decode(s, n, i, &cp);
        if (!l) {
            ragd_buf_putc(b, (char)c);
            i++;
            continue;
        }
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t el = utf8proc_encode_char(utf8proc_tolower(cp), enc);
        ragd_buf_append(b, (const char *)enc, (size_t)el);
        i += l;
    }
}

static void same_lower(const char *prefix, const char *s, size_t n)
{
    ragd_buf a = RAGD_BUF_INIT, b = RAGD_BUF_INIT;
    ragd_buf_puts(&a, prefix);
    ragd_buf_puts(&b, prefix);
    put_lower(&a, s, n);
    put_lower_ref(&b, s, n);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(ragd_buf_str(&a), ragd_buf_str(&b), a.len + 1); /* the NUL too */
    ragd_buf_free(&a);
    ragd_buf_free(&b);
}

static void test_put_lower(void **state)
{
    (void)state;
    static const char *const w[] = {"",
                                    "a",
                                    "A",
                                    "Hello",
                                    "HELLO World",
                                    "\xC3\x89"
                                    "COLE",
                                    "Stra\xC3\x9F"
                                    "E",
                                    "ABC\xC3\x89"
                                    "DEF",
                                    "\xCE\x91\xCE\x92",
                                    "\xE4\xB8\xAD\xE6\x96\x87X",
                                    "AB\xFF"
                                    "CD",
                                    "\xC3",
                                    "E\xCC\x81",
                                    "\xF0\x9F\x98\x80Z"};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        same_lower("", w[i], strlen(w[i]));
        same_lower("Prefix ", w[i], strlen(w[i]));
        for (size_t m = 0; m < strlen(w[i]); m++)
            same_lower("", w[i], m); /* cut anywhere, inside a sequence too */
    }
    same_lower("", "A\0B", 3);
    uint64_t seed = 7;
    char buf[64];
    for (int r = 0; r < 20000; r++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = (size_t)(seed >> 58);
        for (size_t k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[k] = (char)(seed >> 56);
        }
        same_lower(r & 1 ? "x" : "", buf, n);
    }
}

static void same_stop(const char *w, size_t n)
{
    unsigned ma = 99, mb = 77;
    bool a = stop_find(w, n, &ma), b = stop_find_ref(w, n, &mb);
    if (a != b || ma != mb) {
        fprintf(stderr, "stop_find differs on %zu bytes '%.*s': %d/%u vs %d/%u\n", n, (int)n, w, a,
                ma, b, mb);
        fail();
    }
    assert_int_equal(is_stop(w, n), b);
    assert_int_equal(stop_find(w, n, NULL), b);
}

static void test_stop_find(void **state)
{
    (void)state;
    static const char *const w[] = {"the",
                                    "a",
                                    "of",
                                    "and",
                                    "however",
                                    "therefore",
                                    "themselves",
                                    "yourselves",
                                    "l'",
                                    "d'",
                                    "qu'",
                                    "n'",
                                    "dell'",
                                    "un'",
                                    "l\xE2\x80\x99",
                                    "don't",
                                    "don\xE2\x80\x99t",
                                    "dont",
                                    "don",
                                    "ll",
                                    "https",
                                    "www",
                                    "\xC3\xA9t\xC3\xA9",
                                    "ete",
                                    "\xC3\xBC"
                                    "ber",
                                    "uber",
                                    "m\xC3\xAAme",
                                    "meme",
                                    "o\xC3\xB9",
                                    "ou",
                                    "der",
                                    "die",
                                    "das",
                                    "und",
                                    "el",
                                    "los",
                                    "il",
                                    "gli",
                                    "het",
                                    "een",
                                    "isn't",
                                    "wasn\xE2\x80\x99t",
                                    "patients",
                                    "cell",
                                    "protein",
                                    "The",
                                    "THE",
                                    "",
                                    "x",
                                    "\xE2",
                                    "\xE2\x80",
                                    "\xE2\x80\x99",
                                    "a\xE2\x80\x99",
                                    "fifteenletters1",
                                    "sixteenletters12",
                                    "\xE4\xB8\xAD",
                                    "\xFF",
                                    "e\xCC\x81t\xCC\x81"};
    for (size_t i = 0; i < sizeof w / sizeof *w; i++) {
        size_t n = strlen(w[i]);
        same_stop(w[i], n);
        for (size_t m = 0; m < n; m++)
            same_stop(w[i], m);
    }
    assert_true(stop_find_ref("the", 3, NULL));
    assert_true(stop_find_ref("l\xE2\x80\x99", 4, NULL));
    uint64_t seed = 11;
    static const char alpha[] = "abcdefghijklmnopqrstuvwxyz'etaoinshr";
    char buf[20];
    for (int r = 0; r < 200000; r++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t n = 1 + (size_t)(seed >> 60) % 8;
        for (size_t k = 0; k < n; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            buf[k] = alpha[(seed >> 33) % (sizeof alpha - 1)];
        }
        same_stop(buf, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vocab_edges),
        cmocka_unit_test(test_vocab_random),
        cmocka_unit_test(test_put_lower),
        cmocka_unit_test(test_stop_find),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
