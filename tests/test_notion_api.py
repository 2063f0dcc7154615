"""The live Notion connector against a local fake API that replays real payloads.

The real notion-client (SDK) talks HTTP to tests/fakes/notion_server.py on 127.0.0.1.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fakes.notion_server import FIXTURES, TOKEN, FakeNotion, load_recorded

from threadline.connectors.notion_api import NotionConnector
from threadline.connectors.notion_blocks import render
from threadline.connectors.notion_export import NotionExportImporter
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    Page,
    PermanentError,
    TransientError,
)
from threadline.records import ItemRecord
from threadline.sample.workspace import generate_workspace

T = TypeVar("T")


class RetryRunner:
    """The engine's retry loop in miniature: retries TransientError, sleeps nothing."""

    def __init__(self, attempts: int = 4) -> None:
        self.attempts = attempts
        self.calls: Counter[str] = Counter()
        self.waits: list[tuple[str, float | None, str]] = []

    def call(self, method: str, fn: Callable[[], T]) -> T:
        for attempt in range(self.attempts):
            self.calls[method] += 1
            try:
                return fn()
            except TransientError as exc:
                self.waits.append((method, exc.retry_after, str(exc)))
                if attempt == self.attempts - 1:
                    raise
        raise AssertionError("unreachable")


@pytest.fixture
def fake() -> Iterator[FakeNotion]:
    server = FakeNotion()
    server.url = server.start()  # type: ignore[attr-defined]
    yield server
    server.stop()


def connector(fake: FakeNotion, runner: Any = None, clock: Any = None, **options: Any) -> Any:
    settings = ConnectionSettings(
        platform="notion", name="notion", api_url=fake.url,  # type: ignore[attr-defined]
        secrets={"token": TOKEN}, options=options,
    )
    return NotionConnector(settings, runner or RetryRunner(), clock=clock)


def items(pages: list[Page]) -> list[ItemRecord]:
    return [r for page in pages for r in page.records if isinstance(r, ItemRecord)]


# -- real recorded payloads -------------------------------------------------------------


def test_discover_reads_the_bot_and_workspace(fake: FakeNotion) -> None:
    recorded = json.loads((FIXTURES / "sdk-py-2025-09-03.json").read_text())
    me = next(x for x in recorded if x["uri"].endswith("/users/me"))
    fake.record("GET", "/users/me", me["response"])
    source = connector(fake).discover()
    assert (source.platform, source.kind, source.account) == ("notion", "notion", "notion-sdk-py")


def test_recorded_block_pagination_from_the_sdk_cassette(fake: FakeNotion) -> None:
    for x in json.loads((FIXTURES / "sdk-py-2025-09-03.json").read_text()):
        if "/children" in x["uri"] and x["response"]["results"]:
            path = x["uri"].split("/v1", 1)[1].split("?")[0]
            start = x["uri"].partition("start_cursor=")[2].partition("&")[0]
            fake.record("GET", f"{path}?{start}" if start else path, x["response"])
    nodes, truncated = connector(fake).reader.blocks("393abc1e-edcd-814b-aee5-cf69471e5a43")
    assert render(nodes) == "\n\n".join(f"paragraph {i}" for i in range(5))
    assert truncated == ""


def test_recorded_block_types_render_as_export_markdown(fake: FakeNotion) -> None:
    load_recorded(fake)
    nodes, _ = connector(fake).reader.blocks("67cf059c-e746-46a0-b72d-481c9ff5d386")
    kinds = {node.kind for node in nodes}
    assert len(kinds) >= 25  # the fixture holds ~30 block types
    markdown = render(nodes)
    assert "[Child page](Child%20page%200f3e507322d848eb926be808df84c169.md)" in markdown
    assert "| Title |  Contents |" in markdown  # table rows fetched as children
    assert "- [ ] " in markdown or "- [x] " in markdown
    assert "```" in markdown and "$$" in markdown and "---" in markdown


def test_recorded_sample_table_syncs_with_paginated_query(fake: FakeNotion) -> None:
    load_recorded(fake)
    runner = RetryRunner()
    pages = list(connector(fake, runner).sync(None))
    records = items(pages)
    database = next(r for r in records if r.kind == "database")
    assert database.canonical_id == "notion:c37a2c66-e3aa-4a0d-a447-73de3b80c253"
    assert database.title == "Sample table"
    # The parent page is not shared with the integration: the database is a root.
    assert database.container_id == "notion:c01166c6-13ae-45cb-b968-18b4ef2f5a77"
    rows = [r for r in records if r.kind == "row"]
    assert len(rows) == 5  # read through three recorded data_sources.query pages
    assert runner.calls["notion.data_sources.query"] == 3
    first = next(r for r in rows if r.canonical_id.endswith("dcdc805c-85fa-4155-a55c-20fc28771af7"))
    assert first.container_id == database.canonical_id
    assert first.raw["properties"]["StatusTitle"] == "In progress"
    assert first.raw["properties"]["CheckboxTitle"] == "Yes"
    assert not any(r.deleted for r in records)


# -- a whole sample workspace ------------------------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("sample")
    generate_workspace(out, seed=7, weeks=2, scale=1)
    return out / "notion-export.zip"


def load(fake: FakeNotion, export: Path) -> list[ItemRecord]:
    fake.workspace_name = NotionExportImporter(export).source().account
    return fake.load_export(export)


