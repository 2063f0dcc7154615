"""The command line: a thin shell over the Python API. ``threadline --help`` lists it all."""

from __future__ import annotations

from threadline.cli.app import app


def main() -> None:
    app()


__all__ = ["app", "main"]
