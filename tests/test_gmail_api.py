"""Gmail live sync: the real googleapiclient against a local fake of the Gmail API.

The fake's state is built from real files: Gmail API ``format=full`` payloads from the
corpus, and the sample workspace's Takeout-like mbox. Syncing that mailbox through the API
must give the store an mbox import gives: same canonical ids, same content hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fakes.google_server import GoogleFake, GoogleState, Mail, load_full_payload, load_mbox
from fakes.google_sync import (
    RetryRunner,
    import_records,
    items,
    records,
    save,
    store_lookup,
    stored,
)

from threadline.connectors.gmail_api import GmailConnector
from threadline.connectors.mbox import MboxImporter
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    DirectRunner,
    Page,
    PermanentError,
    RequestRunner,
    TransientError,
    load_connector,
)
from threadline.records import IdentityRecord, QuarantineRecord
from threadline.sample import FILES, generate_workspace
from threadline.store import open_store

FIXTURES = Path(__file__).parent / "fixtures" / "gmail-api"
CORPUS = sorted(FIXTURES.glob("larsklingsten_*.json"))
KEY_FIELDS = (
    "title", "text", "thread_id", "container_id", "container_name", "author_key",
    "recipients", "labels", "occurred_at", "created_at", "attachments", "deleted", "content_hash",
)  # fmt: skip


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ws")
    generate_workspace(out, seed=7, weeks=3, scale=1)
    return out


def mailbox(workspace: Path) -> GoogleState:
    state = GoogleState(account="jane@northwind.example")
    load_mbox(state, workspace / FILES["email"])
    newest = max(m.internal_ms for m in state.mail.values())
    state.now = state.now.fromtimestamp(newest / 1000, state.now.tzinfo) + timedelta(days=1)
    return state


@pytest.fixture
def fake(workspace: Path) -> Iterator[GoogleFake]:
    with GoogleFake(mailbox(workspace)) as server:
        yield server


def connector(
    fake: GoogleFake, runner: RequestRunner | None = None, **options: Any
) -> GmailConnector:
    settings = ConnectionSettings(
        platform="email", name="gmail", api_url=fake.url, secrets=fake.secrets(),
        options={"timeout": 2, **options},
    )  # fmt: skip
    return GmailConnector(settings, runner or DirectRunner())


def sync_all(conn: GmailConnector, cursor: dict[str, Any] | None = None) -> list[Page]:
    return list(conn.sync(cursor))


def test_registry_builds_the_gmail_connector(fake: GoogleFake) -> None:
    settings = ConnectionSettings(platform="email", name="gmail", api_url=fake.url,
                                  secrets=fake.secrets())  # fmt: skip
    made = load_connector("gmail")(settings, DirectRunner())
    assert (made.platform, made.name) == ("email", "gmail")
    assert made.discover().account == "jane@northwind.example"


def test_real_gmail_payloads_through_the_real_client() -> None:
    state = GoogleState(account="lk@example.dk")
    payloads = [json.loads(path.read_text()) for path in CORPUS]
    for payload in payloads:
        load_full_payload(state, payload)
    state.now = state.now.replace(year=2019)
    with GoogleFake(state) as server:
        conn = connector(server, window="2y")
        pages = sync_all(conn)
        full = conn._gmail().users().messages().get(userId="me", id=payloads[0]["id"]).execute()
    assert full["payload"] == payloads[0]["payload"]  # format=full is served as recorded
    found = items(pages)
    assert len(found) == len(payloads)
    claudia = found["email:DIIE.00004C820000F86B@192.168.102.94"]
    assert claudia.thread_id == f"email-thread:{int('1674065674141fb3', 16)}"
    assert claudia.native["gmail_id"] == "1674065674141fb3"
    assert claudia.labels == ["Corpus Label_80", "Corpus Label_301", "Important",
                              "Category Personal", "Inbox"]  # fmt: skip
    assert claudia.text.startswith("Sehr geehrter Herr Klingsten,\n\nanbei übersenden wir Ihnen")
    assert [(a.name, a.size) for a in claudia.attachments] == [
        ("FI7100-oben11232018114520001.pdf", 730600)
    ]
    assert claudia.native.get("raw_truncated") == "1"  # attachment bytes are not stored
    ubs = next(i for i in found.values() if i.text.startswith("Lars,\n\nCut off for at sende DKK"))
    assert ubs.text.endswith("Vh\nAnnette")
    assert pages[-1].done and pages[-1].cursor == {"history_id": str(state.history_id)}
    assert not [r for r in records(pages) if isinstance(r, QuarantineRecord)]


def test_workspace_sync_converges_with_the_mbox_import(
    fake: GoogleFake, workspace: Path, tmp_path: Path
) -> None:
    conn = connector(fake, batch=40, page_size=50)  # several list pages and chunks
    pages = sync_all(conn)
    assert [p.done for p in pages] == [False] * (len(pages) - 1) + [True]
    synced_db = open_store(str(tmp_path / "synced.db"))
    imported_db = open_store(str(tmp_path / "imported.db"))
    save(synced_db, conn.discover(), pages)
    path = workspace / FILES["email"]
    counts = import_records(imported_db, MboxImporter(path))
    assert counts.quarantined == 0
    synced, imported = stored(synced_db), stored(imported_db)
    assert set(synced) == set(imported) and len(synced) == counts.added
    for cid, row in imported.items():
        for key in KEY_FIELDS:
            assert synced[cid][key] == row[key], (cid, key)
        assert synced[cid]["native"]["gmail_id"] == row["native"]["gmail_id"]
    people = {r.identity.key for r in records(pages) if isinstance(r, IdentityRecord)}
    imported_people = {
        r.identity.key for r in MboxImporter(path).read() if isinstance(r, IdentityRecord)
    }
    assert people == imported_people
    synced_db.dispose()
    imported_db.dispose()


def test_incremental_pass_after_adding_relabelling_reading_and_deleting(
    fake: GoogleFake, workspace: Path, tmp_path: Path
) -> None:
    db = open_store(str(tmp_path / "t.db"))
    path = workspace / FILES["email"]
    import_records(db, MboxImporter(path))  # the user imported Takeout before connecting
    runner = RetryRunner()
    conn = connector(fake, runner, lookup=store_lookup(db))
    first = sync_all(conn)
    assert save(db, conn.discover(), first).added == 0  # all known from the import
    state = fake.state
    victim, starred, read = sorted(state.mail)[:3]
    victim_id = stored(db)
    victim_cid = next(c for c, r in victim_id.items() if r["native"].get("gmail_id") == victim)
    raw = (b"Message-ID: <new-1@example.com>\r\nFrom: Ada <ada@example.com>\r\n"
           b"To: jane@northwind.example\r\nSubject: Re: kickoff\r\n"
           b"Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n\r\nSee you there.\r\n")  # fmt: skip
    state.add_mail(Mail("ffff0001", "ffff0001", raw, ["INBOX", "UNREAD"], 1793613600000, 0))
    state.relabel(starred, ["STARRED"])
    state.relabel(read, [], ["UNREAD"])  # reading mail is not a change here
    state.delete_mail(victim)
    gets_before = runner.calls["gmail.messages.get"]
    second = sync_all(conn, first[-1].cursor)
    assert runner.calls["gmail.messages.get"] - gets_before == 2  # the new one and the starred
    counts = save(db, conn.discover(), second)
    assert (counts.added, counts.updated, counts.deleted) == (1, 1, 1)
    after = stored(db)
    assert after["email:new-1@example.com"]["text"] == "See you there."
    assert after["email:new-1@example.com"]["labels"] == ["Inbox"]
    assert after[victim_cid]["deleted"] is True
    assert (
        "Starred"
        in next(r for r in after.values() if r["native"].get("gmail_id") == starred)["labels"]
    )
    assert second[-1].cursor == {"history_id": str(state.history_id)}
    assert "1 deleted" in second[-1].note
    third = sync_all(conn, second[-1].cursor)  # nothing new: one request, no records
    assert [p.records for p in third] == [[]]
    db.dispose()


def test_a_deletion_without_lookup_is_reported_not_guessed(fake: GoogleFake) -> None:
    conn = connector(fake)
    cursor = sync_all(conn)[-1].cursor
    fake.state.delete_mail(sorted(fake.state.mail)[0])
    [page] = sync_all(conn, cursor)
    assert page.records == []
    assert "1 deleted messages not known here" in page.note


def test_resuming_from_any_page_cursor_reads_the_rest(fake: GoogleFake) -> None:
    conn = connector(fake, batch=30, page_size=50)
    pages = sync_all(conn)
    middle = pages[2].cursor
    assert (middle["page_token"], middle["skip"]) == ("p1", 30)  # inside the second list page
    rest = sync_all(connector(fake, batch=30, page_size=50), middle)
    assert set(items(pages[:3])) | set(items(rest)) == set(items(pages))
    assert rest[-1].cursor == pages[-1].cursor


def test_rate_limits_and_server_errors_are_retried_with_retry_after(fake: GoogleFake) -> None:
    fake.state.fault("/messages/", "429", times=1, retry_after="7")
    with pytest.raises(TransientError) as caught:
        sync_all(connector(fake))
    assert caught.value.retry_after == 7.0
    assert "Gmail message" in str(caught.value) and "HTTP 429" in str(caught.value)
    fake.state.fault("/messages/", "429", times=1, retry_after="3")
    fake.state.fault("/gmail/v1/users/me/messages", "500", times=2)
    runner = RetryRunner()
    pages = sync_all(connector(fake, runner))
    assert len(items(pages)) == len(fake.state.mail)
    assert 3.0 in runner.waits and len(runner.errors) == 3
    assert any("HTTP 500" in e for e in runner.errors)


def test_timeouts_and_truncated_json_are_transient(fake: GoogleFake) -> None:
    fake.state.fault("/profile", "timeout")
    with pytest.raises(TransientError, match="no answer in time"):
        connector(fake, timeout=0.2).discover()
    fake.state.fault("/messages", "truncated")
    with pytest.raises(TransientError, match="cut off or is not JSON"):
        sync_all(connector(fake))
    fake.state.fault("/messages/", "truncated")
    fake.state.fault("/history", "timeout")
    runner = RetryRunner()
    conn = connector(fake, runner, timeout=0.3)
    pages = sync_all(conn)
    assert len(items(pages)) == len(fake.state.mail)
    assert [p.records for p in sync_all(conn, pages[-1].cursor)] == [[]]
    assert len(runner.errors) == 2


def test_expired_history_id_means_a_full_resync_without_loss(fake: GoogleFake) -> None:
    conn = connector(fake)
    first = sync_all(conn)
    fake.state.delete_mail(sorted(fake.state.mail)[0])
    fake.state.expire_history()
    second = sync_all(conn, first[-1].cursor)
    assert "has expired at Gmail (HTTP 404): full resync" in second[0].note
    assert set(items(second)) == set(items(first)) - {
        cid for cid, i in items(first).items() if i.native["gmail_id"] not in fake.state.mail
    }
    assert second[-1].done and second[-1].cursor == {"history_id": str(fake.state.history_id)}


def test_a_refused_refresh_is_an_auth_error_naming_the_fix(fake: GoogleFake) -> None:
    fake.state.access_tokens = {"access-renewed"}  # the stored access token has expired
    conn = connector(fake)
    assert conn.discover().account  # google-auth refreshed it at /token on the 401
    fake.state.access_tokens = set()
    fake.state.refresh_tokens = set()  # the user revoked the grant
    with pytest.raises(AuthError) as caught:
        sync_all(connector(fake))
    message = str(caught.value)
    assert "token revoked or expired: run threadline connect google --credentials FILE" in message
    assert "invalid_grant" in message
    assert "refresh-0" not in message and "csecret" not in message


def test_a_repeating_page_token_stops_with_a_clear_error(fake: GoogleFake) -> None:
    fake.state.repeat_tokens = True
    seen: list[Page] = []
    with pytest.raises(PermanentError, match="page token 'p-stuck' a second time"):
        for page in connector(fake, page_size=50).sync(None):
            seen.append(page)
    assert len(items(seen)) == 50  # the page read before the repeat was handed over


def test_requests_per_message(fake: GoogleFake) -> None:
    runner = RetryRunner()
    pages = sync_all(connector(fake, runner))
    count = len(items(pages))
    # getProfile + labels.list + one list page (500 ids) + one get per message
    assert sum(runner.calls.values()) == count + 3


def test_retry_after_reads_seconds_and_http_dates() -> None:
    from datetime import UTC, datetime

    from threadline.connectors.google_client import retry_after

    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert retry_after("120") == 120.0
    assert retry_after("Thu, 01 Jan 2026 12:00:30 GMT", lambda: now) == 30.0
    assert retry_after("soon") is None and retry_after(None) is None
