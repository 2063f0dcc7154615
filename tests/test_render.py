"""Renderers: each format's structure, numbering, escaping, limits; dropped claims never shown."""

from __future__ import annotations

import html
import json
from html.parser import HTMLParser

import pytest
from verify_samples import Sample, draft_of, load_sample

from threadline.produce.model import Claim, Draft, Section
from threadline.produce.render import FORMATS, RenderError, json_document, render
from threadline.produce.render_notion import notion_blocks
from threadline.produce.render_slack import MAX_BLOCKS, MAX_TEXT, slack_payload
from threadline.produce.verify import verify

FIX = "email:CA+469e098d0817F8CD48F21BAF@mail.gmail.com"
ALERT = "slack:CUWUU7MXMAZ:1794822441.000005"
PHOTO = "slack:CUWUU7MXMAZ:1794933234.000007"
INCIDENT = "slack:CUWUU7MXMAZ:1794818477.000001"
DROPPED = "About 15% of checkouts failed after the deploy."
OUTSIDE = "email:20261116090500.14ccda088cff97b5@mail.globex.example"


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return load_sample(tmp_path_factory.mktemp("render"))


@pytest.fixture(scope="module")
def draft(sample: Sample) -> Draft:
    notion = next(i for i in sample.items.values() if i.platform == "notion" and i.permalink
                  and i.title == "Set up 301 redirects (Acme Corp)")
    bundle = sample.bundle([FIX, ALERT, PHOTO, INCIDENT, notion.id])
    # An item whose text carries markup: it must come out escaped everywhere.
    bundle.items[ALERT] = bundle.items[ALERT].model_copy(
        update={"text": bundle.items[ALERT].text + " <script>alert(1)</script>"})
    sections = [
        Section(key="highlights", title="Highlights", claims=[
            Claim(text="Priya spotted `form_submit` conversions dropping from ~222/day to 9 "
                  "<script>alert(1)</script>.", citations=[ALERT]),
            Claim(text="The form_submit fix went live on Wednesday 18 November.",
                  citations=[FIX, ALERT]),
            Claim(text=DROPPED, citations=[OUTSIDE]),
            Claim(text="Set up 301 redirects (Acme Corp) is done.", citations=[notion.id]),
        ]),
        Section(key="risks", title="Risks & next steps", style="prose", claims=[
            Claim(text="Handover on Mon 30 Nov depends on final product photography.",
                  citations=[PHOTO]),
            Claim(text="Lena Fischer approved the photography deadline.", citations=[PHOTO]),
        ]),
    ]
    made = draft_of(bundle, sections)
    made.greeting, made.sign_off = "Hi Tom,", "Best,\nJane"
    # Citing outside the scope drops even when flagging; the invented approver is flagged.
    return verify(made, bundle, on_fail="flag")


def test_every_format_hides_dropped_claims_and_marks_flagged_ones(draft: Draft) -> None:
    assert [c.status for s in draft.sections for c in s.claims] == \
        ["kept", "kept", "dropped", "kept", "kept", "flagged"]
    for fmt in FORMATS:
        out = html.unescape(render(draft, fmt))
        assert "15%" not in out, fmt
        assert "⚑ needs review: person 'Lena Fischer' is not in the cited items" in out, fmt
    with pytest.raises(RenderError, match="choose one of markdown"):
        render(draft, "pdf")


def test_markdown_numbers_citations_in_order_of_first_use(draft: Draft) -> None:
    md = render(draft, "markdown")
    body, sources = md.split("## Sources")
    assert "- Priya spotted `form_submit`" in body and body.count("[1]") == 2
    assert "9 November.*" not in body
    assert "Wednesday 18 November. [2][1]" in body
    assert "is done. [3]" in body
    assert "Handover on Mon 30 Nov depends on final product photography. [4]" in body
    lines = [x for x in sources.strip().splitlines() if x]
    assert [x.split("]")[0] for x in lines] == ["- [1", "- [2", "- [3", "- [4"]
    assert lines[0].startswith("- [1] Slack · #acme-website · Priya Shah · Mon 16 Nov 2026 · ")
    assert ALERT in lines[0]
    assert lines[2].endswith("[link](https://www.notion.so/83b67df7381c4b9983aa8d9f2aebd0e1)")
    assert md.startswith("# Acme update\n\nHi Tom,")


class _Checker(HTMLParser):
    VOID = ("br", "hr", "img", "meta", "input", "link")

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(tag)


def test_html_is_well_formed_escaped_and_linked(draft: Draft) -> None:
    out = render(draft, "html")
    checker = _Checker()
    checker.feed(out)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    assert "script" not in {t for t, _ in checker.tags}
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    sups = [a["href"] for t, a in checker.tags if t == "a" and (a["href"] or "").startswith("#")]
    assert sups == ["#src-1", "#src-2", "#src-1", "#src-3", "#src-4", "#src-4"]
    ids = [a["id"] for t, a in checker.tags if t == "li" and a.get("id")]
    assert ids == ["src-1", "src-2", "src-3", "src-4"]
    assert "https://www.notion.so/83b67df7381c4b9983aa8d9f2aebd0e1" in out
    assert all("style" in a for t, a in checker.tags if t in ("h1", "h2", "div"))


