"""Deterministic randomness and native-id derivation for the sample workspace.

Every random choice comes from a ``random.Random`` seeded with a string naming *where* the
choice is made (seed, week, channel, day...). So a piece of output never depends on the order
in which other pieces were generated, and scale=1 content stays the same inside a larger run.
"""

from __future__ import annotations

import hashlib
import random
import uuid

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def rng_for(seed: int, *where: object) -> random.Random:
    """A generator for one place in the workspace; str seeds are hashed (sha512), stable."""
    return random.Random("|".join([str(seed), *map(str, where)]))


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("|".join(map(str, parts)).encode()).digest()


def slack_native_id(prefix: str, *parts: object) -> str:
    """Slack-looking ids: ``U``/``C``/``G``/``D``/``B``/``F`` + 10 upper-case base32 chars."""
    digest = int.from_bytes(_digest(prefix, *parts)[:8], "big")
    chars = []
    for _ in range(10):
        digest, rest = divmod(digest, 32)
        chars.append(_B32[rest])
    return prefix + "".join(chars)


def notion_hex(*parts: object) -> str:
    """A version-4-shaped UUID as the 32 hex chars Notion puts in export file names."""
    return uuid.UUID(bytes=_digest("notion", *parts)[:16], version=4).hex


def export_uuid(*parts: object) -> str:
    return str(uuid.UUID(bytes=_digest("export", *parts)[:16], version=4))


def short_hex(length: int, *parts: object) -> str:
    return _digest(*parts).hex()[:length]


def decimal_id(*parts: object) -> int:
    """A 19-digit number, the shape of Gmail's X-GM-THRID / X-GM-MSGID."""
    return 1_000_000_000_000_000_000 + int.from_bytes(_digest(*parts)[:8], "big") % (
        8_000_000_000_000_000_000
    )
