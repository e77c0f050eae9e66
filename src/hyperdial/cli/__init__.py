"""The ``hyperdial`` command line.

Commands: ``tune``, ``worker``, ``advise``, ``studies``, ``show``, ``report``, ``reproduce``,
``export``, ``enqueue``.
"""

from __future__ import annotations

from hyperdial.cli.app import app, main

__all__ = ["app", "main"]
