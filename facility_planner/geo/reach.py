"""AED and stop-the-bleed kit reach: floor area within the configured walk of an asset in service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import (
    EMPTY,
    NONE,
    Fact,
    Frame,
    asset_floor,
    bincount,
    index_of,
    percent,
    site_of,
    union_by,
)
from facility_planner.geo.config import IndoorWalkConfig, KitConfig
from facility_planner.model import District


def aed_status(aeds: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Service status of each AED on ``as_of``: pads or battery expired, or in service.

    Returns ``status`` ("in service", "pads expired", "battery expired", "pads and battery
    expired"), ``in_service`` (bool) and ``expiry_known`` (both dates given), index-aligned.
    """
    day = pd.Timestamp(as_of)
    pads = pd.to_datetime(aeds["pads_expiry"], errors="coerce")
    battery = pd.to_datetime(aeds["battery_expiry"], errors="coerce")
    pads_out = (pads < day).fillna(False).to_numpy(dtype=bool)
    battery_out = (battery < day).fillna(False).to_numpy(dtype=bool)
    status = np.select([pads_out & battery_out, pads_out, battery_out],
                       ["pads and battery expired", "pads expired", "battery expired"], "in service")
    return pd.DataFrame({"status": status, "in_service": ~(pads_out | battery_out),
                         "expiry_known": (pads.notna() & battery.notna()).to_numpy(dtype=bool)},
                        index=aeds.index)


@dataclass
class _Reach:
    """Straight-line reach of one kind of asset over the footprints (``fp_b``: frame positions)."""

    assets: gpd.GeoDataFrame
    building: np.ndarray  # frame building of each asset row (-1: none)
    located: np.ndarray
    use: np.ndarray  # rows located, in service and drawn
    points: np.ndarray
    discs: np.ndarray
    fp_b: np.ndarray
    fps: np.ndarray
    covered: np.ndarray  # union of the discs inside each footprint (None: nothing)
    covered_filled: np.ndarray
    area: np.ndarray


