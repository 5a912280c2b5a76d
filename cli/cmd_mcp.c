/* cli/cmd_mcp.c — `ragd mcp`: the MCP server on stdio (docs/compat.md, "MCP").
 *
 * The stdio transport of MCP: one JSON-RPC message per line on stdin, one
 * reply per line on stdout, flushed after each; stdout carries nothing but
 * protocol messages (logs, including the start line, go to stderr). Each
 * line is handed to the transport-independent core (api/mcp.h) with a
 * local caller, who has every scope: whoever can start the process can
 * read the data directory anyway. Messages are handled one at a time, in
 * order; EOF on stdin ends the server with exit status 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/mcp.h"
#include "cli/cli.h"
#include "core/json.h"
#include "core/log.h"

const cli_optdef MCP_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"embedder", true, "embedder kind for a collection add_document creates (default local)"},
    {"embedder-model", true, "embedding model for a collection add_document creates"},
    RERANK_OPTS,
    {"generator", true, "extractive (default) | openai | ollama: the answer tool's generator"},
    {"generator-url", true, "generation server base URL (env RAGD_GENERATOR_URL)"},
    {"generator-model", true, "model name, or M1,M2,... tried in order (env RAGD_GENERATOR_MODEL)"},
    {"generator-timeout", true, "seconds per generation attempt (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"prompt-template", true, "prompt template file overriding the built-in one"},
    {NULL, false, NULL}};

static void send_line(json_t *msg)
{
    char *s = json_dumps(msg, RAGD_JSON_DUMP_FLAGS);
    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        fflush(stdout);
    }
    free(s);
}

int cmd_mcp(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos) {
        fprintf(stderr, "ragd: mcp: unexpected argument '%s'\n", a->pos[0]);
        return 2;
    }
    ragd_engine_opts eo;
    generator_config gens[RAGD_MAX_GENERATORS];
    char *models = NULL;
    if (engine_opts_for_answers(a, true, &eo, gens, &models, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    ragd_engine *eng = NULL;
    if (ragd_engine_open(data_dir(a), &eo, &eng, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    log_write(LOG_INFO, "mcp: serving on stdio", "data", data_dir(a), "collection", coll_name(a),
              "protocol", MCP_PROTOCOL_VERSION, NULL);
    mcp_ctx ctx = {.eng = eng, .who = NULL, .collection = coll_name(a)};
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, stdin)) >= 0) {
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        if (!n) continue;
        json_t *msg = NULL;
        mcp_outcome out;
        mcp_handle_text(&ctx, line, (size_t)n, &msg, &out);
        if (out.reply) send_line(out.reply);
        json_decref(out.reply);
        json_decref(msg);
    }
    free(line);
    ragd_engine_free(eng);
    free(models);
    return 0;
}
