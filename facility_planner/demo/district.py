"""``demo_district``: the generator, as named steps over one shared draft (each step reads what
earlier ones drew and adds its own; the draws keep their order, so a seed gives the same data)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import GeometryType

from facility_planner import settings
from facility_planner.demo.data import (
    _BUILDING_RULES,
    _CELL,
    _DEPTH,
    _GRADES,
    _KIND_SHARE,
    _NAMES,
    _PORTABLE,
    _ROOM_DEPTH,
    _STREETS,
    _SUFFIX,
    CHECKLIST_RULES,
    DEFAULT_ORIGIN,
    SCHOOL_KINDS,
    DemoData,
    Layout,
)
from facility_planner.demo.layout import campus_positions
from facility_planner.demo.shapes import _building_shape, _layout_campus, _plan_buildings
from facility_planner.demo.values import _ids, _iso, _na_int, _rank, _yes_no
from facility_planner.model import TABLES, choose_metric_crs

#: ``None`` as a 0-d object array: ``np.where(mask, x, _NONE)`` is ``np.where(mask, x, None)``
#: (same broadcasting, object result), in a form numpy's type stubs accept. Never write into it.
_NONE = np.array(None, dtype=object)

def demo_district(
    n_schools: int,
    *,
    seed: int = 0,
    origin: tuple[float, float] = DEFAULT_ORIGIN,
    kinds: Sequence[str] | None = None,
    names: Sequence[str] | None = None,
    district: str = "Demo Unified School District",
    floor_plans: float = 0.35,
    layout: Layout = "mixed",
) -> DemoData:
    """A synthetic district of ``n_schools`` campuses near ``origin``.

    Parameters
    ----------
    n_schools
        Number of campuses.
    seed
        Seed of the numpy Generator; the same seed gives identical data.
    origin
        (lon, lat) of the centre of the district.
    kinds
        School kind per campus ("ES", "MS", "HS", "K8"); default: drawn (60/20/15/5 %).
    names
        School name per campus; default: drawn from a list of common names.
    district
        District name written in ``sites.district``.
    floor_plans
        Share of (non-portable) buildings that come with room polygons and walls.
    layout
        Where campuses stand (``campus_positions``): "city" (urban density, shared campuses,
        schools at one address), "rural" (kilometres apart) or "mixed" (a town among farmland).

    Returns
    -------
    DemoData
        Raw inventory tables and map layers in EPSG:4326.
    """
    g: dict[str, Any] = {"n_schools": n_schools, "seed": seed, "origin": origin, "kinds": kinds,
                         "names": names, "district": district, "floor_plans": floor_plans,
                         "layout": layout}
    for step in (_check, _campuses, _placement, _footprints, _sites, _buildings, _room_cells, _room_table,
                 _floor_plans, _doors, _cameras, _repeaters, _aeds, _equipment, _programs):
        step(g)
    return _tables(g)


def _check(g: dict[str, Any]) -> None:
    """Validate the arguments; site ids, names and each site's diligence."""
    n_schools, seed, kinds, names = g["n_schools"], g["seed"], g["kinds"], g["names"]
    if n_schools < 1:
        raise ValueError("n_schools must be at least 1")
    rng = np.random.default_rng(seed)
    if kinds is None:
        kinds = [SCHOOL_KINDS[i] for i in rng.choice(4, n_schools, p=_KIND_SHARE)]
    kinds = list(kinds)
    if len(kinds) != n_schools or not set(kinds) <= set(SCHOOL_KINDS):
        raise ValueError(f"kinds must list {n_schools} of {SCHOOL_KINDS}")
    width = max(2, len(str(n_schools)))
    counters: dict[str, int] = {}
    site_ids = []
    for k in kinds:
        counters[k] = counters.get(k, 0) + 1
        site_ids.append(f"{k}-{counters[k]:0{width}d}")
    if names is None:
        picks = np.random.default_rng([seed, 1]).integers(0, len(_NAMES), n_schools)
        names = [f"{_NAMES[p]} {_SUFFIX[k]}" for p, k in zip(picks, kinds, strict=True)]
    care = rng.beta(2.0, 2.0, n_schools)  # per-site diligence: shifts every yes/no share
    g.update(rng=rng, kinds=kinds, site_ids=site_ids, names=names, care=care)


def _campuses(g: dict[str, Any]) -> None:
    """Buildings, wings and outlines of every campus (a small per-building loop)."""
    kinds, rng = g["kinds"], g["rng"]
    b_site: list[int] = []
    b_use: list[str] = []
    b_shape: list[str] = []
    b_floors: list[int] = []
    b_letter: list[str] = []
    shells: list[list[tuple[float, float]]] = []
    holes: list[list[tuple[float, float]] | None] = []
    wing_rows: list[tuple] = []
    junction_rows: list[tuple] = []
    b_offset = []
    site_boundary_boxes = []
    parking_boxes: list[tuple[int, tuple[float, float, float, float]]] = []
    for s, kind in enumerate(kinds):
        plan = _plan_buildings(kind, rng)
        sizes, first = [], len(b_site)
        letter, portable_no = 0, 0
        for spec in plan:
            shell, hole, wings, junctions = _building_shape(spec["shape"], spec["l1"], spec["l2"],
                                                            spec["w2"], spec["halls"])
            b = len(b_site)
            b_site.append(s)
            b_use.append(spec["use"])
            b_shape.append(spec["shape"])
            b_floors.append(spec["floors"])
            if spec["use"] == "portable":
                portable_no += 1
                b_letter.append(f"P{portable_no}")
            else:
                b_letter.append(chr(ord("A") + letter))
                letter += 1
            shells.append(shell)
            holes.append(hole)
            wing_rows.extend((b, *w) for w in wings)
            junction_rows.extend((b, *p0, *p1) for p0, p1 in junctions)
            xs, ys = zip(*shell, strict=True)
            sizes.append((max(xs), max(ys)))
        enrollment_scale = {"ES": 30, "MS": 45, "K8": 45, "HS": 70}[kind]
        offsets, boundary, lots = _layout_campus(
            sizes, [u == "portable" for u in b_use[first:]], rng, parking_depth=float(enrollment_scale))
        b_offset.append(offsets)
        site_boundary_boxes.append(boundary)
        parking_boxes.extend((s, lot) for lot in lots)

    n_b = len(b_site)
    site_of = np.array(b_site)
    use = np.array(b_use)
    floors = np.array(b_floors)
    is_portable = use == "portable"
    offset = np.concatenate(b_offset)
    bbox = np.array(site_boundary_boxes)  # x0, y0, x1, y1 per site, campus metres
    g.update(b_letter=b_letter, shells=shells, holes=holes, wing_rows=wing_rows,
             junction_rows=junction_rows, parking_boxes=parking_boxes, n_b=n_b, site_of=site_of,
             use=use, floors=floors, is_portable=is_portable, offset=offset, bbox=bbox)


