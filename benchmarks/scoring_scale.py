"""Scoring at state scale: building facts, site facts and scoring of N buildings.

Run: ``.venv/bin/python benchmarks/scoring_scale.py [buildings]`` (default 50,000). Prints the
seconds of each stage and per 1,000 buildings. Tables are random but typed like ingest output.
"""

from __future__ import annotations

import sys
import time
from datetime import date

import numpy as np
import pandas as pd

from facility_planner.facts import building_facts, site_facts
from facility_planner.model import make_district
from facility_planner.rules import default_packs
from facility_planner.scoring import score


def _yes_no(rng: np.random.Generator, n: int, p: float = 0.7, blank: float = 0.05) -> pd.array:
    draw = rng.random(n)
    values = np.where(draw < p, True, False).astype(object)
    values[rng.random(n) < blank] = None
    return pd.array(values, dtype="boolean")


def tables(n_buildings: int, *, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Random inventory tables: ~4 buildings per site, 20 doors, 15 rooms, 5 cameras each."""
    rng = np.random.default_rng(seed)
    b_ids = np.array([f"B{i}" for i in range(n_buildings)], dtype=object)
    sites = np.array([f"S{i // 4}" for i in range(n_buildings)], dtype=object)
    site_ids = pd.unique(sites)

    def per(n_each: int, prefix: str) -> tuple[np.ndarray, np.ndarray]:
        owner = np.repeat(b_ids, n_each)
        return np.array([f"{prefix}{i}" for i in range(len(owner))], dtype=object), owner

    d_ids, d_b = per(20, "D")
    r_ids, r_b = per(15, "R")
    c_ids, c_b = per(5, "C")
    a_ids, a_b = per(1, "A")
    e_ids, e_b = per(3, "E")
    n_d, n_r, n_c, n_e = len(d_ids), len(r_ids), len(c_ids), len(e_ids)
    return {
        "sites": pd.DataFrame({"site_id": site_ids, "last_assessment": pd.Timestamp("2024-10-01")}),
        "buildings": pd.DataFrame({"building_id": b_ids, "site_id": sites,
                                   "building_number": np.where(rng.random(n_buildings) < 0.8, "1", None)}),
        "doors": pd.DataFrame({
            "door_id": d_ids, "building_id": d_b,
            "role": rng.choice(["classroom", "exterior_primary", "exterior_secondary", "exterior_egress",
                                "office"], n_d, p=[0.6, 0.05, 0.1, 0.15, 0.1]),
            **{c: _yes_no(rng, n_d) for c in ("lock_from_inside", "remote_lock", "access_control",
                                              "has_glass", "glass_covering", "numbered",
                                              "position_monitored")}}),
        "rooms": pd.DataFrame({
            "room_id": r_ids, "building_id": r_b,
            "room_type": rng.choice(["classroom", "office", "gym", "corridor"], n_r, p=[0.7, 0.1, 0.05, 0.15]),
            **{c: _yes_no(rng, n_r) for c in ("hard_corner", "two_way_comm", "windows", "window_covering")}}),
        "cameras": pd.DataFrame({"camera_id": c_ids, "building_id": c_b,
                                 "mount": rng.choice(["exterior", "interior"], n_c),
                                 "status": rng.choice(["working", "faulty"], n_c, p=[0.9, 0.1]),
                                 "recording_days": rng.choice([7, 14, 30], n_c)}),
        "aeds": pd.DataFrame({"aed_id": a_ids, "building_id": a_b,
                              "pads_expiry": pd.Timestamp("2026-01-01"), "battery_expiry": pd.Timestamp("2027-01-01")}),
        "equipment": pd.DataFrame({"equipment_id": e_ids, "building_id": e_b,
                                   "type": rng.choice(["stop_the_bleed_kit", "panic_alarm", "lockbox"], n_e)}),
        "programs": pd.DataFrame({"site_id": np.repeat(site_ids, 10), "action": np.tile(np.arange(1, 11), len(site_ids)),
                                  "status": rng.choice(["in_place", "in_progress", "future"], 10 * len(site_ids)),
                                  "last_reviewed": pd.Timestamp("2025-01-01")}),
    }


def main(n_buildings: int = 50_000) -> None:
    t0 = time.perf_counter()
    district = make_district(tables(n_buildings), crs="EPSG:32615")
    print(f"setup (make_district): {time.perf_counter() - t0:.1f} s, {n_buildings} buildings, "
          f"{len(district.doors)} doors, {len(district.rooms)} rooms")
    as_of = date(2025, 9, 1)
    t = time.perf_counter()
    facts = building_facts(district, as_of=as_of)
    t_facts = time.perf_counter() - t
    t = time.perf_counter()
    sfacts = site_facts(district, as_of=as_of)
    t_site = time.perf_counter() - t
    packs = default_packs()
    t = time.perf_counter()
    scores = score(district, facts, packs, site_facts=sfacts)
    t_score = time.perf_counter() - t
    k = n_buildings / 1000
    for name, secs in (("building_facts", t_facts), ("site_facts", t_site), ("score", t_score)):
        print(f"{name:15s} {secs:6.2f} s  ({secs / k:.3f} s per 1,000 buildings)")
    print(f"total          {t_facts + t_site + t_score:6.2f} s; {len(scores.results):,} rule results")
    t = time.perf_counter()
    for b in scores.minimum_measures.index[:1000]:
        scores.building_summary(b)
    print(f"building_summary x1000: {time.perf_counter() - t:.2f} s (first call builds the index)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50_000)
