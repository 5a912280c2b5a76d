/* service/ops_docs.c — collections and documents on an engine.
 *
 * Reads run on a slot's read-only connection; writes (create, delete, add)
 * take the engine's write lock, commit through the writer connection, and
 * then refresh the collection's shared vector index so searches see the
 * change whole.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "ingest/ingest.h"
#include "service/engine_internal.h"
#include "service/request.h"

/* Open collection `name` on st; a missing one is RAGD_ENOTFOUND naming the
 * collection field. */
static ragd_status open_coll(ragd_store *st, const char *name, ragd_collection *c, ragd_error *err)
{
    ragd_status rc = store_collection_open(st, name, NULL, c, err);
    if (rc == RAGD_ENOTFOUND || rc == RAGD_EUSAGE)
        return ragd_error_with_field(err, rc == RAGD_ENOTFOUND ? RAGD_ENOTFOUND : RAGD_EINPUT,
                                     "collection");
    return rc;
}

ragd_status ragd_collections_list(ragd_engine *e, json_t **out, ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    rc = store_collections_json(s->rd, out, err);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_collection_get(ragd_engine *e, const char *name, json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *all = NULL;
    ragd_status rc = ragd_collections_list(e, &all, err);
    if (rc) return rc;
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(all, "collections"), i, c)
    {
        if (!strcmp(json_string_value(json_object_get(c, "name")), name)) {
            *out = json_incref(c);
            break;
        }
    }
    json_decref(all);
    if (!*out)
        return ragd_error_set_field(err, RAGD_ENOTFOUND, "collection",
                                    "no collection named '%.64s'", name);
    return RAGD_OK;
}

static const req_field CREATE_FIELDS[] = {{"name", REQ_STRING, 1, 64, true},
                                          {"chunker", REQ_STRING, 0, 0, false},
                                          {"chunk_tokens", REQ_INT, 16, 8192, false},
                                          {"overlap", REQ_INT, 0, 4096, false},
                                          {"parent_tokens", REQ_INT, 64, 65536, false},
                                          {"semantic_percentile", REQ_INT, 1, 99, false},
                                          {"embedder", REQ_STRING, 0, 0, false},
                                          {"embedder_model", REQ_STRING, 1, 127, false},
                                          {"dim", REQ_INT, 8, 65536, false},
                                          {"index", REQ_STRING, 1, 63, false},
                                          {"ef_search", REQ_INT, 1, 4096, false},
                                          {NULL, 0, 0, 0, false}};

ragd_status ragd_collection_create(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err)
{
    *out = NULL;
    ragd_status rc = req_check_fields(req, CREATE_FIELDS, err);
    static const char *const CHUNKERS[] = {"fixed", "semantic", "parent", NULL};
    static const char *const EMBEDDERS[] = {"local", "openai", "ollama", NULL};
    if (!rc) rc = req_one_of(req, "chunker", CHUNKERS, err);
    if (!rc) rc = req_one_of(req, "embedder", EMBEDDERS, err);
    if (rc) return rc;
    const char *name = req_str(req, "name", "");
    ragd_settings s;
    store_settings_init(&s);
    snprintf(s.chunker, sizeof s.chunker, "%s", req_str(req, "chunker", ""));
    json_t *v;
    if ((v = json_object_get(req, "chunk_tokens"))) s.chunk_tokens = (int)json_integer_value(v);
    if ((v = json_object_get(req, "overlap"))) s.overlap = (int)json_integer_value(v);
    if ((v = json_object_get(req, "parent_tokens"))) s.parent_tokens = (int)json_integer_value(v);
    if ((v = json_object_get(req, "semantic_percentile")))
        s.semantic_percentile = (int)json_integer_value(v);
    int ct = s.chunk_tokens > 0 ? s.chunk_tokens : 256;
    if (s.overlap >= ct)
        return ragd_error_set_field(err, RAGD_ERANGE, "overlap",
                                    "'overlap' (%d) must be smaller than 'chunk_tokens' (%d)",
                                    s.overlap, ct);
    if (s.parent_tokens > 0 && strcmp(s.chunker, "parent"))
        return ragd_error_set_field(err, RAGD_EINPUT, "parent_tokens",
                                    "'parent_tokens' applies only to chunker 'parent'");
    if (s.semantic_percentile > 0 && strcmp(s.chunker, "semantic"))
        return ragd_error_set_field(err, RAGD_EINPUT, "semantic_percentile",
                                    "'semantic_percentile' applies only to chunker 'semantic'");
    if (json_object_get(req, "index"))
        snprintf(s.index_factory, sizeof s.index_factory, "%s", req_str(req, "index", ""));
    if ((v = json_object_get(req, "ef_search"))) {
        if (!strstr(s.index_factory, "HNSW"))
            return ragd_error_set_field(err, RAGD_EINPUT, "ef_search",
                                        "'ef_search' applies only to an HNSW index "
                                        "(\"index\": \"HNSW32\")");
        s.ef_search = (int)json_integer_value(v);
    }
    embed_choice choice = e->o.embed;
    choice.kind = req_str(req, "embedder", choice.kind);
    choice.model = req_str(req, "embedder_model", choice.model);
    if ((v = json_object_get(req, "dim"))) choice.dim = (int)json_integer_value(v);
    if (choice.kind && strcmp(choice.kind, "local") && !choice.url)
        return ragd_error_set_field(err, RAGD_EINPUT, "embedder",
                                    "embedder '%s' needs a server URL, which is set when ragd is "
                                    "started (--embedder-url), not in a request",
                                    choice.kind);
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    rc = store_collection_open(e->writer, name, NULL, &c, err);
    if (!rc) {
        rc = ragd_error_set_field(err, RAGD_ECONFLICT, "name", "collection '%.64s' already exists",
                                  name);
    } else if (rc == RAGD_ENOTFOUND) {
        embed_choice_to_settings(&choice, &s);
        if (!s.embedder[0]) snprintf(s.embedder, sizeof s.embedder, "local");
        if (strcmp(s.embedder, "local") != 0 && choice.dim <= 0) s.dim = 0;
        store_settings_defaults(&s);
        ragd_embedder *emb = NULL;
        rc = embedder_for_settings(&s, &choice, &emb, err);
        embedder_free(emb);
        if (!rc) {
            char f[64];
            vindex_factory_normalize(s.index_factory, f);
            snprintf(s.index_factory, sizeof s.index_factory, "%s", f);
            rc = store_collection_open(e->writer, name, &s, &c, err);
        }
    } else if (rc == RAGD_EUSAGE) {
        rc = ragd_error_with_field(err, RAGD_EINPUT, "name");
    }
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    return ragd_collection_get(e, name, out, err);
}

