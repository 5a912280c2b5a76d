/* tests/unit_hnsw_search.c — ragd's HNSW search loop (index/hnsw_search.c)
 * over graphs that real FAISS builds: recall against brute force and
 * against FAISS's own search at the same efSearch, scores bit-identical to
 * FAISS's, labels through IDMap, L2 and inner product, and the edges (an
 * empty index, k above the node count, ef below k, non-HNSW indexes).
 * Then ragd's construction of the graph (index/faiss_ext/
 * ragd_hnsw_build.cpp): the add's contract, its level-0 rule, and the
 * in-degree repair. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "index/hnsw_search.h"

#ifdef RAGD_HAVE_FAISS_HNSW_VIEW

extern void omp_set_num_threads(int);

enum { DIM = 48, NCLUSTER = 40, NQ = 200, K = 10 };

static uint64_t rng_state;
static float frand(void) /* [-0.5, 0.5) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng_state >> 33) & 0xFFFFFF) / (float)0x1000000 - 0.5f;
}

static void normalize(float *x)
{
    double s = 0;
    for (int d = 0; d < DIM; d++)
        s += (double)x[d] * x[d];
    for (int d = 0; d < DIM; d++)
        x[d] = (float)(x[d] / sqrt(s));
}

/* n clustered unit vectors (as real embeddings: HNSW on uniform random
 * high-dimensional data is a pathological case). */
static float *clustered(size_t n, uint64_t seed)
{
    rng_state = seed;
    float cent[NCLUSTER][DIM];
    for (int c = 0; c < NCLUSTER; c++) {
        for (int d = 0; d < DIM; d++)
            cent[c][d] = frand();
        normalize(cent[c]);
    }
    float *x = malloc(n * DIM * sizeof *x);
    for (size_t i = 0; i < n; i++) {
        int c = (int)((rng_state >> 40) % NCLUSTER);
        for (int d = 0; d < DIM; d++)
            x[i * DIM + d] = cent[c][d] + 0.05f * frand();
        normalize(x + i * DIM);
    }
    return x;
}

enum builder { FAISS_ADD, RAGD_ADD, RAGD_ADD_REPAIR };

/* An index of factory over x (labels id_base + 3i), linked by FAISS's own
 * add or by ragd's (in three batches, as vindex adds), then optionally
 * repaired as vindex does after a build. */
static FaissIndex *build_with(enum builder how, const char *factory, FaissMetricType metric,
                              const float *x, size_t n, int64_t id_base, int ef)
{
    FaissIndex *idx = NULL;
    assert_int_equal(faiss_index_factory(&idx, DIM, factory, metric), 0);
    int64_t *ids = malloc(n * sizeof *ids);
    for (size_t i = 0; i < n; i++)
        ids[i] = id_base + (int64_t)i * 3;
    if (how == FAISS_ADD) {
        assert_int_equal(faiss_Index_add_with_ids(idx, (int64_t)n, x, ids), 0);
    } else {
        for (size_t i = 0; i < n; i += n / 3 + 1) {
            size_t m = n - i < n / 3 + 1 ? n - i : n / 3 + 1;
            assert_int_equal(faiss_ragd_hnsw_add_with_ids(idx, (int64_t)m, x + i * DIM, ids + i),
                             0);
        }
    }
    if (how == RAGD_ADD_REPAIR) assert_int_equal(faiss_ragd_hnsw_repair(idx, 8, 0, NULL), 0);
    free(ids);
    FaissParameterSpace *ps = NULL;
    assert_int_equal(faiss_ParameterSpace_new(&ps), 0);
    assert_int_equal(faiss_ParameterSpace_set_index_parameter(ps, idx, "efSearch", ef), 0);
    faiss_ParameterSpace_free(ps);
    return idx;
}

static FaissIndex *build(const char *factory, FaissMetricType metric, const float *x, size_t n,
                         int64_t id_base, int ef)
{
    return build_with(FAISS_ADD, factory, metric, x, n, id_base, ef);
}