def asset_reach(district: District, frame: Frame, assets: gpd.GeoDataFrame, *, id_column: str,
                in_service: np.ndarray, reach_m: float, quad_segs: int = 16,
                label: str = "AED", grid: WalkGrid | None = None, walk_m: float | None = None,
                stair_m: float = 0.0) -> tuple[Fact, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Share of each footprint within reach of an in-service, located asset.

    Straight line (floors count equally): within ``reach_m`` (walk / detour factor) of the asset.
    Walked: in a building of ``grid`` (floor plans) holding such an asset, each floor's cells
    within ``walk_m`` along the grid from one (``stair_m`` per floor changed); cells no route
    joins to an asset (walls with no mapped door) fall back to the straight line. Assets placed at
    their room or building (not located) draw nothing; a building holding one is fully reached
    when its bounding-box diagonal is within ``reach_m`` (the asset is somewhere inside), else
    unknown unless located assets already reach all of it.

    Returns the fact, the reach layer (discs, walked areas per asset and floor) and the unreached
    parts of footprints (per floor where walked); both layers say the ``method``.
    """
    reach = _straight_reach(frame, assets, in_service, reach_m=reach_m, quad_segs=quad_segs)
    share = percent(shapely.area(reach.covered_filled), reach.area)
    walked = None
    if grid is not None and len(reach.use):
        covered_all = np.full(frame.n, None, dtype=object)
        covered_all[reach.fp_b] = reach.covered
        use = reach.use
        walked = walked_reach(grid, frame, xy=shapely.get_coordinates(reach.points), building=reach.building[use],
                              floor=room_floor(reach.assets.iloc[use], district.rooms), rows=use,
                              covered=covered_all, walk_m=walk_m if walk_m is not None else reach_m,
                              stair_m=stair_m)
    fp_pos = np.full(frame.n, -1)
    fp_pos[reach.fp_b] = np.arange(len(reach.fp_b))
    is_walked = np.zeros(len(reach.fp_b), dtype=bool)
    if walked is not None:
        is_walked[fp_pos[walked.buildings]] = True
        share[fp_pos[walked.buildings]] = walked.share

    share = np.where(share > 100.0 - 1e-6, 100.0, share)  # a hair short of full is full (round-off)
    x0, y0, x1, y1 = shapely.bounds(reach.fps).T if len(reach.fps) else (np.empty(0),) * 4
    small = np.hypot(x1 - x0, y1 - y0) <= reach_m
    placed = bincount(reach.building[~reach.located & in_service], frame.n)[reach.fp_b] > 0
    share = np.where(placed & small, 100.0, np.where(placed & (share < 100), np.nan, share))
    fact = Fact(frame.n)
    fact.values[reach.fp_b] = share
    fact.subjects[reach.fp_b] = reach.area
    walk_text = f"{walk_m if walk_m is not None else reach_m:.0f} m walk"
    _reach_evidence(fact, reach, share, is_walked, walked, in_service, id_column=id_column, label=label,
                    reach_m=reach_m, walk_text=walk_text, cell=f"{grid.cell_m:g} m" if grid is not None else "",
                    stair_m=stair_m)
    reach_layer, gap_layer = _reach_layers(district, frame, reach, walked, placed, is_walked, fp_pos,
                                           id_column=id_column, reach_m=reach_m, walk_m=walk_m)
    return fact, reach_layer, gap_layer


def _straight_reach(frame: Frame, assets: gpd.GeoDataFrame, in_service: np.ndarray, *, reach_m: float,
                    quad_segs: int) -> _Reach:
    """Discs of ``reach_m`` around the located assets in service, cut to each footprint and merged."""
    assets = assets.reset_index(drop=True)
    a_b = index_of(assets["building_id"], frame.building_ids)
    located = assets["located"].fillna(False).to_numpy(dtype=bool)
    use = np.flatnonzero(located & in_service & ~assets.geometry.isna().to_numpy())
    points = np.asarray(assets.geometry.values, dtype=object)[use]
    discs = shapely.buffer(points, reach_m, quad_segs=quad_segs)
    fp_b = np.flatnonzero(frame.has_footprint)
    fps = frame.footprints[fp_b].astype(object)
    covered = np.full(len(fp_b), None, dtype=object)
    if len(discs) and len(fp_b):
        f_i, d_i = shapely.STRtree(discs).query(fps, predicate="intersects")
        covered = union_by(shapely.intersection(fps[f_i], discs[d_i]), f_i, len(fp_b))
    covered_filled = np.where(pd.isna(covered), EMPTY, covered)
    return _Reach(assets, a_b, located, use, points, discs, fp_b, fps, covered, covered_filled,
                  shapely.area(fps))


def _reach_evidence(fact: Fact, reach: _Reach, share: np.ndarray, is_walked: np.ndarray,
                    walked: Walked | None, in_service: np.ndarray, *, id_column: str, label: str,
                    reach_m: float, walk_text: str, cell: str, stair_m: float) -> None:
    """What falls short, how it was walked, and which assets are out of service."""
    article = "an" if label[:1] in "AEIOU" else "a"
    for k, b in enumerate(reach.fp_b.tolist()):
        if share[k] < 100:
            fact.evidence[b].append(f"{100 - share[k]:.0f}% of floor area beyond a "
                                    f"{walk_text if is_walked[k] else f'{reach_m:.0f} m walk'} "
                                    f"of {article} {label} in service")
        elif np.isnan(share[k]):
            fact.evidence[b].append(f"{label} placed at its room or building, not located: reach unknown")
    if walked is not None:
        for b, loose in zip(walked.buildings.tolist(), walked.fallback.tolist(), strict=True):
            fact.evidence[b].append(f"{WALKED} of the floor plans ({cell} grid, stairs {stair_m:.0f} m "
                                    "per floor)")
            if loose > 0:
                fact.evidence[b].append(f"{loose:.0f}% of floor area has no mapped door route to "
                                        f"{article} {label}: {STRAIGHT} ({reach_m:.0f} m) there")
    ids = reach.assets[id_column].to_numpy(dtype=object)
    out = np.flatnonzero(~in_service)
    fact.note(reach.building[out], (f"{label} {i} out of service" for i in ids[out]))


def _reach_layers(district: District, frame: Frame, reach: _Reach, walked: Walked | None,
                  placed: np.ndarray, is_walked: np.ndarray, fp_pos: np.ndarray, *, id_column: str,
                  reach_m: float, walk_m: float | None) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Reach layer: discs (outside its own walked building for a walking source) and walked
    areas; gap layer: the unreached parts of footprints (per floor where walked)."""
    assets, use, a_b, fps = reach.assets, reach.use, reach.building, reach.fps
    ids = assets[id_column].to_numpy(dtype=object)
    discs = reach.discs
    source = np.zeros(len(use), dtype=bool)
    if walked is not None:
        source = np.isin(use, walked.sources)
        own = np.where(a_b[use] >= 0, frame.footprints[np.maximum(a_b[use], 0)], None) \
            if frame.n else np.full(len(use), None)
        cut = source & ~pd.isna(own)
        discs = discs.copy()
        discs[cut] = shapely.difference(discs[cut], own[cut].astype(object))
    ub = a_b[use]
    site = site_of(frame, np.maximum(ub, 0)) if frame.n else np.full(len(use), None)
    site = np.where(ub < 0, NONE, site)
    b_ids = np.asarray(frame.building_ids, dtype=object)
    fp_b = reach.fp_b
    reach_parts = [pd.DataFrame({
        id_column: ids[use], "building_id": assets["building_id"].to_numpy(dtype=object)[use],
        "site_id": site, "radius_m": np.full(len(use), reach_m), "floor": np.full(len(use), np.nan),
        "method": np.where(source, f"{STRAIGHT} (outside its building)", STRAIGHT),
        "geometry": discs})]
    gaps = shapely.difference(fps, reach.covered_filled) if len(fps) else fps
    keep = ~shapely.is_empty(gaps) & (shapely.area(gaps) > 1e-6) & ~placed & ~is_walked \
        if len(gaps) else np.empty(0, bool)
    gap_parts = [pd.DataFrame({
        "building_id": b_ids[fp_b[keep]], "site_id": site_of(frame, fp_b[keep]),
        "area_m2": shapely.area(gaps[keep]), "floor": np.full(keep.sum(), np.nan),
        "method": np.full(keep.sum(), STRAIGHT, dtype=object), "geometry": gaps[keep]})]
    if walked is not None:
        row, fl, poly = walked.reach_groups
        bw = a_b[row]
        reach_parts.append(pd.DataFrame({
            id_column: ids[row], "building_id": assets["building_id"].to_numpy(dtype=object)[row],
            "site_id": site_of(frame, bw), "radius_m": np.full(len(row), walk_m),
            "floor": fl.astype(float), "method": np.full(len(row), WALKED, dtype=object), "geometry": poly}))
        ob, ofl, reached, opoly = walked.other_groups
        straight = pd.DataFrame({
            id_column: None, "building_id": b_ids[ob[reached]], "site_id": site_of(frame, ob[reached]),
            "radius_m": reach_m, "floor": ofl[reached].astype(float),
            "method": f"{STRAIGHT} (no mapped door route)", "geometry": opoly[reached]})
        reach_parts.append(straight)
        gap = ~reached & ~placed[fp_pos[ob]]
        gap_parts.append(pd.DataFrame({
            "building_id": b_ids[ob[gap]], "site_id": site_of(frame, ob[gap]),
            "area_m2": shapely.area(opoly[gap]), "floor": ofl[gap].astype(float),
            "method": WALKED, "geometry": opoly[gap]}))
    return _layer(reach_parts, district.crs), _layer(gap_parts, district.crs)


#: Method of measuring reach, as the evidence and the layers say it.
WALKED = "walked along corridors"
STRAIGHT = "straight line with detour factor"


def _layer(parts: list[pd.DataFrame], crs: object) -> gpd.GeoDataFrame:
    frame = pd.concat([p for p in parts if len(p)] or parts[:1], ignore_index=True)
    frame["floor"] = frame["floor"].astype("Int64")
    frame["method"] = frame["method"].astype(object)
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(frame.pop("geometry").to_numpy(), crs=crs),
                            crs=crs)


