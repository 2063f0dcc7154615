"""The mbox / .eml importer: splitting, records, threading, identities, bad input."""

from __future__ import annotations

import base64
import json
import quopri
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from threadline.connectors.base import Importer, open_importer
from threadline.connectors.mbox import MboxImporter
from threadline.errors import ImportFailed
from threadline.records import IdentityRecord, ItemRecord, QuarantineRecord, Record

FIXTURES = Path(__file__).parent / "fixtures" / "gmail-api"
ENVELOPE = b"From 1618425542958574963@xxx Thu Apr 15 12:00:00 +0000 2021\n"


def items(records: list[Record]) -> list[ItemRecord]:
    return [r for r in records if isinstance(r, ItemRecord)]


def quarantined(records: list[Record]) -> list[QuarantineRecord]:
    return [r for r in records if isinstance(r, QuarantineRecord)]


def read(path: Path, **options: object) -> list[Record]:
    return list(MboxImporter(path, **options).read())


def mbox(*messages: bytes) -> bytes:
    return b"".join(ENVELOPE + m.rstrip(b"\n") + b"\n\n" for m in messages)


def simple(n: int, extra: str = "", body: str = "Hello") -> bytes:
    return (
        f"From: Sender {n} <sender{n}@example.com>\nTo: me@example.com\n"
        f"Subject: Message {n}\nDate: Mon, 1 Jan 2024 10:0{n % 10}:00 +0100\n"
        f"Message-ID: <m{n}@example.com>\n{extra}\n{body} {n}\n"
    ).encode()


# --- real Gmail messages rebuilt as raw MIME ---------------------------------------------


def gmail_to_mime(part: dict[str, Any], top: dict[str, Any] | None = None) -> bytes:
    """Raw MIME from a Gmail API payload: its headers, its decoded bodies re-encoded, and
    attachments (fetched by id in the API) filled with zero bytes of the reported size."""
    headers = [(h["name"], h["value"]) for h in part.get("headers", [])]
    if top is not None:
        thread = int(top["threadId"], 16)
        headers += [("X-GM-THRID", str(thread)), ("X-Gmail-Labels", ",".join(top["labelIds"]))]
    names = {name.lower() for name, _ in headers}
    if part["mimeType"].startswith("multipart/"):
        boundary = f"b-{part['partId'] or 'root'}"
        headers = [(n, v) for n, v in headers if n.lower() != "content-type"]
        headers.append(("Content-Type", f'{part["mimeType"]}; boundary="{boundary}"'))
        body = (
            b"".join(
                f"--{boundary}\r\n".encode() + gmail_to_mime(child) + b"\r\n"
                for child in part["parts"]
            )
            + f"--{boundary}--\r\n".encode()
        )
    else:
        data = part["body"].get("data")
        payload = (
            base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))
            if data
            else bytes(part["body"]["size"])
        )
        encoding = dict((n.lower(), v) for n, v in headers).get("content-transfer-encoding", "")
        if encoding.lower() == "base64" or not data:
            headers = [(n, v) for n, v in headers if n.lower() != "content-transfer-encoding"]
            headers.append(("Content-Transfer-Encoding", "base64"))
            body = base64.encodebytes(payload)
        elif encoding.lower() == "quoted-printable":
            body = quopri.encodestring(payload)
        else:
            body = payload
        if "content-type" not in names:
            headers.append(("Content-Type", part["mimeType"]))
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    return head.encode() + b"\r\n" + body


def gmail_fixture(name: str) -> bytes:
    data = json.loads((FIXTURES / name).read_text())
    return gmail_to_mime(data["payload"], top=data)


def test_real_gmail_message_with_pdf_attachment(tmp_path: Path) -> None:
    path = tmp_path / "mail.mbox"
    path.write_bytes(mbox(gmail_fixture("larsklingsten_GMAIL_RESP_CLAUDIA_1ATTACH.json")))
    records = read(path)
    [item] = items(records)
    assert item.canonical_id == "email:DIIE.00004C820000F86B@192.168.102.94"
    assert item.thread_id == item.container_id == f"email-thread:{int('1674065674141fb3', 16)}"
    assert item.native["gmail_thread_id"] == str(int("1674065674141fb3", 16))
    assert item.title == item.container_name == "Zahlungsaufforderung"
    assert item.author is not None and item.author.value == "claudia.haupt@aktuell-team.de"
    assert item.author.display_name == "Claudia Haupt"
    assert [r.value for r in item.recipients] == ["kf80@oc.com.sg"]
    assert item.occurred_at == item.created_at == datetime(2018, 11, 23, 11, 47, 6, tzinfo=UTC)
    # Declared iso-8859-1, really UTF-8 (as Gmail hands it out): the umlauts must survive.
    assert item.text.startswith("Sehr geehrter Herr Klingsten,\n\nanbei übersenden wir Ihnen")
    assert "Rechtsanwalt Herrn Jürgensen" in item.text
    assert [(a.name, a.mime_type, a.size) for a in item.attachments] == [
        ("FI7100-oben11232018114520001.pdf", "application/octet-stream", 730600)
    ]
    assert item.labels == ["Label_80", "Label_301", "IMPORTANT", "CATEGORY_PERSONAL", "INBOX"]
    assert isinstance(item.raw, str) and "Message-ID: <DIIE.00004C820000F86B" in item.raw
    assert item.native.get("raw_truncated") == "1"  # 730 kB of PDF is not kept in raw


