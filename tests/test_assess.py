"""The pipeline joining the stages: assess, replan, summary_dict."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from facility_planner.assess import assess, replan, summary_dict
from facility_planner.errors import FacilityPlannerError
from facility_planner.io.load import load_district
from facility_planner.model import make_district

ROOT = Path(__file__).resolve().parent.parent
AS_OF = date(2026, 1, 15)


@pytest.fixture(scope="module")
def sample_assessment():
    sample = ROOT / "sample_sites"
    district, report = load_district(sample / "inventory.xlsx",
                                     maps=[("campus.gpkg", (sample / "campus.gpkg").read_bytes())])
    return assess(district, report, budget=100_000, as_of=AS_OF)


@pytest.mark.parametrize("tables", [{}, {"sites": pd.DataFrame({"site_id": ["S1"]})}])
def test_a_district_with_no_buildings_assesses_to_nothing(tables):
    result = assess(make_district(tables), budget=1_000, as_of=AS_OF)
    summary = summary_dict(result)
    assert summary["buildings"] == [] and summary["projects"] == []
    assert summary["budget"]["selected_cost"] == 0
    json.dumps(summary)


def test_replan_with_a_new_budget_keeps_scores_and_honours_the_budget(sample_assessment):
    small = replan(sample_assessment, budget=20_000)
    assert small.scores is sample_assessment.scores
    assert 0 < small.portfolio.total_cost <= 20_000
    assert small.portfolio.total_risk_reduction < sample_assessment.portfolio.total_risk_reduction
    chosen = small.projects[small.projects["selected"]]
    assert chosen["cost"].sum() == pytest.approx(small.portfolio.total_cost)


def test_phased_plan_spends_within_each_year(sample_assessment):
    phased = replan(sample_assessment, budget=[30_000, 20_000, 10_000], years=3)
    spend = phased.projects[phased.projects["selected"]].groupby("year")["cost"].sum()
    for year, limit in zip((1, 2, 3), (30_000, 20_000, 10_000), strict=True):
        assert spend.get(year, 0.0) <= limit + 1e-6
    summary = summary_dict(phased)
    assert summary["budget"]["budget_by_year"] == [30_000, 20_000, 10_000]


@pytest.mark.parametrize("budget, years", [(20_000, 1), (45_000, 3), (None, 1)])
def test_a_budget_change_reruns_only_the_optimiser_and_agrees_with_a_full_replan(sample_assessment, budget,
                                                                                  years):
    quick = replan(sample_assessment, budget=budget, years=years)
    full = replan(sample_assessment, budget=budget, years=years, catalog=sample_assessment.settings.catalog,
                  risk=sample_assessment.settings.risk)  # costs and weights given: projects rebuilt
    assert quick.risk is sample_assessment.risk  # kept, not computed again
    pd.testing.assert_frame_equal(quick.projects, full.projects)
    pd.testing.assert_frame_equal(quick.risk, full.risk)
    if budget is None:
        assert quick.portfolio is None and "selected" not in quick.projects
    else:
        assert quick.portfolio.selected == full.portfolio.selected
        assert quick.portfolio.total_cost == pytest.approx(full.portfolio.total_cost)


def test_no_budget_ranks_projects_but_chooses_none(sample_assessment):
    unbudgeted = replan(sample_assessment, budget=None)
    summary = summary_dict(unbudgeted)
    assert summary["budget"]["limit"] is None
    assert summary["projects"] and not any(p["selected"] for p in summary["projects"])
    ranks = [p["rank"] for p in summary["projects"]]
    assert sorted(ranks) == list(range(1, len(ranks) + 1))


@pytest.mark.parametrize("budget, years", [(-5, 1), ([1.0, 2.0], 3), (float("nan"), 1)])
def test_bad_budgets_are_refused_with_a_sentence(sample_assessment, budget, years):
    with pytest.raises(FacilityPlannerError, match="budget"):
        replan(sample_assessment, budget=budget, years=years)


def test_every_assumption_is_listed_with_a_source(sample_assessment):
    frame = sample_assessment.assumptions
    assert {"cost", "coverage", "consequence", "threat", "vulnerability", "grant", "run"} <= set(
        frame["area"].astype(str))
    sourced = frame[frame["area"] != "run"]
    assert sourced["source"].astype(str).str.len().gt(0).all()
