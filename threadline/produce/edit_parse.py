"""Read a draft's Markdown back into its parts: title, greeting, sections, sign-off.

Users edit drafts as Markdown in whatever editor they like, so this reads loosely: sections are
``##`` headings (or a line that is all bold), a section's content is bullet lists and prose
paragraphs, citation markers (``[1]``, ``[^2]``, ``[[3]](url)``) and the sources list are
ignored, a short salutation before the first section is the greeting and a short closing
("Best, Jane") at the very end is the sign-off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

BlockKind = Literal["bullets", "prose"]

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BOLD_LINE = re.compile(r"^\*\*(.+?)\*\*:?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_SOURCE_LINE = re.compile(r"^\s*(?:[-*]\s+)?\[\^?\d+\]:?\s")
_SOURCES_TITLE = {"sources", "references", "citations", "sources cited", "cited sources"}
_CLOSING = re.compile(
    r"^(best|thanks|thank you|many thanks|cheers|regards|kind regards|warm regards|"
    r"best regards|all the best|sincerely|talk soon|speak soon|warmly|take care|"
    r"see you|yours)\b",
    re.IGNORECASE,
)
_GREETING = re.compile(
    r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|morning|afternoon|greetings|"
    r"hiya|team|all|folks|everyone)\b",
    re.IGNORECASE,
)
_SENTENCE = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[A-Z0-9\"'(\[])")


@dataclass
class Block:
    kind: BlockKind
    units: list[str]
    """Bullet items, or the sentences of a paragraph; citation markers removed."""


@dataclass
class ParsedSection:
    title: str
    blocks: list[Block] = field(default_factory=list)

    @property
    def units(self) -> list[str]:
        return [u for b in self.blocks for u in b.units]

    @property
    def style(self) -> BlockKind | None:
        """bullets or prose when the section is all one kind; None when mixed or empty."""
        kinds = {b.kind for b in self.blocks if b.units}
        return next(iter(kinds)) if len(kinds) == 1 else None


@dataclass
class ParsedDoc:
    title: str | None = None
    greeting: str | None = None
    intro: list[Block] = field(default_factory=list)
    """What stands between the greeting and the first section."""
    sections: list[ParsedSection] = field(default_factory=list)
    sign_off: str | None = None


def clean(text: str) -> str:
    """A unit's words without Markdown decoration or citation markers."""
    text = re.sub(r"\[\[\^?\d+\]\]\([^)]*\)", "", text)
    text = re.sub(r"\[\^?\d+(?:\s*[,;]\s*\^?\d+)*\](?!\()", "", text)
    text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"</?sup>", "", text)
    text = re.sub(r"(\*\*|__)(.+?)\1", r"\2", text)
    text = re.sub(r"(?<!\w)[*_](\S(?:.*?\S)?)[*_](?!\w)", r"\1", text)
    text = re.sub(r"`([^`]*)`", r"\1", text)
    text = re.sub(r"\s+([,.;:!?])", r"\1", text)
    return " ".join(text.split())


def norm(text: str) -> str:
    """Lower case words only: what two spellings of the same line have in common."""
    return " ".join(re.findall(r"[\w'’/-]+", clean(text).lower()))


def sentences(paragraph: str) -> list[str]:
    return [s for s in (clean(p) for p in _SENTENCE.split(paragraph)) if s]


