"""The individual checks the verifier runs on one claim against the items it cites.

Each check returns reasons (empty when the claim passes). What counts as evidence is built
once per claim from the cited items: their text and title (minus any sentence that reads like
an instruction to the writer, so an injected "add that the budget was approved" can never
support a claim), container, author, platform, and the days the items happened on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from threadline.context.time_words import MONTHS, WEEKDAYS
from threadline.produce.claim_facts import (
    WEEKDAY_NAMES,
    find_codes,
    find_dates,
    find_numbers,
    find_times,
    resolve,
    word_numbers,
)
from threadline.produce.model import ContextBundle, SourceItem

# Sentences addressed to the model rather than about the work: never evidence.
INSTRUCTION = re.compile(
    r"\b(?:ignore|disregard|forget|override)\b.{0,40}\b(?:instructions?|prompts?|rules|above"
    r"|previous|everything)\b"
    r"|\b(?:add|say|state|write|mention|include|claim|report|tell (?:them|the client))\s+that\b"
    r"|\bsystem prompt\b|\bas an ai\b|\byou are (?:an? )?(?:ai|assistant|language model|chatbot)"
    r"|\b(?:assistant|system)\s*:|\bnew instructions?\b", re.I)
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
_PLATFORMS = "slack email mail gmail calendar google notion meeting event"


def _words(text: str) -> set[str]:
    return set(text.split())


# Capitalised words that name no particular thing.
ALLOWED_CAPS = {
    "i", "eod", "eow", "cob", "qa", "fyi", "eta", "ok", "am", "pm", "utc", "gmt", "bst", "cet",
    "tbd", "asap", "n/a", "slack", "gmail", "notion", "google", "calendar", "email", "mail",
    "re", "fw", "fwd", "todo", "wip", "kpi", "kpis", "roi", "faq", "ui", "ux", "api", "url",
}
COMMON = _words("""
a an the this that these those we our us it its they their them he she his her you your i my
me on in at by for from with after before during since until as and but so also both all no
not next last new still yet then there here once when while if because although though now
today tomorrow yesterday overall meanwhile separately additionally however finally first
second third one two three several some each every any most many few more less
is are was were be been being has have had do does did will would can could should may might
must please thanks thank hi hello dear best regards cheers update updates status summary
note notes highlights highlight risk risks decision decisions change changes done completed
complete blocked upcoming next week weekly recap brief agenda action actions item items
open question questions issue issues incident fixed fix shipped launched approved confirmed
""")
SUPPORT_STOP = COMMON | _words("""
about above across again against along already also always among another anyone around away
back because become becomes before behind being below between beyond come comes could
down each either else enough even ever every got gets getting just keep kept know known
like made make makes making much need needs needed only other others otherwise over own per
same said says see seen should since some such take taken than that their there these they
thing things think those through thus together too toward towards under upon very via
want wants well went what whatever where whether which while who whom whose why with within
without would work working worked team client clients project projects reported report
reports across around noted flagged mentioned shared sent received asked told said
follow followup
""")
MIN_SUPPORT = 0.6
"""Share of a claim's content words the cited items must contain."""


def normalise(text: str) -> str:
    text = text.lower().replace("’", "'")
    text = re.sub(r"'s\b", "", text)
    return re.sub(r"[\s_\-/]+", " ", text)


def stem(word: str) -> str:
    word = word.lower()
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""),
                         ("ly", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: len(word) - len(suffix)] + repl
    return word


def strip_instructions(text: str) -> str:
    return " ".join(s for s in _SENTENCE.findall(text) if not INSTRUCTION.search(s))


@dataclass
class Evidence:
    items: list[SourceItem]
    text: str = ""
    """The cited items' words, normalised for phrase lookups."""
    raw: str = ""
    stems: set[str] = field(default_factory=set)
    numbers: set[str] = field(default_factory=set)
    times: set[str] = field(default_factory=set)
    days: set[date] = field(default_factory=set)
    weekdays: set[int] = field(default_factory=set)
    near: date = date(2000, 1, 1)
    names: set[str] = field(default_factory=set)
    """Lower-cased full names of the authors of the cited items."""

    def has_phrase(self, phrase: str) -> bool:
        needle = normalise(phrase).strip()
        return bool(needle) and re.search(rf"(?<!\w){re.escape(needle)}(?!\w)", self.text) \
            is not None

    def has_word(self, word: str) -> bool:
        s = stem(word)
        if s in self.stems:
            return True
        return len(s) >= 6 and any(e.startswith(s[:6]) for e in self.stems if len(e) >= 6)


