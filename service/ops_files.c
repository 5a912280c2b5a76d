/* service/ops_files.c — uploaded files: as documents (multipart uploads to
 * a collection), as OpenAI file objects, and the ingest of a file attached
 * to a vector store (the "vector_store_file" job's runner).
 *
 * A file's bytes are written to <data>/files/<id> (temp file, fsync,
 * rename, fsync of the directory) before its row is committed, so a row
 * always has its bytes; deleting removes the row first, then the bytes.
 * Ingesting an uploaded file goes through ingest_texts with the format
 * taken from the file name, then the content, so PDF, HTML, Markdown and
 * text upload alike.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/durable.h"
#include "core/hash.h"
#include "ingest/ingest.h"
#include "service/engine_internal.h"
#include "service/request.h"

/* "<prefix><24 hex digits>". */
static ragd_status new_id(const char *prefix, char *out, size_t size, ragd_error *err)
{
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd)
        return ragd_error_set(err, RAGD_EIO, "cannot read random bytes for an id");
    size_t n = (size_t)snprintf(out, size, "%s", prefix);
    for (size_t i = 0; i < sizeof rnd && n + 2 < size; i++, n += 2)
        snprintf(out + n, 3, "%02x", rnd[i]);
    return RAGD_OK;
}

ragd_status engine_new_id(const char *prefix, char *out, size_t size, ragd_error *err)
{
    return new_id(prefix, out, size, err);
}

static void file_path(const ragd_engine *e, const char *id, ragd_buf *b)
{
    ragd_buf_printf(b, "%s/files/%s", e->dir, id);
}

static ragd_status write_bytes(ragd_engine *e, const char *id, const char *data, size_t n,
                               ragd_error *err)
{
    ragd_buf dir = RAGD_BUF_INIT, path = RAGD_BUF_INIT;
    ragd_buf_printf(&dir, "%s/files", e->dir);
    file_path(e, id, &path);
    ragd_status rc = ragd_write_durable(dir.data, path.data, data, n, err);
    ragd_buf_free(&dir);
    ragd_buf_free(&path);
    return rc;
}

/* --- uploads as documents ------------------------------------------------------------ */

static const req_field UPLOAD_FIELDS[] = {{"id", REQ_STRING, 1, 1024, false},
                                          {"title", REQ_STRING, 0, 4096, false},
                                          {"metadata", REQ_STRING, 0, 65536, false},
                                          {"format", REQ_STRING, 0, 0, false},
                                          {NULL, 0, 0, 0, false}};

/* The format of an uploaded file: the hint when given, else from its name
 * and first bytes. NULL with err set for what cannot be read. */
static const char *upload_format(const ragd_upload *f, const char *hint, ragd_error *err)
{
    const char *name = f->filename && *f->filename ? f->filename : "upload";
    return ingest_detect_format(name, hint && strcmp(hint, "auto") ? hint : NULL, f->data,
                                f->len < 4096 ? f->len : 4096, err);
}

/* The "metadata" form field (a JSON object's text, values strings,
 * numbers or booleans, as for JSON documents) as canonical JSON text in
 * *out (malloc'd; NULL when absent or empty). */
static ragd_status upload_meta(const char *text, char **out, ragd_error *err)
{
    *out = NULL;
    if (!text || !*text) return RAGD_OK;
    json_error_t je;
    json_t *m = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    bool ok = json_is_object(m);
    const char *k;
    json_t *v;
    json_object_foreach(ok ? m : NULL, k, v) ok &=
        json_is_string(v) || json_is_number(v) || json_is_boolean(v);
    if (ok && json_object_size(m)) *out = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(m);
    return ok ? RAGD_OK
              : ragd_error_set_field(err, RAGD_EINPUT, "metadata",
                                     "'metadata' must be a JSON object's text whose values are "
                                     "strings, numbers or booleans");
}

