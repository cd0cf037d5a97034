"""Coverage layers of polygons and lines kept in the compact, lossless ``parquet-xy`` format.

Snapshots saved from this revision on keep their camera views and zones, blind spots, radio
cells, reach areas and the like with delta-coded coordinates (``facility_planner.store.layers``),
about a third smaller than GeoParquet: every coordinate still reads back bit for bit. No table
changes; the revision marks stores that may hold such layers, so an older facility-planner
refuses them in one sentence instead of failing to read a layer. Upgrading keeps older snapshots
as they are (GeoParquet layers still read); downgrading rewrites the compact layers as GeoParquet.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import io

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Nothing to change: snapshots saved before keep their GeoParquet layers."""


def downgrade() -> None:
    from facility_planner.store.layers import GEOPARQUET, XY_FORMAT, decode_layer

    bind = op.get_bind()
    blobs = sa.table("snapshot_tables", sa.column("snapshot_id", sa.Integer), sa.column("name", sa.String),
                     sa.column("format", sa.String), sa.column("data", sa.LargeBinary))
    keys = bind.execute(sa.select(blobs.c.snapshot_id, blobs.c.name).where(blobs.c.format == XY_FORMAT)).all()
    for sid, name in keys:  # one layer at a time: a 10,000-school snapshot's layers are GBs decoded
        data = bind.execute(sa.select(blobs.c.data).where(blobs.c.snapshot_id == sid,
                                                          blobs.c.name == name)).scalar_one()
        buffer = io.BytesIO()
        decode_layer(XY_FORMAT, data).to_parquet(buffer, index=False, compression="zstd")
        bind.execute(blobs.update().where(blobs.c.snapshot_id == sid, blobs.c.name == name)
                     .values(format=GEOPARQUET, data=buffer.getvalue()))
