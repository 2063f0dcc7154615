"""What a user changed when they edited a draft, as observations learning can count.

``diff_edit(draft, before, after)`` reads the composed Markdown and the edited Markdown (see
``edit_parse``), lines sections up with the draft's section keys, and reports: sections renamed,
reordered, removed, restyled (bullets ↔ prose) and shortened; greeting and sign-off changes;
how people are named; phrases cut from sentences that were otherwise kept; lines the user
added; the date style; and whether claims got shorter. ``EditDiff.observations()`` turns that
into (key, value) pairs with a one-line excerpt each, which ``learn`` counts across edits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Any

from pydantic import BaseModel, Field

from threadline.produce import date_styles, naming
from threadline.produce.edit_parse import ParsedDoc, ParsedSection, norm, parse_markdown, sentences
from threadline.produce.model import Draft

KEPT = 0.6
"""Share of a composed sentence's words an edited sentence must hold for it to count as kept."""
SHORTER = 0.75
"""Words per claim falling below this share of the composed draft's reads as 'less detail'."""
MAX_PHRASE_WORDS = 6
MAX_ADDED_WORDS = 30
_STOP = {"the", "a", "an", "and", "of", "to", "in", "on", "for", "is", "are", "was", "with",
         "at", "by", "it", "this", "that", "be", "as", "or"}


class Observation(BaseModel):
    key: str
    value: Any
    excerpt: str
    """What the user did, in one line: 'renamed "Highlights" → "This week"'."""


class SectionChange(BaseModel):
    key: str
    before_title: str
    after_title: str | None
    """None when the section was removed."""
    before_style: str | None
    after_style: str | None
    claims: int
    kept: int
    words_before: int = 0
    """Words of the composed sentences that were kept."""
    words_after: int = 0


class AddedLine(BaseModel):
    text: str
    where: str
    """intro (after the greeting), outro (before the sign-off) or section:<key>."""


class EditDiff(BaseModel):
    sections: list[SectionChange] = Field(default_factory=list)
    order_before: list[str] = Field(default_factory=list)
    order_after: list[str] = Field(default_factory=list)
    greeting: tuple[str | None, str | None] = (None, None)
    sign_off: tuple[str | None, str | None] = (None, None)
    name_style: str | None = None
    cut_phrases: list[str] = Field(default_factory=list)
    added: list[AddedLine] = Field(default_factory=list)
    date_style: str | None = None

    def observations(self) -> list[Observation]:
        out: list[Observation] = []
        for s in self.sections:
            if s.after_title is None:
                out.append(Observation(key=f"section_removed:{s.key}", value=True,
                                       excerpt=f'removed section "{s.before_title}"'))
                continue
            if s.after_title != s.before_title:
                out.append(Observation(key=f"section_title:{s.key}", value=s.after_title,
                                       excerpt=f'renamed "{s.before_title}" → "{s.after_title}"'))
            if s.after_style and s.before_style and s.after_style != s.before_style:
                out.append(Observation(
                    key=f"section_style:{s.key}", value=s.after_style,
                    excerpt=f'"{s.after_title}": {s.before_style} → {s.after_style}'))
            if 0 < s.kept < s.claims:
                out.append(Observation(
                    key=f"section_length:{s.key}", value=s.kept,
                    excerpt=f'"{s.after_title}": kept {s.kept} of {s.claims} claims'))
        if self.order_after and _reordered(self.order_before, self.order_after):
            out.append(Observation(key="section_order", value=self.order_after,
                                   excerpt="order " + " > ".join(self.order_after)))
        for key, (was, now) in (("greeting", self.greeting), ("sign_off", self.sign_off)):
            if norm(was or "") != norm(now or ""):
                out.append(Observation(key=key, value=now or "",
                                       excerpt=f"{key}: {_q(was)} → {_q(now)}"))
        if self.name_style:
            out.append(Observation(key="name_style", value=self.name_style,
                                   excerpt=f"people named: {self.name_style}"))
        for phrase in self.cut_phrases:
            out.append(Observation(key=f"cut_phrase:{norm(phrase)[:100]}", value=phrase,
                                   excerpt=f"cut {_q(phrase)}"))
        for line in self.added:
            out.append(Observation(key=f"add_phrase:{norm(line.text)[:100]}",
                                   value={"text": line.text, "where": line.where},
                                   excerpt=f"added {_q(line.text)} ({line.where})"))
        if self.date_style:
            out.append(Observation(
                key="date_format", value=self.date_style,
                excerpt=f"dates written like {date_styles.EXAMPLES[self.date_style]!r}"))
        kept = [s for s in self.sections if s.after_title is not None and s.kept]
        before_words = sum(s.words_before for s in kept)
        claims = sum(s.kept for s in kept)
        after_words = sum(s.words_after for s in kept)
        if claims >= 2 and before_words and after_words < SHORTER * before_words:
            per = max(1, round(after_words / claims))
            out.append(Observation(
                key="detail", value={"words_per_claim": per},
                excerpt=f"claims cut from ~{round(before_words / claims)} to ~{per} words"))
        return out


