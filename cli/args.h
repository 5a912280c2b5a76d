/* cli/args.h — command-line option parsing for `ragd CMD [options] [args]`.
 *
 * Options may appear anywhere after the command, as `--name value` or
 * `--name=value`; `--` ends options. Each command declares the options it
 * accepts; anything else is a usage error (exit 2).
 */
#ifndef RAGD_CLI_ARGS_H
#define RAGD_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/error.h"

typedef struct {
    const char *name; /* without the leading "--" */
    bool has_value;
    const char *help;
} cli_optdef;

#define CLI_MAX_OPTS 32

typedef struct {
    const cli_optdef *defs;
    const char *values[CLI_MAX_OPTS]; /* borrowed from argv; "1" for flags */
    char **pos;                       /* positional arguments (borrowed) */
    size_t npos;
} cli_args;

/* Parse argv[0..argc) against defs (terminated by a {NULL}). On success
 * out->pos is malloc'd (free with cli_args_free). */
ragd_status cli_parse(int argc, char **argv, const cli_optdef *defs, cli_args *out,
                      ragd_error *err);
void cli_args_free(cli_args *a);

/* The value of option `name`, or NULL when absent. */
const char *cli_get(const cli_args *a, const char *name);
bool cli_flag(const cli_args *a, const char *name);

/* Parse a non-negative integer option; absent -> *out untouched. */
ragd_status cli_get_int(const cli_args *a, const char *name, long min, long max, long *out,
                        ragd_error *err);

#endif
