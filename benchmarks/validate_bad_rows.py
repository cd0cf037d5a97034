"""Validate benchmark: the sample district with N door rows, each with three bad values.

    .venv/bin/python benchmarks/validate_bad_rows.py [--rows 100000] [--formats csv,xlsx]

Builds the inventory from ``sample_sites/`` (the doors sheet repeated to N rows with unique
door_ids; every row has role "trapdoor", lock_from_inside "maybe" and an unreadable lon), then
runs ``facility-planner validate INVENTORY --map sample_sites/campus.gpkg`` in a fresh process,
plain and with ``--problems`` (every problem row written to a CSV), and prints its wall time,
CPU time and peak resident memory (the child's own ``ru_maxrss``), with the lines printed. Target (issue 14): under 15 s and 1 GB at
100,000 rows. On a shared machine wall time includes waiting for a core; CPU time does not.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_sites"


def write_inventory(target: Path, rows: int, *, fmt: str) -> Path:
    import numpy as np
    import pandas as pd

    sheets = pd.read_excel(SAMPLE / "inventory.xlsx", sheet_name=None, dtype=str, engine="calamine")
    doors = sheets["doors"]
    big = doors.iloc[np.arange(rows) % len(doors)].reset_index(drop=True)
    big["door_id"] = [f"D{i:06d}" for i in range(rows)]
    big["role"] = "trapdoor"
    big["lock_from_inside"] = "maybe"
    big["lon"] = [f"-93.4x{i}" for i in range(rows)]
    sheets["doors"] = big
    if fmt == "csv":
        target.mkdir(parents=True)
        for name, frame in sheets.items():
            frame.to_csv(target / f"{name}.csv", index=False)
        return target
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for name, frame in sheets.items():
        sheet = book.create_sheet(name)
        sheet.append(list(frame.columns))
        for record in frame.itertuples(index=False, name=None):
            sheet.append([None if v is None or v != v else v for v in record])
    target = target.with_suffix(".xlsx")
    book.save(target)
    return target


def run_validate(inventory: Path, problems: Path | None) -> dict[str, float | int]:
    """One ``validate`` in a fresh process (a forked child per run, so ``ru_maxrss`` is its own)."""
    extra = ["--problems", str(problems)] if problems is not None else []
    code = ("import resource, sys; from facility_planner.cli import main; rc = main(sys.argv[1:]); "
            "u = resource.getrusage(resource.RUSAGE_SELF); "
            "print(f'@@ {u.ru_utime + u.ru_stime} {u.ru_maxrss}', file=sys.stderr); sys.exit(rc)")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, "validate", str(inventory),
                           "--map", str(SAMPLE / "campus.gpkg"), *extra],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    if done.returncode != 1:
        raise SystemExit(f"validate exited {done.returncode}, expected 1:\n{done.stderr}")
    cpu, rss = done.stderr.rsplit("@@ ", 1)[1].split()
    problem_rows = 0
    if problems is not None:
        with problems.open() as fh:
            problem_rows = sum(1 for _ in fh) - 1
    return {"wall_s": wall, "cpu_s": float(cpu), "peak_rss_mb": int(rss) / 1024,
            "lines": len(done.stdout.splitlines()), "problem_rows": problem_rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv, xlsx")
    args = parser.parse_args(argv)
    print(f"validate benchmark: {args.rows:,} door rows, 3 bad values each")
    with tempfile.TemporaryDirectory(prefix="fp-validate-") as tmp:
        for fmt in (f.strip() for f in args.formats.split(",") if f.strip()):
            inventory = write_inventory(Path(tmp) / f"inventory-{fmt}", args.rows, fmt=fmt)
            for full in (False, True):  # --problems also writes every problem row to a CSV
                r = run_validate(inventory, Path(tmp) / f"problems-{fmt}.csv" if full else None)
                verdict = "ok" if r["wall_s"] < 15 and r["peak_rss_mb"] < 1024 else "OVER TARGET"
                what = f"{r['problem_rows']:,} problem rows written" if full else "report only"
                print(f"{fmt:<5} {'--problems' if full else 'plain':<10} wall {r['wall_s']:6.2f} s  "
                      f"cpu {r['cpu_s']:6.2f} s  peak RSS {r['peak_rss_mb']:6.0f} MB  "
                      f"{r['lines']} lines printed, {what}  [{verdict}: < 15 s, < 1024 MB]",
                      flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
