/* core/json.h — small helpers over jansson.
 *
 * jansson's accessors return NULL for a missing key, and printf("%s", NULL)
 * is undefined behaviour; these return safe defaults so readable views of
 * JSON results never crash on a field that is absent. References follow
 * jansson's rules: getters borrow, nothing here changes reference counts.
 * Thread-safety: reentrant.
 */
#ifndef RAGD_CORE_JSON_H
#define RAGD_CORE_JSON_H

#include <jansson.h>
#include <stdio.h>

#include "core/error.h"

/* The string at o[key], or "" when absent or not a string. Borrowed. */
const char *ragd_json_str(const json_t *o, const char *key);

/* The integer at o[key], or 0. */
long long ragd_json_int(const json_t *o, const char *key);

/* The number (real or integer) at o[key], or 0. */
double ragd_json_num(const json_t *o, const char *key);

/* Write j as one compact line (reals with 9 significant digits) to f. */
void ragd_json_print(FILE *f, const json_t *j);

/* The json_dumps flags of every JSON ragd prints (CLI and HTTP alike), so
 * both front-ends print the same numbers. */
#define RAGD_JSON_DUMP_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* Parse buf[0..n) as a JSON object. On failure RAGD_EINPUT with jansson's
 * message and column ("invalid JSON at column 7: ..."). *out is a new
 * reference. */
ragd_status ragd_json_parse_object(const char *buf, size_t n, json_t **out, ragd_error *err);

#endif
