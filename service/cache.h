/* service/cache.h — the engine's result cache (private to service/).
 *
 * Search and answer results, keyed by a string the caller builds from the
 * collection id, the store's write generation (store/calls.c: any ingest
 * or delete, in any collection and by any process, changes it, so old
 * entries are never found again), the operation, the normalized question and the canonical
 * options. Entries expire ttl_s seconds after they were stored; when the
 * cache is full the least recently used entry goes. capacity 0 turns the
 * cache off (every lookup misses, nothing is stored).
 *
 * Values are JSON results: result_cache_put stores a deep copy, and
 * result_cache_get returns a new deep copy, so callers may change what they
 * get and no JSON object is shared between threads.
 *
 * Counters: hits, misses and evictions per kind (search, answer), for
 * /metrics.
 *
 * Ownership: result_cache_new / result_cache_free. Thread-safety: every
 * function may be called from any thread (one mutex; lookups are a scan of
 * at most `capacity` 64-bit hashes under it).
 */
#ifndef RAGD_SERVICE_CACHE_H
#define RAGD_SERVICE_CACHE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct result_cache result_cache;

typedef enum { CACHE_SEARCH = 0, CACHE_ANSWER = 1, CACHE_KINDS } cache_kind;

#define RESULT_CACHE_MAX 1000000 /* largest capacity accepted */

result_cache *result_cache_new(size_t capacity, double ttl_s);
void result_cache_free(result_cache *c);

/* A copy of the live entry for key (counted as a hit), or NULL (a miss). */
json_t *result_cache_get(result_cache *c, cache_kind kind, const char *key);

/* Store a copy of v under key (replacing an entry with the same key). */
void result_cache_put(result_cache *c, cache_kind kind, const char *key, const json_t *v);

/* {"capacity","ttl_s","entries","search":{"hits","misses"},"answer":{…},"evictions"}. */
json_t *result_cache_stats(result_cache *c);

/* The question as the key sees it: ASCII case folded, runs of white space
 * one space, leading/trailing white space and trailing ?.! dropped.
 * malloc'd. */
char *cache_normalize_question(const char *q);

#endif
