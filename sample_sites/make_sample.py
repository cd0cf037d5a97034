"""Regenerate the committed sample district: ``.venv/bin/python sample_sites/make_sample.py``.

Four fictional campuses made with ``facility_planner.demo.demo_district`` on farmland north-east
of Nevada, Iowa. Deterministic: ``SEED`` is the first seed (from 0) whose draw gives what the
sample promises (elementary in one building, middle school in two, high school with portables, a
repeater, an expired AED pad, a building without cameras); ``--search`` finds it again should the
generator change.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyogrio

from facility_planner.demo import DemoData, demo_district, write_inventory, write_maps

HERE = Path(__file__).resolve().parent
ORIGIN = (-93.4150, 42.0400)  # open farmland NE of Nevada, Iowa (Story County)
KINDS = ["ES", "MS", "HS", "K8"]
NAMES = ["Maple Elementary", "Cedar Ridge Middle School", "Lincoln High School",
         "Prairie View K-8 School"]
DISTRICT = "Sample Community School District"
SEED = 650


def _fits(data: DemoData) -> bool:
    b = data.tables["buildings"]
    counts = b.groupby("site_id")["building_id"].size()
    portables = b[b["use"] == "portable"].groupby("site_id").size()
    return (counts.get("ES-01", 0) == 1 and counts.get("MS-01", 0) == 2
            and 2 <= portables.get("HS-01", 0) <= 4 and counts.get("HS-01", 0) <= 8
            and counts.get("K8-01", 0) <= 2 and len(data.tables["rooms"]) <= 330
            and len(data.tables["repeaters"]) >= 1
            and (data.tables["aeds"]["pads_expiry"].fillna("9") < "2025").any()
            and not set(b.loc[b["use"] != "portable", "building_id"])
            <= set(data.tables["cameras"]["building_id"]))


def sample(seed: int = SEED) -> DemoData:
    """The sample district as ``demo_district`` draws it."""
    return demo_district(4, seed=seed, origin=ORIGIN, kinds=KINDS, names=NAMES, district=DISTRICT)


def search() -> int:
    """The first seed whose draw fits the sample's promises."""
    for seed in range(2000):
        if _fits(sample(seed)):
            return seed
    raise RuntimeError("no seed below 2000 gives the sample's campuses")


def make(out_dir: Path = HERE, *, seed: int = SEED) -> tuple[int, DemoData]:
    """Write inventory.xlsx, campus.gpkg and campus.geojson into ``out_dir``; return (seed, data)."""
    data = sample(seed)
    if not _fits(data):
        raise RuntimeError(f"seed {seed} no longer fits the sample; run with --search")
    write_inventory(data, out_dir / "inventory.xlsx", fmt="xlsx")
    write_maps(data, out_dir / "campus.gpkg")
    geojson = out_dir / "campus.geojson"
    geojson.unlink(missing_ok=True)
    pyogrio.write_dataframe(data.footprints, geojson, driver="GeoJSON", layer="footprints",
                            COORDINATE_PRECISION=7)
    return seed, data


if __name__ == "__main__":
    seed, data = make(seed=search() if "--search" in sys.argv else SEED)
    print(f"seed {seed}: " + ", ".join(f"{name} {len(t)}" for name, t in data.tables.items()))
