"""Pull the checkable facts out of a sentence: dates, weekdays, times, numbers, names, codes.

The same extractors read a claim and the items it cites, so "18 Nov" in a claim and
"November 18, 2026" in an item land on the same value. Month names and weekday
abbreviations must be capitalised ("may", "sat" and "march" are ordinary words).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from threadline.context.time_words import MONTHS, WEEKDAYS

WEEKDAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _alternatives(names: dict[str, int]) -> str:
    # Full names in any case; abbreviations only capitalised (Sat, Sun, Mar, May …).
    parts = []
    for name in sorted(names, key=len, reverse=True):
        if len(name) > 4 and name not in ("march",):
            parts.append(f"(?i:{name})")
        else:
            parts.append(name.capitalize())
    return "(?:" + "|".join(parts) + ")"


_WD = _alternatives(WEEKDAYS)
_MON = _alternatives(MONTHS)
_ORD = r"(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
DAY_MONTH = re.compile(
    rf"\b(?:({_WD})\.?,?\s+)?(?:the\s+)?(\d{{1,2}}){_ORD}\s+(?:of\s+)?({_MON})\.?(?![a-z])"
    + _YEAR)
MONTH_DAY = re.compile(
    rf"\b(?:({_WD})\.?,?\s+)?({_MON})\.?\s+(\d{{1,2}}){_ORD}(?![\d:])\b" + _YEAR)
WEEKDAY = re.compile(rf"\b({_WD})(?:'s)?\b\.?")
TIME = re.compile(r"(?<![\d:])(\d{1,2}):(\d{2})(?:\s?([ap]m)\b)?|\b(\d{1,2})\s?([ap]m)\b", re.I)
NUMBER = re.compile(
    r"(?<![\w.])([$£€])?\s?(\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?:\s?(%)|\s?(k|K|M|bn)\b|(?=[\s.,;:!?)/\-–~]|$|[a-z]))")
_NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
                 "fourteen fifteen sixteen seventeen eighteen nineteen twenty")
WORD_NUMBERS = {w: str(i) for i, w in enumerate(_NUMBER_WORDS.split(" "))}
CODE = re.compile(
    r"`([^`\n]{1,60})`"
    r"|\b([A-Za-z][A-Za-z0-9]*(?:[_.][A-Za-z0-9]+)+)\b"   # snake_case, dotted.names
    r"|\b([a-z]+[A-Z][A-Za-z0-9]*)\b"                        # camelCase
    r"|\b((?=[A-Za-z]*\d)(?=\d*[A-Za-z])[A-Za-z0-9]{2,})\b")  # GA4, W47, 502s
_PLAIN_UNIT = re.compile(r"^\d+(?:st|nd|rd|th|s|am|pm|k|m|h|d|x|min|mins|hrs?)$", re.I)


@dataclass(frozen=True)
class DateRef:
    text: str
    start: int
    end: int
    weekday: int | None = None
    month: int | None = None
    day: int | None = None
    year: int | None = None

    @property
    def label(self) -> str:
        return self.text.rstrip(".")

    @property
    def full(self) -> bool:
        return self.month is not None and self.day is not None


def _weekday(word: str | None) -> int | None:
    return WEEKDAYS.get(word.lower().rstrip(".")) if word else None


def find_dates(text: str) -> list[DateRef]:
    """Dates and weekdays, longest reading first; a weekday inside a full date is not repeated."""
    refs: list[DateRef] = []
    taken: list[tuple[int, int]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for m in ISO_DATE.finditer(text):
        refs.append(DateRef(m.group(0), m.start(), m.end(), None, int(m.group(2)),
                            int(m.group(3)), int(m.group(1))))
        taken.append((m.start(), m.end()))
    for m in DAY_MONTH.finditer(text):
        if free(m.start(), m.end()):
            refs.append(DateRef(m.group(0), m.start(), m.end(), _weekday(m.group(1)),
                                MONTHS[m.group(3).lower().rstrip(".")], int(m.group(2)),
                                int(m.group(4)) if m.group(4) else None))
            taken.append((m.start(), m.end()))
    for m in MONTH_DAY.finditer(text):
        if free(m.start(), m.end()):
            refs.append(DateRef(m.group(0), m.start(), m.end(), _weekday(m.group(1)),
                                MONTHS[m.group(2).lower().rstrip(".")], int(m.group(3)),
                                int(m.group(4)) if m.group(4) else None))
            taken.append((m.start(), m.end()))
    for m in WEEKDAY.finditer(text):
        if free(m.start(), m.end()):
            refs.append(DateRef(m.group(1), m.start(), m.end(), _weekday(m.group(1))))
            taken.append((m.start(), m.end()))
    return [r for r in sorted(refs, key=lambda r: r.start) if r.full or r.weekday is not None]


def resolve(ref: DateRef, near: date) -> date | None:
    """The calendar day a full date names, its year taken as written or nearest to ``near``."""
    if ref.month is None or ref.day is None:
        return None
    years = [ref.year] if ref.year else [near.year - 1, near.year, near.year + 1]
    best: date | None = None
    for year in years:
        try:
            candidate = date(year, ref.month, ref.day)
        except ValueError:
            continue
        if best is None or abs((candidate - near).days) < abs((best - near).days):
            best = candidate
    return best


@dataclass(frozen=True)
class Found:
    text: str
    start: int
    end: int
    value: str


def find_times(text: str) -> list[Found]:
    out = []
    for m in TIME.finditer(text):
        hour = int(m.group(1) or m.group(4))
        minute = int(m.group(2) or 0)
        half = (m.group(3) or m.group(5) or "").lower()
        if half == "pm" and hour < 12:
            hour += 12
        if half == "am" and hour == 12:
            hour = 0
        if hour < 24 and minute < 60:
            out.append(Found(m.group(0), m.start(), m.end(), f"{hour}:{minute:02d}"))
    return out


def number_value(digits: str, scale: str | None) -> str:
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return digits
    factor = {"k": 1000, "K": 1000, "M": 1_000_000, "bn": 1_000_000_000}.get(scale or "", 1)
    return format((value * factor).normalize(), "f")


def find_numbers(text: str, skip: list[tuple[int, int]] | None = None) -> list[Found]:
    """Numbers outside the ``skip`` spans (dates, times), as normalised decimal strings."""
    spans = skip or []
    out = []
    for m in NUMBER.finditer(text):
        if any(s <= m.start(2) < e for s, e in spans):
            continue
        out.append(Found(m.group(0).strip(), m.start(), m.end(),
                         number_value(m.group(2), m.group(4))))
    return out


def word_numbers(text: str) -> set[str]:
    return {WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in WORD_NUMBERS}


def find_codes(text: str) -> list[str]:
    """Code-like tokens: `quoted`, snake_case, dotted.names, camelCase, letters-with-digits."""
    out = []
    for m in CODE.finditer(text):
        token = next(g for g in m.groups() if g)
        if m.group(4) and _PLAIN_UNIT.match(token):
            continue
        if m.group(2) and re.fullmatch(r"[\d.]+|[A-Za-z]\.[A-Za-z]\.?", token):
            continue  # version numbers and abbreviations like e.g
        out.append(token)
    return out
