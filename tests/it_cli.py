"""Integration tests for the ragd CLI: ingest, docs/show/chunks/rm, search,
context and answer on the fixtures, bad inputs, and the usage contract."""
import json
import os
import shutil
import stat
import sys
import unicodedata

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, read_qrels, read_queries, run_tests, split_chunks  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
_shared = {}


def ingested():
    """One data dir with fixtures/docs ingested, shared by read-only tests."""
    if "data" not in _shared:
        import tempfile
        d = tempfile.mkdtemp(prefix="ragd-it-shared-")
        r = ragd("ingest", "--json", DOCS, data=d, check=0)
        _shared["data"] = d
        _shared["report"] = r.json()
    return _shared["data"]


def doc_files():
    out = []
    for root, _, files in os.walk(DOCS):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), DOCS))
    return sorted(out)


def test_ingest_counts_and_docs_listing():
    d = ingested()
    rep = _shared["report"]
    files = doc_files()
    assert rep["added"] == len(files), rep
    assert rep["failed"] == 0 and rep["chunks"] >= len(files), rep
    docs = ragd("docs", "--json", data=d, check=0).json()["documents"]
    assert sorted(x["id"] for x in docs) == files
    for x in docs:
        assert set(x) >= {"id", "source", "title", "chunks", "bytes", "ingested_at"}, x
        assert x["chunks"] >= 1 and x["bytes"] > 0 and x["title"], x


def test_reingest_is_noop():
    d = ingested()
    before = ragd("chunks", "--json", "nordvane-vpn-guide.md", data=d, check=0).json()
    rep = ragd("ingest", "--json", DOCS, data=d, check=0).json()
    assert rep["unchanged"] == len(doc_files()) and rep["added"] == 0 and rep["updated"] == 0, rep
    after = ragd("chunks", "--json", "nordvane-vpn-guide.md", data=d, check=0).json()
    assert [c["id"] for c in before["chunks"]] == [c["id"] for c in after["chunks"]]


def test_chunk_offsets_slice_document_text():
    d = ingested()
    for doc_id in doc_files():
        show = ragd("show", "--json", doc_id, data=d, check=0).json()
        assert set(show) >= {"id", "source", "title", "summary", "metadata", "text"}, show.keys()
        text = show["text"].encode("utf-8")
        assert unicodedata.is_normalized("NFC", show["text"]), doc_id
        assert "\r" not in show["text"], doc_id
        ch = ragd("chunks", "--json", doc_id, data=d, check=0).json()
        assert ch["doc_id"] == doc_id and isinstance(ch["summary"], dict)
        assert ch["chunks"], doc_id
        chunks, _ = split_chunks(ch)
        for c in chunks:
            assert set(c) >= {"id", "parent_id", "ord", "start", "end", "heading_path", "tokens", "text",
                              "kind"}
            assert text[c["start"]:c["end"]].decode("utf-8") == c["text"], (doc_id, c["ord"])


def test_every_fixture_question_finds_its_document_in_top5():
    d = ingested()
    queries = read_queries(os.path.join(FIXTURES, "eval", "queries.jsonl"))
    qrels = read_qrels(os.path.join(FIXTURES, "eval", "qrels.tsv"))
    assert len(queries) >= 40
    misses = []
    for qid, text in sorted(queries.items()):
        r = ragd("search", "--json", "--k", "5", text, data=d, check=0).json()
        assert set(r) >= {"query", "results", "validation", "timing_ms"}, r.keys()
        got = [x["doc_id"] for x in r["results"]]
        for x in r["results"]:
            assert set(x) >= {"rank", "chunk_id", "doc_id", "title", "score", "text", "start", "end", "parent_id"}
        if not set(qrels[qid]) & set(got):
            misses.append((qid, text, list(qrels[qid]), got))
    assert not misses, "relevant document not in top 5:\n" + "\n".join(map(str, misses))


