"""The assessment pipeline: district -> facts -> coverage -> scores -> risk -> projects -> portfolio.

``assess`` is pure (no I/O) and is what the CLI, the app and the benchmarks call; ``write_outputs``
is the edge that writes ``assessment.xlsx``, ``coverage.gpkg``, ``map.html``, ``projects.csv`` and
``summary.json``. ``summary_dict`` builds the ``summary.json`` contract (see README).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
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
    gaps_table,
    load_catalog,
    load_risk_config,
    optimise_portfolio,
)
from facility_planner.rules import RulesPack, default_packs, load_pack
from facility_planner.scoring import Scores, score

SUMMARY_VERSION = 1
Progress = Callable[[str, float], None]

#: Coverage figures reported per building in summary.json (percent).
COVERAGE_METRICS = ("camera_entrance_coverage", "camera_perimeter_coverage", "camera_outdoor_coverage",
                    "radio_area_coverage", "radio_critical_coverage", "aed_reach_coverage",
                    "kit_reach_coverage")


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
    risk = building_risk(scores.results, district, config=settings.risk)
    projects = stage("projects", 4, lambda: build_projects(scores.results, district, catalog=settings.catalog,
                                                           risk_config=settings.risk))
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


def replan(assessment: Assessment, *, budget: float | Sequence[float] | None, years: int = 1,
           catalog: CostCatalog | None = None, risk: RiskConfig | None = None) -> Assessment:
    """Re-cost and re-optimise with a new budget, catalog or risk weights, keeping the scores."""
    settings = AssessmentSettings(packs=assessment.settings.packs, edition=assessment.settings.edition,
                                  catalog=catalog or assessment.settings.catalog,
                                  risk=risk or assessment.settings.risk,
                                  coverage=assessment.settings.coverage)
    budgets = None if budget is None else budget_by_year(budget, years)
    timings = dict(assessment.timings)
    started = time.perf_counter()
    district, results = assessment.district, assessment.scores.results
    risk_frame = building_risk(results, district, config=settings.risk)
    projects = build_projects(results, district, catalog=settings.catalog, risk_config=settings.risk)
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


def _plain(value: Any) -> Any:
    """JSON-ready: NaN/NA -> None, numpy scalars -> Python, lists kept."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else round(float(value), 4)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp, date)):
        return value.isoformat()[:10]
    return value


def buildings_scorecard(assessment: Assessment) -> pd.DataFrame:
    """One row per building: identity, measure statuses, score, PASS tiers, coverage and risk."""
    district, scores = assessment.district, assessment.scores
    b = district.buildings[["building_id", "site_id", "name", "building_number", "occupancy"]].copy()
    b = b.rename(columns={"name": "building_name"})
    names = district.sites.set_index("site_id")["name"]
    b.insert(2, "site_name", b["site_id"].map(names))
    b = b.set_index("building_id")
    measures = scores.minimum_measures.add_prefix("")
    b = b.join(scores.measure_scores[["score"]].rename(columns={"score": "measure_score"}))
    b = b.join(measures)
    b["pass_overall_tier"] = scores.pass_overall
    b = b.join(scores.pass_layer_tiers.add_prefix("pass_"))
    cov = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame(index=b.index)
    b = b.join(cov[[c for c in COVERAGE_METRICS if c in cov]])
    b = b.join(assessment.risk[[c for c in ("consequence", "threat", "vulnerability", "risk") if c in assessment.risk]])
    return b.reset_index()


