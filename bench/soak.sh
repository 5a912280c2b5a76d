#!/usr/bin/env bash
# bench/soak.sh — mixed query load on `ragd serve` during background ingest.
#
#   bench/soak.sh [-s SECONDS] [-c CONNECTIONS] [-n DOCS] [-m grow|churn]
#                 [-b BATCH] [-w WARMUP] [-p PNG]
#
# Ingests the first DOCS (default 2000) SciFact documents with the CLI and
# starts `ragd serve` (rate limit off). wrk runs search, context and answer
# in a 6:3:1 mix over the 300 SciFact queries (bench/soak.lua) for SECONDS
# (default 300) at CONNECTIONS (default 64) after a WARMUP (default 15 s)
# at the same load; the server's RSS (VmRSS, /proc) is recorded after the
# warm-up and every 10 s to the end.
#   -m grow  (default): after the warm-up the rest of the corpus is
#            submitted as background jobs (POST .../documents, 1,000 per
#            batch), so the corpus, and RSS with it, grows during the run.
#   -m churn: the corpus size stays constant. BATCH (default 100) further
#            SciFact documents are added as a pool ("churn-<id>") before
#            the warm-up; from then to the end a background loop deletes
#            half the pool (DELETE per document, 8 at a time, alternate
#            halves), re-submits the whole pool as one job with the text
#            changed (half re-added, half updated in place; every chunk is
#            re-embedded) and waits for the job, round after round. The live corpus stays between
#            DOCS and DOCS + BATCH documents; the exit status is also 1
#            when the end RSS exceeds the post-warm-up RSS by over 10 %,
#            each taken as the median of 3 samples (the start: the samples
#            at 0, 10 and 20 s after the warm-up; the end: the last two
#            10-s samples and the one at the end), so one transient spike
#            (+13-14 MB seen, back 10 s later) decides nothing.
# Prints the counts by status, p50/p99, the RSS after warm-up and at the
# end, the jobs' states (grow) or churn rounds (churn) and the RSS curve as
# one JSON line (SOAK_RESULT); -p writes the curve as a PNG (gnuplot).
# Exit status 1 when any reply was a 5xx or a non-2xx other than 429.
# Needs build/ragd, wrk (Debian's; bench/bench_http.sh installs it),
# python3, curl and ../shared/data/scifact. Everything listens on
# 127.0.0.1 and every process started is stopped on exit.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SECS=300 CONNS=64 NDOCS=2000 MODE=grow BATCH=100 WARM=15 PNG=
while getopts "s:c:n:m:b:w:p:h" o; do
  case $o in
    s) SECS=$OPTARG ;; c) CONNS=$OPTARG ;; n) NDOCS=$OPTARG ;; m) MODE=$OPTARG ;;
    b) BATCH=$OPTARG ;; w) WARM=$OPTARG ;; p) PNG=$OPTARG ;;
    *) sed -n '2,35p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
case $MODE in grow | churn) ;; *) echo "soak: -m grow or -m churn, not '$MODE'" >&2; exit 2 ;; esac
BIN=${RAGD_BIN:-$ROOT/build/ragd}
DATASET=${RAGD_SHARED_DATA:-$ROOT/../shared/data}/scifact
command -v wrk >/dev/null || { echo "soak: wrk not found (apt-get install wrk)" >&2; exit 2; }
[ -f "$DATASET/corpus.jsonl" ] || { echo "soak: no $DATASET/corpus.jsonl" >&2; exit 2; }
TMP=$(mktemp -d /tmp/ragd-soak-XXXXXX)
SERVE_PID= CHURN_PID= SAMPLER_PID=
stop() { if [ -n "$1" ]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
cleanup() { stop "$SAMPLER_PID"; stop "$CHURN_PID"; stop "$SERVE_PID"; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

head -n "$NDOCS" "$DATASET/corpus.jsonl" >"$TMP/first.jsonl"
"$BIN" ingest --data "$TMP/d" --no-progress "$TMP/first.jsonl" >/dev/null
# Batches of 1,000 for grow; one pool of BATCH documents for churn.
python3 - "$DATASET/corpus.jsonl" "$NDOCS" "$TMP" "$MODE" "$BATCH" <<'PY'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()[int(sys.argv[2]):]
size, prefix = (1000, "job-") if sys.argv[4] == "grow" else (int(sys.argv[5]), "churn-")
if sys.argv[4] == "churn":
    lines = lines[:size]
for b in range(0, len(lines), size):
    docs = []
    for l in lines[b:b + size]:
        o = json.loads(l)
        docs.append({"id": prefix + o["_id"], "title": o.get("title") or None, "text": o["text"] or "-"})
    json.dump({"documents": docs}, open(f"{sys.argv[3]}/batch{b // size:02d}.json", "w"))
PY
"$BIN" serve --data "$TMP/d" --listen 127.0.0.1:0 --ready-file "$TMP/port" --rate-limit 0 \
  2>"$TMP/serve.log" &
SERVE_PID=$!
for _ in $(seq 300); do [ -s "$TMP/port" ] && break; sleep 0.1; done
URL="http://$(cat "$TMP/port")"
export BENCH_QUERIES="$DATASET/queries.jsonl"

# churn: delete the pool, re-submit it changed as one job, wait, repeat.
# Runs as its own process (exec), so stop() ends it; one line per round
# (round, seconds, job state, failed calls) goes to churn.log.
churn() {
  exec python3 - "$URL" "$TMP/batch00.json" "$TMP/churn.log" <<'PY'
import json, sys, time, urllib.error, urllib.parse, urllib.request
from concurrent.futures import ThreadPoolExecutor
url, pool, log = sys.argv[1], json.load(open(sys.argv[2])), sys.argv[3]
def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as r:
            return r.status, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:  # logged in the round's line
        errors.append(f"{method} {e.code}")
        return e.code, None
rnd, errors = 0, []
while True:
    t0 = time.time()
    if rnd > 0:  # delete every other document; the job re-adds them
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda d: call("DELETE", "/v1/collections/default/documents/" +
                                       urllib.parse.quote(d["id"], safe="")), pool["documents"][rnd % 2::2]))
    docs = [dict(d, text=d["text"] + f" (revision {rnd})") for d in pool["documents"]]
    status, job = call("POST", "/v1/collections/default/documents", {"documents": docs})
    state = "sync"
    if status == 202 and job:
        while True:
            time.sleep(0.5)
            state = call("GET", "/v1/jobs/" + job["id"])[1]["state"]
            if state in ("completed", "failed"):
                break
    with open(log, "a") as f:
        f.write(f"{rnd} {time.time() - t0:.1f} {state} {' '.join(errors)}\n")
    errors.clear()
    rnd += 1
PY
}
# The first pool round runs before the warm-up, so the warm-up RSS counts it.
if [ "$MODE" = churn ]; then
  churn &
  CHURN_PID=$!
  for _ in $(seq 1200); do [ -s "$TMP/churn.log" ] && break; sleep 0.5; done
