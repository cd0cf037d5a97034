"""Browser fixtures: Debian's Chromium through Playwright, and the app running on a free port.

Under CI (``CI=true``) a missing Chromium fails the run; elsewhere the browser tests skip with the
reason. Every request the page makes to anything but the app's own host is blocked and recorded,
so a test can assert that nothing goes to a CDN or any third party.
"""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = os.environ.get("CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-dev-shm-usage"]
LOCAL_HOSTS = {"127.0.0.1", "localhost", ""}


def _need_chromium() -> None:
    if Path(CHROMIUM).is_file():
        return
    pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install chromium; .ci/run does it)")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _need_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Offline:
    """A browser context that blocks and records every non-local request."""

    def __init__(self, browser: object) -> None:
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
        self.context.route("**/*", self._route)

    def _route(self, route: object) -> None:
        url = route.request.url
        parsed = urlparse(url)
        if parsed.scheme in ("data", "blob", "about") or (parsed.hostname or "") in LOCAL_HOSTS:
            route.continue_()
        else:
            self.external.append(url)
            route.abort()


@pytest.fixture()
def offline(browser: object) -> Iterator[Offline]:
    ctx = Offline(browser)
    yield ctx
    ctx.context.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def launch_app(run_app) -> object:
    """``launch_app(args=[...], env={...}, log=path)``: a context manager running the app on
    127.0.0.1 ("{port}" in an argument is replaced by the port it gets) and giving its URL."""
    _need_chromium()

    def launch(*, args: list[str], env: dict[str, str], log: Path) -> object:
        return run_app(app=ROOT / "app.py", log=log, env=env,
                       args=["--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false", *args])

    return launch


@pytest.fixture(scope="session")
def app_url(launch_app, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Streamlit app started on a free port (session-wide), its URL once healthy."""
    folder = tmp_path_factory.mktemp("app")
    env = {"FACILITY_PLANNER_ROLE": "admin", "FACILITY_PLANNER_MAP_TILES": "none",
           "FACILITY_PLANNER_STORE": str(folder / "store.sqlite")}  # History and Access: never the user's own
    with launch_app(args=[], env=env, log=folder / "streamlit.log") as url:
        yield url
