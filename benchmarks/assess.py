"""Whole-assessment benchmark: the cost per school must stay flat as the district grows.

    .venv/bin/python benchmarks/assess.py [--schools 100 1000 10000] [--budget-per-school 50000]
                                          [--files]
    .venv/bin/python benchmarks/assess.py --schools 1000 10000 --workers 1 2 --layout city
                                          [--district-schools 800]

With ``--workers``, the schools form a state of districts of ``--district-schools`` each (synthetic,
``--layout``), run through ``facility_planner.pipeline`` (1 worker: this process, no Dask; more: a
LocalCluster of that many single-threaded processes); it prints the wall time, time per school,
the peak resident memory of every worker and of the driver, and the speed-up over one worker.

Each size runs in its own process (so peak memory is that size's own): generate a synthetic district,
build the District (in memory; with ``--files`` through CSV + GeoPackage and ``load_district``), then
``assess`` with a budget, and print the time of every stage, the time per school, and the peak
resident memory. The last table sets the per-school times side by side with their ratio to the
smallest district: near 1 means the pipeline scales linearly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_s() -> float:
    """CPU seconds this process used (user + system): a figure a busy machine does not inflate."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def run_one(schools: int, *, budget_per_school: float, files: bool, seed: int,
            layout: str = "mixed") -> dict[str, object]:
    """One district, every stage timed (this process only)."""
    from facility_planner.assess import assess, load_settings
    from facility_planner.demo import demo_district, write_inventory, write_maps

    timings: dict[str, float] = {}
    started = time.perf_counter()
    data = demo_district(schools, seed=seed, layout=layout)
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
    # coverage measured here (the same call assess makes) to read the time of its local-CRS work
    from datetime import date

    from facility_planner.geo import compute_coverage

    profile: dict[str, float] = {}
    started = time.perf_counter()
    coverage = compute_coverage(district, config=settings.coverage, as_of=date.today(), profile=profile)
    timings["coverage"] = time.perf_counter() - started
    result = assess(district, report, settings=settings, budget=budget_per_school * schools,
                    as_of=date.today(), measured=coverage)
    timings.update(result.timings)
    total = sum(v for k, v in timings.items() if k not in ("generate", "write files"))
    return {"schools": schools, "buildings": len(district.buildings), "rows": data.rows,
            "projects": len(result.projects), "timings": timings, "total_s": total,
            "local_crs_s": profile.get("local frames", 0.0),
            "per_school_ms": 1000 * total / schools, "peak_mb": _peak_mb(),
            "method": result.portfolio.method if result.portfolio else None,
            "gap": result.portfolio.gap if result.portfolio else None}


