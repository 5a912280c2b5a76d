/* tests/unit_loaders.c — the HTML and PDF loaders, format detection and
 * --meta parsing.
 *
 * HTML fixtures ($RAGD_FIXTURES/html) go through ingest_parse: headings
 * become heading paths, scripts/styles/navigation/footers are gone, table
 * rows and <pre> text survive intact, entities are decoded; broken input
 * never crashes. PDF fixtures ($RAGD_FIXTURES/pdf, bad/) check page text,
 * page offsets and poppler's error reasons.
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
#include "core/text.h"
#include "ingest/ingest.h"

static char *fixture(const char *rel, size_t *n)
{
    const char *root = getenv("RAGD_FIXTURES");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root ? root : "fixtures", rel);
    char *raw = NULL;
    ragd_error e;
    if (ingest_read_file(path, 0, &raw, n, &e) != RAGD_OK) {
        fprintf(stderr, "cannot read %s: %s\n", path, e.msg);
        fail();
    }
    return raw;
}

static void parse_fixture(const char *rel, const char *format, ingest_doc *d)
{
    size_t n;
    char *raw = fixture(rel, &n);
    ragd_error e = {0};
    ragd_status rc = ingest_parse(raw, n, format, "fallback", d, &e);
    if (rc) fprintf(stderr, "%s: %s\n", rel, e.msg);
    assert_int_equal(rc, RAGD_OK);
    free(raw);
}

/* The offset of needle in d->text (fails when absent). */
static size_t offset_of(const ingest_doc *d, const char *needle)
{
    const char *p = strstr(d->text, needle);
    if (!p) fprintf(stderr, "missing from text: %s\n---\n%s\n---\n", needle, d->text);
    assert_non_null(p);
    return (size_t)(p - d->text);
}

/* The block containing offset off. */
static const ingest_block *block_at(const ingest_doc *d, size_t off)
{
    for (size_t i = 0; i < d->nblocks; i++)
        if (d->blocks[i].start <= off && off < d->blocks[i].end) return &d->blocks[i];
    fail_msg("no block at offset %zu", off);
    return NULL;
}

static const char *path_at(const ingest_doc *d, size_t off)
{
    return d->sections[block_at(d, off)->section].heading_path;
}

static void assert_absent(const ingest_doc *d, const char *s)
{
    if (strstr(d->text, s)) fail_msg("'%s' should have been dropped:\n%s", s, d->text);
}

static void assert_sane_text(const ingest_doc *d)
{
    size_t bad;
    const char *why;
    assert_true(text_utf8_check(d->text, d->len, &bad, &why));
    assert_int_equal(strlen(d->text), d->len);
    char *norm = NULL;
    size_t nlen = 0;
    assert_int_equal(text_normalize(d->text, d->len, &norm, &nlen, NULL), RAGD_OK);
    assert_int_equal(nlen, d->len); /* already NFC */
    assert_memory_equal(norm, d->text, nlen);
    free(norm);
    for (size_t i = 0; i < d->nblocks; i++) {
        assert_true(d->blocks[i].start < d->blocks[i].end);
        assert_true(d->blocks[i].end <= d->len);
    }
}

/* --- HTML -------------------------------------------------------------------- */

