"""A local fake of the Slack Web API, for the real slack_sdk WebClient to talk to.

Its objects are Slack's own: conversation and auth payloads start from the real example
responses in tests/fixtures/slack-api/ (slackapi/slack-api-specs), and the workspace (users,
conversations, messages) is parsed from a slack-export.zip (the sample workspace's), whose
objects have the API's shape. History and replies are split as Slack splits them: thread
replies are only in conversations.replies, parents carry reply_count / latest_reply.

apps.connections.open answers ``socket_url`` for an app-level token (Socket Mode).

Faults are queued per method: 429 with Retry-After, 500, a timeout, a truncated JSON body, a
revoked token, an expired (invalid) cursor, a pagination cursor that repeats.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
import time
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent.parent / "fixtures" / "slack-api"
LISTS = (("channels.json", "channel"), ("groups.json", "group"), ("mpims.json", "mpim"),
         ("dms.json", "dm"))


def fixture(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return loaded


def _key(ts: str) -> tuple[int, int]:
    sec, _, frac = ts.partition(".")
    return int(sec), int(frac.ljust(6, "0")[:6] or 0)


@dataclass
class Fault:
    kind: str
    """429 | 500 | timeout | truncated | revoked | invalid_cursor | repeat_cursor"""
    times: int = 1
    retry_after: float = 0


@dataclass
class Conv:
    id: str
    kind: str
    entry: dict[str, Any]
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)


class SlackWorkspace:
    """The state the fake serves; tests change it between passes (post, edit, delete)."""

    def __init__(self, team: str = "T0FAKE", domain: str = "fake", self_user: str = "U0SELF"):
        self.team, self.domain, self.self_user = team, domain, self_user
        self.users: list[dict[str, Any]] = []
        self.convs: dict[str, Conv] = {}
        self._history: dict[str, list[dict[str, Any]]] = {}  # cleared by every change

    @classmethod
    def from_export(cls, path: Path, domain: str = "northwind") -> SlackWorkspace:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            users = json.loads(zf.read("users.json"))
            team = next((u.get("team_id") for u in users if u.get("team_id")), "T0FAKE")
            ws = cls(team=team, domain=domain, self_user=users[0]["id"])
            ws.users = users
            for list_name, kind in LISTS:
                if list_name not in names:
                    continue
                for entry in json.loads(zf.read(list_name)):
                    conv = Conv(entry["id"], kind, entry)
                    folder = entry["id"] if kind == "dm" else entry.get("name", entry["id"])
                    for name in sorted(n for n in names if n.startswith(folder + "/")):
                        for message in json.loads(zf.read(name)):
                            conv.messages[message["ts"]] = message
                    ws.convs[conv.id] = conv
        return ws

    def message_count(self) -> int:
        return sum(len(c.messages) for c in self.convs.values())

    # -- changes tests make between passes ----------------------------------------------

    def post(self, channel: str, text: str, ts: str, user: str | None = None,
             thread_ts: str | None = None) -> None:
        self._history.clear()
        message: dict[str, Any] = {"type": "message", "user": user or self.self_user,
                                   "text": text, "ts": ts}
        if thread_ts:
            message["thread_ts"] = thread_ts
            parent = self.convs[channel].messages[thread_ts]
            parent["thread_ts"] = thread_ts
        self.convs[channel].messages[ts] = message

    def edit(self, channel: str, ts: str, text: str, edited_ts: str) -> None:
        self._history.clear()
        message = self.convs[channel].messages[ts]
        message["text"] = text
        message["edited"] = {"user": message.get("user", ""), "ts": edited_ts}

    def delete(self, channel: str, ts: str) -> None:
        self._history.clear()
        del self.convs[channel].messages[ts]

    # -- views as the API shows them ----------------------------------------------------

    def conversation_object(self, conv: Conv) -> dict[str, Any]:
        template = copy.deepcopy(fixture("conversations.list")["channels"][0])
        entry = conv.entry
        members = entry.get("members") or []
        obj = {**template, "id": conv.id, "created": entry.get("created", 0),
               "creator": entry.get("creator", ""), "is_general": bool(entry.get("is_general")),
               "is_archived": bool(entry.get("is_archived")),
               "is_ext_shared": bool(entry.get("is_ext_shared")),
               "is_shared": bool(entry.get("is_shared")), "is_member": True,
               "is_channel": conv.kind == "channel", "is_group": conv.kind == "group",
               "is_mpim": conv.kind == "mpim", "is_im": conv.kind == "dm",
               "is_private": conv.kind != "channel", "num_members": len(members)}
        if conv.kind == "dm":
            obj = {"id": conv.id, "created": entry.get("created", 0), "is_im": True,
                   "is_org_shared": False, "user": next(
                       (m for m in members if m != self.self_user), self.self_user),
                   "is_user_deleted": False, "priority": 0}
        else:
            obj["name"] = obj["name_normalized"] = entry.get("name", conv.id)
            for key in ("topic", "purpose"):
                if key in entry:
                    obj[key] = entry[key]
        return obj

    def history(self, conv: Conv) -> list[dict[str, Any]]:
        """Top-level messages, newest first; parents carry their thread's summary."""
        if conv.id not in self._history:
            self._history[conv.id] = self._build_history(conv)
        return self._history[conv.id]

    def _build_history(self, conv: Conv) -> list[dict[str, Any]]:
        replies: dict[str, list[str]] = defaultdict(list)
        top: list[dict[str, Any]] = []
        for ts, message in conv.messages.items():
            thread = message.get("thread_ts")
            if thread and thread != ts:
                replies[thread].append(ts)
                if message.get("subtype") != "thread_broadcast":
                    continue
            top.append(message)
        shown = []
        for message in top:
            message = dict(message)
            ts = message["ts"]
            if replies.get(ts):
                message["reply_count"] = len(replies[ts])
                message["latest_reply"] = max(replies[ts], key=_key)
                message["thread_ts"] = ts
            shown.append(message)
        return sorted(shown, key=lambda m: _key(m["ts"]), reverse=True)

    def replies(self, conv: Conv, parent: str) -> list[dict[str, Any]] | None:
        if parent not in conv.messages:
            return None
        thread = [m for m in conv.messages.values()
                  if m.get("thread_ts") == parent and m["ts"] != parent]
        head = next((m for m in self.history(conv) if m["ts"] == parent), conv.messages[parent])
        return [head, *sorted(thread, key=lambda m: _key(m["ts"]))]


