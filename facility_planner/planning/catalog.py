"""Cost catalog: unit costs, lifetimes, upkeep, grant tags, prerequisites and options per measure.

The catalog is data (``costs.yaml`` beside this module). A district's own catalog overrides it
field by field: a measure or option it names replaces only the fields it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from facility_planner._yaml import merge, read_yaml
from facility_planner.errors import ConfigError

DEFAULT_CATALOG_PATH = Path(__file__).with_name("costs.yaml")
QUANTITY_RULES = ("evidence_count", "building", "gross_area_sqft", "floors")
_OPTION_FIELDS = ("title", "unit", "quantity", "min_quantity", "default_quantity", "low", "typical",
                  "high", "base_low", "base_typical", "base_high", "lifetime_years", "annual_upkeep",
                  "source", "estimate", "grants", "also_closes")


@dataclass(frozen=True)
class CostOption:
    """One way of closing a measure's gap (a measure without ``options`` has one: ``standard``)."""

    measure: str
    option: str
    title: str
    unit: str
    quantity: str
    low: float
    typical: float
    high: float
    lifetime_years: float
    annual_upkeep: float
    source: str
    estimate: bool = False
    min_quantity: float = 1.0
    default_quantity: float | None = None
    base_low: float = 0.0
    base_typical: float = 0.0
    base_high: float = 0.0
    grants: tuple[str, ...] = ()
    also_closes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Grant:
    """A funding programme a project may fit, with its local-match share of the cost."""

    code: str
    name: str
    local_match: float
    source: str
    fits: str = ""
    max_award: float | None = None


@dataclass(frozen=True)
class CostCatalog:
    """Measures (by gap code) with their options, grants and the discount rate."""

    options: dict[str, tuple[CostOption, ...]]
    requires: dict[str, tuple[str, ...]]
    grants: dict[str, Grant]
    discount_rate: float = 0.031
    discount_rate_source: str = ""
    currency: str = "USD"
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __contains__(self, measure: object) -> bool:
        return measure in self.options

    def assumptions(self) -> pd.DataFrame:
        """Every unit cost, lifetime, upkeep and grant share with its source, one row per value."""
        rows: list[dict[str, Any]] = [{
            "area": "cost", "item": "discount_rate", "parameter": "discount_rate",
            "value": self.discount_rate, "unit": "per year", "estimate": False,
            "source": self.discount_rate_source}]
        for measure, options in self.options.items():
            for opt in options:
                item = measure if opt.option == "standard" else f"{measure}:{opt.option}"
                values = {"unit_cost_low": opt.low, "unit_cost_typical": opt.typical,
                          "unit_cost_high": opt.high, "lifetime_years": opt.lifetime_years,
                          "annual_upkeep": opt.annual_upkeep}
                if opt.base_typical:
                    values |= {"base_cost_low": opt.base_low, "base_cost_typical": opt.base_typical,
                               "base_cost_high": opt.base_high}
                for name, value in values.items():
                    unit = ("years" if name == "lifetime_years"
                            else f"{self.currency} per project" if name.startswith("base")
                            else f"{self.currency} per {opt.unit} per year" if name == "annual_upkeep"
                            else f"{self.currency} per {opt.unit}")
                    rows.append({"area": "cost", "item": item, "parameter": name, "value": value,
                                 "unit": unit, "estimate": opt.estimate, "source": opt.source})
        for grant in self.grants.values():
            rows.append({"area": "grant", "item": grant.code, "parameter": "local_match",
                         "value": grant.local_match, "unit": "share of cost", "estimate": False,
                         "source": grant.source})
        return pd.DataFrame(rows)


