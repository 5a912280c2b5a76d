/* tests/unit_html.c — the HTML loader keeps a page's content, not the page.
 *
 * Each test hand-writes a small page in the shape a documentation generator
 * emits (Sphinx, DocBook, Doxygen, MkDocs, a hand-made site like SQLite's)
 * and checks, through ingest_parse, that the content survives and the
 * navigation, tables of contents, permalinks and footers do not; titles
 * lose their site-name part; <sup>/<sub> read as ^/_; a tag with thousands
 * of attributes (quadratic inside libxml2) is refused with a clear error.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "ingest/ingest.h"

static void parse_html(const char *html, ingest_doc *d)
{
    ragd_error e = {0};
    ragd_status rc = ingest_parse(html, strlen(html), "html", "fallback", d, &e);
    if (rc) fprintf(stderr, "ingest_parse: %s\n", e.msg);
    assert_int_equal(rc, RAGD_OK);
}

static void has(const ingest_doc *d, const char *needle)
{
    if (!strstr(d->text, needle))
        fprintf(stderr, "missing from text: %s\n---\n%s---\n", needle, d->text);
    assert_non_null(strstr(d->text, needle));
}

static void lacks(const ingest_doc *d, const char *needle)
{
    if (strstr(d->text, needle))
        fprintf(stderr, "unexpected in text: %s\n---\n%s---\n", needle, d->text);
    assert_null(strstr(d->text, needle));
}

static void test_sphinx_page(void **state)
{
    (void)state;
    const char *html =
        "<html><head><title>tarfile \xE2\x80\x94 Read and write tar files \xE2\x80\x94 "
        "Demo 3.11.2 documentation</title></head><body>"
        "<div class=\"related\"><h3>Navigation</h3><ul><li><a href=\"genindex.html\">index</a>"
        "</li><li><a href=\"n.html\">next</a> |</li><li><a href=\"p.html\">previous</a> |</li>"
        "</ul></div>"
        "<div class=\"document\"><div class=\"documentwrapper\"><div class=\"bodywrapper\">"
        "<div class=\"body\" role=\"main\">"
        "<h1>tarfile \xE2\x80\x94 Read and write tar files<a class=\"headerlink\" "
        "href=\"#t\" title=\"Permalink to this heading\">\xC2\xB6</a></h1>"
        "<p>The tarfile module makes it possible to read and write tar archives.</p>"
        "<h2>Examples<a class=\"headerlink\" href=\"#e\">\xC2\xB6</a></h2>"
        "<pre>import tarfile\ntar = tarfile.open(\"sample.tar.gz\")</pre>"
        "</div></div></div>"
        "<div class=\"sphinxsidebar\" role=\"navigation\"><h3>Previous topic</h3>"
        "<p><a href=\"zip.html\">zipfile</a></p><h3>This Page</h3><ul><li>"
        "<a href=\"bugs.html\">Report a Bug</a></li></ul></div></div>"
        "<div class=\"footer\">\xC2\xA9 <a href=\"copyright.html\">Copyright</a> 2001-2023. "
        "Found a bug? Created using Sphinx.</div></body></html>";
    ingest_doc d;
    parse_html(html, &d);
    assert_string_equal(d.title, "tarfile \xE2\x80\x94 Read and write tar files");
    has(&d, "# tarfile \xE2\x80\x94 Read and write tar files\n");
    has(&d, "## Examples\n");
    has(&d, "tar = tarfile.open(\"sample.tar.gz\")");
    has(&d, "read and write tar archives.");
    lacks(&d, "\xC2\xB6");
    lacks(&d, "Copyright");
    lacks(&d, "Found a bug");
    lacks(&d, "Previous topic");
    lacks(&d, "Report a Bug");
    lacks(&d, "previous");
    ingest_doc_free(&d);
}

static void test_docbook_page(void **state)
{
    (void)state;
    /* PostgreSQL's layout: a Prev/Up/Home/Next strip above and below, an
     * in-page table of contents, no single content container. */
    const char *html =
        "<html><head><title>9.4. String Functions</title></head><body>"
        "<div class=\"navheader\"><table><tr><th colspan=\"3\">9.4. String Functions</th></tr>"
        "<tr><td><a href=\"a.html\">Prev</a></td><td><a href=\"b.html\">Up</a></td>"
        "<th>Chapter 9. Functions</th><td><a href=\"index.html\">Home</a></td>"
        "<td><a href=\"c.html\">Next</a></td></tr></table><hr/></div>"
        "<div class=\"sect1\"><div class=\"titlepage\"><h2 class=\"title\">9.4. String "
        "Functions</h2></div>"
        "<div class=\"toc\"><dl class=\"toc\"><dt><a href=\"#f\">9.4.1. format</a></dt></dl></div>"
        "<p>This section describes functions for examining string values.</p>"
        "<table><tr><th>Function</th><th>Returns</th></tr>"
        "<tr><td>lower(text)</td><td>text</td></tr></table>"
        "</div>"
        "<div class=\"navfooter\"><hr/><table><tr><td><a href=\"a.html\">Prev</a></td>"
        "<td><a href=\"b.html\">Up</a></td><td><a href=\"c.html\">Next</a></td></tr>"
        "<tr><td>9.3. Mathematical Functions</td><td><a href=\"index.html\">Home</a></td>"
        "<td>9.5. Binary String Functions</td></tr></table></div></body></html>";
    ingest_doc d;
    parse_html(html, &d);
    assert_string_equal(d.title, "9.4. String Functions");
    has(&d, "## 9.4. String Functions\n");
    has(&d, "describes functions for examining string values.");
    has(&d, "| Function | Returns |\n| --- | --- |\n| lower(text) | text |");
    lacks(&d, "Prev");
    lacks(&d, "Next");
    lacks(&d, "9.4.1. format");
    lacks(&d, "Chapter 9");
    lacks(&d, "9.3. Mathematical");
    ingest_doc_free(&d);
}