def test_real_gmail_reply_is_trimmed_and_threaded(tmp_path: Path) -> None:
    path = tmp_path / "reply.eml"
    path.write_bytes(gmail_fixture("larsklingsten_GMAIL_RESP_UBS_BUGFIX.json"))
    records = read(path)
    [item] = items(records)
    root = "CA+Ntg33RvNf2eaCvqrJaZ1XFLbAncVPKbyv91OFzc87_V0qPPg@mail.gmail.com"
    assert item.text == (
        "Lars,\n\nCut off for at sende DKK er kl. 11:30. Penge bliver sendt med valør idag."
        "\n\nVh\nAnnette"
    )
    assert item.container_name == "Telefonsamtale idag kl 14.05 KEY:UBS LUX"
    assert [(a.name, a.mime_type, a.size) for a in item.attachments] == [
        ("disclaim.txt", "text/plain", 2207)
    ]
    assert [(link.kind, link.target) for link in item.links] == [
        ("reply_to", f"email:{root}"),
        ("thread", f"email:{root}"),
    ]
    assert [r.value for r in item.recipients] == [
        "lars@ckhansen.net",
        "lars.kornmod@s.com",
        "jan.dehaas@s.com",
    ]
    identities = [r.identity.value for r in records if isinstance(r, IdentityRecord)]
    assert identities == ["annette.bode@s.com", *[r.value for r in item.recipients]]
    assert MboxImporter(path).source().account == "larn@gmail.com"  # Delivered-To


# --- splitting -------------------------------------------------------------------------------


def test_mbox_splits_and_unescapes_from_lines(tmp_path: Path) -> None:
    body = "Line one\n>From the desk of Ann\n>>From quoted\nFrom nowhere, not a separator"
    path = tmp_path / "a.mbox"
    path.write_bytes(mbox(simple(1, body=body), simple(2), simple(3)))
    found = items(read(path))
    assert [i.canonical_id for i in found] == [
        "email:m1@example.com",
        "email:m2@example.com",
        "email:m3@example.com",
    ]
    assert found[0].text == "Line one\nFrom the desk of Ann\nFrom nowhere, not a separator 1"
    assert "\n>From quoted\n" in found[0].raw  # mboxrd: one level of ">" removed


def test_crlf_mbox_and_no_trailing_blank_line(tmp_path: Path) -> None:
    data = (ENVELOPE + simple(1) + ENVELOPE + simple(2)).replace(b"\n", b"\r\n")
    path = tmp_path / "crlf.mbox"
    path.write_bytes(data)
    found = items(read(path))
    assert [i.text for i in found] == ["Hello 1", "Hello 2"]
    assert found[0].raw.endswith("Hello 1\r\n")


def test_eml_file_and_folder(tmp_path: Path) -> None:
    (tmp_path / "b.eml").write_bytes(simple(2))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.eml").write_bytes(simple(1))
    (tmp_path / "notes.txt").write_text("not mail")
    assert [i.canonical_id for i in items(read(tmp_path / "b.eml"))] == ["email:m2@example.com"]
    assert [i.canonical_id for i in items(read(tmp_path))] == [
        "email:m2@example.com",
        "email:m1@example.com",
    ]
    assert MboxImporter(tmp_path).estimate() == 2


def test_registered_under_both_names(tmp_path: Path) -> None:
    path = tmp_path / "one.eml"
    path.write_bytes(simple(1))
    for name in ("mbox", "eml"):
        importer = open_importer(name, path)
        assert isinstance(importer, Importer) and importer.name == "mbox"


# --- records --------------------------------------------------------------------------------


def test_threading_without_gmail_thread_id(tmp_path: Path) -> None:
    path = tmp_path / "t.mbox"
    path.write_bytes(
        mbox(
            simple(1),
            simple(2, "In-Reply-To: <m1@example.com>\n"),
            simple(
                3,
                "References: <m1@example.com>\n <m2@example.com>\nIn-Reply-To: <m2@example.com>\n",
            ),
        )
    )
    found = items(read(path))
    assert [i.thread_id for i in found] == ["email-thread:m1@example.com"] * 3
    assert [(link.kind, link.target) for link in found[2].links] == [
        ("reply_to", "email:m2@example.com"),
        ("thread", "email:m1@example.com"),
        ("thread", "email:m2@example.com"),
    ]


