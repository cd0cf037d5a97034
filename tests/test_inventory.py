"""Inventory ingest: every class of bad input is reported where it is, and no row is lost."""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facility_planner.errors import InputError
from facility_planner.io.inventory import read_inventory
from facility_planner.model import TABLES, make_district

SITES = [["site_id", "name", "threat_level"], ["ES-01", "Maple Elementary", "medium"],
         ["HS-01", "Oak High", "high"]]
BUILDINGS = [["building_id", "site_id", "name", "lon", "lat"],
             ["ES-01-A", "ES-01", "Main", -77.0365, 38.8977],
             ["HS-01-A", "HS-01", "Main", -77.0500, 38.9000]]
ROOMS = [["room_id", "building_id", "room_type"], ["ES-01-A-101", "ES-01-A", "classroom"],
         ["HS-01-A-201", "HS-01-A", "office"]]
DOOR_HEADER = ["door_id", "building_id", "room_id", "role", "lock_from_inside", "lon", "lat"]


def doors(*rows: list) -> list[list]:
    return [DOOR_HEADER, *[list(r) for r in rows]]


def good_door(door_id: str = "D1", **changes: object) -> list:
    row = dict(zip(DOOR_HEADER, [door_id, "ES-01-A", "ES-01-A-101", "classroom", "Y",
                                 -77.03652, 38.89771], strict=True))
    row.update(changes)
    return [row[h] for h in DOOR_HEADER]


def workbook(sheets: dict[str, list[list]]) -> bytes:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for name, rows in sheets.items():
        sheet = book.create_sheet(name)
        for row in rows:
            sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def inventory(**sheets: list[list]) -> dict[str, list[list]]:
    base = {"Sites": SITES, "Buildings": BUILDINGS, "Rooms": ROOMS}
    base.update(sheets)
    return base


def read(sheets: dict[str, list[list]]) -> tuple[dict[str, pd.DataFrame], object]:
    tables, report = read_inventory(workbook(sheets), filename="inventory.xlsx")
    assert_no_row_lost(sheets, tables, report)
    return tables, report


def data_rows(rows: list[list]) -> int:
    """Non-blank rows below the header."""
    return sum(any(v is not None and str(v).strip() != "" for v in row) for row in rows[1:])


def assert_no_row_lost(sheets: dict[str, list[list]], tables: dict[str, pd.DataFrame], report) -> None:
    for name, rows in sheets.items():
        table = name.strip().lower()
        if table not in TABLES:
            continue
        rejected = len(report.rejected.get(table, ()))
        assert len(tables[table]) + rejected == data_rows(rows), table


def only(problems: list, **where: object):
    found = [p for p in problems if all(getattr(p, k) == v for k, v in where.items())]
    assert len(found) == 1, (where, [p.as_dict() for p in problems])
    return found[0]


# --- clean input ---------------------------------------------------------------------------


def test_clean_workbook_gives_typed_tables_with_source_rows():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door("D2", lock_from_inside=None))))
    assert report.problems == []
    assert set(tables) == set(TABLES)
    d = tables["doors"]
    assert list(d["door_id"]) == ["D1", "D2"]
    assert list(d["source_row"]) == [2, 3]
    assert str(d["door_id"].dtype) == "string"
    assert str(d["lock_from_inside"].dtype) == "boolean"
    assert d["lock_from_inside"].iloc[0] is np.True_ or bool(d["lock_from_inside"].iloc[0]) is True
    assert pd.isna(d["lock_from_inside"].iloc[1])  # blank = unknown, never no
    assert d["lon"].iloc[0] == pytest.approx(-77.03652)
    assert len(tables["cameras"]) == 0 and "source_row" in tables["cameras"]
    district = make_district(tables)
    assert district.doors["located"].all()


def test_blank_rows_are_ignored_and_row_numbers_kept():
    tables, report = read(inventory(Doors=doors(good_door("D1"), [None] * 7, [], good_door("D2"))))
    assert report.problems == []
    assert list(tables["doors"]["source_row"]) == [2, 5]


def test_title_rows_above_the_header_are_skipped():
    sheets = inventory(Doors=[["District door inventory"], [], *doors(good_door("D1"))])
    tables, report = read_inventory(workbook(sheets), filename="inventory.xlsx")
    assert report.problems == []
    assert list(tables["doors"]["source_row"]) == [4]


