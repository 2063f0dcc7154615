"""One Slack export message to an ItemRecord (and, the first time a bot speaks, its identity).

Runs once per message for exports of up to a million messages, so everything that can be
worked out once (names, identity refs, recipient lists) is cached on the Workspace or mapper.
"""

from __future__ import annotations

import json
import re
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

from threadline.connectors.slack_markup import convert
from threadline.ids import find_notion_id, slack_id
from threadline.records import Attachment, IdentityRecord, IdentityRef, ItemRecord, LinkRef, Record

_TS = re.compile(r"(\d+)(?:\.(\d+))?")
_ARCHIVE_URL = re.compile(r"https?://[^/]+/archives/([A-Z0-9]+)/p(\d{10})(\d{6})")
_SERVICE_LINK = re.compile(r"<https?://[^/|>]+/services/(B[A-Z0-9]+)\|([^>]+)>")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DELETED_SUBTYPES = frozenset({"tombstone", "message_deleted"})
_TOMBSTONE_TEXT = "This message was deleted."
_SLACKBOT = "USLACKBOT"
_ATTACHMENT_PARTS = ("pretext", "title", "text")


class MessageUnreadable(ValueError):
    """A message that cannot become an item; the caller names the file and position."""

    def __init__(self, reason: str, raw: bytes) -> None:
        super().__init__(reason)
        self.reason = reason
        self.raw = raw


@dataclass(frozen=True)
class Conversation:
    id: str
    kind: str
    """channel, group (private channel), mpim (group DM) or dm."""
    folder: str
    name: str
    """How the conversation is shown: ``#general``, ``DM with Ann Lee``."""
    members: tuple[str, ...] = ()
    shared: bool = False
    """A Slack Connect channel, shared with another organisation: a strong client signal."""


@dataclass
class Workspace:
    """Names and identities known so far, shared by every message of the export."""

    domain: str | None = None
    channel_names: dict[str, str] = field(default_factory=dict)
    user_names: dict[str, str] = field(default_factory=dict)
    _refs: dict[str, IdentityRef] = field(default_factory=dict)
    _bot_users: dict[str, str] = field(default_factory=dict)

    def add_user(self, record: IdentityRecord) -> None:
        ref = record.identity
        self._refs[ref.value] = ref
        if ref.display_name:
            self.user_names[ref.value] = ref.display_name
        bot_id = record.profile.get("bot_id")
        if isinstance(bot_id, str):
            self._bot_users[bot_id] = ref.value

    def name_of(self, user_id: str) -> str:
        return self.user_names.get(user_id, user_id)

    def ref(self, user_id: str) -> IdentityRef:
        found = self._refs.get(user_id)
        if found is None:
            display = "Slackbot" if user_id == _SLACKBOT else None
            found = self._refs[user_id] = IdentityRef(
                kind="slack", value=user_id, display_name=display
            )
        return found

    def bot_ref(self, bot_id: str, message: dict[str, Any]) -> tuple[IdentityRef, bool]:
        """The bot's identity, and whether this is the first time it is seen."""
        found = self._refs.get(bot_id)
        if found is not None:
            return found, False
        profile = message.get("bot_profile")
        name = profile.get("name") if isinstance(profile, dict) else None
        name = name or message.get("username")
        if not name and bot_id in self._bot_users:
            name = self.user_names.get(self._bot_users[bot_id])
        found = self._refs[bot_id] = IdentityRef(
            kind="slack", value=bot_id, display_name=name if isinstance(name, str) else None
        )
        return found, True


