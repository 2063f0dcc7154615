"""Clients and projects: which items belong to which client, and by which rule.

How folding stays incremental (cost grows with the items folded, not with the store):

- Every item is placed by a pure function of its own facts and a small ``RuleContext``
  (``client_rules``), writing one ``item_client`` row per client with the rule and detail.
- Inference keeps an order-free summary of what it has seen (``client_inference``). The
  client list is derived from that summary each fold, so it never needs the items again.
- Every non-webmail domain gets its client row the moment it is first seen, as a hidden
  ``candidate`` until the evidence qualifies it (two-way mail, a shared meeting or channel,
  a channel named like it) or forever if it is the user's own domain. Items are placed
  under candidates too, so when a domain later qualifies (or stops being the user's own),
  only ``client.origin`` flips: no earlier item is looked at again. This replaces the
  reverse lookup by domain that the store cannot index (recipients are a JSON list).
- A Slack channel's inferred client can change when a new domain appears (``#acme-web``
  waits for ``acme.example``). The fold compares each channel's decision with the last one
  and re-places just that channel's items, found through the (platform, container_id)
  index. Notion placement reads only the item's own path, so it never changes later.
- A changed ``clients.yaml`` (by fingerprint) re-places every item folded so far, once:
  a user's edit may move anything, and is rare. The parsed file is kept in the store by
  the hash of its text (``clients_config_cache``), so an unchanged file is not parsed.

Public queries count only visible clients (origin ``config`` or ``inferred``).
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, delete, exists, func, select, update

from threadline.context.accumulate import watermark
from threadline.context.client_inference import (
    STATE_NAME,
    ClientSpec,
    InferenceState,
    derive,
    load_facts,
    resolve_own,
)
from threadline.context.client_rules import (
    ItemFacts,
    RuleContext,
    match_clients,
    match_projects,
)
from threadline.context.clients_config import ClientsConfig
from threadline.context.clients_config_cache import load_clients_cached
from threadline.paths import config_dir
from threadline.store.context_schema import (
    accumulation_state,
    client,
    item_client,
    item_project,
    project,
)
from threadline.store.schema import item
from threadline.store.upsert import insert_ignore

VISIBLE = ("config", "inferred")
_BATCH = 1000


def clients_path() -> Path:
    return config_dir() / "clients.yaml"


class ClientsFolder:
    name = "clients"

    def __init__(self, config: Path | ClientsConfig | None = None) -> None:
        self._source = config if config is not None else clients_path()
        self._config: ClientsConfig | None = (
            config if isinstance(config, ClientsConfig) else None
        )

    def config(self, conn: Connection) -> ClientsConfig:
        if self._config is None:
            assert isinstance(self._source, Path)
            self._config = load_clients_cached(conn, self._source)
        return self._config

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        config = self.config(conn)
        state = InferenceState.load(conn)
        facts = load_facts(conn, item_ids)
        for each in facts:
            state.observe(each)
        own = resolve_own(conn, state, config)
        specs, channel_map = derive(state, RuleContext(config), own)
        ctx = RuleContext(config, channel_map)
        ids = _sync_clients(conn, specs, now, state)
        _sync_config_projects(conn, config, ids, now)
        again: set[int] = set()
        changed = [
            cid
            for cid in set(channel_map) | set(state.channel_map)
            if list(channel_map.get(cid, [])) != list(state.channel_map.get(cid, []))
        ]
        if changed:
            again.update(
                conn.execute(
                    select(item.c.id).where(
                        item.c.platform == "slack", item.c.container_id.in_(changed)
                    )
                ).scalars()
            )
        fingerprint = config.fingerprint()
        mark = watermark(conn)
        if state.config != fingerprint and mark is not None:
            again.update(
                conn.execute(select(item.c.id).where(item.c.last_changed_at <= mark)).scalars()
            )
        _place(conn, facts, ctx, ids, now)
        rest = sorted(again - set(item_ids))
        for start in range(0, len(rest), _BATCH):
            _place(conn, load_facts(conn, rest[start : start + _BATCH]), ctx, ids, now)
        state.channel_map = {cid: list(decided) for cid, decided in channel_map.items()}
        state.config = fingerprint
        state.save(conn, now)

    def reset(self, conn: Connection) -> None:
        conn.execute(delete(item_project))
        conn.execute(delete(item_client))
        conn.execute(delete(project).where(project.c.origin != "config"))
        conn.execute(delete(client).where(client.c.origin != "config"))
        conn.execute(delete(accumulation_state).where(accumulation_state.c.name == STATE_NAME))


def _sync_clients(
    conn: Connection, specs: dict[str, ClientSpec], now: datetime, state: InferenceState
) -> dict[str, int]:
    """Make the client table match the derived list; returns name -> id.

    Most folds derive the very rows the last one wrote: then only names and ids are read,
    not every client's rules (600 clients' JSON is a fifth of a clients fold)."""
    wanted = {name: (spec.origin, spec.rules()) for name, spec in specs.items()}
    digest = hashlib.sha256(
        json.dumps(sorted(wanted.items()), sort_keys=True, default=str).encode()
    ).hexdigest()
    if state.clients == digest:
        return dict(conn.execute(select(client.c.name, client.c.id)).all())
    state.clients = digest
    columns = select(client.c.id, client.c.name, client.c.origin, client.c.rules)
    existing = {r.name: r for r in conn.execute(columns)}
    gone = [r.id for name, r in existing.items() if name not in specs]
    if gone:
        conn.execute(delete(item_client).where(item_client.c.client_id.in_(gone)))
        conn.execute(update(project).where(project.c.client_id.in_(gone)).values(client_id=None))
        conn.execute(delete(client).where(client.c.id.in_(gone)))
    new = []
    for name, (origin, rules) in wanted.items():
        old = existing.get(name)
        if old is None:
            new.append({"name": name, "origin": origin, "rules": rules, "created_at": now})
        elif old.origin != origin or old.rules != rules:
            conn.execute(
                update(client).where(client.c.id == old.id).values(origin=origin, rules=rules)
            )
    if new:
        conn.execute(client.insert(), new)
    if not new and not gone:
        return {name: r.id for name, r in existing.items()}
    return dict(conn.execute(select(client.c.name, client.c.id)).all())


def _sync_config_projects(
    conn: Connection, config: ClientsConfig, ids: dict[str, int], now: datetime
) -> None:
    wanted = {
        f"config:{rule.name}:{p.name}": {
            "key": f"config:{rule.name}:{p.name}", "name": p.name, "client_id": ids[rule.name],
            "origin": "config", "created_at": now,
        }
        for rule in config.clients
        for p in rule.projects
    }
    stale = select(project.c.id).where(project.c.origin == "config")
    if wanted:
        stale = stale.where(project.c.key.not_in(list(wanted)))
    conn.execute(delete(project).where(project.c.id.in_(stale.scalar_subquery())))
    insert_ignore(conn, project, list(wanted.values()), ["key"])


def _place(
    conn: Connection, facts: list[ItemFacts], ctx: RuleContext, ids: dict[str, int], now: datetime
) -> None:
    """Replace these items' client and project rows with what the rules say now."""
    if not facts:
        return
    item_ids = [f.id for f in facts]
    before = set(
        conn.execute(
            select(item_project.c.project_id).where(item_project.c.item_id.in_(item_ids))
        ).scalars()
    )
    conn.execute(delete(item_client).where(item_client.c.item_id.in_(item_ids)))
    conn.execute(delete(item_project).where(item_project.c.item_id.in_(item_ids)))
    client_rows: list[dict[str, Any]] = []
    project_hits: list[tuple[int, Any]] = []
    for each in facts:
        hits = match_clients(each, ctx)
        for hit in hits:
            if hit.client in ids:
                client_rows.append(
                    {"item_id": each.id, "client_id": ids[hit.client], "rule": hit.rule,
                     "detail": hit.detail}
                )
        project_hits.extend((each.id, p) for p in match_projects(each, ctx, hits))
    if client_rows:
        conn.execute(item_client.insert(), client_rows)
    projects = _ensure_projects(conn, [p for _i, p in project_hits], ids, now)
    rows = {(i, projects[p.key]): p.rule for i, p in project_hits}
    if rows:
        conn.execute(
            item_project.insert(),
            [{"item_id": i, "project_id": pid, "rule": rule} for (i, pid), rule in rows.items()],
        )
    emptied = before - {pid for _i, pid in rows}
    if emptied:
        still = select(item_project.c.project_id).where(
            item_project.c.project_id == project.c.id
        )
        conn.execute(
            delete(project).where(
                project.c.id.in_(emptied), project.c.origin != "config", ~exists(still)
            )
        )


