"""One settings module: limits and defaults that are properties of the tool, not policy.

Policy (rules, thresholds, weights, unit costs, coverage parameters) lives in YAML packs and
catalogs. These values are safety limits and technical defaults; each can be overridden by an
environment variable ``FACILITY_PLANNER_<NAME>``.
"""

from __future__ import annotations

import os


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(f"FACILITY_PLANNER_{name}")
    return int(value) if value and value.isdigit() else default


#: Largest single upload accepted (bytes). Matches ``server.maxUploadSize`` in .streamlit/config.toml.
max_upload_bytes: int = _int_env("MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
#: Most members a zip (zipped Shapefile, FileGDB, KMZ, XLSX) may hold.
max_zip_members: int = _int_env("MAX_ZIP_MEMBERS", 2_000)
#: Largest total uncompressed size of a zip's members (bytes).
max_zip_uncompressed_bytes: int = _int_env("MAX_ZIP_UNCOMPRESSED_BYTES", 1024 * 1024 * 1024)
#: Largest compression ratio of a single zip member before it is treated as a zip bomb.
max_zip_ratio: int = _int_env("MAX_ZIP_RATIO", 200)
#: Workbooks with more data rows than this in one sheet are read with python-calamine.
fast_reader_min_rows: int = _int_env("FAST_READER_MIN_ROWS", 20_000)

#: Geographic CRS of lon/lat columns in inventories.
lonlat_crs: str = "EPSG:4326"
#: Distance (m) beyond which an asset is too far from its building to be believed.
max_asset_distance_m: float = 2_000.0

#: Map tiles: "none", "openstreetmap" or a URL template of a district's own tile server.
#: The app sends no request anywhere else.
map_tiles: str = os.environ.get("FACILITY_PLANNER_MAP_TILES", "none")
map_tiles_attribution: str = os.environ.get("FACILITY_PLANNER_MAP_TILES_ATTRIBUTION", "")
#: Above this many sites a map (the app's Map page and each district's ``map.html``) draws the
#: district's footprints only, by status with their pop-ups; coverage, gaps and assets stay in
#: ``coverage.gpkg`` (the app draws them for one chosen site). A 770-school district's full page
#: was 79 MB and over 500 MB to build.
map_detail_sites: int = _int_env("MAP_DETAIL_SITES", 8)
