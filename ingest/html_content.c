/* ingest/html_content.c — the main content of an HTML page, not the page.
 *
 * load_html.c renders a DOM to Markdown; this file decides which part of
 * the DOM is worth rendering, the way content extractors (Readability,
 * trafilatura) do, in three steps:
 *
 * 1. The content root. The first element with role="main", else the first
 *    <main>, else the only <article>, else a Sphinx body (div.body); the
 *    whole page when there is none. DocBook (PostgreSQL), Doxygen and
 *    SQLite pages have no single container: step 2 strips their chrome.
 * 2. Pruning, bottom-up (children first, so the smallest block that is
 *    boilerplate goes and its parent is judged on what remains). A subtree
 *    is removed when
 *    - its class or id (an id of at most two words: longer ones are heading
 *      slugs, and none on a section or an element opening with a heading,
 *      whose id is its title's) has a boilerplate word (split on space, '-', '_'):
 *      nav, navbar, navheader, navfooter, menu, sidebar, sphinxsidebar,
 *      related, breadcrumb(s), footer, headerlink, toc/tocN, cookie,
 *      consent, gdpr, banner, donate, skip, search, share, social, pager,
 *      pagination, tagline, toolbar, titlearea, navpath —
 *      unless it also has a content word (content, main, article, body);
 *    - it is a permalink mark: an <a> whose whole text is "¶", "#" or "§";
 *    - it is a navigation strip: two or more links reading Prev/Previous/
 *      Next/Up/Home/Top/Contents/Index with under 200 bytes of other text
 *      ("Prev | Up | Next" tables);
 *    - it is a link block: a list, table, div or section (not a paragraph,
 *      not a definition list) with 3 or more links whose link text is 80 %
 *      or more of its text (menus, in-page tables of contents, index pages);
 *    - it is a page-footer line ending its block: the last block with text
 *      in its parent, short (< 300 bytes of text), starting "© ",
 *      "Copyright ©", "This page last modified", "Last updated" or "Last
 *      modified" (the same line earlier in a block is content).
 *    The root, <body> and <html> are never removed.
 * 3. The title: <title> without its site-name part (html_title_clean).
 *
 * Cost is linear in the DOM: one bottom-up pass; subtrees deeper than
 * PRUNE_DEPTH levels are not pruned (their text is counted iteratively, so
 * a million-deep page cannot exhaust the stack).
 * Thread-safety: pure functions over a DOM the caller owns.
 */
#include <libxml/tree.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "ingest/html.h"

#define PRUNE_DEPTH 200

typedef struct {
    size_t text;     /* non-space bytes of text */
    size_t link;     /* of which inside <a> */
    size_t links;    /* <a href> elements */
    size_t navlinks; /* of which reading Prev/Next/Up/Home/... */
} tstats;

static bool is_el(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && !strcasecmp((const char *)n->name, name);
}

static size_t nonspace(const char *s)
{
    size_t k = 0;
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != '\f') k++;
    return k;
}

/* --- class and id words ------------------------------------------------------ */

static const char *const BOILER[] = {
    "nav",         "navbar",  "navigation", "navheader", "navfooter",     "navpath", "menu",
    "mainmenu",    "submenu", "menubar",    "sidebar",   "sphinxsidebar", "related", "breadcrumb",
    "breadcrumbs", "footer",  "headerlink", "cookie",    "cookies",       "consent", "gdpr",
    "banner",      "donate",  "donation",   "skip",      "skiplink",      "search",  "searchbox",
    "searchmenu",  "share",   "social",     "pager",     "pagination",    "tagline", "toolbar",
    "titlearea",   "toc",     NULL};

static const char *const CONTENT[] = {"content", "main", "article", "body", NULL};

static bool word_in(const char *w, size_t n, const char *const *list)
{
    for (int i = 0; list[i]; i++)
        if (strlen(list[i]) == n && !strncasecmp(w, list[i], n)) return true;
    /* "toc1", "toc2": numbered tables of contents */
    if (list == BOILER && n > 3 && !strncasecmp(w, "toc", 3)) {
        for (size_t k = 3; k < n; k++)
            if (w[k] < '0' || w[k] > '9') return false;
        return true;
    }
    return false;
}

/* Scan an attribute value's words: *boiler / *content set when one matches.
 * An id of more than two words is a heading's slug ("the-sys-path-search"),
 * not a widget name, and is not scanned. */
