"""Dates written in text ("EOD Friday", "next Tuesday", "in two weeks", "by the 5th"),
resolved against the time the item itself was written, never against today.

The rules, chosen so a reader can predict them:

- The anchor is the item's ``occurred_at`` seen in the folder's local zone (``tz``).
- A bare weekday ("Friday", "by Friday", "coming Friday") is the next such day on or
  after the anchor's day: "EOD Friday" written on a Friday means that same Friday.
- "this Friday" is the Friday of the anchor's ISO week; "next Tuesday" is the Tuesday of
  the *following* ISO week (from a Wednesday that is 6 days on, from a Monday 8 days on);
  "last Friday" is the latest Friday strictly before the anchor's day.
- "EOD", "COB", "end of day" mean 17:00 local; "end of the week" is Friday 17:00;
  "next week" is the Monday of the following week; "end of the month" its last day.
- "in N days/weeks/months" counts calendar days from the anchor's day; "in N hours"
  counts from the anchor instant.
- "by the 5th" is the next 5th of a month on or after the anchor's day.
- "21 November" / "Nov 21" without a year is the one nearest the anchor (within 6 months).
- A phrase with a clock time, or an EOD, has granularity ``"time"`` and resolves to that
  instant; otherwise granularity ``"day"`` and resolves to local midnight of that day, in
  UTC: the same convention the calendar importer uses for all-day events.

Weekdays followed by "'s" ("Monday's incident") name a day already known from context and
are not resolved; neither is free prose dateparser would guess at ("soon", "later").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from dateutil.relativedelta import relativedelta

EOD = time(17, 0)
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_SHORT_WEEKDAYS = {"mon": 0, "tue": 1, "tues": 1, "wed": 2, "thu": 3, "thur": 3, "thurs": 3,
                   "fri": 4, "sat": 5, "sun": 6}
_MONTHS = {name: n for n, name in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september",
     "october", "november", "december"), start=1)}
_MONTHS.update({name[:3]: n for name, n in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
            "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
            "a couple of": 2, "couple of": 2}

_WD_FULL = "|".join(_WEEKDAYS)
_WD_SHORT = "|".join(sorted(_SHORT_WEEKDAYS, key=len, reverse=True))
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_EOD_WORDS = r"eod|cob|end\s+of\s+(?:the\s+)?day|close\s+of\s+business"
_TIME = (
    r"(?:\s*(?:at|@|,)?\s*(?P<time>(?:[01]?\d|2[0-3])[:.][0-5]\d(?:\s*[ap]\.?m\.?)?"
    r"|(?:1[0-2]|0?[1-9])\s*[ap]\.?m\.?|noon|midday))?"
)
_ABSOLUTE = (
    rf"(?:(?:{_WD_FULL}|{_WD_SHORT})\.?,?\s+)?"
    rf"(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<m1>{_MONTH})\b\.?"
    rf"|(?P<m2>{_MONTH})\b\.?\s+(?P<d2>\d{{1,2}})(?:st|nd|rd|th)?\b)"
    r"(?:,?\s+(?P<year>(?:19|20)\d\d)\b)?"
)
_WEEKDAY = rf"(?:(?P<rel>this|next|last|coming)\s+)?(?P<wd>{_WD_FULL})\b(?!['’]s)"
_DAYWORD = r"(?P<dayword>today|tonight|tomorrow|yesterday)\b"
_ANCHORED = (
    rf"(?:(?P<eod>{_EOD_WORDS})\s+(?:on\s+)?)?(?:{_ABSOLUTE}|{_WEEKDAY}|{_DAYWORD})"
    rf"{_TIME}(?:\s+(?P<eod2>eod|cob)\b)?"
)
_IN_N = (
    r"in\s+(?P<n>\d{1,3}|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|(?:a\s+)?couple\s+of)\s+(?P<unit>hours?|days?|weeks?|months?)\b"
)
_DAY_OF_MONTH = r"(?P<prep>by|on|before|until)\s+the\s+(?P<dom>\d{1,2})(?:st|nd|rd|th)\b"
_PERIOD = (
    r"(?P<period>next\s+week|end\s+of\s+(?:the\s+|this\s+)?week"
    r"|end\s+of\s+(?:the\s+|this\s+)?month)\b"
)
_EOD_ONLY = rf"(?P<eod_only>{_EOD_WORDS})\b"

PATTERN = re.compile(
    rf"\b(?:{_ANCHORED}|{_IN_N}|{_DAY_OF_MONTH}|{_PERIOD}|{_EOD_ONLY})", re.IGNORECASE
)
_DEADLINE_BEFORE = re.compile(
    r"\b(?:due|by|deadline|until|no\s+later\s+than)\b[^.!?\n]*$", re.IGNORECASE
)
_DEADLINE_WINDOW = 60


@dataclass(frozen=True)
class FoundDate:
    phrase: str
    resolved: datetime
    """UTC: the instant for granularity "time", local midnight of the day for "day"."""
    granularity: str
    deadline: bool
    """A deadline cue (due, by, deadline, until, EOD) comes with it."""
    position: int


def find_dates(text: str, anchor: datetime, tz: tzinfo = UTC) -> list[FoundDate]:
    """Every date phrase in ``text``, in order, resolved against ``anchor``."""
    if anchor.tzinfo is None:
        raise ValueError("the anchor of relative dates must be timezone-aware")
    local = anchor.astimezone(tz)
    found: list[FoundDate] = []
    for match in PATTERN.finditer(text):
        resolved = _resolve(match, local, tz)
        if resolved is None:
            continue
        moment, granularity = resolved
        before = text[max(0, match.start() - _DEADLINE_WINDOW) : match.start()]
        eod = any(match.group(g) for g in ("eod", "eod2", "eod_only"))
        prep = (match.group("prep") or "").lower()
        deadline = eod or prep in ("by", "before", "until") or bool(_DEADLINE_BEFORE.search(before))
        found.append(
            FoundDate(
                phrase=" ".join(match.group(0).split()).rstrip(".,")[:128],
                resolved=moment.astimezone(UTC),
                granularity=granularity,
                deadline=deadline,
                position=match.start(),
            )
        )
    return found


def _resolve(match: re.Match[str], local: datetime, tz: tzinfo) -> tuple[datetime, str] | None:
    today = local.date()
    if match.group("n"):
        return _in_n(match, local, tz)
    if match.group("dom"):
        return _at(_day_of_month(today, int(match.group("dom"))), None, tz)
    if match.group("period"):
        return _period(match.group("period").lower(), today, tz)
    if match.group("eod_only"):
        return _at(today, EOD, tz)
    day = _anchored_day(match, today)
    if day is None:
        return None
    clock = _clock(match.group("time"))
    if clock is None and (match.group("eod") or match.group("eod2")):
        clock = EOD
    if clock is None and (match.group("dayword") or "").lower() == "tonight":
        clock = time(20, 0)
    return _at(day, clock, tz)


def _at(day: date | None, clock: time | None, tz: tzinfo) -> tuple[datetime, str] | None:
    if day is None:
        return None
    moment = datetime.combine(day, clock or time(0), tzinfo=tz)
    return moment, "time" if clock else "day"


def _anchored_day(match: re.Match[str], today: date) -> date | None:
    if match.group("dayword"):
        offsets = {"today": 0, "tonight": 0, "tomorrow": 1, "yesterday": -1}
        return today + timedelta(days=offsets[match.group("dayword").lower()])
    if match.group("wd"):
        return _weekday(today, _WEEKDAYS.index(match.group("wd").lower()), match.group("rel"))
    month = _MONTHS[(match.group("m1") or match.group("m2")).lower()]
    day = int(match.group("d1") or match.group("d2"))
    year = match.group("year")
    try:
        if year:
            return date(int(year), month, day)
        candidates = [date(today.year + shift, month, day) for shift in (-1, 0, 1)]
    except ValueError:
        return None  # "31 June" and the like: not a date, so nothing to resolve
    return min(candidates, key=lambda d: abs((d - today).days))


def _weekday(today: date, weekday: int, rel: str | None) -> date:
    monday = today - timedelta(days=today.weekday())
    kind = (rel or "").lower()
    if kind == "this":
        return monday + timedelta(days=weekday)
    if kind == "next":
        return monday + timedelta(days=7 + weekday)
    if kind == "last":
        back = (today.weekday() - weekday) % 7 or 7
        return today - timedelta(days=back)
    return today + timedelta(days=(weekday - today.weekday()) % 7)


def _day_of_month(today: date, dom: int) -> date | None:
    for shift in range(0, 13):
        first = (today.replace(day=1) + relativedelta(months=shift))
        try:
            candidate = first.replace(day=dom)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _period(period: str, today: date, tz: tzinfo) -> tuple[datetime, str] | None:
    monday = today - timedelta(days=today.weekday())
    if period.startswith("next"):
        return _at(monday + timedelta(days=7), None, tz)
    if period.endswith("week"):
        return _at(monday + timedelta(days=4), EOD, tz)
    last = today.replace(day=1) + relativedelta(months=1) - timedelta(days=1)
    return _at(last, None, tz)


def _in_n(match: re.Match[str], local: datetime, tz: tzinfo) -> tuple[datetime, str] | None:
    word = " ".join(match.group("n").lower().split())
    count = int(word) if word.isdigit() else _NUMBERS.get(word)
    if count is None:
        return None
    unit = match.group("unit").lower().rstrip("s")
    if unit == "hour":
        return local + timedelta(hours=count), "time"
    step = {"day": relativedelta(days=count), "week": relativedelta(weeks=count),
            "month": relativedelta(months=count)}[unit]
    return _at(local.date() + step, None, tz)


def _clock(text: str | None) -> time | None:
    if not text:
        return None
    value = text.lower().replace(" ", "").replace(".", ":").rstrip(":")
    if value in ("noon", "midday"):
        return time(12, 0)
    meridiem = None
    for suffix in ("a:m", "p:m", "am", "pm"):
        if value.endswith(suffix):
            meridiem = suffix[0]
            value = value[: -len(suffix)].rstrip(":")
            break
    hours, _, minutes = value.partition(":")
    hour, minute = int(hours), int(minutes or 0)
    if meridiem == "p" and hour < 12:
        hour += 12
    if meridiem == "a" and hour == 12:
        hour = 0
    return time(hour, minute) if hour < 24 and minute < 60 else None
