"""The blank inventory workbook: one sheet per table, notes on every header, drop-down lists."""

from __future__ import annotations

import datetime as dt
import os
from typing import IO, Any

from facility_planner.model import TABLES, Column, Table

__all__ = ["write_template", "TEMPLATE_ROWS"]

#: Rows (after the header) that carry drop-down lists.
TEMPLATE_ROWS = 5000

_GUIDE_SHEET = "How to fill"
_FORMATS = (
    ("Sheets", "One sheet per table, named as below (case and spaces do not matter). Keep the header "
               "row; delete the grey example row once you have your own data. Only sites and "
               "buildings are required; leave out any sheet you have no data for."),
    ("CSV instead", "A folder of CSV files named like the sheets (sites.csv, buildings.csv, "
                    "doors.csv, ...) is read the same way."),
    ("Headers", "Headers are matched ignoring case, spaces and punctuation. Other common spellings "
                "are accepted too (\"Door #\" for door_id, \"BLDG\" for building_id): see each "
                "header's note. Columns with other headers are ignored and reported."),
    ("Required", "Blue headers are required. A row without its id, or whose building/site is not "
                 "listed, cannot be used: it is reported, never silently dropped."),
    ("Yes/no", "Y/N, yes/no, true/false, 1/0, or x for yes. Leave blank when you do not know: blank "
               "means unknown, never no."),
    ("Lists", "Columns with a fixed list of values have a drop-down; the words are matched ignoring "
              "case and spaces (\"Exterior Primary\" = exterior_primary)."),
    ("Numbers", "Plain numbers; thousands separators are fine (1,200)."),
    ("Lengths", "Metres. For feet, name the column with _ft (range_ft) or _sqft for areas "
                "(gross_area_sqft): it is converted."),
    ("Dates", "Excel dates, 2025-08-15, or 8/15/2025 (month/day/year)."),
    ("Locations", "lon/lat: WGS84 decimal degrees (longitude -77.03, latitude 38.89; longitude "
                  "first, negative west of Greenwich). Or x/y in the campus map's coordinate "
                  "system. Leave both blank to place the item at its room or building: it is then "
                  "counted, but drawn without coverage."),
    ("Ids", "Each id is unique within its sheet. References (building_id on a door, site_id on a "
            "building) must match an id on the other sheet."),
)


def write_template(target: str | os.PathLike[str] | IO[bytes]) -> None:
    """Write the blank inventory workbook.

    Parameters
    ----------
    target
        Path of the .xlsx to write, or a binary file object (``BytesIO``).
    """
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    guide = book.active
    guide.title = _GUIDE_SHEET
    _write_guide(guide, Font=Font, Alignment=Alignment)

    header_font = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="BDD7EE")
    example_font = Font(italic=True, color="808080")
    last = TEMPLATE_ROWS + 1
    for table in TABLES.values():
        sheet = book.create_sheet(table.name)
        sheet.freeze_panes = "A2"
        for j, col in enumerate(table.columns, start=1):
            letter = get_column_letter(j)
            cell = sheet.cell(row=1, column=j, value=col.name)
            cell.font = header_font
            if col.required:
                cell.fill = required_fill
            comment = Comment(_header_note(col), "facility-planner")
            comment.width, comment.height = 320, 160
            cell.comment = comment
            sheet.column_dimensions[letter].width = max(12, len(col.name) + 4)
            example = _example_value(col)
            if example is not None:
                value = sheet.cell(row=2, column=j, value=example)
                value.font = example_font
                if col.kind == "date":
                    value.number_format = "yyyy-mm-dd"
            choices = col.enum if col.kind == "enum" else ("Yes", "No") if col.kind == "bool" else ()
            if choices:
                validation = DataValidation(type="list", formula1='"' + ",".join(choices) + '"',
                                            allow_blank=True, showErrorMessage=True,
                                            errorTitle=col.name,
                                            error=f"Choose one of: {', '.join(choices)}.")
                validation.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(validation)
            elif col.kind == "date":
                validation = DataValidation(type="date", operator="greaterThan", formula1="1",
                                            allow_blank=True, showErrorMessage=False)
                validation.add(f"{letter}2:{letter}{last}")
                sheet.add_data_validation(validation)
    book.save(target)


def _header_note(col: Column) -> str:
    parts = [col.note]
    if col.kind == "enum":
        parts.append("One of: " + ", ".join(col.enum) + ".")
    if col.required:
        parts.append("Required.")
    if col.refers_to:
        parts.append(f"Must match an id on the {col.refers_to} sheet.")
    if col.aliases:
        parts.append("Also accepted as header: " + ", ".join(col.aliases) + ".")
    if col.converted:
        parts.append("In feet: name the column " + " or ".join(col.converted) + ".")
    return "\n".join(parts)


def _example_value(col: Column) -> Any:
    example = col.example
    if example is None:
        return None
    if col.kind == "bool":
        return "Yes" if str(example).strip().lower() in ("y", "yes", "true", "1", "x") else "No"
    if col.kind == "date" and isinstance(example, str):
        return dt.date.fromisoformat(example)
    return example


def _write_guide(sheet: Any, *, Font: Any, Alignment: Any) -> None:  # noqa: N803 (openpyxl classes)
    wrap = Alignment(wrap_text=True, vertical="top")
    sheet.column_dimensions["A"].width = 18
    sheet.column_dimensions["B"].width = 100
    sheet["A1"] = "facility-planner inventory"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = ("Fill in one sheet per table. Hover over a header for its meaning; the grey row "
                   "is an example.")
    row = 4
    sheet.cell(row=row, column=1, value="How to write values").font = Font(bold=True)
    for topic, text in _FORMATS:
        row += 1
        sheet.cell(row=row, column=1, value=topic).font = Font(bold=True)
        sheet.cell(row=row, column=2, value=text).alignment = wrap
    row += 2
    sheet.cell(row=row, column=1, value="Sheets").font = Font(bold=True)
    for table in TABLES.values():
        row += 1
        sheet.cell(row=row, column=1, value=table.name).font = Font(bold=True)
        sheet.cell(row=row, column=2, value=_sheet_summary(table)).alignment = wrap


def _sheet_summary(table: Table) -> str:
    key = " + ".join(table.key)
    required = [c.name for c in table.columns if c.required and c.name not in table.key]
    needs = f"; also required: {', '.join(required)}" if required else ""
    return f"{table.note} Key: {key}{needs}. Columns: {', '.join(table.column_names)}."