/* Exact top-K labels of q (inner product largest, or L2 smallest). */
static void brute(const float *x, size_t n, const float *q, int l2, int64_t id_base, int64_t *out)
{
    float best[K];
    for (int j = 0; j < K; j++) {
        best[j] = l2 ? INFINITY : -INFINITY;
        out[j] = -1;
    }
    for (size_t i = 0; i < n; i++) {
        float s = l2 ? faiss_ragd_fvec_L2sqr(q, x + i * DIM, DIM)
                     : faiss_ragd_fvec_inner_product(q, x + i * DIM, DIM);
        int j = K - 1;
        if (l2 ? s >= best[j] : s <= best[j]) continue;
        while (j > 0 && (l2 ? s < best[j - 1] : s > best[j - 1])) {
            best[j] = best[j - 1];
            out[j] = out[j - 1];
            j--;
        }
        best[j] = s;
        out[j] = id_base + (int64_t)i * 3;
    }
}

static int overlap(const int64_t *a, const int64_t *b, int n)
{
    int hit = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
            if (a[i] >= 0 && a[i] == b[j]) hit++;
    return hit;
}

/* Recall@K of ragd's loop and of FAISS's search, same graph, same ef; and
 * every score ragd reports is FAISS's kernel on the labelled vector. */
static double check_recall_with(enum builder how, FaissMetricType metric, int ef, double min_recall)
{
    const size_t n = 6000;
    const int64_t base = 1000;
    /* Queries: more points of the same clusters, not in the index. */
    float *x = clustered(n + NQ, 11);
    const float *qs = x + n * DIM;
    FaissIndex *idx = build_with(how, "IDMap,HNSW16", metric, x, n, base, ef);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    assert_int_equal(g.ntotal, (int64_t)n);
    assert_int_equal(g.d, DIM);
    assert_int_equal(g.ef_search, ef);
    assert_int_equal(g.metric, metric == METRIC_L2 ? 1 : 0);
    int l2 = metric == METRIC_L2;
    int ours = 0, theirs = 0;
    for (int qi = 0; qi < NQ; qi++) {
        const float *q = qs + (size_t)qi * DIM;
        int64_t truth[K], lab[K], flab[K];
        float dist[K], fdist[K];
        brute(x, n, q, l2, base, truth);
        assert_int_equal(hnsw_graph_search(&g, q, K, g.ef_search, dist, lab), K);
        assert_int_equal(faiss_Index_search(idx, 1, q, K, fdist, flab), 0);
        ours += overlap(lab, truth, K);
        theirs += overlap(flab, truth, K);
        for (int i = 0; i < K; i++) {
            assert_true(lab[i] >= base && (lab[i] - base) % 3 == 0);
            const float *v = x + (size_t)((lab[i] - base) / 3) * DIM;
            float s =
                l2 ? faiss_ragd_fvec_L2sqr(q, v, DIM) : faiss_ragd_fvec_inner_product(q, v, DIM);
            assert_true(s == dist[i]); /* bit-identical, not approximately */
            if (i) assert_true(l2 ? dist[i] >= dist[i - 1] : dist[i] <= dist[i - 1]);
            for (int j = 0; j < K; j++)
                if (flab[j] == lab[i]) assert_true(fdist[j] == dist[i]);
        }
    }
    double r_ours = (double)ours / (NQ * K), r_faiss = (double)theirs / (NQ * K);
    print_message("build %d metric %d ef %d: recall@%d ragd %.4f, FAISS %.4f\n", (int)how,
                  (int)metric, ef, K, r_ours, r_faiss);
    assert_true(r_ours >= min_recall);
    assert_true(r_ours >= r_faiss - 0.01);
    faiss_Index_free(idx);
    free(x);
    return r_ours;
}

static void check_recall(FaissMetricType metric, int ef, double min_recall)
{
    check_recall_with(FAISS_ADD, metric, ef, min_recall);
}

static void test_inner_product_recall(void **state)
{
    (void)state;
    check_recall(METRIC_INNER_PRODUCT, 64, 0.97);
    check_recall(METRIC_INNER_PRODUCT, 16, 0.80);
}

static void test_l2_recall(void **state)
{
    (void)state;
    check_recall(METRIC_L2, 64, 0.97);
}

