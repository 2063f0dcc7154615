"""Clients and projects: config over inference, webmail, several clients, incremental folds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.clients import (
    ClientsFolder,
    client_of_items,
    items_for_client,
    list_clients,
    multi_client_items,
)
from threadline.context.clients_config import ClientsConfig, parse_clients
from threadline.errors import ConfigError
from threadline.records import IdentityRecord, IdentityRef, ItemRecord, Record, SourceInfo
from threadline.store.context_schema import client, item_client, item_project, project
from threadline.store.schema import item

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
JANE = "jane@northwind.example"


class ListImporter:
    name = "test-list"

    def __init__(self, records: list[Record], platform: str = "email") -> None:
        self.records = records
        self.platform = platform

    def source(self) -> SourceInfo:
        return SourceInfo(platform=self.platform, kind="test-list", account=self.platform)  # type: ignore[arg-type]

    def estimate(self) -> int | None:
        return len(self.records)

    def read(self) -> Iterator[Record]:
        yield from self.records


def who(address: str) -> IdentityRef:
    return IdentityRef(kind="email", value=address)


def email(n: int, sender: str, to: list[str], subject: str = "Hello", text: str = "") -> ItemRecord:
    return ItemRecord(
        platform="email", kind="message", canonical_id=f"email:m{n}@x", container_id="INBOX",
        author=who(sender), recipients=[who(a) for a in to], occurred_at=T0 + timedelta(hours=n),
        title=subject, text=text or f"message {n}",
    )


def slack(n: int, channel: str, author: str, text: str, shared: bool = False) -> ItemRecord:
    native = {"channel": f"C{channel.upper()}", "ts": f"{n}.0"}
    if shared:
        native["is_ext_shared"] = "1"
    return ItemRecord(
        platform="slack", kind="message", canonical_id=f"slack:C{channel.upper()}:{n}.0",
        native=native, container_id=f"C{channel.upper()}", container_name=f"#{channel}",
        author=IdentityRef(kind="slack", value=author), occurred_at=T0 + timedelta(hours=n),
        text=text,
    )


def slack_user(user_id: str, address: str) -> IdentityRecord:
    return IdentityRecord(
        identity=IdentityRef(kind="slack", value=user_id), platform="slack",
        profile={"email": address},
    )


def event(n: int, organizer: str, attendees: list[str], title: str) -> ItemRecord:
    return ItemRecord(
        platform="calendar", kind="event", canonical_id=f"event:sync@{n}", container_id="cal",
        thread_id="event-series:sync", author=who(organizer),
        recipients=[who(a) for a in attendees], occurred_at=T0 + timedelta(days=n), title=title,
    )


def page(hexid: str, path: str, title: str, text: str = "") -> ItemRecord:
    uuid = f"{hexid[:8]}-{hexid[8:12]}-{hexid[12:16]}-{hexid[16:20]}-{hexid[20:]}"
    return ItemRecord(
        platform="notion", kind="page", canonical_id=f"notion:{uuid}",
        native={"page_id": uuid, "path": path}, container_id="notion:workspace", title=title,
        text=text, occurred_at=T0,
    )


def load(engine: Engine, records: list[Record]) -> None:
    by_platform: dict[str, list[Record]] = {}
    for record in records:
        platform: str = record.platform
        by_platform.setdefault(platform, []).append(record)
    for platform, batch in by_platform.items():
        run_import(engine, ListImporter(batch, platform), Path(platform))


def fold(engine: Engine, config: ClientsConfig | None = None, rebuild: bool = False) -> None:
    accumulate(engine, folders=[ClientsFolder(config or ClientsConfig())], rebuild=rebuild)


def placed(engine: Engine) -> dict[str, dict[str, str]]:
    """canonical id -> {client: rule}, visible clients only."""
    with engine.connect() as conn:
        ids = list(conn.execute(select(item.c.id, item.c.canonical_id)).all())
        found = client_of_items(conn, [i for i, _c in ids])
    return {cid: {c: r for c, r, _d in found.get(i, [])} for i, cid in ids}


def snapshot(engine: Engine) -> dict[str, Any]:
    """The derived tables, by names instead of ids (which differ between runs)."""
    with engine.connect() as conn:
        names = dict(conn.execute(select(client.c.id, client.c.name)).all())
        keys = dict(conn.execute(select(project.c.id, project.c.key)).all())
        cids = dict(conn.execute(select(item.c.id, item.c.canonical_id)).all())
        return {
            "client": sorted(
                (r.name, r.origin, json.dumps(r.rules, sort_keys=True))
                for r in conn.execute(select(client))
            ),
            "item_client": sorted(
                (cids[r.item_id], names[r.client_id], r.rule, r.detail)
                for r in conn.execute(select(item_client))
            ),
            "project": sorted(
                (r.key, r.name, names.get(r.client_id), r.origin)
                for r in conn.execute(select(project))
            ),
            "item_project": sorted(
                (cids[r.item_id], keys[r.project_id], r.rule)
                for r in conn.execute(select(item_project))
            ),
        }


ACME_CONFIG = """\
clients:
  - name: Acme Corp
    aliases: [Acme]
    domains: [acme.example]
    channels: ["#acme-website"]
    projects:
      - name: Relaunch
        subjects: [relaunch]
