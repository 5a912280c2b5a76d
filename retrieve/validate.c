/* retrieve/validate.c — text measures behind relevance validation: content
 * words, phrase coverage, shingle sets, Jaccard similarity and MMR order.
 * See validate.h for what each measure means and why it exists. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

#include "core/buf.h"
#include "core/hash.h"
#include "index/lexical.h"
#include "retrieve/validate.h"

/* Append the text_fold of s[0..n) to out; false when utf8proc rejects it. */
static bool fold_segment(ragd_buf *out, const char *s, size_t n)
{
    utf8proc_uint8_t *res = NULL;
    utf8proc_ssize_t r = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)n, &res,
                                      (utf8proc_option_t)(UTF8PROC_STABLE | UTF8PROC_COMPOSE |
                                                          UTF8PROC_COMPAT | UTF8PROC_CASEFOLD));
    if (r >= 0) ragd_buf_append(out, (const char *)res, (size_t)r);
    free(res);
    return r >= 0;
}

/* ASCII is its own NFKC form and folds by A-Z -> a-z; an ASCII character is
 * a starter that nothing composes onto it from behind, and no composition
 * pair has an ASCII second element. So only the last ASCII character before
 * a non-ASCII run can interact with it (e + U+0301 -> é, = + U+0338 -> ≠):
 * that character and the run go through utf8proc together, the rest of the
 * ASCII is lowered here. utf8proc fails the whole text on invalid UTF-8, and
 * so does this (an invalid sequence is always inside a non-ASCII run). */
char *validate_fold(const char *s, size_t n, size_t *out_len)
{
    ragd_buf out = RAGD_BUF_INIT;
    ragd_buf_reserve(&out, n + 1);
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && !((unsigned char)s[j] & 0x80))
            j++;
        size_t a_end = j < n && j > i ? j - 1 : j; /* keep the starter with the run */
        ragd_buf_reserve(&out, a_end - i);
        char *d = out.data + out.len;
        for (size_t x = i; x < a_end; x++) {
            char c = s[x];
            *d++ = c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
        }
        out.len += a_end - i;
        out.data[out.len] = '\0';
        if (j == n) break;
        size_t e = j;
        while (e < n && ((unsigned char)s[e] & 0x80))
            e++;
        if (!fold_segment(&out, s + a_end, e - a_end)) {
            ragd_buf_free(&out);
            if (out_len) *out_len = 0;
            return ragd_xstrdup("");
        }
        i = e;
    }
    if (out_len) *out_len = out.len;
    return ragd_buf_steal(&out);
}

static bool is_alnum_ascii(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit_ascii(unsigned char c)
{
    return c >= '0' && c <= '9';
}

/* text_words restricted to ASCII, where its rules reduce to: a word is a run
 * of letters and digits, joined across an apostrophe between a letter and a
 * letter and across . or , between digits; everything else separates (every
 * other ASCII character is a grapheme cluster of its own but CR LF, which
 * separates as well). */
static size_t ascii_words(const char *s, size_t n, ragd_span **out)
{
    ragd_span *v = NULL;
    size_t cnt = 0, cap = 0, i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum_ascii(c)) {
            i++;
            continue;
        }
        size_t start = i;
        bool digit = is_digit_ascii(c);
        i++;
        while (i < n) {
            c = (unsigned char)s[i];
            if (is_alnum_ascii(c)) {
                digit = is_digit_ascii(c);
                i++;
                continue;
            }
            if (i + 1 < n) {
                unsigned char nx = (unsigned char)s[i + 1];
                if (c == '\'' && !digit && is_alnum_ascii(nx) && !is_digit_ascii(nx)) {
                    i += 2;
                    continue;
                }
                if ((c == '.' || c == ',') && digit && is_digit_ascii(nx)) {
                    i += 2;
                    continue;
                }
            }
            break;
        }
        if (cnt == cap) {
            cap = cap ? cap * 2 : 64;
            v = ragd_xrealloc(v, cap * sizeof *v);
        }
        v[cnt].start = start;
        v[cnt].end = i;
        cnt++;
    }
    *out = v;
    return cnt;
}

