"""Exports for finance and GIS: output shaping, the assessment workbook, CSV, GeoPackage, summary.json.

Every export goes through one value cleaner, ``plain_value`` (NA -> blank, numpy -> Python,
lists -> ``;``-text or JSON lists), then, for spreadsheets and GIS text, ``sanitize_cell``.

Spreadsheet formula injection (OWASP "CSV Injection"): a text cell whose first character is
``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL may be run as a formula by Excel or
LibreOffice. Following OWASP, such text is prefixed with a single quote ``'`` so it is shown as
text, and CSV cells are all wrapped in double quotes (embedded quotes doubled). Numbers stay
numbers, and text that is a plain number (``-93.4197511``) is no formula and stays as it is;
only other text is touched. Characters XML cannot hold (NUL and other C0 controls) are removed
from workbook cells after neutralising.

Output shaping (what the workbook, summary.json and the app show from an ``Assessment``) lives
here too: ``buildings_scorecard``, ``summary_dict``, ``workbook_summary``, ``spend_by_year``,
``gap_text``; ``write_outputs`` writes every file of ``assess --out``.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import warnings
from collections.abc import Callable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from facility_planner.assess import Assessment

SUMMARY_VERSION = 1
#: CRS of the outputs that hold many campuses (coverage.gpkg, GeoParquet), unless the user names one.
OUTPUT_CRS = "EPSG:4326"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_NUMBER_TEXT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CURRENCY = '"$"#,##0'
_CURRENCY_COLUMNS = ("cost", "cost_low", "cost_high", "life_cycle_cost", "annual_cost", "annual_upkeep",
                     "local_match", "cumulative_cost", "unit_cost_low", "unit_cost_typical", "unit_cost_high",
                     "budget", "spend")
#: Number formats a person reads (the cell keeps full precision): column -> Excel format.
_ROUNDED = {"ratio": "0.0000", "lon": "0.000000", "lat": "0.000000", "x": "0.00", "y": "0.00"}
_ONE_DECIMAL = "0.0"

#: Coverage figures reported per building in summary.json (percent).
COVERAGE_METRICS = ("camera_entrance_coverage", "camera_perimeter_coverage", "camera_outdoor_coverage",
                    "radio_area_coverage", "radio_critical_coverage", "aed_reach_coverage",
                    "kit_reach_coverage")

Target = str | Path | IO[bytes]
#: Rows of a frame turned into cells or records at a time (the workbook, summary.json).
_ROW_BATCH = 2000


# --- the one value cleaner ------------------------------------------------------------------------

def sanitize_cell(value: Any) -> Any:
    """Neutralise a text value a spreadsheet could run as a formula (OWASP: prefix ``'``).

    Non-text values, and text that is a plain number, are returned unchanged.

    Examples
    --------
    >>> sanitize_cell('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> sanitize_cell(-3)
    -3
    >>> sanitize_cell("-93.4197511")
    '-93.4197511'
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBER_TEXT.fullmatch(value):
        return "'" + value
    return value


def plain_value(value: Any, *, nested: bool = False) -> Any:
    """A value every export can hold: NA -> None, numpy scalars -> Python, non-finite -> None.

    ``nested=False`` (cells: workbook, CSV, GeoPackage): lists as ``"a; b"``, dicts as JSON text,
    dates kept. ``nested=True`` (summary.json): lists and dicts kept (cleaned inside), dates as
    ISO text, floats to 4 decimals.
    """
    if isinstance(value, dict):
        return ({str(k): plain_value(v, nested=True) for k, v in value.items()} if nested
                else json.dumps(value, default=str, ensure_ascii=False))
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return ([plain_value(v, nested=True) for v in value] if nested
                else "; ".join(str(plain_value(v)) for v in value))
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        if not math.isfinite(number):
            return None
        return round(number, 4) if nested else number
    if isinstance(value, (pd.Timestamp, datetime, date)):
        if nested:
            return value.isoformat()[:10]
        return value.to_pydatetime() if isinstance(value, pd.Timestamp) else value
    if isinstance(value, (int, str)):
        return value
    return str(value)


def _xlsx_cell(value: Any) -> Any:
    value = sanitize_cell(plain_value(value))
    return _ILLEGAL_XML.sub("", value) if isinstance(value, str) else value


def _text_cell(value: Any) -> str | None:
    """A CSV or GeoPackage text cell: cleaned, as text, neutralised."""
    value = plain_value(value)
    if value is None:
        return None
    return str(sanitize_cell(value if isinstance(value, str) else str(value)))


def numbers_from_text(frame: pd.DataFrame) -> pd.DataFrame:
    """Text columns whose every filled cell is a plain number, as numbers (rejected rows as read)."""
    out = frame.copy()
    for col in out.columns:
        series = out[col]
        if series.dtype != object and not pd.api.types.is_string_dtype(series):
            continue
        filled = series.dropna().astype(str).str.strip()
        filled = filled[filled != ""]
        if len(filled) and filled.map(lambda s: bool(_NUMBER_TEXT.fullmatch(s))).all():
            out[col] = pd.to_numeric(series.astype("string").str.strip().replace("", pd.NA), errors="coerce")
    return out


# --- output shaping -------------------------------------------------------------------------------

def gap_text(gap: float | None) -> str:
    """The optimality gap as people read it; the same words on the Plan page and in the workbook."""
    if gap is None or not math.isfinite(float(gap)):
        return "unknown (no bound)"
    return f"{float(gap):.2%}"


def buildings_scorecard(assessment: Assessment) -> pd.DataFrame:
    """One row per building: identity, measure statuses, score, PASS tiers, coverage and risk."""
    district, scores = assessment.district, assessment.scores
    b = district.buildings[["building_id", "site_id", "name", "building_number", "occupancy"]].copy()
    b = b.rename(columns={"name": "building_name"})
    names = district.sites.set_index("site_id")["name"]
    b.insert(2, "site_name", b["site_id"].map(names))
    b = b.set_index("building_id")
    b = b.join(scores.measure_scores[["score"]].rename(columns={"score": "measure_score"}))
    b = b.join(scores.minimum_measures)
    b["pass_overall_tier"] = scores.pass_overall
    b = b.join(scores.pass_layer_tiers.add_prefix("pass_"))
    cov = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame(index=b.index)
    b = b.join(cov[[c for c in COVERAGE_METRICS if c in cov]])
    b = b.join(assessment.risk[[c for c in ("consequence", "threat", "vulnerability", "risk") if c in assessment.risk]])
    return b.reset_index()


def spend_by_year(assessment: Assessment) -> pd.DataFrame:
    """Per year of the plan: budget, spend on the chosen projects, risk removed, projects chosen."""
    columns = ["year", "budget", "spend", "risk_reduction", "projects"]
    p, projects = assessment.portfolio, assessment.projects
    if p is None:
        return pd.DataFrame(columns=columns)
    years = list(range(1, len(p.budget) + 1))
    chosen = projects.loc[projects["selected"].fillna(False).astype(bool)] if "selected" in projects else projects.iloc[:0]
    by_year = chosen.groupby(chosen["year"].astype("Int64"))
    risk = by_year["risk_reduction"].sum()
    count = by_year.size()
    spend = list(p.spend_by_year) + [0.0] * (len(years) - len(p.spend_by_year))
    return pd.DataFrame({"year": years, "budget": [float(b) for b in p.budget], "spend": spend[:len(years)],
                         "risk_reduction": [float(risk.get(y, 0.0)) for y in years],
                         "projects": [int(count.get(y, 0)) for y in years]}, columns=columns)


def _building_records(assessment: Assessment) -> Iterator[dict[str, Any]]:
    """summary.json's building records, one at a time."""
    cov = assessment.coverage.facts.values if assessment.coverage is not None else pd.DataFrame()
    risk, scores = assessment.risk, assessment.scores
    for building in scores.minimum_measures.index:  # the order of ``building_summaries``
        record = scores.building_summary(building)
        bid = record["building_id"]
        record["coverage"] = {m: cov.at[bid, m] for m in COVERAGE_METRICS if m in cov and bid in cov.index}
        if bid in risk.index:
            record["risk"] = risk.at[bid, "risk"]
            record["risk_factors"] = {k: risk.at[bid, k] for k in
                                      ("occupancy", "consequence", "threat_level", "threat", "vulnerability")
                                      if k in risk}
        yield plain_value(record, nested=True)


def _project_records(projects: pd.DataFrame) -> Iterator[dict[str, Any]]:
    """summary.json's project records, one at a time (rows read a batch at a time)."""
    for first in range(0, len(projects), _ROW_BATCH):
        yield from _project_batch(projects.iloc[first:first + _ROW_BATCH])


def _project_batch(projects: pd.DataFrame) -> list[dict[str, Any]]:
    return [plain_value({
        "project_id": row["project_id"], "building_id": row["building_id"], "site_id": row.get("site_id"),
        "measures": row.get("closes") or [row["measure"]], "option": row.get("option"),
        "title": row.get("title"), "quantity": row.get("quantity"), "unit": row.get("unit"),
        "quantity_basis": row.get("quantity_basis"), "cost": row["cost"], "cost_low": row.get("cost_low"), "cost_high": row.get("cost_high"),
        "life_cycle_cost": row.get("life_cycle_cost"), "risk_reduction": row["risk_reduction"],
        "rank": row.get("rank"), "selected": bool(row.get("selected", False)),
        "year": row.get("year"), "requires": row.get("requires"), "grants": row.get("grants"),
        "local_match": row.get("local_match"),
    }, nested=True) for row in projects.to_dict("records")]


def summary_dict(assessment: Assessment) -> dict[str, Any]:
    """The ``summary.json`` document (contract in DESIGN.md; documented in the README)."""
    return {key: list(value) if isinstance(value, Iterator) else value
            for key, value in _summary_parts(assessment).items()}


def write_summary(path: Path, assessment: Assessment) -> None:
    """Write ``summary.json``: the text ``json.dump(summary_dict(assessment), indent=2)`` writes,
    with the buildings and projects encoded one record at a time (never all held at once)."""
    encoder = json.JSONEncoder(indent=2, default=str)

    def indented(value: Any, level: int) -> str:  # JSON text holds no raw newline but its own
        return encoder.encode(value).replace("\n", "\n" + "  " * level)

    with path.open("w", encoding="utf-8") as f:
        f.write("{")
        for i, (key, value) in enumerate(_summary_parts(assessment).items()):
            f.write(("\n" if i == 0 else ",\n") + "  " + encoder.encode(key) + ": ")
            if not isinstance(value, Iterator):
                f.write(indented(value, 1))
                continue
            opened = False
            for record in value:
                f.write((",\n    " if opened else "[\n    ") + indented(record, 2))
                opened = True
            f.write("\n  ]" if opened else "[]")
        f.write("\n}")


def _summary_parts(assessment: Assessment) -> dict[str, Any]:
    """summary.json's top-level entries; buildings and projects as iterators of records."""
    scores = assessment.scores
    if assessment.portfolio is not None:
        budget = plain_value(assessment.portfolio.as_dict(), nested=True)
    else:
        budget = {"limit": None, "selected_cost": 0.0, "risk_reduction": 0.0, "method": "none: no budget given",
                  "gap": None}
    report = assessment.report
    rejected = report.rejected_frame()
    return {
        "version": SUMMARY_VERSION,
        "as_of": assessment.as_of.isoformat(),
        "crs": assessment.district.crs,
        "output_crs": OUTPUT_CRS,
        "measured_in": "a transverse Mercator centred on each group of nearby campuses (geo.local)",
        "pass_edition": assessment.settings.edition,
        "district": plain_value(scores.district_rollup.iloc[0].to_dict(), nested=True) if len(scores.district_rollup) else {},
        "sites": plain_value(scores.site_rollup.reset_index().to_dict("records"), nested=True),
        "buildings": _building_records(assessment),
        "projects": _project_records(assessment.projects),
        "budget": budget,
        "data_needed": plain_value(assessment.data_needed.to_dict("records"), nested=True),
        "validation": {
            "errors": [p.as_dict() for p in report.errors],
            "warnings": [p.as_dict() for p in report.warnings],
            "rejected_rows": plain_value(rejected.astype(object).where(rejected.notna(), None).to_dict("records"),
                                         nested=True),
        },
        "timings_s": plain_value(assessment.timings, nested=True),
    }


def workbook_summary(assessment: Assessment) -> dict[str, Any]:
    """Key figures for the workbook's Summary sheet."""
    p = assessment.portfolio
    projects = assessment.projects
    figures: dict[str, Any] = {
        "Assessment date": assessment.as_of.isoformat(),
        "Sites": len(assessment.district.sites),
        "Buildings": len(assessment.district.buildings),
        "Projects": len(projects),
        "Cost of all projects (typical)": float(projects["cost"].sum()) if len(projects) else 0.0,
        "Risk reduction of all projects (alternatives counted once each)":
            round(float(projects["risk_reduction"].sum()), 1) if len(projects) else 0.0,
    }
    if p is not None:
        figures.update({
            "Budget": sum(p.budget), "Years": len(p.budget), "Projects chosen": len(p.selected),
            "Cost of chosen projects": p.total_cost,
            "Risk removed by chosen projects": round(p.total_risk_reduction, 1),
            "Method": p.method, "Optimality gap": gap_text(p.gap),
        })
    figures["Validation errors"] = len(assessment.report.errors)
    figures["Rows that could not be used"] = assessment.report.rejected_count
    return figures


def split_at_antimeridian(geoms: np.ndarray) -> np.ndarray:
    """Longitude/latitude geometries that cross +-180 (longitudes continuous past 180, or jumping
    by about 360 between vertices) cut there into the parts on either side, each within
    [-180, 180] (RFC 7946, 3.1.9); the others as they are. A campus is never half a world wide,
    so a geometry whose longitudes span more than 180 degrees is one that crosses."""
    import shapely
    from shapely import affinity

    geoms = np.asarray(geoms, dtype=object)
    xy, row = shapely.get_coordinates(geoms, return_index=True)
    if not len(xy):
        return geoms
    lo = np.full(len(geoms), np.inf)
    hi = np.full(len(geoms), -np.inf)
    np.minimum.at(lo, row, xy[:, 0])
    np.maximum.at(hi, row, xy[:, 0])
    cross = np.flatnonzero((hi - lo > 180.0) | (hi > 180.0) | (lo < -180.0))
    if not len(cross):
        return geoms
    out = geoms.copy()
    first = np.full(len(geoms), np.nan)
    first[row[::-1]] = xy[::-1, 0]

    def continuous(c: np.ndarray, ref: float) -> np.ndarray:
        return np.column_stack([ref + (c[:, 0] - ref + 180.0) % 360.0 - 180.0, c[:, 1]])

    for k in cross.tolist():
        g = shapely.transform(geoms[k], lambda c, ref=first[k]: continuous(c, ref))
        parts = [affinity.translate(shapely.intersection(g, shapely.box(x0, -1e3, x1, 1e3)), xoff=shift)
                 for x0, x1, shift in ((-180.0, 180.0, 0.0), (180.0, 900.0, -360.0), (-900.0, -180.0, 360.0))]
        parts = [part for part in parts if not part.is_empty]
        out[k] = shapely.union_all(parts) if len(parts) > 1 else parts[0]
    return out


def output_layer(layer: Any, crs: str | None = None) -> Any:
    """A coverage layer in the output CRS (default ``OUTPUT_CRS``): in a geographic CRS, what
    crosses the antimeridian is cut there (``split_at_antimeridian``)."""
    from pyproj import CRS

    if layer is None or layer.crs is None:
        return layer
    out = layer.to_crs(crs or OUTPUT_CRS)
    if len(out) and CRS.from_user_input(out.crs).is_geographic:
        out = out.set_geometry(type(out.geometry)(split_at_antimeridian(out.geometry.values),
                                                  index=out.index, crs=out.crs))
    return out


def write_outputs(assessment: Assessment, out_dir: Path, *, crs: str | None = None) -> dict[str, Path]:
    """Write every export of an assessment into ``out_dir`` (created if needed).

    ``coverage.gpkg`` is written in ``crs`` (default ``OUTPUT_CRS``, EPSG:4326); the map is
    always in longitude/latitude."""
    from facility_planner.mapping import export_map, map_html

    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {name: out_dir / name for name in ("assessment.xlsx", "coverage.gpkg", "map.html",
                                                 "projects.csv", "summary.json")}
    write_workbook(paths["assessment.xlsx"], assessment)
    write_projects_csv(paths["projects.csv"], assessment.projects)
    layers = assessment.coverage.layers if assessment.coverage is not None else {}
    write_geopackage(paths["coverage.gpkg"], layers, prepare=lambda layer: output_layer(layer, crs))
    paths["map.html"].write_text(map_html(export_map(assessment.district, coverage=assessment.coverage,
                                                     scores=assessment.scores)), encoding="utf-8")
    write_summary(paths["summary.json"], assessment)  # last, record by record: no step holds another's rows
    return paths


def write_workbook(target: Target, assessment: Assessment, *,
                   comparison: tuple[pd.DataFrame, str] | None = None) -> None:
    """``assessment.xlsx`` of an assessment (``write_assessment_workbook``), with the Comparison
    sheet when ``comparison`` (table, title) is given."""
    from facility_planner.planning import gaps_table

    write_assessment_workbook(
        target, summary=workbook_summary(assessment),
        buildings=buildings_scorecard(assessment), projects=assessment.projects,
        gaps=gaps_table(assessment.scores.results, assessment.projects),
        assumptions=assessment.assumptions, validation=assessment.report.to_frame(),
        rejected=assessment.report.rejected_frame(), spend_by_year=spend_by_year(assessment),
        comparison=comparison)


def add_summary_entry(path: Path, key: str, value: Any) -> None:
    """Add ``key: value`` as the last entry of a summary.json that ``write_summary`` wrote (and that
    has no ``key`` yet), appended to the file: the text ``json.dump`` would write for the
    document with the entry, without reading the document back."""
    entry = json.JSONEncoder(indent=2, default=str).encode(value).replace("\n", "\n  ")
    with path.open("r+b") as f:
        f.seek(-2, 2)
        if f.read(2) != b"\n}":
            raise ValueError(f"{path} does not end as summary.json does")
        f.seek(-2, 2)
        f.truncate()
        f.write(f",\n  {json.dumps(key)}: {entry}\n}}".encode())


# --- the workbook ---------------------------------------------------------------------------------
#
# Written in openpyxl's write-only mode: rows are streamed to the file as they are appended, so
# the workbook never holds every cell (a ~800-school district has millions). Write-only sheets
# take their column widths and freeze panes before the first row, so ``_Sheet`` sets them when it
# is made, from every frame the sheet will hold; tables, conditional formats and charts are added
# after the rows. ``_Sheet`` only appends, so it writes onto an ordinary (loaded) workbook's new
# sheet the same way (the Comparison sheet).

class _Sheet:
    """Streams frames onto one worksheet as Excel tables (filters on), with number formats.

    ``widths_from``: every frame the sheet will hold (columns sized to their header and first 200
    values, at most 60); ``min_widths``: column letter -> least width; ``freeze``: the freeze-panes
    cell. All three are set before the first row, as write-only sheets need.
    """

    def __init__(self, ws: Any, tables: set[str], *, widths_from: tuple[pd.DataFrame, ...] = (),
                 min_widths: Mapping[str, float] | None = None, freeze: str | None = None) -> None:
        self.ws, self.tables, self.row = ws, tables, 0
        _set_widths(ws, widths_from, min_widths or {})
        if freeze:
            ws.freeze_panes = freeze

    def append(self, cells: list[Any]) -> None:
        """One row after the last (values, or cells from ``styled``)."""
        self.ws.append(cells)
        self.row += 1

    def styled(self, value: Any, *, number_format: str | None = None, font: Any = None) -> Any:
        """A cell of this sheet with its value (cleaned by the caller) and style."""
        from openpyxl.cell import WriteOnlyCell

        cell = WriteOnlyCell(self.ws, value=value)
        if number_format:
            cell.number_format = number_format
        if font is not None:
            cell.font = font
        return cell

    def heading(self, text: str, *, size: int) -> None:
        """A bold line of text (a sheet's or a table's title)."""
        from openpyxl.styles import Font

        self.append([self.styled(_xlsx_cell(text), font=Font(bold=True, size=size))])

    def frame(self, frame: pd.DataFrame, *, name: str, start_row: int | None = None, title: str | None = None,
              formats: Mapping[str, str] | None = None,
              row_formats: Mapping[str, list[str | None]] | None = None) -> tuple[int, int]:
        """Write header and rows at ``start_row`` (default: the next row) as the Excel table
        ``name``; returns (header row, last row).

        ``formats``: column -> number format ("" for none), else ``_number_format``;
        ``row_formats``: column -> one number format per row (None: the column's)."""
        from openpyxl.styles import Font

        while start_row is not None and self.row < start_row - 1:
            self.append([])
        if title:
            self.heading(title, size=12)
        headers = _unique_headers(frame.columns)
        bold = Font(bold=True)
        self.append([self.styled(h, font=bold) for h in headers])
        header = self.row
        column_formats = [(formats or {}).get(str(c), _number_format(str(c), frame[c])) for c in frame.columns]
        per_row = [(row_formats or {}).get(str(c)) for c in frame.columns]
        for first in range(0, len(frame), _ROW_BATCH):
            batch = frame.iloc[first:first + _ROW_BATCH]
            columns = [_cleaned(batch.iloc[:, j].tolist(), _xlsx_cell) for j in range(batch.shape[1])]
            for i, values in enumerate(zip(*columns, strict=True), start=first):
                self.append([v if v is None else self._formatted(v, fmt, rows, i)
                             for v, fmt, rows in zip(values, column_formats, per_row, strict=True)])
        if not len(frame):
            self.append([])  # an Excel table holds at least one (blank) row
        if len(headers):
            self._table(name, header, self.row, headers)
        return header, self.row

    def _formatted(self, value: Any, fmt: str | None, rows: list[str | None] | None, i: int) -> Any:
        fmt = (rows[i] if rows is not None and i < len(rows) else None) or fmt
        return self.styled(value, number_format=fmt) if fmt else value

    def _table(self, name: str, header: int, last: int, headers: list[str]) -> None:
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.filters import AutoFilter
        from openpyxl.worksheet.table import Table, TableColumn, TableStyleInfo

        display = re.sub(r"\W", "", name) or "Table"
        while display in self.tables:
            display += "_"
        self.tables.add(display)
        ref = f"A{header}:{get_column_letter(len(headers))}{last}"
        # named here: openpyxl reads a table's column names from its cells, which a write-only sheet lacks
        table = Table(displayName=display, ref=ref, autoFilter=AutoFilter(ref=ref),
                      tableColumns=[TableColumn(id=j, name=h) for j, h in enumerate(headers, start=1)])
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        with warnings.catch_warnings():  # "you must add table columns manually": added above
            warnings.filterwarnings("ignore", message="In write-only mode you must add table columns")
            self.ws.add_table(table)


def _unique_headers(columns: Any) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for col in columns:
        text = str(_xlsx_cell(str(col))) or "column"
        seen[text] = seen.get(text, 0) + 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def _number_format(column: str, series: pd.Series) -> str | None:
    """Currency for money, set places for coordinates and ratios, one decimal for other fractions."""
    if column in _CURRENCY_COLUMNS:
        return _CURRENCY
    if column in _ROUNDED:
        return _ROUNDED[column]
    if pd.api.types.is_float_dtype(series.dtype):
        return _ONE_DECIMAL
    return None


def _set_widths(ws: Any, frames: tuple[pd.DataFrame, ...], least: Mapping[str, float]) -> None:
    """Column widths fitting every frame's header and first 200 values (at most 60), at least
    ``least`` (and openpyxl's default)."""
    from openpyxl.utils import get_column_letter

    for letter, width in least.items():
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, width)
    for frame in frames:
        for j, name in enumerate(frame.columns, start=1):
            sample = [len(str(name))] + [len(str(v)) for v in frame[name].head(200).map(plain_value) if v is not None]
            letter = get_column_letter(j)
            ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, min(60, max(sample) + 2))


