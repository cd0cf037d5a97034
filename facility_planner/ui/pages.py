"""The app's pages, one function each. They read state, call library functions and draw.

No domain logic here: reading, validation, coverage, scoring, planning and exports are library
calls (through ``facility_planner.ui.state``).
"""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable
from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import settings
from facility_planner.assess import Assessment
from facility_planner.errors import FacilityPlannerError
from facility_planner.io.exports import csv_bytes, gap_text, spend_by_year
from facility_planner.io.fixes import ROW as FIX_ROW
from facility_planner.io.uploads import refused_upload
from facility_planner.model import TABLES
from facility_planner.ui import auth, labels, mapview, state

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger(__name__)


def md(text: object) -> str:
    """User text made literal in Streamlit markdown (labels, alerts): no links, images or HTML."""
    return re.sub(r"([\\`*_{}\[\]()<>#+\-.!|~$:])", r"\\\1", str(text))


def timed(page: Callable[[], None]) -> Callable[[], None]:
    """``page`` with its server time shown under it (the browser tests wait on this caption)."""

    @functools.wraps(page)
    def run() -> None:
        started = time.perf_counter()
        page()
        seconds = time.perf_counter() - started
        st.session_state.setdefault("page_seconds", {})[page.__name__] = seconds
        st.caption(f"Server time for this page: {seconds:.2f} s")

    return run


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


def _show(frame: pd.DataFrame, *, measures: dict[str, str] | None = None) -> None:
    """A table in the users' words: titled columns, units and sensible precision, blanks blank."""
    shown, config = labels.for_people(frame, measures=measures)
    named_index = frame.index.names != [None]
    if named_index:
        shown.index = [str(v) for v in frame.index]
        shown.index.name = labels.title(str(frame.index.name or ""), measures) if frame.index.name else None
    # a short table is shown whole (no scrolling inside it); a long one scrolls
    height: Any = 35 * (len(shown) + 1) + 3 if len(shown) <= WHOLE_ROWS else "auto"
    st.dataframe(shown, width="stretch", hide_index=not named_index, column_config=config, height=height)


#: Tables up to this many rows are shown whole.
WHOLE_ROWS = 15


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
    st.title("Data")
    if auth.allowed("upload"):
        _upload_form(state.workspace())
    else:
        st.info("Your role may view the data; facilities managers upload and edit.")
    ws = state.workspace()
    st.info(f"In use: {md(ws.description())}")
    if ws.notice:
        st.info(md(ws.notice))

    st.download_button("Download the blank inventory template", state.template_bytes(),
                       file_name="inventory_template.xlsx", mime=XLSX_MIME)

    st.subheader("Validation report")
    _report_summary(ws.report)
    problems = ws.report.to_frame()
    if len(problems):
        st.dataframe(problems, hide_index=True, width="stretch")
    else:
        st.success("No problems found.")
    rejected = ws.report.rejected_frame()
    if len(rejected):
        st.download_button(f"Download the {len(rejected)} row(s) that could not be used (CSV)",
                           csv_bytes(rejected), file_name="rejected_rows.csv", mime="text/csv",
                           key="dl_rejected")

    if auth.allowed("edit"):
        _inline_fixes(ws)


def _chosen_upload(inventory: list[Any]) -> tuple[Any, str] | str:
    """(source, label) of the files in the uploader, or why they cannot be used together."""
    files = [(f.name, f.getvalue()) for f in inventory]
    too_big = refused_upload(files)
    if too_big:
        return too_big
    workbooks = [(n, b) for n, b in files if not n.lower().endswith(".csv")]
    if len(workbooks) > 1 or (workbooks and len(files) > 1):
        return (f"{', '.join(n for n, _ in files)}: choose one workbook, or CSV files only. Remove the "
                "files you do not mean to use (x beside each name).")
    if workbooks:
        return workbooks[0][1], workbooks[0][0]
    return {n: b for n, b in files}, ", ".join(n for n, _ in files)