size_t validate_words(const char *s, size_t n, ragd_span **out)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] & 0x80) return text_words(s, n, out);
    return ascii_words(s, n, out);
}

void vwords_init(vwords *v, const char *text, size_t len)
{
    size_t flen;
    v->folded = validate_fold(text, len, &flen);
    ragd_span *w = NULL;
    size_t nw = validate_words(v->folded, flen, &w), n = 0;
    for (size_t i = 0; i < nw; i++)
        if (!lexical_is_stopword_n(v->folded + w[i].start, w[i].end - w[i].start)) w[n++] = w[i];
    v->w = w;
    v->n = n;
}

void vwords_free(vwords *v)
{
    free(v->folded);
    free(v->w);
    memset(v, 0, sizeof *v);
}

int validate_stem_match(const char *a, size_t la, const char *b, size_t lb)
{
    if (la == lb && memcmp(a, b, la) == 0) return 1;
    size_t p = 0;
    while (p < la && p < lb && a[p] == b[p])
        p++;
    size_t shorter = la < lb ? la : lb, longer = la < lb ? lb : la;
    if (p == shorter && longer == shorter + 1 && (la > lb ? a[la - 1] : b[lb - 1]) == 's') return 1;
    return p >= 4 && la - p <= 3 && lb - p <= 3;
}

/* validate_stem_match never matches two non-empty words that differ in
 * their first byte (equality, a plural 's' and a 4-byte common prefix all
 * need it): the loops below test that inline before calling it. */
static inline bool first_differs(const char *a, size_t la, const char *b, size_t lb)
{
    return la && lb && a[0] != b[0];
}

static int word_match(const vwords *x, size_t i, const vwords *y, size_t j)
{
    const char *a = x->folded + x->w[i].start, *b = y->folded + y->w[j].start;
    if (first_differs(a, x->w[i].end - x->w[i].start, b, y->w[j].end - y->w[j].start)) return 0;
    return validate_stem_match(x->folded + x->w[i].start, x->w[i].end - x->w[i].start,
                               y->folded + y->w[j].start, y->w[j].end - y->w[j].start);
}

size_t validate_terms_found(char **terms, size_t nterms, const vwords *v, unsigned char *found)
{
    size_t n = 0;
    for (size_t t = 0; t < nterms; t++) {
        if (found[t]) {
            n++;
            continue;
        }
        const char *term = terms[t];
        size_t tl = strlen(term);
        int32_t cp = 0;
        text_decode(term, tl, 0, &cp);
        int f = 0;
        if (text_is_cjk(cp)) {
            f = strstr(v->folded, term) != NULL;
        } else {
            for (size_t i = 0; i < v->n && !f; i++) {
                const char *w = v->folded + v->w[i].start;
                size_t wl = v->w[i].end - v->w[i].start;
                f = !first_differs(term, tl, w, wl) && validate_stem_match(term, tl, w, wl);
            }
        }
        found[t] = (unsigned char)f;
        n += f != 0;
    }
    return n;
}

double validate_coverage_of(const unsigned char *found, const double *weights, size_t nterms)
{
    /* A query without content terms (punctuation, symbols, stop words)
     * names nothing a candidate could cover: no evidence (issue 12 #10). */
    if (!nterms) return 0.0;
    double hit = 0, total = 0;
    for (size_t t = 0; t < nterms; t++) {
        double wt = weights ? weights[t] : 1.0;
        total += wt;
        if (found[t]) hit += wt;
    }
    return total > 0 ? hit / total : 0.0;
}

double validate_term_coverage(char **terms, const double *weights, size_t nterms,
                              const vwords *const *texts, size_t ntexts)
{
    if (!nterms) return 0.0;
    unsigned char *found = ragd_xcalloc(nterms, 1);
    for (size_t x = 0; x < ntexts; x++)
        if (validate_terms_found(terms, nterms, texts[x], found) == nterms) break;
    double c = validate_coverage_of(found, weights, nterms);
    free(found);
    return c;
}

