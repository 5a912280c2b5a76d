/* ingest/walk.h — the files an ingest run reads (private to ingest/).
 *
 * walk_inputs turns the command line's paths into a list of files with
 * their document ids (docs/cli.md "Document ids"): a file given directly
 * is keyed by its name; a directory is walked recursively (sorted, dot
 * entries skipped) and its files are keyed by their path relative to it,
 * prefixed by the directory's name when several directories are given.
 *
 * What a walk leaves out, counted by reason (never failures):
 *   - files that are not documents, by extension: images, fonts, archives,
 *     scripts (.js), styles (.css), source maps (.map), data (.json search
 *     indexes, Sphinx objects.inv), media, binaries (WALK_REASONS);
 *   - paths excluded by --exclude or a .ragdignore (gitignore rules,
 *     ingest/ignore.h; a .ragdignore applies to its directory and below),
 *     and with --include, files that match no include pattern ("excluded").
 * Patterns match the path relative to the directory argument. A file
 * given directly is never filtered: it is read, and an error if it cannot
 * be. Content sniffing (binary content, empty files) happens when a file is
 * read (prepare.c), for walked files only.
 *
 * Symbolic links are followed (to files and directories), but each
 * directory, by device and inode, is walked once per run: a link back up
 * the tree (sub/loop -> ..) or a second link to a directory already walked
 * is skipped with a warning (issue 12 #9).
 *
 * Ownership: file_list and walk_stats are filled here and released by
 * file_list_free / walk_stats_free. Thread-safety: single-threaded (the
 * writer thread, before the run starts).
 */
#ifndef RAGD_INGEST_WALK_H
#define RAGD_INGEST_WALK_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct {
    char *path; /* as opened */
    char *key;  /* document id */
    char *abs;  /* absolute, lexically normalized (core/path.h) */
    off_t size;
    bool walked; /* found by a walk (not named on the command line) */
} input_file;

typedef struct {
    input_file *v;
    size_t n, cap;
} file_list;

typedef struct {
    const char *const *include; /* globs; a walked file must match one (none: all) */
    size_t ninclude;
    const char *const *exclude; /* gitignore-style patterns */
    size_t nexclude;
    bool verbose; /* list every skipped file on stderr */
} walk_opts;

typedef struct {
    long walked;     /* files met by walks, skipped ones included */
    json_t *skipped; /* reason -> count (new reference, an object) */
} walk_stats;

/* List the files of paths (see above) into out; stats counts what walks
 * skipped (stats->skipped must be an object the caller owns). */
void walk_inputs(char *const *paths, size_t npaths, const walk_opts *o, file_list *out,
                 walk_stats *stats);

/* Count one skipped file under reason (and list it with o->verbose). */
void walk_skip(walk_stats *stats, bool verbose, const char *file, const char *reason);

void file_list_free(file_list *l);

#endif
