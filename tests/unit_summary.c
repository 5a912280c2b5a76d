/* tests/unit_summary.c — document summaries (ingest/summary.c): TextRank on
 * crafted text, determinism, byte offsets, outlines, script and language
 * guesses on the fixtures, keywords with and without collection
 * statistics, the --summarizer check, and the store side (the stored
 * summary, created_at kept on update, the one-line summary for context). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit_files.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/text.h"
#include "ingest/ingest.h"
#include "ingest/summary.h"
#include "ingest/summary_internal.h"
#include "store/store.h"

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

static void parse_text(const char *text, const char *format, ingest_doc *d)
{
    ragd_error e = {0};
    ragd_status rc = ingest_parse(text, strlen(text), format, "fallback", d, &e);
    if (rc) fprintf(stderr, "parse: %s\n", e.msg);
    assert_int_equal(rc, RAGD_OK);
}

static void parse_fixture(const char *rel, ingest_doc *d)
{
    size_t n;
    char *raw = fixture(rel, &n);
    const char *dot = strrchr(rel, '.');
    parse_text(raw, dot && !strcmp(dot, ".md") ? "md" : "txt", d);
    free(raw);
}

static json_t *build(const ingest_doc *d, const summary_stats *st)
{
    json_t *o = NULL;
    ragd_error e = {0};
    assert_int_equal(summary_build(d, "src", st, &o, &e), RAGD_OK);
    assert_true(json_is_object(o));
    return o;
}

/* Every summary sentence is the exact slice text[start:end]; ranks are a
 * permutation of 1..k; summary_text joins the texts with spaces. */
static void check_offsets(const ingest_doc *d, json_t *o)
{
    json_t *arr = json_object_get(o, "summary"), *s;
    size_t i;
    ragd_buf joined = RAGD_BUF_INIT;
    int seen[8] = {0};
    size_t prev_end = 0;
    json_array_foreach(arr, i, s)
    {
        size_t a = (size_t)json_integer_value(json_object_get(s, "start"));
        size_t b = (size_t)json_integer_value(json_object_get(s, "end"));
        const char *t = json_string_value(json_object_get(s, "text"));
        assert_true(a < b && b <= d->len);
        assert_true(i == 0 || a >= prev_end); /* document order */
        prev_end = b;
        assert_int_equal(strlen(t), b - a);
        assert_memory_equal(t, d->text + a, b - a);
        int r = (int)json_integer_value(json_object_get(s, "rank"));
        assert_true(r >= 1 && r <= (int)json_array_size(arr));
        assert_int_equal(seen[r], 0);
        seen[r] = 1;
        if (joined.len) ragd_buf_putc(&joined, ' ');
        ragd_buf_puts(&joined, t);
    }
    assert_string_equal(ragd_buf_str(&joined),
                        json_string_value(json_object_get(o, "summary_text")));
    ragd_buf_free(&joined);
}

static const char *str(json_t *o, const char *k)
{
    const char *v = json_string_value(json_object_get(o, k));
    assert_non_null(v);
    return v;
}

/* Six sentences; the three about the lighthouse keeper share words. */
static const char CRAFTED[] =
    "The lighthouse keeper trimmed the lamp wick carefully every evening at dusk. Bananas "
    "ripen faster when stored beside apples in a brown paper bag. A lighthouse keeper "
    "logged the lamp hours and the weather in a thick ledger. Chess openings were "
    "catalogued by Spanish priests during the sixteenth century. That old lighthouse lamp "
    "needed its keeper to wind the clockwork every four hours. Violin strings made from gut "
    "respond strongly to sudden changes in humidity.\n";

