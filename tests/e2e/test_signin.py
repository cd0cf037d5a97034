"""Sign-in in real Chromium against a real OpenID Connect provider on localhost.

The provider is ``oidc-provider-mock`` (a Flask/authlib OIDC server) run on a free port in this
process; the app runs with ``[auth]`` pointing at it and a store holding the roles table and the
audit trail. Each test signs in through the provider's authorisation page, as a real user would.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.e2e
TIMEOUT = 60_000
DOMAIN = "district.example.org"
#: e-mail -> (role, districts) granted in the store before the app starts.
GRANTS = {
    f"pat@{DOMAIN}": ("facilities", ("*",)),
    f"lee@{DOMAIN}": ("finance", ("*",)),
    f"ada@{DOMAIN}": ("admin", ("*",)),
    f"sam@{DOMAIN}": ("planner", ("*",)),
    f"otto@{DOMAIN}": ("planner", ("Another CSD",)),
}
GROUP_USER = f"gus@{DOMAIN}"  # no grant: a planner through the "security-planners" group claim
UNKNOWN = f"eve@{DOMAIN}"
NAV = ("Data", "Map", "Scorecards", "Plan", "Export", "History", "Access")
SEES = {
    "planner": {"Data", "Map", "Scorecards", "Plan", "History"},
    "facilities": {"Data", "Map", "Scorecards", "Plan", "History"},
    "finance": {"Data", "Map", "Scorecards", "Plan", "Export", "History"},
    "admin": set(NAV),
}


@dataclass
class Running:
    url: str
    provider: str
    store: Path
    log: Path


def _provider(*, users: list[object]) -> Iterator[str]:
    import oidc_provider_mock
    import werkzeug.serving

    os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # the provider speaks plain http on loopback
    app = oidc_provider_mock.app(user_claims=users)
    server = werkzeug.serving.make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


def _users() -> list[object]:
    from oidc_provider_mock import User

    people = [*GRANTS, GROUP_USER, UNKNOWN]
    return [User(sub=email, claims={"email": email, "email_verified": True, "name": email.split("@")[0].title(),
                                    "groups": ["security-planners"] if email == GROUP_USER else []})
            for email in people]


@contextlib.contextmanager
def _start_app(launch_app, tmp: Path, provider: str, *, session_minutes: float = 480) -> Iterator[Running]:
    """The app with sign-in on against ``provider``, roles granted in a fresh store."""
    from facility_planner.store import open_store

    store = tmp / "store.sqlite"
    trail = open_store(location=str(store))
    for email, (role, districts) in GRANTS.items():
        trail.grant(email, role=role, districts=districts, by="test")
    secrets = tmp / "secrets.toml"
    secrets.write_text(f"""
[auth]
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
cookie_secret = "test-cookie-secret-0123456789abcdef"
client_id = "facility-planner"
client_secret = "test-client-secret"
server_metadata_url = "{provider}/.well-known/openid-configuration"

[access]
session_minutes = {session_minutes}
[access.group_roles]
"security-planners" = {{ role = "planner", districts = ["*"] }}

[store]
location = "{store}"
""")
    log = tmp / "streamlit.log"
    with launch_app(args=["--secrets.files", str(secrets)], log=log,
                    env={"FACILITY_PLANNER_MAP_TILES": "none", "AUTHLIB_INSECURE_TRANSPORT": "1",
                         "FACILITY_PLANNER_ROLE": ""}) as url:
        yield Running(url, provider, store, log)


@pytest.fixture(scope="module")
def provider(launch_app) -> Iterator[str]:
    yield from _provider(users=_users())


@pytest.fixture(scope="module")
def signin_app(launch_app, provider: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with _start_app(launch_app, tmp_path_factory.mktemp("signin"), provider) as app:
        yield app


@pytest.fixture()
def context(browser: object) -> Iterator[object]:
    ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    yield ctx
    ctx.close()


def _wait_idle(page) -> None:
    page.wait_for_selector("[data-testid='stApp']", timeout=TIMEOUT)
    page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')
                                && !document.querySelector('[data-testid="stSkeleton"]')""", timeout=TIMEOUT)


def sign_in(page, app: Running, email: str) -> None:
    """From the app's sign-in page through the provider's authorisation form and back."""
    page.goto(f"{app.url}/")
    page.get_by_role("button", name="Sign in").click(timeout=TIMEOUT)
    page.wait_for_url(f"{app.provider}/oauth2/authorize**", timeout=TIMEOUT)
    page.get_by_role("button", name=email, exact=True).click()
    page.wait_for_url(f"{app.url}/**", timeout=TIMEOUT)
    _wait_idle(page)


