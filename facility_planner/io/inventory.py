"""Read an inventory (one workbook, or CSV files named like its sheets) into clean typed tables.

Every value is read as text and parsed here, column by column, so that each problem can be
reported with its file, sheet, row, column, the value found and what was expected. Unusable rows
(no key, duplicate key, unknown building, ...) are set aside in the report, never dropped.
"""

from __future__ import annotations

import datetime as dt
import difflib
import io
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from facility_planner import settings
from facility_planner.errors import InputError
from facility_planner.io.uploads import check_size, check_upload, inspect_zip
from facility_planner.model import (
    TABLES,
    Column,
    Severity,
    Table,
    ValidationReport,
    coerce_table,
    empty_table,
    normalise_header,
)

__all__ = ["read_inventory", "WORKBOOK_SUFFIXES", "CSV_SUFFIXES"]

WORKBOOK_SUFFIXES = (".xlsx", ".xlsm", ".xls", ".xlsb", ".ods")
CSV_SUFFIXES = (".csv", ".txt", ".tsv")
REQUIRED_SHEETS = ("sites", "buildings")

#: Other sheet (or CSV file) names accepted for each table, after ``normalise_header``.
SHEET_ALIASES: dict[str, tuple[str, ...]] = {
    "sites": ("site", "schools", "school", "campuses", "campus"),
    "buildings": ("building", "bldgs", "bldg"),
    "rooms": ("room",),
    "doors": ("door",),
    "cameras": ("camera", "cctv", "video_cameras"),
    "repeaters": ("repeater", "radio", "radios", "responder_radio"),
    "aeds": ("aed", "defibrillators"),
    "equipment": ("equipments", "safety_equipment"),
    "programs": ("program", "actions", "essential_actions", "ten_essential_actions"),
    "checklist": ("checklists", "pass_checklist"),
}
#: Sheets the template (or a district) keeps for people, not data: skipped without a word.
_PEOPLE_SHEETS = {"readme", "read_me", "how_to_fill", "how_to_fill_in", "instructions", "help",
                  "notes", "lists", "about"}

_TRUE = ("y", "yes", "true", "t", "1", "x", "✓", "✔")
_FALSE = ("n", "no", "false", "f", "0")
_BOOL = {**dict.fromkeys(_TRUE, True), **dict.fromkeys(_FALSE, False)}
#: Written in a cell to say "not known": read as unknown without complaint (not for ids or text).
_UNKNOWN = {"unknown", "unk", "?", "n/a", "na", "tbd", "not known", "-", "--"}

#: Plausible ranges; a value outside is reported and left unknown.
_RANGES: dict[str, tuple[float, float]] = {
    "enrollment": (0, 100_000), "staff": (0, 100_000), "year_built": (1700, 2100),
    "floors": (0, 200), "gross_area": (0, 10_000_000), "occupancy": (0, 100_000),
    "floor": (-10, 200), "capacity": (0, 100_000), "heading_deg": (-360, 360),
    "hfov_deg": (1, 360), "range_m": (0, 100_000), "resolution_px": (1, 100_000),
    "recording_days": (0, 10_000), "action": (1, 10),
}
#: Names for enumeration columns in messages ("is not a valid door role").
_ENUM_NOUNS = {("doors", "role"): "door role", ("rooms", "room_type"): "room type",
               ("sites", "threat_level"): "threat level", ("cameras", "mount"): "camera mount",
               ("cameras", "status"): "camera status", ("repeaters", "kind"): "repeater kind",
               ("equipment", "type"): "equipment type", ("programs", "status"): "status",
               ("checklist", "status"): "status"}
_EXPECTED = {
    "bool": "yes or no (Y/N, yes/no, true/false, 1/0, or x/blank)",
    "int": "a whole number",
    "float": "a number",
    "date": "a date such as 2025-08-15 or 8/15/2025",
    "lon": "a longitude in decimal degrees, e.g. -77.03",
    "lat": "a latitude in decimal degrees, e.g. 38.89",
    "x": "a number (easting in the map's coordinates)",
    "y": "a number (northing in the map's coordinates)",
}
_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


# ----------------------------------------------------------------------------------------------
# Sources: bytes, paths and uploads -> raw sheets of text cells


@dataclass
class _RawSheet:
    """One sheet or CSV file as read: columns of cells (any Python type), not yet parsed."""

    file: str | None
    name: str                       # sheet name as written, or the CSV's file name
    is_csv: bool
    columns: list[pd.Series]        # one per spreadsheet column, all the same length
    table: str | None = None
    warnings: list[str] = field(default_factory=list)   # said once the sheet is known

    @property
    def where(self) -> str:
        return f'File "{self.name}"' if self.is_csv else f'Sheet "{self.name}"'


@dataclass
class _Context:
    """What later tables need from earlier ones, and the report being written."""

    report: ValidationReport
    kept_keys: dict[str, pd.Index] = field(default_factory=dict)
    rejected_keys: dict[str, dict[str, int]] = field(default_factory=dict)
    unusable: dict[str, str] = field(default_factory=dict)   # table -> why it could not be read
    room_building: dict[str, str] = field(default_factory=dict)
    building_site: dict[str, str] = field(default_factory=dict)
    sheets: dict[str, _RawSheet] = field(default_factory=dict)
    originals: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> column -> header


def read_inventory(
    source: bytes | str | os.PathLike[str] | Mapping[str, bytes],
    *,
    filename: str | None = None,
) -> tuple[dict[str, pd.DataFrame], ValidationReport]:
    """Read and validate an inventory workbook or CSV files.

    Parameters
    ----------
    source
        Bytes of a workbook (.xlsx; .xls/.ods also read), a path to a workbook, to one CSV or to a
        folder of CSV files named like the sheets (``doors.csv``), or a mapping of file names to
        bytes (uploaded CSV files, or a workbook).
    filename
        Name of the file ``source`` bytes came from, used in messages (and to tell a CSV from a
        workbook).

    Returns
    -------
    tables, report
        One clean frame per table of ``TABLES`` (empty when the sheet is absent), with schema
        columns, schema dtypes and ``source_row``; and every problem found, with the rows that
        could not be used (``report.rejected``).

    Raises
    ------
    InputError
        When the source as a whole cannot be read (not a workbook or CSV, no inventory sheet).
    UploadRejected
        When a file breaks a size or zip-content limit.
    """
    files = _source_files(source, filename=filename)
    report = ValidationReport()
    context = _Context(report=report)
    for sheet in _raw_sheets(files):
        _assign_table(sheet, context)
    if not context.sheets:
        names = ", ".join(TABLES)
        raise InputError(f"No inventory sheet found. Name the sheets (or CSV files) {names}.",
                         file=filename or _first_name(files))
    for name in REQUIRED_SHEETS:
        if name not in context.sheets:
            context.unusable[name] = f"there is no {name} sheet"
            report.add("error", f'The inventory has no "{name}" sheet (or {name}.csv file); it is '
                       f"required, so rows that refer to {name} cannot be used.",
                       file=filename or _first_name(files), sheet=name)
    tables: dict[str, pd.DataFrame] = {}
    for name, table in TABLES.items():
        raw = context.sheets.get(name)
        tables[name] = empty_table(name) if raw is None else _read_table(raw, table, context)
    _check_locations(tables, context)
    order = {name: i for i, name in enumerate(TABLES)}
    report.problems.sort(key=lambda p: (order.get(p.sheet or "", -1), p.row or 0))
    return {name: coerce_table(name, frame) for name, frame in tables.items()}, report


