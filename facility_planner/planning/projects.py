"""Retrofit projects from scoring gaps: quantity, cost range, life-cycle cost, risk removed, links.

Each unmet or partial measure of a building becomes one project per catalog option (options of one
measure exclude each other). Unknown results are not projects: they are listed as data needed.

Links between projects (all within one building, so buildings are independent):

- ``choice_group`` ``"<building>:<measure>"``: at most one project of a group is chosen;
- ``requires``: choice groups that must be chosen in the same or an earlier year (any of the group's
  options satisfies it): the catalog's ``requires`` (remote lockdown after lockable doors) and the
  PASS tiers (a tier-2 measure after the tier-1 measures of its layer and component);
- ``excludes``: other projects closing one of the same gaps (a wireless lock closes both
  ``classroom_locks`` and ``remote_lockdown``, so it excludes the remote-lockdown project).
"""

from __future__ import annotations

import functools
import re
from typing import Any

import numpy as np
import pandas as pd

from facility_planner.model import SQUARE_FEET, District
from facility_planner.planning.catalog import CostCatalog, CostOption, load_catalog
from facility_planner.planning.risk import (
    RiskConfig,
    building_risk,
    load_risk_config,
    rule_shortfall,
)

PROJECT_COLUMNS = [
    "project_id", "building_id", "site_id", "measure", "option", "title", "closes", "status",
    "rule_ids", "tier", "evidence", "quantity", "unit", "quantity_basis", "quantity_estimated",
    "unit_cost_low", "unit_cost_typical", "unit_cost_high", "cost_low", "cost", "cost_high",
    "lifetime_years", "annual_upkeep", "life_cycle_cost", "annual_cost", "risk_before", "risk_after",
    "risk_reduction", "ratio", "rank", "choice_group", "requires", "excludes", "grants",
    "local_match_share", "local_match", "estimate", "source",
]


def _as_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def _annuity(rate: float, years: float) -> float:
    return years if rate == 0 else (1 - (1 + rate) ** -years) / rate


def gap_rows(results: pd.DataFrame) -> pd.DataFrame:
    """Unmet and partial results that a retrofit can fix (``measure`` given)."""
    status = results["status"].astype("string")
    return results.loc[status.isin(["unmet", "partial"]) & results["measure"].notna()]


def data_needed(results: pd.DataFrame) -> pd.DataFrame:
    """Unknown results: what must be surveyed before the gap can be costed or ruled out."""
    rows = results.loc[results["status"].astype("string") == "unknown"]
    cols = [c for c in ("building_id", "site_id", "rule_id", "pack", "measure", "evidence", "source") if c in rows]
    out = rows[cols].copy()
    out["action"] = "data needed: survey and record the missing inventory values"
    return out.reset_index(drop=True)


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-./#]*[A-Za-z0-9]|[A-Za-z0-9]")


def asset_ids(district: District) -> dict[str, set[str]]:
    """Every inventory id (rooms, doors, cameras, repeaters, AEDs, equipment) per building."""
    out: dict[str, set[str]] = {}
    for table, key in (("rooms", "room_id"), ("doors", "door_id"), ("cameras", "camera_id"),
                       ("repeaters", "repeater_id"), ("aeds", "aed_id"), ("equipment", "equipment_id")):
        frame = district.table(table)
        if not len(frame):
            continue
        pairs = frame[["building_id", key]].dropna(subset=[key])
        for bid, asset in zip(pairs["building_id"].astype("string").to_numpy(dtype=object),
                              pairs[key].astype(str).to_numpy(dtype=object), strict=True):
            out.setdefault("<NA>" if bid is pd.NA else str(bid), set()).add(asset)
    return out


