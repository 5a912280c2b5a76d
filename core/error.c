/* core/error.c — see error.h. */
#include "core/error.h"

#include <stdio.h>
#include <string.h>

void ragd_error_clear(ragd_error *err)
{
    if (!err) return;
    err->code = RAGD_OK;
    err->msg[0] = '\0';
    err->field[0] = '\0';
}

ragd_status ragd_error_set(ragd_error *err, ragd_status code, const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    err->field[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

ragd_status ragd_error_set_field(ragd_error *err, ragd_status code, const char *field,
                                 const char *fmt, ...)
{
    if (!err) return code;
    err->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    return code;
}

ragd_status ragd_error_with_field(ragd_error *err, ragd_status code, const char *field)
{
    if (!err) return code;
    err->code = code;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    return code;
}

ragd_status ragd_error_prefix(ragd_error *err, const char *fmt, ...)
{
    if (!err) return RAGD_EINTERNAL;
    char prefix[RAGD_ERROR_MAX];
    char old[RAGD_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, err->msg, sizeof old);
    /* Truncation is fine here: messages are bounded by design. */
    size_t pl = strlen(prefix);
    if (pl > sizeof err->msg - 3) pl = sizeof err->msg - 3;
    memcpy(err->msg, prefix, pl);
    memcpy(err->msg + pl, ": ", 2);
    size_t room = sizeof err->msg - pl - 3, ol = strlen(old);
    if (ol > room) ol = room;
    memcpy(err->msg + pl + 2, old, ol);
    err->msg[pl + 2 + ol] = '\0';
    return err->code;
}

const char *ragd_status_name(ragd_status code)
{
    switch (code) {
    case RAGD_OK:
        return "ok";
    case RAGD_EINPUT:
        return "input";
    case RAGD_EUSAGE:
        return "usage";
    case RAGD_EPROVIDER:
        return "provider";
    case RAGD_ENOTFOUND:
        return "not_found";
    case RAGD_EIO:
        return "io";
    case RAGD_ESTORE:
        return "store";
    case RAGD_ENOMEM:
        return "nomem";
    case RAGD_ECONFLICT:
        return "conflict";
    case RAGD_EINDEX:
        return "index";
    case RAGD_EINTERNAL:
        return "internal";
    case RAGD_ERANGE:
        return "out_of_range";
    case RAGD_EAUTH:
        return "unauthorized";
    case RAGD_EFORBIDDEN:
        return "forbidden";
    }
    return "unknown";
}

const char *ragd_status_api_code(ragd_status code)
{
    switch (code) {
    case RAGD_EINPUT:
    case RAGD_EUSAGE:
        return "invalid_request";
    case RAGD_ERANGE:
        return "out_of_range";
    case RAGD_ENOTFOUND:
        return "not_found";
    case RAGD_ECONFLICT:
        return "conflict";
    case RAGD_EPROVIDER:
        return "provider_unavailable";
    case RAGD_EAUTH:
        return "unauthorized";
    case RAGD_EFORBIDDEN:
        return "forbidden";
    default:
        return "internal_error";
    }
}

int ragd_status_exit_code(ragd_status code)
{
    switch (code) {
    case RAGD_OK:
        return 0;
    case RAGD_EUSAGE:
        return 2;
    case RAGD_EPROVIDER:
        return 3;
    default:
        return 1;
    }
}
