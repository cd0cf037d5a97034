"""Small array helpers shared by the coverage modules (grouping, ids, per-building evidence)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from time import perf_counter

import numpy as np
import pandas as pd
import shapely

from facility_planner.model import District

#: ``None`` as a 0-d object array: ``np.where(mask, x, NONE)`` is ``np.where(mask, x, None)``
#: (same broadcasting, object result), in a form numpy's type stubs accept. Never write into it.
NONE: np.ndarray = np.array(None, dtype=object)


def index_of(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each key in ``index`` (-1 when missing or <NA>)."""
    return positions(keys.astype("string").fillna("\x00"), index)


def positions(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """``index.get_indexer`` of the keys as Python objects (-1 when missing), each distinct key
    looked up once (layers repeat a few thousand ids over many rows)."""
    codes, distinct = pd.factorize(keys, use_na_sentinel=False)
    at = index.get_indexer(pd.Series(distinct, dtype=keys.dtype).to_numpy(dtype=object))
    out: np.ndarray = at[codes] if len(at) else np.full(len(codes), -1, dtype=np.intp)
    return out


def union_by(geoms: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """Union of ``geoms`` per group code (0..n_groups-1); None for groups with nothing.

    One ``union_all`` per group (not per asset): GEOS has no grouped union.
    """
    out = np.full(n_groups, None, dtype=object)
    if len(geoms) == 0:
        return out
    order = np.argsort(groups, kind="stable")
    g = groups[order]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    ends = np.r_[starts[1:], len(g)]
    single = ends - starts == 1
    out[g[starts[single]]] = geoms[order[starts[single]]]
    for s, e in zip(starts[~single], ends[~single], strict=True):
        out[g[s]] = shapely.union_all(geoms[order[s:e]])
    return out


def lists_by(labels: Iterable[str], groups: np.ndarray, n_groups: int) -> list[list[str]]:
    """Strings gathered into one list per group code (empty lists where none)."""
    out: list[list[str]] = [[] for _ in range(n_groups)]
    for label, group in zip(labels, groups.tolist(), strict=True):
        if group >= 0:
            out[group].append(str(label))
    return out


def bincount(groups: np.ndarray, n_groups: int, weights: np.ndarray | None = None) -> np.ndarray:
    """``np.bincount`` that ignores negative group codes."""
    ok = groups >= 0
    return np.bincount(groups[ok], weights=None if weights is None else weights[ok],
                       minlength=n_groups).astype(float)


def percent(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """100 * part / whole, NaN where whole is 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * part / np.where(whole > 0, whole, 1.0)
        return np.where(whole > 0, np.clip(share, 0.0, 100.0), np.nan)


def fmt_pct(value: float) -> str:
    return f"{value:.0f}%"


class Fact:
    """One fact column over all buildings: values (NaN = unknown), evidence lists, subjects."""

    def __init__(self, n: int) -> None:
        self.values = np.full(n, np.nan)
        self.evidence: list[list[str]] = [[] for _ in range(n)]
        self.subjects = np.zeros(n)

    def note(self, groups: np.ndarray, texts: Iterable[str]) -> None:
        """Append one text to the evidence of each building code in ``groups`` (negatives skipped)."""
        for group, text in zip(groups.tolist(), texts, strict=True):
            if group >= 0:
                self.evidence[group].append(text)


@contextmanager
def timed(profile: dict[str, float] | None, stage: str) -> Iterator[None]:
    """Add the wall time of the block to ``profile[stage]`` (no-op when profile is None)."""
    start = perf_counter()
    try:
        yield
    finally:
        if profile is not None:
            profile[stage] = profile.get(stage, 0.0) + perf_counter() - start


def points_along(lines: np.ndarray, which: np.ndarray, fractions: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates at ``fractions`` (0-1) of the length of ``lines[which]``.

    ``shapely.line_interpolate_point`` walks the line from its start for every point; this finds
    the segment of each point with one ``searchsorted`` over the cumulative lengths of all lines.
    Multi-part lines are walked part after part, as GEOS does.
    """
    if len(which) == 0:
        return np.empty((0, 2))
    parts, part_of = shapely.get_parts(lines, return_index=True)
    xy, coord_part = shapely.get_coordinates(parts, return_index=True)
    line_of = part_of[coord_part]
    seg = xy[1:] - xy[:-1]
    seg_len = np.sqrt(seg[:, 0] * seg[:, 0] + seg[:, 1] * seg[:, 1])
    seg_len[coord_part[1:] != coord_part[:-1]] = 0.0  # the jump between two parts
    cum = np.r_[0.0, np.cumsum(seg_len)]  # length from the first coordinate of all to each coordinate
    first = np.searchsorted(line_of, np.arange(len(lines)))
    last = np.searchsorted(line_of, np.arange(len(lines)), side="right") - 1
    total = cum[last] - cum[first]
    target = cum[first[which]] + np.asarray(fractions, dtype=float) * total[which]
    # Segment s runs from coordinate s to s + 1; the first whose end reaches the target.
    s = np.searchsorted(cum[1:], target, side="left")
    s = np.clip(s, first[which], np.maximum(last[which] - 1, first[which]))
    length = seg_len[s]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.where(length > 0, (target - cum[s]) / length, 0.0)
    out: np.ndarray = xy[s] + np.clip(t, 0.0, 1.0)[:, None] * seg[s]
    return out


def near_xy(targets: np.ndarray, xy: np.ndarray, group: np.ndarray, *, distance: float) -> np.ndarray:
    """Whether each point ``xy`` lies within ``distance`` of any of ``targets``.

    Points come in groups (``group`` codes, sorted, e.g. samples along one ring). Candidate
    (point, target) pairs are found by envelopes in numpy, so only points near a target become
    geometries; points inside a target need none (``intersects_xy`` on prepared targets).
    """
    near = np.zeros(len(xy), dtype=bool)
    if not len(targets) or not len(xy):
        return near
    n_groups = int(group.max()) + 1
    lo = np.full((n_groups, 2), np.inf)
    hi = np.full((n_groups, 2), -np.inf)
    np.minimum.at(lo, group, xy)
    np.maximum.at(hi, group, xy)
    t_box = shapely.bounds(targets) + np.array([-distance, -distance, distance, distance])
    g_i, t_i = shapely.STRtree(shapely.box(*t_box.T)).query(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    # Every point of each candidate group against that target's envelope.
    start = np.searchsorted(group, np.arange(n_groups))
    count = np.bincount(group, minlength=n_groups)[g_i]
    p = np.repeat(start[g_i] - np.cumsum(count) + count, count) + np.arange(int(count.sum()))
    t = np.repeat(t_i, count)
    box = t_box[t]
    ok = (xy[p, 0] >= box[:, 0]) & (xy[p, 1] >= box[:, 1]) & (xy[p, 0] <= box[:, 2]) & (xy[p, 1] <= box[:, 3])
    p, t = p[ok], t[ok]
    shapely.prepare(targets)
    near[p[shapely.intersects_xy(targets[t], xy[p, 0], xy[p, 1])]] = True
    rest = ~near[p]
    p, t = p[rest], t[rest]
    if len(p):
        pts_of, inv = np.unique(p, return_inverse=True)
        pts = shapely.points(xy[pts_of])
        near[p[shapely.dwithin(targets[t], pts[inv], distance)]] = True
    return near


EMPTY = shapely.from_wkt("POLYGON EMPTY")


@dataclass
class Frame:
    """Positions shared by the coverage stages: buildings, their sites and footprints."""

    building_ids: pd.Index
    site_ids: pd.Index
    building_site: np.ndarray  # site position of each building (-1: none)
    footprints: np.ndarray  # object array, None where no footprint
    has_footprint: np.ndarray

    @classmethod
    def of(cls, district: District) -> Frame:
        b = district.buildings
        site_ids = pd.Index(pd.unique(pd.concat([
            district.sites["site_id"].astype("string"), b["site_id"].astype("string")]).dropna()),
            name="site_id")
        has = b["has_footprint"].to_numpy(dtype=bool)
        fp = np.asarray(b.geometry.values, dtype=object).copy()
        fp[~has] = None
        return cls(district.building_ids, site_ids, index_of(b["site_id"], site_ids), fp, has)

    @property
    def n(self) -> int:
        return len(self.building_ids)


def site_of(frame: Frame, b: np.ndarray) -> np.ndarray:
    s = frame.building_site[b] if len(b) else np.empty(0, int)
    ids = np.asarray(frame.site_ids, dtype=object)
    return np.where(s >= 0, ids[np.maximum(s, 0)] if len(ids) else NONE, NONE)


def asset_floor(table: pd.DataFrame, default: int) -> np.ndarray:
    """Floor of each asset: its ``floor`` column when the inventory carries one, else ``default``."""
    if "floor" not in table:
        return np.full(len(table), float(default))
    floor = pd.to_numeric(table["floor"], errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(floor), floor, float(default))
