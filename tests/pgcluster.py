"""A throwaway PostgreSQL cluster for the tests (it_pg.py, pg_unit.py).

initdb + pg_ctl in a temporary directory, Unix socket only (no TCP), fsync
off; as root the server runs as `nobody` (PostgreSQL refuses root). Debian's
binaries under /usr/lib/postgresql/*/bin. Cluster().start() raises
RuntimeError when the server cannot be started here; callers then exit SKIP
(77, CTest SKIP_RETURN_CODE: reported as skipped, never as passed).

Cluster.start_standby() adds a streaming replica (hot standby) of the
started cluster: pg_basebackup -R from the primary's socket into a second
directory, started on its own socket and port, as the same user; .standby_url
then names it. It raises RuntimeError like start()."""
import glob
import os
import time
import shutil
import subprocess
import tempfile

SKIP = 77


class Cluster:
    """A PostgreSQL cluster in a temporary directory; .url for libpq."""

    def __init__(self):
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not bins:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin "
                               "(scripts/install-deps installs them)")
        self.bin = os.path.dirname(bins[-1])
        self.top = tempfile.mkdtemp(prefix="ragd-pg-")
        self.dir = os.path.join(self.top, "db")
        os.mkdir(self.dir)
        self.as_user = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                raise RuntimeError("running as root and runuser is missing: cannot run "
                                   "PostgreSQL as a non-root user")
            os.chmod(self.top, 0o755)
            shutil.chown(self.dir, "nobody")
            self.as_user = ["runuser", "-u", "nobody", "--"]
        self.port = 5400 + os.getpid() % 500
        self.url = f"postgresql://ragd@/postgres?host={self.dir}&port={self.port}"
        self.sdir = None
        self.standby_url = None

    def run(self, *cmd):
        return subprocess.run(self.as_user + [os.path.join(self.bin, cmd[0])] + list(cmd[1:]),
                              capture_output=True, timeout=60)

    def start(self):
        r = self.run("initdb", "-D", self.dir, "-A", "trust", "-U", "ragd", "-E", "UTF8",
                     "--no-sync")
        if r.returncode:
            raise RuntimeError("initdb failed: " + r.stderr.decode(errors="replace")[-400:])
        r = self.run("pg_ctl", "-D", self.dir, "-l", os.path.join(self.dir, "log"), "-w", "-t",
                     "30", "-o", f"-k {self.dir} -c listen_addresses= -p {self.port} "
                     "-c fsync=off -c synchronous_commit=off", "start")
        if r.returncode:
            log = open(os.path.join(self.dir, "log"), errors="replace").read()[-400:]
            raise RuntimeError("pg_ctl start failed: " + r.stderr.decode(errors="replace")[-300:] + log)

    def start_standby(self):
        """A hot standby streaming from this cluster (initdb's pg_hba trusts
        local replication connections)."""
        self.sdir = os.path.join(self.top, "standby")
        os.mkdir(self.sdir, 0o700)
        if self.as_user:
            shutil.chown(self.sdir, "nobody")
        r = self.run("pg_basebackup", "-D", self.sdir, "-R", "-X", "stream", "-h", self.dir,
                     "-p", str(self.port), "-U", "ragd", "--no-sync")
        if r.returncode:
            raise RuntimeError("pg_basebackup failed: " + r.stderr.decode(errors="replace")[-400:])
        sport = self.port + 500
        r = self.run("pg_ctl", "-D", self.sdir, "-l", os.path.join(self.sdir, "log"), "-w", "-t",
                     "30", "-o", f"-k {self.sdir} -c listen_addresses= -p {sport} "
                     "-c fsync=off -c hot_standby=on", "start")
        if r.returncode:
            log = open(os.path.join(self.sdir, "log"), errors="replace").read()[-400:]
            raise RuntimeError("standby start failed: " + r.stderr.decode(errors="replace")[-300:]
                               + log)
        self.standby_url = f"postgresql://ragd@/postgres?host={self.sdir}&port={sport}"

    def psql(self, url_dir, port, sql):
        """Run sql through psql on the server whose socket is in url_dir."""
        r = self.run("psql", "-h", url_dir, "-p", str(port), "-U", "ragd", "-d", "postgres",
                     "-Atc", sql)
        if r.returncode:
            raise RuntimeError("psql failed: " + r.stderr.decode(errors="replace")[-300:])
        return r.stdout.decode().strip()

    def standby_sql(self, sql):
        return self.psql(self.sdir, self.port + 500, sql)

    def stop(self):
        if self.sdir:
            self.run("pg_ctl", "-D", self.sdir, "-m", "immediate", "-w", "stop")
        self.run("pg_ctl", "-D", self.dir, "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.top, ignore_errors=True)


def start_or_skip(name):
    """A started Cluster, or None after printing why it cannot start."""
    pg = None
    try:
        pg = Cluster()
        pg.start()
        return pg
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        print(f"{name}: SKIPPED: cannot start PostgreSQL: {e}")
        if pg:
            shutil.rmtree(pg.top, ignore_errors=True)
        return None


def wait_for(what, fn, timeout=20):
    """fn()'s first true value, polled every 0.1 s; fails after timeout s."""
    t0 = time.time()
    while True:
        v = fn()
        if v:
            return v
        if time.time() - t0 > timeout:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(0.1)


def search_ids(srv, coll, query, k=10):
    """The doc ids a node's POST /v1/search returns ([] for an unknown collection)."""
    st, body, _ = srv.request("POST", "/v1/search", {"collection": coll, "query": query, "k": k})
    if st == 404:
        return []
    assert st == 200, (st, body)
    return [r["doc_id"] for r in body["results"]]