CAD_LAYERS_LABEL = "CAD layers to read: building outlines and their labels"


def _cad_options(map_files: list[tuple[str, bytes]], ws: state.Workspace) -> dict[str, Any] | None:
    """For DXF drawings: the CAD layers to read footprints from and the drawing's coordinate
    system (the CLI's ``--cad-layer`` and ``--map-crs``); None when the drawings cannot be read."""
    drawings = [(n, b) for n, b in map_files if n.lower().endswith(".dxf")]
    if not drawings:
        return {}
    drawn = state.digest(*(b for _, b in drawings))  # a new drawing is a new choice
    known = st.session_state.setdefault("cad_layer_names", {})
    if drawn not in known:  # GDAL reads the drawing once, not on every rerun of the page
        try:
            known.clear()
            known[drawn] = state.cad_layers(drawings)
        except FacilityPlannerError as err:
            st.error(md(err))
            return None
    names = known[drawn]
    previous = ws.map_options if ws.maps == map_files else {}
    st.markdown(f"**CAD drawing{'s' if len(drawings) > 1 else ''}: {len(names)} layer(s) found** "
                f"({md(', '.join(names) or 'none')})")
    chosen = st.multiselect(
        CAD_LAYERS_LABEL, names, key=f"cad_layers_{drawn}",
        default=[n for n in previous.get("dxf_layers", []) if n in names],
        help="Only the chosen layers are read. Choose the layers with the building outlines and the one "
             "with their labels (the text drawn inside an outline becomes its building id); closed outlines "
             "on them are footprints unless the layer's name says otherwise (PARKING, SITE, ROOM, WALL). "
             "Leave empty to read the layers whose names say what they hold: buildings or footprints, "
             "rooms, walls, parking and sites.")
    crs = st.text_input("Coordinate system of the drawing", value=previous.get("map_crs") or "", key=f"cad_crs_{drawn}",
                        placeholder="e.g. EPSG:32618 (UTM zone 18N) or EPSG:2235 (a state plane in feet)",
                        help="A DXF drawing carries no coordinate system: give the EPSG code its "
                             "coordinates are in.").strip()
    return {k: v for k, v in (("dxf_layers", chosen), ("map_crs", crs)) if v}


def _upload_form(ws: state.Workspace) -> None:
    st.subheader("Upload")
    inventory = st.file_uploader("Inventory: one .xlsx workbook, or one CSV file per sheet",
                                 type=["xlsx", "csv"], accept_multiple_files=True, key="upload_inventory")
    maps = st.file_uploader("Campus maps (GeoPackage, GeoJSON, zipped Shapefile or FileGDB, KML/KMZ, DXF)",
                            type=list(state.MAP_EXTENSIONS), accept_multiple_files=True, key="upload_maps")
    if not inventory:
        return
    chosen = _chosen_upload(inventory)
    if isinstance(chosen, str):
        st.error(md(chosen))
        return
    source, label = chosen
    map_files = [(f.name, f.getvalue()) for f in maps or []]
    too_big = refused_upload(map_files)
    if too_big:
        st.error(md(too_big))
        return
    if not map_files and ws.maps:
        footprints = int(ws.district.buildings.get("has_footprint", pd.Series(dtype=bool)).fillna(False).sum())
        st.warning(f"No campus map is selected. Without one the {footprints} building footprint(s) of the "
                   "current map are lost: no camera, radio or AED coverage is measured, coverage rules become "
                   "unknown and the Map page shows buildings as points only.")
        if st.checkbox(f"Keep the current map ({md(', '.join(n for n, _ in ws.maps))})", value=True,
                       key="keep_map"):
            map_files = list(ws.maps)
    options = _cad_options(map_files, ws)
    if options is None:
        return
    key = state.digest(label, *(n for n, _ in map_files), *(b for _, b in map_files),
                       *(f.getvalue() for f in inventory), repr(sorted(options.items())))
    if st.session_state.get("upload_digest") == key:
        return  # this selection is the data in use
    if not st.button(f"Read {md(label)} and use it (replaces {md(ws.label)})", key="use_upload", type="primary"):
        return
    auth.require("upload")
    with st.status(f"Reading {md(label)}...", expanded=False) as status:
        try:
            new_ws = state.load_inputs(source, maps=map_files, label=label, **options)
        except Exception as err:
            _failed(err, "upload", status=status, label="The upload could not be read")
            return
        status.update(label=f"Read {md(label)} in {new_ws.seconds:.1f} s", state="complete")
    auth.record("upload", target=label, after=f"{len(new_ws.district.buildings)} building(s), "
                f"{len(new_ws.report.errors)} error(s)")
    new_ws = auth.scoped(new_ws)
    st.session_state["upload_digest"] = key
    state.set_workspace(new_ws)
    if new_ws.report.errors:
        st.error(f"{md(label)}: {len(new_ws.report.errors)} error(s) found; see the validation report below.")
    else:
        st.success(f"{md(label)}: loaded {len(new_ws.district.buildings)} building(s).")


