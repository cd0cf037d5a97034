"""Facts -> rule results -> measure status, PASS tiers, scores and roll-ups (with evidence).

Statuses
--------
Each rule gives, per building (or site for ``scope: site`` rules):

- ``not_applicable`` when the fact has no subjects there (no classrooms, no AED to expire);
- ``unknown`` when the fact is NaN, its column is missing (coverage not computed, no site facts)
  or its unknown subjects could swing the answer (see ``facts``: the rule is tested at both ends
  of what the unknown subjects could be, and only an answer both ends agree on is kept);
- otherwise ``met`` when the value passes ``threshold``, ``partial`` when it misses it but passes
  ``partial_threshold``, else ``unmet``. ``present`` is met when the value is above 0.
- ``checklist`` rules read the ``checklist`` sheet: in_place met, in_progress partial, future
  unmet, not_needed not applicable, no answer unknown; a building's answer beats its site's.

Evidence of a result: for ``unmet``/``partial`` the fact's evidence (ids of the subjects that fail,
so ``len(evidence)`` counts what a retrofit must fix); for ``unknown`` the ids of the subjects
whose data is missing, or a sentence saying what is missing; empty for ``met`` and
``not_applicable``. ``worst_case`` is the status the rule would have if every unknown subject
failed (``unknown`` when nothing is known), equal to ``status`` when nothing is unknown.

Combining rules
---------------
- **Measure / action status** (rules sharing a ``group``), over the rules that apply: none apply
  -> ``not_applicable``; all met -> ``met``; some unknown and none unmet or partial -> ``unknown``
  (it could still be met); none met or partial -> ``unmet``; otherwise ``partial``.
  Site-scope rules of a measures pack count for every building of the site.
- **Measure score** per building, 0-100: the weighted share of applicable rules of the measures
  packs that are met, partial counting half, unmet 0. An unknown rule earns the credit of its
  ``worst_case`` (the status if every unknown subject failed: a share that is at least partial
  whatever the blanks are earns half; otherwise 0), so it never counts as met and filling in a
  blank never lowers a score. NaN when no rule applies.
- **PASS tier** of a layer/component: the highest tier t with an applicable rule such that every
  rule of tiers 1..t is met or not applicable (unknown blocks); 0 when the lowest applicable
  tier is not met; ``<NA>`` (not assessed) when no rule of the layer/component applies. Site-scope
  rules count for every building of the site. Layer tier and overall tier: the minimum over the
  assessed components (the weakest link), ``<NA>`` when none is assessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pandas as pd

from facility_planner.facts import UNKNOWN_SUFFIX, Scope, bulk_objects, fact_spec
from facility_planner.facts import site_facts as compute_site_facts
from facility_planner.model import District, FactTable
from facility_planner.rules import Rule, RulesPack, default_packs

STATUSES = ("met", "partial", "unmet", "unknown", "not_applicable")
MET, PARTIAL, UNMET, UNKNOWN, NOT_APPLICABLE = range(5)
STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
CHECKLIST_CODES = {"in_place": MET, "in_progress": PARTIAL, "future": UNMET,
                   "not_needed": NOT_APPLICABLE}
CHECKLIST_VALUES = {"in_place": 1.0, "in_progress": 0.5, "future": 0.0}
CREDIT = np.array([1.0, 0.5, 0.0, 0.0, 0.0])
RESULT_COLUMNS = ["building_id", "site_id", "rule_id", "pack", "group", "layer", "component",
                  "tier", "measure", "status", "worst_case", "value", "threshold", "evidence",
                  "weight", "source", "title", "scope", "fact"]
_CMP = {">=": np.greater_equal, ">": np.greater, "<=": np.less_equal, "<": np.less,
        "==": np.equal}


@dataclass
class _Evaluated:
    """One rule's result over its entities (buildings or sites), as arrays."""

    pack: RulesPack
    rule: Rule
    status: np.ndarray
    value: np.ndarray
    evidence: list[list[str]]
    worst: np.ndarray


