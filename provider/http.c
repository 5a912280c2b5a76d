/* provider/http.c — JSON-over-HTTP POST with retries on libcurl. See http.h
 * for the retry policy; this file is the mechanics.
 *
 * One easy handle per client: libcurl keeps the connection to the last
 * server open between curl_easy_perform calls, so a batch of embedding
 * requests to one server is one TCP (and TLS) connection. Options that never
 * change (timeouts, headers, callbacks) are set once in http_new; a call
 * sets only the URL and the body.
 *
 * Each attempt collects the reply body (capped at HTTP_MAX_RESPONSE) and the
 * Retry-After header of the final response block, then classifies the
 * outcome as success, retryable or fatal. Sleeps are nanosleep()s restarted
 * on EINTR. libcurl's global init runs once (pthread_once) before the first
 * handle; curl_global_cleanup is never called (it is not thread-safe and the
 * process exit reclaims everything).
 */
#include "provider/http.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"

#define SERVER_MSG_MAX 200 /* bytes of a server's error text quoted in messages */

struct ragd_http {
    CURL *curl;
    struct curl_slist *headers;
    double timeout_s;
    int max_retries;
    double backoff_base_s, backoff_cap_s;
    uint64_t rng; /* splitmix64 state, for jitter only */
    char errbuf[CURL_ERROR_SIZE];
    provider_breaker *breaker; /* borrowed, NULL = none */
    ragd_buf body;             /* reply body of the current attempt */
    int too_big;               /* the reply exceeded HTTP_MAX_RESPONSE */
    char retry_after[64];      /* Retry-After of the final response block, "" if none */
    http_sink_fn sink;         /* streaming: 2xx body bytes go here (http_post_stream) */
    void *sink_user;
    int delivered;   /* the sink got bytes in this attempt: no retry */
    int sink_failed; /* the sink asked to stop */
};

/* --- libcurl global init ----------------------------------------------------- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_OK;

static void curl_init_once(void)
{
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* --- jitter ------------------------------------------------------------------ */

static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double rng_unit(ragd_http *h)
{
    return (double)(splitmix64(&h->rng) >> 11) * (1.0 / 9007199254740992.0);
}

static void sleep_s(double s)
{
    if (s <= 0) return;
    struct timespec ts;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec >= 1000000000L) ts.tv_nsec = 999999999L;
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* --- callbacks --------------------------------------------------------------- */

static size_t on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    ragd_http *h = ud;
    size_t n = size * nmemb;
    if (h->sink) {
        long code = 0;
        curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 200 && code < 300) {
            h->delivered = 1;
            if (n && h->sink(h->sink_user, ptr, n)) {
                h->sink_failed = 1;
                return 0;
            }
            return n;
        }
    }
    if (h->body.len + n > HTTP_MAX_RESPONSE) {
        h->too_big = 1;
        return 0; /* makes curl fail with CURLE_WRITE_ERROR */
    }
    ragd_buf_append(&h->body, ptr, n);
    return n;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    ragd_http *h = ud;
    size_t n = size * nitems;
    static const char name[] = "retry-after:";
    const size_t nl = sizeof name - 1;
    if (n >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        h->retry_after[0] = '\0'; /* a new response block (after 100 Continue, ...) */
    } else if (n > nl && strncasecmp(buf, name, nl) == 0) {
        size_t a = nl, b = n;
        while (a < b && isspace((unsigned char)buf[a]))
            a++;
        while (b > a && isspace((unsigned char)buf[b - 1]))
            b--;
        size_t l = b - a < sizeof h->retry_after - 1 ? b - a : sizeof h->retry_after - 1;
        memcpy(h->retry_after, buf + a, l);
        h->retry_after[l] = '\0';
    }
    return n;
}

/* --- client ------------------------------------------------------------------- */

