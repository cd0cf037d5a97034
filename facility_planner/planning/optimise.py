"""Budget portfolio: choose the projects that remove the most risk within a budget.

The model is a 0/1 knapsack with side constraints (DOMAIN.md s6): maximise total risk reduction
subject to cost <= budget, prerequisites (a project needs one project of each group it requires,
chosen in the same or an earlier year) and exclusions (alternatives; one project per choice group).

Single year (method ``mckp-core``), using the problem's structure:

1. links only join projects of one building, so projects split into small independent components
   (connected by prerequisites and exclusions);
2. each component's feasible subsets are enumerated (vectorised bit masks) and reduced to their
   Pareto frontier of (cost, risk reduction): the problem becomes a multiple-choice knapsack (each
   component picks one frontier point);
3. the LP relaxation of that knapsack is solved exactly by the greedy on each component's convex
   hull (Dyer/Zemel), giving the upper bound ``U`` and the dual price ``lambda`` of the budget, and a
   greedy incumbent ``L``;
4. Lagrangian reduced-cost fixing: a frontier point whose bound ``U - (best_i - (v - lambda c))`` is
   below ``L`` cannot be in any better solution and is removed; most components are fixed;
5. the remaining core is solved by HiGHS (``scipy.optimize.milp``). The reported ``gap`` is
   ``(bound - objective) / objective`` with ``bound`` = min(LP bound, fixed part + HiGHS dual bound),
   so it is the true optimality gap (0 when proven optimal).

Single-year components too large to enumerate (more than ``MAX_ENUMERATION`` linked projects) are
solved as the time-indexed integer programme over projects by HiGHS, with its gap.

Multi-year (method ``schedule-core``):

1. each component's feasible schedules (which projects, in which year; links and every budget row
   checked while enumerating) are listed, dominated ones dropped: one schedule per component and
   one budget row per year (cumulative with carry-over) make a multiple-choice multi-dimensional
   knapsack; a component with more than ``MAX_SCHEDULES`` schedules stays time-indexed;
2. the Lagrangian dual of the budget rows (equal to the LP bound over all schedules) is found by
   cutting planes over the few year prices, giving the upper bound ``U``;
3. first plan by a core problem: at those prices almost every component has one clearly best
   schedule; the ``CORE_COMPONENTS`` components whose best and second-best priced schedules are
   closest stay free (with their ``CORE_SCHEDULES`` best priced schedules), the others take their
   best, HiGHS solves that small core on the budget left and the leftover budget is filled (a
   larger core is tried once more if needed). When ``U - L <= gap_tolerance * L`` (default 1e-4,
   like a MIP solver's relative gap) the plan is returned: optimal to that stated tolerance;
4. otherwise reduced-cost fixing as above; when at most ``MAX_CORE`` components stay open HiGHS
   solves them on the schedule columns (bound = min(U, fixed part + HiGHS dual bound)); otherwise
   the whole time-indexed model goes to HiGHS for the time left (``mip_rel_gap`` =
   ``gap_tolerance``; skipped beyond ``MAX_WHOLE_COLUMNS``, where HiGHS overruns its limit), the
   better plan is kept and the bound is min(U, HiGHS bound). Either way ``gap`` is a true
   optimality gap. Listing schedules counts against the time limit (at most ``LISTING_SHARE`` of
   it and ``MAX_TOTAL_SCHEDULES`` schedules; later components stay time-indexed).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from facility_planner.errors import InputError

#: Largest component (linked projects) whose subsets are enumerated (2**n masks).
MAX_ENUMERATION = 18
_EPS = 1e-9


@dataclass
class Portfolio:
    """The chosen projects, when each is done and how good the choice is proven to be.

    ``gap`` is the relative optimality gap ``(bound - objective) / objective`` (0 = proven optimal);
    ``objective`` is what was maximised (risk reduction, discounted by year in multi-year plans).
    """

    selected: list[str]
    year: dict[str, int]
    total_cost: float
    total_risk_reduction: float
    method: str
    gap: float
    spend_by_year: list[float]
    budget: list[float]
    objective: float = 0.0
    bound: float = 0.0
    status: str = "optimal"
    seconds: float = 0.0
    carry_over: bool = False
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        """Plain summary (for summary.json): limit, selected cost, risk reduction, method, gap
        (``None`` when no finite gap is known, e.g. the greedy baseline)."""
        return {"limit": self.budget[0] if len(self.budget) == 1 else self.budget,
                "budget_by_year": self.budget, "years": len(self.budget),
                "selected_cost": self.total_cost, "risk_reduction": self.total_risk_reduction,
                "spend_by_year": self.spend_by_year, "selected_count": len(self.selected),
                "method": self.method, "gap": self.gap if np.isfinite(self.gap) else None,
                "bound": self.bound if np.isfinite(self.bound) else None,
                "objective": self.objective, "status": self.status, "seconds": self.seconds,
                "carry_over": self.carry_over}

    def annotate(self, projects: pd.DataFrame) -> pd.DataFrame:
        """Add ``selected``, ``year`` (1-based, NA when not chosen), ``in_budget`` and
        ``cumulative_cost`` (of the chosen projects, by year then rank)."""
        out = projects.copy()
        ids = out["project_id"].astype(str)
        out["selected"] = ids.isin(set(self.selected)).to_numpy()
        out["in_budget"] = out["selected"]
        out["year"] = pd.array([self.year.get(p) for p in ids], dtype="Int64")
        order = out.assign(_y=out["year"].fillna(10**6), _r=np.arange(len(out)))
        order = order.sort_values(["_y", "_r"], kind="stable")
        cum = order["cost"].where(order["selected"], 0.0).astype(float).cumsum()
        out["cumulative_cost"] = cum.reindex(out.index).where(out["selected"])
        return out


@dataclass
class _Model:
    ids: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    cliques: list[np.ndarray]
    requires: list[tuple[int, np.ndarray]]
    component: np.ndarray


def _as_list(value: object) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, Iterable):
        return [str(v) for v in value]
    return [str(value)]


def _choice_groups(projects: pd.DataFrame) -> dict[str, list[int]]:
    """Rows of each ``choice_group`` (at most one project of a group is chosen)."""
    groups: dict[str, list[int]] = {}
    if "choice_group" in projects:
        for i, g in enumerate(projects["choice_group"].to_numpy()):
            if g is not None and not (isinstance(g, float) and np.isnan(g)):
                groups.setdefault(str(g), []).append(i)
    return groups


def _exclusion_cliques(projects: pd.DataFrame, groups: dict[str, list[int]],
                       index: dict[str, int]) -> list[np.ndarray]:
    """Sets of projects of which at most one is chosen: choice groups and ``excludes`` pairs."""
    cliques = [np.array(m) for m in groups.values() if len(m) > 1]
    if "excludes" in projects:
        pairs = {tuple(sorted((i, index[q]))) for i, ex in enumerate(projects["excludes"].to_numpy())
                 for q in _as_list(ex) if q in index and index[q] != i}
        cliques += [np.array(p) for p in sorted(pairs)]
    return cliques


def _prerequisites(projects: pd.DataFrame, groups: dict[str, list[int]],
                   index: dict[str, int]) -> list[tuple[int, np.ndarray]]:
    """(project, the projects one of which it needs) for every requirement that names a group or
    a project; one that names neither is already satisfied (its measure is met)."""
    requires: list[tuple[int, np.ndarray]] = []
    if "requires" not in projects:
        return requires
    for i, reqs in enumerate(projects["requires"].to_numpy()):
        for r in _as_list(reqs):
            members = [m for m in groups.get(r) or ([index[r]] if r in index else []) if m != i]
            if members:
                requires.append((i, np.array(members)))
            elif r in groups or r in index:
                requires.append((i, np.array([], dtype=int)))  # requires only itself: never
    return requires


def _components(n: int, links: list[np.ndarray]) -> np.ndarray:
    """Component (a root project) of every project, by union-find over the links."""
    parent = np.arange(n)

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = int(parent[a])
        return a

    for members in links:
        root = find(int(members[0]))
        for m in members[1:]:
            other = find(int(m))
            if other != root:
                parent[other] = root
    return np.array([find(i) for i in range(n)])


def _model(projects: pd.DataFrame) -> _Model:
    """Arrays, exclusion cliques, prerequisites and independent components of the projects."""
    ids = projects["project_id"].astype(str).to_numpy()
    n = len(ids)
    if len(set(ids)) != n:
        raise InputError("Projects must have unique project_id values.")
    cost = pd.to_numeric(projects["cost"], errors="coerce").to_numpy(dtype=float)
    value = pd.to_numeric(projects["risk_reduction"], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(cost) | (cost < 0) | ~np.isfinite(value)
    if bad.any():
        raise InputError(f"Project {ids[bad.argmax()]} has no valid cost or risk reduction.")
    index = {p: i for i, p in enumerate(ids)}
    groups = _choice_groups(projects)
    cliques = _exclusion_cliques(projects, groups, index)
    requires = _prerequisites(projects, groups, index)
    component = _components(n, [*cliques, *[np.append(s, p) for p, s in requires]])
    return _Model(ids, cost, value, cliques, requires, component)


def budget_by_year(budget: float | Sequence[float], years: int = 1) -> list[float]:
    """Dollars for each year of the plan, checked: the one place a budget is validated.

    Parameters
    ----------
    budget
        One amount (for every year) or one amount per year.
    years
        Years of the plan; 1 (the default) with a list means as many years as amounts.

    Raises
    ------
    InputError
        An amount is not a number of at least 0 dollars, or the amounts do not match the years.
    """
    try:
        values = ([float(b) for b in budget] if isinstance(budget, Iterable) and not isinstance(budget, str)
                  else [float(budget)])
    except (TypeError, ValueError):
        raise InputError(f"The budget must be a number of dollars, not {budget!r}.") from None
    if not values or any(not math.isfinite(b) or b < 0 for b in values):
        raise InputError("The budget must be a number of dollars, at least 0, for every year.")
    if years < 1:
        raise InputError(f"A plan needs at least one year, not {years}.")
    if len(values) == 1:
        return values * years
    if years not in (1, len(values)):
        raise InputError(f"Give one budget for every year or one budget per year: {len(values)} "
                         f"budget(s) for {years} year(s).")
    return values


def optimise_portfolio(
    projects: pd.DataFrame,
    *,
    budget: float | Sequence[float],
    years: int = 1,
    time_limit: float = 60,
    carry_over: bool = False,
    year_discount: float = 0.031,
    gap_tolerance: float = 1e-4,
) -> Portfolio:
    """Choose the projects that remove the most risk within the budget, optimally.

    Parameters
    ----------
    projects
        Columns ``project_id``, ``cost``, ``risk_reduction``; optional ``choice_group`` (at most one
        project per group), ``requires`` (list of choice groups or project ids: one of each must be
        chosen in the same or an earlier year; a name matching no project counts as already met)
        and ``excludes`` (list of project ids that cannot be chosen with it).
    budget
        Dollars available: one amount (per year) or one per year.
    years
        Years of the plan (default 1, or the length of ``budget``).
    time_limit
        Seconds for the solve (multi-year: schedule listing included); when reached, the best
        solution found is returned with its gap.
    carry_over
        Multi-year: unspent budget of a year may be spent later.
    year_discount
        Multi-year: risk removed in year t (1-based) counts ``1 / (1 + year_discount) ** (t - 1)``,
        so the plan removes the most risk soonest (OMB A-94 rate by default).
    gap_tolerance
        Multi-year: stop once the plan is proven within this relative gap of the optimum
        (``(bound - objective) / objective``; default 1e-4 = 0.01%, 0 = exact); stated in
        ``method``. Single-year plans are always solved exactly.

    Returns
    -------
    Portfolio
    """
    started = time.perf_counter()
    budgets = budget_by_year(budget, years)
    if not np.isfinite(gap_tolerance) or gap_tolerance < 0:
        raise InputError(f"gap_tolerance must be a share of at least 0, not {gap_tolerance}.")
    model = _model(projects)
    if len(budgets) == 1:
        sizes = np.bincount(np.unique(model.component, return_inverse=True)[1]) if len(model.ids) else np.array([0])
        if sizes.max(initial=0) <= MAX_ENUMERATION:
            portfolio = _solve_mckp(model, budgets[0], time_limit=time_limit)
        else:
            portfolio = _solve_time_indexed(model, budgets, time_limit=time_limit, carry_over=False,
                                            year_discount=0.0)
            portfolio.notes.append(f"a component links {sizes.max()} projects (> {MAX_ENUMERATION}): "
                                   "solved as one integer programme")
    else:
        left = float(time_limit) - (time.perf_counter() - started)
        portfolio = _solve_schedules(model, budgets, time_limit=left, carry_over=carry_over,
                                     year_discount=year_discount, gap_tolerance=gap_tolerance)
        portfolio.method += f"; gap_tolerance {gap_tolerance:g}"
    portfolio.seconds = time.perf_counter() - started
    return portfolio


def _finish(model: _Model, chosen: np.ndarray, year: np.ndarray, budgets: list[float], *, method: str,
            objective: float, bound: float, status: str, carry_over: bool = False) -> Portfolio:
    sel = np.flatnonzero(chosen)
    spend = [float(model.cost[sel][year[sel] == t].sum()) for t in range(1, len(budgets) + 1)]
    gap = max(0.0, bound - objective) / max(abs(objective), _EPS) if objective > 0 else (0.0 if bound <= _EPS else float("inf"))
    return Portfolio(
        selected=[str(model.ids[i]) for i in sel], year={str(model.ids[i]): int(year[i]) for i in sel},
        total_cost=float(model.cost[sel].sum()), total_risk_reduction=float(model.value[sel].sum()),
        method=method, gap=float(gap), spend_by_year=spend, budget=budgets, objective=float(objective),
        bound=float(max(bound, objective)), status=status, carry_over=carry_over)


# --- single year: multiple-choice knapsack over component frontiers ---------------------------

def _frontier(local: np.ndarray, model: _Model, cliques: list[np.ndarray], requires: list[tuple[int, np.ndarray]],
              budget: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pareto frontier (cost ascending, value strictly rising) of a component's feasible subsets."""
    k = len(local)
    c, v = model.cost[local], model.value[local]
    if k == 1:
        if c[0] <= budget + _EPS and v[0] > _EPS:
            if c[0] <= _EPS:
                return np.array([c[0]]), np.array([v[0]]), np.array([1])
            return np.array([0.0, c[0]]), np.array([0.0, v[0]]), np.array([0, 1])
        return np.zeros(1), np.zeros(1), np.zeros(1, dtype=np.int64)
    masks = np.arange(1 << k, dtype=np.int64)
    bits = ((masks[:, None] >> np.arange(k)) & 1).astype(bool)
    ok = np.ones(len(masks), dtype=bool)
    for clique in cliques:
        ok &= bits[:, clique].sum(axis=1) <= 1
    for p, group in requires:
        ok &= ~bits[:, p] | (bits[:, group].any(axis=1) if len(group) else False)
    masks, bits = masks[ok], bits[ok]
    cost, value = bits @ c, bits @ v
    fits = cost <= budget + _EPS
    masks, cost, value = masks[fits], cost[fits], value[fits]
    order = np.lexsort((-value, cost))
    masks, cost, value = masks[order], cost[order], value[order]
    prev_best = np.maximum.accumulate(np.concatenate([[-np.inf], value[:-1]]))
    keep = value > prev_best + _EPS
    return cost[keep], value[keep], masks[keep]


