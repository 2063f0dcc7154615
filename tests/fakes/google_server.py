"""A local fake of the Gmail and Google Calendar APIs, for the real googleapiclient.

It serves, on 127.0.0.1, the paths the discovery documents name (``/gmail/v1/...``,
``/calendar/v3/...``) plus an OAuth ``/token`` endpoint, from state built out of real files:
an mbox (a Takeout export: X-GM-THRID and X-Gmail-Labels are taken out of each message, as
Gmail's ``format=raw`` does not have them), Gmail API ``format=full`` payloads, and an .ics
calendar expanded into API event instances (``singleEvents=True`` shape). Tests change the
state (add or delete mail, move or cancel an instance) and inject faults by path.

Only the behaviour the connectors rely on is modelled, after Google's documentation:
page tokens, ``newer_than:`` queries, history ids (404 once expired), sync tokens (410 once
expired; deleted events always included), 401 on a bad access token and ``invalid_grant``
on a revoked refresh token.
"""

from __future__ import annotations

import base64
import csv
import json
import quopri
import re
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import recurring_ical_events
from fakes.local_http import LocalHTTPServer
from icalendar import Calendar

from threadline.connectors.mbox import split_mbox

# Takeout label names back to Gmail ids; written out here, independently of the connector.
TAKEOUT_TO_ID = {
    "inbox": "INBOX",
    "sent": "SENT",
    "important": "IMPORTANT",
    "starred": "STARRED",
    "unread": "UNREAD",
    "drafts": "DRAFT",
    "spam": "SPAM",
    "trash": "TRASH",
    "chat": "CHAT",
    "category personal": "CATEGORY_PERSONAL",
    "category social": "CATEGORY_SOCIAL",
    "category promotions": "CATEGORY_PROMOTIONS",
    "category updates": "CATEGORY_UPDATES",
    "category forums": "CATEGORY_FORUMS",
}
_NEWER = re.compile(r"newer_than:(\d+)([dmy])")


@dataclass
class Fault:
    path: str
    kind: str  # "429", "500", "timeout", "truncated"
    times: int = 1
    retry_after: str | None = None


@dataclass
class Mail:
    id: str
    thread_id: str
    raw: bytes
    labels: list[str]
    internal_ms: int
    history_id: int
    full: dict[str, Any] | None = None


