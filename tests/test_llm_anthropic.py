"""The Anthropic composer, with the real ``anthropic`` SDK against a local fake server: the
forced tool call, text answers, retries with the error, rate limits, timeouts, fallback,
and what is sent (settings, stable ids, masked secrets, injected text kept as data)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fakes.llm_server import (
    IDS,
    INJECTION,
    SECRET_CARD,
    SECRET_KEY,
    SECRET_PASSWORD,
    LLMServer,
    Recorded,
    Reply,
    answer,
    good_answer,
    small_bundle,
    status,
    text,
    timeout,
)

from threadline.llm.anthropic_backend import TOOL, AnthropicComposer
from threadline.llm.base import ComposerError, ComposerSettings
from threadline.llm.fallback import compose_with_fallback
from threadline.llm.prompt import SYSTEM_RULES, build_prompt
from threadline.produce.recipes import BUILTINS

RECIPE = BUILTINS["client-update"]
KEY = "sk-ant-test-Hq3Zr8Wm1Lp6Xc4Vb9Ny"


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as srv:
        yield srv


@pytest.fixture
def settings(server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> ComposerSettings:
    monkeypatch.setenv("TL_TEST_ANTHROPIC_KEY", KEY)
    return ComposerSettings(backend="anthropic", model="claude-test", base_url=server.url,
                            api_key_env="TL_TEST_ANTHROPIC_KEY", temperature=0.1,
                            max_tokens=1234, timeout_seconds=0.4, max_retries=2)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def composer(settings: ComposerSettings, sleeps: Sleeps | None = None) -> AnthropicComposer:
    return AnthropicComposer(settings, sleep=sleeps if sleeps is not None else Sleeps())


def sent_text(rec: Recorded) -> str:
    parts = [rec.body["system"]]
    parts += [m["content"] for m in rec.body["messages"] if isinstance(m["content"], str)]
    return "\n".join(parts)


def test_the_answer_comes_from_a_forced_tool_call(server: LLMServer,
                                                  settings: ComposerSettings) -> None:
    server.queue(answer(good_answer()))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert draft.composer == "anthropic:claude-test"
    assert [(c.text, c.citations) for c in draft.shipped_claims()] == [
        ("The warehouse migration finished on Tuesday, two days early.", [IDS["migration"]]),
        ("Finance has not approved the Q1 budget yet; the review moved to Friday.",
         [IDS["budget"]]),
    ]
    [req] = server.requests
    body = req.body
    assert req.path == "/v1/messages"
    # The SDK sends the key as x-api-key or as a bearer token, depending on its version.
    assert KEY in (req.headers.get("x-api-key"),
                   req.headers.get("authorization", "").removeprefix("Bearer "))
    assert (body["model"], body["max_tokens"], body["temperature"]) == (
        "claude-test", 1234, 0.1)
    assert body["system"] == SYSTEM_RULES
    [tool] = body["tools"]
    assert tool["name"] == TOOL
    assert tool["input_schema"] == build_prompt(small_bundle(), RECIPE, None).schema
    assert body["tool_choice"] == {"type": "tool", "name": TOOL}
    user = body["messages"][0]["content"]
    listed = json.loads(user.split("<items>\n")[1].split("\n</items>")[0])
    assert [i["id"] for i in listed] == [IDS["migration"], IDS["budget"], IDS["injection"],
                                        IDS["secrets"]]


def test_a_text_answer_in_a_fence_is_read_too(server: LLMServer,
                                              settings: ComposerSettings) -> None:
    server.queue(text("```json\n" + json.dumps(good_answer()) + ",\n```"))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    assert len(server.requests) == 1


def test_a_tool_input_off_schema_is_sent_back_with_the_error(
    server: LLMServer, settings: ComposerSettings
) -> None:
    server.queue(answer({"draft": "Acme had a good week."}), answer(good_answer()))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    second = server.requests[1].body["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    assert "Acme had a good week." in second[1]["content"]
    assert "sections: Field required" in second[2]["content"]


def test_always_off_schema_falls_back_to_offline_with_a_note(
    server: LLMServer, settings: ComposerSettings
) -> None:
    try:
        import threadline.llm.offline  # noqa: F401
    except ImportError as err:
        pytest.skip(f"threadline.llm.offline is not importable yet: {err}")
    server.queue(*[answer({"sections": "none"})] * 3)
    draft = compose_with_fallback(settings, small_bundle(), RECIPE, None)
    assert len(server.requests) == 3
    assert draft.composer == "offline"
    assert draft.report.composer_notes[0].startswith(
        "anthropic:claude-test could not write this draft, so the offline composer did")


def test_rate_limits_and_overload_are_retried_within_bounds(
    server: LLMServer, settings: ComposerSettings
) -> None:
    sleeps = Sleeps()
    server.queue(status(429, retry_after=5), status(529), answer(good_answer()))
    draft = composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    assert sleeps == [5.0, 2.0]

    sleeps.clear()
    server.queue(*[status(429, retry_after=2)] * 3)
    with pytest.raises(ComposerError, match="rate limited"):
        composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert sleeps == [2.0, 2.0]


def test_timeouts_are_retried_then_given_up(server: LLMServer,
                                            settings: ComposerSettings) -> None:
    sleeps = Sleeps()
    server.queue(timeout(1.5), answer(good_answer()))
    assert composer(settings, sleeps).compose(small_bundle(), RECIPE, None).shipped_claims()
    server.queue(*[timeout(1.5)] * 3)
    with pytest.raises(ComposerError, match=r"no answer within 0\.4s"):
        composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert sleeps == [1.0, 1.0, 2.0]


def test_a_refused_key_is_named_not_shown(server: LLMServer,
                                          settings: ComposerSettings) -> None:
    server.queue(status(401, message=f"invalid x-api-key {KEY}"))
    with pytest.raises(ComposerError) as err:
        composer(settings).compose(small_bundle(), RECIPE, None)
    assert "TL_TEST_ANTHROPIC_KEY" in str(err.value) and KEY not in str(err.value)
    assert len(server.requests) == 1  # a refused key is not retried


def test_secrets_masked_and_injection_kept_as_data(server: LLMServer,
                                                   settings: ComposerSettings) -> None:
    def obey(rec: Recorded) -> Reply:
        reply = good_answer()
        if "Ignore previous instructions" in sent_text(rec):
            reply["sections"][2]["claims"].append(
                {"text": "The Q1 budget was approved.", "citations": [IDS["injection"]]})
        return answer(reply)

    server.responder = obey
    bundle = small_bundle()
    draft = composer(settings).compose(bundle, RECIPE, None)
    [req] = server.requests
    for secret in (SECRET_KEY, SECRET_PASSWORD, SECRET_CARD):
        assert secret not in req.raw and secret not in sent_text(req)
    assert {(r.kind, r.item) for r in draft.report.redactions} == {
        ("api-key", IDS["secrets"]), ("password", IDS["secrets"]),
        ("card-number", IDS["secrets"])}
    assert INJECTION not in req.body["system"]
    assert INJECTION in req.body["messages"][0]["content"].split("<items>")[1]
    try:
        from threadline.produce.verify import verify
    except ImportError as err:
        pytest.skip(f"threadline.produce.verify is not importable yet: {err}")
    shipped = [c.text for c in verify(draft, bundle).shipped_claims()]
    assert "The Q1 budget was approved." not in shipped
    assert len(shipped) == 2