static void test_html_clean_article(void **state)
{
    (void)state;
    ingest_doc d;
    parse_fixture("html/clean-article.html", "html", &d);
    assert_sane_text(&d);
    assert_string_equal(d.format, "html");
    assert_string_equal(d.title, "Whip-and-Tongue Grafting at the Kestrel Valley Orchard");
    assert_int_equal(d.npages, 0);
    /* Headings: Markdown lines and heading paths. */
    size_t h = offset_of(&d, "# Whip-and-Tongue Grafting\n");
    assert_int_equal(h, 0);
    assert_int_equal(block_at(&d, h)->kind, BLOCK_HEADING);
    assert_int_equal(block_at(&d, h)->level, 1);
    size_t h3 = offset_of(&d, "\n### Rootstock Choices\n") + 1;
    assert_int_equal(block_at(&d, h3)->kind, BLOCK_HEADING);
    assert_int_equal(block_at(&d, h3)->level, 3);
    assert_string_equal(path_at(&d, offset_of(&d, "| MM106 |")),
                        "Whip-and-Tongue Grafting > Making the Graft > Rootstock Choices");
    assert_string_equal(path_at(&d, offset_of(&d, "single-bevel")),
                        "Whip-and-Tongue Grafting > Tools and Materials");
    /* Inline whitespace collapsed into one paragraph line. */
    offset_of(&d, "\n\nThe Kestrel Valley Orchard Cooperative grafts about 1,400 apple trees every "
                  "March. This guide");
    /* Lists: bullets, nested bullets, numbers. */
    size_t li = offset_of(&d, "- A single-bevel grafting knife, sharpened on the 1000-grit stone\n"
                              "- Grafting tape:\n"
                              "  - rubber budding strips for the union\n"
                              "  - parafilm for sealing the scion tip\n"
                              "- Dormant scion wood");
    assert_int_equal(block_at(&d, li)->kind, BLOCK_LIST);
    offset_of(&d, "1. Make one smooth diagonal cut about 3 cm long on the rootstock.\n2. Make");
    offset_of(&d, "\n3. Cut the tongue:");
    /* The table: one row per line, cells intact, header separator. */
    size_t tb = offset_of(&d, "| Rootstock | Tree height | Years to fruit |\n"
                              "| --- | --- | --- |\n"
                              "| M27 | 1.5 m | 2 |\n"
                              "| MM106 | 4 m | 3 |\n"
                              "| Seedling | 7 m | 6 |\n");
    assert_int_equal(block_at(&d, tb)->kind, BLOCK_TABLE);
    /* <pre>: verbatim inside a fence, entities decoded, language kept. */
    size_t pre =
        offset_of(&d, "```python\n"
                      "def label(variety, rootstock, year):\n"
                      "    # one line per tree, e.g. \"Ashmead's Kernel / M27 / 2024\"\n"
                      "    return f\"{variety} / {rootstock} / {year}\"\n"
                      "\n"
                      "if __name__ == \"__main__\":\n"
                      "    print(label(\"Ashmead's Kernel\", \"M27\", 2024))  # x < y && z\n"
                      "```\n");
    assert_int_equal(block_at(&d, pre)->kind, BLOCK_CODE);
    /* The "# one line" comment in the code is not a heading. */
    for (size_t i = 0; i < d.nsections; i++)
        assert_null(strstr(d.sections[i].heading_path, "one line per tree"));
    offset_of(&d, "with `label.py`:");
    size_t q = offset_of(&d, "> Tape firmly, but never cover the scion buds.");
    assert_int_equal(block_at(&d, q)->kind, BLOCK_QUOTE);

    /* Chunks carry the heading paths. */
    ragd_settings s;
    store_settings_init(&s);
    store_settings_defaults(&s);
    s.chunk_tokens = 48;
    s.overlap = 0;
    chunk_list cl;
    ragd_error e;
    assert_int_equal(chunk_document(&d, &s, NULL, NULL, &cl, &e), RAGD_OK);
    bool seen = false;
    for (size_t i = 0; i < cl.n; i++) {
        const chunk *c = &cl.v[i];
        if (memmem(d.text + c->start, c->end - c->start, "| Seedling |", 12)) {
            assert_string_equal(c->heading_path,
                                "Whip-and-Tongue Grafting > Making the Graft > Rootstock Choices");
            seen = true;
        }
    }
    assert_true(seen);
    chunk_list_free(&cl);
    ingest_doc_free(&d);
}

static void test_html_messy_page(void **state)
{
    (void)state;
    ingest_doc d;
    parse_fixture("html/messy-page.html", "html", &d);
    assert_sane_text(&d);
    assert_string_equal(d.title, "Marlow Street Bike Repair Café – Hours & FAQ");
    /* Every marker planted in dropped content is gone. */
    static const char *const GONE[] = {
        "zzq",           "trackingPixel", "Verdana", "HOTPINK", "jquery",
        "BreadcrumbFAQ", "Donate",        "Events",  "MSBRC",   "Privacy",
        "Sign up",       "Newsletter",    "<",       NULL};
    for (int i = 0; GONE[i]; i++)
        assert_absent(&d, GONE[i]);
    assert_int_equal(offset_of(&d, "# Opening Hours & FAQ\n"), 0);
    /* Unclosed <p>: two paragraphs; entities decoded. */
    offset_of(&d, "back room of the old tram depot.\n\nBring your bike, we bring the tools — and "
                  "the tea.");
    /* Unclosed <h2> and <td>/<tr>: still a heading and table rows. */
    size_t row = offset_of(&d, "| Tuesday | 18:00–21:00 |\n| Saturday | 10:00–14:00 |");
    assert_int_equal(block_at(&d, row)->kind, BLOCK_TABLE);
    assert_string_equal(path_at(&d, row), "Opening Hours & FAQ > When we are open");
    /* <br> is a line break, <br><br> a paragraph break; misnested tags keep text. */
    size_t faq = offset_of(&d, "Do I have to pay?\nNo. Repairs are free;");
    assert_string_equal(path_at(&d, faq), "Opening Hours & FAQ > Frequently asked questions");
    offset_of(&d, "is welcome.\n\nCan you fix e-bikes?\nWe fix the bike part");
    offset_of(&d, "- Tubes and patches are sold at cost\n- We keep a box of donated lights");
    ingest_doc_free(&d);
}