def _encode(offset: int) -> str:
    return base64.b64encode(f"offset:{offset}".encode()).decode()


def _decode(cursor: str | None) -> int | None:
    if not cursor:
        return 0
    try:
        text = base64.b64decode(cursor).decode()
    except ValueError:
        return None
    return int(text[7:]) if text.startswith("offset:") else None


class FakeSlack:
    """Serves a SlackWorkspace on 127.0.0.1; ``url`` is the base_url for WebClient."""

    def __init__(self, workspace: SlackWorkspace, token: str = "xoxb-test-token",
                 scopes: str | None = None) -> None:
        self.workspace = workspace
        self.tokens = {token}
        self.scopes = scopes or ("channels:read,channels:history,groups:read,groups:history,"
                                 "mpim:read,mpim:history,im:read,im:history,users:read,"
                                 "users:read.email,team:read")
        self.faults: dict[str, list[Fault]] = defaultdict(list)
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.delay = 0.0
        self.app_tokens: set[str] = set()
        self.socket_url: str | None = None
        """What apps.connections.open answers (a slack_socket.SocketModeServer's url)."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                self._serve()

            def do_POST(self) -> None:
                self._serve()

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                method = parts.path.rstrip("/").rsplit("/", 1)[-1]
                params = dict(parse_qsl(parts.query))
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                if body.startswith("{"):
                    params.update({k: str(v) for k, v in json.loads(body).items()})
                elif body:
                    params.update(parse_qsl(body))
                token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                fake.respond(self, method, params, token)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/api/"

    def __enter__(self) -> FakeSlack:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def inject(self, method: str, kind: str, times: int = 1, retry_after: float = 0) -> None:
        self.faults[method].append(Fault(kind, times, retry_after))

    def count(self, method: str | None = None) -> int:
        return sum(1 for m, _ in self.calls if method is None or m == method)

    # -- responses ----------------------------------------------------------------------

    def respond(self, h: BaseHTTPRequestHandler, method: str, params: dict[str, str],
                token: str) -> None:
        with self.lock:
            self.calls.append((method, params))
            fault = self._take_fault(method)
        if self.delay:
            time.sleep(self.delay)
        if fault is not None and fault.kind != "repeat_cursor":
            self._fault(h, fault)
            return
        if token not in (self.app_tokens if method == "apps.connections.open" else self.tokens):
            self._send(h, 200, {"ok": False, "error": "invalid_auth"})
            return
        with self.lock:
            payload = self._payload(method, params, repeat=fault is not None)
        headers = {"x-oauth-scopes": self.scopes} if method == "auth.test" else {}
        self._send(h, 200, payload, headers)

    def _take_fault(self, method: str) -> Fault | None:
        queue = self.faults.get(method)
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    def _fault(self, h: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.kind == "429":
            self._send(h, 429, {"ok": False, "error": "ratelimited"},
                       {"Retry-After": str(int(fault.retry_after))})
        elif fault.kind == "500":
            raw = b"<html><body>Internal Server Error</body></html>"
            h.send_response(500)
            h.send_header("Content-Type", "text/html")
            h.send_header("Content-Length", str(len(raw)))
            h.end_headers()
            h.wfile.write(raw)
        elif fault.kind == "timeout":
            time.sleep(fault.retry_after or 1.5)
            self._send(h, 200, {"ok": False, "error": "too_late"})
        elif fault.kind == "truncated":
            body = json.dumps({"ok": True, "messages": [{"ts": "1.0", "text": "x" * 50}]})
            self._raw(h, 200, body[: len(body) // 2].encode())
        elif fault.kind == "revoked":
            self._send(h, 200, {"ok": False, "error": "token_revoked"})
        elif fault.kind == "invalid_cursor":
            self._send(h, 200, {"ok": False, "error": "invalid_cursor"})
        else:
            raise ValueError(fault.kind)

    def _send(self, h: BaseHTTPRequestHandler, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        self._raw(h, status, json.dumps(payload).encode(), headers)

    def _raw(self, h: BaseHTTPRequestHandler, status: int, raw: bytes,
             headers: dict[str, str] | None = None) -> None:
        h.send_response(status)
        h.send_header("Content-Type", "application/json; charset=utf-8")
        h.send_header("Content-Length", str(len(raw)))
        for key, value in (headers or {}).items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(raw)

    def _page(self, items: list[Any], params: dict[str, str], key: str,
              extra: dict[str, Any] | None = None, repeat: bool = False) -> dict[str, Any]:
        offset = _decode(params.get("cursor"))
        if offset is None:
            return {"ok": False, "error": "invalid_cursor"}
        limit = max(1, min(int(params.get("limit") or 100), 1000))
        chunk = items[offset: offset + limit]
        more = offset + limit < len(items)
        next_cursor = _encode(offset + limit) if more else ""
        if repeat:
            next_cursor = params.get("cursor") or _encode(0)
            more = True
        return {"ok": True, key: chunk, **(extra or {}), "has_more": more,
                "response_metadata": {"next_cursor": next_cursor}}

    def _payload(self, method: str, params: dict[str, str], repeat: bool) -> dict[str, Any]:
        ws = self.workspace
        if method == "auth.test":
            return {**fixture("auth.test"), "team": ws.domain.title(), "team_id": ws.team,
                    "url": f"https://{ws.domain}.slack.com/", "user_id": ws.self_user,
                    "user": "me"}
        if method == "team.info":
            info = fixture("team.info")
            info["team"] = {**info["team"], "id": ws.team, "domain": ws.domain,
                            "name": ws.domain.title()}
            return info
        if method == "apps.connections.open":
            return {"ok": True, "url": self.socket_url}
        if method == "users.list":
            return self._page(ws.users, params, "members", {"cache_ts": 0}, repeat)
        if method == "conversations.list":
            wanted = set((params.get("types") or "public_channel").split(","))
            kinds = {"channel": "public_channel", "group": "private_channel", "mpim": "mpim",
                     "dm": "im"}
            convs = [ws.conversation_object(c) for c in ws.convs.values()
                     if kinds[c.kind] in wanted]
            return self._page(convs, params, "channels", repeat=repeat)
        conv = ws.convs.get(params.get("channel", ""))
        if conv is None:
            return {"ok": False, "error": "channel_not_found"}
        if method == "conversations.members":
            return self._page(list(conv.entry.get("members") or []), params, "members",
                              repeat=repeat)
        if method == "conversations.history":
            messages = ws.history(conv)
            oldest = params.get("oldest")
            if oldest:
                inclusive = params.get("inclusive") in ("1", "true", "True")
                messages = [m for m in messages if _key(m["ts"]) > _key(oldest)
                            or (inclusive and _key(m["ts"]) == _key(oldest))]
            return self._page(messages, params, "messages", {"pin_count": 0}, repeat)
        if method == "conversations.replies":
            thread = ws.replies(conv, params.get("ts", ""))
            if thread is None:
                return {"ok": False, "error": "thread_not_found"}
            return self._page(thread, params, "messages", repeat=repeat)
        return {"ok": False, "error": "unknown_method"}
