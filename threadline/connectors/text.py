"""Plain-text helpers shared by importers: HTML to text, reply and signature trimming, URLs.

The goal is the text a person actually wrote in one message, so that search, context and
citations are not flooded by the same quoted history repeated in every reply.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from bs4 import BeautifulSoup, NavigableString, Tag

_DROPPED_TAGS = ("script", "style", "head", "title", "noscript", "template", "svg")
# fmt: off
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "figcaption", "figure",
    "footer", "form", "header", "hr", "main", "nav", "section", "table", "tbody", "thead",
    "tfoot", "tr", "ul", "ol",
})
# fmt: on
_PARAGRAPH_TAGS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})
_CELL_TAGS = frozenset({"td", "th"})
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACES = re.compile(r"[ \t\f\v\r\n\u00a0]+")


def html_to_text(html: str) -> str:
    """Readable text from an HTML body: paragraphs and list items keep their line breaks,
    quoted replies (<blockquote>) come out ">"-prefixed like a plain-text client would show
    them, and a link whose text is not its address keeps the address as "text <url>"."""
    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(_DROPPED_TAGS):
        tag.decompose()
    return _tidy(_join(_render(soup)))


# Block edges ask for "at least a line break" / "at least a blank line", so nested blocks
# (</li></ul></div>) collapse into one break instead of piling up empty lines.
_BREAK = "\x00"
_PARAGRAPH = "\x01"


def _render(root: Tag) -> list[str]:
    # Iterative on purpose: HTML mail nests tables hundreds deep, past Python's recursion limit.
    buffers: list[list[str]] = [[]]
    stack: list[tuple[Tag, Iterator[object]]] = [(root, iter(root.children))]
    pre_depth = 0
    while stack:
        tag, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
            if tag.name == "pre":
                pre_depth -= 1
            _close(tag, buffers)
            continue
        if isinstance(child, Tag):
            if child.name == "pre":
                pre_depth += 1
            _open(child, buffers)
            stack.append((child, iter(child.children)))
        elif type(child) is NavigableString:
            text = str(child).replace(_BREAK, "").replace(_PARAGRAPH, "")
            buffers[-1].append(text if pre_depth else _SPACES.sub(" ", text))
    return buffers[0]


def _open(tag: Tag, buffers: list[list[str]]) -> None:
    name = tag.name
    if name == "blockquote":
        buffers.append([])
    elif name == "br":
        buffers[-1].append("\n")
    elif name == "li":
        buffers[-1].extend((_BREAK, "- "))
    elif name in _PARAGRAPH_TAGS:
        buffers[-1].append(_PARAGRAPH)
    elif name in _BLOCK_TAGS:
        buffers[-1].append(_BREAK)
    elif name in _CELL_TAGS:
        buffers[-1].append(" ")


def _close(tag: Tag, buffers: list[list[str]]) -> None:
    name = tag.name
    if name == "blockquote" and len(buffers) > 1:
        quoted = _tidy(_join(buffers.pop()))
        lines = [f"> {line}" if line else ">" for line in quoted.split("\n")] if quoted else []
        buffers[-1].extend((_BREAK, "\n".join(lines), _BREAK))
    elif name == "a":
        href = str(tag.get("href") or "").strip()
        if href.lower().startswith(("http://", "https://")) and href not in tag.get_text():
            buffers[-1].append(f" <{href}>")
    elif name in _PARAGRAPH_TAGS:
        buffers[-1].append(_PARAGRAPH)
    elif name in _BLOCK_TAGS or name == "li":
        buffers[-1].append(_BREAK)


def _join(pieces: list[str]) -> str:
    out: list[str] = []
    trailing = 2  # the start of the text counts as a paragraph edge
    for piece in pieces:
        if piece in (_BREAK, _PARAGRAPH):
            need = 1 if piece == _BREAK else 2
            if trailing < need:
                out.append("\n" * (need - trailing))
                trailing = need
            continue
        out.append(piece)
        content = piece.rstrip(" \t")
        if content.strip("\n"):
            trailing = len(content) - len(content.rstrip("\n"))
        else:
            trailing += content.count("\n")
    return "".join(out)


def _tidy(text: str) -> str:
    lines = [line.strip(" \t") for line in text.replace("\r\n", "\n").split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip("\n")


# --- quoted replies ---------------------------------------------------------------------

_ATTRIBUTION_END = re.compile(
    r"(wrote|writes|schrieb|skrev|a écrit|escribió|ha scritto|scritto|schreef|"
    r"geschreven|napisał|kirjoitti|escreveu)\s*:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^(On|Am|Den|Le|El|Il|Op|Em|W dniu|\d)\b", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(original message|oprindelig meddelelse|ursprüngliche nachricht|"
    r"message d'origine|mensaje original|originalmeddelande)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_FORWARD_MARKER = re.compile(
    r"^\s*(-{2,}\s*(forwarded|weitergeleitete|videresendt|message transf|mensaje reenviado|"
    r"doorgestuurd|messaggio inoltrato|vidarebefordrat).*-{2,}\s*|begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_HEADER_FROM = re.compile(r"^\s*\**\s*(from|fra|von|de|van|da|från|od)\s*\**\s*:", re.IGNORECASE)
_HEADER_SENT = re.compile(
    r"^\s*\**\s*(sent|date|dato|datum|gesendet|sendt|envoyé|enviado|verzonden|skickat|"
    r"inviato|data)\s*\**\s*:",
    re.IGNORECASE,
)
_HEADER_SUBJECT = re.compile(
    r"^\s*\**\s*(subject|emne|betreff|objet|asunto|onderwerp|oggetto|ämne|temat)\s*\**\s*:",
    re.IGNORECASE,
)
_UNDERSCORE_RULE = re.compile(r"^\s*_{10,}\s*$")


def trim_quoted_reply(text: str, *, is_forward: bool = False) -> str:
    """Drop the quoted history a reply carries; keep what the author wrote.

    Removed: ">"-quoted lines with their "On <date>, X wrote:" attribution, and everything
    from an Outlook-style "-----Original Message-----" or "From:/Sent:/Subject:" header block
    on. A forwarded message's content is the point of a forward, so it is kept: nothing after
    a "Forwarded message" marker is trimmed, and with ``is_forward`` header blocks stay too.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    forward_at = next((i for i, line in enumerate(lines) if _FORWARD_MARKER.match(line)), None)
    head = lines if forward_at is None else lines[:forward_at]
    tail = [] if forward_at is None else lines[forward_at:]
    if not is_forward:
        cut = _reply_header_start(head)
        if cut is not None:
            head = head[:cut]
            tail = []
    kept = _drop_quote_blocks(head) + tail
    return _BLANK_RUNS.sub("\n\n", "\n".join(kept)).strip()


