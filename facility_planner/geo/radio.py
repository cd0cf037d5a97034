"""Responder radio: received power over a test grid of each floor (ITU-R P.1238 + wall and floor losses).

Every building's footprint is cut into test-grid cells (``cells_per_floor`` or ``cell_size_m``),
repeated per floor. Power at a cell's sample point from each located repeater of its building is
``EIRP - L(d) - walls``, ``L = 20 log10 f + N log10 d + Lf(n) - 28``; the best repeater wins. With
no repeater, the cell gets the configured outdoor level less building entry loss and a linear loss
inwards, and the building is flagged ``radio_needed`` when that misses the general threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import (
    EMPTY,
    Fact,
    Frame,
    asset_floor,
    bincount,
    index_of,
    percent,
)
from facility_planner.geo.config import RadioConfig
from facility_planner.model import District


def path_loss_db(distance_m: np.ndarray, floors_crossed: np.ndarray, *, n_coefficient: np.ndarray | float,
                 config: RadioConfig) -> np.ndarray:
    """ITU-R P.1238 site-general loss (dB) for distance (m, floored at ``min_distance_m``) and floors."""
    d = np.maximum(np.asarray(distance_m, dtype=float), config.min_distance_m.value)
    n = np.asarray(floors_crossed, dtype=np.int64)
    table = np.r_[0.0, np.asarray(config.floor_loss_db.value, dtype=float)]
    top = len(table) - 1
    lf = np.where(n <= top, table[np.minimum(n, top)],
                  table[top] + (n - top) * config.floor_loss_db_per_extra_floor.value)
    out: np.ndarray = 20 * np.log10(config.frequency_mhz.value) + n_coefficient * np.log10(d) + lf - 28
    return out


def wall_loss_table(walls: gpd.GeoDataFrame, *, config: RadioConfig) -> np.ndarray:
    """Loss (dB) of each wall: its ``loss_db`` when mapped, else by ``material``, else the default."""
    by_material = config.wall_loss_db.value
    material = walls["material"].astype("string").str.strip().str.lower().str.replace(" ", "_") \
        if "material" in walls else pd.Series(pd.NA, index=walls.index, dtype="string")
    loss = material.map(by_material).astype("Float64").fillna(config.unknown_wall_loss_db.value)
    if "loss_db" in walls:
        given = pd.to_numeric(walls["loss_db"], errors="coerce")
        loss = given.where(given.notna(), loss)
    out: np.ndarray = loss.to_numpy(dtype=float)
    return out


def floor_grid(footprints: np.ndarray, *, config: RadioConfig) -> tuple[np.ndarray, np.ndarray]:
    """Test-grid cells of each footprint, clipped to it: (owner position, cell polygon)."""
    if len(footprints) == 0:
        return np.empty(0, np.int64), np.empty(0, object)
    area = shapely.area(footprints)
    size = (np.full(len(footprints), config.cell_size_m.value) if config.cell_size_m.value
            else np.sqrt(area / config.cells_per_floor.value))
    size = np.maximum(size, 0.5)
    x0, y0, x1, y1 = shapely.bounds(footprints).T
    nx = np.maximum(1, np.ceil((x1 - x0) / size)).astype(np.int64)
    ny = np.maximum(1, np.ceil((y1 - y0) / size)).astype(np.int64)
    count = nx * ny
    owner = np.repeat(np.arange(len(footprints)), count)
    k = np.arange(len(owner)) - np.repeat(np.cumsum(count) - count, count)
    ix, iy = k % nx[owner], k // nx[owner]
    s = size[owner]
    boxes = shapely.box(x0[owner] + ix * s, y0[owner] + iy * s, x0[owner] + (ix + 1) * s,
                        y0[owner] + (iy + 1) * s)
    shapely.prepare(footprints)
    inside = shapely.contains(footprints[owner], boxes)
    cells = boxes.copy()
    edge = np.flatnonzero(~inside & shapely.intersects(footprints[owner], boxes))
    # Convex footprints (most: rectangles) are cut by their cells in numpy; the rest by overlay.
    convex = shapely.get_num_interior_rings(footprints) == 0
    convex[convex] = shapely.equals(footprints[convex], shapely.convex_hull(footprints[convex]))
    easy = convex[owner[edge]]
    e, h = edge[easy], edge[~easy]
    cells[e] = clip_convex(footprints, owner[e], x0[owner[e]] + ix[e] * s[e], y0[owner[e]] + iy[e] * s[e],
                           x0[owner[e]] + (ix[e] + 1) * s[e], y0[owner[e]] + (iy[e] + 1) * s[e])
    cells[h] = shapely.intersection(boxes[h], footprints[owner[h]])
    keep = inside.copy()
    keep[edge] = shapely.area(cells[edge]) > 1e-6
    return owner[keep], cells[keep]


def clip_convex(polygons: np.ndarray, which: np.ndarray, xmin: np.ndarray, ymin: np.ndarray,
                xmax: np.ndarray, ymax: np.ndarray) -> np.ndarray:
    """``polygons[which]`` (convex, no holes) cut by the boxes, one per entry (Sutherland-Hodgman).

    The box's four half-planes in turn, all boxes at once on padded vertex arrays; returns
    polygons, empty where nothing of the polygon is left.
    """
    if len(which) == 0:
        return np.empty(0, dtype=object)
    pts, count = _clip_convex_xy(polygons, which, xmin, ymin, xmax, ymax)
    ok = count >= 3
    ring = count[ok] + 1
    coords = np.concatenate([pts[ok], pts[ok][:, :1]], axis=1)  # room for the closing vertex
    coords[np.arange(len(ring)), count[ok]] = pts[ok][:, 0]
    coords = coords[np.arange(coords.shape[1]) < ring[:, None]]
    offsets = np.r_[0, np.cumsum(ring)]
    out = np.full(len(which), EMPTY, dtype=object)
    out[ok] = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords, (offsets, np.arange(len(ring) + 1)))
    return out


def clip_convex_area(polygons: np.ndarray, which: np.ndarray, xmin: np.ndarray, ymin: np.ndarray,
                     xmax: np.ndarray, ymax: np.ndarray) -> np.ndarray:
    """Area of ``polygons[which]`` (convex, no holes) inside each box (shoelace on the clipped vertices)."""
    if len(which) == 0:
        return np.empty(0)
    pts, count = _clip_convex_xy(polygons, which, xmin, ymin, xmax, ymax)
    pts = pts - np.column_stack([xmin, ymin])[:, None, :]  # shoelace near 0: no cancellation
    col = np.arange(pts.shape[1])
    nxt = pts[np.arange(len(which))[:, None], (col + 1) % np.maximum(count, 1)[:, None]]
    with np.errstate(invalid="ignore"):  # padding past each polygon's count is masked below
        term = pts[..., 0] * nxt[..., 1] - nxt[..., 0] * pts[..., 1]
    out: np.ndarray = np.abs(np.where(col < count[:, None], term, 0.0).sum(axis=1)) / 2
    return out


def _clip_convex_xy(polygons: np.ndarray, which: np.ndarray, xmin: np.ndarray, ymin: np.ndarray,
                    xmax: np.ndarray, ymax: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices (padded, (n, width, 2)) and vertex counts of the clipped polygons."""
    xy, idx = shapely.get_coordinates(shapely.get_exterior_ring(polygons), return_index=True)
    n = np.bincount(idx, minlength=len(polygons)) - 1  # drop the closing vertex
    start = np.r_[0, np.cumsum(n + 1)[:-1]]
    count = n[which]
    width = int(count.max())
    col = np.arange(width)
    pts = xy[np.minimum(start[which][:, None] + col, len(xy) - 1)]
    rows = np.arange(len(which))[:, None]
    for axis, bound, low in ((0, xmin, True), (0, xmax, False), (1, ymin, True), (1, ymax, False)):
        col = np.arange(pts.shape[1])
        valid = col < count[:, None]
        nxt = pts[rows, (col + 1) % np.maximum(count, 1)[:, None]]
        b = bound[:, None]
        cur_in = pts[..., axis] >= b if low else pts[..., axis] <= b
        nxt_in = nxt[..., axis] >= b if low else nxt[..., axis] <= b
        with np.errstate(invalid="ignore", divide="ignore"):  # only crossing edges are used
            t = (b - pts[..., axis]) / (nxt[..., axis] - pts[..., axis])
            cut = pts + t[..., None] * (nxt - pts)
        cut[..., axis] = b
        out = np.stack([pts, cut], axis=2).reshape(len(which), -1, 2)
        keep = np.stack([valid & cur_in, valid & (cur_in != nxt_in)], axis=2).reshape(len(which), -1)
        order = np.argsort(~keep, axis=1, kind="stable")
        count = keep.sum(axis=1)
        width = max(int(count.max()), 1)
        pts = np.take_along_axis(out, order[:, :width, None], axis=1)
    return pts, count