double validate_phrase_coverage(const vwords *q, const vwords *t)
{
    if (q->n < 2) return 0;
    size_t found = 0;
    for (size_t p = 0; p + 1 < q->n; p++) {
        for (size_t i = 0; i + 1 < t->n; i++) {
            if (word_match(q, p, t, i) && word_match(q, p + 1, t, i + 1)) {
                found++;
                break;
            }
        }
    }
    return (double)found / (double)(q->n - 1);
}

/* Counting sort of ids by key byte into start[257] / *ids. */
static void bucket_ids(const unsigned char *key, const uint32_t *id, size_t n, uint32_t *start,
                       uint32_t **ids)
{
    memset(start, 0, 257 * sizeof *start);
    for (size_t i = 0; i < n; i++)
        start[key[i] + 1]++;
    for (size_t b = 0; b < 256; b++)
        start[b + 1] += start[b];
    uint32_t fill[256];
    memcpy(fill, start, sizeof fill);
    *ids = ragd_xmalloc((n ? n : 1) * sizeof **ids);
    for (size_t i = 0; i < n; i++)
        (*ids)[fill[key[i]]++] = id[i];
}

void validate_query_index_init(validate_query_index *x, char **terms, size_t nterms,
                               const vwords *q)
{
    memset(x, 0, sizeof *x);
    size_t m = nterms > q->n ? nterms : q->n;
    unsigned char *key = ragd_xmalloc(m ? m : 1);
    uint32_t *id = ragd_xmalloc((m ? m : 1) * sizeof *id);
    x->tother = ragd_xmalloc((nterms ? nterms : 1) * sizeof *x->tother);
    size_t nreg = 0;
    for (size_t t = 0; t < nterms; t++) {
        const char *term = terms[t];
        size_t tl = strlen(term);
        int32_t cp = 0;
        text_decode(term, tl, 0, &cp);
        if (!tl || text_is_cjk(cp)) {
            x->tother[x->ntother++] = (uint32_t)t;
            continue;
        }
        key[nreg] = (unsigned char)term[0];
        id[nreg++] = (uint32_t)t;
    }
    bucket_ids(key, id, nreg, x->tstart, &x->tids);
    size_t np = q->n >= 2 ? q->n - 1 : 0, preg = 0;
    x->pother = ragd_xmalloc((np ? np : 1) * sizeof *x->pother);
    x->pfound = ragd_xmalloc(np ? np : 1);
    for (size_t p = 0; p < np; p++) {
        if (q->w[p].end == q->w[p].start) {
            x->pother[x->npother++] = (uint32_t)p;
            continue;
        }
        key[preg] = (unsigned char)q->folded[q->w[p].start];
        id[preg++] = (uint32_t)p;
    }
    bucket_ids(key, id, preg, x->pstart, &x->pids);
    free(key);
    free(id);
}

void validate_query_index_free(validate_query_index *x)
{
    free(x->tids);
    free(x->tother);
    free(x->pids);
    free(x->pother);
    free(x->pfound);
    memset(x, 0, sizeof *x);
}

/* Whether v covers term (validate_terms_found's rule for one term). */
static int term_covered(const char *term, const vwords *v)
{
    size_t tl = strlen(term);
    int32_t cp = 0;
    text_decode(term, tl, 0, &cp);
    if (text_is_cjk(cp)) return strstr(v->folded, term) != NULL;
    for (size_t i = 0; i < v->n; i++) {
        const char *w = v->folded + v->w[i].start;
        size_t wl = v->w[i].end - v->w[i].start;
        if (!first_differs(term, tl, w, wl) && validate_stem_match(term, tl, w, wl)) return 1;
    }
    return 0;
}

