"""Sending what is due: claim, deliver, record, each delivery on its own.

For each due delivery (pending, or failed with a retry due, or left ``sending`` by a crashed
run once its lease ran out) of a draft that is approved:

1. claim it in its own transaction: ``status='sending'``, ``attempts+1``, a lease as
   ``next_attempt_at``, and for email the Message-ID it will carry, recorded *before*
   sending, so every retry sends the very same message;
2. deliver, outside any transaction;
3. record ``sent`` (message id, permalink, sent_at) or ``failed`` (error, next attempt with
   exponential backoff and jitter; after ``max_attempts`` no next attempt: it stays failed and
   visible until ``threadline deliver retry``). When every delivery of the draft is sent, the
   draft becomes ``sent``.

A crash between 2 and 3 leaves the row ``sending``. When its lease has run out it is picked
up again; deliverers that can look (Gmail: the Sent mailbox by Message-ID; files: the file
is already there with that content) check before sending again, and record what they find.
SMTP, Slack and Notion cannot be asked, so for them that window is at-least-once: the mail
goes again with the same Message-ID (which mail stores such as Gmail de-duplicate), and a
Slack message or Notion page may appear twice. The window is the time between the remote
accepting and our commit: milliseconds, unless the process dies exactly then.

Drafts that are not approved are never delivered: a draft still in review waits; a rejected
or superseded draft's deliveries are failed with that reason.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, func, select, update

from threadline.deliver import content
from threadline.deliver.base import (
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
    load_deliverer,
)
from threadline.deliver.destinations import Destination, parse_destination
from threadline.errors import ThreadlineError
from threadline.produce import drafts
from threadline.store.autonomy_schema import delivery
from threadline.store.produce_schema import draft as draft_table
from threadline.store.writer import utcnow

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
BASE_DELAY = 60.0
MAX_DELAY = 6 * 3600.0
LEASE = timedelta(minutes=15)
"""How long a claimed delivery may stay ``sending`` before it is taken for crashed."""
INLINE_RETRY_MAX = 5.0
"""A Retry-After this short is waited out in the same pass (with ``sleep``)."""
SENDABLE = ("approved", "sent")
DEAD = ("rejected", "superseded")
THREADED = ("email", "gmail")


@dataclass
class ProcessReport:
    sent: list[int] = field(default_factory=list)
    retrying: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    waiting: list[int] = field(default_factory=list)
    """Due, but the draft is still in review."""
    errors: dict[int, str] = field(default_factory=dict)


def backoff(attempts: int, rng: random.Random, retry_after: float | None = None) -> float:
    """Seconds before the next attempt: 1 min, 2, 4… capped at 6 h, ±20 % jitter so many
    deliveries failed by one outage don't all retry in the same second."""
    delay = min(MAX_DELAY, BASE_DELAY * 2 ** max(0, attempts - 1))
    delay *= 0.8 + 0.4 * rng.random()
    return max(delay, retry_after or 0.0)


def process_due(engine: Engine, now: datetime | None = None, *,
                deliverers: Mapping[str, Any] | None = None,
                sleep: Callable[[float], None] | None = None,
                settings: DeliverySettings | None = None, draft_id: int | None = None,
                max_attempts: int = MAX_ATTEMPTS, rng: random.Random | None = None,
                limit: int = 100) -> ProcessReport:
    """Deliver everything due at ``now``; returns what happened to each delivery id.

    ``deliverers`` maps a destination kind to a deliverer (tests, or a caller that built its
    own); the others come from the registry. Never raises for a failed delivery: failures are
    recorded on the row.
    """
    now = now or utcnow()
    report = ProcessReport()
    job = _Job(engine, now, dict(deliverers or {}), sleep or time.sleep,
               settings or DeliverySettings(engine=engine), max_attempts,
               rng or random.Random(), report)
    query = (select(delivery.c.id).where(delivery.c.status.in_(("pending", "failed", "sending")),
                                         delivery.c.next_attempt_at <= now)
             .order_by(delivery.c.next_attempt_at, delivery.c.id).limit(limit))
    if draft_id is not None:
        query = query.where(delivery.c.draft_id == draft_id)
    with engine.connect() as conn:
        due = [int(i) for i in conn.execute(query).scalars()]
    for delivery_id in due:
        job.run(delivery_id)
    return report


@dataclass
class _Claim:
    row: dict[str, Any]
    destination: Destination
    settings: DeliverySettings
    draft: drafts.StoredDraft
    interrupted: bool