def _reply_header_start(lines: list[str]) -> int | None:
    for i, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line):
            return _with_rule_above(lines, i)
        if _HEADER_FROM.match(line) and _is_header_block(lines, i):
            return _with_rule_above(lines, i)
    return None


def _is_header_block(lines: list[str], start: int) -> bool:
    window = lines[start + 1 : start + 9]
    has_sent = any(_HEADER_SENT.match(line) for line in window[:6])
    return has_sent and any(_HEADER_SUBJECT.match(line) for line in window)


def _with_rule_above(lines: list[str], index: int) -> int:
    above = index - 1
    while above >= 0 and not lines[above].strip():
        above -= 1
    return above if above >= 0 and _UNDERSCORE_RULE.match(lines[above]) else index


def _drop_quote_blocks(lines: list[str]) -> list[str]:
    quoted = [line.lstrip().startswith(">") for line in lines]
    drop = list(quoted)
    for i, line in enumerate(lines):
        if quoted[i] or not _ATTRIBUTION_END.search(line):
            continue
        following = next((j for j in range(i + 1, len(lines)) if lines[j].strip()), None)
        if following is not None and not quoted[following]:
            continue
        drop[i] = True
        # Clients wrap a long attribution: "On Mon, 1 Jan 2024 at 10:00, Jane Doe <" / "x> wrote:"
        above = lines[i - 1].strip() if i > 0 else ""
        if not _ATTRIBUTION_START.match(line.strip()) and above and _ATTRIBUTION_START.match(above):
            drop[i - 1] = True
    return [line for line, dropped in zip(lines, drop, strict=True) if not dropped]


# --- signatures ---------------------------------------------------------------------------

_MOBILE_SIGNATURE = re.compile(
    r"^\s*(sent (from|with|via) .{1,60}|get outlook for .{1,30}|von meinem .{1,40} gesendet|"
    r"envoyé de mon .{1,40}|enviado desde mi .{1,40}|sendt fra min .{1,40}|"
    r"skickat från min .{1,40}|verzonden (met|vanaf) .{1,40}|inviato da .{1,40})\s*$",
    re.IGNORECASE,
)
_MAX_SIGNATURE_LINES = 20


def trim_signature(text: str) -> str:
    """Drop a "-- " delimited signature (when short enough to be one) and a trailing
    "Sent from my iPhone"-style line."""
    lines = text.split("\n")
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].rstrip("\r") in ("-- ", "--"):
            if len(lines) - i - 1 <= _MAX_SIGNATURE_LINES:
                lines = lines[:i]
            break
    while lines and not lines[-1].strip():
        lines.pop()
    if lines and _MOBILE_SIGNATURE.match(lines[-1]):
        lines.pop()
    return "\n".join(lines).strip()


# --- format=flowed ------------------------------------------------------------------------


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join RFC 3676 soft line breaks so paragraphs read as written."""
    out: list[str] = []
    pending: str | None = None
    pending_depth = 0
    for line in text.split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        if content.startswith(" "):
            content = content[1:]  # space-stuffing
        if pending is not None and depth == pending_depth:
            content = pending + content
        elif pending is not None:
            out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
        pending = None
        if content.endswith(" ") and content != "-- ":
            pending, pending_depth = (content[:-1] if delsp else content), depth
            continue
        out.append(">" * depth + (" " if depth and content else "") + content)
    if pending is not None:
        out.append(">" * pending_depth + (" " if pending_depth else "") + pending)
    return "\n".join(out)


# --- URLs -----------------------------------------------------------------------------------

_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\[\]]+", re.IGNORECASE)
_TRAILING = ".,;:!?*'\""


def extract_urls(text: str) -> list[str]:
    """http(s) URLs in order of first appearance, without trailing punctuation."""
    found: dict[str, None] = {}
    for match in _URL.finditer(text):
        url = match.group(0)
        while url:
            if url[-1] in _TRAILING or (url[-1] == ")" and url.count("(") < url.count(")")):
                url = url[:-1]
            else:
                break
        if len(url) > len("https://"):
            found.setdefault(url, None)
    return list(found)
