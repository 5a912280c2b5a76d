/* ingest/ignore.h — gitignore-style path patterns for directory walks.
 *
 * Used for `ingest --include GLOB` / `--exclude GLOB` and for the
 * `.ragdignore` files a walk meets. A pattern follows .gitignore rules:
 *   - blank lines and lines starting with '#' are ignored (in files);
 *   - a leading '!' negates (re-includes what an earlier pattern excluded);
 *   - a trailing '/' matches directories only;
 *   - a pattern with no other '/' matches the name at any depth
 *     ("*.png", "build"); with a '/' it is anchored to the directory the
 *     rule belongs to ("docs/_static", "/searchindex.js");
 *   - '*' matches within one path component, '?' one character, "[a-z]" a
 *     class ("[!x]" negated), '\' escapes; "**" as a whole component
 *     matches any number of components: with X standing for two stars,
 *     "api/X" is everything under api, "a/X/b" matches a/b, a/x/b, a/x/y/b,
 *     "X/name" is name at any depth.
 * Paths are relative ('/'-separated, no leading "./"). A rule set belongs
 * to one directory (its base, relative to the walk's root) and may chain
 * to its parent's set; the last matching rule wins, deeper sets after
 * shallower ones, as in git.
 *
 * Ownership: ignore_rules is created by ignore_new and released by
 * ignore_free (not its parent). Thread-safety: a rule set is read-only once
 * built; matching is reentrant.
 */
#ifndef RAGD_INGEST_IGNORE_H
#define RAGD_INGEST_IGNORE_H

#include <stdbool.h>

#include "core/error.h"

typedef struct ignore_rules ignore_rules;

/* A new, empty rule set for directory `base` ("" for the root), chained to
 * parent (borrowed, may be NULL; it must outlive the new set). */
ignore_rules *ignore_new(const char *base, const ignore_rules *parent);
void ignore_free(ignore_rules *r);

/* Add one pattern line (comments and blank lines are ignored). */
void ignore_add(ignore_rules *r, const char *pattern);

/* Add every line of a .ragdignore file; RAGD_EINPUT if it cannot be read. */
ragd_status ignore_add_file(ignore_rules *r, const char *file, ragd_error *err);

/* The verdict for path (relative to the walk's root) over the whole chain:
 * 1 excluded, -1 re-included by a negated rule, 0 no rule matched. */
int ignore_match(const ignore_rules *r, const char *path, bool is_dir);

/* Whether one glob (the syntax above, without '!' or a trailing '/')
 * matches path; exposed for --include and for tests. */
bool ignore_glob(const char *pattern, const char *path);

#endif