def _inline_fixes(ws: state.Workspace) -> None:
    st.subheader("Fix rows")
    sheets = list(TABLES)
    # open on the first sheet with rows not used, else with errors, else with warnings
    order: list[set[Any]] = [set(ws.report.rejected), {p.sheet for p in ws.report.errors}, {p.sheet for p in ws.report.problems}]
    default = next((sheets.index(s) for group in order for s in sheets if s in group), 0)
    # keyed by the data in use: a new upload is a new picker, never one left showing another sheet
    sheet = st.selectbox("Sheet", sheets, index=default, key=f"fix_sheet_{ws.digest}")
    try:
        raw = state.fix_sheet(ws, sheet)
    except FacilityPlannerError as err:
        st.info(md(err))
        return
    st.caption(f"{md(raw.file)}, sheet {md(raw.sheet)}: the rows as written (header on row {raw.header_row}). "
               "Correct a value, or clear a cell to leave it blank (unknown) on purpose; then apply.")
    problems = ws.report.to_frame()
    problems = problems[problems["sheet"] == sheet]
    if len(problems):
        _show(problems[["row", "column", "value", "message"]])
    edited = st.data_editor(raw.frame, num_rows="dynamic", key=f"edit_{ws.digest}_{sheet}", hide_index=True,
                            disabled=[FIX_ROW], width="stretch")
    if st.button("Apply fixes and validate again", key="apply_fixes"):
        auth.require("edit")
        auth.record_edits("edit", raw.frame, edited, keys=(FIX_ROW,))
        with st.status("Validating the corrected inventory...") as status:
            try:
                new_ws = state.apply_fix(ws, raw, edited)
            except Exception as err:
                _failed(err, "validation", status=status, label="The corrected data could not be read")
                return
            if new_ws is None:
                status.update(label="Nothing was changed: the data in use stays as it is", state="complete")
                return
            status.update(label="Validated", state="complete")
        state.set_workspace(new_ws)
        st.rerun()


# --- Map ------------------------------------------------------------------------------------------

def _selected_from_click(ws: state.Workspace, clicked: dict[str, Any] | None, source: str) -> None:
    """Select the building of a new click (map feature or list row); a repeat of the last one is ignored."""
    seen = st.session_state.setdefault("_clicks_seen", {})
    if clicked == seen.get(source):
        return
    seen[source] = clicked
    index = (clicked or {}).get("building_index")
    if index is not None and 0 <= int(index) < len(ws.district.buildings):
        st.session_state["selected_building"] = str(ws.district.buildings["building_id"].iloc[int(index)])


