"""Camera coverage: hand-worked views, density ranges, blocking, facts and edge cases."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
import shapely

from facility_planner.geo import compute_coverage, load_coverage_config
from facility_planner.geo.cameras import camera_ranges
from facility_planner.geo.config import CoverageConfig

AS_OF = date(2025, 9, 1)


def config_with(section: str, **values) -> CoverageConfig:
    return load_coverage_config().with_values(section, **values)


def camera(cid="C1", *, x, y, heading, hfov=90.0, range_m=None, resolution_px=None,
           mount="exterior", building="A", status="working"):
    row = {"camera_id": cid, "building_id": building, "mount": mount, "heading_deg": heading,
           "hfov_deg": hfov, "range_m": range_m, "resolution_px": resolution_px, "status": status}
    if x is not None:
        row.update(x=x, y=y)
    return row


def door(did="D1", *, x, y, building="A", role="exterior_primary"):
    return {"door_id": did, "building_id": building, "role": role, "x": x, "y": y}


def test_ranges_follow_iec_62676_4_formula():
    # DOMAIN.md: 1920 px at 100 degrees: identify 3.2, recognize 6.4, observe 12.9, detect 32.2 m.
    cams = pd.DataFrame({"hfov_deg": [100.0, 90.0, 90.0, 90.0], "resolution_px": pd.array([1920, 3840, None, None], dtype="Int64"),
                         "range_m": [np.nan, 10.0, 30.0, np.nan]})
    r = camera_ranges(cams, config=load_coverage_config().cameras)
    assert r.loc[0, ["identify", "recognize", "observe", "detect"]].round(1).tolist() == [3.2, 6.4, 12.9, 32.2]
    assert r.loc[0, "range_m"] == pytest.approx(32.22, abs=0.01) and r.loc[0, "range_derived"]
    # a stated range caps every zone: 3840 px at 90 deg gives recognize 15.36 m, capped at 10 m
    assert r.loc[1, "recognize"] == 10.0 and r.loc[1, "identify"] == pytest.approx(7.68)
    assert not r.loc[1, "range_derived"]
    # range only: the stated range is the recognize range; identify unknown (not drawn)
    assert r.loc[2, ["detect", "observe", "recognize", "identify"]].tolist() == [30.0, 30.0, 30.0, 0.0]
    assert math.isnan(r.loc[3, "range_m"])


def test_camera_facing_door_10_m_away_sees_it(coverage_campus):
    # Building A (20 x 10), door on its north wall at (10, 10); camera 10 m north facing south.
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, doors=[door(x=10, y=10)],
                        cameras=[camera(x=10, y=20, heading=180, resolution_px=3840)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "camera_entrance_coverage"] == 100.0
    assert cov.facts.evidence.loc["A", "camera_entrance_coverage"] == []
    assert len(cov.layers["uncovered_entrances"]) == 0
    view = cov.layers["camera_views"].geometry.iloc[0]
    # 90 degree wedge of 38.4 m (detect range of 3840 px: 3840 / (2 * 25 * tan 45)), stopped by A
    assert view.area < math.pi * 76.8**2 / 4


def test_building_between_hides_the_door(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 20, 10), "B": (5, 13, 15, 17)},
                        doors=[door(x=10, y=10)],
                        cameras=[camera(x=10, y=20, heading=180, resolution_px=3840)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "camera_entrance_coverage"] == 0.0
    assert cov.facts.evidence.loc["A", "camera_entrance_coverage"] == ["D1"]
    hidden = cov.layers["uncovered_entrances"]
    assert hidden["door_id"].tolist() == ["D1"] and hidden["best_level"].tolist() == ["none"]
    # B has no exterior doors: not applicable (subjects 0), value unknown
    assert cov.facts.subjects.loc["B", "camera_entrance_coverage"] == 0
    assert np.isnan(cov.facts.values.loc["B", "camera_entrance_coverage"])


def test_door_beyond_recognize_range_is_not_counted(coverage_campus):
    # 1920 px at 90 degrees: recognize 7.68 m, observe 15.36 m; door at 10 m is only observed.
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, doors=[door(x=10, y=10)],
                        cameras=[camera(x=10, y=20, heading=180, resolution_px=1920)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "camera_entrance_coverage"] == 0.0
    assert cov.layers["uncovered_entrances"]["best_level"].tolist() == ["observe"]


def test_camera_on_its_own_wall_is_not_blinded_by_its_footprint(coverage_campus):
    # Mounted exactly on the north wall, and one digitised 0.3 m inside the footprint: both face out.
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)},
                        cameras=[camera("C1", x=5, y=10, heading=0, range_m=20),
                                 camera("C2", x=15, y=9.7, heading=0, range_m=20)])
    views = compute_coverage(d, as_of=AS_OF).layers["camera_views"].set_index("camera_id")
    quarter = math.pi * 20**2 / 4  # 314.2 m2; the 91-ray fan is a slightly smaller polygon
    for cid in ("C1", "C2"):
        assert views.loc[cid, "area_m2"] == pytest.approx(quarter, rel=0.01)
    # C2 was moved onto the wall it hangs on
    y0 = coverage_campus.origin[1]
    cams = compute_coverage(d, as_of=AS_OF).layers["cameras"].set_index("camera_id")
    assert cams.loc["C2"].geometry.y == pytest.approx(y0 + 10.0)


def test_interior_camera_is_clipped_to_its_building_and_cut_by_walls(coverage_campus):
    cams = [camera(x=10, y=5, heading=90, resolution_px=1920, mount="interior")]
    open_plan = coverage_campus(buildings={"A": (0, 0, 20, 10)}, cameras=cams)
    area = compute_coverage(open_plan, as_of=AS_OF).layers["camera_views"]["area_m2"].iloc[0]
    # wedge from (10, 5) east, 90 degrees, inside x <= 20, 0 <= y <= 10: 25 + 50 = 75 m2
    assert area == pytest.approx(75.0, rel=0.01)
    walled = coverage_campus(buildings={"A": (0, 0, 20, 10)}, cameras=cams,
                             walls=[("A", ((15, 0), (15, 10)), "concrete_block", 1)])
    area = compute_coverage(walled, as_of=AS_OF).layers["camera_views"]["area_m2"].iloc[0]
    assert area == pytest.approx(25.0, rel=0.02)  # triangle up to the wall at x = 15
    # a wall on another floor does not cut a floor-1 camera's view
    upstairs = coverage_campus(buildings={"A": (0, 0, 20, 10)}, cameras=cams,
                               walls=[("A", ((15, 0), (15, 10)), "concrete_block", 2)])
    area = compute_coverage(upstairs, as_of=AS_OF).layers["camera_views"]["area_m2"].iloc[0]
    assert area == pytest.approx(75.0, rel=0.01)


def test_zones_are_nested_and_cut_at_density_ranges(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)},
                        cameras=[camera(x=100, y=100, heading=0, hfov=100, resolution_px=1920)])
    zones = compute_coverage(d, as_of=AS_OF).layers["camera_zones"].set_index("level")
    assert zones.index.tolist() == ["detect", "observe", "recognize", "identify"]
    assert zones["radius_m"].round(1).tolist() == [32.2, 12.9, 6.4, 3.2]
    sector = math.pi * zones["radius_m"] ** 2 * 100 / 360
    assert np.allclose(zones.geometry.area, sector, rtol=0.01)
    assert all(zones.geometry.iloc[i].buffer(1e-6).contains(zones.geometry.iloc[i + 1]) for i in range(3))


def test_placed_faulty_and_incomplete_cameras_draw_nothing(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, doors=[door(x=10, y=10)], cameras=[
        camera("placed", x=None, y=None, heading=0, range_m=30),
        camera("faulty", x=10, y=20, heading=180, range_m=30, status="faulty"),
        camera("noheading", x=10, y=20, heading=None, range_m=30),
        camera("norange", x=10, y=20, heading=180),
    ])
    cov = compute_coverage(d, as_of=AS_OF)
    cams = cov.layers["cameras"].set_index("camera_id")
    assert not cams["drawn"].any() and len(cov.layers["camera_views"]) == 0
    assert cams.loc["placed", "reason"].startswith("not located")
    assert cams.loc["faulty", "reason"] == "status faulty"
    assert cams.loc["noheading", "reason"] == "no heading"
    assert cams.loc["norange", "reason"] == "no range or resolution"
    # in-service cameras exist but none can be drawn: camera facts are unknown, not 0
    assert np.isnan(cov.facts.values.loc["A", "camera_entrance_coverage"])
    assert cov.facts.values.loc["A", "cameras_not_drawn"] == 4


def test_no_cameras_at_all_is_zero_coverage(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)}, doors=[door(x=10, y=10), door("D2", x=None, y=None)])
    facts = compute_coverage(d, as_of=AS_OF).facts
    assert facts.values.loc["A", "camera_entrance_coverage"] == 0.0
    assert facts.values.loc["A", "camera_perimeter_coverage"] == 0.0
    # the door placed at its building is not judged: it goes to the _unknown companion
    assert facts.values.loc["A", "camera_entrance_coverage_unknown"] == 1
    assert facts.evidence.loc["A", "camera_entrance_coverage_unknown"] == ["D2"]
    assert facts.subjects.loc["A", "camera_entrance_coverage"] == 2


def test_perimeter_share_of_a_camera_watching_one_wall(coverage_campus):
    # Perimeter line on the footprint itself (offset 0, no tolerance): the north wall, 20 m of
    # 60 m, is in view (exactly); the side walls hide behind the corners.
    config = config_with("cameras", perimeter_offset_m=0.0, target_tolerance_m=0.0)
    d = coverage_campus(buildings={"A": (0, 0, 20, 10)},
                        cameras=[camera(x=10, y=30, heading=180, range_m=100)])
    cov = compute_coverage(d, config=config, as_of=AS_OF)
    # the view is drawn from rays 1 degree apart: the wall's ends past the last ray that hits it
    # (under 0.35 m each at 20 m) are outside the drawn view
    assert cov.facts.values.loc["A", "camera_perimeter_coverage"] == pytest.approx(100 * 20 / 60, abs=1.2)
    # true metres: 60 m on the UTM grid at its central meridian (scale 0.9996)
    assert cov.facts.subjects.loc["A", "camera_perimeter_coverage"] == pytest.approx(60.0 / 0.9996)
    unwatched = cov.layers["unwatched_perimeter"]
    assert unwatched["length_m"].sum() == pytest.approx(40.0, abs=0.8)


def test_outdoor_share_and_blind_spots(coverage_campus):
    # Site 100 x 100 with a 10 x 10 building in a corner; a 360-degree camera of 10 m range in the
    # middle watches pi * 10^2 of 9,900 m2.
    d = coverage_campus(buildings={"A": (0, 0, 10, 10)}, site_boundaries={"S": (0, 0, 100, 100)},
                        cameras=[camera(x=50, y=50, heading=0, hfov=360, range_m=10)])
    cov = compute_coverage(d, as_of=AS_OF)
    expected = 100 * math.pi * 100 / 9900
    assert cov.facts.values.loc["A", "camera_outdoor_coverage"] == pytest.approx(expected, rel=0.01)
    assert cov.site_facts.values.loc["S", "camera_outdoor_coverage"] == pytest.approx(expected, rel=0.01)
    blind = cov.layers["blind_spots"]
    assert blind["kind"].tolist() == ["outdoor"]
    assert blind["area_m2"].iloc[0] == pytest.approx(9900 - math.pi * 100, rel=0.001)
    # nothing mapped outdoors: unknown
    bare = coverage_campus(buildings={"A": (0, 0, 10, 10)},
                           cameras=[camera(x=50, y=50, heading=0, hfov=360, range_m=10)])
    assert np.isnan(compute_coverage(bare, as_of=AS_OF).facts.values.loc["A", "camera_outdoor_coverage"])


def test_corridor_coverage_from_floor_plans(coverage_campus):
    # Corridor 40 x 4 in a 40 x 20 building; interior camera at its west end looking east along it.
    d = coverage_campus(
        buildings={"A": (0, 0, 40, 20)},
        rooms=[{"room_id": "HALL", "building_id": "A", "room_type": "corridor", "floor": 1}],
        room_shapes={"HALL": (0, 8, 40, 12)},
        walls=[("A", ((0, 8), (40, 8)), "sheetrock", 1), ("A", ((0, 12), (40, 12)), "sheetrock", 1)],
        cameras=[camera(x=0.1, y=10, heading=90, hfov=60, range_m=20, mount="interior")])
    cov = compute_coverage(d, as_of=AS_OF)
    share = cov.facts.values.loc["A", "corridor_camera_coverage"]
    # observe zone = stated range (20 m) cut by the corridor walls: nearly the first 20 m of 40
    assert 40 < share < 50
    blind = cov.layers["blind_spots"]
    assert blind.loc[blind["kind"] == "corridor", "room_id"].tolist() == ["HALL"]


def test_no_footprint_gives_unknown_geometry_facts(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 20, 10), "N": None},
                        aeds=[{"aed_id": "E1", "building_id": "N"}])
    facts = compute_coverage(d, as_of=AS_OF).facts.values
    for col in ("camera_perimeter_coverage", "radio_area_coverage", "aed_reach_coverage",
                "kit_reach_coverage", "radio_needed"):
        assert np.isnan(facts.loc["N", col]), col
    assert list(facts.index) == ["A", "N"]


def test_views_are_valid_polygons_on_a_demo_district():
    from facility_planner.demo import demo_district

    district = demo_district(3, seed=3).to_district()
    cov = compute_coverage(district, as_of=AS_OF)
    for name in ("camera_views", "camera_zones", "blind_spots", "radio_coverage", "aed_reach"):
        layer = cov.layers[name]
        assert layer.crs == district.crs
        assert shapely.is_valid(layer.geometry.values).all(), name
    assert set(cov.facts.values.index) == set(district.buildings["building_id"])
    vals = cov.facts.values.drop(columns=[c for c in cov.facts.values if not c.endswith("coverage")])
    assert ((vals >= 0) & (vals <= 100) | vals.isna()).all().all()
