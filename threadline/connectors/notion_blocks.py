"""Notion API blocks and rich text, written out the way Notion's Markdown export writes them.

The live connector renders a page's blocks to the same Notion-flavoured markdown the
"Markdown & CSV" export contains, then hands it to the export importer's own parser
(``notion_markdown.parse_markdown``), so a page read through the API and the same page
read from an export come out with the same title, text and links.

Conventions taken from the export:
- blocks are separated by a blank line, items of one list by a newline;
- children are indented by four spaces under their parent (toggles, list items);
- a link to another page of the workspace is written as a relative path ending in the
  page's 32-hex id (``[Tasks](Tasks%20<hex>.md)``): the importer shows only the label and
  links to ``notion:<uuid>``; links elsewhere keep their URL;
- markdown characters inside text are not escaped: the importer reads the export that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from urllib.parse import quote

Json = dict[str, Any]
_LIST_KINDS = ("bulleted_list_item", "numbered_list_item", "to_do")
_SILENT = (
    "table_of_contents",
    "breadcrumb",
    "template",
    "unsupported",
    "column_list",
    "column",
    "synced_block",
)
_FILE_KINDS = ("image", "video", "audio", "file", "pdf")
_INDENT = "    "


@dataclass
class BlockNode:
    """One block and the children read for it (empty when not read or none)."""

    block: Json
    children: list[BlockNode] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return str(self.block.get("type", "unsupported"))


def compact(uuid: str) -> str:
    return uuid.replace("-", "").lower()


def page_link(title: str, page_id: str, suffix: str = ".md") -> str:
    """A workspace link the way the export writes it: a relative path ending in the id."""
    stem = f"{title} {compact(page_id)}" if title else compact(page_id)
    return f"[{title}]({quote(stem)}{suffix})"


def format_date(value: str | None, zone: tzinfo) -> str:
    """An ISO date or time as Notion's export displays it: 'November 13, 2026 3:12 PM'."""
    if not value:
        return ""
    if len(value) <= 10:
        day = date.fromisoformat(value)
        return f"{day:%B} {day.day}, {day.year}"
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = moment.astimezone(zone)
    hour = local.hour % 12 or 12
    return (
        f"{local:%B} {local.day}, {local.year} {hour}:{local:%M} "
        f"{'AM' if local.hour < 12 else 'PM'}"
    )


def date_range(value: Json | None, zone: tzinfo) -> str:
    if not value:
        return ""
    start = format_date(value.get("start"), zone)
    end = format_date(value.get("end"), zone)
    return f"{start} → {end}" if end else start


def rich_text(items: Iterable[Json] | None, zone: tzinfo = UTC) -> str:
    """Inline rich text as export markdown: links, page mentions, emphasis."""
    return "".join(_span(item, zone) for item in items or [])


def plain(items: Iterable[Json] | None) -> str:
    return "".join(str(item.get("plain_text", "")) for item in items or [])


def _span(item: Json, zone: tzinfo) -> str:
    text = str(item.get("plain_text", ""))
    kind = item.get("type")
    if kind == "mention":
        mention = item.get("mention") or {}
        target = mention.get("type")
        if target in ("page", "database"):
            return page_link(text, str((mention.get(target) or {}).get("id", "")))
        if target == "user":
            name = (mention.get("user") or {}).get("name") or text.lstrip("@")
            return f"@{name}"
        if target == "date":
            return f"@{date_range(mention.get('date'), zone)}"
    if kind == "equation":
        return f"${(item.get('equation') or {}).get('expression', text)}$"
    if not text:
        return ""
    notes = item.get("annotations") or {}
    if notes.get("code"):
        text = f"`{text}`"
    if notes.get("bold"):
        text = f"**{text}**"
    if notes.get("italic"):
        text = f"*{text}*"
    if notes.get("strikethrough"):
        text = f"~~{text}~~"
    href = item.get("href")
    if href:
        text = f"[{text}]({href})"
    return text


def render(nodes: Sequence[BlockNode], zone: tzinfo = UTC, depth: int = 0) -> str:
    """Blocks (and their children) as the body of an exported page."""
    out: list[str] = []
    previous: str | None = None
    number = 0
    for node in nodes:
        kind = node.kind
        number = number + 1 if kind == "numbered_list_item" and previous == kind else 1
        chunk = _block(node, zone, depth, number)
        if chunk is None:
            continue
        if out:
            out.append("\n" if kind in _LIST_KINDS and kind == previous else "\n\n")
        out.append(chunk)
        previous = kind
    return "".join(out)


