/* core/hmap.h — a small open-addressing hash map from byte strings to
 * int64 values (linear probing, power-of-two capacity, grown at half full).
 *
 * Used for vocabularies and counts (ingest/ summaries: stop words, term
 * ids, document frequencies). Keys are copied in; a value slot stays valid
 * until the next hmap_put (which may grow the table).
 * Ownership: the map owns its keys, copied into blocks of an arena it
 * keeps (one allocation per block, not per key: loading a vocabulary of
 * tens of thousands of terms was a malloc and a free per term);
 * hmap_free releases them. A zeroed hmap is an empty map. A map must not
 * be copied by value and then written through both copies.
 * Thread-safety: none inside; a map that is no longer written may be read
 * from many threads.
 */
#ifndef RAGD_CORE_HMAP_H
#define RAGD_CORE_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *key; /* in the map's arena, NUL-terminated; NULL = empty slot */
    size_t klen;
    uint32_t h;
    int64_t val;
} hslot;

typedef struct {
    hslot *v;
    size_t cap, n;
    char *blocks;      /* the key arena: the newest block, each starting with
                        * a pointer to the one before */
    size_t free_at;    /* the first free byte of the newest block */
    size_t block_size; /* its size in bytes */
} hmap;

/* The value of key k[0..n), or NULL when absent. */
int64_t *hmap_get(const hmap *m, const char *k, size_t n);

/* The value slot for k, inserted with val 0 when absent (*added set). */
int64_t *hmap_put(hmap *m, const char *k, size_t n, bool *added);

/* Release the keys and the table; m becomes an empty map. */
void hmap_free(hmap *m);

#endif
