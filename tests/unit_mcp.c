/* tests/unit_mcp.c — the MCP core (api/mcp.h) in process, without a
 * transport: message classification and JSON-RPC errors, version
 * negotiation, the compiled-in tool schemas, and tools/call mapping onto
 * service/ragd.h (same object as the library call, scopes checked, bad
 * arguments as isError results, add_document creating a new collection
 * only for callers who may). A real engine on a temporary data
 * directory; the transports are tested by tests/it_mcp.py and
 * tests/js/it_mcp_sdk.mjs.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp.h"
#include "core/json.h"
#include "tests/unit_helpers.h"

/* Handle msg (JSON text) with c; the reply (new reference) or NULL. */
static json_t *handle(const mcp_ctx *c, const char *text, mcp_outcome *o)
{
    json_t *msg = NULL;
    mcp_handle_text(c, text, strlen(text), &msg, o);
    json_decref(msg);
    o->method = NULL; /* borrowed from msg */
    return o->reply;
}

static long long err_code(const json_t *reply)
{
    return json_integer_value(json_object_get(json_object_get(reply, "error"), "code"));
}

static void test_classify_and_errors(void **state)
{
    (void)state;
    mcp_ctx c = {0};
    mcp_outcome o;
    json_t *r = handle(&c, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}", &o);
    assert_int_equal(o.kind, MCP_MSG_REQUEST);
    assert_int_equal(json_integer_value(json_object_get(r, "id")), 7);
    assert_int_equal(json_object_size(json_object_get(r, "result")), 0);
    json_decref(r);

    r = handle(&c, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}", &o);
    assert_int_equal(o.kind, MCP_MSG_NOTIFICATION);
    assert_null(r);
    r = handle(&c, "{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{}}", &o);
    assert_int_equal(o.kind, MCP_MSG_RESPONSE);
    assert_null(r);

    static const struct {
        const char *text;
        long long code;
    } BAD[] = {
        {"{nope", MCP_PARSE_ERROR},
        {"[]", MCP_INVALID_REQUEST},
        {"\"ping\"", MCP_INVALID_REQUEST},
        {"{\"id\":1,\"method\":\"ping\"}", MCP_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", MCP_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", MCP_INVALID_REQUEST},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"nope\"}", MCP_METHOD_NOT_FOUND},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":[]}", MCP_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{}}",
         MCP_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":"
         "\"nope\"}}",
         MCP_INVALID_PARAMS},
        {"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{}}",
         MCP_INVALID_PARAMS}};
    for (size_t i = 0; i < sizeof BAD / sizeof *BAD; i++) {
        r = handle(&c, BAD[i].text, &o);
        assert_non_null(r);
        if (err_code(r) != BAD[i].code) fprintf(stderr, "message: %s\n", BAD[i].text);
        assert_int_equal(err_code(r), BAD[i].code);
        assert_string_equal(json_string_value(json_object_get(r, "jsonrpc")), "2.0");
        json_decref(r);
    }
}

static void test_initialize_negotiates(void **state)
{
    (void)state;
    mcp_ctx c = {0};
    mcp_outcome o;
    static const struct {
        const char *asked, *got;
    } V[] = {{"2025-06-18", "2025-06-18"},
             {"2025-03-26", "2025-03-26"},
             {"2024-11-05", "2024-11-05"},
             {"2025-11-25", MCP_PROTOCOL_VERSION},
             {"1.0", MCP_PROTOCOL_VERSION}};
    for (size_t i = 0; i < sizeof V / sizeof *V; i++) {
        char text[256];
        snprintf(text, sizeof text,
                 "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                 "\"protocolVersion\":\"%s\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\","
                 "\"version\":\"1\"}}}",
                 V[i].asked);
        json_t *r = handle(&c, text, &o);
        json_t *res = json_object_get(r, "result");
        assert_true(o.initialized);
        assert_string_equal(o.version, V[i].got);
        assert_string_equal(json_string_value(json_object_get(res, "protocolVersion")), V[i].got);
        assert_non_null(json_object_get(json_object_get(res, "capabilities"), "tools"));
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(res, "serverInfo"), "name")), "ragd");
        json_decref(r);
    }
}

/* Every listed tool has both schemas and is one the call table knows. */
static void test_tool_schemas(void **state)
{
    (void)state;
    json_t *l = mcp_tools_list();
    json_t *tools = json_object_get(l, "tools");
    assert_int_equal(json_array_size(tools), 6);
    mcp_ctx c = {0};
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t)
    {
        const char *name = json_string_value(json_object_get(t, "name"));
        assert_non_null(name);
        assert_true(strlen(json_string_value(json_object_get(t, "description"))) > 20);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(t, "inputSchema"), "type")),
            "object");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(t, "outputSchema"), "type")),
            "object");
        json_t *res = NULL, *bad = json_array(); /* arguments that are not an object */
        assert_true(mcp_tools_call(&c, name, bad, &res));
        assert_true(json_is_true(json_object_get(res, "isError")));
        json_decref(bad);
        json_decref(res);
    }
    json_t *res = NULL;
    assert_false(mcp_tools_call(&c, "no_such_tool", NULL, &res));
    assert_null(res);
    json_decref(l);
}

static const char *text_of(const json_t *res)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(res, "content"), 0), "text"));
}

/* tools/call returns the library's object; scopes and bad arguments are
 * isError results. */
