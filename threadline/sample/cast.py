"""Who is in the sample workspace: Northwind Digital's staff, its clients and their people,
and the Slack conversations they talk in.

Three base clients are hand-written (Acme Corp, Alpha Partners, Globex); ``scale`` adds more
generated clients and staff so volume grows without touching the base storylines.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

from threadline.sample.clock import LONDON, NEW_YORK
from threadline.sample.seeds import rng_for, slack_native_id

COMPANY = "Northwind Digital"
COMPANY_DOMAIN = "northwind.example"
TEAM_ID = "T0NORTHWND"
ConvKind = Literal["channel", "group", "im", "mpim"]


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    title: str
    org: str
    slack_id: str | None = None
    """None for people who only ever email (clients not on Slack Connect)."""
    username: str = ""
    tz: ZoneInfo = LONDON
    is_bot: bool = False

    @property
    def first(self) -> str:
        return self.name.split()[0]

    @property
    def mention(self) -> str:
        return f"<@{self.slack_id}>" if self.slack_id else self.first


@dataclass(frozen=True)
class Sync:
    """A client's weekly recurring meeting."""

    title: str
    weekday: int
    hour: int
    minute: int = 0
    minutes: int = 45


@dataclass
class Client:
    key: str
    name: str
    domain: str
    project: str
    channel: str
    people: list[Person]
    lead: Person
    team: list[Person]
    sync: Sync
    base: bool
    shared_channel: bool = False
    tz: ZoneInfo = LONDON
    topics: list[str] = field(default_factory=list)
    """Domain-specific nouns the storylines draw on (scope items, assets, features)."""

    @property
    def contact(self) -> Person:
        return self.people[0]


@dataclass
class Conversation:
    id: str
    name: str
    kind: ConvKind
    members: list[str]
    scope: str
    """``internal`` or ``client:<key>``: whose context this conversation belongs to."""
    topic: str = ""
    purpose: str = ""
    created: int = 1_640_995_200
    creator: str = ""
    is_ext_shared: bool = False

    @property
    def folder(self) -> str:
        # Real exports name channel/group folders by name, DMs by id, mpims by their mpdm name.
        return self.id if self.kind == "im" else self.name


@dataclass
class Cast:
    user: Person
    staff: list[Person]
    clients: list[Client]
    bots: list[Person]
    conversations: list[Conversation]

    @property
    def base_clients(self) -> list[Client]:
        return [c for c in self.clients if c.base]

    def conversation(self, name: str) -> Conversation:
        for conv in self.conversations:
            if conv.name == name:
                return conv
        raise KeyError(name)

    def client_conv(self, client: Client) -> Conversation:
        return self.conversation(client.channel)

    def slack_people(self) -> list[Person]:
        people = [*self.staff, *self.bots]
        people += [p for c in self.clients for p in c.people if p.slack_id]
        return people


def _person(name: str, domain: str, title: str, org: str, slack: bool, tz: ZoneInfo = LONDON,
            is_bot: bool = False, short: bool = False) -> Person:
    local = name.split()[0].lower() if short else name.lower().replace(" ", ".")
    slack_id = slack_native_id("U", domain, name) if slack else None
    username = local.replace(".", "")
    return Person(name, f"{local}@{domain}", title, org, slack_id, username, tz, is_bot)


def _staff(name: str, title: str, short: bool = False) -> Person:
    return _person(name, COMPANY_DOMAIN, title, COMPANY, slack=True, short=short)


JANE = _staff("Jane Doe", "Account Director", short=True)
SAM = _staff("Sam Patel", "Lead Developer", short=True)
PRIYA = _staff("Priya Shah", "Data & Analytics Lead", short=True)
MARCO = _staff("Marco Rossi", "Senior Designer", short=True)
LENA = _staff("Lena Fischer", "Operations Manager", short=True)
BASE_STAFF = [JANE, SAM, PRIYA, MARCO, LENA]

_FIRST = ["Alex", "Jordan", "Maya", "Noah", "Chloe", "Ethan", "Zara", "Liam", "Aisha", "Oscar",
          "Hannah", "Ravi", "Elena", "Felix", "Grace", "Hugo", "Isla", "Jonas", "Keira", "Leo"]
