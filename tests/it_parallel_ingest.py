"""Integration tests for parallel ingest (--workers): the same input gives
the same documents, chunks (ids, text, offsets), summaries and search
results with 1 worker (the serial path) and with 4; a failing file among
good ones is reported and does not stop the others; the report counts
added/updated/unchanged/skipped/failed the same way."""
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
QUERIES = ["sourdough starter", "lighthouse keeper", "how do I bleed bicycle brakes",
           "cable knitting hat", "glacier survey results", "VPN setup"]


def inputs(t):
    """A mixed input tree: text/markdown (nested), HTML, PDF, a JSONL corpus
    (with a bad line) and bad files among them."""
    src = os.path.join(t, "src")
    shutil.copytree(DOCS, os.path.join(src, "docs"))
    shutil.copytree(os.path.join(FIXTURES, "html"), os.path.join(src, "html"))
    os.makedirs(os.path.join(src, "pdf"))
    for f in os.listdir(os.path.join(FIXTURES, "pdf")):
        if f.endswith(".pdf"):
            shutil.copy(os.path.join(FIXTURES, "pdf", f), os.path.join(src, "pdf"))
    for f in ("nul-bytes.txt", "invalid-utf8.txt", "empty.txt"):
        shutil.copy(os.path.join(FIXTURES, "bad", f), os.path.join(src, "docs"))
    shutil.copy(os.path.join(FIXTURES, "odd", "only-whitespace.txt"), os.path.join(src, "docs"))
    with open(os.path.join(src, "corpus.jsonl"), "w", encoding="utf-8") as f:
        for i in range(40):
            f.write(json.dumps({"_id": f"rec{i:02d}", "title": f"Record {i}",
                                "text": f"Record number {i} talks about tides and trains. " * (1 + i % 7),
                                "year": 2000 + i}) + "\n")
            if i == 17:
                f.write("{not json\n")
    return src


def snapshot(data):
    """Everything a user can see of the store, minus timestamps."""
    docs = ragd("docs", "--json", data=data, check=0).json()["documents"]
    out = {"docs": [], "chunks": {}, "search": {}}
    for d in docs:
        d = dict(d)
        d.pop("ingested_at", None)
        out["docs"].append(d)
        ch = ragd("chunks", "--json", d["id"], data=data, check=0).json()
        summary = ch.get("summary") or {}
        summary.pop("created_at", None)
        summary.pop("updated_at", None)
        out["chunks"][d["id"]] = {
            "summary": summary,
            "chunks": [(c["id"], c["ord"], c["start"], c["end"], c["text"], c["heading_path"],
                        c.get("meta")) for c in ch["chunks"]],
        }
    for q in QUERIES:
        r = ragd("search", "--json", "--k", "8", q, data=data, check=0).json()
        out["search"][q] = [(x["chunk_id"], x["doc_id"], round(x["score"], 6)) for x in r["results"]]
    return out


def counts(rep):
    return {k: rep[k] for k in ("added", "updated", "unchanged", "skipped", "failed", "chunks", "bytes")}


def test_one_and_four_workers_store_the_same():
    with TempDir() as t:
        src = inputs(t)
        reps, snaps = {}, {}
        for w in (1, 4):
            data = os.path.join(t, f"data{w}")
            r = ragd("ingest", "--json", "--workers", w, src, data=data)
            assert r.code == 1, (w, r.code, r.err)  # the bad files
            reps[w] = r.json()
            assert reps[w]["workers"] == w, reps[w]
            snaps[w] = snapshot(data)
        assert counts(reps[1]) == counts(reps[4]), (reps[1], reps[4])
        assert reps[1]["errors"] == reps[4]["errors"]  # same files, same order
        # A bad file and a bad JSONL line fail; the empty and the blank file
        # are skipped; the Latin-1 file is converted.
        assert reps[4]["failed"] == 2 and reps[4]["skipped"] == 2, reps[4]
        assert reps[4]["added"] > 70, reps[4]
        assert snaps[1]["docs"] == snaps[4]["docs"]
        assert snaps[1]["chunks"] == snaps[4]["chunks"]
        assert snaps[1]["search"] == snaps[4]["search"]
        assert any(snaps[4]["search"].values())