@dataclass
class _Samples:
    """The test grid: each cell once per floor of its building (sample ``k``: cell ``cell[k]`` on
    floor ``floor[k]`` of frame building ``building[k]``)."""

    fps: np.ndarray  # footprints of the buildings with one
    owner: np.ndarray  # footprint position of each cell
    cells: np.ndarray  # cell polygons
    points: np.ndarray  # sample point of each cell
    xy: np.ndarray  # its coordinates
    cell: np.ndarray
    floor: np.ndarray
    building: np.ndarray
    area: np.ndarray
    floors_unknown: np.ndarray  # per frame building: floors not given (1 assumed)


@dataclass
class _Repeaters:
    """Located repeaters sorted by building: ``count`` and ``first`` per frame building."""

    table: pd.DataFrame
    building: np.ndarray  # frame building of every row (-1: none)
    has_any: np.ndarray  # per frame building: some repeater row, located or not
    xy: np.ndarray
    floor: np.ndarray
    count: np.ndarray
    first: np.ndarray


def radio_coverage(district: District, frame: Frame, *,
                   config: RadioConfig) -> tuple[dict[str, Fact], gpd.GeoDataFrame]:
    """Radio facts per building and the test-grid cells with their estimated power.

    Returns facts ``radio_area_coverage`` (lowest floor share at or above the threshold),
    ``radio_critical_coverage``, ``radio_outdoor_coverage`` and ``radio_needed`` (0/1), and the
    ``radio_coverage`` layer (one row per cell and floor).
    """
    samples = _test_grid(district, frame, config=config)
    outdoor_dbm = _outdoor_dbm(samples, config=config)
    reps = _located_repeaters(district, frame, config=config)
    best = _best_repeater_dbm(district, frame, samples, reps, config=config)
    with_rep = reps.count[samples.building] > 0
    no_rep = ~reps.has_any[samples.building]
    s_dbm = np.where(with_rep, best, np.where(no_rep, outdoor_dbm, np.nan))
    covered = s_dbm >= config.threshold_dbm.value
    judged = frame.has_footprint & ((reps.count > 0) | ~reps.has_any)

    fl_b, fl_floor, fl_share, worst, worst_out = _floor_shares(frame, samples, covered, outdoor_dbm,
                                                                config=config)
    area_fact = _area_fact(frame, samples, reps, judged, worst, (fl_b, fl_floor, fl_share), config=config)
    crit_fact = _critical_fact(district, frame, samples, covered, area_fact, judged, config=config)
    out_fact, need_fact = _outdoor_facts(frame, area_fact, worst_out, config=config)
    layer = _radio_layer(district, frame, samples, s_dbm, covered, with_rep, no_rep)
    return {"radio_area_coverage": area_fact, "radio_critical_coverage": crit_fact,
            "radio_outdoor_coverage": out_fact, "radio_needed": need_fact}, layer


