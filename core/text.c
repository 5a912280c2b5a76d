/* core/text.c — UTF-8 validation, normalization and segmentation.
 *
 * Design: we decode code points ourselves for validation (strict: no
 * overlongs, no surrogates, nothing above U+10FFFF) and lean on utf8proc for
 * the Unicode tables (categories, composition, case folding, grapheme breaks).
 * Segmentation is rule-based rather than full UAX #29: word and sentence
 * rules are tuned for retrieval (abbreviations, decimals, CJK, Markdown
 * blocks), which UAX #29 alone gets wrong for "e.g." or "3.14".
 */
#include "core/text.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>
#if defined(__SSE2__) && !defined(RAGD_TEXT_NO_SIMD)
#include <emmintrin.h>
#endif

#include "core/buf.h"

size_t text_decode(const char *str, size_t n, size_t i, int32_t *cp)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    int32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > n) return 0;
    for (size_t k = 1; k < len; k++) {
        if ((s[i + k] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    *cp = v;
    return len;
}

bool text_utf8_check(const char *s, size_t n, size_t *bad_off, const char **why)
{
    size_t i = 0;
    while (i < n) {
        if (s[i] == '\0') {
            if (bad_off) *bad_off = i;
            if (why) *why = "contains a NUL byte";
            return false;
        }
        int32_t cp;
        size_t l = text_decode(s, n, i, &cp);
        if (!l) {
            if (bad_off) *bad_off = i;
            if (why) *why = "invalid UTF-8";
            return false;
        }
        i += l;
    }
    return true;
}

/* NFC of s[0..n) appended to b, piece by piece (the argument of
 * fold_pieces below holds for NFC too: no composition takes an ASCII
 * character as its second part and canonical reordering stops at it, so the
 * text can be cut before any ASCII character). ASCII runs are copied as they
 * are (NFC leaves ASCII alone); each non-ASCII run goes to utf8proc with the
 * ASCII character before it, which a combining mark in the run may join.
 * Returns 0, or utf8proc's (negative) error for the first run it rejects:
 * an invalid sequence is invalid in its run as in the whole text, since no
 * multi-byte sequence contains an ASCII byte. */
static utf8proc_ssize_t nfc_pieces(const char *s, size_t n, ragd_buf *b)
{
    size_t i = 0;
    while (i < n) {
        size_t q = i; /* the next non-ASCII byte */
        while (q < n && (unsigned char)s[q] < 0x80)
            q++;
        size_t a_end = q < n && q > i ? q - 1 : q; /* copied here: [i, a_end) */
        ragd_buf_append(b, s + i, a_end - i);
        if (q >= n) break;
        size_t r = q; /* the end of the non-ASCII run */
        while (r < n && (unsigned char)s[r] >= 0x80)
            r++;
        utf8proc_uint8_t *res = NULL;
        utf8proc_ssize_t m =
            utf8proc_map((const utf8proc_uint8_t *)s + a_end, (utf8proc_ssize_t)(r - a_end), &res,
                         UTF8PROC_STABLE | UTF8PROC_COMPOSE);
        if (m < 0) {
            free(res);
            return m;
        }
        ragd_buf_append(b, (const char *)res, (size_t)m);
        free(res);
        i = r;
    }
    return 0;
}

ragd_status text_normalize(const char *s, size_t n, char **out, size_t *out_len, ragd_error *err)
{
    /* Line endings and BOM first, so NFC sees the final text. */
    size_t i = 0;
    /* Every leading BOM: after dropping one, the next would lead the text
     * and a second normalization would drop it (fuzz_text found it). */
    while (n - i >= 3 && memcmp(s + i, "\xEF\xBB\xBF", 3) == 0)
        i += 3;
    const char *t = s + i;
    size_t tn = n - i;
    char *lf = NULL; /* t with CRLF and lone CR as LF, when it has a CR */
    if (tn && memchr(t, '\r', tn)) {
        lf = ragd_xmalloc(tn + 1);
        size_t m = 0;
        for (size_t k = 0; k < tn; k++) {
            if (t[k] == '\r') {
                lf[m++] = '\n';
                if (k + 1 < tn && t[k + 1] == '\n') k++;
            } else {
                lf[m++] = t[k];
            }
        }
        t = lf;
        tn = m;
    }
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_reserve(&b, tn);
    utf8proc_ssize_t r = nfc_pieces(t, tn, &b);
    free(lf);
    if (r < 0) {
        ragd_buf_free(&b);
        return ragd_error_set(err, RAGD_EINPUT, "cannot normalize text: %s", utf8proc_errmsg(r));
    }
    *out_len = b.len;
    *out = ragd_buf_steal(&b);
    return RAGD_OK;
}

/* Fold s[0..n) with utf8proc, appending to b; false on invalid input. */
static bool fold_utf8proc(const char *s, size_t n, int opts, ragd_buf *b)
{
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &res,
                                      (utf8proc_option_t)opts);
    if (r >= 0) ragd_buf_append(b, (const char *)res, (size_t)r);
    free(res);
    return r >= 0;
}

/* text_fold piece by piece: a run of ASCII characters folds to its
 * lowercase (NFKC leaves ASCII alone, case folding maps only A-Z), and
 * normalization never acts across the start of an ASCII character (it is a
 * starter no composition takes as its second part, and canonical reordering
 * stops at it), so the text can be cut before any ASCII character and the
 * pieces folded on their own. Each non-ASCII run goes to utf8proc with the
 * ASCII character before it, which a combining mark in the run may join. */
static bool fold_pieces(const char *s, size_t n, int opts, ragd_buf *out)
{
    ragd_buf b = *out; /* worked on in a local, as before, and handed back */
    ragd_buf_reset(&b);
    ragd_buf_reserve(&b, n);
    size_t i = 0;
    while (i < n) {
        size_t q = i; /* the next non-ASCII byte */
        while (q < n && (unsigned char)s[q] < 0x80)
            q++;
        size_t a_end = q < n && q > i ? q - 1 : q; /* ASCII folded here: [i, a_end) */
        ragd_buf_reserve(&b, a_end - i);
        for (size_t k = i; k < a_end; k++) {
            char c = s[k];
            b.data[b.len++] = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }
        b.data[b.len] = '\0';
        if (q >= n) break;
        size_t r = q; /* the end of the non-ASCII run */
        while (r < n && (unsigned char)s[r] >= 0x80)
            r++;
        if (!fold_utf8proc(s + a_end, r - a_end, opts, &b)) {
            ragd_buf_reset(&b);
            *out = b;
            return false;
        }
        i = r;
    }
    *out = b;
    return true;
}

bool text_fold_buf(const char *s, size_t n, bool strip_marks, ragd_buf *out)
{
    int fopts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
    if (strip_marks) fopts |= UTF8PROC_STRIPMARK;
    return fold_pieces(s, n, fopts, out);
}

char *text_fold(const char *s, size_t n, bool strip_marks, size_t *out_len)
{
    ragd_buf b = RAGD_BUF_INIT;
    text_fold_buf(s, n, strip_marks, &b);
    if (out_len) *out_len = b.len;
    return ragd_buf_steal(&b); /* "" when nothing was allocated */
}

/* The fold of the whole text in one utf8proc call: what fold_pieces must
 * equal (tests/unit_text.c compares them). */
char *text_fold_reference(const char *s, size_t n, bool strip_marks, size_t *out_len)
{
    utf8proc_uint8_t *res = NULL;
    int opts = UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
    if (strip_marks) opts |= UTF8PROC_STRIPMARK;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &res,
                                      (utf8proc_option_t)opts);
    if (r < 0) {
        free(res);
        if (out_len) *out_len = 0;
        return ragd_xstrdup("");
    }
    if (out_len) *out_len = (size_t)r;
    return (char *)res;
}

