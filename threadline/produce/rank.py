"""Ranking: what is worth saying, and which recipe section says it.

Salience favours what a reader would miss: storylines that crossed platforms, reached an
outcome or wait on someone, decisions, status changes (done, moved, cancelled), risks and
deadlines, threads with people outside the team (email, meetings), and recent activity.
Channel chatter that never left Slack and reached nothing is noise and is dropped.

A storyline that is also a risk is said once, as the risk, citing both. Each entry goes to
one section, except the derived ones (next steps, agenda) which restate what comes next.
With the last sent update at hand, what the client already got is not repeated (unless the
recipe asks) and what is new leads.
"""

from __future__ import annotations

import re

from threadline.produce.model import ContextBundle, ContextEntry, ContextSection, Draft
from threadline.produce.recipes import Recipe, RecipeSection
from threadline.produce.select import POOL

OUTCOME = re.compile(
    r"\b(?:fixed|resolved|shipped|went live|live|done|completed?|rolled back|agreed|decided"
    r"|approved|signed|launched|moved|cancell?ed|renamed)\b", re.IGNORECASE)
RISK = re.compile(
    r"\b(?:blocked|blocker|risks?|at risk|delay(?:s|ed)?|slips?|slipping|overdue|depends on"
    r"|deadline|unless|waiting)\b", re.IGNORECASE)
KINDS = {
    "storylines": ("storyline",), "decisions": ("decision",), "changes": ("change",),
    "risks": ("risk",), "upcoming": ("upcoming",), "people": ("attendees", "person"),
}
DERIVED = frozenset({"next_steps", "agenda"})
HIGHLIGHT_KINDS = ("storyline", "decision", "change", "risk")


def _platforms(entry: ContextEntry, bundle: ContextBundle) -> set[str]:
    return {bundle.items[i].platform for i in entry.items if i in bundle.items}


def is_noise(entry: ContextEntry, bundle: ContextBundle) -> bool:
    if entry.kind != "storyline":
        return False
    platforms = _platforms(entry, bundle)
    if entry.status == "waiting" or len(platforms) > 1:
        return False
    if platforms <= {"notion"}:
        return True  # a row's own status change is said under changes
    text = " ".join(bundle.items[i].text for i in entry.items if i in bundle.items)
    return not (RISK.search(text) and len(entry.items) > 1)


def salience(entry: ContextEntry, bundle: ContextBundle) -> float:
    scope = bundle.scope
    platforms = _platforms(entry, bundle)
    score = {"decision": 2.6, "risk": 2.2, "change": 1.6, "storyline": 1.0,
             "upcoming": 1.0, "attendees": 1.0, "person": 0.2}.get(entry.kind, 0.5)
    if entry.kind == "storyline":
        score += 0.9 * (len(platforms) - 1) + min(len(entry.items), 8) * 0.08
        score += {"resolved": 0.6, "waiting": 0.7}.get(entry.status or "", 0.0)
    if entry.kind == "change" and OUTCOME.search(entry.summary):
        score += 0.4
    if entry.kind == "risk" and entry.detail.get("storyline"):
        score += 0.5
    elif entry.kind == "risk" and platforms <= {"notion"}:
        score -= 1.0  # a task row's due date: worth listing, not a headline
    if platforms & {"email", "calendar"}:
        score += 0.4  # people outside the team were in it
    if entry.kind == "person":
        score += min(len(entry.items), 20) * 0.05
    if entry.kind == "upcoming" and entry.when is not None:
        days = (entry.when - scope.end).total_seconds() / 86400
        score -= max(days, 0) * 0.05
    elif entry.when is not None and scope.end > scope.start:
        span = (scope.end - scope.start).total_seconds()
        score += 0.3 * max(0.0, min(1.0, (entry.when - scope.start).total_seconds() / span))
    return round(score, 4)


