/* ingest/ingest.h — loading, chunking and storing documents.
 *
 * The pipeline for one file is:
 *   ingest_read_file  -> raw bytes (size limit, regular file, readable)
 *   ingest_parse      -> ingest_doc: normalized text + block structure
 *   chunk_document    -> chunks with byte offsets into the normalized text
 *   store_doc_put     -> one transaction
 * ingest_paths drives it over files and directories, dedupes by content hash
 * (unchanged input = no-op) and replaces changed documents.
 *
 * Ownership: ingest_doc and chunk_list are filled by the functions below and
 * released by ingest_doc_free / chunk_list_free.
 *
 * Thread-safety, per function: ingest_detect_format, ingest_read_file,
 * ingest_parse (HTML: libxml2 initialized once; PDF: poppler, which the
 * pipeline calls from one thread at a time), the chunkers (given an
 * embedder no other thread uses), ingest_meta_parse and the *_free
 * functions are reentrant. ingest_embed_texts uses st and e: one thread at a
 * time per store and per embedder. ingest_paths uses the store and embedder
 * it is given from the calling thread only (the writer) and runs its own
 * worker threads, joined before it returns (see below).
 *
 * Parallel ingest (ingest_opts.workers > 1): the calling thread is the one
 * writer; it walks the inputs, splits JSONL files into records, and owns the
 * store connection for every write and every read that decides something:
 * the unchanged check (store_doc_find, again at commit time), the summary's
 * keyword statistics, embedding-cache inserts and store_doc_put. Worker
 * threads read, detect the format, hash, parse, chunk and embed; each has
 * its own embedder (embedder_clone: own HTTP client) and its own read-only
 * connection (store_open_reader) for embedding-cache lookups only. Items go
 * through a ring of 4 x workers slots (and at most 64 MiB of input bytes
 * in flight), which is both the bounded queue and the reorder buffer: the
 * writer commits items strictly in input order, so documents, chunk ids,
 * errors and counts are those of the serial run (workers <= 1, everything
 * on the calling thread). A worker that finds a document unchanged skips
 * parsing; when an earlier input of the same run changed that document id
 * in the meantime, the writer prepares it itself at commit.
 */
#ifndef RAGD_INGEST_H
#define RAGD_INGEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "provider/generator.h"
#include "provider/provider.h"
#include "store/store.h"

typedef enum {
    BLOCK_PARA = 0,
    BLOCK_HEADING,
    BLOCK_CODE,  /* fenced code: cut only between lines */
    BLOCK_TABLE, /* table rows: cut only between rows */
    BLOCK_LIST,
    BLOCK_QUOTE,
} block_kind;

/* A structural block of the normalized text. */
typedef struct {
    block_kind kind;
    size_t start, end; /* byte offsets, end exclusive, excluding the final newline */
    int level;         /* heading level 1..6 for BLOCK_HEADING */
    int section;       /* index into ingest_doc.sections */
} ingest_block;

/* Caps that keep cost linear in the input (issue 12 #2): every chunk stores
 * its heading path and a header (title > heading path), so an uncapped
 * 300 KB heading cost 53 s and a 298 MB database. A heading contributes at
 * most INGEST_HEADING_MAX bytes to a path, a path is at most
 * INGEST_HEADING_PATH_MAX bytes and a title INGEST_TITLE_MAX, each cut at a
 * character boundary with "…" appended. The text itself is never cut. */
#define INGEST_HEADING_MAX 200
#define INGEST_HEADING_PATH_MAX 600
#define INGEST_TITLE_MAX 300

/* A heading section: the heading path in force from `start` on (capped as
 * above). */
typedef struct {
    size_t start;
    char *heading_path; /* " > "-joined, "" before the first heading; owned */
    bool has_heading;   /* starts at a heading line */
} ingest_section;

