/* ingest/chunk_semantic.c — the semantic chunker: cut where the topic shifts.
 *
 * 1. Units. Each hard section (as in the fixed chunker: a heading that
 *    follows content starts one) is split into units: the sentences of its
 *    paragraphs, list items and quotes (text_sentences); each code block and
 *    table whole, or line by line when it alone exceeds max_tokens (never
 *    mid-line). A section's leading headings are glued to the unit after
 *    them, so a heading never ends a chunk.
 * 2. Embeddings. Every unit of every section with at least two units is
 *    embedded once, in one embedder_embed call per document (the embedder
 *    batches internally: 64 texts per request for remote servers). A unit
 *    longer than max_tokens is embedded by its first max_tokens tokens.
 *    Vectors are L2-normalized, then centered: the document's mean vector is
 *    subtracted, removing what every sentence shares (language, register,
 *    common word forms) so cosines measure what differs. With the built-in
 *    local embedder the vectors are computed at CHUNK_SEMANTIC_LOCAL_DIM
 *    (4096) dimensions: they are never stored, and at the collection's 384
 *    its hashing collisions (cosine noise ~1/sqrt(dim)) drown the signal.
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
 *    chunker's rules (chunk_windows, no overlap), so no chunk exceeds
 *    max_tokens.
 *
 * Semantic chunks do not overlap: their edges are topic shifts.
 */
#include <math.h>
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

/* 1 - cosine between the sums of vecs[a..b] and vecs[c..d] (inclusive). */
static double window_distance(const float *vecs, int dim, size_t a, size_t b, size_t c, size_t d,
                              double *l, double *r)
{
    memset(l, 0, (size_t)dim * sizeof *l);
    memset(r, 0, (size_t)dim * sizeof *r);
    for (size_t i = a; i <= b; i++)
        for (int k = 0; k < dim; k++)
            l[k] += vecs[i * (size_t)dim + (size_t)k];
    for (size_t i = c; i <= d; i++)
        for (int k = 0; k < dim; k++)
            r[k] += vecs[i * (size_t)dim + (size_t)k];
    double dot = 0, nl = 0, nr = 0;
    for (int k = 0; k < dim; k++) {
        dot += l[k] * r[k];
        nl += l[k] * l[k];
        nr += r[k] * r[k];
    }
    if (nl <= 0 || nr <= 0) return 0;
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

/* Embed the units that take part in distances (sections with two or more
 * units) and fill dist[i] for the boundary after unit i (0 where unit i ends
 * its section). */
static ragd_status unit_distances(const chunk_ctx *cx, const unit_list *u, size_t max, size_t w,
                                  ragd_embedder *e, embed_usage *usage, double *dist,
                                  bool *is_boundary, ragd_error *err)
{
    const char *t = cx->d->text;
    const char **texts = ragd_xcalloc(u->n, sizeof *texts);
    size_t *lens = ragd_xcalloc(u->n, sizeof *lens);
    size_t m = 0;
    for (size_t i = 0; i < u->n; i++) {
        bool shared = (i + 1 < u->n && u->v[i + 1].sec == u->v[i].sec) ||
                      (i > 0 && u->v[i - 1].sec == u->v[i].sec);
        if (!shared) continue;
        size_t s = u->v[i].start, end = u->v[i].end;
        size_t ti = chunk_tok_index(cx, s);
        if (chunk_tokens_between(cx, s, end) > max) end = cx->ts[ti + max];
        texts[m] = t + s;
        lens[m] = end - s;
        m++;
    }
    ragd_status rc = RAGD_OK;
    float *vecs = NULL;
    int dim = 0;
    if (m) {
        dim = embedder_dim(e);
        if (dim <= 0 && (rc = embedder_probe_dim(e, usage, err))) goto out;
        dim = embedder_dim(e);
        vecs = ragd_xmalloc(m * (size_t)dim * sizeof *vecs);
        if ((rc = embedder_embed(e, texts, lens, m, vecs, usage, err))) goto out;
        if (embedder_dim(e) != dim) {
            rc = ragd_error_set(err, RAGD_EPROVIDER, "embedding dimension changed from %d to %d",
                                dim, embedder_dim(e));
            goto out;
        }
        for (size_t i = 0; i < m; i++)
            normalize(vecs + i * (size_t)dim, dim);
        /* Center: remove the document's mean direction, which every
         * sentence shares (language, register, common word forms), so the
         * cosines measure what differs between sentences. */
        {
            double *mean = ragd_xcalloc((size_t)dim, sizeof *mean);
            for (size_t i = 0; i < m; i++)
                for (int k = 0; k < dim; k++)
                    mean[k] += vecs[i * (size_t)dim + (size_t)k] / (double)m;
            for (size_t i = 0; i < m; i++)
                for (int k = 0; k < dim; k++)
                    vecs[i * (size_t)dim + (size_t)k] -= (float)mean[k];
            free(mean);
        }
    }
    {
        double *l = ragd_xcalloc((size_t)(dim > 0 ? dim : 1), sizeof *l);
        double *r = ragd_xcalloc((size_t)(dim > 0 ? dim : 1), sizeof *r);
        /* Units of a multi-unit section occupy consecutive rows of vecs. */
        size_t row = 0;
        for (size_t i = 0; i < u->n;) {
            size_t j = i;
            while (j + 1 < u->n && u->v[j + 1].sec == u->v[i].sec)
                j++;
            size_t n = j - i + 1; /* units i..j form one section */
            for (size_t k = 0; k + 1 < n; k++) {
                size_t a = k + 1 >= w ? k + 1 - w : 0, dd = k + w < n - 1 ? k + w : n - 1;
                dist[i + k] = window_distance(vecs + row * (size_t)dim, dim, a, k, k + 1, dd, l, r);
                is_boundary[i + k] = true;
            }
            if (n >= 2) row += n;
            i = j + 1;
        }
        free(l);
        free(r);
    }
out:
    free(vecs);
    free(texts);
    free(lens);
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
    ragd_embedder *own = NULL;
    if (!e) {
        embedder_config cfg = {.kind = "local", .dim = CHUNK_SEMANTIC_LOCAL_DIM};
        ragd_status rc = embedder_new(&cfg, &own, err);
        if (rc) return rc;
        e = own;
    }
    chunk_ctx cx;
    chunk_ctx_init(&cx, d);
    unit_list u = {0};
    collect_units(&cx, max, &u);
    double *dist = ragd_xcalloc(u.n ? u.n : 1, sizeof *dist);
    bool *is_b = ragd_xcalloc(u.n ? u.n : 1, sizeof *is_b);
    ragd_status rc = unit_distances(&cx, &u, max, w, e, o->usage, dist, is_b, err);
    embedder_free(own);
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
            if (sg[k].tokens <= max)
                chunk_emit(out, &cx, s, en, -1);
            else
                chunk_windows(&cx, s, en, max, 0, -1, out);
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
