/* core/durable.c — temp file, fsync, rename, fsync of the directory (see
 * durable.h). One implementation for every file ragd writes whole: job
 * payloads (service/jobs.c) and uploaded files (service/ops_files.c). */
#include "core/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

ragd_status ragd_write_durable(const char *dir, const char *path, const void *data, size_t n,
                               ragd_error *err)
{
    ragd_buf tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&tmp, "%s.tmp", path);
    ragd_status rc = RAGD_OK;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        rc = ragd_error_set(err, RAGD_EIO, "cannot create '%s': %s", dir, strerror(errno));
    int fd = rc ? -1 : open(tmp.data, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (!rc && fd < 0)
        rc = ragd_error_set(err, RAGD_EIO, "cannot create '%s': %s", tmp.data, strerror(errno));
    const char *p = data;
    for (size_t off = 0; !rc && off < n;) {
        ssize_t w = write(fd, p + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0)
            rc = ragd_error_set(err, RAGD_EIO, "cannot write '%s' (disk full?)", tmp.data);
        else
            off += (size_t)w;
    }
    if (!rc && fsync(fd) != 0)
        rc = ragd_error_set(err, RAGD_EIO, "cannot sync '%s': %s", tmp.data, strerror(errno));
    if (fd >= 0) close(fd);
    if (!rc && rename(tmp.data, path) != 0)
        rc = ragd_error_set(err, RAGD_EIO, "cannot rename to '%s': %s", path, strerror(errno));
    if (!rc) {
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) {
            fsync(dfd);
            close(dfd);
        }
    }
    if (rc) unlink(tmp.data);
    ragd_buf_free(&tmp);
    return rc;
}