def test_subject_labels_and_links(tmp_path: Path) -> None:
    extra = (
        'X-Gmail-Labels: Inbox,"Clients, ACME",=?UTF-8?Q?K=C3=B6ln?=\n'
        "Subject: =?utf-8?q?Re=3A_AW=3A_Fwd=3A_Angebot_K=C3=B6ln?=\n"
    )
    body = (
        "Plan: https://www.notion.so/acme/Plan-0123456789abcdef0123456789abcdef?pvs=4\n"
        "Row: https://www.notion.so/acme/db-11111111111111111111111111111111"
        "?v=22222222222222222222222222222222&p=33333333333333333333333333333333\n"
        "Site: https://example.com/x.\n\nOn Mon, Ann wrote:\n> https://quoted.example.com\n"
    )
    path = tmp_path / "l.eml"
    path.write_bytes(simple(1, extra, body=body).replace(b"Subject: Message 1\n", b""))
    [item] = items(read(path))
    assert item.title == "Re: AW: Fwd: Angebot Köln"
    assert item.container_name == "Angebot Köln"
    assert item.labels == ["Inbox", "Clients, ACME", "Köln"]
    assert [link.target for link in item.links if link.kind == "reference"] == [
        "notion:01234567-89ab-cdef-0123-456789abcdef",
        "notion:33333333-3333-3333-3333-333333333333",
        "https://example.com/x",
    ]


def test_missing_message_id_is_synthesized_deterministically(tmp_path: Path) -> None:
    path = tmp_path / "n.mbox"
    message = simple(1).replace(b"Message-ID: <m1@example.com>\n", b"")
    path.write_bytes(mbox(message, simple(2)))
    first, second = read(path), read(path)
    assert first == second
    item = items(first)[0]
    assert item.canonical_id.startswith("email:") and item.canonical_id.endswith(
        "@threadline.local"
    )
    assert item.native["synthetic_message_id"] == "1"
    assert item.thread_id == "email-thread:" + item.canonical_id.removeprefix("email:")


def test_bad_date_falls_back_to_envelope_then_none(tmp_path: Path) -> None:
    message = simple(1).replace(b"Date: Mon, 1 Jan 2024 10:01:00 +0100", b"Date: someday soon")
    path = tmp_path / "d.mbox"
    path.write_bytes(mbox(message))
    [item] = items(read(path))
    assert item.occurred_at == datetime(2021, 4, 15, 12, 0, tzinfo=UTC)
    assert item.native["date_source"] == "mbox From line"
    eml = tmp_path / "d.eml"
    eml.write_bytes(message)
    [item] = items(read(eml))
    assert item.occurred_at is None and item.text == "Hello 1"


def test_out_of_range_date_and_header_only_body_keep_the_item(tmp_path: Path) -> None:
    message = (
        b"From: a@x.com\nSubject: fw\nMessage-ID: <odd@x>\n"
        b"Date: Fri, 31 Dec 9999 23:00:00 -0500\n\n"
        b"From: Ann\nSent: Monday\nTo: Bob\nSubject: Budget\n\x00\n"
    )
    path = tmp_path / "o.eml"
    path.write_bytes(message)
    records = read(path)
    assert quarantined(records) == []
    [item] = items(records)
    assert item.occurred_at is None
    # Trimming would leave nothing: the forwarded header block is kept instead.
    assert item.text == "From: Ann\nSent: Monday\nTo: Bob\nSubject: Budget"


def test_identities_once_each_with_display_name(tmp_path: Path) -> None:
    path = tmp_path / "i.mbox"
    path.write_bytes(
        mbox(
            b"From: ann@x.com\nTo: Bob <BOB@x.com>\nSubject: a\nMessage-ID: <1@x>\n\nhi\n",
            b"From: Ann Lee <ann@x.com>\nTo: bob@x.com\nCc: C <c@x.com>, bob@x.com\n"
            b"Subject: b\nMessage-ID: <2@x>\n\nhi\n",
        )
    )
    records = read(path)
    identities = [
        (r.identity.value, r.identity.display_name)
        for r in records
        if isinstance(r, IdentityRecord)
    ]
    assert identities == [
        ("ann@x.com", None),
        ("bob@x.com", "Bob"),
        ("ann@x.com", "Ann Lee"),
        ("c@x.com", "C"),
    ]
    assert [r.value for r in items(records)[1].recipients] == ["bob@x.com", "c@x.com"]


