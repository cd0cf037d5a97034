"""Session state of the app: the loaded district, its report and the latest assessment.

Everything a user uploads lives in ``st.session_state`` (one browser session) and nowhere else:
``st.cache_data``/``st.cache_resource`` are used only for the shipped sample district, which is
not user data. Library calls go through here so pages stay thin.
"""

from __future__ import annotations

import functools
import hashlib
import io
import os
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import settings
from facility_planner.assess import Assessment, assess, replan
from facility_planner.io import fixes
from facility_planner.io.exports import write_outputs
from facility_planner.io.load import load_district
from facility_planner.mapping import build_map
from facility_planner.model import TABLES, District, ValidationReport, make_district
from facility_planner.planning.catalog import CostCatalog, load_catalog
from facility_planner.planning.catalog import cost_override as _cost_override_of
from facility_planner.planning.catalog import cost_table as _cost_table_of
from facility_planner.planning.risk import RiskConfig, load_risk_config
from facility_planner.planning.risk import risk_override as _risk_override_of
from facility_planner.planning.risk import risk_table as _risk_table_of
from facility_planner.rules import default_packs
from facility_planner.ui import mapview

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SITES = ROOT / "sample_sites"
ROLES = ("planner", "facilities", "finance", "admin")
#: What each role may do. Viewing (map, scorecards, budget and years what-ifs) is open to every
#: role; ``plan`` is editing the plan's assumptions (unit costs, risk weights).
PERMISSIONS: dict[str, frozenset[str]] = {
    "planner": frozenset({"view"}),
    "facilities": frozenset({"view", "upload", "edit"}),
    "finance": frozenset({"view", "export", "plan"}),
    "admin": frozenset({"view", "upload", "edit", "export", "plan"}),
}
#: Budget the Plan page starts with (USD per year); the user changes it.
DEFAULT_BUDGET = 250_000.0
MAP_EXTENSIONS = ("gpkg", "geojson", "json", "zip", "kml", "kmz", "dxf", "gdb")
#: Above this many sites the Map page opens on the district's footprints and draws coverage and
#: assets for one chosen site (one value with the exports' ``map.html``: ``settings.map_detail_sites``).
MAP_DETAIL_SITES = settings.map_detail_sites
#: Inventory tables in the users' words, for row counts ("13 AEDs", "67 checklist answers").
TABLE_WORDS = {"aeds": "AEDs", "repeaters": "radio repeaters", "equipment": "equipment items",
               "checklist": "checklist answers"}
#: Plans (budget, years, cost and weight changes) kept per session, so trying a budget again is instant.
PLANS_KEPT = 8


@dataclass
class Workspace:
    """One session's data: where it came from, the district, the report and the inputs' bytes."""

    label: str
    district: District
    report: ValidationReport
    inventory: Any = None
    #: Why there is no data (the sample files are missing), shown instead of an assessment.
    notice: str = ""
    maps: list[tuple[str, bytes]] = field(default_factory=list)
    digest: str = ""
    seconds: float = 0.0
    #: When it was read (UTC), shown with the file name so the user knows which data is in use.
    loaded_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The shipped sample (not user data): its assessment and map are shared between sessions.
    shared: bool = False
    #: How the maps were read: ``dxf_layers`` (CAD layers chosen) and ``map_crs`` (a drawing's CRS).
    map_options: dict[str, Any] = field(default_factory=dict)

    def rows(self) -> dict[str, int]:
        """Rows read per table (tables with rows only)."""
        return {name: len(self.district.table(name)) for name in TABLES if len(self.district.table(name))}

    def description(self) -> str:
        """Which data is in use: file, maps, time read and row counts."""
        counts = ", ".join(f"{n:,} {TABLE_WORDS.get(name, name)}" for name, n in self.rows().items()) or "no rows"
        maps = "; map: " + ", ".join(n for n, _ in self.maps) if self.maps else "; no campus map"
        if self.map_options.get("dxf_layers"):
            maps += " (CAD layers " + ", ".join(self.map_options["dxf_layers"]) + ")"
        return f"{self.label}{maps}; read {self.loaded_at:%Y-%m-%d %H:%M:%S} UTC: {counts}."


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:16]


