/* ingest/summary_internal.h — private to the summarizer's files: what
 * ingest/summary.c (the summary and its ingest-time driver) uses from
 * words.c (stop words, folding), langid.c (script and language),
 * textrank.c (sentence ranking), keywords.c (keywords and collection
 * statistics) and summary_llm.c (the LLM abstract).
 * Ownership and thread-safety as in ingest/summary.h: every function is
 * reentrant; the stop-word table is built once (pthread_once) and then
 * only read.
 */
#ifndef RAGD_INGEST_SUMMARY_INTERNAL_H
#define RAGD_INGEST_SUMMARY_INTERNAL_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/hmap.h"
#include "ingest/summary.h"

/* --- words.c: stop words, CJK classes, folding --- */

enum { L_EN, L_FR, L_DE, L_ES, L_IT, L_PT, L_NL, L_N };
extern const char *const LANG_CODE[L_N];

bool stop_find(const char *w, size_t n, unsigned *mask);
/* stop_find without its (length, first byte) prefilter: the plain map
 * lookup, kept as the reference for tests. */
bool stop_find_ref(const char *w, size_t n, unsigned *mask);
bool is_stop(const char *w, size_t n);
bool cjk_stop(int32_t cp);
bool is_hiragana(int32_t cp);
bool is_katakana(int32_t cp);
bool is_hangul(int32_t cp);
size_t cp_count(const char *s, size_t n);
bool all_digits(const char *s, size_t n);
void put_lower(ragd_buf *b, const char *s, size_t n);
char *fast_fold(const char *s, size_t n, size_t *out_len);
bool maybe_cjk(const char *s, size_t n);
int32_t first_cp(const char *s, size_t n);

/* --- langid.c --- */

void guess_language(const ingest_doc *d, const char **script, const char **lang);

/* --- textrank.c --- */

void build_summary(const ingest_doc *d, json_t **arr_out, json_t **text_out, size_t *nsent);

/* TextRank's vocabulary (textrank.c): a word's term id, ids 0, 1, … in
 * first-seen order (the numbering an hmap gives its keys by insertion);
 * words are copied into one arena. Exposed for tests. Ownership: the
 * caller frees with tr_vocab_free (NULL is fine). Not thread-safe: one per
 * document being summarized. */
typedef struct tr_vocab tr_vocab;
tr_vocab *tr_vocab_new(void);
int64_t tr_vocab_id(tr_vocab *v, const char *p, size_t len);
size_t tr_vocab_size(const tr_vocab *v);
void tr_vocab_free(tr_vocab *v);

/* --- keywords.c: collection statistics and keywords --- */

struct summary_stats {
    hmap df;      /* stemmed term -> indexed chunks holding it */
    int64_t rows; /* indexed chunks */
    fts5_tokenizer tok;
    Fts5Tokenizer *inst;
};

/* A document's own chunks already in the index (when it is re-ingested):
 * their counts are taken out of the statistics, so a long document's topic
 * is not "common" because it fills that document's own chunks. */
typedef struct {
    hmap df;
    int64_t rows;
} self_counts;

ragd_status self_counts_load(ragd_store *st, int64_t coll, const char *key,
                             const summary_stats *stats, self_counts *out, ragd_error *err);
json_t *build_keywords(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                       const char **from);

/* A document's terms tokenized by FTS5's porter tokenizer and counted, not
 * yet scored: the part of the collection keywords that needs no statistics
 * (computed on an ingest worker with its own tokenizer instance). Borrows
 * d, which must outlive it. */
typedef struct kw_terms kw_terms;
kw_terms *kw_collect_porter(const ingest_doc *d, const fts5_tokenizer *tok, Fts5Tokenizer *inst);
void kw_terms_free(kw_terms *k);
kw_terms *kw_collect_with(const ingest_doc *d, summary_tokenizer *t);
/* build_keywords with the porter terms already counted (porter may be
 * NULL; when used, its scores are overwritten). The same result as
 * build_keywords. */
json_t *build_keywords_pre(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                           kw_terms *porter, const char **from);

/* build_keywords_pre's array as json_dumps(…, JSON_COMPACT |
 * JSON_REAL_PRECISION(6)) writes it, appended to json, without building
 * it in jansson (the ingest writer's share); terms (may be NULL) gets the
 * non-empty terms joined by ", " as summary_entry_text lists them. */
void build_keywords_text(const ingest_doc *d, const summary_stats *stats, const self_counts *own,
                         kw_terms *porter, const char **from, ragd_buf *json, ragd_buf *terms);
/* A real as jansson writes it at JSON_REAL_PRECISION(6) into buf: its
 * length, or -1. */
int summary_real_text(char buf[40], double v);

/* --- summary.c --- */

json_t *build_outline(const ingest_doc *d);

#endif
