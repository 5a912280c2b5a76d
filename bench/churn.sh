#!/usr/bin/env bash
# bench/churn.sh — ingest and delete many small documents, then check that
# the vector index, the database and the results have not drifted.
#
#   bench/churn.sh [-b RAGD] [-n DOCS] [-r ROUNDS] [-k KEEP_EVERY] [-i FACTORY] [-d DIR]
#
#   -b RAGD   the ragd binary (default build/ragd)
#   -n DOCS   documents ingested in all (default 10000)
#   -r ROUNDS rounds (default 20): each round writes DOCS/ROUNDS new small
#             Markdown files into DIR/live/, deletes the previous round's
#             files except every KEEP_EVERY-th, and runs
#             `ragd ingest --prune DIR/live` (ingests the new ones, deletes
#             the documents whose files are gone)
#   -k N      keep every N-th document (default 20: 500 survivors of 10,000)
#   -i F      after round 1, `ragd reindex --index F` (e.g. HNSW32, whose
#             deletions are tombstones until a rebuild; default: the
#             collection's default, IDMap,Flat, which removes vectors)
#   -d DIR    work directory (default a fresh mktemp -d, removed at the end)
#   -e        embed through a remote embedder: the mock model server
#             (build/tests/mock_model_server, OpenAI protocol, 384-d,
#             127.0.0.1, stopped at the end) instead of the built-in local
#             one, so the embedding cache is used (the local embedder
#             bypasses it); the fresh store uses the same server. Also
#             checks the cache's bound after every round: rows at most the
#             live chunks + max(256, chunks / 4) + 448 (store/vectors.c).
#
# After every round it prints the live documents and chunks, the vectors in
# the FAISS index (index_state.ntotal, checked against the snapshot file
# whenever ragd loads it), the pending deletions (deleted_chunks), the
# embedding cache rows, and ragd.db's size, page count and free pages.
# At the end it checks, failing (exit 1) when one does not hold:
#   - the index holds exactly the live chunks (no ghost vectors) and no
#     deletion is pending — with a tombstoning factory (-i HNSW…) only
#     after `ragd reindex`, which is checked in every case;
#   - the search results (doc ids, order, scores) of 12 queries in hybrid,
#     dense and lexical mode equal those of a fresh data directory into
#     which only the survivors were ingested (in the same order: equal
#     scores are ranked by chunk id);
# and it prints the database size after `ragd reindex`, after `VACUUM`, and
# after emptying the embedding cache and a VACUUM. Not part of `make test` (minutes, not seconds).
set -euo pipefail

RAGD=build/ragd
DOCS=10000
ROUNDS=20
KEEP=20
DIR=
FACTORY=
REMOTE=
while getopts "b:n:r:k:i:d:eh" opt; do
  case $opt in
    b) RAGD=$OPTARG ;;
    n) DOCS=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    k) KEEP=$OPTARG ;;
    i) FACTORY=$OPTARG ;;
    d) DIR=$OPTARG ;;
    e) REMOTE=1 ;;
    *) sed -n '2,40p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
RAGD=$(realpath "$RAGD")
MOCK_PID=
EMBED=()
cleanup() {
  if [ -n "$MOCK_PID" ]; then kill "$MOCK_PID" 2>/dev/null || true; wait "$MOCK_PID" 2>/dev/null || true; fi
  if [ -n "${RMDIR:-}" ]; then rm -rf "$RMDIR"; fi
}
trap cleanup EXIT
if [ -z "$DIR" ]; then
  DIR=$(mktemp -d)
  RMDIR=$DIR
fi
if [ -n "$REMOTE" ]; then
  MOCK=$(dirname "$RAGD")/tests/mock_model_server
  [ -x "$MOCK" ] || { echo "churn: $MOCK missing (cmake --build build)" >&2; exit 2; }
  coproc MOCKP { exec "$MOCK" --dim 384 2>/dev/null; }
  MOCK_PID=$MOCKP_PID
  read -r MOCK_PORT <&"${MOCKP[0]}"
  EMBED=(--embedder openai --embedder-url "http://127.0.0.1:$MOCK_PORT/v1" --embedder-model mock-embed)