static void test_html_entities_and_scripts(void **state)
{
    (void)state;
    ingest_doc d;
    parse_fixture("html/intl-entities.html", "html", &d);
    assert_sane_text(&d);
    /* No <title>: the first H1. */
    assert_string_equal(d.title, "Café Menü & Priçes — 2024");
    offset_of(&d, "Espresso costs €2.40 < €3 & a croissant €1.90; all prices include "
                  "“service”… © Café Lumière. Smile: 😀.");
    assert_string_equal(path_at(&d, offset_of(&d, "Ο καφές σερβίρεται")),
                        "Café Menü & Priçes — 2024 > Ελληνικά");
    assert_string_equal(path_at(&d, offset_of(&d, "Кофейня открыта")),
                        "Café Menü & Priçes — 2024 > Русский");
    assert_string_equal(path_at(&d, offset_of(&d, "当店のコーヒー")),
                        "Café Menü & Priçes — 2024 > 日本語");
    assert_string_equal(path_at(&d, offset_of(&d, "我们的咖啡")),
                        "Café Menü & Priçes — 2024 > 中文");
    assert_string_equal(path_at(&d, offset_of(&d, "المقهى مفتوح")),
                        "Café Menü & Priçes — 2024 > العربية");
    static const char *const RAW[] = {"&amp;", "&euro;", "&#", "&nbsp;", "&hellip;", "&E", NULL};
    for (int i = 0; RAW[i]; i++) /* no entity left undecoded */
        assert_absent(&d, RAW[i]);
    ingest_doc_free(&d);
    /* A character reference that is not NFC comes out composed. */
    const char *nfd = "<p>Cafe&#x301; cre&#x300;me</p>";
    ragd_error e;
    assert_int_equal(ingest_parse(nfd, strlen(nfd), "html", "f", &d, &e), RAGD_OK);
    assert_string_equal(d.text, "Café crème\n");
    assert_string_equal(d.title, "f");
    ingest_doc_free(&d);
}

