"""Reading campus maps from uploaded bytes: footprints, rooms, sites, parking, walls, asset points.

Every format is read from bytes (``pyogrio`` opens them in GDAL's in-memory file system); the
file name only chooses the format, together with the first bytes, and is never handed to GDAL.
Zip archives are checked (``io.uploads``) and repacked in memory under names we validated.

All layers of one ``MapLayers`` share one CRS, ``MapLayers.crs``: the CRS of the first layer read
(the map's own, so ``x``/``y`` inventory columns in the map's CRS stay meaningful); later layers and
merged files are reprojected to it. ``make_district`` then moves everything to the metric CRS.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from facility_planner.errors import InputError, MissingCRSError
from facility_planner.io.uploads import (
    check_upload,
    is_zip,
    read_zip_members,
    repack_zip,
    safe_basename,
)
from facility_planner.model import TABLES, ValidationReport, normalise_header

Format = Literal["geojson", "gpkg", "shapefile", "filegdb", "kml", "dxf"]
Role = Literal["footprints", "rooms", "site_boundaries", "parking", "walls", "points"]

ROLES: tuple[Role, ...] = ("footprints", "rooms", "site_boundaries", "parking", "walls", "points")
#: Key columns each role carries (string dtype, ``<NA>`` when unknown).
ROLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "footprints": ("building_id", "site_id"),
    "rooms": ("room_id", "building_id", "floor"),
    "site_boundaries": ("site_id",),
    "parking": ("site_id",),
    "walls": ("building_id", "floor", "material"),
    "points": ("asset_table", "asset_id", "building_id"),
}
#: Provenance columns on every feature: file, layer and 1-based feature number in the layer.
SOURCE_COLUMNS = ("map_file", "map_layer", "map_feature")
#: Asset tables and their id columns, in the order a point's id column is looked for.
ASSET_IDS = {"doors": "door_id", "cameras": "camera_id", "repeaters": "repeater_id",
             "aeds": "aed_id", "equipment": "equipment_id"}

_FORMAT_NAMES = {"geojson": "GeoJSON", "gpkg": "GeoPackage", "shapefile": "Shapefile",
                 "filegdb": "File Geodatabase", "kml": "KML", "dxf": "DXF"}
_DRIVERS = {"geojson": {"GeoJSON", "GeoJSONSeq"}, "gpkg": {"GPKG"}, "shapefile": {"ESRI Shapefile"},
            "filegdb": {"OpenFileGDB"}, "kml": {"LIBKML", "KML"}, "dxf": {"DXF"}}
_EXTENSIONS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".kml": "kml",
               ".kmz": "zip", ".dxf": "dxf", ".zip": "zip", ".shp.zip": "zip", ".gdb.zip": "zip"}
_SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
_KML_NOISE = {"id", "description", "timestamp", "begin", "end", "altitudemode", "tessellate",
              "extrude", "visibility", "draworder", "icon", "snippet", "subclasses", "linetype",
              "entityhandle", "paperspace", "text"}
_PARKING_VALUES = {"parking", "parking_lot", "parking_area", "lot", "car_park"}
_LAYER_HINTS: tuple[tuple[str, str], ...] = (
    ("parking", r"parking|parkings|lots?|car_?parks?"),
    ("rooms", r"rooms?|floor_?plans?|spaces?"),
    ("walls", r"walls?"),
    ("footprints", r"buildings?|bldgs?|footprints?|structures?"),
    ("site_boundaries", r"sites?|boundary|boundaries|parcels?"),
    ("doors", r"doors?|entrances?"),
    ("cameras", r"cameras?|cctv|cams?"),
    ("repeaters", r"repeaters?|bdas?|das|radios?"),
    ("aeds", r"aeds?|defibrillators?"),
    ("equipment", r"equipment|kits?|alarms?"),
)


def _aliases() -> dict[str, str]:
    """Normalised header -> canonical column, from the inventory schema's aliases."""
    wanted = {"building_id": ("buildings", "building_id"), "site_id": ("sites", "site_id"),
              "room_id": ("rooms", "room_id"), "floor": ("rooms", "floor"),
              **{col: (table, col) for table, col in ASSET_IDS.items()}}
    out: dict[str, str] = {"material": "material", "kind": "kind", "type": "type"}
    for canonical, (table, col) in wanted.items():
        out[canonical] = canonical
        for alias in TABLES[table].column(col).aliases:
            out.setdefault(normalise_header(alias), canonical)
    return out


_ALIASES = _aliases()