def load_inputs(inventory: Any, *, maps: Sequence[tuple[str, bytes]] = (), label: str,
                shared: bool = False, dxf_layers: Sequence[str] | None = None,
                map_crs: str | None = None) -> Workspace:
    """Read an inventory (bytes, path or CSV mapping) and maps into a district with its report.

    ``dxf_layers`` and ``map_crs`` are the CLI's ``--cad-layer`` and ``--map-crs``: the CAD layers
    of a DXF drawing to read footprints from and the CRS of a drawing that carries none.
    """
    started = time.perf_counter()
    options: dict[str, Any] = {k: v for k, v in (("dxf_layers", list(dxf_layers or [])), ("map_crs", map_crs))
                               if v}
    district, report = load_district(inventory, maps=list(maps),
                                     filename=label if isinstance(inventory, bytes) else None,
                                     dxf_layers=list(dxf_layers or []) or None, map_crs=map_crs or None)
    parts: list[bytes | str] = [label, repr(sorted(options.items()))]
    if isinstance(inventory, bytes):
        parts.append(inventory)
    elif isinstance(inventory, Mapping):
        parts.extend(v for kv in sorted(inventory.items()) for v in kv)
    parts.extend(b for _, b in maps)
    return Workspace(label, district, report, inventory=inventory, maps=list(maps),
                     digest=digest(*parts), seconds=time.perf_counter() - started, shared=shared,
                     map_options=options)


def cad_layers(maps: Sequence[tuple[str, bytes]]) -> list[str]:
    """The CAD layer names found in the DXF drawings among ``maps`` (read from their bytes)."""
    from facility_planner.io.maps import cad_layers as layers_of

    return sorted({name for filename, data in maps for name in layers_of(data, filename=filename)})


def sample_workspace() -> Workspace:
    """The sample district that ships with the project (cached: it is not user data).

    Without the sample files the workspace is empty and says so; the user uploads on the Data page.
    """
    inventory = SAMPLE_SITES / "inventory.xlsx"
    if not inventory.is_file():
        return Workspace("No data loaded", make_district({}), ValidationReport(),
                         notice=f"The sample district ({inventory.name} in {SAMPLE_SITES.name}/) is not "
                                "installed: upload an inventory on the Data page.")
    maps = sorted(SAMPLE_SITES.glob("*.gpkg"))
    key = digest(*(p.read_bytes() for p in [inventory, *maps]))

    @st.cache_resource(show_spinner="Loading the sample district...")
    def _load(_key: str) -> Workspace:
        return load_inputs(inventory.read_bytes(), maps=[(p.name, p.read_bytes()) for p in maps],
                           label="Sample district (inventory.xlsx)", shared=True)

    return _load(key)


def workspace() -> Workspace:
    """The session's current workspace (the sample district until the user uploads)."""
    state = st.session_state
    if "workspace" not in state:
        state["workspace"] = sample_workspace()
    return state["workspace"]


@functools.lru_cache(maxsize=1)
def template_bytes() -> bytes:
    """The blank inventory template (the same for everyone)."""
    from facility_planner.io.template import write_template

    buffer = io.BytesIO()
    write_template(buffer)
    return buffer.getvalue()


def set_workspace(ws: Workspace) -> None:
    state = st.session_state
    state["workspace"] = ws
    for key in ("assessment", "assessment_key", "base", "base_key", "plans", "selected_building",
                "export_files", "export_key", "map_views"):
        state.pop(key, None)


def role() -> str:
    return st.session_state.get("role", os.environ.get("FACILITY_PLANNER_ROLE", "admin"))