fi
timeout $((WARM + 60)) wrk -t2 -c"$CONNS" -d"${WARM}s" -s "$ROOT/bench/soak.lua" "$URL" >"$TMP/warm.txt"
RSS_WARM=$(rss_kb "$SERVE_PID")
T0=$(date +%s)
echo "0 $RSS_WARM" >"$TMP/rss.tsv"
( while sleep 10; do echo "$(($(date +%s) - T0)) $(rss_kb "$SERVE_PID")"; done ) >>"$TMP/rss.tsv" &
SAMPLER_PID=$!
JOBS=()
if [ "$MODE" = grow ]; then
  for f in "$TMP"/batch*.json; do
    JOBS+=("$(curl -s -X POST -H 'Content-Type: application/json' --data-binary "@$f" \
      "$URL/v1/collections/default/documents" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')")
  done
fi
timeout $((SECS + 60)) wrk -t2 -c"$CONNS" -d"${SECS}s" --timeout 30s -s "$ROOT/bench/soak.lua" "$URL" \
  >"$TMP/soak.txt"
RSS_END=$(rss_kb "$SERVE_PID")
echo "$(($(date +%s) - T0)) $RSS_END" >>"$TMP/rss.tsv"
stop "$SAMPLER_PID"; SAMPLER_PID=
stop "$CHURN_PID"; CHURN_PID=
if [ "$MODE" = grow ]; then
  STATES=$(for j in "${JOBS[@]}"; do curl -s "$URL/v1/jobs/$j" | python3 -c \
    'import json,sys; j=json.load(sys.stdin); print(j["state"], j["progress"].get("done", 0))'; done | tr '\n' ';')
else
  STATES="$(wc -l <"$TMP/churn.log") rounds of $BATCH; not completed or with errors: $(grep -vc ' completed $' "$TMP/churn.log" || true)"
fi
DOCS_END=$(curl -s "$URL/v1/collections/default" | python3 -c 'import json,sys; print(json.load(sys.stdin)["documents"])')
if [ -n "$PNG" ] && command -v gnuplot >/dev/null; then
  gnuplot -e "set terminal png size 800,400; set output '$PNG'; set xlabel 'seconds after warm-up';
    set ylabel 'VmRSS (MB)'; set yrange [0:*]; set key off;
    plot '$TMP/rss.tsv' using 1:(\$2/1024) with linespoints, $RSS_WARM/1024.0*1.1 with lines dt 2"
fi
cat "$TMP/soak.txt" >&2
python3 - "$TMP/soak.txt" "$RSS_WARM" "$RSS_END" "$STATES" "$CONNS" "$MODE" "$TMP/rss.tsv" "$DOCS_END" <<'PY'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("SOAK_JSON ")][0]
r = json.loads(line.split(" ", 1)[1])
warm, end = int(sys.argv[2]) / 1024, int(sys.argv[3]) / 1024
curve = [[int(a), round(int(b) / 1024, 1)] for a, b in (l.split() for l in open(sys.argv[7]) if l.strip())]
# The verdict compares medians of 3 samples, not single ones: the first
# three of the curve (0, 10, 20 s after the warm-up) and the last three.
med = lambda xs: sorted(xs)[len(xs) // 2]
start_med = med([b for _, b in curve[:3]])
end_med = med([b for _, b in curve[-3:]])
r.update({"mode": sys.argv[6], "connections": int(sys.argv[5]), "rss_warm_mb": round(warm, 1),
          "rss_end_mb": round(end, 1), "rss_drift_pct": round(100 * (end - warm) / warm, 1),
          "rss_start_median3_mb": start_med, "rss_end_median3_mb": end_med,
          "rss_median_drift_pct": round(100 * (end_med - start_med) / start_med, 1),
          "documents_end": int(sys.argv[8]), "jobs": sys.argv[4], "rss_curve_mb": curve})
print("SOAK_RESULT " + json.dumps(r))
print(f"soak: RSS median of the first 3 samples {start_med} MB, of the last 3 {end_med} MB "
      f"({r['rss_median_drift_pct']:+.1f} %; single samples {warm:.1f} -> {end:.1f} MB)", file=sys.stderr)
bad = r["r5xx"] or r["r4xx"] or r["connect_errors"] or r["read_errors"] or r["timeouts"]
drift = r["mode"] == "churn" and end_med > 1.1 * start_med
if drift:
    print("soak: FAILED: the end RSS (median of 3) is over 110 % of the start's", file=sys.stderr)
sys.exit(1 if bad or drift else 0)
PY
