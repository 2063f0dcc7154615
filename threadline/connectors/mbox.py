"""Importer for mailbox files: a Gmail Takeout mbox, a single .eml, or a folder of them.

An mbox is scanned line by line in binary and cut at "From " separator lines, so memory is
bounded by the largest single message, never by the mailbox (``mailbox.mbox`` indexes the
whole file first). Each message is parsed on its own; one that cannot be read at all is
quarantined with its byte offset and the scan goes on.

Messages are parsed with ``policy.compat32``: ``policy.default`` builds a structured header
object on every access and made the import about ten times slower on a Takeout-sized mailbox,
while the headers that matter are decoded by ``mime`` from their raw values anyway.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, urlsplit

from dateutil import parser as dateutil_parser

from threadline import ids
from threadline.connectors import mime
from threadline.connectors.import_units import fingerprint, finish_unit, known_count, skipped
from threadline.connectors.text import extract_urls, trim_quoted_reply, trim_signature
from threadline.errors import ImportFailed
from threadline.records import (
    IdentityRecord,
    IdentityRef,
    ItemRecord,
    KnownUnits,
    LinkRef,
    QuarantineRecord,
    Record,
    SourceInfo,
)

_DAYS = rb"(Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_MONTHS = rb"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
# An asctime envelope ("From 1592@xxx Thu Apr 15 12:00:00 +0000 2021") is a separator
# anywhere; a looser "From x ...<digit>" only right after a blank line, as mboxo writers
# leave unescaped "From " lines inside bodies.
_SEPARATOR = re.compile(rb"From \S+\s+" + _DAYS + rb"\s+" + _MONTHS + rb"\s+\d{1,2}\s+\d{1,2}:\d\d")
_LOOSE_SEPARATOR = re.compile(rb"From \S+ +\S.*\d")
_ESCAPED_FROM = re.compile(rb">+From ")
_TAKEOUT_ENVELOPE = re.compile(rb"From (\d{1,20})@xxx ")
_BLANK = (b"\n", b"\r\n")
_SUBJECT_PREFIX = re.compile(
    r"^\s*((re|fwd?|aw|wg|sv|vs|vedr\.?|antw|tr|rif|enc|res)\s*(\[\d+\]|\(\d+\))?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr|enc)\s*[:：]", re.IGNORECASE)
_SNIFF_MESSAGES = 200
_ESTIMATE_BYTES = 8 * 1024 * 1024
_RAW_LIMIT = 256 * 1024
# In every message's fingerprint: bump it when a change here alters a message's record.
IMPORTER_VERSION = "mbox/1"


@dataclass
class _Chunk:
    index: int
    offset: int
    envelope: bytes | None
    data: bytes

    @property
    def position(self) -> str:
        return f"message {self.index} at byte {self.offset}"


def split_mbox(handle: BinaryIO) -> Iterator[_Chunk]:
    """The messages of an mbox stream, unescaping mboxrd/mboxo ">From " lines."""
    index, offset, start = 0, 0, 0
    envelope: bytes | None = None
    lines: list[bytes] = []
    previous_blank = True
    for line in handle:
        is_separator = line.startswith(b"From ") and (
            _SEPARATOR.match(line) is not None
            or (previous_blank and _LOOSE_SEPARATOR.match(line) is not None)
        )
        if is_separator:
            if envelope is not None or any(piece not in _BLANK for piece in lines):
                index += 1
                yield _Chunk(index, start, envelope, _without_separator_blank(lines))
            envelope, start, lines = line, offset, []
        elif line.startswith(b">") and _ESCAPED_FROM.match(line):
            lines.append(line[1:])
        else:
            lines.append(line)
        previous_blank = line in _BLANK
        offset += len(line)
    if envelope is not None or any(piece not in _BLANK for piece in lines):
        yield _Chunk(index + 1, start, envelope, _without_separator_blank(lines))


def _without_separator_blank(lines: list[bytes]) -> bytes:
    # The blank line before the next "From " belongs to the mbox format, not to the message.
    if lines and lines[-1] in _BLANK:
        lines = lines[:-1]
    return b"".join(lines)


class MboxImporter:
    """Reads an mbox file, one .eml file, or a folder of .eml / .mbox files.

    Options: ``account`` names the mailbox owner (else the most common Delivered-To / To
    address of the first messages); ``raw_limit`` is the largest message, in bytes, kept
    whole in ``ItemRecord.raw`` (larger ones keep their headers only).
    """

    name = "mbox"
    known_units: KnownUnits | None = None
    """Set by the runner: messages imported before, byte for byte, are not parsed again."""

    def __init__(self, path: Path, **options: object) -> None:
        self.path = Path(path)
        self.account = str(options["account"]) if options.get("account") else None
        self.raw_limit = int(str(options.get("raw_limit", _RAW_LIMIT)))
        # Units are named by content (a message's place moves as mail is added), so what
        # else shapes a record is the same for every message: the options.
        self._fingerprint = fingerprint(IMPORTER_VERSION, self.account, self.raw_limit)
        self._files = self._find_files()
        self._names: dict[str, str] = {}
        self._source: SourceInfo | None = None

    def _find_files(self) -> list[Path]:
        if self.path.is_dir():
            found = sorted(
                p
                for p in self.path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in (".eml", ".mbox")
                and not any(part.startswith(".") for part in p.relative_to(self.path).parts)
            )
            if not found:
                raise ImportFailed(
                    f"{self.path} holds no .eml or .mbox files: give an mbox file "
                    "(Takeout/Mail/*.mbox), one .eml file, or a folder of .eml files"
                )
            return found
        if not self.path.is_file():
            raise ImportFailed(f"{self.path} does not exist: give the path of an mbox or .eml file")
        return [self.path]

    # --- protocol ---------------------------------------------------------------------

    def source(self) -> SourceInfo:
        if self._source is None:
            account = self.account or self._sniff_account() or self.path.name
            self._source = SourceInfo(
                platform="email", kind="mbox", account=account, label=self.path.name
            )
        return self._source

    def estimate(self) -> int | None:
        if self.path.is_dir():
            return sum(
                1 if f.suffix.lower() == ".eml" else self._estimate_mbox(f) for f in self._files
            )
        return self._estimate_mbox(self._files[0])

    def read(self) -> Iterator[Record]:
        self._names = {}
        opened = 0
        failures: list[str] = []
        for file in self._files:
            try:
                handle = file.open("rb")
            except OSError as error:
                failures.append(f"{file}: {error.strerror or error}")
                if len(self._files) > 1:
                    reason = f"could not be opened ({error.strerror or error}): check permissions"
                    yield QuarantineRecord(
                        platform="email", file=str(file), position="whole file", reason=reason
                    )
                continue
            opened += 1
            with handle:
                try:
                    for chunk in self._chunks(file, handle):
                        yield from self._unit(file, chunk)
                except ImportFailed as error:
                    if len(self._files) == 1:
                        raise
                    yield QuarantineRecord(
                        platform="email", file=str(file), position="whole file", reason=str(error)
                    )
        if not opened:
            raise ImportFailed(
                f"could not open {'; '.join(failures)}: check the path and its permissions"
            )

    # --- files ------------------------------------------------------------------------

    def _chunks(self, file: Path, handle: BinaryIO) -> Iterator[_Chunk]:
        head = handle.read(4096)
        handle.seek(0)
        if head.startswith((b"PK\x03\x04", b"\x1f\x8b")):
            raise ImportFailed(
                f"{file} is a compressed archive: unpack it first and import the .mbox inside "
                "(a Google Takeout zip holds Takeout/Mail/All mail Including Spam and Trash.mbox)"
            )
        if file.suffix.lower() != ".eml" and _is_mbox(head):
            yield from split_mbox(handle)
        else:
            data = handle.read()
            if data.strip():
                yield _Chunk(1, 0, None, data)

    def _estimate_mbox(self, file: Path) -> int:
        try:
            size = file.stat().st_size
            with file.open("rb") as handle:
                sample = handle.read(_ESTIMATE_BYTES)
        except OSError:
            return 0
        if not _is_mbox(sample[:4096]):
            return 1
        lines = sample.split(b"\n")
        count = sum(1 for line in lines if line.startswith(b"From ") and _SEPARATOR.match(line))
        return max(1, count if len(sample) >= size else round(count * size / len(sample)))

    def _sniff_account(self) -> str | None:
        delivered: Counter[str] = Counter()
        to: Counter[str] = Counter()
        seen = 0
        for file in self._files:
            try:
                with file.open("rb") as handle:
                    for chunk in self._chunks(file, handle):
                        parse = BytesHeaderParser(policy=policy.compat32).parsebytes
                        headers = parse(chunk.data)
                        delivered.update(a for _, a in mime.addresses(headers, "delivered-to"))
                        to.update(a for _, a in mime.addresses(headers, "to"))
                        seen += 1
                        if seen >= _SNIFF_MESSAGES:
                            break
            except (OSError, ImportFailed):
                continue
            if seen >= _SNIFF_MESSAGES:
                break
        common = (delivered or to).most_common(1)
        return common[0][0] if common else None

    # --- messages ---------------------------------------------------------------------

    def _unit(self, file: Path, chunk: _Chunk) -> Iterator[Record]:
        # The envelope is part of the unit: it gives the Gmail id and, lacking a Date, the date.
        digest = hashlib.sha1(chunk.envelope or b"")
        digest.update(b"\0")
        digest.update(chunk.data)
        unit = f"sha1:{digest.hexdigest()}"
        count = known_count(self.known_units, unit, self._fingerprint)
        if count is not None:
            yield skipped(unit, self._fingerprint, count)
            return
        yield from finish_unit(unit, self._fingerprint, self._records(file, chunk))

    def _records(self, file: Path, chunk: _Chunk) -> Iterator[Record]:
        try:
            message = parse_message(chunk.data)
            if not is_email(message):
                reason = (
                    "no email headers (From, To, Subject, Date or Message-ID) found: this piece "
                    "is not an email; check that the file is an mbox or .eml export"
                )
                yield self._quarantine(file, chunk, reason)
                return
            item = message_item(message, chunk.data, chunk.envelope, self.raw_limit)
        except Exception as error:  # any failure stays with this one message
            reason = (
                f"the message could not be parsed ({type(error).__name__}: {error}); "
                "it is kept here unchanged, open it in a mail client to read it"
            )
            yield self._quarantine(file, chunk, reason)
            return
        people = ([item.author] if item.author else []) + item.recipients
        yield from self._identities(people)
        yield item

    def _quarantine(self, file: Path, chunk: _Chunk, reason: str) -> QuarantineRecord:
        return QuarantineRecord(
            platform="email",
            file=str(file),
            position=chunk.position,
            reason=reason,
            raw=chunk.data,
        )

    def _identities(self, people: Iterable[IdentityRef]) -> Iterator[IdentityRecord]:
        return identity_records(people, self._names)


def parse_message(data: bytes) -> Message:
    """One message's bytes (an mbox piece, an .eml, a Gmail ``format=raw`` body) parsed."""
    return BytesParser(policy=policy.compat32).parsebytes(data)


