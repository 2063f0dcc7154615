"""produce() on a generated workspace: gold recall, the client wall, drafts and scopes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from sample_store import build_sample
from sqlalchemy import Engine

from threadline.context.notes import find_client
from threadline.produce import drafts
from threadline.produce.pipeline import ProduceError, produce
from threadline.produce.select import admitted


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, list[dict[str, Any]]]:
    return build_sample(tmp_path_factory.mktemp("produce"), seed=7, weeks=2)


def cited(stored: drafts.StoredDraft) -> set[str]:
    return {c for claim in stored.draft.shipped_claims() for c in claim.citations}


def test_client_updates_recall_gold_facts_and_never_leak(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, gold = sample
    facts = hits = 0
    leaks: list[str] = []
    slowest = 0.0
    for entry in gold:
        started = time.perf_counter()
        stored = produce(engine, "client-update", client=entry["client"], week=entry["week"])
        slowest = max(slowest, time.perf_counter() - started)
        got = cited(stored)
        leaks += sorted(got & set(entry["must_not_mention"]))
        for fact in entry["must_mention"]:
            facts += 1
            hits += any(i in got for i in fact["items"])
        assert all(s.clients == [entry["client"]] for s in stored.draft.sources.values())
    assert leaks == []
    assert facts and hits / facts >= 0.9
    assert slowest < 1.0


def test_nothing_of_another_client_enters_the_bundle(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, gold = sample
    stored = produce(engine, "client-update", client="Acme Corp", week=gold[-1]["week"])
    with engine.connect() as conn:
        other, _ = find_client(conn, "Globex")
        mine, _ = find_client(conn, "Acme Corp")
        ids = set(stored.draft.sources)
        assert ids and admitted(conn, ids, other) == set()
        assert admitted(conn, ids, mine) == ids


def test_weekly_digest_keeps_each_client_in_its_own_sections(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, gold = sample
    stored = produce(engine, "weekly-digest", week=gold[-1]["week"])
    clients = {s.key.split(":", 1)[1] for s in stored.draft.sections}
    assert {"Acme Corp", "Globex"} <= clients
    for section in stored.draft.sections:
        owner = section.key.split(":", 1)[1]
        assert section.title.startswith(owner)
        for claim in section.claims:
            assert all(stored.draft.sources[c].clients == [owner] for c in claim.citations
                       if c in stored.draft.sources)


def test_a_new_draft_supersedes_the_unsent_one_and_leads_with_what_changed(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, gold = sample
    first_week, last_week = gold[0]["week"], gold[-1]["week"]
    old = produce(engine, "client-update", client="Acme Corp", week=first_week)
    again = produce(engine, "client-update", client="Acme Corp", week=first_week)
    with engine.begin() as conn:
        assert drafts.get(conn, old.id).status == "superseded"
        assert drafts.get(conn, again.id).status == "draft"
        drafts.mark(conn, again.id, "sent")
    known = cited(again)
    later = produce(engine, "client-update", client="Acme Corp", week=last_week)
    keys = [s.key for s in later.draft.sections]
    assert keys[0] == "since_last"
    for section in later.draft.sections:
        if section.key in ("upcoming", "next_steps"):
            continue
        for claim in section.claims:
            assert not set(claim.citations) <= known, claim.text


def test_meeting_brief_covers_the_run_up_and_names_attendees(
    sample: tuple[Engine, list[dict[str, Any]]],
) -> None:
    engine, _ = sample
    stored = produce(engine, "meeting-brief", event="Acme weekly review")
    draft = stored.draft
    assert draft.scope.client == "Acme Corp" and draft.scope.event
    assert stored.slot == draft.scope.event
    attendees = next(s for s in draft.sections if s.key == "attendees")
    assert "Tom Baker" in attendees.claims[0].text
    assert all(
        (s.occurred_at is None or s.occurred_at.replace(tzinfo=None)
         <= draft.scope.end.replace(tzinfo=None))
        for s in draft.sources.values() if s.platform != "calendar"
    )


def test_project_recap_and_errors(
    sample: tuple[Engine, list[dict[str, Any]]], tmp_path: Path,
) -> None:
    engine, gold = sample
    from datetime import date

    recap = produce(engine, "project-recap", client="Globex", since=date(2026, 11, 9),
                    until=date(2026, 11, 22))
    assert recap.slot == "since:2026-11-09" and recap.draft.shipped_claims()
    with pytest.raises(ProduceError, match="--client"):
        produce(engine, "client-update", week=gold[0]["week"])
    with pytest.raises(ProduceError, match="no project named"):
        produce(engine, "project-recap", project="Nope", since=date(2026, 11, 9))
    with pytest.raises(ProduceError, match="no calendar event"):
        produce(engine, "meeting-brief", event="no such meeting")
