"""The Slack sync cursor: a JSON document saved after every page.

::

    {"v": 1,
     "directory": {"users": {"U1": "Ann Lee"}, "bots": {"B1": "U9"}, "domain": "acme",
                   "team": "T1", "refreshed": 1700000000.0, "users_page": null},
     "users_done": true,
     "conversations": {"C1": {"kind": "channel", "name": "general", "members": [],
                              "shared": false}},
     "channels": {"C1": {"oldest": "1700000000.000100", "page": null, "newest": null,
                         "pass_seen": [], "recent": {"1700000000.000100": ""},
                         "threads": {"1699990000.000200": [3, "1700000000.000100"]},
                         "pending_threads": [], "history_done": true}},
     "pass": {"order": ["C1"], "index": 0}}

``oldest`` is the newest ts already stored (the next pass reads from there, minus the
reconciliation window). ``recent`` maps each ts inside that window to its thread ("" for
channel-level messages): what a later pass expects to see again, so a message missing from
history becomes a tombstone. ``threads`` keeps (reply_count, latest_reply) for threads active
inside the thread window, so their new replies are found even when the parent is old.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from threadline.connectors.slack_export import conversation_from_entry
from threadline.connectors.slack_messages import Conversation, Workspace
from threadline.records import IdentityRecord, IdentityRef

CURSOR_VERSION = 1


def new_cursor() -> dict[str, Any]:
    return {
        "v": CURSOR_VERSION,
        "directory": {},
        "users_done": False,
        "conversations": {},
        "channels": {},
        "pass": None,
    }


def load_cursor(cursor: dict[str, Any] | None) -> dict[str, Any]:
    if not cursor or cursor.get("v") != CURSOR_VERSION:
        return new_cursor()
    # Work on a copy: the engine keeps the caller's dict as the last committed checkpoint.
    return copy.deepcopy(cursor)


def snapshot(cursor: dict[str, Any]) -> dict[str, Any]:
    """A detached, JSON-clean copy for a Page (later mutations must not leak into it)."""
    loaded: dict[str, Any] = json.loads(json.dumps(cursor))
    return loaded


def channel_state(cursor: dict[str, Any], channel: str) -> dict[str, Any]:
    channels: dict[str, Any] = cursor.setdefault("channels", {})
    state: dict[str, Any] = channels.setdefault(channel, {})
    state.setdefault("oldest", None)
    state.setdefault("page", None)
    state.setdefault("newest", None)
    state.setdefault("pass_seen", [])
    state.setdefault("recent", {})
    state.setdefault("threads", {})
    state.setdefault("pending_threads", [])
    state.setdefault("history_done", False)
    return state


def workspace_from(directory: dict[str, Any], conversations: dict[str, Any]) -> Workspace:
    """Rebuild the names and identities the message mapper needs from the cursor."""
    domain = directory.get("domain")
    workspace = Workspace(domain=domain if isinstance(domain, str) and domain else None)
    bots_by_user = {uid: bot for bot, uid in (directory.get("bots") or {}).items()}
    for uid, name in (directory.get("users") or {}).items():
        profile = {"bot_id": bots_by_user[uid]} if uid in bots_by_user else {}
        workspace.add_user(
            IdentityRecord(
                identity=IdentityRef(kind="slack", value=uid, display_name=name or None),
                platform="slack",
                profile=profile,
            )
        )
    for cid, meta in conversations.items():
        if meta.get("kind") in ("channel", "group") and meta.get("name"):
            workspace.channel_names[cid] = meta["name"]
    return workspace


def conversation_of(cid: str, meta: dict[str, Any], workspace: Workspace) -> Conversation:
    entry = {
        "id": cid,
        "name": meta.get("name"),
        "members": meta.get("members") or [],
        "is_ext_shared": bool(meta.get("shared")),
    }
    found = conversation_from_entry(entry, str(meta.get("kind") or "channel"), workspace)
    assert found is not None  # cid is a non-empty string
    return found


def kind_of(entry: dict[str, Any]) -> str:
    """conversations.list flags to the export's kinds: channel, group, mpim, dm."""
    if entry.get("is_im"):
        return "dm"
    if entry.get("is_mpim"):
        return "mpim"
    if entry.get("is_private") or entry.get("is_group"):
        return "group"
    return "channel"


def ts_key(ts: str) -> tuple[int, int]:
    """Slack ts strings sort as numbers, not text ("999.1" < "1000.0")."""
    seconds, _, fraction = ts.partition(".")
    try:
        return int(seconds), int(fraction.ljust(6, "0")[:6] or 0)
    except ValueError:
        return 0, 0


def later(a: str | None, b: str | None) -> str | None:
    if a is None:
        return b
    if b is None:
        return a
    return a if ts_key(a) >= ts_key(b) else b
