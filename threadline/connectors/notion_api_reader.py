"""Reading the Notion API through the engine's RequestRunner: errors, pages of results,
block trees and where a page sits.

Every request goes through ``runner.call`` under a method name of the form
``notion.<endpoint>`` (``notion.search``, ``notion.blocks.children.list``, ...). Notion
allows an average of 3 requests per second per integration, bursts tolerated; the engine's
budget for ``notion.*`` should be 3/s shared by all of them (see ``RATE_PER_SECOND``).
The SDK's own retries are switched off so that the engine alone decides when to retry.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

import httpx
from notion_client import Client
from notion_client.errors import (
    APIErrorCode,
    HTTPResponseError,
    RequestTimeoutError,
)

from threadline import ids
from threadline.connectors.notion_api_pages import title_of
from threadline.connectors.notion_blocks import BlockNode, compact
from threadline.connectors.notion_tree import WORKSPACE, Place
from threadline.connectors.sync_base import (
    AuthError,
    PermanentError,
    RequestRunner,
    SyncError,
    TransientError,
)

Json = dict[str, Any]
RATE_PER_SECOND = 3.0
"""Notion's documented average limit; the engine's budget for every ``notion.*`` method."""
_NOT_CONTAINERS = ("child_page", "child_database")
_MAX_HOPS = 12


class NotFound(PermanentError):
    """object_not_found: deleted, or no longer shared with the integration."""


def translate(method: str, error: Exception) -> Exception:
    """The sync contract's error for an SDK or transport error; others are bugs."""
    if isinstance(error, HTTPResponseError):
        status, code = error.status, str(getattr(error.code, "value", error.code))
        where = f"Notion {method} answered {status} {code}"
        if status == 429 or code == APIErrorCode.RateLimited.value:
            return TransientError(f"{where}: rate limited", _retry_after(error.headers))
        if status >= 500:
            return TransientError(f"{where}: Notion is having trouble, retrying later")
        if status == 401 or code == APIErrorCode.Unauthorized.value:
            return AuthError(
                f"{where}: the integration token was revoked or is wrong; "
                "reconnect with `threadline connect notion`"
            )
        if code == APIErrorCode.ObjectNotFound.value:
            return NotFound(f"{where}: not found or not shared with the integration")
        if code == APIErrorCode.RestrictedResource.value:
            return PermanentError(
                f"{where}: the integration lacks this capability; grant 'Read content' "
                "to the integration in Notion and share the pages with it"
            )
        return PermanentError(f"{where}: {error}")
    if isinstance(error, RequestTimeoutError | httpx.TimeoutException):
        return TransientError(f"Notion {method} timed out")
    if isinstance(error, httpx.TransportError):
        return TransientError(f"Notion {method}: connection failed ({type(error).__name__})")
    if isinstance(error, json.JSONDecodeError):
        return TransientError(f"Notion {method}: truncated or invalid JSON in the answer")
    return error


def _retry_after(headers: httpx.Headers | None) -> float | None:
    value = (headers or httpx.Headers()).get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


