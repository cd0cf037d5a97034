"""Units a coverage gap needs by geometry: new AEDs to bring a footprint within reach, new cameras
to see the unseen exterior entrances.

Both counts are greedy covers, deterministic, measured in the same metric frame as the coverage
they close (``coverage._measure`` calls ``units_needed`` in the campus's local frame):

- **AEDs.** The part of a footprint beyond reach of every AED in service (the ``aed_unreached``
  layer, floors merged), less what the building's located AEDs that are out of service would reach
  once serviced, is covered with discs of the straight-line reach (walk x speed / detour factor,
  the same discs the reach figure draws). Greedy: the place (a grid inside the footprint) whose
  disc covers most sample points still unreached, again and again; then the exact outlines are
  checked and any remainder gets a disc of its own.
- **Cameras.** Every exterior entrance no camera sees (the ``uncovered_entrances`` layer) is
  assigned to a new camera of the configured resolution and field of view, mounted just outside
  the footprint: one camera sees the entrances that lie within its range at the entrance density,
  inside one field of view from the mount, with no building between. Greedy: the mount and aim
  that see most entrances still unseen, again and again.

The result is one row (a point: where the unit would go) per unit, with the ``fact`` it closes,
the ``unit`` counted, the entrances it ``watches`` and the ``basis`` in plain words; planning
turns rows into project quantities (``planning.projects``).
"""

from __future__ import annotations

from collections.abc import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import Frame, index_of, site_of, union_by
from facility_planner.geo.cameras import camera_ranges
from facility_planner.geo.config import CoverageConfig

#: Columns of the ``units_needed`` layer (plus its point geometry: where each unit would go).
UNIT_COLUMNS = ["building_id", "unit", "unit_no", "units", "watches", "basis", "fact", "site_id",
                "range_m", "hfov_deg"]


def disc_cover(region: shapely.Geometry, *, radius: float, places: shapely.Geometry | None = None,
               step: float = 5.0, quad_segs: int = 16, tolerance_m2: float = 1.0,
               max_samples: int = 2500) -> list[shapely.Point]:
    """Centres of discs of ``radius`` that together cover ``region`` (greedy, deterministic).

    Parameters
    ----------
    region
        The area to cover (metric units).
    radius
        Disc radius; discs are drawn as ``shapely.buffer(centre, radius, quad_segs)``.
    places
        Where a centre may go (default: the region itself), e.g. the footprint.
    step
        Spacing of the candidate centres and of the sample points (made coarser so that at most
        ``max_samples`` samples are used).
    tolerance_m2
        A remainder smaller than this counts as covered.

    Returns
    -------
    list of shapely.Point
        Empty when the region is empty or smaller than ``tolerance_m2``.
    """
    if region is None or shapely.is_empty(region) or shapely.area(region) <= tolerance_m2:
        return []
    places = region if places is None or shapely.is_empty(places) else places
    step = max(step, float(np.sqrt(shapely.area(region) / max_samples)))
    samples = np.vstack([_grid_inside(region, step), shapely.get_coordinates(region)])
    candidates = np.vstack([_grid_inside(places, step), samples])
    inner = radius * np.cos(np.pi / (4 * quad_segs))  # the disc outline's inscribed circle
    left = np.ones(len(samples), dtype=bool)
    centres: list[shapely.Point] = []
    while left.any():
        near = _within(candidates, samples[left], inner)
        best = int(np.argmax(near.sum(axis=1)))
        if not near[best].any():
            break
        centres.append(shapely.Point(candidates[best]))
        left[np.flatnonzero(left)[near[best]]] = False
    remainder = shapely.difference(region, _discs(centres, radius, quad_segs))
    while shapely.area(remainder) > tolerance_m2 and len(centres) < 10_000:
        parts = shapely.get_parts(remainder)
        largest = parts[int(np.argmax(shapely.area(parts)))]
        centres.append(shapely.point_on_surface(largest))
        remainder = shapely.difference(remainder, shapely.buffer(centres[-1], radius, quad_segs=quad_segs))
    return centres


def _grid_inside(area: shapely.Geometry, step: float) -> np.ndarray:
    """Points of a square grid of ``step`` (cell centres) inside ``area``, as (n, 2)."""
    x0, y0, x1, y1 = shapely.bounds(area)
    xs = np.arange(x0 + step / 2, x1, step) if x1 - x0 > step else np.array([(x0 + x1) / 2])
    ys = np.arange(y0 + step / 2, y1, step) if y1 - y0 > step else np.array([(y0 + y1) / 2])
    gx, gy = np.meshgrid(xs, ys)
    xy = np.column_stack([gx.ravel(), gy.ravel()])
    shapely.prepare(area)
    inside: np.ndarray = xy[shapely.contains_xy(area, xy[:, 0], xy[:, 1])]
    return inside


