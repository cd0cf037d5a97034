"""Exports for finance and GIS: the assessment workbook, a projects CSV, a GeoPackage.

Spreadsheet formula injection (OWASP "CSV Injection"): a text cell whose first character is
``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL may be run as a formula by Excel or
LibreOffice. Following OWASP, such text is prefixed with a single quote ``'`` so it is shown as
text, and CSV cells are all wrapped in double quotes (embedded quotes doubled). Numbers stay
numbers; only text is touched. Characters XML cannot hold (NUL and other C0 controls) are removed
from workbook cells after neutralising.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CURRENCY = '"$"#,##0'
_CURRENCY_COLUMNS = ("cost", "cost_low", "cost_high", "life_cycle_cost", "annual_cost", "annual_upkeep",
                     "local_match", "cumulative_cost", "unit_cost_low", "unit_cost_typical", "unit_cost_high")

Target = str | Path | IO[bytes]


def sanitize_cell(value: Any) -> Any:
    """Neutralise a text value a spreadsheet could run as a formula (OWASP: prefix ``'``).

    Non-text values are returned unchanged.

    Examples
    --------
    >>> sanitize_cell('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> sanitize_cell(-3)
    -3
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    """A cell value for export: lists and dicts as text, NA as blank, numpy scalars as Python."""
    if value is None:
        return None
    if isinstance(value, (list, tuple, set, np.ndarray)):
        return "; ".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, default=str, ensure_ascii=False)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, float) and np.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.to_pydatetime()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (int, float, str, datetime, date)):
        return value
    return str(value)


def _xlsx_cell(value: Any) -> Any:
    value = sanitize_cell(_text(value))
    if isinstance(value, str):
        value = _ILLEGAL_XML.sub("", value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def _rows(frame: pd.DataFrame) -> list[list[Any]]:
    return [[_xlsx_cell(v) for v in row] for row in frame.itertuples(index=False, name=None)]


def _write_frame(ws: Any, frame: pd.DataFrame, *, start_row: int = 1, title: str | None = None) -> tuple[int, int]:
    """Write header and rows at ``start_row``; returns (header row, last row)."""
    from openpyxl.styles import Font

    row = start_row
    if title:
        ws.cell(row=row, column=1, value=_xlsx_cell(title)).font = Font(bold=True, size=12)
        row += 1
    for j, name in enumerate(frame.columns, start=1):
        ws.cell(row=row, column=j, value=_xlsx_cell(str(name))).font = Font(bold=True)
    header = row
    for values in _rows(frame):
        row += 1
        for j, v in enumerate(values, start=1):
            ws.cell(row=row, column=j, value=v)
    _autowidth(ws, frame)
    return header, row


def _autowidth(ws: Any, frame: pd.DataFrame) -> None:
    from openpyxl.utils import get_column_letter

    for j, name in enumerate(frame.columns, start=1):
        sample = [len(str(name))] + [len(str(v)) for v in frame[name].head(200).map(_text) if v is not None]
        width = min(60, max(sample) + 2)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = max(ws.column_dimensions[letter].width or 0, width)


def _currency(ws: Any, frame: pd.DataFrame, header: int, last: int) -> None:
    for j, name in enumerate(frame.columns, start=1):
        if name in _CURRENCY_COLUMNS:
            for r in range(header + 1, last + 1):
                ws.cell(row=r, column=j).number_format = _CURRENCY


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
) -> None:
    """Write ``assessment.xlsx``: Summary, Buildings, Projects, Gaps, Assumptions, Validation.

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

    Every text cell goes through ``sanitize_cell``.
    """
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference, ScatterChart, Series
    from openpyxl.formatting.rule import CellIsRule, ColorScaleRule
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    wb = Workbook()
    ws = wb.active
    ws.title = "Summary"
    ws["A1"] = "School facility security assessment"
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 40
    r = 3
    for key, value in summary.items():
        ws.cell(row=r, column=1, value=_xlsx_cell(str(key).replace("_", " ")))
        cell = ws.cell(row=r, column=2, value=_xlsx_cell(value))
        if any(w in str(key) for w in ("cost", "budget", "limit", "match")) and isinstance(cell.value, (int, float)):
            cell.number_format = _CURRENCY
        r += 1

    # spend and risk removed by year, for the chart
    if spend_by_year is None and len(projects) and "selected" in projects and "year" in projects:
        chosen = projects.loc[projects["selected"].astype(bool)]
        spend_by_year = (chosen.groupby("year")[["cost", "risk_reduction"]].sum().reset_index()
                         .rename(columns={"cost": "spend"}))
    if spend_by_year is not None and len(spend_by_year):
        top = r + 1
        _, last = _write_frame(ws, spend_by_year, start_row=top, title="Chosen projects by year")
        chart = BarChart()
        chart.title = "Spend and risk removed by year"
        chart.y_axis.title = "USD / risk points"
        cols = list(spend_by_year.columns)
        for name in ("spend", "budget", "risk_reduction"):
            if name in cols:
                j = cols.index(name) + 1
                chart.add_data(Reference(ws, min_col=j, min_row=top + 1, max_row=last), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=top + 2, max_row=last))
        chart.height, chart.width = 8, 16
        ws.add_chart(chart, "D3")
        r = last + 2

    # Buildings
    wsb = wb.create_sheet("Buildings")
    _write_frame(wsb, buildings.reset_index() if buildings.index.name else buildings)
    wsb.freeze_panes = "B2"

    # Projects: an Excel table, currency, conditional formatting
    wsp = wb.create_sheet("Projects")
    header, last = _write_frame(wsp, projects)
    wsp.freeze_panes = "B2"
    if len(projects):
        ref = f"A{header}:{get_column_letter(len(projects.columns))}{last}"
        table = Table(displayName="Projects", ref=ref)
        table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
        wsp.add_table(table)
        _currency(wsp, projects, header, last)
        cols = list(projects.columns)
        if "ratio" in cols:
            letter = get_column_letter(cols.index("ratio") + 1)
            wsp.conditional_formatting.add(f"{letter}{header + 1}:{letter}{last}", ColorScaleRule(
                start_type="min", start_color="F8696B", mid_type="percentile", mid_value=50,
                mid_color="FFEB84", end_type="max", end_color="63BE7B"))
        if "in_budget" in cols:
            letter = get_column_letter(cols.index("in_budget") + 1)
            wsp.conditional_formatting.add(f"{letter}{header + 1}:{letter}{last}", CellIsRule(
                operator="equal", formula=["TRUE"], fill=PatternFill("solid", start_color="C6EFCE", end_color="C6EFCE")))
        if "cost" in cols and "risk_reduction" in cols:
            chart = ScatterChart()
            chart.title = "Projects: cost against risk removed"
            chart.style = 13
            chart.x_axis.title = "cost (USD)"
            chart.y_axis.title = "risk removed"
            xs = Reference(wsp, min_col=cols.index("cost") + 1, min_row=header + 1, max_row=last)
            ys = Reference(wsp, min_col=cols.index("risk_reduction") + 1, min_row=header + 1, max_row=last)
            series = Series(ys, xs, title="projects")
            series.marker.symbol = "circle"
            series.graphicalProperties.line.noFill = True
            chart.series.append(series)
            chart.height, chart.width = 8, 16
            ws.add_chart(chart, "D20")

    wsg = wb.create_sheet("Gaps")
    _write_frame(wsg, gaps)
    wsg.freeze_panes = "A2"
    wsa = wb.create_sheet("Assumptions")
    _write_frame(wsa, assumptions)
    wsa.freeze_panes = "A2"
    wsv = wb.create_sheet("Validation")
    problems = validation if validation is not None else pd.DataFrame(
        columns=["severity", "file", "sheet", "row", "column", "value", "message"])
    _, last = _write_frame(wsv, problems, title="Problems found in the input")
    rows = rejected if rejected is not None else pd.DataFrame(columns=["sheet", "source_row", "reason"])
    _write_frame(wsv, rows, start_row=last + 3, title="Rejected rows (not used; fix and re-upload)")
    wb.save(target)


