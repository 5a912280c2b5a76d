#!/usr/bin/env bash
# bench/bench_pg.sh — PostgreSQL store of record vs SQLite (docs/scaling.md).
#
# Generates a synthetic BEIR-style corpus (N documents of ~W words, seeded),
# then measures with the real binary:
#   1. ingest into SQLite (--data only)
#   2. ingest through a PostgreSQL store (--store, a fresh cache)
#   3. catch-up: a new node's cache built from the store alone (ragd docs;
#      it caches every collection of the store, so the rate counts them all)
#   4. search latency (the same 20 queries) on the SQLite store and on the
#      PostgreSQL-derived cache (the read path is the same code)
# and prints a Markdown table.
#
#   bench/bench_pg.sh --store postgresql://USER@/DB?host=/SOCKDIR [--docs N] [--words W]
#
# Each run writes a new collection bench_pg_<epoch> into the store.
# Environment: RAGD_BIN (default build/ragd).
set -euo pipefail
BIN=${RAGD_BIN:-$(dirname "$0")/../build/ragd}
STORE="" DOCS=2000 WORDS=150
while [ $# -gt 0 ]; do
  case "$1" in
    --store) STORE=$2; shift 2 ;;
    --docs) DOCS=$2; shift 2 ;;
    --words) WORDS=$2; shift 2 ;;
    --help|-h) sed -n '2,17p' "$0"; exit 0 ;;
    *) echo "bench_pg: unknown option $1" >&2; exit 2 ;;
  esac
done
[ -n "$STORE" ] || { echo "bench_pg: --store postgresql://… is required" >&2; exit 2; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$DOCS" "$WORDS" > "$T/corpus.jsonl" <<'PY'
import json, random, sys
n, w = int(sys.argv[1]), int(sys.argv[2])
rng = random.Random(14)
vocab = [f"w{i}" for i in range(5000)]
for i in range(n):
    words = [rng.choice(vocab) for _ in range(w)]
    print(json.dumps({"_id": f"d{i}", "title": f"doc {i}", "text": " ".join(words) + "."}))
PY
now() { date +%s.%N; }
C=bench_pg_$(date +%s)  # a new collection per run
t0=$(now); "$BIN" ingest "$T/corpus.jsonl" --collection $C --no-progress --data "$T/lite" >/dev/null; t1=$(now)
t2=$(now); "$BIN" ingest "$T/corpus.jsonl" --collection $C --no-progress --store "$STORE" --data "$T/pgcache" >/dev/null; t3=$(now)
t4=$(now); "$BIN" docs --collection $C --json --store "$STORE" --data "$T/fresh" >/dev/null; t5=$(now)
# the new node caches every collection of the store, earlier runs' too
fresh_chunks=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM chunks").fetchone()[0])' "$T/fresh/ragd.db")
chunks=$("$BIN" docs --collection $C --json --data "$T/lite" | python3 -c 'import json,sys; print(sum(d["chunks"] for d in json.load(sys.stdin)["documents"]))')
lat() { # data dir -> mean ms per search over 20 queries (one process each)
  local s=$(now)
  for i in $(seq 1 20); do "$BIN" search "w$((i*7)) w$((i*13)) w$((i*29))" --collection $C --data "$1" --json >/dev/null; done
  python3 -c "print(round(($(now) - $s) * 1000 / 20, 1))"
}
ls=$(lat "$T/lite"); ps=$(lat "$T/fresh")
python3 - "$DOCS" "$chunks" "$t0" "$t1" "$t2" "$t3" "$t4" "$t5" "$ls" "$ps" "$fresh_chunks" <<'PY'
import sys
d, c = int(sys.argv[1]), int(sys.argv[2])
t = list(map(float, sys.argv[3:9])); ls, ps = sys.argv[9], sys.argv[10]
fc = int(sys.argv[11])
lite, pg, catch = t[1] - t[0], t[3] - t[2], t[5] - t[4]
print(f"| corpus | {d} documents, {c} chunks (dim 384) |")
print("|---|---|")
print(f"| ingest, SQLite | {lite:.2f} s = {c / lite:.0f} chunks/s |")
print(f"| ingest, PostgreSQL store (+ own cache) | {pg:.2f} s = {c / pg:.0f} chunks/s |")
print(f"| catch-up of a new node (empty cache; the whole store: {fc} chunks) | {catch:.2f} s = {fc / catch:.0f} chunks/s |")
print(f"| search, per CLI call (SQLite / PG-derived cache) | {ls} ms / {ps} ms |")
PY
