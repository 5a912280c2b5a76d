#!/usr/bin/env bash
# bench/boilerplate.sh — how much page furniture reaches the index, on real
# documentation trees nobody here wrote: Debian's python3-doc (Sphinx),
# postgresql-doc-15 (DocBook) and sqlite3-doc (hand-made HTML).
#
# The packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x` into a cache (~/.cache/ragd/debdocs, or $RAGD_DEBDOCS), so
# nothing is installed system-wide and nothing is copied into the repo. Each
# HTML tree is ingested by a ragd binary into a fresh data directory; then
# every chunk's text is checked for markers of navigation and footer text
# that a reader of the page's content never sees:
#   python    "© Copyright", "Found a bug?", "Previous topic", "Next topic",
#             "Report a Bug", "Show Source", "Table of Contents" (sidebar),
#             the permalink mark "¶", "Quick search", "index modules"
#   postgres  a "Prev … Up … Next" strip, "Home Next"/"Prev Up" runs, a
#             line holding both "Prev" and "Next"
#   sqlite    the top menu ("Small. Fast. Reliable.", "Choose any three",
#             "Search Documentation"), "This page last modified", the
#             in-page "Table Of Contents"
# and the share of chunks with any marker is reported per corpus, with one
# example chunk per corpus (the first chunk of a fixed page).
#
# usage: bench/boilerplate.sh [--ragd BIN] [--out FILE] [--corpus python|postgres|sqlite]...
#   --ragd   the binary to measure (default build/ragd); run it once with an
#            older build for "before"
#   --out    a JSON report (default: none; the table goes to stdout)
# Needs apt-get (Debian), dpkg-deb, python3. The built-in embedder is used,
# no model server.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RAGD=$ROOT/build/ragd
OUT=""
CORPORA=()
while [ $# -gt 0 ]; do
    case "$1" in
    --ragd) RAGD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --corpus) CORPORA+=("$2"); shift 2 ;;
    *) echo "usage: $0 [--ragd BIN] [--out FILE] [--corpus python|postgres|sqlite]..." >&2; exit 2 ;;
    esac
done
[ ${#CORPORA[@]} -gt 0 ] || CORPORA=(python postgres sqlite)
[ -x "$RAGD" ] || { echo "no ragd binary at $RAGD (build first)" >&2; exit 1; }

CACHE=${RAGD_DEBDOCS:-$HOME/.cache/ragd/debdocs}
mkdir -p "$CACHE/root"
DOC=$CACHE/root/usr/share/doc
fetch() { # package, a path under $DOC that shows it is unpacked
    [ -e "$DOC/$2" ] && return 0
    (cd "$CACHE" && apt-get download "$1" >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get download "$1"; })
    dpkg-deb -x "$CACHE"/"$1"_*.deb "$CACHE/root"
}
fetch python3.11-doc python3.11/html/index.html
fetch postgresql-doc-15 postgresql-doc-15/html/index.html
fetch sqlite3-doc sqlite3/index.html

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

for c in "${CORPORA[@]}"; do
    case "$c" in
    python) TREE=$DOC/python3.11/html ;;
    postgres) TREE=$DOC/postgresql-doc-15/html ;;
    sqlite) TREE=$DOC/sqlite3 ;;
    *) echo "unknown corpus $c" >&2; exit 2 ;;
    esac
    # Only the HTML pages: the walk's handling of images/scripts is not
    # what this measures.
    mkdir -p "$WORK/$c"
    (cd "$TREE" && find . -name '*.html' -type f | sort) >"$WORK/$c.list"
    start=$(date +%s.%N)
    (cd "$TREE" && xargs -a "$WORK/$c.list" -d '\n' "$RAGD" ingest --data "$WORK/$c/data" \
        --collection "$c" >"$WORK/$c.log" 2>&1) || true
    end=$(date +%s.%N)
    echo "$c: $(tail -1 "$WORK/$c.log") (wall $(python3 -c "print(round($end-$start,1))") s)"
done

python3 - "$WORK" "$OUT" "${CORPORA[@]}" <<'EOF'
import json, re, sqlite3, sys
work, out, corpora = sys.argv[1], sys.argv[2], sys.argv[3:]
MARKERS = {
    "python": [("copyright", r"© Copyright"), ("found a bug", r"Found a bug\?"),
               ("prev/next topic", r"Previous topic|Next topic"),
               ("this page", r"Report a Bug|Show Source"),
               ("sidebar toc", r"^Table of Contents$"), ("permalink", "¶"),
               ("search/theme", r"Quick search|^Theme$|index modules")],
    "postgres": [("prev/up/next", r"\bPrev\b[\s|]+\bUp\b|\bUp\b[\s|]+\bHome\b|\bHome\b[\s|]+\bNext\b"),
                 ("prev..next line", r"^.*\bPrev\b.*\bNext\b")],
    "sqlite": [("top menu", r"Small\. Fast\. Reliable\.|Choose any three|Search Documentation"),
               ("last modified", r"This page last modified"),
               ("in-page toc", r"Table Of Contents")],
}
EXAMPLE = {"python": "library/os.path.html", "postgres": "functions-string.html",
           "sqlite": "lang_createtable.html"}
report = {}
for c in corpora:
    db = sqlite3.connect(f"{work}/{c}/data/ragd.db")
    rows = db.execute("SELECT d.source, c.text FROM chunks c JOIN documents d "
                      "ON d.id = c.document_id WHERE c.ord >= 0 ORDER BY d.source, c.ord").fetchall()
    ndocs = db.execute("SELECT count(*) FROM documents").fetchone()[0]
    hits, per = 0, {name: 0 for name, _ in MARKERS[c]}
    example = None
    for source, text in rows:
        any_hit = False
        for name, rx in MARKERS[c]:
            if re.search(rx, text, re.M):
                per[name] += 1
                any_hit = True
        hits += any_hit
        if example is None and source and source.endswith(EXAMPLE[c]):
            example = text
    share = 100.0 * hits / len(rows) if rows else 0.0
    report[c] = {"documents": ndocs, "chunks": len(rows), "with_boilerplate": hits,
                 "share_percent": round(share, 2), "by_marker": per, "example_first_chunk": example}
    print(f"{c:9} {ndocs:5} documents {len(rows):6} chunks  boilerplate in {hits:5} "
          f"({share:.2f} %)  " + ", ".join(f"{k}: {v}" for k, v in per.items()))
for c in corpora:
    print(f"\n--- {c}: first chunk of {EXAMPLE[c]} ---\n{(report[c]['example_first_chunk'] or '')[:700]}")
if out:
    json.dump(report, open(out, "w"), indent=1, ensure_ascii=False)
EOF
