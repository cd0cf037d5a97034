"""The app and map.html in Debian's Chromium with every non-local request blocked and recorded."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
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


def _map_frame(page):
    """The st_folium component's frame once Leaflet has drawn."""
    page.wait_for_selector("iframe[title*='st_folium']", timeout=TIMEOUT)
    frame = page.frame_locator("iframe[title*='st_folium']")
    frame.locator(".leaflet-container").wait_for(timeout=TIMEOUT)
    frame.locator("path.leaflet-interactive").first.wait_for(timeout=TIMEOUT)
    return frame


def _wait_idle(page) -> None:
    """Wait until Streamlit has finished running the script."""
    page.wait_for_selector("[data-testid='stApp']", timeout=TIMEOUT)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=TIMEOUT)


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


def test_app_starts_and_map_draws_offline(app_url, offline, artifacts) -> None:
    page = offline.context.new_page()
    page.goto(f"{app_url}/")  # the map is the default page
    frame = _map_frame(page)
    assert frame.locator("path.leaflet-interactive").count() >= 1
    assert frame.locator(".leaflet-control-layers").count() == 1
    assert frame.locator(".fp-legend").count() == 1
    page.screenshot(path=str(artifacts / "app_map.png"), full_page=True)
    # a building clicked shows its scorecard under the map
    fills = "".join(f"path.leaflet-interactive[fill='{c}']," for c in mapping.STATUS_COLOURS.values())
    heading = page.get_by_text(re.compile(r"^Scorecard: "))
    for _attempt in range(12):  # the component wires its click handler after the first draw
        _map_frame(page).locator(fills.rstrip(",")).first.dispatch_event("click")
        try:
            heading.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    heading.wait_for(timeout=TIMEOUT)
    page.get_by_text("COPS minimum measures").wait_for(timeout=TIMEOUT)
    page.screenshot(path=str(artifacts / "app_map_scorecard.png"), full_page=True)
    assert offline.external == [], offline.external


def test_upload_workbook(app_url, offline, artifacts, tmp_path) -> None:
    workbook = tmp_path / "inventory.xlsx"
    workbook.write_bytes(_sample_workbook())
    page = offline.context.new_page()
    page.goto(f"{app_url}/data")
    page.get_by_text("Validation report").wait_for(timeout=TIMEOUT)
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(workbook))
    page.get_by_text(re.compile(r"inventory\.xlsx: (loaded \d+ building|\d+ error)")).wait_for(timeout=TIMEOUT)
    page.get_by_text(re.compile(r"Current data: inventory\.xlsx")).wait_for(timeout=TIMEOUT)
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
    page.get_by_text("Server time for this page").wait_for(timeout=TIMEOUT * 2)  # first run done
    before = _metric(page, "Chosen cost")
    box = page.get_by_label("Budget (USD per year)")
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
        page.get_by_role("button", name="map.html").click()
    assert "L.map(" in Path(info.value.path()).read_text(encoding="utf-8")
    page.screenshot(path=str(artifacts / "app_export.png"), full_page=True)
    assert offline.external == [], offline.external
