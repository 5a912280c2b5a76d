/* ingest/load_html.c — HTML to Markdown-like text, with libxml2.
 *
 * libxml2's HTML parser (recover mode, no network, no error output) builds a
 * DOM from whatever it is given; this file walks it and writes the text a
 * reader would see as Markdown, which becomes the document text and goes
 * through the Markdown block parser in load.c (so chunks slice it exactly
 * and get heading paths):
 *   h1..h6 -> "# ".."###### " lines; p, div, section, ... -> paragraphs
 *   separated by blank lines; ul/ol/li -> "- " / "1. " items, nested ones
 *   indented under their item; table -> "| a | b |" rows, with a "| --- |"
 *   row after a header row of <th>; pre -> a fenced block, text verbatim;
 *   blockquote -> "> " lines; br -> newline; inline code -> `code`.
 * Inline whitespace (and &nbsp;) collapses to single spaces. Dropped:
 * script, style, noscript, template, svg, iframe, form (and other widgets),
 * nav, anything with role navigation/banner/contentinfo/search, hidden
 * elements, and page-level chrome: a <footer> not inside article/main/
 * section/aside, and such a <header> unless it holds a heading.
 * A paragraph line that would read as Markdown structure (a heading, fence,
 * table row or quote) is escaped with a backslash so it stays a paragraph.
 *
 * Encoding: bytes that are valid UTF-8 are parsed as UTF-8 whatever the page
 * declares; otherwise libxml2 follows the <meta charset> (default Latin-1).
 * Thread-safety: libxml2 is initialized once (pthread_once); each call then
 * parses its own document, so loaders may run on several threads.
 */
#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/html.h"
#include "ingest/loaders.h"

#define MAX_DEPTH 200            /* deeper subtrees are flattened to their text */
#define HTML_MAX_ATTRIBUTES 1000 /* per tag; more is refused (see max_attributes) */

typedef enum { HB_TEXT, HB_CODE, HB_LIST, HB_TABLE, HB_QUOTE, HB_HEADING } hblock_kind;

typedef struct {
    hblock_kind kind;
    char *text; /* owned; no trailing newline */
} hblock;

typedef struct {
    hblock *v;
    size_t n, cap;
    ragd_buf inl; /* inline text not yet flushed into a block */
    bool space;   /* a collapsed space is pending before the next inline text */
    bool plain;   /* inside a heading or table cell: structure becomes text */
    int depth;
} render;

static void render_children(render *r, xmlNode *n);

static void render_free(render *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->v[i].text);
    free(r->v);
    ragd_buf_free(&r->inl);
    memset(r, 0, sizeof *r);
}

static void push_block(render *r, hblock_kind k, char *text)
{
    ragd_array_grow((void **)&r->v, &r->cap, r->n + 1, sizeof *r->v);
    r->v[r->n].kind = k;
    r->v[r->n].text = text;
    r->n++;
}

static bool name_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && !strcasecmp((const char *)n->name, name);
}

static bool name_in(const xmlNode *n, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (name_is(n, names[i])) return true;
    return false;
}

/* An attribute value (owned by the caller via xmlFree), or NULL. */
static char *attr(const xmlNode *n, const char *name)
{
    return (char *)xmlGetProp(n, (const xmlChar *)name);
}

/* --- inline text ------------------------------------------------------------ */

static bool is_html_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

/* Append text, collapsing runs of whitespace (and no-break spaces). */
static void inline_text(render *r, const char *s)
{
    for (size_t i = 0; s[i];) {
        unsigned char c = (unsigned char)s[i];
        if (is_html_space(c)) {
            r->space = true;
            i++;
            continue;
        }
        if (c == 0xC2 && (unsigned char)s[i + 1] == 0xA0) { /* U+00A0 */
            r->space = true;
            i += 2;
            continue;
        }
        if (r->space && r->inl.len && r->inl.data[r->inl.len - 1] != '\n')
            ragd_buf_putc(&r->inl, ' ');
        r->space = false;
        ragd_buf_putc(&r->inl, (char)c);
        i++;
    }
}

