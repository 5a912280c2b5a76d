/* service/ops_vstores.c — collections seen as OpenAI vector stores: the
 * store objects, the files attached to them, their search, and the list
 * of uploaded files (OpenAI's list shape and cursor paging).
 *
 * A vector store IS a collection (its id is the collection name); a row of
 * vector_stores adds the OpenAI name and metadata. Attaching a file
 * records it in_progress and ingests it as document <file_id> (by a
 * background job under ragd serve); the job records completed or failed
 * with last_error. Search runs the normal search pipeline (same
 * validation as /v1/search) with the typed attribute filter, and maps
 * its hits onto search result objects.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "retrieve/attr_filter.h"
#include "service/engine_internal.h"
#include "service/request.h"

/* --- list arguments ------------------------------------------------------------------ */

typedef struct {
    long limit;
    const char *after, *before; /* borrowed */
    bool asc;
} list_args;

static ragd_status parse_list_args(const json_t *args, long dflt, long max, bool dflt_asc,
                                   list_args *la, ragd_error *err)
{
    la->limit = dflt;
    la->after = req_str(args, "after", NULL);
    la->before = req_str(args, "before", NULL);
    la->asc = dflt_asc;
    const char *l = req_str(args, "limit", NULL);
    if (l) {
        char *end;
        la->limit = strtol(l, &end, 10);
        if (end == l || *end)
            return ragd_error_set_field(err, RAGD_EINPUT, "limit", "'limit' must be an integer");
        if (la->limit < 1 || la->limit > max)
            return ragd_error_set_field(err, RAGD_ERANGE, "limit",
                                        "'limit' must be 1 to %ld, not %ld", max, la->limit);
    }
    const char *o = req_str(args, "order", NULL);
    if (o && strcmp(o, "asc") && strcmp(o, "desc"))
        return ragd_error_set_field(err, RAGD_EINPUT, "order", "'order' must be asc or desc");
    if (o) la->asc = !strcmp(o, "asc");
    return RAGD_OK;
}

/* OpenAI's list object over an array already in order: the page after /
 * before the given ids. Takes ownership of all. */
static json_t *page_of(json_t *all, const list_args *la)
{
    size_t n = json_array_size(all), from = 0, to = n;
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(json_array_get(all, i), "id"));
        if (la->after && id && !strcmp(id, la->after)) from = i + 1;
        if (la->before && id && !strcmp(id, la->before)) to = i;
    }
    json_t *data = json_array();
    size_t i = from;
    for (; i < to && json_array_size(data) < (size_t)la->limit; i++)
        json_array_append(data, json_array_get(all, i));
    size_t m = json_array_size(data);
    json_t *first = m ? json_object_get(json_array_get(data, 0), "id") : NULL;
    json_t *last = m ? json_object_get(json_array_get(data, m - 1), "id") : NULL;
    json_t *out = json_pack("{s:s,s:o,s:O,s:O,s:b}", "object", "list", "data", data, "first_id",
                            first ? first : json_null(), "last_id", last ? last : json_null(),
                            "has_more", i < to);
    json_decref(all);
    return out;
}

static void reverse(json_t *arr)
{
    size_t n = json_array_size(arr);
    for (size_t i = 0; i < n / 2; i++) {
        json_t *a = json_incref(json_array_get(arr, i));
        json_array_set(arr, i, json_array_get(arr, n - 1 - i));
        json_array_set_new(arr, n - 1 - i, a);
    }
}

ragd_status ragd_files_list(ragd_engine *e, const ragd_principal *who, const json_t *args,
                            json_t **out, ragd_error *err)
{
    *out = NULL;
    list_args la;
    ragd_status rc = parse_list_args(args, 10000, 10000, false, &la, err);
    if (rc) return rc;
    json_t *all = NULL;
    if ((rc = engine_files_json(e, req_str(args, "purpose", NULL), &all, err))) return rc;
    for (size_t i = json_array_size(all); i-- > 0;)
        if (engine_file_public(who, json_array_get(all, i))) json_array_remove(all, i);
    if (la.asc) reverse(all);
    *out = page_of(all, &la);
    return RAGD_OK;
}

/* --- vector store objects ------------------------------------------------------------ */

/* The vector_store object of collection entry cj (a ragd_collections_list
 * entry) on store st. */
