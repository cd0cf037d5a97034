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


def _change(before: Any, after: Any) -> str:
    if after == "met" and before != "met":
        return "gained"
    if before == "met" and after != "met":
        return "lost"
    rb, ra = STATUS_RANK.get(before), STATUS_RANK.get(after)
    if rb is not None and ra is not None:
        return "better" if ra > rb else "worse"
    return "changed"


def _measure_changes(a: pd.DataFrame, b: pd.DataFrame, measures: Sequence[str]) -> pd.DataFrame:
    both = a.merge(b, on="building_id", suffixes=("_a", "_b"))
    parts = []
    for m in measures:
        if f"{m}_a" not in both or f"{m}_b" not in both:
            continue
        moved = both[both[f"{m}_a"].astype(object) != both[f"{m}_b"].astype(object)]
        if len(moved):
            parts.append(pd.DataFrame({"building_id": moved["building_id"], "site_id": moved["site_id_b"],
                                       "measure": m, "before": moved[f"{m}_a"], "after": moved[f"{m}_b"]}))
    frame = (pd.concat(parts, ignore_index=True) if parts else
             pd.DataFrame(columns=["building_id", "site_id", "measure", "before", "after"]))
    frame["change"] = [_change(x, y) for x, y in zip(frame["before"], frame["after"], strict=True)]
    return frame.sort_values(["building_id", "measure"], ignore_index=True)


def _rule_changes(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    keys = ["building_id", "site_id", "rule_id"]
    cols = ["building_id", "site_id", "rule_id", "group", "before", "after"]
    same_rows = len(a) == len(b) and all(
        np.array_equal(a[k].astype(object).fillna("").to_numpy(), b[k].astype(object).fillna("").to_numpy())
        for k in keys)
    if same_rows:  # same buildings and rules in the same order: compare in place
        sa_, sb = a["status"].astype(str).to_numpy(), b["status"].astype(str).to_numpy()
        moved = np.flatnonzero(sa_ != sb)
        frame = pd.DataFrame({k: a[k].astype(object).to_numpy()[moved] for k in (*keys, "group")})
        frame["before"], frame["after"] = sa_[moved], sb[moved]
        return frame[cols]
    left = a[[*keys, "group", "status"]].astype(object).fillna({"building_id": ""})
    right = b[[*keys, "status"]].astype(object).fillna({"building_id": ""})
    both = left.merge(right, on=keys, suffixes=("_a", "_b"))
    both = both[both["status_a"].astype(str) != both["status_b"].astype(str)]
    both = both.rename(columns={"status_a": "before", "status_b": "after"})
    both["building_id"] = both["building_id"].replace("", None)
    return both[cols].reset_index(drop=True)


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


def _project_states(a: pd.DataFrame, b: pd.DataFrame, marks: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["project_id", "building_id", "measure", "title", "cost", "risk_reduction", "year"]
    if not len(a) or "selected" not in a:
        return pd.DataFrame(columns=[*cols, "state", "mark"])
    chosen = a[a["selected"].astype(bool)][[c for c in cols if c in a]].copy()
    still = set(b["project_id"].astype(str).tolist()) if len(b) else set()
    open_now = [p in still for p in chosen["project_id"].astype(str).tolist()]
    chosen["state"] = np.where(np.array(open_now, dtype=bool), "still open", "closed")
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
    touched = buildings[buildings["building_id"].isin(set(closed["building_id"]))]
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
    frame = pd.concat([p.reindex(columns=COMPARISON_COLUMNS) for p in parts if len(p)], ignore_index=True)
    frame = frame.reindex(columns=COMPARISON_COLUMNS)
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
