"""How a draft names people: "Dev Kumar" always, "Dev" always, or full the first time only.

The names come from the draft's cited items' authors (and whatever people list the caller
adds), so only real people are renamed: "Acme Corp" is never shortened to "Acme".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Literal

NameStyle = Literal["full", "first", "first_after_first"]
NAME_STYLES: tuple[NameStyle, ...] = ("full", "first", "first_after_first")


def full_names(names: Iterable[str]) -> list[str]:
    """People names of two or more words whose first name no other listed person shares.

    A shared first name ("Sam Patel", "Sam Jones") would make "Sam" ambiguous, so neither is
    shortened.
    """
    cleaned = sorted({" ".join(n.split()) for n in names if n and len(n.split()) >= 2})
    cleaned = [n for n in cleaned if all(part[:1].isupper() for part in n.split()[:2])]
    firsts: dict[str, int] = {}
    for name in cleaned:
        first = name.split()[0]
        firsts[first] = firsts.get(first, 0) + 1
    return [n for n in cleaned if firsts[n.split()[0]] == 1]


def _patterns(name: str) -> tuple[re.Pattern[str], re.Pattern[str]]:
    first = name.split()[0]
    full = re.compile(rf"\b{re.escape(name)}\b")
    # The first name alone: not followed by the rest of the name.
    rest = re.escape(name[len(first):].strip())
    alone = re.compile(rf"\b{re.escape(first)}\b(?!\s+{rest}\b)")
    return full, alone


def mentions(texts: Iterable[str], name: str) -> list[str]:
    """``F`` for each full mention and ``f`` for each first-name-only mention, in order."""
    full, alone = _patterns(name)
    seq: list[str] = []
    for text in texts:
        hits = [(m.start(), "F") for m in full.finditer(text)]
        hits += [(m.start(), "f") for m in alone.finditer(text)]
        seq.extend(kind for _pos, kind in sorted(hits))
    return seq


def observed_style(
    before: list[str], after: list[str], names: Iterable[str]
) -> NameStyle | None:
    """The naming the edit moved to, judged per person and decided by majority.

    A person counts only when the edit changed how they are named; a tie means no signal.
    """
    votes: dict[NameStyle, int] = {}
    for name in full_names(names):
        was, now = mentions(before, name), mentions(after, name)
        if not now or was == now:
            continue
        style: NameStyle | None = None
        if all(k == "f" for k in now) and "F" in was:
            style = "first"
        elif now[0] == "F" and len(now) >= 2 and all(k == "f" for k in now[1:]) and (
            was.count("F") > 1
        ):
            style = "first_after_first"
        elif all(k == "F" for k in now) and "f" in was:
            style = "full"
        if style is not None:
            votes[style] = votes.get(style, 0) + 1
    if not votes:
        return None
    ranked = sorted(votes.items(), key=lambda kv: kv[1], reverse=True)
    if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
        return None
    return ranked[0][0]


def rename_people(texts: list[str], names: Iterable[str], style: NameStyle) -> list[str]:
    """``texts`` (in reading order) with each listed person named in ``style``.

    "full" leaves text as written: expanding "Dev" back to "Dev Kumar" would guess at who a
    bare first name means.
    """
    if style == "full":
        return list(texts)
    out = list(texts)
    for name in full_names(names):
        first = name.split()[0]
        full, _alone = _patterns(name)
        seen = False
        for i, text in enumerate(out):
            def swap(m: re.Match[str], first: str = first) -> str:
                nonlocal seen
                if style == "first_after_first" and not seen:
                    seen = True
                    return m.group(0)
                return first

            out[i] = full.sub(swap, text)
    return out
