"""Composers: the offline default and language-model backends, behind one interface."""