def _first_name(files: list[tuple[str | None, bytes]]) -> str | None:
    return files[0][0] if files else None


def _source_files(source: object, *, filename: str | None) -> list[tuple[str | None, bytes]]:
    if isinstance(source, bytes | bytearray | memoryview):
        files = [(filename, bytes(source))]
    elif isinstance(source, Mapping):
        files = [(str(name), bytes(data)) for name, data in source.items()]
    elif isinstance(source, str | os.PathLike):
        files = _path_files(Path(source))
    else:
        raise InputError(f"Cannot read an inventory from a {type(source).__name__}.")
    for name, data in files:
        check_upload(data, filename=name, allow_empty=True)
    return files


def _path_files(path: Path) -> list[tuple[str | None, bytes]]:
    """The files of a workbook path or of a folder of CSV files (read as bytes, size-checked)."""
    if path.is_dir():
        paths = sorted(p for p in path.iterdir() if p.is_file()
                       and p.suffix.lower() in (*CSV_SUFFIXES, *WORKBOOK_SUFFIXES)
                       and not p.name.startswith(("~$", ".")))
        if not paths:
            raise InputError("The folder holds no CSV files or workbooks: put the inventory's CSV "
                             "files (sites.csv, buildings.csv, doors.csv, ...) in it, or give one "
                             "workbook.", file=path.name)
    elif path.is_file():
        if path.suffix.lower() in CSV_SUFFIXES:
            table = _table_for(path.name)
            what = f"the {table} table" if table else "one table"
            raise InputError(
                f"This is a single CSV file ({what}), but an inventory is a folder of CSV files "
                "named like the sheets (sites.csv, buildings.csv, doors.csv, ...) or one workbook: "
                f"give the folder that holds {path.name} and the other CSV files.", file=path.name)
        paths = [path]
    else:
        raise InputError("The file or folder does not exist.", file=path.name)
    for p in paths:
        check_size(p.stat().st_size, filename=p.name)
    return [(p.name, p.read_bytes()) for p in paths]


def _is_workbook(name: str | None, data: bytes) -> bool:
    if data[:4] == b"PK\x03\x04" or data[:8] == _OLE_MAGIC:
        return True
    if not name:
        return False
    return name.lower().endswith(WORKBOOK_SUFFIXES)


def _raw_sheets(files: list[tuple[str | None, bytes]]) -> list[_RawSheet]:
    sheets: list[_RawSheet] = []
    for name, data in files:
        if _is_workbook(name, data):
            sheets.extend(_read_workbook(data, filename=name))
        elif name is None or name.lower().endswith(CSV_SUFFIXES):
            sheets.append(_read_csv(data, filename=name or "inventory.csv"))
        else:
            looks = _looks_like(data)
            raise InputError(f"This is neither a workbook (.xlsx) nor a CSV file{looks}; an "
                             "inventory is one workbook or a folder of CSV files.", file=name)
    return sheets


def _looks_like(data: bytes) -> str:
    """What a file given as an inventory seems to be instead, for the message."""
    if data.startswith(b"SQLite format 3"):
        return " (it looks like a GeoPackage map: give maps with --map)"
    if data.lstrip()[:1] in (b"{", b"["):
        return " (it looks like a GeoJSON map: give maps with --map)"
    if data[:4] == b"%PDF":
        return " (it is a PDF: export the inventory from the spreadsheet instead)"
    return ""


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_RESAVE = "open it in Excel, LibreOffice or Google Sheets, save it again as .xlsx and use the new copy"


def _read_workbook(data: bytes, *, filename: str | None) -> list[_RawSheet]:
    from python_calamine import CalamineWorkbook

    if not data:
        raise InputError("The workbook is empty (0 bytes), so there is nothing to read; save or "
                         "export it again and use the new copy.", file=filename)
    if data[:4] == b"PK\x03\x04":
        inspect_zip(data, filename=filename, unreadable=(
            "The workbook is damaged or cut short (its zip container is incomplete, as when a "
            f"copy or download did not finish); {_RESAVE}."))
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises its own error types for every damaged file
        protected = data[:8] == _OLE_MAGIC and b"E\x00n\x00c\x00r\x00y\x00p\x00t\x00" in data[:65536]
        why = ("it is protected with a password; remove the password in Excel (File > Info > "
               "Protect Workbook) and save it again" if protected else
               "it is damaged, cut short, or another kind of file renamed like a workbook; " + _RESAVE)
        raise InputError(f"The workbook cannot be opened: {why}.", file=filename) from None
    return [_read_book_sheet(book, meta.name, filename=filename) for meta in book.sheets_metadata
            if str(meta.typ).rsplit(".", 1)[-1] in ("WorkSheet", "DialogSheet")]  # not chart sheets


def _read_book_sheet(book: Any, sheet_name: str, *, filename: str | None) -> _RawSheet:
    try:
        rows = book.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
    except Exception:
        raise InputError(f'Sheet "{sheet_name}" of the workbook is damaged: its content is cut '
                         f"short or not valid, so its rows cannot be read; {_RESAVE}.",
                         file=filename, sheet=sheet_name) from None
    width = max((len(r) for r in rows), default=0)
    rows = [r if len(r) == width else [*r, *[None] * (width - len(r))] for r in rows]
    columns = [pd.Series(np.array(col, dtype=object)) for col in zip(*rows, strict=True)] if width else []
    return _RawSheet(file=filename, name=sheet_name, is_csv=False, columns=columns)