bool text_is_cjk(int32_t cp)
{
    if (cp < 0x3040) return false;
    return (cp >= 0x3040 && cp <= 0x30FF) ||   /* hiragana, katakana */
           (cp >= 0x3400 && cp <= 0x4DBF) ||   /* CJK ext A */
           (cp >= 0x4E00 && cp <= 0x9FFF) ||   /* CJK unified */
           (cp >= 0xAC00 && cp <= 0xD7AF) ||   /* hangul syllables */
           (cp >= 0xF900 && cp <= 0xFAFF) ||   /* compatibility ideographs */
           (cp >= 0x20000 && cp <= 0x3FFFF) || /* ext B.. */
           (cp >= 0x31F0 && cp <= 0x31FF);     /* katakana ext */
}

/* ASCII classes, the fast path of the segmenters: C_WORD is isalnum, C_DIGIT
 * isdigit, C_SPACE is_space (' ', \t..\r) and C_PLAIN what text_sentences
 * passes over without a look (not space, newline or . ! ?), C_SKIP what it
 * passes over once a sentence has started (plain or space, not newline). Bytes from 0x80
 * on have no class, so `ASCII_CLASS[b] & C_X` also tests b < 0x80. */
enum { C_WORD = 1, C_DIGIT = 2, C_SPACE = 4, C_PLAIN = 8, C_SKIP = 16 };

static const unsigned char ASCII_CLASS[256] = {
/* 0 from 0x80 on */
#define W_ (C_WORD | C_PLAIN | C_SKIP)
#define D_ (C_WORD | C_DIGIT | C_PLAIN | C_SKIP)
#define P_ (C_PLAIN | C_SKIP)
#define S_ (C_SPACE | C_SKIP)
#define N_ C_SPACE
    P_, P_, P_, P_, P_, P_, P_, P_, P_, S_, N_, S_, S_, S_, P_, P_, /* 0x00 */
    P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, /* 0x10 */
    S_, 0,  P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, P_, 0,  P_, /* ' ' ! .. . / */
    D_, D_, D_, D_, D_, D_, D_, D_, D_, D_, P_, P_, P_, P_, P_, 0,  /* 0-9 .. ? */
    P_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, /* @ A-O */
    W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, P_, P_, P_, P_, P_, /* P-Z .. _ */
    P_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, /* ` a-o */
    W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, W_, P_, P_, P_, P_, P_, /* p-z .. DEL */
#undef W_
#undef D_
#undef P_
#undef S_
#undef N_
};

static bool is_wordchar(int32_t cp)
{
    if (cp < 0x80) return (ASCII_CLASS[cp] & C_WORD) != 0;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

static bool is_space(int32_t cp)
{
    if (cp < 0x80) return (ASCII_CLASS[cp] & C_SPACE) != 0;
    utf8proc_category_t c = utf8proc_category(cp);
    return c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP ||
           cp == 0x200B || cp == 0xFEFF;
}

static bool is_digit_cp(int32_t cp)
{
    return cp < 0x80 ? (ASCII_CLASS[cp] & C_DIGIT) != 0
                     : utf8proc_category(cp) == UTF8PROC_CATEGORY_ND;
}

/* Decode leniently: invalid bytes count as one-byte U+FFFD so segmentation
 * never loops or reads past the end, even on unchecked input. */
static inline unsigned cls(const char *s, size_t i)
{
    return ASCII_CLASS[(unsigned char)s[i]];
}

/* The end of the run of ASCII letters and digits starting at i (s[i] is
 * one): four bytes per step while they last. */
static inline size_t word_run_end(const char *s, size_t n, size_t i)
{
    size_t j = i + 1;
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* Eight bytes at a time: for eight ASCII bytes, the top bit of each
     * byte of `word` says whether it is a letter or digit (range tests by
     * adding constants: no byte carries into the next below 0x80). The run
     * ends at the first byte without it (lowest address: lowest bits). */
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = ones * 0x80;
    while (j + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + j, 8);
        if (w & highs) break;         /* non-ASCII ahead: the byte loop decides */
        uint64_t l = w | ones * 0x20; /* A-Z to a-z */
        uint64_t alpha = (l + ones * (0x80 - 'a')) & ~(l + ones * (0x80 - 'z' - 1));
        uint64_t digit = (w + ones * (0x80 - '0')) & ~(w + ones * (0x80 - '9' - 1));
        uint64_t stop = ~(alpha | digit) & highs;
        if (stop) return j + (size_t)__builtin_ctzll(stop) / 8;
        j += 8;
    }
#else
    while (j + 4 <= n && (cls(s, j) & cls(s, j + 1) & cls(s, j + 2) & cls(s, j + 3) & C_WORD))
        j += 4;
#endif
    while (j < n && (cls(s, j) & C_WORD))
        j++;
    return j;
}

