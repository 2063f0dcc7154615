"""Files: Markdown, HTML, or PDF (WeasyPrint, from the HTML rendering).

The path may name the draft's parts, so one schedule writes one file a week:
``file:/reports/{client}-{slot}.md`` (also ``{recipe}`` and ``{draft}``), each made safe
for a file name. Files are written to a temporary name and renamed, so a reader never sees
half a file and a crash leaves either the old file or the new one; that also makes retries
harmless, and ``already_sent`` recognises a file that already holds exactly this content.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from threadline.deliver import content
from threadline.deliver.base import (
    DeliveryResult,
    DeliverySettings,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from threadline.deliver.destinations import Destination
from threadline.produce.model import Draft

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(value: object) -> str:
    return _UNSAFE.sub("-", str(value or "all")).strip("-") or "all"


def target_path(draft: Draft, destination: Destination, settings: DeliverySettings) -> Path:
    fields = {"client": _safe(draft.scope.client), "recipe": _safe(draft.scope.recipe),
              "slot": _safe(settings.slot or draft.scope.week), "draft": _safe(settings.draft_id)}
    try:
        return Path(destination.target.format(**fields))
    except (KeyError, IndexError, ValueError) as exc:
        raise PermanentDeliveryError(
            f"file destination {destination.target!r}: unknown placeholder {exc}; use "
            "{client}, {recipe}, {slot} or {draft}") from None


def render_bytes(draft: Draft, fmt: str, edited: str | None) -> bytes:
    if fmt == "markdown":
        return content.markdown_text(draft, edited).encode()
    html = content.html_document(draft, edited)
    if fmt == "html":
        return html.encode()
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as exc:  # OSError: Pango/cairo libraries missing
        raise PermanentDeliveryError(
            f"PDF needs WeasyPrint and its system libraries (Pango): {exc}. Install them "
            "(pip install weasyprint; apt install libpango-1.0-0), or deliver .html") from None
    pdf: bytes = HTML(string=html).write_pdf()
    return pdf


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class FileDeliverer:
    kind = "file"

    def deliver(self, draft: Draft, destination: Destination,
                settings: DeliverySettings) -> DeliveryResult:
        path = target_path(draft, destination, settings)
        data = render_bytes(draft, destination.file_format, settings.edited_markdown)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_atomic(path, data)
        except PermissionError as exc:
            raise PermanentDeliveryError(f"cannot write {path}: {exc.strerror}; choose a "
                                         "folder you can write to") from None
        except OSError as exc:  # a full disk, an unmounted share: may pass
            raise TransientDeliveryError(f"cannot write {path}: {exc}") from None
        return DeliveryResult(message_id=_digest(data), permalink=path.resolve().as_uri())

    def already_sent(self, draft: Draft, destination: Destination,
                     settings: DeliverySettings) -> DeliveryResult | None:
        if destination.file_format == "pdf":
            return None  # PDFs embed a creation time: rewriting is cheaper than comparing
        path = target_path(draft, destination, settings)
        data = render_bytes(draft, destination.file_format, settings.edited_markdown)
        if path.is_file() and path.read_bytes() == data:
            return DeliveryResult(message_id=_digest(data), permalink=path.resolve().as_uri())
        return None
