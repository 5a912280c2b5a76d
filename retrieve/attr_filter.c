/* retrieve/attr_filter.c — checking and evaluating attribute filters (see
 * attr_filter.h). Evaluation is a recursive walk over the checked filter;
 * checking bounds its depth and size first, so the walk is bounded too. */
#include "retrieve/attr_filter.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const CMP[] = {"eq", "ne", "gt", "gte", "lt", "lte", "in", "nin", NULL};

static int cmp_index(const char *t)
{
    for (int i = 0; t && CMP[i]; i++)
        if (!strcmp(CMP[i], t)) return i;
    return -1;
}

static bool scalar(const json_t *v)
{
    return json_is_string(v) || json_is_number(v) || json_is_boolean(v);
}

static ragd_status bad(ragd_error *err, const char *field, const char *sub, const char *msg)
{
    char f[RAGD_ERROR_FIELD_MAX * 2];
    snprintf(f, sizeof f, "%s%s%s", field, *sub ? "." : "", sub);
    return ragd_error_set_field(err, RAGD_EINPUT, f, "'%s': %s", f, msg);
}

static ragd_status check(const json_t *f, const char *field, int depth, int *nodes, ragd_error *err)
{
    if (!json_is_object(f)) return bad(err, field, "", "a filter must be an object");
    if (++*nodes > ATTR_FILTER_MAX_NODES)
        return bad(err, field, "", "the filter has more than 64 comparisons and groups");
    if (depth > ATTR_FILTER_MAX_DEPTH) return bad(err, field, "", "filters nest at most 8 deep");
    const char *type = json_string_value(json_object_get(f, "type"));
    if (!type)
        return bad(err, field, "type", "must be one of eq, ne, gt, gte, lt, lte, in, nin, and, or");
    const char *k;
    json_t *v;
    if (!strcmp(type, "and") || !strcmp(type, "or")) {
        json_object_foreach((json_t *)f, k, v)
        {
            if (strcmp(k, "type") && strcmp(k, "filters"))
                return bad(err, field, k, "unknown field in a compound filter (type, filters)");
        }
        json_t *fs = json_object_get(f, "filters");
        if (!json_is_array(fs) || !json_array_size(fs))
            return bad(err, field, "filters", "must be a non-empty array of filters");
        size_t i;
        json_array_foreach(fs, i, v)
        {
            char sub[RAGD_ERROR_FIELD_MAX * 2];
            snprintf(sub, sizeof sub, "%s.filters[%zu]", field, i);
            ragd_status rc = check(v, sub, depth + 1, nodes, err);
            if (rc) return rc;
        }
        return RAGD_OK;
    }
    int op = cmp_index(type);
    if (op < 0)
        return bad(err, field, "type", "must be one of eq, ne, gt, gte, lt, lte, in, nin, and, or");
    json_object_foreach((json_t *)f, k, v)
    {
        if (strcmp(k, "type") && strcmp(k, "key") && strcmp(k, "value"))
            return bad(err, field, k, "unknown field in a comparison filter (type, key, value)");
    }
    const json_t *key = json_object_get(f, "key");
    if (!json_is_string(key) || !json_string_length(key) || json_string_length(key) > 64)
        return bad(err, field, "key", "must be an attribute name (1 to 64 bytes)");
    const json_t *val = json_object_get(f, "value");
    if (op >= 6) {
        if (!json_is_array(val) || !json_array_size(val) ||
            json_array_size(val) > ATTR_FILTER_MAX_VALUES)
            return bad(err, field, "value", "'in' and 'nin' take an array of 1 to 100 values");
        size_t i;
        json_array_foreach(val, i, v)
        {
            if (!scalar(v))
                return bad(err, field, "value", "values must be strings, numbers or booleans");
        }
    } else if (op >= 2) {
        if (!json_is_number(val) && !json_is_string(val))
            return bad(err, field, "value", "gt, gte, lt and lte compare numbers or strings");
    } else if (!scalar(val)) {
        return bad(err, field, "value", "must be a string, a number or a boolean");
    }
    return RAGD_OK;
}

ragd_status attr_filter_check(const json_t *f, const char *field, ragd_error *err)
{
    int nodes = 0;
    return check(f, field ? field : "filters", 0, &nodes, err);
}

/* -1, 0, 1 for a < b, a == b, a > b; 2 when they do not compare (types). */
static int compare(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        int c = strcmp(json_string_value(a), json_string_value(b));
        return c < 0 ? -1 : c > 0 ? 1 : 0;
    }
    if (json_is_boolean(a) && json_is_boolean(b)) return json_is_true(a) == json_is_true(b) ? 0 : 2;
    return 2;
}

static bool in_list(const json_t *attr, const json_t *list)
{
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        if (compare(attr, v) == 0) return true;
    }
    return false;
}

bool attr_filter_match(const json_t *f, const json_t *attrs)
{
    const char *type = json_string_value(json_object_get(f, "type"));
    if (!type) return false;
    bool and = !strcmp(type, "and");
    if (and || !strcmp(type, "or")) {
        size_t i;
        json_t *sub;
        json_array_foreach(json_object_get(f, "filters"), i, sub)
        {
            bool m = attr_filter_match(sub, attrs);
            if (and&&!m) return false;
            if (!and&&m) return true;
        }
        return and;
    }
    const json_t *a = json_object_get(attrs, json_string_value(json_object_get(f, "key")));
    const json_t *v = json_object_get(f, "value");
    if (a && json_is_null(a)) a = NULL;
    int c = a ? compare(a, v) : 2;
    switch (cmp_index(type)) {
    case 0:
        return c == 0;
    case 1:
        return c != 0;
    case 2:
        return c == 1;
    case 3:
        return c == 0 || c == 1;
    case 4:
        return c == -1;
    case 5:
        return c == 0 || c == -1;
    case 6:
        return a && in_list(a, v);
    case 7:
        return !a || !in_list(a, v);
    default:
        return false;
    }
}

bool attr_filter_match_text(const json_t *f, const char *metadata_json)
{
    json_t *m = metadata_json ? json_loads(metadata_json, 0, NULL) : NULL;
    bool ok = attr_filter_match(f, json_is_object(m) ? m : NULL);
    json_decref(m);
    return ok;
}