@dataclass
class GoogleState:
    account: str = "me@example.com"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    history_id: int = 1000
    min_history_id: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    mail: dict[str, Mail] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    cal_name: str = "me@example.com"
    cal_zone: str = "UTC"
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    masters: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    seq: int = 1
    min_sync_seq: int = 0
    access_tokens: set[str] = field(default_factory=lambda: {"access-0"})
    refresh_tokens: set[str] = field(default_factory=lambda: {"refresh-0"})
    faults: list[Fault] = field(default_factory=list)
    repeat_tokens: bool = False
    timeout_delay: float = 0.6
    requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # --- Gmail ----------------------------------------------------------------------------

    def label_id(self, name: str) -> str | None:
        if name.lower() == "opened":
            return None
        known = TAKEOUT_TO_ID.get(name.lower())
        if known:
            return known
        for label_id, label in self.labels.items():
            if label == name:
                return label_id
        label_id = f"Label_{len(self.labels) + 1}"
        self.labels[label_id] = name
        return label_id

    def add_mail(self, mail: Mail) -> None:
        self.history_id += 1
        mail.history_id = self.history_id
        self.mail[mail.id] = mail
        ref = {"id": mail.id, "threadId": mail.thread_id, "labelIds": mail.labels}
        self._history({"messages": [ref], "messagesAdded": [{"message": ref}]})

    def delete_mail(self, gmail_id: str) -> None:
        mail = self.mail.pop(gmail_id)
        ref = {"id": mail.id, "threadId": mail.thread_id}
        self._history({"messages": [ref], "messagesDeleted": [{"message": ref}]})

    def relabel(self, gmail_id: str, add: list[str], remove: list[str] | None = None) -> None:
        remove = remove or []
        mail = self.mail[gmail_id]
        mail.labels = [x for x in mail.labels if x not in remove] + [
            x for x in add if x not in mail.labels
        ]
        ref = {"id": mail.id, "threadId": mail.thread_id, "labelIds": mail.labels}
        if add:
            self._history({"messages": [ref], "labelsAdded": [{"message": ref, "labelIds": add}]})
        if remove:
            self._history(
                {"messages": [ref], "labelsRemoved": [{"message": ref, "labelIds": list(remove)}]}
            )

    def _history(self, record: dict[str, Any]) -> None:
        self.history_id += 1
        self.history.append({"id": str(self.history_id), **record})

    def expire_history(self) -> None:
        self.min_history_id = self.history_id

    # --- Calendar -------------------------------------------------------------------------

    def put_event(self, event: dict[str, Any]) -> None:
        self.seq += 1
        self.events[event["id"]] = event
        self.changed[event["id"]] = self.seq

    def instance(self, uid: str, original_utc: str) -> dict[str, Any]:
        for event in self.events.values():
            if event.get("iCalUID") == uid and _original_key(event) == original_utc:
                return event
        raise KeyError(f"{uid}@{original_utc}")

    def move_instance(
        self, uid: str, original_utc: str, hours: float, summary: str | None = None
    ) -> None:
        event = dict(self.instance(uid, original_utc))
        zone = ZoneInfo(event["start"].get("timeZone") or self.cal_zone)
        for key in ("start", "end"):
            moved = datetime.fromisoformat(event[key]["dateTime"]) + timedelta(hours=hours)
            event[key] = {"dateTime": moved.astimezone(zone).isoformat(), "timeZone": zone.key}
        if summary:
            event["summary"] = summary
        event["sequence"] = int(event.get("sequence", 0)) + 1
        event["updated"] = _stamp(self.now)
        self.put_event(event)

    def cancel_instance(self, uid: str, original_utc: str) -> None:
        event = self.instance(uid, original_utc)
        self.put_event(_cancelled(event))

    def delete_event(self, event_id: str) -> None:
        """A deleted one-off event: Google sends only its id and status."""
        self.put_event({"kind": "calendar#event", "id": event_id, "status": "cancelled"})

    def expire_sync_tokens(self) -> None:
        self.min_sync_seq = self.seq + 1  # every token handed out so far

    def fault(self, path: str, kind: str, times: int = 1, retry_after: str | None = None) -> None:
        self.faults.append(Fault(path, kind, times, retry_after))


# --- building state from files -------------------------------------------------------------


def load_mbox(state: GoogleState, path: Path) -> None:
    with path.open("rb") as handle:
        for chunk in split_mbox(handle):
            envelope = (chunk.envelope or b"").decode()
            number = int(envelope.split()[1].split("@")[0])
            head, _, body = chunk.data.partition(b"\n\n")
            kept, thread, labels = [], "", []
            for line in head.split(b"\n"):
                text = line.decode("utf-8", "replace")
                if text.lower().startswith("x-gm-thrid:"):
                    thread = format(int(text.split(":", 1)[1]), "x")
                elif text.lower().startswith("x-gmail-labels:"):
                    labels = next(csv.reader([text.split(":", 1)[1].strip()]))
                else:
                    kept.append(line)
            raw = (b"\n".join(kept) + b"\n\n" + body).replace(b"\n", b"\r\n")  # Gmail: CRLF
            ids = [i for i in (state.label_id(n) for n in labels) if i]
            moment = _header_date(head) or state.now
            state.history_id += 1
            state.mail[format(number, "x")] = Mail(
                format(number, "x"),
                thread or format(number, "x"),
                raw,
                ids,
                int(moment.timestamp() * 1000),
                state.history_id,
            )