def _hull_steps(cost: np.ndarray, value: np.ndarray) -> list[int]:
    """Indices of the frontier points on the upper concave hull, from the cheapest."""
    hull = [0]
    for j in range(1, len(cost)):
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            if (value[b] - value[a]) * (cost[j] - cost[b]) <= (value[j] - value[b]) * (cost[b] - cost[a]):
                hull.pop()
            else:
                break
        hull.append(j)
    return hull


def _group_components(model: _Model) -> tuple[list[np.ndarray], dict[int, list[np.ndarray]],
                                               dict[int, list[tuple[int, np.ndarray]]]]:
    """Members of each component, and its exclusion cliques and prerequisites in local indices."""
    order = np.argsort(model.component, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(model.component[order]) != 0])
    comp_members = np.split(order, starts[1:])
    comp_of = {int(model.component[m[0]]): ci for ci, m in enumerate(comp_members)}
    local_pos = np.empty(len(model.ids), dtype=int)
    for m in comp_members:
        local_pos[m] = np.arange(len(m))
    comp_cliques: dict[int, list[np.ndarray]] = {}
    for clique in model.cliques:
        comp_cliques.setdefault(comp_of[int(model.component[clique[0]])], []).append(local_pos[clique])
    comp_reqs: dict[int, list[tuple[int, np.ndarray]]] = {}
    for p, group in model.requires:
        comp_reqs.setdefault(comp_of[int(model.component[p])], []).append((int(local_pos[p]), local_pos[group]))
    return comp_members, comp_cliques, comp_reqs


