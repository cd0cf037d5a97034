"""Campus maps from bytes: every format, CRS handling, repairs, roles and the file name's role."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, box

from facility_planner.errors import InputError, MissingCRSError
from facility_planner.io.maps import MapLayers, detect_format, read_map, read_maps

UTM = "EPSG:32618"
X0, Y0 = 500_000.0, 4_300_000.0  # UTM 18N, about 75°W 38.8°N


def footprints_utm() -> gpd.GeoDataFrame:
    """Building A 40 m x 30 m (1200 m²) and building B 20 m x 20 m (400 m²)."""
    return gpd.GeoDataFrame(
        {"building_id": ["A", "B"], "name": ["Main", "Gym"]},
        geometry=[box(X0, Y0, X0 + 40, Y0 + 30), box(X0 + 100, Y0, X0 + 120, Y0 + 20)], crs=UTM)


def write(frame: gpd.GeoDataFrame, path: Path, **kwargs) -> bytes:
    frame.to_file(path, **kwargs)
    return path.read_bytes()


def zip_dir(folder: Path, *, prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for root, _, files in os.walk(folder):
            for name in sorted(files):
                path = Path(root) / name
                archive.write(path, prefix + path.relative_to(folder).as_posix())
    return buffer.getvalue()


def ids(frame: gpd.GeoDataFrame, column: str = "building_id") -> list[str]:
    return sorted(frame[column].dropna().astype(str))


def test_geojson_keeps_crs_ids_and_areas(tmp_path):
    data = write(footprints_utm(), tmp_path / "campus.geojson", driver="GeoJSON")
    maps = read_map(data, filename="campus.geojson")
    assert maps.crs.to_epsg() == 32618
    assert ids(maps.footprints) == ["A", "B"]
    areas = dict(zip(maps.footprints["building_id"], maps.footprints.area.round(6), strict=True))
    assert areas == {"A": 1200.0, "B": 400.0}
    assert maps.footprints["map_feature"].tolist() == [1, 2]
    assert maps.report.problems == []
    assert len(maps.points) == len(maps.parking) == 0


def test_headers_matched_case_insensitively_with_aliases(tmp_path):
    frame = footprints_utm().rename(columns={"building_id": "Bldg ID"})
    data = write(frame.to_crs(4326), tmp_path / "x.geojson", driver="GeoJSON")
    maps = read_map(data, filename="x.geojson")
    assert ids(maps.footprints) == ["A", "B"]


def test_roles_from_columns_and_layer_names(tmp_path):
    frame = gpd.GeoDataFrame({
        "building_id": ["A", None, None, None, "A", None, None],
        "site_id": ["S1", "S1", "S1", None, None, None, None],
        "room_id": [None, None, None, "A-101", None, None, None],
        "kind": [None, None, "Parking Lot", None, None, None, None],
        "material": [None, None, None, None, "concrete", None, None],
        "Camera ID": [None, None, None, None, None, "C1", None],
        "heading_deg": [None, None, None, None, None, 90.0, None],
    }, geometry=[
        box(X0, Y0, X0 + 40, Y0 + 30),                      # footprint
        box(X0 - 100, Y0 - 100, X0 + 200, Y0 + 200),        # site boundary
        box(X0 + 50, Y0 + 50, X0 + 90, Y0 + 80),            # parking by kind
        box(X0, Y0, X0 + 10, Y0 + 10),                      # room
        LineString([(X0 + 20, Y0), (X0 + 20, Y0 + 30)]),     # wall
        Point(X0 - 2, Y0 + 15),                             # camera
        Point(X0 + 500, Y0),                                # nothing: reported
    ], crs=UTM)
    maps = read_map(write(frame, tmp_path / "c.gpkg", layer="campus"), filename="c.gpkg")
    assert ids(maps.footprints) == ["A"]
    assert ids(maps.site_boundaries, "site_id") == ["S1"]
    assert ids(maps.parking, "site_id") == ["S1"] and maps.parking.area.iloc[0] == pytest.approx(1200)
    assert ids(maps.rooms, "room_id") == ["A-101"]
    assert maps.walls[["building_id", "material"]].values.tolist() == [["A", "concrete"]]
    assert maps.points[["asset_table", "asset_id"]].values.tolist() == [["cameras", "C1"]]
    assert maps.points["heading_deg"].tolist() == [90.0]
    unused = [p for p in maps.report.warnings if "not used" in p.message]
    assert len(unused) == 1 and "1 point(s)" in unused[0].message and "feature 7" in unused[0].message


def test_gpkg_reads_every_layer_or_the_chosen_ones(tmp_path):
    path = tmp_path / "campus.gpkg"
    footprints_utm().to_file(path, layer="buildings")
    cameras = gpd.GeoDataFrame({"camera_id": ["C1", "C2"]},
                               geometry=[Point(X0 - 1, Y0), Point(X0 + 99, Y0)], crs=UTM)
    cameras.to_file(path, layer="cameras")
    data = path.read_bytes()
    every = read_map(data, filename="campus.gpkg")
    assert ids(every.footprints) == ["A", "B"]
    assert ids(every.points, "asset_id") == ["C1", "C2"]
    assert set(every.footprints["map_layer"]) == {"buildings"}
    chosen = read_map(data, filename="campus.gpkg", layers=["cameras"])
    assert len(chosen.footprints) == 0 and ids(chosen.points, "asset_id") == ["C1", "C2"]
    with pytest.raises(InputError, match="has no layer roofs; its layers are buildings, cameras"):
        read_map(data, filename="campus.gpkg", layers=["roofs"])


def test_layer_name_says_what_polygons_are(tmp_path):
    path = tmp_path / "campus.gpkg"
    lots = gpd.GeoDataFrame({"name": ["North lot"]}, geometry=[box(X0, Y0, X0 + 10, Y0 + 10)], crs=UTM)
    lots.to_file(path, layer="Parking_Lots")
    outline = gpd.GeoDataFrame({"name": ["Portable"]}, geometry=[box(X0, Y0, X0 + 5, Y0 + 5)], crs=UTM)
    outline.to_file(path, layer="Buildings")
    maps = read_map(path.read_bytes(), filename="campus.gpkg")
    assert maps.parking["name"].tolist() == ["North lot"]
    assert maps.footprints["name"].tolist() == ["Portable"]
    assert any("have no building_id" in p.message and p.sheet == "Buildings"
               for p in maps.report.warnings)


@pytest.mark.filterwarnings("ignore:Normalized/laundered field name")
def test_zipped_shapefile_in_a_folder_with_laundered_names(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    with pytest.warns(UserWarning):  # building_id is cut to building_i
        footprints_utm().to_file(folder / "footprints.shp")
    maps = read_map(zip_dir(folder, prefix="export/gis/"), filename="footprints.zip")
    assert ids(maps.footprints) == ["A", "B"]
    assert maps.crs.to_epsg() == 32618
    assert set(maps.footprints["map_layer"]) == {"footprints"}


def test_shapefile_without_prj_needs_a_crs(tmp_path):
    folder = tmp_path / "shp"
    folder.mkdir()
    frame = footprints_utm().rename(columns={"building_id": "bldg"})
    frame.to_file(folder / "bldgs.shp")
    (folder / "bldgs.prj").unlink()
    data = zip_dir(folder)
    with pytest.raises(MissingCRSError, match=r"map bldgs.zip has no coordinate reference system "
                                              r"\(a Shapefile without its .prj.*give its EPSG code") as err:
        read_map(data, filename="bldgs.zip")
    assert err.value.file == "bldgs.zip"
    maps = read_map(data, filename="bldgs.zip", crs=32618)
    assert maps.crs.to_epsg() == 32618 and ids(maps.footprints) == ["A", "B"]
    assert maps.footprints.area.sum() == pytest.approx(1600)


def write_kml(tmp_path: Path) -> bytes:
    return write(footprints_utm().to_crs(4326), tmp_path / "campus.kml", driver="LIBKML")


def test_kml_with_extended_data(tmp_path):
    data = write_kml(tmp_path)
    assert b"<SimpleData name=\"building_id\">A</SimpleData>" in data
    maps = read_map(data, filename="campus.kml")
    assert maps.crs.to_epsg() == 4326
    assert ids(maps.footprints) == ["A", "B"]
    assert not shapely.has_z(maps.footprints.geometry.values).any()
    assert maps.footprints.to_crs(UTM).area.round(0).tolist() == [1200.0, 400.0]


def test_kmz(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("doc.kml", write_kml(tmp_path))
        archive.writestr("files/icon.png", b"\x89PNG")
    maps = read_map(buffer.getvalue(), filename="campus.kmz")
    assert ids(maps.footprints) == ["A", "B"]
    assert maps.report.problems == []


def test_zipped_file_geodatabase(tmp_path):
    gdb = tmp_path / "campus.gdb"
    footprints_utm().to_file(gdb, driver="OpenFileGDB", layer="Buildings")
    lots = gpd.GeoDataFrame({"site_id": ["S1"]}, geometry=[box(X0, Y0 - 50, X0 + 60, Y0 - 10)], crs=UTM)
    lots.to_file(gdb, driver="OpenFileGDB", layer="ParkingLots")
    data = zip_dir(gdb, prefix="campus.gdb/")
    maps = read_map(data, filename="campus.gdb.zip")
    assert ids(maps.footprints) == ["A", "B"]
    assert ids(maps.parking, "site_id") == ["S1"]
    assert maps.parking.area.iloc[0] == pytest.approx(2400)
    assert maps.crs.to_epsg() == 32618
    chosen = read_map(data, filename="campus.gdb.zip", layers=["Buildings"])
    assert len(chosen.parking) == 0 and len(chosen.footprints) == 2


def dxf(*entities: list[str]) -> bytes:
    lines = ["0", "SECTION", "2", "ENTITIES"]
    for entity in entities:
        lines += entity
    lines += ["0", "ENDSEC", "0", "EOF"]
    return ("\n".join(lines) + "\n").encode()


def polyline(layer: str, points: list[tuple[float, float]], *, closed: bool = True) -> list[str]:
    out = ["0", "LWPOLYLINE", "8", layer, "90", str(len(points)), "70", "1" if closed else "0"]
    for x, y in points:
        out += ["10", str(x), "20", str(y)]
    return out


def text(layer: str, x: float, y: float, value: str) -> list[str]:
    return ["0", "TEXT", "8", layer, "10", str(x), "20", str(y), "40", "2", "1", value]


def cad_drawing() -> bytes:
    return dxf(
        polyline("BLDG", [(X0, Y0), (X0 + 40, Y0), (X0 + 40, Y0 + 30), (X0, Y0 + 30)]),
        text("BLDG-TEXT", X0 + 20, Y0 + 15, "A"),
        polyline("PARKING", [(X0, Y0 - 50), (X0 + 60, Y0 - 50), (X0 + 60, Y0 - 10), (X0, Y0 - 10)]),
        polyline("BLDG", [(X0 + 200, Y0), (X0 + 210, Y0), (X0 + 210, Y0 + 10)], closed=False),
        polyline("FURNITURE", [(X0 + 1, Y0 + 1), (X0 + 2, Y0 + 1), (X0 + 2, Y0 + 2), (X0 + 1, Y0 + 2)]),
    )


def test_dxf_without_crs_is_refused():
    with pytest.raises(MissingCRSError, match="map site.dxf has no coordinate reference system"):
        read_map(cad_drawing(), filename="site.dxf")


def test_dxf_closed_polylines_by_cad_layer():
    maps = read_map(cad_drawing(), filename="site.dxf", crs=32618)
    assert maps.crs.to_epsg() == 32618
    assert len(maps.footprints) == 1 and maps.footprints.area.iloc[0] == pytest.approx(1200)
    assert ids(maps.footprints) == ["A"]  # from the text drawn inside it
    assert maps.footprints["layer"].tolist() == ["BLDG"]
    assert len(maps.parking) == 1 and maps.parking.area.iloc[0] == pytest.approx(2400)
    messages = " | ".join(p.message for p in maps.report.warnings)
    assert "took their building_id from the text drawn inside them: A" in messages
    # the open polyline on BLDG and the furniture outline are reported, not silently used
    assert "1 polygon(s), 1 line(s) in layer entities are not used" in messages
    assert maps.footprints["map_layer"].tolist() == ["BLDG"]


def test_dxf_layer_filter():
    maps = read_map(cad_drawing(), filename="site.dxf", crs="EPSG:32618", dxf_layers=["bldg"])
    assert len(maps.footprints) == 1 and len(maps.parking) == 0
    chosen = read_map(cad_drawing(), filename="site.dxf", crs=32618, dxf_layers=["furniture"])
    assert chosen.footprints.area.round(6).tolist() == [1.0]  # chosen layers are footprints
    with pytest.raises(InputError, match="no CAD layer roof; its layers are BLDG, "):
        read_map(cad_drawing(), filename="site.dxf", crs=32618, dxf_layers=["roof"])


def test_dxf_written_by_gdal(tmp_path):
    frame = gpd.GeoDataFrame({"Layer": ["BLDG", "PARKING"]},
                             geometry=[box(X0, Y0, X0 + 40, Y0 + 30), box(X0, Y0 - 50, X0 + 60, Y0 - 10)])
    with pytest.warns(UserWarning, match="crs"):
        data = write(frame, tmp_path / "gdal.dxf", driver="DXF")
    maps = read_map(data, filename="gdal.dxf", crs=32618)
    assert maps.footprints.area.round(6).tolist() == [1200.0]
    assert maps.parking.area.round(6).tolist() == [2400.0]


def test_given_crs_that_does_not_fit_the_coordinates():
    with pytest.raises(InputError, match="not longitudes and latitudes"):
        read_map(cad_drawing(), filename="site.dxf", crs=4326)


def test_bow_tie_repaired_and_reported(tmp_path):
    bow_tie = Polygon([(X0, Y0), (X0 + 10, Y0 + 10), (X0 + 10, Y0), (X0, Y0 + 10)])
    frame = gpd.GeoDataFrame({"building_id": ["A", "B"]},
                             geometry=[box(X0 + 50, Y0, X0 + 60, Y0 + 10), bow_tie], crs=UTM)
    maps = read_map(write(frame, tmp_path / "bad.gpkg", layer="footprints"), filename="bad.gpkg")
    fixed = maps.footprints.set_index("building_id").geometry
    assert fixed["B"].is_valid and fixed["B"].geom_type == "MultiPolygon"
    assert fixed["B"].area == pytest.approx(50.0)  # two triangles of 25 m²
    assert fixed["A"].area == pytest.approx(100.0)
    [problem] = maps.report.warnings
    assert (problem.file, problem.sheet, problem.row, problem.value) == ("bad.gpkg", "footprints", 2, "B")
    assert "feature 2 (building_id B) in layer footprints had an invalid polygon" in problem.message
    assert "Self-intersection" in problem.message


def test_file_name_only_chooses_the_format(tmp_path, monkeypatch):
    data = write(footprints_utm(), tmp_path / "good.geojson", driver="GeoJSON")
    decoy = tmp_path / "decoy.geojson"
    gpd.GeoDataFrame({"building_id": ["DECOY"]}, geometry=[box(0, 0, 1, 1)], crs=UTM).to_file(decoy)
    opened: list[object] = []
    for name in ("read_dataframe", "list_layers", "read_info"):
        real = getattr(pyogrio, name)

        def spy(source, *args, _real=real, **kwargs):
            opened.append(source)
            return _real(source, *args, **kwargs)
        monkeypatch.setattr(pyogrio, name, spy)
    for filename in (str(decoy), "/etc/passwd", "http://x/y.geojson", "../../etc/hosts.geojson"):
        maps = read_map(data, filename=filename)
        assert ids(maps.footprints) == ["A", "B"]
        assert maps.source == filename
    assert opened and all(isinstance(source, io.BytesIO) for source in opened)


def test_unreadable_content_named_clearly():
    with pytest.raises(InputError, match=r"file notes.geojson: the file is named .geojson but its "
                                         "content is not GEOJSON"):
        read_map(b"hello world", filename="notes.geojson")
    with pytest.raises(InputError, match="zip them together"):
        read_map(b"\x00\x00\x27\x0a" + bytes(100), filename="roads.shp")
    with pytest.raises(InputError, match="save the drawing as DXF"):
        read_map(b"AC1032" + bytes(100), filename="campus.dwg")
    with pytest.raises(InputError, match="the GeoJSON is damaged or is not a complete GeoJSON file"):
        read_map(b'{"type": "FeatureCollection", "features": [', filename="broken.geojson")
    assert detect_format(b"  0\nSECTION\n", filename="anything") == "dxf"


def test_zip_with_nothing_to_read():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.md", "hello")
    with pytest.raises(InputError, match="holds no map"):
        read_map(buffer.getvalue(), filename="empty.zip")


def test_merge_reprojects_to_the_first_crs(tmp_path):
    first = read_map(write(footprints_utm(), tmp_path / "a.gpkg", layer="buildings"), filename="a.gpkg")
    other = gpd.GeoDataFrame({"building_id": ["C"]}, geometry=[box(X0 + 300, Y0, X0 + 310, Y0 + 10)],
                             crs=UTM).to_crs(4326)
    second_bytes = write(other, tmp_path / "b.geojson", driver="GeoJSON")
    merged = read_maps([("a.gpkg", first_bytes := (tmp_path / "a.gpkg").read_bytes()),
                        ("b.geojson", second_bytes)])
    assert first_bytes
    assert merged.crs.to_epsg() == 32618 and merged.source == "a.gpkg, b.geojson"
    assert ids(merged.footprints) == ["A", "B", "C"]
    assert merged.footprints.set_index("building_id").area["C"] == pytest.approx(100, rel=1e-3)
    assert isinstance(MapLayers.empty().merge(first), MapLayers)
    assert first.merge(MapLayers.empty()).footprints.equals(first.footprints)