static void test_textrank_picks_central_sentences(void **state)
{
    (void)state;
    ingest_doc d;
    parse_text(CRAFTED, "txt", &d);
    json_t *o = build(&d, NULL);
    json_t *arr = json_object_get(o, "summary");
    assert_int_equal(json_integer_value(json_object_get(o, "sentences")), 6);
    assert_int_equal(json_array_size(arr), 3);
    const char *want[] = {"The lighthouse keeper trimmed", "A lighthouse keeper logged",
                          "That old lighthouse lamp"};
    for (size_t i = 0; i < 3; i++) {
        const char *t = str(json_array_get(arr, i), "text");
        if (strncmp(t, want[i], strlen(want[i])) != 0) fail_msg("summary[%zu] = %s", i, t);
    }
    check_offsets(&d, o);
    /* Deterministic: the same document gives the same summary. */
    json_t *o2 = build(&d, NULL);
    json_object_del(o, "created_at");
    json_object_del(o, "updated_at");
    json_object_del(o2, "created_at");
    json_object_del(o2, "updated_at");
    char *a = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    char *b = json_dumps(o2, JSON_COMPACT | JSON_SORT_KEYS);
    assert_string_equal(a, b);
    free(a);
    free(b);
    json_decref(o);
    json_decref(o2);
    ingest_doc_free(&d);
}

/* A sentence repeated through a document (API references: "Changed in
 * version 3.6: ..." under every function) is central but appears once in
 * the summary. */
static void test_repeated_sentence_once(void **state)
{
    (void)state;
    const char *text = "The path module joins and splits file system paths on every platform.\n\n"
                       "Changed in version 3.6: Accepts a path-like object for the path.\n\n"
                       "The join function puts path parts together with the right separator.\n\n"
                       "Changed in version 3.6: Accepts a path-like object for the path.\n\n"
                       "The split function divides a path into its head and its tail part.\n\n"
                       "Changed in version 3.6: Accepts a path-like object for the path.\n\n"
                       "The exists function tells whether a path names an existing file.\n\n"
                       "Changed in version 3.6: Accepts a path-like object for the path.\n";
    ingest_doc d;
    parse_text(text, "txt", &d);
    json_t *o = build(&d, NULL);
    json_t *arr = json_object_get(o, "summary");
    assert_true(json_array_size(arr) >= 2);
    size_t repeated = 0;
    for (size_t i = 0; i < json_array_size(arr); i++)
        repeated += strstr(str(json_array_get(arr, i), "text"), "Changed in version") != NULL;
    assert_true(repeated <= 1);
    check_offsets(&d, o);
    json_decref(o);
    ingest_doc_free(&d);
}

/* A sentence that is mostly link targets ("[docs](https://...)") is
 * picked only when nothing else is left. */
static void test_link_heavy_sentences_last(void **state)
{
    (void)state;
    const char *text =
        "# Widget\n\nThe widget library draws charts from tables of numbers in a terminal.\n\n"
        "The [widget library draws charts from tables](https://docs.example.org/widget/a.html) "
        "and [widget library charts in a terminal](https://docs.example.org/widget/b.html) "
        "pages show the widget library charts and tables.\n\n"
        "Charts are drawn with box characters so the widget library needs no graphics.\n\n"
        "The widget library reads tables from files or from the standard input stream.\n\n"
        "Each widget chart can be saved as plain text for later use in reports.\n";
    ingest_doc d;
    parse_text(text, "md", &d);
    json_t *o = build(&d, NULL);
    json_t *arr = json_object_get(o, "summary");
    for (size_t i = 0; i < json_array_size(arr); i++)
        assert_null(strstr(str(json_array_get(arr, i), "text"), "](https://"));
    check_offsets(&d, o);
    json_decref(o);
    ingest_doc_free(&d);
}

static void test_short_and_long_documents(void **state)
{
    (void)state;
    /* Three sentences or fewer: all of them. */
    ingest_doc d;
    parse_text("Short note.\n\nThe boiler room door stays locked at night. Ask the porter for "
               "the key.\n",
               "txt", &d);
    json_t *o = build(&d, NULL);
    /* The first line is the title (no final period would drop it; this one
     * ends a sentence, so it stays). */
    assert_int_equal(json_array_size(json_object_get(o, "summary")), 3);
    check_offsets(&d, o);
    json_decref(o);
    ingest_doc_free(&d);
    /* A title line without a period (plain text, BEIR) is not a sentence. */
    parse_text("Boiler room rules\n\nThe boiler room door stays locked at night. Ask the porter "
               "for the key.\n",
               "txt", &d);
    o = build(&d, NULL);
    json_t *arr = json_object_get(o, "summary");
    assert_int_equal(json_array_size(arr), 2);
    assert_string_equal(str(json_array_get(arr, 0), "text"),
                        "The boiler room door stays locked at night.");
    json_decref(o);
    ingest_doc_free(&d);
    /* The long fixtures get five; list markers are not part of sentences. */
    parse_fixture("docs/greyhollow-lighthouse.md", &d);
    o = build(&d, NULL);
    arr = json_object_get(o, "summary");
    assert_int_equal(json_array_size(arr), 5);
    check_offsets(&d, o);
    json_t *s;
    size_t i;
    json_array_foreach(arr, i, s)
    {
        const char *t = str(s, "text");
        assert_false(t[0] == '-' && t[1] == ' ');
    }
    json_decref(o);
    ingest_doc_free(&d);
    /* No prose at all: an empty summary, not an error. */
    parse_text("# Only a heading\n\n```\ncode();\n```\n", "md", &d);
    o = build(&d, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "summary")), 0);
    assert_string_equal(str(o, "summary_text"), "");
    json_decref(o);
    ingest_doc_free(&d);
}

