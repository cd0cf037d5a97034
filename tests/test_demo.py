"""Synthetic districts (facility_planner.demo) and the committed sample district (sample_sites/)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from facility_planner.demo import DemoData, demo_district, demo_district_tables, write_demo_data
from facility_planner.model import (
    CAMERA_MOUNTS,
    DOOR_ROLES,
    EQUIPMENT_TYPES,
    EXTERIOR_DOOR_ROLES,
    PROGRAM_STATUSES,
    ROOM_TYPES,
    TABLES,
)

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "sample_sites"


@pytest.fixture(scope="module")
def demo() -> DemoData:
    return demo_district(24, seed=7)


@pytest.fixture(scope="module")
def district(demo: DemoData):
    return demo.to_district()


def test_same_seed_gives_identical_data() -> None:
    a, b = demo_district(6, seed=3), demo_district(6, seed=3)
    for name in TABLES:
        pd.testing.assert_frame_equal(a.tables[name], b.tables[name])
    for name, layer in a.layers.items():
        other = b.layers[name]
        assert layer.drop(columns="geometry").equals(other.drop(columns="geometry"))
        assert shapely.equals_exact(layer.geometry.values, other.geometry.values, tolerance=0).all()


def test_other_seed_gives_other_data() -> None:
    a, b = demo_district(6, seed=3), demo_district(6, seed=4)
    assert not a.tables["doors"].equals(b.tables["doors"])


def test_sizes_scale_with_schools() -> None:
    small = demo_district(5, seed=1, kinds=["ES"] * 5)
    large = demo_district(40, seed=1, kinds=["ES"] * 40)
    assert len(small.tables["sites"]) == 5 and len(large.tables["sites"]) == 40
    assert len(large.tables["programs"]) == 400  # ten essential actions per campus
    for name in ("buildings", "rooms", "doors"):
        assert len(large.tables[name]) > 4 * len(small.tables[name])
    assert len(large.footprints) == len(large.tables["buildings"])
    assert len(large.site_boundaries) == 40


def test_every_id_is_unique(demo: DemoData) -> None:
    for name, table in TABLES.items():
        frame = demo.tables[name]
        keys = [k for k in table.key if k in frame]
        assert not frame.duplicated(subset=keys).any(), name
        assert frame[table.key[0]].notna().all(), name
    assert demo.footprints["building_id"].is_unique
    assert demo.rooms["room_id"].is_unique
    assert demo.site_boundaries["site_id"].is_unique


def test_every_reference_is_valid(demo: DemoData) -> None:
    t = demo.tables
    sites, buildings = set(t["sites"]["site_id"]), set(t["buildings"]["building_id"])
    rooms = t["rooms"].set_index("room_id")["building_id"]
    assert t["buildings"]["site_id"].isin(sites).all()
    assert t["rooms"]["building_id"].isin(buildings).all()
    for name in ("doors", "cameras", "repeaters", "aeds", "equipment"):
        assert t[name]["building_id"].isin(buildings).all(), name
        if "room_id" in t[name]:
            with_room = t[name].dropna(subset=["room_id"])
            assert with_room["room_id"].isin(rooms.index).all(), name
            # the room is in the same building as the asset
            assert (rooms.loc[with_room["room_id"]].to_numpy() == with_room["building_id"].to_numpy()).all()
    for name in ("programs", "checklist"):
        assert t[name]["site_id"].isin(sites).all()
    assert set(demo.footprints["building_id"]) == buildings
    assert demo.rooms["room_id"].isin(rooms.index).all()
    assert demo.walls["building_id"].isin(buildings).all()
    assert set(demo.site_boundaries["site_id"]) == sites
    assert demo.parking["site_id"].isin(sites).all()


def test_values_are_typed_as_a_facilities_manager_types_them(demo: DemoData) -> None:
    for name, table in TABLES.items():
        frame = demo.tables[name]
        assert list(frame.columns) == [c for c in table.column_names if c in frame]
        for col in table.columns:
            if col.name not in frame:
                continue
            values = frame[col.name].dropna()
            if col.kind == "bool":
                assert set(values) <= {"Y", "N"}, (name, col.name)
            elif col.kind == "enum":
                assert set(values) <= set(col.enum), (name, col.name)
            elif col.kind == "date":
                assert pd.to_datetime(values, format="%Y-%m-%d").notna().all()
    t = demo.tables
    assert set(t["rooms"]["room_type"]) <= set(ROOM_TYPES)
    assert set(t["doors"]["role"]) == set(DOOR_ROLES) - {"interior"}
    assert set(t["cameras"]["mount"]) == set(CAMERA_MOUNTS)
    assert set(t["equipment"]["type"]) <= set(EQUIPMENT_TYPES)
    assert set(t["programs"]["status"].dropna()) <= set(PROGRAM_STATUSES)
    assert t["programs"].groupby("site_id")["action"].apply(sorted).map(lambda a: a == list(range(1, 11))).all()


def test_realistic_gaps_are_present(demo: DemoData) -> None:
    t = demo.tables
    classroom_doors = t["doors"][t["doors"]["role"] == "classroom"]
    lock = classroom_doors["lock_from_inside"]
    assert (lock == "N").any() and (lock == "Y").any() and lock.isna().any()
    glass = t["doors"]
    assert ((glass["has_glass"] == "Y") & (glass["glass_covering"] == "N")).any()
    assert t["buildings"]["building_number"].isna().any()
    classrooms = t["rooms"][t["rooms"]["room_type"] == "classroom"]
    assert (classrooms["hard_corner"] == "N").any() and classrooms["hard_corner"].isna().any()
    assert not set(t["buildings"]["building_id"]) <= set(t["cameras"]["building_id"])
    assert not set(t["buildings"]["building_id"]) <= set(t["repeaters"]["building_id"])
    assert (t["aeds"]["pads_expiry"].dropna() < "2025-09-01").any()
    assert (t["aeds"]["pads_expiry"].dropna() > "2025-09-01").any()
    permanent = t["buildings"][t["buildings"]["use"] != "portable"]
    assert 0.5 < (permanent["year_built"] < 1970).mean() < 0.9


def test_campus_mix(demo: DemoData) -> None:
    b = demo.tables["buildings"]
    permanent = b[b["use"] != "portable"].groupby("site_id")["building_id"].size()
    kind = permanent.index.str[:2]
    assert (permanent[kind == "ES"] == 1).all()
    assert permanent[kind == "MS"].between(1, 2).all()
    high = b[b["site_id"].str.startswith("HS")].groupby("site_id")
    assert len(high) and (high.size() >= 5).all()  # main, gym, auditorium, classroom wing(s), portables
    assert (high["use"].apply(lambda u: (u == "portable").sum()) >= 2).all()
    assert set(b["use"]) >= {"classroom", "gym", "auditorium", "portable"}


@pytest.mark.slow
def test_thousands_of_schools() -> None:
    data = demo_district(3000, seed=5)
    assert len(data.tables["sites"]) == 3000
    for name, table in TABLES.items():
        assert not data.tables[name].duplicated(subset=list(table.key)).any(), name
    fp = data.footprints.to_crs(data.to_district().crs)
    pairs = gpd.sjoin(fp, fp, predicate="intersects")
    assert (pairs["building_id_left"] == pairs["building_id_right"]).all()


def test_gross_area_matches_footprint_and_floors(district) -> None:
    b = district.buildings
    ratio = b["gross_area"] / (b.geometry.area * b["floors"].astype(float))
    assert ratio.between(0.97, 1.03).all()


def test_exterior_doors_lie_on_the_footprint_boundary(district) -> None:
    doors = district.doors
    outer = doors[doors["role"].isin(EXTERIOR_DOOR_ROLES) & doors["located"].fillna(False).astype(bool)]
    assert len(outer) > 50
    footprint = district.buildings.set_index("building_id").geometry.loc[outer["building_id"]]
    distance = shapely.distance(outer.geometry.values, shapely.boundary(footprint.values))
    assert distance.max() < 0.5


def test_classroom_doors_lie_on_their_room_wall(district) -> None:
    doors = district.doors
    inner = doors[doors["role"].isin(["classroom", "office"]) & doors["located"].fillna(False).astype(bool)]
    rooms = district.rooms.set_index("room_id").geometry
    inner = inner[inner["room_id"].map(rooms).notna()]
    assert len(inner) > 50
    distance = shapely.distance(inner.geometry.values, shapely.boundary(rooms.loc[inner["room_id"]].values))
    assert distance.max() < 0.05


def test_cameras_are_inside_or_on_their_building(district) -> None:
    cams = district.cameras[district.cameras["located"].fillna(False).astype(bool)]
    footprint = district.buildings.set_index("building_id").geometry.loc[cams["building_id"]]
    assert shapely.distance(cams.geometry.values, footprint.values).max() < 0.05
    # exterior cameras on the wall look away from the building, interior ones stay inside
    exterior = cams["mount"].eq("exterior").to_numpy()
    heading = np.radians(cams["heading_deg"].to_numpy(dtype=float))
    ahead = shapely.points(cams.geometry.x + 3 * np.sin(heading), cams.geometry.y + 3 * np.cos(heading))
    outside = ~shapely.covers(footprint.values, ahead)
    assert outside[exterior].mean() > 0.9
    assert shapely.covers(footprint.values[~exterior], cams.geometry.values[~exterior]).all()


def test_rooms_and_walls_lie_in_their_building(district) -> None:
    footprint = district.buildings.set_index("building_id").geometry
    drawn = district.rooms[district.rooms.geometry.notna()]
    assert len(drawn)
    grown = shapely.buffer(footprint.loc[drawn["building_id"]].values, 0.05)
    assert shapely.covers(grown, drawn.geometry.values).all()
    walls = district.walls
    assert set(walls["material"]) <= {"concrete_block", "concrete", "sheetrock"}
    grown = shapely.buffer(footprint.loc[walls["building_id"]].values, 0.05)
    assert shapely.covers(grown, walls.geometry.values).all()


def test_footprints_never_overlap_and_campuses_stay_apart() -> None:
    data = demo_district(60, seed=11, layout="rural")
    fp = data.footprints.to_crs(data.to_district().crs)
    pairs = gpd.sjoin(fp, fp, predicate="intersects")
    assert (pairs["building_id_left"] == pairs["building_id_right"]).all()
    sb = data.site_boundaries.to_crs(fp.crs)
    pairs = gpd.sjoin(sb, sb, predicate="intersects")
    assert (pairs["site_id_left"] == pairs["site_id_right"]).all()
    # every building and parking lot inside its own campus
    site_of = data.tables["buildings"].set_index("building_id")["site_id"]
    boundary = sb.set_index("site_id").geometry
    assert shapely.covers(boundary.loc[site_of.loc[fp["building_id"]]].values, fp.geometry.values).all()
    lots = data.parking.to_crs(fp.crs)
    assert shapely.covers(boundary.loc[lots["site_id"]].values, lots.geometry.values).all()


def test_campuses_are_near_the_origin() -> None:
    data = demo_district(9, seed=2, origin=(-122.27, 37.80))
    xy = shapely.get_coordinates(shapely.point_on_surface(data.footprints.geometry.values))
    lon, lat = pd.Series(xy[:, 0]), pd.Series(xy[:, 1])
    assert lon.between(-122.30, -122.24).all() and lat.between(37.78, 37.82).all()


def test_tables_build_a_district(demo: DemoData, district) -> None:
    assert len(district.buildings) == len(demo.tables["buildings"])
    assert district.buildings["has_footprint"].all()
    assert district.crs == "EPSG:32610" or district.crs.startswith("EPSG:326")
    assert district.doors["lock_from_inside"].dtype == "boolean"
    located = district.cameras["located"].astype(bool)
    assert located.sum() == demo.tables["cameras"]["lon"].notna().sum()
    assert district.walls.crs == district.buildings.crs and len(district.walls)


def test_demo_district_tables_contract() -> None:
    tables, layers = demo_district_tables(2, seed=0)
    assert set(tables) == set(TABLES)
    assert set(layers) == {"footprints", "site_boundaries", "parking", "rooms", "walls"}
    assert all(layer.crs == "EPSG:4326" for layer in layers.values())


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        demo_district(0)
    with pytest.raises(ValueError):
        demo_district(2, kinds=["ES"])
    with pytest.raises(ValueError):
        write_demo_data(ROOT / "never", schools=1, fmt="json")  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_written_data_load_clean(tmp_path: Path, fmt: str) -> None:
    from facility_planner.io.inventory import read_inventory
    from facility_planner.io.load import load_district

    out = write_demo_data(tmp_path, schools=3, seed=5, fmt=fmt)
    inventory = out / ("inventory.xlsx" if fmt == "xlsx" else "inventory")
    assert (out / "campus.gpkg").is_file() and inventory.exists()
    tables, report = read_inventory(inventory)
    assert report.errors == [] and report.rejected_count == 0
    expected = demo_district(3, seed=5).tables
    for name in TABLES:
        assert len(tables[name]) == len(expected[name]), name
    district, report = load_district(inventory, maps=[("campus.gpkg", (out / "campus.gpkg").read_bytes())])
    assert report.errors == [] and report.rejected_count == 0
    assert district.buildings["has_footprint"].all()
    assert len(district.walls) and district.rooms.geometry.notna().any()


# ---------------------------------------------------------------- the committed sample district
def test_sample_files_exist() -> None:
    for name in ("inventory.xlsx", "campus.gpkg", "campus.geojson", "README.md", "make_sample.py"):
        assert (SAMPLE / name).is_file(), name


def test_sample_validates_clean() -> None:
    from facility_planner.io.load import load_district

    district, report = load_district(
        SAMPLE / "inventory.xlsx", maps=[("campus.gpkg", (SAMPLE / "campus.gpkg").read_bytes()),
                                         ("campus.geojson", (SAMPLE / "campus.geojson").read_bytes())])
    assert report.errors == [] and report.rejected_count == 0
    assert len(district.sites) == 4
    assert district.buildings["has_footprint"].all()
    per_site = district.buildings.groupby("site_id")["building_id"].size()
    assert per_site["ES-01"] == 1 and per_site["MS-01"] == 2 and per_site["HS-01"] >= 5
    assert (district.buildings["use"] == "portable").sum() >= 2
    assert sum(len(district.table(n)) for n in TABLES) < 1000  # small enough to read by eye


def test_sample_files_match_the_script() -> None:
    from facility_planner.io.inventory import read_inventory

    spec = importlib.util.spec_from_file_location("make_sample", SAMPLE / "make_sample.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    expected = module.sample()
    tables, _ = read_inventory(SAMPLE / "inventory.xlsx")
    for name, table in TABLES.items():
        key = table.key[0]
        assert list(tables[name][key].astype(str)) == list(expected.tables[name][key].astype(str)), name
    footprints = gpd.read_file(SAMPLE / "campus.geojson")
    assert list(footprints["building_id"]) == list(expected.footprints["building_id"])


def _campus_centres(data: DemoData) -> pd.DataFrame:
    sb = data.site_boundaries.to_crs(data.to_district().crs)
    xy = shapely.get_coordinates(shapely.centroid(sb.geometry.values))
    return pd.DataFrame({"x": xy[:, 0], "y": xy[:, 1]}, index=sb["site_id"])


def test_city_layout_packs_schools_at_urban_density() -> None:
    data = demo_district(200, seed=4, layout="city")
    centres = _campus_centres(data)
    side_km = max(np.ptp(centres["x"]), np.ptp(centres["y"])) / 1000
    assert side_km < 30 * np.sqrt(200 / 800) * 1.2  # 800 schools in 30 km x 30 km
    # some schools share one address (the same point); one pile of six (geocoding fall-back)
    stacked = centres.round(1).value_counts()
    assert stacked.max() >= 200 // 30 and (stacked >= 2).sum() >= 3
    # many campuses have a neighbour 15-60 m away, as on shared city blocks
    sb = data.site_boundaries.to_crs(data.to_district().crs)
    near = gpd.sjoin(sb, sb.assign(geometry=sb.buffer(60)), predicate="intersects")
    assert (near["site_id_left"] != near["site_id_right"]).sum() >= 60


def test_rural_layout_spreads_campuses_kilometres_apart() -> None:
    centres = _campus_centres(demo_district(16, seed=4, layout="rural"))
    d = np.hypot(centres["x"].to_numpy()[:, None] - centres["x"].to_numpy(),
                 centres["y"].to_numpy()[:, None] - centres["y"].to_numpy())
    np.fill_diagonal(d, np.inf)
    assert d.min() > 2000


def test_mixed_is_the_default_and_small_districts_keep_their_grid() -> None:
    a = demo_district(6, seed=3)
    b = demo_district(6, seed=3, layout="mixed")
    pd.testing.assert_frame_equal(a.tables["buildings"], b.tables["buildings"])
    town = _campus_centres(demo_district(40, seed=3))
    # 40 % in a town of city density, the rest kilometres apart
    gaps = np.sort(np.hypot(*(town.to_numpy()[:, None, :] - town.to_numpy()).transpose(2, 0, 1)), axis=1)[:, 1]
    assert (gaps < 1000).sum() >= 12 and (gaps > 2000).sum() >= 18
    with pytest.raises(ValueError, match="layout"):
        demo_district(3, layout="suburb")  # type: ignore[arg-type]
