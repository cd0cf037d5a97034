"""Exports: formula injection neutralised, workbook sheets, table, formats, chart, CSV, GeoPackage."""

from __future__ import annotations

import csv
import io

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from facility_planner.io.exports import (
    sanitize_cell,
    write_assessment_workbook,
    write_geopackage,
    write_projects_csv,
)
from facility_planner.planning import assumptions_frame
from facility_planner.planning.optimise import optimise_portfolio

EVIL = '=HYPERLINK("http://x")'


@pytest.mark.parametrize("text", [EVIL, "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\0x", "\r=1"])
def test_sanitize_cell_prefixes_a_quote(text):
    assert sanitize_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Maple Elementary", "", -3, 2.5, None, True])
def test_sanitize_cell_leaves_safe_values(value):
    assert sanitize_cell(value) == value


def _projects():
    frame = pd.DataFrame({
        "project_id": ["B1:classroom_locks", "B2:cameras", "B3:aeds"],
        "building_id": ["B1", "B2", "B3"], "building_name": [EVIL, "-Gym", "North\0Hall"],
        "cost": [6580.0, 3700.0, 1555.0], "risk_reduction": [144.0, 40.0, 10.0],
        "grants": [["SVPP", "bond"], ["SVPP"], ["bond"]], "evidence": [["D01", "=D02"], [], ["x"]],
        "local_match": [1645.0, 925.0, 1555.0]})
    frame["ratio"] = frame["risk_reduction"] / frame["cost"]
    plan = optimise_portfolio(frame, budget=8200)
    return plan.annotate(frame), plan


def _workbook(tmp_path):
    projects, plan = _projects()
    buildings = pd.DataFrame({"building_id": ["B1"], "name": [EVIL], "risk": [416.0]})
    gaps = pd.DataFrame({"building_id": ["B1"], "rule_id": ["M2"], "evidence": ["@D01; D02"]})
    validation = pd.DataFrame([{"severity": "error", "file": "inv.xlsx", "sheet": "doors", "row": 4,
                                "column": "role", "value": "+cmd", "message": "unknown role"}])
    rejected = pd.DataFrame({"sheet": ["doors"], "source_row": [4], "reason": ["unknown role"], "door_id": [EVIL]})
    path = tmp_path / "assessment.xlsx"
    write_assessment_workbook(path, summary={"district": EVIL, **plan.as_dict()}, buildings=buildings,
                              projects=projects, gaps=gaps, assumptions=assumptions_frame(),
                              validation=validation, rejected=rejected)
    return openpyxl.load_workbook(path), projects


def test_workbook_sheets_and_inert_formula_text(tmp_path):
    wb, projects = _workbook(tmp_path)
    assert wb.sheetnames == ["Summary", "Buildings", "Projects", "Gaps", "Assumptions", "Validation"]
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
                if isinstance(cell.value, str):
                    assert not cell.value.startswith(("=", "+", "-", "@", "\t", "\0"))
    name = wb["Buildings"]["B2"]
    assert name.data_type == "s" and name.value == "'" + EVIL
    summary = {r[0].value: r[1].value for r in wb["Summary"].iter_rows(min_row=3, max_col=2) if r[0].value}
    assert summary["district"] == "'" + EVIL
    assert summary["selected cost"] == 8135 and summary["gap"] == 0
    validation_text = [c.value for row in wb["Validation"].iter_rows() for c in row if c.value]
    assert "'+cmd" in validation_text and "'" + EVIL in validation_text


def test_projects_sheet_table_formats_and_flags(tmp_path):
    wb, projects = _workbook(tmp_path)
    ws = wb["Projects"]
    assert "Projects" in ws.tables and ws.tables["Projects"].ref == f"A1:{ws.cell(1, ws.max_column).column_letter}4"
    header = [c.value for c in ws[1]]
    cost = ws.cell(row=2, column=header.index("cost") + 1)
    assert cost.value == 6580 and "$" in cost.number_format
    assert ws.cell(row=2, column=header.index("grants") + 1).value == "SVPP; bond"
    assert ws.cell(row=2, column=header.index("evidence") + 1).value == "D01; =D02"  # not at the start
    assert ws.cell(row=3, column=header.index("building_name") + 1).value == "'-Gym"
    assert ws.cell(row=4, column=header.index("building_name") + 1).value == "NorthHall"
    flags = [ws.cell(row=r, column=header.index("in_budget") + 1).value for r in (2, 3, 4)]
    assert flags == [True, False, True]
    cumulative = [ws.cell(row=r, column=header.index("cumulative_cost") + 1).value for r in (2, 3, 4)]
    assert cumulative == [6580, None, 8135]
    assert len(ws.conditional_formatting) >= 2
    assert len(wb["Summary"]._charts) == 2
    assumptions = wb["Assumptions"]
    assert [c.value for c in assumptions[1]][:4] == ["area", "item", "parameter", "value"]


