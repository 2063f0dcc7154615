"""Reading a note: person names put in for identity keys, then text with numbered citations.

A person shows once, however many identities (Slack, email) they wrote from: the stored
body counts per identity, and the identities are grouped by person only here, at read time.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import Connection, select

from threadline.context.note_model import Entry, NoteView, Section
from threadline.store.schema import identity, person


def _names(conn: Connection, keys: set[str]) -> dict[str, tuple[str, str]]:
    """identity key -> (group, display name): the person when known, else the identity."""
    found: dict[str, tuple[str, str]] = {}
    ordered = sorted(keys)
    for n in range(0, len(ordered), 500):
        rows = conn.execute(
            select(identity.c.key, identity.c.display_name, identity.c.person_id,
                   person.c.display_name.label("person_name"))
            .select_from(identity.outerjoin(person, person.c.id == identity.c.person_id))
            .where(identity.c.key.in_(ordered[n : n + 500]))
        )
        for r in rows:
            group = f"person:{r.person_id}" if r.person_id else r.key
            found[r.key] = (group, r.person_name or r.display_name or _bare(r.key))
    return found


def _bare(key: str) -> str:
    return key.split(":", 1)[-1]


def with_names(conn: Connection, view: NoteView) -> NoteView:
    """A copy of the note with people, authors and attendees named."""
    shown = view.model_copy(deep=True)
    body = shown.body
    keys = {s.author for s in body.sources if s.author}
    for section in body.sections:
        for entry in section.entries:
            keys.update(entry.detail.get("keys", []))
            keys.update(entry.detail.get("attendees", []))
    names = _names(conn, keys)

    def name(key: str) -> str:
        return names[key][1] if key in names else _bare(key)

    for source in body.sources:
        if source.author:
            source.author = name(source.author)
    for section in body.sections:
        if section.key == "people":
            section.entries = _grouped(section, names)
        for entry in section.entries:
            if entry.detail.get("attendees"):
                shown_names = {name(k) for k in entry.detail["attendees"]}
                entry.detail["attendee_names"] = sorted(shown_names)
    return shown


def _grouped(section: Section, names: dict[str, tuple[str, str]]) -> list[Entry]:
    groups: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"keys": [], "authored": 0, "attended": 0, "cites": set(), "name": ""}
    )
    for entry in section.entries:
        for key in entry.detail.get("keys", []):
            group, shown = names.get(key, (key, _bare(key)))
            slot = groups[group]
            slot["name"] = shown
            slot["keys"].append(key)
            slot["authored"] += int(entry.detail.get("authored", 0))
            slot["attended"] += int(entry.detail.get("attended", 0))
            slot["cites"] |= set(entry.citations)
    entries = [
        Entry(
            text=slot["name"], citations=sorted(slot["cites"]),
            detail={"keys": sorted(slot["keys"]), "authored": slot["authored"],
                    "attended": slot["attended"]},
        )
        for slot in groups.values()
    ]
    return sorted(entries, key=lambda e: (-len(e.citations), e.text))


def _line(section: str, entry: Entry) -> str:
    if section == "people":
        parts = []
        if entry.detail.get("authored"):
            parts.append(f"{entry.detail['authored']} written")
        if entry.detail.get("attended"):
            parts.append(f"{entry.detail['attended']} meetings attended")
        return f"{entry.text} ({', '.join(parts) or 'involved'})"
    if section == "upcoming" and entry.detail.get("attendee_names"):
        return f"{entry.text}, with {', '.join(entry.detail['attendee_names'])}"
    return entry.text


def render_lines(view: NoteView, *, max_citations: int = 8) -> list[tuple[str, str]]:
    """(style, text) lines: a title, sections of bullets with [n] citations, then sources.

    Long citation lists (a person who wrote 40 messages) show their first few numbers;
    every cited item is still listed under Sources.
    """
    body = view.body
    numbers: dict[str, int] = {}
    lines: list[tuple[str, str]] = [("title", f"{body.client} — week {body.week}")]
    stamp = f"as of {view.as_of}" if view.as_of else f"updated {view.updated_at or '?'}"
    lines.append(("dim", f"{body.start[:10]} to {body.end[:10]} (exclusive); {stamp}"))
    for section in body.sections:
        lines.append(("", ""))
        lines.append(("heading", section.title))
        if not section.entries:
            lines.append(("dim", "  (nothing)"))
            continue
        for entry in section.entries:
            refs = [numbers.setdefault(c, len(numbers) + 1) for c in entry.citations]
            shown = "".join(f"[{n}]" for n in refs[:max_citations])
            if len(refs) > max_citations:
                shown += f"[+{len(refs) - max_citations}]"
            lines.append(("", f"  • {_line(section.key, entry)} {shown}".rstrip()))
    lines.append(("", ""))
    lines.append(("heading", "Sources"))
    by_id = {s.id: s for s in body.sources}
    for cid, n in numbers.items():
        source = by_id.get(cid)
        if source is None:
            lines.append(("", f"  [{n}] {cid}"))
            continue
        when = (source.occurred_at or "")[:16].replace("T", " ")
        link = f" {source.permalink}" if source.permalink else ""
        lines.append((
            "",
            f"  [{n}] {source.platform} · {source.container} · {source.author or 'unknown'}"
            f" · {when} · {cid}{link}",
        ))
    return lines


def render_text(view: NoteView) -> str:
    return "\n".join(text for _style, text in render_lines(view))
