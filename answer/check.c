/* answer/check.c — citation checking for any generated answer.
 *
 * The answer is split into sentences; citation markers that open a sentence
 * ("... end. [2] Next") are attached to the sentence before, which is where
 * writers (and models) mean them. Markers: [1], [1, 2], [1][2], 【1】.
 * Each sentence gets one verdict (docs/answer.md):
 *   no_claim          no content terms, or a not-found / connective phrase;
 *   invalid_citation  a marker names no provided source;
 *   uncited_claim     content terms and no marker;
 *   unsupported       the best cited source covers < ANSWER_MIN_SUPPORT of
 *                     the content terms, or a number (with its unit) or a
 *                     proper name is in no cited source, or the sentence and
 *                     its best-matching source sentence differ in negation;
 *   supported         otherwise; its quotes are the best-matching sentence
 *                     of each cited source, with byte offsets into the document.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "answer/internal.h"
#include "core/buf.h"
#include "core/text.h"
#include "index/lexical.h"

/* A marker group at s[i]: "[1]", "[1, 2]" or "【1】". Returns its length
 * (0: none) and appends the numbers to nums (at most 16). */
static size_t parse_marker(const char *s, size_t n, size_t i, int *nums, size_t *k)
{
    static const char LO[] = "\xe3\x80\x90", LC[] = "\xe3\x80\x91";
    size_t j;
    bool wide = i + 3 <= n && !memcmp(s + i, LO, 3);
    if (wide)
        j = i + 3;
    else if (i < n && s[i] == '[')
        j = i + 1;
    else
        return 0;
    size_t k0 = *k;
    for (;;) {
        size_t d = j;
        int v = 0;
        while (j < n && isdigit((unsigned char)s[j]) && j - d < 5)
            v = v * 10 + (s[j++] - '0');
        if (j == d) break;
        if (*k < 16) nums[(*k)++] = v;
        if (wide && j + 3 <= n && !memcmp(s + j, LC, 3)) return j + 3 - i;
        if (!wide && j < n && s[j] == ']') return j + 1 - i;
        if (j < n && s[j] == ',') j++;
        while (j < n && s[j] == ' ')
            j++;
    }
    *k = k0;
    return 0;
}

bool answer_parse_marker(const char *s, size_t n, size_t i, int *nums, size_t *k, size_t *len)
{
    *len = parse_marker(s, n, i, nums, k);
    return *len != 0;
}

typedef struct {
    size_t start, end;
} unit;

/* Sentences, with leading markers moved to the sentence before. */
static size_t split_units(const char *answer, size_t n, unit **out)
{
    ragd_span *sp = NULL;
    size_t ns = text_sentences(answer, n, &sp);
    unit *u = ragd_xcalloc(ns ? ns : 1, sizeof *u);
    size_t nu = 0;
    for (size_t i = 0; i < ns; i++) {
        size_t a = sp[i].start, e = sp[i].end, lead = a, l;
        int nums[16];
        size_t k = 0;
        while ((l = parse_marker(answer, e, lead, nums, &k)) != 0) {
            lead += l;
            while (lead < e && answer[lead] == ' ')
                lead++;
        }
        if (lead > a && nu) {
            u[nu - 1].end = lead;
            while (u[nu - 1].end > u[nu - 1].start && answer[u[nu - 1].end - 1] == ' ')
                u[nu - 1].end--;
            a = lead;
        }
        if (a < e) u[nu++] = (unit){a, e};
    }
    free(sp);
    *out = u;
    return nu;
}

