/* store/store.h — the SQLite system of record.
 *
 * A data directory holds ragd.db (SQLite, WAL) and faiss/ (derived vector
 * index snapshots). The schema (store/schema.c) is versioned with
 * PRAGMA user_version and migrated forward on open. It holds collections and
 * their settings, documents (normalized text, metadata and summary JSON),
 * parent sections, chunks (byte offsets into the document text), an FTS5
 * table over chunks, and room for vectors, an embedding cache, jobs, API keys
 * and request/feedback logs.
 *
 * One document's rows (document, parents, chunks, FTS rows) are written in one
 * transaction by store_doc_put, so a crash loses at most that document; inside
 * a batch (store_batch_begin) in one savepoint of the batch's transaction, so a
 * crash loses at most the uncommitted batch and never leaves half a document.
 *
 * Ownership: a ragd_store is opened by store_open and released by store_close.
 * Strings inside structs filled by store functions are owned by the struct and
 * released by the matching *_free function.
 *
 * Thread-safety: a ragd_store (one SQLite connection, opened with
 * SQLITE_OPEN_NOMUTEX) must be used by one thread at a time, whichever
 * function is called; open one store per thread for concurrent readers
 * (store_open_reader). Functions that take no ragd_store are reentrant.
 */
#ifndef RAGD_STORE_H
#define RAGD_STORE_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"

#define STORE_SCHEMA_VERSION 8

/* PRAGMA application_id of a ragd database: "RAGD". */
#define STORE_APPLICATION_ID 0x52414744

typedef struct ragd_store ragd_store;

/* Collection settings, fixed when the collection is created. In a request,
 * zero / empty fields mean "not specified". */
typedef struct {
    char chunker[16];        /* fixed | semantic | parent */
    int chunk_tokens;        /* window (fixed), max (semantic), child (parent) */
    int overlap;             /* tokens of overlap between windows; -1 unspecified */
    int parent_tokens;       /* parent window for flat text (parent chunker) */
    int semantic_percentile; /* semantic chunker: cut above this percentile of distances */
    char embedder[16];       /* local | openai | ollama */
    char embed_model[128];   /* model name */
    char embed_url[256];     /* provider base URL (remote embedders) */
    int dim;                 /* embedding dimension */
    char index_factory[64];  /* FAISS factory string */
    /* HNSW search depth (efSearch) for this collection's queries; 0 means
     * the default (VINDEX_EF_SEARCH_DEFAULT, 64). Stored only when set, so
     * older collections read as before. Ignored by non-HNSW indexes. */
    int ef_search;
} ragd_settings;

typedef struct {
    int64_t id;
    char name[128];
    ragd_settings settings;
} ragd_collection;

/* A document to write. All pointers are borrowed for the call. */
typedef struct {
    const char *key;    /* the document id, unique in its collection */
    const char *source; /* where it came from (path as given) */
    /* The file's absolute, lexically normalized path ("" or NULL when the
     * document did not come from a file: JSONL records, inline texts). Two
     * files never share a document id; see docs/cli.md "Document ids". */
    const char *path;
    const char *format; /* txt | md | ... */
    const char *title;
    const char *text; /* normalized text; chunk offsets point into it */
    size_t text_len;
    const char *content_hash;  /* SHA-256 hex of the raw input bytes */
    const char *metadata_json; /* JSON object text, or NULL for {} */
    const char *summary_json;  /* JSON object text, or NULL for {} */
    size_t tokens;
    const char *vec_model; /* embedding model of the chunks' vectors, or NULL */
    int vec_dim;           /* floats per chunk vector */
    /* The caller looked the key up in this transaction and found nothing:
     * there is no old version to delete (false: look, as always). */
    bool known_new;
    /* documents.summary_words precomputed by the caller (ingest computes it
     * on its workers): exactly words_blob_summary of the summary_text that
     * json_extract reads from summary_json (retrieve/words_blob.h), of
     * summary_words_len bytes, borrowed; the caller vouches that
     * summary_json is valid JSON. NULL: store_doc_put computes it. */
    const char *summary_words;
    size_t summary_words_len;
} store_doc;

/* A parent section (parent-document chunker); offsets into the doc text. */
typedef struct {
    size_t start, end, tokens;
    const char *heading_path;
} store_parent;

/* A chunk to write: its text is text[start:end] of the document.
 *
 * The document-level summary entry (summary true, docs/summary.md) is the
 * exception: its text is given (the summary sentences and keywords, not a
 * slice), it is stored with ord -1 and meta {"kind":"summary"} (meta_json
 * is ignored), and start/end span the whole document (0..text_len). It is
 * indexed (FTS5) and embedded like any chunk and deleted with the document. */
