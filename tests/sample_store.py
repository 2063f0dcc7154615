"""A sample store for production tests: generated workspace, imported and accumulated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.clients_config import save_clients
from threadline.context.registry import builtin_folders
from threadline.sample import FILES, generate_workspace
from threadline.sample.clients_yaml import sample_clients_config
from threadline.store import open_store

KINDS = {"slack": "slack-export", "email": "mbox", "calendar": "ics", "notion": "notion-export"}


def build_sample(out: Path, seed: int = 7, weeks: int = 2) -> tuple[Engine, list[dict[str, Any]]]:
    """The store at ``out/t.db`` and its gold.json entries."""
    generate_workspace(out, seed=seed, weeks=weeks, scale=1)
    clients_file = out / "clients.yaml"
    save_clients(sample_clients_config(seed=seed, scale=1), clients_file)
    engine = open_store(str(out / "t.db"))
    for platform, kind in KINDS.items():
        path = out / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    accumulate(engine, folders=builtin_folders(clients_file))
    return engine, json.loads((out / FILES["gold"]).read_text())