def test_source_account_from_to_or_file_name(tmp_path: Path) -> None:
    path = tmp_path / "s.mbox"
    path.write_bytes(mbox(simple(1), simple(2)))
    assert MboxImporter(path).source().account == "me@example.com"
    assert MboxImporter(path, account="other@x.com").source().account == "other@x.com"
    bare = tmp_path / "bare.mbox"
    bare.write_bytes(mbox(b"From: a@x.com\nSubject: s\n\nhi\n"))
    assert MboxImporter(bare).source().account == "bare.mbox"


def test_estimate_counts_messages(tmp_path: Path) -> None:
    path = tmp_path / "e.mbox"
    path.write_bytes(mbox(*(simple(n) for n in range(25))))
    assert MboxImporter(path).estimate() == 25


def test_non_utf8_raw_is_kept_losslessly(tmp_path: Path) -> None:
    message = (
        simple(1)
        .replace(b"Hello", b"Gr\xfc\xdfe")
        .replace(b"Message-ID", b"Content-Type: text/plain; charset=iso-8859-1\nMessage-ID")
    )
    path = tmp_path / "r.eml"
    path.write_bytes(message)
    [item] = items(read(path))
    assert item.text == "Grüße 1"
    assert item.native["raw_encoding"] == "latin-1"
    assert item.raw.encode("latin-1") == message


# --- bad input ----------------------------------------------------------------------------


def test_garbage_between_messages_is_quarantined_with_position(tmp_path: Path) -> None:
    junk = b"\x00\x01\x02 binary junk without any header\n\xff\xfe more\n"
    data = mbox(simple(1), junk, simple(3))
    path = tmp_path / "g.mbox"
    path.write_bytes(data)
    records = read(path)
    [bad] = quarantined(records)
    offset = data.index(ENVELOPE + junk)
    assert bad.file == str(path)
    assert bad.position == f"message 2 at byte {offset}"
    assert bad.raw == junk.rstrip(b"\n") + b"\n"
    assert "no email headers" in bad.reason
    assert [i.canonical_id for i in items(records)] == [
        "email:m1@example.com",
        "email:m3@example.com",
    ]


def test_broken_mime_and_headers_degrade_but_keep_the_item(tmp_path: Path) -> None:
    broken = (
        b"From: =?utf-8?b?broken!?= <a@x.com>\nTo: <<<>>>, ok@x.com\n"
        b"Subject: =?x-unknown-foo?q?Hi?=\n"
        b"Message-ID: <broken@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed\n\n"
        b"text without parts\n"
    )
    unknown = (
        b"From: b@x.com\nSubject: u\nMessage-ID: <unknown@x>\n"
        b'Content-Type: text/plain; charset="x-unknown-foo"\n\n'
        + "Réunion prévue à Genève la semaine prochaine, merci.".encode("cp1252")
        + b"\n"
    )
    truncated = (
        b"From: c@x.com\nSubject: t\nMessage-ID: <trunc@x>\nContent-Type: text/plain\n"
        b"Content-Transfer-Encoding: base64\n\n" + base64.b64encode(b"Truncated message body")[:-5]
    )
    path = tmp_path / "b.mbox"
    path.write_bytes(mbox(broken, unknown, truncated))
    records = read(path)
    assert quarantined(records) == []
    by_id = {i.canonical_id: i for i in items(records)}
    first = by_id["email:broken@x"]
    assert first.text == "text without parts"
    assert first.title == "Hi"
    assert [r.value for r in first.recipients] == ["ok@x.com"]
    assert "without usable parts" in first.native["decode_problems"]
    second = by_id["email:unknown@x"]
    assert second.text == "Réunion prévue à Genève la semaine prochaine, merci."
    assert "x-unknown-foo" in second.native["decode_problems"]
    third = by_id["email:trunc@x"]
    assert third.text.startswith("Truncated message")
    assert "truncated" in third.native["decode_problems"]


def test_zip_missing_path_and_empty_folder_fail_clearly(tmp_path: Path) -> None:
    archive = tmp_path / "takeout.mbox"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("Takeout/Mail/All mail.mbox", mbox(simple(1)))
    with pytest.raises(ImportFailed, match="unpack it first"):
        read(archive)
    with pytest.raises(ImportFailed, match="does not exist"):
        MboxImporter(tmp_path / "nope.mbox")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImportFailed, match=r"no \.eml or \.mbox files"):
        MboxImporter(tmp_path / "empty")


def test_many_messages_stream(tmp_path: Path) -> None:
    path = tmp_path / "big.mbox"
    with path.open("wb") as handle:
        for n in range(2000):
            handle.write(ENVELOPE + simple(n) + b"\n")
    count = sum(1 for r in MboxImporter(path).read() if isinstance(r, ItemRecord))
    assert count == 2000