static inline size_t dec(const char *s, size_t n, size_t i, int32_t *cp)
{
    if ((unsigned char)s[i] < 0x80) {
        *cp = (unsigned char)s[i];
        return 1;
    }
    size_t l = text_decode(s, n, i, cp);
    if (!l) {
        *cp = 0xFFFD;
        return 1;
    }
    return l;
}

/* grapheme_end without the fast path: utf8proc's rules, code point by
 * code point. */
static size_t grapheme_end_slow(const char *s, size_t n, size_t i)
{
    int32_t state = 0, prev, cp;
    size_t l = dec(s, n, i, &prev);
    i += l;
    while (i < n) {
        l = dec(s, n, i, &cp);
        if (utf8proc_grapheme_break_stateful(prev, cp, &state)) break;
        prev = cp;
        i += l;
    }
    return i;
}

/* Advance from i over one extended grapheme cluster; return its end.
 * Fast path: an ASCII character followed by an ASCII character (or the end)
 * is a cluster of its own, CR LF aside (UAX #29: no ASCII character is
 * Extend, SpacingMark, Prepend, ZWJ, Hangul or regional indicator, so only
 * GB3 keeps two of them together); tests/unit_text_pins.c checks it against
 * utf8proc. */
static inline size_t grapheme_end(const char *s, size_t n, size_t i)
{
    unsigned char c = (unsigned char)s[i];
    if (c < 0x80 &&
        (i + 1 >= n || ((unsigned char)s[i + 1] < 0x80 && !(c == '\r' && s[i + 1] == '\n'))))
        return i + 1;
    return grapheme_end_slow(s, n, i);
}

size_t text_grapheme_floor(const char *s, size_t n, size_t pos)
{
    if (pos >= n) return n;
    /* Back up to a safe start: a line break or a space is always a boundary
     * before the next cluster (CR LF aside, which normalized text lacks). */
    size_t start = pos;
    while (start > 0 && s[start - 1] != '\n' && s[start - 1] != ' ' && pos - start < 4096)
        start--;
    while (start > 0 && ((unsigned char)s[start] & 0xC0) == 0x80)
        start--;
    /* Not every such position is a boundary (a mark may follow a space), and
     * when the run is longer than the limit we stopped mid-run, maybe inside a
     * cluster or between the two halves of a flag. Back up (boundedly) to where
     * the code points either side certainly break: utf8proc's stateless rule
     * says "no break" wherever the stateful one might (GB9-GB10, GB12-13),
     * except after a ZWJ (GB11 needs the state), which we never trust. */
    size_t lim = start;
    while (start > 0 && lim - start < 4096) {
        size_t p = start - 1;
        while (p > 0 && ((unsigned char)s[p] & 0xC0) == 0x80)
            p--;
        int32_t a, b;
        dec(s, n, p, &a);
        dec(s, n, start, &b);
        if (a != 0x200D && utf8proc_grapheme_break(a, b)) break;
        start = p;
    }
    size_t i = start, last = start;
    while (i < n && i <= pos) {
        last = i;
        i = grapheme_end(s, n, i);
    }
    return i <= pos ? i : last;
}

typedef struct {
    ragd_span *v;
    size_t n, cap;
} spans;

static inline void spans_push(spans *sp, size_t a, size_t b)
{
    if (sp->n == sp->cap) ragd_array_grow((void **)&sp->v, &sp->cap, sp->n + 1, sizeof *sp->v);
    sp->v[sp->n].start = a;
    sp->v[sp->n].end = b;
    sp->n++;
}

/* The words of s[i..n), appended to *sp (positions relative to s). The scan
 * never looks before i, so scanning from i equals scanning s + i. */
static void words_scan(const char *s, size_t i, size_t n, spans *sp_)
{
    spans sp = *sp_;
    while (i < n) {
        unsigned char c0 = (unsigned char)s[i];
        if (c0 < 0x80 && !(ASCII_CLASS[c0] & C_WORD)) {
            i = grapheme_end(s, n, i); /* as below, without the decoding */
            continue;
        }
        int32_t cp;
        size_t l = dec(s, n, i, &cp);
        if (text_is_cjk(cp)) {
            size_t e = grapheme_end(s, n, i);
            spans_push(&sp, i, e);
            i = e;
            continue;
        }
        if (!is_wordchar(cp)) {
            /* Skip the whole cluster: a variation selector or skin tone after
             * an emoji is a mark, not a word of its own. */
            i = grapheme_end(s, n, i);
            continue;
        }
        size_t start = i;
        bool digit = is_digit_cp(cp);
        i += l;
        while (i < n) {
            if (cls(s, i) & C_WORD) { /* a run of ASCII letters and digits */
                i = word_run_end(s, n, i);
                digit = (cls(s, i - 1) & C_DIGIT) != 0;
                /* Followed by ASCII that is no joiner: the word ends. */
                if (i < n && (unsigned char)s[i] < 0x80 && !(cls(s, i) & C_WORD) && s[i] != '\'' &&
                    s[i] != '.' && s[i] != ',')
                    break;
                continue;
            }
            l = dec(s, n, i, &cp);
            if (text_is_cjk(cp)) break;
            if (is_wordchar(cp)) {
                digit = is_digit_cp(cp);
                i += l;
                continue;
            }
            /* Joiners: apostrophe between letters, . or , between digits. */
            int32_t nx = 0;
            size_t nl = i + l < n ? dec(s, n, i + l, &nx) : 0;
            if (nl && (cp == '\'' || cp == 0x2019) && !digit && is_wordchar(nx) &&
                !is_digit_cp(nx)) {
                i += l + nl;
                continue;
            }
            if (nl && (cp == '.' || cp == ',') && digit && is_digit_cp(nx)) {
                i += l + nl;
                continue;
            }
            break;
        }
        spans_push(&sp, start, i);
    }
    *sp_ = sp;
}

