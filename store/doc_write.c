/* store/doc_write.c — writing and deleting documents in SQLite.
 *
 * Every write of a document goes through store_doc_put, which deletes the
 * previous version (FTS rows first: FTS5 has no foreign keys) and inserts the
 * new rows inside one IMMEDIATE transaction, or inside one savepoint of a
 * batch's transaction (store_batch_begin; its FTS5 rows are queued and
 * inserted just before its COMMIT, because FTS5 writes its pending terms to
 * disk at every SAVEPOINT). Readers see either the old or the new document,
 * never a mix. Thread-safety: as store/store.h (one thread per handle).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/text.h"
#include "retrieve/words_blob.h"
#include "store/store_internal.h"

/* One chunk's FTS5 row, queued in a batch (all strings owned). dropped:
 * the number of the document write (savepoint) that deleted its document
 * again, 0 while it stands. */
struct store_pending_fts {
    int64_t rowid, doc_rowid, coll;
    char *title, *head, *body;
    uint64_t dropped;
};

ragd_status store_doc_find(ragd_store *st, int64_t coll, const char *key, bool *found,
                           char hash[65], char **path, ragd_error *err)
{
    sqlite3_stmt *q;
    *found = false;
    if (path) *path = NULL;
    if (store_prepare(st,
                      "SELECT content_hash, path FROM documents WHERE collection_id=? AND "
                      "doc_key=?",
                      &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot look up document");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW) {
        *found = true;
        if (hash) snprintf(hash, 65, "%s", (const char *)sqlite3_column_text(q, 0));
        const unsigned char *p = sqlite3_column_text(q, 1);
        if (path) *path = ragd_xstrdup(p ? (const char *)p : "");
    }
    if (r != SQLITE_ROW && r != SQLITE_DONE) {
        ragd_status rc = store_sqlite_error(store_db(st), err, "cannot look up document");
        store_release(st, q);
        return rc;
    }
    store_release(st, q);
    return RAGD_OK;
}

/* Free the queued FTS rows from index `from` on. */
static void fts_truncate(ragd_store *st, size_t from)
{
    store_write_batch *wb = store_write_batch_of(st);
    for (size_t i = from; i < wb->nfts; i++) {
        free(wb->fts[i].title);
        free(wb->fts[i].head);
        free(wb->fts[i].body);
    }
    if (from < wb->nfts) wb->nfts = from;
    if (!wb->nfts) {
        free(wb->fts);
        wb->fts = NULL;
        wb->capfts = 0;
    }
}

/* A document written earlier in this batch is deleted (the same id twice
 * in one run): its queued FTS rows go with it. */
static void fts_drop_doc(ragd_store *st, int64_t coll, const char *key)
{
    store_write_batch *wb = store_write_batch_of(st);
    sqlite3_stmt *q;
    int64_t id = -1;
    if (store_prepare(st, "SELECT id FROM documents WHERE collection_id=? AND doc_key=?", &q) !=
        SQLITE_OK)
        return;
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(q) == SQLITE_ROW) id = sqlite3_column_int64(q, 0);
    store_release(st, q);
    for (size_t i = 0; i < wb->nfts; i++)
        if (wb->fts[i].doc_rowid == id && !wb->fts[i].dropped) wb->fts[i].dropped = wb->put_seq;
}

/* Insert the batch's queued FTS rows (then drops the queue). */
static ragd_status fts_flush(ragd_store *st, ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    ragd_status rc = RAGD_OK;
    if (!wb->nfts) return RAGD_OK;
    sqlite3_stmt *fq;
    if (store_prepare(st,
                      "INSERT INTO chunks_fts(rowid, title, heading, body, coll) VALUES "
                      "(?,?,?,?,'c' || ?)",
                      &fq) != SQLITE_OK)
        rc = store_sqlite_error(store_db(st), err, "cannot index chunk");
    for (size_t i = 0; !rc && i < wb->nfts; i++) {
        const store_pending_fts *f = &wb->fts[i];
        if (f->dropped) continue;
        sqlite3_reset(fq);
        sqlite3_bind_int64(fq, 1, f->rowid);
        sqlite3_bind_text(fq, 2, f->title, -1, SQLITE_STATIC);
        sqlite3_bind_text(fq, 3, f->head, -1, SQLITE_STATIC);
        sqlite3_bind_text(fq, 4, f->body, -1, SQLITE_STATIC);
        sqlite3_bind_int64(fq, 5, f->coll);
        if (sqlite3_step(fq) != SQLITE_DONE)
            rc = store_sqlite_error(store_db(st), err, "cannot index chunk");
    }
    store_release(st, fq);
    fts_truncate(st, 0);
    return rc;
}