def kit_places(district: District, frame: Frame, kits: pd.DataFrame, *, config: KitConfig) -> Fact:
    """Share of the recommended kinds of place (gym, office, ...) a building has that hold a kit."""
    rooms = district.rooms
    kinds = list(config.recommended_places.value)
    fact = Fact(frame.n)
    if not kinds:
        return fact
    r_b = index_of(rooms["building_id"], frame.building_ids)
    r_type = rooms["room_type"].astype("string").fillna("").to_numpy(dtype=object)
    kit_rooms = set(kits["room_id"].dropna().astype(str))
    has_kit = rooms["room_id"].astype("string").isin(kit_rooms).fillna(False).to_numpy(dtype=bool)
    present = np.zeros((frame.n, len(kinds)), dtype=bool)
    stocked = np.zeros((frame.n, len(kinds)), dtype=bool)
    for k, kind in enumerate(kinds):
        of_kind = (r_type == kind) & (r_b >= 0)
        present[r_b[of_kind], k] = True
        stocked[r_b[of_kind & has_kit], k] = True
    fact.subjects = present.sum(axis=1).astype(float)
    fact.values = percent(stocked.sum(axis=1).astype(float), fact.subjects)
    for b, k in zip(*np.nonzero(present & ~stocked), strict=True):
        fact.evidence[b].append(f"no stop-the-bleed kit recorded in any {kinds[k]}")
    return fact


# --------------------------------------------------------------------------- walking on floor plans
_FORWARD = ((1, 0), (0, 1), (1, 1), (-1, 1))  # the 4 edge directions stored per cell (8 neighbours)


