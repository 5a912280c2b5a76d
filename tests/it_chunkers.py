"""Integration tests for the semantic and parent-document chunkers, driving
the real ragd binary: `ingest --chunker semantic|parent`, chunk offsets
against `show` text, parents in `chunks --json`, parent_id in search
results, parent text in `context --json` and answers, and the per-collection
chunker setting (a change is refused)."""
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests, split_chunks  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
_shared = {}


def data():
    """One data dir with fixtures/docs ingested twice: collection 'sem'
    (semantic) and 'par' (parent, small children and parents so long
    sections split), shared by the read-only tests."""
    if "data" not in _shared:
        d = tempfile.mkdtemp(prefix="ragd-it-chunkers-")
        _shared["sem"] = ragd("ingest", "--json", "--collection", "sem", "--chunker", "semantic",
                              DOCS, data=d, check=0).json()
        _shared["par"] = ragd("ingest", "--json", "--collection", "par", "--chunker", "parent",
                              "--chunk-tokens", "64", "--overlap", "8", "--parent-tokens", "256",
                              DOCS, data=d, check=0).json()
        _shared["data"] = d
    return _shared["data"]


def doc_ids():
    out = []
    for root, _, files in os.walk(DOCS):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), DOCS))
    return sorted(out)


def doc_text(d, coll, doc_id):
    show = ragd("show", "--json", "--collection", coll, doc_id, data=d, check=0).json()
    return show["text"].encode("utf-8")


def check_slices(text, items, what):
    for c in items:
        assert 0 <= c["start"] < c["end"] <= len(text), (what, c)
        piece = text[c["start"]:c["end"]].decode("utf-8")  # on code point boundaries
        assert piece.strip() == piece and piece, (what, c["start"], c["end"])
        if "text" in c:
            assert piece == c["text"], (what, c["start"])


def test_semantic_ingest_report():
    data()
    rep = _shared["sem"]
    assert rep["added"] == len(doc_ids()) and rep["failed"] == 0, rep
    emb = rep["embedding"]
    # Sentences are embedded (for the cut decisions) besides the chunks.
    assert emb["texts"] > rep["chunks"] * 3, emb
    assert emb["embedder"] == "local", emb


def test_semantic_chunks_slice_the_text():
    d = data()
    total = 0
    for doc_id in doc_ids():
        text = doc_text(d, "sem", doc_id)
        ch = ragd("chunks", "--json", "--collection", "sem", doc_id, data=d, check=0).json()
        chunks, _ = split_chunks(ch)
        assert chunks, doc_id
        check_slices(text, chunks, doc_id)
        prev_end = 0
        for c in chunks:
            assert c["parent_id"] is None, (doc_id, c)
            assert c["tokens"] <= 256, (doc_id, c["ord"], c["tokens"])
            assert c["start"] >= prev_end, (doc_id, "semantic chunks do not overlap")
            prev_end = c["end"]
        assert ch["parents"] == [], doc_id
        # Everything but whitespace is covered.
        covered = bytearray(len(text))
        for c in chunks:
            covered[c["start"]:c["end"]] = b"\1" * (c["end"] - c["start"])
        rest = bytes(b for b, cv in zip(text, covered) if not cv)
        assert not rest.decode("utf-8").strip(), (doc_id, rest[:80])
        total += len(chunks)
    assert total == _shared["sem"]["chunks"]


def test_semantic_reingest_is_noop():
    d = data()
    rep = ragd("ingest", "--json", "--collection", "sem", DOCS, data=d, check=0).json()
    assert rep["unchanged"] == len(doc_ids()) and rep["added"] == 0, rep
    assert rep["embedding"]["texts"] == 0, rep["embedding"]


def test_parent_chunks_and_parents():
    d = data()
    split_parents = 0
    for doc_id in doc_ids():
        text = doc_text(d, "par", doc_id)
        ch = ragd("chunks", "--json", "--collection", "par", doc_id, data=d, check=0).json()
        parents = ch["parents"]
        assert parents, doc_id
        ch["chunks"], _ = split_chunks(ch)
        check_slices(text, ch["chunks"], doc_id)
        check_slices(text, parents, doc_id + " parents")
        by_id = {p["id"]: p for p in parents}
        prev_end = 0
        for p in parents:
            assert set(p) >= {"id", "ord", "start", "end", "heading_path", "tokens"}, p
            assert p["tokens"] <= 256, (doc_id, p)
            assert p["start"] >= prev_end, (doc_id, "parents do not overlap")
            prev_end = p["end"]
        children = {}
        for c in ch["chunks"]:
            assert c["tokens"] <= 64, (doc_id, c["ord"], c["tokens"])
            p = by_id.get(c["parent_id"])
            assert p is not None, (doc_id, c)
            assert p["start"] <= c["start"] and c["end"] <= p["end"], (doc_id, c["ord"], p)
            children.setdefault(p["id"], []).append(c)
        assert set(children) == set(by_id), (doc_id, "every parent has children")
        # Parents cover the document (everything but whitespace).
        covered = bytearray(len(text))
        for p in parents:
            covered[p["start"]:p["end"]] = b"\1" * (p["end"] - p["start"])
        rest = bytes(b for b, cv in zip(text, covered) if not cv)
        assert not rest.decode("utf-8").strip(), (doc_id, rest[:80])
        split_parents += sum(1 for p in parents if len(children[p["id"]]) > 1)
    assert split_parents > 10  # small children: many parents hold several