"""


def test_config_wins_over_inference(store: Engine) -> None:
    load(store, [
        email(1, "bob@acme.example", [JANE], "Relaunch plan"),
        email(2, JANE, ["bob@acme.example"], "Re: Relaunch plan"),
        email(3, "maria@globex.example", [JANE], "Data"),
        email(4, JANE, ["maria@globex.example"], "Re: Data"),
        email(5, "news@letters.example", [JANE], "Weekly digest"),
        email(6, JANE, ["sam@northwind.example"], "internal"),
    ])
    fold(store, parse_clients(ACME_CONFIG))
    got = placed(store)
    assert got["email:m1@x"] == {"Acme Corp": "config-domain"}
    assert got["email:m3@x"] == {"Globex": "inferred-domain"}
    assert got["email:m5@x"] == {}  # one-way mail does not make a client
    assert got["email:m6@x"] == {}  # the user's own domain is never a client
    with store.connect() as conn:
        listed = {c.name: c for c in list_clients(conn)}
        assert set(listed) == {"Acme Corp", "Globex"}
        assert listed["Acme Corp"].origin == "config"
        assert listed["Globex"].origin == "inferred"
        assert listed["Globex"].platforms == {"email": 2}
        assert "two-way email with globex.example" in listed["Globex"].rules["signals"]
        acme = items_for_client(conn, "acme corp")
        assert len(acme) == 2
        relaunch = conn.execute(
            select(item_project.c.rule).join(project).where(project.c.name == "Relaunch")
        ).scalars().all()
        assert relaunch == ["config-subject", "config-subject"]


def test_contradictory_config_names_the_lines() -> None:
    text = ACME_CONFIG + "  - name: Other\n    domains:\n      - acme.example\n"
    with pytest.raises(ConfigError) as caught:
        parse_clients(text, "/cfg/clients.yaml")
    message = str(caught.value)
    assert "/cfg/clients.yaml" in message
    assert "line 4" in message and "line 11" in message and "acme.example" in message
    with pytest.raises(ConfigError, match=r"line 2.*line 5"):
        parse_clients("clients:\n  - name: Acme\n  - name: Globex\n    aliases:\n      - acme\n")
    with pytest.raises(ConfigError, match=r"line 2.*line 3"):
        parse_clients("clients:\n  - name: Acme\n  - name: ACME\n")
    with pytest.raises(ConfigError, match=r"line 3.*domian.*not permitted"):
        parse_clients("clients:\n  - name: Acme\n    domian: [x.example]\n")


def test_webmail_client_only_by_full_address(store: Engine) -> None:
    config = parse_clients(
        "clients:\n  - name: Fred Studio\n    addresses: [fred.studio@gmail.com]\n"
    )
    load(store, [
        email(1, "fred.studio@gmail.com", [JANE], "Logo"),
        email(2, JANE, ["fred.studio@gmail.com"], "Re: Logo"),
        email(3, "someone@gmail.com", [JANE], "Hi"),
        email(4, JANE, ["someone@gmail.com"], "Re: Hi"),
    ])
    fold(store, config)
    got = placed(store)
    assert got["email:m1@x"] == {"Fred Studio": "config-address"}
    assert got["email:m2@x"] == {"Fred Studio": "config-address"}
    assert got["email:m3@x"] == {} and got["email:m4@x"] == {}
    with store.connect() as conn:
        assert [c.name for c in list_clients(conn)] == ["Fred Studio"]
        assert conn.execute(select(client.c.name).where(client.c.name == "Gmail")).first() is None


def test_multi_client_and_degenerate_items(store: Engine) -> None:
    config = parse_clients(ACME_CONFIG + "  - name: Globex\n    domains: [globex.example]\n")
    empty = ItemRecord(platform="email", kind="message", canonical_id="email:empty@x",
                       container_id="INBOX")
    load(store, [
        email(1, JANE, ["bob@acme.example", "maria@globex.example"], "Joint call"),
        email(2, JANE, [JANE], "notes", text="Acme, Globex and acme again"),
        empty,
        ItemRecord(platform="slack", kind="message", canonical_id="slack:C9:1.0",
                   container_id="C9", text=""),
    ])
    fold(store, config)
    got = placed(store)
    assert got["email:m1@x"] == {"Acme Corp": "config-domain", "Globex": "config-domain"}
    assert got["email:m2@x"] == {"Acme Corp": "name-mention", "Globex": "name-mention"}
    assert got["email:empty@x"] == {} and got["slack:C9:1.0"] == {}
    with store.connect() as conn:
        multi = multi_client_items(conn)
        ids = dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())
    assert multi == {
        ids["email:m1@x"]: ["Acme Corp", "Globex"],
        ids["email:m2@x"]: ["Acme Corp", "Globex"],
    }


def _world() -> list[list[Record]]:
    """Three batches; the channel and the Slack Connect channel precede their domains."""
    a: list[Record] = [
        slack_user("UJ", JANE), slack_user("UT", "tom@acme.example"),
        slack(1, "acme-website", "UJ", "kickoff"),
        slack(2, "acme-website", "UJ", "wireframes"),
        slack(3, "initech-support", "UJ", "hello", shared=True),
        page("a" * 32, f"Clients {'c' * 32}/Umbrella {'d' * 32}/Brief {'a' * 32}.md", "Brief"),
        email(1, JANE, ["sam@northwind.example"], "internal"),
    ]
    b: list[Record] = [
        email(2, "bob@acme.example", [JANE], "Question"),
        email(3, JANE, ["bob@acme.example"], "Re: Question"),
        event(1, JANE, ["maria@globex.example"], "Globex weekly"),
        event(8, JANE, ["maria@globex.example"], "Globex weekly"),
        page("d" * 32, f"Clients {'c' * 32}/Umbrella {'d' * 32}.md", "Umbrella"),
    ]
    c: list[Record] = [
        email(4, "ann@initech.example", [JANE], "Hi"),
        slack(4, "acme-website", "UT", "looks good"),
        email(5, JANE, ["news@letters.example"], "unsubscribe"),
        email(6, "pat@freelance.example", [JANE], "Invoice", text="for Acme work"),
        email(7, JANE, ["sam@northwind.example"], "more internal"),
    ]
    return [a, b, c]


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 0, 1), (1, 2, 0)])
def test_incremental_equals_rebuild(store: Engine, order: tuple[int, int, int]) -> None:
    config = parse_clients("clients:\n  - name: Umbrella\n    aliases: [Umbrella Corp]\n")
    batches = _world()
    for index in order:
        load(store, batches[index])
        fold(store, config)
    incremental = snapshot(store)
    fold(store, config, rebuild=True)
    assert snapshot(store) == incremental
    got = placed(store)
    assert got["slack:CACME-WEBSITE:1.0"] == {"Acme": "inferred-channel"}
    assert got["slack:CINITECH-SUPPORT:3.0"] == {"Initech": "inferred-shared-channel"}
    assert got["email:m4@x"] == {"Initech": "inferred-domain"}
    assert got["notion:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"] == {"Umbrella": "inferred-notion"}
    assert got["event:sync@1"] == {"Globex": "inferred-domain"}
    assert got["email:m5@x"] == {} and got["email:m6@x"] == {}
    keys = {row[0] for row in incremental["project"]}
    brief = "page:notion:aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa"
    assert {"channel:CACME-WEBSITE", "series:sync", brief} <= keys


def test_config_change_replaces_folded_items(sqlite_store: Engine) -> None:
    internal = email(0, JANE, ["sam@northwind.example"])
    acme = [email(1, "bob@acme.example", [JANE]), email(2, JANE, ["bob@acme.example"])]
    load(sqlite_store, [internal, *acme])
    fold(sqlite_store)
    assert placed(sqlite_store)["email:m1@x"] == {"Acme": "inferred-domain"}
    load(sqlite_store, [email(3, JANE, ["sam@northwind.example"])])
    fold(sqlite_store, parse_clients(ACME_CONFIG))
    assert placed(sqlite_store)["email:m1@x"] == {"Acme Corp": "config-domain"}
    with sqlite_store.connect() as conn:
        assert [c.name for c in list_clients(conn)] == ["Acme Corp"]


def test_an_unchanged_clients_file_is_not_parsed_again_and_an_edit_is(
    store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threadline.context.clients_config_cache as cache

    path = tmp_path / "clients.yaml"
    path.write_text(ACME_CONFIG)
    parsed: list[str] = []

    def counting(text: str, where: str = "clients.yaml") -> ClientsConfig:
        parsed.append(text)
        return parse_clients(text, where)

    monkeypatch.setattr(cache, "parse_clients", counting)
    load(store, [email(1, "bob@acme.example", [JANE]), email(2, JANE, ["bob@acme.example"])])
    accumulate(store, folders=[ClientsFolder(path)])
    load(store, [email(3, "bob@acme.example", [JANE])])
    accumulate(store, folders=[ClientsFolder(path)])
    assert len(parsed) == 1
    assert placed(store)["email:m3@x"]["Acme Corp"] == "config-domain"
    with store.connect() as conn:
        kept = cache.load_clients_cached(conn, path)
    assert kept.fingerprint() == parse_clients(ACME_CONFIG).fingerprint()

    path.write_text(ACME_CONFIG.replace("Acme Corp", "Acme Group"))
    load(store, [email(4, "bob@acme.example", [JANE])])
    accumulate(store, folders=[ClientsFolder(path)])
    assert len(parsed) == 2
    assert placed(store)["email:m1@x"]["Acme Group"] == "config-domain"
    assert "Acme Corp" not in placed(store)["email:m1@x"]

    # A broken edit is reported, not hidden behind the rules kept for the last good file.
    path.write_text("clients: [unclosed\n")
    load(store, [email(5, "bob@acme.example", [JANE])])
    with pytest.raises(ConfigError, match="not valid YAML"):
        accumulate(store, folders=[ClientsFolder(path)])


def test_cli_lists_shows_and_inits(
    sqlite_store: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from threadline.cli.app import app

    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path / "home"))
    for batch in _world():
        load(sqlite_store, batch)
    fold(sqlite_store)
    db = str(sqlite_store.url.database)
    runner = CliRunner()
    listed = runner.invoke(app, ["--db", db, "clients", "--json"])
    assert listed.exit_code == 0, listed.output
    names = {c["name"]: c for c in json.loads(listed.stdout)}
    assert {"Acme", "Globex", "Initech", "Umbrella"} <= set(names)
    assert names["Acme"]["platforms"] == {"email": 2, "slack": 3}
    shown = runner.invoke(app, ["--db", db, "clients", "show", "acme"])
    assert shown.exit_code == 0, shown.output
    assert "inferred-channel: Channel: #acme-website" in shown.output
    missing = runner.invoke(app, ["--db", db, "clients", "show", "Nobody"])
    assert missing.exit_code == 1
    init = runner.invoke(app, ["--db", db, "clients", "init"])
    assert init.exit_code == 0, init.output
    written = parse_clients((tmp_path / "home" / "config" / "clients.yaml").read_text())
    assert written.me.domains == ["northwind.example"]
    acme = written.find("Acme")
    assert acme.domains == ["acme.example"] and acme.channels == ["#acme-website"]
    again = runner.invoke(app, ["--db", db, "clients", "init"])
    assert again.exit_code == 1 and "--force" in again.output
    assert runner.invoke(app, ["--db", db, "clients", "init", "--force"]).exit_code == 0


def test_name_mentions_found_through_first_words_equal_trying_every_client() -> None:
    from threadline.context.client_rules import ItemFacts, RuleContext, match_clients

    config = ClientsConfig.model_validate({"clients": [
        {"name": "Acme"}, {"name": "Acme Labs", "aliases": ["ACL"]}, {"name": "AT&T"},
        {"name": "Zoë Studio"}, {"name": "O'Brien Media"}, {"name": ".io Works"},
        *({"name": f"Filler {n}"} for n in range(40)),
    ]})
    ctx = RuleContext(config)
    patterns = [(rule, rule.name_pattern()) for rule in config.clients]
    texts = [
        "Call with ACME LABS about the launch", "acme's invoice", "AT&T outage again",
        "zoë studio sent the cut", "o'brien media and acl", "the .io works team",
        "acmecorp is not acme labs", "nothing here", "filler 7 and filler 39",
    ]
    for n, text in enumerate(texts):
        facts = ItemFacts(id=n, platform="email", deleted=False, container_id="INBOX",
                          container_name=None, thread_id=None, title=None, text=text)
        every = sorted(
            rule.name for rule, pattern in patterns if pattern.search(f"\n{text}")
        )
        assert sorted(h.client for h in match_clients(facts, ctx)) == every, text
        assert len(ctx.mentioned(f"\n{text}")) < len(patterns)
    # Only the patterns of clients a text may name are compiled: of 46, Acme's two and the
    # one that starts with no word.
    fresh = RuleContext(config)
    match_clients(ItemFacts(id=0, platform="email", deleted=False, container_id="INBOX",
                            container_name=None, thread_id=None, title=None,
                            text="Call with ACME LABS"), fresh)
    assert sorted(fresh.compiled) == [0, 1, 5]


def test_configured_projects_take_the_channel_then_the_notion_page_then_the_subject() -> None:
    from threadline.context.client_rules import ClientHit, ItemFacts, RuleContext, match_projects

    ctx = RuleContext(parse_clients("""\
