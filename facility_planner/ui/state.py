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
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner.assess import Assessment, assess, replan, write_outputs
from facility_planner.io.load import load_district
from facility_planner.mapping import build_map, map_html
from facility_planner.model import TABLES, District, ValidationReport, make_district
from facility_planner.planning.catalog import CostCatalog, load_catalog
from facility_planner.planning.catalog import cost_override as _cost_override_of
from facility_planner.planning.catalog import cost_table as _cost_table_of
from facility_planner.planning.risk import RiskConfig, load_risk_config
from facility_planner.planning.risk import risk_override as _risk_override_of
from facility_planner.planning.risk import risk_table as _risk_table_of
from facility_planner.rules import default_packs

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


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:16]


def load_inputs(inventory: Any, *, maps: Sequence[tuple[str, bytes]] = (), label: str) -> Workspace:
    """Read an inventory (bytes, path or CSV mapping) and maps into a district with its report."""
    started = time.perf_counter()
    district, report = load_district(inventory, maps=list(maps))
    parts: list[bytes | str] = [label]
    if isinstance(inventory, bytes):
        parts.append(inventory)
    elif isinstance(inventory, Mapping):
        parts.extend(v for kv in sorted(inventory.items()) for v in kv)
    parts.extend(b for _, b in maps)
    return Workspace(label, district, report, inventory=inventory, maps=list(maps),
                     digest=digest(*parts), seconds=time.perf_counter() - started)


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
                           label="Sample district")

    return _load(key)


def workspace() -> Workspace:
    """The session's current workspace (the sample district until the user uploads)."""
    state = st.session_state
    if "workspace" not in state:
        state["workspace"] = sample_workspace()
    return state["workspace"]


def set_workspace(ws: Workspace) -> None:
    state = st.session_state
    state["workspace"] = ws
    for key in ("assessment", "assessment_key", "base", "base_key", "selected_building", "fix_sheet",
                "export_files", "export_key"):
        state.pop(key, None)


def role() -> str:
    return st.session_state.get("role", os.environ.get("FACILITY_PLANNER_ROLE", "admin"))


def may(action: str) -> bool:
    return action in PERMISSIONS.get(role(), frozenset())


# --- inventory round trip for inline fixes -------------------------------------------------------

def tables_as_csv(district: District, *, edited: Mapping[str, pd.DataFrame] | None = None) -> dict[str, bytes]:
    """Every sheet of the district as CSV bytes (schema columns), edited sheets replaced.

    Used to send inline fixes back through the same reader as any upload, so they are validated.
    """
    out: dict[str, bytes] = {}
    for name, table in TABLES.items():
        frame = (edited or {}).get(name)
        if frame is None:
            frame = pd.DataFrame(district.table(name))
        cols = [c for c in table.column_names if c in frame.columns]
        buffer = io.StringIO()
        pd.DataFrame(frame[cols]).to_csv(buffer, index=False, date_format="%Y-%m-%d")
        out[f"{name}.csv"] = buffer.getvalue().encode()
    return out


def editable_table(district: District, name: str) -> pd.DataFrame:
    frame = pd.DataFrame(district.table(name))
    cols = [c for c in TABLES[name].column_names if c in frame.columns]
    return frame[cols].reset_index(drop=True)


# --- assessment -----------------------------------------------------------------------------------

def run_assessment(ws: Workspace, *, budget: float | None, years: int, cost_override: Mapping[str, Any] | None,
                   risk_override: Mapping[str, Any] | None = None, progress: Any = None) -> Assessment:
    """``assess`` on the workspace, then ``replan`` for budget, years, unit-cost and risk changes.

    Both are memoised in the session: the full assessment by the workspace's inputs, the plan by
    its settings too, so changing the budget or a weight re-optimises without re-scoring.
    """
    state = st.session_state
    base_key = ws.digest or digest(ws.label)
    key = digest(base_key, repr(budget), str(years), repr(cost_override), repr(risk_override))
    if state.get("assessment_key") == key:
        return state["assessment"]
    result = state.get("base") if state.get("base_key") == base_key else None
    if result is None:
        result = assess(ws.district, ws.report, budget=budget, years=years, progress=progress)
        state["base"], state["base_key"] = result, base_key
        if cost_override or risk_override:
            result = _replan(result, budget=budget, years=years, cost_override=cost_override,
                             risk_override=risk_override)
    else:
        result = _replan(result, budget=budget, years=years, cost_override=cost_override,
                         risk_override=risk_override)
    state["assessment"], state["assessment_key"] = result, key
    return result


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
    """Unit costs of the default catalog, as rows a user edits."""
    return _cost_table_of(load_catalog())


def cost_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The catalog override for the user's edits (``ConfigError`` naming the item at fault)."""
    return _cost_override_of(edited, original)


@functools.lru_cache(maxsize=1)
def _default_pack_ids() -> tuple[str, ...]:
    return tuple(p.id for p in default_packs())


def risk_table() -> pd.DataFrame:
    """The default risk model's editable factors (threat, consequence, vulnerability, pack weights)."""
    return _risk_table_of(load_risk_config(), packs=_default_pack_ids())


def risk_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The ``risk.yaml`` override for the user's edits (``ConfigError`` naming the rows at fault)."""
    return _risk_override_of(edited, original)


def coverage_map(ws: Workspace, assessment: Assessment | None, *, tiles: str) -> Any:
    """The folium map of the workspace, built afresh each run.

    Not memoised: ``st_folium`` alters the map it renders, and a map rendered twice shows blank.
    """
    return build_map(ws.district, coverage=getattr(assessment, "coverage", None),
                     scores=getattr(assessment, "scores", None), tiles=tiles)


def map_html_bytes(ws: Workspace, assessment: Assessment | None, *, tiles: str) -> bytes:
    return map_html(coverage_map(ws, assessment, tiles=tiles)).encode()


def export_files(assessment: Assessment) -> dict[str, bytes]:
    """The lead's export writer run into a temporary folder; file name -> bytes."""
    with tempfile.TemporaryDirectory() as tmp:
        return {name: path.read_bytes() for name, path in write_outputs(assessment, Path(tmp)).items()}
