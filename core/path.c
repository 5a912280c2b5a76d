/* core/path.c — lexical path normalization (core/path.h).
 *
 * path_absolute prefixes a relative path with the working directory, then
 * rebuilds it component by component: empty and "." components are
 * dropped, ".." pops the last kept component. One pass, linear in the
 * path's length.
 */
#include "core/path.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"

char *path_absolute(const char *p)
{
    ragd_buf in = RAGD_BUF_INIT;
    if (p[0] != '/') {
        char cwd[PATH_MAX];
        ragd_buf_puts(&in, getcwd(cwd, sizeof cwd) ? cwd : "/");
        ragd_buf_putc(&in, '/');
    }
    ragd_buf_puts(&in, p);
    ragd_buf out = RAGD_BUF_INIT;
    const char *s = in.data;
    while (*s) {
        while (*s == '/')
            s++;
        const char *e = s;
        while (*e && *e != '/')
            e++;
        size_t n = (size_t)(e - s);
        if (n == 0 || (n == 1 && s[0] == '.')) {
            /* nothing */
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            while (out.len && out.data[out.len - 1] != '/')
                out.len--;
            if (out.len) out.len--; /* the slash before it */
            if (out.data) out.data[out.len] = '\0';
        } else {
            ragd_buf_putc(&out, '/');
            ragd_buf_append(&out, s, n);
        }
        s = e;
    }
    ragd_buf_free(&in);
    if (!out.len) ragd_buf_putc(&out, '/');
    return ragd_buf_steal(&out);
}

const char *path_last(const char *abs)
{
    const char *slash = strrchr(abs, '/');
    return slash && slash[1] ? slash + 1 : abs;
}