size_t text_words(const char *s, size_t n, ragd_span **out)
{
    spans sp = {0};
    /* Room for a word per 5 bytes up front (English prose averages one per
     * 6-7): growing from 8 by doubling cost a realloc per size class for
     * every chunk and sentence. */
    if (n) {
        sp.cap = n / 5 + 8;
        sp.v = ragd_xmalloc(sp.cap * sizeof *sp.v);
    }
    words_scan(s, 0, n, &sp);
    if (!sp.n) { /* no words: NULL, as the contract says */
        free(sp.v);
        sp.v = NULL;
    }
    *out = sp.v;
    return sp.n;
}

/* --- tokens ----------------------------------------------------------------- */

/* Growable offsets (token starts). */
typedef struct {
    size_t *v;
    unsigned char *unit; /* with_units: 1 where a token begins a unit */
    size_t n, cap;
    bool with_units;
    size_t base; /* added to every position pushed */
} offsets;

static void offsets_grow(offsets *o)
{
    size_t nc = o->cap ? o->cap * 2 : 64;
    o->v = ragd_xrealloc(o->v, nc * sizeof *o->v);
    if (o->with_units) o->unit = ragd_xrealloc(o->unit, nc);
    o->cap = nc;
}

static inline void offsets_push(offsets *o, size_t pos, bool unit)
{
    if (o->n == o->cap) offsets_grow(o);
    if (o->with_units) o->unit[o->n] = unit;
    o->v[o->n++] = o->base + pos;
}

/* Count the tokens of s[i..n) and, with starts, record where each begins.
 * The scan never looks before i: scanning from i equals scanning s + i. */
static size_t token_scan(const char *s, size_t i, size_t n, offsets *starts)
{
    size_t count = 0;
    while (i < n) {
        if (cls(s, i) & C_SPACE) {
            i++;
            continue;
        }
        int32_t cp;
        size_t l = dec(s, n, i, &cp);
        if (is_space(cp)) {
            i += l;
            continue;
        }
        if (text_is_cjk(cp) || !is_wordchar(cp)) {
            if (starts) offsets_push(starts, i, true);
            count++;
            i = grapheme_end(s, n, i);
            continue;
        }
        /* A word: one token per started group of 6 code points. */
        size_t k = 0;
        while (i < n) {
            unsigned char b = (unsigned char)s[i];
            if (b < 0x80) {
                if (!(ASCII_CLASS[b] & C_WORD)) break;
                /* A run of ASCII letters and digits: code points are bytes. */
                size_t j = word_run_end(s, n, i);
                size_t first = (6 - k % 6) % 6; /* run offset of the next k % 6 == 0 */
                if (first < j - i) {
                    if (starts)
                        for (size_t q = i + first; q < j; q += 6)
                            offsets_push(starts, q, q == i && k == 0);
                    count += (j - i - first + 5) / 6;
                }
                k += j - i;
                i = j;
                continue;
            } else {
                l = dec(s, n, i, &cp);
                if (!is_wordchar(cp) || text_is_cjk(cp)) break;
            }
            if (k % 6 == 0) {
                if (starts) offsets_push(starts, i, k == 0);
                count++;
            }
            k++;
            i += l;
        }
    }
    return count;
}

size_t text_count_tokens(const char *s, size_t n)
{
    return token_scan(s, 0, n, NULL);
}

size_t text_token_starts(const char *s, size_t n, size_t **out)
{
    offsets o = {0};
    size_t c = token_scan(s, 0, n, &o);
    if (!c) {
        free(o.v);
        o.v = NULL;
    }
    *out = o.v;
    return c;
}

size_t text_token_units(const char *s, size_t n, size_t **out, unsigned char **unit)
{
    offsets o = {.with_units = true};
    size_t c = token_scan(s, 0, n, &o);
    if (!c) {
        free(o.v);
        free(o.unit);
        o.v = NULL;
        o.unit = NULL;
    }
    *out = o.v;
    *unit = o.unit;
    return c;
}

/* Whether s[0..n) is all ASCII: eight bytes per step. */
static bool all_ascii(const char *s, size_t n)
{
    size_t i = 0;
    uint64_t acc = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        acc |= w;
    }
    for (; i < n; i++)
        acc |= (unsigned char)s[i];
    return (acc & UINT64_C(0x8080808080808080)) == 0;
}

void text_tokens_reserve(text_tokens *tv, size_t k)
{
    if (tv->n + k <= tv->cap) return;
    size_t nc = tv->cap ? 2 * tv->cap : 256;
    while (nc < tv->n + k)
        nc *= 2;
    tv->v = ragd_xrealloc(tv->v, nc * sizeof *tv->v);
    tv->unit = ragd_xrealloc(tv->unit, nc);
    tv->cap = nc;
}

/* The capacity check inline (once per word run on the ASCII fast path),
 * the growth out of line. */
static inline void tokens_reserve(text_tokens *tv, size_t k)
{
    if (tv->n + k > tv->cap) text_tokens_reserve(tv, k);
}

/* The ASCII pass works on 64-byte blocks of bit masks: bit k of a mask is
 * the byte at the block's start + k. */
typedef struct {
    uint64_t w;  /* letter or digit (C_WORD) */
    uint64_t d;  /* digit */
    uint64_t sp; /* C_SPACE: ' ', \t .. \r */
    uint64_t ap; /* '\'' */
    uint64_t dc; /* '.' or ',' */
} amask;

#if defined(__SSE2__) && !defined(RAGD_TEXT_NO_SIMD)
/* The masks of 16 ASCII bytes at p into bits sh .. sh + 15 of *m. The
 * signed byte compares are exact: every byte is below 0x80. */
