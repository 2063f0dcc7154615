"""Writes a Google-Calendar-like .ics export, streaming one VEVENT at a time.

The calendar header (properties and VTIMEZONE) is built with icalendar and written first; each
event is serialised on its own, so a million events never sit in one Calendar object.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from icalendar import Calendar, Event, Timezone, vCalAddress, vText

from threadline.sample.cast import Person
from threadline.sample.model import Meeting

_STAMP = datetime(2026, 1, 1, tzinfo=UTC)
_END = b"END:VCALENDAR\r\n"


def _address(person: Person, organizer: Person | None = None) -> vCalAddress:
    address = vCalAddress(f"mailto:{person.email}")
    address.params["CN"] = vText(person.name)
    if organizer is not None:
        address.params["CUTYPE"] = vText("INDIVIDUAL")
        address.params["ROLE"] = vText("REQ-PARTICIPANT")
        address.params["PARTSTAT"] = vText("ACCEPTED" if person == organizer else "NEEDS-ACTION")
        address.params["RSVP"] = vText("TRUE")
    return address


def build_event(meeting: Meeting) -> Event:
    event = Event()
    event.add("dtstart", meeting.start)
    event.add("dtend", meeting.end)
    event.add("dtstamp", meeting.stamp or _STAMP)
    event.add("uid", meeting.uid)
    if meeting.recurrence_id is not None:
        event.add("recurrence-id", meeting.recurrence_id)
    if meeting.weekly_count is not None:
        # COUNT counts occurrences (EXDATEs included), not weeks.
        rule: dict[str, object] = {"freq": "weekly", "count": len(meeting.instance_starts())}
        if meeting.byday:
            rule["byday"] = meeting.byday.split(",")
        event.add("rrule", rule)
    for excluded in meeting.exdates:
        event.add("exdate", excluded)
    event.add("created", _STAMP)
    event.add("last-modified", _STAMP + timedelta(seconds=meeting.sequence))
    event.add("sequence", meeting.sequence)
    event.add("status", meeting.status)
    event.add("summary", meeting.summary)
    if meeting.description:
        event.add("description", meeting.description)
    if meeting.location:
        event.add("location", meeting.location)
    event.add("organizer", _address(meeting.organizer))
    for person in meeting.attendees:
        event.add("attendee", _address(person, meeting.organizer))
    all_day = isinstance(meeting.start, date) and not isinstance(meeting.start, datetime)
    event.add("transp", "TRANSPARENT" if all_day else "OPAQUE")
    return event


class IcsWriter:
    def __init__(self, path: Path, owner: Person, tzid: str, first: date, last: date) -> None:
        self.path = path
        self.file = path.open("wb")
        self.events = 0
        self.instances = 0
        calendar = Calendar()
        calendar.add("prodid", "-//Google Inc//Google Calendar 70.9054//EN")
        calendar.add("version", "2.0")
        calendar.add("calscale", "GREGORIAN")
        calendar.add("method", "PUBLISH")
        calendar.add("x-wr-calname", owner.email)
        calendar.add("x-wr-timezone", tzid)
        calendar.add_component(Timezone.from_tzid(tzid, first_date=first, last_date=last))
        header = calendar.to_ical()
        if not header.endswith(_END):
            raise RuntimeError("icalendar did not end the calendar with END:VCALENDAR")
        self.file.write(header[: -len(_END)])

    def write(self, meeting: Meeting) -> None:
        self.file.write(build_event(meeting).to_ical())
        self.events += 1
        if meeting.recurrence_id is None:
            self.instances += len(meeting.instance_starts()) - len(meeting.exdates)

    def close(self) -> None:
        self.file.write(_END)
        self.file.close()
