/* core/json_dump.h — json_dumps for compact output, without jansson's
 * per-byte callbacks.
 *
 * jansson serializes strings one code point at a time through a callback
 * and a growing buffer: about 60 instructions per byte, and the summary
 * each ingested document carries made that 4.5 % of a SciFact ingest.
 * ragd_json_dumps_compact writes the same bytes as
 * json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(p)): objects in their
 * insertion order (jansson's, since 2.8), strings escaped as jansson
 * escapes them (\" \\ \b \f \n \r \t, other controls as \u00XX, UTF-8
 * otherwise as it is), integers in decimal, true/false/null; each real is
 * printed by jansson itself. Other flags, and strings that are not valid
 * UTF-8 (which jansson refuses), go to json_dumps. tests/unit_json_dump.c
 * compares the two on generated values.
 *
 * Returns a malloc'd string (caller frees), or NULL where json_dumps gives
 * NULL. Thread-safety: reentrant (j is only read).
 */
#ifndef RAGD_CORE_JSON_DUMP_H
#define RAGD_CORE_JSON_DUMP_H

#include <jansson.h>
#include <stddef.h>

char *ragd_json_dumps_compact(const json_t *j, size_t flags);

#endif
