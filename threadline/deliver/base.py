"""The one protocol every delivery target implements, and the registry of targets.

A deliverer sends one approved draft to one destination and returns where it landed (a
Message-ID, a Slack ``ts`` and permalink, a Notion page URL, a file path). It raises
``TransientDeliveryError`` when trying again later may work (a timeout, 429, 5xx, a 4xx SMTP
reply) and ``PermanentDeliveryError`` when it will not until the user changes something (a
missing scope, an unknown channel, refused credentials). The queue turns those into retries
with backoff, or a failure that stays visible.

Built-ins (email, gmail, slack, notion, file) are registered the way a third party registers
its own: an entry point in the ``threadline.deliverers`` group naming a factory that takes
no arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from threadline.errors import ConfigError, ThreadlineError
from threadline.produce.model import Draft

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from threadline.connectors.credentials import SecretBackend
    from threadline.deliver.destinations import Destination

ENTRY_POINT_GROUP = "threadline.deliverers"


class DeliveryError(ThreadlineError):
    """A draft could not be delivered; the message names the destination and what to do."""


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: the queue schedules another attempt with backoff."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help until the user fixes something the message names."""


@dataclass(frozen=True)
class DeliveryResult:
    message_id: str | None = None
    """Email Message-ID, Slack ``channel:ts``, Notion page id, or None (files)."""
    permalink: str | None = None
    """A link to what was delivered: Slack permalink, Notion page URL, ``file://`` URI."""


@dataclass
class DeliverySettings:
    """What a deliverer may need besides the draft and the destination.

    The queue fills the per-delivery fields (``message_id``, ``references``,
    ``edited_markdown``, ``draft_id``, ``slot``) for each attempt; the rest is shared.
    """

    engine: Engine | None = None
    """The store, to find the Slack/Notion/Google connection and its secrets."""
    secrets: SecretBackend | None = None
    """Where secrets live; None means the default (keyring, else encrypted files)."""
    api_urls: dict[str, str] = field(default_factory=dict)
    """Per-kind API base URL overrides (``slack``, ``notion``, ``gmail``), e.g. test servers."""
    timeout: float = 30.0
    draft_id: int | None = None
    slot: str | None = None
    edited_markdown: str | None = None
    """The user's edited text: when set, it is what gets sent, not the composed draft."""
    message_id: str | None = None
    """The Message-ID recorded before sending, reused by every retry of this delivery."""
    references: list[str] = field(default_factory=list)
    """Message-IDs of the earlier updates in this thread, oldest first (email threading)."""
    options: dict[str, Any] = field(default_factory=dict)


@runtime_checkable
class Deliverer(Protocol):
    """Sends a draft to one kind of destination."""

    kind: str
    """The destination prefix it handles: ``email``, ``slack``, ``file``..."""

    def deliver(
        self, draft: Draft, destination: Destination, settings: DeliverySettings
    ) -> DeliveryResult:
        """Send once; raise TransientDeliveryError or PermanentDeliveryError on failure."""
        ...


class CheckingDeliverer(Deliverer, Protocol):
    """A deliverer that can tell whether an earlier, interrupted attempt already landed."""

    def already_sent(
        self, draft: Draft, destination: Destination, settings: DeliverySettings
    ) -> DeliveryResult | None: ...


class PreparingDeliverer(Deliverer, Protocol):
    """A deliverer whose message id is chosen before sending (and recorded first)."""

    def new_message_id(self, destination: Destination, settings: DeliverySettings) -> str: ...


DelivererFactory = Callable[[], Deliverer]

_BUILTIN = {
    "email": "threadline.deliver.email_smtp:SmtpDeliverer",
    "gmail": "threadline.deliver.gmail_send:GmailDeliverer",
    "slack": "threadline.deliver.slack_post:SlackDeliverer",
    "notion": "threadline.deliver.notion_page:NotionDeliverer",
    "file": "threadline.deliver.file_out:FileDeliverer",
}


def deliverer_kinds() -> list[str]:
    kinds = set(_BUILTIN)
    kinds.update(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
    return sorted(kinds)


def _load(target: str) -> DelivererFactory:
    module_name, _, attr = target.partition(":")
    factory: DelivererFactory = getattr(import_module(module_name), attr)
    return factory


def load_deliverer(kind: str) -> Deliverer:
    """The deliverer for ``kind``: an installed plugin of that name wins over a built-in."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            factory: DelivererFactory = ep.load()
            return factory()
    if kind in _BUILTIN:
        return _load(_BUILTIN[kind])()
    raise ConfigError(
        f"no deliverer for {kind!r} destinations; known: {', '.join(deliverer_kinds())}. "
        f"A plugin registers one under the entry point group {ENTRY_POINT_GROUP!r}."
    )
