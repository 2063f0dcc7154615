"""Cross-platform storylines: what happens to a client in one week, and the facts it proves.

Each storyline writes items on several platforms (a Slack thread, an email exchange, a meeting,
a Notion row) and states one gold fact citing the items that support it. Phrasing comes from
pools picked with the storyline's RNG, with concrete numbers, names and dates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from urllib.parse import quote

from threadline.sample.cast import LENA, MARCO, PRIYA, SAM, Client
from threadline.sample.clock import long_date, short_date
from threadline.sample.seeds import notion_hex
from threadline.sample.storykit import Kit, clients_root, money, project_ref

_TASKS = ["Homepage hero QA", "Migrate blog archive", "Set up 301 redirects",
          "Accessibility audit fixes", "Cookie banner copy", "Analytics event map",
          "Staging environment refresh", "Image CDN rollout", "Newsletter template",
          "Search results page", "Footer navigation", "Performance budget check",
          "Campaign UTM conventions", "Dashboard QA", "Data dictionary", "Load test checkout"]
_STATUSES = ["Not started", "In progress", "In progress", "Blocked", "Done"]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


def _other_base(kit: Kit) -> Client | None:
    others = [c for c in kit.cast.base_clients if c.key != kit.client.key]
    return kit.rng.choice(others) if kit.client.base and others else None


def scope_change(kit: Kit) -> None:
    client, rng, conv = kit.client, kit.rng, kit.conv()
    contact, user = client.contact, kit.cast.user
    thing = rng.choice(client.topics)
    days = rng.choice([3, 4, 5, 6, 8, 10])
    cost = money(client, days * rng.choice([650, 700, 750, 800]))
    wed, thu = kit.day(2), kit.day(3)
    if client.shared_channel:
        opener = kit.say(conv, kit.moment(1, rng.choice([9, 10, 11])), contact, kit.pick([
            f"Hi team, leadership has asked us to add {thing} to the relaunch. Can that fit "
            "into the current phase?",
            f"Quick one: we'd like to bring {thing} into scope. What does it do to the "
            "timeline and budget?",
            f"{user.mention} after yesterday's board meeting we need {thing} for launch. "
            "Realistic?"]))
        kit.reply(opener, rng.randrange(8, 40), user, kit.pick([
            f"Thanks {contact.first}, doable, but it's a scope change. I'll email a proper "
            "estimate tomorrow.",
            f"Noted {contact.first}. Let me size it with {SAM.mention}; estimate by email "
            "tomorrow morning."]))
    else:
        opener = kit.say(conv, kit.moment(1, rng.choice([9, 10, 14])), user, kit.pick([
            f"Heads-up: {contact.name} called, {client.name} want {thing} added to the "
            f"{client.project}. I'll write it up as a change request. {SAM.mention} can you "
            "sanity-check the effort?",
            f"{contact.first} asked for {thing} on top of the agreed scope. Treating it as a "
            f"change request; estimate goes out tomorrow. {PRIYA.mention} any dependencies? "
            f"<https://www.notion.so/Change-log-{kit.page_hex('change-log')}|spec>"]))
        kit.reply(opener, rng.randrange(10, 90), kit.client.team[1],
                  f"Rough guess {days} days including QA, assuming no new integrations.")
    proposal = kit.mail(kit.moment(2, 9), user, [contact], f"Change request: {_cap(thing)}",
                        f"Hi {contact.first},\n\nAs discussed, here is the estimate for "
                        f"{thing}:\n\n- Effort: {days} days (design, build, QA)\n- Cost: "
                        f"{cost}\n- Impact: the phase end moves by {days} working days\n\n"
                        "Could you confirm by EOD Thursday so we can plan the next sprint?"
                        f"\n\nBest,\nJane\n\n-- \nJane Doe\nAccount Director, Northwind "
                        "Digital\n+44 20 7946 0321")
    approval = kit.mail(kit.moment(2, rng.choice([14, 15, 16])), contact, [user],
                        f"Re: Change request: {_cap(thing)}", kit.pick([
                            f"Hi Jane,\n\nApproved, please go ahead at {days} days / {cost}.",
                            f"Jane,\n\nThanks for the quick turnaround. We're happy with "
                            f"{cost}; go ahead.",
                            f"Hi Jane,\n\nSigned off on our side ({cost}). Let's review the "
                            "plan on Thursday."]) +
                        f"\n\nThanks,\n{contact.first}\n\n-- \n{contact.name}\n{contact.title}, "
                        f"{client.name}", parent=proposal, cc=client.people[1:2],
                        fmt=kit.pick(["alt", "plain"]))
    kit.forward(approval, [SAM], "Sam, FYI: approved. Can you add it to next sprint?")
    review = kit.meeting(f"{client.name} scope review", kit.moment(3, 14, 0), 30,
                         [user, contact, SAM], f"Walk through the plan for {thing}.")
    kit.fact(f"Scope change approved: {thing} added to the {client.project} (+{days} days, "
             f"{cost}); {contact.name} confirmed by email on {long_date(wed)}, and the plan was "
             f"reviewed on {long_date(thu)}.", opener, approval, review)


def tracking_gap(kit: Kit) -> None:
    client, rng, conv = kit.client, kit.rng, kit.conv()
    tech, user = client.people[-1], kit.cast.user
    event = kit.pick(["purchase", "generate_lead", "form_submit", "sign_up", "demo_request"])
    cause = kit.pick([
        "the consent banner update blocked the GTM container until the visitor scrolled",
        "the new checkout template dropped the dataLayer push",
        "a renamed CSS class broke the form-submit trigger",
        "the GA4 measurement ID was still pointing at the staging property"])
    usual, low = rng.randrange(40, 400), rng.randrange(0, 12)
    gap_days = rng.randrange(2, 6)
    since = kit.day(0) - timedelta(days=gap_days)
    other = _other_base(kit)
    echo = f" Same pattern we fixed on the {other.name} account last month." if (
        other and rng.random() < 0.5) else ""
    alert = kit.say(conv, kit.moment(rng.choice([0, 1]), rng.choice([9, 10, 11])), PRIYA,
                    f"Heads-up: `{event}` conversions dropped from ~{usual}/day to {low} since "
                    f"{short_date(since)}. Looks like {cause}.{echo} Investigating.",
                    edited=rng.random() < 0.3)
    kit.reply(alert, rng.randrange(5, 30), SAM, kit.pick([
        "On it, I can reproduce it on staging.", "Confirmed, the tag never fires. Fix today."]))
    fix = kit.mail(kit.moment(2, rng.choice([10, 11, 12])), SAM, [tech],
                   f"Conversion tracking fix: {event}",
                   f"Hi {tech.first},\n\nWe found why `{event}` stopped reporting: {cause}.\n"
                   f"The fix went live this morning and GA4 realtime shows the events again. "
                   f"The {gap_days}-day gap will be annotated in the reports; the numbers for "
                   f"that window are not recoverable.\n\nFrom now on the tag is covered by our "
                   f"regression check.\n\nCheers,\nSam\n\n-- \nSam Patel\nLead Developer, "
                   "Northwind Digital", cc=[user])
    thanks = kit.mail(kit.moment(2, 16), tech, [SAM], f"Re: Conversion tracking fix: {event}",
                      kit.pick([f"Thanks Sam, can we go through it on {short_date(kit.day(3))}?",
                                "Great, thanks. Let's review the numbers together."]),
                      parent=fix, cc=[user], fmt="html" if rng.random() < 0.4 else "alt")
    review = kit.meeting(f"{client.name} tracking review", kit.moment(3, 11, 30), 30,
                         [user, PRIYA, SAM, tech], f"Review of the `{event}` fix and the gap.")
    kit.fact(f"Conversion tracking gap: `{event}` was under-reported for {gap_days} days from "
             f"{long_date(since)} because {cause}; fixed on {long_date(kit.day(2))} and reviewed "
             f"with {tech.name} on {long_date(kit.day(3))}.", alert, fix, review)
    del thanks


def task_done(kit: Kit) -> None:
    rng, user = kit.rng, kit.cast.user
    title = f"{rng.choice(_TASKS)} ({kit.client.name})"
    owner = rng.choice(kit.client.team)
    weekday = rng.randrange(5)
    edited = kit.moment(weekday, rng.choice([11, 15, 17]))
    task = kit.task(title, "Done", owner, kit.day(4), edited,
                    f"Acceptance criteria agreed with {kit.client.contact.name}.\n\n"
                    f"- [x] Build\n- [x] QA on staging\n- [x] Sign-off from {user.name}")
    note = kit.say(kit.conv(), edited + timedelta(minutes=rng.randrange(2, 20)), owner,
                   kit.pick([f"{title} is done :white_check_mark: moved to Done in "
                             f"<{task.url}|Notion>.",
                             f"Shipped: <{task.url}|{title}>. Status is Done."]))
    kit.fact(f"Completed: {title}, marked Done in Notion on {long_date(edited.date())}.",
             task, note)


_DECISIONS = [("hosting", ["Vercel", "AWS CloudFront"]), ("CMS", ["Contentful", "Sanity"]),
              ("dashboard tool", ["Looker Studio", "Power BI"]),
              ("ad budget split", ["60/40 LinkedIn/Meta", "50/50 LinkedIn/Meta"]),
              ("launch approach", ["a soft launch to 10% of traffic", "a big-bang switch-over"])]


def decision(kit: Kit) -> None:
    client, rng, user = kit.client, kit.rng, kit.cast.user
    contact = client.contact
    topic, options = rng.choice(_DECISIONS)
    choice = rng.choice(options)
    ask = kit.mail(kit.moment(1, rng.choice([10, 15])), user, [contact],
                   f"Options for the {topic}",
                   f"Hi {contact.first},\n\nTwo options for the {topic}:\n\n1. {options[0]}\n"
                   f"2. {options[1]}\n\nWe lean towards {choice}. A decision by Friday keeps "
                   "the plan intact.\n\nBest,\nJane", fmt="alt")
    answer = kit.mail(kit.moment(3, rng.choice([9, 12])), contact, [user],
                      f"Re: Options for the {topic}",
                      f"Jane,\n\nLet's go with {choice}.\n\n{contact.first}", parent=ask)
    page = kit.page(f"Decision — {topic} ({short_date(kit.day(3))})",
                    [clients_root(kit.seed), project_ref(kit.seed, client)],
                    f"Agreed with {contact.name} by email on {long_date(kit.day(3))}: "
                    f"**{choice}**.\n\nAlternatives considered: {', '.join(options)}.\n\n"
                    f"Part of [{client.project}]"
                    f"(../{quote(' '.join(project_ref(kit.seed, client)))}.md). Follow-ups on the "
                    "[task board](https://www.notion.so/Tasks-"
                    f"{notion_hex(kit.seed, 'tasks-db')}).",
                    [("Status", "Agreed"), ("Owner", user.name)])
    kit.fact(f"Decision: {choice} for the {topic}, agreed with {contact.name} on "
             f"{long_date(kit.day(3))} and logged in Notion.", answer, page)


def risk_deadline(kit: Kit) -> None:
    client, rng, user = kit.client, kit.rng, kit.cast.user
    asset = kit.pick(["final product photography", "legal sign-off on the privacy copy",
                      "brand guidelines v3", "API credentials for the CRM",
                      "the Q3 sales extract", "approved ad copy"])
    milestone = kit.pick(["content freeze", "UAT", "go-live", "campaign launch", "handover"])
    friday = kit.day(4)
    planned = friday + timedelta(days=rng.choice([3, 7, 10]))
    slipped = planned + timedelta(days=rng.choice([7, 14]))
    warn = kit.say(kit.conv(), kit.moment(1, rng.choice([9, 12, 16])), user, kit.pick([
        f"Risk: still no {asset} from {client.name}. If it's not in by EOD Friday "
        f"({short_date(friday)}), {milestone} slips from {short_date(planned)} to "
        f"{short_date(slipped)}.",
        f"Flagging: {milestone} on {short_date(planned)} depends on {asset}. Deadline for "
        f"{client.name} is EOD Friday; otherwise we're looking at {short_date(slipped)}."]))
    chaser = kit.mail(kit.moment(2, 9), user, [client.contact],
                      f"Reminder: {asset} needed by EOD Friday",
                      f"Hi {client.contact.first},\n\nA friendly reminder that we need {asset} "
                      f"by EOD {long_date(friday)}. Without it, {milestone} moves from "
                      f"{long_date(planned)} to {long_date(slipped)}.\n\nFrom our side, "
                      "everything else is on track.\n\nThanks,\nJane",
                      fmt=kit.pick(["html", "alt"]))
    kit.fact(f"Risk: {milestone} ({long_date(planned)}) slips to {long_date(slipped)} unless "
             f"{client.name} delivers {asset} by EOD {long_date(friday)}.", warn, chaser)


def upcoming(kit: Kit) -> None:
    client, rng, user = kit.client, kit.rng, kit.cast.user
    workshop = kit.pick(["Discovery workshop", "UAT kick-off", "Quarterly planning session",
                         "Analytics training", "Creative review"])
    when = kit.moment(8, rng.choice([10, 14]), 0)
    invite = kit.mail(kit.moment(rng.choice([3, 4]), 11), user, client.people,
                      f"{workshop} next Tuesday",
                      f"Hi all,\n\nConfirming the {workshop.lower()} next Tuesday, "
                      f"{long_date(when.date())} at {when:%H:%M} UK time. The calendar invite "
                      f"is on its way; agenda in Notion.\n\nBest,\nJane", cc=[MARCO])
    meeting = kit.meeting(f"{client.name} — {workshop}", when, 90, [user, MARCO, *client.people],
                          f"Agenda: goals, constraints, next steps for the {client.project}.",
                          "Google Meet")
    kit.fact(f"Upcoming: {workshop} with {client.name} on {long_date(when.date())} at "
             f"{when:%H:%M}.", invite, meeting)


def internal_chatter(kit: Kit) -> None:
    """Internal-only talk about the client: never fit for the client's own update."""
    client, rng = kit.client, kit.rng
    ops = kit.cast.conversation("ops")
    other = _other_base(kit)
    extra = f"; {other.name} PO still missing too" if other and rng.random() < 0.5 else ""
    channel = kit.conv()
    kit.say(ops, kit.moment(rng.randrange(5), rng.choice([9, 13, 17])), LENA, kit.pick([
        f"{client.name} invoice INV-{rng.randrange(1000, 9999)} is {rng.randrange(20, 60)} "
        f"days overdue{extra}. {kit.cast.user.mention} can you nudge {client.contact.first}?",
        f"Between us: {client.contact.first} hinted {client.name} may freeze budgets in Q1. "
        f"Let's not raise it in <#{channel.id}|{channel.name}>."]),
        scope="internal")


