/* ingest/words.c — word-level helpers of the summarizer: the stop-word
 * lists of seven languages (en fr de es it pt nl, plus contraction forms
 * and web noise) in one hash map built once, CJK character classes, and
 * cheap case folding / code-point counting.
 *
 * The stop-word map holds word -> 1 + language mask, so one lookup both
 * drops noise (keywords, TextRank similarity) and votes for a language
 * (langid.c). Read-only after pthread_once, so safe to share.
 */
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <utf8proc.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/text.h"
#include "ingest/summary_internal.h"

const char *const LANG_CODE[L_N] = {"en", "fr", "de", "es", "it", "pt", "nl"};

/* Small lists of the most frequent function words, lower case, space
 * separated. Enough to tell the languages apart and to drop noise. */
static const char *const STOP_LISTS[L_N] = {
    /* en */
    "a about above after again against all also am an and any are aren't as at be because been "
    "before being below between both but by can could did didn't do does doesn't doing don't "
    "down during each few for from further had has have having he her here hers herself him "
    "himself his how i if in into is isn't it it's its itself just me more most my myself no nor "
    "not now of off on once one only or other our ours ourselves out over own same she should so "
    "some such than that the their theirs them themselves then there these they this those "
    "through to too under until up very was wasn't we were weren't what when where which while "
    "who whom whose why will with within without would you your yours yourself yourselves many "
    "much may might must shall upon via per yet still even though however thus therefore since "
    "among onto us",
    /* fr */
    "le la les l' de des du d' un une et est en que qu' qui dans pour pas sur au aux ce cette "
    "ces cet il elle ils elles on ne n' se s' sa son ses avec par plus mais ou où nous vous leur "
    "leurs été être sont était étaient comme à y c' j' je tu mon ma mes ton ta tes notre nos "
    "votre vos lui même aussi très sans sous entre chez dont tout tous toute toutes fait peut "
    "ont avait",
    /* de */
    "der die das und ist nicht ein eine einer eines einem einen zu den dem des mit von auf für "
    "im sich auch es an als wie bei aus nach wird wurde wurden werden sind war waren hat haben "
    "hatte oder aber noch nur am vom zum zur über unter durch dass daß sie er wir ihr man kann "
    "bis seit um diese dieser dieses diesem ich du sein seine ihre ihren kein keine mehr schon "
    "wenn weil dann hier dort sehr",
    /* es */
    "el la los las de del y en un una unos unas que es por con para se su sus al lo como más "
    "pero o este esta estos estas ese esa son fue ser ha han sin sobre entre también muy ya le "
    "les hay está están desde cuando donde porque si no e ni nos mi tu yo él ella ellos era "
    "eran todo toda todos hasta",
    /* it */
    "il lo la i gli le di del della dei degli delle dello e è un una uno che in per con non si "
    "da dal dalla al alla allo ai agli alle sono come più ma anche questo questa questi nel "
    "nella nei sul sulla ha hanno era essere o se tra fra l' un' dell' all' nell' sua suo loro "
    "molto ci ne quando dove perché",
    /* pt */
    "o a os as de do da dos das e é um uma uns umas que em no na nos nas por para com não se ao "
    "aos à às mais como mas ou seu sua seus suas são foi ser tem também muito já este esta isso "
    "pelo pela pelos pelas entre quando onde porque ele ela eles elas era eram está estão até",
    /* nl */
    "de het een en van is dat die in op te met voor niet zijn er aan ook als bij door om maar "
    "naar dan wordt werd worden of uit over nog tot kan wel hij zij ze we je dit deze geen meer "
    "heeft hebben was waren al zo wat hun zich haar onder",
};

/* Split forms of English contractions and web noise: stop words for
 * keywords and similarity, no language vote. */
static const char *const EXTRA_STOP =
    "don doesn didn isn aren wasn weren won can't couldn shouldn wouldn haven hasn hadn ll ve re "
    "http https www com org html etc every said says please called like made make use used "
    "using get got new well back around";

/* All lists in one hash map, built once: word -> 1 + language mask (the
 * languages whose list has this exact form; 0 for folded forms and extras).
 * Read-only after initialization, so safe to share between threads. */
static hmap g_stop;
static pthread_once_t g_stop_once = PTHREAD_ONCE_INIT;

/* Per length 1..15, a bit per first byte: some stop word of that length
 * starts with that byte. Most content words fail it, so they skip the hash. */
static uint64_t g_stop_first[16][4];

static void stop_add(const char *w, size_t n, unsigned mask)
{
    if (n >= 1 && n <= 15) {
        unsigned char c = (unsigned char)w[0];
        g_stop_first[n][c >> 6] |= UINT64_C(1) << (c & 63);
    }
    int64_t *v = hmap_put(&g_stop, w, n, NULL);
    *v = ((*v ? *v - 1 : 0) | (int64_t)mask) + 1;
}

static void stop_add_list(const char *list, unsigned mask)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        if (e > p) {
            stop_add(p, (size_t)(e - p), mask);
            /* The form without diacritics too (similarity and keyword keys
             * are folded that way), as a stop word without a vote. */
            size_t fl = 0;
            char *f = text_fold(p, (size_t)(e - p), true, &fl);
            if (fl != (size_t)(e - p) || memcmp(f, p, fl) != 0) stop_add(f, fl, 0);
            free(f);
        }
        p = e;
    }
}

