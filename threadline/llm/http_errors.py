"""What an HTTP error from a model server means for the composer: retry, or stop and say why.

Both SDKs raise an APIStatusError with a status code, headers and a JSON body; only the
header names and the default key variable differ, so the verdict lives here once.
"""

from __future__ import annotations

from typing import Any

from threadline.llm.base import ComposerError
from threadline.llm.retry import Transient


def server_message(body: Any, fallback: str) -> str:
    """The server's own error message, from ``{"error": {"message": ...}}`` or similar."""
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict) and inner.get("message"):
            return str(inner["message"])[:300]
    return fallback[:300]


def status_error(
    name: str,
    status: int,
    message: str,
    *,
    retry_after: float | None,
    key_env: str,
    endpoint_hint: str = "composer.base_url",
) -> Exception:
    if status == 429:
        return Transient("rate limited (429)", retry_after)
    if status >= 500:  # Anthropic's 529 "overloaded" included
        return Transient(f"server error {status}")
    if status in (401, 403):
        return ComposerError(
            f"{name}: the server refused the API key ({status}). Check the variable {key_env}."
        )
    if status == 404:
        return ComposerError(
            f"{name}: model or endpoint not found (404): {message}. "
            f"Check composer.model and {endpoint_hint}."
        )
    return ComposerError(f"{name}: request failed ({status}): {message}")
