"""Retrieval quality and latency: hybrid retrieval against plain BM25, on the sample workspace.

    python bench/bench_retrieval.py                          # small: scale 1, 4 weeks
    python bench/bench_retrieval.py --scales 20 --weeks 12   # ~100k items (minutes)
    python bench/bench_retrieval.py --scales 200 --weeks 12  # ~1M items (an hour or more)
    python bench/bench_retrieval.py --store copy.db --gold gold.json  # an already folded store

For each scale: generate the workspace, import its four files into a fresh SQLite store, fold
the context (``accumulate`` with the default folders), then ask questions made from gold.json:

- fact: each must-mention fact's text as the query; its evidence is the fact's items;
- temporal: "what happened the day after <fact>?"; its evidence is the items of the same
  client's gold facts dated the day after the fact's first item (skipped when none);
- multi-hop: two facts of one client-week joined with "and also"; evidence is both.

Evidence recall@k is the fraction of a question's evidence items in the top k, averaged per
kind, for (a) ``retrieve`` (hybrid: time words, clauses, expansion) and (b) ``search`` over
single items with the same words (plain BM25); with ``--embeddings``, also (c) hybrid
retrieval plus local embeddings fitted on the store (``threadline embed``). Latency p50/p95
is measured over the same questions for each, with the store opened once.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.retrieve import content_terms, retrieve
from threadline.sample import FILES, generate_workspace
from threadline.store import open_store
from threadline.store.schema import item
from threadline.store.search import search

KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}
Question = tuple[str, str, set[str]]  # kind, query, evidence


def build(out: Path, scale: int, weeks: int, seed: int) -> tuple[Engine, dict[str, float]]:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    generate_workspace(out, seed=seed, weeks=weeks, scale=scale)
    timings["generate_s"] = time.perf_counter() - started
    engine = open_store(str(out / "store.db"))
    started = time.perf_counter()
    for platform, kind in KINDS.items():
        path = out / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    timings["import_s"] = time.perf_counter() - started
    started = time.perf_counter()
    accumulate(engine)
    timings["accumulate_s"] = time.perf_counter() - started
    return engine, timings


def questions(conn: Connection, gold: list[dict[str, Any]]) -> list[Question]:
    cited = {cid for e in gold for f in e["must_mention"] for cid in f["items"]}
    when = dict(
        conn.execute(
            select(item.c.canonical_id, item.c.occurred_at).where(item.c.canonical_id.in_(cited))
        ).all()
    )
    by_client_day: dict[tuple[str, date], set[str]] = defaultdict(set)
    for entry in gold:
        for f in entry["must_mention"]:
            for cid in f["items"]:
                if when.get(cid):
                    by_client_day[(entry["client"], when[cid].astimezone(UTC).date())].add(cid)
    out: list[Question] = []
    for entry in gold:
        facts = entry["must_mention"]
        for f in facts:
            out.append(("fact", f["fact"], set(f["items"])))
            dated = [when[c] for c in f["items"] if when.get(c)]
            if dated:
                after = min(dated).astimezone(UTC).date() + timedelta(days=1)
                expected = by_client_day.get((entry["client"], after), set())
                if expected:
                    out.append(("temporal", f"what happened the day after {f['fact']}",
                                set(expected)))
        for a, b in pairwise(facts):
            out.append(("multi-hop", f"{a['fact']} and also {b['fact']}",
                        set(a["items"]) | set(b["items"])))
    return out


def hybrid(conn: Connection, query: str, k: int) -> list[int]:
    return [h.item_id for h in retrieve(conn, query, limit=k, tz=UTC, similar=False).hits]


def embedded(conn: Connection, query: str, k: int) -> list[int]:
    """Hybrid plus the items nearest in meaning (local embeddings, ``threadline embed``)."""
    return [h.item_id for h in retrieve(conn, query, limit=k, tz=UTC, similar=True).hits]


def bm25(conn: Connection, query: str, k: int) -> list[int]:
    return [h.item_id for h in search(conn, " ".join(content_terms(query)), limit=k, match="any")]


def evaluate(conn: Connection, qs: list[Question], with_embeddings: bool) -> dict[str, Any]:
    ids = dict(conn.execute(select(item.c.canonical_id, item.c.id)).all())
    methods: dict[str, Callable[[Connection, str, int], list[int]]] = {
        "hybrid": hybrid, "bm25": bm25}
    if with_embeddings:
        methods["hybrid+emb"] = embedded
    report: dict[str, Any] = {}
    for name, method in methods.items():
        recall: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
        latencies: list[float] = []
        for kind, query, evidence in qs:
            wanted = {ids[c] for c in evidence if c in ids}
            if not wanted:
                continue
            started = time.perf_counter()
            got = method(conn, query, 10)
            latencies.append((time.perf_counter() - started) * 1000)
            for k in (5, 10):
                recall[kind][k].append(len(wanted & set(got[:k])) / len(wanted))
        report[name] = {
            "recall": {
                kind: {f"@{k}": round(statistics.mean(v), 3) for k, v in by_k.items()}
                | {"n": len(by_k[5])}
                for kind, by_k in recall.items()
            },
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(statistics.quantiles(latencies, n=20)[18], 1),
        }
    return report


def fit_embeddings(engine: Engine, timings: dict[str, float]) -> None:
    from threadline.context.embeddings import fit_and_embed

    started = time.perf_counter()
    fit_and_embed(engine)
    timings["embed_s"] = time.perf_counter() - started


def run(
    scale: int, weeks: int, seed: int, workdir: Path, with_embeddings: bool
) -> dict[str, Any]:
    out = workdir / f"ws-{scale}-{weeks}"
    engine, timings = build(out, scale, weeks, seed)
    if with_embeddings:
        fit_embeddings(engine, timings)
    gold = json.loads((out / FILES["gold"]).read_text())
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(item)).scalar_one())
        qs = questions(conn, gold)
        report = {"scale": scale, "weeks": weeks, "items": total, "questions": len(qs),
                  **{k: round(v, 1) for k, v in timings.items()},
                  **evaluate(conn, qs, with_embeddings)}
    engine.dispose()
    return report


def run_existing(store: Path, gold_file: Path, with_embeddings: bool) -> dict[str, Any]:
    """Questions over a store that was already imported and folded (building ~100k items
    takes many minutes); the store must come from the workspace that wrote ``gold_file``."""
    engine = open_store(str(store))
    timings: dict[str, float] = {}
    if with_embeddings:
        fit_embeddings(engine, timings)
    gold = json.loads(gold_file.read_text())
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(item)).scalar_one())
        qs = questions(conn, gold)
        report = {"scale": "?", "weeks": "?", "items": total, "questions": len(qs),
                  "generate_s": 0.0, "import_s": 0.0, "accumulate_s": 0.0,
                  **{k: round(v, 1) for k, v in timings.items()},
                  **evaluate(conn, qs, with_embeddings)}
    engine.dispose()
    return report


def show(report: dict[str, Any]) -> None:
    print(f"\nscale {report['scale']}, {report['weeks']} weeks: {report['items']} items, "
          f"{report['questions']} questions (generate {report['generate_s']}s, import "
          f"{report['import_s']}s, accumulate {report['accumulate_s']}s"
          + (f", embed {report['embed_s']}s" if "embed_s" in report else "") + ")")
    for method in ("hybrid", "hybrid+emb", "bm25"):
        if method not in report:
            continue
        figures = report[method]
        parts = [f"{kind} R@5 {r['@5']:.3f} R@10 {r['@10']:.3f} (n={r['n']})"
                 for kind, r in sorted(figures["recall"].items())]
        print(f"  {method:<10} " + "; ".join(parts)
              + f"; latency p50 {figures['p50_ms']} ms p95 {figures['p95_ms']} ms")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=int, nargs="+", default=[1])
    parser.add_argument("--weeks", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="Keep the workspaces and stores here (default: a temp dir).")
    parser.add_argument("--json", action="store_true", help="Also print each report as JSON.")
    parser.add_argument("--store", type=Path, default=None,
                        help="Evaluate this already folded store (use a copy) instead.")
    parser.add_argument("--gold", type=Path, default=None,
                        help="With --store: the gold.json of the workspace it was built from.")
    parser.add_argument("--embeddings", action="store_true",
                        help="Also fit local embeddings and report hybrid retrieval with them.")
    args = parser.parse_args(argv)
    if args.store is not None:
        if args.gold is None:
            parser.error("--store needs --gold")
        report = run_existing(args.store, args.gold, args.embeddings)
        show(report)
        if args.json:
            print(json.dumps(report))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        workdir = args.workdir or Path(tmp)
        # The user's own clients.yaml must not steer the sample's client inference.
        os.environ.setdefault("THREADLINE_HOME", str(workdir / "home"))
        for scale in args.scales:
            report = run(scale, args.weeks, args.seed, workdir, args.embeddings)
            show(report)
            if args.json:
                print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
