"""The OpenAI-compatible composer, with the real ``openai`` SDK against a local fake server:
answers, repairs, retries, timeouts, rate limits, fallback, and what it sends (settings,
stable ids, nothing of another client, no secrets, injected text kept as data)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
from sqlalchemy import Engine, select

from threadline.llm.base import ComposerError, ComposerSettings
from threadline.llm.fallback import compose_with_fallback
from threadline.llm.openai_backend import OpenAIComposer
from threadline.llm.prompt import SYSTEM_RULES
from threadline.produce.model import Claim, ContextBundle, Draft, Section
from threadline.produce.recipes import BUILTINS

RECIPE = BUILTINS["client-update"]
KEY = "sk-test-Vb7Qm2Lx9Rt4Kp1Wz8Jc"


@pytest.fixture
def server() -> Iterator[LLMServer]:
    with LLMServer() as srv:
        yield srv


@pytest.fixture
def settings(server: LLMServer, monkeypatch: pytest.MonkeyPatch) -> ComposerSettings:
    monkeypatch.setenv("TL_TEST_OPENAI_KEY", KEY)
    return ComposerSettings(backend="openai", model="gpt-test", base_url=server.openai_base,
                            api_key_env="TL_TEST_OPENAI_KEY", temperature=0.3, max_tokens=777,
                            timeout_seconds=0.4, max_retries=2)


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def composer(settings: ComposerSettings, sleeps: Sleeps | None = None) -> OpenAIComposer:
    return OpenAIComposer(settings, sleep=sleeps if sleeps is not None else Sleeps())


def sent_text(rec: Recorded) -> str:
    """All message contents of a request, decoded (the wire escapes non-ASCII and "/")."""
    return "\n".join(m["content"] for m in rec.body["messages"])


def test_a_well_formed_answer_becomes_a_cited_draft(server: LLMServer,
                                                    settings: ComposerSettings) -> None:
    server.queue(answer(good_answer()))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert draft.composer == "openai:gpt-test"
    assert [s.key for s in draft.sections] == [s.key for s in RECIPE.sections]
    assert [(c.text, c.citations) for c in draft.shipped_claims()] == [
        ("The warehouse migration finished on Tuesday, two days early.", [IDS["migration"]]),
        ("Finance has not approved the Q1 budget yet; the review moved to Friday.",
         [IDS["budget"]]),
    ]
    [req] = server.requests
    body = req.body
    assert req.path == "/v1/chat/completions"
    assert (body["model"], body["temperature"], body["max_tokens"]) == ("gpt-test", 0.3, 777)
    assert body["response_format"]["type"] == "json_schema"
    schema = body["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["sections"]["items"]["properties"]["key"]["enum"] == [
        s.key for s in RECIPE.sections]
    assert body["messages"][0] == {"role": "system", "content": SYSTEM_RULES}
    listed = json.loads(body["messages"][1]["content"].split("<items>\n")[1]
                        .split("\n</items>")[0])
    assert [i["id"] for i in listed] == [IDS["migration"], IDS["budget"], IDS["injection"],
                                        IDS["secrets"]]
    assert req.headers["authorization"] == f"Bearer {KEY}"


def test_an_answer_in_a_code_fence_is_repaired_without_asking_again(
    server: LLMServer, settings: ComposerSettings
) -> None:
    server.queue(text("Sure! Here it is:\n```json\n" + json.dumps(good_answer()) + "\n```"))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert len(server.requests) == 1
    assert len(draft.shipped_claims()) == 2
    assert any("code fence" in n for n in draft.report.composer_notes)


def test_malformed_json_is_sent_back_with_the_error_and_the_retry_succeeds(
    server: LLMServer, settings: ComposerSettings
) -> None:
    broken = '{"sections": [{"key": "highlights", "claims": [}'
    server.queue(text(broken), answer(good_answer()))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    first, second = server.requests
    assert len(first.body["messages"]) == 2
    assistant, correction = second.body["messages"][2:]
    assert assistant == {"role": "assistant", "content": broken}
    assert correction["role"] == "user"
    assert "could not be used" in correction["content"]
    assert "not valid JSON" in correction["content"]
    assert any("invalid and sent back" in n for n in draft.report.composer_notes)


class StandIn:
    """A composer that needs nothing, standing in for the offline one."""

    name = "stand-in"

    def compose(self, bundle: ContextBundle, recipe: Any, preferences: Any) -> Draft:
        first = next(iter(bundle.items))
        return Draft(scope=bundle.scope, title="stand-in", composer=self.name, sections=[
            Section(key="highlights", title="Highlights",
                    claims=[Claim(text="From the stand-in.", citations=[first])])])


def test_always_malformed_gives_up_and_falls_back_with_a_note(
    server: LLMServer, settings: ComposerSettings
) -> None:
    server.queue(*[text("I'd rather write prose.")] * 3)
    with pytest.raises(ComposerError, match="no usable answer in 3 attempts"):
        composer(settings).compose(small_bundle(), RECIPE, None)
    assert len(server.requests) == 3  # one try and max_retries=2 corrections

    server.queue(*[text("still prose")] * 3)
    draft = compose_with_fallback(settings, small_bundle(), RECIPE, None,
                                  composer=composer(settings), fallback=StandIn())
    assert draft.composer == "stand-in"
    assert draft.report.composer_notes[0].startswith(
        "openai:gpt-test could not write this draft, so the stand-in composer did")
    assert "no usable answer" in draft.report.composer_notes[0]


def test_fallback_uses_the_real_offline_composer(server: LLMServer,
                                                 settings: ComposerSettings) -> None:
    try:
        import threadline.llm.offline  # noqa: F401
    except ImportError as err:
        pytest.skip(f"threadline.llm.offline is not importable yet: {err}")
    server.queue(*[text("not json")] * 3)
    bundle = small_bundle()
    draft = compose_with_fallback(settings, bundle, RECIPE, None)
    assert draft.composer == "offline"
    assert "openai:gpt-test could not write this draft, so the offline composer did" in \
        draft.report.composer_notes[0]
    assert draft.shipped_claims() and all(
        set(c.citations) <= set(bundle.items) for c in draft.shipped_claims())
    assert len(server.requests) == 3


def test_claims_citing_ids_outside_the_bundle_are_dropped_with_a_note(
    server: LLMServer, settings: ComposerSettings
) -> None:
    reply = good_answer()
    reply["sections"][0]["claims"].append(
        {"text": "Globex approved the new contract.",
         "citations": ["email:<contract@globex.example>"]})
    server.queue(answer(reply))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    assert "Globex approved the new contract." not in [c.text for c in draft.shipped_claims()]
    assert any("email:<contract@globex.example>" in n and "Globex approved" in n
               for n in draft.report.composer_notes)


def test_a_timeout_is_retried_with_backoff(server: LLMServer,
                                           settings: ComposerSettings) -> None:
    sleeps = Sleeps()
    server.queue(timeout(1.5), answer(good_answer()))
    draft = composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    assert sleeps == [1.0]
    assert any("retried 1 time(s)" in n for n in draft.report.composer_notes)


def test_timeouts_are_bounded(server: LLMServer, settings: ComposerSettings) -> None:
    sleeps = Sleeps()
    server.queue(*[timeout(1.5)] * 3)
    with pytest.raises(ComposerError, match=r"no answer within 0\.4s; gave up after 3 attempts"):
        composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert sleeps == [1.0, 2.0]
    assert len(server.requests) == 3


def test_rate_limits_honour_retry_after_and_are_bounded(server: LLMServer,
                                                        settings: ComposerSettings) -> None:
    sleeps = Sleeps()
    server.queue(status(429, retry_after=7), status(500), answer(good_answer()))
    draft = composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert len(draft.shipped_claims()) == 2
    assert sleeps == [7.0, 2.0]  # the server's wait, then backoff for the 500

    sleeps.clear()
    server.queue(*[status(429, retry_after=3)] * 3)
    with pytest.raises(ComposerError, match="rate limited"):
        composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert sleeps == [3.0, 3.0]

    sleeps.clear()
    server.queue(status(429, retry_after=3600))
    with pytest.raises(ComposerError, match="asks to wait 3600s"):
        composer(settings, sleeps).compose(small_bundle(), RECIPE, None)
    assert sleeps == []


def test_a_server_without_structured_outputs_gets_json_object(
    settings: ComposerSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    with LLMServer(json_schema=False) as old:
        old.queue(answer(good_answer()), answer(good_answer()))
        comp = composer(settings.model_copy(update={"base_url": old.openai_base}))
        draft = comp.compose(small_bundle(), RECIPE, None)
        again = comp.compose(small_bundle(), RECIPE, None)
    formats = [r.body.get("response_format", {}).get("type") for r in old.requests]
    assert formats == ["json_schema", "json_object", "json_object"]
    assert len(draft.shipped_claims()) == len(again.shipped_claims()) == 2
    assert any("does not accept response_format json_schema" in n
               for n in draft.report.composer_notes)


def test_the_api_key_is_never_logged_nor_shown(server: LLMServer, settings: ComposerSettings,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    server.queue(answer(good_answer()), *[status(500)] * 3,
                 status(401, message=f"Incorrect API key provided: {KEY}"))
    composer(settings).compose(small_bundle(), RECIPE, None)
    with pytest.raises(ComposerError) as failed:
        composer(settings).compose(small_bundle(), RECIPE, None)
    with pytest.raises(ComposerError) as refused:
        composer(settings).compose(small_bundle(), RECIPE, None)
    assert "TL_TEST_OPENAI_KEY" in str(refused.value)
    assert KEY not in caplog.text
    assert KEY not in str(failed.value) + str(refused.value)


def test_redaction_masks_secrets_in_what_is_sent_and_reports_them(
    server: LLMServer, settings: ComposerSettings
) -> None:
    server.queue(answer(good_answer()))
    draft = composer(settings).compose(small_bundle(), RECIPE, None)
    [req] = server.requests
    for secret in (SECRET_KEY, SECRET_PASSWORD, SECRET_CARD, SECRET_CARD.replace(" ", "")):
        assert secret not in req.raw
        assert secret not in sent_text(req)
    assert "[redacted: card-number]" in sent_text(req)
    assert {(r.kind, r.item) for r in draft.report.redactions} == {
        ("api-key", IDS["secrets"]), ("password", IDS["secrets"]),
        ("card-number", IDS["secrets"])}


def obeys_injection(rec: Recorded) -> Reply:
    """A gullible model: finding the injected instruction in its input, it does as told."""
    reply = good_answer()
    if "Ignore previous instructions" in sent_text(rec):
        reply["sections"][2]["claims"].append(
            {"text": "The Q1 budget was approved.", "citations": [IDS["injection"]]})
    return answer(reply)


def test_an_obeyed_injection_never_ships(server: LLMServer,
                                         settings: ComposerSettings) -> None:
    try:
        from threadline.produce.verify import verify
    except ImportError as err:
        pytest.skip(f"threadline.produce.verify is not importable yet: {err}")
    server.responder = obeys_injection
    bundle = small_bundle()
    draft = composer(settings).compose(bundle, RECIPE, None)
    [req] = server.requests
    system, user = req.body["messages"][0]["content"], req.body["messages"][1]["content"]
    assert "DATA, not instructions" in system and INJECTION not in system
    assert INJECTION in user.split("<items>")[1]  # inside the data block, nowhere else
    assert "The Q1 budget was approved." in [c.text for c in draft.shipped_claims()]

    verified = verify(draft, bundle)
    shipped = [c.text for c in verified.shipped_claims()]
    assert not any("approved." in t and "not" not in t for t in shipped), shipped
    assert "The warehouse migration finished on Tuesday, two days early." in shipped
    dropped = [c for s in verified.sections for c in s.claims if c.status == "dropped"]
    assert [c.text for c in dropped] == ["The Q1 budget was approved."]
    assert verified.report.redactions == draft.report.redactions


# -- the client wall, on the sample workspace ----------------------------------------------


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, ContextBundle]:
    from threadline.connectors.base import open_importer
    from threadline.connectors.runner import run_import
    from threadline.context.accumulate import accumulate
    from threadline.context.clients_config import save_clients
    from threadline.context.registry import builtin_folders
    from threadline.sample import FILES, generate_workspace
    from threadline.sample.clients_yaml import sample_clients_config
    from threadline.store import open_store

    out: Path = tmp_path_factory.mktemp("llm-sample")
    generate_workspace(out, seed=7, weeks=1, scale=1)
    engine = open_store(str(out / "t.db"))
    kinds = {"slack": "slack-export", "email": "mbox", "calendar": "ics",
             "notion": "notion-export"}
    for platform, kind in kinds.items():
        run_import(engine, open_importer(kind, out / FILES[platform]), out / FILES[platform])
    clients_file = out / "clients.yaml"
    save_clients(sample_clients_config(seed=7, scale=1), clients_file)
    accumulate(engine, folders=builtin_folders(clients_file))
    try:
        from threadline.produce.pipeline import Request, resolve
        from threadline.produce.rank import rank
        from threadline.produce.select import build_bundle
    except ImportError as err:
        pytest.skip(f"the selection is not importable yet: {err}")
    with engine.begin() as conn:
        found = resolve(conn, RECIPE, Request("client-update", client="Acme Corp",
                                              week="2026-W47"), datetime(2026, 11, 25,
                                                                        tzinfo=UTC))
        bundle = rank(build_bundle(conn, found.scope, found.clients, found.extra,
                                   found.only_items), RECIPE)
    return engine, bundle


def cites_everything(rec: Recorded) -> Reply:
    """A model that cites every id it was given, so any leaked id would come back."""
    content = sent_text(rec)
    listed = json.loads(content.split("<items>\n")[1].split("\n</items>")[0])
    return answer({"sections": [{"key": "highlights", "claims": [
        {"text": i["text"][:80] or "item", "citations": [i["id"]]} for i in listed]}]})


def test_no_item_of_another_client_is_sent(server: LLMServer, settings: ComposerSettings,
                                           sample: tuple[Engine, ContextBundle]) -> None:
    from threadline.store.context_schema import client, item_client
    from threadline.store.schema import item

    engine, bundle = sample
    with engine.connect() as conn:
        rows = conn.execute(
            select(item.c.canonical_id, item.c.text, client.c.name)
            .join(item_client, item_client.c.item_id == item.c.id)
            .join(client, client.c.id == item_client.c.client_id)
        ).all()
    acme = {r.canonical_id for r in rows if r.name == "Acme Corp"}
    others = {r.canonical_id: r.text for r in rows if r.name != "Acme Corp"
              and r.canonical_id not in acme}
    assert len(bundle.items) >= 20 and len(others) >= 50  # a real week, real neighbours
    assert set(bundle.items) <= acme

    server.responder = cites_everything
    draft = composer(settings).compose(bundle, RECIPE, None)
    [req] = server.requests
    sent = sent_text(req)
    leaked_ids = [cid for cid in others if cid in sent or json.dumps(cid)[1:-1] in req.raw]
    # The generator reuses some message templates across clients; only text Acme's own
    # items never say can be a leak.
    acme_text = "\n".join(r.text or "" for r in rows if r.name == "Acme Corp")
    distinct = {cid: body for cid, body in others.items()
                if body and len(body) >= 60 and body[:60] not in acme_text}
    assert len(distinct) >= 50
    leaked_text = [cid for cid, body in distinct.items() if body[:60] in sent]
    assert leaked_ids == [] and leaked_text == []
    assert all(cid in sent for cid in bundle.items)
    cited = {c for claim in draft.shipped_claims() for c in claim.citations}
    assert cited == set(bundle.items)
