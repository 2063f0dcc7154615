"""One event instance to an ItemRecord: readable text, people, links and the raw VEVENT."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from icalendar import Event

from threadline.connectors.ics_expand import Instance
from threadline.connectors.text import extract_urls, html_to_text
from threadline.ids import event_id, find_notion_id, instance_start
from threadline.records import IdentityRef, ItemRecord, LinkRef

_HTML_HINT = ("<br", "<p>", "<p ", "<a ", "<div", "<span", "<b>", "<i>", "<ul", "<li")
_MAX_ERRORS_NOTED = 3


@dataclass(frozen=True)
class CalendarFile:
    """What every item of one .ics file shares."""

    name: str
    """X-WR-CALNAME (or NAME), else the file stem: the item's container."""
    calendar_tz: tzinfo


@dataclass(frozen=True)
class Person:
    ref: IdentityRef
    partstat: str | None
    role: str | None


def build_item(instance: Instance, calendar: CalendarFile) -> ItemRecord:
    component = instance.component
    source = instance.source.event
    uid = str(component.get("UID", ""))
    organizer = _person(component.get("ORGANIZER"))
    attendees = _people(component.get("ATTENDEE"))
    description = _text(component.get("DESCRIPTION"))
    url = _text(component.get("URL")) or None
    native = {
        "uid": uid,
        "instance_start": instance_start(instance.original_start),
        "sequence": str(_int(component.get("SEQUENCE", 0))),
    }
    rid = source.get("RECURRENCE-ID")
    if rid is not None:
        native["recurrence_id"] = _stamp(rid.dt)
        if str(rid.params.get("RANGE", "")).upper() == "THISANDFUTURE":
            native["range"] = "THISANDFUTURE"
    if not instance.source.block.has_uid:
        native["synthetic_uid"] = "1"
    if instance.source.tz_fallback:
        native["tz_fallback"] = instance.source.tz_fallback
    if source.errors:
        native["parse_errors"] = "; ".join(str(e) for _, e in source.errors[:_MAX_ERRORS_NOTED])
    return ItemRecord(
        platform="calendar",
        kind="event",
        canonical_id=event_id(uid, instance.original_start),
        native=native,
        container_id=calendar.name,
        container_name=calendar.name,
        thread_id=f"event-series:{uid}" if instance.recurring else None,
        author=organizer.ref if organizer else None,
        recipients=[person.ref for person in attendees],
        created_at=_moment(component.get("CREATED") or component.get("DTSTAMP"), calendar),
        updated_at=_moment(component.get("LAST-MODIFIED"), calendar),
        occurred_at=_moment_of(instance.start, calendar),
        title=_text(component.get("SUMMARY")) or None,
        text=_body(instance, component, organizer, attendees, description),
        permalink=url,
        raw={
            "ics": instance.source.text,
            "instance_start": instance_start(instance.start),
            "attendees": [_attendance(person) for person in attendees],
        },
        deleted=str(component.get("STATUS", "")).upper() == "CANCELLED",
        links=_links(description, url),
        labels=_categories(component.get("CATEGORIES")),
    )


def people_of(component: Event) -> list[IdentityRef]:
    """Organizer and attendees with an email address, for IdentityRecords."""
    found = [_person(component.get("ORGANIZER")), *_people(component.get("ATTENDEE"))]
    return [person.ref for person in found if person is not None]


def _person(value: Any) -> Person | None:
    if value is None:
        return None
    address = str(value).strip()
    if address[:7].lower() != "mailto:" or "@" not in address:
        return None
    params = getattr(value, "params", {})
    name = str(params.get("CN", "")).strip() or None
    return Person(
        IdentityRef(kind="email", value=address[7:].strip(), display_name=name),
        _param(params, "PARTSTAT"),
        _param(params, "ROLE"),
    )


def _people(value: Any) -> list[Person]:
    found: dict[str, Person] = {}
    for entry in value if isinstance(value, list) else [value]:
        person = _person(entry)
        if person is not None:
            found.setdefault(person.ref.key, person)
    return list(found.values())


