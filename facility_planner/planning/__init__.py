"""Retrofit planning: cost catalog, risk per building, projects from gaps, budget portfolio."""

from __future__ import annotations

import pandas as pd

from facility_planner.planning.catalog import (
    CostCatalog,
    CostOption,
    Grant,
    cost_override,
    cost_table,
    load_catalog,
)
from facility_planner.planning.optimise import (
    Portfolio,
    budget_by_year,
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
from facility_planner.planning.risk import (
    RiskConfig,
    building_risk,
    load_risk_config,
    risk_override,
    risk_table,
)


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
    "assumptions_frame", "budget_by_year", "build_projects", "building_risk", "check_portfolio",
    "cost_override", "cost_table", "data_needed", "gaps_table", "greedy_portfolio", "load_catalog",
    "load_risk_config", "milp_portfolio", "optimise_portfolio", "rank_projects", "risk_override",
    "risk_table",
]
