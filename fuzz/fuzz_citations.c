/* fuzz/fuzz_citations.c — the citation parser and checker (answer/check.c).
 *
 * The input is split at 0x1E bytes: the answer, then up to 8 sources; only
 * valid UTF-8 without NUL is checked (a model's reply comes through
 * jansson, which guarantees that). Properties: answer_parse_marker at every
 * offset gives a length within the text and at most 16 numbers;
 * answer_check_texts always returns an object whose counts agree with its
 * sentences' verdicts (ok == no invalid citation and every claim
 * supported), whose invalid citations are exactly the cited numbers outside
 * 1..n, whose quotes are source text at the offsets they name, and which
 * serializes.
 */
#include <jansson.h>
#include <string.h>

#include "answer/answer.h"
#include "core/text.h"
#include "fuzz/fuzz.h"

#define MAX_SOURCES 8

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!text_utf8_check((const char *)data, size, NULL, NULL)) return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    const char *parts[MAX_SOURCES + 1];
    size_t np = 0;
    char *p = buf;
    parts[np++] = p;
    while (np <= MAX_SOURCES && (p = strchr(p, '\x1e'))) {
        *p++ = '\0';
        parts[np++] = p;
    }
    const char *answer = parts[0];
    size_t al = strlen(answer);
    for (size_t i = 0; i < al; i++) {
        int nums[16];
        size_t k = 0, len = 0;
        if (answer_parse_marker(answer, al, i, nums, &k, &len))
            FUZZ_CHECK(len > 0 && len <= al - i && k >= 1 && k <= 16);
        else
            FUZZ_CHECK(k == 0);
    }
    size_t ns = np - 1;
    json_t *c = answer_check_texts(answer, parts + 1, ns);
    FUZZ_CHECK(json_is_object(c));
    json_t *sentences = json_object_get(c, "sentences");
    FUZZ_CHECK(json_is_array(sentences));
    long claims = 0, supported = 0, uncited = 0, unsupported = 0, ninvalid = 0;
    size_t i, j;
    json_t *s, *v;
    json_array_foreach(sentences, i, s)
    {
        const char *verdict = json_string_value(json_object_get(s, "verdict"));
        FUZZ_CHECK(verdict && json_string_value(json_object_get(s, "text")));
        claims += strcmp(verdict, "no_claim") != 0;
        supported += !strcmp(verdict, "supported");
        uncited += !strcmp(verdict, "uncited_claim");
        unsupported += !strcmp(verdict, "unsupported");
        json_array_foreach(json_object_get(s, "citations"), j, v)
        {
            json_int_t n = json_integer_value(v);
            ninvalid += n < 1 || n > (json_int_t)ns;
        }
        json_array_foreach(json_object_get(s, "quotes"), j, v)
        {
            json_int_t n = json_integer_value(json_object_get(v, "n"));
            json_int_t qs = json_integer_value(json_object_get(v, "start"));
            json_int_t qe = json_integer_value(json_object_get(v, "end"));
            const char *q = json_string_value(json_object_get(v, "quote"));
            FUZZ_CHECK(n >= 1 && n <= (json_int_t)ns && q);
            const char *src = parts[n];
            FUZZ_CHECK(qs >= 0 && qs < qe && (size_t)qe <= strlen(src));
            FUZZ_CHECK(strlen(q) == (size_t)(qe - qs) && !memcmp(q, src + qs, (size_t)(qe - qs)));
        }
    }
    FUZZ_CHECK(json_integer_value(json_object_get(c, "claims")) == claims);
    FUZZ_CHECK(json_integer_value(json_object_get(c, "supported")) == supported);
    FUZZ_CHECK(json_integer_value(json_object_get(c, "uncited")) == uncited);
    FUZZ_CHECK(json_integer_value(json_object_get(c, "unsupported")) == unsupported);
    FUZZ_CHECK((long)json_array_size(json_object_get(c, "invalid_citations")) == ninvalid);
    FUZZ_CHECK(json_is_true(json_object_get(c, "ok")) == (ninvalid == 0 && supported == claims));
    char *dump = json_dumps(c, JSON_COMPACT);
    FUZZ_CHECK(dump != NULL);
    free(dump);
    json_decref(c);
    free(buf);
    return 0;
}
