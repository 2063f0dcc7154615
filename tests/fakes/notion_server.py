"""A local fake of the Notion API (2025-09-03) for tests, served on 127.0.0.1.

Two sources of state:
- recorded answers (``record``): real payloads from notion-sdk-py cassettes and
  notion_ruby_mapping fixtures, replayed for the exact request they answered;
- a workspace built from a Notion "Markdown & CSV" export (``load_export``), read with
  the export importer itself: pages, a database with its data source and rows, and
  blocks made from each page's markdown, shaped like the recorded payloads.

Faults are injected per path (``fault``): 429 with Retry-After, 500, a slow answer (for
client timeouts), a truncated JSON body, 401 (revoked token) and a looping next_cursor.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from dateutil import parser as dateparser

from threadline import ids
from threadline.connectors.notion_export import NotionExportImporter
from threadline.connectors.notion_markdown import _PROPERTY
from threadline.records import ItemRecord

Json = dict[str, Any]
FIXTURES = Path(__file__).parent.parent / "fixtures" / "notion-api"
TOKEN = "secret-notion-token"
_ANNOTATIONS = {
    "bold": False, "italic": False, "strikethrough": False, "underline": False,
    "code": False, "color": "default",
}
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_USER = {"object": "user", "id": "7775f3a3-893f-43fa-b625-460c61094c78"}
ERRORS = {
    429: {"code": "rate_limited", "message": "You have been rate limited. Please try again later."},
    500: {"code": "internal_server_error", "message": "Unexpected error occurred."},
    400: {"code": "invalid_request_url", "message": "Invalid request URL."},
}


@dataclass
class Fault:
    path: str
    kind: str  # "429", "500", "slow", "truncated", "401", "repeat_cursor"
    count: int = 1
    retry_after: str = "2"


def _uuid(*parts: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "/".join(parts)))


def text_item(content: str, href: str | None = None) -> Json:
    return {
        "type": "text", "text": {"content": content, "link": {"url": href} if href else None},
        "annotations": dict(_ANNOTATIONS), "plain_text": content, "href": href,
    }


def inline(line: str) -> list[Json]:
    """Markdown links to rich text: workspace paths become page mentions, URLs links."""
    items: list[Json] = []
    at = 0
    for match in _LINK.finditer(line):
        if match.start() > at:
            items.append(text_item(line[at:match.start()]))
        label, target = match.group(1), match.group(2)
        found = ids.find_notion_id(unquote(target))
        if "://" not in target and found:
            items.append({
                "type": "mention", "mention": {"type": "page", "page": {"id": found}},
                "annotations": dict(_ANNOTATIONS), "plain_text": label,
                "href": f"https://www.notion.so/{found.replace('-', '')}",
            })
        else:
            items.append(text_item(label, target))
        at = match.end()
    if at < len(line):
        items.append(text_item(line[at:]))
    return items


class FakeNotion:
    def __init__(self, workspace_name: str = "Fake Workspace") -> None:
        self.workspace_name = workspace_name
        self.recorded: dict[tuple[str, str], tuple[int, Json]] = {}
        self.pages: dict[str, Json] = {}
        self.databases: dict[str, Json] = {}
        self.sources: dict[str, Json] = {}
        self.blocks: dict[str, Json] = {}
        self.children: dict[str, list[str]] = {}
        self.empty_children = False
        """Answer an empty listing for children of blocks the state does not hold."""
        self.hidden: set[str] = set()
        """Ids search leaves out (Notion's search is known to miss pages)."""
        self.faults: list[Fault] = []
        self.log: list[tuple[str, str]] = []
        self.token = TOKEN
        self.slow_seconds = 0.5
        self._clock = 0
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- state --------------------------------------------------------------------------

    def record(self, method: str, path: str, body: Json, status: int = 200) -> None:
        self.recorded[(method, path)] = (status, body)

    def fault(self, path: str, kind: str, count: int = 1, retry_after: str = "2") -> None:
        self.faults.append(Fault(path, kind, count, retry_after))

    def tick(self) -> str:
        """The next last_edited_time: a minute later than any given so far."""
        self._clock += 1
        latest = max((p["last_edited_time"] for p in self.pages.values()), default="")
        moment = 1_793_000_000 + self._clock * 60
        if latest:
            seen = time.mktime(time.strptime(latest[:16], "%Y-%m-%dT%H:%M")) - time.timezone
            moment = max(moment, int(seen) + 60)
        return time.strftime("%Y-%m-%dT%H:%M:00.000Z", time.gmtime(moment))

    def load_export(self, path: Path) -> list[ItemRecord]:
        """Pages, the database and rows of an export, as API objects; returns the records."""
        items = [r for r in NotionExportImporter(path).read() if isinstance(r, ItemRecord)]
        by_id = {r.canonical_id: r for r in items}
        for record in items:
            if record.kind == "database":
                self._add_database(record)
        for record in items:
            if record.kind in ("page", "row"):
                self._add_page(record, by_id)
        return items

    def _parent(self, container: str, by_id: dict[str, ItemRecord]) -> Json:
        if container == "notion:workspace":
            return {"type": "workspace", "workspace": True}
        target = container.split(":", 1)[1]
        if by_id.get(container) is not None and by_id[container].kind == "database":
            return {"type": "data_source_id", "data_source_id": self._source_id(target),
                    "database_id": target}
        return {"type": "page_id", "page_id": target}

    @staticmethod
    def _source_id(database_id: str) -> str:
        return _uuid("data-source", database_id)

    def _add_database(self, record: ItemRecord) -> None:
        db = record.canonical_id.split(":", 1)[1]
        columns = record.raw["columns"]
        schema = {name: {"id": f"c{i}", "name": name, "type": _column_type(name, i),
                         _column_type(name, i): {}} for i, name in enumerate(columns)}
        parent = ({"type": "workspace", "workspace": True}
                  if record.container_id == "notion:workspace"
                  else {"type": "page_id", "page_id": record.container_id.split(":", 1)[1]})
        title = [text_item(record.title or "")]
        when = self.tick()
        common = {"created_time": when, "last_edited_time": when, "created_by": _USER,
                  "last_edited_by": _USER, "in_trash": False, "archived": False,
                  "url": f"https://www.notion.so/{db.replace('-', '')}", "public_url": None}
        self.databases[db] = {
            "object": "database", "id": db, "title": title, "description": [],
            "parent": parent, "is_inline": False,
            "data_sources": [{"id": self._source_id(db), "name": record.title}], **common,
        }
        self.sources[self._source_id(db)] = {
            "object": "data_source", "id": self._source_id(db), "title": title,
            "properties": schema, "parent": {"type": "database_id", "database_id": db},
            "database_parent": parent, **common,
        }

    def _add_page(self, record: ItemRecord, by_id: dict[str, ItemRecord]) -> None:
        page_id = record.canonical_id.split(":", 1)[1]
        parent = self._parent(record.container_id, by_id)
        properties: Json = {"title": {"id": "title", "type": "title",
                                      "title": [text_item(record.title or "")]}}
        when = self.tick()
        if record.kind == "row":
            source = self.sources[parent["data_source_id"]]
            properties, edited_at = _typed_properties(record.raw["properties"], source)
            when = edited_at or when
        markdown = record.raw.get("markdown", "")
        self.pages[page_id] = {
            "object": "page", "id": page_id, "created_time": when, "last_edited_time": when,
            "created_by": _USER, "last_edited_by": _USER, "cover": None, "icon": None,
            "parent": parent, "in_trash": False, "is_archived": False, "is_locked": False,
            "properties": properties, "url": f"https://www.notion.so/{page_id.replace('-', '')}",
            "public_url": None, "archived": False,
        }
        columns = set(record.raw.get("properties", {}))
        own = [self._add_block(page_id, b) for b in _blocks(markdown, columns)]
        self.children[page_id] = own + self.children.get(page_id, [])
        if parent["type"] == "page_id":
            # In Notion a child page is a block of its parent's content.
            holder = parent["page_id"]
            block = {"type": "child_page", "child_page": {"title": record.title}}
            self.children.setdefault(holder, []).append(self._add_block(holder, block, page_id))

    def _add_block(self, parent: str, content: Json, block_id: str | None = None) -> str:
        block_id = block_id or _uuid("block", parent, str(len(self.blocks)))
        kids = content.pop("children", [])
        owner = "page_id" if parent in self.pages else "block_id"
        self.blocks[block_id] = {
            "object": "block", "id": block_id, "parent": {"type": owner, owner: parent},
            "created_time": "2026-11-01T09:00:00.000Z",
            "last_edited_time": "2026-11-01T09:00:00.000Z", "created_by": _USER,
            "last_edited_by": _USER, "has_children": bool(kids), "in_trash": False,
            "archived": False, **content,
        }
        if kids:
            self.children[block_id] = [self._add_block(block_id, kid) for kid in kids]
        return block_id

    def edit_property(self, page_id: str, name: str, value: Json) -> None:
        page = self.pages[page_id]
        page["properties"][name] = value
        page["last_edited_time"] = self.tick()
        for prop in page["properties"].values():
            if prop["type"] == "last_edited_time":
                prop["last_edited_time"] = page["last_edited_time"]

    def trash(self, page_id: str) -> None:
        self.pages[page_id].update(in_trash=True, archived=True, last_edited_time=self.tick())

    # -- HTTP ---------------------------------------------------------------------------

    def start(self) -> str:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        # Notion takes ids with or without dashes; recorded answers use dashes.
        path = re.sub(r"(?<=/)[0-9a-f]{32}(?=/|$)", lambda m: ids.normalize_notion_id(m[0]),
                      parts.path.removeprefix("/v1"))
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(handler.headers.get("Content-Length") or 0)
        body: Json = json.loads(handler.rfile.read(length) or b"{}") if length else {}
        with self._lock:
            self.log.append((method, path))
            fault = next((f for f in self.faults if f.count > 0 and f.path in path), None)
            if fault is not None:
                fault.count -= 1
        status, answer, headers = self._answer(method, path, query, body, handler, fault)
        if fault is not None and fault.kind == "slow":
            time.sleep(self.slow_seconds)
        data = json.dumps(answer).encode()
        if fault is not None and fault.kind == "truncated":
            data = data[: len(data) // 2]
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in headers.items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test)

    def _answer(
        self, method: str, path: str, query: Json, body: Json,
        handler: BaseHTTPRequestHandler, fault: Fault | None,
    ) -> tuple[int, Json, dict[str, str]]:
        if handler.headers.get("Authorization") != f"Bearer {self.token}" or (
            fault is not None and fault.kind == "401"
        ):
            return 401, _error(401, "unauthorized", "API token is invalid."), {}
        if fault is not None and fault.kind in ("429", "500"):
            status = int(fault.kind)
            headers = {"Retry-After": fault.retry_after} if status == 429 else {}
            return status, _error(status, **ERRORS[status]), headers
        cursor = body.get("start_cursor") or query.get("start_cursor")
        recorded = self.recorded.get((method, f"{path}?{cursor}" if cursor else path))
        if recorded is not None:
            return recorded[0], recorded[1], {}
        answer = self._route(method, path, body, query)
        if answer is None:
            return 404, _error(404, "object_not_found", f"Could not find {path}. Make sure "
                               "the relevant pages and databases are shared with your "
                               "integration."), {}
        if fault is not None and fault.kind == "repeat_cursor" and answer.get("has_more"):
            answer["next_cursor"] = cursor or answer["next_cursor"]
        return 200, answer, {}

    def _route(self, method: str, path: str, body: Json, query: Json) -> Json | None:
        segments = path.strip("/").split("/")
        size = int(body.get("page_size") or query.get("page_size") or 100)
        cursor = body.get("start_cursor") or query.get("start_cursor")
        if path == "/users/me":
            return {"object": "user", **_USER, "name": "threadline-test", "avatar_url": None,
                    "type": "bot", "bot": {"owner": {"type": "workspace", "workspace": True},
                                           "workspace_name": self.workspace_name}}
        if path == "/search" and method == "POST":
            found = [p for p in self.pages.values() if not p["in_trash"]]
            found += [s for s in self.sources.values() if not s["in_trash"]]
            found = [o for o in found if o["id"] not in self.hidden]
            found.sort(key=lambda o: (o["last_edited_time"], o["id"]), reverse=True)
            return _listing(found, size, cursor, "page_or_data_source")
        if segments[0] == "blocks" and len(segments) == 3 and segments[2] == "children":
            if segments[1] not in self.children and segments[1] not in self.pages:
                return _listing([], size, None, "block") if self.empty_children else None
            kids = [self.blocks[b] for b in self.children.get(segments[1], [])]
            return _listing(kids, size, cursor, "block")
        if segments[0] == "blocks" and len(segments) == 2:
            return self.blocks.get(segments[1]) or self.pages.get(segments[1])
        if segments[0] == "pages" and len(segments) == 2:
            return self.pages.get(ids.normalize_notion_id(segments[1]))
        if segments[0] == "databases" and len(segments) == 2:
            return self.databases.get(ids.normalize_notion_id(segments[1]))
        if segments[0] == "data_sources" and len(segments) == 2:
            return self.sources.get(segments[1])
        if segments[0] == "data_sources" and segments[-1] == "query":
            rows = [p for p in self.pages.values()
                    if p["parent"].get("data_source_id") == segments[1] and not p["in_trash"]]
            return _listing(rows, size, cursor, "page_or_data_source")
        return None


def _error(status: int, code: str, message: str) -> Json:
    return {"object": "error", "status": status, "code": code, "message": message,
            "request_id": _uuid("request", code, message)}


def _listing(items: list[Json], size: int, cursor: str | None, kind: str) -> Json:
    """A page of results; the cursor is the next item's id, as Notion's cursors are."""
    start = next((i for i, item in enumerate(items) if item["id"] == cursor), 0)
    chunk = items[start:start + size]
    more = start + size < len(items)
    return {"object": "list", "results": chunk,
            "next_cursor": items[start + size]["id"] if more else None, "has_more": more,
            "type": kind, kind: {}, "request_id": _uuid("list", str(start))}


def _column_type(name: str, index: int) -> str:
    lowered = name.lower()
    if index == 0:
        return "title"
    if lowered in ("assignee", "owner", "people", "person", "created by"):
        return "people"
    if lowered == "last edited time":
        return "last_edited_time"
    if lowered == "created time":
        return "created_time"
    if lowered in ("status",):
        return "status"
    if lowered in ("due",) or "date" in lowered:
        return "date"
    return "select"


def _typed_properties(values: dict[str, str], source: Json) -> tuple[Json, str | None]:
    """Display strings from the export's CSV back to typed API property values."""
    typed: Json = {}
    edited_at = None
    for name, schema in source["properties"].items():
        kind, text = schema["type"], values.get(name, "")
        value: Any
        if kind == "title":
            value = [text_item(text)] if text else []
        elif kind == "people":
            value = [{"object": "user", "id": _uuid("user", n.strip()), "name": n.strip(),
                      "type": "person", "person": {}} for n in text.split(",") if n.strip()]
        elif kind in ("status", "select"):
            value = {"id": _uuid("option", text), "name": text, "color": "default"} if text \
                else None
        elif kind == "date":
            value = {"start": dateparser.parse(text).date().isoformat(), "end": None,
                     "time_zone": None} if text else None
        else:  # last_edited_time / created_time, shown to the minute in UTC
            moment = dateparser.parse(text) if text else None
            value = moment.strftime("%Y-%m-%dT%H:%M:00.000Z") if moment else None
            if kind == "last_edited_time":
                edited_at = value
        typed[name] = {"id": schema["id"], "type": kind, kind: value}
    return typed, edited_at


def _blocks(markdown: str, columns: set[str]) -> list[Json]:
    """The body of an exported page (after its title and property lines) as blocks."""
    lines = markdown.splitlines()
    while lines and not lines[0].startswith("# "):
        lines.pop(0)
    lines = lines[1:]
    while lines and not lines[0].strip():
        lines.pop(0)
    if columns:
        while lines and (m := _PROPERTY.match(lines[0])) and m.group(1) in columns:
            lines.pop(0)
    blocks: list[Json] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            blocks.append(_rich("paragraph", "\n".join(paragraph)))
            paragraph.clear()

    fence: list[str] | None = None
    for line in lines:
        if fence is not None:
            if line.startswith("```"):
                blocks.append({"type": "code", "code": {
                    "rich_text": [text_item("\n".join(fence))], "language": "plain text",
                    "caption": []}})
                fence = None
            else:
                fence.append(line)
            continue
        stripped = line.strip()
        heading = re.match(r"^(#{1,3}) (.*)$", stripped)
        todo = re.match(r"^- \[([ xX])\] (.*)$", stripped)
        if not stripped:
            flush()
        elif stripped.startswith("```"):
            flush()
            fence = []
        elif heading:
            flush()
            blocks.append(_rich(f"heading_{len(heading.group(1))}", heading.group(2)))
        elif todo:
            flush()
            block = _rich("to_do", todo.group(2))
            block["to_do"]["checked"] = todo.group(1).lower() == "x"
            blocks.append(block)
        elif stripped.startswith("- "):
            flush()
            blocks.append(_rich("bulleted_list_item", stripped[2:]))
        elif re.match(r"^\d+\. ", stripped):
            flush()
            blocks.append(_rich("numbered_list_item", stripped.split(" ", 1)[1]))
        elif stripped.startswith("> "):
            flush()
            blocks.append(_rich("quote", stripped[2:]))
        elif stripped == "---":
            flush()
            blocks.append({"type": "divider", "divider": {}})
        else:
            paragraph.append(line)
    flush()
    return blocks


def _rich(kind: str, text: str) -> Json:
    return {"type": kind, kind: {"rich_text": inline(text), "color": "default"}}


def load_recorded(fake: FakeNotion) -> None:
    """Real recorded answers: the ruby fixtures' sample database and block test page."""
    ruby = FIXTURES / "ruby"

    def read(name: str) -> Json:
        loaded: Json = json.loads((ruby / f"{name}.json").read_text())
        return loaded

    fake.empty_children = True
    fake.record("POST", "/search", read("search_sample_table"))
    fake.record("GET", "/databases/c37a2c66-e3aa-4a0d-a447-73de3b80c253",
                read("retrieve_database_database"))
    fake.record("GET", "/data_sources/4f93db51-4e1d-4015-b07f-876e34c3b0b1",
                read("retrieve_data_source_data_source"))
    query = "/data_sources/4f93db51-4e1d-4015-b07f-876e34c3b0b1/query"
    fake.record("POST", query, read("query_data_source_limit_2"))
    fake.record("POST", f"{query}?6601e719-a39a-460c-908e-8909467fcccf",
                read("query_data_source_next_2"))
    fake.record("POST", f"{query}?dcdc805c-85fa-4155-a55c-20fc28771af7",
                read("query_data_source_last_2"))
    fake.record("GET", "/pages/c01166c6-13ae-45cb-b968-18b4ef2f5a77",
                read("retrieve_page_unpermitted_page"), 404)
    for name in ("block_test_page", "table", "column_list", "column1"):
        answer = read(f"retrieve_block_children_{name}")
        parent = answer["results"][0]["parent"]
        owner = parent.get("page_id") or parent.get("block_id")
        fake.record("GET", f"/blocks/{owner}/children", answer)
