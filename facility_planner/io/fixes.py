"""Inline fixes: a sheet of the uploaded inventory as written, and the same file with cells corrected.

Fixes are made in the user's own file (the workbook's sheet, or the CSV file), cell by cell, and
the corrected file is read again by the same reader as any upload. So every message keeps the
original file, sheet and spreadsheet row, and a value the reader could not use stays in the file
(and stays an error) until the user types a value or clears the cell on purpose.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import pandas as pd

from facility_planner.errors import InputError

#: Column of the editable frame holding the spreadsheet row (header = 1 when it is the first row).
ROW = "row"
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


@dataclass
class RawSheet:
    """One table's sheet as the user wrote it: headers, and one text cell per column and row."""

    table: str
    file: str
    sheet: str            # the sheet's own name (the CSV's file name for CSV)
    header_row: int       # spreadsheet row of the header
    frame: pd.DataFrame   # ``ROW`` then the sheet's own headers; every cell text ("" = blank)


def _table_of(name: str) -> str | None:
    from facility_planner.io.inventory import _table_for

    return _table_for(name)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "Y" if value else "N"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    return str(value)


def _grid(source: bytes | Mapping[str, bytes], table: str) -> tuple[str | None, str, list[list[Any]]]:
    """(workbook sheet name or None for CSV, file or sheet name, rows of cells) of ``table``."""
    if isinstance(source, (bytes, bytearray)):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(bytes(source)), data_only=True, read_only=True)
        for name in book.sheetnames:
            if _table_of(name) == table:
                return name, name, [list(r) for r in book[name].iter_rows(values_only=True)]
        raise InputError(f"The workbook has no {table} sheet to fix.", sheet=table)
    for name, data in source.items():
        if _table_of(name) == table:
            text = bytes(data).decode("utf-8-sig", errors="replace")
            first = text.split("\n", 1)[0]
            sep = max((",", ";", "\t", "|"), key=first.count) if first else ","
            return None, name, [list(r) for r in csv.reader(io.StringIO(text), delimiter=sep)]
    raise InputError(f"No {table} file was uploaded to fix.", sheet=table)


def raw_sheet(source: bytes | Mapping[str, bytes], table: str, *, file: str, first_data_row: int | None) -> RawSheet:
    """The sheet of ``table`` in the uploaded ``source`` (xlsx bytes or CSV files), as written.

    ``first_data_row`` is the spreadsheet row of the first row the reader read (its ``source_row``);
    the header is the last non-blank row above it (the first non-blank row when unknown).
    """
    sheet_name, name, rows = _grid(source, table)
    filled = [i for i, r in enumerate(rows) if any(_text(v).strip() for v in r)]
    if not filled:
        return RawSheet(table, file if sheet_name else name, name, 1, pd.DataFrame({ROW: []}))
    above = [i for i in filled if first_data_row is None or i + 1 < first_data_row]
    header_at = above[-1] if above and first_data_row is not None else filled[0]
    width = max(len(r) for r in rows)
    headers, seen = [], set()
    for j in range(width):
        head = _text(rows[header_at][j] if j < len(rows[header_at]) else None).strip() or f"column {j + 1}"
        while head in seen or head == ROW:
            head += " "
        seen.add(head)
        headers.append(head)
    body = [(i + 1, [_text(r[j] if j < len(r) else None) for j in range(width)])
            for i, r in enumerate(rows) if i > header_at and i in set(filled)]
    frame = pd.DataFrame([[n, *cells] for n, cells in body], columns=[ROW, *headers])
    frame[ROW] = frame[ROW].astype("int64")
    return RawSheet(table, file if sheet_name else name, name, header_at + 1, frame.astype({h: "string" for h in headers}))


def changed_cells(original: pd.DataFrame, edited: pd.DataFrame) -> dict[tuple[int, int], str]:
    """``{(spreadsheet row, column position): new text}`` for every cell the user changed.

    Rows added in the editor (no row number) go below the last row; a deleted row is cleared.
    """
    headers = [c for c in original.columns if c != ROW]
    before = {int(r[ROW]): r for _, r in original.iterrows()}
    last = max(before, default=1)
    out: dict[tuple[int, int], str] = {}
    kept = set()
    for _, row in edited.iterrows():
        number = row.get(ROW)
        if number is None or pd.isna(number) or int(number) not in before:
            last += 1
            number = last
            old = None
        else:
            number = int(number)
            old = before[number]
        kept.add(number)
        for j, head in enumerate(headers):
            new = "" if pd.isna(row.get(head)) else str(row.get(head))
            was = "" if old is None or pd.isna(old[head]) else str(old[head])
            if new != was:
                out[(number, j)] = new
    for number, old in before.items():
        if number not in kept:
            out.update({(number, j): "" for j, h in enumerate(headers) if not pd.isna(old[h]) and str(old[h])})
    return out


def _cell_value(text: str, was: Any) -> Any:
    """What to write: blank -> None; a number where a number was; otherwise the text."""
    if text == "":
        return None
    if isinstance(was, (int, float)) and not isinstance(was, bool) and _NUMBER.fullmatch(text.strip()):
        number = float(text)
        return int(number) if number.is_integer() and "." not in text else number
    return text


def apply_fixes(source: bytes | Mapping[str, bytes], table: str,
                cells: Mapping[tuple[int, int], str]) -> bytes | dict[str, bytes]:
    """The uploaded ``source`` with ``cells`` of ``table``'s sheet replaced; same format, same rows."""
    if isinstance(source, (bytes, bytearray)):
        from openpyxl import load_workbook

        book = load_workbook(io.BytesIO(bytes(source)))
        sheet_name, _, _ = _grid(source, table)
        ws = book[str(sheet_name)]
        for (row, col), text in cells.items():
            cell = ws.cell(row=row, column=col + 1)
            cell.value = _cell_value(text, cell.value)
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    _, name, rows = _grid(source, table)
    for (row, col), text in cells.items():
        while len(rows) < row:
            rows.append([])
        line = rows[row - 1]
        line.extend([""] * (col + 1 - len(line)))
        line[col] = text
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return {**{k: bytes(v) for k, v in source.items()}, name: buffer.getvalue().encode("utf-8")}
