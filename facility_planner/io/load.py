"""Loading a district: inventory + campus maps -> ``District``, with every match reported.

Footprints are matched to buildings by ``building_id``; asset points drawn on a map fill the
locations of inventory rows with the same id; assets with a location but no ``building_id`` are
assigned to the footprint containing them (or the nearest within ``snap_m`` metres). Each of these
steps writes a warning, so a user sees what the tool decided for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner import settings
from facility_planner.io.maps import ASSET_IDS, MapLayers, read_maps
from facility_planner.model import ASSET_TABLES, District, ValidationReport, make_district

#: Largest distance (m) from a footprint at which an asset without ``building_id`` is still
#: assigned to it (GPS points of wall-mounted cameras fall just outside the drawn outline).
SNAP_DISTANCE_M = 5.0

_SINGULAR = {"doors": "door", "cameras": "camera", "repeaters": "repeater", "aeds": "AED",
             "equipment": "equipment item"}


def _row(value: Any) -> int | None:
    return None if pd.isna(value) else int(value)


def _check_footprints(tables: Mapping[str, pd.DataFrame | None], maps: MapLayers | None,
                      report: ValidationReport) -> None:
    buildings = tables.get("buildings")
    inventory_ids = set() if buildings is None else set(buildings["building_id"].dropna().astype(str))
    footprints = maps.footprints if maps is not None else None
    if footprints is None or not len(footprints) or footprints["building_id"].isna().all():
        if inventory_ids:
            report.add("warning", f"no map gives a footprint for any of the {len(inventory_ids)} "
                       "buildings; coverage and distances cannot be measured until a campus map "
                       "with building_id on its footprints is added", sheet="buildings",
                       column="building_id")
        return
    on_map = footprints.dropna(subset=["building_id"]).drop_duplicates("building_id")
    stray = on_map[~on_map["building_id"].isin(inventory_ids)]
    for rec in stray.itertuples(index=False):
        report.add("warning", f"footprint {rec.building_id} on the map (layer {rec.map_layer}, "
                   f"feature {rec.map_feature}) has no building with that building_id in the "
                   "inventory; it is not used", file=rec.map_file, sheet=rec.map_layer,
                   row=_row(rec.map_feature), column="building_id", value=str(rec.building_id))
    if buildings is None:
        return
    drawn = set(on_map["building_id"].astype(str))
    missing = buildings[~buildings["building_id"].astype(str).isin(drawn)]
    for rec in missing.itertuples(index=False):
        report.add("warning", f"building {rec.building_id} has no footprint on the map; its "
                   "coverage cannot be measured", sheet="buildings",
                   row=_row(getattr(rec, "source_row", None)), column="building_id",
                   value=str(rec.building_id))


def _fill_from_map_points(tables: dict[str, pd.DataFrame | None], maps: MapLayers | None,
                          report: ValidationReport) -> None:
    """Give inventory rows without a location the location of the map point with their id."""
    if maps is None or not len(maps.points) or maps.crs is None:
        return
    points = maps.points.to_crs(settings.lonlat_crs)
    duplicated = points.duplicated(["asset_table", "asset_id"])
    for rec in points[duplicated].itertuples(index=False):
        report.add("warning", f"{_SINGULAR[rec.asset_table]} {rec.asset_id} is drawn more than once "
                   "on the maps; the first point is used", file=rec.map_file, sheet=rec.map_layer,
                   row=_row(rec.map_feature), value=str(rec.asset_id))
    points = points[~duplicated]
    for table, key in ASSET_IDS.items():
        drawn = points[points["asset_table"] == table]
        if not len(drawn):
            continue
        frame = tables.get(table)
        frame = pd.DataFrame(columns=[key]) if frame is None else frame.copy()
        for col in ("lon", "lat", "x", "y"):
            if col not in frame:
                frame[col] = np.nan
        if "building_id" not in frame:
            frame["building_id"] = pd.Series(pd.NA, index=frame.index, dtype="string")
        known = set(frame[key].dropna().astype(str))
        for rec in drawn[~drawn["asset_id"].isin(known)].itertuples(index=False):
            report.add("warning", f"{_SINGULAR[table]} {rec.asset_id} is drawn on the map but is not "
                       f"in the {table} sheet; add it there to use it", file=rec.map_file,
                       sheet=rec.map_layer, row=_row(rec.map_feature), value=str(rec.asset_id))
        by_id = drawn.set_index("asset_id")
        has_ll = frame[["lon", "lat"]].astype(float).notna().all(axis=1).to_numpy()
        has_xy = frame[["x", "y"]].astype(float).notna().all(axis=1).to_numpy()
        fill = ~has_ll & ~has_xy & frame[key].astype(str).isin(by_id.index).to_numpy()
        if not fill.any():
            tables[table] = frame
            continue
        ids = frame.loc[fill, key].astype(str)
        geoms = by_id.geometry.reindex(ids.to_numpy())
        frame.loc[fill, "lon"] = geoms.x.to_numpy()
        frame.loc[fill, "lat"] = geoms.y.to_numpy()
        map_building = by_id["building_id"].reindex(ids.to_numpy()).to_numpy() if "building_id" in by_id else np.full(len(ids), pd.NA)
        for pos, asset_id, building in zip(np.flatnonzero(fill), ids, map_building, strict=True):
            extra = ""
            if pd.isna(frame["building_id"].iloc[pos]) and not pd.isna(building):
                frame.iloc[pos, frame.columns.get_loc("building_id")] = building
                extra = f" and its building_id {building}"
            src = by_id.loc[asset_id]
            report.add("warning", f"{_SINGULAR[table]} {asset_id} had no location in the inventory; "
                       f"it takes the point drawn on the map ({src['map_file']}, layer "
                       f"{src['map_layer']}){extra}", sheet=table,
                       row=_row(frame["source_row"].iloc[pos]) if "source_row" in frame else None,
                       column="lon", value=str(asset_id))
        tables[table] = frame


def _metric(district: District, *, reach_m: float) -> tuple[District, Any]:
    """``district`` in local metric frames (``geo.local``), for distances in true metres."""
    from facility_planner.geo.local import LocalFrames

    frames = LocalFrames.of(district, reach_m=reach_m)
    return (frames.project(district) if frames.n_groups else district), frames


def _assign_by_location(district: District, report: ValidationReport, *, snap_m: float) -> None:
    """Assets with a location but no building_id go to the footprint containing (or near) them."""
    if not any((district.table(t)["building_id"].isna() & district.table(t)["located"].fillna(False)).any()
               for t in ASSET_TABLES):
        return
    metric, _ = _metric(district, reach_m=snap_m)
    footprints = metric.buildings.loc[metric.buildings["has_footprint"].fillna(False).to_numpy(),
                                      ["building_id", "geometry"]]
    for table in ASSET_TABLES:
        assets = district.table(table)
        key = ASSET_IDS[table]
        orphan = (assets["building_id"].isna() & assets["located"].fillna(False)
                  & assets.geometry.notna()).to_numpy()
        if not orphan.any():
            continue
        candidates = metric.table(table).loc[orphan, [key, "source_row", "geometry"]]
        hits = (gpd.sjoin_nearest(candidates, footprints, how="left", max_distance=snap_m,
                                  distance_col="distance_m") if len(footprints) else
                candidates.assign(building_id=pd.NA, distance_m=np.nan))
        hits = hits[~hits.index.duplicated(keep="first")]
        found = hits["building_id"].notna()
        assets.loc[hits.index[found], "building_id"] = hits.loc[found, "building_id"].astype("string")
        noun = _SINGULAR[table]
        ids = hits[key].astype(str).to_numpy(dtype=object)
        rows = hits["source_row"].astype("Int64").to_numpy(dtype=object, na_value=None)
        lost = ~found.to_numpy()
        where = f'Sheet "{table}", column "building_id"'
        if lost.any():
            report.add_cells(
                "warning", rows=rows[lost], values=ids[lost], where=where, sheet=table, column="building_id",
                messages=[f"{noun} {i} has no building_id and its location is in no building footprint "
                          f"(none within {snap_m:g} m); it counts for no building" for i in ids[lost]],
                kinds=np.full(int(lost.sum()), f"has no building_id and lies in no building footprint "
                              f"(none within {snap_m:g} m); it counts for no building"))
        if found.any():
            got = hits[found]
            how = ["its location is inside that footprint" if d == 0 else
                   f"its location is {d:.1f} m from that footprint" for d in got["distance_m"]]
            report.add_cells(
                "warning", rows=rows[~lost], values=ids[~lost], where=where, sheet=table,
                column="building_id",
                messages=[f"{noun} {i} has no building_id; assigned to building {b} because {h}"
                          for i, b, h in zip(ids[~lost], got["building_id"], how, strict=True)],
                kinds=[f"has no building_id; assigned to building {b}, whose footprint holds it"
                       for b in got["building_id"]])


def _check_assets_near_footprints(district: District, report: ValidationReport) -> None:
    """Located assets far from their own building's footprint; a building whose assets are all
    far away means the map and the inventory disagree (another place, CRS or building_id)."""
    limit = settings.max_asset_distance_m
    lonlat = district
    district, frames = _metric(district, reach_m=limit)
    shapes = district.buildings.set_index("building_id").geometry
    shapes = shapes[district.buildings.set_index("building_id")["has_footprint"].fillna(False)]
    shapes = shapes[~shapes.index.duplicated()]
    per_building = []
    for table in ASSET_TABLES:
        assets = district.table(table)
        if not len(assets):
            continue
        own = shapes.reindex(assets["building_id"].astype(object).to_numpy()).to_numpy()
        ok = assets["located"].fillna(False).to_numpy() & ~pd.isna(own) & assets.geometry.notna().to_numpy()
        if not ok.any():
            continue
        distance = np.full(len(assets), np.nan)
        distance[ok] = shapely.distance(assets.geometry.to_numpy()[ok], own[ok])
        if frames.n_groups:  # in different campus groups: the geodesic to the footprint's centre
            b_group = pd.Series(frames.group_of["buildings"], index=district.buildings["building_id"].to_numpy())
            b_group = b_group[~b_group.index.duplicated()]
            other = ok & (frames.group_of[table] != b_group.reindex(
                assets["building_id"].astype(object).to_numpy()).to_numpy())
            if other.any():
                distance[other] = _geodesic(lonlat, table, other, assets["building_id"].to_numpy()[other])
        per_building.append(pd.DataFrame({"building_id": assets["building_id"].to_numpy()[ok],
                                          "far": distance[ok] > limit, "distance": distance[ok]}))
        far = distance > limit
        if not far.any():
            continue
        key = ASSET_IDS[table]
        ids = assets[key].astype(str).to_numpy(dtype=object)[far]
        buildings = assets["building_id"].astype(str).to_numpy(dtype=object)[far]
        report.add_cells(
            "warning", rows=assets["source_row"].astype("Int64").to_numpy(dtype=object, na_value=None)[far],
            values=ids, where=f'Sheet "{table}", column "building_id"', sheet=table, column="building_id",
            messages=[f"{_SINGULAR[table]} {i} is {d:,.0f} m from the footprint of building {b} (more "
                      f"than {limit:,.0f} m); check its location or building_id"
                      for i, d, b in zip(ids, distance[far], buildings, strict=True)],
            kinds=[f"is more than {limit:,.0f} m from the footprint of building {b}; check its "
                   "location or building_id" for b in buildings])
    if per_building:
        _report_footprints_far_from_assets(pd.concat(per_building, ignore_index=True), report)


def _report_footprints_far_from_assets(located: pd.DataFrame, report: ValidationReport) -> None:
    """One warning per building whose located assets all lie far from its drawn footprint."""
    stats = located.groupby("building_id").agg(n=("far", "size"), far=("far", "sum"),
                                               median=("distance", "median"))
    wrong = stats[(stats["far"] == stats["n"]) & (stats["n"] >= 2)]
    if not len(wrong):
        return
    if len(wrong) == len(stats) and len(stats) > 1:
        report.add("warning", f"the map and the inventory disagree: for every building, the located "
                   f"doors, cameras and other items lie far from its footprint (median "
                   f"{wrong['median'].median() / 1000:,.1f} km); the map may show another place, be "
                   "in another coordinate system than it says, or use other building_ids",
                   sheet="buildings", column="building_id")
        return
    for building_id, rec in wrong.iterrows():
        report.add("warning", f"the footprint of building {building_id} on the map is "
                   f"{rec['median'] / 1000:,.1f} km from all {int(rec['n'])} located items of that "
                   "building in the inventory; the footprint may belong to another building",
                   sheet="buildings", column="building_id", value=str(building_id))


def _check_repeated_and_overlapping(maps: MapLayers | None, district: District,
                                    report: ValidationReport) -> None:
    """Footprints drawn more than once, and footprints of different buildings that overlap."""
    if maps is None or not len(maps.footprints):
        return
    drawn = maps.footprints.dropna(subset=["building_id"])
    repeated = drawn[drawn.duplicated("building_id", keep=False)]
    for building_id, group in repeated.groupby("building_id", sort=True):
        features = ", ".join(f"{f} ({layer})" for f, layer in
                             zip(group["map_feature"], group["map_layer"], strict=True))
        same = group.geometry.normalize().to_wkb().duplicated().any()
        how = "some of them are the same shape drawn twice; " if same else ""
        report.add("warning", f"building {building_id} has {len(group)} footprints on the map "
                   f"(features {features}); {how}they are merged into one outline: check that "
                   "none belongs to another building", file=group["map_file"].iloc[0],
                   sheet=group["map_layer"].iloc[0], row=_row(group["map_feature"].iloc[0]),
                   column="building_id", value=str(building_id))
    shapes = district.buildings.loc[district.buildings["has_footprint"].fillna(False).to_numpy(),
                                    ["building_id", "geometry"]].reset_index(drop=True)
    if len(shapes) < 2:
        return
    left, right = shapes.sindex.query(shapes.geometry, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    if not len(left):
        return
    geoms = shapes.geometry.to_numpy()
    area = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    overlap = area > np.maximum(1.0, 0.05 * smaller)
    ids = shapes["building_id"].to_numpy(dtype=object)
    for i, j, a, m in zip(left[overlap], right[overlap], area[overlap], smaller[overlap], strict=True):
        report.add("warning", f"the footprints of buildings {ids[i]} and {ids[j]} overlap by "
                   f"{a:,.0f} m² ({a / m:.0%} of the smaller); one may be drawn in the wrong place "
                   "or carry the wrong building_id", sheet="buildings", column="building_id",
                   value=f"{ids[i]}, {ids[j]}")


def _geodesic(district: District, table: str, rows: np.ndarray, building_ids: np.ndarray) -> np.ndarray:
    """Distance (m) from assets ``rows`` of ``table`` to the footprint of their building, each in a
    transverse Mercator centred on the asset (assets far from their campus: few)."""
    from facility_planner.geo.local import tmerc_transformer

    pts = district.table(table).geometry[rows].to_crs(settings.lonlat_crs)
    shapes = district.buildings.drop_duplicates("building_id").set_index("building_id").geometry
    fps = shapes.reindex(building_ids).to_crs(settings.lonlat_crs).to_numpy()
    out = np.empty(len(pts))
    for k, (pt, fp) in enumerate(zip(pts.to_numpy(), fps, strict=True)):
        tm = tmerc_transformer(pt.x, pt.y)
        out[k] = shapely.distance(shapely.Point(0.0, 0.0),
                                  shapely.transform(fp, lambda xy, tm=tm: np.column_stack(tm.transform(*xy.T))))
    return out


def assemble_district(
    tables: Mapping[str, pd.DataFrame | None],
    report: ValidationReport | None = None,
    map_layers: MapLayers | None = None,
    *,
    crs: str | int | None = None,
    map_crs: str | int | None = None,
    snap_m: float = SNAP_DISTANCE_M,
) -> tuple[District, ValidationReport]:
    """Build a ``District`` from clean tables and read maps, reporting every match made.

    Parameters
    ----------
    tables
        Clean inventory frames by sheet name (as ``read_inventory`` returns them).
    report
        The inventory's validation report; copied, not changed.
    map_layers
        Maps read by ``read_map``/``read_maps``, or None.
    crs
        Metric CRS for the analysis; default the UTM zone of the data.
    map_crs
        CRS of the inventory's ``x``/``y`` columns; default the maps' CRS.
    snap_m
        Largest distance (m) from a footprint at which an asset without building_id is assigned.
    """
    out = ValidationReport()
    if report is not None:
        out.extend(report)
    if map_layers is not None:
        out.extend(map_layers.report)
    work: dict[str, pd.DataFrame | None] = dict(tables)
    _check_footprints(work, map_layers, out)
    _fill_from_map_points(work, map_layers, out)
    layers = map_layers.district_layers() if map_layers is not None else {}
    if map_crs is None and map_layers is not None and map_layers.crs is not None:
        map_crs = map_layers.crs.to_string()
    if isinstance(map_crs, int):
        map_crs = f"EPSG:{map_crs}"
    district = make_district(work, **layers, crs=crs, map_crs=map_crs)
    _assign_by_location(district, out, snap_m=snap_m)
    _check_assets_near_footprints(district, out)
    _check_repeated_and_overlapping(map_layers, district, out)
    return district, out


def load_district(
    inventory: Any,
    *,
    maps: Sequence[tuple[str, bytes]] = (),
    crs: str | int | None = None,
    map_crs: str | int | None = None,
    filename: str | None = None,
    layers: Sequence[str] | None = None,
    dxf_layers: Sequence[str] | None = None,
) -> tuple[District, ValidationReport]:
    """Read an inventory and its campus maps into a ``District`` and one validation report.

    Parameters
    ----------
    inventory
        What ``read_inventory`` takes: xlsx bytes, a Path, or a mapping of CSV names to bytes.
    maps
        ``(filename, bytes)`` of each campus map upload (see ``read_map``).
    crs
        Metric CRS for the analysis; default the UTM zone of the data.
    map_crs
        CRS of maps that carry none (DXF) and of the inventory's ``x``/``y`` columns.
    filename
        The inventory's uploaded name, for messages.
    layers, dxf_layers
        Map layers / CAD layers to read (see ``read_map``).
    """
    from facility_planner.io.inventory import read_inventory

    tables, report = read_inventory(inventory, filename=filename)
    map_layers = (read_maps(maps, crs=map_crs, layers=layers, dxf_layers=dxf_layers)
                  if maps else None)
    return assemble_district(tables, report, map_layers, crs=crs, map_crs=map_crs)
