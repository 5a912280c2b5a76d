/* ingest/summary.h — the structured summary stored beside every document.
 *
 * summary_build turns a parsed document into a JSON object (stored in
 * documents.summary, returned by `ragd show --json` / `ragd chunks --json`):
 *
 *   {"title","source","format","language","script","bytes","tokens",
 *    "sentences","outline":[{"level","title","start"}],
 *    "summary":[{"text","start","end","rank"}],"summary_text",
 *    "keywords":[{"term","score"}],"keywords_from","summarizer",
 *    "metadata":{…},"created_at","updated_at"}
 *
 * - outline: every heading, flat, in document order, with its level (1-6) and
 *   the byte offset of its heading line; the nesting is given by the levels.
 * - summary: an extractive summary — TextRank (LexRank-style weighted cosine
 *   similarity, damping 0.85, at most 50 power iterations) over the sentences
 *   of paragraph and list blocks; the 3-5 most central ones in document
 *   order; rank 1 is the most central. start/end are byte offsets into the
 *   normalized text, and text == text[start:end].
 * - keywords: up to 10 distinctive terms. With collection statistics, TF in
 *   the document × IDF from the collection's FTS5 index (porter stems mapped
 *   back to the document's most frequent surface form); without them, TF × a
 *   word-length weight with stop words removed. keywords_from says which
 *   ("collection" or "heuristic").
 * - language / script: a heuristic guess (dominant Unicode script; for Latin
 *   script, stop-word hits for en fr de es it pt nl), "und" when unsure.
 *
 * Everything but the two timestamps is a deterministic function of the
 * document and the statistics. Algorithm and measured cost: docs/summary.md.
 *
 * With the llm summarizer (--summarizer llm, a generation provider from
 * provider/generator.h) the extractive summary is still built; a model is
 * also asked for a 2-3 sentence abstract of the title, outline and the
 * first SUMMARY_LLM_INPUT_TOKENS tokens of the text. Its cleaned reply is
 * stored as "abstract" (with "summarizer":"llm", "llm_model", and
 * "summary_text" = the abstract); when the call fails the document keeps
 * the extractive summary, "summarizer":"extractive" and "llm_error".
 *
 * Thread-safety: summary_build is reentrant; a summary_stats or summary_ctx
 * belongs to the store connection it was made from (one thread at a time).
 */
#ifndef RAGD_INGEST_SUMMARY_H
#define RAGD_INGEST_SUMMARY_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "ingest/ingest.h"
#include "provider/generator.h"
#include "store/store.h"

/* Below this many indexed chunks, IDF is too noisy: keywords use the
 * heuristic even when statistics were loaded. */
#define SUMMARY_MIN_STATS_ROWS 50

/* A document gets a summary entry (a searchable chunk of kind "summary"
 * holding its summary sentences and keywords, docs/summary.md) when it has
 * at least this many chunks. In shorter documents each chunk is a third or
 * more of the text and already holds most of the summary: there the entry
 * is a near-duplicate that only gives its document one more chance to
 * outrank others, and measured on SciFact it lowered hybrid nDCG@10 and
 * Recall@100 (with 2 or 3; neutral with 4). */
#define SUMMARY_ENTRY_MIN_CHUNKS 4

/* Collection statistics for keywords: how many indexed chunks hold each
 * stemmed term (an fts5vocab 'row' table over the FTS5 index), plus FTS5's
 * own porter tokenizer, so a document's terms are stemmed exactly as the
 * index stems them. The FTS5 table is shared by the data directory's
 * collections, so the counts are over all of them. */
typedef struct summary_stats summary_stats;

/* Load the statistics from st's FTS5 index (one scan of the vocabulary).
 * *out must be freed with summary_stats_free before st is closed. */
ragd_status summary_stats_load(ragd_store *st, summary_stats **out, ragd_error *err);
void summary_stats_free(summary_stats *s);
/* Indexed chunks the statistics cover. */
int64_t summary_stats_rows(const summary_stats *s);

