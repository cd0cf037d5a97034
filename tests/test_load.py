"""Loading a district: footprint matching, map points filling locations, assignment by location."""

from __future__ import annotations

import sys
import types

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from facility_planner.io.load import assemble_district, load_district
from facility_planner.io.maps import read_map
from facility_planner.model import ValidationReport

UTM = "EPSG:32618"
X0, Y0 = 500_000.0, 4_300_000.0


def lonlat(x: float, y: float) -> tuple[float, float]:
    point = gpd.GeoSeries([Point(x, y)], crs=UTM).to_crs(4326).iloc[0]
    return point.x, point.y


def campus_map(tmp_path) -> bytes:
    """Footprints A (40 x 30 m), B (20 x 20 m) and Z (not in the inventory); camera C2 drawn in B."""
    path = tmp_path / "campus.gpkg"
    gpd.GeoDataFrame({"building_id": ["A", "B", "Z"]},
                     geometry=[box(X0, Y0, X0 + 40, Y0 + 30), box(X0 + 100, Y0, X0 + 120, Y0 + 20),
                               box(X0 + 300, Y0, X0 + 310, Y0 + 10)], crs=UTM).to_file(path, layer="buildings")
    gpd.GeoDataFrame({"camera_id": ["C2", "C9"], "building_id": ["B", "B"]},
                     geometry=[Point(X0 + 110, Y0 + 10), Point(X0 + 111, Y0 + 11)],
                     crs=UTM).to_file(path, layer="cameras")
    return path.read_bytes()


def inventory() -> dict[str, pd.DataFrame]:
    inside_a = lonlat(X0 + 20, Y0 + 15)
    near_b = lonlat(X0 + 122, Y0 + 10)       # 2 m east of B
    far_away = lonlat(X0 + 5_000, Y0)        # 4960 m from A's east wall
    nowhere = lonlat(X0 + 60, Y0 + 60)       # in no footprint, > 5 m from all
    cameras = pd.DataFrame({
        "camera_id": ["C1", "C2", "C3", "C4", "C5"],
        "building_id": [None, None, "A", None, None],
        "lon": [inside_a[0], np.nan, far_away[0], nowhere[0], near_b[0]],
        "lat": [inside_a[1], np.nan, far_away[1], nowhere[1], near_b[1]],
        "source_row": [2, 3, 4, 5, 6],
    })
    return {
        "sites": pd.DataFrame({"site_id": ["S1"], "source_row": [2]}),
        "buildings": pd.DataFrame({"building_id": ["A", "B", "C"], "site_id": ["S1"] * 3,
                                   "source_row": [2, 3, 4]}),
        "cameras": cameras,
        "doors": pd.DataFrame({"door_id": ["D1"], "building_id": ["A"], "role": ["exterior_primary"],
                               "source_row": [2]}),
    }


def messages(report: ValidationReport) -> list[str]:
    return [p.message for p in report.warnings]


@pytest.fixture
def loaded(tmp_path):
    maps = read_map(campus_map(tmp_path), filename="campus.gpkg")
    return assemble_district(inventory(), ValidationReport(), maps)


def test_footprints_matched_by_building_id(loaded):
    district, report = loaded
    buildings = district.buildings.set_index("building_id")
    assert buildings["has_footprint"].to_dict() == {"A": True, "B": True, "C": False}
    assert buildings.area["A"] == pytest.approx(1200, rel=1e-3)
    assert district.crs == "EPSG:32618"
    z = [p for p in report.warnings if p.value == "Z"]
    assert len(z) == 1 and "footprint Z on the map" in z[0].message
    assert (z[0].file, z[0].sheet, z[0].row) == ("campus.gpkg", "buildings", 3)
    c = [p for p in report.warnings if p.value == "C" and p.sheet == "buildings"]
    assert len(c) == 1 and c[0].message == ("building C has no footprint on the map; its coverage "
                                            "cannot be measured") and c[0].row == 4


def test_asset_assigned_to_the_footprint_containing_it(loaded):
    district, report = loaded
    cameras = district.cameras.set_index("camera_id")
    assert cameras.loc["C1", "building_id"] == "A"
    [c1] = [p for p in report.warnings if p.value == "C1"]
    assert c1.message == ("camera C1 has no building_id; assigned to building A because its "
                          "location is inside that footprint")
    assert (c1.sheet, c1.row, c1.column) == ("cameras", 2, "building_id")


def test_asset_just_outside_a_footprint_snaps_to_it(loaded):
    district, report = loaded
    assert district.cameras.set_index("camera_id").loc["C5", "building_id"] == "B"
    [c5] = [p for p in report.warnings if p.value == "C5"]
    assert "assigned to building B because its location is 2.0 m from that footprint" in c5.message


def test_asset_in_no_footprint_is_reported_not_assigned(loaded):
    district, report = loaded
    assert pd.isna(district.cameras.set_index("camera_id").loc["C4", "building_id"])
    [c4] = [p for p in report.warnings if p.value == "C4"]
    assert "lies" not in c4.message and "in no building footprint (none within 5 m)" in c4.message


def test_map_point_fills_a_missing_location(loaded):
    district, report = loaded
    c2 = district.cameras.set_index("camera_id").loc["C2"]
    assert bool(c2["located"]) and c2["building_id"] == "B"
    assert c2.geometry.distance(Point(X0 + 110, Y0 + 10)) == pytest.approx(0, abs=1e-3)
    [message] = [m for m in messages(report) if "camera C2 had no location" in m]
    assert "takes the point drawn on the map (campus.gpkg, layer cameras) and its building_id B" in message
    assert any("camera C9 is drawn on the map but is not in the cameras sheet" in m
               for m in messages(report))


def test_far_asset_flagged_by_distance_check(loaded):
    district, report = loaded
    [c3] = [p for p in report.warnings if p.value == "C3"]
    # true metres (4,960 m on the UTM grid, scale 0.9996)
    assert c3.message.startswith("camera C3 is 4,962 m from the footprint of building A (more than 2,000 m)")
    # an asset placed at its building (no location) is never flagged
    assert not any(p.value == "D1" for p in report.warnings)
    door = district.doors.iloc[0]
    assert not bool(door["located"]) and door.geometry is not None


def test_no_map_is_one_clear_warning():
    district, report = assemble_district(inventory(), None, None)
    assert not district.buildings["has_footprint"].any()
    assert any("no map gives a footprint for any of the 3 buildings" in m for m in messages(report))
    assert any("in no building footprint" in m and "C1" in m for m in messages(report))


def test_load_district_reads_inventory_then_maps(tmp_path, monkeypatch):
    calls = []

    def read_inventory(source, *, filename=None):
        calls.append((source, filename))
        report = ValidationReport()
        report.add("warning", "from the inventory", file=filename)
        return inventory(), report

    fake = types.ModuleType("facility_planner.io.inventory")
    fake.read_inventory = read_inventory
    monkeypatch.setitem(sys.modules, "facility_planner.io.inventory", fake)
    district, report = load_district(b"xlsx bytes", maps=[("campus.gpkg", campus_map(tmp_path))],
                                     filename="inventory.xlsx")
    assert calls == [(b"xlsx bytes", "inventory.xlsx")]
    assert messages(report)[0] == "from the inventory"
    assert district.cameras.set_index("camera_id").loc["C1", "building_id"] == "A"
    assert district.buildings["has_footprint"].sum() == 2
