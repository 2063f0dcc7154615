"""What a delivery sends: the composed draft's renderings, or the user's edited Markdown.

When the user edited a draft (``threadline drafts edit``), the edited text is what they
approved, so every target sends that: email as its plain text plus HTML made from it, Slack
as mrkdwn, Notion as blocks. Otherwise the renderers in ``threadline.produce`` are used as
they are. A draft that still shows a claim flagged for review is never sent.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any

from markdown_it import MarkdownIt

from threadline.produce.model import Draft
from threadline.produce.render import (
    FLAG,
    claim_numbers,
    flag_text,
    number_sources,
    render,
    safe_url,
    source_parts,
)
from threadline.produce.render_notion import block, notion_blocks, text
from threadline.produce.render_slack import escape as slack_escape
from threadline.produce.render_slack import slack_payload

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+")
SLACK_TEXT = 3000


def flagged_problem(draft: Draft, edited: str | None) -> str | None:
    """Why this draft must not go out yet, or None when it may."""
    if edited is not None:
        if FLAG in edited:
            return (f"the edited text still has a '{FLAG}' marker: check that claim, then "
                    "remove the marker (threadline drafts edit ID)")
        return None
    flagged = [c for c in draft.shipped_claims() if c.status == "flagged"]
    if flagged:
        first = flag_text(flagged[0]) or FLAG
        return (f"{len(flagged)} claim(s) are flagged for review (first: {first}); edit the "
                "draft to fix or cut them (threadline drafts edit ID), then send")
    return None


def subject(draft: Draft, edited: str | None) -> str:
    """The draft's title; an edited text's own first heading wins."""
    if edited:
        for line in edited.splitlines():
            found = _HEADING.match(line.strip())
            if found and len(found.group(1)) == 1:
                return found.group(2).strip()
    return draft.title.strip()


def markdown_text(draft: Draft, edited: str | None) -> str:
    return edited if edited is not None else render(draft, "markdown")


def _plain_from_markdown(md: str) -> str:
    out = _LINK.sub(lambda m: f"{m.group(1)} <{m.group(2)}>", md)
    return _BOLD.sub(r"\1", out)


def plain_text(draft: Draft, edited: str | None) -> str:
    """A plain-text body: what mail clients without HTML show, and what quoting uses."""
    if edited is not None:
        return _plain_from_markdown(edited).rstrip() + "\n"
    numbered = number_sources(draft)
    out = [draft.title, "=" * min(len(draft.title), 72), ""]
    if draft.greeting:
        out += [draft.greeting, ""]
    for section in numbered.sections:
        out += [section.title, "-" * min(len(section.title), 72)]
        for claim in section.claims:
            marks = "".join(f"[{n}]" for n in claim_numbers(claim, numbered.numbers))
            out.append(f"- {claim.text.strip()} {marks}".rstrip())
        out.append("")
    if draft.sign_off:
        out += [draft.sign_off, ""]
    if numbered.sources:
        out += ["Sources", "-------"]
        for n, source in numbered.sources:
            url = safe_url(source.permalink)
            line = f"[{n}] " + " · ".join(source_parts(source))
            out.append(f"{line} <{url}>" if url else f"{line} ({source.id})")
    return "\n".join(out).rstrip() + "\n"


def html_fragment(draft: Draft, edited: str | None) -> str:
    if edited is None:
        return render(draft, "html")
    # Raw HTML in the edit is shown as text (html=False); markdown-it refuses javascript:
    # and other unsafe link schemes by itself.
    md = MarkdownIt("commonmark", {"html": False})
    body = md.render(edited)
    return ('<div style="font-family:Arial,Helvetica,sans-serif;font-size:14px;'
            f'line-height:1.5;color:#222">{body}</div>')


def html_document(draft: Draft, edited: str | None) -> str:
    """A whole HTML document (for files and PDF); email uses the same body."""
    title = escape(subject(draft, edited))
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            f"<title>{title}</title></head>\n<body>\n{html_fragment(draft, edited)}\n"
            "</body></html>\n")


def _mrkdwn_line(line: str) -> str:
    line = slack_escape(line)
    line = _LINK.sub(lambda m: f"<{m.group(2)}|{m.group(1)}>"
                     if safe_url(m.group(2)) else m.group(1), line)
    line = _BOLD.sub(r"*\1*", line)
    heading = _HEADING.match(line.strip())
    if heading:
        return f"*{heading.group(2)}*"
    return _BULLET.sub("• ", line)


def slack_message(draft: Draft, edited: str | None) -> dict[str, Any]:
    """chat.postMessage's ``text`` and ``blocks``."""
    if edited is None:
        return slack_payload(draft)
    lines = [_mrkdwn_line(x) for x in edited.splitlines()]
    sections: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SLACK_TEXT and current:
            sections.append(current)
            current = line[:SLACK_TEXT]
        else:
            current = candidate[:SLACK_TEXT]
    if current.strip():
        sections.append(current)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s}}
              for s in sections if s.strip()][:50]
    return {"text": "\n".join(lines)[:40000], "blocks": blocks}


def _rich(line: str) -> list[dict[str, Any]]:
    """Rich text from a line of Markdown: links kept as links, bold as bold."""
    out: list[dict[str, Any]] = []
    pos = 0
    for found in _LINK.finditer(line):
        if found.start() > pos:
            out += _bold_runs(line[pos:found.start()])
        out += text(found.group(1), safe_url(found.group(2)))
        pos = found.end()
    if pos < len(line):
        out += _bold_runs(line[pos:])
    return out or text("")


def _bold_runs(part: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i, piece in enumerate(_BOLD.split(part)):
        if piece:
            out += text(piece, bold=bool(i % 2))
    return out


def notion_children(draft: Draft, edited: str | None) -> list[dict[str, Any]]:
    """Notion blocks for the page body (the title goes in the page's title property)."""
    if edited is None:
        blocks = notion_blocks(draft)
        return blocks[1:] if blocks and blocks[0].get("type") == "heading_1" else blocks
    out: list[dict[str, Any]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            out.extend(block("paragraph", _rich(" ".join(paragraph))))
            paragraph.clear()

    for raw in edited.splitlines():
        line = raw.strip()
        heading = _HEADING.match(line)
        if not line:
            flush()
        elif heading:
            flush()
            level = len(heading.group(1))
            if level == 1 and not out:
                continue  # the page title already says it
            out.extend(block(f"heading_{min(max(level - 1, 1), 3)}", _rich(heading.group(2))))
        elif _BULLET.match(raw):
            flush()
            out.extend(block("bulleted_list_item", _rich(_BULLET.sub("", raw))))
        else:
            paragraph.append(line)
    flush()
    return out
