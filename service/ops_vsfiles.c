/* service/ops_vsfiles.c — files attached to a vector store, and vector
 * store search (see ops_vstores.c for the mapping onto collections).
 *
 * Attach: the file must exist; its attributes become the document's
 * metadata; the row is committed in_progress, then the ingest runs as a
 * "vector_store_file" job (ragd serve) or at once, and records completed
 * or failed with last_error {code: unsupported_file | invalid_file |
 * server_error, message}. Search maps a ragd search onto
 * vector_store.search_results.page; what validation decided is in the
 * "ragd" extension field.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "retrieve/attr_filter.h"
#include "service/engine_internal.h"
#include "service/request.h"

static ragd_status open_vs(ragd_store *st, const char *id, ragd_collection *c, ragd_error *err)
{
    ragd_status rc = store_collection_open(st, id, NULL, c, err);
    if (rc == RAGD_ENOTFOUND || rc == RAGD_EUSAGE)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "vector_store_id",
                                    "no vector store '%.64s'", id);
    return rc;
}

/* The vector_store.file object of an attachment row. */
static json_t *vsfile_obj(const char *vs, const ragd_collection *c, json_t *row)
{
    json_t *cs =
        !strcmp(c->settings.chunker, "fixed") && c->settings.chunk_tokens > 0
            ? json_pack("{s:s,s:{s:i,s:i}}", "type", "static", "static", "max_chunk_size_tokens",
                        c->settings.chunk_tokens, "chunk_overlap_tokens", c->settings.overlap)
            : json_pack("{s:s}", "type", "other");
    json_t *o =
        json_pack("{s:O,s:s,s:O,s:O,s:s,s:O,s:O,s:o,s:O}", "id", json_object_get(row, "file_id"),
                  "object", "vector_store.file", "usage_bytes", json_object_get(row, "usage_bytes"),
                  "created_at", json_object_get(row, "created_at"), "vector_store_id", vs, "status",
                  json_object_get(row, "status"), "last_error", json_object_get(row, "last_error"),
                  "chunking_strategy", cs, "attributes", json_object_get(row, "attributes"));
    json_decref(row);
    return o;
}

static ragd_status vsfile_read(ragd_engine *e, const char *vs, const char *file_id, json_t **out,
                               ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    ragd_collection c;
    json_t *row = NULL;
    rc = open_vs(s->rd, vs, &c, err);
    if (!rc) rc = store_vsfile_json(s->rd, c.id, file_id, &row, err);
    if (!rc) *out = vsfile_obj(vs, &c, row);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_vstore_file_get(ragd_engine *e, const char *id, const char *file_id, json_t **out,
                                 ragd_error *err)
{
    return vsfile_read(e, id, file_id, out, err);
}

static const req_field ATTACH[] = {{"file_id", REQ_STRING, 1, 128, true},
                                   {"attributes", REQ_ANY, 0, 0, false},
                                   {"chunking_strategy", REQ_ANY, 0, 0, false},
                                   {NULL, 0, 0, 0, false}};

/* Attributes: at most 16 keys of ≤64 bytes; strings ≤512 bytes, numbers,
 * booleans. */
static ragd_status check_attributes(const json_t *a, ragd_error *err)
{
    if (!a || json_is_null(a)) return RAGD_OK;
    if (!json_is_object(a) || json_object_size(a) > 16)
        return ragd_error_set_field(err, RAGD_EINPUT, "attributes",
                                    "'attributes' must be an object of at most 16 keys");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)a, k, v)
    {
        if (strlen(k) > 64 || !((json_is_string(v) && json_string_length(v) <= 512) ||
                                json_is_number(v) || json_is_boolean(v)))
            return ragd_error_set_field(err, RAGD_EINPUT, "attributes",
                                        "'attributes.%.64s': keys are at most 64 bytes, values "
                                        "strings of at most 512 bytes, numbers or booleans",
                                        k);
    }
    return RAGD_OK;
}