ragd_status ragd_documents_upload(ragd_engine *e, const char *coll, const ragd_upload *files,
                                  size_t n, const json_t *fields, json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *empty = json_object();
    ragd_status rc = req_check_fields(fields ? fields : empty, UPLOAD_FIELDS, err);
    static const char *const FORMATS[] = {"auto", "txt", "md", "html", "pdf", NULL};
    if (!rc) rc = req_one_of(fields ? fields : empty, "format", FORMATS, err);
    json_decref(empty);
    if (rc) return rc;
    if (n == 0 || n > RAGD_MAX_UPLOADS)
        return ragd_error_set_field(err, RAGD_EINPUT, "file",
                                    "send 1 to %d 'file' parts (multipart/form-data), not %zu",
                                    RAGD_MAX_UPLOADS, n);
    const char *id = req_str(fields, "id", NULL);
    if (id && n > 1)
        return ragd_error_set_field(err, RAGD_EINPUT, "id",
                                    "'id' names one document; with several files each "
                                    "document is named after its file");
    char *meta = NULL;
    if ((rc = upload_meta(req_str(fields, "metadata", NULL), &meta, err))) return rc;
    ingest_text *t = ragd_xcalloc(n, sizeof *t);
    for (size_t i = 0; i < n && !rc; i++) {
        const char *name = files[i].filename && *files[i].filename ? files[i].filename : NULL;
        if (!id && !name) {
            rc = ragd_error_set_field(err, RAGD_EINPUT, "file",
                                      "file part %zu has no filename; give one or an 'id'", i);
            break;
        }
        ragd_error fe;
        const char *fmt = upload_format(&files[i], req_str(fields, "format", NULL), &fe);
        t[i].id = id ? id : name;
        t[i].text = files[i].data;
        t[i].len = files[i].len;
        t[i].title = req_str(fields, "title", NULL);
        if (!t[i].title) t[i].title = name;
        t[i].format = fmt ? fmt : req_str(fields, "format", NULL);
        t[i].metadata_json = meta;
        t[i].source = name;
        t[i].upload = true;
        for (size_t j = 0; j < i && !rc; j++)
            if (!strcmp(t[i].id, t[j].id))
                rc = ragd_error_set_field(err, RAGD_EINPUT, "file", "two files are named '%.64s'",
                                          t[i].id);
    }
    if (!rc) rc = engine_ingest_texts(e, coll, t, n, out, err);
    free(t);
    free(meta);
    return rc;
}

/* --- files --------------------------------------------------------------------------- */

static const char *const PURPOSES[] = {"assistants", "user_data", "batch", "fine-tune",
                                       "vision",     "evals",     NULL};

/* See ragd.h: keys limited to some collections see their own uploads. */
static bool file_visible(const ragd_principal *who, const json_t *f)
{
    return !who || !who->collections ||
           json_integer_value(json_object_get(f, "owner_key")) == who->key_id;
}

ragd_status engine_file_public(const ragd_principal *who, json_t *f)
{
    bool ok = file_visible(who, f);
    json_object_del(f, "owner_key");
    return ok ? RAGD_OK : RAGD_ENOTFOUND;
}

ragd_status ragd_file_create(ragd_engine *e, const ragd_principal *who, const ragd_upload *f,
                             const char *purpose, json_t **out, ragd_error *err)
{
    *out = NULL;
    if (!f)
        return ragd_error_set_field(err, RAGD_EINPUT, "file",
                                    "send the file as a multipart/form-data part named 'file'");
    if (!purpose)
        return ragd_error_set_field(err, RAGD_EINPUT, "purpose",
                                    "'purpose' is required (assistants, user_data, …)");
    bool ok = false;
    for (int i = 0; PURPOSES[i]; i++)
        ok |= !strcmp(PURPOSES[i], purpose);
    if (!ok)
        return ragd_error_set_field(err, RAGD_EINPUT, "purpose",
                                    "'purpose' must be one of assistants, user_data, batch, "
                                    "fine-tune, vision, evals");
    if (!f->len) return ragd_error_set_field(err, RAGD_EINPUT, "file", "the file is empty");
    const char *name = f->filename && *f->filename ? f->filename : "upload";
    if (strlen(name) > 1024)
        return ragd_error_set_field(err, RAGD_ERANGE, "file", "the file name is over 1024 bytes");
    char id[40], sha[RAGD_SHA256_HEX];
    ragd_status rc = new_id("file-", id, sizeof id, err);
    if (rc) return rc;
    ragd_sha256_hex(f->data, f->len, sha);
    if ((rc = write_bytes(e, id, f->data, f->len, err))) return rc;
    pthread_mutex_lock(&e->write_mu);
    rc = store_file_create(e->writer, id, name, purpose, (int64_t)f->len, sha,
                           who ? who->key_id : 0, err);
    if (!rc) rc = store_file_json(e->writer, id, out, err);
    if (!rc) engine_file_public(NULL, *out);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) {
        ragd_buf p = RAGD_BUF_INIT;
        file_path(e, id, &p);
        unlink(p.data);
        ragd_buf_free(&p);
    }
    return rc;
}

ragd_status engine_files_json(ragd_engine *e, const char *purpose, json_t **out, ragd_error *err)
{
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    rc = store_files_json(s->rd, purpose, out, err);
    engine_slot_release(e, s);
    return rc;
}

ragd_status ragd_file_get(ragd_engine *e, const ragd_principal *who, const char *id, json_t **out,
                          ragd_error *err)
{
    *out = NULL;
    engine_slot *s;
    ragd_status rc = engine_slot_acquire(e, &s, err);
    if (rc) return rc;
    rc = store_file_json(s->rd, id, out, err);
    engine_slot_release(e, s);
    if (!rc && engine_file_public(who, *out)) {
        json_decref(*out);
        *out = NULL;
        rc = ragd_error_set_field(err, RAGD_ENOTFOUND, "file_id", "no file '%.64s'", id);
    }
    return rc;
}

