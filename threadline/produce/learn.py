"""Learn preferences from the user's edits: the same change in enough drafts becomes a habit.

Each edited draft counts once, with its net change (the first recorded edit's Markdown before →
the last one's after), so saving the same draft three times is one piece of evidence, not three.
A change seen in at least ``min_evidence`` drafts (2 by default) of one recipe for one client is
learned for "<recipe>:<client>"; seen across two or more clients of a recipe (or in a recipe
that has no client) for "<recipe>"; the generic ones (naming, dates, phrases, sign-off, detail)
seen across two or more recipes for "*". When edits disagree, the most recent change that has
enough evidence wins. Pinned rows are never touched; a deleted row comes back only when enough
drafts outside its old evidence show the change again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import Connection, insert, select, update

from threadline.produce.edit_parse import norm
from threadline.produce.edits import Observation, diff_edit
from threadline.produce.model import Draft
from threadline.produce.preferences import GLOBAL, Preference, list_preferences, scope_for
from threadline.store.produce_schema import draft, draft_edit, preference
from threadline.store.writer import utcnow

MIN_EVIDENCE = 2
_GENERIC = {"name_style", "date_format", "cut_phrase", "sign_off", "detail", "add_phrase"}


class EditEvidence(BaseModel):
    """One edited draft's net change."""

    edit_id: int
    """The latest draft_edit row of the draft: the id preferences cite as evidence."""
    draft_id: int
    recipe: str
    client: str | None
    created_at: datetime
    observations: list[Observation] = Field(default_factory=list)


class LearnResult(BaseModel):
    learned: list[Preference] = Field(default_factory=list)
    """Rows inserted, changed or brought back by this run."""
    pinned_kept: list[str] = Field(default_factory=list)
    """scope/key of pinned rows learning would have changed."""
    deleted_kept: list[str] = Field(default_factory=list)
    """scope/key of deleted rows whose only evidence is what they were deleted with."""


def load_evidence(
    conn: Connection,
    *,
    recipe: str | None = None,
    client: str | None = None,
    draft_ids: Iterable[int] | None = None,
) -> list[EditEvidence]:
    """The net change of every edited draft (of ``recipe``/``client``), oldest first."""
    query = (
        select(draft.c.id, draft.c.recipe, draft.c.client, draft.c.body,
               draft_edit.c.id.label("eid"), draft_edit.c.before, draft_edit.c.after,
               draft_edit.c.created_at)
        .join(draft_edit, draft_edit.c.draft_id == draft.c.id)
        .order_by(draft_edit.c.created_at, draft_edit.c.id)
    )
    if recipe is not None:
        query = query.where(draft.c.recipe == recipe)
    if client is not None:
        query = query.where(draft.c.client == client)
    if draft_ids is not None:
        query = query.where(draft.c.id.in_(sorted(set(draft_ids))))
    first: dict[int, Any] = {}
    last: dict[int, Any] = {}
    for r in conn.execute(query):
        first.setdefault(r.id, r)
        last[r.id] = r
    out: list[EditEvidence] = []
    for draft_id, end in last.items():
        composed = Draft.model_validate(end.body)
        diff = diff_edit(composed, first[draft_id].before, end.after)
        out.append(EditEvidence(
            edit_id=end.eid, draft_id=draft_id, recipe=end.recipe, client=end.client,
            created_at=end.created_at, observations=diff.observations(),
        ))
    return sorted(out, key=lambda e: (e.created_at, e.edit_id))


def _kind(key: str) -> str:
    return key.split(":", 1)[0]


def _agree(key: str, a: Any, b: Any) -> bool:
    kind = _kind(key)
    if kind in {"section_length", "detail"}:
        return True  # every observation of these is "shorter"; the amount is merged below
    if kind == "section_order":
        common = [k for k in a if k in b]
        return len(common) >= 2 and common == [k for k in b if k in common]
    if kind == "add_phrase":
        return bool(norm(a["text"]) == norm(b["text"]))
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()) == " ".join(b.split())
    return bool(a == b)


def _merge(key: str, values: list[Any]) -> Any:
    """The learned value from agreeing observations, oldest first."""
    kind = _kind(key)
    if kind == "section_length":
        return max(values)  # the least cutting the user settled for: never cut more than that
    if kind == "detail":
        return {"words_per_claim": max(v["words_per_claim"] for v in values)}
    return values[-1]


class _Candidate(BaseModel):
    scope: str
    key: str
    value: Any
    evidence: list[int]


def _decide(
    scope: str, key: str, seen: list[tuple[EditEvidence, Any]], min_evidence: int,
    spread: str | None,
) -> _Candidate | None:
    """The most recent class of agreeing observations with enough evidence (and, for broader
    scopes, enough different clients or recipes)."""
    classes: list[list[tuple[EditEvidence, Any]]] = []
    for ev, value in seen:
        home = next((c for c in classes if _agree(key, c[-1][1], value)), None)
        if home is None:
            classes.append([(ev, value)])
        else:
            home.append((ev, value))
    ready = []
    for members in classes:
        if len(members) < min_evidence:
            continue
        if spread == "client" and len({m[0].client for m in members}) < 2:
            continue
        if spread == "recipe" and len({m[0].recipe for m in members}) < 2:
            continue
        ready.append(members)
    if not ready:
        return None
    best = max(ready, key=lambda c: (c[-1][0].created_at, c[-1][0].edit_id))
    return _Candidate(scope=scope, key=key, value=_merge(key, [v for _e, v in best]),
                      evidence=[e.edit_id for e, _v in best])


