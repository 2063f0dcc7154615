"""Server-rendered SVG of a week: days across, lanes down, one linked mark per item."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

from markupsafe import Markup, escape

from threadline.web.timeline_data import WeekTimeline

WIDTH = 960
LABEL = 220
LANE = 34
TOP = 30
RADIUS = 6


def _x(timeline: WeekTimeline, moment: object) -> float:
    week = timeline.week
    span = (week.end - week.start).total_seconds()
    at = moment  # a datetime; typed loosely so dataclass marks of both kinds pass
    offset = (at - week.start).total_seconds()  # type: ignore[operator]
    return LABEL + (WIDTH - LABEL - 16) * max(0.0, min(1.0, offset / span))


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def item_href(canonical_id: str) -> str:
    return f"/item?id={quote(canonical_id, safe='')}"


def render_svg(timeline: WeekTimeline) -> Markup:
    rows = len(timeline.lanes) + 1
    height = TOP + rows * LANE + 10
    out = [f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" role="group" '
           f'aria-label="{escape(timeline.client)}, week {timeline.week.label}: '
           f'{len(timeline.lanes)} storylines and {len(timeline.changes)} changes" '
           f'xmlns="http://www.w3.org/2000/svg">']
    for day in range(8):
        x = _x(timeline, timeline.week.start + timedelta(days=day))
        out.append(f'<line class="day" x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" '
                   f'y2="{height - 6}"/>')
        if day < 7:
            label = (timeline.week.start + timedelta(days=day)).strftime("%a %d")
            out.append(f'<text class="daylabel" x="{x + 6:.1f}" y="{TOP - 12}">{label}</text>')
    y = TOP
    out.append(f'<text class="lanelabel" x="8" y="{y + LANE / 2 + 4:.1f}">Changes</text>')
    for change in timeline.changes:
        x = _x(timeline, change.at)
        cy = y + LANE / 2
        size = RADIUS + 1
        points = f"{x:.1f},{cy - size} {x + size},{cy} {x:.1f},{cy + size} {x - size},{cy}"
        shape = (f'<polygon class="mark change change-{escape(change.kind)}" points="{points}">'
                 f"<title>{escape(change.summary)}</title></polygon>")
        out.append(f'<a href="{item_href(change.item)}" aria-label="{escape(change.summary)}">'
                   f"{shape}</a>" if change.item else shape)
    for lane in timeline.lanes:
        y += LANE
        out.append(f'<line class="lane" x1="{LABEL}" y1="{y + LANE / 2:.1f}" x2="{WIDTH - 16}" '
                   f'y2="{y + LANE / 2:.1f}"/>')
        out.append(f'<text class="lanelabel" x="8" y="{y + LANE / 2 + 4:.1f}">'
                   f"<title>{escape(lane.title)}</title>{escape(_short(lane.title, 30))}</text>")
        for mark in lane.marks:
            x = _x(timeline, mark.at)
            tip = f"{mark.platform}: {_short(mark.label, 90)} ({mark.at:%a %H:%M})"
            out.append(
                f'<a href="{item_href(mark.item)}" aria-label="{escape(tip)}">'
                f'<circle class="mark p-{escape(mark.platform)}" cx="{x:.1f}" '
                f'cy="{y + LANE / 2:.1f}" r="{RADIUS}"><title>{escape(tip)}</title></circle></a>'
            )
    out.append("</svg>")
    return Markup("".join(out))
