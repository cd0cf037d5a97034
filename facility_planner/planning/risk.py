"""Risk per building, FEMA 426/452 style: consequence x threat x vulnerability, each 1-10.

- consequence: from the building's peak occupancy, by the bands in ``risk.yaml``;
- threat: from the site's ``threat_level`` (low / medium / high);
- vulnerability: ``minimum + (maximum - minimum) x shortfall`` where shortfall is the weighted share
  of the building's applicable rules that fall short (unmet 1, partial ``partial_share``, unknown
  ``unknown_share``, met 0), weights from the rules packs times an optional pack weight.

Because vulnerability is linear in the closed rules, the risk a project removes is additive over
the gaps it closes: ``consequence x threat x (maximum - minimum) x closed weight / total weight``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from facility_planner._yaml import config_name, merge, read_yaml, validated
from facility_planner.errors import ConfigError
from facility_planner.model import District

DEFAULT_RISK_PATH = Path(__file__).with_name("risk.yaml")
SHORT_STATUSES = ("unmet", "partial")


@dataclass(frozen=True)
class RiskConfig:
    """Parsed ``risk.yaml``: occupancy bands, threat levels, vulnerability shares and weights."""

    bands: tuple[tuple[float, float], ...]
    consequence_unknown: float
    threat_levels: dict[str, float]
    threat_unknown: float
    v_min: float
    v_max: float
    partial_share: float
    unknown_share: float
    pack_weights: dict[str, float]
    year_discount: float
    raw: dict[str, Any]

    def assumptions(self) -> pd.DataFrame:
        """Every factor, weight and parameter of the risk model with its source."""
        c, t, v, p = (self.raw.get(k, {}) for k in ("consequence", "threat", "vulnerability", "portfolio"))
        rows = []
        lower = 0.0
        for upper, score in self.bands:
            label = f"occupancy {lower:g}-{upper:g}" if np.isfinite(upper) else f"occupancy above {lower:g}"
            rows.append(("consequence", label, "score", score, "1-10", c.get("source", "")))
            lower = upper + 1 if np.isfinite(upper) else upper
        rows.append(("consequence", "occupancy unknown", "score", self.consequence_unknown, "1-10",
                     c.get("unknown_note", "")))
        for level, score in self.threat_levels.items():
            rows.append(("threat", f"threat_level {level}", "score", score, "1-10", t.get("source", "")))
        rows.append(("threat", "threat_level unknown", "score", self.threat_unknown, "1-10", t.get("unknown_note", "")))
        rows += [
            ("vulnerability", "scale", "minimum", self.v_min, "1-10", v.get("source", "")),
            ("vulnerability", "scale", "maximum", self.v_max, "1-10", v.get("source", "")),
            ("vulnerability", "partial rule", "share of a gap", self.partial_share, "0-1", v.get("source", "")),
            ("vulnerability", "unknown rule", "share of a gap", self.unknown_share, "0-1",
             v.get("unknown_share_note", "")),
        ]
        rows += [("vulnerability", f"pack {pack}", "weight multiplier", w, "x", v.get("pack_weights_note", ""))
                 for pack, w in self.pack_weights.items()]
        rows.append(("portfolio", "multi-year plans", "year_discount", self.year_discount, "per year",
                     p.get("year_discount_source", "")))
        frame = pd.DataFrame(rows, columns=["area", "item", "parameter", "value", "unit", "source"])
        frame.insert(5, "estimate", False)
        return frame


# --- the layout of risk.yaml, as pydantic models -------------------------------------------------

Score = Annotated[float, Field(ge=1, le=10)]
Share = Annotated[float, Field(ge=0, le=1)]


class _Layout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandLayout(_Layout):
    max_occupancy: Annotated[float, Field(ge=0)]
    score: Score


class ConsequenceLayout(_Layout):
    source: str = ""
    unknown: Score
    unknown_note: str = ""
    bands: list[BandLayout] = Field(min_length=1)


class ThreatLayout(_Layout):
    source: str = ""
    levels: dict[str, Score] = Field(min_length=1)
    unknown: Score
    unknown_note: str = ""


class VulnerabilityLayout(_Layout):
    source: str = ""
    minimum: Score
    maximum: Score
    partial_share: Share
    unknown_share: Share
    unknown_share_note: str = ""
    pack_weights: dict[str, Annotated[float, Field(ge=0)]] = Field(default_factory=dict)
    pack_weights_note: str = ""

    @model_validator(mode="after")
    def _scale(self) -> VulnerabilityLayout:
        if self.maximum <= self.minimum:
            raise ValueError(f"vulnerability maximum must exceed its minimum, got {self.minimum:g} "
                             f"and {self.maximum:g}")
        return self


class PortfolioLayout(_Layout):
    year_discount: Annotated[float, Field(ge=0)] = 0.0
    year_discount_source: str = ""


class RiskLayout(_Layout):
    """``risk.yaml``: consequence, threat and vulnerability scales, the multi-year discount."""

    version: int | str = 1
    consequence: ConsequenceLayout
    threat: ThreatLayout
    vulnerability: VulnerabilityLayout
    portfolio: PortfolioLayout = PortfolioLayout()


def load_risk_config(override: str | Path | Mapping[str, Any] | None = None) -> RiskConfig:
    """Load ``risk.yaml``, overridden field by field by a district's own file or mapping.

    Raises
    ------
    ConfigError
        Naming the file, the key (``vulnerability.unknown_share``) and the value expected.
    """
    what = config_name("Risk configuration", override)
    data = read_yaml(DEFAULT_RISK_PATH, what="Risk configuration")
    if override is not None:
        given = (override if isinstance(override, Mapping)
                 else read_yaml(override, what="Risk configuration") or {})
        if not isinstance(given, Mapping):
            raise ConfigError(f"{what}: expected a mapping of consequence, threat and vulnerability.")
        data = merge(data, given)
    layout = validated(RiskLayout, data, what=what)
    c, t, v = layout.consequence, layout.threat, layout.vulnerability
    return RiskConfig(
        bands=tuple(sorted((b.max_occupancy, b.score) for b in c.bands)),
        consequence_unknown=c.unknown, threat_levels=dict(t.levels), threat_unknown=t.unknown,
        v_min=v.minimum, v_max=v.maximum, partial_share=v.partial_share,
        unknown_share=v.unknown_share, pack_weights=dict(v.pack_weights),
        year_discount=layout.portfolio.year_discount, raw=data)


def rule_shortfall(results: pd.DataFrame, district: District, *, config: RiskConfig) -> pd.DataFrame:
    """Rule results per building with ``rule_weight`` and ``shortfall`` (share of a gap, 0-1).

    Site-wide rows (no ``building_id``) are repeated for every building of their site;
    ``not_applicable`` rows are dropped.
    """
    frame = results.loc[results["status"].astype("string") != "not_applicable"].copy()
    site_rows = frame["building_id"].isna()
    if site_rows.any():
        b = district.buildings[["building_id", "site_id"]].astype("string")
        spread = frame.loc[site_rows].drop(columns="building_id").merge(b, on="site_id", how="inner")
        frame = pd.concat([frame.loc[~site_rows], spread], ignore_index=True)
    status = frame["status"].astype("string")
    share = {"unmet": 1.0, "partial": config.partial_share, "unknown": config.unknown_share, "met": 0.0}
    frame["shortfall"] = status.map(share).astype("float64").fillna(0.0).to_numpy()
    weight = pd.to_numeric(frame["weight"], errors="coerce").fillna(1.0).clip(lower=0.0)
    packs = frame["pack"].astype("string").map(config.pack_weights).astype("float64").fillna(1.0)
    frame["rule_weight"] = (weight * packs).to_numpy(dtype=float)
    frame["building_id"] = frame["building_id"].astype("string")
    return frame.reset_index(drop=True)


def consequence_scores(occupancy: pd.Series, *, config: RiskConfig) -> pd.Series:
    """Consequence 1-10 from peak occupancy by the configured bands (unknown: configured default)."""
    occ = pd.to_numeric(occupancy, errors="coerce").to_numpy(dtype=float)
    uppers = np.array([b[0] for b in config.bands])
    scores = np.array([b[1] for b in config.bands])
    idx = np.clip(np.searchsorted(uppers, occ, side="left"), 0, len(scores) - 1)
    return pd.Series(np.where(np.isfinite(occ), scores[idx], config.consequence_unknown),
                     index=occupancy.index, dtype="float64")


def building_risk(
    results: pd.DataFrame,
    district: District,
    *,
    config: RiskConfig | None = None,
) -> pd.DataFrame:
    """Risk and every factor behind it, one row per building of the district.

    Parameters
    ----------
    results
        ``Scores.results``: long rule results (building_id, site_id, pack, status, weight, ...).
    district
        Supplies ``buildings.occupancy`` and ``sites.threat_level``.
    config
        Risk parameters; default ``risk.yaml``.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``building_id``: occupancy, consequence, threat_level, threat, rules, met,
        partial, unmet, unknown, weight_total, weight_short, shortfall, vulnerability, risk and
        ``risk_scale`` (risk removed per unit of closed rule weight).
    """
    config = config or load_risk_config()
    b = district.buildings
    out = pd.DataFrame({"building_id": b["building_id"].astype("string").to_numpy(),
                        "site_id": b["site_id"].astype("string").to_numpy(),
                        "occupancy": pd.to_numeric(b["occupancy"], errors="coerce").astype("float64").to_numpy()})
    out = out.set_index("building_id")
    out["consequence"] = consequence_scores(out["occupancy"], config=config)
    levels = out["site_id"].map(dict(zip(district.sites["site_id"].astype("string"),
                                         district.sites["threat_level"].astype("string"), strict=True)))
    out["threat_level"] = levels.astype("string")
    out["threat"] = levels.map(config.threat_levels).astype("float64").fillna(config.threat_unknown)

    rows = rule_shortfall(results, district, config=config)
    status = rows["status"].astype("string")
    counts = pd.crosstab(rows["building_id"], status).reindex(columns=["met", "partial", "unmet", "unknown"], fill_value=0)
    out = out.join(counts.rename_axis(columns=None))
    out[["met", "partial", "unmet", "unknown"]] = out[["met", "partial", "unmet", "unknown"]].fillna(0).astype(int)
    out["rules"] = out[["met", "partial", "unmet", "unknown"]].sum(axis=1)
    weighted = rows.assign(short=rows["rule_weight"] * rows["shortfall"]).groupby("building_id")[["rule_weight", "short"]].sum()
    out["weight_total"] = weighted["rule_weight"].reindex(out.index).fillna(0.0)
    out["weight_short"] = weighted["short"].reindex(out.index).fillna(0.0)
    out["shortfall"] = np.where(out["weight_total"] > 0, out["weight_short"] / out["weight_total"].where(out["weight_total"] > 0, 1.0), 0.0)
    span = config.v_max - config.v_min
    out["vulnerability"] = config.v_min + span * out["shortfall"]
    out["risk"] = out["consequence"] * out["threat"] * out["vulnerability"]
    out["risk_scale"] = np.where(out["weight_total"] > 0, out["consequence"] * out["threat"] * span
                                 / out["weight_total"].where(out["weight_total"] > 0, 1.0), 0.0)
    return out


# --- the risk model as an editable table (the app's "Risk weights" editor) ------------------------

#: Columns of ``risk_table``; ``unit`` doubles as the allowed range of ``value``.
RISK_TABLE_COLUMNS = ("area", "item", "parameter", "value", "unit", "source", "yaml_key")
_RANGES: dict[str, tuple[float, float]] = {"1-10": (1.0, 10.0), "0-1": (0.0, 1.0),
                                           "people": (0.0, np.inf), "x": (0.0, np.inf)}
_BAND_KEY = "consequence.bands."


def risk_table(config: RiskConfig, *, packs: Iterable[str] = ()) -> pd.DataFrame:
    """The risk model's editable factors, one row each, with range, source and YAML key.

    Parameters
    ----------
    config
        The risk parameters to tabulate.
    packs
        Rules pack ids to give a weight multiplier row even when ``risk.yaml`` lists none
        (missing packs weigh 1).

    Returns
    -------
    pandas.DataFrame
        Columns ``RISK_TABLE_COLUMNS``; ``unit`` is the allowed range (``1-10``, ``0-1``) or
        ``people`` / ``x`` (any number from 0); ``yaml_key`` is the field's path in ``risk.yaml``.
        ``risk_override`` turns an edited copy back into an override mapping.
    """
    c, t, v = (config.raw.get(k, {}) for k in ("consequence", "threat", "vulnerability"))
    rows = []
    lower = 0.0
    for i, (upper, score) in enumerate(config.bands):
        label = f"occupancy {lower:g}-{upper:g}" if np.isfinite(upper) else f"occupancy above {lower:g}"
        rows.append(("consequence", label, "score", score, "1-10", c.get("source", ""),
                     f"{_BAND_KEY}{i}.score"))
        if np.isfinite(upper):
            rows.append(("consequence", label, "band upper limit", upper, "people", c.get("source", ""),
                         f"{_BAND_KEY}{i}.max_occupancy"))
        lower = upper + 1 if np.isfinite(upper) else upper
    rows.append(("consequence", "occupancy unknown", "score", config.consequence_unknown, "1-10",
                 c.get("unknown_note", ""), "consequence.unknown"))
    for level, score in config.threat_levels.items():
        rows.append(("threat", f"threat_level {level}", "score", score, "1-10", t.get("source", ""),
                     f"threat.levels.{level}"))
    rows.append(("threat", "threat_level unknown", "score", config.threat_unknown, "1-10",
                 t.get("unknown_note", ""), "threat.unknown"))
    rows += [
        ("vulnerability", "scale", "minimum", config.v_min, "1-10", v.get("source", ""),
         "vulnerability.minimum"),
        ("vulnerability", "scale", "maximum", config.v_max, "1-10", v.get("source", ""),
         "vulnerability.maximum"),
        ("vulnerability", "partial rule", "share of a gap", config.partial_share, "0-1",
         v.get("source", ""), "vulnerability.partial_share"),
        ("vulnerability", "unknown rule", "share of a gap", config.unknown_share, "0-1",
         v.get("unknown_share_note", ""), "vulnerability.unknown_share"),
    ]
    for pack in dict.fromkeys([*config.pack_weights, *packs]):
        rows.append(("vulnerability", f"pack {pack}", "rule weight multiplier",
                     config.pack_weights.get(pack, 1.0), "x", v.get("pack_weights_note", ""),
                     f"vulnerability.pack_weights.{pack}"))
    frame = pd.DataFrame(rows, columns=list(RISK_TABLE_COLUMNS))
    return frame.astype({"value": "float64"})


def _checked_values(table: pd.DataFrame) -> pd.Series:
    """``value`` as floats, or ConfigError naming every row that is not a number in its range."""
    raw = table["value"]
    values = pd.to_numeric(raw.astype(object).where(raw.notna(), None), errors="coerce").astype("float64")
    problems = []
    for i in range(len(table)):
        row = table.iloc[i]
        low, high = _RANGES.get(str(row["unit"]), (0.0, np.inf))
        value = values.iloc[i]
        if not np.isfinite(value) or not low <= value <= high:
            expected = f"a number from {low:g} to {high:g}" if np.isfinite(high) else f"a number of at least {low:g}"
            given = raw.iloc[i]
            shown = ("nothing" if pd.isna(given) else f"{float(given):g}"
                     if isinstance(given, (int, float, np.number)) else repr(str(given)))
            problems.append(f"{row['area']}, {row['item']}, {row['parameter']}: expected {expected}, got {shown}")
    if problems:
        raise ConfigError("Risk weights: " + "; ".join(problems) + ".")
    return values


def risk_override(edited: pd.DataFrame, original: pd.DataFrame | None = None) -> dict[str, Any] | None:
    """The ``risk.yaml`` override (same layout) for an edited ``risk_table``.

    Parameters
    ----------
    edited
        A ``risk_table`` whose ``value`` column the user changed.
    original
        The table before editing: only changed rows go into the override (None if nothing
        changed). Without it every row does.

    Returns
    -------
    dict or None
        For ``load_risk_config``. Consequence bands are a list in ``risk.yaml``, so a change to
        any band writes the whole list.

    Raises
    ------
    ConfigError
        A value is empty, not a number or outside its range, band limits do not rise, or the
        override does not load (vulnerability minimum not below its maximum).
    """
    values = _checked_values(edited)
    keys = edited["yaml_key"].astype(str)
    if original is not None:
        before = pd.to_numeric(original["value"], errors="coerce").astype("float64").to_numpy()
        changed = pd.Series(values.to_numpy() != before, index=edited.index)
    else:
        changed = pd.Series(True, index=edited.index)
    if not changed.any():
        return None
    override: dict[str, Any] = {}
    bands = keys.str.startswith(_BAND_KEY)
    if (changed & bands).any():
        fields: dict[int, dict[str, float]] = {}
        for key, value in zip(keys[bands], values[bands], strict=True):
            index, _, name = key.removeprefix(_BAND_KEY).partition(".")
            fields.setdefault(int(index), {})[name] = float(value)
        listed = [{"max_occupancy": fields[i].get("max_occupancy", np.inf), "score": fields[i]["score"]}
                  for i in sorted(fields)]
        limits = [b["max_occupancy"] for b in listed]
        if any(b <= a for a, b in zip(limits, limits[1:], strict=False)):
            raise ConfigError("Risk weights: consequence band upper limits must rise from band to band, "
                              f"got {', '.join(f'{x:g}' for x in limits)}.")
        override["consequence"] = {"bands": listed}
    for key, value in zip(keys[changed & ~bands], values[changed & ~bands], strict=True):
        section, _, rest = key.partition(".")
        target = override.setdefault(section, {})
        if rest.startswith(("levels.", "pack_weights.")):
            group, _, name = rest.partition(".")
            target = target.setdefault(group, {})
            rest = name
        target[rest] = float(value)
    load_risk_config(override)  # the rows are in range; this checks what spans rows (min < max)
    return override
