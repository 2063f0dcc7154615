"""Alembic environment: runs on the connection that ``threadline.store.engine`` hands it."""

from __future__ import annotations

from alembic import context

from threadline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through threadline.store.engine.migrate()")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
