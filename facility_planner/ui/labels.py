"""The users' words for the app's tables: column titles, units and precision (exports keep raw names)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from facility_planner.io.exports import gap_text

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
    "reason": "Why it was not used", "yaml_key": "risk.yaml key", "plan": "In the plan", "layer": "Layer",
    "component": "Component", "tier": "Tier", "email": "E-mail", "role": "Role", "districts": "Districts",
    "at": "When", "user": "Who", "action": "Action", "target": "What", "before": "Before", "after": "After",
    "district": "District",
}
#: Coverage and share columns (percent) by name pattern.
_PERCENT = re.compile(r"(_pct|_coverage|_share)$")
_MONEY = {"cost", "cost_low", "cost_high", "life_cycle_cost", "annual_upkeep", "cumulative_cost", "local_match",
          "budget", "spend", "annual_cost"}
#: Whole quantities people read without decimals (thousands separated; a fraction still shows).
_COUNTS = {"occupancy", "gross_area", "quantity", "floors", "enrollment", "staff", "rules", "met", "partial",
           "unmet", "unknown", "not_applicable", "projects", "buildings"}
_COVERAGE_WORDS = {"camera": "Camera", "radio": "Radio", "aed": "AED", "kit": "Bleeding-control kit"}
#: A building's coverage figures (``Coverage.facts``): words and unit. Percent of the whole unless
#: the unit says otherwise (a count, or yes/no).
COVERAGE_FIGURES: dict[str, tuple[str, str]] = {
    "camera_entrance_coverage": ("Exterior doors a camera sees well enough to recognize a person", "%"),
    "camera_entrance_coverage_unknown": ("Exterior doors not located on the map, so not judged", "doors"),
    "camera_perimeter_coverage": ("Building perimeter inside an exterior camera's view", "%"),
    "camera_outdoor_coverage": ("Parking and outdoor area of the site inside a camera's view", "%"),
    "corridor_camera_coverage": ("Corridor area inside an interior camera's view", "%"),
    "cameras_not_drawn": ("Cameras that draw no view (no location or heading)", "cameras"),
    "radio_area_coverage": ("Floor area with responder radio signal", "%"),
    "radio_critical_coverage": ("Critical areas with responder radio signal", "%"),
    "radio_outdoor_coverage": ("Floor area the outdoor radio signal alone reaches", "%"),
    "radio_needed": ("A radio repeater is needed", "yes/no"),
    "aed_reach_coverage": ("Floor area within walking reach of an AED in service", "%"),
    "kit_reach_coverage": ("Floor area within walking reach of a stop-the-bleed kit", "%"),
    "kit_place_coverage": ("Recommended places (gym, auditorium, office, library) holding a kit", "%"),
}
STATUS_WORDS = {"met": "met", "partial": "partly met", "unmet": "not met", "unknown": "unknown (data needed)",
                "not_applicable": "not applicable"}


def title(column: str, measures: Mapping[str, str] | None = None) -> str:
    """The words for a column: a measure code with its title, a coverage metric with its unit."""
    if measures and column in measures:
        return f"{column} {measures[column]}"
    if column in TITLES:
        return TITLES[column]
    if column in COVERAGE_FIGURES:
        words, unit = COVERAGE_FIGURES[column]
        return f"{words} ({unit})"
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


def coverage_text(column: str, value: Any) -> str:
    """A coverage figure as people read it: ``33.3 %``, ``2 doors``, ``yes``; blank is unknown."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        return "unknown (data needed)"
    unit = COVERAGE_FIGURES.get(column, ("", "%"))[1]
    if unit == "%":
        return f"{number:.1f} %"
    if unit == "yes/no":
        return "yes" if number else "no"
    return f"{number:,.0f} {unit}"


def words(value: Any) -> Any:
    """An identifier in words (``classroom_locks`` -> "Classroom locks"); anything else unchanged."""
    if not isinstance(value, str) or not value:
        return value
    text = value.replace("_", " ")
    return text[0].upper() + text[1:]


