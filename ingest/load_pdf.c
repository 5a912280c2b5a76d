/* ingest/load_pdf.c — PDF text with poppler's GLib API.
 *
 * Each page's text (poppler_page_get_text, reading order as poppler lays it
 * out) is cleaned — control characters other than newline and tab removed,
 * Latin ligatures (U+FB00..FB06) spelled out, trailing spaces on lines and
 * blank lines at the page's ends dropped — and normalized (NFC) on its own.
 * Pages are then joined by "\n\f\n": a form feed on a line of its own, the
 * traditional page break (pdftotext writes one too), which the text parser
 * sees as a blank line, so a paragraph never runs across pages. Because the
 * pages are normalized before joining, d->page_starts[i] is the exact byte
 * offset of page i+1 in the stored text, and the pipeline can give every
 * chunk the page its start falls on.
 *
 * The title is the PDF's Title metadata when set, else the first short line.
 * Encrypted (password-protected) and damaged files fail with poppler's
 * reason; a PDF with no text at all (a scan) is skipped like blank text.
 */
#include <glib.h>
#include <limits.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/loaders.h"

#define PAGE_SEP "\n\f\n"

/* Clean one page's text into b (see the top comment). */
static void clean_page(const char *s, ragd_buf *b)
{
    static const char *const LIG[] = {"ff", "fi", "fl", "ffi", "ffl", "st", "st"};
    ragd_buf_reset(b);
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        /* U+FB00..U+FB06 = EF AC 80..86 */
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xAC &&
            (unsigned char)s[i + 2] >= 0x80 && (unsigned char)s[i + 2] <= 0x86) {
            ragd_buf_puts(b, LIG[(unsigned char)s[i + 2] - 0x80]);
            i += 3;
            continue;
        }
        if (c == '\r') {
            ragd_buf_putc(b, '\n');
            if (i + 1 < n && s[i + 1] == '\n') i++;
            i++;
            continue;
        }
        if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
            i++;
            continue;
        }
        if (c == '\n') /* trailing spaces of the line */
            while (b->len && (b->data[b->len - 1] == ' ' || b->data[b->len - 1] == '\t'))
                b->len--;
        ragd_buf_putc(b, (char)c);
        i++;
    }
    /* Blank lines and spaces at the ends of the page. */
    while (b->len && (b->data[b->len - 1] == '\n' || b->data[b->len - 1] == ' ' ||
                      b->data[b->len - 1] == '\t'))
        b->len--;
    size_t lead = 0, i = 0;
    while (i < b->len && (b->data[i] == ' ' || b->data[i] == '\t' || b->data[i] == '\n')) {
        if (b->data[i] == '\n') lead = i + 1;
        i++;
    }
    if (i == b->len) lead = b->len;
    if (lead) {
        memmove(b->data, b->data + lead, b->len - lead);
        b->len -= lead;
    }
    if (b->data) b->data[b->len] = '\0';
}

ragd_status ingest_load_pdf(const char *raw, size_t n, const char *fallback_title, ingest_doc *d,
                            ragd_error *err)
{
    if (n > INT_MAX) return ragd_error_set(err, RAGD_EINPUT, "PDF file too large");
    GBytes *bytes = g_bytes_new_static(raw, n);
    GError *gerr = NULL;
    PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &gerr);
    if (!doc) {
        ragd_status rc;
        const char *why = gerr && gerr->message ? gerr->message : "unknown error";
        if (gerr && gerr->domain == POPPLER_ERROR && gerr->code == POPPLER_ERROR_ENCRYPTED)
            rc = ragd_error_set(err, RAGD_EINPUT,
                                "encrypted PDF: %s (password-protected PDFs are not supported)",
                                why);
        else
            rc = ragd_error_set(err, RAGD_EINPUT, "cannot read PDF: %s", why);
        if (gerr) g_error_free(gerr);
        g_bytes_unref(bytes);
        return rc;
    }
    int npages = poppler_document_get_n_pages(doc);
    if (npages <= 0) {
        g_object_unref(doc);
        g_bytes_unref(bytes);
        return ragd_error_set(err, RAGD_EINPUT, "cannot read PDF: it has no pages");
    }
    ragd_buf text = RAGD_BUF_INIT, page = RAGD_BUF_INIT;
    size_t *starts = ragd_xcalloc((size_t)npages, sizeof *starts);
    bool any = false;
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < npages && !rc; i++) {
        if (i) ragd_buf_puts(&text, PAGE_SEP);
        starts[i] = text.len;
        PopplerPage *p = poppler_document_get_page(doc, i);
        char *t = p ? poppler_page_get_text(p) : NULL;
        if (p) g_object_unref(p);
        if (!t) continue;
        if (!text_utf8_check(t, strlen(t), NULL, NULL)) {
            char *valid = g_utf8_make_valid(t, -1);
            g_free(t);
            t = valid;
        }
        clean_page(t, &page);
        g_free(t);
        if (!page.len) continue;
        char *norm = NULL;
        size_t nlen = 0;
        rc = text_normalize(page.data, page.len, &norm, &nlen, err);
        if (rc) break;
        ragd_buf_append(&text, norm, nlen);
        free(norm);
        any = true;
    }
    char *title = poppler_document_get_title(doc);
    g_object_unref(doc);
    g_bytes_unref(bytes);
    ragd_buf_free(&page);
    if (rc || !any) {
        ragd_buf_free(&text);
        free(starts);
        g_free(title);
        if (rc) return rc;
        return ragd_error_set(err, RAGD_ENOTFOUND,
                              "only whitespace, nothing to index (no text layer; a scan?); "
                              "skipped");
    }
    d->len = text.len;
    d->text = ragd_buf_steal(&text);
    d->format = "pdf";
    d->page_starts = starts;
    d->npages = (size_t)npages;
    if (title) {
        ragd_buf tb = RAGD_BUF_INIT;
        bool space = false;
        for (const char *s = title; *s; s++) {
            if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
                space = tb.len > 0;
                continue;
            }
            if ((unsigned char)*s < 0x20) continue;
            if (space) ragd_buf_putc(&tb, ' ');
            space = false;
            ragd_buf_putc(&tb, *s);
        }
        char *norm = NULL;
        size_t nlen = 0;
        if (tb.len && text_utf8_check(tb.data, tb.len, NULL, NULL) &&
            text_normalize(tb.data, tb.len, &norm, &nlen, NULL) == RAGD_OK)
            d->title = norm;
        ragd_buf_free(&tb);
        g_free(title);
    }
    return ingest_parse_structure(d, "txt", fallback_title, err);
}
