"""Notion: block objects to append to a page (heading, bulleted items, paragraphs).

Notion caps a rich-text object's content at 2000 characters and a block's rich_text array
at 100 objects; longer text is split across objects, and longer arrays across blocks.
"""

from __future__ import annotations

from typing import Any

from threadline.produce.model import Claim, Draft, SourceItem
from threadline.produce.render import (
    claim_numbers,
    flag_text,
    number_sources,
    safe_url,
    source_parts,
)

MAX_CONTENT = 2000
MAX_RICH_TEXT = 100


def text(content: str, url: str | None = None, *, bold: bool = False,
         color: str = "default") -> list[dict[str, Any]]:
    """``content`` as rich-text objects of at most MAX_CONTENT characters each."""
    out = []
    for i in range(0, max(len(content), 1), MAX_CONTENT):
        out.append({"type": "text",
                    "text": {"content": content[i:i + MAX_CONTENT],
                             "link": {"url": url} if url else None},
                    "annotations": {"bold": bold, "italic": False, "strikethrough": False,
                                    "underline": False, "code": False, "color": color}})
    return out


def block(kind: str, rich: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"object": "block", "type": kind, kind: {"rich_text": rich[i:i + MAX_RICH_TEXT]}}
            for i in range(0, max(len(rich), 1), MAX_RICH_TEXT)]


def _claim(claim: Claim, numbers: dict[str, int], draft: Draft) -> list[dict[str, Any]]:
    by_number = {n: draft.sources[cid] for cid, n in numbers.items()}
    rich = text(claim.text.strip())
    for n in claim_numbers(claim, numbers):
        rich += text(f" [{n}]", safe_url(by_number[n].permalink))
    flag = flag_text(claim)
    if flag:
        rich += text(f" {flag}", color="orange_background")
    return rich


def _source(n: int, source: SourceItem) -> list[dict[str, Any]]:
    rich = text(f"[{n}] " + " · ".join(source_parts(source)))
    url = safe_url(source.permalink)
    return rich + text(" · ") + text("open", url) if url else rich + text(f" · {source.id}")


def notion_blocks(draft: Draft) -> list[dict[str, Any]]:
    numbered = number_sources(draft)
    blocks = block("heading_1", text(draft.title))
    if draft.greeting:
        blocks += block("paragraph", text(draft.greeting))
    for section in numbered.sections:
        blocks += block("heading_2", text(section.title))
        claims = [_claim(c, numbered.numbers, draft) for c in section.claims]
        if section.style == "prose":
            blocks += block("paragraph", [r for i, c in enumerate(claims)
                                          for r in (text(" ") if i else []) + c])
        else:
            for rich in claims:
                blocks += block("bulleted_list_item", rich)
    if draft.sign_off:
        blocks += block("paragraph", text(draft.sign_off))
    if numbered.sources:
        blocks += block("heading_2", text("Sources"))
        for n, source in numbered.sources:
            blocks += block("paragraph", _source(n, source))
    return blocks