static void test_html_edge_cases(void **state)
{
    (void)state;
    ingest_doc d;
    ragd_error e;
    /* Nothing textual: the blank-text skip. */
    const char *empty[] = {
        "<html><head><title>T</title><script>var x = 1;</script></head><body> </body></html>",
        "   \n\t ", "<!-- only a comment -->",
        "<nav>menu</nav><style>p{}</style><footer>(c)</footer>", NULL};
    for (int i = 0; empty[i]; i++) {
        assert_int_equal(ingest_parse(empty[i], strlen(empty[i]), "html", "f", &d, &e),
                         RAGD_ENOTFOUND);
        assert_non_null(strstr(e.msg, "only whitespace"));
    }
    assert_int_equal(ingest_parse("<p>a\0b</p>", 10, "html", "f", &d, &e), RAGD_EINPUT);
    /* Paragraph text that looks like Markdown structure stays a paragraph. */
    const char *md = "<p># not a heading<br>```not a fence<br>| not a row<br>&gt; not a quote</p>"
                     "<h2>Real</h2><p>x</p>";
    assert_int_equal(ingest_parse(md, strlen(md), "html", "f", &d, &e), RAGD_OK);
    assert_int_equal(d.nsections, 2);
    assert_string_equal(d.sections[1].heading_path, "Real");
    assert_int_equal(d.blocks[0].kind, BLOCK_PARA);
    assert_int_equal(d.blocks[0].end, offset_of(&d, "\n\n## Real"));
    ingest_doc_free(&d);
    /* Latin-1 bytes with a declared charset are converted. */
    const char *latin = "<meta charset=\"iso-8859-1\"><p>caf\xe9 cr\xe8me</p>";
    assert_int_equal(ingest_parse(latin, strlen(latin), "html", "f", &d, &e), RAGD_OK);
    assert_string_equal(d.text, "café crème\n");
    ingest_doc_free(&d);
    /* Structure inside table cells and headings flattens to text. */
    const char *cells = "<table><tr><td><p>a</p><p>b|c</p></td><td><ul><li>x<li>y</ul></td></tr>"
                        "</table><h2>Head <em>with</em><br>break</h2>";
    assert_int_equal(ingest_parse(cells, strlen(cells), "html", "f", &d, &e), RAGD_OK);
    assert_string_equal(d.text, "| a b\\|c | x y |\n\n## Head with break\n");
    ingest_doc_free(&d);
    /* A fence inside <pre> gets a longer fence around it. */
    const char *fence = "<pre>```\ninner\n```</pre>";
    assert_int_equal(ingest_parse(fence, strlen(fence), "html", "f", &d, &e), RAGD_OK);
    assert_string_equal(d.text, "````\n```\ninner\n```\n````\n");
    assert_int_equal(d.nblocks, 1);
    assert_int_equal(d.blocks[0].kind, BLOCK_CODE);
    ingest_doc_free(&d);
    /* Broken, deep and random input never crashes. */
    ragd_buf deep = RAGD_BUF_INIT;
    for (int i = 0; i < 5000; i++)
        ragd_buf_puts(&deep, i % 3 ? "<div><span>" : "<ul><li><table><tr><td>");
    ragd_buf_puts(&deep, "deep text");
    ragd_status rc = ingest_parse(deep.data, deep.len, "html", "f", &d, &e);
    assert_true(rc == RAGD_OK || rc == RAGD_ENOTFOUND);
    if (rc == RAGD_OK) ingest_doc_free(&d);
    ragd_buf_free(&deep);
    uint32_t seed = 12345;
    static const char *const BITS[] = {
        "<p>",      "</p>",  "<li>",     "<ul>",  "<table>",   "<td>", "<tr>",   "<pre>", "</pre>",
        "<h2>",     "</h3>", "<script>", "&amp;", "&#xZZ;",    "<",    ">",      "\"",    " text ",
        "\xc3\xa9", "<br>",  "<!--",     "-->",   "<![CDATA[", "]]>",  "<code>", "\n"};
    for (int round = 0; round < 300; round++) {
        ragd_buf b = RAGD_BUF_INIT;
        int parts = 1 + (int)(seed % 60);
        for (int k = 0; k < parts; k++) {
            seed = seed * 1103515245u + 12345u;
            ragd_buf_puts(&b, BITS[(seed >> 16) % (sizeof BITS / sizeof BITS[0])]);
        }
        rc = ingest_parse(b.data, b.len, "html", "f", &d, &e);
        assert_true(rc == RAGD_OK || rc == RAGD_ENOTFOUND);
        if (rc == RAGD_OK) {
            assert_sane_text(&d);
            ingest_doc_free(&d);
        }
        ragd_buf_free(&b);
    }
}

/* --- Markdown setext headings and man pages ------------------------------- */

static void test_setext_headings(void **state)
{
    (void)state;
    const char *md = "Widget Tool\n===========\n\nIntro text.\n\nInstalling\n----------\n\n"
                     "Run make.\n\n- a list item\n---\n\nTwo lines of\nparagraph\n---\n\n"
                     "---\ntitle: front matter\n---\n";
    ingest_doc d;
    ragd_error e;
    assert_int_equal(ingest_parse(md, strlen(md), "md", "README.md", &d, &e), RAGD_OK);
    assert_string_equal(d.title, "Widget Tool");
    assert_int_equal(d.blocks[0].kind, BLOCK_HEADING);
    assert_int_equal(d.blocks[0].level, 1);
    assert_string_equal(path_at(&d, offset_of(&d, "Intro text.")), "Widget Tool");
    assert_string_equal(path_at(&d, offset_of(&d, "Run make.")), "Widget Tool > Installing");
    /* "---" under a list item or a two-line paragraph is not a heading, nor
     * is front matter's closing line. */
    assert_int_not_equal(block_at(&d, offset_of(&d, "a list item"))->kind, BLOCK_HEADING);
    assert_int_not_equal(block_at(&d, offset_of(&d, "paragraph\n"))->kind, BLOCK_HEADING);
    assert_int_not_equal(block_at(&d, offset_of(&d, "title: front"))->kind, BLOCK_HEADING);
    assert_string_equal(path_at(&d, offset_of(&d, "title: front")), "Widget Tool > Installing");
    ingest_doc_free(&d);
    /* A title is plain text: an H1 that is a logo image gives its alt text,
     * links their text, code its letters. */
    const char *logo = "# ![libwidget](https://example.org/logo.png)\n\nText.\n";
    assert_int_equal(ingest_parse(logo, strlen(logo), "md", "README.md", &d, &e), RAGD_OK);
    assert_string_equal(d.title, "libwidget");
    ingest_doc_free(&d);
    const char *link = "# The [`wtool`](https://example.org) manual\n\nText.\n";
    assert_int_equal(ingest_parse(link, strlen(link), "md", "README.md", &d, &e), RAGD_OK);
    assert_string_equal(d.title, "The wtool manual");
    ingest_doc_free(&d);
}