def _test_grid(district: District, frame: Frame, *, config: RadioConfig) -> _Samples:
    """Cells of every footprint (``floor_grid``), once per floor, with their sample points."""
    fp_b = np.flatnonzero(frame.has_footprint)
    fps = frame.footprints[fp_b].astype(object)
    floors_b = pd.to_numeric(district.buildings["floors"], errors="coerce").to_numpy(dtype=float)
    floors_unknown = ~(floors_b >= 1)
    floors_b = np.where(floors_unknown, 1, floors_b).astype(np.int64)
    owner, cells = floor_grid(fps, config=config)
    cell_b = fp_b[owner]
    n_fl = floors_b[cell_b]
    # Every cell once per floor.
    s_cell = np.repeat(np.arange(len(cells)), n_fl)
    s_floor = np.arange(len(s_cell)) - np.repeat(np.cumsum(n_fl) - n_fl, n_fl) + 1
    pts = shapely.point_on_surface(cells)
    xy = shapely.get_coordinates(pts).reshape(-1, 2)
    return _Samples(fps, owner, cells, pts, xy, s_cell, s_floor, cell_b[s_cell], shapely.area(cells)[s_cell],
                    floors_unknown)


def _outdoor_dbm(samples: _Samples, *, config: RadioConfig) -> np.ndarray:
    """Outdoor estimate: outdoor level - entry loss - linear loss inwards from the exterior wall."""
    cells = samples.cells
    depth = shapely.distance(samples.points, shapely.boundary(samples.fps)[samples.owner]) \
        if len(cells) else np.empty(0)
    out: np.ndarray = (config.outdoor_signal_dbm.value - config.building_entry_loss_db.value
                       - config.indoor_loss_db_per_m.value * depth)[samples.cell]
    return out


