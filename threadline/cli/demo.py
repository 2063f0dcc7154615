"""``threadline demo`` and ``threadline sample-workspace``."""
