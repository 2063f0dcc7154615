"""The offline composer: one fluent, dated, cited statement per storyline; meetings next."""

from __future__ import annotations

from datetime import UTC, datetime

from threadline.llm.offline import OfflineComposer
from threadline.produce.model import ContextBundle, ContextEntry, ContextSection, Scope, SourceItem
from threadline.produce.rank import rank
from threadline.produce.recipes import BUILTINS
from threadline.produce.select import POOL
from threadline.produce.verify import verify

HEADS_UP = SourceItem(
    id="slack:C1:1", platform="slack", container="#acme", author="Sam Patel",
    occurred_at=datetime(2026, 11, 16, 9, 47, tzinfo=UTC), storyline="s1",
    text="@Jane Doe Heads-up: `form_submit` conversions dropped from ~222/day to 9 since Fri "
         "13 Nov. Looks like the consent banner update blocked the GTM container.",
)
FIXED = SourceItem(
    id="email:fix@x", platform="email", container="inbox", author="Sam Patel",
    occurred_at=datetime(2026, 11, 18, 12, 35, tzinfo=UTC), storyline="s1",
    title="Conversion tracking fix: form_submit",
    text="Hi Dev,\n\nThe fix went live this morning and GA4 realtime shows the events again.\n"
         "\nCheers,\nSam",
)
REVIEW = SourceItem(
    id="event:r@2026-11-26T15:00:00Z", platform="calendar", container="cal",
    author="Jane Doe", occurred_at=datetime(2026, 11, 26, 15, 0, tzinfo=UTC),
    title="Acme weekly review",
    text="When: 2026-11-26 15:00\nOrganizer: Jane Doe <jane@northwind.example>\nAttendees: "
         "Jane Doe <jane@northwind.example>, Tom Baker <tom.baker@acme.example>",
)
SCOPE = Scope(recipe="client-update", client="Acme Corp", week="2026-W47",
              start=datetime(2026, 11, 16, tzinfo=UTC), end=datetime(2026, 11, 23, tzinfo=UTC))


def bundle() -> ContextBundle:
    items = {i.id: i for i in (HEADS_UP, FIXED, REVIEW)}
    for it in items.values():
        it.clients = ["Acme Corp"]
    pool = [
        ContextEntry(kind="storyline", summary="Conversion tracking fix (resolved)",
                     items=[HEADS_UP.id, FIXED.id], status="resolved",
                     when=HEADS_UP.occurred_at,
                     detail={"storyline": "s1", "title": "Conversion tracking fix: form_submit",
                             "client": "Acme Corp"}),
        ContextEntry(kind="upcoming", summary="Acme weekly review: Thu 26 Nov 15:00 UTC",
                     items=[REVIEW.id], when=REVIEW.occurred_at,
                     detail={"attendees": ["email:tom.baker@acme.example",
                                           "email:jane@northwind.example"],
                             "client": "Acme Corp"}),
    ]
    return ContextBundle(scope=SCOPE, items=items,
                         sections=[ContextSection(key=POOL, entries=pool)],
                         people={"email:tom.baker@acme.example": "Tom Baker",
                                 "email:jane@northwind.example": "Jane Doe"})


def compose() -> tuple[ContextBundle, dict[str, list[str]], dict[str, list[list[str]]]]:
    ranked = rank(bundle(), BUILTINS["client-update"])
    draft = OfflineComposer().compose(ranked, BUILTINS["client-update"], None)
    texts = {s.key: [c.text for c in s.claims] for s in draft.sections}
    cites = {s.key: [c.citations for c in s.claims] for s in draft.sections}
    return ranked, texts, cites


def test_a_storyline_becomes_one_statement_outcome_first_with_its_date() -> None:
    _, texts, cites = compose()
    claim = texts["highlights"][0]
    assert claim.startswith("Conversion tracking fix: form_submit: The fix went live on "
                            "Wednesday 18 Nov")
    assert claim.index("went live") < claim.index("dropped")
    assert "this morning" not in claim and "Hi Dev" not in claim and "Cheers" not in claim
    assert "@" not in claim and "Heads-up" not in claim
    assert set(cites["highlights"][0]) == {FIXED.id, HEADS_UP.id}


def test_upcoming_meetings_go_to_next_steps_and_upcoming_with_people_named() -> None:
    _, texts, _ = compose()
    assert texts["next_steps"] == [
        "Next meeting: Acme weekly review on Thursday 26 Nov at 15:00 UTC with Tom Baker."]
    assert texts["upcoming"][0].startswith("Acme weekly review on Thursday 26 Nov at 15:00")


def test_every_claim_survives_the_verifier() -> None:
    ranked = rank(bundle(), BUILTINS["client-update"])
    draft = verify(OfflineComposer().compose(ranked, BUILTINS["client-update"], None), ranked)
    assert draft.report.dropped == 0 and draft.report.kept >= 3
    assert set(draft.sources) == {HEADS_UP.id, FIXED.id, REVIEW.id}


def test_same_bundle_same_draft() -> None:
    assert compose()[1] == compose()[1]
