#!/usr/bin/env python3
"""bench/ingest_identical.py — do two ragd binaries store the same thing?

Ingests the same inputs with each binary into a fresh data directory and
compares what SQLite holds, row by row in id order: documents (every column
but ingested_at; the summary JSON without its created_at/updated_at
timestamps), the --json report (without its timings) and stderr, parents, chunks, vectors (the float blobs byte for byte), the
FTS5 rows (rowid, title, heading, body, coll) and the FTS5 index's
vocabulary (term, doc, cnt over an fts5vocab 'row' table). Prints one line
per table and the first differences; exits 1 when anything differs.

  python3 bench/ingest_identical.py --old /tmp/ragd_old --new build/ragd \\
      -- fixtures/
  python3 bench/ingest_identical.py --old /tmp/ragd_old --new build/ragd \\
      -- --format jsonl /work/shared/data/scifact/corpus.jsonl

Arguments after -- go to `ragd ingest` (with --no-progress --data DIR);
--then "ARGS" ingests ARGS into the same directory afterwards (updates,
unchanged documents, an id twice in one file) and compares after that.
"""
import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile

QUERIES = {
    "documents": "SELECT id, collection_id, doc_key, source, format, content_hash, title, "
    "metadata, summary, text, bytes, tokens, path FROM documents ORDER BY id",
    "parents": "SELECT * FROM parents ORDER BY id",
    # the v7 columns: schema v8's chunks.chunk_words and documents.summary_words
    # (validation's content words, a function of the stored text) are not
    # compared, so that a v7 binary can be compared with a v8 one
    "chunks": "SELECT id, document_id, parent_id, ord, start, end, heading_path, header, tokens, "
    "text, meta FROM chunks ORDER BY id",
    "vectors": "SELECT chunk_id, model, dim, hex(vec) FROM vectors ORDER BY chunk_id",
    "chunks_fts": "SELECT rowid, title, heading, body, coll FROM chunks_fts ORDER BY rowid",
    "fts_vocab": "SELECT term, doc, cnt FROM temp.v ORDER BY term",
}
# schema v8's blobs, compared when both stores have them (every column of
# a store from a v8 binary; a v7 store shows as "absent")
V8_QUERIES = {
    "chunk_words": "SELECT id, hex(chunk_words) FROM chunks ORDER BY id",
    "summary_words": "SELECT id, hex(summary_words) FROM documents ORDER BY id",
}


def strip_times(row):
    row = list(row)
    s = json.loads(row[8]) if row[8] else {}
    s.pop("created_at", None)
    s.pop("updated_at", None)
    row[8] = json.dumps(s, sort_keys=True)
    return tuple(row)


def dump(binary, args, then):
    d = tempfile.mkdtemp(prefix="ragd-identical-")
    if then:
        subprocess.run([binary, "ingest", "--no-progress", "--data", d] + args, capture_output=True)
        args = then
    p = subprocess.run([binary, "ingest", "--no-progress", "--json", "--data", d] + args,
                       capture_output=True, text=True)
    try:
        rep = json.loads(p.stdout)
    except ValueError:
        rep = {"unparsed": p.stdout}
    for k in ("seconds", "mb_per_s", "docs_per_s", "elapsed_s"):
        rep.pop(k, None)
    db = sqlite3.connect(d + "/ragd.db")
    db.execute("CREATE VIRTUAL TABLE temp.v USING fts5vocab(main, chunks_fts, 'row')")
    out = {"report": [json.dumps(rep, sort_keys=True)], "stderr": p.stderr.splitlines()}
    for name, q in QUERIES.items():
        rows = db.execute(q).fetchall()
        out[name] = [strip_times(r) for r in rows] if name == "documents" else rows
    for name, q in V8_QUERIES.items():
        try:
            out[name] = db.execute(q).fetchall()
        except sqlite3.OperationalError:
            out[name] = ["absent"]
    return p.returncode, out, d


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--then", help="ingest these arguments (one string, split on spaces) "
                    "into the same data directory after the first ingest, and compare after it")
    ap.add_argument("rest", nargs=argparse.REMAINDER)
    a = ap.parse_args()
    args = a.rest[1:] if a.rest[:1] == ["--"] else a.rest
    then = a.then.split() if a.then else None
    rc_old, old, d_old = dump(a.old, args, then)
    rc_new, new, d_new = dump(a.new, args, then)
    print(f"exit codes: old {rc_old}, new {rc_new}; data: {d_old} {d_new}")
    same = rc_old == rc_new
    for name in ["report", "stderr"] + list(QUERIES) + list(V8_QUERIES):
        o, n = old[name], new[name]
        eq = o == n
        same &= eq
        print(f"{name:11s} old {len(o):7d} rows, new {len(n):7d} rows: "
              f"{'identical' if eq else 'DIFFERENT'}")
        if not eq:
            shown = 0
            for i, (x, y) in enumerate(zip(o, n)):
                if x != y and shown < 3:
                    print(f"  row {i}:\n    old {str(x)[:300]}\n    new {str(y)[:300]}")
                    shown += 1
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