class MessageMapper:
    def __init__(self, workspace: Workspace, max_recipients: int) -> None:
        self.workspace = workspace
        self.max_recipients = max_recipients
        self._recipients: dict[str, tuple[IdentityRef, ...]] = {}

    def records(self, conversation: Conversation, message: object) -> Iterator[Record]:
        if not isinstance(message, dict):
            raise MessageUnreadable(
                f"a message must be a JSON object, found a {type(message).__name__}; "
                "the day file was edited or damaged. Re-export from Slack.",
                _dump(message),
            )
        subtype = message.get("subtype")
        subtype = subtype if isinstance(subtype, str) else None
        ts = message.get("ts")
        if subtype == "message_deleted" and isinstance(message.get("deleted_ts"), str):
            ts = message["deleted_ts"]
        occurred = _parse_ts(ts)
        if occurred is None or not isinstance(ts, str):
            raise MessageUnreadable(
                f"the message has no valid 'ts' (found {ts!r}), and Slack identifies messages "
                "by it. Re-export from Slack, or add the ts and import again.",
                _dump(message),
            )
        if subtype in ("bot_add", "bot_remove"):
            yield from self._integration(message)
        author = yield from self._author(message, subtype)
        yield self._item(conversation, message, ts, subtype, occurred, author)

    def _author(
        self, message: dict[str, Any], subtype: str | None
    ) -> Generator[Record, None, IdentityRef | None]:
        """Yields the bot's identity the first time it speaks; returns the author."""
        bot_id = message.get("bot_id")
        user = message.get("user")
        if isinstance(bot_id, str) and bot_id and (subtype == "bot_message" or not user):
            ref, first = self.workspace.bot_ref(bot_id, message)
            if first:
                yield _bot_identity(ref, message)
            return ref
        if not isinstance(user, str):
            comment = message.get("comment")
            user = comment.get("user") if isinstance(comment, dict) else None
        return self.workspace.ref(user) if isinstance(user, str) and user else None

    def _integration(self, message: dict[str, Any]) -> Iterator[Record]:
        """Old exports name an integration's bot only in the "added an integration" notice."""
        bot_id = message.get("bot_id")
        if not isinstance(bot_id, str) or not bot_id:
            return
        named = _SERVICE_LINK.search(_text(message.get("text")))
        label = {"username": named.group(2)} if named and named.group(1) == bot_id else {}
        ref, first = self.workspace.bot_ref(bot_id, label)
        if first:
            yield _bot_identity(ref, label)

    def _item(
        self,
        conversation: Conversation,
        message: dict[str, Any],
        ts: str,
        subtype: str | None,
        occurred: datetime,
        author: IdentityRef | None,
    ) -> ItemRecord:
        users, channels = self.workspace.user_names, self.workspace.channel_names
        rendered = convert(_text(message.get("text")), users, channels)
        parts = [rendered.text] if rendered.text else []
        mentions, urls = rendered.mentions, rendered.urls
        for attachment in _dicts(message.get("attachments")):
            for piece in _attachment_pieces(attachment):
                more = convert(piece, users, channels)
                parts.append(more.text)
                mentions.extend(m for m in more.mentions if m not in mentions)
                urls.extend(u for u in more.urls if u not in urls)
        files = _files(message)
        parts.extend(_file_line(f) for f in files)
        text = "\n".join(parts)

        native = {"channel": conversation.id, "ts": ts}
        links: list[LinkRef] = []
        thread_ts = message.get("thread_ts")
        thread_id = None
        if isinstance(thread_ts, str) and thread_ts:
            native["thread_ts"] = thread_ts
            thread_id = slack_id(conversation.id, thread_ts)
            if thread_ts != ts:
                links.append(LinkRef(kind="reply_to", target=thread_id))
        else:
            thread_ts = None
        if subtype:
            native["subtype"] = subtype
        if conversation.shared:
            native["is_ext_shared"] = "1"
        links.extend(LinkRef(kind="mention", target=f"slack:{m}") for m in mentions)
        targets = []
        for url in urls:
            target = _reference_target(url)
            if target not in targets:
                targets.append(target)
        links.extend(LinkRef(kind="reference", target=t) for t in targets)

        return ItemRecord(
            platform="slack",
            kind="message",
            canonical_id=slack_id(conversation.id, ts),
            native=native,
            container_id=conversation.id,
            container_name=conversation.name,
            thread_id=thread_id,
            author=author,
            recipients=self._recipients_of(conversation, author),
            created_at=occurred,
            occurred_at=occurred,
            updated_at=_edited_at(message),
            text=text,
            permalink=self._permalink(conversation.id, ts, thread_ts),
            raw=message,
            deleted=_is_deleted(message, subtype),
            links=links,
            attachments=[_attachment(f) for f in files],
        )

    def _recipients_of(
        self, conversation: Conversation, author: IdentityRef | None
    ) -> list[IdentityRef]:
        refs = self._recipients.get(conversation.id)
        if refs is None:
            small = conversation.kind in ("dm", "mpim") or (
                len(conversation.members) <= self.max_recipients
            )
            members = conversation.members if small else ()
            refs = self._recipients[conversation.id] = tuple(
                self.workspace.ref(member) for member in members
            )
        if author is None:
            return list(refs)
        return [ref for ref in refs if ref.value != author.value]

    def _permalink(self, channel: str, ts: str, thread_ts: str | None) -> str | None:
        if not self.workspace.domain:
            return None
        domain = self.workspace.domain
        link = f"https://{domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        if thread_ts and thread_ts != ts:
            link += f"?thread_ts={thread_ts}&cid={channel}"
        return link


