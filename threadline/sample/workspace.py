"""Generates the whole sample workspace: four exports and gold.json, streamed week by week."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from pydantic import BaseModel

from threadline.sample import noise
from threadline.sample.cast import Cast, build_cast
from threadline.sample.clock import DEFAULT_END_WEEK, Week, timeline
from threadline.sample.gold import ALL_WEEKS, GoldBook
from threadline.sample.ics_writer import IcsWriter
from threadline.sample.incidents import SPECIALS, sync_master
from threadline.sample.mbox_writer import MboxWriter
from threadline.sample.model import Meeting, NotionPage
from threadline.sample.notion_writer import NotionWriter
from threadline.sample.seeds import export_uuid, notion_hex, rng_for
from threadline.sample.slack_writer import SlackWriter
from threadline.sample.stories import STORYLINES, backlog, internal_chatter
from threadline.sample.storykit import Kit, WeekPlan, clients_root, project_ref

FILES = {"slack": "slack-export.zip", "email": "mail.mbox", "calendar": "calendar.ics",
         "notion": "notion-export.zip", "gold": "gold.json"}


class WorkspaceManifest(BaseModel):
    out: Path
    seed: int
    weeks: list[str]
    scale: int
    files: dict[str, Path]
    counts: dict[str, int]
    """Items per platform as importers will count them: Slack messages, emails, calendar event
    instances (recurring masters expanded, EXDATEs removed), Notion pages and database rows."""
    clients: list[str]
    gold_entries: int

    @property
    def total_items(self) -> int:
        return sum(self.counts.values())


def plan_week(seed: int, cast: Cast, week: Week, last: bool) -> WeekPlan:
    plan = WeekPlan(week)
    for client in cast.clients:
        rng = rng_for(seed, "stories", client.key, week.label)
        chosen = rng.sample(STORYLINES, k=rng.choice([1, 2, 2, 3]))
        if last and client.key in SPECIALS:
            chosen = [SPECIALS[client.key], *chosen[:2]]
        if rng.random() < 0.5:
            chosen.append(internal_chatter)
        for story in [*chosen, backlog]:
            name = story.__name__
            story(Kit(seed, cast, client, plan, rng_for(seed, name, client.key, week.label), name))
    return plan


def _static_pages(seed: int, cast: Cast, tasks_hex: str) -> list[NotionPage]:
    root_title, root_hex = clients_root(seed)
    tasks_link = f"../{quote(f'Tasks {tasks_hex}')}.csv"
    pages = [NotionPage(root_hex, root_title, [], "All active client engagements.\n\n" + "".join(
        f"- [{c.project}]({quote(f'{root_title} {root_hex}')}/"
        f"{quote(f'{c.project} {project_ref(seed, c)[1]}')}.md)\n" for c in cast.clients),
        scope="internal")]
    for client in cast.clients:
        title, hex_id = project_ref(seed, client)
        people = ", ".join(f"{p.name} ({p.title})" for p in client.people)
        pages.append(NotionPage(hex_id, title, [(root_title, root_hex)], (
            f"Client: {client.name}\nContacts: {people}\nTeam: "
            f"{', '.join(p.name for p in client.team)}\nSlack: #{client.channel}\n"
            f"Weekly meeting: {client.sync.title}\n\nTasks live in the [task board]"
            f"({tasks_link}). Back to [all clients](https://www.notion.so/Clients-{root_hex})."),
            [("Status", "Active"), ("Owner", client.lead.name)],
            scope=f"client:{client.key}", noted=client.base))
    wiki = ("Northwind Wiki", notion_hex(seed, "wiki"))
    pages.append(NotionPage(wiki[1], wiki[0], [], "Handbook, rotas and how-tos.",
                            scope="internal"))
    for title, body in [("Lunch rota", "Mon: Sam\nTue: Priya\nWed: Marco\nThu: Lena\nFri: Jane"),
                        ("Onboarding checklist", "- Laptop\n- 1Password\n- Slack channels"),
                        ("Expenses policy", "Receipts over £25 need a photo.")]:
        pages.append(NotionPage(notion_hex(seed, "wiki", title), title, [wiki], body))
    return pages


def generate_workspace(out: Path, seed: int = 7, weeks: int = 4, scale: int = 1,
                       end_week: str | None = None) -> WorkspaceManifest:
    """Write the sample exports and gold.json into ``out``; same arguments, same bytes."""
    out.mkdir(parents=True, exist_ok=True)
    cast = build_cast(seed, scale)
    span = timeline(end_week or DEFAULT_END_WEEK, weeks)
    gold = GoldBook(cast.base_clients, [w.label for w in span])
    paths = {k: out / name for k, name in FILES.items()}
    tasks_hex = notion_hex(seed, "tasks-db")
    slack = SlackWriter(paths["slack"])
    mbox = MboxWriter(paths["email"])
    ics = IcsWriter(paths["calendar"], cast.user, "Europe/London",
                    span[0].monday - timedelta(days=7), span[-1].monday + timedelta(days=60))
    notion = NotionWriter(paths["notion"], export_uuid(seed, "notion"), tasks_hex)
    try:
        slack.write_directory(cast)
        for page in _static_pages(seed, cast, tasks_hex):
            notion.write_page(page)
            if page.noted:
                gold.note(page.canonical, ALL_WEEKS, page.scope)
        masters = [sync_master(seed, cast, c, span) for c in cast.clients]
        for master in [*masters, noise.standup(seed, cast, span)]:
            _write_master(ics, gold, master)
        for week in span:
            _write_week(seed, cast, week, week is span[-1], scale, slack, mbox, ics, notion,
                        gold)
    finally:
        slack.close()
        mbox.close()
        ics.close()
        notion.close()
    entries = gold.write(paths["gold"])
    return WorkspaceManifest(
        out=out, seed=seed, weeks=[w.label for w in span], scale=scale, files=paths,
        counts={"slack": slack.messages, "email": mbox.messages, "calendar": ics.instances,
                "notion": notion.pages + notion.rows},
        clients=[c.name for c in cast.clients], gold_entries=entries)


def _write_master(ics: IcsWriter, gold: GoldBook, master: Meeting) -> None:
    ics.write(master)
    if not master.noted:
        return
    excluded = set(master.exdates)
    for start in master.instance_starts():
        if start not in excluded:
            instance = Meeting(master.uid, master.summary, start, start, master.organizer)
            gold.note(instance.canonical, f"{start:%G-W%V}", master.scope)


def _write_week(seed: int, cast: Cast, week: Week, last: bool, scale: int, slack: SlackWriter,
                mbox: MboxWriter, ics: IcsWriter, notion: NotionWriter, gold: GoldBook) -> None:
    plan = plan_week(seed, cast, week, last)
    label = week.label
    for day in week.days:
        for conv in cast.conversations:
            messages = plan.slack.pop((conv.id, day), [])
            messages += noise.slack_day(seed, cast, conv, day, scale)
            slack.write_day(conv, day, messages)
            for message in messages:
                if message.noted:
                    gold.note(message.canonical, label, message.scope)
        mails = plan.mail.pop(day, []) + noise.mail_day(seed, cast, day, scale)
        for mail in sorted(mails, key=lambda m: (m.moment, m.message_id)):
            mbox.write(mail)
            if mail.noted:
                gold.note(mail.canonical, label, mail.scope)
    if plan.slack or plan.mail:
        raise AssertionError(f"{label}: storyline items fell outside the week")
    for meeting in [*plan.meetings, *noise.week_meetings(seed, cast, week, scale)]:
        ics.write(meeting)
        if meeting.noted:
            gold.note(meeting.canonical, label, meeting.scope)
    for page in plan.pages:
        notion.write_page(page)
        if page.noted:
            gold.note(page.canonical, label, page.scope)
    for task in plan.tasks:
        notion.write_task(task)
        if task.noted:
            gold.note(task.canonical, label, task.scope)
    gold.facts(label, plan.facts)

