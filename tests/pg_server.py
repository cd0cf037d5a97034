"""A throwaway PostgreSQL + PostGIS cluster for the store tests (and `.ci/run`).

``start()`` initialises a cluster in a temporary folder (as the ``postgres`` user when run as
root: initdb refuses root), starts it on a free localhost port with password authentication,
creates the database ``facility_planner`` with the PostGIS extension and returns its URL.
Run as a script: ``python tests/pg_server.py start`` prints ``URL`` and ``DATA_DIR`` lines;
``python tests/pg_server.py stop DATA_DIR`` stops it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

DATABASE = "facility_planner"


def bin_dir() -> Path | None:
    """The newest PostgreSQL server binaries (Debian layout), or the ones on PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(args: list[str], *, as_user: str | None) -> None:
    command = ["runuser", "-u", as_user, "--", *args] if as_user else args
    subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)


def start() -> tuple[str, Path]:
    """Start a cluster; return (URL of the PostGIS database, data folder)."""
    bindir = bin_dir()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql postgis)")
    base = Path(tempfile.mkdtemp(prefix="fp-pg-"))
    user = "postgres" if os.geteuid() == 0 else None
    password = secrets.token_hex(12)
    (base / "pw").write_text(password)
    if user:
        info = pwd.getpwnam(user)
        os.chown(base, info.pw_uid, info.pw_gid)
        os.chown(base / "pw", info.pw_uid, info.pw_gid)
    data, port = base / "data", _free_port()
    _run([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust",
          "--auth-host=scram-sha-256", f"--pwfile={base / 'pw'}", "-E", "UTF8"], as_user=user)
    _run([str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
          f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"], as_user=user)
    url = f"postgresql://postgres:{password}@127.0.0.1:{port}"
    import psycopg

    with psycopg.connect(f"{url}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {DATABASE}")
    with psycopg.connect(f"{url}/{DATABASE}", autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return f"{url}/{DATABASE}", data


def stop(data: Path) -> None:
    """Stop the cluster in ``data`` (fast) and remove its folder."""
    bindir = bin_dir()
    user = "postgres" if os.geteuid() == 0 else None
    if bindir is not None and data.exists():
        with contextlib.suppress(subprocess.CalledProcessError):
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"], as_user=user)
    shutil.rmtree(data.parent, ignore_errors=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["start"]:
        found_url, found_data = start()
        print(f"URL={found_url}")
        print(f"DATA_DIR={found_data}")
    elif sys.argv[1:2] == ["stop"] and len(sys.argv) == 3:
        stop(Path(sys.argv[2]))
    else:
        sys.exit("usage: pg_server.py start | stop DATA_DIR")