static void stop_init(void)
{
    for (int l = 0; l < L_N; l++)
        stop_add_list(STOP_LISTS[l], 1u << l);
    stop_add_list(EXTRA_STOP, 0);
}

/* The look-up key of w: w itself, or a copy in key (16 bytes) with the
 * typographic apostrophe U+2019 read as the ASCII one (*n shrinks by 2). */
static const char *stop_key(const char *w, size_t *n, char key[16])
{
    const char *q = memchr(w, '\xE2', *n);
    if (!q || q + 2 >= w + *n || memcmp(q, "\xE2\x80\x99", 3)) return w;
    size_t i = (size_t)(q - w);
    memcpy(key, w, i);
    key[i] = '\'';
    memcpy(key + i + 1, q + 3, *n - i - 3);
    *n -= 2;
    return key;
}

/* Is w (lower case or folded) a stop word? *mask (if not NULL) receives the
 * languages voting for it. A bit per (length, first byte) rejects most
 * content words before the hash look-up. */
bool stop_find(const char *w, size_t n, unsigned *mask)
{
    pthread_once(&g_stop_once, stop_init);
    if (mask) *mask = 0;
    if (n == 0 || n > 15) return false;
    char key[16];
    w = stop_key(w, &n, key);
    unsigned char c = (unsigned char)w[0];
    if (!((g_stop_first[n][c >> 6] >> (c & 63)) & 1)) return false;
    int64_t *v = hmap_get(&g_stop, w, n);
    if (!v) return false;
    if (mask) *mask = (unsigned)(*v - 1);
    return true;
}

/* stop_find without the first-byte filter: the reference its tests pin it
 * against. */
bool stop_find_ref(const char *w, size_t n, unsigned *mask)
{
    pthread_once(&g_stop_once, stop_init);
    if (mask) *mask = 0;
    if (n == 0 || n > 15) return false;
    char key[16];
    w = stop_key(w, &n, key);
    int64_t *v = hmap_get(&g_stop, w, n);
    if (!v) return false;
    if (mask) *mask = (unsigned)(*v - 1);
    return true;
}

bool is_stop(const char *w, size_t n)
{
    return stop_find(w, n, NULL);
}

/* Han characters that are function words in Chinese text. */
bool cjk_stop(int32_t cp)
{
    static const int32_t S[] = {0x7684, 0x4E86, 0x662F, 0x5728, 0x548C, 0x4E5F, 0x5C31, 0x90FD,
                                0x800C, 0x53CA, 0x4E0E, 0x4E4B, 0x5176, 0x8FD9, 0x90A3, 0x4E2A,
                                0x7740, 0x628A, 0x88AB, 0x8BA9, 0x4ECE, 0x5BF9, 0x4ED6, 0x5979,
                                0x5B83, 0x4EEC, 0x6211, 0x4F60, 0x6B64, 0x6216, 0x6240, 0x4F46,
                                0x5E76, 0x5F88, 0x53C8, 0x5C06, 0x8FD8, 0x6CA1, 0x5DF2, 0x4E8E};
    for (size_t i = 0; i < sizeof S / sizeof S[0]; i++)
        if (S[i] == cp) return true;
    return false;
}

bool is_hiragana(int32_t cp)
{
    return cp >= 0x3040 && cp <= 0x309F;
}

bool is_katakana(int32_t cp)
{
    return (cp >= 0x30A0 && cp <= 0x30FF) || (cp >= 0x31F0 && cp <= 0x31FF);
}

bool is_hangul(int32_t cp)
{
    return (cp >= 0xAC00 && cp <= 0xD7AF) || (cp >= 0x1100 && cp <= 0x11FF) ||
           (cp >= 0x3130 && cp <= 0x318F);
}

/* --- small text helpers ---------------------------------------------------- */

size_t cp_count(const char *s, size_t n)
{
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]) && s[i] != '.' && s[i] != ',') return false;
    return true;
}

/* Append s[0..n) lower-cased code point by code point (no other folding, so
 * "Straße" stays "straße"). */
void put_lower(ragd_buf *b, const char *s, size_t n)
{
    size_t i = 0;
    /* The leading ASCII run in one go (most words are ASCII). */
    ragd_buf_reserve(b, n);
    while (i < n && (unsigned char)s[i] < 0x80) {
        b->data[b->len++] = (char)tolower((unsigned char)s[i]);
        i++;
    }
    b->data[b->len] = '\0';
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

/* text_fold(s, n, true, …) — but plain ASCII, most text, is only
 * lower-cased (all that folding does to it) without a utf8proc pass. */
char *fast_fold(const char *s, size_t n, size_t *out_len)
{
    size_t i = 0;
    while (i < n && (unsigned char)s[i] < 0x80)
        i++;
    if (i < n) return text_fold(s, n, true, out_len);
    char *r = ragd_xmalloc(n + 1);
    for (i = 0; i < n; i++)
        r[i] = (char)tolower((unsigned char)s[i]);
    r[n] = '\0';
    *out_len = n;
    return r;
}

/* Might s[0..n) hold CJK characters (lead bytes E1..F4)? */
bool maybe_cjk(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xE1 && (unsigned char)s[i] <= 0xF4) return true;
    return false;
}

int32_t first_cp(const char *s, size_t n)
{
    int32_t cp = 0;
    if (n && !text_decode(s, n, 0, &cp)) cp = 0xFFFD;
    return cp;
}
