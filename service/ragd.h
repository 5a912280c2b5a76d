/* service/ragd.h — the library API that every front-end calls.
 *
 * The CLI (`cli/`), the HTTP server (`api/`) and later protocol front-ends
 * only parse their input into a request, call one function here, and print
 * the result object. A request is a JSON object with the same fields as the
 * HTTP body (and the CLI flags, with '-' spelled '_'); a result is the JSON
 * object that `ragd CMD --json` prints and the HTTP API returns. So the
 * same request gives the same result, whatever the front-end.
 *
 * The engine is opened once per process (a CLI run opens it for one
 * request; `ragd serve` opens it at start) and owns:
 *   - the writer: one SQLite connection (WAL) used by writes, serialized by
 *     a mutex (ingest, delete, collection create);
 *   - a pool of request slots, each with its own read-only SQLite
 *     connection, embedder and reranker clients per collection, so readers
 *     never block the writer and no libcurl handle is shared;
 *   - each collection's FAISS index, loaded once and shared by every slot
 *     behind a reader-writer lock: searches take it shared; after a write
 *     the writer loads the caught-up index and swaps it in under the
 *     exclusive lock, so readers see a document wholly or not at all.
 *
 * Errors: every function returns a status and fills err; err->field names
 * the request field at fault when there is one. Status → HTTP: RAGD_EINPUT
 * and RAGD_EUSAGE 400, RAGD_ERANGE 422, RAGD_ENOTFOUND 404, RAGD_ECONFLICT
 * 409, RAGD_EPROVIDER 503, others 500 (store or index failures only, never
 * bad input).
 *
 * Ownership: ragd_engine_open returns a handle released by
 * ragd_engine_free; every json_t **out is a new reference the caller
 * releases with json_decref; request objects are borrowed.
 *
 * Thread-safety: every operation may be called from any number of threads
 * at once on one engine; ragd_engine_open and ragd_engine_free must not
 * race with anything else on the same engine.
 */
#ifndef RAGD_SERVICE_RAGD_H
#define RAGD_SERVICE_RAGD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "provider/collection.h"
#include "provider/generator.h"
#include "provider/rerank.h"

typedef struct ragd_engine ragd_engine;

typedef struct {
    size_t slots;           /* concurrent requests served at once (0 = 8) */
    embed_choice embed;     /* embedder overrides: URL, key, timeouts (strings borrowed
                               for the engine's life); kind/model name a new collection's */
    reranker_config rerank; /* url NULL = no rerank stage (strings borrowed) */
    bool create;            /* create the data directory when missing (ingest-type use) */
    /* Answer generation (answer/answer.h answer_run): providers tried in
     * order (one per model), none = the extractive generator; each request
     * slot makes its own clients from these (borrowed) configurations. */
    const generator_config *generators;
    size_t ngenerators;
    const char *prompt_template; /* prompt override file, or NULL (built-in) */
    bool generator_route;        /* generators[0] small, [1] large: answer_route picks (answer.h) */
    /* The answer call log (store/calls.c): every answer is logged unless
     * no_call_log; log_redact removes e-mail addresses, phone numbers and
     * Luhn-checked card numbers (core/redact.h) from what is logged (the
     * question, prompt, responses and answer), never from the result. */
    bool no_call_log;
    bool log_redact;
    /* The result cache (service/cache.h): search and answer results kept
     * for cache_ttl_s seconds, at most cache_size of them (least recently
     * used out first); 0 = off (the library default; ragd serve turns it
     * on: RAGD_SERVE_CACHE_SIZE, RAGD_SERVE_CACHE_TTL_S). Keyed by
     * collection, the store's write generation (any ingest or delete in any
     * collection, by any process, invalidates: BM25 statistics span
     * collections), the normalized question and the other request
     * fields. A hit makes no provider call: answers say usage.cache "hit"
     * (else "miss"), searches "cache". */
    size_t cache_size;
    double cache_ttl_s;
    /* A PostgreSQL store of record (store/pg.h; NULL: the SQLite store in
     * the data directory, which then becomes the node's cache). With
     * follow (ragd serve), a thread applies the store's changes as they
     * come (LISTEN/NOTIFY, polled every RAGD_SYNC_POLL_MS as a fallback)
     * and ragd_ready reports the lag; without, the engine catches up once
     * when it opens. */
    const char *store_url;
    bool follow;
    /* With store_url and follow: a streaming replica of it (--store-read,
     * RAGD_STORE_READ) the follower reads the changes from; writes still
     * go to store_url, which also wakes the follower (NOTIFY is not
     * delivered on a hot standby). NULL: read store_url. */
    const char *store_read_url;
    /* Circuit breakers for the model providers (provider/breaker.h), one
     * per endpoint, shared by every slot, the writer and the job runner:
     * breaker_failures failed attempts in a row open one (0 = 5, < 0 =
     * off); an open one fails calls at once for breaker_cooldown_s (0 =
     * 5 s), then lets one probe through. */
    int breaker_failures;
    double breaker_cooldown_s;
    /* With store_url: the most PostgreSQL connections the engine opens
     * (store/pg.h store_pg_pool; 0 = RAGD_STORE_POOL, default 4), shared by
     * the writer and the call log. */
    size_t store_pool;
    /* This node's name in the shared call log (NULL: RAGD_NODE, else
     * "<hostname>:<pid>"). */
    const char *node;
} ragd_engine_opts;

