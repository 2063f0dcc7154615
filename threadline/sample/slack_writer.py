"""Writes a Slack workspace export zip: users/channels/groups/dms/mpims JSON plus one folder
per conversation holding ``YYYY-MM-DD.json`` day files, as Slack's export tool does."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from threadline.sample.cast import TEAM_ID, Cast, Conversation, Person
from threadline.sample.clock import epoch
from threadline.sample.model import SlackMessage
from threadline.sample.seeds import export_uuid, short_hex, slack_native_id
from threadline.sample.zipout import StableZip

_UPDATED = 1_767_225_600


def _team_of(person: Person) -> str:
    domain = person.email.split("@", 1)[1]
    return TEAM_ID if domain == "northwind.example" else slack_native_id("T", domain)


@cache
def _profile(person: Person) -> dict[str, Any]:
    first, _, last = person.name.partition(" ")
    return {
        "title": person.title, "phone": "", "skype": "", "real_name": person.name,
        "real_name_normalized": person.name, "display_name": person.first,
        "display_name_normalized": person.first, "email": person.email,
        "first_name": first, "last_name": last, "team": _team_of(person),
        "avatar_hash": short_hex(12, "avatar", person.email),
        "image_72": "https://avatars.slack-edge.com/2024-01-01/"
                    f"{short_hex(10, person.email)}_72.png",
    }


@cache
def _message_profile(person: Person) -> dict[str, Any]:
    profile = _profile(person)
    return {k: profile[k] for k in ("avatar_hash", "image_72", "first_name", "real_name",
                                    "display_name", "team")} | {
        "name": person.username, "is_restricted": False, "is_ultra_restricted": False}


def _user(person: Person) -> dict[str, Any]:
    profile = _profile(person)
    if person.is_bot:
        profile["bot_id"] = slack_native_id("B", person.name)
    return {
        "id": person.slack_id, "team_id": _team_of(person), "name": person.username,
        "deleted": False, "color": short_hex(6, "color", person.email),
        "real_name": person.name, "tz": person.tz.key, "tz_label": person.tz.key,
        "is_admin": person.username == "jane", "is_owner": person.username == "jane",
        "is_bot": person.is_bot, "is_app_user": False, "is_restricted": False,
        "updated": _UPDATED, "profile": profile,
    }


def _conversation(conv: Conversation) -> dict[str, Any]:
    if conv.kind == "im":
        return {"id": conv.id, "created": conv.created, "members": conv.members}
    text = {"creator": conv.creator, "last_set": conv.created}
    entry: dict[str, Any] = {
        "id": conv.id, "name": conv.name, "created": conv.created, "creator": conv.creator,
        "is_archived": False, "is_general": conv.name == "general", "members": conv.members,
        "topic": {"value": conv.topic, **text}, "purpose": {"value": conv.purpose, **text},
    }
    if conv.kind == "channel":
        entry["is_ext_shared"] = conv.is_ext_shared
    return entry


class SlackWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.zip = StableZip(path)
        self.messages = 0

    def write_directory(self, cast: Cast) -> None:
        people = cast.slack_people()
        self._json("users.json", [_user(p) for p in people])
        by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for conv in cast.conversations:
            by_kind[conv.kind].append(_conversation(conv))
        self._json("channels.json", by_kind["channel"])
        self._json("groups.json", by_kind["group"])
        self._json("dms.json", by_kind["im"])
        self._json("mpims.json", by_kind["mpim"])
        self._json("integration_logs.json", [])

    def _json(self, name: str, value: Any) -> None:
        self.zip.put(name, json.dumps(value, indent=4, ensure_ascii=False).encode())

    def write_day(self, conv: Conversation, day: date, messages: list[SlackMessage]) -> None:
        if not messages:
            return
        messages = sorted(messages, key=lambda m: (epoch(m.moment), m.micro))
        replies: dict[str, list[SlackMessage]] = defaultdict(list)
        for message in messages:
            if message.thread_ts and message.thread_ts != message.ts:
                replies[message.thread_ts].append(message)
        by_ts = {m.ts: m for m in messages}
        payload = [self._message(m, replies.get(m.ts, []), by_ts.get(m.thread_ts or ""))
                   for m in messages]
        self._json(f"{conv.folder}/{day.isoformat()}.json", payload)
        self.messages += len(payload)

    def _message(self, message: SlackMessage, replies: list[SlackMessage],
                 parent: SlackMessage | None) -> dict[str, Any]:
        author = message.author
        out: dict[str, Any] = {"type": "message"}
        if message.subtype == "bot_message" and author is not None:
            out.update(subtype="bot_message", text=message.text, ts=message.ts,
                       username=author.name, bot_id=slack_native_id("B", author.name))
            return out
        if message.subtype:
            out["subtype"] = message.subtype
        if author is not None and message.subtype is None:
            out["client_msg_id"] = export_uuid("msg", message.conv, message.ts)
        out["text"] = message.text
        if author is not None:
            out["user"] = author.slack_id
            out["team"] = _team_of(author)
            out["user_team"] = _team_of(author)
            out["source_team"] = _team_of(author)
            out["user_profile"] = _message_profile(author)
        out["ts"] = message.ts
        if message.edited_after is not None and author is not None:
            out["edited"] = {"user": author.slack_id,
                             "ts": f"{epoch(message.moment) + message.edited_after}.000000"}
        if message.files:
            out["files"] = [self._file(f, message) for f in message.files]
            out["upload"] = True
        if replies:
            users = sorted({r.author.slack_id or "" for r in replies if r.author})
            out.update(thread_ts=message.ts, reply_count=len(replies),
                       reply_users_count=len(users), latest_reply=replies[-1].ts,
                       reply_users=users, is_locked=False, subscribed=False,
                       replies=[{"user": r.author.slack_id if r.author else None, "ts": r.ts}
                                for r in replies])
        elif message.thread_ts:
            out["thread_ts"] = message.thread_ts
            if parent is not None and parent.author is not None:
                out["parent_user_id"] = parent.author.slack_id
        return out

    def _file(self, meta: dict[str, Any], message: SlackMessage) -> dict[str, Any]:
        created = epoch(message.moment)
        name = str(meta["name"])
        return {
            **meta, "created": created, "timestamp": created, "title": name,
            "pretty_type": str(meta.get("filetype", "")).upper(),
            "user": message.author.slack_id if message.author else None,
            "url_private": f"https://files.slack.com/files-pri/{TEAM_ID}-{meta['id']}/{name}",
            "permalink": f"https://northwind.slack.com/files/{meta['id']}/{name}",
            "is_external": False, "mode": "hosted",
        }

    def close(self) -> None:
        self.zip.close()