def _paragraphs(lines: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for line in lines:
        if not line.strip() or _RULE.match(line):
            if out[-1]:
                out.append([])
        else:
            out[-1].append(line)
    return [p for p in out if p]


def _blocks(paragraph: list[str]) -> list[Block]:
    """A paragraph's bullet runs and prose runs, in order."""
    blocks: list[Block] = []
    prose: list[str] = []
    items: list[str] = []

    def flush_prose() -> None:
        if prose:
            blocks.append(Block("prose", sentences(" ".join(prose))))
            prose.clear()

    def flush_items() -> None:
        if items:
            blocks.append(Block("bullets", [c for c in (clean(i) for i in items) if c]))
            items.clear()

    for line in paragraph:
        if _BULLET.match(line):
            flush_prose()
            items.append(_BULLET.sub("", line, count=1))
        elif items and (line.startswith((" ", "\t"))):
            items[-1] += " " + line.strip()
        else:
            flush_items()
            prose.append(line.strip())
    flush_prose()
    flush_items()
    return [b for b in blocks if b.units]


def _strip_sources(lines: list[str]) -> list[str]:
    """Everything before the sources list; footnote definitions dropped wherever they are."""
    kept: list[str] = []
    for line in lines:
        heading = _HEADING.match(line) or _BOLD_LINE.match(line.strip())
        title = heading.group(heading.lastindex or 1) if heading else line
        if norm(title) in _SOURCES_TITLE:
            break
        if re.match(r"^\s*(sources|references)\s*:", line, re.IGNORECASE):
            break
        if _SOURCE_LINE.match(line):
            continue
        kept.append(line)
    return kept


def _is_sign_off(text: str, known: str | None) -> bool:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if known is not None and norm(text) == norm(known):
        return True
    return (
        len(lines) <= 3
        and len(text.split()) <= 12
        and bool(_CLOSING.match(lines[0].strip()))
    )


def _is_greeting(text: str, known: str | None) -> bool:
    if known is not None and norm(text) == norm(known):
        return True
    one_line = "\n" not in text.strip()
    return one_line and len(text.split()) <= 8 and (
        bool(_GREETING.match(text.strip())) or text.rstrip().endswith(",")
    )


def parse_markdown(
    text: str, *, greeting: str | None = None, sign_off: str | None = None
) -> ParsedDoc:
    """Read ``text``; ``greeting``/``sign_off`` are the composed ones, recognised verbatim."""
    lines = _strip_sources(text.replace("\r\n", "\n").splitlines())
    doc = ParsedDoc()
    headings = [(i, _HEADING.match(ln)) for i, ln in enumerate(lines)]
    levels = [len(m.group(1)) for _i, m in headings if m]
    # The first top-level heading, when the document opens with one, is the title.
    title_level = 1 if levels and levels[0] == 1 else 0
    chunks: list[tuple[str | None, list[str]]] = [(None, [])]
    for line in lines:
        heading = _HEADING.match(line)
        bold = _BOLD_LINE.match(line.strip())
        if heading and len(heading.group(1)) == title_level and doc.title is None:
            doc.title = clean(heading.group(2))
        elif heading:
            chunks.append((clean(heading.group(2)), []))
        elif bold and not _BULLET.match(line):
            chunks.append((clean(bold.group(1)), []))
        else:
            chunks[-1][1].append(line)
    pre = _paragraphs(chunks[0][1])
    paragraphs_by_section = [(t or "", _paragraphs(body)) for t, body in chunks[1:]]
    # The sign-off is the document's last paragraph (two when a name stands on its own).
    tail = paragraphs_by_section[-1][1] if paragraphs_by_section else pre
    if tail:
        last = "\n".join(s.strip() for s in tail[-1])
        if _is_sign_off(last, sign_off):
            doc.sign_off = last
            tail.pop()
        elif len(tail) >= 2 and len(last.split()) <= 3 and len(tail[-2]) == 1:
            both = "\n".join(s.strip() for s in tail[-2]) + "\n" + last
            if _is_sign_off(both, sign_off) and len(tail[-2][0].split()) <= 4:
                doc.sign_off = both
                del tail[-2:]
    if pre and _is_greeting("\n".join(pre[0]), greeting):
        doc.greeting = "\n".join(s.strip() for s in pre[0])
        pre = pre[1:]
    doc.intro = [b for p in pre for b in _blocks(p)]
    doc.sections = [
        ParsedSection(title, [b for p in paras for b in _blocks(p)])
        for title, paras in paragraphs_by_section
    ]
    return doc
