"""Local metric frames: every group of nearby campuses is measured in a CRS centred on it.

A district's tables sit in one CRS for the whole run (``District.crs``). No distance, area or
bearing is taken there: ``LocalFrames.of`` gathers the rows into groups of campuses that come within
reach of each other (cameras, AED/kit walks, obstacles) and gives each group a transverse Mercator
centred on it (scale 1 at the centre, WGS84 ellipsoid), turned to the group's own axes (the long
side of the minimum rotated rectangle of its footprints). The groups are laid side by side in one
plane with empty gaps wider than any reach, so the measurement still runs once over all of them,
and every group sees only itself.

The map from the run's CRS to each frame (and back) is a polynomial fitted to exact PROJ results
on a grid of control points over the group; its residual is checked on other points. A group gets
the lowest degree (``DEGREES``) whose residual is within ``TOLERANCE_M``, and a group that no
degree fits is mapped point by point with PROJ instead.

Bearings in the inventory are true-north compass bearings; ``grid_bearings`` turns them into
bearings in the frame with the meridian convergence (and the frame's turn) at each point.

The frames depend only on the district, never on how a run is chunked: ``LocalFrames.plan``
keeps the frames of a whole district without its rows, and ``plan.on(part)`` gives a chunk of it
the very same frame for every campus (``geo.coverage.site_chunks`` hands each chunk that plan).

Near the antimeridian every longitude is taken relative to its campus (a campus straddling
+-180 is one piece), and a run in geographic coordinates gets its layers back with longitudes
continuous within each campus (they may pass 180 by a little; ``io.exports`` splits at 180).
"""

from __future__ import annotations

import ctypes
import dataclasses
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS, Transformer
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from facility_planner.geo._arrays import index_of, positions
from facility_planner.model import District

LONLAT = "EPSG:4326"
#: Largest allowed error (m) of the fitted map of a frame at its check points.
TOLERANCE_M = 1e-4
#: Control points reach at least this far (m) beyond a group's data (views and reach areas).
PAD_M = 1000.0
#: Degrees of the polynomial map a frame may get, lowest first (a quadratic is within 0.1 mm over
#: a campus plus 1 km nearly everywhere and costs 6 terms, not the cubic's 10).
DEGREES = (2, 3)
DEGREE = DEGREES[-1]
#: Tables with geometry, and how their rows find their campus.
_BY_BUILDING = ("rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls")
_BY_SITE = ("site_boundaries", "parking")
_GEO_TABLES = ("buildings", *_BY_BUILDING, *_BY_SITE)
_N_CONTROL = 7  # control points per side of each group's box


@lru_cache(maxsize=32)
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(crs, LONLAT, always_xy=True)


@lru_cache(maxsize=32)
def _is_geographic(crs: str) -> bool:
    return bool(CRS.from_user_input(crs).is_geographic)


@lru_cache(maxsize=1)
def _tmerc0() -> Transformer:
    """Transverse Mercator (WGS84, scale 1) on the meridian 0 and the equator, from degrees: every
    frame's is this one applied to the longitude from its centre, less the northing of its centre."""
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        "+step +proj=tmerc +lat_0=0 +lon_0=0 +k=1 +x_0=0 +y_0=0 +ellps=WGS84")


def wrap_lon(lon: np.ndarray) -> np.ndarray:
    """Longitudes (degrees) brought into [-180, 180)."""
    out: np.ndarray = (np.asarray(lon, dtype=float) + 180.0) % 360.0 - 180.0
    return out


def tmerc_forward(lon: np.ndarray, lat: np.ndarray, lon0: np.ndarray, lat0: np.ndarray) -> np.ndarray:
    """(n, 2) coordinates in the transverse Mercator centred on (``lon0``, ``lat0``) of each point
    (arrays of one centre per point, or scalars): one PROJ call for all centres."""
    x, y = _tmerc0().transform(wrap_lon(np.asarray(lon) - lon0), lat)
    _, y0 = _tmerc0().transform(np.zeros_like(np.asarray(lat0, dtype=float)), lat0)
    return np.column_stack([x, np.asarray(y) - y0])


