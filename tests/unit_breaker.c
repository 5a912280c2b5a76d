/* tests/unit_breaker.c — the provider circuit breaker's state machine
 * (provider/breaker.h): closed -> open after N failed attempts in a row,
 * fail fast for the cool-down, one half-open probe, closed again on a
 * success; shared by threads. (tests/it_faults.py drives it through
 * `ragd serve` against a failing model server.) */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "provider/breaker.h"

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_opens_after_n_failures_and_probes_once(void **state)
{
    (void)state;
    provider_breakers *r = breakers_new(3, 0.2);
    provider_breaker *b = breakers_get(r, "http://x/v1/embeddings");
    assert_non_null(b);
    assert_ptr_equal(b, breakers_get(r, "http://x/v1/embeddings"));
    assert_ptr_not_equal(b, breakers_get(r, "http://y/v1/embeddings"));
    double w;
    int fails;
    /* A success in between resets the count. */
    for (int i = 0; i < 2; i++) {
        assert_true(breaker_allow(b, &w, &fails));
        breaker_report(b, false);
    }
    breaker_report(b, true);
    for (int i = 0; i < 2; i++) {
        assert_true(breaker_allow(b, &w, &fails));
        breaker_report(b, false);
    }
    assert_false(breaker_is_open(b, &w, &fails));
    assert_int_equal(breakers_retry_after(r), 0);
    breaker_report(b, false); /* the third in a row */
    assert_true(breaker_is_open(b, &w, &fails));
    assert_false(breaker_allow(b, &w, &fails));
    assert_int_equal(fails, 3);
    assert_true(w > 0 && w <= 0.2);
    assert_int_equal(breakers_retry_after(r), 1);
    /* Another endpoint is not affected. */
    assert_true(breaker_allow(breakers_get(r, "http://y/v1/embeddings"), &w, &fails));
    /* After the cool-down exactly one caller gets through: the probe. */
    sleep_ms(250);
    assert_true(breaker_allow(b, &w, &fails));
    assert_false(breaker_allow(b, &w, &fails));
    assert_true(breaker_is_open(b, &w, &fails));
    breaker_report(b, false); /* the probe failed: open again */
    assert_false(breaker_allow(b, &w, &fails));
    sleep_ms(250);
    assert_true(breaker_allow(b, &w, &fails));
    breaker_report(b, true); /* the probe succeeded: closed */
    assert_true(breaker_allow(b, &w, &fails));
    assert_true(breaker_allow(b, &w, &fails));
    assert_false(breaker_is_open(b, &w, &fails));
    assert_int_equal(breakers_retry_after(r), 0);
    breakers_free(r);
}

static void test_off_and_null(void **state)
{
    (void)state;
    provider_breakers *r = breakers_new(-1, 0);
    assert_null(breakers_get(r, "http://x"));
    assert_null(breakers_get(NULL, "http://x"));
    assert_true(breaker_allow(NULL, NULL, NULL));
    assert_false(breaker_is_open(NULL, NULL, NULL));
    breaker_report(NULL, false);
    assert_int_equal(breakers_retry_after(NULL), 0);
    breakers_free(r);
    breakers_free(NULL);
}

typedef struct {
    provider_breaker *b;
    long allowed;
} worker;

static void *hammer(void *p)
{
    worker *w = p;
    for (int i = 0; i < 20000; i++) {
        if (breaker_allow(w->b, NULL, NULL)) {
            w->allowed++;
            breaker_report(w->b, false);
        }
    }
    return NULL;
}

/* Eight threads failing at once: the breaker opens after the first few and
 * the rest are refused (under TSan: no race). */
static void test_shared_by_threads(void **state)
{
    (void)state;
    provider_breakers *r = breakers_new(5, 60);
    provider_breaker *b = breakers_get(r, "http://x/api/embed");
    pthread_t t[8];
    worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){b, 0};
        pthread_create(&t[i], NULL, hammer, &w[i]);
    }
    long total = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        total += w[i].allowed;
    }
    /* Each thread may have been past breaker_allow when it opened. */
    assert_true(total >= 5 && total <= 5 + 8);
    assert_true(breaker_is_open(b, NULL, NULL));
    breakers_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opens_after_n_failures_and_probes_once),
        cmocka_unit_test(test_off_and_null),
        cmocka_unit_test(test_shared_by_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
