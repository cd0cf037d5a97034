"""Local metric frames: every group of nearby campuses is measured in a CRS centred on it.

A district's tables sit in one CRS for the whole run (``District.crs``). No distance, area or
bearing is taken there: ``LocalFrames.of`` gathers the rows into groups of campuses that come within
reach of each other (cameras, AED/kit walks, obstacles) and gives each group a transverse Mercator
centred on it (scale 1 at the centre, WGS84 ellipsoid), turned to the group's own axes (the long
side of the minimum rotated rectangle of its footprints). The groups are laid side by side in one
plane with empty gaps wider than any reach, so the measurement still runs once over all of them,
and every group sees only itself.

The map from the run's CRS to each frame (and back) is a polynomial fitted to exact PROJ results
on a grid of control points over the group; its residual is checked on other points, and a group
whose residual exceeds ``TOLERANCE_M`` is mapped point by point with PROJ instead.

Bearings in the inventory are true-north compass bearings; ``grid_bearings`` turns them into
bearings in the frame with the meridian convergence (and the frame's turn) at each point.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from facility_planner.geo._arrays import index_of
from facility_planner.model import District

LONLAT = "EPSG:4326"
#: Largest allowed error (m) of the fitted map of a frame at its check points.
TOLERANCE_M = 1e-4
#: Control points reach at least this far (m) beyond a group's data (views and reach areas).
PAD_M = 1000.0
#: Degree of the polynomial map of each frame (cubic: under 0.1 mm over a campus plus 1 km).
DEGREE = 3
#: Tables with geometry, and how their rows find their campus.
_BY_BUILDING = ("rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls")
_BY_SITE = ("site_boundaries", "parking")
_GEO_TABLES = ("buildings", *_BY_BUILDING, *_BY_SITE)
_N_CONTROL = 7  # control points per side of each group's box


@lru_cache(maxsize=32)
def _to_lonlat(crs: str) -> Transformer:
    return Transformer.from_crs(crs, LONLAT, always_xy=True)


def tmerc_transformer(lon0: float, lat0: float) -> Transformer:
    """Transverse Mercator (WGS84, scale 1) centred on (lon0, lat0), from degrees."""
    return Transformer.from_pipeline(
        "+proj=pipeline +step +proj=unitconvert +xy_in=deg +xy_out=rad "
        f"+step +proj=tmerc +lat_0={lat0:.12f} +lon_0={lon0:.12f} +k=1 +x_0=0 +y_0=0 +ellps=WGS84")


def tmerc_definition(lon0: float, lat0: float) -> str:
    """PROJ string of the frame centred on (lon0, lat0) (before its turn and shift)."""
    return (f"+proj=tmerc +lat_0={lat0:.8f} +lon_0={lon0:.8f} +k=1 +x_0=0 +y_0=0 "
            "+ellps=WGS84 +units=m +no_defs")


def _terms(u: np.ndarray, v: np.ndarray) -> list[np.ndarray]:
    """Monomials u^i v^j, i + j <= DEGREE (by products, not powers)."""
    up, vp = [np.ones_like(u)], [np.ones_like(v)]
    for _ in range(DEGREE):
        up.append(up[-1] * u)
        vp.append(vp[-1] * v)
    return [up[i] * vp[d - i] for d in range(DEGREE + 1) for i in range(d, -1, -1)]


@dataclass(frozen=True)
class _Poly:
    """One 2D polynomial map per group, on coordinates normalised per group."""

    centre: np.ndarray  # (g, 2)
    scale: np.ndarray  # (g,)
    coef: np.ndarray  # (g, K, 2)

    @classmethod
    def fit(cls, src: np.ndarray, dst: np.ndarray) -> _Poly:
        """Least-squares fit of dst = P(src) per group; src, dst (g, n, 2)."""
        centre = src.mean(axis=1)
        scale = np.maximum(np.abs(src - centre[:, None]).max(axis=(1, 2)), 1e-12)
        u = (src - centre[:, None]) / scale[:, None, None]
        t = np.stack(_terms(u[..., 0], u[..., 1]), axis=-1)  # (g, n, K)
        coef = np.stack([np.linalg.lstsq(t[k], dst[k], rcond=None)[0] for k in range(len(t))]) \
            if len(t) else np.empty((0, t.shape[-1], 2))
        return cls(centre, scale, coef)

    def __call__(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Evaluate group by group (coordinates sorted by group): one small product per group."""
        out = np.empty_like(xy)
        if not len(xy):
            return out
        order = np.argsort(group, kind="stable")
        g_sorted = group[order]
        cuts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1], True])
        for a, b in zip(cuts[:-1].tolist(), cuts[1:].tolist(), strict=True):
            g = int(g_sorted[a])
            rows = order[a:b]
            u = (xy[rows] - self.centre[g]) / self.scale[g]
            out[rows] = np.column_stack(_terms(u[:, 0], u[:, 1])) @ self.coef[g]
        return out