def named_assets(evidence: list[str], known: set[str]) -> list[str]:
    """Distinct asset ids in ``evidence`` (first mention first): inventory ids named anywhere in
    a line, and lines that are a bare id (what a rule's evidence lists when it names no more)."""
    found: list[str] = []
    for text in map(str, evidence):
        bare, tokens = _line_tokens(text)
        if bare is not None:
            found.append(bare)
        else:
            found.extend(tok for tok in tokens if tok in known)
    return list(dict.fromkeys(found))


@functools.lru_cache(maxsize=2**16)
def _line_tokens(text: str) -> tuple[str | None, tuple[str, ...]]:
    """(the line as a bare id, or None; the id-like tokens in it): every option of a gap reads the
    same evidence lines."""
    bare = text.strip()
    if bare and not any(ch.isspace() for ch in bare) and _TOKEN.fullmatch(bare):
        return bare, ()
    return None, tuple(_TOKEN.findall(text))


def _quantity(opt: CostOption, evidence: list[str], building: dict[str, Any],
              known: set[str] | frozenset[str] = frozenset(),
              units: list[dict[str, Any]] | None = None) -> tuple[float, str, bool]:
    """Units of a project: distinct assets that fall short (an asset named by several rules or
    sentences counts once), new units the gap needs by geometry (``units``: rows of the coverage
    layer ``units_needed`` for this building and gap), the building, its area or floors; see
    ``costs.yaml``."""
    if opt.quantity == "building":
        return 1.0, "per building", False
    if opt.quantity == "units_needed" and units:
        return _units_quantity(opt, evidence, known, units)
    if opt.quantity in ("evidence_count", "units_needed"):
        ids = named_assets(evidence, set(known))
        if ids:
            return float(max(len(ids), opt.min_quantity)), _assets_basis(ids, opt.unit), False
        return float(opt.min_quantity), (
            f"gap with no asset named: {opt.min_quantity:g} {opt.unit} (catalog min_quantity)"), False
    if opt.quantity == "gross_area_sqft":
        area = pd.to_numeric(building.get("gross_area"), errors="coerce")
        if pd.notna(area) and area > 0:
            return float(round(area / SQUARE_FEET)), "gross area of the building", False
    else:  # floors
        floors = pd.to_numeric(building.get("floors"), errors="coerce")
        if pd.notna(floors) and floors > 0:
            return float(floors), "floors of the building", False
    fallback = opt.default_quantity if opt.default_quantity is not None else opt.min_quantity
    return float(fallback), f"{opt.quantity} unknown: catalog default_quantity assumed", True


def _assets_basis(ids: list[str], unit: str) -> str:
    shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
    return f"{len(ids)} distinct asset(s) falling short ({shown}), one {unit} each"


def _units_quantity(opt: CostOption, evidence: list[str], known: set[str] | frozenset[str],
                    units: list[dict[str, Any]]) -> tuple[float, str, bool]:
    """Distinct assets falling short that no new unit stands for (an expired AED, a faulty
    camera), plus the new units by geometry, each part with its basis."""
    watched = {w.strip() for u in units for w in str(u.get("watches") or "").split(",") if w.strip()}
    short = [i for i in named_assets(evidence, set(known)) if i not in watched]
    parts = [_assets_basis(short, opt.unit)] if short else []
    parts += list(dict.fromkeys(str(u["basis"]) for u in units))
    return float(max(len(short) + len(units), opt.min_quantity)), "; ".join(parts), False


def _gap_units(units: pd.DataFrame | None) -> dict[str, list[dict[str, Any]]]:
    """Rows of the ``units_needed`` layer per building (plain records, no geometry)."""
    if units is None or not len(units):
        return {}
    cols = [c for c in ("building_id", "fact", "unit", "watches", "basis") if c in units]
    out: dict[str, list[dict[str, Any]]] = {}
    for rec in pd.DataFrame(units[cols]).astype(object).to_dict("records"):
        out.setdefault(str(rec["building_id"]), []).append(rec)
    return out


