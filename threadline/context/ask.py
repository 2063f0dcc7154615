"""``threadline ask``: a short answer from the store in which every sentence cites its items.

The offline writer is extractive and deterministic: it picks the sentences of the retrieved
items that carry the question's key words, prefers stated decisions (the timeline's
``decision`` facts) and resolutions ("fixed", "agreed", "let's go with"), drops repeats and
tells them in time order, each with its source. A language-model writer can replace it
through ``AnswerWriter``: it gets the same evidence, and whatever it writes is kept only
where it cites that evidence. With no evidence that shares the question's key words, the
answer says so instead of guessing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from typing import Any, Protocol

from sqlalchemy import Connection, select

from threadline.context.retrieve import content_terms, retrieve
from threadline.context.time_words import parse_time_words
from threadline.store.context_schema import client, fact
from threadline.store.search import ItemView, item_views, words

# Words that say what kind of answer is wanted, not what it is about.
_INTENT_TEXT = (
    "decide decided decision decisions agree agreed discuss discussed status update updates "
    "latest news plan plans think going current currently"
)
INTENT = frozenset(_INTENT_TEXT.split())
_RESOLUTION = re.compile(
    r"\b(fix(ed)?|resolved|agreed|decided|decision|let'?s go with|go with|shipped|done|"
    r"went live|approved|signed off|confirmed|chose|picked|moved to|instead)\b",
    re.I,
)
_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_QUOTED = re.compile(r"^(>|On .+ wrote:$|From:|Sent:|To:|Subject:|When:|Where:|Organizer:|"
                     r"Attendees:|Status:|Assignee:|Due:|Last edited time:|Client:)")
MAX_SENTENCES = 4
MAX_ITEMS = 6
RETRIEVE = 8


@dataclass(frozen=True)
class Evidence:
    view: ItemView
    score: float
    via: str
    decisions: tuple[str, ...]


@dataclass(frozen=True)
class Claim:
    """One sentence of an answer and the items (canonical ids) it rests on."""

    text: str
    cites: tuple[str, ...]


class AnswerWriter(Protocol):
    """Writes the answer's sentences from the evidence; each must cite evidence items."""

    def write(self, question: str, key_terms: list[str], evidence: list[Evidence]) -> list[Claim]:
        ...


@dataclass
class Source:
    n: int
    canonical_id: str
    platform: str
    container: str | None
    author: str | None
    date: str | None
    permalink: str | None

    def as_json(self) -> dict[str, Any]:
        return {"n": self.n, "id": self.canonical_id, "platform": self.platform,
                "container": self.container, "author": self.author, "date": self.date,
                "permalink": self.permalink}


@dataclass
class Answer:
    question: str
    found: bool
    sentences: list[tuple[str, list[int]]] = field(default_factory=list)
    sources: list[Source] = field(default_factory=list)

    def text(self) -> str:
        return " ".join(f"{s} {''.join(f'[{n}]' for n in cites)}".strip()
                        for s, cites in self.sentences)

    def as_json(self) -> dict[str, Any]:
        return {"question": self.question, "found": self.found, "answer": self.text(),
                "sentences": [{"text": s, "cites": c} for s, c in self.sentences],
                "sources": [s.as_json() for s in self.sources]}


def stem(word: str) -> str:
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def key_terms(question: str, today: date, client_name: str | None = None) -> list[str]:
    rest, _ = parse_time_words(question, today)
    skip = INTENT | {w.lower() for w in words(client_name or "")}
    return [t for t in content_terms(rest) if t not in skip]


def covered(text: str, keys: list[str]) -> int:
    stems = {stem(w) for w in words(text)}
    return sum(1 for k in keys if stem(k) in stems)


def ask(
    conn: Connection,
    question: str,
    *,
    client_name: str | None = None,
    today: date | None = None,
    tz: tzinfo = UTC,
    writer: AnswerWriter | None = None,
) -> Answer:
    today = today or datetime.now(tz).date()
    client_name = client_name or named_client(conn, question)
    found = retrieve(conn, question, client_name=client_name, limit=RETRIEVE, today=today, tz=tz)
    keys = key_terms(question, today, client_name)
    views = item_views(conn, [h.item_id for h in found.hits])
    decisions = _decisions(conn, list(views))
    # Half the key words, and never one alone when more were asked about: one shared word
    # ("budget") is a coincidence, not evidence.
    need = min(len(keys), max(2, math.ceil(len(keys) / 2)))
    evidence = [
        Evidence(views[h.item_id], h.score, h.via, tuple(decisions.get(h.item_id, [])))
        for h in found.hits
        if h.item_id in views
        and covered(f"{views[h.item_id].title or ''} {views[h.item_id].text}", keys) >= need
    ]
    claims = (writer or ExtractiveWriter(tz)).write(question, keys, evidence) if evidence else []
    answer = _cite(question, claims, evidence, tz)
    if not answer.sentences:
        topic = " ".join(keys) or " ".join(content_terms(question)) or question.strip()
        answer = Answer(question, False, [(f"I found nothing in the store about {topic}.", [])])
    return answer


