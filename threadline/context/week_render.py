"""Plain-text rendering of a client's week: numbered citations and a sources list."""

from __future__ import annotations

import textwrap

from threadline.context.week_view import ThreadGroup, WeekItem
from threadline.context.weeks import Week


def _snippet(entry: WeekItem, width: int = 110) -> str:
    body = " ".join(entry.text.split()) or " ".join((entry.title or "").split())
    return textwrap.shorten(body, width=width, placeholder="…") if body else "(no text)"


def _salient(groups: list[ThreadGroup], limit: int) -> list[ThreadGroup]:
    """The threads that span most platforms and items, shown in time order."""
    ranked = sorted(groups, key=lambda g: (-len(g.platforms), -len(g.items)))[:limit]
    return sorted(ranked, key=lambda g: (g.items[0].occurred_at, g.items[0].canonical_id))


def render_week(
    client: str, week: Week, groups: list[ThreadGroup], *, max_groups: int | None = None
) -> str:
    everything = [entry for group in groups for entry in group.items]
    if not everything:
        return f"{client}: nothing stored for {week.label}."
    shown = _salient(groups, max_groups) if max_groups else groups
    items = [entry for group in shown for entry in group.items]
    platforms = sorted({entry.platform for entry in everything})
    last_day = week.end.date().toordinal() - 1
    span = f"{week.start:%d %b} – {week.start.date().fromordinal(last_day):%d %b %Y}"
    lines = [
        f"{client} — week {week.label} ({span})",
        f"{len(groups)} threads, {len(everything)} items across {', '.join(platforms)}"
        + (f"; the {len(shown)} widest threads:" if len(shown) < len(groups) else ""),
        "",
    ]
    numbers: dict[str, int] = {}
    for n, group in enumerate(shown, 1):
        tag = ", ".join(group.platforms)
        lines.append(f"{n}. {group.title}  [{tag}]")
        for entry in group.items:
            ref = numbers.setdefault(entry.canonical_id, len(numbers) + 1)
            when = entry.occurred_at.strftime("%a %d %b %H:%M")
            lines.append(
                f"   {when}  {entry.platform:<8} {entry.author}: {_snippet(entry)} [{ref}]"
            )
        lines.append("")
    lines.append("Sources")
    for entry in items:
        ref = numbers[entry.canonical_id]
        where = f"{entry.platform} {entry.container}"
        link = f" {entry.permalink}" if entry.permalink else ""
        lines.append(
            f"[{ref}] {entry.canonical_id} — {where}, {entry.author}, "
            f"{entry.occurred_at:%Y-%m-%d %H:%M} UTC{link}"
        )
    return "\n".join(lines)
