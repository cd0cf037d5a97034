"""The app's pages, one function each. They read state, call library functions and draw.

No domain logic here: reading, validation, coverage, scoring, planning and exports are library
calls (through ``facility_planner.ui.state``).
"""

from __future__ import annotations

import io
import logging
import re
import time
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import settings
from facility_planner.assess import Assessment
from facility_planner.errors import FacilityPlannerError
from facility_planner.io.template import write_template
from facility_planner.model import TABLES
from facility_planner.ui import auth, state

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger(__name__)


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


def _failed(err: Exception, action: str, *, status: Any = None, label: str = "", then: str = "") -> None:
    """Tell the user a library call failed: its sentence for a ``FacilityPlannerError``; for any
    other exception a short note, with the traceback logged on the server and never shown."""
    if isinstance(err, FacilityPlannerError):
        message = f"{md(err)} {then}".strip()
    else:
        log.exception("The %s failed", action, exc_info=err)
        message = (f"The {action} failed unexpectedly: {type(err).__name__}. Your data is unchanged; "
                   "please report this.")
    if status is not None:
        status.update(label=label or f"The {action} failed", state="error")
    st.error(message)


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


def _assessment(ws: state.Workspace) -> Assessment | None:
    """The assessment under the session's plan settings (None if it cannot run: the reason is
    shown), with progress on the first run."""
    if ws.notice or not len(ws.district.buildings):
        st.info(md(ws.notice or "No buildings to assess: upload an inventory on the Data page."))
        return None
    plan = st.session_state.get("plan", {})
    key_args = dict(budget=plan.get("budget", state.DEFAULT_BUDGET), years=int(plan.get("years", 1)),
                    cost_override=plan.get("cost_override"), risk_override=plan.get("risk_override"))
    if st.session_state.get("base") is not None:
        try:
            return state.run_assessment(ws, **key_args)
        except Exception as err:
            _failed(err, "assessment")
            return None
    with st.status("Assessing the district: coverage, scores, projects...", expanded=True) as status:
        bar = st.progress(0.0)

        def progress(stage: str, fraction: float) -> None:
            bar.progress(min(max(float(fraction), 0.0), 1.0), text=stage)

        try:
            result = state.run_assessment(ws, progress=progress, **key_args)
        except Exception as err:
            _failed(err, "assessment", status=status, label="The assessment could not run")
            return None
        status.update(label=f"Assessment ready in {sum(result.timings.values()):.1f} s", state="complete",
                      expanded=False)
    return result


# --- Data -----------------------------------------------------------------------------------------

def data_page() -> None:
    """Upload an inventory and maps, read the validation report, fix rows inline, get the template."""
    _timed("data")
    st.title("Data")
    if auth.allowed("upload"):
        _upload_form()
    else:
        st.info("Your role may view the data; facilities managers upload and edit.")
    ws = state.workspace()
    st.text(f"Current data: {ws.label}, {len(ws.district.sites)} site(s), "
            f"{len(ws.district.buildings)} building(s).")
    if ws.notice:
        st.info(md(ws.notice))

    buffer = io.BytesIO()
    write_template(buffer)
    st.download_button("Download the blank inventory template", buffer.getvalue(),
                       file_name="inventory_template.xlsx", mime=XLSX_MIME)

    st.subheader("Validation report")
    _report_summary(ws.report)
    problems = ws.report.to_frame()
    if len(problems):
        st.dataframe(problems, hide_index=True, width="stretch")
    else:
        st.success("No problems found.")

    if auth.allowed("edit"):
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
    auth.require("upload")
    st.session_state["upload_digest"] = key
    with st.status(f"Reading {md(label)}...", expanded=False) as status:
        try:
            ws = state.load_inputs(source, maps=map_files, label=label)
        except Exception as err:
            _failed(err, "upload", status=status, label="The upload could not be read")
            return
        status.update(label=f"Read {md(label)} in {ws.seconds:.1f} s", state="complete")
    auth.record("upload", target=label, after=f"{len(ws.district.buildings)} building(s), "
                f"{len(ws.report.errors)} error(s)")
    ws = auth.scoped(ws)
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
    old_table = state.editable_table(ws.district, sheet)  # as it was, for the audit trail
    new_table = st.data_editor(old_table, num_rows="dynamic", key=f"edit_{sheet}", hide_index=True)
    if sheet in rejected:
        st.caption("Rows that could not be used: correct them here and they are read again.")
        _show(rejected[sheet][[c for c in ("source_row", "reason") if c in rejected[sheet]]])
        rows = rejected[sheet].drop(columns=["reason", "source_row"], errors="ignore")
        fixed = st.data_editor(rows, key=f"rejected_{sheet}", hide_index=True)
        new_table = pd.concat([new_table.astype(object), fixed.astype(object)], ignore_index=True)
        old_table = pd.concat([old_table.astype(object), rows.astype(object)], ignore_index=True)
    if st.button("Apply fixes and validate again", key="apply_fixes"):
        auth.require("edit")
        auth.record_edits("edit", old_table, new_table, keys=(TABLES[sheet].column_names[0],))
        csv = state.tables_as_csv(ws.district, edited={sheet: new_table})
        with st.status("Validating the corrected inventory...") as status:
            try:
                new_ws = state.load_inputs(csv, maps=ws.maps, label=f"{ws.label} (edited)")
            except Exception as err:
                _failed(err, "validation", status=status, label="The corrected data could not be read")
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
    try:
        m = state.coverage_map(ws, assessment, tiles=tiles)
    except Exception as err:
        _failed(err, "map")
        _done("map")
        return
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