def candidates(evidence: list[EditEvidence], min_evidence: int = MIN_EVIDENCE) -> list[_Candidate]:
    """What the edits support, per scope and key, before pinned and deleted rows are considered."""
    groups: dict[tuple[str, str | None], dict[str, list[tuple[EditEvidence, Any]]]] = {}
    for ev in evidence:
        scopes: list[tuple[str, str | None]] = [(scope_for(ev.recipe, ev.client), None)]
        if ev.client:
            scopes.append((ev.recipe, "client"))
        for obs in ev.observations:
            targets = list(scopes)
            if _kind(obs.key) in _GENERIC and _generic_place(obs):
                targets.append((GLOBAL, "recipe"))
            for target in targets:
                groups.setdefault(target, {}).setdefault(obs.key, []).append((ev, obs.value))
    out = []
    for (scope, spread), keys in groups.items():
        for key, seen in keys.items():
            found = _decide(scope, key, seen, min_evidence, spread)
            if found is not None:
                out.append(found)
    return out


def _generic_place(obs: Observation) -> bool:
    """Section-bound additions belong to a recipe's sections, not to every deliverable."""
    return _kind(obs.key) != "add_phrase" or obs.value.get("where") in {"intro", "outro"}


def learn_preferences(
    conn: Connection,
    *,
    recipe: str | None = None,
    client: str | None = None,
    min_evidence: int = MIN_EVIDENCE,
) -> LearnResult:
    """Learn from the edits (of ``recipe``/``client``) and store what they support."""
    found = candidates(load_evidence(conn, recipe=recipe, client=client), min_evidence)
    return store_candidates(conn, found, min_evidence)


def store_candidates(
    conn: Connection, found: Iterable[_Candidate], min_evidence: int = MIN_EVIDENCE
) -> LearnResult:
    existing = {(p.scope, p.key): p for p in list_preferences(conn, include_deleted=True)}
    result = LearnResult()
    now = utcnow()
    for cand in found:
        row = existing.get((cand.scope, cand.key))
        label = f"{cand.scope}/{cand.key}"
        if row is None:
            inserted = conn.execute(insert(preference).values(
                scope=cand.scope, key=cand.key, value=cand.value, evidence=cand.evidence,
                pinned=False, deleted=False, updated_at=now,
            )).inserted_primary_key
            new_id = int(inserted[0]) if inserted else None
            result.learned.append(Preference(id=new_id, **cand.model_dump(), updated_at=now))
            continue
        if row.pinned:
            if row.value != cand.value:
                result.pinned_kept.append(label)
            continue
        evidence = cand.evidence
        if row.deleted:
            evidence = [e for e in cand.evidence if e not in set(row.evidence)]
            if len(evidence) < min_evidence:
                result.deleted_kept.append(label)
                continue
        if not row.deleted and row.value == cand.value and row.evidence == cand.evidence:
            continue
        # All the agreeing drafts are its evidence, old ones included, so that deleting it
        # again covers every draft that supports it.
        conn.execute(update(preference).where(preference.c.id == row.id).values(
            value=cand.value, evidence=cand.evidence, deleted=False, updated_at=now,
        ))
        result.learned.append(Preference(id=row.id, scope=cand.scope, key=cand.key,
                                         value=cand.value, evidence=cand.evidence,
                                         updated_at=now))
    return result


class EvidenceDetail(BaseModel):
    """One edit a preference was learned from, for showing the user."""

    edit_id: int
    draft_id: int | None = None
    recipe: str | None = None
    client: str | None = None
    slot: str | None = None
    created_at: datetime | None = None
    excerpt: str | None = None
    """What that edit did that this preference stands for; None when the edit is gone."""


def evidence_details(
    conn: Connection, prefs: Iterable[Preference]
) -> dict[int, list[EvidenceDetail]]:
    """Per preference id: the edits it was learned from, each with what it did for that key.

    The excerpt is recomputed from the stored Markdown (the draft's net edit), so it always
    matches what learning saw.
    """
    prefs = [p for p in prefs if p.id is not None]
    wanted = {e for p in prefs for e in p.evidence}
    if not wanted:
        return {p.id: [] for p in prefs if p.id is not None}
    rows = {r.id: r for r in conn.execute(
        select(draft_edit.c.id, draft_edit.c.draft_id, draft_edit.c.created_at, draft.c.recipe,
               draft.c.client, draft.c.slot)
        .join(draft, draft.c.id == draft_edit.c.draft_id)
        .where(draft_edit.c.id.in_(sorted(wanted)))
    )}
    notes = {ev.draft_id: {o.key: o.excerpt for o in ev.observations}
             for ev in load_evidence(conn, draft_ids={r.draft_id for r in rows.values()})}
    out: dict[int, list[EvidenceDetail]] = {}
    for p in prefs:
        shown = []
        for edit_id in p.evidence:
            r = rows.get(edit_id)
            if r is None:
                shown.append(EvidenceDetail(edit_id=edit_id))
                continue
            shown.append(EvidenceDetail(
                edit_id=edit_id, draft_id=r.draft_id, recipe=r.recipe, client=r.client,
                slot=r.slot, created_at=r.created_at,
                excerpt=notes.get(r.draft_id, {}).get(p.key),
            ))
        assert p.id is not None
        out[p.id] = shown
    return out
