"""The Anthropic messages composer: the answer comes back as the input of a forced tool call.

The tool's input_schema is the answer schema and tool_choice names it, so the model must
fill it; its input arrives already decoded. A proxy or gateway that drops tools and answers
in text is still read, through the same parser and repairs as any other answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anthropic

from threadline.llm.base import ComposerError, ComposerSettings
from threadline.llm.config import api_key
from threadline.llm.http_errors import server_message, status_error
from threadline.llm.prompt import Prompt, Redactor
from threadline.llm.retry import (
    Feedback,
    RawAnswer,
    Transient,
    compose_with_model,
    parse_retry_after,
)
from threadline.produce.model import ContextBundle, Draft

TOOL = "write_draft"


class AnthropicComposer:
    def __init__(
        self,
        settings: ComposerSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        redactor: Redactor | None = None,
    ) -> None:
        if not settings.model:
            raise ComposerError(
                "the anthropic composer needs a model: set composer.model in config.yaml, "
                "THREADLINE_MODEL, or --model (e.g. claude-sonnet-4-5)."
            )
        self.settings = settings
        self.name = f"anthropic:{settings.model}"
        self._sleep = sleep
        self._redactor = redactor
        self._key = api_key(settings)
        self._send_temperature = bool(settings.options.get("send_temperature", True))
        # The SDK's own retries are off: retry.py bounds them and its sleep is injectable.
        self._client = anthropic.Anthropic(
            api_key=self._key,
            base_url=settings.base_url,
            timeout=settings.timeout_seconds,
            max_retries=0,
        )

    def compose(self, bundle: ContextBundle, recipe: Any, preferences: Any) -> Draft:
        return compose_with_model(
            self._send, bundle, recipe, preferences, self.settings,
            name=self.name, key=self._key, sleep=self._sleep, redactor=self._redactor,
        )

    def _send(self, prompt: Prompt, feedback: list[Feedback]) -> RawAnswer:
        messages: list[dict[str, Any]] = [{"role": "user", "content": prompt.user}]
        for fb in feedback:
            messages.append({"role": "assistant", "content": fb.answer or "(empty)"})
            messages.append({"role": "user", "content": fb.message()})
        tool = {
            "name": TOOL,
            "description": "Write the deliverable: sections of claims, each citing item ids.",
            "input_schema": prompt.schema,
        }
        while True:
            params: dict[str, Any] = {
                "model": str(self.settings.model),
                "max_tokens": self.settings.max_tokens,
                "system": prompt.system,
                "messages": messages,
                "tools": [tool],
                "tool_choice": {"type": "tool", "name": TOOL},
            }
            if self._send_temperature:
                # This SDK version has no temperature parameter; the API field still exists
                # for most models, so it travels in the body.
                params["extra_body"] = {"temperature": self.settings.temperature}
            try:
                resp = self._client.messages.create(**params)
                break
            except anthropic.BadRequestError as err:
                if self._send_temperature and "temperature" in _message(err).lower():
                    self._send_temperature = False  # a model that fixes its own sampling
                    continue
                raise _status_error(self.name, self.settings, err) from None
            except anthropic.APIStatusError as err:
                raise _status_error(self.name, self.settings, err) from None
            except anthropic.APITimeoutError:
                raise Transient(
                    f"no answer within {self.settings.timeout_seconds:g}s"
                ) from None
            except anthropic.APIConnectionError as err:
                raise Transient(f"could not reach {self._client.base_url} ({err})") from None
        texts = []
        for block in resp.content:
            if block.type == "tool_use" and block.name == TOOL:
                given = block.input
                return dict(given) if isinstance(given, dict) else str(given)
            if block.type == "text":
                texts.append(block.text)
        return "".join(texts)


def _status_error(
    name: str, settings: ComposerSettings, err: anthropic.APIStatusError
) -> Exception:
    return status_error(
        name,
        err.status_code,
        _message(err),
        retry_after=parse_retry_after(err.response.headers.get("retry-after")),
        key_env=settings.api_key_env or "ANTHROPIC_API_KEY",
    )


def _message(err: anthropic.APIStatusError) -> str:
    return server_message(err.body, str(err.message))
