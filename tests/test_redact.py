"""Redaction: secrets are masked and recorded by item; ordinary numbers and words are not."""

from __future__ import annotations

import pytest
from verify_samples import Sample, draft_of, load_sample

from threadline.produce.model import Claim, Section
from threadline.produce.redact import find_secrets, mask, redact_bundle, redact_draft

SECRETS = [
    ("api-key", "the key is sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z, rotate it"),
    ("api-key", "bot token xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"),
    ("api-key", "aws AKIAIOSFODNN7EXAMPLE in the env file"),
    ("api-key", "use ghp_1234567890abcdefghijABCDEFGHIJ123456 for CI"),
    ("api-key", "maps key AIzaSyA1234567890abcdefghijklmnopqrstuv"),
    ("api-key", "config: api_key=9f8e7d6c5b4a3210fedcba"),
    ("password", "staging login is admin / password: Hunter2!2026"),
    ("password", "the wifi password is Tr0ub4dor&3"),
    ("token", "curl -H 'Authorization: Bearer abcDEF123456ghiJKL789mno'"),
    ("token", "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N"),
    ("private-key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE "
                    "KEY-----"),
    ("card-number", "card 4111 1111 1111 1111 exp 12/27"),
    ("card-number", "amex 378282246310005 on file"),
    ("iban", "pay to GB82 WEST 1234 5698 7654 32 by Friday"),
]


@pytest.mark.parametrize(("kind", "text"), SECRETS)
def test_each_kind_of_secret_is_masked(kind: str, text: str) -> None:
    masked, found = mask(text, "slack:C1:1.0")
    assert [(r.kind, r.item) for r in found] == [(kind, "slack:C1:1.0")]
    assert f"[redacted: {kind}]" in masked
    assert find_secrets(masked) == []


@pytest.mark.parametrize("text", [
    "card 4111 1111 1111 1112 fails Luhn",
    "call +44 20 7946 0321 or 020 7946 0321",
    "message 20261111160704.882fca94bfaa1dad@mail.globex.example",
    "slack ts 1794818477.000001 and order 1234567890123",
    "the password reset flow is broken",
    "GB82 WEST 1234 5698 7654 33 has a bad checksum",
    "budget went from £3,500 to $48,250, 12% over",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask(text) == (text, [])


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    return load_sample(tmp_path_factory.mktemp("redact"))


def test_the_sample_workspace_has_no_false_positives(sample: Sample) -> None:
    hits = [(i.id, f.kind) for i in sample.items.values()
            for f in find_secrets(f"{i.title or ''}\n{i.text}")]
    assert len(sample.items) > 500
    assert hits == []


def test_bundle_and_draft_are_masked_and_the_item_named(sample: Sample) -> None:
    fix = "email:CA+469e098d0817F8CD48F21BAF@mail.gmail.com"
    bundle = sample.bundle([fix])
    planted = (bundle.items[fix].text
               + "\nStaging creds: password: Gr33n!Light, key AKIAIOSFODNN7EXAMPLE")
    bundle.items[fix] = bundle.items[fix].model_copy(update={"text": planted})
    safe, found = redact_bundle(bundle)
    assert sorted((r.kind, r.item) for r in found) == [("api-key", fix), ("password", fix)]
    assert "Gr33n!Light" not in safe.items[fix].text
    assert "AKIAIOSFODNN7EXAMPLE" not in safe.model_dump_json()
    assert "GA4 realtime shows the events again" in safe.items[fix].text
    assert bundle.items[fix].text == planted  # the original is untouched

    claim = Claim(text="Staging password: Gr33n!Light was shared.", citations=[fix])
    draft = draft_of(bundle, [Section(key="s", title="S", claims=[claim])])
    draft.sources = dict(bundle.items)
    clean = redact_draft(draft)
    assert "Gr33n!Light" not in clean.model_dump_json()
    assert [r.kind for r in clean.report.redactions] == ["password", "password", "api-key"]
