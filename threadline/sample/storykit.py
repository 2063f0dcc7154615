"""The toolkit storylines write with: it builds items with unique native ids and files them,
with the gold facts they support, into one week's plan."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from threadline.sample.cast import Cast, Client, Conversation, Person
from threadline.sample.clock import Week, at
from threadline.sample.model import Mail, Meeting, NotionPage, NotionTask, SlackMessage
from threadline.sample.seeds import decimal_id, notion_hex, short_hex

Item = SlackMessage | Mail | Meeting | NotionPage | NotionTask


@dataclass
class Fact:
    client: str
    text: str
    items: list[str]


@dataclass
class WeekPlan:
    """Everything the storylines produced for one week, bucketed for the writers."""

    week: Week
    slack: dict[tuple[str, date], list[SlackMessage]] = field(
        default_factory=lambda: defaultdict(list)
    )
    mail: dict[date, list[Mail]] = field(default_factory=lambda: defaultdict(list))
    meetings: list[Meeting] = field(default_factory=list)
    pages: list[NotionPage] = field(default_factory=list)
    tasks: list[NotionTask] = field(default_factory=list)
    facts: list[Fact] = field(default_factory=list)
    micro: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    """Next story sub-second ts per conversation (noise uses 500000 and up)."""


@dataclass
class Kit:
    seed: int
    cast: Cast
    client: Client
    plan: WeekPlan
    rng: random.Random
    name: str
    """The storyline's name, mixed into native ids so two storylines never share one."""
    counter: int = 0

    @property
    def week(self) -> Week:
        return self.plan.week

    @property
    def scope(self) -> str:
        return f"client:{self.client.key}"

    def _next(self) -> int:
        self.counter += 1
        return self.counter

    def _noted(self) -> bool:
        return self.client.base

    def day(self, weekday: int) -> date:
        return self.week.day(weekday)

    def moment(self, weekday: int, hour: int, minute: int | None = None) -> datetime:
        minute = self.rng.randrange(0, 56) if minute is None else minute
        return at(self.day(weekday), hour, minute, self.rng.randrange(60))

    # -- Slack ---------------------------------------------------------------------------
    def say(self, conv: Conversation, when: datetime, author: Person | None, text: str, *,
            thread: SlackMessage | None = None, scope: str | None = None,
            edited: bool = False, files: list[dict[str, object]] | None = None,
            subtype: str | None = None, bot_name: str | None = None) -> SlackMessage:
        if thread is not None:
            floor = thread.moment + timedelta(minutes=1)
            latest = floor.replace(hour=23, minute=58)
            when = min(max(when, floor), latest)
        self.plan.micro[conv.id] += 1
        message = SlackMessage(
            conv.id, when, self.plan.micro[conv.id], author, text, subtype=subtype,
            thread_ts=thread.thread_ts or thread.ts if thread else None,
            edited_after=self.rng.randrange(40, 900) if edited else None, files=files or [],
            bot_name=bot_name, scope=scope or conv.scope, noted=self._noted())
        self.plan.slack[(conv.id, when.date())].append(message)
        return message

    def reply(self, parent: SlackMessage, after_minutes: int, author: Person, text: str
              ) -> SlackMessage:
        conv = next(c for c in self.cast.conversations if c.id == parent.conv)
        when = parent.moment + timedelta(minutes=after_minutes, seconds=self.rng.randrange(60))
        return self.say(conv, when, author, text, thread=parent, scope=parent.scope)

    # -- email ---------------------------------------------------------------------------
    def _message_id(self, sender: Person, when: datetime) -> str:
        token = short_hex(24, self.seed, self.name, self.client.key, self.week.label, self._next())
        if sender.email.endswith("@northwind.example"):
            return f"<CA+{token[:12]}{token[12:].upper()}@mail.gmail.com>"
        domain = sender.email.split("@", 1)[1]
        return f"<{when.strftime('%Y%m%d%H%M%S')}.{token[:16]}@mail.{domain}>"

    def mail(self, when: datetime, sender: Person, to: list[Person], subject: str, body: str,
             *, cc: list[Person] | None = None, parent: Mail | None = None, fmt: str = "alt",
             attachment: tuple[str, str, bytes] | None = None, scope: str | None = None,
             quote: bool = True) -> Mail:
        if parent is not None:
            when = max(when, parent.moment + timedelta(minutes=7))
            if quote:
                local = parent.moment.astimezone(parent.sender.tz)
                stamp = (f"{local:%a}, {local.day} {local:%b} {local.year} at "
                         f"{local:%H:%M}")
                quoted = "\n".join(f"> {line}" if line else ">" for line in
                                   parent.body.splitlines())
                body = (f"{body}\n\nOn {stamp}, {parent.sender.name} <{parent.sender.email}> "
                        f"wrote:\n{quoted}")
        message_id = self._message_id(sender, when)
        mine = sender.email == self.cast.user.email
        mail = Mail(
            message_id, parent.thread_id if parent else decimal_id(self.seed, message_id), when,
            sender, to, subject, body, cc=cc or [], fmt=fmt, parent=parent,
            labels=["Sent"] if mine else ["Inbox", "Important", "Category Primary"],
            attachment=attachment, scope=scope or self.scope, noted=self._noted())
        self.plan.mail[when.date()].append(mail)
        return mail

    def forward(self, original: Mail, to: list[Person], note: str) -> Mail:
        """Gmail's forward: a new thread whose body carries the original under a banner."""
        sender = original.sender
        stamp = original.moment.astimezone(sender.tz)
        recipients = ", ".join(f"{p.name} <{p.email}>" for p in original.to)
        return self.mail(
            original.moment + timedelta(minutes=self.rng.randrange(10, 50)), self.cast.user, to,
            f"Fwd: {original.subject}",
            f"{note}\n\n---------- Forwarded message ---------\nFrom: {sender.name} "
            f"<{sender.email}>\nDate: {stamp:%a}, {stamp.day} {stamp:%b} {stamp.year} at "
            f"{stamp:%H:%M}\nSubject: {original.subject}\nTo: {recipients}\n\n{original.body}")

    # -- calendar ------------------------------------------------------------------------
    def uid(self, label: str) -> str:
        return f"{short_hex(26, self.seed, self.client.key, self.week.label, label)}@google.com"

    def meeting(self, summary: str, start: datetime, minutes: int, attendees: list[Person],
                description: str = "", location: str = "") -> Meeting:
        start = start.replace(second=0)
        meeting = Meeting(self.uid(summary), summary, start, start + timedelta(minutes=minutes),
                          self.cast.user, attendees, description, location,
                          scope=self.scope, noted=self._noted())
        self.plan.meetings.append(meeting)
        return meeting

    # -- Notion --------------------------------------------------------------------------
    def page_hex(self, label: str) -> str:
        return notion_hex(self.seed, self.client.key, self.week.label, label)

    def task(self, title: str, status: str, assignee: Person, due: date | None,
             edited: datetime, body: str) -> NotionTask:
        task = NotionTask(self.page_hex(f"task:{title}"), title, status, assignee.name,
                          self.client.name, due, edited, body, scope=self.scope,
                          noted=self._noted())
        self.plan.tasks.append(task)
        return task

    def page(self, title: str, parents: list[tuple[str, str]], body: str,
             properties: list[tuple[str, str]] | None = None) -> NotionPage:
        page = NotionPage(self.page_hex(f"page:{title}"), title, parents, body,
                          properties or [], scope=self.scope, noted=self._noted())
        self.plan.pages.append(page)
        return page

    # -- gold ----------------------------------------------------------------------------
    def fact(self, text: str, *items: Item) -> None:
        if self.client.base:
            self.plan.facts.append(Fact(self.client.key, text, [i.canonical for i in items]))

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def conv(self) -> Conversation:
        return self.cast.client_conv(self.client)


def clients_root(seed: int) -> tuple[str, str]:
    return ("Clients", notion_hex(seed, "clients-root"))


def project_ref(seed: int, client: Client) -> tuple[str, str]:
    return (client.project, notion_hex(seed, "project", client.key))


def money(client: Client, amount: int) -> str:
    symbol = "$" if client.tz.key == "America/New_York" else "£"
    return f"{symbol}{amount:,}"
