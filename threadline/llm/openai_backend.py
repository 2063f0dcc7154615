"""The OpenAI chat-completions composer, for OpenAI and every server that speaks its API.

Ollama, vLLM, llama.cpp's server and LM Studio all take ``base_url``. Structured outputs
(response_format json_schema) are asked for first; a server that rejects them gets
json_object, then plain text, and the parser copes with whatever comes back. The mode that
worked is kept for the composer's later calls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import openai

from threadline.llm.base import ComposerError, ComposerSettings
from threadline.llm.config import api_key
from threadline.llm.http_errors import server_message, status_error
from threadline.llm.prompt import Prompt, Redactor
from threadline.llm.retry import Feedback, Transient, compose_with_model, parse_retry_after
from threadline.produce.model import ContextBundle, Draft

MODES = ("json_schema", "json_object", "text")


class OpenAIComposer:
    def __init__(
        self,
        settings: ComposerSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Redactor | None = None,
    ) -> None:
        if not settings.model:
            raise ComposerError(
                "the openai composer needs a model: set composer.model in config.yaml, "
                "THREADLINE_MODEL, or --model (e.g. gpt-4o-mini, or llama3.1 on Ollama)."
            )
        self.settings = settings
        self.name = f"openai:{settings.model}"
        self._sleep = sleep
        self._redactor = redactor
        mode = str(settings.options.get("response_format", MODES[0]))
        if mode not in MODES:
            raise ComposerError(f"composer.options.response_format {mode!r} is not one of "
                                f"{', '.join(MODES)}.")
        self.mode = mode
        self._tokens_param = str(settings.options.get("max_tokens_param", "max_tokens"))
        self._notes: list[str] = []
        # The SDK's own retries are off: retry.py bounds them and its sleep is injectable.
        self._key = api_key(settings)
        self._client = openai.OpenAI(
            api_key=self._key,
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            max_retries=0,
        )

    def compose(self, bundle: ContextBundle, recipe: Any, preferences: Any) -> Draft:
        self._notes = []
        return compose_with_model(
            self._send, bundle, recipe, preferences, self.settings,
            name=self.name, key=self._key, sleep=self._sleep, redactor=self._redactor,
            extra_notes=lambda: self._notes,
        )

    def _send(self, prompt: Prompt, feedback: list[Feedback]) -> str:
        messages: list[dict[str, str]] = [
            {"role": "system", "content": prompt.system},
            {"role": "user", "content": prompt.user},
        ]
        for fb in feedback:
            messages.append({"role": "assistant", "content": fb.answer})
            messages.append({"role": "user", "content": fb.message()})
        while True:
            params: dict[str, Any] = {
                "model": str(self.settings.model),
                "messages": messages,
                "temperature": self.settings.temperature,
                self._tokens_param: self.settings.max_tokens,
                **self._format(prompt),
            }
            try:
                resp = self._client.chat.completions.create(**params)
            except (openai.BadRequestError, openai.UnprocessableEntityError) as err:
                if self._downgrade(err):
                    continue
                raise ComposerError(f"{self.name}: the server rejected the request: "
                                    f"{_message(err)}") from None
            except openai.APIStatusError as err:
                raise _status_error(self.name, self.settings, err) from None
            except openai.APITimeoutError:
                raise Transient(
                    f"no answer within {self.settings.timeout_seconds:g}s"
                ) from None
            except openai.APIConnectionError as err:
                raise Transient(f"could not reach {self._client.base_url} ({err})") from None
            if not resp.choices:
                return ""
            return resp.choices[0].message.content or ""

    def _format(self, prompt: Prompt) -> dict[str, Any]:
        if self.mode == "json_schema":
            return {"response_format": {
                "type": "json_schema",
                "json_schema": {"name": "draft", "schema": prompt.schema, "strict": True},
            }}
        if self.mode == "json_object":
            return {"response_format": {"type": "json_object"}}
        return {}

    def _downgrade(self, err: openai.APIStatusError) -> bool:
        """Step down the output mode, or switch the token parameter, when the server says so."""
        text = _message(err).lower()
        if self._tokens_param == "max_tokens" and "max_completion_tokens" in text:
            self._tokens_param = "max_completion_tokens"
            return True
        if self.mode != "text" and any(w in text for w in ("response_format", "json_schema",
                                                            "json_object", "structured")):
            was = self.mode
            self.mode = MODES[MODES.index(was) + 1]
            self._notes.append(f"{self.name}: the server does not accept response_format "
                               f"{was}; used {self.mode}")
            return True
        return False


def _status_error(name: str, settings: ComposerSettings, err: openai.APIStatusError) -> Exception:
    headers = err.response.headers
    after = parse_retry_after(headers.get("retry-after"))
    ms = parse_retry_after(headers.get("retry-after-ms"))
    if after is None and ms is not None:
        after = ms / 1000
    return status_error(
        name,
        err.status_code,
        _message(err),
        retry_after=after,
        key_env=settings.api_key_env or "OPENAI_API_KEY",
        endpoint_hint="composer.base_url (…/v1)",
    )


def _message(err: openai.APIStatusError) -> str:
    return server_message(err.body, str(err.message))
