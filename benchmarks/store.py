"""Assessment store benchmark: save, load and diff of 1,000- and 10,000-school assessments on
each back end (SQLite file, PostGIS): seconds, rows per second and bytes on disk.

    nice .venv/bin/python benchmarks/store.py [--schools 1000 10000] [--postgres URL] [--no-postgis]

Each size runs in its own process: generate a synthetic district (``facility_planner.demo``),
assess it with a budget (timed: the goal is that saving costs < 10% of this), then re-plan it
with a smaller budget (the "next" snapshot: same buildings, other projects chosen). On each back
end: save both, load one whole (map layers included), diff the two. PostGIS: the URL given, else
``FACILITY_PLANNER_TEST_POSTGRES_URL``, else a throwaway cluster (tests/pg_server.py); each size
gets its own schema.

The assessed pair (and the assessment's wall and CPU time and the load when it was made) is
pickled to ``$TMPDIR/fp-bench-store/assessed-<schools>-seed<seed>-budget<b>.pickle`` (folder:
``FACILITY_PLANNER_BENCH_CACHE``; ``off``: no cache), so a re-run only times the store (a
10,000-school assessment takes minutes and several GB); ``--fresh`` assesses again (do so after
a change to the assessment itself). ``--assess-only --untimed`` fills the cache outside the bench
lock (``nice -n 19``): only the assessment's CPU time is kept, and the save is then compared with
that (CPU seconds of this process; on PostGIS the server backend's own CPU seconds for the
first save are printed beside them, "server CPU", read from /proc when the server is local).
Goals (issue 9): save < 10% of the assessment, diff of two 10,000-school snapshots < 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import resource
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(func: Any) -> tuple[Any, float, float]:
    """``func()``, its wall seconds and this process's CPU seconds (all threads; a PostgreSQL
    server's own CPU time is not in them)."""
    started, cpu = time.perf_counter(), time.process_time()
    value = func()
    return value, time.perf_counter() - started, time.process_time() - cpu


def _bytes_on_disk(store: Any) -> int:
    import sqlalchemy as sa

    if store.kind == "sqlite":
        path = Path(store.location)
        return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())
    with store._engine.connect() as conn:
        return int(conn.execute(sa.text(
            "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = current_schema() "
            "AND c.relkind = 'r'")).scalar_one())


def _rows(assessment: Any) -> int:
    layers = sum(len(v) for v in assessment.coverage.layers.values()) if assessment.coverage else 0
    return len(assessment.scores.results) + len(assessment.projects) + len(assessment.district.buildings) + layers


def bench_backend(location: str, first: Any, second: Any) -> dict[str, Any]:
    """Save both assessments, load one, diff them; seconds, rows/s, bytes."""
    from facility_planner.store import open_store

    with open_store(location) as store:
        server = _ServerCPU(store)
        a, save_s, save_cpu = _timed(lambda: store.save(first, user="bench", role="admin"))
        server_cpu = server.seconds()
        b, save2_s, _cpu = _timed(lambda: store.save(second, user="bench", role="admin"))
        _snap, load_s, load_cpu = _timed(lambda: store.load(a.id))
        diff, diff_s, diff_cpu = _timed(lambda: store.diff(a.id, b.id))
        _frame, rollup_s, _cpu = _timed(lambda: store.rollup(level="site"))
        size = _bytes_on_disk(store)
    rows = _rows(first)
    return {"kind": store.kind, "save_s": save_s, "save_cpu_s": save_cpu, "save_server_cpu_s": server_cpu, "save2_s": save2_s, "load_s": load_s,
            "load_cpu_s": load_cpu, "diff_s": diff_s, "diff_cpu_s": diff_cpu, "rollup_s": rollup_s, "rows": rows,
            "save_rows_per_s": rows / save_s, "load_rows_per_s": rows / load_s, "bytes": size,
            "projects_moved": len(diff.projects), "rules_moved": len(diff.rules)}


