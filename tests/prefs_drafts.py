"""Weekly drafts built from a real sample store, a plain Markdown renderer, and Jane's edits.

Used by the preference tests (test_edits, test_learn, test_prefs_cli). The drafts are composed
here by hand from each week's context note, the way a composer would: claims cite the note's
items, name their authors in full and write dates like "Tue 17 Nov"; some open with
"As discussed," (the filler Jane always cuts). The store is built once per test process.
"""

from __future__ import annotations

import difflib
import functools
import re
import tempfile
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, insert, select

from threadline.connectors.base import open_importer
from threadline.connectors.runner import run_import
from threadline.context.accumulate import accumulate
from threadline.context.clients_config import save_clients
from threadline.context.note_render import with_names
from threadline.context.notes import find_client, load_note
from threadline.context.registry import builtin_folders
from threadline.context.weeks import parse_week
from threadline.produce.model import Claim, Draft, Scope, Section, SourceItem
from threadline.sample import FILES, generate_workspace
from threadline.sample.clients_yaml import sample_clients_config
from threadline.store import open_store
from threadline.store.produce_schema import draft, draft_edit
from threadline.store.schema import item
from threadline.store.writer import utcnow

WEEKS = ["2026-W44", "2026-W45", "2026-W46", "2026-W47"]
KINDS = [("slack-export", "slack"), ("mbox", "email"), ("ics", "calendar"),
         ("notion-export", "notion")]


@functools.cache
def sample_engine() -> Engine:
    """The sample workspace (4 weeks, scale 1) imported and accumulated, once per process."""
    out = Path(tempfile.mkdtemp(prefix="threadline-prefs-"))
    generate_workspace(out / "ws", seed=7, weeks=4, scale=1)
    clients_file = out / "clients.yaml"
    save_clients(sample_clients_config(seed=7, scale=1), clients_file)
    engine = open_store(str(out / "sample.db"))
    for kind, platform in KINDS:
        path = out / "ws" / FILES[platform]
        run_import(engine, open_importer(kind, path), path)
    accumulate(engine, folders=builtin_folders(clients_file))
    return engine


def _day(when: datetime | str | None) -> str:
    if isinstance(when, str):
        when = datetime.fromisoformat(when)
    return when.strftime("%a %d %b").replace(" 0", " ") if when else ""


def _headline(text: str) -> str:
    """An entry's subject, without the note's counts and quotes."""
    head = re.split(r" \((?:open|resolved|waiting|blocked)\)|: still |; ", text)[0]
    head = head.split(": ", 1)[-1] if head.startswith(("Due ", "Risk")) else head
    return " ".join(head.split())[:90].rstrip(" .,:;")


@functools.cache
def weekly_draft(client: str, week: str) -> Draft:
    """The client's weekly update for ``week``: Highlights, Issues and risks, Next steps."""
    with sample_engine().connect() as conn:
        client_id, name = find_client(conn, client)
        w = parse_week(week)
        view = load_note(conn, client_id, w)
        assert view is not None, f"no note for {client} in {week}"
        body = with_names(conn, view).body
        authors = {s.id: s.author or "someone" for s in body.sources}
        sources = _sources(conn, authors)
    sections: list[Section] = []
    plan = [("highlights", "Highlights", ["storylines", "changes", "decisions"], 4),
            ("risks", "Issues and risks", ["risks"], 3),
            ("next_steps", "Next steps", ["upcoming", "risks"], 3)]
    n = 0
    for key, title, note_keys, limit in plan:
        claims: list[Claim] = []
        for note_key in note_keys:
            for entry in body.section(note_key).entries:
                if len(claims) >= limit or not entry.citations:
                    continue
                who = authors.get(entry.citations[0], "someone")
                what = _headline(entry.text)
                when = _day(entry.at)
                if key == "next_steps" and note_key == "upcoming":
                    text = f"{what.split(':')[0]} with {who} is on {when}."
                elif key == "next_steps":
                    text = f"{who} owns {what!r}, due {when}."
                elif key == "risks":
                    text = f"{who} flagged {what!r}, open since {when}."
                else:
                    text = f"{who} moved {what!r} forward on {when}."
                n += 1
                if n % 2:
                    text = "As discussed, " + text
                claims.append(Claim(text=text, citations=entry.citations[:2]))
        sections.append(Section(key=key, title=title, claims=claims))
    return Draft(
        scope=Scope(recipe="weekly", client=name, start=w.start, end=w.end, week=w.label),
        title=f"{name} — weekly update, {w.label}", sections=sections, composer="test",
        sources={k: v for k, v in sources.items()
                 if any(k in c.citations for s in sections for c in s.claims)},
    )