/* Delete the document's FTS rows and the document (cascading to chunks,
 * parents, vectors). Chunk ids of dense-indexed chunks are recorded in
 * deleted_chunks so the vector index can drop them. Inside a transaction. */
ragd_status store_doc_delete_rows(ragd_store *st, int64_t coll, const char *key, bool *existed,
                                  ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    static const char *const SQL[] = {
        "INSERT OR IGNORE INTO deleted_chunks(collection_id, chunk_id) "
        "SELECT d.collection_id, v.chunk_id FROM vectors v JOIN chunks c ON c.id = v.chunk_id "
        "JOIN documents d ON d.id = c.document_id WHERE d.collection_id=?1 AND d.doc_key=?2",
        "DELETE FROM chunks_fts WHERE rowid IN (SELECT c.id FROM chunks c JOIN documents d ON "
        "d.id = c.document_id WHERE d.collection_id=?1 AND d.doc_key=?2)",
        "DELETE FROM documents WHERE collection_id=?1 AND doc_key=?2",
    };
    if (wb->nfts) fts_drop_doc(st, coll, key);
    for (size_t i = 0; i < sizeof SQL / sizeof SQL[0]; i++) {
        sqlite3_stmt *q;
        if (store_prepare(st, SQL[i], &q) != SQLITE_OK)
            return store_sqlite_error(store_db(st), err, "cannot delete document");
        sqlite3_bind_int64(q, 1, coll);
        sqlite3_bind_text(q, 2, key, -1, SQLITE_TRANSIENT);
        int r = sqlite3_step(q);
        if (i == 2 && existed && r == SQLITE_DONE) *existed = sqlite3_changes(store_db(st)) > 0;
        store_release(st, q);
        if (r != SQLITE_DONE)
            return store_sqlite_error(store_db(st), err, "cannot delete document");
    }
    return RAGD_OK;
}

static ragd_status doc_insert_rows(ragd_store *st, int64_t coll, const store_doc *doc,
                                   const store_parent *parents, size_t nparents,
                                   const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                                   ragd_error *err);

ragd_status store_doc_put_rows(ragd_store *st, int64_t coll, const store_doc *doc,
                               const store_parent *parents, size_t nparents,
                               const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                               ragd_error *err)
{
    ragd_status rc =
        doc->known_new ? RAGD_OK : store_doc_delete_rows(st, coll, doc->key, NULL, err);
    if (!rc)
        rc = doc_insert_rows(st, coll, doc, parents, nparents, chunks, nchunks, doc_rowid, err);
    return rc;
}

/* text_space_cjk, without decoding text that cannot hold a CJK character
 * (every one is U+3040 or above: a UTF-8 lead byte of 0xE3 or more), where
 * it returns a copy of its input. */
static char *space_cjk(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0xE3) return text_space_cjk(s, n);
    return ragd_xstrndup(s, n);
}

