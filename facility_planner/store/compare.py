"""Comparing snapshots and rolling them up: pure functions over the frames the store reads.

``diff_snapshots``: per building, measures gained and lost, rule results that moved, PASS tier
moves, coverage change; projects chosen last time and now closed (their gap is gone) or still
open; spend against risk removed. ``rollup_frame``: the same figures per building, site,
district or state, with Ten Essential Actions (Action 1: review annually) staleness from the
stored assessment dates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd

from facility_planner.io.exports import COVERAGE_METRICS, plain_value
from facility_planner.store.records import SnapshotInfo

#: How good a status is, for "better"/"worse"; unknown and not_applicable are not ranked.
STATUS_RANK = {"met": 3, "partial": 2, "unmet": 1}
#: Ten Essential Actions, Action 1: review the assessment every year.
REVIEW_DAYS = 365
_BUILDING_KEYS = ["snapshot_id", "building_id", "site_id", "name", "measure_score", "pass_overall", "risk",
                  "district", "as_of", "saved_at"]


@dataclass
class SnapshotInputs:
    """What a comparison reads of one snapshot."""

    info: SnapshotInfo
    buildings: pd.DataFrame
    results: pd.DataFrame
    projects: pd.DataFrame


@dataclass
class SnapshotDiff:
    """What changed from snapshot ``a`` to ``b``.

    ``buildings``: one row per building in both (score, PASS overall tier and risk before and
    after; measures gained and lost); ``measures``, ``rules``, ``tiers``, ``coverage``: one row
    per thing that moved (``before``, ``after``, ``change``); ``projects``: the projects chosen in
    ``a`` and whether each is now ``closed`` (its gap is gone in ``b``) or ``still open``, with any
    "done" mark; ``added`` / ``removed``: buildings only in ``b`` / only in ``a``; ``totals``:
    spend on closed projects against the risk removed.
    """

    a: SnapshotInfo
    b: SnapshotInfo
    buildings: pd.DataFrame
    measures: pd.DataFrame
    rules: pd.DataFrame
    tiers: pd.DataFrame
    coverage: pd.DataFrame
    projects: pd.DataFrame
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    totals: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (the ``history diff --json`` document)."""
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [plain_value(r, nested=True) for r in frame.astype(object).where(frame.notna(), None).to_dict("records")]
        return {"a": self.a.as_dict(), "b": self.b.as_dict(), "totals": plain_value(self.totals, nested=True),
                "buildings": records(self.buildings), "measures": records(self.measures),
                "rules": records(self.rules), "tiers": records(self.tiers),
                "coverage": records(self.coverage), "projects": records(self.projects),
                "added": self.added, "removed": self.removed}

    def lines(self) -> list[str]:
        """The changes as short sentences, measures first (the ``history diff`` text)."""
        out = [f"snapshot {self.a.id} ({self.a.as_of}) -> {self.b.id} ({self.b.as_of}), district {self.b.district}"]
        for r in self.measures.itertuples():
            out.append(f"{r.building_id}: {r.measure} {r.before} -> {r.after} ({r.change})")
        for r in self.rules.itertuples():
            where = r.building_id if isinstance(r.building_id, str) else f"site {r.site_id}"
            out.append(f"{where}: rule {r.rule_id} ({r.group}) {r.before} -> {r.after}")
        for r in self.tiers.itertuples():
            out.append(f"{r.building_id}: PASS {r.component} tier {r.before} -> {r.after}")
        for r in self.coverage.itertuples():
            out.append(f"{r.building_id}: {r.metric} {r.before} -> {r.after} ({r.change:+.1f} points)")
        for r in self.projects.itertuples():
            if r.state == "closed" or isinstance(r.mark, str):
                mark = f", marked {r.mark}" if isinstance(r.mark, str) else ""
                out.append(f"project {r.project_id}: {r.state}{mark}")
        out.extend(f"building added: {b}" for b in self.added)
        out.extend(f"building removed: {b}" for b in self.removed)
        tot = self.totals
        out.append(f"closed {tot['closed']} of {tot['chosen']} chosen project(s), {tot['still_open']} still open: spend {tot['spent']:,.0f} "
                   f"against risk removed {tot['risk_removed']:,.1f} (district risk {tot['risk_before']:,.1f} -> "
                   f"{tot['risk_after']:,.1f})")
        return out


