/* api/ratelimit.h — per-client token buckets (429 with Retry-After).
 *
 * A bucket per client name (the API key id, or the client address when
 * authentication is off) holds up to `burst` tokens and refills at `rate`
 * per second; a request takes one. Buckets live in a fixed table of
 * RATELIMIT_SLOTS; when it is full the bucket idle longest is reused (a
 * reused bucket starts full, which errs towards letting a request in).
 *
 * Ownership: ratelimit_new / ratelimit_free. Thread-safety: ratelimit_take
 * may be called from any thread (one mutex).
 */
#ifndef RAGD_API_RATELIMIT_H
#define RAGD_API_RATELIMIT_H

#include <stdbool.h>

#define RATELIMIT_SLOTS 4096

typedef struct ratelimit ratelimit;

/* rate <= 0: no limit (ratelimit_take always allows). burst < 1: 2 x rate. */
ratelimit *ratelimit_new(double rate, double burst);
void ratelimit_free(ratelimit *r);

/* Take a token for client at time now (seconds, monotonic). False when the
 * bucket is empty; *retry_after_s then holds the whole seconds until a token
 * is there (at least 1). */
bool ratelimit_take(ratelimit *r, const char *client, double now, int *retry_after_s);

#endif
