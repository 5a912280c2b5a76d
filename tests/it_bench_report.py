"""The `make bench` tooling without running any benchmark: bench/report.py on
a checked-in sample of bench/results (fixtures/bench/), the nDCG scorer
bench/run.py applies to every peer, and the seeded synthetic corpus of
bench/synth_corpus.py. Fast (no build needed, no data set)."""
import json
import math
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, run_tests  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
BENCH = os.path.join(ROOT, "bench")
SAMPLE = os.path.join(FIXTURES, "bench")
sys.path.insert(0, BENCH)
import run as bench_run  # noqa: E402
import synth_corpus  # noqa: E402

PROSE_TOP = "# Benchmarks\n\nHand-written introduction that must survive.\n\n"
PROSE_END = "\n## Reproducing\n\nHand-written closing prose.\n"


def report(results, docs):
    r = subprocess.run([sys.executable, os.path.join(BENCH, "report.py"), "--results", results, "--docs", docs,
                        "--no-plots"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return open(os.path.join(docs, "benchmarks.md")).read(), open(os.path.join(docs, "scaling.md")).read()


def docs_with_markers(t):
    docs = os.path.join(t, "docs")
    os.makedirs(docs)
    with open(os.path.join(docs, "benchmarks.md"), "w") as f:
        f.write(PROSE_TOP + "<!-- bench:begin headline -->\nstale table\n<!-- bench:end headline -->\n" + PROSE_END)
    return docs


def test_sample_fills_sections_and_keeps_prose():
    with TempDir() as t:
        docs = docs_with_markers(t)
        md, scaling = report(SAMPLE, docs)
        assert md.startswith(PROSE_TOP), md[:200]
        assert "Hand-written closing prose." in md
        assert "stale table" not in md
        search = json.load(open(os.path.join(SAMPLE, "search.json")))
        chunk = json.load(open(os.path.join(SAMPLE, "chunk.json")))
        ingest = json.load(open(os.path.join(SAMPLE, "ingest.json")))
        assert f"| `dense_ragd_over_faiss_ratio` | {search['dense_ragd_over_faiss_ratio']:.2f}× |" in md
        assert f"| `lexical_ragd_over_fts5_ratio` | {search['lexical_ragd_over_fts5_ratio']:.2f}× |" in md
        assert f"| `fixed_mb_s` | {chunk['fixed_mb_s']:.2f} |" in md
        assert f"| `ingest_seconds` | {ingest['ingest_seconds']:.2f} |" in md
        for name in ("headline", "ingest", "search", "chunk", "peers"):
            assert md.count(f"<!-- bench:begin {name} -->") == 1, name
            assert md.count(f"<!-- bench:end {name} -->") == 1, name
        peers = json.load(open(os.path.join(SAMPLE, "peers.json")))
        for name in peers["ran"]:
            assert name in md, name
        for name in peers["skipped"]:
            assert f"**{name}**" in md, name
        assert "<!-- bench:begin scaling -->" in scaling and "Projected footprint" in scaling


def test_rerun_is_idempotent():
    with TempDir() as t:
        docs = docs_with_markers(t)
        first = report(SAMPLE, docs)
        second = report(SAMPLE, docs)
        assert first == second


def test_missing_and_failed_results_are_reported_not_fatal():
    with TempDir() as t:
        results = os.path.join(t, "results")
        os.makedirs(results)
        with open(os.path.join(results, "search.json"), "w") as f:
            json.dump({"name": "search", "failed": "bench_query exited 1"}, f)
        md, scaling = report(results, docs_with_markers(t))
        assert "Not measured: bench_query exited 1." in md
        assert "Not measured: not run." in md
        assert "Not measured yet" in scaling


def test_cpu_steal_is_measured_and_shown():
    """steal_pct is the hypervisor's share of the machine's ticks between two
    /proc/stat reads; the report prints it beside the load average, and
    leaves it out for results that predate it."""
    assert bench_run.steal_pct((100, 1000), (150, 1200)) == 25.0
    assert bench_run.steal_pct((100, 1000), (100, 1000)) is None
    assert bench_run.steal_pct(None, (1, 2)) is None
    t0 = bench_run.cpu_ticks()
    assert t0 is not None and 0 <= t0[0] <= t0[1]
    with TempDir() as t:
        results = os.path.join(t, "results")
        shutil.copytree(SAMPLE, results)
        p = os.path.join(results, "ingest.json")
        doc = json.load(open(p))
        doc["steal_pct"] = 12.5
        json.dump(doc, open(p, "w"))
        md, _ = report(results, docs_with_markers(t))
        ingest_line = [ln for ln in md.splitlines() if ln.startswith("- `bench/results/ingest.json`")]
        assert len(ingest_line) == 1 and "CPU steal 12.50 %" in ingest_line[0], ingest_line
        search_line = [ln for ln in md.splitlines() if ln.startswith("- `bench/results/search.json`")]
        assert len(search_line) == 1 and "steal" not in search_line[0], search_line


def test_ndcg_matches_the_definition():
    qrels = {"q1": {"a": 1}, "q2": {"a": 1, "b": 2}, "q3": {"z": 1}}
    runs = {"q1": ["a", "x"], "q2": ["x", "b", "a"]}  # q3 has no run: not scored
    want_q2 = (2 / math.log2(3) + 1 / math.log2(4)) / (2 / math.log2(2) + 1 / math.log2(3))
    got = bench_run.ndcg(runs, qrels)
    assert abs(got - (1.0 + want_q2) / 2) < 1e-12, got
    assert bench_run.ndcg({}, qrels) is None
    assert bench_run.scored(runs, qrels) == 2


def test_synthetic_corpus_is_reproducible_and_distinct():
    with TempDir() as t:
        src = os.path.join(t, "corpus.jsonl")
        with open(src, "w") as f:
            for i in range(20):
                f.write(json.dumps({"_id": str(i), "title": f"title {i}", "text": f"word{i} alpha beta gamma delta {i} " * 5}) + "\n")
        a, b, c = (os.path.join(t, n) for n in ("a.jsonl", "b.jsonl", "c.jsonl"))
        assert synth_corpus.generate(src, a, scale=2.5, seed=7) == 50
        synth_corpus.generate(src, b, scale=2.5, seed=7)
        synth_corpus.generate(src, c, scale=2.5, seed=8)
        assert open(a).read() == open(b).read()
        assert open(a).read() != open(c).read()
        docs = [json.loads(l) for l in open(a)]
        assert len({d["_id"] for d in docs}) == 50
        assert len({d["text"] for d in docs}) > 40  # replaced words make documents distinct


if __name__ == "__main__":
    if not os.path.isdir(SAMPLE):
        print(f"fixtures missing: {SAMPLE}")
        sys.exit(1)
    shutil.which("python3")
    run_tests([test_sample_fills_sections_and_keeps_prose, test_rerun_is_idempotent,
               test_missing_and_failed_results_are_reported_not_fatal, test_ndcg_matches_the_definition,
               test_synthetic_corpus_is_reproducible_and_distinct, test_cpu_steal_is_measured_and_shown])
