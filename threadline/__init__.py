"""Threadline: client deliverables drafted from the work itself, every claim cited."""

__version__ = "0.1.0"