def test_answers_cite_only_returned_sources():
    d = ingested()
    queries = read_queries(os.path.join(FIXTURES, "eval", "queries.jsonl"))
    texts = {}
    for qid, q in sorted(queries.items()):
        a = ragd("answer", "--json", q, data=d, check=0).json()
        assert set(a) >= {"answer", "citations", "check", "sources", "usage"}, a.keys()
        ns = {s["n"]: s for s in a["sources"]}
        assert a["citations"], (qid, a["answer"])
        assert a["check"]["ok"] is True, (qid, a["check"])
        for c in a["citations"]:
            assert c["n"] in ns, (qid, c)
            assert c["chunk_id"] == ns[c["n"]]["chunk_id"] and c["doc_id"] == ns[c["n"]]["doc_id"]
            if c["doc_id"] not in texts:
                texts[c["doc_id"]] = ragd("show", "--json", c["doc_id"], data=d, check=0).json()["text"].encode()
            assert texts[c["doc_id"]][c["start"]:c["end"]].decode() == c["quote"], (qid, c)
            assert f"[{c['n']}]" in a["answer"]
        # Every [n] in the answer text names a source.
        import re
        for n in re.findall(r"\[(\d+)\]", a["answer"]):
            assert int(n) in ns, (qid, n)


def test_offtopic_question_is_not_answered():
    d = ingested()
    a = ragd("answer", "--json", "quantum chromodynamics of neutron stars lattice gauge", data=d, check=0).json()
    assert a["relevant"] is False and a["citations"] == [], a
    assert a["usage"]["generator_called"] is False
    s = ragd("search", "--json", "xylophone zeppelin quasar", data=d, check=0).json()
    assert s["results"] == [] and s["validation"]["relevant"] is False


def test_query_without_words_is_not_answered():
    """Issue 12 #10: punctuation, stop words, emoji or a lone quote name nothing."""
    d = ingested()
    for q in ("!!! ???", "the of and", "\U0001F600\U0001F389", '"'):
        for mode in ("hybrid", "dense", "lexical"):
            s = ragd("search", "--json", "--mode", mode, q, data=d, check=0).json()
            assert s["relevant"] is False and s["results"] == [], (q, mode, s["relevant"])
            assert "no searchable words" in s["validation"]["reason"], s["validation"]
    a = ragd("answer", "--json", "!!! ???", data=d, check=0).json()
    assert a["relevant"] is False and a["citations"] == [], a
    assert a["usage"]["generator_called"] is False
    r = ragd("answer", "!!! ???", data=d, check=0)
    assert "could not find an answer" in r.out, r.out


def test_context_numbered_within_budget():
    d = ingested()
    c = ragd("context", "--json", "--budget", "300", "how do I clean and lubricate the chain", data=d, check=0).json()
    assert c["relevant"] and c["sources"], c
    assert c["tokens"] <= 300, c["tokens"]
    assert [s["n"] for s in c["sources"]] == list(range(1, len(c["sources"]) + 1))
    for s in c["sources"]:
        assert f"[{s['n']}]" in c["context"]
    # Each source is headed by its document's one-line summary.
    assert "\nSummary: " in c["context"], c["context"][:400]
    again = ragd("context", "--json", "--budget", "300", "how do I clean and lubricate the chain", data=d, check=0).json()
    assert again == c  # deterministic


def test_context_merges_overlapping_spans_of_one_document():
    with TempDir() as t:
        data, src = os.path.join(t, "data"), os.path.join(t, "src")
        os.makedirs(src)
        # One long document about one topic: small overlapping windows all match.
        words = ["amber", "basalt", "cedar", "dune", "ember", "fjord", "glacier", "harbor", "iris",
                 "juniper", "kelp", "lagoon"]
        sents = [f"Step {i} near the {w} gate: the greyhound kennel ventilation fan filter is rinsed "
                 f"with {w} water number {i * 7}." for i, w in enumerate(words, 1)]
        with open(os.path.join(src, "fans.txt"), "w") as f:
            f.write(" ".join(sents) + "\n")
        ragd("ingest", "--chunk-tokens", "40", "--overlap", "10", src, data=data, check=0)
        chunks = ragd("chunks", "--json", "fans.txt", data=data, check=0).json()["chunks"]
        assert len(chunks) >= 4, len(chunks)
        doc = ragd("show", "--json", "fans.txt", data=data, check=0).json()["text"].encode()
        q = ["context", "--json", "--k", "6", "--mmr", "100", "greyhound kennel ventilation fan filter rinsed"]
        c = ragd(*q, data=data, check=0).json()
        assert c["relevant"], c
        # The document also has a summary entry (4+ chunks); it stands for the
        # whole document and is not a span of it: leave it out here.
        kinds = {s["n"]: s.get("kind", "text") for s in c["sources"]}
        spans_src = [s for s in c["sources"] if kinds[s["n"]] != "summary"]
        merged = [s for s in spans_src if len(s["chunk_ids"]) > 1]
        assert merged, c["sources"]
        for s in spans_src:
            # The source text is exactly the document's bytes [start, end).
            text = doc[s["start"]:s["end"]].decode()
            assert text in c["context"], (s, c["context"][:300])
        # No sentence is repeated across the text sources: the overlap between
        # windows appears once (per-source "Summary:" lines aside).
        blocks, cur = {}, None
        for line in c["context"].split("\n"):
            if line.startswith("[") and "] " in line and line[1:line.index("]")].isdigit():
                cur = int(line[1:line.index("]")])
                blocks[cur] = []
            elif cur is not None and not line.startswith("Summary: "):
                blocks[cur].append(line)
        body = "\n".join("\n".join(v) for n, v in blocks.items() if kinds.get(n) != "summary")
        for sent in sents:
            assert body.count(sent) <= 1, sent
        # Text sources of one document never overlap each other.
        spans = sorted((s["start"], s["end"]) for s in spans_src)
        for (a0, a1), (b0, b1) in zip(spans, spans[1:]):
            assert a1 < b0, spans