def _located_repeaters(district: District, frame: Frame, *, config: RadioConfig) -> _Repeaters:
    reps = district.repeaters.reset_index(drop=True)
    r_b = index_of(reps["building_id"], frame.building_ids)
    r_loc = reps["located"].fillna(False).to_numpy(dtype=bool) & (r_b >= 0)
    has_any_rep = bincount(r_b, frame.n) > 0
    loc_idx = np.flatnonzero(r_loc)
    loc_idx = loc_idx[np.argsort(r_b[loc_idx], kind="stable")]
    r_xy = (shapely.get_coordinates(np.asarray(reps.geometry.values, dtype=object)[loc_idx]).reshape(-1, 2)
            if len(loc_idx) else np.empty((0, 2)))
    r_floor = asset_floor(reps, config.repeater_floor.value)[loc_idx]
    r_count = bincount(r_b[loc_idx], frame.n).astype(np.int64)
    return _Repeaters(reps, r_b, has_any_rep, r_xy, r_floor, r_count, np.cumsum(r_count) - r_count)


def _best_repeater_dbm(district: District, frame: Frame, samples: _Samples, reps: _Repeaters, *,
                       config: RadioConfig) -> np.ndarray:
    """Power at each sample from the best located repeater of its building (-inf: none)."""
    walls = district.walls.reset_index(drop=True)
    w_b = index_of(walls["building_id"], frame.building_ids) if len(walls) else np.empty(0, np.int64)
    has_walls = bincount(w_b, frame.n) > 0
    s_b, s_cell, s_floor, xy = samples.building, samples.cell, samples.floor, samples.xy

    # Pairs (sample, repeater of its building).
    per = reps.count[s_b]
    p_s = np.repeat(np.arange(len(s_b)), per)
    p_r = reps.first[s_b][p_s] + (np.arange(len(p_s)) - np.repeat(np.cumsum(per) - per, per))
    dist = np.hypot(*(xy[s_cell[p_s]] - reps.xy[p_r]).T) if len(p_s) else np.empty(0)
    crossed = np.abs(s_floor[p_s] - reps.floor[p_r]).astype(np.int64)
    n_coef = np.where(has_walls[s_b[p_s]], config.distance_power_coefficient_with_walls.value,
                      config.distance_power_coefficient.value)
    dbm = config.eirp_dbm.value - path_loss_db(dist, crossed, n_coefficient=n_coef, config=config)
    w_pair = np.flatnonzero(has_walls[s_b[p_s]])
    if len(w_pair):
        w_geom = np.asarray(walls.geometry.values, dtype=object)
        w_loss = wall_loss_table(walls, config=config)
        w_floor = (pd.to_numeric(walls["floor"], errors="coerce").to_numpy(dtype=float)
                   if "floor" in walls else np.full(len(walls), np.nan))
        paths = shapely.linestrings(np.stack([xy[s_cell[p_s[w_pair]]], reps.xy[p_r[w_pair]]], axis=1))
        path_i, wall_i = shapely.STRtree(w_geom).query(paths, predicate="intersects")
        pp = w_pair[path_i]
        same = (w_b[wall_i] == s_b[p_s[pp]]) & (np.isnan(w_floor[wall_i]) | (w_floor[wall_i] == s_floor[p_s[pp]]))
        np.subtract.at(dbm, pp[same], w_loss[wall_i[same]])
    best = np.full(len(s_b), -np.inf)
    np.maximum.at(best, p_s, dbm)
    return best