fi
mkdir -p "$DIR/live"
cd "$DIR"
PER=$((DOCS / ROUNDS))
DATA=$DIR/data
WORDS=(harbour glacier orchard lantern meadow copper falcon willow granite ember
  tide quarry beacon thistle saffron cobalt juniper marble heron basalt)

# A small document: a title and two sentences whose words depend on i, so
# documents differ and queries find a few of them.
write_doc() {
  local i=$1
  local a=${WORDS[$((i % 20))]} b=${WORDS[$(((i / 20) % 20))]} c=${WORDS[$(((i / 400) % 20))]}
  printf '# Note %d on the %s %s\n\nThe %s survey of site %d recorded %s and %s near the %s.\nField team %d logged %s readings twice a day.\n' \
    "$i" "$a" "$b" "$a" "$i" "$b" "$c" "$a" "$((i % 97))" "$c" >"$i.md"
}

stats() {
  sqlite3 "$DATA/ragd.db" "SELECT (SELECT count(*) FROM documents), (SELECT count(*) FROM chunks),
    (SELECT coalesce(sum(ntotal),0) FROM index_state), (SELECT count(*) FROM deleted_chunks),
    (SELECT count(*) FROM embed_cache);" | tr '|' ' '
}
dbsize() {
  local s=0 f
  for f in "$DATA/ragd.db" "$DATA/ragd.db-wal"; do [ -f "$f" ] && s=$((s + $(stat -c %s "$f"))); done
  echo "$s $(sqlite3 "$DATA/ragd.db" 'PRAGMA page_count;') $(sqlite3 "$DATA/ragd.db" 'PRAGMA freelist_count;')"
}

echo "churn: $DOCS documents in $ROUNDS rounds of $PER, keeping every $KEEP-th, embedder $([ -n "$REMOTE" ] && echo "remote (mock, port $MOCK_PORT)" || echo local) ($(date -u +%FT%TZ))"
fail=0
cache_bound() { # cache rows, live chunks: the bound of store/vectors.c
  local slack=$(($2 / 4 > 256 ? $2 / 4 : 256))
  if [ -n "$REMOTE" ] && [ "$1" -gt $(($2 + slack + 448)) ]; then
    echo "FAIL: $1 embedding cache rows for $2 live chunks"; fail=1
  fi
}
printf '%5s %7s %6s %7s %7s %7s %6s %10s %6s %5s %6s\n' round ingested docs chunks vectors pending cache db_bytes pages free secs
prev=()
n=0
t0=$(date +%s)
for ((r = 1; r <= ROUNDS; r++)); do
  for f in "${prev[@]}"; do rm -f "live/$f.md"; done
  prev=()
  for ((j = 0; j < PER; j++)); do
    (cd live && write_doc "$n")
    [ $((n % KEEP)) -ne 0 ] && prev+=("$n")
    n=$((n + 1))
  done
  "$RAGD" ingest --data "$DATA" "${EMBED[@]}" --prune live >/dev/null
  if [ "$r" -eq 1 ] && [ -n "$FACTORY" ]; then "$RAGD" reindex --data "$DATA" --index "$FACTORY" >/dev/null; fi
  # A search brings the FAISS index up to date and saves its snapshot.
  "$RAGD" search --data "$DATA" --mode dense "harbour survey" >/dev/null
  read -r ndocs nchunks nvec npend ncache <<<"$(stats)"
  read -r bytes pages free <<<"$(dbsize)"
  printf '%5d %7d %6d %7d %7d %7d %6d %10d %6d %5d %6d\n' "$r" "$n" "$ndocs" "$nchunks" "$nvec" "$npend" "$ncache" "$bytes" "$pages" "$free" $(($(date +%s) - t0))
  cache_bound "$ncache" "$nchunks"
done
# The last round's deletions.
for f in "${prev[@]}"; do rm -f "live/$f.md"; done
"$RAGD" ingest --data "$DATA" --prune live >/dev/null
"$RAGD" search --data "$DATA" --mode dense "harbour survey" >/dev/null
read -r ndocs nchunks nvec npend ncache <<<"$(stats)"
read -r bytes pages free <<<"$(dbsize)"
printf '%5s %7d %6d %7d %7d %7d %6d %10d %6d %5d %6d\n' end "$n" "$ndocs" "$nchunks" "$nvec" "$npend" "$ncache" "$bytes" "$pages" "$free" $(($(date +%s) - t0))

