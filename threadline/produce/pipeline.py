"""produce(): select → rank → compose → verify → store, for one recipe and scope.

The scope comes from the recipe's kind: a week (client update, digest), a date onwards
(project recap) or the run-up to a calendar event (meeting brief: since the previous meeting
of its series). When the recipe leads with changes, the last update of it sent to the client
rides along so ranking can put what is new first and leave out what the client already got.
Any composer may be asked; when it fails the offline one writes the draft, and says so in
the report. Whatever is composed, the verifier decides which claims ship.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from threadline.context.notes import VISIBLE, find_client
from threadline.context.weeks import parse_week
from threadline.errors import ThreadlineError
from threadline.llm.base import ComposerSettings
from threadline.llm.fallback import compose_with_fallback
from threadline.produce import drafts
from threadline.produce.apply_prefs import apply_preferences
from threadline.produce.model import ContextBundle, ContextEntry, Draft, Scope
from threadline.produce.preferences import load_preferences
from threadline.produce.rank import rank
from threadline.produce.recipes import Recipe, get_recipe
from threadline.produce.select import POOL, admitted, build_bundle, visible_clients
from threadline.store.context_schema import client, item_client, item_project, project
from threadline.store.schema import item

BEFORE_FIRST = timedelta(days=14)


class ProduceError(ThreadlineError):
    """A deliverable that cannot be produced as asked: the message says what to give."""


@dataclass
class Request:
    recipe: str
    client: str | None = None
    week: str | None = None
    since: date | None = None
    until: date | None = None
    event: str | None = None
    project: str | None = None


@dataclass
class Resolved:
    scope: Scope
    slot: str
    clients: dict[int, str]
    extra: dict[int, list[ContextEntry]]
    only_items: set[str] | None = None


def _verifier() -> Callable[..., Any] | None:
    try:
        module = importlib.import_module("threadline.produce.verify")
    except ImportError:
        return None
    found = getattr(module, "verify", None)
    return found if callable(found) else None


def produce(
    engine: Engine,
    recipe_name: str,
    *,
    client: str | None = None,
    week: str | None = None,
    since: date | None = None,
    until: date | None = None,
    event: str | None = None,
    project: str | None = None,
    settings: ComposerSettings | None = None,
    preferences: Any = None,
    now: datetime | None = None,
    recipes_dir: Path | None = None,
) -> drafts.StoredDraft:
    """Produce, verify and store one draft; returns it with its id."""
    now = now or datetime.now(UTC)
    recipe = get_recipe(recipe_name, recipes_dir)
    request = Request(recipe_name, client, week, since, until, event, project)
    with engine.begin() as conn:
        resolved = resolve(conn, recipe, request, now)
        bundle = build_bundle(conn, resolved.scope, resolved.clients, resolved.extra,
                              resolved.only_items)
        if recipe.scope == "event":
            bundle = _brief_pool(bundle)
        if recipe.lead_with_changes and resolved.scope.client:
            sent = drafts.last_sent(conn, recipe.name, resolved.scope.client,
                                    other_than=resolved.slot)
            bundle.previous = sent.draft if sent else None
        ranked = rank(bundle, recipe)
        prefs = (
            preferences
            if preferences is not None
            else load_preferences(conn, recipe.name, resolved.scope.client)
        )
        draft = compose(ranked, recipe, settings or ComposerSettings(), prefs)
        # Learned format and tone reshape what was composed; the verifier still has the last word.
        draft = apply_preferences(draft, prefs, names=ranked.people.values())
        draft = verify(draft, ranked)
        draft.created_at = now
        draft_id = drafts.save(conn, draft, resolved.slot, now)
        return drafts.get(conn, draft_id)


def compose(bundle: ContextBundle, recipe: Recipe, settings: ComposerSettings,
            preferences: Any) -> Draft:
    """The configured composer's draft; if a model backend fails, the offline one's, noted."""
    return compose_with_fallback(settings, bundle, recipe, preferences)


def verify(draft: Draft, bundle: ContextBundle) -> Draft:
    """The verifier's verdict; without it, at least nothing uncited or out of scope ships."""
    check = _verifier()
    if check is not None:
        result = check(draft, bundle)
        verified = result if isinstance(result, Draft) else draft
    else:
        verified = draft
        for claim in (c for s in draft.sections for c in s.claims):
            stray = [c for c in claim.citations if c not in bundle.items]
            if not claim.citations or stray:
                claim.status = "dropped"
                claim.reasons.append("cites nothing in scope" if not claim.citations
                                     else f"cites items outside the scope: {', '.join(stray)}")
        shipped = verified.shipped_claims()
        report = verified.report
        report.kept = sum(c.status == "kept" for c in shipped)
        report.flagged = sum(c.status == "flagged" for c in shipped)
        every = [c for s in verified.sections for c in s.claims]
        report.dropped = sum(c.status == "dropped" for c in every)
        report.problems = [f"{c.text} — {'; '.join(c.reasons)}" for c in every
                           if c.status != "kept"]
    cited = {c for claim in verified.shipped_claims() for c in claim.citations}
    verified.sources = {i: bundle.items[i] for i in sorted(cited) if i in bundle.items}
    return verified


