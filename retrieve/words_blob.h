/* retrieve/words_blob.h — the content words validation folds, precomputed.
 *
 * Validation (search.c, validate.h) folds, splits and stop-words every
 * candidate's "title\nheading_path\ntext" and its document's summary text
 * (vwords_init). That work depends only on the stored text, so the store
 * keeps its result (schema v8): chunks.chunk_words and
 * documents.summary_words, written by store_doc_put (store/doc_write.c) in
 * the document's transaction and by the v7 -> v8 migration
 * (store/schema.c). Search decodes the blob instead of folding; a NULL or
 * malformed blob falls back to vwords_init on the text, with the same
 * words (the blob is that function's output).
 *
 * Format (all integers LEB128 varints):
 *   byte 0   kind: WORDS_BLOB_WORDS or WORDS_BLOB_FULL
 *   byte 1   flags: bit 0 = the source text was non-empty (a summary)
 *   varint   number of content words n
 *   WORDS:   n word lengths, then the n words' folded bytes back to back.
 *            Used when the folded text has no CJK character: the only use
 *            of the bytes between words is validate_terms_found's strstr of
 *            a CJK term, which cannot match such a text, nor the words
 *            joined (valid UTF-8 whose characters are a subset of it).
 *   FULL:    varint folded length L, the L folded bytes, then per word the
 *            gap from the previous word's end to its start and its length.
 * Decoding gives the same vwords as vwords_init on the text, up to the
 * bytes of WORDS's folded buffer between and around words, which no
 * consumer reads (spans index it).
 *
 * A blob is a cache of vwords_init's rules at the time it was written
 * (utf8proc's NFKC/case-fold tables, text_words, the stop-word list of
 * index/lexical.c). A change to any of them must bump the kind bytes (the
 * decoder then rejects the old blobs and search folds the text, with the
 * new rules) and append a migration that recomputes them
 * (schema_fill_words); otherwise stored and folded words would disagree.
 *
 * Ownership: encoders append to a caller's ragd_buf; words_blob_decode
 * fills a vwords released by vwords_free. Thread-safety: reentrant. */
#ifndef RAGD_RETRIEVE_WORDS_BLOB_H
#define RAGD_RETRIEVE_WORDS_BLOB_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "retrieve/validate.h"

#define WORDS_BLOB_WORDS 1
#define WORDS_BLOB_FULL 2

/* The words validation takes from a hit: vwords_init of
 * title "\n" heading_path "\n" text (each up to its first NUL, as the
 * search reads them back). */
void vwords_init_chunk(vwords *v, const char *title, const char *heading, const char *text);

/* Append the blob of v (from vwords_init) to out; has_text sets flag bit 0. */
void words_blob_encode(const vwords *v, bool has_text, ragd_buf *out);

/* The blob of a chunk (vwords_init_chunk) into out (reset first). */
void words_blob_chunk(const char *title, const char *heading, const char *text, ragd_buf *out);

/* The blob of a document's summary text (NULL or "" = none: flag clear, no
 * words) into out (reset first). */
void words_blob_summary(const char *summary, ragd_buf *out);

/* Decode blob[0..n) into v (and *has_text, when not NULL). False, with v
 * zeroed, when the blob is malformed (callers then fold the text). */
bool words_blob_decode(const void *blob, size_t n, vwords *v, bool *has_text);

#endif