def test_failing_file_among_good_ones():
    with TempDir() as t:
        src = os.path.join(t, "src")
        os.makedirs(src)
        good = sorted(f for f in os.listdir(DOCS) if f.endswith((".md", ".txt")))[:12]
        for f in good:
            shutil.copy(os.path.join(DOCS, f), src)
        shutil.copy(os.path.join(FIXTURES, "bad", "nul-bytes.txt"), os.path.join(src, "m-bad.txt"))
        shutil.copy(os.path.join(FIXTURES, "bad", "binary.dat"), os.path.join(src, "b-bad.dat"))
        data = os.path.join(t, "data")
        r = ragd("ingest", "--json", "--workers", 4, src, data=data)
        assert r.code == 1, r.err
        rep = r.json()
        # The binary file of the walk is skipped, the NUL-byte .txt fails.
        assert rep["added"] == len(good) and rep["failed"] == 1 and rep["skipped_by"] == {"binary": 1}, rep
        assert [e["file"] for e in rep["errors"]] == [os.path.join(src, "m-bad.txt")]
        assert f"ragd: {os.path.join(src, 'm-bad.txt')}: " in r.err
        ids = [d["id"] for d in ragd("docs", "--json", data=data, check=0).json()["documents"]]
        assert sorted(ids) == sorted(good)


def test_report_counts_on_reingest():
    with TempDir() as t:
        src = os.path.join(t, "src")
        shutil.copytree(DOCS, src)
        data = os.path.join(t, "data")
        first = ragd("ingest", "--json", "--workers", 4, src, data=data, check=0).json()
        n = first["added"]
        assert n > 20 and first["updated"] == first["unchanged"] == first["failed"] == 0, first
        with open(os.path.join(src, "short-wifi.txt"), "a") as f:
            f.write("\nThe guest network password changes every Monday.\n")
        os.remove(os.path.join(src, "short-parking.txt"))
        rep = ragd("ingest", "--json", "--workers", 4, "--prune", src, data=data, check=0).json()
        assert (rep["added"], rep["updated"], rep["unchanged"], rep["pruned"]) == (0, 1, n - 2, 1), rep
        # Text output: the final report line.
        r = ragd("ingest", "--workers", 3, src, data=data, check=0)
        assert f"0 added, 0 updated, {n - 1} unchanged, 0 skipped, 0 failed" in r.out, r.out


def test_same_id_twice_in_one_run():
    """Inputs with one document id: the first file keeps it, other files
    with that id fail naming both, the same file again is unchanged — the
    same whether they are in flight at once or run serially."""
    with TempDir() as t:
        a, b, c = (os.path.join(t, x) for x in ("a", "b", "c"))
        for d in (a, b, c):
            os.makedirs(d)
        with open(os.path.join(a, "x.md"), "w") as f:
            f.write("# Tides\n\nSpring tides follow the new and the full moon.\n")
        shutil.copy(os.path.join(a, "x.md"), b)
        with open(os.path.join(c, "x.md"), "w") as f:
            f.write("# Trains\n\nThe night train leaves at ten.\n")
        results = {}
        for w in (1, 4):
            data = os.path.join(t, f"data{w}")
            rep = ragd("ingest", "--json", "--workers", w, os.path.join(a, "x.md"), os.path.join(b, "x.md"),
                       os.path.join(c, "x.md"), os.path.join(a, "x.md"), data=data, check=1).json()
            results[w] = (counts(rep), ragd("show", "--json", "x.md", data=data, check=0).json()["text"])
        assert results[1] == results[4], results
        c4 = results[4][0]
        assert (c4["added"], c4["unchanged"], c4["updated"], c4["failed"]) == (1, 1, 0, 2), c4
        assert "Spring tides" in results[4][1]


def test_workers_option_checked():
    with TempDir() as t:
        for bad in ("0", "-1", "x", "1000"):
            r = ragd("ingest", "--workers", bad, DOCS, data=os.path.join(t, "d"))
            assert r.code == 2, (bad, r.code, r.err)
        assert "--workers" in ragd("ingest", "--help").out


if __name__ == "__main__":
    run_tests([test_one_and_four_workers_store_the_same, test_failing_file_among_good_ones,
               test_report_counts_on_reingest, test_same_id_twice_in_one_run, test_workers_option_checked])
