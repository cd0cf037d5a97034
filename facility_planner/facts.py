"""Facts measured in code per building and per site: the numbers the rules packs test.

Each fact is a small pure function registered by name with ``@fact(...)`` (a description, a unit
and a kind), so a new fact plugs in without touching the scoring code. ``building_facts`` and
``site_facts`` run every registered fact of their scope and return a ``model.FactTable``.
Facts computed elsewhere (the coverage percentages of ``geo``) are declared with
``register_external`` so rules may name them; join their ``FactTable`` with ``FactTable.join``.

Conventions
-----------
- **Values** are floats; NaN means unknown (data missing), never zero. Shares are percent 0-100.
- **Subjects** is the number of things a fact is about (classroom doors, classrooms, AEDs, or 1
  for the building itself). 0 means the fact does not apply there (a rule on it is
  ``not_applicable``); NaN means even that is unknown.
- **Evidence** cells are lists of the ids of the subjects that *fail* the fact (classroom door ids
  not lockable, AED ids past expiry), or one sentence when the gap is not a list of things
  (``"no panic alarm recorded"``). Evidence never mixes in unknown subjects, so
  ``len(evidence)`` is a project quantity.
- **Unknown subjects** go to a companion column ``<fact>_unknown``: its value is the number of
  subjects whose data is missing and its evidence their ids. It exists for facts of kind
  ``share``, ``count`` and ``min``.
- **Shares with missing data.** A share is computed over the subjects whose answer is known; NaN
  when none is. Scoring then tests the rule at both ends of what the unknown subjects could be
  (all failing, all passing): the status is kept only when both ends agree, otherwise it is
  ``unknown``. So "18 of 20 doors lockable, 2 unknown" is ``unmet`` against 100 %, but
  ``unknown`` against 90 %.
- **Counts** of recorded assets are known (0 = none recorded) as soon as the district's sheet has
  at least one row; a sheet with no rows at all means "not inventoried" and every count from it is
  NaN. Assets whose status or dates are blank go to the ``_unknown`` companion.
- **Kinds**: ``share`` (percent of subjects passing), ``count`` (number of things; unknown ones may
  add to it), ``min`` (smallest value over subjects; an unknown subject may be lower), ``value``
  (anything else: a flag 0/100, days, a status code).
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

import numpy as np
import pandas as pd

from facility_planner.errors import RulesPackError
from facility_planner.model import EXTERIOR_DOOR_ROLES, District, FactTable

FactKind = Literal["share", "count", "min", "value"]
Scope = Literal["building", "site"]

#: Rooms counted as large-capacity spaces for two-way communication (COPS Action 3, C4).
LARGE_SPACES = ("gym", "cafeteria", "locker_room", "auditorium", "library")
ENTRY_DOOR_ROLES = ("exterior_primary", "exterior_secondary")
PROGRAM_VALUES = {"in_place": 1.0, "in_progress": 0.5, "future": 0.0}
UNKNOWN_SUFFIX = "_unknown"


@dataclass
class FactResult:
    """What a fact function returns: Series aligned on the building (or site) index."""

    values: pd.Series
    evidence: pd.Series
    subjects: pd.Series
    unknown: pd.Series | None = None
    unknown_evidence: pd.Series | None = None


@dataclass
class FactContext:
    """The district, the date the facts hold on, and the index of the rows to fill.

    ``table(name)`` gives a district table (no geometry) with ``_pos``, the position of each
    row's building (or site) in ``index`` (-1 when it has none), so facts group by integer codes.
    """

    district: District
    as_of: pd.Timestamp
    index: pd.Index
    _tables: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict, repr=False)

    def table(self, name: str, key: str = "building_id") -> pd.DataFrame:
        if (name, key) not in self._tables:
            frame = pd.DataFrame(getattr(self.district, name).drop(columns="geometry", errors="ignore"))
            frame["_pos"] = (self.index.get_indexer(frame[key].astype(object).to_numpy())
                             if len(frame) else np.empty(0, dtype=np.int64))
            self._tables[(name, key)] = frame
        return self._tables[(name, key)]


@dataclass(frozen=True)
class FactSpec:
    """A registered fact: ``func`` is None for facts computed by another stage (``provider``)."""

    name: str
    scope: Scope
    description: str
    unit: str
    kind: FactKind
    func: Callable[[FactContext], FactResult] | None = None
    provider: str = "facts"


FACTS: dict[Scope, dict[str, FactSpec]] = {"building": {}, "site": {}}


def fact(name: str, *, description: str, unit: str, kind: FactKind = "value",
         scope: Scope = "building") -> Callable[[Callable[[FactContext], FactResult]],
                                                Callable[[FactContext], FactResult]]:
    """Register a fact function under ``name`` (decorator)."""
    def register(func: Callable[[FactContext], FactResult]) -> Callable[[FactContext], FactResult]:
        FACTS[scope][name] = FactSpec(name, scope, description, unit, kind, func)
        return func
    return register


def register_external(name: str, *, description: str, unit: str = "percent",
                      scope: Scope = "building", provider: str = "coverage") -> None:
    """Declare a fact another stage computes, so rules packs may name it."""
    FACTS[scope][name] = FactSpec(name, scope, description, unit, "value", None, provider)


def fact_spec(name: str, *, scope: Scope = "building") -> FactSpec | None:
    """The registered fact ``name`` of ``scope`` (None if not registered)."""
    return FACTS[scope].get(name)


def fact_catalog() -> pd.DataFrame:
    """Every registered fact: name, scope, unit, kind, provider and description."""
    rows = [{"name": s.name, "scope": s.scope, "unit": s.unit, "kind": s.kind,
             "provider": s.provider, "description": s.description}
            for scope in FACTS.values() for s in scope.values()]
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------------------------
# Building and site tables


def building_facts(district: District, *, as_of: date, names: list[str] | None = None) -> FactTable:
    """Measure every registered building fact (or only ``names``) for each building.

    Parameters
    ----------
    district
        The typed district.
    as_of
        Date the facts hold on (AED expiry).
    names
        Registered building facts to compute; default all computed here.

    Returns
    -------
    FactTable indexed by ``building_id``.
    """
    index = pd.Index(district.buildings["building_id"].astype(object), name="building_id")
    return _run(district, as_of=as_of, index=index, scope="building", names=names)


def site_facts(district: District, *, as_of: date, names: list[str] | None = None) -> FactTable:
    """Measure every registered site fact (programme status, review and assessment age) per site.

    Returns a FactTable indexed by ``site_id``.
    """
    ids = pd.concat([district.sites["site_id"], district.buildings["site_id"]]).dropna()
    index = pd.Index(pd.unique(ids.astype(object)), name="site_id")
    return _run(district, as_of=as_of, index=index, scope="site", names=names)


@contextmanager
def bulk_objects() -> Iterator[None]:
    """Pause the cyclic garbage collector while building many small evidence lists.

    The lists hold only strings (no cycles); collection passes triggered by their sheer number
    cost a third of the run time at district scale.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _run(district: District, *, as_of: date, index: pd.Index, scope: Scope,
         names: list[str] | None) -> FactTable:
    ctx = FactContext(district, pd.Timestamp(as_of), index)
    specs = [s for s in FACTS[scope].values() if s.func is not None]
    if names is not None:
        unknown = sorted(set(names) - {s.name for s in specs})
        if unknown:
            known = ", ".join(sorted(s.name for s in specs))
            raise RulesPackError(f"there is no {scope} fact named {', '.join(unknown)}; the {scope} "
                                 f"facts measured here are {known}")
        specs = [s for s in specs if s.name in names]
    values, evidence, subjects = {}, {}, {}
    for spec in specs:
        if spec.func is None:  # computed by another stage (filtered out above)
            continue
        with bulk_objects():
            result = spec.func(ctx)
        values[spec.name] = result.values.astype(float)
        evidence[spec.name] = result.evidence
        subjects[spec.name] = result.subjects.astype(float)
        if result.unknown is not None:
            key = spec.name + UNKNOWN_SUFFIX
            values[key] = result.unknown.astype(float)
            evidence[key] = result.unknown_evidence
            subjects[key] = result.subjects.astype(float)
    return FactTable(pd.DataFrame(values, index=index), pd.DataFrame(evidence, index=index),
                     pd.DataFrame(subjects, index=index))


