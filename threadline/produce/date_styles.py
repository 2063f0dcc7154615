"""How a draft writes calendar dates, found in text and rewritten: "Tue 18 Nov" ↔ "18/11".

Learning compares the dates of the composed draft with the same dates in the user's edit
(same month and day) to see which style they prefer; applying rewrites every date written in a
known style into the preferred one. Only the form changes, never the day: a date is rewritten
from the (month, day) it was read as, and its weekday is recomputed from the draft's window.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime

_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_MON = {m[:3].lower(): i + 1 for i, m in enumerate(_MONTHS)} | {"sept": 9}
_MONTH = {m.lower(): i + 1 for i, m in enumerate(_MONTHS)}

_mon = r"(?P<mon>Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?"
_month = "(?P<month>" + "|".join(_MONTHS) + ")"
_dow = r"(?P<dow>Mon|Tue|Tues|Wed|Thu|Thur|Thurs|Fri|Sat|Sun)\.?,?"
_dow_long = r"(?P<dowl>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday),?"
_d = r"(?P<d>[0-3]?\d)(?:st|nd|rd|th)?"
_year = r"(?:,?\s+(?P<y>20\d\d))?"

# Longest forms first: a style is the first pattern that matches at a position.
STYLES: dict[str, tuple[str, str]] = {
    # name: (regex, example for 2026-11-17)
    "dow_d_month": (rf"{_dow_long}\s+{_d}\s+{_month}{_year}", "Tuesday 17 November"),
    "dow_month_d": (rf"{_dow_long}\s+{_month}\s+{_d}{_year}", "Tuesday, November 17"),
    "dow_d_mon": (rf"{_dow}\s+{_d}\s+{_mon}(?![a-z]){_year}", "Tue 17 Nov"),
    "dow_mon_d": (rf"{_dow}\s+{_mon}\s+{_d}(?!\d){_year}", "Tue, Nov 17"),
    "d_month": (rf"{_d}\s+{_month}{_year}", "17 November"),
    "month_d": (rf"{_month}\s+{_d}(?![\d:]){_year}", "November 17"),
    "d_mon": (rf"{_d}\s+{_mon}(?![a-z]){_year}", "17 Nov"),
    "mon_d": (rf"{_mon}\s+{_d}(?![\d:]){_year}", "Nov 17"),
    "iso": (r"(?P<y>20\d\d)-(?P<m>[01]\d)-(?P<d>[0-3]\d)(?![\d:T])", "2026-11-17"),
    # Numeric day/month is ambiguous with month/day: read both ways, disambiguated by context.
    "dd/mm": (r"(?<![\d/])(?P<a>[0-3]?\d)/(?P<b>[01]?\d)(?![\d/])", "17/11"),
}
NUMERIC = {"dd/mm", "mm/dd"}
EXAMPLES = {name: example for name, (_rx, example) in STYLES.items()} | {"mm/dd": "11/17"}
# Case matters: "may 3" in a sentence is not a date, "May 3" is.
_COMPILED = [(name, re.compile(rf"\b{rx}")) for name, (rx, _e) in STYLES.items()]


@dataclass(frozen=True)
class DateMention:
    start: int
    end: int
    text: str
    style: str
    month: int
    day: int
    year: int | None = None
    alt: tuple[int, int] | None = None
    """For a numeric date: the (month, day) it means if read the other way round."""


def _valid(month: int, day: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= 31


def find_dates(text: str) -> list[DateMention]:
    """Every date written in a known style, left to right, never overlapping."""
    found: list[DateMention] = []
    taken: list[tuple[int, int]] = []
    for name, rx in _COMPILED:
        for m in rx.finditer(text):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            mention = _mention(name, m)
            if mention is not None:
                found.append(mention)
                taken.append((m.start(), m.end()))
    return sorted(found, key=lambda x: x.start)


def _mention(name: str, m: re.Match[str]) -> DateMention | None:
    groups = m.groupdict()
    year = int(groups["y"]) if groups.get("y") else None
    if name == "dd/mm":
        a, b = int(groups["a"]), int(groups["b"])
        if not _valid(b, a) and not _valid(a, b):
            return None
        if _valid(b, a):
            alt = (a, b) if _valid(a, b) and a != b else None
            return DateMention(m.start(), m.end(), m.group(0), "dd/mm", b, a, None, alt)
        return DateMention(m.start(), m.end(), m.group(0), "mm/dd", a, b, None)
    if name == "iso":
        month, day = int(groups["m"]), int(groups["d"])
    else:
        month = (_MONTH[groups["month"].lower()] if groups.get("month")
                 else _MON[groups["mon"].lower().rstrip(".")])
        day = int(groups["d"])
    if not _valid(month, day):
        return None
    return DateMention(m.start(), m.end(), m.group(0), name, month, day, year)


def readings(mention: DateMention) -> list[tuple[tuple[int, int], str]]:
    """The (month, day) a mention may mean, with the style it is written in under that reading."""
    out = [((mention.month, mention.day), mention.style)]
    if mention.alt is not None:
        out.append((mention.alt, "mm/dd" if mention.style == "dd/mm" else "dd/mm"))
    return out


def observed_style(before: str, after: str) -> str | None:
    """The style the edit rewrote the composed draft's dates in, when it restyled any.

    Per day (month and day), a style the edit uses more often than the composed text did,
    while another style lost uses, is a vote; numeric dates are read whichever way makes them
    one of the composed days.
    """
    was: dict[tuple[int, int], Counter[str]] = {}
    for d in find_dates(before):
        if d.alt is None:
            was.setdefault((d.month, d.day), Counter())[d.style] += 1
    now: dict[tuple[int, int], Counter[str]] = {}
    for mention in find_dates(after):
        for key, style in readings(mention):
            if key in was:
                now.setdefault(key, Counter())[style] += 1
                break
    votes: Counter[str] = Counter()
    for key, styles in now.items():
        lost = any(n > styles.get(s, 0) for s, n in was[key].items())
        for style, n in styles.items():
            if lost and n > was[key].get(style, 0):
                votes[style] += n - was[key].get(style, 0)
    if not votes:
        return None
    return max(sorted(votes), key=lambda s: votes[s])


def _year_for(month: int, day: int, around: datetime | None) -> int:
    if around is None:
        return datetime.now().year
    best = around.year
    best_gap: float = float("inf")
    for year in (around.year - 1, around.year, around.year + 1):
        try:
            gap = abs((date(year, month, day) - around.date()).days)
        except ValueError:
            continue
        if gap < best_gap:
            best, best_gap = year, gap
    return best


def format_date(day: date, style: str, *, with_year: bool = False) -> str:
    month, mon = _MONTHS[day.month - 1], _MONTHS[day.month - 1][:3]
    dow, dow_long = _DAYS[day.weekday()][:3], _DAYS[day.weekday()]
    text = {
        "dow_d_month": f"{dow_long} {day.day} {month}",
        "dow_month_d": f"{dow_long}, {month} {day.day}",
        "dow_d_mon": f"{dow} {day.day} {mon}",
        "dow_mon_d": f"{dow}, {mon} {day.day}",
        "d_month": f"{day.day} {month}",
        "month_d": f"{month} {day.day}",
        "d_mon": f"{day.day} {mon}",
        "mon_d": f"{mon} {day.day}",
        "iso": day.isoformat(),
        "dd/mm": f"{day.day}/{day.month}",
        "mm/dd": f"{day.month}/{day.day}",
    }[style]
    if with_year and style not in {"iso", "dd/mm", "mm/dd"}:
        text += f" {day.year}" if not style.endswith(("month_d", "mon_d")) else f", {day.year}"
    return text


def rewrite_dates(text: str, style: str, around: datetime | None) -> str:
    """``text`` with each unambiguous date written in ``style``; numeric ones are left alone."""
    if style not in EXAMPLES:
        return text
    parts: list[str] = []
    cursor = 0
    for mention in find_dates(text):
        if mention.style in NUMERIC or mention.style == style:
            continue
        year = mention.year or _year_for(mention.month, mention.day, around)
        try:
            day = date(year, mention.month, mention.day)
        except ValueError:
            continue
        parts.append(text[cursor:mention.start])
        written = format_date(day, style, with_year=mention.year is not None)
        # "Nov." at the end of a sentence: the dot was the sentence's too.
        parts.append(written + "." if mention.text.endswith(".") else written)
        cursor = mention.end
    parts.append(text[cursor:])
    return "".join(parts)


def mask_dates(text: str) -> str:
    """Dates replaced by a token naming the day, so a restyled date does not read as a rewording."""
    out: list[str] = []
    cursor = 0
    for mention in find_dates(text):
        out.append(text[cursor:mention.start])
        out.append(f"DATE{mention.month:02d}{mention.day:02d}")
        cursor = mention.end
    out.append(text[cursor:])
    return "".join(out)
