"""AED and kit reach, room communication, configuration and export of the coverage layers."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from facility_planner.errors import ConfigError
from facility_planner.geo import compute_coverage, coverage_layers_for_export, load_coverage_config

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
    assert gap["area_m2"].iloc[0] == pytest.approx(6000 * (1 - share / 100), rel=1e-6)
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
    layers = coverage_layers_for_export(cov)
    target = tmp_path / "coverage.gpkg"
    for name, layer in layers.items():
        pyogrio.write_dataframe(layer, target, layer=name)
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
