// ragd_hnsw_build.cpp — ragd's HNSW construction over FAISS's graph (see
// ragd_hnsw_c.h): insertion with hnswlib's level-0 rule, and a repair pass
// that gives every node a minimum number of incoming level-0 links. Part of
// ragd, compiled into libfaiss_c by scripts/install-deps.
//
// Why: FAISS 1.7.3 lets a new node keep up to 2M level-0 links, and its
// shrink_neighbor_list wrapper returns early when there are fewer candidates
// than that, so at efConstruction 40 (< 64) a new node links to its 40
// nearest candidates with no diversity heuristic at all. On clustered data
// those links stay inside one cluster and searches stall (bench_vector,
// 100k x 384-d: recall@10 0.9961 at efSearch 256). hnswlib instead chooses
// at most M links with the heuristic, which is what insert_links does here.
// The heuristic then leaves some nodes with only one to five incoming links
// (other nodes' lists prune them away), and those are most of what a search
// still misses; repair_in_degree links each such node from its nearest
// neighbours that have a free slot (docs/benchmarks.md, thirteenth session).
//
// shrink_to, add_link, search_neighbors_to_add and greedy_update_nearest
// are FAISS 1.7.3's (faiss/impl/HNSW.cpp, MIT licence, Copyright (c) Facebook,
// Inc. and its affiliates), copied because FAISS keeps them in an anonymous
// namespace. The graph stays FAISS's own data structure: FAISS reads, writes,
// searches and extends it as usual.
#include "ragd_hnsw_internal.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIDMap.h>
#include <faiss/impl/AuxIndexStructures.h>
#include <faiss/impl/DistanceComputer.h>
#include <faiss/impl/FaissAssert.h>
#include <faiss/utils/random.h>
#include <omp.h>

#include <algorithm>
#include <memory>
#include <queue>
#include <vector>

#include "macros_impl.h"

#ifndef _OPENMP
#error "ragd_hnsw_build.cpp needs OpenMP: without it the graph is built on one thread"
#endif

