/* core/hmap.c — the string -> int64 hash map of core/hmap.h: FNV-1a
 * hashes, linear probing in a power-of-two table that doubles when half
 * full (so probes stay short), keys copied into an arena owned by the map
 * (blocks that double from 1 KiB to 1 MiB; a key never moves, and keys
 * are only freed all at once).
 */
#include "core/hmap.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static uint32_t fnv1a(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static hslot *hmap_slot(const hmap *m, const char *k, size_t n, uint32_t h)
{
    size_t mask = m->cap - 1, i = h & mask;
    for (;;) {
        hslot *s = &m->v[i];
        if (!s->key || (s->h == h && s->klen == n && memcmp(s->key, k, n) == 0)) return s;
        i = (i + 1) & mask;
    }
}

int64_t *hmap_get(const hmap *m, const char *k, size_t n)
{
    if (!m->cap) return NULL;
    hslot *s = hmap_slot(m, k, n, fnv1a(k, n));
    return s->key ? &s->val : NULL;
}

#define BLOCK_MIN ((size_t)1024)
#define BLOCK_MAX ((size_t)1 << 20)
#define BLOCK_HEAD sizeof(char *) /* the link to the previous block */

/* A copy of k[0..n) and a NUL in the arena. */
static char *key_copy(hmap *m, const char *k, size_t n)
{
    if (!m->blocks || m->free_at + n + 1 > m->block_size) {
        size_t size = m->block_size ? 2 * m->block_size : BLOCK_MIN;
        if (size > BLOCK_MAX) size = BLOCK_MAX;
        if (size < BLOCK_HEAD + n + 1) size = BLOCK_HEAD + n + 1;
        char *b = ragd_xmalloc(size);
        memcpy(b, &m->blocks, sizeof m->blocks);
        m->blocks = b;
        m->block_size = size;
        m->free_at = BLOCK_HEAD;
    }
    char *dst = m->blocks + m->free_at;
    memcpy(dst, k, n);
    dst[n] = '\0';
    m->free_at += n + 1;
    return dst;
}

/* Double the table (the keys stay where they are in the arena). */
static void table_grow(hmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    hslot *v = ragd_xcalloc(cap, sizeof *v);
    hmap g = {.v = v, .cap = cap};
    for (size_t i = 0; i < m->cap; i++)
        if (m->v[i].key) *hmap_slot(&g, m->v[i].key, m->v[i].klen, m->v[i].h) = m->v[i];
    free(m->v);
    m->v = v;
    m->cap = cap;
}

int64_t *hmap_put(hmap *m, const char *k, size_t n, bool *added)
{
    if ((m->n + 1) * 2 > m->cap) table_grow(m);
    uint32_t h = fnv1a(k, n);
    hslot *s = hmap_slot(m, k, n, h);
    if (added) *added = !s->key;
    if (!s->key) {
        s->key = key_copy(m, k, n);
        s->klen = n;
        s->h = h;
        s->val = 0;
        m->n++;
    }
    return &s->val;
}

void hmap_free(hmap *m)
{
    for (char *b = m->blocks; b;) {
        char *prev;
        memcpy(&prev, b, sizeof prev);
        free(b);
        b = prev;
    }
    free(m->v);
    memset(m, 0, sizeof *m);
}
