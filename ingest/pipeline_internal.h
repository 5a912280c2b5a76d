/* ingest/pipeline_internal.h — what the ingest pipeline's files share.
 *
 * Private to ingest/: the run's state (run), one input on its way through
 * the two phases (item), the borrowed handles a preparing thread works with
 * (prep_ctx), the iterator over the inputs in order (input_iter), and the
 * functions the pipeline's files call across one another. Where each part
 * lives:
 *
 *   pipeline.c       ingest_paths / ingest_texts: options check, run setup, the end
 *   options.c        --meta KEY=VALUE parsing and merging it into metadata
 *   inputs.c         the inputs in order: files, JSONL records, in-memory texts
 *   jsonl_records.c  a JSONL (BEIR corpus.jsonl) file and its records
 *   prepare.c        the prepare phase: read, decode, hash, parse, chunk, embed
 *   embed_cache.c    embedding through the embedding cache
 *   commit.c         the commit phase on the single writer: dedupe, store_doc_put,
 *                    batches of documents in one transaction
 *   workers.c        the serial driver and the worker pool with its ring
 *   progress.c       the progress line (TTY bar or periodic log line)
 *   report.c         per-input errors and warnings, and the run's JSON report
 *   prune.c          --prune: documents whose files are gone
 *   walk.c           the directory walk (ingest/walk.h)
 *
 * Ownership: a run is owned by ingest_inputs (pipeline.c) for one call; an
 * item by whoever holds it (the iterator makes it, the writer frees it after
 * commit). Threads: everything here runs on the writer (the calling thread)
 * except ingest_prepare, which runs on workers and touches only its item
 * and its prep_ctx's borrowed handles (see workers.c).
 */
#ifndef RAGD_INGEST_PIPELINE_INTERNAL_H
#define RAGD_INGEST_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>

#include "core/buf.h"
#include "core/hash.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"
#include "ingest/walk.h"

/* The batch of documents being written in one transaction (commit.c). Its
 * counts join the run's once the batch commits; if the commit fails, its
 * documents are reported as failed instead. */
typedef struct {
    bool open;
    double t0;    /* when it was opened (ingest_now) */
    size_t docs;  /* documents written in it */
    size_t bytes; /* about what they write: text twice (document, chunks) + vectors */
    long added, updated, chunks, summary_entries;
    size_t text_bytes;
    json_t *labels; /* the documents' labels, for the errors of a failed commit */
} ingest_batch;

/* A batch commits at this many documents, bytes or seconds, whichever
 * comes first, and always at the end of the inputs: a crash loses at most
 * that much, and the progress line (which counts committed documents)
 * stays current. Each COMMIT flushes FTS5's pending terms into a segment
 * that automerge merges later: 512 documents cut the writer's CPU by about
 * 7 %, but the index it leaves made lexical queries about 5 % slower
 * (`ragd eval` p50 13.0-13.2 ms against 12.2-12.7 ms on SciFact), so 64
 * stays (docs/benchmarks.md, eighth session). */
#define INGEST_BATCH_DOCS 64
#define INGEST_BATCH_BYTES (8u * 1024u * 1024u)
#define INGEST_BATCH_SECONDS 1.0

/* The state of one ingest run: counts, progress and what the report needs. */
typedef struct {
    ragd_store *st;
    const ragd_collection *coll;
    const ingest_opts *o;
    long added, updated, unchanged, skipped, failed, chunks;
    long provider_failed, cache_hits;
    embed_usage usage;
    size_t bytes, total_bytes, done_bytes;
    size_t files_done, files_total;
    json_t *errors;
    json_t *meta; /* user metadata (--meta) or NULL */
    double t0, last_progress;
    summary_ctx *sum; /* document summaries (ingest/summary.h) */
    json_t *seen;     /* document ids met in this run (a set: id -> true) */
    long pruned;
    long inputs;          /* files, records and texts met (not JSONL end marks) */
    long summary_entries; /* documents stored with a summary entry */
    ragd_generator *gen;  /* o->generator with --summarizer llm, else NULL */
    gen_usage gusage;
    summary_llm_breaker breaker; /* stops calling a generator that is down */
    walk_stats walk;             /* what the walks met and skipped (skipped: reason -> count) */
    ingest_batch batch;          /* the open write transaction (commit.c) */
} run;