@dataclass
class WalkGrid:
    """Square cells of every floor of the buildings with floor plans, and the open moves between them.

    A building ``k`` (``buildings[k]``: its position in the frame) is cut into ``nx x ny`` cells from
    ``origin``; the cells whose centre lies in the footprint (``cell_*``, grouped by building) repeat
    on each of its ``floors``. A node is a cell on a floor: ``node_base[k] + (floor - 1) * n_cells[k]
    + (cell - cell_start[k])``. ``edges`` are the moves between 8-neighbour cells of a floor that
    cross no wall (or cross it at a mapped door); ``stairs`` join a cell to the same cell a floor up.
    """

    cell_m: float
    buildings: np.ndarray
    origin: np.ndarray
    nx: np.ndarray
    floors: np.ndarray
    n_cells: np.ndarray
    cell_start: np.ndarray
    node_base: np.ndarray
    cell_k: np.ndarray
    cell_ix: np.ndarray
    cell_iy: np.ndarray
    cell_xy: np.ndarray
    edges: tuple[np.ndarray, np.ndarray, np.ndarray]
    stairs: tuple[np.ndarray, np.ndarray]
    rank: np.ndarray  # bounding-box cell -> inside cell (-1: outside the footprint)
    box_start: np.ndarray
    ny: np.ndarray
    footprints: np.ndarray

    @property
    def n_nodes(self) -> int:
        return int((self.n_cells * self.floors).sum())

    def nodes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Building code, cell and floor of every node."""
        per = self.n_cells * self.floors
        k = np.repeat(np.arange(len(per)), per)
        local = np.arange(len(k)) - self.node_base[k]
        return k, self.cell_start[k] + local % np.maximum(self.n_cells[k], 1), local // np.maximum(
            self.n_cells[k], 1) + 1

    def node_of(self, cell: np.ndarray, floor: np.ndarray) -> np.ndarray:
        k = self.cell_k[cell]
        out: np.ndarray = self.node_base[k] + (floor - 1) * self.n_cells[k] + cell - self.cell_start[k]
        return out

    def graph(self, *, stair_m: float) -> Any:
        """Sparse symmetric graph of the moves (metres), stairs weighted ``stair_m`` per floor."""
        from scipy.sparse import coo_matrix

        a = np.concatenate([self.edges[0], self.stairs[0]])
        b = np.concatenate([self.edges[1], self.stairs[1]])
        w = np.concatenate([self.edges[2], np.full(len(self.stairs[0]), max(stair_m, 1e-9))])
        n = self.n_nodes
        return coo_matrix((w, (a, b)), shape=(n, n)).tocsr()

    def cell_at(self, k: np.ndarray, xy: np.ndarray) -> np.ndarray:
        """Inside cell of building code ``k`` at (or next to) each point; -1 when none is near."""
        cs = self.cell_m
        best = np.full(len(k), -1, dtype=np.int64)
        best_d = np.full(len(k), np.inf)
        for dx in (0, -1, 1):
            for dy in (0, -1, 1):
                ix = np.floor((xy[:, 0] - self.origin[k, 0]) / cs).astype(np.int64) + dx
                iy = np.floor((xy[:, 1] - self.origin[k, 1]) / cs).astype(np.int64) + dy
                ok = (ix >= 0) & (iy >= 0) & (ix < self.nx[k]) & (iy < self.ny[k])
                g = np.where(ok, self.box_start[k] + iy * self.nx[k] + ix, 0)
                cell = np.where(ok, self.rank[g] if len(self.rank) else -1, -1)
                d = np.where(cell >= 0, np.hypot(*(self.cell_xy[np.maximum(cell, 0)] - xy).T), np.inf)
                better = d < best_d
                best[better], best_d[better] = cell[better], d[better]
        return best


def _segments(geoms: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Straight pieces of lines: owner row, start and end points."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    xy, idx = shapely.get_coordinates(parts, return_index=True)
    same = idx[1:] == idx[:-1]
    return owner[part_of[idx[:-1][same]]], xy[:-1][same], xy[1:][same]


def _orient(o: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out: np.ndarray = (a[:, 0] - o[:, 0]) * (b[:, 1] - o[:, 1]) - (a[:, 1] - o[:, 1]) * (b[:, 0] - o[:, 0])
    return out


def room_floor(table: pd.DataFrame, rooms: pd.DataFrame) -> np.ndarray:
    """Floor of each row: its room's floor, else its own ``floor`` column, else 1."""
    floor = np.full(len(table), np.nan)
    if "room_id" in table and len(rooms):
        at = index_of(table["room_id"], pd.Index(rooms["room_id"].astype("string").fillna("")))
        floors = pd.to_numeric(rooms["floor"], errors="coerce").to_numpy(dtype=float)
        floor = np.where(at >= 0, floors[np.maximum(at, 0)], np.nan)
    return np.where(np.isfinite(floor), floor, asset_floor(table, 1))


@dataclass
class _Plans:
    """Walls and rooms of the buildings with floor plans; ``code`` numbers those buildings."""

    walls: pd.DataFrame
    rooms: pd.DataFrame
    w_geom: np.ndarray
    w_b: np.ndarray
    w_ok: np.ndarray
    w_floor: np.ndarray
    r_geom: np.ndarray
    r_b: np.ndarray
    r_ok: np.ndarray
    r_floor: np.ndarray
    has_walls: np.ndarray
    plan: np.ndarray
    buildings: np.ndarray  # frame positions of the buildings with plans
    code: np.ndarray  # frame position -> plan code (-1: no plan)


@dataclass
class _Cells:
    """Bounding-box cells of each planned building and those whose centre is inside it."""

    origin: np.ndarray
    nx: np.ndarray
    ny: np.ndarray
    box_start: np.ndarray
    rank: np.ndarray
    g_in: np.ndarray
    k: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    xy: np.ndarray
    n_cells: np.ndarray
    cell_start: np.ndarray