static inline void amask16(const char *p, unsigned sh, amask *m)
{
    __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    __m128i l = _mm_or_si128(v, _mm_set1_epi8(0x20)); /* A-Z to a-z */
    __m128i alpha = _mm_and_si128(_mm_cmpgt_epi8(l, _mm_set1_epi8('a' - 1)),
                                  _mm_cmplt_epi8(l, _mm_set1_epi8('z' + 1)));
    __m128i digit = _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                                  _mm_cmplt_epi8(v, _mm_set1_epi8('9' + 1)));
    __m128i space = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                                 _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('\t' - 1)),
                                               _mm_cmplt_epi8(v, _mm_set1_epi8('\r' + 1))));
    __m128i dc =
        _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('.')), _mm_cmpeq_epi8(v, _mm_set1_epi8(',')));
    __m128i ap = _mm_cmpeq_epi8(v, _mm_set1_epi8('\''));
    m->w |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(alpha, digit)) << sh;
    m->d |= (uint64_t)(unsigned)_mm_movemask_epi8(digit) << sh;
    m->sp |= (uint64_t)(unsigned)_mm_movemask_epi8(space) << sh;
    m->ap |= (uint64_t)(unsigned)_mm_movemask_epi8(ap) << sh;
    m->dc |= (uint64_t)(unsigned)_mm_movemask_epi8(dc) << sh;
}
#endif

/* The masks of the all-ASCII block s[p .. min(p + 64, n)); bits from n on
 * are 0 in every mask. */
static inline amask amask_load(const char *s, size_t p, size_t n)
{
    amask m = {0, 0, 0, 0, 0};
    size_t len = n - p < 64 ? n - p : 64;
#if defined(__SSE2__) && !defined(RAGD_TEXT_NO_SIMD)
    const char *q = s + p;
    char pad[64];
    if (len < 64) { /* the last block: zero bytes have no class bit here */
        memset(pad, 0, sizeof pad);
        memcpy(pad, q, len);
        q = pad;
    }
    amask16(q, 0, &m);
    amask16(q + 16, 16, &m);
    amask16(q + 32, 32, &m);
    amask16(q + 48, 48, &m);
#else
    for (size_t k = 0; k < len; k++) {
        unsigned char b = (unsigned char)s[p + k];
        uint64_t bit = (uint64_t)1 << k;
        unsigned c = ASCII_CLASS[b];
        if (c & C_WORD) m.w |= bit;
        if (c & C_DIGIT) m.d |= bit;
        if (c & C_SPACE) m.sp |= bit;
        if (b == '\'') m.ap |= bit;
        if (b == '.' || b == ',') m.dc |= bit;
    }
#endif
    return m;
}

/* The ASCII pass over the all-ASCII s[i..n): appends its token starts (each
 * plus base) to *tv and, with w, its words (relative to s) to *w. In ASCII
 * every non-space character is a cluster of its own (CR is a space),
 * letters and digits are the word characters, and the only joiners are '
 * between letters and . , between digits. Never looks before i.
 *
 * Bit masks, 64 bytes per step (SSE2 where there, a byte loop elsewhere):
 * the tokens are the bytes that are neither word nor space (one each, a
 * joiner too), the starts of runs of letters and digits, and every sixth
 * byte of a run after its start (unit flag 0); a word is a maximal run of
 * word bytes and joiners (a joiner has a word byte on either side). Runs and
 * words that go on past a block carry over as state: the previous block's
 * top bits and the length of the run that reaches its end. */
static void ascii_pass(const char *s, size_t i, size_t n, size_t base, text_tokens *tv, spans *w)
{
    /* Room for everything up front, so the loops store without checks:
     * every token starts at its own byte (at most n - i of them), and two
     * words are at least one byte apart (at most (n - i + 1) / 2). The
     * counts live in locals (a store through tv->v could alias tv->n). */
    tokens_reserve(tv, n - i);
    if (w && w->n + (n - i + 1) / 2 > w->cap)
        ragd_array_grow((void **)&w->v, &w->cap, w->n + (n - i + 1) / 2, sizeof *w->v);
    size_t *tp = tv->v;
    unsigned char *tu = tv->unit;
    size_t tn = tv->n;
    ragd_span *wv = w ? w->v : NULL;
    size_t ws = w ? w->n : 0, we = ws; /* the next word's start and end slots */
    uint64_t pw = 0, pd = 0, pww = 0;  /* the previous block's masks (bit 63 used) */
    size_t run = 0;                    /* word bytes at the previous block's end */
    amask cur = i < n ? amask_load(s, i, n) : (amask){0, 0, 0, 0, 0};
    for (size_t p = i; p < n; p += 64) {
        amask nx = p + 64 < n ? amask_load(s, p + 64, n) : (amask){0, 0, 0, 0, 0};
        size_t len = n - p < 64 ? n - p : 64;
        uint64_t valid = len == 64 ? ~(uint64_t)0 : ((uint64_t)1 << len) - 1;
        uint64_t W = cur.w, D = cur.d;
        uint64_t prevW = (W << 1) | (pw >> 63);
        uint64_t rs = W & ~prevW;                   /* run starts */
        uint64_t tok = (valid & ~W & ~cur.sp) | rs; /* tokens with unit flag 1 */
        /* Every sixth byte of a run: from each run start (or the first such
         * byte of a run coming from the previous block), six bytes on while
         * the run lasts. a6: the five bytes before are word bytes too. */
        uint64_t a6 = W & (W << 1) & (W << 2) & (W << 3) & (W << 4) & (W << 5);
        uint64_t z = rs, six = 0;
        if (run) {
            unsigned o = (unsigned)((6 - run % 6) % 6);
            uint64_t need = ((uint64_t)2 << o) - 1;
            if ((W & need) == need) {
                six = (uint64_t)1 << o;
                z |= six;
            }
        }
        while ((z = (z << 6) & a6))
            six |= z;
        if (W >> 63)
            run = W == ~(uint64_t)0 ? run + 64 : (size_t)__builtin_clzll(~W);
        else
            run = 0;
        uint64_t all = tok | six;
        while (all) {
            unsigned k = (unsigned)__builtin_ctzll(all);
            tu[tn] = (unsigned char)((tok >> k) & 1);
            tp[tn++] = base + p + k;
            all &= all - 1;
        }
        if (wv) {
            uint64_t nW = (W >> 1) | (nx.w << 63), nD = (D >> 1) | (nx.d << 63);
            uint64_t prevD = (D << 1) | (pd >> 63);
            uint64_t prevL = prevW & ~prevD, nL = nW & ~nD;
            uint64_t ww = W | (cur.ap & prevL & nL) | (cur.dc & prevD & nD);
            uint64_t prevWW = (ww << 1) | (pww >> 63);
            uint64_t st = ww & ~prevWW, en = ~ww & prevWW;
            while (st) {
                wv[ws++].start = p + (size_t)__builtin_ctzll(st);
                st &= st - 1;
            }
            while (en) {
                wv[we++].end = p + (size_t)__builtin_ctzll(en);
                en &= en - 1;
            }
            pww = ww;
        }
        pw = W;
        pd = D;
        cur = nx;
    }
    if (wv && we < ws) wv[we++].end = n; /* a word that reaches n */
    tv->n = tn;
    if (w) w->n = ws;
}