@dataclass
class MapLayers:
    """Map features by role, all in ``crs``; ``report`` holds every repair and refusal.

    Footprints carry ``building_id`` (and ``site_id``), rooms ``room_id``/``building_id``/
    ``floor``, site boundaries and parking ``site_id``, walls ``building_id``/``floor``/``material``,
    points ``asset_table`` (doors, cameras, ...) and ``asset_id``; every feature also carries
    ``map_file``, ``map_layer`` and ``map_feature`` (1-based), plus its other attributes.
    """

    footprints: gpd.GeoDataFrame
    rooms: gpd.GeoDataFrame
    site_boundaries: gpd.GeoDataFrame
    parking: gpd.GeoDataFrame
    walls: gpd.GeoDataFrame
    points: gpd.GeoDataFrame
    report: ValidationReport = field(default_factory=ValidationReport)
    source: str = ""
    crs: pyproj.CRS | None = None

    @classmethod
    def empty(cls, *, source: str = "", crs: pyproj.CRS | str | None = None) -> MapLayers:
        crs = None if crs is None else pyproj.CRS.from_user_input(crs)
        return cls(**{role: _empty_role(role, crs) for role in ROLES}, source=source, crs=crs)

    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """The six role frames by name."""
        return {role: getattr(self, role) for role in ROLES}

    def district_layers(self) -> dict[str, gpd.GeoDataFrame | None]:
        """Keyword arguments for ``make_district`` (empty layers as None)."""
        def part(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame | None:
            return frame if len(frame) else None
        return {"footprints": part(self.footprints), "rooms_geometry": part(self.rooms),
                "site_boundaries": part(self.site_boundaries), "parking": part(self.parking),
                "walls": part(self.walls)}

    def merge(self, other: MapLayers) -> MapLayers:
        """Both files' features in one ``MapLayers`` (in this one's CRS, or the other's if none)."""
        crs = self.crs if self.crs is not None else other.crs
        report = ValidationReport()
        report.extend(self.report)
        report.extend(other.report)
        frames = {}
        for role in ROLES:
            parts = [f.to_crs(crs) if f.crs is not None and crs is not None else f
                     for f in (getattr(self, role), getattr(other, role)) if len(f)]
            frames[role] = (_empty_role(role, crs) if not parts else
                            gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=crs))
        source = ", ".join(s for s in (self.source, other.source) if s)
        return MapLayers(**frames, report=report, source=source, crs=crs)


def _empty_role(role: str, crs: pyproj.CRS | None) -> gpd.GeoDataFrame:
    columns = (*ROLE_COLUMNS[role], "map_file", "map_layer")
    frame = {c: pd.Series(dtype="string") for c in columns}
    frame["map_feature"] = pd.Series(dtype="Int64")
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def _extension(filename: str) -> str:
    name = str(filename).lower().rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    for ext in sorted(_EXTENSIONS, key=len, reverse=True):
        if name.endswith(ext):
            return ext
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def detect_format(data: bytes, *, filename: str) -> str:
    """The format of a map upload from its first bytes, else its extension.

    Returns one of ``geojson``, ``gpkg``, ``kml``, ``dxf`` or ``zip`` (zipped Shapefile, File
    Geodatabase, KMZ, or a zip of any of these).
    """
    head = bytes(data[:4096])
    if is_zip(head):
        return "zip"
    if head.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if head.startswith(b"AC10"):
        raise InputError("DWG drawings cannot be read; save the drawing as DXF from the CAD "
                         "program and upload that", file=filename)
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text[:1] in (b"{", b"["):
        return "geojson"
    if text.startswith(b"<") and b"<kml" in head.lower():
        return "kml"
    if (re.match(rb"(999\s*\r?\n[^\n]*\n\s*)?0\s*\r?\n\s*SECTION", text)
            or text.startswith(b"AutoCAD Binary DXF")):
        return "dxf"
    ext = _extension(filename)
    known = ", ".join(sorted(e for e in _EXTENSIONS if e != ".json"))
    if ext in _EXTENSIONS:
        raise InputError(f"the file is named {ext} but its content is not {ext[1:].upper()}; "
                         f"maps are read from {known}", file=filename)
    if ext == ".shp":
        raise InputError("a Shapefile needs its .shx, .dbf and .prj files: zip them together "
                         "and upload the .zip", file=filename)
    raise InputError(f"this is not a map format I can read; maps are read from {known}",
                     file=filename)


