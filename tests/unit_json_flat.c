/* tests/unit_json_flat.c — json_flat_parse against jansson: whatever it
 * accepts, jansson parses to the same object; what it declines is named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json_flat.h"

/* jf holds exactly the object jansson parses from s[0..n): the same keys
 * with the same values, nothing else. */
static void expect_same_as_jansson(const json_flat *jf, const char *s, size_t n)
{
    json_error_t je;
    json_t *o = json_loadb(s, n, 0, &je);
    if (!o) fprintf(stderr, "jansson rejects what json_flat took: %.*s (%s)\n", (int)n, s, je.text);
    assert_non_null(o);
    assert_true(json_is_object(o));
    assert_int_equal(json_object_size(o), jf->n);
    for (size_t i = 0; i < jf->n; i++) {
        const json_flat_field *f = &jf->f[i];
        assert_int_equal(strlen(f->key), f->key_len);
        assert_int_equal(strlen(f->val), f->val_len);
        json_t *v = json_object_getn(o, f->key, f->key_len);
        assert_non_null(v);
        assert_true(json_is_string(v));
        assert_int_equal(json_string_length(v), f->val_len);
        assert_memory_equal(json_string_value(v), f->val, f->val_len);
    }
    json_decref(o);
}

static void test_accepts_flat_string_objects(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "{\"_id\": \"4983\", \"title\": \"Micro.\", \"text\": \"Alterations of the brain.\"}",
        "{}",
        "  { }  \n",
        "\r\n\t{\"a\":\"\"}\r\n",
        "{\"q\": \"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"}",
        "{\"caf\xC3\xA9\": \"\xE2\x80\x99 \xF0\x9F\x98\x80 \xE6\xA3\x80\"}",
        "{\"_id\":\"1\",\"text\":\"x\",\"source\":\"pubmed\",\"year\":\"2001\"}",
    };
    json_flat jf = JSON_FLAT_INIT;
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        size_t n = strlen(lines[i]);
        if (!json_flat_parse(&jf, lines[i], n)) fprintf(stderr, "declined: %s\n", lines[i]);
        assert_true(json_flat_parse(&jf, lines[i], n));
        expect_same_as_jansson(&jf, lines[i], n);
    }
    assert_true(json_flat_parse(&jf, lines[0], strlen(lines[0])));
    assert_string_equal(json_flat_get(&jf, "_id")->val, "4983");
    assert_string_equal(json_flat_get(&jf, "text")->val, "Alterations of the brain.");
    assert_null(json_flat_get(&jf, "metadata"));
    json_flat_free(&jf);
    json_flat_free(&jf); /* twice is fine */
}

/* Everything outside the flat shape is declined, valid JSON or not, and
 * left to jansson. */
static void test_declines_the_rest(void **state)
{
    (void)state;
    static const char *const lines[] = {
        "",
        "   ",
        "[1, 2]",
        "\"just a string\"",
        "{\"a\": 1}",
        "{\"a\": null}",
        "{\"a\": true}",
        "{\"a\": {\"b\": \"c\"}}",
        "{\"a\": [\"b\"]}",
        "{\"a\": \"\\u00e9\"}",         /* \u: jansson decodes it */
        "{\"a\": \"\\u0000\"}",         /* jansson rejects it */
        "{\"a\": \"b\", \"a\": \"c\"}", /* duplicates: jansson keeps the last */
        "{\"a\": \"b\x01\"}",           /* control byte */
        "{\"a\": \"b\tc\"}",            /* a raw tab is a control byte too */
        "{\"a\": \"\xFF\"}",
        "{\"a\": \"\xC0\xAF\"}",         /* overlong */
        "{\"a\": \"\xED\xA0\x80\"}",     /* surrogate */
        "{\"a\": \"\xF4\x90\x80\x80\"}", /* past U+10FFFF */
        "{\"a\": \"\xE2\x80\"}",         /* truncated */
        "{\"a\": \"\\x\"}",
        "{\"a\": \"b\"} x",
        "{\"a\": \"b\"}{}",
        "{\"a\": \"b\",}",
        "{\"a\" \"b\"}",
        "{\"a\": \"b\"",
        "{\"a\": \"b",
        "{a: \"b\"}",
        "\xEF\xBB\xBF{}", /* a BOM */
    };
    json_flat jf = JSON_FLAT_INIT;
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        if (json_flat_parse(&jf, lines[i], strlen(lines[i])))
            fprintf(stderr, "accepted: %s\n", lines[i]);
        assert_false(json_flat_parse(&jf, lines[i], strlen(lines[i])));
    }
    /* More fields than it takes: jansson's (its keys are hashed). */
    char many[4096];
    size_t n = (size_t)snprintf(many, sizeof many, "{");
    for (int k = 0; k < 65; k++)
        n += (size_t)snprintf(many + n, sizeof many - n, "%s\"k%d\":\"v\"", k ? "," : "", k);
    snprintf(many + n, sizeof many - n, "}");
    assert_false(json_flat_parse(&jf, many, strlen(many)));
    many[strlen(many) - 1] = '\0'; /* 64 fields: taken */
    char *cut = strrchr(many, ',');
    *cut = '}';
    cut[1] = '\0';
    assert_true(json_flat_parse(&jf, many, strlen(many)));
    assert_int_equal(jf.n, 64);
    /* A NUL byte inside: counted bytes, not a C string. */
    static const char nul[] = "{\"a\": \"b\0c\"}";
    assert_false(json_flat_parse(&jf, nul, sizeof nul - 1));
    json_flat_free(&jf);
}

