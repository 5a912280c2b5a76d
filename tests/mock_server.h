/* tests/mock_server.h — a scriptable mock model server for tests.
 *
 * An HTTP server on libmicrohttpd, bound to 127.0.0.1 (a random free port
 * unless one is asked for), one thread per connection, that speaks two
 * embedding protocols:
 *
 *   POST .../embeddings   OpenAI:  {"model","input":[..]|"..","dimensions"?}
 *                          -> {"object":"list","data":[{"object":"embedding",
 *                              "index","embedding"}],"model","usage"}
 *   POST /api/embed        Ollama:  {"model","input"} -> {"model","embeddings",
 *                              "prompt_eval_count"}
 *   POST .../rerank        TEI:     {"query","texts":[..]} -> [{"index","score"}]
 *                          Cohere:  {"model","query","documents":[..]} ->
 *                              {"id","results":[{"index","relevance_score"}],"meta"}
 *   POST .../chat/completions  OpenAI chat: {"model","messages"} -> {"choices":[{"message":
 *                              {"role","content"},"finish_reason"}],"usage"}
 *   POST /api/chat         Ollama chat: {"model","messages","stream":false} ->
 *                              {"message":{"role","content"},"done","prompt_eval_count",
 *                              "eval_count"}
 *
 * Chat replies are deterministic: "Summary of: " and the first 8
 * whitespace-separated words of the last user message. With "stream": true
 * the same text comes one word per chunk: Server-Sent Events (OpenAI, with
 * a keep-alive comment, a usage chunk and [DONE]) or NDJSON (Ollama).
 *
 * Rerank scores: with rerank_keyword set, the number of times the keyword
 * occurs in the text (ASCII case-insensitive); otherwise the texts are
 * scored in reverse input order (TEI: i - n, negative like raw logits;
 * Cohere: (i + 1) / (n + 1)), so a client that honours the scores reverses
 * its candidates. Replies list items best first, as real servers do.
 *
 * Vectors are local_embed_text(text, dim) (provider.h), so a test can
 * predict every float exactly (they travel as 17-digit JSON numbers). Token
 * counts are text_count_tokens sums.
 *
 * Misbehaviour is scripted: every request takes the next behaviour from a
 * FIFO queue (mock_server_push), or the default behaviour (normally MOCK_OK)
 * when the queue is empty. Behaviours: an error status with an optional
 * Retry-After (seconds or HTTP date) and message, a hang longer than the
 * client's timeout, a malformed 200 body, vectors of the wrong dimension.
 * The server counts requests and connections and keeps the last request
 * body.
 *
 * Thread-safety: the mock_server_* functions may be called from any thread
 * while the server runs (one mutex). Used by tests/unit_*.c and by the
 * standalone tests/mock_server_main.c (the mock_model_server executable).
 */
#ifndef RAGD_TESTS_MOCK_SERVER_H
#define RAGD_TESTS_MOCK_SERVER_H

typedef struct mock_server mock_server;

typedef enum {
    MOCK_OK = 0,    /* a normal reply */
    MOCK_STATUS,    /* reply `status` with an error body in the protocol's format */
    MOCK_HANG,      /* wait hang_s seconds (or until the server stops), then reply normally */
    MOCK_MALFORMED, /* 200 with a truncated, non-JSON body */
    MOCK_WRONG_DIM, /* a normal reply with dim-float vectors */
    MOCK_BAD_INDEX, /* /rerank: a reply whose first item has an out-of-range index */
    MOCK_DUP_INDEX, /* /rerank: a reply with the first index twice (and one missing) */
    MOCK_NO_CONTENT /* chat: a 200 reply whose message has no "content" */
} mock_action;

typedef struct {
    mock_action action;
    int status;           /* MOCK_STATUS: the HTTP status */
    int retry_after;      /* MOCK_STATUS: send Retry-After with this many seconds; < 0 = none */
    int retry_after_date; /* send Retry-After as an HTTP date (now + retry_after) */
    const char *message;  /* MOCK_STATUS: error message (copied; NULL = a default) */
    double hang_s;        /* MOCK_HANG: seconds */
    int dim;              /* MOCK_WRONG_DIM: the dimension to send */
} mock_behavior;

/* Behaviour constructors. */
mock_behavior mock_ok(void);
mock_behavior mock_status(int status, const char *message);
mock_behavior mock_retry_after(int status, int seconds, int as_date);
mock_behavior mock_hang(double seconds);
mock_behavior mock_malformed(void);
mock_behavior mock_wrong_dim(int dim);
mock_behavior mock_bad_index(void);
mock_behavior mock_dup_index(void);
mock_behavior mock_no_content(void);

typedef struct {
    int dim;             /* vector dimension (0 -> 384); an OpenAI "dimensions" field overrides */
    const char *api_key; /* when set, requests need "Authorization: Bearer KEY" (else 401) */
    int reverse;         /* OpenAI: list data[] in reverse order (clients must use "index") */
    int no_usage;        /* omit "usage" / "prompt_eval_count" */
    int port;            /* 0 = a random free port */
    const char *rerank_keyword; /* /rerank scores by this keyword's count (NULL = reverse order) */
} mock_config;

/* Start a server (cfg may be NULL for defaults). Returns NULL with a message
 * on stderr when it cannot bind. Stop with mock_server_stop. */
mock_server *mock_server_start(const mock_config *cfg);

/* Stop the server (waking hanging handlers) and free it. NULL is a no-op. */
void mock_server_stop(mock_server *m);

/* The bound port. */
int mock_server_port(const mock_server *m);

/* Append a behaviour to the script: request k (counting from the next one)
 * gets the k-th queued behaviour. */
void mock_server_push(mock_server *m, mock_behavior b);

/* Repeat b n times in the script. */
void mock_server_push_n(mock_server *m, mock_behavior b, int n);

/* The behaviour for requests when the script is empty (initially MOCK_OK). */
void mock_server_set_default(mock_server *m, mock_behavior b);

/* Requests answered or being answered (any path, any outcome). */
long mock_server_requests(mock_server *m);

/* TCP connections accepted. */
long mock_server_connections(mock_server *m);

/* Total input texts received in well-formed embedding or rerank requests. */
long mock_server_texts(mock_server *m);

/* A malloc'd copy of the last request body ("" before any request). */
char *mock_server_last_body(mock_server *m);

/* Forget counters, the script and the last body (the default stays). */
void mock_server_reset(mock_server *m);

#endif