def _floor_shares(frame: Frame, samples: _Samples, covered: np.ndarray, outdoor_dbm: np.ndarray, *,
                  config: RadioConfig) -> tuple[np.ndarray, ...]:
    """Share per (building, floor), and the lowest of each building (it decides): with the
    estimated power, and with the outdoor signal alone."""
    s_b, s_area = samples.building, samples.area
    key = s_b * 1000 + np.minimum(samples.floor, 999)
    ukey, inv = np.unique(key, return_inverse=True)
    fl_area = np.bincount(inv, weights=s_area)
    fl_cov = np.bincount(inv, weights=s_area * covered)
    fl_out = np.bincount(inv, weights=s_area * (outdoor_dbm >= config.threshold_dbm.value))
    fl_b, fl_floor = ukey // 1000, ukey % 1000
    fl_share = percent(fl_cov, fl_area)
    fl_out_share = percent(fl_out, fl_area)
    worst = np.full(frame.n, np.inf)
    np.minimum.at(worst, fl_b, fl_share)
    worst_out = np.full(frame.n, np.inf)
    np.minimum.at(worst_out, fl_b, fl_out_share)
    return fl_b, fl_floor, fl_share, worst, worst_out


def _area_fact(frame: Frame, samples: _Samples, reps: _Repeaters, judged: np.ndarray, worst: np.ndarray,
               floors: tuple[np.ndarray, np.ndarray, np.ndarray], *, config: RadioConfig) -> Fact:
    """``radio_area_coverage``: the lowest floor's share, with the floors short of the general share."""
    fl_b, fl_floor, fl_share = floors
    threshold = config.threshold_dbm.value
    area_fact = Fact(frame.n)
    area_fact.values = np.where(judged & np.isfinite(worst), worst, np.nan)
    area_fact.subjects = np.where(frame.has_footprint, bincount(samples.building, frame.n, samples.area), 0.0)
    general = config.general_share_pct.value
    short = (fl_share < general) & judged[fl_b]
    area_fact.note(fl_b[short], (f"floor {f}: {100 - s:.0f}% of floor area below {threshold:g} dBm"
                                 for f, s in zip(fl_floor[short], fl_share[short], strict=True)))
    ids = reps.table["repeater_id"].to_numpy(dtype=object)
    r_b = reps.building
    unloc = np.flatnonzero(~reps.table["located"].fillna(False).to_numpy(dtype=bool) & (r_b >= 0))
    area_fact.note(r_b[unloc], (f"repeater {i} not located: coverage not estimated from it" for i in ids[unloc]))
    est = frame.has_footprint & ~reps.has_any
    area_fact.note(np.flatnonzero(est), (
        f"no repeater: estimated from an outdoor signal of {config.outdoor_signal_dbm.value:g} dBm"
        for _ in range(int(est.sum()))))
    unknown_floors = frame.has_footprint & samples.floors_unknown
    area_fact.note(np.flatnonzero(unknown_floors), ("number of floors unknown: 1 assumed"
                                                    for _ in range(int(unknown_floors.sum()))))
    return area_fact


def _critical_fact(district: District, frame: Frame, samples: _Samples, covered: np.ndarray,
                   area_fact: Fact, judged: np.ndarray, *, config: RadioConfig) -> Fact:
    """``radio_critical_coverage``: mapped critical areas, else the whole floor (as the area fact)."""
    threshold = config.threshold_dbm.value
    crit_fact = Fact(frame.n)
    crit_fact.values = area_fact.values.copy()
    crit_fact.subjects = area_fact.subjects.copy()
    crit_area, crit_cov = _critical_areas(district, frame, samples.cells, samples.cell, samples.floor,
                                          samples.building, covered, config=config)
    mapped = crit_area > 0
    crit_fact.values = np.where(mapped & judged, percent(crit_cov, crit_area), crit_fact.values)
    crit_fact.subjects = np.where(mapped, crit_area, crit_fact.subjects)
    critical = config.critical_share_pct.value
    for b in np.flatnonzero(judged).tolist():
        if mapped[b] and crit_fact.values[b] < critical:
            crit_fact.evidence[b].append(
                f"{100 - crit_fact.values[b]:.0f}% of critical-area floor space below {threshold:g} dBm")
        elif not mapped[b]:
            crit_fact.evidence[b].append("critical areas not mapped: whole floor used")
            crit_fact.evidence[b].extend(e for e in area_fact.evidence[b] if e.startswith("floor "))
    return crit_fact


