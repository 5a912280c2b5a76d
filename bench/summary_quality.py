#!/usr/bin/env python3
"""bench/summary_quality.py — titles and summaries of real documents, five of
each kind (HTML, PDF, Markdown/text README, man page), for reading by eye.

Sources are Debian's own documentation on this machine: the HTML trees that
bench/boilerplate.sh unpacks into ~/.cache/ragd/debdocs (python3.11-doc,
postgresql-doc-15), PDFs under /usr/share/doc, README files under
/usr/share/doc, and man pages rendered with `man | col -b`. Nothing is copied
into the repository. Prints, per document: title, the top keywords and the
first three summary sentences.

    python3 bench/summary_quality.py [--ragd build/ragd]
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import tempfile

DEB = os.path.expanduser("~/.cache/ragd/debdocs/root/usr/share/doc")
HTML = [f"{DEB}/python3.11/html/library/{n}.html" for n in ("json", "csv", "os.path")] + \
       [f"{DEB}/postgresql-doc-15/html/{n}.html" for n in ("wal", "sql-createindex")]
README = ["/usr/share/doc/python3-httplib2/README.md", "/usr/share/doc/python3-yaml/README.md",
          "/usr/share/doc/libmpfr6/README", "/usr/share/doc/base-passwd/README",
          "/usr/share/doc/libnettle8/README"]
MAN = ["tar", "gzip", "curl", "make", "git"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ragd", default="build/ragd")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="ragd-sq-")
    try:
        for kind in ("html", "pdf", "md", "man"):
            os.makedirs(os.path.join(tmp, kind))
        for f in HTML:
            if os.path.exists(f):
                shutil.copy(f, os.path.join(tmp, "html"))
        for f in sorted(glob.glob("/usr/share/doc/*/*.pdf"))[:5]:
            shutil.copy(f, os.path.join(tmp, "pdf"))
        for f in README:
            if os.path.exists(f):
                name = f.split("/")[-2] + (".md" if f.endswith(".md") else ".txt")
                shutil.copy(f, os.path.join(tmp, "md", name))
        for m in MAN:
            out = subprocess.run(f"MANWIDTH=80 man {m} 2>/dev/null | col -b", shell=True,
                                 capture_output=True, text=True).stdout
            if out.strip():
                open(os.path.join(tmp, "man", m + ".txt"), "w").write(out)
        data = os.path.join(tmp, "data")
        kinds = [os.path.join(tmp, k) for k in ("html", "pdf", "md", "man")]
        subprocess.run([a.ragd, "ingest", "--no-progress", "--data", data] + kinds, check=False)
        docs = json.loads(subprocess.run([a.ragd, "docs", "--json", "--data", data],
                                         capture_output=True, text=True).stdout)["documents"]
        for d in docs:
            s = json.loads(subprocess.run([a.ragd, "show", "--json", "--data", data, d["id"]],
                                          capture_output=True, text=True).stdout)
            sm = s.get("summary") or {}
            kw = ", ".join(k["term"] for k in (sm.get("keywords") or [])[:6])
            print(f"== {d['id']}\n   title: {s.get('title')}\n   keywords: {kw}")
            for x in (sm.get("extractive") or sm.get("summary") or [])[:3]:
                t = x if isinstance(x, str) else x.get("text", "")
                print("   - " + " ".join(t.split())[:160])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