/* A query equal to a stored vector finds it first, with FAISS's score. */
static void test_stored_vector_finds_itself(void **state)
{
    (void)state;
    const size_t n = 3000;
    float *x = clustered(n, 5);
    FaissIndex *idx = build("IDMap,HNSW16", METRIC_INNER_PRODUCT, x, n, 0, 32);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    int found = 0;
    for (size_t i = 0; i < n; i += 97) {
        float d[1];
        int64_t l[1];
        assert_int_equal(hnsw_graph_search(&g, x + i * DIM, 1, 32, d, l), 1);
        if (l[0] == (int64_t)i * 3) found++;
        assert_true(d[0] ==
                    faiss_ragd_fvec_inner_product(x + i * DIM, x + (size_t)l[0] / 3 * DIM, DIM));
    }
    assert_true(found >= 30); /* of 31 */
    faiss_Index_free(idx);
    free(x);
}

/* k above the node count returns every node once; ef below k searches k
 * deep; an empty index and k 0 return nothing. */
static void test_edges(void **state)
{
    (void)state;
    float *x = clustered(20, 3);
    FaissIndex *idx = build("IDMap,HNSW16", METRIC_INNER_PRODUCT, x, 20, 0, 4);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    float d[40];
    int64_t l[40];
    assert_int_equal(hnsw_graph_search(&g, x, 40, 4, d, l), 20);
    int seen[20] = {0};
    for (int i = 0; i < 20; i++) {
        assert_true(l[i] >= 0 && l[i] < 60 && l[i] % 3 == 0);
        seen[l[i] / 3]++;
    }
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(hnsw_graph_search(&g, x, 10, 1, d, l), 10);
    assert_int_equal(hnsw_graph_search(&g, x, 0, 16, d, l), 0);
    faiss_Index_free(idx);

    FaissIndex *empty = NULL;
    assert_int_equal(faiss_index_factory(&empty, DIM, "IDMap,HNSW16", METRIC_INNER_PRODUCT), 0);
    assert_int_equal(faiss_ragd_hnsw_graph(empty, &g), 0);
    assert_int_equal(g.entry_point, -1);
    assert_int_equal(hnsw_graph_search(&g, x, 10, 16, d, l), 0);
    faiss_Index_free(empty);
    free(x);
}

/* Only HNSW over flat storage (bare or under IDMap) has a view. */
static void test_other_indexes_have_no_view(void **state)
{
    (void)state;
    const char *others[] = {"IDMap,Flat", "Flat", "HNSW16,SQ8", "IDMap2,Flat"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        FaissIndex *idx = NULL;
        assert_int_equal(faiss_index_factory(&idx, DIM, others[i], METRIC_INNER_PRODUCT), 0);
        FaissRagdHnswGraph g = {.ntotal = 12345};
        assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), -1);
        assert_int_equal(g.ntotal, 12345); /* untouched */
        faiss_Index_free(idx);
    }
    FaissIndex *bare = NULL;
    assert_int_equal(faiss_index_factory(&bare, DIM, "HNSW16", METRIC_L2), 0);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(bare, &g), 0);
    assert_null(g.labels);
    faiss_Index_free(bare);
}

/* --- ragd's construction (faiss_ragd_hnsw_add_with_ids, _repair) -------- */

/* Level-0 links of g: in-degree per node (caller frees), *mean_out the mean
 * list length. */
static int *level0_in_degree(const FaissRagdHnswGraph *g, double *mean_out)
{
    int *in = calloc((size_t)g->ntotal, sizeof *in);
    int cap = g->cum_nneighbor_per_level[1] - g->cum_nneighbor_per_level[0];
    size_t links = 0;
    for (int64_t v = 0; v < g->ntotal; v++) {
        const int32_t *nb = g->neighbors + g->offsets[v] + g->cum_nneighbor_per_level[0];
        for (int j = 0; j < cap && nb[j] >= 0; j++) {
            in[nb[j]]++;
            links++;
        }
    }
    if (mean_out) *mean_out = (double)links / (double)g->ntotal;
    return in;
}

static size_t count_below(const int *in, int64_t n, int floor)
{
    size_t c = 0;
    for (int64_t v = 0; v < n; v++)
        c += in[v] < floor;
    return c;
}

