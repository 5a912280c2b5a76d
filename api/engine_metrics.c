/* api/engine_metrics.c — the engine's counters (ragd_engine_stats: result
 * cache, generation providers) as Prometheus text for GET /metrics. Pure
 * formatting (series by role, kind and model): the counting is the engine's (service/cache.c,
 * service/stats.c). Model names are label values: '\\', '"' and line
 * breaks are escaped as the text format requires.
 */
#include <string.h>

#include "api/metrics.h"

static void label(ragd_buf *b, const char *s)
{
    for (; s && *s; s++) {
        if (*s == '\\' || *s == '"')
            ragd_buf_putc(b, '\\'), ragd_buf_putc(b, *s);
        else if (*s == '\n')
            ragd_buf_puts(b, "\\n");
        else
            ragd_buf_putc(b, *s);
    }
}

static long long num(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}

void api_metrics_engine(ragd_buf *b, const json_t *stats)
{
    const json_t *c = json_object_get(stats, "cache");
    static const char *const KINDS[] = {"search", "answer", NULL};
    ragd_buf_puts(b, "# HELP ragd_cache_hits_total Result cache hits (no provider call).\n"
                     "# TYPE ragd_cache_hits_total counter\n");
    for (int i = 0; KINDS[i]; i++)
        ragd_buf_printf(b, "ragd_cache_hits_total{kind=\"%s\"} %lld\n", KINDS[i],
                        num(json_object_get(c, KINDS[i]), "hits"));
    ragd_buf_puts(b, "# HELP ragd_cache_misses_total Result cache misses.\n"
                     "# TYPE ragd_cache_misses_total counter\n");
    for (int i = 0; KINDS[i]; i++)
        ragd_buf_printf(b, "ragd_cache_misses_total{kind=\"%s\"} %lld\n", KINDS[i],
                        num(json_object_get(c, KINDS[i]), "misses"));
    ragd_buf_printf(b,
                    "# HELP ragd_cache_entries Results in the cache now.\n"
                    "# TYPE ragd_cache_entries gauge\nragd_cache_entries %lld\n"
                    "# HELP ragd_cache_evictions_total Entries pushed out by newer ones.\n"
                    "# TYPE ragd_cache_evictions_total counter\nragd_cache_evictions_total %lld\n",
                    num(c, "entries"), num(c, "evictions"));

    static const struct {
        const char *metric, *key, *help, *type;
    } P[] = {
        {"ragd_provider_calls_total", "calls", "Provider calls that succeeded.", "counter"},
        {"ragd_provider_errors_total", "errors", "Provider calls that failed (after retries).",
         "counter"},
        {"ragd_provider_prompt_tokens_total", "prompt_tokens", "Prompt tokens sent.", "counter"},
        {"ragd_provider_completion_tokens_total", "completion_tokens",
         "Completion tokens received.", "counter"},
        {"ragd_provider_cost_total", "cost", "Cost (--generator-cost per 1,000 tokens).",
         "counter"},
    };
    const json_t *rows = json_object_get(stats, "providers");
    for (size_t k = 0; k < sizeof P / sizeof *P; k++) {
        ragd_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", P[k].metric, P[k].help, P[k].metric,
                        P[k].type);
        size_t i;
        json_t *r;
        json_array_foreach(rows, i, r)
        {
            ragd_buf_printf(b, "%s{role=\"", P[k].metric);
            label(b, json_string_value(json_object_get(r, "role")));
            ragd_buf_puts(b, "\",kind=\"");
            label(b, json_string_value(json_object_get(r, "kind")));
            ragd_buf_puts(b, "\",model=\"");
            label(b, json_string_value(json_object_get(r, "model")));
            json_t *v = json_object_get(r, P[k].key);
            if (json_is_real(v))
                ragd_buf_printf(b, "\"} %.6f\n", json_real_value(v));
            else
                ragd_buf_printf(b, "\"} %lld\n", (long long)json_integer_value(v));
        }
    }
}
