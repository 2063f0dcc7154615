"""Decoding one message: part selection, charsets, transfer encodings, headers, attachments."""

from __future__ import annotations

import base64
import json
import quopri
from email import policy
from email.message import Message
from email.parser import BytesParser
from pathlib import Path

import pytest

from threadline.connectors import mime

FIXTURES = Path(__file__).parent / "fixtures" / "gmail-api"


def parse(raw: bytes) -> Message:
    # The importer parses with compat32, for speed.
    return BytesParser(policy=policy.compat32).parsebytes(raw)


def body_of(raw: bytes) -> mime.Body:
    return mime.extract_body(mime.part_from_message(parse(raw)))


def leaf(content_type: str, payload: bytes, encoding: str = "8bit", extra: str = "") -> bytes:
    if encoding == "base64":
        payload = base64.encodebytes(payload)
    elif encoding == "quoted-printable":
        payload = quopri.encodestring(payload)
    head = f"Content-Type: {content_type}\nContent-Transfer-Encoding: {encoding}\n{extra}"
    return head.encode() + b"\n" + payload + b"\n"


def multipart(subtype: str, *parts: bytes, boundary: str) -> bytes:
    out = f'Content-Type: multipart/{subtype}; boundary="{boundary}"\n\n'.encode()
    for part in parts:
        out += f"--{boundary}\n".encode() + part
    return out + f"--{boundary}--\n".encode()


def message(body: bytes, headers: str = "Subject: t\nFrom: a@example.com\n") -> bytes:
    return headers.encode() + b"MIME-Version: 1.0\n" + body


PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def test_nested_multipart_depth_three_prefers_plain_and_lists_attachments() -> None:
    related = multipart(
        "related",
        leaf("text/html; charset=utf-8", b"<p>HTML version</p>"),
        leaf("image/png", PNG, "base64", "Content-ID: <logo@x>\n"),
        boundary="rel",
    )
    alternative = multipart(
        "alternative", leaf("text/plain; charset=utf-8", b"Plain version"), related, boundary="alt"
    )
    report = leaf(
        "application/pdf",
        b"%PDF-1.4 fake",
        "base64",
        'Content-Disposition: attachment; filename="report.pdf"\n',
    )
    body = body_of(message(multipart("mixed", alternative, report, boundary="mix")))
    assert body.text == "Plain version"
    assert not body.from_html
    assert [(a.name, a.mime_type, a.size) for a in body.attachments] == [
        ("report.pdf", "application/pdf", len(b"%PDF-1.4 fake"))
    ]


def test_nested_html_only_branch_is_converted_with_inline_image_as_attachment() -> None:
    related = multipart(
        "related",
        leaf("text/html; charset=utf-8", b"<div>Hello <b>team</b></div><ul><li>a</li></ul>"),
        leaf("image/png", PNG, "base64", "Content-ID: <logo@x>\n"),
        boundary="rel",
    )
    inner = multipart("alternative", related, boundary="alt")
    body = body_of(message(multipart("mixed", inner, boundary="mix")))
    assert body.text == "Hello team\n- a"
    assert body.from_html
    assert [(a.name, a.mime_type, a.size) for a in body.attachments] == [
        ("unnamed.png", "image/png", len(PNG))
    ]


def test_html_only_mail() -> None:
    html = b"<html><body><p>Dear Bob,</p><p>Invoice attached.</p><script>x()</script></body>"
    body = body_of(message(leaf("text/html; charset=utf-8", html, "quoted-printable")))
    assert body.text == "Dear Bob,\n\nInvoice attached."
    assert body.from_html


def test_mixed_keeps_every_inline_text_part_in_order() -> None:
    raw = message(
        multipart(
            "mixed",
            leaf("text/plain", b"Part one"),
            leaf("text/plain", b"Part two", extra="Content-Disposition: inline\n"),
            boundary="b",
        )
    )
    assert body_of(raw).text == "Part one\n\nPart two"


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Grüße aus Köln, ça va?"),
        ("windows-1252", "“Quoted” – 10 € price"),
        ("iso-2022-jp", "こんにちは、会議は明日です"),
        ("koi8-r", "Привет, встреча завтра"),
    ],
)
@pytest.mark.parametrize("encoding", ["quoted-printable", "base64", "8bit"])
def test_declared_charsets_and_transfer_encodings(charset: str, text: str, encoding: str) -> None:
    if charset == "iso-2022-jp" and encoding == "8bit":
        encoding = "7bit"
    raw = message(leaf(f'text/plain; charset="{charset}"', text.encode(charset), encoding))
    body = body_of(raw)
    assert body.text == text
    assert body.problems == []


def test_latin1_label_on_utf8_bytes_reads_as_utf8() -> None:
    raw = message(leaf("text/plain; charset=iso-8859-1", "anbei übersenden".encode(), "8bit"))
    assert body_of(raw).text == "anbei übersenden"


def test_unknown_charset_falls_back_to_detection() -> None:
    text = "Réunion prévue à Genève la semaine prochaine, merci de confirmer votre présence."
    raw = message(leaf('text/plain; charset="x-unknown-foo"', text.encode("cp1252")))
    body = body_of(raw)
    assert body.text == text
    assert body.problems and "x-unknown-foo" in body.problems[0]


