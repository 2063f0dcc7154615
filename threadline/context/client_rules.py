"""The rule engine: which clients and projects one item belongs to, and by which rule.

``match_clients`` and ``match_projects`` are pure functions of one item's facts and a
``RuleContext`` (the config plus what inference decided about channels), so placing an item
again with the same context always gives the same rows: that is what lets incremental
folding equal a rebuild.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from threadline.context.clients_config import ClientRule, ClientsConfig, channel_key

WEBMAIL = frozenset(
    {
        "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
        "msn.com", "yahoo.com", "yahoo.co.uk", "ymail.com", "icloud.com", "me.com", "mac.com",
        "aol.com", "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net",
        "web.de", "mail.com", "zoho.com", "yandex.com", "yandex.ru", "fastmail.com", "hey.com",
        "tutanota.com", "qq.com", "163.com", "free.fr", "orange.fr", "t-online.de",
        "btinternet.com", "comcast.net", "verizon.net",
    }
)
# Two-part public suffixes, so that mail.acme.co.uk gives the label "acme", not "co".
_SECOND_LEVEL = frozenset({"co", "com", "org", "net", "ac", "gov", "edu", "ne", "or"})
# Priority when several rules put an item under one client: the most explicit wins.
RULE_ORDER = (
    "config-address", "config-domain", "config-channel", "config-notion", "name-mention",
    "inferred-notion", "inferred-shared-channel", "inferred-channel", "inferred-domain",
)
CLIENTS_PAGE_TITLES = frozenset({"clients", "customers"})
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Participant:
    key: str
    role: str
    """From, To (email and Slack), Organizer, Attendee (calendar)."""
    email: str | None


@dataclass(frozen=True)
class ItemFacts:
    """What the rules look at, read once from the item row and its people's identities."""

    id: int
    platform: str
    deleted: bool
    container_id: str
    container_name: str | None
    thread_id: str | None
    title: str | None
    text: str
    participants: tuple[Participant, ...] = ()
    shared_channel: bool = False
    page: tuple[str, str] | None = None
    """(title, notion id) of a Notion page itself."""
    ancestors: tuple[tuple[str, str], ...] = ()
    """(title, notion id) of the Notion pages above this one, top first."""

    def domains(self) -> list[tuple[str, Participant]]:
        return [(p.email.rsplit("@", 1)[1], p) for p in self.participants if p.email]


@dataclass(frozen=True)
class ClientHit:
    client: str
    rule: str
    detail: str


@dataclass(frozen=True)
class ProjectHit:
    key: str
    name: str
    client: str | None
    rule: str


@dataclass
class RuleContext:
    config: ClientsConfig
    channel_clients: dict[str, tuple[str, str]] = field(default_factory=dict)
    """container id -> (client, rule) decided by inference for channels the config omits."""
    by_domain: dict[str, str] = field(init=False)
    by_address: dict[str, str] = field(init=False)
    by_channel: dict[str, str] = field(init=False)
    by_notion: dict[str, str] = field(init=False)
    by_name: dict[str, str] = field(init=False)
    skipped: frozenset[str] = field(init=False)
    compiled: dict[int, re.Pattern[str]] = field(init=False)
    """Name patterns compiled so far: only clients a text may mention ever need one."""
    by_first_word: dict[str, list[int]] = field(init=False)
    """First word of each client name or alias -> the patterns that may match from it."""
    unindexed: list[int] = field(init=False)
    projects_by_channel: dict[str, list[ProjectHit]] = field(init=False)
    projects_by_notion: dict[str, list[ProjectHit]] = field(init=False)
    project_subjects: list[tuple[str, ProjectHit]] = field(init=False)
    """Configured projects by what places an item in them, so an item costs lookups, not a
    pass over every client's projects."""

    def __post_init__(self) -> None:
        cfg = self.config
        self.by_domain = {d.lower(): c.name for c in cfg.clients for d in c.domains}
        self.by_address = {a.lower(): c.name for c in cfg.clients for a in c.addresses}
        self.by_channel = {channel_key(ch): c.name for c in cfg.clients for ch in c.channels}
        self.by_notion = {_notion_key(n): c.name for c in cfg.clients for n in c.notion}
        self.by_name = {n.lower(): c.name for c in cfg.clients for n in c.names()}
        self.skipped = frozenset(d.lower() for d in [*cfg.ignore.domains, *cfg.me.domains])
        self.compiled = {}
        self.by_first_word = {}
        unindexed: set[int] = set()
        for index, rule in enumerate(cfg.clients):
            for name in rule.names():
                first = _WORDS.match(name.lower())
                if first is None:
                    unindexed.add(index)  # starts with no word character: always tried
                else:
                    self.by_first_word.setdefault(first.group(0), []).append(index)
        self.unindexed = sorted(unindexed)
        self.projects_by_channel, self.projects_by_notion = {}, {}
        self.project_subjects = []
        for rule in cfg.clients:
            for project in rule.projects:
                key = f"config:{rule.name}:{project.name}"
                for channel in {channel_key(c) for c in project.channels}:
                    hit = ProjectHit(key, project.name, rule.name, "config-channel")
                    self.projects_by_channel.setdefault(channel, []).append(hit)
                for page in {_notion_key(n) for n in project.notion}:
                    hit = ProjectHit(key, project.name, rule.name, "config-notion")
                    self.projects_by_notion.setdefault(page, []).append(hit)
                self.project_subjects += [
                    (subject.lower(), ProjectHit(key, project.name, rule.name, "config-subject"))
                    for subject in project.subjects if subject.strip()
                ]

    def mentioned(self, text: str) -> list[tuple[ClientRule, re.Pattern[str]]]:
        """The name patterns worth trying on ``text``: those of clients one of whose names
        begins with a word of the text (a match starts at a word boundary, so its first
        word is a word of the text). One pass over the words, whatever the client count."""
        wanted = set(self.unindexed)
        for word in set(_WORDS.findall(text.lower())):
            wanted.update(self.by_first_word.get(word, ()))
        found = []
        for index in sorted(wanted):
            rule = self.config.clients[index]
            if index not in self.compiled:
                self.compiled[index] = rule.name_pattern()
            found.append((rule, self.compiled[index]))
        return found

    def domain_client(self, domain: str) -> str | None:
        """The client an email domain points to, or None for webmail and ignored domains."""
        if domain in WEBMAIL or domain in self.skipped:
            return None
        return self.by_domain.get(domain) or self.named(readable(label_of(domain)))

    def named(self, name: str) -> str:
        """An inferred name that equals a configured name or alias is that client."""
        return self.by_name.get(name.lower(), name)


