// ragd_hnsw_internal.h — what ragd_hnsw_c.cpp (the graph view) shares with
// ragd_hnsw_build.cpp (the construction): which indexes ragd's HNSW code
// handles. Part of ragd, compiled into libfaiss_c by scripts/install-deps
// (which copies it with FAISS's other c_api headers); C++ only, not a public
// interface: ragd's C code never includes it.
#ifndef FAISS_RAGD_HNSW_INTERNAL_H
#define FAISS_RAGD_HNSW_INTERNAL_H

#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>

#include "ragd_hnsw_c.h"

namespace ragd_faiss_ext
{

// The IndexHNSWFlat behind an optional IDMap / IDMap2 wrapper. Pointers
// into the caller's index; nothing is owned.
struct hnsw_target {
    faiss::IndexHNSWFlat *hnsw = nullptr;
    faiss::IndexIDMap *idmap = nullptr;   // set for IDMap and IDMap2
    faiss::IndexIDMap2 *idmap2 = nullptr; // set for IDMap2 only
};

// Fill *t and return true when index is an IndexHNSWFlat with flat storage
// and an inner-product or L2 metric, bare or under IDMap / IDMap2; false
// otherwise (*t then partly filled, not to be used).
bool find_hnsw(FaissIndex *index, hnsw_target *t);

} // namespace ragd_faiss_ext

#endif
