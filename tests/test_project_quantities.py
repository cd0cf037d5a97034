"""Golden quantities and costs of every project kind, hand-worked (costs.yaml typical unit costs).

A project counts units: distinct assets that fall short (an AED named by two rules and a reach
sentence is one AED), never evidence lines.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facility_planner.model import SQUARE_FEET, make_district
from facility_planner.planning import build_projects, load_catalog
from facility_planner.planning.projects import named_assets

AED_LINES = ["B1-AED1 (pads expired 2024-12-30)",
             "100% of floor area beyond a 105 m walk of an AED in service",
             "AED B1-AED1 out of service"]


def _district():
    sites = pd.DataFrame({"site_id": ["S1"], "threat_level": ["high"]})
    buildings = pd.DataFrame({"building_id": ["B1", "P1"], "site_id": ["S1", "S1"], "occupancy": [400, 25],
                              "gross_area": [40_000 * SQUARE_FEET, None], "floors": [2, 1],
                              "lon": [-93.4, -93.401], "lat": [42.04, 42.04]})
    doors = pd.DataFrame({"door_id": [f"B1-D{i}" for i in range(1, 5)], "building_id": ["B1"] * 4,
                          "role": ["classroom"] * 4})
    aeds = pd.DataFrame({"aed_id": ["B1-AED1"], "building_id": ["B1"]})
    cameras = pd.DataFrame({"camera_id": ["B1-C1", "B1-C2"], "building_id": ["B1"] * 2})
    rooms = pd.DataFrame({"room_id": ["B1-101", "B1-102", "B1-OFFICE"], "building_id": ["B1"] * 3,
                          "room_type": ["classroom", "classroom", "office"]})
    return make_district({"sites": sites, "buildings": buildings, "doors": doors, "aeds": aeds,
                          "cameras": cameras, "rooms": rooms})


def _row(building, rule, measure, evidence, *, weight=1.0):
    return {"building_id": building, "site_id": "S1", "rule_id": rule, "pack": "cops_minimum", "layer": None,
            "component": None, "tier": np.nan, "measure": measure, "status": "unmet", "value": np.nan,
            "threshold": np.nan, "evidence": list(evidence), "weight": weight, "source": "test"}


#: (measure, building, evidence lines of the rules naming it, expected quantity)
CASES = [
    # the wireless option also closes remote_lockdown: its doors too (D1-D4)
    ("classroom_locks", "B1", [["B1-D1", "B1-D2"], ["B1-D2", "B1-D3"]], {"mechanical": 3, "wireless": 4}),
    ("remote_lockdown", "B1", [["B1-D1", "B1-D4"]], 2),
    ("glass_covering", "B1", [["B1-D3"]], 1),
    ("numbering", "B1", [["B1-D1", "B1-D2", "B1-D3", "B1-D4"]], 4),
    ("hard_corners", "B1", [["B1-101", "B1-102"]], 2),
    ("access_control", "B1", [["B1-D1"], ["door B1-D1 has no access control"]], 1),
    ("cameras", "B1", [["B1-D1", "B1-D2"], ["206 m of 228 m perimeter unwatched", "no working camera recorded"]], 2),
    ("aeds", "B1", [[AED_LINES[0]], AED_LINES[1:]], 1),  # one expired AED, named by two rules
    ("aeds", "P1", [["no AED recorded"], ["100% of floor area beyond a 105 m walk of an AED in service"]], 1),
    ("stop_the_bleed", "P1", [["no stop-the-bleed kit recorded"]], 1),
    ("repeater", "B1", [["no repeater recorded"]], 40_000),
    ("panic_alarm", "B1", [["no panic alarm recorded"]], 1),
    ("two_way_comm", "B1", [["B1-101"], ["B1-101", "B1-OFFICE"]], 2),
    ("lockbox", "B1", [["no lockbox recorded"]], 1),
    ("door_monitoring", "B1", [["B1-D1", "B1-D2"]], 2),
    ("visitor_system", "B1", [["no visitor management recorded"]], 1),
    ("video_retention", "B1", [["B1-C1: 7 days", "B1-C2: 14 days"], ["B1-C1: 7 days"]], 2),
]


@pytest.fixture(scope="module")
def projects():
    rows = [_row(b, f"{m}-{b}-{k}", m, ev) for m, b, lists, _ in CASES for k, ev in enumerate(lists)]
    return build_projects(pd.DataFrame(rows), _district()).set_index("project_id")


@pytest.mark.parametrize(("measure", "building", "lists", "quantity"), CASES,
                         ids=[f"{m}-{b}" for m, b, _, _ in CASES])
def test_quantity_and_cost(projects, measure, building, lists, quantity):
    catalog = load_catalog()
    for opt in catalog.options[measure]:
        pid = f"{building}:{measure}" + ("" if len(catalog.options[measure]) == 1 else f":{opt.option}")
        row = projects.loc[pid]
        want = quantity[opt.option] if isinstance(quantity, dict) else quantity
        assert row["quantity"] == want, row["quantity_basis"]
        assert row["cost"] == pytest.approx(opt.base_typical + want * opt.typical)
        assert row["quantity_basis"]


def test_hand_worked_costs(projects):
    """A few by hand: 3 mechanical locks at $470; 1 AED at $1,555; 40,000 sq ft of BDA at $1.40;
    access control $1,800 + 1 door at $1,700."""
    assert projects.loc["B1:classroom_locks:mechanical", "cost"] == pytest.approx(1410.0)
    assert projects.loc["B1:aeds", "cost"] == pytest.approx(1555.0)
    assert projects.loc["B1:repeater:bda", "cost"] == pytest.approx(56_000.0)
    assert projects.loc["B1:access_control", "cost"] == pytest.approx(3500.0)
    assert "B1-AED1" in projects.loc["B1:aeds", "quantity_basis"]


def test_named_assets_counts_each_id_once():
    assert named_assets(AED_LINES, {"B1-AED1"}) == ["B1-AED1"]
    assert named_assets(["D01", "D01", "no kit recorded"], set()) == ["D01"]


def _unit(building, fact, unit, basis, watches=""):
    return {"building_id": building, "fact": fact, "unit": unit, "watches": watches, "basis": basis}


def test_units_needed_add_to_assets_for_the_gaps_facts_only():
    """Cameras: faulty B1-C1 (an asset) + 2 new cameras standing for the unseen doors B1-D1..D3,
    which are not counted again. AEDs: the 3 new AEDs of the reach gap count only when a rule of
    the project's gap is on ``aed_reach_coverage`` (the presence rule alone asks for 1)."""
    rows = [{**_row("B1", "A2-ENTRANCES", "cameras", ["B1-D1", "B1-D2", "B1-D3"]), "fact": "camera_entrance_coverage"},
            {**_row("B1", "A2-CAMERAS", "cameras", ["camera B1-C1 faulty"]), "fact": "cameras_working"},
            {**_row("P1", "C1-AED", "aeds", ["no AED recorded"]), "fact": "aeds_in_service"}]
    units = pd.DataFrame([
        _unit("B1", "camera_entrance_coverage", "camera", "2 new cameras (hand-worked)", "B1-D1, B1-D2"),
        _unit("B1", "camera_entrance_coverage", "camera", "2 new cameras (hand-worked)", "B1-D3"),
        *[_unit("P1", "aed_reach_coverage", "aed", "3 new AEDs (hand-worked)")] * 3])
    projects = build_projects(pd.DataFrame(rows), _district(), units=units).set_index("project_id")
    cams = projects.loc["B1:cameras"]
    assert cams["quantity"] == 3 and cams["cost"] == pytest.approx(3 * 1850.0)
    assert cams["quantity_basis"] == ("1 distinct asset(s) falling short (B1-C1), one camera each; "
                                      "2 new cameras (hand-worked)")
    aed = projects.loc["P1:aeds"]
    assert aed["quantity"] == 1 and "new AED" not in aed["quantity_basis"]
    with_reach = rows[:2] + [{**rows[2], "rule_id": "C1-AED-REACH", "fact": "aed_reach_coverage"}]
    again = build_projects(pd.DataFrame(with_reach), _district(), units=units).set_index("project_id")
    assert again.loc["P1:aeds", "quantity"] == 3
    assert again.loc["P1:aeds", "quantity_basis"] == "3 new AEDs (hand-worked)"