/* Would this line start Markdown structure that a paragraph must not? */
static bool needs_escape(const char *s, size_t n)
{
    if (n == 0) return false;
    if (s[0] == '|' || s[0] == '>') return true;
    if (n >= 3 && (!strncmp(s, "```", 3) || !strncmp(s, "~~~", 3))) return true;
    size_t h = 0;
    while (h < n && s[h] == '#')
        h++;
    return h >= 1 && h <= 6 && (h == n || s[h] == ' ' || s[h] == '\t');
}

/* Finish the pending inline text as a paragraph block. */
static void flush_inline(render *r)
{
    ragd_buf *b = &r->inl;
    while (b->len && (is_html_space((unsigned char)b->data[b->len - 1])))
        b->data[--b->len] = '\0';
    r->space = false;
    if (!b->len) {
        ragd_buf_reset(b);
        return;
    }
    ragd_buf out = RAGD_BUF_INIT;
    size_t i = 0;
    while (i < b->len) {
        const char *nl = memchr(b->data + i, '\n', b->len - i);
        size_t e = nl ? (size_t)(nl - b->data) : b->len;
        size_t s = i;
        while (s < e && b->data[s] == ' ')
            s++;
        size_t t = e;
        while (t > s && b->data[t - 1] == ' ')
            t--;
        if (t > s) { /* blank lines inside a paragraph (repeated <br>) are dropped */
            if (out.len) ragd_buf_putc(&out, '\n');
            if (needs_escape(b->data + s, t - s)) ragd_buf_putc(&out, '\\');
            ragd_buf_append(&out, b->data + s, t - s);
        }
        i = e + 1;
    }
    ragd_buf_reset(b);
    if (out.len)
        push_block(r, HB_TEXT, ragd_buf_steal(&out));
    else
        ragd_buf_free(&out);
}

/* <br>: a line break; a second one in a row ends the paragraph. */
static void inline_break(render *r)
{
    ragd_buf *b = &r->inl;
    while (b->len && b->data[b->len - 1] == ' ')
        b->data[--b->len] = '\0';
    if (b->len && b->data[b->len - 1] == '\n') {
        flush_inline(r);
        return;
    }
    if (b->len) ragd_buf_putc(b, '\n');
    r->space = false;
}

/* --- sub-renders ------------------------------------------------------------- */

/* Render n's children on their own and return the blocks joined by `sep`. */
static char *render_sub(render *parent, xmlNode *n, const char *sep, bool plain)
{
    render sub = {.depth = parent->depth + 1, .plain = plain || parent->plain};
    render_children(&sub, n);
    flush_inline(&sub);
    ragd_buf out = RAGD_BUF_INIT;
    for (size_t i = 0; i < sub.n; i++) {
        if (i) ragd_buf_puts(&out, sep);
        ragd_buf_puts(&out, sub.v[i].text);
    }
    render_free(&sub);
    return ragd_buf_steal(&out);
}

/* s with whitespace runs (and U+00A0) collapsed to one space and trimmed;
 * '|' escaped when `pipes`. Malloc'd. */
static char *collapse(const char *s, bool pipes)
{
    ragd_buf out = RAGD_BUF_INIT;
    bool space = false;
    for (size_t i = 0; s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_html_space(c) || (c == 0xC2 && (unsigned char)s[i + 1] == 0xA0)) {
            if (c == 0xC2) i++;
            space = true;
            continue;
        }
        if (space && out.len) ragd_buf_putc(&out, ' ');
        space = false;
        if (pipes && c == '|' && !(i && s[i - 1] == '\\')) ragd_buf_putc(&out, '\\');
        ragd_buf_putc(&out, (char)c);
    }
    return ragd_buf_steal(&out);
}

