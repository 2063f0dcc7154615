"""The delivery queue: idempotency, retries with backoff on a controllable clock, failures
that stay visible, only approved drafts, and file delivery (Markdown, HTML, PDF)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from deliver_helpers import T0, approve, draft_id, fresh_store, private_secrets
from fakes.slack_post_server import FakeSlackPost
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.connections import create_connection
from threadline.connectors.credentials import save_secrets
from threadline.deliver import (
    DestinationError,
    enqueue,
    idempotency_key,
    list_deliveries,
    parse_destination,
    process_due,
    retry_delivery,
)
from threadline.deliver.content import html_document
from threadline.produce import drafts
from threadline.produce.model import Claim, Draft, Scope, Section
from threadline.produce.render import render
from threadline.store.autonomy_schema import delivery


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Engine:
    private_secrets(monkeypatch, tmp_path)
    return fresh_store(tmp_path)


def rows(engine: Engine, did: int) -> list[Any]:
    with engine.connect() as conn:
        return sorted(list_deliveries(conn, draft_id=did), key=lambda r: r.id)


def queue(engine: Engine, did: int, *where: str) -> list[int]:
    with engine.begin() as conn:
        return enqueue(conn, did, list(where), now=T0)


def test_destinations_parse_to_one_canonical_form_or_say_what_is_wrong() -> None:
    assert str(parse_destination("slack: #Acme-Updates")) == "slack:#acme-updates"
    assert str(parse_destination("slack:C0123ABC")) == "slack:C0123ABC"
    assert parse_destination("slack:@U0123ABC").slack_dm
    assert str(parse_destination("email:Jane@ACME.example")) == "email:Jane@acme.example"
    url = "https://www.notion.so/acme/Weekly-Updates-0123456789abcdef0123456789abcdef?pvs=4"
    assert parse_destination(f"notion:{url}").target == "01234567-89ab-cdef-0123-456789abcdef"
    assert parse_destination("file:/tmp/u.pdf").file_format == "pdf"
    for bad, words in [("fax:123", "must start with"), ("email:jane", "not an email"),
                       ("slack:@jane", "member id"), ("notion:my page", "32 hex"),
                       ("file:/tmp/u.docx", ".html"), ("file:relative.md", "absolute")]:
        with pytest.raises(DestinationError, match=words):
            parse_destination(bad)


def test_enqueue_twice_and_process_twice_sends_once(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    with FakeSlackPost() as fake:
        conn_row = create_connection(engine, name="slack", platform="slack", account="T1",
                                     api_url=fake.url, scopes=["chat:write"])
        save_secrets(conn_row.secret_ref, {"token": fake.state.token})
        first = queue(engine, did, "slack:#acme-updates")
        again = queue(engine, did, "slack:#Acme-Updates", "slack:#acme-updates")
        assert first == again == again[:1]
        process_due(engine, T0)
        process_due(engine, T0 + timedelta(hours=1))
        assert queue(engine, did, "slack:#acme-updates") == first
        process_due(engine, T0 + timedelta(days=1))
        assert len(fake.state.posts) == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(delivery)).scalar_one() == 1
        key = conn.execute(select(delivery.c.idempotency_key)).scalar_one()
    assert key == idempotency_key(did, "slack:#acme-updates")


def test_a_failing_destination_backs_off_and_is_never_lost(engine: Engine,
                                                           tmp_path: Path) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    blocker = tmp_path / "out"
    blocker.write_text("a file where the folder should be")
    [dlv] = queue(engine, did, f"file:{blocker}/update.md")
    clock, delays = T0, []
    for attempt in (1, 2, 3):
        report = process_due(engine, clock, rng=random.Random(attempt))
        assert report.retrying == [dlv]
        [row] = rows(engine, did)
        assert row.status == "failed" and row.attempts == attempt
        delay = (row.next_attempt_at - clock).total_seconds()
        delays.append(delay)
        assert 60 * 2 ** (attempt - 1) * 0.8 <= delay <= 60 * 2 ** (attempt - 1) * 1.2
        # Not due yet: nothing is tried.
        assert process_due(engine, row.next_attempt_at - timedelta(seconds=1)).retrying == []
        clock = row.next_attempt_at
    assert delays == sorted(delays)
    blocker.unlink()
    assert process_due(engine, clock).sent == [dlv]
    [row] = rows(engine, did)
    assert row.status == "sent" and row.attempts == 4 and row.sent_at == clock
    assert (blocker / "update.md").read_text().startswith("# ")
    with engine.connect() as conn:
        stored = drafts.get(conn, did)
    assert stored.status == "sent" and stored.sent_at == clock


def test_after_max_attempts_it_stays_failed_and_visible_until_retried(
    engine: Engine, tmp_path: Path
) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    blocker = tmp_path / "out"
    blocker.write_text("x")
    [dlv] = queue(engine, did, f"file:{blocker}/update.html")
    clock = T0
    for _ in range(3):
        process_due(engine, clock, max_attempts=3)
        [row] = rows(engine, did)
        clock = row.next_attempt_at or clock
    assert row.status == "failed" and row.attempts == 3 and row.next_attempt_at is None
    assert "gave up after 3 attempts" in (row.error or "")
    assert process_due(engine, T0 + timedelta(days=365)).retrying == []
    result = CliRunner().invoke(app, ["--db", str(engine.url.database), "deliveries",
                                      "--status", "failed"], env={"COLUMNS": "300"})
    assert result.exit_code == 0 and "gave up after 3" in result.output
    blocker.unlink()
    with engine.begin() as conn:
        retry_delivery(conn, dlv, now=clock)
    assert process_due(engine, clock).sent == [dlv]


def test_permanent_failures_and_unapproved_drafts(engine: Engine, tmp_path: Path) -> None:
    waiting = draft_id(engine, "Acme Corp", "2026-W47")
    target = tmp_path / "waiting.md"
    [dlv] = queue(engine, waiting, f"file:{target}")
    report = process_due(engine, T0)
    assert report.waiting == [dlv] and not target.exists()
    [row] = rows(engine, waiting)
    assert row.status == "pending" and row.attempts == 0
    with engine.begin() as conn:
        drafts.mark(conn, waiting, "rejected", now=T0)
    process_due(engine, T0)
    [row] = rows(engine, waiting)
    assert row.status == "failed" and "rejected" in (row.error or "") and not target.exists()

    did = draft_id(engine, "Globex", "2026-W47")
    approve(engine, did)
    [bad] = queue(engine, did, f"file:{tmp_path}/{{nope}}.md")
    assert process_due(engine, T0).failed == [bad]
    [row] = rows(engine, did)
    assert row.status == "failed" and row.next_attempt_at is None
    assert "{client}" in (row.error or "")


def flagged_draft(engine: Engine) -> int:
    now = datetime(2026, 11, 27, tzinfo=UTC)
    body = Draft(scope=Scope(recipe="client-update", client="Initech", start=now, end=now,
                             week="2026-W48"),
                 title="Initech: weekly update", composer="offline", sections=[Section(
                     key="highlights", title="Highlights", claims=[
                         Claim(text="Launch moved to 3 Dec.", citations=[], status="flagged",
                               reasons=["date not found in the cited items"])])])
    with engine.begin() as conn:
        did = drafts.save(conn, body, "2026-W48", now=now)
        drafts.mark(conn, did, "approved", now=now)
    return did


def test_flagged_claims_are_never_sent_until_edited(engine: Engine, tmp_path: Path) -> None:
    did = flagged_draft(engine)
    target = tmp_path / "initech.md"
    queue(engine, did, f"file:{target}")
    process_due(engine, T0)
    [row] = rows(engine, did)
    assert row.status == "failed" and "flagged for review" in (row.error or "")
    assert not target.exists()
    edited = "# Initech: weekly update\n\n## Highlights\n\n- Launch is on track.\n"
    with engine.begin() as conn:
        drafts.record_edit(conn, did, render(drafts.get(conn, did).draft, "markdown"), edited)
        retry_delivery(conn, row.id, now=T0)
    process_due(engine, T0)
    assert target.read_text() == edited


def test_files_in_markdown_html_and_pdf(engine: Engine, tmp_path: Path) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    stored = approve(engine, did)
    where = tmp_path / "reports"
    queue(engine, did, f"file:{where}/{{client}}-{{slot}}.md", f"file:{where}/update.html")
    process_due(engine, T0)
    md = where / "Acme-Corp-2026-W47.md"
    assert md.read_text() == render(stored.draft, "markdown")
    html = (where / "update.html").read_text()
    assert html == html_document(stored.draft, None) and html.startswith("<!DOCTYPE html>")
    assert all(r.status == "sent" for r in rows(engine, did))
    assert {r.permalink for r in rows(engine, did)} == {md.as_uri(),
                                                        (where / "update.html").as_uri()}
    try:
        from weasyprint import HTML

        HTML(string="<p>probe</p>").write_pdf()
    except Exception as exc:
        pytest.skip(f"WeasyPrint cannot render PDF here: {type(exc).__name__}: {exc}")
    queue(engine, did, f"file:{where}/update.pdf")
    process_due(engine, T0)
    pdf = (where / "update.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000


def test_cli_send_requires_approval_and_writes_the_file(engine: Engine, tmp_path: Path) -> None:
    did = draft_id(engine, "Globex", "2026-W47")
    target = tmp_path / "globex.md"
    db = ["--db", str(engine.url.database)]
    refused = CliRunner().invoke(app, [*db, "deliver", "send", str(did), "--to",
                                       f"file:{target}"], env={"COLUMNS": "300"})
    assert refused.exit_code == 1 and "not approved" in refused.output
    assert not target.exists() and rows(engine, did) == []
    sent = CliRunner().invoke(app, [*db, "deliver", "send", str(did), "--to", f"file:{target}",
                                    "--approve"], env={"COLUMNS": "300"})
    assert sent.exit_code == 0, sent.output
    assert "✓" in sent.output and target.read_text().startswith("# Globex")
    with engine.connect() as conn:
        assert drafts.get(conn, did).status == "sent"
    typo = CliRunner().invoke(app, [*db, "deliver", "send", str(did), "--to", "slack:@jane"],
                              env={"COLUMNS": "300"})
    assert typo.exit_code == 1 and "member id" in typo.output
