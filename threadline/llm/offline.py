"""The offline composer: a draft written without any model, deterministically.

It writes what a person would send, not pasted messages: a storyline becomes one statement
that gives the outcome first, then the cause, then the follow-up meeting with the people in
it; relative words ("this morning", "tomorrow") become the dates they meant, taken from the
item's own time; greetings, sign-offs and calendar boilerplate are cut. Every claim cites the
items its sentences came from, and says nothing those items do not say, so the verifier
can check each date, number and name against them.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from threadline.llm.base import ComposerSettings
from threadline.produce.model import (
    Claim,
    ContextBundle,
    ContextEntry,
    Draft,
    Scope,
    Section,
    SourceItem,
)
from threadline.produce.rank import OUTCOME, RISK

_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`@\"'(])")
_SKIP_LINE = re.compile(
    r"^(?:hi|hello|hey|dear|thanks|thank you|cheers|best|regards|kind regards|sent from)\b"
    r"|^(?:when|where|organizer|attendees|from|to|date|subject|cc):|^-{3,}|^>"
    r"|^timeline attached", re.IGNORECASE)
_OPENER = re.compile(
    r"^(?:flagging|heads-up|fyi|update|note|reminder)\s*:\s*|^a friendly reminder that\s+"
    r"|^just a (?:quick )?reminder that\s+|^summary of [^:]+:\s*", re.IGNORECASE)
_RELATIVE = {"this morning": 0, "today": 0, "this afternoon": 0, "tonight": 0,
             "yesterday": -1, "tomorrow": 1}
_RELATIVE_RE = re.compile(r"(\b(?:since|from|until|by)\s+)?\b(" + "|".join(_RELATIVE)
                          + r")('s)?\b", re.IGNORECASE)
_LEADING_MENTIONS = re.compile(r"^(?:@[A-Z][\w'-]*(?: [A-Z][\w'-]*)?[,:]?\s+)+")
_NEEDS = re.compile(r"\b(?:need(?:s|ed)?\b.*\bby|without it|otherwise)\b", re.IGNORECASE)
_ATTENDEES = re.compile(r"^Attendees:\s*(.+)$", re.MULTILINE)
_ORGANIZER = re.compile(r"^Organizer:\s*.*?<[^@>]+@([^>]+)>", re.MULTILINE)
_PERSON = re.compile(r"([^,<]+?)\s*<[^@>]+@([^>]+)>")
_FIELD = re.compile(r"^([A-Z][\w ]{1,30}):\s*(.+)$", re.MULTILINE)
_PHRASE = re.compile(r'\("(.+?)"\)')
_TITLE_PREFIX = re.compile(r"^(?:(?:re|fwd?|reminder)\s*:\s*)+", re.IGNORECASE)
TITLES = {"since_last": "Since the last update"}


def day(moment: datetime) -> str:
    """Wednesday 18 Nov."""
    return f"{moment:%A} {moment.day} {moment:%b}"


def sentences(text: str) -> list[str]:
    """The sentences of an item worth quoting: no greetings, sign-offs or headers."""
    kept: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("-•* ").strip()
        if len(line) < 3 or _SKIP_LINE.search(line) or (len(line.split()) <= 2
                                                        and not line.endswith(".")):
            continue
        line = re.sub(r"@(?=[A-Z])", "", _LEADING_MENTIONS.sub("", line))
        for part in _SENTENCE.split(line):
            part = _OPENER.sub("", part.strip())
            if len(part) >= 12:
                kept.append(part[0].upper() + part[1:])
    return kept


def dated(sentence: str, source: SourceItem) -> str:
    """Relative day words replaced by the day they meant, from the item's own time."""
    moment = source.occurred_at
    if moment is None:
        return sentence

    def swap(match: re.Match[str]) -> str:
        shown = day(moment + timedelta(days=_RELATIVE[match.group(2).lower()]))
        if match.group(1):
            return f"{match.group(1)}{shown}"
        return f"the {shown}" if match.group(3) else f"on {shown}"

    return _RELATIVE_RE.sub(swap, sentence)


def finish(text: str) -> str:
    text = " ".join(text.split()).strip()
    if len(text) > 420:
        text = text[:417].rsplit(" ", 1)[0] + "…"
    return text if text.endswith((".", "!", "?", "…")) else text + "."


def topic(title: str | None) -> str:
    clean = _TITLE_PREFIX.sub("", (title or "").strip()).rstrip(".")
    return clean[:1].upper() + clean[1:] if clean else ""