static void test_outline_from_headings(void **state)
{
    (void)state;
    const char *md = "# Guide\n\nIntro text here.\n\n## Install ##\n\nSteps.\n\n```\n# not a "
                     "heading\n```\n\n### On Debian\n\nMore.\n\n## Use\n";
    ingest_doc d;
    parse_text(md, "md", &d);
    json_t *o = build(&d, NULL);
    json_t *ol = json_object_get(o, "outline");
    assert_int_equal(json_array_size(ol), 4);
    const char *titles[] = {"Guide", "Install", "On Debian", "Use"};
    int levels[] = {1, 2, 3, 2};
    for (size_t i = 0; i < 4; i++) {
        json_t *h = json_array_get(ol, i);
        assert_string_equal(str(h, "title"), titles[i]);
        assert_int_equal(json_integer_value(json_object_get(h, "level")), levels[i]);
        size_t at = (size_t)json_integer_value(json_object_get(h, "start"));
        assert_true(at < d.len && d.text[at] == '#');
        assert_true(at == 0 || d.text[at - 1] == '\n');
    }
    /* Plain text has no outline. */
    json_decref(o);
    ingest_doc_free(&d);
    parse_text(CRAFTED, "txt", &d);
    o = build(&d, NULL);
    assert_int_equal(json_array_size(json_object_get(o, "outline")), 0);
    assert_string_equal(str(o, "format"), "txt");
    json_decref(o);
    ingest_doc_free(&d);
}

static void expect_lang(const char *rel, const char *text, const char *lang, const char *script)
{
    ingest_doc d;
    if (rel)
        parse_fixture(rel, &d);
    else
        parse_text(text, "txt", &d);
    json_t *o = build(&d, NULL);
    if (strcmp(str(o, "language"), lang) || strcmp(str(o, "script"), script))
        fail_msg("%s: language %s script %s, want %s %s", rel ? rel : text, str(o, "language"),
                 str(o, "script"), lang, script);
    json_decref(o);
    ingest_doc_free(&d);
}

static void test_script_and_language(void **state)
{
    (void)state;
    expect_lang("docs/intl/tomme-saint-aurele.md", NULL, "fr", "Latin");
    expect_lang("docs/decomposed-accents.txt", NULL, "fr", "Latin");
    expect_lang("docs/intl/schmalspurbahn.md", NULL, "de", "Latin");
    expect_lang("docs/intl/kite-festival-zh.md", NULL, "zh", "Han");
    expect_lang("docs/intl/bonsai-ja.md", NULL, "ja", "Han+Kana");
    expect_lang("docs/intl/qahwa-ar.md", NULL, "ar", "Arabic");
    expect_lang("docs/cooking/paella-valenciana.md", NULL, "es", "Latin");
    expect_lang("docs/greyhollow-lighthouse.md", NULL, "en", "Latin");
    expect_lang("docs/short-wifi.txt", NULL, "en", "Latin");
    expect_lang("docs/scripts-summer-school.md", NULL, "en", "Latin");
    expect_lang(NULL,
                "Il museo della città è aperto tutti i giorni, ma il lunedì chiude alle "
                "quattro. Gli studenti entrano gratis con la tessera della scuola.",
                "it", "Latin");
    expect_lang(NULL,
                "O mercado do bairro abre às sete horas e fecha ao meio-dia. Os peixes são "
                "vendidos pelos pescadores da vila, que chegam muito cedo.",
                "pt", "Latin");
    expect_lang(NULL,
                "De molen aan de rivier werd in 1872 gebouwd en is nog steeds in gebruik. "
                "Het meel wordt verkocht aan de bakkers van het dorp.",
                "nl", "Latin");
    expect_lang(NULL, "Мельница на реке была построена в 1872 году и работает до сих пор.", "ru",
                "Cyrillic");
    expect_lang(NULL, "강가의 물레방아는 1872년에 지어졌고 지금도 사용되고 있습니다.", "ko",
                "Hangul");
    expect_lang(NULL, "Ο μύλος στο ποτάμι χτίστηκε το 1872 και λειτουργεί ακόμα.", "el", "Greek");
    expect_lang(NULL, "הטחנה על הנהר נבנתה בשנת 1872 והיא עדיין פועלת.", "he", "Hebrew");
    /* Too little text to tell: undetermined, not a wrong guess. */
    expect_lang(NULL, "Xylophone zeppelin quasar.", "und", "Latin");
    expect_lang(NULL, "1234 5678 !!!", "und", "unknown");
}

