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


SKIP_MSG = "not ingesting again"


def test_eval_skips_ingest_only_while_corpus_and_collection_are_unchanged():
    with TempDir() as t:
        beir = make_beir(t)
        data = os.path.join(t, "data")

        def run():
            r = ragd("eval", "--beir", beir, "--mode", "lexical", "--per-query", os.path.join(t, "pq.jsonl"),
                     data=data, check=0)
            return r, [json.loads(l)["ranking"] for l in open(os.path.join(t, "pq.jsonl"), encoding="utf-8")]

        first, rank1 = run()
        assert SKIP_MSG not in first.err, first.err
        again, rank2 = run()
        assert SKIP_MSG in again.err, again.err
        assert rank2 == rank1
        # A document added to the collection by hand: the state differs, so eval ingests
        # (a no-op for the corpus) and records the new state.
        extra = os.path.join(t, "extra.txt")
        with open(extra, "w", encoding="utf-8") as f:
            f.write("Zyxorbium crystals glow faintly violet under the lamps of Quarrowmere.\n")
        ragd("ingest", "--collection", "beir-fixture-beir", extra, data=data, check=0)
        r3, _ = run()
        assert SKIP_MSG not in r3.err, r3.err
        r4, _ = run()
        assert SKIP_MSG in r4.err, r4.err
        # The corpus changes: a new record must be ingested and found.
        with open(os.path.join(beir, "corpus.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"_id": "added-doc", "title": "",
                                "text": "The Plimsworth ferry crosses the Vantle estuary every forty minutes."}) + "\n")
        with open(os.path.join(beir, "queries.jsonl"), "a", encoding="utf-8") as f:
            f.write(json.dumps({"_id": "qadded", "text": "How often does the Plimsworth ferry cross the Vantle estuary?"})
                    + "\n")
        with open(os.path.join(beir, "qrels", "test.tsv"), "a", encoding="utf-8") as f:
            f.write("qadded\tadded-doc\t1\n")
        r5, rank5 = run()
        assert SKIP_MSG not in r5.err, r5.err
        assert rank5[-1][0] == "added-doc", rank5[-1]
        # An unreadable or foreign fingerprint file only means "ingest".
        fps = [f for f in os.listdir(data) if f.startswith("eval-") and f.endswith(".fingerprint")]
        assert len(fps) == 1, fps
        with open(os.path.join(data, fps[0]), "w", encoding="utf-8") as f:
            f.write("garbage")
        r6, rank6 = run()
        assert SKIP_MSG not in r6.err and rank6 == rank5, r6.err


def test_eval_bad_input():
    with TempDir() as t:
        assert ragd("eval", data=t).code == 2
        r = ragd("eval", "--beir", os.path.join(t, "missing"), data=t)
        assert r.code == 1 and "missing" in r.err, r.err


if __name__ == "__main__":
    run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
