#!/usr/bin/env bash
# bench/bench_http.sh — HTTP load benchmark of `ragd serve` (POST /v1/search)
# with wrk, against two baselines measured in the same run:
#   ceiling   bench_mhd_ceiling: bare libmicrohttpd, same daemon flags and
#             thread count as ragd serve, a fixed body of the size of a real
#             search reply — what HTTP alone costs on this machine;
#   in-proc   bench_inproc: ragd_search called from threads in one process
#             on the same queries — what search alone costs.
# For each connection count (default 1 8 64) it runs wrk on ragd serve, wrk
# on the ceiling server, and bench_inproc with min(connections, serve
# threads) threads, each for --duration seconds in --rounds slices: round
# by round the three alternate (serve first, then in-process first, ...), so
# load from other processes hits HTTP and in-process alike.
#
# usage: bench/bench_http.sh [--quick] [--duration S] [--rounds R] [--conns "1 8 64"]
#                            [--serve-threads N] [--build DIR] [--scifact DIR]
#                            [--out FILE] [--keep]
#   --quick          5 s per measurement in 1 round, 3 s warm-up
#                    (default: 20 s in 4 rounds of 5 s, 5 s warm-up)
#   --serve-threads  `ragd serve --threads` and the ceiling's pool (default 8)
#   --out            the JSON results (default bench/results/http.json)
# Data: --scifact DIR, else $RAGD_SHARED_DATA/scifact, else
# <repo>/../shared/data/scifact; absent: a message and exit 0.
# Everything listens on 127.0.0.1 only; every process started is stopped on
# exit (also on errors and Ctrl-C); every wrk/bench_inproc run is bounded by
# `timeout`. Needs the build (cmake --build build), wrk (installed from
# Debian when missing), python3 (for the report), curl.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
DURATION=20
ROUNDS=4
WARMUP=5
CONNS="1 8 64"
SERVE_THREADS=8
SCIFACT=""
OUT=$ROOT/bench/results/http.json
KEEP=0
ARGS="$*"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) DURATION=5; ROUNDS=1; WARMUP=3 ;;
    --duration) DURATION=$2; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --serve-threads) SERVE_THREADS=$2; shift ;;
    --build) BUILD=$2; shift ;;
    --scifact) SCIFACT=$2; shift ;;
    --out) OUT=$2; shift ;;
    --keep) KEEP=1 ;;
    -h|--help) sed -n '2,/^set -euo/{/^set -euo/!p}' "$0" | cut -c3-; exit 0 ;;
    *) echo "bench_http: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
  shift
done
case "$DURATION$SERVE_THREADS$ROUNDS" in *[!0-9]*) echo "bench_http: --duration, --rounds and --serve-threads are integers" >&2; exit 2 ;; esac
SLICE=$(( DURATION / ROUNDS ))
[ "$SLICE" -ge 1 ] || { echo "bench_http: --duration / --rounds must be at least 1 s" >&2; exit 2; }

if [ -z "$SCIFACT" ]; then
  if [ -n "${RAGD_SHARED_DATA:-}" ]; then SCIFACT=$RAGD_SHARED_DATA/scifact; else SCIFACT=$ROOT/../shared/data/scifact; fi
fi
CORPUS=$SCIFACT/corpus.jsonl
QUERIES=$SCIFACT/queries.jsonl
if [ ! -r "$CORPUS" ] || [ ! -r "$QUERIES" ]; then
  echo "bench_http: SciFact not found at $SCIFACT (need corpus.jsonl and queries.jsonl); skipping."
  exit 0
fi
RAGD=$BUILD/ragd
INPROC=$BUILD/bench/bench_inproc
CEIL=$BUILD/bench/bench_mhd_ceiling
for b in "$RAGD" "$INPROC" "$CEIL"; do
  [ -x "$b" ] || { echo "bench_http: $b missing: cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo && cmake --build build -j2" >&2; exit 1; }
done