def _section(title: str, frame: pd.DataFrame) -> None:
    """A bold title over a table, when the table has rows."""
    if len(frame):
        st.markdown(f"**{title}**")
        _show(frame)


def _building_scorecard(ws: state.Workspace, assessment: Assessment | None, building_id: str) -> None:
    buildings = ws.district.buildings
    _show(pd.DataFrame(buildings[buildings["building_id"] == building_id].drop(columns="geometry")))
    if assessment is None:
        return
    scores = assessment.scores
    _section("COPS minimum measures", scores.minimum_measures.loc[scores.minimum_measures.index == building_id])
    results = scores.results
    _section("Rules with evidence", results.loc[results["building_id"].astype("string") == building_id,
                                                ["pack", "measure", "rule_id", "title", "status", "value",
                                                 "threshold", "evidence", "source"]])
    tiers = scores.pass_tiers[scores.pass_tiers["building_id"].astype("string") == building_id]
    if len(tiers):
        _section("PASS tiers: layer x component (blank = not assessed)",
                 tiers.astype({"tier": "float64"}).pivot_table(
                     index="layer", columns="component", values="tier", aggfunc="first", dropna=False))
    coverage = assessment.coverage.facts.values
    _section("Coverage (%)", coverage.loc[coverage.index == building_id])


def _site_scorecard(ws: state.Workspace, assessment: Assessment | None, site_id: str) -> None:
    _show(ws.district.sites[ws.district.sites["site_id"] == site_id])
    if assessment is None:
        return
    scores = assessment.scores
    _section("Ten Essential Actions readiness", scores.actions.loc[scores.actions.index == site_id])
    _section("Site roll-up", scores.site_rollup.loc[scores.site_rollup.index.astype(str) == site_id])
    results = scores.results
    _section("Site-wide rules with evidence",
             results.loc[(results["site_id"].astype("string") == site_id) & results["building_id"].isna(),
                         ["pack", "group", "rule_id", "title", "status", "evidence", "source"]])


def scorecards_page() -> None:
    """Per building and per site: COPS measures with evidence, PASS tiers, Ten Actions, roll-up."""
    _timed("scorecards")
    st.title("Scorecards")
    ws = state.workspace()
    assessment = _assessment(ws)
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
        if assessment is None:
            st.info("Scores appear here once the assessment runs.")
        else:
            for name in ("district_rollup", "site_rollup", "measure_scores"):
                _section(name.replace("_", " ").capitalize(), getattr(assessment.scores, name))
    _done("scorecards")


# --- Plan -----------------------------------------------------------------------------------------

#: The per-building risk factors the Plan page shows, in the order of the formula.
RISK_COLUMNS = ("site_id", "occupancy", "consequence", "threat_level", "threat", "rules", "met", "partial",
                "unmet", "unknown", "weight_total", "weight_short", "shortfall", "vulnerability", "risk")


def _keep_if_valid(plan: dict[str, Any], name: str, make: Any) -> bool:
    """``plan[name] = make()``; if that fails show why and keep the previous value (False)."""
    try:
        plan[name] = make()
    except Exception as err:
        _failed(err, "plan change", then="The previous values stay in use until this is corrected.")
        return False
    return True