def _building_list(ws: state.Workspace, assessment: Assessment | None) -> None:
    """Every building in one click: a list beside the map."""
    from facility_planner.mapping import STATUS_LABELS, building_status

    b = ws.district.buildings
    status = building_status(ws.district, getattr(assessment, "scores", None))
    table = pd.DataFrame({"Building": b["building_id"].astype(str).to_numpy(),
                          "Status": [STATUS_LABELS.get(status.get(i, "unknown"), "") for i in b["building_id"]],
                          "Name": b["name"].astype("string").fillna("").to_numpy()})
    event = st.dataframe(table, hide_index=True, on_select="rerun", selection_mode="single-row",
                         key=f"building_list_{ws.digest}", height=560, width="stretch",
                         column_config={"Building": st.column_config.TextColumn(width="small"),
                                        "Status": st.column_config.TextColumn(width="medium")})
    rows = list(getattr(getattr(event, "selection", None), "rows", []) or [])
    _selected_from_click(ws, {"building_index": rows[0]} if rows else None, "list")


def map_page() -> None:
    """The coverage map with a building list beside it; a building clicked shows its scorecard below."""
    st.title("Map")
    ws = state.workspace()
    assessment = _assessment(ws)
    tiles = st.session_state.get("tiles", settings.map_tiles)
    site = None
    if len(ws.district.sites) > state.MAP_DETAIL_SITES:
        sites = ws.district.sites["site_id"].astype(str).tolist()
        site = st.selectbox("Coverage and assets drawn for", [None, *sites], key=f"map_site_{ws.digest}",
                            format_func=lambda s: "no site: buildings only (choose a site)" if s is None else s)
    try:
        view = state.map_view(ws, assessment, tiles=tiles, sites=state.detail_sites(ws, site))
    except Exception as err:
        _failed(err, "map")
        return
    left, right = st.columns([5, 3])
    with left:
        # only a click on a feature reruns the page: panning and zooming send nothing back
        out = mapview.show(view, key="coverage_map", height=560)
        _selected_from_click(ws, (out.get("last_active_drawing") or {}).get("properties"), "map")
    with right:
        _building_list(ws, assessment)
    selected = st.session_state.get("selected_building")
    if selected:
        st.subheader(f"Scorecard: {md(selected)}")
        _building_scorecard(ws, assessment, selected)
    else:
        st.caption("Click a building on the map or in the list to see its scorecard.")


# --- Scorecards -----------------------------------------------------------------------------------

def _measure_titles(assessment: Assessment | None) -> dict[str, str]:
    """Measure code -> title (``M1`` -> "Building and classroom numbering") from the packs in use."""
    if assessment is None:
        return {}
    return {code: text for pack in assessment.settings.packs for code, text in pack.groups.items()}


def _pack_names(assessment: Assessment) -> dict[str, str]:
    """Rules pack id -> its name (``cops_minimum`` -> "COPS minimum protective measures")."""
    return {pack.id: re.split(r" \(| - ", pack.title)[0] for pack in assessment.settings.packs}


def _rules_rows(assessment: Assessment, rows: pd.DataFrame) -> pd.DataFrame:
    """Rule results with the pack by name and the measure in words (the exports keep the ids)."""
    out = rows.copy()
    if "pack" in out:
        out["pack"] = out["pack"].map(lambda p: _pack_names(assessment).get(p, p))
    for column in ("measure", "group"):
        if column in out:
            out[column] = out[column].map(labels.words)
    return out.dropna(axis="columns", how="all")  # a column no rule fills (PASS has no group)


def _section(title: str, frame: pd.DataFrame, *, measures: dict[str, str] | None = None) -> None:
    """A bold title over a table in the users' words, when the table has rows."""
    if len(frame):
        st.markdown(f"**{title}**")
        _show(frame, measures=measures)


