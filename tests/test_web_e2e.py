"""End to end in a real browser (Debian's chromium): sign in, review a draft and open a
citation's source, edit, approve and see the email arrive, then the timeline.

Screenshots of every page go to tests/artifacts/web/ for a person to look at.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import httpx
import pytest
from web_support import CLIENT, PASSWORD, USERNAME, WEEK, WebStore, make_app, web_store

from threadline.produce import drafts
from threadline.web import actions

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parent / "artifacts" / "web"

if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
    pytest.skip(f"no chromium at {CHROMIUM}: apt-get install -y chromium", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")


class Inbox:
    """An aiosmtpd handler that keeps each message and signals its arrival."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        self.arrived.set()
        return "250 OK"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("webe2e"))


@pytest.fixture(scope="module")
def inbox() -> Iterator[tuple[Inbox, int]]:
    from aiosmtpd.controller import Controller

    handler = Inbox()
    # aiosmtpd's readiness check connects to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()  # returns once the server answers: its own readiness check
    try:
        yield handler, port
    finally:
        controller.stop()


@pytest.fixture(scope="module")
def server(store: WebStore) -> Iterator[str]:
    import uvicorn

    # The socket listens before the server thread starts, so the first request simply
    # waits in the accept queue: no polling, no sleeping.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    from datetime import UTC, datetime

    app = make_app(store.engine, lambda: datetime.now(UTC))  # type: ignore[arg-type]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz", timeout=20).json() == {"status": "ok"}
    yield base
    uv.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_api.sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"],
        )
        yield launched
        launched.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_review_approve_deliver_and_timeline_in_a_browser(
    store: WebStore, server: str, browser: Any, inbox: tuple[Inbox, int],
) -> None:
    handler, smtp_port = inbox
    delivery_ready = actions.module(actions.DELIVER) is not None
    if delivery_ready:
        from threadline.deliver.email_smtp import SmtpConfig, save_smtp

        save_smtp(SmtpConfig(host="127.0.0.1", port=smtp_port, username=None, password=None,
                             sender="me@northwind.example", tls="none"))
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)

    # 1. Sign in.
    page.goto(f"{server}/queue")
    assert "/login" in page.url
    shot(page, "1-login")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server}/queue")
    shot(page, "2-queue")

    # 2. Open the draft and a citation's source.
    with store.engine.connect() as conn:
        stored = drafts.get(conn, store.draft_id)
    page.get_by_role("link", name=stored.draft.title).click()
    page.wait_for_url(f"{server}/drafts/{store.draft_id}")
    first = page.locator("a.cite").first
    first.click()
    panel = page.locator("#source-panel")
    sync_api.expect(panel).to_be_visible()
    sync_api.expect(first).to_have_attribute("aria-expanded", "true")
    n = int(first.get_attribute("data-cite") or "0")
    source = page.locator(f"#src-{n}")
    author = source.locator("strong").first.inner_text()
    sync_api.expect(panel).to_contain_text(author)
    sync_api.expect(panel).to_contain_text("Citation [")
    shot(page, "3-draft-with-source")
    page.keyboard.press("Escape")
    sync_api.expect(panel).to_be_hidden()

    # 3. Edit a sentence, approve, see the email arrive.
    page.get_by_text("Edit the text").click()
    area = page.get_by_label("Markdown", exact=False)
    before = area.input_value()
    first_claim = next(line for line in before.splitlines() if line.startswith("- "))
    edited_claim = first_claim.replace("- ", "- Good news: ", 1)
    area.fill(before.replace(first_claim, edited_claim, 1))
    page.get_by_role("button", name="Save edit").click()
    sync_api.expect(page.locator(".flash")).to_contain_text("Saved your edit.")
    with store.engine.connect() as conn:
        assert drafts.edits(conn, store.draft_id), "the edit was not recorded"
    page.get_by_label("Send to").fill("email:tom@acme.example")
    force = page.locator("input[name=force]")
    if force.count():
        force.check()
    page.get_by_role("button", name="Approve and send").click()
    sync_api.expect(page.locator(".flash")).to_contain_text("Approved draft")
    shot(page, "4-approved")
    with store.engine.connect() as conn:
        assert drafts.get(conn, store.draft_id).status in ("approved", "sent")
    if not delivery_ready:
        pytest.skip("threadline.deliver is not installed: approved, nothing to deliver")
    assert handler.arrived.wait(timeout=20), "no email reached the local SMTP server"
    mail = handler.messages[0]
    assert "tom@acme.example" in mail["To"]
    text = "".join(
        bytes(part.get_payload(decode=True)).decode("utf-8", "replace")
        for part in mail.walk() if part.get_content_type() in ("text/plain", "text/html")
    )
    assert "Good news:" in text

    # 4. The timeline.
    page.goto(f"{server}/timeline?client={CLIENT}&week={WEEK}")
    sync_api.expect(page.locator("svg.timeline circle.mark").first).to_be_visible()
    assert page.locator("svg.timeline circle.mark").count() >= 10
    sync_api.expect(page.locator(".changes")).to_contain_text("renamed Acme crisis call")
    shot(page, "5-timeline")
    page.locator("svg.timeline a").nth(3).click()
    page.wait_for_url(f"{server}/item?id=**")
    shot(page, "6-item")

    # The other pages, and the draft on a phone, for a person to look at.
    for name in ("connections", "clients", "people", "schedules", "schedules/new",
                 "preferences"):
        page.goto(f"{server}/{name}")
        shot(page, f"7-{name.replace('/', '-')}")
    page.goto(f"{server}/ask?q=what+did+Acme+decide+about+the+tracking+gap")
    shot(page, "8-ask")
    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                storage_state=context.storage_state())
    mobile = phone.new_page()
    mobile.goto(f"{server}/drafts/{store.draft_id}")
    shot(mobile, "9-draft-phone")
    phone.close()
    context.close()
    assert os.listdir(ARTIFACTS)