def _ensure_projects(
    conn: Connection, hits: list[Any], ids: dict[str, int], now: datetime
) -> dict[str, int]:
    wanted = {
        hit.key: {
            "key": hit.key, "name": hit.name, "client_id": ids.get(hit.client or ""),
            "origin": "config" if hit.key.startswith("config:") else "inferred", "created_at": now,
        }
        for hit in hits
    }
    if not wanted:
        return {}
    insert_ignore(conn, project, list(wanted.values()), ["key"])
    stored = conn.execute(
        select(project.c.id, project.c.key, project.c.client_id).where(
            project.c.key.in_(list(wanted))
        )
    ).all()
    for row in stored:
        target = wanted[row.key]["client_id"]
        if row.client_id != target and target is not None:
            conn.execute(update(project).where(project.c.id == row.id).values(client_id=target))
    return {row.key: row.id for row in stored}


@dataclass
class ClientSummary:
    name: str
    origin: str
    rules: dict[str, Any]
    items: int = 0
    platforms: dict[str, int] = field(default_factory=dict)
    by_rule: dict[str, int] = field(default_factory=dict)


def list_clients(conn: Connection) -> list[ClientSummary]:
    """Visible clients with item counts per platform and per rule that placed them."""
    found = {
        r.id: ClientSummary(r.name, r.origin, r.rules)
        for r in conn.execute(
            select(client.c.id, client.c.name, client.c.origin, client.c.rules).where(
                client.c.origin.in_(VISIBLE)
            )
        )
    }
    rows = conn.execute(
        select(item_client.c.client_id, item.c.platform, item_client.c.rule, func.count())
        .join(item, item.c.id == item_client.c.item_id)
        .where(item_client.c.client_id.in_(list(found)))
        .group_by(item_client.c.client_id, item.c.platform, item_client.c.rule)
    ).all()
    for client_id, platform, rule, count in rows:
        summary = found[client_id]
        summary.items += count
        summary.platforms[platform] = summary.platforms.get(platform, 0) + count
        summary.by_rule[rule] = summary.by_rule.get(rule, 0) + count
    return sorted(found.values(), key=lambda s: (-s.items, s.name))