if ! command -v wrk >/dev/null; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  echo "bench_http: installing wrk (apt-get install -y wrk)" >&2
  $SUDO apt-get install -y wrk >&2 || { $SUDO apt-get update >&2 && $SUDO apt-get install -y wrk >&2; }
fi
WRK_VERSION=$(wrk -v 2>&1 | head -n1 || true)

TMP=$(mktemp -d "${TMPDIR:-/tmp}/ragd-bench-http-XXXXXX")
SERVE_PID=""
CEIL_PID=""
stop() { # stop PID: SIGTERM, up to 15 s, then SIGKILL
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$SERVE_PID"; SERVE_PID=""
  stop "$CEIL_PID"; CEIL_PID=""
  if [ "$KEEP" = 1 ]; then echo "bench_http: kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_ready() { # wait_ready FILE PID NAME -> prints the port
  for _ in $(seq 300); do
    if [ -s "$1" ]; then tail -n1 "$1" | sed 's/.*://'; return 0; fi
    kill -0 "$2" 2>/dev/null || { echo "bench_http: $3 exited" >&2; return 1; }
    sleep 0.1
  done
  echo "bench_http: $3 did not start within 30 s" >&2
  return 1
}
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status"; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }

T_START=$(date +%s)
START_DATE=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_START=$(loadavg)
RES=$TMP/results.txt
: >"$RES"
echo "bench_http: $START_DATE, load average $LOAD_START; $DURATION s per measurement; connections $CONNS" >&2

# 1. Ingest SciFact with the real CLI.
echo "bench_http: ingesting $CORPUS" >&2
t0=$(date +%s%N)
"$RAGD" ingest --format jsonl --no-progress --data "$TMP/data" "$CORPUS" >&2
INGEST_S=$(( ($(date +%s%N) - t0) / 1000000 ))e-3

# 2. ragd serve and the ceiling server, on free loopback ports. The result
# cache is off: wrk cycles through the queries, and hits would measure the
# cache, not the search.
"$RAGD" serve --data "$TMP/data" --listen 127.0.0.1:0 --ready-file "$TMP/serve.ready" \
  --threads "$SERVE_THREADS" --cache-size 0 >/dev/null 2>"$TMP/serve.log" &
SERVE_PID=$!
PORT=$(wait_ready "$TMP/serve.ready" "$SERVE_PID" "ragd serve")
URL=http://127.0.0.1:$PORT/v1/search
RSS_START=$(status_kb "$SERVE_PID" VmRSS)
# One real request: its status and the reply size (the ceiling's body size).
Q1=$(head -n1 "$QUERIES" | python3 -c 'import json,sys; print(json.dumps({"query": json.load(sys.stdin)["text"]}))')
read -r CODE1 BYTES1 < <(curl -s -o "$TMP/one.json" -w '%{http_code} %{size_download}\n' \
  -H 'Content-Type: application/json' --data-binary "$Q1" "$URL")
[ "$CODE1" = 200 ] || { echo "bench_http: POST /v1/search returned $CODE1: $(head -c 300 "$TMP/one.json")" >&2; exit 1; }
# The mean reply size over all queries would be better; one reply is close enough for the ceiling.
"$CEIL" --threads "$SERVE_THREADS" --body-bytes "$BYTES1" --ready-file "$TMP/ceil.ready" &
CEIL_PID=$!
CPORT=$(wait_ready "$TMP/ceil.ready" "$CEIL_PID" "bench_mhd_ceiling")
CURL=http://127.0.0.1:$CPORT/v1/search

