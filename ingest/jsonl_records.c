/* ingest/jsonl_records.c — JSONL (BEIR corpus.jsonl) files and records.
 *
 * A JSONL file is opened as a stream (any size: the size limit applies to
 * each record) and read line by line by the input iterator (inputs.c) on
 * the writer, which hands each line over as it is (ingest_jsonl_line). The
 * line is parsed in prepare, on a worker (parsing was a tenth of the
 * writer's time): it becomes a record with "_id" and "text" (the title
 * heads the text, other fields become metadata), an empty record to skip,
 * or an error naming the line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/json_flat.h"
#include "core/text.h"
#include "ingest/pipeline_internal.h"

item *ingest_jsonl_line(const char *path, const char *source, size_t line, const char *s, size_t n)
{
    ragd_buf label = RAGD_BUF_INIT;
    ragd_buf_printf(&label, "%s:%zu", path, line);
    item *it = ingest_item_new(IT_JSONL, label.data);
    ragd_buf_free(&label);
    it->raw = ragd_xmalloc(n + 1);
    memcpy(it->raw, s, n);
    it->raw[n] = '\0';
    it->n = n;
    it->size = n;
    it->source = ragd_xstrdup(source);
    return it;
}

/* What a record line says, from either parser. The strings are borrowed
 * (from the json_flat or the jansson object); meta is malloc'd. */
typedef struct {
    bool object;                   /* a JSON object at all */
    const char *id, *title, *text; /* the string fields, or NULL */
    bool has_text;                 /* a "text" key, of any type */
    bool text_null;                /* "text": null */
    char *meta;                    /* the other fields, compact with sorted keys */
    const char *error;             /* jansson's message when not JSON */
} record_fields;

/* The fields of a flat line (json_flat_parse accepted it): every value a
 * string, the other fields dumped as jansson dumps them. */
static void fields_from_flat(const json_flat *jf, record_fields *r)
{
    const json_flat_field *id = json_flat_get(jf, "_id"), *title = json_flat_get(jf, "title"),
                          *text = json_flat_get(jf, "text");
    r->object = true;
    r->id = id ? id->val : NULL;
    r->title = title ? title->val : NULL;
    r->text = text ? text->val : NULL;
    r->has_text = text != NULL;
    json_t *meta = json_object();
    for (size_t i = 0; i < jf->n; i++) {
        const json_flat_field *f = &jf->f[i];
        if (f == id || f == title || f == text) continue;
        json_object_setn_new_nocheck(meta, f->key, f->key_len, json_stringn(f->val, f->val_len));
    }
    r->meta = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
}

/* The fields of any other line, parsed by jansson (o may be NULL). */
static void fields_from_jansson(json_t *o, const json_error_t *je, record_fields *r)
{
    r->object = o && json_is_object(o);
    r->error = o ? NULL : je->text;
    if (!r->object) return;
    r->id = json_string_value(json_object_get(o, "_id"));
    r->title = json_string_value(json_object_get(o, "title"));
    json_t *tv = json_object_get(o, "text");
    r->text = json_string_value(tv);
    r->has_text = tv != NULL;
    r->text_null = json_is_null(tv);
    json_t *meta = json_deep_copy(o);
    json_object_del(meta, "_id");
    json_object_del(meta, "text");
    json_object_del(meta, "title");
    r->meta = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(meta);
}

/* One line of a BEIR corpus.jsonl: _id, title, text; other fields become
 * metadata. The title heads the text so it is searchable and quotable.
 * Lines of string fields only (every BEIR corpus line) take json_flat;
 * any other goes to jansson, as every line did before. */
void ingest_jsonl_parse(item *it, const prep_ctx *c)
{
    json_flat jf = JSON_FLAT_INIT;
    json_t *o = NULL;
    json_error_t je;
    record_fields r = {0};
    if (json_flat_parse(&jf, it->raw, it->n)) {
        fields_from_flat(&jf, &r);
    } else {
        o = json_loadb(it->raw, it->n, 0, &je);
        fields_from_jansson(o, &je, &r);
    }
    free(it->raw);
    it->raw = NULL;
    it->n = 0;
    if (r.object && r.id && (!r.has_text || r.text_null || (r.text && !*r.text)) &&
        (!r.title || !*r.title)) {
        /* Real BEIR corpora have records with no text: skipped, not failed. */
        it->kind = IT_SKIP;
        it->skip_reason = "empty";
        ragd_error_set(&it->err, RAGD_ENOTFOUND, "empty record '%s' (no title or text); skipped",
                       r.id);
        free(r.meta);
    } else if (!r.object || !r.id || !r.text) {
        it->kind = IT_ERROR;
        ragd_error_set(&it->err, RAGD_EINPUT, "%s",
                       r.error ? r.error : "expected an object with string \"_id\" and \"text\"");
        free(r.meta);
    } else {
        it->kind = IT_RECORD;
        char *mj = r.meta;
        ragd_buf body = RAGD_BUF_INIT;
        if (r.title && *r.title) ragd_buf_printf(&body, "%s\n\n", r.title);
        ragd_buf_puts(&body, r.text);
        it->n = body.len;
        it->raw = ragd_buf_steal(&body);
        it->format = "txt";
        it->key = ragd_xstrdup(r.id);
        it->fallback_title = ragd_xstrdup(r.id);
        char *merged = ingest_meta_merge(c->meta, mj);
        if (merged) {
            free(mj);
            mj = merged;
        }
        it->hash_extra = mj;
        it->metadata_json = mj ? ragd_xstrdup(mj) : NULL;
        ragd_error e;
        if (c->lookup &&
            store_doc_find(c->lookup, c->coll->id, it->key, &it->old_found, it->old_hash, NULL, &e))
            it->old_found = false;
    }
    json_decref(o);
    json_flat_free(&jf);
}

/* Open a JSONL file for reading line by line: a regular, readable file of
 * any size (its records are limited one by one). */
ragd_status ingest_jsonl_open(const char *path, FILE **out, ragd_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return ragd_error_set(err, RAGD_EINPUT, "cannot open: %s",
                              errno == ENOENT ? "file vanished or is a broken link"
                                              : strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "not a regular file");
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        return ragd_error_set(err, RAGD_EINPUT, "cannot open: %s", strerror(errno));
    }
    *out = f;
    return RAGD_OK;
}
