#!/usr/bin/env bash
# bench/soak.sh — mixed query load on `ragd serve` during background ingest.
#
#   bench/soak.sh [-s SECONDS] [-c CONNECTIONS] [-n DOCS]
#
# Ingests the first DOCS (default 2000) SciFact documents with the CLI,
# starts `ragd serve` (rate limit off), warms up for 15 s at CONNECTIONS,
# records the server's RSS, then submits the rest of the corpus as
# background jobs (POST .../documents, 1,000 per batch) and runs wrk for
# SECONDS (default 300) at CONNECTIONS (default 64): search, context and
# answer in a 6:3:1 mix over the 300 SciFact queries (bench/soak.lua).
# Prints the counts by status, p50/p99, the RSS after warm-up and at the
# end (VmRSS, /proc) and the jobs' states, as one JSON line (SOAK_RESULT).
# Exit status 1 when any reply was a 5xx or a non-2xx other than 429.
# Needs build/ragd, wrk (Debian's; bench/bench_http.sh installs it),
# python3, curl and ../shared/data/scifact. Everything listens on
# 127.0.0.1 and every process started is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=300 CONNS=64 NDOCS=2000
while getopts "s:c:n:h" o; do
  case $o in
    s) SECS=$OPTARG ;; c) CONNS=$OPTARG ;; n) NDOCS=$OPTARG ;;
    *) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
BIN=${RAGD_BIN:-$ROOT/build/ragd}
DATASET=${RAGD_SHARED_DATA:-$ROOT/../shared/data}/scifact
command -v wrk >/dev/null || { echo "soak: wrk not found (apt-get install wrk)" >&2; exit 2; }
[ -f "$DATASET/corpus.jsonl" ] || { echo "soak: no $DATASET/corpus.jsonl" >&2; exit 2; }
TMP=$(mktemp -d /tmp/ragd-soak-XXXXXX)
SERVE_PID=
cleanup() { [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null && wait "$SERVE_PID" 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

head -n "$NDOCS" "$DATASET/corpus.jsonl" >"$TMP/first.jsonl"
"$BIN" ingest --data "$TMP/d" --no-progress "$TMP/first.jsonl" >/dev/null
python3 - "$DATASET/corpus.jsonl" "$NDOCS" "$TMP" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]
for b in range(0, len(lines), 1000):
    docs = []
    for l in lines[b:b + 1000]:
        o = json.loads(l)
        docs.append({"id": "job-" + o["_id"], "title": o.get("title") or None, "text": o["text"] or "-"})
    json.dump({"documents": docs}, open(f"{sys.argv[3]}/batch{b // 1000:02d}.json", "w"))
PY
"$BIN" serve --data "$TMP/d" --listen 127.0.0.1:0 --ready-file "$TMP/port" --rate-limit 0 \
  2>"$TMP/serve.log" &
SERVE_PID=$!
for _ in $(seq 300); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://$(cat "$TMP/port")"
export BENCH_QUERIES="$DATASET/queries.jsonl"
timeout 60 wrk -t2 -c"$CONNS" -d15s -s "$ROOT/bench/soak.lua" "$URL" >"$TMP/warm.txt"
RSS_WARM=$(rss_kb "$SERVE_PID")
JOBS=()
for f in "$TMP"/batch*.json; do
  JOBS+=("$(curl -s -X POST -H 'Content-Type: application/json' --data-binary "@$f" \
    "$URL/v1/collections/default/documents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
done
timeout $((SECS + 60)) wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 30s -s "$ROOT/bench/soak.lua" "$URL" \
  >"$TMP/soak.txt"
RSS_END=$(rss_kb "$SERVE_PID")
STATES=$(for j in "${JOBS[@]}"; do curl -s "$URL/v1/jobs/$j" | python3 -c \
  'import json,sys; j=json.load(sys.stdin); print(j["state"], j["progress"].get("done", 0))'; done | tr '\n' ';')
cat "$TMP/soak.txt" >&2
python3 - "$TMP/soak.txt" "$RSS_WARM" "$RSS_END" "$STATES" "$CONNS" <<'PY'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("SOAK_JSON ")][0]
r = json.loads(line.split(" ", 1)[1])
warm, end = int(sys.argv[2]) / 1024, int(sys.argv[3]) / 1024
r.update({"connections": int(sys.argv[5]), "rss_warm_mb": round(warm, 1), "rss_end_mb": round(end, 1),
          "rss_drift_pct": round(100 * (end - warm) / warm, 1), "jobs": sys.argv[4]})
print("SOAK_RESULT " + json.dumps(r))
sys.exit(1 if r["r5xx"] or r["r4xx"] or r["connect_errors"] or r["read_errors"] or r["timeouts"] else 0)
PY