/* The first byte >= 0x80 in s[i..n), n if none: eight bytes per step. */
static inline size_t next_non_ascii(const char *s, size_t i, size_t n)
{
    const uint64_t highs = UINT64_C(0x8080808080808080);
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & highs) break;
    }
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    return i;
}

/* A restart point p (0 < p < n): s[p - 1] is a space, tab or newline and
 * s[p] is ASCII. Both scans are then in their initial state at p, whatever
 * came before: a word or a token run ends at the space, the space's cluster
 * ends at p (no cluster joins an ASCII character to the one before it but
 * CR LF, and s[p - 1] is no CR), and no rule looks back past it. */
static inline bool restart_at(const char *s, size_t p)
{
    unsigned char a = (unsigned char)s[p - 1];
    return (a == ' ' || a == '\t' || a == '\n') && (unsigned char)s[p] < 0x80;
}

/* The ASCII pass over the all-ASCII s[i..n) in slices of about ASCII_SLICE
 * bytes, cut at restart points, so that the room ascii_pass reserves up
 * front (a token per byte) stays small for a long text. */
enum { ASCII_SLICE = 32768 };

static void ascii_run(const char *s, size_t i, size_t n, size_t base, text_tokens *tv, spans *w)
{
    while (n - i > ASCII_SLICE) {
        size_t p = i + ASCII_SLICE;
        while (p < n && !restart_at(s, p))
            p++;
        if (p >= n) break;
        ascii_pass(s, i, p, base, tv, w);
        i = p;
    }
    ascii_pass(s, i, n, base, tv, w);
}

bool text_ascii_words_tokens_append(const char *s, size_t n, size_t base, text_tokens *tv,
                                    ragd_span **words, size_t *wcap, size_t *nwords)
{
    if (!all_ascii(s, n)) return false;
    spans w = {*words, 0, *wcap};
    ascii_run(s, 0, n, base, tv, &w);
    *words = w.v;
    *wcap = w.cap;
    *nwords = w.n;
    return true;
}

void text_words_tokens_append(const char *s, size_t n, size_t base, text_tokens *tv,
                              ragd_span **words, size_t *wcap, size_t *nwords)
{
    spans w = {words ? *words : NULL, 0, words ? *wcap : 0};
    spans *wp = words ? &w : NULL;
    size_t i = 0;
    while (i < n) {
        size_t q = next_non_ascii(s, i, n);
        if (q >= n) {
            ascii_run(s, i, n, base, tv, wp);
            break;
        }
        /* [a, b): the non-ASCII run around q, widened to restart points
         * (or i and n), for the general scans; [i, a) is all ASCII. */
        size_t a = q;
        while (a > i && !restart_at(s, a))
            a--;
        size_t b = q + 1;
        for (;;) {
            b = next_non_ascii(s, b, n);
            size_t k = b;
            while (k < n && (unsigned char)s[k] >= 0x80)
                k++;
            /* The first restart point after the run, unless another
             * non-ASCII byte comes first. */
            b = k;
            while (b < n && (unsigned char)s[b] < 0x80 && !restart_at(s, b))
                b++;
            if (b >= n || (unsigned char)s[b] < 0x80) break;
        }
        if (a > i) ascii_run(s, i, a, base, tv, wp);
        if (wp) words_scan(s, a, b, wp);
        offsets o = {tv->v, tv->unit, tv->n, tv->cap, true, base};
        token_scan(s, a, b, &o);
        tv->v = o.v;
        tv->unit = o.unit;
        tv->n = o.n;
        tv->cap = o.cap;
        i = b;
    }
    if (words) {
        *words = w.v;
        *wcap = w.cap;
        *nwords = w.n;
    }
}

bool text_ascii_words_tokens(const char *s, size_t n, ragd_span **words, size_t *nwords,
                             size_t **ts, unsigned char **unit, size_t *nt)
{
    text_tokens tv = {0};
    ragd_span *w = NULL;
    size_t wcap = 0, nw = 0;
    if (!text_ascii_words_tokens_append(s, n, 0, &tv, &w, &wcap, &nw)) return false;
    if (!nw) {
        free(w);
        w = NULL;
    }
    if (!tv.n) {
        free(tv.v);
        free(tv.unit);
        tv.v = NULL;
        tv.unit = NULL;
    }
    *words = w;
    *nwords = nw;
    *ts = tv.v;
    *unit = tv.unit;
    *nt = tv.n;
    return true;
}

/* --- sentences -------------------------------------------------------------- */

/* Sorted (byte order) for the binary search in is_abbrev; no duplicates.
 * tests/unit_text_fused.c checks text_sentences against this list. */
static const char *const ABBREVIATIONS[] = {
    "al",  "am",   "approx", "apr",  "art",  "aug",  "avg", "ca",  "cf",   "ch",   "cit", "cm",
    "co",  "corp", "dec",    "dept", "dr",   "ed",   "eds", "eg",  "eq",   "eqs",  "est", "etc",
    "feb", "fig",  "figs",   "ft",   "gen",  "gov",  "hr",  "hrs", "ibid", "ie",   "inc", "jan",
    "jr",  "jul",  "jun",    "kg",   "km",   "ltd",  "mar", "max", "mg",   "min",  "ml",  "mm",
    "mr",  "mrs",  "ms",     "mt",   "no",   "nos",  "nov", "oct", "op",   "p",    "ph",  "phd",
    "pm",  "pp",   "prof",   "ref",  "refs", "resp", "rev", "sec", "sep",  "sept", "sr",  "st",
    "uk",  "univ", "us",     "vol",  "vols", "vs"};

