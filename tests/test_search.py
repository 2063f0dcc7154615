"""Search on both engines: filters in SQL, time words, expansion, JSON identifiers, --queries."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from fakes.list_importer import ListImporter
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.runner import run_import
from threadline.context.retrieve import UnknownClient, retrieve
from threadline.records import IdentityRef, ItemRecord, Record
from threadline.store.context_schema import client, item_client, storyline, storyline_item
from threadline.store.schema import item
from threadline.store.search import SearchFilters, item_views, search

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)  # a Monday
JANE = IdentityRef(kind="slack", value="U1", display_name="Jane Doe")
TOM = IdentityRef(kind="email", value="tom@acme.example", display_name="Tom Baker")


def slack(ts: str, text: str, at: datetime, *, channel: str = "C1", thread: str | None = None,
          name: str = "#acme-web") -> ItemRecord:
    native = {"channel": channel, "ts": ts} | ({"thread_ts": thread} if thread else {})
    return ItemRecord(
        platform="slack", kind="message", canonical_id=f"slack:{channel}:{ts}", native=native,
        container_id=channel, container_name=name,
        thread_id=f"slack:{channel}:{thread}" if thread else None, author=JANE,
        occurred_at=at, text=text, permalink=f"https://x.slack.com/archives/{channel}/p{ts}",
    )


def records() -> list[Record]:
    return [
        slack("100.1", "Heads-up: the checkout pixel stopped firing", T0, thread="100.1"),
        slack("100.2", "Done, fixed on staging", T0 + timedelta(hours=1), thread="100.1"),
        slack("100.3", "Lunch on Friday anyone?", T0 + timedelta(days=3)),
        slack("200.1", "Globex pixel audit starts next week", T0 + timedelta(days=1),
              channel="C2", name="#globex"),
        ItemRecord(
            platform="email", kind="email", canonical_id="email:abc@acme.example",
            native={"message_id": "abc@acme.example", "gmail_thread_id": "77"},
            container_id="email-thread:77", container_name="Pixel invoice",
            thread_id="email-thread:77", author=TOM, occurred_at=T0 - timedelta(days=7),
            title="Pixel invoice", text="Please find the pixel audit invoice attached.",
        ),
        ItemRecord(
            platform="calendar", kind="event", canonical_id="event:u1@2026-11-18T10:00:00Z",
            native={"uid": "u1", "instance_start": "2026-11-18T10:00:00Z"},
            container_id="jane@northwind.example", thread_id="event-series:u1",
            occurred_at=T0 + timedelta(days=2, hours=1), title="Pixel review",
            text="Review of the checkout pixel fix",
        ),
        ItemRecord(
            platform="notion", kind="page",
            canonical_id="notion:11111111-2222-3333-4444-555555555555",
            native={"page_id": "11111111-2222-3333-4444-555555555555", "path": "Post.md"},
            container_id="notion:workspace", title="Postmortem",
            occurred_at=T0 + timedelta(days=2), text="Root cause: template change.",
            permalink="https://www.notion.so/111111112222333344445555555555555",
        ),
    ]




def ids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())


@pytest.fixture
def loaded(store: Engine) -> Engine:
    run_import(store, ListImporter(records()), Path("x"))
    found = ids(store)
    with store.begin() as conn:
        conn.execute(client.insert(), [
            {"id": 1, "name": "Acme", "origin": "inferred", "rules": {}, "created_at": T0},
            {"id": 2, "name": "Globex", "origin": "inferred", "rules": {}, "created_at": T0},
        ])
        acme = ["slack:C1:100.1", "slack:C1:100.2", "slack:C1:100.3", "email:abc@acme.example",
                "notion:11111111-2222-3333-4444-555555555555"]
        conn.execute(item_client.insert(), [
            {"item_id": found[c], "client_id": 1, "rule": "test", "detail": ""} for c in acme
        ] + [{"item_id": found["slack:C2:200.1"], "client_id": 2, "rule": "test", "detail": ""}])
        conn.execute(storyline.insert(), [{
            "id": 5, "key": "slack:C1:100.1", "title": "Checkout pixel outage", "status": "open",
            "participants": [], "clients": ["Acme"], "terms": [], "created_at": T0,
            "updated_at": T0,
        }])
        conn.execute(storyline_item.insert(), [
            {"storyline_id": 5, "item_id": found[c], "reason": "test", "added_at": T0}
            for c in ("slack:C1:100.1", "notion:11111111-2222-3333-4444-555555555555")
        ])
    return store


def cids(engine: Engine, query: str, **options: object) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        found = retrieve(conn, query, today=date(2026, 11, 19), **options)  # type: ignore[arg-type]
        views = item_views(conn, [h.item_id for h in found.hits])
    return [(views[h.item_id].canonical_id, h.via) for h in found.hits]


def test_filters_are_applied_in_sql(loaded: Engine) -> None:
    with loaded.connect() as conn:
        everything = {h.canonical_id for h in search(conn, "pixel", match="any")}
        globex = search(conn, "pixel", filters=SearchFilters(client_ids=[2]))
        email = search(conn, "pixel", filters=SearchFilters(platform="email"))
        window = search(conn, "pixel", filters=SearchFilters(
            since=T0 + timedelta(hours=12), until=T0 + timedelta(days=2)))
    assert everything == {"slack:C1:100.1", "slack:C2:200.1", "email:abc@acme.example",
                          "event:u1@2026-11-18T10:00:00Z"}
    assert [h.canonical_id for h in globex] == ["slack:C2:200.1"]
    assert [h.canonical_id for h in email] == ["email:abc@acme.example"]
    assert [h.canonical_id for h in window] == ["slack:C2:200.1"]


def test_client_filter_by_name_and_unknown_client(loaded: Engine) -> None:
    assert {c for c, _via in cids(loaded, "pixel", client_name="globex")} == {"slack:C2:200.1"}
    with pytest.raises(UnknownClient, match="no client named 'Initech'"):
        cids(loaded, "pixel", client_name="Initech")


def test_time_words_in_the_query_become_a_range(loaded: Engine) -> None:
    # Today is Thursday 19 Nov: "last week" is 9-15 Nov, "yesterday" is Wednesday 18.
    assert [c for c, _ in cids(loaded, "pixel invoice last week")] == ["email:abc@acme.example"]
    assert [c for c, _ in cids(loaded, "pixel yesterday", expand=False)] == [
        "event:u1@2026-11-18T10:00:00Z"
    ]


def test_a_hit_brings_its_thread_and_storyline_below_it(loaded: Engine) -> None:
    found = cids(loaded, "checkout pixel stopped firing", limit=10)
    assert found[0] == ("slack:C1:100.1", "match")
    vias = dict(found)
    assert vias["slack:C1:100.2"] == "thread"
    assert vias["notion:11111111-2222-3333-4444-555555555555"] == "storyline"
    order = [c for c, _ in found]
    assert order.index("slack:C1:100.2") > order.index("slack:C1:100.1")
    # The short reply is found from what it answers, and the other way round.
    back = dict(cids(loaded, "fixed on staging"))
    assert back["slack:C1:100.1"] == "thread"


def test_expansion_keeps_to_the_filters(loaded: Engine) -> None:
    found = dict(cids(loaded, "checkout pixel stopped firing", platform="slack"))
    assert "notion:11111111-2222-3333-4444-555555555555" not in found
    assert found["slack:C1:100.2"] == "thread"
    assert dict(cids(loaded, "pixel stopped", expand=False)).get("slack:C1:100.2") is None


def _db(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_json_carries_each_platforms_own_identifiers(loaded: Engine) -> None:
    out = CliRunner().invoke(app, ["--db", _db(loaded), "search", "pixel", "--json", "-k", "20",
                                   "--today", "2026-11-19"])
    assert out.exit_code == 0, out.output
    hits = {h["id"]: h for h in map(json.loads, out.stdout.splitlines())}
    first = hits["slack:C1:100.1"]
    assert first["identifiers"] == {"channel_id": "C1", "channel_name": "#acme-web",
                                    "ts": "100.1"}
    assert first["author"] == {"name": "Jane Doe", "key": "slack:U1"}
    assert first["storyline"]["title"] == "Checkout pixel outage"
    assert first["permalink"].endswith("p100.1") and first["via"] == "match"
    assert first["time"].startswith("2026-11-16T09:00:00")
    assert hits["email:abc@acme.example"]["identifiers"]["message_id"] == "abc@acme.example"
    assert hits["event:u1@2026-11-18T10:00:00Z"]["identifiers"] == {
        "uid": "u1", "instance_start": "2026-11-18T10:00:00Z"}
    reply = hits["slack:C1:100.2"]
    assert reply["via"] == "thread" and reply["expanded_from"] == "slack:C1:100.1"
    page = hits["notion:11111111-2222-3333-4444-555555555555"]
    assert page["identifiers"]["page_id"] == "11111111-2222-3333-4444-555555555555"


def test_queries_file_gives_one_json_line_per_query(loaded: Engine, tmp_path: Path) -> None:
    queries = tmp_path / "q.txt"
    queries.write_text("pixel invoice\n\nlunch friday\nzebra crossing\n")
    out = CliRunner().invoke(app, ["--db", _db(loaded), "search", "--queries", str(queries),
                                   "--json", "--client", "acme"])
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["query"] for line in lines] == ["pixel invoice", "lunch friday",
                                                 "zebra crossing"]
    assert lines[0]["hits"][0]["id"] == "email:abc@acme.example"
    assert lines[1]["hits"][0]["id"] == "slack:C1:100.3"
    assert lines[2]["hits"] == []
    missing = CliRunner().invoke(app, ["--db", _db(loaded), "search", "--queries",
                                       str(tmp_path / "nope.txt")])
    assert missing.exit_code == 1 and "cannot read the queries file" in missing.output


def test_cli_rejects_a_bad_date_and_shows_text_results(loaded: Engine) -> None:
    bad = CliRunner().invoke(app, ["--db", _db(loaded), "search", "pixel", "--since", "soon"])
    assert bad.exit_code == 1 and "is not a date" in bad.output
    shown = CliRunner().invoke(app, ["--db", _db(loaded), "search", "staging",
                                     "--until", "2026-11-16"])
    assert shown.exit_code == 0, shown.output
    assert "slack:C1:100.2" in shown.output and "via thread of slack:C1:100.2" not in shown.output


# Two clients with the same templated alert a week apart, and one story told across
# platforms: a Slack heads-up, the fix by email the next day, a review meeting after it.
D0 = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)  # a Tuesday


def story_records() -> list[Record]:
    alert = "Heads-up: demo_request conversions dropped since the consent banner update"
    return [
        slack("300.1", alert, D0, channel="CA", name="#alpha-web"),
        slack("300.2", alert, D0 + timedelta(days=7), channel="CB", name="#beta-web"),
        slack("300.3", "Morning all", D0 + timedelta(days=1, hours=-1), channel="CA",
              name="#alpha-web"),
        ItemRecord(
            platform="slack", kind="message", canonical_id="slack:CA:300.4",
            native={"channel": "CA", "ts": "300.4", "subtype": "channel_join"},
            container_id="CA", container_name="#alpha-web", author=JANE,
            occurred_at=D0 + timedelta(days=1, hours=1), text="Jane Doe has joined the channel",
        ),
        slack("300.5", "Lunch order for the team", D0 + timedelta(days=1, hours=2),
              channel="CA", name="#alpha-web"),
        ItemRecord(
            platform="email", kind="email", canonical_id="email:fix@alpha.example",
            native={"message_id": "fix@alpha.example"}, container_id="email-thread:fix",
            container_name="Tracking fix", thread_id="email-thread:fix", author=TOM,
            occurred_at=D0 + timedelta(days=1, hours=3), title="Tracking fix",
            text="We found why it stopped reporting: the GTM container was blocked.",
        ),
        ItemRecord(
            platform="calendar", kind="event", canonical_id="event:rev@2026-09-03T10:00:00Z",
            native={"uid": "rev", "instance_start": "2026-09-03T10:00:00Z"},
            container_id="jane@northwind.example", thread_id="event-series:rev",
            occurred_at=D0 + timedelta(days=2, hours=1), title="Tracking review",
            text="Review of the numbers",
        ),
    ]


@pytest.fixture
def stories(store: Engine) -> Engine:
    run_import(store, ListImporter(story_records()), Path("x"))
    found = ids(store)
    with store.begin() as conn:
        conn.execute(client.insert(), [
            {"id": 1, "name": "Alphapartners", "origin": "inferred", "rules": {},
             "created_at": T0},
            {"id": 2, "name": "Beta", "origin": "config", "rules": {"config": {
                "aliases": ["Beta Labs"]}}, "created_at": T0},
        ])
        alpha = [c for c in found if c != "slack:CB:300.2"]
        conn.execute(item_client.insert(), [
            {"item_id": found[c], "client_id": 1, "rule": "test", "detail": ""} for c in alpha
        ] + [{"item_id": found["slack:CB:300.2"], "client_id": 2, "rule": "test",
              "detail": ""}])
        conn.execute(storyline.insert(), [{
            "id": 9, "key": "slack:CA:300.1", "title": "Conversion drop", "status": "open",
            "participants": [], "clients": ["Alphapartners"], "terms": [], "created_at": T0,
            "updated_at": T0,
        }])
        conn.execute(storyline_item.insert(), [
            {"storyline_id": 9, "item_id": found[c], "reason": "test", "added_at": T0}
            for c in ("slack:CA:300.1", "email:fix@alpha.example",
                      "event:rev@2026-09-03T10:00:00Z")
        ])
    return store


def test_a_named_client_or_day_decides_between_the_same_words(stories: Engine) -> None:
    # Equal BM25: the later one wins unless the question says whose or when.
    assert cids(stories, "demo_request conversions dropped", expand=False)[0][0] == (
        "slack:CB:300.2")
    assert cids(stories, "demo_request conversions dropped at Alpha Partners",
                expand=False)[0][0] == "slack:CA:300.1"
    assert cids(stories, "demo_request conversions dropped for Beta Labs",
                expand=False)[0][0] == "slack:CB:300.2"
    described = ("conversions for demo_request dropped after the consent banner update "
                 "from Tuesday 1 September until the fix")
    assert cids(stories, described, expand=False)[0][0] == "slack:CA:300.1"


def test_a_storyline_hit_brings_its_story_across_platforms(stories: Engine) -> None:
    found = cids(stories, "demo_request conversions dropped at Alpha Partners", limit=4)
    assert found[0] == ("slack:CA:300.1", "match")
    # The email and the meeting of its storyline come next, before the other client's alert.
    assert set(found[1:3]) == {("email:fix@alpha.example", "storyline"),
                               ("event:rev@2026-09-03T10:00:00Z", "storyline")}


def test_the_day_after_ranks_what_that_day_said_about_the_story(stories: Engine) -> None:
    found = [c for c, _ in cids(stories, "what happened the day after the consent banner update "
                                         "broke demo_request conversions at Alpha Partners")]
    # Anchored on the Alpha alert (1 Sep): the fix of its storyline first, the chatter
    # after, the join notice never; nothing from another day or client.
    assert found == ["email:fix@alpha.example", "slack:CA:300.3", "slack:CA:300.5"]


@pytest.fixture
def chatter(store: Engine) -> Engine:
    """Forty lines of common words after one old item that also has a rare one."""
    old = slack("50.1", "Pricing page: zeppelin banner approved", T0 - timedelta(days=30))
    lines = [slack(f"{300 + n}.1", f"pricing page tweak {n}", T0 + timedelta(minutes=n))
             for n in range(40)]
    run_import(store, ListImporter([old, *lines]), Path("chatter"))
    return store


@pytest.fixture
def tight(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bounds small enough for the chatter fixture's forty lines to pass them."""
    import threadline.store.search as fts

    monkeypatch.setattr(fts, "RANK_ALL", 10)
    monkeypatch.setattr(fts, "RARE_TERM", 5)
    monkeypatch.setattr(fts, "CANDIDATES", 5)


