"""The assessment of a state, district by district and chunk by chunk.

A state run is a list of districts (``DistrictSource``: a folder with a workbook or CSV folder and
map files, or a synthetic district). Each district goes through four steps, each a plain function
the single-process path and the Dask runner (``facility_planner.distributed``) both call:

1. ``load_source``: read the district (bytes from its files) and its own validation report;
2. ``plan_district``: cut it into chunks of whole sites (``geo.site_chunks``) and check, from the
   row counts, that it fits the memory of one worker (``CapacityError`` otherwise);
3. ``measure_chunk``: THE per-chunk work: coverage of the chunk's own sites (measured with the
   halo of sites within reach; the heavy part of a run), its map layers streamed to GeoParquet;
4. ``finish_district``: join the chunks, take the inventory facts (cheap, and district-wide:
   a sheet the district keeps no rows of makes a count unknown, not 0), score, cost and plan the
   district, write its workbook,
   GeoPackage, map and summary, and return a ``DistrictResult``: the roll-up row and the compact
   project arrays a state portfolio needs, never the district's rows.

``write_state`` writes the state roll-up (``state.xlsx``, ``state.json``) from those results.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facility_planner.errors import CapacityError, FacilityPlannerError, InputError
from facility_planner.model import District, ValidationReport

#: Map files read with a district's inventory (by suffix).
MAP_SUFFIXES = (".gpkg", ".geojson", ".json", ".zip", ".kml", ".kmz", ".dxf")
#: Resident memory of one assessment per inventory row, measured by ``benchmarks/assess.py``
#: (10,000 schools: 2.0 M rows, 6.5 GB; 1,000 schools: 0.2 M rows, 0.94 GB).
BYTES_PER_ROW = 3_200
#: Resident memory of a worker before any district (Python, GEOS, pandas, Dask) in bytes.
BASE_BYTES = 350 * 2**20


@dataclass(frozen=True)
class DistrictSource:
    """Where one district's data is: an inventory (workbook or CSV folder) and map files, or a
    synthetic district (``demo``: schools, seed, layout) for tests and benchmarks."""

    name: str
    inventory: Path | None = None
    maps: tuple[Path, ...] = ()
    demo: tuple[int, int, str] | None = None


@dataclass
class LoadedDistrict:
    """A district read by ``load_source``, with its own validation report."""

    name: str
    district: District
    report: ValidationReport

    @property
    def rows(self) -> int:
        """Rows over every table of the district."""
        return district_rows(self.district)


@dataclass
class ChunkResult:
    """What ``measure_chunk`` measured for the chunk's own sites."""

    coverage: Any
    seconds: float
    buildings: int


@dataclass
class DistrictResult:
    """One district's roll-up: a row of the state workbook, and its projects as compact arrays."""

    name: str
    row: dict[str, Any]
    projects: pd.DataFrame = field(default_factory=pd.DataFrame)
    error: str | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage, as ``Assessment.timings``


@dataclass(frozen=True)
class RunOptions:
    """What every district of a run shares: settings, date, budget, chunk size, output folder."""

    settings: Any
    as_of: date
    budget: Sequence[float] | None = None
    years: int = 1
    chunk_buildings: int | None = 2000
    out_dir: Path | None = None
    memory_limit: float | None = None  # bytes one worker may hold; None: not checked
    store: str | None = None  # save each district's snapshot here (SQLite path or postgresql:// URL)
    saved_by: tuple[str, str] = ("", "")  # (user, role) the snapshots are saved as (taken on the driver)
    state_plan: bool = True  # hand each district's projects back (compact) for a state plan


_TABLES = ("sites", "buildings", "rooms", "doors", "cameras", "repeaters", "aeds", "equipment",
           "programs", "checklist", "site_boundaries", "parking", "walls")


def district_rows(district: District) -> int:
    """Rows over every table of a district (what its memory grows with)."""
    return sum(len(district.table(n)) for n in _TABLES)