class _ServerCPU:
    """CPU seconds of the PostgreSQL backend process serving this store's (pooled) connection,
    from ``/proc`` (the server on this machine); None for SQLite, another host, or when the pool
    handed out another connection meanwhile. The server's WAL writer and checkpointer are not in it."""

    def __init__(self, store: Any) -> None:
        self.pid = self._pid(store) if store.kind == "postgis" else None
        self.store = store
        self.start = self._ticks()

    @staticmethod
    def _pid(store: Any) -> int:
        import sqlalchemy as sa

        with store._engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())

    def _ticks(self) -> int | None:
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return int(fields[11]) + int(fields[12])  # utime + stime

    def seconds(self) -> float | None:
        if self.pid is None or self.start is None:
            return None
        end = self._ticks()
        if end is None or self._pid(self.store) != self.pid:
            return None
        return (end - self.start) / os.sysconf("SC_CLK_TCK")


@contextmanager
def _schema_url(server: str) -> Iterator[str]:
    """A store URL on a new schema of ``server``, dropped afterwards (10,000 schools: GBs)."""
    import psycopg

    name = f"bench_{secrets.token_hex(4)}"
    plain = server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in server else "?"
    try:
        yield f"{server}{sep}options={quote(f'-csearch_path={name},public')}"
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")


def _cache_path(schools: int, seed: int, budget_per_school: float) -> Path | None:
    """Where the assessed pair of a size is kept between runs (None: ``FACILITY_PLANNER_BENCH_CACHE=off``)."""
    folder = os.environ.get("FACILITY_PLANNER_BENCH_CACHE", str(Path(tempfile.gettempdir()) / "fp-bench-store"))
    if folder == "off":
        return None
    Path(folder).mkdir(parents=True, exist_ok=True)
    return Path(folder) / f"assessed-{schools}-seed{seed}-budget{budget_per_school:.0f}.pickle"