size_t validate_terms_found_ix(const validate_query_index *x, char **terms, size_t nterms,
                               const vwords *v, unsigned char *found)
{
    for (size_t k = 0; k < x->ntother; k++)
        if (!found[x->tother[k]])
            found[x->tother[k]] = (unsigned char)term_covered(terms[x->tother[k]], v);
    size_t missing = 0;
    for (size_t k = 0; k < x->tstart[256]; k++)
        missing += !found[x->tids[k]];
    for (size_t i = 0; i < v->n && missing; i++) {
        const char *w = v->folded + v->w[i].start;
        size_t wl = v->w[i].end - v->w[i].start;
        if (!wl) { /* an empty word meets every term (first_differs is false) */
            for (size_t k = 0; k < x->tstart[256]; k++) {
                uint32_t t = x->tids[k];
                if (!found[t] && validate_stem_match(terms[t], strlen(terms[t]), w, wl))
                    found[t] = 1, missing--;
            }
            continue;
        }
        unsigned char b = (unsigned char)w[0];
        for (uint32_t k = x->tstart[b]; k < x->tstart[b + 1]; k++) {
            uint32_t t = x->tids[k];
            if (!found[t] && validate_stem_match(terms[t], strlen(terms[t]), w, wl))
                found[t] = 1, missing--;
        }
    }
    size_t n = 0;
    for (size_t t = 0; t < nterms; t++)
        n += found[t] != 0;
    return n;
}

double validate_phrase_coverage_ix(validate_query_index *x, const vwords *q, const vwords *t)
{
    if (q->n < 2) return 0;
    size_t np = q->n - 1, found = 0;
    memset(x->pfound, 0, np);
    for (size_t i = 0; i + 1 < t->n && found < np; i++) {
        for (size_t k = 0; k < x->npother; k++) {
            uint32_t p = x->pother[k];
            if (!x->pfound[p] && word_match(q, p, t, i) && word_match(q, p + 1, t, i + 1))
                x->pfound[p] = 1, found++;
        }
        size_t wl = t->w[i].end - t->w[i].start;
        if (!wl) { /* an empty word: first_differs is false against every q word */
            for (size_t p = 0; p < np; p++)
                if (!x->pfound[p] && word_match(q, p, t, i) && word_match(q, p + 1, t, i + 1))
                    x->pfound[p] = 1, found++;
            continue;
        }
        unsigned char b = (unsigned char)t->folded[t->w[i].start];
        for (uint32_t k = x->pstart[b]; k < x->pstart[b + 1]; k++) {
            uint32_t p = x->pids[k];
            if (!x->pfound[p] && word_match(q, p, t, i) && word_match(q, p + 1, t, i + 1))
                x->pfound[p] = 1, found++;
        }
    }
    return (double)found / (double)(q->n - 1);
}

/* FNV-1a, continued from h. */
static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* Sorting u64 in place without qsort's comparison callback (a shingle set
 * of a SciFact chunk is ~200 hashes, sorted once per candidate): quicksort
 * with a median-of-three pivot, insertion sort below 16 elements, and a
 * heapsort fallback past 2 log2 n levels so that no input is quadratic.
 * Any correct sort gives the same sorted array. */