static void scan_words(const char *v, bool is_id, bool *boiler, bool *content)
{
    if (is_id) {
        size_t words = 0;
        for (const char *p = v; *p;) {
            size_t n = strcspn(p, " \t\n\r-_");
            words += n > 0;
            p += n;
            if (*p) p++;
        }
        if (words > 2) return;
    }
    for (const char *p = v; *p;) {
        size_t n = strcspn(p, " \t\n\r-_");
        if (n) {
            if (word_in(p, n, BOILER)) *boiler = true;
            if (word_in(p, n, CONTENT)) *content = true;
        }
        p += n;
        if (*p) p++;
    }
}

static bool is_heading(const xmlNode *n)
{
    return n && n->type == XML_ELEMENT_NODE && n->name && (n->name[0] | 0x20) == 'h' &&
           n->name[1] >= '1' && n->name[1] <= '6' && !n->name[2];
}

/* Is n's id a slug of its own heading (Sphinx and docutils give every
 * section the id of its title: "navigation", "search")? */
static bool section_id(const xmlNode *n)
{
    if (is_el(n, "section")) return true;
    xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
    bool yes = cls && strstr((const char *)cls, "section");
    if (cls) xmlFree(cls);
    if (yes) return true;
    for (const xmlNode *c = n->children; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE) return is_heading(c);
    return false;
}

static bool boiler_attrs(const xmlNode *n)
{
    bool boiler = false, content = false;
    static const char *const ATTRS[] = {"class", "id", NULL};
    for (int i = 0; ATTRS[i]; i++) {
        if (i == 1 && section_id(n)) continue;
        xmlChar *v = xmlGetProp(n, (const xmlChar *)ATTRS[i]);
        if (v) {
            scan_words((const char *)v, i == 1, &boiler, &content);
            xmlFree(v);
        }
    }
    return boiler && !content;
}

/* --- text tests --------------------------------------------------------------- */

/* The start of n's text, whitespace-collapsed and trimmed, into b (at most
 * cap bytes). Iterative and bounded (TEXT_OF_NODES nodes visited), so a
 * test at every level of a deep tree stays linear. */
#define TEXT_OF_NODES 256
static void text_of(const xmlNode *top, ragd_buf *b, size_t cap)
{
    bool space = false;
    size_t visited = 0;
    const xmlNode *n = top;
    while (n && b->len < cap && visited++ < TEXT_OF_NODES) {
        if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content) {
            for (const char *p = (const char *)n->content; *p && b->len < cap; p++) {
                if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
                    space = b->len > 0;
                    continue;
                }
                if (space) ragd_buf_putc(b, ' ');
                space = false;
                ragd_buf_putc(b, *p);
            }
        }
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n != top && !n->next)
            n = n->parent;
        if (n == top) break;
        n = n->next;
    }
}

static bool is_navword(const char *s)
{
    static const char *const W[] = {"prev", "previous", "next",  "up", "home",
                                    "top",  "contents", "index", NULL};
    /* strip arrows and brackets around the word: "« Prev", "Next »", "[Up]" */
    char w[32];
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && k + 1 < sizeof w; p++)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == ' ') w[k++] = (char)*p;
    w[k] = '\0';
    char *t = w;
    while (*t == ' ')
        t++;
    size_t n = strlen(t);
    while (n && t[n - 1] == ' ')
        t[--n] = '\0';
    for (int i = 0; W[i]; i++)
        if (!strcasecmp(t, W[i])) return true;
    return false;
}

static bool starts_ci(const char *s, const char *prefix)
{
    return !strncasecmp(s, prefix, strlen(prefix));
}

static bool footer_line(const xmlNode *n, size_t text)
{
    if (text >= 300) return false;
    ragd_buf b = RAGD_BUF_INIT;
    text_of(n, &b, 64);
    const char *s = b.data ? b.data : "";
    bool yes = starts_ci(s, "\xC2\xA9 ") || starts_ci(s, "copyright \xC2\xA9") ||
               starts_ci(s, "this page last modified") || starts_ci(s, "last updated") ||
               starts_ci(s, "last modified") || starts_ci(s, "page last updated");
    ragd_buf_free(&b);
    return yes;
}

static bool permalink(const xmlNode *n)
{
    if (!is_el(n, "a")) return false;
    ragd_buf b = RAGD_BUF_INIT;
    text_of(n, &b, 16);
    const char *s = b.data ? b.data : "";
    bool yes = !strcmp(s, "\xC2\xB6") || !strcmp(s, "#") || !strcmp(s, "\xC2\xA7");
    ragd_buf_free(&b);
    return yes;
}

/* --- the bottom-up pass --------------------------------------------------------- */

/* Blocks judged by link density: not <p> (prose with many links is still
 * prose) and not <dl> (a glossary whose definitions are links). */
