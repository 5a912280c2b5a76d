/* core/durable.c — temp file, fsync, rename, fsync of the directory (see
 * durable.h). One implementation for every file ragd writes whole: job
 * payloads (service/jobs.c), uploaded files (service/ops_files.c) and the
 * FAISS snapshots (index/vector.c, through the step functions). */
#include "core/durable.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

ragd_status ragd_durable_begin(const char *dir, const char *tmp, FILE **fp, ragd_error *err)
{
    *fp = NULL;
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return ragd_error_set(err, RAGD_EIO, "cannot create '%s': %s", dir, strerror(errno));
    *fp = fopen(tmp, "w+b");
    if (!*fp) return ragd_error_set(err, RAGD_EIO, "cannot create '%s': %s", tmp, strerror(errno));
    return RAGD_OK;
}

ragd_status ragd_durable_sync(FILE *fp, const char *tmp, ragd_error *err)
{
    if (fflush(fp) != 0 || fsync(fileno(fp)) != 0) {
        int e = errno;
        ragd_error_set(err, RAGD_EIO, "cannot write '%s': %s", tmp, strerror(e));
        errno = e;
        return RAGD_EIO;
    }
    return RAGD_OK;
}

ragd_status ragd_durable_commit(FILE *fp, const char *dir, const char *tmp, const char *path,
                                ragd_error *err)
{
    if (fclose(fp) != 0) {
        int e = errno;
        ragd_error_set(err, RAGD_EIO, "cannot write '%s': %s", tmp, strerror(e));
        errno = e;
        return RAGD_EIO;
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        ragd_error_set(err, RAGD_EIO, "cannot rename to '%s': %s", path, strerror(e));
        errno = e;
        return RAGD_EIO;
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return RAGD_OK;
}

void ragd_durable_abort(FILE *fp, const char *tmp)
{
    int e = errno;
    if (fp) fclose(fp);
    unlink(tmp);
    errno = e;
}

ragd_status ragd_write_durable(const char *dir, const char *path, const void *data, size_t n,
                               ragd_error *err)
{
    ragd_buf tmp = RAGD_BUF_INIT;
    ragd_buf_printf(&tmp, "%s.tmp", path);
    FILE *fp = NULL;
    ragd_status rc = ragd_durable_begin(dir, tmp.data, &fp, err);
    if (!rc && n && fwrite(data, 1, n, fp) != n)
        rc = ragd_error_set(err, RAGD_EIO, "cannot write '%s' (disk full?)", tmp.data);
    if (!rc) rc = ragd_durable_sync(fp, tmp.data, err);
    if (!rc) {
        rc = ragd_durable_commit(fp, dir, tmp.data, path, err);
        fp = NULL;
    }
    if (rc) ragd_durable_abort(fp, tmp.data);
    ragd_buf_free(&tmp);
    return rc;
}
