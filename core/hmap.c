/* core/hmap.c — the string -> int64 hash map of core/hmap.h: FNV-1a
 * hashes, linear probing in a power-of-two table that doubles when half
 * full (so probes stay short), keys copied and owned by the map.
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

int64_t *hmap_put(hmap *m, const char *k, size_t n, bool *added)
{
    if ((m->n + 1) * 2 > m->cap) {
        hmap g = {.cap = m->cap ? m->cap * 2 : 64};
        g.v = ragd_xcalloc(g.cap, sizeof *g.v);
        for (size_t i = 0; i < m->cap; i++)
            if (m->v[i].key) *hmap_slot(&g, m->v[i].key, m->v[i].klen, m->v[i].h) = m->v[i];
        g.n = m->n;
        free(m->v);
        *m = g;
    }
    uint32_t h = fnv1a(k, n);
    hslot *s = hmap_slot(m, k, n, h);
    if (added) *added = !s->key;
    if (!s->key) {
        s->key = ragd_xstrndup(k, n);
        s->klen = n;
        s->h = h;
        s->val = 0;
        m->n++;
    }
    return &s->val;
}

void hmap_free(hmap *m)
{
    for (size_t i = 0; i < m->cap; i++)
        free(m->v[i].key);
    free(m->v);
    memset(m, 0, sizeof *m);
}
