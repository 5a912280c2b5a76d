/* index/hnsw_search.c — see hnsw_search.h. Distances are "smaller is
 * closer" inside (the negated inner product, or squared L2), as in FAISS's
 * HNSW; the caller sees FAISS's convention. */
#include "index/hnsw_search.h"

#ifdef RAGD_HAVE_FAISS_HNSW_VIEW

#include <stdbool.h>
#include <stdlib.h>

#include "core/buf.h"

/* Neighbours whose vectors are prefetched ahead of the one being scored,
 * and how many bytes of each (the hardware prefetcher streams the rest once
 * the first lines arrive). At 100k x 384-d, 1 to 8 ahead and 128 to 1536
 * bytes measured within 3 % of each other (docs/benchmarks.md, eleventh
 * session): the loop's gain is mostly the work it does not do. */
#define PREFETCH_AHEAD 2
#define PREFETCH_BYTES 256

typedef struct {
    float d;
    int32_t id;
} hnode;

typedef struct {
    const FaissRagdHnswGraph *g;
    const float *q;
    size_t vec_bytes;
    uint64_t *visited; /* one bit per node */
    hnode *cand;       /* min-heap: nodes still to expand */
    size_t ncand, cap_cand;
    hnode *top; /* max-heap: the ef best so far */
    size_t ntop, ef;
    int32_t *todo; /* one node's unvisited neighbours */
} search_ctx;

static inline float node_dist(const search_ctx *c, int32_t v)
{
    const float *x = c->g->vectors + (size_t)v * (size_t)c->g->d;
    if (c->g->metric == 0) return -faiss_ragd_fvec_inner_product(c->q, x, (size_t)c->g->d);
    return faiss_ragd_fvec_L2sqr(c->q, x, (size_t)c->g->d);
}

static inline void prefetch_vector(const search_ctx *c, int32_t v)
{
    const char *p = (const char *)(c->g->vectors + (size_t)v * (size_t)c->g->d);
    size_t n = c->vec_bytes < PREFETCH_BYTES ? c->vec_bytes : PREFETCH_BYTES;
    for (size_t off = 0; off < n; off += 64)
        __builtin_prefetch(p + off, 0, 3);
}

/* Level-l links of node v: *n slots, the list ends early at a -1. */
static inline const int32_t *links(const FaissRagdHnswGraph *g, int32_t v, int level, int *n)
{
    const int32_t *cum = g->cum_nneighbor_per_level;
    *n = cum[level + 1] - cum[level];
    return g->neighbors + g->offsets[v] + (size_t)cum[level];
}

/* true when v was not visited yet (and marks it). */
static inline bool visit(uint64_t *bits, int32_t v)
{
    uint64_t m = 1ull << ((uint32_t)v & 63);
    uint64_t *w = bits + ((uint32_t)v >> 6);
    if (*w & m) return false;
    *w |= m;
    return true;
}

/* --- the two heaps ------------------------------------------------------ */

static void cand_push(search_ctx *c, hnode x)
{
    if (c->ncand == c->cap_cand)
        ragd_array_grow((void **)&c->cand, &c->cap_cand, c->ncand + 1, sizeof *c->cand);
    size_t i = c->ncand++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (c->cand[p].d <= x.d) break;
        c->cand[i] = c->cand[p];
        i = p;
    }
    c->cand[i] = x;
}

static hnode cand_pop(search_ctx *c)
{
    hnode best = c->cand[0], last = c->cand[--c->ncand];
    size_t n = c->ncand, i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n) break;
        if (l + 1 < n && c->cand[l + 1].d < c->cand[l].d) l++;
        if (c->cand[l].d >= last.d) break;
        c->cand[i] = c->cand[l];
        i = l;
    }
    if (n) c->cand[i] = last;
    return best;
}

/* Sift x down from the root of the max-heap top[0..n). */
static void top_sift_down(hnode *top, size_t n, hnode x)
{
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1;
        if (l >= n) break;
        if (l + 1 < n && top[l + 1].d > top[l].d) l++;
        if (top[l].d <= x.d) break;
        top[i] = top[l];
        i = l;
    }
    top[i] = x;
}

/* Keep x among the ef best. */
static void top_offer(search_ctx *c, hnode x)
{
    if (c->ntop < c->ef) {
        size_t i = c->ntop++;
        while (i > 0) {
            size_t p = (i - 1) / 2;
            if (c->top[p].d >= x.d) break;
            c->top[i] = c->top[p];
            i = p;
        }
        c->top[i] = x;
    } else {
        top_sift_down(c->top, c->ntop, x);
    }
}

