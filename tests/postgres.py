"""A real PostgreSQL server for tests: initdb in a temporary folder, a free loopback port.

The server binaries come from Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``);
``.ci/run`` installs it when missing. As root, the server runs as the ``postgres`` user.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

USER = "limitlab"
DATABASE = "optuna"


def server_bin() -> Path | None:
    """The newest installed PostgreSQL server's bin folder, or None."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: p.parts[-3])
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _runuser() -> str:
    """``runuser`` (util-linux), which lives in sbin, often missing from a CI PATH."""
    found = shutil.which("runuser", path=f"{os.environ.get('PATH', '')}:/usr/sbin:/sbin")
    if not found:
        raise RuntimeError("running as root but `runuser` was not found to start PostgreSQL")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a throw-away server; yield a SQLAlchemy URL of an empty database; stop and delete."""
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH); "
            "install Debian's postgresql package (.ci/run does)"
        )
    folder = Path(tempfile.mkdtemp(prefix="limitlab-pg-"))
    as_root = os.geteuid() == 0
    prefix = [_runuser(), "-u", "postgres", "--"] if as_root else []
    if as_root:
        shutil.chown(folder, "postgres", "postgres")
    data, log, port = folder / "data", folder / "server.log", free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*prefix, *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed: {done.stdout}{done.stderr}{server_log}")

    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust", "--no-sync")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", USER, DATABASE)
        yield f"postgresql://{USER}@127.0.0.1:{port}/{DATABASE}"
    finally:
        if (data / "postmaster.pid").exists():
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(folder, ignore_errors=True)
