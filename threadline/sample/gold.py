"""gold.json: what a correct weekly status update for each base client must and must not say.

One entry per base client per week::

    {"client": "Acme Corp", "week": "2026-W47",
     "must_mention": [{"fact": "...", "items": ["slack:C..:17..", "email:..", "event:..@.."]}],
     "must_not_mention": ["slack:..", ...]}

Rules for ``must_not_mention`` (decided here, relied on by evaluations):

- Every written item has a *scope*: ``client:<key>`` when it belongs to one client's context
  (that client's channel, its email threads, meetings, Notion pages and rows), else
  ``internal`` (#general, #random, #ops, DMs, the private group, newsletters, internal
  meetings, internal-only talk about a client such as overdue invoices or budget gossip).
- For client C in week W, ``must_not_mention`` lists every noted item of week W whose scope is
  not ``client:C``: the other clients' items, shared noise, bots, and internal-only chatter,
  including internal chatter *about C*.
- An item that mentions two clients belongs to the conversation it was posted in: a message in
  #alpha-campaign that says "same bug we fixed on the Acme Corp account" is Alpha's item (Alpha
  may cite it) and is listed as must-not for Acme; an #ops message naming both clients'
  invoices is internal, so must-not for both.
- Items in a client's own scope that support no fact (small talk in its channel) are neutral:
  neither required nor forbidden.
- Story items are filed under the week the storyline ran (an invite sent this week for next
  week's workshop counts for this week); noise under the week of its date; undated Notion pages
  (project pages, wiki) under every week.

Only the base clients (Acme Corp, Alpha Partners, Globex) get entries, and only items of the
base layer are noted, so gold.json stays the same size at every ``scale``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from threadline.sample.cast import Client
from threadline.sample.storykit import Fact

ALL_WEEKS = "*"


@dataclass
class GoldBook:
    clients: list[Client]
    weeks: list[str]

    def __post_init__(self) -> None:
        self._scoped: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        self._facts: dict[tuple[str, str], list[Fact]] = defaultdict(list)

    def note(self, canonical: str, week: str, scope: str) -> None:
        self._scoped[week][scope].add(canonical)

    def facts(self, week: str, facts: list[Fact]) -> None:
        for fact in facts:
            self._facts[(fact.client, week)].append(fact)

    def entries(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for client in self.clients:
            own = f"client:{client.key}"
            for week in self.weeks:
                forbidden: set[str] = set()
                for bucket in (self._scoped.get(week, {}), self._scoped.get(ALL_WEEKS, {})):
                    for scope, items in bucket.items():
                        if scope != own:
                            forbidden |= items
                facts = self._facts.get((client.key, week), [])
                cited = {i for f in facts for i in f.items}
                if cited & forbidden:
                    raise AssertionError(f"{client.name} {week}: a fact cites a forbidden item")
                out.append({
                    "client": client.name, "week": week,
                    "must_mention": [{"fact": f.text, "items": f.items} for f in facts],
                    "must_not_mention": sorted(forbidden),
                })
        return out

    def write(self, path: Path) -> int:
        entries = self.entries()
        path.write_text(json.dumps(entries, indent=2, ensure_ascii=False) + "\n",
                        encoding="utf-8")
        return len(entries)