/* Build d's summary. coll_stats may be NULL (or cover fewer than
 * SUMMARY_MIN_STATS_ROWS chunks): keywords then use the heuristic. When d
 * itself is indexed, its own chunks count in the statistics here;
 * summary_for_ingest takes them out. created_at
 * and updated_at are set to now (UTC, ISO 8601). *out is a new reference. */
ragd_status summary_build(const ingest_doc *d, const char *source, const summary_stats *coll_stats,
                          json_t **out, ragd_error *err);

/* The extractive part of d's summary alone (reentrant; TextRank is most of
 * a summary's cost): {"summary":[…],"summary_text","sentences"}, exactly as
 * summary_build would put them. The ingest pipeline computes it on a worker
 * thread, where the summary entry is embedded, and hands it to
 * summary_for_ingest. New reference. */
json_t *summary_extract(const ingest_doc *d);

/* --- the part of a summary computed off the writer --------------------------

 * Everything of a document's summary that needs no collection statistics:
 * the extractive sentences (TextRank), script and language, outline, token
 * count, and the document's terms as FTS5's porter tokenizer counts them
 * (only their scoring needs the statistics). The ingest pipeline computes
 * it on a worker (summary_prepare) and hands it to summary_for_ingest_pre
 * on the writer; the result is exactly summary_for_ingest's. A
 * summary_tokenizer is one thread's porter tokenizer (own in-memory SQLite
 * connection): one thread at a time. */
typedef struct summary_tokenizer summary_tokenizer;
ragd_status summary_tokenizer_new(summary_tokenizer **out, ragd_error *err);
void summary_tokenizer_free(summary_tokenizer *t);

typedef struct summary_pre summary_pre;
/* d must outlive the result (its terms point into d's text). tok NULL:
 * the terms are counted later on the writer. Reentrant. */
summary_pre *summary_prepare(const ingest_doc *d, summary_tokenizer *tok);
void summary_pre_free(summary_pre *p);
/* Serialize the part of the summary of d under source that needs no
 * statistics (title … summary_text, and the metadata), so that
 * summary_for_ingest_pre on the writer only appends the keywords and the
 * timestamps; the bytes are the same as without it. The ingest pipeline
 * calls it on a worker. Reentrant. */
void summary_pre_fix(summary_pre *p, const ingest_doc *d, const char *source);
/* Whether summary_pre_fix serialized p: then summary_for_ingest_pre without
 * an LLM abstract writes valid JSON whose summary_text is
 * summary_pre_text(p). */
bool summary_pre_fixed(const summary_pre *p);
/* The extractive summary_text ("" when no sentence was chosen). */
const char *summary_pre_text(const summary_pre *p);
/* text_count_tokens of d's text. */
size_t summary_pre_tokens(const summary_pre *p);

/* The text of a document's summary entry (docs/summary.md, "Summary
 * entry"): the summary object's summary_text, then a line
 * "Keywords: a, b, c." when it has keywords. malloc'd; NULL when the
 * summary has no sentence (then there is no entry). */
char *summary_entry_text(const json_t *summary);

/* Check a --summarizer name: NULL, "" "extractive" and "llm" are fine
 * (whether "llm" has a generator is the caller's check); anything else is
 * RAGD_EUSAGE. */
ragd_status summary_check_summarizer(const char *name, ragd_error *err);

/* True for "llm". */
bool summary_is_llm(const char *summarizer);

/* --- the llm summarizer ------------------------------------------------------ */

#define SUMMARY_LLM_INPUT_TOKENS 3000 /* document text sent, at most (approximate tokens) */
#define SUMMARY_LLM_OUTLINE_MAX 40    /* headings listed in the prompt, at most */
#define SUMMARY_LLM_MAX_TOKENS 300    /* reply tokens asked for (max_tokens) */
#define SUMMARY_ABSTRACT_MAX 1000     /* bytes of abstract stored, at most */

/* One document's LLM abstract, or why there is none. All strings malloc'd. */
typedef struct {
    bool asked;     /* summary_llm_run ran */
    char *abstract; /* the cleaned reply; NULL on failure */
    char *error;    /* on failure: the reason, NULL otherwise */
    char *model;    /* the generator's model */
} summary_llm;

/* The system prompt (static). */
const char *summary_llm_system_prompt(void);