def _decode(data: bytes, *, filename: str) -> str:
    """CSV bytes as text, in the encodings Excel writes: UTF-8 (with or without BOM), UTF-16
    ("Unicode text", with BOM), else Windows-1252."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise InputError("The file says it is UTF-16 (Unicode text) but is cut short or "
                             "damaged; save it again from Excel as CSV UTF-8 and use the new copy.",
                             file=filename) from None
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:4:2] != b"\x00\x00":
        return data.decode("utf-16-le", errors="strict")  # UTF-16 without its BOM
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")  # what Excel on Windows saves as "CSV"
    except UnicodeDecodeError:
        return data.decode("latin-1")  # every byte is a character: nothing is dropped


def _delimiter(text: str) -> str:
    """The delimiter Excel used: ``sep=`` on the first line, else the most frequent of , ; tab |
    over the first lines (notes above the header weigh little against the rows)."""
    first = text.split("\n", 1)[0].strip()
    if re.fullmatch(r"sep=.", first):
        return first[-1]
    head = text[:20_000].split("\n")[:30]
    counts = {sep: sum(line.count(sep) for line in head) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _read_csv(data: bytes, *, filename: str) -> _RawSheet:
    text = _decode(data, filename=filename)
    sep = _delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), header=None, dtype=str, keep_default_na=False,
                            na_filter=False, skip_blank_lines=False, sep=sep, engine="c")
        columns = [frame[c] for c in frame.columns]
    except pd.errors.EmptyDataError:
        columns = []
    except pd.errors.ParserError:
        # Rows of unequal length (notes above the header, ragged rows): the csv module pads.
        import csv

        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=sep))
        except csv.Error:
            raise InputError("The file cannot be read as CSV: it holds binary content, as when a "
                             "workbook, PDF or picture is renamed .csv; export the sheet from the "
                             "spreadsheet as CSV and use that.", file=filename) from None
        width = max((len(r) for r in rows), default=0)
        rows = [r + [""] * (width - len(r)) for r in rows]
        columns = [pd.Series(np.array(col, dtype=object)) for col in zip(*rows, strict=True)]
    sheet = _RawSheet(file=filename, name=filename, is_csv=True, columns=columns)
    spill = re.compile(f"\n[^\n]*{re.escape(sep)}")
    swallowed = sum(sum(1 for v in c[c.str.contains("\n", regex=False, na=False).to_numpy(bool)]
                        if spill.search(v)) for c in columns)
    if swallowed:
        sheet.warnings.append(f'{sheet.where}: {swallowed} cell(s) hold line breaks with "{sep}" in '
                              'them, as when a quote (") is not closed and the rows after it were read '
                              "into one cell; check the quotes in the file.")
    return sheet


def _table_for(name: str) -> str | None:
    key = normalise_header(Path(name).stem if name.lower().endswith(CSV_SUFFIXES) else name)
    for table, aliases in SHEET_ALIASES.items():
        if key == table or key in aliases:
            return table
    for table, aliases in SHEET_ALIASES.items():  # "district_doors.csv", "inventory - doors"
        if any(key.endswith("_" + a) for a in (table, *aliases)):
            return table
    return None


def _assign_table(sheet: _RawSheet, context: _Context) -> None:
    table = _table_for(sheet.name)
    report = context.report
    for message in sheet.warnings:
        report.add("warning", message, file=sheet.file, sheet=table or sheet.name)
    if table is None:
        if normalise_header(sheet.name) not in _PEOPLE_SHEETS and _has_data(sheet):
            report.add("warning", f'{sheet.where} is not an inventory sheet and was not read; '
                       f"inventory sheets are named {', '.join(TABLES)}.",
                       file=sheet.file, sheet=sheet.name)
        return
    if table in context.sheets:
        first = context.sheets[table]
        report.add("error", f'{sheet.where} holds {table} as well as {first.where.lower()}; '
                   f"only the first was read. Put all {table} in one sheet.",
                   file=sheet.file, sheet=table)
        return
    sheet.table = table
    context.sheets[table] = sheet


def _has_data(sheet: _RawSheet) -> bool:
    return any(_to_text(c).notna().any() for c in sheet.columns)


# ----------------------------------------------------------------------------------------------
# Cells -> text


def _to_text(values: pd.Series) -> pd.Series:
    """Cells as stripped text (``string`` dtype), ``<NA>`` when blank.

    Whole numbers print without ``.0`` (an id typed as 101 reads "101"), dates as ISO.
    """
    if values.dtype != object:
        text = values.astype("string")
    else:
        kinds = values.map(type)
        is_str = kinds.isin([str]).to_numpy()
        if is_str.all():
            text = values.astype("string")
        else:
            out = values.copy()
            is_float = kinds.isin([float]).to_numpy()
            if is_float.any():
                f = values[is_float].astype(float)
                whole = np.isfinite(f) & (f == np.round(f)) & (f.abs() < 2**53)
                printed = f.map(repr).astype(object)
                printed[~np.isfinite(f)] = None
                printed[whole] = f[whole].astype("int64").astype(str).astype(object)
                out[is_float] = printed
            other = ~(is_str | is_float)
            if other.any():
                out[other] = values[other].map(_cell_text)
            text = out.astype("string")
    text = text.str.strip()
    return text.mask(text == "")


def _isin(values: pd.Series, options: Iterable[object]) -> np.ndarray:
    """``Series.isin`` through a hash table on objects (Arrow strings take a slow path)."""
    table = pd.Index(pd.unique(np.asarray(list(options), dtype=object)))
    return table.get_indexer(values.to_numpy(dtype=object, na_value=None)) >= 0


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    return str(value)


# ----------------------------------------------------------------------------------------------
# One sheet -> one typed table


def _header_lookup(table: Table) -> dict[str, tuple[Column, float | None]]:
    lookup: dict[str, tuple[Column, float | None]] = {}
    for col in table.columns:
        lookup[normalise_header(col.name)] = (col, None)
    for col in table.columns:
        for header, factor in col.converted.items():
            lookup.setdefault(normalise_header(header), (col, factor))
    for col in table.columns:
        for alias in col.aliases:
            lookup.setdefault(normalise_header(alias), (col, None))
    if len(table.key) == 1:
        lookup.setdefault("id", (table.column(table.key[0]), None))
    return lookup


def _match_header(header: str, lookup: dict[str, tuple[Column, float | None]]) -> tuple[Column, float | None] | None:
    """Find the column a header names, trying a few spellings ("Door #" -> door_no -> door_id)."""
    norm = normalise_header(header)
    candidates = [norm, re.sub(r"(^|_)number($|_)", r"\1no\2", norm),
                  norm.removesuffix("_id"), norm + "_id", re.sub(r"_(number|no)$", "", norm)]
    for candidate in candidates:
        if candidate in lookup:
            return lookup[candidate]
    return None


@dataclass
class _Columns:
    """Where a sheet's header is and which spreadsheet column gives which schema column."""

    header_at: int
    data_at: np.ndarray
    headers: list[str]                                  # header as written, one per column
    found: dict[str, tuple[int, float | None]]          # schema column -> (position, unit factor)