static bool no_claim_phrase(const char *s)
{
    static const char *const P[] = {
        "could not find",     "couldn't find",  "not found in the sources",
        "the sources do not", "no information", "i don't know",
        "i do not know",      "see below",      "see the next",
        "as follows",         "in short",       NULL};
    char low[256];
    size_t i = 0;
    for (; s[i] && i + 1 < sizeof low; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[i] = 0;
    for (int k = 0; P[k]; k++)
        if (strstr(low, P[k])) return true;
    return false;
}

/* The sentence of source text t whose terms best cover `terms`. */
static double best_sentence(const char *t, char **terms, size_t nt, size_t *bs, size_t *be)
{
    ragd_span *sp = NULL;
    size_t ns = text_sentences(t, strlen(t), &sp);
    double best = -1;
    *bs = *be = 0;
    for (size_t i = 0; i < ns; i++) {
        double c = retrieve_term_coverage(terms, nt, t + sp[i].start, sp[i].end - sp[i].start);
        if (c > best) {
            best = c;
            *bs = sp[i].start;
            *be = sp[i].end;
        }
    }
    free(sp);
    return best;
}

typedef struct {
    const char *verdict;
    json_t *reasons, *quotes;
    double support;
} sent_eval;

/* Numbers, names and negation of plain against the cited sources. */
static void check_facts(const char *plain, const int *cites, size_t nc, const context_result *ctx,
                        sent_eval *ev, bool neg_differs)
{
    answer_fact *f = NULL;
    size_t nf = answer_facts(plain, strlen(plain), &f);
    for (size_t i = 0; i < nf; i++) {
        bool found = false;
        for (size_t c = 0; c < nc && !found; c++) {
            const char *src = ctx->sources[cites[c] - 1].text;
            answer_fact *sf = NULL;
            size_t nsf = answer_facts(src, strlen(src), &sf);
            found = answer_fact_in(&f[i], sf, nsf);
            free(sf);
        }
        if (!found)
            json_array_append_new(
                ev->reasons, json_sprintf("the number %s%s%s is not in the cited source", f[i].num,
                                          f[i].unit ? " " : "", f[i].unit ? f[i].unit : ""));
    }
    free(f);
    ragd_buf all = RAGD_BUF_INIT; /* a name may come from any cited source */
    for (size_t c = 0; c < nc; c++) {
        ragd_buf_puts(&all, ctx->sources[cites[c] - 1].text);
        ragd_buf_putc(&all, '\n');
    }
    const char *miss = answer_missing_name(plain, strlen(plain), ragd_buf_str(&all));
    if (miss) {
        size_t l = 0;
        while (miss[l] && (isalnum((unsigned char)miss[l]) || miss[l] == '-'))
            l++;
        json_array_append_new(
            ev->reasons, json_sprintf("the name '%.*s' is not in the cited source", (int)l, miss));
    }
    ragd_buf_free(&all);
    if (neg_differs)
        json_array_append_new(ev->reasons,
                              json_string("negation differs from the cited source's sentence"));
}

/* Terms of plain without pure numbers (the fact check compares those). */
static size_t word_terms(const char *plain, char ***out)
{
    size_t nt = lexical_terms(plain, out), k = 0;
    for (size_t i = 0; i < nt; i++) {
        const char *t = (*out)[i];
        bool num = true;
        for (const char *p = t; *p; p++)
            num &= isdigit((unsigned char)*p) || *p == ',' || *p == '.';
        if (num || answer_unit(t, strlen(t))) /* "281 TB" = "281 terabytes" */
            free((*out)[i]);
        else
            (*out)[k++] = (*out)[i];
    }
    return k;
}

/* Support and quotes of a claim with valid citations. */
static void check_support(const char *plain, const int *cites, size_t nc, const context_result *ctx,
                          sent_eval *ev)
{
    char **terms = NULL;
    size_t nt = word_terms(plain, &terms);
    bool neg = answer_negated(plain, strlen(plain)), neg_differs = true;
    ragd_buf all = RAGD_BUF_INIT;
    for (size_t c = 0; c < nc; c++) {
        const context_source *s = &ctx->sources[cites[c] - 1];
        ragd_buf_puts(&all, s->text);
        ragd_buf_putc(&all, '\n');
        size_t bs, be, ds;
        best_sentence(s->text, terms, nt, &bs, &be);
        if (answer_negated(s->text + bs, be - bs) == neg) neg_differs = false;
        if (be > bs && answer_doc_offset(s, bs, be, &ds))
            json_array_append_new(ev->quotes,
                                  json_pack("{s:i,s:I,s:I,s:s#}", "n", s->n, "start",
                                            (json_int_t)ds, "end", (json_int_t)(ds + be - bs),
                                            "quote", s->text + bs, (int)(be - bs)));
    }
    ev->support = nt ? retrieve_term_coverage(terms, nt, all.data, all.len) : 1.0;
    ragd_buf_free(&all);
    lexical_terms_free(terms, nt);
    if (ev->support < ANSWER_MIN_SUPPORT)
        json_array_append_new(ev->reasons,
                              json_sprintf("only %.0f%% of its content words are in the cited "
                                           "source (needs %.0f%%)",
                                           100 * ev->support, 100 * ANSWER_MIN_SUPPORT));
    check_facts(plain, cites, nc, ctx, ev, neg_differs);
    ev->verdict = json_array_size(ev->reasons) ? "unsupported" : "supported";
}

static json_t *check_sentence(const char *s, size_t len, const context_result *ctx, json_t *invalid)
{
    ragd_buf plain = RAGD_BUF_INIT;
    int nums[16];
    size_t k = 0;
    for (size_t i = 0; i < len;) {
        size_t l = parse_marker(s, len, i, nums, &k);
        if (l)
            i += l;
        else
            ragd_buf_putc(&plain, s[i++]);
    }
    json_t *cites = json_array();
    int valid[16];
    size_t nv = 0;
    bool bad = false;
    for (size_t i = 0; i < k; i++) {
        json_array_append_new(cites, json_integer(nums[i]));
        if (nums[i] < 1 || (size_t)nums[i] > ctx->nsources) {
            json_array_append_new(invalid, json_integer(nums[i]));
            bad = true;
        } else {
            valid[nv++] = nums[i];
        }
    }
    char **terms = NULL;
    size_t nt = lexical_terms(ragd_buf_str(&plain), &terms);
    lexical_terms_free(terms, nt);
    sent_eval ev = {"supported", json_array(), json_array(), 0};
    if (nt == 0 || no_claim_phrase(ragd_buf_str(&plain))) {
        ev.verdict = "no_claim";
    } else if (bad) {
        ev.verdict = "invalid_citation";
        json_array_append_new(ev.reasons,
                              json_string("it cites a source number that was not given"));
    } else if (!k) {
        ev.verdict = "uncited_claim";
        json_array_append_new(ev.reasons, json_string("it states a fact without a citation"));
    } else {
        check_support(ragd_buf_str(&plain), valid, nv, ctx, &ev);
    }
    ragd_buf_free(&plain);
    bool ok = !strcmp(ev.verdict, "supported") || !strcmp(ev.verdict, "no_claim");
    return json_pack("{s:s#,s:o,s:s,s:b,s:f,s:o,s:o}", "text", s, (int)len, "citations", cites,
                     "verdict", ev.verdict, "supported", ok, "support", ev.support, "reasons",
                     ev.reasons, "quotes", ev.quotes);
}

json_t *answer_check(const char *answer, const context_result *ctx)
{
    unit *u = NULL;
    size_t nu = split_units(answer, strlen(answer), &u);
    json_t *sentences = json_array(), *invalid = json_array();
    int uncited = 0, unsupported = 0, claims = 0, supported = 0;
    for (size_t i = 0; i < nu; i++) {
        json_t *sj = check_sentence(answer + u[i].start, u[i].end - u[i].start, ctx, invalid);
        const char *v = json_string_value(json_object_get(sj, "verdict"));
        if (strcmp(v, "no_claim")) claims++;
        if (!strcmp(v, "supported")) supported++;
        if (!strcmp(v, "uncited_claim")) uncited++;
        if (!strcmp(v, "unsupported")) unsupported++;
        json_array_append_new(sentences, sj);
    }
    free(u);
    bool ok = json_array_size(invalid) == 0 && supported == claims;
    return json_pack("{s:b,s:o,s:o,s:i,s:i,s:i,s:i}", "ok", ok, "sentences", sentences,
                     "invalid_citations", invalid, "uncited", uncited, "unsupported", unsupported,
                     "claims", claims, "supported", supported);
}
