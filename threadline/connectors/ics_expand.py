"""One UID's VEVENTs to its instances: time zone repair, then recurring-ical-events.

Recurrence (RRULE, RDATE, EXDATE, RECURRENCE-ID overrides, RANGE=THISANDFUTURE) is left to
recurring-ical-events. This module decides only what the library cannot: which span to
expand over, how many instances are too many, and what a time with a missing or unknown
time zone means.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

import recurring_ical_events
from icalendar import Calendar, Event
from icalendar.prop import vBroken, vDDDLists, vDDDTypes
from recurring_ical_events.occurrence import Occurrence

from threadline.connectors.ics_scan import Block
from threadline.ids import instance_start

_TIME_PROPERTIES = ("DTSTART", "DTEND", "RECURRENCE-ID", "EXDATE", "RDATE")
_RECURRENCE_PROPERTIES = frozenset({"DTSTART", "RRULE", "RDATE", "EXDATE", "RECURRENCE-ID", "UID"})
# Bounded series and one-off events are expanded over all of time, which is this span.
_EARLIEST = datetime(1800, 1, 1, tzinfo=UTC)
_LATEST = datetime(2300, 1, 1, tzinfo=UTC)
_MAX_GROWTH = 1000.0
_UTC_NAMES = ("UTC", "Z", "GMT")
_MIN_STEP = timedelta(minutes=15)
_MAX_STEP = timedelta(days=366)
# Overrides may move an instance past the last UNTIL; this much later is still looked at.
_UNTIL_SLACK = timedelta(days=400)


@dataclass(frozen=True)
class Expansion:
    """What every series of one file is expanded with."""

    calendar_tz: tzinfo
    """X-WR-TIMEZONE, else the importer's default_tz: for floating times and all-day days."""
    x_wr_timezone: tzinfo | None
    window_start: datetime
    window_end: datetime
    max_instances: int


@dataclass
class ParsedEvent:
    block: Block
    text: str
    event: Event
    tz_fallback: str | None = None


@dataclass
class Instance:
    """One occurrence of a series, with the component it was computed from."""

    component: Event
    source: ParsedEvent
    start: date | datetime
    end: date | datetime | None
    original_start: date | datetime
    recurring: bool


@dataclass
class SeriesResult:
    instances: list[Instance] = field(default_factory=list)
    capped: bool = False


def parse_event(block: Block, text: str, settings: Expansion) -> ParsedEvent:
    """Parse one VEVENT; ValueError when it cannot be used, with the reason and the fix."""
    event = Event.from_ical(text)
    if not isinstance(event, Event):
        raise ValueError(f"it parsed as {type(event).__name__}, not as an event")
    _drop_broken(event)
    _check_start(event)
    if not block.has_uid:
        event["UID"] = block.key
    parsed = ParsedEvent(block, text, event)
    parsed.tz_fallback = _repair_times(event, settings)
    return parsed


def _drop_broken(event: Event) -> None:
    """Remove properties icalendar could not parse, unless the instances depend on them.

    A bad DTEND or ATTENDEE still leaves a usable event (icalendar's ``errors`` keeps the
    note); a bad rule, date list or RECURRENCE-ID would produce wrong instances instead.
    """
    for name in list(event.keys()):
        value = event[name]
        values = value if isinstance(value, list) else [value]
        broken = [entry for entry in values if isinstance(entry, vBroken)]
        if not broken:
            continue
        if name in _RECURRENCE_PROPERTIES:
            raise ValueError(
                f"its {name} {str(broken[0])!r} cannot be read ({broken[0].parse_error}):"
                " correct it in the calendar app and export again"
            )
        kept = [entry for entry in values if not isinstance(entry, vBroken)]
        del event[name]
        if kept:
            event[name] = kept if len(kept) > 1 else kept[0]


def _check_start(event: Event) -> None:
    start = event.get("DTSTART")
    if start is None:
        detail = "; ".join(str(error) for _, error in event.errors[:3])
        raise ValueError(
            "it has no readable DTSTART"
            + (f" ({detail})" if detail else "")
            + ": fix or remove the event in the calendar app and export again"
        )
    if isinstance(start, list):
        raise ValueError(f"it has {len(start)} DTSTART properties where one is allowed")
    if not isinstance(start.dt, date):
        raise ValueError(f"its DTSTART is a {type(start.dt).__name__}, not a date or date-time")


