"""Canonical item ids: the one string form of each platform-native id.

They are printed wherever an item is named (JSON output, gold manifests, citations):

- ``slack:<channel id>:<ts>``
- ``email:<Message-ID without angle brackets>``
- ``event:<UID>@<instance start>``: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC, or ``YYYY-MM-DD`` for all-day
- ``notion:<page id>``: the dashed, lower-case UUID the Notion API uses
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

_NOTION_ID = re.compile(
    r"(?<![0-9a-fA-F])([0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12})(?![0-9a-fA-F])"
)


def slack_id(channel_id: str, ts: str) -> str:
    return f"slack:{channel_id}:{ts}"


def normalize_message_id(message_id: str) -> str:
    """``<abc@host>`` and ``abc@host`` are the same Message-ID."""
    return message_id.strip().strip("<>").strip()


def email_id(message_id: str) -> str:
    return f"email:{normalize_message_id(message_id)}"


def instance_start(start: date | datetime) -> str:
    if isinstance(start, datetime):
        if start.tzinfo is None:
            raise ValueError("an event instance start must be timezone-aware")
        return start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return start.isoformat()


def event_id(uid: str, start: date | datetime) -> str:
    return f"event:{uid}@{instance_start(start)}"


def normalize_notion_id(raw: str) -> str:
    """Turn a 32-hex id (as in export file names) or a dashed UUID into the dashed form."""
    compact = raw.replace("-", "").lower()
    if not re.fullmatch(r"[0-9a-f]{32}", compact):
        raise ValueError(f"not a Notion id: {raw!r}")
    return f"{compact[:8]}-{compact[8:12]}-{compact[12:16]}-{compact[16:20]}-{compact[20:]}"


def notion_id(page_id: str) -> str:
    return f"notion:{normalize_notion_id(page_id)}"


def find_notion_id(text: str) -> str | None:
    """The last 32-hex run in a file name or URL, as a dashed Notion id."""
    found = _NOTION_ID.findall(text)
    return normalize_notion_id(found[-1]) if found else None


def platform_of(canonical_id: str) -> str:
    return canonical_id.split(":", 1)[0]
