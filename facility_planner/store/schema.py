"""Tables of the assessment store (SQLAlchemy Core), the same on SQLite and PostgreSQL/PostGIS.

The alembic migrations in ``migrations/versions`` create exactly these tables; this module is what
the store's queries use. Bulk per-rule tables (rule results, projects, facts) are kept as Parquet
blobs in ``snapshot_tables`` (one row per table and snapshot); so are the per-building figures
(``building_figures``: one column per figure, what diffs, roll-ups and trends read), which are also
rows of ``snapshot_buildings`` (figures as JSON text, for SQL and GIS users; the only copy in
snapshots saved before ``building_figures`` existed). Building footprints are one row per feature
in ``snapshot_features`` with the geometry as EWKB (a PostGIS ``geometry`` column on PostgreSQL);
the coverage map layers are blobs too (``layers``: polygons and lines in the compact, lossless
``parquet-xy`` format since revision 0004, points as GeoParquet).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine, UserDefinedType

#: The schema revision this code writes (alembic head).
SCHEMA_HEAD = "0004"


class _PostGISGeometry(UserDefinedType[bytes]):
    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "geometry"


class Geometry(TypeDecorator[bytes]):
    """A geometry as EWKB bytes: a BLOB on SQLite, a PostGIS ``geometry`` on PostgreSQL.

    On PostgreSQL the store writes features with COPY (hex EWKB) and reads them back with
    ``ST_AsEWKB``; the column itself is a real PostGIS geometry (spatial index, SQL functions).
    """

    impl = sa.LargeBinary
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(_PostGISGeometry())
        return dialect.type_descriptor(sa.LargeBinary())


class UTCDateTime(TypeDecorator[datetime]):
    """A moment in UTC; naive values read back (SQLite) are taken as UTC."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


metadata = sa.MetaData()

snapshots = sa.Table(
    "snapshots", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("saved_at", UTCDateTime(), nullable=False),
    sa.Column("district", sa.String(200), nullable=False),
    sa.Column("as_of", sa.Date, nullable=True),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("inputs_hash", sa.String(64), nullable=False),
    sa.Column("inventory_hash", sa.String(64), nullable=False),
    sa.Column("settings_hash", sa.String(64), nullable=False),
    sa.Column("app_version", sa.String(40), nullable=False),
    sa.Column("crs", sa.String(80), nullable=True),
    sa.Column("buildings", sa.Integer, nullable=False),
    sa.Column("sites", sa.Integer, nullable=False),
    sa.Column("projects", sa.Integer, nullable=False),
    sa.Column("summary", sa.Text, nullable=False),
    sa.Column("settings", sa.Text, nullable=False),
    sa.Column("validation", sa.Text, nullable=False),
    sa.Index("ix_snapshots_district_saved", "district", "saved_at"),
    sa.Index("ix_snapshots_inputs", "inputs_hash"),
)

snapshot_buildings = sa.Table(
    "snapshot_buildings", metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("building_id", sa.String(200), primary_key=True),
    sa.Column("site_id", sa.String(200), nullable=True),
    sa.Column("name", sa.String(400), nullable=True),
    sa.Column("measure_score", sa.Float, nullable=True),
    sa.Column("pass_overall", sa.Integer, nullable=True),
    sa.Column("risk", sa.Float, nullable=True),
    sa.Column("measures", sa.Text, nullable=False),
    sa.Column("pass_layers", sa.Text, nullable=False),
    sa.Column("pass_tiers", sa.Text, nullable=False),
    sa.Column("coverage", sa.Text, nullable=False),
    sa.Column("risk_factors", sa.Text, nullable=False),
)

snapshot_sites = sa.Table(
    "snapshot_sites", metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("site_id", sa.String(200), primary_key=True),
    sa.Column("name", sa.String(400), nullable=True),
    sa.Column("figures", sa.Text, nullable=False),
)

snapshot_tables = sa.Table(
    "snapshot_tables", metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("name", sa.String(80), primary_key=True),
    sa.Column("format", sa.String(20), nullable=False),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
)

snapshot_features = sa.Table(
    "snapshot_features", metadata,
    sa.Column("snapshot_id", sa.Integer, sa.ForeignKey("snapshots.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("layer", sa.String(80), nullable=False),
    sa.Column("feature", sa.Integer, nullable=False),
    sa.Column("building_id", sa.String(200), nullable=True),
    sa.Column("site_id", sa.String(200), nullable=True),
    sa.Column("attrs", sa.Text, nullable=False),
    sa.Column("geom", Geometry(), nullable=True),
    sa.Index("ix_features_snapshot_layer", "snapshot_id", "layer"),
)

snapshot_deletions = sa.Table(
    "snapshot_deletions", metadata,
    sa.Column("snapshot_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("district", sa.String(200), nullable=False),
    sa.Column("saved_at", UTCDateTime(), nullable=False),
    sa.Column("deleted_at", UTCDateTime(), nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
)

# -- revision 0002: access (issue 10) ---------------------------------------------------------

grants = sa.Table(
    "grants", metadata,
    sa.Column("email", sa.String(320), primary_key=True),
    sa.Column("role", sa.String(40), nullable=False),
    sa.Column("districts", sa.Text, nullable=False),
    sa.Column("granted_by", sa.String(320), nullable=False),
    sa.Column("granted_at", UTCDateTime(), nullable=False),
)

audit_events = sa.Table(
    "audit_events", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("action", sa.String(80), nullable=False),
    sa.Column("target", sa.Text, nullable=False),
    sa.Column("district", sa.String(200), nullable=True),
    sa.Column("before", sa.Text, nullable=True),
    sa.Column("after", sa.Text, nullable=True),
    sa.Index("ix_audit_at", "at"),
    sa.Index("ix_audit_user", "user"),
)

project_marks = sa.Table(
    "project_marks", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("district", sa.String(200), nullable=False),
    sa.Column("project_id", sa.String(400), nullable=False),
    sa.Column("building_id", sa.String(200), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("user", sa.String(320), nullable=False),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Index("ix_marks_district", "district", "project_id"),
)