def walk_grid(district: District, frame: Frame, *, config: IndoorWalkConfig) -> WalkGrid | None:
    """Walking grid of the buildings with a footprint and floor plans (walls or room polygons).

    Walls block the moves whose straight step crosses them, except within half a door width plus
    half a cell of a door of that building and floor (door floor: its room's, else 1). A building
    with room polygons but no walls is walled by the room outlines. Walls with no floor stand on
    every floor. None when no building has floor plans.
    """
    cs = float(config.cell_size_m.value)
    plans = _floor_plans(district, frame)
    if not len(plans.buildings):
        return None
    nf = _storeys(district, plans)
    fps = frame.footprints[plans.buildings].astype(object)
    cells = _grid_cells(fps, cs)
    per = cells.n_cells * nf
    node_base = np.cumsum(per) - per
    ea, eb, ew, edge_of = _neighbour_moves(cells, cs)
    n_e = len(ea)
    max_f = int(nf.max())
    blocked = np.zeros(n_e * max_f, dtype=bool)
    pieces = _wall_pieces(plans, nf)
    if pieces is not None:
        s_k, s_f, s_p, s_q = pieces
        blocked = _blocked_moves(district, plans.rooms, plans.code, s_k, s_f, s_p, s_q, cells.xy, ea, eb,
                                 edge_of, cells.rank, origin=cells.origin, nx=cells.nx, ny=cells.ny,
                                 box_start=cells.box_start, max_f=max_f, cs=cs, config=config)

    # open moves on every floor, and stairs from each cell to the one above
    c_k = cells.k
    rep = nf[c_k[ea]]
    e_id = np.repeat(np.arange(n_e), rep)
    e_f = np.arange(len(e_id)) - np.repeat(np.cumsum(rep) - rep, rep) + 1
    keep = ~blocked[e_id * max_f + e_f - 1]
    e_id, e_f = e_id[keep], e_f[keep]
    grid = WalkGrid(cs, plans.buildings, cells.origin, cells.nx, nf, cells.n_cells, cells.cell_start, node_base,
                    c_k, cells.ix, cells.iy, cells.xy,
                    (np.empty(0, np.int64),) * 2 + (np.empty(0),), (np.empty(0, np.int64),) * 2,
                    cells.rank, cells.box_start, cells.ny, fps)
    up = np.maximum(nf[c_k] - 1, 0)
    s_cell = np.repeat(np.arange(len(c_k)), up)
    s_floor = np.arange(len(s_cell)) - np.repeat(np.cumsum(up) - up, up) + 1
    grid.edges = (grid.node_of(ea[e_id], e_f), grid.node_of(eb[e_id], e_f), ew[e_id])
    grid.stairs = (grid.node_of(s_cell, s_floor), grid.node_of(s_cell, s_floor + 1))
    return grid


def _floor_plans(district: District, frame: Frame) -> _Plans:
    """The walls and room polygons of each building, and which buildings have a plan."""
    walls = district.walls.reset_index(drop=True)
    rooms = district.rooms.reset_index(drop=True)
    w_geom = np.asarray(walls.geometry.values, dtype=object)
    w_b = index_of(walls["building_id"], frame.building_ids) if len(walls) else np.empty(0, np.int64)
    w_ok = (w_b >= 0) & ~pd.isna(w_geom)
    w_floor = (pd.to_numeric(walls["floor"], errors="coerce").to_numpy(dtype=float)
               if "floor" in walls else np.full(len(walls), np.nan))
    r_geom = np.asarray(rooms.geometry.values, dtype=object)
    r_b = index_of(rooms["building_id"], frame.building_ids) if len(rooms) else np.empty(0, np.int64)
    r_ok = (r_b >= 0) & ~pd.isna(r_geom)
    r_floor = pd.to_numeric(rooms["floor"], errors="coerce").to_numpy(dtype=float)
    has_walls = bincount(w_b[w_ok], frame.n) > 0
    plan = (has_walls | (bincount(r_b[r_ok], frame.n) > 0)) & frame.has_footprint
    bk = np.flatnonzero(plan)
    code = np.full(frame.n, -1)
    code[bk] = np.arange(len(bk))
    return _Plans(walls, rooms, w_geom, w_b, w_ok, w_floor, r_geom, r_b, r_ok, r_floor, has_walls, plan, bk, code)


def _storeys(district: District, plans: _Plans) -> np.ndarray:
    """Floors of each planned building: its count, raised to the highest floor its plans show."""
    bk, code = plans.buildings, plans.code
    storeys = pd.to_numeric(district.buildings["floors"], errors="coerce").to_numpy(dtype=float)
    nf = np.where(np.isfinite(storeys[bk]) & (storeys[bk] >= 1), storeys[bk], 1.0)
    w_ok, r_ok = plans.w_ok, plans.r_ok
    for owner, fl in ((code[plans.w_b[w_ok]], plans.w_floor[w_ok]), (code[plans.r_b[r_ok]], plans.r_floor[r_ok])):
        keep = (owner >= 0) & np.isfinite(fl)
        np.maximum.at(nf, owner[keep], fl[keep])
    out: np.ndarray = nf.astype(np.int64)
    return out


def _grid_cells(fps: np.ndarray, cs: float) -> _Cells:
    """Cells of each bounding box, shifted off round coordinates so walls rarely run through centres."""
    x0, y0, x1, y1 = shapely.bounds(fps).T
    origin = np.column_stack([x0, y0]) - 0.2371 * cs
    nx = np.floor((x1 - origin[:, 0]) / cs).astype(np.int64) + 1
    ny = np.floor((y1 - origin[:, 1]) / cs).astype(np.int64) + 1
    size = nx * ny
    box_start = np.cumsum(size) - size
    gk = np.repeat(np.arange(len(fps)), size)
    local = np.arange(len(gk)) - box_start[gk]
    gx, gy = local % nx[gk], local // nx[gk]
    cx = origin[gk, 0] + (gx + 0.5) * cs
    cy = origin[gk, 1] + (gy + 0.5) * cs
    shapely.prepare(fps)
    inside = shapely.contains_xy(fps[gk], cx, cy)
    g_in = np.flatnonzero(inside)
    rank = np.full(len(gk), -1, dtype=np.int32)
    rank[g_in] = np.arange(len(g_in))
    c_k = gk[g_in]
    n_cells = np.bincount(c_k, minlength=len(fps))
    return _Cells(origin, nx, ny, box_start, rank, g_in, c_k, gx[g_in], gy[g_in],
                  np.column_stack([cx[g_in], cy[g_in]]), n_cells, np.cumsum(n_cells) - n_cells)