/* Render n's children as one line of plain text (headings, cells). */
static char *render_line(render *parent, xmlNode *n, bool pipes)
{
    char *s = render_sub(parent, n, " ", true);
    char *t = collapse(s, pipes);
    free(s);
    return t;
}

/* Prefix the first line of text with `first` and every later non-empty line
 * with `rest`. */
static void prefix_lines(ragd_buf *out, const char *text, const char *first, const char *rest)
{
    bool start = true, firstline = true;
    for (const char *p = text; *p; p++) {
        if (start) {
            if (firstline)
                ragd_buf_puts(out, first);
            else if (*p != '\n')
                ragd_buf_puts(out, rest);
            start = false;
            firstline = false;
        }
        ragd_buf_putc(out, *p);
        if (*p == '\n') start = true;
    }
}

/* --- blocks ------------------------------------------------------------------ */

static void render_heading(render *r, xmlNode *n, int level)
{
    flush_inline(r);
    char *t = render_line(r, n, false);
    if (*t) {
        ragd_buf b = RAGD_BUF_INIT;
        for (int i = 0; i < level; i++)
            ragd_buf_putc(&b, '#');
        ragd_buf_putc(&b, ' ');
        ragd_buf_puts(&b, t);
        push_block(r, HB_HEADING, ragd_buf_steal(&b));
    }
    free(t);
}

/* The language of a <pre> from class="language-x" / "lang-x" on it or its
 * first <code> child ("" if none). */
static void pre_language(xmlNode *pre, char lang[32])
{
    lang[0] = '\0';
    xmlNode *code = NULL;
    for (xmlNode *c = pre->children; c; c = c->next)
        if (name_is(c, "code")) {
            code = c;
            break;
        }
    xmlNode *cands[2] = {pre, code};
    for (int k = 0; k < 2 && !lang[0]; k++) {
        if (!cands[k]) continue;
        char *cls = attr(cands[k], "class");
        if (!cls) continue;
        for (char *tok = cls; *tok;) {
            while (*tok == ' ' || *tok == '\t')
                tok++;
            size_t len = strcspn(tok, " \t");
            const char *v = NULL;
            size_t vl = 0;
            if (len > 9 && !strncmp(tok, "language-", 9))
                v = tok + 9, vl = len - 9;
            else if (len > 5 && !strncmp(tok, "lang-", 5))
                v = tok + 5, vl = len - 5;
            if (v && vl < 32) {
                size_t j = 0;
                for (; j < vl; j++) {
                    char ch = v[j];
                    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                          (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '+' ||
                          ch == '#'))
                        break;
                }
                if (j == vl) {
                    memcpy(lang, v, vl);
                    lang[vl] = '\0';
                    break;
                }
            }
            tok += len;
        }
        xmlFree(cls);
    }
}

static void render_pre(render *r, xmlNode *n)
{
    flush_inline(r);
    xmlChar *content = xmlNodeGetContent(n);
    if (!content) return;
    const char *s = (const char *)content;
    size_t len = strlen(s);
    /* A newline right after <pre> is not content (HTML). */
    if (len && s[0] == '\n')
        s++, len--;
    else if (len > 1 && s[0] == '\r' && s[1] == '\n')
        s += 2, len -= 2;
    while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
        len--;
    bool blank = true;
    for (size_t i = 0; i < len && blank; i++)
        blank = is_html_space((unsigned char)s[i]);
    if (!blank) {
        /* A fence longer than any backtick run that starts a line inside. */
        size_t fence = 3;
        for (size_t i = 0; i < len; i++) {
            if (i && s[i - 1] != '\n') continue;
            size_t j = i;
            while (j < len && j - i < 3 && s[j] == ' ')
                j++;
            size_t k = j;
            while (k < len && s[k] == '`')
                k++;
            if (k - j + 1 > fence) fence = k - j + 1;
        }
        char lang[32];
        pre_language(n, lang);
        ragd_buf b = RAGD_BUF_INIT;
        for (size_t i = 0; i < fence; i++)
            ragd_buf_putc(&b, '`');
        ragd_buf_puts(&b, lang);
        ragd_buf_putc(&b, '\n');
        ragd_buf_append(&b, s, len);
        ragd_buf_putc(&b, '\n');
        for (size_t i = 0; i < fence; i++)
            ragd_buf_putc(&b, '`');
        push_block(r, HB_CODE, ragd_buf_steal(&b));
    }
    xmlFree(content);
}