typedef struct {
    int parent; /* index into the parents array, or -1 */
    size_t start, end, tokens;
    const char *heading_path; /* " > "-joined headings, "" when none */
    const char *header;       /* contextual header (title + heading path) */
    const float *vec;         /* vec_dim floats, or NULL for no vector */
    const char *meta_json;    /* JSON object text (e.g. {"page":3}), or NULL for {} */
    bool summary;             /* the document's summary entry (see above) */
    const char *text;         /* summary entry: its text (NUL-terminated); else NULL */
    /* chunks.chunk_words precomputed by the caller (ingest computes it on
     * its workers, off the serial writer): exactly words_blob_chunk(title,
     * heading_path, text up to its first NUL) (retrieve/words_blob.h), of
     * words_len bytes, borrowed. NULL: store_doc_put computes it. */
    const char *words;
    size_t words_len;
} store_chunk;

/* chunks.meta of a document's summary entry, and the "kind" values shown
 * for chunks ("text" for ordinary chunks). */
#define STORE_SUMMARY_META "{\"kind\":\"summary\"}"
#define STORE_KIND_SUMMARY "summary"
#define STORE_KIND_TEXT "text"

/* Open (creating if needed) the data directory and its database, apply
 * migrations, enable WAL, foreign keys and a busy timeout.
 *
 * Before anything is written, an existing ragd.db is identified through a
 * read-only connection: it must carry ragd's PRAGMA application_id, or be a
 * ragd store from before the id (application_id 0, user_version 1..
 * STORE_SCHEMA_VERSION, ragd's tables present; it gets the id), or be empty.
 * Anything else — not an SQLite file, another application's id, a foreign
 * database with tables, a newer schema — is refused with RAGD_ESTORE and
 * left byte-for-byte unchanged. */
ragd_status store_open(const char *data_dir, ragd_store **out, ragd_error *err);

/* Open a read-only connection to the database of a data directory that
 * store_open has already created and migrated (no migrations, no pragmas
 * that write). In WAL mode it reads committed data while another connection
 * writes, so a worker thread can look things up (e.g. the embedding cache)
 * without touching the writer's connection. Writes through it fail. */
ragd_status store_open_reader(const char *data_dir, ragd_store **out, ragd_error *err);

/* Close the database and free the handle. NULL is a no-op. */
void store_close(ragd_store *st);

/* The underlying connection (borrowed; valid until store_close). */
sqlite3 *store_db(ragd_store *st);

/* A prepared statement for sql from the connection's statement cache (at most
 * 16 kept, finalized by store_close), else freshly prepared; returns
 * sqlite3_prepare_v2's code. Hand it back with store_release, which resets it
 * and clears its bindings (or finalizes it when it is not cached) — never
 * sqlite3_finalize. A statement is handed out to one caller at a time: a
 * nested use of the same SQL gets a fresh one. Same thread rule as the store. */
int store_prepare(ragd_store *st, const char *sql, sqlite3_stmt **q);
void store_release(ragd_store *st, sqlite3_stmt *q);

/* The data directory path (borrowed). */
const char *store_dir(ragd_store *st);

/* Find the collection `name`. When it does not exist and `create` is not
 * NULL, create it with `create` (defaults filled in for unspecified fields).
 * When it exists and `create` names a field that differs from the stored
 * settings, fail with RAGD_ECONFLICT naming both values. When it does not
 * exist and create is NULL, RAGD_ENOTFOUND. */
ragd_status store_collection_open(ragd_store *st, const char *name, const ragd_settings *create,
                                  ragd_collection *out, ragd_error *err);

/* Mark every field unspecified (zero, and overlap -1). */
void store_settings_init(ragd_settings *s);

/* Change a collection's FAISS factory (after a rebuild with it). */
ragd_status store_collection_set_factory(ragd_store *st, int64_t coll, const char *factory,
                                         ragd_error *err);

/* Fill unspecified fields of s with the built-in defaults. */
void store_settings_defaults(ragd_settings *s);

/* *out = create with the defaults filled in, checked as the settings of a
 * new collection (ef_search needs an HNSW index: RAGD_EUSAGE, field
 * "ef_search"). Both stores call it before creating a collection. */
ragd_status store_settings_new(const ragd_settings *create, ragd_settings *out, ragd_error *err);