def is_email(message: Message) -> bool:
    return any(mime.raw_header_values(message, h) for h in _IDENTIFYING_HEADERS)


def identity_records(
    people: Iterable[IdentityRef], seen: dict[str, str]
) -> Iterator[IdentityRecord]:
    """IdentityRecords for people not yet in ``seen`` (address -> name), or newly named."""
    for person in people:
        name = person.display_name or ""
        if person.value in seen and (seen[person.value] or not name):
            continue
        seen[person.value] = name
        profile = {"email": person.value, **({"name": name} if name else {})}
        yield IdentityRecord(identity=person, platform="email", profile=profile)


def message_item(
    message: Message, data: bytes, envelope: bytes | None = None, raw_limit: int = _RAW_LIMIT
) -> ItemRecord:
    """The ItemRecord of one parsed message; shared by the mbox importer and Gmail sync.

    ``data`` is the message's bytes (kept in ``raw`` up to ``raw_limit``, and hashed into a
    Message-ID when it has none); ``envelope`` is its mbox "From " line, if any.
    """
    native: dict[str, str] = {}
    own_ids = mime.message_ids(" ".join(mime.raw_header_values(message, "message-id")))
    if own_ids:
        message_id = own_ids[0]
    else:
        message_id = f"{hashlib.sha256(data).hexdigest()[:32]}@threadline.local"
        native["synthetic_message_id"] = "1"
    native["message_id"] = message_id
    takeout = _TAKEOUT_ENVELOPE.match(envelope or b"")
    if takeout:
        # Takeout's envelope names the Gmail message id in decimal; the API spells it in hex.
        # Kept so a live Gmail sync can find this item when the message is deleted later.
        native["gmail_id"] = format(int(takeout.group(1)), "x")
    gmail_thread = (mime.header(message, "x-gm-thrid") or "").strip()
    if gmail_thread:
        native["gmail_thread_id"] = gmail_thread
    references = mime.message_ids(" ".join(mime.raw_header_values(message, "references")))
    in_reply_to = mime.message_ids(" ".join(mime.raw_header_values(message, "in-reply-to")))
    root = gmail_thread or (references or in_reply_to or [message_id])[0]
    thread_id = f"email-thread:{root}"

    subject = mime.header(message, "subject")
    senders = mime.addresses(message, "from") or mime.addresses(message, "sender")
    author = _ref(*senders[0]) if senders else None
    recipients = [_ref(*pair) for pair in mime.addresses(message, "to", "cc", "bcc")]
    when = _parse_date(mime.header(message, "date"))
    if when is None:
        when = _envelope_date(envelope)
        if when is not None:
            native["date_source"] = "mbox From line"

    body = mime.extract_body(mime.part_from_message(message))
    if body.problems:
        native["decode_problems"] = "; ".join(dict.fromkeys(body.problems))
    is_forward = bool(subject and _FORWARD_PREFIX.match(subject))
    # A body that is nothing but a header block or quotes is still better than nothing.
    text = trim_signature(trim_quoted_reply(body.text, is_forward=is_forward)) or body.text
    text = "\n".join(line.rstrip() for line in text.replace("\x00", "").split("\n")).strip()

    links = [LinkRef(kind="reply_to", target=ids.email_id(i)) for i in in_reply_to[:1]]
    links += [LinkRef(kind="thread", target=ids.email_id(r)) for r in references]
    links += [LinkRef(kind="reference", target=_url_target(u)) for u in extract_urls(text)]

    raw, raw_note = _raw_text(data, raw_limit)
    native.update(raw_note)
    return ItemRecord(
        platform="email",
        kind="email",
        canonical_id=ids.email_id(message_id),
        native=native,
        container_id=thread_id,
        container_name=_SUBJECT_PREFIX.sub("", subject).strip() if subject else None,
        thread_id=thread_id,
        author=author,
        recipients=recipients,
        created_at=when,
        occurred_at=when,
        title=subject,
        text=text,
        raw=raw,
        links=list(dict.fromkeys(links)),
        attachments=body.attachments,
        labels=_labels(message),
    )


