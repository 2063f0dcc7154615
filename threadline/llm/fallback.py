"""Compose with the configured backend; if it fails, the offline composer writes the draft.

A deliverable is never lost to a flaky model server, a missing key or an unparseable answer:
the offline composer needs nothing but the bundle. The draft says so in
report.composer_notes, which the CLI shows, so the user knows which composer wrote it.
"""

from __future__ import annotations

import logging
from typing import Any

from threadline.llm.base import Composer, ComposerError, ComposerSettings, load_composer
from threadline.produce.model import ContextBundle, Draft

log = logging.getLogger(__name__)


def compose_with_fallback(
    settings: ComposerSettings,
    bundle: ContextBundle,
    recipe: Any,
    prefs: Any,
    *,
    composer: Composer | None = None,
    fallback: Composer | None = None,
) -> Draft:
    """The configured composer's draft, or the offline one's with a note saying why.

    ``composer`` / ``fallback`` replace the configured backend and the offline composer
    (tests, or a caller that already built one).
    """
    wanted = _label(settings)
    try:
        primary = composer if composer is not None else load_composer(settings)
        return primary.compose(bundle, recipe, prefs)
    except ComposerError as err:
        if settings.backend == "offline" and composer is None:
            raise
        reason = str(err)
    backup = fallback if fallback is not None else _offline(settings)
    log.warning("composer %s failed, using %s: %s", wanted, backup.name, reason)
    draft = backup.compose(bundle, recipe, prefs)
    draft.report.composer_notes.insert(
        0,
        f"{wanted} could not write this draft, so the {backup.name} composer did: {reason}",
    )
    return draft


def _offline(settings: ComposerSettings) -> Composer:
    # Imported late: the offline composer is a separate module with its own dependencies.
    from threadline.llm.offline import OfflineComposer

    built: Composer = OfflineComposer(settings.model_copy(update={"backend": "offline"}))
    return built


def _label(settings: ComposerSettings) -> str:
    return f"{settings.backend}:{settings.model}" if settings.model else settings.backend
