/* tests/unit_normalize.c — text_normalize's piecewise NFC (ASCII runs
 * copied, only non-ASCII runs through utf8proc) against the slow
 * reference it replaced: the whole text, line endings fixed, through one
 * utf8proc_map call. Same bytes, same length, same status on every input:
 * fixed edge cases (empty, one byte, NUL bytes, CR/LF, BOMs, combining
 * marks after ASCII and after non-ASCII, canonical reordering, Hangul
 * jamo, CJK, invalid UTF-8) and random strings drawn from those pieces. */
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

/* The implementation before the fast path, verbatim but for ragd_buf. */
static ragd_status norm_ref(const char *s, size_t n, char **out, size_t *out_len)
{
    char *b = malloc(n + 1);
    size_t bl = 0, i = 0;
    while (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0)
        i += 3;
    for (; i < n; i++) {
        if (s[i] == '\r') {
            b[bl++] = '\n';
            if (i + 1 < n && s[i + 1] == '\n') i++;
        } else {
            b[bl++] = s[i];
        }
    }
    b[bl] = '\0';
    utf8proc_uint8_t *nfc = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)b, (utf8proc_ssize_t)bl, &nfc,
                                      UTF8PROC_STABLE | UTF8PROC_COMPOSE);
    free(b);
    if (r < 0) {
        free(nfc);
        return RAGD_EINPUT;
    }
    *out = (char *)nfc;
    *out_len = (size_t)r;
    return RAGD_OK;
}

/* text_normalize(s) == norm_ref(s): status, length, bytes, NUL end. */
static void same(const char *s, size_t n)
{
    char *a = NULL, *b = NULL;
    size_t al = 0, bl = 0;
    ragd_error err = {0};
    ragd_status ra = text_normalize(s, n, &a, &al, &err);
    ragd_status rb = norm_ref(s, n, &b, &bl);
    if (ra != rb || (ra == RAGD_OK && (al != bl || memcmp(a, b, al) != 0 || a[al] != '\0'))) {
        fprintf(stderr, "differs on %zu bytes:", n);
        for (size_t i = 0; i < n; i++)
            fprintf(stderr, " %02X", (unsigned char)s[i]);
        fprintf(stderr, "\n  status %d vs %d, length %zu vs %zu\n", (int)ra, (int)rb, al, bl);
        fail();
    }
    if (ra != RAGD_OK) assert_non_null(strstr(err.msg, "cannot normalize text"));
    free(a);
    free(b);
}

static void same_s(const char *s)
{
    same(s, strlen(s));
}

static void test_normalize_edges(void **state)
{
    (void)state;
    same("", 0);
    same("a", 1);
    same("\r", 1);
    same("\n", 1);
    same("\0", 1);
    same("a\0b\0", 4);
    same_s("\xC3\xA9");
    same_s("\xC3");                      /* truncated */
    same_s("\x80");                      /* lone continuation */
    same_s("ab\xC3x");                   /* lead byte, then ASCII */
    same_s("\xED\xA0\x80");              /* a surrogate */
    same_s("\xF4\x90\x80\x80");          /* above U+10FFFF */
    same_s("\xC0\x80");                  /* overlong NUL */
    same_s("ok \xE4\xB8\xAD \xFF tail"); /* invalid after valid runs */
    same_s("e\xCC\x81");                 /* e + acute: composes with ASCII */
    same_s("\xCC\x81");                  /* a mark with nothing before it */
    same_s("\xCC\x81x");
    same_s("cafe\xCC\x81 A\xCC\x8A\r\nZ\xCC\x8C");
    same_s("a\xCC\xA3\xCC\x87 a\xCC\x87\xCC\xA3"); /* reordering: dot below, dot above */
    same_s("\xC3\xA9\xCC\xA3");                    /* precomposed + mark: recomposed */
    same_s("s\xCC\xA3\xCC\x87.");
    same_s("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"); /* Hangul jamo L V T -> 각 */
    same_s("\xEA\xB0\x80\xE1\x86\xA8");             /* LV + T */
    same_s("\xE4\xB8\xAD\xE6\x96\x87\xE3\x80\x82\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E");
    same_s("\xEF\xBB\xBF\xEF\xBB\xBF"
           "a\r\r\n\n\xEF\xBB\xBF");
    same_s("\xEF\xBB\xBF");
    same_s("\xEF\xBB");
    same_s("\xEF\xAC\x81 \xE2\x84\xAB \xE2\x84\xA6"); /* fi ligature; Angstrom, Ohm: singletons */
    same_s("\xF0\x9F\x98\x80\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7 ok");
    same_s("\xE0\xA4\x95\xE0\xA4\xBC \xE0\xA4\x95\xE0\xA5\x8D\xE0\xA4\xB7"); /* Devanagari nukta */
    same_s("\xCE\xB1\xCC\x81\xCD\x85"); /* alpha, acute, ypogegrammeni */
}

/* Random strings from pieces that stress the cuts: ASCII letters, CR, LF,
 * NUL, BOMs, combining marks, precomposed letters, Hangul jamo, CJK, and
 * sometimes an invalid byte. */
static void test_normalize_random(void **state)
{
    (void)state;
    static const char *const piece[] = {"a",
                                        "e",
                                        "A",
                                        "Z",
                                        " ",
                                        ".",
                                        "\r",
                                        "\n",
                                        "\r\n",
                                        "\t",
                                        "x\0y",
                                        "\xEF\xBB\xBF",
                                        "\xCC\x81",
                                        "\xCC\x8A",
                                        "\xCC\xA3",
                                        "\xCC\x87",
                                        "\xCD\x85",
                                        "\xC3\xA9",
                                        "\xC3\x85",
                                        "\xE1\x84\x80",
                                        "\xE1\x85\xA1",
                                        "\xE1\x86\xA8",
                                        "\xEA\xB0\x80",
                                        "\xE4\xB8\xAD",
                                        "\xE3\x80\x82",
                                        "\xE2\x80\x99",
                                        "\xF0\x9F\x98\x80",
                                        "\xE2\x84\xAB",
                                        "\xCE\xB1",
                                        "\xE0\xA4\xBC",
                                        "\xE0\xA4\x95"};
    const size_t np = sizeof piece / sizeof *piece;
    /* piece lengths (one has a NUL inside) */
    size_t plen[sizeof piece / sizeof *piece];
    for (size_t i = 0; i < np; i++)
        plen[i] = strcmp(piece[i], "x") == 0 ? 3 : strlen(piece[i]);
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    char buf[512];
    for (int round = 0; round < 20000; round++) {
        size_t n = 0;
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        size_t want = (size_t)(seed >> 33) % 40;
        for (size_t k = 0; k < want; k++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            uint32_t r = (uint32_t)(seed >> 33);
            if (r % 97 == 0) {
                buf[n++] = (char)(0x80 + (r >> 8) % 0x80); /* a stray byte >= 0x80 */
                continue;
            }
            size_t p = r % np;
            memcpy(buf + n, piece[p], plen[p]);
            n += plen[p];
        }
        same(buf, n);
        /* Every prefix of the first rounds: cuts inside sequences too. */
        if (round < 500)
            for (size_t m = 0; m < n; m++)
                same(buf, m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normalize_edges),
        cmocka_unit_test(test_normalize_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
