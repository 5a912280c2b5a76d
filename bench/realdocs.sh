#!/usr/bin/env bash
# bench/realdocs.sh — ingest real documentation trees nobody here wrote:
# the HTML of Debian's python3-doc, postgresql-doc-15 and sqlite3-doc.
# For each tree it reports the files in the tree, the files the walk met,
# the documents ingested, what was skipped by reason, failures, the ingest
# time, and whether re-ingesting the unchanged tree is a no-op (0 added,
# 0 updated, all unchanged). The packages are installed with apt-get when
# missing (never copied into the repository); the data directory is a
# temporary one, removed on exit unless --keep.
#
# usage: bench/realdocs.sh [--build DIR] [--workers N] [--out FILE] [--keep]
#                          [--only python|postgresql|sqlite]
#   --workers  ingest --workers (default: ragd's default)
#   --out      the JSON results (default bench/results/realdocs.json)
# Needs the build (cmake --build build) and python3 (for the report).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$ROOT/build
OUT=$ROOT/bench/results/realdocs.json
KEEP=0
WORKERS=""
ONLY=""
while [ $# -gt 0 ]; do
  case "$1" in
    --build) BUILD=$2; shift 2 ;;
    --workers) WORKERS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "realdocs: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
RAGD=$BUILD/ragd
[ -x "$RAGD" ] || { echo "realdocs: $RAGD not found; build first (cmake --build build)" >&2; exit 1; }

# name  package  HTML tree
TREES=(
  "python python3-doc /usr/share/doc/python3-doc/html"
  "postgresql postgresql-doc-15 /usr/share/doc/postgresql-doc-15/html"
  "sqlite sqlite3-doc /usr/share/doc/sqlite3"
)

missing=()
for t in "${TREES[@]}"; do
  set -- $t
  dpkg-query -W -f='${Status}' "$2" 2>/dev/null | grep -q "install ok installed" || missing+=("$2")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo -n"
  echo "realdocs: installing ${missing[*]} (apt-get install -y --no-install-recommends)" >&2
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
    { $SUDO apt-get update -qq >&2 && $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2; }
fi

WORK=$(mktemp -d /tmp/ragd-realdocs-XXXXXX)
cleanup() { [ "$KEEP" = 1 ] && echo "realdocs: kept $WORK" >&2 || rm -rf "$WORK"; }
trap cleanup EXIT

wopt=()
[ -n "$WORKERS" ] && wopt=(--workers "$WORKERS")
results=()
for t in "${TREES[@]}"; do
  set -- $t
  name=$1 dir=$3
  [ -n "$ONLY" ] && [ "$ONLY" != "$name" ] && continue
  [ -d "$dir" ] || { echo "realdocs: $dir missing; skipping $name" >&2; continue; }
  files=$(find -L "$dir" -type f -not -path '*/.*' | wc -l)
  bytes=$(find -L "$dir" -type f -not -path '*/.*' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
  data=$WORK/$name
  echo "realdocs: $name: ingesting $dir ($files files)" >&2
  set +e
  /usr/bin/time -f '%e %M' -o "$WORK/$name.time" "$RAGD" ingest --json --no-progress "${wopt[@]}" \
    --data "$data" "$dir" >"$WORK/$name.first.json" 2>"$WORK/$name.first.err"
  rc1=$?
  "$RAGD" ingest --json --no-progress "${wopt[@]}" --data "$data" "$dir" \
    >"$WORK/$name.again.json" 2>"$WORK/$name.again.err"
  rc2=$?
  set -e
  du_db=$(du -sk "$data" | cut -f1)
  results+=("$name|$dir|$files|$bytes|$rc1|$rc2|$du_db")
done

python3 - "$WORK" "$OUT" "${results[@]}" <<'PY'
import json, sys, time
work, out, rows = sys.argv[1], sys.argv[2], sys.argv[3:]
report = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "trees": []}
for row in rows:
    name, d, files, nbytes, rc1, rc2, du = row.split("|")
    first = json.load(open(f"{work}/{name}.first.json"))
    again = json.load(open(f"{work}/{name}.again.json"))
    el, rss = open(f"{work}/{name}.time").read().split()[-2:]
    errs = open(f"{work}/{name}.first.err").read().splitlines()
    t = {"tree": name, "dir": d, "files": int(files), "mb": round(int(nbytes) / 1048576, 1),
         "walked": first.get("walked"), "added": first["added"], "failed": first["failed"],
         "skipped": first["skipped"], "skipped_by": first.get("skipped_by", {}),
         "chunks": first["chunks"], "text_mb": round(first["bytes"] / 1048576, 1),
         "seconds": round(float(el), 1), "peak_rss_mb": round(int(rss) / 1024),
         "workers": first["workers"], "exit": int(rc1), "db_mb": round(int(du) / 1024, 1),
         "reingest": {"added": again["added"], "updated": again["updated"],
                      "unchanged": again["unchanged"], "exit": int(rc2),
                      "seconds": round(again["seconds"], 2)},
         "errors": [e["file"].split("/")[-1] + ": " + e["error"] for e in first["errors"]][:10],
         "warnings": sum(1 for e in errs if "warning" in e)}
    report["trees"].append(t)
    by = ", ".join(f"{k} {v}" for k, v in sorted(t["skipped_by"].items(), key=lambda kv: -kv[1]))
    print(f"{name:11s} {t['files']:5d} files ({t['mb']} MB), walked {t['walked']}: "
          f"{t['added']} documents, {t['skipped']} skipped ({by}), {t['failed']} failed; "
          f"{t['chunks']} chunks, {t['text_mb']} MB text in {t['seconds']} s "
          f"(peak RSS {t['peak_rss_mb']} MB, {t['workers']} workers); re-ingest: "
          f"{t['reingest']['added']} added, {t['reingest']['updated']} updated, "
          f"{t['reingest']['unchanged']} unchanged in {t['reingest']['seconds']} s")
with open(out, "w") as f:
    json.dump(report, f, indent=1)
    f.write("\n")
print(f"results: {out}")
PY
