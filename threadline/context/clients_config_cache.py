"""clients.yaml parsed once per content, not once per fold.

A 600-client file takes 40-70 ms to parse even with libyaml, on every sync. The store
keeps the validated rules with the SHA-256 of the text they came from, so a fold reads the
file, hashes it and, when the text is unchanged, validates the kept JSON instead (about
2 ms). Any edit to the file changes the hash: it is parsed (and checked) again, and an
invalid file raises the same ``ConfigError`` as ever, since nothing is kept for it.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, select

from threadline.context.clients_config import ClientsConfig, parse_clients
from threadline.store.context_schema import accumulation_state
from threadline.store.upsert import insert_or_update

CACHE_NAME = "clients-config"


def load_clients_cached(conn: Connection, path: Path) -> ClientsConfig:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ClientsConfig()
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    kept = conn.execute(
        select(accumulation_state.c.detail).where(accumulation_state.c.name == CACHE_NAME)
    ).scalar()
    if isinstance(kept, dict) and kept.get("sha256") == digest:
        return ClientsConfig.model_validate(kept["config"])
    config = parse_clients(text, str(path))
    row = {
        "name": CACHE_NAME, "watermark": None, "updated_at": datetime.now(UTC),
        "detail": {"sha256": digest, "config": config.model_dump(mode="json")},
    }
    insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at", "detail"])
    return config
