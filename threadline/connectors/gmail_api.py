"""Live Gmail sync through the Gmail API (google-api-python-client).

Initial sync: the profile's ``historyId`` is noted first, then ``messages.list`` with
``q=newer_than:<window>`` is read page by page and every message is fetched with
``format=raw``. Later passes read ``users.history.list`` from the noted ``historyId``:
added and relabelled messages are fetched again, deleted ones become tombstones. Changes
made while the initial sync ran are replayed by the first history pass; saving is
idempotent (canonical id + content hash), so reading a message twice changes nothing.

A raw message is the very MIME an mbox export holds, so it is read by the mbox importer's
own ``message_item``; the two things Takeout adds to each message, ``X-GM-THRID`` (the
thread id in decimal; the API spells it in hex) and ``X-Gmail-Labels`` (label names), are
prepended as Takeout writes them. Records therefore converge with a Takeout import: same
``email:<Message-ID>``, text, thread id and labels.

Deletions: history names only the Gmail id of a deleted message, and the connector has no
store. The engine may pass ``options["lookup"]``, a callable ``(native key, value) ->
canonical id or None``; ``lookup("gmail_id", id)`` finds the item (live-synced items and
Takeout imports both carry ``native["gmail_id"]``). Without it a deletion is counted in the
page note and skipped: nothing else is lost, the item just stays.

Batch requests are not used: each message is its own request through the engine's
RequestRunner, so budgets, retries and Retry-After apply per message, and one bad message
never fails fifty others; Gmail's quota charges per message either way.
"""

from __future__ import annotations

import base64
import csv
import io
import re
from collections.abc import Callable, Iterator
from email.header import Header
from typing import Any

from threadline.connectors.google_client import NotFound, PageGuard, build_service, call
from threadline.connectors.mbox import identity_records, is_email, message_item, parse_message
from threadline.connectors.sync_base import (
    ConnectionSettings,
    Cursor,
    Page,
    PermanentError,
    RequestRunner,
)
from threadline.errors import ConfigError
from threadline.records import ItemRecord, QuarantineRecord, Record, SourceInfo

# Gmail system label ids as Takeout names them in X-Gmail-Labels.
SYSTEM_LABELS = {
    "INBOX": "Inbox",
    "SENT": "Sent",
    "IMPORTANT": "Important",
    "STARRED": "Starred",
    "DRAFT": "Drafts",
    "SPAM": "Spam",
    "TRASH": "Trash",
    "CHAT": "Chat",
    "CATEGORY_PERSONAL": "Category Personal",
    "CATEGORY_SOCIAL": "Category Social",
    "CATEGORY_PROMOTIONS": "Category Promotions",
    "CATEGORY_UPDATES": "Category Updates",
    "CATEGORY_FORUMS": "Category Forums",
}
# Read state is not content (see mbox.READ_STATE_LABELS): reading mail changes nothing here.
IGNORED_LABELS = frozenset({"UNREAD"})
HISTORY_TYPES = ["messageAdded", "messageDeleted", "labelAdded", "labelRemoved"]
_WINDOW = re.compile(r"\d{1,5}[dmy]")
Lookup = Callable[[str, str], str | None]


