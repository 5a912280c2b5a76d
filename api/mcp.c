/* api/mcp.c — the MCP JSON-RPC core (see mcp.h).
 *
 * A message is classified first (request: method + id; notification:
 * method, no id; response: result or error + id; anything else an invalid
 * request), then a request is dispatched on its method. Batches (JSON
 * arrays) were removed from MCP in revision 2025-06-18 and are answered
 * with an invalid-request error. Version negotiation: the client's
 * protocolVersion is echoed when this server speaks it, else the server
 * answers with MCP_PROTOCOL_VERSION and the client decides.
 */
#include "api/mcp.h"

#include <stdio.h>
#include <string.h>

#include "core/json.h"

static const char *const VERSIONS[] = {MCP_PROTOCOL_VERSION, "2025-03-26", "2024-11-05", NULL};

bool mcp_version_supported(const char *v)
{
    for (int i = 0; v && VERSIONS[i]; i++)
        if (!strcmp(v, VERSIONS[i])) return true;
    return false;
}

json_t *mcp_error(const json_t *id, int code, const char *message)
{
    return json_pack("{s:s,s:O,s:{s:i,s:s}}", "jsonrpc", "2.0", "id",
                     id ? (json_t *)id : json_null(), "error", "code", code, "message", message);
}

static json_t *result(const json_t *id, json_t *res)
{
    return json_pack("{s:s,s:O,s:o}", "jsonrpc", "2.0", "id", (json_t *)id, "result", res);
}

static json_t *on_initialize(const json_t *id, const json_t *params, mcp_outcome *out)
{
    const char *want = json_string_value(json_object_get(params, "protocolVersion"));
    if (!json_is_object(params) || !want)
        return mcp_error(id, MCP_INVALID_PARAMS,
                         "initialize needs params.protocolVersion (a string), "
                         "params.capabilities and params.clientInfo");
    const char *v = mcp_version_supported(want) ? want : MCP_PROTOCOL_VERSION;
    out->initialized = true;
    snprintf(out->version, sizeof out->version, "%s", v);
    json_t *res = json_pack(
        "{s:s,s:{s:{s:b}},s:{s:s,s:s,s:s},s:s}", "protocolVersion", v, "capabilities", "tools",
        "listChanged", 0, "serverInfo", "name", "ragd", "title", "ragd retrieval", "version",
        RAGD_VERSION_STRING, "instructions",
        "ragd searches document collections and answers questions from them with checked [n] "
        "citations. Use search or get_context to find passages, answer for a cited answer, "
        "list_collections to see what exists, get_document to read a source in full, and "
        "add_document to add text.");
    return result(id, res);
}

static json_t *on_tools_call(const mcp_ctx *c, const json_t *id, const json_t *params)
{
    const char *name = json_string_value(json_object_get(params, "name"));
    if (!json_is_object(params) || !name)
        return mcp_error(id, MCP_INVALID_PARAMS, "tools/call needs params.name (a string)");
    const json_t *args = json_object_get(params, "arguments");
    json_t *res = NULL;
    if (!mcp_tools_call(c, name, args, &res)) {
        char msg[160];
        snprintf(msg, sizeof msg, "Unknown tool: %.100s (see tools/list)", name);
        return mcp_error(id, MCP_INVALID_PARAMS, msg);
    }
    return result(id, res);
}

static json_t *on_request(const mcp_ctx *c, const char *method, const json_t *id,
                          const json_t *params, mcp_outcome *out)
{
    if (params && !json_is_object(params))
        return mcp_error(id, MCP_INVALID_PARAMS, "params must be an object");
    if (!strcmp(method, "initialize")) return on_initialize(id, params, out);
    if (!strcmp(method, "ping")) return result(id, json_object());
    if (!strcmp(method, "tools/list")) return result(id, mcp_tools_list());
    if (!strcmp(method, "tools/call")) return on_tools_call(c, id, params);
    char msg[160];
    snprintf(msg, sizeof msg, "Method not found: %.100s", method);
    return mcp_error(id, MCP_METHOD_NOT_FOUND, msg);
}

void mcp_handle(const mcp_ctx *c, const json_t *msg, mcp_outcome *out)
{
    memset(out, 0, sizeof *out);
    out->kind = MCP_MSG_INVALID;
    if (json_is_array(msg)) {
        out->reply = mcp_error(NULL, MCP_INVALID_REQUEST,
                               "JSON-RPC batches are not supported (MCP 2025-06-18): send one "
                               "message at a time");
        return;
    }
    const json_t *id = json_object_get(msg, "id");
    const json_t *m = json_object_get(msg, "method");
    bool id_ok = json_is_string(id) || json_is_integer(id);
    if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "jsonrpc")) ||
        strcmp(json_string_value(json_object_get(msg, "jsonrpc")), "2.0")) {
        out->reply = mcp_error(id_ok ? id : NULL, MCP_INVALID_REQUEST,
                               "not a JSON-RPC 2.0 message: an object with \"jsonrpc\":\"2.0\" "
                               "is expected");
        return;
    }
    if (json_is_string(m) && !id) {
        out->kind = MCP_MSG_NOTIFICATION;
        out->method = json_string_value(m);
        return; /* notifications/initialized, cancelled, …: nothing to answer */
    }
    if (json_is_string(m) && id_ok) {
        out->kind = MCP_MSG_REQUEST;
        out->method = json_string_value(m);
        out->reply = on_request(c, out->method, id, json_object_get(msg, "params"), out);
        return;
    }
    if (!m && id_ok && (json_object_get(msg, "result") || json_object_get(msg, "error"))) {
        out->kind = MCP_MSG_RESPONSE;
        return;
    }
    out->reply = mcp_error(id_ok ? id : NULL, MCP_INVALID_REQUEST,
                           json_is_string(m) ? "the id must be a string or an integer"
                                             : "a request needs a \"method\" string and an \"id\"");
}

void mcp_handle_text(const mcp_ctx *c, const char *buf, size_t len, json_t **msg_out,
                     mcp_outcome *out)
{
    json_error_t je;
    json_t *msg = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    *msg_out = msg;
    if (!msg) {
        memset(out, 0, sizeof *out);
        out->kind = MCP_MSG_INVALID;
        char text[320];
        snprintf(text, sizeof text, "Parse error: %s (line %d, column %d)", je.text, je.line,
                 je.column);
        out->reply = mcp_error(NULL, MCP_PARSE_ERROR, text);
        return;
    }
    mcp_handle(c, msg, out);
}