def _measure_columns(buildings: pd.DataFrame) -> list[str]:
    """The minimum-measure columns of ``Store.buildings`` rows (their values are statuses)."""
    statuses = {"met", "partial", "unmet", "unknown", "not_applicable"}
    head = buildings.head(200)
    return [c for c in buildings.columns if c not in _BUILDING_KEYS and not str(c).startswith(("pass_", "tier:"))
            and c not in COVERAGE_METRICS and c != "threat_level"
            and head[c].dropna().astype(str).isin(statuses).all() and head[c].notna().any()]


def _change_labels(before: pd.Series, after: pd.Series) -> np.ndarray:
    """For each pair of statuses: gained (now met), lost (was met), better or worse (both
    ranked, ``STATUS_RANK``), else changed."""
    x, y = before.astype(object), after.astype(object)
    rx, ry = x.map(STATUS_RANK), y.map(STATUS_RANK)
    ranked = (rx.notna() & ry.notna()).to_numpy()
    return np.select([(y == "met").to_numpy() & (x != "met").to_numpy(), (x == "met").to_numpy() & (y != "met").to_numpy(),
                      ranked & (ry > rx).to_numpy(), ranked], ["gained", "lost", "better", "worse"], default="changed")


def _differs(x: pd.Series, y: pd.Series) -> np.ndarray:
    """Where two columns of values differ (missing on both sides is no difference)."""
    missing_x, missing_y = x.isna().to_numpy(), y.isna().to_numpy()
    both = ~missing_x & ~missing_y
    unequal = np.asarray(x.astype(object).to_numpy() != y.astype(object).to_numpy(), dtype=bool)
    return np.asarray((missing_x != missing_y) | (both & unequal), dtype=bool)