def test_projects_csv_is_quoted_and_inert(tmp_path):
    projects, _ = _projects()
    path = tmp_path / "projects.csv"
    write_projects_csv(path, projects)
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["building_name"] == "'" + EVIL and rows[1]["building_name"] == "'-Gym"
    assert rows[0]["grants"] == "SVPP; bond" and rows[0]["cost"] == "6580.0"
    assert text.startswith('"project_id","building_id"')
    buffer = io.BytesIO()
    write_projects_csv(buffer, projects)
    assert buffer.getvalue() == path.read_bytes()


def test_geopackage_layers_text_and_empty(tmp_path):
    import pyogrio

    layer = gpd.GeoDataFrame({"name": [EVIL, "ok"], "evidence": [["a", "b"], []],
                              "covered": pd.array([True, None], dtype="boolean")},
                             geometry=[shapely.Point(0, 0), shapely.Point(1, 1)], crs="EPSG:32618")
    path = tmp_path / "coverage.gpkg"
    assert write_geopackage(path, {"camera_views": layer, "blind_spots": layer.iloc[:0]}) == ["camera_views", "blind_spots"]
    names = [n for n, _ in pyogrio.list_layers(path)]
    assert names == ["camera_views", "blind_spots"]
    back = gpd.read_file(path, layer="camera_views")
    assert back["name"].tolist() == ["'" + EVIL, "ok"] and back["evidence"].tolist()[0] == "a; b"
    assert back.crs.to_epsg() == 32618 and back.geometry.iloc[1].equals(shapely.Point(1, 1))
    assert len(gpd.read_file(path, layer="blind_spots")) == 0


def test_every_sheet_is_a_filtered_table_with_formats_for_people(tmp_path):
    projects, plan = _projects()
    rejected = pd.DataFrame({"sheet": ["doors", "doors"], "source_row": [4, 9], "reason": ["no building", "x"],
                             "door_id": ["=D1", "D2"], "lon": ["-93.4197511", "-93.42"], "lat": ["42.0421", ""]})
    spend = pd.DataFrame({"year": [1], "budget": [8200.0], "spend": [8135.0], "risk_reduction": [154.0],
                          "projects": [2]})
    path = tmp_path / "assessment.xlsx"
    write_assessment_workbook(path, summary={"Budget": 8200.0, "Cost of chosen projects": 8135.0,
                                             "Risk removed by chosen projects": 154.04, "Buildings": 3},
                              buildings=pd.DataFrame({"building_id": ["B1"], "camera_entrance_coverage": [33.3333333]}),
                              projects=projects, gaps=pd.DataFrame({"building_id": ["B1"], "rule_id": ["M2"]}),
                              assumptions=assumptions_frame(), rejected=rejected, spend_by_year=spend)
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        assert ws.tables, f"{ws.title} has no Excel table"
        for table in ws.tables.values():
            assert table.autoFilter is not None or table.headerRowCount != 0  # Excel tables carry filters
    assert set(wb["Validation"].tables) == {"Problems", "RejectedRows"}
    summary = wb["Summary"]
    figures = {r[0].value: r[1] for r in summary.iter_rows(min_row=4, max_col=2) if r[0].value}
    assert "$" in figures["Budget"].number_format and "$" in figures["Cost of chosen projects"].number_format
    assert figures["Risk removed by chosen projects"].number_format == "0.0"
    assert figures["Risk removed by chosen projects"].value == 154.04  # rounded for people, kept in full
    coverage = wb["Buildings"]["B2"]
    assert coverage.value == pytest.approx(33.3333333) and coverage.number_format == "0.0"
    # rejected rows: numbers stay numbers (a longitude is not text '-93.4...), formula text is neutralised
    ws = wb["Validation"]
    rows = [[c.value for c in r] for r in ws.iter_rows() if r[0].value == "doors" and len(r) > 4]
    header = next([c.value for c in r] for r in ws.iter_rows() if r[0].value == "sheet")
    lon, lat, door = header.index("lon"), header.index("lat"), header.index("door_id")
    assert rows[0][lon] == pytest.approx(-93.4197511) and isinstance(rows[0][lon], float)
    assert rows[1][lat] is None and rows[0][door] == "'=D1"


def test_plain_number_text_is_never_quoted():
    assert sanitize_cell("-93.4197511") == "-93.4197511"
    assert sanitize_cell("+1") == "+1"
    assert sanitize_cell("-1+2") == "'-1+2"


