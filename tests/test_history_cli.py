"""``assess --save`` and ``facility-planner history`` on both back ends, and the "what it must
show" check: assess twice with one door fixed in between, and ``history diff`` names that door's
building and the measure that moved."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import openpyxl
import pytest

from facility_planner.cli import main
from tests.conftest import SAMPLE_DOOR, SAMPLE_DOOR_BUILDING, SAMPLE_DOOR_FIX, SAMPLE_SITES


@pytest.fixture(scope="module")
def fixed_inventory(tmp_path_factory) -> Path:
    """A copy of the sample workbook with one door fixed (its access control recorded as Y)."""
    path = tmp_path_factory.mktemp("fixed") / "inventory.xlsx"
    shutil.copy(SAMPLE_SITES / "inventory.xlsx", path)
    wb = openpyxl.load_workbook(path)
    ws = wb["doors"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        if row[header.index("door_id")].value == SAMPLE_DOOR:
            row[header.index(SAMPLE_DOOR_FIX)].value = "Y"
    wb.save(path)
    return path


def _assess(inventory: Path, out: Path, store: str, as_of: str) -> dict:
    code = main(["assess", str(inventory), "--map", str(SAMPLE_SITES / "campus.gpkg"), "--budget", "250000",
                 "--as-of", as_of, "--out", str(out), "--save", "--store", store])
    assert code == 0
    return json.loads((out / "summary.json").read_text())


def test_history_diff_names_the_fixed_doors_building_and_measure(store_url, fixed_inventory, tmp_path, capsys):
    first = _assess(SAMPLE_SITES / "inventory.xlsx", tmp_path / "2025", store_url, "2025-11-28")
    second = _assess(fixed_inventory, tmp_path / "2026", store_url, "2026-11-28")
    a, b = first["snapshot"], second["snapshot"]
    kind = "sqlite" if store_url.endswith(".sqlite") else "postgis"
    assert a["kind"] == b["kind"] == kind and b["id"] != a["id"]
    assert {"id", "saved_at", "kind"} <= set(a) and "buildings" in first  # nothing renamed
    capsys.readouterr()
    sheet = openpyxl.load_workbook(tmp_path / "2026" / "assessment.xlsx")["Comparison"]
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=3)]
    assert [SAMPLE_DOOR_BUILDING, "HS-01", "measure", "A1", "partial", "met", "gained", None] in rows
    assert "Comparison" not in openpyxl.load_workbook(tmp_path / "2025" / "assessment.xlsx").sheetnames

    assert main(["history", "diff", str(a["id"]), str(b["id"]), "--store", store_url]) == 0
    text = capsys.readouterr().out
    assert f"{SAMPLE_DOOR_BUILDING}: A1 partial -> met (gained)" in text
    assert f"{SAMPLE_DOOR_BUILDING}: rule A1-ENTRY-DOORS (A1) partial -> met" in text

    assert main(["history", "diff", str(a["id"]), str(b["id"]), "--store", store_url, "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    moved = [(m["building_id"], m["measure"], m["change"]) for m in doc["measures"]]
    assert (SAMPLE_DOOR_BUILDING, "A1", "gained") in moved  # a year on, AED pads also expired elsewhere
    assert [m for m in moved if m[0] == SAMPLE_DOOR_BUILDING and m[2] == "gained"] == [
        (SAMPLE_DOOR_BUILDING, "A1", "gained")]

    assert main(["history", "list", "--store", store_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [s["id"] for s in listed] == [a["id"], b["id"]] and listed[1]["as_of"] == "2026-11-28"

    assert main(["history", "show", str(b["id"]), "--store", store_url]) == 0
    assert SAMPLE_DOOR_BUILDING in capsys.readouterr().out

    assert main(["history", "rollup", "--store", store_url, "--level", "site", "--json"]) == 0
    sites = json.loads(capsys.readouterr().out)
    assert {s["site_id"] for s in sites} == {"ES-01", "MS-01", "HS-01", "K8-01"}

    assert main(["history", "rollup", "--store", store_url, "--every-snapshot", "--json"]) == 0
    trend = json.loads(capsys.readouterr().out)
    assert [str(t["as_of"])[:10] for t in trend] == ["2025-11-28", "2026-11-28"]


def test_history_delete_needs_a_reason_and_lists_what_is_left(store_url, tmp_path, capsys):
    first = _assess(SAMPLE_SITES / "inventory.xlsx", tmp_path / "a", store_url, "2026-11-28")
    second = _assess(SAMPLE_SITES / "inventory.xlsx", tmp_path / "b", store_url, "2026-11-28")
    assert second["snapshot"]["repeat_of"] == first["snapshot"]["id"]
    with pytest.raises(SystemExit) as usage:
        main(["history", "delete", str(second["snapshot"]["id"]), "--store", store_url])
    assert usage.value.code == 2
    capsys.readouterr()
    assert main(["history", "delete", str(second["snapshot"]["id"]), "--reason", "run twice by mistake",
                 "--store", store_url]) == 0
    assert "deleted snapshot" in capsys.readouterr().out
    assert main(["history", "list", "--store", store_url, "--json"]) == 0
    assert [s["id"] for s in json.loads(capsys.readouterr().out)] == [first["snapshot"]["id"]]
    assert main(["history", "show", "999", "--store", store_url]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: There is no snapshot 999") and err.count("\n") == 1


def test_a_rerun_of_the_same_inputs_saves_and_writes_an_empty_comparison(store_url, tmp_path):
    """Nothing changed between two runs without a budget (no project was chosen): the second save
    still succeeds, and its workbook's Comparison sheet holds the title and header only."""
    ids = []
    for run in ("a", "b"):
        out = tmp_path / run
        assert main(["assess", str(SAMPLE_SITES / "inventory.xlsx"), "--map", str(SAMPLE_SITES / "campus.gpkg"),
                     "--as-of", "2026-11-28", "--out", str(out), "--save", "--store", store_url]) == 0
        ids.append(json.loads((out / "summary.json").read_text())["snapshot"]["id"])
    assert ids[0] != ids[1]
    sheet = openpyxl.load_workbook(tmp_path / "b" / "assessment.xlsx", read_only=True)["Comparison"]
    rows = [r for r in sheet.iter_rows(values_only=True) if any(v is not None for v in r)]
    assert len(rows) == 2 and "building_id" in rows[1]
