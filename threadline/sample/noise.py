"""Everyday chatter around the storylines: lunch plans, bots, newsletters, internal meetings.

Noise is generated per (conversation, day) or per (mailbox, day) from its own RNG, so it can be
streamed straight to the writers. The base layer is the same at every scale; ``scale`` adds an
extra layer (not noted in gold.json) on top.
"""

from __future__ import annotations

import random
from datetime import date, timedelta

from threadline.sample.cast import COMPANY_DOMAIN, LENA, Cast, Conversation, Person
from threadline.sample.clock import Week, at, short_date
from threadline.sample.model import Mail, Meeting, SlackMessage
from threadline.sample.seeds import decimal_id, rng_for, short_hex

NOISE_MICRO = 500_000
_DAILY = {"general": (1, 5), "random": (4, 14), "ops": (3, 9), "group": (1, 4), "im": (2, 8),
          "mpim": (1, 5), "client": (6, 16)}
_FOOD = ["ramen", "the falafel place", "pizza", "the new Thai spot", "burritos", "dim sum"]
_RANDOM = [
    "Anyone up for {food} at {time}?", "Who's in for {food} on Friday? Reply in the thread by 11.",
    "Has anyone tried {food}? Worth the queue?", "{who} your parcel is at reception.",
    "Quiz night on {date}, we need a team name.", "Is it just me or is the wifi slow today?",
    "{n} people at the climbing meetup last night, new record.",
    "Whoever left the oat milk in the fridge: thank you.", "Fire drill at 14:00 today, fyi.",
    "The coffee machine is fixed :tada:", "Book club: we're reading 'Shape Up' next.",
    "Happy birthday {who}! Cake in the kitchen at 3.",
    "Lost: blue umbrella, last seen by the lifts.",
]
_GENERAL = [
    "Reminder: timesheets are due Friday 17:00.", "All-hands Thursday 16:00 in the big room.",
    "Please welcome {who} to the team!", "The office is closed on {date} for the floor move.",
    "New expenses policy is on the wiki; receipts over £25 need a photo.",
    "Show and tell on {date}: {who} demos the new {page} prototype.",
    "Reminder: the heating engineer visits on {date}, meeting room 2 is closed.",
    "Quarterly survey closes {date}, takes 4 minutes.",
]
_OPS = [
    "Laptop refresh: {who}, yours is ready for pick-up.",
    "VPN maintenance this Saturday 22:00-23:00.",
    "Figma seats: we're at 14/15, ping me before inviting anyone.",
    "1Password vault for contractors is set up.",
    "Reminder to rotate the staging API keys by {date}.",
]
_LEADERSHIP = [
    "Proposal for Initech went out, £{n}k over 12 weeks.", "Two dev interviews on {date}.",
    "Pipeline review moved to Friday.", "Utilisation last week: {p}%.",
    "Renewal conversation with Umbrella Health on {date}, they want a {n}% discount.",
    "Cash position is fine; {n} invoices out, two over 30 days.",
    "Draft of next year's rate card is in the drive, comments by {date}.",
]
_DM = ["got 5 min?", "running {n} late, start without me", "can you look at PR #{n} when you "
       "get a sec?", "thanks!", "sure, after lunch", "did you see the email from finance?",
       "joining now", "can we push our 1:1 to {time}?", "nice work on the {page} page today",
       "I'm off on {date}, fyi", "coffee at {time}?"]
_CLIENT = ["Morning all :wave:", "Staging is updated with the {page} fixes ({n} tickets).",
           "Thanks!", "I'll pick up the {page} bug after standup.",
           "Sharing the latest wireframes.", "+1",
           "PR #{n} for the {page} page is ready for review.",
           "{who} can you check the {page} page on mobile? The spacing looks off below 375px.",
           "Pushed the copy changes to the {page} page.", "QA notes for the {page} page are in "
           "the ticket.", "Heads-up: staging is down for 10 minutes at {time}.",
           "Lighthouse on the {page} page: performance {p}, accessibility {q}.",
           "{who} the {page} designs look great, two small comments in Figma."]
_PAGES = ["home", "pricing", "checkout", "contact", "product listing", "blog", "careers",
          "dashboard", "sign-up", "search results", "account settings", "FAQ"]
