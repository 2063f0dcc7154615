"""Autonomy: schedules (clock rules and event triggers), their runs, and the review queue.

``rules`` parses when a schedule fires, ``schedules`` stores them, ``runner`` drafts the
clock slots that are due, ``triggers`` the events (meetings, storyline changes), and
``queue`` is what a person does with the drafts: approve, reject, regenerate.
"""