static ragd_status vstore_json(ragd_store *st, const json_t *cj, json_t **out, ragd_error *err)
{
    *out = NULL;
    const char *name = json_string_value(json_object_get(cj, "name"));
    ragd_collection c;
    ragd_status rc = store_collection_open(st, name, NULL, &c, err);
    json_t *row = NULL, *counts = NULL;
    if (!rc) rc = store_vstore_json(st, c.id, &row, err);
    if (!rc) rc = store_vsfile_counts(st, c.id, &counts, err);
    if (rc) {
        json_decref(row);
        return rc;
    }
    json_int_t created = json_integer_value(json_object_get(cj, "created_at"));
    json_t *bytes = json_object_get(cj, "bytes");
    bool busy = json_integer_value(json_object_get(counts, "in_progress")) > 0;
    json_t *md = row ? json_incref(json_object_get(row, "metadata")) : json_object();
    *out = json_pack("{s:s,s:s,s:I,s:O,s:I,s:o,s:s,s:n,s:n,s:I,s:o}", "id", name, "object",
                     "vector_store", "created_at", created, "name",
                     row ? json_object_get(row, "name") : json_object_get(cj, "name"),
                     "usage_bytes", (json_int_t)json_integer_value(bytes), "file_counts", counts,
                     "status", busy ? "in_progress" : "completed", "expires_after", "expires_at",
                     "last_active_at", created, "metadata", md);
    json_decref(row);
    return RAGD_OK;
}

ragd_status ragd_vstore_get(ragd_engine *e, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *cj = NULL;
    ragd_status rc = ragd_collection_get(e, id, &cj, err);
    if (rc == RAGD_ENOTFOUND)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "vector_store_id",
                                    "no vector store '%.64s'", id);
    if (rc) return rc;
    engine_slot *s;
    if (!(rc = engine_slot_acquire(e, &s, err))) {
        rc = vstore_json(s->rd, cj, out, err);
        engine_slot_release(e, s);
    }
    json_decref(cj);
    return rc;
}

static int by_created(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "created_at"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "created_at"));
    if (x != y) return x < y ? -1 : 1;
    return strcmp(json_string_value(json_object_get(*(json_t *const *)a, "id")),
                  json_string_value(json_object_get(*(json_t *const *)b, "id")));
}

ragd_status ragd_vstores_list(ragd_engine *e, const ragd_principal *who, const json_t *args,
                              json_t **out, ragd_error *err)
{
    *out = NULL;
    list_args la;
    ragd_status rc = parse_list_args(args, 20, 100, false, &la, err);
    if (rc) return rc;
    json_t *all = NULL;
    if ((rc = ragd_collections_list(e, &all, err))) return rc;
    json_t *colls = json_object_get(all, "collections");
    size_t n = json_array_size(colls), m = 0;
    json_t **v = ragd_xcalloc(n ? n : 1, sizeof *v);
    engine_slot *s;
    if (!(rc = engine_slot_acquire(e, &s, err))) {
        for (size_t i = 0; i < n && !rc; i++) {
            json_t *cj = json_array_get(colls, i);
            ragd_error ae;
            if (who &&
                ragd_authorize(who, json_string_value(json_object_get(cj, "name")), "read", &ae))
                continue;
            rc = vstore_json(s->rd, cj, &v[m], err);
            if (!rc) m++;
        }
        engine_slot_release(e, s);
    }
    qsort(v, m, sizeof *v, by_created);
    json_t *arr = json_array();
    for (size_t i = 0; i < m; i++)
        json_array_append_new(arr, v[la.asc ? i : m - 1 - i]);
    free(v);
    json_decref(all);
    if (rc) {
        json_decref(arr);
        return rc;
    }
    *out = page_of(arr, &la);
    return RAGD_OK;
}

/* Check a metadata / attributes object: at most 16 keys of ≤64 bytes;
 * values strings of ≤512 bytes, or (attributes) numbers and booleans. */
static ragd_status check_kv(const json_t *m, const char *field, bool typed, ragd_error *err)
{
    if (!m) return RAGD_OK;
    if (!json_is_object(m) || json_object_size(m) > 16)
        return ragd_error_set_field(err, RAGD_EINPUT, field,
                                    "'%s' must be an object of at most 16 keys", field);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        bool ok = strlen(k) <= 64 && ((json_is_string(v) && json_string_length(v) <= 512) ||
                                      (typed && (json_is_number(v) || json_is_boolean(v))));
        if (!ok)
            return ragd_error_set_field(err, RAGD_EINPUT, field,
                                        "'%s.%.64s': keys are at most 64 bytes, values strings "
                                        "of at most 512 bytes%s",
                                        field, k, typed ? ", numbers or booleans" : "");
    }
    return RAGD_OK;
}

