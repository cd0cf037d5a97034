"""The History page: saved assessments, trends per building, site and district, what changed
between two snapshots, and "mark project done". Streamlit only: every figure comes from the store
API (``facility_planner.store``), the same calls as ``facility-planner history``."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from facility_planner import access
from facility_planner.errors import FacilityPlannerError
from facility_planner.ui import auth
from facility_planner.ui.pages import md

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TREND_FIGURES = {"Measure score (mean)": "score_mean", "Total risk": "risk_total",
                 "Lowest PASS tier": "pass_overall_min"}


def _store() -> Any:
    """The app's store (``FACILITY_PLANNER_STORE`` or the user's default file), opened per run."""
    from facility_planner.store import open_store

    return open_store(auth.store_location() or st.session_state.get("store_location"))


def _user() -> str:
    user: Any = getattr(st, "user", None)
    email = user.get("email") if user is not None and getattr(user, "is_logged_in", False) else None
    return str(email or st.session_state.get("user") or "app user")


def history_page() -> None:
    """Snapshots, trends, a diff view and projects marked done."""
    st.title("History")
    try:
        with _store() as store:
            _save_section(store)
            infos = access.scope_items(auth.current_user(), store.snapshots())  # the user's districts only
            if not infos:
                st.info("No assessment saved yet: save the current one above, or run "
                        "`facility-planner assess ... --save`.")
                return
            _list_section(infos)
            _trend_section(store)
            _diff_section(store, infos)
            _mark_section(store, infos)
    except FacilityPlannerError as err:
        st.error(md(str(err)))


def _save_section(store: Any) -> None:
    assessment = st.session_state.get("assessment")
    if not (auth.allowed("edit") or auth.allowed("plan")):
        return
    if assessment is None:
        st.caption("Open the Map, Scorecards or Plan page to assess the district; it can then be saved here.")
        return
    if st.button("Save the current assessment to the history", key="history_save"):
        user = auth.require("save")
        info = store.save(assessment, user=user.email if user.signed_in else _user(), role=str(user.role))
        note = f" (same inputs as snapshot {info.repeat_of})" if info.repeat_of else ""
        st.success(md(f"Saved snapshot {info.id}{note}."))


def _list_section(infos: list[Any]) -> None:
    st.subheader("Saved assessments")
    rows = [{"snapshot": i.id, "district": i.district, "as of": i.as_of, "saved (UTC)": i.saved_at.strftime("%Y-%m-%d %H:%M"),
             "by": f"{i.user} ({i.role})", "buildings": i.buildings,
             "score": i.figures.get("score_mean"), "risk": i.figures.get("risk_total"),
             "same inputs as": i.repeat_of} for i in infos]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")


def _trend_section(store: Any) -> None:
    st.subheader("Trends")
    level = st.radio("Per", ["district", "site", "building"], horizontal=True, key="trend_level")
    frame = store.rollup(level=level, every_snapshot=True)
    if "district" in frame:  # the user's districts only
        frame = frame[[auth.current_user().sees(d) for d in frame["district"]]]
    if not len(frame):
        return
    key_col = {"district": "district", "site": "site_id", "building": "building_id"}[level]
    choices = sorted(frame[key_col].dropna().astype(str).unique())
    chosen = st.multiselect(f"Which {level}(s)", choices, default=choices[:5], key="trend_items")
    label = st.selectbox("Figure", list(TREND_FIGURES), key="trend_figure")
    column = TREND_FIGURES[label]
    shown = frame[frame[key_col].astype(str).isin(chosen)]
    if len(shown):
        chart = shown.pivot_table(index="as_of", columns=key_col, values=column, aggfunc="last")
        st.line_chart(chart)


def _diff_section(store: Any, infos: list[Any]) -> None:
    st.subheader("What changed")
    if len(infos) < 2:
        st.caption("Two saved assessments are needed to compare.")
        return
    labels = {f"{i.id}: {i.district}, {i.as_of}": i.id for i in infos}
    names = list(labels)
    first = st.selectbox("From", names, index=len(names) - 2, key="diff_a")
    second = st.selectbox("To", names, index=len(names) - 1, key="diff_b")
    diff = store.diff(labels[first], labels[second])
    t = diff.totals
    cols = st.columns(4)
    cols[0].metric("Measures gained", t["measures_gained"])
    cols[1].metric("Measures lost", t["measures_lost"])
    cols[2].metric("Chosen projects closed", f"{t['closed']} of {t['chosen']}")
    cols[3].metric("Risk", f"{t['risk_after']:,.1f}", delta=f"{t['risk_after'] - t['risk_before']:,.1f}",
                   delta_color="inverse")
    st.caption(md(f"Spend on closed projects {t['spent']:,.0f} against risk removed {t['risk_removed']:,.1f}."))
    for title, frame in (("Measures", diff.measures), ("Rules", diff.rules), ("PASS tiers", diff.tiers),
                         ("Coverage", diff.coverage), ("Projects chosen last time", diff.projects)):
        with st.expander(f"{title} ({len(frame)})", expanded=title == "Measures"):
            st.dataframe(frame, hide_index=True, width="stretch")
    _comparison_download(store, diff)


def _comparison_download(store: Any, diff: Any) -> None:
    from facility_planner.store.commands import add_comparison

    if not auth.allowed("export"):
        return
    files = st.session_state.get("export_files") or {}
    base = files.get("assessment.xlsx")
    if base is None:
        import io

        from openpyxl import Workbook

        buffer = io.BytesIO()
        Workbook().save(buffer)
        base = buffer.getvalue()
    data = add_comparison(store, diff.a.id, diff.b.id, base)
    if data is None:
        return
    name = "assessment.xlsx" if "assessment.xlsx" in files else "comparison.xlsx"
    auth.download_button(f"{name} with this comparison", data, file_name=name, mime=XLSX_MIME,
                         key="dl_comparison")


def _mark_section(store: Any, infos: list[Any]) -> None:
    st.subheader("Mark a project done")
    if not auth.allowed("plan"):
        st.caption("Finance and administrators mark projects done.")
        return
    latest = infos[-1]
    projects = store.table(latest.id, "projects", columns=["project_id", "building_id", "title", "selected"])
    chosen = projects[projects["selected"].astype(bool)] if "selected" in projects else projects.iloc[0:0]
    if not len(chosen):
        st.caption("The latest snapshot chose no projects.")
        return
    ids = chosen["project_id"].astype(str).tolist()
    project = st.selectbox("Project (chosen in the latest snapshot)", ids, key="mark_project")
    note = st.text_input("Note (invoice, date, who did it)", key="mark_note")
    if st.button("Mark done", key="mark_done"):
        auth.require("plan")
        building = chosen.set_index("project_id").loc[project, "building_id"]
        store.mark_project(latest.district, project, user=_user(), building_id=str(building), note=note)
        st.success(md(f"Marked {project} done."))
    marks = store.project_marks(district=latest.district)
    if len(marks):
        st.dataframe(marks, hide_index=True, width="stretch")