def label_of(domain: str) -> str:
    """The organisation part of a domain: ``mail.acme.co.uk`` -> ``acme``."""
    parts = domain.lower().strip(".").split(".")
    if len(parts) >= 3 and parts[-2] in _SECOND_LEVEL and len(parts[-1]) == 2:
        return parts[-3]
    return parts[-2] if len(parts) >= 2 else parts[0]


def readable(label: str) -> str:
    """``acme`` -> ``Acme``, ``blue-harbor`` -> ``Blue Harbor``."""
    return " ".join(word.capitalize() for word in re.split(r"[-_]+", label) if word) or label


def channel_token(name: str) -> str:
    """The first word of a channel name: ``#acme-website`` -> ``acme``."""
    return re.split(r"[-_.]+", channel_key(name), maxsplit=1)[0]


def _notion_key(value: str) -> str:
    compact = value.replace("-", "").lower().removeprefix("notion:")
    if re.fullmatch(r"[0-9a-f]{32}", compact):
        return f"id:{compact}"
    return f"title:{value.strip().lower()}"


def _page_keys(title: str, page_id: str) -> tuple[str, str]:
    return _notion_key(page_id), f"title:{title.strip().lower()}"


def notion_client_page(facts: ItemFacts) -> tuple[str, str] | None:
    """The (title, id) of the page right under a "Clients" page that this item sits in."""
    chain = [*facts.ancestors, *([facts.page] if facts.page else [])]
    for index, (title, _page_id) in enumerate(chain[:-1]):
        if title.strip().lower() in CLIENTS_PAGE_TITLES and chain[index + 1][0].strip():
            return chain[index + 1]
    return None


def _best(hits: Iterable[ClientHit]) -> list[ClientHit]:
    chosen: dict[str, ClientHit] = {}
    for hit in hits:
        old = chosen.get(hit.client)
        if old is None or RULE_ORDER.index(hit.rule) < RULE_ORDER.index(old.rule):
            chosen[hit.client] = hit
    return sorted(chosen.values(), key=lambda h: h.client)


def match_clients(facts: ItemFacts, ctx: RuleContext) -> list[ClientHit]:
    if facts.deleted:
        return []
    hits: list[ClientHit] = []
    for domain, person in facts.domains():
        address = person.email or ""
        detail = f"{person.role}: {address}"
        if address in ctx.by_address:
            hits.append(ClientHit(ctx.by_address[address], "config-address", detail))
        elif domain in ctx.by_domain and domain not in ctx.skipped:
            hits.append(ClientHit(ctx.by_domain[domain], "config-domain", detail))
        else:
            client = ctx.domain_client(domain)
            if client is not None:
                hits.append(ClientHit(client, "inferred-domain", detail))
    if facts.platform == "slack":
        hits.extend(_channel_hits(facts, ctx))
    if facts.platform == "notion":
        hits.extend(_notion_hits(facts, ctx))
    haystack = f"{facts.title or ''}\n{facts.text}"
    for rule, pattern in ctx.mentioned(haystack):
        found = pattern.search(haystack)
        if found:
            hits.append(ClientHit(rule.name, "name-mention", f"mentions {found.group(0)!r}"))
    return _best(hits)


