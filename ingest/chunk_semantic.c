/* ingest/chunk_semantic.c — the semantic chunker: cut where the topic shifts.
 *
 * 1. Units. Each hard section (as in the fixed chunker: a heading that
 *    follows content starts one) is split into units: the sentences of its
 *    paragraphs, list items and quotes (text_sentences); each code block and
 *    table whole, or line by line when it alone exceeds max_tokens (never
 *    mid-line). A section's leading headings are glued to the unit after
 *    them, so a heading never ends a chunk.
 * 2. Embeddings. Every unit of every section with at least two units is
 *    embedded once, in one embedder_embed call per document — per 1,024
 *    units for longer ones, each call also re-embedding the 2w - 1 units its
 *    windows reach beyond its edges, which bounds memory — and the embedder
 *    batches internally (64 texts per request for remote servers). A unit
 *    longer than max_tokens is embedded by its first max_tokens tokens.
 *    Vectors are L2-normalized, then centered: the document's (call's)
 *    mean vector is subtracted, removing what every sentence shares
 *    (language, register, common word forms) so cosines measure what
 *    differs. With the built-in
 *    local embedder the vectors are computed at CHUNK_SEMANTIC_LOCAL_DIM
 *    (4096) dimensions: they are never stored, and at the collection's 384
 *    its hashing collisions (cosine noise ~1/sqrt(dim)) drown the signal.
 *    Its vectors are sparse (a sentence reaches a few hundred of the 4096
 *    dimensions), so with it the chunker takes them as (dimension, value)
 *    rows (local_embed_sparse) and computes every sum over the nonzero
 *    terms in the dense order: the same distances bit for bit, without
 *    touching 4096 floats per sentence several times
 *    (tests/unit_chunk_sparse.c compares the two paths).
 * 3. Distances. At the boundary after unit i the "left window" is units
 *    [i-w+1..i] and the right one [i+1..i+w] (clipped to the section; w = 2
 *    by default); each window's vector is the mean of its units' vectors, and
 *    the boundary's distance is 1 - cosine of the two. Averaging unit vectors
 *    instead of embedding each window's text costs one embedding per sentence
 *    instead of 2w. A window without features (all-zero vectors) gives 0.
 * 4. Cuts. The threshold is the `percentile`-th percentile (linear
 *    interpolation, default 90) of all boundary distances of the document;
 *    a boundary is cut when its distance exceeds it and is a local maximum
 *    (the windows overlap, so one shift raises the distance at up to w
 *    neighbouring boundaries; cutting at each would leave one-sentence
 *    pieces). Pieces under min_tokens (default max/4) merge with the
 *    neighbour across the boundary of smaller distance, if the merge fits
 *    max_tokens; smallest first. Pieces over max_tokens are cut by the fixed
 *    chunker's rules (chunk_windows, no overlap) with a window sized for
 *    even pieces (length / ceil(length / max), plus half the slack up to
 *    max, but not below the longest unit), so no chunk exceeds max_tokens
 *    and no tiny tail is left.
 *
 * Semantic chunks do not overlap: their edges are topic shifts.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/chunk_internal.h"

typedef struct {
    size_t start, end; /* trimmed byte range */
    size_t sec;        /* hard section index */
} unit;

typedef struct {
    unit *v;
    size_t n, cap;
    size_t pending;     /* start of headings waiting for the next unit, or SIZE_MAX */
    size_t pending_end; /* end of the last of them */
    size_t pending_sec;
} unit_list;

static void unit_push(unit_list *u, size_t s, size_t e, size_t sec)
{
    ragd_array_grow((void **)&u->v, &u->cap, u->n + 1, sizeof *u->v);
    u->v[u->n].start = s;
    u->v[u->n].end = e;
    u->v[u->n].sec = sec;
    u->n++;
}

/* Flush headings that never got content after them (a section of headings
 * only) as one unit. */
static void unit_flush(unit_list *u)
{
    if (u->pending == SIZE_MAX) return;
    unit_push(u, u->pending, u->pending_end, u->pending_sec);
    u->pending = SIZE_MAX;
}

static void unit_add(unit_list *u, size_t s, size_t e, size_t sec)
{
    if (e <= s) return;
    if (u->pending != SIZE_MAX && u->pending_sec == sec) {
        s = u->pending;
        u->pending = SIZE_MAX;
    }
    unit_flush(u);
    unit_push(u, s, e, sec);
}

static void unit_heading(unit_list *u, size_t s, size_t e, size_t sec)
{
    if (e <= s) return;
    if (u->pending != SIZE_MAX && u->pending_sec != sec) unit_flush(u);
    if (u->pending == SIZE_MAX) {
        u->pending = s;
        u->pending_sec = sec;
    }
    u->pending_end = e;
}

