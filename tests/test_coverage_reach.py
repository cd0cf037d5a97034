"""AED and kit reach, room communication, configuration and export of the coverage layers."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from facility_planner.errors import ConfigError
from facility_planner.geo import compute_coverage, load_coverage_config
from facility_planner.io.exports import geopackage_layer, write_geopackage

AS_OF = date(2025, 9, 1)
REACH = 90 * 1.52 / 1.3  # 105.23 m


def aed(aid="E1", *, x=0.0, y=10.0, building="A", pads="2027-01-01", battery="2028-01-01"):
    row = {"aed_id": aid, "building_id": building, "pads_expiry": pads, "battery_expiry": battery}
    if x is not None:
        row.update(x=x, y=y)
    return row


def strip_share(x_aed: float) -> float:
    """Hand-worked share of a 300 x 20 strip within REACH of a point on its mid-line at x_aed:
    per side, the integral over |y| <= 10 of sqrt(r^2 - y^2) = 20 r - 1000 / (3 r) (to 1e-4)."""
    side = 20 * REACH - 1000 / (3 * REACH)
    sides = (x_aed > 0) + (x_aed < 300)
    return 100 * side * sides / 6000


def test_default_walk_is_90_s_at_brisk_pace_with_detour():
    assert load_coverage_config().aeds.reach_m == pytest.approx(105.23, abs=0.01)


def test_300_m_building_is_only_partly_within_an_aed_reach(coverage_campus):
    end = coverage_campus(buildings={"A": (0, 0, 300, 20)}, aeds=[aed(x=0)])
    cov = compute_coverage(end, as_of=AS_OF)
    share = cov.facts.values.loc["A", "aed_reach_coverage"]
    assert share == pytest.approx(strip_share(0), abs=0.1)  # 35.0 %
    assert cov.facts.evidence.loc["A", "aed_reach_coverage"] == [
        "65% of floor area beyond a 105 m walk of an AED in service"]
    gap = cov.layers["aed_unreached"]
    assert gap["area_m2"].iloc[0] == pytest.approx(6000 / 0.9996 ** 2 * (1 - share / 100), rel=1e-6)  # true m² (UTM grid scale 0.9996)
    middle = coverage_campus(buildings={"A": (0, 0, 300, 20)}, aeds=[aed(x=150)])
    share = compute_coverage(middle, as_of=AS_OF).facts.values.loc["A", "aed_reach_coverage"]
    assert share == pytest.approx(strip_share(150), abs=0.1)  # 70.0 %


def test_expired_aed_reaches_nothing_and_is_flagged(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 40, 20)},
                        aeds=[aed("OLD", x=20, pads="2024-01-01"), aed("DEAD", x=10, battery="2025-08-31")])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "aed_reach_coverage"] == 0.0
    ev = cov.facts.evidence.loc["A", "aed_reach_coverage"]
    assert "AED OLD out of service" in ev and "AED DEAD out of service" in ev
    status = cov.layers["aeds"].set_index("aed_id")["status"]
    assert status.to_dict() == {"OLD": "pads expired", "DEAD": "battery expired"}
    assert len(cov.layers["aed_reach"]) == 0
    # the same AEDs a year earlier were in service
    earlier = compute_coverage(d, as_of=date(2023, 9, 1))
    assert earlier.facts.values.loc["A", "aed_reach_coverage"] == 100.0


def test_placed_aed_counts_only_where_the_building_is_small_enough(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 40, 20), "B": (0, 100, 300, 120)},
                        aeds=[aed("PA", x=None, building="A"), aed("PB", x=None, building="B")])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "aed_reach_coverage"] == 100.0  # diagonal 44.7 m < 105 m
    assert np.isnan(cov.facts.values.loc["B", "aed_reach_coverage"])
    assert len(cov.layers["aed_reach"]) == 0  # placed assets draw nothing


def test_kits_reach_and_places(coverage_campus):
    d = coverage_campus(
        buildings={"A": (0, 0, 300, 20)},
        rooms=[{"room_id": "GYM", "building_id": "A", "room_type": "gym"},
               {"room_id": "OFF", "building_id": "A", "room_type": "office"},
               {"room_id": "C1", "building_id": "A", "room_type": "classroom"}],
        equipment=[{"equipment_id": "K1", "building_id": "A", "room_id": "GYM",
                    "type": "stop_the_bleed_kit", "x": 300.0, "y": 10.0},
                   {"equipment_id": "P1", "building_id": "A", "room_id": "OFF", "type": "panic_alarm"}])
    facts = compute_coverage(d, as_of=AS_OF).facts
    assert facts.values.loc["A", "kit_reach_coverage"] == pytest.approx(strip_share(300), abs=0.1)
    assert facts.values.loc["A", "kit_place_coverage"] == 50.0  # gym has one, office not
    assert facts.evidence.loc["A", "kit_place_coverage"] == ["no stop-the-bleed kit recorded in any office"]
    assert facts.subjects.loc["A", "kit_place_coverage"] == 2


def test_room_communication_lists_who_has_two_way_comm_and_panic_alarms(coverage_campus):
    d = coverage_campus(
        buildings={"A": (0, 0, 40, 20)},
        rooms=[{"room_id": "101", "building_id": "A", "room_type": "classroom", "two_way_comm": True},
               {"room_id": "102", "building_id": "A", "room_type": "classroom", "two_way_comm": False},
               {"room_id": "OFF", "building_id": "A", "room_type": "office"},
               {"room_id": "GYM", "building_id": "A", "room_type": "gym", "two_way_comm": False},
               {"room_id": "MUSIC", "building_id": "A", "room_type": "other", "capacity": 120},
               {"room_id": "STORE", "building_id": "A", "room_type": "other", "capacity": 2}],
        equipment=[{"equipment_id": "I1", "building_id": "A", "room_id": "OFF", "type": "intercom_station"},
                   {"equipment_id": "P1", "building_id": "A", "room_id": "OFF", "type": "panic_alarm"}])
    rc = compute_coverage(d, as_of=AS_OF).room_comm.set_index("room_id")
    assert rc.index.tolist() == ["101", "102", "OFF", "GYM", "MUSIC"]
    assert rc["category"].tolist() == ["classroom", "classroom", "office", "large_space", "large_space"]
    assert rc.loc["OFF", "two_way_comm"] and rc.loc["OFF", "panic_alarm"]  # intercom station counts
    assert rc.loc["101", "missing"] == "panic alarm"
    assert rc.loc["102", "missing"] == "two-way comm, panic alarm"
    assert rc.loc["MUSIC", "unknown"] == "two-way comm"
    assert (rc["panic_alarms_in_building"] == 1).all()


def test_config_requires_a_source_for_every_value(tmp_path: Path):
    config = load_coverage_config()
    rows = config.assumptions()
    assert all(r["source"] for r in rows) and len(rows) > 40
    text = (Path(__file__).parents[1] / "facility_planner/geo/coverage.yaml").read_text()
    bad = tmp_path / "coverage.yaml"
    bad.write_text(text.replace('    source: "IFC 510.4.1.1: minimum signal strength of -95 dBm inside the building"\n', ""))
    with pytest.raises(ConfigError, match="threshold_dbm"):
        load_coverage_config(bad)
    bad.write_text(text.replace("entrance_level:\n    value: recognize", "entrance_level:\n    value: glance"))
    with pytest.raises(ConfigError, match="entrance_level"):
        load_coverage_config(bad)
    with pytest.raises(ConfigError, match="cannot be read"):
        load_coverage_config(tmp_path / "missing.yaml")


def test_every_layer_writes_to_a_geopackage(tmp_path: Path):
    import pyogrio

    from facility_planner.demo import demo_district

    district = demo_district(2, seed=5).to_district()
    cov = compute_coverage(district, as_of=AS_OF)
    target = tmp_path / "coverage.gpkg"
    write_geopackage(target, cov.layers)
    written = {name for name, _ in pyogrio.list_layers(target)}
    assert written == set(cov.layers)
    back = pyogrio.read_dataframe(target, layer="camera_views")
    assert len(back) == len(cov.layers["camera_views"]) and math.isclose(
        back.geometry.area.sum(), cov.layers["camera_views"].geometry.area.sum(), rel_tol=1e-9)


def test_empty_district_and_no_maps(coverage_campus):
    empty = coverage_campus(buildings={})
    cov = compute_coverage(empty, as_of=AS_OF)
    assert cov.facts.values.empty and all(len(layer) == 0 for layer in cov.layers.values())
    no_maps = coverage_campus(buildings={"A": None}, cameras=[{"camera_id": "C1", "building_id": "A",
                                                               "heading_deg": 0.0, "hfov_deg": 90.0,
                                                               "range_m": 20.0}])
    facts = compute_coverage(no_maps, as_of=AS_OF).facts.values
    assert facts.loc["A"].drop(["cameras_not_drawn", "camera_entrance_coverage_unknown"]).isna().all()


def _walk_config(walk_m: float):
    from facility_planner.geo.config import Sourced

    config = load_coverage_config()
    seconds = Sourced[float](value=walk_m / 1.52, source="test walk")
    return config.model_copy(update={"aeds": config.aeds.model_copy(update={"walk_seconds": seconds})})


def corridor_campus(coverage_campus, *, with_b=False):
    """60 x 30 building: corridor y 0-10, classroom y 10-30 behind a wall with one door at x = 40;
    the AED at (5, 5) in the corridor. The classroom point (5, 25) is 20 m away in a straight line
    and 35.36 + 38.08 = 73.4 m on foot through the door."""
    rooms = [{"room_id": "COR", "building_id": "A", "room_type": "corridor", "floor": 1},
             {"room_id": "CLS", "building_id": "A", "room_type": "classroom", "floor": 1}]
    buildings = {"A": (0, 0, 60, 30)}
    aeds = [aed("E1", x=5.0, y=5.0)]
    if with_b:
        buildings["B"] = (0, 100, 300, 120)
        aeds.append(aed("E2", x=0.0, y=110.0, building="B"))
    return coverage_campus(
        buildings=buildings, rooms=rooms, room_shapes={"COR": (0, 0, 60, 10), "CLS": (0, 10, 60, 30)},
        walls=[("A", ((0, 10), (60, 10)), "concrete_block", 1)],
        doors=[{"door_id": "D1", "building_id": "A", "room_id": "CLS", "role": "classroom", "x": 40.0, "y": 10.0}],
        aeds=aeds)


def _holds(layer, x, y):
    import shapely

    p = shapely.Point(500_000 + x, 4_300_000 + y)
    return bool(layer.geometry.contains(p).any())


def test_walk_along_the_corridor_goes_round_the_wall(coverage_campus):
    import shapely

    from facility_planner.geo.reach import STRAIGHT, WALKED

    d = corridor_campus(coverage_campus)
    short = compute_coverage(d, as_of=AS_OF, config=_walk_config(60.0))
    reach, gaps = short.layers["aed_reach"], short.layers["aed_unreached"]
    walked = reach[reach["method"] == WALKED]
    assert walked["aed_id"].tolist() == ["E1"] and walked["floor"].tolist() == [1]
    assert not _holds(walked, 5, 25) and _holds(gaps, 5, 25)  # 20 m away, 73 m on foot
    assert _holds(walked, 55, 5) and _holds(walked, 40, 20)  # corridor end 50 m, behind the door 35 m
    # reached: the corridor (600 m2) and the classroom within 60 - 35.36 m of the door; the grid's
    # 8-neighbour steps run up to 8% longer, so a little less
    beyond_door = shapely.box(0, 10, 60, 30).intersection(shapely.Point(40, 10).buffer(60 - 35.36)).area
    share = short.facts.values.loc["A", "aed_reach_coverage"]
    assert 100 * (600 + 0.8 * beyond_door) / 1800 < share < 100 * (600 + beyond_door) / 1800
    assert gaps["method"].tolist() == [WALKED]
    ev = short.facts.evidence.loc["A", "aed_reach_coverage"]
    assert ev[0] == f"{100 - share:.0f}% of floor area beyond a 60 m walk of an AED in service"
    assert ev[1].startswith(WALKED)
    far = compute_coverage(d, as_of=AS_OF, config=_walk_config(100.0))
    assert far.facts.values.loc["A", "aed_reach_coverage"] == 100.0
    assert _holds(far.layers["aed_reach"], 5, 25) and len(far.layers["aed_unreached"]) == 0
    # without the plans the point is within the straight-line reach, 60 / 1.3 = 46.2 m
    bare = coverage_campus(buildings={"A": (0, 0, 60, 30)}, aeds=[aed("E1", x=5.0, y=5.0)])
    cov = compute_coverage(bare, as_of=AS_OF, config=_walk_config(60.0))
    assert _holds(cov.layers["aed_reach"], 5, 25) and not _holds(cov.layers["aed_unreached"], 5, 25)
    assert cov.layers["aed_reach"]["method"].tolist() == [STRAIGHT]


def test_building_without_plans_keeps_the_straight_line(coverage_campus):
    from facility_planner.geo.reach import STRAIGHT, WALKED

    cov = compute_coverage(corridor_campus(coverage_campus, with_b=True), as_of=AS_OF)
    assert cov.facts.values.loc["B", "aed_reach_coverage"] == pytest.approx(strip_share(0), abs=0.1)
    assert cov.facts.evidence.loc["B", "aed_reach_coverage"] == [
        "65% of floor area beyond a 105 m walk of an AED in service"]
    reach = cov.layers["aed_reach"].set_index("aed_id", drop=False)
    assert reach.loc["E2", "method"] == STRAIGHT and reach.loc["E2", "radius_m"] == pytest.approx(REACH)
    gaps = cov.layers["aed_unreached"].set_index("building_id")
    share = cov.facts.values.loc["B", "aed_reach_coverage"]
    assert gaps.loc["B", "method"] == STRAIGHT and gaps.loc["B", "area_m2"] == pytest.approx(
        6000 / 0.9996 ** 2 * (1 - share / 100), rel=1e-6)  # true m² (UTM grid scale 0.9996)
    assert (reach.loc[reach["building_id"] == "A", "method"] != STRAIGHT).all()
    assert WALKED in cov.facts.evidence.loc["A", "aed_reach_coverage"][0]


def test_walked_layers_are_valid_and_tile_the_floor(coverage_campus):
    import shapely

    cov = compute_coverage(corridor_campus(coverage_campus), as_of=AS_OF, config=_walk_config(60.0))
    reach, gaps = cov.layers["aed_reach"], cov.layers["aed_unreached"]
    for layer in (reach, gaps):
        assert shapely.is_valid(layer.geometry.values).all() and layer.crs == "EPSG:32618"
    walked = reach[reach["method"] == "walked along corridors"]
    overlap = shapely.intersection(shapely.union_all(walked.geometry.values), gaps.geometry.iloc[0]).area
    assert overlap == pytest.approx(0.0, abs=1e-6)
    # cells whose centre lies in the footprint; the top 0.36 m strip is left out by the grid offset
    assert walked.geometry.area.sum() + gaps["area_m2"].sum() == pytest.approx(1800, rel=0.02)
    assert geopackage_layer(cov.layers["aed_reach"])["floor"].dtype == "Int64"


def test_wall_with_no_door_falls_back_to_the_straight_line(coverage_campus):
    from facility_planner.geo.reach import STRAIGHT

    d = coverage_campus(buildings={"A": (0, 0, 60, 30)},
                        walls=[("A", ((0, 10), (60, 10)), "concrete_block", 1)],
                        aeds=[aed("E1", x=5.0, y=5.0)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert cov.facts.values.loc["A", "aed_reach_coverage"] == 100.0  # 60.4 m < 105 m straight
    ev = cov.facts.evidence.loc["A", "aed_reach_coverage"]
    # 13 of the 20 rows of 1.5 m cells lie beyond the wall (10/30 of the floor, on the grid 7/20)
    assert ev[1].startswith("65% of floor area has no mapped door route to an AED") and STRAIGHT in ev[1]
    methods = set(cov.layers["aed_reach"]["method"])
    assert f"{STRAIGHT} (no mapped door route)" in methods


def test_stairs_add_their_penalty_per_floor(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 120, 10)}, floors={"A": 2},
                        walls=[("A", ((0, 0), (120, 0)), "concrete_block", None)],
                        aeds=[aed("E1", x=1.0, y=5.0)])
    cov = compute_coverage(d, as_of=AS_OF, config=_walk_config(100.0))
    reach = cov.layers["aed_reach"]
    by_floor = reach[reach["method"] == "walked along corridors"].set_index("floor").geometry
    # floor 1: 100 m along the strip; floor 2: 100 - 15 s x 1.52 m/s = 77.2 m (grid: to within a cell)
    assert by_floor.loc[1].bounds[2] - 500_000 == pytest.approx(101, abs=1.6)
    assert by_floor.loc[2].bounds[2] - 500_000 == pytest.approx(101 - 22.8, abs=1.6)
