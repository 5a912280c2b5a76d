#!/usr/bin/env bash
# bench/bench_pg_scale.sh — PostgreSQL store of record at scale vs SQLite
# (docs/scaling.md "Measured"): SciFact ingest and search latency on both,
# search QPS of one vs two `ragd serve --threads 1` nodes (wrk), and the
# catch-up rate of a new node joining a ~100k-chunk collection.
#
#   bench/bench_pg_scale.sh [--store postgresql://…] [--copies 10] [--seconds 15]
#                           [--rounds 2] [--queries 200] [--out FILE]
#
# Without --store a throwaway cluster is started (tests/pgcluster.py; as
# root the server runs as `nobody`). Without SciFact
# (/work/shared/data/scifact or --scifact DIR) it says so and exits 0.
# Needs the build (build/ragd, or RAGD_BIN), wrk and python3. Details in
# bench/pg_scale.py.
set -euo pipefail
command -v wrk >/dev/null || { echo "bench_pg_scale: wrk is required (apt-get install wrk)" >&2; exit 2; }
exec python3 "$(dirname "$0")/pg_scale.py" "$@"
