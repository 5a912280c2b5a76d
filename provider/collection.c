/* provider/collection.c — see collection.h. */
#include "provider/collection.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"

void embed_choice_to_settings(const embed_choice *c, ragd_settings *s)
{
    if (c->kind && *c->kind) snprintf(s->embedder, sizeof s->embedder, "%s", c->kind);
    if (c->model && *c->model) snprintf(s->embed_model, sizeof s->embed_model, "%s", c->model);
    if (c->url && *c->url) snprintf(s->embed_url, sizeof s->embed_url, "%s", c->url);
    if (c->dim > 0) s->dim = c->dim;
}

ragd_status embedder_for_settings(ragd_settings *s, const embed_choice *c, ragd_embedder **out,
                                  ragd_error *err)
{
    *out = NULL;
    const char *kind = s->embedder[0] ? s->embedder : "local";
    const char *url = c && c->url && *c->url ? c->url : s->embed_url;
    if (strcmp(kind, "local") && strcmp(kind, "openai") && strcmp(kind, "ollama"))
        return ragd_error_set(err, RAGD_EUSAGE, "unknown embedder '%s' (local, openai, ollama)",
                              kind);
    if (strcmp(kind, "local") != 0 && !*url)
        return ragd_error_set(
            err, RAGD_EUSAGE, "embedder '%s' needs --embedder-url (e.g. %s)", kind,
            !strcmp(kind, "ollama") ? "http://127.0.0.1:11434" : "http://127.0.0.1:8080/v1");
    if (strcmp(kind, "local") != 0 && !s->embed_model[0])
        return ragd_error_set(err, RAGD_EUSAGE, "embedder '%s' needs --embedder-model NAME", kind);
    embedder_config cfg = {
        .kind = kind,
        .url = url,
        .model = s->embed_model[0] ? s->embed_model : NULL,
        .api_key = c ? c->api_key : NULL,
        .dim = s->dim,
        .timeout_s = c ? c->timeout_s : 0,
        .max_retries = c ? c->max_retries : 0,
        .cost_per_1k = c ? c->cost_per_1k : 0,
        .breakers = c ? c->breakers : NULL,
        /* An explicit --dim asks an OpenAI-style server for that size
         * (text-embedding-3 models support shortening). */
        .send_dimensions = c && c->dim > 0 && !strcmp(kind, "openai"),
    };
    ragd_status rc = embedder_new(&cfg, out, err);
    if (rc) return rc;
    if (c && c->fallback_url && *c->fallback_url) {
        char *list = ragd_xstrdup(c->fallback_url), *save = NULL;
        for (char *u = strtok_r(list, ",", &save); u && !rc; u = strtok_r(NULL, ",", &save)) {
            embedder_config fb = cfg;
            fb.url = u;
            rc = embedder_add_fallback(*out, &fb, err);
        }
        free(list);
    }
    if (!rc && s->dim <= 0) {
        rc = embedder_probe_dim(*out, NULL, err);
        if (!rc) s->dim = embedder_dim(*out);
    }
    if (!rc && !s->embed_model[0])
        snprintf(s->embed_model, sizeof s->embed_model, "%s", embedder_model(*out));
    if (rc) {
        embedder_free(*out);
        *out = NULL;
    }
    return rc;
}