def load_full_payload(state: GoogleState, payload: dict[str, Any]) -> None:
    """A real ``format=full`` response; ``format=raw`` is rebuilt from its parts."""
    for label in payload.get("labelIds", []):
        if label.startswith("Label_"):
            state.labels.setdefault(label, f"Corpus {label}")
    raw = full_to_mime(payload["payload"]).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    state.history_id += 1
    state.mail[payload["id"]] = Mail(
        payload["id"],
        payload["threadId"],
        raw,
        list(payload.get("labelIds", [])),
        int(payload["internalDate"]),
        state.history_id,
        full=payload,
    )


def full_to_mime(part: dict[str, Any]) -> bytes:
    """Raw MIME from a Gmail payload part; attachments fetched by id are zero-filled."""
    headers = [(h["name"], h["value"]) for h in part.get("headers", [])]
    if part["mimeType"].startswith("multipart/"):
        boundary = f"fake-{part.get('partId') or 'root'}"
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
        headers.append(("Content-Type", f'{part["mimeType"]}; boundary="{boundary}"'))
        body = (
            b"".join(
                f"--{boundary}\r\n".encode() + full_to_mime(child) + b"\r\n"
                for child in part["parts"]
            )
            + f"--{boundary}--\r\n".encode()
        )
    else:
        data = part["body"].get("data")
        payload = (
            base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
            if data
            else bytes(part["body"].get("size", 0))
        )
        encoding = {n.lower(): v for n, v in headers}.get("content-transfer-encoding", "").lower()
        if encoding == "base64" or not data:
            headers = [(n, v) for n, v in headers if n.lower() != "content-transfer-encoding"]
            headers.append(("Content-Transfer-Encoding", "base64"))
            body = base64.encodebytes(payload)
        elif encoding == "quoted-printable":
            body = quopri.encodestring(payload)
        else:
            body = payload
        if "content-type" not in {n.lower() for n, _ in headers}:
            headers.append(("Content-Type", part["mimeType"]))
    return "".join(f"{n}: {v}\r\n" for n, v in headers).encode() + b"\r\n" + body


def load_ics(state: GoogleState, path: Path) -> None:
    calendar = Calendar.from_ical(path.read_bytes())
    state.cal_name = str(calendar.get("X-WR-CALNAME") or state.account)
    state.cal_zone = str(calendar.get("X-WR-TIMEZONE") or "UTC")
    query = recurring_ical_events.of(calendar)
    occurrences = query.between(datetime(1900, 1, 1, tzinfo=UTC), datetime(2300, 1, 1, tzinfo=UTC))
    series: dict[str, Any] = {}
    for vevent in calendar.walk("VEVENT"):
        if "RRULE" in vevent and "RECURRENCE-ID" not in vevent:
            series[str(vevent["UID"])] = vevent
    for component in occurrences:
        uid = str(component["UID"])
        state.put_event(_event_json(state, component, recurring=uid in series))
    for uid, master in series.items():
        base = _base_id(uid)
        state.masters[base] = {
            "kind": "calendar#event",
            "id": base,
            "iCalUID": uid,
            "status": "confirmed",
            "recurrence": [f"RRULE:{master['RRULE'].to_ical().decode()}"],
        }
        exdates = master.get("EXDATE")
        for prop in exdates if isinstance(exdates, list) else [exdates] if exdates else []:
            for excluded in prop.dts:
                original = _when(excluded.dt, state.cal_zone)
                state.put_event(
                    {
                        "kind": "calendar#event",
                        "id": f"{base}_{_id_stamp(excluded.dt)}",
                        "status": "cancelled",
                        "recurringEventId": base,
                        "originalStartTime": original,
                    }
                )


