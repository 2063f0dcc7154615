"""Live Notion sync through the official SDK (notion-client), Notion-Version 2025-09-03.

2025-09-03 is the version notion-client 3.x speaks: databases hold data sources, rows are
read with ``data_sources.query`` and search returns pages and data sources.

A pass:
1. search, newest edit first (``sort: last_edited_time descending``), page by page, until
   the results are older than the cursor's high-water mark minus ``overlap_minutes``;
   each page whose ``last_edited_time`` changed is read whole (blocks, recursively, within
   ``max_depth`` and ``max_blocks``; ``native.truncated`` says when not whole), archived
   or trashed ones become tombstones;
2. now and then a reconciliation crawl, because search is known to miss pages: from the
   known roots (workspace-level pages and databases) down through child pages and
   databases (rows by ``data_sources.query``), reading anything new or changed; a page
   known before and not reached is checked and becomes a tombstone if gone. It runs on
   the first pass, every ``crawl_every`` passes, and when the last crawl is older than
   ``crawl_max_age_hours``.

Requests: about 1 per page read (``blocks.children.list``, plus one per 100 blocks and
per nested block with children), 1 per 100 search results, and for a crawl 2 per page not
read this pass. Budget: ``notion_api_reader.RATE_PER_SECOND`` (3/s).

Cursor (JSON): ``high_water`` (ISO minute), ``passes``, ``last_crawl``, ``workspace``,
``known`` (compact id -> last edit minute, to skip unchanged pages and find vanished ones),
``databases``, ``roots``, and while a pass is in flight ``phase``, ``search_next``,
``pass_high``, ``queue`` and ``reached``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from notion_client import Client

from threadline.connectors.notion_api_pages import (
    API_VERSION,
    PageContent,
    database_record,
    edited,
    is_gone,
    page_record,
    tombstone,
)
from threadline.connectors.notion_api_reader import NotFound, NotionReader, workspace_title
from threadline.connectors.notion_blocks import child_ids, compact, render
from threadline.connectors.notion_tree import WORKSPACE, Place
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    Cursor,
    Page,
    RequestRunner,
)
from threadline.records import Record, SourceInfo

Json = dict[str, Any]
_CRAWL_BATCH = 20


class NotionConnector:
    platform = "notion"
    name = "notion"

    def __init__(
        self,
        settings: ConnectionSettings,
        runner: RequestRunner,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        token = settings.secrets.get("token") or settings.secrets.get("access_token")
        if not token:
            raise AuthError(
                f"Notion connection {settings.name!r} has no token: run "
                "`threadline connect notion` with an internal integration token"
            )
        options = settings.options
        self.page_size = int(options.get("page_size", 100))
        self.overlap = timedelta(minutes=float(options.get("overlap_minutes", 5)))
        self.crawl_every = int(options.get("crawl_every", 24))
        self.crawl_max_age = timedelta(hours=float(options.get("crawl_max_age_hours", 24)))
        self.zone: tzinfo = ZoneInfo(str(options.get("timezone", "UTC")))
        self.clock = clock or (lambda: datetime.now(UTC))
        client_options: Json = {
            "auth": str(token),
            "notion_version": API_VERSION,
            "retry": False,  # the engine retries, with its budget and backoff
            "timeout_ms": int(options.get("timeout_ms", 60_000)),
            "logger": logging.getLogger("threadline.connectors.notion.sdk"),
        }
        if settings.api_url:
            client_options["base_url"] = settings.api_url.rstrip("/")
        self.reader = NotionReader(
            Client(**client_options),
            runner,
            max_depth=int(options.get("max_depth", 3)),
            max_blocks=int(options.get("max_blocks", 500)),
        )
        self._fresh: set[str] = set()
        self._children: dict[str, list[tuple[str, str]]] = {}

    def discover(self) -> SourceInfo:
        me = self.reader.call(
            "notion.users.me",
            lambda: self.reader.client.users.me(),
        )
        workspace = workspace_title(me)
        self.reader.workspace_name = workspace
        return SourceInfo(
            platform="notion", kind=self.name, account=workspace, label=str(me.get("name") or "")
        )

    def sync(self, cursor: Cursor | None) -> Iterator[Page]:
        state: Json = dict(cursor or {})
        state.setdefault("known", {})
        state.setdefault("databases", [])
        state.setdefault("roots", [])
        state.setdefault("passes", 0)
        if not state.get("workspace"):
            state["workspace"] = self.discover().account
        self.reader.workspace_name = state["workspace"]
        if state.get("phase") in (None, "search"):
            state["phase"] = "search"
            yield from self._search(state)
            state["phase"] = "crawl" if self._crawl_due(state) else "finish"
            state.pop("search_next", None)
        if state["phase"] == "crawl":
            yield from self._crawl(state)
        yield Page([], self._finish(state), done=True, note="notion: pass complete")

    # -- search -----------------------------------------------------------------------

    def _search(self, state: Json) -> Iterator[Page]:
        threshold = None
        if state.get("high_water"):
            mark = datetime.fromisoformat(state["high_water"]).replace(tzinfo=UTC)
            threshold = (mark - self.overlap).strftime("%Y-%m-%dT%H:%M")

        def fetch(start: str | None) -> Any:
            body: Json = {
                "sort": {"direction": "descending", "timestamp": "last_edited_time"},
                "page_size": self.page_size,
            }
            if start:
                body["start_cursor"] = start
            return self.reader.client.search(**body)

        listing = self.reader.paginate("notion.search", fetch, state.get("search_next"))
        for answer, following in listing:
            records: list[Record] = []
            older = False
            for obj in answer.get("results", []):
                when = edited(obj)
                if threshold and when and when < threshold:
                    older = True
                    break
                state["pass_high"] = max(state.get("pass_high") or "", when)
                records.extend(self._changed(obj, state))
            state["search_next"] = None if older else following
            yield Page(records, _snapshot(state), note=f"notion search: {len(records)} changed")
            if older:
                return

    def _changed(self, obj: Json, state: Json) -> list[Record]:
        """A search or crawl result: its record if new or changed, else nothing."""
        self.reader.remember(obj)
        if obj.get("object") == "data_source":
            return self._database(obj, state)
        key = compact(str(obj["id"]))
        if is_gone(obj):
            state["known"].pop(key, None)
            return [tombstone(obj, self._place(obj))]
        if key in self._fresh or state["known"].get(key) == edited(obj):
            return []
        try:
            nodes, truncated = self.reader.blocks(str(obj["id"]))
        except NotFound:
            return []  # trashed since it was listed: the next crawl records the tombstone
        pages, databases = child_ids(nodes)
        self._children[key] = [("page", p) for p in pages] + [("database", d) for d in databases]
        content = PageContent(render(nodes, self.zone), truncated)
        place = self._place(obj)
        self._note_root(key, obj.get("parent") or {}, place, state)
        record = page_record(obj, place, content, self.zone)
        state["known"][key] = edited(obj)
        self._fresh.add(key)
        return [record]

    def _database(self, source: Json, state: Json) -> list[Record]:
        database_id = str((source.get("parent") or {}).get("database_id") or source["id"])
        key = compact(database_id)
        parent = source.get("database_parent") or {"type": "workspace"}
        place = self._place({"parent": parent})
        self._note_root(key, parent, place, state)
        if key not in state["databases"]:
            state["databases"].append(key)
        if is_gone(source):
            state["known"].pop(key, None)
            return [tombstone({**source, "id": database_id}, place)]
        if key in self._fresh or state["known"].get(key) == edited(source):
            return []
        state["known"][key] = edited(source)
        self._fresh.add(key)
        return [database_record(source, database_id, place)]

    def _note_root(self, key: str, parent: Json, place: Place, state: Json) -> None:
        """Workspace-level items, and items whose parent is not shared, start the crawl."""
        top = parent.get("type") == "workspace" or place.parent_id in self.reader.unshared
        if top and key not in state["roots"]:
            state["roots"].append(key)

    def _place(self, obj: Json) -> Place:
        try:
            return self.reader.place(obj)
        except NotFound:
            return Place(WORKSPACE, self.reader.workspace_name, None)

    # -- reconciliation crawl --------------------------------------------------------

    def _crawl_due(self, state: Json) -> bool:
        last = state.get("last_crawl")
        if not last or state["passes"] % max(self.crawl_every, 1) == self.crawl_every - 1:
            return True
        return self.clock() - datetime.fromisoformat(last) >= self.crawl_max_age

    def _crawl(self, state: Json) -> Iterator[Page]:
        if "queue" not in state:
            databases = set(state["databases"])
            state["queue"] = [
                ["database" if root in databases else "page", root] for root in state["roots"]
            ]
            state["reached"] = []
        reached = set(state["reached"])
        records: list[Record] = []
        done = 0
        while state["queue"]:
            kind, key = state["queue"].pop(0)
            if key in reached:
                continue
            reached.add(key)
            if kind == "database":
                records.extend(self._crawl_database(key, state, reached))
            else:
                records.extend(self._crawl_page(key, state))
            done += 1
            if done % _CRAWL_BATCH == 0:
                state["reached"] = sorted(reached)
                yield Page(records, _snapshot(state), note=f"notion crawl: {done} containers")
                records = []
        state["reached"] = sorted(reached)
        records.extend(self._vanished(state, reached))
        yield Page(records, _snapshot(state), note="notion crawl: checked known pages")

    def _crawl_page(self, key: str, state: Json) -> list[Record]:
        records: list[Record] = []
        if key not in self._children:
            try:
                page = self.reader.page(key)
            except NotFound:
                return []  # checked with the other vanished pages at the end
            records = self._changed(page, state)
            if key not in self._children:
                nodes, _ = self.reader.blocks(key)
                pages, databases = child_ids(nodes)
                self._children[key] = [("page", p) for p in pages] + [
                    ("database", d) for d in databases
                ]
        state["queue"].extend([kind, compact(child)] for kind, child in self._children[key])
        return records

    def _crawl_database(self, key: str, state: Json, reached: set[str]) -> list[Record]:
        try:
            database = self.reader.database(key)
        except NotFound:
            return []
        if key not in state["databases"]:
            state["databases"].append(key)
        records: list[Record] = []
        for source_ref in database.get("data_sources") or []:
            source_id = str(source_ref["id"])
            if key not in self._fresh and state["known"].get(key) != edited(database):
                records.extend(self._changed(self.reader.data_source(source_id), state))

            def fetch(start: str | None, sid: str = source_id) -> Any:
                extra = {"start_cursor": start} if start else {}
                return self.reader.client.data_sources.query(
                    sid, page_size=100, **extra
                )

            for answer, _ in self.reader.paginate("notion.data_sources.query", fetch):
                for row in answer.get("results", []):
                    reached.add(compact(str(row["id"])))
                    records.extend(self._changed(row, state))
        return records

    def _vanished(self, state: Json, reached: set[str]) -> list[Record]:
        """Known pages the crawl did not reach: trashed, unshared, or just not under a root."""
        records: list[Record] = []
        databases = set(state["databases"])
        for key in sorted(set(state["known"]) - reached - self._fresh):
            try:
                obj = self.reader.database(key) if key in databases else self.reader.page(key)
            except NotFound:
                state["known"].pop(key, None)
                gone = {"id": key, "object": "page", "in_trash": False}
                records.append(tombstone(gone, Place(WORKSPACE, self.reader.workspace_name, None)))
                continue
            if is_gone(obj):
                state["known"].pop(key, None)
                records.append(tombstone(obj, self._place(obj)))
            elif obj.get("object") == "page":
                records.extend(self._changed(obj, state))
        return records

    def _finish(self, state: Json) -> Cursor:
        crawled = state.get("phase") == "crawl"
        final = _snapshot(state)
        for key in ("phase", "search_next", "pass_high", "queue", "reached"):
            final.pop(key, None)
        high = max(state.get("high_water") or "", state.get("pass_high") or "")
        final["high_water"] = high or None
        final["passes"] = int(state["passes"]) + 1
        if crawled:
            final["last_crawl"] = self.clock().isoformat()
        return final

    @property
    def requests(self) -> int:
        """API requests made by this connector so far (the engine counts its own too)."""
        return self.reader.requests


def _snapshot(state: Json) -> Cursor:
    """A copy the engine can save while the pass goes on mutating ``state``."""
    copy = dict(state)
    for key in ("known",):
        copy[key] = dict(state[key])
    for key in ("databases", "roots", "queue", "reached"):
        if key in state:
            copy[key] = [list(v) if isinstance(v, list) else v for v in state[key]]
    return copy

