"""ask: every sentence cites stored items; with no evidence it says so; the writer seam."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from fakes.list_importer import ListImporter as BaseListImporter
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.runner import run_import
from threadline.context.ask import Claim, Evidence, ask
from threadline.records import IdentityRef, ItemRecord, Record
from threadline.store.context_schema import client, fact, item_client
from threadline.store.schema import item

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
JANE = IdentityRef(kind="email", value="jane@northwind.example", display_name="Jane Doe")
TOM = IdentityRef(kind="email", value="tom@acme.example", display_name="Tom Baker")


def email(n: int, author: IdentityRef, subject: str, text: str, at: datetime) -> ItemRecord:
    return ItemRecord(
        platform="email", kind="email", canonical_id=f"email:m{n}@x", container_id="email-thread:9",
        native={"message_id": f"m{n}@x"}, container_name=subject, thread_id="email-thread:9",
        author=author, occurred_at=at, title=subject, text=text,
    )


def records() -> list[Record]:
    return [
        email(1, JANE, "Options for the hosting",
              "Hi Tom,\n\nTwo options for the hosting: Vercel or Netlify. Both fit the budget.",
              T0),
        email(2, TOM, "Re: Options for the hosting",
              "Jane,\n\nLet's go with Vercel for the hosting.\n\nTom\n\n> Two options",
              T0 + timedelta(days=2)),
        email(3, JANE, "Re: Options for the hosting",
              "Great, I will set up Vercel hosting today.", T0 + timedelta(days=2, hours=2)),
        email(4, JANE, "Lunch", "Lunch at the usual place on Friday?", T0 + timedelta(days=1)),
    ]


ListImporter = partial(BaseListImporter, platform="email", account="jane")


@pytest.fixture
def loaded(store: Engine) -> Engine:
    run_import(store, ListImporter(records()), Path("x"))
    with store.begin() as conn:
        found = dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())
        conn.execute(client.insert(), [
            {"id": 1, "name": "Acme", "origin": "inferred", "rules": {}, "created_at": T0}])
        conn.execute(item_client.insert(), [
            {"item_id": i, "client_id": 1, "rule": "test", "detail": ""} for i in found.values()])
        conn.execute(fact.insert(), [{
            "subject": "email-thread:9", "kind": "decision", "attribute": "decision",
            "value": "Let's go with Vercel for the hosting.", "valid_from": T0 + timedelta(days=2),
            "recorded_at": T0, "item_id": found["email:m2@x"], "detail": {},
        }])
    return store


def test_every_sentence_cites_and_the_decision_comes_first_class(loaded: Engine) -> None:
    with loaded.connect() as conn:
        answer = ask(conn, "what did Acme decide about the hosting?", today=date(2026, 11, 10))
    assert answer.found
    assert answer.sentences
    for sentence, cites in answer.sentences:
        assert cites, sentence
        assert all(1 <= n <= len(answer.sources) for n in cites)
    text = answer.text()
    assert "Let's go with Vercel for the hosting." in text
    assert "Lunch" not in text
    cited = {s.canonical_id for s in answer.sources}
    assert "email:m2@x" in cited and "email:m4@x" not in cited
    # Told in time order, each with its author and date.
    dates = re.findall(r"On (\d{4}-\d{2}-\d{2})", text)
    assert dates == sorted(dates)
    assert any("Tom Baker" in s for s, _ in answer.sentences)
    assert [s.n for s in answer.sources] == list(range(1, len(answer.sources) + 1))


def test_no_evidence_says_so(loaded: Engine) -> None:
    with loaded.connect() as conn:
        nothing = ask(conn, "what did Acme decide about the quantum teleporter?")
        # Shares only "hosting" of three key words: not enough to answer from.
        weak = ask(conn, "what about the quantum teleporter hosting?")
    assert not nothing.found and nothing.sources == []
    assert nothing.text() == "I found nothing in the store about quantum teleporter."
    assert not weak.found


def test_a_writer_backend_only_keeps_cited_sentences(loaded: Engine) -> None:
    class Model:
        def write(
            self, question: str, key_terms: list[str], evidence: list[Evidence]
        ) -> list[Claim]:
            top = evidence[0].view.canonical_id
            return [Claim("Vercel was chosen.", (top,)), Claim("Made up.", ("email:nope@x",))]

    with loaded.connect() as conn:
        answer = ask(conn, "hosting decision", writer=Model())
    assert [s for s, _ in answer.sentences] == ["Vercel was chosen."]
    assert len(answer.sources) == 1


def test_cli_ask_prints_sources_and_json(loaded: Engine) -> None:
    db = loaded.url.render_as_string(hide_password=False)
    shown = CliRunner().invoke(app, ["--db", db, "ask", "what did we decide about hosting?",
                                     "--client", "acme"])
    assert shown.exit_code == 0, shown.output
    assert "Sources" in shown.output and "email:m2@x" in shown.output
    as_json = CliRunner().invoke(app, ["--db", db, "ask", "teleporter budget?", "--json"])
    assert as_json.exit_code == 0, as_json.output
    body = json.loads(as_json.stdout)
    assert body["found"] is False and body["sources"] == []
    assert body["answer"].startswith("I found nothing in the store about teleporter")
