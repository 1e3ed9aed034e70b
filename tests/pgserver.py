"""A real PostgreSQL server for the tests: Debian's ``postgresql`` package (``initdb`` + ``pg_ctl``),
in a temporary directory, on a free 127.0.0.1 port, stopped and removed afterwards.

PostgreSQL refuses to run as root: as root (a CI machine), the server runs as the ``postgres``
user that the Debian package creates, through ``runuser``; otherwise as the current user.
``TRANSLATE_PIPE_PG_BIN`` names another directory of server binaries.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from .servers import free_port

USER = "translate_pipe"  # the server's superuser (trust authentication on 127.0.0.1 only)


def server_bin() -> Path | None:
    """The directory holding initdb and pg_ctl, or None when PostgreSQL is not installed."""
    if os.environ.get("TRANSLATE_PIPE_PG_BIN"):
        return Path(os.environ["TRANSLATE_PIPE_PG_BIN"])
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def server_version(bindir: Path) -> str:
    return subprocess.run([str(bindir / "postgres"), "--version"], capture_output=True, text=True, check=True).stdout.strip()


@contextlib.contextmanager
def running_postgres() -> Iterator[str]:
    """A fresh server; yields the URL of its ``postgres`` database."""
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed (Debian: apt-get install postgresql; .ci/run does it)")
    root = Path(tempfile.mkdtemp(prefix="translate-pipe-pg-"))  # under /tmp: reachable by the server's user
    prefix: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "server.log", free_port()
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8",
             "--locale=C.UTF-8", "--no-sync"],
            check=True, capture_output=True, cwd=root,  # a working directory the server's user can enter
        )
        options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off " \
                  "-c synchronous_commit=off -c full_page_writes=off"
        started = subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start"],
            capture_output=True, text=True, cwd=root,
        )
        if started.returncode != 0:
            raise RuntimeError(f"PostgreSQL did not start: {started.stderr}{log.read_text(errors='replace') if log.exists() else ''}")
        try:
            yield f"postgresql://{USER}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                capture_output=True, cwd=root,
            )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A new empty database on the server; returns its URL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return server_url.rsplit("/", 1)[0] + "/" + name
