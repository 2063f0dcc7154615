"""Real items from the sample workspace as SourceItems, for verifier and renderer tests.

Imports the generated exports into a SQLite store (about a second) and reads items back the
way a citation shows them. No accumulation: these tests need items, people and gold facts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.produce.model import ContextBundle, Draft, Scope, Section, SourceItem
from threadline.sample import FILES, generate_workspace
from threadline.store import open_store
from threadline.store.schema import identity, item

KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}


@dataclass
class Sample:
    items: dict[str, SourceItem]
    people: dict[str, str]
    gold: list[dict[str, Any]]

    def gold_week(self, client: str, week: str) -> dict[str, Any]:
        return next(g for g in self.gold if g["client"] == client and g["week"] == week)

    def bundle(self, ids: list[str], client: str = "Acme Corp") -> ContextBundle:
        scope = Scope(recipe="client-update", client=client, week="2026-W47",
                      start=datetime(2026, 11, 16, tzinfo=UTC),
                      end=datetime(2026, 11, 23, tzinfo=UTC))
        return ContextBundle(scope=scope, items={i: self.items[i] for i in ids}, sections=[],
                             people=self.people)


def load_sample(out: Path, weeks: int = 2) -> Sample:
    generate_workspace(out, seed=7, weeks=weeks, scale=1)
    engine = open_store(str(out / "t.db"))
    for platform, kind in KINDS.items():
        path = out / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    with engine.connect() as conn:
        people = {r.key: r.display_name for r in conn.execute(
            select(identity.c.key, identity.c.display_name)) if r.display_name}
        rows = conn.execute(select(
            item.c.canonical_id, item.c.platform, item.c.container_name, item.c.container_id,
            item.c.author_key, item.c.occurred_at, item.c.title, item.c.text, item.c.permalink,
        ).where(item.c.deleted.is_(False))).all()
    engine.dispose()
    items = {}
    for r in rows:
        author = people.get(r.author_key or "") or (r.author_key or "").split(":", 1)[-1]
        items[r.canonical_id] = SourceItem(
            id=r.canonical_id, platform=r.platform, container=r.container_name or r.container_id,
            author=author, occurred_at=r.occurred_at, title=r.title, text=r.text,
            permalink=r.permalink)
    gold = json.loads((out / FILES["gold"]).read_text())
    return Sample(items, people, gold)


def draft_of(bundle: ContextBundle, sections: list[Section], title: str = "Acme update") -> Draft:
    return Draft(scope=bundle.scope, title=title, sections=sections, composer="test")
