"""The typed core every stage shares: the inventory schema, the district model and the report.

The schema (``TABLES``) is written down once here; ingest, the template workbook, the README's
format tables and the tests all read it.

Conventions of the typed tables (what ``make_district`` returns and every stage relies on):

- each table keeps its key as an ordinary column (``door_id``), unique, string dtype;
- text, id and enumeration columns have pandas ``string`` dtype (``<NA>`` when blank);
- integers ``Int64``, decimals ``float64`` (NaN when blank), yes/no ``boolean`` (``<NA>`` when
  blank: unknown, never false), dates ``datetime64[ns]`` (NaT when blank);
- ``source_row`` is the 1-based spreadsheet row (header = row 1) the record came from, so evidence
  and reports can point back at it (``<NA>`` for records made in code);
- asset tables (doors, cameras, repeaters, aeds, equipment) are GeoDataFrames of points in the
  district's metric CRS, with ``located`` True when the point came from coordinates and False when
  the asset was placed at its room or building (then it counts, but draws no coverage geometry);
  geometry is None when neither is known;
- ``buildings.geometry`` is the footprint polygon (None when no map gives one), ``rooms.geometry``
  the room polygon from floor plans (usually None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from facility_planner import settings

ColumnKind = Literal["id", "ref", "text", "int", "float", "bool", "enum", "date", "lon", "lat", "x", "y"]
Severity = Literal["error", "warning"]

ROOM_TYPES = ("classroom", "office", "gym", "cafeteria", "library", "locker_room", "auditorium",
              "corridor", "other")
DOOR_ROLES = ("exterior_primary", "exterior_secondary", "exterior_egress", "classroom", "office",
              "interior")
EXTERIOR_DOOR_ROLES = ("exterior_primary", "exterior_secondary", "exterior_egress")
EQUIPMENT_TYPES = ("stop_the_bleed_kit", "panic_alarm", "intercom_station", "lockbox",
                   "visitor_intercom", "visitor_management", "two_way_radio",
                   "mass_notification", "secured_vestibule", "other")
PROGRAM_STATUSES = ("in_place", "in_progress", "future", "not_needed")
THREAT_LEVELS = ("low", "medium", "high")
CAMERA_MOUNTS = ("exterior", "interior")
CAMERA_STATUSES = ("working", "faulty", "offline", "planned")
REPEATER_KINDS = ("bda", "das", "psap_radio")

FEET = 0.3048
SQUARE_FEET = FEET * FEET


@dataclass(frozen=True)
class Column:
    """One column of an inventory sheet.

    ``aliases`` are other headers accepted for it (matched after ``normalise_header``);
    ``converted`` maps a header to the factor that turns its values into this column's unit
    (``{"range_ft": 0.3048}``); ``refers_to`` names the table a ``ref`` column points at.
    """

    name: str
    kind: ColumnKind
    note: str
    aliases: tuple[str, ...] = ()
    enum: tuple[str, ...] = ()
    converted: Mapping[str, float] = field(default_factory=dict)
    refers_to: str | None = None
    required: bool = False
    example: Any = None


@dataclass(frozen=True)
class Table:
    """One inventory sheet: its key column(s) and columns, in template order."""

    name: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    note: str
    geometry: Literal["point", "polygon", None] = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _location(example_lon: float | None = None, example_lat: float | None = None) -> tuple[Column, ...]:
    return (
        Column("lon", "lon", "Longitude, WGS84 decimal degrees (e.g. -77.03). Blank: placed at its room or building.",
               aliases=("longitude", "long", "lng"), example=example_lon),
        Column("lat", "lat", "Latitude, WGS84 decimal degrees (e.g. 38.89).", aliases=("latitude",), example=example_lat),
        Column("x", "x", "Easting in the campus map's CRS (instead of lon/lat).", aliases=("easting",)),
        Column("y", "y", "Northing in the campus map's CRS.", aliases=("northing",)),
    )


_YES_NO = "Yes/no: Y/N, yes/no, true/false, 1/0, x/blank. Blank means unknown."

TABLES: dict[str, Table] = {t.name: t for t in (
    Table("sites", ("site_id",), note="One row per school campus.", columns=(
        Column("site_id", "id", "Unique campus code.", aliases=("site", "site_code", "campus_id", "school_id"), required=True, example="ES-01"),
        Column("name", "text", "School name.", aliases=("site_name", "school", "school_name"), example="Maple Elementary"),
        Column("district", "text", "School district.", example="Sample USD"),
        Column("address", "text", "Street address.", example="100 Main St"),
        Column("grades", "text", "Grades served, e.g. K-5.", example="K-5"),
        Column("enrollment", "int", "Students enrolled.", aliases=("students",), example=450),
        Column("staff", "int", "Staff on site.", example=40),
        Column("threat_level", "enum", "Threat level from the site's assessment: low, medium or high.", aliases=("threat",), enum=THREAT_LEVELS, example="medium"),
        Column("last_assessment", "date", "Date of the last comprehensive safety assessment.", aliases=("last_assessed", "assessment_date"), example="2025-08-15"),
    )),
    Table("buildings", ("building_id",), geometry="polygon", note="One row per building, portables included.", columns=(
        Column("building_id", "id", "Unique building code; matches the footprint's building_id on the map.", aliases=("building", "bldg", "bldg_id", "building_code"), required=True, example="ES-01-A"),
        Column("site_id", "ref", "Campus the building belongs to.", aliases=("site", "campus_id", "school_id"), refers_to="sites", required=True, example="ES-01"),
        Column("name", "text", "Building name.", aliases=("building_name",), example="Main building"),
        Column("building_number", "text", "Number posted on the building for responders; blank = not numbered.", aliases=("bldg_no", "building_no", "posted_number"), example="1"),
        Column("year_built", "int", "Year built.", aliases=("built",), example=1968),
        Column("floors", "int", "Floors above ground.", aliases=("stories", "storeys"), example=1),
        Column("gross_area", "float", "Gross floor area, square metres (or a gross_area_sqft column in square feet).", aliases=("area_m2", "gross_area_m2"), converted={"gross_area_sqft": SQUARE_FEET, "area_sqft": SQUARE_FEET, "gross_area_sq_ft": SQUARE_FEET, "sq_ft": SQUARE_FEET}, example=4200.0),
        Column("occupancy", "int", "Peak number of people in the building.", aliases=("occupants", "peak_occupancy"), example=480),
        Column("use", "text", "Main use: classroom, portable, gym, office, ...", aliases=("building_use", "type"), example="classroom"),
        *_location(),
    )),
    Table("rooms", ("room_id",), geometry="polygon", note="Rooms: classrooms, offices and large spaces.", columns=(
        Column("room_id", "id", "Unique room code.", aliases=("room",), required=True, example="ES-01-A-101"),
        Column("building_id", "ref", "Building the room is in.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", required=True, example="ES-01-A"),
        Column("room_number", "text", "Number posted at the room.", aliases=("room_no", "number"), example="101"),
        Column("room_type", "enum", "What the room is used as.", aliases=("type", "use"), enum=ROOM_TYPES, example="classroom"),
        Column("floor", "int", "Floor (1 = ground).", aliases=("level", "storey"), example=1),
        Column("capacity", "int", "Occupant capacity.", example=28),
        Column("hard_corner", "bool", "Has a secure, uncluttered hard corner out of sight of the door. " + _YES_NO, aliases=("hard_corner_ok",), example="Y"),
        Column("two_way_comm", "bool", "Has two-way emergency communication with the office. " + _YES_NO, aliases=("two_way", "intercom", "two_way_communication"), example="Y"),
        Column("windows", "bool", "Has windows to the outside. " + _YES_NO, aliases=("has_windows",), example="Y"),
        Column("window_covering", "bool", "Windows have quick-deploy coverings. " + _YES_NO, aliases=("window_coverings", "blinds"), example="N"),
        *_location(),
    )),
    Table("doors", ("door_id",), geometry="point", note="Every exterior door and every classroom and office door.", columns=(
        Column("door_id", "id", "Unique door code.", aliases=("door", "door_no"), required=True, example="ES-01-A-D01"),
        Column("building_id", "ref", "Building the door is in.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", required=True, example="ES-01-A"),
        Column("room_id", "ref", "Room the door opens (classroom and office doors).", aliases=("room",), refers_to="rooms", example="ES-01-A-101"),
        Column("role", "enum", "Door role.", aliases=("door_type", "type"), enum=DOOR_ROLES, example="classroom"),
        Column("lock_from_inside", "bool", "Lockable from inside the room without stepping out. " + _YES_NO, aliases=("inside_lock", "lockable_inside", "classroom_function_lock"), example="Y"),
        Column("remote_lock", "bool", "Can be locked remotely (lockdown). " + _YES_NO, aliases=("remote_lockdown",), example="N"),
        Column("access_control", "bool", "Electronic access control (card/fob reader). " + _YES_NO, aliases=("card_reader", "acs"), example="N"),
        Column("has_glass", "bool", "Door or sidelight has glass. " + _YES_NO, aliases=("glass", "vision_panel"), example="Y"),
        Column("glass_covering", "bool", "Glass has a removable covering. " + _YES_NO, aliases=("glass_cover", "vision_panel_cover"), example="N"),
        Column("numbered", "bool", "Door carries a number visible to responders. " + _YES_NO, aliases=("door_numbered", "numbering"), example="Y"),
        Column("position_monitored", "bool", "Door position switch reports open/closed. " + _YES_NO, aliases=("door_position", "dps", "monitored"), example="N"),
        *_location(-77.03650, 38.89770),
    )),
    Table("cameras", ("camera_id",), geometry="point", note="Video surveillance cameras.", columns=(
        Column("camera_id", "id", "Unique camera code.", aliases=("camera", "cam_id"), required=True, example="ES-01-C01"),
        Column("building_id", "ref", "Building the camera is mounted on or in.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", example="ES-01-A"),
        Column("mount", "enum", "exterior or interior.", aliases=("location_type", "placement"), enum=CAMERA_MOUNTS, example="exterior"),
        *_location(-77.03655, 38.89775),
        Column("heading_deg", "float", "Direction the camera faces, degrees clockwise from north.", aliases=("heading", "azimuth", "bearing"), example=180.0),
        Column("hfov_deg", "float", "Horizontal field of view, degrees.", aliases=("hfov", "fov", "fov_deg"), example=90.0),
        Column("range_m", "float", "Useful range, metres (or range_ft in feet). Blank: derived from resolution.", aliases=("range",), converted={"range_ft": FEET}, example=30.0),
        Column("resolution_px", "int", "Horizontal resolution in pixels.", aliases=("resolution", "horizontal_px", "width_px"), example=1920),
        Column("recording_days", "int", "Days of video retained.", aliases=("retention_days", "retention"), example=30),
        Column("status", "enum", "working, faulty, offline or planned.", enum=CAMERA_STATUSES, example="working"),
    )),
    Table("repeaters", ("repeater_id",), geometry="point", note="Responder radio: BDA/DAS repeaters and PSAP-linked radios.", columns=(
        Column("repeater_id", "id", "Unique code.", aliases=("repeater",), required=True, example="ES-01-R01"),
        Column("building_id", "ref", "Building served.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", required=True, example="ES-01-A"),
        *_location(-77.03640, 38.89760),
        Column("kind", "enum", "bda, das or psap_radio.", aliases=("type",), enum=REPEATER_KINDS, example="bda"),
        Column("range_m", "float", "Rated range, metres (or range_ft).", aliases=("range",), converted={"range_ft": FEET}, example=60.0),
        Column("psap_linked", "bool", "Linked directly to the 911 centre (PSAP). " + _YES_NO, aliases=("psap", "linked_to_911"), example="Y"),
    )),
    Table("aeds", ("aed_id",), geometry="point", note="Automated external defibrillators.", columns=(
        Column("aed_id", "id", "Unique code.", aliases=("aed",), required=True, example="ES-01-AED1"),
        Column("building_id", "ref", "Building.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", required=True, example="ES-01-A"),
        Column("room_id", "ref", "Room or corridor it hangs in.", aliases=("room",), refers_to="rooms"),
        *_location(-77.03645, 38.89765),
        Column("cabinet_alarmed", "bool", "Cabinet has an alarm. " + _YES_NO, aliases=("alarmed_cabinet",), example="Y"),
        Column("pads_expiry", "date", "Pads expiry date.", aliases=("pad_expiry", "pads_expire"), example="2027-03-01"),
        Column("battery_expiry", "date", "Battery expiry date.", aliases=("battery_expire",), example="2028-01-01"),
        Column("accessible_24_7", "bool", "Reachable at all hours. " + _YES_NO, aliases=("accessible_247", "24_7"), example="N"),
    )),
    Table("equipment", ("equipment_id",), geometry="point", note="Other safety equipment: kits, panic alarms, intercoms, lockboxes.", columns=(
        Column("equipment_id", "id", "Unique code.", aliases=("equipment", "item_id", "asset_id"), required=True, example="ES-01-K1"),
        Column("building_id", "ref", "Building.", aliases=("building", "bldg", "bldg_id"), refers_to="buildings", required=True, example="ES-01-A"),
        Column("room_id", "ref", "Room.", aliases=("room",), refers_to="rooms"),
        Column("type", "enum", "What it is.", aliases=("equipment_type", "kind", "item"), enum=EQUIPMENT_TYPES, example="stop_the_bleed_kit"),
        *_location(-77.03648, 38.89768),
    )),
    Table("programs", ("site_id", "action"), note="Status of each of the Ten Essential Actions per campus.", columns=(
        Column("site_id", "ref", "Campus.", aliases=("site", "campus_id", "school_id"), refers_to="sites", required=True, example="ES-01"),
        Column("action", "int", "Essential Action number, 1-10.", aliases=("action_no", "essential_action"), required=True, example=1),
        Column("status", "enum", "in_place, in_progress, future or not_needed.", enum=PROGRAM_STATUSES, example="in_place"),
        Column("last_reviewed", "date", "Date last reviewed.", aliases=("reviewed", "review_date"), example="2025-08-15"),
    )),
    Table("checklist", ("site_id", "rule_id", "building_id"), note="Answers to criteria no inventory can show (PASS checklist).", columns=(
        Column("site_id", "ref", "Campus.", aliases=("site", "campus_id"), refers_to="sites", required=True, example="ES-01"),
        Column("rule_id", "text", "Rule id from a rules pack.", aliases=("rule", "criterion"), required=True, example="PASS-DW-PP-1"),
        Column("building_id", "ref", "Building, when the answer is for one building only.", aliases=("building",), refers_to="buildings"),
        Column("status", "enum", "in_place, in_progress, future or not_needed.", enum=PROGRAM_STATUSES, example="in_place"),
        Column("note", "text", "Who answered, and how they know.", aliases=("comment", "notes")),
    )),
)}

ASSET_TABLES = ("doors", "cameras", "repeaters", "aeds", "equipment")
_DTYPES: dict[str, str] = {
    "id": "string", "ref": "string", "text": "string", "enum": "string", "int": "Int64",
    "float": "float64", "lon": "float64", "lat": "float64", "x": "float64", "y": "float64",
    "bool": "boolean", "date": "datetime64[ns]",
}


def normalise_header(header: object) -> str:
    """Fold a header for matching: ``"Door #"`` -> ``"door_number"``, ``" Range (ft) "`` -> ``"range_ft"``."""
    text = str(header).strip().lower().replace("#", " number ")
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def empty_table(name: str) -> pd.DataFrame:
    """An empty typed frame with the schema's columns plus ``source_row``."""
    table = TABLES[name]
    frame = pd.DataFrame({c.name: pd.Series(dtype=_DTYPES[c.kind]) for c in table.columns})
    frame["source_row"] = pd.Series(dtype="Int64")
    return frame