_LAST = ["Walker", "Nguyen", "Murphy", "Kowalski", "Haddad", "Silva", "Berg", "Osei", "Moreau",
         "Tanaka", "Reid", "Costa", "Novak", "Ahmed", "Larsen", "Byrne", "Ortiz", "Clarke"]
_STAFF_TITLES = ["Developer", "Designer", "Analyst", "Project Manager", "Content Strategist"]
_CLIENT_TITLES = ["Head of Marketing", "Product Owner", "Digital Manager", "CTO", "Brand Lead"]
_CO_A = ["Blue", "North", "Iron", "Silver", "Harbor", "Summit", "Cedar", "Bright", "Red", "Oak"]
_CO_B = ["Logistics", "Foods", "Labs", "Energy", "Health", "Outdoor", "Finance", "Media", "Retail"]
_GENERIC_TOPICS = ["a customer portal login", "a new pricing page", "an events calendar",
                   "a partner directory", "a newsletter sign-up flow", "a careers section"]


def _base_clients() -> list[Client]:
    tom = _person("Tom Baker", "acme.example", "Head of Digital", "Acme Corp", slack=True)
    rachel = _person("Rachel Green", "acme.example", "Marketing Manager", "Acme Corp", slack=True)
    dev = _person("Dev Kumar", "acme.example", "IT Lead", "Acme Corp", slack=True)
    olivia = _person("Olivia Chen", "alphapartners.example", "CMO", "Alpha Partners", slack=False)
    ben = _person("Ben Carter", "alphapartners.example", "Campaign Manager", "Alpha Partners",
                  slack=False)
    maria = _person("Maria Lopez", "globex.example", "VP Data", "Globex", slack=False, tz=NEW_YORK)
    kevin = _person("Kevin Wu", "globex.example", "Data Engineer", "Globex", slack=False,
                    tz=NEW_YORK)
    return [
        Client("acme", "Acme Corp", "acme.example", "Acme Website Relaunch", "acme-website",
               [tom, rachel, dev], JANE, [JANE, SAM, MARCO],
               Sync("Acme weekly review", 3, 15, 0, 45), True, shared_channel=True,
               topics=["a German and French version of the product catalogue",
                       "a store locator page", "gated whitepaper downloads",
                       "a B2B trade-account area", "a cookie-consent banner redesign"]),
        Client("alpha", "Alpha Partners", "alphapartners.example", "Alpha Q4 Campaign",
               "alpha-campaign", [olivia, ben], JANE, [JANE, PRIYA, MARCO],
               Sync("Alpha Partners weekly sync", 2, 11, 0, 30), True,
               topics=["a LinkedIn retargeting flight", "two extra event landing pages",
                       "a 15-second cut of the hero video", "a Spanish version of the ads",
                       "a webinar registration funnel"]),
        Client("globex", "Globex", "globex.example", "Globex Data Platform", "globex-data",
               [maria, kevin], JANE, [JANE, PRIYA, SAM],
               Sync("Globex data sync", 1, 16, 0, 60), True, tz=NEW_YORK,
               topics=["the EMEA sales data in the revenue dashboard",
                       "a daily instead of weekly refresh", "a churn-risk score",
                       "row-level security for regional managers", "a Snowflake cost report"]),
    ]


def _extra_staff(scale: int) -> list[Person]:
    people = []
    for i in range(2 * (scale - 1)):
        name = f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"
        if i >= len(_FIRST) * len(_LAST):
            name += f" {i}"
        people.append(_staff(name, _STAFF_TITLES[i % len(_STAFF_TITLES)]))
    return people


