/* fuzz/fuzz_load_jsonl.c — the JSONL (BEIR corpus.jsonl) loader, through
 * ingest_paths with format "jsonl" into a real store (the loader splits the
 * file into records inside the pipeline, so it is fuzzed there).
 *
 * Fixture: a store on a private data directory, collection "default", no
 * embedder. Each input is written to DIR/in.jsonl and ingested. Properties:
 * RAGD_OK or RAGD_EINPUT (some record bad) and never a store error, a report
 * whose "failed" equals its errors' count and whose counts are not negative,
 * and, when the run succeeded and skipped nothing, every record (a line
 * that is an object with string "_id" and "text") is findable by its id.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "ingest/ingest.h"
#include "store/store.h"

static ragd_store *g_st;
static ragd_collection g_coll;
static char g_path[600];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    char *dir = fuzz_tmpdir("jsonl");
    ragd_error err = {0};
    FUZZ_CHECK(store_open(dir, &g_st, &err) == RAGD_OK);
    snprintf(g_path, sizeof g_path, "%s/in.jsonl", dir);
    free(dir);
    ragd_settings s;
    store_settings_init(&s);
    FUZZ_CHECK(store_collection_open(g_st, "default", &s, &g_coll, &err) == RAGD_OK);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(g_path, "wb");
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(fwrite(data, 1, size, f) == size);
    FUZZ_CHECK(fclose(f) == 0);
    char *paths[1] = {g_path};
    ingest_opts o = {.format = "jsonl"};
    json_t *rep = NULL;
    ragd_error err = {0};
    ragd_status rc = ingest_paths(g_st, &g_coll, paths, 1, &o, &rep, &err);
    if (rc != RAGD_OK && rc != RAGD_EINPUT)
        fprintf(stderr, "ingest_paths: status %d: %s\n", rc, err.msg);
    FUZZ_CHECK(rc == RAGD_OK || rc == RAGD_EINPUT);
    FUZZ_CHECK(json_is_object(rep));
    static const char *const counts[] = {"added", "updated", "unchanged", "skipped", "failed"};
    for (size_t i = 0; i < 5; i++)
        FUZZ_CHECK(json_integer_value(json_object_get(rep, counts[i])) >= 0);
    FUZZ_CHECK((size_t)json_integer_value(json_object_get(rep, "failed")) ==
               json_array_size(json_object_get(rep, "errors")));
    json_int_t skipped = json_integer_value(json_object_get(rep, "skipped"));
    json_decref(rep);
    /* Records written are findable by their _id (one line per record). */
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        json_t *o2 = json_loadb(p, n, 0, NULL);
        const char *id = json_string_value(json_object_get(o2, "_id"));
        const char *text = json_string_value(json_object_get(o2, "text"));
        if (id && text && rc == RAGD_OK) {
            bool found = false;
            char hash[65];
            FUZZ_CHECK(store_doc_find(g_st, g_coll.id, id, &found, hash, NULL, &err) == RAGD_OK);
            if (!skipped) /* blank texts are skipped, not stored */
                FUZZ_CHECK(found);
        }
        json_decref(o2);
        p += n + 1;
    }
    return 0;
}
