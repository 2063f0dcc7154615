"""Slack and Notion delivery against local fakes that speak the real APIs' wire format."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from deliver_helpers import T0, approve, draft_id, fresh_store, private_secrets
from fakes.notion_pages_server import FakeNotionPages
from fakes.slack_post_server import FakeSlackPost
from sqlalchemy import Engine

from threadline.connectors.connections import create_connection
from threadline.connectors.credentials import save_secrets
from threadline.deliver import content, enqueue, list_deliveries, process_due
from threadline.produce import drafts

PARENT = "0123456789abcdef0123456789abcdef"


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    private_secrets(monkeypatch, tmp_path)
    return fresh_store(tmp_path)


def connect(engine: Engine, name: str, url: str, token: str, scopes: list[str]) -> None:
    conn = create_connection(engine, name=name, platform=name, account=f"{name}-account",
                             api_url=url, scopes=scopes)
    save_secrets(conn.secret_ref, {"token": token})


def send(engine: Engine, did: int, *where: str, at: timedelta = timedelta()) -> None:
    with engine.begin() as conn:
        enqueue(conn, did, list(where), now=T0)
    process_due(engine, T0 + at, sleep=lambda s: None)


def rows(engine: Engine, did: int) -> list[Any]:
    with engine.connect() as conn:
        return sorted(list_deliveries(conn, draft_id=did), key=lambda r: r.id)


def test_slack_channel_and_dm_get_the_block_kit_update_with_permalinks(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    stored = approve(engine, did)
    with FakeSlackPost() as fake:
        connect(engine, "slack", fake.url, fake.state.token, ["chat:write", "im:write"])
        send(engine, did, "slack:#acme-updates", "slack:@U0JANE")
        posts = fake.state.posts
    expected = content.slack_message(stored.draft, None)
    assert [p.channel for p in posts] == ["C0ACME", "D0JANE"]
    assert all(p.blocks == expected["blocks"] and p.text == expected["text"] for p in posts)
    assert posts[0].blocks[0]["text"]["text"] == stored.draft.title
    got = rows(engine, did)
    assert [r.status for r in got] == ["sent", "sent"]
    assert got[0].message_id == f"C0ACME:{posts[0].ts}"
    stamp = posts[0].ts.replace(".", "")
    assert got[0].permalink == f"https://fake.slack.com/archives/C0ACME/p{stamp}"
    assert got[1].message_id.startswith("D0JANE:")
    with engine.connect() as conn:
        assert drafts.get(conn, did).status == "sent"


def test_a_token_without_chat_write_fails_saying_which_scope(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    with FakeSlackPost() as fake:
        # Granted scopes known (as `threadline connect slack` records them): refused at once.
        connect(engine, "slack", fake.url, fake.state.token, ["channels:history", "users:read"])
        send(engine, did, "slack:#acme-updates")
        assert fake.state.posts == [] and fake.state.calls == []
    [row] = rows(engine, did)
    assert row.status == "failed" and row.next_attempt_at is None
    assert "chat:write" in (row.error or "") and "reconnect" in (row.error or "")


def test_slack_missing_scope_unknown_channel_membership_and_rate_limit(engine: Engine) -> None:
    acme = draft_id(engine, "Acme Corp", "2026-W47")
    globex = draft_id(engine, "Globex", "2026-W47")
    approve(engine, acme)
    approve(engine, globex)
    with FakeSlackPost() as fake:
        connect(engine, "slack", fake.url, fake.state.token, [])  # scopes unknown
        fake.state.scopes = ["channels:read"]
        send(engine, acme, "slack:C0ACME")
        [row] = rows(engine, acme)
        assert row.status == "failed" and "chat:write" in (row.error or "")

        fake.state.scopes = ["chat:write"]
        send(engine, globex, "slack:#globex")  # the app was never invited there
        [row] = rows(engine, globex)
        assert row.status == "failed" and "/invite" in (row.error or "")
        assert row.next_attempt_at is None

        fake.state.fault("chat.postMessage", 429, "ratelimited", retry_after="30")
        send(engine, acme, "slack:#acme-updates")
        limited = next(r for r in rows(engine, acme) if r.destination == "slack:#acme-updates")
        assert limited.status == "failed" and limited.next_attempt_at is not None
        assert limited.next_attempt_at >= T0 + timedelta(seconds=30)
        process_due(engine, limited.next_attempt_at)
        assert len(fake.state.posts) == 1
    done = next(r for r in rows(engine, acme) if r.destination == "slack:#acme-updates")
    assert done.status == "sent" and done.attempts == 2


def test_notion_page_gets_all_blocks_in_chunks_of_100(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    stored = approve(engine, did)
    # A long edited text: 260 bullets, so the page needs a create and two appends.
    edited = "# Acme: long update\n\n## Highlights\n\n" + "".join(
        f"- Point {i} about [the tracking gap](https://example.com/{i}) **today**\n"
        for i in range(260))
    with engine.begin() as conn:
        drafts.record_edit(conn, did, "before", edited, now=T0)
    with FakeNotionPages() as fake:
        connect(engine, "notion", fake.url, fake.state.token, [])
        send(engine, did, f"notion:https://www.notion.so/acme/Updates-{PARENT}?pvs=4")
        [page] = fake.state.live()
    assert page.title == "Acme: long update" and page.parent == PARENT
    assert page.requests == [100, 100, 61]
    assert page.children == content.notion_children(stored.draft, edited)
    bullets = [c for c in page.children if c["type"] == "bulleted_list_item"]
    assert len(bullets) == 260
    link = bullets[7]["bulleted_list_item"]["rich_text"][1]
    assert link["text"] == {"content": "the tracking gap", "link": {"url": "https://example.com/7"}}
    [row] = rows(engine, did)
    assert row.status == "sent" and row.message_id == page.id
    assert row.permalink == f"https://www.notion.so/{page.id.replace('-', '')}"


def test_notion_unshared_parent_and_a_failed_append(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    stored = approve(engine, did)
    with FakeNotionPages() as fake:
        connect(engine, "notion", fake.url, fake.state.token, [])
        send(engine, did, "notion:" + "f" * 32)
        [row] = rows(engine, did)
        assert row.status == "failed" and row.next_attempt_at is None
        assert "share it with the integration" in (row.error or "")

        long_text = "# Long\n\n" + "".join(f"- item {i}\n" for i in range(150))
        with engine.begin() as conn:
            drafts.record_edit(conn, did, "x", long_text, now=T0)
        fake.state.fault("append", 503, "service_unavailable")
        send(engine, did, f"notion:{PARENT}")
        failed = next(r for r in rows(engine, did) if r.destination.endswith(PARENT[-12:]))
        assert failed.status == "failed" and failed.next_attempt_at is not None
        # The half-built page went to the trash; nothing live yet.
        assert fake.state.live() == [] and len(fake.state.pages) == 1
        process_due(engine, failed.next_attempt_at)
        [page] = fake.state.live()
        assert len(page.children) == 150
    assert stored.draft.title  # the composed draft stays as it was
