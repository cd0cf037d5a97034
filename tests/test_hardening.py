"""Streamlit hardening kept and tested: XSRF on, error details off, no usage statistics, and no
outbound connection when the server starts (the address look-ups are stopped by config)."""

from __future__ import annotations

import os
import textwrap
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from facility_planner import settings

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / ".streamlit" / "config.toml"

#: Installed as ``sitecustomize`` in the server's process: every socket connection or name look-up
#: that is not loopback is written to $FP_NET_LOG and refused, so nothing leaves the machine.
NET_GUARD = textwrap.dedent('''
    import ipaddress, os, sys

    _LOG = os.environ["FP_NET_LOG"]
    _LOCAL = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "::", "", None}

    def _local(host):
        if host in _LOCAL or (isinstance(host, str) and host.startswith("/")):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False

    def _hook(event, args):
        host = None
        if event == "socket.getaddrinfo":
            host = args[0]
        elif event in ("socket.connect", "socket.sendto") and isinstance(args[1], tuple):
            host = args[1][0]
        else:
            return
        if isinstance(host, bytes):
            host = host.decode()
        if not _local(host):
            with open(_LOG, "a") as out:
                out.write(f"{event} {host}\\n")
            raise OSError(f"outbound connection to {host} refused by the test")

    sys.addaudithook(_hook)
''')


def _start_and_stop(run_app, app: Path, tmp: Path, *, probe: Callable[[str], None] | None = None) -> list[str]:
    """Start ``streamlit run app`` exactly as `make run` does (no address or browser flags; the
    .streamlit/config.toml beside it applies), load the page, stop it; the outbound attempts made."""
    guard = tmp / "guard"
    guard.mkdir(exist_ok=True)
    (guard / "sitecustomize.py").write_text(NET_GUARD)
    log = tmp / "net.log"
    log.write_text("")
    env = {"PYTHONPATH": os.pathsep.join([str(guard), os.environ.get("PYTHONPATH", "")]),
           "FP_NET_LOG": str(log), "FACILITY_PLANNER_MAP_TILES": "none"}
    with run_app(app=app, args=[], env=env, log=tmp / "streamlit.log") as url:
        with urllib.request.urlopen(f"{url}/", timeout=10) as r:
            assert r.status == 200
        if probe is not None:
            probe(url)
        time.sleep(2.0)  # the start-up banner (and any address look-up) comes after the port opens
    return [line for line in log.read_text().splitlines() if line]


def test_config_keeps_the_hardening() -> None:
    config = tomllib.loads(CONFIG.read_text())
    assert config["server"]["enableXsrfProtection"] is True
    assert config["server"]["enableCORS"] is True
    assert config["client"]["showErrorDetails"] == "none"
    assert config["browser"]["gatherUsageStats"] is False
    assert config["browser"]["serverAddress"]  # set: no address look-up on start
    assert config["server"]["maxUploadSize"] * 2**20 == settings.max_upload_bytes


def _upload_without_xsrf_token_is_refused(url: str) -> None:
    request = urllib.request.Request(f"{url}/_stcore/upload_file/some-session/some-file", data=b"x",
                                     method="PUT")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 403


def test_server_start_makes_no_outbound_connection(run_app, tmp_path: Path) -> None:
    """Started as `make run` starts it, with every non-loopback connection refused and recorded;
    while it runs, an upload without the XSRF token is refused (403)."""
    attempts = _start_and_stop(run_app, ROOT / "app.py", tmp_path, probe=_upload_without_xsrf_token_is_refused)
    assert attempts == []


def test_the_guard_sees_streamlits_lookups_without_the_config(run_app, tmp_path: Path) -> None:
    """The same start without the project's config.toml: Streamlit looks up its addresses (and
    the guard refuses them), so the test above would catch a config that lost the setting."""
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "app.py").write_text((ROOT / "app.py").read_text())
    attempts = _start_and_stop(run_app, bare / "app.py", tmp_path)
    hosts = {line.split()[1] for line in attempts}
    assert hosts & {"8.8.8.8", "checkip.amazonaws.com"}, attempts
