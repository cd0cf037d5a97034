"""Campus plans in local metres: building outlines, wings and where buildings stand on a campus."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from facility_planner.demo.data import _DEPTH, _PORTABLE


def _building_shape(shape: str, l1: float, l2: float, w2: float, halls: Sequence[str]) -> tuple[
        list[tuple[float, float]], list[tuple[float, float]] | None, list[tuple], list[tuple]]:
    """Outline (CCW shell, CW hole), wings and junction walls of one building in local metres.

    A wing is ``(u0, v0, du, dv, axis, hall)``: a double-loaded classroom wing along ``axis``
    (0 = u, 1 = v) when ``hall`` is "", else one large room of that type filling the rectangle.
    The front of the building (main entrance) is the edge from (0, 0) to (l1, 0).
    """
    d = _DEPTH
    hole = None
    junctions: list[tuple] = []
    wings: list[tuple[float, float, float, float, int, str]]
    if shape == "rect":
        shell = [(0, 0), (l1, 0), (l1, d), (0, d)]
        wings = [(0, 0, l1, d, 0, "")]
    elif shape == "L":
        shell = [(0, 0), (l1, 0), (l1, d), (w2, d), (w2, d + l2), (0, d + l2)]
        wings = [(0, 0, l1, d, 0, ""), (0, d, w2, l2, 1, halls[0])]
        junctions = [((0, d), (w2, d))]
    elif shape == "U":
        shell = [(0, 0), (l1, 0), (l1, d + l2), (l1 - w2, d + l2), (l1 - w2, d), (w2, d),
                 (w2, d + l2), (0, d + l2)]
        wings = [(0, 0, l1, d, 0, ""), (0, d, w2, l2, 1, halls[0]), (l1 - w2, d, w2, l2, 1, halls[1])]
        junctions = [((0, d), (w2, d)), ((l1 - w2, d), (l1, d))]
    elif shape == "T":
        m = l1 / 2
        a, b = m - w2 / 2, m + w2 / 2
        shell = [(0, 0), (l1, 0), (l1, d), (b, d), (b, d + l2), (a, d + l2), (a, d), (0, d)]
        wings = [(0, 0, l1, d, 0, ""), (a, d, w2, l2, 1, halls[0])]
        junctions = [((a, d), (b, d))]
    elif shape == "ring":
        top = d + l2
        shell = [(0, 0), (l1, 0), (l1, top + d), (0, top + d)]
        hole = [(d, d), (d, top), (l1 - d, top), (l1 - d, d)]
        wings = [(0, 0, l1, d, 0, ""), (0, top, l1, d, 0, ""), (0, d, d, l2, 1, ""),
                 (l1 - d, d, d, l2, 1, "")]
        junctions = [((0, d), (d, d)), ((l1 - d, d), (l1, d)), ((0, top), (d, top)),
                     ((l1 - d, top), (l1, top))]
    elif shape == "hall_block":
        shell = [(0, 0), (l1, 0), (l1, d + l2), (0, d + l2)]
        wings = [(0, 0, l1, d, 0, ""), (0, d, l1, l2, 0, halls[0])]
        junctions = [((0, d), (l1, d))]
    elif shape == "portable":
        shell = [(0, 0), (l1, 0), (l1, l2), (0, l2)]
        wings = [(0, 0, l1, l2, 0, "classroom")]
    else:  # pragma: no cover - internal
        raise ValueError(shape)
    return shell, hole, wings, junctions


def _plan_buildings(kind: str, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Buildings of one campus: role, shape and size (local metres)."""
    d = _DEPTH
    out: list[dict[str, Any]] = []

    def main(shapes: Sequence[str], l1_range: tuple[int, int], l2_range: tuple[int, int],
             floors: Sequence[int], hall_types: Sequence[str]) -> dict[str, Any]:
        shape = str(rng.choice(shapes))
        halls = [str(h) if rng.random() < 0.6 else "" for h in rng.choice(hall_types, 2, replace=False)]
        if shape == "ring":
            halls = ["", ""]
        w2 = [float(rng.integers(24, 34)) if h else d for h in halls]
        l1 = float(rng.integers(*l1_range))
        if shape == "U":
            l1 = max(l1, w2[0] + w2[1] + 20)
            w2 = [max(w2), max(w2)]
            halls = halls if halls[0] and halls[1] else [halls[0] or halls[1], ""]
        if shape == "ring":
            l1 = max(l1, 2 * d + 20)
        return {"use": "classroom", "shape": shape, "l1": l1, "l2": float(rng.integers(*l2_range)),
                "w2": w2[0], "halls": halls, "floors": int(rng.choice(floors))}

    if kind == "ES":
        out.append(main(("rect", "L", "T", "U", "ring"), (60, 110), (30, 55), (1, 1, 1, 2),
                        ("cafeteria", "gym", "library")))
        n_portables = int(rng.choice([0, 0, 1, 2, 3, 4]))
    elif kind == "K8":
        out.append(main(("U", "ring", "L"), (80, 130), (40, 65), (2,), ("cafeteria", "gym")))
        n_portables = int(rng.integers(0, 4))
    elif kind == "MS":
        out.append(main(("L", "T", "U", "ring"), (80, 130), (40, 70), (1, 2, 2), ("cafeteria", "library")))
        if rng.random() < 0.7:
            out.append({"use": "gym", "shape": "hall_block", "l1": float(rng.integers(36, 50)),
                        "l2": float(rng.integers(26, 34)), "w2": d, "halls": ["gym"], "floors": 1})
        n_portables = int(rng.choice([0, 0, 1, 2]))
    else:  # HS
        out.append(main(("ring", "U", "L"), (100, 150), (45, 75), (2, 2, 3), ("cafeteria", "library")))
        out.append({"use": "gym", "shape": "hall_block", "l1": float(rng.integers(45, 65)),
                    "l2": float(rng.integers(30, 40)), "w2": d, "halls": ["gym"], "floors": 1})
        out.append({"use": "auditorium", "shape": "hall_block", "l1": float(rng.integers(36, 50)),
                    "l2": float(rng.integers(26, 36)), "w2": d, "halls": ["auditorium"], "floors": 1})
        for _ in range(int(rng.integers(1, 3))):
            shape = str(rng.choice(["rect", "L"]))
            out.append({"use": "classroom", "shape": shape, "l1": float(rng.integers(50, 90)),
                        "l2": float(rng.integers(25, 45)), "w2": d, "halls": ["", ""],
                        "floors": int(rng.choice([1, 2]))})
        n_portables = int(rng.integers(2, 9))
    for _ in range(n_portables):
        out.append({"use": "portable", "shape": "portable", "l1": _PORTABLE[0], "l2": _PORTABLE[1],
                    "w2": 0.0, "halls": [""], "floors": 1})
    return out


