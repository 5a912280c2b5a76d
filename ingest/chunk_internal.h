/* ingest/chunk_internal.h — private to ingest/: what the three chunkers share.
 *
 * chunk_fixed.c owns the fixed chunker's machinery: the allowed cut
 * positions with their priorities, token starts, the hard (heading) sections
 * and the window walk. The semantic and parent chunkers reuse it through
 * chunk_ctx and chunk_windows instead of copying it: a semantic span that is
 * too long and a parent's children are both "fixed windows over a byte
 * range", so all three chunkers cut the same way where they cut by size.
 */
#ifndef RAGD_INGEST_CHUNK_INTERNAL_H
#define RAGD_INGEST_CHUNK_INTERNAL_H

#include <stdint.h>

#include "ingest/ingest.h"

typedef struct {
    size_t pos;
    int prio;
} chunk_cut;

/* A hard section [start, end): chunks never span two of them. */
typedef struct {
    size_t start, end;
    const char *heading_path; /* borrowed from the document */
} chunk_span;

/* Everything the chunkers precompute once per document. */
typedef struct {
    const ingest_doc *d;
    size_t *ts;          /* token start offsets (text_token_units) */
    unsigned char *unit; /* per token: it begins a unit of the count */
    size_t nt;
    chunk_cut *cuts; /* allowed cuts, sorted by position */
    size_t ncuts, capcuts;
    chunk_span *secs; /* hard sections, in order, covering the text */
    size_t nsecs;
} chunk_ctx;

void chunk_ctx_init(chunk_ctx *cx, const ingest_doc *d);
void chunk_ctx_free(chunk_ctx *cx);

/* Index of the first token starting at or after pos. */
size_t chunk_tok_index(const chunk_ctx *cx, size_t pos);

/* Tokens of text[s, e) as the chunkers count them (token starts in range). */
size_t chunk_tokens_between(const chunk_ctx *cx, size_t s, size_t e);

/* text_count_tokens(text + s, e - s) for a code point boundary e: from the
 * token starts when s is a unit start (see text_token_units), else by
 * counting. */
size_t chunk_count_tokens(const chunk_ctx *cx, size_t s, size_t e);

/* Skip whitespace (Unicode spaces too) forward from i; trim it back from e. */
size_t chunk_skip_space(const char *t, size_t i, size_t end);
size_t chunk_trim_end(const char *t, size_t start, size_t e);

/* Append chunk text[s, e) (already trimmed) with its token count, heading
 * path and contextual header, under parent index `parent` (-1 for none). */
void chunk_emit(chunk_list *out, const chunk_ctx *cx, size_t s, size_t e, int parent);

/* The fixed chunker's window walk over [start, end), a range inside one hard
 * section: windows of at most max tokens with `overlap` tokens of overlap,
 * each ending at the best allowed cut in its second half. Chunks go to out
 * with parent index `parent`. */
void chunk_windows(const chunk_ctx *cx, size_t start, size_t end, size_t max, size_t overlap,
                   int parent, chunk_list *out);

/* For tests (tests/unit_chunk_sparse.c): the semantic chunker's batch
 * products (p[i] = v_i.meanf, gram[i * span + k] = v_i.v_(i+k)) of m sparse
 * rows (ascending idx[i][0..n[i]) below dim, values val[i]) computed by the
 * one-row-at-a-time reference and by the pass chunk_semantic takes for span
 * (the fused one when span <= 8), twice;
 * returns how many results differ bit for bit plus how many scratch values
 * the passes left nonzero (0 when all is well). Pure; thread-safe. */
size_t chunk_semantic_products_check(const uint32_t *const *idx, const float *const *val,
                                     const size_t *n, size_t m, size_t span, const float *meanf,
                                     int dim);

#endif