@dataclass
class Scores:
    """Everything ``score`` measured; see the module docstring for the meaning of each part.

    Attributes
    ----------
    results
        One row per rule and building (site-scope rules: per site, ``building_id`` <NA>), columns
        ``RESULT_COLUMNS``; ``status`` categorical of ``STATUSES``; ``evidence`` lists.
    minimum_measures
        Index ``building_id``, one column per measure (M1-M4, A1-A2, C1-C4), status strings.
    measure_scores
        Index ``building_id``: ``score`` (0-100) and the number of measures per status.
    pass_tiers
        Long: ``building_id, layer, component, tier`` (Int64, <NA> = not assessed).
    pass_layer_tiers, pass_overall
        Tier per building and layer (wide, Int64) and overall (Series, Int64).
    actions
        Index ``site_id``, one column per Essential Action (EA1-EA10), status strings.
    site_rollup, district_rollup
        Per site, and one row for the district.
    """

    results: pd.DataFrame
    minimum_measures: pd.DataFrame
    measure_scores: pd.DataFrame
    pass_tiers: pd.DataFrame
    pass_layer_tiers: pd.DataFrame
    pass_overall: pd.Series
    actions: pd.DataFrame
    site_rollup: pd.DataFrame
    district_rollup: pd.DataFrame
    packs: list[RulesPack]
    edition: int | None = None
    _rows: dict[str, Any] | None = field(default=None, repr=False)

    def _index(self) -> dict[str, Any]:
        """Per-building and per-site row positions and column accessors, built once."""
        if self._rows is None:
            r = self.results

            def positions(codes: np.ndarray, categories: pd.Index) -> dict[Any, list[int]]:
                order = np.argsort(codes, kind="stable")
                sorted_codes = codes[order]
                starts = np.flatnonzero(np.r_[True, sorted_codes[1:] != sorted_codes[:-1]])
                ends = np.r_[starts[1:], len(order)]
                return {categories[sorted_codes[a]]: order[a:b].tolist()
                        for a, b in zip(starts, ends, strict=True) if sorted_codes[a] >= 0}

            b_cat, s_cat = r["building_id"].cat, r["site_id"].cat
            b_codes = b_cat.codes.to_numpy()
            s_codes = np.where(b_codes < 0, s_cat.codes.to_numpy(), -1)
            tiers: dict[Any, list[tuple[str, str, Any]]] = {}
            pt = self.pass_tiers
            for b, layer, comp, tier in zip(pt["building_id"], pt["layer"], pt["component"],
                                            pt["tier"], strict=True):
                tiers.setdefault(b, []).append((str(layer), str(comp), tier))
            cols: dict[str, Any] = {}
            for c in ("rule_id", "pack", "group", "layer", "component", "status"):
                cat = r[c].cat
                cols[c] = (cat.codes.to_numpy(), [*cat.categories.astype(object), None])
            self._rows = {
                "building": positions(b_codes, b_cat.categories),
                "site": positions(s_codes, s_cat.categories),
                "site_of": dict(zip(r["building_id"].astype(object)[b_codes >= 0],
                                    r["site_id"].astype(object)[b_codes >= 0], strict=True)),
                "tiers": tiers, "cols": cols,
                "tier": r["tier"].to_numpy(dtype=float, na_value=np.nan),
                "evidence": r["evidence"].to_numpy(),
                "mm": {b: {str(k): str(v) for k, v in row.items()} for b, row in
                       self.minimum_measures.astype(object).to_dict("index").items()},
                "layers": {b: {str(k): (None if pd.isna(v) else int(v)) for k, v in row.items()}
                           for b, row in self.pass_layer_tiers.astype(object).to_dict("index").items()},
                "measure_packs": {p.id for p in self.packs if p.kind == "measures"},
                "tier_packs": {p.id for p in self.packs if p.kind == "tiers"},
            }
        return self._rows

    def building_summary(self, building_id: str) -> dict[str, Any]:
        """One building's minimum measures, PASS tiers and the evidence of unmet measures.

        Returns a plain dict (JSON-ready): ``building_id``, ``site_id``, ``minimum_measures``
        {id: status}, ``measure_score``, ``pass_edition``, ``pass_tiers`` {layer: {component:
        tier or None}}, ``pass_layer_tiers`` {layer: tier}, ``pass_overall``, ``evidence``
        {measure: {rule_id: [evidence]}} for measures not met (unmet, partial or unknown), and
        ``pass_evidence`` {rule_id: [evidence]}: the rules blocking the next tier of each
        component.
        """
        if building_id not in self.minimum_measures.index and building_id not in self.pass_overall.index:
            raise KeyError(f"no building {building_id!r} in these scores")
        ix = self._index()
        site_id = ix["site_of"].get(building_id)
        site_id = None if pd.isna(site_id) else str(site_id)
        positions = ix["building"].get(building_id, []) + ix["site"].get(site_id, [])
        rows = [{**{c: cats[codes[i]] for c, (codes, cats) in ix["cols"].items()},
                 "tier": ix["tier"][i], "evidence": ix["evidence"][i]} for i in positions]
        measures = dict(ix["mm"].get(building_id, {}))
        evidence: dict[str, dict[str, list[str]]] = {}
        for m_id, status in measures.items():
            if status in ("met", "not_applicable"):
                continue
            evidence[m_id] = {str(r["rule_id"]): list(r["evidence"]) for r in rows
                              if r["group"] == m_id and r["pack"] in ix["measure_packs"]
                              and r["status"] not in ("met", "not_applicable")}
        tiers: dict[str, dict[str, int | None]] = {}
        for layer, comp, tier in ix["tiers"].get(building_id, []):
            tiers.setdefault(layer, {})[comp] = None if pd.isna(tier) else int(tier)
        layer_tiers = dict(ix["layers"].get(building_id, {}))
        overall = self.pass_overall.get(building_id, pd.NA)
        blocking: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for r in rows:
            if r["pack"] not in ix["tier_packs"] or r["status"] in ("met", "not_applicable"):
                continue
            achieved = tiers.get(str(r["layer"]), {}).get(str(r["component"]))
            if achieved is not None and r["tier"] > achieved:
                blocking.setdefault((r["layer"], r["component"]), []).append(r)
        pass_evidence = {}
        for found in blocking.values():
            first = min(r["tier"] for r in found)
            pass_evidence.update({str(r["rule_id"]): list(r["evidence"]) for r in found
                                  if r["tier"] == first})
        score = self.measure_scores["score"].get(building_id, np.nan)
        return {
            "building_id": building_id, "site_id": site_id, "minimum_measures": measures,
            "measure_score": None if pd.isna(score) else round(float(score), 1),
            "pass_edition": self.edition, "pass_tiers": tiers, "pass_layer_tiers": layer_tiers,
            "pass_overall": None if pd.isna(overall) else int(overall),
            "evidence": evidence, "pass_evidence": pass_evidence,
        }

    def building_summaries(self) -> list[dict[str, Any]]:
        """``building_summary`` of every building, in the district's order."""
        return [self.building_summary(b) for b in self.minimum_measures.index]