/* The lowercase letters of the word ending at s[end) (dots removed), e.g.
 * "e.g" -> "eg". Returns false if it is too long to be an abbreviation. */
static bool word_before(const char *s, size_t end, char *w, size_t wcap, bool *single_upper)
{
    size_t i = end, k = 0;
    char tmp[16];
    size_t letters = 0;
    bool upper = false;
    while (i > 0) {
        unsigned char c = (unsigned char)s[i - 1];
        if (isalpha(c)) {
            if (k + 1 >= sizeof tmp) return false;
            tmp[k++] = (char)tolower(c);
            letters++;
            upper = isupper(c) != 0;
        } else if (c != '.') {
            break;
        }
        i--;
    }
    if (i > 0 && (((unsigned char)s[i - 1]) & 0x80)) return false; /* non-ASCII word */
    if (k + 1 > wcap) return false;
    for (size_t a = 0; a < k; a++)
        w[a] = tmp[k - 1 - a];
    w[k] = '\0';
    *single_upper = letters == 1 && upper;
    return k > 0;
}

/* Whether w is in ABBREVIATIONS: a binary search (the list is sorted). */
static bool is_abbrev(const char *w)
{
    size_t lo = 0, hi = sizeof ABBREVIATIONS / sizeof *ABBREVIATIONS;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(w, ABBREVIATIONS[mid]);
        if (c == 0) return true;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return false;
}

static bool is_closer(int32_t cp)
{
    return cp == '"' || cp == '\'' || cp == ')' || cp == ']' || cp == 0x201D || cp == 0x2019 ||
           cp == 0x00BB || cp == 0x300D || cp == 0x300F || cp == 0xFF09 || cp == '*' || cp == '_';
}

/* Does a Markdown block start at line offset i (after indentation)? */
static bool md_block_start(const char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t'))
        i++;
    if (i >= n) return false;
    char c = s[i];
    if (c == '#' || c == '|' || c == '>') return true;
    if ((c == '-' || c == '*' || c == '+') && i + 1 < n && s[i + 1] == ' ') return true;
    if (n - i >= 3 && (memcmp(s + i, "```", 3) == 0 || memcmp(s + i, "~~~", 3) == 0)) return true;
    size_t j = i;
    while (j < n && isdigit((unsigned char)s[j]))
        j++;
    return j > i && j + 1 < n && (s[j] == '.' || s[j] == ')') && s[j + 1] == ' ';
}

static bool line_is_md_block(const char *s, size_t n, size_t line_start)
{
    return md_block_start(s, n, line_start);
}

/* Bytes equal to b in the eight of w, flagged in their top bits (exact
 * up to the first such byte, which is all skip_run_end needs). */
static inline uint64_t bytes_eq(uint64_t w, unsigned char b)
{
    const uint64_t ones = UINT64_C(0x0101010101010101), highs = UINT64_C(0x8080808080808080);
    uint64_t x = w ^ (ones * b);
    return (x - ones) & ~x & highs;
}

/* The first k >= i with s[k] not C_SKIP (n if none): the only ASCII bytes
 * without C_SKIP are '\n', '!', '.' and '?', so eight bytes at a time are
 * tested for those and for non-ASCII at once. */
static inline size_t skip_run_end(const char *s, size_t n, size_t k)
{
#if defined(__SSE2__) && !defined(RAGD_TEXT_NO_SIMD)
    /* Sixteen bytes at a time where SSE2 is there (every x86-64): the
     * sign bits are the non-ASCII bytes, the equalities the four stops;
     * the run ends at the lowest flagged byte, as in the loops below. */
    const __m128i nl = _mm_set1_epi8('\n'), dot = _mm_set1_epi8('.'), ex = _mm_set1_epi8('!'),
                  qu = _mm_set1_epi8('?');
    for (; k + 16 <= n; k += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + k));
        __m128i stop = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, nl), _mm_cmpeq_epi8(v, dot)),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, ex), _mm_cmpeq_epi8(v, qu)));
        unsigned m = (unsigned)_mm_movemask_epi8(_mm_or_si128(stop, v));
        if (m) return k + (size_t)__builtin_ctz(m);
    }
#endif
    const uint64_t highs = UINT64_C(0x8080808080808080);
    for (; k + 8 <= n; k += 8) {
        uint64_t w;
        memcpy(&w, s + k, 8);
        if ((w & highs) | bytes_eq(w, '\n') | bytes_eq(w, '.') | bytes_eq(w, '!') |
            bytes_eq(w, '?'))
            break;
    }
    while (k < n && (cls(s, k) & C_SKIP))
        k++;
    return k;
}

/* The sentences of s[0..n) into *sp_ (its count reset to 0; its array
 * reused and grown). */