def _event_json(state: GoogleState, c: Any, recurring: bool) -> dict[str, Any]:
    uid = str(c["UID"])
    start, end = c["DTSTART"].dt, c["DTEND"].dt if "DTEND" in c else None
    event: dict[str, Any] = {
        "kind": "calendar#event",
        "etag": f'"{state.seq}"',
        "id": _base_id(uid),
        "status": str(c.get("STATUS", "CONFIRMED")).lower(),
        "htmlLink": f"https://www.google.com/calendar/event?eid={_base_id(uid)}",
        "iCalUID": uid,
        "sequence": int(c.get("SEQUENCE", 0)),
        "eventType": "default",
        "start": _when(start, state.cal_zone),
        "end": _when(end or start, state.cal_zone),
    }
    for prop, key in (("CREATED", "created"), ("LAST-MODIFIED", "updated")):
        if prop in c:
            event[key] = _stamp(c[prop].dt)
    for prop, key in (
        ("SUMMARY", "summary"),
        ("DESCRIPTION", "description"),
        ("LOCATION", "location"),
    ):
        if prop in c:
            event[key] = str(c[prop])
    organizer = c.get("ORGANIZER")
    if organizer is not None:
        event["organizer"] = _person(organizer)
        event["creator"] = {"email": event["organizer"]["email"]}
    attendees = c.get("ATTENDEE")
    people = []
    for entry in attendees if isinstance(attendees, list) else [attendees] if attendees else []:
        person = _person(entry)
        status = str(entry.params.get("PARTSTAT", "NEEDS-ACTION")).lower()
        person["responseStatus"] = {"needs-action": "needsAction"}.get(status, status)
        if str(entry.params.get("ROLE", "")).upper() == "OPT-PARTICIPANT":
            person["optional"] = True
        if organizer is not None and person["email"] == event["organizer"]["email"]:
            person["organizer"] = True
        people.append(person)
    if people:
        event["attendees"] = people
    if recurring:
        original = c["RECURRENCE-ID"].dt if "RECURRENCE-ID" in c else start
        event["recurringEventId"] = _base_id(uid)
        event["id"] = f"{_base_id(uid)}_{_id_stamp(original)}"
        event["originalStartTime"] = _when(original, state.cal_zone)
    return event


def _person(value: Any) -> dict[str, Any]:
    person = {"email": str(value)[7:]}
    name = value.params.get("CN")
    if name:
        person["displayName"] = str(name)
    return person


def _when(value: date | datetime, zone: str) -> dict[str, str]:
    if not isinstance(value, datetime):
        return {"date": value.isoformat()}
    tz = getattr(value.tzinfo, "key", None)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(zone))
    # As Google answers: the instant with the event zone's offset, and that zone's name.
    shown = tz or zone
    return {"dateTime": value.astimezone(ZoneInfo(shown)).isoformat(), "timeZone": shown}


def _cancelled(event: dict[str, Any]) -> dict[str, Any]:
    """What Google sends for a cancelled instance: ids and the original start only."""
    kept = {
        k: event[k] for k in ("kind", "id", "recurringEventId", "originalStartTime") if k in event
    }
    return {**kept, "status": "cancelled"}


def _original_key(event: dict[str, Any]) -> str:
    moment = event.get("originalStartTime") or event.get("start") or {}
    if "date" in moment:
        return str(moment["date"])
    return datetime.fromisoformat(moment["dateTime"]).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _base_id(uid: str) -> str:
    return re.sub(r"[^a-v0-9]", "", uid.split("@")[0].lower()) or "x"


def _id_stamp(value: date | datetime) -> str:
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return value.strftime("%Y%m%d")


def _stamp(value: datetime) -> str:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _header_date(head: bytes) -> datetime | None:
    found = re.search(rb"^Date: (.+)$", head, re.MULTILINE | re.IGNORECASE)
    try:
        return parsedate_to_datetime(found.group(1).decode().strip()) if found else None
    except (TypeError, ValueError):
        return None


# --- the HTTP server -------------------------------------------------------------------------


class GoogleFake(LocalHTTPServer):
    """Start with ``with GoogleFake(state) as fake:``; ``fake.url`` is the api_url."""

    def __init__(self, state: GoogleState) -> None:
        self.state = state
        super().__init__(_Handler, state)

    def secrets(self) -> dict[str, str]:
        return {
            "token": "access-0",
            "refresh_token": "refresh-0",
            "client_id": "cid",
            "client_secret": "csecret",
            "token_uri": f"{self.url}/token",
        }


