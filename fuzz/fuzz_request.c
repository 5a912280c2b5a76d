/* fuzz/fuzz_request.c — request validation and execution of the query
 * operations (service/request.c query_req_parse, filters, then the real
 * search: FTS5, FAISS over the local embedder, context packing, the
 * extractive answer and its checker), as POST /v1/search, /v1/context and
 * /v1/answer call them.
 *
 * Fixture: an engine on a private data directory with collection "default"
 * holding four small documents with metadata. Input: byte 0 picks the
 * operation, the rest is the request body, parsed as JSON as the server
 * does (bodies that are not JSON are the server's 400, not ours).
 * Properties: the status is one a front-end maps to a 4xx or a 200 — never
 * RAGD_EINTERNAL, RAGD_EIO, RAGD_ESTORE or RAGD_EINDEX; an error has a
 * message; a result is an object that serializes.
 */
#include <jansson.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "service/ragd.h"

static ragd_engine *g_engine;

static void add_docs(void)
{
    const char *docs =
        "{\"documents\":["
        "{\"id\":\"cats.md\",\"text\":\"# Cats\\n\\nCats sleep sixteen hours a day. A cat purrs "
        "at 25 Hz.\",\"metadata\":{\"topic\":\"pets\",\"lang\":\"en\"}},"
        "{\"id\":\"rust.md\",\"text\":\"# Rust\\n\\nThe borrow checker rejects data races at "
        "compile time.\",\"metadata\":{\"topic\":\"code\"}},"
        "{\"id\":\"tea\",\"text\":\"Green tea is steeped at 80 °C for two minutes.\","
        "\"format\":\"txt\",\"metadata\":{\"topic\":\"food\"}},"
        "{\"id\":\"kanji.md\",\"text\":\"# 東京\\n\\n東京は日本の首都です。\"}]}";
    ragd_error err = {0};
    json_t *req = json_loads(docs, 0, NULL), *out = NULL;
    json_t *creq = json_pack("{s:s}", "name", "default");
    FUZZ_CHECK(req && creq);
    FUZZ_CHECK(ragd_collection_create(g_engine, creq, &out, &err) == RAGD_OK);
    json_decref(out);
    FUZZ_CHECK(ragd_documents_add(g_engine, "default", req, &out, &err) == RAGD_OK);
    json_decref(out);
    json_decref(req);
    json_decref(creq);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    char *dir = fuzz_tmpdir("request");
    ragd_engine_opts o = {.slots = 1, .create = true};
    ragd_error err = {0};
    if (ragd_engine_open(dir, &o, &g_engine, &err) != RAGD_OK) {
        fprintf(stderr, "engine: %s\n", err.msg);
        abort();
    }
    free(dir);
    add_docs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    json_t *req = json_loadb((const char *)data + 1, size - 1, JSON_DECODE_ANY, NULL);
    if (!req) return 0;
    json_t *out = NULL;
    ragd_error err = {0};
    ragd_status rc;
    switch (data[0] % 3) {
    case 0:
        rc = ragd_search(g_engine, req, &out, &err);
        break;
    case 1:
        rc = ragd_context(g_engine, req, &out, &err);
        break;
    default:
        rc = ragd_answer(g_engine, req, &out, &err);
        break;
    }
    if (rc == RAGD_OK) {
        FUZZ_CHECK(json_is_object(out));
        char *dump = json_dumps(out, JSON_COMPACT);
        FUZZ_CHECK(dump != NULL);
        free(dump);
    } else {
        if (rc != RAGD_EINPUT && rc != RAGD_ERANGE && rc != RAGD_ENOTFOUND && rc != RAGD_EUSAGE)
            fprintf(stderr, "status %d: %s\n", rc, err.msg);
        FUZZ_CHECK(rc == RAGD_EINPUT || rc == RAGD_ERANGE || rc == RAGD_ENOTFOUND ||
                   rc == RAGD_EUSAGE);
        FUZZ_CHECK(err.msg[0] != '\0' && out == NULL);
    }
    json_decref(out);
    json_decref(req);
    return 0;
}
