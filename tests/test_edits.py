"""Reading an edited draft back and saying what the user changed; applying it to a new draft."""

from __future__ import annotations

from datetime import UTC, datetime

from prefs_drafts import jane_edits, people, render_markdown, weekly_draft

from threadline.produce import date_styles
from threadline.produce.apply_prefs import apply_preferences, cut_phrase, trim
from threadline.produce.edit_parse import parse_markdown
from threadline.produce.edits import diff_edit
from threadline.produce.model import Claim, ContextBundle, Draft, Scope, Section, SourceItem
from threadline.produce.preferences import Preference
from threadline.produce.render_markdown import render_markdown as product_markdown
from threadline.produce.verify import check_claim

W45 = "2026-W45"
START = datetime(2026, 11, 16, tzinfo=UTC)


def _draft(sections: list[Section]) -> Draft:
    authors = ["Dev Kumar", "Priya Shah", "Tom Baker"]
    return Draft(
        scope=Scope(recipe="weekly", client="Acme Corp", start=START, end=START, week="2026-W47"),
        title="Acme Corp — weekly update", sections=sections, composer="test",
        sources={f"slack:C:{i}": SourceItem(id=f"slack:C:{i}", platform="slack", container="#a",
                                            author=a, occurred_at=START, text="x")
                 for i, a in enumerate(authors)},
    )


def _claims(*texts: str) -> list[Claim]:
    return [Claim(text=t, citations=["slack:C:0"]) for t in texts]


def test_parse_reads_greeting_sections_styles_and_sign_off_of_a_loose_edit() -> None:
    text = (
        "# Acme — week 47\n\nHi Tom,\n\nA quick one this week.\n\n"
        "**Issues and risks**\n\n* Photography is late [1][2]\n* Staging is *down* [^3]\n\n"
        "## Next steps ##\nDev will fix it. Then we ship on [Tue 17 Nov](https://x) [4].\n\n"
        "Best,\n\nJane\n\n---\nSources\n[1] slack:C:1\n"
    )
    doc = parse_markdown(text)
    assert doc.title == "Acme — week 47"
    assert doc.greeting == "Hi Tom,"
    assert [u for b in doc.intro for u in b.units] == ["A quick one this week."]
    assert [s.title for s in doc.sections] == ["Issues and risks", "Next steps"]
    risks, steps = doc.sections
    assert risks.style == "bullets" and risks.units == ["Photography is late", "Staging is down"]
    assert steps.style == "prose"
    assert steps.units == ["Dev will fix it.", "Then we ship on Tue 17 Nov."]
    assert doc.sign_off == "Best,\nJane"


def test_product_markdown_reads_back_as_the_draft_it_came_from() -> None:
    d = weekly_draft("Acme Corp", W45)
    doc = parse_markdown(product_markdown(d))
    shown = [s for s in d.sections if s.claims]
    assert [s.title for s in doc.sections] == [s.title for s in shown]
    for parsed, section in zip(doc.sections, shown, strict=True):
        assert parsed.units == [c.text for c in section.claims]
    assert doc.greeting is None and doc.sign_off is None


def test_jane_edit_of_a_real_weekly_draft_reads_as_exactly_her_habits() -> None:
    d = weekly_draft("Acme Corp", W45)
    before = product_markdown(d)
    observed = {o.key: o.value for o in diff_edit(d, before, jane_edits(before, people(d)))
                .observations()}
    assert observed == {
        "section_title:highlights": "This week",
        "section_order": ["risks", "highlights", "next_steps"],
        "section_style:next_steps": "prose",
        "greeting": "Hi Tom,",
        "sign_off": "Best, Jane",
        "name_style": "first",
        "cut_phrase:as discussed": "As discussed",
    }


def test_an_untouched_draft_shows_no_change_in_either_markdown_style() -> None:
    d = weekly_draft("Acme Corp", W45)
    for render in (render_markdown, product_markdown):
        text = render(d)
        assert diff_edit(d, text, text).observations() == []


def test_removed_shortened_and_terser_sections_are_observed() -> None:
    d = _draft([
        Section(key="highlights", title="Highlights", claims=_claims(
            "Dev Kumar shipped the checkout redesign to staging after two rounds of QA review.",
            "Priya Shah fixed the form_submit conversion drop that marketing reported.",
            "Tom Baker approved the new FAQ copy for the help centre pages today.")),
        Section(key="people", title="Who was involved", claims=_claims("Dev Kumar, Priya Shah")),
    ])
    before = product_markdown(d)
    after = (
        "# Acme Corp — weekly update\n\n## Highlights\n\n"
        "- Dev Kumar shipped the checkout redesign.\n- Priya Shah fixed form_submit.\n"
    )
    observed = {o.key: o.value for o in diff_edit(d, before, after).observations()}
    assert observed["section_removed:people"] is True
    assert observed["section_length:highlights"] == 2
    assert observed["detail"] == {"words_per_claim": 5}


def test_added_closing_line_and_first_name_after_first_mention() -> None:
    d = _draft([Section(key="highlights", title="Highlights", claims=_claims(
        "Dev Kumar shipped the checkout redesign.",
        "Dev Kumar also fixed the search page.",
        "Dev Kumar will demo it on Thu 19 Nov."))])
    before = product_markdown(d)
    after = (
        "# Acme Corp — weekly update\n\n## Highlights\n\n"
        "- Dev Kumar shipped the checkout redesign.\n- Dev also fixed the search page.\n"
        "- Dev will demo it on 19/11.\n\nShout if anything is unclear.\n\nCheers,\nJane\n"
    )
    diff = diff_edit(d, before, after)
    observed = {o.key: o.value for o in diff.observations()}
    assert observed["name_style"] == "first_after_first"
    assert observed["date_format"] == "dd/mm"
    assert observed["add_phrase:shout if anything is unclear"] == {
        "text": "Shout if anything is unclear.", "where": "outro"}
    assert observed["sign_off"] == "Cheers,\nJane"
    assert not any(k.startswith("cut_phrase") for k in observed), observed


