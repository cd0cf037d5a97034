"""The Streamlit app under AppTest: every page runs, uploads are read and reported, roles gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from facility_planner.ui import pages, state

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


def _select(at: AppTest, files: dict[str, bytes]) -> AppTest:
    """Put files in the inventory uploader (not yet in use)."""
    at.file_uploader(key="upload_inventory").set_value([(n, b, "text/csv") for n, b in files.items()])
    return at.run()


def _upload(at: AppTest, files: dict[str, bytes]) -> AppTest:
    """Select files and use them (the explicit "Read ... and use it" button), without the sample's map."""
    at = _select(at, files)
    assert not at.exception, at.exception
    if at.get("checkbox") and any(c.key == "keep_map" for c in at.checkbox):
        at.checkbox(key="keep_map").uncheck().run()
    return at.button(key="use_upload").click().run()


def _xlsx(tables: dict[str, bytes]) -> bytes:
    """The CSV tables as one workbook."""
    import io

    import pandas as pd

    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, data in tables.items():
            pd.read_csv(io.BytesIO(data), dtype=str).to_excel(writer, sheet_name=name.removesuffix(".csv"),
                                                              index=False)
    return buffer.getvalue()


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


def _picker(at: AppTest):
    return next(sb for sb in at.selectbox if sb.label == "Sheet")


def _edit(at: AppTest, sheet: str, rows: dict[int, dict[str, object]]) -> AppTest:
    """Edit cells of the Fix rows editor of ``sheet`` (row position -> {header: value}) and apply."""
    digest = at.session_state["workspace"].digest
    at.session_state[f"edit_{digest}_{sheet}"] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    return at.button(key="apply_fixes").click().run()


def _problems(ws: state.Workspace) -> set[tuple[object, ...]]:
    return {(p.file, p.sheet, p.row, p.column) for p in ws.report.errors}


def test_inline_fix_revalidates() -> None:
    at = _upload(page_app("data").run(), BAD)
    assert _picker(at).value == "buildings"
    editor = at.data_editor[0].value
    assert list(editor.columns) == ["row", "building_id", "site_id", "name"] and list(editor["row"]) == [2]
    # the rejected building points at the existing site: fixed in its own file and row
    at = _edit(at, "buildings", {0: {"site_id": "ES-01"}})
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert list(ws.district.buildings["building_id"]) == ["ES-01-A"]
    assert _problems(ws) == {("sites.csv", "sites", 2, "threat_level"), ("sites.csv", "sites", 2, "enrollment")}
    assert ws.label == "sites.csv, buildings.csv"


def test_applying_no_edit_changes_nothing_and_bad_values_stay_errors() -> None:
    at = _upload(page_app("data").run(), BAD)
    before = at.session_state["workspace"]
    at.button(key="apply_fixes").click().run()
    assert not at.exception, at.exception
    assert at.session_state["workspace"] is before  # nothing edited: nothing re-read, errors kept
    assert any("Nothing was changed" in s.label for s in at.get("status"))
    # an edit elsewhere in the file: the bad values stay errors, reported in the user's own file and rows
    at = _edit(at, "buildings", {0: {"site_id": "ES-01"}})
    at.selectbox(key=f"fix_sheet_{at.session_state['workspace'].digest}").set_value("sites").run()
    after = at.session_state["workspace"]
    assert ("sites.csv", "sites", 2, "enrollment") in _problems(after)
    assert not any(f and f.endswith("doors.csv") for f, *_ in _problems(after))
    # the user gives a value for one and clears the other on purpose: both errors go
    at = _edit(at, "sites", {0: {"enrollment": "450", "threat_level": ""}})
    ws = at.session_state["workspace"]
    assert _problems(ws) == set()
    assert int(ws.district.sites["enrollment"].iloc[0]) == 450 and ws.district.sites["threat_level"].isna().all()


def test_sheet_picker_and_editor_show_the_same_table() -> None:
    at = _upload(page_app("data").run(), BAD)
    assert _picker(at).value == "buildings" and "building_id" in at.data_editor[0].value.columns
    _picker(at).set_value("sites").run()
    assert _picker(at).value == "sites"
    assert list(at.data_editor[0].value.columns) == ["row", "site_id", "name", "threat_level", "enrollment"]
    # a new upload opens on its own sheet with problems, picker and editor agreeing
    at = _upload(at, {**GOOD, "doors.csv": b"door_id,building_id,role\nD1,ES-01-A,front\n"})
    assert not at.exception, at.exception
    assert _picker(at).value == "doors"
    assert list(at.data_editor[0].value.columns) == ["row", "door_id", "building_id", "role"]