def _measures_table(assessment: Assessment, building_id: str) -> pd.DataFrame:
    titles = _measure_titles(assessment)
    row = assessment.scores.minimum_measures.loc[assessment.scores.minimum_measures.index == building_id]
    if not len(row):
        return pd.DataFrame()
    return pd.DataFrame({"measure": [f"{c} {titles.get(c, '')}".strip() for c in row.columns],
                         "status": [str(v) if pd.notna(v) else "unknown" for v in row.iloc[0]]})


def _pass_grid(assessment: Assessment, building_id: str) -> pd.DataFrame:
    """Layer x component tiers; "not assessed" where no rule applies (never "None")."""
    tiers = assessment.scores.pass_tiers
    tiers = tiers[tiers["building_id"].astype("string") == building_id]
    if not len(tiers):
        return pd.DataFrame()
    grid = tiers.astype({"tier": "float64"}).pivot_table(index="layer", columns="component", values="tier",
                                                         aggfunc="first", dropna=False)
    text = grid.apply(lambda col: col.map(lambda t: "not assessed" if pd.isna(t) else f"tier {int(t)}"))
    text.index = [labels.words(str(v)) for v in text.index]
    text.columns = [labels.words(str(c)) for c in text.columns]
    return text.rename_axis("Layer").reset_index()


def _coverage_table(assessment: Assessment, building_id: str) -> pd.DataFrame:
    values = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame()
    if building_id not in values.index:
        return pd.DataFrame()
    row = values.loc[building_id]
    return pd.DataFrame({"coverage": [labels.COVERAGE_FIGURES.get(str(c), (labels.title(str(c)), ""))[0]
                                      for c in row.index],
                         "value": [labels.coverage_text(str(c), v) for c, v in row.items()]})


def _building_scorecard(ws: state.Workspace, assessment: Assessment | None, building_id: str) -> None:
    buildings = ws.district.buildings
    keep = [c for c in ("building_id", "site_id", "name", "building_number", "year_built", "floors",
                        "gross_area", "occupancy", "use") if c in buildings]
    _show(pd.DataFrame(buildings.loc[buildings["building_id"] == building_id, keep]))
    if assessment is None:
        return
    _section("COPS minimum measures", _measures_table(assessment, building_id))
    results = assessment.scores.results
    _section("Rules with evidence", _rules_rows(assessment, results.loc[
        results["building_id"].astype("string") == building_id,
        ["rule_id", "title", "status", "value", "threshold", "evidence", "measure", "pack", "source"]]))
    grid = _pass_grid(assessment, building_id)
    if len(grid):
        st.markdown("**PASS tiers: layer x component**")
        st.dataframe(grid, hide_index=True, width="stretch")
    _section("Coverage", _coverage_table(assessment, building_id))


def _site_scorecard(ws: state.Workspace, assessment: Assessment | None, site_id: str) -> None:
    sites = ws.district.sites
    _show(sites.loc[sites["site_id"] == site_id, [c for c in sites.columns if c != "source_row"]])
    if assessment is None:
        return
    scores = assessment.scores
    titles = _measure_titles(assessment)
    _section("Ten Essential Actions readiness",
             labels.one_row(scores.actions.loc[scores.actions.index == site_id], measures=titles))
    _section("Site roll-up", labels.one_row(
        scores.site_rollup.loc[scores.site_rollup.index.astype(str) == site_id], measures=titles))
    results = scores.results
    _section("Site-wide rules with evidence", _rules_rows(assessment, results.loc[
        (results["site_id"].astype("string") == site_id) & results["building_id"].isna(),
        ["rule_id", "title", "status", "evidence", "group", "pack", "source"]]))


def scorecards_page() -> None:
    """Per building and per site: COPS measures with evidence, PASS tiers, Ten Actions, roll-up."""
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
            titles = _measure_titles(assessment)
            scores = assessment.scores
            _section("District roll-up", labels.one_row(scores.district_rollup, measures=titles))
            _section("Per site", scores.site_rollup, measures=titles)
            _section("Measure scores per building", scores.measure_scores, measures=titles)