ragd_status ragd_collection_delete(ragd_engine *e, const char *name, json_t **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_status rc = open_coll(e->writer, name, &c, err);
    if (!rc) rc = store_collection_delete(e->writer, c.id, err);
    if (!rc) {
        engine_index_forget(e, c.id);
        char *snap = vindex_snapshot_path(e->writer, &c);
        unlink(snap);
        free(snap);
    }
    pthread_mutex_unlock(&e->write_mu);
    if (!rc) *out = json_pack("{s:s,s:b}", "name", name, "deleted", 1);
    return rc;
}

/* Run f(store, coll id) on a slot's read connection for collection coll. */
static ragd_status with_reader(ragd_engine *e, const char *coll, const char *id,
                               ragd_status (*f)(ragd_store *, int64_t, const char *, json_t **,
                                                ragd_error *),
                               json_t **out, ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    ragd_collection c;
    rc = open_coll(s->rd, coll, &c, err);
    if (!rc) rc = f(s->rd, c.id, id, out, err);
    if (rc == RAGD_ENOTFOUND && !err->field[0]) snprintf(err->field, sizeof err->field, "id");
    engine_slot_release(e, s);
    return rc;
}

static ragd_status docs_json(ragd_store *st, int64_t coll, const char *id, json_t **out,
                             ragd_error *err)
{
    (void)id;
    return store_docs_json(st, coll, out, err);
}

ragd_status ragd_documents_list(ragd_engine *e, const char *coll, json_t **out, ragd_error *err)
{
    return with_reader(e, coll, NULL, docs_json, out, err);
}

static int by_id(const void *a, const void *b)
{
    const char *x = json_string_value(json_object_get(*(json_t *const *)a, "id"));
    const char *y = json_string_value(json_object_get(*(json_t *const *)b, "id"));
    return strcmp(x ? x : "", y ? y : "");
}