@dataclass
class _Increments:
    """Steps along each component's convex hull (from its cheapest frontier point)."""

    component: np.ndarray
    cost: np.ndarray
    value: np.ndarray
    to: np.ndarray  # frontier point reached by the step

    @classmethod
    def of(cls, fronts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> _Increments:
        comp, dc, dv, to = [], [], [], []
        for ci, (fc, fv, _) in enumerate(fronts):
            if len(fc) > 1:
                hull = _hull_steps(fc, fv)
                for a, b in zip(hull[:-1], hull[1:], strict=True):
                    comp.append(ci)
                    dc.append(fc[b] - fc[a])
                    dv.append(fv[b] - fv[a])
                    to.append(b)
        return cls(np.array(comp, dtype=int), np.array(dc, float), np.array(dv, float),
                   np.array(to, int))


def _greedy_on_hulls(fronts: list[tuple[np.ndarray, np.ndarray, np.ndarray]],
                     budget: float) -> tuple[float, np.ndarray, float]:
    """LP relaxation by the convex-hull greedy (Dyer/Zemel) and an incumbent by continuing it.

    Returns the dual price ``lambda`` of the budget, the incumbent's frontier point per component
    and its value. The incumbent is the greedy prefix, then every later increment that still fits,
    in slope order, as long as its component took all its earlier increments.
    """
    base_value = sum(float(f[1][0]) for f in fronts)
    base_cost = sum(float(f[0][0]) for f in fronts)
    inc = _Increments.of(fronts)
    slope = inc.value / np.maximum(inc.cost, _EPS)
    seq = np.lexsort((np.arange(len(slope)), -slope))
    cum = np.cumsum(inc.cost[seq])
    fits = cum <= budget - base_cost + _EPS
    n_full = int(fits.argmin()) if not fits.all() else len(seq)
    lam = float(slope[seq[n_full]]) if n_full < len(seq) else 0.0
    choice = np.zeros(len(fronts), dtype=int)
    spent, value = base_cost, base_value
    blocked = np.zeros(len(fronts), dtype=bool)
    for j in seq:
        ci = inc.component[j]
        if blocked[ci]:
            continue
        if spent + inc.cost[j] <= budget + _EPS:
            spent += inc.cost[j]
            value += inc.value[j]
            choice[ci] = inc.to[j]
        else:
            blocked[ci] = True
    return lam, choice, value


def _mckp_core(fronts: list[tuple[np.ndarray, np.ndarray, np.ndarray]], core: list[tuple[int, np.ndarray]],
               budget: float, *, time_limit: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, Any]:
    """HiGHS on the core: one frontier point per open component within the budget left.

    Returns each column's component and point, its value, and the solver's result.
    """
    col_class = np.concatenate([np.full(len(k), i) for i, (_, k) in enumerate(core)])
    col_point = np.concatenate([k for _, k in core])
    col_ci = np.array([core[i][0] for i in col_class])
    c = np.array([fronts[ci][0][p] for ci, p in zip(col_ci, col_point, strict=True)])
    v = np.array([fronts[ci][1][p] for ci, p in zip(col_ci, col_point, strict=True)])
    rows = sparse.csr_matrix((np.ones(len(col_class)), (col_class, np.arange(len(col_class)))),
                             shape=(len(core), len(col_class)))
    a = sparse.vstack([rows, sparse.csr_matrix(c[None, :])])
    lower = np.r_[np.ones(len(core)), -np.inf]
    upper_rows = np.r_[np.ones(len(core)), budget]
    res = milp(-v, integrality=np.ones(len(v)), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a, lower, upper_rows),
               options={"time_limit": float(time_limit), "mip_rel_gap": 1e-7})
    return col_ci, col_point, v, res


def _solve_mckp(model: _Model, budget: float, *, time_limit: float) -> Portfolio:
    n = len(model.ids)
    if n == 0:
        return _finish(model, np.zeros(0, bool), np.zeros(0, int), [budget], method="mckp-core",
                       objective=0.0, bound=0.0, status="optimal")
    comp_members, comp_cliques, comp_reqs = _group_components(model)
    fronts = [_frontier(m, model, comp_cliques.get(ci, []), comp_reqs.get(ci, []), budget)
              for ci, m in enumerate(comp_members)]
    lam, choice, incumbent = _greedy_on_hulls(fronts, budget)
    # Lagrangian bound at lambda (equal to the LP bound) and reduced-cost fixing
    best = np.array([float(np.max(fv - lam * fc)) for fc, fv, _ in fronts])
    upper = lam * budget + float(best.sum())
    tol = 1e-9 * max(1.0, abs(incumbent))
    fixed_value = fixed_cost = 0.0
    core: list[tuple[int, np.ndarray]] = []
    final = choice.copy()
    for ci, (fc, fv, _) in enumerate(fronts):
        keep = np.flatnonzero(upper - (best[ci] - (fv - lam * fc)) >= incumbent - tol)
        if choice[ci] not in keep:  # numerical safety: the incumbent's point always stays
            keep = np.union1d(keep, [choice[ci]])
        if len(keep) == 1:
            final[ci] = keep[0]
            fixed_value += fv[keep[0]]
            fixed_cost += fc[keep[0]]
        else:
            core.append((ci, keep))
    status, method = "optimal", "mckp-core"
    bound = upper
    objective = incumbent
    if core:
        col_ci, col_point, v, res = _mckp_core(fronts, core, budget - fixed_cost, time_limit=time_limit)
        if res.x is not None:
            x = np.round(res.x).astype(bool)
            core_value = float(v[x].sum())
            if fixed_value + core_value >= incumbent - tol:
                objective = fixed_value + core_value
                for ci, p in zip(col_ci[x], col_point[x], strict=True):
                    final[ci] = p
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            # HiGHS minimised -value: its dual bound bounds the core's value from above
            bound = min(upper, fixed_value - float(dual))
        if res.status != 0:
            status = "time_limit" if res.status == 1 else f"highs status {res.status}"
        method = f"mckp-core (components {len(fronts)}, core {len(core)} classes / {len(v)} points, HiGHS)"
    else:
        bound = objective  # every component fixed by reduced costs: the incumbent is optimal
        method = f"mckp-core (components {len(fronts)}, all fixed by reduced costs)"
    chosen = np.zeros(n, dtype=bool)
    for ci, members in enumerate(comp_members):
        mask = int(fronts[ci][2][final[ci]])
        if mask:
            chosen[members[((mask >> np.arange(len(members))) & 1).astype(bool)]] = True
    objective = float(model.value[chosen].sum())
    return _finish(model, chosen, np.where(chosen, 1, 0), [budget], method=method, objective=objective,
                   bound=max(bound, objective), status=status)


