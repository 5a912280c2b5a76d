/* service/request.c — strict validation of request objects.
 *
 * Each operation declares its fields (name, JSON type, range); anything
 * else in the request is an error naming the field. Types are exact: a
 * string where a number belongs is RAGD_EINPUT (HTTP 400); a number outside
 * its range is RAGD_ERANGE (HTTP 422). Nothing is coerced.
 */
#include "service/request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/ingest.h"

ragd_status req_check_fields(const json_t *req, const req_field *fields, ragd_error *err)
{
    if (!json_is_object(req))
        return ragd_error_set(err, RAGD_EINPUT, "the request body must be a JSON object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)req, key, v)
    {
        const req_field *f = NULL;
        for (size_t i = 0; fields[i].name && !f; i++)
            if (!strcmp(fields[i].name, key)) f = &fields[i];
        if (!f) {
            ragd_buf names = RAGD_BUF_INIT;
            for (size_t i = 0; fields[i].name; i++)
                ragd_buf_printf(&names, "%s%s", i ? ", " : "", fields[i].name);
            ragd_status rc =
                ragd_error_set_field(err, RAGD_EINPUT, key, "unknown field '%.64s' (accepted: %s)",
                                     key, names.data ? names.data : "none");
            ragd_buf_free(&names);
            return rc;
        }
        bool ok = true;
        switch (f->type) {
        case REQ_STRING:
            ok = json_is_string(v);
            break;
        case REQ_INT:
            ok = json_is_integer(v);
            break;
        case REQ_NUMBER:
            ok = json_is_number(v);
            break;
        case REQ_BOOL:
            ok = json_is_boolean(v);
            break;
        case REQ_OBJECT:
            ok = json_is_object(v);
            break;
        case REQ_ARRAY:
            ok = json_is_array(v);
            break;
        case REQ_ANY:
            break;
        }
        static const char *const TYPE_NAMES[] = {
            "a string", "an integer", "a number", "true or false", "an object", "an array", ""};
        if (!ok)
            return ragd_error_set_field(err, RAGD_EINPUT, key, "'%s' must be %s", key,
                                        TYPE_NAMES[f->type]);
        if (f->type == REQ_INT || f->type == REQ_NUMBER) {
            double x = json_number_value(v);
            if (!isfinite(x) || x < f->min || x > f->max)
                return ragd_error_set_field(err, RAGD_ERANGE, key,
                                            "'%s' must be between %g and %g, not %g", key, f->min,
                                            f->max, x);
        }
        if (f->type == REQ_STRING) {
            size_t len = json_string_length(v);
            if (f->max > 0 && (double)len > f->max)
                return ragd_error_set_field(err, RAGD_ERANGE, key,
                                            "'%s' is %zu bytes long; at most %g are accepted", key,
                                            len, f->max);
            if (f->min > 0 && (double)len < f->min)
                return ragd_error_set_field(err, RAGD_ERANGE, key, "'%s' must not be empty", key);
        }
    }
    for (size_t i = 0; fields[i].name; i++)
        if (fields[i].required && !json_object_get(req, fields[i].name))
            return ragd_error_set_field(err, RAGD_EINPUT, fields[i].name,
                                        "missing required field '%s'", fields[i].name);
    return RAGD_OK;
}

const char *req_str(const json_t *req, const char *name, const char *dflt)
{
    const char *s = json_string_value(json_object_get(req, name));
    return s ? s : dflt;
}

ragd_status req_one_of(const json_t *req, const char *name, const char *const *allowed,
                       ragd_error *err)
{
    const char *v = json_string_value(json_object_get(req, name));
    if (!v) return RAGD_OK;
    ragd_buf names = RAGD_BUF_INIT;
    for (size_t i = 0; allowed[i]; i++) {
        if (!strcmp(allowed[i], v)) {
            ragd_buf_free(&names);
            return RAGD_OK;
        }
        ragd_buf_printf(&names, "%s%s", i ? ", " : "", allowed[i]);
    }
    ragd_status rc = ragd_error_set_field(err, RAGD_ERANGE, name, "unknown %s '%.64s' (%s)", name,
                                          v, names.data);
    ragd_buf_free(&names);
    return rc;
}

/* The fields of search, context and answer requests. */
static const req_field QUERY_FIELDS[] = {{"collection", REQ_STRING, 1, 64, false},
                                         {"query", REQ_STRING, 1, RAGD_MAX_QUERY_BYTES, true},
                                         {"k", REQ_INT, 1, RAGD_MAX_K, false},
                                         {"mode", REQ_STRING, 0, 0, false},
                                         {"filter", REQ_OBJECT, 0, 0, false},
                                         {"fusion", REQ_STRING, 0, 0, false},
                                         {"rrf_k", REQ_NUMBER, 1, 100000, false},
                                         {"w_lexical", REQ_NUMBER, 0.01, 100, false},
                                         {"w_dense", REQ_NUMBER, 0.01, 100, false},
                                         {"min_evidence", REQ_NUMBER, 0, 10, false},
                                         {"min_support", REQ_NUMBER, 0, 10, false},
                                         {"cosine_floor", REQ_NUMBER, 0, 1, false},
                                         {"mmr", REQ_NUMBER, 0, 1, false},
                                         {"rerank_depth", REQ_INT, 1, 1000, false},
                                         {"min_rerank", REQ_NUMBER, -1e9, 1e9, false},
                                         {"budget", REQ_INT, 50, 200000, false},
                                         {"stream", REQ_BOOL, 0, 0, false},
                                         {"request_id", REQ_STRING, 1, 64, false},
                                         {"embedder", REQ_STRING, 1, 16, false},
                                         {"embedder_model", REQ_STRING, 1, 127, false},
                                         {NULL, 0, 0, 0, false}};

static double num_or(const json_t *req, const char *name, double dflt)
{
    json_t *v = json_object_get(req, name);
    return json_is_number(v) ? json_number_value(v) : dflt;
}

void query_req_free(query_req *q)
{
    for (size_t i = 0; i < q->nfilters; i++)
        free(q->filters[i]);
    free(q->filters);
    memset(q, 0, sizeof *q);
}

ragd_status query_req_parse(const json_t *req, query_kind kind, query_req *q, ragd_error *err)
{
    memset(q, 0, sizeof *q);
    search_opts_init(&q->so);
    ragd_status rc = req_check_fields(req, QUERY_FIELDS, err);
    if (rc) return rc;
    if (kind == QUERY_SEARCH && json_object_get(req, "budget"))
        return ragd_error_set_field(err, RAGD_EINPUT, "budget",
                                    "'budget' applies to context and answer, not search");
    if (kind != QUERY_ANSWER && json_object_get(req, "stream"))
        return ragd_error_set_field(err, RAGD_EINPUT, "stream", "'stream' applies to answer only");
    if (kind != QUERY_ANSWER && json_object_get(req, "request_id"))
        return ragd_error_set_field(err, RAGD_EINPUT, "request_id",
                                    "'request_id' applies to answer only");
    const char *rid = req_str(req, "request_id", NULL);
    for (const char *p = rid; p && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              strchr("._:-", *p)))
            return ragd_error_set_field(err, RAGD_EINPUT, "request_id",
                                        "'request_id' may hold only letters, digits and ._:-");
    q->request_id = rid;
    static const char *const MODES[] = {"hybrid", "dense", "lexical", NULL};
    static const char *const FUSIONS[] = {"score", "rrf", NULL};
    if ((rc = req_one_of(req, "mode", MODES, err)) ||
        (rc = req_one_of(req, "fusion", FUSIONS, err)))
        return rc;
    q->collection = req_str(req, "collection", "default");
    q->query = req_str(req, "query", "");
    if (!text_utf8_check(q->query, strlen(q->query), NULL, NULL))
        return ragd_error_set_field(err, RAGD_EINPUT, "query", "'query' is not valid UTF-8");
    bool blank = true;
    for (const char *p = q->query; *p && blank; p++)
        blank = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
    if (blank) return ragd_error_set_field(err, RAGD_ERANGE, "query", "'query' is empty");
    q->so.k = (size_t)num_or(req, "k", 10);
    q->so.mode = req_str(req, "mode", NULL);
    q->so.fusion = req_str(req, "fusion", NULL);
    q->so.rrf_k = num_or(req, "rrf_k", 0);
    q->so.w_lexical = num_or(req, "w_lexical", 0);
    q->so.w_dense = num_or(req, "w_dense", 0);
    q->so.min_evidence = num_or(req, "min_evidence", -1);
    q->so.min_support = num_or(req, "min_support", -1);
    q->so.cosine_floor = num_or(req, "cosine_floor", -1);
    q->so.mmr_lambda = num_or(req, "mmr", -1);
    /* Sources for a prompt are diversified; a search ranking is not. */
    if (q->so.mmr_lambda < 0 && kind != QUERY_SEARCH)
        q->so.mmr_lambda = RETRIEVE_CONTEXT_MMR_LAMBDA;
    q->so.rerank_depth = (size_t)num_or(req, "rerank_depth", 0);
    json_t *mr = json_object_get(req, "min_rerank");
    if (mr) {
        q->so.min_rerank = json_number_value(mr);
        q->so.min_rerank_set = true;
    }
    q->budget = (size_t)num_or(req, "budget", 0);
    q->stream = json_is_true(json_object_get(req, "stream"));
    q->embedder = req_str(req, "embedder", NULL);
    q->embedder_model = req_str(req, "embedder_model", NULL);
    return filters_parse(json_object_get(req, "filter"), q, err);
}