// A named namespace, not an anonymous one, so that tests/tsan.supp can
// name it: the insertion reads neighbour lists that another thread may be
// writing under its lock, by design, exactly as FAISS's own add does.
namespace ragd_faiss_ext
{

using faiss::DistanceComputer;
using faiss::HNSW;
using faiss::VisitedTable;
using storage_idx_t = HNSW::storage_idx_t;
using NodeDistCloser = HNSW::NodeDistCloser;
using NodeDistFarther = HNSW::NodeDistFarther;

bool find_hnsw(FaissIndex *index, hnsw_target *t)
{
    faiss::Index *ix = reinterpret_cast<faiss::Index *>(index);
    if (auto m = dynamic_cast<faiss::IndexIDMap *>(ix)) {
        t->idmap = m;
        t->idmap2 = dynamic_cast<faiss::IndexIDMap2 *>(m);
        ix = m->index;
    }
    t->hnsw = dynamic_cast<faiss::IndexHNSWFlat *>(ix);
    return t->hnsw && dynamic_cast<faiss::IndexFlat *>(t->hnsw->storage) &&
           (t->hnsw->metric_type == faiss::METRIC_INNER_PRODUCT ||
            t->hnsw->metric_type == faiss::METRIC_L2);
}

// As FAISS's storage_distance_computer (IndexHNSW.cpp, not exported): the
// storage's distances, negated for inner product so that smaller is closer.
struct NegatedDistance : DistanceComputer {
    std::unique_ptr<DistanceComputer> base;
    explicit NegatedDistance(DistanceComputer *b) : base(b) {}
    void set_query(const float *x) override
    {
        base->set_query(x);
    }
    float operator()(idx_t i) override
    {
        return -(*base)(i);
    }
    float symmetric_dis(idx_t i, idx_t j) override
    {
        return -base->symmetric_dis(i, j);
    }
};

DistanceComputer *storage_distance(const faiss::Index *storage)
{
    DistanceComputer *d = storage->get_distance_computer();
    if (storage->metric_type == faiss::METRIC_INNER_PRODUCT) return new NegatedDistance(d);
    return d;
}

/* --- FAISS 1.7.3's subroutines (faiss/impl/HNSW.cpp) --------------------- */

// Keep at most max_size of the candidates, chosen by the diversity
// heuristic; fewer candidates than max_size are kept as they are.
void shrink_to(DistanceComputer &qdis, std::priority_queue<NodeDistCloser> &set, int max_size)
{
    if ((int)set.size() < max_size) return;
    std::priority_queue<NodeDistFarther> in;
    std::vector<NodeDistFarther> out;
    while (!set.empty()) {
        in.emplace(set.top().d, set.top().id);
        set.pop();
    }
    HNSW::shrink_neighbor_list(qdis, in, out, max_size);
    for (NodeDistFarther x : out)
        set.emplace(x.d, x.id);
}

// Link src -> dest on level, pruning src's list by the heuristic when full.
void add_link(HNSW &hnsw, DistanceComputer &qdis, storage_idx_t src, storage_idx_t dest, int level)
{
    size_t begin, end;
    hnsw.neighbor_range(src, level, &begin, &end);
    if (hnsw.neighbors[end - 1] == -1) {
        size_t i = end;
        while (i > begin && hnsw.neighbors[i - 1] == -1)
            i--;
        hnsw.neighbors[i] = dest;
        return;
    }
    std::priority_queue<NodeDistCloser> set;
    set.emplace(qdis.symmetric_dis(src, dest), dest);
    for (size_t i = begin; i < end; i++)
        set.emplace(qdis.symmetric_dis(src, hnsw.neighbors[i]), hnsw.neighbors[i]);
    shrink_to(qdis, set, (int)(end - begin));
    size_t i = begin;
    for (; !set.empty(); set.pop())
        hnsw.neighbors[i++] = set.top().id;
    while (i < end)
        hnsw.neighbors[i++] = -1;
}

// The efConstruction nearest nodes to the query on one level.
void search_neighbors_to_add(HNSW &hnsw, DistanceComputer &qdis,
                             std::priority_queue<NodeDistCloser> &results, int entry_point,
                             float d_entry_point, int level, VisitedTable &vt)
{
    std::priority_queue<NodeDistFarther> candidates;
    candidates.emplace(d_entry_point, entry_point);
    results.emplace(d_entry_point, entry_point);
    vt.set(entry_point);
    while (!candidates.empty()) {
        const NodeDistFarther &cur = candidates.top();
        if (cur.d > results.top().d) break;
        int node = cur.id;
        candidates.pop();
        size_t begin, end;
        hnsw.neighbor_range(node, level, &begin, &end);
        for (size_t i = begin; i < end; i++) {
            storage_idx_t v = hnsw.neighbors[i];
            if (v < 0) break;
            if (vt.get(v)) continue;
            vt.set(v);
            float dis = qdis(v);
            if ((int)results.size() < hnsw.efConstruction || results.top().d > dis) {
                results.emplace(dis, v);
                candidates.emplace(dis, v);
                if ((int)results.size() > hnsw.efConstruction) results.pop();
            }
        }
    }
    vt.advance();
}

void greedy_update_nearest(const HNSW &hnsw, DistanceComputer &qdis, int level,
                           storage_idx_t &nearest, float &d_nearest)
{
    for (;;) {
        storage_idx_t prev = nearest;
        size_t begin, end;
        hnsw.neighbor_range(nearest, level, &begin, &end);
        for (size_t i = begin; i < end; i++) {
            storage_idx_t v = hnsw.neighbors[i];
            if (v < 0) break;
            float dis = qdis(v);
            if (dis < d_nearest) {
                nearest = v;
                d_nearest = dis;
            }
        }
        if (nearest == prev) return;
    }
}

/* --- ragd's insertion ------------------------------------------------------ */

// Link pt_id on one level. The difference from FAISS's
// add_links_starting_from: on level 0 the new node keeps at most half its
// list's capacity (M of 2M), always chosen by the heuristic, as hnswlib's
// mutuallyConnectNewElement; the reverse links may still fill 2M.
// pt_id's own lock is held on entry and on return.
void insert_links(HNSW &hnsw, DistanceComputer &ptdis, storage_idx_t pt_id, storage_idx_t nearest,
                  float d_nearest, int level, omp_lock_t *locks, VisitedTable &vt)
{
    std::priority_queue<NodeDistCloser> targets;
    search_neighbors_to_add(hnsw, ptdis, targets, nearest, d_nearest, level, vt);
    int cap = level == 0 ? std::max(1, hnsw.nb_neighbors(0) / 2) : hnsw.nb_neighbors(level);
    shrink_to(ptdis, targets, cap);
    std::vector<storage_idx_t> linked;
    linked.reserve(targets.size());
    for (; !targets.empty(); targets.pop()) {
        storage_idx_t other = targets.top().id;
        add_link(hnsw, ptdis, pt_id, other, level);
        linked.push_back(other);
    }
    omp_unset_lock(&locks[pt_id]);
    for (storage_idx_t other : linked) {
        omp_set_lock(&locks[other]);
        add_link(hnsw, ptdis, other, pt_id, level);
        omp_unset_lock(&locks[other]);
    }
    omp_set_lock(&locks[pt_id]);
}

// FAISS's HNSW::add_with_locks, calling insert_links.
void insert_node(HNSW &hnsw, DistanceComputer &ptdis, int pt_level, storage_idx_t pt_id,
                 std::vector<omp_lock_t> &locks, VisitedTable &vt)
{
    storage_idx_t nearest;
#pragma omp critical
    {
        nearest = hnsw.entry_point;
        if (nearest == -1) {
            hnsw.max_level = pt_level;
            hnsw.entry_point = pt_id;
        }
    }
    if (nearest < 0) return;
    omp_set_lock(&locks[pt_id]);
    int level = hnsw.max_level;
    float d_nearest = ptdis(nearest);
    for (; level > pt_level; level--)
        greedy_update_nearest(hnsw, ptdis, level, nearest, d_nearest);
    for (; level >= 0; level--)
        insert_links(hnsw, ptdis, pt_id, nearest, d_nearest, level, locks.data(), vt);
    omp_unset_lock(&locks[pt_id]);
#pragma omp critical
    {
        if (pt_level > hnsw.max_level) {
            hnsw.max_level = pt_level;
            hnsw.entry_point = pt_id;
        }
    }
}

// FAISS's hnsw_add_vertices (IndexHNSW.cpp) without its verbose output and
// interrupt checks: nodes n0..n0+n-1, whose vectors are already in the
// storage, highest level first, each level in a random order, in parallel.
void insert_vertices(faiss::IndexHNSW &ix, size_t n0, size_t n, const float *x)
{
    HNSW &hnsw = ix.hnsw;
    size_t d = ix.d, ntotal = n0 + n;
    if (n == 0) return;
    hnsw.prepare_level_tab(n, false);

    std::vector<omp_lock_t> locks(ntotal);
    for (size_t i = 0; i < ntotal; i++)
        omp_init_lock(&locks[i]);

    std::vector<int> hist;
    std::vector<storage_idx_t> order(n);
    for (size_t i = 0; i < n; i++) {
        int lv = hnsw.levels[n0 + i] - 1;
        if ((size_t)lv >= hist.size()) hist.resize(lv + 1, 0);
        hist[lv]++;
    }
    std::vector<size_t> start(hist.size() + 1, 0);
    for (size_t l = 0; l < hist.size(); l++)
        start[l + 1] = start[l] + hist[l];
    for (size_t i = 0; i < n; i++)
        order[start[hnsw.levels[n0 + i] - 1]++] = (storage_idx_t)(n0 + i);

    faiss::RandomGenerator rng2(789);
    size_t i1 = n;
    for (int lv = (int)hist.size() - 1; lv >= 0; lv--) {
        size_t i0 = i1 - hist[lv];
        for (size_t j = i0; j < i1; j++)
            std::swap(order[j], order[j + rng2.rand_int((int)(i1 - j))]);
#pragma omp parallel if (i1 > i0 + 100)
        {
            VisitedTable vt(ntotal);
            std::unique_ptr<DistanceComputer> dis(storage_distance(ix.storage));
#pragma omp for schedule(static)
            for (long i = (long)i0; i < (long)i1; i++) {
                storage_idx_t pt = order[i];
                dis->set_query(x + (size_t)(pt - n0) * d);
                insert_node(hnsw, *dis, lv, pt, locks, vt);
            }
        }
        i1 = i0;
    }
    for (size_t i = 0; i < ntotal; i++)
        omp_destroy_lock(&locks[i]);
}

/* --- repair: a floor on incoming level-0 links ---------------------------- */

// Whether node u's level-0 list holds v. *free_slot: 1 + the index in
// hnsw.neighbors of u's first free level-0 slot, or 0 when the list is full.
bool holds(const HNSW &hnsw, storage_idx_t u, storage_idx_t v, size_t *free_slot)
{
    size_t b, e;
    hnsw.neighbor_range(u, 0, &b, &e);
    *free_slot = 0;
    for (size_t j = b; j < e; j++) {
        if (hnsw.neighbors[j] == v) return true;
        if (hnsw.neighbors[j] < 0) {
            *free_slot = j + 1;
            return false;
        }
    }
    return false;
}

// For each node from `first` on with fewer than floor incoming level-0 links: search the
// graph for its nearest nodes (FAISS's own search, efSearch
// max(efConstruction, candidates)) and append it to the lists of the
// nearest that have a free slot, until it has floor. Never removes a link,
// never grows a list beyond its capacity. Returns the links added.
int64_t repair_in_degree(faiss::IndexHNSW &ix, int floor, size_t first)
{
    HNSW &hnsw = ix.hnsw;
    size_t n = (size_t)ix.ntotal, d = (size_t)ix.d;
    std::vector<int> indeg(n, 0);
    for (size_t v = 0; v < n; v++) {
        size_t b, e;
        hnsw.neighbor_range(v, 0, &b, &e);
        for (size_t j = b; j < e && hnsw.neighbors[j] >= 0; j++)
            indeg[hnsw.neighbors[j]]++;
    }
    std::vector<storage_idx_t> low;
    for (size_t v = first; v < n; v++)
        if (indeg[v] < floor) low.push_back((storage_idx_t)v);
    if (low.empty() || n < 2) return 0;

    const float *xb = static_cast<faiss::IndexFlat *>(ix.storage)->get_xb();
    int k = std::min<int>(hnsw.nb_neighbors(0) / 2 + 1, (int)n);
    faiss::SearchParametersHNSW params;
    params.efSearch = std::max(hnsw.efConstruction, k);
    // In slices, so that the queries' copy stays small (4096 x d floats).
    const size_t slice = 4096;
    std::vector<float> q(slice * d), dist(slice * (size_t)k);
    std::vector<faiss::Index::idx_t> nn(slice * (size_t)k);
    int64_t added = 0;
    for (size_t s0 = 0; s0 < low.size(); s0 += slice) {
        size_t m = std::min(slice, low.size() - s0);
        for (size_t i = 0; i < m; i++)
            std::copy(xb + (size_t)low[s0 + i] * d, xb + ((size_t)low[s0 + i] + 1) * d, &q[i * d]);
        ix.search((faiss::Index::idx_t)m, q.data(), k, dist.data(), nn.data(), &params);
        // Linking is serial: cheap, and the same graph gives the same result.
        for (size_t i = 0; i < m; i++) {
            storage_idx_t v = low[s0 + i];
            for (int a = 0; a < k && indeg[v] < floor; a++) {
                faiss::Index::idx_t u = nn[i * (size_t)k + a];
                if (u < 0 || u == v) continue;
                size_t slot;
                if (holds(hnsw, (storage_idx_t)u, v, &slot) || !slot) continue;
                hnsw.neighbors[slot - 1] = v;
                indeg[v]++;
                added++;
            }
        }
    }
    return added;
}

} // namespace ragd_faiss_ext

