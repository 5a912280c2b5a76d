"""The official `openai` npm client (tests/js, pinned; installed by
scripts/install-deps with `npm ci`) against the real `ragd serve` with an
API key: runs tests/js/openai.test.mjs with Node (>= 18) and checks every
step reported ok. See it_openai.py for the HTTP-level edge cases."""
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from it_serve import Server  # noqa: E402
from ragdtest import TempDir, ragd, run_tests  # noqa: E402

JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")
STEPS = ["vectorStores.create", "files.create", "vectorStores.files.createAndPoll",
         "vectorStores.search with filters", "models.list", "chat.completions.create",
         "chat.completions.create stream", "errors", "delete"]


def test_openai_sdk():
    node = shutil.which("node")
    assert node, "node is missing: run scripts/install-deps"
    assert os.path.isdir(os.path.join(JS, "node_modules", "openai")), \
        "tests/js/node_modules/openai is missing: run scripts/install-deps (npm ci in tests/js)"
    with TempDir() as tmp:
        light = os.path.join(tmp, "greyhollow-log.md")
        with open(light, "w") as f:
            f.write("# Greyhollow keeper's log\n\nThe Greyhollow light was first exhibited in 1871 by "
                    "keeper Ada Wren. Its lamp burned colza oil until 1902.\n")
        ferry = os.path.join(tmp, "ferry.md")
        with open(ferry, "w") as f:
            f.write("# Night ferry timetable\n\nThe night ferry to Saltmere leaves at 23:40 and the "
                    "crossing takes ninety minutes.\n")
        data = os.path.join(tmp, "d")
        ragd("ingest", ferry, "--no-progress", data=data, check=0)
        key = ragd("keys", "create", "--json", "--scope", "admin", data=data, check=0).json()["key"]
        with Server(data) as s:
            env = dict(os.environ, RAGD_BASE_URL=f"http://127.0.0.1:{s.port}/v1", RAGD_KEY=key,
                       RAGD_DOC_LIGHT=light, RAGD_DOC_FERRY=ferry)
            p = subprocess.run([node, os.path.join(JS, "openai.test.mjs")], cwd=JS, env=env,
                               capture_output=True, text=True, timeout=120)
            out = p.stdout + p.stderr
            assert p.returncode == 0, f"openai.test.mjs exit {p.returncode}:\n{out}"
            done = [line[3:] for line in p.stdout.splitlines() if line.startswith("ok ")]
            assert done == STEPS, out


if __name__ == "__main__":
    run_tests([test_openai_sdk])