# --------------------------------------------------------------------------------------------
# Helpers (vectorised over all assets at once)


def _unknown_of(result: FactResult) -> tuple[pd.Series, pd.Series]:
    """The unknown count and its evidence of a fact that has an unknown companion."""
    if result.unknown is None or result.unknown_evidence is None:
        raise LookupError("this fact has no unknown companion")
    return result.unknown, result.unknown_evidence


def _lists(keys: pd.Series | np.ndarray, labels: pd.Series | np.ndarray,
           index: pd.Index) -> pd.Series:
    """Group ``labels`` by ``keys`` (positions in ``index``) into lists (empty list when none)."""
    k = np.asarray(keys, dtype=np.int64)
    v = labels.to_numpy(dtype=object, na_value=None) if isinstance(labels, pd.Series) else np.asarray(labels, dtype=object)
    keep = k >= 0
    k, v = k[keep], v[keep]
    out: list[list[Any]] = [[] for _ in range(len(index))]
    if len(k):
        order = np.argsort(k, kind="stable")
        k, v = k[order], v[order]
        starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
        values = v.tolist()
        ends = [*starts[1:].tolist(), len(values)]
        for key, a, b in zip(k[starts].tolist(), starts.tolist(), ends, strict=True):
            out[key] = values[a:b]
    return pd.Series(out, index=index, dtype=object)


def _counts(keys: pd.Series | np.ndarray, index: pd.Index) -> pd.Series:
    """Rows per position of ``index`` (``keys`` are positions, -1 ignored)."""
    k = np.asarray(keys, dtype=np.int64)
    return pd.Series(np.bincount(k[k >= 0], minlength=len(index)).astype(float), index=index)


