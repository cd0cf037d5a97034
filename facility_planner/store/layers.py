"""Coverage map layers as the store keeps them: Parquet blobs, geometry exactly as measured.

Layers of polygons or lines (camera views and density zones, blind spots, radio cells, reach
areas, unwatched perimeter) are kept in the ``parquet-xy`` format: the attribute columns as they
are, and each feature's geometry as nested lists of coordinates (the GeoArrow layout: parts,
rings, points), where every x and y is stored as the difference of its IEEE-754 bit pattern from
the previous coordinate's (byte-stream split, zstd). Neighbouring vertices share their leading
bits, so this is a third to a half smaller than WKB and it is lossless: every coordinate reads
back bit for bit. A feature whose geometry does not fit the layer's kind (a geometry collection left
by repairing a polygon, an empty geometry, one with z) keeps its WKB in ``geometry_wkb``.
Other layers (points; cells of a few vertices each) are GeoParquet (``parquet``), as every layer
was before schema 0004.
"""

from __future__ import annotations

import io
import json
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    import geopandas as gpd
    import pyarrow as pa

#: Format of a GeoParquet layer blob (geometry as WKB; also every other table blob's format).
GEOPARQUET = "parquet"
#: Format of a layer blob with its geometry as delta-coded coordinates (see the module's text).
XY_FORMAT = "parquet-xy"
#: The columns a ``parquet-xy`` blob adds to the layer's attributes.
XY_COLUMNS = ("geometry_type", "geometry_x", "geometry_y", "geometry_wkb")
_POLYGONS, _LINES = (3, 6), (1, 5)  # shapely type ids: (single, multi)
#: Layers with fewer vertices than this per feature on average stay GeoParquet (``_few_vertices``).
FEW_VERTICES = 6


def encode_layer(layer: gpd.GeoDataFrame) -> tuple[str, bytes]:
    """A layer as ``(format, bytes)``: ``parquet-xy`` for polygons or lines, else GeoParquet."""
    geoms = np.asarray(layer.geometry.values, dtype=object)
    attrs = pd.DataFrame(layer.drop(columns=layer.geometry.name))
    family = _family(geoms)
    if family is None or set(XY_COLUMNS) & set(attrs.columns) or _few_vertices(geoms):
        buffer = io.BytesIO()
        layer.to_parquet(buffer, index=False, compression="zstd")
        return GEOPARQUET, buffer.getvalue()
    return XY_FORMAT, _xy_bytes(attrs, geoms, family, layer)


def decode_layer(fmt: str, data: bytes) -> gpd.GeoDataFrame:
    """A layer back from ``encode_layer``'s bytes."""
    import geopandas as gpd

    if fmt != XY_FORMAT:
        return gpd.read_parquet(io.BytesIO(data))
    import pyarrow.parquet as pq

    table = pq.read_table(io.BytesIO(data))
    meta = table.schema.metadata or {}
    info = json.loads(meta[b"facility_planner_xy"])
    geoms = _xy_geometries(table, info["family"])
    frame = table.drop_columns(list(XY_COLUMNS)).to_pandas()
    frame.insert(min(int(info["position"]), frame.shape[1]), info["geometry"], gpd.GeoSeries(geoms, crs=info["crs"]))
    return gpd.GeoDataFrame(frame, geometry=info["geometry"], crs=info["crs"])


def _family(geoms: np.ndarray) -> tuple[int, int] | None:
    """The (single, multi) type ids of a layer of polygons or lines, else None."""
    import shapely

    present = set(np.unique(shapely.get_type_id(geoms)).tolist())
    for family in (_POLYGONS, _LINES):
        if present & set(family):
            return family
    return None


def _few_vertices(geoms: np.ndarray) -> bool:
    """True for cells of a few vertices each (radio squares, rooms): they share their corners
    with their neighbours, which WKB and zstd keep as well as ``parquet-xy`` does, and faster."""
    import shapely

    present = int(np.count_nonzero(~shapely.is_missing(geoms)))
    return present == 0 or int(shapely.get_num_coordinates(geoms).sum()) < FEW_VERTICES * present