def _nav_titles(page, *, expect_pages: bool = False) -> set[str]:
    links = page.locator("[data-testid='stSidebarNav'] a")
    if expect_pages:
        links.first.wait_for(timeout=TIMEOUT)  # under load the navigation is drawn after the identity
    return {t.strip() for t in links.all_inner_texts()}


def _events(app: Running, **filters: str) -> list[object]:
    from facility_planner.store import open_store

    return open_store(location=str(app.store)).audit_events(**filters)


@pytest.mark.parametrize("email", [e for e in GRANTS if e.startswith(("pat", "lee", "ada", "sam"))])
def test_each_role_signs_in_and_sees_only_its_pages(email: str, signin_app: Running, context, artifacts) -> None:
    role = GRANTS[email][0]
    signed_before = len(_events(signin_app, user=email, action="sign_in"))
    page = context.new_page()
    sign_in(page, signin_app, email)
    expect(page.get_by_text(f"Role: {role}")).to_be_visible(timeout=TIMEOUT)
    expect(page.get_by_text(email.split("@")[0].title(), exact=False).first).to_be_visible()
    assert page.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']").filter(
        has_text="Role").count() == 0  # no role picker once sign-in is on
    assert _nav_titles(page, expect_pages=True) == SEES[role]
    page.screenshot(path=str(artifacts / f"signin_{role}.png"), full_page=True)
    # a page the role may not open, asked for by its URL, shows no content of it
    if role != "admin":
        page.goto(f"{signin_app.url}/access")
        _wait_idle(page)
        expect(page.get_by_role("heading", name="Access")).to_have_count(0)
        assert page.get_by_text("Roles").count() == 0
    if role not in ("finance", "admin"):
        page.goto(f"{signin_app.url}/export")
        _wait_idle(page)
        assert page.get_by_role("button", name="map.html", exact=True).count() == 0
    # the Data page offers uploads only to facilities and admin
    page.goto(f"{signin_app.url}/data")
    _wait_idle(page)
    expect(page.get_by_role("heading", name="Validation report")).to_be_visible(timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / f"signin_{role}_data.png"), full_page=True)
    if role in ("facilities", "admin"):
        page.locator("[data-testid='stFileUploader']").first.wait_for(timeout=TIMEOUT)
    uploads = page.locator("[data-testid='stFileUploader']").count()
    assert (uploads > 0) == (role in ("facilities", "admin"))
    signs = _events(signin_app, user=email, action="sign_in")
    assert len(signs) == signed_before + 1, signs  # one sign-in, however many pages it opened


#: The pages by their own addresses, as the navigation names them.
PAGE_PATHS = {"Data": "/data", "Map": "/map", "Scorecards": "/scorecards", "Plan": "/plan", "Export": "/export",
              "History": "/history", "Access": "/access"}


def test_direct_links_open_their_page_when_signed_in(signin_app: Running, context, artifacts) -> None:
    page = context.new_page()
    sign_in(page, signin_app, f"lee@{DOMAIN}")
    page.get_by_role("heading", name="Map", exact=True).wait_for(timeout=TIMEOUT)
    assert urlparse(page.url).path == "/map"  # signed in, the app opens on the Map at its own address
    for title in sorted(SEES["finance"]):
        page.goto(f"{signin_app.url}{PAGE_PATHS[title]}")
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=TIMEOUT)
        _wait_idle(page)
        assert page.get_by_text("Page not found").count() == 0
        assert urlparse(page.url).path == PAGE_PATHS[title]
    page.goto(f"{signin_app.url}/access")  # not finance's: no content of it, whatever the address
    _wait_idle(page)
    expect(page.get_by_role("heading", name="Access")).to_have_count(0)


def test_finance_exports_and_the_download_is_audited(signin_app: Running, context, artifacts) -> None:
    email = f"lee@{DOMAIN}"
    page = context.new_page()
    sign_in(page, signin_app, email)
    page.goto(f"{signin_app.url}/export")
    _wait_idle(page)
    prepare = page.get_by_role("button", name="Prepare the workbook", exact=False)
    prepare.wait_for(timeout=TIMEOUT)
    prepare.click()
    button = page.get_by_role("button", name="map.html", exact=True)
    button.wait_for(timeout=TIMEOUT)
    with page.expect_download(timeout=TIMEOUT) as download:
        button.click()
    assert download.value.suggested_filename == "map.html"
    _wait_idle(page)
    page.screenshot(path=str(artifacts / "signin_finance_export.png"), full_page=True)
    deadline = time.monotonic() + 10
    while not _events(signin_app, user=email, action="export") and time.monotonic() < deadline:
        time.sleep(0.3)
    exports = _events(signin_app, user=email, action="export")
    assert [e.target for e in exports] == ["map.html"]