/* Does term occur as a whole word (or apostrophe-separated part of one,
 * "l'abbaye") of d's text, case-insensitively? CJK terms: as a substring. */
static bool has_word(const ingest_doc *d, const char *term)
{
    int32_t cp = 0;
    text_decode(term, strlen(term), 0, &cp);
    if (text_is_cjk(cp)) return strstr(d->text, term) != NULL;
    char *ft = text_fold(term, strlen(term), false, NULL);
    ragd_span *w = NULL;
    size_t nw = text_words(d->text, d->len, &w);
    bool found = false;
    for (size_t i = 0; i < nw && !found; i++) {
        char *f = text_fold(d->text + w[i].start, w[i].end - w[i].start, false, NULL);
        for (char *part = strtok(f, "'\xE2\x80\x99"); part && !found;
             part = strtok(NULL, "'\xE2\x80\x99"))
            found = strcmp(part, ft) == 0;
        free(f);
    }
    free(w);
    free(ft);
    return found;
}

static bool has_keyword(json_t *o, const char *term)
{
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(o, "keywords"), i, k)
    {
        if (!strcmp(str(k, "term"), term)) return true;
    }
    return false;
}

static void check_keywords(const char *rel, const summary_stats *st, const char *from,
                           const char *const *want)
{
    ingest_doc d;
    parse_fixture(rel, &d);
    json_t *o = build(&d, st);
    assert_string_equal(str(o, "keywords_from"), from);
    json_t *kw = json_object_get(o, "keywords"), *k;
    size_t i;
    assert_true(json_array_size(kw) >= 5 && json_array_size(kw) <= 10);
    double prev = 1e300;
    json_array_foreach(kw, i, k)
    {
        double s = json_real_value(json_object_get(k, "score"));
        assert_true(s > 0 && s <= prev);
        prev = s;
        /* A surface form from the document, never a stem like "lighthous". */
        if (!has_word(&d, str(k, "term")))
            fail_msg("%s: keyword '%s' is not a word of the text", rel, str(k, "term"));
    }
    for (i = 0; want[i]; i++)
        if (!has_keyword(o, want[i])) {
            char *s = json_dumps(kw, 0);
            fail_msg("%s: '%s' not among keywords %s", rel, want[i], s);
        }
    json_decref(o);
    ingest_doc_free(&d);
}

static void test_keywords_heuristic(void **state)
{
    (void)state;
    check_keywords("docs/greyhollow-lighthouse.md", NULL, "heuristic",
                   (const char *[]){"greyhollow", NULL});
    check_keywords("docs/aquarium-cycling.txt", NULL, "heuristic",
                   (const char *[]){"ammonia", "nitrite", NULL});
    check_keywords("docs/cooking/paella-valenciana.md", NULL, "heuristic",
                   (const char *[]){"paella", NULL});
    check_keywords("docs/violin-care.txt", NULL, "heuristic", (const char *[]){"violin", NULL});
    check_keywords("docs/intl/kite-festival-zh.md", NULL, "heuristic",
                   (const char *[]){"风筝", NULL});
    check_keywords("docs/intl/bonsai-ja.md", NULL, "heuristic", (const char *[]){"盆栽", NULL});
}

