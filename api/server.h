/* api/server.h — `ragd serve`: the HTTP front-end over service/ragd.h.
 *
 * libmicrohttpd runs an epoll thread pool (--threads); each request's body
 * is read into memory (bounded by max_body), parsed as JSON, handed to one
 * library call (api/routes.c), and the result object is sent back as is,
 * so the HTTP API and the CLI return the same objects. Every response
 * carries X-Request-Id; every request gets one access-log line and its
 * metrics (api/metrics.c). Errors are {"error":{"code","message","field"}}.
 *
 * Shutdown: SIGTERM or SIGINT stops accepting connections, lets requests in
 * flight finish within drain_s seconds, then stops the daemon; the engine
 * (and its indexes, already snapshotted on every write) is freed by the
 * caller. Exit status 0.
 *
 * Ownership: the engine is borrowed for the call. Thread-safety: api_serve
 * blocks the calling thread until shutdown; call it once per process (it
 * installs the signal mask it needs).
 */
#ifndef RAGD_API_SERVER_H
#define RAGD_API_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"
#include "service/ragd.h"

typedef struct {
    const char *host;        /* IPv4 address to bind (default 127.0.0.1) */
    int port;                /* 0 = any free port (printed) */
    int threads;             /* worker threads (0 = online CPUs) */
    size_t max_body;         /* request body limit in bytes (0 = 32 MiB) */
    int max_connections;     /* open connections at once (0 = 256) */
    int timeout_s;           /* idle connection timeout (0 = 30) */
    double drain_s;          /* shutdown: wait this long for requests in flight (0 = 10) */
    const char *cors_origin; /* NULL: no CORS headers; else the allowed origin */
    bool insecure_no_auth;   /* allow a non-loopback bind without API keys */
    const char *ready_file;  /* when set, "host:port\n" is written here once listening */
    double rate_limit;       /* requests per second per key (or client address); 0 = off */
    double rate_burst;       /* bucket size (0 = 2 x rate_limit) */

    /* /mcp (api/mcp_http.h): browser origins allowed to call it (borrowed; "*" any). */
    const char *const *mcp_origins;
    size_t n_mcp_origins; /* at most API_MAX_MCP_ORIGINS */
} api_server_opts;

#define API_MAX_MCP_ORIGINS 32

#define API_DEFAULT_MAX_BODY (32u << 20)

/* Serve until SIGTERM/SIGINT. RAGD_EUSAGE for a refused bind address
 * (non-loopback without keys), RAGD_EIO when the port cannot be bound. */
ragd_status api_serve(ragd_engine *eng, const api_server_opts *o, ragd_error *err);

#endif