# --- inline fixes in the user's own file --------------------------------------------------------

def fix_sheet(ws: Workspace, table: str) -> fixes.RawSheet:
    """The sheet of ``table`` as the user wrote it (``InputError`` when it cannot be fixed inline)."""
    from facility_planner.errors import InputError

    if not isinstance(ws.inventory, (bytes, Mapping)):
        raise InputError("Inline fixes need an uploaded .xlsx workbook or CSV files.")
    memo = st.session_state.setdefault("fix_sheets", {})
    if (ws.digest, table) not in memo:
        memo.clear()
        memo[(ws.digest, table)] = _raw_sheet(ws, table)
    return memo[(ws.digest, table)]


def _raw_sheet(ws: Workspace, table: str) -> fixes.RawSheet:
    rows = [int(r) for r in ws.district.table(table).get("source_row", pd.Series(dtype="Int64")).dropna()]
    rejected = ws.report.rejected.get(table)
    if rejected is not None and "source_row" in rejected:
        rows += [int(r) for r in pd.to_numeric(rejected["source_row"], errors="coerce").dropna()]
    return fixes.raw_sheet(ws.inventory, table, file=ws.label, first_data_row=min(rows) if rows else None)


def apply_fix(ws: Workspace, sheet: fixes.RawSheet, edited: pd.DataFrame) -> Workspace | None:
    """The workspace read again from the user's file with the edited cells; None if nothing changed."""
    cells = fixes.changed_cells(sheet.frame, edited)
    if not cells:
        return None
    source = fixes.apply_fixes(ws.inventory, sheet.table, cells)
    return load_inputs(source, maps=ws.maps, label=ws.label, **ws.map_options)


# --- assessment -----------------------------------------------------------------------------------

def run_assessment(ws: Workspace, *, budget: float | None, years: int, cost_override: Mapping[str, Any] | None,
                   risk_override: Mapping[str, Any] | None = None, progress: Any = None) -> Assessment:
    """``assess`` on the workspace, then ``replan`` for budget, years, unit-cost and risk changes.

    Both are memoised in the session: the full assessment by the workspace's inputs, the last
    ``PLANS_KEPT`` plans by their settings too, so changing the budget or years re-runs only the
    optimiser (a weight or unit cost re-costs the projects), and going back to a budget tried
    before runs nothing.
    """
    state = st.session_state
    base_key = ws.digest or digest(ws.label)
    key = digest(base_key, repr(budget), str(years), repr(cost_override), repr(risk_override))
    if state.get("assessment_key") == key:
        return state["assessment"]
    base = state.get("base") if state.get("base_key") == base_key else None
    if base is None:
        base = (_shared_base(base_key, date.today().isoformat(), ws) if ws.shared else
                assess(ws.district, ws.report, budget=DEFAULT_BUDGET, years=1, progress=progress))
        state["base"], state["base_key"] = base, base_key
    at_default = budget == DEFAULT_BUDGET and years == 1 and not cost_override and not risk_override
    plans = state.setdefault("plans", {})
    result = base if at_default else plans.get(key)
    if result is None:
        result = _replan(base, budget=budget, years=years, cost_override=cost_override,
                         risk_override=risk_override)
        while len(plans) >= PLANS_KEPT:
            plans.pop(next(iter(plans)))
        plans[key] = result
    state["assessment"], state["assessment_key"] = result, key
    return result


@st.cache_resource(show_spinner="Assessing the sample district...", max_entries=2)
def _shared_base(key: str, day: str, _ws: Workspace) -> Assessment:
    """The sample district's assessment at the default plan, shared by every session (not user data)."""
    return assess(_ws.district, _ws.report, budget=DEFAULT_BUDGET, years=1)


def _replan(base: Assessment, *, budget: float | None, years: int,
            cost_override: Mapping[str, Any] | None, risk_override: Mapping[str, Any] | None) -> Assessment:
    catalog = checked_catalog(cost_override) if cost_override else None
    risk = checked_risk_config(risk_override) if risk_override else None
    return replan(base, budget=budget, years=years, catalog=catalog, risk=risk)


