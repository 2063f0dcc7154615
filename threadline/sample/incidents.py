"""The weekly client syncs (recurring events) and the final week's calendar incidents:
Acme's review turned into a crisis call and moved to Tuesday, Alpha's sync moved to Friday,
Globex's sync cancelled. They exercise RRULE, RECURRENCE-ID and STATUS:CANCELLED handling."""

from __future__ import annotations

from datetime import datetime, timedelta

from threadline.sample.cast import LENA, SAM, Cast, Client
from threadline.sample.clock import Week, at, long_date
from threadline.sample.model import Meeting
from threadline.sample.seeds import short_hex
from threadline.sample.storykit import Kit


def sync_uid(seed: int, client: Client) -> str:
    return f"{short_hex(26, seed, 'sync', client.key)}@google.com"


def sync_start(client: Client, week: Week) -> datetime:
    sync = client.sync
    return at(week.day(sync.weekday), sync.hour, sync.minute)


def sync_master(seed: int, cast: Cast, client: Client, weeks: list[Week]) -> Meeting:
    start = sync_start(client, weeks[0])
    return Meeting(
        sync_uid(seed, client), client.sync.title, start,
        start + timedelta(minutes=client.sync.minutes), cast.user,
        [cast.user, *client.team[1:], *client.people],
        f"Weekly status for the {client.project}: progress, risks, decisions.", "Google Meet",
        weekly_count=len(weeks), scope=f"client:{client.key}", noted=client.base)


def _override(kit: Kit, start: datetime, minutes: int, summary: str,
              status: str = "CONFIRMED") -> Meeting:
    client = kit.client
    master = sync_master(kit.seed, kit.cast, client, [kit.week])
    meeting = Meeting(master.uid, summary, start, start + timedelta(minutes=minutes),
                      master.organizer, master.attendees, master.description, master.location,
                      recurrence_id=sync_start(client, kit.week), status=status, sequence=1,
                      scope=kit.scope, noted=client.base)
    kit.plan.meetings.append(meeting)
    return meeting


def crisis_call(kit: Kit) -> None:
    """Acme: a broken deploy turns Thursday's review into Tuesday's crisis call."""
    client, rng, user = kit.client, kit.rng, kit.cast.user
    tom, dev = client.people[0], client.people[-1]
    failing = rng.choice([12, 18, 20, 25])
    deploy = kit.moment(0, 7, 30)
    alert = kit.say(kit.conv(), kit.moment(0, 8, 41), dev,
                    f"{user.mention} {SAM.mention} checkout is throwing 502s since this "
                    f"morning's {deploy:%H:%M} deploy, roughly {failing}% of orders failing.")
    kit.reply(alert, 6, SAM, "Rolling back now, will confirm in 15 minutes.")
    kit.reply(alert, 25, SAM, "Rolled back. Error rate is back to baseline.")
    call_start = at(kit.day(1), 10, 0)
    kit.reply(alert, 40, user, f"Let's turn Thursday's review into a crisis call tomorrow "
              f"{call_start:%H:%M}. {tom.mention} invite updated.")
    call = _override(kit, call_start, 60, "Acme crisis call")
    summary = kit.mail(kit.moment(1, 14), SAM, [tom, dev], "Incident summary: checkout 502s",
                       f"Hi Tom, Dev,\n\nSummary of Monday's incident:\n\n- {deploy:%H:%M} "
                       f"deploy shipped a payment-gateway timeout of 2s instead of 20s\n- About "
                       f"{failing}% of checkouts failed for 55 minutes\n- Rolled back at "
                       "09:06; fix with a config test is in review\n\nTimeline attached.\n\n"
                       "Sam\n\n-- \nSam Patel\nLead Developer, Northwind Digital",
                       cc=[user], attachment=("incident-timeline.pdf", "application/pdf",
                                              b"%PDF-1.4\n% incident timeline\n%%EOF\n"))
    kit.forward(summary, [LENA], "Lena, for the incident log. No SLA credit due, under an hour.")
    kit.fact(f"Incident: about {failing}% of checkouts failed after the "
             f"{long_date(kit.day(0))} deploy and were rolled back; Thursday's weekly review "
             f"became an Acme crisis call on {long_date(kit.day(1))}, and an incident summary "
             "was sent by email.", alert, call, summary)


def moved_sync(kit: Kit) -> None:
    """Alpha: the client asks to move this week's sync to Friday."""
    client, user = kit.client, kit.cast.user
    olivia = client.contact
    original = sync_start(client, kit.week)
    moved_to = original + timedelta(days=(4 - original.weekday()))
    ask = kit.mail(kit.moment(0, 9), olivia, [user], "Moving this week's sync",
                   f"Hi Jane,\n\nI'm at the Leeds partner summit all day on "
                   f"{long_date(original.date())}. Could we move our sync to Friday, same "
                   f"time?\n\nThanks,\nOlivia\n\n-- \n{olivia.name}\n{olivia.title}, "
                   f"{client.name}", fmt="html")
    done = kit.mail(kit.moment(0, 10), user, [olivia], "Re: Moving this week's sync",
                    f"No problem, moved to {long_date(moved_to.date())} at "
                    f"{moved_to:%H:%M}.\n\nJane", parent=ask)
    meeting = _override(kit, moved_to, client.sync.minutes, client.sync.title)
    # Names another client on purpose: gold.py files it under Alpha, forbidden for Acme.
    note = kit.say(kit.conv(), kit.moment(0, 10, 20), user,
                   f"{olivia.first} asked to move this week's sync to Friday {moved_to:%H:%M}. "
                   "Suits us too: Tuesday is taken by the Acme Corp crisis call.")
    kit.fact(f"This week's {client.sync.title} moved from {long_date(original.date())} to "
             f"{long_date(moved_to.date())} at {moved_to:%H:%M} at {olivia.first}'s "
             "request.", done, meeting, note)


def cancelled_sync(kit: Kit) -> None:
    """Globex: this week's sync is cancelled."""
    client, user = kit.client, kit.cast.user
    maria = client.contact
    original = sync_start(client, kit.week)
    ask = kit.mail(at(kit.day(0), 9, 5, tz=maria.tz), maria, [user],
                   "Skip this week's sync?",
                   f"Hi Jane,\n\nKevin is out this week and nothing is blocked on our side. "
                   f"Shall we skip {long_date(original.date())} and pick up the week after?"
                   f"\n\nMaria", fmt="plain")
    ok = kit.mail(kit.moment(0, 15), user, [maria], "Re: Skip this week's sync?",
                  "Fine by me, I've cancelled it. Talk next week.\n\nJane", parent=ask)
    meeting = _override(kit, original, client.sync.minutes, client.sync.title, "CANCELLED")
    kit.fact(f"The {client.sync.title} on {long_date(original.date())} was cancelled "
             f"({maria.first}'s request, Kevin out); syncs resume the following week.",
             ok, meeting)


SPECIALS = {"acme": crisis_call, "alpha": moved_sync, "globex": cancelled_sync}
