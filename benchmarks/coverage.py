"""Benchmark of ``compute_coverage`` on a synthetic district (default 1,000 schools).

Prints the time of each stage, the peak memory, and side by side the time of the bare shapely
operations each stage cannot avoid on the same inputs; the ratio stage / bare is the overhead
to drive toward 1.

    .venv/bin/python benchmarks/coverage.py [--schools 1000] [--seed 0] [--chunk-buildings 2000]

``--chunk-buildings 0`` measures the whole district at once (the peak memory to compare).
"""

from __future__ import annotations

import argparse
import resource
import time
from datetime import date

import numpy as np
import shapely

from facility_planner.demo import demo_district
from facility_planner.geo import compute_coverage, load_coverage_config
from facility_planner.geo._arrays import Frame, points_along, union_by
from facility_planner.geo.cameras import _obstacles, outdoor_areas
from facility_planner.geo.coverage import CHUNK_BUILDINGS


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Clock:
    def __init__(self) -> None:
        self.times: dict[str, float] = {}

    def __call__(self, stage: str, func, *args, **kwargs):
        start = time.perf_counter()
        out = func(*args, **kwargs)
        self.times[stage] = self.times.get(stage, 0.0) + time.perf_counter() - start
        return out


def bare_operations(district, coverage) -> dict[str, float]:
    """Time the shapely calls each stage needs, on inputs rebuilt from the district and results."""
    config = load_coverage_config()
    layers = coverage.layers
    clock = Clock()
    frame = Frame.of(district)

    # Rays: the same count and lengths as the views (coordinates made with numpy, not timed).
    views = layers["camera_views"]
    hfov = views["hfov_deg"].to_numpy()
    k = np.where(hfov >= 360, 360, np.ceil(hfov) + 1).astype(int)
    cam = np.repeat(np.arange(len(views)), k)
    step = np.arange(len(cam)) - np.repeat(np.cumsum(k) - k, k)
    angle = np.radians(views["heading_deg"].to_numpy()[cam] - hfov[cam] / 2 + step)
    cams = layers["cameras"].set_index("camera_id").loc[views["camera_id"]]
    origin = np.column_stack([cams.geometry.x, cams.geometry.y])[cam]
    direction = np.column_stack([np.sin(angle), np.cos(angle)])
    reach = views["range_m"].to_numpy()[cam, None]
    coords = np.stack([origin + 0.5 * direction, origin + reach * direction], axis=1)
    lines = clock("camera wedges (rays)", shapely.linestrings, coords)

    obstacles, kind, owner, obs_floor = _obstacles(district)
    bounds = obstacles.copy()
    bounds[kind == 0] = clock("camera visibility (ray hits)", shapely.boundary, obstacles[kind == 0])
    tree = clock("camera visibility (ray hits)", shapely.STRtree, obstacles)
    ray_i, obs_i = clock("camera visibility (ray hits)", tree.query, lines, predicate="intersects")
    # Only pairs that can block (numpy, not timed): footprints for exterior cameras; walls and
    # rings of their own building and floor for interior ones.
    interior = (views["mount"] == "interior").fillna(False).to_numpy(dtype=bool)[cam[ray_i]]
    own = district.building_ids.get_indexer(views["building_id"].astype(object))[cam[ray_i]]
    floor = cams["floor"].to_numpy(dtype=float)[cam[ray_i]]
    indoor = (kind[obs_i] > 0) & (owner[obs_i] == own) & (np.isnan(obs_floor[obs_i]) | (obs_floor[obs_i] == floor))
    keep = np.where(interior, indoor, kind[obs_i] == 0)
    ray_i, obs_i = ray_i[keep], obs_i[keep]
    # Where each ray crosses an edge is segment arithmetic (numpy in the stage, not a shapely call):
    # the bare side only reads the edge coordinates.
    clock("camera visibility (ray hits)", shapely.get_coordinates, bounds[np.unique(obs_i)])
    poly = kind[obs_i] == 0  # a ray starting inside a footprint is blocked at once
    clock("camera visibility (ray hits)", shapely.intersects_xy, obstacles[obs_i[poly]],
          coords[ray_i[poly], 0, 0], coords[ray_i[poly], 0, 1])

    fp_of = dict(zip(district.buildings["building_id"], frame.footprints, strict=True))
    for stage, layer in (("camera visibility (polygons)", views), ("camera zones (polygons)", layers["camera_zones"])):
        rings = shapely.get_exterior_ring(shapely.get_parts(layer.geometry.values))
        xy, idx = shapely.get_coordinates(rings, return_index=True)
        idx = np.unique(idx, return_inverse=True)[1]
        polys = clock(stage, lambda xy=xy, idx=idx: shapely.polygons(shapely.linearrings(xy, indices=idx)))
        # Interior views are cut to their footprint: a prepared covers test for all, the overlay
        # for those reaching the footprint's edge (after the cut, those touching its boundary).
        interior = np.flatnonzero((layer["mount"] == "interior").fillna(False).to_numpy(dtype=bool)
                                  & layer["building_id"].map(fp_of).notna().to_numpy(dtype=bool))
        interior = interior[interior < len(polys)]
        fp = np.array([fp_of[b] for b in layer["building_id"].to_numpy()[interior]], dtype=object)
        shapely.prepare(fp)
        clock(stage, shapely.covers, fp, polys[interior])
        edge = ~shapely.contains_properly(fp, polys[interior])
        clock(stage, shapely.intersection, polys[interior][edge], fp[edge])

    zones = layers["camera_zones"]
    doors = district.doors[district.doors["located"].fillna(False).to_numpy(dtype=bool)]
    ztree = clock("entrances (join)", shapely.STRtree, zones.geometry.values)
    clock("entrances (join)", ztree.query, doors.geometry.values, predicate="dwithin", distance=1.0)

    fps = frame.footprints[frame.has_footprint].astype(object)
    ring = clock("perimeter (join)", lambda: shapely.boundary(shapely.buffer(fps, 2.0, quad_segs=2)))
    n = np.maximum(4, np.ceil(shapely.length(ring))).astype(int)
    owner = np.repeat(np.arange(len(fps)), n)
    frac = (np.arange(len(owner)) - np.repeat(np.cumsum(n) - n, n) + 0.5) / n[owner]
    # Sample coordinates are plain arithmetic along the rings and the candidate (sample, zone)
    # pairs envelope tests (numpy, not timed). Timed: the point-in-zone test of each candidate
    # pair, then points and a distance test only for candidates not inside.
    xy = points_along(ring, owner, frac)
    ext = zones[(zones["level"] == "detect") & (zones["mount"] != "interior")]
    zg = np.asarray(ext.geometry.values, dtype=object)
    p_i, z_i = shapely.STRtree(shapely.box(*(shapely.bounds(zg) + [-1, -1, 1, 1]).T)).query(shapely.points(xy))
    shapely.prepare(zg)
    inside = clock("perimeter (join)", shapely.intersects_xy, zg[z_i], xy[p_i, 0], xy[p_i, 1])
    seen = np.zeros(len(xy), dtype=bool)
    seen[p_i[inside]] = True
    rest = ~seen[p_i]
    near = clock("perimeter (join)", shapely.points, xy[np.unique(p_i[rest])])
    clock("perimeter (join)", shapely.dwithin, zg[z_i[rest]],
          near[np.unique(p_i[rest], return_inverse=True)[1]], 1.0)

    outdoor = clock("outdoor (unions)", outdoor_areas, district, frame)  # unions and differences
    sites = np.flatnonzero(~np.equal(outdoor, None))
    etree2 = shapely.STRtree(ext.geometry.values)
    s_i, z_i = clock("outdoor (unions)", etree2.query, outdoor[sites], predicate="intersects")
    cut = clock("outdoor (unions)", shapely.intersection, outdoor[sites][s_i], ext.geometry.values[z_i])
    merged = clock("outdoor (unions)", union_by, cut, s_i, len(sites))
    clock("outdoor (unions)", shapely.difference, outdoor[sites],
          np.where(np.equal(merged, None), shapely.from_wkt("POLYGON EMPTY"), merged))

    # Radio: the test-grid cells, their points and the wall crossings of the paths.
    cells = layers["radio_coverage"]
    first_floor = cells[cells["floor"] == 1]
    x0, y0, x1, y1 = shapely.bounds(first_floor.geometry.values).T
    boxes = clock("radio", shapely.box, x0, y0, x1, y1)
    own = np.array([fp_of[b] for b in first_floor["building_id"]], dtype=object)
    shapely.prepare(own)
    inside = clock("radio", shapely.contains, own, boxes)
    # Edge cells of convex footprints are cut in numpy (not a shapely call); the others by overlay.
    convex = clock("radio", lambda: shapely.equals(fps, shapely.convex_hull(fps)))
    convex_of = dict(zip(district.buildings["building_id"][frame.has_footprint], convex, strict=True))
    overlay = ~inside & ~first_floor["building_id"].map(convex_of).to_numpy(dtype=bool)
    clock("radio", shapely.intersection, boxes[overlay], own[overlay])
    points = clock("radio", shapely.point_on_surface, first_floor.geometry.values)
    edges = clock("radio", shapely.boundary, fps)  # once per footprint, not per cell
    edge_of = dict(zip(district.buildings["building_id"][frame.has_footprint], edges, strict=True))
    own_edge = np.array([edge_of[b] for b in first_floor["building_id"]], dtype=object)
    clock("radio", shapely.distance, points, own_edge)
    rooms = district.rooms
    crit = rooms[rooms["room_type"].isin(config.radio.critical_room_types.value).fillna(False).to_numpy()
                 & rooms.geometry.notna().to_numpy()]
    if len(crit):
        ctree = clock("radio", shapely.STRtree, crit.geometry.values)
        c_i, r_i = clock("radio", ctree.query, first_floor.geometry.values, predicate="intersects")
        cut = clock("radio", shapely.intersection, first_floor.geometry.values[c_i], crit.geometry.values[r_i])
        clock("radio", shapely.area, cut)
    reps = district.repeaters[district.repeaters["located"].fillna(False).to_numpy(dtype=bool)]
    if len(reps) and len(district.walls):
        rep_of = dict(zip(reps["building_id"], zip(reps.geometry.x, reps.geometry.y, strict=True), strict=False))
        served = cells[cells["building_id"].isin(rep_of) & cells["building_id"].isin(district.walls["building_id"])]
        pts = shapely.get_coordinates(shapely.point_on_surface(served.geometry.values))
        ends = np.array([rep_of[b] for b in served["building_id"]])
        paths = clock("radio", shapely.linestrings, np.stack([pts, ends], axis=1))
        wtree = clock("radio", shapely.STRtree, district.walls.geometry.values)
        clock("radio", wtree.query, paths, predicate="intersects")

    reach = config.aeds.reach_m
    aeds = layers["aed_reach"]
    kits = layers["kit_reach"]
    for layer in (aeds, kits):
        centres = shapely.centroid(layer.geometry.values)
        discs = clock("AED and kit reach (unions)", shapely.buffer, centres, reach, quad_segs=16)
        f_i, d_i = clock("AED and kit reach (unions)", shapely.STRtree(discs).query, fps, predicate="intersects")
        cut = clock("AED and kit reach (unions)", shapely.intersection, fps[f_i], discs[d_i])
        merged = clock("AED and kit reach (unions)", union_by, cut, f_i, len(fps))
        clock("AED and kit reach (unions)", shapely.difference, fps,
              np.where(np.equal(merged, None), shapely.from_wkt("POLYGON EMPTY"), merged))
    return clock.times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schools", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-buildings", type=int, default=CHUNK_BUILDINGS,
                        help="buildings per chunk of sites (0: all at once)")
    args = parser.parse_args()

    start = time.perf_counter()
    district = demo_district(args.schools, seed=args.seed).to_district()
    made = time.perf_counter() - start
    base = peak_mb()
    counts = {k: len(getattr(district, k)) for k in
              ("buildings", "rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls")}
    print(f"synthetic district: {args.schools} schools in {made:.1f} s; " +
          ", ".join(f"{v:,} {k}" for k, v in counts.items()))

    profile: dict[str, float] = {}
    start = time.perf_counter()
    coverage = compute_coverage(district, as_of=date(2025, 9, 1), profile=profile,
                                chunk_buildings=args.chunk_buildings or None)
    total = time.perf_counter() - start
    peak = peak_mb()
    bare = bare_operations(district, coverage)

    print(f"\n{'stage':36s} {'stage s':>9s} {'bare s':>9s} {'ratio':>7s}")
    for stage, seconds in profile.items():
        if stage == "setup":
            continue
        b = bare.get(stage)
        ratio = f"{seconds / b:7.2f}" if b else "      -"
        print(f"{stage:36s} {seconds:9.3f} {b if b else float('nan'):9.3f} {ratio}")
    staged = sum(profile.values())
    print(f"{'other (tables, layers)':36s} {total - staged:9.3f}")
    print(f"{'total compute_coverage':36s} {total:9.3f} {sum(bare.values()):9.3f} "
          f"{total / sum(bare.values()):7.2f}")
    local = profile.get("local frames", 0.0)
    print(f"\nlocal-CRS share of the run (compute_coverage): {100 * local / total:.1f}% "
          f"({local:.2f} s of {total:.2f} s: frames, mapping in and out; geo.local)")
    print(f"\nchunks of {args.chunk_buildings or 'all'} buildings; "
          f"peak RSS {peak:,.0f} MB (district alone {base:,.0f} MB; coverage added {peak - base:,.0f} MB)")
    print("layers: " + ", ".join(f"{k} {len(v):,}" for k, v in coverage.layers.items()))


if __name__ == "__main__":
    main()