def _datasets(data: bytes, *, filename: str, report: ValidationReport) -> list[tuple[Format, bytes, str]]:
    """Split an upload into (format, bytes, label) datasets GDAL can open from memory."""
    fmt = detect_format(data, filename=filename)
    if fmt != "zip":
        return [(fmt, data, filename)]  # type: ignore[list-item]
    members = read_zip_members(data, filename=filename)
    datasets: list[tuple[Format, bytes, str]] = []
    used: set[str] = set()

    datasets += _geodatabases(members, filename=filename, used=used)
    shapefiles = [n for n in members if n.lower().endswith(".shp") and n not in used]
    _check_shapefile_parts(shapefiles, members, filename=filename)
    if shapefiles:
        datasets.append(("shapefile", _packed_shapefiles(shapefiles, members, filename=filename, used=used),
                         filename))
    datasets += _single_file_maps(members, filename=filename, used=used)
    ignored = [n for n in members if n not in used and not n.endswith("/")
               and not n.lower().startswith(("files/", "images/"))
               and _extension(n) not in (".png", ".jpg", ".jpeg", ".gif", ".xml", ".txt")]
    if ignored:
        report.add("warning", f"ignored {len(ignored)} archive member(s) that are not maps: "
                   + ", ".join(ignored[:10]) + (" ..." if len(ignored) > 10 else ""), file=filename)
    if not datasets and "[Content_Types].xml" in members:
        raise InputError("this is a workbook (an inventory), not a map: give it as the inventory "
                         "and the campus map (GeoPackage, GeoJSON, zipped Shapefile, ...) as the map",
                         file=filename)
    if not datasets:
        raise InputError("the zip archive holds no map: expected a Shapefile (.shp with .shx, "
                         ".dbf, .prj), a File Geodatabase folder (.gdb), KML, GeoJSON, GeoPackage "
                         "or DXF", file=filename)
    return datasets


def _geodatabases(members: dict[str, bytes], *, filename: str, used: set[str]) -> list[tuple[Format, bytes, str]]:
    """Each File Geodatabase folder (``*.gdb/``) of a zip, repacked on its own."""
    gdb_dirs = sorted({"/".join(parts[: i + 1]) for name in members
                       for parts in [name.split("/")] for i, part in enumerate(parts[:-1])
                       if part.lower().endswith(".gdb")})
    out: list[tuple[Format, bytes, str]] = []
    for gdb in gdb_dirs:
        inside = [n for n in members if n.rsplit("/", 1)[0] == gdb]
        packed = repack_zip((safe_basename(n, filename=filename), members[n]) for n in inside)
        out.append(("filegdb", packed, f"{filename}/{safe_basename(gdb, filename=filename)}"))
        used.update(n for n in members if n.startswith(gdb + "/"))
    return out


def _packed_shapefiles(shapefiles: list[str], members: dict[str, bytes], *, filename: str,
                       used: set[str]) -> bytes:
    """Every Shapefile of a zip with its parts, repacked flat under unique stems."""
    packed_members: list[tuple[str, bytes]] = []
    stems: set[str] = set()
    for shp in shapefiles:
        path_stem = shp[:-4]
        stem = safe_basename(path_stem, filename=filename)
        while stem.lower() in stems:
            stem += "_2"
        stems.add(stem.lower())
        for n in members:
            if n[: len(path_stem) + 1] == path_stem + "." and n[len(path_stem):].lower() in _SHAPEFILE_PARTS:
                packed_members.append((stem + n[len(path_stem):].lower(), members[n]))
                used.add(n)
    return repack_zip(packed_members)


def _single_file_maps(members: dict[str, bytes], *, filename: str, used: set[str]) -> list[tuple[Format, bytes, str]]:
    """GeoJSON, GeoPackage, KML and DXF files inside a zip."""
    out: list[tuple[Format, bytes, str]] = []
    for name in members:
        if name in used or _extension(name) not in (".geojson", ".json", ".gpkg", ".kml", ".dxf"):
            continue
        inner = detect_format(members[name], filename=f"{filename}/{name}")
        if inner != "zip":
            out.append((inner, members[name], f"{filename}/{name}"))  # type: ignore[arg-type]
            used.add(name)
    return out


def _check_shapefile_parts(shapefiles: list[str], members: dict[str, bytes], *, filename: str) -> None:
    """A Shapefile is several files; say which part a zip lacks, in a sentence."""
    names = {n.lower() for n in members}
    for shp in shapefiles:
        stem = shp[:-4]
        base = stem.rsplit("/", 1)[-1]
        lacking = [ext for ext in (".shx", ".dbf") if (stem + ext).lower() not in names]
        if lacking:
            parts = " or ".join(base + ext for ext in lacking)
            raise InputError(f"the zip has {base}.shp but not {parts}; a Shapefile is several files "
                             "that belong together: export the Shapefile again with all its parts "
                             "(.shp, .shx, .dbf, .prj) and zip them together", file=filename)


