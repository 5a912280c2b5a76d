/* service/cache.c — the result cache (see cache.h).
 *
 * A fixed array of `capacity` slots, each with the key's FNV-1a hash, the
 * key, the value, its expiry and a use tick. A lookup scans the hashes and
 * compares keys only on a hash match; a store reuses the same key's slot,
 * else an empty or expired one, else the least recently used. Small (the
 * default is 1,024 entries) and simple: a scan of 1,024 hashes costs about
 * a microsecond, nothing next to a search.
 */
#include "service/cache.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

typedef struct {
    uint64_t hash;
    char *key; /* NULL = empty */
    json_t *value;
    double expires;
    unsigned long long used;
    cache_kind kind;
} slot;

struct result_cache {
    pthread_mutex_t mu;
    slot *slots;
    size_t cap, entries;
    double ttl_s;
    unsigned long long tick;
    long hits[CACHE_KINDS], misses[CACHE_KINDS];
    long evictions;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

result_cache *result_cache_new(size_t capacity, double ttl_s)
{
    result_cache *c = ragd_xcalloc(1, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
    c->cap = capacity > RESULT_CACHE_MAX ? RESULT_CACHE_MAX : capacity;
    c->ttl_s = ttl_s;
    if (c->cap) c->slots = ragd_xcalloc(c->cap, sizeof *c->slots);
    return c;
}

static void clear_slot(result_cache *c, slot *s)
{
    if (!s->key) return;
    free(s->key);
    json_decref(s->value);
    memset(s, 0, sizeof *s);
    c->entries--;
}

void result_cache_free(result_cache *c)
{
    if (!c) return;
    for (size_t i = 0; i < c->cap; i++)
        clear_slot(c, &c->slots[i]);
    free(c->slots);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static slot *find(result_cache *c, uint64_t h, const char *key)
{
    for (size_t i = 0; i < c->cap; i++)
        if (c->slots[i].key && c->slots[i].hash == h && !strcmp(c->slots[i].key, key))
            return &c->slots[i];
    return NULL;
}

json_t *result_cache_get(result_cache *c, cache_kind kind, const char *key)
{
    uint64_t h = fnv1a(key);
    double now = now_s();
    json_t *out = NULL;
    pthread_mutex_lock(&c->mu);
    slot *s = c->cap ? find(c, h, key) : NULL;
    if (s && s->expires <= now) {
        clear_slot(c, s);
        s = NULL;
    }
    if (s) {
        s->used = ++c->tick;
        out = json_deep_copy(s->value);
        c->hits[kind]++;
    } else {
        c->misses[kind]++;
    }
    pthread_mutex_unlock(&c->mu);
    return out;
}

void result_cache_put(result_cache *c, cache_kind kind, const char *key, const json_t *v)
{
    if (!c->cap || !(c->ttl_s > 0)) return;
    json_t *copy = json_deep_copy(v);
    uint64_t h = fnv1a(key);
    double now = now_s();
    pthread_mutex_lock(&c->mu);
    slot *s = find(c, h, key), *lru = NULL;
    for (size_t i = 0; !s && i < c->cap; i++) {
        slot *t = &c->slots[i];
        if (!t->key || t->expires <= now) {
            s = t;
            break;
        }
        if (!lru || t->used < lru->used) lru = t;
    }
    if (!s) {
        s = lru;
        c->evictions++;
    }
    clear_slot(c, s);
    s->hash = h;
    s->key = ragd_xstrdup(key);
    s->value = copy;
    s->expires = now + c->ttl_s;
    s->used = ++c->tick;
    s->kind = kind;
    c->entries++;
    pthread_mutex_unlock(&c->mu);
}

json_t *result_cache_stats(result_cache *c)
{
    pthread_mutex_lock(&c->mu);
    json_t *o =
        json_pack("{s:I,s:f,s:I,s:I,s:{s:I,s:I},s:{s:I,s:I}}", "capacity", (json_int_t)c->cap,
                  "ttl_s", c->ttl_s, "entries", (json_int_t)c->entries, "evictions",
                  (json_int_t)c->evictions, "search", "hits", (json_int_t)c->hits[CACHE_SEARCH],
                  "misses", (json_int_t)c->misses[CACHE_SEARCH], "answer", "hits",
                  (json_int_t)c->hits[CACHE_ANSWER], "misses", (json_int_t)c->misses[CACHE_ANSWER]);
    pthread_mutex_unlock(&c->mu);
    return o;
}

char *cache_normalize_question(const char *q)
{
    ragd_buf b = RAGD_BUF_INIT;
    for (const char *p = q; *p; p++) {
        bool sp = isspace((unsigned char)*p);
        if (sp && (!b.len || b.data[b.len - 1] == ' ')) continue;
        ragd_buf_putc(&b, sp ? ' ' : (char)tolower((unsigned char)*p));
    }
    while (b.len && strchr(" ?.!", b.data[b.len - 1]))
        b.data[--b.len] = '\0';
    return b.data ? ragd_buf_steal(&b) : ragd_xstrdup("");
}