typedef struct {
    char *text; /* normalized (NFC, LF) text; owned */
    size_t len;
    char *title;        /* owned */
    const char *format; /* static: "txt", "md", "html", "pdf" */
    ingest_block *blocks;
    size_t nblocks;
    ingest_section *sections;
    size_t nsections;
    char *metadata_json; /* owned JSON object text, or NULL */
    /* Paged formats (PDF): page_starts[i] is the byte offset in text where
     * page i+1 begins (ascending, page_starts[0] == 0); NULL/0 otherwise. */
    size_t *page_starts; /* owned */
    size_t npages;
} ingest_doc;

void ingest_doc_free(ingest_doc *d);

/* The 1-based page that byte offset `off` of d->text falls on, or 0 when d
 * has no pages. */
int ingest_doc_page_at(const ingest_doc *d, size_t off);

/* Default and hard limit on one input file's size. */
#define INGEST_DEFAULT_MAX_BYTES (16u * 1024u * 1024u)

/* Pick a format for path: "md", "txt", "jsonl", "html" (.html .htm .xhtml),
 * "pdf" from the extension, or for unknown extensions by sniffing the first
 * bytes ("%PDF-" -> "pdf"; "<!doctype html" / "<html" after a BOM and
 * whitespace, any case -> "html"; other text -> "txt"). Returns a static
 * string, or NULL with err set when the file is not something we can read
 * ("binary file", "unsupported format 'docx'"). `hint` other than
 * NULL/"auto" forces the format (RAGD_EUSAGE for an unknown one). */
const char *ingest_detect_format(const char *path, const char *hint, const char *head,
                                 size_t head_len, ragd_error *err);

/* Read a whole regular file of at most max_bytes. *out is malloc'd (NUL
 * terminated, caller frees). Errors name the file and the reason. */
ragd_status ingest_read_file(const char *path, size_t max_bytes, char **out, size_t *out_len,
                             ragd_error *err);

/* Validate (UTF-8, no NUL, not empty or blank), normalize and parse raw bytes
 * of the given format ("txt", "md", "html" or "pdf") into d. HTML becomes
 * Markdown-like text (headings, lists, tables, fenced code; scripts, styles
 * and navigation dropped) parsed as Markdown; a PDF becomes its pages' text
 * joined by "\n\f\n" with d->page_starts set. Unreadable HTML/PDF input
 * fails with RAGD_EINPUT and the parser's reason. `fallback_title` (e.g. the
 * file name) is used when the text has no title of its own. Blank input fails
 * with RAGD_ENOTFOUND so callers can skip it with a warning rather than fail. */
ragd_status ingest_parse(const char *raw, size_t n, const char *format, const char *fallback_title,
                         ingest_doc *d, ragd_error *err);

/* --- chunking ------------------------------------------------------------- */

typedef struct {
    size_t start, end; /* into ingest_doc.text; text == doc[start:end] */
    size_t tokens;
    int parent;         /* index into chunk_list.parents or -1 */
    char *heading_path; /* owned */
    char *header;       /* contextual header "Title > H1 > H2"; owned */
} chunk;

typedef struct {
    size_t start, end, tokens;
    char *heading_path; /* owned */
} chunk_parent;

typedef struct {
    chunk *v;
    size_t n, cap;
    chunk_parent *parents;
    size_t nparents, capparents;
} chunk_list;

void chunk_list_free(chunk_list *l);

typedef struct {
    int max_tokens; /* window size */
    int overlap;    /* tokens shared by consecutive windows */
} chunk_opts;

/* The fixed chunker: token windows of at most max_tokens with `overlap`
 * tokens of overlap, cut at the best boundary in the window's second half:
 * heading sections (always), blocks, lines inside code and tables (never
 * mid-line), sentences, words, and only for an unsplittable run, graphemes. */
ragd_status chunk_fixed(const ingest_doc *d, const chunk_opts *o, chunk_list *out, ragd_error *err);

/* Semantic chunker options; zero fields take the defaults. */
typedef struct {
    int max_tokens;     /* hard maximum per chunk (the collection's chunk_tokens; 0 = 256) */
    int min_tokens;     /* pieces below this merge with a neighbour (0 = max/4) */
    int window;         /* sentences per side compared at each boundary (0 = 2) */
    double percentile;  /* cut where the distance exceeds this percentile (0 = 90) */
    embed_usage *usage; /* if not NULL, the sentence embeddings' usage is added here */
} chunk_semantic_opts;