def _assessed(schools: int, seed: int, budget_per_school: float, *, untimed: bool) -> tuple[Any, Any, dict[str, Any]]:
    """The assessed district and its re-plan with 80% of the budget, and how long assessing took
    (from the cache when there; ``untimed``: made outside the bench lock, wall time not kept)."""
    import cloudpickle

    from facility_planner.assess import assess, load_settings, replan
    from facility_planner.demo import demo_district
    from facility_planner.model import ValidationReport

    cache = _cache_path(schools, seed, budget_per_school)
    if cache is not None and cache.exists():
        with cache.open("rb") as f:
            first, second, measured = pickle.load(f)
        return first, second, {"assess_cpu_s": None, **measured, "cached": True}
    district = demo_district(schools, seed=seed).to_district()
    budget = budget_per_school * schools
    load_before = os.getloadavg()[0]
    first, assess_s, assess_cpu = _timed(lambda: assess(district, ValidationReport(), settings=load_settings(),
                                                        budget=budget))
    second = replan(first, budget=0.8 * budget)
    measured = {"assess_s": None if untimed else assess_s, "assess_cpu_s": assess_cpu,
                "at": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
                "load": [load_before, os.getloadavg()[0]], "peak_mb": _peak_mb(), "cached": False}
    if cache is not None:
        tmp = cache.with_suffix(".part")
        with tmp.open("wb") as f:  # cloudpickle: the settings hold pydantic generic classes
            cloudpickle.dump((first, second, measured), f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(cache)
    return first, second, measured


def run_one(schools: int, *, postgres: str | None, budget_per_school: float, seed: int = 0,
            assess_only: bool = False, untimed: bool = False) -> dict[str, Any]:
    """One size: assess (or read the cache), then save, load and diff on each back end."""
    first, second, measured = _assessed(schools, seed, budget_per_school, untimed=untimed)
    out: dict[str, Any] = {"schools": schools, "buildings": len(first.district.buildings), **measured,
                           "assess_peak_mb": measured["peak_mb"], "backends": []}
    if not assess_only:
        with tempfile.TemporaryDirectory() as tmp:
            out["backends"].append(bench_backend(str(Path(tmp) / "store.sqlite"), first, second))
        if postgres:
            with _schema_url(postgres) as url:
                out["backends"].append(bench_backend(url, first, second))
        out["rules_join_s"] = _rules_join_seconds(first)
    out["peak_mb"] = _peak_mb()
    return out


def _rules_join_seconds(assessment: Any) -> float:
    """Seconds to compare the rule results with a copy in another row order, one building gone
    (the join a diff makes when the buildings changed between the snapshots)."""
    import numpy as np

    from facility_planner.store.compare import _rule_changes

    results = assessment.scores.results[["building_id", "site_id", "rule_id", "group", "status"]]
    gone = results["building_id"].astype(str) == str(results["building_id"].dropna().iloc[0])
    later = results[~gone.to_numpy()].sample(frac=1.0, random_state=np.random.default_rng(0))
    return _timed(lambda: _rule_changes(results, later))[1]


def _percent(part: float | None, whole: float | None) -> str:
    return "-" if part is None or not whole else f"{100 * part / whole:.1f}%"


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print(result: dict[str, Any]) -> None:
    n, assess_s, assess_cpu = result["schools"], result["assess_s"], result.get("assess_cpu_s")
    wall = "wall not measured (made outside the bench lock)" if assess_s is None else f"{assess_s:.1f} s"
    cpu = "" if assess_cpu is None else f", {assess_cpu:.1f} CPU s"
    print(f"\n== {n} schools, {result['buildings']} buildings: assessment {wall}{cpu} "
          f"({'cached, ' if result['cached'] else ''}made {result['at']}, load {result['load'][0]:.1f} -> "
          f"{result['load'][1]:.1f}, peak memory {result['assess_peak_mb']:.0f} MB); "
          f"this run's peak memory {result['peak_mb']:.0f} MB")
    print(f"  {'back end':8} {'save s':>8} {'% of assess':>11} {'save CPU s':>10} {'% of CPU':>9} {'server CPU':>10} "
          f"{'rows/s':>9} "
          f"{'load s':>7} {'diff s':>7} {'diff CPU s':>10} {'rollup s':>9} {'MB on disk':>10} {'rows':>9}")
    for b in result["backends"]:
        print(f"  {b['kind']:8} {b['save_s']:8.2f} {_percent(b['save_s'], assess_s):>11} {b['save_cpu_s']:10.2f} "
              f"{_percent(b['save_cpu_s'], assess_cpu):>9} {_seconds(b.get('save_server_cpu_s')):>10} "
              f"{b['save_rows_per_s']:9.0f} {b['load_s']:7.2f} "
              f"{b['diff_s']:7.2f} {b['diff_cpu_s']:10.2f} {b['rollup_s']:9.2f} {b['bytes'] / 1e6:10.1f} "
              f"{b['rows']:9d}")
    if "rules_join_s" in result:
        print(f"  rule results compared when their rows do not line up (buildings changed): "
              f"{result['rules_join_s']:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--postgres", help="PostgreSQL URL (default: FACILITY_PLANNER_TEST_POSTGRES_URL or a throwaway cluster)")
    parser.add_argument("--no-postgis", action="store_true", help="SQLite only")
    parser.add_argument("--budget-per-school", type=float, default=50_000.0)
    parser.add_argument("--fresh", action="store_true", help="assess again instead of using the cached assessment")
    parser.add_argument("--assess-only", action="store_true", help="only assess (and cache) each size")
    parser.add_argument("--untimed", action="store_true",
                        help="the assessment runs outside the bench lock: keep its CPU time only")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        cache = _cache_path(args.one, 0, args.budget_per_school)
        if args.fresh and cache is not None:
            cache.unlink(missing_ok=True)
        print(json.dumps(run_one(args.one, postgres=args.postgres, budget_per_school=args.budget_per_school,
                                 assess_only=args.assess_only, untimed=args.untimed)))
        return
    postgres, data_dir = None, None
    if not args.no_postgis:
        postgres = args.postgres or os.environ.get("FACILITY_PLANNER_TEST_POSTGRES_URL")
        if not postgres:
            import pg_server

            postgres, data_dir = pg_server.start()
    try:
        for n in args.schools:
            cmd = [sys.executable, __file__, "--one", str(n), "--budget-per-school", str(args.budget_per_school),
                   *(["--fresh"] if args.fresh else []), *(["--assess-only"] if args.assess_only else []),
                   *(["--untimed"] if args.untimed else [])]
            if postgres:
                cmd += ["--postgres", postgres]
            done = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
            _print(json.loads(done.stdout.strip().splitlines()[-1]))
    finally:
        if data_dir is not None:
            import pg_server

            pg_server.stop(data_dir)


if __name__ == "__main__":
    main()
