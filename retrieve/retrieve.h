/* retrieve/retrieve.h — search, relevance validation and context assembly.
 *
 * A query is a pipeline of small timed stages (RediSearch-style):
 *   candidates (lexical BM25, dense cosine) -> fuse -> rerank (optional,
 *   a remote cross-encoder, provider/rerank.h) -> validate -> assemble context
 * Each stage takes the previous stage's output; timings and the validator's
 * decisions are reported in the JSON the CLI and HTTP API print.
 *
 * Ownership: a search_result is filled by retrieve_search and released by
 * search_result_free; JSON returned is a new reference. Thread-safety:
 * reentrant; the store must not be used concurrently.
 */
#ifndef RAGD_RETRIEVE_H
#define RAGD_RETRIEVE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "index/vector.h"
#include "provider/provider.h"
#include "provider/rerank.h"
#include "store/store.h"

typedef struct {
    int64_t chunk_id;
    int64_t parent_id;    /* 0 when the chunk has no parent section */
    char *doc_id;         /* document key; owned */
    char *title;          /* owned */
    char *heading_path;   /* owned */
    char *text;           /* chunk text; owned */
    size_t start, end;    /* byte offsets into the document text */
    int page, page_end;   /* 1-based pages the chunk spans (PDF); 0 when not paged */
    double score;         /* mode-specific relevance score, higher is better */
    double coverage;      /* idf-weighted share of query terms found in chunk+heading+title */
    double phrase;        /* share of the query's adjacent word pairs found adjacent */
    double evidence;      /* coverage + phrase + weighted cosine excess (validate.h) */
    double lexical_score; /* -BM25, or 0 when not a lexical candidate */
    double dense_score;   /* cosine, or 0 when not a dense candidate */
    int lexical_rank;     /* 1-based rank in the lexical list, 0 = absent */
    int dense_rank;       /* 1-based rank in the dense list, 0 = absent */
    double fused_score;   /* the fusion score (score too unless reranked) */
    double rerank_score;  /* the reranker's score (server scale; may be negative) */
    bool reranked;        /* scored by the reranker: score == rerank_score */
    bool passed;          /* passed validation (always true unless keep_all) */
    bool summary;         /* the document's summary entry (kind "summary", docs/summary.md):
                             text is the summary, start/end span the whole document */
} search_hit;

typedef struct {
    size_t k;                   /* results wanted (default 10) */
    const char *mode;           /* hybrid (default when an embedder is given) | dense | lexical */
    double min_evidence;        /* query gate: some top candidate needs this much evidence;
                                   < 0 = the mode's default */
    double min_support;         /* per-candidate evidence floor; < 0 = default */
    double cosine_floor;        /* cosine below which dense similarity is no evidence;
                                   < 0 = default (calibrated for the local embedder) */
    double mmr_lambda;          /* diversity: 1 = pure relevance order; < 0 = default */
    ragd_embedder *embedder;    /* borrowed; needed for dense and hybrid */
    embed_usage *embed_usage;   /* if not NULL, the query embedding's usage is added here */
    ragd_vindex *vindex;        /* borrowed; needed for dense and hybrid */
    double rrf_k;               /* reciprocal rank fusion constant; 0 = 60 */
    double w_lexical;           /* fusion weight of the lexical list; 0 = default */
    double w_dense;             /* fusion weight of the dense list; 0 = default */
    const char *fusion;         /* "score" (default) | "rrf" */
    bool keep_all;              /* evaluation: keep every candidate in fused order (no doc cap),
                                   marking each with `passed` instead of dropping it */
    size_t candidates;          /* candidate list length per channel; 0 = max(5k, 50) */
    const char *const *filters; /* "key=value" metadata filters (all must match), or NULL */
    size_t nfilters;
    const json_t *attr_filter; /* a typed filter over document metadata
                                  (retrieve/attr_filter.h, checked), or NULL */
    ragd_reranker *reranker;   /* borrowed; NULL = no rerank stage */
    size_t rerank_depth;       /* best fused candidates sent to the reranker; 0 = default */
    double min_rerank;         /* with min_rerank_set: drop reranked candidates scoring below */
    bool min_rerank_set;
} search_opts;

/* Fusion and validation defaults (see docs/retrieval.md). */
#define RETRIEVE_RRF_K 60.0
#define RETRIEVE_W_LEXICAL 1.0
#define RETRIEVE_W_DENSE 0.3

/* Validation defaults, calibrated on SciFact dev queries and half of
 * fixtures/eval/offtopic.jsonl (docs/quality.md). Evidence of a candidate =
 * coverage + phrase + RETRIEVE_COSINE_WEIGHT * max(0, cosine - floor). */
#define RETRIEVE_MIN_EVIDENCE 0.70         /* hybrid and dense gate */
#define RETRIEVE_MIN_EVIDENCE_LEXICAL 0.50 /* lexical gate (no cosine term) */
#define RETRIEVE_MIN_SUPPORT 0.20
#define RETRIEVE_COSINE_FLOOR 0.15
#define RETRIEVE_COSINE_WEIGHT 3.0
#define RETRIEVE_MMR_LAMBDA 1.0         /* search: relevance order (MMR measured neutral) */
#define RETRIEVE_CONTEXT_MMR_LAMBDA 0.8 /* context/answer: diversified sources */
/* Shingle (word 4-gram) Jaccard at or above which a candidate is a
 * near-duplicate of a better one. */
