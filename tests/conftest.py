"""Shared fixtures. Engineers append their own fixtures at the end; browser fixtures live in tests/e2e."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SITES = ROOT / "sample_sites"


@pytest.fixture(scope="session")
def sample_inventory() -> Path:
    """The committed sample district's workbook."""
    return SAMPLE_SITES / "inventory.xlsx"


@pytest.fixture(scope="session")
def sample_maps() -> list[Path]:
    """The committed sample district's campus map(s)."""
    return [SAMPLE_SITES / "campus.gpkg"]


HOSTILE_NAME = "<script>alert('x')</script> `tick` ${window.pwned=1} <img src=x onerror=alert(1)>"


@pytest.fixture(scope="session")
def hostile_district():
    """A one-building campus whose every user string is hostile (app/mapping tests)."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Polygon

    from facility_planner.model import make_district

    lon0, lat0 = -77.0365, 38.8977
    d = 0.0004
    footprint = gpd.GeoDataFrame(
        {"building_id": ["B1"]},
        geometry=[Polygon([(lon0, lat0), (lon0 + d, lat0), (lon0 + d, lat0 + d), (lon0, lat0 + d)])],
        crs="EPSG:4326",
    )
    tables = {
        "sites": pd.DataFrame({"site_id": ["S1"], "name": [HOSTILE_NAME]}),
        "buildings": pd.DataFrame({"building_id": ["B1"], "site_id": ["S1"], "name": [HOSTILE_NAME]}),
        "doors": pd.DataFrame({"door_id": [HOSTILE_NAME], "building_id": ["B1"],
                               "role": ["exterior_primary"], "lon": [lon0], "lat": [lat0 + d / 2]}),
        "cameras": pd.DataFrame({"camera_id": ["C`${1+1}`"], "building_id": ["B1"], "mount": ["exterior"],
                                 "lon": [lon0 - 0.0001], "lat": [lat0], "heading_deg": [90.0],
                                 "hfov_deg": [90.0], "range_m": [30.0], "status": ["working"]}),
        "aeds": pd.DataFrame({"aed_id": ["A1"], "building_id": ["B1"],
                              "lon": [lon0 + d / 2], "lat": [lat0 + d / 2]}),
    }
    return make_district(tables, footprints=footprint)


@pytest.fixture(scope="session")
def coverage_campus():
    """Builder of tiny hand-drawn districts in local metres (coverage tests).

    ``build(buildings={"A": (x0, y0, x1, y1) | Polygon | None}, cameras=[{...}], doors=[...], ...)``:
    asset rows give ``x``/``y`` in local metres (omit them for assets placed at their building);
    ``walls`` are ``(building_id, ((x, y), ...), material, floor)``; ``site_boundaries`` and
    ``parking`` are ``{site_id: (x0, y0, x1, y1)}``. Every building is on site "S" unless
    ``site_of`` says otherwise. CRS: UTM 18N, local origin (500000, 4300000).
    """
    import geopandas as gpd
    import pandas as pd
    import shapely

    from facility_planner.model import make_district

    crs, x0, y0 = "EPSG:32618", 500_000.0, 4_300_000.0

    def shape(value):
        if value is None:
            return None
        if isinstance(value, tuple):
            return shapely.box(x0 + value[0], y0 + value[1], x0 + value[2], y0 + value[3])
        return shapely.affinity.translate(value, x0, y0)

    def rows(items):
        frame = pd.DataFrame(items)
        for col, off in (("x", x0), ("y", y0)):
            if col in frame:
                frame[col] = frame[col] + off
        return frame

    def build(*, buildings, site_of=None, floors=None, cameras=(), doors=(), repeaters=(), aeds=(),
              equipment=(), rooms=(), room_shapes=None, walls=(), site_boundaries=None, parking=None):
        import shapely.affinity  # noqa: F401

        site_of = site_of or {}
        ids = list(buildings)
        tables = {
            "sites": pd.DataFrame({"site_id": sorted({site_of.get(b, "S") for b in ids})}),
            "buildings": pd.DataFrame({"building_id": ids, "site_id": [site_of.get(b, "S") for b in ids],
                                       "floors": [(floors or {}).get(b, 1) for b in ids]}),
        }
        for name, items in (("cameras", cameras), ("doors", doors), ("repeaters", repeaters),
                            ("aeds", aeds), ("equipment", equipment), ("rooms", rooms)):
            if items:
                tables[name] = rows(list(items))
        drawn = {b: shape(v) for b, v in buildings.items() if v is not None}
        footprints = gpd.GeoDataFrame({"building_id": list(drawn)}, geometry=list(drawn.values()), crs=crs)
        kwargs = {}
        if room_shapes:
            kwargs["rooms_geometry"] = gpd.GeoDataFrame(
                {"room_id": list(room_shapes)}, geometry=[shape(v) for v in room_shapes.values()], crs=crs)
        if walls:
            kwargs["walls"] = gpd.GeoDataFrame(
                {"building_id": [w[0] for w in walls], "material": [w[2] for w in walls],
                 "floor": [w[3] for w in walls]},
                geometry=[shapely.LineString([(x0 + x, y0 + y) for x, y in w[1]]) for w in walls], crs=crs)
        for key, value in (("site_boundaries", site_boundaries), ("parking", parking)):
            if value:
                kwargs[key] = gpd.GeoDataFrame({"site_id": list(value)},
                                               geometry=[shape(v) for v in value.values()], crs=crs)
        return make_district(tables, footprints=footprints, crs=crs, **kwargs)

    build.origin = (x0, y0)
    return build


# -- assessment store (issue 9): one fixture runs the store suite on SQLite and on PostGIS ------

@pytest.fixture(scope="session")
def postgres_server():
    """URL of a PostGIS database: ``FACILITY_PLANNER_TEST_POSTGRES_URL``, else a throwaway cluster
    started here (tests/pg_server.py). Missing PostgreSQL fails the PostGIS half of the store suite
    (locally too): the message says what to install."""
    url = os.environ.get("FACILITY_PLANNER_TEST_POSTGRES_URL")
    if url:
        yield url
        return
    import pg_server

    if pg_server.bin_dir() is None:
        pytest.fail("PostgreSQL + PostGIS are needed for the PostGIS store tests "
                    "(apt-get install postgresql postgresql-15-postgis-3; .ci/run does it)")
    url, data = pg_server.start()
    try:
        yield url
    finally:
        pg_server.stop(data)


def _fresh_schema(server_url: str) -> tuple[str, str]:
    """A new, empty schema in the test database; (store URL using it, schema name)."""
    import secrets
    from urllib.parse import quote

    import psycopg

    name = f"t_{secrets.token_hex(6)}"
    with psycopg.connect(server_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    sep = "&" if "?" in server_url else "?"
    return f"{server_url}{sep}options={quote(f'-csearch_path={name},public')}", name


@pytest.fixture(params=["sqlite", "postgis"])
def store_url(request, tmp_path) -> str:
    """Where a fresh, empty store lives: a SQLite file, or a new schema in the PostGIS database."""
    if request.param == "sqlite":
        yield str(tmp_path / "store.sqlite")
        return
    server = request.getfixturevalue("postgres_server")
    url, name = _fresh_schema(server)
    yield url
    import psycopg

    with psycopg.connect(server.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")


def _assess_sample(fix_door: str | None = None):
    from facility_planner.assess import assess
    from facility_planner.io.load import load_district

    district, report = load_district(SAMPLE_SITES / "inventory.xlsx",
                                     maps=[("campus.gpkg", (SAMPLE_SITES / "campus.gpkg").read_bytes())])
    if fix_door:
        doors = district.doors.copy()
        doors.loc[doors["door_id"] == fix_door, SAMPLE_DOOR_FIX] = True
        district.doors = doors
    from datetime import date

    return assess(district, report, budget=250000, as_of=date(2026, 11, 28))


#: The main entrance of the sample district's HS-01-B has no access control (A1 partial there);
#: fixing it (access_control = Y) makes A1 met.
SAMPLE_DOOR, SAMPLE_DOOR_FIX, SAMPLE_DOOR_BUILDING = "HS-01-B-D001", "access_control", "HS-01-B"


@pytest.fixture(scope="session")
def sample_assessment():
    """The sample district assessed (budget 250,000, as of 2026-11-28)."""
    return _assess_sample()


@pytest.fixture(scope="session")
def fixed_assessment():
    """The same, after door HS-01-B-D001 was fixed (access control added)."""
    return _assess_sample(SAMPLE_DOOR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _running_app(*, app: Path, args: list[str], env: dict[str, str], log: Path) -> Iterator[str]:
    """``streamlit run app`` (headless, on a free port, from the app's folder) with extra ``args``
    ("{port}" is replaced by the port) and ``env``; yields its URL once healthy, then stops it."""
    port = free_port()
    cmd = [str(Path(sys.executable).with_name("streamlit")), "run", str(app), "--server.headless", "true",
           "--server.port", str(port), "--server.fileWatcherType", "none",
           *(a.replace("{port}", str(port)) for a in args)]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=app.parent, stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **env})
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the app did not start:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def run_app() -> object:
    """``run_app(app=path, args=[...], env={...}, log=path)``: a context manager giving the URL."""
    return _running_app