def find_districts(folder: str | Path) -> list[DistrictSource]:
    """The districts of a state folder: one sub-folder per district, holding ``inventory.xlsx``
    (or any one ``.xlsx``) or a CSV folder (``inventory/`` or the CSV files themselves), and
    its map files. Raises ``InputError`` naming the folder when a district holds no inventory."""
    root = Path(folder)
    if not root.is_dir():
        raise InputError("the state folder does not exist: give a folder with one sub-folder per district.",
                         file=str(root))
    sources = []
    for sub in sorted(p for p in root.iterdir() if p.is_dir()):
        workbooks = sorted(sub.glob("*.xlsx"))
        if (sub / "inventory").is_dir():
            inventory = sub / "inventory"
        elif workbooks:
            inventory = sub / "inventory.xlsx" if (sub / "inventory.xlsx").exists() else workbooks[0]
        elif any(sub.glob("*.csv")):
            inventory = sub
        else:
            raise InputError("this district folder holds no inventory (an .xlsx workbook or CSV files).",
                             file=str(sub))
        maps = tuple(sorted(p for p in sub.iterdir() if p.is_file() and p.suffix.lower() in MAP_SUFFIXES))
        sources.append(DistrictSource(sub.name, inventory, maps))
    if not sources:
        raise InputError("the state folder holds no district sub-folders.", file=str(root))
    return sources


def load_source(source: DistrictSource) -> LoadedDistrict:
    """Read one district (on a worker): its tables, maps and validation report."""
    if source.demo is not None:
        from facility_planner.demo import demo_district

        schools, seed, layout = source.demo
        data = demo_district(schools, seed=seed, layout=layout,  # type: ignore[arg-type]
                             district=source.name)
        return LoadedDistrict(source.name, data.to_district(), ValidationReport())
    from facility_planner.io.load import load_district

    if source.inventory is None:
        raise InputError("no inventory given for this district.", file=source.name)
    maps = [(p.name, p.read_bytes()) for p in source.maps]
    district, report = load_district(source.inventory, maps=maps)
    return LoadedDistrict(source.name, district, report)


def estimate_bytes(rows: int) -> float:
    """Peak resident memory (bytes) of assessing a district of ``rows`` inventory rows."""
    return BASE_BYTES + BYTES_PER_ROW * rows


def check_fits(name: str, rows: int, memory_limit: float | None) -> None:
    """Raise ``CapacityError`` (a plain sentence saying what to do) when a district of ``rows``
    rows would not fit ``memory_limit`` bytes."""
    if memory_limit is None:
        return
    need = estimate_bytes(rows)
    if need > memory_limit:
        raise CapacityError(
            f"district {name}: {rows:,} inventory rows need about {need / 2**30:.1f} GB, but a worker "
            f"has {memory_limit / 2**30:.1f} GB. Run it with fewer, larger workers (assess-state "
            "--workers), on a cluster with more memory per worker (--scheduler), or split the "
            "district into smaller districts, one folder each, and run them with assess-state.")


def plan_district(loaded: LoadedDistrict, options: RunOptions) -> list[Any]:
    """The chunks of whole sites of one district (``geo.SiteChunk``), after the memory check."""
    from facility_planner.geo.coverage import site_chunks

    check_fits(loaded.name, loaded.rows, options.memory_limit)
    return site_chunks(loaded.district, chunk_buildings=options.chunk_buildings,
                       config=options.settings.coverage)


def measure_chunk(loaded: LoadedDistrict, chunk: Any, options: RunOptions, *, index: int = 0) -> ChunkResult:
    """Coverage of one chunk's own sites; map layers streamed to GeoParquet.

    The one per-chunk function: the single-process path and every Dask task call it.
    """
    from facility_planner.geo.coverage import chunk_coverage

    started = time.perf_counter()
    try:
        coverage = chunk_coverage(loaded.district, chunk, config=options.settings.coverage,
                                  as_of=options.as_of)
    except FacilityPlannerError:
        raise
    except Exception as err:  # a bad row deep in the geometry: fail this district, say where
        first = ", ".join(chunk.sites[:3]) + (" ..." if len(chunk.sites) > 3 else "")
        raise InputError(f"the chunk of sites {first or 'all'} could not be measured "
                         f"({type(err).__name__}: {err}).", file=loaded.name) from err
    if options.out_dir is not None:
        stream_layers(coverage, options.out_dir, district=loaded.name, part=index)
    return ChunkResult(coverage, time.perf_counter() - started, len(coverage.facts.values))


