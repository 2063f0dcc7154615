"""Time words in queries, resolved against a fixed today (Wednesday 18 November 2026)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from threadline.context.time_words import named_days, parse_time_words

TODAY = date(2026, 11, 18)
D = date


@pytest.mark.parametrize(
    ("query", "rest", "start", "end"),
    [
        ("what happened last week with tracking", "what happened with tracking",
         D(2026, 11, 9), D(2026, 11, 16)),
        ("tracking this week", "tracking", D(2026, 11, 16), D(2026, 11, 23)),
        ("yesterday", "", D(2026, 11, 17), D(2026, 11, 18)),
        ("today's standup today", "today's standup", D(2026, 11, 18), D(2026, 11, 19)),
        ("invoices in March", "invoices", D(2026, 3, 1), D(2026, 4, 1)),
        ("in December", "", D(2025, 12, 1), D(2026, 1, 1)),
        ("in November 2025", "", D(2025, 11, 1), D(2025, 12, 1)),
        ("hosting since Monday", "hosting", D(2026, 11, 16), None),
        ("since last Wednesday", "", D(2026, 11, 11), None),
        ("before 2026-11-01", "", None, D(2026, 11, 1)),
        ("until 5 Nov", "", None, D(2026, 11, 6)),
        ("after 5 Nov", "", D(2026, 11, 6), None),
        ("on Tuesday", "", D(2026, 11, 17), D(2026, 11, 18)),
        ("on 20 November", "", D(2025, 11, 20), D(2025, 11, 21)),
        ("between 2 November and 5 November", "", D(2026, 11, 2), D(2026, 11, 6)),
        ("pixel in the last 3 days", "pixel", D(2026, 11, 16), D(2026, 11, 19)),
        ("last month", "", D(2026, 10, 1), D(2026, 11, 1)),
        ("the week of 2026-11-04 hosting", "hosting", D(2026, 11, 2), D(2026, 11, 9)),
        ("since Monday before Wednesday", "", D(2026, 11, 16), D(2026, 11, 18)),
    ],
)
def test_time_words(query: str, rest: str, start: date | None, end: date | None) -> None:
    left, found = parse_time_words(query, TODAY)
    assert found is not None
    assert (left, found.start, found.end) == (rest, start, end)


def test_words_that_are_not_times_stay() -> None:
    assert parse_time_words("what may happen to the sunset clause", TODAY) == (
        "what may happen to the sunset clause", None)


def test_bounds_are_local_midnights_in_utc() -> None:
    _, found = parse_time_words("yesterday", TODAY)
    assert found is not None
    start, end = found.bounds(ZoneInfo("America/New_York"))
    assert start == datetime(2026, 11, 17, 5, 0, tzinfo=UTC)
    assert end == datetime(2026, 11, 18, 5, 0, tzinfo=UTC)


def test_named_days_are_the_calendar_days_a_description_gives() -> None:
    days, rest = named_days(
        "gap from Thursday 27 August, fixed on Wednesday 2 September; review on Thursday and "
        "a catch-up in March", TODAY)
    # Bare weekdays and whole months are labels or spans, not days.
    assert days == [D(2026, 8, 27), D(2026, 9, 2)]
    assert rest == "gap from , fixed on ; review on Thursday and a catch-up in March"
    assert named_days("nothing dated here", TODAY) == ([], "nothing dated here")
