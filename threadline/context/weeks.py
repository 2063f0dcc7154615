"""ISO weeks as the unit of a deliverable: ``2026-W47``, ``last``, ``this``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from threadline.errors import ConfigError

_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class Week:
    year: int
    week: int

    @property
    def label(self) -> str:
        return f"{self.year}-W{self.week:02d}"

    @property
    def start(self) -> datetime:
        monday = date.fromisocalendar(self.year, self.week, 1)
        return datetime(monday.year, monday.month, monday.day, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=7)

    def shifted(self, weeks: int) -> Week:
        return week_of(self.start + timedelta(weeks=weeks))


def week_of(moment: date | datetime) -> Week:
    year, week, _ = moment.isocalendar()
    return Week(year, week)


def parse_week(value: str, *, today: date | None = None) -> Week:
    """``2026-W47``, ``this`` or ``last`` (relative to ``today``)."""
    today = today or datetime.now(UTC).date()
    lowered = value.strip().lower()
    if lowered == "this":
        return week_of(today)
    if lowered == "last":
        return week_of(today - timedelta(days=7))
    match = _ISO_WEEK.match(value.strip())
    if not match:
        raise ConfigError(f"{value!r} is not a week: write it as 2026-W47, 'this' or 'last'")
    year, week = int(match.group(1)), int(match.group(2))
    try:
        date.fromisocalendar(year, week, 1)
    except ValueError:
        raise ConfigError(f"{value!r}: {year} has no ISO week {week}") from None
    return Week(year, week)