/* chunking_strategy → collection settings (chunk_tokens, overlap) in req. */
static ragd_status chunking(const json_t *cs, json_t *creq, ragd_error *err)
{
    if (!cs) return RAGD_OK;
    const char *type = json_string_value(json_object_get(cs, "type"));
    if (!json_is_object(cs) || !type || (strcmp(type, "auto") && strcmp(type, "static")))
        return ragd_error_set_field(err, RAGD_EINPUT, "chunking_strategy",
                                    "'chunking_strategy' must be {\"type\":\"auto\"} or "
                                    "{\"type\":\"static\",\"static\":{…}}");
    if (!strcmp(type, "auto")) return RAGD_OK;
    json_t *st = json_object_get(cs, "static");
    json_t *mx = json_object_get(st, "max_chunk_size_tokens");
    json_t *ov = json_object_get(st, "chunk_overlap_tokens");
    if (!json_is_integer(mx) || json_integer_value(mx) < 100 || json_integer_value(mx) > 4096)
        return ragd_error_set_field(err, RAGD_EINPUT,
                                    "chunking_strategy.static.max_chunk_size_tokens",
                                    "'max_chunk_size_tokens' must be an integer from 100 to 4096");
    json_int_t o = ov ? json_integer_value(ov) : 0;
    if ((ov && !json_is_integer(ov)) || o < 0 || o > json_integer_value(mx) / 2)
        return ragd_error_set_field(err, RAGD_EINPUT,
                                    "chunking_strategy.static.chunk_overlap_tokens",
                                    "'chunk_overlap_tokens' must be an integer from 0 to half of "
                                    "max_chunk_size_tokens");
    json_object_set_new(creq, "chunker", json_string("fixed"));
    json_object_set(creq, "chunk_tokens", mx);
    json_object_set_new(creq, "overlap", json_integer(o));
    return RAGD_OK;
}

static const req_field VS_CREATE[] = {{"name", REQ_STRING, 0, 256, false},
                                      {"metadata", REQ_ANY, 0, 0, false},
                                      {"file_ids", REQ_ARRAY, 0, 0, false},
                                      {"chunking_strategy", REQ_ANY, 0, 0, false},
                                      {"expires_after", REQ_ANY, 0, 0, false},
                                      {"description", REQ_STRING, 0, 512, false},
                                      {NULL, 0, 0, 0, false}};

ragd_status ragd_vstore_create(ragd_engine *e, const ragd_principal *who, const json_t *req,
                               json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *empty = json_object();
    ragd_status rc = req_check_fields(req ? req : empty, VS_CREATE, err);
    json_decref(empty);
    if (rc) return rc;
    if ((rc = check_kv(json_object_get(req, "metadata"), "metadata", false, err))) return rc;
    json_t *fids = json_object_get(req, "file_ids");
    size_t i;
    json_t *f;
    if (json_array_size(fids) > RAGD_MAX_BATCH)
        return ragd_error_set_field(err, RAGD_ERANGE, "file_ids", "at most %d file_ids",
                                    RAGD_MAX_BATCH);
    json_array_foreach(fids, i, f)
    {
        json_t *fo = NULL;
        if (!json_is_string(f))
            return ragd_error_set_field(err, RAGD_EINPUT, "file_ids", "file ids are strings");
        if ((rc = ragd_file_get(e, who, json_string_value(f), &fo, err))) return rc;
        json_decref(fo);
    }
    char id[40];
    if ((rc = engine_new_id("vs_", id, sizeof id, err))) return rc;
    json_t *creq = json_pack("{s:s}", "name", id);
    rc = chunking(json_object_get(req, "chunking_strategy"), creq, err);
    json_t *cj = NULL;
    if (!rc) rc = ragd_collection_create(e, creq, &cj, err);
    json_decref(creq);
    json_decref(cj);
    if (rc) return rc;
    json_t *md = json_object_get(req, "metadata");
    char *meta = md ? json_dumps(md, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    rc = store_collection_open(e->writer, id, NULL, &c, err);
    if (!rc) rc = store_vstore_set(e->writer, c.id, req_str(req, "name", ""), meta, err);
    pthread_mutex_unlock(&e->write_mu);
    free(meta);
    json_array_foreach(fids, i, f)
    {
        json_t *att = json_pack("{s:O}", "file_id", f), *vf = NULL;
        if (!rc) rc = ragd_vstore_file_attach(e, who, id, att, &vf, err);
        json_decref(att);
        json_decref(vf);
    }
    if (!rc) rc = ragd_vstore_get(e, id, out, err);
    return rc;
}

ragd_status ragd_vstore_delete(ragd_engine *e, const char *id, json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *d = NULL;
    ragd_status rc = ragd_collection_delete(e, id, &d, err);
    json_decref(d);
    if (rc == RAGD_ENOTFOUND)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "vector_store_id",
                                    "no vector store '%.64s'", id);
    if (!rc)
        *out = json_pack("{s:s,s:s,s:b}", "id", id, "object", "vector_store.deleted", "deleted", 1);
    return rc;
}
