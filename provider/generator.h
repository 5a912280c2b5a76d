/* provider/generator.h — remote text generation (chat completion) providers.
 *
 * One call shape, two protocols:
 *   openai  POST {url}/chat/completions (OpenAI, llama.cpp server, vLLM,
 *           LM Studio, LocalAI, ...; base URL as OpenAI's SDKs take it,
 *           "http://host:8080/v1"):
 *             {"model":M,"messages":[{"role":"system","content":S},
 *              {"role":"user","content":U}],"temperature":0,"max_tokens":N}
 *           reply choices[0].message.content, usage.prompt_tokens and
 *           usage.completion_tokens;
 *   ollama  POST {url}/api/chat (base URL "http://host:11434"):
 *             {"model":M,"messages":[..],"stream":false,
 *              "options":{"temperature":0,"num_predict":N}}
 *           reply message.content, prompt_eval_count and eval_count.
 * generator_stream sends "stream": true and reads the reply as it comes:
 * OpenAI's Server-Sent Events or Ollama's NDJSON (provider/stream.h).
 * The built-in extractive answer generator is not one of these: it lives in
 * answer/ and needs no provider.
 *
 * HTTP goes through provider/http.c: a per-attempt timeout, retries on
 * timeouts, connection errors, 429 and 5xx with exponential backoff and
 * full jitter that honours Retry-After, no retry on other 4xx; a bearer key
 * when one is given.
 *
 * A reply is checked before anything is returned: not JSON (http.c), no
 * "choices"/"message", content missing, not a string, or empty (an empty
 * reply cut by max_tokens says so) — each RAGD_EPROVIDER with a message
 * starting "POST <url>: ", never a crash and never a partial result. The
 * returned text is valid UTF-8 (jansson checks every string it parses),
 * without NUL bytes (the text stops at the first one), and at most
 * GENERATOR_MAX_TEXT bytes (cut on a code point boundary).
 *
 * Token counts come from the reply's usage fields; a server that sends none
 * gets an estimate (core/text.h text_count_tokens of what was sent and
 * received), counted as estimated in gen_usage.
 *
 * Ownership: generator_new and generator_clone return a handle released by
 * generator_free; config strings are copied. generator_complete's *text is
 * malloc'd for the caller.
 *
 * Thread-safety, per function: generator_new, generator_clone (of a handle
 * no other thread is changing), generator_kind, generator_model and
 * generator_endpoint are reentrant; generator_complete and generator_free
 * use or release the handle's libcurl easy handle, which cannot be shared:
 * one thread at a time per handle. For parallel calls give each thread its
 * own generator_clone. gen_usage is not synchronized: one per thread, added
 * up by the caller (gen_usage_add).
 */
#ifndef RAGD_PROVIDER_GENERATOR_H
#define RAGD_PROVIDER_GENERATOR_H

#include <stddef.h>

#include "core/error.h"
#include "provider/breaker.h"

typedef struct ragd_generator ragd_generator;

typedef struct {
    const char *kind;      /* "openai" | "ollama" (required) */
    const char *url;       /* base URL (required); see above */
    const char *model;     /* model name (required) */
    const char *api_key;   /* bearer key, NULL/"" for none */
    double timeout_s;      /* per HTTP attempt (0 -> GENERATOR_DEFAULT_TIMEOUT_S) */
    int max_retries;       /* retries after the first attempt (0 -> 2; -1 -> none) */
    double backoff_base_s; /* first backoff ceiling (0 -> 0.5 s), doubling, capped at 10 s */
    double cost_per_1k;    /* optional cost per 1,000 tokens (prompt + completion) */
} generator_config;

/* Usage added to by generator_complete (never reset). */
typedef struct {
    long calls;    /* completions that succeeded */
    long failures; /* generator_complete calls that failed */
    long attempts; /* HTTP requests made, retries included */
    long retries;
    long prompt_tokens;
    long completion_tokens;
    long estimated; /* calls whose token counts were estimated (no usage in the reply) */
    double cost;
} gen_usage;

#define GENERATOR_DEFAULT_TIMEOUT_S 60.0
#define GENERATOR_DEFAULT_RETRIES 2
#define GENERATOR_MAX_TEXT (1u << 20) /* bytes of reply text returned, at most */
#define GENERATOR_MAX_TOKENS 32768    /* largest max_tokens accepted */

/* Create a generator. RAGD_EUSAGE on a bad config, naming the CLI option to
 * fix: an unknown or missing kind (--generator), no URL or not http(s)
 * (--generator-url), no model (--generator-model), negative numbers, a key
 * with a line break; RAGD_EPROVIDER when libcurl cannot start. Does not
 * contact the server. */
ragd_status generator_new(const generator_config *cfg, ragd_generator **out, ragd_error *err);

/* Make g's calls go through the circuit breaker of its endpoint in r
 * (provider/breaker.h; borrowed, must outlive g; NULL = none). Clones of g
 * share it. */
void generator_use_breakers(ragd_generator *g, provider_breakers *r);

/* A new handle equal to g (kind, URL, model, key, timeout, retries, backoff,
 * cost) with its own HTTP client, for another thread. Fails like
 * generator_new. */
ragd_status generator_clone(const ragd_generator *g, ragd_generator **out, ragd_error *err);

/* NULL is a no-op. */
void generator_free(ragd_generator *g);

/* "openai" or "ollama", the model name and the full endpoint URL
 * ({url}/chat/completions or {url}/api/chat); borrowed. */
const char *generator_kind(const ragd_generator *g);
const char *generator_model(const ragd_generator *g);
const char *generator_endpoint(const ragd_generator *g);

/* One completion: a system message (may be NULL: none) and a user message,
 * temperature 0, at most max_tokens reply tokens (1..GENERATOR_MAX_TOKENS).
 * On RAGD_OK *text is the reply content (malloc'd, non-empty, see above for
 * its guarantees). Errors: RAGD_EINPUT (a message is not valid UTF-8, a bad
 * max_tokens), RAGD_EPROVIDER (network, server, malformed reply; after
 * retries); *text is then NULL. Adds to *u when not NULL: a success adds
 * calls and tokens, a failure adds failures; both add attempts and
 * retries. */
ragd_status generator_complete(ragd_generator *g, const char *system, const char *user,
                               int max_tokens, char **text, gen_usage *u, ragd_error *err);

/* A token callback: text[0..len) of one streamed token; non-zero stops the
 * stream (the call then fails with RAGD_EPROVIDER). */
typedef int (*generator_token_fn)(void *user, const char *text, size_t len);

/* generator_complete with "stream": true: OpenAI-compatible servers reply
 * with Server-Sent Events (stream_options.include_usage asks for the token
 * counts), Ollama with NDJSON; provider/stream.h parses both. on_token (may
 * be NULL) sees each token as it arrives, on the calling thread; *text is
 * then the whole reply, checked and accounted as for generator_complete.
 * The timeout covers the whole stream of one attempt; retries happen only
 * before the first byte of a 2xx body arrived (after that a failure is
 * final: tokens already went to on_token). A malformed stream, a server
 * error event, or a stream cut before its end marker is RAGD_EPROVIDER.
 * Same thread-safety as generator_complete. */
ragd_status generator_stream(ragd_generator *g, const char *system, const char *user,
                             int max_tokens, generator_token_fn on_token, void *token_user,
                             char **text, gen_usage *u, ragd_error *err);

/* to += from, field by field. */
void gen_usage_add(gen_usage *to, const gen_usage *from);

#endif