def plan_page() -> None:
    """Budget and years, unit costs and risk weights; risk per building, projects ranked, the chosen
    portfolio and cost vs risk reduction."""
    _timed("plan")
    st.title("Plan")
    ws = state.workspace()
    plan = st.session_state.setdefault("plan", {"budget": state.DEFAULT_BUDGET, "years": 1,
                                                "cost_override": None, "risk_override": None})
    cols = st.columns(2)
    budget = cols[0].number_input("Budget (USD per year)", min_value=0.0, step=10_000.0,
                                  value=float(plan.get("budget") or 0.0), key="plan_budget")
    years = cols[1].number_input("Years", min_value=1, max_value=10, step=1, value=int(plan.get("years", 1)),
                                 key="plan_years")
    may_edit = auth.allowed("plan")
    with st.expander("Unit costs" + (" (edit to try local quotes)" if may_edit else "")):
        original = state.cost_table()
        if may_edit and len(original):
            edited = st.data_editor(original, key="cost_editor", hide_index=True,
                                    disabled=["item", "parameter", "unit", "source"])
            if _keep_if_valid(plan, "cost_override", lambda: state.cost_override(edited, original)):
                auth.record_table_change("cost", original, edited, keys=("item", "parameter"),
                                         state_key="cost_editor")
        else:
            _show(original)
    with st.expander("Risk weights (threat, consequence, vulnerability)"):
        st.caption("Risk per building = consequence x threat x vulnerability, each rated 1-10 (FEMA 426/452 "
                   "style). Each rule's own weight is set in its rules pack (facility_planner/rules/*.yaml); "
                   "the pack multipliers here scale a whole pack.")
        original_risk = state.risk_table()
        if may_edit:
            edited_risk = st.data_editor(original_risk, key="risk_editor", hide_index=True,
                                         disabled=[c for c in original_risk.columns if c != "value"],
                                         column_config={"unit": st.column_config.TextColumn("range / unit")})
            if _keep_if_valid(plan, "risk_override", lambda: state.risk_override(edited_risk, original_risk)):
                auth.record_table_change("weight", original_risk, edited_risk,
                                         keys=tuple(c for c in original_risk.columns if c != "value"),
                                         state_key="risk_editor")
        else:
            _show(original_risk)
    if not may_edit:
        # the tables above show the shipped values, so the plan uses them too
        plan.update(cost_override=None, risk_override=None)
        st.caption("Your role may try budgets and years; finance and administrators edit unit costs and "
                   "risk weights.")
    plan.update(budget=float(budget), years=int(years))

    assessment = _assessment(ws)
    if assessment is None:
        _done("plan")
        return
    portfolio = assessment.portfolio
    if portfolio is not None:
        c = st.columns(4)
        c[0].metric("Budget", f"${sum(portfolio.budget):,.0f}")
        c[1].metric("Chosen cost", f"${portfolio.total_cost:,.0f}")
        c[2].metric("Risk reduction", f"{portfolio.total_risk_reduction:,.1f}")
        c[3].metric("Projects chosen", f"{len(portfolio.selected)}")
        gap = portfolio.as_dict()["gap"]  # None when no finite gap is known
        st.caption(f"Method: {portfolio.method}; optimality gap "
                   + ("unknown" if gap is None else f"{gap:.2%}"))
    if len(assessment.risk):
        st.subheader("Risk per building: consequence x threat x vulnerability")
        _show(assessment.risk[list(RISK_COLUMNS)])
    projects = assessment.projects
    if len(projects):
        st.subheader("Projects ranked by risk reduction per dollar")
        _show(projects.sort_values("rank"))
        chosen = (projects["selected"].fillna(False).astype(bool) if "selected" in projects
                  else pd.Series(False, index=projects.index))
        chart = pd.DataFrame({"cost": projects["cost"].astype(float),
                              "risk_reduction": projects["risk_reduction"].astype(float),
                              "chosen": chosen.map({True: "chosen", False: "not chosen"})})
        st.subheader("Cost against risk reduction")
        st.scatter_chart(chart, x="cost", y="risk_reduction", color="chosen")
    else:
        st.info("No retrofit projects: every gap is closed or unknown.")
    if len(assessment.assumptions):
        with st.expander("Assumptions"):
            _show(assessment.assumptions)
    _done("plan")


# --- Export ---------------------------------------------------------------------------------------

def export_page() -> None:
    """Downloads: the workbook, GeoPackage, CSV, summary.json and map.html."""
    _timed("export")
    st.title("Export")
    if not auth.allowed("export"):
        st.info("Your role may view; finance and administrators export.")
        _done("export")
        return
    ws = state.workspace()
    assessment = _assessment(ws)
    tiles = st.session_state.get("tiles", settings.map_tiles)
    try:
        auth.download_button("map.html", lambda: state.map_html_bytes(ws, assessment, tiles=tiles),
                             file_name="map.html", mime="text/html", key="dl_map")
    except Exception as err:
        _failed(err, "map export")
    if assessment is not None:
        key = st.session_state.get("assessment_key")
        if st.session_state.get("export_key") != key:
            if not st.button("Prepare the workbook, GeoPackage, CSV and summary.json", key="prepare_exports"):
                _done("export")
                return
            with st.status("Writing the exports...", expanded=False) as status:
                try:
                    st.session_state["export_files"] = state.export_files(assessment)
                except Exception as err:
                    _failed(err, "export", status=status, label="The exports could not be written")
                    _done("export")
                    return
                st.session_state["export_key"] = key
                status.update(label="Exports ready", state="complete")
        mimes = {".xlsx": XLSX_MIME, ".json": "application/json", ".csv": "text/csv",
                 ".gpkg": "application/geopackage+sqlite3", ".html": "text/html"}
        for name, data in st.session_state.get("export_files", {}).items():
            if name == "map.html":
                continue
            mime = next((v for k, v in mimes.items() if name.endswith(k)), "application/octet-stream")
            auth.download_button(name, data, file_name=name, mime=mime, key=f"dl_{name}")
    _done("export")
