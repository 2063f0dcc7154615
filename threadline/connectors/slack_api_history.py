"""Reading one Slack conversation in one pass: history, then threads, then tombstones.

Every yielded chunk is followed by a checkpoint of the whole cursor, so the state here is
updated BEFORE each yield: a pass killed at any point resumes on the next unread page.

A light read (most passes) asks only for what is newer than the newest ts stored: one
request when nothing changed. A sweep (on the reconciliation cadence) reads from the earlier
of (the newest ts stored) and (now minus the reconciliation window), so one paginated read
both finds new messages and re-reads the recent window, where edits show up changed and
deletions show up missing; a channel whose newest message is older than the window costs no
more than a light read. Threads are re-read when their parent's (reply_count, latest_reply)
changed, and on a sweep blindly while they were active within the thread window but their
parent is older than the history read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from threadline.connectors.slack_api_client import SlackApi, SlackMethodError
from threadline.connectors.slack_api_state import later, ts_key
from threadline.connectors.slack_messages import Conversation, MessageMapper, MessageUnreadable
from threadline.connectors.sync_base import PermanentError
from threadline.records import QuarantineRecord, Record

SKIP_CODES = frozenset({"not_in_channel", "channel_not_found", "is_archived", "access_denied"})
Chunk = tuple[list[Record], bool]
"""Records of one page, and whether the conversation is finished for this pass."""


class ChannelSkipped(Exception):
    """The token cannot read this conversation (not a member, gone): skip it, not an error."""


class RepeatingCursor(PermanentError):
    """Slack handed back a pagination cursor it had already given: stop before looping."""


def ts_string(epoch: float) -> str:
    return f"{epoch:.6f}"


def _ge(ts: str, bound: str | None) -> bool:
    return bound is None or ts_key(ts) >= ts_key(bound)


class ChannelReader:
    def __init__(
        self,
        api: SlackApi,
        mapper: MessageMapper,
        conversation: Conversation,
        state: dict[str, Any],
        *,
        now: float,
        reconcile_seconds: float,
        thread_seconds: float,
        limit: int,
        sweep: bool = True,
    ) -> None:
        self.api = api
        self.mapper = mapper
        self.conversation = conversation
        self.state = state
        self.window = ts_string(now - reconcile_seconds)
        self.thread_window = ts_string(now - thread_seconds)
        self.limit = limit
        self.sweep = sweep

    def read(self) -> Iterator[Chunk]:
        if not self.state["history_done"]:
            yield from self._history()
        while self.state["pending_threads"]:
            yield self._thread(self.state["pending_threads"][0]), False
        yield self._finish(), True

    # -- history -------------------------------------------------------------------------

    def _history(self) -> Iterator[Chunk]:
        state = self.state
        if state["page"] is None and not state["pass_seen"]:
            # The start of this conversation's read: fix its lower bound for the whole read,
            # since a page cursor is only valid with the parameters it was issued for.
            oldest = state["oldest"]
            state["read_from"] = (
                None if oldest is None
                else min(oldest, self.window, key=ts_key) if self.sweep
                else oldest
            )
            # A light read excludes the newest stored message itself: nothing new, no message.
            state["light"] = oldest is not None and not self.sweep
        seen_cursors: set[str] = set()
        while True:
            try:
                data = self.api.call(
                    "conversations.history",
                    channel=self.conversation.id,
                    cursor=state["page"],
                    oldest=state.get("read_from"),
                    inclusive=True if state.get("read_from") and not state.get("light") else None,
                    limit=self.limit,
                )
            except SlackMethodError as exc:
                if exc.code == "invalid_cursor" and state["page"] is not None:
                    # An expired page cursor: restart this conversation's read; pages already
                    # saved are idempotent, so re-reading them changes nothing.
                    state["page"], state["pass_seen"], state["newest"] = None, [], None
                    continue
                if exc.code in SKIP_CODES:
                    raise ChannelSkipped(exc.code) from exc
                raise
            records = self._messages(data, "conversations.history", in_history=True)
            next_cursor = _next_cursor(data)
            if next_cursor and next_cursor in seen_cursors:
                raise RepeatingCursor(
                    f"Slack conversations.history for {self.conversation.name} returned the "
                    f"same page cursor twice ({next_cursor[:24]}); this conversation stops "
                    "here for this pass. What was read is saved; the next pass starts it over."
                )
            if next_cursor:
                seen_cursors.add(next_cursor)
            state["page"] = next_cursor
            if not next_cursor:
                records.extend(self._end_history())
                yield records, False
                return
            yield records, False

    def _end_history(self) -> list[Record]:
        state = self.state
        read_from = state.get("read_from")
        light = bool(state.pop("light", False))
        seen = set(state["pass_seen"])
        tombstones: list[Record] = []
        if light:
            # Only new messages were asked for: what was not shown is not gone.
            state["recent"].update(dict.fromkeys(state["pass_seen"], ""))
        else:
            if read_from is not None:
                for ts, thread in state["recent"].items():
                    if (thread == "" and _ge(ts, read_from) and _ge(ts, self.window)
                            and ts not in seen):
                        tombstones.append(self._tombstone(ts, None))
            replies = {ts: t for ts, t in state["recent"].items() if t != ""}
            state["recent"] = {**replies, **dict.fromkeys(state["pass_seen"], "")}
        state["oldest"] = later(state["oldest"], state["newest"])
        state["history_done"], state["pass_seen"], state["newest"] = True, [], None
        if read_from is not None and not light:
            # Active threads whose parent is older than this read: only a re-read finds
            # their new replies.
            for parent, (_count, latest) in state["threads"].items():
                active = _ge(latest or parent, self.thread_window)
                if active and not _ge(parent, read_from) and parent not in state["pending_threads"]:
                    state["pending_threads"].append(parent)
        return tombstones

    # -- threads -------------------------------------------------------------------------

    def _thread(self, parent: str) -> list[Record]:
        state = self.state
        records: list[Record] = []
        seen: list[str] = []
        latest: str | None = None
        page: str | None = None
        cursors: set[str] = set()
        while True:
            try:
                data = self.api.call(
                    "conversations.replies",
                    channel=self.conversation.id, ts=parent, cursor=page, limit=self.limit,
                )
            except SlackMethodError as exc:
                if exc.code in ("thread_not_found", "invalid_cursor", *SKIP_CODES):
                    data = {"messages": []}  # the parent is gone: its replies went with it
                else:
                    raise
            replies = [m for m in _list(data.get("messages")) if m.get("ts") != parent]
            records.extend(self._messages({"messages": replies}, "conversations.replies"))
            for message in replies:
                ts = message.get("ts")
                if isinstance(ts, str):
                    seen.append(ts)
                    latest = later(latest, ts)
            page = _next_cursor(data)
            if not page:
                break
            if page in cursors:
                raise RepeatingCursor(
                    f"Slack conversations.replies for thread {parent} in "
                    f"{self.conversation.name} returned the same page cursor twice; stopping."
                )
            cursors.add(page)
        seen_set = set(seen)
        for ts, thread in list(state["recent"].items()):
            if thread == parent and _ge(ts, self.window) and ts not in seen_set:
                records.append(self._tombstone(ts, parent))
                del state["recent"][ts]
        for ts in seen:
            if _ge(ts, self.window):
                state["recent"][ts] = parent
        known = state["threads"].get(parent)
        if known is None or (latest is not None and ts_key(latest) > ts_key(known[1] or parent)):
            state["threads"][parent] = [len(seen), latest]
        state["pending_threads"].pop(0)
        return records

    # -- end of pass ---------------------------------------------------------------------

    def _finish(self) -> list[Record]:
        state = self.state
        state["threads"] = {
            parent: sig for parent, sig in state["threads"].items()
            if _ge(sig[1] or parent, self.thread_window)
        }
        state["recent"] = {ts: t for ts, t in state["recent"].items() if _ge(ts, self.window)}
        state["history_done"] = False
        state.pop("read_from", None)
        state.pop("light", None)
        return []

    # -- mapping -------------------------------------------------------------------------

    def _messages(
        self, data: dict[str, Any], method: str, in_history: bool = False
    ) -> list[Record]:
        state = self.state
        records: list[Record] = []
        for message in _list(data.get("messages")):
            ts = message.get("ts")
            try:
                records.extend(self.mapper.records(self.conversation, message))
            except MessageUnreadable as error:
                records.append(
                    QuarantineRecord(
                        platform="slack",
                        file=f"{method} {self.conversation.id}",
                        position=f"message ts {ts!r}",
                        reason=error.reason,
                        raw=error.raw,
                    )
                )
                continue
            if not in_history or not isinstance(ts, str):
                continue
            state["newest"] = later(state["newest"], ts)
            if _ge(ts, self.window):
                state["pass_seen"].append(ts)
            count = message.get("reply_count")
            if message.get("thread_ts") == ts and isinstance(count, int) and count > 0:
                signature = [count, message.get("latest_reply")]
                if state["threads"].get(ts) != signature:
                    state["threads"][ts] = signature
                    if ts not in state["pending_threads"]:
                        state["pending_threads"].append(ts)
        return records

    def _tombstone(self, ts: str, thread: str | None) -> Record:
        """A message gone from Slack: mapped like a ``message_deleted`` event."""
        event: dict[str, Any] = {
            "type": "message", "subtype": "message_deleted", "hidden": True,
            "ts": ts, "deleted_ts": ts,
        }
        if thread:
            event["thread_ts"] = thread
        records = [r for r in self.mapper.records(self.conversation, event)]
        return records[-1]


def _list(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _next_cursor(data: dict[str, Any]) -> str | None:
    meta = data.get("response_metadata")
    cursor = meta.get("next_cursor") if isinstance(meta, dict) else None
    return cursor if isinstance(cursor, str) and cursor else None