ragd_status http_new(const http_config *cfg, ragd_http **out, ragd_error *err)
{
    *out = NULL;
    if (!cfg || !(cfg->timeout_s > 0) || cfg->max_retries < 0 || !(cfg->backoff_base_s >= 0))
        return ragd_error_set(err, RAGD_EUSAGE, "http client: bad timeout, retries or backoff");
    if (cfg->api_key && strpbrk(cfg->api_key, "\r\n"))
        return ragd_error_set(err, RAGD_EUSAGE, "provider API key contains a line break");
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK)
        return ragd_error_set(err, RAGD_EPROVIDER, "cannot initialize libcurl: %s",
                              curl_easy_strerror(g_curl_init_rc));

    ragd_http *h = ragd_xcalloc(1, sizeof *h);
    h->curl = curl_easy_init();
    if (!h->curl) {
        free(h);
        return ragd_error_set(err, RAGD_EPROVIDER, "cannot create a libcurl handle");
    }
    h->timeout_s = cfg->timeout_s;
    h->max_retries = cfg->max_retries;
    h->backoff_base_s = cfg->backoff_base_s;
    h->backoff_cap_s = cfg->backoff_cap_s > 0 ? cfg->backoff_cap_s : 30.0;
    h->breaker = cfg->breaker;

    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    h->rng = ((uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec) ^
             ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)h;

    struct curl_slist *hd = NULL;
    hd = curl_slist_append(hd, "Content-Type: application/json");
    hd = curl_slist_append(hd, "Accept: application/json");
    hd = curl_slist_append(hd, "Expect:"); /* no 100-continue round trip for big bodies */
    if (cfg->api_key && *cfg->api_key) {
        ragd_buf a = RAGD_BUF_INIT;
        ragd_buf_printf(&a, "Authorization: Bearer %s", cfg->api_key);
        hd = curl_slist_append(hd, a.data);
        ragd_buf_free(&a);
    }
    if (!hd) {
        http_free(h);
        return ragd_error_set(err, RAGD_ENOMEM, "cannot build HTTP headers");
    }
    h->headers = hd;

    long tmo_ms = (long)(cfg->timeout_s * 1000.0 + 0.5);
    if (tmo_ms < 1) tmo_ms = 1;
    long conn_ms = tmo_ms < 10000 ? tmo_ms : 10000;
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, tmo_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, conn_ms);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_POST, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "ragd/0.1");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    *out = h;
    return RAGD_OK;
}

void http_set_breaker(ragd_http *h, provider_breaker *b)
{
    if (h) h->breaker = b;
}

void http_free(ragd_http *h)
{
    if (!h) return;
    if (h->curl) curl_easy_cleanup(h->curl);
    curl_slist_free_all(h->headers);
    ragd_buf_free(&h->body);
    free(h);
}

/* --- helpers -------------------------------------------------------------------- */

double http_parse_retry_after(const char *value, long long now)
{
    if (!value) return -1;
    while (isspace((unsigned char)*value))
        value++;
    if (!*value) return -1;
    if (isdigit((unsigned char)*value)) {
        const char *p = value;
        double s = 0;
        while (isdigit((unsigned char)*p)) {
            if (s < 1e9) s = s * 10 + (*p - '0');
            p++;
        }
        while (isspace((unsigned char)*p))
            p++;
        return *p ? -1 : s;
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1) return -1;
    double d = (double)((long long)t - now);
    return d < 0 ? 0 : d;
}

/* Copy at most SERVER_MSG_MAX bytes of s[0..n) into out as one line: control
 * characters become spaces, the cut falls on a UTF-8 boundary, "..." marks a
 * cut. */
static void quote_text(const char *s, size_t n, char *out, size_t outsz)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    size_t lim = n, cut = 0;
    if (lim > SERVER_MSG_MAX) {
        lim = SERVER_MSG_MAX;
        while (lim && ((unsigned char)s[lim] & 0xC0) == 0x80)
            lim--;
        cut = 1;
    }
    if (lim + 4 > outsz) lim = outsz > 4 ? outsz - 4 : 0;
    size_t j = 0;
    for (size_t i = 0; i < lim; i++) {
        unsigned char c = (unsigned char)s[i];
        out[j++] = (c < 0x20 || c == 0x7F) ? ' ' : (char)c;
    }
    if (cut) {
        memcpy(out + j, "...", 3);
        j += 3;
    }
    out[j] = '\0';
}

