/* cli/cmd_serve.c — `ragd serve` (the HTTP API, api/server.h) and `ragd keys`
 * (API keys, service/ragd.h). */
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "store/pg.h"
#include "core/buf.h"
#include "core/json.h"
#include "core/log.h"
#include "ingest/ingest.h"
#include "retrieve/engine.h"
#include "retrieve/eval.h"
#include "answer/answer.h"
#include "api/server.h"

/* --- serve ------------------------------------------------------------------------- */

const cli_optdef SERVE_OPTS[] = {
    COMMON_OPTS,
    EMBED_OPTS,
    {"embedder", true, "embedder kind for collections created over HTTP (default local)"},
    {"embedder-model", true, "embedding model for collections created over HTTP"},
    RERANK_OPTS,
    {"listen", true, "HOST:PORT to listen on (default 127.0.0.1:8080; port 0 = any free port)"},
    {"threads", true, "worker threads (default: online CPUs)"},
    {"store-read", true,
     "postgresql://… streaming replica of --store the index sync reads from (env "
     "RAGD_STORE_READ; writes still go to --store)"},
    {"store-pool", true,
     "with --store: PostgreSQL connections this node opens at most (1..64; env "
     "RAGD_STORE_POOL, default 4)"},
    {"node", true,
     "with --store: this node's name in the shared call log (env RAGD_NODE; "
     "default HOST:PID)"},
    {"max-body", true, "largest request body in bytes (default 33554432 = 32 MiB)"},
    {"max-connections", true, "open connections at once (default 256)"},
    {"timeout", true, "seconds an idle connection is kept (default 30)"},
    {"drain", true, "seconds to let requests finish on SIGTERM/SIGINT (default 10)"},
    {"cors-origin", true, "allow this browser origin (default: no CORS headers)"},
    {"mcp-allow-origin", true,
     "a browser Origin allowed to call /mcp (repeatable; '*' = any; default: none but "
     "--cors-origin)"},
    {"insecure-no-auth", false, "allow listening on a non-loopback address without API keys"},
    {"ready-file", true, "write HOST:PORT to this file once listening"},
    {"generator", true, "extractive (default) | openai | ollama: answers' generation provider"},
    {"generator-url", true, "generation server base URL (env RAGD_GENERATOR_URL)"},
    {"generator-model", true, "model name, or M1,M2,... tried in order (env RAGD_GENERATOR_MODEL)"},
    {"generator-timeout", true, "seconds per generation attempt (default 60)"},
    {"generator-cost", true, "cost per 1,000 generation tokens, for usage reports"},
    {"prompt-template", true, "prompt template file overriding the built-in one"},
    {"generator-route", true,
     "small=M1,large=M2: one-document contexts of <= 600 tokens to M1, others to M2"},
    {"cache-size", true, "search and answer results kept in memory (default 1024; 0 = off)"},
    {"cache-ttl", true, "seconds a cached result lives (default 300)"},
    {"breaker-failures", true,
     "failed provider attempts in a row that open its circuit breaker (default 5; 0 = off)"},
    {"breaker-cooldown", true,
     "seconds an open breaker fails calls at once before one probe (default 5)"},
    {"log-redact", false,
     "remove e-mail addresses, phone and card numbers from the answer call log"},
    {"no-call-log", false, "do not write answers to the call log (call_id is then null)"},
    {"rate-limit", true,
     "requests per second per API key (or client address) (default 50; 0 = off)"},
    {"rate-burst", true,
     "requests a client may send at once before the rate applies (default 2 x rate)"},
    {NULL, false, NULL}};