@dataclass
class _Job:
    engine: Engine
    now: datetime
    deliverers: dict[str, Any]
    sleep: Callable[[float], None]
    base: DeliverySettings
    max_attempts: int
    rng: random.Random
    report: ProcessReport

    def deliverer(self, kind: str) -> Any:
        if kind not in self.deliverers:
            self.deliverers[kind] = load_deliverer(kind)
        return self.deliverers[kind]

    def run(self, delivery_id: int) -> None:
        try:
            claim = self.claim(delivery_id)
        except ThreadlineError as exc:  # a destination no deliverer handles any more
            self.fail(delivery_id, 1, PermanentDeliveryError(str(exc)))
            return
        if claim is None:
            return
        try:
            result = self.attempt(claim)
        except (TransientDeliveryError, PermanentDeliveryError) as exc:
            self.fail(delivery_id, int(claim.row["attempts"]) + 1, exc)
        except ThreadlineError as exc:  # a setting is wrong: retrying will not fix it
            self.fail(delivery_id, int(claim.row["attempts"]) + 1,
                      PermanentDeliveryError(str(exc)))
        except Exception as exc:  # a bug or an unforeseen library error: retry, keep it
            log.exception("delivery #%s failed unexpectedly", delivery_id)
            self.fail(delivery_id, int(claim.row["attempts"]) + 1,
                      TransientDeliveryError(f"unexpected {type(exc).__name__}: {exc}"))
        else:
            self.record_sent(delivery_id, claim, result)

    def claim(self, delivery_id: int) -> _Claim | None:
        with self.engine.begin() as conn:
            row = conn.execute(select(delivery, draft_table.c.status.label("draft_status"))
                               .join(draft_table, draft_table.c.id == delivery.c.draft_id)
                               .where(delivery.c.id == delivery_id)).first()
            if row is None:
                return None
            r = dict(row._mapping)
            if r["draft_status"] in DEAD:
                conn.execute(update(delivery).where(delivery.c.id == delivery_id).values(
                    status="failed", next_attempt_at=None,
                    error=f"draft #{r['draft_id']} was {r['draft_status']}: not delivered"))
                self.report.failed.append(delivery_id)
                return None
            if r["draft_status"] not in SENDABLE:
                self.report.waiting.append(delivery_id)
                return None
            destination = parse_destination(r["destination"])
            deliverer = self.deliverer(destination.kind)
            message_id = r["message_id"]
            if message_id is None and hasattr(deliverer, "new_message_id"):
                message_id = deliverer.new_message_id(destination, self.base)
            taken = conn.execute(update(delivery).where(
                delivery.c.id == delivery_id, delivery.c.status == r["status"],
                delivery.c.attempts == r["attempts"]).values(
                status="sending", attempts=r["attempts"] + 1, next_attempt_at=self.now + LEASE,
                message_id=message_id))
            if taken.rowcount != 1:
                return None  # another process claimed it first
            stored = drafts.get(conn, int(r["draft_id"]))
            references = (_thread(conn, stored, r["destination"], delivery_id)
                          if destination.kind in THREADED else [])
        settings = replace(self.base, draft_id=stored.id, slot=stored.slot,
                           edited_markdown=stored.edited_markdown, message_id=message_id,
                           references=references)
        return _Claim(r, destination, settings, stored, interrupted=r["status"] == "sending")

    def attempt(self, claim: _Claim) -> DeliveryResult:
        deliverer = self.deliverer(claim.destination.kind)
        draft = claim.draft.draft
        if claim.interrupted and hasattr(deliverer, "already_sent"):
            found: DeliveryResult | None = deliverer.already_sent(
                draft, claim.destination, claim.settings)
            if found is not None:
                return found
        problem = content.flagged_problem(draft, claim.draft.edited_markdown)
        if problem:
            raise PermanentDeliveryError(f"draft #{claim.draft.id} not sent: {problem}")
        for tries_left in (1, 0):
            try:
                result: DeliveryResult = deliverer.deliver(draft, claim.destination,
                                                           claim.settings)
                return result
            except TransientDeliveryError as exc:
                wait = exc.retry_after
                if not tries_left or wait is None or wait > INLINE_RETRY_MAX:
                    raise
                self.sleep(wait)  # the server asked for a short pause: honour it, once
        raise AssertionError("unreachable")

    def record_sent(self, delivery_id: int, claim: _Claim, result: DeliveryResult) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(delivery).where(delivery.c.id == delivery_id).values(
                status="sent", sent_at=self.now, next_attempt_at=None, error=None,
                message_id=result.message_id or claim.settings.message_id,
                permalink=result.permalink))
            draft_id = int(claim.row["draft_id"])
            unsent = conn.execute(select(func.count()).select_from(delivery).where(
                delivery.c.draft_id == draft_id, delivery.c.status != "sent")).scalar_one()
            if not unsent and claim.draft.status == "approved":
                drafts.mark(conn, draft_id, "sent", now=self.now)
        self.report.sent.append(delivery_id)

    def fail(self, delivery_id: int, attempts: int, exc: Exception) -> None:
        transient = isinstance(exc, TransientDeliveryError)
        message = str(exc)[:2000]
        next_at: datetime | None = None
        if isinstance(exc, TransientDeliveryError) and attempts < self.max_attempts:
            delay = backoff(attempts, self.rng, exc.retry_after)
            next_at = self.now + timedelta(seconds=delay)
        elif transient:
            message += (f" (gave up after {attempts} attempts; `threadline deliver retry "
                        f"{delivery_id}` tries again)")
        with self.engine.begin() as conn:
            conn.execute(update(delivery).where(delivery.c.id == delivery_id).values(
                status="failed", error=message, next_attempt_at=next_at))
        (self.report.retrying if next_at else self.report.failed).append(delivery_id)
        self.report.errors[delivery_id] = message
        log.warning("delivery #%s failed%s: %s", delivery_id,
                    " (will retry)" if next_at else "", message)


def _thread(conn: Connection, stored: drafts.StoredDraft, destination: str,
            delivery_id: int) -> list[str]:
    """Message-IDs of the earlier updates of this recipe and client sent to this address,
    oldest first: the References chain of the new one."""
    same_client = (draft_table.c.client.is_(None) if stored.client is None
                   else draft_table.c.client == stored.client)
    rows = conn.execute(
        select(delivery.c.message_id).join(draft_table, draft_table.c.id == delivery.c.draft_id)
        .where(draft_table.c.recipe == stored.recipe, same_client,
               delivery.c.destination == destination, delivery.c.status == "sent",
               delivery.c.message_id.is_not(None), delivery.c.id != delivery_id,
               delivery.c.draft_id != stored.id)
        .order_by(delivery.c.sent_at, delivery.c.id)).scalars()
    return [str(m) for m in rows]
