"""Coverage layers as the store keeps them (``facility_planner.store.layers``): the compact
``parquet-xy`` format reads back bit for bit, whatever the geometries, and is smaller than
GeoParquet."""

from __future__ import annotations

import io

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.store.layers import GEOPARQUET, XY_FORMAT, decode_layer, encode_layer


def _identical(a: gpd.GeoSeries, b: gpd.GeoSeries) -> bool:
    x, y = np.asarray(a.values, dtype=object), np.asarray(b.values, dtype=object)
    both_missing = pd.isna(x) & pd.isna(y)
    return bool((shapely.equals_identical(x, y) | both_missing).all())


def _mixed_polygons() -> gpd.GeoDataFrame:
    ring = [(423835.27512, 4696356.04811), (423861.1, 4696360.2), (423850.3, 4696390.9)]
    square = shapely.box(423700.123456789, 4696300.987654321, 423710.5, 4696311.25)
    holed = shapely.Polygon([(0, 0), (10, 0), (10, 10), (0, 10)], [[(2, 2), (4, 2), (4, 4)]])
    fan = shapely.Point(423800.51, 4696400.25).buffer(7.3)  # a view: many vertices
    geoms = [fan, shapely.MultiPolygon([square, shapely.Polygon(ring)]), holed, None,
             shapely.Polygon(), shapely.GeometryCollection([square, shapely.LineString([(0, 0), (1, 1)])]),
             shapely.Polygon([(0, 0, 1), (1, 0, 2), (1, 1, 3)]), shapely.Point(5, 5),
             shapely.Polygon([(0.1 + 1e-12, 0.2), (0.3, 0.4), (-0.0, 5e-324), (0.1 + 1e-12, 0.2)])]
    frame = pd.DataFrame({
        "camera_id": pd.array([f"C{i}" for i in range(len(geoms))], dtype="string"),
        "level": pd.Categorical(["detect", "observe"] * 4 + ["detect"]),
        "floor": pd.array([1, None, 2, 3, 4, 5, 6, 7, 8], dtype="Int64"),
        "radius_m": [1.5, np.nan, 3.25, 4.0, 5.0, 6.0, 7.0, 8.0, 1e-300],
        "drawn": [True, False] * 4 + [True],
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs="EPSG:32615"), crs="EPSG:32615")


def test_compact_layer_reads_back_bit_for_bit_whatever_the_geometries():
    layer = _mixed_polygons()
    fmt, data = encode_layer(layer)
    assert fmt == XY_FORMAT
    back = decode_layer(fmt, data)
    assert _identical(back.geometry, layer.geometry)
    assert list(back.columns) == list(layer.columns) and back.geometry.name == layer.geometry.name
    assert back.crs == layer.crs
    pd.testing.assert_frame_equal(pd.DataFrame(back.drop(columns="geometry")),
                                  pd.DataFrame(layer.drop(columns="geometry")), check_exact=True)
    assert shapely.get_type_id(np.asarray(back.geometry.values)).tolist() == \
        shapely.get_type_id(np.asarray(layer.geometry.values)).tolist()  # polygons stay polygons


def test_lines_are_compact_points_and_cells_stay_geoparquet_and_a_named_geometry_is_kept():
    walk = [(423800.0 + i * 1.37, 4696400.0 + (i % 3) * 0.91) for i in range(12)]
    lines = gpd.GeoDataFrame({"length_m": [1.0, 2.0, 3.0]}, crs="EPSG:32615", geometry=gpd.GeoSeries([
        shapely.LineString(walk), shapely.MultiLineString([walk[:5], walk[5:]]), None],
        crs="EPSG:32615")).rename_geometry("line")
    fmt, data = encode_layer(lines)
    back = decode_layer(fmt, data)
    assert fmt == XY_FORMAT and back.geometry.name == "line" and _identical(back.geometry, lines.geometry)
    points = gpd.GeoDataFrame({"aed_id": ["A", "B"]}, geometry=gpd.points_from_xy([1, 2], [3, 4]), crs=None)
    fmt, data = encode_layer(points)
    back = decode_layer(fmt, data)
    assert fmt == GEOPARQUET and back.crs is None and _identical(back.geometry, points.geometry)
    cells = gpd.GeoDataFrame({"dbm": [-80.0, -95.5]}, crs="EPSG:32615", geometry=gpd.GeoSeries(
        [shapely.box(0, 0, 16.13, 16.13), shapely.box(16.13, 0, 32.26, 16.13)], crs="EPSG:32615"))
    fmt, data = encode_layer(cells)  # squares sharing corners: WKB and zstd do as well
    assert fmt == GEOPARQUET and _identical(decode_layer(fmt, data).geometry, cells.geometry)
    empty = _mixed_polygons().iloc[:0]
    assert len(decode_layer(*encode_layer(empty))) == 0


def test_camera_zones_of_the_sample_are_smaller_and_identical(sample_assessment):
    layer = sample_assessment.coverage.layers["camera_zones"].reset_index(drop=True)
    fmt, data = encode_layer(layer)
    buffer = io.BytesIO()
    layer.to_parquet(buffer, index=False, compression="zstd")
    assert fmt == XY_FORMAT and len(data) < 0.8 * len(buffer.getvalue())
    assert _identical(decode_layer(fmt, data).geometry, layer.geometry)
