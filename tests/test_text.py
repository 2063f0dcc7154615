"""Plain-text helpers: HTML to text, reply and signature trimming, URL extraction."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from threadline.connectors.text import (
    extract_urls,
    html_to_text,
    trim_quoted_reply,
    trim_signature,
)

FIXTURES = Path(__file__).parent / "fixtures" / "gmail-api"


def _gmail_part_text(name: str, mime_type: str) -> str:
    def walk(part: dict) -> str | None:
        if part["mimeType"] == mime_type and part["body"].get("data"):
            data = part["body"]["data"]
            return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)).decode("utf-8")
        return next((t for t in map(walk, part.get("parts", [])) if t), None)

    text = walk(json.loads((FIXTURES / name).read_text())["payload"])
    assert text is not None
    return text


def test_html_keeps_paragraphs_lists_and_drops_scripts() -> None:
    html = """<html><head><title>T</title><style>p {color: red}</style></head><body>
    <script>alert('x')</script><p>First   paragraph
    continues.</p><p>Second</p><ul><li>one</li><li>two</li></ul>Line<br>break
    <table><tr><td>a</td><td>b</td></tr></table><!-- a comment --></body></html>"""
    assert html_to_text(html) == (
        "First paragraph continues.\n\nSecond\n\n- one\n- two\nLine\nbreak\na b"
    )


def test_html_links_keep_their_address_and_blockquotes_become_quotes() -> None:
    html = (
        '<div>See <a href="https://www.notion.so/Plan-0123456789abcdef0123456789abcdef">the'
        ' plan</a> and <a href="https://example.com">https://example.com</a>.</div>'
        '<div class="gmail_quote">On Mon, Jan 1, 2024 at 9:00 AM Ann &lt;ann@x.com&gt; wrote:<br>'
        "<blockquote>Old <b>text</b><br>second line</blockquote></div>"
    )
    text = html_to_text(html)
    assert text.splitlines() == [
        "See the plan <https://www.notion.so/Plan-0123456789abcdef0123456789abcdef> and"
        " https://example.com.",
        "On Mon, Jan 1, 2024 at 9:00 AM Ann <ann@x.com> wrote:",
        "> Old text",
        "> second line",
    ]
    assert trim_quoted_reply(text).endswith("https://example.com.")


def test_html_survives_nesting_deeper_than_the_recursion_limit() -> None:
    html = "<table><tr><td>" * 1200 + "deep" + "</td></tr></table>" * 1200
    assert html_to_text(html) == "deep"


def test_gmail_style_reply_drops_attribution_and_quotes() -> None:
    text = (
        "Sounds good, Thursday works.\n\n"
        "On Mon, 1 Jan 2024 at 10:00, Jane Doe <\njane@example.com> wrote:\n\n"
        "> Can we meet?\n>\n> > older\n"
    )
    assert trim_quoted_reply(text) == "Sounds good, Thursday works."


def test_interleaved_reply_keeps_the_answers() -> None:
    text = "On Tue, Bob wrote:\n> Budget?\n10k.\n> Deadline?\nFriday.\n"
    assert trim_quoted_reply(text) == "10k.\nFriday."


def test_wrote_in_the_authors_own_text_is_kept() -> None:
    text = "Here is what the client wrote:\nWe need it by May."
    assert trim_quoted_reply(text) == text


def test_outlook_original_message_block_is_dropped() -> None:
    # Real text: a Gmail API message from UBS (fixtures/gmail-api, MIT).
    text = _gmail_part_text("larsklingsten_GMAIL_RESP_UBS_BUGFIX.json", "text/plain")
    assert "-----Original Message-----" in text
    assert trim_quoted_reply(text) == (
        "Lars,\n\nCut off for at sende DKK er kl. 11:30. Penge bliver sendt med valør idag."
        "\n\nVh\nAnnette"
    )


def test_danish_notes_header_block_is_dropped() -> None:
    # Real text: IBM Notes reply with a "Fra:/Til:/Dato:/Emne:" block (fixtures/gmail-api).
    text = _gmail_part_text("larsklingsten_GMAIL_RESP_SPARKRON_ATTACH.json", "text/plain")
    trimmed = trim_quoted_reply(text)
    assert trimmed.startswith("Hej Lars\n\nHelt ok - I kigger bare ind en anden dag")
    assert trimmed.rstrip().endswith("Tlf. 87 32 11 06")
    assert "Fra:" not in trimmed and "Fair nok" not in trimmed


def test_underscore_rule_and_from_sent_block() -> None:
    text = (
        "Approved.\n\n________________________________\nFrom: Ann <ann@x.com>\n"
        "Sent: Monday, 1 January 2024 10:00\nTo: Bob\nSubject: Budget\n\nOld body"
    )
    assert trim_quoted_reply(text) == "Approved."


def test_forwarded_message_content_is_kept() -> None:
    text = (
        "FYI, see below.\n\n---------- Forwarded message ---------\n"
        "From: Ann <ann@x.com>\nDate: Mon, 1 Jan 2024\nSubject: Budget\nTo: Bob\n\n"
        "The budget is 10k.\n> a quote inside the forward stays\n"
    )
    trimmed = trim_quoted_reply(text)
    assert trimmed.startswith("FYI, see below.")
    assert "The budget is 10k." in trimmed
    assert "> a quote inside the forward stays" in trimmed


def test_outlook_forward_keeps_header_block_when_told_it_is_a_forward() -> None:
    text = "See below\n\nFrom: Ann\nSent: Monday\nTo: Bob\nSubject: Budget\n\nThe budget is 10k."
    assert "The budget is 10k." in trim_quoted_reply(text, is_forward=True)
    assert trim_quoted_reply(text) == "See below"


def test_signature_delimiter_and_mobile_footer() -> None:
    assert trim_signature("Thanks!\n\n-- \nJane Doe\nACME Corp\n+1 555") == "Thanks!"
    assert trim_signature("See you there\n\nSent from my iPhone\n") == "See you there"
    assert trim_signature("Bis dann\nVon meinem iPhone gesendet") == "Bis dann"
    # A "--" followed by a long body is a separator inside the text, not a signature.
    long_tail = "Intro\n--\n" + "\n".join(f"line {i}" for i in range(30))
    assert trim_signature(long_tail) == long_tail


def test_extract_urls_strips_trailing_punctuation_and_dedupes() -> None:
    text = (
        "See https://example.com/a?b=1, (https://en.wikipedia.org/wiki/Foo_(bar)) and "
        "<https://www.notion.so/Plan-0123456789abcdef0123456789abcdef>. Again: "
        "https://example.com/a?b=1."
    )
    assert extract_urls(text) == [
        "https://example.com/a?b=1",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
        "https://www.notion.so/Plan-0123456789abcdef0123456789abcdef",
    ]
