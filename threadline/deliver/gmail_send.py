"""Gmail: users.messages.send with the same MIME message SMTP sends.

For users who connected Google with a scope that may send (``gmail.send``; ``gmail.compose``,
``gmail.modify`` and full ``mail.google.com`` include it). The read-only scopes ``threadline
connect google`` asks for by default cannot send: when the granted scopes are known and none
can send, the delivery fails at once saying so.

Unlike SMTP, Gmail can be asked whether an interrupted attempt went out: the Sent mailbox is
searched for the recorded Message-ID (``rfc822msgid:``) before sending again, which closes
the at-least-once window for Gmail deliveries. The earlier update's Gmail thread id is looked
up the same way, so the new one joins that thread in the sender's mailbox too.
"""

from __future__ import annotations

import base64
from typing import Any

from threadline.connectors.google_client import build_service, execute
from threadline.connectors.sync_base import (
    AuthError,
    ConnectionSettings,
    PermanentError,
    TransientError,
)
from threadline.deliver.accounts import Account, account_for
from threadline.deliver.base import (
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from threadline.deliver.destinations import Destination
from threadline.deliver.mime import build_message, new_message_id
from threadline.produce.model import Draft

SEND_SCOPES = (
    "https://www.googleapis.com/auth/gmail.send",
    "https://www.googleapis.com/auth/gmail.compose",
    "https://www.googleapis.com/auth/gmail.modify",
    "https://mail.google.com/",
)
CONNECT = ("threadline connect google --credentials FILE with a token that includes "
           "https://www.googleapis.com/auth/gmail.send")
PERMALINK = "https://mail.google.com/mail/#all/{}"


def _scopes(account: Account) -> list[str]:
    granted = account.secrets.get("scopes") or []
    if isinstance(granted, str):
        granted = granted.split()
    return [*account.connection.scopes, *[str(s) for s in granted]]


def _run(request: Any, what: str) -> Any:
    try:
        return execute(request, what)
    except TransientError as exc:
        raise TransientDeliveryError(str(exc), retry_after=exc.retry_after) from None
    except AuthError as exc:
        raise PermanentDeliveryError(str(exc)) from None
    except PermanentError as exc:
        if "HTTP 403" in str(exc):
            raise PermanentDeliveryError(
                f"{what}: Google refused (403): the connection may read mail but not send it. "
                f"Sending needs the gmail.send scope: {CONNECT}") from None
        raise PermanentDeliveryError(str(exc)) from None


class GmailDeliverer:
    kind = "gmail"

    def _account(self, settings: DeliverySettings) -> Account:
        account = account_for(settings, "gmail", CONNECT, SEND_SCOPES)
        scopes = _scopes(account)
        if scopes and not any(s in scopes for s in SEND_SCOPES):
            raise PermanentDeliveryError(
                f"the Google connection was granted {', '.join(sorted(set(scopes)))}, none of "
                f"which may send mail: {CONNECT}")
        return account

    def _service(self, account: Account, settings: DeliverySettings) -> Any:
        options = {"timeout": settings.timeout}
        return build_service(ConnectionSettings(platform="gmail", name="gmail",
                                                api_url=account.api_url,
                                                secrets=account.secrets, options=options),
                             "gmail", "v1")

    def new_message_id(self, destination: Destination, settings: DeliverySettings) -> str:
        try:
            sender = self._account(settings).connection.account
        except PermanentDeliveryError:
            sender = "threadline.invalid"
        return new_message_id(sender)

    def _find(self, service: Any, message_id: str) -> dict[str, Any] | None:
        found = _run(service.users().messages().list(
            userId="me", q=f"rfc822msgid:{message_id.strip('<>')}", includeSpamTrash=True,
            maxResults=1), "Gmail messages.list")
        messages = found.get("messages") or []
        return messages[0] if messages else None

    def already_sent(self, draft: Draft, destination: Destination,
                     settings: DeliverySettings) -> DeliveryResult | None:
        if not settings.message_id:
            return None
        service = self._service(self._account(settings), settings)
        found = self._find(service, settings.message_id)
        if found is None:
            return None
        return DeliveryResult(message_id=settings.message_id,
                              permalink=PERMALINK.format(found["id"]))

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        account = self._account(settings)
        service = self._service(account, settings)
        message = build_message(draft, settings, account.connection.account,
                                destination.target)
        body: dict[str, Any] = {
            "raw": base64.urlsafe_b64encode(message.as_bytes()).decode("ascii")}
        if settings.references:
            earlier = self._find(service, settings.references[-1])
            if earlier and earlier.get("threadId"):
                body["threadId"] = earlier["threadId"]
        sent = _run(service.users().messages().send(userId="me", body=body),
                    "Gmail messages.send")
        return DeliveryResult(message_id=str(message["Message-ID"]),
                              permalink=PERMALINK.format(sent.get("id", "")))