#define RETRIEVE_NEAR_DUP 0.80
/* Rerank stage (search.c): how many of the best fused candidates (that exist
 * and pass the filters) the reranker scores. They move to the front in the
 * reranker's order (ties keep the fused order), and their score becomes the
 * reranker's; candidates past the depth follow in fused order. A failing
 * reranker leaves the fused order (validation.rerank.used false, with the
 * error); it never fails the search. */
#define RETRIEVE_RERANK_DEPTH 50

typedef struct {
    char *query;
    int64_t coll_id;  /* the collection searched */
    search_hit *hits; /* validated hits in rank order */
    size_t n;
    bool relevant;      /* something passed validation */
    json_t *validation; /* the validator's report (owned) */
    double ms_lexical, ms_embed, ms_dense, ms_fuse, ms_rerank, ms_validate, ms_diversify, ms_total;
    const char *mode; /* the mode that ran (static string) */
} search_result;

void search_result_free(search_result *r);

/* Zero o and set every threshold to "use the default" (-1). Callers fill
 * k, mode, embedder, vindex and whatever else they need afterwards. */
void search_opts_init(search_opts *o);

/* Run the search pipeline for query in collection coll. Empty or over-long
 * queries are RAGD_EINPUT; an unknown mode RAGD_EUSAGE. */
ragd_status retrieve_search(ragd_store *st, const ragd_collection *coll, const char *query,
                            const search_opts *o, search_result *out, ragd_error *err);

/* The contract's search JSON: {"query","mode","results":[{"rank","chunk_id",
 * "doc_id","title","score","text","start","end","parent_id","heading_path"
 * (,"page","page_end" for paged documents such as PDF)
 * (,"rerank_score","fused_score" when reranked)}],"relevant","validation"
 * (with "rerank" when a reranker was given),"timing_ms"}; a summary entry's
 * result also has "kind":"summary". New reference. */
json_t *search_result_json(const search_result *r, const search_opts *o);

/* Share of query terms (folded, stop words removed, light prefix stemming)
 * that occur in text. 0 when the query has no content terms. */
double retrieve_term_coverage(char **terms, size_t nterms, const char *text, size_t len);

/* Like retrieve_term_coverage, with each term weighted (e.g. by idf): the
 * weighted share of terms found. weights NULL = all 1. */
double retrieve_term_coverage_w(char **terms, const double *weights, size_t nterms,
                                const char *text, size_t len);

/* --- context assembly --------------------------------------------------------- */

/* Where a summary sentence sits in a summary entry's source text and in
 * its document: text[off, off+len) == document[doc_start, doc_start+len). */
typedef struct {
    size_t off, len, doc_start;
} context_span;

typedef struct {
    int n;                 /* source number, 1-based */
    const search_hit *hit; /* the source's best hit, borrowed from the search_result */
    char *text;            /* the text used (possibly trimmed to the budget); owned */
    size_t tokens;
    size_t start;       /* byte offset of text in the document (the parent's start
                           when text is the parent section) */
    int64_t parent_id;  /* the parent section used as text, 0 when the chunk's own */
    char *heading_path; /* heading path of text (the parent's or the hit's); owned */
    int64_t *chunk_ids; /* the hits merged into this source, best first; owned */
    size_t nchunks;
    context_span *spans; /* a summary entry's source (hit->summary): its summary
                            sentences, so quotes map back to the document; owned */
    size_t nspans;
} context_source;

typedef struct {
    char *context; /* the assembled, numbered context text; owned */
    context_source *sources;
    size_t nsources;
    size_t tokens;
    bool relevant;
} context_result;

void context_result_free(context_result *c);

#define CONTEXT_DEFAULT_BUDGET 3000

/* Assemble the validated hits of r into numbered sources within `budget`
 * tokens (0 = default), each headed by its title and heading path (and,
 * with st, the document's one-line summary, except for a summary entry,
 * whose text is the summary; its spans are filled from st); the last
 * source that does not fit whole is trimmed on a sentence boundary.
 * Parent expansion (parent-document collections): with st given, a hit that
 * has a parent section contributes the parent's text (read from st) instead
 * of its own, and later hits of the same parent merge into that source; a
 * parent that does not fit the rest of the budget whole falls back to the
 * hit's own text. Deterministic for the same search result. */
ragd_status context_assemble(ragd_store *st, const search_result *r, size_t budget,
                             context_result *out, ragd_error *err);

/* {"query","context","sources":[{"n","doc_id","chunk_id","chunk_ids",
 *  "parent_id","start","end","title","heading_path","tokens"(,"page",
 *  "page_end": the best hit's pages, paged documents only)}],"tokens",
 *  "relevant"}; parent_id is null unless the source is a parent section,
 *  whose offsets start/end then are. A summary entry's source has
 *  "kind":"summary" and the entry's own start/end (the whole document): its
 *  text is the summary, not a slice. New reference. */
json_t *context_result_json(const context_result *c, const char *query);

#endif