def summary_dict(assessment: Assessment) -> dict[str, Any]:
    """The ``summary.json`` document (contract in DESIGN.md; documented in the README)."""
    scores = assessment.scores
    cov = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame()
    risk = assessment.risk
    buildings = []
    for record in scores.building_summaries():
        bid = record["building_id"]
        record["coverage"] = {m: _plain(cov.at[bid, m]) for m in COVERAGE_METRICS if m in cov and bid in cov.index}
        if bid in risk.index:
            record["risk"] = _plain(risk.at[bid, "risk"])
            record["risk_factors"] = {k: _plain(risk.at[bid, k]) for k in
                                      ("occupancy", "consequence", "threat_level", "threat", "vulnerability")
                                      if k in risk}
        buildings.append(_plain(record))

    projects = assessment.projects
    project_records = []
    for row in projects.to_dict("records"):
        project_records.append(_plain({
            "project_id": row["project_id"], "building_id": row["building_id"], "site_id": row.get("site_id"),
            "measures": row.get("closes") or [row["measure"]], "option": row.get("option"),
            "title": row.get("title"), "quantity": row.get("quantity"), "unit": row.get("unit"),
            "cost": row["cost"], "cost_low": row.get("cost_low"), "cost_high": row.get("cost_high"),
            "life_cycle_cost": row.get("life_cycle_cost"), "risk_reduction": row["risk_reduction"],
            "rank": row.get("rank"), "selected": bool(row.get("selected", False)),
            "year": row.get("year"), "requires": row.get("requires"), "grants": row.get("grants"),
            "local_match": row.get("local_match"),
        }))
    if assessment.portfolio is not None:
        budget = _plain(assessment.portfolio.as_dict())
    else:
        budget = {"limit": None, "selected_cost": 0.0, "risk_reduction": 0.0, "method": "none: no budget given",
                  "gap": None}
    report = assessment.report
    rejected = report.rejected_frame()
    return {
        "version": SUMMARY_VERSION,
        "as_of": assessment.as_of.isoformat(),
        "crs": assessment.district.crs,
        "output_crs": OUTPUT_CRS,
        "measured_in": "a transverse Mercator centred on each group of nearby campuses (geo.local)",
        "pass_edition": assessment.settings.edition,
        "district": _plain(scores.district_rollup.iloc[0].to_dict()) if len(scores.district_rollup) else {},
        "sites": _plain(scores.site_rollup.reset_index().to_dict("records")),
        "buildings": buildings,
        "projects": project_records,
        "budget": budget,
        "data_needed": _plain(assessment.data_needed.to_dict("records")),
        "validation": {
            "errors": [p.as_dict() for p in report.errors],
            "warnings": [p.as_dict() for p in report.warnings],
            "rejected_rows": _plain(rejected.astype(object).where(rejected.notna(), None).to_dict("records")),
        },
        "timings_s": _plain(assessment.timings),
    }


#: CRS of the outputs that hold many campuses (coverage.gpkg), unless the user names one.
OUTPUT_CRS = "EPSG:4326"


def write_outputs(assessment: Assessment, out_dir: Path, *, crs: str | None = None) -> dict[str, Path]:
    """Write every export of an assessment into ``out_dir`` (created if needed).

    ``coverage.gpkg`` is written in ``crs`` (default ``OUTPUT_CRS``, EPSG:4326); the map is
    always in longitude/latitude."""
    from facility_planner.geo import coverage_layers_for_export
    from facility_planner.io.exports import (
        write_assessment_workbook,
        write_geopackage,
        write_projects_csv,
    )
    from facility_planner.mapping import build_map, map_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("assessment.xlsx", "coverage.gpkg", "map.html",
                                                 "projects.csv", "summary.json")}
    summary = summary_dict(assessment)
    write_assessment_workbook(
        paths["assessment.xlsx"], summary=workbook_summary(assessment),
        buildings=buildings_scorecard(assessment), projects=assessment.projects,
        gaps=gaps_table(assessment.scores.results, assessment.projects),
        assumptions=assessment.assumptions, validation=assessment.report.to_frame(),
        rejected=assessment.report.rejected_frame())
    write_projects_csv(paths["projects.csv"], assessment.projects)
    if paths["coverage.gpkg"].exists():
        paths["coverage.gpkg"].unlink()
    write_geopackage(paths["coverage.gpkg"], {
        name: layer.to_crs(crs or OUTPUT_CRS) if layer.crs is not None else layer
        for name, layer in coverage_layers_for_export(assessment.coverage).items()})
    paths["map.html"].write_text(map_html(build_map(assessment.district, coverage=assessment.coverage,
                                                    scores=assessment.scores)), encoding="utf-8")
    paths["summary.json"].write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    return paths


def workbook_summary(assessment: Assessment) -> dict[str, Any]:
    """Key figures for the workbook's Summary sheet."""
    p = assessment.portfolio
    projects = assessment.projects
    figures: dict[str, Any] = {
        "Assessment date": assessment.as_of.isoformat(),
        "Sites": len(assessment.district.sites),
        "Buildings": len(assessment.district.buildings),
        "Projects": len(projects),
        "Cost of all projects (typical)": float(projects["cost"].sum()) if len(projects) else 0.0,
        "Risk reduction of all projects (alternatives counted once each)":
            round(float(projects["risk_reduction"].sum()), 1) if len(projects) else 0.0,
    }
    if p is not None:
        figures.update({
            "Budget": sum(p.budget), "Years": len(p.budget), "Projects chosen": len(p.selected),
            "Cost of chosen projects": p.total_cost,
            "Risk removed by chosen projects": round(p.total_risk_reduction, 1),
            "Method": p.method, "Optimality gap": "n/a" if p.gap is None else f"{p.gap:.4%}",
        })
    figures["Validation errors"] = len(assessment.report.errors)
    figures["Rows that could not be used"] = assessment.report.rejected_count
    return figures