class _Handler(BaseHTTPRequestHandler):
    state: GoogleState
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        if urlsplit(self.path).path != "/token":
            return self._send(404, {"error": {"code": 404, "message": "Not Found"}})
        refresh = form.get("refresh_token", [""])[0]
        with self.state.lock:
            if refresh not in self.state.refresh_tokens:
                return self._send(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    },
                )
            token = f"access-{len(self.state.access_tokens)}"
            self.state.access_tokens.add(token)
        self._send(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        state = self.state
        with state.lock:
            state.requests.append(parts.path)
            fault = next((f for f in state.faults if f.path in parts.path and f.times > 0), None)
            if fault:
                fault.times -= 1
        if fault and fault.kind == "timeout":
            time.sleep(state.timeout_delay)
        elif fault and fault.kind in ("429", "500"):
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            reason = "rateLimitExceeded" if fault.kind == "429" else "backendError"
            return self._send(int(fault.kind), _error(int(fault.kind), reason), headers)
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        if bearer not in state.access_tokens:
            return self._send(401, _error(401, "authError"))
        with state.lock:
            status, body = _route(state, parts.path, query)
        if fault and fault.kind == "truncated" and status == 200:
            data = json.dumps(body).encode()
            return self._send_bytes(200, data[: len(data) // 2])
        self._send(status, body)

    def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        self._send_bytes(status, json.dumps(body).encode(), headers)

    def _send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            pass


def _error(code: int, reason: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": reason, "errors": [{"reason": reason}]}}


def _route(state: GoogleState, path: str, q: dict[str, str]) -> tuple[int, Any]:
    gmail = "/gmail/v1/users/me/"
    if path == gmail + "profile":
        return 200, {
            "emailAddress": state.account,
            "messagesTotal": len(state.mail),
            "threadsTotal": len({m.thread_id for m in state.mail.values()}),
            "historyId": str(state.history_id),
        }
    if path == gmail + "labels":
        system = [{"id": i, "name": i, "type": "system"} for i in TAKEOUT_TO_ID.values()]
        users = [{"id": i, "name": n, "type": "user"} for i, n in state.labels.items()]
        return 200, {"labels": system + users}
    if path == gmail + "messages":
        return 200, _list_messages(state, q)
    if path.startswith(gmail + "messages/"):
        return _get_message(state, path.rsplit("/", 1)[1], q.get("format", "full"))
    if path == gmail + "history":
        return _history(state, q)
    if path == "/calendar/v3/users/me/calendarList":
        return 200, _calendar_list(state)
    found = re.fullmatch(r"/calendar/v3/calendars/([^/]+)/events(?:/([^/]+))?", path)
    if found and found.group(2):
        event = state.masters.get(found.group(2)) or state.events.get(found.group(2))
        return (200, event) if event else (404, _error(404, "notFound"))
    if found:
        return _list_events(state, q)
    return 404, _error(404, "notFound")


def _page(
    items: list[Any], q: dict[str, str], state: GoogleState, size: int
) -> tuple[list[Any], str | None]:
    size = min(int(q.get("maxResults", size)), size)
    if state.repeat_tokens:  # a broken server: the same first page and token, forever
        return items[:size], "p-stuck" if len(items) > size else None
    start = int(q.get("pageToken", "p0")[1:] or 0)
    chunk = items[start * size : (start + 1) * size]
    more = (start + 1) * size < len(items)
    return chunk, f"p{start + 1}" if more else None


def _list_messages(state: GoogleState, q: dict[str, str]) -> dict[str, Any]:
    mails = sorted(state.mail.values(), key=lambda m: -m.internal_ms)
    found = _NEWER.search(q.get("q", ""))
    if found:
        days = int(found.group(1)) * {"d": 1, "m": 31, "y": 366}[found.group(2)]
        floor = (state.now - timedelta(days=days)).timestamp() * 1000
        mails = [m for m in mails if m.internal_ms >= floor]
    if q.get("includeSpamTrash", "false") != "true":
        mails = [m for m in mails if not {"SPAM", "TRASH"} & set(m.labels)]
    chunk, token = _page([{"id": m.id, "threadId": m.thread_id} for m in mails], q, state, 500)
    body: dict[str, Any] = {"messages": chunk, "resultSizeEstimate": len(mails)}
    if token:
        body["nextPageToken"] = token
    return body


def _get_message(state: GoogleState, gmail_id: str, fmt: str) -> tuple[int, Any]:
    mail = state.mail.get(gmail_id)
    if mail is None:
        return 404, _error(404, "notFound")
    body: dict[str, Any] = {
        "id": mail.id,
        "threadId": mail.thread_id,
        "labelIds": mail.labels,
        "historyId": str(mail.history_id),
        "internalDate": str(mail.internal_ms),
        "sizeEstimate": len(mail.raw),
        "snippet": "",
    }
    if fmt == "raw":
        body["raw"] = base64.urlsafe_b64encode(mail.raw).decode().rstrip("=")
    elif fmt == "full" and mail.full is not None:
        body = {**mail.full, "labelIds": mail.labels}
    return 200, body


def _history(state: GoogleState, q: dict[str, str]) -> tuple[int, Any]:
    start = int(q["startHistoryId"])
    if start < state.min_history_id:
        return 404, _error(404, "notFound")
    records = [r for r in state.history if int(r["id"]) > start]
    chunk, token = _page(records, q, state, 500)
    body: dict[str, Any] = {"history": chunk, "historyId": str(state.history_id)}
    if token:
        body["nextPageToken"] = token
    return 200, body


def _calendar_list(state: GoogleState) -> dict[str, Any]:
    corpus = Path(__file__).parents[1] / "fixtures" / "gcal-api" / "gcalcli_calendarList.list.json"
    others = json.loads(corpus.read_text())["items"] if corpus.exists() else []
    primary = {
        "kind": "calendar#calendarListEntry",
        "id": state.account,
        "summary": state.cal_name,
        "timeZone": state.cal_zone,
        "accessRole": "owner",
        "primary": True,
    }
    return {"kind": "calendar#calendarList", "items": [primary, *others]}


def _list_events(state: GoogleState, q: dict[str, str]) -> tuple[int, Any]:
    if q.get("singleEvents") != "true":
        return 400, _error(400, "singleEvents=true expected by this fake")
    events = list(state.events.values())
    if "syncToken" in q:
        if "timeMin" in q or "timeMax" in q:
            return 400, _error(400, "timeMin cannot be used with syncToken")
        since = int(q["syncToken"].removeprefix("s"))
        if since < state.min_sync_seq:
            return 410, _error(410, "fullSyncRequired")
        events = [e for e in events if state.changed[e["id"]] > since]
    else:
        low = q.get("timeMin", "0001")
        high = q.get("timeMax", "9999")
        events = [e for e in events if _in_window(e, low, high)]
        if q.get("showDeleted") != "true":
            events = [e for e in events if e.get("status") != "cancelled"]
    chunk, token = _page(events, q, state, 2500)
    body: dict[str, Any] = {
        "kind": "calendar#events",
        "summary": state.cal_name,
        "timeZone": state.cal_zone,
        "items": chunk,
    }
    if token:
        body["nextPageToken"] = token
    else:
        body["nextSyncToken"] = f"s{state.seq}"
    return 200, body


def _in_window(event: dict[str, Any], low: str, high: str) -> bool:
    key = _original_key(event)
    return _norm(low) <= _norm(key) < _norm(high)


def _norm(value: str) -> str:
    if "T" not in value:
        return value
    return (
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        .astimezone(UTC)
        .strftime("%Y-%m-%dT%H:%M:%SZ")
    )
