"""The ``Store``: save, list, load, compare, roll up and delete assessments; roles and the audit
trail. One API over SQLite (embedded default) and PostgreSQL/PostGIS (shared deployments).

Every write runs in one transaction (a save is all or nothing: a killed save leaves no half
snapshot); snapshots are append-only (saving never overwrites; deleting keeps a tombstone with
the reason); saves, deletions and role changes also write an audit event in the same transaction.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pandas as pd
import sqlalchemy as sa

from facility_planner.errors import StoreError
from facility_planner.store import schema as t
from facility_planner.store import snapshot as snap
from facility_planner.store.engine import make_engine, migrate, plain_errors, redact
from facility_planner.store.records import (
    ALL_DISTRICTS,
    ROLES,
    AuditEvent,
    Grant,
    SnapshotInfo,
    StoreKind,
    utc_now,
)

if TYPE_CHECKING:
    from facility_planner.assess import Assessment
    from facility_planner.store.compare import SnapshotDiff


def _app_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("facility-planner")
    except PackageNotFoundError:
        return "unknown"


def _loads(text: str | None) -> Any:
    return None if text is None else json.loads(text)


class Store:
    """An open assessment store (see ``open_store``)."""

    kind: StoreKind

    def __init__(self, location: str, *, readonly: bool = False) -> None:
        self.location = location
        self.readonly = readonly
        self._engine, self.kind = make_engine(location, readonly=readonly)
        with self._errors():
            self.revision = migrate(self._engine, readonly=readonly, location=location)

    def __repr__(self) -> str:
        return f"Store({self.kind}: {redact(self.location)})"

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connections."""
        self._engine.dispose()

    # -- transactions ------------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        with plain_errors(self.location, self.kind):
            yield

    @contextmanager
    def _write(self) -> Iterator[sa.Connection]:
        """One write transaction (SQLite: BEGIN IMMEDIATE, waiting for another writer)."""
        if self.readonly:
            raise StoreError(f"The store {redact(self.location)} is open read-only: this action needs write access.")
        with self._errors(), self._engine.connect().execution_options(sqlite_begin="IMMEDIATE") as conn, \
                conn.begin():
            yield conn

    @contextmanager
    def _read(self) -> Iterator[sa.Connection]:
        with self._errors(), self._engine.connect() as conn, conn.begin():
            yield conn

    # -- snapshots ---------------------------------------------------------------------------

    def save(self, assessment: Assessment, *, user: str, role: str, district: str | None = None,
             layers: bool = True) -> SnapshotInfo:
        """Save an assessment as a new, immutable snapshot (never overwrites) and audit it.

        Parameters
        ----------
        assessment
            What ``assess`` returned.
        user, role
            Who saves (e-mail or login name) and in which role.
        district
            The district key; default the sites' ``district`` column.
        layers
            Also keep the coverage map layers (default True).
        """
        settings_json = snap.dumps(snap.settings_record(assessment))
        inventory, settings_hash, inputs = snap.input_hashes(assessment, settings_json)
        district = district or snap.district_name(assessment)
        summary = snap.summary_record(assessment)
        rows, figures = snap.building_tables(assessment)
        sites = snap.site_rows(assessment)
        tables = {**snap.bulk_tables(assessment), snap.FIGURES: figures}
        blobs: Iterable[snap.Blob] = itertools.chain(
            snap.table_blobs(tables),
            snap.layer_blobs(assessment.coverage) if layers and assessment.coverage is not None else ())
        if self.kind == "sqlite":  # encoded before the write lock is taken: other savers wait less
            blobs = list(blobs)  # (PostgreSQL: encoded one by one as COPY sends them, never all held)
        features = self._footprints(assessment)
        report = assessment.report
        header = {"saved_at": utc_now(), "district": district, "as_of": assessment.as_of, "user": user,
                  "role": role, "inputs_hash": inputs, "inventory_hash": inventory,
                  "settings_hash": settings_hash, "app_version": _app_version(),
                  "crs": str(assessment.district.crs), "buildings": len(rows), "sites": len(sites),
                  "projects": len(assessment.projects), "summary": snap.dumps(summary),
                  "settings": settings_json,
                  "validation": snap.dumps({"errors": len(report.errors), "warnings": len(report.warnings),
                                            "rejected_rows": report.rejected_count})}
        with self._write() as conn:
            repeat = conn.execute(sa.select(sa.func.min(t.snapshots.c.id)).where(
                t.snapshots.c.inputs_hash == inputs, t.snapshots.c.district == district)).scalar()
            sid = int(conn.execute(sa.insert(t.snapshots).values(**header).returning(t.snapshots.c.id)).scalar_one())
            self._insert_rows(conn, t.snapshot_buildings, sid, rows)
            self._insert_rows(conn, t.snapshot_sites, sid, sites)
            self._insert_rows(conn, t.snapshot_features, sid, features)
            self._insert_blobs(conn, sid, blobs)
            self._audit(conn, AuditEvent(user=user, action="save", target=f"snapshot {sid}", district=district,
                                         after={"snapshot": sid, "buildings": len(rows), "role": role,
                                                "inputs_hash": inputs, "repeat_of": repeat}))
        return self.info(sid)

    def _footprints(self, assessment: Assessment) -> list[dict[str, Any]]:
        """Building footprints as feature rows (a PostGIS geometry column on PostgreSQL)."""
        from pyproj import CRS

        crs = assessment.district.crs
        srid = CRS.from_user_input(crs).to_epsg() if crs else None
        b = assessment.district.buildings
        keep = [c for c in ("building_id", "site_id", "name") if c in b]
        names = ("layer", "feature", "building_id", "site_id", "attrs", "geom")
        return [dict(zip(names, row, strict=True)) for row in snap.feature_rows(
            {snap.FOOTPRINTS: b[[*keep, b.geometry.name]]}, srid, hex_wkb=self.kind == "postgis")]

    def _insert_rows(self, conn: sa.Connection, table: sa.Table, sid: int, rows: list[dict[str, Any]]) -> None:
        """Many rows of one snapshot into ``table`` in this transaction, straight through the
        driver: COPY on PostgreSQL (geometry as hex EWKB), ``executemany`` on SQLite (tens of
        thousands of buildings: SQLAlchemy's per-row parameter handling would cost seconds)."""
        if not rows:
            return
        raw = conn.connection.driver_connection
        if raw is None:
            raise StoreError(f"The store {redact(self.location)} closed the connection.")
        fields = list(rows[0])
        columns = ["snapshot_id", *fields]
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        if self.kind == "postgis":
            with raw.cursor() as cur, cur.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row((sid, *(row[f] for f in fields)))
            return
        marks = ", ".join("?" * len(columns))
        raw.executemany(f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",
                        [(sid, *(row[f] for f in fields)) for row in rows])

    def _insert_blobs(self, conn: sa.Connection, sid: int, blobs: Iterable[snap.Blob]) -> None:
        """The snapshot's table and layer blobs, each written as it comes: one binary COPY on
        PostgreSQL (no parameter binding of hundreds of MB), one INSERT each on SQLite."""
        raw = conn.connection.driver_connection
        if raw is None:
            raise StoreError(f"The store {redact(self.location)} closed the connection.")
        columns = ("snapshot_id", "name", "format", "rows", "data")
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        if self.kind == "postgis":
            with raw.cursor() as cur, cur.copy(
                    f"COPY {quote(t.snapshot_tables.name)} ({names}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["int4", "varchar", "varchar", "int4", "bytea"])
                for blob in blobs:
                    copy.write_row((sid, *blob))
            return
        for blob in blobs:
            raw.execute(f"INSERT INTO {quote(t.snapshot_tables.name)} ({names}) VALUES (?, ?, ?, ?, ?)", (sid, *blob))

    def _header(self, snapshot_id: int) -> tuple[Any, int | None]:
        """The snapshot's row and the id of the first earlier snapshot made from the same inputs."""
        s = t.snapshots
        with self._read() as conn:
            row = conn.execute(sa.select(s).where(s.c.id == int(snapshot_id))).first()
            if row is None:
                raise StoreError(f"There is no snapshot {snapshot_id} in the store {redact(self.location)}.")
            repeat = conn.execute(sa.select(sa.func.min(s.c.id)).where(
                s.c.inputs_hash == row.inputs_hash, s.c.district == row.district, s.c.id < row.id)).scalar()
        return row, repeat

    def info(self, snapshot_id: int) -> SnapshotInfo:
        """One snapshot's description."""
        return self._info(*self._header(snapshot_id))

    def _info(self, row: Any, repeat: int | None) -> SnapshotInfo:
        summary = _loads(row.summary) or {}
        district = summary.get("district", {})
        figures = {"score_mean": district.get("score_mean"), "risk_total": summary.get("risk_total"),
                   "selected_cost": summary.get("selected_cost"),
                   "budget_method": summary.get("budget", {}).get("method")}
        return SnapshotInfo(id=int(row.id), saved_at=row.saved_at, kind=self.kind, district=row.district,
                            inputs_hash=row.inputs_hash, inventory_hash=row.inventory_hash,
                            settings_hash=row.settings_hash, as_of=row.as_of, user=row.user, role=row.role,
                            buildings=row.buildings, sites=row.sites, projects=row.projects,
                            app_version=row.app_version, repeat_of=None if repeat is None else int(repeat),
                            figures=figures)

    def snapshots(self, *, district: str | None = None) -> list[SnapshotInfo]:
        """Every snapshot (of one district), oldest first."""
        s = t.snapshots
        first = sa.select(s.c.inputs_hash, s.c.district, sa.func.min(s.c.id).label("first")).group_by(
            s.c.inputs_hash, s.c.district).subquery()
        query = (sa.select(s, first.c.first).join(first, sa.and_(first.c.inputs_hash == s.c.inputs_hash,
                                                                 first.c.district == s.c.district))
                 .order_by(s.c.saved_at, s.c.id))
        if district is not None:
            query = query.where(s.c.district == district)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [self._info(r, None if r.first == r.id else r.first) for r in rows]

    def latest(self, *, district: str | None = None) -> SnapshotInfo | None:
        """The most recent snapshot (of one district), or None."""
        found = self.snapshots(district=district)
        return found[-1] if found else None

    def load(self, snapshot_id: int, *, layers: bool = True) -> snap.Snapshot:
        """Read a snapshot back whole (``layers=False`` skips the coverage map layers)."""
        row, repeat = self._header(snapshot_id)
        info = self._info(row, repeat)
        with self._read() as conn:
            blobs = {r.name: (r.format, r.data) for r in conn.execute(
                sa.select(t.snapshot_tables.c.name, t.snapshot_tables.c.format, t.snapshot_tables.c.data).where(
                    t.snapshot_tables.c.snapshot_id == info.id))}
            buildings = self._figures(conn, [info.id])
            sites = conn.execute(sa.select(t.snapshot_sites).where(t.snapshot_sites.c.snapshot_id == info.id)).all()
            footprints = self._read_features(conn, info.id).get(snap.FOOTPRINTS)
        layer_frames = {name.removeprefix(snap.LAYER_PREFIX): snap.layer_from_blob(fmt, data)
                        for name, (fmt, data) in blobs.items() if layers and name.startswith(snap.LAYER_PREFIX)}
        frames = {name: snap.from_parquet(data) for name, (_fmt, data) in blobs.items()
                  if not name.startswith(snap.LAYER_PREFIX)}
        site_frame = pd.DataFrame([{"site_id": r.site_id, "name": r.name, **json.loads(r.figures)} for r in sites])
        empty = pd.DataFrame()
        return snap.Snapshot(
            info=info, buildings=buildings.drop(columns="snapshot_id", errors="ignore"), sites=site_frame,
            results=frames.get("results", empty), projects=frames.get("projects", empty),
            data_needed=frames.get("data_needed", empty), facts=frames.get("facts", empty),
            site_facts=frames.get("site_facts", empty), problems=frames.get("problems", empty),
            rejected=frames.get("rejected", empty), settings=json.loads(row.settings),
            summary=json.loads(row.summary), layers=layer_frames, footprints=footprints)

    def _read_features(self, conn: sa.Connection, sid: int) -> dict[str, Any]:
        f = t.snapshot_features
        geom = sa.func.ST_AsEWKB(f.c.geom) if self.kind == "postgis" else f.c.geom
        rows = conn.execute(sa.select(f.c.layer, f.c.feature, f.c.attrs, geom).where(
            f.c.snapshot_id == sid).order_by(f.c.layer, f.c.feature))
        crs = conn.execute(sa.select(t.snapshots.c.crs).where(t.snapshots.c.id == sid)).scalar()
        return snap.layers_from_rows(rows, crs)

    def table(self, snapshot_id: int, name: str, *, columns: list[str] | None = None) -> pd.DataFrame:
        """One bulk table of a snapshot (``results``, ``projects``, ``facts`` ...), optionally some columns."""
        with self._read() as conn:
            data = conn.execute(sa.select(t.snapshot_tables.c.data).where(
                t.snapshot_tables.c.snapshot_id == int(snapshot_id), t.snapshot_tables.c.name == name)).scalar()
        if data is None:
            raise StoreError(f"Snapshot {snapshot_id} has no table {name!r}.")
        return snap.from_parquet(data, columns=columns)

    def buildings(self, snapshot_ids: Sequence[int] | None = None, *,
                  district: str | None = None) -> pd.DataFrame:
        """Per-building figures of some (default every) snapshot, with each snapshot's district,
        date and save time: what roll-ups and trend charts read."""
        s = t.snapshots
        query = sa.select(s.c.id, s.c.district, s.c.as_of, s.c.saved_at).order_by(s.c.id)
        if snapshot_ids is not None:
            query = query.where(s.c.id.in_([int(i) for i in snapshot_ids]))
        if district is not None:
            query = query.where(s.c.district == district)
        with self._read() as conn:
            found = conn.execute(query).all()
            frame = self._figures(conn, [int(r.id) for r in found])
        if len(frame):
            extra = pd.DataFrame([tuple(r) for r in found], columns=["snapshot_id", "district", "as_of", "saved_at"])
            frame = frame.merge(extra, on="snapshot_id", how="left", validate="many_to_one")
        return frame

    @staticmethod
    def _figures(conn: sa.Connection, ids: list[int]) -> pd.DataFrame:
        """The per-building figures of snapshots ``ids`` (``snapshot_id`` first, in the order of
        ``ids``; buildings in their saved order): their ``building_figures`` table, or for a
        snapshot saved before there was one, its ``snapshot_buildings`` rows (JSON parsed; by
        building id)."""
        tb, b = t.snapshot_tables, t.snapshot_buildings
        blobs = dict(conn.execute(sa.select(tb.c.snapshot_id, tb.c.data).where(
            tb.c.name == snap.FIGURES, tb.c.snapshot_id.in_(ids))).all()) if ids else {}
        frames = {sid: snap.from_parquet(data) for sid, data in blobs.items()}
        older = [i for i in ids if i not in blobs]
        if older:
            rows = conn.execute(sa.select(b).where(b.c.snapshot_id.in_(older)).order_by(b.c.snapshot_id,
                                                                                        b.c.building_id))
            for sid, part in snap.buildings_frame(rows).groupby("snapshot_id", sort=False):
                frames[int(sid)] = part.drop(columns="snapshot_id").reset_index(drop=True)
        parts = [frames[i].assign(snapshot_id=i) for i in ids if i in frames]
        if not parts:
            return pd.DataFrame(columns=["snapshot_id", *snap.BUILDING_HEAD])
        frame = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        return frame[["snapshot_id", *(c for c in frame.columns if c != "snapshot_id")]]

    def diff(self, a: int, b: int) -> SnapshotDiff:
        """What changed from snapshot ``a`` to snapshot ``b`` (see ``compare.diff_snapshots``)."""
        from facility_planner.store.compare import SnapshotInputs, diff_snapshots

        def inputs(sid: int) -> SnapshotInputs:
            info = self.info(sid)
            return SnapshotInputs(
                info=info, buildings=self.buildings([info.id]),
                results=self.table(info.id, "results", columns=["building_id", "site_id", "rule_id",
                                                               "group", "status"]),
                projects=self.table(info.id, "projects", columns=[
                    "project_id", "building_id", "measure", "title", "cost", "risk_reduction", "year",
                    "selected"]))
        first, second = inputs(a), inputs(b)
        return diff_snapshots(first, second, marks=self.project_marks(district=second.info.district))

    def rollup(self, *, level: str = "district", district: str | None = None,
               every_snapshot: bool = False, snapshot_ids: Sequence[int] | None = None) -> pd.DataFrame:
        """The same figures per building, site, district or state (see ``compare.rollup_frame``),
        from the latest snapshot of each district, or from every snapshot (trends), or from the
        snapshots ``snapshot_ids`` (a state run's). Read one snapshot at a time into compact
        columns (statuses as categories, only what the roll-up uses), so a state of many
        districts is never held as rows of Python objects."""
        from facility_planner.store.compare import compact_buildings, rollup_frame

        infos = self.snapshots(district=district)
        if snapshot_ids is not None:
            wanted = {int(i) for i in snapshot_ids}
            infos = [i for i in infos if i.id in wanted]
        elif not every_snapshot:
            latest: dict[str, SnapshotInfo] = {}
            for info in infos:
                latest[info.district] = info
            infos = list(latest.values())
        parts = [compact_buildings(self.buildings([i.id])) for i in infos]
        frame = pd.concat(parts, ignore_index=True) if parts else self.buildings([])
        return rollup_frame(frame, infos, level=level, every_snapshot=every_snapshot)

    def delete(self, snapshot_id: int, *, reason: str, user: str) -> None:
        """Remove a snapshot's data, keeping a tombstone (who, when, why) and an audit event."""
        if not reason or not reason.strip():
            raise StoreError("Say why the snapshot is deleted (a reason is required).")
        row, _repeat = self._header(snapshot_id)
        sid = int(row.id)
        with self._write() as conn:
            for table in (t.snapshot_features, t.snapshot_tables, t.snapshot_sites, t.snapshot_buildings):
                conn.execute(sa.delete(table).where(table.c.snapshot_id == sid))
            conn.execute(sa.delete(t.snapshots).where(t.snapshots.c.id == sid))
            conn.execute(sa.insert(t.snapshot_deletions).values(
                snapshot_id=sid, district=row.district, saved_at=row.saved_at, deleted_at=utc_now(),
                user=user, reason=reason.strip()))
            self._audit(conn, AuditEvent(user=user, action="delete snapshot", target=f"snapshot {sid}",
                                         district=row.district, before={"snapshot": sid, "saved_at":
                                                                        row.saved_at.isoformat()},
                                         after={"reason": reason.strip()}))

    def deletions(self) -> pd.DataFrame:
        """Tombstones of deleted snapshots: id, district, saved_at, deleted_at, user, reason."""
        with self._read() as conn:
            rows = conn.execute(sa.select(t.snapshot_deletions).order_by(t.snapshot_deletions.c.deleted_at)).all()
        return pd.DataFrame([r._asdict() for r in rows],
                            columns=["snapshot_id", "district", "saved_at", "deleted_at", "user", "reason"])

    # -- projects marked done ----------------------------------------------------------------

    def mark_project(self, district: str, project_id: str, *, user: str, status: str = "done",
                     building_id: str | None = None, note: str = "") -> None:
        """Record that a project was done (or reopened: ``status="open"``), with an audit event."""
        if status not in ("done", "open"):
            raise StoreError(f"A project is marked 'done' or 'open', not {status!r}.")
        with self._write() as conn:
            conn.execute(sa.insert(t.project_marks).values(
                district=district, project_id=project_id, building_id=building_id, status=status,
                note=note, user=user, at=utc_now()))
            self._audit(conn, AuditEvent(user=user, action=f"mark project {status}", target=project_id,
                                         district=district, after={"status": status, "note": note}))

    def project_marks(self, *, district: str | None = None) -> pd.DataFrame:
        """The latest mark of each project: district, project_id, building_id, status, note, user, at."""
        m = t.project_marks
        query = sa.select(m).order_by(m.c.at, m.c.id)
        if district is not None:
            query = query.where(m.c.district == district)
        with self._read() as conn:
            rows = [r._asdict() for r in conn.execute(query)]
        columns = ["district", "project_id", "building_id", "status", "note", "user", "at"]
        frame = pd.DataFrame(rows, columns=["id", *columns])[columns]
        return frame.drop_duplicates(["district", "project_id"], keep="last").reset_index(drop=True)

    # -- access (issue 10) -------------------------------------------------------------------

    def grant(self, email: str, *, role: str, districts: Sequence[str], by: str) -> None:
        """Give ``email`` a role in some districts (``["*"]``: every district); replaces an earlier grant."""
        if role not in ROLES:
            raise StoreError(f"There is no role {role!r}: use one of {', '.join(ROLES)}.")
        wanted = tuple(dict.fromkeys(str(d).strip() for d in districts if str(d).strip()))
        if not wanted:
            raise StoreError("Grant at least one district (or '*' for every district).")
        key = email.strip().lower()
        if not key:
            raise StoreError("A grant needs an e-mail address.")
        before = self.grant_for(key)
        with self._write() as conn:
            conn.execute(sa.delete(t.grants).where(t.grants.c.email == key))
            conn.execute(sa.insert(t.grants).values(email=key, role=role, districts=json.dumps(list(wanted)),
                                                    granted_by=by, granted_at=utc_now()))
            self._audit(conn, AuditEvent(
                user=by, action="grant", target=key,
                before=None if before is None else {"role": before.role, "districts": list(before.districts)},
                after={"role": role, "districts": list(wanted)}))

    def revoke(self, email: str, *, by: str) -> None:
        """Take away every role of ``email`` (audited; nothing happens if there is no grant)."""
        key = email.strip().lower()
        before = self.grant_for(key)
        with self._write() as conn:
            conn.execute(sa.delete(t.grants).where(t.grants.c.email == key))
            self._audit(conn, AuditEvent(
                user=by, action="revoke", target=key,
                before=None if before is None else {"role": before.role, "districts": list(before.districts)}))

    def grants(self) -> list[Grant]:
        """Every grant, by e-mail."""
        with self._read() as conn:
            rows = conn.execute(sa.select(t.grants).order_by(t.grants.c.email)).all()
        return [Grant(email=r.email, role=r.role, districts=tuple(json.loads(r.districts))) for r in rows]

    def grant_for(self, email: str) -> Grant | None:
        """The grant of ``email`` (compared case-insensitively), or None."""
        key = email.strip().lower()
        with self._read() as conn:
            r = conn.execute(sa.select(t.grants).where(t.grants.c.email == key)).first()
        return None if r is None else Grant(email=r.email, role=r.role, districts=tuple(json.loads(r.districts)))

    # -- audit trail (issue 10) --------------------------------------------------------------

    def record(self, event: AuditEvent) -> None:
        """Add one event to the audit trail (its own transaction)."""
        with self._write() as conn:
            self._audit(conn, event)

    @staticmethod
    def _audit(conn: sa.Connection, event: AuditEvent) -> None:
        conn.execute(sa.insert(t.audit_events).values(
            at=event.at or utc_now(), user=event.user, action=event.action, target=event.target,
            district=event.district,
            before=None if event.before is None else snap.dumps(event.before),
            after=None if event.after is None else snap.dumps(event.after)))

    def audit_events(self, *, user: str | None = None, action: str | None = None,
                     since: datetime | None = None) -> list[AuditEvent]:
        """The audit trail, oldest first, optionally of one user, one action, or since a moment."""
        a = t.audit_events
        query = sa.select(a).order_by(a.c.at, a.c.id)
        if user is not None:
            query = query.where(a.c.user == user)
        if action is not None:
            query = query.where(a.c.action == action)
        if since is not None:
            query = query.where(a.c.at >= since)
        with self._read() as conn:
            rows = conn.execute(query).all()
        return [AuditEvent(user=r.user, action=r.action, target=r.target, before=_loads(r.before),
                           after=_loads(r.after), at=r.at, district=r.district) for r in rows]


def open_store(location: str | os.PathLike[str] | None = None, *, readonly: bool = False) -> Store:
    """Open (creating and migrating as needed) the store at ``location``.

    ``None``: the default file under the user's data folder (``default_store_path``);
    ``postgresql://...`` (or ``postgresql+psycopg://``): a PostGIS database; anything else: a
    SQLite file path. Raises ``StoreError`` with one plain sentence when it cannot be used.
    """
    from facility_planner.store.engine import default_store_path

    target = str(default_store_path() if location is None else location)
    return Store(target, readonly=readonly)


__all__ = ["ALL_DISTRICTS", "Store", "open_store"]