# --------------------------------------------------------------------------------------------
# Evaluating one rule (vectorised over entities)


def _grade(values: np.ndarray, rule: Rule) -> np.ndarray:
    """Status codes for fact values (NaN -> unknown)."""
    out = np.full(len(values), UNMET, dtype=np.int8)
    with np.errstate(invalid="ignore"):
        x = np.round(values, 9)
        if rule.op == "present":
            met = x > 0
        else:
            if rule.threshold is None:  # the pack schema requires one for a comparison
                raise ValueError(f"rule {rule.id}: op {rule.op} needs a threshold")
            cmp = _CMP[rule.op]
            met = cmp(x, rule.threshold)
            if rule.partial_threshold is not None:
                out[cmp(x, rule.partial_threshold)] = PARTIAL
    out[met] = MET
    out[np.isnan(values)] = UNKNOWN
    return out


def _column(frame: pd.DataFrame, name: str, index: pd.Index) -> pd.Series | None:
    if name not in frame.columns:
        return None
    col = frame[name]
    return col.reindex(index) if not col.index.equals(index) else col


def _fact_rule(rule: Rule, facts: FactTable, index: pd.Index, scope: Scope,
               missing_note: str) -> tuple[np.ndarray, np.ndarray, list[list[str]], np.ndarray]:
    n = len(index)
    fact = rule.fact
    if fact is None:  # the pack schema requires a fact for every op but checklist
        raise ValueError(f"rule {rule.id}: op {rule.op} needs a fact")
    values_col = _column(facts.values, fact, index)
    if values_col is None:
        msg = [f"fact {fact} not available ({missing_note})"]
        status = np.full(n, UNKNOWN, dtype=np.int8)
        return status, np.full(n, np.nan), [msg] * n, status
    v = values_col.to_numpy(dtype=float, na_value=np.nan)
    subjects = _column(facts.subjects, fact, index)
    s = np.full(n, np.nan) if subjects is None else subjects.to_numpy(dtype=float, na_value=np.nan)
    unknown_col = _column(facts.values, fact + UNKNOWN_SUFFIX, index)
    spec = fact_spec(fact, scope=scope)
    kind = spec.kind if spec is not None else "value"
    if unknown_col is None or kind == "value":
        status = _grade(v, rule)
        worst = status.copy()
    else:
        u = np.nan_to_num(unknown_col.to_numpy(dtype=float, na_value=np.nan), nan=0.0)
        some = u > 0
        if kind == "share":
            known = s - u
            with np.errstate(invalid="ignore", divide="ignore"):
                passing = np.where(known > 0, np.round(np.nan_to_num(v) * known / 100.0), 0.0)
                lo = np.where(some, 100.0 * passing / s, v)
                hi = np.where(some, 100.0 * (passing + u) / s, v)
        elif kind == "count":
            lo = np.where(some, np.nan_to_num(v), v)
            hi = np.where(some, np.nan_to_num(v) + u, v)
        else:  # min: an unknown subject may lie anywhere below the known minimum
            lo = np.where(some, -np.inf, v)
            hi = np.where(some, np.where(np.isnan(v), np.inf, v), v)
        g_lo, g_hi = _grade(lo, rule), _grade(hi, rule)
        status = np.where(g_lo == g_hi, g_lo, UNKNOWN).astype(np.int8)
        worst = np.maximum(g_lo, g_hi).astype(np.int8)  # codes: met < partial < unmet < unknown
    status[s == 0] = NOT_APPLICABLE
    worst[s == 0] = NOT_APPLICABLE

    fact_ev = _column(facts.evidence, fact, index)
    unk_ev = _column(facts.evidence, fact + UNKNOWN_SUFFIX, index)
    fe = [None] * n if fact_ev is None else fact_ev.tolist()
    # facts without an unknown companion explain their own NaN ("no assessment date recorded")
    ue = fe if unk_ev is None else unk_ev.tolist()
    no_data = [f"no data for {rule.fact}"]
    empty: list[str] = []
    evidence = [
        (f if isinstance(f, list) else empty) if st in (UNMET, PARTIAL)
        else ((u if isinstance(u, list) and u else no_data) if st == UNKNOWN else empty)
        for st, f, u in zip(status.tolist(), fe, ue, strict=True)
    ]
    return status, v, evidence, worst