# --- Plan -----------------------------------------------------------------------------------------

#: The per-building risk factors the Plan page shows, in the order of the formula.
RISK_COLUMNS = ("site_id", "occupancy", "consequence", "threat_level", "threat", "rules", "met", "partial",
                "unmet", "unknown", "weight_total", "weight_short", "shortfall", "vulnerability", "risk")
#: Colours of chosen and not chosen projects (chart points; the table's marks match).
CHOSEN_COLOURS = {"chosen": "#1a9850", "not chosen": "#9e9e9e"}
CHOSEN_MARKS = {True: "● chosen", False: "○ not chosen"}
_PORTFOLIO_COLUMNS = ("rank", "year", "building_id", "title", "cost", "grants", "local_match",
                      "risk_reduction", "option", "quantity", "unit")


def _keep_if_valid(plan: dict[str, Any], name: str, make: Any) -> bool:
    """``plan[name] = make()``; if that fails show why and keep the previous value (False)."""
    try:
        plan[name] = make()
    except Exception as err:
        _failed(err, "plan change", then="The previous values stay in use until this is corrected.")
        return False
    return True


def _budget_inputs(plan: dict[str, Any]) -> None:
    """Budget (dollars with thousands separators) and years, into ``plan``."""
    cols = st.columns(2)
    text = cols[0].text_input("Budget (USD per year)", value=labels.money(float(plan.get("budget") or 0.0)),
                              key="plan_budget", help="Dollars per year, e.g. 250,000 or 1.5m.")
    years = cols[1].number_input("Years", min_value=1, max_value=10, step=1, value=int(plan.get("years", 1)),
                                 key="plan_years")
    try:
        plan["budget"] = labels.parse_money(text)
    except ValueError as err:
        st.error(f"{md(err)} The previous budget ({labels.money(float(plan.get('budget') or 0.0))}) stays in use.")
    plan["years"] = int(years)


def _assumption_editors(plan: dict[str, Any]) -> None:
    may_edit = auth.allowed("plan")
    with st.expander("Unit costs" + (" (edit to try local quotes)" if may_edit else "")):
        original = state.cost_table()
        if may_edit and len(original):
            edited = st.data_editor(original, key="cost_editor", hide_index=True,
                                    disabled=["item", "parameter", "unit", "source"],
                                    column_config={"value": st.column_config.NumberColumn("value", format="dollar")})
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


def _portfolio_figures(assessment: Assessment) -> None:
    """Headline figures, the chosen projects and spend and risk removed per year."""
    portfolio = assessment.portfolio
    if portfolio is None:
        return
    c = st.columns(5)
    c[0].metric("Budget", labels.money(sum(portfolio.budget)))
    c[1].metric("Chosen cost", labels.money(portfolio.total_cost))
    c[2].metric("Risk reduction", f"{portfolio.total_risk_reduction:,.1f}")
    c[3].metric("Projects chosen", f"{len(portfolio.selected)}")
    c[4].metric("Optimality gap", gap_text(portfolio.gap))
    st.caption(f"{labels.plan_method(portfolio.method, portfolio.gap)} The same gap is on the workbook's "
               f"Summary sheet. Solver details: {md(portfolio.method)}.")
    st.subheader("Spend and risk removed per year")
    _show(spend_by_year(assessment))
    projects = assessment.projects
    chosen = projects[projects["selected"].fillna(False).astype(bool)] if "selected" in projects else projects.iloc[:0]
    st.subheader(f"Chosen portfolio: {len(chosen)} project(s)")
    if len(chosen):
        _show(chosen.sort_values(["year", "rank"])[[c for c in _PORTFOLIO_COLUMNS if c in chosen]])
    else:
        st.info("No project fits the budget.")