_JIRA = ["In Progress", "In Review", "Done", "QA"]
_NEWSLETTERS = [("Marketing Brew", "crew@marketingbrew.example", "Marketing Brew"),
                ("The Analytics Digest", "digest@analytics-weekly.example", "This week in data"),
                ("Figma", "no-reply@figma.example", "What's new in Figma"),
                ("AWS Billing", "billing@aws.example", "Your AWS bill estimate")]


def _weekday_after(day: date, days: int) -> date:
    later = day + timedelta(days=days)
    return later + timedelta(days=(7 - later.weekday()) % 7 if later.weekday() >= 5 else 0)


def _fill(rng: random.Random, template: str, people: list[Person], day: date) -> str:
    return template.format(food=rng.choice(_FOOD), who=rng.choice(people).mention,
                           date=short_date(_weekday_after(day, rng.randrange(2, 12))),
                           n=rng.randrange(5, 120), p=rng.randrange(60, 95),
                           q=rng.randrange(80, 101), page=rng.choice(_PAGES),
                           time=f"{rng.randrange(9, 18)}:{rng.choice(['00', '15', '30', '45'])}")


def _pool(conv: Conversation) -> tuple[list[str], tuple[int, int]]:
    if conv.scope.startswith("client:"):
        return _CLIENT, _DAILY["client"]
    if conv.kind in ("im", "mpim", "group"):
        return (_LEADERSHIP if conv.kind == "group" else _DM), _DAILY[conv.kind]
    return {"general": _GENERAL, "random": _RANDOM, "ops": _OPS}[conv.name], _DAILY[conv.name]


def slack_day(seed: int, cast: Cast, conv: Conversation, day: date, scale: int
              ) -> list[SlackMessage]:
    rng = rng_for(seed, "noise", conv.id, day)
    pool, (low, high) = _pool(conv)
    if day.weekday() >= 5:
        low, high = 0, 3 if conv.name == "random" else 1
    count = rng.randrange(low, high + 1)
    # Generated clients' channels are volume only: gold.json notes base-client scopes alone.
    base = conv.scope == "internal" or conv.scope in {f"client:{c.key}" for c in
                                                       cast.base_clients}
    layers = [(count, base)]
    if scale > 1 and conv.scope == "internal":
        layers.append((count * (scale - 1), False))
    people = [p for p in cast.slack_people() if p.slack_id in conv.members and not p.is_bot]
    out: list[SlackMessage] = []
    for amount, noted in layers:
        for _ in range(amount):
            when = at(day, rng.randrange(8, 19), rng.randrange(60), rng.randrange(60))
            micro = NOISE_MICRO + len(out)
            roll = rng.random()
            if (conv.name == "ops" and roll < 0.2) or (conv.scope != "internal" and roll < 0.12):
                bot = cast.bots[0] if roll < 0.07 else cast.bots[1]
                repo = "infrastructure" if conv.name == "ops" else conv.name.split("-")[0] + "-web"
                text = (f"Deployed `main@{short_hex(7, seed, conv.id, when, micro)}` to "
                        f"{rng.choice(['production', 'staging'])} ({repo}), "
                        f"{rng.randrange(1, 9)} commits" if bot is cast.bots[0] else
                        f"NW-{rng.randrange(100, 2000)} {rng.choice(_PAGES)}: moved to "
                        f"*{rng.choice(_JIRA)}*")
                out.append(SlackMessage(conv.id, when, micro, bot, text, "bot_message",
                                        bot_name=bot.name, scope=conv.scope, noted=noted))
                continue
            author = rng.choice(people)
            text = _fill(rng, rng.choice(pool), people, day)
            files: list[dict[str, object]] = []
            subtype = None
            if "wireframes" in text:
                subtype = "file_share"
                files = [{"id": f"F{short_hex(10, seed, conv.id, when, micro).upper()}",
                          "name": f"wireframes-v{rng.randrange(2, 9)}.pdf",
                          "mimetype": "application/pdf", "filetype": "pdf",
                          "size": rng.randrange(90_000, 4_000_000)}]
            out.append(SlackMessage(conv.id, when, micro, author, text, subtype,
                                    edited_after=rng.randrange(30, 600) if roll > 0.95 else None,
                                    files=files, scope=conv.scope, noted=noted))
    if conv.scope != "internal" and day.weekday() == 2 and rng.random() < 0.3 and people:
        joiner = rng.choice(people)
        out.append(SlackMessage(conv.id, at(day, 8, 1), NOISE_MICRO + len(out), joiner,
                                f"<@{joiner.slack_id}> has joined the channel", "channel_join",
                                scope=conv.scope, noted=base))
    return out


