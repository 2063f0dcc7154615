"""The timeline folder: facts about what changed and when, and the dates written in items.

Folding an item replaces the facts and dates derived from it, so folding twice changes
nothing. Which fact supersedes which is then worked out afresh for every (subject,
attribute) the item touches, from the facts themselves in world-time order; that is what
makes any order of arrival end in the same table as a rebuild.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import tz as dateutil_tz
from sqlalchemy import Connection, bindparam, delete, select

from threadline.context.temporal_facts import (
    ItemHistory,
    change_facts,
    item_dates,
    load_histories,
    meaning_facts,
)
from threadline.errors import ConfigError
from threadline.store.context_schema import fact, item_date
from threadline.store.schema import item

_SERIES = "event-series:"
_CHUNK = 500
# Kinds whose "previous" is the value of the fact they supersede, not part of the item.
_CHAINED_PREVIOUS = frozenset({"decision", "due"})


def local_zone() -> tzinfo:
    """THREADLINE_TZ (an IANA name such as Europe/London), else this machine's zone."""
    name = os.environ.get("THREADLINE_TZ")
    if not name:
        return dateutil_tz.tzlocal()
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"THREADLINE_TZ={name!r} is not a known time zone ({exc}): "
            "set it to an IANA name such as Europe/London, or unset it"
        ) from exc


class TimelineFolder:
    name = "timeline"

    def __init__(self, tz: tzinfo | None = None) -> None:
        self.tz = tz if tz is not None else local_zone()

    def reset(self, conn: Connection) -> None:
        conn.execute(fact.update().values(supersedes_id=None))
        conn.execute(delete(fact))
        conn.execute(delete(item_date))

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        histories = load_histories(conn, item_ids)
        series_titles, overrides = _series(conn, histories.values())
        extra = [i for i in overrides if i not in histories]
        histories.update(load_histories(conn, extra))
        ids = list(histories)
        if not ids:
            return
        touched = self._forget(conn, ids)
        facts: list[dict[str, Any]] = []
        dates: list[dict[str, Any]] = []
        for history in histories.values():
            series = series_titles.get(history.thread_id or "")
            facts.extend(change_facts(history, series))
            found = item_dates(history, self.tz)
            facts.extend(meaning_facts(history, found))
            dates.extend(
                {
                    "item_id": history.id,
                    "phrase": d.phrase,
                    "resolved": d.resolved,
                    "granularity": d.granularity,
                }
                for d in found
            )
        if facts:
            conn.execute(fact.insert(), facts)
        if dates:
            conn.execute(item_date.insert(), dates)
        touched |= {(f["subject"], f["attribute"]) for f in facts}
        relink(conn, touched)

    def _forget(self, conn: Connection, ids: list[int]) -> set[tuple[str, str]]:
        """Drop what these items said before; return the chains that lose a link."""
        touched: set[tuple[str, str]] = set()
        for chunk in _chunks(ids):
            rows = conn.execute(
                select(fact.c.subject, fact.c.attribute).where(fact.c.item_id.in_(chunk))
            )
            touched |= {(r.subject, r.attribute) for r in rows}
            own = select(fact.c.id).where(fact.c.item_id.in_(chunk))
            # Unlink first: SQLite and PostgreSQL differ on self-references in one DELETE.
            conn.execute(
                fact.update().where(fact.c.supersedes_id.in_(own)).values(supersedes_id=None)
            )
            conn.execute(delete(fact).where(fact.c.item_id.in_(chunk)))
            conn.execute(delete(item_date).where(item_date.c.item_id.in_(chunk)))
        return touched


def _series(
    conn: Connection, histories: Iterable[ItemHistory]
) -> tuple[dict[str, str], list[int]]:
    """Each touched series' own title, and its overridden instances.

    An override is compared with the series' title, so when any instance of a series
    arrives or changes, the overrides of that series are derived again.
    """
    threads = sorted(
        {
            h.thread_id
            for h in histories
            if h.platform == "calendar" and h.thread_id and h.thread_id.startswith(_SERIES)
        }
    )
    titles: dict[str, Counter[str]] = {}
    overrides: list[int] = []
    for chunk in _chunks(threads):
        rows = conn.execute(
            select(item.c.id, item.c.thread_id, item.c.title, item.c.native).where(
                item.c.thread_id.in_(chunk), item.c.platform == "calendar"
            )
        )
        for row in rows:
            if "recurrence_id" in (row.native or {}):
                overrides.append(row.id)
            elif row.title:
                titles.setdefault(row.thread_id, Counter())[row.title] += 1
    chosen = {
        thread: min(counts.items(), key=lambda pair: (-pair[1], pair[0]))[0]
        for thread, counts in titles.items()
    }
    return chosen, sorted(overrides)


def _order(row: Any) -> tuple[datetime, datetime, int, int]:
    step = row.detail.get("step", 0) if isinstance(row.detail, dict) else 0
    return (row.valid_from or row.recorded_at, row.recorded_at, row.item_id or 0, int(step))


def relink(conn: Connection, keys: set[tuple[str, str]]) -> None:
    """Order each chain by world time; each fact expires the one before it."""
    if not keys:
        return
    subjects = sorted({subject for subject, _ in keys})
    chains: dict[tuple[str, str], list[Any]] = {}
    for chunk in _chunks(subjects):
        rows = conn.execute(
            select(
                fact.c.id,
                fact.c.subject,
                fact.c.attribute,
                fact.c.kind,
                fact.c.value,
                fact.c.previous,
                fact.c.valid_from,
                fact.c.valid_to,
                fact.c.recorded_at,
                fact.c.expired_at,
                fact.c.item_id,
                fact.c.supersedes_id,
                fact.c.detail,
            ).where(fact.c.subject.in_(chunk))
        )
        for row in rows:
            if (row.subject, row.attribute) in keys:
                chains.setdefault((row.subject, row.attribute), []).append(row)
    updates: list[dict[str, Any]] = []
    for chain in chains.values():
        chain.sort(key=_order)
        for n, row in enumerate(chain):
            before = chain[n - 1] if n else None
            after = chain[n + 1] if n + 1 < len(chain) else None
            wanted = {
                "supersedes_id": before.id if before else None,
                "valid_to": after.valid_from if after else None,
                "expired_at": max(after.recorded_at, row.recorded_at) if after else None,
                "previous": row.previous,
            }
            if row.kind in _CHAINED_PREVIOUS:
                wanted["previous"] = before.value if before else None
            if any(getattr(row, key) != value for key, value in wanted.items()):
                updates.append({"b_id": row.id, **wanted})
    if updates:
        conn.execute(fact.update().where(fact.c.id == bindparam("b_id")), updates)


def _chunks(values: Sequence[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(values), _CHUNK):
        yield list(values[start : start + _CHUNK])