def coerce_table(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    """Give a frame every schema column with the schema's dtype (extra columns are kept).

    Values must already be clean (ingest parses and reports); this only fills and casts.
    """
    table = TABLES[name]
    out = pd.DataFrame(index=range(0 if frame is None else len(frame)))
    frame = pd.DataFrame() if frame is None else frame.reset_index(drop=True)
    for col in table.columns:
        dtype = _DTYPES[col.kind]
        if col.name in frame:
            values = frame[col.name]
            if col.kind == "date":
                out[col.name] = pd.to_datetime(values, errors="coerce").astype("datetime64[ns]")
            elif col.kind == "bool":
                out[col.name] = values.astype("boolean")
            else:
                out[col.name] = values.astype(dtype)
        else:
            out[col.name] = pd.Series([pd.NA] * len(out) if dtype != "float64" else np.nan,
                                      index=out.index, dtype=dtype)
    out["source_row"] = frame["source_row"].astype("Int64") if "source_row" in frame else pd.array([pd.NA] * len(out), dtype="Int64")
    for extra in frame.columns:
        if extra not in out and extra != "geometry":
            out[extra] = frame[extra].values
    return out


@dataclass(frozen=True)
class Problem:
    """One row of the validation report: where, how bad, and a sentence a facilities manager reads."""

    severity: Severity
    message: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"severity": self.severity, "file": self.file, "sheet": self.sheet, "row": self.row,
                "column": self.column, "value": self.value, "message": self.message}


