/* core/path.h — lexical file path normalization.
 *
 * Paths are compared after normalization, never as typed: `pt/docs/`,
 * `pt/docs`, `./pt/docs`, `pt//docs` and `/abs/pt/docs` (with /abs the
 * working directory) are one path. Normalization is lexical (no file
 * system access besides getcwd): it does not resolve symbolic links, so a
 * file reached through a linked directory keeps the path through the link,
 * as its document id does.
 *
 * Ownership: returned strings are malloc'd; the caller frees them.
 * Thread-safety: reentrant (getcwd reads the process's working directory).
 */
#ifndef RAGD_CORE_PATH_H
#define RAGD_CORE_PATH_H

/* p made absolute (relative paths against the working directory) and
 * normalized: repeated slashes, "." components and trailing slashes
 * removed, ".." removing the component before it ("/.." stays "/"). */
char *path_absolute(const char *p);

/* The last component of a normalized absolute path ("/" for "/"). */
const char *path_last(const char *abs);

#endif
