"""Learned preferences: the stored rows, the effective set for one recipe and client, and the
user's say over them (pin, unpin, delete).

Scopes nest: "*" (every deliverable), "<recipe>", "<recipe>:<client>". For each key the
narrowest scope that has a live row wins, so a client's own habits beat the recipe's and the
recipe's beat the global ones. Deleted rows stay in the table (learning must know not to learn
them again from the same edits) but never apply.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, select, update

from threadline.errors import ThreadlineError
from threadline.store.produce_schema import preference
from threadline.store.writer import utcnow

GLOBAL = "*"


class PreferenceNotFound(ThreadlineError):
    """No preference has the id the user gave."""


class Preference(BaseModel):
    id: int | None = None
    scope: str
    key: str
    value: Any
    evidence: list[int] = Field(default_factory=list)
    """The draft_edit ids it was learned from."""
    pinned: bool = False
    deleted: bool = False
    updated_at: datetime | None = None

    @property
    def kind(self) -> str:
        """The key without its subject: section_title for section_title:highlights."""
        return self.key.split(":", 1)[0]

    @property
    def subject(self) -> str | None:
        return self.key.split(":", 1)[1] if ":" in self.key else None


def scope_for(recipe: str | None, client: str | None) -> str:
    if recipe is None:
        return GLOBAL
    return f"{recipe}:{client}" if client else recipe


def scopes_for(recipe: str, client: str | None) -> list[str]:
    """Broadest first: later scopes override earlier ones."""
    out = [GLOBAL, recipe]
    if client:
        out.append(f"{recipe}:{client}")
    return out


class Preferences(BaseModel):
    """The preferences in force for one recipe and client: one per key, narrowest scope."""

    recipe: str | None = None
    client: str | None = None
    items: list[Preference] = Field(default_factory=list)

    @classmethod
    def empty(cls) -> Preferences:
        return cls()

    def __bool__(self) -> bool:
        return bool(self.items)

    def __contains__(self, key: object) -> bool:
        return any(p.key == key for p in self.items)

    def get(self, key: str, default: Any = None) -> Any:
        for p in self.items:
            if p.key == key:
                return p.value
        return default

    def of_kind(self, kind: str) -> list[Preference]:
        return [p for p in self.items if p.kind == kind]

    def keys(self) -> list[str]:
        return [p.key for p in self.items]


def _row(r: Any) -> Preference:
    return Preference(
        id=r.id, scope=r.scope, key=r.key, value=r.value, evidence=list(r.evidence or []),
        pinned=bool(r.pinned), deleted=bool(r.deleted), updated_at=r.updated_at,
    )


def list_preferences(
    conn: Connection,
    *,
    recipe: str | None = None,
    client: str | None = None,
    include_deleted: bool = False,
) -> list[Preference]:
    """Stored rows in the scopes that bear on ``recipe``/``client`` (all rows when neither)."""
    query = select(preference).order_by(preference.c.scope, preference.c.key, preference.c.id)
    if recipe is not None:
        query = query.where(preference.c.scope.in_(scopes_for(recipe, client)))
    if not include_deleted:
        query = query.where(preference.c.deleted.is_(False))
    rows = [_row(r) for r in conn.execute(query)]
    if client is not None and recipe is None:
        # Without a recipe, "for this client" means the client's own scopes, of any recipe.
        rows = [p for p in rows
                if ":" in p.scope and p.scope.split(":", 1)[1].lower() == client.lower()]
    return rows


def load_preferences(conn: Connection, recipe: str, client: str | None = None) -> Preferences:
    """The effective set for a deliverable of ``recipe`` for ``client``."""
    rank = {scope: i for i, scope in enumerate(scopes_for(recipe, client))}
    chosen: dict[str, Preference] = {}
    for p in list_preferences(conn, recipe=recipe, client=client):
        current = chosen.get(p.key)
        if current is None or rank[p.scope] > rank[current.scope]:
            chosen[p.key] = p
    return Preferences(recipe=recipe, client=client,
                       items=sorted(chosen.values(), key=lambda p: p.key))


def get_preference(conn: Connection, pref_id: int) -> Preference:
    r = conn.execute(select(preference).where(preference.c.id == pref_id)).first()
    if r is None:
        raise PreferenceNotFound(
            f"no preference {pref_id}: run `threadline prefs` to see the ids"
        )
    return _row(r)


def _set(conn: Connection, pref_id: int, **values: Any) -> Preference:
    get_preference(conn, pref_id)
    conn.execute(
        update(preference).where(preference.c.id == pref_id).values(**values, updated_at=utcnow())
    )
    return get_preference(conn, pref_id)


def pin(conn: Connection, pref_id: int) -> Preference:
    """Keep this preference as it is: learning never changes a pinned row."""
    return _set(conn, pref_id, pinned=True, deleted=False)


def unpin(conn: Connection, pref_id: int) -> Preference:
    return _set(conn, pref_id, pinned=False)


def delete(conn: Connection, pref_id: int) -> Preference:
    """Stop applying it. The row stays, marked deleted, so the same edits never bring it back."""
    return _set(conn, pref_id, deleted=True, pinned=False)