static void test_plain_site_by_link_density(void **state)
{
    (void)state;
    /* No class names to go by (SQLite's pages have some, many sites none):
     * blocks that are mostly links go, prose with a link stays. */
    const char *html =
        "<html><head><title>Create Table</title></head><body>"
        "<div><a href=\"index.html\">Home</a> <a href=\"about.html\">About</a> "
        "<a href=\"docs.html\">Documentation</a> <a href=\"dl.html\">Download</a></div>"
        "<ul><li><a href=\"#s1\">1. Syntax</a></li><li><a href=\"#s2\">2. Semantics</a></li>"
        "<li><a href=\"#s3\">3. Constraints</a></li></ul>"
        "<h1>1. Syntax</h1><p>A table is created with the CREATE TABLE statement; see "
        "<a href=\"lang.html\">the language reference</a> for the grammar.</p>"
        "<ul><li>The name of the new table.</li><li>The database it lives in.</li></ul>"
        "<p align=\"center\"><small><i>This page last modified on "
        "<a href=\"x\">2022-12-14</a> UTC</i></small></p></body></html>";
    ingest_doc d;
    parse_html(html, &d);
    has(&d, "# 1. Syntax\n");
    has(&d, "see the language reference for the grammar.");
    has(&d, "- The name of the new table.\n- The database it lives in.");
    lacks(&d, "Download");
    lacks(&d, "2. Semantics");
    lacks(&d, "last modified");
    ingest_doc_free(&d);
}

static void test_main_article_and_banners(void **state)
{
    (void)state;
    /* <main> wins over the page around it; inside it, a cookie banner, a
     * donation box and a breadcrumb trail go. MkDocs/Material: <article>. */
    const char *html =
        "<html><head><title>Install | Acme Docs</title></head><body>"
        "<header><a href=\"/\">Acme</a></header>"
        "<div class=\"cookie-consent\">We use cookies. <a href=\"/p\">Accept</a></div>"
        "<main><ul class=\"breadcrumbs\"><li><a href=\"/\">Docs</a></li></ul>"
        "<h1>Install</h1><p>Run the installer and follow the prompts.</p>"
        "<div id=\"donate-box\">Support us: please donate today.</div>"
        "<p>Energy is mc<sup>2</sup> times one; water is H<sub>2</sub>O.</p></main>"
        "<p>Outside main: not content.</p></body></html>";
    ingest_doc d;
    parse_html(html, &d);
    assert_string_equal(d.title, "Install");
    has(&d, "Run the installer");
    has(&d, "mc^2 times one");
    has(&d, "H_2O");
    lacks(&d, "cookies");
    lacks(&d, "donate");
    lacks(&d, "Outside main");
    lacks(&d, "Docs");
    ingest_doc_free(&d);
    const char *mk = "<html><head><title>Config - MyProj 2.1</title></head><body>"
                     "<nav class=\"md-nav\"><a href=\"a\">A</a></nav>"
                     "<article class=\"md-content__inner\"><h1>Config<a class=\"headerlink\" "
                     "href=\"#c\">\xC2\xB6</a></h1><p>Settings live in a YAML file.</p>"
                     "</article><footer class=\"md-footer\">Made with Material</footer>"
                     "</body></html>";
    parse_html(mk, &d);
    assert_string_equal(d.title, "Config");
    has(&d, "# Config\n\nSettings live in a YAML file.");
    lacks(&d, "Material");
    lacks(&d, "\xC2\xB6");
    ingest_doc_free(&d);
}

/* Content that looks like chrome to a careless rule stays: sections whose
 * ids are their titles' slugs ("search", "copyright"), prose dense with
 * links, a glossary whose definitions are links, copyright lines that are
 * the page's content (only a trailing footer line goes). */
