"""What a person waits for, on an existing store: the context note, search, a client update.

    python bench/bench_latency.py --db bench/out/acc-20-12.db

Prints p50 and p95 of reading and rendering a client-week's context note
(``threadline context``), of hybrid search (``threadline search``) and of producing a
verified client update (``threadline produce client-update``, offline composer).
``bench_accumulate.py`` calls it on each store it builds.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from sqlalchemy import Engine, func, select

from threadline.store import open_store
from threadline.store.schema import item


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p50 = ordered[len(ordered) // 2]
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return p50 * 1000, p95 * 1000


QUERIES = [
    "conversion tracking gap", "checkout 502s rollback", "scope change confirmed",
    "final product photography", "crisis call", "data refresh daily", "hero video cut",
    "pricing page", "LinkedIn retargeting", "churn-risk score", "row-level security",
    "staging is down", "invoice overdue", "wireframes", "load test checkout",
]


def query_latency(engine: Engine, produce_runs: int = 20) -> None:
    from threadline.context.note_render import render_lines, with_names
    from threadline.context.notes import load_note
    from threadline.context.retrieve import retrieve
    from threadline.context.weeks import parse_week
    from threadline.store.context_schema import client as client_table
    from threadline.store.context_schema import weekly_note

    with engine.connect() as conn:
        pairs = conn.execute(
            select(weekly_note.c.client_id, weekly_note.c.week)
            .join(client_table, client_table.c.id == weekly_note.c.client_id)
            .order_by(weekly_note.c.id)
            .limit(200)
        ).all()
        note_times = []
        for client_id, week in pairs:
            started = time.perf_counter()
            view = load_note(conn, client_id, parse_week(week))
            if view is not None:
                render_lines(with_names(conn, view))
            note_times.append(time.perf_counter() - started)
        # The first search of a process imports the retrieval modules and fills
        # SQLAlchemy's statement cache: timed apart, as a long-running app pays it once.
        started = time.perf_counter()
        retrieve(conn, "weekly status", limit=10)
        first_search = time.perf_counter() - started
        # The first pass reads each query's index pages from disk unless the OS has them
        # cached; the next two show a store in use. Both are reported.
        first_pass: list[float] = []
        search_times: list[float] = []
        for rounds in (first_pass, search_times, search_times):
            for query in QUERIES:
                started = time.perf_counter()
                retrieve(conn, query, limit=10)
                rounds.append(time.perf_counter() - started)
        names = dict(conn.execute(select(client_table.c.id, client_table.c.name)).all())
    produce_times = []
    from threadline.produce.pipeline import produce

    for client_id, week in pairs[:produce_runs]:
        started = time.perf_counter()
        produce(engine, "client-update", client=names[client_id], week=week)
        produce_times.append(time.perf_counter() - started)
    if note_times:
        n50, n95 = _percentiles(note_times)
        print(
            f"  context note read+render: p50 {n50:.1f} ms, p95 {n95:.1f} ms "
            f"({len(pairs)} notes)"
        )
    else:
        print("  context note: no notes in this store (context not folded)")
    s50, s95 = _percentiles(search_times)
    c50, c95 = _percentiles(first_pass)
    print(
        f"  hybrid search: p50 {s50:.1f} ms, p95 {s95:.1f} ms ({len(search_times)} queries); "
        f"first pass over the queries p50 {c50:.1f} ms, p95 {c95:.1f} ms; the process's "
        f"first search {first_search * 1000:.0f} ms"
    )
    if produce_times:
        p50, p95 = _percentiles(produce_times)
        print(
            f"  produce client-update (offline, verified, stored): p50 {p50:.0f} ms, "
            f"p95 {p95:.0f} ms ({len(produce_times)} client-weeks)"
        )




def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True)
    parser.add_argument("--produce-runs", type=int, default=20)
    parser.add_argument(
        "--import-dir",
        type=Path,
        help="first import a generated workspace here into --db, without folding the context "
        "(search over items alone, for sizes where folding takes too long to bench)",
    )
    args = parser.parse_args()
    engine = open_store(args.db)
    if args.import_dir:
        from threadline.connectors.base import open_importer
        from threadline.connectors.runner import run_import
        from threadline.sample import FILES

        kinds = {"slack": "slack-export", "email": "mbox", "calendar": "ics",
                 "notion": "notion-export"}
        for platform, kind in kinds.items():
            path = args.import_dir / FILES[platform]
            started = time.perf_counter()
            summary = run_import(engine, open_importer(kind, path), path)
            print(f"  imported {kind}: {summary.line} in {time.perf_counter() - started:.0f}s")
    with engine.connect() as conn:
        size = conn.execute(select(func.count()).select_from(item)).scalar_one()
    print(f"store of {size} items at {args.db}:")
    query_latency(engine, args.produce_runs)


if __name__ == "__main__":
    main()
