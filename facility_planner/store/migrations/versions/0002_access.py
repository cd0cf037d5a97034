"""Access: roles (grants), the audit trail and projects marked done.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

from alembic import op

from facility_planner.store import schema

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: Created here as defined in ``schema`` at this revision (see 0001).
TABLES = (schema.grants, schema.audit_events, schema.project_marks)


def upgrade() -> None:
    bind = op.get_bind()
    for table in TABLES:
        table.create(bind)


def downgrade() -> None:
    bind = op.get_bind()
    for table in reversed(TABLES):
        table.drop(bind)