class NotionReader:
    """One integration's API, through the runner, with a cache of page titles and parents."""

    def __init__(
        self,
        client: Client,
        runner: RequestRunner,
        max_depth: int = 3,
        max_blocks: int = 500,
    ) -> None:
        self.client = client
        self.runner = runner
        self.max_depth = max_depth
        self.max_blocks = max_blocks
        self.requests = 0
        self.workspace_name: str | None = None
        self.unshared: set[str] = set()
        """Parents (canonical ids) the integration cannot read: their children are roots."""
        self.nodes: dict[str, Json] = {}
        """Pages, databases and data sources seen, by compact id: for titles and parents."""

    def call(self, method: str, fn: Callable[[], Any]) -> Json:
        """One request; the SDK's answers are JSON objects (its sync client never awaits)."""

        def attempt() -> Json:
            self.requests += 1
            try:
                answer = fn()
            except Exception as exc:
                mapped = translate(method, exc)
                if mapped is exc:
                    raise
                raise mapped from exc
            if not isinstance(answer, dict):
                raise TransientError(f"Notion {method} answered something that is not JSON")
            return answer

        return self.runner.call(method, attempt)

    def paginate(
        self, method: str, fetch: Callable[[str | None], Any], start: str | None = None
    ) -> Iterator[tuple[Json, str | None]]:
        """Each answer with the cursor after it; stops with an error if a cursor repeats."""
        used: set[str | None] = {start}
        cursor = start
        while True:
            answer = self.call(method, partial(fetch, cursor))
            following = answer.get("next_cursor") if answer.get("has_more") else None
            if following is not None and following in used:
                raise PermanentError(
                    f"Notion {method} returned start_cursor {following!r} a second time: "
                    "the listing is looping, so this pass stops here (what was read is "
                    "kept); the next pass starts the listing again"
                )
            yield answer, following
            if following is None:
                return
            used.add(following)
            cursor = following

    def remember(self, obj: Json) -> None:
        if obj.get("object") == "data_source":
            database = (obj.get("parent") or {}).get("database_id")
            if database:
                self.nodes[compact(str(database))] = {
                    "object": "database",
                    "title": obj.get("title"),
                    "parent": obj.get("database_parent") or {"type": "workspace"},
                }
            return
        self.nodes[compact(str(obj["id"]))] = obj

    def blocks(self, block_id: str) -> tuple[list[BlockNode], str]:
        """A page's blocks, children included down to ``max_depth`` and ``max_blocks``."""
        budget = [self.max_blocks]
        truncated: list[str] = []
        nodes = self._children(block_id, 1, budget, truncated)
        return nodes, ", ".join(dict.fromkeys(truncated))

    def _children(
        self, block_id: str, depth: int, budget: list[int], truncated: list[str]
    ) -> list[BlockNode]:
        nodes: list[BlockNode] = []
        listing = self.paginate(
            "notion.blocks.children.list",
            lambda c: self.client.blocks.children.list(
                block_id, page_size=100, **({"start_cursor": c} if c else {})
            ),
        )
        for answer, _ in listing:
            for block in answer.get("results", []):
                if budget[0] <= 0:
                    truncated.append(f"more than {self.max_blocks} blocks")
                    return nodes
                budget[0] -= 1
                node = BlockNode(block)
                nodes.append(node)
                if block.get("has_children") and node.kind not in _NOT_CONTAINERS:
                    if depth >= self.max_depth:
                        truncated.append(f"blocks nested deeper than {self.max_depth}")
                    else:
                        node.children = self._children(
                            str(block["id"]), depth + 1, budget, truncated
                        )
        return nodes

    def page(self, page_id: str) -> Json:
        found: Json = self.call(
            "notion.pages.retrieve",
            lambda: self.client.pages.retrieve(page_id),
        )
        self.remember(found)
        return found

    def database(self, database_id: str) -> Json:
        found: Json = self.call(
            "notion.databases.retrieve",
            lambda: self.client.databases.retrieve(database_id),
        )
        self.remember(found)
        return found

    def data_source(self, source_id: str) -> Json:
        found: Json = self.call(
            "notion.data_sources.retrieve",
            lambda: self.client.data_sources.retrieve(source_id),
        )
        self.remember(found)
        return found

    def place(self, obj: Json, hops: int = 0) -> Place:
        """Parent id and title, and the tree root, as the export's folders would give."""
        parent = self._page_parent(obj.get("parent") or {}, hops)
        kind = parent.get("type")
        if kind == "workspace" or hops > _MAX_HOPS:
            return Place(WORKSPACE, self.workspace_name, None)
        fetch: Callable[[str], Json] = self.page
        target = parent.get("page_id")
        if kind in ("data_source_id", "database_id"):
            target, fetch = parent.get("database_id"), self.database
        if not target:
            return Place(WORKSPACE, self.workspace_name, None)
        parent_id = ids.notion_id(str(target))
        node = self.nodes.get(compact(str(target)))
        if node is None:
            try:
                node = fetch(str(target))
            except NotFound:
                # A parent not shared with the integration: the page is a root for us.
                self.unshared.add(parent_id)
                return Place(parent_id, None, parent_id)
        above = self.place(node, hops + 1)
        return Place(parent_id, title_of(node) or None, above.root_id or parent_id)

    def _page_parent(self, parent: Json, hops: int) -> Json:
        """A block parent (a page inside a column or toggle) walked up to its page."""
        while parent.get("type") == "block_id" and hops <= _MAX_HOPS:
            block_id = str(parent.get("block_id"))
            try:
                block: Json = self.call(
                    "notion.blocks.retrieve",
                    partial(self.client.blocks.retrieve, block_id),
                )
            except NotFound:
                return {"type": "workspace"}
            parent = block.get("parent") or {}
            hops += 1
        return parent


def workspace_title(me: Json) -> str:
    bot = me.get("bot") or {}
    name = bot.get("workspace_name") or me.get("name")
    if not name:
        raise SyncError(
            "Notion users.me did not name the workspace: the token may belong to a user, "
            "not an integration; connect with an internal integration token"
        )
    return str(name)
