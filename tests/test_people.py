"""People: strong keys merge, weak keys only suggest, the user's word survives every rebuild."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from fakes.list_importer import ListImporter as BaseListImporter
from sqlalchemy import Engine, event, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.people import PeopleFolder, merge, split
from threadline.context.people_query import (
    PeopleError,
    list_people,
    show_person,
    suggestions,
)
from threadline.context.people_suggest import name_score
from threadline.records import IdentityRecord, IdentityRef, ItemRecord, Record
from threadline.store import open_store
from threadline.store.context_schema import merge_suggestion, person_decision, person_evidence
from threadline.store.schema import identity, person

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
JANE_SLACK = "slack:U1"
JANE = "email:jane@northwind.example"


ListImporter = partial(BaseListImporter, platform="email", account="me@northwind.example")


def ref(kind: str, value: str, name: str | None = None) -> IdentityRef:
    return IdentityRef(kind=kind, value=value, display_name=name)  # type: ignore[arg-type]


def slack_user(uid: str, name: str, email: str | None = None, **facts: Any) -> IdentityRecord:
    profile = {"real_name": name, **({"email": email} if email else {}), **facts}
    return IdentityRecord(identity=ref("slack", uid, name), platform="slack", profile=profile)


_count = iter(range(1, 10_000))


def email(sender: IdentityRef, *to: IdentityRef) -> ItemRecord:
    n = next(_count)
    return ItemRecord(
        platform="email",
        kind="email",
        canonical_id=f"email:m{n}@mail.example",
        container_id="INBOX",
        author=sender,
        recipients=list(to),
        occurred_at=T0 + timedelta(minutes=n),
        title=f"message {n}",
        text="about the launch",
    )


def slack_msg(uid: str) -> ItemRecord:
    n = next(_count)
    return ItemRecord(
        platform="slack",
        kind="message",
        canonical_id=f"slack:C1:{n}.000100",
        container_id="C1",
        author=ref("slack", uid),
        occurred_at=T0 + timedelta(minutes=n),
        text="on it",
    )


def page(author: IdentityRef, *people: IdentityRef) -> ItemRecord:
    n = next(_count)
    return ItemRecord(
        platform="notion",
        kind="page",
        canonical_id=f"notion:00000000-0000-0000-0000-{n:012d}",
        container_id="db1",
        author=author,
        recipients=list(people),
        occurred_at=T0 + timedelta(minutes=n),
        title="Launch plan",
    )


def world() -> list[list[Record]]:
    """Three batches: Jane on Slack, email, calendar and Notion; namesakes; a bot; Bob."""
    jane = ref("email", "jane@northwind.example", "Jane Doe")
    bob = ref("email", "bob@northwind.example", "Bob Stone")
    j_doe = ref("email", "jdoe@gmail.com", "J. Doe")
    smith_acme = ref("email", "john.smith@acme.example", "John Smith")
    smith_globex = ref("email", "John.Smith@globex.example", "John Smith")
    nameless = ref("email", "x7@unknown.example")
    github = ref("email", "notifications@github.com", "GitHub")
    return [
        [
            slack_user("U1", "Jane Doe", "Jane@Northwind.example", title="Producer"),
            slack_user("B01GITHUB", "GitHub", "notifications@github.com", is_bot=True),
            # In the users list, never in a message: found by having no person yet.
            slack_user("U9", "Carol Reed", "carol@northwind.example"),
            slack_msg("U1"),
            slack_msg("U2"),
            slack_msg("B01GITHUB"),
            email(jane, bob),
        ],
        [
            email(j_doe, jane),
            email(smith_acme, bob),
            email(smith_globex, jane),
            email(nameless, jane),
            email(ref("email", "carol@northwind.example"), bob),
            email(github, jane, j_doe),
            email(ref("email", "JANE@Northwind.Example"), bob),
        ],
        [
            slack_user("U2", "Bob Stone", "bob@northwind.example"),
            slack_msg("U2"),
            page(ref("notion", "Jane Doe", "Jane Doe"), ref("notion", "jane@northwind.example")),
        ],
    ]


def load_batch(engine: Engine, records: list[Record]) -> None:
    run_import(engine, ListImporter(records), Path("batch"))
    accumulate(engine, folders=[PeopleFolder()])


def snapshot(engine: Engine) -> dict[str, Any]:
    """The derived people tables, without ids or times (they differ between runs)."""
    with engine.connect() as conn:
        groups: dict[int, set[str]] = {}
        for key, pid in conn.execute(select(identity.c.key, identity.c.person_id)):
            assert pid is not None, f"{key} has no person"
            groups.setdefault(pid, set()).add(key)
        names = {p: n for p, n in conn.execute(select(person.c.id, person.c.display_name))}
        assert set(names) == set(groups), "a person without identities, or the reverse"
        ev = conn.execute(
            select(
                person_evidence.c.person_id,
                person_evidence.c.identity_key,
                person_evidence.c.rule,
                person_evidence.c.detail,
            )
        ).all()
        sugg = conn.execute(
            select(
                merge_suggestion.c.identity_a,
                merge_suggestion.c.identity_b,
                merge_suggestion.c.score,
                merge_suggestion.c.evidence,
                merge_suggestion.c.status,
            )
        ).all()
    return {
        "people": sorted((sorted(keys), names[pid]) for pid, keys in groups.items()),
        "evidence": sorted((sorted(groups[p]), k, r, d) for p, k, r, d in ev),
        "suggestions": sorted(tuple(s) for s in sugg),
    }


def person_of(engine: Engine, key: str) -> tuple[str, set[str]]:
    with engine.connect() as conn:
        pid = conn.execute(select(identity.c.person_id).where(identity.c.key == key)).scalar()
        keys = conn.execute(select(identity.c.key).where(identity.c.person_id == pid)).scalars()
        name = conn.execute(select(person.c.display_name).where(person.c.id == pid)).scalar()
        return str(name), set(keys)


@pytest.fixture
def folded(store: Engine) -> Engine:
    for batch in world():
        load_batch(store, batch)
    return store


def test_strong_keys_merge_and_evidence_says_why(folded: Engine) -> None:
    name, keys = person_of(folded, JANE)
    # Slack profile email (any case), the address in any case, a Notion user named by address.
    assert name == "Jane Doe"
    assert keys == {JANE, JANE_SLACK, "notion:jane@northwind.example"}
    assert person_of(folded, "slack:U2") == (
        "Bob Stone",
        {"slack:U2", "email:bob@northwind.example"},
    )
    with folded.connect() as conn:
        detail = show_person(conn, JANE)
    evidence = {(i.key, e.rule, e.detail) for i in detail.identities for e in i.evidence}
    assert evidence == {
        (JANE_SLACK, "slack-profile-email", "Slack profile of U1 lists jane@northwind.example"),
        (
            "notion:jane@northwind.example",
            "same-address",
            "Notion user jane@northwind.example has the address jane@northwind.example",
        ),
    }
    assert [i.title for i in detail.identities if i.key == JANE_SLACK] == ["Producer"]


def test_weak_keys_only_suggest(folded: Engine) -> None:
    # Namesakes at two companies, an initial, a Notion name: each stays its own person.
    for key in (
        "email:john.smith@acme.example",
        "email:john.smith@globex.example",
        "email:jdoe@gmail.com",
        "notion:Jane Doe",
    ):
        assert len(person_of(folded, key)[1]) == 1, key
    with folded.connect() as conn:
        found = suggestions(conn)
    pairs = {frozenset((s.identity_a, s.identity_b)): s for s in found}
    smiths = pairs[frozenset(("email:john.smith@acme.example", "email:john.smith@globex.example"))]
    assert "different companies (acme.example, globex.example)" in smiths.evidence
    assert smiths.score == 85.0
    jane_person = {s.name_b for s in found if s.name_a == "J. Doe"} | {
        s.name_a for s in found if s.name_b == "J. Doe"
    }
    assert "Jane Doe" in jane_person
    notion = [s for s in found if "notion:Jane Doe" in (s.identity_a, s.identity_b)]
    assert any("Notion name matches" in s.evidence for s in notion)
    # One line per pair of persons, however many identity pairs say so.
    person_pairs = [frozenset((s.person_a, s.person_b)) for s in found]
    assert len(person_pairs) == len(set(person_pairs))


def test_bots_role_addresses_and_nameless_identities(folded: Engine) -> None:
    assert person_of(folded, "slack:B01GITHUB") == ("GitHub", {"slack:B01GITHUB"})
    assert person_of(folded, "email:notifications@github.com")[1] == {
        "email:notifications@github.com"
    }
    with folded.connect() as conn:
        found = suggestions(conn)
        people = {p.name: p for p in list_people(conn)}
    assert not [s for s in found if "github" in (s.identity_a + s.identity_b).lower()]
    assert people["GitHub"].bot and not people["Bob Stone"].bot
    # No name anywhere: the person is named by the address.
    assert person_of(folded, "email:x7@unknown.example") == (
        "x7@unknown.example",
        {"email:x7@unknown.example"},
    )


def test_incremental_batches_equal_rebuild(store: Engine) -> None:
    for batch in world():
        load_batch(store, batch)
    incremental = snapshot(store)
    accumulate(store, rebuild=True, folders=[PeopleFolder()])
    assert snapshot(store) == incremental
    assert len(incremental["people"]) == 10
    assert (["email:carol@northwind.example", "slack:U9"], "Carol Reed") in incremental["people"]


def test_order_of_arrival_does_not_matter(tmp_path: Path) -> None:
    forward = open_store(str(tmp_path / "forward.db"))
    backward = open_store(str(tmp_path / "backward.db"))
    batches = world()
    for batch in batches:
        load_batch(forward, batch)
    for batch in reversed(batches):
        load_batch(backward, batch)
    assert snapshot(forward) == snapshot(backward)
    forward.dispose()
    backward.dispose()


def test_split_beats_a_strong_key_and_survives_rebuild(folded: Engine) -> None:
    with folded.begin() as conn:
        split(conn, JANE_SLACK)
    assert person_of(folded, JANE_SLACK) == ("Jane Doe", {JANE_SLACK})
    assert JANE_SLACK not in person_of(folded, JANE)[1]
    before = snapshot(folded)
    # More items from both sides, then a rebuild: the split holds.
    load_batch(folded, [slack_msg("U1"), email(ref("email", JANE[6:]), ref("slack", "U1"))])
    accumulate(folded, rebuild=True, folders=[PeopleFolder()])
    assert person_of(folded, JANE_SLACK)[1] == {JANE_SLACK}
    assert snapshot(folded)["people"] == before["people"]
    with folded.connect() as conn:
        reopened = [
            s for s in suggestions(conn) if {s.identity_a, s.identity_b} == {JANE, JANE_SLACK}
        ]
        decisions = conn.execute(select(person_decision.c.decision)).scalars().all()
    assert reopened == [] and decisions == ["split"]


def test_merge_survives_rebuild_and_closes_the_suggestion(folded: Engine) -> None:
    with folded.begin() as conn:
        pid = merge(conn, "email:jdoe@gmail.com", JANE_SLACK)
    name, keys = person_of(folded, "email:jdoe@gmail.com")
    assert name == "Jane Doe" and JANE_SLACK in keys and len(keys) == 4
    with folded.connect() as conn:
        detail = show_person(conn, str(pid))
        rules = {e.rule for i in detail.identities for e in i.evidence}
        assert "user-confirmed" in rules
        assert not [s for s in suggestions(conn) if s.person_a == s.person_b]
    accumulate(folded, rebuild=True, folders=[PeopleFolder()])
    assert person_of(folded, "email:jdoe@gmail.com")[1] == keys


def test_merge_then_split_then_merge_follows_the_latest_word(folded: Engine) -> None:
    with folded.begin() as conn:
        merge(conn, "email:jdoe@gmail.com", JANE)
        split(conn, "email:jdoe@gmail.com")
    assert person_of(folded, "email:jdoe@gmail.com")[1] == {"email:jdoe@gmail.com"}
    with folded.begin() as conn:
        merge(conn, "email:jdoe@gmail.com", "slack:U2")
    accumulate(folded, rebuild=True, folders=[PeopleFolder()])
    assert "email:jdoe@gmail.com" in person_of(folded, "slack:U2")[1]
    assert "email:jdoe@gmail.com" not in person_of(folded, JANE)[1]


def test_twenty_aliases_cost_stays_bounded(store: Engine) -> None:
    # Twenty workspaces, one Jane: every profile lists one address.
    users: list[Record] = [slack_user(f"U{n:03d}", "Jane Doe", "jane@x.example") for n in range(20)]
    load_batch(store, [*users, *(slack_msg(f"U{n:03d}") for n in range(20))])
    name, keys = person_of(store, "slack:U000")
    assert name == "Jane Doe" and len(keys) == 20
    load_batch(store, [email(ref("email", "jane@x.example"), ref("email", "bob@x.example"))])
    assert len(person_of(store, "slack:U007")[1]) == 21
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    event.listen(store, "before_cursor_execute", count)
    started = time.perf_counter()
    load_batch(store, [slack_msg("U013")])
    seconds = time.perf_counter() - started
    event.remove(store, "before_cursor_execute", count)
    assert len(person_of(store, "slack:U013")[1]) == 21
    print(f"one item on a 21-alias person: {len(statements)} statements, {seconds:.3f}s")
    assert len(statements) < 60, statements
    assert seconds < 2.0
    with store.connect() as conn:
        rows = conn.execute(
            select(person_evidence.c.rule).where(person_evidence.c.identity_key.like("slack:%"))
        ).scalars()
        assert list(rows) == ["slack-profile-email"] * 20
        assert suggestions(conn) == []


def test_same_address_in_any_case_is_one_identity(sqlite_store: Engine) -> None:
    load_batch(
        sqlite_store,
        [
            email(ref("email", "Ann.Lee@Firm.example", "Ann Lee"), ref("email", "x@y.example")),
            email(ref("email", "ann.lee@firm.example"), ref("email", "ANN.LEE@FIRM.EXAMPLE")),
        ],
    )
    assert person_of(sqlite_store, "email:ann.lee@firm.example") == (
        "Ann Lee",
        {"email:ann.lee@firm.example"},
    )
    with sqlite_store.connect() as conn:
        assert show_person(conn, "email:ANN.LEE@firm.example").name == "Ann Lee"
        with pytest.raises(PeopleError, match=r"no person or identity matches 'zed'"):
            show_person(conn, "zed")


def test_name_score_initials_and_order() -> None:
    assert name_score("j doe", "jane doe") >= 90
    assert name_score("doe jane", "jane doe") == 100
    assert name_score("john smith", "jane smith") < 90


def test_cli_list_show_merge_split_suggestions(tmp_path: Path) -> None:
    db = str(tmp_path / "cli.db")
    engine = open_store(db)
    for batch in world():
        load_batch(engine, batch)
    engine.dispose()
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["--db", db, "people", *args])

    listed = run("--json")
    assert listed.exit_code == 0, listed.output
    rows = {p["name"]: p for p in json.loads(listed.stdout) if not p["bot"]}
    assert rows["Jane Doe"]["identities"] in (1, 3)
    jane = max(
        (p for p in json.loads(listed.stdout) if p["name"] == "Jane Doe"),
        key=lambda p: p["identities"],
    )
    assert jane["platforms"] == ["email", "notion", "slack"] and jane["items"] == 3
    shown = run("show", JANE, "--json")
    assert json.loads(shown.stdout)["id"] == jane["id"]
    text = run("show", JANE_SLACK)
    assert "Slack profile of U1 lists jane@northwind.example" in text.stdout
    assert "John Smith" in run("suggestions").stdout
    missing = run("show", "zed")
    assert missing.exit_code == 1
    assert "no person or identity matches 'zed': try threadline people" in missing.output
    ambiguous = run("show", "John Smith")
    assert ambiguous.exit_code == 1 and "matches 2 people" in ambiguous.output
    merged = run("merge", "email:john.smith@acme.example", "email:john.smith@globex.example")
    assert merged.exit_code == 0, merged.output
    assert "user-confirmed" in merged.stdout
    too_many = run("split", "John Smith")
    assert too_many.exit_code == 1 and "name one" in too_many.output
    parted = run("split", "email:john.smith@globex.example")
    assert parted.exit_code == 0 and "is now on its own" in parted.stdout
    assert "matches 2 people" in run("show", "John Smith").output


def test_co_occurrence_counts_exact_recipients(store: Engine) -> None:
    from threadline.context.people_tally import co_occurrence

    bo, jbo = ref("email", "bo@x.example"), ref("email", "jbo@x.example")
    al, zoe = ref("email", "al_1@x.example"), ref("email", "zoë@x.example")
    records: list[Record] = [
        email(al, bo), email(al, bo, zoe), email(bo, al), email(al, jbo), email(jbo, al),
        email(zoe, al), email(zoe, bo), email(al, zoe),
    ]
    run_import(store, ListImporter(records), Path("list"))
    with store.connect() as conn:
        # bo's key is inside jbo's: only whole recipients count, in both directions.
        assert co_occurrence(conn, "email:al_1@x.example", "email:bo@x.example") == 3
        assert co_occurrence(conn, "email:jbo@x.example", "email:al_1@x.example") == 2
        assert co_occurrence(conn, "email:bo@x.example", "email:jbo@x.example") == 0
        # A key that JSON may escape is counted the slow way, with the same answer.
        assert co_occurrence(conn, "email:zoë@x.example", "email:al_1@x.example") == 3
