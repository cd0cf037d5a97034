"""The app and map.html in Debian's Chromium with every non-local request blocked and recorded."""

from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from facility_planner import mapping

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "sample_sites" / "inventory.xlsx"
HOSTILE_TEXT = "<script>alert('x')</script> `tick` ${window.pwned=1}"
TIMEOUT = 60_000


def _sample_workbook() -> bytes:
    if SAMPLE.is_file():
        return SAMPLE.read_bytes()
    from facility_planner.io.template import write_template

    buffer = io.BytesIO()
    write_template(buffer)
    return buffer.getvalue()


#: The page is drawn: no run in progress, no stale element, no placeholder left.
DRAWN = """() => !document.querySelector('[data-testid="stStatusWidget"]')
             && !document.querySelector('[data-stale="true"]')
             && !document.querySelector('[data-testid="stSkeleton"]')"""


def _map_frame(page):
    """The st_folium component's frame once Leaflet has drawn the footprints."""
    page.wait_for_selector("iframe[title*='st_folium']", timeout=TIMEOUT)
    frame = page.frame_locator("iframe[title*='st_folium']")
    frame.locator(".leaflet-container").wait_for(timeout=TIMEOUT)
    frame.locator(f".leaflet-{mapping.BUILDING_PANE}-pane path.leaflet-interactive").first.wait_for(timeout=TIMEOUT)
    return frame


def _wait_idle(page) -> None:
    """Wait on the page's own state: its run finished (server time shown), nothing running, and
    every element drawn (Streamlit draws a placeholder, ``stSkeleton``, while an element's code loads)."""
    page.get_by_text("Server time for this page").last.wait_for(timeout=TIMEOUT * 2)
    page.wait_for_function(DRAWN, timeout=TIMEOUT * 2)


def test_map_html_hostile_names_inert_offline(hostile_district, offline, artifacts, tmp_path) -> None:
    path = tmp_path / "map.html"
    path.write_text(mapping.map_html(mapping.build_map(hostile_district)), encoding="utf-8")
    page = offline.context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.goto(path.as_uri())
    page.wait_for_selector("path.leaflet-interactive", timeout=TIMEOUT)
    assert page.locator(".fp-icon").count() >= 3  # door, camera, AED markers drawn
    footprint = page.locator(f"path.leaflet-interactive[fill='{mapping.STATUS_COLOURS['unknown']}']")
    assert footprint.count() == 1
    footprint.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=TIMEOUT)
    text = popup.inner_text()
    assert HOSTILE_TEXT in text  # shown literally, as text
    assert popup.locator("script, img").count() == 0
    assert page.evaluate("() => window.pwned === undefined")
    assert dialogs == []
    assert offline.external == []
    page.screenshot(path=str(artifacts / "map_html_hostile.png"))


#: JavaScript run in the map's frame: for every footprint, a point where a click lands on it
#: (``elementFromPoint`` is the footprint itself, not a wedge, marker or pop-up above it).
_CLICKABLE_POINTS = """(pane) => [...document.querySelectorAll(`.leaflet-${pane}-pane path.leaflet-interactive`)]
    .map(path => {
        const box = path.getBoundingClientRect();
        const step = Math.max(1, Math.min(box.width, box.height) / 12);
        for (let y = box.top + step / 2; y < box.bottom; y += step) {
            for (let x = box.left + step / 2; x < box.right; x += step) {
                if (document.elementFromPoint(x, y) === path) { return [x, y]; }
            }
        }
        return null;
    })"""


def test_app_starts_and_map_draws_offline(app_url, offline, artifacts) -> None:
    page = offline.context.new_page()
    page.goto(f"{app_url}/")  # the map is the default page
    frame = _map_frame(page)
    _wait_idle(page)
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert frame.locator(".fp-legend").count() == 1
    page.screenshot(path=str(artifacts / "app_map.png"), full_page=True)
    assert offline.external == [], offline.external


def test_every_building_is_selectable_in_one_click(app_url, offline, artifacts) -> None:
    page = offline.context.new_page()
    page.goto(f"{app_url}/")
    _map_frame(page)
    _wait_idle(page)
    iframe = page.locator("iframe[title*='st_folium']").element_handle().content_frame()
    points = iframe.evaluate(_CLICKABLE_POINTS, mapping.BUILDING_PANE)
    assert len(points) == 12 and all(p is not None for p in points), points  # every footprint has a spot
    # one click on the smallest footprint's spot selects it
    x, y = points[-1]
    offset = page.locator("iframe[title*='st_folium']").bounding_box()
    page.mouse.click(offset["x"] + x, offset["y"] + y)
    heading = page.get_by_role("heading", name=re.compile(r"^Scorecard: "))
    heading.wait_for(timeout=TIMEOUT)
    _wait_idle(page)
    page.get_by_text("COPS minimum measures").wait_for(timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "app_map_scorecard.png"), full_page=True)
    # and the list beside the map selects each of the 12 buildings with one click on its row
    from facility_planner.io.load import load_district

    district, _ = load_district(SAMPLE.read_bytes(), maps=[(p.name, p.read_bytes()) for p in SAMPLE.parent.glob("*.gpkg")])
    box = page.locator("[data-testid='stDataFrame']").first.bounding_box()
    for row, building in enumerate(district.buildings["building_id"]):
        page.mouse.click(box["x"] + 12, box["y"] + 35 * (row + 1) + 17)  # the row's selection cell
        page.get_by_role("heading", name=f"Scorecard: {building}", exact=True).wait_for(timeout=TIMEOUT)
        _wait_idle(page)
    page.screenshot(path=str(artifacts / "app_map_list.png"), full_page=True)
    assert offline.external == [], offline.external


