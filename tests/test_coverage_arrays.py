"""The numpy stand-ins for shapely calls in the coverage stages give shapely's answers."""

from __future__ import annotations

import numpy as np
import shapely

from facility_planner.geo._arrays import near_xy, points_along
from facility_planner.geo.cameras import _crossing_distance
from facility_planner.geo.radio import clip_convex, clip_convex_area

RNG = np.random.default_rng(7)


def test_points_along_matches_line_interpolate_point_on_rings_with_holes():
    polys = shapely.buffer(shapely.points(RNG.uniform(0, 500, (60, 2))), RNG.uniform(5, 30, 60), quad_segs=3)
    polys[:20] = shapely.difference(polys[:20], shapely.buffer(shapely.centroid(polys[:20]), 2))
    rings = shapely.boundary(polys)  # MultiLineString where there is a hole
    which = RNG.integers(0, len(rings), 2000)
    frac = np.r_[0.0, 1.0, RNG.uniform(0, 1, 1998)]
    expected = shapely.get_coordinates(shapely.line_interpolate_point(rings[which], frac, normalized=True))
    assert np.allclose(points_along(rings, which, frac), expected, atol=1e-9)
    assert np.allclose(points_along(rings[:1], np.array([0]), np.array([0.0])),
                       shapely.get_coordinates(rings[0])[:1])


def test_near_xy_matches_dwithin():
    zones = shapely.buffer(shapely.points(RNG.uniform(0, 200, (40, 2))), 8.0, quad_segs=4)
    xy = RNG.uniform(-10, 210, (3000, 2))
    group = np.sort(RNG.integers(0, 50, 3000))
    expected = np.zeros(len(xy), bool)
    expected[shapely.STRtree(zones).query(shapely.points(xy), predicate="dwithin", distance=1.0)[0]] = True
    got = near_xy(zones, xy, group, distance=1.0)
    assert got.any() and (got == expected).all()
    assert not near_xy(zones[:0], xy, group, distance=1.0).any()


def test_crossing_distance_matches_shapely_intersection():
    # A square footprint ring and a wall the ray runs along.
    edges = np.array([shapely.box(10, -5, 20, 5).exterior, shapely.LineString([(0, 30), (0, 40)])], dtype=object)
    start = np.array([[0.5, 0.0], [0.0, 0.5], [0.5, 0.0], [0.0, 0.5]])
    end = np.array([[50.0, 0.0], [0.0, 50.0], [50.0, 5.0], [50.0, 50.0]])
    origin = np.zeros((4, 2))
    ray_i, obs_i = np.array([0, 1, 2, 3, 3]), np.array([0, 1, 0, 0, 1])
    dist = _crossing_distance(start, end, origin, edges, ray_i, obs_i)
    assert np.allclose(dist[:2], [10.0, 30.0])  # through the square; along the wall, at its end
    assert np.isinf(dist[3:]).all()  # misses both
    lines = shapely.linestrings(np.stack([start, end], axis=1))
    crossing = shapely.intersection(lines[ray_i], edges[obs_i])
    assert np.isclose(dist[2], shapely.distance(shapely.Point(0, 0), crossing[2]))


def test_clip_convex_matches_overlay():
    polys = shapely.convex_hull(shapely.multipoints(RNG.uniform(0, 10, (500, 7, 2))))
    x0, y0 = RNG.uniform(-2, 8, (2, 500))
    w = RNG.uniform(0.5, 6, 500)
    which = np.arange(500)
    expected = shapely.intersection(polys, shapely.box(x0, y0, x0 + w, y0 + w))
    got = clip_convex(polys, which, x0, y0, x0 + w, y0 + w)
    assert shapely.is_valid(got).all()
    assert np.allclose(shapely.area(got), shapely.area(expected), atol=1e-9)
    assert shapely.area(shapely.symmetric_difference(got, expected)).max() < 1e-9
    assert np.allclose(clip_convex_area(polys, which, x0, y0, x0 + w, y0 + w), shapely.area(expected), atol=1e-9)
