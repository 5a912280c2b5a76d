/* fuzz/reply_server.h — a minimal HTTP/1.1 server on 127.0.0.1 for the
 * provider reply fuzz targets: every request, whatever its path, is answered
 * with the status and body last set by reply_server_set (the fuzz input),
 * with Content-Length and keep-alive, so the real client (provider/http.c,
 * libcurl) reads it exactly as it would read a model server's reply.
 * One thread per connection; state behind one mutex (the harness's only
 * shared state). Lives until the process exits. */
#ifndef RAGD_FUZZ_REPLY_SERVER_H
#define RAGD_FUZZ_REPLY_SERVER_H

#include <stddef.h>

/* Start the server; returns its port (aborts when it cannot bind). */
int reply_server_start(void);

/* The reply to give from now on (body copied). */
void reply_server_set(int status, const char *body, size_t len);

/* The status a fuzz input's first byte selects: 200 for most values, else
 * one of the failures a client must handle (4xx, 429, 5xx, 204, 302). */
int reply_server_status(unsigned char b);

#endif
