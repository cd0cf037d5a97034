"""The app's pages, one function each. They read state, call library functions and draw.

No domain logic here: reading, validation, coverage, scoring, planning and exports are library
calls (through ``facility_planner.ui.state``).
"""

from __future__ import annotations

import io
import re
import time
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import settings
from facility_planner.errors import FacilityPlannerError
from facility_planner.model import TABLES
from facility_planner.ui import state

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def md(text: object) -> str:
    """User text made literal in Streamlit markdown (labels, alerts): no links, images or HTML."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", str(text))


def _timed(name: str) -> None:
    """Start the clock of a page run (server time, shown under the page)."""
    st.session_state.setdefault("_timings", {})[name] = time.perf_counter()


def _done(name: str) -> None:
    started = st.session_state.get("_timings", {}).get(name)
    if started is not None:
        seconds = time.perf_counter() - started
        st.session_state.setdefault("page_seconds", {})[name] = seconds
        st.caption(f"Server time for this page: {seconds:.2f} s")


def _report_summary(report: Any) -> None:
    cols = st.columns(3)
    cols[0].metric("Errors", len(report.errors))
    cols[1].metric("Warnings", len(report.warnings))
    cols[2].metric("Rows not used", report.rejected_count)


def _show(frame: pd.DataFrame) -> None:
    """A table as data: lists joined, mixed-type columns as text (Arrow needs one type a column)."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(
                lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple))
                else None if v is None or (not hasattr(v, "__len__") and pd.isna(v))
                else str(v)).astype("string")
    st.dataframe(out, width="stretch", hide_index=out.index.names == [None])


def _assessment(ws: state.Workspace) -> Any:
    """The assessment under the session's plan settings, with progress on the first run."""
    if not state.assess_available():
        st.info("The assessment pipeline (facility_planner.assess) is not available in this build; "
                "showing the inventory only.")
        return None
    plan = st.session_state.get("plan", {})
    key_args = dict(budget=plan.get("budget", state.DEFAULT_BUDGET), years=int(plan.get("years", 1)),
                    cost_override=plan.get("cost_override"))
    if st.session_state.get("base") is None:
        with st.status("Assessing the district: coverage, scores, projects...", expanded=True) as status:
            bar = st.progress(0.0)

            def progress(stage: str, fraction: float) -> None:
                bar.progress(min(max(float(fraction), 0.0), 1.0), text=stage)

            try:
                result = state.run_assessment(ws, progress=progress, **key_args)
            except FacilityPlannerError as err:
                status.update(label="The assessment could not run", state="error")
                st.error(md(err))
                return None
            timings = getattr(result, "timings", {}) or {}
            status.update(label=f"Assessment ready in {sum(timings.values()):.1f} s", state="complete",
                          expanded=False)
        return result
    return state.run_assessment(ws, **key_args)


# --- Data -----------------------------------------------------------------------------------------

def data_page() -> None:
    """Upload an inventory and maps, read the validation report, fix rows inline, get the template."""
    _timed("data")
    st.title("Data")
    if state.may("upload"):
        _upload_form()
    else:
        st.info("Your role may view the data; facilities managers upload and edit.")
    ws = state.workspace()
    st.text(f"Current data: {ws.label}, {len(ws.district.sites)} site(s), "
            f"{len(ws.district.buildings)} building(s).")

    template = state.module("facility_planner.io.template")
    if template is not None:
        buffer = io.BytesIO()
        template.write_template(buffer)
        st.download_button("Download the blank inventory template", buffer.getvalue(),
                           file_name="inventory_template.xlsx", mime=XLSX_MIME)

    st.subheader("Validation report")
    _report_summary(ws.report)
    problems = ws.report.to_frame()
    if len(problems):
        st.dataframe(problems, hide_index=True, width="stretch")
    else:
        st.success("No problems found.")

    if state.may("edit"):
        _inline_fixes(ws)
    _done("data")


