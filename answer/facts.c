/* answer/facts.c — the facts a sentence states that its source must repeat.
 *
 * Numbers are read with their unit: digits with "," or "." inside
 * ("1,000" = "1000"), an ordinal suffix dropped ("1st" = "1"), and the next
 * word (or a glued suffix, "15min", "40%") mapped through a small unit table
 * ("min" = "mins" = "minutes"). A date is its numbers plus its month name,
 * so "1 November 1847" and "November 1, 1847" state the same facts. Proper
 * names are capitalised words that do not open the sentence. Negation is
 * the presence of not / no / never / none / nor / cannot / n't.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "core/buf.h"
#include "index/lexical.h"

static const char *const UNITS[][6] = {
    {"min", "mins", "minute", "minutes", NULL},
    {"s", "sec", "secs", "second", "seconds", NULL},
    {"ms", "millisecond", "milliseconds", NULL},
    {"h", "hr", "hrs", "hour", "hours", NULL},
    {"day", "days", NULL},
    {"week", "weeks", NULL},
    {"month", "months", NULL},
    {"year", "years", "yr", "yrs", NULL},
    {"m", "metre", "metres", "meter", "meters", NULL},
    {"km", "kilometre", "kilometres", "kilometer", "kilometers", NULL},
    {"cm", "centimetre", "centimetres", "centimeter", "centimeters", NULL},
    {"mm", "millimetre", "millimetres", "millimeter", "millimeters", NULL},
    {"ft", "foot", "feet", NULL},
    {"mile", "miles", "mi", NULL},
    {"kg", "kilogram", "kilograms", "kilo", "kilos", NULL},
    {"g", "gram", "grams", NULL},
    {"lb", "lbs", "pound", "pounds", NULL},
    {"%", "percent", "per-cent", NULL},
    {"kb", "kib", "kilobyte", "kilobytes", NULL},
    {"mb", "mib", "megabyte", "megabytes", NULL},
    {"gb", "gib", "gigabyte", "gigabytes", NULL},
    {"tb", "tib", "terabyte", "terabytes", NULL},
    {"w", "watt", "watts", NULL},
    {"kw", "kilowatt", "kilowatts", NULL},
    {"v", "volt", "volts", NULL},
    {"candela", "candelas", "cd", NULL},
    {"nautical", NULL},
};

/* The canonical unit for word w[0..n) (ASCII case-insensitive), or NULL. */
const char *answer_unit(const char *w, size_t n)
{
    char low[24];
    if (n == 0 || n >= sizeof low) return NULL;
    for (size_t i = 0; i < n; i++)
        low[i] = (char)tolower((unsigned char)w[i]);
    low[n] = 0;
    for (size_t u = 0; u < sizeof UNITS / sizeof UNITS[0]; u++)
        for (int k = 0; k < 6 && UNITS[u][k]; k++)
            if (!strcmp(low, UNITS[u][k])) return UNITS[u][0];
    return NULL;
}

static size_t word_len(const char *s, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && (isalpha((unsigned char)s[j]) || s[j] == '%'))
        j++;
    return j - i;
}

/* One number at s[i] (a digit not preceded by a letter or digit). */
static size_t read_number(const char *s, size_t n, size_t i, answer_fact *f)
{
    size_t j = i, k = 0;
    while (j < n) {
        if (isdigit((unsigned char)s[j])) {
            if (k + 1 < sizeof f->num) f->num[k++] = s[j];
            j++;
        } else if ((s[j] == ',' || s[j] == '.') && j + 1 < n && isdigit((unsigned char)s[j + 1]) &&
                   j > i) {
            if (s[j] == '.' && k + 1 < sizeof f->num) f->num[k++] = '.';
            j++;
        } else {
            break;
        }
    }
    f->num[k] = 0;
    f->unit = NULL;
    size_t w = word_len(s, n, j);
    if (w) { /* glued: 15min, 40%, 1st */
        const char *u = answer_unit(s + j, w);
        if (u) f->unit = u;
        return j + w - i;
    }
    size_t p = j;
    while (p < n && (s[p] == ' ' || s[p] == '-'))
        p++;
    if (p > j && p < n) {
        w = word_len(s, n, p);
        if (w) f->unit = answer_unit(s + p, w);
    }
    return j - i;
}

/* Number words 2..20 (cardinal and ordinal) as digits; "one" and "first"
 * are left out (mostly not quantities). Returns the value or 0. */
static int number_word(const char *w, size_t n)
{
    static const char *const CARD[] = {
        "",         "",        "two",     "three",     "four",     "five",     "six",
        "seven",    "eight",   "nine",    "ten",       "eleven",   "twelve",   "thirteen",
        "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty"};
    static const char *const ORD[] = {
        "",           "",           "second",     "third",     "fourth",    "fifth",
        "sixth",      "seventh",    "eighth",     "ninth",     "tenth",     "eleventh",
        "twelfth",    "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
        "eighteenth", "nineteenth", "twentieth"};
    for (int k = 2; k <= 20; k++)
        if ((strlen(CARD[k]) == n && !strncasecmp(w, CARD[k], n)) ||
            (strlen(ORD[k]) == n && !strncasecmp(w, ORD[k], n)))
            return k;
    return 0;
}