def test_parent_flat_text_windows():
    """Plain text has no headings: its parents are --parent-tokens windows."""
    d = data()
    ch = ragd("chunks", "--json", "--collection", "par", "saltmarsh-essay.txt", data=d, check=0).json()
    parents = ch["parents"]
    assert len(parents) >= 4, [p["tokens"] for p in parents]
    assert all(p["heading_path"] == "" for p in parents)
    assert all(128 <= p["tokens"] <= 256 for p in parents[:-1]), [p["tokens"] for p in parents]


def test_parent_search_results_carry_parent_id():
    d = data()
    r = ragd("search", "--json", "--collection", "par", "--k", "8",
             "When was the Greyhollow light first exhibited?", data=d, check=0).json()
    assert r["results"], r
    chunks = {}
    for x in r["results"]:
        assert isinstance(x["parent_id"], int), x
        if x["doc_id"] not in chunks:
            cj = ragd("chunks", "--json", "--collection", "par", x["doc_id"], data=d, check=0).json()
            chunks[x["doc_id"]] = {c["id"]: c for c in cj["chunks"]}
        assert chunks[x["doc_id"]][x["chunk_id"]]["parent_id"] == x["parent_id"], x


def test_parent_context_returns_parent_text():
    d = data()
    q = "How should the sourdough starter be fed?"
    s = ragd("search", "--json", "--collection", "par", q, data=d, check=0).json()
    c = ragd("context", "--json", "--collection", "par", "--budget", "6000", q, data=d, check=0).json()
    assert c["relevant"] and c["sources"], c
    parents_seen = set()
    texts = {}
    for src in c["sources"]:
        assert set(src) >= {"n", "doc_id", "chunk_id", "chunk_ids", "parent_id", "start", "end"}, src
        assert isinstance(src["parent_id"], int), src
        assert src["parent_id"] not in parents_seen, "hits of one parent merge into one source"
        parents_seen.add(src["parent_id"])
        if src["doc_id"] not in texts:
            texts[src["doc_id"]] = doc_text(d, "par", src["doc_id"])
            cj = ragd("chunks", "--json", "--collection", "par", src["doc_id"], data=d, check=0).json()
            texts[src["doc_id"] + "#parents"] = {p["id"]: p for p in cj["parents"]}
        p = texts[src["doc_id"] + "#parents"][src["parent_id"]]
        # The source is the whole parent section (the budget is large).
        assert (src["start"], src["end"]) == (p["start"], p["end"]), (src, p)
        body = texts[src["doc_id"]][p["start"]:p["end"]].decode("utf-8")
        assert body in c["context"], src
    # Every search hit is in some source, by its parent.
    merged = [i for src in c["sources"] for i in src["chunk_ids"]]
    assert len(merged) == len(set(merged))
    for x in s["results"]:
        assert x["chunk_id"] in merged, (x["chunk_id"], merged)
    # The sections are more than the hits: some source's parent is larger
    # than its best chunk.
    wider = 0
    for src in c["sources"]:
        cj = ragd("chunks", "--json", "--collection", "par", src["doc_id"], data=d, check=0).json()
        best = next(x for x in cj["chunks"] if x["id"] == src["chunk_id"])
        assert src["start"] <= best["start"] and best["end"] <= src["end"], (src, best)
        wider += (src["start"], src["end"]) != (best["start"], best["end"])
    assert wider > 0, c["sources"]


def test_parent_answer_citations_point_into_the_document():
    d = data()
    a = ragd("answer", "--json", "--collection", "par", "When was the Greyhollow light first exhibited?",
             data=d, check=0).json()
    assert a["citations"], a
    for cit in a["citations"]:
        text = doc_text(d, "par", cit["doc_id"])
        assert text[cit["start"]:cit["end"]].decode("utf-8") == cit["quote"], cit
    assert a["check"]["ok"], a["check"]