@dataclass(frozen=True)
class LocalFrames:
    """The local frames of one district (or chunk); see the module docstring.

    ``group_of`` maps each table to the group of each row (-1: no geometry); ``lon0``/``lat0``
    the centre of each group's transverse Mercator; ``angle`` its turn (radians, anticlockwise,
    of the group's long axis from the frame's x axis); ``boxes`` the part of the shared plane
    each group may reach; ``building_group`` and ``site_group`` the group of each building and
    site id (how layer rows find their group on the way back).
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
        unit_of = _units(district)
        lonlat, group_of, n_groups = _groups(district, coords, unit_of, crs=crs, reach_m=reach_m)
        if n_groups == 0:
            empty = np.empty(0)
            poly = _Poly(np.empty((0, 2)), empty, np.empty((0, len(_terms(empty, empty)), 2)))
            return cls(crs, group_of, empty, empty, empty, np.empty((0, 4)), poly, poly, np.empty(0, bool),
                       np.empty((0, 2)), np.empty((0, 2)), pd.Series(dtype=int), pd.Series(dtype=int))
        return _build(crs, coords, lonlat, group_of, n_groups, district=district, reach_m=reach_m)

    # ------------------------------------------------------------------ mapping coordinates
    def to_local(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Run-CRS coordinates of rows of ``group`` -> the shared plane."""
        out = self.forward(xy, group) if len(xy) else np.empty((0, 2))
        slow = self.exact[group] if len(xy) else np.empty(0, bool)
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
        out = np.empty_like(xy)
        for g in np.unique(group).tolist():
            m = group == g
            tx, ty = tmerc_transformer(float(self.lon0[g]), float(self.lat0[g])).transform(lon[m], lat[m])
            out[m] = self._turn(np.column_stack([tx, ty]), g)
        return out

    def _exact_inverse(self, xy: np.ndarray, group: np.ndarray) -> np.ndarray:
        lon = np.empty(len(xy))
        lat = np.empty(len(xy))
        for g in np.unique(group).tolist():
            m = group == g
            t = self._unturn(xy[m], g)
            lon[m], lat[m] = tmerc_transformer(float(self.lon0[g]), float(self.lat0[g])).transform(
                t[:, 0], t[:, 1], direction="INVERSE")
        x, y = _to_lonlat(self.crs).transform(lon, lat, direction="INVERSE")
        return np.column_stack([x, y])

    def _turn(self, tm: np.ndarray, g: int) -> np.ndarray:
        c, s = np.cos(self.angle[g]), np.sin(self.angle[g])
        d = tm - self.centre[g]
        turned: np.ndarray = np.column_stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1]]) + self.shift[g]
        return turned

    def _unturn(self, xy: np.ndarray, g: int) -> np.ndarray:
        c, s = np.cos(self.angle[g]), np.sin(self.angle[g])
        d = xy - self.shift[g]
        unturned: np.ndarray = np.column_stack([c * d[:, 0] - s * d[:, 1], s * d[:, 0] + c * d[:, 1]]) + self.centre[g]
        return unturned

    # ------------------------------------------------------------------ tables and layers
    def project(self, district: District) -> District:
        """``district`` in the shared plane; camera headings turned into grid bearings."""
        tables: dict[str, gpd.GeoDataFrame] = {}
        label = self.label
        for name in _GEO_TABLES:
            table = district.table(name)
            geoms = np.asarray(table.geometry.values, dtype=object)
            group = self.group_of[name]
            xy, row = shapely.get_coordinates(geoms, return_index=True)
            new = self.to_local(xy, group[row])
            moved = shapely.transform(geoms, lambda _c, new=new: new) if len(xy) else geoms
            tables[name] = gpd.GeoDataFrame(table.drop(columns=table.geometry.name), index=table.index,
                                            geometry=gpd.GeoSeries(moved, index=table.index, crs=label),
                                            crs=label)
        cams = tables["cameras"]
        cams["heading_deg"] = self.grid_bearings(district.cameras, cams["heading_deg"].to_numpy(dtype=float))
        return dataclasses.replace(district, crs=label, **tables)

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

    def restore(self, layer: gpd.GeoDataFrame, *, crs: str, check_valid: bool = True) -> gpd.GeoDataFrame:
        """A layer measured in the shared plane, back in the run's CRS ``crs`` (polygons made
        valid again where ``check_valid``: views drawn from rays can hold slivers)."""
        geoms = np.asarray(layer.geometry.values, dtype=object)
        xy, row = shapely.get_coordinates(geoms, return_index=True)
        back = self.to_run(xy, self._row_groups(layer, geoms)[row])
        moved = shapely.transform(geoms, lambda _c: back) if len(xy) else geoms
        poly: np.ndarray = (np.flatnonzero(np.isin(shapely.get_type_id(moved), (3, 6))) if check_valid
                            else np.empty(0, dtype=np.intp))
        if len(poly):  # a hair of curvature can make a sliver of a valid polygon cross itself
            bad = poly[~shapely.is_valid(moved[poly])]
            moved[bad] = shapely.make_valid(moved[bad], method="structure", keep_collapsed=False)
        out = layer.copy()
        return out.set_geometry(gpd.GeoSeries(moved, index=layer.index, crs=crs), crs=crs)


    def _row_groups(self, layer: pd.DataFrame, geoms: np.ndarray) -> np.ndarray:
        """Group of each layer row: by its building, else its site, else where it lies."""
        group = np.full(len(layer), -1, dtype=np.int64)
        for column, lookup in (("building_id", self.building_group), ("site_id", self.site_group)):
            if column in layer and len(lookup):
                found = lookup.reindex(layer[column].astype(object).to_numpy()).to_numpy(dtype=float)
                fill = (group < 0) & np.isfinite(found)
                group[fill] = found[fill].astype(np.int64)
        rest = np.flatnonzero((group < 0) & ~pd.isna(geoms))
        if len(rest):
            first = shapely.get_point(shapely.get_exterior_ring(geoms[rest]), 0)
            first = np.where(pd.isna(first), shapely.get_point(geoms[rest], 0), first)
            first = np.where(pd.isna(first), shapely.centroid(geoms[rest]), first)
            pt_i, box_i = shapely.STRtree(shapely.box(*self.boxes.T)).query(first, predicate="intersects")
            group[rest[pt_i]] = box_i
        return np.maximum(group, 0)


