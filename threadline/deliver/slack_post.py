"""Slack: chat.postMessage with the draft's Block Kit payload, to a channel or a DM.

The token is the Slack connection's (``threadline connect slack``). Posting needs the
``chat:write`` scope, which reading does not: a token connected for syncing only lacks it.
When the connection's granted scopes are known and ``chat:write`` is not among them, the
delivery fails at once saying so; otherwise Slack's ``missing_scope`` answer says the same.
A DM (``slack:@U…``) also needs ``im:write`` for conversations.open. Channels need the app
in them (``/invite @app``), or ``chat:write.public`` for public channels.

Slack cannot be asked whether a message was already posted, so a crash between Slack's
answer and the queue's commit may post twice (the at-least-once window in ``process``).
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError

from threadline.deliver import content
from threadline.deliver.accounts import account_for
from threadline.deliver.base import (
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from threadline.deliver.destinations import Destination
from threadline.produce.model import Draft

DEFAULT_API_URL = "https://slack.com/api/"
CONNECT = "threadline connect slack --token xoxb-… (a token with chat:write)"
WRITE_SCOPES = ("chat:write", "chat:write:bot", "chat:write:user")
TRANSIENT = frozenset({"ratelimited", "internal_error", "fatal_error", "service_unavailable",
                       "request_timeout"})
AUTH = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired",
                  "account_inactive"})


def _scope_message(needed: str, provided: str | None) -> str:
    have = f" (the token has: {provided})" if provided else ""
    return (f"posting to Slack needs the {needed} scope{have}, which reading does not: add "
            f"{needed} under OAuth & Permissions → Bot Token Scopes in your Slack app, "
            f"reinstall it, then reconnect: {CONNECT}")


def _explain(code: str, destination: Destination, data: dict[str, Any]) -> str:
    where = destination.target
    if code == "missing_scope":
        return _scope_message(str(data.get("needed") or "chat:write"), data.get("provided"))
    if code == "not_in_channel":
        return f"the app is not a member of {where}: in Slack, run /invite @your-app there"
    if code == "channel_not_found":
        return (f"Slack has no channel {where} that this app can see: check the name, or "
                "invite the app to the (private) channel")
    if code == "is_archived":
        return f"{where} is archived: unarchive it or choose another channel"
    if code in AUTH:
        return f"Slack refused the token ({code}): {CONNECT}"
    if code in ("user_not_found", "cannot_dm_bot"):
        return f"cannot open a DM with {where[1:]} ({code}): check the member id"
    return f"Slack refused the message to {where} ({code})"


class SlackDeliverer:
    kind = "slack"

    def _client(self, settings: DeliverySettings) -> tuple[WebClient, list[str]]:
        account = account_for(settings, "slack", CONNECT, WRITE_SCOPES)
        scopes = account.connection.scopes
        if scopes and not any(s in scopes for s in WRITE_SCOPES):
            raise PermanentDeliveryError(_scope_message("chat:write", ", ".join(scopes)))
        token = account.secrets.get("token")
        if not token:
            raise PermanentDeliveryError(f"the Slack connection has no token stored: {CONNECT}")
        base = (account.api_url or DEFAULT_API_URL).rstrip("/") + "/"
        # The queue retries with backoff; the SDK's own retries would double-count.
        client = WebClient(token=str(token), base_url=base, timeout=int(settings.timeout),
                           retry_handlers=[])
        return client, scopes

    def _call(self, destination: Destination, method: str, fn: Any, **params: Any) -> Any:
        try:
            return fn(**params)
        except SlackApiError as exc:
            response = exc.response
            data = response.data if isinstance(response.data, dict) else {}
            code = str(data.get("error") or f"HTTP {response.status_code}")
            if response.status_code == 429 or code in TRANSIENT or response.status_code >= 500:
                after = response.headers.get("Retry-After") or response.headers.get(
                    "retry-after")
                raise TransientDeliveryError(
                    f"Slack {method}: {code}; will retry",
                    retry_after=float(after) if after else None) from None
            if code == "missing_scope" and method == "conversations.open":
                data = {**data, "needed": data.get("needed") or "im:write"}
            raise PermanentDeliveryError(_explain(code, destination, data)) from None
        except SlackRequestError as exc:
            raise PermanentDeliveryError(f"Slack {method}: {exc}") from None
        except (OSError, ValueError) as exc:  # timeouts, refused connections, cut-off JSON
            raise TransientDeliveryError(f"Slack {method}: {type(exc).__name__}: {exc}") \
                from None

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        client, _ = self._client(settings)
        channel = destination.target
        if destination.slack_dm:
            opened = self._call(destination, "conversations.open", client.conversations_open,
                                users=channel[1:])
            channel = str(opened["channel"]["id"])
        message = content.slack_message(draft, settings.edited_markdown)
        posted = self._call(destination, "chat.postMessage", client.chat_postMessage,
                            channel=channel, text=message["text"], blocks=message["blocks"],
                            unfurl_links=False, unfurl_media=False)
        channel_id, ts = str(posted["channel"]), str(posted["ts"])
        permalink: str | None = None
        try:
            # The message is posted: a failed permalink lookup must not fail the delivery.
            permalink = str(self._call(destination, "chat.getPermalink",
                                       client.chat_getPermalink, channel=channel_id,
                                       message_ts=ts)["permalink"])
        except (TransientDeliveryError, PermanentDeliveryError, KeyError):
            permalink = None
        return DeliveryResult(message_id=f"{channel_id}:{ts}", permalink=permalink)
