"""The name check: every person, organisation and named thing in a claim is in its items.

People are known from the bundle (``bundle.people`` and the items' authors). A known full
name must be a cited item's author or appear in its text; a full name also passes when its
first name does ("Hi Tom," in a mail to Tom Baker: recipients live in the greeting). Other
capitalised names ("Alpha Partners", "Acme Website Relaunch", "GTM") must appear in the
cited items, case-insensitively. A capitalised word that only opens a sentence is checked
only when the workspace uses it as a proper noun, since "Completed" or "Heads" name nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from threadline.context.time_words import MONTHS, WEEKDAYS
from threadline.produce.claim_checks import ALLOWED_CAPS, COMMON, Evidence
from threadline.produce.claim_facts import CODE
from threadline.produce.model import ContextBundle

_WORD = r"[A-Z][A-Za-z0-9&’'\.\-]*[A-Za-z0-9&]|[A-Z]"
SEQUENCE = re.compile(rf"(?:{_WORD})(?:\s+(?:(?:of|&|de|van|von)\s+)?(?:{_WORD}))*")
_OPENERS = ".!?:;—–•(\n\"“*>|"
_DATE_WORDS = {w for w in (*MONTHS, *WEEKDAYS)} | {f"{w}'s" for w in WEEKDAYS}


@dataclass
class NameIndex:
    """What the bundle says about names: its people, and which words it uses as proper nouns."""

    people: set[str] = field(default_factory=set)
    by_first: dict[str, set[str]] = field(default_factory=dict)
    last_names: set[str] = field(default_factory=set)
    proper: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, bundle: ContextBundle) -> NameIndex:
        index = cls()
        names = [*bundle.people.values(), *(i.author for i in bundle.items.values())]
        for name in names:
            parts = name.split()
            if len(parts) >= 2 and all(p[:1].isupper() and p.isalpha() for p in parts):
                index.people.add(name)
                index.by_first.setdefault(parts[0], set()).add(name)
                index.last_names.add(parts[-1])
        for it in bundle.items.values():
            for m in SEQUENCE.finditer(f"{it.title or ''}\n{it.text}"):
                if not _sentence_initial(m.string, m.start()):
                    index.proper.update(w.lower() for w in m.group(0).split())
        return index


def _sentence_initial(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t'\"“‘[(")
    return not before or before[-1] in _OPENERS or before.endswith("- ")


def _clean(word: str) -> str:
    return re.sub(r"(?:['’]s|\.)$", "", word)


def _person_ok(full: str, ev: Evidence, index: NameIndex) -> bool:
    if full.lower() in ev.names or ev.has_phrase(full):
        return True
    first = full.split()[0]
    return len(index.by_first.get(first, ())) == 1 and ev.has_phrase(first)


def _first_ok(first: str, ev: Evidence, index: NameIndex) -> bool:
    return ev.has_phrase(first) or any(n.split()[0] == first.lower() for n in ev.names) or any(
        ev.has_phrase(full) for full in index.by_first.get(first, ()))


def _covered(words: list[str], ev: Evidence, index: NameIndex) -> bool:
    """Each run of the name is in the items, and no run pairs a first name with someone
    else's surname ("Tom Kumar" is not made of "Tom Baker" and "Dev Kumar")."""
    i = 0
    while i < len(words):
        for j in range(len(words), i, -1):
            if ev.has_phrase(" ".join(words[i:j])):
                if i and words[i - 1] in index.by_first and words[i] in index.last_names:
                    return False
                i = j
                break
        else:
            return False
    return True


def _strip_edges(words: list[str]) -> list[str]:
    while words and (words[0].lower() in COMMON or words[0].lower() in ALLOWED_CAPS):
        words = words[1:]
    while words and (words[-1].lower() in COMMON or words[-1].lower() in ALLOWED_CAPS):
        words = words[:-1]
    return words


def _runs(words: list[str]) -> list[list[str]]:
    """Split a capitalised run at date words: "Acme on Friday" is a name and a day."""
    runs: list[list[str]] = [[]]
    for w in words:
        if w.lower() in _DATE_WORDS or w.lower().rstrip(".") in _DATE_WORDS:
            runs.append([])
        else:
            runs[-1].append(w)
    return [r for r in runs if r]


def check_names(text: str, ev: Evidence, index: NameIndex) -> list[str]:
    reasons: list[str] = []
    text = CODE.sub(lambda m: " " * len(m.group(0)), text)
    for full in sorted(index.people, key=len, reverse=True):
        for m in re.finditer(rf"(?<!\w){re.escape(full)}(?!\w)", text):
            if not _person_ok(full, ev, index):
                reasons.append(f"person '{full}' is not in the cited items")
            text = text[:m.start()] + " " * len(full) + text[m.end():]
    for m in SEQUENCE.finditer(text):
        initial = _sentence_initial(text, m.start())
        for run_index, run in enumerate(_runs([_clean(w) for w in m.group(0).split()])):
            opens = initial and run_index == 0 and run[0] == _clean(m.group(0).split()[0])
            words = _strip_edges(run)
            if not words:
                continue
            name = " ".join(words)
            if len(words) == 1:
                word = words[0]
                if word in index.by_first:
                    if not _first_ok(word, ev, index):
                        reasons.append(f"person '{word}' is not in the cited items")
                    continue
                if opens and word == run[0] and word.lower() not in index.proper:
                    continue
                if not ev.has_phrase(word):
                    reasons.append(f"name '{word}' is not in the cited items")
                continue
            if ev.has_phrase(name) or _covered(words, ev, index):
                continue
            kind = "person" if words[0] in index.by_first and len(words) == 2 else "name"
            reasons.append(f"{kind} '{name}' is not in the cited items")
    return list(dict.fromkeys(reasons))
