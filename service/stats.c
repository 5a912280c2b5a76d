/* service/stats.c — provider call counters (see stats.h): a small array of
 * (kind, model) rows behind a mutex, searched linearly. */
#include "service/stats.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

typedef struct {
    char role[12];
    char kind[16];
    char model[128];
    long calls, errors, ptok, ctok;
    double cost;
} row;

struct provider_stats {
    pthread_mutex_t mu;
    row rows[PROVIDER_STATS_MAX];
    size_t n;
};

provider_stats *provider_stats_new(void)
{
    provider_stats *p = ragd_xcalloc(1, sizeof *p);
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

void provider_stats_free(provider_stats *p)
{
    if (!p) return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* The row of (role, kind, model), created when new; mu held. */
static row *row_of(provider_stats *p, const char *role, const char *kind, const char *model)
{
    if (p->n == PROVIDER_STATS_MAX) model = "other";
    for (size_t i = 0; i < p->n; i++)
        if (!strcmp(p->rows[i].role, role) && !strcmp(p->rows[i].kind, kind) &&
            !strcmp(p->rows[i].model, model))
            return &p->rows[i];
    if (p->n == PROVIDER_STATS_MAX) return &p->rows[PROVIDER_STATS_MAX - 1];
    row *r = &p->rows[p->n++];
    snprintf(r->role, sizeof r->role, "%s", role);
    snprintf(r->kind, sizeof r->kind, "%s", kind);
    snprintf(r->model, sizeof r->model, "%s", model);
    return r;
}

void provider_stats_add(provider_stats *p, const char *role, const char *kind, const char *model,
                        long calls, long errors, long ptok, long ctok, double cost)
{
    pthread_mutex_lock(&p->mu);
    row *r = row_of(p, role, kind, model ? model : "");
    r->calls += calls;
    r->errors += errors;
    r->ptok += ptok;
    r->ctok += ctok;
    r->cost += cost;
    pthread_mutex_unlock(&p->mu);
}

void provider_stats_add_answer(provider_stats *p, const char *kind, const json_t *steps,
                               const char *model, const gen_usage *u)
{
    if (!kind) return;
    pthread_mutex_lock(&p->mu);
    size_t i;
    json_t *s;
    json_array_foreach(steps, i, s)
    {
        const char *m = json_string_value(json_object_get(s, "model"));
        if (!m) continue; /* check, drop and fallback steps make no call */
        row *r = row_of(p, "generate", kind, m);
        if (json_is_true(json_object_get(s, "ok")))
            r->calls++;
        else
            r->errors++;
    }
    if (model && u) {
        row *r = row_of(p, "generate", kind, model);
        r->ptok += u->prompt_tokens;
        r->ctok += u->completion_tokens;
        r->cost += u->cost;
    }
    pthread_mutex_unlock(&p->mu);
}

json_t *provider_stats_json(provider_stats *p)
{
    json_t *a = json_array();
    pthread_mutex_lock(&p->mu);
    for (size_t i = 0; i < p->n; i++) {
        row *r = &p->rows[i];
        json_array_append_new(
            a, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:f}", "role", r->role, "kind", r->kind,
                         "model", r->model, "calls", (json_int_t)r->calls, "errors",
                         (json_int_t)r->errors, "prompt_tokens", (json_int_t)r->ptok,
                         "completion_tokens", (json_int_t)r->ctok, "cost", r->cost));
    }
    pthread_mutex_unlock(&p->mu);
    return a;
}
