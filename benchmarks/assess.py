"""Whole-assessment benchmark: the cost per school must stay flat as the district grows.

    .venv/bin/python benchmarks/assess.py [--schools 100 1000 10000] [--budget-per-school 50000]
                                          [--files]

Each size runs in its own process (so peak memory is that size's own): generate a synthetic district,
build the District (in memory; with ``--files`` through CSV + GeoPackage and ``load_district``), then
``assess`` with a budget, and print the time of every stage, the time per school, and the peak
resident memory. The last table sets the per-school times side by side with their ratio to the
smallest district: near 1 means the pipeline scales linearly.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(schools: int, *, budget_per_school: float, files: bool, seed: int) -> dict[str, object]:
    """One district, every stage timed (this process only)."""
    from facility_planner.assess import assess, load_settings
    from facility_planner.demo import demo_district, write_inventory, write_maps

    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = demo_district(schools, seed=seed)
    timings["generate"] = time.perf_counter() - started

    started = time.perf_counter()
    if files:
        from facility_planner.io.load import load_district

        with tempfile.TemporaryDirectory() as tmp:
            inventory = write_inventory(data, Path(tmp) / "inventory", fmt="csv")
            gpkg = write_maps(data, Path(tmp) / "campus.gpkg")
            timings["write files"] = time.perf_counter() - started
            started = time.perf_counter()
            district, report = load_district(inventory, maps=[("campus.gpkg", gpkg.read_bytes())])
        timings["load"] = time.perf_counter() - started
    else:
        from facility_planner.model import ValidationReport

        district, report = data.to_district(), ValidationReport()
        timings["build district"] = time.perf_counter() - started

    settings = load_settings()
    result = assess(district, report, settings=settings, budget=budget_per_school * schools)
    timings.update(result.timings)
    total = sum(v for k, v in timings.items() if k not in ("generate", "write files"))
    return {"schools": schools, "buildings": len(district.buildings), "rows": data.rows,
            "projects": len(result.projects), "timings": timings, "total_s": total,
            "per_school_ms": 1000 * total / schools, "peak_mb": _peak_mb(),
            "method": result.portfolio.method if result.portfolio else None,
            "gap": result.portfolio.gap if result.portfolio else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--budget-per-school", type=float, default=50_000.0)
    parser.add_argument("--files", action="store_true", help="go through CSV + GeoPackage files and load_district")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.one:
        print(json.dumps(run_one(args.one, budget_per_school=args.budget_per_school, files=args.files,
                                 seed=args.seed)))
        return

    results = []
    for n in args.schools:
        cmd = [sys.executable, __file__, "--one", str(n), "--budget-per-school", str(args.budget_per_school),
               "--seed", str(args.seed)] + (["--files"] if args.files else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"\n== {n} schools: {result['buildings']} buildings, {result['rows']} inventory rows, "
              f"{result['projects']} projects; peak memory {result['peak_mb']:.0f} MB")
        for stage, seconds in result["timings"].items():
            print(f"  {stage:16} {seconds:8.2f} s   {1000 * seconds / n:8.2f} ms/school")
        print(f"  {'total (no gen.)':16} {result['total_s']:8.2f} s   {result['per_school_ms']:8.2f} ms/school"
              f"   portfolio: {result['method']}, gap {result['gap']}")

    base = results[0]
    print("\nper-school time, and its ratio to the smallest district (1.0 = flat):")
    stages = [s for s in base["timings"] if s not in ("generate", "write files")]
    print(f"  {'stage':16}" + "".join(f"{r['schools']:>14}" for r in results))
    for stage in [*stages, "total"]:
        cells = []
        for r in results:
            sec = r["total_s"] if stage == "total" else r["timings"].get(stage, float("nan"))
            b = base["total_s"] if stage == "total" else base["timings"].get(stage, float("nan"))
            per, per_base = 1000 * sec / r["schools"], 1000 * b / base["schools"]
            cells.append(f"{per:8.2f} ({per / per_base if per_base else float('nan'):4.2f})")
        print(f"  {stage:16}" + "".join(f"{c:>14}" for c in cells))


if __name__ == "__main__":
    main()