def test_header_aliases_and_feet_are_converted():
    sheets = inventory(
        Doors=[["Door #", "BLDG", "Door Type", "Inside Lock"], ["D7", "ES-01-A", "Exterior Primary", "yes"]],
        Cameras=[["Camera ID", "Bldg", "Range (ft)", "FOV"], ["C1", "ES-01-A", 100, 90]],
        BUILDINGS=[["Bldg ID", "School ID", "Gross Area (sq ft)", "Stories"],
                   ["ES-01-A", "ES-01", "10,000", 2], ["HS-01-A", "HS-01", 20000, 1]],
    )
    del sheets["Buildings"]
    tables, report = read(sheets)
    assert report.problems == []
    door = tables["doors"].iloc[0]
    assert (door["door_id"], door["building_id"], door["role"]) == ("D7", "ES-01-A", "exterior_primary")
    assert bool(door["lock_from_inside"]) is True
    camera = tables["cameras"].iloc[0]
    assert camera["range_m"] == pytest.approx(30.48)  # 100 ft
    assert camera["hfov_deg"] == 90
    b = tables["buildings"].set_index("building_id")
    assert b.loc["ES-01-A", "gross_area"] == pytest.approx(929.0304)  # 10,000 sq ft
    assert b.loc["HS-01-A", "floors"] == 1


def test_sheet_names_match_case_and_space_insensitively():
    sheets = {" sites ": SITES, "BUILDINGS": BUILDINGS, "AEDs": [["aed_id", "building_id"], ["E1", "HS-01-A"]]}
    tables, report = read_inventory(workbook(sheets))
    assert report.problems == []
    assert list(tables["aeds"]["aed_id"]) == ["E1"]


def test_numbers_typed_in_id_cells_read_as_text():
    sheets = inventory(Doors=doors(good_door(101)))
    tables, _ = read(sheets)
    assert list(tables["doors"]["door_id"]) == ["101"]


# --- values --------------------------------------------------------------------------------


def test_yes_no_spellings():
    spellings = ["Y", "n", "Yes", "NO", "true", "False", 1, 0, "x", None, "unknown"]
    expected = [True, False, True, False, True, False, True, False, True, None, None]
    rows = [good_door(f"D{i}", lock_from_inside=v) for i, v in enumerate(spellings)]
    tables, report = read(inventory(Doors=doors(*rows)))
    assert report.problems == []
    got = [None if pd.isna(v) else bool(v) for v in tables["doors"]["lock_from_inside"]]
    assert got == expected


def test_bad_enumeration_is_reported_and_value_left_unknown():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door("D2", role="front"))))
    problem = only(report.errors)
    assert (problem.file, problem.sheet, problem.row, problem.column, problem.value) == (
        "inventory.xlsx", "doors", 3, "role", "front")
    assert problem.message.startswith('Sheet "Doors", row 3, column "role": "front" is not a valid '
                                      "door role; expected one of exterior_primary, exterior_secondary")
    assert pd.isna(tables["doors"].set_index("door_id").loc["D2", "role"])
    assert len(tables["doors"]) == 2  # the row is kept


def test_enumeration_suggests_a_close_match():
    _, report = read(inventory(Doors=doors(good_door("D1", role="exterior primery"))))
    assert 'did you mean "exterior_primary"' in only(report.errors).message


@pytest.mark.parametrize(("sheet", "header", "value", "expected"), [
    ("Doors", "lock_from_inside", "maybe", "is not yes or no"),
    ("Sites", "enrollment", "lots", "is not a number; expected a whole number"),
    ("Sites", "enrollment", "4.5", "is not a whole number"),
    ("Sites", "last_assessment", "2025-13-40", "is not a date"),
    ("Cameras", "heading_deg", "north", "is not a number"),
    ("Cameras", "hfov_deg", "400", "outside the plausible range 1 to 360"),
])
def test_bad_values_name_sheet_row_column_and_expectation(sheet, header, value, expected):
    if sheet == "Doors":
        sheets = inventory(Doors=doors(good_door("D1"), good_door("D2", **{header: value})))
        row, key = 3, ("doors", "door_id", "D2")
    elif sheet == "Sites":
        sheets = inventory(Sites=[[*SITES[0], header], [*SITES[1], None], [*SITES[2], value]])
        row, key = 3, ("sites", "site_id", "HS-01")
    else:
        sheets = inventory(Cameras=[["camera_id", "building_id", header], ["C1", "ES-01-A", value]])
        row, key = 2, ("cameras", "camera_id", "C1")
    tables, report = read(sheets)
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column, problem.value) == (key[0], row, header, value)
    assert expected in problem.message
    assert f'row {row}, column "{header}"' in problem.message
    table = tables[key[0]].set_index(key[1])
    assert key[2] in table.index  # the row is kept
    assert pd.isna(table.loc[key[2], header])


