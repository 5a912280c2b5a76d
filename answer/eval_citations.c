/* answer/eval_citations.c — measuring the citation checker.
 *
 * A labelled case is one JSON line: {"id","kind","sentence","sources":[text…],
 * "label":"supported"|"unsupported"}; the sentence's [n] markers name the
 * sources by position. answer_check_texts builds a throw-away context from
 * the texts (each source its own document, offsets from 0) and checks the
 * sentence. The eval counts "unsupported" (any failing verdict) as the
 * positive class and reports precision, recall and the catch rate per kind.
 */
#include <stdlib.h>
#include <string.h>

#include "answer/answer.h"
#include "core/buf.h"

json_t *answer_check_texts(const char *answer, const char *const *texts, size_t n)
{
    search_hit *hits = ragd_xcalloc(n ? n : 1, sizeof *hits);
    context_source *src = ragd_xcalloc(n ? n : 1, sizeof *src);
    char ids[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(ids, sizeof ids, "doc%zu", i + 1);
        hits[i].doc_id = ragd_xstrdup(ids);
        hits[i].title = ragd_xstrdup(ids);
        hits[i].chunk_id = (int64_t)i + 1;
        hits[i].end = strlen(texts[i]);
        src[i].n = (int)i + 1;
        src[i].hit = &hits[i];
        src[i].text = (char *)texts[i];
        src[i].heading_path = (char *)"";
    }
    context_result ctx = {.sources = src, .nsources = n, .relevant = n > 0};
    json_t *c = answer_check(answer, &ctx);
    for (size_t i = 0; i < n; i++) {
        free(hits[i].doc_id);
        free(hits[i].title);
    }
    free(hits);
    free(src);
    return c;
}

static bool failing(const json_t *check)
{
    return !json_is_true(json_object_get(check, "ok"));
}

static void count_kind(json_t *kinds, const char *kind, bool caught)
{
    json_t *k = json_object_get(kinds, kind);
    if (!k) {
        k = json_pack("{s:i,s:i}", "cases", 0, "flagged", 0);
        json_object_set_new(kinds, kind, k);
    }
    json_object_set_new(k, "cases",
                        json_integer(json_integer_value(json_object_get(k, "cases")) + 1));
    if (caught)
        json_object_set_new(k, "flagged",
                            json_integer(json_integer_value(json_object_get(k, "flagged")) + 1));
}

/* One case: true when well-formed; adds to the counts. */
static bool eval_case(json_t *c, long *tp, long *fp, long *fn, long *tn, json_t *kinds,
                      json_t *misses)
{
    const char *sent = json_string_value(json_object_get(c, "sentence"));
    const char *label = json_string_value(json_object_get(c, "label"));
    const char *kind = json_string_value(json_object_get(c, "kind"));
    json_t *srcs = json_object_get(c, "sources");
    if (!sent || !label || !json_is_array(srcs)) return false;
    size_t n = json_array_size(srcs);
    const char **texts = ragd_xcalloc(n ? n : 1, sizeof *texts);
    for (size_t i = 0; i < n; i++)
        if (!(texts[i] = json_string_value(json_array_get(srcs, i)))) texts[i] = "";
    json_t *chk = answer_check_texts(sent, texts, n);
    free(texts);
    bool want = strcmp(label, "supported") != 0, got = failing(chk);
    *tp += want && got;
    *fp += !want && got;
    *fn += want && !got;
    *tn += !want && !got;
    count_kind(kinds, kind ? kind : "?", got);
    if (want != got)
        json_array_append_new(misses, json_pack("{s:O,s:s,s:s,s:O}", "id", json_object_get(c, "id"),
                                                "sentence", sent, "label", label, "check",
                                                json_object_get(chk, "sentences")));
    json_decref(chk);
    return true;
}

ragd_status answer_eval_citations(const char *path, json_t **report, ragd_error *err)
{
    *report = NULL;
    FILE *f = fopen(path, "r");
    if (!f) return ragd_error_set(err, RAGD_EINPUT, "%s: cannot open", path);
    long tp = 0, fp = 0, fn = 0, tn = 0, line = 0;
    json_t *kinds = json_object(), *misses = json_array();
    char *buf = NULL;
    size_t cap = 0;
    ragd_status st = RAGD_OK;
    while (getline(&buf, &cap, f) > 0) {
        line++;
        if (buf[0] == '\n' || buf[0] == '#') continue;
        json_error_t je;
        json_t *c = json_loads(buf, 0, &je);
        bool ok = c && eval_case(c, &tp, &fp, &fn, &tn, kinds, misses);
        json_decref(c);
        if (!ok) {
            st = ragd_error_set(err, RAGD_EINPUT,
                                "%s:%ld: need {\"sentence\",\"sources\":[..],\"label\"}", path,
                                line);
            break;
        }
    }
    free(buf);
    fclose(f);
    if (st) {
        json_decref(kinds);
        json_decref(misses);
        return st;
    }
    double p = tp + fp ? (double)tp / (double)(tp + fp) : 1,
           r = tp + fn ? (double)tp / (double)(tp + fn) : 1;
    *report = json_pack("{s:s,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:o,s:o}", "file", path, "cases",
                        (json_int_t)(tp + fp + fn + tn), "precision", p, "recall", r, "tp",
                        (json_int_t)tp, "fp", (json_int_t)fp, "fn", (json_int_t)fn, "tn",
                        (json_int_t)tn, "kinds", kinds, "misses", misses);
    return RAGD_OK;
}