ragd_status filters_parse(const json_t *filter, query_req *q, ragd_error *err)
{
    if (!filter) return RAGD_OK;
    size_t n = json_object_size(filter);
    if (n > 32) return ragd_error_set_field(err, RAGD_ERANGE, "filter", "at most 32 filter keys");
    q->filters = ragd_xcalloc(n ? n : 1, sizeof *q->filters);
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)filter, key, v)
    {
        char field[RAGD_ERROR_FIELD_MAX];
        snprintf(field, sizeof field, "filter.%s", key);
        if (!json_is_string(v))
            return ragd_error_set_field(err, RAGD_EINPUT, field,
                                        "filter values must be strings ('%.48s')", key);
        ragd_buf kv = RAGD_BUF_INIT;
        ragd_buf_printf(&kv, "%s=%s", key, json_string_value(v));
        q->filters[q->nfilters++] = ragd_buf_steal(&kv);
        const char *one = q->filters[q->nfilters - 1];
        ragd_error me;
        if (ingest_kv_parse("filter", &one, 1, NULL, &me))
            return ragd_error_set_field(err, RAGD_EINPUT, field, "%s", me.msg);
    }
    q->so.filters = (const char *const *)q->filters;
    q->so.nfilters = q->nfilters;
    return RAGD_OK;
}
