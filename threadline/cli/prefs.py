"""``threadline prefs``: what Threadline learned from your edits, and your say over it."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from threadline.cli.app import app, console, fail, settings
from threadline.errors import ThreadlineError

if TYPE_CHECKING:
    from threadline.produce.learn import EvidenceDetail
    from threadline.produce.preferences import Preference

# produce.learn.MIN_EVIDENCE, written out so start-up skips importing the layer.
MIN_EVIDENCE = 2

prefs_app = typer.Typer(
    help="Preferences learned from your edits to drafts: list, pin, unpin, delete, learn.",
    invoke_without_command=True,
)
app.add_typer(prefs_app, name="prefs")


def _value(p: Preference) -> str:
    if p.kind == "date_format" and isinstance(p.value, str):
        from threadline.produce.apply_prefs import verifier_reads
        from threadline.produce.date_styles import EXAMPLES

        shown = f"{p.value} (like {EXAMPLES.get(p.value, '?')!r})"
        if not verifier_reads(p.value):
            shown += " — not applied: the verifier cannot read dates written this way yet"
        return shown
    if p.kind == "add_phrase" and isinstance(p.value, dict):
        where = p.value.get("where")
        shown = f"{p.value.get('text')!r} at {where}"
        if where not in ("intro", "outro"):
            shown += " — not applied: drafts have no place for your text inside a section"
        return shown
    if p.kind == "section_order" and isinstance(p.value, list):
        return " > ".join(map(str, p.value))
    if isinstance(p.value, str):
        return repr(p.value)
    return json.dumps(p.value)


def _evidence_line(e: EvidenceDetail) -> str:
    if e.draft_id is None:
        return f"edit {e.edit_id} (gone)"
    when = e.created_at.date().isoformat() if e.created_at else "?"
    what = e.excerpt or "no longer shows this change"
    return f"draft {e.draft_id} {e.slot or ''} ({when}): {what}".replace("  ", " ")


def _as_json(p: Preference, evidence: list[EvidenceDetail]) -> dict[str, Any]:
    return {
        "id": p.id, "scope": p.scope, "key": p.key, "value": p.value, "pinned": p.pinned,
        "deleted": p.deleted,
        "updated_at": p.updated_at.isoformat() if p.updated_at else None,
        "evidence": [
            {"edit": e.edit_id, "draft": e.draft_id, "recipe": e.recipe, "client": e.client,
             "slot": e.slot, "date": e.created_at.isoformat() if e.created_at else None,
             "excerpt": e.excerpt}
            for e in evidence
        ],
    }


@prefs_app.callback()
def prefs_list(
    ctx: typer.Context,
    recipe: str | None = typer.Option(None, help="Only what applies to this recipe."),
    client: str | None = typer.Option(None, help="Only what applies to this client."),
    deleted: bool = typer.Option(False, "--deleted", help="Show deleted preferences too."),
    json_out: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Each learned preference: its scope, value, and the edits it came from."""
    if ctx.invoked_subcommand is not None:
        return
    from threadline.produce import preferences as prefs_store
    from threadline.produce.learn import evidence_details

    with settings(ctx).engine().connect() as conn:
        found = prefs_store.list_preferences(conn, recipe=recipe, client=client,
                                             include_deleted=deleted)
        evidence = evidence_details(conn, found)
    if json_out:
        rows = [_as_json(p, evidence.get(p.id or 0, [])) for p in found]
        sys.stdout.write(json.dumps(rows, indent=2, default=str) + "\n")
        return
    if not found:
        console.print(
            "No preferences learned yet. Edit drafts the same way at least "
            f"{MIN_EVIDENCE} times and Threadline picks it up (or run `threadline prefs learn`)."
        )
        return
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in ("id", "scope", "key", "value", "from edits"):
        table.add_column(column, overflow="fold")
    for p in found:
        flags = " [pinned]" if p.pinned else (" [deleted]" if p.deleted else "")
        lines = "\n".join(_evidence_line(e) for e in evidence.get(p.id or 0, []))
        table.add_row(str(p.id), p.scope, p.key + flags, _value(p), lines)
    console.print(table)


def _change(ctx: typer.Context, pref_id: int, action: str) -> None:
    from threadline.produce import preferences as prefs_store

    engine = settings(ctx).engine()
    try:
        with engine.begin() as conn:
            done = getattr(prefs_store, action)(conn, pref_id)
    except ThreadlineError as exc:
        fail(str(exc))
    state = "pinned" if done.pinned else ("deleted" if done.deleted else "unpinned")
    console.print(f"{state} {done.id}: {done.scope} {done.key} = {_value(done)}")


@prefs_app.command("pin")
def prefs_pin(ctx: typer.Context, pref_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Keep a preference as it is: learning never changes it."""
    _change(ctx, pref_id, "pin")


@prefs_app.command("unpin")
def prefs_unpin(ctx: typer.Context, pref_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Let learning update a preference again."""
    _change(ctx, pref_id, "unpin")


@prefs_app.command("delete")
def prefs_delete(ctx: typer.Context, pref_id: int = typer.Argument(..., metavar="ID")) -> None:
    """Stop applying a preference; the edits it came from never bring it back."""
    _change(ctx, pref_id, "delete")


@prefs_app.command("learn")
def prefs_learn(
    ctx: typer.Context,
    recipe: str | None = typer.Option(None, help="Only learn from drafts of this recipe."),
    client: str | None = typer.Option(None, help="Only learn from drafts for this client."),
    min_evidence: int = typer.Option(
        MIN_EVIDENCE, min=1, help="How many edited drafts must show a change."
    ),
) -> None:
    """Learn (again) from every recorded edit."""
    from threadline.produce.learn import learn_preferences

    with settings(ctx).engine().begin() as conn:
        result = learn_preferences(conn, recipe=recipe, client=client,
                                   min_evidence=min_evidence)
    for p in result.learned:
        console.print(f"learned {p.id}: {p.scope} {p.key} = {_value(p)} "
                      f"(from {len(p.evidence)} edits)")
    for label in result.pinned_kept:
        console.print(f"kept pinned {label}")
    for label in result.deleted_kept:
        console.print(f"not re-learned (deleted) {label}")
    if not (result.learned or result.pinned_kept or result.deleted_kept):
        console.print("Nothing new to learn.")
