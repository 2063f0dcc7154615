"""Secrets are encrypted at rest, private to the user, and never shown."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import keyring
import pytest
from keyring.backend import KeyringBackend
from keyring.backends import fail

from threadline.connectors import credentials
from threadline.connectors.credentials import (
    FernetFileBackend,
    default_backend,
    delete_secrets,
    load_secrets,
    save_secrets,
)
from threadline.connectors.credentials import (
    KeyringBackend as ThreadlineKeyring,
)
from threadline.connectors.slack_api_client import SlackApi
from threadline.connectors.sync_base import ConnectionSettings, DirectRunner
from threadline.errors import ConfigError

TOKEN = "xoxb-1111-2222-very-secret"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("THREADLINE_HOME", str(tmp_path))
    monkeypatch.setenv("THREADLINE_KEYRING", "0")
    return tmp_path


def test_file_store_round_trip_encrypted_and_private(home: Path) -> None:
    save_secrets("ref1", {"token": TOKEN, "nested": {"a": 1}})
    assert load_secrets("ref1") == {"token": TOKEN, "nested": {"a": 1}}
    folder = home / "secrets"
    blob = (folder / "ref1.enc").read_bytes()
    assert TOKEN.encode() not in blob
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for path in folder.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    delete_secrets("ref1")
    with pytest.raises(ConfigError, match="Reconnect"):
        load_secrets("ref1")


def test_a_key_readable_by_others_is_refused(home: Path) -> None:
    save_secrets("ref1", {"token": TOKEN})
    (home / "secrets" / "fernet.key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secrets("ref1")


def test_a_changed_key_says_to_reconnect(home: Path) -> None:
    save_secrets("ref1", {"token": TOKEN})
    (home / "secrets" / "fernet.key").unlink()
    with pytest.raises(ConfigError, match="cannot be decrypted") as caught:
        load_secrets("ref1")
    assert TOKEN not in str(caught.value)


class MemoryKeyring(KeyringBackend):
    priority = 5

    def __init__(self) -> None:
        super().__init__()
        self.values: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.values.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.values[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.values.pop((service, username), None)


def test_os_keyring_is_used_when_usable(monkeypatch: pytest.MonkeyPatch, home: Path) -> None:
    monkeypatch.setenv("THREADLINE_KEYRING", "1")
    memory = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory)
    backend = default_backend()
    assert isinstance(backend, ThreadlineKeyring)
    save_secrets("ref2", {"token": TOKEN})
    assert ("threadline", "ref2") in memory.values
    assert load_secrets("ref2") == {"token": TOKEN}
    assert not (home / "secrets").exists()
    delete_secrets("ref2")
    assert memory.values == {}


def test_fail_keyring_falls_back_to_the_file_store(
    monkeypatch: pytest.MonkeyPatch, home: Path
) -> None:
    monkeypatch.setenv("THREADLINE_KEYRING", "1")
    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    backend = default_backend()
    assert isinstance(backend, FernetFileBackend)
    save_secrets("ref3", {"token": TOKEN})
    assert (home / "secrets" / "ref3.enc").exists()


def test_secrets_never_appear_in_reprs(home: Path) -> None:
    settings = ConnectionSettings(platform="slack", name="slack", secrets={"token": TOKEN})
    api = SlackApi(TOKEN, DirectRunner(), "http://127.0.0.1:9/api/")
    shown: list[Any] = [settings, api]
    for thing in shown:
        assert TOKEN not in repr(thing)


def test_bad_refs_cannot_escape_the_folder(home: Path) -> None:
    backend = credentials.FernetFileBackend()
    backend.set("../../etc/x", "v")
    assert (home / "secrets" / "etcx.enc").exists()
