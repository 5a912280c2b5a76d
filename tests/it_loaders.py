"""Integration tests for the HTML and PDF loaders and --meta, driving build/ragd:
formats and titles, chunk offsets that slice the stored text exactly (bytes),
page numbers on PDF chunks, user metadata, sniffing, and bad inputs."""
import json
import os
import shutil
import sqlite3
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import FIXTURES, TempDir, ragd, run_tests, split_chunks  # noqa: E402

HTML = os.path.join(FIXTURES, "html")
PDF = os.path.join(FIXTURES, "pdf")
BAD = os.path.join(FIXTURES, "bad")
PDFS = [os.path.join(PDF, f) for f in ("saltmarsh-survey.pdf", "ferry-notice.pdf")]
SPACE = b" \t\n\f\r\v"


def check_offsets(data, doc_id, **kw):
    """Every chunk is text[start:end] of the stored text, in bytes; returns
    (show, chunks) JSON."""
    show = ragd("show", "--json", doc_id, data=data, check=0, **kw).json()
    text = show["text"].encode("utf-8")
    ch = ragd("chunks", "--json", doc_id, data=data, check=0, **kw).json()
    assert ch["chunks"], doc_id
    ch["chunks"], _ = split_chunks(ch)  # the summary entry, if any, is checked there
    for c in ch["chunks"]:
        assert 0 <= c["start"] < c["end"] <= len(text), (doc_id, c)
        assert text[c["start"]:c["end"]].decode("utf-8") == c["text"], (doc_id, c["ord"])
        assert isinstance(c["meta"], dict), c
    return show, ch


def test_html_fixtures():
    with TempDir() as t:
        rep = ragd("ingest", "--json", HTML, data=t, check=0).json()
        assert rep["added"] == 3 and rep["failed"] == 0 and rep["skipped"] == 0, rep
        titles = {}
        for doc_id in sorted(os.listdir(HTML)):
            show, ch = check_offsets(t, doc_id)
            assert show["format"] == "html", show["format"]
            titles[doc_id] = show["title"]
            assert "zzq" not in show["text"] and "<" not in show["text"].replace(" < ", ""), doc_id
            for c in ch["chunks"]:
                assert c["meta"] == {}, c
        assert titles == {
            "clean-article.html": "Whip-and-Tongue Grafting at the Kestrel Valley Orchard",
            "messy-page.html": "Marlow Street Bike Repair Café – Hours & FAQ",
            "intl-entities.html": "Café Menü & Priçes — 2024",
        }, titles
        _, ch = check_offsets(t, "clean-article.html")
        paths = {c["heading_path"] for c in ch["chunks"]}
        assert any(p.endswith("Making the Graft > Rootstock Choices") or p.endswith("Making the Graft")
                   for p in paths), paths
        table = [c for c in ch["chunks"] if "| MM106 | 4 m | 3 |" in c["text"]]
        assert table, ch["chunks"]
        # Search reaches HTML content (table cell) and not dropped content.
        r = ragd("search", "--json", "rootstock seedling tree height", data=t, check=0).json()
        assert r["results"] and r["results"][0]["doc_id"] == "clean-article.html", r
        r = ragd("search", "--json", "zzqtrackerzz", data=t, check=0).json()
        assert r["results"] == [], r


def test_pdf_pages_on_chunks():
    with TempDir() as t:
        rep = ragd("ingest", "--json", "--chunk-tokens", "48", "--overlap", "8", *PDFS, data=t, check=0).json()
        assert rep["added"] == 2 and rep["failed"] == 0, rep
        show, ch = check_offsets(t, "saltmarsh-survey.pdf")
        assert show["format"] == "pdf" and show["title"] == "Saltmarsh Heron Survey, Field Notes", show
        text = show["text"].encode("utf-8")
        assert b"\f" not in text, text
        # page starts: the first line of pages 2 and 3
        breaks = [text.index(b"Counts by creek"), text.index(b"Conclusions\n")]
        pages = set()
        for c in ch["chunks"]:
            s, e = c["start"], c["end"]
            while s < e and text[s] in SPACE:
                s += 1
            while e > s and text[e - 1] in SPACE:
                e -= 1
            want = 1 + sum(s >= b for b in breaks)
            want_end = 1 + sum(e - 1 >= b for b in breaks)
            assert c["meta"] == {"page": want, "page_end": want_end}, (c, want, want_end)
            pages.add(want)
            if "avocet" in c["text"]:
                assert c["meta"]["page"] == 2, c
            if "Conclusions" in c["text"]:
                assert c["meta"]["page_end"] == 3, c
        assert pages == {1, 2, 3}, pages
        show, ch = check_offsets(t, "ferry-notice.pdf")
        assert show["title"] == "Kellan Sound Ferry: Summer Timetable Notice", show["title"]
        assert "£4.20" in show["text"] and "Müller's Garage" in show["text"]
        assert all(c["meta"]["page"] == 1 for c in ch["chunks"])
        r = ragd("search", "--json", "avocet sluice gate", data=t, check=0).json()
        assert r["results"][0]["doc_id"] == "saltmarsh-survey.pdf", r
        # Unchanged PDFs are a no-op on re-ingest.
        rep = ragd("ingest", "--json", *PDFS, data=t, check=0).json()
        assert rep["unchanged"] == 2, rep


