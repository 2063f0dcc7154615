"""Slack live events (Socket Mode): message, message_changed and message_deleted to records.

With an app-level token (``xapp-``, saved as the connection's ``app_token``),
``slack_api_live`` opens a Socket Mode connection and saves each message event here as it
happens. Events go through the same MessageMapper as history and the export, so an item
written live is the same record the next pass reads (unchanged). The polling passes stay the
source of truth: an event missed while disconnected is picked up by the next pass.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from threadline.connectors.slack_api_state import conversation_of, load_cursor, workspace_from
from threadline.connectors.slack_export import DEFAULT_MAX_RECIPIENTS
from threadline.connectors.slack_messages import Conversation, MessageMapper, MessageUnreadable
from threadline.records import QuarantineRecord, Record
from threadline.store.writer import StoreWriter, WriteCounts, utcnow

_ENVELOPE_ONLY = ("channel", "event_ts", "channel_type")
# Notices about other messages, not messages of their own (history never lists them).
_NOT_MESSAGES = frozenset({"message_replied", "channel_history_changed"})


class EventMapper:
    """Maps Events API ``message`` events with the names and members of the last pass."""

    def __init__(self, cursor: dict[str, Any] | None, max_recipients: int = DEFAULT_MAX_RECIPIENTS):
        state = load_cursor(cursor)
        self.workspace = workspace_from(state["directory"], state["conversations"])
        self.mapper = MessageMapper(self.workspace, max_recipients)
        self.conversations = {
            cid: conversation_of(cid, meta, self.workspace)
            for cid, meta in state["conversations"].items()
        }

    def conversation(self, channel: str) -> Conversation:
        found = self.conversations.get(channel)
        # A conversation created since the last pass: its id stands in for its name.
        return found or Conversation(id=channel, kind="channel", folder=channel, name=f"#{channel}")

    def records(self, event: dict[str, Any]) -> list[Record]:
        """Records for one event (the ``event`` object of an events_api envelope)."""
        channel = event.get("channel")
        if event.get("type") != "message" or not isinstance(channel, str):
            return []
        subtype = event.get("subtype")
        if subtype in _NOT_MESSAGES:
            return []
        if subtype == "message_changed":
            message = event.get("message")
            if not isinstance(message, dict):
                return []
        elif subtype == "message_deleted":
            gone = event.get("deleted_ts")
            previous = event.get("previous_message")
            message = {"type": "message", "subtype": "message_deleted", "hidden": True,
                       "ts": gone, "deleted_ts": gone}
            if isinstance(previous, dict) and previous.get("thread_ts"):
                message["thread_ts"] = previous["thread_ts"]
        else:
            message = {k: v for k, v in event.items() if k not in _ENVELOPE_ONLY}
        try:
            return list(self.mapper.records(self.conversation(channel), message))
        except MessageUnreadable as error:
            return [QuarantineRecord(platform="slack", file=f"event {channel}",
                                     position=f"event {subtype or 'message'}",
                                     reason=error.reason, raw=error.raw)]


def save_event(engine: Engine, source_id: int, mapper: EventMapper,
               event: dict[str, Any]) -> WriteCounts:
    records = mapper.records(event)
    with engine.begin() as conn:
        return StoreWriter(source_id).save(conn, records, utcnow())
