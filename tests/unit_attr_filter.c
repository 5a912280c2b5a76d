/* tests/unit_attr_filter.c — typed attribute filters (retrieve/attr_filter.c):
 * every comparison, typed (numbers as numbers, no coercion), absent
 * attributes, compound and/or, and malformed filters rejected with the
 * field named. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "retrieve/attr_filter.h"

static const char *ATTRS = "{\"year\":2024,\"score\":9.5,\"lang\":\"en\",\"draft\":false,"
                           "\"date\":\"2024-03-01\",\"n\":\"10\"}";

static bool match(const char *filter)
{
    json_error_t je;
    json_t *f = json_loads(filter, 0, &je);
    if (!f) fprintf(stderr, "bad test filter %s: %s\n", filter, je.text);
    assert_non_null(f);
    ragd_error err;
    if (attr_filter_check(f, "filters", &err)) fprintf(stderr, "%s: %s\n", filter, err.msg);
    assert_int_equal(attr_filter_check(f, "filters", &err), RAGD_OK);
    bool m = attr_filter_match_text(f, ATTRS);
    json_decref(f);
    return m;
}

static void test_comparisons(void **state)
{
    (void)state;
    assert_true(match("{\"type\":\"eq\",\"key\":\"lang\",\"value\":\"en\"}"));
    assert_false(match("{\"type\":\"eq\",\"key\":\"lang\",\"value\":\"fr\"}"));
    assert_true(match("{\"type\":\"ne\",\"key\":\"lang\",\"value\":\"fr\"}"));
    assert_true(match("{\"type\":\"eq\",\"key\":\"year\",\"value\":2024.0}"));
    assert_true(match("{\"type\":\"gt\",\"key\":\"year\",\"value\":2023}"));
    assert_false(match("{\"type\":\"gt\",\"key\":\"year\",\"value\":2024}"));
    assert_true(match("{\"type\":\"gte\",\"key\":\"year\",\"value\":2024}"));
    assert_true(match("{\"type\":\"lt\",\"key\":\"score\",\"value\":10}"));
    assert_true(match("{\"type\":\"lte\",\"key\":\"score\",\"value\":9.5}"));
    assert_false(match("{\"type\":\"lt\",\"key\":\"score\",\"value\":9.5}"));
    assert_true(match("{\"type\":\"eq\",\"key\":\"draft\",\"value\":false}"));
    assert_false(match("{\"type\":\"eq\",\"key\":\"draft\",\"value\":true}"));
    assert_true(match("{\"type\":\"in\",\"key\":\"lang\",\"value\":[\"de\",\"en\"]}"));
    assert_false(match("{\"type\":\"nin\",\"key\":\"lang\",\"value\":[\"de\",\"en\"]}"));
    assert_true(match("{\"type\":\"in\",\"key\":\"year\",\"value\":[2023,2024]}"));
    /* strings order by bytes: ISO dates compare as dates */
    assert_true(match("{\"type\":\"gte\",\"key\":\"date\",\"value\":\"2024-01-01\"}"));
    assert_false(match("{\"type\":\"gt\",\"key\":\"date\",\"value\":\"2024-12-31\"}"));
}

/* Numbers compare as numbers: 9 < 10 although "9" > "10" as text; and a
 * string attribute never equals or orders against a number. */
static void test_typed(void **state)
{
    (void)state;
    assert_true(match("{\"type\":\"lt\",\"key\":\"score\",\"value\":10}"));
    assert_false(match("{\"type\":\"eq\",\"key\":\"n\",\"value\":10}"));
    assert_false(match("{\"type\":\"gt\",\"key\":\"n\",\"value\":9}"));
    assert_true(match("{\"type\":\"eq\",\"key\":\"n\",\"value\":\"10\"}"));
    assert_false(match("{\"type\":\"eq\",\"key\":\"year\",\"value\":\"2024\"}"));
    assert_true(match("{\"type\":\"ne\",\"key\":\"year\",\"value\":\"2024\"}"));
}

static void test_absent(void **state)
{
    (void)state;
    assert_false(match("{\"type\":\"eq\",\"key\":\"missing\",\"value\":\"x\"}"));
    assert_false(match("{\"type\":\"lt\",\"key\":\"missing\",\"value\":1}"));
    assert_false(match("{\"type\":\"in\",\"key\":\"missing\",\"value\":[1]}"));
    assert_true(match("{\"type\":\"ne\",\"key\":\"missing\",\"value\":\"x\"}"));
    assert_true(match("{\"type\":\"nin\",\"key\":\"missing\",\"value\":[1]}"));
    /* no metadata at all */
    json_t *f = json_loads("{\"type\":\"eq\",\"key\":\"a\",\"value\":1}", 0, NULL);
    assert_false(attr_filter_match_text(f, NULL));
    assert_false(attr_filter_match_text(f, "not json"));
    assert_false(attr_filter_match(f, NULL));
    json_decref(f);
}