/* --- one input through two phases ---------------------------------------------
 *
 * Every input (a file, a JSONL record) becomes an item. ingest_prepare() is the part
 * that needs no writer: parse a JSONL line, read, detect the format, hash, parse,
 * chunk, the summary's statistics-free part (serialized too), and embed
 * (embedding-cache lookups go through a read-only connection). It runs
 * on a worker thread, or inline when serial. ingest_commit() runs on the writer, in
 * input order: the authoritative dedupe check, the summary (its keyword
 * statistics come from the writer's connection) and the summary entry's
 * text, the embedding-cache inserts and store_doc_put. */

/* IT_JSONL: a JSONL line not parsed yet (raw, n); prepare turns it into an
 * IT_RECORD, IT_ERROR or IT_SKIP (jsonl_records.c), off the writer. */
typedef enum { IT_FILE, IT_RECORD, IT_ERROR, IT_MARK, IT_SKIP, IT_JSONL } item_kind;
typedef enum { OUT_NONE, OUT_FAILED, OUT_SKIPPED, OUT_UNCHANGED, OUT_READY } item_outcome;

typedef struct item {
    /* Set by the writer when the item is made (an IT_JSONL line's key,
     * fallback title, metadata and old_* by prepare, once parsed). */
    /* IT_ERROR: err says why; IT_MARK: progress only (a JSONL file's end);
     * IT_SKIP: skipped with err as the warning (an empty JSONL record) */
    item_kind kind;
    char *label;   /* the file, or "file:line" of a JSONL record, for messages */
    char *key;     /* document id */
    char *source;  /* stored as the document's source */
    char *path;    /* IT_FILE: the file to read */
    char *abspath; /* IT_FILE: its absolute normalized path, recorded with the document */
    bool walked;   /* IT_FILE: found by a directory walk (may be skipped, not failed) */
    char *fallback_title;
    char *hash_extra;    /* hashed after the bytes (metadata), or NULL */
    char *metadata_json; /* the document's metadata, or NULL */
    bool old_found;      /* the store's version of key when the item was made */
    char old_hash[65];
    size_t size;                   /* input bytes, for the in-flight bound */
    size_t done_bytes, files_done; /* progress once committed */
    /* Set by prepare (IT_RECORD: raw, n and format by the writer). */
    char *raw;
    size_t n;
    const char *format; /* static */
    bool hashed;        /* read and hashed: hash is set */
    char hash[RAGD_SHA256_HEX];
    item_outcome out;
    const char *skip_reason; /* OUT_SKIPPED, IT_SKIP: the count it goes under (static) */
    char *warning;           /* printed at commit (a guessed encoding), or NULL */
    ragd_status rc;          /* OUT_FAILED */
    ragd_error err;          /* OUT_FAILED, OUT_SKIPPED, IT_ERROR, a failed read */
    ingest_doc d;
    bool have_doc;
    chunk_list cl;
    summary_pre *pre_summary; /* the summary's statistics-free part (ingest/summary.h) */
    bool entry;               /* store a summary entry (its vector follows the chunks' in vecs) */
    float *vecs;              /* (cl.n + entry) * dim floats, or NULL without an embedder */
    /* cl.n chunks.chunk_words blobs (retrieve/words_blob.h), computed in
     * prepare so the writer only binds them (store_chunk.words), or NULL */
    ragd_buf *cwords;
    size_t ncwords;
    /* documents.summary_words of the extractive summary (store_doc), computed
     * in prepare when the writer will assemble that summary from
     * pre_summary's serialized head; len 0 (data NULL) otherwise */
    ragd_buf swords;
    int dim;
    char (*miss_hash)[65]; /* texts the cache did not have: the writer adds them */
    float *miss_vecs;
    size_t nmiss;
    embed_usage usage;
    long cache_hits;
    summary_llm llm; /* --summarizer llm: the abstract, asked for in prepare */
    gen_usage gusage;
    bool ready; /* parallel: prepared (guarded by the pool's mutex) */
    /* parallel: committed, waiting on the pool's spent list for a worker to
     * free it (guarded by the pool's mutex) */
    struct item *spent_next;
} item;

