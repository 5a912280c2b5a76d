/* api/multipart.h — a bounded, incremental multipart/form-data parser
 * (RFC 7578 over RFC 2046), for file uploads.
 *
 * The body is fed in pieces of any size (a delimiter or a header may be
 * split across reads); the parser keeps at most one delimiter's length of
 * unprocessed input besides the part being read, so memory is the parts'
 * data plus a constant. Limits: MP_MAX_PARTS parts, MP_MAX_HEADER_BYTES of
 * headers per part, and max_bytes of part data in total (the server's body
 * limit already bounds the body; this bounds what is kept). Anything
 * malformed — no boundary, a missing closing delimiter, a part without a
 * Content-Disposition name, headers too long — is RAGD_EINPUT with a
 * message naming what is wrong; nothing is ever read past the buffers.
 *
 * Ownership: mp_parser_new returns a parser released by mp_parser_free;
 * mp_finish moves the parts into a form the caller releases with
 * mp_form_free. Thread-safety: one parser per request; the functions are
 * reentrant.
 */
#ifndef RAGD_API_MULTIPART_H
#define RAGD_API_MULTIPART_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

#define MP_MAX_PARTS 64
#define MP_MAX_HEADER_BYTES 8192
#define MP_MAX_BOUNDARY 70

typedef struct {
    char *name;         /* the form field name (Content-Disposition name) */
    char *filename;     /* the file name, or NULL when the part is not a file */
    char *content_type; /* the part's Content-Type, or NULL */
    char *data;         /* the part's bytes, NUL-terminated (not counted in len) */
    size_t len;
} mp_part;

typedef struct {
    mp_part *parts;
    size_t nparts;
} mp_form;

typedef struct mp_parser mp_parser;

/* True when content_type is multipart/form-data (any parameters). */
bool mp_is_multipart(const char *content_type);

/* The boundary parameter of a multipart Content-Type (quoted or not) into
 * out; RAGD_EINPUT when it is missing, empty or longer than 70 bytes. */
ragd_status mp_boundary(const char *content_type, char out[MP_MAX_BOUNDARY + 1], ragd_error *err);

/* A parser for a body of Content-Type content_type keeping at most
 * max_bytes of part data (0 = no bound beyond the server's). NULL with err
 * set when the content type has no usable boundary. */
mp_parser *mp_parser_new(const char *content_type, size_t max_bytes, ragd_error *err);

/* Feed the next n bytes of the body. After an error the parser accepts no
 * more input (the same error is returned again). */
ragd_status mp_feed(mp_parser *p, const char *data, size_t n, ragd_error *err);

/* The body has ended: the closing delimiter must have been seen. The parts
 * move into *out (empty on error). */
ragd_status mp_finish(mp_parser *p, mp_form *out, ragd_error *err);

void mp_parser_free(mp_parser *p);
void mp_form_free(mp_form *f);

/* The first part named name, or NULL; mp_form_count counts them. */
const mp_part *mp_form_get(const mp_form *f, const char *name);
size_t mp_form_count(const mp_form *f, const char *name);

#endif
