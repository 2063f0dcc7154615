"""Connectors and importers: everything that brings items in from a platform."""