def _repair_times(event: Event, settings: Expansion) -> str | None:
    """Give every time a zone; return the unknown TZID that was replaced, if any.

    A TZID icalendar cannot resolve leaves the time naive; so does a floating time. Both
    are read in the calendar's zone. With X-WR-TIMEZONE, UTC times are moved into that zone
    too (as Google Calendar means them), so that weekly rules keep local wall-clock time.
    """
    unknown: str | None = None
    for name in _TIME_PROPERTIES:
        value = event.get(name)
        for prop in value if isinstance(value, list) else [value]:
            if isinstance(prop, vDDDTypes):
                targets: list[Any] = [prop]
            elif isinstance(prop, vDDDLists):
                targets = list(prop.dts)
            else:
                continue
            tzid = prop.params.get("TZID")
            for target in targets:
                fixed, missing = _repair(target.dt, tzid, settings)
                target.dt = fixed
                unknown = unknown or missing
    return unknown


def _repair(value: Any, tzid: str | None, settings: Expansion) -> tuple[Any, str | None]:
    if isinstance(value, tuple):
        start, missing = _repair(value[0], tzid, settings)
        end, _ = _repair(value[1], tzid, settings)
        return (start, end), missing
    if not isinstance(value, datetime):
        return value, None
    if value.tzinfo is None:
        return value.replace(tzinfo=settings.calendar_tz), tzid
    is_utc = value.utcoffset() == timedelta(0) and (value.tzname() or "").upper() in _UTC_NAMES
    if settings.x_wr_timezone is not None and is_utc:
        return value.astimezone(settings.x_wr_timezone), None
    return value, None


def is_recurring(events: list[ParsedEvent]) -> bool:
    return any(
        name in parsed.event for parsed in events for name in ("RRULE", "RDATE", "RECURRENCE-ID")
    )


def expand(events: list[ParsedEvent], settings: Expansion) -> SeriesResult:
    """All instances of one UID, in order of start; raises what the library raises."""
    if len(events) == 1 and not is_recurring(events):
        # Most events in an export happen once: skip the library's series machinery.
        event = events[0].event
        start: date | datetime = event.get("DTSTART").dt
        single = Instance(event, events[0], start, _end(event, start), start, False)
        return SeriesResult(instances=[single])
    calendar = Calendar()
    for parsed in events:
        calendar.add_component(parsed.event)
    query = recurring_ical_events.of(calendar, skip_bad_series=False)
    recurring = is_recurring(events)
    moves = _this_and_future_moves(events)
    by_recurrence_id = _modifications(events)
    core = _core(events)
    result = SeriesResult()
    for series in query.series:
        occurrences = _occurrences(series, events, settings, recurring)
        for occurrence in occurrences:
            if len(result.instances) >= settings.max_instances:
                result.capped = True
                break
            component = occurrence.as_component(False)
            original = _original_start(component, occurrence.start, moves)
            rid = component.get("RECURRENCE-ID")
            source = by_recurrence_id.get(_key(rid.dt)) if rid is not None else None
            result.instances.append(
                Instance(
                    component=component,
                    source=source or core,
                    start=occurrence.start,
                    end=occurrence.end,
                    original_start=original,
                    recurring=recurring,
                )
            )
    return result


def _occurrences(
    series: Any, events: list[ParsedEvent], settings: Expansion, recurring: bool
) -> Iterator[Occurrence]:
    """The series' occurrences in order, not many more than ``max_instances``.

    A series whose size is known to be small is asked for in one call. Otherwise it is
    walked in steps sized by the density seen so far, so that a rule repeating every
    minute never builds millions of instances at once.
    """
    if not recurring:
        yield from sorted(series.between(_EARLIEST, _LATEST))
        return
    dates = _dates(events)
    earliest = max(min(dates, default=_EARLIEST), _EARLIEST) - timedelta(days=1)
    counted = _counted_size(events)
    if counted is not None and counted <= settings.max_instances:
        yield from sorted(series.between(earliest, _LATEST))
        return
    if _open_ended(events):
        lower, upper = max(settings.window_start, earliest), settings.window_end
    elif counted is None:  # every rule has an UNTIL, so nothing starts long after the last date
        lower, upper = earliest, min(max(dates) + _UNTIL_SLACK, _LATEST)
    else:
        lower, upper = earliest, _LATEST
    seen: set[Any] = set()
    step = timedelta(days=1)
    while lower < upper:
        stop = min(lower + step, upper)
        batch = sorted(series.between(lower, stop))
        for occurrence in batch:
            if occurrence.id not in seen:
                seen.add(occurrence.id)
                yield occurrence
        budget = settings.max_instances + 1 - len(seen)
        if budget <= 0:
            return
        # Each call walks the rule from its DTSTART, so calls are made few: the next step is
        # sized to hold the rest of the budget at the density just seen.
        step = step * 2 if not batch else step * min(budget / len(batch), _MAX_GROWTH)
        step = min(max(step, _MIN_STEP), _MAX_STEP)
        lower = stop