def test_search_stays_inside_its_collection():
    # Lexical search filters by the collection token inside FTS5 (schema
    # v3); alone or beside another collection, results must come only from
    # the collection asked for (in every mode).
    with TempDir() as t:
        data = os.path.join(t, "data")
        ragd("ingest", "--collection", "x", os.path.join(DOCS, "beekeeping-calendar.md"), data=data, check=0)
        q = ["--json", "--k", "20", "--min-evidence", "0", "--min-support", "0", "hive honey bees winter"]
        alone = ragd("search", "--collection", "x", *q, data=data, check=0).json()["results"]
        assert alone and {r["doc_id"] for r in alone} == {"beekeeping-calendar.md"}, alone
        ragd("ingest", "--collection", "y", DOCS, data=data, check=0)
        for mode in ("lexical", "dense", "hybrid"):
            got = ragd("search", "--collection", "x", "--mode", mode, *q, data=data, check=0).json()["results"]
            assert got and {r["doc_id"] for r in got} == {"beekeeping-calendar.md"}, (mode, got)
        ids_x = {r["chunk_id"] for r in alone}
        got_y = ragd("search", "--collection", "y", *q, data=data, check=0).json()["results"]
        assert got_y and not ids_x & {r["chunk_id"] for r in got_y}, got_y


def test_normalization_nfd_and_crlf():
    d = ingested()
    r = ragd("search", "--json", "Café Méridien", data=d, check=0).json()
    assert r["results"] and r["results"][0]["doc_id"] == "decomposed-accents.txt", r["results"][:2]
    nfd = unicodedata.normalize("NFD", "Café Méridien")
    r2 = ragd("search", "--json", nfd, data=d, check=0).json()
    assert r2["results"][0]["doc_id"] == "decomposed-accents.txt"