/* What ingest_prepare() works with: borrowed, one per thread. */
typedef struct {
    const ragd_collection *coll;
    const ingest_opts *o;
    ragd_store *cache;       /* embedding-cache lookups: the writer's store, or a reader */
    ragd_embedder *emb;      /* o->embedder (writer) or a clone (worker); NULL: no vectors */
    pthread_mutex_t *pdf_mu; /* serializes PDF parsing when threaded, or NULL */
    ragd_generator *gen;     /* llm summaries: run's generator (writer) or a clone; or NULL */
    /* llm summaries: the run's breaker, shared by its threads */
    summary_llm_breaker *breaker;
    summary_tokenizer *tok; /* this thread's porter tokenizer for keywords, or NULL */
    const json_t *meta;     /* the run's --meta (read only), or NULL */
    /* A parsed JSONL record's stored hash is looked up here (the writer's
     * store, or the worker's reader; NULL: not looked up). A shortcut
     * only: commit checks again. */
    ragd_store *lookup;
} prep_ctx;

/* --- the inputs, in order ------------------------------------------------------ */

typedef struct {
    const file_list *files;
    size_t fi; /* the next file */
    size_t files_done, done_bytes;
    /* The JSONL file being read record by record (jf NULL: none). The
     * size limit applies to each record (line), not to the file. */
    FILE *jf;
    char *jline_buf;
    size_t jline_cap;
    size_t jpos, jline, jbase, jsize;
    const char *jpath;
    char *jsource; /* jpath as stored (text_escape_invalid), owned */
    /* In-memory documents (ingest_texts), taken after the files. */
    const ingest_text *texts;
    size_t ntexts, ti;
} input_iter;

/* progress.c */
double ingest_now(void); /* monotonic seconds */
/* The progress line: at most every 0.1 s on a TTY, 5 s otherwise; final
 * ends it. Nothing without o->progress. */
void ingest_progress(run *r, bool final);

/* report.c */
/* An input that failed: counted, printed (or logged) and listed in the report. */
void ingest_report_error(run *r, const char *file, const ragd_error *e);
/* A warning about an input (printed, or logged as JSON). */
void ingest_warn_file(const item *it, const char *msg);
/* A skipped input: warned about, and counted under its reason. */
void ingest_count_skip(run *r, const item *it);
/* The run's JSON report (docs/ingest.md); takes r->errors and r->walk.skipped. */
json_t *ingest_report_build(run *r, int nworkers);

/* options.c */
/* base_json (a record's extra fields, or NULL) with the run's --meta object
 * merged over it (NULL: no --meta, base_json applies); malloc'd, the
 * caller's. Any thread. */
char *ingest_meta_merge(const json_t *meta, const char *base_json);

/* inputs.c */
item *ingest_item_new(item_kind kind, const char *label);
void ingest_item_free(item *it);
bool ingest_next_item(run *r, input_iter *in, item **out);
bool ingest_needs_work(const item *it);

/* jsonl_records.c */
/* The item for line `line` of path (s[0..n), copied): an IT_JSONL that
 * prepare parses. source: path as stored (text_escape_invalid). Writer. */
item *ingest_jsonl_line(const char *path, const char *source, size_t line, const char *s, size_t n);
/* Parse an IT_JSONL item into an IT_RECORD, IT_ERROR or IT_SKIP, with the
 * messages and labels of a record read on the writer; an IT_RECORD's
 * stored hash is looked up through c->lookup. Any thread (the item and c). */
void ingest_jsonl_parse(item *it, const prep_ctx *c);
ragd_status ingest_jsonl_open(const char *path, FILE **out, ragd_error *err);

/* embed_cache.c */
ragd_status ingest_embed_lookup(ragd_store *st, ragd_embedder *e, const char *const *texts,
                                size_t n, float *out, char (**miss_hash)[65], float **miss_vecs,
                                size_t *nmiss_out, embed_usage *usage, long *cache_hits,
                                ragd_error *err);

/* prepare.c */
void ingest_prepare(item *it, const prep_ctx *c);

/* commit.c */
void ingest_dispatch(run *r, item *it);
ragd_status ingest_commit(run *r, item *it, const prep_ctx *wctx);
/* Commit the open batch (if any); its documents are counted, or reported
 * as failed when the commit fails (a store error is then returned). */
ragd_status ingest_batch_flush(run *r);
/* Whether the open batch is older than INGEST_BATCH_SECONDS. */
bool ingest_batch_stale(const run *r);

/* workers.c */
ragd_status ingest_run_serial(run *r, input_iter *in, ragd_error *err);
ragd_status ingest_run_parallel(run *r, input_iter *in, int nworkers, ragd_error *err);

/* prune.c */
ragd_status ingest_prune(run *r, char *const *paths, size_t npaths, ragd_error *err);

#endif
