/* provider/collection.h — choosing a collection's embedder.
 *
 * A collection remembers the embedder it was created with (kind, model, URL,
 * dimension in its settings), so later commands need no flags. Front-ends
 * pass what the user named on the command line or in the request
 * (embed_choice); this module merges it with the stored settings, creates
 * the embedder, and for a new collection with a remote embedder learns the
 * dimension from the server before the collection is created.
 *
 * Thread-safety: reentrant. Ownership: *out embedders are freed by the caller
 * with embedder_free.
 */
#ifndef RAGD_PROVIDER_COLLECTION_H
#define RAGD_PROVIDER_COLLECTION_H

#include "core/error.h"
#include "provider/provider.h"
#include "store/store.h"

typedef struct {
    const char *kind;         /* --embedder / RAGD_EMBEDDER */
    const char *url;          /* --embedder-url / RAGD_EMBEDDER_URL (also overrides a stored URL) */
    const char *model;        /* --embedder-model / RAGD_EMBEDDER_MODEL */
    const char *api_key;      /* RAGD_PROVIDER_KEY */
    const char *fallback_url; /* --embedder-fallback: comma-separated base URLs, same model */
    int dim;                  /* --dim */
    double timeout_s;         /* --embedder-timeout */
    int max_retries;          /* 0 = default */
    double cost_per_1k;       /* --embedder-cost: cost per 1,000 tokens, for accounting */
    provider_breakers *breakers; /* circuit breakers (borrowed; NULL = none; provider/breaker.h) */
} embed_choice;

/* Fill the embedder fields of a collection-creation request from choice. */
void embed_choice_to_settings(const embed_choice *c, ragd_settings *s);

/* Create the embedder for settings s (kind/model/url/dim), with choice's URL,
 * key, fallbacks and timeouts applied. When s->dim is 0 (a remote embedder
 * of a collection being created) the dimension is probed and written back
 * to s->dim, and a model name the server reports is kept. */
ragd_status embedder_for_settings(ragd_settings *s, const embed_choice *c, ragd_embedder **out,
                                  ragd_error *err);

#endif
