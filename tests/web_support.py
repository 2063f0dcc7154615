"""Shared set-up for the web tests: a sample store with a draft, a user, a signed-in client."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sample_store import build_sample
from sqlalchemy import Engine

from threadline.produce.pipeline import produce
from threadline.web import users
from threadline.web.app import create_app
from threadline.web.config import WebSettings

USERNAME = "jane"
PASSWORD = "correct horse battery staple"
WEEK = "2026-W47"
CLIENT = "Acme Corp"


@dataclass
class Clock:
    at: datetime

    def __call__(self) -> datetime:
        return self.at


@dataclass
class WebStore:
    engine: Engine
    draft_id: int
    home: Path


def web_store(tmp: Path) -> WebStore:
    # Secrets go to encrypted files under this home, never the developer's keyring.
    os.environ["THREADLINE_HOME"] = str(tmp / "home")
    os.environ["THREADLINE_KEYRING"] = "0"
    engine, _ = build_sample(tmp / "sample", seed=7, weeks=2)
    stored = produce(engine, "client-update", client=CLIENT, week=WEEK)
    with engine.begin() as conn:
        users.set_password(conn, USERNAME, PASSWORD, datetime.now(UTC))
    return WebStore(engine, stored.id, tmp / "home")


def make_app(engine: Engine, clock: Clock | None = None, **options: object) -> FastAPI:
    settings = WebSettings(secret_key="test-signing-key-" + "x" * 32,
                           now=clock or Clock(datetime(2026, 11, 27, 12, tzinfo=UTC)))
    for key, value in options.items():
        setattr(settings, key, value)
    return create_app(engine, settings)


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def signed_in(app: FastAPI, remote: str = "testclient") -> tuple[TestClient, str]:
    """A client with a session, and the session's CSRF token."""
    client = TestClient(app, client=(remote, 50000))
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": USERNAME, "password": PASSWORD,
                                         "csrf_token": token, "next": "/queue"},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client, csrf_of(client.get("/queue").text)
