"""Quality and speed of produce() on the sample workspace, measured against gold.json.

For every gold client-week a client update is produced (offline composer) and its shipped
claims compared with the gold:

- fact recall: share of must_mention facts with at least one of their items cited by a kept
  claim ("any"), and with all of them cited ("all");
- leaks: cited items that gold says must not be mentioned, or that are placed for another
  client (must be 0);
- latency of produce() per client-week, p50 and p95.

    .venv/bin/python bench/bench_produce.py [--seeds 7 11 3] [--weeks 4] [--verbose]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from sample_store import build_sample

from threadline.context.notes import VISIBLE
from threadline.produce.pipeline import produce
from threadline.store.context_schema import client, item_client
from threadline.store.schema import item


def placements(engine: Engine) -> dict[str, set[str]]:
    """Canonical id → visible clients it is placed for by a strong rule."""
    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        rows = conn.execute(
            select(item.c.canonical_id, client.c.name, item_client.c.rule)
            .join(item_client, item_client.c.item_id == item.c.id)
            .join(client, client.c.id == item_client.c.client_id)
            .where(client.c.origin.in_(VISIBLE), item_client.c.rule != "name-mention")
        )
        for cid, name, _rule in rows:
            found.setdefault(cid, set()).add(name)
    return found


def measure(engine: Engine, gold: list[dict[str, Any]], verbose: bool = False) -> dict[str, Any]:
    placed = placements(engine)
    facts = any_hit = all_hit = 0
    leaks: list[str] = []
    latencies: list[float] = []
    rows = []
    for entry in gold:
        started = time.perf_counter()
        stored = produce(engine, "client-update", client=entry["client"], week=entry["week"])
        latencies.append(time.perf_counter() - started)
        cited = {c for claim in stored.draft.shipped_claims() for c in claim.citations}
        forbidden = set(entry["must_not_mention"])
        bad = sorted(c for c in cited if c in forbidden
                     or (placed.get(c) and entry["client"] not in placed[c]))
        leaks += [f"{entry['client']} {entry['week']}: {c}" for c in bad]
        got_any = sum(any(i in cited for i in f["items"]) for f in entry["must_mention"])
        got_all = sum(all(i in cited for i in f["items"]) for f in entry["must_mention"])
        facts += len(entry["must_mention"])
        any_hit += got_any
        all_hit += got_all
        rows.append((entry["client"], entry["week"], len(entry["must_mention"]), got_any,
                     got_all, len(bad), latencies[-1]))
        if verbose:
            for f in entry["must_mention"]:
                if not any(i in cited for i in f["items"]):
                    print(f"   missed {entry['client']} {entry['week']}: {f['fact'][:100]}")
    return {"facts": facts, "any": any_hit, "all": all_hit, "leaks": leaks,
            "latencies": latencies, "rows": rows}


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 3])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    every: list[float] = []
    total = {"facts": 0, "any": 0, "all": 0, "leaks": 0}
    for seed in args.seeds:
        with tempfile.TemporaryDirectory() as tmp:
            engine, gold = build_sample(Path(tmp), seed=seed, weeks=args.weeks)
            result = measure(engine, gold, args.verbose)
            engine.dispose()
        print(f"seed {seed}: recall(any) {result['any']}/{result['facts']} = "
              f"{result['any'] / max(result['facts'], 1):.3f}, recall(all) "
              f"{result['all'] / max(result['facts'], 1):.3f}, leaks {len(result['leaks'])}, "
              f"p50 {statistics.median(result['latencies']) * 1000:.0f} ms, "
              f"p95 {pct(result['latencies'], 0.95) * 1000:.0f} ms")
        for name, week, n, got_any, got_all, bad, secs in result["rows"]:
            print(f"   {name:<15} {week}  facts {n}  any {got_any}  all {got_all}  "
                  f"leaks {bad}  {secs * 1000:.0f} ms")
        for leak in result["leaks"]:
            print(f"   LEAK {leak}")
        every += result["latencies"]
        for key in ("facts", "any", "all"):
            total[key] += result[key]
        total["leaks"] += len(result["leaks"])
    print(f"all seeds: recall(any) {total['any'] / max(total['facts'], 1):.3f}, recall(all) "
          f"{total['all'] / max(total['facts'], 1):.3f}, leaks {total['leaks']}, "
          f"p50 {statistics.median(every) * 1000:.0f} ms, p95 {pct(every, 0.95) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