def _upload_form() -> None:
    st.subheader("Upload")
    inventory = st.file_uploader("Inventory: one .xlsx workbook, or one CSV file per sheet",
                                 type=["xlsx", "csv"], accept_multiple_files=True, key="upload_inventory")
    maps = st.file_uploader("Campus maps (GeoPackage, GeoJSON, zipped Shapefile or FileGDB, KML/KMZ, DXF)",
                            type=list(state.MAP_EXTENSIONS), accept_multiple_files=True, key="upload_maps")
    if not inventory:
        return
    files = [(f.name, f.getvalue()) for f in inventory]
    map_files = [(f.name, f.getvalue()) for f in maps or []]
    key = state.digest(*(n for n, _ in files + map_files), *(b for _, b in files + map_files))
    if st.session_state.get("upload_digest") == key:
        return  # already read in this session
    too_big = [n for n, b in files + map_files if len(b) > settings.max_upload_bytes]
    if too_big:
        st.error(f"{md(', '.join(too_big))}: larger than the {settings.max_upload_bytes // 2**20} MB limit.")
        return
    xlsx = [(n, b) for n, b in files if n.lower().endswith(".xlsx")]
    source: Any = xlsx[0][1] if xlsx else {n: b for n, b in files if n.lower().endswith(".csv")}
    label = xlsx[0][0] if xlsx else ", ".join(n for n, _ in files)
    st.session_state["upload_digest"] = key
    with st.status(f"Reading {md(label)}...", expanded=False) as status:
        try:
            ws = state.load_inputs(source, maps=map_files, label=label)
        except FacilityPlannerError as err:
            status.update(label="The upload could not be read", state="error")
            st.error(md(err))
            return
        status.update(label=f"Read {md(label)} in {ws.seconds:.1f} s", state="complete")
    state.set_workspace(ws)
    if ws.report.errors:
        st.error(f"{md(label)}: {len(ws.report.errors)} error(s) found; see the validation report below.")
    else:
        st.success(f"{md(label)}: loaded {len(ws.district.buildings)} building(s).")


def _inline_fixes(ws: state.Workspace) -> None:
    st.subheader("Fix rows")
    sheets = list(TABLES)
    rejected = ws.report.rejected
    default = next((i for i, s in enumerate(sheets) if s in rejected), 0)
    sheet = st.selectbox("Sheet", sheets, index=default, key="fix_sheet")
    new_table = st.data_editor(state.editable_table(ws.district, sheet), num_rows="dynamic",
                               key=f"edit_{sheet}", hide_index=True)
    if sheet in rejected:
        st.caption("Rows that could not be used: correct them here and they are read again.")
        _show(rejected[sheet][[c for c in ("source_row", "reason") if c in rejected[sheet]]])
        rows = rejected[sheet].drop(columns=["reason", "source_row"], errors="ignore")
        fixed = st.data_editor(rows, key=f"rejected_{sheet}", hide_index=True)
        new_table = pd.concat([new_table.astype(object), fixed.astype(object)], ignore_index=True)
    if st.button("Apply fixes and validate again", key="apply_fixes"):
        csv = state.tables_as_csv(ws.district, edited={sheet: new_table})
        with st.status("Validating the corrected inventory...") as status:
            try:
                new_ws = state.load_inputs(csv, maps=ws.maps, label=f"{ws.label} (edited)")
            except FacilityPlannerError as err:
                status.update(label="The corrected data could not be read", state="error")
                st.error(md(err))
                return
            status.update(label="Validated", state="complete")
        state.set_workspace(new_ws)
        st.rerun()


# --- Map ------------------------------------------------------------------------------------------

def map_page() -> None:
    """The coverage map; clicking a building shows its scorecard below."""
    from streamlit_folium import st_folium

    _timed("map")
    st.title("Map")
    ws = state.workspace()
    assessment = _assessment(ws)
    tiles = st.session_state.get("tiles", settings.map_tiles)
    m = state.coverage_map(ws, assessment, tiles=tiles)
    # only a click on a feature reruns the page: panning and zooming send nothing back
    out = st_folium(m, key="coverage_map", height=560, use_container_width=True,
                    returned_objects=["last_active_drawing"])
    clicked = (out or {}).get("last_active_drawing") or {}
    index = (clicked.get("properties") or {}).get("building_index")
    if index is not None and 0 <= int(index) < len(ws.district.buildings):
        st.session_state["selected_building"] = str(ws.district.buildings["building_id"].iloc[int(index)])
    selected = st.session_state.get("selected_building")
    if selected:
        st.subheader(f"Scorecard: {md(selected)}")
        _building_scorecard(ws, assessment, selected)
    else:
        st.caption("Click a building to see its scorecard.")
    _done("map")


# --- Scorecards -----------------------------------------------------------------------------------

def _rows_for(frame: pd.DataFrame, key: str, value: str) -> pd.DataFrame | None:
    if key in frame.columns:
        return frame[frame[key].astype("string") == value]
    if frame.index.name == key:
        return frame.loc[frame.index.astype(str) == value]
    return None


