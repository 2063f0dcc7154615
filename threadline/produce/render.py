"""Turn a verified draft into what gets sent or reviewed: Markdown, HTML, Slack, Notion, JSON.

Every format shows only shipped claims (dropped ones never appear), numbers its citations in
order of first use, and lists each cited source once: platform, container, author, date,
link. Flagged claims appear with a "⚑ needs review: reason" marker in every format; these
are previews, and the delivery layer refuses to send a draft that still has flagged claims.
``render`` returns text (Slack and Notion as their JSON payloads); the format modules also
expose the structured payloads.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from threadline.errors import ThreadlineError
from threadline.produce.model import Claim, Draft, Section, SourceItem

FORMATS = ("markdown", "html", "slack", "notion", "json")
FLAG = "⚑ needs review"
PLATFORM_LABELS = {"slack": "Slack", "email": "Email", "calendar": "Calendar",
                   "notion": "Notion"}


class RenderError(ThreadlineError):
    """The draft cannot be rendered in the format asked for."""


@dataclass(frozen=True)
class Numbered:
    """A draft's shipped sections, with citations numbered in order of first use."""

    sections: list[Section]
    numbers: dict[str, int]
    sources: list[tuple[int, SourceItem]]


def number_sources(draft: Draft) -> Numbered:
    sections = []
    numbers: dict[str, int] = {}
    for section in draft.sections:
        shipped = [c for c in section.claims if c.status != "dropped"]
        if not shipped:
            continue
        sections.append(section.model_copy(update={"claims": shipped}))
        for claim in shipped:
            for cid in claim.citations:
                if cid in draft.sources and cid not in numbers:
                    numbers[cid] = len(numbers) + 1
    sources = [(n, draft.sources[cid]) for cid, n in numbers.items()]
    return Numbered(sections, numbers, sources)


def claim_numbers(claim: Claim, numbers: dict[str, int]) -> list[int]:
    return list(dict.fromkeys(numbers[c] for c in claim.citations if c in numbers))


def flag_text(claim: Claim) -> str | None:
    if claim.status != "flagged":
        return None
    return f"{FLAG}: {'; '.join(claim.reasons) or 'unverified'}"


def when(source: SourceItem) -> str:
    moment = source.occurred_at
    return f"{moment:%a} {moment.day} {moment:%b %Y}" if moment else "undated"


def source_parts(source: SourceItem) -> list[str]:
    """Platform, container, author, date: the words of one sources-list line."""
    return [PLATFORM_LABELS.get(source.platform, source.platform.title()), source.container,
            source.author, when(source)]


def safe_url(url: str | None) -> str | None:
    """Only web links become links: a ``javascript:`` permalink stays text."""
    return url if url and url.startswith(("https://", "http://")) else None


def json_document(draft: Draft) -> dict[str, Any]:
    """Sections, shipped claims with their cited items (canonical ids, as the gold manifest
    names them) and the verification report. Dropped claims are counted, not quoted."""
    numbered = number_sources(draft)

    def cited(cid: str) -> dict[str, Any]:
        source = draft.sources[cid]
        return {"id": cid, "n": numbered.numbers[cid], "platform": source.platform,
                "container": source.container, "author": source.author,
                "occurred_at": source.occurred_at.isoformat() if source.occurred_at else None,
                "title": source.title, "permalink": source.permalink}

    report = draft.report
    return {
        "title": draft.title, "composer": draft.composer,
        "scope": draft.scope.model_dump(mode="json"),
        "greeting": draft.greeting, "sign_off": draft.sign_off,
        "sections": [{"key": s.key, "title": s.title, "style": s.style, "claims": [
            {"text": c.text, "status": c.status, "reasons": c.reasons, "review": flag_text(c),
             "citations": [cited(cid) for cid in c.citations if cid in numbered.numbers]}
            for c in s.claims]} for s in numbered.sections],
        "sources": [cited(cid) for cid in numbered.numbers],
        "report": {
            "kept": report.kept, "dropped": report.dropped, "flagged": report.flagged,
            "problems": [p for p in report.problems if not p.startswith("dropped")],
            "dropped_reasons": [{"section": s.key, "reasons": c.reasons}
                                for s in draft.sections for c in s.claims
                                if c.status == "dropped"],
            "redactions": [r.model_dump() for r in report.redactions],
            "composer_notes": report.composer_notes,
        },
        "created_at": draft.created_at.isoformat() if draft.created_at else None,
    }


def render(draft: Draft, fmt: str) -> str:
    """The draft as text in ``fmt``: one of markdown, html, slack, notion, json."""
    # Imported here: the format modules use this module's helpers.
    from threadline.produce import render_html, render_markdown, render_notion, render_slack

    if fmt == "markdown":
        return render_markdown.render_markdown(draft)
    if fmt == "html":
        return render_html.render_html(draft)
    if fmt == "slack":
        return json.dumps(render_slack.slack_payload(draft), ensure_ascii=False, indent=2)
    if fmt == "notion":
        return json.dumps(render_notion.notion_blocks(draft), ensure_ascii=False, indent=2)
    if fmt == "json":
        return json.dumps(json_document(draft), ensure_ascii=False, indent=2)
    raise RenderError(f"no renderer for format {fmt!r}; choose one of {', '.join(FORMATS)}")