class GmailConnector:
    platform = "email"
    name = "gmail"

    def __init__(self, settings: ConnectionSettings, runner: RequestRunner) -> None:
        self.settings = settings
        self.runner = runner
        options = settings.options
        self.window = str(options.get("window", "365d"))
        if not _WINDOW.fullmatch(self.window):
            raise ConfigError(
                f"gmail window {self.window!r} is not a Gmail newer_than: span; use e.g."
                " '365d', '6m' or '2y'"
            )
        self.page_size = int(options.get("page_size", 500))
        self.batch = max(1, int(options.get("batch", 100)))
        self.include_spam_trash = bool(options.get("include_spam_trash", False))
        self.raw_limit = int(options.get("raw_limit", 256 * 1024))
        lookup = options.get("lookup")
        self.lookup: Lookup | None = lookup if callable(lookup) else None
        self._service: Any = None
        self._label_names: dict[str, str] | None = None
        self._people: dict[str, str] = {}
        self.account = ""

    # --- protocol ---------------------------------------------------------------------

    def discover(self) -> SourceInfo:
        profile = self._profile()
        return SourceInfo(
            platform="email", kind="gmail", account=self.account, label=profile["emailAddress"]
        )

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        self._label_names = None  # labels may have been renamed since the last pass
        if not cursor or cursor.get("phase") == "full":
            yield from self._full(cursor or {}, "")
            return
        start = str(cursor["history_id"])
        try:
            yield from self._history(cursor)
        except NotFound:
            reason = (
                f"history {start} has expired at Gmail (HTTP 404): full resync of the"
                f" {self.window} window; items are saved idempotently, so nothing is lost"
                " or duplicated"
            )
            yield from self._full({}, reason)

    # --- initial (or repeated) full sync ----------------------------------------------

    def _full(self, cursor: Cursor, reason: str) -> Iterator[Page]:
        history_id = str(cursor.get("history_id") or self._profile()["historyId"])
        query = str(cursor.get("q") or f"newer_than:{self.window}")
        token: str | None = cursor.get("page_token")
        skip = int(cursor.get("skip", 0))
        guard = PageGuard(f"Gmail messages.list ({query}) for {self._who()}")
        guard.check(token)
        listed = 0
        while True:
            response = call(
                self.runner,
                "gmail.messages.list",
                self._gmail()
                .users()
                .messages()
                .list(
                    userId="me",
                    q=query,
                    maxResults=self.page_size,
                    pageToken=token,
                    includeSpamTrash=self.include_spam_trash,
                ),
                f"Gmail messages.list ({query}) for {self._who()}",
            )
            refs = response.get("messages") or []
            following = guard.check(response.get("nextPageToken"))
            starts = list(range(skip, len(refs), self.batch)) or [len(refs)]
            for first in starts:
                chunk = refs[first : first + self.batch]
                records, stats = self._fetch_all([(r["id"], r.get("threadId", "")) for r in chunk])
                end = first + len(chunk)
                if end < len(refs):
                    resume: Cursor = {"page_token": token, "skip": end}
                elif following:
                    resume = {"page_token": following, "skip": 0}
                else:
                    resume = {}
                next_cursor = (
                    {"phase": "full", "history_id": history_id, "q": query, **resume}
                    if resume
                    else {"history_id": history_id}
                )
                note = f"messages {listed + first + 1}–{listed + end} ({query}){stats}"
                yield Page(
                    records,
                    next_cursor,
                    done=not resume,
                    note=f"{reason}; {note}" if reason else note,
                )
                reason = ""
            if not following:
                return
            listed += len(refs)
            token, skip = following, 0

    # --- incremental ------------------------------------------------------------------

    def _history(self, cursor: Cursor) -> Iterator[Page]:
        start = str(cursor["history_id"])
        token: str | None = cursor.get("page_token")
        what = f"Gmail history.list since {start} for {self._who()}"
        guard = PageGuard(what)
        guard.check(token)
        while True:
            response = call(
                self.runner,
                "gmail.history.list",
                self._gmail()
                .users()
                .history()
                .list(
                    userId="me",
                    startHistoryId=start,
                    pageToken=token,
                    maxResults=self.page_size,
                    historyTypes=HISTORY_TYPES,
                ),
                what,
            )
            following = guard.check(response.get("nextPageToken"))
            fetch, deleted = _changes(response.get("history") or [])
            records, stats = self._fetch_all(list(fetch.items()))
            missing = 0
            for gmail_id, thread in deleted.items():
                tombstone = self._tombstone(gmail_id, thread)
                if tombstone is None:
                    missing += 1
                else:
                    records.append(tombstone)
            if following:
                next_cursor: Cursor = {
                    "phase": "history",
                    "history_id": start,
                    "page_token": following,
                }
            else:
                next_cursor = {"history_id": str(response.get("historyId") or start)}
            note = (
                f"history since {start}: {len(fetch)} added or relabelled, {len(deleted)} deleted"
            )
            if missing:
                note += f" ({missing} deleted messages not known here, left as they are)"
            yield Page(records, next_cursor, done=not following, note=note + stats)
            if not following:
                return
            token = following

    # --- messages ---------------------------------------------------------------------

    def _fetch_all(self, refs: list[tuple[str, str]]) -> tuple[list[Record], str]:
        records: list[Record] = []
        gone = 0
        for gmail_id, thread in refs:
            try:
                message = call(
                    self.runner,
                    "gmail.messages.get",
                    self._gmail().users().messages().get(userId="me", id=gmail_id, format="raw"),
                    f"Gmail message {gmail_id} of {self._who()}",
                )
            except NotFound:
                # Deleted since it was listed: the history pass will (or did) report it.
                gone += 1
                tombstone = self._tombstone(gmail_id, thread)
                if tombstone is not None:
                    records.append(tombstone)
                continue
            records.extend(self._records(message))
        return records, (f"; {gone} gone before they could be read" if gone else "")

    def _records(self, message: dict[str, Any]) -> list[Record]:
        gmail_id = str(message.get("id", ""))
        try:
            data = base64.urlsafe_b64decode(_padded(message["raw"]))
        except (KeyError, ValueError, TypeError) as error:
            return [
                self._quarantine(
                    gmail_id, f"its raw body is missing or not base64url ({error})", b""
                )
            ]
        data = takeout_headers(message, self._labels(), _newline(data)) + data
        try:
            parsed = parse_message(data)
            if not is_email(parsed):
                raise ValueError("no email headers (From, To, Subject, Date or Message-ID)")
            item = message_item(parsed, data, raw_limit=self.raw_limit)
        except Exception as error:  # one unreadable message must not stop the sync
            reason = (
                f"the message could not be parsed ({type(error).__name__}: {error}); it is kept"
                " here unchanged, open it in Gmail to read it"
            )
            return [self._quarantine(gmail_id, reason, data)]
        item.native["gmail_id"] = gmail_id
        people = ([item.author] if item.author else []) + item.recipients
        return [*identity_records(people, self._people), item]

    def _tombstone(self, gmail_id: str, thread: str) -> ItemRecord | None:
        canonical = self.lookup("gmail_id", gmail_id) if self.lookup else None
        if not canonical:
            return None
        thread_id = f"email-thread:{_decimal(thread)}" if thread else canonical
        return ItemRecord(
            platform="email",
            kind="email",
            canonical_id=canonical,
            native={"gmail_id": gmail_id},
            container_id=thread_id,
            thread_id=thread_id,
            deleted=True,
        )

    def _quarantine(self, gmail_id: str, reason: str, raw: bytes) -> QuarantineRecord:
        return QuarantineRecord(
            platform="email",
            file=f"gmail:{self._who()}",
            position=f"message {gmail_id}",
            reason=reason,
            raw=raw,
        )

    # --- account and labels -----------------------------------------------------------

    def _profile(self) -> dict[str, Any]:
        profile: dict[str, Any] = call(
            self.runner,
            "gmail.users.getProfile",
            self._gmail().users().getProfile(userId="me"),
            f"Gmail users.getProfile for the {self.settings.name} connection",
        )
        if "historyId" not in profile or "emailAddress" not in profile:
            raise PermanentError(
                "Gmail users.getProfile answered without emailAddress or historyId: the"
                " api_url may not point at the Gmail API"
            )
        self.account = str(profile["emailAddress"])
        return profile

    def _labels(self) -> dict[str, str]:
        if self._label_names is None:
            response = call(
                self.runner,
                "gmail.labels.list",
                self._gmail().users().labels().list(userId="me"),
                f"Gmail labels.list for {self._who()}",
            )
            self._label_names = {
                str(label["id"]): str(label.get("name") or label["id"])
                for label in response.get("labels") or []
            }
        return self._label_names

    def _who(self) -> str:
        return self.account or self.settings.name

    def _gmail(self) -> Any:
        if self._service is None:
            self._service = build_service(self.settings, "gmail", "v1")
        return self._service