def normalized(text: str, child_titles: set[str]) -> list[str]:
    """Text compared line by line, without blank lines, and without the lines of child
    pages: the API lists a page's child pages as blocks of its content (rendered as the
    export renders them), while the sample export does not list them in the parent."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    while lines and lines[-1] in child_titles:
        lines.pop()
    return lines


def test_sample_workspace_converges_with_the_export(fake: FakeNotion, sample: Path) -> None:
    exported = load(fake, sample)
    runner = RetryRunner()
    sync = connector(fake, runner)
    started = time.perf_counter()
    live = {r.canonical_id: r for r in items(list(sync.sync(None)))}
    elapsed = time.perf_counter() - started
    assert set(live) == {r.canonical_id for r in exported}
    children: dict[str, set[str]] = {}
    for record in exported:
        children.setdefault(record.container_id, set()).add(record.title or "")
    for want in exported:
        got = live[want.canonical_id]
        for field in ("kind", "title", "container_id", "container_name", "thread_id"):
            assert getattr(got, field) == getattr(want, field), (field, want.title)
        assert (got.raw or {}).get("properties") == (want.raw or {}).get("properties")
        titles = children.get(want.canonical_id, set())
        assert normalized(got.text, titles) == normalized(want.text, set()), want.title
        assert {link.target for link in want.links} <= {link.target for link in got.links}
        assert (got.author and got.author.key) == (want.author and want.author.key)
        if want.kind == "row":
            assert got.updated_at == want.updated_at
    total = sum(runner.calls.values())
    print(f"\nnotion sync: {len(live)} items, {total} requests "
          f"({1000 * total / len(live):.0f} per 1,000 items), {len(live) / elapsed:.0f} items/s")


def test_incremental_pass_property_edit_and_trash(fake: FakeNotion, sample: Path) -> None:
    exported = load(fake, sample)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    first = list(connector(fake, clock=lambda: now).sync(None))
    cursor = first[-1].cursor
    row = next(r for r in exported if r.kind == "row")
    row_id = row.canonical_id.split(":", 1)[1]
    fake.edit_property(row_id, "Status", {"id": "c1", "type": "status", "status": {
        "id": "x", "name": "Blocked", "color": "red"}})
    runner = RetryRunner()
    second = list(connector(fake, runner, clock=lambda: now).sync(cursor))
    changed = items(second)
    assert [r.canonical_id for r in changed] == [row.canonical_id]
    assert changed[0].raw["properties"]["Status"] == "Blocked"
    assert "Status: Blocked" in changed[0].text
    # One search page, one block listing, one lookup of the row's database title.
    assert sum(runner.calls.values()) == 3

    page = next(r for r in exported if r.kind == "page" and r.container_id != "notion:workspace")
    fake.trash(page.canonical_id.split(":", 1)[1])
    later = now + timedelta(days=2)  # the daily reconciliation crawl is due
    third = list(connector(fake, clock=lambda: later).sync(second[-1].cursor))
    gone = [r for r in items(third) if r.deleted]
    assert [r.canonical_id for r in gone] == [page.canonical_id]
    assert third[-1].done and third[-1].cursor["last_crawl"] == later.isoformat()


def test_crawl_finds_a_page_search_misses(fake: FakeNotion, sample: Path) -> None:
    exported = load(fake, sample)
    missing = next(r for r in exported if r.kind == "page" and r.thread_id)
    fake.hidden.add(missing.canonical_id.split(":", 1)[1])
    found = {r.canonical_id: r for r in items(list(connector(fake).sync(None)))}
    assert missing.canonical_id in found
    assert found[missing.canonical_id].container_id == missing.container_id


# -- faults ------------------------------------------------------------------------------


def test_rate_limit_is_retried_after_the_servers_delay(fake: FakeNotion, sample: Path) -> None:
    load(fake, sample)
    fake.fault("/search", "429", retry_after="7")
    fake.fault("/children", "500")
    fake.fault("/users/me", "truncated")
    runner = RetryRunner()
    records = items(list(connector(fake, runner).sync(None)))
    assert len(records) == 33
    waits = {(method, after) for method, after, _ in runner.waits}
    assert ("notion.search", 7.0) in waits
    assert ("notion.blocks.children.list", None) in waits
    assert any("truncated" in why for _, _, why in runner.waits)


def test_timeout_is_transient(fake: FakeNotion, sample: Path) -> None:
    load(fake, sample)
    fake.slow_seconds = 0.4
    fake.fault("/search", "slow")
    runner = RetryRunner()
    records = items(list(connector(fake, runner, timeout_ms=100).sync(None)))
    assert len(records) == 33
    assert any("timed out" in why for _, _, why in runner.waits)


def test_revoked_token_stops_with_a_clear_error(fake: FakeNotion) -> None:
    fake.token = "something-else"
    with pytest.raises(AuthError) as caught:
        list(connector(fake).sync(None))
    message = str(caught.value)
    assert "revoked" in message and "threadline connect notion" in message
    assert TOKEN not in message and TOKEN not in repr(caught.value)


def test_repeating_cursor_stops_and_keeps_what_was_read(fake: FakeNotion, sample: Path) -> None:
    load(fake, sample)
    fake.fault("/search", "repeat_cursor", count=99)
    seen: list[Page] = []
    with pytest.raises(PermanentError, match="a second time"):
        for page in connector(fake, page_size=10).sync(None):
            seen.append(page)
    assert len(items(seen)) == 10  # the first page's records were handed over
    fake.faults.clear()
    resumed = items(list(connector(fake, page_size=10).sync(seen[-1].cursor)))
    assert len(items(seen)) + len(resumed) >= 33