def _outdoor_facts(frame: Frame, area_fact: Fact, worst_out: np.ndarray, *,
                   config: RadioConfig) -> tuple[Fact, Fact]:
    """``radio_outdoor_coverage`` (the outdoor signal alone) and ``radio_needed`` (it misses)."""
    threshold = config.threshold_dbm.value
    general = config.general_share_pct.value
    out_fact, need_fact = Fact(frame.n), Fact(frame.n)
    out_fact.values = np.where(frame.has_footprint & np.isfinite(worst_out), worst_out, np.nan)
    out_fact.subjects = area_fact.subjects.copy()
    need_fact.values = np.where(np.isnan(out_fact.values), np.nan, (out_fact.values < general).astype(float))
    need_fact.subjects = frame.has_footprint.astype(float)
    for b in np.flatnonzero(need_fact.values == 1).tolist():
        need_fact.evidence[b].append(f"outdoor signal reaches {out_fact.values[b]:.0f}% of the floor area "
                                     f"at {threshold:g} dBm (needs {general:g}%)")
        out_fact.evidence[b].append(f"{100 - out_fact.values[b]:.0f}% of floor area below "
                                    f"{threshold:g} dBm without a repeater")
    return out_fact, need_fact


def _radio_layer(district: District, frame: Frame, samples: _Samples, s_dbm: np.ndarray,
                 covered: np.ndarray, with_rep: np.ndarray, no_rep: np.ndarray) -> gpd.GeoDataFrame:
    """The ``radio_coverage`` layer: one row per cell and floor."""
    s_b = samples.building
    b_ids = np.asarray(frame.building_ids, dtype=object)
    site_ids = np.asarray(frame.site_ids, dtype=object)
    bs = frame.building_site[s_b]
    return gpd.GeoDataFrame({
        "building_id": b_ids[s_b], "site_id": np.where(bs >= 0, site_ids[np.maximum(bs, 0)] if len(site_ids) else None, None),
        "floor": samples.floor, "dbm": s_dbm, "covered": covered, "area_m2": samples.area,
        "basis": np.where(with_rep, "repeater", np.where(no_rep, "outdoor estimate", "unknown")),
    }, geometry=gpd.GeoSeries(samples.cells[samples.cell], crs=district.crs), crs=district.crs)


def _critical_areas(district: District, frame: Frame, cells: np.ndarray, s_cell: np.ndarray,
                    s_floor: np.ndarray, s_b: np.ndarray, covered: np.ndarray, *,
                    config: RadioConfig) -> tuple[np.ndarray, np.ndarray]:
    """Mapped critical-area floor space per building, and the part of it in covered cells."""
    rooms = district.rooms.reset_index(drop=True)
    geom = np.asarray(rooms.geometry.values, dtype=object)
    crit = rooms["room_type"].isin(config.critical_room_types.value).fillna(False).to_numpy(dtype=bool)
    crit = crit & ~pd.isna(geom)
    c_idx = np.flatnonzero(crit)
    area, cov = np.zeros(frame.n), np.zeros(frame.n)
    if not len(c_idx) or not len(s_cell):
        return area, cov
    c_b = index_of(rooms["building_id"], frame.building_ids)[c_idx]
    c_floor = asset_floor(rooms, 1)[c_idx]
    # Sample k is (cell s_cell[k], floor s_floor[k]); look rooms up against cells, then floors.
    cell_i, room_i = shapely.STRtree(geom[c_idx]).query(cells, predicate="intersects")
    # A cell equal to its envelope (not cut by the footprint) and a convex room: clipped in numpy.
    rooms = geom[c_idx]
    convex = shapely.get_num_interior_rings(rooms) == 0
    convex[convex] = shapely.equals(rooms[convex], shapely.convex_hull(rooms[convex]))
    box = shapely.bounds(cells)
    is_box = shapely.area(cells) == (box[:, 2] - box[:, 0]) * (box[:, 3] - box[:, 1])
    easy = is_box[cell_i] & convex[room_i]
    piece = np.empty(len(cell_i))
    b = box[cell_i[easy]]
    piece[easy] = clip_convex_area(rooms, room_i[easy], b[:, 0], b[:, 1], b[:, 2], b[:, 3])
    piece[~easy] = shapely.area(shapely.intersection(cells[cell_i[~easy]], rooms[room_i[~easy]]))
    first = np.searchsorted(s_cell, cell_i)
    sample = first + (c_floor[room_i].astype(np.int64) - 1)
    ok = (c_floor[room_i] >= 1) & (sample < len(s_cell))
    ok[ok] &= (s_cell[sample[ok]] == cell_i[ok]) & (s_b[sample[ok]] == c_b[room_i[ok]])
    area = bincount(c_b[room_i[ok]], frame.n, piece[ok])
    cov = bincount(c_b[room_i[ok]], frame.n, piece[ok] * covered[sample[ok]])
    return area, cov
