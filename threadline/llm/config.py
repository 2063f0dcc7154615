"""Which composer to use: config.yaml's ``composer:``, then environment, then command-line flags.

    # <config_dir>/config.yaml
    composer:
      backend: openai            # offline | openai | anthropic
      model: gpt-4o-mini
      base_url: http://localhost:11434/v1   # Ollama, vLLM, llama.cpp, LM Studio…
      api_key_env: OPENAI_API_KEY           # the variable's NAME; keys never go in this file
      temperature: 0.2
      max_tokens: 1500

Environment overrides: THREADLINE_COMPOSER, THREADLINE_MODEL, THREADLINE_LLM_BASE_URL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from threadline.errors import ConfigError
from threadline.llm.base import ComposerError, ComposerSettings
from threadline.paths import config_dir

ENV = {
    "backend": "THREADLINE_COMPOSER",
    "model": "THREADLINE_MODEL",
    "base_url": "THREADLINE_LLM_BASE_URL",
}
DEFAULT_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}
_SECRET_KEYS = {"api_key", "key", "token", "secret", "password"}


def config_path() -> Path:
    return config_dir() / "config.yaml"


def load_settings(path: Path | None = None) -> ComposerSettings:
    """The ``composer:`` block of config.yaml (defaults when absent), then the environment."""
    return settings_from(None, path=path)


def settings_from(
    cli_overrides: Mapping[str, Any] | None, *, path: Path | None = None
) -> ComposerSettings:
    """Settings with, in rising priority: config file, environment, the given flags.

    ``cli_overrides`` maps ComposerSettings fields to values; None values mean "not given",
    so a command can pass every option it has, e.g. {"backend": "openai", "model": None}.
    """
    path = path or config_path()
    values = _from_file(path)
    for field, var in ENV.items():
        if os.environ.get(var):
            values[field] = os.environ[var]
    for field, value in (cli_overrides or {}).items():
        if value is not None:
            values[field] = value
    if "backend" in values and isinstance(values["backend"], str):
        values["backend"] = values["backend"].strip().lower()
    try:
        return ComposerSettings.model_validate(values)
    except ValidationError as err:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in err.errors())
        raise ConfigError(
            f"composer settings in {path} (or THREADLINE_* variables / flags) are invalid: "
            f"{problems}. Fix the composer: block."
        ) from None


def api_key(settings: ComposerSettings) -> str:
    """The key from the variable settings name; local servers (a base_url) accept any key.

    The key itself is never logged or put in a message, only the variable's name.
    """
    var = settings.api_key_env or DEFAULT_KEY_ENV.get(settings.backend, "")
    key = os.environ.get(var, "") if var else ""
    if key:
        return key
    if settings.base_url:
        return "not-needed"
    raise ComposerError(
        f"the {settings.backend} composer needs an API key: set the environment variable "
        f"{var or '(composer.api_key_env)'}, or set composer.base_url for a local server, "
        "or use --composer offline."
    )


def scrub(text: str, key: str) -> str:
    """The text with the key masked, for messages that may echo a server's error."""
    return text.replace(key, "***") if len(key) >= 8 else text


def _from_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path} is not valid YAML ({err}). Fix or remove it.") from None
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path} should be a mapping with a composer: key.")
    block = loaded.get("composer") or {}
    if not isinstance(block, dict):
        raise ConfigError(f"{path}: composer: should be a mapping (backend, model, …).")
    secrets = sorted(_SECRET_KEYS & set(block))
    if secrets:
        raise ConfigError(
            f"{path}: composer.{secrets[0]} looks like a secret; keys are never stored in "
            "config files. Remove it and set composer.api_key_env to the NAME of an "
            "environment variable that holds the key."
        )
    return dict(block)
