"""Values as a facilities manager types them: yes/no/blank, ISO dates, ids, nullable integers."""

from __future__ import annotations

import numpy as np
import pandas as pd

from facility_planner.demo.data import REFERENCE_DATE


def _yes_no(rng: np.random.Generator, p_yes: np.ndarray | float, p_blank: float, n: int) -> np.ndarray:
    """'Y'/'N'/None as a facilities manager types them (None = blank = unknown)."""
    u = rng.random(n)
    blank = rng.random(n) < p_blank
    out = np.where(u < p_yes, "Y", "N").astype(object)
    out[blank] = None
    return out


def _iso(rng: np.random.Generator, low: int, high: int, n: int, p_blank: float = 0.0) -> np.ndarray:
    """ISO date strings ``low``..``high`` days from the reference date (None when blank)."""
    days = rng.integers(low, high, n).astype("timedelta64[D]")
    out = (np.datetime64(REFERENCE_DATE) + days).astype(str).astype(object)
    out[rng.random(n) < p_blank] = None
    return out


def _ids(prefix: np.ndarray, sep: str, numbers: np.ndarray, width: int) -> np.ndarray:
    if not len(numbers):
        return np.array([], dtype=object)
    nums = np.strings.zfill(np.asarray(numbers).astype(str), width)
    return np.strings.add(np.strings.add(np.asarray(prefix, dtype=str), sep), nums).astype(object)


def _rank(groups: np.ndarray) -> np.ndarray:
    """0-based position of each element within its group, in array order."""
    return pd.Series(groups).groupby(groups, sort=False).cumcount().to_numpy()


def _na_int(values: np.ndarray, missing: np.ndarray | None = None) -> pd.arrays.IntegerArray:
    arr = pd.array(np.asarray(values, dtype="int64"), dtype="Int64")
    if missing is not None:
        arr[missing] = pd.NA
    return arr
