/* fuzz/fuzz_summary.c — the summary builder (ingest/summary.h) on a parsed
 * document (byte 0 picks md or txt, the rest is the document).
 *
 * Properties: summary_build succeeds on every parsed document; every
 * summary sentence's text is exactly text[start:end] and in bounds; outline
 * levels are 1..6 with in-bounds starts; at most 10 keywords; the object
 * serializes (jansson refuses invalid UTF-8); summary_entry_text is valid
 * UTF-8 or NULL when there is no sentence.
 */
#include <jansson.h>
#include <string.h>

#include "core/text.h"
#include "fuzz/fuzz.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    ingest_doc d;
    memset(&d, 0, sizeof d);
    ragd_error err = {0};
    const char *fmt = data[0] & 1 ? "md" : "txt";
    if (ingest_parse((const char *)data + 1, size - 1, fmt, "fuzz-input", &d, &err) != RAGD_OK)
        return 0;
    json_t *sum = NULL;
    FUZZ_CHECK(summary_build(&d, "fuzz/source.md", NULL, &sum, &err) == RAGD_OK);
    FUZZ_CHECK(json_is_object(sum));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(sum, "summary"), i, v)
    {
        json_int_t s = json_integer_value(json_object_get(v, "start"));
        json_int_t e = json_integer_value(json_object_get(v, "end"));
        const char *t = json_string_value(json_object_get(v, "text"));
        FUZZ_CHECK(s >= 0 && s <= e && (size_t)e <= d.len && t);
        FUZZ_CHECK(strlen(t) == (size_t)(e - s) && !memcmp(t, d.text + s, (size_t)(e - s)));
    }
    json_array_foreach(json_object_get(sum, "outline"), i, v)
    {
        json_int_t level = json_integer_value(json_object_get(v, "level"));
        json_int_t s = json_integer_value(json_object_get(v, "start"));
        FUZZ_CHECK(level >= 1 && level <= 6 && s >= 0 && (size_t)s <= d.len);
    }
    FUZZ_CHECK(json_array_size(json_object_get(sum, "keywords")) <= 10);
    char *dump = json_dumps(sum, JSON_COMPACT);
    FUZZ_CHECK(dump != NULL);
    free(dump);
    char *entry = summary_entry_text(sum);
    if (json_array_size(json_object_get(sum, "summary")) == 0) FUZZ_CHECK(entry == NULL);
    if (entry) FUZZ_CHECK(text_utf8_check(entry, strlen(entry), NULL, NULL));
    free(entry);
    json_decref(sum);
    ingest_doc_free(&d);
    return 0;
}