/* Look up a document by key. Returns RAGD_OK with *found set; when found,
 * hash (65 bytes, may be NULL) receives its content hash and *path (may be
 * NULL; malloc'd, caller frees) its recorded file path ("" when none). */
ragd_status store_doc_find(ragd_store *st, int64_t coll, const char *key, bool *found,
                           char hash[65], char **path, ragd_error *err);

/* --- document paths (store/doc_paths.c) ------------------------------------ */

/* The id of the collection's document recorded with file path `path`
 * (malloc'd into *key, caller frees), or *key NULL when there is none. */
ragd_status store_doc_key_by_path(ragd_store *st, int64_t coll, const char *path, char **key,
                                  ragd_error *err);

/* Record `path` as the file path of document `key` (a moved file whose
 * content did not change, or a document stored before paths were kept). */
ragd_status store_doc_set_path(ragd_store *st, int64_t coll, const char *key, const char *path,
                               ragd_error *err);

/* Whether data_dir holds a ragd store (a ragd.db file). Commands that only
 * read check this first, so a mistyped --data is never created. */
bool store_exists(const char *data_dir);

/* Write a document with its parents and chunks in one transaction, replacing
 * any previous version with the same key. *doc_rowid receives the new row id. */
ragd_status store_doc_put(ragd_store *st, int64_t coll, const store_doc *doc,
                          const store_parent *parents, size_t nparents, const store_chunk *chunks,
                          size_t nchunks, int64_t *doc_rowid, ragd_error *err);

/* Batched writes (SQLite only; with a PostgreSQL store of record these do
 * nothing and every store_doc_put stays its own transaction). Between
 * store_batch_begin and store_batch_commit, store_doc_put writes each
 * document in a savepoint of one IMMEDIATE transaction: a failed document
 * rolls back only its own rows, and the batch becomes durable (and visible
 * to other connections) at store_batch_commit. Other writes on this handle
 * in between join the transaction. store_batch_active says whether a batch
 * is open: false after store_batch_begin when SQLite rolled the whole
 * transaction back on an I/O error or a full disk (the batch's documents
 * are then lost; store_batch_commit reports it). store_batch_rollback
 * drops an open batch. */
ragd_status store_batch_begin(ragd_store *st, ragd_error *err);
ragd_status store_batch_commit(ragd_store *st, ragd_error *err);
void store_batch_rollback(ragd_store *st);
bool store_batch_active(ragd_store *st);

/* Delete a document and everything derived from it. RAGD_ENOTFOUND if absent. */
ragd_status store_doc_delete(ragd_store *st, int64_t coll, const char *key, ragd_error *err);

/* {"documents":[{"id","source","path","title","chunks","bytes","ingested_at"}]}. New ref. */
ragd_status store_docs_json(ragd_store *st, int64_t coll, json_t **out, ragd_error *err);

/* {"id","source","path","title","format","summary","metadata","text","bytes","tokens",
 *  "content_hash","ingested_at"} for one document. New ref. */
ragd_status store_doc_json(ragd_store *st, int64_t coll, const char *key, json_t **out,
                           ragd_error *err);

/* {"doc_id","summary","chunks":[{"id","parent_id","ord","start","end",
 *  "heading_path","tokens","text","kind","meta"}],"parents":[{"id","ord",
 *  "start","end","heading_path","tokens"}]} ("parents" empty unless the
 *  collection uses the parent chunker). kind is "summary" for the document's
 *  summary entry (ord -1, listed first), "text" for every other chunk. New ref. */
ragd_status store_chunks_json(ragd_store *st, int64_t coll, const char *key, json_t **out,
                              ragd_error *err);

/* A parent section's text (parent-document chunker): the bytes
 * [start, end) of its document's text, read through the offsets stored in
 * `parents`. *text (NUL-terminated) and *heading_path are malloc'd (caller
 * frees); start/end/heading_path may be NULL. RAGD_ENOTFOUND when there is
 * no such parent. */
ragd_status store_parent_text(ragd_store *st, int64_t parent_id, char **text, size_t *start,
                              size_t *end, char **heading_path, ragd_error *err);

/* Bytes [start, end) of the stored text of document doc_key in collection
 * coll (offsets as chunks store them). *text is malloc'd and NUL-terminated
 * (caller frees); a range past the end is clipped. RAGD_ENOTFOUND when there
 * is no such document. Thread-safety: as the store. */
ragd_status store_doc_text_range(ragd_store *st, int64_t coll, const char *doc_key, size_t start,
                                 size_t end, char **text, ragd_error *err);

