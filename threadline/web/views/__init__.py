"""One module per kind of page; each exposes ``router(engine, settings)``."""
