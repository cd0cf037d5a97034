"""Retrofit planning: cost catalog, risk per building, projects from gaps, budget portfolio."""

from __future__ import annotations

import pandas as pd

from facility_planner.planning.catalog import CostCatalog, CostOption, Grant, load_catalog
from facility_planner.planning.optimise import (
    Portfolio,
    check_portfolio,
    greedy_portfolio,
    milp_portfolio,
    optimise_portfolio,
)
from facility_planner.planning.projects import (
    PROJECT_COLUMNS,
    build_projects,
    data_needed,
    gaps_table,
    rank_projects,
)
from facility_planner.planning.risk import RiskConfig, building_risk, load_risk_config


def assumptions_frame(
    catalog: CostCatalog | None = None,
    *,
    risk_config: RiskConfig | None = None,
    parameters: dict[str, object] | None = None,
) -> pd.DataFrame:
    """Every unit cost, weight and parameter used by planning, with its source, in one frame.

    ``parameters`` adds run settings (budget, years, carry-over) as rows of area ``run``.
    """
    catalog = catalog or load_catalog()
    risk_config = risk_config or load_risk_config()
    frames = [catalog.assumptions(), risk_config.assumptions()]
    if parameters:
        frames.append(pd.DataFrame([{"area": "run", "item": key, "parameter": key, "value": value,
                                     "unit": "", "estimate": False, "source": "this run"}
                                    for key, value in parameters.items()]))
    return pd.concat(frames, ignore_index=True)


__all__ = [
    "PROJECT_COLUMNS", "CostCatalog", "CostOption", "Grant", "Portfolio", "RiskConfig",
    "assumptions_frame", "build_projects", "building_risk", "check_portfolio", "data_needed",
    "gaps_table", "greedy_portfolio", "load_catalog", "load_risk_config", "milp_portfolio",
    "optimise_portfolio", "rank_projects",
]
