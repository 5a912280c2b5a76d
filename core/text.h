/* core/text.h — UTF-8 text: validation, normalization, folding, segmentation
 * and token counting, on top of utf8proc.
 *
 * All positions are byte offsets into the text passed in. Spans are half-open
 * [start, end). Every segmentation function returns spans that start and end
 * on code point boundaries (and, for words and sentences, on grapheme
 * boundaries), so slicing a valid UTF-8 string by them yields valid UTF-8.
 *
 * Token counts are an approximation of a BPE tokenizer (see
 * text_count_tokens) — close enough to size chunks and budgets, documented in
 * docs/chunking.md, and deterministic.
 *
 * Memory: arrays returned through `out` parameters are malloc'd and owned by
 * the caller (free()). Thread-safety: every function is reentrant.
 */
#ifndef RAGD_CORE_TEXT_H
#define RAGD_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/error.h"

typedef struct {
    size_t start, end;
} ragd_span;

/* Decode one code point at s[i] (i < n). Returns its byte length (1..4) and
 * stores the code point, or returns 0 on an invalid/truncated/overlong
 * sequence or a surrogate. */
size_t text_decode(const char *s, size_t n, size_t i, int32_t *cp);

/* True when s[0..n) is valid UTF-8 and has no NUL byte. Otherwise false, and
 * *bad_off (if not NULL) is the offset of the first offending byte and *why
 * (if not NULL) a static description ("invalid UTF-8", "NUL byte"). */
bool text_utf8_check(const char *s, size_t n, size_t *bad_off, const char **why);

/* A valid UTF-8 copy of the NUL-terminated s, such as a file name, which
 * on Linux is any bytes: s unchanged when it is valid UTF-8; otherwise every
 * byte that is not part of a valid sequence, and every backslash, written as
 * the four characters \xHH (uppercase hex), so the original bytes can be
 * read back. Returns a malloc'd string (caller frees). */
char *text_escape_invalid(const char *s);

/* Normalize document text: drop leading byte-order marks, turn CRLF and lone
 * CR into LF, and compose to NFC. Input must be valid UTF-8 (check first).
 * On success *out is a malloc'd NUL-terminated string owned by the caller. */
ragd_status text_normalize(const char *s, size_t n, char **out, size_t *out_len, ragd_error *err);

/* Fold text for matching: NFKC and case folding, and with strip_marks also
 * every combining mark removed (é -> e; note this also strips Japanese
 * voicing marks, so FTS queries fold without it). Returns a malloc'd
 * NUL-terminated string (caller frees); invalid input yields "". */
char *text_fold(const char *s, size_t n, bool strip_marks, size_t *out_len);

/* text_fold into the caller's reusable buffer: *out (reset first; the
 * caller owns and frees it) receives the same NUL-terminated bytes; false
 * (and *out empty) on invalid input. Thread-safe for distinct buffers. */
bool text_fold_buf(const char *s, size_t n, bool strip_marks, ragd_buf *out);

/* text_fold in one utf8proc call over the whole text. text_fold folds runs
 * of ASCII itself and only the rest with utf8proc; this is the reference it
 * must equal byte for byte (tests/unit_text.c). Same contract. */
char *text_fold_reference(const char *s, size_t n, bool strip_marks, size_t *out_len);

/* Word spans: runs of letters, marks and digits, joining internal
 * apostrophes ("don't") and digit separators ("3.14", "1,000"); every CJK
 * ideograph, kana or hangul syllable is a word of its own. Returns the count;
 * *out receives the malloc'd array (NULL when the count is 0). */
size_t text_words(const char *s, size_t n, ragd_span **out);

/* Sentence spans, trimmed of surrounding whitespace. A sentence ends after
 * . ! ? … (and closing quotes/brackets) followed by space and a plausible
 * sentence start, but not after known abbreviations ("Dr.", "e.g."), single
 * initials ("J."), or inside numbers ("3.14"); after CJK terminators 。！？
 * with no space needed; at blank lines; and before Markdown block starts
 * (headings, list items, table rows, quotes, fences). Returns the count. */
size_t text_sentences(const char *s, size_t n, ragd_span **out);