class Writer:
    """Claims for one bundle: looks items up, names people, keeps citations honest."""

    def __init__(self, bundle: ContextBundle) -> None:
        self.bundle = bundle

    def sources(self, ids: list[str]) -> list[SourceItem]:
        found = [self.bundle.items[i] for i in ids if i in self.bundle.items]
        return sorted(found, key=lambda s: (s.occurred_at or datetime.min, s.id))

    def claim(self, entry: ContextEntry, section: str) -> Claim | None:
        kind = entry.kind
        if section in ("next_steps", "agenda"):
            return self.next_step(entry, section)
        maker = {"storyline": self.storyline, "risk": self.risk, "decision": self.decision,
                 "change": self.change, "upcoming": self.upcoming,
                 "attendees": self.attendees}.get(kind)
        made = maker(entry) if maker else None
        if made is None:
            return None
        text, cites = made
        if section == "since_last":
            label = "Resolved" if entry.detail.get("resolved_since") else "New"
            text = f"{label}: {text[0].lower() + text[1:]}"
        return Claim(text=finish(text), citations=cites)

    # -- one kind each ----------------------------------------------------------------

    def storyline(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        items = self.sources(entry.items)
        if not items:
            return None
        name = topic(str(entry.detail.get("title") or items[0].title or ""))
        said: list[tuple[str, SourceItem]] = [
            (s, src) for src in items if src.platform in ("slack", "email", "notion")
            for s in sentences(src.text)
        ]
        outcome = next(((s, src) for s, src in reversed(said) if OUTCOME.search(s)), None)
        cause = next(((s, src) for s, src in said if outcome is None or s != outcome[0]), None)
        parts, cites = [], []
        if outcome:
            parts.append(dated(outcome[0], outcome[1]))
            cites.append(outcome[1].id)
        if cause and (outcome is None or cause[1].id != outcome[1].id or len(parts) < 1):
            parts.append(dated(cause[0], cause[1]))
            cites.append(cause[1].id)
        meeting = next((src for src in reversed(items) if src.platform == "calendar"), None)
        if meeting is not None:
            parts.append(self.meeting_line(meeting, "Followed up in"))
            cites.append(meeting.id)
        if not parts:
            return None
        lead = f"{name}: " if name and not parts[0].lower().startswith(name.lower()[:20]) else ""
        body = " ".join(finish(p) for p in parts)
        return lead + body, _unique([*cites, items[0].id])

    def meeting_line(self, meeting: SourceItem, verb: str) -> str:
        when = meeting.occurred_at
        people = self.guests(meeting)
        with_ = f" with {_join(people)}" if people else ""
        at = f" on {day(when)}" if when else ""
        return f"{verb} the {meeting.title or 'meeting'}{at}{with_}"

    def guests(self, meeting: SourceItem) -> list[str]:
        """Attendees from outside the organiser's domain; everyone when none are."""
        listed = _ATTENDEES.search(meeting.text)
        if not listed:
            return []
        people = _PERSON.findall(listed.group(1))
        home = _ORGANIZER.search(meeting.text)
        outside = [n.strip() for n, dom in people if home and dom.strip() != home.group(1)]
        return outside or [n.strip() for n, _ in people if n.strip() != meeting.author]

    def risk(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        items = self.sources(entry.items)
        if not items:
            return None
        if all(i.platform == "notion" for i in items):
            return self.row_due(entry, items[0])
        phrase = _PHRASE.search(entry.summary)
        picked: list[tuple[str, SourceItem]] = []
        for src in sorted(items, key=lambda s: s.platform != "email"):
            for s in sentences(src.text):
                hit = RISK.search(s) or _NEEDS.search(s) or (
                    phrase and phrase.group(1).lower() in s.lower())
                if hit and not any(_similar(s, p) for p, _ in picked):
                    picked.append((s, src))
                    break
        if not picked:
            row = next((i for i in items if i.platform == "notion"), None)
            return self.row_due(entry, row) if row else self.storyline(entry)
        picked = picked[:2]
        text = " ".join(finish(dated(s, src)) for s, src in picked)
        return text, _unique([src.id for _, src in picked])

    def row_due(self, entry: ContextEntry, row: SourceItem) -> tuple[str, list[str]]:
        fields = dict(_FIELD.findall(row.text))
        status = fields.get("Status", "").strip()
        owner = fields.get("Assignee", "").strip()
        due = fields.get("Due", "").strip()
        name = topic(row.title) or "A task"
        text = f"{name} is due {due}" if due else entry.summary
        extra = ", ".join(x for x in (status.lower() if status else "", owner) if x)
        return (f"{text} ({extra})" if extra else text), [row.id]

    def decision(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        items = self.sources(entry.items)
        if not items:
            return None
        said = entry.summary.removeprefix("Decision: ").strip()
        src = items[0]
        when = f" on {day(src.occurred_at)}" if src.occurred_at else ""
        who = f", confirmed by {src.author}" if src.author else ""
        logged = next((s for s in items if s.platform == "notion"), None)
        tail = f" and logged in Notion ({logged.title})" if logged and logged.title else ""
        return f"Decision{when}{who}{tail}: {said}", [s.id for s in items]

    def change(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        items = self.sources(entry.items)
        if not items:
            return None
        src = items[0]
        done = re.match(r"Completed: (.+?) \(Status: (.+)\)$", entry.summary)
        if done:
            fields = dict(_FIELD.findall(src.text))
            owner = fields.get("Assignee", "").strip()
            when = f" on {day(src.occurred_at)}" if src.occurred_at else ""
            by = f" by {owner}" if owner else ""
            return f"{done.group(1)} was marked {done.group(2)} in Notion{when}{by}", [src.id]
        text = entry.summary
        cites = [src.id, *self.supporting(src, text)]
        return ("The " + text if text[:1].isupper() and " moved " in text else text), cites

    def supporting(self, src: SourceItem, text: str) -> list[str]:
        """Items of the same storyline that say what a calendar change summary says (the
        message asking to move the meeting), so the claim cites its reason too."""
        if not src.storyline:
            return []
        words = {w for w in re.findall(r"[a-z]{4,}", text.lower())}
        mates = [i for i in self.bundle.items.values()
                 if i.storyline == src.storyline and i.id != src.id]
        scored = sorted(mates, key=lambda i: -len(words & set(re.findall(r"[a-z]{4,}",
                                                                         i.text.lower()))))
        return [i.id for i in scored[:2]
                if len(words & set(re.findall(r"[a-z]{4,}", i.text.lower()))) >= 2]

    def upcoming(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        items = self.sources(entry.items)
        event = next((s for s in items if s.platform == "calendar"), None)
        if event is None or entry.when is None:
            return None
        people = [self.bundle.people.get(k, k.split(":", 1)[-1])
                  for k in entry.detail.get("attendees", [])]
        people = [p for p in people if p != event.author] or people
        shown = _join(people[:5] + ([f"{len(people) - 5} others"] if len(people) > 5 else []))
        title = str(entry.summary.rsplit(":", 3)[0]) if ":" in entry.summary else event.title
        with_ = f" with {shown}" if shown else ""
        return (f"{title} on {day(entry.when)} at {entry.when:%H:%M} UTC{with_}",
                [event.id])

    def attendees(self, entry: ContextEntry) -> tuple[str, list[str]] | None:
        names = [self.bundle.people.get(k, k.split(":", 1)[-1])
                 for k in entry.detail.get("attendees", [])]
        if not names or not entry.items:
            return None
        return f"Attending: {_join(sorted(set(names)))}", entry.items[:1]

    def next_step(self, entry: ContextEntry, section: str) -> Claim | None:
        if entry.kind == "upcoming":
            made = self.upcoming(entry)
            if made is None:
                return None
            return Claim(text=finish(f"Next meeting: {made[0]}"), citations=made[1])
        made = self.risk(entry) if entry.kind == "risk" else self.storyline(entry)
        if entry.kind == "decision":
            made = self.decision(entry)
        if made is None:
            return None
        verb = "Discuss" if section == "agenda" else "Follow up"
        lead = topic(str(entry.detail.get("title") or "")) or made[0].split(".")[0]
        return Claim(text=finish(f"{verb}: {lead}"), citations=made[1])


def _similar(a: str, b: str) -> bool:
    wa, wb = set(a.lower().split()), set(b.lower().split())
    return len(wa & wb) >= 0.6 * min(len(wa), len(wb))


def _unique(ids: list[str]) -> list[str]:
    return list(dict.fromkeys(ids))


def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def draft_title(scope: Scope, recipe: Any) -> str:
    who = scope.client or "All clients"
    label = {"client-update": "weekly update", "weekly-digest": "weekly digest",
             "meeting-brief": "meeting brief", "project-recap": "project recap"}.get(
        scope.recipe, scope.recipe.replace("-", " "))
    when = scope.week or f"{scope.start:%d %b %Y} – {scope.end:%d %b %Y}"
    subject = f" — {scope.project}" if scope.project else ""
    return f"{who}{subject}: {label}, {when}"


class OfflineComposer:
    name = "offline"

    def __init__(self, settings: ComposerSettings | None = None) -> None:
        self.settings = settings or ComposerSettings()

    def compose(self, bundle: ContextBundle, recipe: Any, preferences: Any) -> Draft:
        writer = Writer(bundle)
        by_key = {s.key: s for s in recipe.sections}
        sections: list[Section] = []
        for found in bundle.sections:
            base, _, client = found.key.partition(":")
            spec = by_key.get(base)
            title = spec.title if spec else TITLES.get(base, base.replace("_", " ").title())
            claims = [c for e in found.entries if (c := writer.claim(e, base)) is not None]
            if not claims:
                continue
            sections.append(Section(
                key=found.key, title=f"{client} — {title}" if client else title,
                claims=claims, style=spec.style if spec else "bullets",
            ))
        client_facing = getattr(recipe, "audience", "client") == "client"
        return Draft(
            scope=bundle.scope, title=draft_title(bundle.scope, recipe),
            greeting="Hi all," if client_facing else None,
            sections=sections, composer=self.name,
        )