#: Every page at its own address (the single-user admin sees them all).
PAGE_LINKS = (("/map", "Map"), ("/data", "Data"), ("/scorecards", "Scorecards"), ("/plan", "Plan"),
              ("/export", "Export"), ("/history", "History"), ("/access", "Access"))


def _address(url: str) -> str:
    """The page address of a URL (``/plan``; the root is ``/``)."""
    return "/" + urlparse(url).path.strip("/")


def _probes(page) -> list[str]:
    """Record the addresses the page asked for and got 404 ("not found") back."""
    missing: list[str] = []
    page.on("response", lambda r: missing.append(urlparse(r.url).path) if r.status == 404 else None)
    return missing


def _known_probes(address: str) -> set[str]:
    """The only 404s a page may cause: Streamlit's frontend, opened at ``/plan``, looks for its
    server at ``/plan/_stcore/health`` (and ``host-config``) before ``/_stcore/...``, because the
    server may sit under a base path (streamlit#7074, open in Streamlit 1.67). The frontend takes
    the base path from ``window.__streamlit`` when a host page sets it, but the server serves a
    static ``index.html`` and no config option sets it, so the probes cannot be avoided; they cost
    one round trip on first load and nothing else (the socket below goes to the right place)."""
    base = address.rstrip("/")
    return {f"{base}/_stcore/health", f"{base}/_stcore/host-config"} if base else set()


@pytest.mark.parametrize(("path", "title"), [*PAGE_LINKS, ("/", "Map"), ("/export/", "Export"),
                                             ("/plan?from=mail", "Plan"), ("/?from=mail", "Map")])
def test_direct_links_open_their_page(app_url, offline, path, title) -> None:
    page = offline.context.new_page()
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    missing = _probes(page)
    page.goto(f"{app_url}{path}")
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=TIMEOUT * 2)
    _wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    # every page keeps its own address; the root goes to the Map's, with the query string kept
    address = _address(path) if _address(path) != "/" else "/map"
    assert _address(page.url) == address
    assert urlparse(page.url).query == urlparse(path).query
    assert [u.split(app_url.removeprefix("http"))[-1] for u in sockets] == ["/_stcore/stream"]
    assert set(missing) <= _known_probes(_address(path)), missing
    page.reload()
    page.get_by_role("heading", name=title, exact=True).wait_for(timeout=TIMEOUT * 2)
    _wait_idle(page)
    assert page.get_by_text("Page not found").count() == 0
    assert set(missing) <= _known_probes(_address(path)) | _known_probes(address), missing
    assert offline.external == [], offline.external


def test_upload_workbook(app_url, offline, artifacts, tmp_path) -> None:
    workbook = tmp_path / "inventory.xlsx"
    workbook.write_bytes(_sample_workbook())
    page = offline.context.new_page()
    page.goto(f"{app_url}/data")
    page.get_by_text("Validation report").wait_for(timeout=TIMEOUT)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(workbook))
    # replacing the data in use is explicit: nothing is read until the user says so
    use = page.get_by_role("button", name=re.compile(r"^Read inventory\.xlsx and use it"))
    use.wait_for(timeout=TIMEOUT)
    _wait_idle(page)
    use.click()
    page.get_by_text(re.compile(r"inventory\.xlsx: (loaded \d+ building|\d+ error)")).wait_for(timeout=TIMEOUT)
    page.get_by_text(re.compile(r"In use: inventory\.xlsx; map: campus\.gpkg; read .* UTC: 4 sites, 12 buildings")
                     ).wait_for(timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "app_upload.png"), full_page=True)
    assert offline.external == [], offline.external


def _metric(page, label: str) -> str:
    metric = page.locator("[data-testid='stMetric']").filter(has_text=label)
    # while Streamlit reruns, the stale and the new element can both be on the page for a moment
    expect(metric).to_have_count(1, timeout=TIMEOUT)
    return metric.locator("[data-testid='stMetricValue']").inner_text()


