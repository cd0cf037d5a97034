"""Server time of each app page interaction (AppTest, no browser): the sample district and a
100-school district.

Run: .venv/bin/python benchmarks/app_pages.py [--schools 100]
Prints seconds per interaction: the script run as Streamlit executes it for one user action
(AppTest's wall time, which includes AppTest's own work of running the script in a thread and
reading every element back), and the page's own server time (what the page shows under it).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "from facility_planner.ui import app, pages\napp.sidebar()\npages.timed(pages.{}_page)()\n"
KEYS = ("workspace", "base", "base_key", "assessment", "assessment_key")


def timed(label: str, action: Callable[[], AppTest]) -> AppTest:
    started = time.perf_counter()
    at = action()
    seconds = time.perf_counter() - started
    assert not at.exception, at.exception
    server = at.session_state.get("page_seconds", {})
    page = f"page {max(server.values()):5.2f} s" if server else ""
    at.session_state["page_seconds"] = {}
    print(f"{label:<62} {seconds:6.2f} s   {page}")
    return at


def page(name: str, state: dict[str, Any]) -> AppTest:
    test = AppTest.from_string(PAGE.format(name), default_timeout=600)
    for key, value in state.items():
        test.session_state[key] = value
    return test


def sample_district() -> None:
    sample = ROOT / "sample_sites" / "inventory.xlsx"
    timed("server start, first session: sample loaded + assessed + map",
          lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run())
    at = timed("first page of a new session (Map, server warm)",
               lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run())
    state = {k: at.session_state[k] for k in KEYS}
    m = timed("map page, first view in a session", lambda: page("map", state).run())
    timed("map page, rerun (e.g. a building clicked)", lambda: m.run())
    timed("scorecards page", lambda: page("scorecards", state).run())
    plan = timed("plan page", lambda: page("plan", state).run())
    timed("plan: budget changed (replan)", lambda: plan.text_input(key="plan_budget").set_value("$2,000,000").run())
    timed("plan: years changed to 3 (replan)", lambda: plan.number_input(key="plan_years").set_value(3).run())
    export = timed("export page", lambda: page("export", state).run())
    timed("export: prepare workbook, GeoPackage, CSV, summary.json, map.html",
          lambda: export.button(key="prepare_exports").click().run())
    data = timed("data page", lambda: page("data", state).run())
    data = timed("data: select the sample workbook",
                 lambda: data.file_uploader(key="upload_inventory").set_value(
                     ("inventory.xlsx", sample.read_bytes(), "application/octet-stream")).run())
    timed("data: read and use it (read + validate)", lambda: data.button(key="use_upload").click().run())


def large_district(schools: int) -> None:
    from facility_planner.assess import assess
    from facility_planner.demo import demo_district
    from facility_planner.model import ValidationReport
    from facility_planner.ui import state as ui_state

    started = time.perf_counter()
    district = demo_district(schools, seed=1).to_district()
    ws = ui_state.Workspace(f"{schools}-school demo district", district, ValidationReport(),
                            digest=ui_state.digest(f"demo-{schools}"))
    base = assess(district, ws.report, budget=ui_state.DEFAULT_BUDGET)
    print(f"({schools} schools, {len(district.buildings)} buildings: built and assessed outside the page "
          f"in {time.perf_counter() - started:.1f} s)")
    key = ui_state.digest(ws.digest, repr(ui_state.DEFAULT_BUDGET), "1", "None", "None")
    state = {"workspace": ws, "base": base, "base_key": ws.digest, "assessment": base, "assessment_key": key}
    m = timed(f"{schools} schools: map page, first view (footprints, map built)", lambda: page("map", state).run())
    timed(f"{schools} schools: map page, rerun", lambda: m.run())
    site = str(district.sites["site_id"].iloc[0])
    m = timed(f"{schools} schools: map page, one site's coverage chosen (built)",
              lambda: m.selectbox(key=f"map_site_{ws.digest}").set_value(site).run())
    timed(f"{schools} schools: map page, rerun with that site", lambda: m.run())
    plan = timed(f"{schools} schools: plan page", lambda: page("plan", state).run())
    timed(f"{schools} schools: plan: budget changed (replan)",
          lambda: plan.text_input(key="plan_budget").set_value("$2,000,000").run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schools", type=int, default=100, help="size of the large district (0: skip it)")
    args = parser.parse_args()
    sample_district()
    if args.schools:
        large_district(args.schools)


if __name__ == "__main__":
    main()
