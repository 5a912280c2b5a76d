/* ingest/encoding.h — legacy 8-bit text converted to UTF-8.
 *
 * Text and Markdown files must be UTF-8. A file that is not, has no NUL
 * bytes and reads as 8-bit text — no lead byte followed by a continuation
 * byte, which is damaged UTF-8 (an overlong form, a cut sequence) and
 * stays an error — is converted instead of refused: from
 * Windows-1252 when it holds bytes 0x80-0x9F (curly quotes, dashes and the
 * euro sign live there), else from ISO-8859-1 (Latin-1); the two agree on
 * every other byte. `--encoding` names the source encoding instead of
 * guessing: utf-8 (no conversion: invalid UTF-8 stays an error), latin-1
 * (iso-8859-1) or windows-1252 (cp1252). The five bytes Windows-1252 leaves
 * undefined map to the C1 controls of the same value, as web browsers do.
 * HTML is not converted here: libxml2 honours the page's declared charset.
 *
 * Thread-safety: reentrant. Ownership: *out is malloc'd (caller frees).
 */
#ifndef RAGD_INGEST_ENCODING_H
#define RAGD_INGEST_ENCODING_H

#include <stddef.h>

#include "core/error.h"

/* Check an --encoding value (NULL/"auto" allowed): RAGD_EUSAGE if unknown. */
ragd_status ingest_encoding_check(const char *encoding, ragd_error *err);

/* raw[0..n) as UTF-8. *used is NULL when no conversion was made (valid
 * UTF-8, or --encoding utf-8, or a file with NUL bytes, which the parser
 * refuses), else the static name of the encoding converted from
 * ("windows-1252", "iso-8859-1"); then *out and *out_n hold the UTF-8 text. */
void ingest_to_utf8(const char *raw, size_t n, const char *encoding, char **out, size_t *out_n,
                    const char **used);

#endif