def _building_scorecard(ws: state.Workspace, assessment: Any, building_id: str) -> None:
    row = ws.district.buildings[ws.district.buildings["building_id"] == building_id]
    _show(pd.DataFrame(row.drop(columns="geometry")))
    scores = getattr(assessment, "scores", None)
    if scores is None:
        return
    measures = getattr(scores, "minimum_measures", None)
    if isinstance(measures, pd.DataFrame) and building_id in measures.index:
        st.markdown("**COPS minimum measures**")
        _show(measures.loc[[building_id]])
    results = getattr(scores, "results", None)
    if isinstance(results, pd.DataFrame) and "building_id" in results:
        mine = results[results["building_id"].astype("string") == building_id]
        cols = [c for c in ("pack", "measure", "rule_id", "title", "status", "value", "threshold",
                            "evidence", "source") if c in mine.columns]
        st.markdown("**Rules with evidence**")
        _show(mine[cols])
    tiers = getattr(scores, "pass_tiers", None)
    if isinstance(tiers, pd.DataFrame) and {"building_id", "layer", "component", "tier"} <= set(tiers.columns):
        grid = tiers[tiers["building_id"].astype("string") == building_id]
        if len(grid):
            st.markdown("**PASS tiers: layer x component (blank = not assessed)**")
            _show(grid.astype({"tier": "float64"}).pivot_table(
                index="layer", columns="component", values="tier", aggfunc="first", dropna=False))
    coverage = getattr(getattr(assessment, "coverage", None), "facts", None)
    values = getattr(coverage, "values", None)
    if isinstance(values, pd.DataFrame) and building_id in values.index:
        st.markdown("**Coverage (%)**")
        _show(values.loc[[building_id]])


def _site_scorecard(ws: state.Workspace, assessment: Any, site_id: str) -> None:
    _show(ws.district.sites[ws.district.sites["site_id"] == site_id])
    scores = getattr(assessment, "scores", None)
    actions = getattr(scores, "actions", None)
    if isinstance(actions, pd.DataFrame) and site_id in actions.index:
        st.markdown("**Ten Essential Actions readiness**")
        _show(actions.loc[[site_id]])
    rollup = getattr(scores, "site_rollup", None)
    if isinstance(rollup, pd.DataFrame):
        part = _rows_for(rollup, "site_id", site_id)
        if part is not None and len(part):
            st.markdown("**Site roll-up**")
            _show(part)
    results = getattr(scores, "results", None)
    if isinstance(results, pd.DataFrame) and {"site_id", "building_id"} <= set(results.columns):
        mine = results[(results["site_id"].astype("string") == site_id) & results["building_id"].isna()]
        cols = [c for c in ("pack", "group", "rule_id", "title", "status", "evidence", "source")
                if c in mine.columns]
        if len(mine):
            st.markdown("**Site-wide rules with evidence**")
            _show(mine[cols])


def scorecards_page() -> None:
    """Per building and per site: COPS measures with evidence, PASS tiers, Ten Actions, roll-up."""
    _timed("scorecards")
    st.title("Scorecards")
    ws = state.workspace()
    assessment = _assessment(ws)
    scores = getattr(assessment, "scores", None)
    by_building, by_site, district_rollup = st.tabs(["Per building", "Per site", "District roll-up"])
    with by_building:
        ids = ws.district.buildings["building_id"].astype(str).tolist()
        if ids:
            current = st.session_state.get("selected_building")
            choice = st.selectbox("Building", ids, index=ids.index(current) if current in ids else 0,
                                  key="scorecard_building")
            _building_scorecard(ws, assessment, choice)
    with by_site:
        sites = ws.district.sites["site_id"].astype(str).tolist()
        if sites:
            site = st.selectbox("Site", sites, key="scorecard_site")
            _site_scorecard(ws, assessment, site)
    with district_rollup:
        if scores is None:
            st.info("Scores appear here once the assessment runs.")
        for name in ("district_rollup", "site_rollup", "measure_scores"):
            frame = getattr(scores, name, None)
            if isinstance(frame, pd.DataFrame) and len(frame):
                st.markdown(f"**{name.replace('_', ' ').capitalize()}**")
                _show(frame)
    _done("scorecards")


# --- Plan -----------------------------------------------------------------------------------------

