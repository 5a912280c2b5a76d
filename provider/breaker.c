/* provider/breaker.c — circuit breakers per provider endpoint. See
 * breaker.h. Time is CLOCK_MONOTONIC seconds; state changes are logged
 * (WARN when a breaker opens, INFO when it closes). */
#include "provider/breaker.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/log.h"

typedef enum { BR_CLOSED, BR_OPEN, BR_HALF_OPEN } br_state;

struct provider_breaker {
    pthread_mutex_t mu;
    char *endpoint;
    int threshold;
    double cooldown_s;
    br_state state;
    int consecutive; /* failed attempts in a row (closed) */
    int opened_with; /* the count that opened it, for messages */
    double opened_at;
    provider_breaker *next;
};

struct provider_breakers {
    pthread_mutex_t mu; /* the list */
    int threshold;      /* < 0: off */
    double cooldown_s;
    provider_breaker *head;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

provider_breakers *breakers_new(int failures, double cooldown_s)
{
    provider_breakers *r = ragd_xcalloc(1, sizeof *r);
    pthread_mutex_init(&r->mu, NULL);
    r->threshold = failures == 0 ? BREAKER_DEFAULT_FAILURES : failures;
    r->cooldown_s = cooldown_s > 0 ? cooldown_s : BREAKER_DEFAULT_COOLDOWN_S;
    return r;
}

void breakers_free(provider_breakers *r)
{
    if (!r) return;
    for (provider_breaker *b = r->head, *n; b; b = n) {
        n = b->next;
        pthread_mutex_destroy(&b->mu);
        free(b->endpoint);
        free(b);
    }
    pthread_mutex_destroy(&r->mu);
    free(r);
}

provider_breaker *breakers_get(provider_breakers *r, const char *endpoint)
{
    if (!r || r->threshold < 0 || !endpoint) return NULL;
    pthread_mutex_lock(&r->mu);
    provider_breaker *b = r->head;
    while (b && strcmp(b->endpoint, endpoint))
        b = b->next;
    if (!b) {
        b = ragd_xcalloc(1, sizeof *b);
        pthread_mutex_init(&b->mu, NULL);
        b->endpoint = ragd_xstrdup(endpoint);
        b->threshold = r->threshold;
        b->cooldown_s = r->cooldown_s;
        b->next = r->head;
        r->head = b;
    }
    pthread_mutex_unlock(&r->mu);
    return b;
}

/* Seconds until b lets an attempt through, 0 when it does now (b->mu held). */
static double wait_locked(const provider_breaker *b, double t)
{
    if (b->state == BR_CLOSED) return 0;
    if (b->state == BR_HALF_OPEN) return 1; /* the probe is out */
    double left = b->opened_at + b->cooldown_s - t;
    return left > 0 ? left : 0;
}

int breakers_retry_after(provider_breakers *r)
{
    if (!r) return 0;
    double t = now_s(), best = 0;
    pthread_mutex_lock(&r->mu);
    for (provider_breaker *b = r->head; b; b = b->next) {
        pthread_mutex_lock(&b->mu);
        double w = b->state == BR_CLOSED ? 0 : wait_locked(b, t);
        if (b->state != BR_CLOSED && w < 1) w = 1;
        pthread_mutex_unlock(&b->mu);
        if (w > 0 && (best == 0 || w < best)) best = w;
    }
    pthread_mutex_unlock(&r->mu);
    return best > 0 ? (int)ceil(best) : 0;
}

bool breaker_allow(provider_breaker *b, double *wait_s, int *fails)
{
    if (!b) return true;
    pthread_mutex_lock(&b->mu);
    double t = now_s(), w = wait_locked(b, t);
    bool ok = w == 0;
    if (ok && b->state == BR_OPEN) {
        b->state = BR_HALF_OPEN; /* this caller is the probe */
        log_write(LOG_INFO, "provider circuit half-open: probing", "url", b->endpoint, NULL);
    }
    if (wait_s) *wait_s = w;
    if (fails) *fails = b->opened_with;
    pthread_mutex_unlock(&b->mu);
    return ok;
}

bool breaker_is_open(provider_breaker *b, double *wait_s, int *fails)
{
    if (!b) return false;
    pthread_mutex_lock(&b->mu);
    double w = wait_locked(b, now_s());
    if (wait_s) *wait_s = w;
    if (fails) *fails = b->opened_with;
    pthread_mutex_unlock(&b->mu);
    return w > 0;
}

void breaker_report(provider_breaker *b, bool ok)
{
    if (!b) return;
    pthread_mutex_lock(&b->mu);
    if (ok) {
        if (b->state != BR_CLOSED)
            log_write(LOG_INFO, "provider circuit closed: the server answers", "url", b->endpoint,
                      NULL);
        b->state = BR_CLOSED;
        b->consecutive = 0;
    } else if (b->state == BR_HALF_OPEN) {
        b->state = BR_OPEN; /* the probe failed: another cool-down */
        b->opened_at = now_s();
        log_write(LOG_WARN, "provider circuit open again: the probe failed", "url", b->endpoint,
                  NULL);
    } else if (b->state == BR_CLOSED && ++b->consecutive >= b->threshold) {
        b->state = BR_OPEN;
        b->opened_at = now_s();
        b->opened_with = b->consecutive;
        char n[16], cd[32];
        snprintf(n, sizeof n, "%d", b->consecutive);
        snprintf(cd, sizeof cd, "%g", b->cooldown_s);
        log_write(LOG_WARN, "provider circuit open: failing calls fast", "url", b->endpoint,
                  "failed_attempts", n, "cooldown_s", cd, NULL);
    }
    /* A failure reported while open (an attempt that started before) is
     * already counted in: the cool-down is not extended. */
    pthread_mutex_unlock(&b->mu);
}
