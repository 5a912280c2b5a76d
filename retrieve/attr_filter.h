/* retrieve/attr_filter.h — typed attribute filters over document metadata
 * (the OpenAI vector-store search `filters`, docs/compat.md).
 *
 * A filter is a JSON object, either a comparison
 *   {"type": "eq|ne|gt|gte|lt|lte|in|nin", "key": "<attribute>", "value": v}
 * or a compound
 *   {"type": "and|or", "filters": [filter, …]}.
 * Comparisons are typed, nothing is coerced: a number compares with a
 * number numerically (2 < 10), a string with a string by bytes (so ISO
 * dates order), a boolean only equals a boolean; a comparison between
 * different types, or with an absent attribute, is false — except ne and
 * nin, which are the negations of eq and in (true when absent). in / nin
 * take a non-empty array of values. Nesting is at most ATTR_FILTER_MAX_DEPTH
 * deep and ATTR_FILTER_MAX_NODES nodes in all.
 *
 * Thread-safety: reentrant; filters are borrowed and never modified.
 */
#ifndef RAGD_RETRIEVE_ATTR_FILTER_H
#define RAGD_RETRIEVE_ATTR_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "core/error.h"

#define ATTR_FILTER_MAX_DEPTH 8
#define ATTR_FILTER_MAX_NODES 64
#define ATTR_FILTER_MAX_VALUES 100

/* RAGD_EINPUT naming the field at fault ("filters.filters[1].value") when f
 * is not a well-formed filter; `field` is the name of f itself. */
ragd_status attr_filter_check(const json_t *f, const char *field, ragd_error *err);

/* Whether attributes (a JSON object; NULL = none) satisfy the checked
 * filter f. */
bool attr_filter_match(const json_t *f, const json_t *attributes);

/* The same over a metadata object's JSON text (NULL or invalid = {}). */
bool attr_filter_match_text(const json_t *f, const char *metadata_json);

#endif
