"""Apply learned preferences to a freshly composed draft, before it is verified.

Everything here reshapes or removes what the composer wrote; nothing adds a fact. Sections are
removed, renamed, reordered and restyled; claims beyond a learned length are left out; phrases
the user always cuts are cut; people are named and dates written the way the user writes them;
long claims are trimmed at a clause boundary when the user prefers less detail. The user's own
words (greeting, sign-off, a line they always add before the sign-off or after the greeting)
go into ``Draft.greeting`` / ``Draft.sign_off``, never into a claim, so they need no citation
and the verifier never weighs them as facts. Lines the user adds inside a section are learned
and shown by ``threadline prefs`` but not applied: a Draft has no place for section-level user
text.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from datetime import date

from threadline.produce import date_styles, naming
from threadline.produce.edit_parse import norm
from threadline.produce.model import Claim, Draft, Section
from threadline.produce.preferences import Preference, Preferences

_BOUNDARY = re.compile(r";\s+|\s+[—–]\s+|\s+-\s+|:\s+|\s+\(|,\s+(?=which\b|so\b|and\b)")
# A clause starting like this qualifies what came before; cutting it would change the meaning.
_QUALIFIER = re.compile(
    r"^(but|except|unless|although|though|however|only|not|no|without|if)\b", re.IGNORECASE
)


def apply_preferences(
    draft: Draft, prefs: Preferences | Iterable[Preference] | None, *, names: Iterable[str] = ()
) -> Draft:
    """``draft`` reshaped by ``prefs`` (a copy; the input is not changed).

    ``names`` adds people to those the draft's cited items already name (their authors); pass
    the bundle's people so claims about someone who wrote nothing cited are named alike.
    """
    items = list(prefs.items if isinstance(prefs, Preferences) else prefs or [])
    out = draft.model_copy(deep=True)
    if not items:
        return out
    by_key = {p.key: p.value for p in items}
    out.sections = [s for s in out.sections if not by_key.get(f"section_removed:{s.key}")]
    cuts = [str(p.value) for p in items if p.kind == "cut_phrase" and p.value]
    detail = by_key.get("detail")
    for section in out.sections:
        _shape(section, by_key, cuts, detail)
    out.sections = _ordered(out.sections, by_key.get("section_order"))
    people = [s.author for s in out.sources.values()] + list(names)
    style = by_key.get("name_style")
    if style in naming.NAME_STYLES and style != "full":
        claims = [c for s in out.sections for c in s.claims]
        renamed = naming.rename_people([c.text for c in claims], people, style)
        for claim, text in zip(claims, renamed, strict=True):
            claim.text = text
    date_style = by_key.get("date_format")
    if isinstance(date_style, str) and verifier_reads(date_style):
        for claim in (c for s in out.sections for c in s.claims):
            claim.text = date_styles.rewrite_dates(claim.text, date_style, out.scope.start)
    _user_text(out, by_key, items)
    return out


def _shape(section: Section, by_key: dict[str, object], cuts: list[str], detail: object) -> None:
    title = by_key.get(f"section_title:{section.key}")
    if isinstance(title, str) and title.strip():
        section.title = title.strip()
    style = by_key.get(f"section_style:{section.key}")
    if style in ("bullets", "prose"):
        section.style = style
    claims: list[Claim] = []
    for claim in section.claims:
        text = claim.text
        for phrase in cuts:
            text = cut_phrase(text, phrase)
        if isinstance(detail, dict) and isinstance(detail.get("words_per_claim"), int):
            text = trim(text, detail["words_per_claim"])
        if norm(text):
            claim.text = text
            claims.append(claim)
    limit = by_key.get(f"section_length:{section.key}")
    if isinstance(limit, int) and limit > 0:
        # Claims come ranked from the composer: keep the first ones that would ship.
        shipped = {id(c) for c in [c for c in claims if c.status != "dropped"][:limit]}
        claims = [c for c in claims if c.status == "dropped" or id(c) in shipped]
    section.claims = claims


def cut_phrase(text: str, phrase: str) -> str:
    """``text`` without ``phrase`` (any case), with the commas around it tidied away."""
    words = re.findall(r"[\w'’/-]+", phrase)
    if not words:
        return text
    body = r"\W+".join(re.escape(w) for w in words)
    pattern = re.compile(rf"(?:,\s*)?(?<!\w){body}(?!\w)(?:\s*,)?", re.IGNORECASE)
    if not pattern.search(text):
        return text
    capital = text[:1].isupper()
    out = pattern.sub(" ", text)
    out = re.sub(r"\s+([,.;:!?])", r"\1", " ".join(out.split())).strip(" ,;:")
    if not re.search(r"\w", out):
        return ""  # the whole sentence was the phrase
    if capital and out:
        out = out[0].upper() + out[1:]
    return out


def trim(text: str, words: int) -> str:
    """``text`` cut at the first clause boundary past ``words`` words, when it is much longer.

    Only whole leading clauses are kept, and never one that a following "but"/"except"/"unless"
    qualifies, so what is kept says nothing the full claim did not.
    """
    if len(text.split()) <= words * 1.5:
        return text
    for m in _BOUNDARY.finditer(text):
        head = text[: m.start()].rstrip(" ,")
        if len(head.split()) < words:
            continue
        if _QUALIFIER.match(text[m.end():].lstrip()) or head.count("(") != head.count(")"):
            return text
        if head.count('"') % 2:
            continue
        return head if head.endswith((".", "!", "?")) else head + "."
    return text


@functools.cache
def verifier_reads(style: str) -> bool:
    """Whether the verifier's date reader understands dates written in ``style``.

    A date it cannot read is checked as two bare numbers ("20/11" → 20 and 11) and the claim
    would be dropped, so a style is applied only once the verifier reads it as the same day.
    """
    from threadline.produce.claim_facts import find_dates

    sample = date(2026, 11, 20)
    refs = find_dates(f"due {date_styles.format_date(sample, style)} at noon")
    return len(refs) == 1 and (refs[0].month, refs[0].day) == (11, 20)


def _ordered(sections: list[Section], order: object) -> list[Section]:
    """Sections the learned order names, in that order; any other section stays right after
    the section it followed in the composed draft (first, if it led)."""
    if not isinstance(order, list):
        return sections
    rank = {key: i for i, key in enumerate(order)}
    known = sorted((s for s in sections if s.key in rank), key=lambda s: rank[s.key])
    followers: dict[str | None, list[Section]] = {}
    anchor: str | None = None
    for section in sections:
        if section.key in rank:
            anchor = section.key
        else:
            followers.setdefault(anchor, []).append(section)
    out = list(followers.get(None, []))
    for section in known:
        out.append(section)
        out.extend(followers.get(section.key, []))
    return out


def _user_text(draft: Draft, by_key: dict[str, object], items: list[Preference]) -> None:
    if "greeting" in by_key:
        draft.greeting = str(by_key["greeting"] or "").strip() or None
    if "sign_off" in by_key:
        draft.sign_off = str(by_key["sign_off"] or "").strip() or None
    added = sorted((p for p in items if p.kind == "add_phrase" and isinstance(p.value, dict)),
                   key=lambda p: (p.id or 0, p.key))
    for pref in added:
        text = str(pref.value.get("text", "")).strip()
        where = pref.value.get("where")
        if not text:
            continue
        if where == "intro" and norm(text) not in norm(draft.greeting or ""):
            draft.greeting = f"{draft.greeting}\n\n{text}" if draft.greeting else text
        elif where == "outro" and norm(text) not in norm(draft.sign_off or ""):
            draft.sign_off = f"{text}\n\n{draft.sign_off}" if draft.sign_off else text
