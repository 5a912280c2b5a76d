"""Run a C test program against a throwaway PostgreSQL cluster (CTest
unit_store_pg: tests/pg_store_suite.c, the store test suite on the
PostgreSQL backend).

    python3 tests/pg_unit.py PROGRAM [ARGS...]

Starts the cluster (tests/pgcluster.py), runs PROGRAM with RAGD_TEST_PG_URL
set to its `postgres` database, stops the cluster and exits with PROGRAM's
status. When PostgreSQL cannot start here it says why and exits 77 (CTest
SKIP_RETURN_CODE: skipped, never counted as passed)."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from pgcluster import SKIP, start_or_skip  # noqa: E402


def main():
    if len(sys.argv) < 2:
        print("usage: pg_unit.py PROGRAM [ARGS...]", file=sys.stderr)
        return 2
    name = os.path.basename(sys.argv[1])
    pg = start_or_skip(name)
    if not pg:
        return SKIP
    try:
        env = dict(os.environ, RAGD_TEST_PG_URL=pg.url)
        return subprocess.run(sys.argv[1:], env=env, timeout=600).returncode
    finally:
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
