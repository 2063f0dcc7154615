"""What the review buttons do, through the autonomy and delivery modules when they exist.

Those modules are built alongside the web app; they are imported lazily so the app works
(listing, editing, approving, rejecting, regenerating) before them, and says plainly which
action is not available yet instead of failing.
"""

from __future__ import annotations

import importlib
import inspect
import threading
from collections.abc import Callable
from datetime import datetime
from types import ModuleType
from typing import Any

from sqlalchemy import Engine

from threadline.errors import ThreadlineError
from threadline.produce import drafts
from threadline.produce.render_markdown import render_markdown

QUEUE = "threadline.autonomy.queue"
SCHEDULES = "threadline.autonomy.schedules"
DELIVER = "threadline.deliver.queue"
PROCESS = "threadline.deliver.process"


class NotAvailable(ThreadlineError):
    """An action whose module is not installed in this build."""


def module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def function(module_name: str, name: str) -> Callable[..., Any] | None:
    found = getattr(module(module_name), name, None)
    return found if callable(found) else None


def call(fn: Callable[..., Any], engine: Engine, *args: Any, **options: Any) -> Any:
    """Call ``fn`` with the engine, or a connection in a transaction when it takes one;
    options it does not accept are left out."""
    params = inspect.signature(fn).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    kept = {k: v for k, v in options.items() if takes_any or k in params}
    first = next(iter(params), "")
    if first in ("conn", "connection"):
        with engine.begin() as conn:
            return fn(conn, *args, **kept)
    return fn(engine, *args, **kept)


def markdown_of(stored: drafts.StoredDraft) -> str:
    return stored.edited_markdown or render_markdown(stored.draft)


def save_edit(engine: Engine, draft_id: int, after: str, now: datetime) -> int | None:
    """Record the edit (the preference learner reads draft_edit); None when unchanged."""
    after = after.replace("\r\n", "\n")
    with engine.begin() as conn:
        stored = drafts.get(conn, draft_id)
        if stored.status not in ("draft", "rejected"):
            raise drafts.DraftError(f"draft #{draft_id} is {stored.status}; only a draft "
                                    "waiting for review can be edited")
        return drafts.record_edit(conn, draft_id, markdown_of(stored), after, now)


def approve(engine: Engine, draft_id: int, now: datetime,
            destinations: list[str] | None = None, force: bool = False) -> str:
    fn = function(QUEUE, "approve")
    if fn is not None:
        result = call(fn, engine, draft_id, destinations=destinations or None, force=force,
                      now=now)
        send_soon(engine, draft_id)
        return str(result)
    with engine.begin() as conn:
        drafts.mark(conn, draft_id, "approved", now=now)
    return (f"Approved draft #{draft_id}. Sending is not available in this build "
            f"({QUEUE} is not installed), so nothing was queued for delivery.")


def reject(engine: Engine, draft_id: int, reason: str, now: datetime) -> str:
    reason = reason.strip() or "rejected in review"
    fn = function(QUEUE, "reject")
    if fn is not None:
        call(fn, engine, draft_id, reason=reason, now=now)
        return f"Rejected draft #{draft_id}: {reason}"
    with engine.begin() as conn:
        drafts.mark(conn, draft_id, "rejected", reason=reason, now=now)
    return f"Rejected draft #{draft_id}: {reason}"


def send_to_self(engine: Engine, draft_id: int, now: datetime, address: str | None) -> str:
    fn = function(QUEUE, "send_to_self")
    if fn is None:
        raise NotAvailable(f"Send to self is not available in this build ({QUEUE} is not "
                           "installed). Approve the draft, or copy its Markdown.")
    options: dict[str, Any] = {"now": now}
    if address:
        options["address"] = address
    return _said(call(fn, engine, draft_id, **options), f"Sent draft #{draft_id} to you.")


def regenerate(engine: Engine, draft_id: int, now: datetime) -> tuple[int, str]:
    fn = function(QUEUE, "regenerate")
    if fn is not None:
        result = call(fn, engine, draft_id, now=now)
        new_id = _id_of(result)
        return new_id or draft_id, f"Regenerated draft #{draft_id}."
    from threadline.produce.pipeline import produce

    with engine.connect() as conn:
        stored = drafts.get(conn, draft_id)
    scope = stored.draft.scope
    options: dict[str, Any] = {"client": scope.client, "now": now}
    if scope.event:
        options["event"] = scope.event
    elif scope.week:
        options["week"] = scope.week
    else:
        options.update(since=scope.start.date(), project=scope.project)
    fresh = produce(engine, stored.recipe, **options)
    return fresh.id, f"Regenerated: draft #{fresh.id} replaces #{draft_id}."


def send_soon(engine: Engine, draft_id: int) -> bool:
    """Deliver what approval queued now, in the background, rather than at the next
    `threadline run` tick (which still retries whatever fails here)."""
    process = function(PROCESS, "process_due")
    if process is None:
        return False

    def run() -> None:
        process(engine, draft_id=draft_id)

    threading.Thread(target=run, name=f"deliver-{draft_id}", daemon=True).start()
    return True


def _id_of(result: Any) -> int | None:
    if isinstance(result, int):
        return result
    found = getattr(result, "id", None)
    return found if isinstance(found, int) else None


def _said(result: Any, default: str) -> str:
    return result if isinstance(result, str) and result else default


def deliveries_of(engine: Engine, draft_id: int) -> list[dict[str, Any]]:
    """The draft's deliveries (the table exists whether or not the sender does)."""
    from sqlalchemy import select

    from threadline.store.autonomy_schema import delivery

    with engine.connect() as conn:
        rows = conn.execute(select(delivery).where(delivery.c.draft_id == draft_id)
                            .order_by(delivery.c.id)).all()
    return [{"destination": r.destination, "status": r.status, "attempts": r.attempts,
             "error": r.error, "sent_at": r.sent_at, "permalink": r.permalink} for r in rows]