/* Units of the whole document, in order, each inside one hard section. */
static void collect_units(const chunk_ctx *cx, size_t max, unit_list *u)
{
    const ingest_doc *d = cx->d;
    const char *t = d->text;
    size_t si = 0;
    u->pending = SIZE_MAX;
    for (size_t b = 0; b < d->nblocks; b++) {
        const ingest_block *bl = &d->blocks[b];
        while (si + 1 < cx->nsecs && bl->start >= cx->secs[si].end)
            si++;
        size_t s = chunk_skip_space(t, bl->start, bl->end);
        size_t e = chunk_trim_end(t, s, bl->end);
        if (e <= s) continue;
        if (bl->kind == BLOCK_HEADING) {
            unit_heading(u, s, e, si);
        } else if (bl->kind == BLOCK_CODE || bl->kind == BLOCK_TABLE) {
            if (chunk_tokens_between(cx, s, e) <= max) {
                unit_add(u, s, e, si);
                continue;
            }
            for (size_t i = s; i < e;) { /* line by line */
                const char *nl = memchr(t + i, '\n', e - i);
                size_t le = nl ? (size_t)(nl - t) : e;
                size_t ls = chunk_skip_space(t, i, le);
                unit_add(u, ls, chunk_trim_end(t, ls, le), si);
                i = le + 1;
            }
        } else {
            ragd_span *sp = NULL;
            size_t ns = text_sentences(t + s, e - s, &sp);
            for (size_t k = 0; k < ns; k++)
                unit_add(u, s + sp[k].start, s + sp[k].end, si);
            free(sp);
        }
    }
    unit_flush(u);
}

static void normalize(float *v, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    if (s <= 0) return;
    double inv = 1.0 / sqrt(s);
    for (int i = 0; i < dim; i++)
        v[i] = (float)(v[i] * inv);
}

/* Dot product in float with eight partial sums (vectorizable without
 * -ffast-math). */
static double dotf(const float *x, const float *y, int dim)
{
    float acc[8] = {0};
    int k = 0;
    for (; k + 8 <= dim; k += 8)
        for (int j = 0; j < 8; j++)
            acc[j] += x[k + j] * y[k + j];
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    for (; k < dim; k++)
        s += (double)x[k] * y[k];
    return s;
}

/* The built-in local embedder's vectors are sparse (a sentence's features
 * reach a few hundred of the 4096 dimensions), so with it the chunker works
 * on (dimension, value) rows from local_embed_sparse instead of dense
 * vectors. Every sum below adds the same nonzero terms in the same order as
 * its dense counterpart (normalize, the mean, dotf's eight float lanes and
 * double tail); a term with a zero factor is +-0, which leaves a sum that
 * started at +0 unchanged, so the distances are the dense ones bit for
 * bit. */
typedef struct {
    uint32_t *idx;
    float *val;
    size_t n;
} sparse_row;

/* dotf(x, y, dim) with x sparse. */
static double dotf_sparse_dense(const sparse_row *x, const float *y, int dim)
{
    float acc[8] = {0};
    size_t dim8 = (size_t)dim & ~(size_t)7, k = 0;
    for (; k < x->n && x->idx[k] < dim8; k++)
        acc[x->idx[k] & 7] += x->val[k] * y[x->idx[k]];
    double s = 0;
    for (int j = 0; j < 8; j++)
        s += acc[j];
    for (; k < x->n; k++)
        s += (double)x->val[k] * y[x->idx[k]];
    return s;
}

/* dotf(x, y, dim) for x given densely (x[k] for every k) and y sparse:
 * the terms in ascending k are those of the dense dotf with y's zeros
 * dropped, and x[k] * y[k] == y[k] * x[k]. */
static double dotf_dense_sparse(const float *x, const sparse_row *y, int dim)
{
    return dotf_sparse_dense(y, x, dim);
}

/* Centered dot products of one batch: C(i, j) = (v_i - m).(v_j - m)
 * = v_i.v_j - v_i.m - v_j.m + m.m, from gram[i * span + (j - i)] = v_i.v_j
 * for 0 <= j - i < span, p[i] = v_i.m and mm = m.m. */
typedef struct {
    const double *gram, *p;
    double mm;
    size_t span;
} centered;

static double cdot(const centered *c, size_t i, size_t j)
{
    if (j < i) {
        size_t x = i;
        i = j;
        j = x;
    }
    return c->gram[i * c->span + (j - i)] - c->p[i] - c->p[j] + c->mm;
}

/* 1 - cosine between the sums of rows [a..b] and [c..d] (inclusive), on
 * centered vectors; 0 when either sum is zero. */