def test_slack_payload_shape_and_escaping(draft: Draft) -> None:
    payload = json.loads(render(draft, "slack"))
    blocks = payload["blocks"]
    assert blocks[0] == {"type": "header", "text": {"type": "plain_text",
                                                    "text": "Acme update", "emoji": True}}
    assert {b["type"] for b in blocks} <= {"header", "section", "divider", "context"}
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any(t.startswith("*Highlights*\n• Priya spotted") for t in texts)
    assert all("<script>" not in t for t in texts) and "&lt;script&gt;" in texts[1]
    context = [e["text"] for b in blocks if b["type"] == "context" for e in b["elements"]]
    assert context[0].startswith("[1] Slack · #acme-website · Priya Shah")
    assert "<https://www.notion.so/83b67df7381c4b9983aa8d9f2aebd0e1|open>" in context[2]
    assert "*Highlights*" in payload["text"] and DROPPED not in payload["text"]


def test_slack_respects_block_kit_limits(draft: Draft) -> None:
    long_claim = draft.sections[0].claims[0].model_copy(
        update={"text": "word " * 900})  # 4500 characters in one claim
    many = [Section(key=f"s{i}", title=f"Section {i}",
                    claims=[draft.sections[0].claims[1], long_claim]) for i in range(40)]
    big = draft.model_copy(update={"sections": many, "title": "T" * 200})
    blocks = slack_payload(big)["blocks"]
    assert len(blocks) == MAX_BLOCKS
    assert len(blocks[0]["text"]["text"]) <= 150
    for b in blocks:
        if b["type"] == "section":
            assert len(b["text"]["text"]) <= MAX_TEXT
        if b["type"] == "context":
            assert len(b["elements"]) <= 10
    assert "did not fit" in blocks[-1]["elements"][0]["text"]


def test_notion_blocks_shape_links_and_2000_char_split(draft: Draft) -> None:
    blocks = notion_blocks(draft)
    kinds = [b["type"] for b in blocks]
    assert kinds[:3] == ["heading_1", "paragraph", "heading_2"]
    assert kinds.count("bulleted_list_item") == 3
    assert all(b["object"] == "block" and "rich_text" in b[b["type"]] for b in blocks)
    first = blocks[3]["bulleted_list_item"]["rich_text"]
    assert first[0]["text"]["content"].startswith("Priya spotted")
    notion_cite = [r for b in blocks if b["type"] == "bulleted_list_item"
                   for r in b["bulleted_list_item"]["rich_text"] if r["text"]["content"] == " [3]"]
    assert notion_cite[0]["text"]["link"] == {
        "url": "https://www.notion.so/83b67df7381c4b9983aa8d9f2aebd0e1"}
    flagged = [r for b in blocks for r in b[b["type"]]["rich_text"]
               if r["text"]["content"].startswith(" ⚑")]
    assert flagged[0]["annotations"]["color"] == "orange_background"

    long_claim = draft.sections[0].claims[0].model_copy(update={"text": "x" * 4500})
    big = draft.model_copy(update={"sections": [Section(key="s", title="S",
                                                        claims=[long_claim])]})
    rich = notion_blocks(big)[3]["bulleted_list_item"]["rich_text"]
    assert [len(r["text"]["content"]) for r in rich[:3]] == [2000, 2000, 500]
    assert "".join(r["text"]["content"] for r in rich[:3]) == "x" * 4500


def test_json_has_canonical_ids_and_the_report(draft: Draft) -> None:
    doc = json.loads(render(draft, "json"))
    assert doc == json.loads(json.dumps(json_document(draft)))
    claims = [c for s in doc["sections"] for c in s["claims"]]
    assert [c["status"] for c in claims] == ["kept", "kept", "kept", "kept", "flagged"]
    assert [x["id"] for x in claims[1]["citations"]] == [FIX, ALERT]
    assert [x["n"] for x in claims[1]["citations"]] == [2, 1]
    assert [s["id"] for s in doc["sources"]][:2] == [ALERT, FIX]
    report = doc["report"]
    assert (report["kept"], report["flagged"]) == (4, 1)
    assert report["problems"] and all(p.startswith("flagged") for p in report["problems"])
    outside = f"cites an item outside the scope: {OUTSIDE}"
    assert report["dropped_reasons"] == [{"section": "highlights", "reasons": [outside]}]
    assert doc["scope"]["client"] == "Acme Corp"


def test_renderers_tolerate_an_empty_draft(sample: Sample) -> None:
    empty = draft_of(sample.bundle([FIX]), [])
    for fmt in FORMATS:
        assert "Acme update" in render(empty, fmt)