def test_budget_changes_plan(app_url, offline, artifacts) -> None:
    page = offline.context.new_page()
    page.goto(f"{app_url}/plan")
    page.get_by_role("heading", name="Plan", exact=True).wait_for(timeout=TIMEOUT * 2)
    _wait_idle(page)
    before = _metric(page, "Chosen cost")
    box = page.get_by_label("Budget (USD per year)", exact=True).and_(page.get_by_test_id("stTextInputField"))
    box.fill("5000000")
    box.press("Enter")
    page.wait_for_function(
        """() => {
            const m = [...document.querySelectorAll('[data-testid="stMetric"]')];
            return m.some(e => e.innerText.includes('Budget') && e.innerText.includes('$5,000,000'));
        }""", timeout=TIMEOUT)
    page.wait_for_function(
        """([label, before]) => [...document.querySelectorAll('[data-testid="stMetric"]')]
            .some(m => m.innerText.includes(label) && !m.innerText.includes(before))""",
        arg=["Chosen cost", before], timeout=TIMEOUT)
    assert _metric(page, "Chosen cost") != before
    page.screenshot(path=str(artifacts / "app_plan.png"), full_page=True)
    assert offline.external == [], offline.external


def test_workbook_downloads(app_url, offline, artifacts) -> None:
    page = offline.context.new_page()
    page.goto(f"{app_url}/export")
    page.get_by_role("button", name=re.compile("Prepare the workbook")).click(timeout=TIMEOUT * 2)
    button = page.get_by_role("button", name=re.compile(r"\.xlsx$"))
    button.wait_for(timeout=TIMEOUT * 2)
    with page.expect_download(timeout=TIMEOUT) as info:
        button.click()
    download = info.value
    target = artifacts / download.suggested_filename
    download.save_as(str(target))
    assert target.read_bytes()[:2] == b"PK"  # an xlsx is a zip
    with page.expect_download(timeout=TIMEOUT) as info:
        page.get_by_role("button", name="map.html", exact=True).click()
    assert "L.map(" in Path(info.value.path()).read_text(encoding="utf-8")
    page.screenshot(path=str(artifacts / "app_export.png"), full_page=True)
    assert offline.external == [], offline.external


#: What each role sees on a page that shows it is that role's view.
ROLE_SIGNS = {
    ("planner", "Data"): "Your role may view the data", ("planner", "Export"): "finance and administrators export",
    ("planner", "Plan"): "Your role may try budgets", ("facilities", "Data"): "Fix rows",
    ("finance", "Plan"): "Unit costs (edit to try local quotes)", ("finance", "Export"): "Prepare the workbook",
    ("admin", "Data"): "Fix rows", ("admin", "Export"): "Prepare the workbook",
}


@pytest.mark.parametrize("role", ["planner", "facilities", "finance", "admin"])
def test_every_page_for_every_role(app_url, offline, artifacts, role) -> None:
    page = offline.context.new_page()
    page.set_viewport_size({"width": 1400, "height": 2400})  # the app scrolls inside: a tall window shows more
    page.goto(f"{app_url}/")
    page.get_by_role("heading", name="Map", exact=True).wait_for(timeout=TIMEOUT * 2)
    _wait_idle(page)
    page.get_by_test_id("stSelectbox").filter(has_text="Role").click()
    page.get_by_role("option", name=role, exact=True).click()
    _wait_idle(page)
    # the navigation lists only the pages a role may open (Export: finance and admin)
    titles = (("Data", "Map", "Scorecards", "Plan") + (("Export",) if role in ("finance", "admin") else ())
              + ("History",) + (("Access",) if role == "admin" else ()))
    for title in titles:
        page.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
        page.get_by_role("heading", name=title, exact=True).wait_for(timeout=TIMEOUT * 2)
        _wait_idle(page)
        sign = ROLE_SIGNS.get((role, title))
        if sign:
            page.get_by_text(sign).first.wait_for(timeout=TIMEOUT)
        if title == "Map":
            _map_frame(page)
        if title == "Plan":  # drawn in the browser after the run: wait for the inputs and the chart
            page.get_by_test_id("stTextInputField").first.wait_for(timeout=TIMEOUT)
            page.locator("[data-testid='stVegaLiteChart'] canvas, [data-testid='stVegaLiteChart'] svg"
                         ).first.wait_for(timeout=TIMEOUT)
        page.screenshot(path=str(artifacts / f"role_{role}_{title.lower()}.png"), full_page=True)
        if title == "Scorecards":  # the other tabs, drawn in the browser
            for tab in ("Per site", "District roll-up"):
                page.get_by_role("tab", name=tab).click()
                page.locator("[role='tabpanel']:not([hidden]) [data-testid='stDataFrame']").first.wait_for(
                    timeout=TIMEOUT)
                page.wait_for_function(DRAWN, timeout=TIMEOUT)
                name = tab.lower().replace(" ", "_").replace("-", "_")
                page.screenshot(path=str(artifacts / f"role_{role}_scorecards_{name}.png"), full_page=True)
    if "Export" not in titles:
        assert page.get_by_test_id("stSidebarNav").get_by_role("link", name="Export", exact=True).count() == 0
    assert offline.external == [], offline.external