def _neighbour_moves(cells: _Cells, cs: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Moves between neighbour cells of one floor (diagonals only where both sides are inside):
    from, to, length, and the move of each (cell, direction) (-1: none)."""
    c_k, c_ix, c_iy, g_in, rank, nx, ny = cells.k, cells.ix, cells.iy, cells.g_in, cells.rank, cells.nx, cells.ny
    e_a, e_b, e_w = [], [], []
    edge_of = np.full(4 * len(g_in), -1, dtype=np.int32)
    n_e = 0
    for d, (dx, dy) in enumerate(_FORWARD):
        ix, iy = c_ix + dx, c_iy + dy
        ok = (ix >= 0) & (ix < nx[c_k]) & (iy < ny[c_k])
        g = np.where(ok, g_in + dy * nx[c_k] + dx, 0)
        ok &= rank[g] >= 0
        if dx and dy:
            ok &= (rank[np.where(ok, g_in + dx, 0)] >= 0) & (rank[np.where(ok, g_in + dy * nx[c_k], 0)] >= 0)
        sel = np.flatnonzero(ok)
        edge_of[sel * 4 + d] = n_e + np.arange(len(sel))
        n_e += len(sel)
        e_a.append(sel)
        e_b.append(rank[g[sel]])
        e_w.append(np.full(len(sel), cs * (np.sqrt(2.0) if dx and dy else 1.0)))
    return np.concatenate(e_a), np.concatenate(e_b), np.concatenate(e_w), edge_of


def _wall_pieces(plans: _Plans, nf: np.ndarray) -> tuple[np.ndarray, ...] | None:
    """Straight wall pieces per floor (plan code, floor, start, end): the given walls, else room
    outlines; a wall with no floor stands on every floor. None when there are none."""
    code, w_ok, w_b, r_ok, r_b = plans.code, plans.w_ok, plans.w_b, plans.r_ok, plans.r_b
    s_parts = []
    if w_ok.any():
        keep = np.flatnonzero(w_ok & plans.plan[np.maximum(w_b, 0)])
        owner, p, q = _segments(plans.w_geom[keep], keep)
        s_parts.append((code[w_b[owner]], plans.w_floor[owner], p, q))
    room_only = np.flatnonzero(r_ok & plans.plan[np.maximum(r_b, 0)] & ~plans.has_walls[np.maximum(r_b, 0)])
    if len(room_only):
        parts, part_of = shapely.get_parts(plans.r_geom[room_only], return_index=True)
        owner, p, q = _segments(shapely.get_exterior_ring(parts), room_only[part_of])
        s_parts.append((code[r_b[owner]], plans.r_floor[owner], p, q))
    if not s_parts:
        return None
    s_k = np.concatenate([s[0] for s in s_parts])
    s_f = np.concatenate([s[1] for s in s_parts])
    s_p = np.concatenate([s[2] for s in s_parts])
    s_q = np.concatenate([s[3] for s in s_parts])
    rep = np.where(np.isfinite(s_f), 1, nf[s_k])
    s_id = np.repeat(np.arange(len(s_k)), rep)
    s_f = np.where(np.isfinite(s_f[s_id]), s_f[s_id], np.arange(len(s_id)) - np.repeat(np.cumsum(rep) - rep, rep) + 1)
    s_k, s_p, s_q = s_k[s_id], s_p[s_id], s_q[s_id]
    ok = (s_f >= 1) & (s_f <= nf[s_k]) & (np.hypot(*(s_q - s_p).T) > 1e-9)
    return s_k[ok], s_f[ok].astype(np.int64), s_p[ok], s_q[ok]


def _blocked_moves(district: District, rooms: pd.DataFrame, code: np.ndarray, s_k: np.ndarray,
                   s_f: np.ndarray, s_p: np.ndarray, s_q: np.ndarray, c_xy: np.ndarray, ea: np.ndarray,
                   eb: np.ndarray, edge_of: np.ndarray, rank: np.ndarray, *, origin: np.ndarray,
                   nx: np.ndarray, ny: np.ndarray, box_start: np.ndarray, max_f: int, cs: float,
                   config: IndoorWalkConfig) -> np.ndarray:
    """Moves (edge x floor, flat ``edge * max_f + floor - 1``) crossing a wall away from any door."""
    # cells each wall piece runs through (samples every half cell), then the moves out of them
    length = np.hypot(*(s_q - s_p).T)
    n_s = np.ceil(length / (cs / 2)).astype(np.int64) + 1
    sid = np.repeat(np.arange(len(s_k)), n_s)
    t = (np.arange(len(sid)) - np.repeat(np.cumsum(n_s) - n_s, n_s)) / (n_s[sid] - 1)
    pts = s_p[sid] + t[:, None] * (s_q - s_p)[sid]
    k = s_k[sid]
    ix = np.clip(np.floor((pts[:, 0] - origin[k, 0]) / cs).astype(np.int64), 0, nx[k] - 1)
    iy = np.clip(np.floor((pts[:, 1] - origin[k, 1]) / cs).astype(np.int64), 0, ny[k] - 1)
    g = box_start[k] + iy * nx[k] + ix
    new = np.r_[True, (sid[1:] != sid[:-1]) | (g[1:] != g[:-1])]  # a straight piece leaves a cell once
    sid, k, ix, iy = sid[new], k[new], ix[new], iy[new]
    # side of the wall line of each cell centre; a move can cross only to the other side
    u = (s_q - s_p)[sid]
    centre = origin[k] + (np.column_stack([ix, iy]) + 0.5) * cs
    side = u[:, 0] * (centre[:, 1] - s_p[sid, 1]) - u[:, 1] * (centre[:, 0] - s_p[sid, 0])
    cand_s, cand_e = [], []
    for d, (dx, dy) in enumerate(_FORWARD):
        for sign in (1, -1):  # the move out of this cell along d, and the move into it along d
            other = side + sign * cs * (u[:, 0] * dy - u[:, 1] * dx)
            c = np.flatnonzero(side * other <= 0)
            fx, fy = ix[c] - (sign < 0) * dx, iy[c] - (sign < 0) * dy
            ok = (fx >= 0) & (fy >= 0) & (fx < nx[k[c]]) & (fy < ny[k[c]])
            cell = rank[np.where(ok, box_start[k[c]] + fy * nx[k[c]] + fx, 0)]
            e = np.where(ok & (cell >= 0), edge_of[np.maximum(cell, 0) * 4 + d], -1)
            cand_s.append(sid[c][e >= 0])
            cand_e.append(e[e >= 0])
    sid, e = np.concatenate(cand_s), np.concatenate(cand_e).astype(np.int64)
    a, b = c_xy[ea[e]], c_xy[eb[e]]
    cross = _orient(a, b, s_p[sid]) * _orient(a, b, s_q[sid]) <= 0
    sid, e = sid[cross], e[cross]
    opened = np.zeros(len(sid), dtype=bool)

    doors = district.doors.reset_index(drop=True)
    located = doors["located"].fillna(False).to_numpy(dtype=bool) & ~doors.geometry.isna().to_numpy()
    d_b = index_of(doors["building_id"], district.building_ids)
    d_k = np.where(located & (d_b >= 0), code[np.maximum(d_b, 0)], -1)
    use = np.flatnonzero(d_k >= 0)
    if len(use) and len(sid):
        d_xy = shapely.get_coordinates(doors.geometry.values[use])
        d_floor = room_floor(doors.iloc[use], rooms)
        walls = shapely.linestrings(np.stack([s_p, s_q], axis=1))
        d_i, w_i = shapely.STRtree(walls).query(shapely.points(d_xy), predicate="dwithin",
                                                distance=config.door_snap_m.value)
        same = (d_k[use][d_i] == s_k[w_i]) & (d_floor[d_i] == s_f[w_i])
        d_i, w_i = d_i[same], w_i[same]
        # a crossing is open when its step passes the wall within reach of a door on it: compare
        # positions along the wall, doors sorted per wall, the nearest on either side
        span = float(length.max()) + 10.0
        along = ((d_xy[d_i] - s_p[w_i]) * (s_q - s_p)[w_i]).sum(axis=1) / length[w_i]
        d_key = np.sort(w_i * span + along)
        mid = (c_xy[ea[e]] + c_xy[eb[e]]) / 2
        c_key = sid * span + ((mid - s_p[sid]) * (s_q - s_p)[sid]).sum(axis=1) / length[sid]
        at = np.searchsorted(d_key, c_key)
        radius = config.door_width_m.value / 2 + cs / 2
        for side in (at - 1, at):
            ok = (side >= 0) & (side < len(d_key))
            opened |= ok & (np.abs(d_key[np.clip(side, 0, max(len(d_key) - 1, 0))] - c_key) <= radius)
    blocked = np.zeros(len(ea) * max_f, dtype=bool)
    shut = ~opened
    blocked[e[shut] * max_f + s_f[sid[shut]] - 1] = True
    return blocked


@dataclass
class Walked:
    """Walked reach of one kind of asset: per frame building, and the cells for the layers."""

    buildings: np.ndarray  # frame positions of the walked buildings
    share: np.ndarray  # % of their cells reached (by walking, or in a straight line where no route)
    fallback: np.ndarray  # % of their cells with no walking route from an asset
    sources: np.ndarray  # asset rows that are walking sources
    reach_groups: tuple[np.ndarray, np.ndarray, np.ndarray]  # asset row, floor, polygon
    other_groups: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # building, floor, reached, polygon


def walked_reach(grid: WalkGrid, frame: Frame, *, xy: np.ndarray, building: np.ndarray,
                 floor: np.ndarray, rows: np.ndarray, covered: np.ndarray, walk_m: float,
                 stair_m: float) -> Walked | None:
    """Shortest walks on ``grid`` from the located assets ``rows`` (points ``xy``, frame building,
    floor): cells within ``walk_m`` are reached. Cells no route joins to an asset (walls with no
    mapped door) are reached when inside ``covered`` (straight-line reach per frame building)."""
    from scipy.sparse.csgraph import connected_components, dijkstra

    code = np.full(frame.n, -1)
    code[grid.buildings] = np.arange(len(grid.buildings))
    k = np.where(building >= 0, code[np.maximum(building, 0)], -1)
    cell = np.full(len(k), -1)
    ok = np.flatnonzero(k >= 0)
    cell[ok] = grid.cell_at(k[ok], xy[ok])
    src = np.flatnonzero(cell >= 0)
    if not len(src):
        return None
    fl = np.clip(floor[src], 1, grid.floors[k[src]]).astype(np.int64)
    s_node = grid.node_of(cell[src], fl)
    nodes, first = np.unique(s_node, return_index=True)
    graph = grid.graph(stair_m=stair_m)
    dist, _, nearest = dijkstra(graph, directed=False, indices=nodes, min_only=True, limit=walk_m,
                                return_predecessors=True)
    _, label = connected_components(graph, directed=False)
    joined = np.zeros(label.max() + 1, dtype=bool)
    joined[label[nodes]] = True
    n_k, n_cell, n_floor = grid.nodes()
    walked_k = np.zeros(len(grid.buildings), dtype=bool)
    walked_k[k[src]] = True
    mine = walked_k[n_k]
    route = joined[label] & mine
    reached = np.isfinite(dist) & route
    loose = np.flatnonzero(mine & ~route)
    straight = np.zeros(len(dist), dtype=bool)
    if len(loose):
        geoms = covered[grid.buildings[n_k[loose]]]
        geoms = np.where(pd.isna(geoms), EMPTY, geoms)
        shapely.prepare(geoms)
        straight[loose] = shapely.contains_xy(geoms, *grid.cell_xy[n_cell[loose]].T)
    wk = np.flatnonzero(walked_k)
    total = np.bincount(n_k[mine], minlength=len(walked_k))[wk]
    share = percent(np.bincount(n_k[reached | straight], minlength=len(walked_k))[wk].astype(float), total)
    fallback = percent(np.bincount(n_k[loose], minlength=len(walked_k))[wk].astype(float), total)

    # layers: walked reach per (asset, floor); the rest of each floor as straight-line reach and gaps
    asset_of_node = np.full(len(dist), -1)
    asset_of_node[nodes] = rows[src[first]]
    r = np.flatnonzero(reached)
    max_f = int(grid.floors.max()) + 1
    key, polys = _cell_polygons(grid, n_cell[r], asset_of_node[nearest[r]] * max_f + n_floor[r])
    others = np.flatnonzero(mine & ~reached)
    o_key = (n_k[others] * max_f + n_floor[others]) * 2 + straight[others]
    o_key, o_polys = _cell_polygons(grid, n_cell[others], o_key)
    o_kf = o_key // 2
    return Walked(grid.buildings[wk], share, fallback, rows[src],
                  (key // max_f, key % max_f, polys),
                  (grid.buildings[o_kf // max_f], o_kf % max_f, (o_key % 2).astype(bool), o_polys))


def _cell_polygons(grid: WalkGrid, cell: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Union of ``cell`` boxes per group (rows merged into runs first), cut to the footprint."""
    if not len(cell):
        return np.empty(0, np.int64), np.empty(0, dtype=object)
    ix, iy, k = grid.cell_ix[cell], grid.cell_iy[cell], grid.cell_k[cell]
    order = np.lexsort((ix, iy, groups))
    g, ix, iy, k = groups[order], ix[order], iy[order], k[order]
    start = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (iy[1:] != iy[:-1]) | (ix[1:] != ix[:-1] + 1)])
    end = np.r_[start[1:], len(g)] - 1
    g, k, x0, x1, y0 = g[start], k[start], ix[start], ix[end], iy[start]
    # runs of the same columns in consecutive rows stack into one box
    order = np.lexsort((y0, x1, x0, g))
    g, k, x0, x1, y0 = g[order], k[order], x0[order], x1[order], y0[order]
    start = np.flatnonzero(np.r_[True, (g[1:] != g[:-1]) | (x0[1:] != x0[:-1]) | (x1[1:] != x1[:-1])
                                 | (y0[1:] != y0[:-1] + 1)])
    y1 = y0[np.r_[start[1:], len(g)] - 1]
    g, k, x0, x1, y0 = g[start], k[start], x0[start], x1[start], y0[start]
    cs, o = grid.cell_m, grid.origin[k]
    boxes = shapely.box(o[:, 0] + x0 * cs, o[:, 1] + y0 * cs, o[:, 0] + (x1 + 1) * cs, o[:, 1] + (y1 + 1) * cs)
    keys, run_group = np.unique(g, return_inverse=True)
    merged = union_by(boxes, run_group, len(keys))
    first = np.unique(run_group, return_index=True)[1]
    return keys, shapely.intersection(merged, grid.footprints[k[first]])
