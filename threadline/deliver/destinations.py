"""Destinations as the user writes them, parsed and checked before anything is queued.

``email:jane@acme.example`` (SMTP), ``gmail:jane@acme.example`` (the Gmail API),
``slack:#acme-updates`` / ``slack:C0123ABC`` (a channel) / ``slack:@U0123ABC`` (a DM),
``notion:<parent page id or URL>``, ``file:/path/update.md`` (``.md``, ``.html``, ``.pdf``).
The canonical form (``str(destination)``) is what the idempotency key is computed from, so
``slack: #Acme-Updates`` and ``slack:#acme-updates`` are one destination.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from threadline.errors import ConfigError

KINDS = ("email", "gmail", "slack", "notion", "file")
FILE_FORMATS = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html",
                ".pdf": "pdf"}
EXAMPLES = ("email:jane@acme.example, gmail:jane@acme.example, slack:#acme-updates, "
            "slack:C0123ABC, slack:@U0123ABC, notion:<page id or URL>, file:/path/update.md")

_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_SLACK_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$")
_NOTION_ID = re.compile(r"([0-9a-f]{32})(?:[?#/]|$)")


class DestinationError(ConfigError):
    """A destination string that cannot be delivered to; the message shows the right form."""


@dataclass(frozen=True)
class Destination:
    kind: str
    target: str
    """The address, channel (``#name`` / id), ``@user`` id, page id (dashed uuid) or path."""

    def __str__(self) -> str:
        return f"{self.kind}:{self.target}"

    @property
    def file_format(self) -> str:
        """For file destinations: markdown, html or pdf, from the extension."""
        return FILE_FORMATS[Path(self.target).suffix.lower()]

    @property
    def slack_dm(self) -> bool:
        return self.kind == "slack" and self.target.startswith("@")


def _bad(text: str, why: str) -> DestinationError:
    return DestinationError(f"destination {text!r}: {why}. Examples: {EXAMPLES}")


def _address(text: str, value: str) -> str:
    if not _ADDRESS.match(value):
        raise _bad(text, f"{value!r} is not an email address")
    local, _, domain = value.rpartition("@")
    return f"{local}@{domain.lower()}"


def _slack(text: str, value: str) -> str:
    if value.startswith("@"):
        user = value[1:]
        if not _SLACK_USER.match(user):
            raise _bad(text, f"a direct message needs the member id (U…), not {user!r}: in "
                             "Slack, open the profile → ⋮ → Copy member ID")
        return "@" + user
    if _SLACK_ID.match(value):
        return value
    name = value.removeprefix("#").lower()
    if not _SLACK_NAME.match(name):
        raise _bad(text, f"{value!r} is neither a channel name (#acme-updates) nor a "
                         "channel id (C0123ABC)")
    return "#" + name


def notion_page_id(text: str, value: str) -> str:
    """A dashed page id from an id (dashed or not) or a notion.so / notion.site URL."""
    raw = value
    if value.startswith(("https://", "http://")):
        parts = urlsplit(value)
        raw = parts.path.rsplit("/", 1)[-1]
        if parts.query and not _NOTION_ID.search(raw.replace("-", "").lower()):
            raw = parts.query
    compact = raw.replace("-", "").lower()
    found = _NOTION_ID.search(compact)
    if not found:
        raise _bad(text, "a Notion parent is a page id (32 hex digits) or the page's URL "
                         "(Share → Copy link)")
    h = found.group(1)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _file(text: str, value: str, base_dir: Path | None) -> str:
    path = Path(value).expanduser()
    if not path.is_absolute():
        if base_dir is None:
            raise _bad(text, "a file destination needs an absolute path (a schedule runs "
                             "from anywhere)")
        path = base_dir / path
    if path.suffix.lower() not in FILE_FORMATS:
        raise _bad(text, f"the file must end in one of {', '.join(sorted(FILE_FORMATS))} "
                         "(it picks the format)")
    return str(path)


def parse_destination(text: str, *, base_dir: Path | None = None) -> Destination:
    """Parse one destination; ``base_dir`` resolves a relative file path (the CLI's cwd)."""
    kind, sep, value = text.strip().partition(":")
    kind, value = kind.strip().lower(), value.strip()
    if not sep or kind not in KINDS:
        from threadline.deliver.base import deliverer_kinds

        plugins = deliverer_kinds()
        if sep and value and kind in plugins:
            return Destination(kind, value)  # a plugin's target: the plugin checks it
        raise _bad(text, f"it must start with one of {', '.join(k + ':' for k in plugins)}")
    if not value:
        raise _bad(text, "nothing after the colon")
    if kind in ("email", "gmail"):
        return Destination(kind, _address(text, value))
    if kind == "slack":
        return Destination(kind, _slack(text, value))
    if kind == "notion":
        return Destination(kind, notion_page_id(text, value))
    return Destination(kind, _file(text, value, base_dir))
