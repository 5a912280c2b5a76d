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
 * Thread-safety: summary_build is reentrant; a summary_stats or summary_ctx
 * belongs to the store connection it was made from (one thread at a time).
 */
#ifndef RAGD_INGEST_SUMMARY_H
#define RAGD_INGEST_SUMMARY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/error.h"
#include "ingest/ingest.h"
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

/* The text of a document's summary entry (docs/summary.md, "Summary
 * entry"): the summary object's summary_text, then a line
 * "Keywords: a, b, c." when it has keywords. malloc'd; NULL when the
 * summary has no sentence (then there is no entry). */
char *summary_entry_text(const json_t *summary);

/* Check a --summarizer name: NULL, "" and "extractive" are fine; "llm" is
 * RAGD_EUSAGE (no generation provider exists yet); anything else too. */
ragd_status summary_check_summarizer(const char *name, ragd_error *err);

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

#endif