def _extra_clients(seed: int, scale: int, staff: list[Person]) -> list[Client]:
    clients = []
    for i in range(3 * (scale - 1)):
        rng = rng_for(seed, "client", i)
        a, b = _CO_A[i % len(_CO_A)], _CO_B[(i // len(_CO_A)) % len(_CO_B)]
        n = i // (len(_CO_A) * len(_CO_B))
        name = f"{a} {b} {n + 2}" if n else f"{a} {b}"
        key = name.lower().replace(" ", "")
        domain = f"{key}.example"
        first_names = rng.sample(_FIRST, 2)
        people = [
            _person(f"{first} {rng.choice(_LAST)}", domain, title, name, slack=False)
            for first, title in zip(first_names, rng.sample(_CLIENT_TITLES, 2), strict=True)
        ]
        team = [JANE, *rng.sample(staff, 2)] if len(staff) >= 2 else [JANE, SAM]
        sync = Sync(f"{name} weekly check-in", rng.randrange(5), rng.choice([9, 10, 14, 16]),
                    rng.choice([0, 30]), 30)
        project = f"{name} {rng.choice(['Replatform', 'Growth Sprint', 'Analytics Setup'])}"
        clients.append(Client(key, name, domain, project, f"{key}-project", people, JANE, team,
                              sync, False, topics=rng.sample(_GENERIC_TOPICS, 3)))
    return clients


def _conversations(staff: list[Person], clients: list[Client], bots: list[Person]
                   ) -> list[Conversation]:
    ids = [p.slack_id or "" for p in staff]
    bot_ids = [b.slack_id or "" for b in bots]
    convs = [
        Conversation(slack_native_id("C", "general"), "general", "channel", ids + bot_ids,
                     "internal", "Company-wide announcements", "Announcements and team news",
                     1_609_459_200, JANE.slack_id or ""),
        Conversation(slack_native_id("C", "random"), "random", "channel", ids, "internal",
                     "Lunch, links and cat pictures", "Non-work banter", 1_609_459_200,
                     JANE.slack_id or ""),
        Conversation(slack_native_id("C", "ops"), "ops", "channel", ids[:5] + bot_ids, "internal",
                     "Invoices, tooling, access requests", "Keeping the lights on",
                     1_609_459_200, LENA.slack_id or ""),
        Conversation(slack_native_id("G", "leadership"), "leadership", "group",
                     [JANE.slack_id or "", LENA.slack_id or "", SAM.slack_id or ""], "internal",
                     "Pipeline and hiring", "Leadership only", 1_640_995_200, JANE.slack_id or ""),
    ]
    for client in clients:
        members = [p.slack_id or "" for p in client.team]
        members += [p.slack_id for p in client.people if p.slack_id]
        convs.append(Conversation(
            slack_native_id("C", client.channel), client.channel, "channel",
            sorted(set(members + bot_ids[:1])), f"client:{client.key}",
            f"{client.project}: weekly sync {client.sync.title}",
            f"Delivery channel for {client.name}", 1_672_531_200, JANE.slack_id or "",
            is_ext_shared=client.shared_channel))
    for other in (SAM, PRIYA, LENA):
        convs.append(Conversation(slack_native_id("D", JANE.name, other.name), "", "im",
                                  [JANE.slack_id or "", other.slack_id or ""], "internal",
                                  created=1_640_995_200))
    trio = [JANE, SAM, PRIYA]
    convs.append(Conversation(slack_native_id("G", "mpim", *[p.name for p in trio]),
                              "mpdm-" + "--".join(p.username for p in trio) + "-1", "mpim",
                              [p.slack_id or "" for p in trio], "internal",
                              "", "Group messaging", 1_656_633_600, JANE.slack_id or ""))
    for conv in convs:
        if conv.kind == "im":
            conv.name = conv.id
    return convs


def build_cast(seed: int, scale: int = 1) -> Cast:
    if scale < 1:
        raise ValueError("scale must be at least 1")
    staff = [*BASE_STAFF, *_extra_staff(scale)]
    clients = _base_clients() + _extra_clients(seed, scale, staff[len(BASE_STAFF):])
    bots = [_person("GitHub", COMPANY_DOMAIN, "Integration", COMPANY, slack=True, is_bot=True,
                    short=True),
            _person("Jira Cloud", COMPANY_DOMAIN, "Integration", COMPANY, slack=True, is_bot=True,
                    short=True)]
    return Cast(JANE, staff, clients, bots, _conversations(staff, clients, bots))