def checked_catalog(override: Mapping[str, Any]) -> CostCatalog:
    """The cost catalog with a user's override; ``ConfigError`` (a clear message) if invalid."""
    return load_catalog(dict(override))


def checked_risk_config(override: Mapping[str, Any]) -> RiskConfig:
    """The risk parameters with a user's override; ``ConfigError`` (a clear message) if invalid."""
    return load_risk_config(dict(override))


def cost_table() -> pd.DataFrame:
    """Unit costs of the default catalog, as rows a user edits (a fresh copy each call)."""
    return _cost_table().copy()


@functools.lru_cache(maxsize=1)
def _cost_table() -> pd.DataFrame:
    return _cost_table_of(load_catalog())


def cost_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The catalog override for the user's edits (``ConfigError`` naming the item at fault)."""
    return _cost_override_of(edited, original)


@functools.lru_cache(maxsize=1)
def _default_pack_ids() -> tuple[str, ...]:
    return tuple(p.id for p in default_packs())


def risk_table() -> pd.DataFrame:
    """The default risk model's editable factors (threat, consequence, vulnerability, pack weights)."""
    return _risk_table().copy()


@functools.lru_cache(maxsize=1)
def _risk_table() -> pd.DataFrame:
    return _risk_table_of(load_risk_config(), packs=_default_pack_ids())


def risk_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The ``risk.yaml`` override for the user's edits (``ConfigError`` naming the rows at fault)."""
    return _risk_override_of(edited, original)


def detail_sites(ws: Workspace, site: str | None) -> list[str] | None:
    """Sites whose coverage and assets the map draws: all of a small district, else the chosen one."""
    if len(ws.district.sites) <= MAP_DETAIL_SITES:
        return None
    return [site] if site else []


def coverage_map(ws: Workspace, assessment: Assessment | None, *, tiles: str,
                 sites: Sequence[str] | None = None, building_popups: bool = True) -> Any:
    """A new folium map of the workspace (``sites``: whose coverage and assets to draw; None = all)."""
    return build_map(ws.district, coverage=getattr(assessment, "coverage", None),
                     scores=getattr(assessment, "scores", None), tiles=tiles, detail_sites=sites,
                     building_popups=building_popups)


def map_view(ws: Workspace, assessment: Assessment | None, *, tiles: str,
             sites: Sequence[str] | None = None) -> dict[str, Any]:
    """The Map page's component arguments, rendered once per assessment and layer choice.

    Kept in the session (the sample district's in a cache shared by sessions: not user data).
    The map depends on coverage and scores only, so a budget change keeps it.
    """
    key = digest(ws.digest or ws.label, st.session_state.get("base_key") or "", tiles, repr(sites),
                 "scored" if assessment is not None else "")
    if ws.shared and assessment is not None:
        return _shared_map_view(key, ws, assessment, tiles, None if sites is None else tuple(sites))
    views = st.session_state.setdefault("map_views", {})
    if key not in views:
        while len(views) >= 3:
            views.pop(next(iter(views)))
        views[key] = mapview.prepare(coverage_map(ws, assessment, tiles=tiles, sites=sites, building_popups=False))
    return views[key]


@st.cache_resource(show_spinner=False, max_entries=8)
def _shared_map_view(key: str, _ws: Workspace, _assessment: Assessment, tiles: str,
                     sites: tuple[str, ...] | None) -> dict[str, Any]:
    return mapview.prepare(coverage_map(_ws, _assessment, tiles=tiles, sites=sites, building_popups=False))


def export_files(assessment: Assessment) -> dict[str, bytes]:
    """The lead's export writer run into a temporary folder; file name -> bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        return {name: path.read_bytes() for name, path in write_outputs(assessment, Path(tmp)).items()}