def _messages(mask: pd.Series, message: str) -> pd.Series:
    one = [message]
    return pd.Series([list(one) if m else [] for m in mask.to_numpy().tolist()], index=mask.index,
                     dtype=object)


def _nan_like(index: pd.Index) -> pd.Series:
    return pd.Series(np.nan, index=index)


def _not_inventoried(ctx: FactContext, sheet: str, *, unknown_companion: bool) -> FactResult:
    msg = f"no {sheet} recorded anywhere in the district (sheet not inventoried)"
    ev = pd.Series([[] for _ in ctx.index], index=ctx.index, dtype=object)
    unk = _messages(pd.Series(True, index=ctx.index), msg)
    return FactResult(_nan_like(ctx.index), ev, _nan_like(ctx.index),
                      _nan_like(ctx.index) if unknown_companion else None,
                      unk if unknown_companion else None)


def _share(ctx: FactContext, frame: pd.DataFrame, ok: pd.Series, *, id_col: str) -> FactResult:
    """Percent of the rows of ``frame`` whose ``ok`` is True, over rows whose ``ok`` is known."""
    okv = ok.to_numpy(dtype=float, na_value=np.nan)
    known = ~np.isnan(okv)
    keys = frame["_pos"].to_numpy()
    total = _counts(keys, ctx.index)
    n_known = _counts(keys[known], ctx.index)
    n_pass = _counts(keys[okv == 1], ctx.index)
    values = (100.0 * n_pass / n_known).where(n_known > 0)
    return FactResult(values, _lists(keys[okv == 0], frame[id_col][okv == 0], ctx.index), total,
                      total - n_known, _lists(keys[~known], frame[id_col][~known], ctx.index))


def _assets_count(ctx: FactContext, frame: pd.DataFrame, mask: pd.Series, *, sheet: str,
                  missing: str, unknown: pd.Series | None = None, id_col: str,
                  subjects: pd.Series | None = None) -> FactResult:
    """Number of assets where ``mask`` holds; ``unknown`` marks assets that might count.

    A sheet with no rows in the whole district gives NaN (not inventoried).
    """
    if not len(getattr(ctx.district, sheet)):
        return _not_inventoried(ctx, sheet, unknown_companion=True)
    keys = frame["_pos"].to_numpy()
    values = _counts(keys[mask.to_numpy()], ctx.index)
    unk = pd.Series(False, index=frame.index) if unknown is None else unknown
    unk = unk.to_numpy()
    n_unknown = _counts(keys[unk], ctx.index)
    evidence = _messages((values == 0) & (n_unknown == 0), missing)
    subj = pd.Series(1.0, index=ctx.index) if subjects is None else subjects
    return FactResult(values, evidence, subj, n_unknown,
                      _lists(keys[unk], frame[id_col][unk], ctx.index))


def _subset(ctx: FactContext, name: str, column: str, values: tuple[str, ...]) -> pd.DataFrame:
    key = (name, f"{column}={'|'.join(values)}")
    if key not in ctx._tables:
        frame = ctx.table(name)
        ctx._tables[key] = frame[frame[column].isin(list(values)).fillna(False).to_numpy()]
    return ctx._tables[key]


def _doors(ctx: FactContext, roles: tuple[str, ...]) -> pd.DataFrame:
    return _subset(ctx, "doors", "role", roles)


def _rooms(ctx: FactContext, types: tuple[str, ...]) -> pd.DataFrame:
    return _subset(ctx, "rooms", "room_type", types)


def _door_share(ctx: FactContext, roles: tuple[str, ...],
                ok: Callable[[pd.DataFrame], pd.Series], *,
                rooms_for: tuple[str, ...] = ()) -> FactResult:
    """Share of doors of ``roles`` passing ``ok``.

    With ``rooms_for`` (room types), a building that has such rooms but no door of ``roles``
    recorded is unknown: its doors were not inventoried.
    """
    if not len(ctx.district.doors):
        return _not_inventoried(ctx, "doors", unknown_companion=True)
    doors = _doors(ctx, roles)
    result = _share(ctx, doors, ok(doors), id_col="door_id")
    if rooms_for:
        rooms = _rooms(ctx, rooms_for)
        n_rooms = _counts(rooms["_pos"], ctx.index)
        gap = (result.subjects == 0) & (n_rooms > 0)
        if gap.any():
            unknown, unknown_evidence = _unknown_of(result)
            result.subjects = result.subjects.where(~gap, n_rooms)
            result.unknown = unknown.where(~gap, n_rooms)
            msg = [[f"no {' or '.join(roles)} doors recorded for {int(n)} room(s)"] if g else e
                   for g, n, e in zip(gap, n_rooms, unknown_evidence, strict=True)]
            result.unknown_evidence = pd.Series(msg, index=ctx.index, dtype=object)
    return result


def _room_share(ctx: FactContext, types: tuple[str, ...],
                ok: Callable[[pd.DataFrame], pd.Series]) -> FactResult:
    if not len(ctx.district.rooms):
        return _not_inventoried(ctx, "rooms", unknown_companion=True)
    rooms = _rooms(ctx, types)
    return _share(ctx, rooms, ok(rooms), id_col="room_id")


