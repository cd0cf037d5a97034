"""Golden end-to-end: an uploaded workbook followed to the exact cells of assessment.xlsx and the
features of coverage.gpkg, against figures worked out by hand below.

The district is one school, one building, two classrooms (built here with openpyxl, as a facilities
manager would upload it (written by openpyxl), with the headers ``Door #``, ``BLDG`` and ``Range (ft)``):

- door GS-01-A-D01 locks from inside, door GS-01-A-D02 does not (nor remotely): 1 of 2 classroom
  doors lockable = 50 %, so rule M2-LOCKS (``>= 100``, partial from 50) is ``partial`` and measure
  M2 is ``partial``; both doors are numbered and the building number is posted: M1 ``met``;
- the mechanical lock project closes that gap for the one door in the evidence (D02): quantity 1,
  cost 1 x $470 (low $410, high $530; costs.yaml ``classroom_locks.options.mechanical``), life-cycle
  cost 470 + 10 $/yr x annuity(3.1 %, 20 yr); the wireless option also closes remote lockdown, so it
  needs both doors (neither locks remotely): 2 x $1,400 = $2,800;
- risk: occupancy 300 is in the band up to 400 (consequence 6), threat level medium (threat 5),
  so risk before = 6 x 5 x vulnerability;
- camera GS-01-C01 with ``Range (ft)`` 100 sees 100 x 0.3048 = 30.48 m; it looks south (180 deg,
  90 deg wide) from 5.5 m south of the building, away from every wall, so its view in coverage.gpkg
  is the whole 90-degree sector: every vertex within 30.48 m, area pi r^2 / 4 = 729.7 m2.

Cells are found by header name and id (not by address), so the test survives layout changes.
"""

from __future__ import annotations

import io
import json
import math
import re
from datetime import date
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from facility_planner.assess import assess, write_outputs
from facility_planner.io.load import load_district

LON, LAT, SIDE = -93.4196, 42.0421, 0.0004
CAMERA_LON, CAMERA_LAT = LON + SIDE / 2, LAT - 0.00005
AS_OF = date(2026, 1, 15)
FEET = 0.3048


def _workbook() -> bytes:
    sheets: dict[str, list[list[Any]]] = {
        "sites": [["site_id", "name", "threat_level"], ["GS-01", "Golden Elementary", "medium"]],
        "buildings": [["building_id", "site_id", "name", "building_number", "occupancy", "floors",
                       "gross_area"], ["GS-01-A", "GS-01", "Main", "1", 300, 1, 1000]],
        "rooms": [["room_id", "building_id", "room_type", "hard_corner", "two_way_comm"],
                  ["GS-01-A-101", "GS-01-A", "classroom", "Y", "Y"],
                  ["GS-01-A-102", "GS-01-A", "classroom", "Y", "Y"]],
        "doors": [["Door #", "BLDG", "room_id", "role", "lock_from_inside", "remote_lock", "has_glass",
                   "numbered"],
                  ["GS-01-A-D01", "GS-01-A", "GS-01-A-101", "classroom", "Y", "N", "N", "Y"],
                  ["GS-01-A-D02", "GS-01-A", "GS-01-A-102", "classroom", "N", "N", "N", "Y"]],
        "cameras": [["camera_id", "building_id", "mount", "lon", "lat", "heading_deg", "hfov_deg",
                     "Range (ft)", "status"],
                    ["GS-01-C01", "GS-01-A", "exterior", CAMERA_LON, CAMERA_LAT, 180, 90, 100, "working"]],
    }
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, (header, *rows) in sheets.items():
            pd.DataFrame(rows, columns=header).to_excel(writer, sheet_name=name, index=False)
    return buffer.getvalue()


def _footprint() -> bytes:
    ring = [[LON, LAT], [LON + SIDE, LAT], [LON + SIDE, LAT + SIDE], [LON, LAT + SIDE], [LON, LAT]]
    return json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "properties": {"building_id": "GS-01-A"},
        "geometry": {"type": "Polygon", "coordinates": [ring]}}]}).encode()


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    district, report = load_district(_workbook(), maps=[("campus.geojson", _footprint())],
                                     filename="golden.xlsx")
    assert not report.problems, report.to_frame()
    result = assess(district, report, budget=100_000, as_of=AS_OF)
    return write_outputs(result, tmp_path_factory.mktemp("golden"))


def _key(header: object) -> str:
    """A header as snake case, so ``Unit cost (typical)`` and ``unit_cost_typical`` match."""
    return re.sub(r"[^a-z0-9]+", "_", str(header).lower()).strip("_")


