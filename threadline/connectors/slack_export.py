"""The ``slack-export`` importer: a workspace export (.zip or folder) to records.

An export holds users.json, one metadata list per conversation type (channels.json,
groups.json, mpims.json, dms.json) and one folder per conversation of day files
(``YYYY-MM-DD.json``, a JSON list of messages). Channel, private channel and group-DM
folders are named by the conversation's name, DM folders by the DM's id. Day files are
read one at a time, so memory stays bounded by the largest day, not the export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from threadline.connectors.import_units import (
    fingerprint,
    finish_unit,
    known_count,
    skipped,
    unit_name,
)
from threadline.connectors.slack_archive import ExportFiles, open_export, parse_json
from threadline.connectors.slack_messages import (
    Conversation,
    MessageMapper,
    MessageUnreadable,
    Workspace,
)
from threadline.errors import ItemUnreadable
from threadline.records import (
    IdentityRecord,
    IdentityRef,
    KnownUnits,
    QuarantineRecord,
    Record,
    SourceInfo,
)

# Order in which conversation lists are read; DMs are the only ones named by id on disk.
_CONVERSATION_LISTS = (
    ("channels.json", "channel"),
    ("groups.json", "group"),
    ("mpims.json", "mpim"),
    ("dms.json", "dm"),
)
DEFAULT_MAX_RECIPIENTS = 50
# In every day file's fingerprint: bump it when a change here alters the records of a day
# file, so that the next import parses every day file again.
IMPORTER_VERSION = "slack-export/1"


class SlackExportImporter:
    """Reads a Slack workspace export.

    Options: ``domain`` (the workspace's ``<domain>.slack.com``, which exports do not record;
    with it every message gets a permalink) and ``max_recipients`` (channels with more
    members than this get no per-message recipient list, which would only bloat the store).
    """

    name = "slack-export"
    known_units: KnownUnits | None = None
    """Set by the runner: day files imported before with the same fingerprint are skipped."""

    def __init__(self, path: Path, **options: object) -> None:
        self.path = Path(path)
        domain = options.get("domain")
        self.domain = _normalize_domain(domain) if isinstance(domain, str) and domain else None
        max_recipients = options.get("max_recipients", DEFAULT_MAX_RECIPIENTS)
        self.max_recipients = max_recipients if isinstance(max_recipients, int) else 0

    def source(self) -> SourceInfo:
        with open_export(self.path) as files:
            users, _ = _read_list(files, "users.json")
        team = next((u.get("team_id") for u in users if isinstance(u.get("team_id"), str)), None)
        account = team or self.domain or _stem(self.path)
        return SourceInfo(
            platform="slack",
            kind=self.name,
            account=account,
            label=f"{self.domain}.slack.com" if self.domain else self.path.name,
        )

    def estimate(self) -> int | None:
        with open_export(self.path) as files:
            return files.day_file_count()

    def read(self) -> Iterator[Record]:
        with open_export(self.path) as files:
            workspace = Workspace(domain=self.domain)
            users, problem = _read_list(files, "users.json")
            if problem:
                yield problem
            people: list[tuple[str, str, str]] = []
            for user in users:
                identity = _user_identity(user)
                if identity is not None:
                    workspace.add_user(identity)
                    bot_id = identity.profile.get("bot_id")
                    people.append(
                        (
                            identity.identity.value,
                            identity.identity.display_name or "",
                            bot_id if isinstance(bot_id, str) else "",
                        )
                    )
                    yield identity
            conversations: list[Conversation] = []
            for list_name, kind in _CONVERSATION_LISTS:
                entries, problem = _read_list(files, list_name)
                if problem:
                    yield problem
                conversations.extend(
                    c for c in (_conversation(entry, kind, workspace) for entry in entries) if c
                )
            mapper = MessageMapper(workspace, self.max_recipients)
            shared = self._shared_digest(people, workspace.channel_names)
            claimed: set[str] = set()
            for conversation in conversations:
                if conversation.folder in files.folders and conversation.folder not in claimed:
                    claimed.add(conversation.folder)
                    yield from self._read_conversation(files, conversation, mapper, shared)
            for folder in sorted(set(files.folders) - claimed):
                # A folder no list describes: its id is unknown, so its name stands in for it.
                orphan = Conversation(id=folder, kind="channel", folder=folder, name=f"#{folder}")
                yield from self._read_conversation(files, orphan, mapper, shared)

    def _shared_digest(
        self, people: list[tuple[str, str, str]], channel_names: dict[str, str]
    ) -> str:
        """What every day file's records depend on besides the day file itself.

        Only what the mapper reads goes in (names, bot owners, channel names, options), so
        a profile edit such as a new title does not make every day file parse again; a
        renamed user or channel does, as any day file may mention them.
        """
        return fingerprint(
            IMPORTER_VERSION,
            self.domain,
            self.max_recipients,
            sorted(people),
            sorted(channel_names.items()),
        )

    def _read_conversation(
        self,
        files: ExportFiles,
        conversation: Conversation,
        mapper: MessageMapper,
        shared: str,
    ) -> Iterator[Record]:
        for day in files.folders[conversation.folder]:
            relpath = f"{conversation.folder}/{day}"
            unit = unit_name(relpath)
            try:
                # The conversation's members and label shape each of its messages too.
                stamp = fingerprint(
                    IMPORTER_VERSION, shared, repr(conversation), files.fingerprint(relpath)
                )
            except ItemUnreadable:
                stamp = None  # parsed, and quarantined, below
            count = known_count(self.known_units, unit, stamp)
            if stamp is not None and count is not None:
                yield skipped(unit, stamp, count)
                continue
            yield from finish_unit(
                unit, stamp, self._read_day(files, relpath, conversation, mapper)
            )

    def _read_day(
        self, files: ExportFiles, relpath: str, conversation: Conversation, mapper: MessageMapper
    ) -> Iterator[Record]:
        try:
            data = files.read(relpath)
            messages = parse_json(relpath, data)
        except ItemUnreadable as error:
            yield _quarantine(error)
            return
        if not isinstance(messages, list):
            yield QuarantineRecord(
                platform="slack",
                file=relpath,
                position="top level",
                reason="a day file must hold a JSON list of messages; this one holds "
                f"a {type(messages).__name__}. Re-export from Slack.",
                raw=data,
            )
            return
        for index, message in enumerate(messages):
            try:
                yield from mapper.records(conversation, message)
            except MessageUnreadable as error:
                yield QuarantineRecord(
                    platform="slack",
                    file=relpath,
                    position=f"message index {index}",
                    reason=error.reason,
                    raw=error.raw,
                )


def _read_list(
    files: ExportFiles, relpath: str
) -> tuple[list[dict[str, Any]], QuarantineRecord | None]:
    """A top-level JSON list of objects; missing is empty, broken is quarantined and empty."""
    if relpath not in files.top_level:
        return [], None
    try:
        loaded = parse_json(relpath, files.read(relpath))
    except ItemUnreadable as error:
        return [], _quarantine(error)
    if not isinstance(loaded, list):
        return [], QuarantineRecord(
            platform="slack",
            file=relpath,
            position="top level",
            reason=f"expected a JSON list, found a {type(loaded).__name__}. Re-export from Slack.",
            raw=files.read(relpath),
        )
    return [entry for entry in loaded if isinstance(entry, dict)], None


def _quarantine(error: ItemUnreadable) -> QuarantineRecord:
    return QuarantineRecord(
        platform="slack",
        file=error.file,
        position=error.position,
        reason=error.reason,
        raw=error.raw,
    )


def _user_identity(user: dict[str, Any]) -> IdentityRecord | None:
    user_id = user.get("id")
    if not isinstance(user_id, str) or not user_id:
        return None
    profile = user.get("profile")
    if not isinstance(profile, dict):
        profile = {}
    facts: dict[str, Any] = {
        "name": user.get("name"),
        "real_name": user.get("real_name") or profile.get("real_name"),
        "display_name": profile.get("display_name"),
        "email": profile.get("email"),
        "title": profile.get("title"),
        "team": user.get("team_id") or profile.get("team"),
        "is_bot": bool(user.get("is_bot")),
        "deleted": bool(user.get("deleted")),
        "bot_id": profile.get("bot_id"),
        "tz": user.get("tz"),
    }
    display = facts["real_name"] or facts["display_name"] or facts["name"] or None
    return IdentityRecord(
        identity=IdentityRef(kind="slack", value=user_id, display_name=display),
        platform="slack",
        profile={key: value for key, value in facts.items() if value not in (None, "")},
    )


def _conversation(entry: dict[str, Any], kind: str, workspace: Workspace) -> Conversation | None:
    conversation_id = entry.get("id")
    if not isinstance(conversation_id, str) or not conversation_id:
        return None
    raw_members = entry.get("members")
    members = tuple(m for m in raw_members if isinstance(m, str)) if isinstance(
        raw_members, list
    ) else ()
    name = entry.get("name") if isinstance(entry.get("name"), str) else None
    if name and kind in ("channel", "group"):
        workspace.channel_names[conversation_id] = name
    folder = conversation_id if kind == "dm" or not name else name
    if kind in ("channel", "group"):
        label = f"#{name or conversation_id}"
    else:
        people = ", ".join(workspace.name_of(member) for member in members) or name
        label = f"{'DM' if kind == 'dm' else 'Group DM'} with {people or conversation_id}"
    shared = any(entry.get(flag) is True for flag in ("is_ext_shared", "is_shared"))
    return Conversation(
        id=conversation_id, kind=kind, folder=folder, name=label, members=members, shared=shared
    )


def _normalize_domain(domain: str) -> str:
    host = domain.strip().lower().removeprefix("https://").removeprefix("http://")
    host = host.split("/", 1)[0]
    return host.removesuffix(".slack.com")


def _stem(path: Path) -> str:
    return path.stem if path.is_file() else path.name


# The live connector (slack_api) maps users.list and conversations.list objects, which have
# the export's shape, with these same functions: both paths must give identical records.
user_identity = _user_identity
conversation_from_entry = _conversation
normalize_domain = _normalize_domain