def stream_layers(coverage: Any, out_dir: Path, *, district: str, part: int) -> None:
    """Append one chunk's map layers to ``out_dir/layers/<layer>/district=<name>/`` (GeoParquet,
    one dataset per layer, partitioned by district)."""
    from facility_planner.io.exports import geopackage_layer, output_layer

    for name, raw in coverage.layers.items():
        if raw is None or not len(raw):
            continue
        layer = geopackage_layer(output_layer(raw))
        folder = Path(out_dir) / "layers" / name / f"district={_safe_name(district)}"
        folder.mkdir(parents=True, exist_ok=True)
        layer.to_parquet(folder / f"chunk-{part:05d}.parquet", index=False)


def _safe_name(name: str) -> str:
    """A district name as a folder name (letters, digits, - and _ kept)."""
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in str(name)) or "district"


def join_chunks(loaded: LoadedDistrict, parts: Sequence[ChunkResult]) -> Any:
    """The coverage of a whole district from its chunks."""
    from facility_planner.geo.coverage import join_coverage

    if len(parts) == 1:
        return parts[0].coverage
    return join_coverage([p.coverage for p in parts], loaded.district)


def assess_chunked(loaded: LoadedDistrict, parts: Sequence[ChunkResult], options: RunOptions) -> Any:
    """The district's ``Assessment`` from its measured chunks (scoring, risk, projects, plan)."""
    from facility_planner.assess import assess

    result = assess(loaded.district, loaded.report, settings=options.settings,
                    budget=list(options.budget) if options.budget is not None else None,
                    years=options.years, as_of=options.as_of, measured=join_chunks(loaded, parts))
    result.timings["measure (chunks)"] = float(sum(p.seconds for p in parts))
    return result


def finish_district(loaded: LoadedDistrict, *parts: ChunkResult, options: RunOptions) -> DistrictResult:
    """Join, score and plan one district, write its outputs, save its snapshot to the store (when
    ``options.store``: streamed district by district, on the worker), and return its roll-up."""
    result = assess_chunked(loaded, parts, options)
    timings = dict(result.timings)
    if options.out_dir is not None:
        started = time.perf_counter()
        write_district(result, Path(options.out_dir), name=loaded.name)
        timings["write outputs"] = time.perf_counter() - started
    row = rollup_row(loaded.name, result)
    if options.store is not None:
        started = time.perf_counter()
        row["snapshot_id"] = save_district(result, options, name=loaded.name)
        timings["save"] = time.perf_counter() - started
    row.update(chunks=len(parts), chunk_seconds=round(sum(p.seconds for p in parts), 2),
               chunk_buildings_max=max((p.buildings for p in parts), default=0))
    projects = compact_projects(loaded.name, result) if options.state_plan else pd.DataFrame()
    return DistrictResult(loaded.name, row, projects, timings=timings)


def write_district(result: Any, out_dir: Path, *, name: str) -> None:
    """The district's own workbook, GeoPackage, map, projects and summary, and its buildings'
    scorecard rows as the Parquet partition ``buildings/district=<name>/``."""
    from facility_planner.assess import buildings_scorecard, write_outputs

    write_outputs(result, out_dir / "districts" / _safe_name(name))
    folder = out_dir / "buildings" / f"district={_safe_name(name)}"
    folder.mkdir(parents=True, exist_ok=True)
    card = buildings_scorecard(result)
    card.astype({c: "string" for c in card.columns if card[c].dtype == object}).to_parquet(
        folder / "part-00000.parquet", index=False)


def save_district(result: Any, options: RunOptions, *, name: str) -> int:
    """Save one district's assessment as a snapshot in ``options.store``; its summary.json (and,
    when the district has an earlier snapshot, its workbook's Comparison sheet) say so. Returns
    the snapshot id."""
    from facility_planner.store.commands import save_assessment

    folder = Path(options.out_dir) / "districts" / _safe_name(name) if options.out_dir is not None else None
    user, role = options.saved_by
    info = save_assessment(result, store=options.store, user=user or None, role=role or None, district=name,
                           summary_path=folder / "summary.json" if folder else None,
                           workbook=folder / "assessment.xlsx" if folder else None)
    return info.id


def store_rollups(store: str, results: Sequence[DistrictResult]) -> dict[str, pd.DataFrame]:
    """The roll-up of this run's snapshots read back from the store (``history rollup``): one row
    per district and one for the state."""
    from facility_planner.store import open_store

    ids = [int(r.row["snapshot_id"]) for r in results if r.error is None and "snapshot_id" in r.row]
    with open_store(store, readonly=True) as s:
        return {level: s.rollup(level=level, snapshot_ids=ids) for level in ("district", "state")}