@dataclass
class ValidationReport:
    """Every problem found while reading, and every row that could not be used (kept, not dropped).

    ``rejected`` maps a sheet name to its unusable rows as read (strings), with ``source_row`` and
    ``reason`` columns, so they can be shown, exported and fixed.
    """

    problems: list[Problem] = field(default_factory=list)
    rejected: dict[str, pd.DataFrame] = field(default_factory=dict)

    def add(self, severity: Severity, message: str, **where: Any) -> None:
        self.problems.append(Problem(severity, message, **where))

    def reject(self, sheet: str, raw_row: Mapping[str, Any], *, source_row: int | None, reason: str) -> None:
        record = {k: (None if v is None else str(v)) for k, v in raw_row.items()}
        record.update(source_row=source_row, reason=reason)
        frame = pd.DataFrame([record])
        self.rejected[sheet] = pd.concat([self.rejected[sheet], frame], ignore_index=True) if sheet in self.rejected else frame

    def extend(self, other: ValidationReport) -> None:
        self.problems.extend(other.problems)
        for sheet, rows in other.rejected.items():
            self.rejected[sheet] = pd.concat([self.rejected[sheet], rows], ignore_index=True) if sheet in self.rejected else rows

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def rejected_count(self) -> int:
        return sum(len(rows) for rows in self.rejected.values())

    def to_frame(self) -> pd.DataFrame:
        columns = ["severity", "file", "sheet", "row", "column", "value", "message"]
        return pd.DataFrame([p.as_dict() for p in self.problems], columns=columns)

    def rejected_frame(self) -> pd.DataFrame:
        """All rejected rows in one frame with a ``sheet`` column."""
        if not self.rejected:
            return pd.DataFrame(columns=["sheet", "source_row", "reason"])
        return pd.concat([rows.assign(sheet=sheet) for sheet, rows in self.rejected.items()], ignore_index=True)


