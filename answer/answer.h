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
#include "provider/generator.h"
#include "retrieve/retrieve.h"

/* The fixed reply when validation finds nothing relevant. */
#define ANSWER_NOT_FOUND "I could not find an answer to this in the sources."

/* A cited sentence must share at least this share of its content terms with
 * one of the sources it cites (besides repeating its numbers and names). */
#define ANSWER_MIN_SUPPORT 0.6

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
    json_t *check;         /* owned */
    bool found;            /* false: the not-found reply, generator not called */
    const char *generator; /* "extractive" | "openai" | "ollama" (static or borrowed) */
    /* Filled by answer_run (answer_extractive leaves them zero): */
    const char *path; /* generated|repaired|dropped|extractive|extractive_fallback|not_found */
    char *model;      /* the model that wrote the answer, NULL when extractive; owned */
    gen_usage usage;  /* every generation call of this answer, repair included */
    double ms_generate, ms_check, ms_repair;
    const char *template_id; /* "answer" or the override file's path (borrowed) */
    int template_version;    /* 0 for an override file */
    bool *injection;         /* per source (index n-1): reads as instructions; owned, may be NULL */
    size_t ninjection;
    /* For the call log (owned, NULL when no generator was called): the
     * prompt sent ("system:\n…\n\nuser:\n…"), the model's first reply as
     * it came, and the repair call's reply. */
    char *prompt, *response, *repair_response;
    /* Routing: "small" | "large" (static) and why (owned); NULL without. */
    const char *route;
    char *route_reason;
} answer_result;

void answer_result_free(answer_result *a);

/* The extractive generator: up to max_sentences source sentences (default 3,
 * at most 2 per source) ranked by query-term coverage, each followed by its
 * [n] citation. When ctx is not relevant or has no sources, returns the
 * not-found reply. The answer is then checked with answer_check. */
ragd_status answer_extractive(const context_result *ctx, const char *query, int max_sentences,
                              answer_result *out, ragd_error *err);

/* Check the citations of `answer` against the sources of ctx. Returns
 * {"ok","sentences":[{"text","citations":[n…],"verdict","supported","support",
 *  "reasons":[…],"quotes":[{"n","start","end","quote"}]}],"invalid_citations":[n…],
 *  "uncited","unsupported","claims","supported"}; verdict is supported |
 * unsupported | uncited_claim | invalid_citation | no_claim (rules in
 * answer/check.c and docs/answer.md). ok: no invalid citation and every
 * claim supported. New reference. */
json_t *answer_check(const char *answer, const context_result *ctx);

/* --- the generation call (answer/generate.c) ------------------------------ */

typedef struct {
    ragd_generator *const *generators; /* borrowed; tried in order (one per model); none =
                                          the extractive generator */
    size_t ngenerators;
    const char *template_path; /* prompt override file (see answer/prompts/answer_v1.h), or NULL */
    int max_tokens;            /* reply tokens per call; 0 = 512 */
    int max_sentences;         /* extractive answers; 0 = 3 */
    /* Streaming (may be NULL): the first generation call of each generator
     * streams its tokens here as they arrive (generator_stream); repair
     * calls are not streamed. Non-zero from on_token stops the answer:
     * answer_run then returns RAGD_EIO without trying another generator. */
    generator_token_fn on_token;
    void *token_user;
    /* Routing (--generator-route small=M1,large=M2): generators[0] is the
     * small model, generators[1] the large one; answer_route picks one per
     * context and the other is tried only when it fails. */
    bool route;
} answer_opts;

/* The routing rule: a context whose sources all come from one document
 * and hold at most ANSWER_ROUTE_SMALL_TOKENS tokens goes to the small
 * model, any other to the large one. Returns "small" or "large" (static)
 * and writes why into reason. */
#define ANSWER_ROUTE_SMALL_TOKENS 600
const char *answer_route(const context_result *ctx, char *reason, size_t cap);

