/* ingest/encoding.c — Latin-1 / Windows-1252 to UTF-8 (ingest/encoding.h).
 *
 * One table gives the code points of Windows-1252's bytes 0x80-0x9F; every
 * other byte >= 0xA0 is its own code point in both encodings. Conversion
 * is one pass, at most three output bytes per input byte.
 */
#include "ingest/encoding.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/text.h"

static const uint16_t CP1252_80[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

static const char *canonical(const char *e)
{
    if (!e || !*e || !strcasecmp(e, "auto")) return "auto";
    if (!strcasecmp(e, "utf-8") || !strcasecmp(e, "utf8")) return "utf-8";
    if (!strcasecmp(e, "latin-1") || !strcasecmp(e, "latin1") || !strcasecmp(e, "iso-8859-1") ||
        !strcasecmp(e, "iso8859-1"))
        return "iso-8859-1";
    if (!strcasecmp(e, "windows-1252") || !strcasecmp(e, "cp1252")) return "windows-1252";
    return NULL;
}

ragd_status ingest_encoding_check(const char *encoding, ragd_error *err)
{
    if (canonical(encoding)) return RAGD_OK;
    return ragd_error_set_field(err, RAGD_EUSAGE, "encoding",
                                "unknown --encoding '%s' (auto, utf-8, latin-1, windows-1252)",
                                encoding);
}

/* UTF-8 with damage (an overlong form, a cut sequence) rather than 8-bit
 * text: some lead byte is followed by a continuation byte, which legacy
 * text (an accented letter between ASCII ones) almost never has. */
static bool damaged_utf8(const char *raw, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        unsigned char c = (unsigned char)raw[i], d = (unsigned char)raw[i + 1];
        if (c >= 0xC0 && c <= 0xF7 && (d & 0xC0) == 0x80) return true;
    }
    return false;
}

static void put_cp(ragd_buf *b, uint32_t cp)
{
    char u[3];
    if (cp < 0x80) {
        ragd_buf_putc(b, (char)cp);
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        ragd_buf_append(b, u, 2);
    } else {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        ragd_buf_append(b, u, 3);
    }
}

void ingest_to_utf8(const char *raw, size_t n, const char *encoding, char **out, size_t *out_n,
                    const char **used)
{
    *out = NULL;
    *out_n = 0;
    *used = NULL;
    const char *enc = canonical(encoding);
    if (!enc || !strcmp(enc, "utf-8")) return;
    if (!strcmp(enc, "auto") && text_utf8_check(raw, n, NULL, NULL)) return;
    if (memchr(raw, '\0', n)) return; /* binary: the parser says so */
    if (!strcmp(enc, "auto") && damaged_utf8(raw, n)) return;
    bool c1 = false;
    for (size_t i = 0; i < n && !c1; i++)
        c1 = (unsigned char)raw[i] >= 0x80 && (unsigned char)raw[i] <= 0x9F;
    if (!strcmp(enc, "auto")) enc = c1 ? "windows-1252" : "iso-8859-1";
    bool w = !strcmp(enc, "windows-1252");
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_reserve(&b, n + n / 4 + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)raw[i];
        put_cp(&b, w && c >= 0x80 && c <= 0x9F ? CP1252_80[c - 0x80] : c);
    }
    *out_n = b.len;
    *out = ragd_buf_steal(&b);
    *used = enc;
}
