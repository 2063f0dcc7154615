"""The store: one SQLAlchemy Core schema, migrated by Alembic, on SQLite or PostgreSQL."""

from threadline.store.engine import open_store, resolve_url

__all__ = ["open_store", "resolve_url"]