# --- multi-year: one schedule per component, a knapsack with one budget row per year ---------------

#: Most (subset, year) schedules enumerated for one component in a multi-year plan; a larger
#: component stays in the time-indexed form (a variable per project and year) inside the core.
MAX_SCHEDULES = 1_000_000
#: Most components left open by reduced-cost fixing for HiGHS on the schedule core; with more,
#: the whole time-indexed model goes to HiGHS (schedules only give the bound and a start).
MAX_CORE = 1_000
#: Fewest seconds left for which the whole time-indexed model is still handed to HiGHS.
MIN_WHOLE_SECONDS = 2.0
#: Largest time-indexed model (projects x years) handed whole to HiGHS, whose presolve can
#: overrun the time limit by a minute beyond that.
MAX_WHOLE_COLUMNS = 60_000
#: Most schedules listed over all components; later components stay time-indexed.
MAX_TOTAL_SCHEDULES = 20_000_000
#: Share of the time limit the schedule listing may take; later components stay time-indexed.
LISTING_SHARE = 0.5
#: Seconds HiGHS searches the core problem for a first multi-year plan.
HEURISTIC_SECONDS = 5.0
#: Components left free in the core problem that gives the first multi-year plan.
CORE_COMPONENTS = 400
#: Core problems tried (each 4 times larger) before the reduced-cost fixing.
CORE_ATTEMPTS = 2
#: Best priced schedules of each free component offered to the core problem.
CORE_SCHEDULES = 8


