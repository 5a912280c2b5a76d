/* core/json_flat.h — a JSON object of string values, parsed without jansson.
 *
 * A BEIR corpus line is {"_id": "...", "title": "...", "text": "..."}:
 * jansson parses it one byte at a time through its stream layer, about 140
 * instructions per byte, and that was 7 % of a whole `ragd ingest` of
 * SciFact. This parser takes only the shape such lines have, a flat object
 * whose values are all strings, and scans the strings in runs of plain
 * bytes. It answers for the inputs it fully accepts and declines the rest:
 * true means jansson would parse the same object from the bytes (the same
 * keys, values and order); false means "not handled here", valid JSON or
 * not (a number, a nested value, a \u escape, a duplicate key, a control
 * byte, invalid UTF-8, trailing bytes, ...), and the caller parses with
 * jansson, which gives the value or the error message it always gave.
 * tests/unit_json_flat.c compares the two on generated lines.
 *
 * Ownership: the fields point into jf's buffer, valid until the next parse
 * or json_flat_free. Thread-safety: reentrant (one json_flat per thread).
 */
#ifndef RAGD_CORE_JSON_FLAT_H
#define RAGD_CORE_JSON_FLAT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *key, *val; /* decoded, NUL-terminated (no NUL inside) */
    size_t key_len, val_len;
} json_flat_field;

typedef struct {
    json_flat_field *f; /* the fields, in the order of the text */
    size_t n;
    char *buf; /* their decoded bytes */
    size_t cap, capf;
} json_flat;

#define JSON_FLAT_INIT                                                                             \
    {                                                                                              \
        0                                                                                          \
    }

/* Parse s[0..n) into jf (its fields replaced). */
bool json_flat_parse(json_flat *jf, const char *s, size_t n);

/* The value of key (NUL-terminated), or NULL when absent. */
const json_flat_field *json_flat_get(const json_flat *jf, const char *key);

/* Free jf's arrays (jf itself is the caller's; JSON_FLAT_INIT again after). */
void json_flat_free(json_flat *jf);

#endif