def _prepare_checklist(checklist: pd.DataFrame | None) -> dict[str, pd.DataFrame]:
    if checklist is None or not len(checklist):
        return {}
    frame = checklist.copy()
    key = frame["rule_id"].astype("string").str.strip().str.upper()
    frame["status"] = frame["status"].astype("string").str.strip().str.lower()
    return {str(k): g for k, g in frame.groupby(key.to_numpy(dtype=object), sort=False)}


def _checklist_rule(rule: Rule, answers: dict[str, pd.DataFrame], index: pd.Index,
                    site_of: pd.Series | None) -> tuple[np.ndarray, np.ndarray, list[list[str]]]:
    n = len(index)
    rows = answers.get(rule.id.upper())
    if rows is None:  # nobody answered: unknown everywhere
        return (np.full(n, UNKNOWN, dtype=np.int8), np.full(n, np.nan),
                [[f"no checklist answer for {rule.id}"]] * n)
    if rows is None:
        status_text = pd.Series([pd.NA] * n, index=index, dtype="string")
        notes = pd.Series([pd.NA] * n, index=index, dtype="string")
    else:
        building = rows["building_id"] if "building_id" in rows else pd.Series(pd.NA, index=rows.index)
        note = rows["note"] if "note" in rows else pd.Series(pd.NA, index=rows.index)
        rows = rows.assign(note=note.astype("string"))
        site_rows = rows[building.isna().to_numpy()].drop_duplicates("site_id", keep="last")
        site_rows = site_rows.set_index(site_rows["site_id"].astype(object))
        keys = index if site_of is None else pd.Index(site_of.reindex(index).to_numpy(dtype=object))
        status_text = pd.Series(site_rows["status"].reindex(keys).to_numpy(), index=index)
        notes = pd.Series(site_rows["note"].reindex(keys).to_numpy(), index=index)
        if site_of is not None:
            b_rows = rows[building.notna().to_numpy()].drop_duplicates("building_id", keep="last")
            b_rows = b_rows.set_index(b_rows["building_id"].astype(object))
            own = b_rows["status"].reindex(index)
            has = own.notna().to_numpy()
            status_text = status_text.where(~has, own.to_numpy())
            notes = notes.where(~has, b_rows["note"].reindex(index).to_numpy())
    text = status_text.astype(object).where(status_text.notna(), None).tolist()
    status = np.array([CHECKLIST_CODES.get(t, UNKNOWN) if t else UNKNOWN for t in text],
                      dtype=np.int8)
    value = np.array([CHECKLIST_VALUES.get(t, np.nan) if t else np.nan for t in text])
    empty: list[str] = []
    evidence = []
    for st, t, note in zip(status.tolist(), text, notes.tolist(), strict=True):
        if st in (UNMET, PARTIAL):
            evidence.append([f"checklist: {t}" + (f" ({note})" if isinstance(note, str) and note else "")])
        elif st == UNKNOWN:
            evidence.append([f"no checklist answer for {rule.id}" if not t
                             else f"checklist status {t!r} not understood"])
        else:
            evidence.append(empty)
    return status, value, evidence