/* Dimension of the built-in local embedder when the semantic chunker uses
 * it (sentence vectors are never stored, so it need not be the
 * collection's): hashing collisions add cosine noise of about 1/sqrt(dim),
 * which at 384 swamps the topical signal of two-sentence windows. */
#define CHUNK_SEMANTIC_LOCAL_DIM 4096

/* The semantic chunker: sentences (code blocks and tables whole, or their
 * lines when one alone exceeds max) are embedded in one batched call, the
 * cosine distance between the mean (document-centered) embeddings of the
 * `window` sentences on each side of every sentence boundary is computed,
 * and the text is cut at boundaries whose distance exceeds the document's
 * `percentile` of distances and is a local maximum. Heading sections stay
 * hard boundaries; pieces below min_tokens merge with their closer
 * neighbour (as long as the result fits max); a piece above max is cut by
 * the fixed chunker's rules (no overlap). e is the collection's embedder;
 * NULL uses the built-in local embedder at CHUNK_SEMANTIC_LOCAL_DIM.
 * RAGD_EPROVIDER when embedding fails (out is then empty). */
ragd_status chunk_semantic(const ingest_doc *d, const chunk_semantic_opts *o, ragd_embedder *e,
                           chunk_list *out, ragd_error *err);

/* Parent-document chunker options; zero fields take the defaults. */
typedef struct {
    int child_tokens;  /* child window (the collection's chunk_tokens; 0 = 256) */
    int overlap;       /* tokens of overlap between children of one parent */
    int parent_tokens; /* largest parent (0 = 1024; never below child_tokens) */
} chunk_parent_opts;

/* The parent-document chunker: parents are the hard heading sections, each
 * cut by the fixed rules into windows of at most parent_tokens when longer
 * (flat text: one section, so parents are parent_tokens windows); children
 * are fixed windows of child_tokens inside each parent (never crossing it).
 * Fills out->parents; every chunk's `parent` indexes it. */
ragd_status chunk_parent_document(const ingest_doc *d, const chunk_parent_opts *o, chunk_list *out,
                                  ragd_error *err);

/* Chunk d with the collection's chunker (s->chunker: fixed | semantic |
 * parent). e is the collection's embedder, used by the semantic chunker
 * (for a collection whose embedder is "local", or e NULL, the chunker uses
 * the local embedder at CHUNK_SEMANTIC_LOCAL_DIM), and usage (may be NULL)
 * receives what that cost. Unknown chunker: RAGD_EUSAGE. */
ragd_status chunk_document(const ingest_doc *d, const ragd_settings *s, ragd_embedder *e,
                           embed_usage *usage, chunk_list *out, ragd_error *err);

/* --- the pipeline ----------------------------------------------------------- */

typedef struct {
    const char *format;      /* auto | txt | md | html | pdf | jsonl */
    size_t max_bytes;        /* per file; 0 = default */
    bool progress;           /* show a progress bar (TTY) or periodic lines */
    bool progress_tty;       /* bar when true, periodic lines otherwise */
    bool prune;              /* delete documents from these paths whose input is gone */
    ragd_embedder *embedder; /* borrowed; NULL = store no vectors */
    /* User metadata for every document of the run: "key=value" strings
     * (borrowed), merged over a JSONL record's extra fields (these win). */
    const char *const *meta;
    size_t nmeta;
    /* Document summaries (ingest/summary.h): NULL or "extractive", or "llm"
     * (needs generator, else RAGD_EUSAGE): an LLM abstract per document,
     * asked for on the worker threads (each uses a generator_clone). */
    const char *summarizer;
    ragd_generator *generator; /* borrowed; used only with summarizer "llm" */
    /* Threads that load, parse, chunk and embed (see ingest_paths); 0 or 1
     * runs everything on the calling thread, larger values are capped at
     * INGEST_MAX_WORKERS. */
    int workers;
    /* Directory walks (ingest/walk.h): gitignore-style --include and
     * --exclude patterns (borrowed), and --verbose to list skipped files. */
    const char *const *include;
    size_t ninclude;
    const char *const *exclude;
    size_t nexclude;
    bool verbose;
    /* Source encoding of text and Markdown that is not UTF-8
     * (ingest/encoding.h): NULL or "auto" guesses; "utf-8", "latin-1",
     * "windows-1252". */
    const char *encoding;
} ingest_opts;