def test_date_formats():
    values = [dt.date(2025, 8, 15), "2025-08-15", "8/15/2025", "08/15/25", 45884, "Aug 2025", None]
    rows = [["aed_id", "building_id", "pads_expiry"],
            *[[f"E{i}", "ES-01-A", v] for i, v in enumerate(values)]]
    tables, report = read(inventory(AEDs=rows))
    assert report.problems == []
    got = tables["aeds"]["pads_expiry"]
    assert str(got.dtype) == "datetime64[ns]"
    assert list(got[:5]) == [pd.Timestamp("2025-08-15")] * 5
    assert got[5] == pd.Timestamp("2025-08-01")
    assert pd.isna(got[6])


def test_thousands_separators_and_unknown_markers():
    sheets = inventory(Sites=[["site_id", "enrollment", "staff"], ["ES-01", "1,200", "n/a"],
                              ["HS-01", 1500.0, "?"]])
    tables, report = read(sheets)
    assert report.problems == []
    assert list(tables["sites"]["enrollment"]) == [1200, 1500]
    assert tables["sites"]["staff"].isna().all()


# --- rows ----------------------------------------------------------------------------------


def test_missing_required_column_rejects_every_row_of_the_sheet():
    rows = [["building_id", "role"], ["ES-01-A", "classroom"], ["ES-01-A", "office"]]
    tables, report = read(inventory(Doors=rows))
    problem = only(report.errors)
    assert (problem.sheet, problem.column, problem.row) == ("doors", "door_id", None)
    assert 'Sheet "Doors" has no "door_id" column' in problem.message
    assert len(tables["doors"]) == 0
    rejected = report.rejected["doors"]
    assert list(rejected["source_row"]) == [2, 3]
    assert list(rejected["role"]) == ["classroom", "office"]  # raw values kept for fixing
    assert (rejected["reason"] == "the sheet has no door_id column").all()


def test_missing_key_rejects_the_row():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door(None), good_door("D3"))))
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column) == ("doors", 3, "door_id")
    assert list(tables["doors"]["door_id"]) == ["D1", "D3"]
    assert list(report.rejected["doors"]["source_row"]) == [3]


def test_duplicate_id_rejects_later_rows_naming_both():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door("D2"), good_door("D1", role="office"))))
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("doors", 4, "door_id", "D1")
    assert "already used in row 2" in problem.message
    assert list(tables["doors"]["door_id"]) == ["D1", "D2"]
    assert tables["doors"]["role"].iloc[0] == "classroom"  # the first one wins
    assert report.rejected["doors"]["reason"].iloc[0] == "duplicate of row 2"


def test_duplicate_composite_key():
    rows = [["site_id", "action", "status"], ["ES-01", 1, "in_place"], ["ES-01", 2, "future"],
            ["ES-01", 1, "future"], ["HS-01", 1, "in place"]]
    tables, report = read(inventory(Programs=rows))
    problem = only(report.errors)
    assert (problem.sheet, problem.row) == ("programs", 4)
    assert "already used in row 2" in problem.message
    assert list(tables["programs"]["status"]) == ["in_place", "future", "in_place"]


def test_dangling_required_reference_rejects_the_row():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door("D2", building_id="XX-9"))))
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column, problem.value) == ("doors", 3, "building_id", "XX-9")
    assert 'there is no building "XX-9" in the buildings sheet' in problem.message
    assert list(tables["doors"]["door_id"]) == ["D1"]


def test_dangling_optional_reference_is_cleared_and_row_kept():
    tables, report = read(inventory(Doors=doors(good_door("D1", room_id="NOPE"))))
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column) == ("doors", 2, "room_id")
    assert "left blank and the row kept" in problem.message
    assert len(tables["doors"]) == 1 and pd.isna(tables["doors"]["room_id"].iloc[0])


