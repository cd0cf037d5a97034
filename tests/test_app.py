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


def _risk_edit(key: str, value: object) -> dict[str, object]:
    """Edit state of the Risk weights editor: one value changed in the row of ``key``."""
    table = state.risk_table()
    row = int(table.index[table["yaml_key"] == key][0])
    return {"edited_rows": {row: {"value": value}}, "added_rows": [], "deleted_rows": []}


def _plan_run(workspace: state.Workspace, role: str = "finance", edit: dict[str, object] | None = None) -> AppTest:
    at = page_app("plan", role=role, workspace=workspace)
    at.session_state["plan"] = {"budget": 10_000_000.0, "years": 1, "cost_override": None, "risk_override": None}
    if edit is not None:
        at.session_state["risk_editor"] = edit
    at.run()
    assert not at.exception, at.exception
    return at


def test_threat_weight_changes_the_plan(small_workspace: state.Workspace) -> None:
    before = _plan_run(small_workspace)
    assert len(before.data_editor) == 2  # unit costs and risk weights
    assert any("Risk per building" in h.value for h in before.subheader)
    reduction = before.session_state["assessment"].portfolio.total_risk_reduction
    assert reduction > 0
    # the site is "medium": 5 -> 8 multiplies every building's risk, and so the risk removed, by 1.6
    after = _plan_run(small_workspace, edit=_risk_edit("threat.levels.medium", 8.0))
    assert not after.error
    assessment = after.session_state["assessment"]
    assert after.session_state["plan"]["risk_override"] == {"threat": {"levels": {"medium": 8.0}}}
    assert assessment.settings.risk.threat_levels["medium"] == 8.0
    assert set(assessment.risk["threat"]) == {8.0}
    assert assessment.portfolio.total_risk_reduction == pytest.approx(reduction * 1.6)
    metrics = {m.label: m.value for m in after.metric}
    assert metrics["Risk reduction"] == f"{reduction * 1.6:,.1f}"
    shown = next(d.value for d in after.dataframe if "vulnerability" in d.value.columns)
    assert {"consequence", "threat", "vulnerability", "risk"} <= set(shown.columns)
    assert set(shown["threat"]) == {8.0}


def test_invalid_risk_weight_shows_an_error_and_changes_nothing(small_workspace: state.Workspace) -> None:
    at = _plan_run(small_workspace, edit=_risk_edit("threat.levels.medium", 8.0))
    valid = at.session_state["assessment"]
    # then a negative threat score for "low": refused, the plan keeps medium = 8
    edit = _risk_edit("threat.levels.medium", 8.0)
    edit["edited_rows"].update(_risk_edit("threat.levels.low", -3.0)["edited_rows"])
    at.session_state["risk_editor"] = edit
    at.run()
    assert not at.exception, at.exception
    errors = [e.value.replace("\\", "") for e in at.error]
    assert errors == ["Risk weights: threat, threat_level low, score: expected a number from 1 to 10, got -3. "
                      "The previous values stay in use until this is corrected."]
    assert at.session_state["plan"]["risk_override"] == {"threat": {"levels": {"medium": 8.0}}}
    assessment = at.session_state["assessment"]
    assert assessment is valid  # the memoised plan: nothing was recomputed
    assert assessment.settings.risk.threat_levels == {"low": 3.0, "medium": 8.0, "high": 8.0}
    # from a fresh session an invalid edit leaves the shipped weights in use
    fresh = _plan_run(small_workspace, edit=_risk_edit("threat.levels.medium", -3.0))
    assert len(fresh.error) == 1
    assert fresh.session_state["plan"]["risk_override"] is None
    assert fresh.session_state["assessment"].settings.risk.threat_levels["medium"] == 5.0


def test_planner_sees_weights_but_may_not_edit(small_workspace: state.Workspace) -> None:
    at = _plan_run(small_workspace, role="planner")
    assert len(at.data_editor) == 0
    assert any("finance and administrators edit" in c.value for c in at.caption)
    keys = {k for d in at.dataframe if "yaml_key" in d.value.columns for k in d.value["yaml_key"]}
    assert "threat.levels.medium" in keys
    assert "plan" in state.PERMISSIONS["finance"] and "plan" in state.PERMISSIONS["admin"]
    assert "plan" not in state.PERMISSIONS["planner"] and "plan" not in state.PERMISSIONS["facilities"]


def _boom(*args: object, **kwargs: object) -> None:
    raise RuntimeError("secret internals /srv/data")


def test_unexpected_assessment_failure_is_friendly(small_workspace: state.Workspace,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(state, "assess", _boom)
    with caplog.at_level("ERROR", logger="facility_planner.ui.pages"):
        at = page_app("plan", workspace=small_workspace).run()
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The assessment failed unexpectedly: RuntimeError. Your data is unchanged; please report this."]
    assert at.session_state["workspace"] is small_workspace
    shown = " ".join(str(e.value) for e in [*at.error, *at.info, *at.caption, *at.markdown])
    assert "secret internals" not in shown
    # the traceback goes to the server log instead
    logged = [r for r in caplog.records if r.exc_info and r.exc_info[0] is RuntimeError]
    assert logged and "The assessment failed" in logged[0].getMessage()


def test_unexpected_upload_failure_is_friendly(monkeypatch: pytest.MonkeyPatch) -> None:
    at = page_app("data").run()
    before = at.session_state["workspace"]
    monkeypatch.setattr(state, "load_district", _boom)
    at = _upload(at, GOOD)
    assert not at.exception
    assert [e.value for e in at.error] == [
        "The upload failed unexpectedly: RuntimeError. Your data is unchanged; please report this."]
    assert at.session_state["workspace"] is before


def test_missing_sample_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(state, "SAMPLE_SITES", tmp_path)
    at = page_app("map").run()
    assert not at.exception, at.exception
    assert not at.error
    assert any("sample district" in i.value and "Data page" in i.value for i in at.info)
    assert len(at.session_state["workspace"].district.buildings) == 0


def test_role_help_matches_permissions() -> None:
    at = page_app("data").run()
    help_text = at.selectbox(key="role").help
    assert help_text.startswith("Planners view; facilities managers upload and edit data; finance and "
                                "admin plan (edit unit costs and risk weights) and export")
    assert state.PERMISSIONS["planner"] == {"view"}
    assert state.PERMISSIONS["facilities"] == {"view", "upload", "edit"}
    assert state.PERMISSIONS["finance"] == {"view", "plan", "export"}
    assert state.PERMISSIONS["admin"] == {"view", "upload", "edit", "plan", "export"}
