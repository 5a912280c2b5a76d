/* tests/unit_eval.c — retrieval metrics on hand-computed cases (trec_eval
 * definitions: gain = grade, discount log2(rank+1), ideal DCG from qrels). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "retrieve/eval.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

static void test_ndcg_hand_computed(void **state)
{
    (void)state;
    /* Judged: d1 grade 2, d2 grade 1. Ranking d3 d1 d2. */
    eval_judgement j[] = {{"d1", 2}, {"d2", 1}};
    const char *r[] = {"d3", "d1", "d2"};
    double dcg = 2 / log2(3) + 1 / log2(4);
    double idcg = 2 / log2(2) + 1 / log2(3);
    NEAR(eval_ndcg(r, 3, j, 2, 10), dcg / idcg);
    /* Perfect ranking = 1. */
    const char *p[] = {"d1", "d2"};
    NEAR(eval_ndcg(p, 2, j, 2, 10), 1.0);
    /* Cut at 1: only d3 counted -> 0. */
    NEAR(eval_ndcg(r, 3, j, 2, 1), 0.0);
    /* Cut at 2: d1 at rank 2 against ideal d1 at rank 1, d2 at rank 2. */
    NEAR(eval_ndcg(r, 3, j, 2, 2), (2 / log2(3)) / (2 + 1 / log2(3)));
    /* No relevant judgement -> 0. */
    eval_judgement z[] = {{"d1", 0}};
    NEAR(eval_ndcg(r, 3, z, 1, 10), 0.0);
    /* Empty ranking. */
    NEAR(eval_ndcg(NULL, 0, j, 2, 10), 0.0);
}

static void test_ndcg_ideal_uses_qrels_not_ranking(void **state)
{
    (void)state;
    /* Three relevant documents, only one retrieved, at rank 1. */
    eval_judgement j[] = {{"a", 1}, {"b", 1}, {"c", 1}};
    const char *r[] = {"a", "x", "y"};
    NEAR(eval_ndcg(r, 3, j, 3, 10), 1.0 / (1 + 1 / log2(3) + 1 / log2(4)));
}

static void test_recall(void **state)
{
    (void)state;
    eval_judgement j[] = {{"a", 1}, {"b", 2}, {"c", 0}, {"d", 1}};
    const char *r[] = {"x", "a", "c", "b", "y"};
    NEAR(eval_recall(r, 5, j, 4, 100), 2.0 / 3.0); /* c has grade 0: not relevant */
    NEAR(eval_recall(r, 5, j, 4, 2), 1.0 / 3.0);
    NEAR(eval_recall(r, 5, j, 4, 1), 0.0);
}

static void test_mrr(void **state)
{
    (void)state;
    eval_judgement j[] = {{"a", 1}, {"b", 1}};
    const char *r[] = {"x", "y", "b", "a"};
    NEAR(eval_mrr(r, 4, j, 2, 10), 1.0 / 3.0);
    NEAR(eval_mrr(r, 4, j, 2, 2), 0.0);
    const char *first[] = {"a"};
    NEAR(eval_mrr(first, 1, j, 2, 10), 1.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ndcg_hand_computed),
        cmocka_unit_test(test_ndcg_ideal_uses_qrels_not_ranking),
        cmocka_unit_test(test_recall),
        cmocka_unit_test(test_mrr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
