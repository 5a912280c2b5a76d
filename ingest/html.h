/* ingest/html.h — private to ingest/: choosing an HTML page's main content
 * (ingest/html_content.c) for the renderer in ingest/load_html.c.
 *
 * Ownership: the functions prune the DOM they are given in place (the caller
 * still owns and frees the document); returned strings are malloc'd.
 * Thread-safety: none needed — each call works on the caller's own DOM.
 */
#ifndef RAGD_INGEST_HTML_H
#define RAGD_INGEST_HTML_H

#include <libxml/tree.h>

/* The element whose subtree is the page's content (role="main", <main>, the
 * only <article>, a Sphinx div.body, else top itself), with boilerplate
 * (navigation, menus, tables of contents, permalinks, footers, banners)
 * removed from it. NULL only when top is NULL. */
xmlNode *html_content_root(xmlNode *top);

/* Remove boilerplate from the whole subtree of top (no root choice). */
void html_prune(xmlNode *top);

/* The page title: `title` without a site-name part ("os — Misc — Python
 * 3.11 documentation" -> "os — Misc"), using the first <h1> text `h1` and
 * the page's declared site name `site` (both may be NULL). NULL when title
 * and h1 are both empty. */
char *html_title_clean(const char *title, const char *h1, const char *site);

#endif
