"""The users' words for the app's tables: column titles, units and precision (exports keep raw names)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

#: Column -> title people read. Columns not listed get their name with spaces.
TITLES: dict[str, str] = {
    "building_id": "Building", "site_id": "Site", "name": "Name", "building_name": "Building name",
    "site_name": "Site name", "building_number": "Posted number", "year_built": "Year built",
    "floors": "Floors", "gross_area": "Gross area (m²)", "occupancy": "Occupancy (people)",
    "use": "Use", "lon": "Longitude", "lat": "Latitude", "status": "Status", "pack": "Rules pack",
    "measure": "Measure", "group": "Group", "rule_id": "Rule", "title": "Title",
    "value": "Found", "threshold": "Needed", "evidence": "Evidence", "source": "Source",
    "score": "Score (0-100)", "measure_score": "Score (0-100)", "consequence": "Consequence (1-10)",
    "threat_level": "Threat level", "threat": "Threat (1-10)", "rules": "Rules", "met": "Met",
    "partial": "Partly met", "unmet": "Not met", "unknown": "Unknown (data needed)",
    "not_applicable": "Not applicable", "weight_total": "Weight of all rules",
    "weight_short": "Weight falling short", "shortfall": "Shortfall (share)",
    "vulnerability": "Vulnerability (1-10)", "risk": "Risk (points)", "project_id": "Project",
    "option": "Option", "quantity": "Quantity", "unit": "Unit", "cost": "Cost (typical)",
    "cost_low": "Cost (low)", "cost_high": "Cost (high)", "life_cycle_cost": "Life-cycle cost",
    "annual_upkeep": "Yearly upkeep", "risk_reduction": "Risk removed (points)", "ratio": "Risk removed per $1,000",
    "rank": "Rank", "selected": "Chosen", "in_budget": "In budget", "year": "Year",
    "cumulative_cost": "Cumulative cost", "grants": "Grants", "local_match": "Local match",
    "requires": "Needs first", "closes": "Closes", "budget": "Budget", "spend": "Spend",
    "projects": "Projects", "item": "Item", "parameter": "Parameter", "area": "Area",
    "readiness": "Readiness", "buildings": "Buildings", "severity": "Severity", "file": "File",
    "sheet": "Sheet", "row": "Row", "column": "Column", "message": "Problem", "source_row": "Row",
    "reason": "Why it was not used", "yaml_key": "risk.yaml key", "plan": "In the plan", "layer": "Layer", "component": "Component", "tier": "Tier",
}
#: Coverage and share columns (percent) by name pattern.
_PERCENT = re.compile(r"(_pct|_coverage|_share)$")
_MONEY = {"cost", "cost_low", "cost_high", "life_cycle_cost", "annual_upkeep", "cumulative_cost", "local_match",
          "budget", "spend", "annual_cost"}
_COVERAGE_WORDS = {"camera": "Camera", "radio": "Radio", "aed": "AED", "kit": "Bleeding-control kit"}
STATUS_WORDS = {"met": "met", "partial": "partly met", "unmet": "not met", "unknown": "unknown (data needed)",
                "not_applicable": "not applicable"}


def title(column: str, measures: Mapping[str, str] | None = None) -> str:
    """The words for a column: a measure code with its title, a coverage metric with its unit."""
    if measures and column in measures:
        return f"{column} {measures[column]}"
    if column in TITLES:
        return TITLES[column]
    match = re.fullmatch(r"(M\d|A\d|C\d)_met_pct", column)
    if match:
        code = match.group(1)
        return f"{code} {measures[code]}: met (% of buildings)" if measures and code in measures else f"{code} met (%)"
    text = column
    unknown = text.endswith("_unknown")
    text = text.removesuffix("_unknown")
    if _PERCENT.search(text):
        words = text.replace("_", " ")
        for key, word in _COVERAGE_WORDS.items():
            words = re.sub(rf"^{key}\b", word, words)
        words = words.replace(" pct", "").replace(" coverage", " covered")
        return f"{words[0].upper()}{words[1:]} ({'% unknown' if unknown else '%'})"
    words = text.replace("_", " ")
    if text.startswith("pass_"):
        words = "PASS " + words.removeprefix("pass ") + " tier"
    return words[0].upper() + words[1:] + (" (unknown)" if unknown else "")


def _config(column: str, series: pd.Series) -> Any:
    import streamlit as st

    label = None
    if column in _MONEY:
        return st.column_config.NumberColumn(label, format="dollar")
    if column in ("lon", "lat"):
        return st.column_config.NumberColumn(label, format="%.6f")
    if column == "ratio":
        return st.column_config.NumberColumn(label, format="%.2f")
    if column in ("year_built", "year", "rank", "source_row", "row"):
        return st.column_config.NumberColumn(label, format="%d")
    if pd.api.types.is_float_dtype(series.dtype):
        return st.column_config.NumberColumn(label, format="%.1f")
    if pd.api.types.is_integer_dtype(series.dtype):
        return st.column_config.NumberColumn(label, format="localized")
    return None


def for_people(frame: pd.DataFrame, *, measures: Mapping[str, str] | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The frame with columns titled in the users' words, statuses in words, lists joined, blanks
    shown blank (never "None"), and the column formats (units, precision) for ``st.dataframe``."""
    columns: dict[str, pd.Series] = {}
    config: dict[str, Any] = {}
    titles: dict[str, str] = {}
    for col in frame.columns:
        name = str(col)
        head = title(name, measures)
        while head in titles.values():
            head += " "
        titles[name] = head
        series = frame[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
            series = series.map(_cell).astype("string")
            if name == "status" or (measures and name in measures):
                series = series.map(lambda s: STATUS_WORDS.get(s, s) if isinstance(s, str) else s).astype("string")
        elif pd.api.types.is_bool_dtype(series.dtype):
            series = series.map(lambda v: "yes" if v is True else "no" if v is False else None).astype("string")
        columns[head] = series
        cfg = _config(name, series)
        if cfg is not None:
            config[head] = cfg
    return pd.DataFrame(columns, index=frame.index), config


def _cell(value: Any) -> str | None:
    if isinstance(value, (list, tuple, set)):
        return "; ".join(map(str, value))
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def money(value: float) -> str:
    """Dollars with thousands separators, no cents."""
    return f"${value:,.0f}"


def parse_money(text: str) -> float:
    """``"$250,000"``, ``"250000"``, ``"250k"`` or ``"1.5m"`` -> dollars; ``ValueError`` with a sentence."""
    cleaned = str(text).strip().lower().replace(",", "").replace("$", "").replace(" ", "").removesuffix("usd")
    factor = 1.0
    if cleaned.endswith(("k", "m")):
        factor = 1_000.0 if cleaned[-1] == "k" else 1_000_000.0
        cleaned = cleaned[:-1]
    try:
        value = float(cleaned) * factor
    except ValueError:
        raise ValueError(f'"{text}" is not an amount of dollars; write it like 250,000.') from None
    if not value >= 0 or value == float("inf"):
        raise ValueError(f'"{text}": the budget must be at least $0.')
    return value