@dataclass
class District:
    """A district's inventory and maps as typed tables in one metric CRS (see module docstring)."""

    sites: pd.DataFrame
    buildings: gpd.GeoDataFrame
    rooms: gpd.GeoDataFrame
    doors: gpd.GeoDataFrame
    cameras: gpd.GeoDataFrame
    repeaters: gpd.GeoDataFrame
    aeds: gpd.GeoDataFrame
    equipment: gpd.GeoDataFrame
    programs: pd.DataFrame
    checklist: pd.DataFrame
    site_boundaries: gpd.GeoDataFrame
    parking: gpd.GeoDataFrame
    walls: gpd.GeoDataFrame
    crs: str

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def building_ids(self) -> pd.Index:
        return pd.Index(self.buildings["building_id"], name="building_id")

    def subset(self, site_ids: Iterable[str], *, building_ids: Iterable[str] = ()) -> District:
        """The part of the district on ``site_ids``: every table filtered by site or building.

        Buildings on those sites (plus any in ``building_ids``, e.g. ones with no site) and the
        rows of every building-keyed table on them; sites, programs, checklist answers, site
        boundaries and parking of those sites. Rows keep their order; indexes are renumbered.
        """
        sites = pd.array(list(site_ids), dtype="string")
        extra = pd.array(list(building_ids), dtype="string")

        def pick(frame: pd.DataFrame, column: str, keys: Any) -> Any:
            mask = frame[column].astype("string").isin(keys).fillna(False).to_numpy(dtype=bool)
            return frame[mask].reset_index(drop=True)

        b = self.buildings
        on_site = b["site_id"].astype("string").isin(sites).fillna(False)
        chosen = (on_site | b["building_id"].astype("string").isin(extra).fillna(False)).to_numpy(dtype=bool)
        buildings = b[chosen].reset_index(drop=True)
        kept = buildings["building_id"].astype("string").to_numpy()
        by_building = {name: pick(getattr(self, name), "building_id", kept)
                       for name in ("rooms", "doors", "cameras", "repeaters", "aeds", "equipment", "walls")}
        by_site = {name: pick(getattr(self, name), "site_id", sites)
                   for name in ("sites", "programs", "checklist", "site_boundaries", "parking")}
        return District(buildings=buildings, crs=self.crs, **by_building, **by_site)


