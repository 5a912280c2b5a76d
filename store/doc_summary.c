/* store/doc_summary.c — reading a document's stored summary.
 *
 * The summary JSON is built at ingest time (ingest/summary.c) and stored in
 * documents.summary by store_doc_put. This file reads it back: whole, or as
 * the one line the context assembler puts under a source's header.
 */
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "store/store.h"

/* Longest summary line in bytes, before the ellipsis. */
#define SUMMARY_LINE_MAX 200

ragd_status store_doc_summary(ragd_store *st, int64_t coll, const char *doc_key, json_t **out,
                              ragd_error *err)
{
    *out = NULL;
    sqlite3 *db = store_db(st);
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT summary FROM documents WHERE collection_id=? AND doc_key=?",
                           -1, &q, NULL) != SQLITE_OK)
        return store_sqlite_error(db, err, "cannot read document summary");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, doc_key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(q, 0);
        json_t *j = t ? json_loads(t, 0, NULL) : NULL;
        if (!json_is_object(j)) {
            json_decref(j);
            j = json_object();
        }
        *out = j;
    }
    sqlite3_finalize(q);
    if (r == SQLITE_DONE) return ragd_error_set(err, RAGD_ENOTFOUND, "no document '%s'", doc_key);
    if (r != SQLITE_ROW) return store_sqlite_error(db, err, "cannot read document summary");
    return RAGD_OK;
}

/* Collapse whitespace runs to one space, drop "**", trim the ends. */
static char *clean_line(const char *s)
{
    ragd_buf b = RAGD_BUF_INIT;
    bool space = false;
    for (const char *p = s; *p; p++) {
        if (p[0] == '*' && p[1] == '*') {
            p++;
            continue;
        }
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v') {
            space = b.len > 0;
            continue;
        }
        if (space) ragd_buf_putc(&b, ' ');
        space = false;
        ragd_buf_putc(&b, *p);
    }
    return ragd_buf_steal(&b);
}

ragd_status store_doc_summary_line(ragd_store *st, int64_t coll, const char *doc_key, char **out,
                                   ragd_error *err)
{
    *out = NULL;
    json_t *sum = NULL;
    ragd_status rc = store_doc_summary(st, coll, doc_key, &sum, err);
    if (rc) return rc;
    json_t *arr = json_object_get(sum, "summary"), *best = NULL, *s;
    size_t i;
    json_array_foreach(arr, i, s)
    {
        if (!best) best = s;
        if (json_integer_value(json_object_get(s, "rank")) == 1) {
            best = s;
            break;
        }
    }
    const char *text = json_string_value(json_object_get(best, "text"));
    /* An LLM abstract (--summarizer llm) is the line when there is one. */
    const char *abstract = json_string_value(json_object_get(sum, "abstract"));
    if (abstract && *abstract) text = abstract;
    if (text && *text) {
        char *line = clean_line(text);
        size_t n = strlen(line);
        if (n > SUMMARY_LINE_MAX) {
            /* Cut at the last space within the limit, else at a grapheme
             * boundary (one long word, or CJK text without spaces). */
            size_t cut = SUMMARY_LINE_MAX;
            while (cut > SUMMARY_LINE_MAX / 2 && line[cut] != ' ')
                cut--;
            if (line[cut] != ' ') cut = text_grapheme_floor(line, n, SUMMARY_LINE_MAX);
            while (cut > 0 && (line[cut - 1] == ' ' || line[cut - 1] == ',' ||
                               line[cut - 1] == ';' || line[cut - 1] == ':'))
                cut--;
            line[cut] = '\0';
            ragd_buf b = RAGD_BUF_INIT;
            ragd_buf_puts(&b, line);
            ragd_buf_puts(&b, "\xE2\x80\xA6");
            free(line);
            line = ragd_buf_steal(&b);
        }
        if (*line)
            *out = line;
        else
            free(line);
    }
    json_decref(sum);
    return RAGD_OK;
}