static void test_tools_map_the_library(void **state)
{
    (void)state;
    char dir[] = "/tmp/ragd-unit-mcp-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char data[64];
    snprintf(data, sizeof data, "%s/d", dir);
    ragd_engine_opts eo = {.slots = 2, .create = true};
    ragd_engine *eng = NULL;
    ragd_error err;
    assert_int_equal(ragd_engine_open(data, &eo, &eng, &err), RAGD_OK);
    mcp_ctx c = {.eng = eng, .who = NULL, .collection = "default"};

    json_t *args = json_pack("{s:s,s:s}", "id", "notes/tides.md", "text",
                             "# Tides\n\nSpring tides at Quillhaven follow the new moon.");
    json_t *res = NULL;
    assert_true(mcp_tools_call(&c, "add_document", args, &res));
    assert_false(json_is_true(json_object_get(res, "isError")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(res, "structuredContent"), "added")), 1);
    json_decref(args);
    json_decref(res);

    /* search: structuredContent is ragd_search's object, content its JSON. */
    args =
        json_pack("{s:s,s:i,s:s}", "query", "Quillhaven spring tides", "k", 3, "mode", "lexical");
    assert_true(mcp_tools_call(&c, "search", args, &res));
    json_t *sc = json_object_get(res, "structuredContent");
    json_t *req = json_pack("{s:s,s:i,s:s,s:s}", "query", "Quillhaven spring tides", "k", 3, "mode",
                            "lexical", "collection", "default");
    json_t *lib = NULL;
    assert_int_equal(ragd_search(eng, req, &lib, &err), RAGD_OK);
    json_object_del(lib, "timing_ms");
    json_t *got = json_deep_copy(sc);
    json_object_del(got, "timing_ms");
    assert_true(json_equal(got, lib));
    char *dumped = json_dumps(sc, RAGD_JSON_DUMP_FLAGS); /* content is its JSON text */
    assert_string_equal(text_of(res), dumped);
    free(dumped);
    json_decref(got);
    json_decref(lib);
    json_decref(req);
    json_decref(args);
    json_decref(res);

    /* Bad arguments: the library's message, naming the argument. */
    args = json_pack("{s:s,s:s}", "query", "tides", "k", "3");
    assert_true(mcp_tools_call(&c, "search", args, &res));
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_contains(text_of(res), "(argument 'k')");
    assert_null(json_object_get(res, "structuredContent"));
    json_decref(args);
    json_decref(res);
    args = json_pack("{s:s,s:b}", "id", "notes/tides.md", "extra", 1);
    assert_true(mcp_tools_call(&c, "get_document", args, &res));
    assert_contains(text_of(res), "unknown argument 'extra'");
    json_decref(args);
    json_decref(res);
    args = json_pack("{s:s,s:b}", "query", "tides", "stream", 1);
    assert_true(mcp_tools_call(&c, "answer", args, &res));
    assert_true(json_is_true(json_object_get(res, "isError")));
    json_decref(args);
    json_decref(res);

    /* A read principal may search but not add; a collection-limited one
     * sees only its collections. */
    ragd_principal rp = {.key_id = 9, .scope = "read", .collections = json_pack("[s]", "default")};
    mcp_ctx rc = {.eng = eng, .who = &rp, .collection = "default"};
    args = json_pack("{s:s,s:s}", "id", "x.txt", "text", "Some words.");
    assert_true(mcp_tools_call(&rc, "add_document", args, &res));
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_contains(text_of(res), "'write' is needed");
    json_decref(args);
    json_decref(res);
    args = json_pack("{s:s,s:s}", "query", "tides", "collection", "other");
    assert_true(mcp_tools_call(&rc, "search", args, &res));
    assert_contains(text_of(res), "does not cover collection 'other'");
    json_decref(args);
    json_decref(res);
    args = json_pack("{s:s}", "id", "notes/tides.md");
    assert_true(mcp_tools_call(&rc, "get_document", args, &res));
    assert_false(json_is_true(json_object_get(res, "isError")));
    assert_contains(
        json_string_value(json_object_get(json_object_get(res, "structuredContent"), "text")),
        "Quillhaven");
    json_decref(args);
    json_decref(res);
    json_decref(rp.collections);

    /* add_document into a collection that does not exist yet creates it
     * only for a caller who may create collections (admin, or local). */
    ragd_principal wp = {.key_id = 10, .scope = "write"};
    mcp_ctx wc = {.eng = eng, .who = &wp, .collection = "fresh"};
    args = json_pack("{s:s,s:s}", "id", "f.txt", "text", "Fresh words about herons.");
    assert_true(mcp_tools_call(&wc, "add_document", args, &res));
    assert_true(json_is_true(json_object_get(res, "isError")));
    assert_contains(text_of(res), "fresh");
    json_decref(res);
    ragd_principal ap = {.key_id = 11, .scope = "admin"};
    mcp_ctx ac = {.eng = eng, .who = &ap, .collection = "fresh"};
    assert_true(mcp_tools_call(&ac, "add_document", args, &res));
    assert_false(json_is_true(json_object_get(res, "isError")));
    json_decref(res);
    assert_true(mcp_tools_call(&wc, "add_document", args, &res)); /* exists now: unchanged */
    assert_false(json_is_true(json_object_get(res, "isError")));
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(res, "structuredContent"), "unchanged")),
        1);
    json_decref(res);
    json_decref(args);

    ragd_engine_free(eng);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_classify_and_errors),
        cmocka_unit_test(test_initialize_negotiates),
        cmocka_unit_test(test_tool_schemas),
        cmocka_unit_test(test_tools_map_the_library),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
