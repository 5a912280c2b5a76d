/* api/ratelimit.c — see ratelimit.h. */
#include "api/ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

typedef struct {
    char client[64];
    double tokens;
    double last; /* time of the last refill */
    bool used;
} bucket;

struct ratelimit {
    double rate, burst;
    pthread_mutex_t mu;
    bucket b[RATELIMIT_SLOTS];
};

ratelimit *ratelimit_new(double rate, double burst)
{
    ratelimit *r = ragd_xcalloc(1, sizeof *r);
    r->rate = rate;
    r->burst = burst >= 1 ? burst : fmax(1, 2 * rate);
    pthread_mutex_init(&r->mu, NULL);
    return r;
}

void ratelimit_free(ratelimit *r)
{
    if (!r) return;
    pthread_mutex_destroy(&r->mu);
    free(r);
}

static unsigned long hash_str(const char *s)
{
    unsigned long h = 5381;
    while (*s)
        h = h * 33 + (unsigned char)*s++;
    return h;
}

bool ratelimit_take(ratelimit *r, const char *client, double now, int *retry_after_s)
{
    *retry_after_s = 0;
    if (r->rate <= 0) return true;
    pthread_mutex_lock(&r->mu);
    /* Linear probing over 16 places; else reuse the idlest of them. */
    size_t h = hash_str(client) % RATELIMIT_SLOTS, pick = h;
    bucket *b = NULL;
    for (size_t i = 0; i < 16 && !b; i++) {
        bucket *c = &r->b[(h + i) % RATELIMIT_SLOTS];
        if (c->used && !strncmp(c->client, client, sizeof c->client - 1))
            b = c;
        else if (!c->used || c->last < r->b[pick].last)
            pick = (h + i) % RATELIMIT_SLOTS;
    }
    if (!b) {
        b = &r->b[pick];
        snprintf(b->client, sizeof b->client, "%s", client);
        b->tokens = r->burst;
        b->last = now;
        b->used = true;
    }
    b->tokens = fmin(r->burst, b->tokens + (now - b->last) * r->rate);
    b->last = now;
    bool ok = b->tokens >= 1;
    if (ok)
        b->tokens -= 1;
    else
        *retry_after_s = (int)ceil((1 - b->tokens) / r->rate);
    if (!ok && *retry_after_s < 1) *retry_after_s = 1;
    pthread_mutex_unlock(&r->mu);
    return ok;
}
