/* service/request.h — request objects checked against per-operation field
 * tables (private to service/). Reentrant; nothing here keeps state. */
#ifndef RAGD_SERVICE_REQUEST_H
#define RAGD_SERVICE_REQUEST_H

#include <jansson.h>
#include <stdbool.h>

#include "retrieve/retrieve.h"
#include "service/ragd.h"

typedef enum { REQ_STRING, REQ_INT, REQ_NUMBER, REQ_BOOL, REQ_OBJECT, REQ_ARRAY, REQ_ANY } req_type;

typedef struct {
    const char *name;
    req_type type;
    double min, max; /* numbers: the range; strings: byte length (0 = no bound) */
    bool required;
} req_field;

/* req must be an object whose every field is in `fields` (NULL-terminated)
 * with the declared type and range, and has every required field. */
ragd_status req_check_fields(const json_t *req, const req_field *fields, ragd_error *err);

/* The string field `name`, or dflt when absent (borrowed from req). */
const char *req_str(const json_t *req, const char *name, const char *dflt);

/* A present string field must be one of allowed (NULL-terminated). */
ragd_status req_one_of(const json_t *req, const char *name, const char *const *allowed,
                       ragd_error *err);

typedef enum { QUERY_SEARCH, QUERY_CONTEXT, QUERY_ANSWER } query_kind;

/* A parsed search/context/answer request. Strings are borrowed from the
 * request object (which must outlive it); filters are owned. */
typedef struct {
    const char *collection;
    const char *query;
    search_opts so; /* embedder, vindex and reranker left for the caller */
    size_t budget;  /* 0 = default */
    bool stream;
    const char *request_id; /* answer: the caller's id, or NULL */
    char **filters;         /* "key=value" */
    size_t nfilters;
    /* The embedder the caller expects (NULL: the collection's): it must
     * match the collection's, else RAGD_ECONFLICT explaining the mismatch. */
    const char *embedder, *embedder_model;
} query_req;

ragd_status query_req_parse(const json_t *req, query_kind kind, query_req *q, ragd_error *err);
void query_req_free(query_req *q);

/* {"key":"value",…} into q->filters and q->so (filter may be NULL). */
ragd_status filters_parse(const json_t *filter, query_req *q, ragd_error *err);

#endif
