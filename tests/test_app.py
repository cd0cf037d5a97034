"""The Streamlit app under AppTest: every page runs, uploads are read and reported, roles gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from facility_planner.ui import state

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 120

GOOD = {
    "sites.csv": b"site_id,name,threat_level,enrollment\nES-01,Maple Elementary,medium,450\n",
    "buildings.csv": b"building_id,site_id,name,occupancy,lon,lat\nES-01-A,ES-01,Main building,450,-77.03,38.89\n"
                     b"ES-01-B,ES-01,Portable,30,-77.0305,38.8902\n",
    "doors.csv": b"door_id,building_id,role,lock_from_inside\nD1,ES-01-A,classroom,N\nD2,ES-01-B,exterior_primary,N\n",
}
BAD = {
    "sites.csv": b"site_id,name,threat_level,enrollment\nES-01,Maple,severe,lots\n",
    "buildings.csv": b"building_id,site_id,name\nES-01-A,ES-99,Main\n",
}


@pytest.fixture(scope="module")
def small_workspace() -> state.Workspace:
    """The two-building CSV district, read by the library (keeps page tests fast)."""
    return state.load_inputs(GOOD, label="small district")


def page_app(name: str, role: str = "admin", workspace: state.Workspace | None = None) -> AppTest:
    """One page function run through the app shell's sidebar (AppTest cannot switch function pages)."""
    at = AppTest.from_string(
        "from facility_planner.ui import app, pages\napp.sidebar()\n"
        f"pages.{name}_page()\n", default_timeout=TIMEOUT)
    at.session_state["role"] = role
    if workspace is not None:
        at.session_state["workspace"] = workspace
    return at


def test_app_starts_on_the_map() -> None:
    at = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Map"]
    assert "workspace" in at.session_state
    assert any("Server time" in c.value for c in at.caption)


@pytest.mark.parametrize("name", ["data", "map", "scorecards", "plan", "export"])
def test_every_page_runs(name: str, small_workspace: state.Workspace) -> None:
    at = page_app(name, workspace=small_workspace).run()
    assert not at.exception, at.exception
    assert at.title[0].value == name.capitalize() if name != "scorecards" else "Scorecards"


def _upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    at.file_uploader(key="upload_inventory").set_value([(n, b, "text/csv") for n, b in files.items()])
    return at.run()


def test_good_upload_replaces_the_district() -> None:
    at = page_app("data").run()
    at = _upload(at, GOOD)
    assert not at.exception
    assert not at.error
    assert any("loaded 2 building(s)" in s.value for s in at.success)
    ws = at.session_state["workspace"]
    assert sorted(ws.district.buildings["building_id"]) == ["ES-01-A", "ES-01-B"]
    assert ws.report.errors == []


def test_bad_upload_shows_its_errors_with_sheet_row_column() -> None:
    at = page_app("data").run()
    at = _upload(at, BAD)
    assert not at.exception
    assert any("3 error(s)" in e.value for e in at.error)
    problems = at.dataframe[0].value
    assert {"severity", "sheet", "row", "column", "message"} <= set(problems.columns)
    rows = {(r.sheet, int(r.row), r.column) for r in problems.itertuples()}
    assert rows == {("sites", 2, "threat_level"), ("sites", 2, "enrollment"), ("buildings", 2, "site_id")}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Errors"] == "3" and metrics["Rows not used"] == "1"


def test_inline_fix_revalidates() -> None:
    at = page_app("data").run()
    at = _upload(at, BAD)
    # fix the rejected building: point it at the existing site, then apply
    assert at.selectbox(key="fix_sheet").value == "buildings"
    at.session_state["workspace"].report.rejected["buildings"].loc[0, "site_id"] = "ES-01"
    at.button(key="apply_fixes").click().run()
    assert not at.exception
    ws = at.session_state["workspace"]
    assert list(ws.district.buildings["building_id"]) == ["ES-01-A"]
    assert not any(p.sheet == "buildings" for p in ws.report.errors)


def test_planner_may_not_upload_or_export() -> None:
    at = page_app("data", role="planner").run()
    assert len(at.get("file_uploader")) == 0
    assert any("facilities managers upload" in i.value for i in at.info)
    at = page_app("export", role="planner").run()
    assert any("finance and administrators export" in i.value for i in at.info)


def test_roles_permissions() -> None:
    assert state.PERMISSIONS["facilities"] >= {"upload", "edit"}
    assert "export" in state.PERMISSIONS["finance"] and "upload" not in state.PERMISSIONS["finance"]
    assert state.PERMISSIONS["planner"] == frozenset({"view"})


def test_uploads_stay_in_the_session() -> None:
    """A second session still sees the sample district after the first uploads."""
    first = _upload(page_app("data").run(), GOOD)
    second = page_app("data").run()
    assert first.session_state["workspace"].label == "sites.csv, buildings.csv, doors.csv"
    assert second.session_state["workspace"].label != first.session_state["workspace"].label


def test_cost_override_from_edits() -> None:
    import pandas as pd

    original = pd.DataFrame({"item": ["classroom_locks:mechanical", "cameras"],
                             "parameter": ["unit_cost_typical", "unit_cost_high"], "value": [470.0, 2500.0]})
    edited = original.assign(value=[500.0, 2500.0])
    assert state.cost_override(edited, original) == {
        "measures": {"classroom_locks": {"options": {"mechanical": {"typical": 500.0}}}}}
    assert state.cost_override(original, original) is None


def test_budget_change_reranks_the_plan(small_workspace: state.Workspace) -> None:
    at = page_app("plan", workspace=small_workspace)
    at.session_state["plan"] = {"budget": 200.0, "years": 1, "cost_override": None}
    at.run()
    assert not at.exception, at.exception
    before = {m.label: m.value for m in at.metric}
    chosen_before = at.session_state["assessment"].projects["selected"].fillna(False).astype(bool)
    assert before["Budget"] == "$200"
    at.number_input(key="plan_budget").set_value(10_000_000.0).run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    chosen_after = at.session_state["assessment"].projects["selected"].fillna(False).astype(bool)
    assert after["Budget"] == "$10,000,000"
    assert chosen_after.sum() > chosen_before.sum()
    assert after["Chosen cost"] != before["Chosen cost"]
    assert any("Cost against risk reduction" in h.value for h in at.subheader)
