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
 * family, then the MurmurHash3 64-bit finalizer); each distinct feature f
 * with tf occurrences of mean weight w adds sign(f) * w * (1 + ln tf) to
 * dimension (hash mod dim), where the sign is the hash's top bit and the
 * index uses the low 63 bits. Summation runs in double in one fixed order:
 * a feature's occurrences by ascending weight, a dimension's features by
 * ascending hash, the norm over ascending dimensions — the order of the
 * list sorted by (dimension, hash, weight) that v2 was defined with — so the
 * result does not depend on any iteration order, allocator or platform; the
 * vector is then L2-normalized and rounded to float once. No list is sorted
 * any more: occurrences are merged in a hash table as they come (see
 * feat_add), dimensions are ranked in a bitmap (feat_dims), and only the
 * few ties (a feature of several weights, a dimension of several features)
 * are ordered. A text short against dim (at most dim / 6 bytes: the
 * semantic chunker's sentences at 4,096 dimensions, short queries at 384)
 * skips the hash table: its features are chained on their dimension as
 * they come (feat_add_dim), with a quarter of the table path's L1 misses
 * on SciFact sentences (cachegrind). It is computed sparse
 * (local_embed_sparse: only the dimensions a feature reaches) and
 * scattered into the dense vector. A scratch reused across texts caches
 * each distinct word's features (its stop-word verdict, n-gram hashes,
 * unigram and bigram-prefix hashes: all functions of its bytes; see
 * provider/local_words.c), bounded and emptied when full. A text with no words
 * embeds to all zeros. Right single quotes (U+2019) are read as
 * apostrophes.
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

#include "provider/local_internal.h"

local_embed_scratch *local_embed_scratch_new(void)
{
    return ragd_xcalloc(1, sizeof(local_embed_scratch));
}

void local_embed_scratch_free(local_embed_scratch *ws)
{
    if (!ws) return;
    free(ws->table);
    free(ws->f);
    free(ws->mix);
    free(ws->fmix);
    free(ws->fpos);
    free(ws->mixf);
    free(ws->wbuf);
    free(ws->first_of);
    free(ws->first16);
    free(ws->dacc);
    free(ws->bits);
    free(ws->multi);
    free(ws->sv);
    free(ws->sh);
    free(ws->grp);
    free(ws->acc);
    free(ws->idx);
    free(ws->val);
    ragd_buf_free(&ws->word);
    ragd_buf_free(&ws->pad);
    ragd_buf_free(&ws->folded);
    free(ws->words);
    free(ws->offs);
    free(ws->wc);
    free(ws->wtab);
    free(ws->wbytes);
    free(ws->whash);
    free(ws);
}

static void table_insert(local_embed_scratch *ws, uint32_t fi)
{
    size_t mask = ws->tcap - 1, p = (size_t)ws->f[fi].h & mask;
    while (ws->table[p])
        p = (p + 1) & mask;
    ws->table[p] = fi + 1;
    ws->fpos[fi] = (uint32_t)p;
}

/* Keep the table at most half full: double it and re-insert. */
static void table_grow(local_embed_scratch *ws)
{
    free(ws->table);
    ws->tcap = ws->tcap ? 2 * ws->tcap : 1024;
    ws->table = ragd_xcalloc(ws->tcap, sizeof *ws->table);
    for (size_t i = 0; i < ws->nf; i++)
        table_insert(ws, (uint32_t)i);
}

/* One more occurrence of weight w in the mix chain of feature fi. */
static void mix_push(local_embed_scratch *ws, uint32_t fi, double w)
{
    if (ws->nmix == ws->capmix)
        ragd_array_grow((void **)&ws->mix, &ws->capmix, ws->nmix + 1, sizeof *ws->mix);
    ws->mix[ws->nmix].w = w;
    ws->mix[ws->nmix].prev = ws->fmix[fi];
    ws->fmix[fi] = (int32_t)ws->nmix++;
}

/* A second weight for feature x (index fi): from now on every occurrence
 * is recorded (its chain starts at ws->fmix[fi]); the earlier ones all
 * weighed w0. A mixed feature's w0 becomes NaN, which no weight equals, so
 * feat_repeat sends every later occurrence here too. */