def named_client(conn: Connection, question: str) -> str | None:
    """The one visible client the question names ("what did Acme decide"), if exactly one."""
    said = f" {' '.join(words(question.lower()))} "
    names = conn.execute(
        select(client.c.name).where(client.c.origin.in_(("config", "inferred")))
    ).scalars()
    named = [n for n in names if f" {' '.join(words(n.lower()))} " in said]
    return named[0] if len(named) == 1 else None


def _decisions(conn: Connection, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    rows = conn.execute(
        select(fact.c.item_id, fact.c.value).where(
            fact.c.kind == "decision", fact.c.item_id.in_(ids), fact.c.expired_at.is_(None)
        )
    )
    for item_id, value in rows:
        if value:
            out.setdefault(item_id, []).append(value)
    return out


def _cite(question: str, claims: list[Claim], evidence: list[Evidence], tz: tzinfo) -> Answer:
    """Number the cited items in order of first citation; drop claims citing nothing known."""
    known = {e.view.canonical_id: e.view for e in evidence}
    answer = Answer(question, True)
    numbers: dict[str, int] = {}
    for claim in claims:
        cites = [c for c in claim.cites if c in known]
        if not cites or not claim.text.strip():
            continue
        for cid in cites:
            if cid not in numbers:
                numbers[cid] = len(numbers) + 1
                v = known[cid]
                answer.sources.append(Source(
                    numbers[cid], cid, v.platform, where(v), v.author_name or v.author_key,
                    v.occurred_at.astimezone(tz).date().isoformat() if v.occurred_at else None,
                    v.permalink,
                ))
        answer.sentences.append((claim.text.strip(), [numbers[c] for c in cites]))
    return answer


def where(view: ItemView) -> str | None:
    if view.platform in ("calendar", "notion") and view.title:
        return view.title
    return view.container_name or view.container_id


class ExtractiveWriter:
    """The offline writer: the items' own best sentences, in time order, one source each."""

    def __init__(self, tz: tzinfo = UTC) -> None:
        self.tz = tz

    def write(self, question: str, key_terms: list[str], evidence: list[Evidence]) -> list[Claim]:
        wants_decision = bool(set(words(question.lower())) & INTENT)
        scored: list[tuple[float, int, str, Evidence]] = []
        for rank, ev in enumerate(evidence[:MAX_ITEMS]):
            for sentence in sentences(ev.view):
                hits = covered(sentence, key_terms)
                decided = any(_same(sentence, d) for d in ev.decisions)
                resolved = bool(_RESOLUTION.search(sentence))
                if not hits and not decided and key_terms:
                    continue
                score = hits + 2.0 * decided + (1.0 + wants_decision) * resolved + ev.score
                scored.append((score, rank, sentence, ev))
        scored.sort(key=lambda s: (-s[0], s[1]))
        kept: list[tuple[str, Evidence]] = []
        for _score, _rank, sentence, ev in scored:
            if len(kept) == MAX_SENTENCES:
                break
            if any(_same(sentence, other) for other, _ev in kept):
                continue
            kept.append((sentence, ev))
        kept.sort(key=lambda k: (k[1].view.occurred_at is None, k[1].view.occurred_at or 0))
        return [Claim(self._render(s, ev.view), (ev.view.canonical_id,)) for s, ev in kept]

    def _render(self, sentence: str, view: ItemView) -> str:
        who = view.author_name or view.author_key or "someone"
        when = view.occurred_at.astimezone(self.tz).strftime("%Y-%m-%d") if view.occurred_at else ""
        said = sentence.rstrip().rstrip(":;,")
        if said[-1:] not in ".!?":
            said += "."
        lead = f"On {when}, {who}" if when else who
        return f"{lead} ({view.platform}, {where(view)}): {said}"


def sentences(view: ItemView) -> list[str]:
    """The item's own sentences, without quoted replies and header lines."""
    out = []
    if view.title and view.platform == "notion":
        out.append(view.title.strip())
    for line in view.text.splitlines():
        line = line.strip().lstrip("-*•").strip()
        if not line or _QUOTED.match(line):
            continue
        for part in _SENTENCE.split(line):
            part = " ".join(part.split())
            if len(part.split()) >= 3:
                out.append(part[:400])
    return out


def _same(a: str, b: str) -> bool:
    wa, wb = {stem(w) for w in words(a)}, {stem(w) for w in words(b)}
    if not wa or not wb:
        return False
    return len(wa & wb) / min(len(wa), len(wb)) >= 0.8