def _layout_campus(sizes: list[tuple[float, float]], portable: list[bool], rng: np.random.Generator,
                   *, parking_depth: float) -> tuple[np.ndarray, tuple[float, float, float, float],
                                                     list[tuple[float, float, float, float]]]:
    """Place building boxes on a campus (shelf packing; portables in a row behind).

    Returns building offsets (n, 2), the site boundary box and parking boxes, in campus metres.
    """
    offsets = np.zeros((len(sizes), 2))
    x = y = row_h = 0.0
    max_x = 0.0
    for i, ((w, h), is_portable) in enumerate(zip(sizes, portable, strict=True)):
        if is_portable:
            continue
        if x > 0 and x + w > 260:
            x, y, row_h = 0.0, y + row_h + float(rng.integers(20, 35)), 0.0
        offsets[i] = (x, y)
        x += w + float(rng.integers(18, 32))
        row_h = max(row_h, h)
        max_x = max(max_x, x)
    top = y + row_h + float(rng.integers(20, 30))
    px = 0.0
    for i, is_portable in enumerate(portable):
        if not is_portable:
            continue
        if px > max(max_x, 80):
            px, top = 0.0, top + sizes[i][1] + 8
        offsets[i] = (px, top)
        px += sizes[i][0] + 6
    all_x = np.concatenate([offsets[:, 0], offsets[:, 0] + [s[0] for s in sizes]])
    all_y = np.concatenate([offsets[:, 1], offsets[:, 1] + [s[1] for s in sizes]])
    width = float(all_x.max())
    lot_w = float(min(max(width * 0.7, 50), 160))
    lots = [(0.0, -15 - parking_depth, lot_w, -15.0)]
    if width > 200:
        lots.append((lot_w + 20, -15 - parking_depth * 0.7, min(width, lot_w + 110), -15.0))
    margin = float(rng.integers(15, 30))
    boundary = (float(all_x.min()) - margin, -15 - parking_depth - margin,
                width + margin, float(all_y.max()) + margin)
    return offsets, boundary, lots