static void feat_mixed(local_embed_scratch *ws, dfeat *x, uint32_t fi, double w)
{
    if (!isnan(x->w0)) {
        if (ws->nmixf == ws->capmixf)
            ragd_array_grow((void **)&ws->mixf, &ws->capmixf, ws->nmixf + 1, sizeof *ws->mixf);
        ws->mixf[ws->nmixf++] = fi;
        if (fi >= ws->capfmix)
            ragd_array_grow((void **)&ws->fmix, &ws->capfmix, (size_t)fi + 1, sizeof *ws->fmix);
        ws->fmix[fi] = -1;
        for (uint32_t k = 0; k < x->tf; k++)
            mix_push(ws, fi, x->w0);
        x->w0 = NAN;
    }
    mix_push(ws, fi, w);
}

/* Room for feature nf in f and, on the table path, its slot in fpos. */
static void feat_grow(local_embed_scratch *ws)
{
    ragd_array_grow((void **)&ws->f, &ws->capf, ws->nf + 1, sizeof *ws->f);
    if (ws->capfpos < ws->capf) {
        ws->capfpos = ws->capf;
        ws->fpos = ragd_xrealloc(ws->fpos, ws->capfpos * sizeof *ws->fpos);
    }
}

/* A repeat of feature x (index fi) with weight w. */
static inline void feat_repeat(local_embed_scratch *ws, dfeat *x, uint32_t fi, double w)
{
    if (w != x->w0) feat_mixed(ws, x, fi, w);
    x->sum += w;
    x->tf++;
}

/* One occurrence of feature h with weight w. Occurrences of one feature are
 * accumulated where they land instead of being listed and sorted: while
 * they all have one weight, adding them in arrival order is adding them in
 * any order (the operands are the same sequence); a feature that gets a
 * second weight (a shared n-gram of words of different lengths) has every
 * occurrence recorded in mix, to be summed in ascending weight later. The
 * common cases (the probe, a new feature, a repeat of one weight) are
 * inline; a mixed feature is a call. */
__attribute__((always_inline)) static inline void feat_add(local_embed_scratch *ws, uint64_t h,
                                                           double w)
{
    if (2 * (ws->nf + 1) > ws->tcap) table_grow(ws);
    size_t mask = ws->tcap - 1, p = (size_t)h & mask;
    for (;;) {
        uint32_t e = ws->table[p];
        if (!e) break;
        dfeat *x = &ws->f[e - 1];
        if (x->h == h) {
            feat_repeat(ws, x, e - 1, w);
            return;
        }
        p = (p + 1) & mask;
    }
    if (ws->nf == ws->capf || ws->nf == ws->capfpos) feat_grow(ws);
    ws->f[ws->nf] = (dfeat){.h = h, .sum = w, .w0 = w, .tf = 1, .next = NO_FEAT};
    ws->fpos[ws->nf] = (uint32_t)p;
    ws->table[p] = (uint32_t)++ws->nf;
}

/* The dimension feature h adds to: hash mod dim over its low 63 bits
 * (dmask: dim - 1 when dim is a power of two, else 0). Plain values, so a
 * caller can hold them in locals. */
static inline uint32_t dim_index(uint64_t h, uint64_t dmask, uint64_t dim)
{
    uint64_t l = h & 0x7FFFFFFFFFFFFFFFULL;
    return (uint32_t)(dmask ? l & dmask : l % dim);
}

/* feat_add for a text whose features are few against dim (by_dim), for
 * n features h[0..n) of one weight w: the dimensions are the hash table.
 * Each reached dimension is marked in bits and heads a chain of its
 * distinct features through first16 and next (a second one marks it in
 * multi), so there is no table to probe or clear, and walk_marks
 * reads each dimension's features straight from its chain instead of
 * bucketing them again. The same features with the same sums as feat_add.
 * The scratch's arrays are held in locals: a store to a feature could
 * otherwise alias any of the scratch's fields, which would be reloaded
 * after each one. */