def _equipment(ctx: FactContext, kind: str, *, missing: str,
               subjects: pd.Series | None = None) -> FactResult:
    eq = ctx.table("equipment")
    return _assets_count(ctx, eq, eq["type"].eq(kind).fillna(False), sheet="equipment",
                         missing=missing, unknown=eq["type"].isna(), id_col="equipment_id",
                         subjects=subjects)


def _covered(glass: pd.Series, covering: pd.Series) -> pd.Series:
    """1 covered, 0 glass known and not covered, NaN otherwise (unknown glass or covering)."""
    cov = covering.to_numpy(dtype=float, na_value=np.nan)
    has = glass.to_numpy(dtype=float, na_value=np.nan)
    ok = np.where(cov == 1, 1.0, np.where((has == 1) & (cov == 0), 0.0, np.nan))
    return pd.Series(ok, index=glass.index)


def _primary_doors(ctx: FactContext) -> pd.Series:
    return _counts(_doors(ctx, ("exterior_primary",))["_pos"], ctx.index)


# --------------------------------------------------------------------------------------------
# Building facts: doors


@fact("classroom_doors_lockable", kind="share", unit="percent",
      description="Classroom doors lockable from inside the room or remotely (COPS M2).")
def classroom_doors_lockable(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ("classroom",), lambda d: d["lock_from_inside"] | d["remote_lock"],
                       rooms_for=("classroom",))


@fact("classroom_doors_lock_inside", kind="share", unit="percent",
      description="Classroom doors lockable from inside without stepping out.")
def classroom_doors_lock_inside(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ("classroom",), lambda d: d["lock_from_inside"],
                       rooms_for=("classroom",))


@fact("classroom_doors_remote_lock", kind="share", unit="percent",
      description="Classroom doors that can be locked remotely (central lockdown).")
def classroom_doors_remote_lock(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ("classroom",), lambda d: d["remote_lock"], rooms_for=("classroom",))


@fact("remote_locks_lockbox", kind="value", unit="percent",
      description="100 when a lockbox for responders is recorded in a building whose classroom "
                  "doors lock remotely, else 0; subjects = remote-locking classroom doors.")
def remote_locks_lockbox(ctx: FactContext) -> FactResult:
    if not len(ctx.district.doors):
        return _not_inventoried(ctx, "doors", unknown_companion=False)
    doors = _doors(ctx, ("classroom",))
    remote = _counts(doors["_pos"][doors["remote_lock"].fillna(False).to_numpy()],
                     ctx.index)
    boxes = _equipment(ctx, "lockbox", missing="").values
    values = pd.Series(np.where(boxes > 0, 100.0, np.where(boxes.isna(), np.nan, 0.0)),
                       index=ctx.index)
    evidence = pd.Series(
        [[f"no lockbox recorded; {int(n)} classroom door(s) lock remotely"] if v == 0 and n else []
         for v, n in zip(values, remote, strict=True)], index=ctx.index, dtype=object)
    return FactResult(values, evidence, remote)


@fact("classroom_door_glass_covered", kind="share", unit="percent",
      description="Classroom doors with glass whose glass has a removable covering (COPS M3).")
def classroom_door_glass_covered(ctx: FactContext) -> FactResult:
    if not len(ctx.district.doors):
        return _not_inventoried(ctx, "doors", unknown_companion=True)
    doors = _doors(ctx, ("classroom",))
    doors = doors[doors["has_glass"].ne(False).fillna(True).to_numpy()]
    return _share(ctx, doors, _covered(doors["has_glass"], doors["glass_covering"]), id_col="door_id")


@fact("classroom_doors_numbered", kind="share", unit="percent",
      description="Classroom doors carrying a number visible to responders (COPS M1).")
def classroom_doors_numbered(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ("classroom",), lambda d: d["numbered"], rooms_for=("classroom",))


@fact("exterior_doors_numbered", kind="share", unit="percent",
      description="Exterior doors carrying a number visible to responders.")
def exterior_doors_numbered(ctx: FactContext) -> FactResult:
    return _door_share(ctx, EXTERIOR_DOOR_ROLES, lambda d: d["numbered"])


@fact("primary_doors_access_control", kind="share", unit="percent",
      description="Primary exterior doors with electronic access control.")
def primary_doors_access_control(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ("exterior_primary",), lambda d: d["access_control"])


@fact("entry_doors_access_control", kind="share", unit="percent",
      description="Primary and secondary exterior doors (the doors people enter by) with "
                  "electronic access control (COPS A1).")
def entry_doors_access_control(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ENTRY_DOOR_ROLES, lambda d: d["access_control"])


@fact("entry_doors_monitored", kind="share", unit="percent",
      description="Primary and secondary exterior doors with a door position switch.")
def entry_doors_monitored(ctx: FactContext) -> FactResult:
    return _door_share(ctx, ENTRY_DOOR_ROLES, lambda d: d["position_monitored"])


