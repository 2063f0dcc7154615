"""Import throughput, peak memory and re-import cost for each importer.

    python bench/bench_import.py --scales 1 20 200 --weeks 12

For each scale: generate the sample workspace, then for each importer run the import into a
fresh SQLite store in a child process (so its peak RSS is its own), run it again unchanged
(the re-import cost), and, in the same run, copy the same rows with a plain ``executemany``
into a bare SQLite table: the baseline. Prints items/s, the ratio to the baseline, the
re-import time as a fraction of the first, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.sample import generate_workspace
from threadline.store import open_store

IMPORTS = [
    ("slack-export", "slack-export.zip"),
    ("mbox", "mail.mbox"),
    ("ics", "calendar.ics"),
    ("notion-export", "notion-export.zip"),
]


def _child_import(kind: str, path: str, db: str, out: mp.Queue) -> None:
    """Import into a fresh store and report time, counts and this process's peak RSS."""
    engine = open_store(db)
    started = time.perf_counter()
    summary = run_import(engine, open_importer(kind, Path(path)), Path(path))
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    c = summary.counts
    out.put(
        {
            "seconds": seconds,
            "records": c.added + c.updated + c.unchanged + c.deleted + c.quarantined,
            "added": c.added,
            "unchanged": c.unchanged,
            "peak_rss_mb": peak_kb / 1024,
        }
    )


# Spawned, not forked: a forked child would inherit (and count in its peak RSS) whatever the
# parent holds, such as the rows the baseline read back.
SPAWN = mp.get_context("spawn")


def timed_import(kind: str, path: Path, db: Path) -> dict[str, float]:
    queue = SPAWN.Queue()
    child = SPAWN.Process(target=_child_import, args=(kind, str(path), str(db), queue))
    child.start()
    result = queue.get()
    child.join()
    return result


def baseline(db: Path, platform: str) -> tuple[int, float]:
    """The same rows, read back from our store, written by a plain executemany."""
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT canonical_id, platform, container_id, thread_id, author_key, occurred_at,"
            " title, text, raw FROM item WHERE platform = ?",
            (platform,),
        ).fetchall()
    with tempfile.TemporaryDirectory() as tmp, sqlite3.connect(Path(tmp) / "bare.db") as bare:
        bare.execute(
            "CREATE TABLE item (canonical_id TEXT, platform TEXT, container_id TEXT,"
            " thread_id TEXT, author_key TEXT, occurred_at TEXT, title TEXT, text TEXT, raw TEXT)"
        )
        started = time.perf_counter()
        bare.executemany("INSERT INTO item VALUES (?,?,?,?,?,?,?,?,?)", rows)
        bare.commit()
        return len(rows), time.perf_counter() - started


PLATFORM = {"slack-export": "slack", "mbox": "email", "ics": "calendar", "notion-export": "notion"}


def run(
    scale: int, weeks: int, workdir: Path, only: list[str] | None = None
) -> list[dict[str, object]]:
    out = workdir / f"ws-{scale}"
    started = time.perf_counter()
    # The generator is deterministic, so the same arguments write the same bytes again.
    manifest = generate_workspace(out, seed=7, weeks=weeks, scale=scale)
    gen_seconds = time.perf_counter() - started
    print(
        f"\nscale {scale}, {weeks} weeks: {manifest.total_items} items generated in "
        f"{gen_seconds:.1f}s ({manifest.counts})"
    )
    results = []
    for kind, name in IMPORTS:
        if only and kind not in only:
            continue
        db = workdir / f"store-{scale}-{kind}.db"
        first = timed_import(kind, out / name, db)
        again = timed_import(kind, out / name, db)
        rows, base_seconds = baseline(db, PLATFORM[kind])
        rate = first["records"] / first["seconds"]
        base_rate = rows / base_seconds if base_seconds else float("inf")
        result = {
            "scale": scale,
            "importer": kind,
            "items": int(first["records"]),
            "seconds": round(first["seconds"], 2),
            "items_per_s": round(rate),
            "baseline_items_per_s": round(base_rate),
            "ratio_vs_baseline": round(rate / base_rate, 3),
            "reimport_seconds": round(again["seconds"], 2),
            "reimport_fraction": round(again["seconds"] / first["seconds"], 3),
            "peak_rss_mb": round(first["peak_rss_mb"], 1),
        }
        results.append(result)
        print(
            f"  {kind:<14} {result['items']:>9} items  {result['items_per_s']:>7} items/s"
            f"  (baseline executemany {result['baseline_items_per_s']} items/s,"
            f" ratio {result['ratio_vs_baseline']})"
            f"  re-import {result['reimport_seconds']}s = {result['reimport_fraction']:.0%}"
            f" of first  peak RSS {result['peak_rss_mb']} MB"
        )
        db.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--workdir", type=Path, default=Path("bench/out"))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", nargs="+", help="only these importers, e.g. mbox ics")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    figures = [
        r for scale in args.scales for r in run(scale, args.weeks, args.workdir, args.only)
    ]
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
