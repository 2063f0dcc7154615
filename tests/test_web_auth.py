"""Sign-in, sessions, CSRF on every state-changing route, login rate limits, API tokens."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from web_support import (
    PASSWORD,
    USERNAME,
    Clock,
    WebStore,
    csrf_of,
    make_app,
    signed_in,
    web_store,
)

from threadline.web import users
from threadline.web.app import route_table
from threadline.web.guard import is_public


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("webauth"))


def routes(app: FastAPI) -> list[tuple[str, str]]:
    return route_table(app)


def concrete(path: str) -> str:
    """A path with its parameters filled (ids that exist, so the route itself would act)."""
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_page_and_api_route_needs_a_session(store: WebStore) -> None:
    app = make_app(store.engine)
    client = TestClient(app)
    checked = 0
    for method, path in routes(app):
        if method != "GET" or is_public(path):
            continue
        answer = client.get(concrete(path), follow_redirects=False)
        checked += 1
        if path.startswith("/api/"):
            assert answer.status_code == 401, path
        else:
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path
    assert checked >= 15


def test_every_state_changing_route_rejects_a_missing_or_wrong_csrf_token(
    store: WebStore,
) -> None:
    app = make_app(store.engine)
    client, token = signed_in(app)
    changing = [(m, p) for m, p in routes(app) if m not in ("GET", "HEAD", "OPTIONS")]
    assert len(changing) >= 15
    for method, path in changing:
        url = concrete(path)
        bare = client.request(method, url, data={"reason": "x", "markdown": "y"},
                              follow_redirects=False)
        assert bare.status_code == 403, (method, path, bare.status_code)
        wrong = client.request(method, url, data={"csrf_token": token[::-1]},
                               headers={"x-csrf-token": "nope"}, follow_redirects=False)
        assert wrong.status_code == 403, (method, path)
    # Nothing was changed by any of them: the draft is still waiting, unedited.
    with store.engine.connect() as conn:
        from threadline.produce import drafts

        stored = drafts.get(conn, store.draft_id)
    assert stored.status == "draft" and stored.edited_markdown is None
    # And the same session with its token does get through.
    ok = client.post(f"/drafts/{store.draft_id}/edit",
                     data={"csrf_token": token, "markdown": stored.draft.title},
                     follow_redirects=False)
    assert ok.status_code == 303


def test_login_itself_needs_the_csrf_token(store: WebStore) -> None:
    client = TestClient(make_app(store.engine))
    client.get("/login")
    answer = client.post("/login", data={"username": USERNAME, "password": PASSWORD})
    assert answer.status_code == 403


def test_session_cookie_flags_and_password_change_ends_sessions(store: WebStore) -> None:
    app = make_app(store.engine, https=True)
    client = TestClient(app, base_url="https://testserver")
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": USERNAME, "password": PASSWORD,
                                         "csrf_token": token}, follow_redirects=False)
    cookie = answer.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" in cookie
    assert client.get("/queue", follow_redirects=False).status_code == 200
    with store.engine.begin() as conn:
        users.set_password(conn, USERNAME, PASSWORD, datetime.now(UTC))
    assert client.get("/queue", follow_redirects=False).status_code == 303
    plain = TestClient(make_app(store.engine))
    assert "secure" not in plain.get("/login").headers["set-cookie"].lower()


def test_redirect_after_login_stays_on_this_site(store: WebStore) -> None:
    client = TestClient(make_app(store.engine))
    token = csrf_of(client.get("/login").text)
    answer = client.post("/login", data={"username": USERNAME, "password": PASSWORD,
                                         "csrf_token": token, "next": "//evil.example/x"},
                         follow_redirects=False)
    assert answer.headers["location"] == "/queue"


def test_wrong_passwords_are_rate_limited_per_address_and_username(store: WebStore) -> None:
    clock = Clock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    # A user of its own, so the failures counted here lock out no other test's sign-in.
    bob = "bob"
    with store.engine.begin() as conn:
        users.set_password(conn, bob, PASSWORD, clock.at)
    app = make_app(store.engine, clock)
    client = TestClient(app, client=("203.0.113.9", 40000))
    token = csrf_of(client.get("/login").text)

    def attempt(password: str, username: str = bob) -> int:
        return client.post("/login", data={"username": username, "password": password,
                                           "csrf_token": token},
                           follow_redirects=False).status_code

    assert [attempt("wrong") for _ in range(5)] == [401] * 5
    blocked = client.post("/login", data={"username": bob, "password": PASSWORD,
                                          "csrf_token": token})
    assert blocked.status_code == 429
    assert "Too many failed sign-ins" in blocked.text
    # Another address trying the same username is limited too (per username)...
    other = TestClient(app, client=("198.51.100.7", 40000))
    other_token = csrf_of(other.get("/login").text)
    assert other.post("/login", data={"username": bob, "password": PASSWORD,
                                      "csrf_token": other_token}).status_code == 429
    # A different user from that other address is not locked out by bob's failures.
    assert other.post("/login", data={"username": USERNAME, "password": PASSWORD,
                                      "csrf_token": other_token},
                      follow_redirects=False).status_code == 303
    # ...and after the window, the right password works again.
    clock.at += timedelta(minutes=16)
    assert attempt(PASSWORD) == 303


def test_api_tokens_work_as_bearer_and_skip_csrf_but_bad_ones_do_not(store: WebStore) -> None:
    with store.engine.begin() as conn:
        token = users.create_token(conn, "ci", datetime.now(UTC))
    client = TestClient(make_app(store.engine))
    good = {"Authorization": f"Bearer {token}"}
    listed = client.get("/api/drafts", headers=good)
    assert listed.status_code == 200 and any(d["id"] == store.draft_id for d in listed.json())
    schema = client.get("/api/openapi.json", headers=good).json()
    assert "/api/drafts/{draft_id}/approve" in schema["paths"]
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert client.get("/api/drafts", headers={"Authorization": f"Bearer {tampered}"}
                      ).status_code == 401
    answer = client.post(f"/api/drafts/{store.draft_id}/edit", headers=good,
                         json={"markdown": "# Short\n"})
    assert answer.status_code == 200 and answer.json()["message"] == "saved"
    with store.engine.connect() as conn:
        from sqlalchemy import select

        from threadline.store.autonomy_schema import api_token

        stored = conn.execute(select(api_token.c.token_hash)).scalars().all()
    assert all(token.split("_", 2)[2] not in h for h in stored)


def test_sign_out_ends_the_session(store: WebStore) -> None:
    app = make_app(store.engine)
    client, token = signed_in(app)
    client.post("/logout", data={"csrf_token": token})
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_serve_refuses_remote_without_flag_or_login(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from threadline.cli.app import app

    runner = CliRunner()
    db = str(tmp_path / "empty.db")
    out = runner.invoke(app, ["--db", db, "serve", "--host", "0.0.0.0"])
    assert out.exit_code == 1 and "--allow-remote" in out.output
    out = runner.invoke(app, ["--db", db, "serve", "--host", "0.0.0.0", "--allow-remote"])
    assert out.exit_code == 1 and "set-password" in out.output
    out = runner.invoke(app, ["--db", db, "user", "set-password", "--username", "ann",
                              "--password-stdin"], input="short\n")
    assert out.exit_code == 1 and "shorter" in out.output
    out = runner.invoke(app, ["--db", db, "user", "set-password", "--username", "ann",
                              "--password-stdin"], input="a much longer password\n")
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["--db", db, "user", "create-token", "ci"])
    assert out.exit_code == 0 and out.stdout.strip().startswith("tlk_")
