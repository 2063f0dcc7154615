"""Slack: mrkdwn text and a Block Kit payload (header, sections, context blocks with links).

Block Kit limits are Slack's, not ours, and a message over them is rejected whole: at most
50 blocks, 3000 characters per section text, 150 per header, 10 elements per context block.
Long sections are split at claim boundaries; sources are packed ten to a context block.
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

MAX_BLOCKS = 50
MAX_TEXT = 3000
MAX_HEADER = 150
MAX_CONTEXT_ELEMENTS = 10


def escape(text: str) -> str:
    """Slack's three control characters; everything else is literal in mrkdwn."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _cite(n: int, source: SourceItem) -> str:
    url = safe_url(source.permalink)
    return f"<{url}|[{n}]>" if url else f"[{n}]"


def _claim(claim: Claim, numbers: dict[str, int], draft: Draft) -> str:
    by_number = {n: draft.sources[cid] for cid, n in numbers.items()}
    marks = "".join(_cite(n, by_number[n]) for n in claim_numbers(claim, numbers))
    flag = flag_text(claim)
    text = f"{escape(claim.text.strip())} {marks}".rstrip()
    return f"{text} :warning: _{escape(flag)}_" if flag else text


def _source(n: int, source: SourceItem) -> str:
    url = safe_url(source.permalink)
    line = f"[{n}] " + " · ".join(escape(p) for p in source_parts(source))
    return f"{line} · <{url}|open>" if url else line


def _chunks(lines: list[str], head: str) -> list[str]:
    """Join lines into texts of at most MAX_TEXT characters, cutting only between lines
    (a single over-long line is cut hard)."""
    out: list[str] = []
    current = head
    for line in lines:
        while len(line) > MAX_TEXT:
            if current:
                out.append(current)
                current = ""
            out.append(line[: MAX_TEXT - 1] + "…")
            line = "…" + line[MAX_TEXT - 1:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_TEXT:
            out.append(current)
            current = line
        else:
            current = candidate
    if current:
        out.append(current)
    return out


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def mrkdwn(draft: Draft) -> str:
    """The plain message text: the notification and the fallback where blocks don't show."""
    numbered = number_sources(draft)
    out = [f"*{escape(draft.title)}*"]
    if draft.greeting:
        out.append(escape(draft.greeting))
    for section in numbered.sections:
        out.append(f"*{escape(section.title)}*")
        out += [f"• {_claim(c, numbered.numbers, draft)}" for c in section.claims]
    if draft.sign_off:
        out.append(escape(draft.sign_off))
    if numbered.sources:
        out.append("*Sources*")
        out += [_source(n, s) for n, s in numbered.sources]
    return "\n".join(out)


def slack_payload(draft: Draft) -> dict[str, Any]:
    numbered = number_sources(draft)
    title = draft.title if len(draft.title) <= MAX_HEADER else draft.title[: MAX_HEADER - 1] + "…"
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": True}}]
    if draft.greeting:
        blocks += [_section(t) for t in _chunks([escape(draft.greeting)], "")]
    for section in numbered.sections:
        lines = [_claim(c, numbered.numbers, draft) for c in section.claims]
        lines = [" ".join(lines)] if section.style == "prose" else [f"• {x}" for x in lines]
        blocks += [_section(t) for t in _chunks(lines, f"*{escape(section.title)}*")]
    if draft.sign_off:
        blocks += [_section(t) for t in _chunks([escape(draft.sign_off)], "")]
    if numbered.sources:
        blocks.append({"type": "divider"})
        lines = [_source(n, s) for n, s in numbered.sources]
        for i in range(0, len(lines), MAX_CONTEXT_ELEMENTS):
            blocks.append({"type": "context", "elements": [
                {"type": "mrkdwn", "text": t[:MAX_TEXT]}
                for t in lines[i:i + MAX_CONTEXT_ELEMENTS]]})
    if len(blocks) > MAX_BLOCKS:
        hidden = len(blocks) - (MAX_BLOCKS - 1)
        note = f"_{hidden} more blocks did not fit in one Slack message; see the full draft._"
        blocks = [*blocks[: MAX_BLOCKS - 1],
                  {"type": "context", "elements": [{"type": "mrkdwn", "text": note}]}]
    return {"text": mrkdwn(draft)[:40000], "blocks": blocks}