static void sentences_scan(const char *s, size_t n, spans *sp_)
{
    spans sp = {sp_->v, 0, sp_->cap};
    size_t i = 0, start = SIZE_MAX, line_start = 0;
    int32_t cp;
#define FLUSH(endpos)                                                                              \
    do {                                                                                           \
        if (start != SIZE_MAX) {                                                                   \
            size_t e_ = (endpos);                                                                  \
            while (e_ > start && (s[e_ - 1] == ' ' || s[e_ - 1] == '\t' || s[e_ - 1] == '\n'))     \
                e_--;                                                                              \
            if (e_ > start) spans_push(&sp, start, e_);                                            \
            start = SIZE_MAX;                                                                      \
        }                                                                                          \
    } while (0)
    while (i < n) {
        if (start != SIZE_MAX && (cls(s, i) & C_SKIP)) {
            /* Inside a sentence only newlines, terminators and non-ASCII
             * characters matter: ASCII spaces and plain characters change
             * nothing (each plain one is a cluster of its own when an ASCII
             * byte follows). Stop at the last ASCII byte before a non-ASCII
             * one, whose cluster may take in what follows. */
            size_t k = skip_run_end(s, n, i + 1);
            i = k < n && (unsigned char)s[k] >= 0x80 ? k - 1 : k;
            if (i >= n) break;
        }
        unsigned c0 = cls(s, i);
        if (c0 & C_PLAIN) { /* as below, without the decoding */
            if (start == SIZE_MAX) start = i;
            /* Each plain character before another ASCII one is a cluster. */
            while (i + 1 < n && (cls(s, i + 1) & C_PLAIN))
                i++;
            i = grapheme_end(s, n, i);
            continue;
        }
        if ((c0 & C_SPACE) && s[i] != '\n') {
            i++;
            continue;
        }
        size_t l = dec(s, n, i, &cp);
        if (cp == '\n') {
            /* Blank line, Markdown block start, or a line that was itself a
             * block (heading, item, row) ends the sentence. */
            size_t j = i + 1;
            while (j < n && (s[j] == ' ' || s[j] == '\t'))
                j++;
            bool blank = j >= n || s[j] == '\n';
            if (blank || md_block_start(s, n, i + 1) || line_is_md_block(s, n, line_start))
                FLUSH(i);
            i += l;
            line_start = i;
            continue;
        }
        if (is_space(cp)) {
            i += l;
            continue;
        }
        if (start == SIZE_MAX) start = i;
        size_t e = grapheme_end(s, n, i);
        bool cjk_term = cp == 0x3002 || cp == 0xFF01 || cp == 0xFF1F || cp == 0xFF0E;
        bool term = cp == '.' || cp == '!' || cp == '?' || cp == 0x2026 || cp == 0x203C ||
                    cp == 0x2047 || cp == 0x2048 || cp == 0x2049;
        if (!term && !cjk_term) {
            i = e;
            continue;
        }
        /* Absorb repeated terminators ("?!", "...") and closers. */
        size_t k = e;
        while (k < n) {
            int32_t c2;
            size_t l2 = dec(s, n, k, &c2);
            if (c2 == '.' || c2 == '!' || c2 == '?' || c2 == 0x2026 || c2 == 0x3002 ||
                c2 == 0xFF01 || c2 == 0xFF1F || is_closer(c2))
                k += l2;
            else
                break;
        }
        if (cjk_term) {
            FLUSH(k);
            i = k;
            continue;
        }
        /* Western terminator: need whitespace (or end) after. */
        if (k < n) {
            int32_t c3;
            dec(s, n, k, &c3);
            if (!is_space(c3)) {
                i = k;
                continue;
            }
        }
        bool brk = true;
        if (cp == '.' && k == e) { /* a single '.' — check abbreviations */
            char w[16];
            bool single_upper = false;
            if (word_before(s, i, w, sizeof w, &single_upper)) {
                if (single_upper || is_abbrev(w)) brk = false;
            }
            /* "e.g." style: letters separated by dots. */
            if (i >= 2 && s[i - 2] == '.' && isalpha((unsigned char)s[i - 1])) brk = false;
        }
        /* What follows the space? Lowercase letters continue the sentence. */
        size_t j = k;
        while (j < n) {
            int32_t c4;
            size_t l4 = dec(s, n, j, &c4);
            if (!is_space(c4) || c4 == '\n') break;
            j += l4;
        }
        if (j < n && s[j] != '\n') {
            int32_t nx;
            dec(s, n, j, &nx);
            utf8proc_category_t cat = utf8proc_category(nx);
            if (cat == UTF8PROC_CATEGORY_LL)
                brk = false;
            else if (!brk && cp == '.' && (cat == UTF8PROC_CATEGORY_LU) && k == e) {
                /* "Dr. Smith" stays together; "etc. The" breaks. */
                char w[16];
                bool su = false;
                if (word_before(s, i, w, sizeof w, &su) && strcmp(w, "etc") == 0) brk = true;
            }
        }
        if (brk) FLUSH(k);
        i = k;
    }
    FLUSH(n);
#undef FLUSH
    *sp_ = sp;
}

size_t text_sentences(const char *s, size_t n, ragd_span **out)
{
    spans sp = {0};
    sentences_scan(s, n, &sp);
    *out = sp.v;
    return sp.n;
}

size_t text_words_reuse(const char *s, size_t n, ragd_span **buf, size_t *cap)
{
    spans sp = {*buf, 0, *cap};
    words_scan(s, 0, n, &sp);
    *buf = sp.v;
    *cap = sp.cap;
    return sp.n;
}

size_t text_sentences_reuse(const char *s, size_t n, ragd_span **buf, size_t *cap)
{
    spans sp = {*buf, 0, *cap};
    sentences_scan(s, n, &sp);
    *buf = sp.v;
    *cap = sp.cap;
    return sp.n;
}

char *text_space_cjk(const char *s, size_t n)
{
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_reserve(&b, n);
    size_t i = 0;
    while (i < n) {
        int32_t cp;
        size_t l = dec(s, n, i, &cp);
        if (text_is_cjk(cp)) {
            ragd_buf_putc(&b, ' ');
            ragd_buf_append(&b, s + i, l);
            ragd_buf_putc(&b, ' ');
        } else {
            ragd_buf_append(&b, s + i, l);
        }
        i += l;
    }
    return ragd_buf_steal(&b);
}

char *text_escape_invalid(const char *s)
{
    size_t n = strlen(s);
    if (text_utf8_check(s, n, NULL, NULL)) return ragd_xstrdup(s);
    ragd_buf b = RAGD_BUF_INIT;
    for (size_t i = 0; i < n;) {
        int32_t cp;
        size_t l = text_decode(s, n, i, &cp);
        if (l && s[i] != '\\') {
            ragd_buf_append(&b, s + i, l);
            i += l;
        } else {
            ragd_buf_printf(&b, "\\x%02X", (unsigned char)s[i]);
            i++;
        }
    }
    return ragd_buf_steal(&b);
}
