"""Responder radio coverage: ITU-R P.1238 loss, walls, floors, outdoor estimate."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from facility_planner.geo import compute_coverage, load_coverage_config
from facility_planner.geo.config import CoverageConfig
from facility_planner.geo.radio import path_loss_db

AS_OF = date(2025, 9, 1)


def config_with(section: str, **values) -> CoverageConfig:
    return load_coverage_config().with_values(section, **values)


def repeater(rid="R1", *, x=2.0, y=10.0, building="A"):
    row = {"repeater_id": rid, "building_id": building, "kind": "bda"}
    if x is not None:
        row.update(x=x, y=y)
    return row


def test_path_loss_matches_itu_r_p1238():
    radio = load_coverage_config().radio
    # 20 log10(800) + 33 log10(10) + 0 - 28 = 58.06 + 33 - 28
    assert path_loss_db(np.array([10.0]), np.array([0]), n_coefficient=33.0, config=radio)[0] == \
        pytest.approx(20 * math.log10(800) + 5, abs=1e-9)
    # floor loss 9 / 19 / 24 dB, then +4 dB per extra floor; distance floored at 1 m
    loss = path_loss_db(np.full(5, 0.2), np.arange(5), n_coefficient=33.0, config=radio)
    assert (loss - loss[0]).tolist() == [0.0, 9.0, 19.0, 24.0, 28.0]


def test_repeater_coverage_shrinks_through_walls(coverage_campus):
    # 100 x 20 building, repeater at its west end. 20 cells per floor: 10 x 10 m cells.
    # No wall in the way (a wall behind the repeater only switches to explicit wall losses, N=20):
    # the farthest cell centre (95, 15) gets 20 - (58.06 + 20 log10 93.1 - 28) = -49.4 dBm.
    behind = [("A", ((1, 0), (1, 20)), "metal", 1)]
    clear = coverage_campus(buildings={"A": (0, 0, 100, 20)}, repeaters=[repeater()], walls=behind)
    facts = compute_coverage(clear, as_of=AS_OF).facts.values
    assert facts.loc["A", "radio_area_coverage"] == 100.0
    # Metal walls (26 dB) at x = 20, 40, 60, 80: cells up to x = 45 stay above -95 dBm
    # (centre (45, 5): 20 - 62.8 - 52 = -94.8), from x = 55 on they fall below (-96.6): 50 %.
    walls = behind + [("A", ((x, 0), (x, 20)), "metal", 1) for x in (20, 40, 60, 80)]
    walled = coverage_campus(buildings={"A": (0, 0, 100, 20)}, repeaters=[repeater()], walls=walls)
    cov = compute_coverage(walled, as_of=AS_OF)
    assert cov.facts.values.loc["A", "radio_area_coverage"] == pytest.approx(50.0)
    assert cov.facts.evidence.loc["A", "radio_area_coverage"] == ["floor 1: 50% of floor area below -95 dBm"]
    cells = cov.layers["radio_coverage"]
    assert len(cells) == 20 and cells["basis"].eq("repeater").all()
    assert cells["covered"].sum() == 10


def test_upper_floors_lose_floor_penetration_and_the_worst_floor_counts(coverage_campus):
    config = config_with("radio", eirp_dbm=-20.0)
    d = coverage_campus(buildings={"A": (0, 0, 100, 20)}, floors={"A": 2}, repeaters=[repeater()])
    cov = compute_coverage(d, config=config, as_of=AS_OF)
    cells = cov.layers["radio_coverage"]
    assert sorted(cells["floor"].unique()) == [1, 2] and len(cells) == 40
    f1 = cells[cells["floor"] == 1].sort_values("area_m2")["dbm"].to_numpy()
    f2 = cells[cells["floor"] == 2].sort_values("area_m2")["dbm"].to_numpy()
    assert np.allclose(f1 - f2, 9.0)  # one floor of P.1238 office floor loss
    share2 = 100 * cells.loc[cells["floor"] == 2, "covered"].mean()
    assert cov.facts.values.loc["A", "radio_area_coverage"] == pytest.approx(share2)
    assert share2 < 100 * cells.loc[cells["floor"] == 1, "covered"].mean()


def test_building_without_repeater_is_estimated_from_outdoor_signal(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 40, 20)})
    facts = compute_coverage(d, as_of=AS_OF).facts
    # default: -85 dBm outside - 12 dB entry loss = -97 dBm at the wall: nothing reaches -95
    assert facts.values.loc["A", "radio_area_coverage"] == 0.0
    assert facts.values.loc["A", "radio_needed"] == 1.0
    assert "no repeater: estimated from an outdoor signal of -85 dBm" in facts.evidence.loc["A", "radio_area_coverage"]
    # strong outdoor signal: -70 - 12 - 0.5 * depth >= -95 for depth <= 26 m: all of a 40 x 20 building
    strong = compute_coverage(d, config=config_with("radio", outdoor_signal_dbm=-70.0), as_of=AS_OF).facts
    assert strong.values.loc["A", "radio_area_coverage"] == 100.0
    assert strong.values.loc["A", "radio_needed"] == 0.0


def test_placed_repeater_leaves_coverage_unknown(coverage_campus):
    d = coverage_campus(buildings={"A": (0, 0, 40, 20)}, repeaters=[repeater(x=None)])
    cov = compute_coverage(d, as_of=AS_OF)
    assert np.isnan(cov.facts.values.loc["A", "radio_area_coverage"])
    assert cov.facts.evidence.loc["A", "radio_area_coverage"][0].startswith("repeater R1 not located")
    assert cov.layers["radio_coverage"]["basis"].eq("unknown").all()


def test_critical_areas_use_mapped_corridors(coverage_campus):
    # Corridor along the east end, beyond four metal walls: critical coverage 0 while the floor is 50 %.
    walls = [("A", ((x, 0), (x, 20)), "metal", 1) for x in (20, 40, 60, 80)]
    d = coverage_campus(buildings={"A": (0, 0, 100, 20)}, repeaters=[repeater()], walls=walls,
                        rooms=[{"room_id": "HALL", "building_id": "A", "room_type": "corridor", "floor": 1}],
                        room_shapes={"HALL": (85, 0, 100, 20)})
    facts = compute_coverage(d, as_of=AS_OF).facts
    assert facts.values.loc["A", "radio_area_coverage"] == pytest.approx(50.0)
    assert facts.values.loc["A", "radio_critical_coverage"] == 0.0
    # true m²: the fixture's grid is UTM 18N at its central meridian (scale 0.9996)
    assert facts.subjects.loc["A", "radio_critical_coverage"] == pytest.approx(300.0 / 0.9996 ** 2)