def test_common_words_rank_a_bounded_set_and_keep_rare_ones(
    chatter: Engine, tight: None
) -> None:
    with chatter.connect() as conn:
        rare = search(conn, "zeppelin pricing", match="any", limit=3)
        common = search(conn, "pricing page", match="any", limit=50)
        every = search(conn, "pricing page", limit=50)
    # The rare word's item is found although 40 later rows share its common words.
    assert rare[0].canonical_id == "slack:C1:50.1"
    assert "zeppelin" in rare[0].snippet.lower()
    if chatter.dialect.name == "sqlite":
        assert "[zeppelin]" in rare[0].snippet
    # On both engines only the latest rows with the common words were ranked.
    assert {h.canonical_id for h in common} == {f"slack:C1:{n}.1" for n in range(335, 340)}
    assert len(every) == 5


def test_given_items_are_ranked_among_themselves_however_many_others_match(
    chatter: Engine, tight: None
) -> None:
    with chatter.connect() as conn:
        ids = dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())
        # Old rows past the newest five that common words alone would rank.
        given = [ids["slack:C1:50.1"], ids["slack:C1:301.1"], ids["slack:C1:302.1"]]
        found = search(conn, "pricing page tweak", match="any", limit=10,
                       filters=SearchFilters(item_ids=given))
        none = search(conn, "pricing page", filters=SearchFilters(item_ids=[]))
    assert {h.item_id for h in found} == set(given)
    # The two with every word above the one with two of them.
    assert found[-1].canonical_id == "slack:C1:50.1"
    assert none == []


