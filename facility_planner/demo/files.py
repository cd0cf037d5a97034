"""Writing a synthetic district: inventory workbook or CSV folder, and the campus GeoPackage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from facility_planner.demo.data import DemoData, Fmt, Layout
from facility_planner.demo.district import demo_district


def _cell_rows(frame: pd.DataFrame) -> list[list[Any]]:
    values = frame.astype(object).where(frame.notna(), None)
    return values.to_numpy().tolist()


def write_inventory(data: DemoData, target: Path, *, fmt: Fmt = "csv") -> Path:
    """Write the inventory as ``target`` (.xlsx workbook) or a folder of CSVs named like the sheets."""
    target = Path(target)
    if fmt == "csv":
        target.mkdir(parents=True, exist_ok=True)
        for name, frame in data.tables.items():
            frame.to_csv(target / f"{name}.csv", index=False)
        return target
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    for name, frame in data.tables.items():
        ws = wb.create_sheet(name)
        ws.append(list(frame.columns))
        for row in _cell_rows(frame):
            ws.append(row)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb.save(target)
    return target


def write_maps(data: DemoData, target: Path) -> Path:
    """Write the map layers (non-empty ones) into one GeoPackage."""
    import pyogrio

    target = Path(target)
    target.unlink(missing_ok=True)
    for name, layer in data.layers.items():
        if len(layer):
            pyogrio.write_dataframe(layer, target, layer=name, driver="GPKG")
    return target


def write_demo_data(out_dir: str | Path, *, schools: int, seed: int = 0, fmt: Fmt = "xlsx",
                    layout: Layout = "mixed") -> Path:
    """Write a synthetic district of ``schools`` campuses into ``out_dir``.

    Writes ``inventory.xlsx`` (``fmt="xlsx"``) or a folder ``inventory/`` of CSV files
    (``fmt="csv"``), and ``campus.gpkg`` (layers footprints, site_boundaries, parking, rooms,
    walls). For large districts (hundreds of schools and more) CSV is the sensible choice: it
    writes and reads several times faster than a workbook. Returns ``out_dir``.
    """
    if fmt not in ("xlsx", "csv"):
        raise ValueError("fmt must be 'xlsx' or 'csv'")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = demo_district(schools, seed=seed, layout=layout)
    write_inventory(data, out / ("inventory.xlsx" if fmt == "xlsx" else "inventory"), fmt=fmt)
    write_maps(data, out / "campus.gpkg")
    return out
