"""Upload safety: size limits and zip archives checked before anything reads them.

Nothing here writes a user-chosen name to disk. Zip members are checked (count, total size,
compression ratio, names, links) and read into memory; ``repack_zip`` builds a fresh in-memory
archive whose member names are validated base names, so GDAL can open a zipped Shapefile or File
Geodatabase from bytes.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
from collections.abc import Callable, Iterable

from facility_planner import settings
from facility_planner.errors import UploadRejected

#: Members smaller than this are not held to the compression-ratio limit: a small, very
#: compressible file (a FileGDB index full of zeros) cannot exhaust memory.
RATIO_FLOOR_BYTES = 1 << 20

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_SAFE_BASENAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_ .()+-]{0,200}$")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def check_size(size: int, *, filename: str | None, limit: int | None = None) -> None:
    """Refuse a file of ``size`` bytes when it is larger than ``limit`` (the one size check).

    ``limit`` defaults to ``settings.max_upload_bytes``, read at call time.

    Raises
    ------
    UploadRejected
    """
    limit = settings.max_upload_bytes if limit is None else limit
    if size > limit:
        raise UploadRejected(
            f"the file is {_megabytes(size)}, more than the upload limit of {_megabytes(limit)}; "
            "split it or raise FACILITY_PLANNER_MAX_UPLOAD_BYTES", file=filename)


def check_upload(data: bytes, *, filename: str | None, limit: int | None = None,
                 allow_empty: bool = False) -> None:
    """Refuse an empty upload (unless ``allow_empty``) or one larger than ``limit`` bytes.

    Parameters
    ----------
    data
        The uploaded bytes.
    filename
        The name the user gave; used in the message only.
    limit
        Largest size accepted; default ``settings.max_upload_bytes`` (read at call time).
    allow_empty
        Let a 0-byte file through (an inventory reports an empty sheet in its own words).

    Raises
    ------
    UploadRejected
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise UploadRejected(f"expected the file's bytes, got {type(data).__name__}", file=filename)
    if len(data) == 0 and not allow_empty:
        raise UploadRejected("the file is empty (0 bytes), so there is nothing to read; save or "
                             "export it again and use the new copy", file=filename)
    check_size(len(data), filename=filename, limit=limit)


def refused_upload(files: Iterable[tuple[str, bytes]]) -> str | None:
    """The sentence refusing the first of ``files`` over the size limit, or None when all fit."""
    for name, data in files:
        try:
            check_size(len(data), filename=name)
        except UploadRejected as err:
            return str(err)
    return None


def is_zip(data: bytes) -> bool:
    """True when ``data`` starts like a zip archive (also xlsx, kmz)."""
    return bytes(data[:4]) in _ZIP_MAGIC


def check_member_name(name: str, *, filename: str | None) -> str:
    """Return ``name`` when it is a safe relative member name, else raise ``UploadRejected``.

    Refused: absolute paths, drive letters, ``..`` components, backslashes, control characters.
    """
    def refuse(why: str) -> UploadRejected:
        return UploadRejected(f"the archive member {name!r} {why}; the archive was not opened",
                              file=filename)

    if not name:
        raise refuse("has an empty name")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise refuse("has control characters in its name")
    if "\\" in name:
        raise refuse("uses backslashes in its path")
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        raise refuse("has an absolute path")
    parts = name.rstrip("/").split("/")
    if any(part == ".." for part in parts):
        raise refuse("points outside the archive (..)")
    if any(part == "" for part in parts):
        raise refuse("has an empty path component")
    return name


def inspect_zip(data: bytes, *, filename: str | None,
                unreadable: str | None = None) -> list[zipfile.ZipInfo]:
    """Check a zip archive without extracting it and return its file members.

    Checks the member count (``settings.max_zip_members``), the total uncompressed size
    (``settings.max_zip_uncompressed_bytes``), each member's compression ratio
    (``settings.max_zip_ratio``, zip bombs), member names (see ``check_member_name``), symbolic
    links, encryption and duplicate names. ``unreadable`` is the sentence used when the archive
    cannot be opened at all (a workbook says so in its own words).

    Raises
    ------
    UploadRejected
    """
    check_upload(data, filename=filename)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as err:
        raise UploadRejected(unreadable or f"is not a readable zip archive ({err})",
                             file=filename) from None
    if len(infos) > settings.max_zip_members:
        raise UploadRejected(
            f"the archive holds {len(infos)} members, more than the limit of "
            f"{settings.max_zip_members}", file=filename)
    total = sum(info.file_size for info in infos)
    if total > settings.max_zip_uncompressed_bytes:
        raise UploadRejected(
            f"the archive unpacks to {_megabytes(total)}, more than the limit of "
            f"{_megabytes(settings.max_zip_uncompressed_bytes)}", file=filename)
    seen: set[str] = set()
    files = []
    for info in infos:
        check_member_name(info.filename, filename=filename)
        if info.filename in seen:
            raise UploadRejected(f"the archive holds {info.filename!r} twice", file=filename)
        seen.add(info.filename)
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise UploadRejected(f"the archive member {info.filename!r} is a symbolic link",
                                 file=filename)
        if info.flag_bits & 0x1:
            raise UploadRejected(f"the archive member {info.filename!r} is encrypted",
                                 file=filename)
        if info.is_dir():
            continue
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > RATIO_FLOOR_BYTES and ratio > settings.max_zip_ratio:
            raise UploadRejected(
                f"the archive member {info.filename!r} is compressed {ratio:.0f} to 1, more than "
                f"the limit of {settings.max_zip_ratio} to 1 (a zip bomb?)", file=filename)
        files.append(info)
    return files


def safe_zip(data: bytes, *, filename: str) -> zipfile.ZipFile:
    """Open a checked zip archive in memory (see ``inspect_zip``); nothing is written to disk."""
    inspect_zip(data, filename=filename)
    return zipfile.ZipFile(io.BytesIO(data))


def read_zip_members(
    data: bytes, *, filename: str, keep: Callable[[str], bool] | None = None,
) -> dict[str, bytes]:
    """Checked members of a zip archive read into memory, by member name.

    ``keep`` selects members by name (default all files). Each member is read with its declared
    size as a bound, so a member whose header lies is cut short and fails its CRC check.
    """
    infos = inspect_zip(data, filename=filename)
    out: dict[str, bytes] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in infos:
            if keep is not None and not keep(info.filename):
                continue
            try:
                with archive.open(info) as member:
                    content = member.read(info.file_size + 1)
            except (zipfile.BadZipFile, NotImplementedError, RuntimeError, EOFError) as err:
                raise UploadRejected(f"the archive member {info.filename!r} cannot be read "
                                     f"({err})", file=filename) from None
            if len(content) > info.file_size:
                raise UploadRejected(f"the archive member {info.filename!r} is larger than its "
                                     "header says", file=filename)
            out[info.filename] = content
    return out


def safe_basename(name: str, *, filename: str) -> str:
    """The last path component of a checked member name, refused unless plainly safe."""
    base = check_member_name(name, filename=filename).rstrip("/").rsplit("/", 1)[-1]
    if base in (".", "..") or not _SAFE_BASENAME.match(base):
        raise UploadRejected(f"the archive member {name!r} has a name I will not use",
                             file=filename)
    return base


def repack_zip(members: Iterable[tuple[str, bytes]]) -> bytes:
    """A fresh in-memory zip (stored, no compression) of ``(name, bytes)`` pairs at its root.

    The names must already be safe base names (``safe_basename``); they are ours, not the user's.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, content in members:
            archive.writestr(name, content)
    return buffer.getvalue()