def test_date_styles_are_read_and_rewritten_with_the_right_weekday() -> None:
    text = "Call on Tue 17 Nov at 10:00, due November 20, 2026; review 2026-11-19."
    found = [(m.style, m.month, m.day) for m in date_styles.find_dates(text)]
    assert found == [("dow_d_mon", 11, 17), ("month_d", 11, 20), ("iso", 11, 19)]
    assert date_styles.rewrite_dates("Call on Tue 17 Nov at 10:00", "dow_month_d", START) == (
        "Call on Tuesday, November 17 at 10:00")
    assert date_styles.rewrite_dates("Call on 17 Nov", "dow_d_mon", START) == "Call on Tue 17 Nov"
    assert date_styles.observed_style("on Tue 17 Nov", "on November 17") == "month_d"
    assert date_styles.observed_style("on Tue 17 Nov", "on 11/17") == "mm/dd"
    assert date_styles.observed_style("on Tue 17 Nov", "on Tue 17 Nov, so 3/4 done") is None


def test_cut_and_trim_remove_words_but_never_add_any() -> None:
    assert cut_phrase("As discussed, Dev shipped it.", "as discussed") == "Dev shipped it."
    assert cut_phrase("Dev, as discussed, shipped it.", "As discussed") == "Dev shipped it."
    assert cut_phrase("Dev shipped it, as discussed.", "as discussed") == "Dev shipped it."
    assert cut_phrase("As discussed.", "as discussed") == ""
    long = "Dev shipped the redesign to staging; QA found two small layout bugs on mobile Safari."
    assert trim(long, 4) == "Dev shipped the redesign to staging."
    qualified = "Dev shipped the redesign to staging; but only the desktop layout is finished now."
    assert trim(qualified, 4) == qualified


def test_apply_reshapes_a_draft_without_touching_citations() -> None:
    d = _draft([
        Section(key="highlights", title="Highlights", claims=_claims(
            "As discussed, Dev Kumar shipped it on Tue 17 Nov.", "Priya Shah fixed the bug.",
            "Tom Baker signed off.")),
        Section(key="risks", title="Risks", claims=_claims("Acme Corp may slip, as discussed.")),
        Section(key="people", title="People", claims=_claims("Dev Kumar")),
    ])
    prefs = [
        Preference(scope="weekly", key="section_title:highlights", value="This week"),
        Preference(scope="weekly", key="section_order", value=["risks", "highlights"]),
        Preference(scope="weekly", key="section_removed:people", value=True),
        Preference(scope="weekly", key="section_style:highlights", value="prose"),
        Preference(scope="weekly", key="section_length:highlights", value=2),
        Preference(scope="weekly", key="cut_phrase:as discussed", value="as discussed"),
        Preference(scope="weekly", key="name_style", value="first"),
        Preference(scope="weekly", key="date_format", value="d_month"),
        Preference(scope="weekly", key="greeting", value="Hi Tom,"),
        Preference(scope="weekly", key="sign_off", value="Best, Jane"),
        Preference(scope="weekly", key="add_phrase:shout", value={"text": "Shout.",
                                                                  "where": "outro"}),
    ]
    out = apply_preferences(d, prefs)
    assert [(s.key, s.title, s.style) for s in out.sections] == [
        ("risks", "Risks", "bullets"), ("highlights", "This week", "prose")]
    assert [c.text for c in out.sections[1].claims] == [
        "Dev shipped it on 17 November.", "Priya fixed the bug."]
    assert out.sections[0].claims[0].text == "Acme Corp may slip."
    assert all(c.citations == ["slack:C:0"] for s in out.sections for c in s.claims)
    assert (out.greeting, out.sign_off) == ("Hi Tom,", "Shout.\n\nBest, Jane")
    assert d.sections[0].title == "Highlights", "the input draft is left as it was"


def _bundle(d: Draft) -> ContextBundle:
    return ContextBundle(scope=d.scope, items=dict(d.sources), sections=[],
                         people={s.author: s.author for s in d.sources.values()})


def test_applied_preferences_never_turn_a_passing_claim_into_a_failing_one() -> None:
    base = [
        Preference(scope="weekly", key="name_style", value="first_after_first"),
        Preference(scope="weekly", key="cut_phrase:as discussed", value="As discussed"),
        Preference(scope="weekly", key="detail", value={"words_per_claim": 6}),
    ]
    checked = 0
    for week in ("2026-W46", "2026-W47"):
        d = weekly_draft("Acme Corp", week)
        bundle = _bundle(d)
        for style in date_styles.EXAMPLES:
            prefs = [*base, Preference(scope="weekly", key="date_format", value=style)]
            out = apply_preferences(d, prefs)
            for before, after in zip(
                (c for s in d.sections for c in s.claims),
                (c for s in out.sections for c in s.claims), strict=True,
            ):
                if not check_claim(before, bundle):
                    checked += 1
                    assert check_claim(after, bundle) == [], (style, before.text, after.text)
    assert checked >= 20