ragd_status ragd_documents_page(ragd_engine *e, const char *coll, long limit, const char *after,
                                json_t **out, ragd_error *err)
{
    *out = NULL;
    if (limit < 1 || limit > RAGD_MAX_PAGE)
        return ragd_error_set_field(err, RAGD_ERANGE, "limit", "'limit' must be 1 to %d, not %ld",
                                    RAGD_MAX_PAGE, limit);
    json_t *all = NULL;
    ragd_status rc = ragd_documents_list(e, coll, &all, err);
    if (rc) return rc;
    json_t *docs = json_object_get(all, "documents");
    size_t n = json_array_size(docs);
    json_t **v = ragd_xcalloc(n ? n : 1, sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = json_array_get(docs, i);
    qsort(v, n, sizeof *v, by_id);
    json_t *page = json_array();
    size_t i = 0;
    while (after && i < n && strcmp(json_string_value(json_object_get(v[i], "id")), after) <= 0)
        i++;
    for (; i < n && json_array_size(page) < (size_t)limit; i++)
        json_array_append(page, v[i]);
    bool more = i < n;
    json_t *last = json_array_size(page)
                       ? json_object_get(json_array_get(page, json_array_size(page) - 1), "id")
                       : NULL;
    *out = json_pack("{s:o,s:b,s:O}", "documents", page, "has_more", more, "next_after",
                     more && last ? last : json_null());
    free(v);
    json_decref(all);
    return RAGD_OK;
}

ragd_status ragd_document_get(ragd_engine *e, const char *coll, const char *id, json_t **out,
                              ragd_error *err)
{
    return with_reader(e, coll, id, store_doc_json, out, err);
}

ragd_status ragd_document_delete(ragd_engine *e, const char *coll, const char *id, json_t **out,
                                 ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_status rc = open_coll(e->writer, coll, &c, err);
    if (!rc) {
        rc = store_doc_delete(e->writer, c.id, id, err);
        if (rc == RAGD_ENOTFOUND) snprintf(err->field, sizeof err->field, "id");
    }
    if (!rc) {
        ragd_error ie;
        /* The delete is committed; an index that cannot refresh now catches
         * up at the next load (deleted_chunks), and hits are re-checked in
         * SQLite meanwhile. */
        if (engine_index_refresh(e, &c, &ie)) engine_index_forget(e, c.id);
    }
    pthread_mutex_unlock(&e->write_mu);
    if (!rc) *out = json_pack("{s:s,s:b}", "id", id, "deleted", 1);
    return rc;
}

static const req_field DOC_FIELDS[] = {{"id", REQ_STRING, 1, 1024, true},
                                       {"text", REQ_STRING, 0, RAGD_MAX_DOC_BYTES, true},
                                       {"title", REQ_STRING, 0, 4096, false},
                                       {"metadata", REQ_OBJECT, 0, 0, false},
                                       {"format", REQ_STRING, 0, 0, false},
                                       {"source", REQ_STRING, 0, 4096, false},
                                       {NULL, 0, 0, 0, false}};
static const req_field BATCH_FIELDS[] = {{"documents", REQ_ARRAY, 0, 0, true},
                                         {NULL, 0, 0, 0, false}};

/* Check one document object and fill t (strings borrowed from d, metadata
 * text malloc'd into *meta). Errors name "documents[i].field". */
static ragd_status doc_parse(const json_t *d, long idx, ingest_text *t, char **meta,
                             ragd_error *err)
{
    *meta = NULL;
    ragd_status rc = req_check_fields(d, DOC_FIELDS, err);
    static const char *const FORMATS[] = {"auto", "txt", "md", "html", NULL};
    if (!rc) rc = req_one_of(d, "format", FORMATS, err);
    if (!rc) {
        json_t *m = json_object_get(d, "metadata");
        const char *k;
        json_t *v;
        json_object_foreach(m, k, v)
        {
            if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v)) {
                rc = ragd_error_set_field(err, RAGD_EINPUT, "metadata",
                                          "metadata values must be strings, numbers or booleans "
                                          "('%.48s')",
                                          k);
                break;
            }
        }
        if (!rc && m && json_object_size(m)) *meta = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    }
    if (rc && idx >= 0) {
        char f[RAGD_ERROR_FIELD_MAX * 2];
        snprintf(f, sizeof f, "documents[%ld]%s%s", idx, err->field[0] ? "." : "", err->field);
        snprintf(err->field, sizeof err->field, "%.*s", RAGD_ERROR_FIELD_MAX - 1, f);
        return rc;
    }
    if (rc) return rc;
    memset(t, 0, sizeof *t);
    t->id = req_str(d, "id", "");
    t->text = req_str(d, "text", "");
    t->len = json_string_length(json_object_get(d, "text"));
    t->title = req_str(d, "title", NULL);
    t->format = req_str(d, "format", NULL);
    t->source = req_str(d, "source", NULL);
    t->metadata_json = *meta;
    return RAGD_OK;
}

/* Parse documents[from, to) of docs (an array, or one document object when
 * docs is not an array) into t/metas; ids must not repeat in the range. */
static ragd_status docs_parse(const json_t *docs, size_t from, size_t to, ingest_text *t,
                              char **metas, ragd_error *err)
{
    bool arr = json_is_array(docs);
    ragd_status rc = RAGD_OK;
    for (size_t i = from; i < to && !rc; i++)
        rc = doc_parse(arr ? json_array_get(docs, i) : docs, arr ? (long)i : -1, &t[i - from],
                       &metas[i - from], err);
    for (size_t i = 0; i < to - from && !rc; i++)
        for (size_t j = 0; j < i && !rc; j++)
            if (!strcmp(t[i].id, t[j].id))
                rc =
                    ragd_error_set_field(err, RAGD_EINPUT, "documents",
                                         "document id '%.64s' appears twice in the batch", t[i].id);
    return rc;
}