def _read_table(sheet: _RawSheet, table: Table, context: _Context) -> pd.DataFrame:
    """One sheet -> one typed table, in named steps; every problem goes to the report."""
    texts = [_to_text(c) for c in sheet.columns]
    filled = np.column_stack([t.notna().to_numpy() for t in texts]) if texts else np.zeros((0, 0), bool)
    nonblank_rows = np.flatnonzero(filled.any(axis=1)) if texts else np.array([], dtype=int)
    if not len(nonblank_rows):
        return _empty_sheet(sheet, table, context)
    columns = _match_columns(sheet, table, texts, filled, nonblank_rows, context.report)
    name = table.name
    raw = pd.DataFrame({h: t.iloc[columns.data_at].to_numpy()
                        for h, t in zip(columns.headers, texts, strict=True)})
    source_row = pd.array(columns.data_at + 1, dtype="Int64")
    context.originals[name] = {c: columns.headers[j] for c, (j, _) in columns.found.items()}
    if not len(raw):
        return _empty_sheet(sheet, table, context, headers_only=True)
    missing = [c.name for c in table.columns if c.required and c.name not in columns.found]
    if missing:
        return _reject_sheet(sheet, table, raw, source_row, missing, context)
    frame, unreadable = _parse_columns(sheet, table, texts, columns, source_row, context.report)
    reasons = pd.Series(pd.NA, index=frame.index, dtype="string")
    _check_required(frame, unreadable, reasons, sheet, table, context)
    _check_duplicates(frame, reasons, sheet, table, context)
    for col in table.columns:
        if col.kind == "ref" and col.name in frame:
            _check_reference(frame, col, reasons, sheet, table, context)
    _check_room_buildings(frame, sheet, table, context)
    return _keep_rows(frame, raw, reasons, table, context)


def _find_header(texts: list[pd.Series], nonblank_rows: np.ndarray,
                 lookup: dict[str, tuple[Column, float | None]]) -> int:
    """Position of the header row: the first non-blank row, unless notes or a title sit above it;
    then the row among the first ten that names the most columns."""
    scores = [sum(_match_header(str(t.iloc[r]), lookup) is not None for t in texts if pd.notna(t.iloc[r]))
              for r in nonblank_rows[:10]]
    return int(np.argmax(scores)) if max(scores) > 0 else 0


def _match_columns(sheet: _RawSheet, table: Table, texts: list[pd.Series], filled: np.ndarray,
                   nonblank_rows: np.ndarray, report: ValidationReport) -> _Columns:
    """Headers -> schema columns; unknown, unnamed and repeated columns are warned about."""
    name = table.name
    lookup = _header_lookup(table)
    pick = _find_header(texts, nonblank_rows, lookup)
    header_at = int(nonblank_rows[pick])
    data_at = nonblank_rows[pick + 1:]
    found: dict[str, tuple[int, float | None]] = {}
    headers: list[str] = []
    for j, text in enumerate(texts):
        header = text.iloc[header_at]
        if pd.isna(header):
            headers.append(f"column {_column_letter(j)}")
            if len(data_at) and filled[data_at, j].any():
                report.add("warning", f"{sheet.where}, column {_column_letter(j)} has values but no "
                           "header; it was not read.", file=sheet.file, sheet=name,
                           column=_column_letter(j))
            continue
        header = str(header)
        headers.append(header if header not in headers else f"{header} ({_column_letter(j)})")
        match = _match_header(header, lookup)
        if match is None:
            report.add("warning", f'{sheet.where}, column "{header}" is not an inventory column '
                       f"for {name} and was not read.", file=sheet.file, sheet=name, column=header)
            continue
        col, factor = match
        if col.name in found:
            first = texts[found[col.name][0]].iloc[header_at]
            report.add("warning", f'{sheet.where}, column "{header}" gives {col.name} a second time '
                       f'(after column "{first}"); only "{first}" was read.',
                       file=sheet.file, sheet=name, column=header)
            continue
        found[col.name] = (j, factor)
    return _Columns(header_at, data_at, headers, found)


def _reject_sheet(sheet: _RawSheet, table: Table, raw: pd.DataFrame, source_row: Any,
                  missing: list[str], context: _Context) -> pd.DataFrame:
    """A required column is missing: every row is set aside, and later sheets are told why."""
    name = table.name
    for column in missing:
        col = table.column(column)
        alias = f" (or {', '.join(col.aliases[:3])})" if col.aliases else ""
        context.report.add("error", f'{sheet.where} has no "{column}" column{alias}; it is required, '
                           f"so none of its {_rows(len(raw))} could be used. Add the column and "
                           "fill it in.", file=sheet.file, sheet=name, column=column)
    reason = f"the sheet has no {', '.join(missing)} column"
    _reject_rows(context.report, name, raw, source_row, pd.Series(reason, index=raw.index))
    context.unusable[name] = f"the {name} sheet has no {', '.join(missing)} column"
    context.kept_keys[name] = pd.Index([], dtype="string")
    return empty_table(name)


def _parse_columns(sheet: _RawSheet, table: Table, texts: list[pd.Series], columns: _Columns,
                   source_row: Any, report: ValidationReport) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """Values, column by column (units converted before ranges are checked); bad cells reported."""
    frame = pd.DataFrame(index=pd.RangeIndex(len(columns.data_at)))
    unreadable: dict[str, np.ndarray] = {}
    rows = np.asarray(source_row, dtype=np.int64)
    for column, (j, factor) in columns.found.items():
        col = table.column(column)
        text = texts[j].iloc[columns.data_at].reset_index(drop=True)
        values, bad, expected = _parse(text, col, table, factor=factor)
        frame[column] = values
        unreadable[column] = bad
        outcome = "The row was not used." if col.required else "The value was left blank (unknown)."
        _report_bad_values(report, sheet, table.name, columns.headers[j], text, bad, expected,
                           rows, outcome)
    frame["source_row"] = source_row
    return frame, unreadable


def _check_required(frame: pd.DataFrame, unreadable: dict[str, np.ndarray], reasons: pd.Series,
                    sheet: _RawSheet, table: Table, context: _Context) -> None:
    label = context.originals[table.name]
    for column in (c.name for c in table.columns if c.required):
        blank = np.array(frame[column].isna() & reasons.isna(), dtype=bool)
        unread = blank & unreadable[column]
        reasons[unread] = f"{column} could not be read"
        blank &= ~unread
        if not blank.any():
            continue
        rows = frame["source_row"].to_numpy(dtype=np.int64)[blank]
        header = label[column]
        context.report.add_cells(
            "error", rows=rows, values=np.full(len(rows), None),
            messages=[f'{sheet.where}, row {r}: "{header}" is blank; the row was not used.' for r in rows],
            kinds=np.full(len(rows), f'"{header}" is blank'), where=sheet.where,
            then="These rows were not used.", file=sheet.file, sheet=table.name, column=header)
        reasons[blank] = f"{column} is blank"


