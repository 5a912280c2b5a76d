/* tests/unit_core.c — byte buffers, errors, hashing. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/hash.h"
#include "core/hmap.h"
#include "core/json.h"

/* Regression: reserving without appending left the buffer unterminated, so
 * stealing it gave a string with no NUL (found by ASan via text_space_cjk("")). */
static void test_buf_reserve_then_steal_is_empty_string(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_reserve(&b, 0);
    char *s = ragd_buf_steal(&b);
    assert_string_equal(s, "");
    free(s);
    ragd_buf_reserve(&b, 100);
    assert_string_equal(ragd_buf_str(&b), "");
    ragd_buf_free(&b);
}

static void test_buf_append_printf(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        ragd_buf_printf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    ragd_buf_reset(&b);
    assert_string_equal(ragd_buf_str(&b), "");
    ragd_buf_append(&b, "ab\0cd", 5);
    assert_int_equal(b.len, 5);
    ragd_buf_free(&b);
    assert_null(b.data);
}

static void test_error_set_prefix_and_codes(void **state)
{
    (void)state;
    ragd_error e;
    ragd_error_clear(&e);
    assert_int_equal(ragd_error_set(&e, RAGD_EINPUT, "bad %s", "thing"), RAGD_EINPUT);
    ragd_error_prefix(&e, "file '%s'", "x.txt");
    assert_string_equal(e.msg, "file 'x.txt': bad thing");
    char longs[2000];
    memset(longs, 'a', sizeof longs - 1);
    longs[sizeof longs - 1] = '\0';
    ragd_error_prefix(&e, "%s", longs); /* truncates, never overflows */
    assert_true(strlen(e.msg) < RAGD_ERROR_MAX);
    assert_int_equal(ragd_status_exit_code(RAGD_OK), 0);
    assert_int_equal(ragd_status_exit_code(RAGD_EINPUT), 1);
    assert_int_equal(ragd_status_exit_code(RAGD_EUSAGE), 2);
    assert_int_equal(ragd_status_exit_code(RAGD_EPROVIDER), 3);
    assert_int_equal(ragd_status_exit_code(RAGD_ESTORE), 1);
    assert_string_equal(ragd_status_name(RAGD_EPROVIDER), "provider");
    assert_int_equal(ragd_error_set(NULL, RAGD_EIO, "ignored"), RAGD_EIO);
}

static void test_sha256_known_vectors(void **state)
{
    (void)state;
    char hex[RAGD_SHA256_HEX];
    ragd_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    ragd_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* hmap with its key arena: keys of every size (a 3 MB one spans more than
 * the largest block), values and key pointers stable across growth, keys
 * that are prefixes of one another and embedded bytes of every value, and
 * a map emptied by hmap_free usable again. */
static void test_hmap_keys_in_arena(void **state)
{
    (void)state;
    hmap m = {0};
    enum { N = 20000 };
    char k[64];
    const char *k0 = NULL;
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < N; i++) {
            int n = snprintf(k, sizeof k, "key-%d-%.*s", i, i % 40,
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            bool added = false;
            int64_t *v = hmap_put(&m, k, (size_t)n, &added);
            assert_true(added);
            *v = i;
            if (i == 0) { /* where the first key sits: it must not move */
                for (size_t j = 0; j < m.cap; j++)
                    if (m.v[j].key) k0 = m.v[j].key;
            }
        }
        size_t big_n = 3u << 20;
        char *big = malloc(big_n);
        assert_non_null(big);
        for (size_t i = 0; i < big_n; i++)
            big[i] = (char)(1 + i % 255);
        *hmap_put(&m, big, big_n, NULL) = -1;
        *hmap_put(&m, big, big_n - 1, NULL) = -2; /* a prefix of the first */
        *hmap_put(&m, "", 0, NULL) = -3;
        assert_int_equal(m.n, N + 3);
        for (int i = 0; i < N; i++) {
            int n = snprintf(k, sizeof k, "key-%d-%.*s", i, i % 40,
                             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
            int64_t *v = hmap_get(&m, k, (size_t)n);
            assert_non_null(v);
            assert_int_equal(*v, i);
            bool added = true;
            assert_ptr_equal(hmap_put(&m, k, (size_t)n, &added), v);
            assert_false(added);
        }
        assert_int_equal(*hmap_get(&m, big, big_n), -1);
        assert_int_equal(*hmap_get(&m, big, big_n - 1), -2);
        assert_int_equal(*hmap_get(&m, "", 0), -3);
        assert_null(hmap_get(&m, big, big_n - 2));
        assert_null(hmap_get(&m, "key-1-", 6));
        /* Every stored key is its bytes and a NUL, wherever it sits. */
        size_t seen = 0;
        for (size_t i = 0; i < m.cap; i++) {
            if (!m.v[i].key) continue;
            seen++;
            assert_int_equal(m.v[i].key[m.v[i].klen], '\0');
            assert_ptr_equal(hmap_get(&m, m.v[i].key, m.v[i].klen), &m.v[i].val);
        }
        assert_int_equal(seen, N + 3);
        bool k0_found = false;
        for (size_t i = 0; i < m.cap; i++)
            k0_found |= m.v[i].key == k0;
        assert_true(k0_found);
        assert_string_equal(k0, "key-0-");
        free(big);
        hmap_free(&m);
        assert_null(m.v);
        assert_int_equal(m.n, 0);
        assert_null(hmap_get(&m, "key-1-x", 7));
    }
}

static void test_json_helpers(void **state)
{
    (void)state;
    json_t *o = json_pack("{s:s,s:i,s:f,s:n}", "s", "x", "i", 42, "f", 1.5, "null");
    assert_string_equal(ragd_json_str(o, "s"), "x");
    assert_string_equal(ragd_json_str(o, "missing"), ""); /* never NULL */
    assert_string_equal(ragd_json_str(o, "i"), "");
    assert_string_equal(ragd_json_str(NULL, "s"), "");
    assert_int_equal(ragd_json_int(o, "i"), 42);
    assert_int_equal(ragd_json_int(o, "missing"), 0);
    assert_true(ragd_json_num(o, "f") == 1.5);
    assert_true(ragd_json_num(o, "i") == 42.0);
    json_decref(o);
    ragd_error e;
    json_t *p = NULL;
    assert_int_equal(ragd_json_parse_object("{\"a\":1}", 7, &p, &e), RAGD_OK);
    assert_int_equal(ragd_json_int(p, "a"), 1);
    json_decref(p);
    assert_int_equal(ragd_json_parse_object("{\"a\":", 5, &p, &e), RAGD_EINPUT);
    assert_non_null(strstr(e.msg, "invalid JSON"));
    assert_int_equal(ragd_json_parse_object("[1]", 3, &p, &e), RAGD_EINPUT);
    assert_non_null(strstr(e.msg, "object"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf_reserve_then_steal_is_empty_string),
        cmocka_unit_test(test_buf_append_printf),
        cmocka_unit_test(test_error_set_prefix_and_codes),
        cmocka_unit_test(test_sha256_known_vectors),
        cmocka_unit_test(test_json_helpers),
        cmocka_unit_test(test_hmap_keys_in_arena),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
