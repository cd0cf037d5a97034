"""The synthetic district's data (``DemoData``) and the constants every step of the generator shares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import geopandas as gpd
import pandas as pd

from facility_planner.model import TABLES, District, make_district

#: Dates (expiry, reviews) are drawn around this day, so output never depends on today's date.
REFERENCE_DATE = date(2025, 9, 1)
#: Default origin: Nevada, Iowa (Story County); any (lon, lat) works.
DEFAULT_ORIGIN = (-93.415, 42.040)

SCHOOL_KINDS = ("ES", "MS", "HS", "K8")
_KIND_SHARE = (0.60, 0.20, 0.15, 0.05)
_GRADES = {"ES": "K-5", "MS": "6-8", "HS": "9-12", "K8": "K-8"}
_SUFFIX = {"ES": "Elementary", "MS": "Middle School", "HS": "High School", "K8": "K-8 School"}
_NAMES = ("Maple", "Cedar Ridge", "Lincoln", "Oak Grove", "Willow Creek", "Jefferson", "Prairie View",
          "Riverside", "Hillcrest", "Washington", "Pine Hollow", "Lakeview", "Roosevelt", "Sunset",
          "Meadowbrook", "Franklin", "Birch Park", "Eastwood", "Westfield", "Northgate", "Garfield",
          "Elm Street", "Valley", "Stonebridge", "Harmony", "Aspen", "Fairview", "Kennedy", "Madison",
          "Sycamore", "Bluff View", "Orchard", "Heritage", "Summit", "Brookside", "Monroe")
_STREETS = ("Main St", "Oak Ave", "School Rd", "Elm St", "Park Dr", "County Rd 12", "Mill St",
            "Prairie Ln", "Lincoln Way", "Maple Ave", "Center St", "Ridge Rd")
#: Checklist criteria no inventory can show: the ``op: checklist`` rules of rules/pass_k12.yaml
#: (site-wide ones first, then those answered per building).
CHECKLIST_RULES = ("PASS-DW-PP-1", "PASS-DW-PP-2", "PASS-DW-PP-3", "PASS-DW-PE-1", "PASS-DW-PE-2",
                   "PASS-DW-CM-2", "PASS-DW-AC-1", "PASS-DW-AC-2", "PASS-DW-VS-3", "PASS-DW-DA-3",
                   "PASS-DI-PP-1", "PASS-DI-PP-2", "PASS-DI-AC-2", "PASS-DI-VS-3", "PASS-CP-PP-1",
                   "PASS-CP-AR-1", "PASS-CP-AR-2", "PASS-CP-AC-3", "PASS-CP-CM-2", "PASS-PL-AR-1",
                   "PASS-BP-PP-1", "PASS-BP-PP-1b", "PASS-BP-AR-2", "PASS-BP-VS-4", "PASS-BP-DA-1",
                   "PASS-BP-DA-2", "PASS-BP-CM-1", "PASS-CL-PP-1", "PASS-CL-PE-1")
_BUILDING_RULES = 20  # CHECKLIST_RULES[20:] are building-scope rules

_DEPTH = 21.0          # double-loaded wing: 9 m rooms, 3 m corridor, 9 m rooms
_ROOM_DEPTH = 9.0
_CELL = 9.0            # target room width along the wing
_PORTABLE = (12.2, 7.3)  # 40 x 24 ft

Fmt = Literal["xlsx", "csv"]
Layout = Literal["city", "rural", "mixed"]
LAYOUTS = ("city", "rural", "mixed")
#: Urban density of the city layout: 800 schools in 30 km x 30 km (a large US city district).
CITY_SCHOOLS_PER_KM2 = 800 / 900


@dataclass
class DemoData:
    """A synthetic district: raw inventory tables and map layers (EPSG:4326).

    ``tables`` hold values as a facilities manager types them ("Y"/"N"/blank, ISO dates);
    ``clean_tables()`` gives typed values for ``make_district``; ``to_district()`` builds one.
    """

    tables: dict[str, pd.DataFrame]
    footprints: gpd.GeoDataFrame
    site_boundaries: gpd.GeoDataFrame
    parking: gpd.GeoDataFrame
    rooms: gpd.GeoDataFrame
    walls: gpd.GeoDataFrame

    @property
    def layers(self) -> dict[str, gpd.GeoDataFrame]:
        """Map layers by GeoPackage layer name."""
        return {"footprints": self.footprints, "site_boundaries": self.site_boundaries,
                "parking": self.parking, "rooms": self.rooms, "walls": self.walls}

    @property
    def rows(self) -> int:
        """Inventory rows over all sheets."""
        return sum(len(t) for t in self.tables.values())

    def clean_tables(self) -> dict[str, pd.DataFrame]:
        """The tables with yes/no as booleans and dates as datetimes (ready for ``make_district``)."""
        out = {}
        for name, frame in self.tables.items():
            frame = frame.copy()
            for col in TABLES[name].columns:
                if col.name not in frame:
                    continue
                if col.kind == "bool":
                    frame[col.name] = frame[col.name].map({"Y": True, "N": False}).astype("boolean")
                elif col.kind == "date":
                    frame[col.name] = pd.to_datetime(frame[col.name])
            out[name] = frame
        return out

    def to_district(self, *, crs: str | int | None = None) -> District:
        """The district as ``make_district`` builds it from these tables and layers."""
        return make_district(self.clean_tables(), footprints=self.footprints,
                             rooms_geometry=self.rooms, site_boundaries=self.site_boundaries,
                             parking=self.parking, walls=self.walls, crs=crs)