def test_meta_stored_and_shown():
    with TempDir() as t:
        src = os.path.join(HTML, "clean-article.html")
        ragd("ingest", "--meta", "team=infra", "--meta", "year=2024", src, PDFS[1], data=t, check=0)
        for doc_id in ("clean-article.html", "ferry-notice.pdf"):
            show = ragd("show", "--json", doc_id, data=t, check=0).json()
            assert show["metadata"] == {"team": "infra", "year": "2024"}, show["metadata"]
        # Same input, same metadata: unchanged. Other metadata: updated.
        rep = ragd("ingest", "--json", "--meta", "team=infra", "--meta=year=2024", src, data=t, check=0).json()
        assert rep["unchanged"] == 1, rep
        rep = ragd("ingest", "--json", "--meta", "team=data", src, data=t, check=0).json()
        assert rep["updated"] == 1, rep
        show = ragd("show", "--json", "clean-article.html", data=t, check=0).json()
        assert show["metadata"] == {"team": "data"}, show["metadata"]
        # JSONL: extra fields are metadata; --meta wins on the same key.
        corpus = os.path.join(t, "corpus.jsonl")
        with open(corpus, "w", encoding="utf-8") as f:
            f.write(json.dumps({"_id": "d1", "title": "Quay hours", "text": "The quay opens at six.",
                                "team": "jsonl", "lang": "en"}) + "\n")
        ragd("ingest", "--meta", "team=infra", "--meta", "v=", corpus, data=t, check=0)
        show = ragd("show", "--json", "d1", data=t, check=0).json()
        assert show["metadata"] == {"lang": "en", "team": "infra", "v": ""}, show["metadata"]


