"""The one protocol every importer implements, and the registry of importers.

An importer reads one export (a file or folder) and yields records: items, identities
and quarantined pieces. It never touches the store. The import runner in
``threadline.connectors.runner`` saves what it yields, counts it and shows progress.
Built-in importers are registered exactly as a third party would register theirs:
an entry point in the ``threadline.importers`` group naming a factory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from typing import Protocol, runtime_checkable

from threadline.errors import ConfigError
from threadline.records import Record, SourceInfo


@runtime_checkable
class Importer(Protocol):
    """Reads one export and yields what it holds."""

    name: str
    """The command name: ``slack-export``, ``mbox``, ``ics``, ``notion-export``."""

    def source(self) -> SourceInfo:
        """Which account or workspace the export comes from."""
        ...

    def estimate(self) -> int | None:
        """Roughly how many units ``read`` will yield, for the progress bar; None if unknown."""
        ...

    def read(self) -> Iterator[Record]:
        """Yield records, streaming: never load the whole export into memory.

        A piece that cannot be read is yielded as a QuarantineRecord naming the file and the
        position; raise ImportFailed only when the export as a whole cannot be opened.
        """
        ...


ImporterFactory = Callable[..., Importer]


def _builtin() -> dict[str, str]:
    return {
        "slack-export": "threadline.connectors.slack_export:SlackExportImporter",
        "mbox": "threadline.connectors.mbox:MboxImporter",
        "eml": "threadline.connectors.mbox:MboxImporter",
        "ics": "threadline.connectors.ics:IcsImporter",
        "notion-export": "threadline.connectors.notion_export:NotionExportImporter",
    }


def importer_names() -> list[str]:
    names = set(_builtin())
    names.update(ep.name for ep in entry_points(group="threadline.importers"))
    return sorted(names)


def load_importer(name: str) -> ImporterFactory:
    target = _builtin().get(name)
    if target is None:
        for ep in entry_points(group="threadline.importers"):
            if ep.name == name:
                loaded: ImporterFactory = ep.load()
                return loaded
        raise ConfigError(
            f"no importer named {name!r}; choose one of: {', '.join(importer_names())}"
        )
    module_name, attr = target.split(":")
    module = __import__(module_name, fromlist=[attr])
    factory: ImporterFactory = getattr(module, attr)
    return factory


def open_importer(name: str, path: Path, **options: object) -> Importer:
    if not path.exists():
        raise ConfigError(f"{path} does not exist: give the path of the export to import")
    return load_importer(name)(path, **options)
