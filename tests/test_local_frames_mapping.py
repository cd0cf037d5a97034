"""The fast paths of the local-frame mapping (``geo.local``) give exactly what the plain calls give."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import positions
from facility_planner.geo.local import TOLERANCE_M, _fitted_maps, _Poly, _with_coordinates

RNG = np.random.default_rng(16)


def test_geometries_built_from_the_buffer_are_those_set_coordinates_gives():
    polys = shapely.buffer(shapely.points(RNG.uniform(0, 500, (40, 2))), 10.0, quad_segs=4)
    holed = shapely.difference(polys[:5], shapely.buffer(shapely.centroid(polys[:5]), 2.0))
    geoms = np.array([*polys, *holed, None, shapely.Polygon(), shapely.LineString(), shapely.Point(),
                      shapely.Point(1, 2), shapely.LineString([(0, 0), (3, 4), (5, 0)]),
                      shapely.MultiPoint([(0, 0), (1, 1)]), shapely.MultiPolygon(list(polys[:2])),
                      shapely.GeometryCollection([shapely.Point(0, 0), polys[0]])], dtype=object)
    count = shapely.get_num_coordinates(geoms)
    xy = shapely.get_coordinates(geoms) * 1.0001 + 3.0
    before = shapely.to_wkb(geoms)
    got = _with_coordinates(geoms, xy, count)
    expected = shapely.set_coordinates(geoms.copy(), xy)
    assert list(shapely.to_wkb(got)) == list(shapely.to_wkb(expected))
    assert list(shapely.to_wkb(geoms)) == list(before)  # the input is left as it was


def test_polynomial_map_of_a_point_depends_only_on_the_point_and_its_group():
    src = RNG.normal(size=(30, 49, 2)) * 1000 + RNG.normal(size=(30, 1, 2)) * 1e6
    poly = _Poly.fit(src, src + 1e-3 * src ** 2 / 1e6)
    quadratic = _Poly.fit(src, src + 1e-3 * src ** 2 / 1e6, degree=2)
    odd = np.arange(30) % 2 == 1  # groups of both degrees, short runs of both evaluated together
    poly.coef[odd], poly.degree[odd] = quadratic.coef[odd], quadratic.degree[odd]
    sizes = RNG.choice([1, 3, 40, 1023, 1024, 3000], size=30)
    group = np.repeat(np.arange(30), sizes)
    RNG.shuffle(group)
    xy = src[group, 0] + RNG.normal(size=(len(group), 2)) * 500
    together = poly(xy, group)
    for g in (0, 7, 29):  # each group alone: one run, short or long
        alone = poly(xy[group == g], group[group == g])
        assert np.array_equal(together[group == g], alone)
    assert np.allclose(together, xy + 1e-3 * xy ** 2 / 1e6, atol=1e-3)


def test_positions_are_get_indexer_of_the_keys_as_objects():
    index = pd.Index(["a", "b", "c"], dtype=object)
    for dtype in ("str", "string", object):
        keys = pd.Series(["b", "x", None, "a", "b", "c"], dtype=dtype)
        assert list(positions(keys, index)) == list(index.get_indexer(keys.astype(object).to_numpy()))
    assert list(positions(pd.Series(["a"]), pd.Index([], dtype=object))) == [-1]
    assert len(positions(pd.Series([], dtype="str"), index)) == 0


def test_each_group_gets_the_lowest_degree_that_fits_else_the_exact_map():
    g = np.arange(4)
    src = RNG.uniform(-1, 1, size=(4, 81, 2)) * 3000 + RNG.normal(size=(4, 1, 2)) * 1e5
    u = (src - src.mean(axis=1, keepdims=True)) / 3000
    bend = np.stack([u[..., 0] ** 2 * u[..., 1], u[..., 1] ** 3], axis=-1)  # cubic terms
    local = src + np.array([0.0, 0.0, 0.01, 0.0])[:, None, None] * bend
    local[1] += 0.2 * u[1] ** 2  # quadratic only
    local[3] += 0.01 * np.sin(4 * u[3])  # no polynomial of degree 3 within 0.1 mm
    forward, inverse, exact = _fitted_maps(src, local, np.ones(4), fit_n=49)
    assert list(forward.degree[:3]) == [2, 2, 3] and list(exact) == [False, False, False, True]
    assert not forward.coef[:2, 6:].any()  # a quadratic group's higher terms are zero
    check = np.repeat(g[:3], 32)
    mapped = forward(src[:3, 49:].reshape(-1, 2), check)
    assert np.abs(mapped - local[:3, 49:].reshape(-1, 2)).max() <= TOLERANCE_M
    back = inverse(local[:3, 49:].reshape(-1, 2), check)
    assert np.abs(back - src[:3, 49:].reshape(-1, 2)).max() <= TOLERANCE_M
