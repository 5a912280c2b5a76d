/* answer/check.c — citation checking for any generated answer.
 *
 * The answer is split into sentences; citation markers that open a sentence
 * ("... end. [2] Next") are attached to the sentence before, which is where
 * writers (and models) mean them. For each sentence we record its [n]
 * markers, flag numbers that name no provided source, and measure support:
 * the share of the sentence's content terms present in the best cited source.
 * A sentence with content terms and no citation is "uncited".
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"

/* Parse "[n]" at s[i]; returns its length or 0. */
static size_t parse_marker(const char *s, size_t n, size_t i, int *num)
{
    if (i >= n || s[i] != '[') return 0;
    size_t j = i + 1;
    int v = 0;
    while (j < n && isdigit((unsigned char)s[j]) && j - i < 6)
        v = v * 10 + (s[j++] - '0');
    if (j == i + 1 || j >= n || s[j] != ']') return 0;
    *num = v;
    return j + 1 - i;
}

typedef struct {
    size_t start, end;
} unit;

json_t *answer_check(const char *answer, const context_result *ctx)
{
    size_t n = strlen(answer);
    ragd_span *sp = NULL;
    size_t ns = text_sentences(answer, n, &sp);
    /* Merge sentences that consist only of leading markers into the previous. */
    unit *u = ragd_xcalloc(ns ? ns : 1, sizeof *u);
    size_t nu = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t a = sp[i].start, e = sp[i].end;
        int num;
        size_t lead = a, l;
        while ((l = parse_marker(answer, e, lead, &num)) != 0) {
            lead += l;
            while (lead < e && answer[lead] == ' ')
                lead++;
        }
        if (lead > a && nu) {
            /* Markers at the start belong to the previous sentence. */
            u[nu - 1].end = lead;
            while (u[nu - 1].end > u[nu - 1].start && answer[u[nu - 1].end - 1] == ' ')
                u[nu - 1].end--;
            a = lead;
        }
        if (a < e) {
            u[nu].start = a;
            u[nu].end = e;
            nu++;
        }
    }
    free(sp);
    json_t *sentences = json_array(), *invalid = json_array();
    int uncited = 0, unsupported = 0;
    for (size_t k = 0; k < nu; k++) {
        const char *s = answer + u[k].start;
        size_t len = u[k].end - u[k].start;
        /* Text without markers, and the markers. */
        ragd_buf plain = RAGD_BUF_INIT;
        json_t *cites = json_array();
        for (size_t i = 0; i < len;) {
            int num;
            size_t l = parse_marker(s, len, i, &num);
            if (l) {
                json_array_append_new(cites, json_integer(num));
                if (num < 1 || (size_t)num > ctx->nsources)
                    json_array_append_new(invalid, json_integer(num));
                i += l;
            } else {
                ragd_buf_putc(&plain, s[i++]);
            }
        }
        char **terms = NULL;
        size_t nt = lexical_terms(ragd_buf_str(&plain), &terms);
        double support = 0;
        for (size_t c = 0; c < json_array_size(cites); c++) {
            int num = (int)json_integer_value(json_array_get(cites, c));
            if (num < 1 || (size_t)num > ctx->nsources) continue;
            const char *src = ctx->sources[num - 1].text;
            double cov = retrieve_term_coverage(terms, nt, src, strlen(src));
            if (cov > support) support = cov;
        }
        bool factual = nt > 0;
        bool cited = json_array_size(cites) > 0;
        bool supported = !factual || (cited && support >= ANSWER_MIN_SUPPORT);
        if (factual && !cited)
            uncited++;
        else if (!supported)
            unsupported++;
        lexical_terms_free(terms, nt);
        json_array_append_new(sentences,
                              json_pack("{s:s#,s:o,s:b,s:f}", "text", s, (int)len, "citations",
                                        cites, "supported", supported, "support", support));
        ragd_buf_free(&plain);
    }
    free(u);
    bool ok = json_array_size(invalid) == 0 && uncited == 0 && unsupported == 0;
    return json_pack("{s:b,s:o,s:o,s:i,s:i}", "ok", ok, "sentences", sentences, "invalid_citations",
                     invalid, "uncited", uncited, "unsupported", unsupported);
}
