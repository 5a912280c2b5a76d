/* provider/breaker.h — circuit breakers for model providers (private to
 * provider/ and the engine that owns them).
 *
 * During a provider outage every call would spend its whole retry budget
 * (embeddings: 5 attempts, up to 7.5 s of backoff, each attempt up to the
 * timeout) before failing. A breaker per provider endpoint (the URL calls
 * are POSTed to) counts consecutive failed attempts across every client
 * that shares it (all request slots, the writer and the job runner of an
 * engine):
 *
 *   closed     calls go through; a failed attempt (connection refused or
 *              reset, timeout, HTTP 5xx except 501, a 2xx whose body is not
 *              JSON) adds one, any other reply (2xx, 4xx, 429: the server
 *              is up) resets the count. `failures` in a row open it.
 *   open       for `cooldown_s` seconds no attempt is made: calls fail at
 *              once with RAGD_EPROVIDER ("circuit breaker open"), retries
 *              in progress stop, and a fallback server is tried next.
 *   half-open  after the cool-down one attempt (the probe) goes through;
 *              the others still fail fast until it ends. A probe that
 *              succeeds closes the breaker, one that fails opens it for
 *              another cool-down.
 *
 * Thread-safety: a registry and its breakers may be used from any number
 * of threads (one mutex per breaker; the registry's own for lookups).
 * Ownership: the registry owns its breakers; a breaker pointer stays valid
 * until breakers_free, so clients holding one must be freed first.
 */
#ifndef RAGD_PROVIDER_BREAKER_H
#define RAGD_PROVIDER_BREAKER_H

#include <stdbool.h>

typedef struct provider_breakers provider_breakers;
typedef struct provider_breaker provider_breaker;

#define BREAKER_DEFAULT_FAILURES 5
#define BREAKER_DEFAULT_COOLDOWN_S 5.0

/* A registry. failures: failed attempts in a row that open a breaker (0 ->
 * BREAKER_DEFAULT_FAILURES; < 0: breakers never open); cooldown_s: seconds
 * an open breaker fails calls (0 -> BREAKER_DEFAULT_COOLDOWN_S). */
provider_breakers *breakers_new(int failures, double cooldown_s);
void breakers_free(provider_breakers *r);

/* The breaker of endpoint (created on first use), or NULL when r is NULL
 * or breakers are off. */
provider_breaker *breakers_get(provider_breakers *r, const char *endpoint);

/* Seconds until the first open breaker of r lets a probe through (rounded
 * up, at least 1), or 0 when none is open or half-open. */
int breakers_retry_after(provider_breakers *r);

/* May an attempt be made now? Claims the probe when an open breaker's
 * cool-down is over. false: *wait_s = seconds until a probe may go (at
 * least 1 while a probe runs) and *fails = the failures that opened it. */
bool breaker_allow(provider_breaker *b, double *wait_s, int *fails);

/* Would an attempt be refused now (open, or half-open with the probe out)?
 * Claims nothing; used before sleeping for a retry. */
bool breaker_is_open(provider_breaker *b, double *wait_s, int *fails);

/* The outcome of an attempt: ok = the server answered (2xx, 4xx, 429). */
void breaker_report(provider_breaker *b, bool ok);

#endif
