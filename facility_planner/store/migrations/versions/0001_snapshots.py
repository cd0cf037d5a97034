"""Snapshots: saved assessments, their buildings, sites, bulk tables and map features.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from facility_planner.store import schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

#: Created here as defined in ``schema`` at this revision. A later change to one of these tables
#: gets its own revision (op.add_column ...), never an edit of this list.
TABLES = (schema.snapshots, schema.snapshot_buildings, schema.snapshot_sites,
          schema.snapshot_tables, schema.snapshot_features, schema.snapshot_deletions)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    for table in TABLES:
        table.create(bind)
    if bind.dialect.name == "postgresql":
        op.create_index("ix_features_geom", "snapshot_features", ["geom"], postgresql_using="gist")


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
