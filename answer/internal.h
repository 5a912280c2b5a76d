/* answer/internal.h — helpers shared by the answer/ files only (private to
 * the module; nothing outside answer/ includes it). */
#ifndef RAGD_ANSWER_INTERNAL_H
#define RAGD_ANSWER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "retrieve/retrieve.h"

/* Where [start, end) of source s's text starts in its document, or false
 * when it cannot be quoted with offsets (a summary entry's source quotes
 * only inside one of its summary sentences). */
bool answer_doc_offset(const context_source *s, size_t start, size_t end, size_t *out);

/* The not-found answer_result (generator not called). */
void answer_not_found(answer_result *out);

#endif