static const char *const LINK_BLOCKS[] = {"ul",  "ol",     "menu",   "table",   "tbody",
                                          "tr",  "td",     "div",    "section", "aside",
                                          "nav", "center", "header", "footer",  NULL};

/* Blocks that may be a page-footer line. */
static const char *const LINE_BLOCKS[] = {"p",       "div",  "small", "center", "footer",
                                          "address", "span", "i",     "em",     NULL};

static bool in_list(const xmlNode *n, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (is_el(n, names[i])) return true;
    return false;
}

/* Text counts of a subtree too deep to prune, without recursion. */
static tstats count_flat(xmlNode *top)
{
    tstats s = {0};
    xmlNode *n = top;
    while (n) {
        if (n->type == XML_TEXT_NODE && n->content) s.text += nonspace((const char *)n->content);
        if (n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n != top && !n->next)
            n = n->parent;
        if (n == top) break;
        n = n->next;
    }
    return s;
}

static bool removable(const xmlNode *n, const xmlNode *keep)
{
    return n != keep && !is_el(n, "body") && !is_el(n, "html") && !is_el(n, "main") &&
           !is_el(n, "article");
}

static bool boilerplate(const xmlNode *n, const tstats *s)
{
    if (permalink(n)) return true;
    if (boiler_attrs(n)) return true;
    size_t other = s->text - s->link;
    if (s->navlinks >= 2 && other < 200) return true;
    return in_list(n, LINK_BLOCKS) && s->links >= 3 && s->link * 10 >= s->text * 8;
}

static tstats prune(xmlNode *n, const xmlNode *keep, int depth)
{
    tstats s = {0};
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content) s.text = nonspace((const char *)n->content);
        return s;
    }
    if (n->type != XML_ELEMENT_NODE) return s;
    if (depth > PRUNE_DEPTH) return count_flat(n);
    xmlNode *last = NULL; /* the last child with text, and its counts */
    tstats last_s = {0};
    for (xmlNode *c = n->children, *next; c; c = next) {
        next = c->next;
        tstats cs = prune(c, keep, depth + 1);
        if (c->type == XML_ELEMENT_NODE && removable(c, keep) && boilerplate(c, &cs)) {
            xmlUnlinkNode(c);
            xmlFreeNode(c);
            continue;
        }
        if (cs.text) {
            last = c;
            last_s = cs;
        }
        s.text += cs.text;
        s.link += cs.link;
        s.links += cs.links;
        s.navlinks += cs.navlinks;
    }
    /* A footer line ends its block ("This page last modified ..."); the
     * same words earlier are content (a copyright page). */
    if (last && last->type == XML_ELEMENT_NODE && removable(last, keep) &&
        in_list(last, LINE_BLOCKS) && footer_line(last, last_s.text)) {
        xmlUnlinkNode(last);
        xmlFreeNode(last);
        s.text -= last_s.text;
        s.link -= last_s.link;
        s.links -= last_s.links;
        s.navlinks -= last_s.navlinks;
    }
    if (is_el(n, "a")) {
        s.link = s.text;
        s.links++;
        if (s.text && s.text < 32) {
            ragd_buf b = RAGD_BUF_INIT;
            text_of(n, &b, 32);
            if (b.data && is_navword(b.data)) s.navlinks++;
            ragd_buf_free(&b);
        }
    }
    return s;
}

/* --- the content root ------------------------------------------------------------- */

static bool attr_is(const xmlNode *n, const char *name, const char *value)
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)name);
    bool yes = false;
    if (v) {
        if (!strcmp(name, "class")) {
            for (const char *p = (const char *)v; *p;) {
                size_t k = strcspn(p, " \t\n\r");
                if (k == strlen(value) && !strncasecmp(p, value, k)) yes = true;
                p += k;
                if (*p) p++;
            }
        } else {
            yes = !strcasecmp((const char *)v, value);
        }
        xmlFree(v);
    }
    return yes;
}

typedef struct {
    xmlNode *role_main, *main, *article, *sphinx_body;
    size_t narticles;
} roots;

