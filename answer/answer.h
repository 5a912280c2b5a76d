/* answer/answer.h — grounded answers and citation checks.
 *
 * Generation is a separate step from retrieval: it sees only the assembled,
 * numbered context. The built-in generator is extractive (model-free): it
 * picks the source sentences that best cover the question and cites each
 * with [n]. Whatever produced an answer, answer_check verifies it: every [n]
 * names a provided source, every factual sentence carries a citation, and
 * each cited sentence is supported by (shares most of its content terms
 * with) a source it cites.
 *
 * Ownership: answer_result is released by answer_result_free; JSON returned
 * is a new reference. Thread-safety: reentrant.
 */
#ifndef RAGD_ANSWER_H
#define RAGD_ANSWER_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"
#include "retrieve/retrieve.h"

/* The fixed reply when validation finds nothing relevant. */
#define ANSWER_NOT_FOUND "I could not find an answer to this in the sources."

/* A cited sentence must share at least this share of its content terms with
 * one of the sources it cites. */
#define ANSWER_MIN_SUPPORT 0.5

typedef struct {
    int n; /* source number */
    int64_t chunk_id;
    const char *doc_id; /* borrowed from the context's hits */
    size_t start, end;  /* byte offsets of the quote in the document text */
    char *quote;        /* owned */
} answer_citation;

typedef struct {
    char *answer; /* owned */
    answer_citation *citations;
    size_t ncitations;
    json_t *check; /* owned */
    bool found;    /* false: the not-found reply, generator not called */
    const char *generator;
} answer_result;

void answer_result_free(answer_result *a);

/* The extractive generator: up to max_sentences source sentences (default 3,
 * at most 2 per source) ranked by query-term coverage, each followed by its
 * [n] citation. When ctx is not relevant or has no sources, returns the
 * not-found reply. The answer is then checked with answer_check. */
ragd_status answer_extractive(const context_result *ctx, const char *query, int max_sentences,
                              answer_result *out, ragd_error *err);

/* Check the citations of `answer` against the sources of ctx. Returns
 * {"ok","sentences":[{"text","citations":[n…],"supported","support"}],
 *  "invalid_citations":[n…],"uncited":k,"unsupported":k}. New reference. */
json_t *answer_check(const char *answer, const context_result *ctx);

/* {"query","answer","citations":[{"n","chunk_id","doc_id","start","end","quote"}],
 *  "check","sources":[…],"usage":{…},"relevant"}. New reference. */
json_t *answer_result_json(const answer_result *a, const context_result *ctx, const char *query);

#endif