def _config(column: str, series: pd.Series) -> Any:
    import streamlit as st

    label = None
    if column in _MONEY:
        return st.column_config.NumberColumn(label, format="$%,d")  # whole dollars (rounded in for_people)
    if column in _COUNTS:
        return st.column_config.NumberColumn(label, format="localized")
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
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            series = series.dt.strftime("%Y-%m-%d").astype("string").fillna("")
        elif series.dtype == object or pd.api.types.is_string_dtype(series) or isinstance(series.dtype, pd.CategoricalDtype):
            series = series.map(_cell).astype("string")
            if name == "status" or (measures and name in measures):
                series = series.map(lambda s: STATUS_WORDS.get(s, s) if isinstance(s, str) else s).astype("string")
            series = series.fillna("")  # a blank shows blank (Streamlit would write "None")
        elif pd.api.types.is_bool_dtype(series.dtype):
            series = series.map(lambda v: "yes" if v is True else "no" if v is False else None).astype("string")
        elif pd.api.types.is_numeric_dtype(series.dtype) and series.isna().any():
            series = _numbers_as_text(name, series)  # Streamlit writes "None" for a missing number
        elif name in _MONEY and pd.api.types.is_numeric_dtype(series.dtype):
            series = pd.to_numeric(series, errors="coerce").round(0)
        columns[head] = series
        cfg = _config(name, series)
        if cfg is not None:
            config[head] = cfg
    return pd.DataFrame(columns, index=frame.index), config


def _numbers_as_text(column: str, series: pd.Series) -> pd.Series:
    """A number column with blanks as text in the column's own format (blank where missing)."""
    if column in _MONEY:
        pattern = "${:,.0f}"
    elif column in ("lon", "lat"):
        pattern = "{:.6f}"
    elif column in _COUNTS or column in ("year_built", "year", "rank", "source_row", "row") \
            or pd.api.types.is_integer_dtype(series.dtype):
        pattern = "{:,.0f}"
    else:
        pattern = "{:,.1f}"
    return series.map(lambda v: "" if pd.isna(v) else pattern.format(float(v))).astype("string")


def one_row(frame: pd.DataFrame, *, measures: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The first row of ``frame`` as a list people read down: one figure per line, in words."""
    if not len(frame):
        return pd.DataFrame(columns=["figure", "result"])
    row = frame.iloc[0]
    return pd.DataFrame({"figure": [title(str(c), measures) for c in frame.columns],
                         "result": [figure_text(str(c), v, measures) for c, v in row.items()]})


def figure_text(column: str, value: Any, measures: Mapping[str, str] | None = None) -> str:
    """One figure as text: a status in words, a count whole, a share or score to one decimal."""
    if isinstance(value, str):
        return STATUS_WORDS.get(value, value) if column == "status" or (measures and column in measures) else value
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    if pd.isna(number):
        return "unknown (data needed)" if (measures and column in measures) else (_cell(value) or "")
    if column in _MONEY:
        return money(float(number))
    return f"{number:,.0f}" if float(number).is_integer() and "%" not in title(column, measures) else f"{number:,.1f}"


def _cell(value: Any) -> str | None:
    if isinstance(value, (list, tuple, set)):
        return "; ".join(map(str, value))
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def plan_method(method: str, gap: float | None) -> str:
    """How the portfolio was chosen, in a sentence a finance reader can use."""
    if method.startswith("mckp-core"):
        how = "One budget year, at most one option per building and measure"
    elif method.startswith("schedule-core"):
        how = "Several budget years, each project scheduled in at most one year"
    else:
        how = "Projects chosen"
    if gap is not None and math.isfinite(gap) and gap <= 1e-9:
        return f"{how}: the best set the budget allows (proven optimal)."
    return f"{how}: within {gap_text(gap)} of the best set the budget allows."


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
