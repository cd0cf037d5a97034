"""The History page under AppTest: snapshots listed, trends, the diff view, mark project done."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from facility_planner.store import open_store
from tests.conftest import SAMPLE_DOOR_BUILDING

TIMEOUT = 120


@pytest.fixture(scope="module")
def saved_store(tmp_path_factory, sample_assessment, fixed_assessment) -> str:
    path = str(tmp_path_factory.mktemp("history") / "store.sqlite")
    with open_store(path) as store:
        store.save(sample_assessment, user="a@d.org", role="planner")
        store.save(fixed_assessment, user="a@d.org", role="planner")
    return path


def _page(store: str, role: str, assessment=None) -> AppTest:
    at = AppTest.from_string("from facility_planner.ui import app, history\napp.sidebar()\nhistory.history_page()\n",
                             default_timeout=TIMEOUT)
    at.session_state["role"] = role
    at.session_state["store_location"] = store
    if assessment is not None:
        at.session_state["assessment"] = assessment
    return at


def test_history_page_lists_compares_and_marks_done(saved_store, sample_assessment):
    at = _page(saved_store, "admin", sample_assessment).run()
    assert not at.exception, at.exception
    assert at.title[0].value == "History"
    gained = {m.label: m.value for m in at.metric}
    assert gained["Measures gained"] == "1" and gained["Measures lost"] == "0"
    measures = at.dataframe[1].value  # [0] is the list of snapshots
    assert measures[["building_id", "measure", "change"]].values.tolist() == [[SAMPLE_DOOR_BUILDING, "A1", "gained"]]
    project = at.selectbox(key="mark_project").value
    at.text_input(key="mark_note").input("invoice 7")
    at.button(key="mark_done").click().run()
    assert not at.exception, at.exception
    with open_store(saved_store) as store:
        marks = store.project_marks()
        assert marks["project_id"].tolist() == [project] and marks["note"].tolist() == ["invoice 7"]
    at.button(key="history_save").click().run()
    assert any("Saved snapshot 3" in s.value and "same inputs as snapshot 1" in s.value for s in at.success)


def test_planner_sees_history_but_cannot_mark_or_save(saved_store, sample_assessment):
    at = _page(saved_store, "planner", sample_assessment).run()
    assert not at.exception, at.exception
    keys = {b.key for b in at.button}
    assert "mark_done" not in keys and "history_save" not in keys
    assert any("Finance and administrators mark projects done" in c.value for c in at.caption)


def test_empty_store_says_how_to_start(tmp_path):
    at = _page(str(tmp_path / "empty.sqlite"), "planner").run()
    assert not at.exception
    assert "No assessment saved yet" in at.info[0].value


def test_a_snapshot_saved_without_a_budget_opens(tmp_path, sample_assessment):
    """Without a budget no project is chosen and the projects table has no ``selected`` column."""
    from facility_planner.assess import replan

    unbudgeted = replan(sample_assessment, budget=None)
    assert "selected" not in unbudgeted.projects or not unbudgeted.projects["selected"].any()
    path = str(tmp_path / "store.sqlite")
    with open_store(path) as store:
        store.save(unbudgeted, user="a@d.org", role="finance")
    at = _page(path, "admin").run()
    assert not at.exception, at.exception
    assert any("chose no projects" in c.value for c in at.caption)
