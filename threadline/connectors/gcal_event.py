"""One Calendar API event instance to the same ItemRecord the .ics importer makes.

The API's JSON is written into an icalendar VEVENT, property for property as Google's own
.ics export has it (UID = iCalUID, RECURRENCE-ID = originalStartTime, ORGANIZER and
ATTENDEE with CN, PARTSTAT and ROLE...), and handed to ``ics_record.build_item``, so the
text, title, people, times and links are normalized by the one code the importer uses.
The canonical id is ``event:<iCalUID>@<original start>``: a moved or renamed instance keeps
its id and becomes a new version.

What the export does not have stays out of the hashed fields: Google's ``htmlLink`` goes
to ``native["html_link"]`` (not ``permalink``), so syncing after an import, or importing
after a sync, does not flip a field back and forth.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from icalendar import Event, vCalAddress, vText

from threadline.connectors.ics_expand import Instance, ParsedEvent
from threadline.connectors.ics_record import CalendarFile, build_item, people_of
from threadline.connectors.ics_scan import Block
from threadline.ids import event_id, instance_start
from threadline.records import IdentityRecord, ItemRecord

_PARTSTAT = {
    "needsAction": "NEEDS-ACTION",
    "accepted": "ACCEPTED",
    "declined": "DECLINED",
    "tentative": "TENTATIVE",
}


@dataclass
class CalendarView:
    """The calendar the events belong to: its title (the item container) and zone."""

    name: str
    zone: tzinfo

    @property
    def file(self) -> CalendarFile:
        return CalendarFile(name=self.name, calendar_tz=self.zone)


def zone_of(name: str | None, fallback: tzinfo = UTC) -> tzinfo:
    if not name:
        return fallback
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback


def is_stub(event: dict[str, Any]) -> bool:
    """A cancelled event as Google sends deletions: ids and maybe the original start only."""
    return event.get("status") == "cancelled" and ("start" not in event or "iCalUID" not in event)


def build_event_item(event: dict[str, Any], calendar: CalendarView) -> ItemRecord:
    """The ItemRecord of one instance with its full data (cancelled ones become tombstones)."""
    component, start, end, original = to_vevent(event, calendar)
    uid = str(event["iCalUID"])
    block = Block("VEVENT", 1, 0, 0, 0, key=uid, has_uid=True)
    text = component.to_ical().decode("utf-8")
    instance = Instance(
        component=component,
        source=ParsedEvent(block, text, component),
        start=start,
        end=end,
        original_start=original,
        recurring=bool(event.get("recurringEventId")),
    )
    item = build_item(instance, calendar.file)
    item.native["gcal_id"] = str(event.get("id", ""))
    if event.get("htmlLink"):
        item.native["html_link"] = str(event["htmlLink"])
    raw = dict(item.raw) if isinstance(item.raw, dict) else {}
    raw.pop("ics", None)
    item.raw = {"api": event, **raw}
    return item


def tombstone(
    event: dict[str, Any], uid: str, calendar: CalendarView, canonical: str | None = None
) -> ItemRecord:
    """A deleted instance from a stub: by iCalUID and original start, or a looked-up id."""
    native = {"gcal_id": str(event.get("id", "")), "uid": uid}
    original = event.get("originalStartTime") or event.get("start")
    if canonical is None:
        moment = _moment(original, calendar)
        canonical = event_id(uid, moment)
        native["instance_start"] = instance_start(moment)
    recurring = bool(event.get("recurringEventId"))
    return ItemRecord(
        platform="calendar",
        kind="event",
        canonical_id=canonical,
        native=native,
        container_id=calendar.name,
        container_name=calendar.name,
        thread_id=f"event-series:{uid}" if recurring else None,
        deleted=True,
        raw={"api": event},
    )


def identities(item_event: Event, seen: dict[str, str | None]) -> list[IdentityRecord]:
    """Organizer and attendees as the .ics importer reports them, each person once."""
    found = []
    for ref in people_of(item_event):
        if ref.key in seen and (seen[ref.key] or not ref.display_name):
            continue
        seen[ref.key] = ref.display_name
        profile = {"email": ref.value}
        if ref.display_name:
            profile["real_name"] = ref.display_name
        found.append(IdentityRecord(identity=ref, platform="calendar", profile=profile))
    return found


def to_vevent(
    event: dict[str, Any], calendar: CalendarView
) -> tuple[Event, date | datetime, date | datetime | None, date | datetime]:
    """(VEVENT, start, end, original start) of one API event instance."""
    start = _moment(event["start"], calendar)
    end = _moment(event["end"], calendar) if event.get("end") else None
    original = start
    if event.get("recurringEventId") and event.get("originalStartTime"):
        original = _moment(event["originalStartTime"], calendar)
    component = Event()
    component.add("uid", str(event["iCalUID"]))
    component.add("dtstart", start)
    if end is not None:
        component.add("dtend", end)
    if event.get("recurringEventId"):
        component.add("recurrence-id", original)
    for key, name in (("created", "created"), ("updated", "last-modified")):
        if event.get(key):
            component.add(name, _instant(str(event[key])))
    component.add("sequence", int(event.get("sequence") or 0))
    component.add("status", str(event.get("status") or "confirmed").upper())
    for key in ("summary", "description", "location"):
        if event.get(key):
            component.add(key, str(event[key]))
    organizer = event.get("organizer") or {}
    if organizer.get("email"):
        component.add("organizer", _address(organizer))
    for person in event.get("attendees") or []:
        if person.get("email"):
            component.add("attendee", _address(person, attendee=True))
    return component, start, end, original


def _address(person: dict[str, Any], attendee: bool = False) -> vCalAddress:
    address = vCalAddress(f"mailto:{person['email']}")
    if person.get("displayName"):
        address.params["CN"] = vText(str(person["displayName"]))
    if attendee:
        address.params["CUTYPE"] = vText("RESOURCE" if person.get("resource") else "INDIVIDUAL")
        role = "OPT-PARTICIPANT" if person.get("optional") else "REQ-PARTICIPANT"
        address.params["ROLE"] = vText(role)
        status = _PARTSTAT.get(str(person.get("responseStatus")), "NEEDS-ACTION")
        address.params["PARTSTAT"] = vText(status)
    return address


def _moment(value: dict[str, Any] | None, calendar: CalendarView) -> date | datetime:
    """An API start/end: a date (all-day) or the instant, shown in the event's zone."""
    if not value:
        raise ValueError("the event has no start time")
    if value.get("date"):
        return date.fromisoformat(str(value["date"]))
    moment = _instant(str(value["dateTime"]))
    # The offset fixes the instant; timeZone (else the calendar's) is how it is shown,
    # as the .ics export writes DTSTART;TZID=<zone>.
    return moment.astimezone(zone_of(value.get("timeZone"), calendar.zone))


def _instant(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
