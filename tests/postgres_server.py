"""A throwaway PostgreSQL server for the tests, the benchmarks and CI.

``python tests/postgres_server.py start DIR`` creates a cluster in DIR (a new
directory), starts it on 127.0.0.1 on a free port and prints its DSN;
``python tests/postgres_server.py stop DIR`` stops it (then remove DIR).
The tests' ``postgres_dsn`` fixture (tests/conftest.py) does the same when no
``LOOPKIT_TEST_POSTGRES_DSN`` is given. PostgreSQL refuses to run as root: as
root, the cluster belongs to the ``postgres`` user (or ``nobody``).

Nothing here needs loopkit or psycopg: only PostgreSQL's ``initdb`` and
``pg_ctl``, found on the PATH or in ``/usr/lib/postgresql/*/bin`` (Debian).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "loopkit"


def binaries() -> tuple[str, str] | None:
    """``initdb`` and ``pg_ctl``, or ``None`` when PostgreSQL is not installed."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        initdb, pg_ctl = f"{bindir}/initdb", f"{bindir}/pg_ctl"
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return initdb, pg_ctl
    return None


def _owner() -> str | None:
    """The user the server runs as when we are root (it refuses root)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise RuntimeError("running as root, and neither a 'postgres' nor a 'nobody' user exists")


def _run(args: list[str], owner: str | None) -> None:
    command = ["runuser", "-u", owner, "--", *args] if owner else args
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(where: Path) -> str:
    """Create and start a cluster in the new directory ``where``; return its DSN.
    Raises RuntimeError saying why when it cannot."""
    found = binaries()
    if found is None:
        raise RuntimeError("initdb and pg_ctl are not installed (apt-get install postgresql)")
    initdb, pg_ctl = found
    owner = _owner()
    where.mkdir(parents=True, exist_ok=False)
    data, password = where / "data", secrets.token_hex(12)
    (where / "pw").write_text(password + "\n")
    if owner:
        uid, gid = pwd.getpwnam(owner).pw_uid, pwd.getpwnam(owner).pw_gid
        for parent in where.parents:  # the owner must reach the directory
            if not parent.stat().st_mode & 0o001:
                parent.chmod(parent.stat().st_mode | 0o711)
        os.chown(where, uid, gid)
        os.chown(where / "pw", uid, gid)
    port = _free_port()
    try:
        _run(
            [
                initdb,
                "-D",
                str(data),
                "-U",
                USER,
                "--auth=scram-sha-256",
                f"--pwfile={where / 'pw'}",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            owner,
        )
        options = f"-p {port} -h 127.0.0.1 -k {where} -c fsync=off -c max_connections=60"
        _run(
            [pg_ctl, "-D", str(data), "-l", str(where / "log"), "-o", options, "-w", "start"], owner
        )
    except subprocess.CalledProcessError as err:
        log = where / "log"
        tail = log.read_text()[-600:] if log.exists() else ""
        raise RuntimeError(
            f"{next(Path(a).name for a in err.cmd if a in (initdb, pg_ctl))} failed: "
            f"{(err.stderr or '').strip()[-600:]} {tail}".strip()
        ) from None
    (where / "pw").unlink()
    return f"postgresql://{USER}:{password}@127.0.0.1:{port}/postgres"


def stop(where: Path) -> None:
    """Stop the cluster in ``where`` (if it runs)."""
    found = binaries()
    if found is None or not (where / "data" / "postmaster.pid").exists():
        return
    subprocess.run(
        [
            *(["runuser", "-u", _owner() or "", "--"] if _owner() else []),
            found[1],
            "-D",
            str(where / "data"),
            "-m",
            "immediate",
            "-w",
            "stop",
        ],
        capture_output=True,
        timeout=60,
        check=False,
    )


if __name__ == "__main__":
    action, directory = sys.argv[1], Path(sys.argv[2])
    if action == "start":
        print(start(directory))
    else:
        stop(directory)
