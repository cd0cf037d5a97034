"""Session state of the app: the loaded district, its report and the latest assessment.

Everything a user uploads lives in ``st.session_state`` (one browser session) and nowhere else:
``st.cache_data``/``st.cache_resource`` are used only for the shipped sample district, which is
not user data. Library calls go through here so pages stay thin; modules still being written are
imported lazily and reported as unavailable instead of failing the app.
"""

from __future__ import annotations

import hashlib
import io
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from facility_planner.model import TABLES, District, ValidationReport, make_district

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_SITES = ROOT / "sample_sites"
ROLES = ("planner", "facilities", "finance", "admin")
#: What each role may do. Viewing (map, scorecards, plan what-ifs) is open to every role.
PERMISSIONS: dict[str, frozenset[str]] = {
    "planner": frozenset({"view"}),
    "facilities": frozenset({"view", "upload", "edit"}),
    "finance": frozenset({"view", "export"}),
    "admin": frozenset({"view", "upload", "edit", "export"}),
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
    maps: list[tuple[str, bytes]] = field(default_factory=list)
    digest: str = ""
    seconds: float = 0.0


def st_session() -> Any:
    import streamlit as st

    return st.session_state


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else part.encode())
    return h.hexdigest()[:16]


def module(name: str) -> Any | None:
    """Import a library module, or None while it does not exist yet."""
    import importlib

    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as err:
        if err.name and name.startswith(err.name) or err.name == name:
            return None
        raise


def load_inputs(inventory: Any, *, maps: Sequence[tuple[str, bytes]] = (), label: str) -> Workspace:
    """Read an inventory (bytes, path or CSV mapping) and maps into a district with its report."""
    started = time.perf_counter()
    load = module("facility_planner.io.load")
    if load is not None:
        district, report = load.load_district(inventory, maps=list(maps))
    else:
        inv = module("facility_planner.io.inventory")
        if inv is None:
            raise RuntimeError("the inventory reader is not installed yet")
        tables, report = inv.read_inventory(inventory)
        district = make_district(tables)
    parts: list[bytes | str] = [label]
    if isinstance(inventory, bytes):
        parts.append(inventory)
    elif isinstance(inventory, Mapping):
        parts.extend(v for kv in sorted(inventory.items()) for v in kv)
    parts.extend(b for _, b in maps)
    return Workspace(label, district, report, inventory=inventory, maps=list(maps),
                     digest=digest(*parts), seconds=time.perf_counter() - started)


def _tiny_district() -> District:
    """Last resort while neither sample files nor the demo generator exist: one school."""
    import geopandas as gpd
    from shapely.geometry import box

    lon, lat, d = -77.0365, 38.8977, 0.0005
    footprints = gpd.GeoDataFrame({"building_id": ["ES-01-A"]}, geometry=[box(lon, lat, lon + d, lat + d)],
                                  crs="EPSG:4326")
    tables = {
        "sites": pd.DataFrame({"site_id": ["ES-01"], "name": ["Maple Elementary"], "threat_level": ["medium"]}),
        "buildings": pd.DataFrame({"building_id": ["ES-01-A"], "site_id": ["ES-01"], "name": ["Main building"],
                                   "occupancy": [450]}),
        "cameras": pd.DataFrame({"camera_id": ["ES-01-C01"], "building_id": ["ES-01-A"], "mount": ["exterior"],
                                 "lon": [lon - 0.0001], "lat": [lat], "heading_deg": [45.0], "hfov_deg": [90.0],
                                 "range_m": [30.0], "status": ["working"]}),
    }
    return make_district(tables, footprints=footprints)


def sample_workspace() -> Workspace:
    """The sample district that ships with the project (cached: it is not user data)."""
    import streamlit as st

    inventory = SAMPLE_SITES / "inventory.xlsx"
    maps = sorted(SAMPLE_SITES.glob("*.gpkg"))
    key = digest(*(p.read_bytes() for p in [inventory, *maps] if p.is_file()))

    @st.cache_resource(show_spinner="Loading the sample district...")
    def _load(_key: str) -> Workspace:
        if inventory.is_file() and (module("facility_planner.io.load") or module("facility_planner.io.inventory")):
            return load_inputs(inventory.read_bytes(), maps=[(p.name, p.read_bytes()) for p in maps],
                               label="Sample district")
        demo = module("facility_planner.demo")
        if demo is not None and hasattr(demo, "demo_district"):
            return Workspace("Synthetic demo district", demo.demo_district(3, seed=0).to_district(),
                             ValidationReport())
        return Workspace("Built-in example school", _tiny_district(), ValidationReport())

    return _load(key)


