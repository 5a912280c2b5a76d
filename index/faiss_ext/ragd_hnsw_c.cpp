// ragd_hnsw_c.cpp — see ragd_hnsw_c.h. Part of ragd, compiled into
// libfaiss_c by scripts/install-deps.
#include "ragd_hnsw_internal.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/utils/distances.h>

extern "C" int faiss_ragd_hnsw_graph(const FaissIndex *index, FaissRagdHnswGraph *out)
{
    // find_hnsw takes a mutable index; the view only reads through it.
    ragd_faiss_ext::hnsw_target t;
    if (!ragd_faiss_ext::find_hnsw(const_cast<FaissIndex *>(index), &t)) return -1;
    const faiss::IndexHNSWFlat *h = t.hnsw;
    const faiss::IndexFlat *flat = static_cast<const faiss::IndexFlat *>(h->storage);
    const int64_t *labels = t.idmap ? t.idmap->id_map.data() : nullptr;
    const faiss::HNSW &g = h->hnsw;
    out->ntotal = h->ntotal;
    out->d = (int)h->d;
    out->metric = h->metric_type == faiss::METRIC_INNER_PRODUCT ? 0 : 1;
    out->entry_point = g.entry_point;
    out->max_level = g.max_level;
    out->ef_search = g.efSearch;
    out->levels = g.levels.data();
    out->offsets = g.offsets.data();
    out->cum_nneighbor_per_level = g.cum_nneighbor_per_level.data();
    out->neighbors = g.neighbors.data();
    out->vectors = flat->get_xb();
    out->labels = labels;
    return 0;
}

extern "C" float faiss_ragd_fvec_inner_product(const float *x, const float *y, size_t d)
{
    return faiss::fvec_inner_product(x, y, d);
}

extern "C" float faiss_ragd_fvec_L2sqr(const float *x, const float *y, size_t d)
{
    return faiss::fvec_L2sqr(x, y, d);
}