def plan_page() -> None:
    """Unit costs, budget and years; projects ranked, the chosen portfolio and cost vs risk."""
    _timed("plan")
    st.title("Plan")
    ws = state.workspace()
    plan = st.session_state.setdefault("plan", {"budget": state.DEFAULT_BUDGET, "years": 1,
                                                "cost_override": None})
    cols = st.columns(2)
    budget = cols[0].number_input("Budget (USD per year)", min_value=0.0, step=10_000.0,
                                  value=float(plan.get("budget") or 0.0), key="plan_budget")
    years = cols[1].number_input("Years", min_value=1, max_value=10, step=1, value=int(plan.get("years", 1)),
                                 key="plan_years")
    with st.expander("Unit costs (edit to try local quotes)"):
        original = state.cost_table()
        edited = st.data_editor(original, key="cost_editor", hide_index=True,
                                disabled=["item", "parameter", "unit", "source"])
        override = state.cost_override(edited, original) if len(original) else None
    plan.update(budget=float(budget), years=int(years), cost_override=override)

    assessment = _assessment(ws)
    if assessment is None:
        _done("plan")
        return
    portfolio = getattr(assessment, "portfolio", None)
    if portfolio is not None:
        figures = portfolio.as_dict()
        limit = figures.get("limit")
        limit = sum(limit) if isinstance(limit, (list, tuple)) else limit
        c = st.columns(4)
        c[0].metric("Budget", f"${float(limit or 0):,.0f}")
        c[1].metric("Chosen cost", f"${float(figures.get('selected_cost') or 0):,.0f}")
        c[2].metric("Risk reduction", f"{float(figures.get('risk_reduction') or 0):,.1f}")
        c[3].metric("Projects chosen", f"{len(portfolio.selected)}")
        st.caption(f"Method: {figures.get('method', '')}; optimality gap {float(figures.get('gap') or 0):.2%}")
    projects = getattr(assessment, "projects", None)
    if isinstance(projects, pd.DataFrame) and len(projects):
        st.subheader("Projects ranked by risk reduction per dollar")
        _show(projects.sort_values("rank") if "rank" in projects else projects)
        if {"cost", "risk_reduction"} <= set(projects.columns):
            chosen = (projects["selected"].fillna(False).astype(bool) if "selected" in projects
                      else pd.Series(False, index=projects.index))
            chart = pd.DataFrame({"cost": projects["cost"].astype(float),
                                  "risk_reduction": projects["risk_reduction"].astype(float),
                                  "chosen": chosen.map({True: "chosen", False: "not chosen"})})
            st.subheader("Cost against risk reduction")
            st.scatter_chart(chart, x="cost", y="risk_reduction", color="chosen")
    else:
        st.info("No retrofit projects: every gap is closed or unknown.")
    assumptions = getattr(assessment, "assumptions", None)
    if isinstance(assumptions, pd.DataFrame) and len(assumptions):
        with st.expander("Assumptions"):
            _show(assumptions)
    _done("plan")


# --- Export ---------------------------------------------------------------------------------------

def export_page() -> None:
    """Downloads: the workbook, GeoPackage, CSV, summary.json and map.html."""
    _timed("export")
    st.title("Export")
    if not state.may("export"):
        st.info("Your role may view; finance and administrators export.")
        _done("export")
        return
    ws = state.workspace()
    assessment = _assessment(ws)
    tiles = st.session_state.get("tiles", settings.map_tiles)
    st.download_button("map.html", state.map_html_bytes(ws, assessment, tiles=tiles), file_name="map.html",
                       mime="text/html", key="dl_map")
    if assessment is not None:
        key = st.session_state.get("assessment_key")
        if st.session_state.get("export_key") != key:
            if not st.button("Prepare the workbook, GeoPackage, CSV and summary.json", key="prepare_exports"):
                _done("export")
                return
            with st.status("Writing the exports...", expanded=False) as status:
                st.session_state["export_files"] = state.export_files(assessment)
                st.session_state["export_key"] = key
                status.update(label="Exports ready", state="complete")
        mimes = {".xlsx": XLSX_MIME, ".json": "application/json", ".csv": "text/csv",
                 ".gpkg": "application/geopackage+sqlite3", ".html": "text/html"}
        for name, data in st.session_state.get("export_files", {}).items():
            if name == "map.html":
                continue
            mime = next((v for k, v in mimes.items() if name.endswith(k)), "application/octet-stream")
            st.download_button(name, data, file_name=name, mime=mime, key=f"dl_{name}")
    _done("export")
