"""Notion: a new page under a parent page, its body the draft's blocks.

pages.create takes at most 100 children, so the page is created with the first 100 and the
rest are appended with blocks.children.append, 100 at a time. If an append fails, the half-
built page is moved to the trash (best effort) before the error goes to the queue, so the
retry's page is the only one. The token is the Notion connection's, and the integration
must have access to the parent page (in Notion: ⋯ → Connections → add the integration).
Notion cannot be asked whether an interrupted attempt created its page, so a crash right
after pages.create answers may leave two pages (the at-least-once window in ``process``).
"""

from __future__ import annotations

import logging
from typing import Any

from notion_client import Client
from notion_client.errors import HTTPResponseError, RequestTimeoutError

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
from threadline.produce.render_notion import text

API_VERSION = "2025-09-03"
CHUNK = 100
CONNECT = "threadline connect notion --token secret_…"
TRANSIENT_STATUS = frozenset({409, 429, 500, 502, 503, 504})


def _error(exc: Exception, destination: Destination, what: str) -> Exception:
    if isinstance(exc, RequestTimeoutError):
        return TransientDeliveryError(f"Notion {what}: timed out; will retry")
    if isinstance(exc, HTTPResponseError):
        status, code = exc.status, str(exc.code)
        if status in TRANSIENT_STATUS:
            after = exc.headers.get("retry-after") if exc.headers is not None else None
            return TransientDeliveryError(f"Notion {what}: {status} {code}; will retry",
                                          retry_after=float(after) if after else None)
        if status == 401:
            return PermanentDeliveryError(f"Notion refused the token ({code}): {CONNECT}")
        if status in (403, 404):
            return PermanentDeliveryError(
                f"Notion cannot reach the parent page {destination.target} ({code}): share it "
                "with the integration (⋯ → Connections), or check the page id")
        return PermanentDeliveryError(f"Notion {what} refused the page ({status} {code}: {exc})")
    return TransientDeliveryError(f"Notion {what}: {type(exc).__name__}: {exc}")


class NotionDeliverer:
    kind = "notion"

    def _client(self, settings: DeliverySettings) -> Client:
        account = account_for(settings, "notion", CONNECT)
        token = account.secrets.get("token")
        if not token:
            raise PermanentDeliveryError(f"the Notion connection has no token stored: {CONNECT}")
        options: dict[str, Any] = {
            "auth": str(token), "notion_version": API_VERSION, "retry": False,
            "timeout_ms": int(settings.timeout * 1000),
            "logger": logging.getLogger("threadline.deliver.notion.sdk"),
        }
        if account.api_url:
            options["base_url"] = account.api_url.rstrip("/")
        return Client(**options)

    def _call(self, destination: Destination, what: str, fn: Any, **params: Any) -> Any:
        try:
            return fn(**params)
        except (HTTPResponseError, RequestTimeoutError, OSError) as exc:
            raise _error(exc, destination, what) from None
        except Exception as exc:  # httpx transport errors are not OSErrors
            if type(exc).__module__.startswith("httpx"):
                raise TransientDeliveryError(f"Notion {what}: {type(exc).__name__}: {exc}") \
                    from None
            raise

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        client = self._client(settings)
        title = content.subject(draft, settings.edited_markdown)
        children = content.notion_children(draft, settings.edited_markdown)
        page = self._call(destination, "pages.create", client.pages.create,
                          parent={"type": "page_id", "page_id": destination.target},
                          properties={"title": {"title": text(title)}},
                          children=children[:CHUNK])
        page_id = str(page["id"])
        try:
            for start in range(CHUNK, len(children), CHUNK):
                self._call(destination, "blocks.children.append", client.blocks.children.append,
                           block_id=page_id, children=children[start:start + CHUNK])
        except (TransientDeliveryError, PermanentDeliveryError):
            try:
                client.pages.update(page_id=page_id, archived=True)
            except Exception:  # best effort: the error that matters is the append's
                logging.getLogger(__name__).warning("could not trash half-built page %s",
                                                    page_id)
            raise
        return DeliveryResult(message_id=page_id, permalink=page.get("url"))