def test_admin_sees_the_audit_trail_and_grants_a_role(signin_app: Running, context, artifacts) -> None:
    page = context.new_page()
    sign_in(page, signin_app, f"ada@{DOMAIN}")
    page.goto(f"{signin_app.url}/access")
    _wait_idle(page)
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible(timeout=TIMEOUT)
    page.get_by_label("E-mail").fill(UNKNOWN)
    page.get_by_label("Districts (comma-separated; * for every district)").fill("*")
    page.get_by_role("button", name="Grant").click()
    _wait_idle(page)
    expect(page.get_by_text(f"{UNKNOWN} is now planner")).to_be_visible(timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "signin_admin_access.png"), full_page=True)
    changes = _events(signin_app, action="grant", user=f"ada@{DOMAIN}")
    assert [(e.target, e.before, e.after) for e in changes] == [
        (UNKNOWN, None, {"role": "planner", "districts": ["*"]})]
    from facility_planner.store import open_store

    open_store(location=str(signin_app.store)).revoke(UNKNOWN, by="test")  # leave eve unknown


def test_unknown_user_is_told_to_ask_an_administrator(signin_app: Running, context, artifacts) -> None:
    page = context.new_page()
    sign_in(page, signin_app, UNKNOWN)
    expect(page.get_by_role("heading", name="Ask your administrator for access")).to_be_visible(timeout=TIMEOUT)
    assert _nav_titles(page) == set()
    assert page.locator("iframe[title*='st_folium']").count() == 0
    assert page.get_by_text("Scorecards").count() == 0
    page.screenshot(path=str(artifacts / "signin_unknown.png"), full_page=True)
    page.goto(f"{signin_app.url}/data")
    _wait_idle(page)
    expect(page.get_by_role("heading", name="Ask your administrator for access")).to_be_visible(timeout=TIMEOUT)
    assert page.locator("[data-testid='stFileUploader']").count() == 0


def test_group_claim_and_district_scoping(signin_app: Running, context, artifacts) -> None:
    page = context.new_page()
    sign_in(page, signin_app, GROUP_USER)
    expect(page.get_by_text("Role: planner")).to_be_visible(timeout=TIMEOUT)
    page.goto(f"{signin_app.url}/data")
    _wait_idle(page)
    expect(page.get_by_text("4 sites, 12 buildings", exact=False)).to_be_visible(timeout=TIMEOUT)
    other = context.browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        page2 = other.new_page()
        sign_in(page2, signin_app, f"otto@{DOMAIN}")  # a planner of another district
        page2.goto(f"{signin_app.url}/data")
        _wait_idle(page2)
        expect(page2.get_by_text("UTC: no rows", exact=False)).to_be_visible(timeout=TIMEOUT)
        page2.screenshot(path=str(artifacts / "signin_other_district.png"), full_page=True)
    finally:
        other.close()


def test_sign_out_returns_to_the_sign_in_page(signin_app: Running, context, artifacts) -> None:
    email = f"sam@{DOMAIN}"
    signed_out_before = len(_events(signin_app, user=email, action="sign_out"))
    page = context.new_page()
    sign_in(page, signin_app, email)
    page.get_by_role("button", name="Sign out").click()
    # the provider confirms the end of the session, then sends the browser back
    page.wait_for_url(f"{signin_app.provider}/oauth2/end_session**", timeout=TIMEOUT)
    page.locator("button[type=submit]").first.click()
    page.wait_for_url(f"{signin_app.url}/**", timeout=TIMEOUT)
    page.goto(f"{signin_app.url}/")
    _wait_idle(page)
    expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=TIMEOUT)
    assert _nav_titles(page) == set()
    page.screenshot(path=str(artifacts / "signin_signed_out.png"), full_page=True)
    assert len(_events(signin_app, user=email, action="sign_out")) == signed_out_before + 1


def test_expired_session_asks_to_sign_in_again(launch_app, provider: str, context, artifacts,
                                               tmp_path: Path) -> None:
    with _start_app(launch_app, tmp_path, provider, session_minutes=0.1) as app:  # 6-second sign-ins
        page = context.new_page()
        sign_in(page, app, f"sam@{DOMAIN}")
        expect(page.get_by_text("Role: planner")).to_be_visible(timeout=TIMEOUT)
        time.sleep(7)
        page.goto(f"{app.url}/data")
        _wait_idle(page)
        expect(page.get_by_role("heading", name="Your sign-in has expired")).to_be_visible(timeout=TIMEOUT)
        assert page.locator("[data-testid='stFileUploader']").count() == 0
        assert _nav_titles(page) == set()
        page.screenshot(path=str(artifacts / "signin_expired.png"), full_page=True)
        page.get_by_role("button", name="Sign in again").click()
        page.wait_for_url(f"{provider}/oauth2/authorize**", timeout=TIMEOUT)
