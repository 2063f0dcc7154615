"""Decoding one email: headers, charsets, and the readable body of any MIME tree.

The part-selection logic walks a small ``Part`` tree, so it serves both a parsed
``email.message.Message`` and a Gmail API ``users.messages.get`` payload (whose bodies are
already transfer-decoded). Real mail lies about its charset, nests multiparts arbitrarily and
breaks MIME; every decode here degrades to a readable best effort and notes the problem.
"""

from __future__ import annotations

import base64
import codecs
import email.utils
import mimetypes
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.errors import HeaderParseError
from email.header import decode_header
from email.message import Message
from typing import Any

from charset_normalizer import from_bytes

from threadline.connectors.text import html_to_text, unflow
from threadline.records import Attachment

_MAX_DEPTH = 40
# Mail labelled as one of these is so often really UTF-8 (or cp1252) that valid UTF-8
# multi-byte sequences win: "Ã¼" for "ü" is the classic mislabel, never real Latin-1 text.
_SINGLE_BYTE_WESTERN = frozenset({"ascii", "iso8859-15", "cp1252"})
_CHARSET_ALIASES = {
    # WHATWG: browsers and mail clients read Latin-1 labels as windows-1252.
    "iso8859-1": "cp1252",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}


@dataclass
class Decoded:
    text: str
    problem: str | None = None


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        return None
    return _CHARSET_ALIASES.get(canonical, canonical)


def decode_text(data: bytes, charset: str | None) -> Decoded:
    """Bytes to text under a declared charset that may be missing, unknown or wrong."""
    codec = _codec(charset)
    if codec in _SINGLE_BYTE_WESTERN or codec is None:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            pass
        else:
            unknown = charset and codec is None and not data.isascii()
            return Decoded(text, f"unknown charset {charset!r}; read as UTF-8" if unknown else None)
    if codec is not None:
        try:
            return Decoded(data.decode(codec))
        except UnicodeDecodeError:
            if codec == "cp1252":
                return Decoded(data.decode("latin-1"))
    guess = _detect(data)
    label = f"charset {charset!r}" if charset else "no charset"
    if guess is not None:
        problem = None if not charset else f"{label} did not fit; decoded as {guess}"
        return Decoded(data.decode(guess, errors="replace"), problem)
    return Decoded(data.decode(codec or "utf-8", errors="replace"), f"{label}: undecodable bytes")


def _detect(data: bytes) -> str | None:
    matches = from_bytes(data[:65536])
    best = matches.best()
    if best is None:
        return None
    # On short text several single-byte codecs tie; windows-1252 is by far the most common
    # legacy mail charset, so it wins a tie (the detector alone picks cp1250 for "à").
    tied = [m for m in matches if m.chaos <= best.chaos + 0.01]
    if any("cp1252" in (m.encoding, *m.could_be_from_charset) for m in tied):
        return "cp1252"
    return best.encoding


# --- headers -----------------------------------------------------------------------------

_FOLD = re.compile(r"\r?\n(?=[ \t])")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def raw_header_values(message: Message, name: str) -> list[str]:
    """Header values as they stand in the file, unfolded. Reading these rather than
    ``message[name]`` works the same under every policy and never raises (``policy.default``
    parses on access and can fail on a malformed header)."""
    wanted = name.lower()
    items = message.raw_items()
    return [_FOLD.sub("", str(value)) for key, value in items if key.lower() == wanted]


def decode_header_value(raw: str) -> str:
    """RFC 2047 encoded words, raw 8-bit bytes and unknown charsets, all to text."""
    try:
        chunks = decode_header(raw)
    except (HeaderParseError, ValueError, LookupError):
        try:
            return str(policy.default.header_factory("x-decoded", raw)).strip()
        except Exception:  # a header that even the lenient parser rejects
            return raw.strip()
    parts: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            chunk = chunk.encode("ascii", "surrogateescape")
        parts.append(decode_text(chunk, charset).text)
    return " ".join("".join(parts).replace("\x00", "").split())


def header(message: Message, name: str) -> str | None:
    values = raw_header_values(message, name)
    return decode_header_value(values[0]) if values else None


def message_ids(raw: str | None) -> list[str]:
    """Message-IDs in a References / In-Reply-To value, in order, without angle brackets."""
    if not raw:
        return []
    found = _MESSAGE_ID.findall(raw)
    if not found:
        found = [token for token in raw.split() if "@" in token]
    return list(dict.fromkeys(token.strip("<>") for token in found))