# --------------------------------------------------------------------------------------------
# Combining


def _combine(counts: np.ndarray) -> np.ndarray:
    """Group status from counts per status (rows: entities, columns: STATUSES order)."""
    met, partial, unmet, unknown, na = counts.T
    applicable = counts.sum(axis=1) - na
    out = np.full(len(counts), PARTIAL, dtype=np.int8)
    out[(met + partial) == 0] = UNMET
    out[(unknown > 0) & (unmet == 0) & (partial == 0)] = UNKNOWN
    out[(met == applicable)] = MET
    out[applicable == 0] = NOT_APPLICABLE
    return out


def _status_strings(codes: np.ndarray) -> pd.Categorical:
    return pd.Categorical.from_codes(codes.astype(np.int8), dtype=STATUS_DTYPE)


def _int_na(values: np.ndarray, keep: np.ndarray) -> pd.arrays.IntegerArray:
    """Int64 array with <NA> where ``keep`` is False."""
    out = pd.array(np.where(keep, values, 0), dtype="Int64")
    out[~keep] = pd.NA
    return out


def _tiers_for(statuses: np.ndarray, tiers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Achieved tier per row and whether assessed; ``statuses`` rows x rules, ``tiers`` per rule."""
    passing = (statuses == MET) | (statuses == NOT_APPLICABLE)
    applicable = statuses != NOT_APPLICABLE
    t = np.broadcast_to(tiers, statuses.shape)
    first_fail = np.where(~passing, t, 99).min(axis=1)
    achieved = np.where(applicable & (t < first_fail[:, None]), t, 0).max(axis=1)
    return achieved, applicable.any(axis=1)


# --------------------------------------------------------------------------------------------
# Scoring


@dataclass(frozen=True)
class _Entities:
    """The buildings and sites scored, and each building's site."""

    b_index: pd.Index
    site_of: pd.Series
    s_index: pd.Index
    site_pos: np.ndarray  # building -> position of its site in s_index (-1: no site row)

    @classmethod
    def of(cls, district: District, site_facts: FactTable) -> _Entities:
        buildings = district.buildings
        b_index = pd.Index(buildings["building_id"].astype(object), name="building_id")
        site_of = pd.Series(buildings["site_id"].astype(object).to_numpy(), index=b_index)
        s_index = pd.Index(site_facts.values.index.astype(object), name="site_id")
        extra_sites = pd.Index(site_of.dropna().unique()).difference(s_index)
        s_index = s_index.append(extra_sites) if len(extra_sites) else s_index
        return cls(b_index, site_of, s_index, s_index.get_indexer(site_of.to_numpy()))

    def per_building(self, ev: _Evaluated, *, worst: bool = False) -> np.ndarray:
        """A rule's status codes per building (a site rule's repeated for its buildings)."""
        codes = ev.worst if worst else ev.status
        if ev.rule.scope == "building":
            return codes
        return np.where(self.site_pos >= 0, codes[np.clip(self.site_pos, 0, None)], UNKNOWN).astype(np.int8)


def _group_ids(packs: Sequence[RulesPack], kind: str) -> list[str | None]:
    """Groups (measures, actions) of the packs of ``kind``, in pack order."""
    return list(dict.fromkeys(g for p in packs if p.kind == kind
                              for g in ([*p.groups] if p.groups else [r.group for r in p.rules])))


def _evaluate(packs: Sequence[RulesPack], facts: FactTable, site_facts: FactTable,
              answers: pd.DataFrame, ents: _Entities) -> list[_Evaluated]:
    """Every rule of every pack over its buildings or sites."""
    evaluated: list[_Evaluated] = []
    for pack in packs:
        for rule in pack.rules:
            if rule.scope == "building":
                index, sof, table, note = (ents.b_index, ents.site_of, facts, "not in the building "
                                           "facts; coverage facts come from geo.compute_coverage")
            else:
                index, sof, table, note = ents.s_index, None, site_facts, "not in the site facts"
            with bulk_objects():
                if rule.op == "checklist":
                    status, value, evidence = _checklist_rule(rule, answers, index, sof)
                    worst = status
                else:
                    status, value, evidence, worst = _fact_rule(rule, table, index, rule.scope, note)
            evaluated.append(_Evaluated(pack, rule, status, value, evidence, worst))
    return evaluated


def _measures(packs: Sequence[RulesPack], evaluated: list[_Evaluated],
              ents: _Entities) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Minimum measure status per building, and the weighted measure score with status counts."""
    n = len(ents.b_index)
    measure_evs = [e for e in evaluated if e.pack.kind == "measures"]
    mm: dict[str | None, pd.Categorical] = {}
    counts_by_status = np.zeros((n, len(STATUSES)), dtype=np.int64)
    for group in _group_ids(packs, "measures"):
        counts = np.zeros((n, len(STATUSES)), dtype=np.int64)
        for e in measure_evs:
            if e.rule.group == group:
                counts[np.arange(n), ents.per_building(e)] += 1
        codes = _combine(counts)
        mm[group] = _status_strings(codes)
        counts_by_status[np.arange(n), codes] += 1
    num = np.zeros(n)
    den = np.zeros(n)
    for e in measure_evs:
        applicable = ents.per_building(e) != NOT_APPLICABLE
        # an unknown rule earns what its worst case guarantees (partial at most), never met's
        num += e.rule.weight * CREDIT[ents.per_building(e, worst=True)] * applicable
        den += e.rule.weight * applicable
    with np.errstate(invalid="ignore", divide="ignore"):
        score_values = np.where(den > 0, 100.0 * num / den, np.nan)
    measure_scores = pd.DataFrame({"score": score_values}, index=ents.b_index)
    for i, name in enumerate(STATUSES):
        measure_scores[name] = counts_by_status[:, i]
    return pd.DataFrame(mm, index=ents.b_index), measure_scores


def _pass_tiers(packs: Sequence[RulesPack], evaluated: list[_Evaluated],
                ents: _Entities) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    """PASS tier per building, layer and component (long), per layer, and overall."""
    n, b_index = len(ents.b_index), ents.b_index
    long_parts, layer_cols = [], {}
    overall = np.full(n, 99)
    any_assessed = np.zeros(n, dtype=bool)
    for pack in (p for p in packs if p.kind == "tiers"):
        evs = [e for e in evaluated if e.pack is pack]
        layers: list[str | None] = [*pack.layer_order] or list(dict.fromkeys(e.rule.layer for e in evs))
        comps: list[str | None] = [*pack.components] or list(dict.fromkeys(e.rule.component for e in evs))
        for layer in layers:
            layer_min = np.full(n, 99)
            layer_any = np.zeros(n, dtype=bool)
            for comp in comps:
                sel = [e for e in evs if e.rule.layer == layer and e.rule.component == comp]
                if not sel:
                    continue
                statuses = np.column_stack([ents.per_building(e) for e in sel])
                achieved, assessed = _tiers_for(statuses, np.array([e.rule.tier for e in sel]))
                long_parts.append(pd.DataFrame({
                    "building_id": b_index, "layer": layer, "component": comp,
                    "tier": _int_na(achieved, assessed)}))
                layer_min = np.where(assessed, np.minimum(layer_min, achieved), layer_min)
                layer_any |= assessed
            layer_cols[layer] = _int_na(layer_min, layer_any)
            overall = np.where(layer_any, np.minimum(overall, layer_min), overall)
            any_assessed |= layer_any
    pass_tiers = (pd.concat(long_parts, ignore_index=True) if long_parts else
                  pd.DataFrame({"building_id": pd.Series(dtype=object), "layer": pd.Series(dtype=object),
                                "component": pd.Series(dtype=object), "tier": pd.Series(dtype="Int64")}))
    return (pass_tiers, pd.DataFrame(layer_cols, index=b_index),
            pd.Series(_int_na(overall, any_assessed), index=b_index, name="pass_overall"))


def _actions(packs: Sequence[RulesPack], evaluated: list[_Evaluated], s_index: pd.Index) -> pd.DataFrame:
    """Ten Essential Actions readiness per site."""
    action_evs = [e for e in evaluated if e.pack.kind == "actions"]
    acts: dict[str | None, pd.Categorical] = {}
    for group in _group_ids(packs, "actions"):
        counts = np.zeros((len(s_index), len(STATUSES)), dtype=np.int64)
        for e in action_evs:
            if e.rule.group == group and e.rule.scope == "site":
                counts[np.arange(len(s_index)), e.status] += 1
        acts[group] = _status_strings(_combine(counts))
    return pd.DataFrame(acts, index=s_index)


def score(
    district: District,
    facts: FactTable,
    packs: Sequence[RulesPack] | None = None,
    *,
    site_facts: FactTable | None = None,
    checklist: pd.DataFrame | None = None,
    as_of: date | None = None,
) -> Scores:
    """Evaluate every rule of ``packs`` for every building (and site) of ``district``.

    Parameters
    ----------
    district
        The typed district (buildings give the building -> site map).
    facts
        Building facts (``facts.building_facts``), optionally joined with ``Coverage.facts``.
        A rule whose fact column is absent is ``unknown`` for every building.
    packs
        Rules packs; default ``rules.default_packs()`` (PASS 7th edition).
    site_facts
        Site facts (``facts.site_facts``); default computed from ``district`` as of ``as_of``
        (default today).
    checklist
        Answers for ``checklist`` rules; default ``district.checklist``.

    Returns
    -------
    Scores
    """
    packs = list(default_packs() if packs is None else packs)
    checklist = district.checklist if checklist is None else checklist
    if site_facts is None:
        site_facts = compute_site_facts(district, as_of=as_of or date.today())
    ents = _Entities.of(district, site_facts)
    evaluated = _evaluate(packs, facts, site_facts, _prepare_checklist(checklist), ents)
    with bulk_objects():
        results = _results_frame(evaluated, ents.b_index, ents.s_index, ents.site_of)
    minimum_measures, measure_scores = _measures(packs, evaluated, ents)
    pass_tiers, pass_layer_tiers, pass_overall = _pass_tiers(packs, evaluated, ents)
    actions = _actions(packs, evaluated, ents.s_index)
    tier_packs = [p for p in packs if p.kind == "tiers"]
    site_rollup, district_rollup = _rollups(
        district, ents.b_index, ents.site_of, ents.s_index, minimum_measures, measure_scores,
        pass_overall, actions, results)
    return Scores(results, minimum_measures, measure_scores, pass_tiers, pass_layer_tiers,
                  pass_overall, actions, site_rollup, district_rollup, packs,
                  tier_packs[0].edition if tier_packs else None)


def _categorical(per_rule: Iterable[Any], rule_pos: np.ndarray) -> pd.Categorical:
    """A column constant within each rule, as a categorical expanded to the result rows."""
    values = list(per_rule)
    cats = list(dict.fromkeys(v for v in values if v is not None))
    lookup = {c: i for i, c in enumerate(cats)}
    codes = np.array([lookup.get(v, -1) if v is not None else -1 for v in values], dtype=np.int32)
    return pd.Categorical.from_codes(codes[rule_pos] if len(codes) else codes, categories=cats)


def _results_frame(evaluated: list[_Evaluated], b_index: pd.Index, s_index: pd.Index,
                   site_of: pd.Series) -> pd.DataFrame:
    sizes = np.array([len(e.status) for e in evaluated], dtype=np.int64)
    rule_pos = np.repeat(np.arange(len(evaluated)), sizes)
    is_site = np.array([e.rule.scope == "site" for e in evaluated])
    b_ids = b_index.to_numpy(dtype=object)
    s_ids = s_index.to_numpy(dtype=object)
    site_of_b = site_of.to_numpy(dtype=object)
    building_parts, site_parts = [], []
    for site in is_site:
        if site:
            building_parts.append(np.full(len(s_ids), None, dtype=object))
            site_parts.append(s_ids)
        else:
            building_parts.append(b_ids)
            site_parts.append(site_of_b)

    def cat(values: list[np.ndarray]) -> pd.Categorical:
        return pd.Categorical(np.concatenate(values) if values else [])

    rules = [e.rule for e in evaluated]
    frame = pd.DataFrame({
        "building_id": cat(building_parts),
        "site_id": cat(site_parts),
        "rule_id": _categorical((r.id for r in rules), rule_pos),
        "pack": _categorical((e.pack.id for e in evaluated), rule_pos),
        "group": _categorical((r.group for r in rules), rule_pos),
        "layer": _categorical((r.layer for r in rules), rule_pos),
        "component": _categorical((r.component for r in rules), rule_pos),
        "tier": pd.array(np.array([r.tier if r.tier is not None else -1 for r in rules])[rule_pos],
                         dtype="Int64"),
        "measure": _categorical((r.measure for r in rules), rule_pos),
        "status": pd.Categorical.from_codes(
            np.concatenate([e.status for e in evaluated]) if evaluated else np.array([], dtype=np.int8),
            dtype=STATUS_DTYPE),
        "worst_case": pd.Categorical.from_codes(
            np.concatenate([e.worst for e in evaluated]) if evaluated else np.array([], dtype=np.int8),
            dtype=STATUS_DTYPE),
        "value": np.concatenate([e.value for e in evaluated]) if evaluated else np.array([]),
        "threshold": np.array([np.nan if r.threshold is None else r.threshold for r in rules])[rule_pos],
        "evidence": pd.Series([x for e in evaluated for x in e.evidence], dtype=object),
        "weight": np.array([r.weight for r in rules], dtype=float)[rule_pos],
        "source": _categorical((r.source for r in rules), rule_pos),
        "title": _categorical((r.title for r in rules), rule_pos),
        "scope": _categorical((r.scope for r in rules), rule_pos),
        "fact": _categorical((r.fact for r in rules), rule_pos),
    })
    frame["tier"] = frame["tier"].where(frame["tier"] >= 0)
    return frame


def _rollups(district: District, b_index: pd.Index, site_of: pd.Series, s_index: pd.Index,
             minimum_measures: pd.DataFrame, measure_scores: pd.DataFrame,
             pass_overall: pd.Series, actions: pd.DataFrame,
             results: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    per_b = pd.DataFrame({"site_id": site_of.to_numpy(), "score": measure_scores["score"].to_numpy(),
                          "pass_overall": pass_overall.to_numpy()}, index=b_index)
    for m in minimum_measures.columns:
        per_b[f"{m}_met"] = (minimum_measures[m] == "met").to_numpy()
    grouped = per_b.groupby("site_id", sort=False)
    site = pd.DataFrame(index=s_index)
    names = district.sites.drop_duplicates("site_id").set_index("site_id")["name"]
    site["name"] = names.reindex(s_index).to_numpy()
    site["buildings"] = grouped.size().reindex(s_index).fillna(0).astype(int).to_numpy()
    site["score_mean"] = grouped["score"].mean().reindex(s_index).to_numpy()
    site["score_min"] = grouped["score"].min().reindex(s_index).to_numpy()
    site["pass_overall_min"] = grouped["pass_overall"].min().reindex(s_index).astype("Int64").to_numpy()
    for m in minimum_measures.columns:
        site[f"{m}_met_pct"] = (100.0 * grouped[f"{m}_met"].mean()).reindex(s_index).to_numpy()
    for a in actions.columns:
        site[a] = actions[a].to_numpy()
    if len(actions.columns):
        site["actions_met"] = (actions == "met").sum(axis=1).to_numpy()
        ea1 = results[(results["group"] == "EA1").to_numpy() & results["building_id"].isna().to_numpy()
                      & results["status"].isin(["unmet", "partial", "unknown"]).to_numpy()]
        flags: dict[Any, list[str]] = {}
        for sid, rid, ev in zip(ea1["site_id"], ea1["rule_id"], ea1["evidence"], strict=True):
            flags.setdefault(sid, []).extend(f"{rid}: {x}" for x in ev)
        site["action1_flags"] = pd.Series([flags.get(s, []) for s in s_index], index=s_index,
                                          dtype=object)

    district_row: dict[str, Any] = {
        "sites": len(s_index), "buildings": len(b_index),
        "score_mean": float(np.nanmean(per_b["score"])) if per_b["score"].notna().any() else np.nan,
    }
    for m in minimum_measures.columns:
        district_row[f"{m}_met_pct"] = 100.0 * float(per_b[f"{m}_met"].mean()) if len(per_b) else np.nan
    tiers = pass_overall.value_counts(dropna=False)
    for t in range(5):
        district_row[f"pass_overall_{t}"] = int(tiers.get(t, 0))
    district_row["pass_not_assessed"] = int(pass_overall.isna().sum())
    for a in actions.columns:
        district_row[f"{a}_met_pct"] = (100.0 * float((actions[a] == "met").mean())
                                        if len(actions) else np.nan)
    return site, pd.DataFrame([district_row])


__all__ = ["STATUSES", "RESULT_COLUMNS", "Scores", "score"]