def _fold_risks(entries: list[ContextEntry]) -> list[ContextEntry]:
    """A storyline that is a risk is said once, as the risk; deadlines it covers go too."""
    risks = {str(e.detail["storyline"]): e for e in entries
             if e.kind == "risk" and e.detail.get("storyline")}
    out = []
    for entry in entries:
        key = str(entry.detail.get("storyline") or "")
        if entry.kind == "storyline" and key in risks:
            risk = risks[key]
            risk.items += [i for i in entry.items if i not in risk.items]
            risk.detail.setdefault("title", entry.detail.get("title"))
            continue
        out.append(entry)
    covered = {i for e in risks.values() for i in e.items}
    return [e for e in out if not (e.kind == "risk" and not e.detail.get("storyline")
                                   and set(e.items) <= covered)]


def _known(previous: Draft | None) -> set[str]:
    if previous is None:
        return set()
    return {c for claim in previous.shipped_claims() for c in claim.citations}


def rank(bundle: ContextBundle, recipe: Recipe) -> ContextBundle:
    """Score the selected pool, drop noise, and fill the recipe's sections."""
    pool = [e for s in bundle.sections if s.key == POOL for e in s.entries]
    pool = [e for e in _fold_risks(pool) if not is_noise(e, bundle)]
    known = _known(bundle.previous) if recipe.lead_with_changes else set()
    for entry in pool:
        entry.salience = salience(entry, bundle)
        if known:
            fresh = [i for i in entry.items if i not in known]
            entry.detail["new"] = bool(fresh)
            if (fresh and entry.kind in ("change", "decision")) or (
                    entry.kind == "storyline" and entry.status == "resolved"
                    and set(entry.items) & known):
                entry.salience += 1.0
                entry.detail["resolved_since"] = entry.kind == "storyline"
    if known and not recipe.repeat_known:
        pool = [e for e in pool if e.kind in ("upcoming", "person", "attendees")
                or e.detail.get("new")]
    pool.sort(key=lambda e: (-e.salience, e.when.isoformat() if e.when else "", e.summary))
    clients = sorted({str(e.detail.get("client", "")) for e in pool}) or [""]
    digest = bundle.scope.client is None and len(clients) > 1
    sections: list[ContextSection] = []
    for name in clients:
        mine = [e for e in pool if not digest or e.detail.get("client") == name]
        for section in fill(mine, recipe, lead=bool(known)):
            if digest:
                section.key = f"{section.key}:{name}"
            sections.append(section)
    return bundle.model_copy(update={"sections": sections})


def fill(pool: list[ContextEntry], recipe: Recipe, lead: bool = False) -> list[ContextSection]:
    used: set[int] = set()
    out: list[ContextSection] = []
    if lead:
        fresh = [e for e in pool if e.detail.get("new") and e.kind in HIGHLIGHT_KINDS]
        picked = fresh[:3]
        used |= {id(e) for e in picked}
        out.append(ContextSection(key="since_last", entries=picked))
    for section in recipe.sections:
        picked = _pick(pool, section, used)
        if section.key not in DERIVED:
            used |= {id(e) for e in picked}
        out.append(ContextSection(key=section.key, entries=picked))
    return out


def _pick(pool: list[ContextEntry], section: RecipeSection, used: set[int]) -> list[
        ContextEntry]:
    derived = section.key in DERIVED
    kinds: list[str] = []
    for select in section.selects:
        kinds += list(HIGHLIGHT_KINDS if select == "highlights" else KINDS[select])
    candidates = [e for e in pool if e.kind in kinds and (derived or id(e) not in used)]
    if "highlights" in section.selects and len(section.selects) == 1:
        candidates = [e for e in candidates if e.salience >= 2.0]
    if derived:
        # What comes next: open deadlines and risks, then the nearest meetings.
        candidates = [e for e in candidates if e.kind in ("risk", "upcoming", "decision")
                      or e.status in ("open", "waiting")]
    if "upcoming" in section.selects and "highlights" in section.selects:
        # A brief's purpose: the meeting itself first, then what matters most.
        candidates.sort(key=lambda e: e.kind != "upcoming")
    elif section.selects == ["upcoming"] or "people" in section.selects:
        candidates.sort(key=lambda e: (e.kind != "attendees",
                                       e.when.timestamp() if e.when else float("inf")))
    return candidates[: section.max_claims]