def run_state_one(schools: int, *, workers: int, layout: str, district_schools: int,
                  budget_per_school: float, seed: int, outputs: bool = False,
                  timeline: Path | None = None) -> dict[str, object]:
    """A synthetic state of ``schools`` schools on ``workers`` workers (this process only).

    ``chunk_busy_s`` is the time each worker spent in chunk tasks (the chunked stage); the
    chunked stage's speed-up over one worker is the one worker's figure over the busiest
    worker's. ``outputs`` writes every district's workbook, GeoPackage and map, as
    ``assess-state`` does. ``timeline`` (Dask only): a JSON file of every task's worker, key and
    compute start and stop (seconds from the run's start), to see how the workers were kept busy.
    """
    from datetime import date

    from facility_planner.assess import load_settings
    from facility_planner.pipeline import DistrictSource, RunOptions, run_local

    n_districts = max(1, -(-schools // district_schools))
    sizes = [schools // n_districts + (1 if i < schools % n_districts else 0) for i in range(n_districts)]
    sources = [DistrictSource(f"D{i:03d}", demo=(n, seed + i, layout)) for i, n in enumerate(sizes)]
    out = Path(tempfile.mkdtemp(prefix="fp-bench-")) if outputs else None
    options = RunOptions(settings=load_settings(), as_of=date(2025, 9, 1),
                         budget=[budget_per_school * district_schools], out_dir=out, state_plan=False)
    started = time.perf_counter()
    cpu0 = _cpu_s()
    if workers == 1:
        results = run_local(sources, options)
        worker_peaks = [_peak_mb()]
        worker_cpu = [_cpu_s() - cpu0]
        busy = [sum(float(r.row.get("chunk_seconds", 0.0)) for r in results)]
    else:
        from distributed import get_task_stream

        from facility_planner.distributed import connect, run_dask

        cluster = connect(workers=workers, dashboard=False)
        try:
            cluster.client.run(load_settings)  # imports done before the clock starts, as in this process
            before = cluster.client.run(_cpu_s)
            started = time.perf_counter()
            with get_task_stream(client=cluster.client) as stream:
                results = run_dask(sources, options, cluster=cluster)
            peaks = cluster.client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
            worker_peaks = sorted(peaks.values())
            worker_cpu = [cpu - before[w] for w, cpu in cluster.client.run(_cpu_s).items()]
            per_worker: dict[str, float] = {}
            for task in stream.data:
                if task["key"].startswith("chunk-"):
                    seconds = sum(s["stop"] - s["start"] for s in task["startstops"] if s["action"] == "compute")
                    per_worker[task["worker"]] = per_worker.get(task["worker"], 0.0) + seconds
            busy = sorted(per_worker.values())
            if timeline is not None:
                zero = started + _clock_offset()  # the run's start on the task stream's clock
                timeline.write_text(json.dumps([
                    {"worker": task["worker"], "key": task["key"], "start": s["start"] - zero, "stop": s["stop"] - zero}
                    for task in stream.data for s in task["startstops"] if s["action"] == "compute"]))
        finally:
            cluster.close()
    wall = time.perf_counter() - started
    if out is not None:
        shutil.rmtree(out, ignore_errors=True)
    failed = [r.error for r in results if r.error]
    measure = sum(float(r.row.get("seconds", 0.0)) for r in results)
    stages: dict[str, float] = {}
    for r in results:
        for stage, seconds in r.timings.items():
            stages[stage] = stages.get(stage, 0.0) + seconds
    ok = [r.row for r in results if r.error is None]
    chunks = sum(int(r["chunks"]) for r in ok)
    return {"schools": schools, "workers": workers, "districts": n_districts, "wall_s": wall,
            "chunks": chunks, "chunk_s_mean": sum(float(r["chunk_seconds"]) for r in ok) / max(chunks, 1),
            "chunk_busy_s": busy,
            "chunk_buildings_max": max((int(r["chunk_buildings_max"]) for r in ok), default=0),
            "per_school_ms": 1000 * wall / schools, "worker_peak_mb": worker_peaks,
            "cpu_s": sum(worker_cpu), "cpu_per_school_ms": 1000 * sum(worker_cpu) / schools,
            "load_1min": os.getloadavg()[0],
            "driver_peak_mb": _peak_mb(), "task_seconds": measure, "failed": failed, "stages": stages,
            "buildings": int(sum(r.row.get("buildings", 0) or 0 for r in results))}


def _clock_offset() -> float:
    """``time.time()`` less ``time.perf_counter()``: task-stream times are wall-clock seconds."""
    return time.time() - time.perf_counter()


def _busy_loop(_: object = None) -> float:
    """CPU seconds of a fixed pure-Python loop (no memory traffic): the machine's own speed."""
    started = time.process_time()
    total = 0
    for i in range(15_000_000):
        total += i * i
    return time.process_time() - started


def _memory_loop(_: object = None) -> float:
    """CPU seconds of a fixed pass over 160 MB arrays (memory traffic, as GEOS and pandas make)."""
    import numpy as np

    values = np.linspace(0.0, 1.0, 20_000_000)
    started = time.process_time()
    for _ in range(12):
        values = values * 1.000001 + 1e-9
    return time.process_time() - started


def machine_scaling(workers: int, *, rounds: int = 5) -> dict[str, float]:
    """For each loop, how much longer ``workers`` copies at once take than one alone (median of
    ``rounds``; 1.0 on a machine whose cores are truly free). A virtual machine whose cores share
    a host, or a loaded machine, shows more, and no pipeline can then show more than ``workers``
    over that ratio here."""
    import statistics
    from concurrent.futures import ProcessPoolExecutor

    ratios: dict[str, float] = {}
    with ProcessPoolExecutor(workers) as pool:
        for name, loop in (("pure-Python loop", _busy_loop), ("memory-streaming loop", _memory_loop)):
            seen = []
            for _ in range(rounds):
                alone = next(iter(pool.map(loop, [0])))
                together = max(pool.map(loop, range(workers)))
                seen.append(together / alone)
            ratios[name] = statistics.median(seen)
    return ratios


def _print_stages(results: list[dict[str, object]]) -> None:
    """Per-school milliseconds of every district stage, summed over districts, against the smallest state."""
    for w in sorted({int(r["workers"]) for r in results}):  # type: ignore[call-overload]
        runs = [r for r in results if r["workers"] == w]
        base = runs[0]
        print(f"\nper-school milliseconds of each stage (summed over districts), {w} worker(s); ratio to "
              f"{base['schools']} schools (1.0 = flat):")
        names = list(dict.fromkeys(k for r in runs for k in r["stages"]))  # type: ignore[attr-defined]
        print(f"  {'stage':20}" + "".join(f"{r['schools']:>16}" for r in runs))
        for stage in [*names, "total"]:
            cells = []
            for r in runs:
                sec = sum(r["stages"].values()) if stage == "total" else r["stages"].get(stage, float("nan"))  # type: ignore[attr-defined]
                b = sum(base["stages"].values()) if stage == "total" else base["stages"].get(stage, float("nan"))  # type: ignore[attr-defined]
                per, per_base = 1000 * sec / r["schools"], 1000 * b / base["schools"]  # type: ignore[operator]
                cells.append(f"{per:8.2f} ({per / per_base if per_base else float('nan'):4.2f})")
            print(f"  {stage:20}" + "".join(f"{c:>16}" for c in cells))


def _state_table(args: argparse.Namespace) -> None:
    results = []
    most = max(args.workers)
    if most > 1:
        for name, ratio in machine_scaling(most).items():
            print(f"this machine: {most} copies of a {name} at once take {ratio:.2f}x one alone (median of 5), "
                  f"so {most} workers can show at most {most / max(ratio, 1.0):.2f}x on such work here "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    for n in args.schools:
        for w in args.workers:
            cmd = [sys.executable, __file__, "--one", str(n), "--workers", str(w), "--layout", args.layout,
                   "--district-schools", str(args.district_schools), "--seed", str(args.seed),
                   "--budget-per-school", str(args.budget_per_school)] + (["--outputs"] if args.outputs else []) \
                + (["--timeline", f"{args.timeline}-{n}-{w}.json"] if args.timeline and w > 1 else [])
            load = os.getloadavg()[0]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            results.append(r)
            print(f"{n:>7} schools ({r['districts']} districts, {r['buildings']} buildings), {w} worker(s): "
                  f"{r['wall_s']:8.1f} s  {r['per_school_ms']:7.2f} ms/school (CPU {r['cpu_per_school_ms']:.2f} "
                  f"ms/school)  worker peak "
                  f"{max(r['worker_peak_mb']):6.0f} MB  driver peak {r['driver_peak_mb']:6.0f} MB"
                  f"  {r['chunks']} chunks, {r['chunk_s_mean']:.1f} s each (<= {r['chunk_buildings_max']} "
                  f"buildings), chunked stage {max(r['chunk_busy_s']):.1f} s on the busiest worker "
                  f"(per worker: {', '.join(f'{b:.1f}' for b in r['chunk_busy_s'])})  failed {len(r['failed'])}  "
                  f"load before {load:.1f}, after {os.getloadavg()[0]:.1f}", flush=True)
    _print_stages(results)
    print("\nspeed-up over one worker (wall time):")
    for n in args.schools:
        base = next((r for r in results if r["schools"] == n and r["workers"] == 1), None)
        for r in results:
            if base and r["schools"] == n and r["workers"] != 1:
                print(f"  {n:>7} schools, {r['workers']} workers: {base['wall_s'] / r['wall_s']:.2f}x wall, "
                      f"{max(base['chunk_busy_s']) / max(r['chunk_busy_s']):.2f}x chunked stage")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--budget-per-school", type=float, default=50_000.0)
    parser.add_argument("--files", action="store_true", help="go through CSV + GeoPackage files and load_district")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workers", type=int, nargs="+", help="run a state of districts on 1, 2, ... workers")
    parser.add_argument("--layout", choices=("city", "rural", "mixed"), default="mixed")
    parser.add_argument("--district-schools", type=int, default=800, help="schools per district (with --workers)")
    parser.add_argument("--outputs", action="store_true",
                        help="with --workers: write every district's workbook, GeoPackage and map (as assess-state)")
    parser.add_argument("--timeline", help="with --workers: write each Dask run's tasks (worker, key, start, "
                                           "stop) to TIMELINE-<schools>-<workers>.json")
    args = parser.parse_args()

    if args.workers and args.one:
        print(json.dumps(run_state_one(args.one, workers=args.workers[0], layout=args.layout,
                                       district_schools=args.district_schools,
                                       budget_per_school=args.budget_per_school, seed=args.seed,
                                       outputs=args.outputs,
                                       timeline=Path(args.timeline) if args.timeline else None)))
        return
    if args.workers:
        _state_table(args)
        return

    if args.one:
        print(json.dumps(run_one(args.one, budget_per_school=args.budget_per_school, files=args.files,
                                 seed=args.seed, layout=args.layout)))
        return

    results = []
    for n in args.schools:
        cmd = [sys.executable, __file__, "--one", str(n), "--budget-per-school", str(args.budget_per_school),
               "--seed", str(args.seed), "--layout", args.layout] + (["--files"] if args.files else [])
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
        result = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(result)
        print(f"\n== {n} schools: {result['buildings']} buildings, {result['rows']} inventory rows, "
              f"{result['projects']} projects; peak memory {result['peak_mb']:.0f} MB")
        for stage, seconds in result["timings"].items():
            print(f"  {stage:16} {seconds:8.2f} s   {1000 * seconds / n:8.2f} ms/school")
        print(f"  {'total (no gen.)':16} {result['total_s']:8.2f} s   {result['per_school_ms']:8.2f} ms/school"
              f"   portfolio: {result['method']}, gap {result['gap']}")
        print(f"  local-CRS share of the run: {100 * result['local_crs_s'] / result['total_s']:.1f}% "
              f"({result['local_crs_s']:.2f} s of {result['total_s']:.2f} s; geo.local frames, in coverage)")

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
