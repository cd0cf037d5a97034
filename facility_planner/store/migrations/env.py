"""Alembic environment of the assessment store: always run programmatically by ``open_store``
on a connection it hands over in ``config.attributes["connection"]`` (already in a transaction)."""

from __future__ import annotations

from alembic import context

from facility_planner.store.schema import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite",
                  version_table_schema=context.config.attributes.get("version_table_schema"))
with context.begin_transaction():
    context.run_migrations()
