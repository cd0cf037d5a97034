"""Facts per building and site on tiny hand-built campuses (values worked out by hand)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from facility_planner.errors import RulesPackError
from facility_planner.facts import (
    FACTS,
    FactResult,
    building_facts,
    fact,
    fact_catalog,
    site_facts,
)
from facility_planner.model import make_district

AS_OF = date(2025, 9, 1)


def _bool(values):
    return pd.array(values, dtype="boolean")


@pytest.fixture(scope="module")
def district():
    tables = {
        "sites": pd.DataFrame({"site_id": ["S1", "S2"], "last_assessment": pd.to_datetime(["2025-08-01", None])}),
        "buildings": pd.DataFrame({"building_id": ["B1", "B2", "B3"], "site_id": ["S1", "S1", "S2"],
                                   "building_number": ["1", " ", None]}),
        "doors": pd.DataFrame({
            "door_id": ["D1", "D2", "D3", "D4", "D5", "D6"],
            "building_id": ["B1", "B1", "B1", "B1", "B1", "B2"],
            "role": ["classroom", "classroom", "classroom", "exterior_primary", "exterior_egress", "classroom"],
            "lock_from_inside": _bool([True, False, None, None, None, False]),
            "remote_lock": _bool([False, False, True, None, None, True]),
            "access_control": _bool([None, None, None, True, False, None]),
            "has_glass": _bool([True, True, None, None, None, False]),
            "glass_covering": _bool([True, False, None, None, None, None]),
            "numbered": _bool([True, True, False, True, None, None]),
            "position_monitored": _bool([None, None, None, True, False, None])}),
        "rooms": pd.DataFrame({"room_id": ["R1", "R2", "R3"], "building_id": ["B1", "B1", "B3"],
                               "room_type": ["classroom", "gym", "classroom"],
                               "two_way_comm": _bool([True, None, False])}),
        "cameras": pd.DataFrame({"camera_id": ["C1", "C2", "C3", "C4"], "building_id": ["B1", "B1", "B1", "B2"],
                                 "mount": ["exterior", "interior", None, "exterior"],
                                 "status": ["working", "working", "offline", None],
                                 "recording_days": [30, 14, None, 7]}),
        "aeds": pd.DataFrame({"aed_id": ["A1", "A2", "A3"], "building_id": ["B1", "B1", "B2"],
                              "pads_expiry": pd.to_datetime(["2026-01-01", "2025-08-31", None]),
                              "battery_expiry": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-01"])}),
        "equipment": pd.DataFrame({"equipment_id": ["L1", "P1"], "building_id": ["B2", "B1"],
                                   "room_id": [None, "R1"], "type": ["lockbox", "panic_alarm"]}),
        "programs": pd.DataFrame({"site_id": ["S1", "S1"], "action": [1, 2], "status": ["in_place", "not_needed"],
                                  "last_reviewed": pd.to_datetime(["2025-08-02", None])}),
    }
    return make_district(tables, crs="EPSG:32618")


@pytest.fixture(scope="module")
def facts(district):
    return building_facts(district, as_of=AS_OF)


def cell(table, fact_name, building):
    return (table.values.loc[building, fact_name], table.subjects.loc[building, fact_name],
            table.evidence.loc[building, fact_name])


def test_index_and_shape(facts, district):
    assert list(facts.values.index) == ["B1", "B2", "B3"]
    assert facts.values.index.name == "building_id"
    assert list(facts.values.columns) == list(facts.evidence.columns) == list(facts.subjects.columns)


def test_classroom_door_shares(facts):
    # D1 inside lock, D2 none, D3 remote only -> 2 of 3 lockable; D2 fails
    assert cell(facts, "classroom_doors_lockable", "B1") == (pytest.approx(200 / 3), 3, ["D2"])
    # inside lock: D1 yes, D2 no, D3 unknown -> 50 % of 2 known; D3 in the unknown companion
    assert cell(facts, "classroom_doors_lock_inside", "B1") == (50.0, 3, ["D2"])
    assert cell(facts, "classroom_doors_lock_inside_unknown", "B1") == (1.0, 3, ["D3"])
    assert cell(facts, "classroom_doors_numbered", "B1") == (pytest.approx(200 / 3), 3, ["D3"])
    # glass: D1 covered, D2 not, D3 glass unknown -> 1 of 2 known
    assert cell(facts, "classroom_door_glass_covered", "B1") == (50.0, 3, ["D2"])
    assert facts.evidence.loc["B1", "classroom_door_glass_covered_unknown"] == ["D3"]
    # B2's only classroom door has no glass: nothing to cover
    assert facts.subjects.loc["B2", "classroom_door_glass_covered"] == 0
    # B3 has a classroom but no classroom door recorded: unknown, not zero
    v, n, _ = cell(facts, "classroom_doors_lockable", "B3")
    assert np.isnan(v) and n == 1
    assert facts.evidence.loc["B3", "classroom_doors_lockable_unknown"] == [
        "no classroom doors recorded for 1 room(s)"]


def test_lockbox_and_exterior(facts):
    # B1: D3 locks remotely and no lockbox recorded in B1; B2: D6 remote and lockbox L1
    assert cell(facts, "remote_locks_lockbox", "B1") == (
        0.0, 1, ["no lockbox recorded; 1 classroom door(s) lock remotely"])
    assert cell(facts, "remote_locks_lockbox", "B2") == (100.0, 1, [])
    assert cell(facts, "entry_doors_access_control", "B1") == (100.0, 1, [])
    assert cell(facts, "exterior_doors_monitored", "B1") == (50.0, 2, ["D5"])
    assert cell(facts, "exterior_doors_numbered", "B1") == (100.0, 2, [])
    assert facts.values.loc["B1", "exterior_doors_numbered_unknown"] == 1
    assert facts.subjects.loc["B2", "entry_doors_access_control"] == 0


def test_rooms(facts):
    assert cell(facts, "classrooms_two_way", "B1") == (100.0, 1, [])
    assert cell(facts, "classrooms_two_way", "B3") == (0.0, 1, ["R3"])
    v, n, _ = cell(facts, "large_spaces_two_way", "B1")
    assert np.isnan(v) and n == 1 and facts.evidence.loc["B1", "large_spaces_two_way_unknown"] == ["R2"]
    assert cell(facts, "classrooms_panic_alarm", "B1") == (100.0, 1, [])
    assert cell(facts, "classrooms_hard_corner", "B1")[1] == 1


def test_cameras(facts):
    assert cell(facts, "cameras_working", "B1") == (2.0, 1, ["C3 (not working)"])
    assert facts.values.loc["B2", "cameras_working"] == 0
    assert facts.values.loc["B2", "cameras_working_unknown"] == 1
    assert facts.evidence.loc["B2", "cameras_working_unknown"] == ["C4"]
    assert cell(facts, "cameras_exterior_working", "B1") == (1.0, 1, [])
    assert cell(facts, "video_retention_days", "B1") == (14.0, 2, ["C2: 14 days"])
    assert cell(facts, "cameras_working", "B3") == (0.0, 1, ["no working camera recorded"])


def test_aeds(facts):
    assert cell(facts, "aeds_in_service", "B1") == (1.0, 1, [])
    assert cell(facts, "aeds_expired", "B1") == (1.0, 2, ["A2 (pads expired 2025-08-31)"])
    assert facts.values.loc["B2", "aeds_in_service_unknown"] == 1
    assert cell(facts, "aeds_expired", "B3")[1] == 0


def test_counts_and_not_inventoried(facts):
    assert cell(facts, "panic_alarms", "B1") == (1.0, 1, [])
    assert cell(facts, "stop_the_bleed_kits", "B1") == (0.0, 1, ["no stop-the-bleed kit recorded"])
    # no repeaters sheet rows anywhere: unknown, never zero
    assert np.isnan(facts.values.loc["B1", "radio_repeaters"])
    assert "not inventoried" in facts.evidence.loc["B1", "radio_repeaters_unknown"][0]
    assert cell(facts, "building_number_posted", "B2") == (0.0, 1, ["building number not posted"])
    assert cell(facts, "building_number_posted", "B1") == (100.0, 1, [])


def test_site_facts(district):
    s = site_facts(district, as_of=AS_OF)
    assert list(s.values.index) == ["S1", "S2"]
    assert s.values.loc["S1", "assessment_age_days"] == 31
    assert np.isnan(s.values.loc["S2", "assessment_age_days"])
    assert s.evidence.loc["S2", "assessment_age_days"] == ["no assessment date recorded"]
    assert s.values.loc["S1", "action_1_status"] == 1.0
    assert s.values.loc["S1", "action_1_review_days"] == 30
    assert s.subjects.loc["S1", "action_2_status"] == 0      # not needed: not applicable
    assert np.isnan(s.values.loc["S1", "action_3_status"])  # no answer: unknown
    assert s.values.loc["S1", "buildings_numbered"] == 50.0
    assert s.evidence.loc["S1", "buildings_numbered"] == ["B2"]


def test_registry_plugs_in_new_facts(district):
    @fact("test_doors_total", unit="doors", description="All doors (test).")
    def test_doors_total(ctx):
        doors = ctx.table("doors")
        counts = pd.Series(np.bincount(doors["_pos"], minlength=len(ctx.index)).astype(float), index=ctx.index)
        return FactResult(counts, pd.Series([[] for _ in ctx.index], index=ctx.index, dtype=object),
                          pd.Series(1.0, index=ctx.index))

    try:
        table = building_facts(district, as_of=AS_OF, names=["test_doors_total", "panic_alarms"])
        assert list(table.values["test_doors_total"]) == [5.0, 1.0, 0.0]
        assert set(table.values.columns) == {"test_doors_total", "panic_alarms", "panic_alarms_unknown"}
        catalog = fact_catalog()
        assert "test_doors_total" in set(catalog["name"])
        assert {"camera_entrance_coverage", "aed_reach_coverage"} <= set(
            catalog.loc[catalog["provider"] == "coverage", "name"])
    finally:
        del FACTS["building"]["test_doors_total"]
    with pytest.raises(RulesPackError, match='no building fact named nope'):
        building_facts(district, as_of=AS_OF, names=["nope"])