def _parse_ts(ts: object) -> datetime | None:
    if not isinstance(ts, str):
        return None
    match = _TS.fullmatch(ts)
    if match is None:
        return None
    # Float parsing would round the microseconds Slack ids carry; keep them exact.
    micros = int((match.group(2) or "0")[:6].ljust(6, "0"))
    try:
        return _EPOCH + timedelta(seconds=int(match.group(1)), microseconds=micros)
    except OverflowError:
        return None


def _edited_at(message: dict[str, Any]) -> datetime | None:
    edited = message.get("edited")
    return _parse_ts(edited.get("ts")) if isinstance(edited, dict) else None


def _is_deleted(message: dict[str, Any], subtype: str | None) -> bool:
    if subtype in _DELETED_SUBTYPES:
        return True
    return message.get("text") == _TOMBSTONE_TEXT and (
        bool(message.get("hidden")) or message.get("user") == _SLACKBOT
    )


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dicts(value: object) -> list[dict[str, Any]]:
    return [entry for entry in value if isinstance(entry, dict)] if isinstance(value, list) else []


def _attachment_pieces(attachment: dict[str, Any]) -> list[str]:
    pieces = [attachment[key] for key in _ATTACHMENT_PARTS if _text(attachment.get(key))]
    for entry in _dicts(attachment.get("fields")):
        title, value = _text(entry.get("title")), _text(entry.get("value"))
        if title or value:
            pieces.append(f"{title}: {value}" if title and value else title or value)
    if not pieces and _text(attachment.get("fallback")):
        pieces.append(attachment["fallback"])
    return pieces


def _files(message: dict[str, Any]) -> list[dict[str, Any]]:
    files = _dicts(message.get("files"))
    single = message.get("file")
    if isinstance(single, dict) and not files:
        files = [single]
    return files


def _file_name(file: dict[str, Any]) -> str:
    return _text(file.get("name")) or _text(file.get("title")) or _text(file.get("id")) or "file"


def _file_line(file: dict[str, Any]) -> str:
    name, title = _file_name(file), _text(file.get("title"))
    return f"[file: {title} ({name})]" if title and title != name else f"[file: {name}]"


def _attachment(file: dict[str, Any]) -> Attachment:
    size = file.get("size")
    return Attachment(
        name=_file_name(file),
        mime_type=_text(file.get("mimetype")) or None,
        size=size if isinstance(size, int) and not isinstance(size, bool) else None,
        url=_text(file.get("url_private")) or None,
    )


def _reference_target(url: str) -> str:
    """A canonical id when the URL names an item Threadline imports, else the URL itself."""
    host = urlsplit(url).hostname or ""
    if host.endswith(("notion.so", "notion.site")):
        # A peeked page (``?p=<id>``) is the page meant; a ``#fragment`` is a block on it.
        parts = urlsplit(url)
        peeked = parse_qs(parts.query).get("p", [""])[0]
        notion = find_notion_id(peeked) or find_notion_id(parts.path)
        return f"notion:{notion}" if notion else url
    if host.endswith(".slack.com"):
        match = _ARCHIVE_URL.match(url)
        if match:
            return slack_id(match.group(1), f"{match.group(2)}.{match.group(3)}")
    return url


def _bot_identity(ref: IdentityRef, message: dict[str, Any]) -> IdentityRecord:
    profile = message.get("bot_profile")
    if not isinstance(profile, dict):
        profile = {}
    facts = {
        "is_bot": True,
        "bot_id": ref.value,
        "name": ref.display_name,
        "app_id": profile.get("app_id") or message.get("app_id"),
        "team": profile.get("team_id") or message.get("team"),
    }
    return IdentityRecord(
        identity=ref,
        platform="slack",
        profile={key: value for key, value in facts.items() if value not in (None, "")},
    )


def _dump(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True).encode()