export BENCH_QUERIES=$QUERIES
run_wrk() { # run_wrk KIND CONNS URL SECONDS ROUND
  local t=$(( $2 < 2 ? $2 : 2 ))
  local log=$TMP/wrk-$1-$2-$5.txt
  local timing=0
  [ "$1" = serve ] && timing=1
  BENCH_SERVER_TIMING=$timing timeout $(( $4 + 60 )) wrk -t"$t" -c"$2" -d"$4"s --latency --timeout 30s \
    -s "$ROOT/bench/bench_http.lua" "$3" >"$log" 2>&1 || { echo "bench_http: wrk failed:" >&2; cat "$log" >&2; exit 1; }
  local j
  j=$(sed -n 's/^BENCH_JSON //p' "$log")
  [ -n "$j" ] || { echo "bench_http: no result from wrk:" >&2; cat "$log" >&2; exit 1; }
  echo "$1 $2 $t $5 $j" >>"$RES"
  echo "bench_http: round $5, $1, $2 connections: $(echo "$j" | python3 -c 'import json,sys; o=json.load(sys.stdin); print("%.1f QPS, p50 %.2f ms, p99 %.2f ms, non-2xx %d" % (o["qps"], o["p50_ms"], o["p99_ms"], o["non_2xx"]))')" >&2
}

# 3. Warm-up of ragd serve (index load, page cache), then the memory reading.
echo "bench_http: warm-up, $WARMUP s" >&2
timeout $(( WARMUP + 60 )) wrk -t1 -c1 -d"$WARMUP"s -s "$ROOT/bench/bench_http.lua" "$URL" >"$TMP/wrk-warmup.txt" 2>&1
RSS_WARM=$(status_kb "$SERVE_PID" VmRSS)
HWM_WARM=$(status_kb "$SERVE_PID" VmHWM)

# 4. Per connection count: ragd serve, ceiling, in-process.
run_inproc() { # run_inproc CONNS ROUND
  local th=$(( $1 < SERVE_THREADS ? $1 : SERVE_THREADS ))
  local j
  j=$(timeout $(( SLICE + 120 )) "$INPROC" --data "$TMP/data" --queries "$QUERIES" \
        --threads "$th" --seconds "$SLICE" --warmup 2 2>>"$TMP/inproc.log" | tail -n1)
  [ -n "$j" ] || { echo "bench_http: bench_inproc failed:" >&2; cat "$TMP/inproc.log" >&2; exit 1; }
  echo "inproc $1 $th $2 $j" >>"$RES"
  echo "bench_http: round $2, in-process, $th threads: $(echo "$j" | python3 -c 'import json,sys; print(round(json.load(sys.stdin)["qps"], 1))') QPS" >&2
}
n=0
for c in $CONNS; do # the order alternates: serve, ceiling, in-process / in-process, ceiling, serve
  for r in $(seq "$ROUNDS"); do
    if [ $(( n % 2 )) -eq 0 ]; then
      run_wrk serve "$c" "$URL" "$SLICE" "$r"; run_wrk ceiling "$c" "$CURL" "$SLICE" "$r"; run_inproc "$c" "$r"
    else
      run_inproc "$c" "$r"; run_wrk ceiling "$c" "$CURL" "$SLICE" "$r"; run_wrk serve "$c" "$URL" "$SLICE" "$r"
    fi
    n=$(( n + 1 ))
  done
done
RSS_END=$(status_kb "$SERVE_PID" VmRSS)
HWM_END=$(status_kb "$SERVE_PID" VmHWM)
LOAD_END=$(loadavg)
stop "$SERVE_PID"; SERVE_PID=""
stop "$CEIL_PID"; CEIL_PID=""

# 5. Report: markdown on stdout, JSON in $OUT.
mkdir -p "$(dirname "$OUT")"
export RES OUT ARGS DURATION ROUNDS SLICE WARMUP SERVE_THREADS WRK_VERSION START_DATE LOAD_START LOAD_END \
  INGEST_S RSS_START RSS_WARM HWM_WARM RSS_END HWM_END BYTES1 CORPUS T_START
export GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
python3 - <<'EOF'
import json, os, platform, time
E = os.environ
import statistics
rounds = []
for line in open(E["RES"]):
    kind, conns, threads, rnd, js = line.split(" ", 4)
    o = json.loads(js); o.update(kind=kind, connections=int(conns), threads=int(threads), round=int(rnd))
    rounds.append(o)