def _check_duplicates(frame: pd.DataFrame, reasons: pd.Series, sheet: _RawSheet, table: Table,
                      context: _Context) -> None:
    label = context.originals[table.name]
    keyed = reasons.isna()
    present = [c for c in table.key if c in frame]
    dup = pd.Series(False, index=frame.index)
    dup[keyed] = frame.loc[keyed].duplicated(subset=present, keep="first")
    if not dup.any():
        return
    first_row = (frame.loc[keyed].groupby(present, dropna=False)["source_row"]
                 .transform("first").reindex(frame.index))
    key_label = " + ".join(label.get(c, c) for c in present)
    mask = dup.to_numpy()
    key_text = frame.loc[mask, present[0]].astype(str)
    for c in present[1:]:
        key_text = key_text + ", " + frame.loc[mask, c].astype(str)
    rows = frame["source_row"].to_numpy(dtype=np.int64)[mask]
    firsts = first_row[mask].to_numpy(dtype=np.int64)
    messages = [f'{sheet.where}, row {r}: {key_label} "{k}" is already used in row {f}; this row '
                "was not used." for r, k, f in zip(rows, key_text, firsts, strict=True)]
    context.report.add_cells(
        "error", rows=rows, values=key_text.to_numpy(dtype=object), messages=messages,
        kinds=np.full(len(rows), "is already used in an earlier row"),
        where=f"{sheet.where}, {key_label}", then="These rows were not used.", file=sheet.file,
        sheet=table.name, column=label.get(present[0]))
    reasons[dup] = "duplicate of row " + first_row[dup].astype("string")


def _keep_rows(frame: pd.DataFrame, raw: pd.DataFrame, reasons: pd.Series, table: Table,
               context: _Context) -> pd.DataFrame:
    """Set rejected rows aside in the report; remember kept keys for the sheets that refer to them."""
    name = table.name
    key_cols = list(table.key)
    rejected = reasons.notna().to_numpy()
    source_row = frame["source_row"]
    if rejected.any():
        _reject_rows(context.report, name, raw[rejected], source_row[rejected].to_numpy(),
                     reasons[rejected])
        if len(key_cols) == 1:
            ids = frame.loc[rejected, key_cols[0]]
            rows = source_row[rejected]
            context.rejected_keys[name] = {str(k): int(r) for k, r in zip(ids, rows, strict=True)
                                           if pd.notna(k)}
    kept = frame[~rejected].reset_index(drop=True)
    if len(key_cols) == 1:
        context.kept_keys[name] = pd.Index(kept[key_cols[0]].dropna().unique())
    if name == "rooms":
        context.room_building = dict(zip(kept["room_id"], kept["building_id"], strict=True))
    if name == "buildings":
        context.building_site = dict(zip(kept["building_id"], kept["site_id"], strict=True))
    return kept


def _empty_sheet(sheet: _RawSheet, table: Table, context: _Context, *,
                 headers_only: bool = False) -> pd.DataFrame:
    if table.name in REQUIRED_SHEETS:
        what = "has headers but no rows" if headers_only else "is empty"
        context.report.add("error", f"{sheet.where} {what}; it is required: fill in one row per "
                           f"{table.name.removesuffix('s')}.", file=sheet.file, sheet=table.name)
        context.unusable[table.name] = f"the {table.name} sheet {what}"
    context.kept_keys[table.name] = pd.Index([], dtype="string")
    return empty_table(table.name)


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _column_letter(j: int) -> str:
    letters = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _reject_rows(report: ValidationReport, sheet: str, raw: pd.DataFrame, source_row: object,
                 reasons: pd.Series) -> None:
    """Set rows aside in the report in one go (``ValidationReport.reject`` is one row at a time)."""
    rows = raw.astype(object).where(raw.notna(), None).reset_index(drop=True)
    rows["source_row"] = np.asarray(source_row, dtype=object)
    rows["reason"] = reasons.astype(object).to_numpy()
    prior = report.rejected.get(sheet)
    report.rejected[sheet] = rows if prior is None else pd.concat([prior, rows], ignore_index=True)


def _report_bad_values(report: ValidationReport, sheet: _RawSheet, table: str, header: str,
                       text: pd.Series, bad: np.ndarray, expected: dict[str, str] | str,
                       rows: np.ndarray, outcome: str) -> None:
    """Each unreadable cell, located; a problem repeated in many rows is grouped (vectorised)."""
    if not bad.any():
        return
    values = text[bad].astype(object).to_numpy()
    if isinstance(expected, str):
        whats = np.full(len(values), expected, dtype=object)
    else:
        uniques = pd.unique(values)
        whats = pd.Series(values).map({u: expected[u] for u in uniques}).to_numpy(dtype=object)
    bad_rows = rows[bad]
    start, middle = f"{sheet.where}, row ", f', column "{header}": "'
    messages = [f'{start}{r}{middle}{v}" {w} {outcome}'
                for r, v, w in zip(bad_rows.tolist(), values.tolist(), whats.tolist(), strict=True)]
    report.add_cells("error", rows=bad_rows, values=values, messages=messages,
                     kinds=whats, where=f'{sheet.where}, column "{header}"', then=outcome,
                     file=sheet.file, sheet=table, column=header)


# ----------------------------------------------------------------------------------------------
# Parsing: text column -> typed column, mask of bad values, and what was expected


def _parse(text: pd.Series, col: Column, table: Table, *,
           factor: float | None = None) -> tuple[pd.Series, np.ndarray, dict[str, str] | str]:
    """Text -> typed values; numbers in another unit (feet) are converted before any range check."""
    kind = col.kind
    if kind in ("id", "ref", "text"):
        if kind != "text":
            spaced = text.str.contains(r"\s\s|[\t\r\n]", regex=True).fillna(False).to_numpy()
            if spaced.any():
                text = text.copy()
                text[spaced] = text[spaced].str.replace(r"\s+", " ", regex=True)
        return text, np.zeros(len(text), dtype=bool), ""
    known = text.mask(_isin(text.str.lower(), _UNKNOWN))
    if kind == "bool":
        values = known.str.lower().map(_BOOL).astype("boolean")
        return values, (known.notna() & values.isna()).to_numpy(), f"is not yes or no; expected {_EXPECTED['bool']}."
    if kind == "enum":
        return _parse_enum(known, col, table)
    if kind == "date":
        values = _parse_dates(known)
        return values, (known.notna() & values.isna()).to_numpy(), f"is not a date; expected {_EXPECTED['date']}."
    return _parse_number(known, col, factor=factor)


