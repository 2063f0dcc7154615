"""Find secrets in text and mask them before the text leaves for a model or lands in a draft.

Workspaces leak credentials into chat and mail all the time: a pasted API key, "the staging
password is …", a card number in a billing thread. None of it may reach an external model or
a client deliverable. Each pattern names a kind; a match is replaced by ``[redacted: kind]``
and recorded as a ``Redaction`` naming the item it came from (never the secret itself).
Card numbers must pass the Luhn check and IBANs the mod-97 check, so order numbers,
timestamps and phone numbers stay readable.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from threadline.produce.model import (
    Claim,
    ContextBundle,
    ContextEntry,
    ContextSection,
    Draft,
    Redaction,
    SourceItem,
)


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int


@dataclass(frozen=True)
class _Pattern:
    kind: str
    regex: re.Pattern[str]
    group: int = 0
    """Which group is the secret: 0 the whole match, 1 the value after a label."""
    valid: Callable[[str], bool] | None = None


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_ok(raw: str) -> bool:
    digits = re.sub(r"\D", "", raw)
    # Known issuer prefixes only (Visa, Mastercard incl. 2-series, Amex, Discover, JCB,
    # Diners): timestamps like 20261111160704 start with 20 and are not in any range.
    issuer = re.match(r"4|5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)|3[47]|3(?:0[0-5]|[68])|6(?:011|5)"
                      r"|35", digits)
    return 13 <= len(digits) <= 19 and issuer is not None and len(set(digits)) > 1 \
        and luhn_ok(digits)


def _iban_ok(raw: str) -> bool:
    compact = re.sub(r"\s", "", raw).upper()
    if not 15 <= len(compact) <= 34:
        return False
    moved = compact[4:] + compact[:4]
    number = "".join(str(int(ch, 36)) for ch in moved)
    return int(number) % 97 == 1


def _has_non_letter(value: str) -> bool:
    return any(not ch.isalpha() for ch in value)


# A value already masked is not masked again.
_LABEL_VALUE = r"\s*(?:[:=]|is)\s*[\"'`]?(?!\[redacted)([^\s\"'`,;]{4,})"

PATTERNS: tuple[_Pattern, ...] = (
    _Pattern("private-key", re.compile(
        r"-----BEGIN [A-Z ]*PRIVATE KEY-----(?:[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"
        r"|[\s\S]*)")),
    _Pattern("api-key", re.compile(r"\bsk-(?:proj-|ant-|live-|test-)?[A-Za-z0-9_\-]{20,}")),
    _Pattern("api-key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{16,}")),
    _Pattern("api-key", re.compile(r"\bxox[abposr]-[A-Za-z0-9\-]{10,}")),
    _Pattern("api-key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")),
    _Pattern("api-key", re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}|\bgithub_pat_[A-Za-z0-9_]{30,}")),
    _Pattern("api-key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}")),
    _Pattern("api-key", re.compile(r"\bglpat-[A-Za-z0-9_\-]{20,}")),
    _Pattern("token", re.compile(
        r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}")),
    _Pattern("token", re.compile(r"(?i)\bbearer\s+([A-Za-z0-9\-._~+/]{16,}=*)"), group=1),
    _Pattern("api-key", re.compile(
        r"(?i)\b(?:api[_\- ]?key|api[_\- ]?secret|secret[_\- ]?key|client[_\- ]?secret"
        r"|access[_\- ]?token|auth[_\- ]?token|secret)" + _LABEL_VALUE), group=1,
        valid=_has_non_letter),
    # "password is reset weekly" is prose; a value after "is" must look like a password.
    _Pattern("password", re.compile(r"(?i)\b(?:password|passwd|pwd|passcode|pw)\s*[:=]\s*"
                                    r"[\"'`]?(?!\[redacted)([^\s\"'`,;]{3,})"), group=1),
    _Pattern("password", re.compile(r"(?i)\b(?:password|passcode)\s+is\s+[\"'`]?"
                                    r"(?!\[redacted)([^\s\"'`,;]{4,})"), group=1,
             valid=_has_non_letter),
    _Pattern("card-number", re.compile(r"(?<![\w.@/:\-])(?:\d[ \-]?){12,18}\d(?![\w@]|\.\d)"),
             valid=_card_ok),
    _Pattern("iban", re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"),
             valid=_iban_ok),
)

MASK = "[redacted: {kind}]"


def find_secrets(text: str) -> list[Finding]:
    """Every secret in ``text``, left to right, overlaps resolved in favour of the first."""
    found: list[Finding] = []
    for pattern in PATTERNS:
        for match in pattern.regex.finditer(text):
            value = match.group(pattern.group)
            if pattern.valid is not None and not pattern.valid(value):
                continue
            found.append(Finding(pattern.kind, match.start(pattern.group),
                                 match.end(pattern.group)))
    found.sort(key=lambda f: (f.start, -(f.end - f.start)))
    kept: list[Finding] = []
    for finding in found:
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


def mask(text: str, item: str = "") -> tuple[str, list[Redaction]]:
    """``text`` with every secret replaced, and one Redaction per secret naming ``item``."""
    findings = find_secrets(text)
    if not findings:
        return text, []
    parts: list[str] = []
    cursor = 0
    for f in findings:
        parts.append(text[cursor:f.start])
        parts.append(MASK.format(kind=f.kind))
        cursor = f.end
    parts.append(text[cursor:])
    return "".join(parts), [Redaction(kind=f.kind, item=item) for f in findings]


def redact_item(source: SourceItem) -> tuple[SourceItem, list[Redaction]]:
    text, found = mask(source.text, source.id)
    title, in_title = mask(source.title, source.id) if source.title else (source.title, [])
    if not found and not in_title:
        return source, []
    return source.model_copy(update={"text": text, "title": title}), in_title + found


def _redact_entry(entry: ContextEntry) -> tuple[ContextEntry, list[Redaction]]:
    summary, found = mask(entry.summary, entry.items[0] if entry.items else "")
    return (entry.model_copy(update={"summary": summary}) if found else entry), found


def redact_bundle(bundle: ContextBundle) -> tuple[ContextBundle, list[Redaction]]:
    """A copy of the bundle safe to send out: item texts, titles and summaries masked."""
    found: list[Redaction] = []
    items: dict[str, SourceItem] = {}
    for key, source in bundle.items.items():
        items[key], in_item = redact_item(source)
        found += in_item
    sections: list[ContextSection] = []
    for section in bundle.sections:
        entries = []
        for entry in section.entries:
            clean, in_entry = _redact_entry(entry)
            entries.append(clean)
            found += in_entry
        sections.append(section.model_copy(update={"entries": entries}))
    previous = redact_draft(bundle.previous) if bundle.previous is not None else None
    update = {"items": items, "sections": sections, "previous": previous}
    return bundle.model_copy(update=update), found


def redact_draft(draft: Draft) -> Draft:
    """The draft with secrets masked in every claim and in the sources it shows; each one
    recorded in ``draft.report.redactions``."""
    found: list[Redaction] = []
    sections = []
    for section in draft.sections:
        claims: list[Claim] = []
        for claim in section.claims:
            text, in_claim = mask(claim.text, claim.citations[0] if claim.citations else "")
            claims.append(claim.model_copy(update={"text": text}) if in_claim else claim)
            found += in_claim
        sections.append(section.model_copy(update={"claims": claims}))
    sources: dict[str, SourceItem] = {}
    for key, source in draft.sources.items():
        sources[key], in_source = redact_item(source)
        found += in_source
    report = draft.report.model_copy(update={"redactions": [*draft.report.redactions, *found]})
    return draft.model_copy(update={"sections": sections, "sources": sources, "report": report})