/* Pre-order search, iterative (the DOM may be very deep). */
static void find_roots(xmlNode *top, roots *r)
{
    xmlNode *n = top;
    while (n) {
        bool descend = true;
        if (n->type == XML_ELEMENT_NODE) {
            if (is_el(n, "head") || is_el(n, "script") || is_el(n, "style") || is_el(n, "nav"))
                descend = false;
            else {
                if (!r->role_main && attr_is(n, "role", "main")) r->role_main = n;
                if (!r->main && is_el(n, "main")) r->main = n;
                if (is_el(n, "article")) {
                    if (!r->narticles++) r->article = n;
                    descend = false; /* articles inside an article are one */
                }
                if (!r->sphinx_body && is_el(n, "div") && attr_is(n, "class", "body"))
                    r->sphinx_body = n;
            }
        }
        if (descend && n->type == XML_ELEMENT_NODE && n->children) {
            n = n->children;
            continue;
        }
        while (n != top && !n->next)
            n = n->parent;
        if (n == top) break;
        n = n->next;
    }
}

xmlNode *html_content_root(xmlNode *top)
{
    if (!top) return NULL;
    roots r = {0};
    find_roots(top, &r);
    xmlNode *root = r.role_main        ? r.role_main
                    : r.main           ? r.main
                    : r.narticles == 1 ? r.article
                    : r.sphinx_body    ? r.sphinx_body
                                       : top;
    prune(root, root, 0);
    return root;
}

void html_prune(xmlNode *top)
{
    if (top) prune(top, top, 0);
}

/* --- the title --------------------------------------------------------------------- */

static const char *const SEPS[] = {" \xE2\x80\x94 ", " \xE2\x80\x93 ", " | ",        " - ",
                                   " \xC2\xB7 ",     " :: ",           " \xC2\xBB ", NULL};

/* Does this title part name a site rather than the page? */
static bool site_like(const char *s, size_t n, const char *site)
{
    if (site && *site) {
        size_t k = strlen(site);
        for (size_t i = 0; i + k <= n; i++)
            if (!strncasecmp(s + i, site, k)) return true;
    }
    static const char *const W[] = {"documentation", "docs", "manual", "handbook", "wiki", NULL};
    for (size_t i = 0; i < n;) {
        while (i < n && !((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            i++;
        size_t j = i;
        while (j < n && ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z')))
            j++;
        for (int w = 0; W[w]; w++)
            if (j - i == strlen(W[w]) && !strncasecmp(s + i, W[w], j - i)) return true;
        i = j;
    }
    /* a version number: "Python 3.11.2", "PostgreSQL 15.4" */
    for (size_t i = 0; i + 2 < n; i++)
        if (s[i] >= '0' && s[i] <= '9' && s[i + 1] == '.' && s[i + 2] >= '0' && s[i + 2] <= '9')
            return true;
    return false;
}

/* The first separator at or after `from` (its length in *sl), or NULL. */
static const char *next_sep(const char *s, const char *from, size_t *sl)
{
    const char *best = NULL;
    (void)s;
    for (int i = 0; SEPS[i]; i++) {
        const char *p = strstr(from, SEPS[i]);
        if (p && (!best || p < best)) {
            best = p;
            *sl = strlen(SEPS[i]);
        }
    }
    return best;
}

/* s without backticks, for comparing a rendered heading with a title. */
static char *plain(const char *s)
{
    ragd_buf b = RAGD_BUF_INIT;
    for (; *s; s++)
        if (*s != '`') ragd_buf_putc(&b, *s);
    return ragd_buf_steal(&b);
}

char *html_title_clean(const char *title, const char *h1, const char *site)
{
    if (!title || !*title) return h1 && *h1 ? plain(h1) : NULL;
    char *t = ragd_xstrdup(title);
    char *h = h1 && *h1 ? plain(h1) : NULL;
    size_t hl = h ? strlen(h) : 0;
    size_t sl = 0;
    /* The heading is the title's first or last part: keep just that part. */
    if (h && hl < strlen(t)) {
        if (!strncasecmp(t, h, hl) && next_sep(t, t + hl, &sl) == t + hl) {
            t[hl] = '\0';
            free(h);
            return t;
        }
        size_t tl = strlen(t);
        if (!strcasecmp(t + tl - hl, h)) {
            for (int i = 0; SEPS[i]; i++) {
                size_t k = strlen(SEPS[i]);
                if (tl >= hl + k && !strncmp(t + tl - hl - k, SEPS[i], k)) {
                    memmove(t, t + tl - hl, hl + 1);
                    free(h);
                    return t;
                }
            }
        }
    }
    free(h);
    /* Else drop trailing parts that name the site ("— Python 3.11 documentation"). */
    for (;;) {
        const char *last = NULL, *p = t;
        size_t lastl = 0;
        while ((p = next_sep(t, p, &sl))) {
            last = p;
            lastl = sl;
            p += sl;
        }
        if (!last || last == t) break;
        const char *tail = last + lastl;
        if (!site_like(tail, strlen(tail), site)) break;
        t[last - t] = '\0';
    }
    return t;
}
