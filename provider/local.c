/* provider/local.c — the built-in local embedder "ragd-local-hash-v2".
 *
 * A model-free, offline, deterministic embedding: signed feature hashing
 * (the "hashing trick", Weinberger et al. 2009) of three feature families.
 *
 *   text  --text_fold(strip marks)-->  folded  --text_words-->  words
 *
 *   family              from                               weight per occurrence
 *   word unigram        each non-stopword word              1.0
 *   word bigram         adjacent non-stopword words         0.25
 *                       (stopwords removed first, so "cost of repairs"
 *                       gives the bigram cost|repairs)
 *   char n-gram         n = 3, 4, 5 code points of "<word>" 2.0 / sqrt(G)
 *                       for every non-stopword word; G = the word's
 *                       number of n-grams (all sizes), so a word's n-gram
 *                       block has L2 norm 2.0 whatever its length: a long
 *                       word does not outweigh a short one.
 *
 * The weights were chosen on BEIR SciFact (dense-only nDCG@10, see
 * docs/quality.md): v1 (bigrams 0.5, n-gram block 0.5, stopword n-grams
 * included) scored 0.415; dropping stopword n-grams 0.436; n-gram block 1.0
 * 0.482; 2.0 with bigrams 0.25 (v2) 0.517. Character n-grams carry most of
 * the useful signal: they match inflections and typos that whole-word
 * features miss.
 *
 * Every occurrence is hashed (FNV-1a 64 over the feature bytes, seeded per
 * family, then the MurmurHash3 64-bit finalizer) and collected; the list is
 * sorted by (dimension, hash, weight) and each distinct feature f with tf
 * occurrences of mean weight w adds sign(f) * w * (1 + ln tf) to dimension
 * (hash mod dim), where the sign is the hash's top bit and the index uses
 * the low 63 bits. Summation runs in double in sorted order (a dimension's
 * features by ascending hash, the norm over ascending dimensions), so the
 * result does not depend on any iteration order, allocator or platform; the
 * vector is then L2-normalized and rounded to float once. It is computed
 * sparse (local_embed_sparse: only the dimensions a feature reaches) and
 * scattered into the dense vector. A text with no words embeds to all
 * zeros. Right single quotes (U+2019) are read as apostrophes.
 *
 * What it captures: lexical overlap (shared words, with sublinear term
 * weight), local word order (bigrams), and morphology and spelling through the
 * character n-grams: "running"/"runs"/"run" share "<ru", "<run", "run";
 * "retrieval"/"retreival" share most of their n-grams, so typos and
 * inflections stay close. Case and diacritics are folded away (NFKC + case
 * fold + marks stripped). CJK text is one word per character, so its
 * unigrams and bigrams are character unigrams and bigrams.
 *
 * In v1 a word's n-grams carried 0.25 of the squared norm against 1.0 for
 * its unigram, and typos were a weak signal (cos("retrieval", "retreival")
 * = 0.075 at dim 384); v2 gives the n-grams 4.0 against 1.0, so inflections
 * and typos now dominate a single word's vector. Word order is weak: a
 * reordered sentence scores close to 1.
 *
 * What it does not capture: meaning. Synonyms ("car"/"automobile"),
 * paraphrase, translation and negation look unrelated or identical exactly
 * as their surface forms do. Hash collisions add noise of about
 * 1/sqrt(dim) to the cosine of unrelated texts (±0.05 at 384), and on very
 * short texts a rare word-word collision moves it by ±0.4. Stopwords contribute
 * nothing (v1's stopword n-grams lifted the cosine of unrelated English
 * passages to ≈0.09). It is a fallback that works offline and a
 * deterministic stand-in for tests, not a semantic model.
 *
 * Changing anything here (seeds, weights, folding) changes every vector:
 * bump the model name then, so stored collections are not silently mixed.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"
#include "provider/provider.h"

/* Per-family hash seeds (arbitrary odd constants; part of the model). */
#define SEED_UNIGRAM 0x9E3779B97F4A7C15ULL
#define SEED_BIGRAM 0xC2B2AE3D27D4EB4FULL
#define SEED_CHARGRAM 0x165667B19E3779F9ULL

#define W_UNIGRAM 1.0
#define W_BIGRAM 0.25
#define W_CHARGRAMS 2.0 /* L2 mass of one word's n-gram block */
#define NGRAM_MIN 3
#define NGRAM_MAX 5