def _within(a: np.ndarray, b: np.ndarray, radius: float) -> np.ndarray:
    """(len(a), len(b)) mask: points of ``b`` within ``radius`` of each point of ``a``."""
    d2 = (a[:, None, 0] - b[None, :, 0]) ** 2 + (a[:, None, 1] - b[None, :, 1]) ** 2
    near: np.ndarray = d2 <= radius * radius
    return near


def _discs(centres: list[shapely.Point], radius: float, quad_segs: int) -> shapely.Geometry:
    if not centres:
        return shapely.from_wkt("POLYGON EMPTY")
    return shapely.union_all(shapely.buffer(np.asarray(centres, dtype=object), radius, quad_segs=quad_segs))


def aed_units(frame: Frame, aeds: gpd.GeoDataFrame, *, in_service: np.ndarray,
              unreached: gpd.GeoDataFrame, config: CoverageConfig) -> list[dict[str, object]]:
    """New AEDs per building to bring its whole footprint within reach (rows of ``UNIT_COLUMNS``).

    ``unreached`` is the ``aed_unreached`` layer (per building, per floor where walked); located
    AEDs of the building that are out of service are assumed serviced (the project counts them
    as assets) and what they would reach is taken off first. A remainder that fits in one disc
    centred inside the footprint is one AED there; others go to ``disc_cover``.
    """
    gap_b = index_of(unreached["building_id"], frame.building_ids)
    if not (gap_b >= 0).any():
        return []
    reach, quad, units = config.aeds.reach_m, config.aeds.quad_segs.value, config.new_units
    buildings, pos = np.unique(gap_b[gap_b >= 0], return_inverse=True)
    regions = union_by(np.asarray(unreached.geometry.values, dtype=object)[gap_b >= 0], pos, len(buildings))
    a_b = index_of(aeds["building_id"], frame.building_ids)
    located = aeds["located"].fillna(False).to_numpy(dtype=bool) & ~aeds.geometry.isna().to_numpy()
    idle = np.flatnonzero(located & ~np.asarray(in_service, dtype=bool) & np.isin(a_b, buildings))
    idle_pos = np.searchsorted(buildings, a_b[idle])
    if len(idle):
        back = union_by(shapely.buffer(np.asarray(aeds.geometry.values, dtype=object)[idle], reach, quad_segs=quad),
                        idle_pos, len(buildings))
        has = ~pd.isna(back)
        regions[has] = shapely.difference(regions[has], back[has])
    ids = aeds["aed_id"].astype("string").to_numpy(dtype=object)
    fps = frame.footprints[buildings]
    inner = reach * np.cos(np.pi / (4 * quad))
    centre = shapely.centroid(shapely.minimum_bounding_circle(regions))
    one = (shapely.minimum_bounding_radius(regions) <= inner) & np.asarray(
        [fp is not None and shapely.contains(fp, c) for fp, c in zip(fps, centre, strict=True)], dtype=bool)
    areas = shapely.area(regions)
    sites = site_of(frame, buildings)
    rows: list[dict[str, object]] = []
    for k in np.flatnonzero(areas > units.aed_tolerance_m2.value).tolist():
        centres = [centre[k]] if one[k] else disc_cover(
            regions[k], radius=reach, places=fps[k], step=units.aed_step_m.value, quad_segs=quad,
            tolerance_m2=units.aed_tolerance_m2.value)
        area = float(shapely.area(fps[k])) if fps[k] is not None else float(areas[k])
        back_ids = ids[idle[idle_pos == k]]
        basis = (f"{_count(len(centres), 'new AED')}: {_pct(areas[k], area)} of the footprint "
                 f"({area:,.0f} m²) is beyond {reach:.0f} m (straight line: a {config.aeds.walk_seconds.value:g} s "
                 f"walk at {config.aeds.walk_speed_m_s.value:g} m/s, detour factor "
                 f"{config.aeds.detour_factor.value:g}) of every AED"
                 + (f" once {_listed(back_ids)} {'is' if len(back_ids) == 1 else 'are'} back in service"
                    if len(back_ids) else "")
                 + f"; {_count(len(centres), 'disc')} of {reach:.0f} m cover it")
        rows += [_row(frame, int(buildings[k]), sites[k], "aed_reach_coverage", "aed", n, len(centres), c,
                      basis, range_m=reach) for n, c in enumerate(centres, start=1)]
    return rows


