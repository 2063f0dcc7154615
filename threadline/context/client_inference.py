"""Inferring clients from the data: email and calendar domains, Slack channels, Notion pages.

What inference has seen is kept as a small, order-free summary (``InferenceState``, one JSON
row in ``accumulation_state``): per email domain the set of signals seen (it sent mail, it
received mail from another domain, it met another organisation in a calendar event, it
spoke in a Slack Connect channel), the Slack channels and whether they are shared, the
pages under a Notion "Clients" page, and item counts per author (to find the user). Sets
only grow and counts only add, so any order of arrival reaches the same summary, and
``derive`` turns the summary into the same client list a rebuild would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from threadline.connectors.notion_tree import WORKSPACE, split_name
from threadline.context.client_rules import (
    WEBMAIL,
    ItemFacts,
    Participant,
    RuleContext,
    channel_token,
    label_of,
    notion_client_page,
    readable,
)
from threadline.context.clients_config import ClientsConfig, channel_key
from threadline.ids import normalize_notion_id
from threadline.store.context_schema import accumulation_state
from threadline.store.schema import identity, item
from threadline.store.upsert import insert_or_update

STATE_NAME = "clients"
_QUALIFYING = {"met": "met in a calendar event", "shared": "in a Slack Connect channel"}
_TRUE = ("1", "true", "True", True)


@dataclass
class InferenceState:
    domains: dict[str, list[str]] = field(default_factory=dict)
    authors: dict[str, int] = field(default_factory=dict)
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)
    notion_clients: dict[str, str] = field(default_factory=dict)
    channel_map: dict[str, list[str]] = field(default_factory=dict)
    """What the last fold decided for each channel, to see which decisions changed."""
    config: str | None = None
    own: dict[str, Any] = field(default_factory=dict)
    clients: str | None = None
    """A digest of the client rows the last fold wrote, to skip rewriting the same ones."""

    @classmethod
    def load(cls, conn: Connection) -> InferenceState:
        detail = conn.execute(
            select(accumulation_state.c.detail).where(accumulation_state.c.name == STATE_NAME)
        ).scalar()
        return cls(**detail) if isinstance(detail, dict) else cls()

    def save(self, conn: Connection, now: datetime) -> None:
        row = {"name": STATE_NAME, "watermark": None, "updated_at": now, "detail": self.__dict__}
        insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at", "detail"])

    def observe(self, facts: ItemFacts) -> None:
        domains = [(d, p) for d, p in facts.domains() if d not in WEBMAIL]
        distinct = {d for d, _p in domains}
        senders = {d for d, p in domains if p.role in ("From", "Organizer")}
        for domain, person in domains:
            flags = set(self.domains.get(domain, []))
            if person.role in ("From", "Organizer"):
                flags.add("sent")
            elif senders - {domain}:
                flags.add("received")
            if facts.platform == "calendar" and len(distinct) >= 2:
                flags.add("met")
            if facts.shared_channel:
                flags.add("shared")
            self.domains[domain] = sorted(flags)
        for person in facts.participants:
            if person.role in ("From", "Organizer"):
                self.authors[person.key] = self.authors.get(person.key, 0) + 1
        name = facts.container_name or ""
        if facts.platform == "slack" and name.startswith("#"):
            old = self.channels.get(facts.container_id, {})
            shared = bool(old.get("shared")) or facts.shared_channel
            self.channels[facts.container_id] = {"name": name, "shared": shared}
        page = notion_client_page(facts)
        if page is not None:
            self.notion_clients[page[1]] = page[0].strip()


@dataclass
class ClientSpec:
    name: str
    origin: str
    domains: set[str] = field(default_factory=set)
    channels: set[str] = field(default_factory=set)
    notion: set[str] = field(default_factory=set)
    signals: set[str] = field(default_factory=set)
    own: bool = False
    config: dict[str, Any] = field(default_factory=dict)

    def rules(self) -> dict[str, Any]:
        inferred = {
            "domains": sorted(self.domains),
            "channels": sorted(self.channels),
            "notion": sorted(self.notion),
            "signals": sorted(self.signals),
        }
        if self.config:
            return {"config": self.config, "inferred": inferred}
        return inferred


def derive(
    state: InferenceState, ctx: RuleContext, own: frozenset[str]
) -> tuple[dict[str, ClientSpec], dict[str, tuple[str, str]]]:
    """The clients the config and the summary imply, and the client of each channel."""
    specs: dict[str, ClientSpec] = {}
    for rule in ctx.config.clients:
        specs[rule.name] = ClientSpec(
            rule.name, "config", config=rule.model_dump(exclude_defaults=True)
        )

    def spec(name: str) -> ClientSpec:
        return specs.setdefault(name, ClientSpec(name, "candidate"))

    labels: dict[str, str] = {label_of(d): c for d, c in ctx.by_domain.items()}
    for domain in sorted(state.domains):
        client = ctx.domain_client(domain)
        if client is None:
            continue
        labels.setdefault(label_of(domain), client)
        found = spec(client)
        found.domains.add(domain)
        found.own = found.own or domain in own
        flags = set(state.domains[domain])
        if {"sent", "received"} <= flags:
            found.signals.add(f"two-way email with {domain}")
        for flag, words in _QUALIFYING.items():
            if flag in flags:
                found.signals.add(f"{domain} {words}")
    channel_map: dict[str, tuple[str, str]] = {}
    for cid, channel in sorted(state.channels.items()):
        name = str(channel["name"])
        if channel_key(name) in ctx.by_channel or cid.lower() in ctx.by_channel:
            continue
        decided = _channel_client(name, bool(channel.get("shared")), labels, ctx)
        if decided is not None:
            channel_map[cid] = decided
            found = spec(decided[0])
            found.channels.add(name)
            words = "Slack Connect channel" if decided[1] == "inferred-shared-channel" else (
                "channel named like a domain"
            )
            found.signals.add(f"{words} {name}")
    configured_pages = {page.lower() for rule in ctx.config.clients for page in rule.notion}
    for _page_id, title in sorted(state.notion_clients.items()):
        if title.lower() in configured_pages:
            continue
        # "Acme Website Relaunch" under Clients is Acme's project, not a client of its own.
        found = spec(_page_owner(title, labels) or ctx.named(title))
        found.notion.add(title)
        found.signals.add(f"Notion page Clients / {title}")
    for found in specs.values():
        if found.origin != "config" and found.signals and not found.own:
            found.origin = "inferred"
    return specs, channel_map


def _page_owner(title: str, labels: dict[str, str]) -> str | None:
    words = title.split()
    token = "".join(ch for ch in words[0].lower() if ch.isalnum()) if words else ""
    if len(token) < 3:
        return None
    if token in labels:
        return labels[token]
    near = {client for label, client in labels.items() if label.startswith(token)}
    return near.pop() if len(near) == 1 else None


def _channel_client(
    name: str, shared: bool, labels: dict[str, str], ctx: RuleContext
) -> tuple[str, str] | None:
    token = channel_token(name)
    if not token:
        return None
    rule = "inferred-shared-channel" if shared else "inferred-channel"
    if token in labels:
        return labels[token], rule
    if len(token) >= 4:
        near = {client for label, client in labels.items() if label.startswith(token)}
        if len(near) == 1:
            return near.pop(), rule
    if shared:
        return ctx.named(readable(token)), rule
    return None


def resolve_own(conn: Connection, state: InferenceState, config: ClientsConfig) -> frozenset[str]:
    """The user's own domains: configured, or the usual domain of the most active author."""
    if config.me.domains:
        configured = sorted({d.lower() for d in config.me.domains})
        # Stored too: storylines and triggers read who is "outside" from the state alone.
        state.own = {"key": None, "person": None, "domains": configured}
        return frozenset(configured)
    ranked = sorted(state.authors.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    for key, _count in ranked:
        row = conn.execute(
            select(identity.c.person_id, identity.c.profile).where(identity.c.key == key)
        ).first()
        person = row.person_id if row is not None else None
        cached = state.own
        if cached.get("key") == key and cached.get("person") == person:
            return frozenset(cached.get("domains", []))
        found = _domains_of(conn, key, person, row.profile if row is not None else None)
        if found:
            state.own = {"key": key, "person": person, "domains": found}
            return frozenset(found)
    return frozenset()


def _domains_of(conn: Connection, key: str, person: int | None, profile: Any) -> list[str]:
    people: list[tuple[str, Any]] = [(key, profile)]
    if person is not None:
        # identity.person_id has no index; this runs only when the user's person changes.
        people += list(
            conn.execute(
                select(identity.c.key, identity.c.profile).where(identity.c.person_id == person)
            ).all()
        )
    counts: Counter[str] = Counter()
    for each_key, each_profile in people:
        address = _address(each_key, each_profile)
        if address and address.rsplit("@", 1)[1] not in WEBMAIL:
            counts[address.rsplit("@", 1)[1]] += 1
    if not counts:
        return []
    best = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    return [best]


def _address(key: str, profile: Any) -> str | None:
    if key.startswith("email:") and "@" in key:
        return key[6:].lower()
    email = profile.get("email") if isinstance(profile, dict) else None
    return email.strip().lower() if isinstance(email, str) and "@" in email else None


def load_facts(conn: Connection, ids: Sequence[int]) -> list[ItemFacts]:
    """Facts for these items, with two indexed queries (items, then their people)."""
    if not ids:
        return []
    rows = conn.execute(
        select(
            item.c.id, item.c.platform, item.c.deleted, item.c.native, item.c.container_id,
            item.c.container_name, item.c.thread_id, item.c.author_key, item.c.recipients,
            item.c.title, item.c.text, item.c.canonical_id,
        ).where(item.c.id.in_(list(ids)))
    ).all()
    slack_ids = [r.id for r in rows if r.platform == "slack"]
    shared_raw = _shared_in_raw(conn, slack_ids) if slack_ids else set()
    keys = {k for r in rows for k in [r.author_key, *(r.recipients or [])] if k}
    profiles = _profiles(conn, [k for k in keys if not k.startswith("email:")])
    facts = []
    for r in sorted(rows, key=lambda row: row.id):
        native = r.native if isinstance(r.native, dict) else {}
        author_role, other_role = ("Organizer", "Attendee") if r.platform == "calendar" else (
            "From", "To"
        )
        people = [(r.author_key, author_role)] if r.author_key else []
        people += [(k, other_role) for k in (r.recipients or []) if k != r.author_key]
        page, ancestors = _notion_place(r, native)
        facts.append(
            ItemFacts(
                id=r.id,
                platform=r.platform,
                deleted=bool(r.deleted),
                container_id=r.container_id,
                container_name=r.container_name,
                thread_id=r.thread_id,
                title=r.title,
                text=r.text or "",
                participants=tuple(
                    Participant(k, role, _address(k, profiles.get(k))) for k, role in people
                ),
                shared_channel=native.get("is_ext_shared") in _TRUE or r.id in shared_raw,
                page=page,
                ancestors=ancestors,
            )
        )
    return facts


def _shared_in_raw(conn: Connection, ids: list[int]) -> set[int]:
    rows = conn.execute(select(item.c.id, item.c.raw).where(item.c.id.in_(ids)))
    return {
        r.id for r in rows if isinstance(r.raw, dict) and r.raw.get("is_ext_shared") in _TRUE
    }


def _profiles(conn: Connection, keys: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = conn.execute(
            select(identity.c.key, identity.c.profile).where(identity.c.key.in_(chunk))
        )
        found.update({key: profile for key, profile in rows})
    return found


def _notion_place(
    row: Any, native: dict[str, Any]
) -> tuple[tuple[str, str] | None, tuple[tuple[str, str], ...]]:
    if row.platform != "notion":
        return None, ()
    page = (row.title or "", row.canonical_id)
    path = native.get("path")
    ancestors: list[tuple[str, str]] = []
    if isinstance(path, str) and path:
        for component in path.split("/")[:-1]:
            title, page_hex = split_name(component)
            if page_hex is not None:
                ancestors.append((title, f"notion:{normalize_notion_id(page_hex)}"))
    elif row.container_id.startswith("notion:") and row.container_id != WORKSPACE:
        ancestors.append((row.container_name or "", row.container_id))
    return page, tuple(ancestors)


def scan_state(conn: Connection, batch: int = 1000) -> InferenceState:
    """The summary of the whole store, read afresh: for ``clients init``, not for folding."""
    state = InferenceState()
    last = 0
    while True:
        ids = list(
            conn.execute(
                select(item.c.id).where(item.c.id > last).order_by(item.c.id).limit(batch)
            ).scalars()
        )
        if not ids:
            return state
        for facts in load_facts(conn, ids):
            state.observe(facts)
        last = ids[-1]


def suggested_config(conn: Connection, current: ClientsConfig) -> ClientsConfig:
    """The configured clients plus the inferred ones, as a clients.yaml to edit."""
    from threadline.context.clients_config import ClientRule, DomainList

    state = scan_state(conn)
    own = resolve_own(conn, state, current)
    specs, _channels = derive(state, RuleContext(current), own)
    rules = list(current.clients)
    inferred = sorted((s for s in specs.values() if s.origin == "inferred"), key=lambda s: s.name)
    by_label: dict[str, ClientRule] = {}
    for found in inferred:
        rule = ClientRule(
            name=found.name,
            domains=sorted(found.domains),
            channels=sorted(found.channels),
            notion=sorted(found.notion),
        )
        # A Notion "Acme Corp" page and the domain acme.example are one client.
        keys = {found.name.lower().replace(" ", ""), found.name.lower().split(" ")[0]}
        twin = next((by_label[k] for k in sorted(keys) if k in by_label), None)
        if twin is not None:
            twin.domains = sorted({*twin.domains, *rule.domains})
            twin.channels = sorted({*twin.channels, *rule.channels})
            twin.notion = sorted({*twin.notion, *rule.notion})
            if len(rule.name) > len(twin.name):
                twin.aliases = sorted({*twin.aliases, twin.name})
                twin.name = rule.name
            else:
                twin.aliases = sorted({*twin.aliases, rule.name})
            continue
        for key in keys | {label_of(d) for d in rule.domains}:
            by_label.setdefault(key, rule)
        rules.append(rule)
    me = current.me if current.me.domains else DomainList(domains=sorted(own))
    return ClientsConfig(me=me, ignore=current.ignore, clients=rules)
