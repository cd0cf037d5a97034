"""Upload safety: size limits, zip bombs, member counts and hostile member names."""

from __future__ import annotations

import io
import warnings
import zipfile

import pytest

from facility_planner import settings
from facility_planner.errors import UploadRejected
from facility_planner.io.maps import read_map
from facility_planner.io.uploads import (
    check_upload,
    inspect_zip,
    read_zip_members,
    repack_zip,
    safe_basename,
    safe_zip,
)


def make_zip(members: list[tuple[str | zipfile.ZipInfo, bytes]], *,
             compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # duplicate names warn
        with zipfile.ZipFile(buffer, "w", compression) as archive:
            for name, content in members:
                archive.writestr(name, content)
    return buffer.getvalue()


def test_oversized_upload_rejected_with_sizes_in_message():
    check_upload(b"x" * 10, filename="a.geojson", limit=10)
    with pytest.raises(UploadRejected, match=r"a\.geojson.*more than the upload limit"):
        check_upload(b"x" * 11, filename="a.geojson", limit=10)


def test_oversized_upload_uses_settings_limit(monkeypatch):
    monkeypatch.setattr(settings, "max_upload_bytes", 100)
    with pytest.raises(UploadRejected, match="upload limit"):
        read_map(b"{" + b" " * 200 + b"}", filename="big.geojson")


def test_empty_upload_rejected():
    with pytest.raises(UploadRejected, match="empty"):
        check_upload(b"", filename="a.zip")


def test_good_zip_opens_in_memory():
    data = make_zip([("dir/a.txt", b"hello"), ("b.txt", b"world")])
    assert [i.filename for i in inspect_zip(data, filename="ok.zip")] == ["dir/a.txt", "b.txt"]
    with safe_zip(data, filename="ok.zip") as archive:
        assert archive.read("b.txt") == b"world"
    assert read_zip_members(data, filename="ok.zip") == {"dir/a.txt": b"hello", "b.txt": b"world"}


def test_zip_bomb_rejected_by_ratio():
    data = make_zip([("zeros.shp", bytes(8 * 1024 * 1024))])
    assert len(data) < 100_000  # ~1000:1
    with pytest.raises(UploadRejected, match="zip bomb"):
        inspect_zip(data, filename="bomb.zip")
    with pytest.raises(UploadRejected, match="zip bomb"):
        read_map(data, filename="bomb.zip")


def test_small_compressible_member_is_not_a_bomb():
    data = make_zip([("a00000001.gdbtablx", bytes(50_000))])
    assert len(inspect_zip(data, filename="x.gdb.zip")) == 1


def test_total_uncompressed_size_rejected(monkeypatch):
    monkeypatch.setattr(settings, "max_zip_uncompressed_bytes", 1_000)
    data = make_zip([("a.bin", b"a" * 600), ("b.bin", b"b" * 600)], compression=zipfile.ZIP_STORED)
    with pytest.raises(UploadRejected, match="unpacks to"):
        inspect_zip(data, filename="big.zip")


def test_too_many_members_rejected(monkeypatch):
    monkeypatch.setattr(settings, "max_zip_members", 5)
    inspect_zip(make_zip([(f"m{i}.txt", b"x") for i in range(5)]), filename="five.zip")
    data = make_zip([(f"m{i}.txt", b"x") for i in range(6)])
    with pytest.raises(UploadRejected, match="6 members, more than the limit of 5"):
        inspect_zip(data, filename="six.zip")
    with pytest.raises(UploadRejected):
        read_map(data, filename="six.zip")


@pytest.mark.parametrize("name, why", [
    ("../evil.shp", r"outside the archive"),
    ("maps/../../evil.shp", r"outside the archive"),
    ("/etc/passwd", "absolute path"),
    ("C:/Windows/evil.shp", "absolute path"),
    ("..\\evil.shp", "backslashes"),
    ("maps\\..\\..\\evil.shp", "backslashes"),
    ("a//b.shp", "empty path component"),
    ("evil\n.shp", "control characters"),
])
def test_hostile_member_names_rejected(name, why):
    data = make_zip([("ok.prj", b"x"), (zipfile.ZipInfo(name), b"payload")])
    with pytest.raises(UploadRejected, match=why):
        inspect_zip(data, filename="campus.zip")
    with pytest.raises(UploadRejected):
        read_map(data, filename="campus.zip")


def test_symlink_member_rejected():
    link = zipfile.ZipInfo("footprints.shp")
    link.external_attr = (0o120777 << 16)
    data = make_zip([(link, b"/etc/passwd")])
    with pytest.raises(UploadRejected, match="symbolic link"):
        inspect_zip(data, filename="link.zip")


def test_duplicate_member_rejected():
    data = make_zip([("a.shp", b"1"), ("a.shp", b"2")])
    with pytest.raises(UploadRejected, match="twice"):
        inspect_zip(data, filename="dup.zip")


def test_not_a_zip_rejected():
    with pytest.raises(UploadRejected, match="not a readable zip"):
        inspect_zip(b"PK\x03\x04 this is not really a zip", filename="fake.zip")


def test_safe_basename_and_repack():
    assert safe_basename("campus.gdb/a00000001.gdbtable", filename="x") == "a00000001.gdbtable"
    with pytest.raises(UploadRejected):
        safe_basename("dir/.hidden", filename="x")
    packed = repack_zip([("a.txt", b"1"), ("b.txt", b"2")])
    assert read_zip_members(packed, filename="packed") == {"a.txt": b"1", "b.txt": b"2"}


def test_one_size_and_zip_check_for_inventories_maps_and_the_app(monkeypatch, tmp_path):
    """The inventory reader, the map reader and the app's upload form share io.uploads' limits."""
    from facility_planner.io.inventory import read_inventory
    from facility_planner.io.uploads import refused_upload

    monkeypatch.setattr(settings, "max_upload_bytes", 1_000)
    assert refused_upload([("a.csv", b"x" * 1_000), ("b.gpkg", b"x")]) is None
    message = refused_upload([("a.csv", b"x" * 10), ("big.xlsx", b"x" * 1_001)])
    assert message.startswith("file big.xlsx: the file is 0.0 MB, more than the upload limit")
    with pytest.raises(UploadRejected, match="more than the upload limit"):
        read_inventory({"sites.csv": b"site_id\n" + b"S1\n" * 500})
    (tmp_path / "sites.csv").write_bytes(b"site_id\n" + b"S1\n" * 500)
    with pytest.raises(UploadRejected, match="more than the upload limit"):
        read_inventory(tmp_path)
    monkeypatch.setattr(settings, "max_upload_bytes", 200 * 1024 * 1024)
    bomb = make_zip([("[Content_Types].xml", b"<x/>"), ("xl/worksheets/sheet1.xml", bytes(8 * 1024 * 1024))])
    with pytest.raises(UploadRejected, match="zip bomb"):  # same ratio and floor as map zips
        read_inventory(bomb, filename="inventory.xlsx")