def camera_units(frame: Frame, unseen: gpd.GeoDataFrame, *,
                 config: CoverageConfig) -> list[dict[str, object]]:
    """New cameras per building to see its unseen exterior entrances (rows of ``UNIT_COLUMNS``).

    ``unseen`` is the ``uncovered_entrances`` layer (door points); buildings with no footprint
    get no rows (their doors stay counted one by one by planning). Doors more than two ranges
    from every other door of the building get a camera each, straight in front of them.
    """
    d_b = index_of(unseen["building_id"], frame.building_ids)
    keep = np.flatnonzero((d_b >= 0) & frame.has_footprint[np.maximum(d_b, 0)]) if frame.n else np.empty(0, int)
    if not len(keep):
        return []
    units, cams = config.new_units, config.cameras
    hfov, level = units.camera_hfov_deg.value, cams.entrance_level.value
    spec = pd.DataFrame({"hfov_deg": [hfov], "resolution_px": pd.array([units.camera_resolution_px.value],
                                                                      dtype="Int64"), "range_m": [np.nan]})
    range_m = float(camera_ranges(spec, config=cams)[level].iloc[0])
    obstacles = frame.footprints[frame.has_footprint].astype(object)
    tree = shapely.STRtree(obstacles)
    ids = unseen["door_id"].astype("string").to_numpy(dtype=object)[keep]
    points = shapely.get_coordinates(np.asarray(unseen.geometry.values, dtype=object)[keep])
    buildings, pos = np.unique(d_b[keep], return_inverse=True)
    rings = mount_lines(frame.footprints[buildings].astype(object), units.camera_mount_offset_m.value)
    front = shapely.line_interpolate_point(rings[pos], shapely.line_locate_point(rings[pos], shapely.points(points)))
    sites = site_of(frame, buildings)
    rows: list[dict[str, object]] = []
    for k, b in enumerate(buildings.tolist()):
        mine = np.flatnonzero(pos == k)
        groups: list[tuple[shapely.Point, np.ndarray]] = []
        for part in _near_groups(points[mine], 2 * range_m):
            groups += [(front[mine[part[0]]], part)] if len(part) == 1 else [
                (mount, part[g]) for mount, g in entrance_groups(
                    frame.footprints[b], points[mine[part]], obstacles=obstacles, tree=tree, range_m=range_m,
                    hfov_deg=hfov, margin_deg=units.camera_margin_deg.value,
                    offset_m=units.camera_mount_offset_m.value, step_m=units.camera_mount_step_m.value,
                    tolerance_m=cams.target_tolerance_m.value, clearance_m=cams.mount_clearance_m.value,
                    ring=rings[k])]
        basis = (f"{_count(len(groups), 'new camera')} to see {_count(len(mine), 'unseen exterior entrance')} "
                 f"({_listed(ids[mine])}): {hfov:g}° cameras of {units.camera_resolution_px.value} px "
                 f"({range_m:.1f} m at {level} density), mounted {units.camera_mount_offset_m.value:g} m "
                 "outside the footprint; " + "; ".join(
                     f"camera {n} sees {_listed(ids[mine][g])}" for n, (_, g) in enumerate(groups, start=1)))
        rows += [_row(frame, b, sites[k], "camera_entrance_coverage", "camera", n, len(groups), mount, basis,
                      range_m=range_m, hfov_deg=hfov, watches=", ".join(ids[mine][g]))
                 for n, (mount, g) in enumerate(groups, start=1)]
    return rows


def mount_lines(footprints: np.ndarray, offset_m: float) -> np.ndarray:
    """Where new exterior cameras may go: the outline of each footprint grown by ``offset_m``
    (mitred corners), courtyards and separate wings included."""
    lines: np.ndarray = shapely.boundary(shapely.buffer(footprints, offset_m, join_style="mitre"))
    return lines


def _near_groups(xy: np.ndarray, distance: float) -> list[np.ndarray]:
    """Positions of points joined (transitively) when within ``distance``, in order of first point."""
    label = np.arange(len(xy))
    if len(xy) > 1:
        near = _within(xy, xy, distance)
        for _ in range(len(xy)):
            new = np.min(np.where(near, label[None, :], len(xy)), axis=1)
            if (new == label).all():
                break
            label = new
    first = np.unique(label, return_index=True)[1]
    return [np.flatnonzero(label == label[i]) for i in np.sort(first)]