static double window_distance(const centered *c, size_t a, size_t b, size_t cc, size_t d)
{
    double dot = 0, nl = 0, nr = 0;
    for (size_t i = a; i <= b; i++)
        for (size_t j = cc; j <= d; j++)
            dot += cdot(c, i, j);
    for (size_t i = a; i <= b; i++)
        for (size_t j = a; j <= b; j++)
            nl += cdot(c, i, j);
    for (size_t i = cc; i <= d; i++)
        for (size_t j = cc; j <= d; j++)
            nr += cdot(c, i, j);
    if (nl <= 1e-12 || nr <= 1e-12) return 0;
    return 1.0 - dot / (sqrt(nl) * sqrt(nr));
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile (0..100) of v[0..n), linear interpolation; n > 0. */
static double percentile(const double *v, size_t n, double p)
{
    double *s = ragd_xmalloc(n * sizeof *s);
    memcpy(s, v, n * sizeof *s);
    qsort(s, n, sizeof *s, dbl_cmp);
    double rank = p / 100.0 * (double)(n - 1);
    size_t lo = (size_t)rank;
    if (lo >= n - 1) lo = n - 1;
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    double out = s[lo] + (s[hi] - s[lo]) * (rank - (double)lo);
    free(s);
    return out;
}

/* One batch's products from dense vectors (m rows of dim floats): each row
 * normalized, then centered: the mean direction every sentence shares
 * (language, register, common word forms) is removed, so cosines measure
 * what differs between sentences. Fills p[i] = v_i.m, gram and *mm = m.m
 * (mean and meanf are dim-sized scratch). */
static void batch_dense(float *vecs, size_t m, size_t span, int dim, double *mean, float *meanf,
                        double *p, double *gram, double *mm)
{
    memset(mean, 0, (size_t)dim * sizeof *mean);
    for (size_t i = 0; i < m; i++) {
        float *v = vecs + i * (size_t)dim;
        normalize(v, dim);
        for (int k = 0; k < dim; k++)
            mean[k] += v[k];
    }
    *mm = 0;
    for (int k = 0; k < dim; k++) {
        mean[k] /= (double)m;
        meanf[k] = (float)mean[k];
        *mm += mean[k] * mean[k];
    }
    for (size_t i = 0; i < m; i++) {
        const float *v = vecs + i * (size_t)dim;
        p[i] = dotf(v, meanf, dim);
        for (size_t k = 0; k < span && i + k < m; k++)
            gram[i * span + k] = dotf(v, v + k * (size_t)dim, dim);
    }
}

/* Texts per batch of the local embedder (embedder_config.batch_size): the
 * usage the sparse path reports counts its calls as embedder_embed would. */
#define SEMANTIC_LOCAL_BATCH 64

/* What embedder_embed adds to *usage for m texts on the local embedder. */
static void local_usage(const chunk_ctx *cx, const char *const *texts, const size_t *lens, size_t m,
                        embed_usage *usage)
{
    if (!usage) return;
    const char *t = cx->d->text;
    for (size_t off = 0; off < m; off += SEMANTIC_LOCAL_BATCH) {
        size_t k = m - off < SEMANTIC_LOCAL_BATCH ? m - off : SEMANTIC_LOCAL_BATCH;
        long tokens = 0;
        for (size_t i = off; i < off + k; i++) {
            size_t s = (size_t)(texts[i] - t);
            tokens += (long)chunk_count_tokens(cx, s, s + lens[i]);
        }
        usage->calls++;
        usage->attempts++;
        usage->texts += (long)k;
        usage->tokens += tokens;
        usage->cost += (double)tokens * 0.0 / 1000.0; /* the local embedder costs nothing */
    }
}

/* The local embedder's state across the batches of one document: its
 * scratch, the rows' (dimension, value) pairs in two arenas, and dense
 * per-dimension scratch that is all zeros between batches (only what a
 * batch touched is reset). */
typedef struct {
    local_embed_scratch *ws;
    uint32_t *idx;
    float *val;
    size_t n, cap;
    sparse_row *rows;
    size_t *off;
    double *ss; /* per row: the sum of its values' squares, in order */
    size_t rcap;
    double *mean;      /* dim, zeros */
    float *meanf;      /* dim: set where touched */
    float *xi;         /* dim, zeros */
    uint64_t *touched; /* dim / 64 words, zeros */
    float *z;          /* dim x zspan, zeros: the last zspan rows, interleaved */
    size_t zspan;
} sparse_state;

static void sparse_state_init(sparse_state *st, int dim)
{
    memset(st, 0, sizeof *st);
    st->ws = local_embed_scratch_new();
    st->mean = ragd_xcalloc((size_t)dim, sizeof *st->mean);
    st->meanf = ragd_xmalloc((size_t)dim * sizeof *st->meanf);
    st->xi = ragd_xcalloc((size_t)dim, sizeof *st->xi);
    st->touched = ragd_xcalloc(((size_t)dim + 63) / 64, sizeof *st->touched);
}

static void sparse_state_free(sparse_state *st)
{
    local_embed_scratch_free(st->ws);
    free(st->idx);
    free(st->val);
    free(st->rows);
    free(st->off);
    free(st->ss);
    free(st->mean);
    free(st->meanf);
    free(st->xi);
    free(st->touched);
    free(st->z);
}

/* What the local path keeps from one document to the next, per thread:
 * the sparse state (the embedder's scratch, the arenas and the 4,096-wide
 * zeroed mean, row scratch and marks) and the per-batch arrays, so a
 * document costs no calloc of them (a SciFact abstract is ~10 units; the
 * 4,096-wide arrays and the 1,024-row batch arrays were ~110 kB of zeroing
 * per call). Held in thread-specific data: each thread has its own, freed
 * when the thread exits; every array is back to its between-batches state
 * (zeros where that is promised) when chunk_semantic returns. */
typedef struct {
    sparse_state st; /* st.ws NULL until first use */
    size_t span;     /* what gram is sized for (0: nothing yet) */
    double *gram, *p;
    const char **texts;
    size_t *lens, *row;
} semantic_cache;

/* Arenas above this many entries (e.g. after one huge document) are freed
 * rather than kept for the thread's next document. */
#define SEMANTIC_CACHE_ARENA_MAX ((size_t)1 << 20)

static void semantic_cache_free(void *v)
{
    semantic_cache *c = v;
    if (!c) return;
    if (c->st.ws) sparse_state_free(&c->st);
    free(c->gram);
    free(c->p);
    free(c->texts);
    free(c->lens);
    free(c->row);
    free(c);
}

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_key_ok;

static void cache_key_init(void)
{
    cache_key_ok = pthread_key_create(&cache_key, semantic_cache_free) == 0;
}

/* This thread's cache (created on first use), or a fresh one the caller
 * must free (*owned set) when thread-specific data is unavailable. */
static semantic_cache *semantic_cache_get(bool *owned)
{
    pthread_once(&cache_once, cache_key_init);
    *owned = false;
    semantic_cache *c = cache_key_ok ? pthread_getspecific(cache_key) : NULL;
    if (c) return c;
    c = ragd_xcalloc(1, sizeof *c);
    if (cache_key_ok && pthread_setspecific(cache_key, c) == 0) return c;
    *owned = true;
    return c;
}

/* The batch arrays for span (texts, lens, row of SEMANTIC_BATCH + span
 * entries; gram of as many rows of span, p) and the sparse state at dim. */
static void semantic_cache_ready(semantic_cache *c, size_t span, size_t rows, int dim)
{
    if (c->span != span) {
        free(c->gram);
        free(c->p);
        free(c->texts);
        free(c->lens);
        free(c->row);
        c->gram = ragd_xmalloc(rows * span * sizeof *c->gram);
        c->p = ragd_xmalloc(rows * sizeof *c->p);
        c->texts = ragd_xmalloc(rows * sizeof *c->texts);
        c->lens = ragd_xmalloc(rows * sizeof *c->lens);
        c->row = ragd_xmalloc(rows * sizeof *c->row);
        c->span = span;
    }
    if (!c->st.ws) sparse_state_init(&c->st, dim);
}

/* After a document: drop oversized arenas. */
static void semantic_cache_trim(semantic_cache *c)
{
    if (c->st.cap > SEMANTIC_CACHE_ARENA_MAX) {
        free(c->st.idx);
        free(c->st.val);
        c->st.idx = NULL;
        c->st.val = NULL;
        c->st.cap = 0;
    }
}

/* p[i] = v_i.m and gram[i * span + k] = v_i.v_(i+k), one row at a time:
 * row i scattered into a dense scratch (xi), the rows after it read
 * through it; each product is dotf_sparse_dense. The reference for
 * products_fused, and the path for windows wider than it takes. */
static void products_rows(const sparse_row *rows, size_t m, size_t span, int dim, sparse_state *st,
                          double *p, double *gram)
{
    float *xi = st->xi;
    for (size_t i = 0; i < m; i++) {
        p[i] = dotf_sparse_dense(&rows[i], st->meanf, dim);
        for (size_t k = 0; k < rows[i].n; k++)
            xi[rows[i].idx[k]] = rows[i].val[k];
        for (size_t k = 0; k < span && i + k < m; k++)
            gram[i * span + k] = dotf_dense_sparse(xi, &rows[i + k], dim);
        for (size_t k = 0; k < rows[i].n; k++)
            xi[rows[i].idx[k]] = 0;
    }
}

/* Widest span (2 * window) products_fused takes. */
#define FUSED_SPAN_MAX 8

/* The float lanes of products_fused over entries [0, e8) of row r: the
 * mean's in accm, v_(j-k).v_j's in acc[k] for k < nk (slot sl[k] of z). */
static void fused_lanes(const sparse_row *r, size_t e8, const float *z, const float *mf,
                        size_t span, size_t nk, const size_t *sl, float *accm, float (*acc)[8])
{
    for (size_t e = 0; e < e8; e++) {
        uint32_t d = r->idx[e];
        float v = r->val[e];
        const float *zd = z + (size_t)d * span;
        accm[d & 7] += v * mf[d];
        for (size_t k = 0; k < nk; k++)
            acc[k][d & 7] += v * zd[sl[k]];
    }
}

/* Four floats as one value: GCC's vector extension, whose arithmetic is
 * the scalar IEEE operation on each element (no fused multiply-add: the
 * build does not enable FMA), so a lane of a v4f sum is the float sum the
 * scalar code would give. */
typedef float v4f __attribute__((vector_size(16)));

/* fused_lanes for span 4 (window 2, the default): a dimension's four slots
 * of z are contiguous, so the four products of an entry are one vector
 * multiply, added to lane idx & 7's vector of slot sums (accs[l][slot]):
 * one read-modify-write per entry where the scalar lanes took four, the
 * same terms into the same lanes in the same order. The caller maps slots
 * back to k. */
static void fused_lanes4(const sparse_row *r, size_t e8, const float *z, const float *mf,
                         float *accm, v4f *accs)
{
    for (size_t e = 0; e < e8; e++) {
        uint32_t d = r->idx[e], l = d & 7;
        float v = r->val[e];
        v4f zd;
        memcpy(&zd, z + (size_t)d * 4, sizeof zd);
        accm[l] += v * mf[d];
        accs[l] += v * zd;
    }
}

/* products_rows with one pass over each row: row j's entries are read
 * once for all its products, p[j] and v_(j-k).v_j for k < span, against
 * the mean and the last span rows kept scattered in z (row r in slot
 * r % span, interleaved: z[d * span + slot], so one dimension's values
 * share a cache line). Each product gets the terms dotf_sparse_dense gives
 * it, in the same order: lane idx & 7 in float over the entries below
 * dim & ~7 in ascending order (val_j * y, the same float product as
 * y * val_j), the lanes added 0..7 in double, then the tail entries in
 * double. So every sum is products_rows' bit for bit
 * (tests/unit_chunk_sparse.c compares them). */
static void products_fused(const sparse_row *rows, size_t m, size_t span, int dim, sparse_state *st,
                           double *p, double *gram)
{
    if (st->zspan != span) {
        free(st->z);
        st->z = ragd_xcalloc((size_t)dim * span, sizeof *st->z);
        st->zspan = span;
    }
    float *z = st->z;
    const float *mf = st->meanf;
    size_t dim8 = (size_t)dim & ~(size_t)7;
    for (size_t j = 0; j < m; j++) {
        size_t sj = j % span;
        if (j >= span) { /* slot sj held row j - span: clear it */
            const sparse_row *o = &rows[j - span];
            for (size_t e = 0; e < o->n; e++)
                z[o->idx[e] * span + sj] = 0;
        }
        const sparse_row *r = &rows[j];
        for (size_t e = 0; e < r->n; e++)
            z[r->idx[e] * span + sj] = r->val[e];
        size_t nk = j + 1 < span ? j + 1 : span; /* products v_(j-k).v_j, k < nk */
        /* Slot of row j - k; for k > j that slot is still all zeros (rows
         * fill the slots in order), so span 4 can always take the vector
         * lanes and drop the products it does not need. */
        size_t sl[FUSED_SPAN_MAX];
        for (size_t k = 0; k < span; k++)
            sl[k] = (j + span - k) % span;
        float accm[8] = {0}, acc[FUSED_SPAN_MAX][8];
        size_t e = r->n; /* the entries below dim8: the rows are ascending */
        while (e > 0 && r->idx[e - 1] >= dim8)
            e--;
        if (span == 4) { /* window 2, the default */
            v4f accs[8];
            memset(accs, 0, sizeof accs);
            fused_lanes4(r, e, z, mf, accm, accs);
            for (size_t k = 0; k < 4; k++)
                for (int l = 0; l < 8; l++)
                    acc[k][l] = accs[l][sl[k]];
        } else {
            memset(acc, 0, sizeof acc);
            fused_lanes(r, e, z, mf, span, nk, sl, accm, acc);
        }
        double sm = 0, sk[FUSED_SPAN_MAX];
        for (int l = 0; l < 8; l++)
            sm += accm[l];
        for (size_t k = 0; k < nk; k++) {
            sk[k] = 0;
            for (int l = 0; l < 8; l++)
                sk[k] += acc[k][l];
        }
        for (; e < r->n; e++) {
            uint32_t d = r->idx[e];
            sm += (double)r->val[e] * mf[d];
            for (size_t k = 0; k < nk; k++)
                sk[k] += (double)r->val[e] * z[(size_t)d * span + sl[k]];
        }
        p[j] = sm;
        for (size_t k = 0; k < nk; k++)
            gram[(j - k) * span + k] = sk[k];
    }
    for (size_t j = m > span ? m - span : 0; j < m; j++) /* leave z all zeros */
        for (size_t e = 0; e < rows[j].n; e++)
            z[rows[j].idx[e] * span + j % span] = 0;
}

size_t chunk_semantic_products_check(const uint32_t *const *idx, const float *const *val,
                                     const size_t *n, size_t m, size_t span, const float *meanf,
                                     int dim)
{
    sparse_row *rows = ragd_xcalloc(m ? m : 1, sizeof *rows);
    for (size_t i = 0; i < m; i++)
        rows[i] = (sparse_row){(uint32_t *)idx[i], (float *)val[i], n[i]};
    sparse_state st;
    sparse_state_init(&st, dim);
    memcpy(st.meanf, meanf, (size_t)dim * sizeof *meanf);
    size_t ng = (m ? m : 1) * span;
    double *p1 = ragd_xcalloc(m ? m : 1, sizeof *p1), *p2 = ragd_xcalloc(m ? m : 1, sizeof *p2);
    double *g1 = ragd_xcalloc(ng, sizeof *g1), *g2 = ragd_xcalloc(ng, sizeof *g2);
    products_rows(rows, m, span, dim, &st, p1, g1);
    size_t bad = 0;
    for (int pass = 0; pass < 2; pass++) { /* twice: z must be left all zeros */
        if (span <= FUSED_SPAN_MAX)
            products_fused(rows, m, span, dim, &st, p2, g2);
        else /* wider windows take the reference itself */
            products_rows(rows, m, span, dim, &st, p2, g2);
        for (size_t i = 0; i < m; i++) {
            bad += memcmp(&p1[i], &p2[i], sizeof *p1) != 0;
            for (size_t k = 0; k < span && i + k < m; k++)
                bad += memcmp(&g1[i * span + k], &g2[i * span + k], sizeof *g1) != 0;
        }
    }
    for (size_t k = 0; k < (size_t)dim * st.zspan; k++)
        bad += st.z[k] != 0;
    for (int k = 0; k < dim; k++)
        bad += st.xi[k] != 0;
    sparse_state_free(&st);
    free(p1);
    free(p2);
    free(g1);
    free(g2);
    free(rows);
    return bad;
}

/* One batch with the local embedder, sparse: the m texts' normalized rows,
 * then p[i] = v_i.m, gram and *mm exactly as the dense path computes them.
 * The mean is accumulated only where a row reaches: every other dimension
 * of the dense mean is 0, which adds +0 to m.m (a sum of squares, never -0)
 * and is never read by a sparse product. */
static void batch_sparse(const chunk_ctx *cx, const char *const *texts, const size_t *lens,
                         size_t m, size_t span, int dim, sparse_state *st, double *p, double *gram,
                         double *mm, embed_usage *usage)
{
    if (m > st->rcap) {
        st->rcap = m;
        st->rows = ragd_xrealloc(st->rows, m * sizeof *st->rows);
        st->off = ragd_xrealloc(st->off, m * sizeof *st->off);
        st->ss = ragd_xrealloc(st->ss, m * sizeof *st->ss);
    }
    st->n = 0;
    double *mean = st->mean;
    for (size_t i = 0; i < m; i++) { /* each row straight into the arenas */
        st->off[i] = st->n;
        st->rows[i].n = local_embed_sparse_append(st->ws, texts[i], lens[i], dim, &st->idx,
                                                  &st->val, &st->n, &st->cap, &st->ss[i]);
    }
    sparse_row *rows = st->rows;
    for (size_t i = 0; i < m; i++) { /* the arenas no longer move */
        rows[i].idx = st->idx + st->off[i];
        rows[i].val = st->val + st->off[i];
        /* normalize() on the nonzero terms (ss, their sum of squares in
         * order, came with the row), its scaling loop also adding to the
         * mean. */
        sparse_row *r = &rows[i];
        double ss = st->ss[i];
        double inv = ss > 0 ? 1.0 / sqrt(ss) : 0;
        for (size_t k = 0; k < r->n; k++) {
            uint32_t d = r->idx[k];
            if (ss > 0) r->val[k] = (float)(r->val[k] * inv);
            mean[d] += r->val[k];
            st->touched[d / 64] |= UINT64_C(1) << (d % 64);
        }
    }
    local_usage(cx, texts, lens, m, usage);
    /* The touched dimensions in ascending order, as the dense loop adds
     * them. */
    *mm = 0;
    size_t nwords = ((size_t)dim + 63) / 64;
    for (size_t w = 0; w < nwords; w++)
        for (uint64_t b = st->touched[w]; b; b &= b - 1) {
            size_t k = w * 64 + (size_t)__builtin_ctzll(b);
            mean[k] /= (double)m;
            st->meanf[k] = (float)mean[k];
            *mm += mean[k] * mean[k];
        }
    if (span <= FUSED_SPAN_MAX) {
        products_fused(rows, m, span, dim, st, p, gram);
    } else {
        products_rows(rows, m, span, dim, st, p, gram);
    }
    for (size_t w = 0; w < nwords; w++) {
        for (uint64_t b = st->touched[w]; b; b &= b - 1)
            mean[w * 64 + (size_t)__builtin_ctzll(b)] = 0;
        st->touched[w] = 0;
    }
}

/* Units embedded per embedder_embed call: bounds memory (rows of dim floats)
 * on huge documents; a document of fewer units takes one call. */
#define SEMANTIC_BATCH 1024

/* Embed the units that take part in distances (those of sections with two
 * or more units) and fill dist[i] for the boundary after unit i, marking it
 * in is_boundary (never where unit i ends its section). Units go to the
 * embedder SEMANTIC_BATCH boundaries at a time, each batch with the units
 * its windows reach beyond its edges (2w - 1 units embedded twice per extra
 * batch); vectors are normalized and centered on the batch's mean (the
 * document's, for documents of up to SEMANTIC_BATCH units). */
static ragd_status unit_distances(const chunk_ctx *cx, const unit_list *u, size_t max, size_t w,
                                  ragd_embedder *e, embed_usage *usage, double *dist,
                                  bool *is_boundary, ragd_error *err)
{
    const char *t = cx->d->text;
    size_t n = u->n;
    /* Each unit's section range [first, last] (units of a section are
     * consecutive). */
    size_t *first = ragd_xcalloc(n ? n : 1, sizeof *first);
    size_t *last = ragd_xcalloc(n ? n : 1, sizeof *last);
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j + 1 < n && u->v[j + 1].sec == u->v[i].sec)
            j++;
        for (size_t k = i; k <= j; k++)
            first[k] = i, last[k] = j;
        i = j + 1;
    }
    ragd_status rc = RAGD_OK;
    size_t span = 2 * w; /* rows a window pair spans: up to 2w */
    size_t rows = SEMANTIC_BATCH + 2 * w;
    const char **texts;
    size_t *lens, *row; /* row: unit - lo -> vec row */
    float *vecs = NULL;
    double *gram = NULL, *p = NULL, *mean = NULL;
    float *meanf = NULL;
    int dim = 0;
    semantic_cache *cache = NULL;
    bool cache_owned = false;
    if (!e) { /* the local embedder: this thread's arrays, kept across documents */
        cache = semantic_cache_get(&cache_owned);
        semantic_cache_ready(cache, span, rows, CHUNK_SEMANTIC_LOCAL_DIM);
        texts = cache->texts;
        lens = cache->lens;
        row = cache->row;
        gram = cache->gram;
        p = cache->p;
        dim = CHUNK_SEMANTIC_LOCAL_DIM;
    } else {
        texts = ragd_xcalloc(rows, sizeof *texts);
        lens = ragd_xcalloc(rows, sizeof *lens);
        row = ragd_xcalloc(rows, sizeof *row);
    }
    for (size_t b0 = 0; b0 < n && !rc; b0 += SEMANTIC_BATCH) {
        size_t b1 = b0 + SEMANTIC_BATCH < n ? b0 + SEMANTIC_BATCH : n; /* boundaries [b0, b1) */
        size_t lo = b0 + 1 >= w ? b0 + 1 - w : 0, hi = b1 + w < n ? b1 + w : n;
        size_t m = 0;
        for (size_t i = lo; i < hi; i++) {
            row[i - lo] = SIZE_MAX;
            if (first[i] == last[i]) continue; /* alone in its section */
            size_t s = u->v[i].start, end = u->v[i].end;
            if (chunk_tokens_between(cx, s, end) > max) end = cx->ts[chunk_tok_index(cx, s) + max];
            texts[m] = t + s;
            lens[m] = end - s;
            row[i - lo] = m++;
        }
        if (!m) continue;
        double mm = 0;
        if (!e) { /* the local embedder, sparse */
            batch_sparse(cx, texts, lens, m, span, dim, &cache->st, p, gram, &mm, usage);
        } else {
            if (!dim) {
                if (embedder_dim(e) <= 0 && (rc = embedder_probe_dim(e, usage, err))) break;
                dim = embedder_dim(e);
                vecs = ragd_xmalloc((SEMANTIC_BATCH + 2 * w) * (size_t)dim * sizeof *vecs);
                gram = ragd_xmalloc((SEMANTIC_BATCH + 2 * w) * span * sizeof *gram);
                p = ragd_xmalloc((SEMANTIC_BATCH + 2 * w) * sizeof *p);
                mean = ragd_xmalloc((size_t)dim * sizeof *mean);
                meanf = ragd_xmalloc((size_t)dim * sizeof *meanf);
            }
            if ((rc = embedder_embed(e, texts, lens, m, vecs, usage, err))) break;
            if (embedder_dim(e) != dim) {
                rc =
                    ragd_error_set(err, RAGD_EPROVIDER, "embedding dimension changed from %d to %d",
                                   dim, embedder_dim(e));
                break;
            }
            batch_dense(vecs, m, span, dim, mean, meanf, p, gram, &mm);
        }
        centered c = {.gram = gram, .p = p, .mm = mm, .span = span};
        for (size_t i = b0; i < b1; i++) {
            if (i == last[i]) continue; /* no boundary after a section's last unit */
            size_t a = i + 1 >= w ? i + 1 - w : 0, d = i + w;
            if (a < first[i]) a = first[i];
            if (d > last[i]) d = last[i];
            /* Rows of a..d are consecutive: their units are all embedded. */
            dist[i] = window_distance(&c, row[a - lo], row[i - lo], row[i + 1 - lo], row[d - lo]);
            is_boundary[i] = true;
        }
    }
    if (cache) {
        if (cache_owned)
            semantic_cache_free(cache);
        else
            semantic_cache_trim(cache);
    } else {
        free(vecs);
        free(gram);
        free(p);
        free(mean);
        free(meanf);
        free(texts);
        free(lens);
        free(row);
    }
    free(first);
    free(last);
    return rc;
}

