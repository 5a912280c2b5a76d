/* retrieve/validate.h — the pieces of relevance validation.
 *
 * retrieve_search (search.c) decides per query and per candidate whether
 * retrieved text is relevant enough to show or to ground an answer. The
 * measures it uses live here, each a pure function over text:
 *
 *   term coverage    idf-weighted share of the query's content terms found
 *                    in the candidate (retrieve_term_coverage_w, retrieve.h);
 *   phrase coverage  share of the query's adjacent content-word pairs found
 *                    adjacent in the candidate ("bypass thrombosis"): words
 *                    scattered over a chunk are weak evidence, the question's
 *                    phrases are strong evidence;
 *   evidence         coverage + phrase + RETRIEVE_COSINE_WEIGHT x max(0,
 *                    cosine - cosine_floor): one number per candidate that
 *                    the query gate and the per-candidate floor compare;
 *   shingles         word 4-gram hash sets and their Jaccard similarity, for
 *                    near-duplicate removal;
 *   word sets        content-word hash sets, the similarity behind maximal
 *                    marginal relevance (MMR) diversity.
 *
 * Ownership: the *_init/build functions fill caller-provided structs whose
 * arrays are released by the matching *_free. Thread-safety: all functions
 * are reentrant (no shared state).
 */
#ifndef RAGD_RETRIEVE_VALIDATE_H
#define RAGD_RETRIEVE_VALIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/text.h"

/* Content words of a text in order: folded (NFKC, case), stop words and
 * punctuation removed. `folded` owns the text the spans point into. */
typedef struct {
    char *folded;
    ragd_span *w;
    size_t n;
} vwords;

/* text_fold(s, n, false, out_len) (NFKC + case fold), computed without
 * utf8proc for ASCII stretches: byte-identical output, "" (length 0) for
 * invalid UTF-8 as text_fold. Returns a malloc'd string. */
char *validate_fold(const char *s, size_t n, size_t *out_len);

/* text_words(s, n, out) (core/text.h), computed without utf8proc when s is
 * all ASCII: the same spans. *out is malloc'd (NULL when the count is 0). */
size_t validate_words(const char *s, size_t n, ragd_span **out);

/* Fill v with the content words of text[0..len). */
void vwords_init(vwords *v, const char *text, size_t len);
void vwords_free(vwords *v);

/* True when two folded words are the same word up to light inflection:
 * equal, a plural 's', or a shared prefix of at least 4 bytes leaving at
 * most 3 bytes of either unmatched ("mutation"/"mutations"/"mutated"). */
int validate_stem_match(const char *a, size_t la, const char *b, size_t lb);

/* Weighted share of terms (folded content terms, see lexical_terms) found
 * in any of the ntexts word lists: CJK terms as substrings of the folded
 * text, others by validate_stem_match against each content word. weights
 * NULL = all 1. 0 when there are no terms (or their weights sum to 0): a
 * query of only punctuation, symbols, emoji or stop words names nothing a
 * candidate could cover, so it is no evidence. */
double validate_term_coverage(char **terms, const double *weights, size_t nterms,
                              const vwords *const *texts, size_t ntexts);

/* validate_term_coverage in two steps, so that a caller can look at a
 * second text only when the first leaves a term uncovered:
 * validate_terms_found sets found[t] for each term not yet found that v
 * covers (same rule as above) and returns how many of found[0..nterms) are
 * set; validate_coverage_of weighs them (the same sum, in the same order). */
size_t validate_terms_found(char **terms, size_t nterms, const vwords *v, unsigned char *found);
double validate_coverage_of(const unsigned char *found, const double *weights, size_t nterms);

/* The query side of validate_terms_found and validate_phrase_coverage,
 * indexed by first byte once per query (search.c measures ~300 candidates
 * against one query): validate_stem_match never matches two non-empty
 * words whose first bytes differ, so a candidate's word needs comparing
 * only with the query terms (words) that start with its first byte. Items
 * the shortcut does not cover (CJK terms, matched as substrings; empty
 * terms or words) take the plain path. The _ix functions return exactly
 * what the plain ones do (tests/unit_validate.c pins them).
 *
 * Ownership: the index refers to terms/q without copying; they must
 * outlive it; release with validate_query_index_free. Thread-safety: one
 * index per query and thread (validate_phrase_coverage_ix writes its
 * scratch array pfound). */
typedef struct {
    uint32_t tstart[257], *tids; /* regular terms by first byte: tids[tstart[b]..tstart[b+1]) */
    uint32_t *tother;            /* CJK and empty terms */
    size_t ntother;
    uint32_t pstart[257], *pids; /* phrase pairs p (q words p, p + 1) by q word p's first byte */
    uint32_t *pother;            /* pairs whose first word is empty */
    size_t npother;
    unsigned char *pfound; /* scratch, one per pair */
} validate_query_index;

