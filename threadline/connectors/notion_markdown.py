"""Notion-flavoured markdown (and basic Notion HTML) to a title, properties, plain text, links.

Notion's markdown export puts the page title as the first ``# `` heading and, for
database rows, one ``Key: value`` line per non-empty property right under it.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Container
from dataclasses import dataclass, field

from bs4 import BeautifulSoup

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(?:\|\s*:?-{3,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^(\s*)>\s?")
_BULLET = re.compile(r"^(\s*)[*+]\s+")
_TASK = re.compile(r"^(\s*)[-*+]\s+\[([ xX])\]\s*")
_FENCE = re.compile(r"^\s*(```|~~~)")
_PROPERTY = re.compile(r"^([^:\n]{1,200}?): (.*)$")
_ESCAPED = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|>~<])")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]*)\)")
_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")
_EMPHASIS = (
    re.compile(r"\*\*(.+?)\*\*"),
    re.compile(r"(?<!\w)__(.+?)__(?!\w)"),
    re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"),
    re.compile(r"(?<!\w)_(?!\s)(.+?)(?<!\s)_(?!\w)"),
    re.compile(r"~~(.+?)~~"),
    re.compile(r"`([^`]+)`"),
)
_TAG = re.compile(
    r"</?(?:aside|details|summary|span|div|u|mark|sup|sub|p|figure|figcaption|img|a|b|i|em|strong)"
    r"\b[^>]*>",
    re.IGNORECASE,
)
_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_URL = re.compile(r"https?://[^\s<>()\[\]\"']+[^\s<>()\[\]\"'.,;:!?]")
_RELATIVE = re.compile(r"\(([^()\s]+\.(?:md|csv|html))\)")
_BLANK_RUNS = re.compile(r"\n{3,}")
_HTML_BLOCKS = [
    "p",
    "div",
    "li",
    "tr",
    "br",
    "pre",
    "blockquote",
    "figure",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "table",
    "ul",
    "ol",
    "details",
    "summary",
    "header",
]


@dataclass
class NotionDocument:
    title: str | None
    text: str
    properties: dict[str, str] = field(default_factory=dict)
    hrefs: list[str] = field(default_factory=list)
    """Link targets in order of appearance, deduplicated, as written (still URL-encoded)."""
    source: str = ""
    """The page as exported (markdown, or the HTML body without styles), for ``raw``."""


def parse_markdown(markdown: str, columns: Container[str] | None = None) -> NotionDocument:
    """Split a page into title and body; read a property block only when ``columns`` is given."""
    lines = markdown.lstrip("\ufeff").splitlines()
    title: str | None = None
    start = _first_content(lines, 0)
    if start < len(lines) and lines[start].startswith("# "):
        title = lines[start][2:].strip() or None
        start += 1
    properties: dict[str, str] = {}
    if columns is not None:
        properties = _property_block(lines, _first_content(lines, start), columns)
    body = lines[start:]
    return NotionDocument(
        title=title,
        text=markdown_to_text("\n".join(body)),
        properties=properties,
        hrefs=find_hrefs("\n".join(body)),
        source=markdown,
    )


def _first_content(lines: list[str], start: int) -> int:
    while start < len(lines) and not lines[start].strip():
        start += 1
    return start


def _property_block(lines: list[str], start: int, columns: Container[str]) -> dict[str, str]:
    """The ``Key: value`` paragraph right after the title, if every key is a column."""
    found: dict[str, str] = {}
    for line in lines[start:]:
        if not line.strip():
            break
        match = _PROPERTY.match(line)
        if match is None or match.group(1) not in columns:
            return {}
        found[match.group(1)] = match.group(2).strip()
    return found


def find_hrefs(text: str) -> list[str]:
    """Markdown links, ``Title (path.md)`` relation values and bare URLs, in order."""
    found = [(m.start(), m.group(2)) for m in _LINK.finditer(text)]
    links = [m.span() for m in _LINK.finditer(text)]
    starts = [span[0] for span in links]
    for pattern, group in ((_RELATIVE, 1), (_URL, 0)):
        for match in pattern.finditer(text):
            # A target inside a markdown link was already taken with the link itself.
            index = bisect.bisect_right(starts, match.start()) - 1
            if index >= 0 and match.start() < links[index][1]:
                continue
            found.append((match.start(), match.group(group)))
    return list(dict.fromkeys(target for _, target in sorted(found)))


def markdown_to_text(markdown: str) -> str:
    out: list[str] = []
    fenced = False
    for line in markdown.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
            continue
        if fenced:
            out.append(line.rstrip())
            continue
        if not _TABLE_SEPARATOR.match(line):
            out.append(_plain_line(line))
    text = "\n".join(out)
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _plain_line(line: str) -> str:
    if _RULE.match(line):
        return ""
    line = _HEADING.sub("", line)
    line = _QUOTE.sub(r"\1", line)
    line = _TASK.sub(lambda m: f"{m.group(1)}[{m.group(2).lower()}] ", line)
    line = _BULLET.sub(r"\1- ", line)
    stripped = line.strip()
    if stripped.startswith("|") and stripped.endswith("|") and len(stripped) > 1:
        line = " | ".join(cell.strip() for cell in stripped[1:-1].split("|"))
    return _inline(line).rstrip()


def _inline(line: str) -> str:
    # Escaped characters are parked in the private-use area so no rule below sees them.
    line = _ESCAPED.sub(lambda m: chr(0xE000 + ord(m.group(1))), line)
    line = _BREAK.sub("\n", line)
    line = _TAG.sub("", line)
    line = _IMAGE.sub(lambda m: m.group(1), line)
    line = _LINK.sub(_link_text, line)
    for pattern in _EMPHASIS:
        line = pattern.sub(r"\1", line)
    return re.sub("[\ue000-\ue0ff]", lambda m: chr(ord(m.group(0)) - 0xE000), line)


def _link_text(match: re.Match[str]) -> str:
    label, target = match.group(1), match.group(2)
    if "://" not in target and not target.startswith("mailto:"):
        return label  # a relative path to another page of the export says nothing to a reader
    if not label or label == target:
        return target
    return f"{label} ({target})"


def parse_html(html: str) -> NotionDocument:
    """Basic support for Notion's HTML export: title, property table, text and links."""
    soup = BeautifulSoup(html, "html.parser")
    for useless in soup.find_all(["style", "script", "head"]):
        useless.decompose()
    source = str(soup.find("article") or soup.body or soup)
    heading = soup.find(class_="page-title")
    title = heading.get_text(" ", strip=True) if heading else None
    if heading:
        heading.decompose()
    properties: dict[str, str] = {}
    table = soup.find("table", class_="properties")
    if table is not None:
        for row in table.find_all("tr"):
            key, value = row.find("th"), row.find("td")
            if key is not None and value is not None:
                properties[key.get_text(" ", strip=True)] = value.get_text(" ", strip=True)
    hrefs = [str(a["href"]) for a in soup.find_all("a", href=True)]
    for math in soup.find_all(class_="katex"):
        # KaTeX renders each symbol in its own span; the TeX source reads better.
        tex = math.find("annotation")
        math.replace_with(tex.get_text() if tex else "")
    for block in soup.find_all(_HTML_BLOCKS):
        block.append("\n")
    lines = [" ".join(line.split()) for line in soup.get_text().splitlines()]
    return NotionDocument(
        title=title or None,
        text=_BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip(),
        properties=properties,
        hrefs=list(dict.fromkeys(hrefs)),
        source=source,
    )
