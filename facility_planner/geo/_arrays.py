"""Small array helpers shared by the coverage modules (grouping, ids, per-building evidence)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from time import perf_counter

import numpy as np
import pandas as pd
import shapely


def index_of(keys: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of each key in ``index`` (-1 when missing or <NA>)."""
    values = keys.astype("string").fillna("\x00").to_numpy(dtype=object)
    return index.get_indexer(values)


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