def rollup_row(name: str, result: Any) -> dict[str, Any]:
    """One row of the state workbook for a district."""
    rollup = result.scores.district_rollup
    row: dict[str, Any] = {"district": name, "status": "assessed"}
    row.update({k: v for k, v in (rollup.iloc[0].to_dict() if len(rollup) else {}).items()})
    projects = result.projects
    row.update(projects=len(projects), cost_all_projects=float(projects["cost"].sum()) if len(projects) else 0.0,
               validation_errors=len(result.report.errors), validation_warnings=len(result.report.warnings),
               rows_not_used=result.report.rejected_count)
    p = result.portfolio
    if p is not None:
        row.update(projects_chosen=len(p.selected), cost_chosen=p.total_cost,
                   risk_removed=round(p.total_risk_reduction, 4), method=p.method)
    row["seconds"] = round(sum(result.timings.values()), 2)
    return row


def compact_projects(name: str, result: Any) -> pd.DataFrame:
    """A district's projects as the optimiser's input only: ids and choice groups as categories
    (prefixed with the district), cost and risk reduction as float arrays, links as lists."""
    projects = result.projects
    prefix = f"{name}/"
    out = pd.DataFrame({
        "project_id": pd.Categorical(prefix + projects["project_id"].astype(str)),
        "cost": projects["cost"].to_numpy(dtype=float),
        "risk_reduction": projects["risk_reduction"].to_numpy(dtype=float),
    })
    if "choice_group" in projects:
        group = projects["choice_group"].astype("string")
        out["choice_group"] = pd.Categorical((prefix + group).where(group.notna(), None))
    for col in ("requires", "excludes"):
        if col in projects:
            out[col] = [[prefix + str(x) for x in v] if isinstance(v, list | tuple) and len(v) else None
                        for v in projects[col]]
    return out


def failed(name: str, err: BaseException) -> DistrictResult:
    """The roll-up of a district that could not be assessed: a plain sentence, never a traceback."""
    if isinstance(err, FacilityPlannerError):
        message = str(err)
    else:
        message = f"unexpected failure ({type(err).__name__}: {err})"
    return DistrictResult(name, {"district": name, "status": "failed", "error": message}, error=message)


def run_local(sources: Iterable[DistrictSource], options: RunOptions, *, progress: Any = None) -> list[DistrictResult]:
    """Every district in this process, one after the other (small states and tests).

    ``progress`` (a tqdm bar, optional) is advanced by one per chunk measured.
    """
    results = []
    for source in sources:
        try:
            loaded = load_source(source)
            chunks = plan_district(loaded, options)
            if progress is not None:
                progress.total = (progress.total or 0) + len(chunks)
                progress.refresh()
            parts = []
            for i, chunk in enumerate(chunks):
                parts.append(measure_chunk(loaded, chunk, options, index=i))
                if progress is not None:
                    progress.update(1)
            results.append(finish_district(loaded, *parts, options=options))
        except Exception as err:  # noqa: BLE001 - one district's failure never fails the state
            results.append(failed(source.name, err))
    return results


def state_portfolio(results: Sequence[DistrictResult], *, budget: Sequence[float], year_discount: float,
                    time_limit: float = 120) -> Any:
    """The structured optimiser over every project of the state (compact arrays, see
    ``compact_projects``), with one budget for the whole state."""
    from facility_planner.planning import optimise_portfolio

    frames = [r.projects for r in results if r.error is None and len(r.projects)]
    if not frames:
        return None
    projects = pd.concat(frames, ignore_index=True)
    for col in ("project_id", "choice_group"):
        if col in projects:
            projects[col] = projects[col].astype("string")
    return optimise_portfolio(projects, budget=list(budget), years=len(budget), time_limit=time_limit,
                              year_discount=year_discount)