static void test_content_that_looks_like_chrome(void **state)
{
    (void)state;
    const char *html =
        "<html><head><title>Paths</title></head><body><div role=\"main\">"
        "<section id=\"the-module-search-path\"><h1>The module search path</h1>"
        "<p>A search path is set when the interpreter starts.</p></section>"
        "<section id=\"navigation\"><h2>Navigation</h2><p>Keys move the cursor.</p></section>"
        "<div class=\"section\" id=\"copyright\"><h2>Copyright</h2>"
        "<p>Copyright \xC2\xA9 2001 the Example Foundation. All rights reserved.</p>"
        "<p>See the licence for details.</p></div>"
        "<p>The <a href=\"o\">open()</a>, <a href=\"o\">open16()</a> and "
        "<a href=\"o\">open_v2()</a> calls make it.</p>"
        "<dl><dt>ANSI</dt><dd><a href=\"w1\">American National Standards Institute</a></dd>"
        "<dt>API</dt><dd><a href=\"w2\">Application Programming Interface</a></dd>"
        "<dt>ASCII</dt><dd><a href=\"w3\">American Standard Code</a></dd></dl>"
        "<p>\xC2\xA9 2024 Example. Last words of the page.</p>"
        "</div></body></html>";
    ingest_doc d;
    parse_html(html, &d);
    has(&d, "A search path is set");
    has(&d, "Keys move the cursor.");
    has(&d, "Copyright \xC2\xA9 2001 the Example Foundation.");
    has(&d, "See the licence");
    has(&d, "The open(), open16() and open_v2() calls make it.");
    has(&d, "American National Standards Institute");
    lacks(&d, "Last words of the page");
    ingest_doc_free(&d);
}

static void test_titles(void **state)
{
    (void)state;
    static const struct {
        const char *head, *body, *title;
    } CASES[] = {
        /* a version or documentation word names the site */
        {"<title>Logging HOWTO \xE2\x80\x94 Python 3.11.2 documentation</title>", "<p>x</p>",
         "Logging HOWTO"},
        {"<title>CREATE INDEX | PostgreSQL 15.4 Manual</title>", "<p>x</p>", "CREATE INDEX"},
        /* the heading is the title's last part: the site name comes first */
        {"<title>SQLite: Query Planning</title>", "<h1>Query Planning</h1>",
         "SQLite: Query Planning"},
        {"<title>SQLite - Query Planning</title>", "<h1>Query Planning</h1>", "Query Planning"},
        /* the declared site name */
        {"<title>Pricing \xC2\xB7 Widgets Inc</title><meta property=\"og:site_name\" "
         "content=\"Widgets Inc\">",
         "<p>x</p>", "Pricing"},
        /* a dash inside the title that is not a site name stays */
        {"<title>Read-only mode - how it works</title>", "<p>x</p>",
         "Read-only mode - how it works"},
        /* no <title>: the first <h1> */
        {"", "<h1>Only a heading</h1><p>x</p>", "Only a heading"},
    };
    for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
        char html[1024];
        snprintf(html, sizeof html, "<html><head>%s</head><body>%s</body></html>", CASES[i].head,
                 CASES[i].body);
        ingest_doc d;
        parse_html(html, &d);
        if (strcmp(d.title, CASES[i].title)) fprintf(stderr, "case %zu: %s\n", i, d.title);
        assert_string_equal(d.title, CASES[i].title);
        ingest_doc_free(&d);
    }
}

static void test_many_attributes_refused(void **state)
{
    (void)state;
    /* 20k attributes on one tag took 5 s inside libxml2, 200k over 2 min
     * (quadratic): refused at once, naming the tag's offset. */
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, "<html><body><p>before</p><div");
    for (int i = 0; i < 20000; i++)
        ragd_buf_printf(&b, " a%d=\"v\"", i);
    ragd_buf_puts(&b, ">x</div></body></html>");
    ingest_doc d;
    ragd_error e = {0};
    assert_int_equal(ingest_parse(b.data, b.len, "html", "f", &d, &e), RAGD_EINPUT);
    assert_non_null(strstr(e.msg, "has 20000 attributes"));
    assert_non_null(strstr(e.msg, "byte 25"));
    ragd_buf_free(&b);
    /* A few hundred (generated widgets) still parse; quoted '>' and '='
     * inside values do not confuse the count. */
    ragd_buf_puts(&b, "<html><body><div data-x=\"a > b = c\"");
    for (int i = 0; i < 300; i++)
        ragd_buf_printf(&b, " data-k%d='1'", i);
    ragd_buf_puts(&b, "><p>kept text</p></div></body></html>");
    assert_int_equal(ingest_parse(b.data, b.len, "html", "f", &d, &e), RAGD_OK);
    assert_non_null(strstr(d.text, "kept text"));
    ingest_doc_free(&d);
    ragd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sphinx_page),
        cmocka_unit_test(test_docbook_page),
        cmocka_unit_test(test_plain_site_by_link_density),
        cmocka_unit_test(test_main_article_and_banners),
        cmocka_unit_test(test_content_that_looks_like_chrome),
        cmocka_unit_test(test_titles),
        cmocka_unit_test(test_many_attributes_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
