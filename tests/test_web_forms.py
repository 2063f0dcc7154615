"""The forms that change settings: schedules (add, edit, remove, runs), the clients.yaml
editor (valid saves and refolds, contradictions are refused with line numbers), learned
preferences (pin, delete, evidence), the offline API docs and the connect commands."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape
from pathlib import Path

import pytest
from sqlalchemy import insert, select
from web_support import CLIENT, WebStore, make_app, signed_in, web_store

from threadline.autonomy import schedules
from threadline.context.clients import list_clients
from threadline.produce import drafts
from threadline.store.autonomy_schema import schedule, schedule_run
from threadline.store.produce_schema import preference
from threadline.web.views import clients as clients_view

NOW = datetime(2026, 11, 27, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    return web_store(tmp_path_factory.mktemp("webforms"))


def field_error(html: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="err-{re.escape(field)}"[^>]*>(.*?)</p>',
                      html, re.S)
    assert found, f"no error shown at {field}"
    return unescape(found.group(1))


def test_add_edit_and_remove_a_schedule_with_errors_at_their_field(store: WebStore) -> None:
    client, token = signed_in(make_app(store.engine))
    form = {"csrf_token": token, "recipe": "client-update", "client": CLIENT,
            "trigger": "every", "every": "fri 25:00", "timezone": "Europe/London",
            "deliver": "email:tom@acme.example"}
    bad = client.post("/schedules/new", data=form)
    assert bad.status_code == 400
    assert "not a time of day" in field_error(bad.text, "every")
    assert 'value="fri 25:00"' in bad.text  # what was typed is kept
    with store.engine.connect() as conn:
        assert schedules.list_schedules(conn) == []
    bad_dest = client.post("/schedules/new", data={**form, "every": "fri 15:00",
                                                   "deliver": "pigeon:tom"})
    assert "pigeon:tom" in field_error(bad_dest.text, "deliver")
    made = client.post("/schedules/new", data={**form, "every": "fri 15:00",
                                               "auto_send": "yes"})
    assert made.status_code == 200 and "Added schedule" in made.text
    with store.engine.connect() as conn:
        (s,) = schedules.list_schedules(conn)
    assert (s.rule, s.timezone, s.deliver, s.auto_send) == (
        "fri 15:00", "Europe/London", ["email:tom@acme.example"], True)
    page = client.get(f"/schedules/{s.id}/edit").text
    assert "nobody reads them first" in page  # the auto-send warning
    edit = {"csrf_token": token, "every": "mon 09:30", "timezone": "Mars/Olympus",
            "deliver": "email:tom@acme.example\nslack:#acme-website"}
    refused = client.post(f"/schedules/{s.id}/edit", data=edit)
    assert refused.status_code == 400
    assert "not a known IANA time zone" in field_error(refused.text, "timezone")
    client.post(f"/schedules/{s.id}/edit", data={**edit, "timezone": "America/New_York"})
    with store.engine.connect() as conn:
        s = schedules.get(conn, s.id)
    assert (s.rule, s.timezone, s.auto_send) == ("mon 09:30", "America/New_York", False)
    assert s.deliver == ["email:tom@acme.example", "slack:#acme-website"]
    # Runs show on the list, with late / skipped marked.
    with store.engine.begin() as conn:
        conn.execute(insert(schedule_run).values(
            schedule_id=s.id, slot="2026-11-23T09:30", due_at=NOW, ran_at=NOW, late=True,
            status="skipped", error="a newer slot was due"))
    listing = client.get("/schedules").text
    assert "skipped" in listing and ">late<" in listing and "a newer slot was due" in listing
    # Removing needs the confirmation box.
    client.post(f"/schedules/{s.id}/remove", data={"csrf_token": token})
    with store.engine.connect() as conn:
        assert conn.execute(select(schedule.c.id)).all() != []
    client.post(f"/schedules/{s.id}/remove", data={"csrf_token": token, "confirm": "yes"})
    with store.engine.connect() as conn:
        assert conn.execute(select(schedule.c.id)).all() == []
        assert conn.execute(select(schedule_run.c.id)).all() == []


VALID = """\
# my rules
clients:
  - name: Acme Corp
    aliases: [Acme]
    domains: [acme.example]
  - name: Zenith Labs
    domains: [zenith.example]
