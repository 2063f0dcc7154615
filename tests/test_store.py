"""The save path on SQLite and PostgreSQL: upserts, versions, tombstones, links, search."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from threadline.connectors.runner import run_import
from threadline.errors import ImportFailed
from threadline.records import (
    IdentityRecord,
    IdentityRef,
    ItemRecord,
    LinkRef,
    QuarantineRecord,
    Record,
    SourceInfo,
)
from threadline.store.schema import identity, import_run, item, item_version, link, quarantine
from threadline.store.search import search
from threadline.store.status import quarantine_entries, store_status

WHEN = datetime(2026, 11, 17, 9, 30, tzinfo=UTC)
JANE = IdentityRef(kind="email", value="Jane@Northwind.example", display_name="Jane Doe")


def message(ts: str, text: str, *, deleted: bool = False, **extra: object) -> ItemRecord:
    return ItemRecord(
        platform="slack",
        kind="message",
        canonical_id=f"slack:C1:{ts}",
        native={"channel": "C1", "ts": ts},
        container_id="C1",
        container_name="#acme-website",
        author=IdentityRef(kind="slack", value="U1", display_name="Jane"),
        occurred_at=WHEN,
        text=text,
        deleted=deleted,
        raw={"ts": ts, "text": text},
        **extra,  # type: ignore[arg-type]
    )


class ListImporter:
    """An importer over a fixed list, for driving the runner and writer directly."""

    name = "test-list"

    def __init__(self, records: list[Record], fail_after: int | None = None) -> None:
        self.records = records
        self.fail_after = fail_after

    def source(self) -> SourceInfo:
        return SourceInfo(platform="slack", kind="test-list", account="T1")

    def estimate(self) -> int | None:
        return len(self.records)

    def read(self) -> Iterator[Record]:
        for n, record in enumerate(self.records):
            if self.fail_after is not None and n == self.fail_after:
                raise RuntimeError("disk on fire")
            yield record


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_reimport_adds_nothing(store: Engine) -> None:
    records: list[Record] = [message(f"1.{n:06d}", f"note {n}") for n in range(2500)]
    first = run_import(store, ListImporter(records), Path("x"), batch_size=1000)
    second = run_import(store, ListImporter(records), Path("x"), batch_size=1000)
    assert first.counts.added == 2500
    assert second.counts.added == 0
    assert second.counts.unchanged == 2500
    assert count(store, item) == 2500
    assert count(store, item_version) == 0


def test_edit_keeps_earlier_version_and_deletion_is_a_tombstone(store: Engine) -> None:
    run_import(store, ListImporter([message("1.1", "ship on Friday")]), Path("x"))
    edited = run_import(store, ListImporter([message("1.1", "ship on Monday")]), Path("x"))
    gone = run_import(store, ListImporter([message("1.1", "", deleted=True)]), Path("x"))
    assert (edited.counts.updated, gone.counts.deleted) == (1, 1)
    with store.connect() as conn:
        row = conn.execute(select(item).where(item.c.canonical_id == "slack:C1:1.1")).one()
        versions = conn.execute(
            select(item_version.c.version, item_version.c.change, item_version.c.text).order_by(
                item_version.c.version
            )
        ).all()
    assert row.deleted and row.version == 3 and row.deleted_at is not None
    assert row.occurred_at == WHEN and row.occurred_at.tzinfo is not None
    assert [tuple(v) for v in versions] == [
        (1, "edited", "ship on Friday"),
        (2, "deleted", "ship on Monday"),
    ]


def test_identities_links_and_quarantine(store: Engine) -> None:
    bad = QuarantineRecord(
        platform="slack", file="general/2026-11-17.json", position="line 3", reason="bad", raw=b"{"
    )
    records: list[Record] = [
        IdentityRecord(identity=JANE, platform="email", profile={"title": "Lead"}),
        message(
            "1.2",
            "see the spec",
            recipients=[JANE],
            links=[LinkRef(kind="reference", target="notion:0000")],
        ),
        bad,
    ]
    summary = run_import(store, ListImporter(records), Path("x"))
    run_import(store, ListImporter(records), Path("x"))
    assert summary.counts.quarantined == 1
    assert count(store, quarantine) == 1  # a re-import does not quarantine twice
    with store.connect() as conn:
        keys = set(conn.execute(select(identity.c.key)).scalars())
        targets = list(conn.execute(select(link.c.target)).scalars())
        entries = quarantine_entries(conn)
    assert keys == {"email:jane@northwind.example", "slack:U1"}
    assert targets == ["notion:0000"]
    assert entries[0].file == "general/2026-11-17.json" and entries[0].position == "line 3"


def test_full_text_search(store: Engine) -> None:
    records: list[Record] = [
        message("1.1", "The conversion tracking gap is fixed"),
        message("1.2", "Lunch at noon?"),
        message("1.3", "tracking pixel removed", deleted=True),
    ]
    run_import(store, ListImporter(records), Path("x"))
    with store.connect() as conn:
        hits = search(conn, "tracking")
        none = search(conn, 'NEAR(" AND')
    assert [h.canonical_id for h in hits] == ["slack:C1:1.1"]
    assert "tracking" in hits[0].snippet.lower()
    assert none == []


def test_importer_crash_keeps_what_was_read(store: Engine) -> None:
    records: list[Record] = [message(f"2.{n}", f"m {n}") for n in range(30)]
    summary = run_import(store, ListImporter(records, fail_after=25), Path("x"), batch_size=10)
    assert summary.status == "partial"
    assert summary.error and "disk on fire" in summary.error
    assert count(store, item) == 25


def test_nothing_imported_is_a_failure(store: Engine) -> None:
    with pytest.raises(ImportFailed):
        run_import(store, ListImporter([message("3.1", "x")], fail_after=0), Path("x"))
    with store.connect() as conn:
        statuses = list(conn.execute(select(import_run.c.status)).scalars())
    assert statuses == ["failed"]


def test_status_counts(store: Engine) -> None:
    run_import(store, ListImporter([message("4.1", "a"), message("4.2", "b")]), Path("x"))
    with store.connect() as conn:
        status = store_status(conn, "db")
    assert status.items == 2
    assert status.platforms["slack"].containers[0].container == "#acme-website"
    assert status.last_import is not None and status.last_import.added == 2


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        message("5.1", "x", created_at=datetime(2026, 1, 1))


def test_a_big_fold_refreshes_the_planner_statistics_on_postgresql(
    store: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    import time

    from sqlalchemy import text

    import threadline.context.accumulate as accumulate_module

    def analyzed(tries: int = 1) -> bool:
        with store.connect() as conn:
            if store.dialect.name == "postgresql":
                # Another backend's statistics reach the view within a second or so.
                for _ in range(tries):
                    if conn.execute(text(
                        "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                        "WHERE relname = 'item'"
                    )).scalar_one():
                        return True
                    conn.rollback()
                    time.sleep(0.25)
                return False
            return conn.execute(text(
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'"
            )).scalar_one() > 0

    monkeypatch.setattr(accumulate_module, "ANALYZE_AFTER", 3)
    run_import(store, ListImporter([message("1.1", "one"), message("1.2", "two")]), Path("x"))
    accumulate_module.accumulate(store, folders=[])
    assert not analyzed()
    more: list[Record] = [message(f"2.{n}", f"note {n}") for n in range(3)]
    run_import(store, ListImporter(more), Path("x"))
    accumulate_module.accumulate(store, folders=[])
    # PostgreSQL gets fresh statistics; SQLite's plans are tuned without any.
    assert analyzed(tries=20) == (store.dialect.name == "postgresql")