static void test_man_page(void **state)
{
    (void)state;
    const char *man = "TAR(1)                      GNU TAR Manual                      TAR(1)\n\n"
                      "NAME\n       tar - an archiving utility\n\n"
                      "SYNOPSIS\n       tar -c [-f ARCHIVE] [OPTIONS] [FILE...]\n\n"
                      "DESCRIPTION\n       GNU tar saves many files together into a single\n"
                      "       tape or disk archive.\n\n"
                      "OPTIONS\n   Operation mode\n       -c, --create\n"
                      "              Create a new archive.\n\n"
                      "   Compression options\n       -z, --gzip\n"
                      "              Filter the archive through gzip.\n\n"
                      "ENVIRONMENT\n\tTAR_ATIME\n\t      The access time.\n\n"
                      "SEE ALSO\n       gzip(1)\n\n"
                      "GNU TAR 1.34                 February 2021                     TAR(1)\n";
    ingest_doc d;
    ragd_error e;
    assert_int_equal(ingest_parse(man, strlen(man), "txt", "tar.1.txt", &d, &e), RAGD_OK);
    assert_string_equal(d.title, "tar - an archiving utility");
    assert_string_equal(path_at(&d, offset_of(&d, "saves many files")), "DESCRIPTION");
    assert_string_equal(path_at(&d, offset_of(&d, "Create a new archive")),
                        "OPTIONS > Operation mode");
    assert_string_equal(path_at(&d, offset_of(&d, "through gzip")),
                        "OPTIONS > Compression options");
    assert_string_equal(path_at(&d, offset_of(&d, "gzip(1)")), "SEE ALSO");
    /* col(1) writes indents as tabs: a tab-indented name is body text */
    assert_string_equal(path_at(&d, offset_of(&d, "The access time")), "ENVIRONMENT");
    /* the footer is not a heading */
    assert_int_not_equal(block_at(&d, offset_of(&d, "GNU TAR 1.34"))->kind, BLOCK_HEADING);
    ingest_doc_free(&d);
    /* Plain text that is not a man page keeps its first line as title. */
    const char *txt = "Release notes\n\nNAME\n  not a man page\n";
    assert_int_equal(ingest_parse(txt, strlen(txt), "txt", "f", &d, &e), RAGD_OK);
    assert_string_equal(d.title, "Release notes");
    assert_int_equal(d.nsections, 1);
    ingest_doc_free(&d);
}

/* --- PDF --------------------------------------------------------------------- */

/* A printed manual (fixtures/pdf/make-pdfs.py): running headers alternating
 * on even/odd pages, page numbers in the footers ("41", "Page 2 of 5"),
 * words hyphenated across line ends and page breaks, a paragraph and a
 * quoted sentence running over a page break. */
static void test_pdf_page_furniture(void **state)
{
    (void)state;
    ingest_doc d;
    parse_fixture("pdf/pump-manual.pdf", "pdf", &d);
    assert_sane_text(&d);
    assert_int_equal(d.npages, 5);
    /* The metadata title is a file name: the first line is the title. */
    assert_string_equal(d.title, "Model K4 Pump Handbook");
    /* Headers, footers and page numbers are gone; the title page's first
     * line (the same words as the odd pages' header) stays, once. */
    const char *h = strstr(d.text, "Model K4 Pump Handbook");
    assert_ptr_equal(h, d.text);
    assert_null(strstr(h + 1, "Model K4 Pump Handbook"));
    assert_null(strstr(d.text, "Chapter 2: Installation"));
    assert_null(strstr(d.text, "Page 2 of 5"));
    assert_null(strstr(d.text, "41"));
    assert_null(strstr(d.text, "43"));
    assert_null(memchr(d.text, '\f', d.len));
    /* Hyphenated words are whole again, within a page and across one. */
    offset_of(&d, "the whole assembly should sit");
    offset_of(&d, "for ten minutes. Then measure");
    offset_of(&d, "Recalibration is needed");
    assert_null(strstr(d.text, "assem-"));
    /* The paragraph broken by the page 2/3 break is one paragraph, and the
     * quote is one sentence with nothing between its words. */
    size_t when = offset_of(&d, "primes itself when\nit is switched on.");
    assert_true(when < d.page_starts[2] && when + 20 > d.page_starts[2]);
    const ingest_block *b = block_at(&d, when);
    assert_true(b->end > d.page_starts[2]);
    offset_of(&d, "\"Never run the pump dry, not even\nfor a moment.\"");
    /* Page offsets still name the right pages. */
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "strainer basket")), 2);
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "trapped air")), 3);
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "Winter storage")), 5);
    ingest_doc_free(&d);
}

