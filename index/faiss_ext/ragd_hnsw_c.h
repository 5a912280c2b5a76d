/* ragd_hnsw_c.h — ragd's addition to FAISS's C API: a read-only view of an
 * HNSW-with-flat-storage index's graph and vectors, so that ragd can run its
 * own search loop (index/hnsw_search.c) over the graph FAISS built.
 *
 * scripts/install-deps copies this file and ragd_hnsw_c.cpp into FAISS's
 * c_api/ before building libfaiss_c, and installs this header beside FAISS's
 * own (<faiss/c_api/ragd_hnsw_c.h>); nothing else of FAISS is changed. A
 * FAISS without it (a system libfaiss_c) still works: CMake then leaves
 * RAGD_HAVE_FAISS_HNSW_VIEW undefined and ragd searches through FAISS.
 *
 * Ownership: every pointer in the view points into the index and is owned
 * by it. The view is valid until the index is next modified (add, remove,
 * reset) or freed; take a new one after any of these.
 * Thread safety: as FAISS's const methods: safe with concurrent readers,
 * not with a concurrent writer of the same index. */
#ifndef FAISS_RAGD_HNSW_C_H
#define FAISS_RAGD_HNSW_C_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* As FAISS_DECLARE_CLASS(Index) in faiss_c.h (a repeated typedef is valid). */
typedef struct FaissIndex_H FaissIndex;

typedef struct FaissRagdHnswGraph {
    int64_t ntotal;                         /* nodes (= vectors) */
    int d;                                  /* dimension */
    int metric;                             /* 0: inner product (larger is closer), 1: L2 */
    int32_t entry_point;                    /* -1 when empty */
    int max_level;                          /* entry point's level */
    int ef_search;                          /* the index's efSearch */
    const int32_t *levels;                  /* levels[i]: node i's top level + 1 */
    const size_t *offsets;                  /* node i's links start at neighbors[offsets[i]] */
    const int32_t *cum_nneighbor_per_level; /* level l: [cum[l], cum[l+1]) */
    const int32_t *neighbors;               /* node ids; -1 ends a short list */
    const float *vectors;                   /* ntotal x d, row i = node i */
    const int64_t *labels;                  /* IDMap's label of node i; NULL: label = i */
} FaissRagdHnswGraph;

/* Fill *out for an IndexHNSWFlat, or an IndexIDMap / IndexIDMap2 wrapping
 * one. Returns 0, or -1 (and *out untouched) for any other index type. */
int faiss_ragd_hnsw_graph(const FaissIndex *index, FaissRagdHnswGraph *out);

/* FAISS's own distance kernels (faiss::fvec_inner_product, fvec_L2sqr), the
 * ones its searches use, so that scores are bit-identical to FAISS's. */
float faiss_ragd_fvec_inner_product(const float *x, const float *y, size_t d);
float faiss_ragd_fvec_L2sqr(const float *x, const float *y, size_t d);

#ifdef __cplusplus
}
#endif
#endif
