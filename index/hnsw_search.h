/* index/hnsw_search.h — ragd's own search loop over the HNSW graph that FAISS
 * built (see index/faiss_ext/ragd_hnsw_c.h for the graph view).
 *
 * Why not faiss_Index_search: FAISS 1.7.3's HNSW search allocates and clears
 * a visited table of ntotal bytes per call, computes each distance through
 * two virtual calls, keeps its candidates in a bounded array it scans
 * linearly at every step, and loads each neighbour's vector only when it
 * reaches it. This loop is the search hnswlib runs (a candidate min-heap and
 * an efSearch-bounded result max-heap, stopping when the nearest candidate
 * is farther than the worst of the ef best), with the unvisited neighbours
 * of a node gathered first and their vectors prefetched ahead of their
 * distance computations. Distances are FAISS's own kernels, so a score is
 * bit-identical to the one FAISS would report for the same vector.
 *
 * The graph (links and levels) is FAISS's data structure; for
 * IndexHNSWFlat ragd links it itself (faiss_ragd_hnsw_add_with_ids and
 * faiss_ragd_hnsw_repair, index/faiss_ext/ragd_hnsw_build.cpp). */
#ifndef RAGD_INDEX_HNSW_SEARCH_H
#define RAGD_INDEX_HNSW_SEARCH_H

#ifdef RAGD_HAVE_FAISS_HNSW_VIEW

#include <faiss/c_api/ragd_hnsw_c.h>
#include <stddef.h>
#include <stdint.h>

/* The k nodes nearest to query q (g->d floats) found with search depth
 * max(ef, k): dist[i] is the inner product (g->metric 0) or squared L2
 * distance (metric 1), best first; labels[i] the node's label (g->labels,
 * or the node number). Returns how many were found (<= k; fewer only when
 * the graph has fewer nodes reachable). dist and labels are the caller's,
 * k entries each. Allocates its scratch per call (a visited bitmap of
 * ntotal bits and the two heaps) and frees it before returning.
 * Thread-safety: safe with concurrent searches of the same graph; not with
 * a concurrent modification of the index it views. */
size_t hnsw_graph_search(const FaissRagdHnswGraph *g, const float *q, size_t k, int ef, float *dist,
                         int64_t *labels);

#endif
#endif