static void render_list(render *r, xmlNode *n, bool ordered)
{
    flush_inline(r);
    long num = 1;
    if (ordered) {
        char *st = attr(n, "start");
        if (st) {
            char *end;
            long v = strtol(st, &end, 10);
            if (end != st && v >= 0 && v < 1000000000L) num = v;
            xmlFree(st);
        }
    }
    ragd_buf out = RAGD_BUF_INIT;
    for (xmlNode *c = n->children; c; c = c->next) {
        char *item;
        if (c->type == XML_ELEMENT_NODE) {
            /* Items joined tight: one line per block, no blank lines. */
            item = render_sub(r, c, "\n", false);
        } else if (c->type == XML_TEXT_NODE && c->content) {
            item = collapse((const char *)c->content, false);
        } else {
            continue;
        }
        if (*item) {
            /* A bare nested list (ul inside ul) belongs under the last item. */
            bool nested = name_is(c, "ul") || name_is(c, "ol") || name_is(c, "menu");
            char marker[32];
            if (nested && out.len)
                snprintf(marker, sizeof marker, "  ");
            else if (ordered)
                snprintf(marker, sizeof marker, "%ld. ", num++);
            else
                snprintf(marker, sizeof marker, "- ");
            char indent[32];
            size_t ml = strlen(marker);
            memset(indent, ' ', ml);
            indent[ml] = '\0';
            if (out.len) ragd_buf_putc(&out, '\n');
            prefix_lines(&out, item, marker, indent);
        }
        free(item);
    }
    if (out.len)
        push_block(r, HB_LIST, ragd_buf_steal(&out));
    else
        ragd_buf_free(&out);
}

/* Rows of `table`, not of tables nested in its cells. */
static void table_rows(xmlNode *n, xmlNode ***rows, size_t *nrows, size_t *cap)
{
    for (xmlNode *c = n->children; c; c = c->next) {
        if (name_is(c, "tr")) {
            ragd_array_grow((void **)rows, cap, *nrows + 1, sizeof **rows);
            (*rows)[(*nrows)++] = c;
        } else if (name_is(c, "thead") || name_is(c, "tbody") || name_is(c, "tfoot")) {
            table_rows(c, rows, nrows, cap);
        }
    }
}

static void render_table(render *r, xmlNode *n)
{
    flush_inline(r);
    for (xmlNode *c = n->children; c; c = c->next)
        if (name_is(c, "caption")) {
            char *cap = render_line(r, c, false);
            if (*cap) {
                inline_text(r, cap);
                flush_inline(r);
            }
            free(cap);
        }
    xmlNode **rows = NULL;
    size_t nrows = 0, cap = 0;
    table_rows(n, &rows, &nrows, &cap);
    ragd_buf out = RAGD_BUF_INIT;
    bool first = true;
    for (size_t i = 0; i < nrows; i++) {
        ragd_buf row = RAGD_BUF_INIT;
        size_t ncells = 0, nth = 0;
        bool any = false;
        for (xmlNode *c = rows[i]->children; c; c = c->next) {
            if (!name_is(c, "td") && !name_is(c, "th")) continue;
            char *t = render_line(r, c, true);
            if (!ncells) ragd_buf_putc(&row, '|');
            if (*t) {
                ragd_buf_putc(&row, ' ');
                ragd_buf_puts(&row, t);
                any = true;
            }
            ragd_buf_puts(&row, " |");
            free(t);
            ncells++;
            nth += name_is(c, "th");
        }
        if (any) {
            if (out.len) ragd_buf_putc(&out, '\n');
            ragd_buf_append(&out, row.data, row.len);
            if (first && nth == ncells) {
                ragd_buf_puts(&out, "\n|");
                for (size_t k = 0; k < ncells; k++)
                    ragd_buf_puts(&out, " --- |");
            }
            first = false;
        }
        ragd_buf_free(&row);
    }
    free(rows);
    if (out.len)
        push_block(r, HB_TABLE, ragd_buf_steal(&out));
    else
        ragd_buf_free(&out);
}

