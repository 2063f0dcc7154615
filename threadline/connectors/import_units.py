"""Skipping the unchanged units of an export on re-import, the same way in every importer.

An importer cuts its export into units (a Slack day file, an mbox message, the events of
one iCalendar UID, a Notion page) and fingerprints each one cheaply before parsing it. The
fingerprint must cover everything that shapes the unit's records, plus the importer's
version, so that a unit recognised by the store can be skipped without changing a thing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterable

from threadline.records import ItemRecord, KnownUnits, QuarantineRecord, Record, UnitDone

_MAX_UNIT = 1000
_MAX_VERSION = 23  # the stored fingerprint is at most 64 characters: version, ':', 40 hex


def fingerprint(version: str, *parts: object) -> str:
    """``<version>:<sha1 of the parts>``; parts are hashed by ``repr``, so give it values
    with a stable one (strings, numbers, tuples, sorted lists)."""
    if len(version) > _MAX_VERSION:
        raise ValueError(f"importer version {version!r} is longer than {_MAX_VERSION}")
    digest = hashlib.sha1()
    for part in parts:
        digest.update(repr(part).encode("utf-8", "backslashreplace"))
        digest.update(b"\0")
    return f"{version}:{digest.hexdigest()}"


def unit_name(name: str) -> str:
    """The name as stored; names too long for the store keep a readable head and a digest."""
    if len(name) <= _MAX_UNIT:
        return name
    digest = hashlib.sha1(name.encode("utf-8", "backslashreplace")).hexdigest()
    return f"{name[: _MAX_UNIT - 50]}…sha1:{digest}"


def known_count(known: KnownUnits | None, unit: str, fingerprint: str | None) -> int | None:
    """How many items the unit held when it was last imported whole, if it is unchanged."""
    if known is None or fingerprint is None:
        return None
    return known(unit, fingerprint)


def finish_unit(
    unit: str, fingerprint: str | None, records: Iterable[Record]
) -> Generator[Record, None, int]:
    """Passes the unit's records on, then its UnitDone; returns its item count.

    A unit that had anything quarantined gets no UnitDone, so it is read again next time.
    """
    items = 0
    clean = True
    for record in records:
        if isinstance(record, ItemRecord):
            items += 1
        elif isinstance(record, QuarantineRecord):
            clean = False
        yield record
    if clean and fingerprint is not None:
        yield UnitDone(unit=unit, fingerprint=fingerprint, items=items)
    return items


def skipped(unit: str, fingerprint: str, items: int) -> UnitDone:
    return UnitDone(unit=unit, fingerprint=fingerprint, items=items, skipped=True)
