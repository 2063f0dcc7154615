"""What a Notion row's properties say about when it happened and who wrote it.

Exports carry property values as display text only ("December 4, 2024 8:45 AM (GMT+2)",
"Alice Martin, Bob Chen"), so times and people are read back from those strings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo

from dateutil import parser as dateparser

_CREATED = ("created time", "created", "created at", "date created", "created on")
_UPDATED = ("last edited time", "last edited", "last updated", "updated", "updated at", "edited")
_AUTHORS = ("created by", "owner", "author", "assignee", "assigned to")
PEOPLE = (*_AUTHORS, "last edited by", "person", "people")
_GMT = re.compile(r"\(\s*(?:GMT|UTC)\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?\s*\)", re.IGNORECASE)
# dateutil fills missing fields from its default; a fixed one keeps output deterministic.
_DEFAULT = datetime(2000, 1, 1)


@dataclass(frozen=True)
class RowFacts:
    created_at: datetime | None
    updated_at: datetime | None
    occurred_at: datetime | None
    author: str | None
    people: tuple[str, ...]


def read_facts(properties: dict[str, str], default_tz: tzinfo) -> RowFacts:
    lowered = {key.strip().lower(): value for key, value in properties.items()}
    created = _first_time(lowered, _CREATED, default_tz)
    updated = _first_time(lowered, _UPDATED, default_tz)
    dated = None
    for key, value in lowered.items():
        if "date" in key and key not in _CREATED and key not in _UPDATED:
            dated = parse_when(value, default_tz)
            if dated is not None:
                break
    author = next((names[0] for key in _AUTHORS if (names := split_people(lowered.get(key)))), None)
    people = tuple(dict.fromkeys(name for key in PEOPLE for name in split_people(lowered.get(key))))
    return RowFacts(created, updated, updated or created or dated, author, people)


def _first_time(
    lowered: dict[str, str], keys: tuple[str, ...], default_tz: tzinfo
) -> datetime | None:
    for key in keys:
        found = parse_when(lowered.get(key), default_tz)
        if found is not None:
            return found
    return None


def split_people(value: str | None) -> list[str]:
    if not value:
        return []
    return [name.strip().lstrip("@") for name in value.split(",") if name.strip().lstrip("@")]


def parse_when(value: str | None, default_tz: tzinfo) -> datetime | None:
    """A Notion date as displayed; the start of a range; None when it is not a date."""
    if not value:
        return None
    text = value.strip().lstrip("@").split("→")[0].strip()
    # "Today", "Last Wednesday": relative words would resolve against the clock.
    if not any(char.isdigit() for char in text):
        return None
    zone: tzinfo = default_tz
    match = _GMT.search(text)
    if match is not None:
        text = (text[: match.start()] + text[match.end() :]).strip()
        if match.group(1):
            minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
            zone = timezone(timedelta(minutes=minutes if match.group(1) == "+" else -minutes))
        else:
            zone = UTC
    try:
        parsed = dateparser.parse(text, default=_DEFAULT)
    except (ValueError, OverflowError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)