def test_changing_the_chunker_is_refused():
    d = data()
    for coll, have, want in (("sem", "semantic", "parent"), ("par", "parent", "fixed"),
                             ("sem", "semantic", "fixed")):
        r = ragd("ingest", "--collection", coll, "--chunker", want, DOCS, data=d)
        assert r.code == 1, (coll, want, r.code, r.err)
        assert have in r.err and want in r.err, r.err
    with TempDir() as t:
        ragd("ingest", os.path.join(DOCS, "short-wifi.txt"), data=t, check=0)  # default: fixed
        r = ragd("ingest", "--chunker", "semantic", os.path.join(DOCS, "short-wifi.txt"), data=t)
        assert r.code == 1 and "fixed" in r.err and "semantic" in r.err, r.err


def test_semantic_percentile_setting():
    one = os.path.join(DOCS, "aquarium-cycling.txt")
    with TempDir() as t:
        # Only for the semantic chunker, in 1..99.
        assert ragd("ingest", "--chunker", "parent", "--semantic-percentile", "80", one, data=t).code == 2
        assert ragd("ingest", "--chunker", "semantic", "--semantic-percentile", "0", one, data=t).code == 2
        assert ragd("ingest", "--chunker", "semantic", "--semantic-percentile", "100", one, data=t).code == 2
        assert ragd("ingest", "--chunker", "fixed", "--parent-tokens", "512", one, data=t).code == 2
        r = ragd("ingest", "--chunker", "parent", "--chunk-tokens", "300", "--parent-tokens", "200", one, data=t)
        assert r.code == 2 and "--parent-tokens" in r.err, r.err
        # Stored per collection: a lower percentile cuts more often.
        two = [os.path.join(DOCS, "violin-care.txt"), os.path.join(DOCS, "mushroom-foraging.txt")]
        n = {}
        for p in ("50", "95"):
            ragd("ingest", "--collection", "p" + p, "--chunker", "semantic", "--semantic-percentile", p,
                 *two, data=t, check=0)
            n[p] = sum(len(ragd("chunks", "--json", "--collection", "p" + p, os.path.basename(f),
                                data=t, check=0).json()["chunks"]) for f in two)
        assert n["50"] > n["95"] >= 2, n
        r = ragd("ingest", "--collection", "p50", "--semantic-percentile", "60", *two, data=t)
        assert r.code == 1 and "50" in r.err and "60" in r.err, r.err
        # Later runs need no flags.
        assert ragd("ingest", "--json", "--collection", "p50", *two, data=t, check=0).json()["unchanged"] == 2


def test_semantic_with_a_remote_embedder():
    """The collection's (remote) embedder embeds the sentences: one batched
    request per 64 sentences; when it fails, the document is not stored."""
    sys.path.insert(0, os.path.dirname(__file__))
    from it_vector import Mock, openai_args  # noqa: E402
    one = os.path.join(DOCS, "violin-care.txt")
    with TempDir() as t:
        with Mock("--dim", 32) as m:
            rep = ragd("ingest", "--json", "--chunker", "semantic", *openai_args(m), one, data=t,
                       check=0).json()
            reqs = m.stop()
        assert rep["added"] == 1, rep
        emb = rep["embedding"]
        assert emb["embedder"] == "openai" and emb["texts"] > rep["chunks"] + 20, emb
        # probe + sentences (one request: fewer than 64) + chunks (one request)
        assert reqs == 3, reqs
        ch = ragd("chunks", "--json", "violin-care.txt", data=t, check=0).json()["chunks"]
        assert ch and all(c["tokens"] <= 256 for c in ch)
    with TempDir() as t:
        # --dim: no probe, so the first request is the sentences'.
        with Mock("--dim", 32, "--fail-first", 1, "--status", 400, "--message", "model not loaded") as m:
            r = ragd("ingest", "--chunker", "semantic", "--dim", 32, *openai_args(m), one, data=t)
            reqs = m.stop()
        assert r.code == 3 and "violin-care.txt: " in r.err and "model not loaded" in r.err, (r.code, r.err)
        assert reqs == 1, reqs  # nothing else was embedded
        docs = ragd("docs", "--json", data=t)
        assert docs.code != 0 or docs.json()["documents"] == [], docs.out


def test_help_lists_the_chunkers():
    out = ragd("ingest", "--help", check=0).out
    assert "semantic" in out and "parent" in out and "--semantic-percentile" in out, out


if __name__ == "__main__":
    run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
