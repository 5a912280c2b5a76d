/* api/metrics.c — see metrics.h. Series are kept in small linear tables:
 * a server has a few dozen (route × method × status), so a scan under the
 * mutex costs less than the request it counts. */
#include "api/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

static const double BUCKETS[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                 0.25,  0.5,    1,     2.5,  5,     10};
#define NBUCKETS (sizeof BUCKETS / sizeof BUCKETS[0])
#define MAX_SERIES 256

typedef struct {
    char route[64];
    char method[8];
    int status;
    unsigned long long count;
} req_counter;

typedef struct {
    char name[64]; /* route, or stage */
    unsigned long long buckets[NBUCKETS];
    unsigned long long count;
    double sum;
} histogram;

struct api_metrics {
    pthread_mutex_t mu;
    req_counter reqs[MAX_SERIES];
    size_t nreqs;
    histogram lat[MAX_SERIES];
    size_t nlat;
    histogram stages[32];
    size_t nstages;
    long open_connections;
    unsigned long long connections_total;
};

api_metrics *api_metrics_new(void)
{
    api_metrics *m = ragd_xcalloc(1, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
    return m;
}

void api_metrics_free(api_metrics *m)
{
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

/* The histogram named `name` in tab (created if there is room), or NULL. */
static histogram *hist_get(histogram *tab, size_t *n, size_t cap, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(tab[i].name, name)) return &tab[i];
    if (*n == cap) return NULL;
    histogram *h = &tab[(*n)++];
    memset(h, 0, sizeof *h);
    snprintf(h->name, sizeof h->name, "%s", name);
    return h;
}

static void hist_add(histogram *h, double v)
{
    if (!h) return;
    h->count++;
    h->sum += v;
    for (size_t b = 0; b < NBUCKETS; b++)
        if (v <= BUCKETS[b]) h->buckets[b]++;
}

void api_metrics_request(api_metrics *m, const char *route, const char *method, int status,
                         double seconds)
{
    pthread_mutex_lock(&m->mu);
    req_counter *c = NULL;
    for (size_t i = 0; i < m->nreqs && !c; i++)
        if (m->reqs[i].status == status && !strcmp(m->reqs[i].route, route) &&
            !strcmp(m->reqs[i].method, method))
            c = &m->reqs[i];
    if (!c && m->nreqs < MAX_SERIES) {
        c = &m->reqs[m->nreqs++];
        snprintf(c->route, sizeof c->route, "%s", route);
        snprintf(c->method, sizeof c->method, "%s", method);
        c->status = status;
        c->count = 0;
    }
    if (c) c->count++;
    hist_add(hist_get(m->lat, &m->nlat, MAX_SERIES, route), seconds);
    pthread_mutex_unlock(&m->mu);
}

void api_metrics_stages(api_metrics *m, const json_t *timing_ms)
{
    if (!json_is_object(timing_ms)) return;
    pthread_mutex_lock(&m->mu);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)timing_ms, k, v)
    {
        if (json_is_number(v))
            hist_add(hist_get(m->stages, &m->nstages, 32, k), json_number_value(v) / 1000.0);
    }
    pthread_mutex_unlock(&m->mu);
}

void api_metrics_connections(api_metrics *m, int delta)
{
    pthread_mutex_lock(&m->mu);
    m->open_connections += delta;
    if (delta > 0) m->connections_total++;
    pthread_mutex_unlock(&m->mu);
}

static void render_hist(ragd_buf *b, const char *metric, const char *label, const histogram *h)
{
    for (size_t i = 0; i < NBUCKETS; i++)
        ragd_buf_printf(b, "%s_bucket{%s=\"%s\",le=\"%g\"} %llu\n", metric, label, h->name,
                        BUCKETS[i], h->buckets[i]);
    ragd_buf_printf(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", metric, label, h->name, h->count);
    ragd_buf_printf(b, "%s_sum{%s=\"%s\"} %.6f\n%s_count{%s=\"%s\"} %llu\n", metric, label, h->name,
                    h->sum, metric, label, h->name, h->count);
}

char *api_metrics_render(api_metrics *m, const json_t *index_report)
{
    ragd_buf b = RAGD_BUF_INIT;
    pthread_mutex_lock(&m->mu);
    ragd_buf_puts(&b, "# HELP ragd_http_requests_total HTTP requests by route, method and status.\n"
                      "# TYPE ragd_http_requests_total counter\n");
    for (size_t i = 0; i < m->nreqs; i++)
        ragd_buf_printf(&b,
                        "ragd_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
                        m->reqs[i].route, m->reqs[i].method, m->reqs[i].status, m->reqs[i].count);
    ragd_buf_puts(&b, "# HELP ragd_http_request_duration_seconds Request latency by route.\n"
                      "# TYPE ragd_http_request_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nlat; i++)
        render_hist(&b, "ragd_http_request_duration_seconds", "route", &m->lat[i]);
    ragd_buf_puts(&b, "# HELP ragd_search_stage_duration_seconds Search pipeline stage latency.\n"
                      "# TYPE ragd_search_stage_duration_seconds histogram\n");
    for (size_t i = 0; i < m->nstages; i++)
        render_hist(&b, "ragd_search_stage_duration_seconds", "stage", &m->stages[i]);
    ragd_buf_printf(&b,
                    "# HELP ragd_http_open_connections Connections open now.\n"
                    "# TYPE ragd_http_open_connections gauge\nragd_http_open_connections %ld\n"
                    "# HELP ragd_http_connections_total Connections accepted.\n"
                    "# TYPE ragd_http_connections_total counter\nragd_http_connections_total "
                    "%llu\n",
                    m->open_connections, m->connections_total);
    pthread_mutex_unlock(&m->mu);
    ragd_buf_puts(&b, "# HELP ragd_index_vectors Vectors in each loaded FAISS index.\n"
                      "# TYPE ragd_index_vectors gauge\n");
    size_t i;
    json_t *x;
    json_array_foreach((json_t *)index_report, i, x)
    {
        ragd_buf_printf(&b, "ragd_index_vectors{collection_id=\"%lld\"} %lld\n",
                        (long long)json_integer_value(json_object_get(x, "collection_id")),
                        (long long)json_integer_value(json_object_get(x, "vectors")));
    }
    return ragd_buf_steal(&b);
}
