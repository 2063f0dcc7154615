"""A local fake of the Notion API's writing side: pages.create, blocks.children.append and
pages.update (archive), for the real notion-client.

It enforces what Notion enforces and a page writer can trip on: at most 100 children per
request, 100 rich-text objects per block, 2000 characters per text content; parents must be
shared with the integration (404 ``object_not_found`` otherwise); a bad token is 401.
Faults (status, code) are queued per route name: ``pages``, ``append``.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from fakes.local_http import LocalHTTPServer


@dataclass
class Page:
    id: str
    parent: str
    title: str
    children: list[dict[str, Any]] = field(default_factory=list)
    archived: bool = False
    requests: list[int] = field(default_factory=list)
    """The number of children each request carried."""


@dataclass
class NotionPagesState:
    token: str = "secret_notion_token"
    shared: set[str] = field(default_factory=lambda: {"0123456789abcdef0123456789abcdef"})
    pages: dict[str, Page] = field(default_factory=dict)
    faults: dict[str, list[tuple[int, str]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fault(self, route: str, status: int, code: str, times: int = 1) -> None:
        self.faults.setdefault(route, []).extend([(status, code)] * times)

    def live(self) -> list[Page]:
        return [p for p in self.pages.values() if not p.archived]


def _err(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"object": "error", "status": status, "code": code, "message": message}


def _children_problem(children: list[dict[str, Any]]) -> str | None:
    if len(children) > 100:
        return f"body.children.length should be ≤ 100, instead was {len(children)}"
    for child in children:
        kind = child.get("type", "")
        rich = child.get(kind, {}).get("rich_text", [])
        if len(rich) > 100:
            return "rich_text.length should be ≤ 100"
        if any(len(r["text"]["content"]) > 2000 for r in rich):
            return "text.content.length should be ≤ 2000"
    return None


def _route(state: NotionPagesState, verb: str, path: str,
           body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    if verb == "POST" and path == "/v1/pages":
        parent = str(body.get("parent", {}).get("page_id", "")).replace("-", "")
        if parent not in state.shared:
            return _err(404, "object_not_found", f"Could not find page with ID: {parent}.")
        children = body.get("children") or []
        problem = _children_problem(children)
        if problem:
            return _err(400, "validation_error", problem)
        title = "".join(r["text"]["content"]
                        for r in body["properties"]["title"]["title"])
        page = Page(str(uuid.uuid4()), parent, title, list(children), requests=[len(children)])
        state.pages[page.id] = page
        return 200, {"object": "page", "id": page.id,
                     "url": f"https://www.notion.so/{page.id.replace('-', '')}"}
    if verb == "PATCH" and path.startswith("/v1/blocks/") and path.endswith("/children"):
        page_id = path.split("/")[3]
        if page_id not in state.pages:
            return _err(404, "object_not_found", f"Could not find block with ID: {page_id}.")
        children = body.get("children") or []
        problem = _children_problem(children)
        if problem:
            return _err(400, "validation_error", problem)
        state.pages[page_id].children += children
        state.pages[page_id].requests.append(len(children))
        return 200, {"object": "list", "results": children}
    if verb == "PATCH" and path.startswith("/v1/pages/"):
        page_id = path.split("/")[3]
        if page_id not in state.pages:
            return _err(404, "object_not_found", "no such page")
        state.pages[page_id].archived = bool(body.get("archived") or body.get("in_trash"))
        return 200, {"object": "page", "id": page_id}
    return _err(400, "invalid_request_url", f"{verb} {path}")


class _Handler(BaseHTTPRequestHandler):
    state: NotionPagesState

    def log_message(self, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        self._serve("POST")

    def do_PATCH(self) -> None:
        self._serve("PATCH")

    def _serve(self, verb: str) -> None:
        path = urlsplit(self.path).path
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length) or b"{}")
        name = "pages" if path == "/v1/pages" else "append" if "children" in path else "update"
        with self.state.lock:
            queued = self.state.faults.get(name) or []
            fault = queued.pop(0) if queued else None
            if fault:
                status, payload = _err(fault[0], fault[1], "injected")
            elif (self.headers.get("Authorization") or "") != f"Bearer {self.state.token}":
                status, payload = _err(401, "unauthorized", "API token is invalid.")
            else:
                status, payload = _route(self.state, verb, path, body)
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class FakeNotionPages(LocalHTTPServer):
    """``with FakeNotionPages() as fake:``; ``fake.url`` is the API base URL."""

    def __init__(self, state: NotionPagesState | None = None) -> None:
        self.state = state or NotionPagesState()
        super().__init__(_Handler, self.state)