def _sqlite_cut_short(content: bytes) -> bool:
    """True when a SQLite file (GeoPackage) is shorter than its header says: a copy cut short."""
    if not content.startswith(b"SQLite format 3\x00") or len(content) < 100:
        return content.startswith(b"SQLite format 3")
    page_size = int.from_bytes(content[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(content[28:32], "big")
    return bool(pages) and len(content) < page_size * pages


def _unreadable(fmt: Format, content: bytes, *, label: str, layer: str | None = None) -> InputError:
    """The sentence for a map file GDAL cannot read, in the user's words (no GDAL or SQLite)."""
    name = _FORMAT_NAMES[fmt]
    if fmt == "gpkg" and _sqlite_cut_short(content):
        why = ("the GeoPackage is cut short (the file is smaller than its own header says, as when "
               "a copy or download did not finish); copy or export it again and use the new copy")
    else:
        where = f"layer {layer} of " if layer else ""
        why = (f"{where}the {name} is damaged or is not a complete {name} file, so it cannot be "
               f"read; export it again from the GIS or CAD program and use the new copy")
    return InputError(why, file=label, sheet=layer)


def _ids(values: pd.Series) -> pd.Series:
    """Ids as trimmed strings; integral floats (Shapefile numbers) lose their ``.0``."""
    if pd.api.types.is_float_dtype(values):
        finite = values.dropna()
        if (finite == np.round(finite)).all():
            values = values.astype("Int64")
    out = values.astype("string").str.strip()
    return out.mask(out == "")


def _normalise_columns(frame: gpd.GeoDataFrame, *, shapefile: bool) -> gpd.GeoDataFrame:
    geometry = frame.geometry.name
    canonical_names = set(_ALIASES.values())
    rename: dict[str, str] = {}
    taken: set[str] = set()
    for col in frame.columns:
        if col == geometry:
            continue
        norm = normalise_header(col)
        canon = _ALIASES.get(norm, norm)
        if shapefile and canon not in canonical_names and len(norm) == 10:
            # Shapefile field names are cut to 10 characters: "building_i" is "building_id".
            matches = [c for c in canonical_names if len(c) > 10 and c.startswith(norm)]
            canon = matches[0] if len(matches) == 1 else canon
        if canon in taken:
            canon = norm if norm not in taken else f"{norm}_{len(taken)}"
        taken.add(canon)
        rename[col] = canon
    out = frame.rename(columns=rename)
    if geometry != "geometry":
        out = out.rename_geometry("geometry")
    return out


def _layer_hint(name: str) -> str | None:
    norm = normalise_header(re.sub(r"(?<=[a-z])(?=[A-Z])", "_", str(name)))
    for hint, pattern in _LAYER_HINTS:
        if re.search(rf"(^|_)({pattern})(_|$)", norm):
            return hint
    return None


def _resolve_crs(frame: gpd.GeoDataFrame, *, crs: str | int | None, label: str, layer: str,
                 report: ValidationReport) -> gpd.GeoDataFrame:
    if frame.crs is None:
        if crs is None:
            err = MissingCRSError(f"map {label} has no coordinate reference system (a Shapefile "
                                  "without its .prj, or a CAD drawing); give its EPSG code, for "
                                  "example 2227 or 32610 (--map-crs on the command line)")
            err.file, err.sheet = label, layer
            raise err
        try:
            frame = frame.set_crs(pyproj.CRS.from_user_input(crs))
        except pyproj.exceptions.CRSError:
            raise InputError(f"{crs!r} is not a coordinate reference system I know; give an "
                             "EPSG code such as 32610", file=label) from None
    elif crs is not None and not frame.crs.equals(pyproj.CRS.from_user_input(crs)):
        report.add("warning", f"layer {layer} has its own CRS ({frame.crs.to_string()}); it is used "
                   f"instead of the given {crs}", file=label, sheet=layer)
    if frame.crs.is_geographic and len(frame):
        minx, miny, maxx, maxy = frame.total_bounds
        if np.isfinite([minx, maxx]).all() and (min(minx, miny) < -180 or max(maxx, maxy) > 180
                                                or miny < -90 or maxy > 90):
            raise InputError(f"layer {layer} has coordinates like ({minx:.0f}, {miny:.0f}) that are "
                             "not longitudes and latitudes; give the map's projected EPSG code",
                             file=label, sheet=layer)
    return frame


def _repair(frame: gpd.GeoDataFrame, *, label: str, layer: str,
            report: ValidationReport) -> gpd.GeoDataFrame:
    """Make invalid polygons valid, keep their polygonal parts, and report each repair."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    bad = np.flatnonzero(polygonal & ~shapely.is_valid(geoms))
    if not len(bad):
        return frame
    reasons = shapely.is_valid_reason(geoms[bad])
    fixed = shapely.make_valid(geoms[bad])
    parts, index = shapely.get_parts(fixed, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)
    index = index[sub]
    keep = shapely.get_type_id(parts) == 3
    repaired = shapely.multipolygons(parts[keep], indices=index[keep])
    out = np.full(len(bad), None, dtype=object)
    out[np.unique(index[keep])] = repaired
    for j, pos in enumerate(bad):
        feature = int(frame["map_feature"].iloc[pos])
        bid = frame["building_id"].iloc[pos] if "building_id" in frame else pd.NA
        who = f" (building_id {bid})" if not pd.isna(bid) else ""
        if out[j] is None or shapely.is_empty(out[j]):
            report.add("warning", f"feature {feature}{who} in layer {layer} has an invalid polygon "
                       f"({reasons[j]}) with no area left after repair; it is not used",
                       file=label, sheet=layer, row=feature, value=None if not who else str(bid))
        else:
            report.add("warning", f"feature {feature}{who} in layer {layer} had an invalid polygon "
                       f"({reasons[j]}); repaired with make_valid, keeping its polygonal parts",
                       file=label, sheet=layer, row=feature, value=None if not who else str(bid))
    geoms = geoms.copy()
    geoms[bad] = out
    frame = frame.copy()
    frame["geometry"] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    return frame


def _dxf_prepare(frame: gpd.GeoDataFrame, *, dxf_layers: Sequence[str] | None, label: str,
                 layer: str, report: ValidationReport) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Filter DXF entities by CAD layer, close closed polylines into polygons, label footprints."""
    cad = frame["layer"].astype("string") if "layer" in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    if dxf_layers:
        wanted = {str(name).strip().lower() for name in dxf_layers}
        present = set(cad.dropna().str.lower())
        missing = sorted(wanted - present)
        if missing:
            raise InputError(f"the drawing has no CAD layer {', '.join(missing)}; its layers are "
                             + ", ".join(sorted(cad.dropna().unique())), file=label, sheet=layer)
        frame = frame[cad.str.lower().isin(wanted).to_numpy(dtype=bool, na_value=False)]
        cad = cad.loc[frame.index]
    geoms = np.asarray(frame.geometry.values, dtype=object)
    lines = shapely.get_type_id(geoms) == 1
    closed = np.zeros(len(geoms), dtype=bool)
    closed[lines] = shapely.is_closed(geoms[lines]) & (shapely.get_num_coordinates(geoms[lines]) >= 4)
    geoms = geoms.copy()
    geoms[closed] = shapely.polygons(shapely.linearrings(shapely.get_coordinates(geoms[closed]),
                                                         indices=np.repeat(np.arange(closed.sum()),
                                                                           shapely.get_num_coordinates(geoms[closed]))))
    frame = frame.copy()
    frame["geometry"] = gpd.GeoSeries(geoms, index=frame.index, crs=frame.crs)
    hints = cad.astype(object).map({name: _layer_hint(name) for name in cad.dropna().unique()})
    if dxf_layers:
        hints = hints.where(hints.notna() | ~np.isin(shapely.get_type_id(geoms), (3, 6)), "footprints")
    return frame, hints


def _label_footprints(frame: gpd.GeoDataFrame, footprints: np.ndarray, *, label: str, layer: str,
                      report: ValidationReport) -> None:
    """DXF: a footprint without building_id takes the text label drawn inside it."""
    if "text" not in frame:
        return
    texts = frame["text"].astype("string").str.strip()
    is_label = texts.notna().to_numpy() & (shapely.get_type_id(np.asarray(frame.geometry.values)) == 0)
    need = footprints & frame["building_id"].isna().to_numpy()
    if not is_label.any() or not need.any():
        return
    labels = gpd.GeoDataFrame({"label": texts[is_label].to_numpy()},
                              geometry=frame.geometry[is_label].to_numpy(), crs=frame.crs)
    polys = gpd.GeoDataFrame({"pos": np.flatnonzero(need)}, geometry=frame.geometry[need].to_numpy(),
                             crs=frame.crs)
    hits = gpd.sjoin(polys, labels, predicate="contains").drop_duplicates("pos")
    if len(hits):
        column = frame.columns.get_loc("building_id")
        frame.iloc[hits["pos"].to_numpy(), column] = hits["label"].to_numpy()
        report.add("warning", f"{len(hits)} footprint(s) in the drawing took their building_id from "
                   "the text drawn inside them: " + ", ".join(hits["label"].astype(str)[:10]),
                   file=label, sheet=layer)


def _classify(frame: gpd.GeoDataFrame, *, label: str, layer: str, fmt: Format,
              dxf_layers: Sequence[str] | None, report: ValidationReport) -> dict[str, gpd.GeoDataFrame]:
    frame = frame.copy()
    for key in ("building_id", "site_id", "room_id", "floor", *ASSET_IDS.values()):
        frame[key] = _ids(frame[key]) if key in frame else pd.Series(pd.NA, index=frame.index, dtype="string")
    hint = pd.Series(_layer_hint(layer), index=frame.index, dtype=object)
    if fmt == "dxf":
        frame, hint = _dxf_prepare(frame, dxf_layers=dxf_layers, label=label, layer=layer, report=report)
    frame = _repair(frame, label=label, layer=layer, report=report)
    geoms = np.asarray(frame.geometry.values, dtype=object)
    type_id = shapely.get_type_id(geoms)
    polygon = np.isin(type_id, (3, 6)) & ~shapely.is_empty(geoms)
    line = np.isin(type_id, (1, 2, 5))
    point = np.isin(type_id, (0, 4))
    empty = pd.isna(geoms) | shapely.is_empty(geoms)
    hint_arr = hint.to_numpy(dtype=object)
    roles = _roles(frame, hint_arr, polygon=polygon, line=line)
    _asset_points(frame, hint, hint_arr, roles, point=point)

    if fmt == "dxf":
        _label_footprints(frame, roles == "footprints", label=label, layer=layer, report=report)
    dxf_label = point & (fmt == "dxf") & (frame["text"].notna().to_numpy() if "text" in frame else False)
    unused = ~empty & pd.isna(roles) & ~dxf_label
    _report_unused(frame, roles, empty=empty, unused=unused, kinds={
        "polygon": polygon, "line": line, "point": point}, label=label, layer=layer, report=report)
    return _split_roles(frame, roles, fmt=fmt)


def _roles(frame: gpd.GeoDataFrame, hint_arr: np.ndarray, *, polygon: np.ndarray,
           line: np.ndarray) -> np.ndarray:
    """What each feature is (footprint, room, site, parking, wall; None when not known)."""
    parking_kind = np.zeros(len(frame), dtype=bool)
    for col in ("kind", "type", "use", "category"):
        if col in frame:
            values = frame[col].astype("string").map(lambda v: None if pd.isna(v) else normalise_header(v))
            parking_kind |= values.isin(_PARKING_VALUES).to_numpy(dtype=bool, na_value=False)
    has = {key: frame[key].notna().to_numpy() for key in ("building_id", "site_id", "room_id")}
    roles = np.full(len(frame), None, dtype=object)
    rest = polygon.copy()
    for role, mask in (
        ("parking", parking_kind | (hint_arr == "parking")),
        ("rooms", has["room_id"]),
        ("footprints", has["building_id"]),
        ("site_boundaries", has["site_id"]),
        ("rooms", hint_arr == "rooms"),
        ("footprints", hint_arr == "footprints"),
        ("site_boundaries", hint_arr == "site_boundaries"),
    ):
        pick = rest & mask
        roles[pick] = role
        rest &= ~pick
    wall_cols = "material" in frame
    roles[line & ((hint_arr == "walls") | has["building_id"] | wall_cols)] = "walls"
    return roles


def _asset_points(frame: gpd.GeoDataFrame, hint: pd.Series, hint_arr: np.ndarray, roles: np.ndarray,
                  *, point: np.ndarray) -> None:
    """Points with an asset id (door_id, camera_id, ...; or ``id`` in a layer named like one)."""
    asset_table = pd.Series(pd.NA, index=frame.index, dtype="string")
    asset_id = pd.Series(pd.NA, index=frame.index, dtype="string")
    for table, col in ASSET_IDS.items():
        pick = asset_table.isna() & frame[col].notna()
        asset_table[pick], asset_id[pick] = table, frame.loc[pick, col]
    if "id" in frame:  # a layer named like an asset table with a plain "id" column
        generic = _ids(frame["id"])
        pick = asset_table.isna() & generic.notna() & pd.Series(
            np.isin(hint_arr, list(ASSET_IDS)), index=frame.index)
        asset_table[pick] = hint[pick].astype("string")
        asset_id[pick] = generic[pick]
    is_asset = point & asset_table.notna().to_numpy()
    roles[is_asset] = "points"
    frame["asset_table"], frame["asset_id"] = asset_table, asset_id


def _report_unused(frame: gpd.GeoDataFrame, roles: np.ndarray, *, empty: np.ndarray,
                   unused: np.ndarray, kinds: dict[str, np.ndarray], label: str, layer: str,
                   report: ValidationReport) -> None:
    if empty.any():
        numbers = frame["map_feature"].to_numpy()[empty]
        report.add("warning", f"{int(empty.sum())} feature(s) in layer {layer} have no geometry and "
                   "are not used: feature " + ", ".join(map(str, numbers[:20])), file=label, sheet=layer)
    if unused.any():
        what = ", ".join(f"{int((m & unused).sum())} {k}(s)" for k, m in kinds.items() if (m & unused).any())
        numbers = frame["map_feature"].to_numpy()[unused]
        report.add("warning", f"{what} in layer {layer} are not used: no building_id, site_id, "
                   "room_id or asset id (door_id, camera_id, ...), and the layer's name does not "
                   "say what they are; feature " + ", ".join(map(str, numbers[:20]))
                   + (" ..." if len(numbers) > 20 else ""), file=label, sheet=layer)
    no_id = (roles == "footprints") & frame["building_id"].isna().to_numpy()
    if no_id.any():
        report.add("warning", f"{int(no_id.sum())} footprint(s) in layer {layer} have no building_id, "
                   "so they cannot be matched to the inventory: feature "
                   + ", ".join(map(str, frame["map_feature"].to_numpy()[no_id][:20])),
                   file=label, sheet=layer, column="building_id")


def _split_roles(frame: gpd.GeoDataFrame, roles: np.ndarray, *, fmt: Format) -> dict[str, gpd.GeoDataFrame]:
    """One frame per role, with its key columns, other attributes and provenance."""
    noise = [c for c in frame.columns if c in _KML_NOISE or c in ASSET_IDS.values() or c == "layer"
             and fmt != "dxf"]
    out: dict[str, gpd.GeoDataFrame] = {}
    for role in ROLES:
        mask = roles == role
        if not mask.any():
            continue
        part = frame.loc[mask].drop(columns=[c for c in noise if c not in ROLE_COLUMNS[role]])
        if role != "points":
            part = part.drop(columns=["asset_table", "asset_id"])
        if role == "points":
            part["geometry"] = part.geometry.representative_point()
        keys = list(ROLE_COLUMNS[role])
        extra = [c for c in part.columns if c not in (*keys, *SOURCE_COLUMNS, "geometry")
                 and part[c].notna().any() and c not in ("building_id", "site_id", "room_id", "floor")]
        out[role] = gpd.GeoDataFrame(part[[*keys, *extra, *SOURCE_COLUMNS, "geometry"]],
                                     geometry="geometry", crs=frame.crs)
    return out


@contextmanager
def _quiet_gdal() -> Iterator[None]:
    """GDAL complains that in-memory files lack an extension; that is by design here."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*non conformant file extension",
                                category=RuntimeWarning)
        yield


def _layer_names(content: bytes, *, label: str) -> list[str]:
    """Layer names; a single-layer file read from memory is named after the uploaded file."""
    import pyogrio

    with _quiet_gdal():
        names = [str(name) for name in pyogrio.list_layers(io.BytesIO(content))[:, 0]]
    stem = label.rsplit("/", 1)[-1].split(".", 1)[0] or "layer"
    return [stem if name.startswith("pyogrio_") else name for name in names]


def _read_layers(fmt: Format, content: bytes, *, label: str, layers: Sequence[str] | None,
                 dxf_layers: Sequence[str] | None, crs: str | int | None,
                 report: ValidationReport) -> list[dict[str, gpd.GeoDataFrame]]:
    import pyogrio

    try:
        listed = _layer_names(content, label=label)
        with _quiet_gdal():
            driver = pyogrio.read_info(io.BytesIO(content), layer=0)["driver"] if listed else None
    except Exception:  # GDAL raises several types; all mean "unreadable"
        raise _unreadable(fmt, content, label=label) from None
    if driver not in _DRIVERS[fmt]:
        raise _unreadable(fmt, content, label=label)
    chosen = list(enumerate(listed))
    if layers and fmt != "dxf":
        chosen = [(i, name) for i, name in chosen if name in set(layers)]
    results = []
    for index, layer in chosen:
        try:
            with _quiet_gdal():
                frame = pyogrio.read_dataframe(io.BytesIO(content), layer=index)
        except Exception:
            raise _unreadable(fmt, content, label=label, layer=layer) from None
        if not isinstance(frame, gpd.GeoDataFrame):
            report.add("warning", f"layer {layer} has no geometry; it is not used", file=label,
                       sheet=layer)
            continue
        if not len(frame):
            continue
        frame = _resolve_crs(frame, crs=crs, label=label, layer=layer, report=report)
        frame = _normalise_columns(frame, shapefile=fmt == "shapefile")
        frame["geometry"] = shapely.force_2d(frame.geometry.values)
        frame["map_file"] = pd.array([label] * len(frame), dtype="string")
        frame["map_layer"] = pd.array([layer] * len(frame), dtype="string")
        if fmt == "dxf" and "layer" in frame:  # name each entity's CAD layer, not GDAL's "entities"
            frame["map_layer"] = frame["layer"].astype("string").fillna(layer)
        frame["map_feature"] = pd.array(np.arange(1, len(frame) + 1), dtype="Int64")
        results.append(_classify(frame, label=label, layer=layer, fmt=fmt, dxf_layers=dxf_layers,
                                 report=report))
    return results


def cad_layers(data: bytes, *, filename: str) -> list[str]:
    """The CAD layer names of a DXF drawing, sorted; none for a map of another format.

    Read from the upload's bytes (``filename`` only names the file); what a user chooses
    ``dxf_layers`` of ``read_map`` from.

    Raises
    ------
    UploadRejected
        The upload breaks a size or zip safety limit.
    InputError
        The drawing cannot be read.
    """
    import pyogrio

    check_upload(data, filename=filename)
    names: set[str] = set()
    for fmt, content, label in _datasets(bytes(data), filename=filename, report=ValidationReport()):
        if fmt != "dxf":
            continue
        try:
            with _quiet_gdal():
                frame = pyogrio.read_dataframe(io.BytesIO(content), read_geometry=False)
        except Exception:  # GDAL raises several types; all mean "unreadable"
            raise _unreadable(fmt, content, label=label) from None
        column = next((c for c in frame.columns if str(c).lower() == "layer"), None)
        if column is not None:
            names.update(str(v) for v in frame[column].dropna().unique())
    return sorted(names)


def read_map(
    data: bytes,
    *,
    filename: str,
    crs: str | int | None = None,
    layers: Sequence[str] | None = None,
    dxf_layers: Sequence[str] | None = None,
) -> MapLayers:
    """Read a campus map upload into footprints, rooms, sites, parking, walls and asset points.

    Parameters
    ----------
    data
        The file's bytes: GeoJSON, GeoPackage, zipped Shapefile, KML, KMZ, zipped File
        Geodatabase (``.gdb.zip``) or DXF.
    filename
        The uploaded name; only chooses the format (with the first bytes) and names the file in
        messages. It is never opened.
    crs
        CRS of a map that has none (DXF usually): EPSG code or string. Maps with their own CRS
        keep it.
    layers
        Layers to read (GeoPackage, File Geodatabase, KML folders); default all.
    dxf_layers
        CAD layers to read from a DXF (case-insensitive); default those whose names say what they
        are (BLDG, PARKING, SITE, WALL ...). Closed polylines become polygons.

    Raises
    ------
    UploadRejected
        The upload breaks a size or zip safety limit.
    MissingCRSError
        A layer has no CRS and ``crs`` was not given.
    InputError
        The file is not a readable map, or a chosen layer is missing.
    """
    check_upload(data, filename=filename)
    report = ValidationReport()
    datasets = _datasets(bytes(data), filename=filename, report=report)
    parts: list[dict[str, gpd.GeoDataFrame]] = []
    for fmt, content, label in datasets:
        for result in _read_layers(fmt, content, label=label, layers=layers, dxf_layers=dxf_layers,
                                   crs=crs, report=report):
            parts.append(result)
    if layers:
        available = {n for _, content, label in datasets for n in _layer_names(content, label=label)}
        missing = [name for name in layers if name not in available]
        if missing:
            raise InputError(f"has no layer {', '.join(missing)}; its layers are "
                             + ", ".join(sorted(available)), file=filename)
    target: pyproj.CRS | None = None
    for result in parts:
        for frame in result.values():
            target = target or frame.crs
    maps = MapLayers.empty(source=filename, crs=target)
    frames = {}
    for role in ROLES:
        pieces = [r[role].to_crs(target) for r in parts if role in r]
        frames[role] = (gpd.GeoDataFrame(pd.concat(pieces, ignore_index=True), geometry="geometry",
                                         crs=target) if pieces else getattr(maps, role))
    total = sum(len(f) for f in frames.values())
    if not total:
        report.add("warning", "no usable features were found in this map", file=filename)
    return MapLayers(**frames, report=report, source=filename, crs=target)


def read_maps(
    maps: Iterable[tuple[str, bytes]],
    *,
    crs: str | int | None = None,
    layers: Sequence[str] | None = None,
    dxf_layers: Sequence[str] | None = None,
) -> MapLayers:
    """Read several ``(filename, bytes)`` maps and merge them (see ``read_map``)."""
    merged = MapLayers.empty()
    for filename, data in maps:
        merged = merged.merge(read_map(data, filename=filename, crs=crs, layers=layers,
                                       dxf_layers=dxf_layers))
    return merged
