"""Opening the store: resolve the URL, create the engine, bring the schema up to date."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError

from threadline.errors import StoreError
from threadline.paths import default_db_path

MIGRATIONS = Path(__file__).parent / "migrations"
HEAD = "0012"
"""The newest migration (a test holds it to alembic's head): a store already there opens
without loading alembic and its scripts, a fifth of a second of every CLI command."""


def resolve_url(db: str | None = None) -> str:
    """``--db`` wins, then ``THREADLINE_DB``, then SQLite in the user data dir.

    A bare path is taken as a SQLite file.
    """
    value = db or os.environ.get("THREADLINE_DB") or str(default_db_path())
    if "://" in value:
        if value.startswith("postgresql://"):
            # psycopg 3 is the driver we ship; plain postgresql:// would ask for psycopg2.
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value
    path = Path(value).expanduser()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not pysqlite, issue BEGIN, so DDL in migrations is transactional too
    # and a crash mid-migration leaves nothing half-made.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL keeps readers (status, web) working while an import writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def create(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN"))
        return engine
    # JIT compiles each search query afresh (15 ms of 20): a loss for short, selective
    # queries, which are all this store runs.
    return create_engine(url, pool_pre_ping=True, connect_args={"options": "-c jit=off"})


def revision(engine: Engine) -> str | None:
    """The store's migration, or None when it has none yet or cannot say."""
    try:
        with engine.connect() as conn:
            found = conn.execute(text("SELECT version_num FROM alembic_version")).scalars()
            return next(iter(found), None)
    except DBAPIError:
        # No table yet, or no server: migrate() then creates it or reports the error.
        return None


def migrate(engine: Engine) -> None:
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def refresh_statistics(engine: Engine) -> None:
    """After a bulk load on PostgreSQL, the planner's statistics now, not whenever autovacuum
    gets to them: the first searches after a 100k-item import ran at p95 212 ms without
    them, 90 ms with. SQLite's queries are written for its planner without statistics."""
    if engine.dialect.name != "postgresql":
        return
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def open_store(db: str | None = None, *, upgrade: bool = True) -> Engine:
    url = resolve_url(db)
    engine = create(url)
    try:
        if upgrade and revision(engine) != HEAD:
            migrate(engine)
    except OperationalError as exc:
        shown = engine.url.render_as_string(hide_password=True)
        raise StoreError(
            f"cannot open the store at {shown}: {exc.orig}. "
            "Check --db / THREADLINE_DB, that the server is running and the database exists."
        ) from exc
    return engine
