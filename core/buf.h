/* core/buf.h — a growable byte buffer (always NUL-terminated).
 *
 * A ragd_buf is a plain struct the caller owns; initialise with
 * RAGD_BUF_INIT (or zero it) and release with ragd_buf_free(). Appends grow
 * the capacity geometrically. On allocation failure the process aborts with a
 * message: ragd treats out-of-memory as fatal, like SQLite's default malloc
 * failure handling would be unrecoverable for us anyway.
 *
 * Thread-safety: a buffer must not be shared between threads.
 */
#ifndef RAGD_CORE_BUF_H
#define RAGD_CORE_BUF_H

#include <stddef.h>

typedef struct {
    char *data; /* NUL-terminated once anything was appended; may be NULL */
    size_t len;
    size_t cap;
} ragd_buf;

#define RAGD_BUF_INIT                                                                              \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

void ragd_buf_append(ragd_buf *b, const char *s, size_t n);
void ragd_buf_puts(ragd_buf *b, const char *s);
void ragd_buf_putc(ragd_buf *b, char c);
void ragd_buf_printf(ragd_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Ensure room for n more bytes (plus the NUL). */
void ragd_buf_reserve(ragd_buf *b, size_t n);
/* Set len to 0, keep the allocation. */
void ragd_buf_reset(ragd_buf *b);
/* Return the data ("" if empty, never NULL) and give ownership to the caller
 * (free with free()); the buffer is reset to empty. */
char *ragd_buf_steal(ragd_buf *b);
void ragd_buf_free(ragd_buf *b);
/* Return data or "" when nothing was appended; the buffer keeps ownership. */
const char *ragd_buf_str(const ragd_buf *b);

/* Allocation wrappers that abort with a message on failure. */
void *ragd_xmalloc(size_t n);
void *ragd_xcalloc(size_t n, size_t size);
void *ragd_xrealloc(void *p, size_t n);
char *ragd_xstrdup(const char *s);
char *ragd_xstrndup(const char *s, size_t n);

/* Grow a dynamic array *arr (element size elsz) so that it holds at least
 * need elements; *cap is updated. */
void ragd_array_grow(void **arr, size_t *cap, size_t need, size_t elsz);

#endif