/* ragd's add keeps FAISS's contract: labels, ntotal, FAISS's own search
 * finds stored vectors in the graph; and a later add extends it. */
static void test_ragd_add_contract(void **state)
{
    (void)state;
    const size_t n = 3000;
    float *x = clustered(n + 500, 5);
    FaissIndex *idx = build_with(RAGD_ADD, "IDMap,HNSW16", METRIC_INNER_PRODUCT, x, n, 7, 32);
    assert_int_equal(faiss_Index_ntotal(idx), (int64_t)n);
    int64_t more[500];
    for (int i = 0; i < 500; i++)
        more[i] = 7 + (int64_t)(n + (size_t)i) * 3;
    assert_int_equal(faiss_ragd_hnsw_add_with_ids(idx, 500, x + n * DIM, more), 0);
    assert_int_equal(faiss_Index_ntotal(idx), (int64_t)n + 500);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    int ours = 0, theirs = 0, tried = 0;
    for (size_t i = 0; i < n + 500; i += 71, tried++) {
        float d[1];
        int64_t l[1];
        assert_int_equal(hnsw_graph_search(&g, x + i * DIM, 1, 32, d, l), 1);
        ours += l[0] == 7 + (int64_t)i * 3;
        assert_int_equal(faiss_Index_search(idx, 1, x + i * DIM, 1, d, l), 0);
        theirs += l[0] == 7 + (int64_t)i * 3;
    }
    assert_true(ours >= tried - 1);
    assert_true(theirs >= tried - 1);
    faiss_Index_free(idx);
    free(x);
}

/* The level-0 rule: a new node keeps at most M links chosen by the
 * heuristic, where FAISS keeps up to 2M of its nearest candidates; so
 * ragd's lists are much shorter on the same data. */
static void test_ragd_add_level0_rule(void **state)
{
    (void)state;
    const size_t n = 4000;
    float *x = clustered(n, 21);
    double mean_faiss, mean_ragd;
    /* HNSW32: 2M = 64 links exceed efConstruction's 40 candidates, the case
     * where FAISS skips the heuristic (with HNSW16 both prune to 32). */
    FaissIndex *a = build_with(FAISS_ADD, "IDMap,HNSW32", METRIC_INNER_PRODUCT, x, n, 0, 32);
    FaissIndex *b = build_with(RAGD_ADD, "IDMap,HNSW32", METRIC_INNER_PRODUCT, x, n, 0, 32);
    FaissRagdHnswGraph ga, gb;
    assert_int_equal(faiss_ragd_hnsw_graph(a, &ga), 0);
    assert_int_equal(faiss_ragd_hnsw_graph(b, &gb), 0);
    free(level0_in_degree(&ga, &mean_faiss));
    free(level0_in_degree(&gb, &mean_ragd));
    print_message("mean level-0 links: FAISS add %.1f, ragd add %.1f\n", mean_faiss, mean_ragd);
    assert_true(mean_ragd < 0.8 * mean_faiss);
    faiss_Index_free(a);
    faiss_Index_free(b);
    free(x);
}

/* The repair raises nodes to the floor where slots allow, removes no
 * link, is idempotent, and with first_node = ntotal does nothing. */
