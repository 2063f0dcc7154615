"""Reading a model's answer: find the JSON, repair what models commonly break, check it.

Models wrap JSON in code fences, leave trailing commas, use single quotes, skip empty
sections, invent section keys and cite ids that were never given. Small slips are repaired
here (and noted); an answer that still is not the schema raises InvalidAnswer, whose message
is sent back to the model on retry. Claims citing ids outside the bundle lose those ids; a
claim left with none is dropped, with a composer note, before the verifier ever sees it.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator

from threadline.llm.base import ComposerError
from threadline.llm.prompt import Prompt
from threadline.produce.model import Claim, ContextBundle, Draft, Section


class InvalidAnswer(ComposerError):
    """The model's answer is not the JSON asked for, even after repair."""


class AnswerClaim(BaseModel):
    text: str
    citations: list[str] = []

    @field_validator("citations", mode="before")
    @classmethod
    def _listify(cls, v: Any) -> Any:
        # "a, b" or a lone id: models do this when the schema is not enforced.
        if isinstance(v, str):
            return [p for p in re.split(r"[,\s]+", v) if p]
        return v


class AnswerSection(BaseModel):
    key: str
    claims: list[AnswerClaim] = []


class Answer(BaseModel):
    sections: list[AnswerSection]


_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def load_json(raw: str) -> tuple[Any, list[str]]:
    """The JSON value in a model's text, and the repairs it took. Raises InvalidAnswer."""
    repairs: list[str] = []
    text = raw.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
        repairs.append("took the JSON out of a code fence")
    start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
    if start < 0:
        raise InvalidAnswer(f"no JSON object in the answer: {_preview(raw)}")
    if start > 0:
        repairs.append("ignored text before the JSON")
    text = text[start:]
    try:
        value, end = json.JSONDecoder().raw_decode(text)
        if text[end:].strip():
            repairs.append("ignored text after the JSON")
        return value, repairs
    except json.JSONDecodeError as err:
        first_error = err
    end_char = "}" if text[0] == "{" else "]"
    text = text[: text.rfind(end_char) + 1] or text
    fixed = _TRAILING_COMMA.sub(r"\1", text)
    if fixed != text:
        try:
            value = json.loads(fixed)
            return value, [*repairs, "removed trailing commas"]
        except json.JSONDecodeError:
            pass
    try:
        # Single quotes, True/False/None: a Python literal is what models slip into.
        value = ast.literal_eval(fixed)
        return _jsonable(value), [*repairs, "read single-quoted (Python-style) JSON"]
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    raise InvalidAnswer(f"the answer is not valid JSON ({first_error.msg} at line "
                        f"{first_error.lineno} column {first_error.colno}): {_preview(raw)}")


def validate(value: Any) -> tuple[Answer, list[str]]:
    """The value as an Answer, accepting the shapes models drift into. Raises InvalidAnswer."""
    repairs: list[str] = []
    if isinstance(value, list):
        value = {"sections": value}
        repairs.append("wrapped a bare list of sections")
    if isinstance(value, dict) and isinstance(value.get("sections"), dict):
        value = {"sections": [{"key": k, "claims": v} for k, v in value["sections"].items()]}
        repairs.append("turned a mapping of sections into a list")
    if isinstance(value, dict) and "sections" in value and isinstance(value["sections"], list):
        for sec in value["sections"]:
            if isinstance(sec, dict) and isinstance(sec.get("claims"), list):
                sec["claims"] = [{"text": c, "citations": []} if isinstance(c, str) else c
                                 for c in sec["claims"]]
    try:
        return Answer.model_validate(value), repairs
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['msg']}"
            for e in err.errors()[:5]
        )
        raise InvalidAnswer(f"the answer does not match the schema: {problems}") from None


def parse_answer(raw: str | dict[str, Any], prompt: Prompt) -> tuple[Answer, list[str]]:
    """Text (or an already-decoded tool input) → a checked Answer, and repair notes."""
    if isinstance(raw, str):
        value, repairs = load_json(raw)
    else:
        value, repairs = raw, []
    answer, more = validate(value)
    return answer, repairs + more


