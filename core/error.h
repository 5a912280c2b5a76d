/* core/error.h — status codes and the error object.
 *
 * Errors are values: every fallible function returns a ragd_status and, when
 * it fails, fills a caller-owned ragd_error with a message a user can act on
 * ("cannot open 'x.pdf': unsupported format, use --format"). The error lives
 * on the caller's stack; nothing here allocates. Codes are stable: new codes
 * are appended, never renumbered.
 *
 * Thread-safety: all functions are reentrant; an error object must not be
 * shared between threads.
 */
#ifndef RAGD_CORE_ERROR_H
#define RAGD_CORE_ERROR_H

#include <stdarg.h>

typedef enum {
    RAGD_OK = 0,
    RAGD_EINPUT = 1,     /* bad input: a file, a field, a query */
    RAGD_EUSAGE = 2,     /* bad command line or API usage */
    RAGD_EPROVIDER = 3,  /* model server / network failure */
    RAGD_ENOTFOUND = 4,  /* a named thing does not exist */
    RAGD_EIO = 5,        /* filesystem failure */
    RAGD_ESTORE = 6,     /* SQLite failure */
    RAGD_ENOMEM = 7,     /* allocation failure */
    RAGD_ECONFLICT = 8,  /* settings clash (e.g. another chunker) */
    RAGD_EINDEX = 9,     /* FAISS failure */
    RAGD_EINTERNAL = 10, /* a bug: an invariant did not hold */
    RAGD_ERANGE = 11,    /* a well-formed value out of its allowed range (HTTP 422) */
    RAGD_EAUTH = 12,     /* no key, or an unknown or revoked one (HTTP 401) */
    RAGD_EFORBIDDEN = 13 /* a valid key without the scope or collection (HTTP 403) */
} ragd_status;

#define RAGD_ERROR_MAX 512

#define RAGD_ERROR_FIELD_MAX 64

typedef struct {
    ragd_status code;
    char msg[RAGD_ERROR_MAX];
    char field[RAGD_ERROR_FIELD_MAX]; /* the request field at fault ("k", "filter.lang"),
                                         or "" when the error names none */
} ragd_error;

/* Reset err to RAGD_OK with an empty message. err may be NULL. */
void ragd_error_clear(ragd_error *err);

/* Set err (if not NULL) to code with a printf-style message and return code,
 * so callers can write `return ragd_error_set(err, RAGD_EINPUT, "...")`. */
ragd_status ragd_error_set(ragd_error *err, ragd_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Like ragd_error_set, also naming the request field at fault (the JSON
 * body field or CLI option without dashes; cut to RAGD_ERROR_FIELD_MAX-1). */
ragd_status ragd_error_set_field(ragd_error *err, ragd_status code, const char *field,
                                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Keep err's message; change its code and name the field at fault.
 * Returns code. */
ragd_status ragd_error_with_field(ragd_error *err, ragd_status code, const char *field);

/* Prefix the existing message of err with "<prefix>: ". Returns err->code. */
ragd_status ragd_error_prefix(ragd_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* A short stable name for a status ("input", "provider", ...). Static string. */
const char *ragd_status_name(ragd_status code);

/* The error code string of the HTTP API's error object for a status
 * ("invalid_request", "out_of_range", "not_found", "conflict",
 * "provider_unavailable", "unauthorized", "forbidden", "internal_error"):
 * the same table as api_status_code (api/routes.c, docs/http.md), so
 * `ragd CMD --json` errors carry the codes HTTP clients see. Static. */
const char *ragd_status_api_code(ragd_status code);

/* The CLI exit code for a status: 1 bad input, 2 usage, 3 provider/network,
 * 1 for everything else that failed. */
int ragd_status_exit_code(ragd_status code);

#endif