def _gaps(rows: pd.DataFrame) -> dict[tuple[str, str], dict[str, Any]]:
    """The gaps per (building, measure): evidence, closed rule weight, tiers, rules and status."""
    gaps: dict[tuple[str, str], dict[str, Any]] = {}
    n = len(rows)

    def column(name: str, *, text: bool = True) -> np.ndarray:
        """A column as plain Python values, missing values as None (absent columns all None)."""
        if name not in rows.columns:
            return np.full(n, None, dtype=object)
        values = rows[name].astype("string") if text else rows[name]
        plain: np.ndarray = values.astype(object).where(values.notna(), None).to_numpy(dtype=object)
        return plain

    tier = pd.to_numeric(rows["tier"], errors="coerce").to_numpy(dtype=float) if "tier" in rows else np.full(n, np.nan)
    closed = rows["closed"].to_numpy(dtype=float)
    sites = rows["site_id"].astype(object).to_numpy() if "site_id" in rows else np.full(n, None, dtype=object)
    for b, site, rule, pack, layer, component, t, measure, status, evidence, shut, fact in zip(
            column("building_id"), sites, column("rule_id"), column("pack"),
            column("layer"), column("component"), tier, column("measure"), column("status"),
            column("evidence", text=False), closed, column("fact"), strict=True):
        key = (str(b) if b is not None else "<NA>", str(measure) if measure is not None else "<NA>")
        gap = gaps.setdefault(key, {"evidence": {}, "closed": 0.0, "tiers": {}, "rule_ids": {},
                                    "facts": set(), "status": "partial", "site_id": site})
        if fact is not None:
            gap["facts"].add(fact)
        gap["evidence"].update(dict.fromkeys(_as_list(evidence)))
        gap["closed"] += float(shut)
        if rule is not None:
            gap["rule_ids"][rule] = None
        if status == "unmet":
            gap["status"] = "unmet"
        if not np.isnan(t) and layer is not None and component is not None:
            tkey = (str(pack), layer, component)
            gap["tiers"][tkey] = min(gap["tiers"].get(tkey, np.inf), float(t))
    for gap in gaps.values():
        gap["evidence"], gap["rule_ids"] = list(gap["evidence"]), list(gap["rule_ids"])
    return gaps


def _project_row(bid: str, measure: str, opt: CostOption, *, gap: dict[str, Any],
                 gaps: dict[tuple[str, str], dict[str, Any]], closes: list[str], evidence: list[str],
                 quantity: tuple[float, str, bool], cost: float, upkeep: float, reduction: float,
                 risk_before: float, catalog: CostCatalog, single: bool) -> dict[str, Any]:
    """One project (an option of a measure in a building) as a row of ``PROJECT_COLUMNS``."""
    qty, basis, estimated = quantity
    annuity = _annuity(catalog.discount_rate, opt.lifetime_years)
    grant_shares = [catalog.grants[g].local_match for g in opt.grants]
    tiers = [t for m in closes for t in gaps[(bid, m)]["tiers"].values()]
    return {
        "project_id": f"{bid}:{measure}" + ("" if single else f":{opt.option}"),
        "building_id": bid, "site_id": gap["site_id"], "measure": measure, "option": opt.option,
        "title": opt.title, "closes": closes,
        "status": "unmet" if any(gaps[(bid, m)]["status"] == "unmet" for m in closes) else "partial",
        "rule_ids": list(dict.fromkeys(r for m in closes for r in gaps[(bid, m)]["rule_ids"])),
        "tier": min(tiers) if tiers else np.nan, "evidence": evidence,
        "quantity": qty, "unit": opt.unit, "quantity_basis": basis, "quantity_estimated": estimated,
        "unit_cost_low": opt.low, "unit_cost_typical": opt.typical, "unit_cost_high": opt.high,
        "cost_low": opt.base_low + qty * opt.low, "cost": cost, "cost_high": opt.base_high + qty * opt.high,
        "lifetime_years": opt.lifetime_years, "annual_upkeep": upkeep,
        "life_cycle_cost": cost + upkeep * annuity, "annual_cost": cost / annuity + upkeep,
        "risk_before": risk_before, "risk_after": risk_before - reduction,
        "risk_reduction": reduction, "choice_group": f"{bid}:{measure}",
        "grants": list(opt.grants),
        "local_match_share": min(grant_shares) if grant_shares else 1.0,
        "estimate": opt.estimate or estimated, "source": opt.source,
        "_tiers": {k: v for m in closes for k, v in gaps[(bid, m)]["tiers"].items()},
    }


