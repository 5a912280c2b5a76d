"""Integration tests for the document-level summary entry (docs/summary.md,
"Summary entry"): a chunk of kind "summary" holding a multi-chunk
document's summary sentences and keywords, indexed and embedded like any
chunk, so an overview question ("what is this document about") is answered
by the entry; and its consistency through update, rm and --prune."""
import os
import shutil
import sqlite3
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests, split_chunks  # noqa: E402

DOCS = os.path.join(FIXTURES, "docs")
OVERVIEW = {
    "treaty-of-saltmere.md":
        "What is the treaty of Saltmere about? peace, the Common Shoal fishing zone and its languages",
    "eastwick-recycling.md":
        "what is the Eastwick recycling document about: collection day, plastic bags, batteries "
        "and Christmas trees",
}
_shared = {}


def ingested():
    if "data" not in _shared:
        d = tempfile.mkdtemp(prefix="ragd-it-sumentry-")
        rep = ragd("ingest", "--json", DOCS, data=d, check=0).json()
        _shared["data"], _shared["rep"] = d, rep
    return _shared["data"]


def chunks(doc_id, data):
    return ragd("chunks", "--json", doc_id, data=data, check=0).json()


def doc_ids():
    out = []
    for root, _, files in os.walk(DOCS):
        for f in files:
            out.append(os.path.relpath(os.path.join(root, f), DOCS))
    return sorted(out)


def test_multi_chunk_documents_have_one_entry():
    d = ingested()
    with_entry = 0
    for doc_id in doc_ids():
        texts, entry = split_chunks(chunks(doc_id, d))  # checks the entry's invariant
        # Only documents of four or more chunks get one (SUMMARY_ENTRY_MIN_CHUNKS:
        # a shorter document's chunks already hold most of its summary).
        assert (entry is not None) == (len(texts) >= 4), (doc_id, len(texts))
        with_entry += entry is not None
    assert with_entry == _shared["rep"]["summary_entries"] > 0, _shared["rep"]
    # "chunks" in the ingest report counts text chunks only.
    total = sum(len(split_chunks(chunks(x, d))[0]) for x in doc_ids())
    assert total == _shared["rep"]["chunks"], (total, _shared["rep"]["chunks"])


def test_overview_question_is_answered_by_the_entry():
    d = ingested()
    for doc_id, q in OVERVIEW.items():
        _, entry = split_chunks(chunks(doc_id, d))
        for mode in ("lexical", "hybrid", "dense"):
            res = ragd("search", "--json", "--mode", mode, "-k", "5", q, data=d, check=0).json()
            assert res["relevant"], (mode, q)
            top = res["results"][0]
            if mode == "dense":
                # The entry's vector is there: dense search finds it for its document.
                hits = [r for r in res["results"] if r["chunk_id"] == entry["id"]]
                assert hits and hits[0]["kind"] == "summary", (mode, q, res["results"])
                continue
            assert top["doc_id"] == doc_id and top["chunk_id"] == entry["id"], (mode, q, top)
            assert top["kind"] == "summary" and top["text"] == entry["text"], top
            assert (top["start"], top["end"]) == (0, entry["end"]), top
            # Ordinary hits carry no kind.
            assert all("kind" not in r for r in res["results"][1:] if r["chunk_id"] != entry["id"])


def test_context_source_shows_the_summary_text():
    d = ingested()
    doc_id, q = "treaty-of-saltmere.md", OVERVIEW["treaty-of-saltmere.md"]
    _, entry = split_chunks(chunks(doc_id, d))
    ctx = ragd("context", "--json", q, data=d, check=0).json()
    src = ctx["sources"][0]
    assert src["chunk_id"] == entry["id"] and src["kind"] == "summary", src
    assert (src["start"], src["end"]) == (0, entry["end"]), src
    assert all("kind" not in s for s in ctx["sources"][1:]), ctx["sources"]
    block = ctx["context"].split("\n[2] ")[0]
    assert block.startswith("[1] The Treaty of Saltmere"), block
    assert entry["text"] in block, block
    # The entry's text is the summary: no extra "Summary:" line for it.
    assert "\nSummary: " not in block, block
    # Other sources still get their document's one-line summary.
    if len(ctx["sources"]) > 1:
        assert "\nSummary: " in ctx["context"].split("\n[2] ", 1)[1]


