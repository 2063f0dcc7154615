"""A draft as the review page shows it: its Markdown (as edited, if it was) turned into safe
HTML where each citation [n] is a button that opens its source.

Only a small Markdown subset is understood (headings, bullets, paragraphs, bold, links):
exactly what the renderer writes. Everything is escaped first, so a claim or an edit can
never inject markup.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import Markup, escape

from threadline.produce.drafts import StoredDraft
from threadline.produce.model import SourceItem
from threadline.produce.render import number_sources, safe_url
from threadline.web.actions import markdown_of

_CITE = re.compile(r"\[(\d+)\]")
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^)\s]+)\)")


@dataclass
class CitedSource:
    n: int
    source: SourceItem
    url: str | None
    snippet: str


def sources(stored: StoredDraft) -> list[CitedSource]:
    out = []
    for n, source in number_sources(stored.draft).sources:
        text = " ".join(source.text.split())
        out.append(CitedSource(n, source, safe_url(source.permalink),
                               text[:280] + ("…" if len(text) > 280 else "")))
    return out


def _inline(text: str, known: set[int]) -> str:
    html = str(escape(text))
    html = _LINK.sub(lambda m: f'<a href="{m.group(2)}" rel="noopener noreferrer">'
                     f"{m.group(1)}</a>", html)
    html = _BOLD.sub(r"<strong>\1</strong>", html)

    def cite(m: re.Match[str]) -> str:
        n = int(m.group(1))
        if n not in known:
            return m.group(0)
        return (f'<a class="cite" href="#src-{n}" data-cite="{n}" role="button" '
                f'aria-controls="source-panel" aria-haspopup="dialog" '
                f'aria-label="source {n}">[{n}]</a>')

    return _CITE.sub(cite, html)


def body_html(stored: StoredDraft) -> Markup:
    """The draft's body without its Sources list (the page shows that as a panel)."""
    known = {s.n for s in sources(stored)}
    out: list[str] = []
    bullets: list[str] = []

    def close() -> None:
        if bullets:
            out.append("<ul>" + "".join(f"<li>{b}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for line in markdown_of(stored).split("\n"):
        stripped = line.strip()
        if stripped.lower() in ("## sources", "# sources"):
            break
        if stripped.startswith("- ") or stripped.startswith("* "):
            bullets.append(_inline(stripped[2:], known))
            continue
        close()
        if not stripped:
            continue
        level = len(stripped) - len(stripped.lstrip("#"))
        if 1 <= level <= 3 and stripped[level:level + 1] == " ":
            tag = f"h{level + 1}"
            out.append(f"<{tag}>{_inline(stripped[level + 1:], known)}</{tag}>")
        else:
            out.append(f"<p>{_inline(stripped, known)}</p>")
    close()
    return Markup("\n".join(out))