typedef struct {
    char *dir;
    ragd_store *st;
    ragd_collection coll;
} fixture_store;

/* A store with fixtures (relative to fixtures/docs) ingested, no embedder. */
static void open_ingested_paths(fixture_store *fs, const char *const *rel)
{
    fs->dir = unit_tmpdir();
    ragd_error e = {0};
    assert_int_equal(store_open(fs->dir, &fs->st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    assert_int_equal(store_collection_open(fs->st, "default", &s, &fs->coll, &e), RAGD_OK);
    const char *root = getenv("RAGD_FIXTURES");
    char *paths[16];
    size_t n = 0;
    for (; rel[n]; n++) {
        ragd_buf p = RAGD_BUF_INIT;
        ragd_buf_printf(&p, "%s/docs/%s", root ? root : "fixtures", rel[n]);
        paths[n] = ragd_buf_steal(&p);
    }
    ingest_opts o = {.format = "auto"};
    json_t *rep = NULL;
    ragd_status rc = ingest_paths(fs->st, &fs->coll, paths, n, &o, &rep, &e);
    if (rc) fail_msg("ingest: %s", e.msg);
    json_decref(rep);
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
}

static void open_ingested(fixture_store *fs)
{
    open_ingested_paths(fs, (const char *[]){"", NULL});
}

static void close_ingested(fixture_store *fs)
{
    store_close(fs->st);
    unit_rmrf(fs->dir);
    free(fs->dir);
}

/* The stored summary's keywords of doc key. */
static json_t *stored(fixture_store *fs, const char *key)
{
    json_t *sum = NULL;
    ragd_error e = {0};
    assert_int_equal(store_doc_summary(fs->st, fs->coll.id, key, &sum, &e), RAGD_OK);
    return sum;
}

static void test_keywords_collection_idf(void **state)
{
    (void)state;
    /* A collection without the documents under test (as when they are
     * ingested into it for the first time). */
    fixture_store fs;
    open_ingested_paths(&fs, (const char *[]){"cooking", "space", "nordvane-vpn-guide.md",
                                              "bicycle-maintenance.md", "treaty-of-saltmere.md",
                                              "lua-style-guide.md", NULL});
    summary_stats *st = NULL;
    ragd_error e = {0};
    assert_int_equal(summary_stats_load(fs.st, &st, &e), RAGD_OK);
    assert_true(summary_stats_rows(st) >= SUMMARY_MIN_STATS_ROWS);
    check_keywords("docs/greyhollow-lighthouse.md", st, "collection",
                   (const char *[]){"keepers", "aldren", NULL});
    check_keywords("docs/aquarium-cycling.txt", st, "collection",
                   (const char *[]){"ammonia", "nitrite", NULL});
    check_keywords("docs/violin-care.txt", st, "collection", (const char *[]){"violin", NULL});
    check_keywords("docs/intl/tomme-saint-aurele.md", st, "collection",
                   (const char *[]){"tomme", NULL});
    check_keywords("docs/intl/kite-festival-zh.md", st, "collection",
                   (const char *[]){"风筝", NULL});
    /* IDF pushes down words common in the collection: "water" is a top
     * heuristic keyword of the aquarium text, not a collection one. */
    ingest_doc d;
    parse_fixture("docs/aquarium-cycling.txt", &d);
    json_t *h = build(&d, NULL), *c = build(&d, st);
    assert_true(has_keyword(h, "water"));
    assert_false(has_keyword(c, "water"));
    json_decref(h);
    json_decref(c);
    ingest_doc_free(&d);
    summary_stats_free(st);
    /* Through the pipeline: a new document, then the same one changed (its
     * old chunks are indexed by then and must not count against it). */
    char path[600], cmd[1400];
    const char *root = getenv("RAGD_FIXTURES");
    snprintf(path, sizeof path, "%s/greyhollow.md", fs.dir);
    snprintf(cmd, sizeof cmd, "cp '%s/docs/greyhollow-lighthouse.md' '%s'",
             root ? root : "fixtures", path);
    assert_int_equal(system(cmd), 0);
    char *paths[] = {path};
    ingest_opts o = {.format = "auto"};
    json_t *rep = NULL;
    for (int round = 0; round < 2; round++) {
        if (round == 1) {
            FILE *f = fopen(path, "ab");
            assert_non_null(f);
            fputs("\nA late note on the Greyhollow keepers.\n", f);
            fclose(f);
        }
        assert_int_equal(ingest_paths(fs.st, &fs.coll, paths, 1, &o, &rep, &e), RAGD_OK);
        assert_int_equal(json_integer_value(json_object_get(rep, round ? "updated" : "added")), 1);
        json_decref(rep);
        json_t *sum = stored(&fs, "greyhollow.md");
        assert_string_equal(str(sum, "keywords_from"), "collection");
        if (!has_keyword(sum, "keepers") || !has_keyword(sum, "aldren")) {
            char *j = json_dumps(json_object_get(sum, "keywords"), 0);
            fail_msg("round %d: keepers, aldren not among %s", round, j);
        }
        json_decref(sum);
    }
    close_ingested(&fs);
}

static void test_stored_summary_and_line(void **state)
{
    (void)state;
    fixture_store fs;
    open_ingested(&fs);
    ragd_error e = {0};
    /* Every document got a summary when it was ingested. */
    json_t *sum = NULL;
    assert_int_equal(store_doc_summary(fs.st, fs.coll.id, "greyhollow-lighthouse.md", &sum, &e),
                     RAGD_OK);
    const char *fields[] = {"title",        "source",   "format",        "language", "script",
                            "bytes",        "tokens",   "sentences",     "outline",  "summary",
                            "summary_text", "keywords", "keywords_from", "metadata", "created_at",
                            "updated_at",   NULL};
    for (int i = 0; fields[i]; i++)
        if (!json_object_get(sum, fields[i])) fail_msg("summary lacks %s", fields[i]);
    assert_string_equal(str(sum, "language"), "en");
    json_decref(sum);
    char *line = NULL;
    assert_int_equal(
        store_doc_summary_line(fs.st, fs.coll.id, "greyhollow-lighthouse.md", &line, &e), RAGD_OK);
    assert_non_null(line);
    assert_true(strlen(line) <= 203);
    assert_null(strstr(line, "**"));
    assert_null(strchr(line, '\n'));
    free(line);
    assert_int_equal(store_doc_summary_line(fs.st, fs.coll.id, "no-such-doc", &line, &e),
                     RAGD_ENOTFOUND);
    assert_null(line);
    close_ingested(&fs);
}

static void write_file(const char *path, const char *content)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_line_trim_and_created_at(void **state)
{
    (void)state;
    char *dir = unit_tmpdir();
    ragd_store *st = NULL;
    ragd_error e = {0};
    assert_int_equal(store_open(dir, &st, &e), RAGD_OK);
    ragd_settings s;
    store_settings_init(&s);
    ragd_collection coll;
    assert_int_equal(store_collection_open(st, "c", &s, &coll, &e), RAGD_OK);
    char path[600];
    snprintf(path, sizeof path, "%s/long.txt", dir);
    /* Two long sentences: whichever ranks first is cut near 200 bytes. */
    write_file(path, "The harbour committee agreed that the northern breakwater, which had been "
                     "damaged by the winter storms of the previous two years and patched "
                     "several times with concrete blocks brought from the quarry at "
                     "Ellisford, would be rebuilt entirely in granite before the autumn.\n\n"
                     "The committee also agreed that the southern breakwater, which the same "
                     "storms had left almost untouched apart from some loose railings and a "
                     "cracked lamp post near the harbour office, would only be repainted and "
                     "inspected again next spring.\n");
    char *paths[] = {path};
    ingest_opts o = {.format = "auto"};
    json_t *rep = NULL;
    assert_int_equal(ingest_paths(st, &coll, paths, 1, &o, &rep, &e), RAGD_OK);
    json_decref(rep);
    char *line = NULL;
    assert_int_equal(store_doc_summary_line(st, coll.id, "long.txt", &line, &e), RAGD_OK);
    assert_non_null(line);
    size_t n = strlen(line);
    assert_true(n <= 203 && n > 100);
    assert_string_equal(line + n - 3, "\xE2\x80\xA6");
    assert_true(line[n - 4] != ' ');
    assert_true(strncmp(line, "The ", 4) == 0);
    free(line);
    /* created_at survives an update; updated_at moves. */
    assert_int_equal(store_exec(st,
                                "UPDATE documents SET summary = json_set(summary, '$.created_at', "
                                "'2000-01-01T00:00:00Z', '$.updated_at', '2000-01-01T00:00:00Z')",
                                &e),
                     RAGD_OK);
    write_file(path, "A much shorter text now. It has two sentences.\n");
    assert_int_equal(ingest_paths(st, &coll, paths, 1, &o, &rep, &e), RAGD_OK);
    assert_int_equal(json_integer_value(json_object_get(rep, "updated")), 1);
    json_decref(rep);
    json_t *sum = NULL;
    assert_int_equal(store_doc_summary(st, coll.id, "long.txt", &sum, &e), RAGD_OK);
    assert_string_equal(str(sum, "created_at"), "2000-01-01T00:00:00Z");
    assert_string_not_equal(str(sum, "updated_at"), "2000-01-01T00:00:00Z");
    assert_int_equal(json_array_size(json_object_get(sum, "summary")), 2);
    json_decref(sum);
    /* The llm summarizer without a generator: a usage error, nothing stored. */
    o.summarizer = "llm";
    assert_int_equal(ingest_paths(st, &coll, paths, 1, &o, &rep, &e), RAGD_EUSAGE);
    assert_null(rep);
    assert_non_null(strstr(e.msg, "generation provider"));
    store_close(st);
    unit_rmrf(dir);
    free(dir);
}

static void test_summarizer_check(void **state)
{
    (void)state;
    ragd_error e = {0};
    assert_int_equal(summary_check_summarizer(NULL, &e), RAGD_OK);
    assert_int_equal(summary_check_summarizer("extractive", &e), RAGD_OK);
    assert_int_equal(summary_check_summarizer("llm", &e), RAGD_OK);
    assert_true(summary_is_llm("llm"));
    assert_false(summary_is_llm("extractive") || summary_is_llm(NULL));
    assert_int_equal(summary_check_summarizer("abstractive", &e), RAGD_EUSAGE);
    assert_non_null(strstr(e.msg, "unknown --summarizer"));
}

static void test_metadata_copied(void **state)
{
    (void)state;
    ingest_doc d;
    parse_text(CRAFTED, "txt", &d);
    d.metadata_json = ragd_xstrdup("{\"team\":\"harbour\",\"year\":\"1847\"}");
    json_t *o = build(&d, NULL);
    json_t *m = json_object_get(o, "metadata");
    assert_string_equal(str(m, "team"), "harbour");
    assert_string_equal(str(m, "year"), "1847");
    assert_int_equal(json_integer_value(json_object_get(o, "bytes")), (json_int_t)d.len);
    assert_int_equal(json_integer_value(json_object_get(o, "tokens")),
                     (json_int_t)text_count_tokens(d.text, d.len));
    assert_string_equal(str(o, "source"), "src");
    assert_string_equal(str(o, "summarizer"), "extractive");
    const char *ca = str(o, "created_at");
    assert_int_equal(strlen(ca), 20);
    assert_true(ca[4] == '-' && ca[10] == 'T' && ca[19] == 'Z');
    json_decref(o);
    ingest_doc_free(&d);
}

/* Blank the 20 characters of each ISO timestamp value. */
static void mask_times(char *s)
{
    const char *keys[] = {"\"created_at\":\"", "\"updated_at\":\""};
    for (int k = 0; k < 2; k++) {
        char *p = strstr(s, keys[k]);
        assert_non_null(p);
        p += strlen(keys[k]);
        assert_true(strlen(p) >= 21 && p[20] == '"');
        memset(p, '_', 20);
    }
}

/* The summary serialized in two parts (summary_pre_fix on the worker, the
 * statistics-dependent rest on the writer) is the same bytes, and the same
 * entry text, as the summary object dumped whole: new and re-ingested
 * documents (created_at kept), metadata with reals and non-ASCII text,
 * headings, a document without sentences. */
static void test_fixed_part_same_bytes(void **state)
{
    (void)state;
    fixture_store fs;
    open_ingested(&fs);
    summary_ctx *ctx = NULL;
    ragd_error e = {0};
    assert_int_equal(summary_ctx_new(fs.st, fs.coll.id, NULL, &ctx, &e), RAGD_OK);
    /* "": a made-up document with no sentence to choose. */
    const char *docs[] = {"greyhollow-lighthouse.md",
                          "lua-style-guide.md",
                          "short-wifi.txt",
                          "intl/bonsai-ja.md",
                          "",
                          NULL};
    const char *metas[] = {"{\"x\":0.1234567891,\"t\":\"caf\u00e9 \\\"q\\\"\"}", NULL,
                           "{\"n\":[1,2.5,{\"k\":null}]}", "not json", "{}"};
    for (int i = 0; docs[i]; i++) {
        const char *key = docs[i][0] ? docs[i] : "made-up";
        ingest_doc d;
        if (!docs[i][0]) {
            parse_text("# \xe6\x97\xa5\xe6\x9c\xac\n\nno sentence here", "md", &d);
        } else {
            ragd_buf rel = RAGD_BUF_INIT;
            ragd_buf_printf(&rel, "docs/%s", docs[i]);
            parse_fixture(rel.data, &d);
            ragd_buf_free(&rel);
        }
        if (metas[i]) d.metadata_json = ragd_xstrdup(metas[i]);
        for (int existed = 0; existed < 2; existed++) {
            summary_pre *whole = summary_prepare(&d, NULL), *parts = summary_prepare(&d, NULL);
            summary_pre_fix(parts, &d, "src/\xc3\xbc\"x\"");
            char *e1 = NULL, *e2 = NULL;
            char *t1 = summary_for_ingest_pre(ctx, key, "src/\xc3\xbc\"x\"", &d, existed, whole,
                                              NULL, &e1);
            char *t2 = summary_for_ingest_pre(ctx, key, "src/\xc3\xbc\"x\"", &d, existed, parts,
                                              NULL, &e2);
            assert_non_null(t1);
            assert_non_null(t2);
            mask_times(t1);
            mask_times(t2);
            assert_string_equal(t1, t2);
            if (e1 || e2) {
                assert_non_null(e1);
                assert_non_null(e2);
                assert_string_equal(e1, e2);
            }
            free(t1);
            free(t2);
            free(e1);
            free(e2);
            summary_pre_free(whole);
            summary_pre_free(parts);
        }
        ingest_doc_free(&d);
    }
    summary_ctx_free(ctx);
    close_ingested(&fs);
}

/* A keyword score written by hand is what jansson writes for the real
 * (JSON_REAL_PRECISION(6)): integers get ".0", exponents lose '+' and
 * leading zeros, six significant digits. */
static void test_real_text_as_jansson(void **state)
{
    (void)state;
    const double v[] = {0.0,  -0.0,    1.0,        12.346,   0.001, 1e-4,      123456.0, 1234567.0,
                        1e21, -2.5e-7, 3.14159265, 99999.95, 1e100, 7.0 / 3.0, -42.0,    5e-324};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++) {
        json_t *r = json_real(v[i]);
        char *want = json_dumps(r, JSON_COMPACT | JSON_REAL_PRECISION(6) | JSON_ENCODE_ANY);
        char got[40];
        int n = summary_real_text(got, v[i]);
        assert_int_equal(n, (int)strlen(want));
        assert_string_equal(got, want);
        free(want);
        json_decref(r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_textrank_picks_central_sentences),
        cmocka_unit_test(test_repeated_sentence_once),
        cmocka_unit_test(test_link_heavy_sentences_last),
        cmocka_unit_test(test_short_and_long_documents),
        cmocka_unit_test(test_outline_from_headings),
        cmocka_unit_test(test_script_and_language),
        cmocka_unit_test(test_keywords_heuristic),
        cmocka_unit_test(test_keywords_collection_idf),
        cmocka_unit_test(test_stored_summary_and_line),
        cmocka_unit_test(test_line_trim_and_created_at),
        cmocka_unit_test(test_summarizer_check),
        cmocka_unit_test(test_metadata_copied),
        cmocka_unit_test(test_fixed_part_same_bytes),
        cmocka_unit_test(test_real_text_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