def _parse_number(known: pd.Series, col: Column, *,
                  factor: float | None) -> tuple[pd.Series, np.ndarray, dict[str, str] | str]:
    """Numbers (thousands separators allowed), whole for int columns, converted, then in range."""
    kind = col.kind
    numbers = pd.to_numeric(known, errors="coerce").astype("float64")
    retry = (known.notna() & numbers.isna()).to_numpy()
    if retry.any():  # thousands separators: 1,200
        cleaned = known[retry].str.replace(r"(?<=\d),(?=\d{3}(\D|$))", "", regex=True)
        numbers[retry] = pd.to_numeric(cleaned, errors="coerce").astype("float64")
    numbers[~np.isfinite(numbers)] = np.nan
    bad = np.array(known.notna() & numbers.isna(), dtype=bool)
    expected: _ExpectedMap | str
    expected = f"is not a number; expected {_EXPECTED[kind]}."
    if kind == "int":
        fractional = numbers.notna() & (numbers != np.round(numbers))
        if fractional.any():
            expected = _ExpectedMap(expected, dict.fromkeys(known[fractional.to_numpy()],
                                                            "is not a whole number."))
            numbers[fractional] = np.nan
            bad |= fractional.to_numpy()
    if factor is not None:
        numbers = numbers * factor
    low_high = _RANGES.get(col.name)
    if low_high is not None:
        low, high = low_high
        outside = numbers.notna() & ((numbers < low) | (numbers > high))
        if outside.any():
            unit = " (in metres or square metres, once converted)" if factor is not None else ""
            message = f"is outside the plausible range {low:g} to {high:g}{unit}."
            base = expected if isinstance(expected, _ExpectedMap) else _ExpectedMap(expected, {})
            for v in known[outside.to_numpy()]:
                base[v] = message
            expected = base
            numbers[outside] = np.nan
            bad |= outside.to_numpy()
    if col.name == "heading_deg":
        numbers = numbers % 360
    if kind == "int":
        return numbers.round().astype("Int64"), bad, expected
    return numbers, bad, expected


class _ExpectedMap(dict):
    """Message per bad value, with a default for values not listed."""

    def __init__(self, default: str, specific: dict[str, str]) -> None:
        super().__init__(specific)
        self.default = default

    def __missing__(self, key: str) -> str:
        return self.default


def _parse_enum(text: pd.Series, col: Column, table: Table) -> tuple[pd.Series, np.ndarray, dict[str, str]]:
    allowed = {normalise_header(v): v for v in col.enum}
    uniques = text.dropna().unique()
    mapping = {u: allowed.get(normalise_header(u)) for u in uniques}
    values = text.map(mapping).astype("string")
    bad = (text.notna() & values.isna()).to_numpy()
    noun = _ENUM_NOUNS.get((table.name, col.name), col.name.replace("_", " "))
    expected = {}
    for u, v in mapping.items():
        if v is None:
            close = difflib.get_close_matches(normalise_header(u), list(allowed), n=1, cutoff=0.6)
            hint = f' (did you mean "{allowed[close[0]]}"?)' if close else ""
            expected[u] = f"is not a valid {noun}{hint}; expected one of {', '.join(col.enum)}."
    return values, bad, expected


def _parse_dates(text: pd.Series) -> pd.Series:
    """ISO dates, US month/day/year, month/year and Excel serial numbers; NaT when none fits."""
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    todo = text.notna()
    if not todo.any():
        return out
    uniques = pd.Series(text[todo].unique())
    parsed = pd.Series(pd.NaT, index=uniques.index, dtype="datetime64[ns]")
    for fmt in ("ISO8601", "%m/%d/%Y", "%m/%d/%y", "%m-%d-%Y", "%m/%Y", "%b %Y", "%B %Y",
                "%b %d, %Y", "%B %d, %Y", "%d %b %Y", "%d %B %Y"):
        left = parsed.isna()
        if not left.any():
            break
        try:
            attempt = pd.to_datetime(uniques[left], format=fmt, errors="coerce")
        except (ValueError, OverflowError):
            continue
        # Years outside 1800-2200 are not dates of a building's life (and 0001-01-01 or -3326
        # do not fit nanosecond timestamps): left unparsed, so reported.
        attempt = attempt.where(attempt.dt.year.between(1800, 2200))
        parsed[left] = attempt.astype("datetime64[ns]")
    parsed[~parsed.dt.year.between(1800, 2200)] = pd.NaT
    serial = pd.to_numeric(uniques.where(parsed.isna()), errors="coerce")
    # Excel serial day numbers up to 2199-12-31 (109,574); larger ones overflow nanosecond
    # timestamps and are no dates of a building's life: left unparsed, so reported
    serial = serial[serial.between(1, 109_574)]
    if len(serial):  # Excel serial day numbers (a date cell read as a number)
        parsed[serial.index] = (_EXCEL_EPOCH + pd.to_timedelta(serial.round(), unit="D")).astype("datetime64[ns]")
    parsed[~parsed.dt.year.between(1800, 2200)] = pd.NaT
    mapping = dict(zip(uniques, parsed, strict=True))
    out[todo] = text[todo].map(mapping).astype("datetime64[ns]")
    return out


# ----------------------------------------------------------------------------------------------
# References between tables


def _check_reference(frame: pd.DataFrame, col: Column, reasons: pd.Series, sheet: _RawSheet,
                     table: Table, context: _Context) -> None:
    target = col.refers_to
    assert target is not None
    values = frame[col.name]
    if target not in context.sheets and target not in context.unusable:
        context.unusable[target] = f"there is no {target} sheet"
    if target in context.unusable:
        _reference_to_unusable(frame, col, reasons, sheet, table, context)
        return
    keys = context.kept_keys.get(target, pd.Index([]))
    dangling = values.notna().to_numpy() & ~_isin(values, keys) & reasons.isna().to_numpy()
    if not dangling.any():
        return
    # A difference of case or spacing only: repair it and say so.
    folded = {normalise_header(k): k for k in keys}
    rejected_keys = context.rejected_keys.get(target, {})
    given = values[dangling].astype(object).to_numpy()
    uniques = pd.unique(given)
    fix_of = {u: folded.get(normalise_header(str(u))) if u not in rejected_keys else None for u in uniques}
    fixed = pd.Series(given).map(fix_of).to_numpy(dtype=object)
    repaired = np.zeros(len(frame), dtype=bool)
    repaired[np.flatnonzero(dangling)[pd.notna(fixed)]] = True
    noun = target.removesuffix("s")
    header = context.originals[table.name].get(col.name, col.name)
    if repaired.any():
        new = fixed[pd.notna(fixed)]
        frame.loc[repaired, col.name] = new
        old = given[pd.notna(fixed)]
        _report_rows(context, sheet, table, frame, repaired, header=header, severity="warning",
                     values=old, kinds=[f'was read as {noun} "{f}" (same id written differently)'
                                        for f in new],
                     tails=[f'"{v}" was read as {noun} "{f}" (same id written differently).'
                            for v, f in zip(old, new, strict=True)])
    broken = dangling & ~repaired
    if not broken.any():
        return
    left = given[pd.isna(fixed)]
    extra = [f" (its row {rejected_keys[v]} there could not be used)" if v in rejected_keys else ""
             for v in left]
    then = ("the row was not used" if col.required
            else "the value was left blank and the row kept")
    tails = [f'there is no {noun} "{v}" in the {target} sheet{e}; {then}.'
             for v, e in zip(left, extra, strict=True)]
    _report_rows(context, sheet, table, frame, broken, header=header, severity="error", values=left,
                 kinds=[f"is not a {noun} in the {target} sheet{e}" for e in extra], tails=tails,
                 then=then.capitalize() + ".")
    if col.required:
        reasons[broken] = [f'{noun} "{v}" is not in the {target} sheet' for v in left]
    else:
        frame.loc[broken, col.name] = pd.NA


