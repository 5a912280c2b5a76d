/* retrieve/eval.h — retrieval quality on BEIR-format datasets.
 *
 * Metrics follow trec_eval (as pytrec_eval and BEIR use it):
 *   nDCG@k   gain = the judged relevance grade (not 2^rel - 1), discount
 *            log2(rank + 1), ideal DCG from the qrels' own grades;
 *   Recall@k relevant documents (grade > 0) retrieved in the top k over all
 *            relevant documents;
 *   MRR@k    1 / rank of the first relevant document in the top k, else 0.
 * Queries with no relevant judgement are skipped, as trec_eval does.
 * Documents are ranked by their best chunk (first appearance in the chunk
 * ranking).
 *
 * Thread-safety: reentrant. Ownership: results are new JSON references.
 */
#ifndef RAGD_RETRIEVE_EVAL_H
#define RAGD_RETRIEVE_EVAL_H

#include <jansson.h>
#include <stddef.h>

#include "core/error.h"
#include "retrieve/retrieve.h"

/* One judged document. */
typedef struct {
    const char *doc_id;
    int grade;
} eval_judgement;

/* nDCG@k of `ranking` (n doc ids, best first) against judgements. */
double eval_ndcg(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj,
                 size_t k);
/* Recall@k (0 when there is no relevant judgement). */
double eval_recall(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj,
                   size_t k);
/* Reciprocal rank of the first relevant document within the top k. */
double eval_mrr(const char *const *ranking, size_t n, const eval_judgement *j, size_t nj, size_t k);

typedef struct {
    const char *split;     /* qrels/<split>.tsv (default "test") */
    size_t k;              /* ranking depth (default 100) */
    search_opts search;    /* mode, embedder, vindex, fusion settings */
    const char *per_query; /* write one JSON line per query here, or NULL */
    size_t max_queries;    /* 0 = all */
    const char *offtopic;  /* queries.jsonl of questions the corpus cannot answer, or NULL:
                              reports the share that validation rejects */
    const char *subset;    /* NULL/"all", "dev" (queries whose id hashes to 0 mod 3),
                              "holdout" (the other 2/3): tune on dev, report both */
} eval_opts;

/* Run the queries of dir/queries.jsonl judged in dir/qrels/<split>.tsv
 * against collection coll (already ingested). *out receives
 * {"ndcg@10","recall@100","mrr@10","queries","p50_ms","p99_ms","mode","split",
 *  "validation":{"relevant_survive","queries_with_survivor"},
 *  "offtopic":{"queries","rejected","share"} (with o->offtopic)}. */
ragd_status eval_beir(ragd_store *st, const ragd_collection *coll, const char *dir,
                      const eval_opts *o, json_t **out, ragd_error *err);

/* What decides whether `ragd eval` must ingest its corpus again: a text
 * naming the ragd binary (size and modification time of /proc/self/exe, so
 * a rebuilt ingest never trusts an old record), the corpus file (bytes and
 * SHA-256 of its content), max_bytes (the record size limit the ingest ran
 * with), and the collection's state (its id; the count and SHA-256 of its
 * documents' keys and content hashes in id order; the count and largest id
 * of its chunks, which grows with any chunk written to it since chunk ids
 * are never reused). When the fingerprint taken before an eval equals the
 * one recorded after the last successful ingest of the same corpus, that
 * ingest would find every document unchanged and write nothing, so it can
 * be skipped. *out is malloc'd. Thread-safety: uses st from one thread. */
ragd_status eval_corpus_fingerprint(ragd_store *st, const ragd_collection *coll, const char *corpus,
                                    size_t max_bytes, char **out, ragd_error *err);

#endif
