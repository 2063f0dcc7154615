"""Time words inside a search query ("last week", "since Monday", "in March") as a date range.

Questions are asked about the past, so a bare weekday, month or day-and-month means its most
recent occurrence on or before ``today``. Ranges are half-open: ``start`` inclusive, ``end``
exclusive, both local calendar days. Several named days span from the first to the last;
open bounds (since, before) narrow that span.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo

MONTHS = {
    name: n
    for n, names in enumerate(
        [("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"),
         ("may",), ("june", "jun"), ("july", "jul"), ("august", "aug"),
         ("september", "sep", "sept"), ("october", "oct"), ("november", "nov"),
         ("december", "dec")],
        start=1,
    )
    for name in names
}
WEEKDAYS = {
    name: n
    for n, names in enumerate(
        [("monday", "mon"), ("tuesday", "tue", "tues"), ("wednesday", "wed"),
         ("thursday", "thu", "thurs"), ("friday", "fri"), ("saturday", "sat"),
         ("sunday", "sun")]
    )
    for name in names
}

_MONTH = r"(?:" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")"
_ORD = r"(?:st|nd|rd|th)?"
# One calendar day or month, as written in a question.
_DAY = (
    rf"(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(?:{_WEEKDAY},?\s+)?\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}}{_ORD}(?:,?\s+\d{{4}})?"
    rf"|{_MONTH}(?:\s+\d{{4}})?"
    rf"|(?:last\s+)?{_WEEKDAY}"
    rf"|today|yesterday)"
)

_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("between", re.compile(rf"\bbetween\s+(?P<a>{_DAY})\s+and\s+(?P<b>{_DAY})\b", re.I)),
    ("week_of", re.compile(rf"\b(?:during\s+|in\s+)?the\s+week\s+of\s+(?P<a>{_DAY})\b", re.I)),
    ("since", re.compile(rf"\b(?P<op>since|after|from|before|until|till|by)\s+(?P<a>{_DAY})\b",
                         re.I)),
    ("last_n", re.compile(r"\b(?:in\s+|over\s+|during\s+)?(?:the\s+)?(?:last|past)\s+"
                          r"(?P<n>\d+)\s+(?P<unit>days?|weeks?|months?)\b", re.I)),
    ("relative", re.compile(r"\b(?:during\s+|in\s+)?(?P<which>this|last|next|past|previous)\s+"
                            r"(?P<unit>week|month|year)\b", re.I)),
    ("on", re.compile(rf"\b(?:on|in|during)\s+(?P<a>{_DAY})\b", re.I)),
    # "today's standup" names a meeting, not a range.
    ("bare", re.compile(r"\b(?P<a>today|yesterday|\d{4}-\d{2}-\d{2})\b(?!['’])", re.I)),
]


@dataclass(frozen=True)
class TimeRange:
    start: date | None
    end: date | None
    phrases: tuple[str, ...]

    def bounds(self, tz: tzinfo = UTC) -> tuple[datetime | None, datetime | None]:
        """The range as UTC instants: local midnight of ``start`` and of ``end``."""
        return _midnight(self.start, tz), _midnight(self.end, tz)


def _midnight(day: date | None, tz: tzinfo) -> datetime | None:
    if day is None:
        return None
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def parse_time_words(query: str, today: date) -> tuple[str, TimeRange | None]:
    """Strip the time words from ``query``; return the rest and the range they name."""
    opens: list[tuple[date | None, date | None]] = []
    spans: list[tuple[date | None, date | None]] = []
    phrases: list[str] = []
    rest = query
    for kind, pattern in _PATTERNS:
        while True:
            match = pattern.search(rest)
            if match is None:
                break
            found = _range(kind, match, today)
            if found is None:
                # Not a date after all ("may" as a verb): leave it, look no further here.
                break
            (opens if found[0] is None or found[1] is None else spans).append(found)
            phrases.append(" ".join(match.group(0).split()))
            rest = rest[: match.start()] + " " + rest[match.end() :]
    if not phrases:
        return query, None
    # Several named days ("fixed on 4 Nov, reviewed on 5 Nov") span from the first to the
    # last; open bounds ("since", "before") then narrow that span.
    start = min((lo for lo, _ in spans if lo), default=None)
    end = max((hi for _, hi in spans if hi), default=None)
    for lo, hi in opens:
        start = lo if lo is not None and (start is None or lo > start) else start
        end = hi if hi is not None and (end is None or hi < end) else end
    return " ".join(rest.split()), TimeRange(start, end, tuple(phrases))


def _range(kind: str, m: re.Match[str], today: date) -> tuple[date | None, date | None] | None:
    if kind == "between":
        a, b = _span(m.group("a"), today), _span(m.group("b"), today)
        return (a[0], b[1]) if a and b else None
    if kind == "week_of":
        a = _span(m.group("a"), today)
        if a is None:
            return None
        monday = a[0] - timedelta(days=a[0].weekday())
        return monday, monday + timedelta(days=7)
    if kind == "since":
        a = _span(m.group("a"), today)
        if a is None:
            return None
        op = m.group("op").lower()
        if op in ("since", "from"):
            return a[0], None
        if op == "after":
            return a[1], None
        if op == "before":
            return None, a[0]
        return None, a[1]
    if kind == "last_n":
        n = int(m.group("n"))
        unit = m.group("unit").lower().rstrip("s")
        days = n * {"day": 1, "week": 7, "month": 30}[unit]
        return today - timedelta(days=days - 1), today + timedelta(days=1)
    if kind == "relative":
        return _relative(m.group("which").lower(), m.group("unit").lower(), today)
    return _span(m.group("a"), today)


def _relative(which: str, unit: str, today: date) -> tuple[date, date]:
    step = {"this": 0, "last": -1, "past": -1, "previous": -1, "next": 1}[which]
    if unit == "week":
        monday = today - timedelta(days=today.weekday()) + timedelta(days=7 * step)
        return monday, monday + timedelta(days=7)
    if unit == "month":
        year, month = today.year, today.month + step
        year, month = (year - 1, 12) if month == 0 else (year + 1, 1) if month == 13 else (
            year, month)
        return date(year, month, 1), _next_month(date(year, month, 1))
    return date(today.year + step, 1, 1), date(today.year + step + 1, 1, 1)


def _next_month(first: date) -> date:
    return date(first.year + 1, 1, 1) if first.month == 12 else date(first.year, first.month + 1, 1)


def _span(phrase: str, today: date) -> tuple[date, date] | None:
    """One day or one month as [start, end), its most recent occurrence up to ``today``."""
    text = " ".join(phrase.lower().replace(",", " ").replace(".", " ").split())
    one = timedelta(days=1)
    if text == "today":
        return today, today + one
    if text == "yesterday":
        return today - one, today
    iso = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", text)
    if iso:
        try:
            day = date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        except ValueError:
            return None
        return day, day + one
    parts = [p for p in text.split() if p != "of"]
    if len(parts) > 1 and parts[0] in WEEKDAYS:
        parts = parts[1:]  # "Thursday 29 October": the date decides, the weekday is a label
    if parts[0] == "last" and len(parts) == 2 and parts[1] in WEEKDAYS:
        day = _past_weekday(today, WEEKDAYS[parts[1]], strictly=True)
        return day, day + one
    if len(parts) == 1 and parts[0] in WEEKDAYS:
        day = _past_weekday(today, WEEKDAYS[parts[0]], strictly=False)
        return day, day + one
    numbers = [int(re.sub(r"\D", "", p)) for p in parts if re.match(r"\d", p)]
    months = [MONTHS[p] for p in parts if p in MONTHS]
    if len(months) != 1:
        return None
    month = months[0]
    year = next((n for n in numbers if n > 31), None)
    dom = next((n for n in numbers if n <= 31), None)
    if dom is None:
        if year is None:
            year = today.year if month <= today.month else today.year - 1
        first = date(year, month, 1)
        return first, _next_month(first)
    if year is None:
        year = today.year
        if (month, dom) > (today.month, today.day):
            year -= 1
    try:
        day = date(year, month, dom)
    except ValueError:
        return None
    return day, day + one


def _past_weekday(today: date, weekday: int, *, strictly: bool) -> date:
    back = (today.weekday() - weekday) % 7
    if back == 0 and strictly:
        back = 7
    return today - timedelta(days=back)


# A named calendar day ("Wednesday 2 September", "Nov 5", "2026-11-05"), not a weekday alone:
# "Thursday" in a description is a label of something else as often as a date.
_NAMED_DAY = re.compile(
    rf"\b(?:\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|(?:{_WEEKDAY},?\s+)?\d{{1,2}}{_ORD}\s+(?:of\s+)?{_MONTH}(?:,?\s+\d{{4}})?"
    rf"|(?:{_WEEKDAY},?\s+)?{_MONTH}\s+\d{{1,2}}{_ORD}(?:,?\s+\d{{4}})?)\b",
    re.I,
)


def named_days(text: str, today: date) -> tuple[list[date], str]:
    """The calendar days ``text`` names, and the text without them.

    A question that describes something ("fixed on Wednesday 2 September, reviewed on
    Thursday 3 September") is about items written around those days, but not only on them:
    the caller uses them as a soft preference rather than a range."""
    days: list[date] = []
    for match in _NAMED_DAY.finditer(text):
        span = _span(match.group(0), today)
        if span is not None and span[1] - span[0] == timedelta(days=1):
            days.append(span[0])
    rest = _NAMED_DAY.sub(" ", text) if days else text
    return sorted(set(days)), " ".join(rest.split())