static void render_quote(render *r, xmlNode *n)
{
    flush_inline(r);
    char *t = render_sub(r, n, "\n\n", false);
    if (*t) {
        ragd_buf out = RAGD_BUF_INIT;
        bool start = true;
        for (const char *p = t; *p; p++) {
            if (start) ragd_buf_puts(&out, *p == '\n' ? ">" : "> ");
            start = *p == '\n';
            ragd_buf_putc(&out, *p);
        }
        push_block(r, HB_QUOTE, ragd_buf_steal(&out));
    }
    free(t);
}

static void render_inline_code(render *r, xmlNode *n)
{
    char *t = render_line(r, n, false);
    if (*t) {
        /* Backticks inside need a longer delimiter run. */
        size_t run = 0, longest = 0;
        for (const char *p = t; *p; p++) {
            run = *p == '`' ? run + 1 : 0;
            if (run > longest) longest = run;
        }
        char delim[16];
        size_t dl = longest + 1 < sizeof delim ? longest + 1 : sizeof delim - 1;
        memset(delim, '`', dl);
        delim[dl] = '\0';
        ragd_buf b = RAGD_BUF_INIT;
        ragd_buf_puts(&b, delim);
        if (t[0] == '`') ragd_buf_putc(&b, ' ');
        ragd_buf_puts(&b, t);
        if (t[strlen(t) - 1] == '`') ragd_buf_putc(&b, ' ');
        ragd_buf_puts(&b, delim);
        inline_text(r, b.data);
        ragd_buf_free(&b);
    }
    free(t);
}

/* --- what to drop ------------------------------------------------------------ */

static const char *const DROPPED[] = {
    "script", "style",  "noscript", "template", "svg",      "iframe", "form",     "nav",
    "head",   "object", "embed",    "canvas",   "select",   "button", "textarea", "input",
    "dialog", "audio",  "video",    "map",      "frameset", NULL};

static const char *const SECTIONING[] = {"article", "main", "section", "aside", "nav", NULL};

static bool has_heading(const xmlNode *n)
{
    static const char *const H[] = {"h1", "h2", "h3", "h4", "h5", "h6", NULL};
    for (const xmlNode *c = n->children; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE) continue;
        if (name_in(c, H) || has_heading(c)) return true;
    }
    return false;
}

static bool is_page_level(const xmlNode *n)
{
    for (const xmlNode *p = n->parent; p && p->type == XML_ELEMENT_NODE; p = p->parent)
        if (name_in(p, SECTIONING)) return false;
    return true;
}

