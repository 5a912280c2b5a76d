/* cli/cli.h — what the command files of cli/ share (private to cli/).
 *
 * main.c holds the command table, help and the shared option parsers;
 * each cmd_*.c holds one group of commands. Every command parses its
 * options, calls the library (service/ragd.h or the module it names), and
 * prints. Thread-safety: the CLI is single-threaded.
 */
#ifndef RAGD_CLI_CLI_H
#define RAGD_CLI_CLI_H

#include <jansson.h>

#include "cli/args.h"
#include "provider/collection.h"
#include "provider/generator.h"
#include "provider/rerank.h"
#include "retrieve/retrieve.h"
#include "service/ragd.h"

typedef struct command command;
typedef int (*command_fn)(const command *cmd, cli_args *a);

struct command {
    const char *name;
    const char *args;
    const char *summary;
    command_fn run;
    const cli_optdef *opts;
};

#define EMBED_OPTS                                                                                 \
    {"embedder-url", true, "embedding server base URL (env RAGD_EMBEDDER_URL)"},                   \
        {"embedder-fallback", true, "comma-separated fallback URLs serving the same model"},       \
        {"embedder-timeout", true, "seconds per embedding call (default 30)"},                     \
    {                                                                                              \
        "embedder-cost", true, "cost per 1,000 embedding tokens, for usage reports"                \
    }

#define COMMON_OPTS                                                                                \
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},                         \
        {"collection", true, "collection name (default 'default')"},                               \
        {"json", false, "print one JSON object to stdout"},                                        \
        {"log-format", true, "text | json (structured log lines on stderr)"},                      \
        {"store", true,                                                                            \
         "postgresql://… store of record; --data is then its cache (env RAGD_STORE)"},             \
    {                                                                                              \
        "help", false, "show this help"                                                            \
    }

/* Options that tune the search pipeline, shared by search/context/answer and
 * eval so calibration runs and user queries take the same settings. */
#define SEARCH_TUNING_OPTS                                                                         \
    {"mode", true, "hybrid (default) | dense | lexical"},                                          \
        {"fusion", true, "score (default) | rrf"},                                                 \
        {"rrf-k", true, "reciprocal rank fusion constant (default 60)"},                           \
        {"w-lexical", true, "hybrid fusion weight of lexical results, in percent (default 100)"},  \
        {"w-dense", true, "hybrid fusion weight of dense results, in percent (default 30)"},       \
        {"min-evidence", true,                                                                     \
         "validation gate: evidence some top result needs, percent (default 70; lexical 50)"},     \
        {"min-support", true, "validation: evidence every result needs, percent (default 20)"},    \
        {"cosine-floor", true,                                                                     \
         "validation: cosine below which dense similarity is no evidence, percent (default 15)"},  \
    {                                                                                              \
        "mmr", true,                                                                               \
            "diversity: MMR lambda in percent, 100 = relevance only (default: search 100, "        \
            "context 80)"                                                                          \
    }

/* The optional rerank provider (provider/rerank.h), for search/context/answer
 * and eval. */
#define RERANK_OPTS                                                                                \
    {"reranker-url", true,                                                                         \
     "rerank server base URL; POST URL/rerank (env RAGD_RERANKER_URL; default: no rerank)"},       \
        {"reranker-model", true,                                                                   \
         "rerank model (env RAGD_RERANKER_MODEL; required by Cohere and Jina, none for TEI)"},     \
        {"reranker-protocol", true,                                                                \
         "tei | cohere request shape (default: cohere with a model, tei without)"},                \
        {"reranker-timeout", true, "seconds per rerank call (default 10)"},                        \
        {"rerank-depth", true, "best fused candidates sent to the reranker (default 50)"},         \
    {                                                                                              \
        "min-rerank", true,                                                                        \
            "drop results whose rerank score is below this number (server scale; default none)"    \
    }

/* Errors. fail prints `ragd: what: message` on stderr (`ragd: message`
 * when what is NULL) and, once cli_set_json_errors(true) was called (the
 * command has --json), also {"error":{"code","message","field"?}} on
 * stdout — the HTTP API's error object and codes (ragd_status_api_code);
 * it returns the error's exit code. fail_msg builds the error first.
 * cli_error_json is that object (new reference), for a command that puts
 * it into its own JSON output; fail_text then prints only the stderr line.
 * The JSON switch is process configuration, set once by main. */
void cli_set_json_errors(bool on);
int fail(const char *what, const ragd_error *e);
int fail_text(const char *what, const ragd_error *e);
int fail_msg(ragd_status code, const char *what, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
json_t *cli_error_json(const char *what, const ragd_error *e);
void print_json(json_t *j);
const char *data_dir(const cli_args *a);
const char *coll_name(const cli_args *a);
const char *opt_or_env(const cli_args *a, const char *opt, const char *env);
/* --store or RAGD_STORE (NULL: the SQLite store in --data). */
const char *store_url(const cli_args *a);
ragd_status embed_choice_from_args(const cli_args *a, embed_choice *c, ragd_error *e);
ragd_status generator_limits_from_args(const cli_args *a, long *timeout, double *cost,
                                       ragd_error *e);
ragd_status reranker_from_args(const cli_args *a, search_opts *so, ragd_reranker **out,
                               ragd_error *e);
ragd_status search_tuning_from_args(const cli_args *a, search_opts *so, ragd_error *e);
ragd_status engine_opts_from_args(const cli_args *a, bool create, ragd_engine_opts *o,
                                  ragd_error *e);
ragd_status generators_from_args(const cli_args *a, generator_config cfg[8], size_t *n,
                                 char **models_buf, ragd_error *e);
/* engine_opts_from_args + generators_from_args + the answer settings; *models
 * is the caller's to free, also on failure (see cmd_query.c). */
ragd_status engine_opts_for_answers(const cli_args *a, bool create, ragd_engine_opts *o,
                                    generator_config gens[RAGD_MAX_GENERATORS], char **models,
                                    ragd_error *e);

/* Commands outside main.c and their option tables. */
int cmd_search(const command *cmd, cli_args *a);
int cmd_context(const command *cmd, cli_args *a);
int cmd_answer(const command *cmd, cli_args *a);
int cmd_eval(const command *cmd, cli_args *a);
int cmd_serve(const command *cmd, cli_args *a);
int cmd_keys(const command *cmd, cli_args *a);
int cmd_mcp(const command *cmd, cli_args *a);
extern const cli_optdef SEARCH_OPTS[], ANSWER_OPTS[], EVAL_OPTS[], SERVE_OPTS[], KEYS_OPTS[],
    MCP_OPTS[];
int cmd_log(const command *cmd, cli_args *a);
int cmd_feedback(const command *cmd, cli_args *a);
extern const cli_optdef LOG_OPTS[], FEEDBACK_OPTS[];
extern const cli_optdef SEARCH_OPTS[], ANSWER_OPTS[], EVAL_OPTS[], SERVE_OPTS[], KEYS_OPTS[];

#endif