def _reference_to_unusable(frame: pd.DataFrame, col: Column, reasons: pd.Series, sheet: _RawSheet,
                           table: Table, context: _Context) -> None:
    """The sheet referred to is missing or unusable: required references reject the row."""
    target = col.refers_to
    assert target is not None
    why = context.unusable[target]
    header = context.originals[table.name].get(col.name, col.name)
    hit = reasons.isna() & frame[col.name].notna()
    if not hit.any():
        return
    if col.required:
        context.report.add("error", f'{sheet.where}: {_rows(int(hit.sum()))} could not be used because '
                           f'{why} (their "{header}" cannot be checked).', file=sheet.file,
                           sheet=table.name, column=header)
        reasons[hit] = why
    else:
        context.report.add("warning", f'{sheet.where}: column "{header}" was left blank in '
                           f"{_rows(int(hit.sum()))} because {why}.", file=sheet.file,
                           sheet=table.name, column=header)
        frame.loc[hit, col.name] = pd.NA


def _report_rows(context: _Context, sheet: _RawSheet, table: Table, frame: pd.DataFrame,
                 mask: np.ndarray, *, header: str, severity: Severity, values: Any, kinds: Any,
                 tails: Any, then: str = "") -> None:
    """A problem for each masked row of ``frame`` (grouped by kind when repeated)."""
    rows = frame["source_row"].to_numpy(dtype=np.int64)[mask]
    start = f'{sheet.where}, row '
    messages = [f'{start}{r}, column "{header}": {t}' for r, t in zip(rows, tails, strict=True)]
    context.report.add_cells(severity, rows=rows, values=np.asarray(values, dtype=object),
                             messages=messages, kinds=np.asarray(kinds, dtype=object),
                             where=f'{sheet.where}, column "{header}"', then=then, file=sheet.file,
                             sheet=table.name, column=header)


def _check_room_buildings(frame: pd.DataFrame, sheet: _RawSheet, table: Table, context: _Context) -> None:
    if "room_id" not in frame or "building_id" not in frame or table.name == "rooms":
        return
    room_building = frame["room_id"].map(context.room_building)
    clash = (room_building.notna() & frame["building_id"].notna()
             & (room_building != frame["building_id"])).fillna(False).to_numpy(dtype=bool)
    if not clash.any():
        return
    header = context.originals[table.name].get("room_id", "room_id")
    rooms = frame["room_id"][clash].astype(str).to_numpy(dtype=object)
    pairs = list(zip(rooms, room_building[clash], frame["building_id"][clash], strict=True))
    _report_rows(context, sheet, table, frame, clash, header=header, severity="warning", values=rooms,
                 kinds=[f'is a room of building "{b}", not of building "{own}" as these rows say'
                        for _, b, own in pairs],
                 tails=[f'room "{r}" is in building "{b}", not in building "{own}" as this row says.'
                        for r, b, own in pairs])


# ----------------------------------------------------------------------------------------------
# Locations: ranges, swapped lon/lat, points far from their building

_LOCATED_TABLES = ("buildings", "rooms", "doors", "cameras", "repeaters", "aeds", "equipment")


def _check_locations(tables: dict[str, pd.DataFrame], context: _Context) -> None:
    """Half locations, out-of-range and swapped lon/lat, and points far from their building."""
    pools = []
    for name in _LOCATED_TABLES:
        frame = tables[name]
        sheet = context.sheets.get(name)
        if sheet is None or not len(frame):
            continue
        _check_half_locations(frame, sheet, context)
        if "lon" not in frame or "lat" not in frame:
            continue
        has = _check_lonlat_ranges(frame, sheet, context)
        if "building_id" in frame and has.any():
            building = frame["building_id"]
            site = building.map(context.building_site) if name != "buildings" else frame["site_id"]
            pools.append(pd.DataFrame({
                "table": name, "pos": np.flatnonzero(has),
                "building_id": building[has].astype(object).to_numpy(),
                "site_id": site[has].astype(object).to_numpy(),
                "lon": frame["lon"][has].to_numpy(float), "lat": frame["lat"][has].to_numpy(float)}))
    if pools:
        _check_points_near_their_building(tables, pd.concat(pools, ignore_index=True), context)


def _check_half_locations(frame: pd.DataFrame, sheet: _RawSheet, context: _Context) -> None:
    label = context.originals[sheet.table or ""]
    for a, b in (("lon", "lat"), ("x", "y")):
        if a not in frame and b not in frame:
            continue
        va = frame[a] if a in frame else pd.Series(np.nan, index=frame.index)
        vb = frame[b] if b in frame else pd.Series(np.nan, index=frame.index)
        for given, lacking, present in ((a, b, va), (b, a, vb)):
            mask = ((va.isna() != vb.isna()) & present.notna()).to_numpy(dtype=bool)
            if mask.any():
                _location_cells(context, sheet, frame, mask, column=label.get(given, given),
                                values=frame[given][mask].astype(str),
                                kinds=[f"is a {given} without a {lacking}"] * int(mask.sum()),
                                tails=[f"has {given} but no {lacking}; the location was not used."]
                                * int(mask.sum()), then="The location was not used.", clear=(a, b))


def _check_lonlat_ranges(frame: pd.DataFrame, sheet: _RawSheet, context: _Context) -> np.ndarray:
    """Clear impossible lon/lat (out of range, swapped, 0/0); return which rows keep a location."""
    label = context.originals[sheet.table or ""]
    column = f"{label.get('lon', 'lon')}/{label.get('lat', 'lat')}"
    lon, lat = frame["lon"], frame["lat"]
    has = np.array(lon.notna() & lat.notna(), dtype=bool)
    out = has & ~((lon.abs() <= 180) & (lat.abs() <= 90)).to_numpy(dtype=bool)
    swapped = out & ((lat.abs() <= 180) & (lon.abs() <= 90)).to_numpy(dtype=bool)
    zero = has & ((lon == 0) & (lat == 0)).to_numpy(dtype=bool)
    placed = "the location was not used and the item is placed at its building"
    for mask, kind, tail in (
        (swapped, f"lon/lat appear swapped; {placed}",
         "lon/lat appear swapped (lon {lon:g}, lat {lat:g}); " + placed + "."),
        (out & ~swapped, "is out of range (longitude -180 to 180, latitude -90 to 90); the location "
         "was not used", "lon {lon:g}, lat {lat:g} is out of range (longitude -180 to 180, latitude "
         "-90 to 90); the location was not used."),
        (zero, "lon/lat 0, 0 is not a real location; the location was not used",
         "lon/lat 0, 0 is not a real location; the location was not used."),
    ):
        if not mask.any():
            continue
        pairs = list(zip(lon[mask], lat[mask], strict=True))
        _location_cells(context, sheet, frame, mask, column=column,
                        values=[f"{x:g}, {y:g}" for x, y in pairs], kinds=[kind] * len(pairs),
                        tails=[tail.format(lon=x, lat=y) for x, y in pairs])
    return has & ~(out | zero)