#define FNV_OFFSET 0xCBF29CE484222325ULL
#define FNV_PRIME 0x100000001B3ULL

static uint64_t fnv_start(uint64_t seed)
{
    return FNV_OFFSET ^ seed;
}

static uint64_t fnv_add(uint64_t h, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= FNV_PRIME;
    }
    return h;
}

/* MurmurHash3's fmix64: spreads FNV's weak low bits over the whole word. */
static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xFF51AFD7ED558CCDULL;
    k ^= k >> 33;
    k *= 0xC4CEB9FE1A85EC53ULL;
    k ^= k >> 33;
    return k;
}

typedef struct {
    uint64_t h;
    double w;
} feature;

typedef struct {
    feature *v;
    size_t n, cap;
} feature_list;

static void feat_add(feature_list *fl, uint64_t h, double w)
{
    if (fl->n == fl->cap) ragd_array_grow((void **)&fl->v, &fl->cap, fl->n + 1, sizeof *fl->v);
    fl->v[fl->n].h = h;
    fl->v[fl->n].w = w;
    fl->n++;
}

/* The insertion sort by (hash, weight) inside each run of one dimension
 * (runs are short: a text's features spread over dim dimensions). */
static void sort_within_dims(feature *a, const uint32_t *ix, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (ix[i] != ix[i - 1]) continue;
        feature x = a[i];
        if (!(x.h < a[i - 1].h || (x.h == a[i - 1].h && x.w < a[i - 1].w))) continue;
        size_t j = i;
        while (j > 0 && ix[j - 1] == ix[i] &&
               (x.h < a[j - 1].h || (x.h == a[j - 1].h && x.w < a[j - 1].w))) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Dimensions up to this many are sorted in one counting pass (a count per
 * dimension, on the stack); larger ones by LSD radix digits. */
#define ONE_PASS_DIMS 4096

/* After a sorting pass the output buffers hold the data: swap the roles of
 * the (features, dims) pairs so the next pass reads what this one wrote. */
static void swap_sorted(feature **a, feature **b, uint32_t **ia, uint32_t **ib)
{
    feature *t = *a;
    *a = *b;
    *b = t;
    uint32_t *ti = *ia;
    *ia = *ib;
    *ib = ti;
}

/* Stable counting sort of (a, ia) by ia (values below dim <= ONE_PASS_DIMS)
 * into (b, ib): one scatter instead of a radix sort's two (dim 384 needs
 * two 5-bit digits), the largest part of the embedder's sort. */
static void sort_dims_one_pass(const feature *a, const uint32_t *ia, size_t n, int dim, feature *b,
                               uint32_t *ib)
{
    size_t count[ONE_PASS_DIMS + 1];
    memset(count, 0, ((size_t)dim + 1) * sizeof *count);
    for (size_t i = 0; i < n; i++)
        count[ia[i] + 1]++;
    for (int k = 1; k <= dim; k++)
        count[k] += count[k - 1];
    for (size_t i = 0; i < n; i++) {
        size_t to = count[ia[i]]++;
        b[to] = a[i];
        ib[to] = ia[i];
    }
}

/* Sort fl->v by (dimension, hash, weight) ascending, the dimension of a
 * feature being hash mod dim (ix[k], filled here): a stable sort on the
 * dimension (one counting pass up to ONE_PASS_DIMS dimensions, else an LSD
 * radix sort with digits of at most 8 bits, as few as dim needs, passes
 * where every key has the same digit skipped), then an insertion sort by
 * (hash, weight) inside each run of one dimension. (dimension, hash, weight)
 * is a total order on distinct elements, so the result is exactly what any
 * correct sort gives. Occurrences of one feature end up together in
 * ascending weight, and the features of one dimension in ascending hash:
 * the order the vector was always summed in (by hash, then by dimension),
 * so the vectors stay the same bit for bit (tests/unit_provider.c pins
 * checksums). */
static void feat_sort(feature_list *fl, uint32_t *ix, int dim)
{
    size_t n = fl->n;
    uint64_t ud = (uint64_t)dim;
    bool pow2 = (ud & (ud - 1)) == 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t h = fl->v[i].h & 0x7FFFFFFFFFFFFFFFULL;
        ix[i] = (uint32_t)(pow2 ? h & (ud - 1) : h % ud);
    }
    if (n < 2) return;
    feature *a = fl->v, *b = ragd_xmalloc(n * sizeof *b);
    uint32_t *ia = ix, *ib = ragd_xmalloc(n * sizeof *ib);
    if (dim <= ONE_PASS_DIMS) {
        sort_dims_one_pass(a, ia, n, dim, b, ib);
        swap_sorted(&a, &b, &ia, &ib);
    } else {
        /* Digits of at most 8 bits, as few passes as the dimensions need
         * (two of 8 bits for 65536). */
        int bits = 1;
        while (bits < 32 && (ud - 1) >> bits)
            bits++;
        int digits = (bits + 7) / 8, width = (bits + digits - 1) / digits;
        uint32_t mask = (1u << width) - 1;
        for (int d = 0; d < digits; d++) {
            size_t count[256] = {0};
            int sh = width * d;
            for (size_t i = 0; i < n; i++)
                count[(ia[i] >> sh) & mask]++;
            if (count[(ia[0] >> sh) & mask] == n) continue; /* one digit value: nothing moves */
            size_t sum = 0;
            for (uint32_t k = 0; k <= mask; k++) {
                size_t t = count[k];
                count[k] = sum;
                sum += t;
            }
            for (size_t i = 0; i < n; i++) {
                size_t to = count[(ia[i] >> sh) & mask]++;
                b[to] = a[i];
                ib[to] = ia[i];
            }
            swap_sorted(&a, &b, &ia, &ib);
        }
    }
    if (a != fl->v) {
        /* The sorted arrays become fl->v and ix's contents. */
        memcpy(fl->v, a, n * sizeof *a);
        memcpy(ix, ia, n * sizeof *ia);
        b = a;
        ib = ia;
    }
    free(b);
    free(ib);
    sort_within_dims(fl->v, ix, n);
}