def _sources(conn: Connection, authors: dict[str, str]) -> dict[str, SourceItem]:
    rows = conn.execute(
        select(item.c.canonical_id, item.c.platform, item.c.container_name, item.c.occurred_at,
               item.c.title, item.c.text, item.c.permalink)
        .where(item.c.canonical_id.in_(list(authors)))
    )
    return {
        r.canonical_id: SourceItem(
            id=r.canonical_id, platform=r.platform, container=r.container_name or "",
            author=authors[r.canonical_id], occurred_at=r.occurred_at, title=r.title,
            text=r.text[:300], permalink=r.permalink,
        )
        for r in rows
    }


def render_markdown(d: Draft) -> str:
    """A plain renderer: numbered citations, sources listed at the end."""
    numbers: dict[str, int] = {}

    def cite(claim: Claim) -> str:
        marks = [numbers.setdefault(c, len(numbers) + 1) for c in claim.citations]
        return claim.text + "".join(f" [{m}]" for m in marks)

    out = [f"# {d.title}", ""]
    if d.greeting:
        out += [d.greeting, ""]
    for section in d.sections:
        shipped = [c for c in section.claims if c.status != "dropped"]
        if not shipped:
            continue
        out += [f"## {section.title}", ""]
        if section.style == "prose":
            out += [" ".join(cite(c) for c in shipped), ""]
        else:
            out += [f"- {cite(c)}" for c in shipped] + [""]
    if d.sign_off:
        out += [d.sign_off, ""]
    out += ["---", "Sources", ""]
    out += [f"[{n}] {cid}" for cid, n in numbers.items()]
    return "\n".join(out) + "\n"


def people(d: Draft) -> list[str]:
    return sorted({s.author for s in d.sources.values() if len(s.author.split()) >= 2})


def jane_edits(markdown: str, names: list[str]) -> str:
    """What Jane does to every weekly update, as text edits on the Markdown.

    Renames Highlights to "This week", moves "Issues and risks" first, turns "Next steps" into
    a paragraph, adds "Hi Tom," and "Best, Jane", calls people by first name and cuts
    "as discussed".
    """
    split = re.search(r"\n(?:---\n+Sources|## Sources)\n", markdown)
    cut = split.start() if split else len(markdown)
    body, sources = markdown[:cut], markdown[cut:]
    head, *parts = re.split(r"(?m)^(?=## )", body)
    sections = {p.splitlines()[0][3:].strip(): p for p in parts}
    title, *rest = head.strip().split("\n\n")
    # Her greeting replaces whatever salutation the draft opened with.
    rest = [p for p in rest if not re.match(r"(Hi|Hello|Dear)\b", p)]
    head = "\n\n".join([title, "Hi Tom,", *rest]) + "\n\n"
    order = ["Issues and risks", "Highlights", "This week", "Next steps"]
    # Sections she has no habit for stay after the section they followed.
    listed = [t for t in order if t in sections]
    for i, t in enumerate(sections):
        if t not in order:
            before = next((p for p in reversed(list(sections)[:i]) if p in listed), None)
            listed.insert(listed.index(before) + 1 if before else 0, t)
    out = [head]
    for title in listed:
        text = sections[title]
        if title == "Highlights":
            text = text.replace("## Highlights", "## This week", 1)
        bullets = [ln[2:] for ln in text.splitlines() if ln.startswith("- ")]
        if title == "Next steps" and bullets:
            text = "## Next steps\n\n" + " ".join(bullets) + "\n\n"
        out.append(text.rstrip() + "\n\n")
    edited = "".join(out) + "Best, Jane\n"
    for name in names:
        edited = edited.replace(name, name.split()[0])
    edited = re.sub(r"As discussed, (\w)", lambda m: m.group(1).upper(), edited)
    edited = re.sub(r",? as discussed", "", edited)
    return edited + sources


def record_edit(
    conn: Connection, d: Draft, before: str, after: str, *, when: datetime | None = None
) -> int:
    """Store a composed draft and the user's edit of it; returns the draft_edit id."""
    now = when or utcnow()
    key = conn.execute(insert(draft).values(
        recipe=d.scope.recipe, client=d.scope.client, slot=d.scope.week or "", status="draft",
        composer=d.composer, body=d.model_dump(mode="json"), edited_markdown=after,
        created_at=now, updated_at=now,
    )).inserted_primary_key
    assert key is not None
    draft_id = int(key[0])
    diff = "".join(difflib.unified_diff(before.splitlines(True), after.splitlines(True)))
    edit = conn.execute(insert(draft_edit).values(
        draft_id=draft_id, before=before, after=after, diff=diff, created_at=now,
    )).inserted_primary_key
    assert edit is not None
    return int(edit[0])
