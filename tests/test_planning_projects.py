"""Cost catalog, risk model and projects from a hand-built results frame (hand-worked figures)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facility_planner.errors import ConfigError
from facility_planner.model import SQUARE_FEET, make_district
from facility_planner.planning import (
    assumptions_frame,
    build_projects,
    building_risk,
    data_needed,
    gaps_table,
    load_catalog,
    load_risk_config,
)

DOORS_14 = [f"D{i:02d}" for i in range(1, 15)]
DOORS_20 = [f"D{i:02d}" for i in range(1, 21)]


def _district():
    sites = pd.DataFrame({"site_id": ["S1", "S2"], "threat_level": ["high", None]})
    buildings = pd.DataFrame({
        "building_id": ["B1", "B2"], "site_id": ["S1", "S2"], "occupancy": [450, None],
        "gross_area": [50_000 * SQUARE_FEET, None], "floors": [1, 2],
        "lon": [-77.0, -77.01], "lat": [38.9, 38.91]})
    return make_district({"sites": sites, "buildings": buildings})


def _row(building, site, rule, measure, status, weight, *, evidence=(), pack="cops_minimum", layer=None,
         component=None, tier=np.nan):
    return {"building_id": building, "site_id": site, "rule_id": rule, "pack": pack, "layer": layer,
            "component": component, "tier": tier, "measure": measure, "status": status, "value": np.nan,
            "threshold": np.nan, "evidence": list(evidence), "weight": weight, "source": "test"}


def _results() -> pd.DataFrame:
    rows = [
        _row("B1", "S1", "M2", "classroom_locks", "unmet", 3, evidence=DOORS_14),
        _row("B1", "S1", "PASS-CL-2", "remote_lockdown", "unmet", 1, evidence=DOORS_20, pack="pass_k12",
             layer="classroom", component="access_control", tier=2),
        _row("B1", "S1", "PASS-CL-1", "classroom_locks", "unmet", 1, evidence=DOORS_14, pack="pass_k12",
             layer="classroom", component="access_control", tier=1),
        _row("B1", "S1", "C2", "repeater", "unmet", 2, evidence=["no repeater recorded"]),
        _row("B1", "S1", "M1", "numbering", "met", 2),
        _row("B1", "S1", "M3", "glass_covering", "partial", 2, evidence=["D03", "D04"]),
        _row("B1", "S1", "M4", "hard_corners", "unknown", 2),
        _row(None, "S1", "TEA-1", None, "unmet", 1, pack="ten_actions"),
        _row("B1", "S1", "A2", "cameras", "not_applicable", 2),
        _row("B2", "S2", "C1-kit", "stop_the_bleed", "unmet", 1, evidence=["no kit recorded"]),
        _row("B2", "S2", "C1-aed", "aeds", "met", 1),
    ]
    return pd.DataFrame(rows)


def test_risk_factors_hand_worked():
    risk = building_risk(_results(), _district())
    b1 = risk.loc["B1"]
    # weights 3+1+1+2+2+2+2+1 = 14 applicable; short 3+1+1+2+0+1(partial)+1(unknown half)+1(site) = 10
    assert b1["consequence"] == 7 and b1["threat"] == 8
    assert b1["weight_total"] == 14 and b1["weight_short"] == 10
    assert b1["vulnerability"] == pytest.approx(1 + 9 * 10 / 14)
    assert b1["risk"] == pytest.approx(416.0)
    assert (b1["unmet"], b1["partial"], b1["unknown"], b1["met"]) == (5, 1, 1, 1)
    b2 = risk.loc["B2"]  # occupancy and threat unknown: mid-scale 5 each, shown as assumptions
    assert (b2["consequence"], b2["threat"]) == (5, 5)
    assert b2["risk"] == pytest.approx(25 * 5.5)


def test_projects_quantity_cost_and_risk_reduction():
    projects = build_projects(_results(), _district()).set_index("project_id")
    locks = projects.loc["B1:classroom_locks:mechanical"]
    assert locks["quantity"] == 14 and locks["unit"] == "door"
    assert (locks["cost_low"], locks["cost"], locks["cost_high"]) == (14 * 410, 14 * 470, 14 * 530)
    # closing rules of weight 3 + 1 removes 36 risk points each (7 x 8 x 9 / 14)
    assert locks["risk_reduction"] == pytest.approx(144.0)
    assert locks["risk_after"] == pytest.approx(416.0 - 144.0)
    annuity = (1 - 1.031 ** -20) / 0.031
    assert locks["life_cycle_cost"] == pytest.approx(6580 + 140 * annuity)
    assert locks["grants"] == ["SVPP", "bond"] and locks["local_match"] == pytest.approx(0.25 * 6580)

    wireless = projects.loc["B1:classroom_locks:wireless"]
    assert wireless["closes"] == ["classroom_locks", "remote_lockdown"]
    assert wireless["quantity"] == 20 and wireless["risk_reduction"] == pytest.approx(180.0)
    remote = projects.loc["B1:remote_lockdown"]
    assert remote["requires"] == ["B1:classroom_locks"]
    assert remote["excludes"] == ["B1:classroom_locks:wireless"]
    assert remote["quantity"] == 20 and remote["risk_reduction"] == pytest.approx(36.0)

    bda, das = projects.loc["B1:repeater:bda"], projects.loc["B1:repeater:das"]
    assert bda["choice_group"] == das["choice_group"] == "B1:repeater"
    assert bda["quantity"] == 50_000 and bda["cost"] == pytest.approx(70_000)
    assert bda["estimate"]
    glass = projects.loc["B1:glass_covering"]
    assert glass["quantity"] == 2 and glass["risk_reduction"] == pytest.approx(36.0)  # partial: half of 2

    kit = projects.loc["B2:stop_the_bleed"]
    assert kit["cost"] == 65 and kit["risk_reduction"] == pytest.approx(25 * 9 * 1 / 2)
    assert "B1:hard_corners" not in projects.index  # unknown: data needed, not a project
    ranks = build_projects(_results(), _district())
    assert list(ranks["rank"]) == list(range(1, len(ranks) + 1))
    assert ranks["ratio"].is_monotonic_decreasing


def test_unknown_is_data_needed_and_gaps_name_projects():
    results = _results()
    needed = data_needed(results)
    assert list(needed["rule_id"]) == ["M4"]
    gaps = gaps_table(results, build_projects(results, _district()))
    m2 = gaps.set_index("rule_id").loc["M2"]
    assert m2["evidence_count"] == 14 and m2["evidence"].startswith("D01; D02")
    assert "B1:classroom_locks:mechanical" in m2["projects"] and m2["next_step"] == "retrofit project"
    assert gaps.set_index("rule_id").loc["TEA-1", "next_step"] == "policy or programme"


def test_tier_two_requires_tier_one_base():
    results = _results()
    extra = _row("B1", "S1", "PASS-AC-2", "door_monitoring", "unmet", 1, evidence=["D90"], pack="pass_k12",
                 layer="building", component="access_control", tier=2)
    base = _row("B1", "S1", "PASS-VIS-1", "visitor_system", "unmet", 1, evidence=["x"], pack="pass_k12",
                layer="building", component="access_control", tier=1)
    projects = build_projects(pd.concat([results, pd.DataFrame([extra, base])]), _district()).set_index("project_id")
    assert projects.loc["B1:door_monitoring", "requires"] == ["B1:visitor_system"]
    assert projects.loc["B1:visitor_system", "requires"] == []


def test_district_catalog_overrides_defaults(tmp_path):
    path = tmp_path / "district_costs.yaml"
    path.write_text("measures:\n  classroom_locks:\n    options:\n      mechanical:\n        typical: 500\n"
                    "        source: District bid 2025\n  stop_the_bleed:\n    typical: 70\n", encoding="utf-8")
    catalog = load_catalog(path)
    mech = next(o for o in catalog.options["classroom_locks"] if o.option == "mechanical")
    assert mech.typical == 500 and mech.low == 410 and mech.source == "District bid 2025"
    projects = build_projects(_results(), _district(), catalog=catalog).set_index("project_id")
    assert projects.loc["B1:classroom_locks:mechanical", "cost"] == 14 * 500
    assert projects.loc["B2:stop_the_bleed", "cost"] == 70


def test_catalog_and_risk_errors_name_the_field(tmp_path):
    with pytest.raises(ConfigError, match="cameras.*low <= typical <= high"):
        load_catalog({"measures": {"cameras": {"low": 3000}}})
    with pytest.raises(ConfigError, match="grant 'XYZ'"):
        load_catalog({"measures": {"cameras": {"grants": ["XYZ"]}}})
    with pytest.raises(ConfigError, match="cycle"):
        load_catalog({"measures": {"classroom_locks": {"requires": ["remote_lockdown"]}}})
    with pytest.raises(ConfigError, match="unknown_share"):
        load_risk_config({"vulnerability": {"unknown_share": 2}})


def test_risk_config_override_changes_unknown_share():
    config = load_risk_config({"vulnerability": {"unknown_share": 0.0}})
    risk = building_risk(_results(), _district(), config=config)
    assert risk.loc["B1", "weight_short"] == 9


def test_assumptions_list_every_value_with_source():
    frame = assumptions_frame(parameters={"budget": 100_000})
    cams = frame[frame["item"] == "cameras"].set_index("parameter")
    assert cams.loc["unit_cost_low", "value"] == 1080 and "Carroll ISD" in cams.loc["unit_cost_low", "source"]
    assert frame.loc[frame["item"] == "numbering", "estimate"].all()
    assert {"consequence", "threat", "vulnerability", "grant", "run"} <= set(frame["area"])
    assert frame["source"].astype(str).str.len().gt(0).all()
