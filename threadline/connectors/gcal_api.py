"""Live Google Calendar sync through the Calendar API (google-api-python-client).

Initial sync: ``events.list`` on the primary calendar (or ``options["calendar_id"]``) with
``singleEvents=True`` (recurring series come expanded into instances, each with its
``recurringEventId`` and ``originalStartTime``), ``showDeleted=True`` and a time window
(by default two years back and one ahead, as the .ics importer's), read page by page; the
last page's ``nextSyncToken`` is the cursor. Later passes send only that ``syncToken``
(Google refuses it together with timeMin/timeMax) and get every change, deletions
included. A 410 Gone means the token expired: the window is read again in full, which is
safe because saving is idempotent.

Each instance becomes the record the .ics importer makes for it (``gcal_event``).
Cancelled instances arrive as stubs without iCalUID; their series' iCalUID comes from
an instance already seen or from ``events.get`` on the series, and a cancelled one-off
event (only its id is sent) is found through ``options["lookup"]("gcal_id", id)`` when the
engine provides it; otherwise it is counted in the page note and left as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from threadline.connectors.gcal_event import (
    CalendarView,
    build_event_item,
    identities,
    is_stub,
    to_vevent,
    tombstone,
    zone_of,
)
from threadline.connectors.google_client import NotFound, PageGuard, build_service, call
from threadline.connectors.sync_base import (
    ConnectionSettings,
    Cursor,
    Page,
    PermanentError,
    RequestRunner,
)
from threadline.records import QuarantineRecord, Record, SourceInfo

Lookup = Callable[[str, str], str | None]


class CalendarConnector:
    platform = "calendar"
    name = "gcal"

    def __init__(self, settings: ConnectionSettings, runner: RequestRunner) -> None:
        self.settings = settings
        self.runner = runner
        options = settings.options
        self.calendar_id: str | None = options.get("calendar_id") or None
        self.back = timedelta(days=int(options.get("window_back_days", 730)))
        self.ahead = timedelta(days=int(options.get("window_ahead_days", 365)))
        self.page_size = int(options.get("page_size", 2500))
        now = options.get("now")
        self.now = datetime.fromisoformat(now) if isinstance(now, str) else now
        lookup = options.get("lookup")
        self.lookup: Lookup | None = lookup if callable(lookup) else None
        self.view = CalendarView(name=str(options.get("calendar_name") or ""), zone=UTC)
        self._service_obj: Any = None
        self._uids: dict[str, str] = {}
        self._people: dict[str, str | None] = {}

    # --- protocol ---------------------------------------------------------------------

    def discover(self) -> SourceInfo:
        entry = self._calendar_entry()
        return SourceInfo(
            platform="calendar",
            kind="gcal",
            account=str(entry["id"]),
            label=str(entry.get("summary") or entry["id"]),
        )

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        if cursor and cursor.get("calendar_id"):
            self.calendar_id = str(cursor["calendar_id"])
        if not self.calendar_id or not self.view.name:
            self._calendar_entry()
        if not cursor or cursor.get("phase") == "full" or not cursor.get("sync_token"):
            yield from self._read(cursor or {}, None, "")
            return
        try:
            yield from self._read(cursor, str(cursor["sync_token"]), "")
        except NotFound as error:
            if error.status != 410:
                raise
            reason = (
                "the sync token has expired (HTTP 410 Gone): full resync of the window; items"
                " are saved idempotently, so nothing is lost or duplicated"
            )
            yield from self._read({}, None, reason)

    # --- listing ----------------------------------------------------------------------

    def _read(self, cursor: Cursor, sync_token: str | None, reason: str) -> Iterator[Page]:
        calendar_id = str(self.calendar_id)
        what = f"Calendar events.list of {calendar_id}"
        params: dict[str, Any] = {
            "calendarId": calendar_id,
            "singleEvents": True,
            "showDeleted": True,
            "maxResults": self.page_size,
        }
        if sync_token:
            params["syncToken"] = sync_token
            state: Cursor = {"phase": "incremental", "sync_token": sync_token}
            what += " since the last sync"
        else:
            now = self.now or datetime.now(UTC)
            time_min = cursor.get("time_min") or _rfc3339(now - self.back)
            time_max = cursor.get("time_max") or _rfc3339(now + self.ahead)
            params.update(timeMin=time_min, timeMax=time_max)
            state = {"phase": "full", "time_min": time_min, "time_max": time_max}
            what += f" from {time_min} to {time_max}"
        token: str | None = cursor.get("page_token")
        guard = PageGuard(what)
        guard.check(token)
        page = 0
        while True:
            page += 1
            events = self._service_events()
            response = call(
                self.runner, "calendar.events.list", events.list(pageToken=token, **params), what
            )
            self.view.name = str(response.get("summary") or self.view.name or calendar_id)
            self.view.zone = zone_of(response.get("timeZone"), self.view.zone)
            following = guard.check(response.get("nextPageToken"))
            records, unknown = self._records(response.get("items") or [])
            if following:
                next_cursor: Cursor = {"calendar_id": calendar_id, **state, "page_token": following}
            else:
                new_token = response.get("nextSyncToken")
                if not new_token:
                    raise PermanentError(
                        f"{what}: the last page carried no nextSyncToken; the next pass would"
                        " have to read everything again. Check api_url and try again"
                    )
                next_cursor = {"calendar_id": calendar_id, "sync_token": str(new_token)}
            count = len(response.get("items") or [])
            note = f"{'changes' if sync_token else 'events'} page {page}: {count}"
            if unknown:
                note += f" ({unknown} cancelled events not known here, left as they are)"
            yield Page(
                records,
                next_cursor,
                done=not following,
                note=f"{reason}; {note}" if reason else note,
            )
            reason = ""
            if not following:
                return
            token = following

    def _records(self, events: list[dict[str, Any]]) -> tuple[list[Record], int]:
        records: list[Record] = []
        unknown = 0
        for event in events:
            if event.get("iCalUID") and event.get("recurringEventId"):
                self._uids[str(event["recurringEventId"])] = str(event["iCalUID"])
        for event in events:
            try:
                if is_stub(event):
                    record = self._stub(event)
                    if record is None:
                        unknown += 1
                        continue
                    records.append(record)
                    continue
                component = to_vevent(event, self.view)[0]
                records.extend(identities(component, self._people))
                records.append(build_event_item(event, self.view))
            except (KeyError, ValueError, TypeError) as error:
                records.append(
                    QuarantineRecord(
                        platform="calendar",
                        file=f"gcal:{self.calendar_id}",
                        position=f"event {event.get('id', '?')}",
                        reason=f"the event could not be read ({type(error).__name__}: {error});"
                        " open it in Google Calendar to check it",
                        raw=repr(event).encode("utf-8")[:65536],
                    )
                )
        return records, unknown

    def _stub(self, event: dict[str, Any]) -> Record | None:
        series = event.get("recurringEventId")
        if series and event.get("originalStartTime"):
            uid = event.get("iCalUID") or self._series_uid(str(series))
            if uid:
                return tombstone(event, uid, self.view)
        canonical = self._find(str(event.get("id", "")))
        if canonical:
            return tombstone(event, str(event.get("iCalUID") or ""), self.view, canonical)
        return None

    def _find(self, gcal_id: str) -> str | None:
        """The stored item of a deleted one-off event, by the engine's lookup.

        Items this connector saved carry ``gcal_id``. One imported from Google's .ics export
        does not, but an event made in Google Calendar has the UID ``<id>@google.com``.
        """
        if self.lookup is None or not gcal_id:
            return None
        return self.lookup("gcal_id", gcal_id) or self.lookup("uid", f"{gcal_id}@google.com")

    def _series_uid(self, series: str) -> str | None:
        if series not in self._uids:
            try:
                master = call(
                    self.runner,
                    "calendar.events.get",
                    self._service_events().get(calendarId=self.calendar_id, eventId=series),
                    f"Calendar events.get of series {series} in {self.calendar_id}",
                )
            except NotFound:
                return None
            if master.get("iCalUID"):
                self._uids[series] = str(master["iCalUID"])
        return self._uids.get(series)

    # --- calendar ---------------------------------------------------------------------

    def _calendar_entry(self) -> dict[str, Any]:
        what = f"Calendar calendarList.list for the {self.settings.name} connection"
        guard = PageGuard(what)
        token: str | None = None
        entries: list[dict[str, Any]] = []
        while True:
            lister = self._service().calendarList()
            response = call(
                self.runner, "calendar.calendarList.list", lister.list(pageToken=token), what
            )
            entries.extend(response.get("items") or [])
            token = guard.check(response.get("nextPageToken"))
            if not token:
                break
        wanted = self.calendar_id
        found = next(
            (e for e in entries if (e.get("id") == wanted if wanted else e.get("primary"))), None
        )
        if found is None:
            listed = ", ".join(str(e.get("id")) for e in entries[:10]) or "none"
            raise PermanentError(
                f"{what}: calendar {wanted or '(primary)'} is not in the account's list ({listed});"
                " set calendar_id to one of these"
            )
        self.calendar_id = str(found["id"])
        self.view.name = self.view.name or str(found.get("summary") or found["id"])
        self.view.zone = zone_of(found.get("timeZone"), self.view.zone)
        return found

    def _service_events(self) -> Any:
        return self._service().events()

    def _service(self) -> Any:
        if self._service_obj is None:
            self._service_obj = build_service(self.settings, "calendar", "v3")
        return self._service_obj


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