# Per (kind, connections): requests and seconds summed (QPS = their ratio),
# latency percentiles = the median of the rounds' percentiles, errors summed.
rows = []
for kind in ("serve", "ceiling", "inproc"):
    for c in sorted({r["connections"] for r in rounds}):
        rs = [r for r in rounds if r["kind"] == kind and r["connections"] == c]
        if not rs: continue
        a = {"kind": kind, "connections": c, "threads": rs[0]["threads"], "rounds": len(rs)}
        a["requests"] = sum(r["requests"] for r in rs)
        a["seconds"] = round(sum(r["seconds"] for r in rs), 3)
        a["qps"] = round(a["requests"] / a["seconds"], 2)
        a["qps_per_round"] = [r["qps"] for r in rs]
        for k in ("p50_ms", "p90_ms", "p99_ms", "mean_ms"):
            if k in rs[0]: a[k] = round(statistics.median(r[k] for r in rs), 3)
        if rs[0].get("server_timed"):
            n = sum(r["server_timed"] for r in rs)
            a["server_timed"] = n
            a["server_total_ms"] = round(sum(r["server_total_ms"] * r["server_timed"] for r in rs) / n, 3) if n else None
        for k in ("non_2xx", "connect_errors", "read_errors", "write_errors", "timeouts", "errors"):
            if k in rs[0]: a[k] = sum(r[k] for r in rs)
        rows.append(a)
def get(kind, c):
    return next((r for r in rows if r["kind"] == kind and r["connections"] == c), None)