@dataclass
class FactTable:
    """Facts measured in code, one row per building (or site), one column per fact.

    ``values``: index ``building_id`` (or ``site_id``), float columns; NaN means unknown
    (data missing), never zero. ``evidence``: same index and columns, each cell a list of strings
    naming what fell short (door ids, room ids, "no panic alarm recorded"), empty when nothing did.
    ``subjects``: same index and columns, the number of things the fact is about (doors,
    classrooms, m² of floor); 0 means the rule is not applicable there.
    """

    values: pd.DataFrame
    evidence: pd.DataFrame
    subjects: pd.DataFrame

    def join(self, other: FactTable) -> FactTable:
        """Add the columns of ``other`` (same index), replacing any of the same name."""
        def merged(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
            return a.drop(columns=[c for c in b.columns if c in a.columns]).join(b, how="left")
        return FactTable(merged(self.values, other.values), merged(self.evidence, other.evidence),
                         merged(self.subjects, other.subjects))


def _empty_geo(columns: list[str], crs: str) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: pd.Series(dtype="string") for c in columns}, geometry=gpd.GeoSeries([], crs=crs), crs=crs)


def choose_metric_crs(lon: np.ndarray, lat: np.ndarray) -> str:
    """The UTM zone (WGS84) of the median location: metres, small distortion over a district."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return "EPSG:3857"
    mlon, mlat = float(np.median(lon[ok])), float(np.median(lat[ok]))
    zone = int((mlon + 180) // 6) % 60 + 1
    return f"EPSG:{32600 + zone if mlat >= 0 else 32700 + zone}"


def make_district(
    tables: Mapping[str, pd.DataFrame | None],
    *,
    footprints: gpd.GeoDataFrame | None = None,
    rooms_geometry: gpd.GeoDataFrame | None = None,
    site_boundaries: gpd.GeoDataFrame | None = None,
    parking: gpd.GeoDataFrame | None = None,
    walls: gpd.GeoDataFrame | None = None,
    crs: str | int | None = None,
    map_crs: str | None = None,
) -> District:
    """Assemble a ``District`` from clean tables and optional map layers.

    Parameters
    ----------
    tables
        Clean frames by sheet name (missing sheets become empty tables); columns as in ``TABLES``.
    footprints, rooms_geometry, site_boundaries, parking, walls
        Map layers in any CRS, keyed by ``building_id``, ``room_id``, ``site_id``, ``site_id`` and
        ``building_id`` (walls may also carry ``floor``, ``material``, ``loss_db``).
    crs
        Metric CRS for the analysis (EPSG code or string). Default: the UTM zone of the data.
    map_crs
        CRS of ``x``/``y`` columns in the tables; default: the footprints' CRS.
    """
    typed = {name: coerce_table(name, tables.get(name)) for name in TABLES}
    layers = {"footprints": footprints, "rooms": rooms_geometry, "site_boundaries": site_boundaries,
              "parking": parking, "walls": walls}
    if map_crs is None and footprints is not None and footprints.crs is not None:
        map_crs = footprints.crs.to_string()

    if crs is None:
        lon_parts, lat_parts = [], []
        for name in (*ASSET_TABLES, "buildings", "rooms"):
            lon_parts.append(typed[name]["lon"].to_numpy(dtype=float))
            lat_parts.append(typed[name]["lat"].to_numpy(dtype=float))
        for layer in layers.values():
            if layer is not None and len(layer) and layer.crs is not None:
                centroid = layer.to_crs(settings.lonlat_crs).geometry.representative_point()
                lon_parts.append(centroid.x.to_numpy())
                lat_parts.append(centroid.y.to_numpy())
        crs = choose_metric_crs(np.concatenate(lon_parts), np.concatenate(lat_parts))
    crs = crs if isinstance(crs, str) else f"EPSG:{crs}"

    def located_points(frame: pd.DataFrame) -> gpd.GeoSeries:
        lon, lat = frame["lon"].to_numpy(dtype=float), frame["lat"].to_numpy(dtype=float)
        x, y = frame["x"].to_numpy(dtype=float), frame["y"].to_numpy(dtype=float)
        has_ll = np.isfinite(lon) & np.isfinite(lat)
        points = gpd.GeoSeries(shapely.points(np.where(has_ll, lon, np.nan), np.where(has_ll, lat, np.nan)),
                               crs=settings.lonlat_crs).to_crs(crs)
        has_xy = ~has_ll & np.isfinite(x) & np.isfinite(y)
        if has_xy.any() and map_crs is not None:
            xy = gpd.GeoSeries(shapely.points(x[has_xy], y[has_xy]), crs=map_crs).to_crs(crs)
            values = points.values.copy()
            values[has_xy] = xy.values
            points = gpd.GeoSeries(values, crs=crs)
        geoms = points.values
        geoms[shapely.is_empty(geoms) | ~(has_ll | (has_xy if map_crs is not None else False))] = None
        return gpd.GeoSeries(geoms, crs=crs, index=frame.index)

    def to_metric(layer: gpd.GeoDataFrame | None, key: str, columns: tuple[str, ...] = ()) -> gpd.GeoDataFrame:
        if layer is None or not len(layer):
            return _empty_geo([key, *columns], crs)
        out = layer.to_crs(crs) if layer.crs is not None else layer.set_crs(crs)
        out = out.copy()
        out[key] = out[key].astype("string")
        return out.reset_index(drop=True)

    fp = to_metric(footprints, "building_id")
    buildings = typed["buildings"]
    shapes = fp.dissolve(by="building_id").geometry if len(fp) else gpd.GeoSeries([], crs=crs)
    building_geom = buildings["building_id"].map(shapes.to_dict()) if len(shapes) else pd.Series([None] * len(buildings))
    building_pts = located_points(buildings)
    buildings_gdf = gpd.GeoDataFrame(buildings, geometry=gpd.GeoSeries(building_geom.astype(object).values, crs=crs), crs=crs)
    buildings_gdf["has_footprint"] = buildings_gdf.geometry.notna() & ~buildings_gdf.geometry.is_empty
    anchor = buildings_gdf.geometry.representative_point()
    anchor = gpd.GeoSeries(np.where(buildings_gdf["has_footprint"], anchor.values, building_pts.values), crs=crs)
    building_anchor = dict(zip(buildings_gdf["building_id"], anchor.values, strict=True))

    rg = to_metric(rooms_geometry, "room_id")
    rooms = typed["rooms"]
    room_shapes = rg.dissolve(by="room_id").geometry.to_dict() if len(rg) else {}
    rooms_gdf = gpd.GeoDataFrame(rooms, geometry=gpd.GeoSeries(rooms["room_id"].map(room_shapes).astype(object).values if room_shapes else [None] * len(rooms), crs=crs), crs=crs)
    room_pts = located_points(rooms)
    room_anchor_geom = np.where(rooms_gdf.geometry.notna(), rooms_gdf.geometry.representative_point().values, room_pts.values)
    room_anchor_geom = np.where(pd.isna(room_anchor_geom), rooms["building_id"].map(building_anchor).values, room_anchor_geom)
    room_anchor = dict(zip(rooms["room_id"], room_anchor_geom, strict=True))

    assets: dict[str, gpd.GeoDataFrame] = {}
    for name in ASSET_TABLES:
        frame = typed[name]
        points = located_points(frame)
        located = points.notna().to_numpy()
        fallback = np.array([None] * len(frame), dtype=object)
        if "room_id" in frame:
            fallback = frame["room_id"].map(room_anchor).to_numpy(dtype=object).copy()
        missing = pd.isna(fallback)
        fallback[missing] = frame["building_id"].map(building_anchor).to_numpy(dtype=object)[missing]
        geoms = np.where(located, points.values, fallback)
        gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs, index=frame.index), crs=crs)
        gdf["located"] = pd.array(located, dtype="boolean")
        assets[name] = gdf

    return District(
        sites=typed["sites"], buildings=buildings_gdf, rooms=rooms_gdf, programs=typed["programs"],
        checklist=typed["checklist"], site_boundaries=to_metric(site_boundaries, "site_id"),
        parking=to_metric(parking, "site_id"), walls=to_metric(walls, "building_id", ("floor", "material")),
        crs=crs, **assets,
    )


def schema_markdown() -> str:
    """The inventory format as Markdown tables (``docs/inventory-format.md`` is this, verbatim)."""
    lines = ["# Inventory format", "",
             "Generated from `facility_planner.model.TABLES` (the one place the schema is written); "
             "`tests/test_docs.py` keeps this file in step.", "",
             "One workbook with a sheet per table, or a folder of CSV files named like the sheets "
             "(`doors.csv`). Headers are matched ignoring case, spaces and punctuation, with the "
             "aliases below. " + _YES_NO + " Dates as ISO (2025-08-15), US (8/15/2025) or Excel "
             "dates. Lengths in metres, or feet where the header says so (`range_ft`). Locations as "
             "`lon`/`lat` (WGS84), or `x`/`y` in the campus map's CRS, or blank: the asset is then "
             "placed at its room or building and counted, but draws no coverage geometry.", ""]
    for t in TABLES.values():
        lines += [f"## {t.name}", "", f"Key: `{' + '.join(t.key)}`. {t.note}", "",
                  "| column | kind | other accepted headers | meaning |", "|---|---|---|---|"]
        for c in t.columns:
            kind = c.kind
            if c.enum:
                kind += " (" + ", ".join(c.enum) + ")"
            if c.refers_to:
                kind += f" → {c.refers_to}"
            if c.required:
                kind += ", **required**"
            headers = ", ".join(f"`{a}`" for a in (*c.aliases, *c.converted))
            lines.append(f"| `{c.name}` | {kind} | {headers} | {c.note.replace('|', '/')} |")
        lines.append("")
    return "\n".join(lines)