def build_projects(
    results: pd.DataFrame,
    district: District,
    *,
    catalog: CostCatalog | None = None,
    risk_config: RiskConfig | None = None,
    units: pd.DataFrame | None = None,
    risk: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Turn unmet and partial measures into costed, linked retrofit projects.

    Parameters
    ----------
    results
        ``Scores.results`` (building_id, site_id, rule_id, pack, layer, component, tier, measure,
        status, evidence, weight, ...).
    district
        Supplies occupancy, gross_area, floors and the sites' threat levels.
    catalog, risk_config
        Defaults: the shipped ``costs.yaml`` and ``risk.yaml``.
    units
        The coverage layer ``units_needed`` (``geo.units``: building_id, fact, unit, watches,
        basis; one row per new AED or camera a gap needs by geometry). A catalog option counted
        ``units_needed`` adds the rows of its building whose ``unit`` is the option's and whose
        ``fact`` is one of the gap's rules' facts; without it, assets are counted alone.
    risk
        ``building_risk`` of these results with ``risk_config``, when the caller has it already.

    Returns
    -------
    pandas.DataFrame
        One row per project (columns ``PROJECT_COLUMNS``), ranked by risk reduction per dollar.
    """
    catalog = catalog or load_catalog()
    risk_config = risk_config or load_risk_config()
    if risk is None:
        risk = building_risk(results, district, config=risk_config)
    rows = rule_shortfall(results, district, config=risk_config)
    rows = rows.loc[rows["status"].astype("string").isin(["unmet", "partial"]) & rows["measure"].notna()]
    rows = rows.assign(measure=rows["measure"].astype("string"), closed=rows["rule_weight"] * rows["shortfall"])
    buildings = district.buildings.assign(building_id=district.buildings["building_id"].astype("string")).set_index("building_id")

    gaps = _gaps(rows)
    building_data = buildings[["gross_area", "floors"]].astype(object).to_dict("index")
    known_ids = asset_ids(district)
    units_by_building = _gap_units(units)
    risk_before, risk_scale = risk["risk"].to_dict(), risk["risk_scale"].to_dict()

    records = []
    for (bid, measure), gap in gaps.items():
        if measure not in catalog or bid not in risk_before:
            continue
        b = building_data.get(bid, {})
        options = catalog.options[measure]
        for opt in options:
            closes = [measure] + [m for m in opt.also_closes if (bid, m) in gaps and m != measure]
            evidence = list(dict.fromkeys(e for m in closes for e in gaps[(bid, m)]["evidence"]))
            facts = set().union(*(gaps[(bid, m)]["facts"] for m in closes))
            needed = [u for u in units_by_building.get(bid, []) if u["fact"] in facts and u["unit"] == opt.unit]
            qty, basis, estimated = _quantity(opt, evidence, b, known_ids.get(bid, set()), needed)
            closed = sum(gaps[(bid, m)]["closed"] for m in closes)
            reduction = float(risk_scale[bid] * closed)
            cost = opt.base_typical + qty * opt.typical
            upkeep = qty * opt.annual_upkeep
            records.append(_project_row(
                bid, measure, opt, gap=gap, gaps=gaps, closes=closes, evidence=evidence,
                quantity=(qty, basis, estimated), cost=cost, upkeep=upkeep, reduction=reduction,
                risk_before=float(risk_before[bid]), catalog=catalog, single=len(options) == 1))
    projects = pd.DataFrame.from_records(records)
    if projects.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in PROJECT_COLUMNS})
    projects["local_match"] = projects["local_match_share"] * projects["cost"]
    _link(projects, catalog)
    return rank_projects(projects.drop(columns="_tiers"))[PROJECT_COLUMNS]


def _link(projects: pd.DataFrame, catalog: CostCatalog) -> None:
    """Fill ``requires`` (choice groups) and ``excludes`` (project ids) within each building."""
    requires: list[list[str]] = [[] for _ in range(len(projects))]
    excludes: list[list[str]] = [[] for _ in range(len(projects))]
    records = projects[["project_id", "building_id", "measure", "choice_group", "closes", "_tiers"]].to_dict("records")
    for _, idx in projects.groupby("building_id").indices.items():
        sub = [records[i] for i in idx]
        groups = {r["choice_group"] for r in sub}
        bid = sub[0]["building_id"]
        entry = {g: min((t for r in sub if r["choice_group"] == g for t in r["_tiers"].values()), default=np.inf)
                 for g in groups}
        for pos, row in zip(idx, sub, strict=True):
            reqs = [f"{bid}:{r}" for r in catalog.requires.get(row["measure"], ()) if f"{bid}:{r}" in groups]
            for other in sub:
                if other["choice_group"] == row["choice_group"] or other["choice_group"] in reqs:
                    continue
                reverse = row["measure"] in catalog.requires.get(other["measure"], ())
                lower = any(key in other["_tiers"] and other["_tiers"][key] < tier for key, tier in row["_tiers"].items())
                if lower and not reverse and entry[other["choice_group"]] < entry[row["choice_group"]]:
                    reqs.append(other["choice_group"])
            requires[pos] = sorted(set(reqs))
            closes = set(row["closes"])
            excludes[pos] = [other["project_id"] for other in sub if other["project_id"] != row["project_id"]
                             and other["choice_group"] != row["choice_group"] and closes & set(other["closes"])]
    projects["requires"] = requires
    projects["excludes"] = excludes


def rank_projects(projects: pd.DataFrame) -> pd.DataFrame:
    """Sort by risk reduction per dollar (ties: cheaper first) and number the ``rank`` from 1."""
    out = projects.copy()
    cost = out["cost"].astype(float)
    out["ratio"] = np.where(cost > 0, out["risk_reduction"].astype(float) / cost.where(cost > 0, 1.0), np.inf)
    out = out.sort_values(["ratio", "cost", "project_id"], ascending=[False, True, True], kind="stable")
    out["rank"] = np.arange(1, len(out) + 1)
    return out.reset_index(drop=True)


def gaps_table(results: pd.DataFrame, projects: pd.DataFrame | None = None) -> pd.DataFrame:
    """Unmet, partial and unknown results with their evidence and the projects that close them."""
    status = results["status"].astype("string")
    rows = results.loc[status.isin(["unmet", "partial", "unknown"])].copy()
    rows["evidence_count"] = [len(_as_list(e)) for e in rows["evidence"]]
    rows["evidence"] = ["; ".join(_as_list(e)) for e in rows["evidence"]]
    if projects is not None and len(projects):
        closes = projects[["building_id", "project_id", "closes"]].explode("closes")
        by_gap = closes.groupby(["building_id", "closes"])["project_id"].agg("; ".join)
        keys = list(zip(rows["building_id"].astype("string"), rows["measure"].astype("string"), strict=True))
        rows["projects"] = [by_gap.get(k, "") if pd.notna(k[1]) else "" for k in keys]
    else:
        rows["projects"] = ""
    rows["next_step"] = np.where(rows["status"].astype("string") == "unknown", "data needed",
                                 np.where(rows["projects"] != "", "retrofit project",
                                          np.where(rows["measure"].isna(), "policy or programme", "no catalog cost")))
    return rows.reset_index(drop=True)