ragd_status ragd_vstore_file_attach(ragd_engine *e, const ragd_principal *who, const char *id,
                                    const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = req_check_fields(req, ATTACH, err);
    json_t *attrs = json_object_get(req, "attributes");
    if (!rc) rc = check_attributes(attrs, err);
    if (rc) return rc;
    json_t *cs = json_object_get(req, "chunking_strategy");
    const char *cst = json_string_value(json_object_get(cs, "type"));
    if (cs && (!cst || strcmp(cst, "auto")))
        return ragd_error_set_field(
            err, RAGD_EINPUT, "chunking_strategy",
            "a vector store chunks every file alike: give the chunking "
            "strategy when creating the vector store, or {\"type\":\"auto\"}");
    const char *file_id = req_str(req, "file_id", "");
    json_t *file = NULL;
    if ((rc = ragd_file_get(e, who, file_id, &file, err))) return rc;
    json_decref(file);
    char *aj = json_is_object(attrs) ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    rc = open_vs(e->writer, id, &c, err);
    if (!rc) rc = store_vsfile_put(e->writer, c.id, file_id, aj, err);
    pthread_mutex_unlock(&e->write_mu);
    free(aj);
    if (rc) return rc;
    json_t *payload = json_pack("{s:s,s:o}", "file_id", file_id, "attributes",
                                json_is_object(attrs) ? json_incref(attrs) : json_object());
    if (engine_jobs_running(e)) {
        json_t *job = NULL;
        rc = engine_job_submit_kind(e, id, "vector_store_file", payload, 1, &job, err);
        json_decref(job);
        if (rc) { /* never left in_progress with no job to finish it */
            pthread_mutex_lock(&e->write_mu);
            json_t *le = json_pack("{s:s,s:s}", "code", "server_error", "message", err->msg);
            char *lej = json_dumps(le, JSON_COMPACT);
            ragd_error ue;
            store_vsfile_update(e->writer, c.id, file_id, "failed", lej, 0, &ue);
            free(lej);
            json_decref(le);
            pthread_mutex_unlock(&e->write_mu);
        }
    } else {
        rc = engine_vsfile_run(e, id, payload, err);
    }
    json_decref(payload);
    if (!rc) rc = vsfile_read(e, id, file_id, out, err);
    return rc;
}

ragd_status ragd_vstore_files_list(ragd_engine *e, const char *id, const json_t *args, json_t **out,
                                   ragd_error *err)
{
    *out = NULL;
    long limit = 20;
    const char *l = req_str(args, "limit", NULL);
    if (l) {
        char *end;
        limit = strtol(l, &end, 10);
        if (end == l || *end)
            return ragd_error_set_field(err, RAGD_EINPUT, "limit", "'limit' must be an integer");
        if (limit < 1 || limit > 100)
            return ragd_error_set_field(err, RAGD_ERANGE, "limit",
                                        "'limit' must be 1 to 100, not %ld", limit);
    }
    const char *order = req_str(args, "order", "desc");
    if (strcmp(order, "asc") && strcmp(order, "desc"))
        return ragd_error_set_field(err, RAGD_EINPUT, "order", "'order' must be asc or desc");
    const char *status = req_str(args, "filter", NULL);
    static const char *const ST[] = {"in_progress", "completed", "failed", "cancelled", NULL};
    bool ok = !status;
    for (int i = 0; status && ST[i]; i++)
        ok |= !strcmp(ST[i], status);
    if (!ok)
        return ragd_error_set_field(err, RAGD_EINPUT, "filter",
                                    "'filter' must be in_progress, completed, failed or cancelled");
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    ragd_collection c;
    json_t *rows = NULL;
    bool more = false;
    rc = open_vs(s->rd, id, &c, err);
    if (!rc)
        rc = store_vsfiles_page(s->rd, c.id, req_str(args, "after", NULL),
                                req_str(args, "before", NULL), limit, !strcmp(order, "asc"), status,
                                &rows, &more, err);
    engine_slot_release(e, s);
    if (rc) return rc;
    json_t *data = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row)
        json_array_append_new(data, vsfile_obj(id, &c, json_incref(row)));
    json_decref(rows);
    size_t n = json_array_size(data);
    json_t *first = n ? json_object_get(json_array_get(data, 0), "id") : NULL;
    json_t *last = n ? json_object_get(json_array_get(data, n - 1), "id") : NULL;
    *out = json_pack("{s:s,s:o,s:O,s:O,s:b}", "object", "list", "data", data, "first_id",
                     first ? first : json_null(), "last_id", last ? last : json_null(), "has_more",
                     more);
    return RAGD_OK;
}

