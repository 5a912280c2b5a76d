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

/* One line of a BEIR corpus.jsonl: _id, title, text; other fields become
 * metadata. The title heads the text so it is searchable and quotable. */
void ingest_jsonl_parse(item *it, const prep_ctx *c)
{
    json_error_t je;
    json_t *o = json_loadb(it->raw, it->n, 0, &je);
    const char *id = o ? json_string_value(json_object_get(o, "_id")) : NULL;
    const char *text = o ? json_string_value(json_object_get(o, "text")) : NULL;
    const char *title = o ? json_string_value(json_object_get(o, "title")) : NULL;
    json_t *tv = o ? json_object_get(o, "text") : NULL;
    free(it->raw);
    it->raw = NULL;
    it->n = 0;
    if (o && json_is_object(o) && id && (!tv || json_is_null(tv) || (text && !*text)) &&
        (!title || !*title)) {
        /* Real BEIR corpora have records with no text: skipped, not failed. */
        it->kind = IT_SKIP;
        it->skip_reason = "empty";
        ragd_error_set(&it->err, RAGD_ENOTFOUND, "empty record '%s' (no title or text); skipped",
                       id);
    } else if (!o || !json_is_object(o) || !id || !text) {
        it->kind = IT_ERROR;
        ragd_error_set(&it->err, RAGD_EINPUT, "%s",
                       !o ? je.text : "expected an object with string \"_id\" and \"text\"");
    } else {
        it->kind = IT_RECORD;
        json_t *meta = json_deep_copy(o);
        json_object_del(meta, "_id");
        json_object_del(meta, "text");
        json_object_del(meta, "title");
        char *mj = json_dumps(meta, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(meta);
        ragd_buf body = RAGD_BUF_INIT;
        if (title && *title) ragd_buf_printf(&body, "%s\n\n", title);
        ragd_buf_puts(&body, text);
        it->n = body.len;
        it->raw = ragd_buf_steal(&body);
        it->format = "txt";
        it->key = ragd_xstrdup(id);
        it->fallback_title = ragd_xstrdup(id);
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
