"""A throwaway PostgreSQL cluster for the test suite.

Uses ``ZHUIZONG_TEST_PG_URL`` when set (an existing server where the URL's user may create
databases). Otherwise starts the local server binaries (``initdb``/``pg_ctl``) in a temporary
directory on a free loopback port; PostgreSQL refuses to run as root, so as root the cluster is
run by the ``postgres`` user (created by Debian's package) or ``nobody``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass
class PgServer:
    admin_url: str  # URL of the maintenance database, for CREATE/DROP DATABASE
    datadir: Path | None = None
    pg_ctl: str | None = None
    run_as: str | None = None

    def url_for(self, dbname: str) -> str:
        base = self.admin_url.rsplit("/", 1)[0]
        return f"{base}/{dbname}"

    def stop(self) -> None:
        if self.datadir and self.pg_ctl:
            _run([self.pg_ctl, "-D", str(self.datadir), "-m", "immediate", "stop"], self.run_as)
            shutil.rmtree(self.datadir.parent, ignore_errors=True)


def find_bin(name: str) -> str | None:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    return shutil.which(name)


def _runuser() -> str:
    """runuser lives in /usr/sbin, which a root shell's PATH may lack."""
    found = shutil.which("runuser", path=os.pathsep.join(
        [os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"]))
    if not found:
        raise RuntimeError("runuser not found: needed to run PostgreSQL as a non-root user")
    return found


def _run(cmd: list[str], user: str | None) -> subprocess.CompletedProcess[str]:
    if user:
        cmd = [_runuser(), "-u", user, "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start() -> PgServer | None:
    """Start (or connect to) a server; None when no server can be had."""
    url = os.environ.get("ZHUIZONG_TEST_PG_URL")
    if url:
        return PgServer(admin_url=url)
    initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
    if not (initdb and pg_ctl):
        return None
    run_as = None
    if os.geteuid() == 0:
        for candidate in ("postgres", "nobody"):
            try:
                pwd.getpwnam(candidate)
            except KeyError:
                continue
            run_as = candidate
            break
    root = Path(tempfile.mkdtemp(prefix="zz-pg-"))
    datadir = root / "data"
    if run_as:
        os.chmod(root, 0o755)
        shutil.chown(root, user=run_as)
    res = _run([initdb, "-D", str(datadir), "-U", "zz", "--auth=trust", "-E", "UTF8",
                "--locale=C.UTF-8"], run_as)
    if res.returncode != 0:
        raise RuntimeError(f"initdb failed: {res.stderr}")
    port = _free_port()
    opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    res = _run([pg_ctl, "-D", str(datadir), "-o", opts, "-l", str(root / "log"), "-w", "start"],
               run_as)
    if res.returncode != 0:
        log = (root / "log").read_text() if (root / "log").exists() else ""
        raise RuntimeError(f"pg_ctl start failed: {res.stderr}\n{log}")
    return PgServer(
        admin_url=f"postgresql+psycopg://zz@127.0.0.1:{port}/postgres",
        datadir=datadir,
        pg_ctl=pg_ctl,
        run_as=run_as,
    )