size_t answer_facts(const char *s, size_t n, answer_fact **out)
{
    answer_fact *v = NULL;
    size_t nv = 0, cap = 0;
    for (size_t i = 0; i < n;) {
        bool start = i == 0 || !isalnum((unsigned char)s[i - 1]);
        size_t w = start ? word_len(s, n, i) : 0;
        int nw = w ? number_word(s + i, w) : 0;
        if (start && isdigit((unsigned char)s[i])) {
            ragd_array_grow((void **)&v, &cap, nv + 1, sizeof *v);
            i += read_number(s, n, i, &v[nv]);
            nv++;
        } else if (nw && (i + w >= n || !isalnum((unsigned char)s[i + w]))) {
            ragd_array_grow((void **)&v, &cap, nv + 1, sizeof *v);
            snprintf(v[nv].num, sizeof v[nv].num, "%d", nw);
            size_t p = i + w;
            while (p < n && s[p] == ' ')
                p++;
            size_t ul = word_len(s, n, p);
            v[nv].unit = ul ? answer_unit(s + p, ul) : NULL;
            nv++;
            i += w;
        } else {
            i += w ? w : 1;
        }
    }
    *out = v;
    return nv;
}

bool answer_fact_in(const answer_fact *f, const answer_fact *src, size_t nsrc)
{
    bool bare = false, unit_seen = false;
    for (size_t i = 0; i < nsrc; i++) {
        if (f->unit && src[i].unit && !strcmp(f->unit, src[i].unit)) unit_seen = true;
        if (strcmp(f->num, src[i].num)) continue;
        if (!f->unit || (src[i].unit && !strcmp(f->unit, src[i].unit))) return true;
        if (!src[i].unit) bare = true;
    }
    /* "15 or 20 minutes": the number stands bare and the unit is nearby. */
    return bare && unit_seen;
}

/* Whole-word, ASCII case-insensitive search of w[0..n) in text. */
bool answer_has_word(const char *text, const char *w, size_t n)
{
    size_t tl = strlen(text);
    for (size_t i = 0; i + n <= tl; i++) {
        if (i && isalnum((unsigned char)text[i - 1])) continue;
        if (i + n < tl && isalnum((unsigned char)text[i + n])) continue;
        if (!strncasecmp(text + i, w, n)) return true;
    }
    return false;
}

bool answer_has_word_n(const char *text, size_t tl, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i + n <= tl; i++) {
        if (i && isalnum((unsigned char)text[i - 1])) continue;
        if (i + n < tl && isalnum((unsigned char)text[i + n])) continue;
        if (!strncasecmp(text + i, w, n)) return true;
    }
    return false;
}

const char *answer_missing_name(const char *s, size_t n, const char *src)
{
    static const char *const SKIP[] = {"I",      "The",  "A",   "An", "It",   "In",    "On",
                                       "At",     "From", "For", "By", "With", "After", "Before",
                                       "During", "Then", "To",  "As", "When", "Since", NULL};
    for (size_t i = 0; i < n;) {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n &&
               (isalnum((unsigned char)s[j]) || s[j] == '-' || (unsigned char)s[j] >= 0x80))
            j++;
        bool first = true;
        for (size_t k = 0; k < i; k++)
            if (isalnum((unsigned char)s[k])) first = false;
        bool after_stop = i >= 2 && (s[i - 2] == '.' || s[i - 2] == ':' || s[i - 2] == '\n');
        if (first && j - i >= 2) { /* "MySQL ...", "Group Replication ...", "Eastwick Farm" */
            bool inner = false;
            for (size_t k = i + 1; k < j; k++)
                inner |= isupper((unsigned char)s[k]) != 0;
            bool next_cap = j + 1 < n && s[j] == ' ' && isupper((unsigned char)s[j + 1]);
            first = !(inner || next_cap);
        }
        bool skip = answer_unit(s + i, j - i) != NULL;
        for (int k = 0; SKIP[k]; k++)
            if (strlen(SKIP[k]) == j - i && !strncmp(SKIP[k], s + i, j - i)) skip = true;
        if (!first && !after_stop && !skip && isupper((unsigned char)s[i]) && j - i >= 2 &&
            !lexical_is_stopword_n(s + i, j - i) && !answer_has_word(src, s + i, j - i))
            return s + i;
        i = j;
    }
    return NULL;
}

bool answer_negated(const char *s, size_t n)
{
    static const char *const NEG[] = {"not", "no",     "never",   "none",
                                      "nor", "cannot", "neither", NULL};
    for (size_t i = 0; i < n;) {
        if (!isalpha((unsigned char)s[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && (isalpha((unsigned char)s[j]) || s[j] == '\''))
            j++;
        for (int k = 0; NEG[k]; k++)
            if (strlen(NEG[k]) == j - i && !strncasecmp(NEG[k], s + i, j - i)) return true;
        if (j - i > 3 && !strncasecmp(s + j - 3, "n't", 3)) return true;
        i = j;
    }
    return false;
}
