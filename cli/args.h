/* cli/args.h — command-line option parsing for `ragd CMD [options] [args]`.
 *
 * Options may appear anywhere after the command, as `--name value` or
 * `--name=value`; `--` ends options. Each command declares the options it
 * accepts; anything else is a usage error (exit 2). An option given twice
 * keeps its last value for cli_get; cli_get_all returns every value in
 * order (repeatable options such as `--meta k=v --meta k2=v2`).
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

#define CLI_MAX_OPTS 48 /* options per command table (answer has 34); longer tables are cut */

typedef struct {
    const cli_optdef *defs;
    const char *values[CLI_MAX_OPTS]; /* borrowed from argv; "1" for flags */
    char **pos;                       /* positional arguments (borrowed) */
    size_t npos;
    const char **all; /* every option value in command-line order (borrowed) */
    int *all_def;     /* the defs index of each entry of `all` */
    size_t nall;
} cli_args;

/* Parse argv[0..argc) against defs (terminated by a {NULL}). On success
 * out->pos is malloc'd (free with cli_args_free). */
ragd_status cli_parse(int argc, char **argv, const cli_optdef *defs, cli_args *out,
                      ragd_error *err);
void cli_args_free(cli_args *a);

/* The value of option `name`, or NULL when absent. */
const char *cli_get(const cli_args *a, const char *name);
bool cli_flag(const cli_args *a, const char *name);

/* Every value given for option `name`, in command-line order: a malloc'd
 * array of *n strings borrowed from argv (caller frees the array), or NULL
 * with *n = 0 when the option is absent. */
const char **cli_get_all(const cli_args *a, const char *name, size_t *n);

/* Parse a non-negative integer option; absent -> *out untouched. */
ragd_status cli_get_int(const cli_args *a, const char *name, long min, long max, long *out,
                        ragd_error *err);

#endif
