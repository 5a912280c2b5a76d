/* ingest/inputs.c — the inputs of a run, in order, as items.
 *
 * The walked files first (a JSONL file record by record, see
 * jsonl_records.c), then the in-memory documents of ingest_texts. Each
 * becomes an item (pipeline_internal.h) carrying its document id, source,
 * fallback title and metadata, and the progress it stands for once
 * committed. Runs on the writer: the iterator is not shared.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/pipeline_internal.h"

item *ingest_item_new(item_kind kind, const char *label)
{
    item *it = ragd_xcalloc(1, sizeof *it);
    it->kind = kind;
    it->label = ragd_xstrdup(label);
    ragd_error_clear(&it->err);
    return it;
}

void ingest_item_free(item *it)
{
    if (!it) return;
    free(it->label);
    free(it->key);
    free(it->source);
    free(it->path);
    free(it->abspath);
    free(it->warning);
    free(it->fallback_title);
    free(it->hash_extra);
    free(it->metadata_json);
    free(it->raw);
    if (it->have_doc) ingest_doc_free(&it->d);
    chunk_list_free(&it->cl);
    summary_pre_free(it->pre_summary);
    free(it->vecs);
    for (size_t i = 0; i < it->ncwords; i++)
        ragd_buf_free(&it->cwords[i]);
    free(it->cwords);
    ragd_buf_free(&it->swords);
    free(it->miss_hash);
    free(it->miss_vecs);
    summary_llm_clear(&it->llm);
    free(it);
}

/* One in-memory document (ingest_texts). A title given for a plain-text
 * document heads its text, as for a BEIR record, so it is searchable and
 * quotable; Markdown and HTML keep their own title, the given one is the
 * fallback. The format "auto" (or NULL) is sniffed from the id's extension,
 * then the content. */
static item *text_item(run *r, const ingest_text *t)
{
    ragd_buf label = RAGD_BUF_INIT;
    ragd_buf_printf(&label, "document '%s'", t->id);
    ragd_error e;
    ragd_error_clear(&e);
    const char *fmt =
        ingest_detect_format(t->id, t->format && strcmp(t->format, "auto") ? t->format : NULL,
                             t->text, t->len < 4096 ? t->len : 4096, &e);
    item *it;
    if (!fmt || !strcmp(fmt, "jsonl") || (!strcmp(fmt, "pdf") && !t->upload)) {
        it = ingest_item_new(IT_ERROR, label.data);
        if (fmt)
            ragd_error_set(&it->err, RAGD_EINPUT,
                           "format '%s' is not accepted inline; upload a file", fmt);
        else
            it->err = e;
    } else {
        it = ingest_item_new(IT_RECORD, label.data);
        ragd_buf body = RAGD_BUF_INIT;
        bool plain = !strcmp(fmt, "txt");
        if (plain && t->title && *t->title && !t->upload)
            ragd_buf_printf(&body, "%s\n\n", t->title);
        ragd_buf_append(&body, t->text, t->len);
        it->n = body.len;
        it->raw = ragd_buf_steal(&body);
        if (!it->raw) it->raw = ragd_xstrdup("");
        it->format = fmt;
        it->key = ragd_xstrdup(t->id);
        it->source = ragd_xstrdup(t->source && *t->source ? t->source : t->id);
        it->fallback_title = ragd_xstrdup(t->title && *t->title ? t->title : t->id);
        char *mj = t->metadata_json ? ragd_xstrdup(t->metadata_json) : NULL;
        char *merged = ingest_meta_merge(r->meta, mj);
        if (merged) {
            free(mj);
            mj = merged;
        }
        it->hash_extra = mj;
        it->metadata_json = mj ? ragd_xstrdup(mj) : NULL;
        it->size = t->len;
    }
    ragd_buf_free(&label);
    return it;
}

/* The next record of the open JSONL file, or its end mark (the file is
 * then closed). */
