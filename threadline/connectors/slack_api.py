"""The live Slack connector: the Web API through slack_sdk, mapped like the export importer.

A pass: refresh the directory when stale (auth.test, users.list: the same IdentityRecords
as the export's users.json), list conversations (conversations.list, plus
conversations.members where recipients need them), then read each conversation
(``slack_api_history``). Users, conversations and messages go through the export importer's
own mapping functions, so a workspace synced live and the same workspace imported from its
export give the same canonical ids and normalized fields.

Rate limits (Slack tiers): users.list and conversations.list Tier 2 (20/min),
conversations.history and conversations.replies Tier 3 (50/min), conversations.members
Tier 4 (100/min). Since 2025, apps distributed commercially outside the Slack Marketplace get
1 request/minute and at most 15 messages per request on conversations.history and
conversations.replies: set the option ``rate_profile: non_marketplace`` and the sync still
completes, checkpointed after every page, at that pace (the progress shows how far it is).
Any method's budget can be overridden with the option ``budgets``.

Passes come in three weights. Slack has no workspace-wide "changes since" endpoint outside
Enterprise Grid (no ``latest``/``unread_count`` in conversations.list either: its ``updated``
is the conversation object's own change time, not message activity), so:

- a sweep (every ``reconcile_minutes``, 60): conversations.list, and per conversation the
  reconciliation window re-read (edits, deletions) plus blind re-reads of active threads;
- a light pass (otherwise): conversations.list and one conversations.history per
  conversation asking only for messages newer than the newest stored;
- with Socket Mode connected (``slack_api_live``) and its session covering the last full
  pass: only the conversations live events touched, and no listing: no request at all when
  nothing happened. Live events already saved the messages; the read keeps the cursor.

Options: ``max_recipients`` (as the importer), ``reconcile_days`` (2, the window),
``reconcile_minutes`` (60, the sweep cadence; 0 sweeps every pass), ``thread_days`` (7),
``directory_hours`` (6), ``page_size`` (200), ``timeout`` (30 s), ``rate_profile``,
``budgets``, and ``now``
(a fixed epoch for "now", for replaying a sample workspace dated in the future).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from threadline.connectors.request_runner import Budget
from threadline.connectors.slack_api_client import SlackApi, SlackMethodError
from threadline.connectors.slack_api_history import ChannelReader, ChannelSkipped, RepeatingCursor
from threadline.connectors.slack_api_live import live_status
from threadline.connectors.slack_api_state import (
    channel_state,
    conversation_of,
    kind_of,
    load_cursor,
    snapshot,
    workspace_from,
)
from threadline.connectors.slack_export import (
    DEFAULT_MAX_RECIPIENTS,
    normalize_domain,
    user_identity,
)
from threadline.connectors.slack_messages import MessageMapper
from threadline.connectors.sync_base import (
    ConnectionSettings,
    Cursor,
    Page,
    PermanentError,
    RequestRunner,
)
from threadline.records import Record, SourceInfo

TIER2, TIER3, TIER4 = Budget(20, 3), Budget(50, 5), Budget(100, 10)
NON_MARKETPLACE = Budget(1, 1)
LIST_SIZE = 200
"""Page size for users, conversations and members: Slack's recommended maximum."""
READ_SCOPES = {
    "public_channel": ("channels:read", "channels:history"),
    "private_channel": ("groups:read", "groups:history"),
    "mpim": ("mpim:read", "mpim:history"),
    "im": ("im:read", "im:history"),
}
NEEDED_SCOPES = ["users:read", "users:read.email", "team:read",
                 *(s for pair in READ_SCOPES.values() for s in pair)]


