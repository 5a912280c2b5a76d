/* index/lexical.h — the FTS5 lexical index.
 *
 * Chunks are indexed at write time by the store (chunks_fts: title, heading
 * path, body, and coll — one token "c<collection id>" per row that searches
 * match on instead of joining chunks and documents; tokenizer unicode61 with diacritics removed +
 * porter stemming; CJK text spaced into unigrams). This module turns a user query into a safe FTS5
 * MATCH expression and runs BM25 with the title weighted above the body.
 *
 * Thread-safety: reentrant; the store must not be used concurrently.
 */
#ifndef RAGD_INDEX_LEXICAL_H
#define RAGD_INDEX_LEXICAL_H

#include <stddef.h>
#include <stdint.h>

#include "core/error.h"
#include "store/store.h"

/* BM25 column weights: title, heading path, body. */
#define LEXICAL_W_TITLE 2.0
#define LEXICAL_W_HEADING 1.5
#define LEXICAL_W_BODY 1.0

typedef struct {
    int64_t chunk_id;
    double score; /* -bm25: higher is better */
} lexical_hit;

/* The query's content terms: folded (case, diacritics, NFKC), stop words
 * dropped, duplicates removed, in order. CJK runs yield character bigrams
 * (or the single character). Returns the count; *terms is a malloc'd array
 * of malloc'd strings (free with lexical_terms_free). */
size_t lexical_terms(const char *query, char ***terms);
void lexical_terms_free(char **terms, size_t n);

/* True for English function words ignored by lexical matching. */
int lexical_is_stopword(const char *folded_word);
/* The same for the folded word w[0..n) (not NUL-terminated), the
 * typographic apostrophe (U+2019) counting as "'". */
int lexical_is_stopword_n(const char *w, size_t n);

/* The stop word list, sorted by strcmp; *n receives its length. */
const char *const *lexical_stopwords(size_t *n);

/* Build the FTS5 MATCH expression for query: quoted terms joined by OR
 * (CJK bigrams as two-token phrases). Returns a malloc'd string, or NULL
 * when the query has no content terms. */
char *lexical_match_expr(const char *query);

/* The number of rows in the lexical index (all collections): FTS5's own
 * total, read from its averages record (the N of its bm25), which FTS5 keeps
 * equal to the row count of chunks_fts_docsize; that count when the record
 * cannot be read. */
ragd_status lexical_indexed_rows(ragd_store *st, int64_t *rows, ragd_error *err);

/* BM25-style inverse document frequency of each term over the lexical index
 * (all collections): idf = ln(1 + (N - df + 0.5) / (df + 0.5)), N = indexed
 * chunks. A term that occurs nowhere gets the largest idf. Fills idf[0..n). */
ragd_status lexical_terms_idf(ragd_store *st, char **terms, size_t n, double *idf, ragd_error *err);

/* Top-k chunks of collection coll for query by BM25. *hits is malloc'd
 * (caller frees); *n may be 0 (no content terms or no match). */
ragd_status lexical_search(ragd_store *st, int64_t coll, const char *query, size_t k,
                           lexical_hit **hits, size_t *n, ragd_error *err);

#endif