/* A random line: mostly a flat object built from pieces (keys and string
 * contents, valid and not, blanks between tokens), sometimes with a random
 * piece dropped in anywhere. Returns its length. */
static uint64_t rnd(uint64_t *seed)
{
    *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
    return *seed >> 33;
}

static size_t random_line(uint64_t *seed, char *line, size_t cap)
{
    static const char *const KEYS[] = {"_id", "text", "title", "k", "caf\xC3\xA9", ""};
    static const char *const CONTENT[] = {
        "a",
        "bc d",
        "\\\"",
        "\\\\",
        "\\/",
        "\\n",
        "\\t",
        "\\b",
        "\\u00e9",
        "\\x",
        "\xC3\xA9",
        "\xE2\x80\x99",
        "\xF0\x9F\x98\x80",
        "\xFF",
        "\xC0\xAF",
        "\xED\xA0\x80",
        "\x01",
        "\t",
        "1.5",
        "{",
        "}",
    };
    static const char *const BLANKS[] = {"", "", " ", "\n", "\t", "\r", "  "};
    static const char *const NOISE[] = {"{", "}", "\"", ":", ",", "\\", "[", "1", "null", "x"};
#define PICK(a) a[rnd(seed) % (sizeof a / sizeof *a)]
    size_t n = 0;
#define PUT(str)                                                                                   \
    do {                                                                                           \
        const char *p_ = (str);                                                                    \
        size_t l_ = strlen(p_);                                                                    \
        if (n + l_ < cap) {                                                                        \
            memcpy(line + n, p_, l_);                                                              \
            n += l_;                                                                               \
        }                                                                                          \
    } while (0)
    PUT(PICK(BLANKS));
    PUT("{");
    size_t pairs = rnd(seed) % 5;
    for (size_t k = 0; k < pairs; k++) {
        PUT(PICK(BLANKS));
        PUT("\"");
        PUT(PICK(KEYS));
        PUT("\"");
        PUT(PICK(BLANKS));
        PUT(":");
        PUT(PICK(BLANKS));
        PUT("\"");
        size_t parts = rnd(seed) % 4;
        for (size_t c = 0; c < parts; c++)
            PUT(rnd(seed) % 3 ? "plain words" : PICK(CONTENT));
        PUT("\"");
        PUT(PICK(BLANKS));
        if (k + 1 < pairs) PUT(",");
    }
    PUT("}");
    PUT(PICK(BLANKS));
    if (rnd(seed) % 5 == 0 && n + 8 < cap) { /* a piece of noise anywhere */
        size_t at = rnd(seed) % (n + 1);
        const char *p = PICK(NOISE);
        size_t l = strlen(p);
        memmove(line + at + l, line + at, n - at);
        memcpy(line + at, p, l);
        n += l;
    }
#undef PUT
#undef PICK
    return n;
}

/* Random lines, valid and not: whatever json_flat accepts jansson parses
 * to the same object; and every line jansson parses to a flat object of
 * strings, without \u escapes or duplicate keys, json_flat accepts. */
static void test_random_lines_agree_with_jansson(void **state)
{
    (void)state;
    char line[512];
    uint64_t seed = 0xF1A7;
    json_flat jf = JSON_FLAT_INIT;
    size_t accepted = 0, declined_valid = 0;
    for (int t = 0; t < 100000; t++) {
        size_t n = random_line(&seed, line, sizeof line);
        if (json_flat_parse(&jf, line, n)) {
            accepted++;
            expect_same_as_jansson(&jf, line, n);
            continue;
        }
        json_error_t je;
        json_t *o = json_loadb(line, n, 0, &je);
        if (!o) continue;
        bool flat = json_is_object(o), escaped = false;
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) flat = flat && json_is_string(v);
        for (size_t i = 0; i + 1 < n; i++)
            if (line[i] == '\\' && line[i + 1] == 'u') escaped = true;
        /* Duplicate keys (jansson keeps one): more pairs (colons outside
         * strings) than members. */
        size_t pairs = 0;
        for (size_t i = 0, in = 0; i < n; i++) {
            if (in && line[i] == '\\')
                i++;
            else if (line[i] == '"')
                in = !in;
            else if (!in && line[i] == ':')
                pairs++;
        }
        bool dup = pairs != json_object_size(o);
        if (flat && !escaped && !dup) fprintf(stderr, "declined a flat line: %.*s\n", (int)n, line);
        assert_false(flat && !escaped && !dup);
        declined_valid++;
        json_decref(o);
    }
    /* The generator reaches both sides. */
    if (accepted < 10000 || declined_valid < 1000)
        fprintf(stderr, "accepted %zu, declined valid %zu\n", accepted, declined_valid);
    assert_true(accepted >= 10000);
    assert_true(declined_valid >= 1000);
    json_flat_free(&jf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accepts_flat_string_objects),
        cmocka_unit_test(test_declines_the_rest),
        cmocka_unit_test(test_random_lines_agree_with_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