/* --- document summaries (store/doc_summary.c) ------------------------------ */

/* The document's stored summary object (documents.summary; {} for documents
 * stored without one). New ref in *out. RAGD_ENOTFOUND if there is no such
 * document. */
ragd_status store_doc_summary(ragd_store *st, int64_t coll, const char *doc_key, json_t **out,
                              ragd_error *err);

/* The document's one-line summary for a context header: its LLM abstract
 * when it has one (--summarizer llm), else its most central
 * summary sentence (rank 1), whitespace collapsed to single spaces, "**"
 * emphasis removed, trimmed to at most ~200 bytes at a word boundary (a
 * grapheme boundary inside a long word) with "…" appended when cut.
 * *out is malloc'd (caller frees), or NULL when the document has no summary
 * sentence. RAGD_ENOTFOUND if there is no such document. */
ragd_status store_doc_summary_line(ragd_store *st, int64_t coll, const char *doc_key, char **out,
                                   ragd_error *err);

/* --- vectors, embedding cache, index state (store/vectors.c) ------------- */

/* Look up cached embeddings for (model, text hash). For each i, found[i] is
 * set and out[i*dim..] filled when cached with this dim. */
ragd_status store_cache_get(ragd_store *st, const char *model, int dim, char (*hashes)[65],
                            size_t n, float *out, int *found, ragd_error *err);

/* Insert embeddings into the cache (existing keys are kept). Bounds the
 * cache: a put now and then (1 inserted row in 64, by text hash) checks
 * the model's rows against the live chunks and, when they exceed them by
 * more than max(256, chunks / 4), sweeps (store_cache_sweep) the rows no
 * live chunk's vector uses, keeping this put's own (store/vectors.c). */
ragd_status store_cache_put(ragd_store *st, const char *model, int dim, char (*hashes)[65],
                            size_t n, const float *vecs, ragd_error *err);

/* Delete the model's cache rows whose vector is no live chunk's vector
 * (table vectors, same model), except the keys in keep[0..nkeep);
 * *removed = rows deleted. Runs in the caller's transaction if any. */
ragd_status store_cache_sweep(ragd_store *st, const char *model, char (*keep)[65], size_t nkeep,
                              int64_t *removed, ragd_error *err);

/* The vector index state of a collection: what its FAISS snapshot was when
 * it was written. The snapshot is trusted only when the file's size and
 * SHA-256 match and the index read from it has this dim, ntotal and metric. */
typedef struct {
    char factory[64];      /* normalized factory string */
    int64_t last_chunk_id; /* the last chunk id the snapshot covers */
    char checksum[65];     /* SHA-256 hex of the file; "" if not recorded (schema < 4) */
    int64_t file_bytes;    /* size of the file */
    int64_t ntotal;        /* vectors in the index */
    int dim;               /* vector dimension */
    int metric;            /* FaissMetricType; -1 if not recorded */
} store_index_state;

/* *found false when none is recorded (then *out is zeroed). */
ragd_status store_index_state_get(ragd_store *st, int64_t coll, bool *found, store_index_state *out,
                                  ragd_error *err);
ragd_status store_index_state_set(ragd_store *st, int64_t coll, const store_index_state *s,
                                  ragd_error *err);
/* Forget the index state (the snapshot will be rebuilt). */
ragd_status store_index_state_clear(ragd_store *st, int64_t coll, ragd_error *err);

/* What a process that holds a collection's index in memory compares to
 * notice writes by other processes: the chunks table's AUTOINCREMENT
 * counter (any new chunk, in any collection), the collection's pending
 * deletions and its snapshot checksum (another process saved a newer
 * snapshot). Three O(1) lookups. */
typedef struct {
    int64_t chunk_seq; /* sqlite_sequence for chunks; 0 before the first chunk */
    int64_t deleted;   /* deleted_chunks rows of the collection */
    char checksum[65]; /* index_state.checksum; "" when none */
} store_index_fingerprint;

ragd_status store_index_fingerprint_get(ragd_store *st, int64_t coll, store_index_fingerprint *out,
                                        ragd_error *err);

/* Whether the collection has a vector with chunk id > after (a range seek
 * over newer vectors of all collections, stopping at the first match). */
ragd_status store_vectors_newer(ragd_store *st, int64_t coll, int64_t after, bool *out,
                                ragd_error *err);

/* Called for each vector by store_vectors_scan; return non-zero to stop. */
typedef int (*store_vector_fn)(void *ctx, int64_t chunk_id, const float *vec, int dim);