def _q(text: str | None) -> str:
    return "(none)" if not text else '"' + " ".join(text.split()) + '"'


def _reordered(before: list[str], after: list[str]) -> bool:
    common = [k for k in after if k in before]
    return common != [k for k in before if k in common]


def _tokens(text: str) -> set[str]:
    return {t for t in text.split() if t not in _STOP}


def coverage(part: str, whole: str) -> float:
    """Share of ``part``'s words (compared as keys, see ``_key``) that ``whole`` holds."""
    words = _tokens(part)
    return len(words & _tokens(whole)) / len(words) if words else 0.0


def same_claim(before: str, after: str) -> bool:
    """Whether ``after`` is ``before`` kept: most of its words, or a shortening of it."""
    return coverage(before, after) >= KEPT or (
        len(_tokens(after)) >= 3 and coverage(after, before) >= 0.8
    )


class _Keyer:
    """Compares sentences the way the user sees them: a restyled date or a shortened name is
    the same sentence."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def __call__(self, text: str) -> str:
        renamed = naming.rename_people([text], self.names, "first")[0]
        return norm(date_styles.mask_dates(renamed))


def people_names(draft: Draft, extra: Iterable[str] = ()) -> list[str]:
    """The people a draft can mention: its cited items' authors, plus ``extra``."""
    return naming.full_names([s.author for s in draft.sources.values()] + list(extra))


def diff_edit(draft: Draft, before: str, after: str, *, names: Iterable[str] = ()) -> EditDiff:
    """What changed from the composed Markdown ``before`` to the user's ``after``."""
    people = people_names(draft, names)
    key = _Keyer(people)
    bp = parse_markdown(before, greeting=draft.greeting, sign_off=draft.sign_off)
    ap = parse_markdown(after, greeting=draft.greeting, sign_off=draft.sign_off)
    _drop_user_text(draft, bp, key)
    _drop_user_text(draft, ap, key)
    keys = _section_keys(draft, bp)
    pairs = _match_sections(bp, ap, key)
    diff = EditDiff(greeting=(bp.greeting, ap.greeting), sign_off=(bp.sign_off, ap.sign_off))
    diff.order_before = keys
    after_order = sorted((a, keys[b]) for b, a in pairs.items())
    diff.order_after = [k for _a, k in after_order]
    for i, section in enumerate(bp.sections):
        diff.sections.append(_section_change(keys[i], section, ap, pairs.get(i), key))
    before_units = [u for s in bp.sections for u in s.units]
    after_units = [u for b in ap.intro for u in b.units] + [u for s in ap.sections for u in s.units]
    diff.name_style = naming.observed_style(before_units, after_units, people)
    diff.date_style = date_styles.observed_style(" \n".join(before_units), " \n".join(after_units))
    diff.cut_phrases = _cut_phrases(before_units, after_units, key, people)
    diff.added = _added_lines(bp, ap, pairs, keys, key)
    return diff


def _drop_user_text(draft: Draft, doc: ParsedDoc, key: _Keyer) -> None:
    """Lines the draft carries as the user's own text (an applied closing line) are not claims."""
    user = {key(s) for part in (draft.greeting, draft.sign_off) if part
            for s in sentences(part.replace("\n", " "))}
    user.discard("")
    for blocks in [doc.intro] + [s.blocks for s in doc.sections]:
        for block in blocks:
            block.units = [u for u in block.units if key(u) not in user]
        blocks[:] = [b for b in blocks if b.units]


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_") or "section"


def _section_keys(draft: Draft, doc: ParsedDoc) -> list[str]:
    """The draft's section key for each composed section, by title, else by position."""
    shown = [s for s in draft.sections if any(c.status != "dropped" for c in s.claims)]
    free = list(shown)
    keys: list[str] = []
    for section in doc.sections:
        found = next((s for s in free if norm(s.title) == norm(section.title)), None)
        if found is None:
            found = next(iter(free), None)
        if found is not None:
            free.remove(found)
        keys.append(found.key if found else _slug(section.title))
    return keys