# Results as (doc id, score to 6 significant digits), in rank order.
canon() {
  python3 -c 'import json, sys
print([(x["doc_id"], float("%.6g" % x["score"])) for x in json.load(sys.stdin)["results"]])'
}

if [[ "$FACTORY" != HNSW* ]]; then
  [ "$nvec" -eq "$nchunks" ] || { echo "FAIL: the index holds $nvec vectors for $nchunks live chunks"; fail=1; }
  [ "$npend" -eq 0 ] || { echo "FAIL: $npend deletions still pending"; fail=1; }
fi
[ "$ndocs" -eq $(((n + KEEP - 1) / KEEP)) ] || { echo "FAIL: $ndocs documents, expected $(((n + KEEP - 1) / KEEP))"; fail=1; }

# A fresh ingest of the survivors (same relative paths, so same doc ids),
# round by round as they came, so chunk ids follow the same order and
# equal scores rank the same way (ties are ranked by chunk id).
mkdir -p fresh/live
for ((r = 0; r < ROUNDS; r++)); do
  for ((i = r * PER; i < (r + 1) * PER; i++)); do
    [ $((i % KEEP)) -eq 0 ] && cp "live/$i.md" fresh/live/
  done
  (cd fresh && "$RAGD" ingest --data "$DIR/fresh-data" "${EMBED[@]}" live >/dev/null)
done
if [ -n "$FACTORY" ]; then "$RAGD" reindex --data "$DIR/fresh-data" --index "$FACTORY" >/dev/null; fi
same=0 total=0
for q in "harbour survey" "glacier readings" "copper falcon" "site 4321" "willow meadow near the granite" \
  "field team logged" "ember tide" "saffron cobalt juniper" "marble heron" "basalt quarry beacon" \
  "thistle lantern" "orchard"; do
  for mode in hybrid dense lexical; do
    total=$((total + 1))
    a=$("$RAGD" search --data "$DATA" --json --k 10 --mode "$mode" "$q" |
      canon)
    b=$(cd fresh && "$RAGD" search --data "$DIR/fresh-data" --json --k 10 --mode "$mode" "$q" |
      canon)
    if [ "$a" == "$b" ]; then same=$((same + 1)); else
      echo "DIFF [$mode] $q"; echo "  churned: $a"; echo "  fresh:   $b"; fail=1
    fi
  done
done
echo "results equal to a fresh ingest of the survivors: $same of $total searches"

read -r bytes pages free <<<"$(dbsize)"
fbytes=$(DATA=$DIR/fresh-data dbsize | cut -d' ' -f1)
echo "ragd.db (+ -wal): churned $bytes bytes ($pages pages, $free free), fresh ingest of the survivors $fbytes bytes ($(sqlite3 "$DIR/fresh-data/ragd.db" 'SELECT count(*) FROM embed_cache;') cache rows)"
"$RAGD" reindex --data "$DATA" >/dev/null
read -r bytes pages free <<<"$(dbsize)"
read -r ndocs nchunks nvec npend ncache <<<"$(stats)"
echo "after ragd reindex: $bytes bytes ($pages pages, $free free), vectors $nvec for $nchunks chunks, $npend pending"
[ "$nvec" -eq "$nchunks" ] && [ "$npend" -eq 0 ] || { echo "FAIL: after reindex the index is not the live chunks"; fail=1; }
sqlite3 "$DATA/ragd.db" 'PRAGMA wal_checkpoint(TRUNCATE); VACUUM;' >/dev/null
read -r bytes pages free <<<"$(dbsize)"
echo "after VACUUM: $bytes bytes ($pages pages, $free free)"
# The embedding cache is only a cache (a miss recomputes): emptying it is
# safe, and shows how much of the growth it is.
sqlite3 "$DATA/ragd.db" 'DELETE FROM embed_cache; VACUUM;' >/dev/null
read -r bytes pages free <<<"$(dbsize)"
echo "after DELETE FROM embed_cache and VACUUM: $bytes bytes ($pages pages, $free free)"
echo "churn: $([ $fail -eq 0 ] && echo ok || echo FAILED) in $(($(date +%s) - t0)) s"
exit $fail