static void u64_insertion(uint64_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        for (; j > 0 && a[j - 1] > x; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

static void u64_sift(uint64_t *a, size_t root, size_t n)
{
    uint64_t x = a[root];
    for (size_t c; (c = 2 * root + 1) < n; root = c) {
        if (c + 1 < n && a[c + 1] > a[c]) c++;
        if (a[c] <= x) break;
        a[root] = a[c];
    }
    a[root] = x;
}

static void u64_heapsort(uint64_t *a, size_t n)
{
    for (size_t i = n / 2; i-- > 0;)
        u64_sift(a, i, n);
    for (size_t i = n; i-- > 1;) {
        uint64_t t = a[0];
        a[0] = a[i];
        a[i] = t;
        u64_sift(a, 0, i);
    }
}

static void u64_sort_rec(uint64_t *a, size_t n, unsigned depth)
{
    while (n > 16) {
        if (!depth--) {
            u64_heapsort(a, n);
            return;
        }
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t piv = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) { /* Hoare partition: a[0..j] <= piv <= a[j+1..n) */
            while (a[i] < piv)
                i++;
            while (a[j] > piv)
                j--;
            if (i >= j) break;
            uint64_t t = a[i];
            a[i++] = a[j];
            a[j--] = t;
        }
        size_t left = j + 1;
        if (left < n - left) { /* recurse into the smaller part */
            u64_sort_rec(a, left, depth);
            a += left, n -= left;
        } else {
            u64_sort_rec(a + left, n - left, depth);
            n = left;
        }
    }
    u64_insertion(a, n);
}

void validate_sort_u64(uint64_t *a, size_t n)
{
    unsigned depth = 0;
    for (size_t m = n; m > 1; m >>= 1)
        depth += 2;
    u64_sort_rec(a, n, depth);
}

static void sort_unique(hash_set *s)
{
    if (!s->n) return;
    validate_sort_u64(s->h, s->n);
    size_t m = 1;
    for (size_t i = 1; i < s->n; i++)
        if (s->h[i] != s->h[m - 1]) s->h[m++] = s->h[i];
    s->n = m;
}

/* Each word is hashed once (FNV-1a of its bytes, into s->h, which then
 * holds the shingles in place: shingle i only reads words i to i + width -
 * 1, and is written over word i after they are read), and a shingle's hash
 * combines its words' hashes in order (multiply-xor chain, then mixed):
 * a 4-word shingle costs four multiplications instead of hashing its bytes
 * again, which was 6 % of an eval query at k 100. The hashes are compared
 * only with others this function made, in the same process. */
void hash_set_shingles(hash_set *s, const vwords *t, size_t width)
{
    if (!width) width = 1;
    size_t count = t->n >= width ? t->n - width + 1 : (t->n ? 1 : 0);
    s->h = ragd_xcalloc(t->n ? t->n : 1, sizeof *s->h); /* count <= t->n */
    s->n = count;
    for (size_t j = 0; j < t->n; j++)
        s->h[j] =
            fnv(1469598103934665603ULL, t->folded + t->w[j].start, t->w[j].end - t->w[j].start);
    for (size_t i = 0; i < count; i++) {
        uint64_t h = 0x9E3779B97F4A7C15ULL;
        for (size_t j = i; j < i + width && j < t->n; j++)
            h = (h ^ s->h[j]) * 0x100000001B3ULL;
        s->h[i] = ragd_fmix64(h);
    }
    sort_unique(s);
}

void hash_set_words(hash_set *s, const vwords *t)
{
    hash_set_shingles(s, t, 1);
}

void hash_set_free(hash_set *s)
{
    free(s->h);
    memset(s, 0, sizeof *s);
}

double hash_set_jaccard(const hash_set *a, const hash_set *b)
{
    size_t i = 0, j = 0, inter = 0;
    while (i < a->n && j < b->n) {
        if (a->h[i] == b->h[j])
            inter++, i++, j++;
        else if (a->h[i] < b->h[j])
            i++;
        else
            j++;
    }
    size_t uni = a->n + b->n - inter;
    return uni ? (double)inter / (double)uni : 0;
}

int hash_set_jaccard_at_least(const hash_set *a, const hash_set *b, double t)
{
    size_t lo = a->n < b->n ? a->n : b->n, hi = a->n < b->n ? b->n : a->n;
    if (hi && (double)lo < t * (double)hi) return 0;
    return hash_set_jaccard(a, b) >= t;
}

/* How many of the smallest hashes of a set of n elements neardup indexes:
 * n - m + 1 for a lower bound m on the overlap of a near-duplicate pair,
 * m = ceil(t n) taken one lower against rounding; all of them when m <= 1. */
static size_t prefix_len(size_t n, double t)
{
    double m = ceil(t * (double)n) - 1;
    if (m <= 1) return n;
    size_t p = n - (size_t)m + 1;
    return p < n ? p : n;
}

static size_t slot_of(uint64_t h, size_t cap)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)(h & (cap - 1));
}

void neardup_init(neardup_index *x, double t)
{
    memset(x, 0, sizeof *x);
    x->t = t;
}

static void nd_put(uint64_t *key, uint32_t *val, size_t cap, uint64_t k, uint32_t v)
{
    size_t i = slot_of(k, cap);
    while (val[i] != UINT32_MAX)
        i = (i + 1) & (cap - 1);
    key[i] = k;
    val[i] = v;
}

