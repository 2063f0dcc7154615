"""The email both SMTP and the Gmail API send: multipart/alternative, threaded.

A plain-text part and an HTML part of the same content; the Subject is the draft's title;
the Message-ID is the one the queue recorded before the first attempt (so a retry sends the
same message, which receiving servers and Gmail treat as one); In-Reply-To and References
point at the earlier updates of the same recipe and client sent to the same recipient, so
the weekly updates read as one conversation.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from threadline.deliver import content
from threadline.deliver.base import DeliverySettings
from threadline.produce.model import Draft

MAX_REFERENCES = 20
"""RFC 5322 lets References grow; long chains get trimmed by servers anyway."""


def new_message_id(sender: str) -> str:
    """``<threadline.<random>@<sender's domain>>``: unique, and ours by its domain."""
    domain = sender.rpartition("@")[2] or "threadline.invalid"
    return f"<threadline.{secrets.token_hex(12)}@{domain}>"


def build_message(draft: Draft, settings: DeliverySettings, sender: str, recipient: str,
                  *, now: datetime | None = None) -> EmailMessage:
    edited = settings.edited_markdown
    message = EmailMessage(policy=SMTP)
    message["Subject"] = content.subject(draft, edited)
    message["From"] = sender if "<" in sender else Address(addr_spec=sender)
    message["To"] = Address(addr_spec=recipient)
    message["Date"] = format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = settings.message_id or new_message_id(_addr(sender))
    references = settings.references[-MAX_REFERENCES:]
    if references:
        message["In-Reply-To"] = references[-1]
        message["References"] = " ".join(references)
    message["MIME-Version"] = "1.0"
    message.set_content(content.plain_text(draft, edited), subtype="plain", charset="utf-8")
    message.add_alternative(content.html_document(draft, edited), subtype="html",
                            charset="utf-8")
    return message


def _addr(sender: str) -> str:
    """The bare address of ``Jane <jane@x.example>`` or ``jane@x.example``."""
    return sender.rpartition("<")[2].rstrip(">").strip() if "<" in sender else sender.strip()
