"""Budget optimiser benchmark: the structured solver vs plain scipy milp vs the greedy ratio rule.

Generates 1,000 / 10,000 / 50,000 projects with a district's structure (buildings of 5-15
projects, exclusive options, prerequisites, an option excluding another measure) and a budget of
a share of the total cost, then prints, side by side, time, objective and gap of:

- ``optimise_portfolio`` (component frontiers -> multiple-choice knapsack -> LP bound and
  reduced-cost fixing -> HiGHS on the core);
- ``scipy.optimize.milp`` on the whole project model (same constraints) with a time limit;
- the greedy ratio rule (risk reduction per dollar, links respected).

Then the same for a multi-year plan (``--years``, default 3; a budget per year of the share of the
total cost over the years, ``--carry-over`` optional): ``optimise_portfolio`` (component schedules ->
multiple-choice multi-dimensional knapsack -> Lagrangian bound -> HiGHS on the core) vs the
time-indexed ``milp`` vs the greedy ratio rule year by year. The multi-year ``optimise`` stops at a
proven relative gap of ``--gap-tolerance`` (default 1e-4, as ``optimise_portfolio``).

Run: ``.venv/bin/python benchmarks/optimiser.py [--sizes 1000 10000 50000] [--time-limit 60]
[--years 3] [--carry-over] [--skip-single] [--gap-tolerance 1e-4]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from contextlib import contextmanager

import numpy as np
import pandas as pd

from facility_planner.planning.optimise import (
    Portfolio,
    check_portfolio,
    greedy_portfolio,
    milp_portfolio,
    optimise_portfolio,
    synthetic_projects,
)


@contextmanager
def _quiet_stdout():
    """HiGHS prints debug lines to the C-level stdout: silence them so the table stays readable."""
    sys.stdout.flush()
    saved = os.dup(1)
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        try:
            yield
        finally:
            os.dup2(saved, 1)
            os.close(saved)


def greedy_by_year(projects: pd.DataFrame, *, budgets: list[float], carry_over: bool,
                   year_discount: float = 0.031) -> Portfolio:
    """Greedy ratio rule one year at a time; what earlier years did counts as met."""
    started = time.perf_counter()
    remaining = projects.copy()
    excludes = dict(zip(projects["project_id"], projects["excludes"], strict=True))
    year: dict[str, int] = {}
    spend, saved = [], 0.0
    for t, limit in enumerate(budgets, start=1):
        done = set(year)
        groups = set(projects.loc[projects["project_id"].isin(done), "choice_group"].dropna())
        excluded = {q for p in done for q in excludes[p]}
        remaining = remaining[~remaining["project_id"].isin(done | excluded)
                              & ~remaining["choice_group"].isin(groups)
                              & np.array([not done.intersection(ex) for ex in remaining["excludes"]], bool)].copy()
        remaining["requires"] = [[r for r in reqs if r not in done and r not in groups]
                                 for reqs in remaining["requires"]]
        # a requirement whose projects are all gone can no longer be met (the model would read
        # a name matching no project as already met)
        names = set(projects["project_id"]) | set(projects["choice_group"].dropna())
        alive = set(remaining["project_id"]) | set(remaining["choice_group"].dropna())
        remaining = remaining[[all(r in alive or r not in names for r in reqs)
                               for reqs in remaining["requires"]]]
        available = limit + (saved if carry_over else 0.0)
        plan = greedy_portfolio(remaining, budget=available)
        year.update({p: t for p in plan.selected})
        spend.append(plan.total_cost)
        saved = available - plan.total_cost
    # a project whose prerequisite left with an excluded option is dropped (rare)
    while broken := [line.split(" chosen without")[0] for line in check_portfolio(
            projects, Portfolio(list(year), year, 0, 0, "", 0, [], budgets, carry_over=carry_over))
            if " chosen without" in line]:
        for p in broken:
            year.pop(p, None)
    cost = projects.set_index("project_id")["cost"]
    value = projects.set_index("project_id")["risk_reduction"]
    spend = [float(sum(cost[p] for p, y in year.items() if y == t)) for t in range(1, len(budgets) + 1)]
    objective = float(sum(value[p] / (1 + year_discount) ** (y - 1) for p, y in year.items()))
    return Portfolio(selected=list(year), year=year, total_cost=float(cost[list(year)].sum()),
                     total_risk_reduction=float(value[list(year)].sum()), method="greedy ratio by year",
                     gap=float("nan"), spend_by_year=spend, budget=budgets, objective=objective,
                     bound=float("nan"), status="heuristic", seconds=time.perf_counter() - started,
                     carry_over=carry_over)


def _rows(n: int, budget_note: str, results: dict[str, Portfolio], projects: pd.DataFrame) -> None:
    best = max(p.objective for p in results.values())
    for name, p in results.items():
        assert not check_portfolio(projects, p), (name, check_portfolio(projects, p)[:3])
        gap = "n/a" if p.gap != p.gap else f"{p.gap:.2e}"
        print(f"{n:>9,} {name:<14} {p.seconds:>8.2f} {p.objective:>14,.2f} {gap:>10} "
              f"{p.objective / best:>8.4f}  {p.status}: {p.method}")
    ours, plain, greedy = results.values()
    print(f"{'':>9} speed-up optimise vs plain milp: {plain.seconds / max(ours.seconds, 1e-9):.1f}x; "
          f"greedy leaves {100 * (1 - greedy.objective / best):.2f}% of the best risk reduction; "
          f"{budget_note}, {projects['building_id'].nunique():,} buildings")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 50_000])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--budget-share", type=float, default=0.2, help="budget as a share of total cost")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--years", type=int, default=3, help="years of the multi-year rows (0: none)")
    parser.add_argument("--carry-over", action="store_true", help="multi-year: unspent budget carries over")
    parser.add_argument("--skip-single", action="store_true", help="only the multi-year rows")
    parser.add_argument("--gap-tolerance", type=float, default=1e-4,
                        help="multi-year: relative gap at which optimise stops")
    args = parser.parse_args()

    header = f"{'projects':>9} {'solver':<14} {'seconds':>8} {'objective':>14} {'gap':>10} {'vs best':>8}  status / method"
    print(header)
    print("-" * len(header))
    for n in [] if args.skip_single else args.sizes:
        projects = synthetic_projects(n, seed=args.seed)
        budget = args.budget_share * float(projects["cost"].sum())
        with _quiet_stdout():
            results = {"optimise": optimise_portfolio(projects, budget=budget, time_limit=args.time_limit),
                       "scipy milp": milp_portfolio(projects, budget=budget, time_limit=args.time_limit),
                       "greedy ratio": greedy_portfolio(projects, budget=budget)}
        _rows(n, f"budget ${budget:,.0f}", results, projects)
    if args.years > 1:
        print(f"multi-year: {args.years} years, carry-over {'on' if args.carry_over else 'off'}, "
              "objective = discounted risk reduction")
        for n in args.sizes:
            projects = synthetic_projects(n, seed=args.seed)
            budgets = [args.budget_share * float(projects["cost"].sum()) / args.years] * args.years
            kw = {"budget": budgets, "years": args.years, "carry_over": args.carry_over,
                  "time_limit": args.time_limit}
            with _quiet_stdout():
                results = {"optimise": optimise_portfolio(projects, **kw, gap_tolerance=args.gap_tolerance),
                           "scipy milp": milp_portfolio(projects, **kw),
                           "greedy by year": greedy_by_year(projects, budgets=budgets,
                                                            carry_over=args.carry_over)}
            _rows(n, f"budget ${budgets[0]:,.0f} a year", results, projects)

if __name__ == "__main__":
    main()
