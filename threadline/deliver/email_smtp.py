"""Email over SMTP: STARTTLS (or implicit TLS) and AUTH, with the settings kept encrypted.

``threadline deliver setup-smtp`` stores host, port, TLS mode, username, password and From
address through ``threadline.connectors.credentials`` under the ref ``delivery-smtp`` (the
OS keyring, else a Fernet-encrypted 0600 file): never in the database, never logged.

SMTP has no way to ask "did you already take this message?", so an attempt cut off after
the server accepted the DATA but before the queue recorded it is sent again on retry. The
retry carries the same Message-ID (recorded before the first attempt), which lets mail
stores that de-duplicate by Message-ID (Gmail does) show it once. That window is the
remaining at-least-once case for SMTP.
"""

from __future__ import annotations

import contextlib
import smtplib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from typing import Any, Literal

from threadline.connectors.credentials import default_backend, load_secrets, save_secrets
from threadline.deliver.base import (
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from threadline.deliver.destinations import Destination
from threadline.deliver.mime import _addr, build_message, new_message_id
from threadline.errors import ConfigError
from threadline.produce.model import Draft

SECRET_REF = "delivery-smtp"
TlsMode = Literal["starttls", "implicit", "none"]
TLS_MODES: tuple[TlsMode, ...] = ("starttls", "implicit", "none")
LOOPBACK = ("localhost", "127.0.0.1", "::1")
SETUP = "threadline deliver setup-smtp --host HOST --port 587 --username USER " \
        "--password-stdin --from ADDRESS"


@dataclass
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    sender: str
    tls: TlsMode = "starttls"
    ca_file: str | None = None
    """A CA bundle to trust (a company relay with its own CA); None means the system's."""

    def __repr__(self) -> str:  # never print the password, even in a traceback
        return (f"SmtpConfig(host={self.host!r}, port={self.port}, tls={self.tls!r}, "
                f"username={self.username!r}, sender={self.sender!r}, password=<hidden>)")

    def check(self) -> None:
        if self.tls not in TLS_MODES:
            raise ConfigError(f"SMTP TLS mode {self.tls!r}: choose one of {', '.join(TLS_MODES)}")
        if self.tls == "none" and self.host not in LOOPBACK:
            raise ConfigError(f"SMTP without TLS to {self.host} would send the password and the "
                              "update in clear; use --tls starttls or implicit (none is only "
                              "for a relay on this machine)")
        if "@" not in _addr(self.sender):
            raise ConfigError(f"--from {self.sender!r} is not an email address")


def save_smtp(config: SmtpConfig, backend: Any = None) -> None:
    config.check()
    save_secrets(SECRET_REF, asdict(config), backend)


def load_smtp(backend: Any = None) -> SmtpConfig:
    if (backend or default_backend()).get(SECRET_REF) is None:
        raise PermanentDeliveryError(f"email delivery is not set up: run `{SETUP}`")
    data = load_secrets(SECRET_REF, backend)
    tls = data.get("tls") or "starttls"
    return SmtpConfig(host=str(data["host"]), port=int(data["port"]),
                      username=data.get("username"), password=data.get("password"),
                      sender=str(data["sender"]),
                      tls=tls if tls in TLS_MODES else "starttls", ca_file=data.get("ca_file"))


def _context(config: SmtpConfig) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=config.ca_file)


def _open(config: SmtpConfig, timeout: float) -> smtplib.SMTP:
    if config.tls == "implicit":
        return smtplib.SMTP_SSL(config.host, config.port, timeout=timeout,
                                context=_context(config))
    client = smtplib.SMTP(config.host, config.port, timeout=timeout)
    client.ehlo()
    if config.tls == "starttls":
        if not client.has_extn("starttls"):
            client.quit()
            raise PermanentDeliveryError(
                f"the SMTP server {config.host}:{config.port} does not offer STARTTLS; use its "
                "TLS port with --tls implicit (usually 465)")
        client.starttls(context=_context(config))
        client.ehlo()
    return client


@contextlib.contextmanager
def _sorted_errors(config: SmtpConfig, recipient: str | None) -> Iterator[None]:
    """SMTP failures sorted into retry-later and fix-first, each saying what to do."""
    where = f"SMTP {config.host}:{config.port}"
    try:
        yield
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentDeliveryError(
            f"{where} refused the username/password ({exc.smtp_code}): run `{SETUP}` "
            "again") from None
    except smtplib.SMTPRecipientsRefused as exc:
        code, reply = next(iter(exc.recipients.values()), (550, b""))
        error_cls = TransientDeliveryError if 400 <= code < 500 else PermanentDeliveryError
        raise error_cls(f"{where} refused the recipient {recipient} ({code} "
                        f"{_text(reply)})") from None
    except smtplib.SMTPResponseException as exc:
        error_cls = TransientDeliveryError if 400 <= exc.smtp_code < 500 else \
            PermanentDeliveryError
        raise error_cls(f"{where} answered {exc.smtp_code} {_text(exc.smtp_error)}") from None
    except ssl.SSLCertVerificationError as exc:
        raise PermanentDeliveryError(
            f"{where}: its TLS certificate is not trusted ({exc.verify_message}); give the CA "
            "with setup-smtp --ca-file, or fix the server's certificate") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise PermanentDeliveryError(f"{where}: {exc}; check --tls and --port") from None
    except (smtplib.SMTPException, TimeoutError, ConnectionError, ssl.SSLError) as exc:
        raise TransientDeliveryError(f"{where}: {type(exc).__name__}: {exc}") from None
    except OSError as exc:
        raise TransientDeliveryError(f"{where} unreachable: {exc}") from None


def _session(config: SmtpConfig, timeout: float, send: Callable[[smtplib.SMTP], Any]) -> None:
    client = _open(config, timeout)
    try:
        if config.username:
            client.login(config.username, config.password or "")
        send(client)
    finally:
        # Sent (or failed and about to say why): a rude goodbye changes nothing.
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.quit()


def send_smtp(config: SmtpConfig, message: EmailMessage, recipient: str,
              timeout: float) -> None:
    with _sorted_errors(config, recipient):
        _session(config, timeout, lambda client: client.send_message(
            message, from_addr=_addr(config.sender), to_addrs=[recipient]))


def check_smtp(config: SmtpConfig, timeout: float = 15.0) -> None:
    """Connect, secure and log in, sending nothing: setup-smtp's proof the settings work."""
    with _sorted_errors(config, None):
        _session(config, timeout, lambda client: client.noop())


def _text(reply: bytes | str) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


class SmtpDeliverer:
    kind = "email"

    def __init__(self, config: SmtpConfig | None = None) -> None:
        self._config = config

    def config(self, settings: DeliverySettings) -> SmtpConfig:
        return self._config or load_smtp(settings.secrets)

    def new_message_id(self, destination: Destination, settings: DeliverySettings) -> str:
        try:
            sender = self.config(settings).sender
        except PermanentDeliveryError:
            sender = "threadline.invalid"
        return new_message_id(_addr(sender))

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        config = self.config(settings)
        message = build_message(draft, settings, config.sender, destination.target)
        send_smtp(config, message, destination.target, settings.timeout)
        return DeliveryResult(message_id=str(message["Message-ID"]), permalink=None)