@fact("exterior_doors_monitored", kind="share", unit="percent",
      description="All exterior doors, egress-only included, with a door position switch.")
def exterior_doors_monitored(ctx: FactContext) -> FactResult:
    return _door_share(ctx, EXTERIOR_DOOR_ROLES, lambda d: d["position_monitored"])


@fact("exterior_doors_remote_lock", kind="share", unit="percent",
      description="Exterior doors that can be locked remotely.")
def exterior_doors_remote_lock(ctx: FactContext) -> FactResult:
    return _door_share(ctx, EXTERIOR_DOOR_ROLES, lambda d: d["remote_lock"])


# Building facts: rooms


@fact("classrooms_hard_corner", kind="share", unit="percent",
      description="Classrooms with a secure, uncluttered hard corner (COPS M4).")
def classrooms_hard_corner(ctx: FactContext) -> FactResult:
    return _room_share(ctx, ("classroom",), lambda r: r["hard_corner"])


@fact("classroom_windows_covered", kind="share", unit="percent",
      description="Classrooms with windows whose windows have quick-deploy coverings (COPS M3).")
def classroom_windows_covered(ctx: FactContext) -> FactResult:
    if not len(ctx.district.rooms):
        return _not_inventoried(ctx, "rooms", unknown_companion=True)
    rooms = _rooms(ctx, ("classroom",))
    rooms = rooms[rooms["windows"].ne(False).fillna(True).to_numpy()]
    return _share(ctx, rooms, _covered(rooms["windows"], rooms["window_covering"]), id_col="room_id")


@fact("classrooms_two_way", kind="share", unit="percent",
      description="Classrooms with two-way emergency communication to the office (COPS C4).")
def classrooms_two_way(ctx: FactContext) -> FactResult:
    return _room_share(ctx, ("classroom",), lambda r: r["two_way_comm"])


@fact("offices_two_way", kind="share", unit="percent",
      description="Offices with two-way emergency communication (COPS C4).")
def offices_two_way(ctx: FactContext) -> FactResult:
    return _room_share(ctx, ("office",), lambda r: r["two_way_comm"])


@fact("large_spaces_two_way", kind="share", unit="percent",
      description="Large-capacity spaces (gym, cafeteria, locker room, auditorium, library) with "
                  "two-way emergency communication (COPS C4).")
def large_spaces_two_way(ctx: FactContext) -> FactResult:
    return _room_share(ctx, LARGE_SPACES, lambda r: r["two_way_comm"])


@fact("classrooms_panic_alarm", kind="share", unit="percent",
      description="Classrooms with a panic alarm recorded in the room.")
def classrooms_panic_alarm(ctx: FactContext) -> FactResult:
    if not len(ctx.district.rooms) or not len(ctx.district.equipment):
        return _not_inventoried(ctx, "rooms" if not len(ctx.district.rooms) else "equipment",
                                unknown_companion=True)
    eq = ctx.table("equipment")
    alarmed = set(eq.loc[eq["type"].eq("panic_alarm").fillna(False).to_numpy(), "room_id"].dropna())
    rooms = _rooms(ctx, ("classroom",))
    ok = pd.Series(rooms["room_id"].isin(alarmed).to_numpy(), index=rooms.index, dtype="boolean")
    return _share(ctx, rooms, ok, id_col="room_id")


# Building facts: cameras


def _cameras(ctx: FactContext, mount: str | None, name: str) -> FactResult:
    cams = ctx.table("cameras")
    status = cams["status"]
    working = status.eq("working").fillna(False)
    unknown = status.isna()
    if mount is not None:
        here = cams["mount"].eq(mount)
        # a working camera of unrecorded mount might be this one
        unknown = (here.fillna(False) & unknown) | (here.isna() & (working | unknown))
        working = working & here.fillna(False)
    result = _assets_count(ctx, cams, working, sheet="cameras", missing=f"no working {name} recorded",
                           unknown=unknown, id_col="camera_id")
    broken = status.isin(["faulty", "offline"]).fillna(False).to_numpy()
    if mount is not None:
        broken = broken & cams["mount"].eq(mount).fillna(False).to_numpy()
    faulty = _lists(cams["_pos"][broken],
                    cams["camera_id"][broken].astype(object) + " (not working)", ctx.index)
    result.evidence = pd.Series([a + b for a, b in zip(result.evidence, faulty, strict=True)],
                                index=ctx.index, dtype=object)
    return result


@fact("cameras_working", kind="count", unit="cameras",
      description="Working cameras, interior and exterior (COPS A2). Evidence names faulty or "
                  "offline cameras.")
def cameras_working(ctx: FactContext) -> FactResult:
    return _cameras(ctx, None, "camera")


@fact("cameras_exterior_working", kind="count", unit="cameras",
      description="Working exterior cameras.")
def cameras_exterior_working(ctx: FactContext) -> FactResult:
    return _cameras(ctx, "exterior", "exterior camera")


@fact("cameras_interior_working", kind="count", unit="cameras",
      description="Working interior cameras.")
def cameras_interior_working(ctx: FactContext) -> FactResult:
    return _cameras(ctx, "interior", "interior camera")


