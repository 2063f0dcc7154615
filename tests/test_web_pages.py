"""The pages and the JSON API on a sample store: secrets never shown, citations open their
source, edits are recorded, review actions change the draft, the timeline shows changes."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from sqlalchemy import insert, select
from web_support import CLIENT, WEEK, WebStore, make_app, signed_in, web_store

from threadline.connectors.connections import create_connection, update_connection
from threadline.connectors.credentials import save_secrets
from threadline.produce import drafts
from threadline.store.autonomy_schema import schedule
from threadline.web import actions
from threadline.web.app import route_table

FAKE_TOKEN = "xoxb-FAKE-1111-2222-secretvalue"
FAKE_APP_TOKEN = "xapp-FAKE-APP-secretvalue"
SMTP_PASSWORD = "smtp-pass-Zq9-secretvalue"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> WebStore:
    found = web_store(tmp_path_factory.mktemp("webpages"))
    conn = create_connection(found.engine, name="slack", platform="slack", account="T0FAKE",
                             label="Fake workspace", api_url="https://slack.invalid/api/",
                             options={"note": "x"})
    save_secrets(conn.secret_ref, {"token": FAKE_TOKEN, "app_token": FAKE_APP_TOKEN})
    # The kind of error a connector might record: the engine redacts, the page must too.
    update_connection(found.engine, conn.id, status="auth",
                      last_error=f"invalid_auth for {FAKE_TOKEN}")
    save_secrets("delivery-smtp", {"host": "127.0.0.1", "port": 25, "password": SMTP_PASSWORD,
                                   "username": "me", "sender": "me@northwind.example"})
    with found.engine.begin() as c:
        c.execute(insert(schedule).values(
            recipe="client-update", client=CLIENT, kind="clock", rule="fri 15:00",
            timezone="Europe/London", deliver=["email:tom@acme.example"], auto_send=False,
            paused=False, options={}, created_at=datetime.now(UTC)))
    return found


def fill(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{([^}:]+)(:[^}]*)?\}", lambda m: ids.get(m.group(1), "1"), path)


def test_no_secret_in_any_page_or_api_response(store: WebStore) -> None:
    app = make_app(store.engine)
    client, _ = signed_in(app)
    ids = {"draft_id": str(store.draft_id), "n": "1", "person_id": "1", "storyline_id": "1"}
    extra = ["/timeline?client=Acme+Corp&week=2026-W47", "/ask?q=tracking+gap",
             f"/api/timeline?client=Acme+Corp&week={WEEK}", "/api/ask?q=tracking+gap",
             "/api/docs"]
    pages = [fill(p, ids) for m, p in route_table(app) if m == "GET"] + extra
    crawled = 0
    for url in pages:
        answer = client.get(url)
        crawled += 1
        body = answer.text
        for secret in (FAKE_TOKEN, FAKE_APP_TOKEN, SMTP_PASSWORD, "secretvalue"):
            assert secret not in body, url
    assert crawled >= 20
    connections = client.get("/connections").text
    assert "Fake workspace" in connections and "invalid_auth" in connections


def test_citation_opens_its_source(store: WebStore) -> None:
    client, _ = signed_in(make_app(store.engine))
    html = client.get(f"/drafts/{store.draft_id}").text
    with store.engine.connect() as conn:
        stored = drafts.get(conn, store.draft_id)
    cites = re.findall(r'<a class="cite" href="#src-(\d+)" data-cite="\d+" role="button" '
                       r'aria-controls="source-panel"', html)
    assert cites, "no citation buttons"
    assert 'id="source-panel"' in html and 'role="dialog"' in html
    n = int(cites[0])
    block = html.split(f'id="src-{n}"', 1)[1].split("</li>", 1)[0]
    source = client.get(f"/api/drafts/{store.draft_id}/sources/{n}").json()
    assert source["n"] == n and source["id"] in stored.draft.sources
    item = stored.draft.sources[source["id"]]
    assert unescape(item.author) in unescape(block)
    assert unescape(" ".join(item.text.split())[:60]) in unescape(block)
    assert f"pf-{item.platform}" in block
    if item.permalink and item.permalink.startswith("http"):
        assert unescape(item.permalink) in unescape(block)


def test_edit_records_a_draft_edit_and_shows_the_edited_text(store: WebStore) -> None:
    client, token = signed_in(make_app(store.engine))
    before = client.get(f"/api/drafts/{store.draft_id}").json()["markdown"]
    after = before.replace("## ", "## Edited: ", 1)
    assert after != before
    answer = client.post(f"/drafts/{store.draft_id}/edit",
                         data={"csrf_token": token, "markdown": after})
    assert "Saved your edit." in answer.text and "Edited: " in answer.text
    with store.engine.connect() as conn:
        rows = drafts.edits(conn, store.draft_id)
        assert drafts.get(conn, store.draft_id).edited_markdown == after
    assert rows and rows[-1]["before"] == before and rows[-1]["after"] == after


def test_reject_regenerate_and_approve_change_the_draft(store: WebStore) -> None:
    client, token = signed_in(make_app(store.engine))
    page = client.post(f"/drafts/{store.draft_id}/reject",
                       data={"csrf_token": token, "reason": "wrong tone"})
    assert "wrong tone" in page.text
    with store.engine.connect() as conn:
        assert drafts.get(conn, store.draft_id).status == "rejected"
    client.post(f"/drafts/{store.draft_id}/regenerate", data={"csrf_token": token})
    with store.engine.connect() as conn:
        fresh = drafts.list_drafts(conn, status="draft")[0]
        assert drafts.get(conn, store.draft_id).status == "superseded"
    assert fresh.id != store.draft_id and fresh.client == CLIENT and fresh.slot == WEEK
    assert f"/drafts/{fresh.id}" in client.get("/queue").text
    out = store.home / "out" / "update.md"
    answer = client.post(f"/drafts/{fresh.id}/approve",
                         data={"csrf_token": token, "deliver": f"file:{out}", "force": "true"})
    with store.engine.connect() as conn:
        assert drafts.get(conn, fresh.id).status in ("approved", "sent"), answer.text[-3000:]
    if actions.module(actions.DELIVER) is not None:
        queued = client.get(f"/api/drafts/{fresh.id}").json()["deliveries"]
        assert len(queued) == 1 and str(out) in queued[0]["destination"]
    assert f"/drafts/{fresh.id}" not in client.get("/queue").text.split("Recently handled")[0]


def test_timeline_draws_marks_and_the_moved_renamed_meeting(store: WebStore) -> None:
    client, _ = signed_in(make_app(store.engine))
    html = client.get("/timeline", params={"client": CLIENT, "week": WEEK}).text
    svg = html.split("<svg", 1)[1].split("</svg>", 1)[0]
    marks = re.findall(r'<circle class="mark p-(\w+)"', svg)
    assert len(marks) >= 10 and {"slack", "email"} <= set(marks)
    assert re.search(r'<polygon class="mark change change-event"', svg)
    change = re.search(r"moved to [^<]+ and renamed Acme crisis call", unescape(html))
    assert change, "the moved and renamed review is not shown as a change"
    assert "/item?id=event%3A" in svg
    item_link = re.search(r'href="(/item\?id=[^"]+)"', svg)
    assert item_link
    item = client.get(unescape(item_link.group(1)))
    assert item.status_code == 200 and "item-title" in item.text
    data = client.get("/api/timeline", params={"client": CLIENT, "week": WEEK}).json()
    assert any("renamed Acme crisis call" in c["summary"] for c in data["changes"])


def test_schedules_pause_and_resume(store: WebStore) -> None:
    client, token = signed_in(make_app(store.engine))
    assert "fri 15:00" in client.get("/schedules").text
    with store.engine.connect() as conn:
        sid = conn.execute(select(schedule.c.id)).scalar_one()
    client.post(f"/schedules/{sid}/pause", data={"csrf_token": token})
    with store.engine.connect() as conn:
        assert conn.execute(select(schedule.c.paused)).scalar_one() is True
    client.post(f"/schedules/{sid}/resume", data={"csrf_token": token})
    with store.engine.connect() as conn:
        assert conn.execute(select(schedule.c.paused)).scalar_one() is False


def test_people_merge_and_split_through_the_forms(store: WebStore) -> None:
    from threadline.context.people_query import list_people, show_person

    client, token = signed_in(make_app(store.engine))
    with store.engine.connect() as conn:
        people = [p for p in list_people(conn) if not p.bot]
        a = show_person(conn, str(people[0].id)).identities[0].key
        b = show_person(conn, str(people[1].id)).identities[0].key
    merged = client.post("/people/merge", data={"csrf_token": token, "a": a, "b": b})
    assert "Merged" in merged.text and a in merged.text and b in merged.text
    split = client.post("/people/split", data={"csrf_token": token, "identity": b})
    assert "Split" in split.text
    with store.engine.connect() as conn:
        pa = show_person(conn, a).id
        pb = show_person(conn, b).id
    assert pa != pb


def test_ask_gives_a_cited_answer(store: WebStore) -> None:
    client, _ = signed_in(make_app(store.engine))
    html = client.get("/ask", params={"q": "what did Acme decide about the tracking gap?"}).text
    assert re.search(r'<a class="cite" href="#ans-1">\[1\]</a>', html)
    assert 'id="ans-1"' in html


def test_every_rendered_post_form_carries_the_session_csrf_token(store: WebStore) -> None:
    client, token = signed_in(make_app(store.engine))
    from threadline.produce.pipeline import produce

    live = produce(store.engine, "client-update", client="Globex", week=WEEK).id
    forms = 0
    for url in (f"/drafts/{live}", "/connections", "/people", "/schedules", "/preferences",
                "/people/1", "/queue"):
        html = client.get(url).text
        for form in re.findall(r'<form method="post".*?</form>', html, re.S):
            forms += 1
            assert f'name="csrf_token" value="{token}"' in form, (url, form[:200])
    assert forms >= 6  # sign-out on each page, plus the draft's review forms