# -- scopes ----------------------------------------------------------------------------


def resolve(conn: Connection, recipe: Recipe, request: Request, now: datetime) -> Resolved:
    if recipe.scope == "week":
        return _week(conn, recipe, request, now)
    if recipe.scope == "since":
        return _since(conn, recipe, request, now)
    return _event(conn, recipe, request, now)


def _client(conn: Connection, name: str | None) -> dict[int, str]:
    if name is None:
        return visible_clients(conn)
    cid, found = find_client(conn, name)
    return {cid: found}


def _week(conn: Connection, recipe: Recipe, request: Request, now: datetime) -> Resolved:
    if recipe.audience == "client" and not request.client:
        raise ProduceError(f"{recipe.name} is written for one client: give --client NAME")
    week = parse_week(request.week or "last", today=now.date())
    clients = _client(conn, request.client)
    scope = Scope(recipe=recipe.name, client=request.client and clients[next(iter(clients))],
                  start=week.start, end=week.end, week=week.label)
    return Resolved(scope, week.label, clients, {})


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def _since(conn: Connection, recipe: Recipe, request: Request, now: datetime) -> Resolved:
    if request.since is None:
        raise ProduceError(f"{recipe.name} covers a period: give --since YYYY-MM-DD")
    start = _midnight(request.since)
    end = _midnight(request.until) + timedelta(days=1) if request.until else now
    only: set[str] | None = None
    name = request.client
    if request.project:
        row = conn.execute(
            select(project.c.id, project.c.name, client.c.name.label("client"))
            .select_from(project.outerjoin(client, client.c.id == project.c.client_id))
            .where(func.lower(project.c.name) == request.project.strip().lower())
        ).first()
        if row is not None:
            name = name or row.client
            only = set(conn.execute(
                select(item.c.canonical_id).join(item_project, item_project.c.item_id == item.c.id)
                .where(item_project.c.project_id == row.id)
            ).scalars()) or None
        elif name is None:
            known = sorted(conn.execute(select(project.c.name)).scalars())
            raise ProduceError(f"no project named {request.project!r} (known: "
                               f"{', '.join(known) or 'none'}); or give --client NAME")
    if name is None:
        raise ProduceError(f"{recipe.name} needs --client NAME or --project NAME")
    clients = _client(conn, name)
    scope = Scope(recipe=recipe.name, client=clients[next(iter(clients))],
                  project=request.project, start=start, end=end)
    return Resolved(scope, f"since:{request.since.isoformat()}", clients, {}, only)


