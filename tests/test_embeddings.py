"""Optional local embeddings: fitted on the store, kept current by accumulation, and used by
retrieval to find items that share no word with the question."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from fakes.list_importer import ListImporter as BaseListImporter
from sqlalchemy import Engine, select
from typer.testing import CliRunner

from threadline.cli.app import app
from threadline.connectors.runner import run_import
from threadline.context import embeddings
from threadline.context.accumulate import accumulate
from threadline.context.embeddings import EmbeddingsFolder, fit_and_embed
from threadline.context.retrieve import retrieve
from threadline.records import IdentityRef, ItemRecord, Record
from threadline.store.context_schema import item_vector
from threadline.store.schema import item

pytest.importorskip("sklearn", reason="the embeddings extra (scikit-learn) is not installed")

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
BILLING = [
    "invoice and billing for the march retainer",
    "billing question on the invoice totals",
    "the invoice went to billing yesterday",
    "billing says the invoice is approved",
    "invoice number and billing address updated",
    "send the invoice to billing please",
]
VIDEO = [
    "hero video cut for the homepage",
    "homepage hero video needs a new cut",
    "the hero video on the homepage loads slowly",
    "second cut of the hero video for the homepage",
    "homepage refresh with the hero video",
    "hero video homepage review",
    "staging deploy went out tonight",
    "staging deploy rolled back",
    "the deploy to staging is green",
]
# Shares no word with "invoice": only its use beside "billing" elsewhere ties them.
TARGET = "billing export failed again overnight"


ListImporter = partial(BaseListImporter, platform="slack", account="me")


def message(n: int, text: str, *, deleted: bool = False) -> ItemRecord:
    return ItemRecord(
        platform="slack",
        kind="message",
        canonical_id=f"slack:C1:{1000 + n}.1",
        container_id="C1",
        container_name="general",
        author=IdentityRef(kind="slack", value=f"U{n % 3}"),
        occurred_at=T0 + timedelta(minutes=n),
        text=text,
        deleted=deleted,
    )


def corpus() -> list[Record]:
    return [message(n, text) for n, text in enumerate([*BILLING, *VIDEO, TARGET])]


@pytest.fixture
def embedded(store: Engine) -> Engine:
    run_import(store, ListImporter(corpus()), Path("list"))
    accumulate(store)
    fit_and_embed(store, dims=3)
    return store


def vectors(engine: Engine) -> dict[int, bytes]:
    with engine.connect() as conn:
        return {r.item_id: bytes(r.vector) for r in conn.execute(select(item_vector))}


def test_a_question_finds_an_item_near_in_meaning(embedded: Engine) -> None:
    with embedded.connect() as conn:
        target = conn.execute(
            select(item.c.id).where(item.c.text == TARGET)
        ).scalar_one()
        words_only = retrieve(conn, "invoice", limit=20, similar=False).hits
        with_meaning = retrieve(conn, "invoice", limit=20).hits
    assert target not in {h.item_id for h in words_only}
    found = {h.item_id: h for h in with_meaning}
    assert found[target].via == "similar"
    video = {n + 1 for n in range(len(BILLING), len(BILLING) + len(VIDEO))}
    # Nothing about the video comes in by meaning.
    assert not video & {i for i, h in found.items() if h.via == "similar"}


def test_accumulation_keeps_vectors_current_and_a_rebuild_gives_the_same(
    embedded: Engine,
) -> None:
    before = vectors(embedded)
    assert len(before) == len(BILLING) + len(VIDEO) + 1
    run_import(
        embedded,
        ListImporter([message(20, "billing run for april"), message(0, BILLING[0], deleted=True)]),
        Path("more"),
    )
    accumulate(embedded)
    after = vectors(embedded)
    with embedded.connect() as conn:
        ids = dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())
    assert ids["slack:C1:1020.1"] in after  # the new item got its vector
    assert ids["slack:C1:1000.1"] not in after  # the tombstone lost its own
    accumulate(embedded, rebuild=True)
    assert vectors(embedded) == after


def test_embed_command_and_a_clear_error_without_the_extra(
    store: Engine, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    run_import(store, ListImporter(corpus()), Path("list"))
    url = store.url.render_as_string(hide_password=False)
    runner = CliRunner()
    done = runner.invoke(app, ["--db", url, "embed", "--dims", "3"])
    assert done.exit_code == 0, done.output
    assert f"{len(corpus())} items embedded" in " ".join(done.output.split())
    monkeypatch.setattr(embeddings, "available", lambda: False)
    missing = runner.invoke(app, ["--db", url, "embed"])
    assert missing.exit_code == 1
    assert "pip install 'threadline[embeddings]'" in " ".join(missing.output.split())


def test_too_little_text_is_a_clear_error(store: Engine) -> None:
    run_import(store, ListImporter([message(1, "hello")]), Path("list"))
    with pytest.raises(embeddings.EmbeddingsUnavailable, match="too little text"):
        fit_and_embed(store)


def test_without_a_model_the_folder_does_nothing(store: Engine) -> None:
    run_import(store, ListImporter(corpus()), Path("list"))
    accumulate(store, folders=[EmbeddingsFolder()])
    assert vectors(store) == {}
