"""``threadline embed``: fit the optional local embeddings on the store and embed every item."""

from __future__ import annotations

import time

import typer

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

# embeddings.DIMS and embeddings.SAMPLE, written out so start-up skips importing the layer.
DIMS = 128
SAMPLE = 50_000


@app.command("embed")
def embed_command(
    ctx: typer.Context,
    dims: int = typer.Option(
        DIMS, "--dims", min=2, max=1024, help="Dimensions of each vector."
    ),
    sample: int = typer.Option(
        SAMPLE, "--sample", min=10, help="Fit on up to this many items, spread evenly."
    ),
) -> None:
    """Fit local embeddings on your own items (no download), so search also finds items
    near in meaning; accumulation keeps them current after that. Needs the extra
    `threadline[embeddings]`."""
    from sqlalchemy import func, select

    from threadline.cli.progress import item_progress
    from threadline.context import embeddings
    from threadline.store.schema import item

    engine = settings(ctx).engine()
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(item)).scalar_one())
    started = time.perf_counter()
    try:
        with item_progress(console) as progress:
            task = progress.add_task("embed", total=total)
            model, written = embeddings.fit_and_embed(
                engine, dims=dims, sample=sample, progress=lambda n: progress.advance(task, n)
            )
    except ThreadlineError as exc:
        fail(str(exc))
    console.print(
        f"[green]✓[/] embeddings: a {model.dims}-dimension model of {len(model.vocabulary)} "
        f"words, fitted on your items; {written} items embedded in "
        f"{time.perf_counter() - started:.1f}s. `threadline search` now also finds items near "
        "in meaning (--words-only turns it off)."
    )