def _match_sections(bp: ParsedDoc, ap: ParsedDoc, key: _Keyer) -> dict[int, int]:
    """Composed section index → edited section index: same title, else most sentences kept."""
    pairs: dict[int, int] = {}
    for i, b in enumerate(bp.sections):
        for j, a in enumerate(ap.sections):
            if j not in pairs.values() and norm(a.title) == norm(b.title):
                pairs[i] = j
                break
    scores: list[tuple[int, int, int]] = []
    for i, b in enumerate(bp.sections):
        if i in pairs:
            continue
        for j, a in enumerate(ap.sections):
            if j in pairs.values():
                continue
            kept = _kept_count(b, a, key)
            if kept:
                scores.append((kept, -i, j))
    for kept, neg_i, j in sorted(scores, reverse=True):
        if -neg_i not in pairs and j not in pairs.values() and kept:
            pairs[-neg_i] = j
    return pairs


def _kept_count(b: ParsedSection, a: ParsedSection, key: _Keyer) -> int:
    after = [key(u) for u in a.units]
    return sum(1 for u in b.units if any(same_claim(key(u), x) for x in after))


def _section_change(
    skey: str, b: ParsedSection, ap: ParsedDoc, j: int | None, key: _Keyer
) -> SectionChange:
    change = SectionChange(key=skey, before_title=b.title, after_title=None,
                           before_style=b.style, after_style=None,
                           claims=len(b.units), kept=0)
    if j is None:
        return change
    a = ap.sections[j]
    after = [key(u) for u in a.units]
    kept = [u for u in b.units if any(same_claim(key(u), x) for x in after)]
    change.after_title, change.after_style = a.title, a.style
    change.kept = len(kept)
    change.words_before = sum(len(u.split()) for u in kept)
    change.words_after = sum(len(u.split()) for u in a.units)
    return change


def _words(text: str) -> list[str]:
    return re.findall(r"[\w'’/-]+", text)


def _cut_phrases(
    before: list[str], after: list[str], key: _Keyer, people: list[str]
) -> list[str]:
    """Short runs of words deleted from sentences that otherwise stayed, and whole short
    boilerplate sentences deleted (no digits, dates or names: those are content)."""
    after_keys = [key(u) for u in after]
    firsts = {n.split()[0].lower() for n in people}
    cut: list[str] = []
    for unit in before:
        k = key(unit)
        best = max(range(len(after_keys)), key=lambda j: coverage(k, after_keys[j]), default=None)
        if best is None or not same_claim(k, after_keys[best]):
            words = _words(unit)
            if (len(words) <= 12 and not re.search(r"\d", unit)
                    and not date_styles.find_dates(unit)
                    and not any(n in unit for n in people)):
                cut.append(" ".join(unit.split()).rstrip("."))
            continue
        was, now = k.split(), after_keys[best].split()
        for op, i1, i2, _j1, _j2 in SequenceMatcher(a=was, b=now, autojunk=False).get_opcodes():
            span = was[i1:i2]
            if op != "delete" or not 1 <= len(span) <= MAX_PHRASE_WORDS:
                continue
            if all(w in _STOP or w.startswith("date") or w in firsts or w.isdigit()
                   for w in span):
                continue
            cut.append(_original_span(unit, span) or " ".join(span))
    return list(dict.fromkeys(cut))


def _original_span(unit: str, span: list[str]) -> str | None:
    """The deleted words as the composed sentence wrote them (its capitals, its hyphens)."""
    pattern = r"\W+".join(re.escape(w) for w in span)
    m = re.search(rf"(?<!\w){pattern}(?!\w)", unit, re.IGNORECASE)
    return m.group(0) if m else None


def _added_lines(
    bp: ParsedDoc, ap: ParsedDoc, pairs: dict[int, int], keys: list[str], key: _Keyer
) -> list[AddedLine]:
    """Sentences in the edit that no composed sentence accounts for, with where they went."""
    before = [key(u) for b in bp.intro for u in b.units] + [
        key(u) for s in bp.sections for u in s.units
    ]
    section_of = {j: keys[i] for i, j in pairs.items()}

    def new(unit: str) -> bool:
        k = key(unit)
        return len(unit.split()) <= MAX_ADDED_WORDS and bool(k) and not any(
            same_claim(b, k) or coverage(k, b) >= KEPT for b in before
        )

    added = [AddedLine(text=u, where="intro") for b in ap.intro for u in b.units if new(u)]
    last = len(ap.sections) - 1
    for j, section in enumerate(ap.sections):
        where = f"section:{section_of.get(j, _slug(section.title))}"
        # Blocks after the last one holding composed text, in the last section, close the
        # whole message rather than the section.
        holds = [i for i, b in enumerate(section.blocks) if not all(new(u) for u in b.units)]
        for i, block in enumerate(section.blocks):
            place = "outro" if j == last and holds and i > max(holds) else where
            added.extend(AddedLine(text=u, where=place) for u in block.units if new(u))
    return added