def _placement(g: dict[str, Any]) -> None:
    """Campuses placed by the layout; local metres -> world -> lon/lat helpers."""
    bbox, origin, n_schools, rng = g["bbox"], g["origin"], g["n_schools"], g["rng"]
    layout, seed, offset, site_of = g["layout"], g["seed"], g["offset"], g["site_of"]
    centre = np.column_stack([(bbox[:, 0] + bbox[:, 2]) / 2, (bbox[:, 1] + bbox[:, 3]) / 2])
    diag = np.hypot(bbox[:, 2] - bbox[:, 0], bbox[:, 3] - bbox[:, 1])
    crs = choose_metric_crs(np.array([origin[0]]), np.array([origin[1]]))
    from pyproj import Transformer

    to_metric = Transformer.from_crs(settings.lonlat_crs, crs, always_xy=True)
    to_lonlat = Transformer.from_crs(crs, settings.lonlat_crs, always_xy=True)
    ox, oy = to_metric.transform(*origin)
    jitter = np.column_stack([rng.uniform(-1, 1, n_schools), rng.uniform(-1, 1, n_schools)])
    gx, gy = campus_positions(diag, jitter, layout=layout, seed=seed)
    site_x, site_y = ox + gx, oy + gy
    theta = rng.uniform(0, np.pi / 2, n_schools)
    cos_t, sin_t = np.cos(theta), np.sin(theta)

    def site_world(s: np.ndarray, pu: np.ndarray, pv: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pu, pv = pu - centre[s, 0], pv - centre[s, 1]
        return site_x[s] + cos_t[s] * pu - sin_t[s] * pv, site_y[s] + sin_t[s] * pu + cos_t[s] * pv

    def world(b: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return site_world(site_of[b], u + offset[b, 0], v + offset[b, 1])

    def lonlat(b: np.ndarray, u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        lon, lat = to_lonlat.transform(*world(b, u, v))
        return np.round(lon, 7), np.round(lat, 7)

    def azimuth(b: np.ndarray, du: np.ndarray, dv: np.ndarray) -> np.ndarray:
        s = site_of[b]
        east, north = cos_t[s] * du - sin_t[s] * dv, sin_t[s] * du + cos_t[s] * dv
        return np.round(np.degrees(np.arctan2(east, north)) % 360.0, 1)
    g.update(to_lonlat=to_lonlat, site_world=site_world, world=world, lonlat=lonlat,
             azimuth=azimuth)


def _footprints(g: dict[str, Any]) -> None:
    """Footprints as ragged polygons (shell + optional courtyard hole) and local shells."""
    n_b, holes, shells, to_lonlat = g["n_b"], g["holes"], g["shells"], g["to_lonlat"]
    world = g["world"]
    ring_b, ring_len, coords_local = [], [], []
    rings_per_b = np.ones(n_b, dtype=int)
    for b in range(n_b):
        for ring in (shells[b], holes[b]):
            if ring is None:
                continue
            closed = [*ring, ring[0]]
            ring_b.append(b)
            ring_len.append(len(closed))
            coords_local.extend(closed)
        rings_per_b[b] = 1 if holes[b] is None else 2
    cl = np.array(coords_local)
    cb = np.repeat(np.array(ring_b), ring_len)
    fx, fy = to_lonlat.transform(*world(cb, cl[:, 0], cl[:, 1]))
    ring_offsets = np.concatenate([[0], np.cumsum(ring_len)])
    geom_offsets = np.concatenate([[0], np.cumsum(rings_per_b)])
    footprint_geoms = shapely.from_ragged_array(GeometryType.POLYGON, np.column_stack([fx, fy]),
                                                offsets=(ring_offsets, geom_offsets))
    # local shells as rings for placing doors and cameras on the walls
    shell_len = np.array([len(s) + 1 for s in shells])
    shell_coords = np.array([p for s in shells for p in (*s, s[0])], dtype=float)
    local_shell = shapely.from_ragged_array(GeometryType.LINESTRING, shell_coords,
                                            offsets=(np.concatenate([[0], np.cumsum(shell_len)]),))
    perimeter = shapely.length(local_shell)
    local_polys = shapely.from_ragged_array(
        GeometryType.POLYGON, cl, offsets=(ring_offsets, geom_offsets))
    footprint_area = shapely.area(local_polys)
    g.update(footprint_geoms=footprint_geoms, local_shell=local_shell, perimeter=perimeter,
             local_polys=local_polys, footprint_area=footprint_area)


def _sites(g: dict[str, Any]) -> None:
    """The sites table: enrollment, staff, threat level, address."""
    n_schools, kinds, rng, district = g["n_schools"], g["kinds"], g["rng"], g["district"]
    names, site_ids = g["names"], g["site_ids"]
    site_idx = np.arange(n_schools)
    kinds_arr = np.array(kinds)
    enrol_lo = np.select([kinds_arr == "ES", kinds_arr == "MS", kinds_arr == "K8"], [280, 480, 450], 900)
    enrol_hi = np.select([kinds_arr == "ES", kinds_arr == "MS", kinds_arr == "K8"], [650, 1000, 900], 2300)
    enrollment = rng.integers(enrol_lo, enrol_hi)
    staff = np.round(enrollment / rng.uniform(10, 14, n_schools)).astype(int)
    threat = rng.choice(np.array(["low", "medium", "high"], dtype=object), n_schools, p=[0.45, 0.43, 0.12])
    threat[rng.random(n_schools) < 0.04] = None
    street_no = rng.integers(100, 9900, n_schools)
    streets = np.array(_STREETS)[rng.integers(0, len(_STREETS), n_schools)]
    sites = pd.DataFrame({
        "site_id": site_ids, "name": list(names), "district": district,
        "address": [f"{a} {b}" for a, b in zip(street_no, streets, strict=True)],
        "grades": [_GRADES[k] for k in kinds], "enrollment": enrollment, "staff": staff,
        "threat_level": threat, "last_assessment": _iso(rng, -5 * 365, -20, n_schools, 0.1),
    })
    g.update(site_idx=site_idx, sites=sites)


def _buildings(g: dict[str, Any]) -> None:
    """Building ids, years, areas, numbers and names."""
    site_ids, site_of, b_letter, n_b = g["site_ids"], g["site_of"], g["b_letter"], g["n_b"]
    rng, is_portable, floors, footprint_area = g["rng"], g["is_portable"], g["floors"], g["footprint_area"]
    care, use, local_polys, lonlat = g["care"], g["use"], g["local_polys"], g["lonlat"]
    site_id_arr = np.array(site_ids, dtype=object)
    building_id = np.strings.add(np.strings.add(site_id_arr[site_of].astype(str), "-"),
                                 np.array(b_letter)).astype(object)
    pre1970 = rng.random(n_b) < 0.7  # 70% of US public schools were built before 1970 (COPS 2020)
    year = np.where(pre1970, rng.integers(1948, 1970, n_b), rng.integers(1970, 2024, n_b))
    year = np.where(is_portable, rng.integers(1985, 2021, n_b), year)
    gross_area = np.round(footprint_area * floors * rng.uniform(0.98, 1.02, n_b))
    numbers = np.where(is_portable, np.array(b_letter), (_rank(site_of) + 1).astype(str)).astype(object)
    numbers[rng.random(n_b) < np.where(is_portable, 0.45, 0.12) * (1.5 - care[site_of])] = None
    b_name = np.select([use == "gym", use == "auditorium", is_portable,
                        (_rank(site_of) == 0)],
                       ["Gymnasium", "Auditorium", "Portable", "Main building"], "Classroom building")
    b_name = np.where(is_portable, np.strings.add("Portable ", np.array(b_letter)), b_name)
    inside = shapely.get_coordinates(shapely.point_on_surface(local_polys))
    bl_lon, bl_lat = lonlat(np.arange(n_b), inside[:, 0], inside[:, 1])
    g.update(site_id_arr=site_id_arr, building_id=building_id, year=year, gross_area=gross_area,
             numbers=numbers, b_name=b_name, bl_lon=bl_lon, bl_lat=bl_lat)


def _room_cells(g: dict[str, Any]) -> None:
    """Rooms: cells of double-loaded wings, corridors and halls, in corridor order."""
    wing_rows, floors, site_of, use = g["wing_rows"], g["floors"], g["site_of"], g["use"]
    rng, n_b = g["rng"], g["n_b"]
    wr = np.array([w[1:6] for w in wing_rows], dtype=float)
    w_b = np.array([w[0] for w in wing_rows])
    w_hall = np.array([w[6] for w in wing_rows], dtype=object)
    w_u0, w_v0, w_du, w_dv, w_axis = wr.T
    w_axis = w_axis.astype(int)
    w_len = np.where(w_axis == 0, w_du, w_dv)
    is_dl = w_hall == ""
    w_cells = np.where(is_dl, np.maximum(1, np.round(w_len / _CELL)), 0).astype(int)
    w_cellw = np.where(is_dl, w_len / np.maximum(w_cells, 1), 0.0)
    w_floors = floors[w_b]
    w_no = _rank(w_b)

    def to_uv(w: np.ndarray, along: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        horiz = w_axis[w] == 0
        return (w_u0[w] + np.where(horiz, along, across), w_v0[w] + np.where(horiz, across, along))

    reps = w_cells * 2 * w_floors
    cw = np.repeat(np.arange(len(wr)), reps)
    k = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps)
    c_i = k % w_cells[cw]
    c_side = (k // w_cells[cw]) % 2
    c_floor = k // (2 * w_cells[cw]) + 1
    a0 = c_i * w_cellw[cw]
    a1 = a0 + w_cellw[cw]
    c0 = np.where(c_side == 0, 0.0, _DEPTH - _ROOM_DEPTH)
    # corridors: one per double-loaded wing and floor
    dl = np.flatnonzero(is_dl)
    cor_w = np.repeat(dl, w_floors[dl])
    cor_floor = _rank(cor_w) + 1
    halls = np.flatnonzero(~is_dl)

    r_wing = np.concatenate([cw, cor_w, halls])
    r_b = w_b[r_wing]
    r_floor = np.concatenate([c_floor, cor_floor, np.ones(len(halls), dtype=int)])
    r_kind = np.concatenate([np.full(len(cw), "cell"), np.full(len(cor_w), "corridor"),
                             np.full(len(halls), "hall")])
    along0 = np.concatenate([a0, np.zeros(len(cor_w)), np.zeros(len(halls))])
    along1 = np.concatenate([a1, w_len[cor_w], w_len[halls]])
    hall_across = np.where(w_axis[halls] == 0, w_dv[halls], w_du[halls])
    across0 = np.concatenate([c0, np.full(len(cor_w), _ROOM_DEPTH), np.zeros(len(halls))])
    across1 = np.concatenate([c0 + _ROOM_DEPTH, np.full(len(cor_w), _DEPTH - _ROOM_DEPTH), hall_across])
    r_side = np.concatenate([c_side, np.full(len(cor_w), -1), np.full(len(halls), -1)])
    # order rooms by building, floor, wing, position so numbers run along the corridors
    order = np.lexsort((along0, r_side, r_kind == "corridor", r_wing, r_floor, r_b))
    r_wing, r_b, r_floor, r_kind = r_wing[order], r_b[order], r_floor[order], r_kind[order]
    along0, along1, across0, across1, r_side = (along0[order], along1[order], across0[order],
                                                across1[order], r_side[order])
    n_r = len(r_b)
    r_site = site_of[r_b]
    r_use = use[r_b]
    cell_rank = np.full(n_r, -1)
    cells = r_kind == "cell"
    cell_rank[cells] = _rank(r_b[cells])
    u_rand = rng.random(n_r)
    r_type = np.full(n_r, "classroom", dtype=object)
    r_type[r_kind == "corridor"] = "corridor"
    r_type[r_kind == "hall"] = w_hall[r_wing[r_kind == "hall"]]
    main_b = (r_use == "classroom") & (r_b == np.searchsorted(site_of, r_site))
    has_library = np.zeros(n_b, dtype=bool)
    has_library[r_b[r_type == "library"]] = True
    sel = cells & main_b
    r_type[sel & (cell_rank <= 1)] = "office"
    r_type[sel & (cell_rank == 2) & ~has_library[r_b]] = "library"
    r_type[sel & (cell_rank > 2) & (u_rand < 0.05)] = "office"
    r_type[cells & (cell_rank > 2) & (u_rand > 0.91)] = "other"
    gym_cells = cells & ((r_use == "gym") | (r_use == "auditorium"))
    r_type[gym_cells] = np.where(cell_rank[gym_cells] < 2,
                                 np.where(r_use[gym_cells] == "gym", "locker_room", "other"),
                                 np.where(cell_rank[gym_cells] == 2, "office", "other"))
    r_type[cells & (r_use == "classroom") & ~main_b & (cell_rank == 0)] = "office"
    r_type = r_type.astype(str)
    g.update(w_u0=w_u0, w_v0=w_v0, w_len=w_len, w_no=w_no, to_uv=to_uv, r_wing=r_wing, r_b=r_b,
             r_floor=r_floor, r_kind=r_kind, along0=along0, along1=along1, across0=across0,
             across1=across1, r_side=r_side, n_r=n_r, r_site=r_site, r_use=r_use, r_type=r_type,
             main_b=main_b)


def _room_table(g: dict[str, Any]) -> None:
    """Room numbers, ids, capacities and the rooms table."""
    r_kind, n_r, r_b, r_floor = g["r_kind"], g["n_r"], g["r_b"], g["r_floor"]
    r_wing, w_no, r_type, is_portable = g["r_wing"], g["w_no"], g["r_type"], g["is_portable"]
    b_letter, building_id, across0, across1 = g["b_letter"], g["building_id"], g["across0"], g["across1"]
    along0, along1, rng, care = g["along0"], g["along1"], g["rng"], g["care"]
    r_site = g["r_site"]
    # room numbers: floor * 100 + position; corridors "C<wing>-<floor>"; halls by name
    numbered = r_kind == "cell"
    seq = np.zeros(n_r, dtype=int)
    seq[numbered] = _rank(r_b[numbered] * 10 + r_floor[numbered]) + 1
    room_number = np.where(numbered, (r_floor * 100 + seq).astype(str), "").astype(object)
    cor = r_kind == "corridor"
    room_number[cor] = np.strings.add(np.strings.add("C", (w_no[r_wing[cor]] + 1).astype(str)),
                                      np.strings.add("-", r_floor[cor].astype(str)))
    hall = r_kind == "hall"
    room_number[hall] = np.char.upper(r_type[hall].astype(str))
    port = is_portable[r_b]
    room_number[port] = np.array(b_letter)[r_b[port]]
    room_id = np.strings.add(np.strings.add(building_id[r_b].astype(str), "-"),
                             room_number.astype(str)).astype(object)
    room_number[cor] = None
    area_r = (along1 - along0) * (across1 - across0)
    cap = np.select(
        [r_type == "classroom", r_type == "office", r_type == "library", r_type == "gym",
         r_type == "cafeteria", r_type == "auditorium", r_type == "locker_room"],
        [rng.integers(22, 34, n_r), rng.integers(2, 7, n_r), area_r / 4.5, area_r / 1.6,
         area_r / 1.4, area_r / 0.9, area_r / 2.5], -1).astype(int)
    cap_missing = (cap < 0) | (rng.random(n_r) < 0.03)
    teach = np.isin(r_type, ["classroom"])
    big = np.isin(r_type, ["gym", "cafeteria", "auditorium", "library", "locker_room"])
    rc = care[r_site]
    rooms_tab = pd.DataFrame({
        "room_id": room_id, "building_id": building_id[r_b], "room_number": room_number,
        "room_type": r_type, "floor": r_floor, "capacity": _na_int(np.maximum(cap, 0), cap_missing),
        "hard_corner": np.where(teach, _yes_no(rng, 0.45 + 0.5 * rc, 0.12, n_r), _NONE),
        "two_way_comm": np.where(teach | big | (r_type == "office"),
                                 _yes_no(rng, 0.4 + 0.55 * rc, 0.1, n_r), _NONE),
        "windows": np.where(r_type == "corridor", _NONE, _yes_no(rng, 0.85, 0.05, n_r)),
        "window_covering": None,
    })
    has_windows = rooms_tab["windows"].to_numpy() == "Y"
    rooms_tab["window_covering"] = np.where(has_windows & (teach | (r_type == "office")),
                                            _yes_no(rng, 0.15 + 0.7 * rc, 0.15, n_r), _NONE)
    g.update(port=port, room_id=room_id, cap=cap, rooms_tab=rooms_tab)


def _floor_plans(g: dict[str, Any]) -> None:
    """Room polygons and walls for a share of buildings."""
    floor_plans, is_portable, n_b, rng = g["floor_plans"], g["is_portable"], g["n_b"], g["rng"]
    n_schools, site_of, across0, along0 = g["n_schools"], g["site_of"], g["across0"], g["along0"]
    r_wing, to_uv, across1, along1 = g["r_wing"], g["to_uv"], g["across1"], g["along1"]
    r_b, to_lonlat, world, building_id = g["r_b"], g["to_lonlat"], g["world"], g["building_id"]
    room_id, r_floor, year, holes = g["room_id"], g["r_floor"], g["year"], g["holes"]
    shells, floors, junction_rows, r_kind = g["shells"], g["floors"], g["junction_rows"], g["r_kind"]
    w_len = g["w_len"]
    has_plan = (rng.random(n_b) < floor_plans) & ~is_portable
    if n_schools <= 8:  # small districts (the sample): every main building has a plan
        has_plan |= (np.arange(n_b) == np.searchsorted(site_of, site_of)) | is_portable
    u0, v0 = to_uv(r_wing, along0, across0)
    u1, v1 = to_uv(r_wing, along1, across1)
    pr = np.flatnonzero(has_plan[r_b])
    ring = np.stack([np.column_stack(c) for c in (
        (u0[pr], v0[pr]), (u1[pr], v0[pr]), (u1[pr], v1[pr]), (u0[pr], v1[pr]), (u0[pr], v0[pr]))], axis=1)
    rb5 = np.repeat(r_b[pr], 5)
    rx, ry = to_lonlat.transform(*world(rb5, ring[:, :, 0].ravel(), ring[:, :, 1].ravel()))
    room_geoms = shapely.polygons(np.column_stack([rx, ry]).reshape(-1, 5, 2))
    rooms_layer = gpd.GeoDataFrame({"room_id": room_id[pr], "building_id": building_id[r_b[pr]],
                                    "floor": r_floor[pr]}, geometry=room_geoms, crs=settings.lonlat_crs)

    wall_b, wall_floor, wall_mat, wall_xy = [], [], [], []
    pb = np.flatnonzero(has_plan)
    old = year < 1970
    # exterior walls: every shell and hole edge, per floor
    seg_b, seg_xy = [], []
    for b in pb:
        for ring_pts in (shells[b], holes[b]):
            if ring_pts is None:
                continue
            pts = np.array([*ring_pts, ring_pts[0]], dtype=float)
            seg_b.append(np.full(len(pts) - 1, b))
            seg_xy.append(np.stack([pts[:-1], pts[1:]], axis=1))
    if seg_b:
        sb = np.concatenate(seg_b)
        sxy = np.concatenate(seg_xy)
        f_rep = floors[sb]
        wall_b.append(np.repeat(sb, f_rep))
        wall_floor.append(_rank(np.repeat(np.arange(len(sb)), f_rep)) + 1)
        wall_mat.append(np.where(old[np.repeat(sb, f_rep)], "concrete", "concrete_block"))
        wall_xy.append(np.repeat(sxy, f_rep, axis=0))
    # junctions between wings
    jr = np.array([j for j in junction_rows if has_plan[j[0]]], dtype=float).reshape(-1, 5)
    if len(jr):
        jb = jr[:, 0].astype(int)
        jrep = floors[jb]
        wall_b.append(np.repeat(jb, jrep))
        wall_floor.append(_rank(np.repeat(np.arange(len(jb)), jrep)) + 1)
        wall_mat.append(np.full(jrep.sum(), "concrete_block"))
        wall_xy.append(np.repeat(jr[:, 1:].reshape(-1, 2, 2), jrep, axis=0))
    # corridor walls (two per corridor) and partitions between neighbouring cells
    pc = np.flatnonzero(has_plan[r_b] & (r_kind == "corridor"))
    for across in (_ROOM_DEPTH, _DEPTH - _ROOM_DEPTH):
        p0 = to_uv(r_wing[pc], along0[pc], np.full(len(pc), across))
        p1 = to_uv(r_wing[pc], along1[pc], np.full(len(pc), across))
        wall_b.append(r_b[pc])
        wall_floor.append(r_floor[pc])
        wall_mat.append(np.full(len(pc), "concrete_block"))
        wall_xy.append(np.stack([np.column_stack(p0), np.column_stack(p1)], axis=1))
    pp = np.flatnonzero(has_plan[r_b] & (r_kind == "cell") & (along1 < w_len[r_wing] - 1e-6))
    q0 = to_uv(r_wing[pp], along1[pp], across0[pp])
    q1 = to_uv(r_wing[pp], along1[pp], across1[pp])
    wall_b.append(r_b[pp])
    wall_floor.append(r_floor[pp])
    wall_mat.append(np.where(old[r_b[pp]] & (rng.random(len(pp)) < 0.6), "concrete_block", "sheetrock"))
    wall_xy.append(np.stack([np.column_stack(q0), np.column_stack(q1)], axis=1))
    wb = np.concatenate(wall_b).astype(int)
    wxy = np.concatenate(wall_xy)
    wx, wy = to_lonlat.transform(*world(np.repeat(wb, 2), wxy[:, :, 0].ravel(), wxy[:, :, 1].ravel()))
    walls_layer = gpd.GeoDataFrame(
        {"building_id": building_id[wb], "floor": np.concatenate(wall_floor).astype(int),
         "material": np.concatenate(wall_mat).astype(object)},
        geometry=shapely.linestrings(np.column_stack([wx, wy]).reshape(-1, 2, 2)), crs=settings.lonlat_crs)
    g.update(has_plan=has_plan, rooms_layer=rooms_layer, walls_layer=walls_layer)


def _doors(g: dict[str, Any]) -> None:
    """Exterior doors on the shell, classroom and office doors on the corridor wall."""
    care, site_of, is_portable, n_b = g["care"], g["site_of"], g["is_portable"], g["n_b"]
    perimeter, rng, shells, local_shell = g["perimeter"], g["rng"], g["shells"], g["local_shell"]
    port, r_b, room_id, r_kind = g["port"], g["r_b"], g["room_id"], g["r_kind"]
    r_type, along0, along1, r_side = g["r_type"], g["along0"], g["along1"], g["r_side"]
    r_wing, to_uv, lonlat, has_plan = g["r_wing"], g["to_uv"], g["lonlat"], g["has_plan"]
    building_id = g["building_id"]
    bc = care[site_of]
    n_sec = np.where(is_portable, 0, 1 + (rng.random(n_b) * perimeter / 120).astype(int))
    n_egr = np.where(is_portable, 1, 1 + (rng.random(n_b) * perimeter / 90).astype(int))
    n_ext = 1 + n_sec + n_egr
    e_b = np.repeat(np.arange(n_b), n_ext)
    e_k = _rank(e_b)
    e_role = np.where(e_k == 0, "exterior_primary",
                      np.where(e_k <= n_sec[e_b], "exterior_secondary", "exterior_egress")).astype(object)
    front = np.array([s[1][0] for s in shells])  # length of the front edge (0, 0)-(l1, 0)
    e_dist = np.where(e_k == 0, front[e_b] / 2, rng.uniform(0.1, 0.9, len(e_b)) * perimeter[e_b])
    e_dist = np.where(e_k == 0, e_dist,
                      np.where(np.abs(e_dist - front[e_b] / 2) < 4, e_dist + 8, e_dist) % perimeter[e_b])
    # a portable's front door is its classroom door; its back door the egress
    port_e = is_portable[e_b]
    e_dist = np.where(port_e & (e_k == 1), front[e_b] + _PORTABLE[1] + front[e_b] / 2, e_dist)
    e_role[port_e & (e_k == 0)] = "classroom"
    e_pts = shapely.get_coordinates(shapely.line_interpolate_point(local_shell[e_b], e_dist))
    e_room = np.full(len(e_b), None, dtype=object)
    port_rooms = pd.Series(room_id[port], index=r_b[port])
    e_room[port_e & (e_k == 0)] = port_rooms.reindex(e_b[port_e & (e_k == 0)]).to_numpy()

    i_sel = np.flatnonzero((r_kind == "cell") & np.isin(r_type, ["classroom", "office"]))
    i_b = r_b[i_sel]
    i_along = np.where(r_side[i_sel] == 0, along1[i_sel] - 1.2, along0[i_sel] + 1.2)
    i_across = np.where(r_side[i_sel] == 0, _ROOM_DEPTH, _DEPTH - _ROOM_DEPTH)
    i_u, i_v = to_uv(r_wing[i_sel], i_along, i_across)
    d_b = np.concatenate([e_b, i_b])
    d_role = np.concatenate([e_role, r_type[i_sel].astype(object)])
    d_room = np.concatenate([e_room, room_id[i_sel]])
    d_u = np.concatenate([e_pts[:, 0], i_u])
    d_v = np.concatenate([e_pts[:, 1], i_v])
    n_d = len(d_b)
    d_order = np.argsort(d_b, kind="stable")
    d_b, d_role, d_room, d_u, d_v = d_b[d_order], d_role[d_order], d_room[d_order], d_u[d_order], d_v[d_order]
    d_lon, d_lat = lonlat(d_b, d_u, d_v)
    exterior = np.isin(d_role, ["exterior_primary", "exterior_secondary", "exterior_egress"])
    room_door = ~exterior
    dc = care[site_of[d_b]]
    unlocated = np.where(exterior, rng.random(n_d) < 0.08, ~has_plan[d_b] & ~is_portable[d_b])
    d_lon[unlocated] = np.nan
    d_lat[unlocated] = np.nan
    has_glass = _yes_no(rng, np.where(exterior, 0.8, 0.7), 0.06, n_d)
    glass_cov = np.where(has_glass == "Y", _yes_no(rng, 0.1 + 0.7 * dc, 0.12, n_d), _NONE)
    doors = pd.DataFrame({
        "door_id": _ids(building_id[d_b], "-D", _rank(d_b) + 1, 3),
        "building_id": building_id[d_b], "room_id": d_room, "role": d_role,
        "lock_from_inside": np.where(room_door, _yes_no(rng, 0.35 + 0.6 * dc, 0.08, n_d), _NONE),
        "remote_lock": _yes_no(rng, np.where(exterior, 0.15 + 0.5 * dc, 0.05 + 0.25 * dc), 0.15, n_d),
        "access_control": np.where(exterior, _yes_no(rng, np.where(d_role == "exterior_egress", 0.15, 0.3 + 0.6 * dc), 0.05, n_d),
                                   _yes_no(rng, 0.05, 0.1, n_d)),
        "has_glass": has_glass, "glass_covering": glass_cov,
        "numbered": _yes_no(rng, np.where(exterior, 0.3 + 0.6 * dc, 0.6 + 0.35 * dc), 0.08, n_d),
        "position_monitored": np.where(exterior, _yes_no(rng, 0.1 + 0.6 * dc, 0.1, n_d),
                                       _yes_no(rng, 0.02, 0.2, n_d)),
        "lon": d_lon, "lat": d_lat,
    })
    g.update(bc=bc, e_b=e_b, e_role=e_role, front=front, e_pts=e_pts, doors=doors)


def _cameras(g: dict[str, Any]) -> None:
    """Cameras: exterior on the walls facing out, interior in corridors and halls."""
    bc, is_portable, n_b, rng = g["bc"], g["is_portable"], g["n_b"], g["rng"]
    perimeter, front, local_shell, azimuth = g["perimeter"], g["front"], g["local_shell"], g["azimuth"]
    r_b, r_kind, care, r_site = g["r_b"], g["r_kind"], g["care"], g["r_site"]
    r_wing, across1, to_uv, w_u0 = g["r_wing"], g["across1"], g["to_uv"], g["w_u0"]
    w_v0, site_of, lonlat, site_id_arr = g["w_v0"], g["site_of"], g["lonlat"], g["site_id_arr"]
    building_id = g["building_id"]
    with_cams = rng.random(n_b) < np.where(is_portable, 0.2, 0.55 + 0.45 * bc)
    n_out = np.where(with_cams, np.where(is_portable, 1, 1 + (perimeter / 70 * (0.4 + bc)).astype(int)), 0)
    x_b = np.repeat(np.arange(n_b), n_out)
    x_k = _rank(x_b)
    x_dist = np.where(x_k == 0, front[x_b] / 2 + 4.0, rng.uniform(0, 1, len(x_b)) * perimeter[x_b])
    p_mid = shapely.get_coordinates(shapely.line_interpolate_point(local_shell[x_b], x_dist))
    p_a = shapely.get_coordinates(shapely.line_interpolate_point(local_shell[x_b], (x_dist - 0.3) % perimeter[x_b]))
    p_c = shapely.get_coordinates(shapely.line_interpolate_point(local_shell[x_b], (x_dist + 0.3) % perimeter[x_b]))
    tangent = p_c - p_a
    x_heading = azimuth(x_b, tangent[:, 1], -tangent[:, 0])  # shells are CCW: outward = tangent turned right
    x_heading = np.round((x_heading + rng.normal(0, 12, len(x_b))) % 360, 1)
    cor_sel = np.flatnonzero((r_kind == "corridor") & with_cams[r_b] & ~is_portable[r_b])
    cor_sel = cor_sel[rng.random(len(cor_sel)) < 0.3 + 0.6 * care[r_site[cor_sel]]]
    hall_sel = np.flatnonzero((r_kind == "hall") & with_cams[r_b] & ~is_portable[r_b])
    hall_sel = hall_sel[rng.random(len(hall_sel)) < 0.6]
    in_w = np.concatenate([r_wing[cor_sel], r_wing[hall_sel]])
    in_b = r_b[np.concatenate([cor_sel, hall_sel])]
    mid_across = np.concatenate([np.full(len(cor_sel), _DEPTH / 2), (across1[hall_sel]) / 2])
    in_u, in_v = to_uv(in_w, np.full(len(in_w), 0.6), mid_across)
    in_du, in_dv = to_uv(in_w, np.ones(len(in_w)), np.zeros(len(in_w)))
    in_du, in_dv = in_du - w_u0[in_w], in_dv - w_v0[in_w]
    c_b = np.concatenate([x_b, in_b])
    c_mount = np.concatenate([np.full(len(x_b), "exterior"), np.full(len(in_b), "interior")]).astype(object)
    c_u = np.concatenate([p_mid[:, 0], in_u])
    c_v = np.concatenate([p_mid[:, 1], in_v])
    c_heading = np.concatenate([x_heading, azimuth(in_b, in_du, in_dv)])
    c_order = np.argsort(site_of[c_b], kind="stable")
    c_b, c_mount, c_u, c_v, c_heading = c_b[c_order], c_mount[c_order], c_u[c_order], c_v[c_order], c_heading[c_order]
    n_c = len(c_b)
    c_lon, c_lat = lonlat(c_b, c_u, c_v)
    c_lost = rng.random(n_c) < 0.04
    c_lon[c_lost], c_lat[c_lost] = np.nan, np.nan
    c_res = rng.choice([1280, 1920, 1920, 2560, 2688, 3840], n_c)
    c_range = np.round(rng.uniform(15, 45, n_c))
    c_range[rng.random(n_c) < 0.6] = np.nan
    c_status = rng.choice(np.array(["working", "faulty", "offline", "planned"], dtype=object), n_c,
                          p=[0.84, 0.07, 0.05, 0.04])
    cameras = pd.DataFrame({
        "camera_id": _ids(site_id_arr[site_of[c_b]], "-C", _rank(site_of[c_b]) + 1, 3),
        "building_id": building_id[c_b], "mount": c_mount, "lon": c_lon, "lat": c_lat,
        "heading_deg": c_heading,
        "hfov_deg": rng.choice([58.0, 72.0, 90.0, 100.0, 110.0], n_c),
        "range_m": c_range, "resolution_px": _na_int(c_res, rng.random(n_c) < 0.05),
        "recording_days": _na_int(rng.choice([7, 14, 14, 21, 30, 30, 45], n_c), rng.random(n_c) < 0.08),
        "status": c_status,
    })
    g.update(cameras=cameras)


def _repeaters(g: dict[str, Any]) -> None:
    """Repeaters in some larger buildings, at the middle of the first corridor."""
    r_floor, r_kind, r_b, care = g["r_floor"], g["r_kind"], g["r_b"], g["care"]
    gross_area, rng, site_of, along0 = g["gross_area"], g["rng"], g["site_of"], g["along0"]
    along1, r_wing, to_uv, lonlat = g["along1"], g["r_wing"], g["to_uv"], g["lonlat"]
    site_id_arr, building_id = g["site_id_arr"], g["building_id"]
    first_cor = np.flatnonzero((r_kind == "corridor") & (r_floor == 1))
    first_cor = first_cor[np.unique(r_b[first_cor], return_index=True)[1]]
    fc_b = r_b[first_cor]
    want = (gross_area[fc_b] > 1500) & (rng.random(len(fc_b)) < 0.15 + 0.5 * care[site_of[fc_b]])
    rp = first_cor[want]
    rp_u, rp_v = to_uv(r_wing[rp], (along0[rp] + along1[rp]) / 2, np.full(len(rp), _DEPTH / 2))
    rp_lon, rp_lat = lonlat(r_b[rp], rp_u, rp_v)
    n_rp = len(rp)
    rp_range = np.round(rng.uniform(40, 90, n_rp))
    rp_range[rng.random(n_rp) < 0.2] = np.nan
    repeaters = pd.DataFrame({
        "repeater_id": _ids(site_id_arr[site_of[r_b[rp]]], "-R", _rank(site_of[r_b[rp]]) + 1, 2),
        "building_id": building_id[r_b[rp]], "lon": rp_lon, "lat": rp_lat,
        "kind": rng.choice(np.array(["bda", "das", "psap_radio"], dtype=object), n_rp, p=[0.6, 0.25, 0.15]),
        "range_m": rp_range, "psap_linked": _yes_no(rng, 0.4, 0.15, n_rp),
    })
    g.update(repeaters=repeaters)


def _aeds(g: dict[str, Any]) -> None:
    """AEDs in the first corridor of main buildings and in gyms."""
    r_floor, r_kind, r_b, r_type = g["r_floor"], g["r_kind"], g["r_b"], g["r_type"]
    care, r_site, rng, along0 = g["care"], g["r_site"], g["rng"], g["along0"]
    along1, r_wing, to_uv, across0 = g["along1"], g["r_wing"], g["to_uv"], g["across0"]
    across1, lonlat, site_of, site_id_arr = g["across1"], g["lonlat"], g["site_of"], g["site_id_arr"]
    building_id, room_id = g["building_id"], g["room_id"]
    corr_all = np.flatnonzero((r_kind == "corridor") & (r_floor == 1))
    corr_first = corr_all[np.unique(r_b[corr_all], return_index=True)[1]]
    gyms = np.flatnonzero(np.isin(r_type, ["gym", "cafeteria", "auditorium"]))
    aed_rooms = np.concatenate([corr_first, gyms])
    aed_rooms = aed_rooms[rng.random(len(aed_rooms)) < 0.45 + 0.5 * care[r_site[aed_rooms]]]
    aed_rooms = aed_rooms[np.argsort(r_b[aed_rooms], kind="stable")]
    a_u, a_v = to_uv(r_wing[aed_rooms], (along0[aed_rooms] + along1[aed_rooms]) / 2 + 1.0,
                     (across0[aed_rooms] + across1[aed_rooms]) / 2)
    n_a = len(aed_rooms)
    a_lon, a_lat = lonlat(r_b[aed_rooms], a_u, a_v)
    a_lost = rng.random(n_a) < 0.15
    a_lon[a_lost], a_lat[a_lost] = np.nan, np.nan
    a_site = site_of[r_b[aed_rooms]]
    aeds = pd.DataFrame({
        "aed_id": _ids(site_id_arr[a_site], "-AED", _rank(a_site) + 1, 1),
        "building_id": building_id[r_b[aed_rooms]], "room_id": room_id[aed_rooms],
        "lon": a_lon, "lat": a_lat,
        "cabinet_alarmed": _yes_no(rng, 0.6, 0.1, n_a),
        "pads_expiry": _iso(rng, -300, 900, n_a, 0.08),
        "battery_expiry": _iso(rng, -200, 1500, n_a, 0.1),
        "accessible_24_7": _yes_no(rng, 0.2, 0.15, n_a),
    })
    g.update(aed_rooms=aed_rooms, aeds=aeds)


def _equipment(g: dict[str, Any]) -> None:
    """Kits, alarms, intercoms and entrance items (lockboxes, vestibules)."""
    r_type, r_b, main_b, r_site = g["r_type"], g["r_b"], g["main_b"], g["r_site"]
    along0, along1, r_wing, to_uv = g["along0"], g["along1"], g["r_wing"], g["to_uv"]
    across0, across1, rng, aed_rooms = g["across0"], g["across1"], g["rng"], g["aed_rooms"]
    care, is_portable, e_b, e_role = g["care"], g["is_portable"], g["e_b"], g["e_role"]
    site_of, e_pts, room_id, lonlat = g["site_of"], g["e_pts"], g["room_id"], g["lonlat"]
    site_id_arr, building_id = g["site_id_arr"], g["building_id"]
    offices = np.flatnonzero(r_type == "office")
    main_office = offices[np.unique(r_b[offices], return_index=True)[1]]
    main_office = main_office[main_b[main_office]]
    mo_site = r_site[main_office]
    eq_room, eq_type, eq_pt = [], [], []

    def centre_of(rooms_idx: np.ndarray, du: float = 0.0) -> np.ndarray:
        u, v = to_uv(r_wing[rooms_idx], (along0[rooms_idx] + along1[rooms_idx]) / 2 + du,
                     (across0[rooms_idx] + across1[rooms_idx]) / 2)
        return np.column_stack([u, v])

    def add(rooms_idx: np.ndarray, kind: str, p: np.ndarray, du: float = 0.0) -> None:
        pick = rooms_idx[rng.random(len(rooms_idx)) < p]
        eq_room.append(pick)
        eq_type.append(np.full(len(pick), kind, dtype=object))
        eq_pt.append(centre_of(pick, du))

    add(aed_rooms, "stop_the_bleed_kit", 0.4 + 0.5 * care[r_site[aed_rooms]], du=1.5)
    add(main_office, "stop_the_bleed_kit", 0.5 * care[mo_site], du=-1.0)
    add(main_office, "panic_alarm", 0.2 + 0.7 * care[mo_site])
    add(main_office, "intercom_station", 0.4 + 0.5 * care[mo_site], du=0.8)
    add(main_office, "visitor_management", 0.2 + 0.6 * care[mo_site], du=-0.8)
    add(main_office, "two_way_radio", 0.2 + 0.5 * care[mo_site], du=1.6)
    add(main_office, "mass_notification", 0.1 + 0.5 * care[mo_site], du=-1.6)
    classrooms = np.flatnonzero((r_type == "classroom") & ~is_portable[r_b])
    add(classrooms, "intercom_station", 0.1 * care[r_site[classrooms]])
    e_room_idx = np.concatenate(eq_room)
    e_pt = np.concatenate(eq_pt)
    e_kind = np.concatenate(eq_type)
    e_bld = r_b[e_room_idx]
    # entrance items of main buildings, by the primary door on the outside wall
    prim = np.flatnonzero((e_role == "exterior_primary") & (e_b == np.searchsorted(site_of, site_of[e_b])))
    pb_b = e_b[prim]
    ent = [(p, kind) for kind, p in (("lockbox", 0.2 + 0.6 * care[site_of[pb_b]]),
                                     ("visitor_intercom", 0.15 + 0.6 * care[site_of[pb_b]]),
                                     ("secured_vestibule", 0.05 + 0.45 * care[site_of[pb_b]]))]
    ent_b, ent_kind, ent_pt = [], [], []
    for shift, (p, kind) in enumerate(ent):
        pick = rng.random(len(pb_b)) < p
        ent_b.append(pb_b[pick])
        ent_kind.append(np.full(pick.sum(), kind, dtype=object))
        off = np.array([-1.5, 1.5, 0.0])[shift]
        pts = e_pts[prim[pick]].copy()
        pts[:, 0] += off
        if kind == "secured_vestibule":
            pts[:, 1] += 2.0  # just inside
        ent_pt.append(pts)
    q_b = np.concatenate([e_bld, *ent_b])
    q_room = np.concatenate([room_id[e_room_idx], np.full(sum(len(x) for x in ent_b), None, dtype=object)])
    q_kind = np.concatenate([e_kind, *ent_kind])
    q_pt = np.concatenate([e_pt, *ent_pt])
    q_order = np.argsort(site_of[q_b], kind="stable")
    q_b, q_room, q_kind, q_pt = q_b[q_order], q_room[q_order], q_kind[q_order], q_pt[q_order]
    n_q = len(q_b)
    q_lon, q_lat = lonlat(q_b, q_pt[:, 0], q_pt[:, 1])
    q_lost = (rng.random(n_q) < 0.2) & pd.notna(q_room)
    q_lon[q_lost], q_lat[q_lost] = np.nan, np.nan
    equipment = pd.DataFrame({
        "equipment_id": _ids(site_id_arr[site_of[q_b]], "-E", _rank(site_of[q_b]) + 1, 3),
        "building_id": building_id[q_b], "room_id": q_room, "type": q_kind, "lon": q_lon, "lat": q_lat,
    })
    g.update(equipment=equipment)


def _programs(g: dict[str, Any]) -> None:
    """Programme statuses (Ten Essential Actions) and checklist answers."""
    site_idx, care, rng, n_schools = g["site_idx"], g["care"], g["rng"], g["n_schools"]
    site_id_arr, building_id, site_of = g["site_id_arr"], g["building_id"], g["site_of"]
    p_site = np.repeat(site_idx, 10)
    p_care = care[p_site]
    u = rng.random(len(p_site))
    p_status = np.select([u < 0.15 + 0.55 * p_care, u < 0.55 + 0.3 * p_care, u < 0.95],
                         ["in_place", "in_progress", "future"], "not_needed").astype(object)
    p_status[rng.random(len(p_site)) < 0.04] = None
    programs = pd.DataFrame({"site_id": site_id_arr[p_site], "action": np.tile(np.arange(1, 11), n_schools),
                             "status": p_status,
                             "last_reviewed": _iso(rng, -3 * 365, -10, len(p_site), 0.1)})
    # answers for the whole campus; some building-scope rules answered for the main building only
    answered = rng.random((n_schools, len(CHECKLIST_RULES))) < 0.2 + 0.5 * care[:, None]
    k_site, k_rule = np.nonzero(answered)
    k_bld = np.full(len(k_site), None, dtype=object)
    own = (k_rule >= _BUILDING_RULES) & (rng.random(len(k_site)) < 0.2)
    k_bld[own] = building_id[np.searchsorted(site_of, k_site[own])]
    extra_site = np.flatnonzero(own)  # the campus-wide answer stays too: the building's beats it
    k_site = np.concatenate([k_site, k_site[extra_site]])
    k_rule = np.concatenate([k_rule, k_rule[extra_site]])
    k_bld = np.concatenate([k_bld, np.full(len(extra_site), None, dtype=object)])
    k_order = np.lexsort((pd.notna(k_bld), k_rule, k_site))
    k_site, k_rule, k_bld = k_site[k_order], k_rule[k_order], k_bld[k_order]
    n_k = len(k_site)
    k_status = rng.choice(np.array(["in_place", "in_progress", "future", "not_needed"], dtype=object),
                          n_k, p=[0.5, 0.25, 0.2, 0.05])
    checklist = pd.DataFrame({
        "site_id": site_id_arr[k_site], "rule_id": np.array(CHECKLIST_RULES, dtype=object)[k_rule],
        "building_id": k_bld, "status": k_status,
        "note": np.where(rng.random(n_k) < 0.5, "Principal, walkthrough", "Facilities office records"),
    })
    g.update(programs=programs, checklist=checklist)


def _tables(g: dict[str, Any]) -> DemoData:
    """Buildings table, footprints, site boundaries, parking; the DemoData."""
    r_type, cap, r_use, n_b = g["r_type"], g["cap"], g["r_use"], g["n_b"]
    r_b, use, rng, b_name = g["r_b"], g["use"], g["rng"], g["b_name"]
    building_id, site_id_arr, site_of, numbers = g["building_id"], g["site_id_arr"], g["site_of"], g["numbers"]
    year, floors, gross_area, bl_lat = g["year"], g["floors"], g["gross_area"], g["bl_lat"]
    bl_lon, footprint_geoms, site_world, to_lonlat = g["bl_lon"], g["footprint_geoms"], g["site_world"], g["to_lonlat"]
    bbox, site_idx, parking_boxes, doors = g["bbox"], g["site_idx"], g["parking_boxes"], g["doors"]
    rooms_tab, sites, aeds, cameras = g["rooms_tab"], g["sites"], g["aeds"], g["cameras"]
    equipment, repeaters, checklist, programs = g["equipment"], g["repeaters"], g["checklist"], g["programs"]
    rooms_layer, walls_layer = g["rooms_layer"], g["walls_layer"]
    # peak occupancy: seats of teaching and office rooms; halls count only in hall buildings
    seats = np.where(np.isin(r_type, ["classroom", "office", "library", "locker_room"])
                     | np.isin(r_use, ["gym", "auditorium"]), np.maximum(cap, 0), 0)
    occupancy = np.zeros(n_b)
    np.add.at(occupancy, r_b, seats)
    occupancy = np.round(occupancy * np.where(np.isin(use, ["gym", "auditorium"]),
                                              rng.uniform(0.5, 0.8, n_b), rng.uniform(0.85, 1.0, n_b)))
    occupancy = occupancy.astype(int)
    buildings = pd.DataFrame({
        "building_id": building_id, "site_id": site_id_arr[site_of], "name": b_name.astype(object),
        "building_number": numbers, "year_built": _na_int(year, rng.random(n_b) < 0.04),
        "floors": floors, "gross_area": gross_area, "occupancy": _na_int(occupancy, rng.random(n_b) < 0.03),
        "use": use.astype(object), "lon": bl_lon, "lat": bl_lat,
    })
    footprints = gpd.GeoDataFrame({"building_id": building_id}, geometry=footprint_geoms,
                                   crs=settings.lonlat_crs)

    def boxes(s: np.ndarray, box: np.ndarray) -> np.ndarray:
        corners = np.stack([box[:, [0, 1]], box[:, [2, 1]], box[:, [2, 3]], box[:, [0, 3]], box[:, [0, 1]]], axis=1)
        x, y = site_world(np.repeat(s, 5), corners[:, :, 0].ravel(), corners[:, :, 1].ravel())
        lon, lat = to_lonlat.transform(x, y)
        return shapely.polygons(np.column_stack([lon, lat]).reshape(-1, 5, 2))

    site_boundaries = gpd.GeoDataFrame({"site_id": site_id_arr}, geometry=boxes(site_idx, bbox),
                                       crs=settings.lonlat_crs)
    lot_site = np.array([p[0] for p in parking_boxes])
    lots = np.array([p[1] for p in parking_boxes])
    parking = gpd.GeoDataFrame({"site_id": site_id_arr[lot_site]}, geometry=boxes(lot_site, lots),
                               crs=settings.lonlat_crs)

    tables = {"sites": sites, "buildings": buildings, "rooms": rooms_tab, "doors": doors,
              "cameras": cameras, "repeaters": repeaters, "aeds": aeds, "equipment": equipment,
              "programs": programs, "checklist": checklist}
    tables = {name: frame[[c for c in TABLES[name].column_names if c in frame]].reset_index(drop=True)
              for name, frame in tables.items()}
    return DemoData(tables=tables, footprints=footprints, site_boundaries=site_boundaries,
                    parking=parking, rooms=rooms_layer, walls=walls_layer)


def demo_district_tables(n_schools: int, *, seed: int = 0) -> tuple[dict[str, pd.DataFrame],
                                                                     dict[str, gpd.GeoDataFrame]]:
    """Raw inventory tables and map layers of ``demo_district(n_schools, seed=seed)``."""
    data = demo_district(n_schools, seed=seed)
    return data.tables, data.layers