def _summary_format(key: str, value: Any) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if any(w in key.lower() for w in ("cost", "budget", "limit", "match", "spend")):
        return _CURRENCY
    return _ONE_DECIMAL if isinstance(value, float) else "#,##0"


def _summary_sheet(wb: Any, tables: set[str], summary: Mapping[str, Any], spend: pd.DataFrame | None) -> _Sheet:
    """Key figures (currency formatted) and the spend-by-year table with its chart."""
    figures = pd.DataFrame({"figure": [str(k).replace("_", " ") for k in summary],
                            "value": [plain_value(v) for v in summary.values()]})
    spend = spend if spend is not None and len(spend) else None
    sheet = _Sheet(wb.create_sheet("Summary"), tables, widths_from=(figures,) + ((spend,) if spend is not None else ()),
                   min_widths={"A": 34, "B": 24})
    sheet.heading("School facility security assessment", size=14)
    sheet.frame(figures, name="KeyFigures", start_row=3, formats={"value": ""},
                row_formats={"value": [_summary_format(str(k), plain_value(v)) for k, v in summary.items()]})
    if spend is not None:
        top = sheet.row + 2
        _, last = sheet.frame(spend, name="SpendByYear", start_row=top, title="Chosen projects by year")
        _spend_chart(sheet.ws, spend, top + 1, last)
    return sheet