def _units(district: District) -> dict[str, np.ndarray]:
    """A campus code per row of each geometry table: its site, else its building, else itself."""
    b = district.buildings
    site_tables = [b["site_id"], *(district.table(name)["site_id"] for name in _BY_SITE)]
    site_codes, site_index = pd.factorize(pd.concat(site_tables, ignore_index=True).astype("string"))
    n_sites = len(site_index)
    b_unit = np.where(site_codes[:len(b)] >= 0, site_codes[:len(b)], n_sites + np.arange(len(b)))
    units: dict[str, np.ndarray] = {"buildings": b_unit.astype(np.int64)}
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
    return units


def _groups(district: District, coords: dict[str, tuple[np.ndarray, np.ndarray]],
            unit_of: dict[str, np.ndarray], *, crs: str,
            reach_m: float) -> tuple[np.ndarray, dict[str, np.ndarray], int]:
    """Group number of every row: campuses whose extents come within ``reach_m`` share one.

    Extents are compared in longitude/latitude, grown by ``reach_m`` in degrees with the
    smallest length of a degree (so no pair within reach is missed)."""
    keys, rows, parts = [], [], []
    for name in _GEO_TABLES:
        xy, row = coords[name]
        parts.append(xy)
        keys.append(unit_of[name][row] if len(row) else np.empty(0, dtype=np.int64))
        rows.append(row)
    xy_all = np.concatenate(parts) if parts else np.empty((0, 2))
    group_of = {name: np.full(len(district.table(name)), -1, dtype=np.int64) for name in _GEO_TABLES}
    if not len(xy_all):
        return np.empty((0, 2)), group_of, 0
    lon, lat = _to_lonlat(crs).transform(xy_all[:, 0], xy_all[:, 1])
    lonlat = np.column_stack([lon, lat])
    unit_codes, unit = np.unique(np.concatenate(keys), return_inverse=True)
    n_units = len(unit_codes)
    lo = np.full((n_units, 2), np.inf)
    hi = np.full((n_units, 2), -np.inf)
    good = np.isfinite(lonlat).all(axis=1)
    np.minimum.at(lo, unit[good], lonlat[good])
    np.maximum.at(hi, unit[good], lonlat[good])
    drawn = np.isfinite(lo).all(axis=1)
    dlat = reach_m / 110_000.0
    coslat = np.cos(np.radians(np.minimum(np.maximum(np.abs(lo[:, 1]), np.abs(hi[:, 1])) + dlat, 89.9)))
    dlon = dlat / coslat
    boxes = np.full(n_units, None, dtype=object)
    boxes[drawn] = shapely.box(lo[drawn, 0] - dlon[drawn] / 2, lo[drawn, 1] - dlat / 2,
                               hi[drawn, 0] + dlon[drawn] / 2, hi[drawn, 1] + dlat / 2)
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    left, right = shapely.STRtree(boxes).query(boxes, predicate="intersects")
    graph = coo_matrix((np.ones(len(left)), (left, right)), shape=(n_units, n_units))
    label = connected_components(graph, directed=False)[1]
    codes, label = np.unique(np.where(drawn, label, -1), return_inverse=True)
    label = label - (1 if codes[0] == -1 else 0)  # -1 stays "nothing drawn"
    start = 0
    for name, key in zip(_GEO_TABLES, keys, strict=True):
        row = rows[_GEO_TABLES.index(name)]
        u = unit[start:start + len(key)]
        start += len(key)
        if len(row):
            group_of[name][row] = label[u]
    return lonlat, group_of, int(label.max()) + 1 if len(label) else 0


