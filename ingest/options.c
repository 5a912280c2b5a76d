/* ingest/options.c — KEY=VALUE options and user metadata.
 *
 * ingest_kv_parse checks and collects KEY=VALUE arguments (--meta and the
 * like) into a JSON object; ingest_meta_parse is it for --meta. The run's
 * --meta is merged over a document's own metadata (a JSONL record's extra
 * fields) by ingest_meta_merge, the user's keys winning. Pure functions
 * over their arguments: safe on any thread.
 */
#include <string.h>

#include "ingest/pipeline_internal.h"

/* The document metadata for base_json (a JSONL record's extra fields, or
 * NULL) with meta (the run's --meta) merged over it; NULL when meta is NULL
 * (then base_json applies unchanged). Malloc'd JSON text, the caller's. */
/* jansson's reference counts are atomic (JSON_HAVE_ATOMIC_BUILTINS), so
 * json_object_update may share meta's values with workers doing the same. */
char *ingest_meta_merge(const json_t *meta, const char *base_json)
{
    if (!meta) return NULL;
    json_t *o = base_json ? json_loads(base_json, 0, NULL) : NULL;
    if (!json_is_object(o)) {
        json_decref(o);
        o = json_object();
    }
    json_object_update(o, (json_t *)meta);
    char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    return s;
}

ragd_status ingest_meta_parse(const char *const *kv, size_t n, json_t **out, ragd_error *err)
{
    return ingest_kv_parse("--meta", kv, n, out, err);
}

/* An option's name without its leading dashes, as an error field. */
static const char *opt_field(const char *opt)
{
    while (*opt == '-')
        opt++;
    return opt;
}

ragd_status ingest_kv_parse(const char *opt, const char *const *kv, size_t n, json_t **out,
                            ragd_error *err)
{
    if (out) *out = NULL;
    json_t *o = json_object();
    for (size_t i = 0; i < n; i++) {
        const char *a = kv[i] ? kv[i] : "";
        const char *eq = strchr(a, '=');
        size_t klen = eq ? (size_t)(eq - a) : 0;
        bool ok = eq && klen >= 1 && klen <= 64;
        for (size_t j = 0; ok && j < klen; j++) {
            char c = a[j];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '.' || c == '-';
        }
        if (!ok) {
            json_decref(o);
            return ragd_error_set_field(err, RAGD_EUSAGE, opt_field(opt),
                                        "%s '%s': expected KEY=VALUE with KEY of 1-64 characters "
                                        "from A-Z a-z 0-9 _ . -",
                                        opt, a);
        }
        json_t *v = json_string(eq + 1);
        if (!v) {
            json_decref(o);
            return ragd_error_set_field(err, RAGD_EUSAGE, opt_field(opt),
                                        "%s '%s': the value is not UTF-8 text", opt, a);
        }
        char key[65];
        memcpy(key, a, klen);
        key[klen] = '\0';
        json_object_set_new(o, key, v);
    }
    if (out)
        *out = o;
    else
        json_decref(o);
    return RAGD_OK;
}
