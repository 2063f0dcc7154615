"""A local fake of Gmail's sending side: users.messages.send, users.messages.list with an
``rfc822msgid:`` query, and the OAuth token endpoint, for the real googleapiclient.

Paths are the discovery document's (``/gmail/v1/users/me/...``). A message sent with a
``threadId`` joins that thread; otherwise it starts one. ``can_send=False`` answers 403
``insufficientPermissions``, as Gmail does for a token holding only read-only scopes.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fakes.local_http import LocalHTTPServer


@dataclass
class Sent:
    id: str
    thread_id: str
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class GmailSendState:
    can_send: bool = True
    sent: list[Sent] = field(default_factory=list)
    access_tokens: set[str] = field(default_factory=lambda: {"access-0"})
    faults: list[tuple[str, int]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _error(code: int, reason: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": reason, "errors": [{"reason": reason}]}}


class _Handler(BaseHTTPRequestHandler):
    state: GmailSendState

    def log_message(self, *args: Any) -> None:
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        if path == "/token":
            with self.state.lock:
                token = f"access-{len(self.state.access_tokens)}"
                self.state.access_tokens.add(token)
            return self._send(200, {"access_token": token, "expires_in": 3599,
                                    "token_type": "Bearer"})
        if not self._authorized():
            return self._send(401, _error(401, "authError"))
        if path != "/gmail/v1/users/me/messages/send":
            return self._send(404, _error(404, "notFound"))
        with self.state.lock:
            fault = next((f for f in self.state.faults if f[0] == "send"), None)
            if fault:
                self.state.faults.remove(fault)
                return self._send(fault[1], _error(fault[1], "backendError"))
            if not self.state.can_send:
                return self._send(403, _error(403, "insufficientPermissions"))
            payload = json.loads(body)
            raw = base64.urlsafe_b64decode(payload["raw"] + "=" * (-len(payload["raw"]) % 4))
            gmail_id = f"{len(self.state.sent) + 1:016x}"
            thread = payload.get("threadId") or gmail_id
            self.state.sent.append(Sent(gmail_id, thread, raw))
        self._send(200, {"id": gmail_id, "threadId": thread, "labelIds": ["SENT"]})

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        if not self._authorized():
            return self._send(401, _error(401, "authError"))
        if parts.path != "/gmail/v1/users/me/messages":
            return self._send(404, _error(404, "notFound"))
        query = parse_qs(parts.query).get("q", [""])[0]
        wanted = query.removeprefix("rfc822msgid:").strip("<>")
        with self.state.lock:
            found = [{"id": s.id, "threadId": s.thread_id} for s in self.state.sent
                     if str(s.message["Message-ID"]).strip("<>") == wanted]
        self._send(200, {"messages": found, "resultSizeEstimate": len(found)}
                   if found else {"resultSizeEstimate": 0})

    def _authorized(self) -> bool:
        bearer = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
        return bearer in self.state.access_tokens

    def _send(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeGmailSend(LocalHTTPServer):
    """``with FakeGmailSend() as fake:``; ``fake.url`` is the api_url."""

    def __init__(self, state: GmailSendState | None = None) -> None:
        self.state = state or GmailSendState()
        super().__init__(_Handler, self.state)

    def secrets(self, scopes: list[str]) -> dict[str, Any]:
        return {"token": "access-0", "refresh_token": "refresh-0", "client_id": "cid",
                "client_secret": "csecret", "token_uri": f"{self.url}/token", "scopes": scopes}