/* Add the character n-grams of "<w>" (w = word bytes, wl bytes). offs is
 * scratch for the code point offsets of the padded word. */
static void add_chargrams(feature_list *fl, const char *w, size_t wl, ragd_buf *pad, size_t **offs,
                          size_t *offs_cap)
{
    ragd_buf_reset(pad);
    ragd_buf_putc(pad, '<');
    ragd_buf_append(pad, w, wl);
    ragd_buf_putc(pad, '>');
    const char *p = pad->data;
    size_t pl = pad->len;

    /* Code point starts, plus the end offset. */
    size_t ncp = 0;
    for (size_t i = 0; i < pl; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80) ncp++;
    ragd_array_grow((void **)offs, offs_cap, ncp + 1, sizeof **offs);
    size_t k = 0;
    for (size_t i = 0; i < pl; i++)
        if (((unsigned char)p[i] & 0xC0) != 0x80) (*offs)[k++] = i;
    (*offs)[ncp] = pl;

    size_t g = 0;
    for (size_t n = NGRAM_MIN; n <= NGRAM_MAX; n++)
        if (ncp >= n) g += ncp - n + 1;
    if (!g) return; /* cannot happen: "<x>" is already one 3-gram */
    double w_each = W_CHARGRAMS / sqrt((double)g);
    for (size_t n = NGRAM_MIN; n <= NGRAM_MAX; n++) {
        if (ncp < n) break;
        for (size_t i = 0; i + n <= ncp; i++) {
            size_t a = (*offs)[i], b = (*offs)[i + n];
            uint64_t h = fnv_add(fnv_start(SEED_CHARGRAM), p + a, b - a);
            feat_add(fl, fmix64(h), w_each);
        }
    }
}

/* Copy word bytes into *dst (NUL-terminated), turning U+2019 into '\''. */
static size_t copy_word(ragd_buf *dst, const char *s, size_t n)
{
    ragd_buf_reset(dst);
    ragd_buf_reserve(dst, n);
    if (!memchr(s, 0xE2, n)) { /* no U+2019: the bytes as they are */
        memcpy(dst->data, s, n);
        dst->data[n] = '\0';
        dst->len = n;
        return n;
    }
    for (size_t i = 0; i < n; i++) {
        if (i + 2 < n && (unsigned char)s[i] == 0xE2 && (unsigned char)s[i + 1] == 0x80 &&
            (unsigned char)s[i + 2] == 0x99) {
            ragd_buf_putc(dst, '\'');
            i += 2;
        } else {
            ragd_buf_putc(dst, s[i]);
        }
    }
    return dst->len;
}

