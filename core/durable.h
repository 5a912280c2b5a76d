/* core/durable.h — writing a whole file so that it survives a crash.
 *
 * The bytes go to a temporary file, which is fsync'd and renamed over PATH,
 * and the directory is fsync'd so the rename itself is durable: after a
 * crash PATH holds either its old content or all of the new one, never a
 * part.
 *
 * Thread-safety: safe from any thread for different paths; two writers of
 * one path share its temporary file and must be serialized by the caller.
 */
#ifndef RAGD_CORE_DURABLE_H
#define RAGD_CORE_DURABLE_H

#include <stddef.h>
#include <stdio.h>

#include "core/error.h"

/* Create dir if missing (0755), then write data[0..n) durably to path
 * (inside dir) through PATH.tmp. On failure the temporary file is removed
 * and err says which step failed (RAGD_EIO). */
ragd_status ragd_write_durable(const char *dir, const char *path, const void *data, size_t n,
                               ragd_error *err);

/* The same in steps, for writers that produce the bytes through a FILE*
 * (a FAISS index) and may read them back before committing:
 *   ragd_durable_begin   creates dir if missing and opens tmp (the caller's
 *                        temporary path, inside dir) for writing and reading;
 *   ragd_durable_sync    flushes and fsyncs it;
 *   ragd_durable_commit  closes it, renames it over path, fsyncs dir;
 *   ragd_durable_abort   closes it (fp may be NULL) and removes tmp.
 * Each failure is RAGD_EIO naming the step, with errno left as the failing
 * call set it (so a caller can tell ENOSPC or EFBIG). After a failed
 * commit, fp is closed: call ragd_durable_abort(NULL, tmp). */
ragd_status ragd_durable_begin(const char *dir, const char *tmp, FILE **fp, ragd_error *err);
ragd_status ragd_durable_sync(FILE *fp, const char *tmp, ragd_error *err);
ragd_status ragd_durable_commit(FILE *fp, const char *dir, const char *tmp, const char *path,
                                ragd_error *err);
void ragd_durable_abort(FILE *fp, const char *tmp);

#endif
