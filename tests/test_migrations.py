"""The Alembic migrations build exactly the schema the code declares, on both engines."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

import threadline.store.autonomy_schema
import threadline.store.context_schema  # registers the context tables
import threadline.store.produce_schema  # noqa: F401  (registers the production tables)
from threadline.store import open_store
from threadline.store.engine import HEAD, MIGRATIONS, revision
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


def test_head_names_the_newest_migration_and_an_old_store_still_upgrades(
    tmp_path: Path,
) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD
    engine = open_store(str(tmp_path / "old.db"))
    assert revision(engine) == HEAD
    # A store one migration behind is brought to the head when it is opened.
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE item_chatter"))
        conn.execute(text("ALTER TABLE storyline DROP COLUMN weekly"))
        conn.execute(text("UPDATE alembic_version SET version_num = '0011'"))
    engine.dispose()
    again = open_store(str(tmp_path / "old.db"))
    assert revision(again) == HEAD
    assert "item_chatter" in inspect(again).get_table_names()
    assert "weekly" in {c["name"] for c in inspect(again).get_columns("storyline")}


def test_a_store_that_cannot_be_reached_is_a_clear_error() -> None:
    from threadline.errors import StoreError

    # Nothing listens on port 1: the revision check gives way and the upgrade reports it.
    unreachable = r"(?s)cannot open the store at postgresql.*port 1.* Check --db"
    with pytest.raises(StoreError, match=unreachable):
        open_store("postgresql+psycopg://postgres@127.0.0.1:1/none")