def test_bad_inputs_fail_cleanly_and_change_nothing():
    with TempDir() as t:
        data = os.path.join(t, "data")
        good = os.path.join(t, "good")
        os.makedirs(good)
        shutil.copy(os.path.join(DOCS, "short-wifi.txt"), good)
        ragd("ingest", good, data=data, check=0)
        before = ragd("docs", "--json", data=data, check=0).json()
        bad = os.path.join(FIXTURES, "bad")
        gen = os.path.join(t, "gen")
        os.makedirs(gen)
        with open(os.path.join(gen, "huge-line.txt"), "w") as f:
            f.write("word " * (20 * 1024 * 1024 // 5 + 10))
        os.symlink(os.path.join(t, "does-not-exist.txt"), os.path.join(gen, "vanished.txt"))
        os.mkfifo(os.path.join(gen, "fifo.txt"))
        unreadable = os.path.join(gen, "unreadable.txt")
        with open(unreadable, "w") as f:
            f.write("secret text\n")
        os.chmod(unreadable, 0)
        # invalid-utf8.txt reads as Latin-1 text: converted with a warning
        # (issue 16), checked below.
        cases = [os.path.join(bad, f) for f in sorted(os.listdir(bad)) if f != "invalid-utf8.txt"]
        cases += [os.path.join(gen, f) for f in ("huge-line.txt", "vanished.txt", "fifo.txt")]
        if os.geteuid() != 0:  # root reads mode-000 files
            cases.append(unreadable)
        for path in cases:
            r = ragd("ingest", path, data=data)
            assert r.code == 1, (path, r.code, r.err)
            assert f"ragd: {path}: " in r.err, (path, r.err)
            after = ragd("docs", "--json", data=data, check=0).json()
            assert after == before, path
        # A directory with bad and good files: exit 1, good ones ingested.
        mixed = os.path.join(t, "mixed")
        shutil.copytree(bad, mixed)
        shutil.copy(os.path.join(DOCS, "short-parking.txt"), mixed)
        r = ragd("ingest", "--json", mixed, data=data)
        assert r.code == 1, r.err
        rep = r.json()
        # In a walk the binary and the empty file are skipped, not failed;
        # the Latin-1 one is converted.
        assert rep["added"] == 2 and rep["failed"] == len(os.listdir(bad)) - 3, rep
        assert rep["skipped_by"] == {"binary": 1, "empty": 1}, rep
        ids = [x["id"] for x in ragd("docs", "--json", data=data, check=0).json()["documents"]]
        assert "short-parking.txt" in ids and "short-wifi.txt" in ids
        for why, f in [("invalid UTF-8", "overlong.txt"), ("NUL", "nul-bytes.txt"), ("empty", "empty.txt"),
                       ("binary", "binary.dat"), ("too large", "huge-line.txt")]:
            src = os.path.join(bad if f != "huge-line.txt" else gen, f)
            r = ragd("ingest", src, data=data)
            assert why in r.err, (f, r.err)


def test_odd_but_valid_inputs():
    with TempDir() as t:
        data = os.path.join(t, "data")
        odd = os.path.join(FIXTURES, "odd")
        r = ragd("ingest", "--json", odd, data=data)
        assert r.code == 0, r.err
        rep = r.json()
        assert rep["skipped"] == 1 and rep["failed"] == 0, rep
        assert "only-whitespace.txt" in r.err and "warning" in r.err
        bom = ragd("show", "--json", "bom.txt", data=data, check=0).json()
        assert not bom["text"].startswith("\ufeff")
        long = ragd("chunks", "--json", "one-long-line.txt", data=data, check=0).json()
        assert len(long["chunks"]) > 100
        assert max(c["tokens"] for c in long["chunks"]) <= 256


def test_usage_contract():
    with TempDir() as t:
        assert ragd("help").code == 0
        assert ragd("search", "--help").code == 0
        assert "usage: ragd search" in ragd("search", "--help").out
        assert ragd("nope").code == 2
        assert ragd().code == 2
        assert ragd("search", "--bogus", "x", data=t).code == 2
        assert ragd("ingest", data=t).code == 2
        assert ragd("search", "--k", "zero", "x", data=t).code == 2
        assert ragd("ingest", "--chunker", "weird", DOCS, data=t).code == 2
        r = ragd("search", "anything", data=t)
        assert r.code == 1 and r.err.startswith("ragd: "), r.err
        r = ragd("show", "missing-doc", data=ingested())
        assert r.code == 1 and "missing-doc" in r.err
        r = ragd("search", "--mode", "nonsense", "x", data=ingested())
        assert r.code == 2, r.err
        r = ragd("search", "--fusion", "bogus", "x", data=ingested())
        assert r.code == 2 and "fusion" in r.err, r.err
        assert ragd("search", "--min-evidence", "1001", "x", data=ingested()).code == 2
        assert ragd("search", "--mmr", "101", "x", data=ingested()).code == 2


def test_options_anywhere_and_env_data_dir():
    d = ingested()
    a = ragd("search", "sourdough", "starter", "--k", "2", "--json", env={"RAGD_DATA": d}, check=0).json()
    assert len(a["results"]) <= 2 and a["results"][0]["doc_id"] == "cooking/sourdough-starter.md"
    assert a["query"] == "sourdough starter"


def test_rm_removes_from_search():
    with TempDir() as t:
        data = os.path.join(t, "data")
        ragd("ingest", DOCS, data=data, check=0)
        q = "sourdough starter feeding schedule"
        assert any(x["doc_id"] == "cooking/sourdough-starter.md"
                   for x in ragd("search", "--json", q, data=data, check=0).json()["results"])
        ragd("rm", "cooking/sourdough-starter.md", data=data, check=0)
        assert ragd("rm", "cooking/sourdough-starter.md", data=data).code == 1
        assert not any(x["doc_id"] == "cooking/sourdough-starter.md"
                       for x in ragd("search", "--json", q, data=data, check=0).json()["results"])


def test_changed_file_replaces_old_version():
    with TempDir() as t:
        data, src = os.path.join(t, "data"), os.path.join(t, "src")
        os.makedirs(src)
        p = os.path.join(src, "note.md")
        with open(p, "w") as f:
            f.write("# Note\n\nThe secret ingredient is cardamom.\n")
        ragd("ingest", src, data=data, check=0)
        with open(p, "w") as f:
            f.write("# Note\n\nThe secret ingredient is saffron.\n")
        rep = ragd("ingest", "--json", src, data=data, check=0).json()
        assert rep["updated"] == 1, rep
        assert ragd("search", "--json", "cardamom", data=data, check=0).json()["results"] == []
        assert ragd("search", "--json", "saffron", data=data, check=0).json()["results"]


def test_search_filters_on_metadata():
    with TempDir() as t:
        data = os.path.join(t, "data")
        ragd("ingest", "--meta", "team=garden", "--meta", "year=2024", os.path.join(DOCS, "crlf-notes.txt"),
             data=data, check=0)
        ragd("ingest", "--meta", "team=bees", os.path.join(DOCS, "beekeeping-calendar.md"), data=data, check=0)
        q = ["search", "--json", "--mode", "lexical", "--k", "20", "--min-evidence", "0", "--min-support", "0",
             "garden hive meeting honey committee"]
        both = {x["doc_id"] for x in ragd(*q, data=data, check=0).json()["results"]}
        assert both == {"crlf-notes.txt", "beekeeping-calendar.md"}, both
        only = {x["doc_id"] for x in ragd(*q, "--filter", "team=bees", data=data, check=0).json()["results"]}
        assert only == {"beekeeping-calendar.md"}, only
        num = {x["doc_id"] for x in ragd(*q, "--filter", "year=2024", "--filter", "team=garden", data=data,
                                         check=0).json()["results"]}
        assert num == {"crlf-notes.txt"}, num
        assert ragd(*q, "--filter", "team=nobody", data=data, check=0).json()["results"] == []
        assert ragd(*q, "--filter", "no-equals-sign", data=data).code == 2


def test_prune_removes_documents_whose_files_are_gone():
    with TempDir() as t:
        data, src, other = os.path.join(t, "data"), os.path.join(t, "src"), os.path.join(t, "other")
        os.makedirs(os.path.join(src, "sub"))
        os.makedirs(other)
        for f in ("short-wifi.txt", "short-parking.txt"):
            shutil.copy(os.path.join(DOCS, f), src)
        shutil.copy(os.path.join(DOCS, "violin-care.txt"), os.path.join(src, "sub"))
        shutil.copy(os.path.join(DOCS, "aquarium-cycling.txt"), other)
        ragd("ingest", src, other, data=data, check=0)
        os.remove(os.path.join(src, "short-wifi.txt"))
        os.remove(os.path.join(src, "sub", "violin-care.txt"))
        # Without --prune nothing is removed.
        assert ragd("ingest", "--json", src, data=data, check=0).json()["pruned"] == 0
        rep = ragd("ingest", "--json", "--prune", src + "/", data=data, check=0).json()
        assert rep["pruned"] == 2 and rep["unchanged"] == 1, rep
        ids = [x["id"] for x in ragd("docs", "--json", data=data, check=0).json()["documents"]]
        # Two directories in one run: ids carry the directory's name.
        assert ids == ["other/aquarium-cycling.txt", "src/short-parking.txt"], ids  # other/ untouched
        hits = ragd("search", "--json", "--mode", "dense", "--k", "50", "violin humidity", data=data,
                    check=0).json()["results"]
        assert all(x["doc_id"] != "src/sub/violin-care.txt" for x in hits)


def test_json_logs():
    with TempDir() as t:
        r = ragd("ingest", "--log-format", "json", os.path.join(FIXTURES, "odd"), data=t)
        lines = [l for l in r.err.splitlines() if l.startswith("{")]
        assert lines, r.err
        for l in lines:
            o = json.loads(l)
            assert {"ts", "level", "msg"} <= set(o)


if __name__ == "__main__":
    try:
        run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
    finally:
        if "data" in _shared:
            shutil.rmtree(_shared["data"], ignore_errors=True)