def _number(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    return float(value) if isinstance(value, int | float) else default


class SlackConnector:
    platform = "slack"
    name = "slack"

    @staticmethod
    def default_budgets(options: Mapping[str, Any]) -> dict[str, Budget]:
        budgets = {
            "auth.test": TIER4, "team.info": TIER3, "users.list": TIER2,
            "conversations.list": TIER2, "conversations.members": TIER4,
            "conversations.history": TIER3, "conversations.replies": TIER3,
        }
        if options.get("rate_profile") == "non_marketplace":
            budgets["conversations.history"] = budgets["conversations.replies"] = NON_MARKETPLACE
        return budgets

    def __init__(self, settings: ConnectionSettings, runner: RequestRunner) -> None:
        token = settings.secrets.get("token")
        if not isinstance(token, str) or not token:
            raise PermanentError("the Slack connection has no token saved; reconnect with "
                                 "`threadline connect slack --token xoxb-...`.")
        self.settings = settings
        self.runner = runner
        options = settings.options
        self.api = SlackApi(token, runner, settings.api_url,
                            timeout=int(_number(options, "timeout", 30)))
        self.max_recipients = int(_number(options, "max_recipients", DEFAULT_MAX_RECIPIENTS))
        self.reconcile_seconds = _number(options, "reconcile_days", 2) * 86400
        self.sweep_seconds = _number(options, "reconcile_minutes", 60) * 60
        self.thread_seconds = _number(options, "thread_days", 7) * 86400
        self.directory_seconds = _number(options, "directory_hours", 6) * 3600
        limit = 15 if options.get("rate_profile") == "non_marketplace" else 200
        self.page_size = int(_number(options, "page_size", limit))
        fixed = options.get("now")
        self.clock = (lambda: float(fixed)) if isinstance(fixed, int | float) else time.time
        self.scopes: list[str] = []
        self.needed_scopes = NEEDED_SCOPES
        self.position: tuple[int, int] | None = None

    def __repr__(self) -> str:
        return f"SlackConnector(api_url={self.settings.api_url!r})"

    # -- discover ------------------------------------------------------------------------

    def discover(self) -> SourceInfo:
        auth = self._auth()
        team = str(auth.get("team_id") or auth.get("team") or "slack")
        domain = normalize_domain(str(auth.get("url") or "")) or None
        label = f"{domain}.slack.com" if domain else str(auth.get("team") or team)
        try:
            info = self.api.call("team.info").get("team") or {}
            if isinstance(info, dict) and info.get("domain") and not domain:
                label = f"{info['domain']}.slack.com"
        except SlackMethodError:
            pass  # team:read is optional; auth.test already named the workspace
        return SourceInfo(platform="slack", kind="slack-api", account=team, label=label)

    def _auth(self) -> dict[str, Any]:
        auth = self.api.call("auth.test")
        header = next(
            (v for k, v in self.api.last_headers.items() if k.lower() == "x-oauth-scopes"), ""
        )
        self.scopes = [s.strip() for s in str(header).split(",") if s.strip()]
        return auth

    # -- sync ----------------------------------------------------------------------------

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        state = load_cursor(cursor)
        now = self.clock()
        directory = state["directory"]
        stale = now - float(directory.get("refreshed") or 0) > self.directory_seconds
        if not state["users_done"] or (stale and state["pass"] is None):
            yield from self._refresh_directory(state, now)
        if state["pass"] is None:
            yield self._plan(state, now, stale)
        workspace = workspace_from(state["directory"], state["conversations"])
        mapper = MessageMapper(workspace, self.max_recipients)
        problems: list[str] = []
        order = state["pass"]["order"]
        while state["pass"]["index"] < len(order):
            index = state["pass"]["index"]
            cid = order[index]
            self.position = (index, len(order))
            meta = state["conversations"].get(cid)
            if meta is None:  # gone since the pass began
                state["pass"]["index"] += 1
                continue
            conversation = conversation_of(cid, meta, workspace)
            reader = ChannelReader(
                self.api, mapper, conversation, channel_state(state, cid), now=now,
                reconcile_seconds=self.reconcile_seconds, thread_seconds=self.thread_seconds,
                limit=self.page_size, sweep=bool(state["pass"].get("sweep", True)),
            )
            note = f"{conversation.name} ({index + 1}/{len(order)})"
            try:
                for records, finished in reader.read():
                    if finished:
                        state["pass"]["index"] += 1
                    yield Page(records, snapshot(state), note=note)
            except (ChannelSkipped, RepeatingCursor) as exc:
                if isinstance(exc, RepeatingCursor):
                    problems.append(str(exc))
                _reset(channel_state(state, cid))
                state["pass"]["index"] += 1
                yield Page([], snapshot(state), note=f"{note}: skipped ({exc})")
        self.position = (len(order), len(order))
        if state["pass"].get("sweep", True):
            state["swept_at"] = state["pass"].get("started", now)
        state["pass"] = None
        yield Page([], snapshot(state), done=True, note="up to date")
        if problems:
            raise PermanentError(" ".join(problems))

    def _plan(self, state: dict[str, Any], now: float, stale: bool) -> Page:
        """Choose this pass's conversations and weight; the plan is checkpointed at once."""
        live = live_status(self.settings.options.get("secret_ref"))
        session = live.current() if live else None
        swept = state.get("swept_at")
        sweep = not isinstance(swept, int | float) or now - swept >= self.sweep_seconds
        if live and session and state.get("live") == session and not sweep and not stale:
            touched = live.take()
            if touched - set(state["conversations"]):
                self._list_conversations(state)  # a conversation new since the last listing
            order = sorted(touched & set(state["conversations"]))
            state["pass"] = {"order": order, "index": 0, "sweep": False, "started": now}
            return Page([], snapshot(state), note=f"{len(order)} conversations with live events")
        if live and session:
            live.take()  # this full pass reads everything the events touched so far
        state["live"] = session
        self._list_conversations(state)
        order = sorted(state["conversations"])
        state["pass"] = {"order": order, "index": 0, "sweep": sweep, "started": now}
        kind = "sweep" if sweep else "new messages"
        return Page([], snapshot(state), note=f"{len(order)} conversations ({kind})")

    def _refresh_directory(self, state: dict[str, Any], now: float) -> Iterator[Page]:
        directory = state["directory"]
        if directory.get("users_page") is None:
            auth = self._auth()
            directory["team"] = auth.get("team_id")
            directory["domain"] = normalize_domain(str(auth.get("url") or "")) or None
            directory["self"] = auth.get("user_id")
            directory["scopes"] = self.scopes
        users: dict[str, Any] = directory.setdefault("users", {})
        bots: dict[str, Any] = directory.setdefault("bots", {})
        seen: set[str] = set()
        while True:
            data = self.api.call("users.list", cursor=directory.get("users_page"),
                                 limit=LIST_SIZE)
            records: list[Record] = []
            for entry in data.get("members") or []:
                identity = user_identity(entry) if isinstance(entry, dict) else None
                if identity is None:
                    continue
                records.append(identity)
                users[identity.identity.value] = identity.identity.display_name
                bot_id = identity.profile.get("bot_id")
                if isinstance(bot_id, str):
                    bots[bot_id] = identity.identity.value
            page = _next(data)
            if page and page in seen:
                raise PermanentError("Slack users.list returned the same page cursor twice; "
                                     "stopping before looping. Try again later.")
            if page:
                seen.add(page)
            directory["users_page"] = page
            if not page:
                state["users_done"] = True
                directory["refreshed"] = now
                directory["members_stale"] = True
            yield Page(records, snapshot(state), note=f"users ({len(users)})")
            if not page:
                return

    def _types(self) -> str:
        granted = set(self.scopes or self.settings.options.get("scopes") or [])
        if not granted:
            return ",".join(READ_SCOPES)
        return ",".join(t for t, (read, _h) in READ_SCOPES.items() if read in granted) or (
            "public_channel"
        )

    def _list_conversations(self, state: dict[str, Any]) -> None:
        if not self.scopes:
            self.scopes = list(state["directory"].get("scopes") or [])
        known: dict[str, Any] = state["conversations"]
        stale = bool(state["directory"].pop("members_stale", False))
        listed: dict[str, Any] = {}
        for entry in self._paginate("conversations.list", "channels", types=self._types(),
                                    exclude_archived=False):
            cid = entry.get("id")
            if not isinstance(cid, str):
                continue
            kind = kind_of(entry)
            if kind in ("channel", "group") and entry.get("is_member") is False:
                continue  # a bot reads only where it was invited
            old = known.get(cid)
            meta = {
                "kind": kind,
                "name": entry.get("name") if kind != "dm" else None,
                "shared": bool(entry.get("is_ext_shared") or entry.get("is_shared")),
                "members": (old or {}).get("members", []),
            }
            if old is None or stale:
                meta["members"] = self._members(cid, kind, entry)
            listed[cid] = meta
        state["conversations"] = listed

    def _members(self, cid: str, kind: str, entry: dict[str, Any]) -> list[str]:
        count = entry.get("num_members")
        if kind in ("channel", "group") and isinstance(count, int) and count > self.max_recipients:
            return []  # too many to list per message: the importer drops them too
        try:
            return [m for m in self._paginate("conversations.members", "members", channel=cid)
                    if isinstance(m, str)]
        except SlackMethodError:
            me = self.settings.options.get("self") or ""
            return [u for u in (me, entry.get("user")) if isinstance(u, str) and u]

    def _paginate(self, method: str, key: str, **params: Any) -> Iterator[Any]:
        page: str | None = None
        seen: set[str] = set()
        while True:
            data = self.api.call(method, cursor=page, limit=LIST_SIZE, **params)
            yield from data.get(key) or []
            page = _next(data)
            if not page:
                return
            if page in seen:
                raise PermanentError(f"Slack {method} returned the same page cursor twice; "
                                     "stopping before looping. Try again later.")
            seen.add(page)


def _next(data: dict[str, Any]) -> str | None:
    meta = data.get("response_metadata")
    value = meta.get("next_cursor") if isinstance(meta, dict) else None
    return value if isinstance(value, str) and value else None


def _reset(state: dict[str, Any]) -> None:
    state.update(page=None, pass_seen=[], newest=None, pending_threads=[], history_done=False)
    state.pop("read_from", None)
    state.pop("light", None)