def test_jsonl_lines_of_both_parsers():
    """JSONL lines of string fields take ragd's own parser (core/json_flat.c),
    any other goes to jansson: both must give the same documents, metadata
    and errors as jansson alone always did."""
    with TempDir() as t:
        corpus = os.path.join(t, "mixed.jsonl")
        lines = [
            # string fields only: json_flat
            '{"_id": "f1", "title": "Tide \\"tables\\"", "text": "High water at noon.\\nLow at six.", "lang": "en"}',
            '{ "_id" : "f2" , "text" : "Café ’round the corner 😀" , "zone" : "a/b" }',
            # a \u escape, a number, an object: jansson
            '{"_id": "j1", "title": "\\u00c9t\\u00e9", "text": "Summer \\ud83d\\ude00 notes.", "year": 2001}',
            '{"_id": "j2", "text": "Nested metadata.", "metadata": {"k": "v"}}',
            # skipped and failed lines, from either parser
            '{"_id": "s1", "text": "", "title": ""}',
            '{"_id": "s2", "text": null}',
            '{"_id": "e1", "title": "no text"}',
            '{"_id": "e2", "text": "ctl\x01"}',
            '{"_id": "e3", "text": "ok"} trailing',
            '{"_id": "e4", "text": "dup", "_id": "e5"}',
        ]
        with open(corpus, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        r = ragd("ingest", "--json", corpus, data=t)
        assert r.code == 1, r.err
        rep = r.json()
        assert (rep["added"], rep["skipped"], rep["failed"]) == (5, 2, 3), rep
        def show(doc_id):
            return ragd("show", "--json", doc_id, data=t, check=0).json()
        d = show("f1")
        assert d["title"] == 'Tide "tables"' and d["metadata"] == {"lang": "en"}, d
        assert "High water at noon.\nLow at six." in d["text"], d["text"]
        d = show("f2")
        assert d["metadata"] == {"zone": "a/b"}, d
        assert "Café ’round the corner 😀" in d["text"], d["text"]
        d = show("j1")
        assert d["title"] == "Été" and d["metadata"] == {"year": 2001}, d
        assert "Summer 😀 notes." in d["text"], d["text"]
        assert show("j2")["metadata"] == {"metadata": {"k": "v"}}
        # e4's duplicate "_id": jansson keeps the last one.
        assert show("e5")["text"].startswith("dup"), show("e5")
        errs = r.err
        assert f"{corpus}:7: expected an object with string \"_id\" and \"text\"" in errs, errs
        assert f"{corpus}:8: control character 0x1" in errs, errs
        assert f"{corpus}:9: end of file expected" in errs, errs


def test_bad_meta_is_usage_error():
    with TempDir() as t:
        data = os.path.join(t, "data")
        src = os.path.join(HTML, "clean-article.html")
        for bad in ("novalue", "=x", "bad key=x", "k/1=x", "x" * 65 + "=1", ""):
            r = ragd("ingest", "--meta", bad, src, data=data)
            assert r.code == 2, (bad, r.code, r.err)
            assert "--meta" in r.err and r.err.startswith("ragd: "), r.err
        assert not os.path.exists(os.path.join(data, "ragd.db")), "a usage error must not create the store"


def test_broken_pdfs_fail_with_file_name():
    with TempDir() as t:
        data = os.path.join(t, "data")
        ragd("ingest", PDFS[1], data=data, check=0)
        before = ragd("docs", "--json", data=data, check=0).json()
        for name, why in (("truncated.pdf", "damaged"), ("encrypted.pdf", "encrypted")):
            path = os.path.join(BAD, name)
            r = ragd("ingest", path, data=data)
            assert r.code == 1, (name, r.code, r.err)
            assert f"ragd: {path}: " in r.err and why in r.err, r.err
            assert ragd("docs", "--json", data=data, check=0).json() == before
        # A bad PDF next to good files: the good ones still ingest.
        mixed = os.path.join(t, "mixed")
        os.makedirs(mixed)
        shutil.copy(os.path.join(BAD, "truncated.pdf"), mixed)
        shutil.copy(PDFS[0], mixed)
        r = ragd("ingest", "--json", mixed, data=data)
        assert r.code == 1, r.err
        rep = r.json()
        assert rep["added"] == 1 and rep["failed"] == 1, rep
        assert rep["errors"][0]["file"].endswith("truncated.pdf"), rep


def test_sniffing_and_forced_format():
    with TempDir() as t:
        data, src = os.path.join(t, "data"), os.path.join(t, "src")
        os.makedirs(src)
        shutil.copy(os.path.join(HTML, "clean-article.html"), os.path.join(src, "article.page"))
        shutil.copy(PDFS[0], os.path.join(src, "survey.bin"))
        shutil.copy(PDFS[1], os.path.join(src, "noext"))
        shutil.copy(os.path.join(HTML, "messy-page.html"), os.path.join(src, "messy.txt"))
        ragd("ingest", src, data=data, check=0)
        fmt = {d: ragd("show", "--json", d, data=data, check=0).json()["format"]
               for d in ("article.page", "survey.bin", "noext", "messy.txt")}
        assert fmt == {"article.page": "html", "survey.bin": "pdf", "noext": "pdf", "messy.txt": "txt"}, fmt
        # --format forces it.
        forced = os.path.join(t, "forced")
        ragd("ingest", "--format", "html", os.path.join(src, "messy.txt"), data=forced, check=0)
        show = ragd("show", "--json", "messy.txt", data=forced, check=0).json()
        assert show["format"] == "html" and "zzq" not in show["text"], show["format"]
        r = ragd("ingest", "--format", "docx", os.path.join(src, "messy.txt"), data=forced)
        assert r.code == 2 and "html" in r.err and "pdf" in r.err, r.err


def test_blank_html_is_skipped():
    with TempDir() as t:
        src = os.path.join(t, "src")
        os.makedirs(src)
        with open(os.path.join(src, "blank.html"), "w") as f:
            f.write("<html><head><title>Only a title</title><script>x()</script></head>"
                    "<body><nav>menu</nav></body></html>")
        r = ragd("ingest", "--json", src, data=os.path.join(t, "data"))
        assert r.code == 0, r.err
        assert r.json()["skipped"] == 1 and "only whitespace" in r.err and "warning" in r.err, r.err


def test_v1_database_migrates():
    """A database from before chunks.meta (schema 1) is migrated on open."""
    with TempDir() as t:
        ragd("ingest", os.path.join(HTML, "clean-article.html"), data=t, check=0)
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        db.execute("ALTER TABLE chunks DROP COLUMN meta")
        for col in ("checksum", "file_bytes", "dim", "ntotal", "metric"):  # added by v4
            db.execute(f"ALTER TABLE index_state DROP COLUMN {col}")
        for table in ("files", "vector_stores", "vector_store_files"):  # added by v5
            db.execute(f"DROP TABLE {table}")
        db.execute("DROP INDEX documents_path")  # added by v7
        db.execute("ALTER TABLE documents DROP COLUMN path")
        db.execute("ALTER TABLE chunks DROP COLUMN chunk_words")  # added by v8
        db.execute("ALTER TABLE documents DROP COLUMN summary_words")
        db.execute("PRAGMA user_version = 1")
        db.commit()
        db.close()
        ch = ragd("chunks", "--json", "clean-article.html", data=t, check=0).json()
        assert ch["chunks"] and all(c["meta"] == {} for c in ch["chunks"]), ch
        db = sqlite3.connect(os.path.join(t, "ragd.db"))
        assert db.execute("PRAGMA user_version").fetchone()[0] == 8
        db.close()
        # The lexical index was rebuilt by the v3 step and still finds it.
        title = ragd("show", "--json", "clean-article.html", data=t, check=0).json()["title"]
        r = ragd("search", "--json", "--mode", "lexical", title, data=t, check=0).json()
        assert r["results"] and r["results"][0]["doc_id"] == "clean-article.html", r["results"][:1]
        ragd("ingest", PDFS[0], data=t, check=0)
        ch = ragd("chunks", "--json", "saltmarsh-survey.pdf", data=t, check=0).json()
        assert all(c["meta"]["page"] >= 1 for c in split_chunks(ch)[0]), ch


def test_pdf_pages_in_results_and_citations():
    """A printed manual's page numbers reach search, context and answer, and
    its page furniture does not."""
    manual = os.path.join(PDF, "pump-manual.pdf")
    with TempDir() as t:
        rep = ragd("ingest", "--json", "--chunk-tokens", "40", "--overlap", "0", manual,
                   data=t, check=0).json()
        assert rep["added"] == 1 and rep["failed"] == 0, rep
        show, ch = check_offsets(t, "pump-manual.pdf")
        assert show["title"] == "Model K4 Pump Handbook", show["title"]
        for c in ch["chunks"]:
            assert "\f" not in c["text"] and "Page 2 of 5" not in c["text"], c
            assert "Chapter 2: Installation" not in c["text"], c
        q = "recalibration after every winter flow dial"
        r = ragd("search", "--json", "--mode", "lexical", q, data=t, check=0).json()
        top = r["results"][0]
        assert top["page"] == 4 and top["page_end"] in (4, 5), top
        place = ", p. 4" if top["page_end"] == 4 else ", pp. 4\u20135"
        out = ragd("search", "--mode", "lexical", q, data=t, check=0).out
        assert place in out, out
        c = ragd("context", "--json", "--mode", "lexical", q, data=t, check=0).json()
        assert c["sources"][0]["page"] == 4, c["sources"][0]
        assert place + "\n" in c["context"], c["context"]
        a = ragd("answer", "--json", "--mode", "lexical", q, data=t, check=0).json()
        assert a["citations"], a
        cited = [x for x in a["citations"] if "Recalibration" in x["quote"]]
        assert cited and cited[0]["page"] == 4, a["citations"]
        out = ragd("answer", "--mode", "lexical", q, data=t, check=0).out
        assert place in out, out


if __name__ == "__main__":
    run_tests([test_html_fixtures, test_pdf_pages_on_chunks, test_pdf_pages_in_results_and_citations, test_meta_stored_and_shown,
               test_jsonl_lines_of_both_parsers, test_bad_meta_is_usage_error,
               test_broken_pdfs_fail_with_file_name,
               test_sniffing_and_forced_format, test_blank_html_is_skipped, test_v1_database_migrates])
