"""A local fake of the Slack Web API's posting side: chat.postMessage, chat.getPermalink and
conversations.open, for the real slack_sdk WebClient (the reading side is slack_server.py).

It answers the way Slack does: HTTP 200 with ``ok: false`` and an error code for refusals
(``missing_scope`` with ``needed``/``provided``, ``not_in_channel``, ``channel_not_found``,
``invalid_auth``, ``invalid_blocks``), 429 with Retry-After when rate limited. Faults are
queued per method.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fakes.local_http import LocalHTTPServer


@dataclass
class Post:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]


@dataclass
class SlackPostState:
    token: str = "xoxb-post-token"
    scopes: list[str] = field(default_factory=lambda: ["chat:write", "im:write"])
    channels: dict[str, str] = field(default_factory=lambda: {"acme-updates": "C0ACME",
                                                              "globex": "C0GLOBEX"})
    member_of: set[str] = field(default_factory=lambda: {"C0ACME"})
    users: set[str] = field(default_factory=lambda: {"U0JANE"})
    posts: list[Post] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    faults: dict[str, list[tuple[int, str, str | None]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, method: str, status: int, error: str, retry_after: str | None = None,
              times: int = 1) -> None:
        self.faults.setdefault(method, []).extend([(status, error, retry_after)] * times)


def _blocks_problem(blocks: list[dict[str, Any]]) -> str | None:
    if len(blocks) > 50:
        return "more than 50 blocks"
    for b in blocks:
        if b.get("type") == "header" and len(b["text"]["text"]) > 150:
            return "header text over 150"
        if b.get("type") == "section" and len(b["text"]["text"]) > 3000:
            return "section text over 3000"
        if b.get("type") == "context" and len(b.get("elements", [])) > 10:
            return "context over 10 elements"
    return None


def _answer(state: SlackPostState, method: str, p: dict[str, Any]) -> dict[str, Any]:
    def scope(needed: str) -> dict[str, Any] | None:
        if needed in state.scopes:
            return None
        return {"ok": False, "error": "missing_scope", "needed": needed,
                "provided": ",".join(state.scopes)}

    if method == "conversations.open":
        refused = scope("im:write")
        if refused:
            return refused
        user = str(p.get("users", ""))
        if user not in state.users:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "channel": {"id": "D" + user[1:]}}
    if method == "chat.postMessage":
        refused = scope("chat:write")
        if refused:
            return refused
        name = str(p.get("channel", ""))
        channel = state.channels.get(name.lstrip("#"), name)
        if channel not in state.channels.values() and not channel.startswith("D"):
            return {"ok": False, "error": "channel_not_found"}
        if channel.startswith("C") and channel not in state.member_of:
            return {"ok": False, "error": "not_in_channel"}
        blocks = p.get("blocks") or []
        if isinstance(blocks, str):
            blocks = json.loads(blocks)
        problem = _blocks_problem(blocks)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        ts = f"1764500000.{len(state.posts) + 1:06d}"
        state.posts.append(Post(channel, ts, str(p.get("text", "")), blocks))
        return {"ok": True, "channel": channel, "ts": ts, "message": {"ts": ts}}
    if method == "chat.getPermalink":
        ts = str(p.get("message_ts", ""))
        return {"ok": True, "channel": p.get("channel"),
                "permalink": f"https://fake.slack.com/archives/{p.get('channel')}/"
                             f"p{ts.replace('.', '')}"}
    return {"ok": False, "error": "unknown_method"}


class _Handler(BaseHTTPRequestHandler):
    state: SlackPostState

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        method = parts.path.rsplit("/", 1)[-1]
        params: dict[str, Any] = dict(parse_qsl(parts.query))
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if body and "json" in (self.headers.get("Content-Type") or ""):
            params.update(json.loads(body))
        elif body:
            params.update(dict(parse_qsl(body.decode())))
        state = self.state
        with state.lock:
            state.calls.append(method)
            queued = state.faults.get(method) or []
            fault = queued.pop(0) if queued else None
            if fault is None:
                auth = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
                answer = (_answer(state, method, params) if auth == state.token
                          else {"ok": False, "error": "invalid_auth"})
        if fault is not None:
            status, error, after = fault
            return self._send(status, {"ok": False, "error": error},
                              {"Retry-After": after} if after else {})
        self._send(200, answer)

    def _send(self, status: int, payload: dict[str, Any],
              headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)


class FakeSlackPost(LocalHTTPServer):
    """``with FakeSlackPost() as fake:``; ``fake.url`` is the API base URL."""

    def __init__(self, state: SlackPostState | None = None) -> None:
        self.state = state or SlackPostState()
        super().__init__(_Handler, self.state, "/api/")
