"""Live Slack sync throughput against a local fake Slack API, beside the export importer.

    python bench/bench_sync.py --scales 7 65 --weeks 4      # ~10k and ~100k messages

For each scale: generate the sample workspace, serve its Slack export as a fake Web API in a
child process (tests/fakes/slack_server.py, real slack_sdk WebClient on the client side),
then measure, each into a fresh SQLite store:

- a full sync (budgets lifted: this measures our code, not Slack's limits): items/s,
  requests, API requests per 1,000 new items;
- an incremental pass when nothing changed, of each weight: a light pass (new messages
  only), a sweep (the reconciliation window and active threads re-read; hourly by default),
  and a pass while a Socket Mode session is up (the planner sees a session in the live
  registry; the socket itself is tested in tests/test_slack_live.py): requests and ms;
- the slack-export importer on the same workspace: items/s;
- what the same full sync would take under Slack's published budgets (Tier 3 history and
  replies, 50/min) and under the non-Marketplace limit (1 request/min, 15 messages each),
  from the request counts: the ETA a user would see.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from threadline.connectors.connections import (
    create_connection,
    get_connection,
    update_connection,
)
from threadline.connectors.engine import sync_connection
from threadline.connectors.runner import ensure_source, run_import
from threadline.connectors.slack_api_live import _REGISTRY, LiveStatus
from threadline.connectors.slack_export import SlackExportImporter
from threadline.sample import generate_workspace
from threadline.store import open_store
from threadline.store.writer import StoreWriter, utcnow

TOKEN = "xoxb-bench"
UNLIMITED = {"*": {"per_minute": 1e9, "burst": 10_000}}


def _serve(export: str, out: Any, stop: Any) -> None:
    from fakes.slack_server import FakeSlack, SlackWorkspace

    workspace = SlackWorkspace.from_export(Path(export))
    last = max(float(ts) for c in workspace.convs.values() for ts in c.messages)
    with FakeSlack(workspace, token=TOKEN) as fake:
        out.put((fake.url, workspace.message_count(), workspace.team, last))
        stop.wait()


def _sync(db: str, url: str, team: str, options: dict[str, Any]) -> tuple[Any, float]:
    engine = open_store(db)
    conn = create_connection(engine, name="slack", platform="slack", account=team, api_url=url,
                             options=options)
    started = time.perf_counter()
    summary = sync_connection(engine, conn, secrets={"token": TOKEN})
    seconds = time.perf_counter() - started
    engine.dispose()
    return summary, seconds


def _timed(engine: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    summary = sync_connection(engine, 1, secrets={"token": TOKEN})
    assert summary.status == "ok", summary.error
    return summary, (time.perf_counter() - started) * 1000


def _import_direct(engine: Any, importer: SlackExportImporter) -> None:
    writer = StoreWriter(ensure_source(engine, importer.source()))
    batch: list[Any] = []
    for record in importer.read():
        batch.append(record)
        if len(batch) >= 1000:
            with engine.begin() as conn:
                writer.save(conn, batch, utcnow())
            batch.clear()
    with engine.begin() as conn:
        writer.save(conn, batch, utcnow())


def bench(scale: int, weeks: int, root: Path, capped: bool = True) -> None:
    out_dir = root / f"ws-{scale}"
    manifest = generate_workspace(out_dir, seed=7, weeks=weeks, scale=scale)
    export = manifest.files["slack"]
    ctx = mp.get_context("spawn")
    queue, stop = ctx.Queue(), ctx.Event()
    server = ctx.Process(target=_serve, args=(str(export), queue, stop), daemon=True)
    server.start()
    url, messages, team, last = queue.get(timeout=600)
    try:
        # "now" just after the newest message: the reconciliation window (2 days) and thread
        # window (7 days) hold what an active workspace's would.
        options = {"now": last + 3600, "budgets": UNLIMITED}
        db = str(root / f"sync-{scale}.db")
        full, full_s = _sync(db, url, team, options)
        assert full.status == "ok", full.error
        engine = open_store(db)
        again, idle_ms = _timed(engine)
        conn = get_connection(engine, 1)
        update_connection(engine, 1, options={**conn.options, "reconcile_minutes": 0})
        swept, sweep_ms = _timed(engine)
        update_connection(engine, 1, options=conn.options)
        status = _REGISTRY.setdefault(conn.secret_ref, LiveStatus())
        status.open()
        _timed(engine)  # the first pass under a session reads everything once
        live, live_ms = _timed(engine)
        status.close()
        engine.dispose()

        imp_engine = open_store(str(root / f"import-{scale}.db"))
        started = time.perf_counter()
        try:
            run_import(imp_engine, SlackExportImporter(export, domain="northwind"), export)
        except Exception as exc:  # fall back to the importer's records through the writer
            print(f"run_import failed ({type(exc).__name__}); timing read + StoreWriter instead")
            imp_engine.dispose()
            imp_engine = open_store(str(root / f"import2-{scale}.db"))
            started = time.perf_counter()
            _import_direct(imp_engine, SlackExportImporter(export, domain="northwind"))
        import_s: float | None = time.perf_counter() - started
        imp_engine.dispose()

        slow_opts = {**options, "rate_profile": "non_marketplace", "budgets": UNLIMITED}
        slow = _sync(str(root / f"slow-{scale}.db"), url, team, slow_opts)[0] if capped else None
    finally:
        stop.set()
        server.join(10)

    added = full.counts.added
    per_1000 = full.requests / added * 1000
    tier3 = full.requests / 50  # minutes if every request were a Tier 3 method (upper bound)
    print(f"\n== scale {scale}, weeks {weeks}: {messages} messages")
    print(f"full live sync:   {added} items in {full_s:.1f}s = {added / full_s:,.0f} items/s; "
          f"{full.requests} requests ({per_1000:.1f} per 1,000 new items), {full.pages} pages")
    if import_s:
        print(f"export import:    {messages} items in {import_s:.1f}s = "
              f"{messages / import_s:,.0f} items/s")
    print(f"unchanged pass:   light {again.requests} requests, {idle_ms:.0f} ms; "
          f"sweep {swept.requests} requests, {sweep_ms:.0f} ms "
          f"({swept.counts.unchanged} re-read in the reconciliation window); "
          f"Socket Mode up {live.requests} requests, {live_ms:.0f} ms")
    print(f"under Slack budgets: ~{tier3:.0f} min at Tier 3 (50/min)")
    if slow is not None:  # at 1 request/minute on history+replies; other methods negligible
        print(f"non-Marketplace (15 messages/request, 1/min): {slow.requests} requests = "
              f"~{slow.requests / 60:.1f} h")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[7])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--no-capped", action="store_true",
                        help="skip the (long) sync at the non-Marketplace page size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for scale in args.scales:
            bench(scale, args.weeks, Path(tmp), capped=not args.no_capped)


if __name__ == "__main__":
    main()