#define RAGD_SERVE_CACHE_SIZE 1024
#define RAGD_SERVE_CACHE_TTL_S 300.0

/* Engine counters for /metrics: {"cache":{"capacity","ttl_s","entries",
 * "evictions","search":{"hits","misses"},"answer":{…}},"providers":[{"role",
 * "kind","model","calls","errors","prompt_tokens","completion_tokens","cost"}]}
 * (role "generate": answer generation, by generator kind and model; role
 * "embed": the query embeddings of searches, by the collection's embedder
 * and model). New reference. */
json_t *ragd_engine_stats(ragd_engine *e);

#define RAGD_SYNC_POLL_MS 1000

#define RAGD_MAX_GENERATORS 8

/* Open (with opts->create: creating) the data directory's store. opts may
 * be NULL for defaults. Indexes are loaded lazily, per collection. */
ragd_status ragd_engine_open(const char *data_dir, const ragd_engine_opts *opts, ragd_engine **out,
                             ragd_error *err);

/* NULL is a no-op. */
void ragd_engine_free(ragd_engine *e);

/* The data directory (borrowed). */
const char *ragd_engine_dir(const ragd_engine *e);

/* Seconds until an open provider circuit breaker lets a probe through
 * (at least 1), or 0 when none is open: the Retry-After of a 503. */
int ragd_provider_retry_after(ragd_engine *e);

/* --- queries --------------------------------------------------------------------
 * Request fields (all optional but query): collection (default "default"),
 * query (1..RAGD_MAX_QUERY_BYTES of UTF-8), k (1..RAGD_MAX_K, default 10),
 * mode (hybrid|dense|lexical), filter ({"key":"value",…}: documents whose
 * metadata matches all), fusion (score|rrf), rrf_k, w_lexical, w_dense,
 * min_evidence, min_support, cosine_floor, mmr (numbers; see docs/http.md),
 * rerank_depth, min_rerank; context and answer also take budget
 * (50..200000 tokens); answer takes stream (bool: the front-end streams).
 * Unknown fields are RAGD_EINPUT naming the field. */

#define RAGD_MAX_QUERY_BYTES 4096
#define RAGD_MAX_K 1000