static void test_compound(void **state)
{
    (void)state;
    assert_true(match("{\"type\":\"and\",\"filters\":[{\"type\":\"eq\",\"key\":\"lang\","
                      "\"value\":\"en\"},{\"type\":\"gte\",\"key\":\"year\",\"value\":2024}]}"));
    assert_false(match("{\"type\":\"and\",\"filters\":[{\"type\":\"eq\",\"key\":\"lang\","
                       "\"value\":\"en\"},{\"type\":\"gt\",\"key\":\"year\",\"value\":2024}]}"));
    assert_true(match("{\"type\":\"or\",\"filters\":[{\"type\":\"eq\",\"key\":\"lang\","
                      "\"value\":\"fr\"},{\"type\":\"eq\",\"key\":\"draft\",\"value\":false}]}"));
    assert_false(match("{\"type\":\"or\",\"filters\":[{\"type\":\"eq\",\"key\":\"lang\","
                       "\"value\":\"fr\"},{\"type\":\"eq\",\"key\":\"draft\",\"value\":true}]}"));
    assert_true(match("{\"type\":\"or\",\"filters\":[{\"type\":\"and\",\"filters\":[{\"type\":"
                      "\"eq\",\"key\":\"lang\",\"value\":\"en\"},{\"type\":\"lt\",\"key\":"
                      "\"year\",\"value\":2000}]},{\"type\":\"in\",\"key\":\"year\",\"value\":"
                      "[2024]}]}"));
}

static void expect_bad(const char *filter, const char *field)
{
    json_t *f = json_loads(filter, 0, NULL);
    assert_non_null(f);
    ragd_error err;
    ragd_error_clear(&err);
    assert_int_equal(attr_filter_check(f, "filters", &err), RAGD_EINPUT);
    if (strcmp(err.field, field))
        fprintf(stderr, "%s: field '%s' not '%s'\n", filter, err.field, field);
    assert_string_equal(err.field, field);
    assert_true(strlen(err.msg) > 0);
    json_decref(f);
}

static void test_malformed(void **state)
{
    (void)state;
    expect_bad("[]", "filters");
    expect_bad("{}", "filters.type");
    expect_bad("{\"type\":\"like\",\"key\":\"a\",\"value\":1}", "filters.type");
    expect_bad("{\"type\":\"eq\",\"value\":1}", "filters.key");
    expect_bad("{\"type\":\"eq\",\"key\":\"\",\"value\":1}", "filters.key");
    expect_bad("{\"type\":\"eq\",\"key\":\"a\"}", "filters.value");
    expect_bad("{\"type\":\"eq\",\"key\":\"a\",\"value\":{}}", "filters.value");
    expect_bad("{\"type\":\"gt\",\"key\":\"a\",\"value\":true}", "filters.value");
    expect_bad("{\"type\":\"in\",\"key\":\"a\",\"value\":1}", "filters.value");
    expect_bad("{\"type\":\"in\",\"key\":\"a\",\"value\":[]}", "filters.value");
    expect_bad("{\"type\":\"in\",\"key\":\"a\",\"value\":[[1]]}", "filters.value");
    expect_bad("{\"type\":\"eq\",\"key\":\"a\",\"value\":1,\"extra\":2}", "filters.extra");
    expect_bad("{\"type\":\"and\"}", "filters.filters");
    expect_bad("{\"type\":\"and\",\"filters\":[]}", "filters.filters");
    expect_bad("{\"type\":\"or\",\"filters\":[{\"type\":\"eq\",\"key\":\"a\",\"value\":1},"
               "{\"type\":\"eq\",\"key\":\"a\"}]}",
               "filters.filters[1].value");
    /* depth and size bounds */
    char deep[2048] = "";
    for (int i = 0; i < 10; i++)
        strcat(deep, "{\"type\":\"and\",\"filters\":[");
    strcat(deep, "{\"type\":\"eq\",\"key\":\"a\",\"value\":1}");
    for (int i = 0; i < 10; i++)
        strcat(deep, "]}");
    json_t *f = json_loads(deep, 0, NULL);
    ragd_error err;
    assert_int_equal(attr_filter_check(f, "filters", &err), RAGD_EINPUT);
    assert_non_null(strstr(err.msg, "8 deep"));
    json_decref(f);
    json_t *wide = json_pack("{s:s,s:[]}", "type", "or", "filters");
    for (int i = 0; i < 70; i++)
        json_array_append_new(json_object_get(wide, "filters"),
                              json_pack("{s:s,s:s,s:i}", "type", "eq", "key", "a", "value", i));
    assert_int_equal(attr_filter_check(wide, "filters", &err), RAGD_EINPUT);
    assert_non_null(strstr(err.msg, "64"));
    json_decref(wide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_comparisons), cmocka_unit_test(test_typed),
        cmocka_unit_test(test_absent),      cmocka_unit_test(test_compound),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
