"""Cost catalog: unit costs, lifetimes, upkeep, grant tags, prerequisites and options per measure.

The catalog is data (``costs.yaml`` beside this module). A district's own catalog overrides it
field by field: a measure or option it names replaces only the fields it gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from facility_planner._yaml import config_name, merge, read_yaml, validated
from facility_planner.errors import ConfigError

DEFAULT_CATALOG_PATH = Path(__file__).with_name("costs.yaml")


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


# --- the layout of costs.yaml, as pydantic models ------------------------------------------------

Amount = Annotated[float, Field(ge=0)]
Quantity = Literal["evidence_count", "units_needed", "building", "gross_area_sqft", "floors"]


class _Layout(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OptionLayout(_Layout):
    """Fields of a measure or of one of its options (an option overrides its measure's)."""

    title: str | None = None
    unit: str | None = Field(default=None, min_length=1)
    quantity: Quantity | None = None
    min_quantity: Amount | None = None
    default_quantity: Amount | None = None
    low: Amount | None = None
    typical: Amount | None = None
    high: Amount | None = None
    base_low: Amount | None = None
    base_typical: Amount | None = None
    base_high: Amount | None = None
    lifetime_years: Annotated[float, Field(gt=0)] | None = None
    annual_upkeep: Amount | None = None
    source: str | None = Field(default=None, min_length=1)
    estimate: bool | None = None
    grants: tuple[str, ...] | None = None
    also_closes: tuple[str, ...] | None = None


class MeasureLayout(OptionLayout):
    """A measure (gap code): its fields, prerequisites and mutually exclusive options."""

    requires: tuple[str, ...] = ()
    options: dict[str, OptionLayout | None] | None = None


class GrantLayout(_Layout):
    name: str | None = None
    local_match: Annotated[float, Field(ge=0, le=1)] = 0.0
    max_award: Amount | None = None
    fits: str = ""
    source: str = ""


class DiscountRateLayout(_Layout):
    value: Amount = 0.031
    source: str = ""


class CatalogLayout(_Layout):
    """``costs.yaml``: currency, discount rate, grants and measures."""

    version: int | str = 1
    currency: str = "USD"
    discount_rate: DiscountRateLayout | Amount = DiscountRateLayout()
    grants: dict[str, GrantLayout] = Field(default_factory=dict)
    measures: dict[str, MeasureLayout] = Field(min_length=1)


class ResolvedOption(_Layout):
    """One option with its measure's fields filled in: everything a project's cost needs."""

    title: str | None = None
    unit: str = Field(min_length=1)
    quantity: Quantity = "evidence_count"
    min_quantity: Amount = 1.0
    default_quantity: Amount | None = None
    low: Amount
    typical: Amount
    high: Amount
    base_low: Amount = 0.0
    base_typical: Amount = 0.0
    base_high: Amount = 0.0
    lifetime_years: Annotated[float, Field(gt=0)]
    annual_upkeep: Amount = 0.0
    source: str = Field(min_length=1)
    estimate: bool = False
    grants: tuple[str, ...] = ()
    also_closes: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _ordered(self) -> ResolvedOption:
        if not self.low <= self.typical <= self.high:
            raise ValueError(f"expected low <= typical <= high, got {self.low:g}, {self.typical:g}, "
                             f"{self.high:g}")
        return self


def _option(measure: str, name: str, fields: dict[str, Any], grants: Mapping[str, Grant], *,
            what: str) -> CostOption:
    """The option ``name`` of ``measure`` from its merged fields, checked."""
    where = f"measures.{measure}" + ("" if name == "standard" else f".options.{name}")
    resolved = validated(ResolvedOption, fields, what=f"{what}, {where}")
    unknown = [g for g in resolved.grants if g not in grants]
    if unknown:
        raise ConfigError(f"{what}, {where}: grant {unknown[0]!r} is not defined under `grants`.")
    return CostOption(measure=measure, option=name, **{
        **resolved.model_dump(), "title": resolved.title if resolved.title is not None else measure})


def _parse(data: Mapping[str, Any], *, what: str = "Cost catalog") -> CostCatalog:
    """The catalog from its merged layout; ``what`` (the catalog and its file) starts each error."""
    layout = validated(CatalogLayout, dict(data), what=what)
    grants = {code: Grant(code, g.name if g.name is not None else code, g.local_match, g.source,
                          g.fits, g.max_award) for code, g in layout.grants.items()}
    options: dict[str, tuple[CostOption, ...]] = {}
    requires: dict[str, tuple[str, ...]] = {}
    for measure, spec in layout.measures.items():
        base = spec.model_dump(exclude={"requires", "options"}, exclude_none=True)
        opt_specs = spec.options or {"standard": None}
        options[measure] = tuple(
            _option(measure, name, {**base, **(opt.model_dump(exclude_none=True) if opt else {})}, grants,
                    what=what)
            for name, opt in opt_specs.items())
        requires[measure] = spec.requires
    for measure, reqs in requires.items():
        for req in reqs:
            if req not in options:
                raise ConfigError(f"{what}, measures.{measure}.requires: {req!r} has no costs.")
    _check_acyclic(requires, what=what)
    rate = layout.discount_rate
    return CostCatalog(options=options, requires=requires, grants=grants,
                       discount_rate=rate.value if isinstance(rate, DiscountRateLayout) else rate,
                       discount_rate_source=rate.source if isinstance(rate, DiscountRateLayout) else "",
                       currency=layout.currency, raw=dict(data))


def _check_acyclic(requires: Mapping[str, tuple[str, ...]], *, what: str) -> None:
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        if state.get(node) == 2:
            return
        if state.get(node) == 1:
            raise ConfigError(f"{what}: prerequisites form a cycle: {' -> '.join([*path, node])}.")
        state[node] = 1
        for nxt in requires.get(node, ()):
            visit(nxt, [*path, node])
        state[node] = 2

    for node in requires:
        visit(node, [])


QUANTITY_RULES: tuple[str, ...] = get_args(Quantity)


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
    return _parse(data, what=config_name("Cost catalog", override, base))


# --- unit costs as an editable table (the app's "Unit costs" editor) -------------------------------

#: Columns of ``cost_table``.
COST_TABLE_COLUMNS = ("item", "parameter", "value", "unit", "source")
_UNIT_COSTS = ("unit_cost_low", "unit_cost_typical", "unit_cost_high")


def cost_table(catalog: CostCatalog | None = None) -> pd.DataFrame:
    """Unit costs (low, typical, high) of every measure and option, one editable row each.

    ``item`` is ``measure`` or ``measure:option``; ``cost_override`` turns an edited copy back into
    an override of ``costs.yaml``.
    """
    frame = (catalog or load_catalog()).assumptions()
    frame = frame[frame["parameter"].isin(_UNIT_COSTS)]
    return frame[list(COST_TABLE_COLUMNS)].reset_index(drop=True)


def cost_override(edited: pd.DataFrame, original: pd.DataFrame) -> dict[str, Any] | None:
    """The catalog override (same layout as ``costs.yaml``) for the rows the user changed.

    Returns None when nothing changed. Raises ``ConfigError`` naming the item at fault (the
    override is checked by loading it).
    """
    values = pd.to_numeric(edited["value"], errors="coerce").astype("float64")
    bad = ~np.isfinite(values.to_numpy())
    if bad.any():
        row = edited.loc[bad].iloc[0]
        raise ConfigError(f"Unit costs, {row['item']}, {row['parameter']}: expected a number of "
                          f"dollars, got {row['value']!r}.")
    changed = values.ne(pd.to_numeric(original["value"], errors="coerce").astype("float64"))
    if not changed.any():
        return None
    measures: dict[str, Any] = {}
    for item, parameter, value in zip(edited.loc[changed, "item"], edited.loc[changed, "parameter"],
                                      values[changed], strict=True):
        measure, _, option = str(item).partition(":")
        target = measures.setdefault(measure, {})
        if option:
            target = target.setdefault("options", {}).setdefault(option, {})
        target[str(parameter).removeprefix("unit_cost_")] = float(value)
    override = {"measures": measures}
    load_catalog(override)
    return override
