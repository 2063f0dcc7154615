"""The context layer: what the stored items mean (clients, weeks, storylines)."""
