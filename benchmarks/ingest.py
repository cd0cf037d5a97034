"""Ingest benchmark: generate a synthetic district, write it, read it back into a District.

    .venv/bin/python benchmarks/ingest.py [--schools 1000] [--seed 0] [--formats csv,xlsx]
                                          [--tracemalloc]

For each stage it prints rows, seconds, rows per second and memory: the process' peak resident
set (``ru_maxrss``, a high-water mark, so it only grows) and how much the stage raised it; with
``--tracemalloc`` also the stage's own peak of Python/numpy allocations (slower: tracing costs).
Ingest is ``facility_planner.io.load.load_district`` (inventory + campus.gpkg); if that is not
importable it falls back to ``read_inventory`` + ``make_district`` and says so.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from facility_planner.demo import DemoData, demo_district, write_inventory, write_maps  # noqa: E402


def _rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _stage(name: str, rows: int | Callable[[Any], int], func: Callable[[], Any], *,
           trace: bool, results: list[dict[str, Any]]) -> Any:
    before = _rss_mb()
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    value = func()
    seconds = time.perf_counter() - start
    traced = None
    if trace:
        traced = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    n = rows(value) if callable(rows) else rows
    after = _rss_mb()
    results.append({"stage": name, "rows": n, "seconds": seconds, "rows_per_s": n / seconds if seconds else 0,
                    "peak_rss_mb": after, "rss_growth_mb": after - before, "traced_peak_mb": traced})
    line = (f"{name:<34} {n:>9,} rows {seconds:8.2f} s {n / seconds if seconds else 0:>11,.0f} rows/s "
            f"peak RSS {after:7.0f} MB (+{after - before:5.0f})")
    if traced is not None:
        line += f"  traced peak {traced:7.0f} MB"
    print(line, flush=True)
    return value


def _ingest(inventory: Path, gpkg: Path) -> tuple[Any, Any, str]:
    try:
        from facility_planner.io.load import load_district
    except ImportError:
        from facility_planner.io.inventory import read_inventory
        from facility_planner.model import make_district

        tables, report = read_inventory(inventory)
        return make_district(tables), report, "read_inventory + make_district (load_district missing)"
    district, report = load_district(inventory, maps=[(gpkg.name, gpkg.read_bytes())])
    return district, report, "load_district"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv, xlsx")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace each stage's allocation peak")
    args = parser.parse_args(argv)
    formats = [f.strip() for f in args.formats.split(",") if f.strip()]
    trace = args.tracemalloc
    results: list[dict[str, Any]] = []
    print(f"ingest benchmark: {args.schools:,} schools, seed {args.seed}, formats {formats}")

    data: DemoData = _stage("generate (demo_district)", lambda d: d.rows,
                            lambda: demo_district(args.schools, seed=args.seed), trace=trace, results=results)
    map_rows = sum(len(layer) for layer in data.layers.values())
    print("  inventory rows by sheet: " + ", ".join(f"{k} {len(v):,}" for k, v in data.tables.items()))
    print("  map features: " + ", ".join(f"{k} {len(v):,}" for k, v in data.layers.items()))
    with tempfile.TemporaryDirectory(prefix="fp-ingest-") as tmp:
        out = Path(tmp)
        gpkg = _stage("write campus.gpkg (pyogrio)", map_rows, lambda: write_maps(data, out / "campus.gpkg"),
                      trace=trace, results=results)
        print(f"  campus.gpkg {gpkg.stat().st_size / 2**20:.1f} MB")
        for fmt in formats:
            target = out / ("inventory.xlsx" if fmt == "xlsx" else "inventory")
            _stage(f"write inventory ({fmt})", data.rows,
                   lambda fmt=fmt, target=target: write_inventory(data, target, fmt=fmt),
                   trace=trace, results=results)
            size = target.stat().st_size if fmt == "xlsx" else sum(p.stat().st_size for p in target.iterdir())
            print(f"  inventory ({fmt}) {size / 2**20:.1f} MB")
            district, report, how = _stage(
                f"ingest {fmt} + gpkg", data.rows + map_rows,
                lambda target=target: _ingest(target, gpkg), trace=trace, results=results)
            print(f"  via {how}: {len(district.buildings):,} buildings, {len(district.doors):,} doors, "
                  f"{len(report.errors)} errors, {len(report.warnings)} warnings, "
                  f"{report.rejected_count} rejected rows")
            del district, report
    total = sum(r["seconds"] for r in results)
    print(f"total {total:.1f} s; peak RSS {max(r['peak_rss_mb'] for r in results):.0f} MB")
    ingest = {r["stage"]: r for r in results if r["stage"].startswith("ingest")}
    if "ingest csv + gpkg" in ingest and "ingest xlsx + gpkg" in ingest:
        ratio = ingest["ingest xlsx + gpkg"]["seconds"] / ingest["ingest csv + gpkg"]["seconds"]
        print(f"xlsx ingest takes {ratio:.1f}x as long as csv ingest")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