def test_replacing_a_workbook_is_explicit_and_the_file_in_use_is_named() -> None:
    first = _xlsx(GOOD)
    second = _xlsx({**GOOD, "buildings.csv": GOOD["buildings.csv"] + b"ES-01-C,ES-01,Annex,20,-77.031,38.8903\n"})
    at = page_app("data").run()
    at.file_uploader(key="upload_inventory").set_value([("first.xlsx", first, "application/octet-stream")]).run()
    assert at.session_state["workspace"].shared  # selected, not yet in use
    at.checkbox(key="keep_map").uncheck().run()
    at = at.button(key="use_upload").click().run()
    assert at.session_state["workspace"].label == "first.xlsx"
    in_use = next(i.value for i in at.info if i.value.startswith("In use:")).replace("\\", "")
    assert "first" in in_use and "UTC" in in_use and "2 buildings" in in_use and "1 sites" in in_use
    # a second workbook beside the first: refused until one is chosen, the first stays in use
    at.file_uploader(key="upload_inventory").set_value([("first.xlsx", first, "application/octet-stream"),
                                                        ("second.xlsx", second, "application/octet-stream")]).run()
    assert any("choose one workbook" in e.value for e in at.error)
    assert at.session_state["workspace"].label == "first.xlsx"
    at.file_uploader(key="upload_inventory").set_value([("second.xlsx", second, "application/octet-stream")]).run()
    assert at.session_state["workspace"].label == "first.xlsx"
    button = at.button(key="use_upload")
    assert "second" in button.label and "replaces first" in button.label
    at = button.click().run()
    ws = at.session_state["workspace"]
    assert ws.label == "second.xlsx" and len(ws.district.buildings) == 3
    assert any(i.value.replace("\\", "").startswith("In use: second.xlsx") for i in at.info)


def test_inventory_without_a_map_offers_to_keep_the_current_map() -> None:
    at = _select(page_app("data").run(), GOOD)
    sample = at.session_state["workspace"]
    assert sample.maps
    warning = " ".join(w.value for w in at.warning)
    assert "footprint" in warning and "coverage" in warning
    assert at.checkbox(key="keep_map").value is True
    at = at.button(key="use_upload").click().run()
    assert at.session_state["workspace"].maps == sample.maps
    # declined: the new data has no map
    at = _select(page_app("data").run(), GOOD)
    at.checkbox(key="keep_map").uncheck().run()
    at = at.button(key="use_upload").click().run()
    assert at.session_state["workspace"].maps == []


def test_rejected_rows_download_on_the_data_page() -> None:
    at = _upload(page_app("data").run(), BAD)
    buttons = [b for b in at.get("download_button") if "could not be used" in b.proto.label]
    assert len(buttons) == 1 and "1 row(s)" in buttons[0].proto.label


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
    assert at.text_input(key="plan_budget").value == "$200"
    at.text_input(key="plan_budget").set_value("$10,000,000").run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    chosen_after = at.session_state["assessment"].projects["selected"].fillna(False).astype(bool)
    assert after["Budget"] == "$10,000,000"
    assert chosen_after.sum() > chosen_before.sum()
    assert after["Chosen cost"] != before["Chosen cost"]
    assert any("Cost against risk reduction" in h.value for h in at.subheader)