#define INGEST_MAX_WORKERS 64

/* Parse "key=value" strings into a JSON object (new reference in *out, or
 * NULL out to only validate). Keys are [A-Za-z0-9_.-]{1,64}; the value is
 * the rest after the first '=' (may be empty); a repeated key keeps the
 * last value. Anything else is RAGD_EUSAGE naming the bad argument. */
ragd_status ingest_meta_parse(const char *const *kv, size_t n, json_t **out, ragd_error *err);

/* The same rules for another option (opt: "--filter"), whose name errors
 * carry (and, without the dashes, as the error's field). */
ragd_status ingest_kv_parse(const char *opt, const char *const *kv, size_t n, json_t **out,
                            ragd_error *err);

/* Embed chunk texts (contextual header + text) through the embedding cache:
 * cached (model, SHA-256 of text) pairs cost no provider call; the rest are
 * embedded in one batch and cached. Vectors are L2-normalized. out holds
 * n * embedder_dim(e) floats. */
ragd_status ingest_embed_texts(ragd_store *st, ragd_embedder *e, const char *const *texts, size_t n,
                               float *out, embed_usage *usage, long *cache_hits, ragd_error *err);

/* Ingest files and directories (recursive, sorted, hidden entries skipped)
 * into collection coll. Each bad file is reported on stderr as
 * `ragd: <file>: <reason>` and in the report, and the others still ingest.
 * *report receives {"added","updated","unchanged","skipped","failed","chunks",
 * "bytes","seconds","workers","embedding":{…},"errors":[{"file","error"}]}
 * (new reference); with workers > 1 only embedding.cache_hits and calls may
 * differ from a serial run (two documents in flight sharing a chunk text
 * both miss the cache). Returns RAGD_OK when no file failed, RAGD_EPROVIDER when an
 * embedding call failed for some document (those documents are not stored),
 * RAGD_EINPUT when some input was bad (report still set), RAGD_EUSAGE (no
 * report) for a bad o->format or o->meta, or another status for failures
 * that stop everything (store errors).
 * With --summarizer llm the report also has "generator":{"generator",
 * "model","calls","failures","retries","prompt_tokens","completion_tokens",
 * "tokens","tokens_estimated","cost"}; failures are documents left without
 * an abstract (they keep the extractive summary and are not failed inputs).
 */
ragd_status ingest_paths(ragd_store *st, const ragd_collection *coll, char *const *paths,
                         size_t npaths, const ingest_opts *o, json_t **report, ragd_error *err);

/* One in-memory document for ingest_texts (all borrowed). */
typedef struct {
    const char *id;   /* document id (required, unique in the collection) */
    const char *text; /* raw content, len bytes (required) */
    size_t len;
    const char *title;         /* NULL: the content's own title, else the id */
    const char *format;        /* txt | md | html | NULL or "auto" (sniffed) */
    const char *metadata_json; /* a JSON object's text, or NULL */
    const char *source;        /* stored as the source; NULL: the id */
    bool upload;               /* uploaded file bytes (not inline JSON text): PDF is
                                  accepted and the title never heads the text */
} ingest_text;

/* Ingest in-memory documents with the same pipeline, rules and report as
 * ingest_paths (unchanged content is a no-op, changed content replaces the
 * old version; a plain-text document's title heads its text, as for a BEIR
 * record). o->prune is ignored. Thread-safety: as ingest_paths (the writer's
 * store, one call at a time per store). */
ragd_status ingest_texts(ragd_store *st, const ragd_collection *coll, const ingest_text *texts,
                         size_t n, const ingest_opts *o, json_t **report, ragd_error *err);

#endif
