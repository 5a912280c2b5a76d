/* core/durable.h — writing a whole file so that it survives a crash.
 *
 * The bytes go to PATH.tmp, which is fsync'd and renamed over PATH, and the
 * directory is fsync'd so the rename itself is durable: after a crash PATH
 * holds either its old content or all of the new one, never a part.
 *
 * Thread-safety: safe from any thread for different paths; two writers of
 * one path share its temporary file and must be serialized by the caller.
 */
#ifndef RAGD_CORE_DURABLE_H
#define RAGD_CORE_DURABLE_H

#include <stddef.h>

#include "core/error.h"

/* Create dir if missing (0755), then write data[0..n) durably to path
 * (inside dir). On failure the temporary file is removed and err says
 * which step failed (RAGD_EIO). */
ragd_status ragd_write_durable(const char *dir, const char *path, const void *data, size_t n,
                               ragd_error *err);

#endif