static void test_pdf_pages(void **state)
{
    (void)state;
    ingest_doc d;
    parse_fixture("pdf/saltmarsh-survey.pdf", "pdf", &d);
    assert_sane_text(&d);
    assert_string_equal(d.format, "pdf");
    assert_string_equal(d.title, "Saltmarsh Heron Survey, Field Notes");
    assert_int_equal(d.npages, 3);
    assert_int_equal(d.page_starts[0], 0);
    for (size_t i = 1; i < d.npages; i++) {
        assert_true(d.page_starts[i] > d.page_starts[i - 1]);
        /* each page here ends a paragraph: a blank line, no form feed */
        assert_memory_equal(d.text + d.page_starts[i] - 2, "\n\n", 2);
    }
    assert_int_equal(strncmp(d.text + d.page_starts[1], "Counts by creek\n", 16), 0);
    assert_int_equal(strncmp(d.text + d.page_starts[2], "Conclusions\n", 12), 0);
    assert_null(memchr(d.text, '\f', d.len));
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "Widdowmere saltmarsh")), 1);
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "avocet")), 2);
    assert_int_equal(ingest_doc_page_at(&d, offset_of(&d, "shingle bank")), 3);
    assert_int_equal(ingest_doc_page_at(&d, d.page_starts[1]), 2);
    assert_int_equal(ingest_doc_page_at(&d, d.page_starts[1] - 1), 1);
    assert_int_equal(ingest_doc_page_at(&d, d.len - 1), 3);
    /* A page is never part of another page's paragraph. */
    size_t av = offset_of(&d, "avocet");
    assert_true(block_at(&d, av)->start >= d.page_starts[1]);
    assert_true(block_at(&d, av)->end < d.page_starts[2]);
    ingest_doc_free(&d);

    parse_fixture("pdf/ferry-notice.pdf", "pdf", &d);
    assert_sane_text(&d);
    assert_int_equal(d.npages, 1);
    assert_string_equal(d.title, "Kellan Sound Ferry: Summer Timetable Notice");
    offset_of(&d, "£4.20");
    offset_of(&d, "Müller's Garage");
    offset_of(&d, "The café on the upper");
    assert_int_equal(ingest_doc_page_at(&d, d.len - 1), 1);
    ingest_doc_free(&d);

    /* Documents without pages. */
    const char *t = "plain\n";
    ragd_error e;
    assert_int_equal(ingest_parse(t, strlen(t), "txt", "f", &d, &e), RAGD_OK);
    assert_int_equal(d.npages, 0);
    assert_int_equal(ingest_doc_page_at(&d, 0), 0);
    ingest_doc_free(&d);
}

static void test_pdf_bad(void **state)
{
    (void)state;
    ingest_doc d;
    ragd_error e;
    size_t n;
    char *raw = fixture("bad/truncated.pdf", &n);
    assert_int_equal(ingest_parse(raw, n, "pdf", "f", &d, &e), RAGD_EINPUT);
    assert_non_null(strstr(e.msg, "cannot read PDF: "));
    assert_non_null(strstr(e.msg, "damaged"));
    free(raw);
    raw = fixture("bad/encrypted.pdf", &n);
    assert_int_equal(ingest_parse(raw, n, "pdf", "f", &d, &e), RAGD_EINPUT);
    assert_non_null(strstr(e.msg, "encrypted"));
    free(raw);
    /* Garbage after a PDF header, and every prefix of a real PDF. */
    const char *junk = "%PDF-1.7\n\x01\x02 garbage obj << /Type /Catalog >>";
    ragd_status rc = ingest_parse(junk, strlen(junk), "pdf", "f", &d, &e);
    assert_true(rc == RAGD_EINPUT || rc == RAGD_ENOTFOUND);
    raw = fixture("pdf/ferry-notice.pdf", &n);
    for (size_t cut = 1; cut < n; cut += 97) {
        rc = ingest_parse(raw, cut, "pdf", "f", &d, &e);
        assert_true(rc == RAGD_OK || rc == RAGD_EINPUT || rc == RAGD_ENOTFOUND);
        if (rc == RAGD_OK) {
            assert_sane_text(&d);
            ingest_doc_free(&d);
        }
    }
    free(raw);
}

