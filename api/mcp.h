/* api/mcp.h — the Model Context Protocol server core, independent of the
 * transport (docs/compat.md, "MCP").
 *
 * One JSON-RPC 2.0 message in, at most one message out. The core knows the
 * MCP methods (initialize, notifications/initialized, ping, tools/list,
 * tools/call) and the JSON-RPC error codes; it knows nothing of stdio or
 * HTTP. Its two transports are `ragd mcp` (cli/cmd_mcp.c: newline-delimited
 * messages on stdin/stdout) and `/mcp` on `ragd serve` (api/mcp_http.c:
 * streamable HTTP with sessions). Each tool (api/mcp_tools.c) maps its
 * arguments onto one call of service/ragd.h and returns that call's result
 * object as structuredContent, so MCP, the CLI and /v1 return the same
 * objects.
 *
 * Ownership: the context is borrowed for the call; out->reply is a new
 * reference the caller releases. Thread-safety: reentrant; the engine is
 * thread-safe and nothing here keeps state between messages (sessions are
 * the HTTP transport's).
 */
#ifndef RAGD_API_MCP_H
#define RAGD_API_MCP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "service/ragd.h"

/* The protocol revision this server implements (and answers with when the
 * client asks for one it does not know). */
#define MCP_PROTOCOL_VERSION "2025-06-18"

/* JSON-RPC 2.0 error codes. */
#define MCP_PARSE_ERROR (-32700)
#define MCP_INVALID_REQUEST (-32600)
#define MCP_METHOD_NOT_FOUND (-32601)
#define MCP_INVALID_PARAMS (-32602)
#define MCP_INTERNAL_ERROR (-32603)

typedef struct {
    ragd_engine *eng;
    const ragd_principal *who; /* the authenticated caller; NULL = a local (stdio) caller
                                  with every scope */
    const char *collection;    /* the collection of tools called without one */
} mcp_ctx;

typedef enum {
    MCP_MSG_INVALID,      /* not a JSON-RPC message: reply is the error */
    MCP_MSG_REQUEST,      /* a request: reply is its response */
    MCP_MSG_NOTIFICATION, /* a notification: no reply */
    MCP_MSG_RESPONSE      /* a response or error from the client: no reply */
} mcp_msg_kind;

typedef struct {
    mcp_msg_kind kind;
    json_t *reply;      /* the message to send back, or NULL */
    const char *method; /* the request's method (borrowed from the message; NULL if none) */
    bool initialized;   /* a successful initialize: version holds the negotiated revision */
    char version[16];
} mcp_outcome;

/* Handle one parsed message. */
void mcp_handle(const mcp_ctx *c, const json_t *msg, mcp_outcome *out);

/* Parse buf (len bytes) and handle it: text that is not JSON gets a parse
 * error reply (-32700, id null). *msg_out receives the parsed message (new
 * reference, NULL on a parse error) so that out->method stays valid; pass
 * it to json_decref when done. */
void mcp_handle_text(const mcp_ctx *c, const char *buf, size_t len, json_t **msg_out,
                     mcp_outcome *out);

/* True for the protocol revisions this server speaks. */
bool mcp_version_supported(const char *v);

/* A JSON-RPC error response (id borrowed; NULL means null). New reference. */
json_t *mcp_error(const json_t *id, int code, const char *message);

/* --- tools (api/mcp_tools.c) ---------------------------------------------------------- */

/* {"tools":[…]}: every tool with its inputSchema and outputSchema. New reference. */
json_t *mcp_tools_list(void);

/* Call tool `name` with `args` (an object, or NULL for none). Returns false
 * when there is no such tool (a JSON-RPC error for the caller); otherwise
 * *result is a CallToolResult: structuredContent and a text rendering, or
 * isError with the reason. */
bool mcp_tools_call(const mcp_ctx *c, const char *name, const json_t *args, json_t **result);

#endif
