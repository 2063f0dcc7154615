"""Finding an item by a platform-native id, as the sync engine does for Gmail deletions."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine
from test_store import ListImporter, message

from threadline.connectors.runner import run_import
from threadline.store.native_lookup import native_lookup


def test_native_lookup_finds_the_canonical_id(store: Engine) -> None:
    mail = message("7.1", "the tracking fix")
    mail.native["gmail_id"] = "18c2f0a1b2"
    run_import(store, ListImporter([mail, message("7.2", "other")]), Path("x"))
    lookup = native_lookup(store)
    assert lookup("gmail_id", "18c2f0a1b2") == "slack:C1:7.1"
    assert lookup("gmail_id", "nope") is None
    assert lookup("ts", "7.2") == "slack:C1:7.2"
