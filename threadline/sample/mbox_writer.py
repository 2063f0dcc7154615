"""Writes a Gmail-Takeout-like mbox (mboxrd escaping) from generated mails, one at a time."""

from __future__ import annotations

import html
import re
from datetime import UTC
from email import policy
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.application import MIMEApplication
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr
from pathlib import Path

from threadline.sample.cast import Person
from threadline.sample.model import Mail
from threadline.sample.seeds import decimal_id, short_hex

_POLICY = policy.compat32.clone(linesep="\n")
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP
_FROM_LINE = re.compile(rb"^>*From ")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_QUOTE_INTRO = re.compile(r"^On .+ wrote:$", re.MULTILINE)


def _addresses(people: list[Person]) -> str:
    return ", ".join(formataddr((p.name, p.email)) for p in people)


def _paragraphs(text: str) -> str:
    blocks = [b for b in text.split("\n\n") if b.strip()]
    return "".join(f"<p>{html.escape(b).replace(chr(10), '<br>')}</p>" for b in blocks)


def text_to_html(body: str) -> str:
    """Gmail-style HTML: the quote in a gmail_quote blockquote, the signature in its div."""
    main, quote = body, ""
    found = _QUOTE_INTRO.search(body)
    if found:
        main, quote = body[: found.start()], body[found.start():]
    main, _, signature = main.partition("\n-- \n")
    parts = [f'<div dir="ltr">{_paragraphs(main)}']
    if signature:
        parts.append(f'<div class="gmail_signature">--<br>'
                     f'{html.escape(signature.strip()).replace(chr(10), "<br>")}</div>')
    parts.append("</div>")
    if quote:
        intro, _, quoted = quote.partition("\n")
        inner = "\n".join(line[2:] if line.startswith("> ") else line.lstrip(">")
                          for line in quoted.splitlines())
        parts.append(f'<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
                     f'{html.escape(intro)}<br></div><blockquote class="gmail_quote" '
                     f'style="margin:0 0 0 .8ex;border-left:1px #ccc solid;padding-left:1ex">'
                     f'{_paragraphs(inner)}</blockquote></div>')
    return "<html><body>" + "".join(parts) + "</body></html>\n"


def _text_part(text: str, subtype: str) -> MIMEText:
    if text.isascii() and subtype == "plain":
        return MIMEText(text, subtype, "us-ascii")
    return MIMEText(text, subtype, _UTF8)  # type: ignore[arg-type]


def _header(value: str) -> str:
    return value if value.isascii() else Header(value, "utf-8").encode()


def build_message(mail: Mail) -> Message:
    """The MIME message. Built with the compat32 email.mime classes: the header-registry
    policy costs ~4 ms a message, which alone would take minutes at benchmark scale."""
    html_body = text_to_html(mail.body)
    body: Message
    if mail.fmt == "html":
        body = _text_part(html_body, "html")
    elif mail.fmt == "plain":
        body = _text_part(mail.body + "\n", "plain")
    else:
        body = MIMEMultipart("alternative")
        body.attach(_text_part(mail.body + "\n", "plain"))
        body.attach(_text_part(html_body, "html"))
    msg = body
    if mail.attachment is not None:
        name, mime, data = mail.attachment
        attachment = MIMEApplication(data, mime.split("/", 1)[1])
        attachment.add_header("Content-Disposition", "attachment", filename=name)
        msg = MIMEMultipart("mixed")
        msg.attach(body)
        msg.attach(attachment)
    headers = [
        ("X-GM-THRID", str(mail.thread_id)), ("X-Gmail-Labels", ",".join(mail.labels)),
        ("Message-ID", mail.message_id),
        ("Date", format_datetime(mail.moment.astimezone(mail.sender.tz))),
        ("From", _addresses([mail.sender])), ("To", _addresses(mail.to)),
    ]
    if mail.cc:
        headers.append(("Cc", _addresses(mail.cc)))
    if mail.parent is not None:
        headers += [("In-Reply-To", mail.parent.message_id),
                    ("References", " ".join(mail.references))]
    if mail.list_id:
        headers += [("List-Id", mail.list_id), ("List-Unsubscribe",
                     f"<https://{mail.sender.email.split('@')[1]}/unsubscribe>")]
    # MIME headers were added by the constructors; put the envelope headers first, as Gmail does.
    mime_headers = list(msg.items())
    for key in {k for k, _ in mime_headers}:
        del msg[key]
    for key, value in headers:
        msg[key] = value
    msg["Subject"] = _header(mail.subject)
    for key, value in mime_headers:
        msg[key] = value
    for n, part in enumerate(msg.walk()):
        if part is not msg:
            del part["MIME-Version"]
        if part.is_multipart():
            # The generator would draw a random boundary; Gmail's shape, derived, is stable.
            part.set_boundary("000000000000" + short_hex(16, mail.message_id, n))
    return msg


class MboxWriter:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.file = path.open("wb")
        self.messages = 0

    def write(self, mail: Mail) -> None:
        data = build_message(mail).as_bytes(policy=_POLICY)
        moment = mail.moment.astimezone(UTC)
        # Spelled out rather than strftime so the locale cannot change the bytes.
        stamp = (f"{_DAYS[moment.weekday()]} {_MONTHS[moment.month - 1]} {moment.day:02d} "
                 f"{moment:%H:%M:%S} +0000 {moment.year}")
        separator = f"From {decimal_id('msg', mail.message_id)}@xxx {stamp}\n".encode()
        lines = data.split(b"\n")
        escaped = [b">" + line if _FROM_LINE.match(line) else line for line in lines]
        body = b"\n".join(escaped).rstrip(b"\n")
        self.file.write(separator + body + b"\n\n")
        self.messages += 1

    def close(self) -> None:
        self.file.close()
