"""`ragd eval` on a BEIR-format dataset built from the fixtures: the figures
it prints must equal metrics computed independently here from its
per-query rankings (trec_eval definitions)."""
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, read_qrels, run_tests  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
SHARED = os.environ.get("RAGD_SHARED_DATA", "")


def make_beir(t):
    d = os.path.join(t, "fixture-beir")
    os.makedirs(os.path.join(d, "qrels"))
    with open(os.path.join(d, "corpus.jsonl"), "w", encoding="utf-8") as out:
        for root, _, files in sorted(os.walk(DOCS)):
            for f in sorted(files):
                p = os.path.join(root, f)
                with open(p, encoding="utf-8") as fh:
                    text = fh.read()
                out.write(json.dumps({"_id": os.path.relpath(p, DOCS), "title": "", "text": text}) + "\n")
    with open(os.path.join(FIXTURES, "eval", "queries.jsonl"), encoding="utf-8") as src, \
            open(os.path.join(d, "queries.jsonl"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    with open(os.path.join(FIXTURES, "eval", "qrels.tsv"), encoding="utf-8") as src, \
            open(os.path.join(d, "qrels", "test.tsv"), "w", encoding="utf-8") as dst:
        dst.write(src.read())
    return d


def ndcg(ranking, judged, k):
    dcg = sum(judged.get(doc, 0) / math.log2(i + 2) for i, doc in enumerate(ranking[:k]) if judged.get(doc, 0) > 0)
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranking, judged, k):
    rel = {d for d, g in judged.items() if g > 0}
    return len(rel & set(ranking[:k])) / len(rel) if rel else 0.0


def mrr(ranking, judged, k):
    for i, doc in enumerate(ranking[:k]):
        if judged.get(doc, 0) > 0:
            return 1.0 / (i + 1)
    return 0.0


def check_mode(mode):
    with TempDir() as t:
        beir = make_beir(t)
        pq = os.path.join(t, "per-query.jsonl")
        r = ragd("eval", "--beir", beir, "--mode", mode, "--json", "--per-query", pq, data=os.path.join(t, "data"),
                 check=0).json()
        qrels = read_qrels(os.path.join(beir, "qrels", "test.tsv"))
        lines = [json.loads(l) for l in open(pq, encoding="utf-8")]
        assert r["queries"] == len(lines) == len(qrels), (r["queries"], len(lines), len(qrels))
        n = len(lines)
        want = {
            "ndcg@10": sum(ndcg(x["ranking"], qrels[x["query_id"]], 10) for x in lines) / n,
            "recall@100": sum(recall(x["ranking"], qrels[x["query_id"]], 100) for x in lines) / n,
            "mrr@10": sum(mrr(x["ranking"], qrels[x["query_id"]], 10) for x in lines) / n,
        }
        for key, v in want.items():
            assert abs(r[key] - v) < 1e-6, (mode, key, r[key], v)
        for x in lines:
            assert len(x["ranking"]) == len(set(x["ranking"])) <= 100
        assert r["mode"] == mode and r["p50_ms"] <= r["p99_ms"]
        # The fixtures are easy: every question's document is found.
        assert r["recall@100"] == 1.0 and r["ndcg@10"] > 0.8, r
        # Re-running reuses the ingested collection.
        r2 = ragd("eval", "--beir", beir, "--mode", mode, "--json", data=os.path.join(t, "data"), check=0).json()
        assert r2["ndcg@10"] == r["ndcg@10"]
        return r


def test_eval_lexical_matches_independent_metrics():
    check_mode("lexical")


def test_eval_hybrid_matches_independent_metrics():
    check_mode("hybrid")


def test_eval_subsets_partition_queries():
    with TempDir() as t:
        beir = make_beir(t)
        data = os.path.join(t, "data")
        a = ragd("eval", "--beir", beir, "--mode", "lexical", "--json", data=data, check=0).json()
        d = ragd("eval", "--beir", beir, "--mode", "lexical", "--subset", "dev", "--json", data=data, check=0).json()
        h = ragd("eval", "--beir", beir, "--mode", "lexical", "--subset", "holdout", "--json", data=data, check=0).json()
        assert d["queries"] + h["queries"] == a["queries"] and d["queries"] > 0 and h["queries"] > 0


def test_eval_bad_input():
    with TempDir() as t:
        assert ragd("eval", data=t).code == 2
        r = ragd("eval", "--beir", os.path.join(t, "missing"), data=t)
        assert r.code == 1 and "missing" in r.err, r.err


if __name__ == "__main__":
    run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