/* --- format detection and --meta ------------------------------------------- */

static const char *detect(const char *path, const char *hint, const char *head)
{
    ragd_error e;
    return ingest_detect_format(path, hint, head, strlen(head), &e);
}

static void test_detect_format(void **state)
{
    (void)state;
    assert_string_equal(detect("a.html", NULL, "x"), "html");
    assert_string_equal(detect("dir/a.HTM", "auto", "x"), "html");
    assert_string_equal(detect("a.xhtml", NULL, "x"), "html");
    assert_string_equal(detect("a.pdf", NULL, "x"), "pdf");
    assert_string_equal(detect("a.PDF", NULL, "x"), "pdf");
    assert_string_equal(detect("a.txt", "html", "x"), "html");
    assert_string_equal(detect("a.html", "pdf", "x"), "pdf");
    assert_string_equal(detect("a.html", "txt", "x"), "txt");
    /* Unknown extensions: sniffed. */
    ragd_error e;
    assert_string_equal(ingest_detect_format("scan", NULL, "%PDF-1.7\n\0\xff\xfe", 13, &e), "pdf");
    assert_string_equal(detect("page.asp", NULL, "<!DOCTYPE html><p>x"), "html");
    assert_string_equal(detect("page", NULL, " \n\t<!doctype HTML>"), "html");
    assert_string_equal(detect("page.php", NULL, "\xEF\xBB\xBF\n<HTML lang=en>"), "html");
    assert_string_equal(detect("page.cgi", NULL, "<html>"), "html");
    assert_string_equal(detect("notes", NULL, "hello <html> world"), "txt");
    assert_string_equal(detect("notes.log", NULL, "%PDF is a prefix here? no: %PDF"), "txt");
    /* An extension wins over content. */
    assert_string_equal(detect("a.md", NULL, "<html>"), "md");
    assert_string_equal(detect("a.txt", NULL, "%PDF-1.4"), "txt");
    /* Still unsupported; unknown --format is a usage error naming the list. */
    assert_null(ingest_detect_format("a.docx", NULL, "x", 1, &e));
    assert_int_equal(e.code, RAGD_EINPUT);
    assert_null(ingest_detect_format("a.txt", "rtf", "x", 1, &e));
    assert_int_equal(e.code, RAGD_EUSAGE);
    assert_non_null(strstr(e.msg, "html, pdf"));
    assert_null(ingest_detect_format("blob", NULL, "ab\0cd", 5, &e));
}

static void test_meta_parse(void **state)
{
    (void)state;
    ragd_error e;
    json_t *o = NULL;
    const char *ok[] = {"team=infra", "year=2024", "a.b-c_D9=x=y", "empty=", "team=platform"};
    assert_int_equal(ingest_meta_parse(ok, 5, &o, &e), RAGD_OK);
    assert_int_equal(json_object_size(o), 4);
    assert_string_equal(json_string_value(json_object_get(o, "team")), "platform"); /* last wins */
    assert_string_equal(json_string_value(json_object_get(o, "year")), "2024");
    assert_string_equal(json_string_value(json_object_get(o, "a.b-c_D9")), "x=y");
    assert_string_equal(json_string_value(json_object_get(o, "empty")), "");
    json_decref(o);
    assert_int_equal(ingest_meta_parse(NULL, 0, NULL, &e), RAGD_OK);
    char long_key[80];
    memset(long_key, 'k', 65);
    strcpy(long_key + 65, "=v");
    const char *bad[] = {"novalue", "=v", "sp ace=v", "ümlaut=v", "a/b=v", long_key, ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(ingest_meta_parse(&bad[i], 1, &o, &e), RAGD_EUSAGE);
        assert_null(o);
        assert_non_null(strstr(e.msg, "--meta"));
    }
    long_key[64] = '=';
    long_key[65] = 'v';
    long_key[66] = '\0';
    const char *edge[] = {long_key};
    assert_int_equal(ingest_meta_parse(edge, 1, NULL, &e), RAGD_OK);
}

/* Issue 12 #2: headings, heading paths and titles are capped (ingest.h) at
 * a character boundary with "…", for Markdown and HTML; the text is whole. */
