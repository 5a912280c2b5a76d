/* index/vector_build.c — filling a FAISS index from SQLite in bounded
 * memory (see vector_internal.h). The vectors are never all collected in
 * one buffer: a build's peak is the index itself plus at most one batch
 * (or, for trained factories, the training sample). */
#include <faiss/c_api/IndexFlat_c.h>
#include <faiss/c_api/IndexIVF_c.h>
#include <faiss/c_api/MetaIndexes_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#ifdef RAGD_HAVE_FAISS_HNSW_VIEW
#include <faiss/c_api/ragd_hnsw_c.h>
#endif

#include "core/buf.h"
#include "index/vector_internal.h"

/* --- HNSW: ragd's construction (index/faiss_ext/ragd_hnsw_build.cpp) ----- */

/* faiss_Index_add_with_ids, except that an HNSW-with-flat-storage index is
 * linked by ragd's insertion (hnswlib's level-0 rule). Returns FAISS's code. */
static int index_add(FaissIndex *idx, size_t n, const float *x, const int64_t *ids)
{
#ifdef RAGD_HAVE_FAISS_HNSW_VIEW
    int rc = faiss_ragd_hnsw_add_with_ids(idx, (int64_t)n, x, ids);
    if (rc != 1) return rc;
#endif
    return faiss_Index_add_with_ids(idx, (idx_t)n, x, (const idx_t *)ids);
}

/* After nodes first_node.. were added to an HNSW index: give each at least
 * VINDEX_HNSW_MIN_IN_DEGREE incoming level-0 links (faiss_ragd_hnsw_repair).
 * A no-op for other index types and without ragd's FAISS extension. */
static ragd_status repair_new_nodes(ragd_vindex *v, int64_t first_node, ragd_error *err)
{
#ifdef RAGD_HAVE_FAISS_HNSW_VIEW
    if (faiss_ragd_hnsw_repair(v->idx, VINDEX_HNSW_MIN_IN_DEGREE, first_node, NULL) < 0)
        return vindex_faiss_fail(err, "cannot link the new vectors into the HNSW graph");
#else
    (void)v;
    (void)first_node;
    (void)err;
#endif
    return RAGD_OK;
}

/* --- batches: a bounded buffer flushed into FAISS ----------------------- */

typedef struct {
    ragd_vindex *v;
    float *x;     /* VINDEX_BATCH x dim */
    int64_t *ids; /* VINDEX_BATCH */
    size_t n;
    size_t added;
    int64_t after;     /* catch-up: ids above this may be in the index already */
    bool remove_after; /* remove (after, inf) before the first add */
    ragd_status rc;    /* the first failure, which stops the scan */
    ragd_error *err;
} stream;

static void stream_init(stream *s, ragd_vindex *v, ragd_error *err)
{
    memset(s, 0, sizeof *s);
    s->v = v;
    s->err = err; /* the buffers: at the first vector (most catch-ups have none) */
}

static void stream_free(stream *s)
{
    free(s->x);
    free(s->ids);
    s->x = NULL;
    s->ids = NULL;
}

static ragd_status stream_flush(stream *s)
{
    if (!s->n || s->rc) return s->rc;
    ragd_vindex *v = s->v;
    if (s->remove_after) {
        /* Ids above `after` may already be in the snapshot if a previous
         * run died between writing it and recording it: remove that range
         * first (re-adding is then idempotent). */
        s->remove_after = false;
        FaissIDSelectorRange *sel = NULL;
        size_t nrem = 0;
        if (!faiss_IDSelectorRange_new(&sel, s->after + 1, INT64_MAX)) {
            faiss_Index_remove_ids(v->idx, (FaissIDSelector *)sel, &nrem);
            faiss_IDSelectorRange_free(sel);
        }
    }
    if (!faiss_Index_is_trained(v->idx) && faiss_Index_train(v->idx, (idx_t)s->n, s->x))
        return s->rc = vindex_faiss_fail(
                   s->err, "cannot train the vector index (too few vectors for this "
                           "factory? use a Flat or HNSW index for small collections)");
    if (index_add(v->idx, s->n, s->x, s->ids))
        return s->rc = vindex_faiss_fail(s->err, "cannot add vectors");
    s->added += s->n;
    s->n = 0;
    return RAGD_OK;
}

static int stream_add(void *ctx, int64_t id, const float *vec, int dim)
{
    stream *s = ctx;
    if (!s->x) {
        s->x = ragd_xmalloc((size_t)VINDEX_BATCH * (size_t)dim * sizeof *s->x);
        s->ids = ragd_xmalloc((size_t)VINDEX_BATCH * sizeof *s->ids);
    }
    float *dst = s->x + s->n * (size_t)dim;
    memcpy(dst, vec, (size_t)dim * sizeof *dst);
    vindex_normalize(dst, dim);
    s->ids[s->n++] = id;
    s->v->last_id = id;
    if (s->n == VINDEX_BATCH && stream_flush(s)) return 1;
    return 0;
}