def _read_yaml(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(source, Mapping):
        return dict(source)
    data = read_yaml(source, what="Cost catalog")
    if not isinstance(data, dict):
        raise ConfigError(f"Cost catalog {Path(source).name} must be a mapping with a `measures` key.")
    return data


def _number(value: Any, *, where: str, name: str, positive: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"Cost catalog, {where}: `{name}` must be a number, got {value!r}.") from None
    if number < 0 or (positive and number <= 0):
        raise ConfigError(f"Cost catalog, {where}: `{name}` must be {'above' if positive else 'at least'} 0, got {value!r}.")
    return number


def _parse(data: Mapping[str, Any]) -> CostCatalog:
    measures = data.get("measures")
    if not isinstance(measures, Mapping) or not measures:
        raise ConfigError("Cost catalog: `measures` must map measure codes to their costs.")
    grants: dict[str, Grant] = {}
    for code, g in (data.get("grants") or {}).items():
        if not isinstance(g, Mapping):
            raise ConfigError(f"Cost catalog, grant {code}: expected a mapping.")
        share = _number(g.get("local_match", 0), where=f"grant {code}", name="local_match")
        if share > 1:
            raise ConfigError(f"Cost catalog, grant {code}: `local_match` is a share from 0 to 1, got {share}.")
        grants[str(code)] = Grant(str(code), str(g.get("name", code)), share, str(g.get("source", "")),
                                  str(g.get("fits", "")), g.get("max_award"))
    options: dict[str, tuple[CostOption, ...]] = {}
    requires: dict[str, tuple[str, ...]] = {}
    for measure, spec in measures.items():
        measure = str(measure)
        if not isinstance(spec, Mapping):
            raise ConfigError(f"Cost catalog, measure {measure}: expected a mapping of fields.")
        base = {k: v for k, v in spec.items() if k in _OPTION_FIELDS}
        opt_specs = spec.get("options") or {"standard": {}}
        built = []
        for name, opt_spec in opt_specs.items():
            merged = {**base, **(opt_spec or {})}
            where = f"measure {measure}" + ("" if name == "standard" else f", option {name}")
            for req in ("unit", "low", "typical", "high", "lifetime_years", "source"):
                if merged.get(req) in (None, ""):
                    raise ConfigError(f"Cost catalog, {where}: `{req}` is missing.")
            rule = merged.get("quantity", "evidence_count")
            if rule not in QUANTITY_RULES:
                raise ConfigError(f"Cost catalog, {where}: `quantity` must be one of "
                                  f"{', '.join(QUANTITY_RULES)}, got {rule!r}.")
            low, typical, high = (_number(merged[k], where=where, name=k) for k in ("low", "typical", "high"))
            if not low <= typical <= high:
                raise ConfigError(f"Cost catalog, {where}: expected low <= typical <= high, got {low}, {typical}, {high}.")
            unknown = [g for g in merged.get("grants") or () if g not in grants]
            if unknown:
                raise ConfigError(f"Cost catalog, {where}: grant {unknown[0]!r} is not defined under `grants`.")
            default_quantity = merged.get("default_quantity")
            built.append(CostOption(
                measure=measure, option=str(name), title=str(merged.get("title", measure)),
                unit=str(merged["unit"]), quantity=rule, low=low, typical=typical, high=high,
                lifetime_years=_number(merged["lifetime_years"], where=where, name="lifetime_years", positive=True),
                annual_upkeep=_number(merged.get("annual_upkeep", 0), where=where, name="annual_upkeep"),
                source=str(merged["source"]), estimate=bool(merged.get("estimate", False)),
                min_quantity=_number(merged.get("min_quantity", 1), where=where, name="min_quantity"),
                default_quantity=None if default_quantity is None else _number(default_quantity, where=where, name="default_quantity"),
                base_low=_number(merged.get("base_low", 0), where=where, name="base_low"),
                base_typical=_number(merged.get("base_typical", 0), where=where, name="base_typical"),
                base_high=_number(merged.get("base_high", 0), where=where, name="base_high"),
                grants=tuple(merged.get("grants") or ()), also_closes=tuple(merged.get("also_closes") or ()),
            ))
        options[measure] = tuple(built)
        requires[measure] = tuple(str(r) for r in spec.get("requires") or ())
    for measure, reqs in requires.items():
        for req in reqs:
            if req not in options:
                raise ConfigError(f"Cost catalog, measure {measure}: requires {req!r}, which has no costs.")
    _check_acyclic(requires)
    rate = data.get("discount_rate", {})
    rate_value = rate.get("value", 0.031) if isinstance(rate, Mapping) else rate
    return CostCatalog(options=options, requires=requires, grants=grants,
                       discount_rate=_number(rate_value, where="discount_rate", name="value"),
                       discount_rate_source=str(rate.get("source", "")) if isinstance(rate, Mapping) else "",
                       currency=str(data.get("currency", "USD")), raw=dict(data))


def _check_acyclic(requires: Mapping[str, tuple[str, ...]]) -> None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise ConfigError(f"Cost catalog: prerequisites form a cycle: {' -> '.join([*path, node])}.")
        state[node] = 1
        for nxt in requires.get(node, ()):
            visit(nxt, [*path, node])
        state[node] = 2

    for node in requires:
        visit(node, [])


def load_catalog(
    override: str | Path | Mapping[str, Any] | None = None,
    *,
    base: str | Path | Mapping[str, Any] | None = None,
) -> CostCatalog:
    """Load the default cost catalog, overridden field by field by a district's own.

    Parameters
    ----------
    override
        A district catalog (YAML path or mapping) with the same layout; only the fields it gives
        replace the defaults (``measures: {cameras: {typical: 2000}}``).
    base
        Replace the shipped ``costs.yaml`` entirely.

    Returns
    -------
    CostCatalog
    """
    data = _read_yaml(DEFAULT_CATALOG_PATH if base is None else base)
    if override is not None:
        data = merge(data, _read_yaml(override))
    return _parse(data)
