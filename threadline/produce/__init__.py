"""Production: drafts deliverables from the accumulated context, every claim cited and verified."""