static void nd_grow(neardup_index *x, size_t need)
{
    if ((x->used + need) * 2 <= x->cap) return;
    size_t nc = x->cap ? x->cap : 64;
    while ((x->used + need) * 2 > nc)
        nc *= 2;
    uint64_t *key = ragd_xcalloc(nc, sizeof *key);
    uint32_t *val = ragd_xmalloc(nc * sizeof *val);
    memset(val, 0xff, nc * sizeof *val);
    for (size_t i = 0; i < x->cap; i++)
        if (x->val[i] != UINT32_MAX) nd_put(key, val, nc, x->key[i], x->val[i]);
    free(x->key);
    free(x->val);
    x->key = key;
    x->val = val;
    x->cap = nc;
}

void neardup_add(neardup_index *x, const hash_set *s, uint32_t id)
{
    ragd_array_grow((void **)&x->ids, &x->idcap, x->nids + 1, sizeof *x->ids);
    x->ids[x->nids++] = id;
    if (id >= x->seencap) {
        size_t nc = x->seencap ? x->seencap : 64;
        while (nc <= id)
            nc *= 2;
        x->seen = ragd_xrealloc(x->seen, nc * sizeof *x->seen);
        memset(x->seen + x->seencap, 0, (nc - x->seencap) * sizeof *x->seen);
        x->seencap = nc;
    }
    if (x->t <= 0) return;
    size_t p = prefix_len(s->n, x->t);
    nd_grow(x, p);
    for (size_t i = 0; i < p; i++)
        nd_put(x->key, x->val, x->cap, s->h[i], id);
    x->used += p;
}

bool neardup_any(neardup_index *x, const hash_set *s, const hash_set *sets)
{
    if (x->t <= 0) {
        for (size_t i = 0; i < x->nids; i++)
            if (hash_set_jaccard_at_least(&sets[x->ids[i]], s, x->t)) return true;
        return false;
    }
    if (!x->cap) return false;
    if (++x->stamp == 0) { /* wrapped: forget every stamp */
        memset(x->seen, 0, x->seencap * sizeof *x->seen);
        x->stamp = 1;
    }
    size_t p = prefix_len(s->n, x->t);
    for (size_t i = 0; i < p; i++) {
        for (size_t j = slot_of(s->h[i], x->cap); x->val[j] != UINT32_MAX;
             j = (j + 1) & (x->cap - 1)) {
            uint32_t id = x->val[j];
            if (x->key[j] != s->h[i] || x->seen[id] == x->stamp) continue;
            x->seen[id] = x->stamp;
            if (hash_set_jaccard_at_least(&sets[id], s, x->t)) return true;
        }
    }
    return false;
}

void neardup_free(neardup_index *x)
{
    free(x->key);
    free(x->val);
    free(x->ids);
    free(x->seen);
    memset(x, 0, sizeof *x);
}

void validate_mmr_order(const double *rel, const hash_set *sets, size_t n, double lambda,
                        size_t *order)
{
    if (!n) return;
    double max_rel = rel[0];
    for (size_t i = 1; i < n; i++)
        if (rel[i] > max_rel) max_rel = rel[i];
    if (max_rel <= 0) max_rel = 1;
    /* maxsim[i]: largest similarity of i to anything picked so far. */
    double *maxsim = ragd_xcalloc(n, sizeof *maxsim);
    unsigned char *picked = ragd_xcalloc(n, 1);
    for (size_t r = 0; r < n; r++) {
        size_t best = n;
        double best_v = 0;
        for (size_t i = 0; i < n; i++) {
            if (picked[i]) continue;
            double v = lambda * rel[i] / max_rel - (1 - lambda) * maxsim[i];
            if (best == n || v > best_v) best = i, best_v = v;
        }
        picked[best] = 1;
        order[r] = best;
        if (lambda >= 1) continue;
        for (size_t i = 0; i < n; i++) {
            if (picked[i]) continue;
            double s = hash_set_jaccard(&sets[i], &sets[best]);
            if (s > maxsim[i]) maxsim[i] = s;
        }
    }
    free(maxsim);
    free(picked);
}