def to_draft(
    answer: Answer,
    prompt: Prompt,
    bundle: ContextBundle,
    recipe: Any,
    composer: str,
    notes: list[str] | None = None,
) -> Draft:
    """The Draft the answer describes: recipe order, known ids only, every section present."""
    notes = list(notes or [])
    known = set(bundle.items)
    folded = {k.lower(): k for k in known}
    specs = {s.key: s for s in prompt.sections}
    by_title = {s.title.lower(): s.key for s in prompt.sections}
    claims: dict[str, list[Claim]] = {s.key: [] for s in prompt.sections}
    seen: set[str] = set()
    for sec in answer.sections:
        key = sec.key if sec.key in specs else by_title.get(sec.key.strip().lower())
        if key is None:
            if sec.claims:
                notes.append(f"dropped section {sec.key!r} ({len(sec.claims)} claims): "
                             f"not a section of this recipe")
            continue
        seen.add(key)
        for c in sec.claims:
            claim = _checked_claim(c, known, folded, notes)
            if claim is not None:
                claims[key].append(claim)
    missing = [s.key for s in prompt.sections if s.key not in seen]
    if missing:
        notes.append(f"the model left out section(s) {', '.join(missing)}; they are empty")
    sections = [
        Section(key=s.key, title=s.title, claims=claims[s.key],
                style="prose" if s.style == "prose" else "bullets")
        for s in prompt.sections
    ]
    client_facing = getattr(recipe, "audience", "client") == "client"
    draft = Draft(
        scope=bundle.scope,
        title=draft_title(bundle, recipe),
        greeting="Hi all," if client_facing else None,
        sections=sections,
        composer=composer,
        created_at=datetime.now(UTC),
    )
    draft.report.redactions = list(prompt.redactions)
    draft.report.composer_notes = notes
    return draft


def draft_title(bundle: ContextBundle, recipe: Any) -> str:
    """The offline composer's title, so a draft reads the same whoever wrote it."""
    try:
        from threadline.llm.offline import draft_title as offline_title
    except ImportError:
        pass
    else:
        return str(offline_title(bundle.scope, recipe))
    scope = bundle.scope
    name = (recipe.get("title") if isinstance(recipe, dict) else getattr(recipe, "title", None))
    parts = [str(name or scope.recipe.replace("_", " ").replace("-", " ").title())]
    if scope.client:
        parts.append(scope.client)
    if scope.week:
        parts.append(scope.week)
    return " — ".join(parts)


def _checked_claim(
    c: AnswerClaim, known: set[str], folded: dict[str, str], notes: list[str]
) -> Claim | None:
    text = c.text.strip()
    if not text:
        return None
    kept: list[str] = []
    unknown: list[str] = []
    for raw_id in c.citations:
        found = _resolve_id(raw_id, known, folded)
        if found is None:
            unknown.append(raw_id)
        elif found not in kept:
            kept.append(found)
    if not kept:
        why = (f"cites ids not in the bundle ({', '.join(unknown)})" if unknown
               else "cites nothing")
        notes.append(f"dropped a claim that {why}: {_preview(text, 120)}")
        return None
    if unknown:
        notes.append(f"removed citations not in the bundle ({', '.join(unknown)}) from: "
                     f"{_preview(text, 120)}")
    return Claim(text=text, citations=kept)


def _resolve_id(raw_id: str, known: set[str], folded: dict[str, str]) -> str | None:
    """The bundle id a citation means: exact, or after the slips models make (brackets,
    quotes, case). Email ids keep their own angle brackets, so exact comes first."""
    for cid in (raw_id, raw_id.strip(), raw_id.strip().strip("[]()\"'` ")):
        if cid in known:
            return cid
        if cid.lower() in folded:
            return folded[cid.lower()]
    return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return value


def _preview(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