static void test_heading_caps(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    for (int lvl = 1; lvl <= 6; lvl++) {
        ragd_buf_printf(&b, "%.*s ", lvl, "######");
        for (int i = 0; i < 5000; i++)
            ragd_buf_puts(&b, "\xC3\xA9"); /* é, 2 bytes: cuts must not split one */
        ragd_buf_puts(&b, "\n\nbody text\n\n");
    }
    const char *formats[] = {"md"};
    for (size_t f = 0; f < sizeof formats / sizeof *formats; f++) {
        ingest_doc d;
        ragd_error e;
        assert_int_equal(ingest_parse(b.data, b.len, formats[f], "f", &d, &e), RAGD_OK);
        assert_true(strlen(d.title) <= INGEST_TITLE_MAX + 3);
        assert_true(text_utf8_check(d.title, strlen(d.title), NULL, NULL));
        assert_non_null(strstr(d.title, "\xE2\x80\xA6"));
        assert_int_equal(d.len, b.len); /* nothing of the text is cut */
        size_t longest = 0;
        for (size_t i = 0; i < d.nsections; i++) {
            const char *hp = d.sections[i].heading_path;
            size_t n = strlen(hp);
            assert_true(n <= INGEST_HEADING_PATH_MAX + 3);
            assert_true(text_utf8_check(hp, n, NULL, NULL));
            if (n > longest) longest = n;
        }
        assert_true(longest > INGEST_HEADING_MAX); /* more than one level kept */
        ingest_doc_free(&d);
    }
    ragd_buf_free(&b);
    /* HTML: a long <title> and <h1>. */
    ragd_buf h = RAGD_BUF_INIT;
    ragd_buf_puts(&h, "<html><head><title>");
    for (int i = 0; i < 3000; i++)
        ragd_buf_puts(&h, "word ");
    ragd_buf_puts(&h, "</title></head><body><h1>");
    for (int i = 0; i < 3000; i++)
        ragd_buf_puts(&h, "head ");
    ragd_buf_puts(&h, "</h1><p>Some paragraph text here.</p></body></html>");
    ingest_doc d;
    ragd_error e;
    assert_int_equal(ingest_parse(h.data, h.len, "html", "f", &d, &e), RAGD_OK);
    assert_true(strlen(d.title) <= INGEST_TITLE_MAX + 3);
    for (size_t i = 0; i < d.nsections; i++)
        assert_true(strlen(d.sections[i].heading_path) <= INGEST_HEADING_MAX + 3);
    ingest_doc_free(&d);
    ragd_buf_free(&h);
}

/* Issue 12 #7: HTML nested deeper than libxml2's default limit (256) kept
 * its text only up to there, silently (400 unclosed <font>: paragraph 254;
 * 100k nested <div>: "only whitespace"). */
static void test_html_deep_nesting_keeps_text(void **state)
{
    (void)state;
    ragd_buf b = RAGD_BUF_INIT;
    ragd_buf_puts(&b, "<html><body>");
    for (int i = 0; i < 400; i++)
        ragd_buf_printf(&b, "<font><p>paragraph number %d about lighthouses</p>", i);
    ragd_buf_puts(&b, "</body></html>");
    ingest_doc d;
    ragd_error e;
    assert_int_equal(ingest_parse(b.data, b.len, "html", "f", &d, &e), RAGD_OK);
    assert_non_null(strstr(d.text, "paragraph number 399 about"));
    ingest_doc_free(&d);
    ragd_buf_free(&b);
    ragd_buf_puts(&b, "<html><body>");
    for (int i = 0; i < 100000; i++)
        ragd_buf_puts(&b, "<div>");
    ragd_buf_puts(&b, "<p>the deep text about ferries</p></body></html>");
    assert_int_equal(ingest_parse(b.data, b.len, "html", "f", &d, &e), RAGD_OK);
    assert_non_null(strstr(d.text, "the deep text about ferries"));
    ingest_doc_free(&d);
    ragd_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_html_clean_article),
        cmocka_unit_test(test_html_messy_page),
        cmocka_unit_test(test_html_entities_and_scripts),
        cmocka_unit_test(test_html_edge_cases),
        cmocka_unit_test(test_setext_headings),
        cmocka_unit_test(test_man_page),
        cmocka_unit_test(test_pdf_pages),
        cmocka_unit_test(test_pdf_page_furniture),
        cmocka_unit_test(test_pdf_bad),
        cmocka_unit_test(test_detect_format),
        cmocka_unit_test(test_meta_parse),
        cmocka_unit_test(test_heading_caps),
        cmocka_unit_test(test_html_deep_nesting_keeps_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