typedef struct {
    size_t first, last; /* unit indexes, inclusive */
    size_t tokens;
} segment;

static size_t seg_tokens(const chunk_ctx *cx, const unit_list *u, size_t first, size_t last)
{
    return chunk_tokens_between(cx, u->v[first].start, u->v[last].end);
}

/* Merge segments under min tokens into a neighbour (smallest first, across
 * the boundary with the smaller distance) while the merge fits max. */
static void merge_small(const chunk_ctx *cx, const unit_list *u, const double *dist, segment *sg,
                        size_t *nsg, size_t min, size_t max)
{
    for (;;) {
        size_t best = SIZE_MAX;
        bool best_left = false;
        for (size_t j = 0; j < *nsg; j++) {
            if (sg[j].tokens >= min) continue;
            bool left = j > 0 && seg_tokens(cx, u, sg[j - 1].first, sg[j].last) <= max;
            bool right = j + 1 < *nsg && seg_tokens(cx, u, sg[j].first, sg[j + 1].last) <= max;
            if (!left && !right) continue;
            if (best != SIZE_MAX && sg[j].tokens >= sg[best].tokens) continue;
            best = j;
            /* Across the boundary of smaller distance (more alike). */
            best_left = left && (!right || dist[sg[j - 1].last] <= dist[sg[j].last]);
        }
        if (best == SIZE_MAX) return;
        size_t a = best_left ? best - 1 : best; /* merge a and a+1 */
        sg[a].last = sg[a + 1].last;
        sg[a].tokens = seg_tokens(cx, u, sg[a].first, sg[a].last);
        memmove(sg + a + 1, sg + a + 2, (*nsg - a - 2) * sizeof *sg);
        (*nsg)--;
    }
}