/* Scan the collection's vectors with chunk id > after, in id order, calling
 * fn for each. Vectors whose dim differs from `dim` are an error. *max_id
 * (if not NULL) receives the largest chunk id seen (or `after`). */
ragd_status store_vectors_scan(ragd_store *st, int64_t coll, int64_t after, int dim,
                               store_vector_fn fn, void *ctx, int64_t *max_id, ragd_error *err);

/* Chunk ids deleted from the collection since they were indexed (the vector
 * index removes or tombstones them). *ids is malloc'd. */
ragd_status store_deleted_list(ragd_store *st, int64_t coll, int64_t **ids, size_t *n,
                               ragd_error *err);
/* Forget exactly these deleted ids (ids[0..n), as read by store_deleted_list
 * before the snapshot that no longer holds them was captured), in one
 * transaction. Rows added since (a concurrent `rm`) stay listed. */
ragd_status store_deleted_clear_ids(ragd_store *st, int64_t coll, const int64_t *ids, size_t n,
                                    ragd_error *err);

/* The largest chunk id of the collection that has a vector (0 if none). */
ragd_status store_vectors_max_id(ragd_store *st, int64_t coll, int64_t *max_id, ragd_error *err);

/* Run a statement with no results (BEGIN, COMMIT, ...). */
ragd_status store_exec(ragd_store *st, const char *sql, ragd_error *err);

/* End savepoint `name` opened with "SAVEPOINT name": on rc == RAGD_OK
 * release it (a failed RELEASE becomes the error); otherwise, or when the
 * release failed, roll back to it and release it, so no transaction is left
 * open. Returns the first error (rc, or the release's). */
ragd_status store_savepoint_end(ragd_store *st, const char *name, ragd_status rc, ragd_error *err);

/* Collection statistics: documents and chunks. */
ragd_status store_counts(ragd_store *st, int64_t coll, int64_t *docs, int64_t *chunks,
                         ragd_error *err);

/* {"collections":[{"name","settings":{…},"created_at","documents","chunks",
 * "bytes","id"}]} sorted by name (store/collections.c). New reference. */
ragd_status store_collections_json(ragd_store *st, json_t **out, ragd_error *err);

/* Delete collection coll and everything in it, in one transaction (its
 * FAISS snapshot file is the caller's to remove). */
ragd_status store_collection_delete(ragd_store *st, int64_t coll, ragd_error *err);

/* --- API keys (store/keys.c) --- */

#define STORE_KEY_LEN 48 /* "ragd_" + 40 hex digits + NUL */

/* Create a key with scope (read | write | admin) over colls (NULL: every
 * collection). key receives the secret (shown once; only its SHA-256 is
 * stored), *id the key's id. */
ragd_status store_key_create(ragd_store *st, const char *name, const char *scope,
                             const char *const *colls, size_t ncolls, char key[STORE_KEY_LEN],
                             int64_t *id, ragd_error *err);

/* {"keys":[{"id","name","scope","collections","created_at","revoked_at"}]}
 * (with_hashes: also "key_hash", for authentication only). New reference. */
ragd_status store_keys_json(ragd_store *st, bool with_hashes, json_t **out, ragd_error *err);

/* Revoke key id (RAGD_ENOTFOUND when there is none; revoking twice is a no-op). */
ragd_status store_key_revoke(ragd_store *st, int64_t id, ragd_error *err);

/* --- answer calls, feedback, the write generation (store/calls.c) --- */

/* One answer as logged: strings borrowed (NULL model/route_reason allowed);
 * detail is a JSON object (borrowed) stored as text. */
typedef struct {
    const char *request_id, *collection, *question, *prompt, *response, *answer;
    const char *generator, *model, *template_id, *path, *route_reason, *cache;
    int template_version;
    long prompt_tokens, completion_tokens;
    double cost, latency_ms;
    bool check_ok, redacted;
    const json_t *detail;
} store_call;

ragd_status store_call_insert(ragd_store *st, const store_call *c, int64_t *id, ragd_error *err);

/* The newest `limit` calls, newest first: {"calls":[{"call_id","request_id",
 * "created_at","collection","question","answer","prompt","response",
 * "generator","model","template":{"id","version"},"prompt_tokens",
 * "completion_tokens","cost","latency_ms","check_ok","path","route_reason",
 * "cache","redacted","detail","feedback":[{"rating","comment","created_at"}]}]}. */
ragd_status store_calls_list(ragd_store *st, long limit, json_t **out, ragd_error *err);