def _measure_changes(a: pd.DataFrame, b: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    cols = ["building_id", "site_id", "measure", "before", "after"]
    kept = [m for m in measures if m in b]
    both = a[["building_id", *kept]].merge(b[["building_id", "site_id", *kept]], on="building_id",
                                           suffixes=("_a", "_b"))
    parts = []
    for m in kept:
        moved = both[_differs(both[f"{m}_a"], both[f"{m}_b"])]
        if len(moved):
            parts.append(pd.DataFrame({"building_id": moved["building_id"], "site_id": moved["site_id"],
                                       "measure": m, "before": moved[f"{m}_a"].astype(object),
                                       "after": moved[f"{m}_b"].astype(object)}))
    frame = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    frame["change"] = _change_labels(frame["before"], frame["after"]) if len(frame) else pd.Series(dtype=object)
    return frame.sort_values(["building_id", "measure"], ignore_index=True)


_RULE_KEYS = ["building_id", "site_id", "rule_id"]


def _as_categorical(values: pd.Series) -> pd.Series:
    """A column as categories of text (ids read as numbers compare as their text)."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    categories = values.cat.categories
    if not (categories.dtype == object or pd.api.types.is_string_dtype(categories.dtype)):
        values = values.cat.rename_categories(categories.astype(str))
    return values


def _shared_codes(x: pd.Series, y: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Both columns as integer codes over the union of their values (-1: missing)."""
    cx, cy = _as_categorical(x), _as_categorical(y)
    categories = cx.cat.categories.union(cy.cat.categories)
    return (cx.cat.set_categories(categories).cat.codes.to_numpy(np.int64),
            cy.cat.set_categories(categories).cat.codes.to_numpy(np.int64))


def _matched_rows(a: pd.DataFrame, b: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``a`` and ``b`` of the rule results with the same building, site and rule:
    compared in place when both list the same keys in the same order (a re-run), else joined."""
    keys = [_shared_codes(a[k], b[k]) for k in _RULE_KEYS]
    if len(a) == len(b) and all(np.array_equal(ka, kb) for ka, kb in keys):
        same = np.arange(len(a))
        return same, same
    left = pd.DataFrame({f"k{i}": ka for i, (ka, _kb) in enumerate(keys)} | {"ia": np.arange(len(a))})
    right = pd.DataFrame({f"k{i}": kb for i, (_ka, kb) in enumerate(keys)} | {"ib": np.arange(len(b))})
    both = left.merge(right, on=[f"k{i}" for i in range(len(keys))], sort=False)
    order = np.argsort(both["ia"].to_numpy(), kind="stable")
    return both["ia"].to_numpy()[order], both["ib"].to_numpy()[order]


def _rule_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rule results whose status moved, in ``a``'s order (vectorised over category codes: a
    10,000-school snapshot holds millions of results)."""
    cols = ["building_id", "site_id", "rule_id", "group", "before", "after"]
    if not len(a) or not len(b):
        return pd.DataFrame(columns=cols)
    ia, ib = _matched_rows(a, b)
    status_a, status_b = _shared_codes(a["status"], b["status"])
    moved = status_a[ia] != status_b[ib]
    ia, ib = ia[moved], ib[moved]

    def cells(frame: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
        values = np.asarray(frame[column].iloc[rows].to_numpy(dtype=object), dtype=object)
        values[pd.isna(values)] = None
        return values

    out = {k: cells(a, k, ia) for k in (*_RULE_KEYS, "group")}
    out["before"], out["after"] = cells(a, "status", ia), cells(b, "status", ib)
    return pd.DataFrame(out, columns=cols)


def _tier_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    tier_cols = sorted({c for c in a.columns if c.startswith("tier:")} & {c for c in b.columns if c.startswith("tier:")})
    both = a[["building_id", *tier_cols, "pass_overall"]].merge(
        b[["building_id", "site_id", *tier_cols, "pass_overall"]], on="building_id", suffixes=("_a", "_b"))
    parts = []
    for col in [*tier_cols, "pass_overall"]:
        x, y = both[f"{col}_a"], both[f"{col}_b"]
        moved = both[(x.fillna(-1) != y.fillna(-1)).to_numpy()]
        if len(moved):
            parts.append(pd.DataFrame({"building_id": moved["building_id"], "site_id": moved["site_id"],
                                       "component": col.removeprefix("tier:").replace("pass_overall", "overall"),
                                       "before": moved[f"{col}_a"], "after": moved[f"{col}_b"]}))
    return (pd.concat(parts, ignore_index=True) if parts else
            pd.DataFrame(columns=["building_id", "site_id", "component", "before", "after"]))


def _coverage_changes(a: pd.DataFrame, b: pd.DataFrame, *, tolerance: float = 0.05) -> pd.DataFrame:
    metrics = [m for m in COVERAGE_METRICS if m in a and m in b]
    both = a[["building_id", *metrics]].merge(b[["building_id", "site_id", *metrics]], on="building_id",
                                             suffixes=("_a", "_b"))
    parts = []
    for m in metrics:
        x, y = both[f"{m}_a"].astype(float), both[f"{m}_b"].astype(float)
        delta = y - x
        moved = both[((delta.abs() > tolerance) | (x.isna() != y.isna())).to_numpy()]
        if len(moved):
            parts.append(pd.DataFrame({"building_id": moved["building_id"], "site_id": moved["site_id"],
                                       "metric": m, "before": moved[f"{m}_a"], "after": moved[f"{m}_b"],
                                       "change": (moved[f"{m}_b"].astype(float) - moved[f"{m}_a"].astype(float))}))
    return (pd.concat(parts, ignore_index=True) if parts else
            pd.DataFrame(columns=["building_id", "site_id", "metric", "before", "after", "change"]))


def _among(values: pd.Series, wanted: pd.Series) -> np.ndarray:
    """Which ``values`` are among ``wanted``, compared as text (a hash lookup over plain objects:
    fast for the hundreds of thousands of project ids of a 10,000-school snapshot)."""
    def text(series: pd.Series) -> pd.Index:
        return pd.Index(series.astype(str).to_numpy(dtype=object, na_value=None), dtype=object)

    return np.asarray(text(values).isin(text(wanted)), dtype=bool)


def _project_states(a: pd.DataFrame, b: pd.DataFrame, marks: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["project_id", "building_id", "measure", "title", "cost", "risk_reduction", "year"]
    if not len(a) or "selected" not in a:
        return pd.DataFrame(columns=[*cols, "state", "mark"])
    chosen = a[a["selected"].astype(bool).to_numpy()][[c for c in cols if c in a]].copy()
    open_now = _among(chosen["project_id"], b["project_id"]) if len(b) else np.zeros(len(chosen), dtype=bool)
    chosen["state"] = np.where(open_now, "still open", "closed")
    mark_of = ({} if marks is None or not len(marks) else
               dict(zip(marks["project_id"].astype(str), marks["status"].astype(str), strict=True)))
    chosen["mark"] = chosen["project_id"].astype(str).map(mark_of)
    return chosen.reset_index(drop=True)


def _building_changes(a: pd.DataFrame, b: pd.DataFrame, measures_moved: pd.DataFrame) -> pd.DataFrame:
    both = a[["building_id", "measure_score", "pass_overall", "risk"]].merge(
        b[["building_id", "site_id", "name", "measure_score", "pass_overall", "risk"]], on="building_id",
        suffixes=("_before", "_after"))
    gained = measures_moved[measures_moved["change"] == "gained"].groupby("building_id")["measure"].agg(list)
    lost = measures_moved[measures_moved["change"] == "lost"].groupby("building_id")["measure"].agg(list)
    both["gained"] = both["building_id"].map(gained).apply(lambda v: v if isinstance(v, list) else [])
    both["lost"] = both["building_id"].map(lost).apply(lambda v: v if isinstance(v, list) else [])
    both["score_change"] = both["measure_score_after"] - both["measure_score_before"]
    both["risk_change"] = both["risk_after"] - both["risk_before"]
    return both


def diff_snapshots(a: SnapshotInputs, b: SnapshotInputs, *, marks: pd.DataFrame | None = None) -> SnapshotDiff:
    """Compare two snapshots (``a`` earlier, ``b`` later); see ``SnapshotDiff``."""
    ba, bb = a.buildings, b.buildings
    measures = _measure_columns(ba)
    measure_moves = _measure_changes(ba, bb, measures)
    projects = _project_states(a.projects, b.projects, marks)
    buildings = _building_changes(ba, bb, measure_moves)
    closed = projects[projects["state"] == "closed"]
    touched = buildings[_among(buildings["building_id"], closed["building_id"])]
    totals = {"chosen": len(projects), "closed": len(closed), "still_open": int((projects["state"] == "still open").sum()),
              "spent": float(closed["cost"].sum()) if len(closed) else 0.0,
              "risk_removed": float(-(touched["risk_change"].sum())) if len(touched) else 0.0,
              "risk_before": float(ba["risk"].sum()), "risk_after": float(bb["risk"].sum()),
              "measures_gained": int((measure_moves["change"] == "gained").sum()),
              "measures_lost": int((measure_moves["change"] == "lost").sum())}
    ids_a, ids_b = set(ba["building_id"]), set(bb["building_id"])
    return SnapshotDiff(a=a.info, b=b.info, buildings=buildings, measures=measure_moves,
                        rules=_rule_changes(a.results, b.results), tiers=_tier_changes(ba, bb),
                        coverage=_coverage_changes(ba, bb), projects=projects,
                        added=sorted(ids_b - ids_a), removed=sorted(ids_a - ids_b), totals=totals)


COMPARISON_COLUMNS = ["building_id", "site_id", "what", "item", "before", "after", "change", "cost"]


def comparison_table(diff: SnapshotDiff) -> pd.DataFrame:
    """Every change of a diff as one table (the workbook's Comparison sheet): measures, rules,
    PASS tiers, coverage, projects (closed or still open, with marks) and buildings added/removed."""
    parts = [
        diff.measures.assign(what="measure", item=diff.measures["measure"]),
        diff.rules.assign(what="rule", item=diff.rules["rule_id"].astype(str) + " (" + diff.rules["group"].astype(str) + ")",
                          change=""),
        diff.tiers.assign(what="PASS tier", item=diff.tiers["component"], change=""),
        diff.coverage.assign(what="coverage %", item=diff.coverage["metric"],
                             change=diff.coverage["change"].map(lambda v: f"{float(v):+.1f}")),
        diff.projects.assign(what="project", item=diff.projects["project_id"], before="chosen",
                             after=diff.projects["state"],
                             change=diff.projects["mark"].map(lambda m: f"marked {m}" if isinstance(m, str) else "")),
        pd.DataFrame({"building_id": diff.added, "what": "building", "item": "added"}),
        pd.DataFrame({"building_id": diff.removed, "what": "building", "item": "removed"}),
    ]
    changed = [p.reindex(columns=COMPARISON_COLUMNS) for p in parts if len(p)]
    if not changed:  # the same figures twice (a re-run): an empty sheet, not a failed save
        return pd.DataFrame(columns=COMPARISON_COLUMNS, dtype=object)
    frame = pd.concat(changed, ignore_index=True).reindex(columns=COMPARISON_COLUMNS)
    return frame.astype(object).where(frame.notna(), None)


#: The statuses of a minimum measure, as one categorical type (a state's buildings stay compact).
STATUS_TYPE = pd.CategoricalDtype(["met", "partial", "unmet", "unknown", "not_applicable"])


def compact_buildings(buildings: pd.DataFrame) -> pd.DataFrame:
    """Only the columns ``rollup_frame`` reads from ``Store.buildings`` rows, the measure
    statuses as ``STATUS_TYPE`` categories (one snapshot at a time, then concatenated)."""
    keep = [c for c in ("snapshot_id", "district", "site_id", "building_id", "measure_score", "pass_overall",
                        "risk", "as_of", "saved_at") if c in buildings]
    measures = _measure_columns(buildings)
    out = buildings[keep].copy()
    for m in measures:
        out[m] = buildings[m].astype(STATUS_TYPE)
    return out


_LEVEL_KEYS = {"building": ["district", "site_id", "building_id"], "site": ["district", "site_id"],
               "district": ["district"], "state": []}


def rollup_frame(buildings: pd.DataFrame, infos: Sequence[SnapshotInfo], *, level: str = "district",
                 every_snapshot: bool = False, today: date | None = None) -> pd.DataFrame:
    """The same figures at every level: buildings, mean and lowest measure score, lowest PASS tier,
    total risk, share of buildings meeting each measure, last assessment date and whether the
    annual review (Ten Essential Actions, Action 1) is due.

    ``buildings``: ``Store.buildings`` rows; ``level``: building, site, district or state;
    ``every_snapshot``: one row per snapshot (trends) instead of the latest of each district.
    """
    if level not in _LEVEL_KEYS:
        raise ValueError(f"level must be one of {', '.join(_LEVEL_KEYS)}, not {level!r}")
    today = today or date.today()
    keys = list(_LEVEL_KEYS[level])
    if every_snapshot:
        keys = ["snapshot_id", "as_of", *keys] if level != "state" else ["as_of"]
    if not len(buildings):
        return pd.DataFrame(columns=[*keys, "buildings", "score_mean"])
    frame = buildings.copy()
    measures = _measure_columns(frame)
    for m in measures:
        frame[f"{m}_met"] = (frame[m] == "met").astype(float)
    frame["_one"] = 1
    grouped = frame.groupby(keys, sort=True, dropna=False) if keys else frame.assign(_all=0).groupby("_all")
    out = pd.DataFrame({
        "buildings": grouped["_one"].sum(),
        "sites": grouped["site_id"].nunique(),
        "districts": grouped["district"].nunique(),
        "score_mean": grouped["measure_score"].mean(),
        "score_min": grouped["measure_score"].min(),
        "pass_overall_min": grouped["pass_overall"].min(),
        "risk_total": grouped["risk"].sum(),
        **{f"{m}_met_pct": 100.0 * grouped[f"{m}_met"].mean() for m in measures},
        "last_assessed": grouped["as_of"].max(),
    }).reset_index()
    out = out.drop(columns=["_all"], errors="ignore")
    last = pd.to_datetime(out["last_assessed"])
    out["review_due"] = (last + timedelta(days=REVIEW_DAYS)) < pd.Timestamp(today)
    return out