def _end(event: Event, start: date | datetime) -> date | datetime | None:
    """DTEND, or DTSTART + DURATION; None when neither can be used (the text then shows
    only the start)."""
    end = event.get("DTEND")
    if end is not None and type(end.dt) is type(start) and end.dt >= start:
        value: date | datetime = end.dt
        return value
    duration = event.get("DURATION")
    if duration is not None and isinstance(duration.dt, timedelta):
        moved: date | datetime = start + duration.dt
        return moved
    return None


def _rules(events: list[ParsedEvent]) -> Iterator[Any]:
    for parsed in events:
        rules = parsed.event.get("RRULE")
        yield from (rule for rule in (rules if isinstance(rules, list) else [rules]) if rule)


def _open_ended(events: list[ParsedEvent]) -> bool:
    return any("UNTIL" not in rule and "COUNT" not in rule for rule in _rules(events))


def _counted_size(events: list[ParsedEvent]) -> int | None:
    """An upper bound of the instances when every rule has a COUNT, else None."""
    total = 0
    for rule in _rules(events):
        if "COUNT" not in rule:
            return None
        counts = rule["COUNT"]
        total += sum(int(count) for count in (counts if isinstance(counts, list) else [counts]))
    for parsed in events:
        rdates = parsed.event.get("RDATE")
        for prop in rdates if isinstance(rdates, list) else [rdates]:
            total += len(prop.dts) if isinstance(prop, vDDDLists) else 0
    return total + len(events)


def _dates(events: list[ParsedEvent]) -> list[datetime]:
    """Every start, RECURRENCE-ID, RDATE and UNTIL of the series, as UTC datetimes."""
    values: list[Any] = []
    for parsed in events:
        event = parsed.event
        values.extend(
            prop.dt for prop in (event.get("DTSTART"), event.get("RECURRENCE-ID")) if prop
        )
        rdates = event.get("RDATE")
        for prop in rdates if isinstance(rdates, list) else [rdates]:
            if isinstance(prop, vDDDLists):
                values.extend(d.dt[0] if isinstance(d.dt, tuple) else d.dt for d in prop.dts)
    for rule in _rules(events):
        untils = rule.get("UNTIL") or []
        values.extend(untils if isinstance(untils, list) else [untils])
    return [_as_datetime(value) for value in values if isinstance(value, date)]


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _key(value: Any) -> str | None:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return instance_start(value) if isinstance(value, date) else None


def _modifications(events: list[ParsedEvent]) -> dict[str | None, ParsedEvent]:
    found: dict[str | None, ParsedEvent] = {}
    for parsed in events:
        rid = parsed.event.get("RECURRENCE-ID")
        if rid is not None:
            found.setdefault(_key(rid.dt), parsed)
    return found


def _core(events: list[ParsedEvent]) -> ParsedEvent:
    """The master VEVENT: without RECURRENCE-ID, highest SEQUENCE, as the library picks."""
    masters = [parsed for parsed in events if "RECURRENCE-ID" not in parsed.event]
    if not masters:
        return events[0]
    return max(masters, key=lambda parsed: _sequence(parsed.event))


def _sequence(event: Event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _this_and_future_moves(events: list[ParsedEvent]) -> dict[str | None, timedelta]:
    """RECURRENCE-ID -> how far a RANGE=THISANDFUTURE override moved every later instance."""
    moves: dict[str | None, timedelta] = {}
    for parsed in events:
        rid = parsed.event.get("RECURRENCE-ID")
        if rid is None or str(rid.params.get("RANGE", "")).upper() != "THISANDFUTURE":
            continue
        start: Any = parsed.event.get("DTSTART").dt
        original: Any = rid.dt
        if type(start) is type(original):
            moves[_key(original)] = start - original
    return moves


def _original_start(
    component: Event, start: date | datetime, moves: dict[str | None, timedelta]
) -> date | datetime:
    """The start the instance had before anyone moved it: what its id is made of.

    The library stamps each occurrence with a RECURRENCE-ID: the override's own, or the
    computed start. Instances shifted by a THISANDFUTURE override carry that override's
    RECURRENCE-ID, so their own original start is their start minus the shift.
    """
    rid = component.get("RECURRENCE-ID")
    if rid is None:
        return start
    move = moves.get(_key(rid.dt))
    if move is not None and str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE":
        shifted: date | datetime = start - move
        return shifted
    value: date | datetime = rid.dt
    return value
