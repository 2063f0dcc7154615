"""What one identity says about who it is: its addresses, its names, whether it is a bot.

Addresses are strong keys (two identities with one address are one person); name tokens are
weak keys (they only block candidates for suggestions). Both are found again through a small
key index, the ``identity_token`` table (``~addr:jane@x``, ``~name:doe`` → identity key), so
a fold never scans every identity.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any, TypeVar

from sqlalchemy import Connection, select

from threadline.store.context_schema import identity_token
from threadline.store.schema import identity
from threadline.store.upsert import insert_ignore

ADDR = "~addr:"
NAME = "~name:"
CHUNK = 500

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_UUID = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$", re.I)
_SLACK_ID = re.compile(r"^[UWB][A-Z0-9]{6,}$")
_ROLE_LOCALS = frozenset(
    {
        *("noreply", "no-reply", "donotreply", "do-not-reply", "notifications", "notification"),
        *("newsletter", "news", "info", "support", "help", "admin", "hello", "team", "billing"),
        *("sales", "marketing", "mailer-daemon", "postmaster", "bounce", "bounces", "updates"),
        *("alerts", "calendar-notification", "invitations", "contact", "jobs", "careers"),
    }
)
_ROLE_PREFIXES = ("noreply", "no-reply", "donotreply", "do-not-reply", "bounce", "notification")
WEBMAIL = frozenset(
    {
        *("gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "live.com", "yahoo.com"),
        *("icloud.com", "me.com", "aol.com", "proton.me", "protonmail.com", "fastmail.com"),
        *("gmx.com", "gmx.net", "mail.com"),
    }
)

T = TypeVar("T")


def chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[Sequence[T]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def is_address(text: str) -> bool:
    return bool(_EMAIL.match(text))


def is_role_address(address: str) -> bool:
    local = address.split("@", 1)[0].lower().split("+", 1)[0]
    return local in _ROLE_LOCALS or local.startswith(_ROLE_PREFIXES)


@lru_cache(maxsize=1 << 16)
def normalize_name(name: str) -> str:
    """Lower-case ASCII words: "Zoë O'Brien-Hart" -> "zoe obrien hart"."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    folded = re.sub(r"['’]", "", folded.lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded).split())


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


@dataclass(frozen=True)
class IdentityRow:
    key: str
    kind: str
    value: str
    display_name: str | None
    platform: str
    person_id: int | None
    profile: dict[str, Any]

    @property
    def label(self) -> str:
        """How evidence text names it: the Slack user id, the address, the Notion name."""
        return self.value

    @property
    def is_bot(self) -> bool:
        return bool(self.profile.get("is_bot")) or self.value == "USLACKBOT"

    @property
    def is_role(self) -> bool:
        return self.kind == "email" and is_role_address(self.value)

    @property
    def never_merged(self) -> bool:
        """Bots and role mailboxes stand for no one person, so no key may join them."""
        return self.is_bot or self.is_role

    def profile_email(self) -> str | None:
        found = _text(self.profile.get("email"))
        return found.lower() if found and is_address(found) else None

    def addresses(self) -> list[str]:
        found = set()
        if self.kind in ("email", "notion") and is_address(self.value):
            found.add(self.value.lower())
        email = self.profile_email()
        if email:
            found.add(email)
        return sorted(found)

    def names(self) -> list[str]:
        """Human names this identity goes by, best first; never an address or an opaque id."""
        raw = [
            self.profile.get("real_name"),
            self.display_name,
            self.profile.get("name") if self.kind != "slack" else None,
            self.profile.get("display_name"),
            self.value if self.kind == "notion" else None,
        ]
        seen: dict[str, str] = {}
        for value in raw:
            text = _text(value)
            if (
                text
                and not is_address(text)
                and not _UUID.match(text)
                and not _SLACK_ID.match(text)
            ):
                seen.setdefault(normalize_name(text), text)
        return [text for norm, text in seen.items() if norm]

    def derived_names(self) -> list[str]:
        """Names read off an address ("jane.doe@x" -> "jane doe"), for matching only."""
        found = []
        for address in self.addresses():
            local = address.split("@", 1)[0].split("+", 1)[0]
            if re.search(r"[._-]", local):
                found.append(" ".join(re.split(r"[._-]+", local)))
        return found

    def match_names(self) -> list[str]:
        return [normalize_name(n) for n in [*self.names(), *self.derived_names()]]

    def blocks(self) -> set[str]:
        """Name tokens that candidates for a suggestion must share with this identity."""
        if self.never_merged:
            return set()
        return {tok for name in self.match_names() for tok in name.split() if len(tok) >= 2}

    def domains(self) -> set[str]:
        return {a.split("@", 1)[1] for a in self.addresses()}


def name_rank(name: str) -> tuple[int, int, int, str]:
    """Real names (several words, no initials) first; then single words."""
    words = name.replace(".", " ").split()
    initials = sum(1 for w in words if len(w) == 1)
    return (0 if len(words) >= 2 else 1, initials, -len(name), name.casefold())


def best_name(rows: Iterable[IdentityRow]) -> str:
    """A person's display name: a real name over an address over an opaque id."""
    ordered = sorted(rows, key=lambda r: r.key)
    # A bot's own name still beats its address; a person's beats a bot's (after a user merge).
    names = [(r.is_bot, *name_rank(n), n) for r in ordered for n in r.names()]
    if names:
        return min(names)[-1][:255]
    addresses = [a for r in ordered for a in r.addresses()]
    return (addresses[0] if addresses else ordered[0].value)[:255]


_COLUMNS = (
    identity.c.key,
    identity.c.kind,
    identity.c.value,
    identity.c.display_name,
    identity.c.platform,
    identity.c.person_id,
    identity.c.profile,
)


def load(conn: Connection, keys: Iterable[str]) -> dict[str, IdentityRow]:
    found: dict[str, IdentityRow] = {}
    for part in chunks(sorted(set(keys))):
        for row in conn.execute(select(*_COLUMNS).where(identity.c.key.in_(part))):
            found[row.key] = IdentityRow(
                key=row.key,
                kind=row.kind,
                value=row.value,
                display_name=row.display_name,
                platform=row.platform,
                person_id=row.person_id,
                profile=row.profile if isinstance(row.profile, dict) else {},
            )
    return found


def index_keys(row: IdentityRow) -> set[str]:
    if row.never_merged:
        return set()
    return {ADDR + a for a in row.addresses()} | {NAME + b for b in row.blocks()}


def write_index(conn: Connection, rows: Iterable[IdentityRow], now: datetime) -> None:
    entries = [
        {"token": token[:320], "identity_key": row.key}
        for row in rows
        for token in sorted(index_keys(row))
    ]
    for part in chunks(entries):
        insert_ignore(conn, identity_token, part, ["token", "identity_key"])


def lookup(conn: Connection, tokens: Iterable[str]) -> dict[str, set[str]]:
    """Identity keys that have each index key (an address or a name token)."""
    found: dict[str, set[str]] = {}
    it = identity_token.c
    for part in chunks(sorted(set(tokens))):
        query = select(it.token, it.identity_key).where(it.token.in_(part))
        for token, key in conn.execute(query):
            found.setdefault(token, set()).add(key)
    return found
