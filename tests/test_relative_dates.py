"""Dates written in text, resolved against the item's own time in the local zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from threadline.context.relative_dates import find_dates

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
WEDNESDAY = datetime(2026, 11, 18, 14, 30, tzinfo=LONDON)
MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=LONDON)


def resolve(text: str, anchor: datetime = WEDNESDAY, tz: ZoneInfo = LONDON) -> list[tuple]:
    return [
        (f.phrase, f.resolved.astimezone(tz).strftime("%a %Y-%m-%d %H:%M"), f.granularity,
         f.deadline)
        for f in find_dates(text, anchor, tz)
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # EOD is 17:00 local on the named day: the Friday of the same week.
        ("Please send it by EOD Friday.", ("EOD Friday", "Fri 2026-11-20 17:00", "time", True)),
        # "next Tuesday" is the Tuesday of the following ISO week.
        ("Workshop next Tuesday", ("next Tuesday", "Tue 2026-11-24 00:00", "day", False)),
        ("Let's revisit in two weeks", ("in two weeks", "Wed 2026-12-02 00:00", "day", False)),
        ("Invoice by the 5th please", ("by the 5th", "Sat 2026-12-05 00:00", "day", True)),
        ("Call tomorrow at 10am", ("tomorrow at 10am", "Thu 2026-11-19 10:00", "time", False)),
        ("due next week", ("next week", "Mon 2026-11-23 00:00", "day", True)),
        ("Deadline for Acme is EOD Friday; otherwise we slip",
         ("EOD Friday", "Fri 2026-11-20 17:00", "time", True)),
        ("needed by EOD Friday 20 November.",
         ("EOD Friday 20 November", "Fri 2026-11-20 17:00", "time", True)),
        ("Thursday 19 November at 15:00",
         ("Thursday 19 November at 15:00", "Thu 2026-11-19 15:00", "time", False)),
        ("back in 3 hours", ("in 3 hours", "Wed 2026-11-18 17:30", "time", False)),
        ("as discussed last Friday", ("last Friday", "Fri 2026-11-13 00:00", "day", False)),
        ("I can do it today EOD", ("today EOD", "Wed 2026-11-18 17:00", "time", True)),
    ],
)
def test_phrases_resolve_against_the_message_time(text: str, expected: tuple) -> None:
    assert resolve(text) == [expected]


def test_next_weekday_depends_on_the_day_it_was_written() -> None:
    assert resolve("next Tuesday", MONDAY)[0][1] == "Tue 2026-11-24 00:00"
    assert resolve("Tuesday", MONDAY)[0][1] == "Tue 2026-11-17 00:00"
    # On a Friday, "EOD Friday" is that same day.
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=LONDON)
    assert resolve("EOD Friday", friday)[0][1] == "Fri 2026-11-20 17:00"


def test_local_zone_decides_the_day_and_the_stored_time_is_utc() -> None:
    # 02:00 UTC on Thursday is still Wednesday evening in New York.
    anchor = datetime(2026, 11, 19, 2, 0, tzinfo=UTC)
    [found] = find_dates("EOD tomorrow", anchor, NEW_YORK)
    assert found.resolved == datetime(2026, 11, 19, 22, 0, tzinfo=UTC)
    assert found.resolved.tzinfo == UTC
    [day] = find_dates("tomorrow", anchor, NEW_YORK)
    assert day.granularity == "day"
    assert day.resolved.astimezone(NEW_YORK).strftime("%Y-%m-%d %H:%M") == "2026-11-19 00:00"


def test_year_less_dates_pick_the_nearest_year() -> None:
    december = datetime(2026, 12, 28, 9, 0, tzinfo=LONDON)
    assert resolve("kick-off on 5 January", december)[0][1] == "Tue 2027-01-05 00:00"


def test_possessives_and_non_dates_are_left_alone() -> None:
    assert resolve("Summary of Monday's incident") == []
    assert resolve("the 31 June plan and a sat 5 mat") == []
    assert resolve("no dates here, just sprint planning") == []


def test_naive_anchor_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        find_dates("tomorrow", datetime(2026, 11, 18), LONDON)
