"""Where Threadline keeps things: data (the store) apart from config (clients, recipes)."""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_config_dir, user_data_dir


def data_dir() -> Path:
    return Path(os.environ.get("THREADLINE_HOME") or user_data_dir("threadline"))


def config_dir() -> Path:
    home = os.environ.get("THREADLINE_HOME")
    return Path(home) / "config" if home else Path(user_config_dir("threadline"))


def default_db_path() -> Path:
    return data_dir() / "threadline.db"