def workspace() -> Workspace:
    """The session's current workspace (the sample district until the user uploads)."""
    state = st_session()
    if "workspace" not in state:
        state["workspace"] = sample_workspace()
    return state["workspace"]


def set_workspace(ws: Workspace) -> None:
    state = st_session()
    state["workspace"] = ws
    for key in ("assessment", "assessment_key", "base", "base_key"):
        state.pop(key, None)
    for key in ("selected_building", "fix_sheet", "export_files", "export_key"):
        state.pop(key, None)


def role() -> str:
    state = st_session()
    return state.get("role", os.environ.get("FACILITY_PLANNER_ROLE", "admin"))


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

def assess_available() -> bool:
    return module("facility_planner.assess") is not None


def run_assessment(ws: Workspace, *, budget: float | None, years: int, cost_override: Mapping[str, Any] | None,
                   progress: Any = None) -> Any:
    """``assess`` on the workspace, then ``replan`` for budget, years and unit-cost changes.

    Both are memoised in the session: the full assessment by the workspace's inputs, the plan by
    its settings too, so changing the budget re-optimises without re-scoring.
    """
    assess_mod = module("facility_planner.assess")
    if assess_mod is None:
        return None
    state = st_session()
    base_key = ws.digest or digest(ws.label)
    key = digest(base_key, repr(budget), str(years), repr(cost_override))
    if state.get("assessment_key") == key:
        return state["assessment"]
    if state.get("base_key") != base_key:
        state["base"] = assess_mod.assess(ws.district, ws.report, budget=budget, years=years, progress=progress)
        state["base_key"] = base_key
        result = state["base"]
        if cost_override:
            result = _replan(assess_mod, result, budget=budget, years=years, cost_override=cost_override)
    else:
        result = _replan(assess_mod, state["base"], budget=budget, years=years, cost_override=cost_override)
    state["assessment"], state["assessment_key"] = result, key
    return result


def _replan(assess_mod: Any, base: Any, *, budget: float | None, years: int,
            cost_override: Mapping[str, Any] | None) -> Any:
    catalog = None
    if cost_override:
        catalog = module("facility_planner.planning.catalog").load_catalog(dict(cost_override))
    return assess_mod.replan(base, budget=budget, years=years, catalog=catalog)


def cost_table() -> pd.DataFrame:
    """Unit costs of the default catalog, as rows a user edits."""
    catalog_mod = module("facility_planner.planning.catalog")
    if catalog_mod is None:
        return pd.DataFrame(columns=["item", "parameter", "value", "unit", "source"])
    frame = catalog_mod.load_catalog().assumptions()
    frame = frame[frame["parameter"].isin(["unit_cost_low", "unit_cost_typical", "unit_cost_high"])]
    return frame[["item", "parameter", "value", "unit", "source"]].reset_index(drop=True)


def cost_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The catalog override (same layout as costs.yaml) for the rows the user changed."""
    changed = edited["value"].astype(float).ne(original["value"].astype(float))
    if not changed.any():
        return None
    measures: dict[str, Any] = {}
    for row in edited[changed].itertuples(index=False):
        field_name = str(row.parameter).removeprefix("unit_cost_")
        measure, _, option = str(row.item).partition(":")
        target = measures.setdefault(measure, {})
        if option:
            target = target.setdefault("options", {}).setdefault(option, {})
        target[field_name] = float(row.value)
    return {"measures": measures}


def coverage_map(ws: Workspace, assessment: Any, *, tiles: str) -> Any:
    """The folium map of the workspace, built afresh each run.

    Not memoised: ``st_folium`` alters the map it renders, and a map rendered twice shows blank.
    """
    from facility_planner.mapping import build_map

    return build_map(ws.district, coverage=getattr(assessment, "coverage", None),
                     scores=getattr(assessment, "scores", None), tiles=tiles)


def map_html_bytes(ws: Workspace, assessment: Any, *, tiles: str) -> bytes:
    from facility_planner.mapping import build_map, map_html

    m = build_map(ws.district, coverage=getattr(assessment, "coverage", None),
                  scores=getattr(assessment, "scores", None), tiles=tiles)
    return map_html(m).encode()


def export_files(assessment: Any) -> dict[str, bytes]:
    """The lead's export writer run into a temporary folder; file name -> bytes."""
    import tempfile

    assess_mod = module("facility_planner.assess")
    if assess_mod is None or not hasattr(assess_mod, "write_outputs"):
        return {}
    with tempfile.TemporaryDirectory() as tmp:
        written = assess_mod.write_outputs(assessment, Path(tmp))
        paths = written.values() if isinstance(written, Mapping) else written
        return {Path(p).name: Path(p).read_bytes() for p in paths if Path(p).is_file()}
