"""Find an item by one of its platform-native ids (a Gmail message id, a Calendar event id).

Connectors that learn of a deletion by native id only (Gmail history, Calendar) need the
canonical id to write the tombstone. The JSON path is read in SQL on either engine; a
deletion is rare, so the scan of one platform's items is an acceptable price for now.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, String, cast, select

from threadline.store.schema import item

NativeLookup = Callable[[str, str], "str | None"]


def native_lookup(engine: Engine) -> NativeLookup:
    def lookup(key: str, value: str) -> str | None:
        with engine.connect() as conn:
            wanted = cast(item.c.native[key].as_string(), String) == value
            found = conn.execute(select(item.c.canonical_id).where(wanted).limit(1)).scalar()
        return str(found) if found is not None else None

    return lookup