def write_state(results: Sequence[DistrictResult], out_dir: Path, *, portfolio: Any = None,
                timings: dict[str, float] | None = None,
                stored: dict[str, pd.DataFrame] | None = None) -> dict[str, Path]:
    """``state.xlsx`` (one row per district, failures with their error, the state plan and, with
    a store, the store's roll-up of this run's snapshots) and ``state.json``: a roll-up, never
    every row of the state."""
    from openpyxl import Workbook

    from facility_planner.io.exports import sanitize_cell

    out_dir.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame([r.row for r in results])
    wb = Workbook()
    ws = wb.active
    ws.title = "Districts"
    ws.append(list(frame.columns))
    for row in frame.astype(object).where(frame.notna(), None).itertuples(index=False):
        ws.append([sanitize_cell(_cell(v)) for v in row])
    failures = [r for r in results if r.error]
    ws = wb.create_sheet("Failed districts")
    ws.append(["district", "error"])
    for r in failures:
        ws.append([sanitize_cell(r.name), sanitize_cell(r.error)])
    state: dict[str, Any] = {"districts": len(results), "assessed": len(results) - len(failures),
                             "failed": len(failures)}
    if portfolio is not None:
        state.update(budget=sum(portfolio.budget), projects_chosen=len(portfolio.selected),
                     cost_chosen=portfolio.total_cost, risk_removed=round(portfolio.total_risk_reduction, 4),
                     method=portfolio.method)
    ws = wb.create_sheet("State")
    for key, value in {**state, **{f"seconds: {k}": round(v, 2) for k, v in (timings or {}).items()}}.items():
        ws.append([key, sanitize_cell(_cell(value))])
    for level, table in (stored or {}).items():
        _frame_sheet(wb.create_sheet(f"Store roll-up, {level}"), table)
    paths = {"state.xlsx": out_dir / "state.xlsx", "state.json": out_dir / "state.json"}
    wb.save(paths["state.xlsx"])
    payload: dict[str, Any] = {"state": state,
                               "districts": [{k: _cell(v) for k, v in r.row.items()} for r in results]}
    if stored:
        payload["store_rollup"] = {level: _records(table) for level, table in stored.items()}
    paths["state.json"].write_text(json.dumps(payload, indent=2, default=str), encoding="utf-8")
    return paths


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _cell(v) for k, v in row.items()} for row in frame.astype(object).to_dict("records")]


def _frame_sheet(ws: Any, frame: pd.DataFrame) -> None:
    """A header and one row per record of ``frame`` (values cleaned for Excel)."""
    from facility_planner.io.exports import sanitize_cell

    ws.append([str(c) for c in frame.columns])
    for record in _records(frame):
        ws.append([sanitize_cell(v) for v in record.values()])


def _cell(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def available_memory() -> float:
    """Bytes this machine can still give one process (for the single-process memory check)."""
    import psutil

    return float(psutil.virtual_memory().available)


def cpu_count() -> int:
    """Cores this process may use."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def run_state(sources: Sequence[DistrictSource], options: RunOptions, *, workers: int | None = None,
              scheduler: str | None = None, state_budget: Sequence[float] | None = None,
              show: Any = None) -> tuple[list[DistrictResult], dict[str, Path]]:
    """Assess every district (``workers=1`` without a scheduler: in this process; else on Dask),
    with a progress bar of chunks measured, and write the state roll-up into ``options.out_dir``.

    ``show`` (e.g. ``print``) receives one-line notes: the Dask dashboard link.
    """
    from dataclasses import replace

    from tqdm import tqdm

    started = time.perf_counter()
    options = replace(options, state_plan=state_budget is not None)  # else the driver holds no projects
    local = workers == 1 and not (scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS"))
    bar = tqdm(total=0, unit="chunk", desc="chunks measured", disable=None)
    try:
        if local:
            options = replace(options, memory_limit=options.memory_limit or available_memory())
            results = run_local(sources, options, progress=bar)
        else:
            from facility_planner.distributed import connect, run_dask

            cluster = connect(workers=workers, scheduler=scheduler)
            try:
                if show is not None and cluster.dashboard:
                    show(f"Dask dashboard: {cluster.dashboard} ({cluster.workers} worker(s))")
                options = replace(options, memory_limit=options.memory_limit or cluster.memory_limit)
                results = run_dask(sources, options, cluster=cluster, progress=bar)
            finally:
                cluster.close()
    finally:
        bar.close()
    timings = {"districts": time.perf_counter() - started}
    portfolio = None
    if state_budget is not None:
        t = time.perf_counter()
        portfolio = state_portfolio(results, budget=state_budget,
                                    year_discount=options.settings.risk.year_discount)
        timings["state portfolio"] = time.perf_counter() - t
    stored = store_rollups(options.store, results) if options.store is not None else None
    paths = write_state(results, options.out_dir, portfolio=portfolio, timings=timings, stored=stored) \
        if options.out_dir is not None else {}
    return results, paths