def addresses(message: Message, *names: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs from the named headers, deduplicated."""
    raw: list[str] = []
    for name in names:
        raw.extend(raw_header_values(message, name))
    seen: dict[str, str] = {}
    for display, address in email.utils.getaddresses(raw):
        address = decode_header_value(address).strip().lower()
        if "@" not in address:
            continue
        name = decode_header_value(display).strip().strip('"').strip() if display else ""
        if address not in seen or (name and not seen[address]):
            seen[address] = name
    return [(name, address) for address, name in seen.items()]


# --- the part tree -------------------------------------------------------------------------


@dataclass
class Part:
    """One MIME part, whichever source it came from."""

    content_type: str
    charset: str | None = None
    filename: str | None = None
    disposition: str | None = None
    children: list[Part] = field(default_factory=list)
    load: Callable[[], bytes | None] = lambda: None
    """The transfer-decoded body bytes, read only when needed."""
    size: int | None = None
    """The body size when known without loading it (a Gmail attachment by attachmentId)."""
    start: str | None = None
    content_id: str | None = None
    notes: list[str] = field(default_factory=list)
    """Damage found while loading the body (a truncated base64 payload)."""
    flowed: bool = False
    """RFC 3676 format=flowed: a line ending in a space continues on the next line."""
    delsp: bool = False


def part_from_message(message: Message, depth: int = 0) -> Part:
    content_type = message.get_content_type()
    filename = _safe(message.get_filename)
    part = Part(
        content_type=content_type,
        charset=_safe(lambda: message.get_param("charset")),
        filename=decode_header_value(filename) if isinstance(filename, str) else None,
        disposition=_safe(message.get_content_disposition),
        start=_safe(lambda: message.get_param("start")),
        content_id=_first(raw_header_values(message, "content-id")),
        flowed=str(_safe(lambda: message.get_param("format")) or "").lower() == "flowed",
        delsp=str(_safe(lambda: message.get_param("delsp")) or "").lower() == "yes",
    )
    if content_type == "message/rfc822" and message.is_multipart():
        inner = message.get_payload()
        part.load = lambda: _as_bytes(inner)
    elif message.is_multipart() and depth < _MAX_DEPTH:
        children = message.get_payload()
        part.children = [
            part_from_message(child, depth + 1) for child in children if isinstance(child, Message)
        ]
    else:
        part.load = lambda: _payload_bytes(message, part.notes)
    return part


def part_from_gmail(payload: dict[str, Any], depth: int = 0) -> Part:
    """A Gmail API ``payload`` tree; text bodies come base64url-encoded in ``body.data``."""
    headers = {h["name"].lower(): h["value"] for h in payload.get("headers", [])}
    holder = Message()
    for name in ("content-type", "content-disposition"):
        if name in headers:
            holder[name] = headers[name]
    body = payload.get("body") or {}
    data = body.get("data")
    part = Part(
        content_type=str(payload.get("mimeType") or holder.get_content_type()).lower(),
        charset=_safe(lambda: holder.get_param("charset")),
        filename=payload.get("filename") or None,
        disposition=holder.get_content_disposition(),
        size=None if data else body.get("size"),
        content_id=headers.get("content-id"),
    )
    if data:
        part.load = lambda: base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
    if depth < _MAX_DEPTH:
        part.children = [part_from_gmail(child, depth + 1) for child in payload.get("parts", [])]
    return part


def _safe(get: Callable[[], object]) -> Any:
    try:
        value = get()
    except Exception:  # a malformed parameter must not lose the message
        return None
    return value if isinstance(value, str) else None


def _first(values: list[str]) -> str | None:
    return values[0].strip() if values else None


def _payload_bytes(message: Message, notes: list[str]) -> bytes | None:
    if str(message.get("content-transfer-encoding", "")).strip().lower() == "base64":
        # The standard library hands back the undecoded base64 text when it is damaged.
        encoded = str(message.get_payload()).encode("ascii", "ignore")
        return _lenient_b64decode(encoded, notes)
    payload = message.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else None


def _lenient_b64decode(encoded: bytes, notes: list[str]) -> bytes:
    compact = re.sub(rb"\s", b"", encoded)
    if len(compact) % 4 or re.search(rb"[^A-Za-z0-9+/]", compact.rstrip(b"=")):
        notes.append("base64 body was truncated or damaged; decoded what was intact")
    letters = re.sub(rb"[^A-Za-z0-9+/]", b"", compact.split(b"=", 1)[0])
    if len(letters) % 4 == 1:
        letters = letters[:-1]
    return base64.b64decode(letters + b"=" * (-len(letters) % 4))


def _as_bytes(inner: object) -> bytes | None:
    messages = inner if isinstance(inner, list) else [inner]
    try:
        return b"".join(m.as_bytes(policy=policy.SMTP) for m in messages if isinstance(m, Message))
    except Exception:  # size of a broken attached message is only metadata
        return None


# --- body selection -------------------------------------------------------------------------


@dataclass
class Body:
    text: str = ""
    from_html: bool = False
    attachments: list[Attachment] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def extract_body(root: Part) -> Body:
    """The readable text of a message and its attachments as metadata."""
    body = Body()
    segments = list(_texts(root, body, 0))
    body.text = "\n\n".join(segment for segment in segments if segment.strip()).strip()
    return body


def _texts(part: Part, body: Body, depth: int) -> Iterator[str]:
    if depth > _MAX_DEPTH:
        body.problems.append(f"MIME nesting deeper than {_MAX_DEPTH} levels was skipped")
        return
    maintype, _, subtype = part.content_type.partition("/")
    if _is_attachment(part):
        body.attachments.append(_attachment(part, body))
    elif maintype == "multipart" and not part.children:
        # No boundary, or a boundary that never appears: the parser left the body as one blob.
        body.problems.append(f"{part.content_type} without usable parts; body read as text")
        plain = Part("text/plain", charset=part.charset, load=part.load, notes=part.notes)
        yield _leaf_text(plain, body)
    elif maintype == "multipart" and subtype == "alternative":
        yield from _alternative(part, body, depth)
    elif maintype == "multipart" and subtype == "related":
        root = _related_root(part)
        for child in part.children:
            if child is root:
                yield from _texts(child, body, depth + 1)
            else:
                body.attachments.append(_attachment(child, body))
    elif maintype == "multipart":
        # RFC 2046: an unknown multipart subtype is read as multipart/mixed.
        for child in part.children:
            yield from _texts(child, body, depth + 1)
    else:
        yield _leaf_text(part, body)


def _alternative(part: Part, body: Body, depth: int) -> Iterator[str]:
    def rank(child: Part) -> int:
        if child.content_type == "text/plain":
            return 0
        return 1 if child.content_type.startswith("multipart/") else 2

    # The first rendering that yields text wins; the others are the same content again.
    candidates = [c for c in part.children if c.content_type.startswith(("text/", "multipart/"))]
    for child in sorted(candidates, key=rank):
        trial = Body()
        text = "\n\n".join(_texts(child, trial, depth + 1)).strip()
        if text:
            body.from_html = body.from_html or trial.from_html
            body.attachments.extend(trial.attachments)
            body.problems.extend(trial.problems)
            yield text
            return


def _related_root(part: Part) -> Part | None:
    if part.start:
        for child in part.children:
            if child.content_id and child.content_id.strip("<>") == part.start.strip("<>"):
                return child
    return part.children[0] if part.children else None


def _is_attachment(part: Part) -> bool:
    if part.content_type.startswith("multipart/"):
        return False
    if part.disposition == "attachment" or part.content_type == "message/rfc822":
        return True
    if part.content_type in ("text/plain", "text/html"):
        # A named text part (a disclaimer.txt, a notes.html) is a file the sender attached.
        return part.filename is not None or part.size is not None
    return True


def _attachment(part: Part, body: Body) -> Attachment:
    size = part.size
    if size is None:
        try:
            payload = part.load()
        except Exception as error:  # truncated or garbled attachment
            body.problems.append(f"attachment {part.filename or part.content_type}: {error}")
            payload = None
        size = len(payload) if payload is not None else None
        body.problems.extend(part.notes)
    name = part.filename
    if not name:
        extension = mimetypes.guess_extension(part.content_type) or ".bin"
        name = f"unnamed{extension}"
    return Attachment(name=name, mime_type=part.content_type, size=size)


def _leaf_text(part: Part, body: Body) -> str:
    try:
        payload = part.load()
    except Exception as error:  # a garbled body should not lose the message
        body.problems.append(f"{part.content_type} body could not be decoded: {error}")
        return ""
    body.problems.extend(part.notes)
    if not payload:
        return ""
    decoded = decode_text(payload, part.charset)
    if decoded.problem:
        body.problems.append(decoded.problem)
    if part.content_type == "text/html":
        body.from_html = True
        return html_to_text(decoded.text)
    text = decoded.text.replace("\r\n", "\n")
    return unflow(text, delsp=part.delsp) if part.flowed else text
