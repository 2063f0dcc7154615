"""When a schedule fires: clock rules in a time zone, and event-trigger rules.

Clock rules are ``fri 15:00``, ``mon,wed 09:30``, ``mon-fri 08:00``, ``daily 08:00``,
``weekdays 17:00``, ``weekends 10:00``, or a five-field cron expression. Slots are computed
in the schedule's own IANA zone on wall-clock time (python-dateutil's rrule), then turned
into UTC instants, so a 15:00 Europe/London schedule fires at 15:00 local on both sides of a
clock change. A wall time that does not exist (the spring-forward gap) fires at the same
instant the clock would have shown had it not jumped (01:30 → 02:30 BST); a wall time that
happens twice (the autumn fold) fires once, at its first occurrence.
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import DAILY, rrule, rruleset

from threadline.errors import ThreadlineError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_GROUPS = {"daily": list(range(7)), "weekdays": list(range(5)), "weekends": [5, 6]}
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")
# Event triggers as stored in schedule.rule.
BEFORE_MEETING = "before-external-meeting"
STORYLINE_CHANGE = "storyline-status-change"


class RuleError(ThreadlineError):
    """A schedule setting that cannot be understood; ``field`` names which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.detail = message


@dataclass(frozen=True)
class ClockRule:
    """A parsed clock rule: the fields of a cron line (None = every value)."""

    text: str
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    monthdays: tuple[int, ...] | None
    months: tuple[int, ...] | None
    weekdays: tuple[int, ...] | None  # 0 = Monday, as dateutil counts

    def _rules(self, start: datetime) -> rruleset:
        def daily(monthdays: tuple[int, ...] | None, weekdays: tuple[int, ...] | None) -> rrule:
            return rrule(DAILY, dtstart=start, byhour=self.hours, byminute=self.minutes,
                         bysecond=0, bymonth=self.months, bymonthday=monthdays,
                         byweekday=weekdays)

        rules = rruleset()
        if self.monthdays is not None and self.weekdays is not None:
            # cron: when both day fields are restricted, either one matching is enough.
            rules.rrule(daily(self.monthdays, None))
            rules.rrule(daily(None, self.weekdays))
        else:
            rules.rrule(daily(self.monthdays, self.weekdays))
        return rules

    def slots(self, zone: str, after: datetime, until: datetime,
              keep: int = 50) -> tuple[list[datetime], int]:
        """The slots in (after, until] as aware UTC instants: the latest ``keep`` of them,
        oldest first, and how many there were in all."""
        tz = load_zone(zone)
        # Wall-clock bounds with a day's margin either side: offsets never exceed that.
        start = after.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
        start -= timedelta(days=1)
        end = until.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
        latest: deque[datetime] = deque(maxlen=keep)
        total = 0
        for wall in self._rules(start).xafter(start, inc=True):
            if wall > end:
                break
            instant = to_utc(wall, tz)
            if after < instant <= until:
                latest.append(instant)
                total += 1
        return list(latest), total


def to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """A naive wall-clock time in ``tz`` as a UTC instant (fold=0: the earlier reading)."""
    return wall.replace(tzinfo=tz, fold=0).astimezone(UTC)


def slot_label(instant: datetime, zone: str) -> str:
    """The schedule_run slot key: the local wall time with its offset, to the minute."""
    return instant.astimezone(load_zone(zone)).isoformat(timespec="minutes")


def load_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise RuleError("timezone", f"{name!r} is not a known IANA time zone ({exc}); "
                        "give one such as Europe/London or America/New_York") from exc


def default_zone() -> str:
    """THREADLINE_TZ, else this machine's zone when it has an IANA name, else UTC."""
    name = os.environ.get("THREADLINE_TZ")
    if name:
        load_zone(name)
        return name
    try:
        target = str(Path("/etc/localtime").resolve())
    except OSError:
        return "UTC"
    if "zoneinfo/" in target:
        candidate = target.split("zoneinfo/", 1)[1]
        try:
            ZoneInfo(candidate)
            return candidate
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return "UTC"


# -- parsing ---------------------------------------------------------------------------