/* The server's error text from a reply body: {"error":{"message":..}}
 * (OpenAI), {"error":".."} (Ollama), {"message":..}, {"detail":..}
 * (FastAPI/TEI), else the body's first bytes. "" for an empty body. */
static void server_message(const char *body, size_t len, char *out, size_t outsz)
{
    out[0] = '\0';
    if (!body || !len) return;
    json_t *j = json_loadb(body, len, 0, NULL);
    const char *m = NULL;
    if (json_is_object(j)) {
        json_t *e = json_object_get(j, "error");
        if (json_is_string(e))
            m = json_string_value(e);
        else if (json_is_object(e) && json_is_string(json_object_get(e, "message")))
            m = json_string_value(json_object_get(e, "message"));
        if (!m && json_is_string(json_object_get(j, "message")))
            m = json_string_value(json_object_get(j, "message"));
        if (!m && json_is_string(json_object_get(j, "detail")))
            m = json_string_value(json_object_get(j, "detail"));
    }
    if (m)
        quote_text(m, strlen(m), out, outsz);
    else
        quote_text(body, len, out, outsz);
    json_decref(j);
}

static int curl_retryable(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return 1;
    default:
        return 0;
    }
}

static void describe_curl(ragd_http *h, CURLcode rc, char *out, size_t n)
{
    const char *detail = h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc);
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(out, n, "timed out (%g s)", h->timeout_s);
        return;
    case CURLE_COULDNT_CONNECT: {
        long oe = 0;
        curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &oe);
        if (oe == ECONNREFUSED) {
            snprintf(out, n, "connection refused");
        } else if (oe) {
            char eb[128];
            snprintf(out, n, "cannot connect: %s", strerror_r((int)oe, eb, sizeof eb));
        } else {
            snprintf(out, n, "cannot connect: %s", detail);
        }
        return;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(out, n, "cannot resolve host: %s", detail);
        return;
    case CURLE_WRITE_ERROR:
        if (h->too_big) {
            snprintf(out, n, "reply larger than %u MiB", HTTP_MAX_RESPONSE >> 20);
            return;
        }
        break;
    default:
        break;
    }
    snprintf(out, n, "%s", detail);
}

/* --- the call --------------------------------------------------------------------- */

static ragd_status breaker_error(const char *url, double wait_s, int fails, ragd_error *err)
{
    return ragd_error_set(err, RAGD_EPROVIDER,
                          "POST %s: provider unavailable (circuit breaker open after %d failed "
                          "attempts in a row; next try in %.0f s)",
                          url, fails, ceil(wait_s));
}

/* One POST with retries: a JSON reply into *out, or (h->sink set) the 2xx
 * body streamed to the sink. */
