/* ingest/load_pdf.c — PDF text with poppler's GLib API: the text a person
 * reads, without the page furniture.
 *
 * Each page's text (poppler_page_get_text, reading order as poppler lays it
 * out) is cleaned — control characters other than newline and tab removed,
 * Latin ligatures (U+FB00..FB06) spelled out, trailing spaces on lines and
 * blank lines at the page's ends dropped. Then, across the document:
 *   - Running headers and footers go: a line among the first or last
 *     FURNITURE_LINES lines of a page whose shape (digits as '#', spaces
 *     collapsed, case folded) recurs in that place on at least
 *     max(2, 30 %) of the pages (a header alternating between even and
 *     odd pages is on half of them). The first page's top lines stay (a
 *     title page's first line is usually the others' running header).
 *     A bare page number as a page's first two or last two lines ("12",
 *     "- 12 -", "xiv", "Page 3 of 9") goes on any page.
 *   - A word hyphenated across a line end ("calibra-" / "tion") is joined,
 *     when the next line starts with a lowercase letter; a soft hyphen at a
 *     line end is dropped.
 *   - Pages are joined so that a paragraph broken by a page break reads
 *     whole: with "\n" (the same paragraph) when the page ends without
 *     closing punctuation and the next starts lowercase, with nothing when a
 *     word is hyphenated across the break, else with "\n\n" (a paragraph
 *     break). No form feed is stored, so no chunk or quote holds one.
 * Pages are normalized (NFC) one by one before joining, so
 * d->page_starts[i] is the exact byte offset of page i+1 in the stored text
 * and the pipeline gives every chunk the pages it spans.
 *
 * The title is the PDF's Title metadata when it names the document (not a
 * file name such as "Microsoft Word - x.docx" or "untitled"), else the
 * first short line. Encrypted (password-protected) and damaged files fail
 * with poppler's reason; a PDF with no text at all (a scan) is skipped like
 * blank text.
 */
#include <glib.h>
#include <limits.h>
#include <poppler.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/loaders.h"

#define FURNITURE_LINES 3 /* lines at each end of a page that may be furniture */

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

/* --- lines of a page ----------------------------------------------------------- */

typedef struct {
    size_t s, e; /* [s, e) of the line in the page text, no newline */
} line;

typedef struct {
    char *text; /* cleaned page text (owned) */
    size_t len;
    line *lines; /* non-blank lines */
    size_t nlines;
    bool *drop; /* per line: furniture */
} page;

static void split_lines(page *p)
{
    size_t cap = 0;
    for (size_t i = 0; i < p->len;) {
        const char *nl = memchr(p->text + i, '\n', p->len - i);
        size_t e = nl ? (size_t)(nl - p->text) : p->len;
        bool blank = true;
        for (size_t k = i; k < e && blank; k++)
            blank = p->text[k] == ' ' || p->text[k] == '\t';
        if (!blank) {
            ragd_array_grow((void **)&p->lines, &cap, p->nlines + 1, sizeof *p->lines);
            p->lines[p->nlines++] = (line){i, e};
        }
        i = e + 1;
    }
    p->drop = ragd_xcalloc(p->nlines ? p->nlines : 1, sizeof *p->drop);
}

/* The line's shape: digit runs as '#', spaces collapsed, ASCII folded. */
static char *shape(const page *p, const line *l)
{
    ragd_buf b = RAGD_BUF_INIT;
    bool space = false, digit = false;
    for (size_t i = l->s; i < l->e; i++) {
        char c = p->text[i];
        if (c == ' ' || c == '\t') {
            space = b.len > 0;
            digit = false;
            continue;
        }
        if (space) ragd_buf_putc(&b, ' ');
        space = false;
        if (c >= '0' && c <= '9') {
            if (!digit) ragd_buf_putc(&b, '#');
            digit = true;
            continue;
        }
        digit = false;
        ragd_buf_putc(&b, (c >= 'A' && c <= 'Z') ? (char)(c | 0x20) : c);
    }
    if (!b.data) ragd_buf_puts(&b, "");
    return ragd_buf_steal(&b);
}

/* A bare page number: "12", "- 12 -", "[12]", "xiv", "Page 3", "3 of 9",
 * "Page 3 of 9". */