def _block(node: BlockNode, zone: tzinfo, depth: int, number: int) -> str | None:
    kind = node.kind
    data: Json = node.block.get(kind) or {}
    pad = _INDENT * depth
    text = rich_text(data.get("rich_text"), zone)
    nested = render(node.children, zone, depth + 1) if node.children else ""
    line: str | None
    if kind == "paragraph":
        line = text
    elif kind.startswith("heading_"):
        level = min(int(kind.rsplit("_", 1)[1]), 6)
        line = f"{'#' * level} {text}"
    elif kind == "bulleted_list_item":
        line = f"- {text}"
    elif kind == "numbered_list_item":
        line = f"{number}. {text}"
    elif kind == "to_do":
        line = f"- [{'x' if data.get('checked') else ' '}] {text}"
    elif kind == "toggle":
        line = f"- {text}"
    elif kind == "quote":
        line = f"> {text}"
    elif kind == "callout":
        icon = (data.get("icon") or {}).get("emoji") or ""
        body = f"{icon} {text}".strip()
        inner = f"\n{nested}" if nested else ""
        return _indent(f"<aside>\n{body}{inner}\n</aside>", pad)
    elif kind == "code":
        language = "" if data.get("language") in (None, "plain text") else data["language"]
        return _indent(f"```{language}\n{plain(data.get('rich_text'))}\n```", pad)
    elif kind == "equation":
        line = f"$$\n{data.get('expression', '')}\n$$"
    elif kind == "divider":
        line = "---"
    elif kind == "child_page":
        line = page_link(str(data.get("title", "")), str(node.block.get("id", "")))
    elif kind == "child_database":
        title = str(data.get("title", ""))
        line = page_link(title, str(node.block.get("id", "")), ".csv")
    elif kind == "link_to_page":
        target = data.get(str(data.get("type"))) or ""
        line = page_link("", str(target)) if target else None
    elif kind in ("bookmark", "embed", "link_preview"):
        url = str(data.get("url", ""))
        caption = rich_text(data.get("caption"), zone)
        line = f"[{caption}]({url})" if caption else url or None
    elif kind in _FILE_KINDS:
        line = _file(kind, data, zone)
    elif kind == "table":
        line = _table(node, data, zone)
        nested = ""
    elif kind in _SILENT:
        # Containers without text of their own: their children stand in their place.
        return render(node.children, zone, depth) if node.children else None
    else:
        line = None
    if line is None:
        return nested or None
    rendered = _indent(line, pad)
    return f"{rendered}\n{nested}" if nested else rendered


def _file(kind: str, data: Json, zone: tzinfo) -> str:
    source = data.get(str(data.get("type"))) or {}
    url = str(source.get("url", ""))
    caption = rich_text(data.get("caption"), zone)
    name = caption or str(data.get("name") or url.rsplit("/", 1)[-1].split("?")[0])
    return f"![{name}]({url})" if kind == "image" else f"[{name}]({url})"


def _table(node: BlockNode, data: Json, zone: tzinfo) -> str | None:
    rows = [
        [rich_text(cell, zone) for cell in (child.block.get("table_row") or {}).get("cells", [])]
        for child in node.children
        if child.kind == "table_row"
    ]
    if not rows:
        return None
    lines = [f"| {' | '.join(rows[0])} |"]
    if data.get("has_column_header", True):
        lines.append(f"| {' | '.join('---' for _ in rows[0])} |")
    lines.extend(f"| {' | '.join(row)} |" for row in rows[1:])
    return "\n".join(lines)


def _indent(text: str, pad: str) -> str:
    if not pad:
        return text
    return "\n".join(pad + line if line else line for line in text.split("\n"))


def child_ids(nodes: Iterable[BlockNode]) -> tuple[list[str], list[str]]:
    """Ids of the child pages and child databases among ``nodes``, at any depth read."""
    pages: list[str] = []
    databases: list[str] = []
    stack = list(nodes)
    while stack:
        node = stack.pop(0)
        if node.kind == "child_page":
            pages.append(str(node.block.get("id")))
        elif node.kind == "child_database":
            databases.append(str(node.block.get("id")))
        stack[:0] = node.children
    return pages, databases