def _row(path: Path, sheet: str, id_column: str, wanted: dict[str, str]) -> dict[str, Any]:
    """The row of ``sheet`` whose columns have the ``wanted`` values, as {header key: cell value}."""
    ws = openpyxl.load_workbook(path, read_only=True, data_only=True)[sheet]
    header: list[str] | None = None
    found = []
    for values in ws.iter_rows(values_only=True):
        keys = [_key(v) for v in values]
        if header is None:
            header = keys if id_column in keys else None
            continue
        row = dict(zip(header, values, strict=False))
        if all(str(row.get(k)) == v for k, v in wanted.items()):
            found.append(row)
    assert header is not None, f"no header with {id_column} in sheet {sheet}"
    assert len(found) == 1, f"{sheet}: {len(found)} rows with {wanted}"
    return found[0]


def _annuity(rate: float, years: float) -> float:
    return (1 - (1 + rate) ** -years) / rate


def test_the_door_row_reaches_the_buildings_sheet(outputs: dict[str, Path]) -> None:
    row = _row(outputs["assessment.xlsx"], "Buildings", "building_id", {"building_id": "GS-01-A"})
    assert row["m2"] == "partial"  # 1 of 2 classroom doors lockable: 50 %, partial from 50
    assert row["m1"] == "met"  # building number posted, both classroom doors numbered
    assert row["occupancy"] == 300
    assert row["consequence"] == 6 and row["threat"] == 5
    assert row["risk"] == pytest.approx(6 * 5 * row["vulnerability"], abs=0.01)


def test_the_door_row_reaches_the_gaps_sheet(outputs: dict[str, Path]) -> None:
    gap = _row(outputs["assessment.xlsx"], "Gaps", "rule_id",
               {"building_id": "GS-01-A", "rule_id": "M2-LOCKS"})
    assert gap["status"] == "partial"
    assert gap["value"] == pytest.approx(50.0)
    assert gap["threshold"] == pytest.approx(100.0)
    assert gap["evidence"] == "GS-01-A-D02"  # the door that does not lock, and only it


def test_the_door_row_reaches_the_projects_sheet(outputs: dict[str, Path]) -> None:
    path = outputs["assessment.xlsx"]
    mech = _row(path, "Projects", "project_id", {"project_id": "GS-01-A:classroom_locks:mechanical"})
    assert mech["evidence"] == "GS-01-A-D02"
    assert mech["quantity"] == 1 and mech["unit"] == "door"
    assert (mech["cost_low"], mech["cost"], mech["cost_high"]) == (410, 470, 530)
    assert mech["life_cycle_cost"] == pytest.approx(470 + 10 * _annuity(0.031, 20), abs=0.01)
    building = _row(path, "Buildings", "building_id", {"building_id": "GS-01-A"})
    assert mech["risk_before"] == pytest.approx(building["risk"], abs=0.01)
    assert 0 < mech["risk_reduction"] <= mech["risk_before"]
    wireless = _row(path, "Projects", "project_id", {"project_id": "GS-01-A:classroom_locks:wireless"})
    assert wireless["quantity"] == 2  # also closes remote lockdown: neither door locks remotely
    assert wireless["cost"] == 2 * 1400


def test_the_camera_range_in_feet_reaches_coverage_gpkg(outputs: dict[str, Path]) -> None:
    gpkg = outputs["coverage.gpkg"]
    cameras = gpd.read_file(gpkg, layer="cameras").set_index("camera_id")
    views = gpd.read_file(gpkg, layer="camera_views").set_index("camera_id")
    # coverage.gpkg is in EPSG:4326 (many campuses); measure in true metres around the camera
    at = cameras.to_crs("EPSG:4326").loc["GS-01-C01", "geometry"]
    local = f"+proj=aeqd +lat_0={at.y} +lon_0={at.x} +datum=WGS84 +units=m"
    cameras, views = cameras.to_crs(local), views.to_crs(local)
    radius = 100 * FEET
    assert cameras.loc["GS-01-C01", "range_m"] == pytest.approx(radius)
    assert not cameras.loc["GS-01-C01", "range_derived"]
    view = views.loc["GS-01-C01"]
    assert view["range_m"] == pytest.approx(radius)
    assert (view["heading_deg"], view["hfov_deg"]) == (180, 90)
    origin = cameras.loc["GS-01-C01", "geometry"]
    reach = np.hypot(*(shapely.get_coordinates(view["geometry"]) - [origin.x, origin.y]).T)
    assert reach.max() == pytest.approx(radius, abs=0.01)
    sector = math.pi * radius**2 / 4
    assert view["geometry"].area == pytest.approx(sector, rel=0.01)
    assert view["area_m2"] == pytest.approx(view["geometry"].area, rel=1e-6)
    # the sector opens to the south of the camera
    assert view["geometry"].centroid.y < origin.y - radius / 2