"""
CONTRADICTORY = VALID + "  - name: Other\n    domains: [acme.example]\n"


def test_clients_yaml_editor_saves_valid_rules_and_refuses_contradictions(
    store: WebStore, tmp_path: Path,
) -> None:
    rules = tmp_path / "clients.yaml"
    client, token = signed_in(make_app(store.engine, clients_file=rules))
    refused = client.post("/clients/rules", data={"csrf_token": token, "rules": CONTRADICTORY})
    assert refused.status_code == 400
    error = unescape(re.search(r'<pre class="config-error">(.*?)</pre>', refused.text,
                               re.S).group(1))  # type: ignore[union-attr]
    assert "acme.example" in error and "(line 5)" in error and "(line 9)" in error
    assert not rules.exists()  # nothing saved
    assert "name: Other" in refused.text  # the text is given back to fix
    saved = client.post("/clients/rules", data={"csrf_token": token, "rules": VALID})
    assert saved.status_code == 200 and "Rebuilding the context" in saved.text
    assert rules.read_text() == VALID  # as typed, comment included
    refold = clients_view.current_refold(store.engine)
    assert refold is not None
    refold.thread.join(timeout=60)
    assert refold.error is None and refold.items
    with store.engine.connect() as conn:
        names = {c.name for c in list_clients(conn)}
    assert "Zenith Labs" in names
    assert "rebuilt" in client.get("/clients").text


def test_pin_unpin_and_delete_a_preference_showing_its_evidence(store: WebStore) -> None:
    with store.engine.begin() as conn:
        stored = drafts.get(conn, store.draft_id)
        before = stored.edited_markdown or "x"
        edit_id = drafts.record_edit(conn, store.draft_id, before, before + "\nThanks, Jane",
                                     NOW)
        key = conn.execute(insert(preference).values(
            scope="client-update", key="sign_off", value="Thanks, Jane", evidence=[edit_id],
            pinned=False, deleted=False, updated_at=NOW)).inserted_primary_key
        assert key is not None
        pid = key[0]
    client, token = signed_in(make_app(store.engine))
    page = client.get("/preferences").text
    assert f'href="/drafts/{store.draft_id}"' in page and "1 edit" in page
    client.post(f"/preferences/{pid}/pin", data={"csrf_token": token})
    with store.engine.connect() as conn:
        assert conn.execute(select(preference.c.pinned).where(preference.c.id == pid)
                            ).scalar_one() is True
    assert "Unpin" in client.get("/preferences").text
    client.post(f"/preferences/{pid}/delete", data={"csrf_token": token})
    with store.engine.connect() as conn:
        row = conn.execute(select(preference).where(preference.c.id == pid)).one()
    assert row.deleted is True and row.pinned is False
    assert "sign_off" not in client.get("/preferences").text


def test_api_docs_use_only_local_static_files(store: WebStore) -> None:
    client, _ = signed_in(make_app(store.engine))
    html = client.get("/api/docs").text
    urls = re.findall(r"""(?:src|href|url)\s*[=:]\s*['"]([^'"]+)['"]""", html)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "cdn." not in html and "https://" not in html
    for u in urls:
        if u.startswith("/static/"):
            assert client.get(u).status_code == 200, u


def test_connections_page_shows_the_commands_to_connect(store: WebStore) -> None:
    client, _ = signed_in(make_app(store.engine))
    html = unescape(client.get("/connections").text)
    assert 'threadline connect slack --token "$SLACK_BOT_TOKEN"' in html
    assert "threadline connect google --credentials" in html
    assert "<input" not in html.split("<main", 1)[1].replace('type="hidden"', "")