def test_wrong_charset_bytes_degrade_to_replacement_not_failure() -> None:
    raw = message(leaf("text/plain; charset=utf-8", b"Caf\xe9 au lait \xff\xfe ok"))
    body = body_of(raw)
    assert body.text.startswith("Caf") and body.text.endswith("ok")
    assert body.problems


def test_missing_boundary_reads_the_body_as_text() -> None:
    raw = b"Subject: x\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\nJust some text\n"
    body = body_of(raw)
    assert body.text == "Just some text"
    assert "without usable parts" in body.problems[0]


def test_truncated_base64_keeps_what_decodes() -> None:
    encoded = base64.b64encode(b"Hello there, the full sentence.")[:-7]
    raw = (
        b"Subject: x\nContent-Type: text/plain; charset=utf-8\n"
        b"Content-Transfer-Encoding: base64\n\n" + encoded + b"\n"
    )
    body = body_of(raw)
    assert body.text.startswith("Hello there, the full")
    assert "truncated" in body.problems[0]


def test_format_flowed_is_unwrapped() -> None:
    raw = message(
        leaf("text/plain; charset=utf-8; format=flowed", b"This is a long \nparagraph.\n\nNext")
    )
    assert body_of(raw).text == "This is a long paragraph.\n\nNext"


def test_named_text_part_is_an_attachment_and_rfc822_too() -> None:
    forwarded = b"Content-Type: message/rfc822\n\nSubject: inner\nFrom: x@y.z\n\nInner body\n"
    raw = message(
        multipart(
            "mixed",
            leaf("text/plain", b"See files"),
            leaf("text/plain", b"disclaimer", extra='Content-Disposition: inline; filename="d"\n'),
            forwarded,
            boundary="b",
        )
    )
    body = body_of(raw)
    assert body.text == "See files"
    assert [(a.name, a.mime_type) for a in body.attachments] == [
        ("d", "text/plain"),
        ("unnamed.eml", "message/rfc822"),
    ]


def test_rfc2047_and_raw_8bit_headers() -> None:
    raw = (
        "Subject: =?utf-8?B?w5xiZXJzaWNodA==?= und =?iso-8859-1?q?K=F6ln?=\n"
        "From: =?koi8-r?b?8NLJ18XU?= <Ivan@Example.RU>\n"
        'To: "Doe, Jane" <jane@x.com>, =?x-unknown-foo?q?Bob?= <bob@x.com>, undisclosed:;\n'
        "X-Raw: Grüße\n\nbody\n"
    ).encode()
    msg = parse(raw)
    assert mime.header(msg, "subject") == "Übersicht und Köln"
    assert mime.header(msg, "x-raw") == "Grüße"
    assert mime.addresses(msg, "from") == [("Привет", "ivan@example.ru")]
    assert mime.addresses(msg, "to") == [("Doe, Jane", "jane@x.com"), ("Bob", "bob@x.com")]


def test_broken_encoded_word_is_left_readable() -> None:
    assert mime.decode_header_value("=?utf-8?b?badbase64!?= tail") == "badbase64! tail"


def test_message_ids_in_references() -> None:
    assert mime.message_ids("<a@x>\n <b@y> <a@x>") == ["a@x", "b@y"]
    assert mime.message_ids("bare@id") == ["bare@id"]
    assert mime.message_ids(None) == []


def test_gmail_api_payload_tree_is_walked_like_mime() -> None:
    # Real Gmail API users.messages.get response (fixtures/gmail-api, MIT).
    data = json.loads((FIXTURES / "larsklingsten_GMAIL_RESP_SPARKRON_ATTACH.json").read_text())
    body = mime.extract_body(mime.part_from_gmail(data["payload"]))
    assert body.text.startswith("Hej Lars\n\nHelt ok - I kigger bare ind en anden dag")
    assert "Jægergårdsgade 100 B" in body.text
    assert not body.from_html
    assert [(a.mime_type, a.size) for a in body.attachments] == [
        ("image/gif", 3435),
        ("image/gif", 623),
        ("image/gif", 366),
        ("image/gif", 400),
        ("image/gif", 664),
        ("image/png", 41816),
    ]


def test_gmail_api_unknown_multipart_subtype_reads_as_mixed() -> None:
    data = json.loads((FIXTURES / "larsklingsten_GMAIL_RESP_LK_PLAIN.json").read_text())
    assert data["payload"]["parts"][0]["mimeType"] == "multipart/alternate"
    body = mime.extract_body(mime.part_from_gmail(data["payload"]))
    assert body.text.startswith("Lars,\n\njeg beder dig venligst")
    assert "Beløbet er endnu ikke modtaget" in body.text


def test_policy_default_messages_walk_the_same() -> None:
    raw = message(
        multipart(
            "alternative",
            leaf("text/plain; charset=koi8-r", "Привет".encode("koi8-r"), "base64"),
            leaf("text/html", b"<p>x</p>"),
            boundary="a",
        )
    )
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert mime.extract_body(mime.part_from_message(parsed)).text == "Привет"
    assert mime.header(parsed, "subject") == "t"