def test_answer_citations_through_the_entry_point_into_the_document():
    d = ingested()
    for doc_id, q in OVERVIEW.items():
        ans = ragd("answer", "--json", q, data=d, check=0).json()
        assert ans["citations"] and ans["check"]["ok"], ans
        for c in ans["citations"]:
            text = ragd("show", "--json", c["doc_id"], data=d, check=0).json()["text"].encode()
            assert text[c["start"]:c["end"]].decode("utf-8") == c["quote"], c
        assert any(s.get("kind") == "summary" for s in ans["sources"]), ans["sources"]


def db_rows(data, sql, *args):
    db = sqlite3.connect(os.path.join(data, "ragd.db"))
    try:
        return db.execute(sql, args).fetchall()
    finally:
        db.close()


def entry_ids(data):
    """{doc_key: [entry chunk ids]} from the database."""
    out = {}
    for key, cid in db_rows(data, "SELECT d.doc_key, c.id FROM chunks c JOIN documents d ON "
                                  "d.id = c.document_id WHERE json_extract(c.meta, '$.kind') = "
                                  "'summary'"):
        out.setdefault(key, []).append(cid)
    return out


def indexed(data, cid):
    """(in FTS5, has a vector) for a chunk id."""
    fts = db_rows(data, "SELECT count(*) FROM chunks_fts WHERE rowid = ?", cid)[0][0]
    vec = db_rows(data, "SELECT count(*) FROM vectors WHERE chunk_id = ?", cid)[0][0]
    return fts == 1, vec == 1


def test_entry_follows_update_rm_and_prune():
    with TempDir() as t:
        src = os.path.join(t, "in")
        os.mkdir(src)
        for f in ("treaty-of-saltmere.md", "eastwick-recycling.md", "short-wifi.txt"):
            shutil.copy(os.path.join(DOCS, f), src)
        data = os.path.join(t, "data")
        ragd("ingest", src, data=data, check=0)
        ids = entry_ids(data)
        assert sorted(ids) == ["eastwick-recycling.md", "treaty-of-saltmere.md"], ids
        old = ids["treaty-of-saltmere.md"][0]
        assert indexed(data, old) == (True, True)
        # Update: the old entry goes (its vector tombstoned), a new one comes.
        p = os.path.join(src, "treaty-of-saltmere.md")
        with open(p, "a", encoding="utf-8") as f:
            f.write("\n## Afterword\n\nThe Saltmere lighthouse keepers kept a copy of the "
                    "treaty in their logbook for two centuries.\n")
        rep = ragd("ingest", "--json", src, data=data, check=0).json()
        assert rep["updated"] == 1 and rep["summary_entries"] == 1, rep
        ids = entry_ids(data)
        new = ids["treaty-of-saltmere.md"]
        assert len(new) == 1 and new[0] != old, (old, new)
        assert indexed(data, old) == (False, False) and indexed(data, new[0]) == (True, True)
        assert db_rows(data, "SELECT count(*) FROM deleted_chunks WHERE chunk_id = ?", old)[0][0] \
            in (0, 1)  # tombstoned until the vector index drops it
        q = OVERVIEW["treaty-of-saltmere.md"]
        for mode in ("lexical", "dense"):
            res = ragd("search", "--json", "--mode", mode, q, data=data, check=0).json()
            assert old not in [r["chunk_id"] for r in res["results"]], (mode, res["results"])
        # rm: the entry goes with the document, from FTS5 and the vectors too.
        ragd("rm", "treaty-of-saltmere.md", data=data, check=0)
        assert "treaty-of-saltmere.md" not in entry_ids(data)
        assert indexed(data, new[0]) == (False, False)
        for mode in ("lexical", "dense"):
            res = ragd("search", "--json", "--mode", mode, q, data=data, check=0).json()
            assert all(r["doc_id"] != "treaty-of-saltmere.md" for r in res["results"]), res
        # --prune: a deleted file's document and its entry go.
        os.remove(p)  # else the next ingest adds it again
        gone = entry_ids(data)["eastwick-recycling.md"][0]
        os.remove(os.path.join(src, "eastwick-recycling.md"))
        rep = ragd("ingest", "--json", "--prune", src, data=data, check=0).json()
        assert rep["pruned"] == 1, rep
        assert entry_ids(data) == {}, entry_ids(data)
        assert indexed(data, gone) == (False, False), (gone, indexed(data, gone))
        assert db_rows(data, "SELECT count(*) FROM chunks WHERE ord < 0")[0][0] == 0


if __name__ == "__main__":
    run_tests([v for k, v in sorted(globals().items()) if k.startswith("test_")])