/* The user message for d: title, outline, and the text (its first
 * budget_tokens tokens, cut at a token start) between <document> tags,
 * with any "</document>" inside the text defused. Malloc'd. */
char *summary_llm_prompt(const ingest_doc *d, size_t budget_tokens);

/* A model's reply as an abstract: a leading <think>...</think> block, a
 * "Summary:" label and wrapping quotes dropped, whitespace runs collapsed
 * to one space, control characters removed, at most SUMMARY_ABSTRACT_MAX
 * bytes (cut after the last full sentence, else at a word, with "…").
 * NULL with err set (RAGD_EPROVIDER) when nothing is left or the reply is
 * not valid UTF-8. Pure function. */
char *summary_llm_clean(const char *reply, ragd_error *err);

/* Stops asking a generator that is down: once SUMMARY_LLM_BREAKER
 * documents in a row had their call fail after retries (timeouts, refused
 * connections, 429/5xx to the last attempt — not a request the server
 * rejected at once, such as a 400 for one too-long document), the run's
 * remaining documents are not sent. One per ingest run, shared by its
 * threads (atomics); zero-initialize. */
#define SUMMARY_LLM_BREAKER 5
typedef struct {
    atomic_int in_a_row;
} summary_llm_breaker;

/* Ask g for d's abstract into *out (cleared first). Never fails: a
 * generator or cleaning error goes to out->error (also when breaker, which
 * may be NULL, is open: then nothing is sent). Adds to *u. Uses g: one
 * thread at a time per generator (see generator.h); otherwise reentrant,
 * so workers call it with their own generator_clone. */
void summary_llm_run(ragd_generator *g, summary_llm_breaker *breaker, const ingest_doc *d,
                     summary_llm *out, gen_usage *u);

/* Free out's strings and reset it. */
void summary_llm_clear(summary_llm *out);

/* --- ingest-time driver ------------------------------------------------------ */

/* Holds the statistics for one ingest run and reloads them as the
 * collection grows (when the documents summarized since the last load reach
 * max(32, the documents there were then)), so a first ingest into an empty
 * collection still gets collection IDF for all but its first documents while
 * the vocabulary is scanned O(log n) times per run. */
typedef struct summary_ctx summary_ctx;

/* summarizer: as for summary_check_summarizer. Statistics load lazily. */
ragd_status summary_ctx_new(ragd_store *st, int64_t coll, const char *summarizer, summary_ctx **out,
                            ragd_error *err);
void summary_ctx_free(summary_ctx *c);

/* The summary JSON text (malloc'd, compact; caller frees) for a document
 * about to be stored under key. When the document existed, its first
 * summary's created_at is kept and its old chunks are left out of the
 * keyword statistics. pre: summary_extract(d) when already computed, or
 * NULL. entry_text (may be NULL) receives summary_entry_text of the result
 * (malloc'd, or NULL). Never fails the document: on an error it logs a
 * warning and returns NULL (the document is stored with {}). */
char *summary_for_ingest(summary_ctx *c, const char *key, const char *source, const ingest_doc *d,
                         bool existed, const json_t *pre, char **entry_text);

/* summary_for_ingest, then llm's outcome applied when llm->asked (see the
 * top of this file); llm NULL is summary_for_ingest. The summary entry's
 * text is always built from the extractive sentences (an LLM abstract is not
 * a slice of the document). */
char *summary_for_ingest_llm(summary_ctx *c, const char *key, const char *source,
                             const ingest_doc *d, bool existed, const json_t *pre,
                             const summary_llm *llm, char **entry_text);

/* summary_for_ingest_llm with the statistics-free part computed earlier
 * (summary_prepare of the same d; NULL: computed here). Uses up pre's
 * terms: call once per pre. */
char *summary_for_ingest_pre(summary_ctx *c, const char *key, const char *source,
                             const ingest_doc *d, bool existed, summary_pre *pre,
                             const summary_llm *llm, char **entry_text);

/* True when the next summary_for_ingest* call will reload the collection
 * statistics (so a caller batching writes can commit them first: the
 * statistics then cover every document written before, as without
 * batching). */
bool summary_ctx_due(const summary_ctx *c);

#endif
