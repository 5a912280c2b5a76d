/* provider/http.h — JSON-over-HTTP POST with retries (private to provider/).
 *
 * A ragd_http client owns one libcurl easy handle, so consecutive calls to
 * the same server reuse its connection (keep-alive). http_post_json sends a
 * JSON body and returns the parsed JSON reply, retrying transient failures:
 *
 *   retried      curl timeouts, connection failures (refused, reset, DNS,
 *                TLS handshake, empty reply), HTTP 429, HTTP 5xx except 501;
 *                a 2xx reply whose body is not valid JSON is retried once at
 *                most (a truncating proxy is transient, a server bug is not).
 *   not retried  other 4xx and 501 (the request or the server is wrong; the
 *                same call would fail again), redirects, oversized replies.
 *
 * Backoff before retry k (k = 0 for the first retry): a uniform random sleep
 * in [0, min(backoff_cap_s, backoff_base_s * 2^k)] ("full jitter"), or, when
 * the reply carried Retry-After (delta seconds or an HTTP date), at least
 * that long; any single sleep is capped at 60 s. The jitter generator is
 * per client, seeded from the clock, the pid and the client's address.
 *
 * Error messages name the request and what happened, e.g.
 *   "POST http://127.0.0.1:1234/v1/embeddings: connection refused after 5 attempts"
 *   "POST http://host/v1/embeddings: HTTP 400: input is too long"
 *   "invalid JSON from http://host/api/embed: '[' or '{' expected near 'x'"
 *
 * With a circuit breaker (provider/breaker.h), every attempt asks it first
 * and reports its outcome; while it is open a call fails at once, and a
 * call in its retries stops, with RAGD_EPROVIDER:
 *   "POST http://host/v1/embeddings: provider unavailable (circuit breaker
 *    open after 5 failed attempts in a row; next try in 4 s)"
 *
 * Thread-safety: a client must be used by one thread at a time (its
 * breaker may be shared).
 */
#ifndef RAGD_PROVIDER_HTTP_H
#define RAGD_PROVIDER_HTTP_H

#include <jansson.h>

#include "core/error.h"
#include "provider/breaker.h"

typedef struct ragd_http ragd_http;

typedef struct {
    double timeout_s;          /* whole-request timeout per attempt, > 0 */
    int max_retries;           /* retries after the first attempt, >= 0 */
    double backoff_base_s;     /* ceiling of the first backoff sleep, > 0 */
    double backoff_cap_s;      /* ceiling of any backoff sleep (Retry-After aside) */
    const char *api_key;       /* sent as "Authorization: Bearer KEY"; NULL/"" = none; copied */
    provider_breaker *breaker; /* the endpoint's circuit breaker (borrowed), NULL = none */
} http_config;

/* Attempts and retries made by calls, added to (never reset). */
typedef struct {
    long attempts;
    long retries;
} http_stats;

/* Longest sleep a Retry-After header can cause. */
#define HTTP_RETRY_AFTER_MAX_S 60.0

/* Largest reply body accepted (bytes). */
#define HTTP_MAX_RESPONSE (256u * 1024u * 1024u)

/* Create a client. Fails with RAGD_EUSAGE on a bad config (a key with a line
 * break, non-positive timeout) and RAGD_EPROVIDER when libcurl cannot start.
 * Release with http_free. */
ragd_status http_new(const http_config *cfg, ragd_http **out, ragd_error *err);

/* Replace the client's circuit breaker (borrowed; NULL = none). */
void http_set_breaker(ragd_http *h, provider_breaker *b);

/* Free the client and close its connections. NULL is a no-op. */
void http_free(ragd_http *h);

/* POST body (serialized compactly) to url with Content-Type and Accept
 * application/json. On a 2xx reply whose body is valid JSON, *out receives
 * the parsed value (a new reference the caller json_decref's) and RAGD_OK is
 * returned. Otherwise RAGD_EPROVIDER with a message naming url, the failure,
 * the server's error message when it sent one, and the number of attempts
 * when more than one was made; *out is NULL. stats (may be NULL) counts every
 * attempt and retry, successful or not. */
ragd_status http_post_json(ragd_http *h, const char *url, const json_t *body, json_t **out,
                           http_stats *stats, ragd_error *err);

/* Streaming: receives the body bytes of a 2xx reply as they arrive;
 * non-zero stops the transfer. */
typedef int (*http_sink_fn)(void *user, const char *bytes, size_t n);

/* POST body like http_post_json, but a 2xx reply's body goes to sink as it
 * arrives instead of being parsed (error replies are read whole, for their
 * message). Retries as above only while the sink has received nothing: a
 * failure after the first bytes (timeout, reset) is final. A sink that
 * returns non-zero ends the call with RAGD_EPROVIDER ("the stream's reader
 * stopped it"). RAGD_OK when the whole 2xx body was delivered. */
ragd_status http_post_stream(ragd_http *h, const char *url, const json_t *body, http_sink_fn sink,
                             void *user, http_stats *stats, ragd_error *err);

/* Seconds to wait for a Retry-After header value: delta-seconds ("120") or
 * an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT", relative to now). Returns
 * -1 when the value is neither; a date in the past gives 0. Not capped. */
double http_parse_retry_after(const char *value, long long now);

#endif
