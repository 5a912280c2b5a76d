"""Integration tests for the rerank provider: the real ragd binary with
--reranker-url against mock_model_server's /rerank route on 127.0.0.1
(TEI shape without a model, Cohere shape with one; scores in reverse input
order, or by a keyword's count with --rerank-keyword), and against a refused
port, where search must go on in fused order and say so."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402
from it_vector import Mock, free_port  # noqa: E402
from it_eval import make_beir  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
QUERY = "fishless cycling of a new aquarium with ammonia"


def search(data, *extra, k=8):
    return ragd("search", "--json", "--k", k, *extra, QUERY, data=data, check=0).json()


def ids(r):
    return [h["chunk_id"] for h in r["results"]]


def test_reverse_reranker_changes_order():
    with TempDir() as t, Mock() as m:
        ragd("ingest", DOCS, data=t, check=0)
        base = search(t)
        assert base["relevant"] and "rerank" not in base["validation"], base["validation"]
        assert all("rerank_score" not in h for h in base["results"])
        r = search(t, "--reranker-url", f"http://127.0.0.1:{m.port}")
        rr = r["validation"]["rerank"]
        assert rr["used"] is True and rr["protocol"] == "tei" and rr["model"] is None, rr
        assert rr["candidates"] > 0 and rr["depth"] == 50 and "error" not in rr, rr
        assert "rerank" in r["timing_ms"] and r["timing_ms"]["rerank"] > 0, r["timing_ms"]
        assert r["results"] and ids(r) != ids(base), (ids(r), ids(base))
        for h in r["results"]:
            assert h["score"] == h["rerank_score"] and h["rerank_score"] < 0, h  # TEI-like logits
            assert "fused_score" in h
        # Reranked order: rerank scores never increase down the list.
        s = [h["rerank_score"] for h in r["results"]]
        assert s == sorted(s, reverse=True), s
        # The negative scores did not trip the score-ratio rule: it applies
        # only to candidates past the rerank depth, by their fused score.
        dropped = r["validation"]["dropped"]
        assert not [d for d in dropped if d["reason"] == "score" and "rerank_score" in d], dropped


def test_cohere_shape_and_keyword_scores():
    with TempDir() as t, Mock("--rerank-keyword", "nitrite") as m:
        ragd("ingest", DOCS, data=t, check=0)
        r = search(t, "--reranker-url", f"http://127.0.0.1:{m.port}/v1", "--reranker-model", "rerank-mock")
        rr = r["validation"]["rerank"]
        assert rr["used"] and rr["protocol"] == "cohere" and rr["model"] == "rerank-mock", rr
        for h in r["results"]:
            text = "\n".join(x for x in (h["title"], h["heading_path"], h["text"]) if x)
            assert h["rerank_score"] == text.lower().count("nitrite"), h
        assert r["results"][0]["rerank_score"] >= 1, r["results"][0]
        # --min-rerank 1 keeps only chunks that mention the keyword.
        f = search(t, "--reranker-url", f"http://127.0.0.1:{m.port}/v1", "--reranker-model", "rerank-mock",
                   "--min-rerank", "1")
        assert f["results"] and all(h["rerank_score"] >= 1 for h in f["results"]), f["results"]
        assert f["validation"]["dropped_by"]["rerank"] > 0, f["validation"]["dropped_by"]
        assert f["validation"]["rerank"]["min_rerank"] == 1, f["validation"]["rerank"]
        assert any(d["reason"] == "rerank" and "rerank_score" in d for d in f["validation"]["dropped"])
        # context and answer take the same options.
        for cmd in ("context", "answer"):
            ragd(cmd, "--json", "--reranker-url", f"http://127.0.0.1:{m.port}/v1", "--reranker-model", "x", QUERY,
                 data=t, check=0)


def test_dead_reranker_keeps_fused_order():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        base = search(t)
        r = ragd("search", "--json", "--k", 8, "--reranker-url", f"http://127.0.0.1:{free_port()}",
                 "--reranker-timeout", 2, QUERY, data=t, check=0)
        j = r.json()
        rr = j["validation"]["rerank"]
        assert rr["used"] is False and "connection refused" in rr["error"], rr
        assert ids(j) == ids(base), (ids(j), ids(base))
        assert all("rerank_score" not in h for h in j["results"])
        assert "reranker failed" in r.err, r.err  # said on stderr too
        # A failing reranker cannot drop anything by --min-rerank.
        j2 = search(t, "--reranker-url", f"http://127.0.0.1:{free_port()}", "--min-rerank", "100")
        assert ids(j2) == ids(base) and j2["validation"]["dropped_by"]["rerank"] == 0
        # Server errors (HTTP 500 on every attempt) are the same.
        with Mock("--status", 500) as m:
            j3 = search(t, "--reranker-url", f"http://127.0.0.1:{m.port}")
            assert j3["validation"]["rerank"]["used"] is False and "HTTP 500" in j3["validation"]["rerank"]["error"]
            assert ids(j3) == ids(base)


def test_usage_errors():
    with TempDir() as t:
        ragd("ingest", DOCS, data=t, check=0)
        assert ragd("search", "--min-rerank", "0.5", QUERY, data=t).code == 2
        assert ragd("search", "--reranker-url", "http://127.0.0.1:1", "--min-rerank", "high", QUERY,
                    data=t).code == 2
        assert ragd("search", "--reranker-url", "ftp://x", QUERY, data=t).code == 2
        r = ragd("search", "--reranker-url", "http://127.0.0.1:1", "--reranker-protocol", "cohere", QUERY, data=t)
        assert r.code == 2 and "--reranker-model" in r.err, r.err
        h = ragd("search", "--help", check=0)
        assert "--reranker-url" in h.out and "--min-rerank" in h.out


def test_eval_reports_rerank():
    with TempDir() as t, Mock() as m:
        beir = make_beir(t)
        data = os.path.join(t, "data")
        r = ragd("eval", "--beir", beir, "--mode", "lexical", "--json", "--reranker-url",
                 f"http://127.0.0.1:{m.port}", data=data, check=0).json()
        assert r["rerank"]["queries_reranked"] == r["queries"] and r["rerank"]["queries_failed"] == 0, r["rerank"]
        r = ragd("eval", "--beir", beir, "--mode", "lexical", "--json", "--reranker-url",
                 f"http://127.0.0.1:{free_port()}", "--max-queries", 2, data=data, check=0).json()
        assert r["rerank"]["queries_failed"] == 2 and "connection refused" in r["rerank"]["last_error"], r["rerank"]
        plain = ragd("eval", "--beir", beir, "--mode", "lexical", "--json", data=data, check=0).json()
        assert "rerank" not in plain


if __name__ == "__main__":
    run_tests([
        test_reverse_reranker_changes_order,
        test_cohere_shape_and_keyword_scores,
        test_dead_reranker_keeps_fused_order,
        test_usage_errors,
        test_eval_reports_rerank,
    ])