/* The features of text (folded, words, n-grams, bigrams), unsorted. */
static void collect_features(const char *text, size_t len, feature_list *fl)
{
    size_t flen = 0;
    char *f = text_fold(text, len, true, &flen);
    ragd_span *words = NULL;
    size_t nw = text_words(f, flen, &words);

    ragd_buf word = RAGD_BUF_INIT, prev = RAGD_BUF_INIT, pad = RAGD_BUF_INIT;
    size_t *offs = NULL, offs_cap = 0;
    int have_prev = 0;

    for (size_t i = 0; i < nw; i++) {
        size_t wl = copy_word(&word, f + words[i].start, words[i].end - words[i].start);
        if (!wl) continue;
        if (lexical_is_stopword(word.data)) continue;
        add_chargrams(fl, word.data, wl, &pad, &offs, &offs_cap);
        feat_add(fl, fmix64(fnv_add(fnv_start(SEED_UNIGRAM), word.data, wl)), W_UNIGRAM);
        if (have_prev) {
            uint64_t h = fnv_add(fnv_start(SEED_BIGRAM), prev.data, prev.len);
            h = fnv_add(h, "\x1F", 1); /* unit separator: never inside a word */
            h = fnv_add(h, word.data, wl);
            feat_add(fl, fmix64(h), W_BIGRAM);
        }
        ragd_buf_reset(&prev);
        ragd_buf_append(&prev, word.data, wl);
        have_prev = 1;
    }
    free(words);
    free(f);
    ragd_buf_free(&word);
    ragd_buf_free(&prev);
    ragd_buf_free(&pad);
    free(offs);
}

size_t local_embed_sparse(const char *text, size_t len, int dim, uint32_t **idx, float **val)
{
    *idx = NULL;
    *val = NULL;
    if (dim <= 0 || !text || !len) return 0;
    feature_list fl = {0};
    /* A text of len bytes has at most about 3 n-grams per byte plus a
     * unigram and a bigram per word: one allocation for most texts. */
    fl.cap = 3 * len + 16;
    fl.v = ragd_xmalloc(fl.cap * sizeof *fl.v);
    collect_features(text, len, &fl);
    if (!fl.n) {
        free(fl.v);
        return 0;
    }
    uint32_t *ix = ragd_xmalloc(fl.n * sizeof *ix);
    feat_sort(&fl, ix, dim);
    /* Each distinct feature f with tf occurrences of mean weight w adds
     * sign(f) * w * (1 + ln tf) to its dimension; the dimensions come in
     * ascending order, each summed over its features in ascending hash. */
    double *acc = ragd_xmalloc(fl.n * sizeof *acc);
    uint32_t *di = ragd_xmalloc(fl.n * sizeof *di);
    size_t nd = 0;
    for (size_t i = 0; i < fl.n;) {
        size_t j = i;
        double sum = 0;
        while (j < fl.n && fl.v[j].h == fl.v[i].h)
            sum += fl.v[j++].w;
        double tf = (double)(j - i);
        /* tf 1: (sum / 1) * (1 + ln 1) is sum exactly; no call to log. */
        double v = j - i == 1 ? sum : (sum / tf) * (1.0 + log(tf));
        uint64_t h = fl.v[i].h;
        if (!nd || di[nd - 1] != ix[i]) {
            di[nd] = ix[i];
            acc[nd++] = 0.0;
        }
        acc[nd - 1] += (h >> 63) ? -v : v;
        i = j;
    }
    free(fl.v);
    free(ix);
    double norm = 0;
    for (size_t k = 0; k < nd; k++)
        norm += acc[k] * acc[k];
    size_t m = 0;
    if (norm > 0) {
        norm = sqrt(norm);
        float *fv = ragd_xmalloc(nd * sizeof *fv);
        for (size_t k = 0; k < nd; k++) {
            float x = (float)(acc[k] / norm);
            if (x == 0) continue; /* a dimension whose features cancelled */
            di[m] = di[k];
            fv[m++] = x;
        }
        *val = fv;
    }
    free(acc);
    if (m) {
        *idx = di;
    } else {
        free(di);
        free(*val);
        *val = NULL;
    }
    return m;
}

void local_embed_text(const char *text, size_t len, int dim, float *out)
{
    if (dim <= 0 || !out) return;
    memset(out, 0, (size_t)dim * sizeof *out);
    uint32_t *idx;
    float *val;
    size_t m = local_embed_sparse(text, len, dim, &idx, &val);
    for (size_t k = 0; k < m; k++)
        out[idx[k]] = val[k];
    free(idx);
    free(val);
}
