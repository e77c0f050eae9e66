"""The ``hyperdial`` command line: ``tune``, ``studies``, ``show``, ``export``, ``enqueue``."""

from __future__ import annotations

from hyperdial.cli.app import app, main

__all__ = ["app", "main"]
