"""Learning from edits: three weekly drafts edited alike make the fourth come out that way.

Drafts are built from the sample workspace's real items (tests/prefs_drafts.py), rendered with
the product's Markdown renderer, edited as text the way Jane edits them, and stored in the
draft/draft_edit tables on each engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from prefs_drafts import WEEKS, jane_edits, people, record_edit, sample_engine, weekly_draft
from sqlalchemy import Engine, insert, select

from threadline.produce import preferences as prefs_store
from threadline.produce.apply_prefs import apply_preferences
from threadline.produce.edits import diff_edit
from threadline.produce.learn import learn_preferences
from threadline.produce.model import Draft
from threadline.produce.preferences import load_preferences
from threadline.produce.render_markdown import render_markdown
from threadline.store.produce_schema import draft_edit, preference
from threadline.store.writer import utcnow

ACME = "Acme Corp"
T0 = datetime(2026, 11, 20, 17, 0, tzinfo=UTC)


def _jane(d: Draft, md: str) -> str:
    return jane_edits(md, people(d))


def _sign(text: str) -> Callable[[Draft, str], str]:
    def edit(_d: Draft, md: str) -> str:
        head, sep, tail = md.partition("## Sources")
        return head.rstrip() + f"\n\n{text}\n\n" + sep + tail
    return edit


def _rename(title: str) -> Callable[[Draft, str], str]:
    return lambda _d, md: md.replace("## Highlights", f"## {title}", 1)


def _edit(engine: Engine, client: str, week: str, how: Callable[[Draft, str], str],
          n: int) -> int:
    d = weekly_draft(client, week)
    before = render_markdown(d)
    with engine.begin() as conn:
        return record_edit(conn, d, before, how(d, before), when=T0 + timedelta(days=n))


def _learn(engine: Engine, min_evidence: int = 2) -> prefs_store.Preferences:
    with engine.begin() as conn:
        learn_preferences(conn, min_evidence=min_evidence)
        return load_preferences(conn, "weekly", ACME)


def test_three_edited_weeks_make_the_fourth_come_out_that_way(store: Engine) -> None:
    ids = [_edit(store, ACME, week, _jane, n) for n, week in enumerate(WEEKS[:3])]
    prefs = _learn(store)
    fresh = weekly_draft(ACME, WEEKS[3])
    plain = render_markdown(fresh)
    assert "## Highlights" in plain and "As discussed" in plain and "Dev Kumar" in plain

    out = apply_preferences(fresh, prefs)
    assert [(s.title, s.style) for s in out.sections] == [
        ("Issues and risks", "bullets"), ("This week", "bullets"), ("Next steps", "prose")]
    assert (out.greeting, out.sign_off) == ("Hi Tom,", "Best, Jane")
    texts = [c.text for s in out.sections for c in s.claims]
    assert not any("as discussed" in t.lower() for t in texts)
    assert not any(name in t for t in texts for name in people(fresh))
    assert any(t.startswith("Dev moved 'Incident summary") for t in texts), texts
    # The same claims with the same citations: reshaped, none added.
    assert sorted(c.citations for s in out.sections for c in s.claims) == sorted(
        c.citations for s in fresh.sections for c in s.claims)
    # Jane would change nothing more.
    shown = render_markdown(out)
    assert diff_edit(out, shown, _jane(out, shown)).observations() == []
    assert apply_preferences(out, prefs) == out, "applying twice changes nothing more"
    assert all(p.evidence == ids for p in prefs.items)
    assert all(p.scope == "weekly:Acme Corp" for p in prefs.items)


def test_one_edit_is_not_a_habit_unless_configured(sqlite_store: Engine) -> None:
    _edit(sqlite_store, ACME, WEEKS[0], _jane, 0)
    assert not _learn(sqlite_store)
    learned = set(_learn(sqlite_store, min_evidence=1).keys())
    assert learned >= {"greeting", "sign_off", "name_style"}


def test_conflicting_later_edits_win_once_they_have_evidence(sqlite_store: Engine) -> None:
    _edit(sqlite_store, ACME, WEEKS[0], _rename("This week"), 0)
    _edit(sqlite_store, ACME, WEEKS[1], _rename("This week"), 1)
    assert _learn(sqlite_store).get("section_title:highlights") == "This week"
    later = _edit(sqlite_store, ACME, WEEKS[2], _rename("Summary"), 2)
    assert _learn(sqlite_store).get("section_title:highlights") == "This week"
    last = _edit(sqlite_store, ACME, WEEKS[3], _rename("Summary"), 3)
    prefs = _learn(sqlite_store)
    assert prefs.get("section_title:highlights") == "Summary"
    assert prefs.items[0].evidence == [later, last]


def test_pinned_preference_survives_relearning(store: Engine) -> None:
    _edit(store, ACME, WEEKS[0], _sign("Best, Jane"), 0)
    _edit(store, ACME, WEEKS[1], _sign("Best, Jane"), 1)
    pinned = next(p for p in _learn(store).items if p.key == "sign_off")
    with store.begin() as conn:
        prefs_store.pin(conn, pinned.id or 0)
    _edit(store, ACME, WEEKS[2], _sign("Cheers, J"), 2)
    _edit(store, ACME, WEEKS[3], _sign("Cheers, J"), 3)
    with store.begin() as conn:
        result = learn_preferences(conn)
        after = prefs_store.get_preference(conn, pinned.id or 0)
    assert result.pinned_kept == ["weekly:Acme Corp/sign_off"]
    assert (after.value, after.pinned, after.evidence) == ("Best, Jane", True, pinned.evidence)
    with store.begin() as conn:
        prefs_store.unpin(conn, pinned.id or 0)
    assert _learn(store).get("sign_off") == "Cheers, J"


def test_deleted_preference_is_not_relearned_from_the_same_edits(store: Engine) -> None:
    first = [_edit(store, ACME, w, _jane, n) for n, w in enumerate(WEEKS[:2])]
    cut = next(p for p in _learn(store).items if p.key == "cut_phrase:as discussed")
    with store.begin() as conn:
        prefs_store.delete(conn, cut.id or 0)
        result = learn_preferences(conn)
        assert "cut_phrase:as discussed" not in load_preferences(conn, "weekly", ACME)
    assert "weekly:Acme Corp/cut_phrase:as discussed" in result.deleted_kept
    assert "greeting" in _learn(store)
    # Two more drafts edited the same way are new evidence: it comes back.
    more = [_edit(store, ACME, w, _jane, n + 2) for n, w in enumerate(WEEKS[2:])]
    back = next(p for p in _learn(store).items if p.key == "cut_phrase:as discussed")
    assert back.id == cut.id and not back.deleted
    assert back.evidence == first + more


def test_client_scope_beats_recipe_scope_beats_everything(store: Engine) -> None:
    _edit(store, "Globex", WEEKS[2], _sign("Best, Jane"), 0)
    _edit(store, "Alpha Partners", WEEKS[2], _sign("Best, Jane"), 1)
    _edit(store, ACME, WEEKS[1], _sign("Cheers, Jane"), 2)
    _edit(store, ACME, WEEKS[2], _sign("Cheers, Jane"), 3)
    with store.begin() as conn:
        learn_preferences(conn)
        conn.execute(insert(preference).values(
            scope="*", key="sign_off", value="Regards, Jane", evidence=[], pinned=True,
            deleted=False, updated_at=utcnow()))
        stored = {(p.scope, p.value) for p in prefs_store.list_preferences(conn)
                  if p.key == "sign_off"}
        acme = load_preferences(conn, "weekly", ACME).get("sign_off")
        globex = load_preferences(conn, "weekly", "Globex").get("sign_off")
        digest = load_preferences(conn, "digest", None).get("sign_off")
    assert stored == {("weekly", "Best, Jane"), ("weekly:Acme Corp", "Cheers, Jane"),
                      ("*", "Regards, Jane")}
    assert (acme, globex, digest) == ("Cheers, Jane", "Best, Jane", "Regards, Jane")


def test_saving_one_draft_twice_counts_once(sqlite_store: Engine) -> None:
    d = weekly_draft(ACME, WEEKS[0])
    before = render_markdown(d)
    middle = _sign("Best, Jane")(d, before)
    after = re.sub("## Highlights", "## This week", middle)
    with sqlite_store.begin() as conn:
        first = record_edit(conn, d, before, middle, when=T0)
        draft_id = conn.execute(select(draft_edit.c.draft_id)
                                .where(draft_edit.c.id == first)).scalar_one()
        conn.execute(insert(draft_edit).values(draft_id=draft_id, before=middle, after=after,
                                               diff="", created_at=T0 + timedelta(hours=1)))
        assert learn_preferences(conn).learned == []
        net = learn_preferences(conn, min_evidence=1).learned
    assert {p.key: p.value for p in net} == {"sign_off": "Best, Jane",
                                              "section_title:highlights": "This week"}


def test_drafts_from_the_product_pipeline_come_out_the_way_jane_edits() -> None:
    """The same, through the real pipeline (offline composer, verifier) and draft storage."""
    from threadline.produce import drafts
    from threadline.produce.pipeline import produce

    engine = sample_engine()
    now = datetime(2026, 11, 28, tzinfo=UTC)
    for week in WEEKS[:3]:
        stored = produce(engine, "client-update", client=ACME, week=week, now=now)
        before = render_markdown(stored.draft)
        with engine.begin() as conn:
            drafts.record_edit(conn, stored.id, before, _jane(stored.draft, before))
    with engine.begin() as conn:
        learn_preferences(conn, recipe="client-update")
        prefs = load_preferences(conn, "client-update", ACME)
    fresh = produce(engine, "client-update", client=ACME, week=WEEKS[3], now=now).draft
    out = apply_preferences(fresh, prefs)
    assert (out.greeting, out.sign_off) == ("Hi Tom,", "Best, Jane")
    titles = [s.title for s in out.sections if s.claims]
    assert titles[:2] == ["Issues and risks", "This week"] and "Next steps" in titles
    assert {s.key: s.style for s in out.sections}["next_steps"] == "prose"
    shown = render_markdown(out)
    assert diff_edit(out, shown, _jane(out, shown)).observations() == []
    assert apply_preferences(out, prefs) == out, "applying twice changes nothing more"
