/* api/mcp_tools.c — the MCP tools: arguments → one service/ragd.h call →
 * CallToolResult (see mcp.h).
 *
 * The tool descriptions and their input and output JSON Schemas are data:
 * api/mcp_tools.json, compiled into the binary (cmake/embed.cmake). Each
 * tool here only picks the collection (the argument, else the context's
 * default), checks the caller's scope on it, calls its library function
 * with the remaining arguments as the request (the library validates them
 * strictly, as for /v1), and wraps the result: structuredContent is the
 * library's object unchanged, content[0] its JSON text (as MCP 2025-06-18
 * recommends for clients without structured output). A failure — bad
 * arguments, a missing document, a scope the key lacks — is a result with
 * isError: true and the library's message, which the model can act on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp.h"
#include "core/buf.h"
#include "core/json.h"

extern const char ragd_mcp_tools_json[];

json_t *mcp_tools_list(void)
{
    json_t *j = json_loads(ragd_mcp_tools_json, 0, NULL);
    return j ? j : json_pack("{s:[]}", "tools");
}

typedef ragd_status (*tool_fn)(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                               ragd_error *err);

static ragd_status t_search(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                            ragd_error *err)
{
    json_object_set_new(args, "collection", json_string(coll));
    return ragd_search(c->eng, args, out, err);
}

static ragd_status t_context(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                             ragd_error *err)
{
    json_object_set_new(args, "collection", json_string(coll));
    return ragd_context(c->eng, args, out, err);
}

static ragd_status t_answer(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                            ragd_error *err)
{
    if (json_object_get(args, "stream"))
        return ragd_error_set_field(err, RAGD_EINPUT, "stream",
                                    "unknown argument 'stream': MCP answers are returned whole");
    json_object_set_new(args, "collection", json_string(coll));
    return ragd_answer(c->eng, args, out, err);
}

/* Only the collections the caller may read, as GET /v1/collections. */
static ragd_status t_collections(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                                 ragd_error *err)
{
    (void)coll;
    if (json_object_size(args))
        return ragd_error_set_field(err, RAGD_EINPUT, json_object_iter_key(json_object_iter(args)),
                                    "list_collections takes no arguments");
    ragd_status rc = ragd_collections_list(c->eng, out, err);
    if (rc || !c->who) return rc;
    json_t *all = json_object_get(*out, "collections");
    for (size_t i = json_array_size(all); i-- > 0;) {
        ragd_error ae;
        const char *name = json_string_value(json_object_get(json_array_get(all, i), "name"));
        if (ragd_authorize(c->who, name, "read", &ae)) json_array_remove(all, i);
    }
    return RAGD_OK;
}

static ragd_status t_document(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                              ragd_error *err)
{
    const char *key;
    json_t *v;
    json_object_foreach(args, key, v)
    {
        if (strcmp(key, "id"))
            return ragd_error_set_field(err, RAGD_EINPUT, key,
                                        "unknown argument '%.64s' (accepted: id, collection)", key);
    }
    const char *id = json_string_value(json_object_get(args, "id"));
    if (!id || !*id)
        return ragd_error_set_field(err, RAGD_EINPUT, "id",
                                    "'id' (a non-empty string: the document id) is required");
    return ragd_document_get(c->eng, coll, id, out, err);
}

/* A collection that does not exist yet is created first (with its
 * defaults), as `ragd ingest` does, when the caller may create collections:
 * the local stdio caller, or an admin key over HTTP. */
static ragd_status add_creating(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                                ragd_error *err)
{
    ragd_status rc = ragd_documents_add(c->eng, coll, args, out, err);
    ragd_error ae;
    if (rc != RAGD_ENOTFOUND || strcmp(err->field, "collection") ||
        (c->who && ragd_authorize(c->who, coll, "admin", &ae)))
        return rc;
    json_t *req = json_pack("{s:s}", "name", coll), *made = NULL;
    rc = ragd_collection_create(c->eng, req, &made, err);
    json_decref(req);
    json_decref(made);
    return rc && rc != RAGD_ECONFLICT ? rc : ragd_documents_add(c->eng, coll, args, out, err);
}

/* One document; a document the pipeline refuses (report.errors) is a
 * failed call, with the pipeline's reason. */
static ragd_status t_add(const mcp_ctx *c, const char *coll, json_t *args, json_t **out,
                         ragd_error *err)
{
    if (json_object_get(args, "documents"))
        return ragd_error_set_field(err, RAGD_EINPUT, "documents",
                                    "add_document adds one document: pass id and text");
    ragd_status rc = add_creating(c, coll, args, out, err);
    if (rc || !ragd_json_int(*out, "failed")) return rc;
    json_t *e0 = json_array_get(json_object_get(*out, "errors"), 0);
    const char *why = json_string_value(json_object_get(e0, "message"));
    if (!why) why = json_string_value(json_object_get(e0, "error"));
    ragd_error_set(err, RAGD_EINPUT, "the document was not added: %s",
                   why ? why : "the ingest report lists it as failed");
    json_decref(*out);
    *out = NULL;
    return RAGD_EINPUT;
}

static const struct {
    const char *name;
    const char *scope;
    tool_fn fn;
} TOOLS[] = {{"search", "read", t_search},
             {"get_context", "read", t_context},
             {"answer", "read", t_answer},
             {"list_collections", "read", t_collections},
             {"get_document", "read", t_document},
             {"add_document", "write", t_add},
             {NULL, NULL, NULL}};

static json_t *tool_error(const ragd_error *e)
{
    char msg[RAGD_ERROR_MAX + 96];
    snprintf(msg, sizeof msg, "%s%s%s%s", e->msg, e->field[0] ? " (argument '" : "", e->field,
             e->field[0] ? "')" : "");
    return json_pack("{s:[{s:s,s:s}],s:b}", "content", "type", "text", "text", msg, "isError", 1);
}

bool mcp_tools_call(const mcp_ctx *c, const char *name, const json_t *args, json_t **result)
{
    int t = 0;
    while (TOOLS[t].name && strcmp(TOOLS[t].name, name))
        t++;
    if (!TOOLS[t].name) return false;
    ragd_error err;
    ragd_error_clear(&err);
    if (args && !json_is_object(args)) {
        ragd_error_set(&err, RAGD_EINPUT, "the arguments of %s must be an object", name);
        *result = tool_error(&err);
        return true;
    }
    json_t *req = args ? json_deep_copy(args) : json_object();
    json_t *cv = json_object_get(req, "collection");
    const char *coll = c->collection ? c->collection : "default";
    ragd_status rc = RAGD_OK;
    if (cv && !json_is_string(cv))
        rc = ragd_error_set_field(&err, RAGD_EINPUT, "collection",
                                  "'collection' must be a string (a collection name)");
    char *cname = ragd_xstrdup(cv && json_is_string(cv) ? json_string_value(cv) : coll);
    json_object_del(req, "collection");
    bool scoped = strcmp(name, "list_collections") != 0;
    if (!rc && c->who) rc = ragd_authorize(c->who, scoped ? cname : NULL, TOOLS[t].scope, &err);
    json_t *out = NULL;
    if (!rc) rc = TOOLS[t].fn(c, cname, req, &out, &err);
    free(cname);
    json_decref(req);
    if (rc) {
        json_decref(out);
        *result = tool_error(&err);
        return true;
    }
    char *text = json_dumps(out, RAGD_JSON_DUMP_FLAGS);
    *result = json_pack("{s:[{s:s,s:s}],s:o,s:b}", "content", "type", "text", "text",
                        text ? text : "{}", "structuredContent", out, "isError", 0);
    free(text);
    return true;
}