def _schedules(cost: np.ndarray, value: np.ndarray, cliques: list[np.ndarray],
               requires: list[tuple[int, np.ndarray]], *, limits: np.ndarray, weight: np.ndarray,
               carry_over: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Feasible, undominated schedules of one component: ``(years, usage, value)``.

    ``years`` (schedules x projects) holds 0 (not done) or the 1-based year; ``usage`` (schedules x
    years) is the spend each budget row sees (cumulative with carry-over); ``value`` is discounted.
    Projects are added one at a time and partial schedules filtered as soon as a link or a budget
    row is complete, so cliques and prerequisites keep the enumeration small. ``None`` when the
    component has more than ``MAX_SCHEDULES`` schedules.
    """
    k, years = len(cost), len(weight)
    checks: list[list[tuple[np.ndarray, int | None, np.ndarray]]] = [[] for _ in range(k)]
    for clique in cliques:
        checks[int(clique.max())].append((clique, None, clique))
    for p, group in requires:
        checks[max(p, int(group.max()) if len(group) else p)].append((group, p, group))
    plan = np.zeros((1, 0), dtype=np.int8)
    spend = np.zeros((1, years))
    options = np.arange(years + 1, dtype=np.int8)
    for j in range(k):
        rows = len(plan)
        plan = np.hstack([np.repeat(plan, years + 1, axis=0), np.tile(options, rows)[:, None]])
        spend = np.repeat(spend, years + 1, axis=0)
        done = plan[:, j] > 0
        spend[done, plan[done, j] - 1] += cost[j]
        use = np.cumsum(spend, axis=1) if carry_over else spend
        ok = (use <= limits + _EPS).all(axis=1)
        for members, needs, _ in checks[j]:
            if needs is None:  # exclusive: at most one done
                ok &= (plan[:, members] > 0).sum(axis=1) <= 1
            else:  # prerequisite done in the same or an earlier year
                yp = plan[:, needs]
                before = (plan[:, members] > 0) & (plan[:, members] <= yp[:, None])
                ok &= (yp == 0) | before.any(axis=1)
        plan, spend = plan[ok], spend[ok]
        if len(plan) > MAX_SCHEDULES:
            return None
    gain = (value[None, :] * np.r_[0.0, weight][plan]).sum(axis=1)
    use = np.cumsum(spend, axis=1) if carry_over else spend
    # a schedule is dominated by one using no more of any budget row for at least the value
    keep = (gain > _EPS) | (use <= _EPS).all(axis=1)
    keep[0] = True  # nothing done
    plan, use, gain = plan[keep], use[keep], gain[keep]
    if 1 < len(plan) <= 400:
        no_more = (use[:, None, :] <= use[None, :, :] + _EPS).all(axis=2)  # [a, b]: a uses <= b
        at_least = gain[:, None] >= gain[None, :] - _EPS
        same = (np.abs(use[:, None, :] - use[None, :, :]) <= _EPS).all(axis=2) & (
            np.abs(gain[:, None] - gain[None, :]) <= _EPS)
        earlier = np.arange(len(plan))[:, None] < np.arange(len(plan))[None, :]
        dominated = (no_more & at_least & (~same | earlier)).any(axis=0)
        dominated[0] = False  # "nothing" stays first: it always fits
        plan, use, gain = plan[~dominated], use[~dominated], gain[~dominated]
    return plan, use, gain


def _column(p: Any, t: Any, years: int) -> np.ndarray:
    """Column of (project ``p``, year ``t``) in a time-indexed model (arrays broadcast)."""
    return np.asarray(np.asarray(p) * years + t)


def _time_block(model: _Model, members: list[np.ndarray], *, years: int, weight: np.ndarray,
                carry_over: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, sparse.csr_matrix, np.ndarray]:
    """Time-indexed form of the components too large to enumerate.

    Returns the projects, the value and budget usage of each (project, year) column, and the link
    rows (``<=`` right-hand sides): one per exclusive clique or project, one per prerequisite and year.
    """
    projects = np.concatenate(members) if members else np.zeros(0, int)
    pos = {int(p): i for i, p in enumerate(projects)}

    def col(p: Any, t: Any) -> np.ndarray:
        return _column(p, t, years)

    value = (model.value[projects][:, None] * weight[None, :]).ravel()
    usage = np.zeros((len(projects) * years, years))
    for t in range(years):
        rows = range(t, years) if carry_over else [t]
        for row in rows:
            usage[col(np.arange(len(projects)), t), row] = model.cost[projects]
    r: list[np.ndarray] = []
    c: list[np.ndarray] = []
    d: list[np.ndarray] = []
    hi: list[float] = []

    def add(cols: np.ndarray, coefs: np.ndarray, upper: float) -> None:
        r.append(np.full(len(cols), len(hi)))
        c.append(cols)
        d.append(coefs)
        hi.append(upper)

    in_clique = np.zeros(len(projects), dtype=bool)
    for clique in model.cliques:
        if int(clique[0]) in pos:
            local = np.array([pos[int(p)] for p in clique])
            in_clique[local] = True
            add(col(local[:, None], np.arange(years)[None, :]).ravel(), np.ones(len(local) * years), 1.0)
    for alone in np.flatnonzero(~in_clique):
        add(col(alone, np.arange(years)), np.ones(years), 1.0)
    for p, group in model.requires:
        if int(p) in pos:
            lp, lg = pos[int(p)], np.array([pos[int(q)] for q in group], dtype=int)
            for t in range(years):
                upto = np.arange(t + 1)
                mine, theirs = col(lp, upto), col(lg[:, None], upto[None, :]).ravel()
                add(np.r_[mine, theirs], np.r_[np.ones(len(mine)), -np.ones(len(theirs))], 0.0)
    links = sparse.csr_matrix((np.concatenate(d) if d else np.zeros(0),
                               (np.concatenate(r) if r else np.zeros(0, int),
                                np.concatenate(c) if c else np.zeros(0, int))),
                              shape=(len(hi), len(projects) * years))
    return projects, value, usage, links, np.array(hi, dtype=float)


def _schedule_program(use: np.ndarray, comp: np.ndarray, n_comps: int, block_usage: np.ndarray,
                      links: sparse.csr_matrix) -> tuple[sparse.csr_matrix, int]:
    """Constraint matrix over schedule columns then time-indexed columns: one row per component
    (pick one schedule), the link rows of the time-indexed block, one budget row per year.
    Returns the matrix and the number of equality rows (first)."""
    n_sched = len(comp)
    pick = sparse.csr_matrix((np.ones(n_sched), (comp, np.arange(n_sched))), shape=(n_comps, n_sched))
    budget_rows = sparse.hstack([sparse.csr_matrix(use.T), sparse.csr_matrix(block_usage.T)])
    a = sparse.vstack([
        sparse.hstack([pick, sparse.csr_matrix((n_comps, links.shape[1]))]),
        sparse.hstack([sparse.csr_matrix((links.shape[0], n_sched)), links]),
        budget_rows,
    ], format="csr")
    return a, n_comps


@dataclass
class _Run:
    """One multi-year solve: the model, the budget rows, the discount weights and the clock."""

    model: _Model
    budgets: list[float]
    weight: np.ndarray  # discount of risk removed in each year
    limits: np.ndarray  # right-hand side of each budget row (cumulative with carry-over)
    carry_over: bool
    year_discount: float
    time_limit: float
    gap_tolerance: float
    started: float

    @property
    def years(self) -> int:
        return len(self.budgets)

    def elapsed(self) -> float:
        return time.perf_counter() - self.started

    def left(self) -> float:
        return float(self.time_limit) - self.elapsed()

    def finish(self, chosen: np.ndarray, year: np.ndarray, *, method: str, objective: float,
               bound: float, status: str) -> Portfolio:
        return _finish(self.model, chosen, year, self.budgets, method=method, objective=objective,
                       bound=bound, status=status, carry_over=self.carry_over)


@dataclass
class _Listing:
    """The schedules of every component small enough to list, as flat columns.

    ``comp`` maps a schedule column to its component's position in ``small``; the schedules of
    ``small[i]`` are columns ``starts[i]`` to ``starts[i] + counts[i]`` (the first: nothing done).
    ``big`` components stay in the time-indexed block.
    """

    members: list[np.ndarray]
    small: list[int]
    big: list[int]
    plans: list[np.ndarray]
    counts: np.ndarray
    starts: np.ndarray
    comp: np.ndarray
    use: np.ndarray
    gain: np.ndarray
    cut: bool

    def years_of(self, choice: np.ndarray, n: int) -> np.ndarray:
        """Year (1-based, 0 = not done) of every project under the chosen schedules."""
        year = np.zeros(n, dtype=int)
        for i, ci in enumerate(self.small):
            year[self.members[ci]] = self.plans[i][choice[i] - self.starts[i]]
        return year


@dataclass
class _Block:
    """The time-indexed components: a column per (project, year), with their link rows."""

    projects: np.ndarray
    value: np.ndarray
    usage: np.ndarray
    links: sparse.csr_matrix
    link_hi: np.ndarray
    gain: np.ndarray  # project x year value
    rows: np.ndarray  # project, year done, budget row


@dataclass
class _Prices:
    """The Lagrangian dual at the best year prices: bound, best priced value per component."""

    lam: np.ndarray
    upper: float
    best: np.ndarray
    priced: np.ndarray


def _list_schedules(run: _Run) -> _Listing:
    """Step 1: every component's schedules, while the time share and the memory cap allow."""
    model = run.model
    members, comp_cliques, comp_reqs = _group_components(model)
    plans: list[np.ndarray] = []
    small: list[int] = []
    big: list[int] = []
    uses, gains = [], []
    listed, cut = 0, False
    for ci, m in enumerate(members):
        # listing counts against the time limit, and the schedules kept in memory are capped
        cut = cut or listed > MAX_TOTAL_SCHEDULES or run.elapsed() > LISTING_SHARE * float(run.time_limit)
        out = None if cut else _schedules(model.cost[m], model.value[m], comp_cliques.get(ci, []),
                                          comp_reqs.get(ci, []), limits=run.limits, weight=run.weight,
                                          carry_over=run.carry_over)
        if out is None:
            big.append(ci)
            continue
        listed += len(out[2])
        small.append(ci)
        plans.append(out[0])
        uses.append(out[1])
        gains.append(out[2])
    counts = np.array([len(g) for g in gains], dtype=int)
    starts = np.r_[0, np.cumsum(counts)[:-1]].astype(int) if len(counts) else np.zeros(0, int)
    return _Listing(members=members, small=small, big=big, plans=plans, counts=counts, starts=starts,
                    comp=np.repeat(np.arange(len(small)), counts),
                    use=np.vstack(uses) if uses else np.zeros((0, run.years)),
                    gain=np.concatenate(gains) if gains else np.zeros(0), cut=cut)


def _block_of(run: _Run, listing: _Listing) -> _Block:
    projects, value, usage, links, link_hi = _time_block(
        run.model, [listing.members[ci] for ci in listing.big], years=run.years, weight=run.weight,
        carry_over=run.carry_over)
    return _Block(projects=projects, value=value, usage=usage, links=links, link_hi=link_hi,
                  gain=run.model.value[projects][:, None] * run.weight[None, :],
                  rows=usage.reshape(len(projects), run.years, run.years))


def _lagrangian(lam: np.ndarray, listing: _Listing, block: _Block,
                limits: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """Upper bound at budget prices ``lam`` (the time-indexed block bounded without its links),
    its subgradient, each component's best priced value and every schedule's."""
    gain, use, starts, comp = listing.gain, listing.use, listing.starts, listing.comp
    priced = gain - use @ lam
    best = np.maximum.reduceat(priced, starts) if len(starts) else np.zeros(0)
    at = np.minimum.reduceat(np.where(priced >= best[comp], np.arange(len(priced)), len(priced)),
                             starts) if len(starts) else np.zeros(0, int)
    spent = use[at].sum(axis=0)
    if len(block.projects):
        priced_block = block.gain - block.rows @ lam
        t_best = priced_block.argmax(axis=1)
        take = priced_block[np.arange(len(priced_block)), t_best] > 0
        spent = spent + block.rows[np.flatnonzero(take), t_best[take]].sum(axis=0)
        extra = float(priced_block[np.arange(len(priced_block)), t_best][take].sum())
    else:
        extra = 0.0
    return float(lam @ limits + best.sum() + extra), limits - spent, best, priced


def _dual_prices(run: _Run, listing: _Listing, block: _Block) -> _Prices:
    """Step 2: the Lagrangian dual of the budget rows (= LP bound over all schedules), by cutting
    planes on the few year prices: each evaluation is one pass over the schedules."""
    from scipy.optimize import linprog

    model, years = run.model, run.years
    ratio = model.value / np.maximum(model.cost, _EPS)
    cap = float(ratio[model.cost > _EPS].max(initial=1.0)) * float(run.weight[0]) + 1.0
    lam = np.full(years, cap / 100)
    cuts: list[np.ndarray] = []
    rhs: list[float] = []
    upper, best_lam = np.inf, lam
    for _ in range(200):
        value, grad, _, _ = _lagrangian(lam, listing, block, run.limits)
        if value < upper:
            upper, best_lam = value, lam
        cuts.append(np.r_[grad, -1.0])  # z >= value + grad . (mu - lam)
        rhs.append(float(grad @ lam - value))
        master = linprog(np.r_[np.zeros(years), 1.0], A_ub=np.array(cuts), b_ub=np.array(rhs),
                         bounds=[(0, cap)] * years + [(None, None)], method="highs")
        if master.status != 0 or upper - master.fun <= 1e-9 * max(1.0, abs(upper)):
            break
        lam = master.x[:years]
    upper, _, best, priced = _lagrangian(best_lam, listing, block, run.limits)
    return _Prices(lam=best_lam, upper=upper, best=best, priced=priced)


def _improve(plan: np.ndarray, comps: np.ndarray, score: np.ndarray, listing: _Listing,
             limits: np.ndarray) -> None:
    """Fill leftover budget: move each of ``comps`` in turn to its best-scored schedule that still
    fits and removes more risk (``plan`` is changed in place)."""
    use, gain, starts, counts = listing.use, listing.gain, listing.starts, listing.counts
    residual = limits - use[plan].sum(axis=0)
    for i in comps:
        s, e = starts[i], starts[i] + counts[i]
        now = use[plan[i]]
        fits = (use[s:e] <= residual + now + _EPS).all(axis=1) & (gain[s:e] > gain[plan[i]] + _EPS)
        if fits.any():
            j = s + int(np.argmax(np.where(fits, score[s:e], -np.inf)))
            residual = residual + now - use[j]
            plan[i] = j


def _first_plan(run: _Run, listing: _Listing, prices: _Prices) -> tuple[np.ndarray, int]:
    """Step 3: incumbent by a core problem (Balas-Zemel / Pisinger).

    At the optimal prices nearly every component has one clearly best schedule; only those whose
    best and second-best priced schedules are closest stay free (with their ``CORE_SCHEDULES``
    best priced schedules), the others take their best; HiGHS solves that small core on the
    budget left, then leftover budget is filled. Not within ``gap_tolerance`` of the bound: again
    with a larger core. Returns the chosen schedule column of each component and the core size.
    """
    starts, comp, gain, use, limits = listing.starts, listing.comp, listing.gain, listing.use, run.limits
    best, priced, upper = prices.best, prices.priced, prices.upper
    n_small = len(listing.small)
    choice = starts.copy()
    k = 0
    if not len(starts):
        return choice, k
    n_sched = np.arange(len(priced))
    at = np.minimum.reduceat(np.where(priced >= best[comp], n_sched, len(priced)), starts)
    second = np.maximum.reduceat(np.where(n_sched == at[comp], -np.inf, priced), starts)
    order = np.argsort(best - second, kind="stable")
    ranked = np.lexsort((-priced, comp))
    rank = np.empty(len(priced), dtype=int)
    rank[ranked] = n_sched - starts[comp]
    top = np.maximum.reduceat(gain, starts)
    size = CORE_COMPONENTS
    for _ in range(CORE_ATTEMPTS):
        k = min(n_small, size)
        while True:
            free = np.zeros(n_small, dtype=bool)
            free[order[:k]] = True
            fixed_use = use[at[~free]].sum(axis=0)
            if (fixed_use <= limits + _EPS).all() or k == n_small:
                break
            k = min(n_small, 4 * k)
        plan = np.where(free, starts, at)
        near = free[comp] & (rank < CORE_SCHEDULES)
        near[starts[free]] = True
        sub = np.flatnonzero(near)
        a, n_eq = _schedule_program(use[sub], (np.cumsum(free) - 1)[comp[sub]], k,
                                    np.zeros((0, run.years)), sparse.csr_matrix((0, 0)))
        # the core's own gap, small enough to matter little against the whole bound
        rel = 0.5 * run.gap_tolerance * max(1.0, abs(upper)) / max(1.0, float(gain[at[free]].sum()))
        res = milp(-gain[sub], integrality=np.ones(len(sub)), bounds=Bounds(0, 1),
                   constraints=LinearConstraint(a, np.r_[np.ones(n_eq), np.full(run.years, -np.inf)],
                                                np.r_[np.ones(n_eq), limits - fixed_use]),
                   options={"time_limit": max(0.5, min(HEURISTIC_SECONDS, run.left())),
                            "mip_rel_gap": float(np.clip(rel, 1e-7, 1e-2))})
        if res.x is not None:
            whole = res.x >= 0.5
            plan[comp[sub[whole]]] = sub[whole]
        room = np.flatnonzero(top > gain[plan] + _EPS)
        _improve(plan, room[np.argsort(-best[room], kind="stable")], priced, listing, limits)
        if gain[plan].sum() > gain[choice].sum():
            choice = plan
        if (upper - float(gain[choice].sum()) <= run.gap_tolerance * float(gain[choice].sum())
                or k == n_small or run.elapsed() > 0.5 * float(run.time_limit)):
            break
        size = 4 * k
    return choice, k


def _discounted(run: _Run, year: np.ndarray) -> tuple[np.ndarray, float]:
    """Chosen projects and the discounted risk they remove."""
    chosen = year > 0
    return chosen, float((run.model.value[chosen] * run.weight[year[chosen] - 1]).sum())


def _whole_model_plan(run: _Run, listing: _Listing, block: _Block, prices: _Prices,
                      choice: np.ndarray, incumbent: float, n_open: int) -> Portfolio:
    """Step 4b: too many open components to prove optimality on the core: HiGHS on the whole
    time-indexed model with the time left; the better plan wins, the lower bound counts."""
    model, n, upper = run.model, len(run.model.ids), prices.upper
    left = run.left()
    if left < MIN_WHOLE_SECONDS or n * run.years > MAX_WHOLE_COLUMNS:
        # no time for HiGHS to do better (it overruns its limit on large models): the first
        # plan with its gap
        whole = _finish(model, np.zeros(n, bool), np.zeros(n, int), run.budgets, method="",
                        objective=0.0, bound=float("inf"), status="time_limit")
    else:
        whole = _solve_time_indexed(model, run.budgets, time_limit=left, carry_over=run.carry_over,
                                    year_discount=run.year_discount,
                                    mip_rel_gap=max(run.gap_tolerance, 1e-7))
    year = listing.years_of(choice, n)
    if whole.objective >= incumbent:
        index = {p: i for i, p in enumerate(model.ids)}
        year = np.zeros(n, dtype=int)
        for p, y in whole.year.items():
            year[index[p]] = y
    chosen, objective = _discounted(run, year)
    bound = min(upper, whole.bound if np.isfinite(whole.bound) else upper)
    summary = f"components {len(listing.members)}, {len(listing.gain)} schedules"
    portfolio = run.finish(chosen, year, status=whole.status,
                           method=(f"schedule-core ({summary}, {n_open} open"
                                   + (f" + {len(block.projects)} time-indexed projects" if listing.big else "")
                                   + (": whole time-indexed model by HiGHS, bound min(Lagrangian, "
                                      "HiGHS))" if whole.method else
                                      ": no time or too large for the whole model; first plan, "
                                      "Lagrangian bound)")),
                           objective=objective, bound=max(bound, objective))
    portfolio.notes.append(f"Lagrangian bound {upper:.6g}, schedule incumbent {incumbent:.6g}"
                           + (f", HiGHS {whole.objective:.6g} (bound {whole.bound:.6g})"
                              if whole.method else ""))
    if listing.cut:
        portfolio.notes.append(f"schedule listing stopped (time limit share {LISTING_SHARE:g}): "
                               f"{len(listing.big)} component(s) left out of the first plan")
    return portfolio


def _core_plan(run: _Run, listing: _Listing, block: _Block, prices: _Prices, choice: np.ndarray,
               incumbent: float, keep: np.ndarray, open_comps: np.ndarray) -> Portfolio:
    """Step 4a: HiGHS on the core: the open components and the time-indexed block."""
    gain, use, comp = listing.gain, listing.use, listing.comp
    upper, years, n = prices.upper, run.years, len(run.model.ids)
    tol = 1e-9 * max(1.0, abs(upper))
    fixed = ~open_comps
    fixed_value = float(gain[choice[fixed]].sum())
    fixed_use = use[choice[fixed]].sum(axis=0)
    block_x = np.zeros(len(block.value))
    status = "optimal"
    bound = upper
    objective = incumbent
    cols = np.flatnonzero(keep & open_comps[comp])
    n_open = int(open_comps.sum())
    if len(cols) or len(block.value):
        renumber = np.cumsum(open_comps) - 1
        core_a, core_eq = _schedule_program(use[cols], renumber[comp[cols]], n_open, block.usage,
                                            block.links)
        lower = np.r_[np.ones(core_eq), np.full(len(block.link_hi) + years, -np.inf)]
        upper_rows = np.r_[np.ones(core_eq), block.link_hi, run.limits - fixed_use]
        res = milp(-np.r_[gain[cols], block.value], integrality=np.ones(len(cols) + len(block.value)),
                   bounds=Bounds(0, 1), constraints=LinearConstraint(core_a, lower, upper_rows),
                   options={"time_limit": max(1.0, run.left()),
                            "mip_rel_gap": max(run.gap_tolerance, 1e-7)})
        if res.x is not None:
            xs = np.round(res.x).astype(bool)
            core_value = float(gain[cols][xs[:len(cols)]].sum() + block.value[xs[len(cols):]].sum())
            if fixed_value + core_value >= incumbent - tol:
                objective = fixed_value + core_value
                picked = cols[xs[:len(cols)]]
                choice[comp[picked]] = picked
                block_x = xs[len(cols):].astype(float)
        dual = getattr(res, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            bound = min(upper, fixed_value - float(dual))
        if res.status != 0:
            status = "time_limit" if res.status == 1 else f"highs status {res.status}"
        method = (f"schedule-core (components {len(listing.members)}, {len(gain)} schedules, core "
                  f"{n_open} components / {len(cols)} schedules"
                  + (f" + {len(block.projects)} time-indexed projects" if len(block.projects) else "")
                  + ", HiGHS)")
    else:
        bound = objective  # every component fixed by reduced costs: the incumbent is optimal
        method = (f"schedule-core (components {len(listing.members)}, {len(gain)} schedules, all "
                  "fixed by reduced costs)")
    year = listing.years_of(choice, n)
    if len(block.projects):
        bx = block_x.reshape(len(block.projects), years).astype(bool)
        year[block.projects] = np.where(bx.any(axis=1), bx.argmax(axis=1) + 1, 0)
    chosen, objective = _discounted(run, year)
    portfolio = run.finish(chosen, year, method=method, objective=objective,
                           bound=max(bound, objective), status=status)
    if listing.cut:
        portfolio.notes.append(f"schedule listing stopped (time limit share {LISTING_SHARE:g} or "
                               f"{MAX_TOTAL_SCHEDULES} schedules): {len(listing.big)} component(s) "
                               "kept in the time-indexed form")
    elif listing.big:
        portfolio.notes.append(f"{len(listing.big)} component(s) with more than {MAX_SCHEDULES} "
                               "schedules kept in the time-indexed form")
    return portfolio


def _solve_schedules(model: _Model, budgets: list[float], *, time_limit: float, carry_over: bool,
                     year_discount: float, gap_tolerance: float = 0.0) -> Portfolio:
    """Multi-year plan over component schedules (see the module docstring for the steps)."""
    years = len(budgets)
    run = _Run(model=model, budgets=budgets, weight=(1.0 + year_discount) ** -np.arange(years),
               limits=np.cumsum(budgets) if carry_over else np.array(budgets, dtype=float),
               carry_over=carry_over, year_discount=year_discount, time_limit=time_limit,
               gap_tolerance=gap_tolerance,
               started=time.perf_counter())
    n = len(model.ids)
    if n == 0:
        return run.finish(np.zeros(0, bool), np.zeros(0, int), method="schedule-core",
                          objective=0.0, bound=0.0, status="optimal")
    listing = _list_schedules(run)
    block = _block_of(run, listing)
    prices = _dual_prices(run, listing, block)
    choice, k = _first_plan(run, listing, prices)
    incumbent = float(listing.gain[choice].sum())
    upper = prices.upper
    tol = 1e-9 * max(1.0, abs(upper))
    if not listing.big and upper - incumbent <= gap_tolerance * max(abs(incumbent), _EPS) + tol:
        # the first plan is already within the tolerance of the Lagrangian bound
        year = listing.years_of(choice, n)
        chosen, objective = _discounted(run, year)
        return run.finish(chosen, year, status="optimal",
                          method=(f"schedule-core (components {len(listing.members)}, "
                                  f"{len(listing.gain)} schedules, core problem {k} components "
                                  "within gap_tolerance of the Lagrangian bound)"),
                          objective=objective, bound=max(upper, objective))
    # reduced-cost fixing: a schedule whose Lagrangian bound is below the incumbent is out
    keep = upper - prices.best[listing.comp] + prices.priced >= incumbent - tol
    keep[choice] = True
    starts = listing.starts
    kept = np.add.reduceat(keep.astype(int), starts) if len(starts) else np.zeros(0, int)
    open_comps = kept > 1
    if int(open_comps.sum()) > MAX_CORE or len(block.value) > MAX_WHOLE_COLUMNS:
        return _whole_model_plan(run, listing, block, prices, choice, incumbent, int(open_comps.sum()))
    return _core_plan(run, listing, block, prices, choice, incumbent, keep, open_comps)


# --- time-indexed integer programme over projects (multi-year, and the plain baseline) ---------

def _solve_time_indexed(model: _Model, budgets: list[float], *, time_limit: float, carry_over: bool,
                        year_discount: float, method: str = "milp-time-indexed (HiGHS)",
                        mip_rel_gap: float = 1e-7) -> Portfolio:
    n, years = len(model.ids), len(budgets)
    if n == 0:
        return _finish(model, np.zeros(0, bool), np.zeros(0, int), budgets, method=method,
                       objective=0.0, bound=0.0, status="optimal", carry_over=carry_over)
    weight = (1.0 + year_discount) ** -np.arange(years)
    def col(p: Any, t: Any) -> np.ndarray:
        return _column(p, t, years)

    obj = -(model.value[:, None] * weight[None, :]).ravel()
    r: list[np.ndarray] = []
    c: list[np.ndarray] = []
    d: list[np.ndarray] = []
    lo: list[float] = []
    hi: list[float] = []
    row = 0

    def add(cols: np.ndarray, coefs: np.ndarray, lower: float, upper: float) -> None:
        nonlocal row
        r.append(np.full(len(cols), row))
        c.append(cols)
        d.append(coefs)
        lo.append(lower)
        hi.append(upper)
        row += 1

    in_clique = np.zeros(n, dtype=bool)
    for clique in model.cliques:
        in_clique[clique] = True
        cols = col(clique[:, None], np.arange(years)[None, :]).ravel()
        add(cols, np.ones(len(cols)), -np.inf, 1.0)
    if years > 1:
        for alone in np.flatnonzero(~in_clique):
            add(col(alone, np.arange(years)), np.ones(years), -np.inf, 1.0)
    for p, group in model.requires:
        for t in range(years):
            upto = np.arange(t + 1)
            mine = col(p, upto)
            theirs = col(group[:, None], upto[None, :]).ravel() if len(group) else np.zeros(0, int)
            add(np.r_[mine, theirs], np.r_[np.ones(len(mine)), -np.ones(len(theirs))], -np.inf, 0.0)
    for t in range(years):
        span = np.arange(t + 1) if carry_over else np.array([t])
        cols = col(np.arange(n)[:, None], span[None, :]).ravel()
        add(cols, np.repeat(model.cost, len(span)), -np.inf, float(sum(budgets[s] for s in span)))
    a = sparse.csr_matrix((np.concatenate(d), (np.concatenate(r), np.concatenate(c))), shape=(row, n * years))
    res = milp(obj, integrality=np.ones(n * years), bounds=Bounds(0, 1),
               constraints=LinearConstraint(a, np.array(lo), np.array(hi)),
               options={"time_limit": float(time_limit), "mip_rel_gap": mip_rel_gap})
    status = "optimal" if res.status == 0 else ("time_limit" if res.status == 1 else f"highs status {res.status}")
    dual = getattr(res, "mip_dual_bound", None)
    if res.x is None:
        chosen, year, objective = np.zeros(n, bool), np.zeros(n, int), 0.0
    else:
        x = np.round(res.x).reshape(n, years).astype(bool)
        chosen = x.any(axis=1)
        year = np.where(chosen, x.argmax(axis=1) + 1, 0)
        objective = float((model.value[:, None] * weight[None, :] * x).sum())
    bound = -float(dual) if dual is not None and np.isfinite(dual) else float("inf")
    return _finish(model, chosen, year, budgets, method=method, objective=objective,
                   bound=max(bound, objective), status=status, carry_over=carry_over)


def milp_portfolio(
    projects: pd.DataFrame,
    *,
    budget: float | Sequence[float],
    years: int = 1,
    time_limit: float = 60,
    carry_over: bool = False,
    year_discount: float = 0.031,
) -> Portfolio:
    """The same model handed whole to ``scipy.optimize.milp`` (baseline for benchmarks)."""
    started = time.perf_counter()
    budgets = budget_by_year(budget, years)
    portfolio = _solve_time_indexed(_model(projects), budgets, time_limit=time_limit, carry_over=carry_over,
                                    year_discount=year_discount if len(budgets) > 1 else 0.0,
                                    method="milp (HiGHS, whole model)")
    portfolio.seconds = time.perf_counter() - started
    return portfolio


def greedy_portfolio(projects: pd.DataFrame, *, budget: float) -> Portfolio:
    """Take projects by risk reduction per dollar while they fit and their links allow (baseline).

    Repeats the pass until nothing more can be added, so a project skipped for a missing
    prerequisite is reconsidered once the prerequisite is in. No optimality claim: ``gap`` is NaN.
    """
    started = time.perf_counter()
    budgets = budget_by_year(budget, 1)
    model = _model(projects)
    n = len(model.ids)
    ratio = np.where(model.cost > 0, model.value / np.maximum(model.cost, _EPS), np.inf)
    order = np.lexsort((model.cost, -ratio))
    conflicts: list[list[int]] = [[] for _ in range(n)]
    for clique in model.cliques:
        for p in clique:
            conflicts[p].extend(int(q) for q in clique if q != p)
    needs: list[list[np.ndarray]] = [[] for _ in range(n)]
    for p, group in model.requires:
        needs[p].append(group)
    chosen = np.zeros(n, dtype=bool)
    spent = 0.0
    changed = True
    while changed:
        changed = False
        for p in order:
            if chosen[p] or model.value[p] <= 0 or spent + model.cost[p] > budgets[0] + _EPS:
                continue
            if any(chosen[q] for q in conflicts[p]) or not all(chosen[g].any() if len(g) else False for g in needs[p]):
                continue
            chosen[p] = True
            spent += model.cost[p]
            changed = True
    portfolio = _finish(model, chosen, np.where(chosen, 1, 0), budgets, method="greedy ratio",
                        objective=float(model.value[chosen].sum()), bound=float("nan"), status="heuristic")
    portfolio.gap = float("nan")
    portfolio.seconds = time.perf_counter() - started
    return portfolio


def check_portfolio(projects: pd.DataFrame, portfolio: Portfolio) -> list[str]:
    """Broken rules of a portfolio (budget per year, prerequisites, exclusions); empty when valid."""
    model = _model(projects)
    index = {p: i for i, p in enumerate(model.ids)}
    year = np.zeros(len(model.ids), dtype=int)
    for project, y in portfolio.year.items():
        year[index[project]] = y
    problems = []
    spent = 0.0
    for t, limit in enumerate(portfolio.budget, start=1):
        cost = float(model.cost[year == t].sum())
        spent += cost
        available = sum(portfolio.budget[:t]) if portfolio.carry_over else limit
        if (spent if portfolio.carry_over else cost) > available + 1e-6:
            problems.append(f"year {t} spends {cost:.2f} over its budget {limit:.2f}")
    for clique in model.cliques:
        if (year[clique] > 0).sum() > 1:
            problems.append(f"exclusive projects chosen together: {', '.join(model.ids[clique][year[clique] > 0])}")
    for p, group in model.requires:
        if year[p] and not any(0 < year[q] <= year[p] for q in group):
            problems.append(f"{model.ids[p]} chosen without its prerequisite")
    return problems


def synthetic_projects(n_projects: int, *, seed: int = 0) -> pd.DataFrame:
    """Generated projects with a district's structure, for benchmarks and property tests.

    Buildings get 5-15 projects; about a third of the measures have two exclusive options (BDA vs
    DAS), a third require an earlier measure of their building (tier 2 after tier 1), and some
    options also close a later measure and exclude its project (wireless locks vs remote lockdown).
    Costs span $300-$150,000; risk reduction grows sub-linearly with cost, with noise.
    """
    rng = np.random.default_rng(seed)
    rows: list[dict[str, object]] = []
    b = 0
    while len(rows) < n_projects:
        bid = f"B{b:05d}"
        b += 1
        scale = rng.uniform(20, 400)  # consequence x threat x vulnerability span of the building
        k = int(rng.integers(5, 16))
        groups: list[str] = []
        for m in range(k):
            if len(rows) >= n_projects:
                break
            group = f"{bid}:m{m}"
            reqs = [groups[int(rng.integers(len(groups)))]] if groups and rng.random() < 0.33 else []
            n_opt = 2 if rng.random() < 0.33 and len(rows) + 1 < n_projects else 1
            base = float(np.exp(rng.uniform(np.log(300), np.log(150_000))))
            weight = rng.uniform(0.5, 3.0)
            for o in range(n_opt):
                cost = round(base * (1.0 if o == 0 else rng.uniform(1.3, 3.0)), 2)
                value = scale * weight * (cost / 10_000) ** 0.6 * rng.lognormal(0, 0.4) / 10
                rows.append({"project_id": f"{group}:o{o}", "building_id": bid, "choice_group": group,
                             "cost": cost, "risk_reduction": round(value, 4), "requires": list(reqs),
                             "excludes": []})
            groups.append(group)
        # an option that also closes a later measure excludes that measure's projects
        ids = [r for r in rows if r["building_id"] == bid]
        if len(groups) > 2 and rng.random() < 0.3:
            first, later = groups[0], groups[int(rng.integers(1, len(groups)))]
            for r in ids:
                if r["choice_group"] == first and str(r["project_id"]).endswith("o1"):
                    r["excludes"] = [str(q["project_id"]) for q in ids if q["choice_group"] == later]
    return pd.DataFrame(rows)