void validate_query_index_init(validate_query_index *x, char **terms, size_t nterms,
                               const vwords *q);
void validate_query_index_free(validate_query_index *x);
/* validate_terms_found(terms, nterms, v, found), through x (made from the
 * same terms). */
size_t validate_terms_found_ix(const validate_query_index *x, char **terms, size_t nterms,
                               const vwords *v, unsigned char *found);
/* validate_phrase_coverage(q, t), through x (made from the same q). */
double validate_phrase_coverage_ix(validate_query_index *x, const vwords *q, const vwords *t);

/* Why a query with no content terms fails validation (search.c gates on
 * nterms == 0; the reason is reported as validation.reason). */
#define VALIDATE_NO_TERMS_REASON                                                                   \
    "the query has no searchable words (only punctuation, symbols or stop words)"

/* Share of the query's adjacent content-word pairs (q->n - 1 of them) that
 * occur as adjacent content words of t, by validate_stem_match. 0 when the
 * query has fewer than two content words. */
double validate_phrase_coverage(const vwords *q, const vwords *t);

/* A sorted set of 64-bit hashes (shingles or words). */
typedef struct {
    uint64_t *h;
    size_t n;
} hash_set;

/* Word `width`-grams of t (all content words; fewer than width words give
 * one shingle of them all), hashed and deduplicated. */
void hash_set_shingles(hash_set *s, const vwords *t, size_t width);
/* The distinct content words of t, hashed. */
void hash_set_words(hash_set *s, const vwords *t);
void hash_set_free(hash_set *s);

/* Sort a[0..n) ascending (in place; what hash sets are kept in). */
void validate_sort_u64(uint64_t *a, size_t n);

/* |a ∩ b| / |a ∪ b|; 0 when both are empty. */
double hash_set_jaccard(const hash_set *a, const hash_set *b);

/* hash_set_jaccard(a, b) >= t, skipping the merge when the sizes alone rule
 * it out (Jaccard <= min/max size). */
int hash_set_jaccard_at_least(const hash_set *a, const hash_set *b, double t);

/* An exact index for the near-duplicate rule: "is s at Jaccard >= t of any
 * set added so far?", with the same answer as hash_set_jaccard_at_least
 * against each of them, without comparing against all. Prefix filtering:
 * if J(a, b) >= t then |a ∩ b| >= t |a| and >= t |b|, so a and b share an
 * element among the smallest |a| - ceil(t |a|) + 1 hashes of a and the
 * smallest |b| - ceil(t |b|) + 1 of b (the sets are sorted). Only the
 * prefixes are indexed; a set sharing a prefix hash is verified with
 * hash_set_jaccard_at_least. The prefixes are taken one element longer than
 * the bound, so rounding in the double comparison cannot lose a pair.
 * With t <= 0 every added set is verified.
 *
 * Ownership: the index keeps ids, not the sets; callers pass the same sets
 * array (by id) to neardup_any and must keep those sets alive and unchanged.
 * Not thread-safe (one query's index). */
typedef struct {
    double t;
    uint64_t *key; /* open addressing, linear probing; a (hash, id) pair per slot */
    uint32_t *val; /* set id, UINT32_MAX = empty slot */
    size_t cap, used;
    uint32_t *ids; /* every id added, for t <= 0 */
    size_t nids, idcap;
    uint32_t *seen; /* per id: the query stamp that last verified it */
    size_t seencap;
    uint32_t stamp;
} neardup_index;

void neardup_init(neardup_index *x, double t);
/* Index s under id (ids need not be dense; each id once). */
void neardup_add(neardup_index *x, const hash_set *s, uint32_t id);
/* Whether some added set sets[id] has hash_set_jaccard_at_least(sets[id], s, t). */
bool neardup_any(neardup_index *x, const hash_set *s, const hash_set *sets);
void neardup_free(neardup_index *x);

/* Maximal marginal relevance order. rel[i] is candidate i's relevance
 * (higher is better, any scale: it is divided by the largest), sets[i] its
 * word set. Greedily picks, n times, the candidate maximising
 *     lambda * rel/max_rel - (1 - lambda) * max_j jaccard(i, picked j)
 * (ties to the lower index) and writes the picked indexes to order[0..n).
 * lambda 1 keeps the relevance order. */
void validate_mmr_order(const double *rel, const hash_set *sets, size_t n, double lambda,
                        size_t *order);

#endif