/* Feedback on call_id (rating "up" or "down", comment may be NULL);
 * RAGD_ENOTFOUND when no such call. */
ragd_status store_feedback_add(ragd_store *st, int64_t call_id, const char *rating,
                               const char *comment, int64_t *id, ragd_error *err);

/* The store's write generation: changes whenever a document is added,
 * changed or deleted, or a collection is created or deleted, by any
 * process (0 for a store never written). */
ragd_status store_write_generation(ragd_store *st, int64_t *gen, ragd_error *err);

/* --- background jobs (store/jobs.c) --- */

/* A new job row in state "queued". */
ragd_status store_job_create(ragd_store *st, const char *id, int64_t coll, const char *kind,
                             const char *progress_json, ragd_error *err);

/* Set a job's state, and its progress / result JSON when not NULL. */
ragd_status store_job_update(ragd_store *st, const char *id, const char *state,
                             const char *progress_json, const char *result_json, ragd_error *err);

/* {"object":"job","id","collection","kind","state","progress","result",
 * "created_at","updated_at"}; RAGD_ENOTFOUND (field "id") when absent. */
ragd_status store_job_json(ragd_store *st, const char *id, json_t **out, ragd_error *err);

/* Put jobs left "running" by a process that died back to "queued"; *n
 * (may be NULL) gets how many. */
ragd_status store_jobs_requeue(ragd_store *st, int *n, ragd_error *err);

/* The oldest queued job, if any. */
ragd_status store_job_next(ragd_store *st, char id[64], int64_t *coll, bool *found,
                           ragd_error *err);

/* {"queued":n,"running":n,…} over all jobs. New reference. */
ragd_status store_jobs_counts(ragd_store *st, json_t **out, ragd_error *err);

/* --- the OpenAI-compatible API's rows (store/files.c) --- */

/* An uploaded file's row (its bytes are the caller's, under the data dir). */
ragd_status store_file_create(ragd_store *st, const char *id, const char *filename,
                              const char *purpose, int64_t bytes, const char *sha256,
                              int64_t owner_key, ragd_error *err);
/* {"id","object":"file","bytes","created_at","filename","purpose","status",
 * "sha256","owner_key"}; RAGD_ENOTFOUND (field "file_id") when absent. */
ragd_status store_file_json(ragd_store *st, const char *id, json_t **out, ragd_error *err);
/* Every file (of purpose, when not NULL), newest first: an array. */
ragd_status store_files_json(ragd_store *st, const char *purpose, json_t **out, ragd_error *err);
ragd_status store_file_delete(ragd_store *st, const char *id, ragd_error *err);

/* A collection's vector store name and metadata (insert or replace). */
ragd_status store_vstore_set(ragd_store *st, int64_t coll, const char *name,
                             const char *metadata_json, ragd_error *err);
/* {"name","metadata","created_at"}, or *out NULL when the collection has
 * no vector store row. */
ragd_status store_vstore_json(ragd_store *st, int64_t coll, json_t **out, ragd_error *err);

/* Attach file_id to collection coll (status in_progress; re-attaching
 * starts over). */
ragd_status store_vsfile_put(ragd_store *st, int64_t coll, const char *file_id,
                             const char *attributes_json, ragd_error *err);
ragd_status store_vsfile_update(ragd_store *st, int64_t coll, const char *file_id,
                                const char *status, const char *last_error_json,
                                int64_t usage_bytes, ragd_error *err);
/* {"file_id","status","attributes","last_error","usage_bytes","created_at"};
 * RAGD_ENOTFOUND (field "file_id") when not attached. */
ragd_status store_vsfile_json(ragd_store *st, int64_t coll, const char *file_id, json_t **out,
                              ragd_error *err);
/* A page of attached files in attachment order (asc) or newest first,
 * after / before the attached file ids given (NULL: none), of status
 * (NULL: any), at most limit; *has_more when more follow. */
ragd_status store_vsfiles_page(ragd_store *st, int64_t coll, const char *after, const char *before,
                               long limit, bool asc, const char *status, json_t **out,
                               bool *has_more, ragd_error *err);
ragd_status store_vsfile_delete(ragd_store *st, int64_t coll, const char *file_id, ragd_error *err);
/* {"in_progress","completed","failed","cancelled","total"}. */
ragd_status store_vsfile_counts(ragd_store *st, int64_t coll, json_t **out, ragd_error *err);

/* Fail with a message built from SQLite's last error on db. */
ragd_status store_sqlite_error(sqlite3 *db, ragd_error *err, const char *what);

#endif