/* text_sentences into the caller's reusable buffer *buf of capacity *cap
 * (grown as needed; the caller frees it): the spans go to (*buf)[0..count),
 * whatever it held before. Returns the count. */
size_t text_sentences_reuse(const char *s, size_t n, ragd_span **buf, size_t *cap);

/* text_words into the caller's reusable buffer, as text_sentences_reuse. */
size_t text_words_reuse(const char *s, size_t n, ragd_span **buf, size_t *cap);

/* Approximate token count: each word of k code points counts 1 + (k-1)/6
 * tokens, each CJK character 1, each other non-space grapheme (punctuation,
 * symbols, emoji) 1, whitespace 0. */
size_t text_count_tokens(const char *s, size_t n);

/* The byte offset where each approximate token starts (as counted by
 * text_count_tokens, in order). Returns the count. */
size_t text_token_starts(const char *s, size_t n, size_t **out);

/* text_token_starts, plus (*unit, malloc'd, one byte per token) whether
 * each token begins a unit of the count — a word run, a CJK character, a
 * symbol cluster — rather than continuing a word (the 7th, 13th, ... code
 * point of a long word). Counting restarts cleanly at a unit: for a token
 * start p that is a unit and any code point boundary e >= p,
 * text_count_tokens(s + p, e - p) is the number of token starts in [p, e).
 * The chunkers use this to count a window without scanning it again. */
size_t text_token_units(const char *s, size_t n, size_t **out, unsigned char **unit);

/* For all-ASCII s[0..n), text_words and text_token_units in one pass
 * (*words, *ts and *unit malloc'd, NULL when empty): the same spans, starts
 * and flags. Returns false, allocating nothing, when s holds a byte >= 0x80
 * (call the two functions then). */
bool text_ascii_words_tokens(const char *s, size_t n, ragd_span **words, size_t *nwords,
                             size_t **ts, unsigned char **unit, size_t *nt);

/* Growable token starts with their unit flags (as text_token_units gives
 * them). The caller owns v and unit and frees both; zero-initialise it. Not
 * shared between threads. */
typedef struct {
    size_t *v;
    unsigned char *unit;
    size_t n, cap;
} text_tokens;

/* Makes room for k more token starts in tv (capacity doubles, from 256). */
void text_tokens_reserve(text_tokens *tv, size_t k);

/* text_ascii_words_tokens without allocations of its own: appends the token
 * starts of s[0..n), each plus base, to *tv, and puts the words (relative
 * to s) in the caller's reusable buffer *words of capacity *wcap (grown as
 * needed; the caller frees it), their number in *nwords. Returns false,
 * changing nothing, when s holds a byte >= 0x80. */
bool text_ascii_words_tokens_append(const char *s, size_t n, size_t base, text_tokens *tv,
                                    ragd_span **words, size_t *wcap, size_t *nwords);

/* text_words and text_token_units of any valid or invalid UTF-8 s[0..n) in
 * one call, without allocations of its own: appends the token starts (each
 * plus base) to *tv and, when words is not NULL, puts the words (relative
 * to s) in the caller's reusable buffer *words of capacity *wcap (grown as
 * needed; the caller frees it) and their number in *nwords. Runs of ASCII
 * take the one-pass ASCII scan of text_ascii_words_tokens_append; only the
 * stretch around each non-ASCII run, widened to the nearest ASCII space,
 * tab or newline followed by an ASCII byte (where both scans restart
 * afresh), takes the general scans. Same output as text_words plus
 * text_token_units (tests/unit_text_pins.c). */
void text_words_tokens_append(const char *s, size_t n, size_t base, text_tokens *tv,
                              ragd_span **words, size_t *wcap, size_t *nwords);

/* Largest grapheme-cluster boundary <= pos (0 and n are boundaries). */
size_t text_grapheme_floor(const char *s, size_t n, size_t pos);

/* True when cp is a CJK ideograph, kana, or hangul syllable. */
bool text_is_cjk(int32_t cp);

/* Copy s with a space inserted around every CJK character, so a word-based
 * tokenizer (FTS5 unicode61) indexes CJK text as unigrams. Returns a malloc'd
 * NUL-terminated string the caller frees. */
char *text_space_cjk(const char *s, size_t n);
#endif