/* --- the search --------------------------------------------------------- */

/* Upper levels: walk to the nearest neighbour until none is nearer (as
 * FAISS's greedy_update_nearest). */
static void greedy_descend(const search_ctx *c, int level, int32_t *nearest, float *d_nearest)
{
    for (;;) {
        int32_t prev = *nearest;
        int n;
        const int32_t *nb = links(c->g, prev, level, &n);
        for (int j = 0; j < n && nb[j] >= 0; j++) {
            float d = node_dist(c, nb[j]);
            if (d < *d_nearest) {
                *d_nearest = d;
                *nearest = nb[j];
            }
        }
        if (*nearest == prev) return;
    }
}

/* Expand node v on level 0: score its unvisited neighbours, vectors
 * prefetched ahead, and keep those that enter the ef best. */
static void expand(search_ctx *c, int32_t v)
{
    int n, m = 0;
    const int32_t *nb = links(c->g, v, 0, &n);
    for (int j = 0; j < n && nb[j] >= 0; j++)
        if (visit(c->visited, nb[j])) c->todo[m++] = nb[j];
    for (int j = 0; j < m && j < PREFETCH_AHEAD; j++)
        prefetch_vector(c, c->todo[j]);
    for (int j = 0; j < m; j++) {
        if (j + PREFETCH_AHEAD < m) prefetch_vector(c, c->todo[j + PREFETCH_AHEAD]);
        hnode x = {node_dist(c, c->todo[j]), c->todo[j]};
        if (c->ntop < c->ef || x.d < c->top[0].d) {
            cand_push(c, x);
            top_offer(c, x);
        }
    }
    /* The next node to expand: its link list is the next cache miss. */
    if (c->ncand) {
        int nn;
        __builtin_prefetch(links(c->g, c->cand[0].id, 0, &nn), 0, 3);
    }
}

static int cmp_hnode(const void *a, const void *b)
{
    float x = ((const hnode *)a)->d, y = ((const hnode *)b)->d;
    return (x > y) - (x < y);
}

size_t hnsw_graph_search(const FaissRagdHnswGraph *g, const float *q, size_t k, int ef, float *dist,
                         int64_t *labels)
{
    if (g->entry_point < 0 || g->ntotal <= 0 || k == 0) return 0;
    search_ctx c = {.g = g, .q = q, .vec_bytes = (size_t)g->d * sizeof(float)};
    c.ef = (size_t)(ef > 0 ? ef : 1);
    if (c.ef < k) c.ef = k;
    c.visited = ragd_xcalloc(((size_t)g->ntotal + 63) / 64, sizeof *c.visited);
    c.top = ragd_xmalloc(c.ef * sizeof *c.top);
    c.cap_cand = 2 * c.ef;
    c.cand = ragd_xmalloc(c.cap_cand * sizeof *c.cand);
    int n0 = g->cum_nneighbor_per_level[1] - g->cum_nneighbor_per_level[0];
    c.todo = ragd_xmalloc((size_t)(n0 > 0 ? n0 : 1) * sizeof *c.todo);

    int32_t nearest = g->entry_point;
    float d_nearest = node_dist(&c, nearest);
    for (int level = g->max_level; level >= 1; level--)
        greedy_descend(&c, level, &nearest, &d_nearest);

    hnode start = {d_nearest, nearest};
    visit(c.visited, nearest);
    cand_push(&c, start);
    top_offer(&c, start);
    while (c.ncand) {
        /* Stop when the nearest unexpanded node is farther than the worst
         * of the ef best: nothing it leads to can enter them. */
        if (c.cand[0].d > c.top[0].d && c.ntop == c.ef) break;
        expand(&c, cand_pop(&c).id);
    }

    qsort(c.top, c.ntop, sizeof *c.top, cmp_hnode);
    size_t n = c.ntop < k ? c.ntop : k;
    for (size_t i = 0; i < n; i++) {
        dist[i] = g->metric == 0 ? -c.top[i].d : c.top[i].d;
        labels[i] = g->labels ? g->labels[c.top[i].id] : (int64_t)c.top[i].id;
    }
    free(c.visited);
    free(c.top);
    free(c.cand);
    free(c.todo);
    return n;
}

#endif