def test_reference_to_a_rejected_row_says_so():
    buildings = [*BUILDINGS, ["ZZ-01-A", "NOWHERE", "Annex", None, None]]
    tables, report = read(inventory(Buildings=buildings, Doors=doors(good_door("D1", building_id="ZZ-01-A", room_id=None))))
    door_problem = only(report.errors, sheet="doors")
    assert "its row 4 there could not be used" in door_problem.message
    assert len(tables["doors"]) == 0 and len(tables["buildings"]) == 2


def test_reference_differing_only_in_case_is_repaired_with_a_warning():
    tables, report = read(inventory(Doors=doors(good_door("D1", building_id="es-01-a "))))
    assert report.errors == []
    warning = only(report.warnings)
    assert (warning.row, warning.column) == (2, "building_id")
    assert tables["doors"]["building_id"].iloc[0] == "ES-01-A"


def test_door_in_a_room_of_another_building_is_warned():
    _, report = read(inventory(Doors=doors(good_door("D1", room_id="HS-01-A-201"))))
    warning = only(report.warnings)
    assert warning.row == 2 and 'room "HS-01-A-201" is in building "HS-01-A"' in warning.message


def test_missing_buildings_sheet_is_an_error_and_its_dependants_are_set_aside():
    sheets = {"Sites": SITES, "Doors": doors(good_door("D1", room_id=None), good_door("D2", room_id=None))}
    tables, report = read(sheets)
    assert any(p.sheet == "buildings" and "no \"buildings\" sheet" in p.message for p in report.errors)
    summary = only(report.errors, sheet="doors")
    assert "2 rows could not be used" in summary.message
    assert len(tables["doors"]) == 0 and report.rejected_count == 2


def test_unknown_columns_and_sheets_are_warnings():
    sheets = inventory(Doors=[[*DOOR_HEADER, "Paint colour"], [*good_door("D1"), "red"]],
                       Budget=[["item", "cost"], ["paint", 5]], README=[["notes for people"]])
    tables, report = read(sheets)
    assert report.errors == []
    column = only(report.warnings, column="Paint colour")
    assert column.sheet == "doors" and "was not read" in column.message
    sheet = only(report.warnings, sheet="Budget")
    assert "not an inventory sheet" in sheet.message
    assert "Paint colour" not in tables["doors"]


def test_no_inventory_sheet_at_all_raises_input_error():
    with pytest.raises(InputError, match="No inventory sheet"):
        read_inventory(workbook({"Budget": [["a"], [1]]}), filename="budget.xlsx")


def test_garbage_bytes_raise_input_error():
    with pytest.raises(InputError):
        read_inventory(b"PK\x03\x04 this is not a workbook", filename="inventory.xlsx")


# --- locations -----------------------------------------------------------------------------


def test_out_of_range_coordinates_are_cleared():
    tables, report = read(inventory(Doors=doors(good_door("D1"), good_door("D2", lon=-277.0, lat=38.9))))
    problem = only(report.errors)
    assert (problem.sheet, problem.row, problem.column) == ("doors", 3, "lon/lat")
    assert "out of range" in problem.message
    d2 = tables["doors"].set_index("door_id").loc["D2"]
    assert pd.isna(d2["lon"]) and pd.isna(d2["lat"])
    district = make_district(tables)
    assert list(district.doors["located"]) == [True, False]


def test_swapped_coordinates_out_of_range_are_named():
    tables, report = read(inventory(Doors=doors(good_door("D1", lon=38.89771, lat=-97.03652))))
    problem = only(report.errors)
    assert problem.row == 2 and "lon/lat appear swapped" in problem.message
    assert "38.8977" in problem.message and "-97.0365" in problem.message
    assert pd.isna(tables["doors"]["lon"].iloc[0])


def test_swapped_coordinates_inside_the_valid_range_are_found_by_their_building():
    rows = [good_door(f"D{i}", lon=-77.0365 + i * 1e-4, lat=38.8977) for i in range(4)]
    rows.append(good_door("D9", lon=38.8978, lat=-77.0366))  # both values in range, but swapped
    tables, report = read(inventory(Doors=doors(*rows)))
    problem = only(report.errors)
    assert (problem.sheet, problem.row) == ("doors", 6)
    assert "lon/lat appear swapped" in problem.message
    assert pd.isna(tables["doors"].set_index("door_id").loc["D9", "lon"])
    assert len(tables["doors"]) == 5


