"""The user's readable client rules, ``clients.yaml``: names, aliases, domains, channels.

```yaml
me:
  domains: [northwind.example]       # the user's own company: never a client
ignore:
  domains: [mailchimp.com]           # senders that are never clients
clients:
  - name: Acme Corp
    aliases: [Acme]
    domains: [acme.example]
    addresses: [bob.acme@gmail.com]  # webmail people: only full addresses match
    channels: ["#acme-website"]
    notion: ["Acme Website Relaunch"] # page titles or ids: the whole subtree belongs
    projects:
      - name: Website Relaunch
        channels: ["#acme-website"]
        subjects: ["relaunch"]
```

A file that contradicts itself (one domain under two clients, a name used twice) is refused
with the line numbers of both places, read from YAML node marks.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threadline.errors import ConfigError


class ProjectRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    channels: list[str] = Field(default_factory=list)
    notion: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)


class ClientRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    aliases: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    notion: list[str] = Field(default_factory=list)
    projects: list[ProjectRule] = Field(default_factory=list)

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def name_pattern(self) -> re.Pattern[str]:
        words = "|".join(re.escape(n) for n in sorted(self.names(), key=len, reverse=True))
        return re.compile(rf"\b(?:{words})\b", re.IGNORECASE)


class DomainList(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domains: list[str] = Field(default_factory=list)


class ClientsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    me: DomainList = Field(default_factory=DomainList)
    ignore: DomainList = Field(default_factory=DomainList)
    clients: list[ClientRule] = Field(default_factory=list)

    def find(self, name: str) -> ClientRule:
        wanted = name.strip().lower()
        for client in self.clients:
            if wanted in (n.lower() for n in client.names()):
                return client
        known = ", ".join(c.name for c in self.clients) or "none configured"
        raise ConfigError(f"no client named {name!r} (known: {known})")

    def fingerprint(self) -> str:
        """Changes whenever a rule changes, so folded items can be placed again."""
        return hashlib.sha256(self.model_dump_json().encode()).hexdigest()[:16]


def channel_key(channel: str) -> str:
    """``#Acme-Website`` and ``acme-website`` name the same channel."""
    return channel.strip().lstrip("#").lower()


_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_clients(path: Path) -> ClientsConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ClientsConfig()
    return parse_clients(text, str(path))


def parse_clients(text: str, where: str = "clients.yaml") -> ClientsConfig:
    try:
        # libyaml's loader where installed: a 600-client file parses in milliseconds, not
        # the fifth of a second the pure-Python one takes on every accumulation run.
        data = yaml.load(text, Loader=_LOADER) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {exc}. Fix the syntax there.") from exc

    def root() -> yaml.Node | None:
        # Line marks are needed only to report an error: the file is composed again then.
        return yaml.compose(text, Loader=_LOADER)

    try:
        config = ClientsConfig.model_validate(data)
    except ValidationError as exc:
        problems = []
        node = root()
        for error in exc.errors():
            line = _line_of(node, error["loc"])
            path = ".".join(str(part) for part in error["loc"])
            problems.append(f"line {line}: {path}: {error['msg']}")
        raise ConfigError(
            f"{where}: " + "; ".join(problems) + ". See the example at the top of clients.yaml "
            "written by `threadline clients init`."
        ) from exc
    _check_consistent(config, root, where)
    return config


def save_clients(config: ClientsConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(exclude_defaults=False)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")


def _child(node: yaml.Node | None, key: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode) and isinstance(key, str):
        for k, v in node.value:
            if isinstance(k, yaml.ScalarNode) and k.value == key:
                return v
    if isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
        return node.value[key]
    return None


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """The 1-based line of the deepest node that ``loc`` reaches."""
    best = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        node = _child(node, part)
        if node is None:
            break
        best = node.start_mark.line + 1
    return best


def _check_consistent(
    config: ClientsConfig, root: Callable[[], yaml.Node | None], where: str
) -> None:
    """Each domain, address, channel and name belongs to one client only."""
    # Lines are looked up only for an error: a 600-client file has thousands of claims.
    owners: dict[tuple[str, str], tuple[str, tuple[Any, ...], int]] = {}

    def claim(kind: str, value: str, client: str, loc: tuple[Any, ...]) -> None:
        key = (kind, channel_key(value) if kind == "channel" else value.strip().lower())
        if key in owners:
            other, other_loc, other_index = owners[key]
            node = root()
            line, other_line = _line_of(node, loc), _line_of(node, other_loc)
            if other_index == loc[1]:
                raise ConfigError(
                    f"{where}: client {client!r} lists {value!r} twice (lines {other_line} and "
                    f"{line}); remove one."
                )
            raise ConfigError(
                f"{where}: {kind} {value!r} is claimed by client {other!r} (line {other_line}) "
                f"and by client {client!r} (line {line}); a {kind} can belong to one client "
                "only: remove it from one of them, or make one client an alias of the other."
            )
        owners[key] = (client, loc, loc[1])

    for i, client in enumerate(config.clients):
        base: tuple[Any, ...] = ("clients", i)
        claim("name", client.name, client.name, (*base, "name"))
        for j, alias in enumerate(client.aliases):
            claim("name", alias, client.name, (*base, "aliases", j))
        for field in ("domains", "addresses", "channels"):
            kind = {"domains": "domain", "addresses": "address", "channels": "channel"}[field]
            for j, value in enumerate(getattr(client, field)):
                claim(kind, value, client.name, (*base, field, j))
    for j, domain in enumerate([*config.ignore.domains, *config.me.domains]):
        section = "ignore" if j < len(config.ignore.domains) else "me"
        index = j if section == "ignore" else j - len(config.ignore.domains)
        found = owners.get(("domain", domain.strip().lower()))
        if found is not None:
            node = root()
            line = _line_of(node, (section, "domains", index))
            raise ConfigError(
                f"{where}: domain {domain!r} is listed under {section} (line {line}) and under "
                f"client {found[0]!r} (line {_line_of(node, found[1])}); a client's domain "
                "cannot be ignored: remove it from one of the two."
            )
