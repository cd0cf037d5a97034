"""Budget optimiser: hand-worked cases, properties (budget, prerequisites, exclusions), baselines."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.errors import InputError
from facility_planner.planning.optimise import (
    MAX_ENUMERATION,
    budget_by_year,
    check_portfolio,
    greedy_portfolio,
    milp_portfolio,
    optimise_portfolio,
    synthetic_projects,
)


def _frame(rows):
    out = pd.DataFrame(rows, columns=["project_id", "cost", "risk_reduction", "choice_group", "requires", "excludes"])
    out["building_id"] = out["project_id"].str.split(":").str[0]
    return out


def test_best_portfolio_beats_greedy_by_ratio():
    # budget 100. Ratios: A 66/60 = 1.10 > B = C = 1.00. Greedy takes A, then nothing fits: 66.
    # The best is B + C = 100 (hand enumeration: A+B and A+C cost 110 > 100).
    projects = _frame([("b1:A", 60, 66, None, [], []), ("b2:B", 50, 50, None, [], []),
                       ("b3:C", 50, 50, None, [], [])])
    greedy = greedy_portfolio(projects, budget=100)
    assert greedy.selected == ["b1:A"] and greedy.total_risk_reduction == 66
    best = optimise_portfolio(projects, budget=100)
    assert sorted(best.selected) == ["b2:B", "b3:C"]
    assert best.total_risk_reduction == 100 and best.total_cost == 100
    assert best.gap == pytest.approx(0.0, abs=1e-9) and best.status == "optimal"
    assert best.method.startswith("mckp-core")


def test_prerequisite_and_alternatives_in_one_building():
    # locks (mechanical 400 / wireless 1400, exclusive); remote lockdown 1000 needs locks and is
    # closed by the wireless option too (excluded with it).
    projects = _frame([
        ("B:locks:mech", 400, 40, "B:locks", [], []),
        ("B:locks:wireless", 1400, 55, "B:locks", [], ["B:remote"]),
        ("B:remote", 1000, 14, "B:remote", ["B:locks"], ["B:locks:wireless"]),
    ])
    # 1400: mech + remote = 54 < wireless 55
    assert optimise_portfolio(projects, budget=1400).selected == ["B:locks:wireless"]
    # 1000: remote alone is not allowed; mech = 40
    assert optimise_portfolio(projects, budget=1000).selected == ["B:locks:mech"]
    assert greedy_portfolio(projects, budget=1000).selected == ["B:locks:mech"]
    projects.loc[2, "risk_reduction"] = 20  # mech + remote = 60 > 55
    assert sorted(optimise_portfolio(projects, budget=1400).selected) == ["B:locks:mech", "B:remote"]


def test_multi_year_phasing_honours_budget_per_year_and_order():
    projects = _frame([("b1:Q", 50, 1, None, [], []), ("b1:P", 50, 100, None, ["b1:Q"], [])])
    plan = optimise_portfolio(projects, budget=[50, 50], years=2)
    assert plan.year == {"b1:Q": 1, "b1:P": 2}
    assert plan.spend_by_year == [50, 50] and check_portfolio(projects, plan) == []
    same_year = optimise_portfolio(projects, budget=100)
    assert sorted(same_year.selected) == ["b1:P", "b1:Q"]


def test_carry_over_of_unspent_budget():
    projects = _frame([("b1:X", 70, 10, None, [], [])])
    assert optimise_portfolio(projects, budget=40, years=2).selected == []
    plan = optimise_portfolio(projects, budget=40, years=2, carry_over=True)
    assert plan.year == {"b1:X": 2} and plan.spend_by_year == [0, 70]


def test_discounting_puts_best_projects_first():
    projects = _frame([("b1:A", 60, 66, None, [], []), ("b2:B", 50, 50, None, [], []),
                       ("b3:C", 50, 50, None, [], [])])
    plan = optimise_portfolio(projects, budget=[60, 50], years=2)
    assert plan.year["b1:A"] == 1 and len(plan.selected) == 2
    assert plan.total_risk_reduction == 116 and plan.gap == pytest.approx(0, abs=1e-6)


def test_large_component_falls_back_to_one_integer_programme():
    n = MAX_ENUMERATION + 2
    rows = [(f"B:p{i}", 10 + i, 5 + (i % 3), None, [f"B:p{i - 1}"] if i else [], []) for i in range(n)]
    projects = _frame(rows)
    plan = optimise_portfolio(projects, budget=200)
    assert "integer programme" in plan.notes[0]
    assert check_portfolio(projects, plan) == []
    assert plan.total_risk_reduction == milp_portfolio(projects, budget=200).total_risk_reduction


def test_bad_budget_is_a_clear_error():
    projects = _frame([("b1:A", 60, 66, None, [], [])])
    with pytest.raises(InputError, match="one budget per year"):
        optimise_portfolio(projects, budget=[10, 20], years=3)
    with pytest.raises(InputError, match="at least 0"):
        optimise_portfolio(projects, budget=-5)


def test_structured_solver_matches_plain_milp_on_generated_district():
    projects = synthetic_projects(600, seed=3)
    budget = 0.2 * projects["cost"].sum()
    ours, plain = optimise_portfolio(projects, budget=budget), milp_portfolio(projects, budget=budget)
    assert ours.total_risk_reduction == pytest.approx(plain.total_risk_reduction, rel=1e-6)
    assert ours.gap <= 1e-6 and check_portfolio(projects, ours) == []
    assert ours.total_risk_reduction >= greedy_portfolio(projects, budget=budget).total_risk_reduction


def _brute_force(projects: pd.DataFrame, budget: float) -> float:
    ids = list(projects["project_id"])
    cost, value = projects["cost"].to_numpy(float), projects["risk_reduction"].to_numpy(float)
    groups = [g if isinstance(g, str) else None for g in projects["choice_group"]]
    best = 0.0
    for mask in itertools.product([False, True], repeat=len(ids)):
        chosen = {p for p, m in zip(ids, mask, strict=True) if m}
        if cost[list(mask)].sum() > budget + 1e-9:
            continue
        picked = [g for g, m in zip(groups, mask, strict=True) if m and g]
        if len(picked) != len(set(picked)):
            continue
        rows = [i for i, m in enumerate(mask) if m]
        if any(q in chosen for i in rows for q in projects["excludes"].iat[i]):
            continue
        if any(r not in chosen and r not in picked for i in rows for r in projects["requires"].iat[i]):
            continue
        best = max(best, float(value[list(mask)].sum()))
    return best


@st.composite
def _instances(draw, max_projects: int = 9):
    n = draw(st.integers(1, max_projects))
    rows = []
    for i in range(n):
        building = draw(st.sampled_from(["B1", "B2", "B3"]))
        group = draw(st.sampled_from([None, f"{building}:g1", f"{building}:g2"]))
        earlier = [r[0] for r in rows if r[0].startswith(building)]
        requires = [draw(st.sampled_from(earlier))] if earlier and draw(st.booleans()) else []
        excludes = [draw(st.sampled_from(earlier))] if earlier and draw(st.integers(0, 4)) == 0 else []
        rows.append((f"{building}:p{i}", draw(st.integers(0, 60)), draw(st.integers(0, 40)), group,
                     requires, excludes))
    years = draw(st.integers(1, 3))
    budgets = [draw(st.integers(0, 120)) for _ in range(years)]
    return _frame(rows), budgets


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_instances())
def test_no_portfolio_breaks_budget_or_links(instance):
    projects, budgets = instance
    plan = optimise_portfolio(projects, budget=budgets, years=len(budgets))
    assert check_portfolio(projects, plan) == []
    assert all(s <= b + 1e-6 for s, b in zip(plan.spend_by_year, budgets, strict=True))
    assert plan.gap <= (1e-6 if len(budgets) == 1 else 1e-4)  # multi-year: default gap_tolerance
    greedy = greedy_portfolio(projects, budget=budgets[0])
    assert check_portfolio(projects, greedy) == []
    if len(budgets) == 1:
        assert plan.total_risk_reduction == pytest.approx(_brute_force(projects, budgets[0]), abs=1e-6)
        assert plan.total_risk_reduction >= greedy.total_risk_reduction - 1e-9


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 0.6))
def test_generated_portfolios_respect_budget_and_prerequisites(seed, share):
    projects = synthetic_projects(150, seed=seed)
    budget = share * projects["cost"].sum() / 2
    plan = optimise_portfolio(projects, budget=budget)
    assert plan.total_cost <= budget + 1e-6 and check_portfolio(projects, plan) == []
    assert plan.bound >= plan.total_risk_reduction - 1e-6


def test_annotate_adds_year_flag_and_cumulative_cost():
    projects = _frame([("b1:A", 60, 66, None, [], []), ("b2:B", 50, 50, None, [], []),
                       ("b3:C", 50, 50, None, [], [])])
    plan = optimise_portfolio(projects, budget=100)
    out = plan.annotate(projects)
    assert list(out["in_budget"]) == [False, True, True]
    assert list(out["cumulative_cost"].fillna(-1)) == [-1, 50, 100]
    assert out["year"].tolist()[1:] == [1, 1]
    summary = plan.as_dict()
    assert summary["limit"] == 100 and summary["selected_cost"] == 100 and summary["gap"] == 0


# --- multi-year phasing (schedule-core) ----------------------------------------------------------

def _brute_force_years(projects: pd.DataFrame, budgets: list[int], *, carry_over: bool,
                       discount: float = 0.031) -> float:
    """Best discounted risk reduction over every assignment of projects to a year or to none."""
    ids = list(projects["project_id"])
    cost, value = projects["cost"].to_numpy(float), projects["risk_reduction"].to_numpy(float)
    groups = [g if isinstance(g, str) else None for g in projects["choice_group"]]
    best = 0.0
    for plan in itertools.product(range(len(budgets) + 1), repeat=len(ids)):
        year = dict(zip(ids, plan, strict=True))
        spend = [sum(c for c, y in zip(cost, plan, strict=True) if y == t) for t in range(1, len(budgets) + 1)]
        if carry_over:
            spend, budgets_seen = list(itertools.accumulate(spend)), list(itertools.accumulate(budgets))
        else:
            budgets_seen = budgets
        if any(s > b + 1e-9 for s, b in zip(spend, budgets_seen, strict=True)):
            continue
        picked = [g for g, y in zip(groups, plan, strict=True) if y and g]
        if len(picked) != len(set(picked)):
            continue
        rows = [i for i, y in enumerate(plan) if y]
        if any(year.get(q, 0) for i in rows for q in projects["excludes"].iat[i]):
            continue
        ok = True
        for i in rows:
            for r in projects["requires"].iat[i]:
                members = [p for p, g in zip(ids, groups, strict=True) if g == r and p != ids[i]]
                members = members or ([r] if r in year and r != ids[i] else [])
                if (r in year or r in groups) and not any(0 < year[m] <= plan[i] for m in members):
                    ok = False
        if ok:
            best = max(best, sum(value[i] / (1 + discount) ** (plan[i] - 1) for i in rows))
    return best


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_instances(max_projects=6), st.booleans())
def test_multi_year_optimum_equals_brute_force(instance, carry_over):
    projects, budgets = instance
    if len(budgets) == 1:
        budgets = [*budgets, budgets[0] // 2]
    plan = optimise_portfolio(projects, budget=budgets, years=len(budgets), carry_over=carry_over,
                              gap_tolerance=0)
    assert check_portfolio(projects, plan) == []
    expected = _brute_force_years(projects, budgets, carry_over=carry_over)
    assert plan.objective == pytest.approx(expected, abs=1e-6)
    assert plan.gap <= 1e-6 and plan.bound >= plan.objective - 1e-9
    assert plan.method.startswith("schedule-core")


def test_carry_over_spends_saved_budget_and_respects_cumulative_limit():
    # 3 years of 40: X (70) fits only with carry-over, in year 2 at the earliest; Y (50) needs X
    # first; with carry-over year 3 has 120 - 70 = 50 left for Y. Discounted: 10/1.031 + 8/1.031^2.
    projects = _frame([("b1:X", 70, 10, None, [], []), ("b1:Y", 50, 8, None, ["b1:X"], [])])
    plain = optimise_portfolio(projects, budget=[40, 40, 40], years=3)
    assert plain.selected == [] and plain.objective == 0
    plan = optimise_portfolio(projects, budget=[40, 40, 40], years=3, carry_over=True)
    assert plan.year == {"b1:X": 2, "b1:Y": 3} and plan.spend_by_year == [0, 70, 50]
    assert plan.objective == pytest.approx(10 / 1.031 + 8 / 1.031**2)
    assert check_portfolio(projects, plan) == [] and plan.gap == pytest.approx(0, abs=1e-9)


def test_prerequisite_never_scheduled_after_its_dependant():
    # P is worth much more in year 1 but its prerequisite Q only fits a year-1 budget of 50 alone
    projects = _frame([("b1:Q", 50, 1, None, [], []), ("b1:P", 40, 100, None, ["b1:Q"], [])])
    plan = optimise_portfolio(projects, budget=[50, 50, 50], years=3)
    assert plan.year == {"b1:Q": 1, "b1:P": 2}
    projects.loc[1, "requires"] = None
    assert optimise_portfolio(projects, budget=[50, 50, 50], years=3).year["b1:P"] == 1


def test_multi_year_matches_plain_milp_and_gap_matches_bound():
    projects = synthetic_projects(150, seed=5)
    budgets = [0.08 * projects["cost"].sum()] * 3
    for carry_over in (False, True):
        ours = optimise_portfolio(projects, budget=budgets, years=3, carry_over=carry_over, time_limit=30)
        plain = milp_portfolio(projects, budget=budgets, years=3, carry_over=carry_over, time_limit=30)
        assert check_portfolio(projects, ours) == []
        assert all(s <= b + 1e-6 for s, b in zip(ours.spend_by_year, budgets, strict=True)) or carry_over
        assert ours.bound >= ours.objective - 1e-9
        assert ours.gap == pytest.approx((ours.bound - ours.objective) / ours.objective, abs=1e-12)
        # both are within their proven gaps of the same optimum
        assert ours.objective >= plain.objective * (1 - plain.gap) - 1e-6
        assert plain.objective >= ours.objective * (1 - ours.gap) - 1e-6
        assert ours.objective <= plain.bound + 1e-6 and plain.objective <= ours.bound + 1e-6


def test_big_multi_year_component_stays_time_indexed(monkeypatch):
    import facility_planner.planning.optimise as optimise

    monkeypatch.setattr(optimise, "MAX_SCHEDULES", 5)
    rows = [(f"B:p{i}", 10 + i, 5 + (i % 3), None, [f"B:p{i - 1}"] if i else [], []) for i in range(5)]
    rows.append(("C:q", 12, 4, None, [], []))
    projects = _frame(rows)
    plan = optimise_portfolio(projects, budget=[30, 30], years=2, gap_tolerance=0)
    assert "time-indexed" in plan.notes[0] and check_portfolio(projects, plan) == []
    plain = milp_portfolio(projects, budget=[30, 30], years=2)
    assert plan.objective == pytest.approx(plain.objective, abs=1e-6) and plan.gap <= 1e-6


def test_multi_year_stops_within_gap_tolerance_and_says_so():
    projects = synthetic_projects(150, seed=5)
    budgets = [0.08 * projects["cost"].sum()] * 3
    plan = optimise_portfolio(projects, budget=budgets, years=3, gap_tolerance=1e-3)
    assert check_portfolio(projects, plan) == []
    assert plan.bound >= plan.objective and plan.gap <= 1e-3
    assert plan.gap == pytest.approx((plan.bound - plan.objective) / plan.objective, abs=1e-12)
    assert "gap_tolerance 0.001" in plan.method
    with pytest.raises(InputError, match="gap_tolerance"):
        optimise_portfolio(projects, budget=budgets, years=3, gap_tolerance=-1)
    exact = optimise_portfolio(projects, budget=budgets, years=3, gap_tolerance=0)
    assert exact.gap <= 1e-6 and "gap_tolerance 0" in exact.method
    # both plans lie under both bounds; the tolerant one is within its gap of the optimum
    assert plan.objective <= exact.bound + 1e-6 and exact.objective <= plan.bound + 1e-6
    assert plan.objective >= exact.objective * (1 - 1e-3) - 1e-6


def test_time_limit_counts_schedule_listing(monkeypatch):
    import facility_planner.planning.optimise as optimise

    # no time for the listing: every component stays time-indexed, the plan is still valid
    monkeypatch.setattr(optimise, "LISTING_SHARE", 0.0)
    projects = synthetic_projects(60, seed=2)
    budgets = [0.1 * projects["cost"].sum()] * 2
    plan = optimise_portfolio(projects, budget=budgets, years=2, gap_tolerance=0)
    assert "schedule listing stopped" in plan.notes[-1] and check_portfolio(projects, plan) == []
    plain = milp_portfolio(projects, budget=budgets, years=2)
    assert plan.objective == pytest.approx(plain.objective, abs=1e-6) and plan.gap <= 1e-6


@pytest.mark.parametrize(("budget", "years", "expected"), [
    (100, 1, [100.0]), (100, 3, [100.0] * 3), ([100], 2, [100.0, 100.0]),
    ([1, 2, 3], 1, [1.0, 2.0, 3.0]), ([1, 2, 3], 3, [1.0, 2.0, 3.0]), (np.float64(5), 2, [5.0, 5.0]),
])
def test_budget_by_year_spreads_or_checks_the_figures(budget, years, expected):
    assert budget_by_year(budget, years) == expected


@pytest.mark.parametrize(("budget", "years", "message"), [
    ([1, 2], 3, "one budget per year: 2 budget(s) for 3 year(s)"), (-1, 1, "at least 0"),
    (float("inf"), 1, "at least 0"), ("lots", 1, "not 'lots'"), ([], 1, "at least 0"),
    (100, 0, "at least one year"),
])
def test_budget_by_year_refuses_with_a_sentence(budget, years, message):
    with pytest.raises(InputError) as err:
        budget_by_year(budget, years)
    assert message in str(err.value)
