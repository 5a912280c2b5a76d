/* api/metrics.h — Prometheus metrics of one server.
 *
 * Counters and histograms live in an api_metrics object owned by the
 * server (no global state). Route labels are route patterns
 * ("/v1/collections/{c}/documents"), never raw paths, so the number of
 * series stays bounded. Latency histograms use fixed buckets from 1 ms to
 * 10 s. Search stage timings come from each result's timing_ms.
 *
 * Thread-safety: every function may be called from any thread (one mutex).
 * Ownership: api_metrics_new / api_metrics_free; api_metrics_render returns
 * a malloc'd string.
 */
#ifndef RAGD_API_METRICS_H
#define RAGD_API_METRICS_H

#include <jansson.h>

#include "core/buf.h"

typedef struct api_metrics api_metrics;

api_metrics *api_metrics_new(void);
void api_metrics_free(api_metrics *m);

/* One finished request: its route pattern, method, status and seconds. */
void api_metrics_request(api_metrics *m, const char *route, const char *method, int status,
                         double seconds);

/* The timing_ms object of a search/context/answer result (may be NULL). */
void api_metrics_stages(api_metrics *m, const json_t *timing_ms);

/* Open connections went up (+1) or down (-1). */
void api_metrics_connections(api_metrics *m, int delta);

/* Prometheus text exposition (version 0.0.4), with the loaded indexes'
 * sizes from index_report ([{"collection_id","vectors"}], may be NULL). */
char *api_metrics_render(api_metrics *m, const json_t *index_report);

/* Append the engine's counters (ragd_engine_stats: result cache hits and
 * misses, generation provider calls, errors, tokens and cost by kind and
 * model) in the Prometheus text format (api/engine_metrics.c). */
void api_metrics_engine(ragd_buf *b, const json_t *stats);

#endif