def write_projects_csv(target: Target, projects: pd.DataFrame) -> None:
    """Write the projects as CSV for grant portals: UTF-8, every cell quoted, text neutralised."""
    write_csv(target, projects)


def write_csv(target: Target, frame: pd.DataFrame) -> None:
    """Write any frame as CSV: UTF-8, every cell quoted, lists as ``;``-text, text neutralised."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow([sanitize_cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        cells = []
        for v in row:
            v = sanitize_cell(_text(v))
            cells.append("" if v is None else v)
        writer.writerow(cells)
    data = buffer.getvalue().encode("utf-8")
    if isinstance(target, (str, Path)):
        Path(target).write_bytes(data)
    else:
        target.write(data)


def write_geopackage(path: str | Path, layers: Mapping[str, Any]) -> list[str]:
    """Write one GeoPackage layer per key; list/dict columns become text, text is neutralised.

    Empty layers are written too (with their columns), so a layer's absence never means
    "not computed". Geometry is written as is. Returns the layer names written.
    """
    import geopandas as gpd
    import pyogrio

    path = Path(path)
    if path.exists():
        path.unlink()
    written = []
    for name, gdf in layers.items():
        if gdf is None:
            continue
        frame = gdf.copy()
        if not isinstance(frame, gpd.GeoDataFrame):
            frame = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([None] * len(frame)))
        for col in frame.columns:
            if col == frame.geometry.name:
                continue
            series = frame[col]
            if series.dtype == object or pd.api.types.is_string_dtype(series):
                frame[col] = pd.Series([_gpkg_text(v) for v in series], index=frame.index, dtype="object")
            elif isinstance(series.dtype, pd.BooleanDtype):
                frame[col] = series.astype("object").where(series.notna(), None)
        kwargs: dict[str, Any] = {"layer": str(name), "driver": "GPKG"}
        if len(frame) == 0:
            kwargs["geometry_type"] = "Unknown"
        pyogrio.write_dataframe(frame, path, **kwargs)
        written.append(str(name))
    return written


def _gpkg_text(value: Any) -> str | None:
    value = _text(value)
    if value is None:
        return None
    return sanitize_cell(value if isinstance(value, str) else str(value))


def add_comparison_sheet(workbook: Target | bytes, comparison: pd.DataFrame, *, title: str) -> bytes | None:
    """Add (or replace) a "Comparison" sheet in an assessment workbook: what changed since an
    earlier snapshot (``store.compare.comparison_table``), every text cell neutralised.

    ``workbook``: a path (rewritten in place; returns None) or the workbook's bytes (returns the
    new bytes).
    """
    from openpyxl import load_workbook

    source = io.BytesIO(workbook) if isinstance(workbook, bytes) else workbook
    wb = load_workbook(source)
    if "Comparison" in wb.sheetnames:
        del wb["Comparison"]
    ws = wb.create_sheet("Comparison")
    _write_frame(ws, comparison, title=title)
    _currency(ws, comparison, 2, len(comparison) + 2)
    ws.freeze_panes = "A3"
    if isinstance(workbook, bytes):
        out = io.BytesIO()
        wb.save(out)
        return out.getvalue()
    wb.save(workbook)
    return None