static item *next_jsonl_item(run *r, input_iter *in)
{
    ssize_t got;
    while ((got = getline(&in->jline_buf, &in->jline_cap, in->jf)) > 0) {
        size_t n = (size_t)got;
        in->jline++;
        in->jpos += n;
        while (n && (in->jline_buf[n - 1] == '\n' || in->jline_buf[n - 1] == '\r'))
            n--;
        if (!n) continue;
        size_t maxb = r->o->max_bytes ? r->o->max_bytes : INGEST_DEFAULT_MAX_BYTES;
        item *it;
        if (n > maxb) {
            ragd_buf label = RAGD_BUF_INIT;
            ragd_buf_printf(&label, "%s:%zu", in->jpath, in->jline);
            it = ingest_item_new(IT_ERROR, label.data);
            ragd_buf_free(&label);
            ragd_error_set(&it->err, RAGD_EINPUT,
                           "record too large: %.1f MB exceeds the %.1f MB limit "
                           "(--max-bytes)",
                           n / 1048576.0, maxb / 1048576.0);
        } else {
            it = ingest_jsonl_line(in->jpath, in->jsource, in->jline, in->jline_buf, n);
        }
        it->files_done = in->files_done;
        it->done_bytes = in->jbase + (in->jpos < in->jsize ? in->jpos : in->jsize);
        return it;
    }
    fclose(in->jf);
    in->jf = NULL;
    free(in->jsource);
    in->jsource = NULL;
    item *m = ingest_item_new(IT_MARK, in->jpath);
    in->files_done++;
    in->done_bytes = in->jbase + in->jsize;
    m->files_done = in->files_done;
    m->done_bytes = in->done_bytes;
    return m;
}

/* A file to read (not JSONL). */
static item *file_item(run *r, const input_file *f)
{
    item *it = ingest_item_new(IT_FILE, f->path);
    it->path = ragd_xstrdup(f->path);
    /* Ids, sources and titles are valid UTF-8 (JSON output): a file
     * name that is not keeps its bytes as \xHH escapes (core/text.h). */
    it->key = text_escape_invalid(f->key);
    it->source = text_escape_invalid(f->path);
    it->abspath = text_escape_invalid(f->abs);
    it->walked = f->walked;
    const char *slash = strrchr(it->source, '/');
    it->fallback_title = ragd_xstrdup(slash ? slash + 1 : it->source);
    it->hash_extra = ingest_meta_merge(r->meta, NULL);
    it->metadata_json = it->hash_extra ? ragd_xstrdup(it->hash_extra) : NULL;
    it->size = (size_t)f->size;
    return it;
}

/* The next input in order (false at the end): each file, and each line of
 * a JSONL file (read here, on the writer), then a mark at its end. */
bool ingest_next_item(run *r, input_iter *in, item **out)
{
    for (;;) {
        if (in->jf) {
            *out = next_jsonl_item(r, in);
            return true;
        }
        if (in->fi >= in->files->n) {
            if (in->ti >= in->ntexts) return false;
            item *it = text_item(r, &in->texts[in->ti++]);
            in->files_done++;
            in->done_bytes += in->texts[in->ti - 1].len;
            it->files_done = in->files_done;
            it->done_bytes = in->done_bytes;
            *out = it;
            return true;
        }
        const input_file *f = &in->files->v[in->fi++];
        ragd_error e;
        ragd_error_clear(&e);
        /* JSONL comes only from the extension or --format: no bytes needed. */
        const char *fmt = ingest_detect_format(f->path, r->o->format, "", 0, &e);
        item *it;
        if (fmt && !strcmp(fmt, "jsonl")) {
            FILE *jf = NULL;
            if (!ingest_jsonl_open(f->path, &jf, &e)) {
                in->jf = jf;
                in->jpos = in->jline = 0;
                in->jbase = in->done_bytes;
                in->jsize = (size_t)f->size;
                in->jpath = f->path;
                in->jsource = text_escape_invalid(f->path);
                continue;
            }
            it = ingest_item_new(IT_ERROR, f->path);
            it->err = e;
        } else {
            it = file_item(r, f);
        }
        in->files_done++;
        in->done_bytes += (size_t)f->size;
        it->files_done = in->files_done;
        it->done_bytes = in->done_bytes;
        *out = it;
        return true;
    }
}

bool ingest_needs_work(const item *it)
{
    return it->kind == IT_FILE || it->kind == IT_RECORD || it->kind == IT_JSONL;
}
