/* ingest/langid.c — a document's script and language.
 *
 * Script: weighted code-point counts per Unicode script (a CJK character
 * counts 3, about one Latin word's worth of letters). Language: from the
 * script, and for Latin by stop-word hits (words.c) for en fr de es it pt
 * nl. Reentrant.
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

/* --- script and language ----------------------------------------------------- */

enum {
    SC_LATIN,
    SC_GREEK,
    SC_CYRILLIC,
    SC_ARMENIAN,
    SC_HEBREW,
    SC_ARABIC,
    SC_DEVANAGARI,
    SC_BENGALI,
    SC_THAI,
    SC_GEORGIAN,
    SC_HANGUL,
    SC_HIRAGANA,
    SC_KATAKANA,
    SC_HAN,
    SC_N
};
static const char *const SCRIPT_NAME[SC_N] = {
    "Latin",   "Greek", "Cyrillic", "Armenian", "Hebrew",   "Arabic",   "Devanagari",
    "Bengali", "Thai",  "Georgian", "Hangul",   "Hiragana", "Katakana", "Han"};

static int script_of(int32_t cp)
{
    if (cp < 0x80) return isalpha(cp) ? SC_LATIN : -1;
    if ((cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7) || (cp >= 0x1E00 && cp <= 0x1EFF))
        return SC_LATIN;
    if ((cp >= 0x370 && cp <= 0x3FF) || (cp >= 0x1F00 && cp <= 0x1FFF)) return SC_GREEK;
    if (cp >= 0x400 && cp <= 0x52F) return SC_CYRILLIC;
    if (cp >= 0x530 && cp <= 0x58F) return SC_ARMENIAN;
    if (cp >= 0x590 && cp <= 0x5FF) return SC_HEBREW;
    if ((cp >= 0x600 && cp <= 0x6FF) || (cp >= 0x750 && cp <= 0x77F) ||
        (cp >= 0x8A0 && cp <= 0x8FF) || (cp >= 0xFB50 && cp <= 0xFDFF) ||
        (cp >= 0xFE70 && cp <= 0xFEFF))
        return SC_ARABIC;
    if (cp >= 0x900 && cp <= 0x97F) return SC_DEVANAGARI;
    if (cp >= 0x980 && cp <= 0x9FF) return SC_BENGALI;
    if (cp >= 0xE00 && cp <= 0xE7F) return SC_THAI;
    if (cp >= 0x10A0 && cp <= 0x10FF) return SC_GEORGIAN;
    if (is_hangul(cp)) return SC_HANGUL;
    if (is_hiragana(cp)) return SC_HIRAGANA;
    if (is_katakana(cp)) return SC_KATAKANA;
    if ((cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
        (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x20000 && cp <= 0x3FFFF))
        return SC_HAN;
    return -1;
}

#define LANG_SCAN_BYTES 65536 /* the language vote reads the first 64 KB */

/* Guess the dominant script and the language of d (both static strings). */
void guess_language(const ingest_doc *d, const char **script, const char **lang)
{
    double w[SC_N] = {0};
    size_t i = 0, ascii = 0;
    while (i < d->len) {
        unsigned char c = (unsigned char)d->text[i];
        if (c < 0x80) {
            ascii += ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
            i++;
            continue;
        }
        int32_t cp;
        size_t l = text_decode(d->text, d->len, i, &cp);
        if (!l) {
            i++;
            continue;
        }
        int sc = script_of(cp);
        if (sc >= 0) w[sc] += sc >= SC_HANGUL ? 3.0 : 1.0;
        i += l;
    }
    w[SC_LATIN] += (double)ascii;
    /* Han and kana compete as one group (Japanese writes both). */
    double han = w[SC_HAN], kana = w[SC_HIRAGANA] + w[SC_KATAKANA];
    int best = -1;
    for (int s = 0; s < SC_N; s++) {
        double ws = s == SC_HAN ? han + kana : s == SC_HIRAGANA || s == SC_KATAKANA ? 0 : w[s];
        double wb = best < 0 ? 0 : best == SC_HAN ? han + kana : w[best];
        if (ws > 0 && ws > wb) best = s;
    }
    *script = best < 0 ? "unknown" : SCRIPT_NAME[best];
    *lang = "und";
    if (best < 0) return;
    switch (best) {
    case SC_HAN:
        /* Japanese mixes kana into kanji text; Chinese has (almost) none. */
        if (kana * 20 >= han + kana) {
            *script = han > 0                            ? "Han+Kana"
                      : w[SC_HIRAGANA] >= w[SC_KATAKANA] ? "Hiragana"
                                                         : "Katakana";
            *lang = "ja";
        } else {
            *lang = "zh";
        }
        return;
    case SC_HANGUL:
        *lang = "ko";
        return;
    case SC_CYRILLIC:
        *lang = "ru";
        return;
    case SC_GREEK:
        *lang = "el";
        return;
    case SC_ARABIC:
        *lang = "ar";
        return;
    case SC_HEBREW:
        *lang = "he";
        return;
    case SC_DEVANAGARI:
        *lang = "hi";
        return;
    case SC_BENGALI:
        *lang = "bn";
        return;
    case SC_THAI:
        *lang = "th";
        return;
    case SC_GEORGIAN:
        *lang = "ka";
        return;
    case SC_ARMENIAN:
        *lang = "hy";
        return;
    default:
        break;
    }
    /* Latin: which language's function words occur most. A small scanner
     * of its own (letters, with apostrophes inside words), lower-casing as
     * it goes: this runs on every document, so it avoids text_words. */
    size_t n = d->len < LANG_SCAN_BYTES ? d->len : LANG_SCAN_BYTES;
    size_t hits[L_N] = {0}, latin = 0;
    char wb[24];
    size_t wl = 0;
    bool in = false, is_latin = false, too_long = false;
    i = 0;
    while (i <= n) {
        int32_t cp = ' ';
        size_t l = 1;
        if (i < n) {
            unsigned char c = (unsigned char)d->text[i];
            if (c < 0x80) {
                cp = c;
            } else if (!(l = text_decode(d->text, d->len, i, &cp))) {
                cp = 0xFFFD;
                l = 1;
            }
        }
        bool letter;
        if (cp < 0x80) {
            letter = ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z');
        } else {
            utf8proc_category_t cat = utf8proc_category(cp);
            letter = cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ME;
        }
        if (letter) {
            if (!in) {
                in = true;
                is_latin = script_of(cp) == SC_LATIN;
                wl = 0;
                too_long = false;
            }
            utf8proc_uint8_t enc[4];
            utf8proc_ssize_t el = cp < 0x80 ? (enc[0] = (utf8proc_uint8_t)(cp | 0x20), 1)
                                            : utf8proc_encode_char(utf8proc_tolower(cp), enc);
            if (wl + (size_t)el < sizeof wb) {
                /* One byte (ASCII, most letters) without a memcpy call. */
                if (el == 1)
                    wb[wl] = (char)enc[0];
                else
                    memcpy(wb + wl, enc, (size_t)el);
                wl += (size_t)el;
            } else {
                too_long = true;
            }
        } else if (in && (cp == '\'' || cp == 0x2019) && wl + 1 < sizeof wb && !too_long) {
            /* Elided articles: "l'abbaye" votes with "l'". */
            wb[wl++] = '\'';
            unsigned m = 0;
            if (is_latin && stop_find(wb, wl, &m))
                for (int lg = 0; lg < L_N; lg++)
                    if (m & (1u << lg)) hits[lg]++;
        } else if (in) {
            in = false;
            if (is_latin) {
                latin++;
                unsigned m = 0;
                if (!too_long && stop_find(wb, wl, &m))
                    for (int lg = 0; lg < L_N; lg++)
                        if (m & (1u << lg)) hits[lg]++;
            }
        }
        i += l;
    }
    int bl = -1, second = -1;
    for (int l = 0; l < L_N; l++) {
        if (bl < 0 || hits[l] > hits[bl]) {
            second = bl;
            bl = l;
        } else if (second < 0 || hits[l] > hits[second]) {
            second = l;
        }
    }
    /* Enough evidence, and a clear winner. */
    if (bl >= 0 && hits[bl] >= 2 && hits[bl] * 20 >= latin && hits[bl] > hits[second])
        *lang = LANG_CODE[bl];
}