ragd_status ragd_file_delete(ragd_engine *e, const ragd_principal *who, const char *id,
                             json_t **out, ragd_error *err)
{
    *out = NULL;
    json_t *f = NULL;
    ragd_status rc = ragd_file_get(e, who, id, &f, err);
    json_decref(f);
    if (rc) return rc;
    pthread_mutex_lock(&e->write_mu);
    rc = store_file_delete(e->writer, id, err);
    pthread_mutex_unlock(&e->write_mu);
    if (rc) return rc;
    ragd_buf p = RAGD_BUF_INIT;
    file_path(e, id, &p);
    unlink(p.data);
    ragd_buf_free(&p);
    *out = json_pack("{s:s,s:s,s:b}", "id", id, "object", "file", "deleted", 1);
    return RAGD_OK;
}

/* --- a file attached to a vector store ---------------------------------------------- */

/* Record the attachment's end: completed, or failed with last_error. */
static ragd_status vsfile_finish(ragd_engine *e, const char *coll, const char *file_id,
                                 const char *code, const char *msg, int64_t bytes, ragd_error *err)
{
    char *le = NULL;
    if (code) {
        json_t *j = json_pack("{s:s,s:s}", "code", code, "message", msg);
        le = json_dumps(j, JSON_COMPACT);
        json_decref(j);
    }
    pthread_mutex_lock(&e->write_mu);
    ragd_collection c;
    ragd_status rc = store_collection_open(e->writer, coll, NULL, &c, err);
    if (!rc)
        rc = store_vsfile_update(e->writer, c.id, file_id, code ? "failed" : "completed", le, bytes,
                                 err);
    pthread_mutex_unlock(&e->write_mu);
    free(le);
    return rc;
}

ragd_status engine_vsfile_run(ragd_engine *e, const char *coll, const json_t *payload,
                              ragd_error *err)
{
    const char *file_id = json_string_value(json_object_get(payload, "file_id"));
    if (!file_id) return ragd_error_set(err, RAGD_EINTERNAL, "a vector store job without file_id");
    json_t *file = NULL;
    ragd_error fe;
    if (ragd_file_get(e, NULL, file_id, &file, &fe))
        return vsfile_finish(e, coll, file_id, "invalid_file", "the file was deleted", 0, err);
    const char *name = json_string_value(json_object_get(file, "filename"));
    ragd_buf path = RAGD_BUF_INIT;
    file_path(e, file_id, &path);
    char *data = NULL;
    size_t len = 0;
    ragd_status rc;
    if (ingest_read_file(path.data, INGEST_DEFAULT_MAX_BYTES, &data, &len, &fe)) {
        rc = vsfile_finish(e, coll, file_id, "invalid_file", fe.msg, 0, err);
        goto out;
    }
    ragd_upload up = {.filename = name, .data = data, .len = len};
    const char *fmt = upload_format(&up, NULL, &fe);
    if (!fmt || !strcmp(fmt, "jsonl")) {
        rc = vsfile_finish(e, coll, file_id, "unsupported_file",
                           fmt ? "JSONL files hold many documents; upload them to "
                                 "/v1/collections/{c}/documents instead"
                               : fe.msg,
                           0, err);
        goto out;
    }
    json_t *attrs = json_object_get(payload, "attributes");
    char *meta = json_object_size(attrs) ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    ingest_text t = {.id = file_id,
                     .text = data,
                     .len = len,
                     .title = name,
                     .format = fmt,
                     .metadata_json = meta,
                     .source = name,
                     .upload = true};
    json_t *rep = NULL;
    ragd_error ie;
    ragd_status irc = engine_ingest_texts(e, coll, &t, 1, &rep, &ie);
    free(meta);
    if (irc) {
        rc = vsfile_finish(e, coll, file_id, "server_error", ie.msg, 0, err);
    } else if (json_integer_value(json_object_get(rep, "failed")) ||
               json_integer_value(json_object_get(rep, "skipped"))) {
        json_t *e0 = json_array_get(json_object_get(rep, "errors"), 0);
        const char *why = json_string_value(json_object_get(e0, "error"));
        rc = vsfile_finish(e, coll, file_id, "invalid_file",
                           why ? why : "the file holds no text to index", 0, err);
    } else {
        rc = vsfile_finish(e, coll, file_id, NULL, NULL, (int64_t)len, err);
    }
    json_decref(rep);
out:
    free(data);
    ragd_buf_free(&path);
    json_decref(file);
    return rc;
}
