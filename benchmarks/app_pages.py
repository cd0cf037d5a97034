"""Server time of each app page interaction on the sample district (AppTest, no browser).

Run: .venv/bin/python benchmarks/app_pages.py
Prints seconds per interaction: the script run as Streamlit executes it for one user action.
"""

from __future__ import annotations

import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parent.parent
PAGE = "from facility_planner.ui import app, pages\napp.sidebar()\npages.{}_page()\n"


def timed(label: str, action) -> AppTest:
    started = time.perf_counter()
    at = action()
    seconds = time.perf_counter() - started
    assert not at.exception, at.exception
    print(f"{label:<55} {seconds:6.2f} s")
    return at


def main() -> None:
    sample = ROOT / "sample_sites" / "inventory.xlsx"
    at = timed("app start: sample district loaded + map (first assessment)",
               lambda: AppTest.from_file(str(ROOT / "app.py"), default_timeout=300).run())
    state = {k: at.session_state[k] for k in ("workspace", "base", "base_key", "assessment", "assessment_key")}

    def page(name: str) -> AppTest:
        test = AppTest.from_string(PAGE.format(name), default_timeout=300)
        for key, value in state.items():
            test.session_state[key] = value
        return test

    m = timed("map page, first view (map built)", lambda: page("map").run())
    timed("map page, rerun (e.g. a building clicked)", lambda: m.run())
    timed("scorecards page", lambda: page("scorecards").run())
    plan = timed("plan page", lambda: page("plan").run())
    timed("plan: budget changed (replan)",
          lambda: plan.text_input(key="plan_budget").set_value("$2,000,000").run())
    timed("plan: years changed to 3 (replan)", lambda: plan.number_input(key="plan_years").set_value(3).run())
    export = timed("export page (map.html built)", lambda: page("export").run())
    timed("export: prepare workbook, GeoPackage, CSV, summary.json",
          lambda: export.button(key="prepare_exports").click().run())
    data = timed("data page", lambda: page("data").run())
    timed("data: upload the sample workbook (read + validate)",
          lambda: data.file_uploader(key="upload_inventory").set_value(
              ("inventory.xlsx", sample.read_bytes(), "application/octet-stream")).run())


if __name__ == "__main__":
    main()