def find_event(conn: Connection, ref: str, now: datetime) -> Any:
    """A calendar event by canonical id, or by title: the next one to come, else the last."""
    cols = (item.c.id, item.c.canonical_id, item.c.title, item.c.occurred_at,
            item.c.thread_id, item.c.recipients, item.c.author_key)
    base = select(*cols).where(item.c.platform == "calendar", item.c.deleted.is_(False))
    row = conn.execute(base.where(item.c.canonical_id == ref)).first()
    if row is not None:
        return row
    rows = conn.execute(base.where(func.lower(item.c.title) == ref.strip().lower())
                        .order_by(item.c.occurred_at)).all()
    if not rows:
        rows = conn.execute(base.where(func.lower(item.c.title).contains(ref.strip().lower()))
                            .order_by(item.c.occurred_at)).all()
    if not rows:
        raise ProduceError(f"no calendar event titled {ref!r}: give its title or canonical id "
                           "(`threadline timeline` lists meetings)")
    moment = now.replace(tzinfo=None) if rows[0].occurred_at.tzinfo is None else now
    coming = [r for r in rows if r.occurred_at >= moment]
    return coming[0] if coming else rows[-1]


def _event(conn: Connection, recipe: Recipe, request: Request, now: datetime) -> Resolved:
    if not request.event:
        raise ProduceError(f"{recipe.name} is about one meeting: give --event TITLE")
    event = find_event(conn, request.event, now)
    owners = conn.execute(
        select(item_client.c.client_id, client.c.name)
        .join(client, client.c.id == item_client.c.client_id)
        .where(item_client.c.item_id == event.id, client.c.origin.in_(VISIBLE))
    ).all()
    owner = next((r for r in owners if event.canonical_id in admitted(
        conn, [event.canonical_id], int(r.client_id))), None)
    if owner is None:
        raise ProduceError(f"the event {event.title!r} belongs to no single client; "
                           "briefs are written for client meetings")
    start_at = _utc(event.occurred_at)
    earlier = None
    if event.thread_id:
        earlier = conn.execute(
            select(func.max(item.c.occurred_at)).where(
                item.c.thread_id == event.thread_id, item.c.occurred_at < event.occurred_at,
                item.c.deleted.is_(False))
        ).scalar()
    since = _utc(earlier) if earlier is not None else start_at - BEFORE_FIRST
    scope = Scope(recipe=recipe.name, client=str(owner.name), event=event.canonical_id,
                  start=since, end=start_at)
    keys = sorted({*(event.recipients or []), *([event.author_key] if event.author_key else [])})
    mine = [
        ContextEntry(kind="upcoming", summary=f"{event.title}: {start_at:%a %d %b %H:%M} UTC",
                     items=[event.canonical_id], when=start_at, salience=9.0,
                     detail={"attendees": keys, "client": str(owner.name), "event": True}),
        ContextEntry(kind="attendees", summary="Attendees", items=[event.canonical_id],
                     when=start_at, detail={"attendees": keys, "client": str(owner.name),
                                            "event": True}),
    ]
    return Resolved(scope, event.canonical_id, {int(owner.client_id): str(owner.name)},
                    {int(owner.client_id): mine})


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _brief_pool(bundle: ContextBundle) -> ContextBundle:
    """A brief speaks of the run-up to its meeting: its own event, and what came before
    (nothing said after the meeting starts, even later in the same week)."""
    end = bundle.scope.end

    def before(cid: str) -> bool:
        source = bundle.items.get(cid)
        return source is None or source.occurred_at is None or _utc(source.occurred_at) < end

    for section in bundle.sections:
        if section.key != POOL:
            continue
        kept = []
        for e in section.entries:
            if e.detail.get("event"):
                kept.append(e)
            elif e.kind not in ("upcoming", "attendees"):
                e.items = [i for i in e.items if before(i)]
                if e.items:
                    kept.append(e)
        section.entries = kept
    return bundle
