"""Property tests: protective assets never lower a score or tier; tiers are cumulative; unknown
is never counted as met (filling blanks the worst way keeps every met rule met)."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.facts import building_facts, site_facts
from facility_planner.model import make_district
from facility_planner.rules import default_packs
from facility_planner.scoring import score

AS_OF = date(2025, 9, 1)
PACKS = default_packs()
DOOR_BOOLS = ("lock_from_inside", "remote_lock", "access_control", "has_glass", "glass_covering",
              "numbered", "position_monitored")
ROOM_BOOLS = ("hard_corner", "two_way_comm", "windows", "window_covering")
#: Blank filled the favourable way (glass and windows absent mean nothing to cover).
FAVOURABLE = {**dict.fromkeys(DOOR_BOOLS + ROOM_BOOLS, True), "has_glass": False, "windows": False}
SETTINGS = settings(max_examples=12, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

yes_no = st.sampled_from([True, False, None])
BUILDINGS = ("B1", "B2")


@st.composite
def campuses(draw) -> dict[str, pd.DataFrame]:
    n_doors = draw(st.integers(0, 6))
    doors = pd.DataFrame({
        "door_id": [f"D{i}" for i in range(n_doors)],
        "building_id": [draw(st.sampled_from(BUILDINGS)) for _ in range(n_doors)],
        "role": [draw(st.sampled_from(["classroom", "classroom", "exterior_primary",
                                       "exterior_secondary", "exterior_egress", "office"]))
                 for _ in range(n_doors)],
        **{c: pd.array([draw(yes_no) for _ in range(n_doors)], dtype="boolean") for c in DOOR_BOOLS}})
    n_rooms = draw(st.integers(0, 4))
    rooms = pd.DataFrame({
        "room_id": [f"R{i}" for i in range(n_rooms)],
        "building_id": [draw(st.sampled_from(BUILDINGS)) for _ in range(n_rooms)],
        "room_type": [draw(st.sampled_from(["classroom", "office", "gym"])) for _ in range(n_rooms)],
        **{c: pd.array([draw(yes_no) for _ in range(n_rooms)], dtype="boolean") for c in ROOM_BOOLS}})
    n_cams = draw(st.integers(0, 2))
    cameras = pd.DataFrame({
        "camera_id": [f"C{i}" for i in range(n_cams)],
        "building_id": [draw(st.sampled_from(BUILDINGS)) for _ in range(n_cams)],
        "mount": [draw(st.sampled_from(["exterior", "interior"])) for _ in range(n_cams)],
        "status": [draw(st.sampled_from(["working", "faulty"])) for _ in range(n_cams)],
        "recording_days": [draw(st.sampled_from([7, 14, 30])) for _ in range(n_cams)]})
    n_aeds = draw(st.integers(0, 1))
    aeds = pd.DataFrame({
        "aed_id": [f"A{i}" for i in range(n_aeds)],
        "building_id": [draw(st.sampled_from(BUILDINGS)) for _ in range(n_aeds)],
        "pads_expiry": pd.to_datetime([draw(st.sampled_from(["2024-01-01", "2027-01-01"]))
                                       for _ in range(n_aeds)]),
        "battery_expiry": pd.to_datetime(["2028-01-01"] * n_aeds)})
    n_eq = draw(st.integers(0, 2))
    equipment = pd.DataFrame({
        "equipment_id": [f"E{i}" for i in range(n_eq)],
        "building_id": [draw(st.sampled_from(BUILDINGS)) for _ in range(n_eq)],
        "type": [draw(st.sampled_from(["stop_the_bleed_kit", "panic_alarm", "lockbox"]))
                 for _ in range(n_eq)]})
    return {
        "sites": pd.DataFrame({"site_id": ["S1"], "last_assessment": [pd.Timestamp("2025-01-01")]}),
        "buildings": pd.DataFrame({"building_id": list(BUILDINGS), "site_id": ["S1", "S1"],
                                   "building_number": [draw(st.sampled_from(["1", None])) for _ in BUILDINGS]}),
        "doors": doors, "rooms": rooms, "cameras": cameras, "aeds": aeds, "equipment": equipment,
        "repeaters": pd.DataFrame({"repeater_id": ["RP0"], "building_id": ["B2"], "kind": ["bda"]}),
    }


def run(tables: dict[str, pd.DataFrame]):
    district = make_district(tables, crs="EPSG:32618")
    return score(district, building_facts(district, as_of=AS_OF), PACKS,
                 site_facts=site_facts(district, as_of=AS_OF))


def add_row(tables: dict[str, pd.DataFrame], name: str, row: dict) -> dict[str, pd.DataFrame]:
    out = dict(tables)
    frame = tables[name]
    new = pd.DataFrame([row]).astype({c: frame[c].dtype for c in row if c in frame and len(frame)})
    out[name] = pd.concat([frame, new], ignore_index=True) if len(frame) else new
    return out


def protect(tables: dict[str, pd.DataFrame], kind: str, building: str, door: int) -> dict[str, pd.DataFrame]:
    """The campus with one protective asset added."""
    if kind == "lock":
        doors = tables["doors"].copy()
        if len(doors):
            doors.loc[door % len(doors), "lock_from_inside"] = True
        return {**tables, "doors": doors}
    if kind == "camera":
        return add_row(tables, "cameras", {"camera_id": "CX", "building_id": building, "mount": "exterior",
                                           "status": "working", "recording_days": 30})
    if kind == "aed":
        return add_row(tables, "aeds", {"aed_id": "AX", "building_id": building,
                                        "pads_expiry": pd.Timestamp("2027-06-01"),
                                        "battery_expiry": pd.Timestamp("2027-06-01")})
    equipment = {"panic_alarm": "panic_alarm", "kit": "stop_the_bleed_kit", "lockbox": "lockbox"}[kind]
    return add_row(tables, "equipment", {"equipment_id": "EX", "building_id": building, "type": equipment})


@SETTINGS
@given(campus=campuses(), kind=st.sampled_from(["lock", "camera", "aed", "panic_alarm", "kit", "lockbox"]),
       building=st.sampled_from(BUILDINGS), door=st.integers(0, 10))
def test_protective_asset_never_lowers_score_or_tier(campus, kind, building, door):
    before, after = run(campus), run(protect(campus, kind, building, door))
    for b in BUILDINGS:
        s0, s1 = before.measure_scores.loc[b, "score"], after.measure_scores.loc[b, "score"]
        if not np.isnan(s0):
            assert s1 >= s0 - 1e-9, (kind, b, s0, s1)
    t0 = before.pass_tiers.set_index(["building_id", "layer", "component"])["tier"]
    t1 = after.pass_tiers.set_index(["building_id", "layer", "component"])["tier"]
    for key, tier in t0.items():
        if not pd.isna(tier):
            assert not pd.isna(t1[key]) and t1[key] >= tier, (kind, key, tier, t1[key])
    for b in BUILDINGS:
        o0, o1 = before.pass_overall[b], after.pass_overall[b]
        if not pd.isna(o0):
            assert o1 >= o0


def _per_building(results: pd.DataFrame, buildings) -> pd.DataFrame:
    """PASS results with site-wide rows repeated for every building."""
    rows = results[results["pack"].eq("pass_k12").to_numpy()]
    site_rows = rows[rows["building_id"].isna().to_numpy()]
    spread = [site_rows.assign(building_id=b) for b in buildings]
    out = pd.concat([rows[rows["building_id"].notna().to_numpy()].astype({"building_id": object}),
                     *[s.astype({"building_id": object}) for s in spread]])
    return out


@SETTINGS
@given(campus=campuses())
def test_tiers_are_cumulative(campus):
    scores = run(campus)
    rows = _per_building(scores.results, BUILDINGS)
    for (b, layer, comp), grp in rows.groupby(["building_id", "layer", "component"], observed=True):
        got = scores.pass_tiers[(scores.pass_tiers["building_id"] == b).to_numpy()
                                & (scores.pass_tiers["layer"] == layer).to_numpy()
                                & (scores.pass_tiers["component"] == comp).to_numpy()]["tier"].iloc[0]
        status = grp["status"].astype(str)
        applicable = grp[(status != "not_applicable").to_numpy()]
        if not len(applicable):
            assert pd.isna(got)
            continue
        failing = grp[~status.isin(["met", "not_applicable"]).to_numpy()]
        first_fail = failing["tier"].min() if len(failing) else 99
        below = applicable["tier"][applicable["tier"] < first_fail]
        assert got == (below.max() if len(below) else 0)
        # every rule of the achieved tier and below is met or not applicable
        assert grp[(grp["tier"] <= got).to_numpy()]["status"].isin(["met", "not_applicable"]).all()


@SETTINGS
@given(campus=campuses())
def test_unknown_never_counts_as_met(campus):
    scores = run(campus)
    r = scores.results
    # a measure is met only when every applicable rule is met
    for b in BUILDINGS:
        for m_id, st_ in scores.minimum_measures.loc[b].items():
            rules = r[(r["building_id"] == b).to_numpy() & (r["group"] == m_id).to_numpy()]
            statuses = set(rules["status"].astype(str)) - {"not_applicable"}
            if st_ == "met":
                assert statuses == {"met"}
            if "unknown" in statuses:
                assert st_ != "met"
    # an unknown rule earns at most half (its worst case): the score is the weighted share of
    # met (+ half partial) over the worst cases, and an unknown rule's worst case is never met
    cops = r[r["pack"].eq("cops_minimum").to_numpy() & r["status"].ne("not_applicable").to_numpy()]
    assert not cops.loc[cops["status"].eq("unknown").to_numpy(), "worst_case"].eq("met").any()
    for b, grp in cops.groupby("building_id", observed=True):
        credit = grp["worst_case"].astype(str).map({"met": 1.0, "partial": 0.5}).fillna(0.0)
        expected = 100 * (credit * grp["weight"]).sum() / grp["weight"].sum()
        assert np.isclose(scores.measure_scores.loc[b, "score"], expected)

    # filling every blank the unfavourable way keeps met rules met; the favourable way keeps
    # unmet rules unmet (a decided status holds whatever the blanks turn out to be)
    def filled(favourable: bool) -> dict[str, pd.DataFrame]:
        out = dict(campus)
        for name, cols in (("doors", DOOR_BOOLS), ("rooms", ROOM_BOOLS)):
            frame = campus[name].copy()
            for c in cols:
                frame[c] = frame[c].fillna(FAVOURABLE[c] if favourable else not FAVOURABLE[c])
            out[name] = frame
        return out

    def statuses(s) -> pd.Series:
        rr = s.results[s.results["building_id"].notna().to_numpy()]
        return pd.Series(rr["status"].astype(str).to_numpy(),
                         index=pd.MultiIndex.from_arrays([rr["building_id"].astype(str), rr["rule_id"].astype(str)]))

    base, worst, best = statuses(scores), statuses(run(filled(False))), statuses(run(filled(True)))
    for key, st_ in base.items():
        if st_ == "met":
            assert worst[key] in ("met", "not_applicable"), key
        if st_ == "unmet":
            assert best[key] in ("unmet", "not_applicable"), key