def _location_cells(context: _Context, sheet: _RawSheet, frame: pd.DataFrame, mask: np.ndarray, *,
                    column: str, values: Any, kinds: Any, tails: Any, severity: Severity = "error",
                    then: str = "", clear: tuple[str, ...] = ("lon", "lat")) -> None:
    """Report a location problem in each masked row (grouped when repeated); clear ``clear``."""
    rows = frame["source_row"].to_numpy(dtype=np.int64)[mask]
    messages = [f"{sheet.where}, row {r}: {t}" for r, t in zip(rows, tails, strict=True)]
    context.report.add_cells(severity, rows=rows, values=np.asarray(values, dtype=object),
                             messages=messages, kinds=np.asarray(kinds, dtype=object),
                             where=f'{sheet.where}, column "{column}"', then=then, file=sheet.file,
                             sheet=sheet.table, column=column)
    for c in clear:
        if c in frame:
            frame.loc[mask, c] = np.nan


def _metres(lon: np.ndarray, lat: np.ndarray, lon0: np.ndarray, lat0: np.ndarray) -> np.ndarray:
    """Distance in metres, equirectangular: plenty for "is this kilometres away"."""
    dx = (lon - lon0) * np.cos(np.radians(lat0)) * 111_320.0
    dy = (lat - lat0) * 110_574.0
    return np.hypot(dx, dy)


def _median_of_others(groups: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each point, the median of the *other* points of its group (NaN when it is alone),
    and its group's size; exact and vectorised (sorted once, neighbours read by rank)."""
    n = len(values)
    order = np.lexsort((values, groups))
    sorted_groups, sorted_values = groups[order], values[order]
    starts = np.r_[0, np.flatnonzero(sorted_groups[1:] != sorted_groups[:-1]) + 1] if n else np.array([], int)
    sizes = np.diff(np.r_[starts, n])
    base = np.repeat(starts, sizes)
    rank = np.arange(n) - base
    others = np.repeat(sizes, sizes) - 1
    lo, hi = (others - 1) // 2, others // 2
    ok = others >= 1
    below_lo = base + lo + (lo >= rank)
    below_hi = base + hi + (hi >= rank)
    result = np.full(n, np.nan)
    result[ok] = (sorted_values[below_lo[ok]] + sorted_values[below_hi[ok]]) / 2
    out, size = np.empty(n), np.empty(n, dtype=np.int64)
    out[order], size[order] = result, others + 1
    return out, size


def _check_points_near_their_building(tables: dict[str, pd.DataFrame], pool: pd.DataFrame,
                                      context: _Context) -> None:
    """Swapped lon/lat inside the valid range, and points far from the rest of their building.

    Each point is compared with the median of the *other* located points of its building (or of
    its site when the building has no other), so one wrong point cannot hide itself.
    """
    limit = settings.max_asset_distance_m
    lon, lat = pool["lon"].to_numpy(float), pool["lat"].to_numpy(float)
    far = np.zeros(len(pool), dtype=bool)
    ref_lon, ref_lat = np.full(len(pool), np.nan), np.full(len(pool), np.nan)
    level_of = np.full(len(pool), "", dtype=object)
    building_codes, _ = pd.factorize(pool["building_id"])
    building_size = np.bincount(building_codes[building_codes >= 0], minlength=1)
    alone = (building_codes < 0) | (building_size[np.maximum(building_codes, 0)] <= 1)
    for level in ("building_id", "site_id"):
        codes, _ = pd.factorize(pool[level])
        judged = (codes >= 0) & ~far & (alone if level == "site_id" else True)
        if not judged.any():
            continue
        idx = np.flatnonzero(codes >= 0)
        mlon, _ = _median_of_others(codes[idx], lon[idx])
        mlat, _ = _median_of_others(codes[idx], lat[idx])
        d = _metres(lon[idx], lat[idx], mlon, mlat)
        hit = np.isfinite(d) & (d > limit) & judged[idx]
        pick = idx[hit]
        far[pick] = True
        ref_lon[pick], ref_lat[pick], level_of[pick] = mlon[hit], mlat[hit], level
    if far.any():
        _report_far_points(tables, pool[far], ref_lon[far], ref_lat[far], level_of[far], context)


def _report_far_points(tables: dict[str, pd.DataFrame], points: pd.DataFrame, mlon: np.ndarray,
                       mlat: np.ndarray, levels: np.ndarray, context: _Context) -> None:
    limit = settings.max_asset_distance_m
    lon, lat = points["lon"].to_numpy(float), points["lat"].to_numpy(float)
    d = _metres(lon, lat, mlon, mlat)
    d_swap = _metres(lat, lon, mlon, mlat)
    swapped = (np.abs(lon) <= 90) & (d_swap <= limit) & (d_swap < d / 10)
    for (table, level, is_swapped), part in points.assign(level=levels, swapped=swapped, d=d).groupby(
            ["table", "level", "swapped"], sort=False):
        frame, sheet = tables[table], context.sheets[table]
        label = context.originals[table]
        column = f"{label.get('lon', 'lon')}/{label.get('lat', 'lat')}"
        what = "building" if level == "building_id" else "site"
        mask = np.zeros(len(frame), dtype=bool)
        mask[part["pos"].to_numpy()] = True
        part = part.set_index("pos").reindex(np.flatnonzero(mask))
        values = [f"{x:g}, {y:g}" for x, y in zip(part["lon"], part["lat"], strict=True)]
        if is_swapped:
            kind = (f"lon/lat appear swapped (swapped, the points would lie with the rest of their "
                    f"{what}); the location was not used and the item is placed at its building")
            tails = [f"lon/lat appear swapped (lon {x:g}, lat {y:g}: swapped, the point would lie "
                     f"with the rest of its {what}); the location was not used and the item is "
                     "placed at its building." for x, y in zip(part["lon"], part["lat"], strict=True)]
            _location_cells(context, sheet, frame, mask, column=column, values=values,
                            kinds=[kind] * len(values), tails=tails)
        else:
            tails = [f"the point (lon {x:g}, lat {y:g}) is {dist / 1000:,.1f} km from the other items "
                     f'of its {what} "{key}"; check it.' for x, y, dist, key in
                     zip(part["lon"], part["lat"], part["d"], part[level], strict=True)]
            _location_cells(context, sheet, frame, mask, column=column, values=values,
                            kinds=[f"is more than {limit / 1000:g} km from the other items of its {what}; "
                                   "check it"] * len(values), tails=tails, severity="warning", clear=())
