"""Where campuses stand: the city, rural and mixed layouts."""

from __future__ import annotations

import numpy as np

from facility_planner.demo.data import CITY_SCHOOLS_PER_KM2, LAYOUTS, Layout


def campus_positions(diag: np.ndarray, jitter: np.ndarray, *, layout: Layout = "mixed",
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Campus centres (m east and north of the origin) for a layout.

    ``diag`` is each campus's diagonal (m), ``jitter`` (n, 2) uniform draws in [-1, 1].

    - "rural": a jittered grid, campuses 3 km apart or more, never touching.
    - "city": urban density (``CITY_SCHOOLS_PER_KM2``) on a grid of campus-sized cells, a third
      of the campuses on the block of another one (edges touching or overlapping, as schools
      sharing a campus), some schools at another's address (the same point, as geocoding
      fall-backs stack them), and from 50 schools one pile of up to 24 on the central point.
    - "mixed": districts of 12 schools or fewer stand on a tight jittered grid (the sample); larger
      ones put 40 % of the schools in a town (city density) east of the rest, which stand rural.
    """
    n = len(diag)
    lrng = np.random.default_rng([seed, 2])
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}")
    if layout == "rural":
        return _grid_positions(diag, jitter, gap=3000.0 + 2000.0 * lrng.random())
    if layout == "city":
        return _city_positions(diag, lrng)
    if n <= 12:
        return _grid_positions(diag, jitter, gap=60.0)
    town = np.zeros(n, dtype=bool)
    town[lrng.choice(n, int(round(0.4 * n)), replace=False)] = True
    x, y = np.empty(n), np.empty(n)
    x[~town], y[~town] = _grid_positions(diag[~town], jitter[~town], gap=3000.0)
    cx, cy = _city_positions(diag[town], lrng)
    east = float(np.max(x[~town], initial=0.0)) + float(diag.max()) + 2000.0
    x[town], y[town] = cx - cx.min() + east, cy  # the town east of the farmland
    return x, y


def _grid_positions(diag: np.ndarray, jitter: np.ndarray, *, gap: float) -> tuple[np.ndarray, np.ndarray]:
    """A jittered square grid with cells ``gap`` larger than the largest campus."""
    n = len(diag)
    if not n:
        return np.empty(0), np.empty(0)
    cell = float(diag.max()) + gap
    cols = int(np.ceil(np.sqrt(n)))
    order = np.arange(n)
    gx = (order % cols - (cols - 1) / 2) * cell
    gy = ((cols - 1) / 2 - order // cols) * cell
    slack = (cell - diag) / 2 - 20.0
    if gap > 1000:  # rural: never closer than 0.6 of a cell
        slack = np.minimum(slack, 0.2 * cell)
    return gx + jitter[:, 0] * slack, gy + jitter[:, 1] * slack


def _city_positions(diag: np.ndarray, lrng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Urban density: campus-sized cells; a third of the schools on the block of another one
    (sharing its campus edge), some at another's address, and one pile on the central point."""
    n = len(diag)
    if not n:
        return np.empty(0), np.empty(0)
    cell = float(diag.max()) + 15.0
    side = max(np.sqrt(n / CITY_SCHOOLS_PER_KM2) * 1000.0, cell * (np.sqrt(n) + 2))
    m = int(np.ceil(side / cell))
    cells = lrng.choice(m * m, n, replace=False)
    x, y = (cells % m - (m - 1) / 2) * cell, ((m - 1) / 2 - cells // m) * cell
    kind = lrng.choice(3, n, p=[0.60, 0.33, 0.07])  # alone, on another's block, at another's address
    kind[0] = 0
    for i in np.flatnonzero(kind).tolist():
        other = int(lrng.integers(0, i))
        angle = lrng.uniform(0, 2 * np.pi)
        step = 0.0 if kind[i] == 2 else 0.55 * (diag[i] + diag[other]) / 2
        x[i], y[i] = x[other] + step * np.cos(angle), y[other] + step * np.sin(angle)
    if n >= 50:  # geocoding fall-back: schools on the district's central point
        pile = lrng.choice(n, min(24, n // 30), replace=False)
        x[pile], y[pile] = 0.0, 0.0
    return x, y