/* Scan ids > after into the index in batches. */
static ragd_status stream_scan(ragd_vindex *v, int64_t after, bool remove_after, size_t *added,
                               ragd_error *err)
{
    stream s;
    stream_init(&s, v, err);
    s.after = after;
    s.remove_after = remove_after;
    int64_t first_node = (int64_t)faiss_Index_ntotal(v->idx);
    ragd_status rc = store_vectors_scan(v->st, v->coll, after, v->dim, stream_add, &s, NULL, err);
    if (!rc) rc = s.rc;
    if (!rc) rc = stream_flush(&s);
    /* Once per scan, not per batch: a build's repair sees the whole graph. */
    if (!rc && s.added) rc = repair_new_nodes(v, first_node, err);
    if (added) *added = s.added;
    stream_free(&s);
    return rc;
}

static ragd_status train_from_sample(ragd_vindex *v, int64_t after, ragd_error *err);

ragd_status vindex_catch_up(ragd_vindex *v, size_t *added, ragd_error *err)
{
    /* An index saved empty and untrained is trained on the new vectors. */
    if (!faiss_Index_is_trained(v->idx)) {
        ragd_status rc = train_from_sample(v, v->last_id, err);
        if (rc) return rc;
    }
    return stream_scan(v, v->last_id, v->can_remove, added, err);
}

/* --- trained factories: a bounded sample first -------------------------- */

/* Training points: FAISS's k-means uses at most 256 per centroid and warns
 * below 39; 64 per inverted list (and 65,536 for the 256-centroid PQ
 * codebooks) is enough for a good quantizer and bounds the sample's memory
 * (IVF4096: 262,144 x 384-d = 384 MB whatever the collection's size). */
static size_t train_points(FaissIndex *idx)
{
    FaissIndex *in = idx;
    FaissIndexIDMap *m = faiss_IndexIDMap_cast(idx);
    if (m) in = faiss_IndexIDMap_sub_index(m);
    size_t want = 65536;
    FaissIndexIVF *ivf = faiss_IndexIVF_cast(in);
    if (ivf && 64 * faiss_IndexIVF_nlist(ivf) > want) want = 64 * faiss_IndexIVF_nlist(ivf);
    return want;
}

/* A uniform sample of the scanned vectors (reservoir sampling, fixed seed:
 * the same collection trains the same quantizer). */
typedef struct {
    float *x;
    size_t n, cap;
    uint64_t seen, rng;
} sample;

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int sample_add(void *ctx, int64_t id, const float *vec, int dim)
{
    (void)id;
    sample *s = ctx;
    s->seen++;
    size_t slot;
    if (s->n < s->cap) {
        slot = s->n++;
    } else {
        uint64_t r = splitmix(&s->rng) % s->seen;
        if (r >= s->cap) return 0;
        slot = (size_t)r;
    }
    float *dst = s->x + slot * (size_t)dim;
    memcpy(dst, vec, (size_t)dim * sizeof *dst);
    vindex_normalize(dst, dim);
    return 0;
}

static ragd_status train_from_sample(ragd_vindex *v, int64_t after, ragd_error *err)
{
    sample s = {.cap = train_points(v->idx), .rng = 0x72616764u /* "ragd" */};
    s.x = ragd_xmalloc(s.cap * (size_t)v->dim * sizeof *s.x);
    ragd_status rc = store_vectors_scan(v->st, v->coll, after, v->dim, sample_add, &s, NULL, err);
    /* No vectors: nothing to train on, nothing to add (an empty index of a
     * trained type is saved untrained and trained by the first catch-up). */
    if (!rc && s.n && faiss_Index_train(v->idx, (idx_t)s.n, s.x))
        rc = vindex_faiss_fail(err, "cannot train the vector index (too few vectors for this "
                                    "factory? use a Flat or HNSW index for small collections)");
    free(s.x);
    return rc;
}

/* --- IDMap,Flat: sized once, filled in place ----------------------------- */

typedef struct {
    int64_t *ids;
    size_t n, cap;
} id_list;

static int collect_id(void *ctx, int64_t id, const float *vec, int dim)
{
    (void)vec;
    (void)dim;
    id_list *l = ctx;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4096;
        l->ids = ragd_xrealloc(l->ids, l->cap * sizeof *l->ids);
    }
    l->ids[l->n++] = id;
    return 0;
}