static bool dropped(const xmlNode *n)
{
    if (name_in(n, DROPPED)) return true;
    bool drop = false;
    char *v = attr(n, "role");
    if (v) {
        drop = !strcasecmp(v, "navigation") || !strcasecmp(v, "banner") ||
               !strcasecmp(v, "contentinfo") || !strcasecmp(v, "search");
        xmlFree(v);
        if (drop) return true;
    }
    if ((v = attr(n, "hidden"))) {
        xmlFree(v);
        return true;
    }
    if ((v = attr(n, "aria-hidden"))) {
        drop = !strcasecmp(v, "true");
        xmlFree(v);
        if (drop) return true;
    }
    if ((v = attr(n, "style"))) {
        char compact[256];
        size_t k = 0;
        for (const char *p = v; *p && k + 1 < sizeof compact; p++)
            if (!is_html_space((unsigned char)*p)) compact[k++] = (char)(*p | 0x20);
        compact[k] = '\0';
        drop = strstr(compact, "display:none") != NULL;
        xmlFree(v);
        if (drop) return true;
    }
    if (name_is(n, "footer")) return is_page_level(n);
    if (name_is(n, "header")) return is_page_level(n) && !has_heading(n);
    return false;
}

/* --- the walk ----------------------------------------------------------------- */

static const char *const BLOCKS[] = {
    "p",        "div",     "section",    "article", "main",  "aside",   "header",  "footer",
    "address",  "figure",  "figcaption", "dl",      "dt",    "dd",      "details", "summary",
    "fieldset", "legend",  "center",     "body",    "html",  "hgroup",  "li",      "tr",
    "td",       "th",      "thead",      "tbody",   "tfoot", "caption", "hr",      "option",
    "noframes", "picture", "search",     NULL};

static void render_node(render *r, xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content) inline_text(r, (const char *)n->content);
        return;
    }
    if (n->type != XML_ELEMENT_NODE || !n->name) return;
    if (dropped(n)) return;
    if (r->depth > MAX_DEPTH) { /* pathological nesting: keep the text only */
        xmlChar *c = xmlNodeGetContent(n);
        if (c) inline_text(r, (const char *)c);
        xmlFree(c);
        return;
    }
    const char *name = (const char *)n->name;
    static const char *const STRUCTURE[] = {"h1",   "h2",  "h3",      "h4",         "h5", "h6",
                                            "pre",  "xmp", "listing", "plaintext",  "ul", "ol",
                                            "menu", "dir", "table",   "blockquote", NULL};
    if (r->plain && name_in(n, STRUCTURE)) {
        /* Inside a heading or cell, structure is just text between breaks. */
        flush_inline(r);
        r->depth++;
        render_children(r, n);
        r->depth--;
        flush_inline(r);
        return;
    }
    if ((name[0] == 'h' || name[0] == 'H') && name[1] >= '1' && name[1] <= '6' && !name[2]) {
        render_heading(r, n, name[1] - '0');
    } else if (name_is(n, "pre") || name_is(n, "xmp") || name_is(n, "listing") ||
               name_is(n, "plaintext")) {
        render_pre(r, n);
    } else if (name_is(n, "ul") || name_is(n, "menu") || name_is(n, "dir")) {
        render_list(r, n, false);
    } else if (name_is(n, "ol")) {
        render_list(r, n, true);
    } else if (name_is(n, "table")) {
        render_table(r, n);
    } else if (name_is(n, "blockquote")) {
        render_quote(r, n);
    } else if (name_is(n, "br")) {
        inline_break(r);
    } else if (name_is(n, "code") || name_is(n, "kbd") || name_is(n, "samp") || name_is(n, "tt")) {
        render_inline_code(r, n);
    } else if (name_is(n, "sup") || name_is(n, "sub")) {
        char *t = render_line(r, n, false);
        if (*t) {
            /* x<sup>2</sup> -> x^2, H<sub>2</sub>O -> H_2O (no space before) */
            if (r->inl.len && r->inl.data[r->inl.len - 1] != '\n') r->space = false;
            inline_text(r, name_is(n, "sup") ? "^" : "_");
            inline_text(r, t);
        }
        free(t);
    } else if (name_is(n, "img")) {
        /* images carry no text we index */
    } else if (name_in(n, BLOCKS)) {
        flush_inline(r);
        r->depth++;
        render_children(r, n);
        r->depth--;
        flush_inline(r);
    } else { /* inline (a, span, em, strong, ...) and unknown elements */
        r->depth++;
        render_children(r, n);
        r->depth--;
    }
}

