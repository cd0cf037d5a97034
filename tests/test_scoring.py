"""Scoring on a hand-built campus whose every answer was worked out by hand.

Campus S1 (as of 2025-09-01):

- ``FULL``: everything in place -> all ten COPS measures met, score 100.
- ``GAPS``: half-done -> M1, M2, M4, A2, C2, C4 partial; M3, A1, C1, C3 unmet; score 700/26.
- ``UNK``: every answer blank -> unknown, except A1 (no exterior door: not applicable) and
  C2 (no repeater recorded: unmet whatever the coverage).
- ``PORT``: an empty portable -> classroom measures not applicable, M1 met, the rest unmet.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest
import yaml

from facility_planner.facts import building_facts, site_facts
from facility_planner.model import FactTable, make_district
from facility_planner.rules import default_packs, load_pack
from facility_planner.scoring import STATUSES, score

AS_OF = date(2025, 9, 1)
Y, N, U = True, False, None


def _frame(columns: list[str], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def campus_tables() -> dict[str, pd.DataFrame]:
    rooms = _frame(
        ["room_id", "building_id", "room_type", "hard_corner", "two_way_comm", "windows", "window_covering"],
        [("R1", "FULL", "classroom", Y, Y, Y, Y), ("R2", "FULL", "office", U, Y, U, U),
         ("R3", "FULL", "gym", U, Y, U, U),
         ("R4", "GAPS", "classroom", N, N, Y, N), ("R5", "GAPS", "classroom", Y, Y, N, U),
         ("R6", "UNK", "classroom", U, U, U, U)])
    for c in ("hard_corner", "two_way_comm", "windows", "window_covering"):
        rooms[c] = rooms[c].astype("boolean")
    doors = _frame(
        ["door_id", "building_id", "room_id", "role", "lock_from_inside", "remote_lock", "access_control",
         "has_glass", "glass_covering", "numbered", "position_monitored"],
        [("D1", "FULL", "R1", "classroom", Y, N, U, Y, Y, Y, U),
         ("D2", "FULL", None, "exterior_primary", U, Y, Y, N, U, Y, Y),
         ("D3", "GAPS", "R4", "classroom", N, N, U, Y, N, N, U),
         ("D4", "GAPS", "R5", "classroom", Y, N, U, N, U, Y, U),
         ("D5", "GAPS", None, "exterior_primary", U, U, N, U, U, U, U),
         ("D6", "UNK", "R6", "classroom", U, U, U, U, U, U, U)])
    for c in doors.columns[4:]:
        doors[c] = doors[c].astype("boolean")
    return {
        "sites": pd.DataFrame({"site_id": ["S1"], "name": ["Maple"],
                               "last_assessment": [pd.Timestamp("2025-06-01")]}),
        "buildings": pd.DataFrame({"building_id": ["FULL", "GAPS", "UNK", "PORT"], "site_id": ["S1"] * 4,
                                   "building_number": ["1", None, "3", "4"]}),
        "rooms": rooms, "doors": doors,
        "cameras": pd.DataFrame({"camera_id": ["C1", "C2", "C3"], "building_id": ["FULL", "GAPS", "UNK"],
                                 "mount": ["exterior", "interior", "exterior"],
                                 "status": ["working", "working", None], "recording_days": [30, 7, 30]}),
        "aeds": pd.DataFrame({"aed_id": ["A1", "A2", "A3"], "building_id": ["FULL", "GAPS", "UNK"],
                              "pads_expiry": pd.to_datetime(["2026-06-01", "2025-01-01", None]),
                              "battery_expiry": pd.to_datetime(["2027-01-01", "2027-01-01", "2027-01-01"])}),
        "equipment": pd.DataFrame({"equipment_id": ["K1", "P1", "X1"], "building_id": ["FULL", "FULL", "UNK"],
                                   "room_id": [None, "R2", None],
                                   "type": ["stop_the_bleed_kit", "panic_alarm", None]}),
        "repeaters": pd.DataFrame({"repeater_id": ["RP1"], "building_id": ["FULL"], "kind": ["bda"],
                                   "psap_linked": pd.array([False], dtype="boolean")}),
        "programs": pd.DataFrame({
            "site_id": ["S1"] * 6, "action": [1, 2, 3, 4, 5, 7],
            "status": ["in_place", "in_place", "in_progress", "future", "not_needed", "in_place"],
            "last_reviewed": pd.to_datetime(["2025-03-01", "2024-01-01", "2025-05-01", None, None, None])}),
        "checklist": pd.DataFrame({
            "site_id": ["S1", "S1", "S1", "S1"],
            "rule_id": ["PASS-BP-PP-1", "PASS-BP-PP-1", "PASS-DW-PP-1", "PASS-BP-PP-1b"],
            "building_id": [None, "GAPS", None, "FULL"],
            "status": ["in_place", "future", "in_progress", "not_needed"],
            "note": [None, "doors not graded yet", None, None]}),
    }


def coverage() -> FactTable:
    """Coverage facts as geo.compute_coverage would give them (worked out by hand, not computed)."""
    idx = pd.Index(["FULL", "GAPS", "UNK", "PORT"], name="building_id")
    values = pd.DataFrame({"camera_entrance_coverage": [100.0, 50.0, np.nan, np.nan],
                           "camera_perimeter_coverage": [90.0, 10.0, np.nan, np.nan],
                           "aed_reach_coverage": [95.0, 30.0, np.nan, np.nan],
                           "radio_area_coverage": [97.0, 85.0, np.nan, np.nan]}, index=idx)
    subjects = pd.DataFrame({c: [1.0, 1.0, 1.0, 0.0 if c == "camera_entrance_coverage" else 1.0]
                             for c in values.columns}, index=idx)
    evidence = pd.DataFrame({c: [[] for _ in idx] for c in values.columns}, index=idx)
    return FactTable(values, evidence, subjects)


@pytest.fixture(scope="module")
def district():
    return make_district(campus_tables(), crs="EPSG:32618")


@pytest.fixture(scope="module")
def facts(district):
    return building_facts(district, as_of=AS_OF).join(coverage())


@pytest.fixture(scope="module")
def scores(district, facts):
    return score(district, facts, default_packs(), site_facts=site_facts(district, as_of=AS_OF))


def status(scores, building, rule):
    r = scores.results
    row = r[(r["building_id"] == building).to_numpy() & (r["rule_id"] == rule).to_numpy()]
    assert len(row) == 1, (building, rule)
    return str(row["status"].iloc[0]), list(row["evidence"].iloc[0])


def site_status(scores, site, rule):
    r = scores.results
    row = r[(r["site_id"] == site).to_numpy() & r["building_id"].isna().to_numpy()
            & (r["rule_id"] == rule).to_numpy()]
    assert len(row) == 1
    return str(row["status"].iloc[0]), list(row["evidence"].iloc[0])


EXPECTED_RULES = {
    # rule: {building: (status, evidence)}; evidence None = not checked
    "M1-BUILDING": {"FULL": ("met", []), "GAPS": ("unmet", ["building number not posted"]),
                    "UNK": ("met", []), "PORT": ("met", [])},
    "M1-CLASSROOMS": {"FULL": ("met", []), "GAPS": ("partial", ["D3"]), "UNK": ("unknown", ["D6"]),
                      "PORT": ("not_applicable", [])},
    "M2-LOCKS": {"FULL": ("met", []), "GAPS": ("partial", ["D3"]), "UNK": ("unknown", ["D6"]),
                 "PORT": ("not_applicable", [])},
    "M2-LOCKBOX": {b: ("not_applicable", []) for b in ("FULL", "GAPS", "UNK", "PORT")},
    "M3-DOOR-GLASS": {"FULL": ("met", []), "GAPS": ("unmet", ["D3"]), "UNK": ("unknown", ["D6"]),
                      "PORT": ("not_applicable", [])},
    "M3-WINDOWS": {"FULL": ("met", []), "GAPS": ("unmet", ["R4"]), "UNK": ("unknown", ["R6"]),
                   "PORT": ("not_applicable", [])},
    "M4-HARD-CORNERS": {"FULL": ("met", []), "GAPS": ("partial", ["R4"]), "UNK": ("unknown", ["R6"]),
                        "PORT": ("not_applicable", [])},
    "A1-ENTRY-DOORS": {"FULL": ("met", []), "GAPS": ("unmet", ["D5"]), "UNK": ("not_applicable", []),
                       "PORT": ("not_applicable", [])},
    "A2-CAMERAS": {"FULL": ("met", []), "GAPS": ("met", []), "UNK": ("unknown", ["C3"]),
                   "PORT": ("unmet", ["no working camera recorded"])},
    "A2-ENTRANCES": {"FULL": ("met", []), "GAPS": ("partial", []), "UNK": ("unknown", None),
                     "PORT": ("not_applicable", [])},
    "C1-AED": {"FULL": ("met", []), "GAPS": ("unmet", ["A2 (pads expired 2025-01-01)"]),
               "UNK": ("unknown", ["A3"]), "PORT": ("unmet", ["no AED in service recorded"])},
    "C1-AED-EXPIRY": {"FULL": ("met", []), "GAPS": ("unmet", ["A2 (pads expired 2025-01-01)"]),
                      "UNK": ("unknown", ["A3"]), "PORT": ("not_applicable", [])},
    "C1-AED-REACH": {"FULL": ("met", []), "GAPS": ("unmet", []), "UNK": ("unknown", None),
                     "PORT": ("unknown", None)},
    "C1-KITS": {"FULL": ("met", []), "GAPS": ("unmet", ["no stop-the-bleed kit recorded"]),
                "UNK": ("unknown", ["X1"]), "PORT": ("unmet", ["no stop-the-bleed kit recorded"])},
    "C2-REPEATER": {"FULL": ("met", []), "GAPS": ("unmet", ["no radio repeater recorded"]),
                    "UNK": ("unmet", None), "PORT": ("unmet", None)},
    "C2-COVERAGE": {"FULL": ("met", []), "GAPS": ("partial", []), "UNK": ("unknown", None),
                    "PORT": ("unknown", None)},
    "C3-PANIC-ALARM": {"FULL": ("met", []), "GAPS": ("unmet", ["no panic alarm recorded"]),
                       "UNK": ("unknown", ["X1"]), "PORT": ("unmet", None)},
    "C4-CLASSROOMS": {"FULL": ("met", []), "GAPS": ("partial", ["R4"]), "UNK": ("unknown", ["R6"]),
                      "PORT": ("not_applicable", [])},
    "C4-OFFICES": {"FULL": ("met", []), "GAPS": ("not_applicable", []), "UNK": ("not_applicable", []),
                   "PORT": ("not_applicable", [])},
    "C4-LARGE-SPACES": {"FULL": ("met", []), "GAPS": ("not_applicable", []),
                        "UNK": ("not_applicable", []), "PORT": ("not_applicable", [])},
}

EXPECTED_MEASURES = {
    "FULL": dict.fromkeys(("M1", "M2", "M3", "M4", "A1", "A2", "C1", "C2", "C3", "C4"), "met"),
    "GAPS": {"M1": "partial", "M2": "partial", "M3": "unmet", "M4": "partial", "A1": "unmet",
             "A2": "partial", "C1": "unmet", "C2": "partial", "C3": "unmet", "C4": "partial"},
    "UNK": {"M1": "unknown", "M2": "unknown", "M3": "unknown", "M4": "unknown", "A1": "not_applicable",
            "A2": "unknown", "C1": "unknown", "C2": "unmet", "C3": "unknown", "C4": "unknown"},
    "PORT": {"M1": "met", "M2": "not_applicable", "M3": "not_applicable", "M4": "not_applicable",
             "A1": "not_applicable", "A2": "unmet", "C1": "unmet", "C2": "unmet", "C3": "unmet",
             "C4": "not_applicable"},
}


@pytest.mark.parametrize("rule", sorted(EXPECTED_RULES))
def test_every_cops_rule_by_hand(scores, rule):
    for building, (want, evidence) in EXPECTED_RULES[rule].items():
        got, got_evidence = status(scores, building, rule)
        assert got == want, (rule, building, got_evidence)
        if evidence is not None:
            assert got_evidence == evidence, (rule, building)


def test_every_status_occurs(scores):
    assert set(scores.results["status"].astype(str)) == set(STATUSES)


def test_minimum_measures_by_hand(scores):
    got = scores.minimum_measures.astype(str).to_dict("index")
    assert got == EXPECTED_MEASURES
    assert list(scores.minimum_measures.columns) == ["M1", "M2", "M3", "M4", "A1", "A2", "C1", "C2", "C3", "C4"]


def test_measure_scores_by_hand(scores):
    s = scores.measure_scores["score"]
    assert s["FULL"] == pytest.approx(100.0)
    # applicable weights 26; met 1 (A2-CAMERAS); partial 1+3+2+2+2+2 = 12 counting half: 7 / 26
    assert s["GAPS"] == pytest.approx(700 / 26)
    # UNK: only M1-BUILDING (weight 1) met, of 24 applicable (A1, M2-LOCKBOX, C4 offices/large n/a)
    assert s["UNK"] == pytest.approx(100 * 1 / 24)
    # PORT: M1-BUILDING met (1) of 1+1+2+1+1+1+2+1 applicable = 10
    assert s["PORT"] == pytest.approx(10.0)
    counts = scores.measure_scores.loc["UNK", list(STATUSES)].to_dict()
    assert counts == {"met": 0, "partial": 0, "unmet": 1, "unknown": 8, "not_applicable": 1}


def test_unknown_scores_nothing(scores):
    unknown = scores.results[(scores.results["status"] == "unknown").to_numpy()]
    assert len(unknown)
    for building, measures in EXPECTED_MEASURES.items():
        for m_id, st in measures.items():
            if st == "met":
                rows = scores.results[(scores.results["building_id"] == building).to_numpy()
                                      & (scores.results["group"] == m_id).to_numpy()]
                assert not rows["status"].isin(["unknown", "unmet", "partial"]).any()


def test_coverage_missing_makes_rules_unknown(district):
    facts = building_facts(district, as_of=AS_OF)  # no coverage joined
    s = score(district, facts, [load_pack("cops_minimum")], site_facts=site_facts(district, as_of=AS_OF))
    got, evidence = status(s, "FULL", "A2-ENTRANCES")
    assert got == "unknown"
    assert "camera_entrance_coverage not available" in evidence[0]
    assert s.minimum_measures.loc["FULL", "A2"] == "unknown"
    assert s.minimum_measures.loc["FULL", "C1"] == "unknown"
    assert s.minimum_measures.loc["FULL", "M2"] == "met"


def test_checklist_answers_building_beats_site(scores):
    assert status(scores, "FULL", "PASS-BP-PP-1")[0] == "met"
    assert status(scores, "GAPS", "PASS-BP-PP-1") == ("unmet", ["checklist: future (doors not graded yet)"])
    assert status(scores, "FULL", "PASS-BP-PP-1b")[0] == "not_applicable"
    assert status(scores, "GAPS", "PASS-BP-PP-1b") == ("unknown", ["no checklist answer for PASS-BP-PP-1b"])
    assert site_status(scores, "S1", "PASS-DW-PP-1") == ("partial", ["checklist: in_progress"])


def test_ten_actions_by_hand(scores):
    acts = scores.actions.loc["S1"].astype(str).to_dict()
    assert acts == {"EA1": "met", "EA2": "partial", "EA3": "partial", "EA4": "unmet", "EA5": "partial",
                    "EA6": "unknown", "EA7": "unknown", "EA8": "unknown", "EA9": "unknown",
                    "EA10": "unknown"}
    assert site_status(scores, "S1", "EA2-REVIEW") == (
        "unmet", ["Action 2 last reviewed 2024-01-01 (609 days ago)"])
    assert site_status(scores, "S1", "EA5-STATUS")[0] == "not_applicable"
    assert site_status(scores, "S1", "EA5-PSAP-RADIO")[0] == "unmet"
    assert site_status(scores, "S1", "EA5-BUILDINGS-NUMBERED") == ("partial", ["GAPS"])
    assert site_status(scores, "S1", "EA4-REVIEW")[0] == "not_applicable"
    assert site_status(scores, "S1", "EA7-REVIEW") == ("unknown", ["Action 7: no review date recorded"])
    assert scores.site_rollup.loc["S1", "actions_met"] == 1


def test_stale_assessment_flagged(district, facts):
    sites = campus_tables()
    sites["sites"]["last_assessment"] = [pd.Timestamp("2024-06-01")]
    d = make_district(sites, crs="EPSG:32618")
    s = score(d, building_facts(d, as_of=AS_OF), [load_pack("ten_actions")],
              site_facts=site_facts(d, as_of=AS_OF))
    assert site_status(s, "S1", "EA1-ASSESSMENT") == (
        "unmet", ["last assessment 2024-06-01 (457 days before 2025-09-01)"])
    assert s.actions.loc["S1", "EA1"] == "partial"
    assert s.site_rollup.loc["S1", "action1_flags"] == [
        "EA1-ASSESSMENT: last assessment 2024-06-01 (457 days before 2025-09-01)"]


TIERS_PACK = {
    "id": "tiny_tiers", "title": "Hand-worked tiers", "source": "test", "kind": "tiers",
    "layers": {7: ["inside"]}, "components": ["c1", "c2", "c3"],
    "rules": [
        {"id": "T-C1-1", "title": "number", "source": "t", "scope": "building", "layer": "inside",
         "component": "c1", "tier": 1, "fact": "building_number_posted", "op": ">=", "threshold": 100, "weight": 1},
        {"id": "T-C1-2", "title": "camera", "source": "t", "scope": "building", "layer": "inside",
         "component": "c1", "tier": 2, "fact": "cameras_working", "op": "present", "weight": 1},
        {"id": "T-C1-3", "title": "alarm", "source": "t", "scope": "building", "layer": "inside",
         "component": "c1", "tier": 3, "fact": "panic_alarms", "op": "present", "weight": 1},
        {"id": "T-C2-1", "title": "locks", "source": "t", "scope": "building", "layer": "inside",
         "component": "c2", "tier": 1, "fact": "classroom_doors_lockable", "op": ">=", "threshold": 100, "weight": 1},
        {"id": "T-C3-2", "title": "two-way", "source": "t", "scope": "building", "layer": "inside",
         "component": "c3", "tier": 2, "fact": "classrooms_two_way", "op": ">=", "threshold": 100, "weight": 1},
    ],
}


def test_tiers_cumulative_by_hand(district, facts, tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TIERS_PACK))
    s = score(district, facts, [load_pack(path)], site_facts=site_facts(district, as_of=AS_OF))
    tiers = {(b, c): (None if pd.isna(t) else int(t)) for b, c, t in
             zip(s.pass_tiers["building_id"], s.pass_tiers["component"], s.pass_tiers["tier"], strict=True)}
    assert tiers[("FULL", "c1")] == 3
    assert tiers[("GAPS", "c1")] == 0      # tier 1 unmet: the camera (tier 2) does not count
    assert tiers[("UNK", "c1")] == 1       # camera status unknown blocks tier 2
    assert tiers[("PORT", "c1")] == 1
    assert tiers[("FULL", "c2")] == 1
    assert tiers[("PORT", "c2")] is None   # no classroom doors: not assessed
    assert tiers[("FULL", "c3")] == 2      # no tier-1 rule: tier 2 reached directly
    assert tiers[("GAPS", "c3")] == 0
    assert tiers[("PORT", "c3")] is None
    assert s.pass_overall.to_dict() == {"FULL": 1, "GAPS": 0, "UNK": 0, "PORT": 1}
    summary = s.building_summary("PORT")
    assert summary["pass_tiers"] == {"inside": {"c1": 1, "c2": None, "c3": None}}
    assert summary["pass_evidence"] == {"T-C1-2": ["no working camera recorded"]}


def test_shipped_pass_pack_tiers(scores):
    tiers = scores.pass_tiers.set_index(["building_id", "layer", "component"])["tier"]
    # retention 30 d, exterior camera, entrance 100 %, perimeter 90 %; live video unanswered
    assert tiers[("FULL", "building_perimeter", "video_surveillance")] == 3
    assert tiers[("GAPS", "building_perimeter", "video_surveillance")] == 0
    assert pd.isna(tiers[("PORT", "classroom_interior", "architectural")])
    layers = set(scores.pass_tiers["layer"])
    assert layers == {"district_wide", "digital_infrastructure", "campus_perimeter",
                      "building_perimeter", "classroom_interior"}


def test_pass_edition_6(district, facts):
    s = score(district, facts, default_packs(edition=6), site_facts=site_facts(district, as_of=AS_OF))
    assert s.edition == 6
    layers = set(s.pass_tiers["layer"])
    assert layers == {"district_wide", "property_perimeter", "parking_lot_perimeter",
                      "building_perimeter", "classroom_interior"}
    assert "people" not in set(s.pass_tiers["component"])
    row = s.results[(s.results["rule_id"] == "PASS-CL-AR-1").to_numpy()]
    assert set(row["tier"]) == {2}


def test_changed_threshold_changes_result(district, facts, tmp_path):
    data = yaml.safe_load(load_pack.__globals__["PACK_DIR"].joinpath("cops_minimum.yaml").read_text())
    for rule in data["rules"]:
        if rule["id"] == "M2-LOCKS":
            rule["threshold"] = 50
            rule["partial_threshold"] = 25
    path = tmp_path / "district_cops.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    sf = site_facts(district, as_of=AS_OF)
    before = score(district, facts, [load_pack("cops_minimum")], site_facts=sf)
    after = score(district, facts, [load_pack(path)], site_facts=sf)
    assert before.minimum_measures.loc["GAPS", "M2"] == "partial"
    assert after.minimum_measures.loc["GAPS", "M2"] == "met"
    assert after.measure_scores.loc["GAPS", "score"] > before.measure_scores.loc["GAPS", "score"]


def test_building_summary(scores):
    s = scores.building_summary("GAPS")
    assert s["minimum_measures"] == EXPECTED_MEASURES["GAPS"]
    assert s["site_id"] == "S1"
    assert s["evidence"]["M3"] == {"M3-DOOR-GLASS": ["D3"], "M3-WINDOWS": ["R4"]}
    assert s["evidence"]["A1"] == {"A1-ENTRY-DOORS": ["D5"]}
    assert "M1" in s["evidence"] and "FULL" not in s["evidence"]
    assert set(s["pass_tiers"]) == {"district_wide", "digital_infrastructure", "campus_perimeter",
                                    "building_perimeter", "classroom_interior"}
    assert s["pass_tiers"]["building_perimeter"]["video_surveillance"] == 0
    assert s["evidence"].keys() == {m for m, st in EXPECTED_MEASURES["GAPS"].items() if st != "met"}
    full = scores.building_summary("FULL")
    assert full["evidence"] == {} and full["measure_score"] == 100.0
    with pytest.raises(KeyError):
        scores.building_summary("NOPE")
    assert len(scores.building_summaries()) == 4


def test_unmet_measures_name_assets(scores):
    """Every unmet or partial inventory rule of the COPS pack names what is behind it."""
    r = scores.results
    gaps = r[r["pack"].eq("cops_minimum").to_numpy() & r["status"].isin(["unmet", "partial"]).to_numpy()
             & r["fact"].isin(["camera_entrance_coverage", "aed_reach_coverage", "radio_area_coverage"]).eq(False).to_numpy()]
    assert len(gaps)
    assert all(len(e) > 0 for e in gaps["evidence"])


def test_rollups(scores):
    site = scores.site_rollup.loc["S1"]
    assert site["buildings"] == 4
    assert site["M1_met_pct"] == pytest.approx(50.0)  # FULL and PORT
    assert site["C3_met_pct"] == pytest.approx(25.0)
    assert site["EA1"] == "met"
    d = scores.district_rollup.iloc[0]
    assert d["buildings"] == 4 and d["sites"] == 1
    assert d["score_mean"] == pytest.approx(np.mean([100.0, 700 / 26, 100 / 24, 10.0]))
    assert d["pass_overall_0"] + d["pass_not_assessed"] + sum(d[f"pass_overall_{t}"] for t in range(1, 5)) == 4


def test_results_columns(scores):
    from facility_planner.scoring import RESULT_COLUMNS

    assert list(scores.results.columns) == RESULT_COLUMNS
    site_rows = scores.results[scores.results["building_id"].isna().to_numpy()]
    assert set(site_rows["scope"].astype(str)) == {"site"}
    assert site_rows["site_id"].notna().all()
