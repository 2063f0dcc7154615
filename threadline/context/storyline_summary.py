"""A storyline's summary from its items: title, status (with why), span, people, clients.

Status reads the latest items: a request to someone outside the user's domains that nobody
they are has answered makes it *waiting*; a finishing word ("fixed", "shipped", a Notion
status Done) among the last two messages makes it *resolved*; anything else is *open*.
Everything is a function of the member items, so a rebuild finds the same summary.

``weekly`` keeps, for each ISO week the storyline has items in, the status as it stood at
that week's end (from the items up to then): a week's note shows that, so items that come
later leave the notes of earlier weeks as they were.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any

from threadline.context.people_identity import IdentityRow
from threadline.context.storyline_text import (
    choose_title,
    cue_sentence,
    first_sentence,
    request_cue,
    resolved_cue,
    shorten,
)
from threadline.context.weeks import Week, week_of


def _day(moment: datetime, zone: tzinfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a} {local.day} {local:%b}"


def _quote(text: str, limit: int = 70) -> str:
    return shorten(first_sentence(text) or text, limit)


class _Who:
    """Tells people apart across platforms by address (Slack profiles carry one)."""

    def __init__(self, identities: Mapping[str, IdentityRow], own: frozenset[str]) -> None:
        self.identities = identities
        self.own = own

    def address(self, key: str) -> str:
        known = self.identities.get(key)
        found = known.addresses() if known else []
        return found[0] if found else key

    def domain(self, key: str) -> str | None:
        address = self.address(key)
        return address.rsplit("@", 1)[1] if "@" in address else None

    def name(self, key: str) -> str:
        known = self.identities.get(key)
        names = known.names() if known else []
        return names[0] if names else key.split(":", 1)[-1]

    def bot(self, key: str) -> bool:
        known = self.identities.get(key)
        return known is not None and known.never_merged

    def outside(self, key: str, author: str) -> bool:
        domain = self.domain(key)
        if domain is None or self.bot(key):
            return False
        if self.own:
            return domain not in self.own
        return domain != self.domain(author)

    def ours(self, key: str) -> bool:
        domain = self.domain(key)
        return not self.own or (domain is not None and domain in self.own)


class _Cues:
    """Each item's finishing and request phrases, found once for all the weeks' statuses."""

    def __init__(self) -> None:
        self.done: dict[int, str | None] = {}
        self.asks: dict[int, str | None] = {}

    def resolved(self, row: Any) -> str | None:
        if row.id not in self.done:
            self.done[row.id] = resolved_cue(row.text)
        return self.done[row.id]

    def request(self, row: Any) -> str | None:
        if row.id not in self.asks:
            self.asks[row.id] = request_cue(row.text)
        return self.asks[row.id]


def _status(
    rows: Sequence[Any], who: _Who, mentions: Mapping[str, list[str]], zone: tzinfo,
    cues: _Cues,
) -> tuple[str, str]:
    said = [r for r in rows if r.platform != "calendar"]
    resolved = None
    for n, row in enumerate(said):
        if cues.resolved(row):
            resolved = n
    for n in range(len(said) - 1, -1, -1):
        row = said[n]
        if resolved is not None and n < resolved:
            break
        cue = cues.request(row)
        author = row.author_key or ""
        if not cue or not who.ours(author):
            continue
        asked = row.recipients if row.platform == "email" else mentions.get(row.canonical_id, [])
        outside = [k for k in asked or [] if who.outside(k, author)]
        if not outside:
            continue
        addresses = {who.address(k) for k in outside}
        if any(who.address(r.author_key or "") in addresses for r in rows[rows.index(row) + 1:]):
            break
        since = _day(row.occurred_at, zone) if row.occurred_at else "?"
        return "waiting", f"waiting on {who.name(outside[0])} since {since}: '{_quote(cue)}'"
    if resolved is not None and resolved >= len(said) - 2:
        row = said[resolved]
        when = _day(row.occurred_at, zone) if row.occurred_at else "undated"
        cue = cues.resolved(row) or ""
        return "resolved", f"{cue} {when}: '{_quote(cue_sentence(row.text, cue))}'"
    latest = said[-1] if said else rows[-1]
    when = _day(latest.occurred_at, zone) if latest.occurred_at else "undated"
    return "open", f"last activity {when}: '{_quote(latest.title or latest.text)}'"


def summarize(
    rows: Sequence[Any],
    nodes: Sequence[Any],
    identities: Mapping[str, IdentityRow],
    clients: Mapping[int, list[tuple[str, bool]]],
    mentions: Mapping[str, list[str]],
    own: frozenset[str],
    zone: tzinfo = UTC,
) -> dict[str, Any]:
    """Title, status, span, people, clients and key terms of one storyline, from its items
    (``rows`` and their graph ``nodes``, both in time order)."""
    who = _Who(identities, own)
    live = [r for r, n in zip(rows, nodes, strict=True) if not n.noise] or list(rows)
    title = choose_title([(r.platform, r.title, r.text) for r in live])
    cues = _Cues()
    status, detail = _status(live, who, mentions, zone, cues)
    times = [n.time for n in nodes if n.time is not None]
    people: dict[str, dict[str, Any]] = {}
    for row in live:
        keys = [row.author_key] if row.author_key else []
        if row.platform in ("email", "calendar"):
            keys += [k for k in row.recipients or [] if isinstance(k, str)]
        for key in keys:
            known = identities.get(key)
            if who.bot(key):
                continue
            person = known.person_id if known else None
            ref = f"person:{person}" if person is not None else who.address(key)
            people.setdefault(ref, {"person": person, "key": key, "name": who.name(key)})
    named: Counter[str] = Counter()
    for row in rows:
        for name, _primary in clients.get(row.id, []):
            head, _sep, rest = name.partition(":")
            if head.isdigit():
                named[rest] += 1
    terms: Counter[str] = Counter(t for n in nodes if not n.noise for t in n.terms)
    return {
        "title": title,
        "status": status,
        "status_detail": detail,
        "first_at": min(times) if times else None,
        "last_at": max(times) if times else None,
        "participants": sorted(people.values(), key=lambda p: (p["name"], p["key"])),
        "clients": [name for name, _c in sorted(named.items(), key=lambda kv: (-kv[1], kv[0]))],
        "terms": [t for t, _c in sorted(terms.items(), key=lambda kv: (-kv[1], kv[0]))[:12]],
        "weekly": _weekly(rows, nodes, who, mentions, zone, cues),
    }


def _weekly(
    rows: Sequence[Any], nodes: Sequence[Any], who: _Who, mentions: Mapping[str, list[str]],
    zone: tzinfo, cues: _Cues,
) -> dict[str, list[Any]]:
    """For each week with an item: [status, status_detail, platforms] at that week's end."""
    weeks: dict[str, Week] = {}
    for row in rows:
        if row.occurred_at is not None:
            found = week_of(row.occurred_at)
            weeks.setdefault(found.label, found)
    out: dict[str, list[Any]] = {}
    for label, week in sorted(weeks.items()):
        end = week.end
        upto = [(r, n) for r, n in zip(rows, nodes, strict=True) if n.time is None or n.time < end]
        live = [r for r, n in upto if not n.noise] or [r for r, _n in upto]
        status, detail = _status(live, who, mentions, zone, cues)
        out[label] = [status, detail, sorted({r.platform for r, _n in upto})]
    return out