static void render_children(render *r, xmlNode *n)
{
    for (xmlNode *c = n->children; c; c = c->next)
        render_node(r, c);
}

static xmlNode *find_element(xmlNode *n, const char *name, int depth)
{
    for (xmlNode *c = n; c && depth < 8; c = c->next) {
        if (name_is(c, name)) return c;
        if (c->type == XML_ELEMENT_NODE && !name_is(c, "body")) {
            xmlNode *f = find_element(c->children, name, depth + 1);
            if (f) return f;
        }
    }
    return NULL;
}

/* The site name a page declares (<meta property="og:site_name"> or
 * <meta name="application-name">), malloc'd, or NULL. */
static char *site_name(xmlNode *root)
{
    xmlNode *head = find_element(root, "head", 0);
    for (xmlNode *c = head ? head->children : NULL; c; c = c->next) {
        if (!name_is(c, "meta")) continue;
        char *k = attr(c, "property");
        if (!k) k = attr(c, "name");
        bool yes = k && (!strcasecmp(k, "og:site_name") || !strcasecmp(k, "application-name"));
        if (k) xmlFree(k);
        char *v = yes ? attr(c, "content") : NULL;
        if (v) {
            char *s = collapse(v, false);
            xmlFree(v);
            if (*s) return s;
            free(s);
        }
    }
    return NULL;
}

/* The largest number of attributes on one tag, scanning the raw bytes once
 * (*at: the tag's offset). Quoted values are skipped whole, so the scan is
 * linear; text that merely looks like a tag (in scripts) only adds small
 * counts. */
static size_t max_attributes(const char *s, size_t n, size_t *at)
{
    size_t best = 0;
    *at = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (s[i] != '<' || !((s[i + 1] | 0x20) >= 'a' && (s[i + 1] | 0x20) <= 'z')) continue;
        size_t j = i + 1, count = 0;
        while (j < n && !is_html_space((unsigned char)s[j]) && s[j] != '>')
            j++;
        for (;;) {
            while (j < n && (is_html_space((unsigned char)s[j]) || s[j] == '/'))
                j++;
            if (j >= n || s[j] == '>') break;
            count++;
            while (j < n && !is_html_space((unsigned char)s[j]) && s[j] != '>' && s[j] != '=')
                j++;
            while (j < n && is_html_space((unsigned char)s[j]))
                j++;
            if (j < n && s[j] == '=') {
                j++;
                while (j < n && is_html_space((unsigned char)s[j]))
                    j++;
                if (j < n && (s[j] == '"' || s[j] == '\'')) {
                    const char *q = memchr(s + j + 1, s[j], n - j - 1);
                    j = q ? (size_t)(q - s) + 1 : n;
                } else {
                    while (j < n && !is_html_space((unsigned char)s[j]) && s[j] != '>')
                        j++;
                }
            }
        }
        if (count > best) {
            best = count;
            *at = i;
        }
        i = j > i ? j - 1 : i;
    }
    return best;
}

