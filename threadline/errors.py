"""The error hierarchy. Every message says what failed, on which item, and what to do."""


class ThreadlineError(Exception):
    """Base of every error Threadline raises on purpose."""


class ConfigError(ThreadlineError):
    """A setting, path or URL is wrong; the message names it and the fix."""


class StoreError(ThreadlineError):
    """The database could not be opened, migrated or written."""


class ImportFailed(ThreadlineError):
    """An export could not be read at all (not a single item): nothing was imported."""


class ItemUnreadable(ThreadlineError):
    """One item in an export could not be read. It is quarantined; the import goes on."""

    def __init__(self, file: str, position: str, reason: str, raw: bytes = b"") -> None:
        super().__init__(f"{file} at {position}: {reason}")
        self.file = file
        self.position = position
        self.reason = reason
        self.raw = raw