static bool page_number(const char *sh)
{
    const char *t = sh;
    if (!strncmp(t, "page ", 5)) t += 5;
    while (*t == '-' || *t == '[' || *t == '(' || *t == ' ')
        t++;
    if (*t == '#') {
        t++;
        if (!strncmp(t, " of #", 5)) t += 5;
        if (!strncmp(t, " / #", 4)) t += 4;
    } else {
        size_t k = strspn(t, "ivxlcdm");
        if (k == 0 || k > 8) return false;
        t += k;
    }
    while (*t == '-' || *t == ']' || *t == ')' || *t == ' ')
        t++;
    return *t == '\0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Mark running headers, footers and page numbers (see the top comment). */
static void mark_furniture(page *pages, size_t npages)
{
    /* Every (end, index, shape) key of every page, then counted by sorting:
     * the key is "T1|shape" or "B2|shape". */
    char **keys = NULL;
    size_t nkeys = 0, cap = 0;
    for (size_t i = 0; i < npages; i++) {
        page *p = &pages[i];
        for (size_t k = 0; k < p->nlines && k < 2 * FURNITURE_LINES; k++) {
            bool top = k < FURNITURE_LINES;
            size_t idx = top ? k : p->nlines - 1 - (k - FURNITURE_LINES);
            if (!top && idx < FURNITURE_LINES) break; /* short page: counted once */
            char *sh = shape(p, &p->lines[idx]);
            if ((k < 2 || (!top && k < FURNITURE_LINES + 2)) && page_number(sh))
                p->drop[idx] = true;
            ragd_buf key = RAGD_BUF_INIT;
            ragd_buf_printf(&key, "%c%zu|%s", top ? 'T' : 'B', top ? k : k - FURNITURE_LINES, sh);
            free(sh);
            ragd_array_grow((void **)&keys, &cap, nkeys + 1, sizeof *keys);
            keys[nkeys++] = ragd_buf_steal(&key);
        }
    }
    if (npages < 2) goto done;
    size_t need = (npages * 3 + 9) / 10;
    if (need < 2) need = 2;
    char **sorted = ragd_xcalloc(nkeys ? nkeys : 1, sizeof *sorted);
    memcpy(sorted, keys, nkeys * sizeof *keys);
    qsort(sorted, nkeys, sizeof *sorted, cmp_str);
    size_t nkey = 0;
    for (size_t i = 0; i < npages; i++) {
        page *p = &pages[i];
        for (size_t k = 0; k < p->nlines && k < 2 * FURNITURE_LINES; k++) {
            bool top = k < FURNITURE_LINES;
            size_t idx = top ? k : p->nlines - 1 - (k - FURNITURE_LINES);
            if (!top && idx < FURNITURE_LINES) break;
            const char *key = keys[nkey++];
            /* how many pages have this key: a binary search for its run */
            size_t lo = 0, hi = nkeys;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (strcmp(sorted[mid], key) < 0)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            size_t run = 0;
            while (lo + run < nkeys && !strcmp(sorted[lo + run], key))
                run++;
            /* an empty shape or a one-character line is not evidence */
            const char *sh = strchr(key, '|') + 1;
            /* The first page's top lines stay: a title page's first line
             * is often the running header of the others (the title). */
            if (run >= need && strlen(sh) > 1 && !(i == 0 && top)) p->drop[idx] = true;
        }
    }
    free(sorted);
done:
    for (size_t i = 0; i < nkeys; i++)
        free(keys[i]);
    free(keys);
}

static bool is_lower_start(const char *s, size_t n)
{
    if (!n) return false;
    unsigned char c = (unsigned char)s[0];
    if (c >= 'a' && c <= 'z') return true;
    if (c < 0x80) return false;
    /* a non-ASCII letter: lowercase when folding leaves it unchanged and
     * uppercasing changes it (é, ß stays but is lowercase-only) */
    gunichar u = g_utf8_get_char_validated(s, (gssize)n);
    return u != (gunichar)-1 && u != (gunichar)-2 && g_unichar_islower(u);
}

static bool is_word_char_before(const char *s, size_t i)
{
    if (!i) return false;
    unsigned char c = (unsigned char)s[i - 1];
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

/* The page's kept lines, hyphenated words joined, into b. */
static void page_body(const page *p, ragd_buf *b)
{
    ragd_buf_reset(b);
    bool first = true;
    size_t prev_e = 0;
    for (size_t k = 0; k < p->nlines; k++) {
        if (p->drop[k]) continue;
        const line *l = &p->lines[k];
        if (!first) {
            /* a blank line between the kept lines stays a paragraph break */
            bool gap = false;
            for (size_t i = prev_e; i < l->s && !gap; i++)
                gap = p->text[i] == '\n' && i > prev_e;
            size_t bl = b->len;
            const char *t = p->text + l->s;
            size_t tl = l->e - l->s;
            while (tl && (*t == ' ' || *t == '\t'))
                t++, tl--;
            if (!gap && bl >= 2 && b->data[bl - 1] == '-' && b->data[bl - 2] != '-' &&
                is_word_char_before(b->data, bl - 1) && is_lower_start(t, tl)) {
                b->len--; /* "calibra-" + "tion" */
                b->data[b->len] = '\0';
            } else if (!gap && bl >= 2 && (unsigned char)b->data[bl - 2] == 0xC2 &&
                       (unsigned char)b->data[bl - 1] == 0xAD) {
                b->len -= 2; /* soft hyphen */
                b->data[b->len] = '\0';
            } else {
                ragd_buf_puts(b, gap ? "\n\n" : "\n");
            }
        }
        ragd_buf_append(b, p->text + l->s, l->e - l->s);
        prev_e = l->e;
        first = false;
    }
}

/* How page text `next` continues text b: "" (a hyphenated word: b loses
 * its hyphen), "\n" (the same paragraph) or "\n\n". */
static const char *page_join(ragd_buf *b, const char *next, size_t nlen)
{
    if (!b->len) return "";
    size_t bl = b->len;
    unsigned char last = (unsigned char)b->data[bl - 1];
    if (last == '-' && bl >= 2 && b->data[bl - 2] != '-' && is_word_char_before(b->data, bl - 1) &&
        is_lower_start(next, nlen)) {
        b->len--;
        b->data[b->len] = '\0';
        return "";
    }
    /* the page ends mid-sentence and the next one goes on in lowercase */
    bool open = (last >= 'a' && last <= 'z') || last == ',' || last == ';' || last >= 0x80;
    return open && is_lower_start(next, nlen) ? "\n" : "\n\n";
}

/* Is this metadata title a file name or a placeholder, not a title? */
static bool junk_title(const char *t)
{
    size_t n = strlen(t);
    static const char *const EXT[] = {".doc",  ".docx", ".odt", ".pdf", ".tex", ".dvi",
                                      ".indd", ".rtf",  ".txt", ".ps",  NULL};
    for (int i = 0; EXT[i]; i++) {
        size_t k = strlen(EXT[i]);
        if (n >= k && !strcasecmp(t + n - k, EXT[i])) return true;
    }
    return !strncasecmp(t, "Microsoft Word - ", 17) || !strcasecmp(t, "untitled") ||
           !strcasecmp(t, "title") || !strcasecmp(t, "document");
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
    page *pages = ragd_xcalloc((size_t)npages, sizeof *pages);
    ragd_buf tmp = RAGD_BUF_INIT;
    for (int i = 0; i < npages; i++) {
        PopplerPage *pp = poppler_document_get_page(doc, i);
        char *t = pp ? poppler_page_get_text(pp) : NULL;
        if (pp) g_object_unref(pp);
        if (!t) continue;
        if (!text_utf8_check(t, strlen(t), NULL, NULL)) {
            char *valid = g_utf8_make_valid(t, -1);
            g_free(t);
            t = valid;
        }
        clean_page(t, &tmp);
        g_free(t);
        pages[i].len = tmp.len;
        pages[i].text = ragd_xstrdup(tmp.data ? tmp.data : "");
        split_lines(&pages[i]);
    }
    mark_furniture(pages, (size_t)npages);
    ragd_buf text = RAGD_BUF_INIT;
    size_t *starts = ragd_xcalloc((size_t)npages, sizeof *starts);
    bool any = false;
    ragd_status rc = RAGD_OK;
    for (int i = 0; i < npages && !rc; i++) {
        page_body(&pages[i], &tmp);
        char *norm = NULL;
        size_t nlen = 0;
        if (tmp.len) rc = text_normalize(tmp.data, tmp.len, &norm, &nlen, err);
        if (rc) break;
        if (nlen) ragd_buf_puts(&text, page_join(&text, norm, nlen));
        starts[i] = text.len;
        if (nlen) {
            ragd_buf_append(&text, norm, nlen);
            any = true;
        }
        free(norm);
    }
    for (int i = 0; i < npages; i++) {
        free(pages[i].text);
        free(pages[i].lines);
        free(pages[i].drop);
    }
    free(pages);
    ragd_buf_free(&tmp);
    char *title = poppler_document_get_title(doc);
    g_object_unref(doc);
    g_bytes_unref(bytes);
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
        if (tb.len && !junk_title(tb.data) && text_utf8_check(tb.data, tb.len, NULL, NULL) &&
            text_normalize(tb.data, tb.len, &norm, &nlen, NULL) == RAGD_OK)
            d->title = norm;
        ragd_buf_free(&tb);
        g_free(title);
    }
    return ingest_parse_structure(d, "txt", fallback_title, err);
}
