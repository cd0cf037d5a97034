"""AED and stop-the-bleed kit reach: floor area within the configured walk of an asset in service."""

from __future__ import annotations

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner.geo._arrays import Fact, bincount, index_of, percent, union_by
from facility_planner.geo.cameras import EMPTY, Frame, site_of
from facility_planner.geo.config import KitConfig
from facility_planner.model import District


def aed_status(aeds: pd.DataFrame, *, as_of: date) -> pd.DataFrame:
    """Service status of each AED on ``as_of``: pads or battery expired, or in service.

    Returns ``status`` ("in service", "pads expired", "battery expired", "pads and battery
    expired"), ``in_service`` (bool) and ``expiry_known`` (both dates given), index-aligned.
    """
    day = pd.Timestamp(as_of)
    pads = pd.to_datetime(aeds["pads_expiry"], errors="coerce")
    battery = pd.to_datetime(aeds["battery_expiry"], errors="coerce")
    pads_out = (pads < day).fillna(False).to_numpy(dtype=bool)
    battery_out = (battery < day).fillna(False).to_numpy(dtype=bool)
    status = np.select([pads_out & battery_out, pads_out, battery_out],
                       ["pads and battery expired", "pads expired", "battery expired"], "in service")
    return pd.DataFrame({"status": status, "in_service": ~(pads_out | battery_out),
                         "expiry_known": (pads.notna() & battery.notna()).to_numpy(dtype=bool)},
                        index=aeds.index)


def asset_reach(district: District, frame: Frame, assets: gpd.GeoDataFrame, *, id_column: str,
                in_service: np.ndarray, reach_m: float, quad_segs: int = 16,
                label: str = "AED") -> tuple[Fact, gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Share of each footprint within ``reach_m`` of an in-service, located asset (floors count equally).

    Assets placed at their room or building (not located) draw nothing; a building holding one is
    fully reached when its bounding-box diagonal is within ``reach_m`` (the asset is somewhere
    inside), else unknown unless located assets already reach all of it.

    Returns the fact, the reach discs layer and the unreached parts of footprints.
    """
    assets = assets.reset_index(drop=True)
    a_b = index_of(assets["building_id"], frame.building_ids)
    located = assets["located"].fillna(False).to_numpy(dtype=bool)
    use = np.flatnonzero(located & in_service & ~assets.geometry.isna().to_numpy())
    discs = shapely.buffer(np.asarray(assets.geometry.values, dtype=object)[use], reach_m, quad_segs=quad_segs)
    fp_b = np.flatnonzero(frame.has_footprint)
    fps = frame.footprints[fp_b].astype(object)
    covered = np.full(len(fp_b), None, dtype=object)
    if len(discs) and len(fp_b):
        f_i, d_i = shapely.STRtree(discs).query(fps, predicate="intersects")
        covered = union_by(shapely.intersection(fps[f_i], discs[d_i]), f_i, len(fp_b))
    covered_filled = np.where(pd.isna(covered), EMPTY, covered)
    area = shapely.area(fps)
    share = percent(shapely.area(covered_filled), area)

    x0, y0, x1, y1 = shapely.bounds(fps).T if len(fps) else (np.empty(0),) * 4
    small = np.hypot(x1 - x0, y1 - y0) <= reach_m
    placed = bincount(a_b[~located & in_service], frame.n)[fp_b] > 0
    share = np.where(placed & small, 100.0, np.where(placed & (share < 100), np.nan, share))
    fact = Fact(frame.n)
    fact.values[fp_b] = share
    fact.subjects[fp_b] = area
    article = "an" if label[:1] in "AEIOU" else "a"
    for k, b in enumerate(fp_b.tolist()):
        if share[k] < 100:
            fact.evidence[b].append(f"{100 - share[k]:.0f}% of floor area beyond a {reach_m:.0f} m walk "
                                    f"of {article} {label} in service")
        elif np.isnan(share[k]):
            fact.evidence[b].append(f"{label} placed at its room or building, not located: reach unknown")
    ids = assets[id_column].to_numpy(dtype=object)
    out = np.flatnonzero(~in_service)
    fact.note(a_b[out], (f"{label} {i} out of service" for i in ids[out]))

    ub = a_b[use]
    reach_layer = gpd.GeoDataFrame({
        id_column: ids[use], "building_id": assets["building_id"].to_numpy(dtype=object)[use],
        "site_id": site_of(frame, np.maximum(ub, 0)) if frame.n else np.full(len(use), None),
        "radius_m": np.full(len(use), reach_m),
    }, geometry=gpd.GeoSeries(discs, crs=district.crs), crs=district.crs)
    reach_layer.loc[ub < 0, "site_id"] = None
    gaps = shapely.difference(fps, covered_filled) if len(fps) else fps
    keep = ~shapely.is_empty(gaps) & (shapely.area(gaps) > 1e-6) & ~placed if len(gaps) else np.empty(0, bool)
    unreached = gpd.GeoDataFrame({
        "building_id": np.asarray(frame.building_ids, dtype=object)[fp_b[keep]],
        "site_id": site_of(frame, fp_b[keep]), "area_m2": shapely.area(gaps[keep]),
    }, geometry=gpd.GeoSeries(gaps[keep], crs=district.crs), crs=district.crs)
    return fact, reach_layer, unreached


def kit_places(district: District, frame: Frame, kits: pd.DataFrame, *, config: KitConfig) -> Fact:
    """Share of the recommended kinds of place (gym, office, ...) a building has that hold a kit."""
    rooms = district.rooms
    kinds = list(config.recommended_places.value)
    fact = Fact(frame.n)
    if not kinds:
        return fact
    r_b = index_of(rooms["building_id"], frame.building_ids)
    r_type = rooms["room_type"].astype("string").fillna("").to_numpy(dtype=object)
    kit_rooms = set(kits["room_id"].dropna().astype(str))
    has_kit = rooms["room_id"].astype("string").isin(kit_rooms).fillna(False).to_numpy(dtype=bool)
    present = np.zeros((frame.n, len(kinds)), dtype=bool)
    stocked = np.zeros((frame.n, len(kinds)), dtype=bool)
    for k, kind in enumerate(kinds):
        of_kind = (r_type == kind) & (r_b >= 0)
        present[r_b[of_kind], k] = True
        stocked[r_b[of_kind & has_kit], k] = True
    fact.subjects = present.sum(axis=1).astype(float)
    fact.values = percent(stocked.sum(axis=1).astype(float), fact.subjects)
    for b, k in zip(*np.nonzero(present & ~stocked), strict=True):
        fact.evidence[b].append(f"no stop-the-bleed kit recorded in any {kinds[k]}")
    return fact
