/* fuzz/fuzz_text.c — UTF-8 validation, normalization, folding and
 * segmentation (core/text.h) on arbitrary bytes.
 *
 * Properties: text_utf8_check agrees with decoding the input code point by
 * code point (text_decode, no NUL); text_escape_invalid always gives valid
 * UTF-8 and leaves a valid string as it is; on valid input, text_normalize
 * gives valid UTF-8 with no CR and no leading BOM and is idempotent,
 * text_fold and text_space_cjk give valid UTF-8, word and sentence spans are
 * non-empty, in bounds, in order, disjoint and valid UTF-8 slices,
 * text_token_starts finds text_count_tokens ascending starts, and
 * text_grapheme_floor(p) <= p lands on a code point boundary.
 */
#include <stdbool.h>
#include <string.h>

#include "core/text.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

static bool valid(const char *s, size_t n)
{
    return text_utf8_check(s, n, NULL, NULL);
}

static void check_spans(const char *s, size_t n, const ragd_span *sp, size_t k)
{
    size_t prev = 0;
    for (size_t i = 0; i < k; i++) {
        FUZZ_CHECK(sp[i].start >= prev && sp[i].start < sp[i].end && sp[i].end <= n);
        FUZZ_CHECK(valid(s + sp[i].start, sp[i].end - sp[i].start));
        prev = sp[i].end;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    bool decodes = true;
    for (size_t i = 0; i < size;) {
        int32_t cp;
        size_t l = text_decode(s, size, i, &cp);
        if (!l || cp == 0) {
            decodes = false;
            break;
        }
        i += l;
    }
    size_t bad = 0;
    const char *why = NULL;
    bool ok = text_utf8_check(s, size, &bad, &why);
    FUZZ_CHECK(ok == decodes);
    if (!ok) FUZZ_CHECK(bad < size && why != NULL);

    char *z = malloc(size + 1);
    memcpy(z, s, size);
    z[size] = '\0';
    char *esc = text_escape_invalid(z);
    FUZZ_CHECK(esc && valid(esc, strlen(esc)));
    if (ok) FUZZ_CHECK(!strcmp(esc, z));
    free(esc);
    free(z);
    if (!ok) return 0;

    ragd_error err = {0};
    char *norm = NULL;
    size_t nl = 0;
    FUZZ_CHECK(text_normalize(s, size, &norm, &nl, &err) == RAGD_OK);
    FUZZ_CHECK(valid(norm, nl) && strlen(norm) == nl && !memchr(norm, '\r', nl));
    FUZZ_CHECK(nl < 3 || memcmp(norm, "\xEF\xBB\xBF", 3) != 0);
    char *again = NULL;
    size_t al = 0;
    FUZZ_CHECK(text_normalize(norm, nl, &again, &al, &err) == RAGD_OK);
    FUZZ_CHECK(al == nl && !memcmp(again, norm, nl));
    free(again);

    for (int strip = 0; strip < 2; strip++) {
        size_t fl = 0;
        char *f = text_fold(norm, nl, strip, &fl);
        FUZZ_CHECK(f && strlen(f) == fl && valid(f, fl));
        free(f);
    }
    char *sp = text_space_cjk(norm, nl);
    FUZZ_CHECK(sp && valid(sp, strlen(sp)));
    free(sp);

    ragd_span *w = NULL;
    size_t nw = text_words(norm, nl, &w);
    check_spans(norm, nl, w, nw);
    free(w);
    ragd_span *se = NULL;
    size_t ns = text_sentences(norm, nl, &se);
    check_spans(norm, nl, se, ns);
    free(se);

    size_t *ts = NULL;
    size_t nt = text_token_starts(norm, nl, &ts);
    FUZZ_CHECK(nt == text_count_tokens(norm, nl));
    for (size_t i = 0; i < nt; i++)
        FUZZ_CHECK(ts[i] < nl && (i == 0 || ts[i] > ts[i - 1]));
    free(ts);

    for (size_t p = 0; p <= nl; p += 1 + p / 4) {
        size_t g = text_grapheme_floor(norm, nl, p);
        FUZZ_CHECK(g <= p);
        FUZZ_CHECK(g == nl || ((unsigned char)norm[g] & 0xC0) != 0x80);
    }
    free(norm);
    return 0;
}
