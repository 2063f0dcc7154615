"""Markdown: the review format and what the user edits. Citations [n] after each claim,
numbered in order of first use, and a Sources list with one line per number."""

from __future__ import annotations

from threadline.produce.model import Claim, Draft, SourceItem
from threadline.produce.render import (
    claim_numbers,
    flag_text,
    number_sources,
    safe_url,
    source_parts,
)


def _claim(claim: Claim, numbers: dict[str, int]) -> str:
    marks = "".join(f"[{n}]" for n in claim_numbers(claim, numbers))
    flag = flag_text(claim)
    text = f"{claim.text.strip()} {marks}".rstrip()
    return f"{text} **{flag}**" if flag else text


def source_line(n: int, source: SourceItem) -> str:
    url = safe_url(source.permalink)
    where = f"[link]({url})" if url else f"`{source.id}`"
    return f"- [{n}] {' · '.join([*source_parts(source), where])}"


def render_markdown(draft: Draft) -> str:
    numbered = number_sources(draft)
    out = [f"# {draft.title}", ""]
    if draft.greeting:
        out += [draft.greeting, ""]
    for section in numbered.sections:
        out += [f"## {section.title}", ""]
        lines = [_claim(c, numbered.numbers) for c in section.claims]
        out += ([" ".join(lines)] if section.style == "prose" else [f"- {x}" for x in lines])
        out.append("")
    if draft.sign_off:
        out += [draft.sign_off, ""]
    if numbered.sources:
        out += ["## Sources", ""] + [source_line(n, s) for n, s in numbered.sources] + [""]
    return "\n".join(out)
