"""The sample workspace through the real importers: counts and gold ids agree with the store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.sample import FILES, generate_workspace
from threadline.store.schema import item

KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ws")
    generate_workspace(out, seed=11, weeks=3, scale=1)
    return out


def _import_all(engine: Engine, out: Path) -> dict[str, int]:
    added = {}
    for platform, kind in KINDS.items():
        path = out / FILES[platform]
        summary = run_import(engine, open_importer(kind, path), path)
        assert summary.counts.quarantined == 0, platform
        added[platform] = summary.counts.added + summary.counts.deleted
    return added


def test_every_gold_id_is_an_imported_item(store: Engine, workspace: Path) -> None:
    added = _import_all(store, workspace)
    gold = json.loads((workspace / FILES["gold"]).read_text())
    cited = {cid for entry in gold for fact in entry["must_mention"] for cid in fact["items"]}
    forbidden = {cid for entry in gold for cid in entry["must_not_mention"]}
    with store.connect() as conn:
        stored = set(
            conn.execute(
                select(item.c.canonical_id).where(item.c.canonical_id.in_(cited | forbidden))
            ).scalars()
        )
        shared = conn.execute(
            select(func.count())
            .select_from(item)
            .where(item.c.container_name == "#acme-website")
        ).scalar_one()
    assert cited - stored == set()
    assert forbidden - stored == set()
    assert all(n > 0 for n in added.values()), added
    assert shared > 0


def test_counts_match_the_generator(sqlite_store: Engine, tmp_path: Path) -> None:
    manifest = generate_workspace(tmp_path / "ws", seed=3, weeks=2, scale=1)
    _import_all(sqlite_store, tmp_path / "ws")
    with sqlite_store.connect() as conn:
        # The generator counts pages and rows; the importer also keeps each database as an item.
        rows = conn.execute(
            select(item.c.platform, func.count())
            .where(item.c.kind != "database")
            .group_by(item.c.platform)
        ).all()
    assert dict(rows) == manifest.counts


def test_slack_connect_channel_is_marked(sqlite_store: Engine, workspace: Path) -> None:
    path = workspace / FILES["slack"]
    run_import(sqlite_store, open_importer("slack-export", path), path)
    with sqlite_store.connect() as conn:
        natives = conn.execute(
            select(item.c.container_name, item.c.native).where(item.c.platform == "slack")
        ).all()
    shared = {name for name, native in natives if native.get("is_ext_shared") == "1"}
    assert shared == {"#acme-website"}


def test_sample_client_rules_stay_valid_at_scale(tmp_path: Path) -> None:
    from threadline.context.clients_config import load_clients, save_clients
    from threadline.sample.clients_yaml import sample_clients_config

    config = sample_clients_config(seed=7, scale=20)
    save_clients(config, tmp_path / "clients.yaml")
    assert len(load_clients(tmp_path / "clients.yaml").clients) == 60
