"""Slack mrkdwn to plain text, and what a message points at (users mentioned, URLs).

Slack stores message text with its own escapes: ``<@U123>`` for a mention, ``<#C1|name>``
for a channel, ``<!here>`` for a broadcast, ``<https://x|label>`` for a link, and only
``&``, ``<``, ``>`` HTML-escaped. One pass over the text renders it and collects the targets,
because the importer calls this for every one of up to a million messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import NamedTuple

_TOKEN = re.compile(r"<([^<>]*)>")
_BARE_URL = re.compile(r"https?://[^\s<>\"']+")
_TRAILING_PUNCTUATION = ".,;:!?)]}'\""
_BROADCASTS = frozenset({"here", "channel", "everyone"})
_NO_NAMES: Mapping[str, str] = {}


class Markup(NamedTuple):
    text: str
    mentions: list[str]
    """User ids mentioned, in order of first appearance, without repeats."""
    urls: list[str]
    """http(s) URLs linked or pasted, in order of first appearance, without repeats."""


def unescape(text: str) -> str:
    """Slack escapes only these three; ``&amp;`` goes last so ``&amp;lt;`` stays ``&lt;``."""
    if "&" not in text:
        return text
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def convert(
    text: str,
    users: Mapping[str, str] = _NO_NAMES,
    channels: Mapping[str, str] = _NO_NAMES,
) -> Markup:
    """Render ``text`` as plain text; ``users`` and ``channels`` map ids to display names."""
    mentions: list[str] = []
    urls: list[str] = []
    if "<" not in text:
        plain = unescape(text)
        _collect_bare_urls(plain, urls)
        return Markup(plain, mentions, urls)
    pieces: list[str] = []
    start = 0
    for match in _TOKEN.finditer(text):
        segment = unescape(text[start : match.start()])
        _collect_bare_urls(segment, urls)
        pieces.append(segment)
        pieces.append(_render_token(match.group(1), users, channels, mentions, urls))
        start = match.end()
    tail = unescape(text[start:])
    _collect_bare_urls(tail, urls)
    pieces.append(tail)
    return Markup("".join(pieces), mentions, urls)


def mentioned_user_ids(text: str) -> list[str]:
    return convert(text).mentions


def extract_urls(text: str) -> list[str]:
    return convert(text).urls


def _render_token(
    inner: str,
    users: Mapping[str, str],
    channels: Mapping[str, str],
    mentions: list[str],
    urls: list[str],
) -> str:
    target, _, label = inner.partition("|")
    label = unescape(label)
    if not target:
        return f"<{unescape(inner)}>"
    sigil = target[0]
    if sigil == "@":
        user_id = target[1:]
        if user_id not in mentions:
            mentions.append(user_id)
        return "@" + (users.get(user_id) or label.lstrip("@") or user_id)
    if sigil == "#":
        channel_id = target[1:]
        return "#" + (label or channels.get(channel_id) or channel_id)
    if sigil == "!":
        return label or _render_command(target[1:])
    url = unescape(target)
    scheme, colon, rest = url.partition(":")
    if not colon:
        return label or url
    if scheme in ("http", "https"):
        if url not in urls:
            urls.append(url)
    elif scheme in ("mailto", "tel"):
        return label or rest
    if not label or label == url or label == rest.lstrip("/"):
        return url
    return f"{label} ({url})"


def _render_command(command: str) -> str:
    if command in _BROADCASTS:
        return "@" + command
    parts = command.split("^")
    if parts[0] == "subteam" and len(parts) > 1:
        return "@" + parts[1]
    if parts[0] == "date" and len(parts) > 1 and parts[1].isdigit():
        # Slack renders the date in the reader's zone; without the reader, UTC is the honest choice.
        moment = datetime.fromtimestamp(int(parts[1]), UTC)
        return moment.strftime("%Y-%m-%d %H:%M UTC")
    return "@" + command


def _collect_bare_urls(text: str, urls: list[str]) -> None:
    if "://" not in text:
        return
    for match in _BARE_URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING_PUNCTUATION)
        if url not in urls:
            urls.append(url)