def test_a_small_time_window_ranks_every_match_in_it(
    chatter: Engine, tight: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threadline.store.search as fts

    window = SearchFilters(since=T0 + timedelta(minutes=10), until=T0 + timedelta(minutes=30))
    wanted = {f"slack:C1:{300 + n}.1" for n in range(10, 30)}
    with chatter.connect() as conn:
        small = search(conn, "pricing page", match="any", limit=50, filters=window)
        monkeypatch.setattr(fts, "WINDOW_ITEMS", 5)
        large = search(conn, "pricing page", match="any", limit=50, filters=window)
    if chatter.dialect.name == "sqlite":
        # 20 items: a window that small is ranked whole, past the newest-matches bound.
        assert {h.canonical_id for h in small} == wanted
        # Over WINDOW_ITEMS, the newest CANDIDATES matches in the window are ranked.
        assert {h.canonical_id for h in large} == {f"slack:C1:{n}.1" for n in range(325, 330)}
    else:
        assert {h.canonical_id for h in small} <= wanted and small


def test_a_small_client_ranks_every_match_it_holds(
    chatter: Engine, tight: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threadline.store.search as fts

    wanted = {f"slack:C1:{300 + n}.1" for n in range(20)}
    with chatter.begin() as conn:
        cid = conn.execute(client.insert().values(
            name="Acme Corp", origin="config", rules={}, created_at=T0
        )).inserted_primary_key[0]
    found = ids(chatter)
    with chatter.begin() as conn:
        conn.execute(item_client.insert(), [
            {"item_id": found[c], "client_id": cid, "rule": "config-channel", "detail": "#acme"}
            for c in wanted
        ])
    only = SearchFilters(client_ids=[cid])
    with chatter.connect() as conn:
        small = search(conn, "pricing page", match="any", limit=50, filters=only)
        monkeypatch.setattr(fts, "WINDOW_ITEMS", 5)
        large = search(conn, "pricing page", match="any", limit=50, filters=only)
    # Only the client's items, on both engines.
    assert {h.canonical_id for h in small} <= wanted and small
    assert {h.canonical_id for h in large} <= wanted and large
    if chatter.dialect.name == "sqlite":
        # 20 items: a client that small is ranked whole, past the newest-matches bound.
        assert {h.canonical_id for h in small} == wanted
        # Over WINDOW_ITEMS, the client's newest CANDIDATES matches are ranked.
        assert {h.canonical_id for h in large} == {f"slack:C1:{n}.1" for n in range(315, 320)}


def test_the_newest_matches_are_found_across_windows_of_time(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A common word's newest matches may lie months back: each engine still ranks the
    newest ``CANDIDATES`` of them (PostgreSQL reads widening windows of time to find them)."""
    import threadline.store.search as fts

    recent = [slack(f"{900 + n}.1", f"pricing page note {n}", T0 + timedelta(hours=n))
              for n in range(3)]
    old = [slack(f"{100 + n}.1", f"pricing page draft {n}", T0 - timedelta(days=100 + n))
           for n in range(10)]
    # Stored oldest first, as an export is read: SQLite's "newest" is the last stored
    # (rowid), PostgreSQL's the latest in time, and here they agree.
    run_import(store, ListImporter([*reversed(old), *recent]), Path("windows"))
    monkeypatch.setattr(fts, "RANK_ALL", 4)
    monkeypatch.setattr(fts, "CANDIDATES", 5)
    with store.connect() as conn:
        found = {h.canonical_id for h in search(conn, "pricing page", limit=50)}
    # The three recent ones, then the two newest of the old ones (100 and 101 days back).
    assert found == {f"slack:C1:{n}.1" for n in (900, 901, 902, 100, 101)}