@fact("video_retention_days", kind="min", unit="days",
      description="Shortest video retention among working cameras (the weakest camera decides); "
                  "evidence names the cameras that set it; subjects = working cameras.")
def video_retention_days(ctx: FactContext) -> FactResult:
    cams = ctx.table("cameras")
    if not len(cams):
        return _not_inventoried(ctx, "cameras", unknown_companion=True)
    cams = cams[cams["status"].eq("working").fillna(False).to_numpy()]
    days = cams["recording_days"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    keys = cams["_pos"].to_numpy()
    known = ~np.isnan(days) & (keys >= 0)
    mins = np.full(len(ctx.index), np.inf)
    np.minimum.at(mins, keys[known], days[known])
    mins[np.isinf(mins)] = np.nan
    at_min = known & (days == mins[np.clip(keys, 0, None)])
    labels = np.array([f"{c}: {d:g} days" for c, d in zip(cams["camera_id"].astype(object), days,
                                                           strict=True)], dtype=object)
    unknown = np.isnan(days)
    return FactResult(pd.Series(mins, index=ctx.index), _lists(keys[at_min], labels[at_min], ctx.index),
                      _counts(keys, ctx.index), _counts(keys[unknown], ctx.index),
                      _lists(keys[unknown], cams["camera_id"][unknown], ctx.index))


# Building facts: AEDs and equipment


def _aed_dates(ctx: FactContext) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """AEDs, whether past expiry (pads or battery) and whether an expiry date is missing."""
    aeds = ctx.table("aeds")
    pads, battery = aeds["pads_expiry"], aeds["battery_expiry"]
    expired = ((pads <= ctx.as_of).fillna(False) | (battery <= ctx.as_of).fillna(False)).to_numpy()
    undated = (pads.isna() | battery.isna()).to_numpy() & ~expired
    return aeds, expired, undated


@fact("aeds", kind="count", unit="AEDs", description="AEDs recorded in the building.")
def aeds_count(ctx: FactContext) -> FactResult:
    aeds = ctx.table("aeds")
    return _assets_count(ctx, aeds, pd.Series(True, index=aeds.index), sheet="aeds",
                         missing="no AED recorded", id_col="aed_id")


@fact("aeds_in_service", kind="count", unit="AEDs",
      description="AEDs whose pads and battery are within their expiry date (COPS C1); AEDs "
                  "with a blank expiry date are unknown. With none in service, evidence names the "
                  "expired AEDs (or says none is recorded).")
def aeds_in_service(ctx: FactContext) -> FactResult:
    aeds, expired, undated = _aed_dates(ctx)
    result = _assets_count(ctx, aeds, pd.Series(~expired & ~undated, index=aeds.index),
                           sheet="aeds", missing="no AED in service recorded",
                           unknown=pd.Series(undated, index=aeds.index), id_col="aed_id")
    if len(aeds):
        stale = aeds_expired(ctx).evidence
        result.evidence = pd.Series([x if (x and v == 0 and n == 0) else e for e, x, v, n in zip(
            result.evidence, stale, result.values, _unknown_of(result)[0], strict=True)],
            index=ctx.index, dtype=object)
    return result


@fact("aeds_expired", kind="count", unit="AEDs",
      description="AEDs with pads or battery past expiry; evidence names them and the date.")
def aeds_expired(ctx: FactContext) -> FactResult:
    aeds, expired, undated = _aed_dates(ctx)
    if not len(aeds):
        return _not_inventoried(ctx, "aeds", unknown_companion=True)
    keys = aeds["_pos"].to_numpy()
    labels = []
    for aed_id, pads, battery in zip(aeds["aed_id"][expired], aeds["pads_expiry"][expired],
                                     aeds["battery_expiry"][expired], strict=True):
        parts = [f"{what} expired {d:%Y-%m-%d}" for what, d in (("pads", pads), ("battery", battery))
                 if pd.notna(d) and d <= ctx.as_of]
        labels.append(f"{aed_id} ({', '.join(parts)})")
    labels = pd.Series(labels, index=aeds.index[expired], dtype=object)
    return FactResult(_counts(keys[expired], ctx.index), _lists(keys[expired], labels, ctx.index),
                      _counts(keys, ctx.index), _counts(keys[undated], ctx.index),
                      _lists(keys[undated], aeds["aed_id"][undated], ctx.index))


#: Equipment counted per building: fact name -> (equipment type, unit, description, evidence when
#: none is recorded, whether the fact is about the primary entrances: then a building without one
#: is not applicable).
EQUIPMENT_FACTS: dict[str, tuple[str, str, str, str, bool]] = {
    "stop_the_bleed_kits": ("stop_the_bleed_kit", "kits",
                            "Stop-the-bleed kits recorded in the building (COPS C1).",
                            "no stop-the-bleed kit recorded", False),
    "panic_alarms": ("panic_alarm", "alarms", "Silent panic alarms recorded in the building (COPS C3).",
                     "no panic alarm recorded", False),
    "lockboxes": ("lockbox", "lockboxes", "Exterior key lockboxes for responders.",
                  "no lockbox recorded", False),
    "intercom_stations": ("intercom_station", "stations", "Intercom stations recorded in the building.",
                          "no intercom station recorded", False),
    "mass_notification_systems": ("mass_notification", "systems",
                                  "Mass notification systems recorded in the building.",
                                  "no mass notification system recorded", False),
    "visitor_intercoms": ("visitor_intercom", "intercoms",
                          "Visitor intercoms; subjects = primary entrances (none: not applicable).",
                          "no visitor intercom recorded", True),
    "visitor_management_systems": ("visitor_management", "systems",
                                   "Electronic visitor management systems; subjects = primary entrances.",
                                   "no visitor management system recorded", True),
    "secured_vestibules": ("secured_vestibule", "vestibules",
                           "Secured entry vestibules; subjects = primary entrances.",
                           "no secured vestibule recorded", True),
}


def _register_equipment(name: str, kind: str, unit: str, description: str, missing: str,
                        per_entrance: bool) -> None:
    @fact(name, kind="count", unit=unit, description=description)
    def count(ctx: FactContext) -> FactResult:
        return _equipment(ctx, kind, missing=missing,
                          subjects=_primary_doors(ctx) if per_entrance else None)


for _name, _spec in EQUIPMENT_FACTS.items():
    _register_equipment(_name, *_spec)


@fact("radio_repeaters", kind="count", unit="repeaters",
      description="Responder radio repeaters (BDA or DAS) serving the building (COPS C2).")
def radio_repeaters(ctx: FactContext) -> FactResult:
    reps = ctx.table("repeaters")
    return _assets_count(ctx, reps, reps["kind"].isin(["bda", "das"]).fillna(False),
                         sheet="repeaters", missing="no radio repeater recorded",
                         unknown=reps["kind"].isna(), id_col="repeater_id")


def _psap_mask(reps: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    linked = reps["kind"].eq("psap_radio").fillna(False) | reps["psap_linked"].fillna(False)
    unknown = ~linked & (reps["kind"].isna() | reps["psap_linked"].isna())
    return linked, unknown


@fact("psap_radios", kind="count", unit="radios",
      description="Radios linked directly to the 911 centre (PSAP) in the building (Action 5).")
def psap_radios(ctx: FactContext) -> FactResult:
    reps = ctx.table("repeaters")
    linked, unknown = _psap_mask(reps)
    return _assets_count(ctx, reps, linked, sheet="repeaters", missing="no PSAP-linked radio recorded",
                         unknown=unknown, id_col="repeater_id")


@fact("building_number_posted", kind="value", unit="percent",
      description="100 when a building number is posted for responders, else 0 (COPS M1).")
def building_number_posted(ctx: FactContext) -> FactResult:
    b = ctx.district.buildings
    posted = b["building_number"].astype("string").str.strip().fillna("").ne("").to_numpy()
    values = pd.Series(np.where(posted, 100.0, 0.0), index=ctx.index)
    return FactResult(values, _messages(~pd.Series(posted, index=ctx.index),
                                        "building number not posted"),
                      pd.Series(1.0, index=ctx.index))


# --------------------------------------------------------------------------------------------
# Site facts


def _days_since(dates: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    return (as_of - pd.to_datetime(dates)).dt.days.astype(float)


@fact("assessment_age_days", scope="site", kind="value", unit="days",
      description="Days since the site's last comprehensive safety assessment (Action 1).")
def assessment_age_days(ctx: FactContext) -> FactResult:
    sites = ctx.district.sites.drop_duplicates("site_id").set_index("site_id")
    last = sites["last_assessment"].reindex(ctx.index)
    values = _days_since(last, ctx.as_of)
    evidence = pd.Series([[f"last assessment {d:%Y-%m-%d} ({v:g} days before {ctx.as_of:%Y-%m-%d})"]
                          if pd.notna(d) else ["no assessment date recorded"]
                          for d, v in zip(last, values, strict=True)], index=ctx.index, dtype=object)
    return FactResult(values, evidence, pd.Series(1.0, index=ctx.index))


def _program(ctx: FactContext, action: int) -> pd.DataFrame:
    p = ctx.district.programs
    p = p[p["action"].eq(action).fillna(False).to_numpy()].drop_duplicates("site_id", keep="last")
    return p.set_index("site_id").reindex(ctx.index)


def _register_action(action: int) -> None:
    @fact(f"action_{action}_status", scope="site", kind="value", unit="status",
          description=f"Programme status of Essential Action {action}: in place 1, in progress "
                      "0.5, future 0; not needed = not applicable; blank = unknown.")
    def status(ctx: FactContext) -> FactResult:
        p = _program(ctx, action)
        st = p["status"].astype(object)
        values = st.map(PROGRAM_VALUES).astype(float)
        subjects = pd.Series(np.where(st.eq("not_needed"), 0.0, 1.0), index=ctx.index)
        evidence = pd.Series([[f"Action {action}: {s}"] if isinstance(s, str) and s != "in_place"
                              else ([] if isinstance(s, str) else [f"Action {action}: no status recorded"])
                              for s in st], index=ctx.index, dtype=object)
        return FactResult(values, evidence, subjects)

    @fact(f"action_{action}_review_days", scope="site", kind="value", unit="days",
          description=f"Days since Essential Action {action} was last reviewed; applies when the "
                      "action is in place or in progress.")
    def review(ctx: FactContext) -> FactResult:
        p = _program(ctx, action)
        values = _days_since(p["last_reviewed"], ctx.as_of)
        active = p["status"].isin(["in_place", "in_progress"]).fillna(False).to_numpy()
        dates = p["last_reviewed"].dt.strftime("%Y-%m-%d").astype(object)
        days = values.map("{:g}".format).astype(object)
        text = pd.Series([f"Action {action} last reviewed {d} ({n} days ago)" if isinstance(d, str) else None
                          for d, n in zip(dates, days, strict=True)], index=ctx.index, dtype=object)
        missing = f"Action {action}: no review date recorded"
        evidence = pd.Series([[t] if isinstance(t, str) else [missing] for t in text.tolist()],
                             index=ctx.index, dtype=object)
        return FactResult(values, evidence, pd.Series(active.astype(float), index=ctx.index))


for _action in range(1, 11):
    _register_action(_action)


def _site_sum(ctx: FactContext, result: FactResult) -> FactResult:
    """Add a building-level count fact up to sites (NaN stays NaN when the sheet is empty)."""
    site_of = ctx.district.buildings.set_index("building_id")["site_id"]
    sites = site_of.reindex(result.values.index).to_numpy(dtype=object)
    values = result.values.groupby(sites).sum(min_count=1).reindex(ctx.index)
    building_unknown, building_unknown_evidence = _unknown_of(result)
    unknown = building_unknown.groupby(sites).sum(min_count=1).reindex(ctx.index)
    merged: dict[object, list[Any]] = {}
    for site, ids in zip(sites, building_unknown_evidence, strict=True):
        if ids:
            merged.setdefault(site, []).extend(ids)
    unknown_evidence = pd.Series([list(dict.fromkeys(merged.get(i, []))) for i in ctx.index],
                                 index=ctx.index, dtype=object)
    return FactResult(values, pd.Series([[] for _ in ctx.index], index=ctx.index, dtype=object),
                      pd.Series(1.0, index=ctx.index), unknown, unknown_evidence)


def _building_fact(name: str) -> Callable[[FactContext], FactResult]:
    """The function of a building fact computed here (a programming error if there is none)."""
    spec = fact_spec(name)
    if spec is None or spec.func is None:
        raise LookupError(f"no building fact named {name!r} is computed in facts.py")
    return spec.func


def _building_ctx(ctx: FactContext) -> FactContext:
    index = pd.Index(ctx.district.buildings["building_id"].astype(object), name="building_id")
    return FactContext(ctx.district, ctx.as_of, index)


@fact("psap_radios", scope="site", kind="count", unit="radios",
      description="Radios linked directly to the 911 centre (PSAP) anywhere on the site (Action 5).")
def site_psap_radios(ctx: FactContext) -> FactResult:
    result = _site_sum(ctx, psap_radios(_building_ctx(ctx)))
    result.evidence = _messages(result.values.eq(0), "no PSAP-linked radio recorded on the site")
    return result


@fact("mass_notification_systems", scope="site", kind="count", unit="systems",
      description="Mass notification systems recorded anywhere on the site.")
def site_mass_notification(ctx: FactContext) -> FactResult:
    result = _site_sum(ctx, _building_fact("mass_notification_systems")(_building_ctx(ctx)))
    result.evidence = _messages(result.values.eq(0), "no mass notification system recorded")
    return result


@fact("buildings_numbered", scope="site", kind="share", unit="percent",
      description="Buildings of the site with a number posted for responders (Action 5); "
                  "evidence names the buildings without one.")
def buildings_numbered(ctx: FactContext) -> FactResult:
    b = ctx.table("buildings", key="site_id")
    posted = b["building_number"].astype("string").str.strip().fillna("").ne("")
    return _share(ctx, b, posted.astype("boolean"), id_col="building_id")


# --------------------------------------------------------------------------------------------
# Facts computed by geo.compute_coverage (Coverage.facts), declared so rules may use them.

for _name, _text in {
    "camera_entrance_coverage": "Exterior doors seen by a camera at recognise density or better.",
    "camera_perimeter_coverage": "Footprint perimeter watched by cameras.",
    "camera_outdoor_coverage": "Parking and outdoor area watched by cameras.",
    "radio_area_coverage": "Floor area with responder radio signal at least -95 dBm (IFC 510).",
    "radio_critical_coverage": "Critical areas with responder radio signal (NFPA 1225).",
    "aed_reach_coverage": "Floor area within the AED walking time of an AED.",
    "kit_reach_coverage": "Floor area within the walking time of a stop-the-bleed kit.",
}.items():
    register_external(_name, description=_text + " Computed by geo.compute_coverage.")
