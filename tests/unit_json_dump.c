/* tests/unit_json_dump.c — ragd_json_dumps_compact against json_dumps on
 * generated values: the same bytes, or NULL where json_dumps gives NULL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_dump.h"

static uint64_t rnd(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return *seed >> 33;
}

/* A string of random pieces: plain text, every character jansson escapes,
 * UTF-8 of each length, and (when allow_invalid) bytes that are not
 * UTF-8, which json_dumps refuses. */
static json_t *random_string(uint64_t *seed, bool allow_invalid)
{
    static const char *const PIECES[] = {"plain",
                                         " ",
                                         "\"",
                                         "\\",
                                         "/",
                                         "\b",
                                         "\f",
                                         "\n",
                                         "\r",
                                         "\t",
                                         "\x01",
                                         "\x1F",
                                         "\x7F",
                                         "\xC3\xA9",
                                         "\xE2\x80\x99",
                                         "\xF0\x9F\x98\x80",
                                         "\xE2\x80\xA8",
                                         ""};
    char buf[256];
    size_t n = 0, parts = rnd(seed) % 6;
    for (size_t k = 0; k < parts; k++) {
        const char *p = PIECES[rnd(seed) % (sizeof PIECES / sizeof *PIECES)];
        size_t l = strlen(p);
        memcpy(buf + n, p, l);
        n += l;
    }
    if (allow_invalid && rnd(seed) % 50 == 0) buf[n++] = (char)0xFF;
    return json_stringn_nocheck(buf, n);
}

static json_t *random_value(uint64_t *seed, int depth)
{
    switch (rnd(seed) % (depth > 3 ? 6 : 8)) {
    case 0:
        return random_string(seed, true);
    case 1: {
        static const json_int_t INTS[] = {
            0, 1, -1, 42, -9223372036854775807LL - 1, 9223372036854775807LL};
        return rnd(seed) % 2 ? json_integer(INTS[rnd(seed) % 6])
                             : json_integer((json_int_t)rnd(seed) - (1LL << 30));
    }
    case 2: {
        static const double REALS[] = {0.0,         -0.0,  1.0,  0.1,    1e-7,
                                       123456789.0, 1e300, -2.5, 1.0 / 3};
        return json_real(REALS[rnd(seed) % 9] * (rnd(seed) % 2 ? 1 : (double)rnd(seed)));
    }
    case 3:
        return json_true();
    case 4:
        return json_false();
    case 5:
        return json_null();
    case 6: {
        json_t *a = json_array();
        for (size_t i = 0, n = rnd(seed) % 5; i < n; i++)
            json_array_append_new(a, random_value(seed, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (size_t i = 0, n = rnd(seed) % 5; i < n; i++) {
            json_t *k = random_string(seed, false);
            json_object_set_new_nocheck(o, json_string_value(k), random_value(seed, depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

static void expect_same(const json_t *j, size_t flags)
{
    char *want = json_dumps(j, flags), *got = ragd_json_dumps_compact(j, flags);
    if (!want != !got || (want && strcmp(want, got)))
        fprintf(stderr, "json_dumps: %s\nours:       %s\n", want ? want : "NULL",
                got ? got : "NULL");
    assert_true(!want == !got);
    if (want) assert_string_equal(got, want);
    free(want);
    free(got);
}

static void test_same_bytes_as_json_dumps(void **state)
{
    (void)state;
    static const size_t FLAGS[] = {
        JSON_COMPACT | JSON_REAL_PRECISION(6), JSON_COMPACT, JSON_COMPACT | JSON_REAL_PRECISION(17),
        JSON_COMPACT | JSON_REAL_PRECISION(1),
        /* flags it does not take: json_dumps itself */
        JSON_COMPACT | JSON_SORT_KEYS, JSON_INDENT(2), JSON_COMPACT | JSON_ENSURE_ASCII,
        JSON_COMPACT | JSON_ESCAPE_SLASH, 0};
    uint64_t seed = 0xD0D0;
    size_t invalid = 0;
    for (int t = 0; t < 20000; t++) {
        json_t *j = rnd(&seed) % 2 ? json_object() : json_array();
        for (size_t i = 0, n = rnd(&seed) % 6; i < n; i++) {
            json_t *v = random_value(&seed, 0);
            if (json_is_object(j)) {
                json_t *k = random_string(&seed, false);
                json_object_set_new_nocheck(j, json_string_value(k), v);
                json_decref(k);
            } else {
                json_array_append_new(j, v);
            }
        }
        char *plain = json_dumps(j, JSON_COMPACT);
        invalid += plain == NULL;
        free(plain);
        expect_same(j, FLAGS[t % (sizeof FLAGS / sizeof *FLAGS)]);
        expect_same(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
        json_decref(j);
    }
    assert_true(invalid > 10); /* the refused strings were reached */
    /* A top level that is not an object or array: json_dumps' NULL. */
    json_t *s = json_string("x");
    expect_same(s, JSON_COMPACT);
    json_decref(s);
    expect_same(NULL, JSON_COMPACT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_bytes_as_json_dumps),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