def parse_clock(text: str) -> ClockRule:
    cleaned = " ".join(text.strip().lower().split())
    parts = cleaned.split(" ")
    if len(parts) == 5:
        return _cron(cleaned, parts)
    if len(parts) == 2:
        days = _day_list(parts[0])
        match = _TIME.match(parts[1])
        if not match:
            raise RuleError("every", f"{parts[1]!r} is not a time of day: write HH:MM, e.g. 15:00")
        return ClockRule(cleaned, (int(match.group(2)),), (int(match.group(1)),), None, None,
                         None if len(days) == 7 else tuple(days))
    raise RuleError("every", f"{text!r} is not a schedule: write 'fri 15:00', 'mon,wed 09:30', "
                    "'daily 08:00', 'weekdays 17:00' or a five-field cron expression")


def _day(name: str) -> int:
    for i in range(7):
        if len(name) >= 3 and _full_day(i).startswith(name):
            return i
    raise RuleError("every", f"{name!r} is not a day: use mon, tue, wed, thu, fri, sat, sun")


def _full_day(index: int) -> str:
    return ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")[index]


def _day_list(text: str) -> list[int]:
    if text in _GROUPS:
        return _GROUPS[text]
    days: set[int] = set()
    for part in text.split(","):
        if "-" in part:
            first, last = (_day(p) for p in part.split("-", 1))
            days.update(range(first, last + 1) if first <= last else [*range(first, 7),
                                                                     *range(0, last + 1)])
        else:
            days.add(_day(part))
    return sorted(days)


_CRON_FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31),
                ("month", 1, 12), ("day of week", 0, 7))
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def _cron(text: str, parts: list[str]) -> ClockRule:
    values = [_cron_field(part, *spec) for part, spec in zip(parts, _CRON_FIELDS, strict=True)]
    minutes, hours, monthdays, months, dows = values
    if minutes is None or hours is None:
        # Every minute of every hour would draft all day long; name the field to fix.
        raise RuleError("every", f"{text!r}: give the minute and hour explicitly "
                        "(a deliverable is drafted at set times, not every minute)")
    weekdays = None if dows is None else tuple(sorted({(d - 1) % 7 for d in dows}))
    return ClockRule(text, minutes, hours, monthdays, months, weekdays)


def _cron_value(token: str, name: str, low: int) -> int:
    names = _MONTHS if name == "month" else _CRON_DAYS if name == "day of week" else ()
    if token in names:
        return names.index(token) + (1 if name == "month" else 0)
    if not token.isdigit():
        raise RuleError("every", f"cron {name}: {token!r} is not a number")
    return int(token)


def _cron_field(part: str, name: str, low: int, high: int) -> tuple[int, ...] | None:
    if part == "*":
        return None
    found: set[int] = set()
    for piece in part.split(","):
        body, _, step_text = piece.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise RuleError("every", f"cron {name}: step {step_text!r} must be a positive number")
        if body == "*":
            first, last = low, high
        elif "-" in body:
            a, b = body.split("-", 1)
            first, last = _cron_value(a, name, low), _cron_value(b, name, low)
        else:
            first = last = _cron_value(body, name, low)
            if step:
                last = high
        if not (low <= first <= high and low <= last <= high and first <= last):
            raise RuleError("every", f"cron {name}: {piece!r} is outside {low}-{high}")
        found.update(range(first, last + 1, step or 1))
    return tuple(sorted(found))


def parse_duration(text: str, field: str = "before-external-meetings") -> timedelta:
    match = _DURATION.match(text.strip().lower())
    if not text.strip() or not match or not any(match.groups()):
        raise RuleError(field, f"{text!r} is not a duration: write 2h, 90m, 1h30m or 1d")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    lead = timedelta(days=days, hours=hours, minutes=minutes)
    if lead <= timedelta(0) or lead > timedelta(days=14):
        raise RuleError(field, f"{text!r}: give a lead time between 1m and 14d")
    return lead


def format_duration(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    return "".join(f"{v}{u}" for v, u in ((days, "d"), (hours, "h"), (mins, "m")) if v) or "0m"
