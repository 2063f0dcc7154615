"""Which connected account a delivery goes out through, and its secrets.

Slack, Notion and Gmail deliveries reuse the accounts connected for syncing (``threadline
connect ...``): the token comes from the connection's encrypted secrets. With several
connections of one kind, the option ``<kind>_connection`` (an id) picks one; otherwise the
first whose granted scopes allow sending, else the first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from threadline.connectors.connections import Connection, list_connections
from threadline.connectors.credentials import load_secrets
from threadline.deliver.base import DeliverySettings, PermanentDeliveryError


@dataclass
class Account:
    connection: Connection
    secrets: dict[str, Any]
    api_url: str | None

    def __repr__(self) -> str:  # never print secrets
        return f"Account(connection={self.connection.id}, api_url={self.api_url!r})"


def account_for(settings: DeliverySettings, name: str, connect_hint: str,
                wanted_scopes: Sequence[str] = ()) -> Account:
    if settings.engine is None:
        raise PermanentDeliveryError(f"{name} delivery needs the store to find the {name} "
                                     "connection")
    found = [c for c in list_connections(settings.engine) if c.name == name]
    chosen = settings.options.get(f"{name}_connection")
    if chosen is not None:
        found = [c for c in found if str(c.id) == str(chosen)]
    if not found:
        raise PermanentDeliveryError(f"no {name} connection to deliver through: "
                                     f"{connect_hint}")
    able = [c for c in found if any(s in c.scopes for s in wanted_scopes)]
    connection = (able or found)[0]
    try:
        secrets = load_secrets(connection.secret_ref, settings.secrets)
    except Exception as exc:  # ConfigError, a locked keyring: the user has to act
        raise PermanentDeliveryError(f"the {name} connection's token cannot be read ({exc}); "
                                     f"{connect_hint}") from None
    return Account(connection, secrets, settings.api_urls.get(name) or connection.api_url)