def test_plan_shows_the_portfolio_per_year_and_the_workbooks_gap(small_workspace: state.Workspace) -> None:
    from facility_planner.io.exports import workbook_summary

    at = page_app("plan", role="finance", workspace=small_workspace)
    at.session_state["plan"] = {"budget": 2_000.0, "years": 2, "cost_override": None, "risk_override": None}
    at.run()
    assert not at.exception, at.exception
    headings = [h.value for h in at.subheader]
    assert "Spend and risk removed per year" in headings
    assert any(h.startswith("Chosen portfolio: ") for h in headings)
    per_year = next(d.value for d in at.dataframe if "Spend" in d.value.columns)
    assert list(per_year["Year"]) == [1, 2] and list(per_year["Budget"]) == [2000.0, 2000.0]
    assessment = at.session_state["assessment"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Optimality gap"] == workbook_summary(assessment)["Optimality gap"]
    assert metrics["Budget"] == "$4,000"
    # the method reads as a sentence; the solver's own words follow as details
    method_line = next(c.value for c in at.caption if "Summary sheet" in c.value)
    assert method_line.startswith("Several budget years, each project scheduled in at most one year: ")
    assert "the best set the budget allows" in method_line and "Solver details: schedule" in method_line
    # a budget typed with separators, or as 1.5m, is read; a word is refused and the old budget kept
    at.text_input(key="plan_budget").set_value("1.5m").run()
    assert at.session_state["plan"]["budget"] == 1_500_000.0
    at.text_input(key="plan_budget").set_value("lots").run()
    assert any("not an amount of dollars" in e.value for e in at.error)
    assert at.session_state["plan"]["budget"] == 1_500_000.0


def _all_shown_text(at: AppTest) -> str:
    import pandas as pd

    parts = []
    for d in at.dataframe:
        value = d.value
        frame = value.data if hasattr(value, "data") else value
        parts.extend(map(str, frame.columns))
        parts.extend(str(v) for v in frame.to_numpy(dtype=object).ravel() if not pd.isna(v))  # NA shows blank
    return " ".join(parts)


def test_scorecards_speak_the_users_words(small_workspace: state.Workspace) -> None:
    at = page_app("scorecards", workspace=small_workspace).run()
    assert not at.exception, at.exception
    text = _all_shown_text(at)
    for raw in ("M1_met_pct", "camera_entrance_coverage_unknown", "rule_id", "measure_score", "None", "nan"):
        assert raw not in text, raw
    assert "M2 Classroom doors lockable from inside or remotely" in text
    assert "not assessed" in text  # the PASS grid's blanks
    assert "Exterior doors a camera sees well enough to recognize a person" in text
    assert "Exterior doors not located on the map, so not judged" in text and "% unknown" not in text


def test_missing_numbers_show_blank_not_none() -> None:
    import numpy as np
    import pandas as pd

    from facility_planner.ui import labels

    shown, _config = labels.for_people(pd.DataFrame({"value": [100.0, np.nan], "cost": [1234.4, np.nan],
                                                     "threshold": [80.0, 90.0]}))
    assert list(shown.iloc[:, 0]) == ["100.0", ""] and list(shown.iloc[:, 1]) == ["$1,234", ""]
    assert shown.iloc[:, 2].dtype.kind == "f"  # a column with no blank stays a number column


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
    shown = next(d.value for d in after.dataframe if "Vulnerability (1-10)" in d.value.columns)
    assert {"Consequence (1-10)", "Threat (1-10)", "Vulnerability (1-10)", "Risk (points)"} <= set(shown.columns)
    assert set(shown["Threat (1-10)"]) == {8.0}


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
    keys = {k for d in at.dataframe if "risk.yaml key" in d.value.columns for k in d.value["risk.yaml key"]}
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


def _drawing() -> bytes:
    """A DXF in UTM 18N: building ES-01-A's outline on layer OUTLINES (a name that says nothing of
    footprints), its label inside it on A-ANNO, a parking lot, and a furniture outline on FURNITURE."""
    import pyproj

    x, y = pyproj.Transformer.from_crs(4326, 32618, always_xy=True).transform(-77.03, 38.89)

    def outline(layer: str, x0: float, y0: float, w: float, h: float) -> list[str]:
        out = ["0", "LWPOLYLINE", "8", layer, "90", "4", "70", "1"]
        for px, py in ((x0, y0), (x0 + w, y0), (x0 + w, y0 + h), (x0, y0 + h)):
            out += ["10", str(px), "20", str(py)]
        return out

    entities = [outline("OUTLINES", x - 20, y - 15, 40, 30),
                ["0", "TEXT", "8", "A-ANNO", "10", str(x), "20", str(y), "40", "2", "1", "ES-01-A"],
                outline("PARKING", x - 30, y - 80, 60, 40), outline("FURNITURE", x - 5, y - 5, 1, 1)]
    lines = ["0", "SECTION", "2", "ENTITIES", *(v for e in entities for v in e), "0", "ENDSEC", "0", "EOF"]
    return ("\n".join(lines) + "\n").encode()


def test_dxf_upload_lists_its_cad_layers_and_reads_the_chosen_ones() -> None:
    at = page_app("data").run()
    at.file_uploader(key="upload_maps").set_value([("campus.dxf", _drawing(), "application/dxf")])
    at = _select(at, GOOD)
    assert not at.exception, at.exception
    layers = next(m for m in at.multiselect if m.label == pages.CAD_LAYERS_LABEL)
    assert layers.options == ["A-ANNO", "FURNITURE", "OUTLINES", "PARKING"]  # read from the bytes
    assert any("4 layer(s) found" in m.value for m in at.markdown)
    layers.set_value(["OUTLINES", "A-ANNO", "PARKING"])
    next(t for t in at.text_input if t.label == "Coordinate system of the drawing").set_value("EPSG:32618")
    at = at.run().button(key="use_upload").click().run()
    assert not at.exception, at.exception
    ws = at.session_state["workspace"]
    assert ws.map_options == {"dxf_layers": ["OUTLINES", "A-ANNO", "PARKING"], "map_crs": "EPSG:32618"}
    # the same read as `facility-planner validate --map campus.dxf --cad-layer OUTLINES --cad-layer A-ANNO ...`
    from facility_planner.io.load import load_district

    expected, _ = load_district(GOOD, maps=[("campus.dxf", _drawing())], map_crs="EPSG:32618",
                                dxf_layers=["OUTLINES", "A-ANNO", "PARKING"])
    assert ws.district.buildings["has_footprint"].tolist() == expected.buildings["has_footprint"].tolist()
    assert bool(ws.district.buildings.set_index("building_id")["has_footprint"]["ES-01-A"])
    assert any("(CAD layers OUTLINES, A" in i.value for i in at.info)  # the data in use says so
    # without a choice the outlines are not read as footprints (their layer's name says nothing)
    unchosen, _ = load_district(GOOD, maps=[("campus.dxf", _drawing())], map_crs="EPSG:32618")
    assert not bool(unchosen.buildings.set_index("building_id")["has_footprint"]["ES-01-A"])


def test_an_unreadable_drawing_is_reported_on_the_data_page() -> None:
    at = page_app("data").run()
    at.file_uploader(key="upload_maps").set_value([("campus.dxf", b"not a drawing", "application/dxf")])
    at = _select(at, GOOD)
    assert not at.exception, at.exception
    assert any("content is not DXF" in e.value for e in at.error)
    assert not at.get("multiselect") and not any(b.key == "use_upload" for b in at.button)