def _build(crs: str, coords: dict[str, tuple[np.ndarray, np.ndarray]], lonlat: np.ndarray,
           group_of: dict[str, np.ndarray], n_groups: int, *, district: District,
           reach_m: float) -> LocalFrames:
    """Centres, turns, shifts and fitted maps of every group."""
    xy_all = np.concatenate([coords[name][0] for name in _GEO_TABLES])
    g_all = np.concatenate([group_of[name][coords[name][1]] for name in _GEO_TABLES])
    ok = (g_all >= 0) & np.isfinite(lonlat).all(axis=1)
    lo = np.full((n_groups, 2), np.inf)
    hi = np.full((n_groups, 2), -np.inf)
    np.minimum.at(lo, g_all[ok], lonlat[ok])
    np.maximum.at(hi, g_all[ok], lonlat[ok])
    lon0, lat0 = (lo[:, 0] + hi[:, 0]) / 2, (lo[:, 1] + hi[:, 1]) / 2
    # Control points: a grid over each group's run-CRS box, grown by the reach and a margin.
    rlo = np.full((n_groups, 2), np.inf)
    rhi = np.full((n_groups, 2), -np.inf)
    np.minimum.at(rlo, g_all[ok], xy_all[ok])
    np.maximum.at(rhi, g_all[ok], xy_all[ok])
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
    clon, clat = clon.reshape(n_groups, -1), clat.reshape(n_groups, -1)
    tm = np.empty_like(src)
    for g in range(n_groups):
        tm[g, :, 0], tm[g, :, 1] = tmerc_transformer(float(lon0[g]), float(lat0[g])).transform(clon[g], clat[g])
    first = _Poly.fit(src[:, :fit_n], tm[:, :fit_n])
    centre, angle = _orientation(district, coords, group_of, first, n_groups)
    c, s = np.cos(angle)[:, None], np.sin(angle)[:, None]
    d = tm - centre[:, None, :]
    turned = np.stack([c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]], axis=-1)
    shift, boxes = _slots(turned[:, :fit_n], lon0, lat0, reach_m=reach_m)
    local = turned + shift[:, None, :]
    forward = _Poly.fit(src[:, :fit_n], local[:, :fit_n])
    inverse = _Poly.fit(local[:, :fit_n], src[:, :fit_n])
    check_g = np.repeat(np.arange(n_groups), src.shape[1] - fit_n)
    f_err = np.hypot(*(forward(src[:, fit_n:].reshape(-1, 2), check_g) - local[:, fit_n:].reshape(-1, 2)).T)
    i_err = np.hypot(*(inverse(local[:, fit_n:].reshape(-1, 2), check_g)
                       - src[:, fit_n:].reshape(-1, 2)).T) / np.repeat(units_per_m, src.shape[1] - fit_n)
    worst = np.zeros(n_groups)
    np.maximum.at(worst, check_g, np.maximum(f_err, i_err))
    exact = ~(worst <= TOLERANCE_M)
    b_ids = district.buildings["building_id"].astype(object).to_numpy()
    b_group = pd.Series(group_of["buildings"], index=b_ids)
    b_group = b_group[(b_group >= 0).to_numpy() & ~b_group.index.duplicated()]
    sites = district.buildings["site_id"].astype(object).to_numpy()
    s_group = pd.Series(group_of["buildings"], index=sites)
    for name in _BY_SITE:
        table = district.table(name)
        s_group = pd.concat([s_group, pd.Series(group_of[name], index=table["site_id"].astype(object).to_numpy())])
    s_group = s_group[(s_group >= 0).to_numpy() & pd.notna(s_group.index)]
    s_group = s_group[~s_group.index.duplicated()]
    return LocalFrames(crs, group_of, lon0, lat0, angle, boxes, forward, inverse, exact, shift, centre,
                       b_group, s_group)


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


def _orientation(district: District, coords: dict[str, tuple[np.ndarray, np.ndarray]],
                 group_of: dict[str, np.ndarray], tmerc: _Poly,
                 n_groups: int) -> tuple[np.ndarray, np.ndarray]:
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
