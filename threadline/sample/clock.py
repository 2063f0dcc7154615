"""The sample workspace's calendar: ISO weeks, working days and the two time zones used."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
DEFAULT_END_WEEK = "2026-W47"
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass(frozen=True)
class Week:
    """One ISO week of the timeline; ``index`` 0 is the oldest week generated."""

    index: int
    monday: date

    @property
    def label(self) -> str:
        year, number, _ = self.monday.isocalendar()
        return f"{year}-W{number:02d}"

    def day(self, weekday: int) -> date:
        """weekday 0 = Monday ... 6 = Sunday."""
        return self.monday + timedelta(days=weekday)

    @property
    def days(self) -> list[date]:
        return [self.day(i) for i in range(7)]


def parse_week(label: str) -> date:
    """``2026-W47`` -> the Monday of that ISO week."""
    try:
        year_text, week_text = label.upper().split("-W")
        return date.fromisocalendar(int(year_text), int(week_text), 1)
    except ValueError as exc:
        raise ValueError(f"not an ISO week like 2026-W47: {label!r}") from exc


def timeline(end_week: str, weeks: int) -> list[Week]:
    if weeks < 1:
        raise ValueError("weeks must be at least 1")
    last = parse_week(end_week)
    return [Week(i, last - timedelta(weeks=weeks - 1 - i)) for i in range(weeks)]


def at(day: date, hour: int, minute: int = 0, second: int = 0, tz: ZoneInfo = LONDON) -> datetime:
    return datetime.combine(day, time(hour, minute, second), tzinfo=tz)


def epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


def long_date(day: date) -> str:
    """``Thursday 19 November``: how people write dates in messages."""
    return f"{WEEKDAYS[day.weekday()]} {day.day} {day.strftime('%B')}"


def short_date(day: date) -> str:
    return f"{WEEKDAYS[day.weekday()][:3]} {day.day} {day.strftime('%b')}"
