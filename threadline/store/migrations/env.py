"""Alembic environment: runs on the connection that ``threadline.store.engine`` hands it."""

from __future__ import annotations

from alembic import context

import threadline.store.autonomy_schema
import threadline.store.context_schema
import threadline.store.produce_schema  # noqa: F401  (registers the production tables)
from threadline.store.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through threadline.store.engine.migrate()")


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    # The search index (FTS5 tables, the tsvector column) is made by raw SQL in 0001.
    return not (name or "").startswith(("item_fts", "search_vector", "ix_item_search_vector"))


context.configure(
    connection=connection,
    target_metadata=metadata,
    include_object=include_object,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