ragd_status ragd_vstore_file_delete(ragd_engine *e, const char *id, const char *file_id,
                                    json_t **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_status rc = open_vs(e->writer, id, &c, err);
    if (!rc) rc = store_vsfile_delete(e->writer, c.id, file_id, err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    json_t *d = NULL;
    ragd_error de;
    if (ragd_document_delete(e, id, file_id, &d, &de) && de.code != RAGD_ENOTFOUND) {
        *err = de;
        return de.code;
    }
    json_decref(d);
    *out = json_pack("{s:s,s:s,s:b}", "id", file_id, "object", "vector_store.file.deleted",
                     "deleted", 1);
    return RAGD_OK;
}

/* --- search ----------------------------------------------------------------------------- */

static const req_field SEARCH[] = {
    {"query", REQ_ANY, 0, 0, true},           {"max_num_results", REQ_INT, 1, 50, false},
    {"filters", REQ_ANY, 0, 0, false},        {"ranking_options", REQ_OBJECT, 0, 0, false},
    {"rewrite_query", REQ_BOOL, 0, 0, false}, {NULL, 0, 0, 0, false}};
static const req_field RANKING[] = {{"ranker", REQ_STRING, 1, 64, false},
                                    {"score_threshold", REQ_NUMBER, 0, 1, false},
                                    {NULL, 0, 0, 0, false}};

/* The query: a string, or an array of strings joined by " ". */
static ragd_status search_query(const json_t *q, ragd_buf *b, ragd_error *err)
{
    if (json_is_string(q)) {
        ragd_buf_puts(b, json_string_value(q));
        return RAGD_OK;
    }
    if (!json_is_array(q) || !json_array_size(q) || json_array_size(q) > 16)
        return ragd_error_set_field(err, RAGD_EINPUT, "query",
                                    "'query' must be a string or an array of 1 to 16 strings");
    size_t i;
    json_t *v;
    json_array_foreach(q, i, v)
    {
        if (!json_is_string(v))
            return ragd_error_set_field(err, RAGD_EINPUT, "query",
                                        "'query' array entries must be strings");
        ragd_buf_printf(b, "%s%s", i ? " " : "", json_string_value(v));
    }
    return RAGD_OK;
}

/* The "reason" text of a search result that validation found irrelevant. */
static const char *reason_of(const json_t *sr)
{
    const json_t *v = json_object_get(sr, "validation");
    const char *r = json_string_value(json_object_get(v, "reason"));
    return r ? r : "no passage in this vector store has enough evidence for the query";
}

/* The page's data: a search result's hits at or above thr as
 * vector-store results, with each document's file name and attributes. */
static ragd_status results_data(ragd_engine *e, const char *id, const json_t *sr, double thr,
                                json_t **out, ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    ragd_collection c;
    if ((rc = open_vs(s->rd, id, &c, err))) {
        engine_slot_release(e, s);
        return rc;
    }
    json_t *data = json_array();
    size_t i;
    json_t *h;
    json_array_foreach(json_object_get(sr, "results"), i, h)
    {
        double score = json_number_value(json_object_get(h, "score"));
        if (score < thr) continue;
        const char *doc = json_string_value(json_object_get(h, "doc_id"));
        json_t *file = NULL, *dj = NULL;
        ragd_error fe;
        store_file_json(s->rd, doc, &file, &fe); /* absent: not from /v1/files */
        store_doc_json(s->rd, c.id, doc, &dj, &fe);
        json_t *fname = json_object_get(file, "filename");
        json_t *attrs = json_object_get(dj, "metadata");
        json_array_append_new(
            data,
            json_pack("{s:s,s:O,s:f,s:o,s:[{s:s,s:O}]}", "file_id", doc, "filename",
                      fname ? fname : json_object_get(h, "title"), "score", score, "attributes",
                      json_is_object(attrs) ? json_incref(attrs) : json_object(), "content", "type",
                      "text", "text", json_object_get(h, "text")));
        json_decref(file);
        json_decref(dj);
    }
    engine_slot_release(e, s);
    *out = data;
    return RAGD_OK;
}

/* The "ragd" extension field of a page: what validation decided. */
static json_t *page_ext(const json_t *sr, const json_t *req)
{
    bool relevant = json_is_true(json_object_get(sr, "relevant"));
    const char *mode = json_string_value(json_object_get(sr, "mode"));
    json_t *ext = json_pack("{s:b,s:O,s:s,s:b}", "relevant", relevant, "validation",
                            json_object_get(sr, "validation"), "mode", mode ? mode : "",
                            "rewrite_query", json_is_true(json_object_get(req, "rewrite_query")));
    if (!relevant) json_object_set_new(ext, "reason", json_string(reason_of(sr)));
    return ext;
}

ragd_status ragd_vstore_search(ragd_engine *e, const char *id, const json_t *req, json_t **out,
                               ragd_error *err)
{
    *out = NULL;
    ragd_status rc = req_check_fields(req, SEARCH, err);
    json_t *ro = json_object_get(req, "ranking_options");
    if (!rc && ro) rc = req_check_fields(ro, RANKING, err);
    json_t *filters = json_object_get(req, "filters");
    if (json_is_null(filters)) filters = NULL;
    if (!rc && filters) rc = attr_filter_check(filters, "filters", err);
    ragd_buf q = RAGD_BUF_INIT;
    if (!rc) rc = search_query(json_object_get(req, "query"), &q, err);
    json_t *sr = NULL, *data = NULL;
    if (!rc) {
        json_t *k = json_object_get(req, "max_num_results");
        json_t *sreq = json_pack("{s:s,s:s,s:I}", "collection", id, "query", q.data ? q.data : "",
                                 "k", k ? json_integer_value(k) : 10);
        rc = engine_search_filtered(e, sreq, filters, &sr, err);
        json_decref(sreq);
        if (rc == RAGD_ENOTFOUND && !strcmp(err->field, "collection"))
            rc = ragd_error_set_field(err, RAGD_ENOTFOUND, "vector_store_id",
                                      "no vector store '%.64s'", id);
    }
    json_t *thr = json_object_get(ro, "score_threshold");
    if (!rc) rc = results_data(e, id, sr, thr ? json_number_value(thr) : 0, &data, err);
    if (!rc)
        *out = json_pack("{s:s,s:[s],s:o,s:b,s:n,s:o}", "object",
                         "vector_store.search_results.page", "search_query", q.data ? q.data : "",
                         "data", data, "has_more", 0, "next_page", "ragd", page_ext(sr, req));
    json_decref(sr);
    ragd_buf_free(&q);
    return rc;
}