def per_round_ratio(c):
    s = {r["round"]: r["qps"] for r in rounds if r["kind"] == "serve" and r["connections"] == c}
    i = {r["round"]: r["qps"] for r in rounds if r["kind"] == "inproc" and r["connections"] == c}
    v = [s[k] / i[k] for k in s if k in i and i[k]]
    return round(statistics.median(v), 3) if v else None
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "unknown")
mem_kb = int(next(l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")))
mb = lambda kb: round(int(kb) / 1024, 1)
machine = {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_kb / 1048576, 1),
           "kernel": platform.release(), "load_average_start": float(E["LOAD_START"]),
           "load_average_end": float(E["LOAD_END"]), "wrk": E["WRK_VERSION"]}
conns = sorted({r["connections"] for r in rows})
ratios = {}
for c in conns:
    s, i, ce = get("serve", c), get("inproc", c), get("ceiling", c)
    ratios[str(c)] = {"http_over_inproc": round(s["qps"] / i["qps"], 3) if i["qps"] else None,
                      "http_over_inproc_median_of_rounds": per_round_ratio(c),
                      "http_over_ceiling": round(s["qps"] / ce["qps"], 4) if ce["qps"] else None}
rss = {"after_start_mb": mb(E["RSS_START"]), "after_warmup_mb": mb(E["RSS_WARM"]),
       "peak_after_warmup_mb": mb(E["HWM_WARM"]), "end_mb": mb(E["RSS_END"]), "peak_end_mb": mb(E["HWM_END"])}
res = {"benchmark": "bench/bench_http.sh", "command": ("bench/bench_http.sh " + E["ARGS"]).strip(),
       "date": E["START_DATE"], "git": E["GIT_REV"], "machine": machine,
       "settings": {"seconds_per_measurement": int(E["DURATION"]), "rounds": int(E["ROUNDS"]),
                    "seconds_per_round": int(E["SLICE"]), "warmup_seconds": int(E["WARMUP"]),
                    "serve_threads": int(E["SERVE_THREADS"]), "request": "POST /v1/search {\"query\": TEXT}, 300 SciFact queries cycled",
                    "reply_bytes_first_query": int(E["BYTES1"]), "corpus": E["CORPUS"],
                    "ingest_seconds": round(float(E["INGEST_S"]), 2)},
       "results": rows, "rounds": rounds, "ratios": ratios, "serve_rss": rss,
       "total_seconds": int(time.time()) - int(E["T_START"])}
json.dump(res, open(E["OUT"], "w"), indent=2); open(E["OUT"], "a").write("\n")

p = print
p("# bench_http — POST /v1/search under load (ragd serve, wrk)\n")
p(f"machine: {machine['cores']} cores, CPU \"{cpu}\", {machine['memory_gb']} GB RAM; load average "
  f"{machine['load_average_start']:.2f} at start, {machine['load_average_end']:.2f} at the end")
p(f"date: {res['date']}; git {res['git']}; {machine['wrk']}")
p(f"command: {res['command']}")
p(f"{E['DURATION']} s per measurement in {E['ROUNDS']} round(s) of {E['SLICE']} s (QPS over all rounds; "
  f"p50/p90/p99 the median of the rounds'); ragd serve --threads {E['SERVE_THREADS']}; wrk threads = min(2, connections); "
  f"ingest {float(E['INGEST_S']):.1f} s; reply of the first query {E['BYTES1']} bytes (the ceiling's body)\n")
p("| connections | server | wrk threads | requests | QPS | p50 ms | p90 ms | p99 ms | mean ms | non-2xx | socket errors |")
p("|---|---|---|---|---|---|---|---|---|---|---|")
for c in conns:
    for kind, name in (("serve", "ragd serve"), ("ceiling", "bare libmicrohttpd (ceiling)")):
        r = get(kind, c)
        se = r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
        p(f"| {c} | {name} | {r['threads']} | {r['requests']:,} | {r['qps']:,.1f} | {r['p50_ms']:.2f} | "
          f"{r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['mean_ms']:.2f} | {r['non_2xx']} | {se} |")
p("\n| connections | in-process threads | searches | in-process QPS | p50 ms | p99 ms | errors | HTTP / in-process QPS | median of per-round ratios | HTTP / ceiling QPS |")
p("|---|---|---|---|---|---|---|---|---|---|")
for c in conns:
    r = get("inproc", c)
    ra = ratios[str(c)]
    mark = "**" if c == 8 else ""
    p(f"| {c} | {r['threads']} | {r['requests']:,} | {r['qps']:,.1f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | "
      f"{r['errors']} | {mark}{ra['http_over_inproc']:.2f}×{mark} | {ra['http_over_inproc_median_of_rounds']:.2f}× | "
      f"{ra['http_over_ceiling']:.4f}× |")
if "8" in ratios:
    v = ratios["8"]["http_over_inproc"]
    p(f"\nHTTP / in-process QPS at 8 connections: **{v:.2f}×** (target ≥ 0.5: {'met' if v >= 0.5 else 'missed'})")
p("\nInside ragd serve, mean ragd_search time per request (the replies' timing_ms.total) against "
  "in-process ragd_search (mean ms):")
p("\n| connections | serve: timing_ms.total | serve: wrk mean latency | in-process mean | in-process threads |\n|---|---|---|---|---|")
for c in conns:
    s, i = get("serve", c), get("inproc", c)
    p(f"| {c} | {s.get('server_total_ms') or 0:.2f} | {s['mean_ms']:.2f} | {i['mean_ms']:.2f} | {i['threads']} |")
p("\nQPS per round (serve / in-process): " + "; ".join(
    f"{c} conn: " + ", ".join(f"{a:.0f}/{b:.0f}" for a, b in zip(get("serve", c)["qps_per_round"], get("inproc", c)["qps_per_round"]))
    for c in conns))
p("\n| ragd serve memory | VmRSS MB | VmHWM (peak) MB |\n|---|---|---|")
p(f"| after start | {rss['after_start_mb']} | — |")
p(f"| after warm-up ({E['WARMUP']} s, 1 connection) | {rss['after_warmup_mb']} | {rss['peak_after_warmup_mb']} |")
p(f"| at the end | {rss['end_mb']} | {rss['peak_end_mb']} |")
p(f"\nresults: {E['OUT']}; whole run {res['total_seconds']} s")
EOF
