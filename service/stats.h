/* service/stats.h — provider call counters owned by the engine (private to
 * service/), for /metrics: calls, errors, prompt and completion tokens and
 * cost of the providers, by role (generate: answer generation; embed: the
 * query embedding of a search), kind (openai, ollama, local) and model.
 *
 * An answer adds its calls once it is done (provider_stats_add_answer
 * reads its check.steps: one entry per call, with the model and whether it
 * succeeded; the tokens and cost of the answer go to the model that wrote
 * it). At most PROVIDER_STATS_MAX (role, kind, model) rows are kept; calls of
 * later pairs are counted under model "other".
 *
 * Ownership: provider_stats_new / provider_stats_free. Thread-safety: every
 * function may be called from any thread (one mutex).
 */
#ifndef RAGD_SERVICE_STATS_H
#define RAGD_SERVICE_STATS_H

#include <jansson.h>

#include "provider/generator.h"

typedef struct provider_stats provider_stats;

#define PROVIDER_STATS_MAX 64

provider_stats *provider_stats_new(void);
void provider_stats_free(provider_stats *p);

/* Add n calls (errors of them failed) with their tokens and cost to the
 * (role, kind, model) row; role is "generate" or "embed". */
void provider_stats_add(provider_stats *p, const char *role, const char *kind, const char *model,
                        long calls, long errors, long ptok, long ctok, double cost);

/* One answer's generation calls: kind of its generators, its check.steps,
 * the model that wrote the answer (NULL: none) and its summed usage. */
void provider_stats_add_answer(provider_stats *p, const char *kind, const json_t *steps,
                               const char *model, const gen_usage *u);

/* [{"role","kind","model","calls","errors","prompt_tokens","completion_tokens","cost"}]. */
json_t *provider_stats_json(provider_stats *p);

#endif
