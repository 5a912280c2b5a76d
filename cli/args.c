/* cli/args.c — see args.h. */
#include "cli/args.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

ragd_status cli_parse(int argc, char **argv, const cli_optdef *defs, cli_args *out, ragd_error *err)
{
    memset(out, 0, sizeof *out);
    out->defs = defs;
    out->pos = ragd_xcalloc((size_t)argc + 1, sizeof *out->pos);
    out->all = ragd_xcalloc((size_t)argc + 1, sizeof *out->all);
    out->all_def = ragd_xcalloc((size_t)argc + 1, sizeof *out->all_def);
    bool opts_done = false;
    for (int i = 0; i < argc; i++) {
        char *a = argv[i];
        if (opts_done || a[0] != '-' || a[1] != '-' || a[2] == '\0') {
            if (!opts_done && !strcmp(a, "--")) {
                opts_done = true;
                continue;
            }
            out->pos[out->npos++] = a;
            continue;
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        int found = -1;
        for (int d = 0; defs[d].name && d < CLI_MAX_OPTS; d++)
            if (strlen(defs[d].name) == nlen && !strncmp(defs[d].name, name, nlen)) found = d;
        if (found < 0) {
            char f[RAGD_ERROR_FIELD_MAX];
            snprintf(f, sizeof f, "%.*s", (int)(nlen < sizeof f ? nlen : sizeof f - 1), name);
            ragd_error_set_field(err, RAGD_EUSAGE, f, "unknown option '--%.*s'", (int)nlen, name);
            cli_args_free(out);
            return RAGD_EUSAGE;
        }
        if (defs[found].has_value) {
            if (eq) {
                out->values[found] = eq + 1;
            } else if (i + 1 < argc) {
                out->values[found] = argv[++i];
            } else {
                ragd_error_set_field(err, RAGD_EUSAGE, defs[found].name,
                                     "option '--%s' needs a value", defs[found].name);
                cli_args_free(out);
                return RAGD_EUSAGE;
            }
        } else {
            if (eq) {
                ragd_error_set_field(err, RAGD_EUSAGE, defs[found].name,
                                     "option '--%s' takes no value", defs[found].name);
                cli_args_free(out);
                return RAGD_EUSAGE;
            }
            out->values[found] = "1";
        }
        out->all[out->nall] = out->values[found];
        out->all_def[out->nall++] = found;
    }
    return RAGD_OK;
}

void cli_args_free(cli_args *a)
{
    free(a->pos);
    a->pos = NULL;
    a->npos = 0;
    free(a->all);
    free(a->all_def);
    a->all = NULL;
    a->all_def = NULL;
    a->nall = 0;
}

const char *cli_get(const cli_args *a, const char *name)
{
    for (int d = 0; a->defs[d].name && d < CLI_MAX_OPTS; d++)
        if (!strcmp(a->defs[d].name, name)) return a->values[d];
    return NULL;
}

bool cli_flag(const cli_args *a, const char *name)
{
    return cli_get(a, name) != NULL;
}

const char **cli_get_all(const cli_args *a, const char *name, size_t *n)
{
    *n = 0;
    int def = -1;
    for (int d = 0; a->defs[d].name && d < CLI_MAX_OPTS; d++)
        if (!strcmp(a->defs[d].name, name)) def = d;
    if (def < 0) return NULL;
    const char **v = NULL;
    for (size_t i = 0; i < a->nall; i++)
        if (a->all_def[i] == def) {
            if (!v) v = ragd_xcalloc(a->nall, sizeof *v);
            v[(*n)++] = a->all[i];
        }
    return v;
}

ragd_status cli_get_int(const cli_args *a, const char *name, long min, long max, long *out,
                        ragd_error *err)
{
    const char *v = cli_get(a, name);
    if (!v) return RAGD_OK;
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        return ragd_error_set_field(err, RAGD_EUSAGE, name,
                                    "--%s must be an integer in %ld..%ld, not '%s'", name, min, max,
                                    v);
    *out = x;
    return RAGD_OK;
}