ragd_status engine_ingest_texts(ragd_engine *e, const char *coll, const ingest_text *t, size_t n,
                                json_t **out, ragd_error *err)
{
    *out = NULL;
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_embedder *emb = NULL;
    ragd_status rc = open_coll(e->writer, coll, &c, err);
    if (!rc) rc = engine_writer_embedder(e, &c, &emb, err);
    if (!rc) {
        ingest_opts o = {.embedder = emb, .workers = 1};
        rc = ingest_texts(e->writer, &c, t, n, &o, out, err);
        /* Per-document failures are in the report; the call succeeded. */
        if (rc == RAGD_EINPUT && *out) rc = RAGD_OK;
        ragd_error ie;
        if (*out && engine_index_refresh(e, &c, &ie)) engine_index_forget(e, c.id);
    }
    pthread_mutex_unlock(&e->write_mu);
    if (rc && *out) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

ragd_status engine_ingest_docs(ragd_engine *e, const char *coll, const json_t *docs, size_t from,
                               size_t to, json_t **out, ragd_error *err)
{
    *out = NULL;
    size_t n = to - from;
    ingest_text *t = ragd_xcalloc(n ? n : 1, sizeof *t);
    char **metas = ragd_xcalloc(n ? n : 1, sizeof *metas);
    ragd_status rc = docs_parse(docs, from, to, t, metas, err);
    if (!rc) rc = engine_ingest_texts(e, coll, t, n, out, err);
    for (size_t i = 0; i < n; i++)
        free(metas[i]);
    free(metas);
    free(t);
    return rc;
}

/* Whether a batch is large enough to run as a background job. */
static bool batch_is_large(const json_t *docs)
{
    size_t n = json_array_size(docs), bytes = 0, i;
    json_t *d;
    json_array_foreach(docs, i, d) bytes += json_string_length(json_object_get(d, "text"));
    return n > RAGD_JOB_MIN_DOCS || bytes > RAGD_JOB_MIN_BYTES;
}

ragd_status ragd_documents_add(ragd_engine *e, const char *coll, const json_t *req, json_t **out,
                               ragd_error *err)
{
    *out = NULL;
    if (!json_is_object(req))
        return ragd_error_set(err, RAGD_EINPUT, "the request body must be a JSON object");
    json_t *batch = json_object_get(req, "documents");
    if (!batch) return engine_ingest_docs(e, coll, req, 0, 1, out, err);
    ragd_status rc = req_check_fields(req, BATCH_FIELDS, err);
    if (rc) return rc;
    size_t n = json_array_size(batch);
    if (n == 0 || n > RAGD_MAX_BATCH)
        return ragd_error_set_field(err, RAGD_ERANGE, "documents",
                                    "'documents' must hold 1 to %d documents, not %zu",
                                    RAGD_MAX_BATCH, n);
    if (!engine_jobs_running(e) || !batch_is_large(batch))
        return engine_ingest_docs(e, coll, batch, 0, n, out, err);
    /* A job: check every document now (a bad one fails the request, not the
     * job later), then queue it. */
    ingest_text *t = ragd_xcalloc(n, sizeof *t);
    char **metas = ragd_xcalloc(n, sizeof *metas);
    rc = docs_parse(batch, 0, n, t, metas, err);
    for (size_t i = 0; i < n; i++)
        free(metas[i]);
    free(metas);
    free(t);
    if (!rc) rc = engine_job_submit(e, coll, batch, out, err);
    return rc;
}

ragd_status ragd_ready(ragd_engine *e, json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *all = NULL;
    ragd_status rc = ragd_collections_list(e, &all, err);
    if (rc) return rc;
    bool ready = true;
    json_t *arr = json_array();
    size_t i;
    json_t *cj;
    json_array_foreach(json_object_get(all, "collections"), i, cj)
    {
        const char *name = json_string_value(json_object_get(cj, "name"));
        engine_slot *s;
        ragd_collection c;
        engine_index *x = NULL;
        ragd_error ie;
        bool loaded = false;
        long long vectors = 0;
        if (!engine_slot_acquire(e, &s, &ie)) {
            if (!store_collection_open(s->rd, name, NULL, &c, &ie) &&
                !engine_index_acquire(e, s->rd, &c, &x, &ie)) {
                loaded = true;
                vectors = vindex_count(x->vi);
                engine_index_release(x);
            }
            engine_slot_release(e, s);
        }
        ready &= loaded;
        json_array_append_new(arr, json_pack("{s:s,s:b,s:I}", "name", name, "index_loaded", loaded,
                                             "vectors", (json_int_t)vectors));
    }
    json_decref(all);
    *out = json_pack("{s:b,s:b,s:o}", "ready", ready, "store", 1, "collections", arr);
    engine_sync_ready(e, *out);
    return RAGD_OK;
}
