/* core/log.c — see log.h. */
#include "core/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "core/buf.h"

static log_format g_format = LOG_FORMAT_TEXT;
static log_level g_min = LOG_INFO;

void log_configure(log_format fmt, log_level min)
{
    g_format = fmt;
    g_min = min;
}

int log_is_json(void)
{
    return g_format == LOG_FORMAT_JSON;
}

static const char *level_name(log_level l)
{
    switch (l) {
    case LOG_DEBUG:
        return "debug";
    case LOG_INFO:
        return "info";
    case LOG_WARN:
        return "warning";
    case LOG_ERROR:
        return "error";
    }
    return "info";
}

void log_write(log_level level, const char *msg, ...)
{
    if (level < g_min) return;
    va_list ap;
    va_start(ap, msg);
    if (g_format == LOG_FORMAT_JSON) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        char tbuf[64];
        struct tm tm;
        gmtime_r(&ts.tv_sec, &tm);
        snprintf(tbuf, sizeof tbuf, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900,
                 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
        json_t *o = json_object();
        json_object_set_new(o, "ts", json_string(tbuf));
        json_object_set_new(o, "level", json_string(level_name(level)));
        json_object_set_new(o, "msg", json_string(msg));
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            json_object_set_new(o, k, json_string(v ? v : ""));
        }
        char *line = json_dumps(o, JSON_COMPACT);
        if (line) fprintf(stderr, "%s\n", line);
        free(line);
        json_decref(o);
    } else {
        ragd_buf b = RAGD_BUF_INIT;
        ragd_buf_printf(&b, "ragd: %s%s%s", level >= LOG_WARN ? level_name(level) : "",
                        level >= LOG_WARN ? ": " : "", msg);
        const char *k;
        while ((k = va_arg(ap, const char *)) != NULL) {
            const char *v = va_arg(ap, const char *);
            ragd_buf_printf(&b, " %s=%s", k, v ? v : "");
        }
        fprintf(stderr, "%s\n", ragd_buf_str(&b));
        ragd_buf_free(&b);
    }
    va_end(ap);
}