def _channel_hits(facts: ItemFacts, ctx: RuleContext) -> list[ClientHit]:
    names = [facts.container_id.lower()]
    if facts.container_name:
        names.append(channel_key(facts.container_name))
    shown = facts.container_name or facts.container_id
    for name in names:
        if name in ctx.by_channel:
            return [ClientHit(ctx.by_channel[name], "config-channel", f"Channel: {shown}")]
    inferred = ctx.channel_clients.get(facts.container_id)
    if inferred is None:
        return []
    return [ClientHit(inferred[0], inferred[1], f"Channel: {shown}")]


def _notion_hits(facts: ItemFacts, ctx: RuleContext) -> list[ClientHit]:
    hits = []
    chain = [*facts.ancestors, *([facts.page] if facts.page else [])]
    for title, page_id in chain:
        for key in _page_keys(title, page_id):
            if key in ctx.by_notion:
                detail = f"Notion: under {title}"
                hits.append(ClientHit(ctx.by_notion[key], "config-notion", detail))
    page = notion_client_page(facts)
    if page is not None:
        client = ctx.named(page[0].strip())
        hits.append(ClientHit(client, "inferred-notion", f"Notion: under Clients / {page[0]}"))
    return hits


def match_projects(
    facts: ItemFacts, ctx: RuleContext, clients: list[ClientHit]
) -> list[ProjectHit]:
    """Projects: configured ones first; else the client's channel, Notion page or series."""
    if facts.deleted:
        return []
    found: dict[str, ProjectHit] = {}
    chain = [*facts.ancestors, *([facts.page] if facts.page else [])]
    chain_keys = {key for title, pid in chain for key in _page_keys(title, pid)}
    channel = channel_key(facts.container_name or "") if facts.platform == "slack" else None
    subject = (facts.title or "").lower()
    # A project a channel places the item in wins over its Notion page, which wins over a
    # subject: the first rule found for a project is kept.
    for placed in ctx.projects_by_channel.get(channel or "", []):
        found.setdefault(placed.key, placed)
    for page in sorted(chain_keys):
        for placed in ctx.projects_by_notion.get(page, []):
            found.setdefault(placed.key, placed)
    if subject:
        for text, placed in ctx.project_subjects:
            if text in subject:
                found.setdefault(placed.key, placed)
    if found:
        return sorted(found.values(), key=lambda p: p.key)
    by_client = {hit.client: hit for hit in clients}
    if channel and channel not in ctx.projects_by_channel:
        owner = next((h for h in clients if h.rule.endswith("channel")), None)
        if owner is not None:
            key = f"channel:{facts.container_id}"
            name = facts.container_name or facts.container_id
            return [ProjectHit(key, name, owner.client, "channel")]
    if facts.platform == "notion":
        hit = _notion_project(facts, ctx, chain, by_client)
        if hit is not None:
            return [hit]
    if facts.thread_id and facts.thread_id.startswith("event-series:") and by_client:
        outside = {d for d, _p in facts.domains() if ctx.domain_client(d)}
        if len(outside) >= 2 or any(not h.rule.endswith("domain") for h in clients):
            name = facts.title or facts.thread_id
            return [ProjectHit(f"series:{facts.thread_id[13:]}", name, None, "calendar-series")]
    return []


def _notion_project(
    facts: ItemFacts,
    ctx: RuleContext,
    chain: list[tuple[str, str]],
    by_client: dict[str, ClientHit],
) -> ProjectHit | None:
    """A page right below a client's page is a project; its subtree belongs to it."""
    for index, (title, page_id) in enumerate(chain[:-1]):
        owner = None
        if title.strip().lower() in CLIENTS_PAGE_TITLES:
            continue
        for key in _page_keys(title, page_id):
            owner = owner or ctx.by_notion.get(key)
        page = notion_client_page(facts)
        if owner is None and page is not None and page[1] == page_id:
            owner = ctx.named(page[0].strip())
        if owner is not None and owner in by_client:
            project_title, project_id = chain[index + 1]
            key = f"page:{project_id}"
            return ProjectHit(key, project_title, owner, "notion-page")
    return None
