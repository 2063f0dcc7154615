"""Connection secrets (tokens, OAuth credentials), encrypted at rest and never logged.

Where the OS has a keyring (macOS Keychain, Windows Credential Locker, Secret Service),
secrets go there. Where it has none (a server, a container: keyring's ``fail`` backend or
only a plaintext one), they go to ``<data dir>/secrets/<ref>.enc``, encrypted with a Fernet
key kept in ``<data dir>/secrets/fernet.key``; the folder and files are private (0700/0600).
Set ``THREADLINE_KEYRING=0`` to force the file store (tests do).

Secrets are keyed by a connection's ``secret_ref`` (a random id stored with the connection)
rather than its row id, so two stores on one machine never read each other's tokens.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any, Protocol

from threadline.errors import ConfigError
from threadline.paths import data_dir

SERVICE = "threadline"


class SecretBackend(Protocol):
    name: str

    def get(self, ref: str) -> str | None: ...

    def set(self, ref: str, value: str) -> None: ...

    def delete(self, ref: str) -> None: ...


class KeyringBackend:
    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self.name = f"keyring ({type(backend).__name__})"

    def get(self, ref: str) -> str | None:
        value = self._backend.get_password(SERVICE, ref)
        return value if isinstance(value, str) else None

    def set(self, ref: str, value: str) -> None:
        self._backend.set_password(SERVICE, ref, value)

    def delete(self, ref: str) -> None:
        import keyring.errors

        with contextlib.suppress(keyring.errors.PasswordDeleteError):
            self._backend.delete_password(SERVICE, ref)


class FernetFileBackend:
    """Encrypted files under the data dir, for machines without a usable keyring."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folder = folder or data_dir() / "secrets"
        self.name = f"encrypted file store ({self.folder})"

    def _private_folder(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        return self.folder

    def _write_private(self, path: Path, data: bytes) -> None:
        tmp = path.with_suffix(path.suffix + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)

    def _fernet(self) -> Any:
        from cryptography.fernet import Fernet

        key_path = self._private_folder() / "fernet.key"
        if not key_path.exists():
            self._write_private(key_path, Fernet.generate_key())
        mode = key_path.stat().st_mode & 0o777
        if mode & 0o077:
            raise ConfigError(
                f"{key_path} is readable by others (mode {mode:o}); run chmod 600 on it, "
                "or delete it and reconnect every connection."
            )
        return Fernet(key_path.read_bytes().strip())

    def _path(self, ref: str) -> Path:
        safe = "".join(c for c in ref if c.isalnum() or c in "-_")
        if not safe:
            raise ValueError(f"bad secret ref {ref!r}")
        return self.folder / f"{safe}.enc"

    def get(self, ref: str) -> str | None:
        from cryptography.fernet import InvalidToken

        path = self._path(ref)
        if not path.exists():
            return None
        try:
            plain: bytes = self._fernet().decrypt(path.read_bytes())
        except InvalidToken as exc:
            raise ConfigError(
                f"the secrets for connection {ref} cannot be decrypted with "
                f"{self.folder / 'fernet.key'} (the key changed?). Reconnect it with "
                "`threadline connect ...`."
            ) from exc
        return plain.decode()

    def set(self, ref: str, value: str) -> None:
        token = self._fernet().encrypt(value.encode())
        self._write_private(self._path(ref), token)

    def delete(self, ref: str) -> None:
        self._path(ref).unlink(missing_ok=True)


def _usable_keyring() -> Any | None:
    if os.environ.get("THREADLINE_KEYRING", "1").lower() in ("0", "false", "no", "off"):
        return None
    try:
        import keyring
        from keyring.backends import fail
    except ImportError:
        return None
    backend = keyring.get_keyring()
    if isinstance(backend, fail.Keyring):
        return None
    # A chainer with nothing behind it, or a plaintext backend, is no keyring at all.
    priority = getattr(backend, "priority", 0)
    if priority is None or float(priority) < 1:
        return None
    if "plaintext" in type(backend).__module__.lower():
        return None
    return backend


def default_backend() -> SecretBackend:
    found = _usable_keyring()
    return KeyringBackend(found) if found is not None else FernetFileBackend()


def save_secrets(
    connection_id: int | str, secrets: dict[str, Any], backend: SecretBackend | None = None
) -> None:
    (backend or default_backend()).set(str(connection_id), json.dumps(secrets))


def load_secrets(
    connection_id: int | str, backend: SecretBackend | None = None
) -> dict[str, Any]:
    raw = (backend or default_backend()).get(str(connection_id))
    if raw is None:
        raise ConfigError(
            f"no saved credentials for connection {connection_id}: they were deleted or "
            "were saved on another machine. Reconnect with `threadline connect ...`."
        )
    loaded = json.loads(raw)
    if not isinstance(loaded, dict):
        raise ConfigError(f"the saved credentials for connection {connection_id} are damaged; "
                          "reconnect with `threadline connect ...`.")
    return loaded


def delete_secrets(connection_id: int | str, backend: SecretBackend | None = None) -> None:
    (backend or default_backend()).delete(str(connection_id))
