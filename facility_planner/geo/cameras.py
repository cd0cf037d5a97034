"""Camera views: field-of-view wedges cut by buildings and walls, zoned by IEC 62676-4 pixel density.

All cameras are handled at once: K rays per camera as one array of LineStrings, obstacles in one
STRtree, the nearest hit per ray by ``np.minimum.at``, and each view (and each density zone) built
from the ray endpoints with ``shapely.linearrings(coords, indices=...)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

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
    timed,
    union_by,
)
from facility_planner.geo.config import CameraConfig
from facility_planner.model import EXTERIOR_DOOR_ROLES, District


def camera_ranges(cameras: pd.DataFrame, *, config: CameraConfig) -> pd.DataFrame:
    """Radius (m) of each density zone of each camera; NaN where it cannot be known.

    With ``resolution_px`` and ``hfov_deg``: ``d = H / (2 P tan(HFOV/2))`` (HFOV < 180°; wider lenses
    use the arc form ``d = H / (P HFOV_rad)``), capped at ``range_m`` when given; with no range, the
    outer edge is the ``derived_range_level`` distance. With ``range_m`` only: the stated range for
    levels up to ``stated_range_level``, 0 (not drawn) for stricter ones.

    Returns
    -------
    DataFrame
        Index aligned with ``cameras``; one column per density level (loosest first) plus
        ``range_m`` (outer edge used) and ``range_derived`` (True when taken from resolution).
    """
    levels = config.levels
    density = np.array([config.densities_px_per_m.value[lv] for lv in levels])
    hfov = cameras["hfov_deg"].to_numpy(dtype=float)
    res = cameras["resolution_px"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    stated = cameras["range_m"].to_numpy(dtype=float)
    stated = np.where(stated > 0, stated, np.nan)
    hfov_ok = (hfov > 0) & (hfov <= 360)
    half = np.radians(np.where(hfov_ok, hfov, 90.0)) / 2
    width_per_m = np.where(hfov < 180, 2 * np.tan(np.minimum(half, np.radians(89.9))), 2 * half)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = res[:, None] / (density[None, :] * width_per_m[:, None])
    d[~((res > 0) & hfov_ok)] = np.nan
    derived = ~np.isfinite(stated) & np.isfinite(d[:, 0])
    outer = np.where(np.isfinite(stated), stated, d[:, levels.index(config.derived_range_level.value)])
    radii = np.minimum(d, outer[:, None])
    range_only = np.isfinite(stated) & ~np.isfinite(d[:, 0])
    within = np.arange(len(levels)) <= levels.index(config.stated_range_level.value)
    radii[range_only] = np.where(within, stated[range_only, None], 0.0)
    out = pd.DataFrame(radii, columns=levels, index=cameras.index)
    out["range_m"] = np.nanmax(np.where(np.isfinite(radii), radii, -np.inf), axis=1)
    out.loc[~np.isfinite(out["range_m"]), "range_m"] = np.nan
    out["range_derived"] = derived
    return out


@dataclass
class Rays:
    """K rays per camera, flattened: owning camera, unit direction, and the nearest hit distance."""

    camera: np.ndarray
    direction: np.ndarray
    hit: np.ndarray
    full_circle: np.ndarray  # per camera


def cast_rays(
    origins: np.ndarray,
    headings: np.ndarray,
    hfovs: np.ndarray,
    ranges: np.ndarray,
    *,
    obstacles: np.ndarray,
    blocks: Callable[[np.ndarray, np.ndarray], np.ndarray],
    rays_per_degree: float = 1.0,
    clearance: float = 0.5,
    profile: dict[str, float] | None = None,
) -> Rays:
    """Cast rays for every camera at once and find where each is first blocked.

    Parameters
    ----------
    origins
        (n, 2) camera positions; ``headings``/``hfovs`` in degrees (clockwise from north);
        ``ranges`` the outer radius of each camera.
    obstacles
        Geometries that may block (polygons block from their boundary inwards, lines where crossed).
    blocks
        ``blocks(ray_camera, obstacle_index) -> bool array``: which (ray, obstacle) pairs count.
    clearance
        Rays start this far from the origin so the wall a camera hangs on does not block it.
    """
    n = len(origins)
    full = hfovs >= 360
    k = np.where(full, np.maximum(8, np.ceil(360 * rays_per_degree)),
                 np.maximum(3, np.ceil(hfovs * rays_per_degree) + 1)).astype(np.int64)
    cam = np.repeat(np.arange(n), k)
    step = np.arange(len(cam)) - np.repeat(np.cumsum(k) - k, k)
    frac = np.where(full[cam], step / k[cam], step / np.maximum(k[cam] - 1, 1))
    angle = np.radians(np.where(full[cam], headings[cam] + 360 * frac,
                                headings[cam] - hfovs[cam] / 2 + hfovs[cam] * frac))
    direction = np.column_stack([np.sin(angle), np.cos(angle)])
    reach = np.maximum(ranges, clearance * 1.01)[cam]
    start = origins[cam] + clearance * direction
    end = origins[cam] + reach[:, None] * direction
    hit = reach.copy()
    if len(cam) and len(obstacles):
        with timed(profile, "camera wedges (rays)"):
            lines = shapely.linestrings(np.stack([start, end], axis=1))
        with timed(profile, "camera visibility (ray hits)"):
            tree = shapely.STRtree(obstacles)
            ray_i, obs_i = tree.query(lines, predicate="intersects")
            _nearest_hits(end, ray_i, obs_i, cam, origins, start, obstacles, blocks, hit)
    return Rays(cam, direction, hit, full)


def _nearest_hits(end: np.ndarray, ray_i: np.ndarray, obs_i: np.ndarray, cam: np.ndarray,
                  origins: np.ndarray, start: np.ndarray, obstacles: np.ndarray,
                  blocks: Callable[[np.ndarray, np.ndarray], np.ndarray], hit: np.ndarray) -> None:
    """Lower ``hit`` to the distance from the origin of each ray's nearest blocking obstacle.

    A ray first meets a polygon where it crosses its boundary, unless it starts inside it (then
    it is blocked at its start).
    """
    keep = blocks(cam[ray_i], obs_i)
    ray_i, obs_i = ray_i[keep], obs_i[keep]
    targets = obstacles[obs_i]
    is_polygon = shapely.get_type_id(obstacles) >= 3
    edges = obstacles.copy()
    edges[is_polygon] = shapely.boundary(obstacles[is_polygon])  # once per obstacle, not per pair
    polygonal = is_polygon[obs_i]
    dist = _crossing_distance(start, end, origins[cam], edges, ray_i, obs_i)
    poly = np.flatnonzero(polygonal)
    inside = shapely.intersects_xy(targets[poly], start[ray_i[poly], 0], start[ray_i[poly], 1])
    dist[poly[inside]] = np.hypot(*(start[ray_i[poly[inside]]] - origins[cam[ray_i[poly[inside]]]]).T)
    ok = np.isfinite(dist)
    np.minimum.at(hit, ray_i[ok], dist[ok])


def _crossing_distance(start: np.ndarray, end: np.ndarray, origin: np.ndarray, edges: np.ndarray,
                       ray_i: np.ndarray, obs_i: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Distance from the origin of ray ``ray_i[k]`` to where it first meets ``edges[obs_i[k]]``.

    Segment against segment in numpy over every (pair, edge segment): about 4x faster than
    ``shapely.intersection`` of the two lines and the same to within 1e-9 m. inf: no crossing.
    """
    parts, part_of = shapely.get_parts(edges, return_index=True)
    xy, coord_part = shapely.get_coordinates(parts, return_index=True)
    seg = np.flatnonzero(coord_part[1:] == coord_part[:-1])  # from coordinate seg to seg + 1
    seg_obs = part_of[coord_part[seg]]
    first = np.searchsorted(seg_obs, np.arange(len(edges)))
    count = np.searchsorted(seg_obs, np.arange(len(edges)), side="right") - first
    cnt = count[obs_i]
    pair = np.repeat(np.arange(len(ray_i)), cnt)
    sg = seg[np.repeat(first[obs_i] - np.cumsum(cnt) + cnt, cnt) + np.arange(int(cnt.sum()))]
    s = start[ray_i[pair]]
    r = end[ray_i[pair]] - s
    a = xy[sg]
    b = xy[sg + 1] - a
    q = a - s
    denom = r[:, 0] * b[:, 1] - r[:, 1] * b[:, 0]
    qb = q[:, 0] * b[:, 1] - q[:, 1] * b[:, 0]
    qr = q[:, 0] * r[:, 1] - q[:, 1] * r[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = qb / denom
        u = qr / denom
        crossing = (denom != 0) & (t >= -eps) & (t <= 1 + eps) & (u >= -eps) & (u <= 1 + eps)
        # A wall the ray runs along: the overlap starts at the nearer of its ends.
        rr = r[:, 0] * r[:, 0] + r[:, 1] * r[:, 1]
        ta = (q[:, 0] * r[:, 0] + q[:, 1] * r[:, 1]) / rr
        tb = ((q[:, 0] + b[:, 0]) * r[:, 0] + (q[:, 1] + b[:, 1]) * r[:, 1]) / rr
        lo = np.maximum(np.minimum(ta, tb), 0.0)
        along = (denom == 0) & (qr == 0) & (lo <= np.minimum(np.maximum(ta, tb), 1.0))
    t = np.where(crossing, np.clip(t, 0.0, 1.0), np.where(along, lo, np.nan))
    p = s + t[:, None] * r - origin[ray_i[pair]]
    d = np.sqrt(p[:, 0] * p[:, 0] + p[:, 1] * p[:, 1])
    out = np.full(len(ray_i), np.inf)
    ok = np.isfinite(d)
    np.minimum.at(out, pair[ok], d[ok])
    return out


def fans(origins: np.ndarray, rays: Rays, radius: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Polygons through the ray endpoints at ``radius``, for several radius columns in one call.

    ``radius`` is (rays, L) and ``chosen`` (cameras, L); returns the polygons of the chosen
    (camera, column) pairs, column by column, cameras in order within a column. Where the radius
    jumps between two neighbouring rays the outline steps at the shorter radius, so no area
    behind an obstacle's corner is counted as seen. Partial fans start at the origin; full
    circles do not. No repeated vertices: about one per ray.
    """
    n_levels = radius.shape[1]
    keep = chosen[rays.camera].T.ravel()  # column-major: all rays of column 0, then column 1...
    if not keep.any():
        return np.empty(0, dtype=object)
    rc = np.tile(rays.camera, n_levels)[keep]
    fan = (np.repeat(np.arange(n_levels), len(rays.camera)) * len(origins))[keep] + rc
    rd = np.tile(rays.direction, (n_levels, 1))[keep]
    rr = radius.T.ravel()[keep]
    m = len(rc)
    first = np.r_[True, fan[1:] != fan[:-1]]
    last = np.r_[fan[1:] != fan[:-1], True]
    full = rays.full_circle[rc]
    first_of = np.maximum.accumulate(np.where(first, np.arange(m), 0))
    nxt = np.where(last, first_of, np.arange(m) + 1)
    # Across a jump in radius (a shadow edge) the outline steps at the shorter radius: one more
    # vertex, on the ray of the longer radius; a straight chord would cut through the hidden area.
    # Small changes (a wall seen at an angle) keep the chord, which lies on the wall.
    r0, r1 = rr, rr[nxt]
    low = np.minimum(r0, r1)
    jump = (~last | full) & (np.abs(r0 - r1) > 0.25 * low + 0.5)
    origin_before = first & ~full
    count = origin_before + 1 + jump + last  # last: the closing vertex
    start = np.cumsum(count) - count
    p_pos = start + origin_before
    ring_end = start + count - 1
    coords = np.empty((int(count.sum()), 2))
    coords[start[origin_before]] = origins[rc[origin_before]]
    coords[p_pos] = origins[rc] + rr[:, None] * rd
    j = np.flatnonzero(jump)
    far = np.where(r0[j] > r1[j], j, nxt[j])  # the ray whose radius is longer
    coords[p_pos[j] + 1] = origins[rc[j]] + low[j, None] * rd[far]
    lf = np.flatnonzero(last)  # partial fans close at the origin, full circles at their first ray
    coords[ring_end[lf]] = coords[np.where(full[lf], p_pos[first_of[lf]], start[first_of[lf]])]
    offsets = np.r_[start[first], len(coords)]
    polygons = shapely.from_ragged_array(shapely.GeometryType.POLYGON, coords,
                                         (offsets, np.arange(len(offsets))))
    bad = ~shapely.is_valid(polygons)
    if bad.any():
        polygons[bad] = shapely.make_valid(polygons[bad])
    out: np.ndarray = polygons
    return out


@dataclass
class CameraViews:
    """Camera geometry of a district.

    ``cameras``: every camera with ``drawn`` and the ``reason`` it is not; ``views``: one visibility
    polygon per drawn camera; ``zones``: one polygon per drawn camera and density level (nested:
    identify within recognize within observe within detect), with ``level_rank`` 0 = loosest.
    """

    cameras: gpd.GeoDataFrame
    views: gpd.GeoDataFrame
    zones: gpd.GeoDataFrame


def _obstacles(district: District) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Footprints (kind 0, block exterior views), their rings and walls (kinds 1 and 2, interior).

    Returns geometries, kind, owning building position and floor (NaN: every floor).
    """
    b = district.buildings
    has = b["has_footprint"].to_numpy(dtype=bool)
    fp = b.geometry.values[has]
    fp_b = np.flatnonzero(has)
    walls = district.walls
    w_b = index_of(walls["building_id"], district.building_ids) if len(walls) else np.empty(0, int)
    w_geom = np.asarray(walls.geometry.values, dtype=object) if len(walls) else np.empty(0, object)
    w_floor = (pd.to_numeric(walls["floor"], errors="coerce").to_numpy(dtype=float)
               if len(walls) and "floor" in walls else np.full(len(w_geom), np.nan))
    w_ok = w_b >= 0
    w_b, w_geom, w_floor = w_b[w_ok], w_geom[w_ok], w_floor[w_ok]
    geoms = np.concatenate([np.asarray(fp, dtype=object), shapely.boundary(np.asarray(fp, dtype=object)), w_geom])
    kind = np.concatenate([np.zeros(len(fp), int), np.ones(len(fp), int), np.full(len(w_geom), 2)])
    owner = np.concatenate([fp_b, fp_b, w_b]).astype(np.int64)
    floor = np.concatenate([np.full(2 * len(fp), np.nan), w_floor])
    return geoms, kind, owner, floor


@dataclass
class _Drawable:
    """What each camera row can draw: ``reason`` it is not drawn ("" when drawn), its place and reach."""

    cams: pd.DataFrame
    building: np.ndarray  # position of its building (-1: none)
    site: np.ndarray
    status: pd.Series
    located: np.ndarray
    heading: np.ndarray
    hfov: np.ndarray
    ranges: pd.DataFrame
    outer: np.ndarray
    reason: np.ndarray
    interior: np.ndarray
    floor: np.ndarray

    @property
    def drawn(self) -> np.ndarray:
        out: np.ndarray = self.reason == ""
        return out


def camera_views(district: District, *, config: CameraConfig,
                 profile: dict[str, float] | None = None) -> CameraViews:
    """Visibility polygons and density zones of every drawable camera of ``district``."""
    cam = _drawable(district, config=config)
    fp_all = district.buildings.geometry.values
    own_fp = cast(np.ndarray, np.where(cam.building >= 0, np.asarray(fp_all, dtype=object)[np.maximum(cam.building, 0)]
                                       if len(fp_all) else None, None))
    geoms = _on_their_wall(cam, own_fp)
    d_idx = np.flatnonzero(cam.drawn)
    origins = shapely.get_coordinates(geoms[d_idx]).reshape(-1, 2) if len(d_idx) else np.empty((0, 2))
    rays = _rays_of(district, cam, d_idx, origins, config=config, profile=profile)
    clip = cam.interior[d_idx] & (cam.building[d_idx] >= 0)
    clip_fp = own_fp[d_idx]
    clip = clip & ~shapely.is_missing(clip_fp) if len(clip_fp) else clip

    def clipped(polys: np.ndarray, which: np.ndarray) -> np.ndarray:
        sub = np.flatnonzero(clip[which])
        if len(sub):
            # Most interior fans already lie inside their footprint: a prepared ``covers`` is far
            # cheaper than the overlay, which would return the same point set.
            fp = clip_fp[which[sub]]
            shapely.prepare(fp)
            sub = sub[~shapely.covers(fp, polys[sub])]
            polys[sub] = shapely.intersection(polys[sub], clip_fp[which[sub]])
        return polys

    all_d = np.arange(len(d_idx))
    with timed(profile, "camera visibility (polygons)"):
        view_polys = clipped(fans(origins, rays, rays.hit[:, None], np.ones((len(d_idx), 1), bool)), all_d)
    with timed(profile, "camera zones (polygons)"):
        zones = _zone_polygons(cam, d_idx, origins, rays, view_polys, clipped, config=config)
    return _camera_tables(cam, geoms, d_idx, view_polys, zones, crs=district.crs)


def _drawable(district: District, *, config: CameraConfig) -> _Drawable:
    """The checks a camera must pass to draw a view (status, location, heading, field, range)."""
    cams = district.cameras.reset_index(drop=True)
    bidx = index_of(cams["building_id"], district.building_ids)
    site_of_b = district.buildings["site_id"].astype("string").to_numpy(dtype=object)
    site = cast(np.ndarray, np.where(bidx >= 0, site_of_b[np.maximum(bidx, 0)] if len(site_of_b) else None, None))
    status = cams["status"].astype("string")
    status_ok = status.isin(config.drawn_statuses.value).fillna(False).to_numpy(dtype=bool)
    if config.unknown_status_drawn.value:
        status_ok = status_ok | status.isna().to_numpy()
    located = cams["located"].fillna(False).to_numpy(dtype=bool)
    heading = cams["heading_deg"].to_numpy(dtype=float)
    hfov = cams["hfov_deg"].to_numpy(dtype=float)
    ranges = camera_ranges(cams, config=config)
    outer = ranges["range_m"].to_numpy(dtype=float)
    checks = [
        (status_ok, status.fillna("unknown").radd("status ").to_numpy(dtype=object)),
        (located, "not located (placed at its room or building)"),
        (np.isfinite(heading), "no heading"),
        ((hfov > 0) & (hfov <= 360), "no field of view"),
        (outer > 0, "no range or resolution"),
    ]
    reason = np.full(len(cams), "", dtype=object)
    for ok, why in reversed(checks):
        reason = np.where(ok, reason, why)
    interior = (cams["mount"].astype("string") == "interior").fillna(False).to_numpy(dtype=bool)
    return _Drawable(cams, bidx, site, status, located, heading, hfov, ranges, outer, reason, interior,
                     asset_floor(cams, config.interior_camera_floor.value))


def _on_their_wall(cam: _Drawable, own_fp: np.ndarray) -> np.ndarray:
    """Camera points; exterior cameras digitised inside their own footprint moved to its edge (their wall)."""
    geoms = np.asarray(cam.cams.geometry.values, dtype=object)
    snap = cam.drawn & ~cam.interior & shapely.intersects(own_fp, geoms).astype(bool)
    if snap.any():
        edge = shapely.boundary(own_fp[snap])
        geoms = geoms.copy()
        geoms[snap] = shapely.line_interpolate_point(edge, shapely.line_locate_point(edge, geoms[snap]))
    return geoms


def _rays_of(district: District, cam: _Drawable, d_idx: np.ndarray, origins: np.ndarray, *,
             config: CameraConfig, profile: dict[str, float] | None) -> Rays:
    """Rays of the drawn cameras, stopped by what blocks each: footprints for exterior cameras;
    walls and the outline of their own building on their floor for interior ones."""
    obstacles, kind, owner, obs_floor = _obstacles(district)
    d_interior = cam.interior[d_idx]
    d_b = cam.building[d_idx]
    d_floor = cam.floor[d_idx]

    def blocks(ray_cam: np.ndarray, obs: np.ndarray) -> np.ndarray:
        same_floor = np.isnan(obs_floor[obs]) | (obs_floor[obs] == d_floor[ray_cam])
        indoor = (kind[obs] > 0) & (owner[obs] == d_b[ray_cam]) & same_floor
        out: np.ndarray = np.where(d_interior[ray_cam], indoor, kind[obs] == 0)
        return out

    return cast_rays(origins, cam.heading[d_idx], cam.hfov[d_idx], cam.outer[d_idx], obstacles=obstacles,
                     blocks=blocks, rays_per_degree=config.rays_per_degree.value,
                     clearance=config.mount_clearance_m.value, profile=profile)


def _zone_polygons(cam: _Drawable, d_idx: np.ndarray, origins: np.ndarray, rays: Rays,
                   view_polys: np.ndarray, clipped: Callable[[np.ndarray, np.ndarray], np.ndarray], *,
                   config: CameraConfig) -> pd.DataFrame:
    """Every density level in one call: a zone is the fan of min(hit, level range) per ray."""
    levels = config.levels
    r = cam.ranges[levels].to_numpy(dtype=float)[d_idx]
    chosen = r > 0
    level_i, which = np.nonzero(chosen.T)
    # A zone reaching past every hit of its camera is the view itself (same fan, same cut).
    far = np.zeros(len(d_idx))
    np.maximum.at(far, rays.camera, rays.hit)
    whole = (chosen & (r >= far[:, None])).T[chosen.T]
    polys = np.empty(len(which), dtype=object)
    polys[whole] = view_polys[which[whole]]
    part = chosen & ~(r >= far[:, None])
    polys[~whole] = clipped(fans(origins, rays, np.minimum(rays.hit[:, None], r[rays.camera]), part),
                            which[~whole])
    density = np.array([config.densities_px_per_m.value[lv] for lv in levels], dtype=float)
    return pd.DataFrame({
        "camera": which, "level": np.asarray(levels, dtype=object)[level_i], "level_rank": level_i,
        "density_px_per_m": density[level_i], "radius_m": r[which, level_i], "geometry": polys})


def _camera_tables(cam: _Drawable, geoms: np.ndarray, d_idx: np.ndarray, view_polys: np.ndarray,
                   zones: pd.DataFrame, *, crs: str) -> CameraViews:
    """The cameras, views and zones layers."""
    cams, site, cam_floor, outer = cam.cams, cam.site, cam.floor, cam.outer
    zi = d_idx[zones["camera"].to_numpy(dtype=np.int64)]
    ids = cams["camera_id"].astype("string").to_numpy(dtype=object)
    b_ids = cams["building_id"].astype("string").to_numpy(dtype=object)
    mount = cams["mount"].astype("string").to_numpy(dtype=object)
    derived = cam.ranges["range_derived"].to_numpy(dtype=bool)
    camera_table = gpd.GeoDataFrame({
        "camera_id": ids, "building_id": b_ids, "site_id": site, "mount": mount,
        "status": cam.status.to_numpy(dtype=object), "located": cam.located, "floor": cam_floor,
        "drawn": cam.drawn, "reason": cam.reason, "range_m": outer, "range_derived": derived,
    }, geometry=gpd.GeoSeries(geoms, crs=crs), crs=crs)
    views = gpd.GeoDataFrame({
        "camera_id": ids[d_idx], "building_id": b_ids[d_idx], "site_id": site[d_idx],
        "mount": mount[d_idx], "heading_deg": cam.heading[d_idx], "hfov_deg": cam.hfov[d_idx],
        "range_m": outer[d_idx], "range_derived": derived[d_idx],
        "area_m2": shapely.area(view_polys) if len(view_polys) else np.empty(0),
    }, geometry=gpd.GeoSeries(view_polys, crs=crs), crs=crs)
    zone_gdf = gpd.GeoDataFrame({
        "camera_id": ids[zi], "building_id": b_ids[zi], "site_id": site[zi], "mount": mount[zi],
        "floor": cam_floor[zi],
        "level": zones.get("level", pd.Series(dtype=object)).to_numpy(dtype=object),
        "level_rank": zones.get("level_rank", pd.Series(dtype=int)).to_numpy(dtype=np.int64),
        "density_px_per_m": zones.get("density_px_per_m", pd.Series(dtype=float)).to_numpy(dtype=float),
        "radius_m": zones.get("radius_m", pd.Series(dtype=float)).to_numpy(dtype=float),
    }, geometry=gpd.GeoSeries(zones["geometry"].to_numpy(dtype=object), crs=crs), crs=crs)
    return CameraViews(camera_table, views, zone_gdf)


def camera_notes(frame: Frame, cameras: gpd.GeoDataFrame) -> tuple[np.ndarray, list[list[str]]]:
    """Which buildings' camera facts are unknown, and notes on their cameras that are not drawn.

    Unknown: the site has cameras in service (status drawn) but none could be drawn.
    """
    b = index_of(cameras["building_id"], frame.building_ids)
    cam_site = np.where(b >= 0, frame.building_site[np.maximum(b, 0)] if frame.n else -1, -1)
    reason = cameras["reason"].to_numpy(dtype=object)
    in_service = ~pd.Series(reason, dtype="string").str.startswith("status").to_numpy(dtype=bool)
    drawn = cameras["drawn"].to_numpy(dtype=bool)
    n_sites = len(frame.site_ids)
    ok = cam_site >= 0
    serving = np.bincount(cam_site[ok & in_service], minlength=n_sites)
    drawn_n = np.bincount(cam_site[ok & drawn], minlength=n_sites)
    unknown_site = (serving > 0) & (drawn_n == 0)
    unknown = np.where(frame.building_site >= 0, unknown_site[np.maximum(frame.building_site, 0)], False)
    notes: list[list[str]] = [[] for _ in range(frame.n)]
    ids = cameras["camera_id"].to_numpy(dtype=object)
    for i in np.flatnonzero(~drawn & (b >= 0)):
        notes[b[i]].append(f"camera {ids[i]} not drawn: {reason[i]}")
    return unknown, notes


def entrance_watch(district: District, frame: Frame, views: CameraViews, *,
                   config: CameraConfig) -> tuple[Fact, Fact, gpd.GeoDataFrame]:
    """Share of each building's located exterior doors inside a zone at ``entrance_level`` or better.

    Returns the fact (evidence: ids of the doors not seen), its ``_unknown`` companion (exterior
    doors not located, so not judged) and the layer of doors not seen with their best level.
    """
    doors = district.doors.reset_index(drop=True)
    ext = doors["role"].isin(EXTERIOR_DOOR_ROLES).fillna(False).to_numpy(dtype=bool)
    located = doors["located"].fillna(False).to_numpy(dtype=bool)
    d_b = index_of(doors["building_id"], frame.building_ids)
    judged = np.flatnonzero(ext & located)
    pts = np.asarray(doors.geometry.values, dtype=object)[judged]
    best = np.full(len(judged), -1)
    zones = views.zones
    if len(zones) and len(judged):
        tree = shapely.STRtree(zones.geometry.values)
        door_i, zone_i = tree.query(pts, predicate="dwithin", distance=config.target_tolerance_m.value)
        np.maximum.at(best, door_i, zones["level_rank"].to_numpy()[zone_i])
    seen = best >= config.rank(config.entrance_level.value)
    fact = Fact(frame.n)
    n_judged = bincount(d_b[judged], frame.n)
    fact.values = percent(bincount(d_b[judged], frame.n, seen.astype(float)), n_judged)
    fact.subjects = bincount(d_b[ext], frame.n)
    ids = doors["door_id"].to_numpy(dtype=object)
    unseen = judged[~seen]
    fact.note(d_b[unseen], ids[unseen])
    unlocated = np.flatnonzero(ext & ~located)
    unknown = Fact(frame.n)
    unknown.values = bincount(d_b[unlocated], frame.n)
    unknown.subjects = fact.subjects.copy()
    unknown.note(d_b[unlocated], ids[unlocated])
    levels = np.array(["none", *config.levels], dtype=object)
    ub = d_b[unseen]
    layer = gpd.GeoDataFrame({
        "door_id": ids[unseen], "building_id": doors["building_id"].to_numpy(dtype=object)[unseen],
        "site_id": np.where(ub >= 0, site_of(frame, np.maximum(ub, 0)), NONE) if frame.n else None,
        "role": doors["role"].to_numpy(dtype=object)[unseen],
        "best_level": levels[best[~seen] + 1],
    }, geometry=gpd.GeoSeries(pts[~seen], crs=district.crs), crs=district.crs)
    return fact, unknown, layer


def perimeter_watch(district: District, frame: Frame, views: CameraViews, *,
                    config: CameraConfig) -> tuple[Fact, gpd.GeoDataFrame]:
    """Share of each building's perimeter watched by exterior cameras at ``perimeter_level``.

    Exact: the length of the line ``perimeter_offset_m`` outside the footprint (the approach to
    the walls) that lies within ``target_tolerance_m`` of a zone (the zones grown by the
    tolerance, 32 segments per quarter circle: within 5 mm), over the length of that line.
    Lengths are reported along the footprint. Unwatched stretches come back as lines.
    """
    fact = Fact(frame.n)
    fp_b = np.flatnonzero(frame.has_footprint)
    fps = frame.footprints[fp_b].astype(object)
    offset = config.perimeter_offset_m.value
    ring = shapely.boundary(shapely.buffer(fps, offset, quad_segs=2) if offset > 0 else fps)
    length = shapely.length(shapely.boundary(fps))
    zones = views.zones
    use = ((zones["level"] == config.perimeter_level.value)
           & (zones["mount"] != "interior")).fillna(False).to_numpy(dtype=bool) if len(zones) else np.empty(0, bool)
    zg = np.asarray(zones.geometry.values, dtype=object)[use]
    tol = config.target_tolerance_m.value
    seen = np.full(len(fp_b), EMPTY, dtype=object)
    if len(zg) and len(ring):
        r_i, z_i = shapely.STRtree(zg).query(ring, predicate="dwithin", distance=tol)
        near, z_i = np.unique(z_i, return_inverse=True)
        grown = shapely.buffer(zg[near], tol, quad_segs=32) if tol > 0 else zg[near]
        merged = union_by(grown[z_i], r_i, len(fp_b))  # polygons: one overlay per ring, no double count
        seen = np.where(pd.isna(merged), EMPTY, merged)
    watched = shapely.intersection(ring, seen) if len(ring) else ring
    ring_len = shapely.length(ring)
    share = np.clip(np.where(ring_len > 0, shapely.length(watched) / np.where(ring_len > 0, ring_len, 1), 0), 0, 1)
    fact.values[fp_b] = 100.0 * share
    fact.subjects[fp_b] = length
    for k, b in enumerate(fp_b.tolist()):
        if share[k] < 1:
            fact.evidence[b].append(f"{(1 - share[k]) * length[k]:.0f} m of {length[k]:.0f} m perimeter unwatched")
    gaps = shapely.line_merge(shapely.difference(ring, seen)) if len(ring) else ring
    parts, of = shapely.get_parts(gaps, return_index=True)
    keep = shapely.length(parts) > 0.01 if len(parts) else np.empty(0, bool)  # no stretch under 1 cm
    lines, rb = parts[keep], fp_b[of[keep]]
    layer = gpd.GeoDataFrame({
        "building_id": np.asarray(frame.building_ids, dtype=object)[rb],
        "site_id": site_of(frame, rb), "length_m": shapely.length(lines),
    }, geometry=gpd.GeoSeries(lines, crs=district.crs), crs=district.crs)
    return fact, layer


def _by_site(layer: gpd.GeoDataFrame, frame: Frame) -> np.ndarray:
    if not len(layer):
        return np.full(len(frame.site_ids), None, dtype=object)
    code = index_of(layer["site_id"], frame.site_ids)
    ok = code >= 0
    return union_by(np.asarray(layer.geometry.values, dtype=object)[ok], code[ok], len(frame.site_ids))


def outdoor_areas(district: District, frame: Frame) -> np.ndarray:
    """Per site: site boundary and parking, less building footprints (None when neither is mapped)."""
    bound = _by_site(district.site_boundaries, frame)
    park = _by_site(district.parking, frame)
    ok = frame.has_footprint & (frame.building_site >= 0)
    fps = union_by(frame.footprints[ok].astype(object), frame.building_site[ok], len(frame.site_ids))
    mapped = ~(pd.isna(bound) & pd.isna(park))
    area = shapely.union(np.where(pd.isna(bound), EMPTY, bound), np.where(pd.isna(park), EMPTY, park))
    area = shapely.difference(area, np.where(pd.isna(fps), EMPTY, fps))
    return np.where(mapped, area, NONE)


def outdoor_watch(district: District, frame: Frame, views: CameraViews, *,
                  config: CameraConfig) -> tuple[Fact, gpd.GeoDataFrame, np.ndarray]:
    """Share of each site's parking and outdoor area inside an exterior zone at ``outdoor_level``.

    Returns the building fact (each building carries its site's figure), the unwatched outdoor
    areas (blind spots) and the per-site percentages.
    """
    outdoor = outdoor_areas(district, frame)
    n_sites = len(frame.site_ids)
    total = np.where(pd.isna(outdoor), 0.0, shapely.area(np.where(pd.isna(outdoor), EMPTY, outdoor)))
    zones = views.zones
    use = ((zones["level"] == config.outdoor_level.value)
           & (zones["mount"] != "interior")).fillna(False).to_numpy(dtype=bool) if len(zones) else np.empty(0, bool)
    sites = np.flatnonzero(total > 0)
    watched = np.full(n_sites, None, dtype=object)
    if use.any() and len(sites):
        zg = zones.geometry.values[use]
        s_i, z_i = shapely.STRtree(zg).query(outdoor[sites], predicate="intersects")
        pieces = shapely.intersection(outdoor[sites][s_i], np.asarray(zg, dtype=object)[z_i])
        watched = union_by(pieces, sites[s_i], n_sites)
    seen = np.where(pd.isna(watched), 0.0, shapely.area(np.where(pd.isna(watched), EMPTY, watched)))
    site_pct = percent(seen, total)
    blind = shapely.difference(outdoor[sites], np.where(pd.isna(watched[sites]), EMPTY, watched[sites]))
    keep = ~shapely.is_empty(blind) if len(blind) else np.empty(0, bool)
    layer = gpd.GeoDataFrame({
        "kind": "outdoor", "site_id": np.asarray(frame.site_ids, dtype=object)[sites][keep],
        "building_id": None, "room_id": None, "area_m2": shapely.area(blind[keep]),
    }, geometry=gpd.GeoSeries(blind[keep], crs=district.crs), crs=district.crs)
    fact = Fact(frame.n)
    bs = frame.building_site
    has_site = bs >= 0
    fact.values[has_site] = site_pct[bs[has_site]]
    fact.subjects[has_site] = total[bs[has_site]]
    for b in np.flatnonzero(has_site & (fact.values < 100)).tolist():
        s = bs[b]
        fact.evidence[b].append(f"{total[s] - seen[s]:.0f} m² of {total[s]:.0f} m² parking/outdoor "
                                f"area of site {frame.site_ids[s]} unwatched")
    return fact, layer, site_pct


def corridor_watch(district: District, frame: Frame, views: CameraViews, *,
                   config: CameraConfig) -> tuple[Fact, gpd.GeoDataFrame]:
    """Share of mapped corridor area inside an interior zone at ``corridor_level`` on its floor."""
    rooms = district.rooms.reset_index(drop=True)
    geom = np.asarray(rooms.geometry.values, dtype=object)
    corridor = ((rooms["room_type"] == "corridor").fillna(False).to_numpy(dtype=bool)
                & ~pd.isna(geom))
    corridor[corridor] &= ~shapely.is_empty(geom[corridor])
    r_b = index_of(rooms["building_id"], frame.building_ids)
    c_idx = np.flatnonzero(corridor & (r_b >= 0))
    c_b = r_b[c_idx]
    c_floor = asset_floor(rooms, config.interior_camera_floor.value)[c_idx]
    c_geom = geom[c_idx]
    zones = views.zones
    use = ((zones["level"] == config.corridor_level.value)
           & (zones["mount"] == "interior")).fillna(False).to_numpy(dtype=bool) if len(zones) else np.empty(0, bool)
    watched = np.full(len(c_idx), None, dtype=object)
    if use.any() and len(c_idx):
        zg = np.asarray(zones.geometry.values, dtype=object)[use]
        zf = zones["floor"].to_numpy(dtype=float)[use]
        r_i, z_i = shapely.STRtree(zg).query(c_geom, predicate="intersects")
        same = zf[z_i] == c_floor[r_i]
        r_i, z_i = r_i[same], z_i[same]
        watched = union_by(shapely.intersection(c_geom[r_i], zg[z_i]), r_i, len(c_idx))
    area = shapely.area(c_geom) if len(c_idx) else np.empty(0)
    seen = np.where(pd.isna(watched), 0.0, shapely.area(np.where(pd.isna(watched), EMPTY, watched)))
    fact = Fact(frame.n)
    total_b = bincount(c_b, frame.n, area)
    fact.values = percent(bincount(c_b, frame.n, seen), total_b)
    fact.subjects = total_b
    room_ids = rooms["room_id"].to_numpy(dtype=object)[c_idx]
    short = seen < area - 1e-6
    fact.note(c_b[short], (f"corridor {r}: {100 * (1 - s / a):.0f}% of its area unwatched"
                           for r, s, a in zip(room_ids[short], seen[short], area[short], strict=True)))
    blind = shapely.difference(c_geom, np.where(pd.isna(watched), EMPTY, watched)) if len(c_idx) else c_geom
    keep = ~shapely.is_empty(blind) if len(blind) else np.empty(0, bool)
    layer = gpd.GeoDataFrame({
        "kind": "corridor", "site_id": site_of(frame, c_b[keep]),
        "building_id": np.asarray(frame.building_ids, dtype=object)[c_b[keep]],
        "room_id": room_ids[keep], "area_m2": shapely.area(blind[keep]),
    }, geometry=gpd.GeoSeries(blind[keep], crs=district.crs), crs=district.crs)
    return fact, layer
