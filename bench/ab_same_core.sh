#!/bin/bash
# bench/ab_same_core.sh — compare two builds' CPU cost on a noisy shared host.
#
#   bench/ab_same_core.sh N "COMMAND A" "COMMAND B"
#
# Runs A and B at the same time, both pinned to one core (CORE, default 0),
# N times, and prints each one's CPU seconds (user + sys) and B ÷ A. Run one
# after the other, the same binary's time moves by a third on this host
# (the vCPU lands on busier or idler hardware from one minute to the next,
# which neither the load average nor steal shows); time-sliced on one core,
# both see the same host at the same moments, and A against A stays within
# about 1 %. For sub-steps, compare a tool's own per-step CPU figures the
# same way (e.g. bench_chunk's per-pass CPU seconds in parentheses).
#
# Example (semantic chunker, old build against new):
#   bench/ab_same_core.sh 5 "/tmp/old/bench_chunk --no-js --no-ingest" \
#       "build/bench/bench_chunk --no-js --no-ingest"
set -euo pipefail
if [ $# -ne 3 ]; then
    sed -n '3,4p' "$0" >&2
    exit 2
fi
n=$1 a=$2 b=$3 core=${CORE:-0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cpu() { # command, output file: CPU seconds of the command
    /usr/bin/time -f "%U %S" -o "$2.t" taskset -c "$core" bash -c "$1" >/dev/null 2>&1 || true
    awk '{printf "%.2f", $1 + $2}' "$2.t" >"$2"
}
for i in $(seq "$n"); do
    cpu "$a" "$tmp/a" &
    cpu "$b" "$tmp/b"
    wait
    ta=$(cat "$tmp/a") tb=$(cat "$tmp/b")
    echo "round $i: A $ta s, B $tb s, B/A $(awk -v a="$ta" -v b="$tb" 'BEGIN{printf "%.3f", b / a}')"
done