@pytest.mark.parametrize("over", [True, False])
def test_map_html_of_a_large_district_is_an_overview(sample_assessment, tmp_path, monkeypatch, over) -> None:
    """Above ``settings.map_detail_sites`` sites map.html draws every footprint without the camera
    views and other detail layers (a legend note points to coverage.gpkg); at or under it, everything."""
    from facility_planner import settings
    from facility_planner.io.exports import write_outputs

    sites = len(sample_assessment.district.sites)
    monkeypatch.setattr(settings, "map_detail_sites", sites - 1 if over else sites)
    page = write_outputs(sample_assessment, tmp_path)["map.html"].read_text(encoding="utf-8")
    for building in sample_assessment.district.buildings["building_id"].astype(str):
        assert building in page
    assert page.count('"building_index"') >= len(sample_assessment.district.buildings)
    assert ("Camera wedges" in page) is not over
    assert ("are in coverage.gpkg" in page) is over


def test_summary_json_is_written_record_by_record_as_json_dump_would(sample_assessment, tmp_path) -> None:
    """``write_summary`` streams buildings and projects one record at a time; the text is exactly
    what ``json.dump(summary_dict(...), indent=2)`` writes."""
    import json

    from facility_planner.io.exports import add_summary_entry, summary_dict, write_summary

    path = tmp_path / "summary.json"
    write_summary(path, sample_assessment)
    whole = summary_dict(sample_assessment)
    assert len(whole["buildings"]) and len(whole["projects"])
    assert path.read_text(encoding="utf-8") == json.dumps(whole, indent=2, default=str)
    snapshot = {"id": 7, "saved_at": "2026-12-03T19:00:00", "kind": "sqlite", "repeat_of": None}
    add_summary_entry(path, "snapshot", snapshot)  # appended, the document not read back
    assert path.read_text(encoding="utf-8") == json.dumps({**whole, "snapshot": snapshot}, indent=2, default=str)


def test_a_workbook_longer_than_one_batch_streams_every_row_with_its_format(tmp_path, monkeypatch) -> None:
    """Rows are cleaned and streamed in batches (write-only workbook): every batch's cells keep
    their values, neutralised text and number formats; the table spans them all and names its
    columns as the header cells say (Excel refuses a table whose names differ)."""
    from facility_planner.io import exports

    monkeypatch.setattr(exports, "_ROW_BATCH", 7)
    n = 23
    projects = pd.DataFrame({"project_id": [f"P{i}" for i in range(n)], "building_name": [EVIL] * n,
                             "cost": [100.0 * i for i in range(n)], "risk_reduction": [1.5] * n,
                             "ratio": [0.015] * n, "in_budget": [i % 2 == 0 for i in range(n)]})
    path = tmp_path / "assessment.xlsx"
    write_assessment_workbook(path, summary={"Budget": 500.0}, buildings=pd.DataFrame({"building_id": ["B1"]}),
                              projects=projects, gaps=pd.DataFrame({"building_id": ["B1"], "rule_id": ["M2"]}),
                              assumptions=assumptions_frame())
    ws = openpyxl.load_workbook(path)["Projects"]
    header = [c.value for c in ws[1]]
    assert [c.font.b for c in ws[1]] == [True] * len(header)
    assert [ws.cell(row=r, column=1).value for r in range(2, n + 2)] == [f"P{i}" for i in range(n)]
    assert {ws.cell(row=r, column=2).value for r in range(2, n + 2)} == {"'" + EVIL}
    costs = [ws.cell(row=r, column=3) for r in range(2, n + 2)]
    assert [c.value for c in costs] == [100.0 * i for i in range(n)] and {c.number_format for c in costs} == {'"$"#,##0'}
    table = ws.tables["Projects"]
    assert table.ref == f"A1:F{n + 1}" and [c.name for c in table.tableColumns] == header
    assert ws.freeze_panes == "B2" and ws.column_dimensions["B"].width == len(EVIL) + 2


def test_geopackage_layers_are_prepared_one_at_a_time(tmp_path) -> None:
    """``prepare`` (the output CRS) is applied to each layer just before it is written."""
    import pyogrio

    layer = gpd.GeoDataFrame({"name": ["a"]}, geometry=[shapely.Point(500000, 4649776)], crs="EPSG:32618")
    seen = []

    def prepare(gdf):
        seen.append(len(gdf))
        return gdf.to_crs("EPSG:4326")

    path = tmp_path / "coverage.gpkg"
    assert write_geopackage(path, {"one": layer, "two": layer, "none": None}, prepare=prepare) == ["one", "two"]
    assert seen == [1, 1] and [n for n, _ in pyogrio.list_layers(path)] == ["one", "two"]
    back = gpd.read_file(path, layer="two")
    assert back.crs.to_epsg() == 4326 and back.geometry.iloc[0].x == pytest.approx(-75.0)