_NOTES = ["Walked through the sprint board; no blockers raised.",
          "Agreed to keep the launch checklist in Notion rather than a spreadsheet.",
          "Reviewed last week's numbers; traffic steady, bounce rate down slightly.",
          "Client asked for a one-page summary before each sync.",
          "Design feedback round two is due next week."]


def backlog(kit: Kit) -> None:
    """Everyday project admin: the sync's notes page and a few task-board rows."""
    rng, client = kit.rng, kit.client
    sync_day = kit.day(client.sync.weekday)
    attendees = ", ".join(p.name for p in [*client.team, client.contact])
    actions = "".join(f"- [ ] {rng.choice(_TASKS)} ({rng.choice(client.team).first})\n"
                      for _ in range(rng.randrange(1, 4)))
    kit.page(f"Meeting notes {short_date(sync_day)}",
             [clients_root(kit.seed), project_ref(kit.seed, client)],
             f"Attendees: {attendees}\n\n## Notes\n\n- " + "\n- ".join(rng.sample(_NOTES, 2)) +
             f"\n\n## Actions\n\n{actions}\nBack to [{client.project}]"
             f"(../{quote(' '.join(project_ref(kit.seed, client)))}.md)",
             [("Date", short_date(sync_day)), ("Type", client.sync.title)])
    for n in range(rng.randrange(1, 4)):
        title = f"{rng.choice(_TASKS)} #{kit.week.index * 10 + n + 1}"
        kit.task(title, rng.choice(_STATUSES), rng.choice(kit.client.team),
                 kit.day(4) + timedelta(days=rng.choice([0, 7, 14])),
                 kit.moment(rng.randrange(5), rng.choice([10, 14, 16])),
                 f"Part of the {kit.client.project}.")


STORYLINES: list[Callable[[Kit], None]] = [scope_change, tracking_gap, task_done, decision,
                                           risk_deadline, upcoming]