ragd_status chunk_semantic(const ingest_doc *d, const chunk_semantic_opts *o, ragd_embedder *e,
                           chunk_list *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    size_t max = o->max_tokens > 0 ? (size_t)o->max_tokens : 256;
    size_t min = o->min_tokens > 0 ? (size_t)o->min_tokens : max / 4;
    if (min > max) min = max;
    size_t w = o->window > 0 ? (size_t)o->window : 2;
    double pct = o->percentile > 0 ? o->percentile : 90.0;
    if (pct > 100)
        return ragd_error_set(err, RAGD_EUSAGE, "semantic percentile %g is not in 1..100", pct);
    chunk_ctx cx;
    chunk_ctx_init(&cx, d);
    unit_list u = {0};
    collect_units(&cx, max, &u);
    double *dist = ragd_xcalloc(u.n ? u.n : 1, sizeof *dist);
    bool *is_b = ragd_xcalloc(u.n ? u.n : 1, sizeof *is_b);
    ragd_status rc = unit_distances(&cx, &u, max, w, e, o->usage, dist, is_b, err);
    if (rc) {
        free(dist);
        free(is_b);
        free(u.v);
        chunk_ctx_free(&cx);
        return rc;
    }
    /* The document's threshold. */
    double thr = INFINITY;
    {
        double *all = ragd_xmalloc((u.n ? u.n : 1) * sizeof *all);
        size_t na = 0;
        for (size_t i = 0; i < u.n; i++)
            if (is_b[i]) all[na++] = dist[i];
        if (na) thr = percentile(all, na, pct);
        free(all);
    }
    segment *sg = ragd_xcalloc(u.n ? u.n : 1, sizeof *sg);
    for (size_t i = 0; i < u.n;) {
        /* Units i..j: one hard section. */
        size_t j = i;
        while (j + 1 < u.n && u.v[j + 1].sec == u.v[i].sec)
            j++;
        size_t nsg = 0;
        sg[0].first = i;
        for (size_t k = i; k <= j; k++) {
            /* Windows overlap, so one shift raises the distance at several
             * neighbouring boundaries: cut only at the local maximum. */
            bool peak = (k == i || dist[k] >= dist[k - 1]) && (k + 1 >= j || dist[k] > dist[k + 1]);
            if (k == j || (dist[k] > thr && peak)) {
                sg[nsg].last = k;
                sg[nsg].tokens = seg_tokens(&cx, &u, sg[nsg].first, k);
                nsg++;
                if (k < j) sg[nsg].first = k + 1;
            }
        }
        merge_small(&cx, &u, dist, sg, &nsg, min, max);
        for (size_t k = 0; k < nsg; k++) {
            size_t s = u.v[sg[k].first].start, en = u.v[sg[k].last].end;
            if (sg[k].tokens <= max) {
                chunk_emit(out, &cx, s, en, -1);
            } else {
                /* Fixed windows sized for even pieces: 300 tokens at max
                 * 256 become two of about 150, not 256 + 44. Never below
                 * the longest unit, so a code or table line that fits max
                 * is not cut. */
                size_t pieces = (sg[k].tokens + max - 1) / max;
                size_t even = (sg[k].tokens + pieces - 1) / pieces;
                size_t win = even + (max - even) / 2;
                for (size_t q = sg[k].first; q <= sg[k].last && win < max; q++) {
                    size_t ut = chunk_tokens_between(&cx, u.v[q].start, u.v[q].end);
                    if (ut > win) win = ut < max ? ut : max;
                }
                chunk_windows(&cx, s, en, win, 0, -1, out);
            }
        }
        i = j + 1;
    }
    free(sg);
    free(dist);
    free(is_b);
    free(u.v);
    chunk_ctx_free(&cx);
    return RAGD_OK;
}
