"""Integration tests for real documentation trees (issue 16): document ids
that never collide, recorded source paths, --prune on normalized paths,
read-only commands that never create a store, --include/--exclude and
.ragdignore, what a directory walk skips, legacy 8-bit text, and --json
errors. Each drives the real ragd binary on small trees built here."""
import json
import os
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from ragdtest import BIN, TempDir, ragd, run_tests  # noqa: E402


def write(path, text, mode="w"):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, mode) as f:
        f.write(text)


def ragd_in(cwd, *args, data):
    """ragd run from directory cwd (ids must not depend on it)."""
    p = subprocess.run([BIN] + [str(a) for a in args] + ["--data", data], cwd=cwd,
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def docs(data):
    return {d["id"]: d for d in ragd("docs", "--json", data=data, check=0).json()["documents"]}


def two_trees(t):
    write(os.path.join(t, "col", "a", "index.md"), "# Apples\n\nApples grow on trees in orchards.\n")
    write(os.path.join(t, "col", "b", "index.md"), "# Bananas\n\nBananas grow in tropical plantations.\n")


def test_two_directories_with_the_same_file_name_keep_both_documents():
    """`ingest col/a col/b` both holding index.md reported "1 added, 1 updated"
    and kept one document."""
    with TempDir() as t:
        two_trees(t)
        data = os.path.join(t, "data")
        rep = ragd("ingest", "--json", f"{t}/col/a", f"{t}/col/b", data=data, check=0).json()
        assert (rep["added"], rep["updated"], rep["failed"]) == (2, 0, 0), rep
        d = docs(data)
        assert sorted(d) == ["a/index.md", "b/index.md"], d
        assert d["a/index.md"]["path"] == os.path.join(t, "col", "a", "index.md"), d
        show = ragd("show", "--json", "b/index.md", data=data, check=0).json()
        assert "Bananas" in show["text"] and show["path"].endswith("/col/b/index.md"), show
        # Re-ingesting the same tree is a no-op, from any working directory
        # and however the paths are spelled.
        rep = ragd("ingest", "--json", f"{t}/col/a", f"{t}/col/b", data=data, check=0).json()
        assert (rep["added"], rep["updated"], rep["unchanged"]) == (0, 0, 2), rep
        code, out, err = ragd_in(os.path.join(t, "col"), "ingest", "--json", "./a/", "b//",
                                 data=data)
        assert code == 0, err
        rep = json.loads(out)
        assert (rep["added"], rep["updated"], rep["unchanged"]) == (0, 0, 2), rep
        assert sorted(docs(data)) == ["a/index.md", "b/index.md"]


def test_files_given_directly_with_one_name_are_an_error_naming_both():
    with TempDir() as t:
        write(os.path.join(t, "x", "notes.md"), "Notes about the x project.\n")
        write(os.path.join(t, "y", "notes.md"), "Notes about the y project.\n")
        data = os.path.join(t, "data")
        r = ragd("ingest", "--json", f"{t}/x/notes.md", f"{t}/y/notes.md", data=data, check=1)
        rep = r.json()
        assert (rep["added"], rep["updated"], rep["failed"]) == (1, 0, 1), rep
        assert "y/notes.md" in r.err and "x/notes.md" in r.err and "notes.md" in r.err, r.err
        show = ragd("show", "--json", "notes.md", data=data, check=0).json()
        assert "x project" in show["text"], show


def test_a_later_run_never_takes_over_an_id_whose_file_still_exists():
    with TempDir() as t:
        two_trees(t)
        data = os.path.join(t, "data")
        ragd("ingest", f"{t}/col/a", data=data, check=0)
        r = ragd("ingest", f"{t}/col/b", data=data, check=1)
        assert "col/a/index.md" in r.err and "col/b/index.md" in r.err, r.err
        assert "Apples" in ragd("show", "--json", "index.md", data=data, check=0).json()["text"]
        # Both directories in one run: a's file keeps its id, b's gets "b/".
        rep = ragd("ingest", "--json", f"{t}/col/a", f"{t}/col/b", data=data, check=0).json()
        assert (rep["added"], rep["updated"], rep["unchanged"]) == (1, 0, 1), rep
        assert sorted(docs(data)) == ["b/index.md", "index.md"]
        # A tree that moved keeps its ids (their files are gone from the
        # old place) and records the new paths.
        data2 = os.path.join(t, "data2")
        ragd("ingest", f"{t}/col/a", f"{t}/col/b", data=data2, check=0)
        os.rename(os.path.join(t, "col"), os.path.join(t, "moved"))
        rep = ragd("ingest", "--json", f"{t}/moved/a", f"{t}/moved/b", data=data2, check=0).json()
        assert (rep["added"], rep["updated"], rep["unchanged"]) == (0, 0, 2), rep
        assert docs(data2)["a/index.md"]["path"] == os.path.join(t, "moved", "a", "index.md")


def test_stores_from_before_paths_migrate_and_keep_their_ids():
    with TempDir() as t:
        two_trees(t)
        data = os.path.join(t, "data")
        ragd("ingest", f"{t}/col/a", data=data, check=0)
        db = sqlite3.connect(os.path.join(data, "ragd.db"))
        db.executescript("DROP INDEX documents_path; ALTER TABLE documents DROP COLUMN path;"
                         "ALTER TABLE chunks DROP COLUMN chunk_words;"  # added by v8
                         "ALTER TABLE documents DROP COLUMN summary_words;"
                         "PRAGMA user_version = 6;")  # the version before paths
        db.close()
        d = docs(data)  # migrates
        assert list(d) == ["index.md"] and d["index.md"]["path"] == "", d
        rep = ragd("ingest", "--json", f"{t}/col/a", data=data, check=0).json()
        assert (rep["added"], rep["updated"], rep["unchanged"]) == (0, 0, 1), rep
        assert docs(data)["index.md"]["path"] == os.path.join(t, "col", "a", "index.md")
        db = sqlite3.connect(os.path.join(data, "ragd.db"))
        assert db.execute("PRAGMA user_version").fetchone()[0] == 8
        db.close()


def test_prune_compares_normalized_paths():
    """Only the literal spelling `pt/docs/` pruned; `pt/docs`, `./pt/docs`,
    `/abs/pt/docs` and `pt//docs` pruned nothing."""
    for spelling in ["pt/docs/", "pt/docs", "./pt/docs", "{abs}/pt/docs", "pt//docs"]:
        with TempDir() as t:
            write(os.path.join(t, "pt", "docs", "keep.md"), "Kept document about kestrels.\n")
            write(os.path.join(t, "pt", "docs", "sub", "gone.md"), "Gone document about gannets.\n")
            data = os.path.join(t, "data")
            code, _, err = ragd_in(t, "ingest", "pt/docs", data=data)
            assert code == 0, err
            os.remove(os.path.join(t, "pt", "docs", "sub", "gone.md"))
            code, out, err = ragd_in(t, "ingest", "--json", "--prune", spelling.format(abs=t),
                                     data=data)
            assert code == 0, err
            rep = json.loads(out)
            assert rep["pruned"] == 1 and rep["unchanged"] == 1, (spelling, rep)
            assert sorted(docs(data)) == ["keep.md"], spelling


def test_read_only_commands_never_create_a_store():
    with TempDir() as t:
        typo = os.path.join(t, "typo")
        for args in (["docs"], ["show", "x"], ["chunks", "x"], ["rm", "x"], ["reindex"],
                     ["search", "kestrel"]):
            r = ragd(*args, data=typo, check=1)
            assert "no ragd data in" in r.err and "typo" in r.err, (args, r.err)
            assert not os.path.exists(typo), args
        # An existing directory without a store is not given one either.
        empty = os.path.join(t, "empty")
        os.mkdir(empty)
        r = ragd("docs", data=empty, check=1)
        assert "no ragd data in" in r.err and os.listdir(empty) == [], r.err
        # Ingest creates it.
        write(os.path.join(t, "a.txt"), "A small text about kestrels.\n")
        ragd("ingest", os.path.join(t, "a.txt"), data=typo, check=0)
        assert "a.txt" in docs(typo)


def beir(t, records):
    ds = os.path.join(t, "ds")
    write(os.path.join(ds, "corpus.jsonl"), "".join(json.dumps(r) + "\n" for r in records))
    write(os.path.join(ds, "queries.jsonl"), json.dumps({"_id": "q1", "text": "spring tides"}) + "\n")
    write(os.path.join(ds, "qrels", "test.tsv"), "query-id\tcorpus-id\tscore\nq1\td1\t1\n")
    return ds


def test_eval_beir_skips_empty_records_and_limits_records_not_the_file():
    """An empty record failed the whole eval ("2 of 1 inputs failed"); the
    16 MiB limit applied to corpus.jsonl itself; --max-bytes was refused."""
    with TempDir() as t:
        recs = [{"_id": "d1", "title": "Tides", "text": "Spring tides follow the new and the full moon."},
                {"_id": "d2", "title": "", "text": ""}, {"_id": "d3"}]
        recs += [{"_id": f"f{i}", "title": f"Filler {i}", "text": f"Filler record number {i} about trains."}
                 for i in range(20)]
        ds = beir(t, recs)
        assert os.path.getsize(os.path.join(ds, "corpus.jsonl")) > 1200
        r = ragd("eval", "--json", "--beir", ds, "--max-bytes", 400, data=os.path.join(t, "d"), check=0)
        assert r.json()["queries"] == 1 and r.json()["ndcg@10"] == 1.0, r.out
        assert r.err.count("empty record") == 2 and "corpus.jsonl:2" in r.err, r.err
        # A record over the limit fails alone, and the count is of records.
        ds = beir(os.path.join(t, "big"), recs + [{"_id": "huge", "text": "word " * 200}])
        r = ragd("eval", "--beir", ds, "--max-bytes", 400, data=os.path.join(t, "d2"), check=1)
        assert "corpus.jsonl:24: record too large" in r.err, r.err
        assert "1 of 24 inputs failed\n" in r.err, r.err


def test_json_errors_are_the_http_error_object_on_stdout():
    """With --json, errors were plain text on stderr with nothing on stdout."""
    with TempDir() as t:
        data = os.path.join(t, "data")
        cases = [
            (["docs", "--json"], 1, "not_found", None),
            (["search", "--json", "--bogus", "x"], 2, "invalid_request", "bogus"),
            (["search", "--json", "--k", "0", "x"], 2, "invalid_request", "k"),
            (["ingest", "--json"], 2, "invalid_request", None),
            (["show", "--json"], 2, "invalid_request", None),
        ]
        for args, code, ecode, field in cases:
            r = ragd(*args, data=data, check=code)
            err = r.json()["error"]
            assert err["code"] == ecode and err["message"], (args, err)
            assert err.get("field") == field, (args, err)
            assert r.err.startswith("ragd: "), (args, r.err)  # the readable line stays
        write(os.path.join(t, "x", "n.md"), "One note about owls.\n")
        write(os.path.join(t, "y", "n.md"), "Another note about otters.\n")
        ragd("ingest", f"{t}/x/n.md", data=data, check=0)
        r = ragd("search", "--json", "--filter", "kindpdf", "owls", data=data, check=2)
        err = r.json()["error"]
        assert err["field"] == "filter" and "--filter 'kindpdf'" in err["message"], err
        assert "--meta" not in err["message"] and "--meta" not in r.err, r.err
        r = ragd("show", "--json", "nothing.md", data=data, check=1)
        assert r.json()["error"]["code"] == "not_found", r.out
        # A failed ingest prints one object: its counts and the error.
        r = ragd("ingest", "--json", f"{t}/y/n.md", data=data, check=1)
        rep = r.json()
        assert rep["failed"] == 1 and rep["error"]["code"] == "invalid_request", rep
        assert "1 of 1 inputs failed" in rep["error"]["message"], rep


def test_help_json_lists_the_commands():
    h = ragd("help", "--json", check=0).json()
    names = [c["name"] for c in h["commands"]]
    assert {"ingest", "docs", "search", "context", "answer", "eval", "serve", "help"} <= set(names), names
    ing = next(c for c in h["commands"] if c["name"] == "ingest")
    opts = {o["name"]: o for o in ing["options"]}
    assert opts["prune"]["value"] is False and opts["max-bytes"]["value"] is True, opts
    one = ragd("help", "search", "--json", check=0).json()
    assert one["name"] == "search" and any(o["name"] == "embedder" for o in one["options"]), one
    assert ragd("help", "nope", "--json", check=2).json()["error"]["code"] == "invalid_request"


def test_query_embedder_options_must_match_the_collection():
    """search/context/answer rejected --embedder/--embedder-model even when
    they named the collection's own embedder."""
    with TempDir() as t:
        data = os.path.join(t, "data")
        write(os.path.join(t, "a.md"), "# Owls\n\nOwls hunt at night in quiet woods.\n")
        ragd("ingest", os.path.join(t, "a.md"), data=data, check=0)
        model = ragd("ingest", "--json", os.path.join(t, "a.md"), data=data,
                     check=0).json()["embedding"]["model"]
        for cmd in ("search", "context", "answer"):
            r = ragd(cmd, "--json", "--embedder", "local", "--embedder-model", model, "owls night",
                     data=data, check=0)
            assert "error" not in r.json(), (cmd, r.out)
        r = ragd("search", "--json", "--embedder-model", "other-model", "owls", data=data, check=1)
        err = r.json()["error"]
        assert err["code"] == "conflict" and err["field"] == "embedder_model", err
        assert model in err["message"] and "other-model" in err["message"], err
        r = ragd("answer", "--embedder", "ollama", "--embedder-url", "http://127.0.0.1:9", "owls",
                 data=data, check=1)
        assert "does not match collection 'default'" in r.err and "local" in r.err, r.err


def docs_tree(t):
    """A documentation folder as generators leave it."""
    d = os.path.join(t, "docs")
    write(os.path.join(d, "index.html"), "<html><head><title>Guide</title></head><body><main>"
          "<h1>Guide</h1><p>The guide explains how kestrels hover over fields.</p></main></body></html>")
    write(os.path.join(d, "api", "ref.md"), "# Reference\n\nThe reference lists heron calls.\n")
    write(os.path.join(d, "api", "old", "legacy.md"), "# Legacy\n\nOld notes about owls.\n")
    write(os.path.join(d, "_static", "logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", "wb")
    write(os.path.join(d, "_static", "font.woff2"), b"wOF2\0\1", "wb")
    write(os.path.join(d, "_static", "jquery.js"), "/*! jQuery */ (function(){})();\n")
    write(os.path.join(d, "searchindex.js"), "Search.setIndex({docnames:['index']})\n")
    write(os.path.join(d, "_static", "basic.css"), "body { margin: 0 }\n")
    write(os.path.join(d, "_static", "app.js.map"), '{"version":3}\n')
    write(os.path.join(d, "search.json"), '{"docs": []}\n')
    write(os.path.join(d, "blob"), b"\x00\x01\x02\x03binary", "wb")
    write(os.path.join(d, "empty.txt"), "")
    write(os.path.join(d, "latin1.txt"), b"Caf\xe9 cr\xe8me and a na\xefve r\xe9sum\xe9 about owls.\n", "wb")
    write(os.path.join(d, "cp1252.txt"), b"\x93Quoted\x94 text \x96 with a dash about owls.\n", "wb")
    return d


def test_a_walk_skips_what_is_not_a_document():
    """A docs folder with PNGs exited 1, and searchindex.js and jquery.js
    were indexed."""
    with TempDir() as t:
        d = docs_tree(t)
        data = os.path.join(t, "data")
        r = ragd("ingest", "--json", "--verbose", d, data=data, check=0)
        rep = r.json()
        assert rep["failed"] == 0 and rep["added"] == 5, rep
        assert rep["skipped_by"] == {"images": 1, "fonts": 1, "scripts": 2, "styles": 1,
                                     "source maps": 1, "data": 1, "binary": 1, "empty": 1}, rep
        assert rep["skipped"] == 9 and rep["walked"] == 14, rep
        assert "_static/logo.png" in r.err and "reason=images" in r.err, r.err  # --verbose
        assert sorted(docs(data)) == ["api/old/legacy.md", "api/ref.md", "cp1252.txt", "index.html",
                                      "latin1.txt"]
        out = ragd("ingest", d, data=data, check=0).out
        assert "9 skipped (scripts 2," in out, out
        # Legacy 8-bit text is converted with a warning naming the guess.
        assert "latin1.txt: not UTF-8; converted from iso-8859-1" in r.err, r.err
        assert "cp1252.txt: not UTF-8; converted from windows-1252" in r.err, r.err
        text = ragd("show", "--json", "latin1.txt", data=data, check=0).json()["text"]
        assert text.startswith("Caf\u00e9 cr\u00e8me and a na\u00efve"), text
        text = ragd("show", "--json", "cp1252.txt", data=data, check=0).json()["text"]
        assert text.startswith("\u201cQuoted\u201d text \u2013 with"), text
        # --encoding overrides the guess (and changes the stored text).
        rep = ragd("ingest", "--json", "--encoding", "latin-1", os.path.join(d, "cp1252.txt"), data=data,
                   check=0).json()
        assert rep["updated"] == 1, rep
        assert ragd("show", "--json", "cp1252.txt", data=data, check=0).json()["text"].startswith("\u0093")
        assert ragd("ingest", "--encoding", "ebcdic", d, data=data, check=2).code == 2
        # Files named on the command line are never skipped: errors stay.
        for f, why in (("_static/logo.png", "binary file"), ("empty.txt", "empty file"), ("blob", "binary")):
            r = ragd("ingest", os.path.join(d, f), data=data, check=1)
            assert why in r.err, (f, r.err)


def test_include_exclude_and_ragdignore():
    with TempDir() as t:
        d = docs_tree(t)
        data = os.path.join(t, "data")
        rep = ragd("ingest", "--json", "--include", "*.md", d, data=data, check=0).json()
        assert sorted(docs(data)) == ["api/old/legacy.md", "api/ref.md"], docs(data)
        assert rep["skipped_by"]["excluded"] == 12, rep
        data = os.path.join(t, "data2")
        rep = ragd("ingest", "--json", "--exclude", "api/**", "--exclude", "!api/ref.md",
                   "--exclude", "*.txt", d, data=data, check=0).json()
        assert sorted(docs(data)) == ["api/ref.md", "index.html"], docs(data)
        # A .ragdignore applies to its directory and below, after --exclude.
        write(os.path.join(d, "api", ".ragdignore"), "# generated\nold/\n")
        write(os.path.join(d, ".ragdignore"), "*.txt\n")
        data = os.path.join(t, "data3")
        rep = ragd("ingest", "--json", d, data=data, check=0).json()
        assert sorted(docs(data)) == ["api/ref.md", "index.html"], docs(data)
        assert rep["skipped_by"]["excluded"] == 3, rep  # the three .txt files; a directory is not counted
        # The include/exclude patterns match the path relative to the argument.
        data = os.path.join(t, "data4")
        ragd("ingest", "--include", "api/*.md", d, data=data, check=0)
        assert sorted(docs(data)) == ["api/ref.md"], docs(data)


if __name__ == "__main__":
    run_tests([
        test_two_directories_with_the_same_file_name_keep_both_documents,
        test_files_given_directly_with_one_name_are_an_error_naming_both,
        test_a_later_run_never_takes_over_an_id_whose_file_still_exists,
        test_stores_from_before_paths_migrate_and_keep_their_ids,
        test_prune_compares_normalized_paths,
        test_read_only_commands_never_create_a_store,
        test_eval_beir_skips_empty_records_and_limits_records_not_the_file,
        test_json_errors_are_the_http_error_object_on_stdout,
        test_help_json_lists_the_commands,
        test_query_embedder_options_must_match_the_collection,
        test_a_walk_skips_what_is_not_a_document,
        test_include_exclude_and_ragdignore,
    ])