/* Search: the object of `ragd search --json` (retrieve.h search_result_json). */
ragd_status ragd_search(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* Context: the object of `ragd context --json`. Sources are diversified
 * (MMR 0.8) unless the request sets mmr. */
ragd_status ragd_context(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* Answer: the object of `ragd answer --json`. */
ragd_status ragd_answer(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* Answer requests also take request_id (1..64 of [A-Za-z0-9._:-]; a random
 * one when absent), recorded in the call log. The result carries "call_id"
 * (the log row, for feedback; null when logging is off or failed). */

/* Streaming answer. on_token(user, text, len) is called on the calling
 * thread for each piece of the answer as it is produced: the tokens of the
 * generation call as the model streams them (OpenAI-compatible SSE or
 * Ollama NDJSON), or, when no token was streamed (the extractive
 * generator, not-found, every generator failed before its first token),
 * the final answer as one piece just before returning. Non-zero from
 * on_token stops the answer (RAGD_EIO, "closed by its receiver"): a
 * front-end whose client went away returns non-zero. text is borrowed for
 * the call only.
 *
 * *out is the object ragd_answer returns, plus "stream":{"tokens" (pieces
 * sent),"answer_replaced" (bool)}: answer_replaced is true when the final
 * "answer" differs from the concatenated pieces — the streamed answer
 * failed the citation check and was repaired, cut (dropped sentences) or
 * replaced by the extractive fallback; the final answer is then the one
 * in *out, never the streamed text. Errors before the first piece are as
 * for ragd_answer; on_token is then never called. Thread-safety: as
 * ragd_answer (the callback runs on the calling thread only). */
typedef int (*ragd_token_fn)(void *user, const char *text, size_t len);
ragd_status ragd_answer_stream(ragd_engine *e, const json_t *req, ragd_token_fn on_token,
                               void *user, json_t **out, ragd_error *err);

/* --- the answer call log and feedback (service/ops_log.c) ----------------------------- */

/* The newest calls: req {"limit"?: 1..RAGD_MAX_PAGE, default 20} (may be
 * NULL). *out is store_calls_list's object (store/store.h). */
ragd_status ragd_log_list(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* Feedback: req {"call_id": integer, "rating": "up"|"down", "comment"?: string
 * (at most 4096 bytes)}. *out {"feedback_id","call_id","rating","comment"}.
 * RAGD_ENOTFOUND (404) for an unknown call id, RAGD_ERANGE (422) for a
 * rating other than up/down, RAGD_EINPUT for a malformed request. */
ragd_status ragd_feedback(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* --- collections and documents ----------------------------------------------------- */

/* {"collections":[{"name","settings":{…},"documents","chunks","created_at"}]}. */
ragd_status ragd_collections_list(ragd_engine *e, json_t **out, ragd_error *err);

/* One collection, the shape of a list entry; RAGD_ENOTFOUND when absent. */
ragd_status ragd_collection_get(ragd_engine *e, const char *name, json_t **out, ragd_error *err);

/* Create: {"name", "chunker"?, "chunk_tokens"?, "overlap"?, "parent_tokens"?,
 * "embedder"?, "embedder_model"?, "dim"?, "index"?}. RAGD_ECONFLICT when it
 * exists. The embedder URL and key come from the engine's options, never
 * from the request. *out is the collection object. */
ragd_status ragd_collection_create(ragd_engine *e, const json_t *req, json_t **out,
                                   ragd_error *err);

/* Delete a collection with all its documents and its index snapshot. */
ragd_status ragd_collection_delete(ragd_engine *e, const char *name, json_t **out, ragd_error *err);

/* {"documents":[{"id","source","title","chunks","bytes","ingested_at"}]}
 * (`ragd docs --json`). */
ragd_status ragd_documents_list(ragd_engine *e, const char *coll, json_t **out, ragd_error *err);

/* A page of the list: documents sorted by id after `after` (NULL: from the
 * start), at most limit (1..RAGD_MAX_PAGE): {"documents":[…],"has_more",
 * "next_after" (the last id, or null)}. */
#define RAGD_MAX_PAGE 1000
ragd_status ragd_documents_page(ragd_engine *e, const char *coll, long limit, const char *after,
                                json_t **out, ragd_error *err);

/* One document (`ragd show --json`); RAGD_ENOTFOUND when absent. */
ragd_status ragd_document_get(ragd_engine *e, const char *coll, const char *id, json_t **out,
                              ragd_error *err);

/* Delete one document: {"id","deleted":true}. */
ragd_status ragd_document_delete(ragd_engine *e, const char *coll, const char *id, json_t **out,
                                 ragd_error *err);

#define RAGD_MAX_BATCH 1000 /* documents in one request */
/* A batch of more documents or bytes than these runs as a background job
 * (when the engine runs jobs: ragd serve): the reply is the job object. */
#define RAGD_JOB_MIN_DOCS 64
#define RAGD_JOB_MIN_BYTES (4u << 20)
#define RAGD_MAX_DOC_BYTES (16u << 20) /* one inline document's text */

/* Add documents: req is {"id","text","title"?,"metadata"?,"format"?} or
 * {"documents":[…]} (1..RAGD_MAX_BATCH). The ingest report (`ragd ingest
 * --json`). Documents that fail are listed in report.errors; the status is
 * RAGD_EINPUT only when a request field is malformed. */
ragd_status ragd_documents_add(ragd_engine *e, const char *coll, const json_t *req, json_t **out,
                               ragd_error *err);

/* --- uploads, files, vector stores, chat: the OpenAI-compatible API --------------
 * (service/ops_files.c, ops_vstores.c, ops_chat.c; docs/compat.md). Results
 * have OpenAI's object shapes; errors are the usual statuses (the HTTP
 * front-end renders them in OpenAI's error shape). A vector store is a
 * collection: its id is the collection name. */

/* One uploaded file (all borrowed). */
typedef struct {
    const char *filename;     /* the client's file name (may be NULL) */
    const char *content_type; /* may be NULL */
    const char *data;
    size_t len;
} ragd_upload;

#define RAGD_MAX_UPLOADS 32

/* Add uploaded files as documents (the multipart form of
 * ragd_documents_add, same report): fields holds the form's text fields as
 * strings, all optional: "id" (one file only; default: the file name),
 * "title", "metadata" (a JSON object's text), "format" (auto|txt|md|html|
 * pdf; default: from the file name, then the content). */
ragd_status ragd_documents_upload(ragd_engine *e, const char *coll, const ragd_upload *files,
                                  size_t n, const json_t *fields, json_t **out, ragd_error *err);

/* Store an uploaded file durably (<data>/files/<id>) as an OpenAI file
 * object {"id":"file-…","object":"file","bytes","created_at","filename",
 * "purpose","status"}. purpose: assistants | user_data | batch | fine-tune
 * | vision | evals. */
typedef struct ragd_principal ragd_principal;
/* Files belong to no collection. Who may see one: every key that covers
 * every collection, and the key that uploaded it (who NULL: anyone); to
 * other keys it does not exist (RAGD_ENOTFOUND). */
ragd_status ragd_file_create(ragd_engine *e, const ragd_principal *who, const ragd_upload *f,
                             const char *purpose, json_t **out, ragd_error *err);
/* {"object":"list","data":[file…],"first_id","last_id","has_more"}; args
 * (query-string values as strings, may be NULL): purpose, limit (1..10000),
 * after, order (asc|desc, default desc). */
ragd_status ragd_files_list(ragd_engine *e, const ragd_principal *who, const json_t *args,
                            json_t **out, ragd_error *err);
ragd_status ragd_file_get(ragd_engine *e, const ragd_principal *who, const char *id, json_t **out,
                          ragd_error *err);
/* {"id","object":"file","deleted":true}. Documents already ingested from
 * the file stay in their vector stores. */
ragd_status ragd_file_delete(ragd_engine *e, const ragd_principal *who, const char *id,
                             json_t **out, ragd_error *err);

/* Create a vector store: req {"name"?, "metadata"? (≤16 string values),
 * "file_ids"?, "chunking_strategy"? ({"type":"auto"} | {"type":"static",
 * "static":{"max_chunk_size_tokens":100..4096,"chunk_overlap_tokens":
 * 0..half}}), "expires_after"? (accepted, stored nowhere: stores never
 * expire), "description"?}. A new collection "vs_<hex>" is created. */
ragd_status ragd_vstore_create(ragd_engine *e, const ragd_principal *who, const json_t *req,
                               json_t **out, ragd_error *err);
/* The vector_store object of collection id. */
ragd_status ragd_vstore_get(ragd_engine *e, const char *id, json_t **out, ragd_error *err);
/* Every collection as a vector store, in OpenAI's list shape; args: limit
 * (1..100, default 20), after, before, order (asc|desc by created_at). */
/* Only the collections who (NULL: anyone) may read are listed. */
ragd_status ragd_vstores_list(ragd_engine *e, const ragd_principal *who, const json_t *args,
                              json_t **out, ragd_error *err);
/* {"id","object":"vector_store.deleted","deleted":true}: the collection
 * and its documents go. */
ragd_status ragd_vstore_delete(ragd_engine *e, const char *id, json_t **out, ragd_error *err);

/* Attach a file: req {"file_id", "attributes"? (≤16 keys; strings ≤512,
 * numbers, booleans), "chunking_strategy"? (auto, or the store's own)}.
 * Ingested by a background job when the engine runs jobs (ragd serve),
 * else at once; *out is the vector_store.file object (in_progress, or its
 * final status). */
ragd_status ragd_vstore_file_attach(ragd_engine *e, const ragd_principal *who, const char *id,
                                    const json_t *req, json_t **out, ragd_error *err);
/* args: limit (1..100, default 20), after, before, order, filter
 * (in_progress|completed|failed|cancelled). */
ragd_status ragd_vstore_files_list(ragd_engine *e, const char *id, const json_t *args, json_t **out,
                                   ragd_error *err);
ragd_status ragd_vstore_file_get(ragd_engine *e, const char *id, const char *file_id, json_t **out,
                                 ragd_error *err);
/* Detach: the file's document leaves the store (the file itself stays). */
ragd_status ragd_vstore_file_delete(ragd_engine *e, const char *id, const char *file_id,
                                    json_t **out, ragd_error *err);

/* Search: req {"query" (string or array of strings), "max_num_results"
 * (1..50, default 10), "filters"? (retrieve/attr_filter.h),
 * "ranking_options"? {"ranker"?, "score_threshold"? 0..1},
 * "rewrite_query"? (bool)} → a vector_store.search_results.page with a
 * "ragd" extension {"relevant","reason","validation"}. */
ragd_status ragd_vstore_search(ragd_engine *e, const char *id, const json_t *req, json_t **out,
                               ragd_error *err);

/* {"object":"list","data":[{"id":"ragd/<collection>","object":"model",
 * "created","owned_by":"ragd"}]}. */
ragd_status ragd_models_list(ragd_engine *e, const ragd_principal *who, json_t **out,
                             ragd_error *err);

/* One model of that list; RAGD_ENOTFOUND (field "model") otherwise. */
ragd_status ragd_model_get(ragd_engine *e, const ragd_principal *who, const char *id, json_t **out,
                           ragd_error *err);

/* The collection a chat model id names ("ragd/<collection>") into coll;
 * RAGD_EINPUT (field "model") otherwise. */
ragd_status ragd_chat_model_collection(const json_t *req, char *coll, size_t size, ragd_error *err);

/* A grounded chat completion (OpenAI's chat.completion object, with a
 * "ragd" extension {"citations","sources","check","relevant","question"})
 * for req {"model":"ragd/<collection>","messages":[…],"stream"?,…}. */
ragd_status ragd_chat_completion(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* The chat.completion.chunk objects that stream completion c (as returned
 * above): a role chunk, the checked answer in pieces, a final chunk with
 * finish_reason and the "ragd" extension, and (include_usage) a usage
 * chunk. New reference (an array). */
json_t *ragd_chat_completion_chunks(const json_t *c, bool include_usage);

/* --- API keys and authorization (service/auth.c) ---------------------------------
 * Scopes nest: admin ⊇ write ⊇ read. A key covers the collections it was
 * created for, or every collection. */

/* Create a key: req {"name"?, "scope":"read|write|admin", "collections"?:[…]}.
 * *out {"id","name","scope","collections","created_at","key"}: the secret
 * key is in the result only, never stored. */
ragd_status ragd_keys_create(ragd_engine *e, const json_t *req, json_t **out, ragd_error *err);

/* {"keys":[{"id","name","scope","collections","created_at","revoked_at"}]}. */
ragd_status ragd_keys_list(ragd_engine *e, json_t **out, ragd_error *err);

/* Revoke key id: {"id","revoked":true}. */
ragd_status ragd_key_revoke(ragd_engine *e, long long id, json_t **out, ragd_error *err);

struct ragd_principal {
    long long key_id;    /* 0: no key (authentication off) */
    char scope[8];       /* read | write | admin */
    json_t *collections; /* owned; NULL = every collection */
};

/* True when some key is active (authentication is then required). */
bool ragd_auth_required(ragd_engine *e);

/* The principal of a presented key (NULL or "" for none). With no active
 * keys every request is allowed (key_id 0, scope admin). RAGD_EAUTH for a
 * missing, unknown or revoked key. Release p with ragd_principal_clear. */
ragd_status ragd_authenticate(ragd_engine *e, const char *key, ragd_principal *p, ragd_error *err);
void ragd_principal_clear(ragd_principal *p);

/* RAGD_OK when p may act with `scope` on collection (NULL: an action on no
 * one collection, such as listing); else RAGD_EFORBIDDEN saying what is
 * missing. */
ragd_status ragd_authorize(const ragd_principal *p, const char *collection, const char *scope,
                           ragd_error *err);

/* --- background jobs (service/jobs.c) ------------------------------------------------ */

/* Start the job runner: jobs a dead process left running are queued again
 * (they resume: documents already committed are unchanged no-ops), then
 * one thread runs queued jobs in order. */
ragd_status ragd_jobs_start(ragd_engine *e, ragd_error *err);

/* Stop the runner at the next batch boundary (a job in progress is queued
 * again, to resume at the next start) and join it. No-op when not started. */
void ragd_jobs_stop(ragd_engine *e);

/* A job: {"object":"job","id","collection","kind","state","progress":{"done",
 * "total",…},"result","created_at","updated_at"}. */
ragd_status ragd_job_get(ragd_engine *e, const char *id, json_t **out, ragd_error *err);

/* {"queued":n,"running":n,"completed":n,"failed":n}. */
ragd_status ragd_jobs_counts(ragd_engine *e, json_t **out, ragd_error *err);

/* --- health -------------------------------------------------------------------------- */

/* {"ready":bool,"store":bool,"collections":[{"name","index_loaded","vectors"}]}:
 * the store answers and every collection with vectors has its index loaded
 * (loading it if needed). */
ragd_status ragd_ready(ragd_engine *e, json_t **out, ragd_error *err);

/* [{"collection_id","vectors"}] of the indexes loaded now (none is loaded
 * by this call). New reference. */
json_t *ragd_engine_index_report(ragd_engine *e);

#endif
