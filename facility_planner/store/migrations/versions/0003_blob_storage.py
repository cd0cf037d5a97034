"""Table blobs stored uncompressed by PostgreSQL: they are zstd Parquet already.

PostgreSQL otherwise tries to compress every large ``bytea`` again on its way to TOAST, which
cost about three quarters of the blob insert time (``benchmarks/store.py``). SQLite: nothing to do.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshot_tables ALTER COLUMN data SET STORAGE EXTERNAL")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE snapshot_tables ALTER COLUMN data SET STORAGE EXTENDED")
