"""Co-occurrence tallies: kept as items arrive, always equal to counting from the items."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from fakes.list_importer import ListImporter as BaseListImporter
from sqlalchemy import Connection, Engine, delete, select

from threadline.connectors.runner import run_import
from threadline.context import people_tally
from threadline.context.accumulate import accumulate
from threadline.context.people import PeopleFolder
from threadline.context.people_tally import co_occurrence
from threadline.records import IdentityRef, ItemRecord, Record
from threadline.store.context_schema import identity_tally, identity_tally_state, tally_item
from threadline.store.schema import item

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
AL, BO, CY, DI = (
    IdentityRef(kind="email", value=f"{n}@x.example") for n in ("al", "bo", "cy", "di")
)


ListImporter = partial(BaseListImporter, platform="email", account="me@x.example")


def mail(n: int, sender: IdentityRef, *to: IdentityRef, deleted: bool = False) -> ItemRecord:
    return ItemRecord(
        platform="email",
        kind="email",
        canonical_id=f"email:m{n}@mail.example",
        container_id="INBOX",
        author=sender,
        recipients=list(to),
        occurred_at=T0 + timedelta(minutes=n),
        title=f"message {n}",
        text="about the launch",
        deleted=deleted,
    )


def fold(store: Engine, records: list[Record]) -> None:
    run_import(store, ListImporter(records), Path("list"))
    accumulate(store, folders=[PeopleFolder()], chunk_size=3)


def from_items(conn: Connection) -> dict[tuple[str, str], int]:
    """What every tally must hold: each author's first ROWS live items by id, counted."""
    counts: Counter[tuple[str, str]] = Counter()
    seen: Counter[str] = Counter()
    rows = conn.execute(
        select(item.c.author_key, item.c.recipients)
        .where(item.c.deleted.is_(False), item.c.author_key.is_not(None))
        .order_by(item.c.id)
    )
    for author, recipients in rows:
        seen[author] += 1
        if seen[author] <= people_tally.ROWS:
            counts.update((author, r) for r in set(recipients) if r != author)
    return dict(counts)


def stored(conn: Connection) -> dict[tuple[str, str], int]:
    t = identity_tally.c
    return {
        (a, b): n
        for a, b, n in conn.execute(select(t.author_key, t.other_key, t.together))
        if n
    }


@pytest.fixture(autouse=True)
def small_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    # A cap the test can cross: past it, new items are not counted; before it, they are.
    monkeypatch.setattr(people_tally, "ROWS", 4)


def test_tallies_follow_new_edited_deleted_and_reassigned_items(store: Engine) -> None:
    fold(store, [mail(1, AL, BO), mail(2, AL, BO, CY), mail(3, BO, AL), mail(4, CY, AL)])
    with store.connect() as conn:
        assert stored(conn) == from_items(conn)
        assert co_occurrence(conn, AL.key, BO.key) == 3
    # Appended past the tally, then past the cap: the fifth of al's items is not counted.
    fold(store, [mail(5, AL, DI), mail(6, AL, BO), mail(7, AL, BO)])
    with store.connect() as conn:
        assert stored(conn) == from_items(conn)
        assert co_occurrence(conn, AL.key, BO.key) == 4
    # An edit that changes recipients, a deletion that frees a place under the cap, and an
    # item that changes author: each recounts who counted it before and who counts it now.
    fold(store, [mail(2, AL, DI), mail(1, AL, BO, deleted=True), mail(4, DI, AL)])
    with store.connect() as conn:
        assert stored(conn) == from_items(conn)
        assert co_occurrence(conn, AL.key, BO.key) == 3  # by al: 6 and 7 (1 is gone); by bo: 3
        assert co_occurrence(conn, AL.key, CY.key) == 0
        assert co_occurrence(conn, AL.key, DI.key) == 3
        counted = dict(conn.execute(select(tally_item.c.item_id, tally_item.c.author_key)).all())
        assert sorted(counted.values()).count(AL.key) == 4


def test_rebuild_gives_the_tallies_of_the_incremental_path(store: Engine) -> None:
    batches = [
        [mail(n, AL if n % 3 else BO, BO if n % 2 else CY, DI) for n in range(1, 8)],
        [mail(3, CY, AL), mail(8, AL, CY), mail(5, AL, BO, deleted=True)],
        [mail(n, DI, AL) for n in range(9, 13)],
    ]
    for batch in batches:
        fold(store, list(batch))
    with store.connect() as conn:
        incremental = stored(conn)
        assert incremental == from_items(conn)
    accumulate(store, rebuild=True, folders=[PeopleFolder()], chunk_size=2)
    with store.connect() as conn:
        assert stored(conn) == incremental


def test_a_store_from_before_tallies_counts_on_first_use(store: Engine) -> None:
    fold(store, [mail(1, AL, BO), mail(2, BO, AL), mail(3, AL, CY)])
    with store.begin() as conn:
        for table in (tally_item, identity_tally, identity_tally_state):
            conn.execute(delete(table))
    with store.begin() as conn:
        assert co_occurrence(conn, AL.key, BO.key) == 2
        assert co_occurrence(conn, CY.key, BO.key) == 0
    # A new item after the upgrade appends to the tally counted on first use.
    fold(store, [mail(4, BO, AL)])
    with store.connect() as conn:
        assert co_occurrence(conn, AL.key, BO.key) == 3
