"""The assessment pipeline: district -> facts -> coverage -> scores -> risk -> projects -> portfolio.

``assess`` is pure (no I/O) and is what the CLI, the app and the benchmarks call; ``write_outputs``
is the edge that writes ``assessment.xlsx``, ``coverage.gpkg``, ``map.html``, ``projects.csv`` and
``summary.json``. ``summary_dict`` builds the ``summary.json`` contract (see README).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from facility_planner.facts import building_facts, site_facts
from facility_planner.geo import CoverageConfig, compute_coverage, load_coverage_config
from facility_planner.model import District, FactTable, ValidationReport
from facility_planner.planning import (
    CostCatalog,
    Portfolio,
    RiskConfig,
    assumptions_frame,
    budget_by_year,
    build_projects,
    building_risk,
    data_needed,
    load_catalog,
    load_risk_config,
    optimise_portfolio,
)
from facility_planner.rules import RulesPack, default_packs, load_pack
from facility_planner.scoring import Scores, score

Progress = Callable[[str, float], None]
#: The columns a chosen plan adds to the projects (``Portfolio.annotate``); a new plan replaces them.
PLAN_COLUMNS = ("selected", "in_budget", "year", "cumulative_cost")


@dataclass
class AssessmentSettings:
    """The policy an assessment applies: rules packs, PASS edition, costs, risk and coverage parameters."""

    packs: list[RulesPack]
    edition: int
    catalog: CostCatalog
    risk: RiskConfig
    coverage: CoverageConfig


def load_settings(
    rules: Sequence[str | Path] | None = None,
    *,
    costs: str | Path | None = None,
    coverage: str | Path | None = None,
    risk: str | Path | None = None,
    edition: int = 7,
) -> AssessmentSettings:
    """Load the shipped packs and catalogs, or a district's own files in their place.

    Parameters
    ----------
    rules
        Rules pack files; default the three shipped packs (COPS, PASS, Ten Actions).
    costs, risk
        A district's cost catalog / risk parameters: their items override the shipped ones.
    coverage
        Coverage parameters YAML; default the shipped ``geo/coverage.yaml``.
    edition
        PASS edition whose layer set is used (6 or 7).
    """
    packs = [load_pack(p, edition=edition) for p in rules] if rules else default_packs(edition)
    return AssessmentSettings(
        packs=packs, edition=edition,
        catalog=load_catalog(costs) if costs else load_catalog(),
        risk=load_risk_config(risk) if risk else load_risk_config(),
        coverage=load_coverage_config(coverage),
    )


@dataclass
class Assessment:
    """Everything one run measured and decided, for the app, the exports and summary.json."""

    district: District
    report: ValidationReport
    settings: AssessmentSettings
    as_of: date
    facts: FactTable
    site_facts: FactTable
    coverage: Any
    scores: Scores
    risk: pd.DataFrame
    projects: pd.DataFrame
    data_needed: pd.DataFrame
    portfolio: Portfolio | None
    budget: list[float] | None
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def assumptions(self) -> pd.DataFrame:
        """Every unit cost, weight and parameter the results rest on, with its source."""
        run = {"as_of": self.as_of.isoformat(), "pass_edition": self.settings.edition,
               "rules_packs": ", ".join(f"{p.id}" for p in self.settings.packs)}
        if self.budget is not None:
            run.update(budget_by_year=", ".join(f"{b:,.0f}" for b in self.budget), years=len(self.budget))
        frame = assumptions_frame(self.settings.catalog, risk_config=self.settings.risk, parameters=run)
        cov = self.coverage.assumptions() if self.coverage is not None else pd.DataFrame()
        if len(cov):
            cov = cov.assign(area="coverage")
        return pd.concat([frame, cov], ignore_index=True)


def assess(
    district: District,
    report: ValidationReport | None = None,
    *,
    settings: AssessmentSettings | None = None,
    budget: float | Sequence[float] | None = None,
    years: int = 1,
    as_of: date | None = None,
    progress: Progress | None = None,
    measured: Any = None,
) -> Assessment:
    """Run every stage on a district and return the whole result.

    Parameters
    ----------
    district
        The district (``io.load.load_district`` or ``model.make_district``).
    report
        The validation report from loading (carried into the exports).
    settings
        Packs and catalogs (``load_settings()`` by default).
    budget
        Dollars per year (one figure, or one per year); without it projects are ranked but no
        portfolio is chosen.
    years
        Years to phase the plan over.
    as_of
        Assessment date (review ages, expiry); default today.
    progress
        Called as ``progress(stage, fraction_done)`` (the app's progress bar).
    measured
        Coverage already measured (chunk by chunk on workers, ``facility_planner.pipeline``).
    """
    settings = settings or load_settings()
    as_of = as_of or date.today()
    report = report or ValidationReport()
    budgets = None if budget is None else budget_by_year(budget, years)
    timings: dict[str, float] = {}
    stages = 6

    def stage(name: str, index: int, func: Callable[[], Any]) -> Any:
        if progress:
            progress(name, index / stages)
        started = time.perf_counter()
        result = func()
        timings[name] = time.perf_counter() - started
        return result

    facts = stage("facts", 0, lambda: building_facts(district, as_of=as_of))
    sfacts = stage("site facts", 1, lambda: site_facts(district, as_of=as_of))
    coverage = measured if measured is not None else stage(
        "coverage", 2, lambda: compute_coverage(district, config=settings.coverage, as_of=as_of))
    all_facts = facts.join(coverage.facts)
    scores = stage("scoring", 3, lambda: score(district, all_facts, settings.packs, site_facts=sfacts, as_of=as_of))

    def risk_and_projects() -> tuple[pd.DataFrame, pd.DataFrame]:
        risk = building_risk(scores.results, district, config=settings.risk)
        return risk, build_projects(scores.results, district, catalog=settings.catalog, risk_config=settings.risk,
                                    units=_units(coverage), risk=risk)

    risk, projects = stage("projects", 4, risk_and_projects)
    portfolio = None
    if budgets is not None:
        portfolio = stage("portfolio", 5, lambda: optimise_portfolio(
            projects, budget=budgets, years=len(budgets), year_discount=settings.risk.year_discount))
        projects = portfolio.annotate(projects)
    if progress:
        progress("done", 1.0)
    return Assessment(district=district, report=report, settings=settings, as_of=as_of, facts=facts,
                      site_facts=sfacts, coverage=coverage, scores=scores, risk=risk, projects=projects,
                      data_needed=data_needed(scores.results), portfolio=portfolio, budget=budgets,
                      timings=timings)


def _units(coverage: Any) -> pd.DataFrame | None:
    """The ``units_needed`` layer of a coverage (None when it was measured without one)."""
    layers = getattr(coverage, "layers", None) or {}
    units: pd.DataFrame | None = layers.get("units_needed")
    return units


def replan(assessment: Assessment, *, budget: float | Sequence[float] | None, years: int = 1,
           catalog: CostCatalog | None = None, risk: RiskConfig | None = None) -> Assessment:
    """Re-cost and re-optimise with a new budget, catalog or risk weights, keeping the scores.

    With neither a new ``catalog`` nor new ``risk`` weights (a budget or years change) the
    assessment's risks and projects are kept and only the optimiser runs again.
    """
    settings = AssessmentSettings(packs=assessment.settings.packs, edition=assessment.settings.edition,
                                  catalog=catalog or assessment.settings.catalog,
                                  risk=risk or assessment.settings.risk,
                                  coverage=assessment.settings.coverage)
    budgets = None if budget is None else budget_by_year(budget, years)
    timings = dict(assessment.timings)
    started = time.perf_counter()
    district, results = assessment.district, assessment.scores.results
    if catalog is None and risk is None:
        # the same costs and weights: risks and projects stand, only the plan is chosen again
        risk_frame = assessment.risk
        projects = assessment.projects.drop(columns=[c for c in PLAN_COLUMNS if c in assessment.projects])
    else:
        risk_frame = building_risk(results, district, config=settings.risk)
        projects = build_projects(results, district, catalog=settings.catalog, risk_config=settings.risk,
                                  units=_units(assessment.coverage), risk=risk_frame)
        timings["projects"] = time.perf_counter() - started
    portfolio = None
    if budgets is not None:
        started = time.perf_counter()
        portfolio = optimise_portfolio(projects, budget=budgets, years=len(budgets),
                                       year_discount=settings.risk.year_discount)
        projects = portfolio.annotate(projects)
        timings["portfolio"] = time.perf_counter() - started
    return Assessment(district=district, report=assessment.report, settings=settings,
                      as_of=assessment.as_of, facts=assessment.facts, site_facts=assessment.site_facts,
                      coverage=assessment.coverage, scores=assessment.scores, risk=risk_frame,
                      projects=projects, data_needed=assessment.data_needed, portfolio=portfolio,
                      budget=budgets, timings=timings)


# Output shaping lives in io/exports.py; these names stay importable from here.
from facility_planner.io.exports import (  # noqa: E402
    COVERAGE_METRICS,
    SUMMARY_VERSION,
    buildings_scorecard,
    summary_dict,
    workbook_summary,
    write_outputs,
)

__all__ = ["COVERAGE_METRICS", "SUMMARY_VERSION", "Assessment", "AssessmentSettings", "assess",
           "buildings_scorecard", "load_settings", "replan", "summary_dict", "workbook_summary",
           "write_outputs"]