static void test_repair(void **state)
{
    (void)state;
    const size_t n = 6000;
    float *x = clustered(n, 11);
    FaissIndex *idx = build_with(RAGD_ADD, "IDMap,HNSW16", METRIC_INNER_PRODUCT, x, n, 0, 32);
    FaissRagdHnswGraph g;
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    int *before = level0_in_degree(&g, NULL);
    size_t low_before = count_below(before, g.ntotal, 8);
    size_t nlinks = g.offsets[g.ntotal];
    int32_t *old = malloc(nlinks * sizeof *old);
    memcpy(old, g.neighbors, nlinks * sizeof *old);

    int64_t added = -1;
    assert_int_equal(faiss_ragd_hnsw_repair(idx, 8, (int64_t)n, &added), 0);
    assert_int_equal(added, 0);
    assert_int_equal(faiss_ragd_hnsw_repair(idx, 8, 0, &added), 0);
    assert_true(added > 0);
    assert_int_equal(faiss_ragd_hnsw_graph(idx, &g), 0);
    int *after = level0_in_degree(&g, NULL);
    size_t low_after = count_below(after, g.ntotal, 8);
    print_message("nodes below 8 incoming links: %zu before, %zu after (%lld links added)\n",
                  low_before, low_after, (long long)added);
    assert_true(low_before >= n / 50); /* the data exercises it */
    assert_true(low_after * 10 <= low_before);
    /* No link removed: each old list is a prefix of the new one (the repair
     * only fills free slots), on every level. */
    for (size_t i = 0; i < nlinks; i++)
        if (old[i] >= 0) assert_int_equal(g.neighbors[i], old[i]);
    assert_int_equal(faiss_ragd_hnsw_repair(idx, 8, 0, &added), 0);
    assert_int_equal(added, 0);
    free(before);
    free(after);
    free(old);
    faiss_Index_free(idx);
    free(x);
}

/* ragd's construction finds at least what FAISS's does, both metrics. */
static void test_ragd_build_recall(void **state)
{
    (void)state;
    double faiss_ip = check_recall_with(FAISS_ADD, METRIC_INNER_PRODUCT, 32, 0.90);
    double ragd_ip = check_recall_with(RAGD_ADD_REPAIR, METRIC_INNER_PRODUCT, 32, 0.90);
    assert_true(ragd_ip >= faiss_ip);
    check_recall_with(RAGD_ADD_REPAIR, METRIC_L2, 64, 0.97);
}

/* Other index types are left to FAISS's add (return 1, untouched); a FAISS
 * error is a negative code with FAISS's message. */
static void test_ragd_add_other_indexes(void **state)
{
    (void)state;
    float *x = clustered(10, 3);
    int64_t ids[10] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    const char *others[] = {"IDMap,Flat", "Flat", "HNSW16,SQ8"};
    for (size_t i = 0; i < sizeof others / sizeof *others; i++) {
        FaissIndex *idx = NULL;
        assert_int_equal(faiss_index_factory(&idx, DIM, others[i], METRIC_INNER_PRODUCT), 0);
        assert_int_equal(faiss_ragd_hnsw_add_with_ids(idx, 10, x, ids), 1);
        assert_int_equal(faiss_ragd_hnsw_repair(idx, 8, 0, NULL), 1);
        assert_int_equal(faiss_Index_ntotal(idx), 0);
        faiss_Index_free(idx);
    }
    FaissIndex *idx = NULL;
    assert_int_equal(faiss_index_factory(&idx, DIM, "IDMap,HNSW16", METRIC_INNER_PRODUCT), 0);
    assert_int_equal(faiss_ragd_hnsw_add_with_ids(idx, 10, x, NULL), 1); /* IDMap needs ids */
    assert_true(faiss_ragd_hnsw_add_with_ids(idx, -1, x, ids) < 0);
    assert_non_null(faiss_get_last_error());
    assert_int_equal(faiss_Index_ntotal(idx), 0);
    faiss_Index_free(idx);
    FaissIndex *bare = NULL;
    assert_int_equal(faiss_index_factory(&bare, DIM, "HNSW16", METRIC_L2), 0);
    assert_int_equal(faiss_ragd_hnsw_add_with_ids(bare, 10, x, NULL), 0);
    assert_int_equal(faiss_Index_ntotal(bare), 10);
    faiss_Index_free(bare);
    free(x);
}

int main(void)
{
    omp_set_num_threads(1); /* a deterministic FAISS build */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_inner_product_recall),
        cmocka_unit_test(test_l2_recall),
        cmocka_unit_test(test_stored_vector_finds_itself),
        cmocka_unit_test(test_edges),
        cmocka_unit_test(test_other_indexes_have_no_view),
        cmocka_unit_test(test_ragd_add_contract),
        cmocka_unit_test(test_ragd_add_level0_rule),
        cmocka_unit_test(test_repair),
        cmocka_unit_test(test_ragd_build_recall),
        cmocka_unit_test(test_ragd_add_other_indexes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
    /* Built against a FAISS without ragd's graph view: nothing to test. */
    return 0;
}

#endif
