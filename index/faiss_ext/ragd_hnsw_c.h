/* ragd_hnsw_c.h — ragd's addition to FAISS's C API for HNSW-with-flat-
 * storage indexes: a read-only view of the graph and vectors, so that ragd
 * can run its own search loop (index/hnsw_search.c) over it
 * (ragd_hnsw_c.cpp); and ragd's construction of that graph, an insertion
 * with hnswlib's level-0 rule and a repair pass (ragd_hnsw_build.cpp).
 *
 * scripts/install-deps copies this file, ragd_hnsw_c.cpp and
 * ragd_hnsw_build.cpp into FAISS's c_api/ before building libfaiss_c, and
 * installs this header beside FAISS's
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

/* Add n vectors x (n x d floats, row-major) to an IndexHNSWFlat or an
 * IDMap / IDMap2 wrapping one, with labels ids (n of them, required with
 * an IDMap; NULL with a bare IndexHNSWFlat, whose labels are the node
 * numbers), as
 * faiss_Index_add_with_ids would, but linking each new node on level 0 as
 * hnswlib does: at most M links (half the level's 2M capacity), always
 * chosen by HNSW's diversity heuristic. FAISS keeps up to 2M of the nearest
 * efConstruction candidates unfiltered, which on clustered data leaves
 * clusters poorly connected. Upper levels, level draws, insertion order and
 * the OpenMP parallelism are FAISS's. Returns 0; 1 (index untouched) when
 * the index is of another type or ids is NULL with an IDMap or given
 * without one (use faiss_Index_add_with_ids then); a negative FAISS
 * C API code on a FAISS error (faiss_get_last_error). The caller keeps
 * ownership of x and ids. Thread safety: as faiss_Index_add_with_ids (no
 * concurrent use of the index; uses OpenMP threads internally). */
int faiss_ragd_hnsw_add_with_ids(FaissIndex *index, int64_t n, const float *x, const int64_t *ids);

/* Give every node numbered first_node or above (the node number is the row
 * in the index: 0 for all, the previous ntotal for the nodes just added) at
 * least min_in_degree incoming level-0 links where free slots allow. Each
 * node below the floor is searched for (FAISS's search,
 * efSearch max(efConstruction, M + 1)) and appended to the level-0 lists of
 * its nearest nodes that have room and do not hold it yet. No link is
 * removed and no list grows beyond its capacity, so memory is unchanged.
 * *added (may be NULL) gets the links added. Returns 0, 1 for another index
 * type (untouched), or a negative FAISS C API code. Thread safety: as
 * faiss_ragd_hnsw_add_with_ids. */
int faiss_ragd_hnsw_repair(FaissIndex *index, int min_in_degree, int64_t first_node,
                           int64_t *added);

/* FAISS's own distance kernels (faiss::fvec_inner_product, fvec_L2sqr), the
 * ones its searches use, so that scores are bit-identical to FAISS's. */
float faiss_ragd_fvec_inner_product(const float *x, const float *y, size_t d);
float faiss_ragd_fvec_L2sqr(const float *x, const float *y, size_t d);

#ifdef __cplusplus
}
#endif
#endif