def test_points_far_from_their_building_are_warned_not_cleared():
    rows = [good_door(f"D{i}", lon=-77.0365 + i * 1e-4, lat=38.8977) for i in range(3)]
    rows.append(good_door("D9", lon=-77.0365, lat=38.95))  # ~5.8 km north
    tables, report = read(inventory(Doors=doors(*rows)))
    assert report.errors == []
    warning = only(report.warnings)
    assert warning.row == 5 and "km from the other items of its building" in warning.message
    assert tables["doors"]["lat"].iloc[3] == pytest.approx(38.95)


def test_half_a_location_is_reported():
    tables, report = read(inventory(Doors=doors(good_door("D1", lat=None))))
    problem = only(report.errors)
    assert problem.row == 2 and "has lon but no lat" in problem.message
    assert pd.isna(tables["doors"]["lon"].iloc[0])


# --- CSV -----------------------------------------------------------------------------------


def csv_bytes(rows: list[list], *, sep: str = ",", encoding: str = "utf-8") -> bytes:
    frame = pd.DataFrame(rows[1:], columns=rows[0])
    return frame.to_csv(index=False, sep=sep).encode(encoding)


def test_csv_folder_reads_like_the_workbook(tmp_path: Path):
    sheets = inventory(Doors=doors(good_door("D1"), good_door("D2", role="front")))
    for name, rows in sheets.items():
        (tmp_path / f"{name.lower()}.csv").write_bytes(csv_bytes(rows))
    tables, report = read_inventory(tmp_path)
    from_book, _ = read_inventory(workbook(sheets))
    pd.testing.assert_frame_equal(tables["doors"], from_book["doors"])
    problem = only(report.errors)
    assert (problem.file, problem.sheet, problem.row, problem.column) == ("doors.csv", "doors", 3, "role")
    assert problem.message.startswith('File "doors.csv", row 3, column "role"')


def test_csv_uploads_mapping_semicolons_and_windows_encoding():
    sites = [["site_id", "name"], ["ES-01", "École Maple"], ["HS-01", "Oak"]]
    uploads = {"Sites.csv": csv_bytes(sites, sep=";", encoding="cp1252"),
               "buildings.csv": csv_bytes(BUILDINGS)}
    tables, report = read_inventory(uploads)
    assert report.problems == []
    assert tables["sites"]["name"].iloc[0] == "École Maple"
    assert len(tables["buildings"]) == 2


def test_csv_with_ragged_rows_keeps_every_row():
    text = "site_id,name\nES-01,Maple\nHS-01,Oak,extra\n"
    tables, report = read_inventory({"sites.csv": text.encode(), "buildings.csv": csv_bytes(BUILDINGS)})
    assert len(tables["sites"]) == 2
    assert any("no header" in p.message for p in report.warnings)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.one_of(st.none(), st.text(st.characters(codec="utf-8", min_codepoint=32), max_size=6), st.integers(-5, 5),
                                   st.floats(-200, 200, allow_nan=False)), min_size=7, max_size=7),
                min_size=1, max_size=12))
def test_any_junk_is_reported_never_raised_nor_lost(rows):
    rows = [["'" + v if isinstance(v, str) and v[:1] == "=" else v for v in row] for row in rows]
    sheets = inventory(Doors=doors(*rows))
    tables, report = read_inventory(workbook(sheets))
    assert_no_row_lost(sheets, tables, report)


def test_uploads_over_the_size_limit_are_refused(monkeypatch):
    from facility_planner import settings as fp_settings
    from facility_planner.errors import UploadRejected

    monkeypatch.setattr(fp_settings, "max_upload_bytes", 100)
    with pytest.raises(UploadRejected):
        read_inventory(workbook(inventory()), filename="inventory.xlsx")


@pytest.mark.slow
def test_demo_district_reads_clean_at_scale(tmp_path: Path):
    from facility_planner.demo import demo_district, write_inventory

    data = demo_district(300, seed=1)
    folder = write_inventory(data, tmp_path / "csv", fmt="csv")
    tables, report = read_inventory(folder)
    assert report.errors == []
    for name, frame in data.tables.items():
        assert len(tables[name]) == len(frame), name