ragd_status ingest_html_to_markdown(const char *raw, size_t n, char **md, size_t *md_len,
                                    char **title, ragd_error *err)
{
    *md = NULL;
    *md_len = 0;
    *title = NULL;
    if (n > INT_MAX) return ragd_error_set(err, RAGD_EINPUT, "HTML file too large");
    if (memchr(raw, '\0', n))
        return ragd_error_set(err, RAGD_EINPUT, "binary file (NUL bytes); not an HTML document");
    /* Valid UTF-8 is read as UTF-8 whatever the page declares (a wrong or
     * missing <meta charset> is common); other bytes follow the declaration. */
    /* libxml2 checks each attribute against the element's others: 20k
     * attributes on one tag took 5 s, 200k over 2 minutes (issue 12 #8).
     * No page a person reads has more than a few dozen. */
    size_t at = 0, most = max_attributes(raw, n, &at);
    if (most > HTML_MAX_ATTRIBUTES)
        return ragd_error_set(err, RAGD_EINPUT,
                              "an HTML tag at byte %zu has %zu attributes (at most %d are "
                              "accepted, to bound parsing time); not stored",
                              at, most, HTML_MAX_ATTRIBUTES);
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, xmlInitParser);
    const char *enc = text_utf8_check(raw, n, NULL, NULL) ? "UTF-8" : NULL;
    /* XML_PARSE_HUGE lifts libxml2's nesting limit (256): without it a page
     * with 400 unclosed <font> tags lost its text after paragraph 254 and a
     * 100k-deep one was "only whitespace", silently (issue 12 #7). A parse
     * that still stops early (the parser disables its callbacks on a fatal
     * error) is refused rather than stored cut. */
    htmlParserCtxtPtr ctxt = htmlNewParserCtxt();
    if (!ctxt) return ragd_error_set(err, RAGD_ENOMEM, "cannot start the HTML parser");
    htmlDocPtr doc =
        htmlCtxtReadMemory(ctxt, raw, (int)n, NULL, enc,
                           HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                               HTML_PARSE_NONET | XML_PARSE_HUGE);
    bool stopped = ctxt->disableSAX != 0;
    int why = ctxt->errNo;
    htmlFreeParserCtxt(ctxt);
    if (stopped) {
        if (doc) xmlFreeDoc(doc);
        return ragd_error_set(err, RAGD_EINPUT,
                              "the HTML parser stopped before the end of the page (libxml2 error "
                              "%d), so its text would be cut; not stored",
                              why);
    }
    ragd_buf out = RAGD_BUF_INIT;
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    if (root) {
        xmlNode *t = find_element(root, "title", 0);
        xmlChar *c = t ? xmlNodeGetContent(t) : NULL;
        char *raw_title = c ? collapse((const char *)c, false) : NULL;
        if (c) xmlFree(c);
        char *site = site_name(root);
        /* Render the main content; a content root that renders to nothing
         * (an empty role="main" placeholder) falls back to the whole page. */
        xmlNode *content = html_content_root(root);
        render r = {0};
        render_node(&r, content);
        flush_inline(&r);
        if (!r.n && content != root) {
            html_prune(root);
            render_node(&r, root);
            flush_inline(&r);
        }
        const char *h1 = NULL;
        for (size_t i = 0; i < r.n && !h1; i++)
            if (r.v[i].kind == HB_HEADING && !strncmp(r.v[i].text, "# ", 2)) h1 = r.v[i].text + 2;
        *title = html_title_clean(raw_title, h1, site);
        if (*title && !**title) {
            free(*title);
            *title = NULL;
        }
        free(raw_title);
        free(site);
        for (size_t i = 0; i < r.n; i++) {
            if (i) ragd_buf_puts(&out, "\n\n");
            ragd_buf_puts(&out, r.v[i].text);
        }
        if (out.len) ragd_buf_putc(&out, '\n');
        render_free(&r);
    }
    if (doc) xmlFreeDoc(doc);
    *md_len = out.len;
    *md = ragd_buf_steal(&out);
    return RAGD_OK;
}

ragd_status ingest_load_html(const char *raw, size_t n, const char *fallback_title, ingest_doc *d,
                             ragd_error *err)
{
    char *md = NULL, *title = NULL;
    size_t len = 0;
    ragd_status rc = ingest_html_to_markdown(raw, n, &md, &len, &title, err);
    if (rc) return rc;
    if (len == 0) {
        free(md);
        free(title);
        return ragd_error_set(err, RAGD_ENOTFOUND, "only whitespace, nothing to index; skipped");
    }
    rc = ingest_parse_markdown(md, len, "html", title, fallback_title, d, err);
    free(md);
    free(title);
    return rc;
}