int cmd_serve(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    if (a->npos) {
        return fail_msg(RAGD_EUSAGE, "serve", "unexpected argument '%s'", a->pos[0]);
    }
    api_server_opts so = {0};
    char host[64] = "127.0.0.1";
    so.port = 8080;
    const char *listen = cli_get(a, "listen");
    if (listen) {
        const char *colon = strrchr(listen, ':');
        char *end = NULL;
        long port = colon ? strtol(colon + 1, &end, 10) : -1;
        if (!colon || colon == listen || (size_t)(colon - listen) >= sizeof host || !end || *end ||
            end == colon + 1 || port < 0 || port > 65535) {
            fprintf(stderr,
                    "ragd: serve: --listen must be HOST:PORT (e.g. 127.0.0.1:8080), not '%s'\n",
                    listen);
            return 2;
        }
        snprintf(host, sizeof host, "%.*s", (int)(colon - listen), listen);
        so.port = (int)port;
    }
    so.host = host;
    long threads = 0, maxb = 0, maxc = 0, timeout = 0, drain = 0;
    if (cli_get_int(a, "threads", 1, 256, &threads, &e) ||
        cli_get_int(a, "max-body", 1024, 1L << 30, &maxb, &e) ||
        cli_get_int(a, "max-connections", 1, 100000, &maxc, &e) ||
        cli_get_int(a, "timeout", 1, 3600, &timeout, &e) ||
        cli_get_int(a, "drain", 1, 3600, &drain, &e))
        return fail(cmd->name, &e);
    so.threads = (int)threads;
    so.max_body = (size_t)maxb;
    so.max_connections = (int)maxc;
    so.timeout_s = (int)timeout;
    so.drain_s = (double)drain;
    so.cors_origin = cli_get(a, "cors-origin");
    so.insecure_no_auth = cli_flag(a, "insecure-no-auth");
    so.ready_file = cli_get(a, "ready-file");
    long rate = 50, burst = 0;
    if (cli_get_int(a, "rate-limit", 0, 1000000, &rate, &e) ||
        cli_get_int(a, "rate-burst", 1, 10000000, &burst, &e))
        return fail(cmd->name, &e);
    so.rate_limit = (double)rate;
    so.rate_burst = (double)burst;
    ragd_engine_opts eo;
    generator_config gens[RAGD_MAX_GENERATORS];
    char *models = NULL;
    if (engine_opts_for_answers(a, true, &eo, gens, &models, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    long cache_size = RAGD_SERVE_CACHE_SIZE, cache_ttl = (long)RAGD_SERVE_CACHE_TTL_S;
    if (cli_get_int(a, "cache-size", 0, 1000000, &cache_size, &e) ||
        cli_get_int(a, "cache-ttl", 1, 30L * 86400, &cache_ttl, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    eo.cache_size = (size_t)cache_size;
    eo.cache_ttl_s = (double)cache_ttl;
    long br_fail = BREAKER_DEFAULT_FAILURES, br_cool = (long)BREAKER_DEFAULT_COOLDOWN_S;
    if (cli_get_int(a, "breaker-failures", 0, 1000000, &br_fail, &e) ||
        cli_get_int(a, "breaker-cooldown", 1, 3600, &br_cool, &e)) {
        free(models);
        return fail(cmd->name, &e);
    }
    eo.breaker_failures = br_fail ? (int)br_fail : -1;
    eo.breaker_cooldown_s = (double)br_cool;
    size_t norigins = 0;
    const char **origins = cli_get_all(a, "mcp-allow-origin", &norigins);
    if (norigins > API_MAX_MCP_ORIGINS) {
        fprintf(stderr, "ragd: serve: at most %d --mcp-allow-origin options\n",
                API_MAX_MCP_ORIGINS);
        free(origins);
        free(models);
        return 2;
    }
    so.mcp_origins = origins;
    so.n_mcp_origins = norigins;
    eo.follow = true;
    const char *pool = opt_or_env(a, "store-pool", "RAGD_STORE_POOL");
    if (pool) {
        char *end = NULL;
        long n = strtol(pool, &end, 10);
        if (!*pool || *end || n < 1 || n > STORE_PG_POOL_MAX) {
            fprintf(stderr, "ragd: serve: --store-pool (RAGD_STORE_POOL) must be 1..%d, not '%s'\n",
                    STORE_PG_POOL_MAX, pool);
            free(origins);
            free(models);
            return 2;
        }
        eo.store_pool = (size_t)n;
    }
    eo.store_read_url = opt_or_env(a, "store-read", "RAGD_STORE_READ");
    eo.node = cli_get(a, "node");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    eo.slots = (size_t)(threads ? threads : (ncpu > 0 ? ncpu : 1)) + 1;
    ragd_engine *eng = NULL;
    ragd_status rc = ragd_engine_open(data_dir(a), &eo, &eng, &e);
    if (!rc) rc = api_serve(eng, &so, &e);
    ragd_engine_free(eng);
    free(models);
    free(origins);
    return rc ? fail(cmd->name, &e) : 0;
}

/* --- keys --------------------------------------------------------------------------- */

const cli_optdef KEYS_OPTS[] = {
    {"data", true, "data directory (env RAGD_DATA, default ./ragd-data)"},
    {"store", true, "postgresql://… store of record; --data is then its cache (env RAGD_STORE)"},
    {"collection", true, "create: a collection the key covers (repeatable; default: every one)"},
    {"scope", true, "create: read | write | admin (admin also creates and deletes collections)"},
    {"name", true, "create: a name to recognise the key by"},
    {"json", false, "print one JSON object to stdout"},
    {"log-format", true, "text | json (structured log lines on stderr)"},
    {"help", false, "show this help"},
    {NULL, false, NULL}};

int cmd_keys(const command *cmd, cli_args *a)
{
    ragd_error e;
    ragd_error_clear(&e);
    const char *sub = a->npos ? a->pos[0] : "";
    bool create = !strcmp(sub, "create"), list = !strcmp(sub, "list"),
         revoke = !strcmp(sub, "revoke");
    if (!create && !list && !revoke) {
        return fail_msg(RAGD_EUSAGE, "keys",
                        "usage: ragd keys create --scope read|write|admin "
                        "[--collection C]... [--name N] | list | revoke ID");
    }
    if ((create || list) && a->npos != 1) {
        return fail_msg(RAGD_EUSAGE, create ? "keys create" : "keys list",
                        "unexpected argument '%s'", a->pos[1]);
    }
    long long id = 0;
    if (revoke) {
        char *end = NULL;
        id = a->npos == 2 ? strtoll(a->pos[1], &end, 10) : 0;
        if (a->npos != 2 || !end || *end || id <= 0) {
            return fail_msg(RAGD_EUSAGE, "keys revoke",
                            "expected one key ID (see 'ragd keys list')");
        }
    }
    json_t *req = NULL;
    if (create) {
        if (!cli_get(a, "scope")) {
            return fail_msg(RAGD_EUSAGE, "keys create", "--scope read|write|admin is required");
        }
        req = json_pack("{s:s,s:s}", "scope", cli_get(a, "scope"), "name",
                        cli_get(a, "name") ? cli_get(a, "name") : "");
        size_t n = 0;
        const char **colls = cli_get_all(a, "collection", &n);
        if (n) {
            json_t *arr = json_array();
            for (size_t i = 0; i < n; i++)
                json_array_append_new(arr, json_string(colls[i]));
            json_object_set_new(req, "collections", arr);
        }
        free(colls);
    }
    ragd_engine_opts eo = {.slots = 1, .create = create, .store_url = store_url(a)};
    ragd_engine *eng = NULL;
    json_t *res = NULL;
    ragd_status rc = ragd_engine_open(data_dir(a), &eo, &eng, &e);
    if (!rc)
        rc = create ? ragd_keys_create(eng, req, &res, &e)
             : list ? ragd_keys_list(eng, &res, &e)
                    : ragd_key_revoke(eng, id, &res, &e);
    ragd_engine_free(eng);
    json_decref(req);
    if (rc) {
        char what[32];
        snprintf(what, sizeof what, "%s %s", cmd->name, sub);
        return fail(what, &e);
    }
    if (cli_flag(a, "json")) {
        print_json(res);
    } else if (create) {
        printf("%s\n", ragd_json_str(res, "key"));
        fprintf(stderr, "ragd: key %lld (%s) created; it is shown only now: store it safely\n",
                ragd_json_int(res, "id"), ragd_json_str(res, "scope"));
    } else if (list) {
        printf("%-6s %-7s %-20s %-12s %s\n", "ID", "SCOPE", "NAME", "STATE", "COLLECTIONS");
        size_t i;
        json_t *k;
        json_array_foreach(json_object_get(res, "keys"), i, k)
        {
            json_t *cs = json_object_get(k, "collections");
            ragd_buf b = RAGD_BUF_INIT;
            size_t j;
            json_t *c;
            json_array_foreach(cs, j, c)
                ragd_buf_printf(&b, "%s%s", j ? "," : "", json_string_value(c));
            printf("%-6lld %-7s %-20s %-12s %s\n", ragd_json_int(k, "id"),
                   ragd_json_str(k, "scope"), ragd_json_str(k, "name"),
                   json_is_null(json_object_get(k, "revoked_at")) ? "active" : "revoked",
                   json_is_array(cs) ? (b.data ? b.data : "") : "(all)");
            ragd_buf_free(&b);
        }
    } else {
        printf("revoked key %lld\n", id);
    }
    json_decref(res);
    return 0;
}
