"""Test helpers: a district's campus moved (rigidly, in true metres) to anywhere and turned."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import shapely
from pyproj import Proj, Transformer

from facility_planner.model import District

GEO_TABLES = ("buildings", "rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls",
              "site_boundaries", "parking")


def _tm(lon0: float, lat0: float) -> str:
    return f"+proj=tmerc +lat_0={lat0} +lon_0={lon0} +k=1 +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"


def in_crs(district: District, crs: str) -> District:
    """Every table of ``district`` in ``crs``."""
    tables = {name: district.table(name).to_crs(crs) for name in GEO_TABLES}
    return dataclasses.replace(district, crs=crs, **tables)


def site_rows(district: District, site_id: str) -> dict[str, np.ndarray]:
    b = district.buildings
    ids = set(b.loc[b["site_id"] == site_id, "building_id"])
    rows = {}
    for name in GEO_TABLES:
        t = district.table(name)
        key = "site_id" if name in ("site_boundaries", "parking", "buildings") else "building_id"
        rows[name] = (t[key].isin(ids if key == "building_id" else {site_id})).fillna(False).to_numpy(dtype=bool)
    return rows


def move_site(district: District, site_id: str, *, lon: float, lat: float, turn_deg: float) -> District:
    """``district`` (EPSG:4326) with site ``site_id`` moved to (lon, lat) and turned clockwise by
    ``turn_deg`` about its centre: the same campus in true metres, headings turned with it."""
    assert district.crs == "EPSG:4326"
    rows = site_rows(district, site_id)
    fp = district.buildings.geometry[rows["buildings"]]
    c = shapely.centroid(shapely.union_all(fp.values))
    old, new = Transformer.from_crs("EPSG:4326", _tm(c.x, c.y), always_xy=True), \
        Transformer.from_crs("EPSG:4326", _tm(lon, lat), always_xy=True)
    t = np.radians(turn_deg)
    cos, sin = np.cos(t), np.sin(t)

    def move(xy: np.ndarray) -> np.ndarray:
        x, y = old.transform(xy[:, 0], xy[:, 1])
        # clockwise turn (bearings grow by turn_deg)
        xr, yr = cos * x + sin * y, -sin * x + cos * y
        lo, la = new.transform(xr, yr, direction="INVERSE")
        return np.column_stack([lo, la])

    tables = {}
    for name in GEO_TABLES:
        table = district.table(name).copy()
        m = rows[name]
        geoms = np.asarray(table.geometry.values, dtype=object).copy()
        geoms[m] = shapely.transform(geoms[m], move)
        table = table.set_geometry(pd.Series(geoms, index=table.index).values, crs="EPSG:4326")
        tables[name] = table
    cams = tables["cameras"]
    m = rows["cameras"] & cams.geometry.notna().to_numpy()
    if m.any():
        before = district.cameras.geometry[m]
        after = cams.geometry[m]
        g_old = Proj(_tm(c.x, c.y)).get_factors(before.x.to_numpy(), before.y.to_numpy()).meridian_convergence
        g_new = Proj(_tm(lon, lat)).get_factors(after.x.to_numpy(), after.y.to_numpy()).meridian_convergence
        # grid bearing = true bearing - convergence (PROJ: angle from true north to grid north)
        heading = cams["heading_deg"].to_numpy(dtype=float).copy()
        heading[m] = (heading[m] - np.asarray(g_old) + turn_deg + np.asarray(g_new)) % 360
        cams["heading_deg"] = heading
    return dataclasses.replace(district, **tables)
