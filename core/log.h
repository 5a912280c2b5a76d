/* core/log.h — structured logging to stderr.
 *
 * Two formats: "text" (`ragd: warning: msg key=value`) and "json" (one JSON
 * object per line: {"ts","level","msg",...fields}). The format and minimum
 * level are process configuration, set once at start-up by the front-end
 * (log_configure) before any threads start; that is the only global state.
 *
 * Thread-safety: log_write may be called from any thread (one fprintf per
 * line, which stdio locks).
 */
#ifndef RAGD_CORE_LOG_H
#define RAGD_CORE_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 } log_level;
typedef enum { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 } log_format;

/* Set the output format and minimum level. Call before starting threads. */
void log_configure(log_format fmt, log_level min);

/* True when the configured format is JSON lines. */
int log_is_json(void);

/* Log msg with optional string fields given as NULL-terminated key, value
 * pairs: log_write(LOG_WARN, "skipped file", "file", path, "reason", why, NULL). */
void log_write(log_level level, const char *msg, ...);

#endif
