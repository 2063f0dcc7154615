"""HTML for an email body: inline styles only (mail clients drop <style>), superscript
citation links to a numbered sources list, and every piece of text escaped."""

from __future__ import annotations

from html import escape

from threadline.produce.model import Claim, Draft, SourceItem
from threadline.produce.render import (
    claim_numbers,
    flag_text,
    number_sources,
    safe_url,
    source_parts,
)

BODY = "font-family:Arial,Helvetica,sans-serif;font-size:14px;line-height:1.5;color:#222"
H1 = "font-size:20px;margin:0 0 12px"
H2 = "font-size:16px;margin:20px 0 8px"
SUP = "font-size:11px;line-height:0"
LINK = "color:#1a5fb4;text-decoration:none"
FLAGGED = "background:#fff3cd;color:#7a5b00;font-size:12px;padding:1px 4px"
SOURCES = "font-size:12px;color:#555;margin:4px 0;padding-left:20px"


def _claim(claim: Claim, numbers: dict[str, int]) -> str:
    sups = "".join(f'<sup style="{SUP}"><a href="#src-{n}" style="{LINK}">[{n}]</a></sup>'
                   for n in claim_numbers(claim, numbers))
    flag = flag_text(claim)
    marker = f' <span style="{FLAGGED}">{escape(flag)}</span>' if flag else ""
    return f"{escape(claim.text.strip())}{sups}{marker}"


def _source(n: int, source: SourceItem) -> str:
    text = escape(" · ".join(source_parts(source)))
    url = safe_url(source.permalink)
    link = (f' · <a href="{escape(url, quote=True)}" style="{LINK}">open</a>' if url
            else f" · <code>{escape(source.id)}</code>")
    return f'<li id="src-{n}" value="{n}">{text}{link}</li>'


def render_html(draft: Draft) -> str:
    numbered = number_sources(draft)
    out = [f'<div style="{BODY}">', f'<h1 style="{H1}">{escape(draft.title)}</h1>']
    if draft.greeting:
        out.append(f"<p>{escape(draft.greeting)}</p>")
    for section in numbered.sections:
        out.append(f'<h2 style="{H2}">{escape(section.title)}</h2>')
        claims = [_claim(c, numbered.numbers) for c in section.claims]
        if section.style == "prose":
            out.append(f"<p>{' '.join(claims)}</p>")
        else:
            out.append('<ul style="margin:0;padding-left:20px">'
                       + "".join(f"<li>{c}</li>" for c in claims) + "</ul>")
    if draft.sign_off:
        out.append("<p>" + escape(draft.sign_off).replace("\n", "<br>") + "</p>")
    if numbered.sources:
        out.append(f'<h2 style="{H2}">Sources</h2>')
        out.append(f'<ol style="{SOURCES}">'
                   + "".join(_source(n, s) for n, s in numbered.sources) + "</ol>")
    out.append("</div>")
    return "\n".join(out)