def _spend_chart(ws: Any, spend: pd.DataFrame, header: int, last: int) -> None:
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.title = "Spend and risk removed by year"
    chart.y_axis.title = "USD / risk points"
    cols = list(spend.columns)
    for name in ("spend", "budget", "risk_reduction"):
        if name in cols:
            j = cols.index(name) + 1
            chart.add_data(Reference(ws, min_col=j, min_row=header, max_row=last), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=header + 1, max_row=last))
    chart.height, chart.width = 8, 16
    ws.add_chart(chart, "E3")


def _derived_spend(projects: pd.DataFrame) -> pd.DataFrame | None:
    if not len(projects) or "selected" not in projects or "year" not in projects:
        return None
    chosen = projects.loc[projects["selected"].fillna(False).astype(bool)]
    return (chosen.groupby("year")[["cost", "risk_reduction"]].sum().reset_index()
            .rename(columns={"cost": "spend"}))


def _projects_sheet(sheet: _Sheet, projects: pd.DataFrame, summary_ws: Any) -> None:
    """Ranked projects: table, currency, colour scale on the ratio, chosen rows green, cost/risk chart."""
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
    from openpyxl.styles import PatternFill
    from openpyxl.utils import get_column_letter

    ws = sheet.ws
    header, last = sheet.frame(projects, name="Projects")
    if not len(projects):
        return
    cols = list(projects.columns)
    if "ratio" in cols:
        letter = get_column_letter(cols.index("ratio") + 1)
        ws.conditional_formatting.add(f"{letter}{header + 1}:{letter}{last}", ColorScaleRule(
            start_type="min", start_color="F8696B", mid_type="percentile", mid_value=50,
            mid_color="FFEB84", end_type="max", end_color="63BE7B"))
    if "in_budget" in cols:
        letter = get_column_letter(cols.index("in_budget") + 1)
        ws.conditional_formatting.add(f"{letter}{header + 1}:{letter}{last}", CellIsRule(
            operator="equal", formula=["TRUE"], fill=PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE")))
    if "cost" in cols and "risk_reduction" in cols:
        _projects_chart(ws, summary_ws, cols, header, last)


def _projects_chart(ws: Any, summary_ws: Any, cols: list[str], header: int, last: int) -> None:
    from openpyxl.chart import Reference, ScatterChart, Series

    chart = ScatterChart()
    chart.title = "Projects: cost against risk removed"
    chart.style = 13
    chart.x_axis.title = "cost (USD)"
    chart.y_axis.title = "risk removed"
    xs = Reference(ws, min_col=cols.index("cost") + 1, min_row=header + 1, max_row=last)
    ys = Reference(ws, min_col=cols.index("risk_reduction") + 1, min_row=header + 1, max_row=last)
    series = Series(ys, xs, title="projects")
    series.marker.symbol = "circle"
    series.graphicalProperties.line.noFill = True
    chart.series.append(series)
    chart.height, chart.width = 8, 16
    summary_ws.add_chart(chart, "E20")


def _validation_sheet(wb: Any, tables: set[str], validation: pd.DataFrame | None,
                      rejected: pd.DataFrame | None) -> None:
    problems = validation if validation is not None else pd.DataFrame(
        columns=["severity", "file", "sheet", "row", "column", "value", "message"])
    rows = numbers_from_text(rejected if rejected is not None else pd.DataFrame(columns=["sheet", "source_row", "reason"]))
    sheet = _Sheet(wb.create_sheet("Validation"), tables, widths_from=(problems, rows))
    _, last = sheet.frame(problems, name="Problems", title="Problems found in the input")
    sheet.frame(rows, name="RejectedRows", start_row=last + 3, title="Rejected rows (not used; fix and re-upload)")


def write_assessment_workbook(
    target: Target,
    *,
    summary: Mapping[str, Any],
    buildings: pd.DataFrame,
    projects: pd.DataFrame,
    gaps: pd.DataFrame,
    assumptions: pd.DataFrame,
    validation: pd.DataFrame | None = None,
    rejected: pd.DataFrame | None = None,
    spend_by_year: pd.DataFrame | None = None,
    comparison: tuple[pd.DataFrame, str] | None = None,
) -> None:
    """Write ``assessment.xlsx``: Summary, Buildings, Projects, Gaps, Assumptions, Validation
    (and Comparison, when given).

    Every block is an Excel table with filters; money in currency format, fractions shown to one
    decimal (cells keep full precision); rejected rows' numbers stay numbers.

    Parameters
    ----------
    target
        Path or binary file object.
    summary
        Key figures shown on Summary (budget, chosen cost, risk removed, method, gap, ...).
    buildings
        Scorecard per building (risk factors, minimum measures, tiers).
    projects
        Ranked projects, ideally annotated by ``Portfolio.annotate`` (selected, year, in_budget,
        cumulative_cost); lists (grants, evidence) are written as ``;``-separated text.
    gaps
        Gap rows with their evidence (``planning.projects.gaps_table``).
    assumptions
        Every unit cost, weight and parameter with its source.
    validation, rejected
        Problems found on input and the rejected rows (``ValidationReport.to_frame`` and
        ``rejected_frame``).
    spend_by_year
        Optional frame ``year, budget, spend, risk_reduction`` for the Summary chart; derived from
        ``projects`` when omitted.
    comparison
        Optional (table, title): what changed since an earlier snapshot, the last sheet (as
        ``add_comparison_sheet`` adds it).

    Every text cell goes through ``sanitize_cell``.
    """
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    tables: set[str] = set()
    summary_ws = _summary_sheet(wb, tables, summary,
                                spend_by_year if spend_by_year is not None else _derived_spend(projects)).ws
    buildings = buildings.reset_index() if buildings.index.name else buildings
    _Sheet(wb.create_sheet("Buildings"), tables, widths_from=(buildings,), freeze="B2").frame(buildings, name="Buildings")
    _projects_sheet(_Sheet(wb.create_sheet("Projects"), tables, widths_from=(projects,), freeze="B2"), projects,
                    summary_ws)
    for title, frame in (("Gaps", gaps), ("Assumptions", assumptions)):
        _Sheet(wb.create_sheet(title), tables, widths_from=(frame,), freeze="A2").frame(frame, name=title)
    _validation_sheet(wb, tables, validation, rejected)
    if comparison is not None:
        _comparison_sheet(wb, tables, *comparison)
    wb.save(target)


# --- CSV and GeoPackage ---------------------------------------------------------------------------

def write_projects_csv(target: Target, projects: pd.DataFrame) -> None:
    """Write the projects as CSV for grant portals: UTF-8, every cell quoted, text neutralised."""
    write_csv(target, projects)


def write_csv(target: Target, frame: pd.DataFrame) -> None:
    """Write any frame as CSV: UTF-8, every cell quoted, lists as ``;``-text, text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([sanitize_cell(str(c)) for c in frame.columns])
    columns = [_cleaned(frame.iloc[:, j].tolist(), _csv_cell) for j in range(frame.shape[1])]
    writer.writerows(zip(*columns, strict=True))
    data = buffer.getvalue().encode("utf-8")
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(data)
    else:
        target.write(data)


def _cleaned(values: list[Any], clean: Callable[[Any], Any]) -> list[Any]:
    """One column's cells through ``clean``; each distinct text is cleaned once (problem lists and
    statuses repeat the same sentence in thousands of rows)."""
    cache: dict[str, Any] = {}
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            try:
                out.append(cache[value])
            except KeyError:
                cache[value] = clean(value)
                out.append(cache[value])
        else:
            out.append(clean(value))
    return out


def _csv_cell(value: Any) -> Any:
    cell = sanitize_cell(plain_value(value))
    return "" if cell is None else cell


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``write_csv`` into bytes (downloads)."""
    buffer = io.BytesIO()
    write_csv(buffer, frame)
    return buffer.getvalue()


def geopackage_layer(gdf: Any) -> Any:
    """A layer GDAL can write: text cleaned and neutralised, lists joined, nullable booleans as
    ``yes``/``no``/blank text when any is missing."""
    import geopandas as gpd

    frame = gdf.copy()
    if not isinstance(frame, gpd.GeoDataFrame):
        frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
    for col in frame.columns:
        if col == frame.geometry.name:
            continue
        series = frame[col]
        if series.dtype == object or pd.api.types.is_string_dtype(series):
            frame[col] = pd.Series([_text_cell(v) for v in series], index=frame.index, dtype="object")
        elif isinstance(series.dtype, pd.BooleanDtype) and series.isna().any():
            frame[col] = pd.Series([None if pd.isna(v) else ("yes" if v else "no") for v in series],
                                   index=frame.index, dtype="object")
    return frame


def write_geopackage(path: str | Path, layers: Mapping[str, Any],
                     prepare: Callable[[Any], Any] | None = None) -> list[str]:
    """Write one GeoPackage layer per key; list/dict columns become text, text is neutralised.

    Empty layers are written too (with their columns), so a layer's absence never means
    "not computed". Geometry is written as is, after ``prepare`` (e.g. ``output_layer``), which
    is applied to one layer at a time just before it is written (one copy held, not every
    layer's). Returns the layer names written.
    """
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    written = []
    for name, raw in layers.items():
        gdf = prepare(raw) if prepare is not None and raw is not None else raw
        if gdf is None:
            continue
        kwargs: dict[str, Any] = {"layer": str(name), "driver": "GPKG"}
        if len(gdf) == 0:
            kwargs["geometry_type"] = "Unknown"
        pyogrio.write_dataframe(geopackage_layer(gdf), path, **kwargs)
        written.append(str(name))
        del gdf
    return written


def _comparison_sheet(wb: Any, tables: set[str], comparison: pd.DataFrame, title: str) -> None:
    _Sheet(wb.create_sheet("Comparison"), tables, widths_from=(comparison,), freeze="A3").frame(
        comparison, name="Comparison", title=title)


def add_comparison_sheet(workbook: Target | bytes, comparison: pd.DataFrame, *, title: str) -> bytes | None:
    """Add (or replace) a "Comparison" sheet in an assessment workbook: what changed since an
    earlier snapshot (``store.compare.comparison_table``), as an Excel table, every text cell
    neutralised.

    ``workbook``: a path (rewritten in place; returns None) or the workbook's bytes (returns the
    new bytes).
    """
    from openpyxl import load_workbook

    source = io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook
    wb = load_workbook(source)
    if "Comparison" in wb.sheetnames:
        del wb["Comparison"]
    _comparison_sheet(wb, {name for sheet in wb.worksheets for name in sheet.tables}, comparison, title)
    if isinstance(workbook, bytes):
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    wb.save(workbook)
    return None
