"""The last gate before anything ships: every claim must be traceable to the items it cites.

Whatever wrote the draft (the offline composer, a model, a model obeying an instruction
injected into a message), each claim is checked against its cited items only:

- it cites at least one item, and every cited item is in the bundle, which holds only the
  deliverable's client and window. A citation outside it is how a client wall breach shows
  at the end, so it always drops the claim, whatever ``on_fail`` says;
- its dates, weekdays and times, its numbers, its people and named things, and its
  code-like tokens are in (or derivable from) the cited items;
- most of its content words are in the cited items (catches unsupported statements that
  carry no checkable detail).

A failing claim is dropped or flagged for the reviewer (``on_fail``), never shipped silently.
Verifying twice gives the same draft.
"""

from __future__ import annotations

import re
from typing import Literal

from threadline.produce.claim_checks import (
    build_evidence,
    check_codes,
    check_dates,
    check_numbers,
    check_scope,
    check_support,
)
from threadline.produce.claim_names import NameIndex, check_names
from threadline.produce.model import Claim, ContextBundle, Draft, Section, SourceItem

OnFail = Literal["drop", "flag"]
_MASKS = re.compile(r"\[redacted: [a-z\-]+\]|\[\d+\]|\[(?:slack|email|event|notion):[^\]]+\]")


def check_claim(claim: Claim, bundle: ContextBundle, index: NameIndex | None = None) -> list[str]:
    """Why ``claim`` cannot ship (empty when it can)."""
    citations = list(dict.fromkeys(claim.citations))
    scope = check_scope(citations, bundle)
    if scope:
        return scope
    ev = build_evidence([bundle.items[cid] for cid in citations])
    text = _MASKS.sub(" ", claim.text)
    return [*check_dates(text, ev), *check_numbers(text, ev),
            *check_names(text, ev, index or NameIndex.of(bundle)),
            *check_codes(text, ev), *check_support(text, ev)]


def _short(text: str, limit: int = 90) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def verify(draft: Draft, bundle: ContextBundle, *, on_fail: OnFail = "drop") -> Draft:
    """The draft with every claim's status and reasons set, the report counted, and
    ``sources`` holding exactly the items that shipped claims cite."""
    index = NameIndex.of(bundle)
    sections: list[Section] = []
    problems: list[str] = []
    counts = {"kept": 0, "dropped": 0, "flagged": 0}
    sources: dict[str, SourceItem] = {}
    for section in draft.sections:
        claims = []
        for claim in section.claims:
            reasons = check_claim(claim, bundle, index)
            outside = any(r.startswith("cites an item outside") for r in reasons)
            status: Literal["kept", "dropped", "flagged"] = (
                "kept" if not reasons else
                "dropped" if outside or on_fail == "drop" else "flagged")
            counts[status] += 1
            if reasons:
                problems.append(f"{status} in {section.key}: \"{_short(claim.text)}\" — "
                                + "; ".join(reasons))
            else:
                reasons = []
            if status != "dropped":
                for cid in dict.fromkeys(claim.citations):
                    sources.setdefault(cid, bundle.items[cid])
            claims.append(claim.model_copy(update={"status": status, "reasons": reasons}))
        sections.append(section.model_copy(update={"claims": claims}))
    report = draft.report.model_copy(update={**counts, "problems": problems})
    return draft.model_copy(update={"sections": sections, "report": report, "sources": sources})