def _xy_bytes(attrs: pd.DataFrame, geoms: np.ndarray, family: tuple[int, int], layer: gpd.GeoDataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    types = shapely.get_type_id(geoms)
    native = np.isin(types, family) & ~shapely.is_empty(geoms) & ~shapely.has_z(geoms)
    coords, nested = _ragged(geoms, native, family)
    bits = np.ascontiguousarray(coords, dtype=np.float64).view(np.uint64).reshape(-1, 2)
    dx, dy = _deltas(bits[:, 0]), _deltas(bits[:, 1])
    table = pa.Table.from_pandas(attrs, preserve_index=False)
    others = geoms.copy()
    others[native] = None
    wkb = shapely.to_wkb(others)  # None where native (and where there is no geometry)
    columns = {"geometry_type": pa.array(types.astype(np.int8)),
               "geometry_x": _nest(dx, nested), "geometry_y": _nest(dy, nested),
               "geometry_wkb": pa.array(wkb, pa.binary())}
    for name, column in columns.items():
        table = table.append_column(name, column)
    crs = None if layer.crs is None else layer.crs.to_json()
    info = {"family": "polygon" if family == _POLYGONS else "line", "crs": crs, "geometry": layer.geometry.name,
            "position": list(layer.columns).index(layer.geometry.name)}
    table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                           b"facility_planner_xy": json.dumps(info).encode()})
    leaf = ".list.element" * len(nested)
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd", use_dictionary=list(attrs.columns) or False,
                   column_encoding={f"geometry_x{leaf}": "BYTE_STREAM_SPLIT",
                                    f"geometry_y{leaf}": "BYTE_STREAM_SPLIT"})
    return buffer.getvalue()


def _ragged(geoms: np.ndarray, native: np.ndarray, family: tuple[int, int]) -> tuple[np.ndarray, list[np.ndarray]]:
    """The coordinates of the ``native`` geometries and their offsets, innermost first (rings or
    lines into coordinates, parts into rings), the last per feature (no parts where not native)."""
    import shapely

    depth = 3 if family == _POLYGONS else 2
    offsets: list[np.ndarray] = [np.zeros(1, np.int64)] * depth
    coords = np.empty((0, 2))
    if native.any():
        kind, coords, made = shapely.to_ragged_array(geoms[native])
        offsets = list(made)
        if int(kind) == family[0]:  # all single: one part each
            offsets.append(np.arange(len(offsets[-1]), dtype=np.int64))
    parts = np.zeros(len(geoms), dtype=np.int64)
    parts[native] = np.diff(offsets[-1])
    return coords, [*offsets[:-1], np.r_[0, np.cumsum(parts)]]


def _deltas(bits: np.ndarray) -> np.ndarray:
    """Each value minus the one before (the first as it is), modulo 2**64."""
    out = np.array(bits, dtype=np.uint64)  # a contiguous copy
    out[1:] -= bits[:-1]
    return out


def _nest(values: np.ndarray, offsets: list[np.ndarray]) -> pa.Array:
    """Nested lists of ``values``: ``offsets`` innermost first (into values, then into the lists below)."""
    import pyarrow as pa

    out: pa.Array = pa.array(values, pa.uint64())
    for off in offsets:
        out = pa.ListArray.from_arrays(pa.array(off.astype(np.int32)), out)
    return out


def _unnest(column: Any, depth: int) -> tuple[list[np.ndarray], np.ndarray]:
    """``_nest`` undone: the offsets (innermost first) and the values."""
    arr = column.combine_chunks() if hasattr(column, "combine_chunks") else column
    offsets = []
    for _ in range(depth):
        off = np.asarray(arr.offsets, dtype=np.int64)
        offsets.append(off - off[0])
        arr = arr.flatten()
    return offsets[::-1], np.asarray(arr.to_numpy(zero_copy_only=False), dtype=np.uint64)


def _xy_geometries(table: pa.Table, family_name: str) -> np.ndarray:
    import shapely

    family, multi = ((_POLYGONS, shapely.GeometryType.MULTIPOLYGON) if family_name == "polygon"
                     else (_LINES, shapely.GeometryType.MULTILINESTRING))
    depth = 3 if family == _POLYGONS else 2
    offsets, dx = _unnest(table.column("geometry_x"), depth)
    _same, dy = _unnest(table.column("geometry_y"), depth)
    coords = np.column_stack([np.cumsum(dx, dtype=np.uint64), np.cumsum(dy, dtype=np.uint64)]).view(np.float64)
    types = table.column("geometry_type").to_numpy()
    wkb = table.column("geometry_wkb").to_numpy(zero_copy_only=False)
    native = (wkb == None) & (types >= 0)  # noqa: E711 (element-wise); type -1: no geometry
    out = np.empty(len(types), dtype=object)
    if native.any():
        parts = np.diff(offsets[-1])[native]
        made = shapely.from_ragged_array(multi, np.ascontiguousarray(coords),
                                         (*offsets[:-1], np.r_[0, np.cumsum(parts)]))
        single = types[native] == family[0]
        made[single] = shapely.get_geometry(made[single], 0)
        out[native] = made
    out[~native] = shapely.from_wkb(wkb[~native])
    return out
