/* fuzz/fuzz_fts_query.c — the FTS5 query builder (index/lexical.c) against
 * a real FTS5 index.
 *
 * Fixture: a store on a private data directory with a few documents (no
 * vectors). Input: a user query (valid UTF-8 only, as the request layer
 * guarantees). Properties: lexical_match_expr is NULL exactly when
 * lexical_terms finds no term, and otherwise only quoted phrases joined by
 * " OR " (so no FTS5 operator from the query survives: `"`, `*`, `NEAR(`,
 * `OR`, `-`, `:`, `^` are data); lexical_search never fails — an FTS5
 * syntax error would be RAGD_ESTORE — and returns at most k hits.
 */
#include <string.h>

#include "core/text.h"
#include "fuzz/fuzz.h"
#include "index/lexical.h"
#include "ingest/ingest.h"
#include "store/store.h"

static ragd_store *g_st;
static ragd_collection g_coll;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_quiet_logs();
    char *dir = fuzz_tmpdir("fts");
    ragd_error err = {0};
    FUZZ_CHECK(store_open(dir, &g_st, &err) == RAGD_OK);
    free(dir);
    ragd_settings s;
    store_settings_init(&s);
    FUZZ_CHECK(store_collection_open(g_st, "default", &s, &g_coll, &err) == RAGD_OK);
    static const char *const texts[] = {
        "# NEAR OR AND\n\nThe words near, or, and not are data here: a-b c:d e^f g*.",
        "Quotes \"inside\" text and 東京 CJK text, café and naïve.",
        "Plain text about sqlite full text search and porter stemming."};
    ingest_text t[3];
    memset(t, 0, sizeof t);
    const char *ids[3] = {"a.md", "b", "c"};
    for (int i = 0; i < 3; i++) {
        t[i].id = ids[i];
        t[i].text = texts[i];
        t[i].len = strlen(texts[i]);
    }
    ingest_opts o = {0};
    json_t *rep = NULL;
    FUZZ_CHECK(ingest_texts(g_st, &g_coll, t, 3, &o, &rep, &err) == RAGD_OK);
    json_decref(rep);
    return 0;
}

/* expr is `"…"` phrases (a `"` inside doubled) joined by " OR ". */
static void check_expr(const char *expr)
{
    const char *p = expr;
    for (;;) {
        FUZZ_CHECK(*p == '"');
        p++;
        for (;;) {
            FUZZ_CHECK(*p != '\0');
            if (p[0] == '"' && p[1] == '"')
                p += 2;
            else if (*p == '"')
                break;
            else
                p++;
        }
        p++;
        if (!*p) return;
        FUZZ_CHECK(!strncmp(p, " OR ", 4));
        p += 4;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096 || !text_utf8_check((const char *)data, size, NULL, NULL)) return 0;
    char *q = malloc(size + 1);
    memcpy(q, data, size);
    q[size] = '\0';
    char **terms = NULL;
    size_t nt = lexical_terms(q, &terms);
    for (size_t i = 0; i < nt; i++)
        FUZZ_CHECK(terms[i][0] && text_utf8_check(terms[i], strlen(terms[i]), NULL, NULL));
    lexical_terms_free(terms, nt);
    char *expr = lexical_match_expr(q);
    FUZZ_CHECK((expr == NULL) == (nt == 0));
    if (expr) check_expr(expr);
    free(expr);
    lexical_hit *hits = NULL;
    size_t n = 0;
    ragd_error err = {0};
    ragd_status rc = lexical_search(g_st, g_coll.id, q, 5, &hits, &n, &err);
    if (rc != RAGD_OK) fprintf(stderr, "lexical_search: %s\n", err.msg);
    FUZZ_CHECK(rc == RAGD_OK && n <= 5);
    free(hits);
    free(q);
    return 0;
}
