/* core/json.c — see json.h. */
#include "core/json.h"

#include <stdlib.h>

const char *ragd_json_str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long ragd_json_int(const json_t *o, const char *key)
{
    return (long long)json_integer_value(json_object_get(o, key));
}

double ragd_json_num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

void ragd_json_print(FILE *f, const json_t *j)
{
    char *s = json_dumps(j, RAGD_JSON_DUMP_FLAGS);
    if (!s) return;
    fputs(s, f);
    fputc('\n', f);
    free(s);
}

ragd_status ragd_json_parse_object(const char *buf, size_t n, json_t **out, ragd_error *err)
{
    json_error_t je;
    json_t *o = json_loadb(buf, n, 0, &je);
    if (!o)
        return ragd_error_set(err, RAGD_EINPUT, "invalid JSON at column %d: %s", je.column,
                              je.text);
    if (!json_is_object(o)) {
        json_decref(o);
        return ragd_error_set(err, RAGD_EINPUT, "expected a JSON object");
    }
    *out = o;
    return RAGD_OK;
}
