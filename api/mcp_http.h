/* api/mcp_http.h — MCP's streamable HTTP transport on `ragd serve`: the
 * /mcp routes, their sessions and the Origin check (docs/compat.md, "MCP").
 *
 * POST /mcp carries one JSON-RPC message; the reply is application/json
 * (202 with no body for a notification or a response). A successful
 * initialize issues an MCP-Session-Id, which every later request must
 * send (400 when missing, 404 when unknown, ended or issued to another
 * key); DELETE /mcp ends a session. GET /mcp is not routed, so the server
 * answers 405: no server-initiated stream is offered. A request with an Origin header that is not
 * allowed is refused with 403 (DNS-rebinding protection); requests without Origin (non-browser
 * clients) pass. Keys and scopes are the rest of the API's: the route needs a read key, and each
 * tool checks its own scope.
 *
 * Ownership: api_mcp_http_new copies the origins; api_mcp_http_free
 * releases everything. Thread-safety: the session table is guarded by a
 * mutex; the handlers are reentrant.
 */
#ifndef RAGD_API_MCP_HTTP_H
#define RAGD_API_MCP_HTTP_H

#include <stddef.h>

#include "api/routes.h"

typedef struct api_mcp_http api_mcp_http;

/* Sessions kept at once: the least recently used one is ended for a new one. */
#define MCP_MAX_SESSIONS 1024

/* origins: the allowed Origin values (n of them; "*" allows any). */
api_mcp_http *api_mcp_http_new(const char *const *origins, size_t n);
void api_mcp_http_free(api_mcp_http *m);

ragd_status api_mcp_post(api_call *c, api_reply *r, ragd_error *err);
ragd_status api_mcp_delete(api_call *c, api_reply *r, ragd_error *err);

#endif
