"""The blank inventory workbook: drop-downs, notes, and a clean round trip through ingest."""

from __future__ import annotations

import io
from pathlib import Path

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from facility_planner.io.inventory import read_inventory
from facility_planner.io.template import TEMPLATE_ROWS, write_template
from facility_planner.model import TABLES, make_district


@pytest.fixture(scope="module")
def template_bytes() -> bytes:
    out = io.BytesIO()
    write_template(out)
    return out.getvalue()


@pytest.fixture(scope="module")
def book(template_bytes: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(template_bytes))


def test_sheets_in_schema_order_after_the_guide(book):
    assert book.sheetnames == ["How to fill", *TABLES]
    guide = "\n".join(str(c.value) for row in book["How to fill"].iter_rows() for c in row if c.value)
    for topic in ("Yes/no", "range_ft", "lon/lat", "x/y", "8/15/2025"):
        assert topic in guide


def test_headers_bold_frozen_with_notes(book):
    for name, table in TABLES.items():
        sheet = book[name]
        assert sheet.freeze_panes == "A2"
        headers = [c.value for c in sheet[1]]
        assert headers == table.column_names
        for cell, col in zip(sheet[1], table.columns, strict=True):
            assert cell.font.bold
            assert cell.comment is not None and col.note in cell.comment.text


def test_every_enum_and_yes_no_column_has_a_drop_down(book):
    for name, table in TABLES.items():
        sheet = book[name]
        by_range = {str(dv.sqref): dv for dv in sheet.data_validations.dataValidation}
        for j, col in enumerate(table.columns, start=1):
            letter = get_column_letter(j)
            cells = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
            if col.kind == "enum":
                dv = by_range[cells]
                assert dv.type == "list"
                assert dv.formula1 == '"' + ",".join(col.enum) + '"'
                assert len(dv.formula1) <= 257  # Excel's limit for an inline list
            elif col.kind == "bool":
                assert by_range[cells].formula1 == '"Yes,No"'
    doors = book["doors"]
    role = get_column_letter(TABLES["doors"].column_names.index("role") + 1)
    assert any(str(dv.sqref) == f"{role}2:{role}5001" for dv in doors.data_validations.dataValidation)


def test_round_trip_gives_one_clean_row_per_table(template_bytes: bytes):
    tables, report = read_inventory(template_bytes, filename="template.xlsx")
    assert report.problems == []
    assert report.rejected_count == 0
    assert {name: len(frame) for name, frame in tables.items()} == dict.fromkeys(TABLES, 1)
    door = tables["doors"].iloc[0]
    assert door["building_id"] == tables["buildings"]["building_id"].iloc[0]
    assert door["room_id"] == tables["rooms"]["room_id"].iloc[0]
    assert door["role"] == "classroom" and bool(door["lock_from_inside"]) is True
    assert int(door["source_row"]) == 2
    assert str(tables["aeds"]["pads_expiry"].iloc[0].date()) == "2027-03-01"
    district = make_district(tables)
    assert district.doors["located"].all() and district.cameras["located"].all()


def test_write_to_a_path(tmp_path: Path):
    target = tmp_path / "inventory_template.xlsx"
    write_template(target)
    tables, report = read_inventory(target)
    assert report.errors == [] and len(tables["sites"]) == 1
