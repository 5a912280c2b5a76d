/* ingest/loaders.h — private to ingest/: the format loaders behind
 * ingest_parse and the shared structure parser they hand their text to.
 *
 * A loader turns raw bytes of its format into document text (UTF-8) and
 * then calls ingest_parse_markdown (HTML, which it converts to Markdown) or
 * fills d->text itself and calls ingest_parse_structure (PDF, whose pages
 * it normalizes one by one so page offsets stay exact). Either way the
 * stored text is what the chunker slices, so chunk offsets stay exact.
 */
#ifndef RAGD_INGEST_LOADERS_H
#define RAGD_INGEST_LOADERS_H

#include "ingest/ingest.h"

/* d->text/d->len hold normalized text (owned by d); parse its structure
 * ("md" or "txt") and set a title (d->title if already set, else the first
 * H1 / first short line, else fallback_title). Blank text: RAGD_ENOTFOUND
 * and d is freed. */
ragd_status ingest_parse_structure(ingest_doc *d, const char *structure, const char *fallback_title,
                                   ragd_error *err);

/* Validate and normalize Markdown text produced by a loader, then parse it
 * as Markdown. `format` (static) is stored as the document's format; a
 * non-empty `title` overrides the first-H1 title. d must be zeroed. */
ragd_status ingest_parse_markdown(const char *md, size_t n, const char *format, const char *title,
                                  const char *fallback_title, ingest_doc *d, ragd_error *err);

/* HTML (libxml2's HTML parser, recover mode) -> Markdown-like text -> d. */
ragd_status ingest_load_html(const char *raw, size_t n, const char *fallback_title, ingest_doc *d,
                             ragd_error *err);

/* Convert HTML to the Markdown-like text ingest_load_html indexes. *md is
 * malloc'd; *title (malloc'd, or NULL) is the <title> text. */
ragd_status ingest_html_to_markdown(const char *raw, size_t n, char **md, size_t *md_len,
                                    char **title, ragd_error *err);

/* PDF (poppler-glib) -> per-page text joined by "\n\f\n" -> d, with
 * d->page_starts. */
ragd_status ingest_load_pdf(const char *raw, size_t n, const char *fallback_title, ingest_doc *d,
                            ragd_error *err);

#endif