def _param(params: Any, name: str) -> str | None:
    value = params.get(name)
    return str(value).upper() if value else None


def _attendance(person: Person) -> dict[str, str | None]:
    return {
        "email": person.ref.value,
        "name": person.ref.display_name,
        "partstat": person.partstat,
        "role": person.role,
    }


def _body(
    instance: Instance,
    component: Event,
    organizer: Person | None,
    attendees: list[Person],
    description: str,
) -> str:
    lines = [f"When: {_when(instance.start, instance.end)}"]
    location = _text(component.get("LOCATION"))
    if location:
        lines.append(f"Where: {location}")
    status = str(component.get("STATUS", "")).strip().lower()
    if status and status != "confirmed":
        lines.append(f"Status: {status}")
    if organizer:
        lines.append(f"Organizer: {_label(organizer.ref)}")
    if attendees:
        lines.append("Attendees: " + ", ".join(_label(person.ref) for person in attendees))
    if description:
        plain = html_to_text(description) if _looks_like_html(description) else description
        lines.extend(["", plain.strip()])
    return "\n".join(lines).strip()


def _label(ref: IdentityRef) -> str:
    return f"{ref.display_name} <{ref.value}>" if ref.display_name else ref.value


def _when(start: date | datetime, end: date | datetime | None) -> str:
    if not isinstance(start, datetime):
        # DTEND of an all-day event is the day after the last day.
        last = start
        if type(end) is date and end > start + timedelta(days=1):
            last = end - timedelta(days=1)
        span = start.isoformat() if last == start else f"{start.isoformat()} – {last.isoformat()}"
        return f"{span} (all day)"
    zone = getattr(start.tzinfo, "key", None) or start.tzname() or "UTC"
    text = start.strftime("%Y-%m-%d %H:%M")
    if isinstance(end, datetime) and end > start:
        local_end = end.astimezone(start.tzinfo)
        same_day = local_end.date() == start.date()
        text += (
            ("–" + local_end.strftime("%H:%M"))
            if same_day
            else (" – " + local_end.strftime("%Y-%m-%d %H:%M"))
        )
    return f"{text} ({zone})"


def _looks_like_html(text: str) -> bool:
    lowered = text.lower()
    return any(hint in lowered for hint in _HTML_HINT)


def _links(description: str, url: str | None) -> list[LinkRef]:
    found: dict[str, None] = {}
    for address in [*([url] if url else []), *extract_urls(description)]:
        found.setdefault(_link_target(address), None)
    return [LinkRef(kind="reference", target=target) for target in found]


def _link_target(url: str) -> str:
    host = (urlsplit(url).hostname or "").lower()
    if host.endswith(("notion.so", "notion.site")):
        page = find_notion_id(urlsplit(url).path) or find_notion_id(url)
        if page:
            return f"notion:{page}"
    return url


def _categories(value: Any) -> list[str]:
    labels: dict[str, None] = {}
    for entry in value if isinstance(value, list) else [value]:
        for category in getattr(entry, "cats", []):
            text = str(category).strip()
            if text:
                labels.setdefault(text, None)
    return list(labels)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(_text(entry) for entry in value if entry is not None).strip()
    return str(value).strip()


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _stamp(value: Any) -> str:
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return instance_start(value) if isinstance(value, date) else str(value)


def _moment(prop: Any, calendar: CalendarFile) -> datetime | None:
    value = getattr(prop, "dt", None)
    return _moment_of(value, calendar) if isinstance(value, date) else None


def _moment_of(value: date | datetime, calendar: CalendarFile) -> datetime:
    """UTC; an all-day date counts from midnight in the calendar's zone."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=calendar.calendar_tz)
        return aware.astimezone(UTC)
    return datetime.combine(value, time(0), tzinfo=calendar.calendar_tz).astimezone(UTC)
