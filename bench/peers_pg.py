"""bench/peers_pg.py — PostgreSQL full-text search as a peer of ragd's lexical mode.

A private cluster (Debian `postgresql`: initdb + pg_ctl) in a temporary
directory, listening only on a Unix socket there, owned by the `postgres`
user when we are root (root cannot run the server; `runuser -u postgres`).
It indexes the chunks bench_query exported from ragd's store (title + text,
the same text LanceDB and Orama get) as `to_tsvector('english', ...)` in a
stored generated column with a GIN index, and answers each query with
`to_tsquery('english', 'w1 | w2 | ...')` (the query's words OR-ed, as ragd's
lexical MATCH expression ORs its terms) ranked by `ts_rank_cd`, LIMIT 50.

Timing: ingest = wall time of one psql run (CREATE TABLE, COPY, generated
column, GIN index); queries = psql's `\\timing` per statement (server time plus
the Unix-socket round trip), one at a time, after a warm-up pass over all
queries. Rankings (distinct documents of the 50 chunks, first 10) go back to
bench/run.py, which scores them with nDCG@10 like every other participant.
Used by run.py only; `run(...)` returns a dict, or raises RuntimeError with a
message a user can act on (recorded as the skip reason).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time

PG_BINS = ["/usr/lib/postgresql/15/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/17/bin"]


def _bindir():
    for d in PG_BINS:
        if os.path.exists(os.path.join(d, "initdb")):
            return d
    path = shutil.which("pg_config")
    if path:
        return subprocess.run([path, "--bindir"], capture_output=True, text=True).stdout.strip()
    raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")


def _as_pg(cmd):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + cmd
    return cmd


def _words(text):
    return [w for w in re.findall(r"[A-Za-z0-9]+", text.lower()) if len(w) > 1 or w.isdigit()]


def run(store_dir, log):
    bindir = _bindir()
    tmp = tempfile.mkdtemp(prefix="ragd-bench-pg-")
    os.chmod(tmp, 0o777)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data, sock = os.path.join(tmp, "data"), tmp
    started = False
    try:
        r = subprocess.run(_as_pg([f"{bindir}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8"]),
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("initdb failed: " + r.stderr.strip()[-300:])
        opts = f"-c listen_addresses='' -c unix_socket_directories='{sock}'"
        r = subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-o", opts, "-l", os.path.join(tmp, "log"), "-w", "start"]),
                           capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("pg_ctl start failed: " + (r.stderr or r.stdout).strip()[-300:])
        started = True
        version = subprocess.run([f"{bindir}/postgres", "--version"], capture_output=True, text=True).stdout.strip()
        psql = [f"{bindir}/psql", "-h", sock, "-U", "postgres", "-X", "-q", "-v", "ON_ERROR_STOP=1"]

        csv_path = os.path.join(tmp, "chunks.tsv")
        with open(os.path.join(store_dir, "chunks.jsonl")) as f, open(csv_path, "w") as out:
            n = 0
            for line in f:
                c = json.loads(line)
                body = (c["title"] + "\n" + c["text"]) if c.get("title") else c["text"]
                body = body.replace("\\", "\\\\").replace("\t", " ").replace("\n", " ").replace("\r", " ")
                out.write(f"{c['id']}\t{c['doc']}\t{body}\n")
                n += 1
        os.chmod(csv_path, 0o644)
        load_sql = (
            "CREATE TABLE chunks(id bigint PRIMARY KEY, doc text, body text);\n"
            f"\\copy chunks FROM '{csv_path}'\n"
            "ALTER TABLE chunks ADD COLUMN tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED;\n"
            "CREATE INDEX chunks_tsv ON chunks USING gin(tsv);\nANALYZE chunks;\n"
        )
        t0 = time.monotonic()
        r = subprocess.run(psql + ["-c", "SELECT 1"], capture_output=True, text=True)
        r = subprocess.run(psql, input=load_sql, capture_output=True, text=True)
        ingest_s = time.monotonic() - t0
        if r.returncode:
            raise RuntimeError("loading failed: " + r.stderr.strip()[-300:])

        queries = [json.loads(l) for l in open(os.path.join(store_dir, "queries.jsonl"))]
        lines = ["\\pset format unaligned", "\\pset tuples_only on", "SET client_min_messages = warning;"]
        for q in queries:
            words = _words(q["text"])
            expr = " | ".join("'" + w + "'" for w in words) or "''"
            lines.append(f"\\echo @Q {q['id']}")
            lines.append(
                f"SELECT doc FROM chunks, to_tsquery('english', $q${expr}$q$) q WHERE tsv @@ q "
                "ORDER BY ts_rank_cd(tsv, q) DESC LIMIT 50;")
        script = "\n".join(lines) + "\n"
        # warm-up pass, then the timed pass
        subprocess.run(psql, input=script, capture_output=True, text=True)
        r = subprocess.run(psql, input="\\timing on\n" + script, capture_output=True, text=True)
        if r.returncode:
            raise RuntimeError("queries failed: " + r.stderr.strip()[-300:])
        runs, lat, cur, docs = {}, [], None, []
        for line in r.stdout.splitlines():
            if line.startswith("@Q "):
                cur, docs = line[3:], []
            elif line.startswith("Time: "):
                ms = float(line.split()[1])
                if cur is not None:
                    lat.append(ms)
                    seen = []
                    for d in docs:
                        if d not in seen:
                            seen.append(d)
                    runs[cur] = seen[:10]
                    cur = None
            elif cur is not None and line.strip():
                docs.append(line.strip())
        log(f"postgres: {n} chunks in {ingest_s:.2f} s, {len(lat)} queries")
        return {"version": version, "ingest_s": ingest_s, "chunks": n, "queries": len(lat),
                "modes": {"lexical": {"latency_ms": lat, "runs": runs}}}
    finally:
        if started:
            subprocess.run(_as_pg([f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                           capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