def mail_day(seed: int, cast: Cast, day: date, scale: int) -> list[Mail]:
    rng = rng_for(seed, "mail-noise", day)
    out: list[Mail] = []
    count = rng.randrange(2, 7) if day.weekday() < 5 else rng.randrange(0, 3)
    for i in range(count * scale):
        name, address, topic = rng.choice(_NEWSLETTERS)
        sender = Person(name, address, "", name)
        when = at(day, rng.randrange(6, 20), rng.randrange(60), rng.randrange(60))
        message_id = f"<{short_hex(20, seed, 'nl', day, i)}@mailer.{address.split('@')[1]}>"
        body = (f"{topic}, {short_date(day)}\n\n{rng.randrange(3, 9)} stories this week: "
                "attribution after cookies, why dashboards rot, and a 5-minute guide to "
                "Looker Studio filters.\n\nFrom the editor: thanks for reading.\n\n"
                "Unsubscribe: https://example.com/u")
        out.append(Mail(message_id, decimal_id(seed, message_id), when, sender, [cast.user],
                        topic, body, fmt="html", labels=["Inbox", "Category Promotions"],
                        list_id=f"<news.{address.split('@')[1]}>", noted=i < count))
    if day.weekday() == 0:
        message_id = f"<CA+{short_hex(20, seed, 'ops-mail', day)}@mail.gmail.com>"
        out.append(Mail(message_id, decimal_id(seed, message_id), at(day, 8, 30), LENA,
                        [Person("Everyone", f"team@{COMPANY_DOMAIN}", "", "")],
                        f"Week of {short_date(day)}: office notes",
                        "Hi all,\n\nCleaners come Wednesday; please clear desks.\n"
                        "Friday lunch is on us.\n\nLena", fmt="plain",
                        labels=["Inbox", "Category Updates"]))
    return out


def week_meetings(seed: int, cast: Cast, week: Week, scale: int) -> list[Meeting]:
    rng = rng_for(seed, "meeting-noise", week.label)
    user = cast.user
    out = [Meeting(f"{short_hex(26, seed, 'lunch', week.label)}@google.com", "Team lunch",
                   at(week.day(4), 12, 30), at(week.day(4), 13, 30), LENA, cast.staff[:5],
                   "Friday lunch, on the company.", "Dishoom")]
    leave = week.day(rng.randrange(5))
    who = rng.choice(cast.staff[:5])
    out.append(Meeting(f"{short_hex(26, seed, 'ooo', week.label)}@google.com",
                       f"{who.first} out of office", leave, leave + timedelta(days=1), who,
                       [user]))
    for i in range(scale - 1):
        day = week.day(rng.randrange(5))
        start = at(day, rng.randrange(9, 17), rng.choice([0, 30]))
        out.append(Meeting(f"{short_hex(26, seed, 'int', week.label, i)}@google.com",
                           f"Interview: candidate {week.index * scale + i}", start,
                           start + timedelta(minutes=45), user, [user], noted=False))
    return out


def standup(seed: int, cast: Cast, weeks: list[Week]) -> Meeting:
    """Daily standup Mon-Fri, with the first Friday dropped (team offsite) via EXDATE."""
    start = at(weeks[0].monday, 9, 30)
    return Meeting(f"{short_hex(26, seed, 'standup')}@google.com", "Northwind standup", start,
                   start + timedelta(minutes=15), cast.user, cast.staff[:5],
                   "Yesterday / today / blockers.", "Google Meet", weekly_count=len(weeks),
                   byday="MO,TU,WE,TH,FR", exdates=[at(weeks[0].day(4), 9, 30)])
