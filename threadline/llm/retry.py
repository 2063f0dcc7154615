"""Bounded retries around one model call, independent of the SDK that makes it.

Two budgets, each ``settings.max_retries`` extra attempts:
- transport: a timeout, a 429, a 5xx or a dropped connection waits (the server's retry-after
  when it gives one, else exponential backoff) and sends the same request again;
- answer: output that is not the schema, even after repair, is sent back with the validation
  error appended, so the model can correct itself.
When a budget runs out the call raises ComposerError, and the pipeline falls back to offline.
The SDKs' own retries are turned off by the backends so these bounds (and the injectable
``sleep``) are the only ones.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from threadline.llm.base import ComposerError, ComposerSettings
from threadline.llm.config import scrub
from threadline.llm.parse import InvalidAnswer, parse_answer, to_draft
from threadline.llm.prompt import Prompt, Redactor, build_prompt
from threadline.produce.model import ContextBundle, Draft

T = TypeVar("T")

BASE_DELAY = 1.0
MAX_DELAY = 30.0
MAX_WAIT = 120.0
"""The longest retry-after honoured; a server asking for more is treated as a failure."""


class Transient(Exception):
    """A failure worth retrying after a wait: timeout, 429, 5xx, connection reset."""

    def __init__(self, what: str, retry_after: float | None = None) -> None:
        super().__init__(what)
        self.what = what
        self.retry_after = retry_after


@dataclass(frozen=True)
class Feedback:
    """A rejected answer and why, for the next attempt to correct."""

    answer: str
    error: str

    def message(self) -> str:
        return (
            "Your previous answer could not be used: "
            f"{self.error}\nAnswer again with only the JSON object in the required shape, "
            "citing only ids from the items."
        )


RawAnswer = str | dict[str, Any]
Send = Callable[[list[Feedback]], RawAnswer]
Parse = Callable[[RawAnswer], tuple[T, list[str]]]


def call_with_retries(
    send: Send,
    parse: Parse[T],
    settings: ComposerSettings,
    *,
    who: str,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[T, list[str]]:
    """The parsed answer and notes on what it took (repairs, retries). Raises ComposerError."""
    budget = max(0, settings.max_retries)
    max_wait = float(settings.options.get("max_wait_seconds", MAX_WAIT))
    feedback: list[Feedback] = []
    failures = 0
    waited = 0.0
    while True:
        try:
            raw = send(list(feedback))
        except Transient as err:
            failures += 1
            if failures > budget:
                raise ComposerError(
                    f"{who}: {err.what}; gave up after {failures} attempts "
                    f"({waited:.0f}s waited). Check the server at the configured base_url, "
                    "raise composer.timeout_seconds / max_retries, or use --composer offline."
                ) from None
            wait = delay(failures, err.retry_after)
            if wait > max_wait:
                raise ComposerError(
                    f"{who}: {err.what}; the server asks to wait {wait:.0f}s, more than "
                    f"{max_wait:.0f}s. Try again later or use --composer offline."
                ) from None
            sleep(wait)
            waited += wait
            continue
        try:
            result, repairs = parse(raw)
        except InvalidAnswer as bad:
            shown = raw if isinstance(raw, str) else _dump(raw)
            feedback.append(Feedback(answer=shown, error=str(bad)))
            if len(feedback) > budget:
                raise ComposerError(
                    f"{who} gave no usable answer in {len(feedback)} attempts; last problem: "
                    f"{bad}. Try a stronger model or use --composer offline."
                ) from None
            continue
        notes = [f"{who}: repaired the answer ({r})" for r in repairs]
        if feedback:
            notes.append(f"{who}: {len(feedback)} answer(s) were invalid and sent back with "
                         f"the error ({feedback[-1].error[:160]})")
        if failures:
            notes.append(f"{who}: retried {failures} time(s) after transient errors")
        return result, notes


def compose_with_model(
    send: Callable[[Prompt, list[Feedback]], Any],
    bundle: ContextBundle,
    recipe: Any,
    preferences: Any,
    settings: ComposerSettings,
    *,
    name: str,
    key: str,
    sleep: Callable[[float], None],
    redactor: Redactor | None,
    extra_notes: Callable[[], list[str]] = list,
) -> Draft:
    """What every model backend does around its one request: prompt, retries, draft.

    ``send`` makes one request for the prompt (plus feedback on earlier bad answers);
    ``extra_notes`` is read after the last request, for what the backend learned on the way.
    """
    prompt = build_prompt(bundle, recipe, preferences, redact=settings.redact, redactor=redactor)
    try:
        answer, notes = call_with_retries(
            lambda feedback: send(prompt, feedback),
            lambda raw: parse_answer(raw, prompt),
            settings,
            who=name,
            sleep=sleep,
        )
    except ComposerError as err:
        # A server may echo the key in an error; the message goes to the user's screen.
        raise ComposerError(scrub(str(err), key)) from None
    return to_draft(answer, prompt, bundle, recipe, name, extra_notes() + notes)


def delay(attempt: int, retry_after: float | None) -> float:
    """The server's retry-after when given, else exponential backoff from one second."""
    if retry_after is not None and retry_after >= 0:
        return retry_after
    return float(min(MAX_DELAY, BASE_DELAY * 2 ** (attempt - 1)))


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the HTTP-date form is rare from model APIs; treated as unknown)."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