def items_for_client(
    conn: Connection,
    client_name: str,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[int]:
    """Item ids placed under this client, oldest first, optionally within [start, end)."""
    query = (
        select(item.c.id)
        .join(item_client, item_client.c.item_id == item.c.id)
        .join(client, client.c.id == item_client.c.client_id)
        .where(func.lower(client.c.name) == client_name.strip().lower())
        .order_by(item.c.occurred_at, item.c.id)
    )
    if start is not None:
        query = query.where(item.c.occurred_at >= start)
    if end is not None:
        query = query.where(item.c.occurred_at < end)
    return list(conn.execute(query).scalars())


def client_of_items(
    conn: Connection, item_ids: Sequence[int]
) -> dict[int, list[tuple[str, str, str]]]:
    """For each item, its visible clients as (client, rule, detail)."""
    found: dict[int, list[tuple[str, str, str]]] = defaultdict(list)
    for start in range(0, len(item_ids), _BATCH):
        rows = conn.execute(
            select(item_client.c.item_id, client.c.name, item_client.c.rule, item_client.c.detail)
            .join(client, client.c.id == item_client.c.client_id)
            .where(
                item_client.c.item_id.in_(list(item_ids[start : start + _BATCH])),
                client.c.origin.in_(VISIBLE),
            )
            .order_by(item_client.c.item_id, client.c.name)
        ).all()
        for item_id, name, rule, detail in rows:
            found[item_id].append((name, rule, detail))
    return dict(found)


def multi_client_items(conn: Connection) -> dict[int, list[str]]:
    """Items that belong to two or more visible clients, with those clients' names."""
    visible = (
        select(item_client.c.item_id, client.c.name)
        .join(client, client.c.id == item_client.c.client_id)
        .where(client.c.origin.in_(VISIBLE))
    ).subquery()
    several = (
        select(visible.c.item_id).group_by(visible.c.item_id).having(func.count() > 1)
    ).scalar_subquery()
    found: dict[int, list[str]] = defaultdict(list)
    rows = conn.execute(
        select(visible.c.item_id, visible.c.name)
        .where(visible.c.item_id.in_(several))
        .order_by(visible.c.item_id, visible.c.name)
    ).all()
    for item_id, name in rows:
        found[item_id].append(name)
    return dict(found)
