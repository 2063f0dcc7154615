"""Slack mrkdwn to plain text, on tokens taken from real exports and Slack's documented forms."""

from __future__ import annotations

import json
from pathlib import Path

from threadline.connectors.slack_markup import convert, extract_urls, mentioned_user_ids, unescape

FIXTURE = Path(__file__).parent / "fixtures" / "slack-export-viewer" / "export"
USERS = {"U0BMS113R": "Hermione Granger", "U0BMQB6JE": "Hamza Faran"}
CHANNELS = {"C0JGLMMNX": "enrique"}


def test_user_mentions_resolve_to_real_names_and_are_collected_once() -> None:
    result = convert("<@U0BMS113R>: ping <@U0BMQB6JE|hamza> and <@U0BMS113R> again", USERS)
    assert result.text == "@Hermione Granger: ping @Hamza Faran and @Hermione Granger again"
    assert result.mentions == ["U0BMS113R", "U0BMQB6JE"]


def test_unknown_user_falls_back_to_label_then_id() -> None:
    assert convert("<@U999|ghost> <@W123>", USERS).text == "@ghost @W123"
    assert mentioned_user_ids("<@U999|ghost> <@W123>") == ["U999", "W123"]


def test_channel_references_use_label_or_known_name() -> None:
    assert convert("see <#C0JGLMMNX|enrique>", channels=CHANNELS).text == "see #enrique"
    assert convert("see <#C0JGLMMNX>", channels=CHANNELS).text == "see #enrique"
    assert convert("see <#C404>").text == "see #C404"


def test_broadcasts_and_user_groups() -> None:
    text = "<!here> <!channel> <!everyone> <!subteam^S012AB|@design> <!subteam^S99>"
    assert convert(text).text == "@here @channel @everyone @design @S99"
    assert convert(text).mentions == []


def test_date_token_uses_fallback_or_utc() -> None:
    assert convert("<!date^1392734382^{date}|Feb 18, 2014>").text == "Feb 18, 2014"
    assert convert("<!date^1392734382^{date}>").text == "2014-02-18 14:39 UTC"


def test_links_with_and_without_labels() -> None:
    result = convert(
        "<https://github.com/a/b/pull/3|PR 3> and <http://example.com> and "
        "<https://example.org/x|example.org/x>"
    )
    assert result.text == (
        "PR 3 (https://github.com/a/b/pull/3) and http://example.com and https://example.org/x"
    )
    assert result.urls == [
        "https://github.com/a/b/pull/3",
        "http://example.com",
        "https://example.org/x",
    ]


def test_mailto_and_tel_render_their_label_and_are_not_urls() -> None:
    # The tel form is verbatim from the fixture's traveling-sailor/2016-03-27.json.
    result = convert("<mailto:ann@acme.com|ann@acme.com> <tel:28919.8689279|28919.8689279>")
    assert result.text == "ann@acme.com 28919.8689279"
    assert result.urls == []


def test_escapes_are_undone_once() -> None:
    assert convert("a &lt; b &amp;&amp; c &gt; d").text == "a < b && c > d"
    assert unescape("&amp;lt;") == "&lt;"
    result = convert("<https://x.com/?a=1&amp;b=2|Q &amp; A>")
    assert result.text == "Q & A (https://x.com/?a=1&b=2)"
    assert result.urls == ["https://x.com/?a=1&b=2"]


def test_bare_urls_are_collected_without_trailing_punctuation() -> None:
    assert extract_urls("read https://notion.so/Plan-0123456789abcdef0123456789abcdef.") == [
        "https://notion.so/Plan-0123456789abcdef0123456789abcdef"
    ]


def test_plain_text_passes_through() -> None:
    assert convert("no markup here") == ("no markup here", [], [])


def test_real_file_comment_text() -> None:
    day = json.loads((FIXTURE / "traveling-sailor" / "2016-03-27.json").read_text())
    comment = next(m for m in day if m.get("subtype") == "file_comment")
    result = convert(comment["text"], USERS)
    assert result.text.startswith(
        "@Hermione Granger commented on @Hermione Granger’s file 10 cities "
        "(https://mesos-magellan.slack.com/files/U0BMS113R/F0VQ4C4BT/10_cities.js): ```"
    )
    assert result.mentions == ["U0BMS113R"]
    assert result.urls == ["https://mesos-magellan.slack.com/files/U0BMS113R/F0VQ4C4BT/10_cities.js"]
