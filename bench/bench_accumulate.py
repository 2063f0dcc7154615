"""Accumulation cost and query latency as the store grows.

    python bench/bench_accumulate.py --scales 2 20 200 --weeks 12

For each scale: generate the sample workspace, import it and fold it all (the store), then
import 1,000 new Slack messages in a later week across the same channels and people, and
time the incremental fold of just those. The messages go to the channels of the sample's
first six configured clients, which every scale has: the same clients, and so the same
client-weeks of notes to build again, in every store. The baseline is the same fold at the
smallest scale, in the same run: a flat ratio means the cost follows the new items, not the
store.
On the same store it times what a person waits for: reading a client-week's context note
(``threadline context``) and hybrid search (``threadline search``), p50 and p95.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, func, select

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import AccumulationReport, accumulate
from threadline.context.registry import builtin_folders
from threadline.records import IdentityRef, ItemRecord, Record, SourceInfo
from threadline.sample import FILES, generate_workspace
from threadline.sample.clients_yaml import sample_clients_config
from threadline.store import open_store
from threadline.store.schema import item

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_latency import query_latency

KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}
PHRASES = [
    "Pushed the fix for {topic} to staging, can you check before EOD Friday?",
    "Client confirmed the {topic} numbers, moving the task to Done.",
    "Heads-up: {topic} is slipping by two days, waiting on the API keys.",
    "Notes from today's call on {topic}: decided to go with option B.",
]
CLIENTS = 6
AUTHORS = 6
TOPICS = ["conversion tracking", "the pricing page", "the data refresh", "the hero video"]


class NewMessages:
    """1,000 plausible new Slack messages, a week after the workspace ends."""

    name = "bench-new"

    def __init__(self, engine: Engine, count: int, seed: int, names: list[str]) -> None:
        with engine.connect() as conn:
            # The same shape of batch in every store: the same channels, up to AUTHORS
            # people writing in each, so a bigger store does not spread it wider.
            channels = (
                select(item.c.container_id)
                .where(
                    item.c.platform == "slack", item.c.author_key.is_not(None),
                    item.c.container_name.in_(names),
                )
                .group_by(item.c.container_id)
            )
            rows = conn.execute(
                select(item.c.container_id, item.c.container_name, item.c.author_key)
                .where(item.c.container_id.in_(channels), item.c.author_key.is_not(None))
                .group_by(item.c.container_id, item.c.container_name, item.c.author_key)
                .order_by(item.c.container_id, item.c.author_key)
            ).all()
            per_channel: dict[str, int] = {}
            self.channels = []
            for row in rows:
                if per_channel.get(row.container_id, 0) < AUTHORS:
                    per_channel[row.container_id] = per_channel.get(row.container_id, 0) + 1
                    self.channels.append(row)
            self.latest = conn.execute(select(func.max(item.c.occurred_at))).scalar_one()
        self.count = count
        self.rng = random.Random(seed)

    def source(self) -> SourceInfo:
        return SourceInfo(platform="slack", kind="slack-export", account="bench")

    def estimate(self) -> int:
        return self.count

    def read(self) -> Iterator[Record]:
        for n in range(self.count):
            channel, name, author = self.rng.choice(self.channels)
            when = self.latest + timedelta(days=7, minutes=7 * n)
            ts = f"{int(when.timestamp())}.{n:06d}"
            text = self.rng.choice(PHRASES).format(topic=self.rng.choice(TOPICS))
            yield ItemRecord(
                platform="slack",
                kind="message",
                canonical_id=f"slack:{channel}:{ts}",
                native={"channel": channel, "ts": ts},
                container_id=channel,
                container_name=name,
                author=IdentityRef(kind="slack", value=author.split(":", 1)[1]),
                occurred_at=when,
                created_at=when,
                text=text,
            )


def by_folder(report: AccumulationReport) -> str:
    return ", ".join(f"{name} {sec:.2f}s" for name, sec in report.seconds_by_folder.items())


def build_store(
    scale: int, weeks: int, workdir: Path, reuse: bool
) -> tuple[Engine, Path, int]:
    out = workdir / f"ws-{scale}-{weeks}"
    if not (out / FILES["gold"]).exists():
        generate_workspace(out, seed=7, weeks=weeks, scale=scale)
    clients = workdir / f"clients-{scale}.yaml"
    from threadline.context.clients_config import save_clients

    save_clients(sample_clients_config(seed=7, scale=scale), clients)
    db = workdir / f"acc-{scale}-{weeks}.db"
    if reuse and db.exists():
        # A folded store from an earlier run (the 1M one takes an hour to build and fold);
        # each run adds its new items to it, a fraction of a percent of the store.
        engine = open_store(str(db))
        started = time.perf_counter()
        report = accumulate(engine, folders=builtin_folders(clients))
        spent = time.perf_counter() - started
        with engine.connect() as conn:
            size = int(conn.execute(select(func.count()).select_from(item)).scalar_one())
        print(f"  reusing a store of {size} items; {report.items} were left to fold")
        if report.items:
            print(
                f"  folded them in {spent:.1f}s ({report.items / spent:.0f} items/s; "
                f"{by_folder(report)})"
            )
        return engine, clients, size
    for leftover in workdir.glob(db.name + "*"):
        leftover.unlink()
    engine = open_store(str(db))
    for platform, kind in KINDS.items():
        path = out / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    started = time.perf_counter()
    report = accumulate(engine, folders=builtin_folders(clients))
    with engine.connect() as conn:
        size = int(conn.execute(select(func.count()).select_from(item)).scalar_one())
    spent = time.perf_counter() - started
    print(
        f"  store of {size} items folded in {spent:.1f}s ({size / spent:.0f} items/s; "
        f"{by_folder(report)})"
    )
    return engine, clients, size


def batch_channels(scale: int) -> list[str]:
    config = sample_clients_config(seed=7, scale=scale)
    return [channel for rule in config.clients[:CLIENTS] for channel in rule.channels]


def fold_increment(engine: Engine, clients: Path, seed: int, names: list[str]) -> float:
    importer = NewMessages(engine, 1000, seed, names)
    run_import(engine, importer, Path("bench"))
    started = time.perf_counter()
    report = accumulate(engine, folders=builtin_folders(clients))
    spent = time.perf_counter() - started
    assert report.items == 1000, report
    print(f"    increment {spent * 1000:.0f} ms: {by_folder(report)}")
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument(
        "--reuse", action="store_true", help="keep a folded store from an earlier run"
    )
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    baseline: float | None = None
    for scale in args.scales:
        print(f"scale {scale}, {args.weeks} weeks:")
        engine, clients, size = build_store(scale, args.weeks, args.workdir, args.reuse)
        query_latency(engine)
        names = batch_channels(scale)
        times = [fold_increment(engine, clients, seed, names) for seed in range(args.repeats)]
        median = statistics.median(times)
        baseline = baseline or median
        print(
            f"  fold 1,000 new items into {size} items: median {median * 1000:.0f} ms "
            f"(runs: {', '.join(f'{t * 1000:.0f}' for t in times)} ms), "
            f"{1000 / median:.0f} items/s, ratio vs smallest store {median / baseline:.2f}"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