def _projects_ranked(projects: pd.DataFrame) -> None:
    st.subheader("Projects ranked by risk reduction per dollar")
    chosen = (projects["selected"].fillna(False).astype(bool) if "selected" in projects
              else pd.Series(False, index=projects.index))
    ranked = projects.assign(plan=chosen.map(CHOSEN_MARKS)).sort_values("rank")
    if "measure" in ranked:
        ranked["measure"] = ranked["measure"].map(labels.words)
    _show(ranked[["plan", *[c for c in ranked.columns if c not in ("plan", "selected", "in_budget")]]])
    _cost_chart(projects, chosen)


def _cost_chart(projects: pd.DataFrame, chosen: pd.Series) -> None:
    import altair as alt

    chart = pd.DataFrame({"cost": projects["cost"].astype(float),
                          "risk_reduction": projects["risk_reduction"].astype(float),
                          "chosen": chosen.map({True: "chosen", False: "not chosen"}),
                          "project": projects["project_id"].astype(str)})
    st.subheader("Cost against risk reduction")
    scale = alt.Scale(domain=list(CHOSEN_COLOURS), range=list(CHOSEN_COLOURS.values()))
    st.altair_chart(alt.Chart(chart).mark_circle(size=70).encode(
        x=alt.X("cost:Q", title="Cost (USD)", axis=alt.Axis(format="$,.0f")),
        y=alt.Y("risk_reduction:Q", title="Risk removed (points)"),
        color=alt.Color("chosen:N", scale=scale, title=None),
        tooltip=["project", alt.Tooltip("cost:Q", format="$,.0f"), "risk_reduction"]), width="stretch")


def plan_page() -> None:
    """Budget and years, unit costs and risk weights; risk per building, projects ranked, the chosen
    portfolio and cost vs risk reduction."""
    st.title("Plan")
    ws = state.workspace()
    plan = st.session_state.setdefault("plan", {"budget": state.DEFAULT_BUDGET, "years": 1,
                                                "cost_override": None, "risk_override": None})
    _budget_inputs(plan)
    _assumption_editors(plan)
    assessment = _assessment(ws)
    if assessment is None:
        return
    _portfolio_figures(assessment)
    if len(assessment.risk):
        st.subheader("Risk per building: consequence x threat x vulnerability")
        _show(assessment.risk[list(RISK_COLUMNS)])
    if len(assessment.projects):
        _projects_ranked(assessment.projects)
    else:
        st.info("No retrofit projects: every gap is closed or unknown.")
    assumptions = assessment.assumptions
    if len(assumptions):
        with st.expander("Assumptions"):
            _show(assumptions)


# --- Export ---------------------------------------------------------------------------------------

def export_page() -> None:
    """Downloads: the workbook, GeoPackage, CSV, summary.json and map.html, prepared on request."""
    st.title("Export")
    if not auth.allowed("export"):
        st.info("Your role may view; finance and administrators export.")
        return
    ws = state.workspace()
    assessment = _assessment(ws)
    if assessment is not None:
        key = st.session_state.get("assessment_key")
        if st.session_state.get("export_key") != key:
            if not st.button("Prepare the workbook, GeoPackage, CSV, summary.json and map.html", key="prepare_exports"):
                return
            with st.status("Writing the exports...", expanded=False) as status:
                try:
                    st.session_state["export_files"] = state.export_files(assessment)
                except Exception as err:
                    _failed(err, "export", status=status, label="The exports could not be written")
                    return
                st.session_state["export_key"] = key
                status.update(label="Exports ready", state="complete")
        mimes = {".xlsx": XLSX_MIME, ".json": "application/json", ".csv": "text/csv",
                 ".gpkg": "application/geopackage+sqlite3", ".html": "text/html"}
        for name, data in st.session_state.get("export_files", {}).items():
            mime = next((v for k, v in mimes.items() if name.endswith(k)), "application/octet-stream")
            auth.download_button(name, data, file_name=name, mime=mime, key=f"dl_{name}")
