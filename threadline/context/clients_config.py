"""The user's readable client rules, ``clients.yaml``: names, aliases, domains, channels.

```yaml
clients:
  - name: Acme Corp
    aliases: [Acme]
    domains: [acme.example]
    channels: ["#acme-website"]
    notion: ["Acme Website Relaunch"]
```
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, Field, ValidationError

from threadline.errors import ConfigError


class ClientRule(BaseModel):
    name: str
    aliases: list[str] = Field(default_factory=list)
    domains: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    notion: list[str] = Field(default_factory=list)

    def names(self) -> list[str]:
        return [self.name, *self.aliases]

    def name_pattern(self) -> re.Pattern[str]:
        words = "|".join(re.escape(n) for n in sorted(self.names(), key=len, reverse=True))
        return re.compile(rf"\b(?:{words})\b", re.IGNORECASE)


class ClientsConfig(BaseModel):
    clients: list[ClientRule] = Field(default_factory=list)

    def find(self, name: str) -> ClientRule:
        wanted = name.strip().lower()
        for client in self.clients:
            if wanted in (n.lower() for n in client.names()):
                return client
        known = ", ".join(c.name for c in self.clients) or "none configured"
        raise ConfigError(f"no client named {name!r} (known: {known})")


def load_clients(path: Path) -> ClientsConfig:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        return ClientsConfig()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return ClientsConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def save_clients(config: ClientsConfig, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = config.model_dump(exclude_defaults=False)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