/* The document's row; *doc_rowid its id. */
static ragd_status insert_document(ragd_store *st, int64_t coll, const store_doc *doc,
                                   const ragd_buf *summary_words, int64_t *doc_rowid,
                                   ragd_error *err)
{
    sqlite3_stmt *q = NULL;
    if (store_prepare(st,
                      "INSERT INTO documents(collection_id, doc_key, source, format, "
                      "content_hash, title, metadata, summary, text, bytes, tokens, "
                      "ingested_at, path, summary_words) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                      &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot insert document");
    sqlite3_bind_int64(q, 1, coll);
    sqlite3_bind_text(q, 2, doc->key, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 3, doc->source ? doc->source : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 4, doc->format ? doc->format : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 5, doc->content_hash, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 6, doc->title ? doc->title : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 7, doc->metadata_json ? doc->metadata_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 8, doc->summary_json ? doc->summary_json : "{}", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(q, 9, doc->text, (int)doc->text_len, SQLITE_STATIC);
    sqlite3_bind_int64(q, 10, (sqlite3_int64)doc->text_len);
    sqlite3_bind_int64(q, 11, (sqlite3_int64)doc->tokens);
    sqlite3_bind_int64(q, 12, (int64_t)time(NULL));
    sqlite3_bind_text(q, 13, doc->path ? doc->path : "", -1, SQLITE_TRANSIENT);
    if (summary_words)
        sqlite3_bind_blob(q, 14, summary_words->data, (int)summary_words->len, SQLITE_STATIC);
    else
        sqlite3_bind_null(q, 14);
    ragd_status rc = RAGD_OK;
    if (sqlite3_step(q) != SQLITE_DONE)
        rc = store_sqlite_error(store_db(st), err, "cannot insert document");
    else
        *doc_rowid = sqlite3_last_insert_rowid(store_db(st));
    store_release(st, q);
    return rc;
}

/* documents.summary_words of a document: its summary text read as
 * search's fallback reads it (json_extract of the stored JSON, bound here
 * as the same text), then words_blob_summary, into blob; *valid false (the
 * column stays NULL) when the JSON is not valid: search then fails on it as
 * it always did. Computed before the row is inserted (an UPDATE would fire
 * the write-generation trigger a second time). */
static ragd_status summary_words_of(ragd_store *st, const char *summary_json, ragd_buf *blob,
                                    bool *valid, ragd_error *err)
{
    sqlite3_stmt *q;
    *valid = false;
    if (store_prepare(st,
                      "SELECT json_valid(?1), CASE WHEN json_valid(?1) THEN json_extract(?1, "
                      "'$.summary_text') END",
                      &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot read summary text");
    sqlite3_bind_text(q, 1, summary_json, -1, SQLITE_STATIC);
    int r = sqlite3_step(q);
    if (r == SQLITE_ROW && sqlite3_column_int(q, 0) != 0) {
        const unsigned char *t = sqlite3_column_text(q, 1);
        words_blob_summary(t ? (const char *)t : "", blob);
        *valid = true;
    }
    store_release(st, q);
    return r == SQLITE_ROW ? RAGD_OK
                           : store_sqlite_error(store_db(st), err, "cannot read summary text");
}

/* The parent sections; ids[i] receives parent i's row id. */
static ragd_status insert_parents(ragd_store *st, int64_t doc_rowid, const store_parent *parents,
                                  size_t nparents, int64_t *ids, ragd_error *err)
{
    sqlite3_stmt *q = NULL;
    if (store_prepare(st,
                      "INSERT INTO parents(document_id, ord, start, end, heading_path, "
                      "tokens) VALUES (?,?,?,?,?,?)",
                      &q) != SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot insert parent");
    ragd_status rc = RAGD_OK;
    for (size_t i = 0; i < nparents && !rc; i++) {
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, doc_rowid);
        sqlite3_bind_int64(q, 2, (sqlite3_int64)i);
        sqlite3_bind_int64(q, 3, (sqlite3_int64)parents[i].start);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)parents[i].end);
        sqlite3_bind_text(q, 5, parents[i].heading_path ? parents[i].heading_path : "", -1,
                          SQLITE_STATIC);
        sqlite3_bind_int64(q, 6, (sqlite3_int64)parents[i].tokens);
        if (sqlite3_step(q) != SQLITE_DONE)
            rc = store_sqlite_error(store_db(st), err, "cannot insert parent");
        else
            ids[i] = sqlite3_last_insert_rowid(store_db(st));
    }
    store_release(st, q);
    return rc;
}

static ragd_status insert_vector(ragd_store *st, const store_doc *doc, int64_t cid,
                                 const float *vec, ragd_error *err)
{
    sqlite3_stmt *vq;
    if (store_prepare(st, "INSERT INTO vectors(chunk_id, model, dim, vec) VALUES (?,?,?,?)", &vq) !=
        SQLITE_OK)
        return store_sqlite_error(store_db(st), err, "cannot store vector");
    sqlite3_bind_int64(vq, 1, cid);
    sqlite3_bind_text(vq, 2, doc->vec_model ? doc->vec_model : "", -1, SQLITE_STATIC);
    sqlite3_bind_int(vq, 3, doc->vec_dim);
    sqlite3_bind_blob(vq, 4, vec, (int)(sizeof(float) * (size_t)doc->vec_dim), SQLITE_STATIC);
    int vr = sqlite3_step(vq);
    store_release(st, vq);
    return vr == SQLITE_DONE ? RAGD_OK
                             : store_sqlite_error(store_db(st), err, "cannot store vector");
}

/* A chunk's FTS5 row (title and text with CJK spaced): inserted now, or
 * queued in the open batch. Takes head and body. */
static ragd_status index_chunk(ragd_store *st, sqlite3_stmt *fq, int64_t coll, int64_t doc_rowid,
                               int64_t cid, const char *ftitle, char *head, char *body,
                               ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    if (wb->open) {
        ragd_array_grow((void **)&wb->fts, &wb->capfts, wb->nfts + 1, sizeof *wb->fts);
        wb->fts[wb->nfts++] = (store_pending_fts){.rowid = cid,
                                                  .doc_rowid = doc_rowid,
                                                  .coll = coll,
                                                  .title = ragd_xstrdup(ftitle),
                                                  .head = head,
                                                  .body = body};
        return RAGD_OK;
    }
    ragd_status rc = RAGD_OK;
    sqlite3_reset(fq);
    sqlite3_bind_int64(fq, 1, cid);
    sqlite3_bind_text(fq, 2, ftitle, -1, SQLITE_STATIC);
    sqlite3_bind_text(fq, 3, head, -1, SQLITE_STATIC);
    sqlite3_bind_text(fq, 4, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(fq, 5, coll);
    if (sqlite3_step(fq) != SQLITE_DONE)
        rc = store_sqlite_error(store_db(st), err, "cannot index chunk");
    sqlite3_reset(fq);
    free(body);
    free(head);
    return rc;
}

static ragd_status doc_insert_rows(ragd_store *st, int64_t coll, const store_doc *doc,
                                   const store_parent *parents, size_t nparents,
                                   const store_chunk *chunks, size_t nchunks, int64_t *doc_rowid,
                                   ragd_error *err)
{
    ragd_buf blob = RAGD_BUF_INIT; /* chunk_words / summary_words (retrieve/words_blob.h) */
    bool valid = false;
    ragd_status rc = RAGD_OK;
    if (doc->summary_words && doc->summary_json) {
        ragd_buf_append(&blob, doc->summary_words, doc->summary_words_len);
        valid = true;
    } else {
        rc = summary_words_of(st, doc->summary_json ? doc->summary_json : "{}", &blob, &valid, err);
    }
    if (!rc) rc = insert_document(st, coll, doc, valid ? &blob : NULL, doc_rowid, err);
    if (rc) {
        ragd_buf_free(&blob);
        return rc;
    }
    int64_t *parent_ids = NULL;
    if (nparents) {
        parent_ids = ragd_xcalloc(nparents, sizeof *parent_ids);
        rc = insert_parents(st, *doc_rowid, parents, nparents, parent_ids, err);
        if (rc) {
            free(parent_ids);
            ragd_buf_free(&blob);
            return rc;
        }
    }
    sqlite3_stmt *q = NULL, *fq = NULL;
    if (store_prepare(st,
                      "INSERT INTO chunks(document_id, parent_id, ord, start, end, "
                      "heading_path, header, tokens, text, meta, chunk_words) VALUES "
                      "(?,?,?,?,?,?,?,?,?,?,?)",
                      &q) != SQLITE_OK ||
        store_prepare(st,
                      "INSERT INTO chunks_fts(rowid, title, heading, body, coll) VALUES "
                      "(?,?,?,?,'c' || ?)",
                      &fq) != SQLITE_OK) {
        rc = store_sqlite_error(store_db(st), err, "cannot insert chunk");
        store_release(st, fq);
        store_release(st, q);
        free(parent_ids);
        ragd_buf_free(&blob);
        return rc;
    }
    char *ftitle = space_cjk(doc->title ? doc->title : "", doc->title ? strlen(doc->title) : 0);
    sqlite3_int64 ord = 0;
    for (size_t i = 0; i < nchunks && rc == RAGD_OK; i++) {
        const store_chunk *c = &chunks[i];
        if (c->summary && !c->text) {
            rc = ragd_error_set(err, RAGD_EINTERNAL, "chunk %zu: a summary entry without text", i);
            break;
        }
        /* The summary entry's own text; every other chunk is a slice. */
        const char *ctext = c->summary ? c->text : doc->text + c->start;
        size_t clen = c->summary ? strlen(c->text) : c->end - c->start;
        if (c->end < c->start || c->end > doc->text_len) {
            rc = ragd_error_set(err, RAGD_EINTERNAL,
                                "chunk %zu has offsets %zu..%zu outside the "
                                "document (%zu bytes)",
                                i, c->start, c->end, doc->text_len);
            break;
        }
        sqlite3_reset(q);
        sqlite3_bind_int64(q, 1, *doc_rowid);
        if (c->parent >= 0 && (size_t)c->parent < nparents)
            sqlite3_bind_int64(q, 2, parent_ids[c->parent]);
        else
            sqlite3_bind_null(q, 2);
        sqlite3_bind_int64(q, 3, c->summary ? -1 : ord++);
        sqlite3_bind_int64(q, 4, (sqlite3_int64)c->start);
        sqlite3_bind_int64(q, 5, (sqlite3_int64)c->end);
        sqlite3_bind_text(q, 6, c->heading_path ? c->heading_path : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(q, 7, c->header ? c->header : "", -1, SQLITE_STATIC);
        sqlite3_bind_int64(q, 8, (sqlite3_int64)c->tokens);
        sqlite3_bind_text(q, 9, ctext, (int)clen, SQLITE_STATIC);
        sqlite3_bind_text(q, 10,
                          c->summary     ? STORE_SUMMARY_META
                          : c->meta_json ? c->meta_json
                                         : "{}",
                          -1, SQLITE_STATIC);
        /* The words search reads back: title, heading and text each up to
         * a NUL, as sqlite3_column_text + strlen see them. */
        if (c->words) {
            sqlite3_bind_blob(q, 11, c->words, (int)c->words_len, SQLITE_STATIC);
        } else {
            char *tx = ragd_xstrndup(ctext, clen);
            words_blob_chunk(doc->title ? doc->title : "", c->heading_path ? c->heading_path : "",
                             tx, &blob);
            free(tx);
            sqlite3_bind_blob(q, 11, blob.data, (int)blob.len, SQLITE_STATIC);
        }
        if (sqlite3_step(q) != SQLITE_DONE) {
            rc = store_sqlite_error(store_db(st), err, "cannot insert chunk");
            break;
        }
        int64_t cid = sqlite3_last_insert_rowid(store_db(st));
        if (c->vec && doc->vec_dim > 0 && (rc = insert_vector(st, doc, cid, c->vec, err))) break;
        rc = index_chunk(st, fq, coll, *doc_rowid, cid, ftitle,
                         space_cjk(c->heading_path ? c->heading_path : "",
                                   c->heading_path ? strlen(c->heading_path) : 0),
                         space_cjk(ctext, clen), err);
    }
    free(ftitle);
    ragd_buf_free(&blob);
    store_release(st, fq);
    store_release(st, q);
    free(parent_ids);
    return rc;
}

ragd_status store_doc_put(ragd_store *st, int64_t coll, const store_doc *doc,
                          const store_parent *parents, size_t nparents, const store_chunk *chunks,
                          size_t nchunks, int64_t *doc_rowid, ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    if (store_pg_of(st))
        return store_pg_doc_put(st, coll, doc, parents, nparents, chunks, nchunks, doc_rowid, err);
    if (wb->open) {
        /* One savepoint of the batch's transaction: a failure rolls back
         * this document's rows only. */
        if (sqlite3_get_autocommit(store_db(st)))
            return ragd_error_set(err, RAGD_ESTORE,
                                  "the batch's transaction was rolled back by an earlier error");
        size_t nfts = wb->nfts;
        uint64_t seq = ++wb->put_seq;
        ragd_status rc = store_exec_cached(st, "SAVEPOINT doc_put", err);
        if (rc) return rc;
        rc = store_doc_put_rows(st, coll, doc, parents, nparents, chunks, nchunks, doc_rowid, err);
        if (!rc) rc = store_exec_cached(st, "RELEASE doc_put", err);
        if (rc) {
            if (!sqlite3_get_autocommit(store_db(st))) {
                store_exec_cached(st, "ROLLBACK TO doc_put", NULL);
                store_exec_cached(st, "RELEASE doc_put", NULL);
            }
            /* This write's rows go; an old version it deleted (written
             * earlier in the batch) is back, and so are its rows. */
            fts_truncate(st, nfts < wb->nfts ? nfts : wb->nfts);
            for (size_t i = 0; i < wb->nfts; i++)
                if (wb->fts[i].dropped == seq) wb->fts[i].dropped = 0;
        }
        return rc;
    }
    ragd_status rc = store_exec_cached(st, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    rc = store_doc_put_rows(st, coll, doc, parents, nparents, chunks, nchunks, doc_rowid, err);
    if (!rc) rc = store_exec_cached(st, "COMMIT", err);
    if (rc) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

ragd_status store_batch_begin(ragd_store *st, ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    if (store_pg_of(st) || wb->open) return RAGD_OK;
    ragd_status rc = store_exec_cached(st, "BEGIN IMMEDIATE", err);
    if (!rc) wb->open = true;
    return rc;
}

bool store_batch_active(ragd_store *st)
{
    store_write_batch *wb = store_write_batch_of(st);
    return wb->open && !sqlite3_get_autocommit(store_db(st));
}

ragd_status store_batch_commit(ragd_store *st, ragd_error *err)
{
    store_write_batch *wb = store_write_batch_of(st);
    if (!wb->open) return RAGD_OK;
    wb->open = false;
    if (sqlite3_get_autocommit(store_db(st))) {
        fts_truncate(st, 0);
        return ragd_error_set(err, RAGD_ESTORE,
                              "the batch's transaction was rolled back by an earlier error; "
                              "its documents were not stored");
    }
    ragd_status rc = fts_flush(st, err);
    if (!rc) rc = store_exec_cached(st, "COMMIT", err);
    if (rc) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void store_batch_rollback(ragd_store *st)
{
    store_write_batch *wb = store_write_batch_of(st);
    fts_truncate(st, 0);
    if (!wb->open) return;
    wb->open = false;
    if (!sqlite3_get_autocommit(store_db(st)))
        sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
}

ragd_status store_doc_delete(ragd_store *st, int64_t coll, const char *key, ragd_error *err)
{
    if (store_pg_of(st)) return store_pg_doc_delete(st, coll, key, err);
    ragd_status rc = store_exec(st, "BEGIN IMMEDIATE", err);
    if (rc) return rc;
    bool existed = false;
    rc = store_doc_delete_rows(st, coll, key, &existed, err);
    if (!rc && !existed) rc = ragd_error_set(err, RAGD_ENOTFOUND, "no document '%s'", key);
    if (!rc) rc = store_exec(st, "COMMIT", err);
    if (rc) sqlite3_exec(store_db(st), "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

void store_write_batch_free(store_write_batch *b)
{
    for (size_t i = 0; i < b->nfts; i++) {
        free(b->fts[i].title);
        free(b->fts[i].head);
        free(b->fts[i].body);
    }
    free(b->fts);
    b->fts = NULL;
    b->nfts = b->capfts = 0;
}
