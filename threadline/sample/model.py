"""The generated items, before a writer turns them into a platform's export format.

Each knows its canonical id (threadline.ids) so gold facts can cite it before it is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from threadline import ids
from threadline.sample.cast import Person
from threadline.sample.clock import epoch


@dataclass
class SlackMessage:
    conv: str
    moment: datetime
    micro: int
    """Sub-second part of ts; story and noise messages use disjoint ranges so ts never collide."""
    author: Person | None
    text: str
    subtype: str | None = None
    thread_ts: str | None = None
    edited_after: int | None = None
    files: list[dict[str, object]] = field(default_factory=list)
    bot_name: str | None = None
    scope: str = "internal"
    """``internal`` or ``client:<key>``: whose update may cite it (see gold.py)."""
    noted: bool = True
    """False for scale-only volume that gold.json leaves out to stay bounded."""

    @property
    def ts(self) -> str:
        return f"{epoch(self.moment)}.{self.micro:06d}"

    @property
    def canonical(self) -> str:
        return ids.slack_id(self.conv, self.ts)


@dataclass
class Mail:
    message_id: str
    thread_id: int
    moment: datetime
    sender: Person
    to: list[Person]
    subject: str
    body: str
    cc: list[Person] = field(default_factory=list)
    fmt: str = "alt"
    """``alt`` (text + html), ``html`` (HTML only) or ``plain``."""
    parent: Mail | None = None
    labels: list[str] = field(default_factory=lambda: ["Inbox", "Category Primary"])
    attachment: tuple[str, str, bytes] | None = None
    list_id: str | None = None
    scope: str = "internal"
    """``internal`` or ``client:<key>``: whose update may cite it (see gold.py)."""
    noted: bool = True
    """False for scale-only volume that gold.json leaves out to stay bounded."""

    @property
    def canonical(self) -> str:
        return ids.email_id(self.message_id)

    @property
    def references(self) -> list[str]:
        chain: list[str] = []
        node = self.parent
        while node is not None:
            chain.insert(0, node.message_id)
            node = node.parent
        return chain


@dataclass
class Meeting:
    uid: str
    summary: str
    start: datetime | date
    end: datetime | date
    organizer: Person
    attendees: list[Person] = field(default_factory=list)
    description: str = ""
    location: str = ""
    weekly_count: int | None = None
    """Set on a recurring master: RRULE FREQ=WEEKLY;COUNT=n."""
    byday: str | None = None
    exdates: list[datetime] = field(default_factory=list)
    recurrence_id: datetime | None = None
    status: str = "CONFIRMED"
    sequence: int = 0
    stamp: datetime | None = None
    scope: str = "internal"
    """``internal`` or ``client:<key>``: whose update may cite it (see gold.py)."""
    noted: bool = True
    """False for scale-only volume that gold.json leaves out to stay bounded."""

    def instance_starts(self) -> list[datetime | date]:
        """Every instance start a recurring master produces (before overrides and EXDATEs)."""
        if self.weekly_count is None or not isinstance(self.start, datetime):
            return [self.start]
        if self.byday is None:
            return [self.start + timedelta(weeks=i) for i in range(self.weekly_count)]
        days = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
        wanted = sorted(days[d] for d in self.byday.split(","))
        week0 = self.start - timedelta(days=self.start.weekday())
        starts: list[datetime | date] = []
        for w in range(self.weekly_count):
            for d in wanted:
                moment = (week0 + timedelta(weeks=w, days=d)).replace(tzinfo=self.start.tzinfo)
                if moment >= self.start:
                    starts.append(moment)
        return starts

    @property
    def canonical(self) -> str:
        """The id of this instance: an override is named by its RECURRENCE-ID."""
        return ids.event_id(self.uid, self.recurrence_id or self.start)


@dataclass
class NotionPage:
    hex: str
    title: str
    parents: list[tuple[str, str]]
    """(title, hex) of each ancestor page, outermost first: the export's folder path."""
    body: str
    properties: list[tuple[str, str]] = field(default_factory=list)
    scope: str = "internal"
    """``internal`` or ``client:<key>``: whose update may cite it (see gold.py)."""
    noted: bool = True
    """False for scale-only volume that gold.json leaves out to stay bounded."""

    @property
    def canonical(self) -> str:
        return ids.notion_id(self.hex)

    @property
    def url(self) -> str:
        slug = "-".join(self.title.replace("—", " ").split())
        return f"https://www.notion.so/{slug}-{self.hex}"


@dataclass
class NotionTask:
    hex: str
    title: str
    status: str
    assignee: str
    client: str
    due: date | None
    last_edited: datetime
    body: str
    scope: str = "internal"
    """``internal`` or ``client:<key>``: whose update may cite it (see gold.py)."""
    noted: bool = True
    """False for scale-only volume that gold.json leaves out to stay bounded."""

    @property
    def canonical(self) -> str:
        return ids.notion_id(self.hex)

    @property
    def url(self) -> str:
        return f"https://www.notion.so/{'-'.join(self.title.split())}-{self.hex}"