/* The whole answer step for validated context ctx: not relevant -> the
 * fixed not-found reply with no generation call; no generator -> the
 * extractive answer; else one call per generator in order until one
 * answers, the citation check, on failure one repair call naming the failed
 * sentences and why, then dropping the unsupported sentences when a
 * supported claim remains, else the extractive answer. A provider failure
 * of every generator also falls back to the extractive answer. out->check
 * holds "path" and "steps" (one object per stage). Errors: RAGD_EINPUT for
 * an unreadable or malformed template file; provider failures are not
 * errors. The generators are used one at a time (not thread-safe per
 * generator: give each thread its own clones); otherwise reentrant. */
ragd_status answer_run(const context_result *ctx, const char *query, const answer_opts *o,
                       answer_result *out, ragd_error *err);

/* The prompt answer_run sends: *system (the template's instructions, never
 * touched by source text) and *user (sources as <source n="…" title="…">
 * blocks, their text escaped with &lt; &gt; &amp;, then the question); both
 * malloc'd. injection (ctx->nsources entries, may be NULL) is set per source
 * whose text reads as instructions to a model. template_path NULL = the
 * built-in template. RAGD_EINPUT for a bad template file. */
ragd_status answer_prompt(const context_result *ctx, const char *query, const char *template_path,
                          char **system, char **user, bool *injection, ragd_error *err);

/* True when text contains phrases aimed at a model ("ignore previous
 * instructions", "you are now", "reveal the system prompt", ...), ASCII
 * case-insensitive with runs of white space as one space. */
bool answer_injection_suspected(const char *text);

/* --- facts the checker compares (answer/facts.c) --------------------------- */

typedef struct {
    char num[32];     /* digits with '.' kept, ',' removed, ordinal suffix dropped */
    const char *unit; /* canonical unit ("min", "m", "%", ...; static) or NULL */
} answer_fact;

/* Every number in s[0..n) with its unit; *out is malloc'd (free it). */
size_t answer_facts(const char *s, size_t n, answer_fact **out);

/* f is among src: same number, and the same unit when f has one (a bare
 * source number counts when the source uses that unit elsewhere). */
bool answer_fact_in(const answer_fact *f, const answer_fact *src, size_t nsrc);

/* The first capitalised word of s[0..n) (not opening the sentence, not a
 * stop word) that src lacks as a whole word, or NULL. Borrowed from s. */
const char *answer_missing_name(const char *s, size_t n, const char *src);

/* The canonical unit of word w[0..n) ("minutes" -> "min", "TB" -> "tb"),
 * or NULL when it is not a unit. Static string. */
const char *answer_unit(const char *w, size_t n);

/* Whole-word ASCII case-insensitive search of w in text[0..tl). */
bool answer_has_word_n(const char *text, size_t tl, const char *w);

/* Whole-word ASCII case-insensitive search. */
bool answer_has_word(const char *text, const char *w, size_t n);

/* s states a negation (not, no, never, none, nor, cannot, neither, n't). */
bool answer_negated(const char *s, size_t n);

/* A citation marker group at s[i] ("[1]", "[1, 2]", "【1】"): true with its
 * byte length in *len and its numbers appended to nums[*k..] (16 at most). */
bool answer_parse_marker(const char *s, size_t n, size_t i, int *nums, size_t *k, size_t *len);

/* --- measuring the checker (answer/eval_citations.c) ----------------------- */

/* answer_check of `answer` against a throw-away context whose source n is
 * texts[n-1] (borrowed). New reference. */
json_t *answer_check_texts(const char *answer, const char *const *texts, size_t n);

/* Run the labelled cases of a jsonl file ({"id","kind","sentence",
 * "sources":[..],"label":"supported"|"unsupported"}): *report (new reference)
 * = {"cases","precision","recall" (of "unsupported"),"tp","fp","fn","tn",
 * "kinds":{kind:{"cases","flagged"}},"misses":[..]}. RAGD_EINPUT for an
 * unreadable file or a malformed line. */
ragd_status answer_eval_citations(const char *path, json_t **report, ragd_error *err);

/* {"query","answer","citations":[{"n","chunk_id","doc_id","start","end","quote"}],
 *  "check","sources":[…],"usage":{…},"relevant"}. New reference. */
json_t *answer_result_json(const answer_result *a, const context_result *ctx, const char *query);

#endif
