"""The Alembic migrations build exactly the schema the code declares, on both engines."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

import threadline.store.autonomy_schema
import threadline.store.context_schema  # registers the context tables
import threadline.store.produce_schema  # noqa: F401  (registers the production tables)
from threadline.store.schema import metadata


def _ignored(obj: object, name: str | None, type_: str, reflected: bool, other: object) -> bool:
    return not (name or "").startswith(("item_fts", "search_vector", "ix_item_search_vector"))


def test_migrated_schema_matches_the_declared_tables(store: Engine) -> None:
    with store.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_object": _ignored})
        differences = compare_metadata(context, metadata)
    assert differences == []


def test_every_declared_table_exists(store: Engine) -> None:
    tables = set(inspect(store).get_table_names())
    assert set(metadata.tables) <= tables