using namespace ragd_faiss_ext;

extern "C" int faiss_ragd_hnsw_add_with_ids(FaissIndex *index, int64_t n, const float *x,
                                            const int64_t *ids)
{
    hnsw_target t;
    if (!find_hnsw(index, &t) || (t.idmap != nullptr) != (ids != nullptr)) return 1;
    try {
        faiss::IndexHNSWFlat &h = *t.hnsw;
        FAISS_THROW_IF_NOT(h.is_trained);
        FAISS_THROW_IF_NOT(n >= 0);
        size_t n0 = (size_t)h.ntotal;
        h.storage->add(n, x);
        h.ntotal = h.storage->ntotal;
        insert_vertices(h, n0, (size_t)n, x);
        if (t.idmap) {
            for (int64_t i = 0; i < n; i++)
                t.idmap->id_map.push_back(ids[i]);
            t.idmap->ntotal = h.ntotal;
            if (t.idmap2)
                for (size_t i = n0; i < (size_t)h.ntotal; i++)
                    t.idmap2->rev_map[t.idmap2->id_map[i]] = (faiss::Index::idx_t)i;
        }
    }
    CATCH_AND_HANDLE
}

extern "C" int faiss_ragd_hnsw_repair(FaissIndex *index, int min_in_degree, int64_t first_node,
                                      int64_t *added)
{
    if (added) *added = 0;
    hnsw_target t;
    if (!find_hnsw(index, &t)) return 1;
    try {
        size_t first = first_node > 0 ? (size_t)first_node : 0;
        int64_t a = min_in_degree > 0 ? repair_in_degree(*t.hnsw, min_in_degree, first) : 0;
        if (added) *added = a;
    }
    CATCH_AND_HANDLE
}
