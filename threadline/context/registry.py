"""The folders accumulation runs, in order: later ones read what earlier ones wrote."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from threadline.context.accumulate import Folder


def builtin_folders(clients_file: Path | None = None) -> list[Folder]:
    from threadline.context.clients import ClientsFolder
    from threadline.context.embeddings import EmbeddingsFolder
    from threadline.context.notes import NotesFolder
    from threadline.context.people import PeopleFolder
    from threadline.context.storylines import StorylinesFolder
    from threadline.context.timeline import TimelineFolder

    return [
        PeopleFolder(),
        ClientsFolder(clients_file),
        StorylinesFolder(),
        TimelineFolder(),
        NotesFolder(),
        EmbeddingsFolder(),
    ]
