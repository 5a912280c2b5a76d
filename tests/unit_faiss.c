/* tests/unit_faiss.c — the FAISS C API as built by scripts/install-deps:
 * search results of flat indexes must equal brute force. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <faiss/c_api/AutoTune_c.h>
#include <faiss/c_api/Index_c.h>
#include <faiss/c_api/error_c.h>
#include <faiss/c_api/impl/AuxIndexStructures_c.h>
#include <faiss/c_api/index_factory_c.h>
#include <math.h>
#include <stdlib.h>

static uint64_t rng = 42;
static float frand(void)
{
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (float)((rng >> 33) & 0xFFFFFF) / (float)0x1000000 - 0.5f;
}

static void check_factory(const char *factory, FaissMetricType metric)
{
    enum { D = 48, N = 3000, Q = 25, K = 10 };
    float *xb = malloc(sizeof(float) * D * N), *xq = malloc(sizeof(float) * D * Q);
    idx_t *ids = malloc(sizeof(idx_t) * N);
    for (int i = 0; i < D * N; i++)
        xb[i] = frand();
    for (int i = 0; i < D * Q; i++)
        xq[i] = frand();
    for (int i = 0; i < N; i++)
        ids[i] = 1000 + 7 * i; /* non-contiguous ids */

    FaissIndex *idx = NULL;
    int rc = faiss_index_factory(&idx, D, factory, metric);
    if (rc) fail_msg("faiss_index_factory(%s): %s", factory, faiss_get_last_error());
    assert_int_equal(faiss_Index_add_with_ids(idx, N, xb, ids), 0);
    assert_int_equal(faiss_Index_ntotal(idx), N);

    float *dist = malloc(sizeof(float) * Q * K);
    idx_t *lab = malloc(sizeof(idx_t) * Q * K);
    assert_int_equal(faiss_Index_search(idx, Q, xq, K, dist, lab), 0);

    for (int q = 0; q < Q; q++) {
        /* Brute force: the best K by the metric. */
        float best[K];
        idx_t bid[K];
        for (int k = 0; k < K; k++)
            best[k] = metric == METRIC_INNER_PRODUCT ? -INFINITY : INFINITY, bid[k] = -1;
        for (int i = 0; i < N; i++) {
            float s = 0;
            for (int d = 0; d < D; d++) {
                float a = xq[q * D + d], b = xb[i * D + d];
                s += metric == METRIC_INNER_PRODUCT ? a * b : (a - b) * (a - b);
            }
            int better = metric == METRIC_INNER_PRODUCT ? s > best[K - 1] : s < best[K - 1];
            if (!better) continue;
            int p = K - 1;
            while (p > 0 && (metric == METRIC_INNER_PRODUCT ? s > best[p - 1] : s < best[p - 1])) {
                best[p] = best[p - 1];
                bid[p] = bid[p - 1];
                p--;
            }
            best[p] = s;
            bid[p] = ids[i];
        }
        for (int k = 0; k < K; k++) {
            assert_true(fabsf(dist[q * K + k] - best[k]) < 1e-3f);
            /* Ids may swap only between equal scores. */
            if (lab[q * K + k] != bid[k]) assert_true(fabsf(best[k] - dist[q * K + k]) < 1e-5f);
        }
    }

    /* remove_ids makes a vector disappear from results. */
    FaissIDSelectorRange *sel = NULL;
    assert_int_equal(faiss_IDSelectorRange_new(&sel, lab[0], lab[0] + 1), 0);
    size_t removed = 0;
    assert_int_equal(faiss_Index_remove_ids(idx, (FaissIDSelector *)sel, &removed), 0);
    assert_int_equal(removed, 1);
    idx_t gone = lab[0];
    assert_int_equal(faiss_Index_search(idx, 1, xq, K, dist, lab), 0);
    for (int k = 0; k < K; k++)
        assert_true(lab[k] != gone);
    faiss_IDSelectorRange_free(sel);

    faiss_Index_free(idx);
    free(xb);
    free(xq);
    free(ids);
    free(dist);
    free(lab);
}

static void test_flat_ip(void **state)
{
    (void)state;
    check_factory("IDMap,Flat", METRIC_INNER_PRODUCT);
}

static void test_flat_l2(void **state)
{
    (void)state;
    check_factory("IDMap,Flat", METRIC_L2);
}

static void test_bad_factory_is_an_error(void **state)
{
    (void)state;
    FaissIndex *idx = NULL;
    assert_int_not_equal(faiss_index_factory(&idx, 16, "NoSuchIndex", METRIC_L2), 0);
    assert_non_null(faiss_get_last_error());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_flat_ip),
        cmocka_unit_test(test_flat_l2),
        cmocka_unit_test(test_bad_factory_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