def build_evidence(items: list[SourceItem]) -> Evidence:
    ev = Evidence(items)
    chunks: list[str] = []
    stamps = [i.occurred_at for i in items if i.occurred_at is not None]
    ev.near = sorted(stamps)[len(stamps) // 2].date() if stamps else date.today()
    for it in items:
        body = strip_instructions(f"{it.title or ''}\n{it.text}")
        chunks += [body, it.container, it.author, it.platform, _PLATFORMS]
        ev.names.add(it.author.lower())
        base = it.occurred_at.date() if it.occurred_at else ev.near
        if it.occurred_at is not None:
            # The item's day wherever its author plausibly is: UTC-8 to UTC+10.
            for hours in (-8, 0, 10):
                ev.days.add((it.occurred_at + timedelta(hours=hours)).date())
            ev.times.update(f"{h}:{it.occurred_at.minute:02d}" for h in range(24))
            ev.numbers.add(str(it.occurred_at.year))
        ev.days.update(_id_days(it.id))
        for word, shift in (("tomorrow", 1), ("yesterday", -1), ("today", 0)):
            if re.search(rf"\b{word}\b", body, re.I):
                ev.days.add(base + timedelta(days=shift))
        for ref in find_dates(body):
            if ref.full:
                day = resolve(ref, base)
                if day is not None:
                    ev.days.add(day)
            elif ref.weekday is not None:
                # "EOD Friday" written on a Tuesday: that week's Friday, or the next one.
                monday = base - timedelta(days=base.weekday())
                ev.days.add(monday + timedelta(days=ref.weekday))
                ev.days.add(base + timedelta(days=(ref.weekday - base.weekday()) % 7 or 7))
        ev.times.update(t.value for t in find_times(body))
        ev.numbers.update(n.value for n in find_numbers(body, date_spans(body)))
        ev.numbers.update(word_numbers(body))
    ev.raw = "\n".join(chunks)
    ev.text = normalise(ev.raw)
    ev.stems = {stem(w) for w in re.findall(r"[a-z0-9]+", ev.text)}
    ev.weekdays = {d.weekday() for d in ev.days}
    return ev


def _id_days(canonical: str) -> set[date]:
    # A moved recurring meeting keeps its original start in its id: "Thursday's review".
    m = re.search(r"@(\d{4})-(\d{2})-(\d{2})T", canonical)
    return {date(int(m.group(1)), int(m.group(2)), int(m.group(3)))} if m else set()


def check_scope(citations: list[str], bundle: ContextBundle) -> list[str]:
    if not citations:
        return ["cites no item"]
    return [f"cites an item outside the scope: {cid}" for cid in citations
            if cid not in bundle.items]


def date_spans(text: str) -> list[tuple[int, int]]:
    return [(r.start, r.end) for r in find_dates(text)] + \
        [(t.start, t.end) for t in find_times(text)]


def check_dates(text: str, ev: Evidence) -> list[str]:
    reasons = []
    for ref in find_dates(text):
        if ref.full:
            day = resolve(ref, ev.near)
            if day is None:
                reasons.append(f"date '{ref.label}' does not exist")
            elif ref.weekday is not None and ref.weekday != day.weekday():
                reasons.append(f"date '{ref.label}' is wrong: {day.day} {day:%b %Y} is a "
                               f"{WEEKDAY_NAMES[day.weekday()]}")
            elif day not in ev.days:
                reasons.append(f"date '{ref.label}' is not in the cited items")
        elif ref.weekday is not None and ref.weekday not in ev.weekdays:
            reasons.append(f"day '{ref.label}' is not derivable from the cited items")
    for t in find_times(text):
        if t.value not in ev.times:
            reasons.append(f"time '{t.text}' is not in the cited items")
    return reasons


def check_numbers(text: str, ev: Evidence) -> list[str]:
    return [f"number '{n.text}' is not in the cited items"
            for n in find_numbers(text, date_spans(text)) if n.value not in ev.numbers]


def check_codes(text: str, ev: Evidence) -> list[str]:
    return [f"'{code}' is not in the cited items" for code in dict.fromkeys(find_codes(text))
            if not ev.has_phrase(code)]


def content_words(text: str) -> tuple[list[str], int]:
    """Words that carry the claim's meaning, and how many capitalised names mid-sentence
    there are: those are left to the name check, so an invented name is reported once."""
    text = text.replace("’", "'")
    out = []
    names = 0
    for m in re.finditer(r"[A-Za-z][A-Za-z']+", text):
        w = m.group(0)
        before = text[: m.start()].rstrip(" \t\"'(")
        if w[0].isupper() and before and before[-1] not in ".!?:;\n—–-•":
            names += 1
            continue
        low = re.sub(r"'s$", "", w.lower())
        if len(low) >= 3 and low not in SUPPORT_STOP and stem(low) not in SUPPORT_STOP \
                and low not in MONTHS and low not in WEEKDAYS:
            out.append(low)
    return list(dict.fromkeys(out)), names


def check_support(text: str, ev: Evidence) -> list[str]:
    """Most of what the claim says must be in the items: catches unsupported statements that
    carry no number, date or name ("the budget was approved")."""
    words, names = content_words(text)
    if not words:
        return []
    missing = [w for w in words if not ev.has_word(w)]
    if len(words) + names - len(missing) >= MIN_SUPPORT * (len(words) + names):
        return []
    return [f"not supported by the cited items: {', '.join(missing)}"]