static ragd_status post(ragd_http *h, const char *url, const json_t *body, json_t **out,
                        http_stats *stats, ragd_error *err)
{
    if (out) *out = NULL;
    http_stats scratch = {0, 0};
    if (!stats) stats = &scratch;
    char *payload = json_dumps(body, JSON_COMPACT);
    if (!payload)
        return ragd_error_set(err, RAGD_EINTERNAL, "POST %s: cannot serialize the request", url);

    curl_easy_setopt(h->curl, CURLOPT_URL, url);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(payload));

    int json_retried = 0;
    ragd_status st = RAGD_OK;
    for (int attempt = 0;; attempt++) {
        double bwait;
        int bfails;
        if (!breaker_allow(h->breaker, &bwait, &bfails)) {
            st = breaker_error(url, bwait, bfails, err);
            break;
        }
        ragd_buf_reset(&h->body);
        h->too_big = 0;
        h->retry_after[0] = '\0';
        h->errbuf[0] = '\0';
        h->delivered = h->sink_failed = 0;
        stats->attempts++;

        CURLcode rc = curl_easy_perform(h->curl);
        char what[CURL_ERROR_SIZE + 64]; /* "connection refused", "HTTP 500", ... */
        char detail[256];                /* the server's message or the JSON parser's */
        int retryable = 0, bad_json = 0;
        double retry_after = -1;
        what[0] = detail[0] = '\0';
        if (rc != CURLE_OK) {
            describe_curl(h, rc, what, sizeof what);
            if (h->sink_failed) snprintf(what, sizeof what, "the stream's reader stopped it");
            /* Once tokens reached the reader the call cannot start over. */
            retryable = !h->too_big && !h->delivered && curl_retryable(rc);
            /* The server failed, unless our reader stopped or the reply
             * was too big for us. */
            breaker_report(h->breaker, h->sink_failed || h->too_big);
        } else {
            long code = 0;
            curl_easy_getinfo(h->curl, CURLINFO_RESPONSE_CODE, &code);
            if (code < 200 || code >= 300)
                breaker_report(h->breaker, !(code >= 500 && code <= 599 && code != 501));
            if (code >= 200 && code < 300 && h->sink) {
                breaker_report(h->breaker, true);
                break;
            } else if (code >= 200 && code < 300) {
                json_error_t je;
                json_t *j = json_loadb(ragd_buf_str(&h->body), h->body.len, 0, &je);
                breaker_report(h->breaker, j != NULL); /* a 2xx that is not JSON fails */
                if (j) {
                    *out = j;
                    break;
                }
                bad_json = 1;
                snprintf(detail, sizeof detail, "%s", je.text);
                if (!h->body.len) snprintf(detail, sizeof detail, "empty body");
                retryable = !json_retried;
                json_retried = 1;
            } else {
                snprintf(what, sizeof what, "HTTP %ld", code);
                server_message(ragd_buf_str(&h->body), h->body.len, detail, sizeof detail);
                retryable = code == 429 || (code >= 500 && code <= 599 && code != 501);
                if (retryable && h->retry_after[0])
                    retry_after = http_parse_retry_after(h->retry_after, (long long)time(NULL));
            }
        }

        if (!retryable || attempt >= h->max_retries) {
            char times[48] = "";
            if (attempt > 0) snprintf(times, sizeof times, " after %d attempts", attempt + 1);
            if (bad_json)
                st = ragd_error_set(err, RAGD_EPROVIDER, "invalid JSON from %s%s: %s", url, times,
                                    detail);
            else
                st = ragd_error_set(err, RAGD_EPROVIDER, "POST %s: %s%s%s%s", url, what, times,
                                    detail[0] ? ": " : "", detail);
            break;
        }

        double ceiling = h->backoff_base_s * pow(2.0, attempt);
        if (ceiling > h->backoff_cap_s) ceiling = h->backoff_cap_s;
        double pause = rng_unit(h) * ceiling;
        if (retry_after >= 0 && pause < retry_after) pause = retry_after;
        if (pause > HTTP_RETRY_AFTER_MAX_S) pause = HTTP_RETRY_AFTER_MAX_S;
        if (breaker_is_open(h->breaker, &bwait, &bfails)) {
            /* Give up now instead of sleeping into a refusal. */
            st = breaker_error(url, bwait, bfails, err);
            break;
        }
        stats->retries++;
        char ps[32];
        snprintf(ps, sizeof ps, "%.3f", pause);
        log_write(LOG_INFO, "provider call failed, retrying", "url", url, "reason",
                  bad_json ? "invalid JSON" : what, "sleep_s", ps, NULL);
        sleep_s(pause);
    }
    curl_easy_setopt(h->curl, CURLOPT_POSTFIELDS, (const char *)NULL);
    free(payload);
    return st;
}

ragd_status http_post_json(ragd_http *h, const char *url, const json_t *body, json_t **out,
                           http_stats *stats, ragd_error *err)
{
    h->sink = NULL;
    return post(h, url, body, out, stats, err);
}

ragd_status http_post_stream(ragd_http *h, const char *url, const json_t *body, http_sink_fn sink,
                             void *user, http_stats *stats, ragd_error *err)
{
    h->sink = sink;
    h->sink_user = user;
    ragd_status st = post(h, url, body, NULL, stats, err);
    h->sink = NULL;
    h->sink_user = NULL;
    return st;
}