def entrance_groups(footprint: shapely.Geometry, doors: np.ndarray, *, obstacles: np.ndarray,
                    tree: shapely.STRtree, range_m: float, hfov_deg: float, margin_deg: float,
                    offset_m: float, step_m: float, tolerance_m: float = 1.0,
                    clearance_m: float = 0.5,
                    ring: shapely.Geometry | None = None) -> list[tuple[shapely.Point, np.ndarray]]:
    """Greedy grouping of door points (n, 2) of one footprint into cameras: (mount, door positions).

    Mounts lie on ``ring`` (default: ``mount_lines`` of the footprint), every ``step_m`` and
    straight in front of each door. A camera at a mount sees a door when the door is within
    ``range_m`` and at least ``clearance_m`` away, and the sight line up to ``tolerance_m`` short
    of the door enters no footprint (``obstacles``, indexed by ``tree``); it sees a set of doors
    that fit within ``hfov_deg - 2 margin_deg`` as seen from the mount. A door no mount sees gets
    a camera of its own (straight in front of it).
    """
    if ring is None:
        ring = mount_lines(np.array([footprint], dtype=object), offset_m)[0]
    along = np.arange(0.0, float(shapely.length(ring)), step_m)
    at_doors = shapely.line_locate_point(ring, shapely.points(doors))
    mounts = shapely.get_coordinates(shapely.line_interpolate_point(ring, np.r_[at_doors, along]))
    reach = np.asarray(_within(mounts, doors, range_m).any(axis=1), dtype=bool)
    reach[:len(doors)] = True  # the mounts in front of the doors stay first
    mounts = mounts[reach]
    sees, bearing = _sight(mounts, doors, obstacles=obstacles, tree=tree, range_m=range_m,
                           tolerance_m=tolerance_m, clearance_m=clearance_m)
    width = hfov_deg - 2 * margin_deg
    # together[c, i, j]: from mount c, a camera aimed from door i's bearing clockwise sees door j
    turn = (bearing[:, None, :] - bearing[:, :, None]) % 360.0
    together = sees[:, :, None] & sees[:, None, :] & (turn <= width)
    left = np.ones(len(doors), dtype=bool)
    groups: list[tuple[shapely.Point, np.ndarray]] = []
    while left.any():
        counts = (together & left[None, None, :]).sum(axis=2)
        c, i = np.unravel_index(int(np.argmax(counts)), counts.shape)
        if counts[c, i] == 0:
            break
        chosen = np.flatnonzero(together[c, i] & left)
        groups.append((shapely.Point(mounts[c]), chosen))
        left[chosen] = False
    for j in np.flatnonzero(left).tolist():  # seen from nowhere: one camera straight in front
        groups.append((shapely.Point(mounts[j]), np.array([j])))
    return groups


def _sight(mounts: np.ndarray, doors: np.ndarray, *, obstacles: np.ndarray, tree: shapely.STRtree,
           range_m: float, tolerance_m: float, clearance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Which doors each mount sees (within range, clear sight line) and their compass bearings."""
    dx = doors[None, :, 0] - mounts[:, None, 0]
    dy = doors[None, :, 1] - mounts[:, None, 1]
    dist = np.hypot(dx, dy)
    bearing = np.degrees(np.arctan2(dx, dy)) % 360.0
    sees = (dist <= range_m) & (dist >= clearance_m)
    c, j = np.nonzero(sees)
    if len(c):
        short = np.maximum(dist[c, j] - tolerance_m, 0.0) / np.maximum(dist[c, j], 1e-9)
        ends = mounts[c] + short[:, None] * (doors[j] - mounts[c])
        lines = shapely.linestrings(np.stack([mounts[c], ends], axis=1))
        # a sight line that enters a footprint's interior crosses it (mounts lie outside)
        line_i, _ = tree.query(lines, predicate="crosses")
        sees[c[line_i], j[line_i]] = False
    return sees, bearing


def units_needed(frame: Frame, *, aeds: gpd.GeoDataFrame, in_service: np.ndarray,
                 unreached: gpd.GeoDataFrame, unseen: gpd.GeoDataFrame, config: CoverageConfig,
                 crs: object) -> gpd.GeoDataFrame:
    """The ``units_needed`` layer: new AEDs (``aed_units``) and cameras (``camera_units``)."""
    rows = [*aed_units(frame, aeds, in_service=in_service, unreached=unreached, config=config),
            *camera_units(frame, unseen, config=config)]
    table = pd.DataFrame(rows, columns=[*UNIT_COLUMNS, "geometry"])
    geoms = table.pop("geometry").to_numpy(dtype=object)
    table = table.astype({"unit_no": "int64", "units": "int64", "range_m": "float64", "hfov_deg": "float64"})
    return gpd.GeoDataFrame(table, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)


def _row(frame: Frame, b: int, site: object, fact: str, unit: str, k: int, n: int, where: shapely.Point,
         basis: str, *, range_m: float, hfov_deg: float = np.nan, watches: str = "") -> dict[str, object]:
    return {"building_id": frame.building_ids[b], "site_id": site,
            "fact": fact, "unit": unit, "unit_no": k, "units": n, "watches": watches, "range_m": range_m,
            "hfov_deg": hfov_deg, "basis": basis, "geometry": where}


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _pct(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f}%" if whole > 0 else "all"


def _listed(ids: Iterable[object], limit: int = 6) -> str:
    names = [str(i) for i in ids]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")
