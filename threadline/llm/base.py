"""The one interface every composer implements, offline or a language model, and its registry.

A composer turns a ContextBundle and a recipe into a Draft whose claims cite item ids from the
bundle. The offline composer and each model backend are registered the same way; none is
special-cased by the pipeline. Whatever a composer writes, the verifier decides what ships.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, Field

from threadline.errors import ThreadlineError
from threadline.produce.model import ContextBundle, Draft


class ComposerError(ThreadlineError):
    """A composer could not produce a usable draft (the pipeline falls back to offline)."""


class ComposerSettings(BaseModel):
    """From config: which backend, which model, and how much it may spend."""

    backend: str = "offline"
    """offline | openai | anthropic (or a plugin's name)."""
    model: str | None = None
    base_url: str | None = None
    """OpenAI-compatible servers (Ollama, vLLM, llama.cpp, LM Studio) or a proxy."""
    api_key_env: str | None = None
    """The environment variable holding the key; keys are never stored in config files."""
    max_tokens: int = 1500
    temperature: float = 0.2
    timeout_seconds: float = 60.0
    max_retries: int = 2
    redact: bool = True
    options: dict[str, Any] = Field(default_factory=dict)


@runtime_checkable
class Composer(Protocol):
    name: str
    """offline, or backend:model."""

    def compose(self, bundle: ContextBundle, recipe: Any, preferences: Any) -> Draft:
        """Write the draft: every claim cites ids from ``bundle.items``.

        ``recipe`` is a threadline.produce.recipes.Recipe; ``preferences`` the learned
        preferences that apply (threadline.produce.preferences), possibly empty.
        """
        ...


ComposerFactory = Callable[[ComposerSettings], Composer]


def _builtin() -> dict[str, str]:
    return {
        "offline": "threadline.llm.offline:OfflineComposer",
        "openai": "threadline.llm.openai_backend:OpenAIComposer",
        "anthropic": "threadline.llm.anthropic_backend:AnthropicComposer",
    }


def load_composer(settings: ComposerSettings) -> Composer:
    from importlib.metadata import entry_points

    target = _builtin().get(settings.backend)
    if target is None:
        for ep in entry_points(group="threadline.composers"):
            if ep.name == settings.backend:
                factory: ComposerFactory = ep.load()
                return factory(settings)
        raise ComposerError(
            f"no composer backend {settings.backend!r}; built in: {', '.join(_builtin())}"
        )
    module_name, attr = target.split(":")
    module = __import__(module_name, fromlist=[attr])
    built: Composer = getattr(module, attr)(settings)
    return built