def tmerc_inverse(xy: np.ndarray, lon0: np.ndarray, lat0: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude (relative to nothing: ``lon0`` + the frame's, not wrapped) and latitude of (n, 2)
    frame coordinates; the inverse of ``tmerc_forward``."""
    _, y0 = _tmerc0().transform(np.zeros_like(np.asarray(lat0, dtype=float)), lat0)
    dlon, lat = _tmerc0().transform(xy[:, 0], xy[:, 1] + y0, direction="INVERSE")
    return np.asarray(dlon) + lon0, np.asarray(lat)


def tmerc_transformer(lon0: float, lat0: float) -> Transformer:
    """Transverse Mercator (WGS84, scale 1) centred on (lon0, lat0), from degrees."""
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +lat_0={lat0:.12f} +lon_0={lon0:.12f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84")


def tmerc_definition(lon0: float, lat0: float) -> str:
    """PROJ string of the frame centred on (lon0, lat0) (before its turn and shift)."""
    return (f"+proj=tmerc +lat_0={lat0:.8f} +lon_0={lon0:.8f} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs")


def _terms(u: np.ndarray, v: np.ndarray, degree: int = DEGREE) -> list[np.ndarray]:
    """Monomials u^i v^j, i + j <= ``degree``, by total degree (so those of a lower degree come
    first); by products, not powers (a power times u^0 or v^0 is the power itself)."""
    up, vp = [np.ones_like(u), u], [np.ones_like(v), v]
    for _ in range(degree - 1):
        up.append(up[-1] * u)
        vp.append(vp[-1] * v)
    return [up[0]] + [vp[j] if i == 0 else up[i] if j == 0 else up[i] * vp[j]
                      for d in range(1, degree + 1) for i, j in ((i, d - i) for i in range(d, -1, -1))]


def _n_terms(degree: int) -> int:
    return (degree + 1) * (degree + 2) // 2


@dataclass(frozen=True)
class _Poly:
    """One 2D polynomial map per group, on coordinates normalised per group; a group of a
    lower degree than ``DEGREE`` has zeros for the higher terms (``coef``)."""

    centre: np.ndarray  # (g, 2)
    scale: np.ndarray  # (g,)
    coef: np.ndarray  # (g, K of DEGREE, 2)
    degree: np.ndarray  # (g,)

    @classmethod
    def fit(cls, src: np.ndarray, dst: np.ndarray, *, degree: int = DEGREE) -> _Poly:
        """Least-squares fit of dst = P(src) per group, of ``degree``; src, dst (g, n, 2)."""
        centre = src.mean(axis=1)
        scale = np.maximum(np.abs(src - centre[:, None]).max(axis=(1, 2)), 1e-12)
        u = (src - centre[:, None]) / scale[:, None, None]
        t = np.stack(_terms(u[..., 0], u[..., 1], degree), axis=-1)  # (g, n, K)
        coef = np.zeros((len(t), _n_terms(DEGREE), 2))
        if len(t):
            # All groups in one stacked QR (each group's own factorisation: the same fit whatever
            # else is in the run); the constant part of dst is taken out first for precision.
            offset = dst.mean(axis=1, keepdims=True)
            q, r = np.linalg.qr(t)
            coef[:, :t.shape[-1]] = np.linalg.solve(r, np.swapaxes(q, 1, 2) @ (dst - offset))
            coef[:, 0, :] += offset[:, 0, :]
        return cls(centre, scale, coef, np.full(len(t), degree))

    def __call__(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Evaluate group by group on contiguous runs (points sorted by group here unless they
        come sorted): elementwise products with each group's coefficients, so a point's result
        depends on nothing but the point and its group. Short runs (a few points of many
        groups) are evaluated together, each point with its own group's coefficients: the very
        same products and sums, without a pass of numpy calls per group."""
        out = np.empty_like(xy)
        if not len(xy):
            return out
        if (group[1:] < group[:-1]).any():
            order = np.argsort(group, kind="stable")
            out[order] = self(xy[order], group[order])
            return out
        cuts = np.flatnonzero(np.r_[True, group[1:] != group[:-1], True])
        starts, ends = cuts[:-1], cuts[1:]
        short = ends - starts < _SHORT_RUN
        if short.any():
            pick = np.repeat(short, ends - starts)
            g = group[pick]
            scale = self.scale[g]
            # The highest degree among these groups; the others' higher terms add exact zeros.
            terms = _terms((xy[pick, 0] - self.centre[g, 0]) / scale, (xy[pick, 1] - self.centre[g, 1]) / scale,
                           int(self.degree[g].max()))
            out[pick] = _sum_terms(terms, self.coef, g)
        for a, b in zip(starts[~short].tolist(), ends[~short].tolist(), strict=True):
            at = int(group[a])
            scale = self.scale[at]
            terms = _terms((xy[a:b, 0] - self.centre[at, 0]) / scale, (xy[a:b, 1] - self.centre[at, 1]) / scale,
                           int(self.degree[at]))
            out[a:b] = _sum_terms(terms, self.coef, at)
        return out


#: Coordinates mapped and rebuilt together (``_map_all``): blocks of a few MB keep the temporaries
#: in cache (and off fresh pages) instead of arrays of every coordinate at once.
_BLOCK_COORDS = 262_144

#: Runs of fewer points of one group than this are evaluated with the other short runs.
_SHORT_RUN = 1024


def _sum_terms(terms: list[np.ndarray], coef: np.ndarray, group: int | np.ndarray) -> np.ndarray:
    """(n, 2): the sum over k of ``terms[k] * coef[group, k, d]`` for d = 0, 1, term after term
    (``group``: one group, or the group of each point); ``terms[0]`` is the monomial 1."""
    n = len(terms[0])
    out = np.empty((n, 2))
    product = np.empty(n)
    for d in (0, 1):
        acc = np.empty(n)
        acc[:] = coef[group, 0, d]  # the constant term
        for k in range(1, len(terms)):
            acc += np.multiply(terms[k], coef[group, k, d], out=product)
        out[:, d] = acc
    return out


@dataclass(frozen=True)
class LocalFrames:
    """The local frames of one district (or chunk); see the module docstring.

    ``group_of`` maps each table to the group of each row (-1: no geometry); ``lon0``/``lat0``
    the centre of each group's transverse Mercator; ``angle`` its turn (radians, anticlockwise,
    of the group's long axis from the frame's x axis); ``boxes`` the part of the shared plane
    each group may reach; ``building_group`` and ``site_group`` the group of each building and
    site id (how rows of a chunk and layer rows find their group). ``x_ref``: for a run in
    geographic coordinates, a longitude of each group that its run longitudes are taken near
    (continuous across the antimeridian); None for a projected run CRS.
    """

    crs: str
    group_of: dict[str, np.ndarray]
    lon0: np.ndarray
    lat0: np.ndarray
    angle: np.ndarray
    boxes: np.ndarray  # (g, 4) x0, y0, x1, y1 in the shared plane
    forward: _Poly
    inverse: _Poly
    exact: np.ndarray  # groups mapped point by point with PROJ (fitted map not good enough)
    shift: np.ndarray  # (g, 2): frame = R(-angle) (tmerc - centre) + shift
    centre: np.ndarray  # (g, 2) in each group's tmerc
    building_group: pd.Series
    site_group: pd.Series
    x_ref: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return len(self.lon0)

    @property
    def label(self) -> str:
        """A CRS for the shared plane's GeoDataFrames (the first group's transverse Mercator)."""
        return tmerc_definition(float(self.lon0[0]), float(self.lat0[0])) if self.n_groups else LONLAT

    @classmethod
    def of(cls, district: District, *, reach_m: float) -> LocalFrames:
        """Frames for ``district``: campuses within ``reach_m`` of each other share a group."""
        crs = district.crs
        coords = {name: shapely.get_coordinates(district.table(name).geometry.values, return_index=True)
                  for name in _GEO_TABLES}
        units = _units(district)
        extents = _unit_extents(coords, units, crs=crs)
        label = _unit_groups(extents, reach_m=reach_m)
        n_groups = int(label.max()) + 1 if len(label) else 0
        group_of = {name: np.full(len(district.table(name)), -1, dtype=np.int64) for name in _GEO_TABLES}
        for name in _GEO_TABLES:
            row = coords[name][1]
            if len(row):
                group_of[name][row] = label[extents.unit[name]]
        if n_groups == 0:
            empty = np.empty(0)
            poly = _Poly(np.empty((0, 2)), empty, np.empty((0, _n_terms(DEGREE), 2)), np.empty(0, dtype=int))
            return cls(crs, group_of, empty, empty, empty, np.empty((0, 4)), poly, poly, np.empty(0, bool),
                       np.empty((0, 2)), np.empty((0, 2)), pd.Series(dtype=int), pd.Series(dtype=int))
        return _build(crs, coords, extents, label, group_of, n_groups, units=units, district=district,
                      reach_m=reach_m)

    def plan(self) -> LocalFrames:
        """These frames without the rows of the district: what a chunk needs (``on``)."""
        return dataclasses.replace(self, group_of={})

    def on(self, district: District) -> LocalFrames:
        """The same frames for a part of the district they were made for (a chunk of its sites):
        every row finds its group by its building or site, so a campus is measured in the very
        same frame however the run is cut."""
        b_pos = self.building_group.index
        s_pos = self.site_group.index
        b_val = self.building_group.to_numpy(dtype=np.int64)
        s_val = self.site_group.to_numpy(dtype=np.int64)

        def lookup(index: pd.Index, values: np.ndarray, keys: pd.Series) -> np.ndarray:
            at = positions(keys, index)
            return np.where(at >= 0, values[np.maximum(at, 0)] if len(values) else -1, -1).astype(np.int64)

        buildings = district.buildings
        by_site = lookup(s_pos, s_val, buildings["site_id"])
        group_of = {"buildings": np.where(by_site >= 0, by_site,
                                          lookup(b_pos, b_val, buildings["building_id"]))}
        for name in _BY_BUILDING:
            group_of[name] = lookup(b_pos, b_val, district.table(name)["building_id"])
        for name in _BY_SITE:
            group_of[name] = lookup(s_pos, s_val, district.table(name)["site_id"])
        for name in _GEO_TABLES:
            drawn = ~pd.isna(np.asarray(district.table(name).geometry.values, dtype=object))
            if (drawn & (group_of[name] < 0)).any():  # a row of no campus of the plan
                raise ValueError(f"{name}: rows of no campus of these frames")
        return dataclasses.replace(self, group_of=group_of)

    # ------------------------------------------------------------------ mapping coordinates
    def _near_ref(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Run coordinates with longitudes taken near their group's (geographic run CRS only)."""
        if self.x_ref is None or not len(xy):
            return xy
        ref = self.x_ref[group]
        return np.column_stack([ref + wrap_lon(xy[:, 0] - ref), xy[:, 1]])

    def to_local(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Run-CRS coordinates of rows of ``group`` -> the shared plane."""
        if not len(xy):
            return np.empty((0, 2))
        xy = self._near_ref(xy, group)
        out = self.forward(xy, group)
        slow = self.exact[group]
        if slow.any():
            out[slow] = self._exact_forward(xy[slow], group[slow])
        return out

    def to_run(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Shared-plane coordinates of rows of ``group`` -> the run's CRS."""
        if not len(xy):
            return np.empty((0, 2))
        out = self.inverse(xy, group)
        slow = self.exact[group]
        if slow.any():
            out[slow] = self._exact_inverse(xy[slow], group[slow])
        return out

    def _exact_forward(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        lon, lat = _to_lonlat(self.crs).transform(xy[:, 0], xy[:, 1])
        return self._turn(tmerc_forward(lon, lat, self.lon0[group], self.lat0[group]), group)

    def _exact_inverse(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        lon, lat = tmerc_inverse(self._unturn(xy, group), self.lon0[group], self.lat0[group])
        x, y = _to_lonlat(self.crs).transform(lon, lat, direction="INVERSE")
        return self._near_ref(np.column_stack([x, y]), group)

    def _turn(self, tm: np.ndarray, group: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.angle[group]), np.sin(self.angle[group])
        d = tm - self.centre[group]
        turned: np.ndarray = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]]) + self.shift[group]
        return turned

    def _unturn(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        c, s = np.cos(self.angle[group]), np.sin(self.angle[group])
        d = xy - self.shift[group]
        unturned: np.ndarray = np.column_stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]]) + self.centre[group]
        return unturned

    # ------------------------------------------------------------------ tables and layers
    def project(self, district: District) -> District:
        """``district`` in the shared plane; camera headings turned into grid bearings."""
        label = self.label
        label_crs = CRS.from_user_input(label)
        originals = [district.table(name) for name in _GEO_TABLES]
        moved = self._map_all([np.asarray(t.geometry.values, dtype=object) for t in originals],
                              [self.group_of[name] for name in _GEO_TABLES], self.to_local)
        tables: dict[str, gpd.GeoDataFrame] = {}
        for name, table, geoms in zip(_GEO_TABLES, originals, moved, strict=True):
            tables[name] = table.set_geometry(gpd.GeoSeries(geoms, index=table.index, crs=label_crs),
                                              crs=label_crs)
        cams = tables["cameras"]
        cams["heading_deg"] = self.grid_bearings(district.cameras, cams["heading_deg"].to_numpy(dtype=float))
        return dataclasses.replace(district, crs=label, **tables)

    @staticmethod
    def _map_all(parts: list[np.ndarray], row_groups: list[np.ndarray], mapping: Any) -> list[np.ndarray]:
        """Each array of geometries with every coordinate mapped by ``mapping(xy, group)``.

        All at once: each distinct geometry object (with its group) once, sorted by group, so
        the coordinates reach ``mapping`` in contiguous runs of one group."""
        geoms = np.concatenate(parts) if parts else np.empty(0, dtype=object)
        groups = np.concatenate(row_groups).astype(np.int64) if parts else np.empty(0, np.int64)
        if not len(geoms):
            return [p.copy() for p in parts]
        ids = pd.factorize(_object_ids(geoms))[0]
        # One key per (group, geometry object), ordered by group first: contiguous runs per group.
        _, first, inverse = np.unique(groups * (int(ids.max()) + 1) + ids, return_index=True, return_inverse=True)
        unique, unique_group = geoms[first], groups[first]
        count = shapely.get_num_coordinates(unique)
        if count.sum():
            group = np.repeat(unique_group, count)
            if shapely.has_z(unique).any():
                unique = shapely.transform(unique, lambda xy: mapping(xy, group), include_z=None)
            else:
                unique = _mapped_in_blocks(unique, group, count, mapping)
        out = unique[inverse.reshape(-1)]
        return np.split(out, np.cumsum([len(p) for p in parts])[:-1])

    def grid_bearings(self, points: gpd.GeoDataFrame, bearing_deg: np.ndarray) -> np.ndarray:
        """True-north bearings at ``points`` (run CRS, rows of the cameras table) -> frame bearings.

        The direction of true north at each point is found by mapping the point and one a hair
        north of it (``1e-6`` degree) through the frame: it holds the meridian convergence of the
        transverse Mercator and the frame's turn.
        """
        out = np.asarray(bearing_deg, dtype=float).copy()
        group = self.group_of["cameras"]
        geoms = np.asarray(points.geometry.values, dtype=object)
        ok = np.flatnonzero((group >= 0) & ~pd.isna(geoms) & np.isfinite(out))
        if not len(ok):
            return out
        xy = shapely.get_coordinates(geoms[ok])
        lonlat = _to_lonlat(self.crs)
        lon, lat = lonlat.transform(xy[:, 0], xy[:, 1])
        nx, ny = lonlat.transform(lon, np.minimum(lat + 1e-6, 90.0), direction="INVERSE")
        g = group[ok]
        here = self.to_local(xy, g)
        north = self.to_local(np.column_stack([nx, ny]), g) - here
        out[ok] = (out[ok] + np.degrees(np.arctan2(north[:, 0], north[:, 1]))) % 360.0
        return out

    def restore(self, layers: dict[str, gpd.GeoDataFrame], *, crs: str,
                check_valid: tuple[str, ...] = ()) -> dict[str, gpd.GeoDataFrame]:
        """Layers measured in the shared plane, back in the run's CRS ``crs`` (all in one pass);
        polygons of the layers named in ``check_valid`` made valid again (views drawn from rays
        can hold slivers a hair of curvature makes cross themselves)."""
        names = list(layers)
        parts = [np.asarray(layers[n].geometry.values, dtype=object) for n in names]
        moved = self._map_all(parts, [self._row_groups(layers[n], g) for n, g in zip(names, parts, strict=True)],
                              self.to_run)
        _make_valid([geoms for name, geoms in zip(names, moved, strict=True) if name in check_valid])
        out: dict[str, gpd.GeoDataFrame] = {}
        for name, geoms in zip(names, moved, strict=True):
            layer = layers[name].copy(deep=False)  # the columns are shared, the geometry is new
            layer.set_geometry(gpd.GeoSeries(geoms, index=layer.index, crs=crs), crs=crs, inplace=True)
            out[name] = layer
        return out

    def _row_groups(self, layer: pd.DataFrame, geoms: np.ndarray) -> np.ndarray:
        """Group of each layer row: by its building, else its site, else where it lies."""
        group = np.full(len(layer), -1, dtype=np.int64)
        for column, lookup in (("building_id", self.building_group), ("site_id", self.site_group)):
            if column in layer and len(lookup) and (group < 0).any():
                at = positions(layer[column], lookup.index)
                fill = (group < 0) & (at >= 0)
                group[fill] = lookup.to_numpy(dtype=np.int64)[at[fill]]
        rest = np.flatnonzero((group < 0) & ~pd.isna(geoms))
        if len(rest):
            first = shapely.get_point(shapely.get_exterior_ring(geoms[rest]), 0)
            first = np.where(pd.isna(first), shapely.get_point(geoms[rest], 0), first)
            first = np.where(pd.isna(first), shapely.centroid(geoms[rest]), first)
            pt_i, box_i = shapely.STRtree(shapely.box(*self.boxes.T)).query(first, predicate="intersects")
            group[rest[pt_i]] = box_i
        return np.maximum(group, 0)


def _mapped_in_blocks(geoms: np.ndarray, group: np.ndarray, count: np.ndarray, mapping: Any) -> np.ndarray:
    """2D ``geoms`` (``count`` coordinates each, ``group`` per coordinate) with every coordinate
    mapped by ``mapping(xy, group)``, about ``_BLOCK_COORDS`` coordinates at a time."""
    end = np.cumsum(count)
    start = end - count
    cuts = np.unique(np.r_[0, np.searchsorted(end, np.arange(_BLOCK_COORDS, end[-1], _BLOCK_COORDS)), len(geoms)])
    blocks = []
    for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
        xy = mapping(shapely.get_coordinates(geoms[a:b]), group[start[a]:end[b - 1]])
        blocks.append(_with_coordinates(geoms[a:b], xy, count[a:b]))
    return np.concatenate(blocks)


def _object_ids(objects: np.ndarray) -> np.ndarray:
    """``id()`` of every element of an object array, read straight from its buffer of object
    pointers (in CPython an object's id is its address): no Python call per element."""
    held = np.ascontiguousarray(objects, dtype=object)
    pointers = (ctypes.c_ssize_t * len(held)).from_address(held.ctypes.data)
    return np.ctypeslib.as_array(pointers).astype(np.int64)  # a copy, made while ``held`` lives


def _make_valid(arrays: list[np.ndarray]) -> None:
    """Invalid polygons in ``arrays`` (in place) made valid; a geometry object shared by several
    rows or arrays (a zone that is its whole view) is checked once."""
    if not arrays:
        return
    geoms = np.concatenate(arrays)
    poly = np.flatnonzero(np.isin(shapely.get_type_id(geoms), (3, 6)))
    if not len(poly):
        return
    _, first, inverse = np.unique(_object_ids(geoms[poly]), return_index=True, return_inverse=True)
    bad = ~shapely.is_valid(geoms[poly[first]])
    if not bad.any():
        return
    mended = geoms[poly[first]]
    mended[bad] = shapely.make_valid(mended[bad], method="structure", keep_collapsed=False)
    fix = bad[inverse.reshape(-1)]
    geoms[poly[fix]] = mended[inverse.reshape(-1)[fix]]
    cuts = np.cumsum([len(a) for a in arrays])[:-1]
    for array, fixed in zip(arrays, np.split(geoms, cuts), strict=True):
        array[:] = fixed


def _with_coordinates(geoms: np.ndarray, xy: np.ndarray, count: np.ndarray) -> np.ndarray:
    """2D ``geoms`` with their coordinates (in ``get_coordinates`` order, ``count`` per geometry)
    replaced by ``xy``: ``shapely.set_coordinates``, but points, lines and polygons without holes
    are built straight from the coordinate buffer (``from_ragged_array``, the same geometries
    without a clone and a call per coordinate)."""
    kind = shapely.get_type_id(geoms)
    polygon = kind == shapely.GeometryType.POLYGON
    polygon[polygon] = shapely.get_num_interior_rings(geoms[polygon]) == 0
    built = {shapely.GeometryType.POINT: (kind == shapely.GeometryType.POINT) & (count == 1),
             shapely.GeometryType.LINESTRING: (kind == shapely.GeometryType.LINESTRING) & (count >= 2),
             shapely.GeometryType.POLYGON: polygon & (count >= 4)}
    out = geoms.copy()
    rest = np.ones(len(geoms), dtype=bool)
    for geometry_type, which in built.items():
        if not which.any():
            continue
        coords = _rows_where(xy, np.repeat(which, count))
        offsets = np.r_[0, np.cumsum(count[which])]
        if geometry_type == shapely.GeometryType.POINT:
            out[which] = shapely.points(coords)
        elif geometry_type == shapely.GeometryType.LINESTRING:
            out[which] = shapely.from_ragged_array(geometry_type, coords, (offsets,))
        else:
            out[which] = shapely.from_ragged_array(geometry_type, coords, (offsets, np.arange(int(which.sum()) + 1)))
        rest &= ~which
    if rest.any():
        out[rest] = shapely.set_coordinates(out[rest], _rows_where(xy, np.repeat(rest, count)))
    return out


def _rows_where(xy: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``xy[mask]`` for (n, 2) floats, picked as one 16-byte item per row (numpy's boolean
    indexing of 2D rows is several times slower than of a 1D array)."""
    if mask.all():
        return xy
    rows = np.ascontiguousarray(xy).view(np.complex128).reshape(-1)
    picked: np.ndarray = rows[mask].view(np.float64).reshape(-1, 2)
    return picked


@dataclass(frozen=True)
class _CampusUnits:
    """The campus code of every row (``_units``): sites first (``site_ids``), then buildings with
    no site (``building_unit``: the code of each building), then rows of neither."""

    codes: dict[str, np.ndarray]
    site_ids: pd.Index
    building_unit: np.ndarray


def _units(district: District) -> _CampusUnits:
    """A campus code per row of each geometry table: its site, else its building, else itself."""
    b = district.buildings
    site_tables = [b["site_id"], *(district.table(name)["site_id"] for name in _BY_SITE)]
    site_codes, site_index = pd.factorize(pd.concat(site_tables, ignore_index=True).astype("string"))
    n_sites = len(site_index)
    b_unit = np.where(site_codes[:len(b)] >= 0, site_codes[:len(b)], n_sites + np.arange(len(b))).astype(np.int64)
    units: dict[str, np.ndarray] = {"buildings": b_unit}
    next_code = n_sites + len(b)
    for name in _BY_BUILDING:
        table = district.table(name)
        at = index_of(table["building_id"], district.building_ids) if len(table) else np.empty(0, np.int64)
        own = next_code + np.arange(len(table))
        next_code += len(table)
        units[name] = np.where(at >= 0, b_unit[np.maximum(at, 0)] if len(b) else own, own).astype(np.int64)
    start = len(b)
    for name in _BY_SITE:
        n = len(district.table(name))
        codes = site_codes[start:start + n]
        start += n
        own = next_code + np.arange(n)
        next_code += n
        units[name] = np.where(codes >= 0, codes, own).astype(np.int64)
    return _CampusUnits(units, pd.Index(site_index, dtype=object), b_unit)


@dataclass(frozen=True)
class _Extents:
    """Per campus unit drawn: its code, run-CRS box (longitudes continuous for a geographic run
    CRS) and longitude/latitude box (continuous: it may pass +-180); ``unit`` maps each table's
    coordinates to their unit."""

    codes: np.ndarray
    unit: dict[str, np.ndarray]
    run_lo: np.ndarray
    run_hi: np.ndarray
    ll_lo: np.ndarray
    ll_hi: np.ndarray
    drawn: np.ndarray


def _unit_extents(coords: dict[str, tuple[np.ndarray, np.ndarray]], units: _CampusUnits, *,
                  crs: str) -> _Extents:
    """Extents of every campus unit, from its coordinates (only the box corners go through PROJ)."""
    keys = [units.codes[name][coords[name][1]] if len(coords[name][1]) else np.empty(0, np.int64)
            for name in _GEO_TABLES]
    xy = np.concatenate([coords[name][0] for name in _GEO_TABLES])
    codes, unit = np.unique(np.concatenate(keys), return_inverse=True)
    n = len(codes)
    split = np.cumsum([len(k) for k in keys])[:-1]
    per_table = dict(zip(_GEO_TABLES, np.split(unit, split), strict=True))
    good = np.isfinite(xy).all(axis=1)
    if _is_geographic(crs) and len(xy):
        first = np.full(n, np.nan)
        seen = np.flatnonzero(good)
        first[unit[seen[::-1]]] = xy[seen[::-1], 0]  # the first good longitude of each unit
        ref = first[unit]
        xy = np.column_stack([ref + wrap_lon(xy[:, 0] - ref), xy[:, 1]])
    lo = np.full((n, 2), np.inf)
    hi = np.full((n, 2), -np.inf)
    for axis in (0, 1):  # one column at a time: numpy's fast path for ufunc.at
        np.minimum.at(lo[:, axis], unit[good], xy[good, axis])
        np.maximum.at(hi[:, axis], unit[good], xy[good, axis])
    drawn = np.isfinite(lo).all(axis=1)
    ll_lo, ll_hi = lo.copy(), hi.copy()
    if drawn.any():
        d = np.flatnonzero(drawn)
        corners = np.stack([np.column_stack([lo[d, 0], lo[d, 1]]), np.column_stack([hi[d, 0], lo[d, 1]]),
                            np.column_stack([hi[d, 0], hi[d, 1]]), np.column_stack([lo[d, 0], hi[d, 1]])], axis=1)
        flat = corners.reshape(-1, 2)
        lon, lat = _to_lonlat(crs).transform(flat[:, 0], flat[:, 1])
        lon, lat = lon.reshape(-1, 4), lat.reshape(-1, 4)
        lon = lon[:, :1] + wrap_lon(lon - lon[:, :1])
        ll_lo[d] = np.column_stack([lon.min(axis=1), lat.min(axis=1)])
        ll_hi[d] = np.column_stack([lon.max(axis=1), lat.max(axis=1)])
    return _Extents(codes, per_table, lo, hi, ll_lo, ll_hi, drawn)


def _unit_groups(extents: _Extents, *, reach_m: float) -> np.ndarray:
    """Group number of every unit (-1: nothing drawn): units whose extents come within
    ``reach_m`` share one. Extents are compared in longitude/latitude, grown by ``reach_m`` in
    degrees with the smallest length of a degree (so no pair within reach is missed); a box
    passing +-180 is also compared one turn round."""
    lo, hi, drawn = extents.ll_lo, extents.ll_hi, extents.drawn
    n_units = len(lo)
    if not drawn.any():
        return np.full(n_units, -1, dtype=np.int64)
    dlat = reach_m / 110_000.0
    coslat = np.cos(np.radians(np.minimum(np.maximum(np.abs(lo[:, 1]), np.abs(hi[:, 1])) + dlat, 89.9)))
    dlon = dlat / coslat
    d = np.flatnonzero(drawn)
    x0, x1 = lo[d, 0] - dlon[d] / 2, hi[d, 0] + dlon[d] / 2
    y0, y1 = lo[d, 1] - dlat / 2, hi[d, 1] + dlat / 2
    boxes = shapely.box(x0, y0, x1, y1)
    turned = np.flatnonzero((x1 > 180.0) | (x0 < -180.0))  # compared again one turn round
    turn = np.where(x1[turned] > 180.0, -360.0, 360.0)
    others = shapely.box(x0[turned] + turn, y0[turned], x1[turned] + turn, y1[turned])
    owner = np.r_[d, d[turned]]
    left, right = shapely.STRtree(np.r_[boxes, others]).query(boxes, predicate="intersects")
    graph = coo_matrix((np.ones(len(left)), (d[left], owner[right])), shape=(n_units, n_units))
    label = connected_components(graph, directed=False)[1]
    codes, label = np.unique(np.where(drawn, label, -1), return_inverse=True)
    out: np.ndarray = (label - (1 if codes[0] == -1 else 0)).astype(np.int64)  # -1 stays "nothing drawn"
    return out


def _group_boxes(extents: _Extents, label: np.ndarray, n_groups: int, *,
                 geographic: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Longitude/latitude and run-CRS boxes of every group, each unit turned (by whole turns) to
    lie next to the group's first unit; for a geographic run CRS, the longitude the group's run
    coordinates are taken near."""
    d = np.flatnonzero(label >= 0)
    g = label[d]
    first = np.full(n_groups, -1)
    first[g[::-1]] = d[::-1]
    ref = extents.ll_lo[first, 0]
    mid = (extents.ll_lo[d, 0] + extents.ll_hi[d, 0]) / 2
    turns = 360.0 * np.round((mid - ref[g]) / 360.0)
    ll_lo, ll_hi = extents.ll_lo[d].copy(), extents.ll_hi[d].copy()
    ll_lo[:, 0] -= turns
    ll_hi[:, 0] -= turns
    run_lo, run_hi = extents.run_lo[d].copy(), extents.run_hi[d].copy()
    x_ref = None
    if geographic:
        x_ref = extents.run_lo[first, 0]
        r_turns = 360.0 * np.round(((run_lo[:, 0] + run_hi[:, 0]) / 2 - x_ref[g]) / 360.0)
        run_lo[:, 0] -= r_turns
        run_hi[:, 0] -= r_turns
    out = []
    for low, high in ((ll_lo, ll_hi), (run_lo, run_hi)):
        a = np.full((n_groups, 2), np.inf)
        b = np.full((n_groups, 2), -np.inf)
        np.minimum.at(a, g, low)
        np.maximum.at(b, g, high)
        out += [a, b]
    return out[0], out[1], out[2], out[3], x_ref


def _build(crs: str, coords: dict[str, tuple[np.ndarray, np.ndarray]], extents: _Extents,
           label: np.ndarray, group_of: dict[str, np.ndarray], n_groups: int, *, units: _CampusUnits,
           district: District, reach_m: float) -> LocalFrames:
    """Centres, turns, shifts and fitted maps of every group."""
    geographic = _is_geographic(crs)
    lo, hi, rlo, rhi, x_ref = _group_boxes(extents, label, n_groups, geographic=geographic)
    lon0, lat0 = wrap_lon((lo[:, 0] + hi[:, 0]) / 2), (lo[:, 1] + hi[:, 1]) / 2
    # Control points: a grid over each group's run-CRS box, grown by the reach and a margin.
    units_per_m = _units_per_metre(crs, (rlo + rhi) / 2, lat0)
    pad = max(PAD_M, 2 * reach_m) * units_per_m
    n = _N_CONTROL
    t = np.linspace(0.0, 1.0, n)
    ctrl_u = np.concatenate([np.repeat(t, n), (np.repeat(t[:-1], n - 1) + 0.5 / (n - 1))])
    ctrl_v = np.concatenate([np.tile(t, n), (np.tile(t[:-1], n - 1) + 0.5 / (n - 1))])
    fit_n = n * n
    box_lo, box_hi = rlo - pad[:, None], rhi + pad[:, None]
    src = box_lo[:, None, :] + np.stack([ctrl_u, ctrl_v], axis=-1)[None] * (box_hi - box_lo)[:, None, :]
    flat = src.reshape(-1, 2)
    clon, clat = _to_lonlat(crs).transform(flat[:, 0], flat[:, 1])
    per = src.shape[1]
    tm = tmerc_forward(clon, clat, np.repeat(lon0, per), np.repeat(lat0, per)).reshape(src.shape)
    first = _Poly.fit(src[:, :fit_n], tm[:, :fit_n])
    centre, angle = _orientation(coords, group_of, first, n_groups, x_ref=x_ref)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    d = tm - centre[:, None, :]
    turned = np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)
    shift, boxes = _slots(turned[:, :fit_n], lon0, lat0, reach_m=reach_m)
    local = turned + shift[:, None, :]
    forward, inverse, exact = _fitted_maps(src, local, units_per_m, fit_n=fit_n)
    b_group, s_group = _lookups(district, units, extents, label)
    return LocalFrames(crs, group_of, lon0, lat0, angle, boxes, forward, inverse, exact, shift, centre,
                       b_group, s_group, x_ref)


def _fitted_maps(src: np.ndarray, local: np.ndarray, units_per_m: np.ndarray, *,
                 fit_n: int) -> tuple[_Poly, _Poly, np.ndarray]:
    """The forward and inverse maps of every group (run CRS <-> frame, points (g, n, 2), the first
    ``fit_n`` of each group to fit, the rest to check) of the lowest degree whose residual is
    within ``TOLERANCE_M``; and which groups no degree fits (mapped exactly)."""
    n_groups = len(src)
    forward = _Poly.fit(src[:, :fit_n], local[:, :fit_n], degree=DEGREES[0])
    inverse = _Poly.fit(local[:, :fit_n], src[:, :fit_n], degree=DEGREES[0])
    todo = np.arange(n_groups)
    for at, degree in enumerate(DEGREES):
        if at:  # refit, at the next degree, the groups the last one did not fit
            f = _Poly.fit(src[todo, :fit_n], local[todo, :fit_n], degree=degree)
            i = _Poly.fit(local[todo, :fit_n], src[todo, :fit_n], degree=degree)
            forward.coef[todo], forward.degree[todo] = f.coef, f.degree
            inverse.coef[todo], inverse.degree[todo] = i.coef, i.degree
        check_g = np.repeat(todo, src.shape[1] - fit_n)
        f_err = np.hypot(*(forward(src[todo, fit_n:].reshape(-1, 2), check_g)
                           - local[todo, fit_n:].reshape(-1, 2)).T)
        i_err = np.hypot(*(inverse(local[todo, fit_n:].reshape(-1, 2), check_g)
                           - src[todo, fit_n:].reshape(-1, 2)).T) / units_per_m[check_g]
        worst = np.zeros(n_groups)
        np.maximum.at(worst, check_g, np.maximum(f_err, i_err))
        todo = todo[~(worst[todo] <= TOLERANCE_M)]
        if not len(todo):
            break
    exact = np.zeros(n_groups, dtype=bool)
    exact[todo] = True
    return forward, inverse, exact


def _lookups(district: District, units: _CampusUnits, extents: _Extents,
             label: np.ndarray) -> tuple[pd.Series, pd.Series]:
    """The group of each building id and site id (through its campus unit)."""
    def group_of_code(code: np.ndarray) -> np.ndarray:
        at = np.searchsorted(extents.codes, code)
        found = (at < len(extents.codes)) & (extents.codes[np.minimum(at, len(extents.codes) - 1)] == code)
        return np.where(found, label[np.minimum(at, len(label) - 1)], -1)

    b_ids = district.buildings["building_id"].astype(object).to_numpy()
    b_group = pd.Series(group_of_code(units.building_unit), index=b_ids, dtype=np.int64)
    b_group = b_group[(b_group >= 0).to_numpy() & ~b_group.index.duplicated()]
    s_group = pd.Series(group_of_code(np.arange(len(units.site_ids))), index=units.site_ids, dtype=np.int64)
    s_group = s_group[(s_group >= 0).to_numpy() & pd.notna(s_group.index)]
    return b_group, s_group[~s_group.index.duplicated()]


#: Groups are placed in the shared plane at their longitude and latitude (radians) times this
#: many earth radii, so a group's place depends on nothing but itself (chunks of a run get the
#: very same coordinates as the whole run).
_SPREAD = 8 * 6_371_000.0


def _slots(turned: np.ndarray, lon0: np.ndarray, lat0: np.ndarray, *,
           reach_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Shift of each group into the shared plane, and the box each group may reach there.

    Each group sits at ``_SPREAD`` x (lon, lat); if two boxes would still meet (groups nested
    in each other's extent), all groups are laid side by side along x instead."""
    half = np.abs(turned).max(axis=1) + reach_m + 100.0  # (g, 2)
    shift = np.column_stack([np.radians(lon0), np.radians(lat0)]) * _SPREAD
    boxes = np.column_stack([shift - half, shift + half])
    tree = shapely.STRtree(shapely.box(*boxes.T))
    left, right = tree.query(shapely.box(*boxes.T), predicate="intersects")
    if (left != right).any():
        width = 2 * half[:, 0] + reach_m
        start = np.r_[0.0, np.cumsum(width)[:-1]] + half[:, 0]
        shift = np.column_stack([start, np.zeros(len(start))])
        boxes = np.column_stack([shift - half, shift + half])
    return shift, boxes


def _units_per_metre(crs: str, xy: np.ndarray, lat0: np.ndarray) -> np.ndarray:
    """Run-CRS units per metre near each point (northwards), at least 1e-9."""
    tr = _to_lonlat(crs)
    lon, lat = tr.transform(xy[:, 0], xy[:, 1])
    step = 1e-4  # degrees of latitude, about 11 m
    x2, y2 = tr.transform(lon, np.clip(lat + step, -90, 90), direction="INVERSE")
    metres = step * 110_574.0
    scale: np.ndarray = np.maximum(np.hypot(x2 - xy[:, 0], y2 - xy[:, 1]) / metres, 1e-9)
    return scale


def _orientation(coords: dict[str, tuple[np.ndarray, np.ndarray]], group_of: dict[str, np.ndarray],
                 tmerc: _Poly, n_groups: int, *, x_ref: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Centre and turn of each group: its footprints' minimum rotated rectangle, long side first.

    Of the two directions along the long side, the one towards the mean footprint vertex is
    taken (a rigid motion of the campus moves the frame with it). Groups with no footprint use
    all their points."""
    xy, row = coords["buildings"]
    g = group_of["buildings"][row] if len(row) else np.empty(0, np.int64)
    have = np.zeros(n_groups, dtype=bool)
    have[g[g >= 0]] = True
    parts_xy, parts_g = [xy[g >= 0]], [g[g >= 0]]
    for name in _GEO_TABLES[1:]:
        oxy, orow = coords[name]
        og = group_of[name][orow] if len(orow) else np.empty(0, np.int64)
        keep = (og >= 0) & ~have[np.maximum(og, 0)]
        parts_xy.append(oxy[keep])
        parts_g.append(og[keep])
    pxy, pg = np.concatenate(parts_xy), np.concatenate(parts_g)
    order = np.argsort(pg, kind="stable")
    pxy, pg = pxy[order], pg[order]
    if x_ref is not None and len(pxy):  # longitudes near their group's (geographic run CRS)
        pxy = np.column_stack([x_ref[pg] + wrap_lon(pxy[:, 0] - x_ref[pg]), pxy[:, 1]])
    local = tmerc(pxy, pg)
    hull = shapely.oriented_envelope(shapely.multipoints(local, indices=pg))
    centre = shapely.get_coordinates(shapely.centroid(hull)).reshape(n_groups, 2)
    angle = np.zeros(n_groups)
    poly = np.flatnonzero(shapely.get_type_id(hull) == 3)
    if len(poly):
        ring = shapely.get_coordinates(shapely.get_exterior_ring(hull[poly])).reshape(len(poly), -1, 2)
        e1, e2 = ring[:, 1] - ring[:, 0], ring[:, 2] - ring[:, 1]
        long = np.where((np.hypot(*e1.T) >= np.hypot(*e2.T))[:, None], e1, e2)
        angle[poly] = np.arctan2(long[:, 1], long[:, 0]) % np.pi
    mean = np.zeros((n_groups, 2))
    np.add.at(mean, pg, local)
    mean /= np.maximum(np.bincount(pg, minlength=n_groups), 1)[:, None]
    along = (mean[:, 0] - centre[:, 0]) * np.cos(angle) + (mean[:, 1] - centre[:, 1]) * np.sin(angle)
    return centre, np.where(along < -1e-6, angle + np.pi, angle)