_IDENTIFYING_HEADERS = ("from", "to", "subject", "date", "message-id")


def _is_mbox(head: bytes) -> bool:
    first = head.lstrip(b"\r\n").split(b"\n", 1)[0]
    return first.startswith(b"From ") and _LOOSE_SEPARATOR.match(first) is not None


def _ref(name: str, address: str) -> IdentityRef:
    return IdentityRef(kind="email", value=address, display_name=name or None)


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        # RFC 5322 "-0000" means "time zone unknown"; the time itself is UTC.
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)  # year 1 or 9999 with an offset overflows here
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


def _envelope_date(envelope: bytes | None) -> datetime | None:
    if not envelope:
        return None
    parts = envelope.decode("latin-1").strip().split(None, 2)
    if len(parts) < 3:
        return None
    try:
        parsed = dateutil_parser.parse(parts[2])
        # asctime envelopes carry no zone; mbox writers (Gmail included) write UTC.
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


# Read state is not content: kept, it would make a new version of every message read, and
# the Gmail sync (which leaves UNREAD out for that reason) would never converge with it.
READ_STATE_LABELS = frozenset({"unread", "opened"})


def _labels(message: Message) -> list[str]:
    labels: list[str] = []
    for value in mime.raw_header_values(message, "x-gmail-labels"):
        for row in csv.reader([value], skipinitialspace=True):
            labels.extend(mime.decode_header_value(label) for label in row if label.strip())
    kept = (label for label in labels if label and label.lower() not in READ_STATE_LABELS)
    return list(dict.fromkeys(kept))


def _url_target(url: str) -> str:
    parts = urlsplit(url)
    if (parts.hostname or "").endswith(("notion.so", "notion.site")):
        # "?p=<id>" is a page opened over a database; otherwise the id ends the path.
        peeked = parse_qs(parts.query).get("p", [""])[0]
        found = ids.find_notion_id(peeked) or ids.find_notion_id(parts.path)
        if found:
            return f"notion:{found}"
    return url


def _raw_text(data: bytes, limit: int) -> tuple[str, dict[str, str]]:
    note: dict[str, str] = {}
    if len(data) > limit:
        # Attachments would bloat the store; the headers and the decoded text are kept.
        end = data.find(b"\r\n\r\n")
        end = data.find(b"\n\n") if end < 0 else end
        head = data[: end if end >= 0 else min(len(data), limit)]
        data = head + b"\n\n[threadline: body of %d bytes not stored]\n" % len(data)
        note["raw_truncated"] = "1"
    try:
        return data.decode("utf-8"), note
    except UnicodeDecodeError:
        # Latin-1 maps every byte, so the original bytes stay recoverable.
        note["raw_encoding"] = "latin-1"
        return data.decode("latin-1"), note