def takeout_headers(message: dict[str, Any], names: dict[str, str], newline: str = "\r\n") -> bytes:
    """The X-GM-THRID and X-Gmail-Labels lines Takeout puts first in each message."""
    lines = []
    thread = str(message.get("threadId", ""))
    if thread:
        lines.append(f"X-GM-THRID: {_decimal(thread)}")
    labels = [
        label_name(i, names) for i in message.get("labelIds") or [] if i not in IGNORED_LABELS
    ]
    if labels:
        out = io.StringIO()
        csv.writer(out, lineterminator="").writerow(
            [name if name.isascii() else Header(name, "utf-8").encode() for name in labels]
        )
        lines.append(f"X-Gmail-Labels: {out.getvalue()}")
    return "".join(line + newline for line in lines).encode("ascii")


def label_name(label_id: str, names: dict[str, str]) -> str:
    return SYSTEM_LABELS.get(label_id) or names.get(label_id) or label_id


def _changes(history: list[dict[str, Any]]) -> tuple[dict[str, str], dict[str, str]]:
    """(id -> thread to fetch, id -> thread deleted), the last change of each id winning."""
    state: dict[str, tuple[str, str]] = {}
    for record in history:
        for entry in record.get("messagesAdded") or []:
            _note(state, entry, "fetch")
        for key in ("labelsAdded", "labelsRemoved"):
            for entry in record.get(key) or []:
                if set(entry.get("labelIds") or []) - IGNORED_LABELS:
                    _note(state, entry, "fetch")
        for entry in record.get("messagesDeleted") or []:
            _note(state, entry, "delete")
    fetch = {i: thread for i, (action, thread) in state.items() if action == "fetch"}
    deleted = {i: thread for i, (action, thread) in state.items() if action == "delete"}
    return fetch, deleted


def _note(state: dict[str, tuple[str, str]], entry: dict[str, Any], action: str) -> None:
    message = entry.get("message") or {}
    if message.get("id"):
        if state.get(message["id"], ("",))[0] == "delete" and action == "fetch":
            return  # a message once deleted does not come back under the same id
        state[str(message["id"])] = (action, str(message.get("threadId", "")))


def _decimal(hex_id: str) -> str:
    try:
        return str(int(hex_id, 16))
    except ValueError:
        return hex_id


def _newline(data: bytes) -> str:
    first = data.find(b"\n")
    return "\r\n" if first > 0 and data[first - 1 : first] == b"\r" else "\n"


def _padded(data: str) -> str:
    return data + "=" * (-len(data) % 4)