typedef struct {
    float *xb;
    const int64_t *ids;
    size_t n, row, filled;
    int64_t *missing; /* rows whose vector vanished between the two scans */
    size_t nmissing, capmissing;
} fill_ctx;

static void fill_missing(fill_ctx *f, int64_t id)
{
    if (f->nmissing == f->capmissing) {
        f->capmissing = f->capmissing ? f->capmissing * 2 : 64;
        f->missing = ragd_xrealloc(f->missing, f->capmissing * sizeof *f->missing);
    }
    f->missing[f->nmissing++] = id;
}

static int fill_row(void *ctx, int64_t id, const float *vec, int dim)
{
    fill_ctx *f = ctx;
    /* Both scans are in id order; rows deleted meanwhile are skipped,
     * vectors added meanwhile (ids past the first scan's) are left to the
     * next catch-up. */
    while (f->row < f->n && f->ids[f->row] < id)
        fill_missing(f, f->ids[f->row++]);
    if (f->row >= f->n) return 1;
    if (f->ids[f->row] != id) return 0; /* added between the scans, in a gap */
    float *dst = f->xb + f->row * (size_t)dim;
    memcpy(dst, vec, (size_t)dim * sizeof *dst);
    vindex_normalize(dst, dim);
    f->row++;
    f->filled++;
    return 0;
}

/* The flat storage of an IDMap,Flat index (raw floats, row i = id_map[i]),
 * or NULL for any other type. */
static FaissIndexFlat *idmap_flat(FaissIndex *idx)
{
    FaissIndexIDMap *m = faiss_IndexIDMap_cast(idx);
    return m ? faiss_IndexFlat_cast(faiss_IndexIDMap_sub_index(m)) : NULL;
}

/* Adding n vectors one batch at a time grows FAISS's code vector by
 * doubling, and each doubling copies it: up to 2x the index at the last
 * one. Instead: read the ids (8 bytes each), add n zero vectors at once
 * from a read-only anonymous mapping (the kernel's zero page: no memory)
 * so the index allocates exactly its final size, then scan again and write
 * each normalized vector into its row. */
static ragd_status build_flat_in_place(ragd_vindex *v, FaissIndexFlat *flat, ragd_error *err)
{
    id_list l = {0};
    ragd_status rc = store_vectors_scan(v->st, v->coll, 0, v->dim, collect_id, &l, NULL, err);
    if (rc || !l.n) {
        free(l.ids);
        return rc;
    }
    size_t bytes = l.n * (size_t)v->dim * sizeof(float);
    void *zero = mmap(NULL, bytes, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (zero == MAP_FAILED) {
        free(l.ids);
        return ragd_error_set(err, RAGD_ENOMEM, "out of memory sizing the vector index");
    }
    int frc = faiss_Index_add_with_ids(v->idx, (idx_t)l.n, zero, (const idx_t *)l.ids);
    munmap(zero, bytes);
    if (frc) {
        free(l.ids);
        return vindex_faiss_fail(err, "cannot add vectors");
    }
    fill_ctx f = {.ids = l.ids, .n = l.n};
    size_t nxb = 0;
    faiss_IndexFlat_xb(flat, &f.xb, &nxb);
    if (!f.xb || nxb != l.n * (size_t)v->dim)
        rc = ragd_error_set(err, RAGD_EINDEX, "unexpected flat index layout");
    if (!rc) rc = store_vectors_scan(v->st, v->coll, 0, v->dim, fill_row, &f, NULL, err);
    while (!rc && f.row < f.n)
        fill_missing(&f, f.ids[f.row++]);
    if (!rc && f.nmissing) {
        FaissIDSelectorBatch *sel = NULL;
        size_t nrem = 0;
        if (faiss_IDSelectorBatch_new(&sel, f.nmissing, f.missing) ||
            faiss_Index_remove_ids(v->idx, (FaissIDSelector *)sel, &nrem))
            rc = vindex_faiss_fail(err, "cannot remove vectors");
        if (sel) faiss_IDSelector_free((FaissIDSelector *)sel);
    }
    if (!rc) v->last_id = l.ids[l.n - 1];
    free(f.missing);
    free(l.ids);
    return rc;
}

ragd_status vindex_build_from_store(ragd_vindex *v, ragd_error *err)
{
    v->last_id = 0;
    FaissIndexFlat *flat = idmap_flat(v->idx);
    if (flat) return build_flat_in_place(v, flat, err);
    if (!faiss_Index_is_trained(v->idx)) {
        ragd_status rc = train_from_sample(v, 0, err);
        if (rc) return rc;
    }
    return stream_scan(v, 0, false, NULL, err);
}
