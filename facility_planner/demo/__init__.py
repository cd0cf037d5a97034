"""Synthetic districts: realistic campuses, inventories and floor plans for demos, tests and benchmarks.

``demo_district`` builds a district of ``n`` schools (elementary, middle, high, K-8) laid out
near an origin: buildings of varied shapes (rectangle, L, U, T, courtyard ring,
gym blocks, portables), rooms on double-loaded corridors, exterior and classroom doors on the walls,
cameras, radio repeaters, AEDs, kits, alarms, intercoms, lockboxes, programme statuses and checklist
answers, with the gaps real inventories have (doors not lockable from inside, uncovered glass,
unnumbered buildings, blanks). It is pure and deterministic: the same ``seed`` gives the same data.

Everything is generated in a local metric frame per building (metres), moved onto its campus and
into the origin's UTM zone, then to WGS84; doors, cameras and rooms are built as whole arrays.
``layout`` places campuses as a city (urban density, shared campuses and addresses), rural or mixed.

The package: ``data`` (DemoData, constants), ``shapes`` (campus plans), ``layout`` (where
campuses stand), ``values`` (typed-as-kept values), ``district`` (the generator in named steps),
``files`` (writing).
"""

from __future__ import annotations

from facility_planner.demo.data import (
    CHECKLIST_RULES,
    CITY_SCHOOLS_PER_KM2,
    DEFAULT_ORIGIN,
    LAYOUTS,
    REFERENCE_DATE,
    SCHOOL_KINDS,
    DemoData,
    Fmt,
    Layout,
)
from facility_planner.demo.district import demo_district, demo_district_tables
from facility_planner.demo.files import write_demo_data, write_inventory, write_maps
from facility_planner.demo.layout import campus_positions

__all__ = ["CHECKLIST_RULES", "CITY_SCHOOLS_PER_KM2", "DEFAULT_ORIGIN", "LAYOUTS", "REFERENCE_DATE",
           "SCHOOL_KINDS", "DemoData", "Fmt", "Layout", "campus_positions", "demo_district",
           "demo_district_tables", "write_demo_data", "write_inventory", "write_maps"]
