/* cli/cmd_log.c — `ragd log` (recent answer calls) and `ragd feedback`
 * (a rating on one of them): parse, call ragd_log_list / ragd_feedback,
 * print. The log itself is written by every answer (service/ops_log.c).
 * With --store the log is the PostgreSQL store's, every node's calls (with
 * a NODE column); no cache directory is needed for it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/json.h"
#include "store/pg.h"

const cli_optdef LOG_OPTS[] = {
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},
    {"store", true,
     "postgresql://… store of record: its log, shared by every node (env RAGD_STORE)"},
    {"limit", true, "how many calls, newest first (1..1000, default 20)"},
    {"json", false, "print one JSON object to stdout (prompts and responses included)"},
    {"log-format", true, "text | json (structured log lines on stderr)"},
    {"help", false, "show this help"},
    {NULL, false, NULL}};

const cli_optdef FEEDBACK_OPTS[] = {
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},
    {"store", true,
     "postgresql://… store of record: its log, shared by every node (env RAGD_STORE)"},
    {"comment", true, "a comment to keep with the rating"},
    {"json", false, "print one JSON object to stdout"},
    {"log-format", true, "text | json (structured log lines on stderr)"},
    {"help", false, "show this help"},
    {NULL, false, NULL}};

static ragd_status open_engine(cli_args *a, ragd_engine **eng, ragd_error *e)
{
    ragd_engine_opts eo = {.slots = 1};
    return ragd_engine_open(data_dir(a), &eo, eng, e);
}

/* The shared log of --store: one pooled connection, no cache. */
static ragd_status store_log(const char *url, long limit, json_t **out, ragd_error *e)
{
    store_pg_pool *p = NULL;
    ragd_status rc = store_pg_pool_open(url, 1, &p, e);
    if (!rc) rc = store_pg_calls_list(p, limit, out, e);
    store_pg_pool_free(p);
    return rc;
}

static ragd_status store_feedback(const char *url, int64_t call, const char *rating,
                                  const char *comment, json_t **out, ragd_error *e)
{
    *out = NULL;
    if (strcmp(rating, "up") && strcmp(rating, "down"))
        return ragd_error_set_field(e, RAGD_ERANGE, "rating",
                                    "'rating' must be \"up\" or \"down\", not '%.32s'", rating);
    store_pg_pool *p = NULL;
    int64_t id = 0;
    const char *node = getenv("RAGD_NODE");
    ragd_status rc = store_pg_pool_open(url, 1, &p, e);
    if (!rc)
        rc = store_pg_feedback_add(p, node && *node ? node : "cli", call, rating, comment, &id, e);
    store_pg_pool_free(p);
    if (!rc)
        *out = json_pack("{s:I,s:I,s:s,s:s?}", "feedback_id", (json_int_t)id, "call_id",
                         (json_int_t)call, "rating", rating, "comment", comment);
    return rc;
}

int cmd_log(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos) {
        fprintf(stderr, "ragd: log: unexpected argument '%s'\n", a->pos[0]);
        return 2;
    }
    long limit = 20;
    if (cli_get_int(a, "limit", 1, 1000, &limit, &e)) return fail(cmd->name, &e);
    json_t *req = json_pack("{s:i}", "limit", (int)limit), *res = NULL;
    ragd_engine *eng = NULL;
    ragd_status rc = RAGD_OK;
    const char *url = store_url(a);
    if (url) {
        rc = store_log(url, limit, &res, &e);
    } else {
        rc = open_engine(a, &eng, &e);
        if (!rc) rc = ragd_log_list(eng, req, &res, &e);
    }
    ragd_engine_free(eng);
    json_decref(req);
    if (rc) return fail(cmd->name, &e);
    if (cli_flag(a, "json")) {
        print_json(res);
    } else {
        if (url) printf("%-24s ", "NODE");
        printf("%-7s %-20s %-10s %-20s %-20s %6s %8s %s\n", "CALL", "REQUEST", "GENERATOR", "MODEL",
               "PATH", "TOKENS", "MS", "QUESTION");
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(res, "calls"), i, c)
        {
            if (url) printf("%-24.24s ", ragd_json_str(c, "node"));
            printf("%-7lld %-20.20s %-10s %-20.20s %-20s %6lld %8.1f %s\n",
                   ragd_json_int(c, "call_id"), ragd_json_str(c, "request_id"),
                   ragd_json_str(c, "generator"), ragd_json_str(c, "model"),
                   ragd_json_str(c, "path"),
                   ragd_json_int(c, "prompt_tokens") + ragd_json_int(c, "completion_tokens"),
                   ragd_json_num(c, "latency_ms"), ragd_json_str(c, "question"));
        }
    }
    json_decref(res);
    return 0;
}

int cmd_feedback(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    char *end = NULL;
    long long id = a->npos == 2 ? strtoll(a->pos[0], &end, 10) : 0;
    if (a->npos != 2 || !end || *end || id <= 0) {
        fprintf(stderr, "ragd: feedback: usage: ragd feedback CALL_ID up|down [--comment TEXT] "
                        "(CALL_ID from 'ragd log' or an answer's call_id)\n");
        return 2;
    }
    json_t *req = json_pack("{s:I,s:s}", "call_id", (json_int_t)id, "rating", a->pos[1]),
           *res = NULL;
    if (cli_get(a, "comment"))
        json_object_set_new(req, "comment", json_string(cli_get(a, "comment")));
    ragd_engine *eng = NULL;
    ragd_status rc = RAGD_OK;
    if (store_url(a)) {
        rc = store_feedback(store_url(a), (int64_t)id, a->pos[1], cli_get(a, "comment"), &res, &e);
    } else {
        rc = open_engine(a, &eng, &e);
        if (!rc) rc = ragd_feedback(eng, req, &res, &e);
    }
    ragd_engine_free(eng);
    json_decref(req);
    if (rc) return rc == RAGD_ERANGE ? (fail(cmd->name, &e), 2) : fail(cmd->name, &e);
    if (cli_flag(a, "json"))
        print_json(res);
    else
        printf("feedback %lld recorded on call %lld: %s\n", ragd_json_int(res, "feedback_id"), id,
               ragd_json_str(res, "rating"));
    json_decref(res);
    return 0;
}
