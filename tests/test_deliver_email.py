"""Email delivery: a real SMTP server on 127.0.0.1 (aiosmtpd, STARTTLS with a certificate
made here, AUTH required), and the Gmail API against a local fake."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from deliver_helpers import T0, approve, draft_id, fresh_store, private_secrets
from fakes.gmail_send_server import FakeGmailSend
from sqlalchemy import Engine
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.connections import create_connection
from threadline.connectors.credentials import save_secrets
from threadline.deliver import (
    DeliveryResult,
    DeliverySettings,
    Destination,
    enqueue,
    list_deliveries,
    process_due,
)
from threadline.deliver.email_smtp import SmtpDeliverer
from threadline.deliver.gmail_send import GmailDeliverer
from threadline.deliver.process import LEASE
from threadline.produce import drafts
from threadline.produce.model import Draft

PASSWORD = "correct-horse-battery-staple-42"
SENDER = "Jane Consultant <jane@northwind.example>"
TO = "email:ceo@acme.example"


def make_cert(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
                critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@dataclass
class Inbox:
    """What the SMTP server received, and replies to give instead of accepting."""

    messages: list[tuple[str, list[str], bytes]] = field(default_factory=list)
    refuse: list[str] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse:
            return self.refuse.pop(0)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK queued"

    def parsed(self, i: int) -> EmailMessage:
        message = message_from_bytes(self.messages[i][2], policy=policy.default)
        assert isinstance(message, EmailMessage)
        return message


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Smtp:
    inbox: Inbox
    port: int
    cert: Path


@pytest.fixture
def smtp(tmp_path: Path) -> Iterator[Smtp]:
    cert, key = make_cert(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str,
                     auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"jane"
              and auth_data.password == PASSWORD.encode())
        inbox.logins.append(mechanism)
        return AuthResult(success=ok, handled=False)

    port = free_port()
    # start() returns once the server answers a connection: no sleeping for readiness.
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context,
                            require_starttls=True, auth_required=True, auth_require_tls=True,
                            authenticator=authenticate)
    controller.start()
    try:
        yield Smtp(inbox, port, cert)
    finally:
        controller.stop()


@pytest.fixture
def engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    private_secrets(monkeypatch, tmp_path)
    engine = fresh_store(tmp_path)
    yield engine
    engine.dispose()


def setup_smtp(engine: Engine, smtp: Smtp, password: str = PASSWORD) -> Any:
    return CliRunner().invoke(app, [
        "--db", str(engine.url.database), "deliver", "setup-smtp", "--host", "127.0.0.1",
        "--port", str(smtp.port), "--username", "jane", "--password-stdin", "--from", SENDER,
        "--ca-file", str(smtp.cert)], input=password + "\n")


def send(engine: Engine, did: int, *where: str, at: dt.datetime = T0, **kw: Any) -> None:
    with engine.begin() as conn:
        enqueue(conn, did, list(where), now=T0)
    process_due(engine, at, sleep=lambda s: None, **kw)


def deliveries(engine: Engine, did: int) -> list[Any]:
    with engine.connect() as conn:
        return list_deliveries(conn, draft_id=did)


def test_weekly_updates_arrive_as_two_part_mail_threaded_week_to_week(
    engine: Engine, smtp: Smtp, tmp_path: Path
) -> None:
    result = setup_smtp(engine, smtp)
    assert result.exit_code == 0, result.output
    assert "connected and logged in" in result.output and PASSWORD not in result.output
    week46, week47 = (draft_id(engine, "Acme Corp", w) for w in ("2026-W46", "2026-W47"))
    first = approve(engine, week46)
    send(engine, week46, TO)
    [row46] = deliveries(engine, week46)
    assert row46.status == "sent", row46.error
    mail_from, rcpts, _ = smtp.inbox.messages[0]
    assert mail_from == "jane@northwind.example" and rcpts == ["ceo@acme.example"]
    assert smtp.inbox.logins and set(smtp.inbox.logins) <= {"LOGIN", "PLAIN"}

    message = smtp.inbox.parsed(0)
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == first.draft.title
    assert message["Message-ID"] == row46.message_id
    assert message["To"] == "ceo@acme.example" and "jane@northwind.example" in message["From"]
    assert message["In-Reply-To"] is None and message["References"] is None
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    claim = first.draft.shipped_claims()[0].text.strip()
    assert claim in plain.get_content() and "Sources" in plain.get_content()
    assert "<html>" in html.get_content() and first.draft.title in html.get_content()
    with engine.connect() as conn:
        assert drafts.get(conn, week46).status == "sent"

    second = approve(engine, week47)
    send(engine, week47, TO, "email:ops@acme.example", at=T0 + dt.timedelta(days=7))
    reply = smtp.inbox.parsed(1)
    assert reply["Subject"] == second.draft.title
    assert reply["In-Reply-To"] == row46.message_id
    assert reply["References"] == row46.message_id
    other = smtp.inbox.parsed(2)  # another recipient: a thread of its own
    assert other["To"] == "ops@acme.example" and other["In-Reply-To"] is None
    assert len({smtp.inbox.parsed(i)["Message-ID"] for i in range(3)}) == 3

    # The password is nowhere but the encrypted secrets file.
    secret = PASSWORD.encode()
    assert all(secret not in raw for _, _, raw in smtp.inbox.messages)
    assert secret not in Path(str(engine.url.database)).read_bytes()
    stored = list((tmp_path / "home" / "secrets").iterdir())
    assert stored and all(secret not in p.read_bytes() for p in stored)
    listing = CliRunner().invoke(app, ["--db", str(engine.url.database), "deliveries"],
                                 env={"COLUMNS": "300"})
    assert listing.exit_code == 0 and "ceo@acme.example" in listing.output
    assert PASSWORD not in listing.output


def test_bad_password_fails_setup_and_a_451_is_retried(engine: Engine, smtp: Smtp) -> None:
    refused = setup_smtp(engine, smtp, password="wrong")
    assert refused.exit_code == 1 and "refused the username/password" in refused.output
    assert setup_smtp(engine, smtp).exit_code == 0
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    smtp.inbox.refuse.append("451 4.3.0 mailbox busy, try later")
    send(engine, did, TO)
    [row] = deliveries(engine, did)
    assert row.status == "failed" and "451" in (row.error or "")
    assert row.next_attempt_at is not None and row.next_attempt_at > T0
    assert smtp.inbox.messages == []
    process_due(engine, row.next_attempt_at)
    [row] = deliveries(engine, did)
    assert row.status == "sent" and row.attempts == 2
    assert len(smtp.inbox.messages) == 1
    assert smtp.inbox.parsed(0)["Message-ID"] == row.message_id


class Crash(BaseException):
    """The process dying right after the remote accepted, before the queue recorded it."""


class CrashAfterSend:
    def __init__(self, inner: Any) -> None:
        self.inner, self.kind, self.crashed = inner, inner.kind, False

    def new_message_id(self, destination: Destination, settings: DeliverySettings) -> str:
        return str(self.inner.new_message_id(destination, settings))

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        result: DeliveryResult = self.inner.deliver(draft, destination, settings)
        if not self.crashed:
            self.crashed = True
            raise Crash()
        return result

    def already_sent(self, draft: Draft, destination: Destination,
                     settings: DeliverySettings) -> DeliveryResult | None:
        if hasattr(self.inner, "already_sent"):
            found: DeliveryResult | None = self.inner.already_sent(draft, destination, settings)
            return found
        return None


def test_smtp_crash_after_send_resends_the_same_message_id(engine: Engine, smtp: Smtp) -> None:
    assert setup_smtp(engine, smtp).exit_code == 0
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    crashing = CrashAfterSend(SmtpDeliverer())
    with pytest.raises(Crash):
        send(engine, did, TO, deliverers={"email": crashing})
    [row] = deliveries(engine, did)
    assert row.status == "sending" and row.message_id
    process_due(engine, T0 + LEASE / 2, deliverers={"email": crashing})
    assert len(smtp.inbox.messages) == 1  # still within the lease: not taken for dead
    process_due(engine, T0 + LEASE + dt.timedelta(seconds=1), deliverers={"email": crashing})
    [row] = deliveries(engine, did)
    assert row.status == "sent"
    # SMTP cannot be asked: the documented at-least-once window, with one Message-ID.
    ids = [smtp.inbox.parsed(i)["Message-ID"] for i in range(len(smtp.inbox.messages))]
    assert ids == [row.message_id, row.message_id]


GMAIL_SEND = "https://www.googleapis.com/auth/gmail.send"


def connect_gmail(engine: Engine, fake: FakeGmailSend, scopes: list[str]) -> None:
    conn = create_connection(engine, name="gmail", platform="gmail",
                             account="jane@northwind.example", api_url=fake.url)
    save_secrets(conn.secret_ref, fake.secrets(scopes))


def test_gmail_sends_the_same_mime_threads_and_never_sends_twice_after_a_crash(
    engine: Engine,
) -> None:
    week46, week47 = (draft_id(engine, "Acme Corp", w) for w in ("2026-W46", "2026-W47"))
    first = approve(engine, week46)
    approve(engine, week47)
    with FakeGmailSend() as fake:
        connect_gmail(engine, fake, [GMAIL_SEND])
        crashing = CrashAfterSend(GmailDeliverer())
        with pytest.raises(Crash):
            send(engine, week46, "gmail:ceo@acme.example", deliverers={"gmail": crashing})
        process_due(engine, T0 + LEASE + dt.timedelta(seconds=1),
                    deliverers={"gmail": crashing})
        [row46] = deliveries(engine, week46)
        assert row46.status == "sent" and len(fake.state.sent) == 1  # found, not resent
        sent = fake.state.sent[0].message
        assert sent.get_content_type() == "multipart/alternative"
        assert sent["Subject"] == first.draft.title and sent["Message-ID"] == row46.message_id
        assert sent.get_body(("plain",)) is not None and sent.get_body(("html",)) is not None
        assert row46.permalink == f"https://mail.google.com/mail/#all/{fake.state.sent[0].id}"

        send(engine, week47, "gmail:ceo@acme.example", at=T0 + dt.timedelta(days=7))
        assert len(fake.state.sent) == 2
        reply = fake.state.sent[1]
        assert reply.message["In-Reply-To"] == row46.message_id
        assert reply.thread_id == fake.state.sent[0].thread_id


def test_gmail_read_only_connection_is_told_it_needs_the_send_scope(engine: Engine) -> None:
    did = draft_id(engine, "Acme Corp", "2026-W47")
    approve(engine, did)
    with FakeGmailSend() as fake:
        connect_gmail(engine, fake, ["https://www.googleapis.com/auth/gmail.readonly"])
        send(engine, did, "gmail:ceo@acme.example")
        [row] = deliveries(engine, did)
        assert row.status == "failed" and row.next_attempt_at is None
        assert "gmail.send" in (row.error or "") and fake.state.sent == []
        # Scopes not recorded, and Google says 403: the same advice.
        connect_gmail(engine, fake, [])
        fake.state.can_send = False
        with engine.begin() as conn:
            from threadline.deliver.queue import retry_delivery
            retry_delivery(conn, row.id, now=T0)
        process_due(engine, T0)
        [row] = deliveries(engine, did)
        assert row.status == "failed" and "gmail.send" in (row.error or "")
