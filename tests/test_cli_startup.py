"""The CLI starts without loading the layers its commands use; the few values its options
need at start-up are copies, held here to the layers' own."""

from __future__ import annotations

import subprocess
import sys


def test_cli_option_defaults_match_the_layers_they_copy() -> None:
    from threadline.autonomy import queue
    from threadline.cli import embed, prefs, schedule
    from threadline.context import embeddings
    from threadline.produce import learn

    assert (embed.DIMS, embed.SAMPLE) == (embeddings.DIMS, embeddings.SAMPLE)
    assert prefs.MIN_EVIDENCE == learn.MIN_EVIDENCE
    assert schedule.SELF_ENV == queue.SELF_ENV


def test_loading_the_cli_leaves_the_layers_unloaded() -> None:
    code = (
        "import sys; from threadline.cli import app; "
        "print(' '.join(sorted(m for m in sys.modules if m.split('.')[:2] in ("
        "['threadline', 'context'], ['threadline', 'produce'], ['threadline', 'deliver'], "
        "['threadline', 'connectors'], ['threadline', 'web'], ['threadline', 'llm']) "
        "or m == 'sqlalchemy')))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.split()
    # Recipes are read at start-up: each one is a `produce` subcommand of its own.
    assert loaded == ["threadline.produce", "threadline.produce.recipes"]