clients:
  - name: Acme
    channels: ["#acme-website", "#acme-chat"]
    projects:
      - name: Relaunch
        channels: ["#acme-website"]
        subjects: [relaunch]
      - name: Docs
        notion: ["Acme Docs"]
        subjects: [relaunch]
  - name: Globex
    projects:
      - name: Migration
        subjects: [migration]
"""))

    def projects(platform: str, channel: str | None = None, title: str | None = None,
                 ancestors: tuple[tuple[str, str], ...] = (),
                 clients: tuple[ClientHit, ...] = ()) -> list[tuple[str, str | None, str]]:
        facts = ItemFacts(id=1, platform=platform, deleted=False, container_id="C1",
                          container_name=channel, thread_id=None, title=title, text="",
                          ancestors=ancestors)
        return [(p.name, p.client, p.rule) for p in match_projects(facts, ctx, list(clients))]

    assert projects("slack", "acme-website") == [("Relaunch", "Acme", "config-channel")]
    assert projects("email", title="Re: Relaunch and the migration") == [
        ("Docs", "Acme", "config-subject"), ("Relaunch", "Acme", "config-subject"),
        ("Migration", "Globex", "config-subject"),
    ]
    assert projects("notion", title="Relaunch notes", ancestors=(("Acme Docs", "p1"),)) == [
        ("Docs", "Acme", "config-notion"), ("Relaunch", "Acme", "config-subject"),
    ]
    # A channel no project claims is its client's project of its own.
    owner = ClientHit("Acme", "config-channel", "#acme-chat")
    assert projects("slack", "acme-chat", clients=(owner,)) == [
        ("acme-chat", "Acme", "channel")
    ]
    assert projects("email", title="lunch") == []
