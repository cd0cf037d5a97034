"""Comparing snapshots without a database: the vectorised rule, measure and project comparisons
agree with a plain row-by-row reading of what moved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from facility_planner.store import compare


def _results(rows: list[tuple[str | None, str, str, str, str]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["building_id", "site_id", "rule_id", "group", "status"])
    return frame.astype("category")


def _rows(frame: pd.DataFrame) -> list[tuple]:
    return [tuple(None if pd.isna(v) else v for v in r) for r in frame.itertuples(index=False)]


def _moved_by_hand(a: pd.DataFrame, b: pd.DataFrame) -> list[tuple]:
    status_b = {(r.building_id, r.site_id, r.rule_id): r.status for r in b.astype(object).itertuples()}
    out = []
    for r in a.astype(object).itertuples():
        key = (None if pd.isna(r.building_id) else r.building_id, r.site_id, r.rule_id)
        after = status_b.get((r.building_id, r.site_id, r.rule_id))
        if after is not None and after != r.status:
            out.append((*key, r.group, r.status, after))
    return out


def test_rule_changes_of_a_rerun_and_of_a_changed_district_agree_with_a_row_by_row_reading():
    rng = np.random.default_rng(3)
    statuses = ["met", "partial", "unmet", "unknown", "not_applicable"]
    rows = [(f"B{i}", f"S{i // 3}", f"R{j}", "g", statuses[rng.integers(5)]) for i in range(40) for j in range(6)]
    rows += [(None, f"S{s}", "SITE-1", "site", "met") for s in range(14)]  # site-level rules
    a = _results(rows)
    flipped = [(*r[:4], statuses[(statuses.index(r[4]) + 1) % 5]) if k % 7 == 0 else r for k, r in enumerate(rows)]
    rerun = _results(flipped)  # same rows, same order: compared in place
    got = compare._rule_changes(a, rerun)
    assert _rows(got) == _moved_by_hand(a, rerun)
    assert len(got) == len(range(0, len(rows), 7))
    # another year: rows reordered, a building gone, one new, a new status category in use
    later = [r for r in flipped if r[0] != "B5"] + [("B99", "S0", "R0", "g", "met")]
    later = [later[i] for i in rng.permutation(len(later))]
    changed = _results(later)
    got = compare._rule_changes(a, changed)
    assert _rows(got) == _moved_by_hand(a, changed)
    assert not (got["building_id"] == "B5").any() and got["building_id"].isna().sum() == 2


def test_rule_ids_read_as_numbers_compare_as_text():
    a = pd.DataFrame({"building_id": [1, 2], "site_id": ["S", "S"], "rule_id": ["R", "R"], "group": ["g", "g"],
                      "status": ["met", "unmet"]})
    b = a.assign(building_id=["2", "1"], status=["met", "met"])
    got = compare._rule_changes(a, b)
    assert got[["building_id", "before", "after"]].values.tolist() == [[2, "unmet", "met"]]


@pytest.mark.parametrize(("before", "after", "change"), [
    ("partial", "met", "gained"), ("unknown", "met", "gained"), ("met", "unmet", "lost"),
    ("met", None, "lost"), ("unmet", "partial", "better"), ("partial", "unmet", "worse"),
    ("unknown", "unmet", "changed"), (None, "partial", "changed")])
def test_measure_change_words(before, after, change):
    assert compare._change_labels(pd.Series([before]), pd.Series([after])).tolist() == [change]


def test_measures_missing_on_both_sides_did_not_move():
    a = pd.DataFrame({"building_id": ["B1", "B2"], "site_id": ["S", "S"], "M1": ["met", None]})
    b = a.assign(M1=pd.Categorical(["unmet", None]))
    moved = compare._measure_changes(a, b, ["M1"])
    assert moved[["building_id", "before", "after", "change"]].values.tolist() == [["B1", "met", "unmet", "lost"]]


def test_projects_chosen_last_time_are_closed_or_still_open_by_id():
    a = pd.DataFrame({"project_id": ["P1", "P2", "P3"], "building_id": ["B1", "B1", "B2"], "selected": [True, True, False],
                      "cost": [10.0, 20.0, 30.0]}).astype({"project_id": "str"})
    b = pd.DataFrame({"project_id": pd.Series(["P2", "P9"], dtype="category")})
    states = compare._project_states(a, b, None)
    assert states[["project_id", "state"]].values.tolist() == [["P1", "closed"], ["P2", "still open"]]