__attribute__((always_inline)) static inline void
feat_add_dim(local_embed_scratch *ws, const uint64_t *h, size_t n, double w)
{
    if (ws->nf + n > ws->capf)
        ragd_array_grow((void **)&ws->f, &ws->capf, ws->nf + n, sizeof *ws->f);
    dfeat *f = ws->f;
    uint64_t *bits = ws->bits, *multi = ws->multi, dmask = ws->dmask, ud = (uint64_t)ws->dim;
    uint16_t *first16 = ws->first16;
    uint32_t nf = (uint32_t)ws->nf;
    for (size_t k = 0; k < n; k++) {
        uint32_t ix = dim_index(h[k], dmask, ud);
        uint64_t bit = UINT64_C(1) << (ix % 64);
        uint32_t head = NO_FEAT;
        if (bits[ix / 64] & bit) {
            head = first16[ix];
            uint32_t e = head;
            while (e != NO_FEAT && f[e].h != h[k])
                e = f[e].next;
            if (e != NO_FEAT) {
                feat_repeat(ws, &f[e], e, w);
                continue;
            }
            multi[ix / 64] |= bit;
        } else {
            bits[ix / 64] |= bit;
        }
        f[nf] = (dfeat){.h = h[k], .sum = w, .w0 = w, .tf = 1, .next = head};
        first16[ix] = (uint16_t)nf++;
    }
    ws->nf = nf;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The sums of mixed features again, each from 0 over its occurrences in
 * ascending weight: the order the sorted occurrence list gave them. A
 * feature's occurrences are few (an n-gram shared by a few words), so they
 * are sorted by insertion, many by qsort. */
static void resum_mixed(local_embed_scratch *ws)
{
    for (size_t i = 0; i < ws->nmixf; i++) {
        dfeat *x = &ws->f[ws->mixf[i]];
        if (x->tf > ws->capw) {
            ws->capw = 2 * (size_t)x->tf;
            ws->wbuf = ragd_xrealloc(ws->wbuf, ws->capw * sizeof *ws->wbuf);
        }
        double *w = ws->wbuf;
        size_t n = 0;
        for (int32_t k = ws->fmix[ws->mixf[i]]; k >= 0; k = ws->mix[k].prev)
            w[n++] = ws->mix[k].w;
        if (n > 32) {
            qsort(w, n, sizeof *w, dbl_cmp);
        } else {
            for (size_t a = 1; a < n; a++) {
                double v = w[a];
                size_t b = a;
                for (; b > 0 && w[b - 1] > v; b--)
                    w[b] = w[b - 1];
                w[b] = v;
            }
        }
        double sum = 0;
        for (size_t k = 0; k < n; k++)
            sum += w[k];
        x->sum = sum;
    }
}

/* bits, multi, first_of, first16 and dacc for dim dimensions, the bitmaps all
 * clear (first_of, first16 and dacc are only read where bits is set, so never
 * reset). */
static void dims_ready(local_embed_scratch *ws, int dim)
{
    if (ws->dim == dim) return;
    free(ws->bits);
    free(ws->multi);
    free(ws->first_of);
    free(ws->first16);
    free(ws->dacc);
    size_t nwords = ((size_t)dim + 63) / 64;
    ws->bits = ragd_xcalloc(nwords, sizeof *ws->bits);
    ws->multi = ragd_xcalloc(nwords, sizeof *ws->multi);
    ws->first_of = ragd_xmalloc((size_t)dim * sizeof *ws->first_of);
    ws->first16 = ragd_xmalloc((size_t)dim * sizeof *ws->first16);
    ws->dacc = ragd_xmalloc((size_t)dim * sizeof *ws->dacc);
    ws->dim = dim;
    uint64_t ud = (uint64_t)dim;
    ws->dmask = (ud & (ud - 1)) == 0 ? ud - 1 : 0;
}

static bool shared_before(const shared_feat *a, const shared_feat *b)
{
    return a->dim != b->dim ? a->dim < b->dim : a->h < b->h;
}

static int shared_cmp(const void *a, const void *b)
{
    const shared_feat *x = a, *y = b;
    return shared_before(x, y) ? -1 : shared_before(y, x);
}

/* The sum of one dimension's n features g, from 0 in ascending hash (the
 * hashes are distinct: features are keyed on them); g is sorted in place,
 * by insertion when they are few, as they nearly always are. */
static double group_sum(shared_feat *g, size_t n)
{
    if (n > 64) {
        qsort(g, n, sizeof *g, shared_cmp);
    } else {
        for (size_t i = 1; i < n; i++) {
            shared_feat v = g[i];
            size_t j = i;
            for (; j > 0 && v.h < g[j - 1].h; j--)
                g[j] = g[j - 1];
            g[j] = v;
        }
    }
    double sum = 0.0;
    for (size_t i = 0; i < n; i++)
        sum += g[i].sv;
    return sum;
}

/* The sums of the shared dimensions into dacc: each from 0 over its
 * features in ascending hash, as a sort of all of ws->sh by (dimension,
 * hash) gave them, without that sort (at 384 dimensions almost every
 * feature shares its dimension, so it sorted nearly all of them). A
 * counting pass groups sh by dimension into ws->grp (first_of, no longer
 * needed for a shared dimension, holds the group's count, then its next
 * slot, flagged by the top bit); each group, a few features, is sorted by
 * hash (hashes are distinct: features are keyed on them), so every sum
 * adds the same values in the same order. */
static void sum_shared(local_embed_scratch *ws)
{
    const uint32_t placed = UINT32_C(0x80000000);
    shared_feat *sh = ws->sh;
    size_t nsh = ws->nsh;
    uint32_t *slot = ws->first_of;
    if (nsh > ws->capgrp) {
        ws->capgrp = ws->capsh > nsh ? ws->capsh : nsh;
        free(ws->grp);
        ws->grp = ragd_xmalloc(ws->capgrp * sizeof *ws->grp);
    }
    shared_feat *grp = ws->grp;
    for (size_t k = 0; k < nsh; k++)
        slot[sh[k].dim] = 0;
    for (size_t k = 0; k < nsh; k++)
        slot[sh[k].dim]++;
    uint32_t off = 0;
    for (size_t k = 0; k < nsh; k++) {
        uint32_t *c = &slot[sh[k].dim];
        if (*c & placed) continue;
        uint32_t n = *c;
        *c = off | placed;
        off += n;
    }
    for (size_t k = 0; k < nsh; k++)
        grp[slot[sh[k].dim]++ & ~placed] = sh[k];
    for (size_t a0 = 0; a0 < nsh;) {
        size_t e = slot[grp[a0].dim] & ~placed; /* the group's end after the scatter */
        ws->dacc[grp[a0].dim] = group_sum(grp + a0, e - a0);
        a0 = e;
    }
}

/* 1.0 + log((double)tf), the same double every time: from the scratch's
 * table below LOG_TF_MAX (log is a pure function, so its first result is
 * its every result), else from log. */
static inline double one_plus_log_tf(local_embed_scratch *ws, uint32_t tf)
{
    if (tf >= LOG_TF_MAX) return 1.0 + log((double)tf);
    double *e = &ws->log_tf[tf];
    if (*e == 0) *e = 1.0 + log((double)tf);
    return *e;
}

/* The output arrays (and sv) for nf features. */
static void out_ready(local_embed_scratch *ws, size_t nf)
{
    if (ws->capout < nf) {
        ws->capout = nf;
        ws->sv = ragd_xrealloc(ws->sv, nf * sizeof *ws->sv);
        ws->acc = ragd_xrealloc(ws->acc, nf * sizeof *ws->acc);
        ws->idx = ragd_xrealloc(ws->idx, nf * sizeof *ws->idx);
        ws->val = ragd_xrealloc(ws->val, nf * sizeof *ws->val);
    }
}

/* What feature x adds to its dimension: sign(x) * mean weight * (1 + ln tf). */
static inline double feat_value(local_embed_scratch *ws, const dfeat *x)
{
    /* tf 1: (sum / 1) * (1 + ln 1) is sum exactly; no call to log. */
    double v = x->tf == 1 ? x->sum : (x->sum / (double)x->tf) * one_plus_log_tf(ws, x->tf);
    /* -v when the top bit is set, as a sign-bit flip (which is what
     * negation is) rather than a branch on a coin toss. */
    uint64_t vb;
    memcpy(&vb, &v, sizeof vb);
    vb ^= x->h & UINT64_C(0x8000000000000000);
    double sv;
    memcpy(&sv, &vb, sizeof vb);
    return sv;
}

/* The sum of a shared dimension's features (its chain from feature e),
 * from 0 in ascending hash: the order sum_shared adds them in. */
static double chain_sum(local_embed_scratch *ws, uint32_t e)
{
    size_t n = 0;
    for (uint32_t k = e; k != NO_FEAT; k = ws->f[k].next) {
        if (n == ws->capsh) ragd_array_grow((void **)&ws->sh, &ws->capsh, n + 1, sizeof *ws->sh);
        ws->sh[n++] = (shared_feat){ws->f[k].h, feat_value(ws, &ws->f[k]), 0};
    }
    return group_sum(ws->sh, n);
}

/* The marked dimensions in ascending order into ws->idx, their sums into
 * ws->acc (returns their number), *norm2 the sum of the squared sums in
 * that order, and the marks cleared. A dimension's sum comes from dacc
 * (feat_dims put it there) or, for features added by dimension
 * (feat_add_dim), from its lone feature or its chain (chain_sum): the same
 * sums in the same order either way. */
static size_t walk_marks(local_embed_scratch *ws, int dim, double *norm2)
{
    uint64_t *bits = ws->bits, *multi = ws->multi;
    const uint16_t *first16 = ws->first16;
    const dfeat *f = ws->f;
    const double *dacc = ws->dacc;
    bool by_dim = ws->by_dim;
    size_t nwords = ((size_t)dim + 63) / 64, nd = 0;
    uint32_t *idx = ws->idx;
    double *acc = ws->acc, n2 = 0;
    for (size_t w = 0; w < nwords; w++) {
        uint64_t mw = multi[w];
        for (uint64_t b = bits[w]; b; b &= b - 1) {
            uint32_t bi = (uint32_t)__builtin_ctzll(b), k = (uint32_t)(w * 64) + bi;
            double a;
            if (!by_dim)
                a = dacc[k];
            else if ((mw >> bi) & 1)
                a = chain_sum(ws, first16[k]);
            else
                a = 0.0 + feat_value(ws, &f[first16[k]]); /* the sum from 0 */
            idx[nd] = k;
            acc[nd++] = a;
            n2 += a * a;
        }
        bits[w] = 0;
        multi[w] = 0;
    }
    *norm2 = n2;
    return nd;
}

/* Each distinct feature f with tf occurrences of mean weight w adds
 * sign(f) * w * (1 + ln tf) to its dimension (hash mod dim, over the hash's
 * low 63 bits). The reached dimensions, in ascending order, go to ws->idx
 * and their sums to ws->acc; returns their number, and *norm2 the sum of
 * the squared sums in that order. A dimension's sum runs from 0 over its
 * features in ascending hash, the order the sorted list gave them. Without
 * sorting: one pass over the features marks each dimension in a bitmap and
 * stores a lone feature's value in the dimension's slot of dacc; the
 * second feature to land on a marked dimension marks it shared (a second
 * bitmap) and lists both (the first from first_of), as do later ones; the
 * listed features are summed per dimension in ascending hash into dacc
 * from 0 (sum_shared: grouped, not sorted as a whole); then the marks are
 * walked in ascending order. Nothing
 * per dimension is reset but the two bitmaps. */
static size_t feat_dims(local_embed_scratch *ws, int dim, double *norm2)
{
    size_t nf = ws->nf;
    out_ready(ws, nf);
    uint64_t *bits = ws->bits, *multi = ws->multi;
    uint32_t *first_of = ws->first_of;
    double *dacc = ws->dacc;
    ws->nsh = 0;
    for (size_t i = 0; i < nf; i++) {
        const dfeat *x = &ws->f[i];
        double sv = feat_value(ws, x);
        ws->sv[i] = sv;
        uint32_t ix = dim_index(x->h, ws->dmask, (uint64_t)ws->dim);
        uint64_t bit = UINT64_C(1) << (ix % 64);
        if (!(bits[ix / 64] & bit)) { /* the first feature here: alone so far */
            bits[ix / 64] |= bit;
            first_of[ix] = (uint32_t)i;
            dacc[ix] = 0.0 + sv; /* the sum from 0, as the sorted walk starts it */
            continue;
        }
        if (ws->nsh + 2 > ws->capsh)
            ragd_array_grow((void **)&ws->sh, &ws->capsh, ws->nsh + 2, sizeof *ws->sh);
        if (!(multi[ix / 64] & bit)) { /* the second: list the first one too */
            multi[ix / 64] |= bit;
            uint32_t f0 = first_of[ix];
            ws->sh[ws->nsh++] = (shared_feat){ws->f[f0].h, ws->sv[f0], ix};
        }
        ws->sh[ws->nsh++] = (shared_feat){x->h, sv, ix};
    }
    sum_shared(ws);
    return walk_marks(ws, dim, norm2);
}

/* The features of text (folded, words, n-grams, bigrams), accumulated. */
static void collect_features(local_embed_scratch *ws, const char *text, size_t len)
{
    /* The folded text and its words in the scratch's buffers (no
     * allocation per text once they have grown). */
    text_fold_buf(text, len, true, &ws->folded);
    const char *f = ws->folded.data;
    size_t flen = ws->folded.len;
    /* At most 3 features per byte (a word of wl bytes gives 3 wl - 3
     * n-grams, a unigram and a bigram): keyed on their dimension when
     * that keeps the dimensions at most half reached, so chains stay
     * short; else through the hash table. */
    ws->by_dim = 6 * flen <= (size_t)ws->dim && ws->dim <= BY_DIM_MAX_DIM;
    size_t nw = text_words_reuse(f, flen, &ws->words, &ws->words_cap);
    const ragd_span *words = ws->words;

    /* The bigram hash of the previous word up to its end: a bigram is
     * FNV over prev, 0x1F, word, so the prefix carries over (the word
     * cache keeps each word's prefix, hp). */
    uint64_t prev_h = 0;
    int have_prev = 0;
    ragd_buf *word = &ws->word;
    bool maybe_quote = memchr(f, 0xE2, flen) != NULL; /* U+2019 starts with 0xE2 */
    for (size_t i = 0; i < nw; i++) {
        const char *wp = f + words[i].start;
        size_t wl = words[i].end - words[i].start;
        if (maybe_quote && memchr(wp, 0xE2, wl)) { /* perhaps a U+2019: the word with apostrophes */
            wl = local_copy_word(word, wp, wl);
            wp = word->data;
        }
        if (!wl) continue;
        /* The unigram chain (the cache's key) and the bigram ending here
         * (prev, unit separator: never inside a word, word) in one loop;
         * the bigram is wasted on a stop word, which is rarer than a
         * second loop is dear. */
        uint64_t hu = fnv_start(SEED_UNIGRAM), hb = fnv_byte(prev_h, 0x1F);
        for (size_t k = 0; k < wl; k++) {
            unsigned char c = (unsigned char)wp[k];
            hu = fnv_byte(hu, c);
            hb = fnv_byte(hb, c);
        }
        const word_entry *x = local_word_find(ws, wp, wl, hu);
        if (!x) x = local_word_add(ws, wp, wl, hu);
        if (x->stop) continue;
        /* Its n-grams, its unigram, the bigram: the order they always
         * had. */
        const uint64_t *gh = ws->whash + x->hoff;
        double w_each = x->w_each;
        if (ws->by_dim) {
            feat_add_dim(ws, gh, x->nh, w_each);
            feat_add_dim(ws, &x->uh, 1, W_UNIGRAM);
            if (have_prev) {
                uint64_t bh = ragd_fmix64(hb);
                feat_add_dim(ws, &bh, 1, W_BIGRAM);
            }
        } else {
            for (uint32_t k = 0; k < x->nh; k++)
                feat_add(ws, gh[k], w_each);
            feat_add(ws, x->uh, W_UNIGRAM);
            if (have_prev) feat_add(ws, ragd_fmix64(hb), W_BIGRAM);
        }
        prev_h = x->hp;
        have_prev = 1;
    }
}

/* Empty the table, the dimension marks and the feature lists for the next
 * text (only what this one touched). */
static void scratch_reset(local_embed_scratch *ws)
{
    /* A table at least a quarter full: one memset beats scattered stores
     * (it stays as large as the longest text made it). By dimension, the
     * table was not used and walk_marks cleared the marks. */
    if (ws->by_dim)
        ;
    else if (ws->tcap <= 4 * ws->nf)
        memset(ws->table, 0, ws->tcap * sizeof *ws->table);
    else
        for (size_t i = 0; i < ws->nf; i++)
            ws->table[ws->fpos[i]] = 0;
    ws->nf = 0;
    ws->nmix = 0;
    ws->nmixf = 0;
}

/* The features of text summed per dimension: the reached dimensions in
 * ascending order in ws->idx, their sums in ws->acc (returns their number),
 * and *norm the L2 norm over them in that order; 0 (nothing to write) when
 * the text has no features or its norm is not positive. The scratch is
 * ready for the next text on return. */
static size_t embed_dims(local_embed_scratch *ws, const char *text, size_t len, int dim,
                         double *norm)
{
    if (dim <= 0 || !text || !len) return 0;
    dims_ready(ws, dim);
    collect_features(ws, text, len);
    if (!ws->nf) return 0;
    resum_mixed(ws);
    double n2 = 0; /* over the reached dimensions, ascending */
    size_t nd =
        ws->by_dim ? (out_ready(ws, ws->nf), walk_marks(ws, dim, &n2)) : feat_dims(ws, dim, &n2);
    scratch_reset(ws);
    if (!(n2 > 0)) return 0;
    *norm = sqrt(n2);
    return nd;
}

size_t local_embed_sparse_ws(local_embed_scratch *ws, const char *text, size_t len, int dim,
                             const uint32_t **idx, const float **val)
{
    *idx = NULL;
    *val = NULL;
    double norm = 0;
    size_t nd = embed_dims(ws, text, len, dim, &norm);
    double *acc = ws->acc;
    uint32_t *di = ws->idx;
    size_t m = 0;
    for (size_t k = 0; k < nd; k++) {
        float x = (float)(acc[k] / norm);
        if (x == 0) continue; /* a dimension whose features cancelled */
        di[m] = di[k];
        ws->val[m++] = x;
    }
    if (!m) return 0;
    *idx = di;
    *val = ws->val;
    return m;
}

size_t local_embed_sparse_append(local_embed_scratch *ws, const char *text, size_t len, int dim,
                                 uint32_t **idx, float **val, size_t *n, size_t *cap, double *ss)
{
    *ss = 0;
    double norm = 0;
    size_t nd = embed_dims(ws, text, len, dim, &norm);
    if (!nd) return 0;
    if (*n + nd > *cap) {
        *cap = 2 * (*n + nd);
        *idx = ragd_xrealloc(*idx, *cap * sizeof **idx);
        *val = ragd_xrealloc(*val, *cap * sizeof **val);
    }
    const double *acc = ws->acc;
    const uint32_t *di = ws->idx;
    uint32_t *oi = *idx + *n;
    float *ov = *val + *n;
    size_t m = 0;
    double s2 = 0;
    for (size_t k = 0; k < nd; k++) {
        float x = (float)(acc[k] / norm);
        if (x == 0) continue; /* a dimension whose features cancelled */
        oi[m] = di[k];
        ov[m++] = x;
        s2 += (double)x * x;
    }
    *n += m;
    *ss = s2;
    return m;
}

size_t local_embed_sparse(const char *text, size_t len, int dim, uint32_t **idx, float **val)
{
    *idx = NULL;
    *val = NULL;
    local_embed_scratch *ws = local_embed_scratch_new();
    ws->one_shot = true;
    const uint32_t *wi;
    const float *wv;
    size_t m = local_embed_sparse_ws(ws, text, len, dim, &wi, &wv);
    if (m) {
        *idx = ragd_xmalloc(m * sizeof **idx);
        *val = ragd_xmalloc(m * sizeof **val);
        memcpy(*idx, wi, m * sizeof **idx);
        memcpy(*val, wv, m * sizeof **val);
    }
    local_embed_scratch_free(ws);
    return m;
}

void local_embed_text_ws(local_embed_scratch *ws, const char *text, size_t len, int dim, float *out)
{
    if (dim <= 0 || !out) return;
    memset(out, 0, (size_t)dim * sizeof *out);
    const uint32_t *idx;
    const float *val;
    size_t m = local_embed_sparse_ws(ws, text, len, dim, &idx, &val);
    for (size_t k = 0; k < m; k++)
        out[idx[k]] = val[k];
}

void local_embed_text(const char *text, size_t len, int dim, float *out)
{
    if (dim <= 0 || !out) return;
    local_embed_scratch *ws = local_embed_scratch_new();
    ws->one_shot = true;
    local_embed_text_ws(ws, text, len, dim, out);
    local_embed_scratch_free(ws);
}
